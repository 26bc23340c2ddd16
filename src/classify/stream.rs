//! The statement stream: the lexer's tokens one statement at a time (a top-level `;` ends one;
//! stored-program bodies do not), with what the whole text says along the way (mentions of
//! named tables, user variables, the digest key).

use super::*;

/// Yields the tokens of one statement at a time; a top-level `;` reads as `Eof`.
/// Inside stored-program bodies (`CREATE PROCEDURE ... BEGIN ...; ...; END`,
/// `BEGIN NOT ATOMIC ... END`) the `;` between BEGIN and END does not split.
/// A `;` inside parentheses is always a syntax error in MySQL, so parentheses
/// are not tracked here: splitting there can only make a statement look like
/// more statements, which is never less conservative.
pub(super) struct Stream<'a> {
    pub(super) lex: Lexer<'a>,
    pub(super) seg_start: usize,
    pub(super) seg_end: usize,
    pub(super) done: bool,
    pub(super) ended_by_semicolon: bool,
    /// Track BEGIN/CASE ... END nesting (stored programs only).
    pub(super) compound: bool,
    pub(super) block: u32,
    /// Index of the current statement and the one in which the lexer first saw
    /// an unterminated construct.
    pub(super) index: usize,
    pub(super) broken_at: Option<usize>,
    /// Names to look for as identifiers (the session's temporary tables).
    pub(super) names: &'a [String],
    /// Saw one of `names`.
    pub(super) mentions: bool,
    /// Saw a user variable (`@x`).
    pub(super) user_var: bool,
    /// Saw `:=` in the current statement: a user variable may be assigned wherever it stands
    /// (`DO @d := 7`, `UPDATE t SET a = (@n := @n + 1)`), so it lives where the statement ran.
    pub(super) assigns: bool,
    /// FNV-1a over the normalized tokens (literals as `?`, words lower-cased, comments and
    /// whitespace left out): the statement's digest key, a by-product of the scan.
    pub(super) digest: u64,
    /// The digest has just taken a number (1) or a number and a `.` (2): the lexer reads
    /// `1.5` as `1`, `.`, `5`, and the digest text (`digest::normalize`, what SHOW DIGESTS
    /// prints and `digest` rules are written from) shows one `?` for it, so the key does too.
    pub(super) digest_number: u8,
    /// The key before the last token when that token was `x`, `X`, `b` or `B`: a quote right
    /// after it makes it a hex or bit literal (`x'ff'`), one `?` in the digest text.
    pub(super) digest_before_prefix: Option<u64>,
    /// Where the scan stands in a table list (see [`TableRefs`]).
    pub(super) table_refs: TableRefs<'a>,
    /// Databases named as the qualifier of a table (`db.t` after FROM, JOIN, INTO, UPDATE,
    /// TABLE...), unquoted, each once, in order. Empty, and not allocated, for statements that
    /// name none (most do not).
    pub(super) databases: Vec<String>,
}

/// A small state machine over the token stream that finds `db.table` where a table name is
/// expected: after a keyword that introduces one (FROM, JOIN, INTO, UPDATE, TABLE, TABLES,
/// DESCRIBE, DESC, TRUNCATE, CALL, TO, STRAIGHT_JOIN, REPLACE) and after a comma that
/// continues such a list (`FROM a.t x, b.u AS y`). Only there: `alias.column` in a select
/// list or a WHERE clause looks the same to a lexer and names no database.
#[derive(Clone, Copy, Debug, Default)]
pub(super) enum TableRefs<'a> {
    /// Not in a table list.
    #[default]
    Off,
    /// A table reference may come next.
    Expect,
    /// After a name that may be a qualifier.
    Name(Tok<'a>),
    /// After `name.`: a table name next makes `name` a database.
    Dot(Tok<'a>),
    /// After a whole table reference: a `,` continues the list, a word may be an alias.
    After,
    /// After one word past the reference (an alias, or `AS`).
    Alias1,
    /// After two (`AS alias`).
    Alias2,
    /// After `DATABASE` or `SCHEMA` (`CREATE DATABASE [IF NOT EXISTS] db`, `DROP SCHEMA`,
    /// `ALTER DATABASE`): the next name, past `IF [NOT] EXISTS`, is a database.
    DbName,
}

/// Keywords after which a table name is expected (case-insensitive). Runs for every word of
/// every statement, so the length picks the few candidates before any byte is compared.
fn introduces_table(w: &[u8]) -> bool {
    let candidates: &[&[u8]] = match w.len() {
        2 => &[b"TO"],
        4 => &[b"FROM", b"JOIN", b"INTO", b"DESC", b"CALL"],
        5 => &[b"TABLE"],
        6 => &[b"UPDATE", b"TABLES"],
        7 => &[b"REPLACE"],
        8 => &[b"DESCRIBE", b"TRUNCATE"],
        13 => &[b"STRAIGHT_JOIN"],
        _ => return false,
    };
    candidates.iter().any(|k| k.eq_ignore_ascii_case(w))
}

/// `DATABASE` or `SCHEMA`: a database name follows (`SELECT DATABASE()` is followed by `(`,
/// which ends the expectation).
fn introduces_database(w: &[u8]) -> bool {
    (w.len() == 8 && w.eq_ignore_ascii_case(b"DATABASE"))
        || (w.len() == 6 && w.eq_ignore_ascii_case(b"SCHEMA"))
}

/// `IF`, `NOT`, `EXISTS` between `DATABASE` and its name.
fn is_if_exists_word(w: &[u8]) -> bool {
    [&b"IF"[..], b"NOT", b"EXISTS"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(w))
}

/// An identifier that can be a database name: a backticked one, or a word that is not a
/// number (`1.5` is a number; `2024db` is a name).
fn qualifier_name(t: Tok<'_>) -> bool {
    match t {
        Tok::Word(w) => !w.iter().all(u8::is_ascii_digit),
        Tok::QIdent(w) => !w.is_empty(),
        _ => false,
    }
}

impl<'a> Stream<'a> {
    pub(super) fn with_names(s: &'a [u8], mode: Mode, names: &'a [String]) -> Self {
        Stream {
            lex: Lexer::new(s, mode),
            seg_start: 0,
            seg_end: 0,
            done: false,
            ended_by_semicolon: false,
            compound: false,
            block: 0,
            index: 0,
            broken_at: None,
            names,
            mentions: false,
            user_var: false,
            assigns: false,
            digest: DIGEST_BASIS,
            digest_number: 0,
            digest_before_prefix: None,
            table_refs: TableRefs::Off,
            databases: Vec::new(),
        }
    }

    /// Advances [`TableRefs`] by one token, recording a database when `db . name` completes.
    fn track_table_refs(&mut self, t: Tok<'a>) {
        use TableRefs::*;
        self.table_refs = match (self.table_refs, t) {
            // After `db.` any word is a table name, keywords included.
            (Dot(q), Tok::Word(_) | Tok::QIdent(_) | Tok::Punct(b'*')) => {
                self.add_database(q);
                After
            }
            (DbName, Tok::Word(w)) if is_if_exists_word(w) => DbName,
            (DbName, t) if qualifier_name(t) => {
                self.add_database(t);
                Off
            }
            (_, Tok::Word(w)) if introduces_table(w) => Expect,
            (_, Tok::Word(w)) if introduces_database(w) => DbName,
            (Expect, t) if qualifier_name(t) => Name(t),
            (Name(q), Tok::Punct(b'.')) => Dot(q),
            (Name(_) | After | Alias1 | Alias2, Tok::Punct(b',')) => Expect,
            (Name(_) | After, Tok::Word(_) | Tok::QIdent(_)) => Alias1,
            (Alias1, Tok::Word(_) | Tok::QIdent(_)) => Alias2,
            _ => Off,
        };
    }

    fn add_database(&mut self, q: Tok<'a>) {
        let name = match q {
            Tok::Word(w) => String::from_utf8_lossy(w).into_owned(),
            Tok::QIdent(w) => String::from_utf8_lossy(w).replace("``", "`"),
            _ => return,
        };
        if !self.databases.contains(&name) {
            self.databases.push(name);
        }
    }

    pub(super) fn feed_digest(&mut self, t: Tok<'_>) {
        // Numbers are one token (`1.5`, `.5`, `1e-3`); `t.5` still reads `5` after a `.`.
        let number = matches!(t, Tok::Word(w) if w[0].is_ascii_digit() || w[0] == b'.');
        match (self.digest_number, t) {
            (1, Tok::Punct(b'.')) => {
                self.digest_number = 2;
                return;
            }
            (2, _) if number => {
                self.digest_number = 0;
                return;
            }
            (_, _) => self.digest_number = u8::from(number),
        }
        let mut h = self.digest;
        let before_prefix = self.digest_before_prefix.take();
        if let (Some(before), Tok::Str(raw, b'\'')) = (before_prefix, t) {
            // `x'ff'` when the quote touches the letter (`x 'ff'` is a name and a string).
            let at = (raw.as_ptr() as usize).wrapping_sub(self.lex.s.as_ptr() as usize);
            if at >= 2 && self.lex.s.get(at - 2).is_some_and(|b| b"xXbB".contains(b)) {
                h = before;
            }
        }
        if matches!(t, Tok::Word([b'x' | b'X' | b'b' | b'B'])) {
            self.digest_before_prefix = Some(h);
        }
        let mut put = |b: u8| h = (h ^ u64::from(b)).wrapping_mul(DIGEST_PRIME);
        match t {
            Tok::Word(w) if w[0].is_ascii_digit() || w[0] == b'.' => put(b'?'),
            Tok::Word(w) => w.iter().for_each(|b| put(b.to_ascii_lowercase())),
            Tok::QIdent(w) => {
                put(b'`');
                w.iter().for_each(|&b| put(b));
            }
            Tok::Str(..) => put(b'?'),
            Tok::At => put(b'@'),
            Tok::AtAt => {
                put(b'@');
                put(b'@');
            }
            Tok::ColonEq => {
                put(b':');
                put(b'=');
            }
            Tok::Punct(p) => put(p),
            Tok::Eof => return,
        }
        put(0x1f);
        self.digest = h;
    }

    pub(super) fn next(&mut self) -> Tok<'a> {
        if self.done {
            return Tok::Eof;
        }
        let t = self.lex.next();
        self.feed_digest(t);
        self.track_table_refs(t);
        if self.lex.broken && self.broken_at.is_none() {
            self.broken_at = Some(self.index);
        }
        if !self.names.is_empty() && !self.mentions {
            self.mentions = match t {
                Tok::Word(w) => self
                    .names
                    .iter()
                    .any(|n| n.as_bytes().eq_ignore_ascii_case(w)),
                Tok::QIdent(raw) => self
                    .names
                    .iter()
                    .any(|n| eq_unquoted_ic(raw, b'`', n.as_bytes())),
                Tok::Str(raw, b'"') => self
                    .names
                    .iter()
                    .any(|n| eq_unquoted_ic(raw, b'"', n.as_bytes())),
                _ => false,
            };
        }
        match t {
            Tok::At => self.user_var = true,
            Tok::ColonEq => self.assigns = true,
            Tok::Eof => {
                self.done = true;
                self.ended_by_semicolon = false;
                self.seg_end = self.lex.s.len();
            }
            Tok::Punct(b';') if self.block == 0 => {
                self.done = true;
                self.ended_by_semicolon = true;
                self.seg_end = self.lex.pos - 1;
                return Tok::Eof;
            }
            Tok::Word(w) if self.compound => {
                let mut buf = [0u8; KW_MAX];
                match upper(w, &mut buf) {
                    b"BEGIN" | b"CASE" => self.block += 1,
                    b"END" => {
                        let after = self.peek();
                        let closes_other = [&b"IF"[..], b"LOOP", b"WHILE", b"REPEAT", b"FOR"]
                            .iter()
                            .any(|k| is_kw(after, k));
                        if !closes_other {
                            self.block = self.block.saturating_sub(1);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        t
    }

    /// The next raw token, without consuming it.
    pub(super) fn peek(&self) -> Tok<'a> {
        if self.done {
            return Tok::Eof;
        }
        self.lex.clone().next()
    }

    pub(super) fn drain(&mut self) {
        while self.next() != Tok::Eof {}
    }

    pub(super) fn start_next(&mut self) {
        self.done = false;
        self.ended_by_semicolon = false;
        self.compound = false;
        self.block = 0;
        self.seg_start = self.lex.pos;
        self.index += 1;
    }

    pub(super) fn segment_text(&self) -> &'a [u8] {
        let s = self.lex.s;
        let start = self.seg_start.min(s.len());
        let end = self.seg_end.clamp(start, s.len());
        &s[start..end]
    }
}
