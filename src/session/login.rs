//! Login: the client's handshake and password check, then the first backend login whose OK
//! the client gets (a real server checks the database and the account).

use super::*;

/// Checks a client's mysql_native_password answer: proxy.toml's users first; with auth
/// passthrough, the accounts loaded from the master (reloaded once if nothing matches, so an
/// account created a moment ago works).
pub(super) async fn verify_native(
    shared: &Shared,
    user: &str,
    scramble: &[u8; 20],
    answer: &[u8],
) -> Option<Credential> {
    let topo = shared.topology.load_full();
    if let Some(u) = topo.config.user(user.as_bytes()) {
        let pw = u.password.expose();
        return crate::protocol::auth::verify_native(scramble, pw, answer)
            .then(|| Credential::Password(pw.to_string()));
    }
    if !topo.config.auth.passthrough {
        return None;
    }
    if let Some(c) = shared.accounts.verify(user, scramble, answer) {
        return Some(c);
    }
    if shared.accounts.reload(&topo, shared.tls.load_full()).await {
        return shared.accounts.verify(user, scramble, answer);
    }
    None
}

impl Session {
    /// Runs a client connection from greeting to goodbye.
    pub async fn run(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let topo = shared.topology.load_full();
        let cfg = &topo.config;
        let id = shared.next_connection_id();
        let max_packet = cfg.limits.max_packet_size as usize;
        let max_user_conns = cfg.limits.max_user_connections;
        let mut client = PacketStream::new(Stream::Plain(stream), max_packet);
        let tls = shared.tls.load_full();
        let host = handshake::host_label(&peer);
        let info = shared.server_info.load_full();
        let users = cfg.clone();
        let login = tokio::time::timeout(
            cfg.limits.handshake_timeout,
            handshake::accept_login(&mut client, id, &info, &host, &tls, |u| {
                users
                    .user(u.as_bytes())
                    .map(|u| u.password.expose().to_string())
            }),
        )
        .await;
        let accepted = match login {
            Ok(Ok(a)) => a,
            Ok(Err(LoginError::Refused(e))) => {
                info!(client = %peer, conn = id, error = %e, "login refused");
                return;
            }
            Ok(Err(e)) => {
                debug!(client = %peer, conn = id, error = ?e, "login failed");
                return;
            }
            Err(_) => {
                debug!(client = %peer, conn = id, "handshake timeout");
                return;
            }
        };
        let credential = match accepted.credential {
            Some(c) => c,
            None => match verify_native(
                &shared,
                &accepted.login.user,
                &accepted.scramble,
                &accepted.answer,
            )
            .await
            {
                Some(c) => c,
                None => {
                    let e = handshake::refuse(
                        &mut client,
                        &accepted.login.user,
                        &host,
                        !accepted.answer.is_empty(),
                    )
                    .await;
                    info!(client = %peer, conn = id, error = ?e, "login refused");
                    return;
                }
            },
        };
        let login = accepted.login;

        let topo_rx = shared.version.subscribe();
        let shutdown_rx = shared.shutdown.subscribe();
        let mut s = Session {
            shared,
            id,
            peer,
            client,
            db: login.db.clone(),
            login,
            credential,
            master: None,
            replica: None,
            last: None,
            trx: None,
            autocommit: true,
            temp_tables: Vec::new(),
            user_vars_on_master: false,
            pinned: false,
            recorded: Vec::new(),
            rec_seq: 0,
            multi_statements_off: false,
            stmts: HashMap::new(),
            next_stmt_id: 1,
            last_prepared: None,
            buf: Vec::with_capacity(1024),
            killed: Arc::new(tokio::sync::Notify::new()),
            exec_buf: Vec::new(),
            fatal: false,
            topo_rx,
            shutdown_rx,
            gtid_need: GtidPos::default(),
            gtid_dirty: false,
            replica_pos: GtidPos::default(),
            replica_pos_thread: 0,
            replica_released: false,
            state_sig: 0,
        };
        let entry = SessionEntry {
            user: s.login.user.clone(),
            client: peer.to_string(),
            backends: Vec::new(),
            killed: s.killed.clone(),
        };
        if !s.shared.registry.insert(id, entry, max_user_conns) {
            let e = MyError::too_many_user_connections(&s.login.user);
            info!(client = %peer, conn = id, user = %s.login.user, max = max_user_conns, "login refused: max_user_connections reached");
            crate::metrics::METRICS.clients_refused.inc();
            let _ = s.send_error(&e).await;
            return;
        }
        if s.finish_login().await {
            debug!(client = %peer, conn = id, user = %s.login.user, tls = s.client.stream.cipher().unwrap_or("no"), "session open");
            s.command_loop().await;
        }
        s.shared.registry.remove(id);
        s.close().await;
        debug!(client = %peer, conn = id, "session closed");
    }

    /// Logs in to the first backend (the master, or a replica if the master is down) so the
    /// client's database and credentials are checked by a real server, and relays its OK.
    pub(super) async fn finish_login(&mut self) -> bool {
        let mut last_err = String::new();
        for target in [Target::Master, Target::Replica] {
            match self.connect(target, &[]).await {
                Ok((conn, ok)) => {
                    self.status_from(conn.role(), None);
                    self.set_conn(conn);
                    return self.client.write_packet(&ok).await.is_ok();
                }
                Err(ConnectError::Refused(err)) => {
                    let _ = self.client.write_packet(&err).await;
                    return false;
                }
                Err(ConnectError::Unreachable(why)) => last_err = why,
            }
        }
        let topo = self.shared.topology.load();
        let e = MyError::backend_unavailable("master", &topo.master.address, &last_err);
        warn!(client = %self.peer, error = %e, "no backend reachable for login");
        let _ = self.client.write_packet(&e.to_payload()).await;
        false
    }
}
