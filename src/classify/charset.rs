//! The session's client character set, as MariaDB's lexer uses it: which bytes are whitespace
//! between tokens, which start a comment after `--`, and (for the double-byte sets sjis, cp932,
//! gbk and big5) which byte pairs are one character, so that a second byte 0x5C is not a
//! backslash and 0x60 not a backtick. The facts come from a server (`charsets.rs`, written by
//! scripts/charset_tables.py); a set the proxy has no table for reads every byte of 0x7F and
//! above as "not modelled", which sends the statement to the master.

use super::charsets::{CHARSETS, COLLATIONS};

/// Whitespace between tokens.
pub(super) const SPACE: u8 = 1;
/// Part of an unquoted identifier, keyword or number.
pub(super) const WORD: u8 = 2;
/// After `--`, starts a comment (the server's `my_isspace || my_iscntrl` for the set).
pub(super) const DASH: u8 = 4;
/// The proxy does not know how the server reads this byte here (outside quotes: a NUL, a `[`
/// that is an identifier quote under sql_mode MSSQL, any byte >= 0x7F in a set without a
/// table; inside quotes: a byte >= 0x80 in such a set): the statement goes to the master.
pub(super) const UNSURE: u8 = 8;
/// First byte of a double-byte character: with a second byte in 0x40..=0x7E or >= 0x80 it is
/// one character, whatever that second byte is in ASCII.
pub(super) const LEAD: u8 = 16;

const fn ascii_class(b: u8) -> u8 {
    let mut k = 0;
    if matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
        k |= SPACE;
    }
    if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' {
        k |= WORD;
    }
    if b <= b' ' {
        k |= DASH;
    }
    if b == 0 || b == b'[' {
        k |= UNSURE;
    }
    k
}

const fn contains(list: &[u8], b: u8) -> bool {
    let mut i = 0;
    while i < list.len() {
        if list[i] == b {
            return true;
        }
        i += 1;
    }
    false
}

const fn in_ranges(ranges: &[(u8, u8)], b: u8) -> bool {
    let mut i = 0;
    while i < ranges.len() {
        if ranges[i].0 <= b && b <= ranges[i].1 {
            return true;
        }
        i += 1;
    }
    false
}

const fn table(space: &[u8], dash: &[u8], leads: &[(u8, u8)]) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b < 0x7f {
            ascii_class(b)
        } else {
            // Bytes >= 0x80 that are not whitespace: letters, or punctuation the grammar has no
            // use for (a syntax error either way), so reading them as identifier bytes never
            // hides a keyword from the proxy that the server would see.
            let mut k = if b >= 0x80 { WORD } else { 0 };
            if contains(space, b) {
                k = SPACE;
            }
            if contains(dash, b) {
                k |= DASH;
            }
            if in_ranges(leads, b) {
                k |= LEAD;
            }
            k
        };
        i += 1;
    }
    t
}

const N: usize = CHARSETS.len();

/// One class table per set of `CHARSETS`, then the table for sets the proxy does not know.
static TABLES: [[u8; 256]; N + 1] = {
    let mut all = [[0u8; 256]; N + 1];
    let mut i = 0;
    while i < N {
        let (_, space, dash, leads) = CHARSETS[i];
        all[i] = table(space, dash, leads);
        i += 1;
    }
    let mut unknown = table(&[], &[], &[]);
    let mut b = 0x7f;
    while b < 256 {
        unknown[b] |= UNSURE;
        b += 1;
    }
    all[N] = unknown;
    all
};

/// A client character set (an index into the tables; `Copy`, one byte).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Charset(u8);

impl Charset {
    /// utf8mb4: the proxy's default, and what the handshake of most drivers names.
    pub const UTF8MB4: Charset = Charset::known("utf8mb4");
    /// A set the proxy cannot read: statements with a byte >= 0x7F go to the master.
    pub const UNKNOWN: Charset = Charset(N as u8);

    const fn known(name: &str) -> Charset {
        let mut i = 0;
        while i < N {
            if eq_ascii(CHARSETS[i].0.as_bytes(), name.as_bytes()) {
                return Charset(i as u8);
            }
            i += 1;
        }
        panic!("charset missing from charsets.rs")
    }

    /// The set MariaDB calls `name` (case-insensitive; `utf8` is utf8mb3, as in MariaDB 10.11
    /// with the default old_mode); [`Charset::UNKNOWN`] for any other name.
    pub fn from_name(name: &str) -> Charset {
        let name = if name.eq_ignore_ascii_case("utf8") {
            "utf8mb3"
        } else {
            name
        };
        CHARSETS
            .iter()
            .position(|(n, ..)| n.eq_ignore_ascii_case(name))
            .map_or(Charset::UNKNOWN, |i| Charset(i as u8))
    }

    /// The set of a handshake / COM_CHANGE_USER collation id.
    pub fn from_collation(id: u8) -> Charset {
        COLLATIONS
            .iter()
            .find(|(c, _)| *c == id)
            .map_or(Charset::UNKNOWN, |(_, name)| Charset::from_name(name))
    }

    /// Its name (`"unknown"` for [`Charset::UNKNOWN`]).
    pub fn name(self) -> &'static str {
        CHARSETS.get(self.0 as usize).map_or("unknown", |c| c.0)
    }

    pub(super) fn class(self) -> &'static [u8; 256] {
        &TABLES[self.0 as usize]
    }
}

impl std::fmt::Debug for Charset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const fn eq_ascii(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if !a[i].eq_ignore_ascii_case(&b[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// Second byte of a double-byte character in sjis, cp932, gbk and big5 (their ASCII part,
/// 0x40..=0x7E, is the same in all four; any byte >= 0x80 may follow a lead without changing
/// where a quote or a backslash is).
pub(super) fn is_trail(b: u8) -> bool {
    (0x40..=0x7e).contains(&b) || b >= 0x80
}
