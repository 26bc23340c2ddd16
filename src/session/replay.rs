//! Session state carried between backends: recorded SETs, the database and the
//! multi-statement option, replayed lazily on a backend right before it is used.

use super::*;

/// Beyond this many recorded session statements the session stops replaying and stays on the
/// master, so a client that SETs in a loop cannot grow the proxy's memory without bound.
pub(super) const MAX_RECORDED: usize = 256;

/// What the session has set that every backend it uses must have: the database, the recorded
/// statements in order (with a sequence number each connection's `applied` is compared with),
/// and the multi-statement option.
pub(super) struct Replay {
    pub(super) db: Option<String>,
    /// A database the session may have selected instead of `db`: a multi-statement with a
    /// `USE` ended in an error (the `USE` may or may not have run). Rules judge against both;
    /// cleared by the next database change the proxy sees succeed.
    pub(super) db_maybe: Option<String>,
    pub(super) recorded: Vec<Recorded>,
    pub(super) rec_seq: u64,
    pub(super) multi_statements_off: bool,
    /// Signature of `recorded` (0 when empty): a connection whose `state_sig` equals it
    /// carries exactly this session's recorded state.
    pub(super) state_sig: u64,
}

impl Replay {
    pub(super) fn new(db: Option<String>, multi_statements_off: bool) -> Self {
        Replay {
            db,
            db_maybe: None,
            recorded: Vec::new(),
            rec_seq: 0,
            multi_statements_off,
            state_sig: 0,
        }
    }
}

/// A session-state statement that succeeded and must be replayed on backends that did not run it.
pub(super) struct Recorded {
    pub(super) seq: u64,
    /// The setting it assigns (`Classification::record_key`).
    pub(super) key: Option<u64>,
    /// Its value reads variables, so what was set before it must be replayed before it.
    pub(super) reads_vars: bool,
    pub(super) sql: Vec<u8>,
    /// Assigns a user variable: state particular to this session (not worth sharing
    /// connections over, see `releasable`).
    pub(super) user_var: bool,
    /// A multi-statement (`SET a = 1; SET b = 2`): replayed with multi-statements on, whatever
    /// the connection it is replayed on has (a client may have turned them on only for it).
    pub(super) multi: bool,
}

/// Signature of a session's recorded state: equal lists of recorded statements, equal
/// signatures; 0 for none.
pub(super) fn state_signature(recorded: &[Recorded]) -> u64 {
    if recorded.is_empty() {
        return 0;
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for r in recorded {
        r.sql.hash(&mut h);
    }
    h.finish().max(1)
}

impl Session {
    /// Replays what the backend has not seen yet: database, recorded SETs, multi-statement option.
    pub(super) async fn sync_state(&mut self, target: Target) -> Result<(), MyError> {
        // Fast path (every statement): the backend already has everything.
        {
            let conn = match target {
                Target::Master => self.master.as_ref(),
                Target::Replica => self.replica.as_ref(),
            };
            if let Some(c) = conn {
                if c.applied == self.replay.rec_seq
                    && c.multi_statements_off == self.replay.multi_statements_off
                    && (self.conn_db().is_none() || c.db.as_deref() == self.conn_db())
                    && (c.client_tracking == self.show_client_tracking
                        || (c.client_tracking && self.keep_client_tracking))
                {
                    return Ok(());
                }
            }
        }
        let db = self.conn_db().map(str::to_string);
        let rec_seq = self.replay.rec_seq;
        let state_sig = self.replay.state_sig;
        let multi_off = self.replay.multi_statements_off;
        let pending: Vec<(Vec<u8>, bool)> = {
            let conn = match target {
                Target::Master => self.master.as_ref(),
                Target::Replica => self.replica.as_ref(),
            };
            let Some(conn) = conn else {
                return Err(MyError::backend_unavailable(
                    "backend",
                    "?",
                    "not connected",
                ));
            };
            self.replay
                .recorded
                .iter()
                .filter(|r| r.seq > conn.applied)
                .map(|r| (r.sql.clone(), r.multi))
                .collect()
        };
        let (show_client, keep_client) = (self.show_client_tracking, self.keep_client_tracking);
        let conn = self.conn_mut(target).expect("checked above");
        let lost = |e: std::io::Error| {
            MyError::backend_unavailable(conn_role_name(target), "", &e.to_string())
        };
        // The database and the replayed statements are tracked state, not dirt.
        let was_dirty = conn.dirty;
        if let Some(db) = db.as_deref() {
            if conn.db.as_deref() != Some(db) {
                let mut p = vec![COM_INIT_DB];
                p.extend_from_slice(db.as_bytes());
                conn.run_simple(&p).await.map_err(lost)??;
                conn.db = Some(db.to_string());
            }
        }
        if conn.multi_statements_off && pending.iter().any(|(_, multi)| *multi) {
            // MYSQL_OPTION_MULTI_STATEMENTS_ON for the replay; set back to the session's
            // option below.
            conn.run_simple(&[COM_SET_OPTION, 0, 0])
                .await
                .map_err(lost)??;
            conn.multi_statements_off = false;
        }
        // Decided before the replay: a connection that already ran the previous statement
        // with the client's tracking settings keeps them for a statement about that one.
        let want_client = show_client || (conn.client_tracking && keep_client);
        for (sql, _) in pending {
            conn.run_query(&sql).await.map_err(lost)??;
            // The client's own tracking settings replayed: the connection has them now (the
            // proxy's go back on top below).
            conn.client_tracking |=
                conn.tracking && super::tracked::mentions(&sql, b"session_track");
        }
        conn.applied = rec_seq;
        conn.state_sig = state_sig;
        conn.dirty = was_dirty;
        if conn.tracking && conn.client_tracking != want_client {
            let client_settings;
            let set = if want_client {
                client_settings = self.track_view.as_settings();
                client_settings.as_str()
            } else {
                crate::backend::SET_TRACKING
            };
            let conn = self.conn_mut(target).expect("checked above");
            conn.run_query(set.as_bytes()).await.map_err(lost)??;
            conn.client_tracking = want_client;
        }
        let conn = self.conn_mut(target).expect("checked above");
        if conn.multi_statements_off != multi_off {
            let opt: u16 = if multi_off { 1 } else { 0 };
            let p = [COM_SET_OPTION, opt as u8, (opt >> 8) as u8];
            conn.run_simple(&p).await.map_err(lost)??;
            conn.multi_statements_off = multi_off;
        }
        Ok(())
    }

    /// Remembers a successful session-state statement for the other backends.
    /// `clean`: the statement left nothing else behind (see `BackendConn::mark_clean`).
    pub(super) fn record(&mut self, c: &Classification, sql: &[u8], ran_on: Target, clean: bool) {
        self.record_sql(
            c.record_key,
            c.reads_vars,
            sql.to_vec(),
            c.user_var_write,
            c.multi,
            ran_on,
            clean,
        );
    }

    /// Adds one statement to the replay list (see `Recorded` for the fields); the connection
    /// it ran on has it already.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_sql(
        &mut self,
        key: Option<u64>,
        reads_vars: bool,
        sql: Vec<u8>,
        user_var: bool,
        multi: bool,
        ran_on: Target,
        clean: bool,
    ) {
        if self.replay.recorded.len() >= MAX_RECORDED {
            self.pin("too many session statements to replay");
            return;
        }
        // A later SET of the same setting replaces the earlier one in the replay list, unless
        // a statement from there on read variables (`SET sql_mode='A'; SET @saved=@@sql_mode;
        // SET sql_mode='B'` must replay all three, in order).
        if let (Some(k), false) = (key, reads_vars) {
            if let Some(i) = self.replay.recorded.iter().rposition(|r| r.key == Some(k)) {
                if !self.replay.recorded[i..].iter().any(|r| r.reads_vars) {
                    self.replay.recorded.remove(i);
                }
            }
        }
        self.replay.rec_seq += 1;
        self.replay.recorded.push(Recorded {
            seq: self.replay.rec_seq,
            key,
            reads_vars,
            sql,
            user_var,
            multi,
        });
        self.replay.state_sig = state_signature(&self.replay.recorded);
        let seq = self.replay.rec_seq;
        let sig = self.replay.state_sig;
        if let Some(conn) = self.conn_mut(ran_on) {
            if conn.applied == seq - 1 {
                conn.applied = seq;
                conn.state_sig = sig;
                if clean {
                    conn.mark_clean();
                }
            } else {
                conn.state_sig = 0;
            }
        }
    }

    pub(super) async fn init_db(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let db = String::from_utf8_lossy(&pkt[1..]).into_owned();
        // Like `USE db`: the session moves to the cluster that owns the database.
        if let Err(e) = self.enter_cluster(self.cluster_of_db(&db)) {
            return self.send_error(&e).await;
        }
        let target = self.current();
        let forwarded = self
            .forward_selecting_db(target, pkt, Expect::Single, false)
            .await;
        if let Some((used, scanner)) = forwarded? {
            if !scanner.error {
                self.replay.db = Some(db.clone());
                self.replay.db_maybe = None;
                self.db_here = self.db_owned_here();
                if let Some(conn) = self.conn_mut(used) {
                    conn.db = Some(db);
                }
            }
        }
        Ok(())
    }

    pub(super) async fn set_option(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        if pkt.len() < 3 {
            return self.send_error(&MyError::unknown_command()).await;
        }
        let off = u16::from_le_bytes([pkt[1], pkt[2]]) == 1;
        let target = self.current();
        if let Some((used, scanner)) = self.forward(target, pkt, Expect::Single, false).await? {
            if !scanner.error {
                self.replay.multi_statements_off = off;
                if let Some(conn) = self.conn_mut(used) {
                    conn.multi_statements_off = off;
                }
            }
        }
        Ok(())
    }

    /// After COM_RESET_CONNECTION or COM_CHANGE_USER: the servers start the session over, so
    /// does the proxy (the database is kept, as the server keeps it).
    pub(super) fn forget_session_state(&mut self) {
        self.replay.recorded.clear();
        self.replay.state_sig = 0;
        self.prepared.stmts.clear();
        self.prepared.last_prepared = None;
        self.master_holds = None;
        // A reset or a new login puts the client's character set back to its handshake's.
        self.charset = classify::Charset::from_collation(self.login.collation);
        self.replay.multi_statements_off = !self
            .login
            .capabilities
            .contains(mysql_common::constants::CapabilityFlags::CLIENT_MULTI_STATEMENTS);
        self.routing.reset();
        self.temp_tables.clear();
        self.rw.gtid_dirty = false;
        self.rw.write_pending = false;
    }
}
