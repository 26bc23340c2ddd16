//! Where the session's next statement runs, from its routing state.

use super::*;

/// Statement kinds a `/* rwsplit:replica */` hint may send to a replica: reads only, never a
/// write, whatever the hint says.
pub(super) fn is_read_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Select | Kind::Show | Kind::Describe | Kind::Explain
    )
}

impl Session {
    /// The backend for commands that follow the session (SET, USE, PING): the last one used.
    pub(super) fn current(&self) -> Target {
        match self.last {
            Some(Role::Replica) if self.replica.is_some() || self.replica_released => {
                Target::Replica
            }
            _ => Target::Master,
        }
    }

    /// The backend for a read: a replica unless a transaction or master-only state holds it.
    pub(super) fn route_read(&self, read: bool) -> Target {
        if let Some(t) = self.trx {
            return t;
        }
        if !read || !self.autocommit || self.pinned {
            Target::Master
        } else {
            Target::Replica
        }
    }

    /// Does the statement touch state that lives only on the master connection: one of this
    /// session's temporary tables, or user variables a SELECT assigned there?
    pub(super) fn state_on_master(&self, sql: &[u8]) -> bool {
        (!self.temp_tables.is_empty() && classify::mentions_any(sql, &self.temp_tables))
            || (self.user_vars_on_master && classify::reads_user_var(sql))
    }

    pub(super) fn route(&self, c: &Classification, sql: &[u8]) -> Target {
        // Everything inside a transaction runs where the transaction is.
        if let Some(t) = self.trx {
            return t;
        }
        if !self.autocommit || self.pinned {
            return Target::Master;
        }
        if self.state_on_master(sql) {
            return Target::Master;
        }
        if c.kind == Kind::Begin && classify::is_read_only_start(sql) {
            // START TRANSACTION READ ONLY may run as a whole on one replica.
            return Target::Replica;
        }
        if c.depends_on_previous {
            // FOUND_ROWS(), ROW_COUNT(): the answer is where the previous statement ran.
            return self.current();
        }
        match c.hint {
            Some(Hint::Master) => return Target::Master,
            Some(Hint::Replica) if is_read_kind(c.kind) && !c.multi => return Target::Replica,
            _ => {}
        }
        match c.route {
            Route::Master => Target::Master,
            Route::Replica => Target::Replica,
            Route::Current | Route::Last => self.current(),
        }
    }

    pub(super) fn pin(&mut self, why: &str) {
        if !self.pinned {
            debug!(client = %self.peer, reason = why, "session pinned to the master");
            self.pinned = true;
        }
    }

    /// The server's status flags are the truth about transactions: BEGIN, autocommit=0, XA and
    /// implicit commits all show up here.
    pub(super) fn status_from(&mut self, role: Role, status: Option<StatusFlags>) {
        let Some(st) = status else { return };
        let t = match role {
            Role::Master => Target::Master,
            Role::Replica => Target::Replica,
        };
        if st.contains(StatusFlags::SERVER_STATUS_IN_TRANS) {
            self.trx = Some(t);
        } else if self.trx == Some(t) {
            self.trx = None;
        }
        if role == Role::Master {
            self.autocommit = st.contains(StatusFlags::SERVER_STATUS_AUTOCOMMIT);
        }
    }
}
