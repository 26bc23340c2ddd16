//! Fuzz target bodies, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/*.rs`) and the
//! stable replay test (`tests/fuzz_replay.rs`), both of which include this file with
//! `#[path]`. Every function takes arbitrary bytes, must never panic, and asserts the
//! properties that are cheap to check.
//!
//! Input formats (what the seed corpus under `fuzz/corpus/<target>/` holds):
//!
//! * `packet_framer`: one config byte, then a framed byte stream (4-byte headers and
//!   payloads, as read from a socket). Config bits 0-3: read size per `read()` call
//!   (`0..=14` → `1 + 7 * n` bytes, 15 → everything at once); bit 4: a 64-byte
//!   `max_packet_size` instead of 1 MiB; bits 5-6: what the scanner expects
//!   (text results, binary results, rows, single packet); bit 7: CLIENT_DEPRECATE_EOF.
//! * `handshake_response`: the payload of a client's handshake response packet (no header).
//! * `command_packet`: the payload of one client command packet (command byte first).
//! * `classifier`: a COM_QUERY statement text (no command byte).

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use rwsplit::classify::{self, Kind, Route};
use rwsplit::protocol::auth::{self, Credential};
use rwsplit::protocol::command::*;
use rwsplit::protocol::error::MyError;
use rwsplit::protocol::handshake::{parse_change_user, parse_response, proxy_capabilities};
use rwsplit::protocol::packet::{frame, PacketStream, ReadError};
use rwsplit::protocol::scan::{Expect, Scanner, Step};
use rwsplit::protocol::{eof_status, lenenc_int, ok_status, CapabilityFlags};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A fuzz target: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for the replay test and the corpus layout.
pub const TARGETS: &[(&str, Target)] = &[
    ("packet_framer", packet_framer),
    ("handshake_response", handshake_response),
    ("command_packet", command_packet),
    ("classifier", classifier),
];

// ------------------------------------------------------------------------------------------
// In-memory I/O
// ------------------------------------------------------------------------------------------

/// A stream over a byte slice that hands out at most `chunk` bytes per read (so packet
/// headers and payloads arrive split, as from a real socket) and swallows writes.
struct Feed<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Feed<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.chunk.min(self.data.len()).min(buf.remaining());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Feed<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future over in-memory I/O to completion. Nothing here ever waits, so a single poll
/// must finish it; `Pending` would mean the code waits for bytes that are already there.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("in-memory read returned Pending"),
    }
}

/// A comparable summary of how a read ended.
fn end_of(e: &ReadError) -> String {
    match e {
        ReadError::Closed => "closed".into(),
        ReadError::TooLarge => "too large".into(),
        ReadError::OutOfSync => "out of sync".into(),
        ReadError::Io(e) => format!("io {:?}", e.kind()),
    }
}

/// Reads logical packets until the stream ends; `reset` starts every packet at sequence id 0
/// (a client's command stream), otherwise ids run on (one exchange).
fn read_packets(data: &[u8], chunk: usize, max: usize, reset: bool) -> (Vec<Vec<u8>>, String) {
    let mut ps = PacketStream::new(Feed { data, chunk }, max);
    let mut packets = Vec::new();
    let mut out = Vec::new();
    loop {
        if reset {
            ps.reset_seq();
        }
        match block_on(ps.read_packet(&mut out)) {
            Ok(()) => {
                assert!(out.len() <= max, "packet of {} > max {max}", out.len());
                packets.push(out.clone());
                // every packet costs at least a 4-byte header
                assert!(packets.len() <= data.len() / 4);
            }
            Err(e) => return (packets, end_of(&e)),
        }
    }
}

// ------------------------------------------------------------------------------------------
// packet_framer
// ------------------------------------------------------------------------------------------

/// What the scanner reported, step by step, and its final state.
#[derive(Debug, PartialEq, Eq)]
struct ScanTrace {
    /// (kind, absolute offset) of every Done / LocalInfile step.
    ends: Vec<(u8, usize)>,
    /// Bytes forwarded in total.
    forwarded: usize,
    done: bool,
    error: bool,
    status: Option<u16>,
    packets: u64,
    rows: u64,
}

/// Drives a scanner the way `BackendConn::relay` does: bytes arrive `chunk` at a time, every
/// scan starts at 0 of what is still buffered, and whatever the scanner passes is dropped
/// from the buffer. A LOCAL INFILE request is followed by the server's answer in the same
/// input (the client's file goes elsewhere).
fn scan_relay(
    bytes: &[u8],
    chunk: usize,
    expect: Expect,
    deprecate_eof: bool,
    seq_delta: u8,
) -> ScanTrace {
    // Half the runs as a client's scanner: OKs with session state come back for rewriting.
    let mut s = Scanner::new(expect, deprecate_eof);
    if seq_delta % 2 == 1 {
        s = s.for_client(false);
    }
    s.seq_delta = seq_delta;
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut forwarded = 0;
    let mut ends = Vec::new();
    let mut done = false;
    loop {
        let step = s.scan(&mut buf, 0);
        let (upto, end) = match step {
            Step::Done(n) => (n, Some(0u8)),
            Step::LocalInfile(n) => (n, Some(1)),
            Step::NeedMore(n) => (n, None),
            // The relay sends this packet rewritten; the bytes are consumed all the same.
            Step::Rewrite { start, end } => {
                assert!(start < end && end <= buf.len(), "{step:?}");
                buf.drain(..end);
                forwarded += end;
                continue;
            }
        };
        assert!(
            upto <= buf.len(),
            "{step:?} beyond the {} buffered",
            buf.len()
        );
        buf.drain(..upto);
        forwarded += upto;
        match end {
            Some(0) => {
                ends.push((0, forwarded));
                done = true;
                assert!(s.is_done());
                break;
            }
            Some(_) => {
                ends.push((1, forwarded));
                s.after_infile();
                continue;
            }
            None => {}
        }
        if fed == bytes.len() {
            break;
        }
        let n = chunk.min(bytes.len() - fed);
        buf.extend_from_slice(&bytes[fed..fed + n]);
        fed += n;
    }
    assert!(forwarded <= bytes.len());
    ScanTrace {
        ends,
        forwarded,
        done,
        error: s.error,
        status: s.status.map(|f| f.bits()),
        packets: s.packets,
        rows: s.rows,
    }
}

/// The packet framer (`PacketStream`: logical packets, raw packets, size limit, sequence
/// ids) and the response-end scanner, over a byte stream delivered in pieces.
///
/// Properties: no logical packet is longer than the limit; raw packets lie within the
/// buffer; how the bytes are split into reads changes nothing (same packets, same end, same
/// scanner outcome); the scanner never reports an offset beyond what it was given, and
/// rewriting sequence ids does not move its boundaries; a framed payload reads back as it
/// was.
pub fn packet_framer(data: &[u8]) {
    let Some((&cfg, bytes)) = data.split_first() else {
        return;
    };
    let chunk = match cfg & 0x0F {
        15 => usize::MAX,
        n => 1 + 7 * n as usize,
    };
    let max = if cfg & 0x10 != 0 { 64 } else { 1 << 20 };
    let expect = match (cfg >> 5) & 3 {
        0 => Expect::Results { binary: false },
        1 => Expect::Results { binary: true },
        2 => Expect::Rows,
        _ => Expect::Single,
    };
    let deprecate_eof = cfg & 0x80 != 0;

    // Logical packets: a client's command stream (ids restart at 0 per packet) ...
    let split = read_packets(bytes, chunk, max, true);
    let whole = read_packets(bytes, usize::MAX, max, true);
    assert_eq!(split, whole, "result depends on how the bytes were split");
    // ... and one exchange whose ids run on from 1 (a server's response), behind an empty
    // packet that takes id 0.
    let mut response = vec![0, 0, 0, 0];
    response.extend_from_slice(bytes);
    let split = read_packets(&response, chunk, max, false);
    let whole = read_packets(&response, usize::MAX, max, false);
    assert_eq!(split, whole, "result depends on how the bytes were split");

    // Raw packets, as relayed and as read for prepare responses.
    let mut ps = PacketStream::new(Feed { data: bytes, chunk }, max);
    let mut seen = 0;
    while let Ok(n) = block_on(ps.read_raw_packet()) {
        assert!(
            n >= 4 && n <= ps.rbuf.len(),
            "raw packet {n} of {}",
            ps.rbuf.len()
        );
        assert!(n - 4 <= max);
        let payload = &ps.rbuf[4..n];
        // What the proxy decodes from backend packets it reads whole.
        let _ = MyError::from_payload(payload);
        let _ = ok_status(payload);
        let _ = eof_status(payload);
        let _ = lenenc_int(payload);
        ps.consume(n);
        seen += n;
        assert!(seen <= bytes.len());
    }

    // The scanner: in pieces vs. at once, with and without sequence-id rewriting.
    let split = scan_relay(bytes, chunk, expect, deprecate_eof, 0);
    let whole = scan_relay(bytes, usize::MAX, expect, deprecate_eof, 0);
    assert_eq!(split, whole, "scan depends on how the bytes were split");
    let shifted = scan_relay(bytes, chunk, expect, deprecate_eof, 3);
    assert_eq!(split, shifted, "seq_delta moved the response boundaries");

    // Framing round trip.
    if bytes.len() <= max {
        let mut framed = BytesMut::new();
        frame(0, bytes, &mut framed);
        let (packets, end) = read_packets(&framed, chunk, max, false);
        assert_eq!(packets, [bytes.to_vec()]);
        assert_eq!(end, "closed");
    }
}

// ------------------------------------------------------------------------------------------
// handshake_response
// ------------------------------------------------------------------------------------------

const SCRAMBLE: [u8; 20] = *b"abcdefghij0123456789";

/// The client's handshake response (`parse_response`) and the checks of the auth answer it
/// carries; also the proxy's answer to a backend's auth challenge, read from the same bytes
/// as `plugin NUL nonce`.
///
/// Properties: a decoded login keeps only offered capabilities, speaks protocol 4.1 and did
/// not ask for TLS.
pub fn handshake_response(data: &[u8]) {
    let offered = proxy_capabilities();
    if let Some(r) = parse_response(data, offered) {
        let caps = r.login.capabilities;
        assert!(offered.contains(caps), "{caps:?} not offered");
        assert!(caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41));
        assert!(!caps.contains(CapabilityFlags::CLIENT_SSL));
        let _ = auth::verify_native(&SCRAMBLE, "secret", &r.auth_data);
        let _ = auth::verify_native(&SCRAMBLE, "", &r.auth_data);
        let _ = auth::verify_sha2(&SCRAMBLE, "secret", &r.auth_data);
        let _ = auth::recover_stage1(&SCRAMBLE, &[7; 20], &r.auth_data);
    }
    let (plugin, nonce) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let _ = auth::respond(plugin, nonce, "secret");
    let _ = auth::respond_with(
        plugin,
        nonce,
        &Credential::NativeHash {
            stage1: [1; 20],
            stage2: [2; 20],
        },
    );
}

// ------------------------------------------------------------------------------------------
// command_packet
// ------------------------------------------------------------------------------------------

/// One client command packet, decoded the way the session's dispatch does before it talks to
/// any backend (the parts of it that are plain functions).
pub fn command_packet(pkt: &[u8]) {
    let Some(&cmd) = pkt.first() else {
        return;
    };
    let _ = name(cmd);
    match cmd {
        COM_QUERY | COM_STMT_PREPARE => {
            let sql = &pkt[1..];
            let c = classifier_checks(sql);
            if c.kind == Kind::Kill {
                let _ = rwsplit::classify::classify(sql).kill;
            }
            let _ = rwsplit::digest::fingerprint(sql);
            let _ = rwsplit::digest::normalize(sql);
        }
        COM_CHANGE_USER => {
            if let Some((user, db, charset)) = parse_change_user(pkt) {
                assert!(user.len() <= 3 * pkt.len());
                assert!(db.is_none_or(|d| !d.is_empty()));
                let _ = charset;
            }
        }
        COM_INIT_DB => {
            let _ = String::from_utf8_lossy(&pkt[1..]);
        }
        COM_PROCESS_KILL
        | COM_STMT_EXECUTE
        | COM_STMT_CLOSE
        | COM_STMT_RESET
        | COM_STMT_FETCH
        | COM_STMT_SEND_LONG_DATA => {
            // thread / statement id, then for long data the parameter number
            let id = pkt
                .get(1..5)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if cmd == COM_STMT_SEND_LONG_DATA {
                let _ = (id, pkt.get(5..7));
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------
// classifier
// ------------------------------------------------------------------------------------------

/// The statement classifier and its helpers.
///
/// Properties: the temporary-table report agrees with `temp_table_ops`; a replica route is
/// only ever given to reads; a write followed by anything still goes to the master.
pub fn classifier(sql: &[u8]) {
    classifier_checks(sql);
    let mut after_write = b"DELETE FROM t;".to_vec();
    after_write.extend_from_slice(sql);
    let c = classify::classify(&after_write);
    assert_eq!(c.route, Route::Master, "{c:?}");
    assert_eq!(c.kind, Kind::Delete);
}

fn classifier_checks(sql: &[u8]) -> classify::Classification {
    let c = classify::classify(sql);
    let ops = classify::temp_table_ops(sql);
    assert_eq!(c.temp_ops, ops, "{c:?} vs {ops:?}");
    if c.route == Route::Replica {
        assert!(
            matches!(
                c.kind,
                Kind::Select | Kind::Show | Kind::Describe | Kind::Explain | Kind::Other
            ),
            "{c:?}"
        );
        assert!(c.temp_ops.is_empty() && !c.record && !c.user_var_write && !c.writes);
    }
    if let Some(db) = classify::use_database(sql) {
        assert_eq!(c.kind, Kind::Use);
        let _ = db;
    }
    let _ = classify::mentions_any(sql, &["t".to_string(), "tmp1".to_string()]);
    c
}
