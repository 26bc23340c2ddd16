//! Per-statement classification: the first keyword decides which grammar is followed
//! (SELECT, SET, SHOW, START TRANSACTION, KILL, ALTER, ...), and the result is a `Seg`.

use super::*;

#[derive(Debug)]
pub(super) struct Seg {
    pub(super) route: Route,
    pub(super) kind: Kind,
    pub(super) record: bool,
    pub(super) user_var_write: bool,
    pub(super) temp: Option<TempTableOp>,
    pub(super) parsed: bool,
    pub(super) prev_dep: bool,
    pub(super) found_rows: bool,
    pub(super) calc_found_rows: bool,
    /// Reads master-connection state (see `Reads::master_read`): no hint sends it elsewhere.
    pub(super) master_read: bool,
    pub(super) empty: bool,
    /// Changes data or server state, takes a lock, assigns a user variable, or is not
    /// understood: must run on the master whatever a hint or the previous statement says.
    pub(super) writes: bool,
    pub(super) read_only_start: bool,
    pub(super) kill: Option<KillTarget>,
    pub(super) use_db: Option<String>,
    pub(super) conn_id: bool,
    pub(super) master_only_state: bool,
    pub(super) record_key: Option<u64>,
    pub(super) reads_vars: bool,
    pub(super) next_only: bool,
    /// Changes the client character set (see `Classification::charset`).
    pub(super) charset: Option<Charset>,
    /// See `Classification::release`.
    pub(super) release: bool,
    /// See `Classification::opaque`.
    pub(super) opaque: bool,
    /// See `Classification::dropped_db`.
    pub(super) dropped_db: Option<String>,
    /// See `Classification::named_lock`.
    pub(super) named_lock: bool,
}

impl Seg {
    pub(super) fn new(route: Route, kind: Kind) -> Self {
        Seg {
            route,
            kind,
            record: false,
            user_var_write: false,
            temp: None,
            parsed: false,
            prev_dep: false,
            found_rows: false,
            calc_found_rows: false,
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
            charset: None,
            release: false,
            opaque: false,
            dropped_db: None,
            named_lock: false,
        }
    }

    pub(super) fn master(kind: Kind) -> Self {
        Seg::new(Route::Master, kind)
    }

    pub(super) fn from_reads(kind: Kind, r: Reads) -> Self {
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
        s.calc_found_rows = r.calc_found_rows;
        s.master_read = r.master_read;
        s.writes = r.writes();
        s.conn_id = r.conn_id;
        s.named_lock = r.lock;
        s
    }
}

/// Classify one statement; consumes at least its first token. The caller drains
/// the rest.
pub(super) fn segment<'a>(st: &mut Stream<'a>) -> Seg {
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
                // MariaDB anonymous compound statement: BEGIN NOT ATOMIC ...; ... END. A SET
                // NAMES inside it outlives the block.
                st.compound = true;
                st.block = 1;
                let mut s = Seg::master(Kind::Other);
                s.charset = Some(Charset::UNKNOWN);
                s.opaque = true;
                s
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
        b"COMMIT" | b"ROLLBACK" => {
            let mut kind = if u == b"COMMIT" {
                Kind::Commit
            } else {
                Kind::Rollback
            };
            // `[AND [NO] CHAIN] [[NO] RELEASE]`: with RELEASE the server closes the connection.
            let (mut release, mut prev) = (false, Tok::Eof);
            loop {
                let t = st.next();
                if t == Tok::Eof {
                    break;
                }
                if is_kw(t, b"TO") {
                    kind = Kind::Savepoint;
                }
                release = is_kw(t, b"RELEASE") && !is_kw(prev, b"NO");
                prev = t;
            }
            let mut s = Seg::master(kind);
            s.release = release && kind != Kind::Savepoint;
            s
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
        b"CALL" => {
            let mut s = Seg::master(Kind::Call);
            s.opaque = true;
            s
        }
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
        b"EXECUTE" => {
            // SQL EXECUTE / EXECUTE IMMEDIATE: what it runs is not in this text; a SET NAMES
            // it runs outlives it (a CALL's does not: a routine restores the client's set).
            let mut s = Seg::master(Kind::Execute);
            s.charset = Some(Charset::UNKNOWN);
            s.opaque = true;
            s
        }
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
pub(super) fn start_transaction(st: &mut Stream<'_>) -> Seg {
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
pub(super) fn kill(st: &mut Stream<'_>) -> KillTarget {
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
pub(super) fn alter(st: &mut Stream<'_>) -> Seg {
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
pub(super) fn rename(st: &mut Stream<'_>) -> Seg {
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
pub(super) fn read_on_master() -> Seg {
    let mut seg = Seg::master(Kind::Select);
    seg.writes = false;
    seg
}

pub(super) fn select<'a>(st: &mut Stream<'a>, first: Tok<'a>) -> Seg {
    let mut sc = Scan::new(first);
    sc.run(st);
    Seg::from_reads(Kind::Select, sc.r)
}

/// `WITH ...`: the scan must find nothing that needs the master (a DML keyword in
/// the body included), and then `sqlparser` must agree that the statement is a
/// plain query; a parse failure means master.
pub(super) fn with<'a>(st: &mut Stream<'a>, first: Tok<'a>) -> Seg {
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

pub(super) fn sqlparser_says_plain_query(text: &[u8]) -> bool {
    use sqlparser::ast::{Query, SetExpr, Statement};
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    pub(super) fn query_ok(q: &Query) -> bool {
        q.locks.is_empty()
            && q.with
                .as_ref()
                .is_none_or(|w| w.cte_tables.iter().all(|c| query_ok(&c.query)))
            && body_ok(&q.body)
    }
    pub(super) fn body_ok(b: &SetExpr) -> bool {
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

pub(super) fn show(st: &mut Stream<'_>) -> Seg {
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
pub(super) const CONNECTION_VARIABLES: &[&str] = &[
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
pub(super) fn like_matches(pattern: &[u8], name: &[u8]) -> bool {
    pub(super) fn go(p: &[u8], n: &[u8]) -> bool {
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
pub(super) fn explain(st: &mut Stream<'_>, kind: Kind) -> Seg {
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
pub(super) enum Scope {
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
pub(super) fn set(st: &mut Stream<'_>) -> Seg {
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
    let mut auto_is_null = false;

    let mut scope = Scope::Session;
    let mut scope_given = false;
    let mut first = true;
    // The client character set this SET leaves (the lexer reads the next statements in it).
    let mut charset: Option<Charset> = None;
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
                // `WHERE id IS NULL` then finds the master connection's last insert: the
                // session's reads belong there.
                b"SQL_AUTO_IS_NULL" => auto_is_null = true,
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
        let sets_client_charset = value_only || {
            let mut buf = [0u8; KW_MAX];
            upper(name, &mut buf) == b"CHARACTER_SET_CLIENT" && item_scope != Scope::Global
        };
        // The value: up to a `,` outside parentheses.
        let mut sc = Scan::new(Tok::Punct(b'='));
        sc.set_value = true;
        let mut depth = 0u32;
        let mut any = false;
        let mut values = 0u32;
        let mut value_name: &[u8] = &[];
        loop {
            let v = st.next();
            if sets_client_charset && depth == 0 && !matches!(v, Tok::Eof | Tok::Punct(b',')) {
                values += 1;
                if let Tok::Word(w) | Tok::QIdent(w) | Tok::Str(w, _) = v {
                    if values == 1 {
                        value_name = w;
                    }
                }
                if sets_client_charset && values == 1 {
                    // `SET NAMES x COLLATE y`: the set is the first word.
                    charset = Some(match std::str::from_utf8(value_name) {
                        Ok(n) if !n.is_empty() => Charset::from_name(n),
                        _ => Charset::UNKNOWN,
                    });
                } else if !value_only {
                    // `character_set_client = CONCAT(...)`, `= @cs`: cannot tell.
                    charset = Some(Charset::UNKNOWN);
                }
            }
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
    seg.charset = charset;
    seg.named_lock = reads.lock;
    seg.user_var_write = user || reads.user_assign;
    seg.conn_id = reads.conn_id;
    seg.next_only = next_only && !bad;
    let unreplayable = reads.side_effect || reads.session_read || reads.nondet || auto_is_null;
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
pub(crate) fn setting_key(prefix: &[u8], name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in prefix.iter().chain(name) {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub(super) fn merge_reads(acc: &mut Reads, r: Reads) {
    acc.side_effect |= r.side_effect;
    acc.session_read |= r.session_read;
    acc.last |= r.last;
    acc.user_assign |= r.user_assign;
    acc.prev_dep |= r.prev_dep;
    acc.found_rows |= r.found_rows;
    acc.calc_found_rows |= r.calc_found_rows;
    acc.master_read |= r.master_read;
    acc.nondet |= r.nondet;
    acc.var_read |= r.var_read;
    acc.conn_id |= r.conn_id;
    acc.lock |= r.lock;
}

/// The unquoted text of an identifier token (bare, backtick or ANSI `"..."`).
pub(super) fn ident(t: Tok<'_>) -> Option<String> {
    match t {
        Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
        Tok::QIdent(raw) => Some(unquote(raw, b'`')),
        Tok::Str(raw, b'"') => Some(unquote(raw, b'"')),
        _ => None,
    }
}

pub(super) fn unquote(raw: &[u8], q: u8) -> String {
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
pub(super) fn qualified_name<'a>(st: &mut Stream<'a>, first: Tok<'a>) -> (Option<String>, Tok<'a>) {
    let mut name = ident(first);
    let mut t = st.next();
    while name.is_some() && t == Tok::Punct(b'.') {
        name = ident(st.next());
        t = st.next();
    }
    (name, t)
}

pub(super) fn create(st: &mut Stream<'_>) -> Seg {
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

pub(super) fn drop_stmt(st: &mut Stream<'_>) -> Seg {
    let mut t = st.next();
    if is_kw(t, b"PREPARE") {
        return Seg::master(Kind::Deallocate);
    }
    let mut seg = Seg::master(Kind::Ddl);
    if is_kw(t, b"DATABASE") || is_kw(t, b"SCHEMA") {
        t = st.next();
        if is_kw(t, b"IF") {
            st.next(); // EXISTS
            t = st.next();
        }
        seg.dropped_db = ident(t);
        return seg;
    }
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
