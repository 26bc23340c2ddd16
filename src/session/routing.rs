//! The session's side of routing: it feeds `route::decide` the routing state as it stands
//! (with the previous statement's backend only if that connection is still there), applies
//! the servers' status flags, and carries out what a finished statement means for where later
//! statements go (`after_statement`, shared by the text and binary protocols).

use super::*;

impl Session {
    /// The routing state for the next decision: "the previous statement's backend" is
    /// forgotten when that connection is gone (unless it was only handed back to the pool
    /// while idle, where any clean replica connection answers as it would).
    pub(super) fn routing_now(&mut self) -> &RoutingState {
        let gone = |t: Option<Target>| match t {
            Some(Target::Master) => self.master.is_none(),
            Some(Target::Replica) => self.replica.is_none() && !self.replica_released,
            None => false,
        };
        let (last_gone, select_gone) = (gone(self.routing.last), gone(self.routing.last_select));
        if gone(self.routing.next_here) {
            self.routing.next_here = None;
        }
        if last_gone {
            self.routing.last = None;
        }
        if select_gone {
            self.routing.last_select = None;
        }
        self.routing.read_only_transactions_on_replicas = self
            .shared
            .topology
            .load()
            .config
            .routing
            .read_only_transactions_on_replicas;
        &self.routing
    }

    /// Where one statement runs.
    pub(super) fn decide(&mut self, c: &Classification, proto: Protocol) -> Decision {
        route::decide(c, self.routing_now(), proto)
    }

    /// Where one statement runs, with the route of the rule that matched it (`rules`).
    pub(super) fn decide_ruled(
        &mut self,
        c: &Classification,
        proto: Protocol,
        rule: Option<crate::rules::RouteTo>,
    ) -> Decision {
        route::decide_with_rule(c, self.routing_now(), proto, rule)
    }

    /// The backend for commands that follow the session rather than a statement
    /// (COM_INIT_DB, COM_SET_OPTION, COM_PING, COM_STATISTICS, COM_RESET_CONNECTION): the
    /// one the previous statement ran on; a replica before any statement of a free session.
    pub(super) fn current(&mut self) -> Target {
        let st = self.routing_now();
        match st.placement() {
            route::Placement::Transaction(t) => t,
            route::Placement::Pinned(_) => Target::Master,
            route::Placement::Free => st.last.unwrap_or(Target::Replica),
        }
    }

    /// Everything runs on the master from now on (until a reset).
    pub(super) fn pin(&mut self, why: &str) {
        if self.routing.pin() {
            debug!(client = %self.peer, reason = why, "session pinned to the master");
        }
    }

    /// A response from `on` ended with these status flags (None: the response carried none).
    pub(super) fn status_from(&mut self, on: Target, status: Option<StatusFlags>) {
        if let Some(st) = status {
            self.routing.on_status(
                on,
                st.contains(StatusFlags::SERVER_STATUS_IN_TRANS),
                st.contains(StatusFlags::SERVER_STATUS_AUTOCOMMIT),
            );
        }
    }

    /// The session's database was dropped on `used`: the server leaves that connection without
    /// one, and so does the session. Another connection that selected it would still name it
    /// (`SELECT DATABASE()`), so it is closed; the next one opens without a database.
    pub(super) fn dropped_current_db(&mut self, used: Target) {
        self.replay.db = None;
        self.db_here = self.db_owned_here();
        for t in [Target::Master, Target::Replica] {
            let Some(conn) = self.conn_mut(t) else {
                continue;
            };
            if t == used {
                conn.db = None;
            } else if conn.db.is_some() {
                conn.broken = true;
            }
        }
    }

    /// What a statement that ran on `used` means for the session, whichever protocol brought
    /// it: read-your-writes, where user variables and temporary tables live, the database,
    /// recorded settings, pins. `sql` is the statement's text (recorded for replay).
    pub(super) async fn after_statement(
        &mut self,
        c: &Classification,
        sql: &[u8],
        used: Target,
        scanner: &Scanner,
        proto: Protocol,
    ) {
        let rerouted;
        let c = if std::mem::take(&mut self.rerouted_write) && used == Target::Master {
            // Refused by a replica as read-only: it wrote (or tried to) on the master, and
            // whatever it set lives there; replaying it elsewhere would be refused again.
            let mut w = c.clone();
            w.writes = true;
            w.record = false;
            w.master_only_state |= w.kinds.contains(Kind::Set) && !w.user_var_write;
            w.user_var_write |= w.kinds.contains(Kind::Set);
            rerouted = w;
            &rerouted
        } else {
            c
        };
        let charset_before = self.charset;
        if let Some(cs) = c.charset {
            // The server reads the next statements in the new set; after an error a
            // multi-statement may or may not have changed it.
            if !scanner.error {
                self.charset = cs;
            } else if c.multi {
                self.charset = classify::Charset::UNKNOWN;
            }
        }
        // What the server reported wins over the text: the database, the charset, variables.
        let applied = self.apply_tracked(c, used, scanner);
        if c.opaque && !applied.charset && self.conn_mut(used).is_some_and(|c| c.tracking) {
            // EXECUTE, a procedure, a compound block: the server would have reported a new
            // character_set_client; it did not, so the set is the one before.
            self.charset = charset_before;
        }
        // A plain SET of session variables whose new values the server reported is recorded
        // by those values; the text stays for what trackers do not report or must not be
        // replayed by value (user variables, `timestamp`, `autocommit`).
        let by_value = applied.values
            && !c.user_var_write
            && !c.multi
            && c.kind == Kind::Set
            && !tracked::mentions(sql, b"timestamp")
            && !tracked::mentions(sql, b"autocommit");
        if c.kinds.contains(Kind::Set) && tracked::mentions(sql, b"session_track") {
            self.client_set_tracking(used, sql).await;
        }
        // A one-shot SET binds the next statement to where it ran; any statement uses it up.
        self.routing.next_here = (c.next_statement_only && !scanner.error).then_some(used);
        // A SELECT that failed (a syntax error) leaves the server's FOUND_ROWS() as it was.
        if c.kinds.contains(Kind::Select) && !scanner.error {
            self.routing.last_select = Some(used);
        }
        // Read-your-writes first: a multi-statement may have written before an error.
        if used == Target::Master {
            self.after_master_statement(c, scanner.last_gtid).await;
        }
        if c.opaque && used == Target::Master {
            // CALL, SQL EXECUTE, EXECUTE IMMEDIATE, BEGIN NOT ATOMIC: OUT parameters and
            // whatever they SET or created (user and session variables, temporary tables) live
            // on the master now, out of the proxy's sight; even a failed one may have run part.
            self.routing.user_vars_on_master = true;
            self.pin("statements run inside CALL, EXECUTE or a compound block");
        }
        if used == Target::Master && (!scanner.error || c.multi) {
            if c.named_lock {
                self.master_holds = Some("a named lock (GET_LOCK)");
            } else if c.kinds.contains(Kind::Prepare) && self.master_holds.is_none() {
                self.master_holds = Some("a prepared statement (SQL PREPARE)");
            }
        }
        if let Some(db) = &c.dropped_db {
            if self.replay.db.as_deref() == Some(db.as_str()) && (!scanner.error || c.multi) {
                self.dropped_current_db(used);
            }
        }
        if c.multi && c.kinds.contains(Kind::Lock) {
            self.pin("LOCK TABLES inside a multi-statement");
        } else if used == Target::Master && !scanner.error {
            if c.kind == Kind::Lock {
                self.routing.table_locks(true);
            } else if c.kind == Kind::Unlock {
                self.routing.table_locks(false);
            }
        }
        if c.connection_id {
            if let Some(conn) = self.conn_mut(used) {
                let thread = conn.thread_id;
                self.shared.registry.add_shown_id(self.id, thread);
            }
        }
        // Temporary tables: created or dropped even when a later part of a multi-statement
        // failed; at worst a statement goes to the master needlessly.
        for op in &c.temp_ops {
            match op {
                classify::TempTableOp::Create(name) => {
                    if !self
                        .temp_tables
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(name))
                    {
                        self.temp_tables.push(name.clone());
                    }
                }
                classify::TempTableOp::Drop(names) => {
                    self.temp_tables
                        .retain(|t| !names.iter().any(|n| n.eq_ignore_ascii_case(t)));
                }
                classify::TempTableOp::Rename(pairs) => {
                    for (from, to) in pairs {
                        for t in self.temp_tables.iter_mut() {
                            if t.eq_ignore_ascii_case(from) {
                                *t = to.clone();
                            }
                        }
                    }
                }
            }
        }
        if scanner.error {
            if c.multi && (c.kinds.contains(Kind::Set) || c.kinds.contains(Kind::Use)) {
                // Some of its SETs may have run before the error: only the master knows.
                self.pin("multi-statement with session state ended in an error");
            }
            if let (true, Some(db)) = (c.multi, &c.rule.last_use) {
                // Its USE may have run before the error: rules judge the next statements
                // against that database too.
                self.replay.db_maybe = Some(db.clone());
            }
            return;
        }
        if c.user_var_write && !c.record {
            // SELECT ... @x := / INTO @x, SET @x = UUID(): @x lives on the master now.
            self.routing.user_vars_on_master = true;
        }
        if c.master_only_state && !by_value {
            self.pin("session variable set to a value only the master has");
        }
        if proto != Protocol::Text {
            if c.record && !by_value {
                // A SET or USE through a prepared statement: no text to replay.
                self.pin("session state set through a prepared statement");
            }
            return;
        }
        if let (None, Some(db)) = (&c.use_db, &c.rule.last_use) {
            if c.multi {
                // A USE inside a multi-statement that ran whole: the session is in that
                // database now (and pinned below, with the rest of its state).
                self.replay.db = Some(db.clone());
                self.replay.db_maybe = None;
                self.db_here = self.db_owned_here();
                if let Some(conn) = self.conn_mut(used) {
                    conn.db = Some(db.clone());
                }
            } else {
                // A USE whose name depends on how the server reads the text (it is not
                // recorded): rules judge the next statements against that database too.
                self.replay.db_maybe = Some(db.clone());
            }
        }
        if let Some(db) = &c.use_db {
            self.replay.db = Some(db.clone());
            self.replay.db_maybe = None;
            self.db_here = self.db_owned_here();
            if let Some(conn) = self.conn_mut(used) {
                conn.db = Some(db.clone());
            }
        } else if c.record && !by_value {
            // A single SET that ended cleanly leaves only state the proxy tracks.
            let clean = !c.multi && scanner.warnings == 0 && self.routing.trx().is_none();
            self.record(c, sql, used, clean);
        } else if c.multi && (c.kinds.contains(Kind::Set) || c.kinds.contains(Kind::Use)) {
            // A multi-statement mixing SETs with other work cannot be replayed: keep the
            // session where that state lives.
            self.pin("multi-statement with session state");
        }
    }
}
