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
    /// Uses `SQL_CALC_FOUND_ROWS`: the count it leaves on its connection is what the next
    /// FOUND_ROWS() asks for, so the connection is not handed back in between.
    pub calc_found_rows: bool,
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
    /// Names something that shows the session's tracking settings (`SHOW VARIABLES`,
    /// `@@session_track_…`): it runs with the client's own, not the proxy's.
    pub shows_tracking: bool,
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
    /// Every database the statement names, in any reading of its text (see `names.rs`): the
    /// qualifier of a table, view, routine, trigger, event or sequence name wherever one stands
    /// (`db.t` after FROM, JOIN, INTO, UPDATE, INSERT without INTO, CREATE INDEX ... ON,
    /// LIKE, HANDLER, in parentheses ...), `db.t.col`, `db.f(...)`, `USE db` (also inside a
    /// multi-statement), CREATE/DROP/ALTER DATABASE, SHOW ... FROM db; bare, backticked or
    /// double-quoted. `alias.column` is not one. Unquoted, each once, in order; empty, and not
    /// allocated, when there are none. Cluster placement and `schema` rules use these.
    pub databases: Vec<String>,
    /// What `[[rules]]` need besides: each statement's digest key, and whether some part's
    /// text or names cannot be judged (`PREPARE`, `EXECUTE`, stored-program bodies).
    pub rule: RuleFacts,
    /// Reads state of the master connection itself (`LAST_INSERT_ID()`, `@@identity`, lock
    /// state, sequences' current values): no hint or rule may send it to a replica.
    pub master_read: bool,
    /// The digest key (`SHOW DIGESTS`): statements that differ only in literals, letter case,
    /// comments and whitespace share it.
    pub digest: u64,
    /// A SET that affects only the next statement or transaction on the connection it ran on
    /// (`SET TRANSACTION ...` without SESSION, `SET insert_id`, `SET @@tx_isolation`...): the
    /// next statement must run there too.
    pub next_statement_only: bool,
    /// The statement changes the client character set (SET NAMES, SET CHARACTER SET, SET
    /// character_set_client) to this one when it succeeds; [`Charset::UNKNOWN`] when the
    /// proxy cannot tell to which (a value it cannot read, `DEFAULT`, SQL `EXECUTE`, `EXECUTE
    /// IMMEDIATE` or a `BEGIN NOT ATOMIC` block, whose `SET NAMES` outlives them). The
    /// session reads its later statements in that set.
    pub charset: Option<Charset>,
    /// `COMMIT RELEASE` / `ROLLBACK RELEASE`: the server closes the connection after it.
    pub release: bool,
    /// Runs statements its own text does not show — `CALL`, SQL `EXECUTE`, `EXECUTE
    /// IMMEDIATE`, `BEGIN NOT ATOMIC` — which may set session or user variables or create
    /// temporary tables that the proxy cannot see or replay.
    pub opaque: bool,
    /// `DROP DATABASE|SCHEMA [IF EXISTS] name`: when it is the session's database, the server
    /// leaves the session without one.
    pub dropped_db: Option<String>,
    /// Takes a named lock (`GET_LOCK`): the connection that ran it holds it, and only that
    /// connection (a reconnect would silently lose it).
    pub named_lock: bool,
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

mod charset;
mod charsets;
mod keys;
mod lexer;
mod names;
mod scan;
mod statement;
mod stream;
#[cfg(test)]
mod tests;

pub use charset::Charset;
pub use keys::statement_texts;
use keys::*;
use lexer::*;
use names::*;
pub use names::{Keys, RuleFacts};
use scan::*;
pub(crate) use statement::setting_key;
use statement::*;
use stream::*;

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
}

fn run(sql: &[u8], mode: Mode, names: &[String], extras: Extras) -> Run {
    let mut st = Stream::with_names(sql, mode, names);
    st.extras = extras;
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
        calc_found_rows: false,
        writes: false,
        kinds: KindSet::default(),
        read_only_start: false,
        kill: None,
        use_db: None,
        user_var_read: false,
        mentions_named: false,
        shows_tracking: false,
        connection_id: false,
        master_only_state: false,
        record_key: None,
        reads_vars: false,
        databases: Vec::new(),
        rule: RuleFacts::default(),
        master_read: false,
        digest: 0,
        next_statement_only: false,
        charset: None,
        release: false,
        opaque: false,
        dropped_db: None,
        named_lock: false,
    };
    let mut all_empty = true;
    let mut all_replica = true;
    let mut all_current = true;
    let mut all_last = true;
    let mut all_record = true;
    let mut writes = false;
    let mut master_read = false;
    // Every part is a read that may run where the previous statement ran.
    let mut all_read = true;
    let mut n = 0usize;
    loop {
        if n > 0 {
            st.start_next();
        }
        let mut seg = segment(&mut st);
        st.drain();
        // A `:=` outside SET (whose own grammar handles it) assigns a user variable.
        seg.user_var_write |= std::mem::take(&mut st.assigns) && seg.kind != Kind::Set;
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
            if seg.charset.is_some() {
                c.charset = seg.charset;
            }
            c.release |= seg.release;
            c.named_lock |= seg.named_lock;
            c.opaque |= seg.opaque;
            if seg.dropped_db.is_some() {
                c.dropped_db = seg.dropped_db.clone();
            }
            c.reads_vars |= seg.reads_vars;
            all_empty &= seg.empty;
            all_replica &= seg.route == Route::Replica;
            all_current &= seg.route == Route::Current;
            all_last &= seg.route == Route::Last;
            all_record &= seg.record;
            all_read &= matches!(seg.route, Route::Replica | Route::Last) || seg.prev_dep;
            writes |= seg.writes;
            master_read |= seg.master_read;
            c.user_var_write |= seg.user_var_write;
            c.parsed |= seg.parsed;
            c.depends_on_previous |= seg.prev_dep;
            c.reads_found_rows |= seg.found_rows;
            c.calc_found_rows |= seg.calc_found_rows;
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
    if !all_read || master_read {
        // `SELECT ROW_COUNT(); SET @x = 1`, `SELECT FOUND_ROWS(); SELECT LAST_INSERT_ID()`:
        // a part belongs on the master (or records state), so the whole does.
        c.depends_on_previous = false;
        c.reads_found_rows = false;
    }
    c.user_var_read = st.user_var;
    c.shows_tracking = st.shows_tracking;
    c.mentions_named = st.mentions;
    c.digest = st.dig.whole;
    c.databases = std::mem::take(&mut st.names_found.databases);
    c.rule = std::mem::take(&mut st.names_found.facts);
    c.master_read = master_read;
    // Bytes the proxy cannot read as the server would are treated like an unterminated
    // string: the statement goes to the master, whatever else it looks like.
    let broken = st.lex.broken || st.lex.unsure;
    c.rule.scanned = extras.names;
    c.rule.keyed = extras.keys;
    if broken {
        // Rules cannot judge what they cannot read.
        c.rule.text_unknown = true;
        c.rule.names_unknown = true;
    }
    Run {
        c,
        all_empty,
        broken,
        broken_in_first: st.broken_at == Some(0),
        saw_bs_quote: st.lex.saw_bs_quote,
        saw_cond_exec: st.lex.saw_cond_exec,
        writes,
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
    analyze_in(sql, names, Charset::UTF8MB4)
}

/// [`analyze`] for a session whose client character set is `cs`: whitespace, `--` comments
/// and double-byte characters (sjis, cp932, gbk, big5: a second byte 0x5C is no backslash)
/// are read as the server reads them in that set. In a set the proxy has no table for
/// ([`Charset::UNKNOWN`]), a statement with a byte of 0x7F or above goes to the master.
pub fn analyze_in(sql: &[u8], names: &[String], cs: Charset) -> Classification {
    analyze_with(sql, names, cs, Extras::ALL)
}

/// [`analyze_in`] without what only `[[rules]]` and cluster placement read: `databases` stays
/// empty and `rule` holds nothing (`rule.scanned` is false). For a proxy with no rules and
/// one cluster, whose classifier then costs what it did before those were tracked.
pub fn analyze_for_routing(sql: &[u8], names: &[String], cs: Charset) -> Classification {
    analyze_with(sql, names, cs, Extras::NONE)
}

/// What [`analyze_with`] scans for beyond routing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extras {
    /// Every database named ([`Classification::databases`]) and what rules cannot judge
    /// (`rule`): for `[[rules]]` of any kind and for several clusters.
    pub names: bool,
    /// Each statement's digest key (`rule.keys`): for `digest` rules.
    pub keys: bool,
}

impl Extras {
    pub const ALL: Extras = Extras {
        names: true,
        keys: true,
    };
    pub const NONE: Extras = Extras {
        names: false,
        keys: false,
    };
}

/// [`analyze_in`] scanning for `extras` only (see [`RuleFacts::scanned`] and
/// [`RuleFacts::keyed`]).
pub fn analyze_with(sql: &[u8], names: &[String], cs: Charset, extras: Extras) -> Classification {
    let full = extras.names || extras.keys;
    let base = Mode { cs, ..DEFAULT_MODE };
    let mut r = run(sql, base, names, extras);
    if r.c.multi && r.c.charset.is_some() && sql.iter().any(|&b| b >= 0x7f) {
        // The statements after the SET NAMES are read by the server in the new set.
        r.broken = true;
        r.c.route = Route::Master;
        r.c.rule.text_unknown = true;
        r.c.rule.names_unknown = true;
    }
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
    let ambiguous = r.saw_bs_quote || r.saw_cond_exec;
    // Another reading may assign a user variable this one does not see (`@` anywhere in the
    // bytes, strings and comments included, is the cheap test).
    let may_assign_elsewhere = ambiguous && sql.contains(&b'@');
    let nothing_to_lose = c.route == Route::Master
        && !c.record
        && !r.broken
        && c.hint != Some(Hint::Replica)
        && !c.depends_on_previous
        && !may_assign_elsewhere;
    if ambiguous && (full || !nothing_to_lose) {
        // Every other reading a server may make: without backslash escapes, with double quotes
        // as ANSI_QUOTES identifiers, and each subset of the conditional comments executed
        // (the MariaDB and MySQL subsets among them). Each is scanned for what rules and
        // cluster placement need (names, digest keys); routing looks at them only when it has
        // something to lose.
        for mode in alternative_modes(base, r.saw_bs_quote, r.saw_cond_exec) {
            let a = run(sql, mode, names, extras);
            // Under that reading the server would execute nothing.
            if a.all_empty || a.broken_in_first {
                continue;
            }
            for db in a.c.databases {
                if !c.databases.contains(&db) {
                    c.databases.push(db);
                }
            }
            c.rule.merge(a.c.rule);
            c.shows_tracking |= a.c.shows_tracking;
            if nothing_to_lose {
                continue;
            }
            writes |= a.writes || a.broken;
            c.mentions_named |= a.c.mentions_named;
            c.user_var_read |= a.c.user_var_read;
            c.master_read |= a.c.master_read;
            // What any reading may leave on the connection counts, even when both readings
            // send the statement to the master: `SELECT /*!12 INTO /*!50700 */ */ @s` assigns
            // @s on a server that skips the inner comment.
            c.named_lock |= a.c.named_lock;
            c.user_var_write |= a.c.user_var_write;
            c.opaque |= a.c.opaque;
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
                // About the previous statement only if every reading is just that: a reading
                // with other work in it (`SELECT ROW_COUNT(); /*M!SET @r = 1 */`) belongs on
                // the master.
                c.depends_on_previous &= a.c.depends_on_previous;
                c.reads_found_rows &= a.c.reads_found_rows;
                c.calc_found_rows |= a.c.calc_found_rows;
            }
        }
    }
    if c.master_read && c.hint == Some(Hint::Replica) {
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

/// One token of a statement, owned, for code that parses the proxy's own small SQL (the admin
/// interface) with the lexer the classifier uses: comments, executable comments and quoting
/// are read the way the server reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A keyword, identifier or number.
    Word(String),
    /// A backtick-quoted identifier.
    Ident(String),
    /// A string literal, escapes resolved (`\'`, `''`, `\\`, `\n`, ...).
    Str(String),
    /// `@@` (system variable).
    AtAt,
    /// `@` (user variable).
    At,
    /// Any other byte: `(`, `,`, `=`, `<`, `*`, `.`, `;` ...
    Punct(u8),
}

/// The tokens of `sql`; None when a string, identifier or comment is not terminated.
pub fn tokens(sql: &[u8]) -> Option<Vec<Token>> {
    let mut lx = Lexer::new(sql, DEFAULT_MODE);
    let mut out = Vec::new();
    loop {
        let t = match lx.next() {
            Tok::Eof => break,
            Tok::Word(w) => Token::Word(String::from_utf8_lossy(w).into_owned()),
            Tok::QIdent(w) => Token::Ident(String::from_utf8_lossy(w).replace("``", "`")),
            Tok::Str(s, q) => Token::Str(unescape(s, q)),
            Tok::At => Token::At,
            Tok::AtAt => Token::AtAt,
            Tok::ColonEq => {
                out.push(Token::Punct(b':'));
                Token::Punct(b'=')
            }
            Tok::Punct(p) => Token::Punct(p),
        };
        out.push(t);
    }
    (!lx.broken).then_some(out)
}

/// A string literal's value: backslash escapes and a doubled quote resolved.
fn unescape(raw: &[u8], quote: u8) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' if i + 1 < raw.len() => {
                let c = match raw[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'0' => 0,
                    b'Z' => 0x1a,
                    c => c,
                };
                // `\%` and `\_` keep their backslash: LIKE reads them as literal % and _.
                if matches!(c, b'%' | b'_') {
                    out.push(b'\\');
                }
                out.push(c);
                i += 2;
            }
            c if c == quote && raw.get(i + 1) == Some(&quote) => {
                out.push(quote);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
