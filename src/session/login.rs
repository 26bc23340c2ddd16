//! Login: the client's handshake and password check, then the first backend login whose OK
//! the client gets (a real server checks the database and the account).

use super::*;

/// The largest packet a client may send before it has authenticated: a handshake response
/// with TLS request, connection attributes and an auth answer fits many times over.
pub(super) const PRE_AUTH_MAX_PACKET: usize = 16 * 1024;

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
    if shared
        .accounts
        .reload(user, &topo, shared.tls.load_full())
        .await
    {
        return shared.accounts.verify(user, scramble, answer);
    }
    None
}

/// Keepalive finds peers that vanished without closing (a host that died, a network that
/// dropped them). A loopback client runs on the proxy's own host: when it dies its kernel —
/// ours — closes the connection, so probes could never find anything, and setting them up
/// costs four system calls per connection (a PHP client connects once per request).
pub(super) fn wants_keepalive(peer: &SocketAddr) -> bool {
    let ip = match peer.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(std::net::IpAddr::V4)
            .unwrap_or(std::net::IpAddr::V6(v6)),
        ip => ip,
    };
    !ip.is_loopback()
}

/// A refused login, logged at most once per 10 s (with how many were held back): a client
/// can fail logins as fast as it likes, and the log must not fill the disk.
fn log_refused(peer: &SocketAddr, id: u32, e: &dyn std::fmt::Display) {
    if let Some(suppressed) = crate::log_limit::LOGIN_REFUSED.check(crate::log_limit::LISTENER) {
        info!(client = %peer, conn = id, error = %e, suppressed, "login refused");
    }
}

impl Session {
    /// Runs a client connection from greeting to goodbye.
    pub async fn run(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
        // TCP_NODELAY is inherited from the listener (`server::bind`).
        let topo = shared.topology.load_full();
        let cfg = &topo.config;
        if wants_keepalive(&peer) {
            crate::backend::set_keepalive(&stream, cfg.timeouts.keepalive);
        }
        let id = shared.next_connection_id();
        let max_packet = shared.max_packet(&cfg.limits);
        let max_user_conns = cfg.limits.max_user_connections;
        // Before it has authenticated, a client may send only a login-sized packet.
        let mut client = PacketStream::new(Stream::Plain(stream), PRE_AUTH_MAX_PACKET);
        let tls = shared.tls.load_full();
        let info = shared.server_info.load_full();
        let users = cfg.clone();
        let login = tokio::time::timeout(
            cfg.limits.handshake_timeout,
            handshake::accept_login(&mut client, id, &info, &tls, |u| {
                users
                    .user(u.as_bytes())
                    .map(|u| u.password.expose().to_string())
            }),
        )
        .await;
        let accepted = match login {
            Ok(Ok(a)) => a,
            Ok(Err(LoginError::BadPassword {
                user,
                with_password,
            })) => {
                let e = crate::login_throttle::refuse(
                    &shared.login_throttle,
                    &mut client,
                    &user,
                    &peer,
                    with_password,
                )
                .await;
                log_refused(&peer, id, &e);
                return;
            }
            Ok(Err(LoginError::Refused(e))) => {
                log_refused(&peer, id, &e);
                return;
            }
            Ok(Err(e)) => {
                debug!(client = %peer, conn = id, error = %e, "login failed");
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
                    let e = crate::login_throttle::refuse(
                        &shared.login_throttle,
                        &mut client,
                        &accepted.login.user,
                        &peer,
                        !accepted.answer.is_empty(),
                    )
                    .await;
                    log_refused(&peer, id, &e);
                    return;
                }
            },
        };
        shared
            .login_throttle
            .succeeded(peer.ip(), &accepted.login.user);
        let login = accepted.login;
        client.set_max_packet(max_packet);
        // mysqlnd logs in without CLIENT_MULTI_STATEMENTS and turns them on per call.
        let multi_statements_off = !login
            .capabilities
            .contains(mysql_common::constants::CapabilityFlags::CLIENT_MULTI_STATEMENTS);

        let replay = replay::Replay::new(login.db.clone(), multi_statements_off);
        let topo_rx = shared.version.subscribe();
        let shutdown_rx = shared.shutdown.subscribe();
        // Loaded after subscribing: a change in between shows as a version not seen yet.
        let topo = shared.topology.load_full();
        let cluster_name = topo.main().name.clone();
        let positions = shared.cluster_positions(&cluster_name);
        let charset = classify::Charset::from_collation(login.collation);
        let track_view = shared.track_view(
            login
                .capabilities
                .contains(mysql_common::constants::CapabilityFlags::CLIENT_SESSION_TRACK),
        );
        let mut s = Session {
            shared,
            id,
            peer,
            client,
            login,
            credential,
            master: None,
            replica: None,
            routing: RoutingState::default(),
            temp_tables: Vec::new(),
            charset,
            replay,
            track_view,
            show_client_tracking: false,
            keep_client_tracking: false,
            prepared: prepared::Prepared::default(),
            buf: Vec::with_capacity(1024),
            cmd_started: Instant::now(),
            attention: Arc::default(),
            fatal: false,
            topo,
            topo_rx,
            shutdown_rx,
            rw: consistency::ReadYourWrites::default(),
            replica_released: false,
            cluster: crate::topology::MAIN,
            cluster_name,
            parked: Vec::new(),
            db_here: true,
            stmt_db: None,
            positions,
            rerouted_write: false,
            master_holds: None,
            state_lost: false,
            trx_rules: None,
        };
        let entry = SessionEntry {
            user: s.login.user.clone(),
            client: peer,
            backends: Vec::new(),
            attention: s.attention.clone(),
            shown: Vec::new(),
            cluster: None,
        };
        if !s.shared.registry.insert(id, entry, max_user_conns) {
            let e = MyError::too_many_user_connections(&s.login.user);
            info!(client = %peer, conn = id, user = %s.login.user, max = max_user_conns, "login refused: max_user_connections reached");
            crate::metrics::METRICS.clients_refused.inc();
            let _ = s.send_error(&e).await;
            return;
        }
        // From here the session holds a per-user slot: given back by this guard's Drop, also
        // when the session panics.
        let _registered = Registered {
            shared: s.shared.clone(),
            id,
        };
        if s.finish_login().await {
            debug!(client = %peer, conn = id, user = %s.login.user, tls = s.client.stream.cipher().unwrap_or("no"), "session open");
            s.command_loop().await;
        }
        s.close().await;
        debug!(client = %peer, conn = id, "session closed");
    }

    /// Logs in to the first backend (a replica, where a free session's reads and SETs go, or
    /// the master if none can serve) so the client's database and credentials are checked by
    /// a real server, and relays its OK. A read-only page view never touches the master.
    /// Where a login is checked: a replica first when the topology has one (reads and the
    /// first SETs go there anyway), then the master.
    fn login_order(&self) -> &'static [Target] {
        if self.topo.clusters[self.cluster].replicas.is_empty() {
            &[Target::Master]
        } else {
            &[Target::Replica, Target::Master]
        }
    }

    /// Logs in to the first backend (a replica, where a free session's reads and SETs go, or
    /// the master if none can serve) so the client's database and credentials are checked by
    /// a real server. A read-only page view never touches the master. Returns the payload for
    /// the client: the backend's OK, or its refusal, or the proxy's 1429 when none answers.
    pub(super) async fn first_backend(&mut self) -> Result<Vec<u8>, Vec<u8>> {
        // The cluster that owns the database the client logs in to checks the login.
        self.start_on_db_cluster();
        let mut last_err = String::new();
        // An account known only from the master's user table (auth passthrough) is checked by
        // a real server at every login: a pooled connection would let a dropped account or a
        // changed password through until the proxy's copy of the table is reloaded.
        let pooled = matches!(self.credential, Credential::Password(_));
        for &target in self.login_order() {
            match self.connect(target, pooled).await {
                Ok((conn, mut ok)) => {
                    self.routing.last = Some(target);
                    self.set_conn(conn);
                    // The servers' tracking settings and packet limit are known from the
                    // first login on.
                    self.track_view = self.shared.track_view(self.track_view.capability);
                    let max = self.shared.max_packet(&self.topo.config.limits);
                    self.client.set_max_packet(max);
                    if crate::protocol::tracker::needs_rewrite(&ok) {
                        ok = crate::protocol::tracker::rewrite_ok(&ok, &self.track_view);
                    }
                    return Ok(ok);
                }
                // A replica may lag behind a just-created account or database: only the
                // master's refusal is final.
                Err(ConnectError::Refused(_)) if target == Target::Replica => {}
                Err(ConnectError::Refused(err)) => return Err(err),
                Err(ConnectError::Unreachable(why)) => last_err = why,
                Err(ConnectError::OutOfFiles(_)) => {
                    return Err(MyError::too_many_connections().to_payload())
                }
            }
        }
        let topo = self.topo.clone();
        let master = &topo.clusters[self.cluster].master;
        let e = MyError::backend_unavailable("master", &master.address, &last_err);
        if let Some(suppressed) = crate::log_limit::LOGIN_NO_BACKEND.check(&master.address) {
            warn!(client = %self.peer, error = %e, suppressed, "no backend reachable for login");
        }
        Err(e.to_payload())
    }

    /// Completes the client's login with the first backend's answer.
    pub(super) async fn finish_login(&mut self) -> bool {
        match self.first_backend().await {
            Ok(ok) => self.client.write_packet(&ok).await.is_ok(),
            Err(err) => {
                let _ = self.client.write_packet(&err).await;
                false
            }
        }
    }
}

/// A session's entry in the registry (and so its per-user connection slot), removed when
/// dropped.
struct Registered {
    shared: Arc<Shared>,
    id: u32,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.registry.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::wants_keepalive;

    #[test]
    fn keepalive_only_for_clients_on_other_hosts() {
        for local in [
            "127.0.0.1:5000",
            "127.9.9.9:1",
            "[::1]:5000",
            "[::ffff:127.0.0.1]:5000",
        ] {
            assert!(!wants_keepalive(&local.parse().unwrap()), "{local}");
        }
        for remote in [
            "10.0.0.7:5000",
            "192.168.1.2:1",
            "[2001:db8::1]:5000",
            "[::ffff:10.0.0.7]:1",
        ] {
            assert!(wants_keepalive(&remote.parse().unwrap()), "{remote}");
        }
    }
}
