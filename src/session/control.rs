//! Commands that act on sessions rather than data: KILL, COM_RESET_CONNECTION, COM_CHANGE_USER.

use super::*;

impl Session {
    /// A `KILL` statement: forms naming a connection or its query by id are carried out on
    /// the backend threads of the session that id belongs to; any other form is refused (a
    /// thread id or user name forwarded as it is would reach other clients' connections).
    pub(super) async fn kill_statement(
        &mut self,
        kill: classify::KillTarget,
    ) -> std::io::Result<Flow> {
        match kill {
            classify::KillTarget::Connection(id) => self.kill(id, false).await,
            classify::KillTarget::Query(id) => self.kill(id, true).await,
            classify::KillTarget::Unsupported => {
                self.send_error(&MyError::new(
                    1235,
                    b"42000",
                    "rwsplit supports only KILL [CONNECTION | QUERY] <connection id>, alone in a statement",
                ))
                .await?;
                Ok(Flow::Continue)
            }
        }
    }

    /// `KILL [QUERY] id` / COM_PROCESS_KILL with a proxy connection id: the backend threads of
    /// that session get the KILL, on the servers they run on.
    pub(super) async fn kill(&mut self, id: u64, query_only: bool) -> std::io::Result<Flow> {
        let found = self.shared.registry.resolve_kill(id, &self.login.user);
        let Some((session_id, entry)) = found else {
            self.send_error(&MyError::new(
                1094,
                b"HY000",
                format!("Unknown thread id: {id}"),
            ))
            .await?;
            return Ok(Flow::Continue);
        };
        if entry.user != self.login.user {
            self.send_error(&MyError::new(
                1095,
                b"HY000",
                format!("You are not owner of thread {id}"),
            ))
            .await?;
            return Ok(Flow::Continue);
        }
        let own = session_id == self.id;
        let topo = self.topo.clone();
        for (addr, thread) in &entry.backends {
            let sql = format!("KILL {}{thread}", if query_only { "QUERY " } else { "" });
            // Our own connection to that server if we have one, else a short-lived login.
            let mine = [Target::Master, Target::Replica].into_iter().find(|t| {
                self.conn_mut(*t)
                    .is_some_and(|c| c.address() == addr && !(own && c.thread_id == *thread))
            });
            let result = match mine {
                Some(t) => self
                    .conn_mut(t)
                    .expect("found")
                    .run_query(sql.as_bytes())
                    .await
                    .map(|r| r.map(|_| ())),
                None => {
                    let known = topo
                        .find(addr, Role::Master)
                        .or_else(|| topo.find(addr, Role::Replica));
                    let backend = match known {
                        Some(b) => b.clone(),
                        // Left the topology since: the kill still reaches the thread.
                        None => Arc::new(Backend::new(&self.cluster_name, addr, Role::Replica, 1)),
                    };
                    match BackendConn::connect(
                        backend,
                        &self.login_params(topo.config.timeouts.connect),
                    )
                    .await
                    {
                        Ok((mut conn, _, _)) => {
                            let r = conn.run_query(sql.as_bytes()).await.map(|r| r.map(|_| ()));
                            conn.quit().await;
                            r
                        }
                        Err(e) => Err(std::io::Error::other(e.to_string())),
                    }
                }
            };
            match result {
                Ok(Ok(())) => {}
                // The thread already ended: nothing left to kill there.
                Ok(Err(e)) if e.code == 1094 => {}
                Ok(Err(e)) => warn!(backend = %addr, error = %e, "KILL on backend refused"),
                Err(e) => warn!(backend = %addr, error = %e, "KILL on backend failed"),
            }
        }
        if query_only {
            let ok = self.ok_payload();
            self.client.write_packet(&ok).await?;
            return Ok(Flow::Continue);
        }
        entry.attention.kill();
        if own {
            self.send_error(&MyError::new(1927, b"70100", "Connection was killed"))
                .await?;
            return Ok(Flow::Quit);
        }
        let ok = self.ok_payload();
        self.client.write_packet(&ok).await?;
        Ok(Flow::Continue)
    }

    /// An OK for a command the proxy itself carried out (KILL of a proxy id), with the
    /// session's real transaction status.
    pub(super) fn ok_payload(&self) -> Vec<u8> {
        let mut st = StatusFlags::empty();
        if self.routing.autocommit() {
            st |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if self.routing.trx().is_some() {
            st |= StatusFlags::SERVER_STATUS_IN_TRANS;
        }
        let b = st.bits().to_le_bytes();
        vec![0x00, 0x00, 0x00, b[0], b[1], 0x00, 0x00]
    }

    pub(super) async fn reset_connection(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let target = self.current();
        // The other backend is reset quietly; the client sees the answer of the current one.
        let other = if target == Target::Master {
            Target::Replica
        } else {
            Target::Master
        };
        if let Some(conn) = self.conn_mut(other) {
            match conn.run_simple(pkt).await {
                Ok(Ok(_)) => conn.stmts.clear(),
                _ => conn.broken = true,
            }
        }
        if let Some((used, scanner)) = self.forward(target, pkt, Expect::Single, false).await? {
            if let Some(conn) = self.conn_mut(used) {
                conn.stmts.clear();
            }
            if !scanner.error {
                // A reset keeps the multi-statement option (COM_SET_OPTION) as it was.
                let multi_off = self.replay.multi_statements_off;
                self.forget_session_state();
                // The clusters the session left are reset too (in the pool).
                self.leave_parked();
                self.replay.multi_statements_off = multi_off;
                let seq = self.replay.rec_seq;
                for t in [Target::Master, Target::Replica] {
                    if let Some(c) = self.conn_mut(t) {
                        c.applied = seq;
                        c.state_sig = 0;
                    }
                }
            }
        }
        Ok(())
    }

    /// After a COM_CHANGE_USER, whether it succeeded or not: the session starts over on fresh
    /// backend logins, with the servers' global settings. A login's capability flags do not
    /// apply again (CLIENT_IGNORE_SPACE added IGNORE_SPACE to sql_mode at login; after a
    /// change of user the server's sql_mode is its global one): the fresh logins get that.
    fn start_over(&mut self) {
        for conn in [self.master.take(), self.replica.take()]
            .into_iter()
            .flatten()
        {
            tokio::spawn(conn.quit());
        }
        self.leave_parked();
        self.forget_session_state();
        self.routing.last = None;
        self.track_view = self.shared.track_view(self.track_view.capability);
        use mysql_common::constants::CapabilityFlags as C;
        if self.login.capabilities.contains(C::CLIENT_IGNORE_SPACE) {
            let sql = b"SET SESSION sql_mode = @@global.sql_mode".to_vec();
            let key = classify::setting_key(b"", b"sql_mode");
            self.record_sql(Some(key), false, sql, false, false, Target::Master, false);
        }
    }

    /// COM_CHANGE_USER: the proxy checks the new credentials itself, then starts the session over
    /// on fresh backend logins, so no state of the old user survives anywhere.
    pub(super) async fn change_user(&mut self, pkt: &[u8]) -> std::io::Result<Flow> {
        use mysql_common::packets::AuthSwitchRequest;
        use mysql_common::proto::MySerialize;
        let parsed = handshake::parse_change_user(pkt);
        let Some((user, db, collation)) = parsed else {
            self.send_error(&MyError::bad_handshake()).await?;
            return Ok(Flow::Quit);
        };
        // Always re-challenge with a fresh scramble in mysql_native_password.
        let scramble = crate::protocol::auth::new_scramble();
        let mut data = scramble.to_vec();
        data.push(0);
        let mut sw = Vec::new();
        AuthSwitchRequest::new(crate::protocol::auth::NATIVE.as_bytes(), &data[..])
            .serialize(&mut sw);
        self.client.write_packet(&sw).await?;
        let mut resp = Vec::new();
        if self.client.read_packet(&mut resp).await.is_err() {
            return Ok(Flow::Quit);
        }
        let topo = self.topo.clone();
        let credential = super::login::verify_native(&self.shared, &user, &scramble, &resp).await;
        let Some(credential) = credential else {
            // As the server does: the old account stays, but the session is started over all
            // the same — user and session variables, temporary tables and any transaction are
            // gone; only the database stays.
            let host = handshake::host_label(&self.peer);
            // Throttled like a failed login (`login_throttle`).
            let delay = self.shared.login_throttle.failed(self.peer.ip(), &user);
            tokio::time::sleep(delay).await;
            self.start_over();
            self.send_error(&MyError::access_denied(&user, &host, !resp.is_empty()))
                .await?;
            return Ok(Flow::Continue);
        };
        let max = topo.config.limits.max_user_connections;
        if !self.shared.registry.change_user(self.id, &user, max) {
            self.send_error(&MyError::too_many_user_connections(&user))
                .await?;
            return Ok(Flow::Quit);
        }
        self.login.user = user;
        self.credential = credential;
        if let Some(c) = collation {
            self.login.collation = c;
        }
        self.start_over();
        self.replay.db = db;
        self.replay.db_maybe = None;
        match self.first_backend().await {
            Ok(ok) => {
                self.client.write_packet(&ok).await?;
                Ok(Flow::Continue)
            }
            Err(err) => {
                self.client.write_packet(&err).await?;
                Ok(Flow::Quit)
            }
        }
    }
}
