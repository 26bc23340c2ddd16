//! Statement classifier: decides where a client statement must run.
//!
//! # Why a hand-written scanner
//!
//! The proxy has a CPU budget of roughly 15 µs per proxied query in total, and a
//! full SQL parse with `sqlparser` costs ~5 µs for a short SELECT and 15–25 µs for
//! joins (measured on the target machine). It also cannot parse several things
//! MySQL/MariaDB clients really send (`SET @a := 1`, `LOCK IN SHARE MODE`, `XA`,
//! `LOAD DATA`, `DO`, `HANDLER`) and it drops comments, which in MySQL may be
//! executable (`/*!40101 SET NAMES utf8 */`). So routing is decided by a one-pass
//! lexical scan over the raw bytes that does not allocate for common statements:
//! it knows just enough of the lexical structure (comments, executable comments,
//! string literals, backtick identifiers) never to mistake the contents of a
//! string or an identifier for a keyword, and just enough grammar (the first
//! keyword, plus a handful of "this read must go to the master" markers) to
//! route. `sqlparser` is consulted only to confirm that a `WITH ...` statement
//! is a plain query.
//!
//! # Correctness rule
//!
//! When in doubt, [`Route::Master`]. A write must never come out as
//! [`Route::Replica`]. Concretely:
//!
//! * Unknown first words, empty input and garbage go to the master.
//! * Unterminated strings/comments/identifiers go to the master.
//! * Where the meaning of the bytes depends on server state the proxy cannot see
//!   (`NO_BACKSLASH_ESCAPES` changes where `'it\'s'` ends; a version-conditional
//!   executable comment `/*!80000 ... */` or `/*M!100101 ... */` is code on some
//!   servers and a comment on others), the statement is classified under each
//!   interpretation and, if they disagree, it goes to the master and is not
//!   recorded for replay.
//! * Multi-statements go to a replica only if every statement is individually a
//!   replica read.
//!
//! # Not detected (callers must know)
//!
//! * Stored functions that write (`SELECT my_func_that_inserts()`) look like plain
//!   reads. Use a `/* rwsplit:master */` hint for those.
//! * `SELECT FOUND_ROWS()` / `ROW_COUNT()` go to the master as specified, but their
//!   value belongs to the *previous* statement's connection (WordPress runs
//!   `SELECT SQL_CALC_FOUND_ROWS ...` on a replica, then `SELECT FOUND_ROWS()`).
//!   [`Classification::depends_on_previous`] is set for them so the caller can
//!   treat them as [`Route::Last`].
//! * `SET @x = (SELECT ...)` is Current and recorded: a replay on another backend
//!   re-runs the subquery there.
//!
//! # Decisions beyond the obvious
//!
//! * Reads whose answer depends on which server answers go to the master:
//!   `@@global.*`, `@@read_only`, `@@gtid_*`,
//!   `@@identity`, `@@last_insert_id`, `@@last_gtid`, `CONNECTION_ID()`, and
//!   `SHOW GLOBAL ...` (including `SHOW GLOBAL VARIABLES`). Unknown `SHOW` forms go
//!   to the master; the replica list is explicit.
//! * A plain `DROP TABLE a, b` also yields [`TempTableOp::Drop`], because it drops
//!   a temporary table of that name when one exists.
//! * `GET DIAGNOSTICS` is [`Route::Last`], like `SHOW WARNINGS`.
//! * MySQL 8 `TABLE t` / `VALUES ROW(...)` are [`Kind::Select`] but go to the master.
//! * A `WITH` query wrapped in an executable comment goes to the master (sqlparser
//!   reads the comment as a comment).
//! * A string with a backslash-escaped quote *and* a `;` after it
//!   (`WHERE a = 'it\'s; fine'`) goes to the master: under `NO_BACKSLASH_ESCAPES`
//!   it would be two statements.

use std::borrow::Cow;

/// Where a statement must run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Writes, DDL, locking reads, transaction control, anything unsure.
    Master,
    /// Plain reads that are safe on any replica.
    Replica,
    /// Session-state statements (`SET` session var / `SET @uservar` / `USE`): run on
    /// the backend the session used last (master if none); the proxy records them
    /// (see [`Classification::record`]) for replay on the other backends.
    Current,
    /// `SHOW WARNINGS` / `SHOW ERRORS` / `SHOW COUNT(*) WARNINGS` /
    /// `SELECT @@warning_count` / `GET DIAGNOSTICS`: must run on the backend that
    /// ran the previous statement.
    Last,
}

/// A routing hint from a leading comment (`/* rwsplit:master */`,
/// `-- rwsplit:replica`, `# rwsplit: master`). The classifier only reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hint {
    Master,
    Replica,
}

/// Statement kind, for metrics and for the caller's bookkeeping.
///
/// Note for transaction tracking: `ROLLBACK TO [SAVEPOINT] x` is
/// [`Kind::Savepoint`] (it does not end the transaction), `COMMIT AND CHAIN`
/// is still [`Kind::Commit`], and MariaDB's `BEGIN NOT ATOMIC ... END` compound
/// block is [`Kind::Other`], not [`Kind::Begin`]. The server status flags in OK
/// packets remain the authoritative source of "in transaction".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    Replace,
    Set,
    Use,
    Begin,
    Commit,
    Rollback,
    Savepoint,
    Ddl,
    Show,
    Describe,
    Explain,
    Call,
    Prepare,
    Execute,
    Deallocate,
    Lock,
    Unlock,
    Kill,
    Load,
    Handler,
    Xa,
    Do,
    Flush,
    Grant,
    Other,
}

impl Kind {
    /// Every kind, in declaration order (`kind as usize` indexes it).
    pub const ALL: [Kind; 29] = [
        Kind::Select,
        Kind::Insert,
        Kind::Update,
        Kind::Delete,
        Kind::Replace,
        Kind::Set,
        Kind::Use,
        Kind::Begin,
        Kind::Commit,
        Kind::Rollback,
        Kind::Savepoint,
        Kind::Ddl,
        Kind::Show,
        Kind::Describe,
        Kind::Explain,
        Kind::Call,
        Kind::Prepare,
        Kind::Execute,
        Kind::Deallocate,
        Kind::Lock,
        Kind::Unlock,
        Kind::Kill,
        Kind::Load,
        Kind::Handler,
        Kind::Xa,
        Kind::Do,
        Kind::Flush,
        Kind::Grant,
        Kind::Other,
    ];

    /// Lowercase label for metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Select => "select",
            Kind::Insert => "insert",
            Kind::Update => "update",
            Kind::Delete => "delete",
            Kind::Replace => "replace",
            Kind::Set => "set",
            Kind::Use => "use",
            Kind::Begin => "begin",
            Kind::Commit => "commit",
            Kind::Rollback => "rollback",
            Kind::Savepoint => "savepoint",
            Kind::Ddl => "ddl",
            Kind::Show => "show",
            Kind::Describe => "describe",
            Kind::Explain => "explain",
            Kind::Call => "call",
            Kind::Prepare => "prepare",
            Kind::Execute => "execute",
            Kind::Deallocate => "deallocate",
            Kind::Lock => "lock",
            Kind::Unlock => "unlock",
            Kind::Kill => "kill",
            Kind::Load => "load",
            Kind::Handler => "handler",
            Kind::Xa => "xa",
            Kind::Do => "do",
            Kind::Flush => "flush",
            Kind::Grant => "grant",
            Kind::Other => "other",
        }
    }
}

/// A temporary-table lifecycle event. Temporary tables exist only on the backend
/// that created them (the master, since `CREATE` is a write), so the caller keeps
/// the session's set of names and sends statements that mention them
/// ([`mentions_any`]) to the master.
///
/// Names are the last component of a possibly qualified name (`db.t` -> `t`),
/// unquoted; matching with [`mentions_any`] is case-insensitive, so at worst a
/// statement is sent to the master needlessly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TempTableOp {
    /// `CREATE [OR REPLACE] TEMPORARY TABLE [IF NOT EXISTS] name ...`
    Create(String),
    /// `DROP TEMPORARY TABLE [IF EXISTS] a, b` — and also plain `DROP TABLE a, b`,
    /// because a plain `DROP TABLE t` drops the temporary `t` when one exists.
    /// Removing a name that is not in the session's set is a no-op.
    Drop(Vec<String>),
    /// `ALTER TABLE a RENAME TO b`, `RENAME TABLE a TO b, c TO d`: (old, new) name pairs.
    /// Renaming a name that is not in the session's set is a no-op.
    Rename(Vec<(String, String)>),
}

/// The result of [`classify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// Where to run it.
    pub route: Route,
    /// What it is (of the first statement when `multi`).
    pub kind: Kind,
    /// A hint from a comment before the first keyword; the caller decides how to apply it.
    /// A `rwsplit:replica` hint is not reported for a statement that writes, locks, assigns
    /// a user variable or cannot be read with certainty: no hint may send those to a replica.
    pub hint: Option<Hint>,
    /// More than one statement: a `;` followed by anything but whitespace/comments.
    pub multi: bool,
    /// A session-state statement the proxy must replay on other backends if it
    /// succeeds. For a multi-statement: true only if every statement is one.
    pub record: bool,
    /// Assigns a user variable (`SET @x`, `SELECT ... @x := ...`, `SELECT ... INTO @x`).
    /// With `record` true the assignment is replayed like any session setting; with
    /// `record` false it ran on the master only (a SELECT, or a SET whose value is
    /// master-only such as `LAST_INSERT_ID()`), so the variable lives there.
    pub user_var_write: bool,
    /// Temporary tables created or dropped, in order (empty, and not allocated, for
    /// statements that do neither).
    pub temp_ops: Vec<TempTableOp>,
    /// True if `sqlparser` was consulted (only for `WITH ...`).
    pub parsed: bool,
    /// The statement reads a per-connection result of the statement that ran just
    /// before it: `FOUND_ROWS()`, `ROW_COUNT()`. Its route is `Master` (as
    /// specified), but the correct answer is on the backend that ran the previous
    /// statement, so a caller that wants e.g. WordPress pagination
    /// (`SELECT SQL_CALC_FOUND_ROWS ...` on a replica, then `SELECT FOUND_ROWS()`)
    /// to be right should treat this as [`Route::Last`]. Never set for a statement that also
    /// writes, locks or assigns a user variable (`SELECT FOUND_ROWS(); INSERT ...`,
    /// `SELECT ROW_COUNT() ... FOR UPDATE`): those must run on the master.
    pub depends_on_previous: bool,
    /// Calls FOUND_ROWS(): its answer is about the previous SELECT (a DELETE or an INSERT in
    /// between does not change it on the server), so it runs where that SELECT ran.
    pub reads_found_rows: bool,
    /// Some part may change data or server state, takes a lock, assigns a user variable or
    /// is not understood (a statement the server may have committed something for: after it,
    /// read-your-writes needs the master's position). Reads that merely go to the master
    /// (`SELECT LAST_INSERT_ID()`) do not count.
    pub writes: bool,
    /// The kind of every statement of a multi-statement (the first one's alone otherwise).
    pub kinds: KindSet,
    /// `START TRANSACTION READ ONLY` (characteristics read by the lexer, never a substring):
    /// the whole transaction may run on one replica.
    pub read_only_start: bool,
    /// `KILL ...`: what it asks for. Set for every statement whose first keyword is KILL,
    /// so the caller never forwards one it cannot map.
    pub kill: Option<KillTarget>,
    /// `USE db` alone: the database it selects.
    pub use_db: Option<String>,
    /// Mentions a user variable (`@x`) outside strings and comments.
    pub user_var_read: bool,
    /// Mentions one of the names given to [`analyze`] (the session's temporary tables) as an
    /// identifier, or as the last part of a qualified name.
    pub mentions_named: bool,
    /// Calls `CONNECTION_ID()`: its answer names the backend thread that ran it.
    pub connection_id: bool,
    /// A SET of session variables whose value cannot be replayed elsewhere (it reads another
    /// server's state, calls a non-deterministic function, or runs a subquery) and that is not
    /// recorded: after it succeeds, the session's state lives on the master only.
    pub master_only_state: bool,
    /// For a recorded single-variable SET: which setting it assigns (a later SET of the same
    /// setting may replace it in the replay list). None for anything else.
    pub record_key: Option<u64>,
    /// A recorded SET whose value reads variables (`SET @saved = @@sql_mode`): replaying it
    /// depends on what was set before it, so earlier SETs may not be dropped from the list.
    pub reads_vars: bool,
    /// The digest key (`SHOW DIGESTS`): statements that differ only in literals, letter case,
    /// comments and whitespace share it.
    pub digest: u64,
    /// A SET that affects only the next statement or transaction on the connection it ran on
    /// (`SET TRANSACTION ...` without SESSION, `SET insert_id`, `SET @@tx_isolation`...): the
    /// next statement must run there too.
    pub next_statement_only: bool,
}

const DIGEST_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const DIGEST_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A set of statement kinds (one bit per [`Kind`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KindSet(u32);

impl KindSet {
    pub fn insert(&mut self, k: Kind) {
        self.0 |= 1 << (k as u32);
    }
    pub fn contains(&self, k: Kind) -> bool {
        self.0 & (1 << (k as u32)) != 0
    }
}

/// What a `KILL` statement asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillTarget {
    /// `KILL [HARD|SOFT] [CONNECTION] n`
    Connection(u64),
    /// `KILL [HARD|SOFT] QUERY n`
    Query(u64),
    /// `KILL QUERY ID n`, `KILL USER u`, a KILL inside a multi-statement, or a form not
    /// understood: nothing the proxy can map to its sessions.
    Unsupported,
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

/// Keywords are compared after copying a word into a stack buffer of this size,
/// upper-cased; longer words are never keywords.
const KW_MAX: usize = 40;

/// Upper-case `w` into `buf` (ASCII only); returns an empty slice for long words,
/// which matches no keyword. Never allocates.
fn upper<'b>(w: &[u8], buf: &'b mut [u8; KW_MAX]) -> &'b [u8] {
    if w.len() > KW_MAX {
        return &[];
    }
    for (d, s) in buf.iter_mut().zip(w) {
        *d = s.to_ascii_uppercase();
    }
    &buf[..w.len()]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok<'a> {
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

fn is_kw(t: Tok<'_>, kw: &[u8]) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

const SPACE: u8 = 1;
const WORD: u8 = 2;

/// Byte classes, so the inner loops are one table lookup per byte.
///
/// NUL counts as whitespace: a server that ends the statement there sees a prefix
/// of what we scan, one that rejects it executes nothing, and one that skips it
/// sees what we see, so scanning through it is the conservative choice.
const CLASS: [u8; 256] = {
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

fn is_word_byte(b: u8) -> bool {
    CLASS[b as usize] == WORD
}

fn is_space(b: u8) -> bool {
    CLASS[b as usize] == SPACE
}

/// How to read the bytes where the server's interpretation depends on state the
/// proxy cannot see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mode {
    /// Backslash escapes in string literals (off under `NO_BACKSLASH_ESCAPES`).
    backslash: bool,
    /// Treat version-conditional executable comments as code (true) or as comments.
    cond_exec: bool,
}

const DEFAULT_MODE: Mode = Mode {
    backslash: true,
    cond_exec: true,
};

/// Executable comments with a version below this are executed by every server
/// the proxy can sit in front of (MySQL >= 5.7, MariaDB >= 10), so they are
/// plainly code; newer versions, and MariaDB-only `/*M!...*/`, are ambiguous.
const ALWAYS_EXECUTED_BELOW: u32 = 50700;

#[derive(Clone, Debug)]
struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    mode: Mode,
    /// Inside an executable comment: its closing `*/` is whitespace.
    in_exec: bool,
    /// Unterminated string, identifier or comment.
    broken: bool,
    /// A quoted token contained a backslash followed by its own quote byte, so
    /// where it ends depends on `NO_BACKSLASH_ESCAPES`.
    saw_bs_quote: bool,
    /// A version-conditional executable comment was seen.
    saw_cond_exec: bool,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a [u8], mode: Mode) -> Self {
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

    fn next(&mut self) -> Tok<'a> {
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
    fn block_comment(&mut self) {
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

    fn line_comment(&mut self) {
        let rest = &self.s[self.pos..];
        self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    }

    fn quoted(&mut self, q: u8) -> Tok<'a> {
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

    fn backtick(&mut self) -> Tok<'a> {
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

fn find_close(s: &[u8]) -> Option<usize> {
    s.windows(2).position(|w| w == b"*/")
}

// ---------------------------------------------------------------------------
// Statement stream: splits the token stream at top-level `;`
// ---------------------------------------------------------------------------

/// Yields the tokens of one statement at a time; a top-level `;` reads as `Eof`.
/// Inside stored-program bodies (`CREATE PROCEDURE ... BEGIN ...; ...; END`,
/// `BEGIN NOT ATOMIC ... END`) the `;` between BEGIN and END does not split.
/// A `;` inside parentheses is always a syntax error in MySQL, so parentheses
/// are not tracked here: splitting there can only make a statement look like
/// more statements, which is never less conservative.
struct Stream<'a> {
    lex: Lexer<'a>,
    seg_start: usize,
    seg_end: usize,
    done: bool,
    ended_by_semicolon: bool,
    /// Track BEGIN/CASE ... END nesting (stored programs only).
    compound: bool,
    block: u32,
    /// Index of the current statement and the one in which the lexer first saw
    /// an unterminated construct.
    index: usize,
    broken_at: Option<usize>,
    /// Names to look for as identifiers (the session's temporary tables).
    names: &'a [String],
    /// Saw one of `names`.
    mentions: bool,
    /// Saw a user variable (`@x`).
    user_var: bool,
    /// FNV-1a over the normalized tokens (literals as `?`, words lower-cased, comments and
    /// whitespace left out): the statement's digest key, a by-product of the scan.
    digest: u64,
}

impl<'a> Stream<'a> {
    fn with_names(s: &'a [u8], mode: Mode, names: &'a [String]) -> Self {
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
            digest: DIGEST_BASIS,
        }
    }

    fn feed_digest(&mut self, t: Tok<'_>) {
        let mut h = self.digest;
        let mut put = |b: u8| h = (h ^ u64::from(b)).wrapping_mul(DIGEST_PRIME);
        match t {
            Tok::Word(w) if w[0].is_ascii_digit() => put(b'?'),
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

    fn next(&mut self) -> Tok<'a> {
        if self.done {
            return Tok::Eof;
        }
        let t = self.lex.next();
        self.feed_digest(t);
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
    fn peek(&self) -> Tok<'a> {
        if self.done {
            return Tok::Eof;
        }
        self.lex.clone().next()
    }

    fn drain(&mut self) {
        while self.next() != Tok::Eof {}
    }

    fn start_next(&mut self) {
        self.done = false;
        self.ended_by_semicolon = false;
        self.compound = false;
        self.block = 0;
        self.seg_start = self.lex.pos;
        self.index += 1;
    }

    fn segment_text(&self) -> &'a [u8] {
        let s = self.lex.s;
        let start = self.seg_start.min(s.len());
        let end = self.seg_end.clamp(start, s.len());
        &s[start..end]
    }
}

// ---------------------------------------------------------------------------
// "Does this read have to go to the master?" scan
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, Default)]
struct Reads {
    /// Locks or changes something: FOR UPDATE/SHARE, LOCK IN SHARE MODE, INTO,
    /// GET_LOCK(), NEXTVAL(), replication waits, DML keywords.
    side_effect: bool,
    /// Reads state only the master has right: LAST_INSERT_ID(), FOUND_ROWS(),
    /// @@identity, @@global.*, server identity variables, ...
    session_read: bool,
    /// @@warning_count / @@error_count.
    last: bool,
    /// `:=` or `INTO @x`.
    user_assign: bool,
    /// FOUND_ROWS() / ROW_COUNT().
    prev_dep: bool,
    /// FOUND_ROWS() (about the previous SELECT, not the previous statement).
    found_rows: bool,
    /// Reads state of the master connection other than FOUND_ROWS()/ROW_COUNT()
    /// (LAST_INSERT_ID(), @@identity, lock state, ...): the master answers it, whatever the
    /// previous statement was.
    master_read: bool,
    /// A value that differs between servers or between calls: UUID(), RAND(), NOW(),
    /// CONNECTION_ID(), server-identity variables, a subquery (data may lag on a replica).
    nondet: bool,
    /// Reads a user or system variable.
    var_read: bool,
    /// CONNECTION_ID().
    conn_id: bool,
}

impl Reads {
    fn master_read(&mut self) {
        self.session_read = true;
        self.master_read = true;
    }

    fn master(&self) -> bool {
        self.side_effect || self.session_read || self.user_assign
    }

    /// Master for what it does, not only for what it reads.
    fn writes(&self) -> bool {
        self.side_effect || self.user_assign
    }
}

/// Feeds on the tokens of a read statement, keeping the last three tokens so that
/// words after `.`, `@` and `@@` are not taken for keywords and a function name
/// is recognised when the `(` arrives.
struct Scan<'a> {
    p1: Tok<'a>,
    p2: Tok<'a>,
    p3: Tok<'a>,
    /// Saw INSERT/REPLACE: a statement unless the next token is `(` (the string
    /// functions INSERT() and REPLACE()).
    pending_dml: bool,
    /// Scanning the value of a SET: every word matters (no keyword fast path).
    set_value: bool,
    r: Reads,
}

impl<'a> Scan<'a> {
    fn new(prev: Tok<'a>) -> Self {
        Scan {
            p1: prev,
            p2: Tok::Eof,
            p3: Tok::Eof,
            pending_dml: false,
            set_value: false,
            r: Reads::default(),
        }
    }

    fn feed(&mut self, t: Tok<'a>) {
        if self.pending_dml {
            self.pending_dml = false;
            if t != Tok::Punct(b'(') {
                self.r.side_effect = true;
            }
        }
        match t {
            Tok::Word(w) => self.word(w),
            Tok::Punct(b'(') => {
                if let Tok::Word(f) = self.p1 {
                    if !matches!(self.p2, Tok::At | Tok::AtAt) {
                        self.function(f);
                    }
                }
            }
            Tok::ColonEq => self.r.user_assign = true,
            Tok::At if is_kw(self.p1, b"INTO") => self.r.user_assign = true,
            Tok::At | Tok::AtAt => self.r.var_read = true,
            _ => {}
        }
        self.p3 = self.p2;
        self.p2 = self.p1;
        self.p1 = t;
    }

    /// Feed every remaining token of the statement.
    fn run(&mut self, st: &mut Stream<'a>) {
        loop {
            let t = st.next();
            self.feed(t);
            if t == Tok::Eof {
                break;
            }
        }
    }

    fn word(&mut self, w: &[u8]) {
        // Fast path: in keyword position only 4- to 7-letter words matter here
        // (INTO, SHARE, VALUE, UPDATE, DELETE, INSERT, REPLACE).
        let keyword_position = !matches!(self.p1, Tok::AtAt | Tok::At | Tok::Punct(b'.'));
        if keyword_position && !self.set_value && !(4..=7).contains(&w.len()) {
            return;
        }
        let mut buf = [0u8; KW_MAX];
        let u = upper(w, &mut buf);
        match self.p1 {
            Tok::AtAt => {
                self.sysvar(u);
                return;
            }
            Tok::At => return, // a user variable's name
            Tok::Punct(b'.') => {
                if self.p3 == Tok::AtAt {
                    if is_kw(self.p2, b"GLOBAL") {
                        // The server's state, not the connection's: a hint may still ask a
                        // replica for it.
                        self.r.session_read = true;
                    }
                    self.sysvar(u);
                }
                // Oracle-mode sequence pseudo-columns `seq.NEXTVAL` / `seq.CURRVAL`.
                match u {
                    b"NEXTVAL" => self.r.side_effect = true,
                    b"CURRVAL" => self.r.master_read(),
                    _ => {}
                }
                return;
            }
            _ => {}
        }
        match u {
            // `FOR UPDATE` in a read; a data-changing statement in a WITH body.
            b"UPDATE" | b"DELETE" => self.r.side_effect = true,
            b"INSERT" | b"REPLACE" => self.pending_dml = true,
            // INTO OUTFILE / DUMPFILE / @var / local var.
            b"INTO" => self.r.side_effect = true,
            // FOR SHARE, LOCK IN SHARE MODE.
            b"SHARE" if is_kw(self.p1, b"FOR") || is_kw(self.p1, b"IN") => {
                self.r.side_effect = true
            }
            // MariaDB sequences: NEXT VALUE FOR s / PREVIOUS VALUE FOR s.
            b"VALUE" if is_kw(self.p1, b"NEXT") => self.r.side_effect = true,
            b"VALUE" if is_kw(self.p1, b"PREVIOUS") => self.r.master_read(),
            // In a SET value: a subquery, or a time read without parentheses.
            b"SELECT" | b"CURRENT_TIMESTAMP" | b"CURRENT_DATE" | b"CURRENT_TIME" | b"LOCALTIME"
            | b"LOCALTIMESTAMP" | b"UTC_TIMESTAMP" | b"UTC_DATE" | b"UTC_TIME"
                if self.set_value =>
            {
                self.r.nondet = true
            }
            _ => {}
        }
    }

    fn function(&mut self, f: &[u8]) {
        let mut buf = [0u8; KW_MAX];
        match upper(f, &mut buf) {
            b"GET_LOCK"
            | b"RELEASE_LOCK"
            | b"RELEASE_ALL_LOCKS"
            | b"NEXTVAL"
            | b"SETVAL"
            | b"MASTER_POS_WAIT"
            | b"SOURCE_POS_WAIT"
            | b"MASTER_GTID_WAIT"
            | b"WAIT_FOR_EXECUTED_GTID_SET"
            | b"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS" => self.r.side_effect = true,
            b"IS_FREE_LOCK" | b"IS_USED_LOCK" | b"LAST_INSERT_ID" | b"LASTVAL" => {
                self.r.master_read()
            }
            b"CONNECTION_ID" => {
                self.r.master_read();
                self.r.conn_id = true;
            }
            b"UUID" | b"UUID_SHORT" | b"SYS_GUID" | b"RAND" | b"RANDOM_BYTES" | b"NOW"
            | b"SYSDATE" | b"CURRENT_TIMESTAMP" | b"CURTIME" | b"CURDATE" | b"CURRENT_TIME"
            | b"CURRENT_DATE" | b"LOCALTIME" | b"LOCALTIMESTAMP" | b"UNIX_TIMESTAMP"
            | b"UTC_TIMESTAMP" | b"UTC_DATE" | b"UTC_TIME" => self.r.nondet = true,
            b"FOUND_ROWS" => {
                self.r.session_read = true;
                self.r.prev_dep = true;
                self.r.found_rows = true;
            }
            b"ROW_COUNT" => {
                self.r.session_read = true;
                self.r.prev_dep = true;
            }
            _ => {}
        }
    }

    /// A system variable read (`@@name` or `@@scope.name`).
    fn sysvar(&mut self, u: &[u8]) {
        match u {
            b"WARNING_COUNT" | b"ERROR_COUNT" => self.r.last = true,
            // Per-connection results of earlier writes, and whether the server takes
            // writes (an app that checks @@read_only must see the master's answer).
            // @@server_id / @@hostname are plain reads: they tell which server answered.
            b"IDENTITY" | b"LAST_INSERT_ID" | b"INSERT_ID" | b"LAST_GTID" => self.r.master_read(),
            b"READ_ONLY" | b"SUPER_READ_ONLY" | b"INNODB_READ_ONLY" => self.r.session_read = true,
            _ if u.starts_with(b"GTID_") => self.r.session_read = true,
            // Which server answers, or when: different on each backend.
            b"SERVER_ID" | b"HOSTNAME" | b"PORT" | b"SOCKET" | b"TIMESTAMP"
            | b"PSEUDO_THREAD_ID" | b"SERVER_UUID" => self.r.nondet = true,
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Per-statement classification
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Seg {
    route: Route,
    kind: Kind,
    record: bool,
    user_var_write: bool,
    temp: Option<TempTableOp>,
    parsed: bool,
    prev_dep: bool,
    found_rows: bool,
    /// Reads master-connection state (see `Reads::master_read`): no hint sends it elsewhere.
    master_read: bool,
    empty: bool,
    /// Changes data or server state, takes a lock, assigns a user variable, or is not
    /// understood: must run on the master whatever a hint or the previous statement says.
    writes: bool,
    read_only_start: bool,
    kill: Option<KillTarget>,
    use_db: Option<String>,
    conn_id: bool,
    master_only_state: bool,
    record_key: Option<u64>,
    reads_vars: bool,
    next_only: bool,
}

impl Seg {
    fn new(route: Route, kind: Kind) -> Self {
        Seg {
            route,
            kind,
            record: false,
            user_var_write: false,
            temp: None,
            parsed: false,
            prev_dep: false,
            found_rows: false,
            master_read: false,
            empty: false,
            writes: route == Route::Master,
            read_only_start: false,
            kill: None,
            use_db: None,
            conn_id: false,
            master_only_state: false,
            record_key: None,
            reads_vars: false,
            next_only: false,
        }
    }

    fn master(kind: Kind) -> Self {
        Seg::new(Route::Master, kind)
    }

    fn from_reads(kind: Kind, r: Reads) -> Self {
        let route = if r.master() {
            Route::Master
        } else if r.last {
            Route::Last
        } else {
            Route::Replica
        };
        let mut s = Seg::new(route, kind);
        s.user_var_write = r.user_assign;
        // FOUND_ROWS()/ROW_COUNT() beside LAST_INSERT_ID() and the like: the master answers.
        s.prev_dep = r.prev_dep && !r.master_read;
        s.found_rows = r.found_rows && !r.master_read;
        s.master_read = r.master_read;
        s.writes = r.writes();
        s.conn_id = r.conn_id;
        s
    }
}

/// Classify one statement; consumes at least its first token. The caller drains
/// the rest.
fn segment<'a>(st: &mut Stream<'a>) -> Seg {
    let mut t = st.next();
    let mut parens = 0u32;
    while t == Tok::Punct(b'(') {
        parens += 1;
        t = st.next();
    }
    let w = match t {
        Tok::Word(w) => w,
        Tok::Eof if parens == 0 => {
            let mut s = Seg::master(Kind::Other);
            s.empty = true;
            return s;
        }
        _ => return Seg::master(Kind::Other),
    };
    let mut buf = [0u8; KW_MAX];
    let u = upper(w, &mut buf);
    if parens > 0 {
        // `(SELECT ...) UNION (SELECT ...)`
        return match u {
            b"SELECT" => select(st, t),
            b"WITH" => with(st, t),
            b"VALUES" | b"TABLE" => read_on_master(),
            _ => Seg::master(Kind::Other),
        };
    }
    match u {
        b"SELECT" => select(st, t),
        b"WITH" => with(st, t),
        b"SHOW" => show(st),
        b"EXPLAIN" => explain(st, Kind::Explain),
        b"DESCRIBE" | b"DESC" => explain(st, Kind::Describe),
        b"SET" => set(st),
        b"USE" => {
            let mut s = Seg::new(Route::Current, Kind::Use);
            s.record = true;
            if let Some(name) = ident(st.next()) {
                if st.next() == Tok::Eof && !st.lex.broken {
                    s.use_db = Some(name);
                }
            }
            s
        }
        b"HELP" => Seg::new(Route::Replica, Kind::Other),
        b"BEGIN" => {
            if is_kw(st.peek(), b"NOT") {
                // MariaDB anonymous compound statement: BEGIN NOT ATOMIC ...; ... END
                st.compound = true;
                st.block = 1;
                Seg::master(Kind::Other)
            } else {
                Seg::master(Kind::Begin)
            }
        }
        b"START" => {
            if is_kw(st.next(), b"TRANSACTION") {
                start_transaction(st)
            } else {
                Seg::master(Kind::Other)
            }
        }
        b"COMMIT" => Seg::master(Kind::Commit),
        b"ROLLBACK" => {
            let mut kind = Kind::Rollback;
            loop {
                let t = st.next();
                if t == Tok::Eof {
                    break;
                }
                if is_kw(t, b"TO") {
                    kind = Kind::Savepoint;
                }
            }
            Seg::master(kind)
        }
        b"SAVEPOINT" | b"RELEASE" => Seg::master(Kind::Savepoint),
        b"XA" => Seg::master(Kind::Xa),
        b"INSERT" => Seg::master(Kind::Insert),
        b"UPDATE" => Seg::master(Kind::Update),
        b"DELETE" => Seg::master(Kind::Delete),
        b"REPLACE" => Seg::master(Kind::Replace),
        b"CREATE" => create(st),
        b"DROP" => drop_stmt(st),
        b"ALTER" => alter(st),
        b"RENAME" => rename(st),
        b"TRUNCATE" => Seg::master(Kind::Ddl),
        b"GRANT" | b"REVOKE" => Seg::master(Kind::Grant),
        b"LOAD" => Seg::master(Kind::Load),
        b"HANDLER" => Seg::master(Kind::Handler),
        b"CALL" => Seg::master(Kind::Call),
        b"DO" => Seg::master(Kind::Do),
        b"LOCK" => Seg::master(Kind::Lock),
        b"UNLOCK" => Seg::master(Kind::Unlock),
        b"FLUSH" => Seg::master(Kind::Flush),
        b"KILL" => {
            let mut s = Seg::master(Kind::Kill);
            s.kill = Some(kill(st));
            s
        }
        b"PREPARE" => Seg::master(Kind::Prepare),
        b"EXECUTE" => Seg::master(Kind::Execute),
        b"DEALLOCATE" => Seg::master(Kind::Deallocate),
        // MySQL 8 `TABLE t` / `VALUES ROW(...)`: reads, but routed to the master as specified.
        b"VALUES" | b"TABLE" => read_on_master(),
        b"GET" => {
            let t = st.next();
            if is_kw(t, b"DIAGNOSTICS") || is_kw(t, b"CURRENT") || is_kw(t, b"STACKED") {
                Seg::new(Route::Last, Kind::Other)
            } else {
                Seg::master(Kind::Other)
            }
        }
        _ => Seg::master(Kind::Other),
    }
}

/// `START TRANSACTION [characteristic [, ...]]`: READ ONLY / READ WRITE / WITH CONSISTENT
/// SNAPSHOT. Only a start that says READ ONLY (and not also READ WRITE) may run on a replica.
fn start_transaction(st: &mut Stream<'_>) -> Seg {
    let mut seg = Seg::master(Kind::Begin);
    let (mut ro, mut rw) = (false, false);
    let mut prev = Tok::Eof;
    loop {
        let t = st.next();
        if t == Tok::Eof {
            break;
        }
        if is_kw(prev, b"READ") {
            ro |= is_kw(t, b"ONLY");
            rw |= is_kw(t, b"WRITE");
        }
        prev = t;
    }
    seg.read_only_start = ro && !rw;
    seg.writes = !seg.read_only_start;
    seg
}

/// `KILL [HARD|SOFT] [CONNECTION|QUERY] n`; anything else (`KILL QUERY ID n`, `KILL USER u`,
/// trailing words) is [`KillTarget::Unsupported`].
fn kill(st: &mut Stream<'_>) -> KillTarget {
    let mut t = st.next();
    if is_kw(t, b"HARD") || is_kw(t, b"SOFT") {
        t = st.next();
    }
    let mut query = false;
    if is_kw(t, b"CONNECTION") {
        t = st.next();
    } else if is_kw(t, b"QUERY") {
        query = true;
        t = st.next();
    }
    let id = match t {
        Tok::Word(w) if w.iter().all(u8::is_ascii_digit) => std::str::from_utf8(w)
            .ok()
            .and_then(|s| s.parse::<u64>().ok()),
        _ => None,
    };
    match (id, st.next()) {
        (Some(id), Tok::Eof) if query => KillTarget::Query(id),
        (Some(id), Tok::Eof) => KillTarget::Connection(id),
        _ => KillTarget::Unsupported,
    }
}

/// `ALTER ...`: stored-program bodies are tracked (their `;` do not split), and `ALTER TABLE
/// a ... RENAME [TO | AS] b` reports a [`TempTableOp::Rename`] (a temporary table keeps being
/// one under its new name).
fn alter(st: &mut Stream<'_>) -> Seg {
    let mut seg = Seg::master(Kind::Ddl);
    let mut t = st.next();
    while is_kw(t, b"ONLINE") || is_kw(t, b"IGNORE") {
        t = st.next();
    }
    if !is_kw(t, b"TABLE") {
        for _ in 0..8 {
            if t == Tok::Eof {
                break;
            }
            if is_kw(t, b"EVENT") || is_kw(t, b"PROCEDURE") || is_kw(t, b"FUNCTION") {
                st.compound = true;
                break;
            }
            t = st.next();
        }
        return seg;
    }
    let mut t = st.next();
    if is_kw(t, b"IF") {
        st.next(); // EXISTS
        t = st.next();
    }
    let (Some(from), mut t) = qualified_name(st, t) else {
        return seg;
    };
    while t != Tok::Eof {
        if is_kw(t, b"RENAME") {
            let mut n = st.next();
            if is_kw(n, b"COLUMN") || is_kw(n, b"INDEX") || is_kw(n, b"KEY") {
                t = st.next();
                continue;
            }
            if is_kw(n, b"TO") || is_kw(n, b"AS") {
                n = st.next();
            }
            if let (Some(to), _) = qualified_name(st, n) {
                seg.temp = Some(TempTableOp::Rename(vec![(from, to)]));
            }
            return seg;
        }
        t = st.next();
    }
    seg
}

/// `RENAME TABLE a TO b [, c TO d]`: each pair as a [`TempTableOp::Rename`].
fn rename(st: &mut Stream<'_>) -> Seg {
    let mut seg = Seg::master(Kind::Ddl);
    let t = st.next();
    if !(is_kw(t, b"TABLE") || is_kw(t, b"TABLES")) {
        return seg;
    }
    let mut pairs = Vec::new();
    let mut t = st.next();
    loop {
        if is_kw(t, b"IF") {
            st.next(); // EXISTS
            t = st.next();
        }
        let (Some(from), to_kw) = qualified_name(st, t) else {
            break;
        };
        if !is_kw(to_kw, b"TO") {
            break;
        }
        let first = st.next();
        let (Some(to), after) = qualified_name(st, first) else {
            break;
        };
        pairs.push((from, to));
        if after != Tok::Punct(b',') {
            break;
        }
        t = st.next();
    }
    if !pairs.is_empty() {
        seg.temp = Some(TempTableOp::Rename(pairs));
    }
    seg
}

/// MySQL 8 `TABLE t` / `VALUES ROW(...)`: plain reads that go to the master.
fn read_on_master() -> Seg {
    let mut seg = Seg::master(Kind::Select);
    seg.writes = false;
    seg
}

fn select<'a>(st: &mut Stream<'a>, first: Tok<'a>) -> Seg {
    let mut sc = Scan::new(first);
    sc.run(st);
    Seg::from_reads(Kind::Select, sc.r)
}

/// `WITH ...`: the scan must find nothing that needs the master (a DML keyword in
/// the body included), and then `sqlparser` must agree that the statement is a
/// plain query; a parse failure means master.
fn with<'a>(st: &mut Stream<'a>, first: Tok<'a>) -> Seg {
    let mut sc = Scan::new(first);
    sc.run(st);
    let mut seg = Seg::from_reads(Kind::Select, sc.r);
    if seg.route != Route::Master {
        seg.parsed = true;
        if !sqlparser_says_plain_query(st.segment_text()) {
            seg.route = Route::Master;
            seg.writes = true;
        }
    }
    seg
}

fn sqlparser_says_plain_query(text: &[u8]) -> bool {
    use sqlparser::ast::{Query, SetExpr, Statement};
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn query_ok(q: &Query) -> bool {
        q.locks.is_empty()
            && q.with
                .as_ref()
                .is_none_or(|w| w.cte_tables.iter().all(|c| query_ok(&c.query)))
            && body_ok(&q.body)
    }
    fn body_ok(b: &SetExpr) -> bool {
        match b {
            SetExpr::Select(s) => s.into.is_none(),
            SetExpr::Query(q) => query_ok(q),
            SetExpr::SetOperation { left, right, .. } => body_ok(left) && body_ok(right),
            SetExpr::Values(_) | SetExpr::Table(_) => true,
            _ => false,
        }
    }

    let sql: Cow<'_, str> = String::from_utf8_lossy(text);
    // sqlparser is not expected to panic, but "never panic" is part of this
    // module's contract; a panic counts as "not a plain query".
    std::panic::catch_unwind(|| match Parser::parse_sql(&MySqlDialect {}, &sql) {
        Ok(stmts) => stmts.len() == 1 && matches!(&stmts[0], Statement::Query(q) if query_ok(q)),
        Err(_) => false,
    })
    .unwrap_or(false)
}

fn show(st: &mut Stream<'_>) -> Seg {
    let mut global = false;
    let mut t = st.next();
    while let Tok::Word(w) = t {
        let mut buf = [0u8; KW_MAX];
        match upper(w, &mut buf) {
            b"FULL" | b"EXTENDED" | b"SESSION" | b"LOCAL" => {}
            b"GLOBAL" => global = true,
            _ => break,
        }
        t = st.next();
    }
    let mut buf = [0u8; KW_MAX];
    let u: &[u8] = match t {
        Tok::Word(w) => upper(w, &mut buf),
        _ => &[],
    };
    let mut route = match u {
        b"WARNINGS" | b"ERRORS" => Route::Last,
        b"COUNT" => {
            let ok = st.next() == Tok::Punct(b'(')
                && st.next() == Tok::Punct(b'*')
                && st.next() == Tok::Punct(b')');
            t = st.next();
            if ok && (is_kw(t, b"WARNINGS") || is_kw(t, b"ERRORS")) {
                Route::Last
            } else {
                Route::Master
            }
        }
        // Metadata that is the same on every server.
        b"VARIABLES" | b"TABLES" | b"DATABASES" | b"SCHEMAS" | b"CREATE" | b"COLUMNS"
        | b"FIELDS" | b"INDEX" | b"INDEXES" | b"KEYS" | b"TABLE" | b"COLLATION" | b"CHARACTER"
        | b"CHARSET" | b"TRIGGERS" | b"EVENTS" | b"FUNCTION" | b"PROCEDURE" | b"PACKAGE"
        | b"GRANTS" | b"PRIVILEGES" | b"PLUGINS" | b"ENGINES" | b"STORAGE" | b"OPEN"
        | b"AUTHORS" | b"CONTRIBUTORS"
            if !global =>
        {
            Route::Replica
        }
        // STATUS (session counters), PROCESSLIST, MASTER/BINARY/BINLOG/SLAVE/REPLICA...,
        // PROFILE(S), ENGINE ..., anything GLOBAL, anything unknown.
        _ => Route::Master,
    };
    if route == Route::Replica && u == b"VARIABLES" {
        // Session variables are replayed on replicas, but a few are the connection's own
        // (LAST_INSERT_ID, warning counts, GTIDs): a listing that can show one of those is
        // answered by the master.
        t = st.next();
        let shows_own = if is_kw(t, b"LIKE") {
            t = st.next();
            match t {
                Tok::Str(pattern, _) => CONNECTION_VARIABLES
                    .iter()
                    .any(|name| like_matches(pattern, name.as_bytes())),
                _ => true,
            }
        } else {
            true // everything, or a WHERE the scan cannot judge
        };
        if shows_own {
            route = Route::Master;
        }
    }
    let mut sc = Scan::new(t);
    sc.run(st);
    if route == Route::Replica && sc.r.master() {
        route = Route::Master;
    }
    let mut seg = Seg::new(route, Kind::Show);
    seg.writes = sc.r.writes();
    seg
}

/// Session variables whose value belongs to the connection, not to what the session set.
const CONNECTION_VARIABLES: &[&str] = &[
    "identity",
    "insert_id",
    "last_insert_id",
    "last_gtid",
    "gtid_seq_no",
    "pseudo_thread_id",
    "warning_count",
    "error_count",
    "timestamp",
    "rand_seed1",
    "rand_seed2",
    "in_transaction",
];

/// SQL LIKE (`%`, `_`, `\` escapes), ASCII case-insensitive, of `name` against `pattern`.
fn like_matches(pattern: &[u8], name: &[u8]) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((b'_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((b'\\', rest)) if !rest.is_empty() => {
                !n.is_empty() && rest[0].eq_ignore_ascii_case(&n[0]) && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => !n.is_empty() && c.eq_ignore_ascii_case(&n[0]) && go(rest, &n[1..]),
        }
    }
    // Bounded: a long pattern or one with many wildcards is taken to match (the master
    // answers, which is only a read there).
    pattern.len() > 64 || pattern.iter().filter(|&&b| b == b'%').count() > 4 || go(pattern, name)
}

/// EXPLAIN / DESCRIBE / DESC: a table name or a read is a replica statement;
/// EXPLAIN of a write, EXPLAIN ANALYZE (it executes), EXPLAIN FOR CONNECTION and
/// EXPLAIN ... INTO @var go to the master.
fn explain(st: &mut Stream<'_>, kind: Kind) -> Seg {
    loop {
        let t = st.next();
        let mut buf = [0u8; KW_MAX];
        let u: &[u8] = match t {
            Tok::Word(w) => upper(w, &mut buf),
            Tok::QIdent(_) | Tok::Str(_, b'"') => {
                // DESCRIBE `t` [col]
                let mut sc = Scan::new(t);
                sc.run(st);
                let route = if sc.r.master() {
                    Route::Master
                } else {
                    Route::Replica
                };
                let mut seg = Seg::new(route, kind);
                seg.writes = sc.r.writes();
                return seg;
            }
            Tok::Punct(b'(') => b"(",
            _ => return Seg::master(kind),
        };
        match u {
            b"EXTENDED" | b"PARTITIONS" => {}
            b"FORMAT" => {
                // FORMAT = JSON | TREE | TRADITIONAL
                let mut t = st.next();
                if t == Tok::Punct(b'=') {
                    t = st.next();
                }
                if !matches!(t, Tok::Word(_) | Tok::Str(..)) {
                    return Seg::master(kind);
                }
            }
            b"ANALYZE" | b"FOR" | b"INTO" | b"INSERT" | b"UPDATE" | b"DELETE" | b"REPLACE" => {
                return Seg::master(kind)
            }
            _ => {
                // SELECT / WITH / TABLE / VALUES / `(`, or a table name. The scan
                // is cheap insurance: old servers executed derived tables while
                // explaining.
                let mut sc = Scan::new(t);
                sc.run(st);
                let route = if sc.r.master() {
                    Route::Master
                } else {
                    Route::Replica
                };
                let mut seg = Seg::new(route, kind);
                seg.writes = sc.r.writes();
                return seg;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// No modifier, or SESSION / LOCAL / @@session. / @@local.
    Session,
    /// GLOBAL / PERSIST / PERSIST_ONLY / @@global. / @@persist.
    Global,
    /// `@@name` without a scope: session, except for the transaction
    /// characteristics, where it means "next transaction only".
    AtAtBare,
}

/// SET is decided entirely by the scan (sqlparser cannot parse `SET @a := 1`).
///
/// * `SET GLOBAL|PERSIST ...`, `@@global.x` anywhere in the target list, `SET
///   TRANSACTION ...` without SESSION (next transaction only), `SET @@tx_isolation`
///   and friends (next transaction only in MySQL), variables that only affect the
///   next statement (`insert_id`, `last_insert_id`, `rand_seed1/2`,
///   `gtid_seq_no`), `SET PASSWORD|ROLE|DEFAULT ROLE|STATEMENT ... FOR|RESOURCE
///   GROUP`: Master, not recorded.
/// * A value with side effects (`SET @l = GET_LOCK(...)`, `NEXTVAL`, `... FOR
///   UPDATE`) or one that reads state only the master has right (`SET @id =
///   LAST_INSERT_ID()`, `@@global.x`): Master, not recorded. Replaying would take
///   the lock again, or compute a different value on each backend; instead the
///   variable lives on the master (`user_var_write && !record` tells the caller so).
/// * `autocommit` in any form: Master, recorded.
/// * Everything else (NAMES, CHARACTER SET, session variables, SESSION
///   TRANSACTION, user variables): Current, recorded.
fn set(st: &mut Stream<'_>) -> Seg {
    let mut global = false;
    let mut next_only = false;
    let mut special = false;
    let mut autocommit = false;
    let mut user = false;
    let mut bad = false;
    let mut reads = Reads::default();
    // A session (not user) variable or the character set is assigned.
    let mut session_var = false;
    let mut items = 0u32;
    let mut key: Option<u64> = None;

    let mut scope = Scope::Session;
    let mut scope_given = false;
    let mut first = true;
    let mut t = st.next();
    'items: loop {
        // Scope modifier; it also applies to later items that have none.
        if let Tok::Word(w) = t {
            let mut buf = [0u8; KW_MAX];
            match upper(w, &mut buf) {
                b"GLOBAL" | b"PERSIST" | b"PERSIST_ONLY" => {
                    scope = Scope::Global;
                    scope_given = true;
                    t = st.next();
                }
                b"SESSION" | b"LOCAL" => {
                    scope = Scope::Session;
                    scope_given = true;
                    t = st.next();
                }
                _ => {}
            }
        }
        if first {
            if let Tok::Word(w) = t {
                let mut buf = [0u8; KW_MAX];
                match upper(w, &mut buf) {
                    b"TRANSACTION" => {
                        match (scope_given, scope) {
                            (false, _) => next_only = true,
                            (true, Scope::Global) => global = true,
                            (true, _) => {}
                        }
                        break 'items;
                    }
                    b"PASSWORD" | b"ROLE" | b"DEFAULT" | b"STATEMENT" | b"RESOURCE" => {
                        special = true;
                        break 'items;
                    }
                    _ => {}
                }
            }
        }
        first = false;

        let mut item_scope = scope;
        let mut name: &[u8] = &[];
        let mut value_only = false; // NAMES / CHARACTER SET: no `=`
        let mut user_name: Option<&[u8]> = None;
        items += 1;
        match t {
            Tok::Word(w)
                if w.eq_ignore_ascii_case(b"NAMES") || w.eq_ignore_ascii_case(b"CHARSET") =>
            {
                value_only = true;
            }
            Tok::Word(w) if w.eq_ignore_ascii_case(b"CHARACTER") => {
                if !is_kw(st.next(), b"SET") {
                    bad = true;
                    break 'items;
                }
                value_only = true;
            }
            Tok::At => {
                user = true;
                match st.next() {
                    Tok::Word(w) | Tok::QIdent(w) | Tok::Str(w, _) => user_name = Some(w),
                    _ => {
                        bad = true;
                        break 'items;
                    }
                }
            }
            Tok::AtAt => {
                let Tok::Word(w1) = st.next() else {
                    bad = true;
                    break 'items;
                };
                if st.peek() == Tok::Punct(b'.') {
                    let mut buf = [0u8; KW_MAX];
                    item_scope = match upper(w1, &mut buf) {
                        b"GLOBAL" | b"PERSIST" | b"PERSIST_ONLY" => Scope::Global,
                        b"SESSION" | b"LOCAL" => Scope::Session,
                        _ => Scope::AtAtBare, // a structured name such as keycache.x
                    };
                    st.next();
                    let Tok::Word(w2) = st.next() else {
                        bad = true;
                        break 'items;
                    };
                    name = w2;
                } else {
                    item_scope = Scope::AtAtBare;
                    name = w1;
                }
            }
            Tok::Word(w) if !w[0].is_ascii_digit() => name = w,
            Tok::QIdent(w) if !w.is_empty() => name = w,
            _ => {
                bad = true;
                break 'items;
            }
        }
        if !name.is_empty() {
            // `component.variable` names (validate_password.length, keycache.x).
            while st.peek() == Tok::Punct(b'.') {
                st.next();
                match st.next() {
                    Tok::Word(w) | Tok::QIdent(w) => name = w,
                    _ => {
                        bad = true;
                        break 'items;
                    }
                }
            }
            let mut buf = [0u8; KW_MAX];
            let n = upper(name, &mut buf);
            if item_scope == Scope::Global {
                global = true;
            }
            match n {
                b"AUTOCOMMIT" => autocommit = true,
                b"TRANSACTION_ISOLATION"
                | b"TX_ISOLATION"
                | b"TRANSACTION_READ_ONLY"
                | b"TX_READ_ONLY"
                    if item_scope == Scope::AtAtBare =>
                {
                    next_only = true
                }
                b"INSERT_ID" | b"LAST_INSERT_ID" | b"RAND_SEED1" | b"RAND_SEED2"
                | b"GTID_SEQ_NO" => next_only = true,
                _ => {}
            }
        }
        if !value_only && name.is_empty() && t != Tok::At {
            bad = true;
            break 'items;
        }
        session_var |= t != Tok::At;
        key = if value_only {
            Some(setting_key(b"", b"names"))
        } else if let Some(u) = user_name {
            Some(setting_key(b"@", u))
        } else {
            Some(setting_key(b"", name))
        };
        if !value_only {
            let eq = st.next();
            if eq != Tok::Punct(b'=') && eq != Tok::ColonEq {
                bad = true;
                break 'items;
            }
        }
        // The value: up to a `,` outside parentheses.
        let mut sc = Scan::new(Tok::Punct(b'='));
        sc.set_value = true;
        let mut depth = 0u32;
        let mut any = false;
        loop {
            let v = st.next();
            match v {
                Tok::Eof => {
                    sc.feed(v);
                    if !any {
                        bad = true;
                    }
                    let r = sc.r;
                    merge_reads(&mut reads, r);
                    break 'items;
                }
                Tok::Punct(b',') if depth == 0 => {
                    sc.feed(Tok::Eof);
                    if !any {
                        bad = true;
                    }
                    let r = sc.r;
                    merge_reads(&mut reads, r);
                    break;
                }
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') => depth = depth.saturating_sub(1),
                _ => {}
            }
            any = true;
            sc.feed(v);
        }
        t = st.next();
    }

    let mut seg = Seg::master(Kind::Set);
    seg.user_var_write = user || reads.user_assign;
    seg.conn_id = reads.conn_id;
    seg.next_only = next_only && !bad;
    let unreplayable = reads.side_effect || reads.session_read || reads.nondet;
    if bad || special || global || next_only || unreplayable {
        seg.record = false;
        // The session's own settings took a value only the master can reproduce.
        seg.master_only_state = !bad && !special && !global && !next_only && session_var;
    } else if autocommit {
        seg.record = true;
    } else {
        seg.route = Route::Current;
        seg.record = true;
    }
    if seg.record {
        seg.record_key = if items == 1 { key } else { None };
        seg.reads_vars = reads.var_read;
    }
    seg.writes = seg.route == Route::Master;
    seg
}

/// Identifies a setting for [`Classification::record_key`]: case-insensitive name, `@` for a
/// user variable. FNV-1a, no allocation.
fn setting_key(prefix: &[u8], name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in prefix.iter().chain(name) {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn merge_reads(acc: &mut Reads, r: Reads) {
    acc.side_effect |= r.side_effect;
    acc.session_read |= r.session_read;
    acc.last |= r.last;
    acc.user_assign |= r.user_assign;
    acc.prev_dep |= r.prev_dep;
    acc.found_rows |= r.found_rows;
    acc.master_read |= r.master_read;
    acc.nondet |= r.nondet;
    acc.var_read |= r.var_read;
    acc.conn_id |= r.conn_id;
}

/// The unquoted text of an identifier token (bare, backtick or ANSI `"..."`).
fn ident(t: Tok<'_>) -> Option<String> {
    match t {
        Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
        Tok::QIdent(raw) => Some(unquote(raw, b'`')),
        Tok::Str(raw, b'"') => Some(unquote(raw, b'"')),
        _ => None,
    }
}

fn unquote(raw: &[u8], q: u8) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        out.push(raw[i]);
        i += if raw[i] == q && raw.get(i + 1) == Some(&q) {
            2
        } else {
            1
        };
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `[db.]name`: returns the last component and the token after the name.
fn qualified_name<'a>(st: &mut Stream<'a>, first: Tok<'a>) -> (Option<String>, Tok<'a>) {
    let mut name = ident(first);
    let mut t = st.next();
    while name.is_some() && t == Tok::Punct(b'.') {
        name = ident(st.next());
        t = st.next();
    }
    (name, t)
}

fn create(st: &mut Stream<'_>) -> Seg {
    let mut seg = Seg::master(Kind::Ddl);
    let mut temporary = false;
    for _ in 0..12 {
        let t = st.next();
        let Tok::Word(w) = t else {
            if matches!(t, Tok::Eof | Tok::Punct(b'(')) {
                break;
            }
            continue;
        };
        let mut buf = [0u8; KW_MAX];
        match upper(w, &mut buf) {
            b"TEMPORARY" => temporary = true,
            b"TABLE" => {
                if temporary {
                    let mut t = st.next();
                    if is_kw(t, b"IF") {
                        st.next(); // NOT
                        st.next(); // EXISTS
                        t = st.next();
                    }
                    if let (Some(name), _) = qualified_name(st, t) {
                        seg.temp = Some(TempTableOp::Create(name));
                    }
                }
                break;
            }
            b"PROCEDURE" | b"FUNCTION" | b"TRIGGER" | b"EVENT" | b"PACKAGE" => {
                st.compound = true;
                break;
            }
            _ => {}
        }
    }
    seg
}

fn drop_stmt(st: &mut Stream<'_>) -> Seg {
    let mut t = st.next();
    if is_kw(t, b"PREPARE") {
        return Seg::master(Kind::Deallocate);
    }
    let mut seg = Seg::master(Kind::Ddl);
    if is_kw(t, b"TEMPORARY") {
        t = st.next();
    }
    if !(is_kw(t, b"TABLE") || is_kw(t, b"TABLES")) {
        return seg;
    }
    t = st.next();
    if is_kw(t, b"IF") {
        st.next(); // EXISTS
        t = st.next();
    }
    let mut names = Vec::new();
    loop {
        let (name, after) = qualified_name(st, t);
        match name {
            Some(n) => names.push(n),
            None => break,
        }
        if after != Tok::Punct(b',') {
            break;
        }
        t = st.next();
    }
    if !names.is_empty() {
        seg.temp = Some(TempTableOp::Drop(names));
    }
    seg
}

// ---------------------------------------------------------------------------
// Whole input
// ---------------------------------------------------------------------------

struct Run {
    c: Classification,
    /// No statement at all (only whitespace, comments and `;`).
    all_empty: bool,
    broken: bool,
    /// The unterminated construct is in the first statement, so the server
    /// rejects the first statement and executes nothing.
    broken_in_first: bool,
    saw_bs_quote: bool,
    saw_cond_exec: bool,
    /// Some statement writes (see `Seg::writes`).
    writes: bool,
    /// Some statement reads master-connection state (see `Seg::master_read`).
    master_read: bool,
}

fn run(sql: &[u8], mode: Mode, names: &[String]) -> Run {
    let mut st = Stream::with_names(sql, mode, names);
    let mut c = Classification {
        route: Route::Master,
        kind: Kind::Other,
        hint: None,
        multi: false,
        record: false,
        user_var_write: false,
        temp_ops: Vec::new(),
        parsed: false,
        depends_on_previous: false,
        reads_found_rows: false,
        writes: false,
        kinds: KindSet::default(),
        read_only_start: false,
        kill: None,
        use_db: None,
        user_var_read: false,
        mentions_named: false,
        connection_id: false,
        master_only_state: false,
        record_key: None,
        reads_vars: false,
        digest: 0,
        next_statement_only: false,
    };
    let mut all_empty = true;
    let mut all_replica = true;
    let mut all_current = true;
    let mut all_last = true;
    let mut all_record = true;
    let mut writes = false;
    let mut master_read = false;
    let mut n = 0usize;
    loop {
        if n > 0 {
            st.start_next();
        }
        let seg = segment(&mut st);
        st.drain();
        let trailing = n > 0 && seg.empty && !st.ended_by_semicolon;
        if !trailing {
            if n == 0 {
                c.kind = seg.kind;
                c.read_only_start = seg.read_only_start;
                c.use_db = seg.use_db;
                c.record_key = seg.record_key;
                c.kill = seg.kill;
            } else {
                c.multi = true;
                c.read_only_start = false;
                c.use_db = None;
                c.record_key = None;
                if c.kill.is_some() || seg.kill.is_some() {
                    c.kill = Some(KillTarget::Unsupported);
                }
            }
            c.kinds.insert(seg.kind);
            c.connection_id |= seg.conn_id;
            c.master_only_state |= seg.master_only_state;
            c.next_statement_only |= seg.next_only;
            c.reads_vars |= seg.reads_vars;
            all_empty &= seg.empty;
            all_replica &= seg.route == Route::Replica;
            all_current &= seg.route == Route::Current;
            all_last &= seg.route == Route::Last;
            all_record &= seg.record;
            writes |= seg.writes;
            master_read |= seg.master_read;
            c.user_var_write |= seg.user_var_write;
            c.parsed |= seg.parsed;
            c.depends_on_previous |= seg.prev_dep;
            c.reads_found_rows |= seg.found_rows;
            if let Some(op) = seg.temp {
                c.temp_ops.push(op);
            }
        }
        n += 1;
        if !st.ended_by_semicolon {
            break;
        }
    }
    c.route = if all_empty {
        Route::Master
    } else if all_replica {
        Route::Replica
    } else if all_current {
        Route::Current
    } else if all_last {
        Route::Last
    } else {
        Route::Master
    };
    c.record = all_record && !all_empty;
    if c.multi && c.kinds.contains(Kind::Begin) {
        // Only a `START TRANSACTION READ ONLY` alone may be read as a non-write; in a
        // multi-statement a transaction start belongs on the master with the rest.
        writes = true;
    }
    c.writes = writes;
    c.user_var_read = st.user_var;
    c.mentions_named = st.mentions;
    c.digest = st.digest;
    let broken = st.lex.broken;
    Run {
        c,
        all_empty,
        broken,
        broken_in_first: st.broken_at == Some(0),
        saw_bs_quote: st.lex.saw_bs_quote,
        saw_cond_exec: st.lex.saw_cond_exec,
        writes,
        master_read,
    }
}

/// Classify one COM_QUERY payload. Never panics, whatever the bytes.
///
/// Cost: one pass over the bytes, no allocation, for everything except
/// `CREATE TEMPORARY TABLE` / `DROP TABLE` (the names are returned), `WITH ...`
/// (sqlparser), and statements whose meaning depends on `NO_BACKSLASH_ESCAPES`
/// or on a version-conditional executable comment (scanned once per reading).
pub fn classify(sql: &[u8]) -> Classification {
    analyze(sql, &[])
}

/// [`classify`], also reporting whether the statement mentions any of `names` (the session's
/// temporary tables) in [`Classification::mentions_named`]. This is the one pass over a
/// statement's text: nothing else in the proxy reads SQL.
pub fn analyze(sql: &[u8], names: &[String]) -> Classification {
    let r = run(sql, DEFAULT_MODE, names);
    let mut c = r.c;
    c.hint = leading_hint(sql);
    let mut writes = r.writes || r.broken;
    if r.broken {
        c.route = Route::Master;
        c.record = false;
    }
    // Nothing to lose if it already goes to the master without replay (except
    // flags: a broken statement may be a multi-statement in another reading), unless
    // a hint or the previous statement could still send it elsewhere.
    let nothing_to_lose = c.route == Route::Master
        && !c.record
        && !r.broken
        && c.hint != Some(Hint::Replica)
        && !c.depends_on_previous;
    if !nothing_to_lose && (r.saw_bs_quote || r.saw_cond_exec) {
        let mut alternatives = [None; 3];
        if r.saw_bs_quote {
            alternatives[0] = Some(Mode {
                backslash: false,
                cond_exec: true,
            });
        }
        if r.saw_cond_exec {
            alternatives[1] = Some(Mode {
                backslash: true,
                cond_exec: false,
            });
        }
        if r.saw_bs_quote && r.saw_cond_exec {
            alternatives[2] = Some(Mode {
                backslash: false,
                cond_exec: false,
            });
        }
        for mode in alternatives.into_iter().flatten() {
            let a = run(sql, mode, names);
            // Under that reading the server would execute nothing.
            if a.all_empty || a.broken_in_first {
                continue;
            }
            writes |= a.writes || a.broken;
            c.mentions_named |= a.c.mentions_named;
            c.user_var_read |= a.c.user_var_read;
            if r.broken
                || a.broken
                || a.c.route != c.route
                || a.c.record != c.record
                || a.c.multi != c.multi
            {
                c.route = Route::Master;
                c.record = false;
                c.multi |= a.c.multi;
                c.user_var_write |= a.c.user_var_write;
                c.parsed |= a.c.parsed;
                c.depends_on_previous |= a.c.depends_on_previous;
                c.reads_found_rows |= a.c.reads_found_rows;
            }
        }
    }
    if r.master_read && c.hint == Some(Hint::Replica) {
        // LAST_INSERT_ID(), @@identity, lock state: a replica would answer wrong.
        c.hint = None;
    }
    if writes {
        // Whatever a hint says or where the previous statement ran, a write runs on the
        // master.
        if c.hint == Some(Hint::Replica) {
            c.hint = None;
        }
        c.depends_on_previous = false;
        c.reads_found_rows = false;
    }
    c.writes = writes;
    if r.broken || r.saw_cond_exec || r.saw_bs_quote {
        // Where the name ends, or which KILL form it is, depends on the server's reading.
        c.use_db = None;
        if c.kill.is_some() {
            c.kill = Some(KillTarget::Unsupported);
        }
    }
    c
}

/// All temporary-table operations in `sql`, in order (useful for multi-statements,
/// where [`Classification::temp_table`] holds only the first).
pub fn temp_table_ops(sql: &[u8]) -> Vec<TempTableOp> {
    classify(sql).temp_ops
}

/// A hint in a comment before the first keyword: `/* rwsplit:master */`,
/// `/*rwsplit : replica*/`, `-- rwsplit:master`, `# rwsplit:replica`
/// (case-insensitive, whitespace allowed around the words and the colon). Leading
/// `(` are skipped; an executable comment ends the search. The first hint wins.
fn leading_hint(s: &[u8]) -> Option<Hint> {
    let mut i = 0;
    loop {
        while i < s.len() && (is_space(s[i]) || s[i] == b'(') {
            i += 1;
        }
        let rest = &s[i..];
        let (body, next) = if rest.starts_with(b"/*") {
            if rest.get(2) == Some(&b'!') || rest.starts_with(b"/*M!") {
                return None;
            }
            let end = find_close(&rest[2..])?;
            (&rest[2..2 + end], i + 2 + end + 2)
        } else if rest.first() == Some(&b'#')
            || (rest.starts_with(b"--") && rest.get(2).is_none_or(|&b| b <= b' '))
        {
            let start = if rest[0] == b'#' { 1 } else { 2 };
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            (&rest[start..end], i + end)
        } else {
            return None;
        };
        if let Some(h) = hint_text(body) {
            return Some(h);
        }
        i = next;
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_space(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_space(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn hint_text(body: &[u8]) -> Option<Hint> {
    let b = trim(body);
    if b.len() < 7 || !b[..7].eq_ignore_ascii_case(b"rwsplit") {
        return None;
    }
    let b = trim(&b[7..]);
    let b = trim(b.strip_prefix(b":")?);
    if b.eq_ignore_ascii_case(b"master") {
        Some(Hint::Master)
    } else if b.eq_ignore_ascii_case(b"replica") {
        Some(Hint::Replica)
    } else {
        None
    }
}

/// For `USE db`, USE `db` (doubled backticks unescaped) or `USE "db"` (ANSI_QUOTES):
/// the database name. `None` for anything else, including `USE a b`. A trailing
/// `;` (and more statements after it) is allowed. Non-UTF-8 bytes in the name are
/// replaced with U+FFFD.
pub fn use_database(sql: &[u8]) -> Option<String> {
    classify(sql).use_db
}

/// True if any identifier token in `sql` — bare, `backtick` or "double-quoted"
/// (ANSI_QUOTES), alone or as part of a qualified name `db.t` — equals one of
/// `names`, ignoring ASCII case. Keywords and words inside executable comments
/// count too, strings in single quotes do not. Used to send statements that
/// mention a session's temporary tables to the master; matching too much only
/// costs a needless trip to the master.
pub fn mentions_any(sql: &[u8], names: &[String]) -> bool {
    !names.is_empty() && analyze(sql, names).mentions_named
}

/// `raw` with doubled `q` collapsed equals `name`, ignoring ASCII case.
fn eq_unquoted_ic(raw: &[u8], q: u8, name: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use Kind as K;
    use Route::{Current as C, Last as L, Master as M, Replica as R};

    fn cl(sql: &str) -> Classification {
        classify(sql.as_bytes())
    }

    #[track_caller]
    fn check(sql: &str, route: Route, kind: Kind) {
        let c = cl(sql);
        assert_eq!((c.route, c.kind), (route, kind), "{sql:?} -> {c:?}");
    }

    #[track_caller]
    fn routes(cases: &[(&str, Route)]) {
        for &(sql, route) in cases {
            let c = cl(sql);
            assert_eq!(c.route, route, "{sql:?} -> {c:?}");
        }
    }

    /// (sql, route, kind, record, user_var_write)
    #[track_caller]
    fn set_case(sql: &str, route: Route, record: bool, uvw: bool) {
        let c = cl(sql);
        assert_eq!(
            (c.route, c.kind, c.record, c.user_var_write),
            (route, K::Set, record, uvw),
            "{sql:?} -> {c:?}"
        );
        assert!(!c.multi, "{sql:?}");
    }

    // -----------------------------------------------------------------------
    // A corpus of realistic statements: (sql, route, kind).
    // -----------------------------------------------------------------------
    const CORPUS: &[(&str, Route, Kind)] = &[
        // sysbench oltp_*
        ("SELECT c FROM sbtest1 WHERE id=5023", R, K::Select),
        ("SELECT c FROM sbtest3 WHERE id BETWEEN 5023 AND 5122", R, K::Select),
        ("SELECT SUM(k) FROM sbtest2 WHERE id BETWEEN 4988 AND 5087", R, K::Select),
        ("SELECT c FROM sbtest1 WHERE id BETWEEN 4988 AND 5087 ORDER BY c", R, K::Select),
        ("SELECT DISTINCT c FROM sbtest4 WHERE id BETWEEN 4988 AND 5087 ORDER BY c", R, K::Select),
        ("UPDATE sbtest1 SET k=k+1 WHERE id=5023", M, K::Update),
        ("UPDATE sbtest2 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-41576422241-93426793964-56405065102-33518432330' WHERE id=4991", M, K::Update),
        ("DELETE FROM sbtest3 WHERE id=5010", M, K::Delete),
        ("INSERT INTO sbtest3 (id, k, c, pad) VALUES (5010, 4994, '67847967377-48000963322-62604785301-91415491898-96926520291-74012051430-31411217808-39815917806-56906920025-61542537399', '22195207048-70116052123-74140395089-76317954521-98694025897')", M, K::Insert),
        ("BEGIN", M, K::Begin),
        ("COMMIT", M, K::Commit),
        ("CREATE TABLE sbtest1(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n) /*! ENGINE = innodb */", M, K::Ddl),
        ("CREATE INDEX k_1 ON sbtest1(k)", M, K::Ddl),
        // WordPress
        ("SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'", R, K::Select),
        ("SELECT option_value FROM wp_options WHERE option_name = 'siteurl' LIMIT 1", R, K::Select),
        ("SELECT SQL_CALC_FOUND_ROWS  wp_posts.ID FROM wp_posts  WHERE 1=1  AND ((wp_posts.post_type = 'post' AND (wp_posts.post_status = 'publish' OR wp_posts.post_status = 'private')))  ORDER BY wp_posts.post_date DESC LIMIT 0, 10", R, K::Select),
        ("SELECT FOUND_ROWS()", M, K::Select),
        ("SET NAMES utf8mb4", C, K::Set),
        ("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_520_ci'", C, K::Set),
        ("SELECT @@SESSION.sql_mode", R, K::Select),
        ("SET SESSION sql_mode = 'NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'", C, K::Set),
        ("SELECT t.*, tt.* FROM wp_terms AS t  INNER JOIN wp_term_taxonomy AS tt ON t.term_id = tt.term_id WHERE tt.taxonomy IN ('category') AND t.term_id IN ( 1 ) ORDER BY t.name ASC", R, K::Select),
        ("SELECT wp_posts.* FROM wp_posts WHERE ID IN (12,15,21)", R, K::Select),
        ("SELECT post_id, meta_key, meta_value FROM wp_postmeta WHERE post_id IN (12,15,21) ORDER BY meta_id ASC", R, K::Select),
        ("SELECT COUNT(*) FROM wp_comments WHERE comment_approved = '1' AND comment_post_ID = 12", R, K::Select),
        ("SELECT post_title FROM wp_posts WHERE post_title = 'Don\\'t update me' LIMIT 1", R, K::Select),
        ("UPDATE `wp_options` SET `option_value` = '1700000000.1234560012817382812500' WHERE `option_name` = '_transient_doing_cron'", M, K::Update),
        ("INSERT INTO `wp_options` (`option_name`, `option_value`, `autoload`) VALUES ('_transient_timeout_feed', '1700043200', 'no') ON DUPLICATE KEY UPDATE `option_name` = VALUES(`option_name`), `option_value` = VALUES(`option_value`), `autoload` = VALUES(`autoload`)", M, K::Insert),
        ("DELETE FROM `wp_options` WHERE `option_name` = '_transient_feed_123'", M, K::Delete),
        ("SHOW FULL COLUMNS FROM `wp_options`", R, K::Show),
        ("SHOW TABLES LIKE 'wp\\_options'", R, K::Show),
        // Drupal (prefixed, and Drupal 9+ ANSI-quoted)
        ("SELECT cid, data, created, expire, serialized, tags, checksum FROM cache_bootstrap WHERE cid IN ('system.theme_engine_files')", R, K::Select),
        ("SELECT \"cid\", \"data\", \"created\" FROM \"cache_config\" WHERE \"cid\" IN ('core.extension')", R, K::Select),
        ("SELECT 1 AS expression FROM semaphore semaphore WHERE ( (name = 'cron') AND (value = '1234567.89') ) FOR UPDATE", M, K::Select),
        ("SELECT 1 AS \"expression\" FROM \"semaphore\" \"semaphore\" WHERE ((\"name\" = 'cron')) FOR UPDATE", M, K::Select),
        ("INSERT INTO cache_data (cid, expire, created, tags, checksum, data, serialized) VALUES ('route:/node/1', -1, 1700000000.123, 'route', '12', 'a:0:{}', 1) ON DUPLICATE KEY UPDATE cid = VALUES(cid), expire = VALUES(expire), data = VALUES(data)", M, K::Insert),
        ("SELECT GET_LOCK('drupal_cron', 30)", M, K::Select),
        ("SELECT RELEASE_LOCK('drupal_cron')", M, K::Select),
        ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", C, K::Set),
        ("SET sql_mode = 'ANSI,TRADITIONAL'", C, K::Set),
        ("SELECT s.sid, s.uid, s.session FROM sessions s WHERE s.sid = 'G8hJ2k'", R, K::Select),
        ("SELECT name, value FROM key_value WHERE name IN ('system.cron_last') AND collection = 'state'", R, K::Select),
        ("UPDATE users_field_data SET access = 1700000000 WHERE uid = 1", M, K::Update),
        ("DELETE FROM cachetags WHERE tag IN ('node_list')", M, K::Delete),
        // mysql CLI and connectors
        ("select @@version_comment limit 1", R, K::Select),
        ("SELECT DATABASE()", R, K::Select),
        ("show databases", R, K::Show),
        ("show warnings", L, K::Show),
        ("/* mysql-connector-java-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@max_allowed_packet AS max_allowed_packet, @@sql_mode AS sql_mode, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout", R, K::Select),
        ("SET character_set_results = NULL", C, K::Set),
        ("SET autocommit=1", M, K::Set),
        ("SELECT @@session.transaction_read_only", R, K::Select),
        // mysqldump output
        ("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", C, K::Set),
        ("/*!40101 SET NAMES utf8mb4 */", C, K::Set),
        ("/*!50503 SET NAMES utf8mb4 */", C, K::Set),
        ("/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */", C, K::Set),
        ("/*!40103 SET TIME_ZONE='+00:00' */", C, K::Set),
        ("/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */", C, K::Set),
        ("/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */", C, K::Set),
        ("/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */", C, K::Set),
        ("DROP TABLE IF EXISTS `t1`", M, K::Ddl),
        ("/*!40101 SET @saved_cs_client     = @@character_set_client */", C, K::Set),
        ("CREATE TABLE `t1` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `update` varchar(10) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci", M, K::Ddl),
        ("LOCK TABLES `t1` WRITE", M, K::Lock),
        ("/*!40000 ALTER TABLE `t1` DISABLE KEYS */", M, K::Ddl),
        ("INSERT INTO `t1` VALUES (1,'a'),(2,'b\\'c'),(3,'select')", M, K::Insert),
        ("UNLOCK TABLES", M, K::Unlock),
        ("SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN", C, K::Set),
        ("SET @@SESSION.SQL_LOG_BIN= 0", C, K::Set),
        ("SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'", M, K::Set),
        ("/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v1` AS select 1 AS `1` */", M, K::Ddl),
        ("/*!50003 CREATE*/ /*!50020 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t1 FOR EACH ROW BEGIN SET NEW.`update` = 'x'; END */", M, K::Ddl),
        // Others
        ("CALL refresh_stats(1)", M, K::Call),
        ("EXPLAIN SELECT * FROM wp_posts WHERE ID = 1", R, K::Explain),
        ("DESCRIBE wp_posts", R, K::Describe),
        ("SHOW CREATE TABLE `wp_posts`", R, K::Show),
        ("SHOW SESSION STATUS LIKE 'Handler%'", M, K::Show),
        ("SELECT LAST_INSERT_ID()", M, K::Select),
        ("USE wordpress", C, K::Use),
        ("START TRANSACTION", M, K::Begin),
        ("ROLLBACK", M, K::Rollback),
        ("REPLACE INTO t (id, v) VALUES (1, 'x')", M, K::Replace),
        ("TRUNCATE TABLE t", M, K::Ddl),
        ("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t FIELDS TERMINATED BY ','", M, K::Load),
        ("WITH recent AS (SELECT id FROM wp_posts ORDER BY post_date DESC LIMIT 10) SELECT p.* FROM wp_posts p JOIN recent r ON r.id = p.ID", R, K::Select),
    ];

    #[test]
    fn corpus() {
        for &(sql, route, kind) in CORPUS {
            check(sql, route, kind);
        }
    }

    // -----------------------------------------------------------------------
    // SELECT
    // -----------------------------------------------------------------------

    #[test]
    fn select_plain_reads_go_to_replica() {
        routes(&[
            ("SELECT 1", R),
            ("select * from t", R),
            ("  \n\tSeLeCt a FROM t WHERE id = ?", R),
            (
                "SELECT * FROM t WHERE update_time > NOW() - INTERVAL 1 DAY",
                R,
            ),
            ("SELECT updated, for_real, into_x, share FROM t", R),
            ("SELECT 'FOR UPDATE' FROM t", R),
            (
                "SELECT \"FOR UPDATE\", 'LOCK IN SHARE MODE', 'INTO @x', ':=' FROM t",
                R,
            ),
            (
                "SELECT `update`, `delete`, `insert` FROM `update` WHERE `for` = 1",
                R,
            ),
            ("SELECT t.update, t.delete FROM t", R),
            ("SELECT `a``b` FROM t", R),
            ("SELECT * FROM t WHERE c = 'it''s ; DELETE FROM t'", R),
            ("SELECT found_rows, last_insert_id FROM stats", R),
            ("SELECT SLEEP(1)", R),
            ("SELECT REPLACE(name, 'a', 'b') FROM t", R),
            ("SELECT INSERT('abcdef', 2, 3, 'x')", R),
            ("SELECT replace (name, 'a', 'b') FROM t", R),
            (
                "SELECT x'DEADBEEF', _utf8mb4'x' COLLATE utf8mb4_bin, N'y', b'0101'",
                R,
            ),
            ("SELECT @x, @`y`, @'z'", R),
            (
                "SELECT @@version, @@version_comment, @@max_allowed_packet, @@session.tx_isolation",
                R,
            ),
            ("SELECT a FROM t WHERE b = @x AND c = @@sql_mode", R),
            (
                "SELECT SQL_NO_CACHE HIGH_PRIORITY STRAIGHT_JOIN a FROM t",
                R,
            ),
            (
                "SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'",
                R,
            ),
            (
                "SELECT MATCH(a) AGAINST('for update' IN BOOLEAN MODE) FROM t",
                R,
            ),
            ("SELECT 1--1", R),
            ("SELECT 1 -- ; DELETE FROM t", R),
            ("SELECT 1 # ; DELETE FROM t", R),
            ("SELECT 1 /* ; DELETE FROM t */", R),
            ("SELECT 1 /* FOR UPDATE */", R),
            ("SELECT share FROM t WHERE lock = 1", R),
            ("SELECT next_value, value FROM t", R),
        ]);
    }

    #[test]
    fn select_locking_and_side_effects_go_to_master() {
        routes(&[
            ("SELECT * FROM t WHERE id = 1 FOR UPDATE", M),
            ("select * from t where id = 1 for update nowait", M),
            ("SELECT * FROM t WHERE id = 1 FOR UPDATE SKIP LOCKED", M),
            ("SELECT * FROM t FOR SHARE", M),
            ("SELECT * FROM t LOCK IN SHARE MODE", M),
            ("SELECT * FROM t lock\n in\n\tshare mode", M),
            ("SELECT * FROM t FOR\n/* c */UPDATE", M),
            (
                "SELECT 1 FROM dual WHERE EXISTS (SELECT 1 FROM t FOR UPDATE)",
                M,
            ),
            ("SELECT a INTO @x FROM t LIMIT 1", M),
            ("SELECT a FROM t INTO OUTFILE '/tmp/a.txt'", M),
            ("SELECT a FROM t INTO DUMPFILE '/tmp/a.bin'", M),
            ("SELECT a, b INTO v_a, v_b FROM t", M),
            ("SELECT @x := 1", M),
            (
                "SELECT @rownum:=@rownum+1 AS n, t.* FROM t, (SELECT @rownum:=0) r",
                M,
            ),
            ("SELECT GET_LOCK('x', 10)", M),
            ("select get_lock ('x', 10)", M),
            ("SELECT RELEASE_LOCK('x')", M),
            ("SELECT RELEASE_ALL_LOCKS()", M),
            ("SELECT IS_FREE_LOCK('x')", M),
            ("SELECT IS_USED_LOCK('x')", M),
            ("SELECT LAST_INSERT_ID()", M),
            ("SELECT * FROM t WHERE id = last_insert_id()", M),
            ("SELECT FOUND_ROWS()", M),
            ("SELECT ROW_COUNT()", M),
            ("SELECT NEXTVAL(seq1)", M),
            ("SELECT LASTVAL(seq1)", M),
            ("SELECT SETVAL(seq1, 100)", M),
            ("SELECT NEXT VALUE FOR seq1", M),
            ("SELECT PREVIOUS VALUE FOR seq1", M),
            ("SELECT seq1.nextval FROM dual", M),
            ("SELECT MASTER_POS_WAIT('mysql-bin.000001', 4)", M),
            ("SELECT MASTER_GTID_WAIT('0-1-100', 1)", M),
            ("SELECT WAIT_FOR_EXECUTED_GTID_SET('uuid:1-5', 1)", M),
            ("SELECT CONNECTION_ID()", M),
            ("SELECT @@identity", M),
            ("SELECT @@last_insert_id", M),
            ("SELECT @@last_gtid", M),
            ("SELECT @@global.sql_mode", M),
            ("SELECT @@GLOBAL.read_only", M),
            ("SELECT @@read_only, @@innodb_read_only", M),
            ("SELECT @@hostname", R),
            ("SELECT @@server_id", R),
            ("SELECT @@gtid_current_pos", M),
            ("SELECT * FROM (SELECT GET_LOCK('x', 1)) d", M),
            ("SELECT 1 UNION SELECT GET_LOCK('x', 1)", M),
            // Garbage that contains a DML keyword is not a read.
            ("SELECT 1 FROM t UPDATE t SET a = 1", M),
            ("SELECT * FROM t DELETE", M),
            ("SELECT 1 INSERT INTO t VALUES (1)", M),
        ]);
        assert!(cl("SELECT a INTO @x FROM t").user_var_write);
        assert!(cl("SELECT @x := 1").user_var_write);
        assert!(!cl("SELECT a FROM t INTO OUTFILE '/tmp/a'").user_var_write);
        assert!(!cl("SELECT GET_LOCK('x', 1)").user_var_write);
    }

    #[test]
    fn found_rows_and_row_count_depend_on_previous() {
        let c = cl("SELECT FOUND_ROWS()");
        assert_eq!(c.route, M);
        assert!(c.depends_on_previous);
        assert!(cl("select row_count()").depends_on_previous);
        assert!(!cl("SELECT LAST_INSERT_ID()").depends_on_previous);
        assert!(!cl("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10").depends_on_previous);
    }

    #[test]
    fn warning_count_goes_to_last() {
        routes(&[
            ("SELECT @@warning_count", L),
            ("SELECT @@error_count", L),
            ("select @@WARNING_COUNT, @@Error_Count", L),
            ("SELECT @@session.warning_count", L),
            // A master marker wins.
            ("SELECT @@warning_count, LAST_INSERT_ID()", M),
        ]);
    }

    #[test]
    fn parenthesised_selects() {
        routes(&[
            ("(SELECT a FROM t1) UNION (SELECT a FROM t2)", R),
            ("((SELECT 1))", R),
            (
                "( SELECT a FROM t1 ORDER BY a LIMIT 1) UNION ALL (SELECT b FROM t2)",
                R,
            ),
            ("(SELECT a FROM t1 FOR UPDATE)", M),
            ("(SELECT a FROM t1) UNION (SELECT GET_LOCK('x', 1))", M),
            ("(INSERT INTO t VALUES (1))", M),
            ("(", M),
            (")SELECT 1", M),
            ("(VALUES ROW(1))", M),
        ]);
        check("(SELECT 1)", R, K::Select);
    }

    // -----------------------------------------------------------------------
    // WITH
    // -----------------------------------------------------------------------

    #[test]
    fn with_queries() {
        let c = cl("WITH cte AS (SELECT id FROM t) SELECT * FROM cte");
        assert_eq!((c.route, c.kind, c.parsed), (R, K::Select, true), "{c:?}");
        let c = cl("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r");
        assert_eq!((c.route, c.parsed), (R, true), "{c:?}");
        let c = cl("with a as (select 1 as x), b as (select 2 as y) select * from a, b");
        assert_eq!((c.route, c.parsed), (R, true), "{c:?}");
        let c = cl("WITH c AS (SELECT 1 AS a) SELECT REPLACE(a, '1', '2') FROM c");
        assert_eq!(c.route, R, "{c:?}");
        let c = cl("/* rwsplit:replica */ WITH c AS (SELECT 1) SELECT * FROM c;");
        assert_eq!(
            (c.route, c.hint, c.multi),
            (R, Some(Hint::Replica), false),
            "{c:?}"
        );

        routes(&[
            ("WITH c AS (SELECT 1) UPDATE t JOIN c SET t.a = 1", M),
            (
                "WITH c AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM c)",
                M,
            ),
            ("WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c", M),
            ("WITH c AS (SELECT 1) REPLACE INTO t SELECT * FROM c", M),
            ("WITH c AS (SELECT id FROM t) SELECT * FROM c FOR UPDATE", M),
            (
                "WITH c AS (SELECT id FROM t LOCK IN SHARE MODE) SELECT * FROM c",
                M,
            ),
            ("WITH c AS (SELECT GET_LOCK('a', 1)) SELECT * FROM c", M),
            ("WITH c AS (SELECT 1) SELECT * INTO @x FROM c", M),
            ("WITH c AS (SELECT @a := 1) SELECT * FROM c", M),
            ("WITH garbage", M),
            ("WITH", M),
            ("WITH c AS (SELECT 1) SELECT * FROM c; DELETE FROM t", M),
        ]);
        // sqlparser's failure (MariaDB-only syntax) means master, and it was consulted.
        let c = cl("WITH c AS (SELECT 1) SELECT * FROM c PROCEDURE ANALYSE()");
        assert_eq!((c.route, c.parsed), (M, true), "{c:?}");
        // Master decided by the scan: no need to parse.
        assert!(!cl("WITH c AS (SELECT 1) DELETE FROM t").parsed);
        assert!(!cl("SELECT 1").parsed);
    }

    #[test]
    fn with_deeply_nested_does_not_overflow() {
        let deep = format!(
            "WITH c AS ({}SELECT 1{}) SELECT * FROM c",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert_eq!(cl(&deep).route, M);
        let deep = format!("{}SELECT 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(cl(&deep).route, R);
    }

    // -----------------------------------------------------------------------
    // SHOW / DESCRIBE / EXPLAIN / HELP
    // -----------------------------------------------------------------------

    #[test]
    fn show() {
        let cases: &[(&str, Route)] = &[
            ("SHOW WARNINGS", L),
            ("show warnings limit 10", L),
            ("SHOW ERRORS", L),
            ("SHOW COUNT(*) WARNINGS", L),
            ("show count ( * ) errors", L),
            ("SHOW COUNT(*) FOO", M),
            ("SHOW PROCESSLIST", M),
            ("SHOW FULL PROCESSLIST", M),
            ("SHOW MASTER STATUS", M),
            ("SHOW MASTER LOGS", M),
            ("SHOW BINARY LOGS", M),
            ("SHOW BINLOG EVENTS IN 'mysql-bin.000001'", M),
            ("SHOW SLAVE STATUS", M),
            ("SHOW REPLICA STATUS", M),
            ("SHOW ALL SLAVES STATUS", M),
            ("SHOW SLAVE HOSTS", M),
            ("SHOW REPLICAS", M),
            ("SHOW STATUS", M),
            ("SHOW STATUS LIKE 'Threads%'", M),
            ("SHOW SESSION STATUS", M),
            ("SHOW LOCAL STATUS", M),
            ("SHOW GLOBAL STATUS", M),
            ("SHOW GLOBAL VARIABLES LIKE 'read_only'", M),
            ("SHOW PROFILE", M),
            ("SHOW PROFILES", M),
            ("SHOW ENGINE INNODB STATUS", M),
            ("SHOW ENGINE INNODB MUTEX", M),
            ("SHOW SOMETHING_NEW", M),
            ("SHOW", M),
            ("SHOW VARIABLES", M), // lists last_insert_id and the like: the connection's own
            ("SHOW VARIABLES LIKE 'max_allowed_packet'", R),
            ("SHOW SESSION VARIABLES", M),
            ("SHOW TABLES", R),
            ("SHOW FULL TABLES FROM db LIKE 'wp_%'", R),
            ("SHOW DATABASES", R),
            ("SHOW SCHEMAS", R),
            ("SHOW CREATE TABLE t", R),
            ("SHOW CREATE VIEW v", R),
            ("SHOW CREATE DATABASE d", R),
            ("SHOW COLUMNS FROM t", R),
            ("SHOW FULL COLUMNS FROM t FROM db", R),
            ("SHOW FIELDS FROM t", R),
            ("SHOW INDEX FROM t", R),
            ("SHOW INDEXES FROM t", R),
            ("SHOW KEYS FROM t", R),
            ("SHOW EXTENDED INDEX FROM t", R),
            ("SHOW TABLE STATUS", R),
            ("SHOW TABLE STATUS LIKE 'wp_posts'", R),
            ("SHOW COLLATION", R),
            ("SHOW CHARACTER SET", R),
            ("SHOW CHARSET", R),
            ("SHOW TRIGGERS", R),
            ("SHOW EVENTS", R),
            ("SHOW FUNCTION STATUS", R),
            ("SHOW PROCEDURE STATUS WHERE Db = 'x'", R),
            ("SHOW GRANTS", R),
            ("SHOW GRANTS FOR CURRENT_USER()", R),
            ("SHOW PRIVILEGES", R),
            ("SHOW PLUGINS", R),
            ("SHOW ENGINES", R),
            ("SHOW STORAGE ENGINES", R),
            ("SHOW OPEN TABLES", R),
            // A master marker in the filter expression still counts.
            ("SHOW TABLES WHERE GET_LOCK('x', 1)", M),
        ];
        for &(sql, route) in cases {
            check(sql, route, K::Show);
        }
    }

    #[test]
    fn describe_explain_help() {
        check("DESCRIBE t", R, K::Describe);
        check("DESC t", R, K::Describe);
        check("desc `update`", R, K::Describe);
        check("DESCRIBE db.t col", R, K::Describe);
        check("DESCRIBE SELECT * FROM t", R, K::Describe);
        check("DESC UPDATE t SET a = 1", M, K::Describe);
        check("DESCRIBE", M, K::Describe);
        check("EXPLAIN t", R, K::Explain);
        check("EXPLAIN SELECT * FROM t", R, K::Explain);
        check("EXPLAIN EXTENDED SELECT * FROM t", R, K::Explain);
        check("EXPLAIN PARTITIONS SELECT * FROM t", R, K::Explain);
        check("EXPLAIN FORMAT=JSON SELECT * FROM t", R, K::Explain);
        check("explain format = tree select 1", R, K::Explain);
        check("EXPLAIN FORMAT='JSON' SELECT 1", R, K::Explain);
        check(
            "EXPLAIN WITH c AS (SELECT 1) SELECT * FROM c",
            R,
            K::Explain,
        );
        check("EXPLAIN (SELECT 1) UNION (SELECT 2)", R, K::Explain);
        check("EXPLAIN TABLE t", R, K::Explain);
        check("EXPLAIN INSERT INTO t VALUES (1)", M, K::Explain);
        check("EXPLAIN UPDATE t SET a = 1", M, K::Explain);
        check("EXPLAIN DELETE FROM t", M, K::Explain);
        check("EXPLAIN REPLACE INTO t VALUES (1)", M, K::Explain);
        check("EXPLAIN ANALYZE SELECT * FROM t", M, K::Explain);
        check("EXPLAIN FORMAT=JSON ANALYZE SELECT 1", M, K::Explain);
        check("EXPLAIN FOR CONNECTION 12", M, K::Explain);
        check("EXPLAIN FORMAT=JSON INTO @plan SELECT 1", M, K::Explain);
        check("EXPLAIN WITH c AS (SELECT 1) DELETE FROM t", M, K::Explain);
        check(
            "EXPLAIN SELECT * FROM (SELECT GET_LOCK('x', 1)) d",
            M,
            K::Explain,
        );
        check("EXPLAIN", M, K::Explain);
        check("EXPLAIN FORMAT=", M, K::Explain);
        check("ANALYZE SELECT * FROM t", M, K::Other);
        check("ANALYZE TABLE t", M, K::Other);
        check("HELP 'contents'", R, K::Other);
    }

    // -----------------------------------------------------------------------
    // SET
    // -----------------------------------------------------------------------

    #[test]
    fn set_session_state_is_current_and_recorded() {
        for sql in [
            "SET NAMES utf8mb4",
            "set names 'utf8' collate 'utf8_general_ci'",
            "SET NAMES DEFAULT",
            "SET CHARACTER SET utf8",
            "SET CHARSET 'utf8'",
            "SET sql_mode = ''",
            "SET SESSION sql_mode = 'ANSI'",
            "SET LOCAL sql_mode = 'ANSI'",
            "SET @@session.sql_mode = 'ANSI'",
            "SET @@local.sql_mode = 'ANSI'",
            "SET @@sql_mode = 'ANSI'",
            "SET sql_mode := 'ANSI'",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET LOCAL TRANSACTION READ ONLY",
            "SET @@session.transaction_isolation = 'READ-COMMITTED'",
            "SET transaction_isolation = 'READ-COMMITTED'",
            "SET SESSION tx_isolation = 'READ-COMMITTED'",
            "SET foreign_key_checks = 0, unique_checks = 0",
            "SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
            "SET timestamp = 1700000000",
            "SET time_zone = '+00:00'",
            "SET NAMES utf8mb4, sql_mode = ''",
            "SET max_statement_time = DEFAULT",
            "SET `sql_mode` = ''",
        ] {
            set_case(sql, C, true, false);
        }
    }

    #[test]
    fn set_user_variables() {
        for sql in [
            "SET @x = 1",
            "SET @x := 1",
            "set @X:=1",
            "SET @`x y` = 1",
            "SET @'x' = 1",
            "SET @\"x\" = 1",
            "SET @a = 1, @b = 'two'",
            "SET @a = 1, sql_mode = ''",
            "SET @update = 'FOR UPDATE'",
        ] {
            set_case(sql, C, true, true);
        }
        // Side effects: not replayable.
        set_case("SET @l = GET_LOCK('x', 1)", M, false, true);
        // A subquery's answer depends on how far the backend has replicated: kept on the
        // master rather than replayed.
        set_case("SET @a = (SELECT MAX(id) FROM t)", M, false, true);
        set_case("SET @n = NEXTVAL(s)", M, false, true);
        set_case("SET @n = NEXT VALUE FOR s", M, false, true);
        set_case(
            "SET @a = (SELECT a FROM t WHERE id = 1 FOR UPDATE)",
            M,
            false,
            true,
        );
        // Master-only values: run there, and the variable lives there.
        set_case("SET @id = LAST_INSERT_ID()", M, false, true);
        set_case("SET @n = FOUND_ROWS()", M, false, true);
        set_case("SET @g = @@global.gtid_binlog_pos", M, false, true);
        set_case("SET sql_mode = @@global.sql_mode", M, false, false);
        // Nested assignment inside a subquery: kept on the master, and the session with it.
        set_case("SET sql_mode = (SELECT @m := 'ANSI')", M, false, true);
        assert!(cl("SET sql_mode = (SELECT @m := 'ANSI')").master_only_state);
    }

    #[test]
    fn set_autocommit_is_master_and_recorded() {
        for sql in [
            "SET autocommit=0",
            "SET autocommit = 1",
            "set AUTOCOMMIT := 0",
            "SET @@autocommit = 1",
            "SET @@session.autocommit = 0",
            "SET SESSION autocommit = 0",
            "SET LOCAL autocommit = ON",
            "SET autocommit=1, sql_mode = ''",
            "SET NAMES utf8, autocommit = 0",
            "SET sql_mode = '', @@autocommit = 0",
            "/*!40101 SET autocommit=0 */",
        ] {
            set_case(sql, M, true, false);
        }
        set_case("SET @a = 1, autocommit = 0", M, true, true);
    }

    #[test]
    fn set_global_transaction_and_special_forms_are_master_not_recorded() {
        for sql in [
            "SET GLOBAL max_connections = 1000",
            "SET @@global.max_connections = 1000",
            "SET @@GLOBAL.sql_mode = ''",
            "SET PERSIST max_connections = 1000",
            "SET PERSIST_ONLY max_connections = 1000",
            "SET @@persist.max_connections = 1000",
            "SET GLOBAL autocommit = 0",
            "SET GLOBAL a = 1, b = 2",
            "SET GLOBAL a = 1, SESSION b = 2",
            "SET SESSION a = 1, GLOBAL b = 2",
            "SET sql_mode = '', @@global.x = 1",
            "SET GLOBAL validate_password.length = 8",
            "SET @@global.keycache1.key_buffer_size = 1048576",
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "set transaction read only",
            "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SET @@transaction_isolation = 'READ-COMMITTED'",
            "SET @@tx_isolation = 'READ-COMMITTED'",
            "SET @@transaction_read_only = 1",
            "SET insert_id = 5",
            "SET LAST_INSERT_ID = 5",
            "SET rand_seed1 = 1, rand_seed2 = 2",
            "SET PASSWORD = 'secret'",
            "SET PASSWORD FOR 'u'@'%' = PASSWORD('secret')",
            "SET ROLE ALL",
            "SET ROLE NONE",
            "SET DEFAULT ROLE r1 TO u1",
            "SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t",
            "SET RESOURCE GROUP rg1",
            // garbage
            "SET",
            "SET x",
            "SET = 1",
            "SET x = ",
            "SET x = 1,",
            "SET @",
            "SET @@",
            "SET @@global.",
            "SET CHARACTER utf8",
            "SET 1 = 2",
        ] {
            set_case(
                sql,
                M,
                false,
                sql.contains("SET @") && !sql.starts_with("SET @@"),
            );
        }
        set_case("SET @a = 1, GLOBAL x = 2", M, false, true);
    }

    // -----------------------------------------------------------------------
    // USE
    // -----------------------------------------------------------------------

    #[test]
    fn use_statement() {
        let c = cl("USE wordpress");
        assert_eq!((c.route, c.kind, c.record), (C, K::Use, true));
        let c = cl("use `my db`;");
        assert_eq!(
            (c.route, c.kind, c.record, c.multi),
            (C, K::Use, true, false)
        );
    }

    #[test]
    fn use_database_names() {
        let u = |s: &str| use_database(s.as_bytes());
        assert_eq!(u("USE db").as_deref(), Some("db"));
        assert_eq!(u("use DB_1").as_deref(), Some("DB_1"));
        assert_eq!(u("USE `db`").as_deref(), Some("db"));
        assert_eq!(u("USE `my``db`").as_deref(), Some("my`db"));
        assert_eq!(u("USE `with space`").as_deref(), Some("with space"));
        assert_eq!(u("USE \"ansi\"").as_deref(), Some("ansi"));
        assert_eq!(u("USE \"an\"\"si\"").as_deref(), Some("an\"si"));
        assert_eq!(u("USE db;").as_deref(), Some("db"));
        assert_eq!(u("USE db ; ").as_deref(), Some("db"));
        assert_eq!(u(" /* c */ USE db -- x").as_deref(), Some("db"));
        assert_eq!(u("/*!40101 USE db */").as_deref(), Some("db"));
        assert_eq!(u("USE caf\u{e9}").as_deref(), Some("caf\u{e9}"));
        assert_eq!(
            use_database(b"USE `caf\xe9`").as_deref(),
            Some("caf\u{fffd}")
        );
        assert_eq!(u("USE"), None);
        assert_eq!(u("USE a b"), None);
        assert_eq!(u("USE a.b"), None);
        assert_eq!(u("USE 'db'"), None);
        assert_eq!(u("USE `db"), None);
        assert_eq!(u("SELECT 1"), None);
        assert_eq!(u("USEdb"), None);
        assert_eq!(u(""), None);
    }

    // -----------------------------------------------------------------------
    // Transactions and the rest
    // -----------------------------------------------------------------------

    #[test]
    fn transaction_control() {
        let cases: &[(&str, Kind)] = &[
            ("BEGIN", K::Begin),
            ("begin work", K::Begin),
            ("BEGIN;", K::Begin),
            ("START TRANSACTION", K::Begin),
            ("START TRANSACTION READ ONLY", K::Begin),
            (
                "start transaction with consistent snapshot, read write",
                K::Begin,
            ),
            ("COMMIT", K::Commit),
            ("COMMIT WORK AND CHAIN", K::Commit),
            ("ROLLBACK", K::Rollback),
            ("ROLLBACK WORK AND NO CHAIN", K::Rollback),
            ("ROLLBACK TO SAVEPOINT sp1", K::Savepoint),
            ("rollback work to sp1", K::Savepoint),
            ("SAVEPOINT sp1", K::Savepoint),
            ("RELEASE SAVEPOINT sp1", K::Savepoint),
            ("XA START 'x'", K::Xa),
            ("XA END 'x'", K::Xa),
            ("XA PREPARE 'x'", K::Xa),
            ("XA COMMIT 'x'", K::Xa),
            ("XA RECOVER", K::Xa),
            ("BEGIN NOT ATOMIC SELECT 1; END", K::Other),
        ];
        for &(sql, kind) in cases {
            check(sql, M, kind);
            assert!(!cl(sql).record);
        }
    }

    #[test]
    fn writes_and_admin_statements() {
        let cases: &[(&str, Kind)] = &[
            ("INSERT INTO t VALUES (1)", K::Insert),
            ("insert ignore into t select * from u", K::Insert),
            ("INSERT INTO t (a) SELECT a FROM u WHERE b = 1", K::Insert),
            ("UPDATE t SET a = 1", K::Update),
            ("UPDATE LOW_PRIORITY t SET a = 1", K::Update),
            ("DELETE FROM t", K::Delete),
            ("DELETE t1 FROM t1 JOIN t2 USING (id)", K::Delete),
            ("REPLACE INTO t VALUES (1)", K::Replace),
            ("CREATE TABLE t (a INT)", K::Ddl),
            ("CREATE DATABASE d", K::Ddl),
            ("CREATE USER 'u'@'%' IDENTIFIED BY 'p'", K::Ddl),
            ("ALTER TABLE t ADD COLUMN b INT", K::Ddl),
            ("DROP TABLE t", K::Ddl),
            ("DROP DATABASE d", K::Ddl),
            ("DROP INDEX i ON t", K::Ddl),
            ("TRUNCATE t", K::Ddl),
            ("RENAME TABLE a TO b", K::Ddl),
            ("GRANT SELECT ON *.* TO 'u'@'%'", K::Grant),
            ("REVOKE ALL ON *.* FROM 'u'@'%'", K::Grant),
            ("LOAD DATA INFILE 'x' INTO TABLE t", K::Load),
            ("LOAD XML LOCAL INFILE 'x' INTO TABLE t", K::Load),
            ("HANDLER t OPEN", K::Handler),
            ("HANDLER t READ FIRST", K::Handler),
            ("CALL p()", K::Call),
            ("DO SLEEP(1)", K::Do),
            ("DO GET_LOCK('x', 1)", K::Do),
            ("LOCK TABLES t READ", K::Lock),
            ("LOCK TABLE t WRITE", K::Lock),
            ("UNLOCK TABLES", K::Unlock),
            ("FLUSH TABLES", K::Flush),
            ("FLUSH PRIVILEGES", K::Flush),
            ("KILL 12", K::Kill),
            ("KILL QUERY 12", K::Kill),
            ("PREPARE s FROM 'SELECT 1'", K::Prepare),
            ("EXECUTE s USING @a", K::Execute),
            ("DEALLOCATE PREPARE s", K::Deallocate),
            ("DROP PREPARE s", K::Deallocate),
            ("OPTIMIZE TABLE t", K::Other),
            ("REPAIR TABLE t", K::Other),
            ("CHECK TABLE t", K::Other),
            ("CHECKSUM TABLE t", K::Other),
            ("INSTALL PLUGIN p SONAME 'p.so'", K::Other),
            ("UNINSTALL PLUGIN p", K::Other),
            ("RESET MASTER", K::Other),
            ("PURGE BINARY LOGS TO 'mysql-bin.000010'", K::Other),
            ("CHANGE MASTER TO MASTER_HOST='127.0.0.1'", K::Other),
            ("STOP SLAVE", K::Other),
            ("START SLAVE", K::Other),
            ("START REPLICA", K::Other),
            ("BINLOG 'AAAA'", K::Other),
            ("CACHE INDEX t IN hot_cache", K::Other),
            ("SHUTDOWN", K::Other),
            ("VALUES ROW(1, 2)", K::Select),
            ("TABLE t", K::Select),
            ("SIGNAL SQLSTATE '45000'", K::Other),
            ("FOO BAR", K::Other),
            ("12345", K::Other),
            ("GET", K::Other),
        ];
        for &(sql, kind) in cases {
            check(sql, M, kind);
            let c = cl(sql);
            assert!(!c.record && !c.multi, "{sql:?} -> {c:?}");
        }
        check("GET DIAGNOSTICS @n = NUMBER", L, K::Other);
        check(
            "GET CURRENT DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT",
            L,
            K::Other,
        );
    }

    #[test]
    fn kind_labels_are_lowercase_and_unique() {
        let all = [
            K::Select,
            K::Insert,
            K::Update,
            K::Delete,
            K::Replace,
            K::Set,
            K::Use,
            K::Begin,
            K::Commit,
            K::Rollback,
            K::Savepoint,
            K::Ddl,
            K::Show,
            K::Describe,
            K::Explain,
            K::Call,
            K::Prepare,
            K::Execute,
            K::Deallocate,
            K::Lock,
            K::Unlock,
            K::Kill,
            K::Load,
            K::Handler,
            K::Xa,
            K::Do,
            K::Flush,
            K::Grant,
            K::Other,
        ];
        let mut seen = std::collections::HashSet::new();
        for k in all {
            let s = k.as_str();
            assert_eq!(s, s.to_ascii_lowercase());
            assert_eq!(format!("{k:?}").to_ascii_lowercase(), s);
            assert!(seen.insert(s));
        }
    }

    // -----------------------------------------------------------------------
    // Multi-statements
    // -----------------------------------------------------------------------

    #[test]
    fn multi_statements() {
        let m = |sql: &str, route: Route, multi: bool| {
            let c = cl(sql);
            assert_eq!((c.route, c.multi), (route, multi), "{sql:?} -> {c:?}");
            c
        };
        m("SELECT 1; SELECT 2", R, true);
        m("SELECT 1;SELECT 2;", R, true);
        m("SELECT 1; UPDATE t SET a = 1", M, true);
        m("SELECT 1; SELECT 2; DELETE FROM t", M, true);
        m("SELECT 1; SELECT GET_LOCK('x', 1)", M, true);
        let c = m("UPDATE t SET a = 1; SELECT 1", M, true);
        assert_eq!(c.kind, K::Update);
        m("SELECT 1;", R, false);
        m("SELECT 1 ;  \n", R, false);
        m("SELECT 1; -- done\n", R, false);
        m("SELECT 1; # done", R, false);
        m("SELECT 1; /* done */ ", R, false);
        m("SELECT 1;;", M, true);
        m("SELECT 1; ; SELECT 2", M, true);
        m("; SELECT 1", M, true);
        m(";", M, false);
        m("SELECT 1 --1; DELETE FROM t", M, true);
        m("SELECT '\\''; DELETE FROM t", M, true);
        m("SELECT (1; DELETE FROM t)", M, true);
        m("SHOW WARNINGS; SHOW ERRORS", L, true);
        m("SELECT 1; SHOW WARNINGS", M, true);
        m("USE db; SELECT 1", M, true);

        let c = m("SET NAMES utf8; SET autocommit = 1", M, true);
        assert!(c.record);
        let c = m("SET NAMES utf8; SET @a = 1", C, true);
        assert!(c.record && c.user_var_write);
        let c = m("SET NAMES utf8; SELECT 1", M, true);
        assert!(!c.record);
        let c = m("SELECT 1; SELECT @x := 2", M, true);
        assert!(c.user_var_write);
    }

    #[test]
    fn stored_program_bodies_are_one_statement() {
        let one = |sql: &str| {
            let c = cl(sql);
            assert_eq!((c.route, c.multi), (M, false), "{sql:?} -> {c:?}");
        };
        one("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END");
        one("CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN x INT)\nBEGIN\n  IF x > 0 THEN\n    UPDATE t SET a = x;\n  END IF;\n  WHILE x > 0 DO SET x = x - 1; END WHILE;\n  lbl: LOOP LEAVE lbl; END LOOP lbl;\nEND");
        one("CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN CASE WHEN NEW.a > 1 THEN SET NEW.b = 1; ELSE SET NEW.b = CASE NEW.a WHEN 0 THEN 2 ELSE 3 END; END CASE; END");
        one("CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN DECLARE x INT; SET x = 1; RETURN x; END;");
        one("CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN DELETE FROM t; DELETE FROM u; END");
        one("ALTER EVENT e DO BEGIN DELETE FROM t; DELETE FROM u; END");
        one("BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; SELECT x; END");
        let c = cl("CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; END; SELECT 1");
        assert_eq!((c.route, c.multi), (M, true));
        let c = cl("CREATE PROCEDURE p() SELECT 1; SELECT 2");
        assert_eq!((c.route, c.multi), (M, true));
        // A table definition is not a stored program.
        let c = cl("CREATE TABLE t (a INT); SET NAMES utf8");
        assert_eq!((c.route, c.multi), (M, true));
    }

    // -----------------------------------------------------------------------
    // Hints
    // -----------------------------------------------------------------------

    #[test]
    fn hints() {
        let h = |sql: &str| cl(sql).hint;
        assert_eq!(h("/* rwsplit:master */ SELECT 1"), Some(Hint::Master));
        assert_eq!(h("/*rwsplit:replica*/SELECT 1"), Some(Hint::Replica));
        assert_eq!(h("/*  RWSPLIT : Replica  */ SELECT 1"), Some(Hint::Replica));
        assert_eq!(h("/*\n rwsplit:\tmaster\n*/\nSELECT 1"), Some(Hint::Master));
        assert_eq!(h("-- rwsplit:master\nSELECT 1"), Some(Hint::Master));
        assert_eq!(h("--\trwsplit:replica\r\nSELECT 1"), Some(Hint::Replica));
        assert_eq!(h("# rwsplit:replica\nSELECT 1"), Some(Hint::Replica));
        assert_eq!(h("#rwsplit:master\nSELECT 1"), Some(Hint::Master));
        assert_eq!(
            h("/* app=x */ /* rwsplit:master */ SELECT 1"),
            Some(Hint::Master)
        );
        assert_eq!(
            h("/* rwsplit:replica */ /* rwsplit:master */ SELECT 1"),
            Some(Hint::Replica)
        );
        assert_eq!(h("( /* rwsplit:replica */ SELECT 1)"), Some(Hint::Replica));
        assert_eq!(
            h("/* rwsplit:master */ UPDATE t SET a = 1"),
            Some(Hint::Master)
        );
        assert_eq!(
            h("/* rwsplit:master */ SELECT 1; SELECT 2"),
            Some(Hint::Master)
        );
        // Not hints.
        assert_eq!(h("SELECT /* rwsplit:master */ 1"), None);
        assert_eq!(h("SELECT 1 -- rwsplit:master"), None);
        assert_eq!(h("SELECT 1; /* rwsplit:master */ SELECT 2"), None);
        assert_eq!(h("/* rwsplit:primary */ SELECT 1"), None);
        assert_eq!(h("/* rwsplit:master please */ SELECT 1"), None);
        assert_eq!(h("/* rwsplit master */ SELECT 1"), None);
        assert_eq!(h("/*! rwsplit:master */ SELECT 1"), None);
        assert_eq!(h("--rwsplit:master\nSELECT 1"), None);
        assert_eq!(h("/* rwsplit:master"), None);
        assert_eq!(h(""), None);
        // The hint does not change the route.
        assert_eq!(cl("/* rwsplit:replica */ DELETE FROM t").route, M);
        assert_eq!(cl("/* rwsplit:master */ SELECT 1").route, R);
        // `--x` is not a comment: the statement starts with punctuation.
        assert_eq!(cl("--rwsplit:master\nSELECT 1").route, M);
    }

    // -----------------------------------------------------------------------
    // Executable comments
    // -----------------------------------------------------------------------

    #[test]
    fn writes_ignore_replica_hints_and_the_previous_statement() {
        // A replica hint is dropped for anything that writes, locks or assigns.
        for sql in [
            "/* rwsplit:replica */ SELECT * FROM t FOR UPDATE",
            "/* rwsplit:replica */ SELECT * FROM t LOCK IN SHARE MODE",
            "/* rwsplit:replica */ SELECT a INTO @x FROM t",
            "/* rwsplit:replica */ SELECT @a := 1",
            "/* rwsplit:replica */ SELECT GET_LOCK('a', 1)",
            "/* rwsplit:replica */ SELECT NEXTVAL(s)",
            "/* rwsplit:replica */ WITH c AS (SELECT 1) DELETE FROM t",
            "/* rwsplit:replica */ EXPLAIN ANALYZE DELETE FROM t",
            "/* rwsplit:replica */ SHOW TABLES WHERE GET_LOCK('a', 1)",
            "/* rwsplit:replica */ SELECT 'abc",
            "/* rwsplit:replica */ DELETE FROM t",
            // a write only in the NO_BACKSLASH_ESCAPES reading
            "/* rwsplit:replica */ SELECT LAST_INSERT_ID(), 'a\\' FOR UPDATE -- '",
        ] {
            let c = cl(sql);
            assert_eq!((c.route, c.hint), (M, None), "{sql:?}");
        }
        // Reads of the master connection's own state lose it: a replica would answer wrong.
        for sql in [
            "/* rwsplit:replica */ SELECT LAST_INSERT_ID()",
            "/* rwsplit:replica */ SELECT IS_USED_LOCK('x')",
            "/* rwsplit:replica */ SELECT @@identity",
        ] {
            assert_eq!(cl(sql).hint, None, "{sql:?}");
        }
        // Other reads keep it, also those that otherwise go to the master.
        for sql in [
            "/* rwsplit:replica */ SELECT 1",
            "/* rwsplit:replica */ SHOW GLOBAL STATUS",
            "/* rwsplit:replica */ TABLE t",
            "/* rwsplit:replica */ SELECT 'a\\' -- '",
        ] {
            assert_eq!(cl(sql).hint, Some(Hint::Replica), "{sql:?}");
        }
        // FOUND_ROWS() / ROW_COUNT() follow the previous statement only in pure reads.
        for sql in [
            "SELECT FOUND_ROWS(); INSERT INTO t VALUES (1)",
            "SELECT ROW_COUNT() FROM t FOR UPDATE",
            "SELECT FOUND_ROWS(), GET_LOCK('a', 1)",
            "WITH c AS (SELECT FOUND_ROWS()) DELETE FROM t",
            "SELECT FOUND_ROWS() INTO @n",
        ] {
            let c = cl(sql);
            assert_eq!((c.route, c.depends_on_previous), (M, false), "{sql:?}");
        }
        assert!(cl("SELECT FOUND_ROWS()").depends_on_previous);
        assert!(cl("SELECT ROW_COUNT(); SELECT 1").depends_on_previous);
    }

    #[test]
    fn executable_comments() {
        let c = cl("/*!40101 SET NAMES utf8 */");
        assert_eq!(
            (c.route, c.kind, c.record, c.multi),
            (C, K::Set, true, false)
        );
        let c = cl("/*!40101 SET NAMES utf8 */;\n");
        assert_eq!((c.route, c.multi), (C, false));
        let c = cl("/*!40101SET NAMES utf8*/");
        assert_eq!((c.route, c.kind), (C, K::Set));
        let c = cl("/*!40101 SET NAMES utf8 /* inner */ */");
        assert_eq!((c.route, c.kind), (C, K::Set));
        routes(&[
            ("SELECT /*!40001 SQL_NO_CACHE */ * FROM t", R),
            ("/*!40101 select 1 */", R),
            ("SELECT * FROM t /*!50000 FOR UPDATE */", M),
            ("SELECT * FROM t /*!FOR UPDATE*/", M),
            ("SELECT * FROM t /*M!100000 FOR UPDATE */", M),
            ("SELECT * FROM t /*!80000 FOR UPDATE */", M),
            ("SELECT 1 /*!40101 ; DELETE FROM t */", M),
            ("/*!40101 DELETE FROM t */", M),
            ("/*!40101 SET NAMES utf8", M),
            ("/*M!999999\\- enable the sandbox mode */", M),
            // Version-conditional: code on one server, comment on another.
            // Both readings must agree, or master.
            ("SELECT 1 /*!99999 ' */; DELETE FROM t; -- '", M),
            ("SELECT 1 /*!80000 -- */; DELETE FROM t\n */", M),
            ("SELECT 1 /*M!100000 ` */; DELETE FROM t; -- `", M),
            // A reading in which there is no statement at all executes nothing.
            ("/*!80000 SET x = 1 */", C),
            ("/*M!100616 SET NOTE_VERBOSITY=0 */", C),
            ("SELECT 1 /*!80000 , 2 */", R),
        ]);
        assert!(!cl("SELECT 1 /*!99999 ' */; DELETE FROM t; -- '").record);
        assert!(cl("SELECT 1 /*!99999 ' */; DELETE FROM t; -- '").multi);
        assert!(!cl("/*!50003 CREATE*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END */;").multi);
    }

    // -----------------------------------------------------------------------
    // Strings: backslash escapes and NO_BACKSLASH_ESCAPES
    // -----------------------------------------------------------------------

    #[test]
    fn backslash_escape_ambiguity() {
        routes(&[
            ("SELECT 'it\\'s'", R),
            ("SELECT 'it\\'s', \"a\\\"b\" FROM t", R),
            ("SELECT * FROM wp_posts WHERE post_title = 'Don\\'t stop' AND post_status = 'publish'", R),
            ("SELECT 'a\\\\' FROM t", R),
            // With NO_BACKSLASH_ESCAPES the server sees three statements.
            ("SELECT 'a\\'; DELETE FROM t; -- '", M),
            ("SELECT \"a\\\"; DELETE FROM t; -- \"", M),
            ("SELECT 'a\\' FROM t WHERE b = '; UPDATE t SET x = 1; -- '", M),
            // Conservative: in the other reading the first statement is a syntax
            // error, but the classifier cannot know that.
            ("SELECT * FROM t WHERE a = 'it\\'s; fine'", M),
            // Unterminated: the server rejects it; master anyway.
            ("SELECT 'abc", M),
            ("SELECT \"abc", M),
            ("SELECT `abc", M),
            ("SELECT 1 /* abc", M),
            ("SELECT 'a\\'", M),
        ]);
        assert!(!cl("SET @a = 'x\\'; DELETE FROM t; -- '").record);
        assert_eq!(cl("SET @a = 'it\\'s'").route, C);
    }

    // -----------------------------------------------------------------------
    // Bytes
    // -----------------------------------------------------------------------

    #[test]
    fn non_utf8_and_empty() {
        let b = |s: &[u8]| classify(s);
        assert_eq!(b(b"SELECT * FROM t WHERE b = '\xff\xfe\x00\x80'").route, R);
        assert_eq!(b(b"SELECT \xff\xfe FROM t").route, R);
        assert_eq!(
            b(b"SELECT * FROM t WHERE b = _binary'\x27\x27\x00'").route,
            R
        );
        assert_eq!(
            b(b"UPDATE t SET b = _binary'\x80\x81\xff' WHERE id = 1").route,
            M
        );
        assert_eq!(
            b(b"INSERT INTO t VALUES ('\xc3\x28', x'ff')").kind,
            K::Insert
        );
        assert_eq!(b(b"\xff\xfe").route, M);
        assert_eq!(b(b"\x00").route, M);
        assert_eq!(b(b"SELECT\x001").route, R);
        assert_eq!(b(b"SELECT * FROM t LOCK\x00IN\x00SHARE MODE").route, M);
        assert_eq!(b(b"\x00DELETE FROM t").route, M);
        assert!(!b(b"SELECT 1;\x00").multi);
        assert_eq!(b(b"WITH c AS (SELECT '\xff') SELECT * FROM c").route, R);
        for e in ["", " ", "\n\t", "/* */", "-- x", "#", "/*!*/", ";", "  ;  "] {
            let c = cl(e);
            assert_eq!(
                (c.route, c.kind, c.multi, c.record),
                (M, K::Other, false, false),
                "{e:?}"
            );
        }
    }

    /// Every prefix and suffix of every corpus statement, and pseudo-random token
    /// soup: nothing panics.
    #[test]
    fn never_panics() {
        let names = vec!["t".to_string(), "tmp1".to_string()];
        let mut all: Vec<Vec<u8>> = Vec::new();
        for &(sql, _, _) in CORPUS {
            let b = sql.as_bytes();
            for i in 0..=b.len() {
                all.push(b[..i].to_vec());
                all.push(b[i..].to_vec());
            }
        }
        let pieces: &[&[u8]] = &[
            b"SELECT",
            b"SET",
            b"WITH",
            b"USE",
            b"@",
            b"@@",
            b":=",
            b"(",
            b")",
            b";",
            b"'",
            b"\"",
            b"`",
            b"\\",
            b"/*",
            b"*/",
            b"/*!",
            b"/*M!",
            b"50700",
            b"--",
            b"-- ",
            b"#",
            b"\n",
            b" ",
            b"FOR",
            b"UPDATE",
            b"INTO",
            b"GLOBAL",
            b".",
            b",",
            b"=",
            b"BEGIN",
            b"END",
            b"CASE",
            b"CREATE",
            b"TEMPORARY",
            b"TABLE",
            b"DROP",
            b"IF",
            b"\xff",
            b"\x00",
            b"x",
            b"SHOW",
            b"COUNT",
            b"*",
            b"EXPLAIN",
            b"rwsplit:master",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let n = rng.below(24);
            let mut v = Vec::new();
            for _ in 0..n {
                v.extend_from_slice(pieces[rng.below(pieces.len())]);
                if rng.below(2) == 0 {
                    v.push(b' ');
                }
            }
            all.push(v);
        }
        for s in &all {
            let c = classify(s);
            let _ = use_database(s);
            let _ = mentions_any(s, &names);
            let ops = temp_table_ops(s);
            assert_eq!(c.temp_ops, ops);
        }
    }

    // -----------------------------------------------------------------------
    // Temporary tables and mentions_any
    // -----------------------------------------------------------------------

    #[test]
    fn temporary_tables() {
        let t = |sql: &str| {
            let c = cl(sql);
            assert_eq!(c.route, M, "{sql:?}");
            c.temp_ops.first().cloned()
        };
        let create = |n: &str| Some(TempTableOp::Create(n.to_string()));
        let drop = |v: &[&str]| Some(TempTableOp::Drop(v.iter().map(|s| s.to_string()).collect()));
        assert_eq!(t("CREATE TEMPORARY TABLE tmp1 (id INT)"), create("tmp1"));
        assert_eq!(
            t("create temporary table if not exists `my tmp` like t"),
            create("my tmp")
        );
        assert_eq!(
            t("CREATE OR REPLACE TEMPORARY TABLE db.tmp2 AS SELECT 1"),
            create("tmp2")
        );
        assert_eq!(
            t("CREATE TEMPORARY TABLE `db`.`a``b` SELECT 1"),
            create("a`b")
        );
        assert_eq!(t("CREATE TEMPORARY TABLE \"ansi\" (a INT)"), create("ansi"));
        assert_eq!(
            t("/*!40101 CREATE TEMPORARY TABLE x (a INT) */"),
            create("x")
        );
        assert_eq!(t("CREATE TABLE t (id INT)"), None);
        assert_eq!(t("CREATE TEMPORARY TABLE"), None);
        assert_eq!(t("DROP TEMPORARY TABLE tmp1"), drop(&["tmp1"]));
        assert_eq!(
            t("DROP TEMPORARY TABLE IF EXISTS a, `b`, db.c"),
            drop(&["a", "b", "c"])
        );
        assert_eq!(t("drop table x"), drop(&["x"]));
        assert_eq!(t("DROP TABLES x, y RESTRICT"), drop(&["x", "y"]));
        assert_eq!(t("DROP TABLE IF EXISTS `t1`"), drop(&["t1"]));
        assert_eq!(t("DROP DATABASE x"), None);
        assert_eq!(t("DROP VIEW v"), None);
        assert_eq!(t("DROP TABLE"), None);
        assert_eq!(cl("CREATE TEMPORARY TABLE tmp1 (id INT)").kind, K::Ddl);

        let sql = "CREATE TEMPORARY TABLE a (x INT); INSERT INTO a VALUES (1); CREATE TEMPORARY TABLE b (x INT); DROP TEMPORARY TABLE a";
        let c = cl(sql);
        assert_eq!(
            (c.route, c.multi, c.temp_ops.first().cloned()),
            (M, true, create("a"))
        );
        assert_eq!(
            temp_table_ops(sql.as_bytes()),
            vec![
                TempTableOp::Create("a".into()),
                TempTableOp::Create("b".into()),
                TempTableOp::Drop(vec!["a".into()]),
            ]
        );
        assert!(temp_table_ops(b"SELECT 1").is_empty());
    }

    #[test]
    fn mentions() {
        let names = vec!["tmp1".to_string(), "Other".to_string()];
        let m = |sql: &str| mentions_any(sql.as_bytes(), &names);
        assert!(m("SELECT * FROM tmp1"));
        assert!(m("select * from TMP1 where a = 1"));
        assert!(m("SELECT * FROM `tmp1`"));
        assert!(m("SELECT * FROM `TMP1`"));
        assert!(m("SELECT * FROM db.tmp1 t"));
        assert!(m("SELECT * FROM `db`.`tmp1`"));
        assert!(m("SELECT * FROM \"tmp1\""));
        assert!(m("SELECT * FROM a JOIN other ON 1"));
        assert!(m("SELECT * FROM t /*!50000 JOIN tmp1 USING (id) */"));
        assert!(m("SHOW CREATE TABLE tmp1"));
        assert!(m("DESCRIBE tmp1"));
        assert!(!m("SELECT * FROM t"));
        assert!(!m("SELECT 'tmp1' FROM t"));
        assert!(!m("SELECT * FROM tmp10"));
        assert!(!m("SELECT * FROM tmp"));
        assert!(!m("SELECT * FROM t /* tmp1 */"));
        assert!(!m("SELECT * FROM t -- tmp1"));
        assert!(!m(""));
        // NO_BACKSLASH_ESCAPES reading: the server sees `FROM tmp1`.
        assert!(m("SELECT 'x\\' FROM tmp1 -- '"));
        assert!(!mentions_any(b"SELECT * FROM tmp1", &[]));
        let tick = vec!["a`b".to_string()];
        assert!(mentions_any(b"SELECT * FROM `a``b`", &tick));
        assert!(!mentions_any(b"SELECT * FROM `a``bc`", &tick));
        assert!(!mentions_any(b"SELECT * FROM `a``", &tick));
        // Identifiers are compared as bytes: a non-UTF-8 name never equals a String.
        assert!(!mentions_any(
            b"SELECT * FROM t\xff",
            &["t\u{fffd}".to_string()]
        ));
    }

    // -----------------------------------------------------------------------
    // Property-style: decorated statements keep their route
    // -----------------------------------------------------------------------

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const LEADING: &[&str] = &[
        "",
        " ",
        "\n\t ",
        "/* app:checkout */ ",
        "/*rwsplit:replica*/",
        "/* rwsplit:replica */\n",
        "-- rwsplit:replica\n",
        "# rwsplit:replica\n",
        "/* a */ /* b */\n",
        "/**/",
        "-- \n",
    ];
    const SPACES: &[&str] = &[
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        " /* x */ ",
        "/**/",
        " -- c\n",
        " #c\n",
    ];
    const TRAILING: &[&str] = &["", ";", " ; ", ";\n-- end", "; /* end */", "\n", " # end"];

    /// Random case flips, whitespace/comment substitutions, leading comments and
    /// hints, trailing `;` and comments, and sometimes an executable-comment wrapper.
    /// Only applied to statements without comments of their own (so that a
    /// substituted space never lands inside a comment).
    fn decorate(sql: &str, rng: &mut Rng) -> String {
        let mut out = String::from(LEADING[rng.below(LEADING.len())]);
        // sqlparser (consulted for WITH) reads an executable comment as a comment.
        let wrap = rng.below(4) == 0 && !sql.contains("*/") && !sql.starts_with("WITH");
        if wrap {
            out.push_str("/*!40101 ");
        }
        let mut in_quote: Option<char> = None;
        for ch in sql.chars() {
            match in_quote {
                Some(q) => {
                    out.push(ch);
                    if ch == q {
                        in_quote = None;
                    }
                }
                None if ch == ' ' => out.push_str(SPACES[rng.below(SPACES.len())]),
                None => {
                    if ch == '\'' || ch == '"' || ch == '`' {
                        in_quote = Some(ch);
                    }
                    let c = match rng.below(3) {
                        0 => ch.to_ascii_uppercase(),
                        1 => ch.to_ascii_lowercase(),
                        _ => ch,
                    };
                    out.push(c);
                }
            }
        }
        if wrap {
            out.push_str(" */");
        }
        out.push_str(TRAILING[rng.below(TRAILING.len())]);
        out
    }

    fn decoratable(sql: &str) -> bool {
        !(sql.contains("/*") || sql.contains("--") || sql.contains('#') || sql.contains('\\'))
    }

    #[test]
    fn property_writes_never_come_out_as_replica() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let writes: Vec<&str> = CORPUS
            .iter()
            .filter(|(_, r, _)| *r == M)
            .map(|(s, _, _)| *s)
            .chain([
                "INSERT INTO t VALUES (1)",
                "UPDATE t SET a = 'x' WHERE b = \"y\"",
                "DELETE FROM `select` WHERE `for` = 'update'",
                "REPLACE INTO t SELECT * FROM u",
                "SELECT * FROM t WHERE id = 1 FOR UPDATE",
                "SELECT * FROM t LOCK IN SHARE MODE",
                "SELECT @a := 1",
                "SELECT a INTO @x FROM t",
                "WITH c AS (SELECT 1) DELETE FROM t",
                "SET GLOBAL x = 1",
                "CREATE TEMPORARY TABLE tmp (a INT)",
                "CALL p(1, 'two')",
                "SELECT 1; DELETE FROM t",
            ])
            .collect();
        let mut checked = 0;
        for sql in writes {
            for _ in 0..200 {
                let d = if decoratable(sql) {
                    decorate(sql, &mut rng)
                } else {
                    format!("{}{}", LEADING[rng.below(LEADING.len())], sql)
                };
                let c = classify(d.as_bytes());
                assert_eq!(c.route, M, "{d:?} -> {c:?}");
                checked += 1;
            }
        }
        assert!(checked > 5_000);
    }

    #[test]
    fn property_decorations_keep_route_and_kind() {
        let mut rng = Rng(42);
        for &(sql, route, kind) in CORPUS.iter().filter(|(s, _, _)| decoratable(s)) {
            for _ in 0..100 {
                let d = decorate(sql, &mut rng);
                let c = classify(d.as_bytes());
                assert_eq!((c.route, c.kind), (route, kind), "{d:?} -> {c:?}");
            }
        }
    }

    #[test]
    fn property_reads_followed_by_a_write_go_to_master() {
        let mut rng = Rng(7);
        let tails = [
            "; DELETE FROM t",
            ";UPDATE t SET a=1",
            "; /* x */ INSERT INTO t VALUES (1)",
            ";\nSET GLOBAL x = 1",
            "; SELECT 1 FOR UPDATE",
        ];
        for &(sql, route, _) in CORPUS {
            if route != R {
                continue;
            }
            for tail in tails {
                let d = format!("{}{}", sql, tail);
                let c = classify(d.as_bytes());
                assert_eq!((c.route, c.multi), (M, true), "{d:?} -> {c:?}");
                let d = format!("{}; {}", tail.trim_start_matches(';'), sql);
                let c = classify(d.as_bytes());
                assert_eq!(c.route, M, "{d:?} -> {c:?}");
            }
            let _ = rng.next();
        }
    }

    // -----------------------------------------------------------------------
    // Timing (run with: cargo test --release -- --ignored --nocapture)
    // -----------------------------------------------------------------------

    #[test]
    #[ignore]
    fn timing() {
        use std::hint::black_box;
        use std::time::Instant;
        fn bench(label: &str, stmts: &[&[u8]], iters: usize) {
            // warm up
            for s in stmts {
                black_box(classify(black_box(s)));
            }
            let t = Instant::now();
            for _ in 0..iters {
                for s in stmts {
                    black_box(classify(black_box(s)));
                }
            }
            let ns = t.elapsed().as_nanos() as f64 / (iters * stmts.len()) as f64;
            println!("{label:<44} {ns:>9.1} ns/statement");
        }
        let point: &[&[u8]] = &[b"SELECT c FROM sbtest1 WHERE id=5023"];
        let wp: &[&[u8]] =
            &[b"SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'"];
        let upd: &[&[u8]] = &[b"UPDATE sbtest1 SET k=k+1 WHERE id=5023"];
        let set: &[&[u8]] = &[b"SET NAMES utf8mb4"];
        let jdbc: &[&[u8]] = &[CORPUS
            .iter()
            .find(|c| c.0.contains("mysql-connector-java"))
            .unwrap()
            .0
            .as_bytes()];
        let wpcalc: &[&[u8]] = &[CORPUS
            .iter()
            .find(|c| c.0.contains("SQL_CALC_FOUND_ROWS"))
            .unwrap()
            .0
            .as_bytes()];
        let with: &[&[u8]] = &[
            b"WITH cte AS (SELECT id FROM t WHERE a = 1) SELECT * FROM cte JOIN u ON u.id = cte.id",
        ];
        let escaped: &[&[u8]] =
            &[b"SELECT * FROM wp_posts WHERE post_title = 'Don\\'t stop' LIMIT 1"];
        let corpus_no_with: Vec<&[u8]> = CORPUS
            .iter()
            .filter(|c| !c.0.starts_with("WITH"))
            .map(|c| c.0.as_bytes())
            .collect();
        let corpus_all: Vec<&[u8]> = CORPUS.iter().map(|c| c.0.as_bytes()).collect();
        let mut bulk = b"INSERT INTO sbtest1 (id, k, c, pad) VALUES ".to_vec();
        while bulk.len() < 1 << 20 {
            bulk.extend_from_slice(b"(5010, 4994, '67847967377-48000963322-62604785301-91415491898', '22195207048-70116052123-74140395089'),");
        }
        bulk.pop();
        let mb = bulk.len() as f64 / (1 << 20) as f64;
        let t = Instant::now();
        for _ in 0..20 {
            black_box(classify(black_box(&bulk)));
        }
        println!(
            "{:<44} {:>9.1} ns/byte ({mb:.1} MiB bulk INSERT)",
            "bulk INSERT",
            t.elapsed().as_nanos() as f64 / 20.0 / bulk.len() as f64
        );
        bench("sysbench point select", point, 2_000_000);
        bench("WordPress autoload options", wp, 2_000_000);
        bench("sysbench UPDATE", upd, 2_000_000);
        bench("SET NAMES utf8mb4", set, 2_000_000);
        bench("JDBC connect SELECT @@... (330 bytes)", jdbc, 500_000);
        bench("WordPress SQL_CALC_FOUND_ROWS (230 bytes)", wpcalc, 500_000);
        bench("backslash-escaped string (2 readings)", escaped, 1_000_000);
        bench("WITH (sqlparser)", with, 20_000);
        bench("corpus without WITH (avg)", &corpus_no_with, 20_000);
        bench("whole corpus (avg)", &corpus_all, 20_000);
    }

    #[test]
    fn record_keys() {
        let key = |s: &str| {
            let c = cl(s);
            assert!(c.record || c.record_key.is_none(), "{s}");
            c.record_key
        };
        assert!(key("SET NAMES utf8mb4").is_some());
        assert_eq!(key("SET NAMES utf8mb4"), key("set character set latin1"));
        assert_eq!(key("SET sql_mode = ''"), key("SET SESSION sql_mode='ANSI'"));
        assert_eq!(key("SET @@session.sql_mode = ''"), key("set sql_mode=1"));
        assert_eq!(key("SET @x = 1"), key("SET @x := 5"));
        assert_eq!(
            key("SET @X = 1"),
            key("SET @x = 1"),
            "user variables ignore case"
        );
        assert_ne!(key("SET @x = 1"), key("SET @y = 1"));
        assert_ne!(key("SET @sql_mode = 1"), key("SET sql_mode = 1"));
        assert_eq!(key("SET a = 1, b = 2"), None);
        // The key says what is assigned; whether the value reads variables is separate.
        assert!(key("SET @i = @i + 1").is_some());
        assert!(cl("SET @i = @i + 1").reads_vars);
        assert!(cl("SET @saved = @@sql_mode").reads_vars);
        assert!(!cl("SET sql_mode = 'ANSI'").reads_vars);
    }

    #[test]
    fn read_only_starts_and_user_vars() {
        assert!(cl("START TRANSACTION READ ONLY").read_only_start);
        assert!(cl("start transaction with consistent snapshot, read only").read_only_start);
        assert!(cl("START /* c */ TRANSACTION READ -- x\n ONLY").read_only_start);
        assert!(!cl("START TRANSACTION READ WRITE").read_only_start);
        assert!(!cl("START TRANSACTION READ ONLY, READ WRITE").read_only_start);
        assert!(!cl("BEGIN").read_only_start);
        assert!(!cl("START TRANSACTION; INSERT INTO t (s) VALUES ('READ ONLY')").read_only_start);
        assert!(!cl("START TRANSACTION /* READ ONLY */").read_only_start);
        assert!(!cl("SELECT 'START TRANSACTION READ ONLY'").read_only_start);
        assert!(cl("SELECT @x").user_var_read);
        assert!(!cl("SELECT @@server_id").user_var_read);
        assert!(!cl("SELECT '@x'").user_var_read);
    }

    #[test]
    fn multi_statement_kinds() {
        let c = cl("SELECT 1; SET @a = 1");
        assert!(c.kinds.contains(K::Set) && c.kinds.contains(K::Select));
        assert!(!c.record);
        let c = cl("use db; insert into t values (1)");
        assert!(c.kinds.contains(K::Use) && c.writes && c.use_db.is_none());
        assert!(!cl("SELECT 1; SELECT 2").kinds.contains(K::Set));
        assert_eq!(cl("USE `my db`").use_db.as_deref(), Some("my db"));
    }

    #[test]
    fn kill_targets() {
        let k = |s: &str| cl(s).kill;
        assert_eq!(k("KILL 5"), Some(KillTarget::Connection(5)));
        assert_eq!(k("kill connection 7;"), Some(KillTarget::Connection(7)));
        assert_eq!(k("KILL QUERY 9"), Some(KillTarget::Query(9)));
        assert_eq!(k("KILL HARD QUERY 9"), Some(KillTarget::Query(9)));
        assert_eq!(k("/* app tag */ KILL 12"), Some(KillTarget::Connection(12)));
        assert_eq!(k("KILL /* x */ QUERY 12"), Some(KillTarget::Query(12)));
        assert_eq!(k("KILL -- c\n 12"), Some(KillTarget::Connection(12)));
        assert_eq!(k("KILL QUERY ID 9"), Some(KillTarget::Unsupported));
        assert_eq!(k("KILL USER app"), Some(KillTarget::Unsupported));
        assert_eq!(k("KILL"), Some(KillTarget::Unsupported));
        assert_eq!(k("KILL 5 6"), Some(KillTarget::Unsupported));
        assert_eq!(k("SELECT 1; KILL 5"), Some(KillTarget::Unsupported));
        assert_eq!(k("KILL 5; SELECT 1"), Some(KillTarget::Unsupported));
        assert_eq!(k("KILL /*!99999 QUERY */ 5"), Some(KillTarget::Unsupported));
        assert_eq!(k("SELECT 'KILL 5'"), None);
    }

    #[test]
    fn values_only_the_master_can_reproduce() {
        for s in [
            "SET @t = UUID()",
            "SET @t = RAND()",
            "SET @t = NOW(6)",
            "SET @t = CURRENT_TIMESTAMP",
            "SET @t = SYSDATE()",
            "SET @t = CONNECTION_ID()",
            "SET @t = LAST_INSERT_ID()",
            "SET @t = @@server_id",
            "SET @t = (SELECT MAX(id) FROM t)",
        ] {
            let c = cl(s);
            assert_eq!((c.route, c.record), (M, false), "{s}");
            assert!(c.user_var_write && !c.master_only_state, "{s}");
        }
        let c = cl("SET @@session.timestamp = UNIX_TIMESTAMP()");
        assert!(!c.record && c.master_only_state);
        let c = cl("SET SESSION sql_mode = @@global.sql_mode");
        assert!(!c.record && c.master_only_state);
        assert!(!cl("SET GLOBAL sql_mode = ''").master_only_state);
        assert!(cl("SET @saved = @@sql_mode").record);
        assert!(cl("SET time_zone = '+00:00'").record);
        assert!(cl("SELECT CONNECTION_ID()").connection_id);
    }

    #[test]
    fn digest_is_a_by_product_of_the_scan() {
        let d = |s: &str| cl(s).digest;
        assert_eq!(
            d("SELECT c FROM sbtest1 WHERE id=42"),
            d("select  c /* x */ from SBTEST1\n where id = 7")
        );
        assert_eq!(d("SELECT 'a'"), d("SELECT \"b\""));
        assert_ne!(d("SELECT a FROM t"), d("SELECT b FROM t"));
        assert_ne!(d("SELECT ab FROM t"), d("SELECT a b FROM t"));
        assert_ne!(d("SELECT 1; SELECT 2"), d("SELECT 1"));
        assert_ne!(d("SELECT `a` FROM t"), d("SELECT `A` FROM t"));
    }

    #[test]
    fn temporary_table_renames() {
        let r = |s: &str| cl(s).temp_ops;
        let pair = |a: &str, b: &str| vec![TempTableOp::Rename(vec![(a.into(), b.into())])];
        assert_eq!(
            r("ALTER TABLE tmp1 RENAME TO tmp1_r"),
            pair("tmp1", "tmp1_r")
        );
        assert_eq!(r("alter table `tmp1` rename as db.x"), pair("tmp1", "x"));
        assert_eq!(r("ALTER TABLE t ADD c INT, RENAME t2"), pair("t", "t2"));
        assert!(r("ALTER TABLE t RENAME COLUMN a TO b").is_empty());
        assert_eq!(
            r("RENAME TABLE a TO b, c TO d"),
            vec![TempTableOp::Rename(vec![
                ("a".into(), "b".into()),
                ("c".into(), "d".into())
            ])]
        );
        assert!(r("ALTER EVENT e RENAME TO f").is_empty());
    }

    #[test]
    fn show_variables_of_the_connection_go_to_the_master() {
        let r = |s: &str| cl(s).route;
        assert_eq!(r("SHOW VARIABLES LIKE 'sql_mode'"), R);
        assert_eq!(r("SHOW SESSION VARIABLES LIKE 'character_set_%'"), R);
        assert_eq!(r("SHOW VARIABLES LIKE 'last_insert_id'"), M);
        assert_eq!(r("show variables like '%ID%'"), M);
        assert_eq!(r("SHOW VARIABLES LIKE 'warning\\_count'"), M);
        assert_eq!(r("SHOW VARIABLES"), M);
        assert_eq!(
            r("SHOW VARIABLES WHERE Variable_name = 'last_insert_id'"),
            M
        );
        assert!(like_matches(b"a%c", b"abbbc") && !like_matches(b"a_c", b"abbc"));
    }

    #[test]
    fn a_read_only_start_inside_a_multi_statement_is_not_a_read() {
        let c = cl("SELECT SQL_CALC_FOUND_ROWS id FROM t1 LIMIT 1; SELECT FOUND_ROWS(); START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT");
        assert!(c.writes && !c.depends_on_previous && c.route == M, "{c:?}");
        let c = cl("SELECT 1; START TRANSACTION READ ONLY");
        assert!(c.writes && c.route == M, "{c:?}");
        assert!(!cl("START TRANSACTION READ ONLY").writes);
    }
}
