//! Read-your-writes: which GTIDs a read must see, and whether a replica has them.

use super::*;

/// This session's read-your-writes positions.
#[derive(Default)]
pub(super) struct ReadYourWrites {
    /// GTIDs of this session's writes.
    pub(super) gtid_need: GtidPos,
    /// A write finished on the master and its GTID has not been fetched yet.
    pub(super) gtid_dirty: bool,
    /// The master ran something that may write inside a transaction that has not ended yet:
    /// when it ends (status flags, however it ends), the next read needs its GTID.
    pub(super) write_pending: bool,
    /// What the current replica connection is known to have applied, and which connection
    /// (backend thread id) that was.
    pub(super) replica_pos: GtidPos,
    pub(super) replica_pos_thread: u32,
}

impl Session {
    /// Read-your-writes: where a read may run given the writes this session (or, with
    /// `consistency = "global"`, anyone through this proxy) has made. A replica known to have
    /// applied them serves it; otherwise the read waits on the replica up to
    /// `consistency_wait` (MASTER_GTID_WAIT) and goes to the master if it is still behind.
    pub(super) async fn consistent(&mut self, target: Target) -> Target {
        let topo = self.topo.clone();
        let mode = topo.config.routing.consistency;
        if target != Target::Replica || mode == Consistency::Eventual {
            return target;
        }
        if self.rw.gtid_dirty && !self.fetch_last_gtid().await {
            METRICS.consistency_master.inc();
            return Target::Master;
        }
        if mode == Consistency::Global
            && !self
                .positions
                .writes_in_flight
                .settle(topo.config.routing.consistency_wait)
                .await
        {
            // A write that began before this read has not had its position noted yet.
            METRICS.consistency_master.inc();
            return Target::Master;
        }
        let mut need = self.rw.gtid_need.clone();
        if mode == Consistency::Global {
            need.merge(&self.positions.global_gtid.lock().expect("gtid lock"));
        }
        if need.is_empty() {
            return Target::Replica;
        }
        match self.ready(Target::Replica).await {
            Ok(Target::Replica) => {}
            _ => return Target::Master,
        }
        let conn = self.replica.as_mut().expect("ready");
        if self.rw.replica_pos_thread != conn.thread_id {
            self.rw.replica_pos = GtidPos::default();
            self.rw.replica_pos_thread = conn.thread_id;
        }
        if !self.rw.replica_pos.covers(&need) {
            if let Some(seen) = conn
                .backend
                .health()
                .gtid
                .as_deref()
                .and_then(GtidPos::parse)
            {
                self.rw.replica_pos.merge(&seen);
            }
        }
        if self.rw.replica_pos.covers(&need) {
            METRICS.consistency_fresh.inc();
            return Target::Replica;
        }
        let wait = topo.config.routing.consistency_wait;
        let started = Instant::now();
        let sql = format!(
            "SELECT MASTER_GTID_WAIT('{need}', {:.3})",
            wait.as_secs_f64()
        );
        let ok = matches!(conn.query_rows(&sql).await, Ok(Ok(rows)) if rows.rows.first().and_then(|r| r.first()).is_some_and(|v| v.as_deref() == Some("0")));
        METRICS
            .consistency_wait
            .observe(started.elapsed().as_secs_f64());
        if ok {
            self.rw.replica_pos.merge(&need);
            METRICS.consistency_waited.inc();
            Target::Replica
        } else {
            METRICS.consistency_master.inc();
            Target::Master
        }
    }

    /// A write of this session reached `pos`: its own reads, and with consistency = "global"
    /// everyone's, must see at least that.
    pub(super) fn note_write(&mut self, pos: &GtidPos) {
        self.rw.gtid_need.merge(pos);
        self.positions
            .global_gtid
            .lock()
            .expect("gtid lock")
            .merge(pos);
    }

    /// `note_write` of one GTID, as the OK's `last_gtid` reports it (no allocation).
    pub(super) fn note_write_gtid(&mut self, gtid: (u32, u32, u64)) {
        self.rw.gtid_need.note(gtid);
        self.positions
            .global_gtid
            .lock()
            .expect("gtid lock")
            .note(gtid);
    }

    /// Learns the GTID of this session's last write from the master. False if that failed
    /// (the caller then reads from the master, which is always up to date).
    pub(super) async fn fetch_last_gtid(&mut self) -> bool {
        self.rw.gtid_dirty = false;
        let Some(master) = self.master.as_mut() else {
            return false;
        };
        match master.query_rows("SELECT @@last_gtid").await {
            Ok(Ok(rows)) => {
                let text = rows
                    .rows
                    .first()
                    .and_then(|r| r.first().cloned().flatten())
                    .unwrap_or_default();
                match GtidPos::parse(&text) {
                    Some(pos) => {
                        self.note_write(&pos);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// The master's binlog position, read on a connection the proxy keeps for that (shared by
    /// all sessions). It includes every write committed before the call, this session's too.
    /// A kept connection the server closed meanwhile (pt-kill, a restart) is replaced at once:
    /// the write's position must not be silently missed.
    pub(super) async fn master_position(&self) -> Option<GtidPos> {
        match self.master_position_once(true).await {
            Some(pos) => Some(pos),
            None => self.master_position_once(false).await,
        }
    }

    /// One attempt of `master_position`; `reuse`: on the kept connection if there is one.
    async fn master_position_once(&self, reuse: bool) -> Option<GtidPos> {
        let topo = self.topo.clone();
        let cluster = &topo.clusters[self.cluster];
        // The connection is taken out of the shared slot for the round trip: no lock is held
        // while talking to the master, and sessions asking at the same time each use their
        // own (the extra one is closed when put back).
        let shard = crate::pool::shard();
        let taken = self
            .positions
            .gtid_probe
            .lock()
            .expect("probe lock")
            .remove(&shard);
        let mut conn = match taken {
            Some(c) if reuse && !c.broken && c.address() == cluster.master.address => c,
            _ => {
                let mut params = self.login_params(topo.config.timeouts.connect);
                params.db = None;
                BackendConn::connect(cluster.master.clone(), &params)
                    .await
                    .ok()?
                    .0
            }
        };
        // A silent master must not hold the session (and the client's OK) for long.
        let wait = topo.config.timeouts.connect;
        let pos =
            match tokio::time::timeout(wait, conn.query_rows("SELECT @@gtid_binlog_pos")).await {
                Ok(Ok(Ok(rows))) => rows
                    .rows
                    .first()
                    .and_then(|r| r.first())
                    .and_then(|v| v.as_deref())
                    .and_then(GtidPos::parse),
                _ => {
                    conn.broken = true;
                    None
                }
            };
        if !conn.broken {
            let extra = {
                let mut slots = self.positions.gtid_probe.lock().expect("probe lock");
                match slots.entry(shard) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(conn);
                        None
                    }
                    std::collections::hash_map::Entry::Occupied(_) => Some(conn),
                }
            };
            if let Some(extra) = extra {
                tokio::spawn(extra.quit());
            }
        }
        pos
    }

    /// Under global consistency, a statement that may write holds a ticket from before it is
    /// sent until its position is noted (see `writes_in_flight`).
    pub(super) fn write_ticket(
        &self,
        c: &Classification,
        target: Target,
    ) -> Option<crate::writes_in_flight::Ticket> {
        let global = self.topo.config.routing.consistency == Consistency::Global;
        (global && target == Target::Master && (c.writes || self.rw.write_pending))
            .then(|| self.positions.writes_in_flight.begin())
    }

    /// A statement finished on the master. Whenever the master ran anything that may write
    /// (`Classification::writes`: DML, DDL, NEXTVAL, a write inside a multi-statement, a SET
    /// that is not a plain session setting...) and the transaction it belonged to is over —
    /// by COMMIT, by `SET autocommit=1`, by an implicit commit, or because there was none; the
    /// status flags tell — the next read must see it. Session consistency asks the master for
    /// the GTID lazily, right before the next replica read (so warnings and ROW_COUNT() of the
    /// write stay intact for the client); global consistency asks at once, so other
    /// connections see it.
    ///
    /// `last_gtid`: the position the server reported in the statement's OK (the
    /// `last_gtid` tracker, with every commit): known at once, for the price of no query.
    pub(super) async fn after_master_statement(
        &mut self,
        c: &Classification,
        last_gtid: Option<(u32, u32, u64)>,
    ) {
        // A read the application sent to the master on purpose may call a function that
        // writes: the reads after it must see what it did.
        if c.writes || c.hint == Some(classify::Hint::Master) {
            self.rw.write_pending = true;
        }
        if let Some(gtid) = last_gtid {
            // Whatever the text said: the server committed something (a function called by
            // a read, a trigger, a procedure). Noted even inside a multi-statement.
            self.note_write_gtid(gtid);
        }
        if !self.rw.write_pending || self.routing.trx() == Some(Target::Master) {
            return;
        }
        self.rw.write_pending = false;
        let mode = self.topo.config.routing.consistency;
        if last_gtid.is_some() && mode != Consistency::Eventual {
            // The transaction is over and the server said where it ended.
            METRICS.consistency_tracked.inc();
            return;
        }
        match mode {
            Consistency::Eventual => {}
            Consistency::Session => self.rw.gtid_dirty = true,
            Consistency::Global => {
                // Asked on the proxy's own master connection, not the client's: the client's
                // next SHOW WARNINGS or ROW_COUNT() must still be about its write.
                match self.master_position().await {
                    Some(pos) => self.note_write(&pos),
                    None => self.rw.gtid_dirty = true,
                }
            }
        }
    }
}
