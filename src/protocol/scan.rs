//! Finds where a backend's response to one command ends, reading only packet headers and the
//! few packets that carry the answer (OK, ERR, EOF, column count). Rows and column definitions
//! pass through unread, so the relay forwards the backend's bytes as they are.

use super::tracker::{self, Tracked, STATE_CHANGED};
use super::{eof_status, eof_warnings, lenenc_int, ok_status, ok_warnings, StatusFlags, MAX_CHUNK};

/// What kind of response the command produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// COM_QUERY / COM_STMT_EXECUTE: OK, ERR, LOCAL INFILE request or result set(s).
    /// `binary` marks an execute, whose result set may stop after the metadata (cursor).
    Results { binary: bool },
    /// COM_STMT_FETCH and COM_FIELD_LIST: packets up to an EOF/OK terminator or ERR.
    Rows,
    /// Exactly one packet (OK, ERR, EOF, or COM_STATISTICS's string).
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    First,
    ColDefs(u64),
    ColEof,
    Rows,
    Done,
}

/// Outcome of scanning the bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The response is complete at this offset.
    Done(usize),
    /// The server asked the client for a local file (LOCAL INFILE); forward up to this offset,
    /// then relay the client's file packets before scanning further.
    LocalInfile(usize),
    /// Everything before this offset belongs to the response and can be forwarded; more bytes
    /// are needed to find the end.
    NeedMore(usize),
    /// The packet at `start..end` (header included) is an OK carrying session state: forward
    /// what is before it, then the packet as the client's view wants it
    /// (`tracker::rewrite_ok`), then scan on after it. Only with `Scanner::for_client`.
    Rewrite { start: usize, end: usize },
}

/// Scanner state for one response.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    binary: bool,
    /// The response is one packet, whatever it holds.
    single: bool,
    deprecate_eof: bool,
    /// Payload bytes of the current packet still to pass before the next header.
    skip: usize,
    /// The previous packet was a full 16 MiB chunk: the next one continues it.
    continuation: bool,
    /// Added to every sequence id passed (when the proxy framed the command differently).
    pub seq_delta: u8,
    /// Status flags of the last OK/EOF seen (the server's word on transaction state).
    pub status: Option<StatusFlags>,
    /// The response (or its last result) was an ERR packet.
    pub error: bool,
    /// Warnings reported by the response's OK/EOF packets (summed over results).
    pub warnings: u16,
    /// Packets passed (for metrics).
    pub packets: u64,
    /// Rows passed (result-set rows, for digests).
    pub rows: u64,
    /// Bytes forwarded to the client (kept by the relay).
    pub bytes: u64,
    /// Session state the server reported (`tracker`); None while it reported none but a
    /// commit's position.
    pub tracked: Option<Box<Tracked>>,
    /// The GTID of the last commit the response reported (`last_gtid`, every write's OK).
    pub last_gtid: Option<(u32, u32, u64)>,
    /// The response goes to a client: OKs with session state are handed back for rewriting
    /// (`Step::Rewrite`), and an EOF's state-changed flag is cleared unless `keep_eof_flag`.
    client: bool,
    keep_eof_flag: bool,
    /// The packet just read is an OK to rewrite.
    rewrite_pending: bool,
}

impl Scanner {
    pub fn new(expect: Expect, deprecate_eof: bool) -> Self {
        let (state, binary, single) = match expect {
            Expect::Results { binary } => (State::First, binary, false),
            Expect::Rows => (State::Rows, true, false),
            Expect::Single => (State::First, false, true),
        };
        Scanner {
            state,
            binary,
            single,
            deprecate_eof,
            skip: 0,
            continuation: false,
            seq_delta: 0,
            status: None,
            error: false,
            warnings: 0,
            packets: 0,
            rows: 0,
            bytes: 0,
            tracked: None,
            last_gtid: None,
            client: false,
            keep_eof_flag: false,
            rewrite_pending: false,
        }
    }

    /// The response is relayed to a client: see `Step::Rewrite`. `keep_eof_flag`: the
    /// client's own settings would show an EOF's SERVER_SESSION_STATE_CHANGED.
    pub fn for_client(mut self, keep_eof_flag: bool) -> Self {
        self.client = true;
        self.keep_eof_flag = keep_eof_flag;
        self
    }

    /// The server reported a change of session state in this response.
    pub fn state_changed(&self) -> bool {
        self.tracked
            .as_ref()
            .is_some_and(|t| t.changed || t.eof_changed)
    }

    fn track_ok(&mut self, p: &[u8]) {
        if tracker::read_ok(p, &mut self.tracked, &mut self.last_gtid) {
            self.rewrite_pending = self.client;
        }
    }

    fn track_eof(&mut self, p: &mut [u8]) {
        if let Some(st) = eof_status(p) {
            if st & STATE_CHANGED != 0 {
                self.tracked
                    .get_or_insert_with(Default::default)
                    .eof_changed = true;
                if self.client && !self.keep_eof_flag {
                    p[3..5].copy_from_slice(&(st & !STATE_CHANGED).to_le_bytes());
                }
            }
        }
    }

    /// After a LOCAL INFILE exchange the server answers with OK or ERR.
    pub fn after_infile(&mut self) {
        self.state = State::First;
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Scans `buf` from `pos` (bytes before it were scanned in an earlier call).
    pub fn scan(&mut self, buf: &mut [u8], mut pos: usize) -> Step {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(buf.len() - pos);
                pos += n;
                self.skip -= n;
                if self.skip > 0 {
                    return Step::NeedMore(pos);
                }
            }
            if self.state == State::Done {
                return Step::Done(pos);
            }
            let Some(header) = buf.get(pos..pos + 4) else {
                return Step::NeedMore(pos);
            };
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            if self.seq_delta != 0 {
                buf[pos + 3] = buf[pos + 3].wrapping_add(self.seq_delta);
            }
            if self.continuation {
                // The rest of a large row: pass it through unread.
                self.continuation = len == MAX_CHUNK;
                pos += 4;
                self.skip = len;
                continue;
            }
            // The payload's first byte if it has arrived; never the next packet's header.
            let first = if len > 0 {
                buf.get(pos + 4).copied()
            } else {
                None
            };
            if !self.needs_whole(first, len) {
                // A row or column definition: count it and stream it.
                self.on_passthrough();
                self.continuation = len == MAX_CHUNK;
                self.packets += 1;
                pos += 4;
                self.skip = len;
                continue;
            }
            let Some(payload) = buf.get_mut(pos + 4..pos + 4 + len) else {
                if self.seq_delta != 0 {
                    // undo: this header is rewritten again when the packet is complete
                    buf[pos + 3] = buf[pos + 3].wrapping_sub(self.seq_delta);
                }
                return Step::NeedMore(pos);
            };
            self.packets += 1;
            let infile = self.on_packet(payload);
            self.continuation = len == MAX_CHUNK;
            let start = pos;
            pos += 4 + len;
            if std::mem::take(&mut self.rewrite_pending) {
                return Step::Rewrite { start, end: pos };
            }
            if infile {
                return Step::LocalInfile(pos);
            }
        }
    }

    /// True if this packet decides the state machine and must be read whole.
    fn needs_whole(&self, first: Option<u8>, len: usize) -> bool {
        if self.single {
            return true;
        }
        match self.state {
            State::First | State::ColEof => true,
            State::ColDefs(_) => false,
            State::Rows => match first {
                None => len > 0,
                Some(0xFE) => len < MAX_CHUNK,
                Some(0xFF) => true,
                Some(_) => false,
            },
            State::Done => true,
        }
    }

    fn on_passthrough(&mut self) {
        if self.state == State::Rows {
            self.rows += 1;
        }
        if let State::ColDefs(n) = self.state {
            self.state = if n > 1 {
                State::ColDefs(n - 1)
            } else if self.deprecate_eof {
                State::Rows
            } else {
                State::ColEof
            };
        }
    }

    fn set_status_ok(&mut self, p: &[u8]) -> StatusFlags {
        self.warnings = self.warnings.saturating_add(ok_warnings(p).unwrap_or(0));
        let st = self.set_status(ok_status(p));
        if st.bits() & STATE_CHANGED != 0 {
            self.track_ok(p);
        }
        st
    }

    fn set_status_eof(&mut self, p: &mut [u8]) -> StatusFlags {
        self.warnings = self.warnings.saturating_add(eof_warnings(p).unwrap_or(0));
        // The server's flags, before the client's copy loses the proxy's state-change flag.
        let st = self.set_status(eof_status(p));
        self.track_eof(p);
        st
    }

    fn set_status(&mut self, s: Option<u16>) -> StatusFlags {
        let flags = StatusFlags::from_bits_truncate(s.unwrap_or(0));
        if s.is_some() {
            self.status = Some(flags);
        }
        flags
    }

    /// Handles a packet read whole; returns true for a LOCAL INFILE request.
    fn on_packet(&mut self, p: &mut [u8]) -> bool {
        let first = p.first().copied();
        if self.single {
            match first {
                Some(0x00) => {
                    self.set_status_ok(p);
                }
                Some(0xFE) if p.len() < 9 => {
                    self.set_status_eof(p);
                }
                Some(0xFF) => self.error = true,
                _ => {}
            }
            self.state = State::Done;
            return false;
        }
        match self.state {
            State::First => match first {
                Some(0x00) => {
                    self.error = false;
                    let st = self.set_status_ok(p);
                    self.state = self.next_result(st);
                }
                Some(0xFF) => {
                    self.error = true;
                    self.state = State::Done;
                }
                Some(0xFB) => return true,
                _ => match lenenc_int(p) {
                    Some((n, _)) if n > 0 => {
                        self.error = false;
                        self.state = State::ColDefs(n);
                    }
                    // not a valid column count: treat as the end, the client will complain
                    _ => self.state = State::Done,
                },
            },
            State::ColEof => {
                let st = self.set_status_eof(p);
                self.state = if self.binary && st.contains(StatusFlags::SERVER_STATUS_CURSOR_EXISTS)
                {
                    State::Done
                } else {
                    State::Rows
                };
            }
            State::Rows => match first {
                Some(0xFF) => {
                    self.error = true;
                    self.state = State::Done;
                }
                Some(0xFE) => {
                    let st = if self.deprecate_eof {
                        self.set_status_ok(p)
                    } else {
                        self.set_status_eof(p)
                    };
                    self.state = if st.contains(StatusFlags::SERVER_STATUS_CURSOR_EXISTS)
                        && self.binary
                        && !st.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS)
                    {
                        State::Done
                    } else {
                        self.next_result(st)
                    };
                }
                _ => {}
            },
            State::ColDefs(_) | State::Done => {}
        }
        false
    }

    fn next_result(&self, st: StatusFlags) -> State {
        if st.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS) {
            State::First
        } else {
            State::Done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(packets: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes()[..3]);
            out.push(i as u8 + 1);
            out.extend_from_slice(p);
        }
        out
    }

    const COLDEF: &[u8] =
        b"\x03def\x00\x00\x00\x01a\x00\x0c\x3f\x00\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00";
    const EOF_MORE: &[u8] = &[0xFE, 0, 0, 0x0A, 0x00]; // autocommit + more results
    const EOF_END: &[u8] = &[0xFE, 0, 0, 0x02, 0x00];

    /// Scans `bytes` delivered in pieces of `chunk` bytes, as the relay does.
    fn scan_in_chunks(s: &mut Scanner, bytes: &[u8], chunk: usize) -> (Step, usize) {
        let mut buf = Vec::new();
        let mut forwarded = 0;
        let mut pos = 0;
        for piece in bytes.chunks(chunk) {
            buf.extend_from_slice(piece);
            match s.scan(&mut buf, pos) {
                Step::NeedMore(n) => {
                    forwarded += n;
                    buf.drain(..n);
                    pos = 0;
                }
                other => {
                    let n = match other {
                        Step::Done(n) | Step::LocalInfile(n) => n,
                        Step::NeedMore(_) | Step::Rewrite { .. } => unreachable!(),
                    };
                    return (other, forwarded + n);
                }
            }
        }
        (Step::NeedMore(0), forwarded)
    }

    #[test]
    fn text_result_sets_with_more_results() {
        let bytes = framed(&[
            &[1],
            COLDEF,
            EOF_END,
            b"\x011",
            b"\x012",
            EOF_MORE,
            &[1],
            COLDEF,
            EOF_END,
            b"\x013",
            EOF_END,
        ]);
        for chunk in [1, 3, 7, bytes.len()] {
            let mut s = Scanner::new(Expect::Results { binary: false }, false);
            let (step, n) = scan_in_chunks(&mut s, &bytes, chunk);
            assert!(matches!(step, Step::Done(_)), "chunk {chunk}: {step:?}");
            assert_eq!(n, bytes.len(), "chunk {chunk}");
            assert!(!s.error);
            assert_eq!(s.status.unwrap().bits(), 0x02);
        }
    }

    #[test]
    fn deprecate_eof_rows_end_with_ok_fe() {
        let ok_fe = [0xFE, 0, 0, 0x03, 0x00, 0, 0];
        let bytes = framed(&[&[1], COLDEF, b"\x011", &ok_fe]);
        let mut s = Scanner::new(Expect::Results { binary: false }, true);
        let (step, n) = scan_in_chunks(&mut s, &bytes, 2);
        assert!(matches!(step, Step::Done(_)));
        assert_eq!(n, bytes.len());
        assert!(s
            .status
            .unwrap()
            .contains(StatusFlags::SERVER_STATUS_IN_TRANS));
    }

    #[test]
    fn ok_err_and_infile() {
        let mut s = Scanner::new(Expect::Results { binary: false }, false);
        let ok = [0x00, 1, 0, 0x01, 0x00, 0, 0];
        assert_eq!(s.scan(&mut framed(&[&ok]), 0), Step::Done(11));
        assert!(s
            .status
            .unwrap()
            .contains(StatusFlags::SERVER_STATUS_IN_TRANS));

        let mut s = Scanner::new(Expect::Results { binary: false }, false);
        let err = b"\xFF\x28\x04#42000You have an error";
        assert!(matches!(s.scan(&mut framed(&[err]), 0), Step::Done(_)));
        assert!(s.error);

        let mut s = Scanner::new(Expect::Results { binary: false }, false);
        let mut b = framed(&[b"\xFB/tmp/x"]);
        assert_eq!(s.scan(&mut b, 0), Step::LocalInfile(b.len()));
        s.after_infile();
        assert!(matches!(s.scan(&mut framed(&[&ok]), 0), Step::Done(_)));
    }

    #[test]
    fn row_starting_with_fe_in_a_large_packet_is_data() {
        // A 16 MiB row whose first byte is 0xFE (an 8-byte length prefix) is not a terminator.
        let mut big = vec![0xFE];
        big.resize(MAX_CHUNK, 7);
        let mut bytes = framed(&[&[1], COLDEF, EOF_END]);
        bytes.extend_from_slice(&[0xFF, 0xFF, 0xFF, 4]);
        bytes.extend_from_slice(&big);
        bytes.extend_from_slice(&framed(&[b"tail", EOF_END])[..]);
        let mut s = Scanner::new(Expect::Results { binary: false }, false);
        let (step, n) = scan_in_chunks(&mut s, &bytes, 65536);
        assert!(matches!(step, Step::Done(_)));
        assert_eq!(n, bytes.len());
    }

    #[test]
    fn binary_cursor_stops_after_metadata() {
        let eof_cursor = [0xFE, 0, 0, 0x42, 0x00];
        let bytes = framed(&[&[1], COLDEF, &eof_cursor]);
        let mut s = Scanner::new(Expect::Results { binary: true }, false);
        assert!(matches!(s.scan(&mut bytes.clone(), 0), Step::Done(_)));
    }

    #[test]
    fn empty_row_does_not_peek_at_the_next_header() {
        // An empty packet among rows, followed by a row whose length starts with 0xFE: the
        // 0xFE belongs to the next header, not to the empty packet. Same count in any pieces.
        let mut long_row = vec![0xFC, 0xFB, 0x00];
        long_row.resize(254, b'x');
        let bytes = framed(&[&[1], COLDEF, EOF_END, b"", &long_row, EOF_END]);
        for chunk in [1, 7, bytes.len()] {
            let mut s = Scanner::new(Expect::Results { binary: false }, false);
            let (step, n) = scan_in_chunks(&mut s, &bytes, chunk);
            assert!(matches!(step, Step::Done(_)), "chunk {chunk}: {step:?}");
            assert_eq!(n, bytes.len());
            assert_eq!(s.rows, 2, "chunk {chunk}");
        }
    }

    #[test]
    fn seq_delta_rewrites_headers() {
        let mut bytes = framed(&[&[0x00, 0, 0, 2, 0, 0, 0]]);
        let mut s = Scanner::new(Expect::Single, false);
        s.seq_delta = 2;
        assert!(matches!(s.scan(&mut bytes, 0), Step::Done(_)));
        assert_eq!(bytes[3], 3);
    }
}
