//! The MySQL wire protocol, as much of it as a relaying proxy needs.
//!
//! `mysql_common` does the heavy lifting (packet framing, handshake packets, OK/ERR parsing,
//! auth scrambles); this module adds the proxy-specific parts: a packet stream that can also be
//! read raw, the server-side handshake, and the scanner that finds where a backend response ends
//! so it can be relayed as bytes without decoding rows.

pub mod auth;
pub mod command;
pub mod error;
pub mod handshake;
pub mod packet;
pub mod scan;
pub mod tracker;

pub use mysql_common::constants::{CapabilityFlags, StatusFlags};

/// Largest payload of one physical packet; a logical packet this long continues in the next one.
pub const MAX_CHUNK: usize = 0xFF_FFFF;

/// Reads a length-encoded integer at the start of `buf`; returns (value, bytes used).
pub fn lenenc_int(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    match first {
        0..=0xFA => Some((first as u64, 1)),
        0xFC => buf
            .get(1..3)
            .map(|b| (u16::from_le_bytes([b[0], b[1]]) as u64, 3)),
        0xFD => buf
            .get(1..4)
            .map(|b| (u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64, 4)),
        0xFE => buf
            .get(1..9)
            .map(|b| (u64::from_le_bytes(b.try_into().expect("8 bytes")), 9)),
        _ => None,
    }
}

/// Appends `n` as a length-encoded integer.
pub fn put_lenenc_int(p: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => p.push(n as u8),
        251..=0xFFFF => {
            p.push(0xFC);
            p.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x10000..=0xFF_FFFF => {
            p.push(0xFD);
            p.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            p.push(0xFE);
            p.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// Appends `s` as a length-encoded string.
pub fn put_lenenc_str(p: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(p, s.len() as u64);
    p.extend_from_slice(s);
}

/// The u16 at `at` bytes past an OK packet's affected-rows and insert-id fields (0: status
/// flags, 2: warning count), without allocating.
fn ok_u16(payload: &[u8], at: usize) -> Option<u16> {
    let mut pos = 1;
    for _ in 0..2 {
        let (_, used) = lenenc_int(payload.get(pos..)?)?;
        pos += used;
    }
    payload
        .get(pos + at..pos + at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// Server status flags of an OK packet payload (0x00 or 0xFE header).
pub fn ok_status(payload: &[u8]) -> Option<u16> {
    ok_u16(payload, 0)
}

/// Warning count of an OK packet payload.
pub fn ok_warnings(payload: &[u8]) -> Option<u16> {
    ok_u16(payload, 2)
}

/// Warning count of an old-style EOF packet payload (0xFE, warnings, status).
pub fn eof_warnings(payload: &[u8]) -> Option<u16> {
    payload.get(1..3).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// Server status flags of an old-style EOF packet payload (0xFE, warnings, status).
pub fn eof_status(payload: &[u8]) -> Option<u16> {
    payload.get(3..5).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_forms() {
        assert_eq!(lenenc_int(&[5]), Some((5, 1)));
        assert_eq!(lenenc_int(&[0xFC, 1, 2]), Some((0x0201, 3)));
        assert_eq!(lenenc_int(&[0xFD, 1, 2, 3]), Some((0x030201, 4)));
        assert_eq!(lenenc_int(&[0xFE, 1, 0, 0, 0, 0, 0, 0, 0]), Some((1, 9)));
        assert_eq!(lenenc_int(&[0xFE, 1]), None);
        assert_eq!(lenenc_int(&[0xFF]), None);
        assert_eq!(lenenc_int(&[]), None);
    }

    #[test]
    fn status_of_ok_and_eof() {
        // OK: header, affected=1, insert id=0xFC 0x10 0x27 (10000), status 0x0003, warnings 0
        let ok = [0x00, 1, 0xFC, 0x10, 0x27, 0x03, 0x00, 0, 0];
        assert_eq!(ok_status(&ok), Some(3));
        assert_eq!(ok_status(&[0x00, 1]), None);
        let eof = [0xFE, 0, 0, 0x22, 0x00];
        assert_eq!(eof_status(&eof), Some(0x22));
    }
}
