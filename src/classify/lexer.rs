//! The lexer: tokens of MySQL/MariaDB SQL as the server reads them (comments, executable
//! comments, quoted strings and identifiers, `@`/`@@`), one table lookup per byte, no allocation.

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

pub(super) const SPACE: u8 = 1;
pub(super) const WORD: u8 = 2;

/// Byte classes, so the inner loops are one table lookup per byte.
///
/// NUL counts as whitespace: a server that ends the statement there sees a prefix
/// of what we scan, one that rejects it executes nothing, and one that skips it
/// sees what we see, so scanning through it is the conservative choice.
pub(super) const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0) {
            SPACE
        } else if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            WORD
        } else {
            0
        };
        i += 1;
    }
    t
};

pub(super) fn is_word_byte(b: u8) -> bool {
    CLASS[b as usize] == WORD
}

pub(super) fn is_space(b: u8) -> bool {
    CLASS[b as usize] == SPACE
}

/// How to read the bytes where the server's interpretation depends on state the
/// proxy cannot see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mode {
    /// Backslash escapes in string literals (off under `NO_BACKSLASH_ESCAPES`).
    pub(super) backslash: bool,
    /// Treat version-conditional executable comments as code (true) or as comments.
    pub(super) cond_exec: bool,
}

pub(super) const DEFAULT_MODE: Mode = Mode {
    backslash: true,
    cond_exec: true,
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
        }
    }

    pub(super) fn next(&mut self) -> Tok<'a> {
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
            match c {
                _ if is_space(c) => self.pos += 1,
                b'/' if s.get(self.pos + 1) == Some(&b'*') => self.block_comment(),
                b'*' if self.in_exec && s.get(self.pos + 1) == Some(&b'/') => {
                    self.in_exec = false;
                    self.pos += 2;
                }
                b'#' => self.line_comment(),
                // MySQL: `--` starts a comment only when followed by whitespace or
                // a control character (`1--1` is arithmetic).
                b'-' if s.get(self.pos + 1) == Some(&b'-')
                    && s.get(self.pos + 2).is_none_or(|&b| b <= b' ') =>
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
                _ if is_word_byte(c) => {
                    let start = self.pos;
                    let mut i = start + 1;
                    while i < s.len() && is_word_byte(s[i]) {
                        i += 1;
                    }
                    self.pos = i;
                    return Tok::Word(&s[start..i]);
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
            let mut version: u32 = 0;
            let mut digits = 0;
            while digits < 6 && q < s.len() && s[q].is_ascii_digit() {
                version = version * 10 + u32::from(s[q] - b'0');
                q += 1;
                digits += 1;
            }
            let conditional = mariadb_only || (digits > 0 && version >= ALWAYS_EXECUTED_BELOW);
            if conditional {
                self.saw_cond_exec = true;
            }
            if !conditional || self.mode.cond_exec {
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
        self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
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
                    i += if self.mode.backslash { 2 } else { 1 };
                }
                Some(_) => i += 1,
            }
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
                Some(_) => i += 1,
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
