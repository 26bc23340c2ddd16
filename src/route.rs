//! The routing decision: where one statement runs, from the classifier's single scan of it
//! (`classify::Classification`) and the session's routing state. Pure: no I/O, no clock, no
//! topology — the session makes the chosen connection ready, falls back to the master when no
//! replica can serve, and applies read-your-writes when the decision says so.
//!
//! Text queries, prepares and executes of prepared statements all come through [`decide`], so
//! the text and binary protocols cannot disagree about a statement.

use crate::classify::{Classification, Hint, Kind, Route};
use crate::rules::RouteTo;

/// A backend of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Master,
    Replica,
}

/// How the statement arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// COM_QUERY.
    Text,
    /// COM_STMT_PREPARE: where the statement is prepared first (it is prepared lazily on any
    /// other backend an execute goes to).
    Prepare,
    /// COM_STMT_EXECUTE of a statement prepared earlier.
    Execute,
}

/// Why a session runs everything on the master outside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinReason {
    /// `autocommit=0`: every statement opens or continues a transaction.
    AutocommitOff,
    /// Session state the proxy cannot replay elsewhere (too many SETs, a SET of a value only
    /// the master can reproduce, a multi-statement mixing SETs with other work, a SET through
    /// a prepared statement). Lasts until COM_RESET_CONNECTION or COM_CHANGE_USER.
    MasterOnlyState,
    /// `LOCK TABLES` holds table locks on the master connection: until `UNLOCK TABLES` the
    /// server answers every statement in their light (1100 for a table not locked).
    TableLocks,
}

/// Where the session stands, as far as routing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Reads may go to a replica.
    Free,
    /// A transaction is open on that backend (from the server's status flags): everything
    /// goes there until it ends.
    Transaction(Target),
    /// Everything goes to the master.
    Pinned(PinReason),
}

/// The session's routing state. The transitions are the methods below; [`RoutingState::placement`]
/// is what [`decide`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingState {
    /// The backend holding an open transaction (server status flags). Normally the master; a
    /// replica for `START TRANSACTION READ ONLY`.
    trx: Option<Target>,
    /// The master's autocommit flag, as its last OK packet said.
    autocommit: bool,
    /// State only the master holds; see [`PinReason::MasterOnlyState`].
    master_only_state: bool,
    /// See [`PinReason::TableLocks`].
    table_locks: bool,
    /// Policy (`[routing] read_only_transactions_on_replicas`): may `START TRANSACTION READ
    /// ONLY` run on a replica?
    pub read_only_transactions_on_replicas: bool,
    /// User variables were assigned on the master in a way no replay reproduces (SELECT ...
    /// INTO @x, @x := ..., a CALL's OUT parameters, SET @x = UUID()): reads of `@vars` go there.
    pub user_vars_on_master: bool,
    /// The backend that ran the previous statement, whatever it was (FOUND_ROWS(), ROW_COUNT(),
    /// SHOW WARNINGS and session SETs go there). None when that connection is gone.
    pub last: Option<Target>,
    /// The backend that ran the previous SELECT: FOUND_ROWS() is about it.
    pub last_select: Option<Target>,
    /// A SET for the next statement or transaction only (`SET TRANSACTION READ ONLY`, `SET
    /// insert_id`) ran here: the next statement, whatever it is, runs here too.
    pub next_here: Option<Target>,
}

impl Default for RoutingState {
    fn default() -> Self {
        RoutingState {
            trx: None,
            autocommit: true,
            master_only_state: false,
            table_locks: false,
            read_only_transactions_on_replicas: false,
            user_vars_on_master: false,
            last: None,
            last_select: None,
            next_here: None,
        }
    }
}

impl RoutingState {
    pub fn placement(&self) -> Placement {
        if let Some(t) = self.trx {
            Placement::Transaction(t)
        } else if self.master_only_state {
            Placement::Pinned(PinReason::MasterOnlyState)
        } else if self.table_locks {
            Placement::Pinned(PinReason::TableLocks)
        } else if !self.autocommit {
            Placement::Pinned(PinReason::AutocommitOff)
        } else {
            Placement::Free
        }
    }

    /// The backend holding the open transaction, if any.
    pub fn trx(&self) -> Option<Target> {
        self.trx
    }

    pub fn autocommit(&self) -> bool {
        self.autocommit
    }

    pub fn master_only_state(&self) -> bool {
        self.master_only_state
    }

    /// A response from `on` ended with these status flags: the server's word on transactions
    /// (BEGIN, autocommit=0, XA, implicit commits all show up here).
    pub fn on_status(&mut self, on: Target, in_trans: bool, autocommit: bool) {
        if in_trans {
            self.trx = Some(on);
        } else if self.trx == Some(on) {
            self.trx = None;
        }
        if on == Target::Master {
            self.autocommit = autocommit;
        }
    }

    /// The session moves to another cluster where this state was its routing state: what
    /// is the session's rather than a connection's comes along — autocommit (replayed there
    /// with the session's SETs) and the routing policy.
    pub fn carry_session(&mut self, from: &RoutingState) {
        self.autocommit = from.autocommit;
        self.read_only_transactions_on_replicas = from.read_only_transactions_on_replicas;
    }

    /// The transaction's backend was lost: the transaction is gone with it.
    pub fn transaction_lost(&mut self) {
        self.trx = None;
    }

    /// From now on everything runs on the master (until a reset).
    pub fn pin(&mut self) -> bool {
        !std::mem::replace(&mut self.master_only_state, true)
    }

    /// `LOCK TABLES` (true) or `UNLOCK TABLES` (false) succeeded on the master.
    pub fn table_locks(&mut self, held: bool) {
        self.table_locks = held;
    }

    /// COM_RESET_CONNECTION / COM_CHANGE_USER: the servers start the session over.
    pub fn reset(&mut self) {
        *self = RoutingState {
            last: self.last,
            last_select: self.last_select,
            read_only_transactions_on_replicas: self.read_only_transactions_on_replicas,
            ..RoutingState::default()
        };
    }
}

/// Where a statement runs and under which rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub target: Target,
    /// A plain read: if its replica fails before any byte reaches the client it may run again
    /// elsewhere.
    pub retry: bool,
    /// Read-your-writes applies: the replica must have the writes this session must see.
    pub consistent_read: bool,
}

impl Decision {
    fn to(target: Target) -> Self {
        Decision {
            target,
            retry: false,
            consistent_read: false,
        }
    }

    /// A read. Read-your-writes applies to a prepare too: preparing a statement on a replica
    /// that has not seen this session's CREATE TABLE fails with 1146.
    fn read() -> Self {
        Decision {
            target: Target::Replica,
            retry: true,
            consistent_read: true,
        }
    }
}

/// Statement kinds a replica may answer when a hint asks: reads only, never a write, whatever
/// the hint says.
fn is_read_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Select | Kind::Show | Kind::Describe | Kind::Explain
    )
}

/// The routing function. Rules, in order (the first that applies decides):
///
/// 1. Inside a transaction: its backend. Pinned (autocommit off, master-only state): master.
///    After a SET for the next statement only (`SET TRANSACTION READ ONLY`): where it ran.
/// 2. Anything that writes, locks, assigns a user variable or is not understood: master,
///    whatever a hint or the previous statement says.
/// 3. A `rwsplit:master` hint; a statement naming one of the session's temporary tables; a
///    read of `@vars` once user variables live on the master: master.
/// 4. `START TRANSACTION READ ONLY`, when `read_only_transactions_on_replicas` allows it: a
///    replica (the whole transaction then follows rule 1). Otherwise it is a transaction like
///    any other: master.
/// 5. Statements about the previous statement (ROW_COUNT(), SHOW WARNINGS, GET DIAGNOSTICS):
///    where the previous statement ran, whatever it was; FOUND_ROWS(): where the previous
///    SELECT ran (the server keeps its count across other statements).
/// 6. Plain reads, and reads with a `rwsplit:replica` hint: a replica, retryable, with
///    read-your-writes.
/// 7. Session SETs and USE: where the previous statement ran — before any statement, a
///    replica, the backend a free session reads from (so a page view that sets its character
///    set and reads costs the master nothing). Through the binary protocol (no text to
///    record and replay) they run on the master.
/// 8. Everything else: master.
pub fn decide(c: &Classification, st: &RoutingState, proto: Protocol) -> Decision {
    decide_with_rule(c, st, proto, None)
}

/// [`decide`] with the route of the operator's rule that matched the statement, if any
/// (`[[rules]] route`; see `rules`). A rule acts only where the session is free to choose:
///
/// - rules 1 and 2 come first: a transaction keeps its backend, a pinned session stays on the
///   master, a one-shot SET takes the next statement with it, and a write, a locking read or
///   anything not understood runs on the master, whatever a rule says;
/// - `route = "master"` then sends everything else to the master (reads, session SETs, a
///   `START TRANSACTION READ ONLY`), except statements about the previous statement (SHOW
///   WARNINGS, FOUND_ROWS()), which must still run where it ran;
/// - `route = "replica"` sends a single read (SELECT, SHOW, DESCRIBE, EXPLAIN) to a replica —
///   like a `/* rwsplit:replica */` hint, of which it has every limit: not a read of the master
///   connection's own state (LAST_INSERT_ID(), @@identity, lock state), of the session's
///   temporary tables, of user variables that live on the master, nor one with a
///   `/* rwsplit:master */` hint (the application asked for fresh data). Anything else
///   routes as without the rule.
pub fn decide_with_rule(
    c: &Classification,
    st: &RoutingState,
    proto: Protocol,
    rule: Option<RouteTo>,
) -> Decision {
    match st.placement() {
        Placement::Transaction(t) => return Decision::to(t),
        Placement::Pinned(_) => return Decision::to(Target::Master),
        Placement::Free => {}
    }
    if let Some(t) = st.next_here {
        return Decision::to(t);
    }
    if c.writes {
        return Decision::to(Target::Master);
    }
    let about_previous = c.depends_on_previous || c.route == Route::Last;
    match rule {
        Some(RouteTo::Master) if !about_previous => return Decision::to(Target::Master),
        Some(RouteTo::Replica)
            if is_read_kind(c.kind)
                && !c.multi
                && !about_previous
                && !c.master_read
                && c.hint != Some(Hint::Master)
                && !c.mentions_named
                && !(st.user_vars_on_master && c.user_var_read) =>
        {
            return Decision::read();
        }
        _ => {}
    }
    if c.hint == Some(Hint::Master)
        || c.mentions_named
        || (st.user_vars_on_master && c.user_var_read)
    {
        return Decision::to(Target::Master);
    }
    if c.kind == Kind::Begin && c.read_only_start && !c.multi {
        return Decision::to(if st.read_only_transactions_on_replicas {
            Target::Replica
        } else {
            Target::Master
        });
    }
    if about_previous {
        let previous = if c.reads_found_rows {
            st.last_select.or(st.last)
        } else {
            st.last
        };
        return Decision::to(previous.unwrap_or(Target::Master));
    }
    if c.route == Route::Replica
        || (c.hint == Some(Hint::Replica) && is_read_kind(c.kind) && !c.multi)
    {
        return Decision::read();
    }
    if c.route == Route::Current {
        if proto != Protocol::Text {
            return Decision::to(Target::Master);
        }
        // A session SET on a replica that fails before answering runs again elsewhere (it is
        // recorded only once it succeeded): a driver's `SET NAMES` right after login must not
        // wait for a silent replica.
        let target = st.last.unwrap_or(Target::Replica);
        return Decision {
            target,
            retry: target == Target::Replica,
            consistent_read: false,
        };
    }
    Decision::to(Target::Master)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;

    fn free() -> RoutingState {
        RoutingState::default()
    }

    fn after(last: Target) -> RoutingState {
        RoutingState {
            last: Some(last),
            ..RoutingState::default()
        }
    }

    fn text(sql: &str, st: &RoutingState) -> Target {
        decide(&classify(sql.as_bytes()), st, Protocol::Text).target
    }

    #[test]
    fn reads_go_to_replicas_writes_to_the_master() {
        let d = decide(&classify(b"SELECT * FROM t"), &free(), Protocol::Text);
        assert_eq!(
            d,
            Decision {
                target: Target::Replica,
                retry: true,
                consistent_read: true
            }
        );
        for w in [
            "INSERT INTO t VALUES (1)",
            "SELECT * FROM t FOR UPDATE",
            "SELECT 1; DELETE FROM t",
            "/* rwsplit:replica */ DELETE FROM t",
            "CALL p(1, @o)",
            "SELECT NEXTVAL(s)",
        ] {
            assert_eq!(text(w, &after(Target::Replica)), Target::Master, "{w}");
        }
    }

    #[test]
    fn a_transaction_keeps_everything() {
        let mut st = free();
        st.on_status(Target::Master, true, true);
        assert_eq!(st.placement(), Placement::Transaction(Target::Master));
        assert_eq!(text("SELECT 1", &st), Target::Master);
        let d = decide(&classify(b"SELECT 1"), &st, Protocol::Execute);
        assert!(!d.retry && !d.consistent_read);
        st.on_status(Target::Master, false, true);
        assert_eq!(st.placement(), Placement::Free);

        st.on_status(Target::Replica, true, true);
        assert_eq!(text("SELECT 1", &st), Target::Replica, "read-only trx");
        assert_eq!(
            text("INSERT INTO t VALUES (1)", &st),
            Target::Replica,
            "inside a read-only trx the server itself refuses the write"
        );
    }

    #[test]
    fn autocommit_off_and_master_only_state_pin() {
        let mut st = free();
        st.on_status(Target::Master, false, false);
        assert_eq!(st.placement(), Placement::Pinned(PinReason::AutocommitOff));
        assert_eq!(text("SELECT 1", &st), Target::Master);
        st.on_status(Target::Master, false, true);
        assert_eq!(st.placement(), Placement::Free);
        assert!(st.pin());
        assert!(!st.pin(), "pinned once");
        assert_eq!(
            st.placement(),
            Placement::Pinned(PinReason::MasterOnlyState)
        );
        st.reset();
        assert_eq!(st.placement(), Placement::Free);
    }

    #[test]
    fn read_only_start_is_read_by_the_lexer() {
        let on = RoutingState {
            read_only_transactions_on_replicas: true,
            ..RoutingState::default()
        };
        assert_eq!(text("START TRANSACTION READ ONLY", &on), Target::Replica);
        assert_eq!(
            text("START TRANSACTION /* x */ READ\nONLY", &on),
            Target::Replica
        );
        assert_eq!(
            text("START TRANSACTION READ ONLY", &free()),
            Target::Master,
            "a transaction like any other unless configured"
        );
        for s in [
            "START TRANSACTION",
            "START TRANSACTION READ ONLY, READ WRITE",
            "START TRANSACTION; INSERT INTO t (s) VALUES ('READ ONLY')",
            "START TRANSACTION READ ONLY; INSERT INTO t VALUES (1)",
            "START TRANSACTION /* READ ONLY */",
            "BEGIN",
        ] {
            assert_eq!(text(s, &on), Target::Master, "{s}");
        }
    }

    #[test]
    fn previous_statement_rules() {
        for s in [
            "SELECT FOUND_ROWS()",
            "SELECT ROW_COUNT()",
            "SHOW WARNINGS",
            "SHOW COUNT(*) ERRORS",
        ] {
            assert_eq!(text(s, &after(Target::Replica)), Target::Replica, "{s}");
            assert_eq!(text(s, &after(Target::Master)), Target::Master, "{s}");
            assert_eq!(text(s, &free()), Target::Master, "{s}");
            for proto in [Protocol::Prepare, Protocol::Execute] {
                let c = classify(s.as_bytes());
                assert_eq!(
                    decide(&c, &after(Target::Replica), proto).target,
                    Target::Replica,
                    "binary {s}"
                );
            }
        }
    }

    #[test]
    fn a_one_shot_set_takes_the_next_statement_with_it() {
        let c = classify(b"SET TRANSACTION READ ONLY");
        assert!(c.next_statement_only);
        assert!(classify(b"SET insert_id = 5").next_statement_only);
        assert!(!classify(b"SET SESSION TRANSACTION READ ONLY").next_statement_only);
        let st = RoutingState {
            next_here: Some(Target::Master),
            ..RoutingState::default()
        };
        assert_eq!(text("SELECT 1", &st), Target::Master);
    }

    #[test]
    fn found_rows_follows_the_previous_select() {
        let st = RoutingState {
            last: Some(Target::Master),
            last_select: Some(Target::Replica),
            ..RoutingState::default()
        };
        assert_eq!(text("SELECT FOUND_ROWS()", &st), Target::Replica);
        assert_eq!(text("SELECT ROW_COUNT()", &st), Target::Master);
        assert_eq!(text("SHOW WARNINGS", &st), Target::Master);
    }

    #[test]
    fn session_sets_follow_the_session() {
        assert_eq!(text("SET NAMES utf8mb4", &free()), Target::Replica);
        let d = decide(&classify(b"SET NAMES utf8mb4"), &free(), Protocol::Text);
        assert!(
            d.retry && !d.consistent_read,
            "a SET on a replica may run elsewhere"
        );
        let d = decide(
            &classify(b"SET NAMES utf8mb4"),
            &after(Target::Master),
            Protocol::Text,
        );
        assert!(!d.retry);
        assert_eq!(text("USE db", &free()), Target::Replica);
        assert_eq!(
            text("SET NAMES utf8mb4", &after(Target::Master)),
            Target::Master
        );
        assert_eq!(text("SET autocommit = 0", &free()), Target::Master);
        assert_eq!(text("SET @t = UUID()", &free()), Target::Master);
        let c = classify(b"SET NAMES utf8mb4");
        assert_eq!(
            decide(&c, &after(Target::Replica), Protocol::Execute).target,
            Target::Master
        );
    }

    #[test]
    fn master_state_sends_reads_there() {
        let mut st = after(Target::Replica);
        st.user_vars_on_master = true;
        assert_eq!(text("SELECT @o", &st), Target::Master);
        assert_eq!(text("SELECT 1", &st), Target::Replica);
        assert_eq!(text("SELECT '@o'", &st), Target::Replica, "in a string");
        let names = vec!["tmp1".to_string()];
        let c = crate::classify::analyze(b"SELECT * FROM db.`TMP1`", &names);
        assert_eq!(decide(&c, &free(), Protocol::Text).target, Target::Master);
        let c = crate::classify::analyze(b"SELECT 'tmp1' FROM t", &names);
        assert_eq!(decide(&c, &free(), Protocol::Text).target, Target::Replica);
    }

    #[test]
    fn hints() {
        assert_eq!(
            text("/* rwsplit:master */ SELECT 1", &free()),
            Target::Master
        );
        assert_eq!(
            text("/* rwsplit:replica */ SELECT LAST_INSERT_ID()", &free()),
            Target::Master,
            "the master connection's own state"
        );
        assert_eq!(
            text("/* rwsplit:replica */ SELECT @@hostname", &free()),
            Target::Replica
        );
        assert_eq!(
            text("/* rwsplit:replica */ SELECT * FROM t FOR UPDATE", &free()),
            Target::Master
        );
    }

    fn ruled(sql: &str, st: &RoutingState, rule: RouteTo) -> Target {
        decide_with_rule(&classify(sql.as_bytes()), st, Protocol::Text, Some(rule)).target
    }

    #[test]
    fn a_master_rule_moves_reads_and_sets() {
        for s in [
            "SELECT * FROM t",
            "SHOW TABLES",
            "SET NAMES utf8mb4",
            "USE db",
        ] {
            assert_eq!(text(s, &free()), Target::Replica, "{s} without the rule");
            assert_eq!(ruled(s, &free(), RouteTo::Master), Target::Master, "{s}");
        }
        let on = RoutingState {
            read_only_transactions_on_replicas: true,
            ..RoutingState::default()
        };
        assert_eq!(
            ruled("START TRANSACTION READ ONLY", &on, RouteTo::Master),
            Target::Master
        );
        for proto in [Protocol::Prepare, Protocol::Execute] {
            let c = classify(b"SELECT 1");
            let d = decide_with_rule(&c, &free(), proto, Some(RouteTo::Master));
            assert_eq!(d.target, Target::Master);
        }
    }

    #[test]
    fn a_master_rule_cannot_break_a_transaction_or_the_previous_statement() {
        let mut st = free();
        st.on_status(Target::Replica, true, true); // START TRANSACTION READ ONLY on a replica
        assert_eq!(ruled("SELECT 1", &st, RouteTo::Master), Target::Replica);
        let st = after(Target::Replica);
        assert_eq!(
            ruled("SHOW WARNINGS", &st, RouteTo::Master),
            Target::Replica
        );
        let st = RoutingState {
            next_here: Some(Target::Replica),
            ..RoutingState::default()
        };
        assert_eq!(ruled("SELECT 1", &st, RouteTo::Master), Target::Replica);
    }

    #[test]
    fn a_replica_rule_moves_reads_only() {
        for s in [
            "SELECT @@global.read_only",
            "SHOW GLOBAL STATUS",
            "SELECT 1 FROM t",
        ] {
            let d = decide_with_rule(
                &classify(s.as_bytes()),
                &free(),
                Protocol::Text,
                Some(RouteTo::Replica),
            );
            assert_eq!(d, Decision::read(), "{s}");
        }
        // Whatever the rule says: writes, locking reads, transactions, pins, the master
        // connection's own state, temporary tables, variables living on the master.
        for s in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "CREATE TABLE t2 (a INT)",
            "SELECT * FROM t FOR UPDATE",
            "SELECT * FROM t LOCK IN SHARE MODE",
            "SELECT GET_LOCK('a', 1)",
            "SELECT LAST_INSERT_ID()",
            "SELECT @@identity",
            "SELECT @x := 1",
            "SELECT 1 INTO @x",
            "BEGIN",
            "START TRANSACTION READ ONLY",
            "SELECT 1; INSERT INTO t VALUES (1)",
            "/* rwsplit:master */ SELECT 1",
            "CALL p()",
            "LOCK TABLES t READ",
            "SET autocommit = 0",
            "SELECT NEXTVAL(s)",
        ] {
            assert_eq!(ruled(s, &free(), RouteTo::Replica), Target::Master, "{s}");
        }
        let mut st = free();
        st.on_status(Target::Master, true, true);
        assert_eq!(
            ruled("SELECT 1", &st, RouteTo::Replica),
            Target::Master,
            "trx"
        );
        let mut st = free();
        st.on_status(Target::Master, false, false);
        assert_eq!(
            ruled("SELECT 1", &st, RouteTo::Replica),
            Target::Master,
            "autocommit=0"
        );
        let mut st = free();
        st.pin();
        assert_eq!(
            ruled("SELECT 1", &st, RouteTo::Replica),
            Target::Master,
            "pinned"
        );
        let mut st = free();
        st.table_locks(true);
        assert_eq!(
            ruled("SELECT 1", &st, RouteTo::Replica),
            Target::Master,
            "locks"
        );
        let mut st = after(Target::Master);
        st.user_vars_on_master = true;
        assert_eq!(ruled("SELECT @o", &st, RouteTo::Replica), Target::Master);
        assert_eq!(
            ruled(
                "SELECT FOUND_ROWS()",
                &after(Target::Master),
                RouteTo::Replica
            ),
            Target::Master,
            "about the previous statement"
        );
        let names = vec!["tmp1".to_string()];
        let c = crate::classify::analyze(b"SELECT * FROM tmp1", &names);
        let d = decide_with_rule(&c, &free(), Protocol::Text, Some(RouteTo::Replica));
        assert_eq!(d.target, Target::Master, "a temporary table");
    }
}
