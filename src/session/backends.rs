//! The session's backend connections: opening (pool first), readiness, the one retry loop for
//! reads, relaying a response, and handing connections back to the pool.

use super::*;

impl Session {
    pub(super) fn login_params(&self, connect_timeout: Duration) -> LoginParams<'_> {
        LoginParams {
            user: &self.login.user,
            credential: &self.credential,
            db: self.conn_db(),
            collation: self.login.collation,
            capabilities: self.login.capabilities,
            attributes: &self.login.attributes,
            connect_timeout,
            keepalive: self.topo.config.timeouts.keepalive,
            tls: self.shared.tls.load_full(),
        }
    }

    /// Opens a connection for `target`, trying every eligible backend.
    pub(super) async fn connect(
        &self,
        target: Target,
        pooled: bool,
    ) -> Result<(BackendConn, Vec<u8>), ConnectError> {
        let topo = self.topo.clone();
        let cluster = &topo.clusters[self.cluster];
        let timeout = topo.config.timeouts.connect;
        let mut tried: Vec<String> = Vec::new();
        let mut last = ConnectError::Unreachable("no backend configured".into());
        loop {
            let backend: Arc<Backend> = match target {
                Target::Master => {
                    if !tried.is_empty() && tried.contains(&cluster.master.address) {
                        return Err(last);
                    }
                    // The monitor's verdict: fail at once rather than each client waiting out
                    // its own connect timeout on a silent master.
                    if cluster.master.state() == State::Down {
                        return Err(ConnectError::Unreachable(format!(
                            "marked down by the monitor: {}",
                            cluster.master.health().reason
                        )));
                    }
                    cluster.master.clone()
                }
                Target::Replica => {
                    let ex: Vec<&str> = tried.iter().map(String::as_str).collect();
                    match cluster.pick_replica(&ex, &self.login.user) {
                        Some(b) => b,
                        None => return Err(last),
                    }
                }
            };
            tried.push(backend.address.clone());
            // Counted from the pick on, so sessions connecting at the same moment spread out.
            let lease = crate::topology::Lease::new(&backend);
            let from_pool = || {
                self.shared
                    .pool
                    .take(&self.pool_key(
                        &backend.address,
                        self.conn_db().map(str::to_string),
                        self.replay.state_sig,
                    ))
                    .or_else(|| {
                        // One without state: the session's SETs are replayed on it.
                        (self.replay.state_sig != 0).then(|| {
                            self.shared.pool.take(&self.pool_key(
                                &backend.address,
                                self.conn_db().map(str::to_string),
                                0,
                            ))
                        })?
                    })
            };
            if let Some(mut conn) = pooled.then(from_pool).flatten() {
                // A pooled connection was reset when its last session ended; it answers the
                // login with the state a fresh one would have.
                conn.backend = backend.clone();
                conn.lease = Some(lease);
                let ok = vec![0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];
                return Ok((conn, ok));
            }
            match BackendConn::connect(backend.clone(), &self.login_params(timeout)).await {
                Ok((mut conn, ok, info)) => {
                    conn.lease = Some(lease);
                    if conn.tracking && self.shared.track_defaults.get().is_none() {
                        self.learn_track_defaults(&mut conn).await;
                    }
                    backend.mark_ok();
                    if backend.refusals.accepted(&self.login.user) {
                        info!(backend = %backend.address, account = %self.login.user, "backend accepts the account's logins again");
                    }
                    if backend.role == Role::Master {
                        self.shared.server_info.store(Arc::new(info));
                    }
                    return Ok((conn, ok));
                }
                Err(ConnectError::Unreachable(why)) => {
                    if let Some(suppressed) =
                        crate::log_limit::BACKEND_UNREACHABLE.check(&backend.address)
                    {
                        warn!(backend = %backend.address, role = backend.role.as_str(), error = %why, suppressed, "backend unreachable");
                    }
                    backend.mark_failed(FAILED_BACKEND_PAUSE_MS);
                    last = ConnectError::Unreachable(why);
                    if target == Target::Master {
                        return Err(last);
                    }
                }
                Err(ConnectError::OutOfFiles(why)) => {
                    // The proxy's own limit: no backend is marked failed, none is tried next.
                    if let Some(suppressed) = crate::log_limit::OUT_OF_FILES.check("backend") {
                        warn!(error = %why, suppressed, "out of file descriptors: cannot open a backend connection (raise LimitNOFILE / ulimit -n)");
                    }
                    return Err(ConnectError::OutOfFiles(why));
                }
                Err(ConnectError::Refused(p)) if target == Target::Replica => {
                    // The proxy checked this client's credentials already: the replica's
                    // account differs (a password changed there, an account missing). Hold the
                    // account off it for a while, and try the next replica.
                    let error = MyError::from_payload(&p)
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "refused".into());
                    METRICS.logins_refused.inc();
                    match backend.refusals.refused(
                        &self.login.user,
                        error.clone(),
                        crate::topology::now_ms(),
                    ) {
                        crate::topology::refusals::Noted::New => {
                            warn!(backend = %backend.address, account = %self.login.user, error = %error, "replica refuses the account's logins; its sessions read elsewhere, and it is tried again with a growing pause");
                        }
                        crate::topology::refusals::Noted::Again { backoff_ms } => {
                            debug!(backend = %backend.address, account = %self.login.user, backoff_ms, "replica still refuses the account's logins");
                        }
                    }
                    last = ConnectError::Refused(p);
                }
                Err(refused) => return Err(refused),
            }
        }
    }

    pub(super) fn set_conn(&mut self, conn: BackendConn) {
        let mut conn = conn;
        if conn.lease.is_none() {
            conn.lease = Some(crate::topology::Lease::new(&conn.backend));
        }
        // A fresh login already has the session's database and collation; the recorded
        // statements still have to be replayed, unless it is a pooled connection that
        // carries exactly this session's state.
        conn.applied = if conn.state_sig != 0 && conn.state_sig == self.replay.state_sig {
            self.replay.rec_seq
        } else {
            conn.state_sig = 0;
            0
        };
        match conn.role() {
            Role::Master => self.master = Some(conn),
            Role::Replica => {
                self.replica = Some(conn);
                self.replica_released = false;
            }
        }
        self.publish_backends();
    }

    /// A reload happened while the client was idle: let go of backends that left the topology
    /// and re-pick the replica by the new weights (an added replica gets its share of reads).
    /// A connection holding an open transaction is kept until the transaction ends.
    pub(super) fn on_topology_change(&mut self) {
        self.relocate_cluster();
        let topo = self.topo.clone();
        let keep_replica = self.routing.trx() == Some(Target::Replica)
            || self
                .prepared
                .stmts
                .values()
                .any(|s| s.last_role == Some(Role::Replica) && s.cursor_open);
        if !keep_replica {
            // Re-pick by the new weights at the next read; the connection itself goes back
            // to the pool (reset there) instead of being closed.
            if let Some(r) = self.replica.take() {
                self.release(r);
            }
        }
        let master_stale = self
            .master
            .as_ref()
            .is_some_and(|m| !topo.contains(&m.backend));
        if master_stale && self.routing.trx() != Some(Target::Master) {
            if let Some(m) = self.master.take() {
                tokio::spawn(m.quit());
            }
        }
        self.publish_backends();
    }

    /// Tells the registry which backend threads serve this session (for KILL).
    pub(super) fn publish_backends(&self) {
        let backends = [self.master.as_ref(), self.replica.as_ref()]
            .into_iter()
            .flatten()
            .chain(self.parked.iter().flat_map(|p| p.conns()))
            .map(|c| (c.address().to_string(), c.thread_id))
            .collect();
        self.shared
            .registry
            .set_backends(self.id, &self.cluster_name, backends);
    }

    pub(super) fn conn_mut(&mut self, target: Target) -> Option<&mut BackendConn> {
        match target {
            Target::Master => self.master.as_mut(),
            Target::Replica => self.replica.as_mut(),
        }
    }

    /// Makes sure a usable connection for `target` exists and carries the session's state.
    /// Reads fall back to the master when no replica can serve. Returns the target actually
    /// used, or the error for the client.
    pub(super) async fn ready(&mut self, target: Target) -> Result<Target, MyError> {
        let topo = self.topo.clone();
        // A connection the server closed while idle (wait_timeout) is found before use.
        let peer = self.peer;
        let now = self.cmd_started;
        if let Some(c) = self.conn_mut(target) {
            if c.idle_at(now) > IDLE_CHECK_AFTER && !c.check_alive() {
                debug!(client = %peer, backend = %c.address(), "idle backend connection was closed by the server; reconnecting");
                c.broken = true;
            }
        }
        // Drop a connection that broke, whose backend the monitor found down (a silent server
        // would hang the statement), or whose backend left the topology. One that holds the
        // open transaction is kept while it works (the transaction finishes where it started);
        // if it broke or its server is down, the transaction is gone and so is the client
        // connection, as it would be with a direct connection: never a silent continuation on
        // another server.
        for t in [Target::Master, Target::Replica] {
            let holds_trx = self.routing.trx() == Some(t);
            let Some(c) = self.conn_mut(t) else { continue };
            let lost = c.broken || c.backend.state() == State::Down;
            if !(lost || (!topo.contains(&c.backend) && !holds_trx)) {
                continue;
            }
            let addr = c.address().to_string();
            let old = match t {
                Target::Master => self.master.take(),
                Target::Replica => self.replica.take(),
            };
            if let Some(old) = old {
                tokio::spawn(old.quit());
            }
            self.publish_backends();
            if t == Target::Master && !holds_trx {
                self.master_lost(&addr);
                if self.state_lost {
                    return Err(MyError::backend_lost(
                        "master",
                        &addr,
                        "connection lost with state it held",
                    ));
                }
            }
            if holds_trx {
                self.routing.transaction_lost();
                self.fatal = true;
                warn!(client = %self.peer, backend = %addr, "backend connection lost inside a transaction; closing the client connection");
                return Err(MyError::backend_lost(
                    conn_role_name(t),
                    &addr,
                    "connection lost inside a transaction",
                ));
            }
        }
        let mut target = target;
        if target == Target::Replica && self.replica.is_none() {
            match self.connect(Target::Replica, true).await {
                Ok((conn, _)) => self.set_conn(conn),
                Err(ConnectError::Unreachable(why)) => {
                    let no_replicas = topo.clusters[self.cluster].replicas.is_empty();
                    if !topo.config.routing.fallback_to_master && !no_replicas {
                        return Err(MyError::backend_unavailable("replica", "(any)", &why));
                    }
                    target = Target::Master;
                }
                Err(ConnectError::Refused(p)) => {
                    debug!(client = %self.peer, "replica refused login, reading from master");
                    let _ = p;
                    target = Target::Master;
                }
                Err(ConnectError::OutOfFiles(_)) => return Err(MyError::too_many_connections()),
            }
        }
        if target == Target::Master && self.master.is_none() {
            match self.connect(Target::Master, true).await {
                Ok((conn, _)) => self.set_conn(conn),
                Err(e) => {
                    return Err(match e {
                        ConnectError::Refused(p) => {
                            MyError::from_payload(&p).unwrap_or_else(|| {
                                MyError::backend_unavailable(
                                    "master",
                                    &topo.clusters[self.cluster].master.address,
                                    "refused",
                                )
                            })
                        }
                        ConnectError::Unreachable(why) => MyError::backend_unavailable(
                            "master",
                            &topo.clusters[self.cluster].master.address,
                            &why,
                        ),
                        ConnectError::OutOfFiles(_) => MyError::too_many_connections(),
                    })
                }
            }
        }
        match self.sync_state(target).await {
            Ok(()) => Ok(target),
            Err(e) if target == Target::Replica => {
                debug!(client = %self.peer, error = %e, "replica could not take the session state; using the master");
                if let Some(r) = self.replica.take() {
                    tokio::spawn(r.quit());
                }
                Box::pin(self.ready(Target::Master)).await
            }
            Err(e) => Err(e),
        }
    }

    /// Runs one command on `target` — the one loop in which a backend failure is handled. A
    /// backend that fails before any byte reached the client is marked failed; with
    /// `retry.allowed` a read on a replica (not inside a transaction) then runs again on
    /// another replica or the master, after the session state is replayed there (and, with
    /// `retry.consistent`, on a replica that has this session's writes). Anything else is
    /// reported to the client (and a lost transaction closes the client connection). Returns
    /// None when an error was sent to the client instead of an answer.
    pub(super) async fn run_command(
        &mut self,
        target: Target,
        cmd: Command<'_>,
        retry: Retry,
    ) -> std::io::Result<Option<(Target, Answer)>> {
        let mut attempt = 0;
        let mut target = target;
        loop {
            let t = match self.ready(target).await {
                Ok(t) => t,
                Err(e) => {
                    self.send_error(&e).await?;
                    return Ok(None);
                }
            };
            // A read that may run elsewhere does not wait for a silent replica
            // (`[timeouts] read_failover`); nothing waits on past the monitor's verdict.
            let failover = if retry.allowed && t == Target::Replica && self.routing.trx().is_none()
            {
                Watch::Failover(self.topo.config.timeouts.read_failover)
            } else {
                Watch::Verdict
            };
            let outcome = match &cmd {
                Command::Relay { pkt, expect } => {
                    self.relay_attempt(t, pkt, *expect, failover).await?
                }
                Command::Prepare { pkt } => self.prepare_attempt(t, pkt, failover).await,
                Command::Execute(plan) => self.execute_attempt(t, plan, failover).await?,
            };
            match outcome {
                Attempt::Done(answer) => return Ok(Some((t, answer))),
                Attempt::Refused(e) => {
                    self.send_error(&e).await?;
                    return Ok(None);
                }
                Attempt::ReadOnly { code } => {
                    // Nothing ran on the replica; the statement writes after all (a stored
                    // function that writes, a view over NEXTVAL, a form the classifier took
                    // for a read). It runs on the master, counts as a write for
                    // read-your-writes, and what it leaves behind lives there.
                    METRICS.read_only_reroutes.inc();
                    let addr = self
                        .conn_mut(t)
                        .map(|c| c.backend.address.clone())
                        .unwrap_or_default();
                    if let Some(suppressed) = crate::log_limit::READ_ONLY_REROUTE.check(&addr) {
                        warn!(client = %self.peer, backend = %addr, code, command = cmd.name(), suppressed, "a replica refused a statement as read-only before running it; running it on the master");
                    }
                    self.rw.write_pending = true;
                    self.rerouted_write = true;
                    target = Target::Master;
                    continue;
                }
                Attempt::Failed(error) => {
                    let (addr, was_trx) = self.backend_failed(t);
                    if retry.allowed
                        && t == Target::Replica
                        && !was_trx
                        && attempt < MAX_READ_RETRIES
                    {
                        attempt += 1;
                        METRICS.read_retries.inc();
                        warn!(client = %self.peer, backend = %addr, error = %error, attempt, command = cmd.name(), "failed before any byte reached the client; retrying elsewhere");
                        target = if retry.consistent {
                            self.consistent(Target::Replica).await
                        } else {
                            Target::Replica
                        };
                        continue;
                    }
                    if t == Target::Master && !was_trx {
                        self.master_lost(&addr);
                    }
                    self.report_failure(t, &addr, &error, was_trx).await?;
                    return Ok(None);
                }
            }
        }
    }

    /// [`Session::forward`] for a command that selects a database (`USE db`, COM_INIT_DB): the
    /// current database is not selected on the connection first. It may not exist where the
    /// command runs (dropped, or left behind on a cluster a reload removed), and a server
    /// would not need it either.
    pub(super) async fn forward_selecting_db(
        &mut self,
        target: Target,
        pkt: &[u8],
        expect: Expect,
        retry: bool,
    ) -> std::io::Result<Option<(Target, Scanner)>> {
        self.db_here = false;
        let forwarded = self.forward(target, pkt, expect, retry).await;
        self.db_here = self.db_owned_here();
        forwarded
    }

    /// [`Session::run_command`] for a command whose response is relayed as it arrives.
    pub(super) async fn forward(
        &mut self,
        target: Target,
        pkt: &[u8],
        expect: Expect,
        retry: bool,
    ) -> std::io::Result<Option<(Target, Scanner)>> {
        let retry = Retry {
            allowed: retry,
            consistent: true,
        };
        let done = self
            .run_command(target, Command::Relay { pkt, expect }, retry)
            .await?;
        Ok(done.and_then(|(t, answer)| match answer {
            Answer::Relayed(scanner) => Some((t, scanner)),
            Answer::Prepared { .. } => None,
        }))
    }

    async fn relay_attempt(
        &mut self,
        t: Target,
        pkt: &[u8],
        expect: Expect,
        failover: Watch,
    ) -> std::io::Result<Attempt> {
        let client_packets = (pkt.len() / MAX_CHUNK + 1) as u8;
        let Some(conn) = self.conn_mut(t) else {
            return Ok(Attempt::Failed("not connected".into()));
        };
        match conn.send_command(pkt).await {
            Ok(sent) => Ok(
                match self
                    .relay(t, expect, client_packets.wrapping_sub(sent), failover)
                    .await?
                {
                    Relayed::Done(scanner) => Attempt::Done(Answer::Relayed(scanner)),
                    Relayed::Failed { error } => Attempt::Failed(error),
                    Relayed::ReadOnly { code } => Attempt::ReadOnly { code },
                },
            ),
            Err(e) => {
                conn.broken = true;
                Ok(Attempt::Failed(e.to_string()))
            }
        }
    }

    /// A prepare sends nothing to the client until the whole answer is in. One that may run
    /// elsewhere gives up on a replica that has not answered within `read_failover` (a prepare
    /// is quick on a live server; the connection is not reused after that).
    async fn prepare_attempt(&mut self, t: Target, pkt: &[u8], watch: Watch) -> Attempt {
        let Some(conn) = self.conn_mut(t) else {
            return Attempt::Failed("not connected".into());
        };
        let result = match conn.send_command(pkt).await {
            Ok(_) => match watch {
                Watch::Failover(after) => {
                    match tokio::time::timeout(after, conn.read_prepare_response()).await {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => {
                            conn.broken = true;
                            Err(format!("no answer within read_failover ({after:?})"))
                        }
                    }
                }
                _ => conn
                    .read_prepare_response()
                    .await
                    .map_err(|e| e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok((raw, ok)) => Attempt::Done(Answer::Prepared { raw, ok }),
            Err(error) => Attempt::Failed(error),
        }
    }

    /// What the session's master connection holds that no other connection can be given: a
    /// named lock, LOCK TABLES, temporary tables, user variables whose values only it has,
    /// session state the proxy could not replay, a SQL prepared statement. None when a new
    /// connection with the replayed state is the same session for the client.
    pub(super) fn master_state_at_risk(&self) -> Option<&'static str> {
        if let Some(why) = self.master_holds {
            return Some(why);
        }
        if !self.temp_tables.is_empty() {
            return Some("temporary tables");
        }
        if self.routing.user_vars_on_master {
            return Some("user variables set on the master");
        }
        match self.routing.placement() {
            route::Placement::Pinned(route::PinReason::TableLocks) => Some("LOCK TABLES"),
            route::Placement::Pinned(route::PinReason::MasterOnlyState) => {
                Some("session state only the master connection has")
            }
            _ => None,
        }
    }

    /// The master connection is gone (killed, restarted, reset by the network, or its server
    /// left the topology). If it held state that cannot be rebuilt, the session ends here.
    fn master_lost(&mut self, addr: &str) {
        if let Some(what) = self.master_state_at_risk() {
            warn!(client = %self.peer, backend = %addr, holds = what, "master connection lost while it held state the proxy cannot rebuild; closing the client connection");
            self.state_lost = true;
            self.fatal = true;
        }
    }

    /// Tells the client a statement failed with its backend. If that backend held the open
    /// transaction, the transaction is gone: closing the client connection (Err) is what a
    /// direct client would see, and cannot be mistaken for a transaction going on elsewhere.
    pub(super) async fn report_failure(
        &mut self,
        t: Target,
        addr: &str,
        error: &str,
        was_trx: bool,
    ) -> std::io::Result<()> {
        self.send_error(&MyError::backend_lost(conn_role_name(t), addr, error))
            .await?;
        if was_trx {
            return Err(std::io::Error::other("transaction backend lost"));
        }
        Ok(())
    }

    /// Reads the servers' own session-tracking settings and packet limit once
    /// (`Shared::track_defaults`, `Shared::server_max_packet`).
    async fn learn_track_defaults(&self, conn: &mut BackendConn) {
        // One session asks (the first to get here); the others go by MariaDB's defaults until
        // the answer is in. SHOW, not SELECT: it does not count as a read the application made
        // (Com_select) on whichever server it lands on.
        if self
            .shared
            .track_defaults_asked
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let q = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('session_track_system_variables', \
                 'session_track_schema', 'session_track_state_change', 'max_allowed_packet')";
        let Ok(Ok(rows)) = conn.query_rows(q).await else {
            // Asked again by the next login.
            self.shared
                .track_defaults_asked
                .store(false, std::sync::atomic::Ordering::Release);
            return;
        };
        let mut view = crate::protocol::tracker::ClientView::mariadb_defaults(false);
        for (name, value) in rows.name_values() {
            if name == "max_allowed_packet" {
                // The servers' own packet limit, for `max_packet_size = "auto"`.
                if let Ok(n) = value.parse::<u64>() {
                    self.shared
                        .server_max_packet
                        .store(n.clamp(1024, 1 << 30), std::sync::atomic::Ordering::Relaxed);
                }
            } else {
                view.apply_setting(name.as_bytes(), value.as_bytes());
            }
        }
        let _ = self.shared.track_defaults.set(view);
    }

    /// A backend connection failed: mark it for replacement and give the backend a pause.
    /// Returns its address and whether it held the open transaction.
    pub(super) fn backend_failed(&mut self, t: Target) -> (String, bool) {
        let was_trx = self.routing.trx() == Some(t);
        if was_trx {
            self.routing.transaction_lost();
        }
        let conn = self.conn_mut(t).expect("failed connection exists");
        conn.broken = true;
        if t == Target::Replica {
            conn.backend.mark_failed(FAILED_BACKEND_PAUSE_MS);
        }
        (conn.backend.address.clone(), was_trx)
    }

    /// Relays the response to a command already sent on `target`. Err means the client
    /// connection cannot continue (client gone, or a backend failed after bytes were sent).
    pub(super) async fn relay(
        &mut self,
        target: Target,
        expect: Expect,
        seq_delta: u8,
        failover: Watch,
    ) -> std::io::Result<Relayed> {
        let topo = self.topo.clone();
        let client_write = topo.config.timeouts.client_write;
        // `[timeouts] query`: past it, the statement is killed on its backend by a connection
        // of its own, and the server's own error (1317/1969) reaches the client.
        let killer = match (topo.config.timeouts.query, self.conn_mut(target)) {
            (Some(limit), Some(c)) => Some((limit, c.backend.clone(), c.thread_id)),
            _ => None,
        };
        let killer = killer.map(|(limit, backend, thread)| {
            let mut params = self.login_params(topo.config.timeouts.connect);
            params.db = None;
            (limit, KillQuery::new(backend, thread, &params))
        });
        let conn = match target {
            Target::Master => self.master.as_mut(),
            Target::Replica => self.replica.as_mut(),
        }
        .expect("connected");
        let mut scanner =
            Scanner::new(expect, conn.deprecate_eof()).for_client(self.track_view.keeps_eof_flag());
        scanner.seq_delta = seq_delta;
        let peer = self.peer;
        // A replica's read-only refusal is not relayed: the statement runs on the master. Not
        // inside a read-only transaction on that replica, which must not be split.
        let refuse_read_only =
            target == Target::Replica && self.routing.trx() != Some(Target::Replica);
        let relayed = {
            let relay = conn.relay(
                &mut self.client,
                &mut scanner,
                failover,
                client_write,
                refuse_read_only,
                &self.track_view,
            );
            tokio::pin!(relay);
            match killer {
                None => relay.await,
                Some((limit, kill)) => tokio::select! {
                    r = &mut relay => r,
                    _ = tokio::time::sleep(limit) => {
                        warn!(client = %peer, backend = %kill.backend.address, thread = kill.thread, ?limit, "statement ran past [timeouts] query; killing it on its backend");
                        tokio::spawn(kill.run());
                        relay.await
                    }
                },
            }
        };
        match relayed {
            Ok(()) => {
                self.status_from(target, scanner.status);
                self.routing.last = Some(target);
                Ok(Relayed::Done(scanner))
            }
            Err(RelayError::Client(e)) => {
                conn.broken = true;
                Err(e)
            }
            Err(RelayError::ReadOnly { code }) => Ok(Relayed::ReadOnly { code }),
            Err(RelayError::Backend { error, sent }) => {
                if sent {
                    let addr = conn.backend.address.clone();
                    warn!(client = %self.peer, backend = %addr, error = %error, "backend failed mid-response");
                    self.backend_failed(target);
                    // The client has part of a response: the connection cannot be saved.
                    return Err(std::io::Error::other(format!(
                        "backend {addr} failed mid-response"
                    )));
                }
                Ok(Relayed::Failed { error })
            }
        }
    }

    /// The pool key of this session's connections to `address`.
    pub(super) fn pool_key(&self, address: &str, db: Option<String>, state: u64) -> PoolKey {
        PoolKey {
            state,
            address: address.to_string(),
            user: self.login.user.clone(),
            collation: self.login.collation,
            capabilities: self.login.capabilities.bits(),
            db,
        }
    }

    /// Can the connection for `t` go back to the pool while the session idles? Only if it
    /// holds nothing of this session: no transaction, no session state (variables, database
    /// change, temporary tables, locks, user variables all make it dirty or pin the session),
    /// no prepared statement or cursor, nothing from its last statement (`BackendConn::mark_clean`).
    pub(super) fn releasable(&self, t: Target) -> bool {
        let conn = match t {
            Target::Master => self.master.as_ref(),
            Target::Replica => self.replica.as_ref(),
        };
        let Some(c) = conn else { return false };
        self.routing.placement() == route::Placement::Free
            && !self.replay.recorded.iter().any(|r| r.user_var)
            && self.replay.multi_statements_off == c.login_multi_statements_off()
            && self.temp_tables.is_empty()
            && !self.routing.user_vars_on_master
            && !self.rw.gtid_dirty
            && !c.dirty
            && !c.broken
            // It carries exactly this session's state, or none at all (only logged in).
            && ((c.applied == self.replay.rec_seq && c.state_sig == self.replay.state_sig)
                || (c.applied == 0 && c.state_sig == 0))
            && c.stmts.is_empty()
            && c.db.as_deref() == self.conn_db()
    }

    pub(super) fn any_releasable(&self) -> bool {
        self.releasable(Target::Replica) || self.releasable(Target::Master)
    }

    /// Hands the clean connections of an idle session back to the pool (see `releasable`).
    pub(super) fn release_idle(&mut self) {
        if self.releasable(Target::Replica) {
            if let Some(conn) = self.replica.take() {
                self.replica_released = self.routing.last == Some(Target::Replica);
                self.park(conn);
            }
        }
        if self.releasable(Target::Master) {
            if let Some(conn) = self.master.take() {
                self.park(conn);
            }
        }
        self.publish_backends();
    }

    /// The client is gone: healthy backend connections go back to the pool (reset there),
    /// the rest are closed.
    pub(super) async fn close(&mut self) {
        for conn in [self.master.take(), self.replica.take()]
            .into_iter()
            .flatten()
        {
            self.release(conn);
        }
        self.leave_parked();
    }

    /// Lets go of a backend connection: back to the pool if it is healthy and its backend is
    /// still in the topology, closed otherwise. Runs in the background.
    pub(super) fn release(&self, conn: BackendConn) {
        self.hand_back(conn, false);
    }

    /// Multiplexing: parks a clean connection of this idle session in the pool with the
    /// session state it carries, for this or another session with the same state.
    pub(super) fn park(&self, conn: BackendConn) {
        self.hand_back(conn, true);
    }

    pub(super) fn hand_back(&self, conn: BackendConn, keep_state: bool) {
        let topo = self.topo.clone();
        if conn.broken || !topo.contains(&conn.backend) || self.fatal {
            tokio::spawn(conn.quit());
            return;
        }
        let mut key = self.pool_key(conn.address(), conn.db.clone(), conn.state_sig);
        let max_idle = topo.config.limits.max_idle_backend_connections as usize;
        if !keep_state {
            key.state = 0;
        }
        // A connection with nothing to reset goes straight back; only a reset round trip (and
        // closing what the pool has no room for) runs in a task of its own.
        if keep_state || crate::pool::Pool::needs_no_reset(&key, &conn) {
            let closing = self.shared.pool.keep(key, conn, max_idle);
            if !closing.is_empty() {
                tokio::spawn(async move {
                    for conn in closing {
                        conn.quit().await;
                    }
                });
            }
            return;
        }
        let shared = self.shared.clone();
        tokio::spawn(async move { shared.pool.give_back(key, conn, max_idle).await });
    }
}

/// `KILL QUERY` of one backend thread, sent on a short-lived connection of the session's own
/// account (the session's connection is busy with the statement).
pub(super) struct KillQuery {
    backend: Arc<Backend>,
    thread: u32,
    user: String,
    credential: Credential,
    collation: u8,
    connect_timeout: Duration,
    tls: Arc<crate::tls::TlsSetup>,
}

impl KillQuery {
    pub(super) fn new(backend: Arc<Backend>, thread: u32, p: &LoginParams<'_>) -> Self {
        KillQuery {
            backend,
            thread,
            user: p.user.to_string(),
            credential: p.credential.clone(),
            collation: p.collation,
            connect_timeout: p.connect_timeout,
            tls: p.tls.clone(),
        }
    }

    pub(super) async fn run(self) {
        use mysql_common::constants::CapabilityFlags as C;
        let params = LoginParams {
            user: &self.user,
            credential: &self.credential,
            db: None,
            collation: self.collation,
            capabilities: C::CLIENT_PROTOCOL_41
                | C::CLIENT_SECURE_CONNECTION
                | C::CLIENT_PLUGIN_AUTH
                | C::CLIENT_TRANSACTIONS,
            attributes: &[],
            connect_timeout: self.connect_timeout,
            keepalive: None,
            tls: self.tls.clone(),
        };
        let sql = format!("KILL QUERY {}", self.thread);
        match BackendConn::connect(self.backend.clone(), &params).await {
            Ok((mut conn, _, _)) => {
                if let Ok(Err(e)) = conn.run_query(sql.as_bytes()).await {
                    warn!(backend = %self.backend.address, error = %e, "KILL QUERY refused");
                }
                conn.quit().await;
            }
            Err(e) => {
                warn!(backend = %self.backend.address, error = %e, "cannot connect to kill a statement")
            }
        }
    }
}
