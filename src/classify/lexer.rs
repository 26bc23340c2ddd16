//! The lexer: tokens of MySQL/MariaDB SQL as the server reads them (comments, executable
//! comments, quoted strings and identifiers, `@`/`@@`, numbers as MY_LEX_NUMBER_IDENT reads
//! them), in the session's client character set (`charset.rs`), one table lookup per byte, no
//! allocation. Follows sql/sql_lex.cc `lex_one_token`; where the server's reading depends on
//! something the proxy does not model, `unsure` is set and the statement goes to the master.

use super::charset::{is_trail, Charset, DASH, LEAD, SPACE, UNSURE, WORD};

/// Keywords are compared after copying a word into a stack buffer of this size,
/// upper-cased; longer words are never keywords.
pub(super) const KW_MAX: usize = 40;

/// Upper-case `w` into `buf` (ASCII only); returns an empty slice for long words,
/// which matches no keyword. Never allocates.
pub(super) fn upper<'b>(w: &[u8], buf: &'b mut [u8; KW_MAX]) -> &'b [u8] {
    if w.len() > KW_MAX {
        return &[];
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_uppercase();
    }
    &buf[..w.len()]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// Identifier, keyword or number: `[A-Za-z0-9_$]` and any byte >= 0x80.
    Word(&'a [u8]),
    /// Backtick-quoted identifier: the raw bytes between the backticks (a doubled
    /// backtick is not unescaped).
    QIdent(&'a [u8]),
    /// `'...'` or `"..."`: raw bytes between the quotes, and the quote byte.
    Str(&'a [u8], u8),
    At,
    AtAt,
    ColonEq,
    Punct(u8),
    Eof,
}

pub(super) fn is_kw(t: Tok<'_>, kw: &[u8]) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

/// The byte classes of the default set (utf8mb4), for code that reads the proxy's own text
/// (hints, the admin interface): one table lookup per byte.
fn utf8_class(b: u8) -> u8 {
    Charset::UTF8MB4.class()[b as usize]
}

pub(super) fn is_space(b: u8) -> bool {
    utf8_class(b) & SPACE != 0
}

/// How to read the bytes where the server's interpretation depends on state the
/// proxy cannot see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mode {
    /// Backslash escapes in string literals (off under `NO_BACKSLASH_ESCAPES`).
    pub(super) backslash: bool,
    /// Double quotes delimit identifiers (`ANSI_QUOTES`): no backslash escapes inside them,
    /// whatever `backslash` says for strings.
    pub(super) ansi_quotes: bool,
    /// Which version-conditional executable comments are code (a bit set, see
    /// [`COND_MARIADB`]); the others are comments. Each server executes its own subset:
    /// MariaDB runs `/*M!…*/` and its own versions but skips MySQL's 50700–99999; MySQL
    /// skips `/*M!` and runs 50700 and up.
    pub(super) cond_exec: u8,
    /// The session's client character set: whitespace, `--` comments, double-byte characters.
    pub(super) cs: Charset,
}

/// `/*M!…*/` (MariaDB only).
pub(super) const COND_MARIADB: u8 = 1;
/// A version in MySQL's range 50700–99999 (MySQL runs it, MariaDB skips it).
pub(super) const COND_MYSQL: u8 = 2;
/// A version of 100000 and above (MariaDB 10+ runs it if it is not newer than itself).
pub(super) const COND_NEW: u8 = 4;
/// Every conditional comment executed.
pub(super) const COND_ALL: u8 = COND_MARIADB | COND_MYSQL | COND_NEW;

pub(super) const DEFAULT_MODE: Mode = Mode {
    backslash: true,
    ansi_quotes: false,
    cond_exec: COND_ALL,
    cs: Charset::UTF8MB4,
};

/// Executable comments with a version below this are executed by every server
/// the proxy can sit in front of (MySQL >= 5.7, MariaDB >= 10), so they are
/// plainly code; newer versions, and MariaDB-only `/*M!...*/`, are ambiguous.
pub(super) const ALWAYS_EXECUTED_BELOW: u32 = 50700;

#[derive(Clone, Debug)]
pub(super) struct Lexer<'a> {
    pub(super) s: &'a [u8],
    pub(super) pos: usize,
    pub(super) mode: Mode,
    /// Inside an executable comment: its closing `*/` is whitespace.
    pub(super) in_exec: bool,
    /// Unterminated string, identifier or comment.
    pub(super) broken: bool,
    /// A quoted token contained a backslash followed by its own quote byte, so
    /// where it ends depends on `NO_BACKSLASH_ESCAPES`.
    pub(super) saw_bs_quote: bool,
    /// A version-conditional executable comment was seen.
    pub(super) saw_cond_exec: bool,
    /// Saw bytes the proxy does not know how the server reads (see `charset::UNSURE`, and a
    /// malformed number such as `1.5e+` that the server turns into a stray one-byte token).
    pub(super) unsure: bool,
    /// The byte classes of the session's character set.
    class: &'static [u8; 256],
    /// The last token was an unquoted word followed directly by `.` and an identifier byte:
    /// the `.` is the server's MY_LEX_IDENT_SEP, after which the next token is an identifier
    /// even if it starts with a digit (`t.1e1x` is `t`, `.`, `1e1x`).
    sep_next: bool,
    /// The next token is read as an identifier (after such a `.`, or after `@`/`@@`).
    ident_next: bool,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(s: &'a [u8], mode: Mode) -> Self {
        Lexer {
            s,
            pos: 0,
            mode,
            in_exec: false,
            broken: false,
            saw_bs_quote: false,
            saw_cond_exec: false,
            unsure: false,
            class: mode.cs.class(),
            sep_next: false,
            ident_next: false,
        }
    }

    fn is_word(&self, b: u8) -> bool {
        self.class[b as usize] & WORD != 0
    }

    /// The end of the identifier bytes starting at `i` (double-byte characters whole).
    fn ident_end(&self, mut i: usize) -> usize {
        let s = self.s;
        while let Some(&b) = s.get(i) {
            let k = self.class[b as usize];
            if k & LEAD != 0 && s.get(i + 1).is_some_and(|&t| is_trail(t)) {
                i += 2;
                continue;
            }
            if k & WORD == 0 {
                break;
            }
            i += 1;
        }
        i
    }

    /// A token starting with a digit at `start`, as the server's MY_LEX_NUMBER_IDENT reads it:
    /// a number (`12`, `0x1f`, `0b01`, `1e5`, `1.5`, `1.5e-3`), which ends where the digits do
    /// (`1.5INTO` is `1.5` and `INTO`), or, when identifier bytes follow the digits directly,
    /// an identifier (`12abc`, `1e` in `1e+x`, `0x1g`). Returns the end of the token.
    fn number(&mut self, start: usize) -> usize {
        let s = self.s;
        let digit = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
        let word = |i: usize| s.get(i).is_some_and(|&b| self.is_word(b));
        if s[start] == b'0' {
            let (marker, ok): (u8, fn(u8) -> bool) = match s.get(start + 1) {
                Some(b'x') => (b'x', |b| b.is_ascii_hexdigit()),
                Some(b'b') => (b'b', |b| b == b'0' || b == b'1'),
                _ => (0, |_| false),
            };
            if marker != 0 {
                let mut i = start + 2;
                while s.get(i).is_some_and(|&b| ok(b)) {
                    i += 1;
                }
                if i > start + 2 && !word(i) {
                    return i;
                }
                return self.ident_end(start);
            }
        }
        let mut i = start;
        while digit(i) {
            i += 1;
        }
        if !word(i) {
            // A whole integer, or the start of a real number (`1.5`, `1.`; not `1..10`).
            if s.get(i) == Some(&b'.') && s.get(i + 1) != Some(&b'.') {
                return self.real(i + 1);
            }
            return i;
        }
        if matches!(s[i], b'e' | b'E') {
            let mut j = i + 1;
            if matches!(s.get(j), Some(b'+' | b'-')) && digit(j + 1) {
                j += 1;
            }
            if digit(j) {
                while digit(j) {
                    j += 1;
                }
                return j;
            }
        }
        self.ident_end(start)
    }

    /// The rest of a real number after its `.` at `i - 1` (MY_LEX_REAL): digits, then an
    /// exponent. An `e` without digits after it makes the server return a stray one-byte
    /// token, a syntax error; the proxy does not guess where that leaves the rest.
    fn real(&mut self, mut i: usize) -> usize {
        let s = self.s;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(s.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if !s.get(j).is_some_and(u8::is_ascii_digit) {
                self.unsure = true;
                return j.min(s.len());
            }
            while s.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            return j;
        }
        i
    }

    pub(super) fn next(&mut self) -> Tok<'a> {
        let t = self.token();
        // What the server's lexer carries from one token to the next (next_state).
        self.ident_next = match t {
            Tok::Punct(b'.') => std::mem::take(&mut self.sep_next),
            Tok::At | Tok::AtAt => true,
            _ => false,
        };
        if !matches!(t, Tok::Word(_)) {
            self.sep_next = false;
        }
        t
    }

    fn token(&mut self) -> Tok<'a> {
        let s = self.s;
        loop {
            let Some(&c) = s.get(self.pos) else {
                if self.in_exec {
                    // `/*!` never closed.
                    self.in_exec = false;
                    self.broken = true;
                }
                return Tok::Eof;
            };
            let k = self.class[c as usize];
            if k & SPACE != 0 {
                self.pos += 1;
                // Whitespace ends what an identifier carried over (`t. 1e1x` reads a number).
                self.ident_next = false;
                continue;
            }
            if k & UNSURE != 0 {
                self.unsure = true;
            }
            match c {
                b'/' if s.get(self.pos + 1) == Some(&b'*') => self.block_comment(),
                b'*' if self.in_exec && s.get(self.pos + 1) == Some(&b'/') => {
                    self.in_exec = false;
                    self.pos += 2;
                }
                b'#' => self.line_comment(),
                // `--` starts a comment only when followed by a byte the client's character
                // set counts as whitespace or control (`1--1` is arithmetic; 0x7F is control
                // in utf8mb4 and latin1 but not in cp1251; 0xA0 is whitespace in latin1).
                b'-' if s.get(self.pos + 1) == Some(&b'-')
                    && s.get(self.pos + 2).is_none_or(|&b| {
                        let k = self.class[b as usize];
                        if k & UNSURE != 0 {
                            self.unsure = true;
                        }
                        k & DASH != 0
                    }) =>
                {
                    self.line_comment()
                }
                b'\'' | b'"' => return self.quoted(c),
                b'`' => return self.backtick(),
                b'@' => {
                    if s.get(self.pos + 1) == Some(&b'@') {
                        self.pos += 2;
                        return Tok::AtAt;
                    }
                    self.pos += 1;
                    return Tok::At;
                }
                b':' if s.get(self.pos + 1) == Some(&b'=') => {
                    self.pos += 2;
                    return Tok::ColonEq;
                }
                // `.5` is a number, except right after `t.` (an identifier follows there).
                b'.' if !self.sep_next && s.get(self.pos + 1).is_some_and(u8::is_ascii_digit) => {
                    let start = self.pos;
                    self.pos = self.real(start + 1);
                    self.sep_next = false;
                    return Tok::Word(&s[start..self.pos]);
                }
                _ if k & WORD != 0 || k & LEAD != 0 => {
                    let start = self.pos;
                    if c.is_ascii_digit() && !self.ident_next {
                        self.pos = self.number(start);
                        self.sep_next = false;
                        return Tok::Word(&s[start..self.pos]);
                    }
                    let end = self.ident_end(start).max(start + 1);
                    self.pos = end;
                    self.sep_next = s.get(end) == Some(&b'.')
                        && s.get(end + 1).is_some_and(|&b| self.is_word(b));
                    return Tok::Word(&s[start..end]);
                }
                _ => {
                    self.pos += 1;
                    return Tok::Punct(c);
                }
            }
        }
    }

    /// At `/*`: a plain comment is skipped; an executable comment's marker and
    /// version digits are skipped and its content is scanned as SQL.
    pub(super) fn block_comment(&mut self) {
        let s = self.s;
        let p = self.pos;
        let exec_start = match (s.get(p + 2), s.get(p + 3)) {
            (Some(b'!'), _) => Some((p + 3, false)),
            (Some(b'M'), Some(b'!')) => Some((p + 4, true)),
            _ => None,
        };
        if let Some((mut q, mariadb_only)) = exec_start {
            // A version is five digits (a sixth if one follows); with fewer there is none and
            // the digits are code: `/*!1e1INTO @r */` is the number 1e1 and INTO.
            let run = s[q..]
                .iter()
                .take(6)
                .take_while(|b| b.is_ascii_digit())
                .count();
            let digits = if run >= 5 { run } else { 0 };
            let mut version: u32 = 0;
            for &d in &s[q..q + digits] {
                version = version * 10 + u32::from(d - b'0');
            }
            q += digits;
            let class = if mariadb_only {
                COND_MARIADB
            } else if digits == 0 || version < ALWAYS_EXECUTED_BELOW {
                0
            } else if version <= 99_999 {
                COND_MYSQL
            } else {
                COND_NEW
            };
            if class != 0 {
                self.saw_cond_exec = true;
            }
            if class == 0 || self.mode.cond_exec & class != 0 {
                self.in_exec = true;
                self.pos = q;
                return;
            }
            // Read as a server that does not execute it: a comment up to the first `*/`.
        }
        match find_close(&s[p + 2..]) {
            Some(i) => self.pos = p + 2 + i + 2,
            None => {
                self.pos = s.len();
                self.broken = true;
            }
        }
    }

    pub(super) fn line_comment(&mut self) {
        let rest = &self.s[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n' || b == 0);
        if end.is_some_and(|e| rest[e] == 0) {
            // The server ends the comment at the NUL and then fails on it.
            self.unsure = true;
        }
        self.pos += end.unwrap_or(rest.len());
    }

    pub(super) fn quoted(&mut self, q: u8) -> Tok<'a> {
        let s = self.s;
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match s.get(i) {
                None => {
                    self.broken = true;
                    self.pos = s.len();
                    return Tok::Str(&s[start.min(s.len())..], q);
                }
                Some(&b) if b == q => {
                    if s.get(i + 1) == Some(&q) {
                        i += 2;
                        continue;
                    }
                    self.pos = i + 1;
                    return Tok::Str(&s[start..i], q);
                }
                Some(&b'\\') => {
                    if s.get(i + 1) == Some(&q) {
                        self.saw_bs_quote = true;
                    }
                    let escapes = self.mode.backslash && !(q == b'"' && self.mode.ansi_quotes);
                    i += if escapes { 2 } else { 1 };
                }
                Some(&b) => i += self.char_len(b, i),
            }
        }
    }

    /// Inside quotes: how many bytes the character at `i` (first byte `b`, not a quote or a
    /// backslash) takes. A double-byte character is skipped whole, as the server's
    /// `my_ismbchar` check does before it looks for a quote or a backslash.
    fn char_len(&mut self, b: u8, i: usize) -> usize {
        if b < 0x80 {
            return 1;
        }
        let k = self.class[b as usize];
        if k & UNSURE != 0 {
            self.unsure = true;
        }
        if k & LEAD != 0 && self.s.get(i + 1).is_some_and(|&t| is_trail(t)) {
            2
        } else {
            1
        }
    }

    pub(super) fn backtick(&mut self) -> Tok<'a> {
        let s = self.s;
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match s.get(i) {
                None => {
                    self.broken = true;
                    self.pos = s.len();
                    return Tok::QIdent(&s[start.min(s.len())..]);
                }
                Some(b'`') => {
                    if s.get(i + 1) == Some(&b'`') {
                        i += 2;
                        continue;
                    }
                    self.pos = i + 1;
                    return Tok::QIdent(&s[start..i]);
                }
                Some(&b) => i += self.char_len(b, i),
            }
        }
    }
}

pub(super) fn find_close(s: &[u8]) -> Option<usize> {
    s.windows(2).position(|w| w == b"*/")
}

/// `raw` with doubled `q` collapsed equals `name`, ignoring ASCII case.
pub(super) fn eq_unquoted_ic(raw: &[u8], q: u8, name: &[u8]) -> bool {
    let mut i = 0;
    let mut j = 0;
    while i < raw.len() {
        let Some(&n) = name.get(j) else { return false };
        if !raw[i].eq_ignore_ascii_case(&n) {
            return false;
        }
        i += if raw[i] == q && raw.get(i + 1) == Some(&q) {
            2
        } else {
            1
        };
        j += 1;
    }
    j == name.len()
}
