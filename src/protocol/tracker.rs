//! Session state the server reports in OK packets (CLIENT_SESSION_TRACK).
//!
//! Every backend connection runs with `session_track_state_change`, `session_track_schema`
//! and `session_track_system_variables = '*'` (see `backend::TRACKING`), so an OK packet says
//! when a statement changed the session, the new current database and the new value of every
//! system variable it changed — also when the change happened inside a procedure, a trigger,
//! EXECUTE or EXECUTE IMMEDIATE, where the statement text shows nothing. The session's record
//! is built from these reports ([`Tracked`]).
//!
//! The client did not ask for all of that: it sees what a direct connection with *its* tracking
//! settings would show ([`ClientView`]), so each OK that carries state is rewritten for it
//! ([`rewrite_ok`]): entries it would not get are dropped, and with none left the packet is the
//! plain OK a direct server sends (no SERVER_SESSION_STATE_CHANGED, no empty info string).
//!
//! Layout (MariaDB `net_send_ok`): header, affected rows, insert id, status, warnings, then with
//! CLIENT_SESSION_TRACK the info string (length-encoded, present when it is not empty or state
//! follows) and, with SERVER_SESSION_STATE_CHANGED, a length-encoded block of entries: a type
//! byte and a length-encoded body each.

use std::borrow::Cow;
use std::sync::Arc;

use super::lenenc_int;

/// SERVER_SESSION_STATE_CHANGED.
pub const STATE_CHANGED: u16 = 0x4000;

/// Entry types (`enum_session_state_type`).
const SYSTEM_VARIABLES: u8 = 0;
const SCHEMA: u8 = 1;
const STATE_CHANGE: u8 = 2;

/// What the responses to one command reported (summed over its OK packets).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The session's state changed (the state-change tracker's entry). Not set by variable
    /// reports alone: every write reports `last_gtid`.
    pub changed: bool,
    /// An EOF had SERVER_SESSION_STATE_CHANGED: something changed, maybe only `last_gtid`
    /// (a write that returns rows: `DELETE … RETURNING`, `NEXT VALUE FOR`).
    pub eof_changed: bool,
    /// System variables and their new values, in the order reported (later wins).
    pub sysvars: Vec<(String, Vec<u8>)>,
    /// The new current database ("" when there is none: its database was dropped).
    pub schema: Option<Vec<u8>>,
}

#[cfg(test)]
impl Tracked {
    /// The last value reported for `name` (ASCII case-insensitive).
    pub fn sysvar(&self, name: &str) -> Option<&[u8]> {
        self.sysvars
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// What the client would see from a direct connection: its capability and its own tracking
/// settings (the servers' defaults until it sets them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    /// The client logged in with CLIENT_SESSION_TRACK.
    pub capability: bool,
    pub state_change: bool,
    pub schema: bool,
    /// Tracked system variables; None is `*` (all).
    pub sysvars: Option<Arc<[String]>>,
}

impl ClientView {
    /// MariaDB's defaults (10.3 and later), for servers whose own have not been read.
    pub fn mariadb_defaults(capability: bool) -> Self {
        ClientView {
            capability,
            state_change: false,
            schema: true,
            sysvars: Some(Self::parse_list(
                "autocommit,character_set_client,character_set_connection,character_set_results,time_zone",
            )),
        }
    }

    /// A `session_track_system_variables` value as a list (`*` is None).
    pub fn parse_list(v: &str) -> Arc<[String]> {
        v.split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn set_sysvars(&mut self, v: &str) {
        self.sysvars = if v.split(',').any(|s| s.trim() == "*") {
            None
        } else {
            Some(Self::parse_list(v))
        };
    }

    /// Takes a reported new value of one of the tracking settings; false for other names.
    pub fn apply_setting(&mut self, name: &[u8], value: &[u8]) -> bool {
        let on = value == b"1" || value.eq_ignore_ascii_case(b"ON");
        if name.eq_ignore_ascii_case(b"session_track_system_variables") {
            self.set_sysvars(&String::from_utf8_lossy(value));
        } else if name.eq_ignore_ascii_case(b"session_track_schema") {
            self.schema = on;
        } else if name.eq_ignore_ascii_case(b"session_track_state_change") {
            self.state_change = on;
        } else {
            return false;
        }
        true
    }

    /// A SET that gives a connection these tracking settings.
    pub fn as_settings(&self) -> String {
        let list = match &self.sysvars {
            None => "*".to_string(),
            Some(l) => l.join(","),
        };
        format!(
            "SET SESSION session_track_system_variables = '{}', session_track_schema = {}, \
             session_track_state_change = {}",
            list.replace(['\'', '\\'], ""),
            u8::from(self.schema),
            u8::from(self.state_change)
        )
    }

    /// Whether the client tracks the system variable `name`.
    fn tracks_sysvar(&self, name: &[u8]) -> bool {
        match &self.sysvars {
            None => true,
            Some(list) => list.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name)),
        }
    }

    /// Whether an EOF's SERVER_SESSION_STATE_CHANGED would reach the client (the server sets
    /// it whatever the capability; the proxy's own state-change tracking must not show).
    pub fn keeps_eof_flag(&self) -> bool {
        self.state_change
    }
}

/// Where an OK packet's fields are.
struct OkLayout {
    /// Offset of the status flags.
    status_at: usize,
    /// The info string (without its length).
    info: std::ops::Range<usize>,
    /// The state entries block (without its length); empty without the flag.
    state: std::ops::Range<usize>,
}

fn lenenc_at(p: &[u8], pos: usize) -> Option<(u64, usize)> {
    lenenc_int(p.get(pos..)?)
}

fn layout(p: &[u8]) -> Option<OkLayout> {
    let mut pos = 1;
    for _ in 0..2 {
        pos += lenenc_at(p, pos)?.1;
    }
    let status_at = pos;
    let status = u16::from_le_bytes(p.get(pos..pos + 2)?.try_into().ok()?);
    pos += 4;
    if pos > p.len() {
        return None;
    }
    if pos >= p.len() {
        return Some(OkLayout {
            status_at,
            info: pos..pos,
            state: pos..pos,
        });
    }
    let (n, used) = lenenc_at(p, pos)?;
    let info = pos + used..(pos + used).checked_add(n as usize)?;
    if info.end > p.len() {
        return None;
    }
    pos = info.end;
    let state = if status & STATE_CHANGED != 0 && pos < p.len() {
        let (n, used) = lenenc_at(p, pos)?;
        let r = pos + used..(pos + used).checked_add(n as usize)?;
        if r.end > p.len() {
            return None;
        }
        r
    } else {
        pos..pos
    };
    Some(OkLayout {
        status_at,
        info,
        state,
    })
}

/// The entries of a state block: (type, body, whole entry).
fn entries(block: &[u8]) -> impl Iterator<Item = (u8, &[u8], &[u8])> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let start = pos;
        let ty = *block.get(pos)?;
        let (n, used) = lenenc_int(block.get(pos + 1..)?)?;
        let body = block.get(pos + 1 + used..pos + 1 + used + n as usize)?;
        pos += 1 + used + n as usize;
        Some((ty, body, &block[start..pos]))
    })
}

fn lenenc_str(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (n, used) = lenenc_int(b)?;
    let s = b.get(used..used + n as usize)?;
    Some((s, &b[used + n as usize..]))
}

/// A system-variable entry's name and value.
fn sysvar_entry(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, rest) = lenenc_str(body)?;
    let (value, _) = lenenc_str(rest)?;
    Some((name, value))
}

/// The settings the client's own server would report `block` under: a statement that changes
/// the client's tracking settings is reported under the new ones (`SET
/// session_track_state_change = 1` reports its own state change). Copied only then.
fn view_for<'v>(block: &[u8], view: &'v ClientView) -> Cow<'v, ClientView> {
    let mut v = Cow::Borrowed(view);
    for (ty, body, _) in entries(block) {
        if let Some((name, value)) = (ty == SYSTEM_VARIABLES)
            .then(|| sysvar_entry(body))
            .flatten()
        {
            if name.len() > 14 && name[..14].eq_ignore_ascii_case(b"session_track_") {
                v.to_mut().apply_setting(name, value);
            }
        }
    }
    v
}

/// Whether a client with these settings gets an entry of type `ty`.
fn client_gets(view: &ClientView, ty: u8, body: &[u8]) -> bool {
    match ty {
        SYSTEM_VARIABLES => lenenc_str(body).is_some_and(|(n, _)| view.tracks_sysvar(n)),
        SCHEMA => view.schema,
        STATE_CHANGE => view.state_change,
        // The transaction trackers are the client's own (the proxy never sets them).
        _ => true,
    }
}

/// Adds what the OK packet `p` (0x00 or 0xFE header) reports to `t` (created when the report
/// holds more than a commit's position) and `last_gtid` (a write's new position, the one
/// report every commit carries: kept out of `t`, no allocation); false if it reports nothing.
/// A report that cannot be read counts as a change of unknown state.
pub fn read_ok(
    p: &[u8],
    t: &mut Option<Box<Tracked>>,
    last_gtid: &mut Option<(u32, u32, u64)>,
) -> bool {
    let Some(l) = layout(p) else {
        t.get_or_insert_with(Default::default).changed = true;
        return true;
    };
    let status = u16::from_le_bytes([p[l.status_at], p[l.status_at + 1]]);
    if status & STATE_CHANGED == 0 {
        return false;
    }
    let block = &p[l.state.clone()];
    let mut read = 0;
    for (ty, body, whole) in entries(block) {
        read += whole.len();
        match ty {
            SYSTEM_VARIABLES => {
                if let Some((name, value)) = sysvar_entry(body) {
                    if name == b"last_gtid" {
                        if let Some(g) = crate::gtid::GtidPos::parse_one(value) {
                            *last_gtid = Some(g);
                            continue;
                        }
                    }
                    t.get_or_insert_with(Default::default).sysvars.push((
                        String::from_utf8_lossy(name).to_ascii_lowercase(),
                        value.to_vec(),
                    ));
                }
            }
            SCHEMA => {
                if let Some((name, _)) = lenenc_str(body) {
                    t.get_or_insert_with(Default::default).schema = Some(name.to_vec());
                }
            }
            STATE_CHANGE => t.get_or_insert_with(Default::default).changed = true,
            _ => {}
        }
    }
    if read != block.len() {
        t.get_or_insert_with(Default::default).changed = true;
    }
    true
}

/// Where an OK packet's status flags are (after the header and two length-encoded numbers).
pub fn status_at(p: &[u8]) -> Option<usize> {
    layout(p).map(|l| l.status_at)
}

/// The length of the payload a direct server would have sent `view`'s client when none of the
/// report's entries are for it: the OK up to its warnings, and its info string if not empty —
/// a prefix of `p`, so the packet is rewritten in place (every write's OK carries `last_gtid`:
/// this is the common case, and costs no allocation). None: some entry is for the client
/// (`rewrite_ok` then), or the packet cannot be read.
pub fn plain_len(p: &[u8], view: &ClientView) -> Option<usize> {
    let l = layout(p)?;
    if view.capability {
        let block = &p[l.state.clone()];
        let v = view_for(block, view);
        if entries(block).any(|(ty, body, _)| client_gets(&v, ty, body)) {
            return None;
        }
    }
    // The info's length prefix sits right before it.
    Some(if l.info.is_empty() {
        l.status_at + 4
    } else {
        l.info.end
    })
}

/// Does this OK packet need rewriting before `view`'s client sees it? Only packets with
/// SERVER_SESSION_STATE_CHANGED do; then always (cheaper to rebuild than to decide).
pub fn needs_rewrite(p: &[u8]) -> bool {
    super::ok_status(p).is_some_and(|s| s & STATE_CHANGED != 0)
}

/// The OK packet `p` as a direct server would have sent it to `view`'s client.
pub fn rewrite_ok(p: &[u8], view: &ClientView) -> Vec<u8> {
    let Some(l) = layout(p) else {
        return p.to_vec();
    };
    let block = &p[l.state.clone()];
    let mut kept = Vec::new();
    if view.capability {
        // In the order the server reported them: MariaDB's own order of variable entries is
        // not the list's, nor the same on two connections (a client cannot rely on it).
        let v = view_for(block, view);
        for (ty, body, whole) in entries(block) {
            if client_gets(&v, ty, body) {
                kept.extend_from_slice(whole);
            }
        }
    }
    let mut out = Vec::with_capacity(p.len());
    out.extend_from_slice(&p[..l.status_at + 4]);
    if kept.is_empty() {
        let status = u16::from_le_bytes([p[l.status_at], p[l.status_at + 1]]) & !STATE_CHANGED;
        out[l.status_at..l.status_at + 2].copy_from_slice(&status.to_le_bytes());
    }
    let info = &p[l.info.clone()];
    if !info.is_empty() || !kept.is_empty() {
        super::put_lenenc_str(&mut out, info);
    }
    if !kept.is_empty() {
        super::put_lenenc_str(&mut out, &kept);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// `SET sql_mode='ANSI'` answered with every tracker on (captured from MariaDB 10.11).
    const SQL_MODE: &str = "00 00 00 02 c0 00 00 00 4a 00 45 08 73 71 6c 5f 6d 6f 64 65 3b 52 45 41 4c 5f 41 53 5f 46 4c 4f 41 54 2c 50 49 50 45 53 5f 41 53 5f 43 4f 4e 43 41 54 2c 41 4e 53 49 5f 51 55 4f 54 45 53 2c 49 47 4e 4f 52 45 5f 53 50 41 43 45 2c 41 4e 53 49 02 01 31";
    /// `USE rwtest`.
    const USE: &str = "00 00 00 02 40 00 00 00 0c 01 07 06 72 77 74 65 73 74 02 01 31";
    /// `SET time_zone='+01:00'` to a client with the default trackers.
    const TZ_DEFAULT: &str =
        "00 00 00 02 40 00 00 00 13 00 11 09 74 69 6d 65 5f 7a 6f 6e 65 06 2b 30 31 3a 30 30";
    /// `CREATE TEMPORARY TABLE`: only "something changed".
    const TEMP: &str = "00 00 00 02 40 00 00 00 03 02 01 31";

    #[test]
    fn reads_variables_schema_and_change() {
        let (mut t, mut g) = (None, None);
        assert!(read_ok(&hex(SQL_MODE), &mut t, &mut g));
        let tr = t.as_deref().unwrap();
        assert_eq!(
            tr.sysvar("SQL_MODE"),
            Some(&b"REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI"[..])
        );
        assert!(read_ok(&hex(USE), &mut t, &mut g));
        let tr = t.as_deref().unwrap();
        assert_eq!(tr.schema.as_deref(), Some(&b"rwtest"[..]));
        assert!(tr.changed);
        assert_eq!(g, None);
        let (mut t, mut g) = (None, None);
        assert!(!read_ok(&[0, 0, 0, 2, 0, 0, 0], &mut t, &mut g));
        assert!(t.is_none() && g.is_none());
    }

    #[test]
    fn client_without_the_capability_gets_the_plain_ok() {
        let view = ClientView::mariadb_defaults(false);
        for p in [SQL_MODE, USE, TEMP] {
            let out = rewrite_ok(&hex(p), &view);
            assert_eq!(
                out[..7],
                hex(p)[..7]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| if i == 4 { b & !0x40 } else { *b })
                    .collect::<Vec<_>>()[..]
            );
            assert_eq!(out.len(), 7, "{p}: {out:02x?}");
        }
    }

    #[test]
    fn client_with_default_tracking_gets_what_the_server_sends_it() {
        let view = ClientView::mariadb_defaults(true);
        // sql_mode is not in the default list, the state-change tracker is off: plain OK.
        assert_eq!(
            rewrite_ok(&hex(SQL_MODE), &view),
            hex("00 00 00 02 80 00 00")
        );
        // The schema tracker is on by default.
        assert_eq!(
            rewrite_ok(&hex(USE), &view),
            hex("00 00 00 02 40 00 00 00 09 01 07 06 72 77 74 65 73 74")
        );
        // time_zone is in the default list: exactly the bytes a direct server sent.
        let mut all = hex(TZ_DEFAULT);
        all.truncate(all.len());
        let tz_all = hex("00 00 00 02 40 00 00 00 16 00 11 09 74 69 6d 65 5f 7a 6f 6e 65 06 2b 30 31 3a 30 30 02 01 31");
        assert_eq!(rewrite_ok(&tz_all, &view), hex(TZ_DEFAULT));
    }

    #[test]
    fn info_string_survives() {
        // UPDATE's "Rows matched" info with a last_gtid entry behind it.
        let mut p = hex("00 01 00 22 40 00 00");
        let info = b"Rows matched: 1  Changed: 1  Warnings: 0";
        p.push(info.len() as u8);
        p.extend_from_slice(info);
        p.extend_from_slice(&hex(
            "13 00 11 09 6c 61 73 74 5f 67 74 69 64 06 30 2d 31 2d 31 36",
        ));
        let out = rewrite_ok(&p, &ClientView::mariadb_defaults(false));
        let mut want = hex("00 01 00 22 00 00 00");
        want.push(info.len() as u8);
        want.extend_from_slice(info);
        assert_eq!(out, want);
        let (mut t, mut g) = (None, None);
        read_ok(&p, &mut t, &mut g);
        assert_eq!(g, Some((0, 1, 16)));
        // A write's position is no change of the session's state, and allocates nothing.
        assert!(t.is_none());
        // In place for a client without the capability, and for one that tracks the default
        // list (last_gtid is not in it).
        for cap in [false, true] {
            let view = ClientView::mariadb_defaults(cap);
            let n = plain_len(&p, &view).unwrap();
            let mut q = p[..n].to_vec();
            q[4] &= !0x40; // the relay clears SERVER_SESSION_STATE_CHANGED in place
            assert_eq!(q, want);
        }
        let mut all = ClientView::mariadb_defaults(true);
        all.sysvars = None;
        assert_eq!(plain_len(&p, &all), None, "a `*` client gets the entry");
        let (mut t, mut g) = (None, None);
        read_ok(&hex(TEMP), &mut t, &mut g);
        let tr = t.unwrap();
        assert!(tr.changed && tr.sysvars.is_empty() && tr.schema.is_none());
    }

    #[test]
    fn damaged_packets_never_panic() {
        let full = hex(SQL_MODE);
        let check = |p: &[u8]| {
            let (mut t, mut g) = (None, None);
            read_ok(p, &mut t, &mut g);
            rewrite_ok(p, &ClientView::mariadb_defaults(true));
            for cap in [false, true] {
                if let Some(n) = plain_len(p, &ClientView::mariadb_defaults(cap)) {
                    assert!(n <= p.len());
                }
            }
        };
        for n in 0..full.len() {
            check(&full[..n]);
        }
        for b in 0..=255u8 {
            let mut p = full.clone();
            p[9] = b;
            check(&p);
        }
    }
}
