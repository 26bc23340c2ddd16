//! One client session: login, the command loop, routing each command to the master or a
//! replica, and carrying the session's state to whichever backend runs the next statement.
//!
//! The path of a query: `server` accepts → `protocol::handshake` logs the client in → this
//! module reads a command → `classify` decides where it belongs → `backend` relays the answer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::backend::{BackendConn, BackendStmt, ConnectError, LoginParams, RelayError};
use crate::classify::{self, Classification, Hint, Kind, Route};
use crate::config::Consistency;
use crate::gtid::GtidPos;
use crate::metrics::{RouteLabel, METRICS};
use crate::pool::PoolKey;
use crate::protocol::auth::Credential;
use crate::protocol::command::*;
use crate::protocol::error::MyError;
use crate::protocol::handshake::{self, Login, LoginError};
use crate::protocol::packet::{PacketStream, ReadError};
use crate::protocol::scan::{Expect, Scanner};
use crate::protocol::{StatusFlags, MAX_CHUNK};
use crate::registry::SessionEntry;
use crate::tls::Stream;
use crate::topology::{Backend, Role, Shared};

/// A backend connection idle longer than this is checked for a server-side close before use.
const IDLE_CHECK_AFTER: Duration = Duration::from_millis(500);
/// Checks a client's mysql_native_password answer: proxy.toml's users first; with auth
/// passthrough, the accounts loaded from the master (reloaded once if nothing matches, so an
/// account created a moment ago works).
async fn verify_native(
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

/// How often a read is retried on another backend after its replica failed.
const MAX_READ_RETRIES: u32 = 3;
/// How long a backend that refused a connection gets no new sessions.
const FAILED_BACKEND_PAUSE_MS: u64 = 2000;
/// Beyond this many recorded session statements the session stops replaying and stays on the
/// master, so a client that SETs in a loop cannot grow the proxy's memory without bound.
const MAX_RECORDED: usize = 256;

/// A session-state statement that succeeded and must be replayed on backends that did not run it.
struct Recorded {
    seq: u64,
    key: Vec<u8>,
    sql: Vec<u8>,
    /// Assigns a user variable: state particular to this session (not worth sharing
    /// connections over, see `releasable`).
    user_var: bool,
}

/// A prepared statement as the client sees it (the proxy's own id).
struct PreparedStmt {
    sql: Vec<u8>,
    read_only: bool,
    num_params: u16,
    /// Parameter types from the last execute that sent them, for backends that have not seen them.
    param_types: Option<Vec<u8>>,
    /// COM_STMT_SEND_LONG_DATA payloads (already re-encoded per backend on use).
    long_data: Vec<(u16, Vec<u8>)>,
    long_data_bytes: usize,
    /// Where the last execute ran (COM_STMT_FETCH and COM_STMT_RESET go there).
    last_role: Option<Role>,
    /// The last execute opened a cursor that lives on that backend.
    cursor_open: bool,
    /// Statement kind, for metrics.
    kind: Kind,
    /// Digest fingerprint of `sql`, computed once.
    digest: u64,
}

pub struct Session {
    shared: Arc<Shared>,
    pub id: u32,
    peer: SocketAddr,
    client: PacketStream<Stream>,
    login: Login,
    /// What the backends are logged in to with (a password, or a passthrough hash).
    credential: Credential,
    master: Option<BackendConn>,
    replica: Option<BackendConn>,
    /// The backend that ran the previous statement (SHOW WARNINGS and SET go there).
    last: Option<Role>,
    /// The backend holding an open transaction, from the servers' status flags. Normally the
    /// master; a replica for `START TRANSACTION READ ONLY`.
    trx: Option<Target>,
    autocommit: bool,
    /// Temporary tables this session created: statements naming them go to the master.
    temp_tables: Vec<String>,
    /// A SELECT assigned user variables on the master: later reads of @vars go there too.
    user_vars_on_master: bool,
    /// Session state that only the master holds (too much to replay): everything goes there.
    pinned: bool,
    db: Option<String>,
    recorded: Vec<Recorded>,
    rec_seq: u64,
    multi_statements_off: bool,
    stmts: HashMap<u32, PreparedStmt>,
    next_stmt_id: u32,
    last_prepared: Option<u32>,
    buf: Vec<u8>,
    /// Reused for rewriting COM_STMT_EXECUTE packets.
    exec_buf: Vec<u8>,
    /// Woken when another session runs `KILL <this id>`.
    killed: Arc<tokio::sync::Notify>,
    /// The session cannot go on (its transaction's backend died): close after this command.
    fatal: bool,
    /// Topology version last acted on (reloads, health changes).
    topo_rx: tokio::sync::watch::Receiver<u64>,
    shutdown_rx: tokio::sync::watch::Receiver<bool>,
    /// GTIDs of this session's writes (read-your-writes).
    gtid_need: GtidPos,
    /// A write finished on the master and its GTID has not been fetched yet.
    gtid_dirty: bool,
    /// What the current replica connection is known to have applied, and which connection
    /// (backend thread id) that was.
    replica_pos: GtidPos,
    replica_pos_thread: u32,
    /// Signature of `recorded` (0 when empty): a connection whose `state_sig` equals it
    /// carries exactly this session's recorded state.
    state_sig: u64,
    /// The replica connection the last statement ran on was handed back to the pool while the
    /// session was idle (multiplexing): statements about "the last statement" (SHOW WARNINGS)
    /// still belong on a replica connection, and any clean one answers as that one would.
    replica_released: bool,
}

/// Where a command will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Master,
    Replica,
}

/// How relaying one response ended.
enum Relayed {
    Done(Scanner),
    /// The backend failed before any byte reached the client.
    Failed {
        error: String,
    },
}

enum Flow {
    Continue,
    Quit,
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
    async fn finish_login(&mut self) -> bool {
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

    async fn command_loop(&mut self) {
        let idle = self
            .shared
            .topology
            .load()
            .config
            .limits
            .idle_client_timeout;
        // One idle timer for the whole session, moved forward at most once a second: arming a
        // timer per statement would cost more than routing the statement.
        let idle_or_never = idle.unwrap_or(Duration::from_secs(10 * 365 * 86400));
        let mut last_active = tokio::time::Instant::now();
        let mut deadline = last_active + idle_or_never;
        let mut idle_timer = Box::pin(tokio::time::sleep_until(deadline));
        loop {
            self.client.reset_seq();
            let mut buf = std::mem::take(&mut self.buf);
            if *self.shutdown_rx.borrow() {
                debug!(client = %self.peer, "closing for shutdown");
                self.buf = buf;
                return;
            }
            let due = last_active + idle_or_never;
            if due > deadline + Duration::from_secs(1) {
                deadline = due;
                idle_timer.as_mut().reset(deadline);
            }
            // Wait for the client without holding a half-read packet, so a topology change or
            // a KILL can be handled in between (reading a packet is not cancel-safe).
            if self.client.rbuf.is_empty() {
                let killed = self.killed.clone();
                let mut shutdown = self.shutdown_rx.clone();
                let mut topo = self.topo_rx.clone();
                // Multiplexing: a timer only while there is a connection to hand back, so a
                // busy session arms none. Settings as of now (a reload may change them).
                let release_after = if self.any_releasable() {
                    let r = &self.shared.topology.load().config.routing;
                    r.multiplex.then_some(r.multiplex_after)
                } else {
                    None
                };
                let release_timer = async {
                    match release_after {
                        Some(after) => tokio::time::sleep(after).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = release_timer => {
                        self.release_idle();
                        self.buf = buf;
                        continue;
                    }
                    // Reading into the buffer is cancel-safe; readiness of the socket would
                    // not do for TLS, whose layer may already hold decrypted bytes.
                    r = self.client.fill() => {
                        if r.is_err() {
                            self.buf = buf;
                            return;
                        }
                    }
                    _ = &mut idle_timer => {
                        self.buf = buf;
                        if tokio::time::Instant::now() >= due {
                            debug!(client = %self.peer, "idle timeout");
                            return;
                        }
                        deadline = due;
                        idle_timer.as_mut().reset(deadline);
                        continue;
                    }
                    _ = shutdown.changed() => {
                        debug!(client = %self.peer, "closing for shutdown");
                        self.buf = buf;
                        return;
                    }
                    _ = killed.notified() => {
                        debug!(client = %self.peer, "killed by KILL CONNECTION");
                        self.buf = buf;
                        return;
                    }
                    _ = topo.changed() => {
                        self.topo_rx.mark_unchanged();
                        self.on_topology_change();
                        self.buf = buf;
                        continue;
                    }
                }
            }
            // A packet that started arriving must finish within the idle timeout too.
            let read: Result<Result<(), ReadError>, ()> = tokio::select! {
                r = self.client.read_packet(&mut buf) => Ok(r),
                _ = &mut idle_timer => Err(()),
            };
            last_active = tokio::time::Instant::now();
            let flow = match read {
                Err(()) => Flow::Quit,
                Ok(Err(ReadError::Closed)) => Flow::Quit,
                Ok(Err(ReadError::TooLarge)) => {
                    let _ = self.send_error(&MyError::packet_too_large()).await;
                    Flow::Quit
                }
                Ok(Err(e)) => {
                    debug!(client = %self.peer, error = %e, "client read failed");
                    Flow::Quit
                }
                Ok(Ok(())) => match self.dispatch(&buf).await {
                    Ok(f) => f,
                    Err(e) => {
                        debug!(client = %self.peer, error = %e, "client write failed");
                        Flow::Quit
                    }
                },
            };
            self.buf = buf;
            if matches!(flow, Flow::Quit) || self.fatal {
                return;
            }
        }
    }

    async fn send_error(&mut self, e: &MyError) -> std::io::Result<()> {
        self.client.write_packet(&e.to_payload()).await
    }

    /// Handles one client command. Err means the client connection is gone.
    async fn dispatch(&mut self, pkt: &[u8]) -> std::io::Result<Flow> {
        let Some(&cmd) = pkt.first() else {
            self.send_error(&MyError::unknown_command()).await?;
            return Ok(Flow::Continue);
        };
        match cmd {
            COM_QUIT => return Ok(Flow::Quit),
            COM_QUERY => return self.query(pkt).await,
            COM_INIT_DB => self.init_db(pkt).await?,
            COM_PING | COM_STATISTICS => {
                let target = self.current();
                self.forward(target, pkt, Expect::Single, false).await?;
            }
            COM_FIELD_LIST => {
                let target = self.route_read(true);
                self.forward(target, pkt, Expect::Rows, true).await?;
            }
            COM_SET_OPTION => self.set_option(pkt).await?,
            COM_RESET_CONNECTION => self.reset_connection(pkt).await?,
            COM_CHANGE_USER => return self.change_user(pkt).await,
            COM_STMT_PREPARE => self.prepare(pkt).await?,
            COM_STMT_EXECUTE => self.execute(pkt).await?,
            COM_STMT_SEND_LONG_DATA => self.send_long_data(pkt),
            COM_STMT_CLOSE => self.close_stmt(pkt).await,
            COM_STMT_RESET => self.reset_stmt(pkt).await?,
            COM_STMT_FETCH => self.fetch(pkt).await?,
            COM_PROCESS_KILL => {
                let Some(id) = pkt
                    .get(1..5)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                else {
                    self.send_error(&MyError::wrong_arguments("KILL")).await?;
                    return Ok(Flow::Continue);
                };
                return self.kill(id as u64, false).await;
            }
            _ => {
                debug!(client = %self.peer, command = cmd, "unsupported command");
                self.send_error(&MyError::unknown_command()).await?;
            }
        }
        Ok(Flow::Continue)
    }

    // ---------------------------------------------------------------- routing

    /// The backend for commands that follow the session (SET, USE, PING): the last one used.
    fn current(&self) -> Target {
        match self.last {
            Some(Role::Replica) if self.replica.is_some() || self.replica_released => {
                Target::Replica
            }
            _ => Target::Master,
        }
    }

    /// The backend for a read: a replica unless a transaction or master-only state holds it.
    fn route_read(&self, read: bool) -> Target {
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
    fn state_on_master(&self, sql: &[u8]) -> bool {
        (!self.temp_tables.is_empty() && classify::mentions_any(sql, &self.temp_tables))
            || (self.user_vars_on_master && classify::reads_user_var(sql))
    }

    fn route(&self, c: &Classification, sql: &[u8]) -> Target {
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

    // ---------------------------------------------------------------- backends

    fn login_params(&self, connect_timeout: Duration) -> LoginParams<'_> {
        LoginParams {
            user: &self.login.user,
            credential: &self.credential,
            db: self.db.as_deref(),
            collation: self.login.collation,
            capabilities: self.login.capabilities,
            attributes: &self.login.attributes,
            connect_timeout,
            tls: self.shared.tls.load_full(),
        }
    }

    /// Opens a connection for `target`, trying every eligible backend.
    async fn connect(
        &self,
        target: Target,
        exclude: &[&str],
    ) -> Result<(BackendConn, Vec<u8>), ConnectError> {
        let topo = self.shared.topology.load_full();
        let timeout = topo.config.timeouts.connect;
        let mut tried: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        let mut last = ConnectError::Unreachable("no backend configured".into());
        loop {
            let backend: Arc<Backend> = match target {
                Target::Master => {
                    if !tried.is_empty() && tried.contains(&topo.master.address) {
                        return Err(last);
                    }
                    topo.master.clone()
                }
                Target::Replica => {
                    let ex: Vec<&str> = tried.iter().map(String::as_str).collect();
                    match topo.pick_replica(&ex) {
                        Some(b) => b,
                        None => return Err(last),
                    }
                }
            };
            tried.push(backend.address.clone());
            // Counted from the pick on, so sessions connecting at the same moment spread out.
            let lease = crate::topology::Lease::new(&backend);
            if let Some(mut conn) = self
                .shared
                .pool
                .take(&self.pool_key(&backend.address, self.db.clone(), self.state_sig))
                .or_else(|| {
                    // One without state: the session's SETs are replayed on it.
                    (self.state_sig != 0).then(|| {
                        self.shared
                            .pool
                            .take(&self.pool_key(&backend.address, self.db.clone(), 0))
                    })?
                })
            {
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
                    backend.mark_ok();
                    if backend.role == Role::Master {
                        self.shared.server_info.store(Arc::new(info));
                    }
                    return Ok((conn, ok));
                }
                Err(ConnectError::Unreachable(why)) => {
                    warn!(backend = %backend.address, role = backend.role.as_str(), error = %why, "backend unreachable");
                    backend.mark_failed(FAILED_BACKEND_PAUSE_MS);
                    last = ConnectError::Unreachable(why);
                    if target == Target::Master {
                        return Err(last);
                    }
                }
                Err(refused) => return Err(refused),
            }
        }
    }

    fn set_conn(&mut self, conn: BackendConn) {
        let mut conn = conn;
        if conn.lease.is_none() {
            conn.lease = Some(crate::topology::Lease::new(&conn.backend));
        }
        // A fresh login already has the session's database and collation; the recorded
        // statements still have to be replayed, unless it is a pooled connection that
        // carries exactly this session's state.
        conn.applied = if conn.state_sig != 0 && conn.state_sig == self.state_sig {
            self.rec_seq
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
    fn on_topology_change(&mut self) {
        let topo = self.shared.topology.load_full();
        let keep_replica = self.trx == Some(Target::Replica)
            || self
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
        if master_stale && self.trx != Some(Target::Master) {
            if let Some(m) = self.master.take() {
                tokio::spawn(m.quit());
            }
        }
        if self.last.is_some_and(|r| match r {
            Role::Master => self.master.is_none(),
            Role::Replica => self.replica.is_none(),
        }) {
            self.last = None;
        }
        self.publish_backends();
    }

    /// Tells the registry which backend threads serve this session (for KILL).
    fn publish_backends(&self) {
        let backends = [self.master.as_ref(), self.replica.as_ref()]
            .into_iter()
            .flatten()
            .map(|c| (c.address().to_string(), c.thread_id))
            .collect();
        self.shared.registry.set_backends(self.id, backends);
    }

    /// `KILL [QUERY] id` / COM_PROCESS_KILL with a proxy connection id: the backend threads of
    /// that session get the KILL, on the servers they run on.
    async fn kill(&mut self, id: u64, query_only: bool) -> std::io::Result<Flow> {
        let entry = u32::try_from(id)
            .ok()
            .and_then(|id| self.shared.registry.get(id));
        let Some(entry) = entry else {
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
        let own = id == self.id as u64;
        let topo = self.shared.topology.load_full();
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
                    let role = if *addr == topo.master.address {
                        Role::Master
                    } else {
                        Role::Replica
                    };
                    let backend = Arc::new(Backend::new(addr, role, 1));
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
        entry.killed.notify_one();
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
    fn ok_payload(&self) -> Vec<u8> {
        let mut st = StatusFlags::empty();
        if self.autocommit {
            st |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if self.trx.is_some() {
            st |= StatusFlags::SERVER_STATUS_IN_TRANS;
        }
        let b = st.bits().to_le_bytes();
        vec![0x00, 0x00, 0x00, b[0], b[1], 0x00, 0x00]
    }

    fn conn_mut(&mut self, target: Target) -> Option<&mut BackendConn> {
        match target {
            Target::Master => self.master.as_mut(),
            Target::Replica => self.replica.as_mut(),
        }
    }

    /// Makes sure a usable connection for `target` exists and carries the session's state.
    /// Reads fall back to the master when no replica can serve. Returns the target actually
    /// used, or the error for the client.
    async fn ready(&mut self, target: Target) -> Result<Target, MyError> {
        let topo = self.shared.topology.load_full();
        // A connection the server closed while idle (wait_timeout) is found before use.
        let peer = self.peer;
        if let Some(c) = self.conn_mut(target) {
            if c.idle_for() > IDLE_CHECK_AFTER && !c.check_alive() {
                debug!(client = %peer, backend = %c.address(), "idle backend connection was closed by the server; reconnecting");
                c.broken = true;
            }
        }
        // Drop a connection that broke, or whose backend left the topology. One that holds the
        // open transaction is kept while it works (the transaction finishes where it started);
        // if it broke, the transaction is gone and so is the client connection, as it would be
        // with a direct connection: never a silent continuation on another server.
        for t in [Target::Master, Target::Replica] {
            let holds_trx = self.trx == Some(t);
            let Some(c) = self.conn_mut(t) else { continue };
            let broken = c.broken;
            if !(broken || (!topo.contains(&c.backend) && !holds_trx)) {
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
            if holds_trx {
                self.trx = None;
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
            match self.connect(Target::Replica, &[]).await {
                Ok((conn, _)) => self.set_conn(conn),
                Err(ConnectError::Unreachable(why)) => {
                    if !topo.config.routing.fallback_to_master && !topo.replicas.is_empty() {
                        return Err(MyError::backend_unavailable("replica", "(any)", &why));
                    }
                    target = Target::Master;
                }
                Err(ConnectError::Refused(p)) => {
                    debug!(client = %self.peer, "replica refused login, reading from master");
                    let _ = p;
                    target = Target::Master;
                }
            }
        }
        if target == Target::Master && self.master.is_none() {
            match self.connect(Target::Master, &[]).await {
                Ok((conn, _)) => self.set_conn(conn),
                Err(e) => {
                    return Err(match e {
                        ConnectError::Refused(p) => {
                            MyError::from_payload(&p).unwrap_or_else(|| {
                                MyError::backend_unavailable(
                                    "master",
                                    &topo.master.address,
                                    "refused",
                                )
                            })
                        }
                        ConnectError::Unreachable(why) => {
                            MyError::backend_unavailable("master", &topo.master.address, &why)
                        }
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

    /// Replays what the backend has not seen yet: database, recorded SETs, multi-statement option.
    async fn sync_state(&mut self, target: Target) -> Result<(), MyError> {
        // Fast path (every statement): the backend already has everything.
        {
            let conn = match target {
                Target::Master => self.master.as_ref(),
                Target::Replica => self.replica.as_ref(),
            };
            if let Some(c) = conn {
                if c.applied == self.rec_seq
                    && c.multi_statements_off == self.multi_statements_off
                    && (self.db.is_none() || c.db == self.db)
                {
                    return Ok(());
                }
            }
        }
        let db = self.db.clone();
        let rec_seq = self.rec_seq;
        let state_sig = self.state_sig;
        let multi_off = self.multi_statements_off;
        let pending: Vec<Vec<u8>> = {
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
            self.recorded
                .iter()
                .filter(|r| r.seq > conn.applied)
                .map(|r| r.sql.clone())
                .collect()
        };
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
        for sql in pending {
            conn.run_query(&sql).await.map_err(lost)??;
        }
        conn.applied = rec_seq;
        conn.state_sig = state_sig;
        conn.dirty = was_dirty;
        if conn.multi_statements_off != multi_off {
            let opt: u16 = if multi_off { 1 } else { 0 };
            let p = [COM_SET_OPTION, opt as u8, (opt >> 8) as u8];
            conn.run_simple(&p).await.map_err(lost)??;
            conn.multi_statements_off = multi_off;
        }
        Ok(())
    }

    /// The server's status flags are the truth about transactions: BEGIN, autocommit=0, XA and
    /// implicit commits all show up here.
    fn status_from(&mut self, role: Role, status: Option<StatusFlags>) {
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

    /// Sends `pkt` to `target` and relays the response. Returns the scanner (None if an error
    /// was sent to the client instead). With `retry`, a read whose replica fails before any
    /// byte reached the client runs again on another replica or the master, with the session
    /// state replayed there first.
    async fn forward(
        &mut self,
        target: Target,
        pkt: &[u8],
        expect: Expect,
        retry: bool,
    ) -> std::io::Result<Option<(Target, Scanner)>> {
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
            let client_packets = (pkt.len() / MAX_CHUNK + 1) as u8;
            let conn = self.conn_mut(t).expect("ready");
            let outcome = match conn.send_command(pkt).await {
                Ok(sent) => {
                    self.relay(t, expect, client_packets.wrapping_sub(sent))
                        .await?
                }
                Err(e) => {
                    conn.broken = true;
                    Relayed::Failed {
                        error: e.to_string(),
                    }
                }
            };
            match outcome {
                Relayed::Done(scanner) => return Ok(Some((t, scanner))),
                Relayed::Failed { error } => {
                    let (addr, was_trx) = self.backend_failed(t);
                    if retry && t == Target::Replica && !was_trx && attempt < MAX_READ_RETRIES {
                        attempt += 1;
                        METRICS.read_retries.inc();
                        warn!(client = %self.peer, backend = %addr, error = %error, attempt, "read failed before any byte reached the client; retrying elsewhere");
                        // The next replica must also have this session's writes.
                        target = self.consistent(Target::Replica).await;
                        continue;
                    }
                    self.report_failure(t, &addr, &error, was_trx).await?;
                    return Ok(None);
                }
            }
        }
    }

    /// Tells the client a statement failed with its backend. If that backend held the open
    /// transaction, the transaction is gone: closing the client connection (Err) is what a
    /// direct client would see, and cannot be mistaken for a transaction going on elsewhere.
    async fn report_failure(
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

    /// A backend connection failed: mark it for replacement and give the backend a pause.
    /// Returns its address and whether it held the open transaction.
    fn backend_failed(&mut self, t: Target) -> (String, bool) {
        let was_trx = self.trx == Some(t);
        if was_trx {
            self.trx = None;
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
    async fn relay(
        &mut self,
        target: Target,
        expect: Expect,
        seq_delta: u8,
    ) -> std::io::Result<Relayed> {
        let conn = match target {
            Target::Master => self.master.as_mut(),
            Target::Replica => self.replica.as_mut(),
        }
        .expect("connected");
        let mut scanner = Scanner::new(expect, conn.deprecate_eof());
        scanner.seq_delta = seq_delta;
        match conn.relay(&mut self.client, &mut scanner).await {
            Ok(()) => {
                let role = conn.role();
                self.status_from(role, scanner.status);
                self.last = Some(role);
                Ok(Relayed::Done(scanner))
            }
            Err(RelayError::Client(e)) => {
                conn.broken = true;
                Err(e)
            }
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

    // ---------------------------------------------------------------- commands

    async fn query(&mut self, pkt: &[u8]) -> std::io::Result<Flow> {
        let sql = &pkt[1..];
        let c = classify::classify(sql);
        if c.kind == Kind::Kill {
            if let Some((query_only, id)) = crate::registry::parse_kill(sql) {
                return self.kill(id, query_only).await;
            }
        }
        let started = Instant::now();
        if c.kind == Kind::Other && matches!(c.route, Route::Master) {
            METRICS.unclassified.inc();
            debug!(client = %self.peer, "statement not classified; sent to the master");
        }
        let mut target = self.route(&c, sql);
        // A plain read may run again elsewhere if its replica fails before answering.
        let retry = target == Target::Replica && matches!(c.route, Route::Replica)
            || c.hint == Some(Hint::Replica);
        if retry {
            // Read-your-writes: only a replica that has this session's writes.
            target = self.consistent(target).await;
        }
        let Some((used, scanner)) = self
            .forward(target, pkt, Expect::Results { binary: false }, retry)
            .await?
        else {
            return Ok(Flow::Continue);
        };
        self.account(
            target,
            used,
            c.kind,
            started,
            &scanner,
            None,
            sql,
            pkt.len(),
        );
        if used == Target::Master {
            self.after_master_statement(c.kind).await;
        }
        if used == Target::Replica && leaves_nothing(&c, &scanner) && self.trx.is_none() {
            if let Some(conn) = self.replica.as_mut() {
                conn.mark_clean();
            }
        }
        if scanner.error {
            return Ok(Flow::Continue);
        }
        if c.kind == Kind::Use {
            if let Some(db) = classify::use_database(sql) {
                self.db = Some(db.clone());
                if let Some(conn) = self.conn_mut(used) {
                    conn.db = Some(db);
                }
            }
        } else if c.record {
            // A single SET that ended cleanly leaves only state the proxy tracks.
            let clean = !c.multi && scanner.warnings == 0 && self.trx.is_none();
            self.record(sql, used, c.user_var_write, clean);
        } else if c.multi && !c.record && classify::looks_stateful(sql) {
            // A multi-statement mixing SETs with other work cannot be replayed: keep the
            // session where that state lives.
            self.pin("multi-statement with session state");
        }
        if c.user_var_write && !c.record {
            // SELECT ... @x := / INTO @x ran on the master: @x lives there now.
            self.user_vars_on_master = true;
        }
        if c.temp_table.is_some() {
            for op in classify::temp_table_ops(sql) {
                match op {
                    classify::TempTableOp::Create(name) => {
                        if !self
                            .temp_tables
                            .iter()
                            .any(|t| t.eq_ignore_ascii_case(&name))
                        {
                            self.temp_tables.push(name);
                        }
                    }
                    classify::TempTableOp::Drop(names) => {
                        self.temp_tables
                            .retain(|t| !names.iter().any(|n| n.eq_ignore_ascii_case(t)));
                    }
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// Read-your-writes: where a read may run given the writes this session (or, with
    /// `consistency = "global"`, anyone through this proxy) has made. A replica known to have
    /// applied them serves it; otherwise the read waits on the replica up to
    /// `consistency_wait` (MASTER_GTID_WAIT) and goes to the master if it is still behind.
    async fn consistent(&mut self, target: Target) -> Target {
        let topo = self.shared.topology.load_full();
        let mode = topo.config.routing.consistency;
        if target != Target::Replica || mode == Consistency::Eventual {
            return target;
        }
        if self.gtid_dirty && !self.fetch_last_gtid().await {
            METRICS.consistency_master.inc();
            return Target::Master;
        }
        let mut need = self.gtid_need.clone();
        if mode == Consistency::Global {
            need.merge(&self.shared.global_gtid.lock().expect("gtid lock"));
        }
        if need.is_empty() {
            return Target::Replica;
        }
        match self.ready(Target::Replica).await {
            Ok(Target::Replica) => {}
            _ => return Target::Master,
        }
        let conn = self.replica.as_mut().expect("ready");
        if self.replica_pos_thread != conn.thread_id {
            self.replica_pos = GtidPos::default();
            self.replica_pos_thread = conn.thread_id;
        }
        if !self.replica_pos.covers(&need) {
            if let Some(seen) = conn
                .backend
                .health
                .load()
                .gtid
                .as_deref()
                .and_then(GtidPos::parse)
            {
                self.replica_pos.merge(&seen);
            }
        }
        if self.replica_pos.covers(&need) {
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
            self.replica_pos.merge(&need);
            METRICS.consistency_waited.inc();
            Target::Replica
        } else {
            METRICS.consistency_master.inc();
            Target::Master
        }
    }

    /// A write of this session reached `pos`: its own reads, and with consistency = "global"
    /// everyone's, must see at least that.
    fn note_write(&mut self, pos: &GtidPos) {
        self.gtid_need.merge(pos);
        self.shared
            .global_gtid
            .lock()
            .expect("gtid lock")
            .merge(pos);
    }

    /// Learns the GTID of this session's last write from the master. False if that failed
    /// (the caller then reads from the master, which is always up to date).
    async fn fetch_last_gtid(&mut self) -> bool {
        self.gtid_dirty = false;
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
    async fn master_position(&self) -> Option<GtidPos> {
        let topo = self.shared.topology.load_full();
        let mut probe = self.shared.gtid_probe.lock().await;
        let usable = probe
            .as_ref()
            .is_some_and(|c| !c.broken && c.address() == topo.master.address);
        if !usable {
            let mut params = self.login_params(topo.config.timeouts.connect);
            params.db = None;
            *probe = BackendConn::connect(topo.master.clone(), &params)
                .await
                .ok()
                .map(|(c, _, _)| c);
        }
        let conn = probe.as_mut()?;
        match conn.query_rows("SELECT @@gtid_binlog_pos").await {
            Ok(Ok(rows)) => GtidPos::parse(rows.rows.first()?.first()?.as_deref()?),
            _ => {
                conn.broken = true;
                None
            }
        }
    }

    /// A statement finished on the master: if it may have committed a write, the next read
    /// must see it. Session consistency asks the master for the GTID lazily, right before the
    /// next replica read (so warnings and ROW_COUNT() of the write stay intact for the client);
    /// global consistency asks at once, so other connections see it.
    async fn after_master_statement(&mut self, kind: Kind) {
        if self.trx.is_some()
            || matches!(
                kind,
                Kind::Select | Kind::Show | Kind::Describe | Kind::Explain | Kind::Set | Kind::Use
            )
        {
            return;
        }
        let mode = self.shared.topology.load().config.routing.consistency;
        match mode {
            Consistency::Eventual => {}
            Consistency::Session => self.gtid_dirty = true,
            Consistency::Global => {
                // Asked on the proxy's own master connection, not the client's: the client's
                // next SHOW WARNINGS or ROW_COUNT() must still be about its write.
                match self.master_position().await {
                    Some(pos) => self.note_write(&pos),
                    None => self.gtid_dirty = true,
                }
            }
        }
    }

    /// Metrics and digests for one relayed statement.
    #[allow(clippy::too_many_arguments)]
    fn account(
        &self,
        wanted: Target,
        used: Target,
        kind: Kind,
        started: Instant,
        scanner: &Scanner,
        digest_key: Option<u64>,
        sql: &[u8],
        bytes_in: usize,
    ) {
        let elapsed = started.elapsed();
        let route = match (wanted, used) {
            (_, Target::Replica) => RouteLabel::Replica,
            (Target::Replica, Target::Master) => RouteLabel::Fallback,
            _ => RouteLabel::Master,
        };
        METRICS.query(route, kind);
        METRICS.bytes_in.inc_by(bytes_in as u64 + 4);
        METRICS.bytes_out.inc_by(scanner.bytes);
        let conn = match used {
            Target::Master => self.master.as_ref(),
            Target::Replica => self.replica.as_ref(),
        };
        if let Some(conn) = conn {
            conn.latency.observe(elapsed.as_secs_f64());
        }
        let label = match route {
            RouteLabel::Master => "master",
            RouteLabel::Replica => "replica",
            RouteLabel::Fallback => "fallback",
        };
        let key = digest_key.unwrap_or_else(|| crate::digest::fingerprint(sql));
        self.shared
            .digests
            .record_key(key, sql, elapsed, scanner.rows, label);
    }

    fn pin(&mut self, why: &str) {
        if !self.pinned {
            debug!(client = %self.peer, reason = why, "session pinned to the master");
            self.pinned = true;
        }
    }

    /// Remembers a successful session-state statement for the other backends.
    /// `clean`: the statement left nothing else behind (see `BackendConn::mark_clean`).
    fn record(&mut self, sql: &[u8], ran_on: Target, user_var: bool, clean: bool) {
        if self.recorded.len() >= MAX_RECORDED {
            self.pin("too many session statements to replay");
            return;
        }
        let key = classify::record_key(sql);
        if let Some(k) = &key {
            self.recorded.retain(|r| &r.key != k);
        }
        self.rec_seq += 1;
        self.recorded.push(Recorded {
            seq: self.rec_seq,
            key: key.unwrap_or_default(),
            sql: sql.to_vec(),
            user_var,
        });
        self.state_sig = state_signature(&self.recorded);
        let seq = self.rec_seq;
        let sig = self.state_sig;
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

    async fn init_db(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let target = self.current();
        if let Some((used, scanner)) = self.forward(target, pkt, Expect::Single, false).await? {
            if !scanner.error {
                let db = String::from_utf8_lossy(&pkt[1..]).into_owned();
                self.db = Some(db.clone());
                if let Some(conn) = self.conn_mut(used) {
                    conn.db = Some(db);
                }
            }
        }
        Ok(())
    }

    async fn set_option(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        if pkt.len() < 3 {
            return self.send_error(&MyError::unknown_command()).await;
        }
        let off = u16::from_le_bytes([pkt[1], pkt[2]]) == 1;
        let target = self.current();
        if let Some((used, scanner)) = self.forward(target, pkt, Expect::Single, false).await? {
            if !scanner.error {
                self.multi_statements_off = off;
                if let Some(conn) = self.conn_mut(used) {
                    conn.multi_statements_off = off;
                }
            }
        }
        Ok(())
    }

    async fn reset_connection(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let target = self.current();
        // The other backend is reset quietly; the client sees the answer of the current one.
        let other = if target == Target::Master {
            Target::Replica
        } else {
            Target::Master
        };
        if let Some(conn) = self.conn_mut(other) {
            match conn.run_simple(pkt).await {
                Ok(Ok(_)) => {
                    conn.stmts.clear();
                    conn.multi_statements_off = false;
                }
                _ => conn.broken = true,
            }
        }
        if let Some((used, scanner)) = self.forward(target, pkt, Expect::Single, false).await? {
            if let Some(conn) = self.conn_mut(used) {
                conn.stmts.clear();
                conn.multi_statements_off = false;
            }
            if !scanner.error {
                self.forget_session_state();
                let seq = self.rec_seq;
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

    /// COM_CHANGE_USER: the proxy checks the new credentials itself, then starts the session over
    /// on fresh backend logins, so no state of the old user survives anywhere.
    async fn change_user(&mut self, pkt: &[u8]) -> std::io::Result<Flow> {
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
        let topo = self.shared.topology.load_full();
        let credential = verify_native(&self.shared, &user, &scramble, &resp).await;
        let Some(credential) = credential else {
            let host = handshake::host_label(&self.peer);
            self.send_error(&MyError::access_denied(&user, &host, !resp.is_empty()))
                .await?;
            return Ok(Flow::Quit);
        };
        let max = topo.config.limits.max_user_connections;
        if !self.shared.registry.change_user(self.id, &user, max) {
            self.send_error(&MyError::too_many_user_connections(&user))
                .await?;
            return Ok(Flow::Quit);
        }
        for conn in [self.master.take(), self.replica.take()]
            .into_iter()
            .flatten()
        {
            tokio::spawn(conn.quit());
        }
        self.login.user = user;
        self.credential = credential;
        if let Some(c) = collation {
            self.login.collation = c;
        }
        self.db = db;
        self.forget_session_state();
        self.last = None;
        for target in [Target::Master, Target::Replica] {
            match self.connect(target, &[]).await {
                Ok((conn, ok)) => {
                    self.set_conn(conn);
                    self.client.write_packet(&ok).await?;
                    return Ok(Flow::Continue);
                }
                Err(ConnectError::Refused(err)) => {
                    self.client.write_packet(&err).await?;
                    return Ok(Flow::Quit);
                }
                Err(ConnectError::Unreachable(_)) => {}
            }
        }
        let e =
            MyError::backend_unavailable("master", &topo.master.address, "no backend reachable");
        self.send_error(&e).await?;
        Ok(Flow::Quit)
    }

    // ---------------------------------------------------------------- prepared statements

    async fn prepare(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let sql = &pkt[1..];
        let c = classify::classify(sql);
        let read_only = matches!(c.route, Route::Replica) && !c.multi && !self.state_on_master(sql);
        // A prepare sends nothing to the client until the whole answer is in, so one on a
        // replica that fails can run again elsewhere, like a read.
        let mut attempt = 0;
        let (target, mut raw, ok) = loop {
            let target = match self.ready(self.route_read(read_only)).await {
                Ok(t) => t,
                Err(e) => return self.send_error(&e).await,
            };
            let conn = self.conn_mut(target).expect("ready");
            let result = match conn.send_command(pkt).await {
                Ok(_) => conn
                    .read_prepare_response()
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok((raw, ok)) => break (target, raw, ok),
                Err(error) => {
                    let (addr, was_trx) = self.backend_failed(target);
                    if target == Target::Replica && !was_trx && attempt < MAX_READ_RETRIES {
                        attempt += 1;
                        METRICS.read_retries.inc();
                        warn!(client = %self.peer, backend = %addr, error = %error, attempt, "prepare failed on a replica; retrying elsewhere");
                        continue;
                    }
                    return self.report_failure(target, &addr, &error, was_trx).await;
                }
            }
        };
        let proxy_id = self.next_stmt_id;
        let conn = self.conn_mut(target).expect("ready");
        if let Some((backend_id, num_params, _cols)) = ok {
            conn.stmts.insert(
                proxy_id,
                BackendStmt {
                    id: backend_id,
                    types_bound: false,
                },
            );
            raw[5..9].copy_from_slice(&proxy_id.to_le_bytes());
            self.next_stmt_id = self.next_stmt_id.wrapping_add(1).max(1);
            self.stmts.insert(
                proxy_id,
                PreparedStmt {
                    sql: sql.to_vec(),
                    read_only,
                    num_params,
                    param_types: None,
                    long_data: Vec::new(),
                    long_data_bytes: 0,
                    last_role: Some(conn_role(target)),
                    cursor_open: false,
                    kind: c.kind,
                    digest: crate::digest::fingerprint(sql),
                },
            );
            self.last_prepared = Some(proxy_id);
        }
        self.last = Some(conn_role(target));
        self.client.write_raw(&raw).await
    }

    fn stmt_id(&self, pkt: &[u8]) -> Option<u32> {
        let id = u32::from_le_bytes(pkt.get(1..5)?.try_into().ok()?);
        if id == u32::MAX {
            self.last_prepared
        } else {
            Some(id)
        }
    }

    /// Prepares statement `id` on `target` if it is not there yet. Err is for the client.
    async fn ensure_prepared(&mut self, target: Target, id: u32) -> Result<BackendStmt, MyError> {
        let sql = match self.stmts.get(&id) {
            Some(s) => s.sql.clone(),
            None => return Err(MyError::unknown_stmt(id, "mysqld_stmt_execute")),
        };
        let conn = self.conn_mut(target).expect("ready");
        if let Some(bs) = conn.stmts.get(&id) {
            return Ok(*bs);
        }
        let mut p = Vec::with_capacity(sql.len() + 1);
        p.push(COM_STMT_PREPARE);
        p.extend_from_slice(&sql);
        let lost = |e: String| MyError::backend_lost(conn_role_name(target), "", &e);
        if let Err(e) = conn.send_command(&p).await {
            conn.broken = true;
            return Err(lost(e.to_string()));
        }
        match conn.read_prepare_response().await {
            Ok((_, Some((backend_id, _, _)))) => {
                let bs = BackendStmt {
                    id: backend_id,
                    types_bound: false,
                };
                conn.stmts.insert(id, bs);
                Ok(bs)
            }
            Ok((raw, None)) => Err(MyError::from_payload(&raw[4..])
                .unwrap_or_else(|| MyError::new(1105, b"HY000", "prepare failed"))),
            Err(e) => {
                conn.broken = true;
                Err(lost(e.to_string()))
            }
        }
    }

    async fn execute(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let wrong = MyError::wrong_arguments("mysqld_stmt_execute");
        let Some(id) = self.stmt_id(pkt) else {
            return self.send_error(&wrong).await;
        };
        let Some(st) = self.stmts.get_mut(&id) else {
            return self
                .send_error(&MyError::unknown_stmt(id, "mysqld_stmt_execute"))
                .await;
        };
        let num_params = st.num_params as usize;
        let read_only = st.read_only;
        let kind = st.kind;
        let started = Instant::now();
        // Parameter types: the client sends them once; remember them for backends that
        // prepare the statement later.
        let flag_at = 10 + num_params.div_ceil(8);
        let client_sent_types = if num_params > 0 {
            match pkt.get(flag_at) {
                Some(1) => match pkt.get(flag_at + 1..flag_at + 1 + 2 * num_params) {
                    Some(t) => {
                        st.param_types = Some(t.to_vec());
                        true
                    }
                    None => return self.send_error(&wrong).await,
                },
                Some(_) => false,
                None => return self.send_error(&wrong).await,
            }
        } else {
            true
        };
        st.cursor_open = pkt.get(5).is_some_and(|f| f & 0x0F != 0);
        let long_data = std::mem::take(&mut st.long_data);
        st.long_data_bytes = 0;
        let client_packets = (pkt.len() / MAX_CHUNK + 1) as u8;
        let mut attempt = 0;
        loop {
            let wanted = self.route_read(read_only);
            let wanted = if read_only {
                self.consistent(wanted).await
            } else {
                wanted
            };
            let target = match self.ready(wanted).await {
                Ok(t) => t,
                Err(e) => return self.send_error(&e).await,
            };
            let retryable =
                target == Target::Replica && self.trx.is_none() && attempt < MAX_READ_RETRIES;
            let bs = match self.ensure_prepared(target, id).await {
                Ok(bs) => bs,
                Err(_) if retryable && self.conn_mut(target).is_some_and(|c| c.broken) => {
                    attempt += 1;
                    self.backend_failed(target);
                    continue;
                }
                Err(e) => return self.send_error(&e).await,
            };
            // The execute as the backend must see it: its own statement id, and the
            // parameter types if that backend never got them. Built in a reused buffer.
            let mut payload = std::mem::take(&mut self.exec_buf);
            payload.clear();
            payload.extend_from_slice(pkt);
            payload[1..5].copy_from_slice(&bs.id.to_le_bytes());
            let mut types_now = bs.types_bound || client_sent_types;
            if !types_now {
                if let Some(t) = self.stmts.get(&id).and_then(|s| s.param_types.as_deref()) {
                    payload[flag_at] = 1;
                    payload.splice(flag_at + 1..flag_at + 1, t.iter().copied());
                    types_now = true;
                }
            }
            if let Some(st) = self.stmts.get_mut(&id) {
                st.last_role = Some(conn_role(target));
            }
            let conn = self.conn_mut(target).expect("ready");
            for (param, data) in &long_data {
                let mut p = Vec::with_capacity(7 + data.len());
                p.push(COM_STMT_SEND_LONG_DATA);
                p.extend_from_slice(&bs.id.to_le_bytes());
                p.extend_from_slice(&param.to_le_bytes());
                p.extend_from_slice(data);
                if conn.queue_command(&p).is_err() {
                    conn.broken = true;
                }
            }
            if let Some(b) = conn.stmts.get_mut(&id) {
                b.types_bound = types_now;
            }
            let sent = conn.send_command(&payload).await;
            self.exec_buf = payload;
            let outcome = match sent {
                Ok(sent) => {
                    self.relay(
                        target,
                        Expect::Results { binary: true },
                        client_packets.wrapping_sub(sent),
                    )
                    .await?
                }
                Err(e) => Relayed::Failed {
                    error: e.to_string(),
                },
            };
            match outcome {
                Relayed::Done(scanner) => {
                    let wanted = if read_only {
                        Target::Replica
                    } else {
                        Target::Master
                    };
                    let (key, sql) = self
                        .stmts
                        .get(&id)
                        .map(|s| (s.digest, &s.sql[..]))
                        .unwrap_or((0, &[]));
                    self.account(
                        wanted,
                        target,
                        kind,
                        started,
                        &scanner,
                        Some(key),
                        sql,
                        pkt.len(),
                    );
                    if target == Target::Master {
                        self.after_master_statement(kind).await;
                    }
                    return Ok(());
                }
                Relayed::Failed { error } => {
                    let (addr, was_trx) = self.backend_failed(target);
                    if retryable && read_only && !was_trx {
                        attempt += 1;
                        METRICS.read_retries.inc();
                        warn!(client = %self.peer, backend = %addr, error = %error, attempt, "execute failed before any byte reached the client; retrying elsewhere");
                        continue;
                    }
                    return self.report_failure(target, &addr, &error, was_trx).await;
                }
            }
        }
    }

    fn send_long_data(&mut self, pkt: &[u8]) {
        // No response is ever sent for this command, errors included; the execute reports them.
        let (Some(id), Some(param)) = (self.stmt_id(pkt), pkt.get(5..7)) else {
            return;
        };
        let max = self.shared.topology.load().config.limits.max_packet_size as usize;
        if let Some(st) = self.stmts.get_mut(&id) {
            let data = &pkt[7..];
            if st.long_data_bytes + data.len() > max {
                warn!(client = %self.peer, "long data over max_packet_size dropped");
                return;
            }
            st.long_data_bytes += data.len();
            st.long_data
                .push((u16::from_le_bytes([param[0], param[1]]), data.to_vec()));
        }
    }

    async fn close_stmt(&mut self, pkt: &[u8]) {
        let Some(id) = self.stmt_id(pkt) else { return };
        if self.stmts.remove(&id).is_none() {
            return;
        }
        for t in [Target::Master, Target::Replica] {
            if let Some(conn) = self.conn_mut(t) {
                if let Some(bs) = conn.stmts.remove(&id) {
                    let mut p = vec![COM_STMT_CLOSE];
                    p.extend_from_slice(&bs.id.to_le_bytes());
                    // No response: it rides along with the next command on that connection.
                    if conn.queue_command(&p).is_err() {
                        conn.broken = true;
                    }
                }
            }
        }
    }

    /// The backend holding statement `id`'s execution state (cursor, long data).
    fn stmt_target(&self, id: u32) -> Option<Target> {
        let st = self.stmts.get(&id)?;
        let t = match st.last_role? {
            Role::Master => Target::Master,
            Role::Replica => Target::Replica,
        };
        let conn = match t {
            Target::Master => self.master.as_ref(),
            Target::Replica => self.replica.as_ref(),
        }?;
        conn.stmts.contains_key(&id).then_some(t)
    }

    async fn reset_stmt(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let Some(id) = self.stmt_id(pkt) else {
            return self
                .send_error(&MyError::wrong_arguments("mysqld_stmt_reset"))
                .await;
        };
        let Some(st) = self.stmts.get_mut(&id) else {
            return self
                .send_error(&MyError::unknown_stmt(id, "mysqld_stmt_reset"))
                .await;
        };
        st.long_data.clear();
        st.long_data_bytes = 0;
        let target = self.stmt_target(id).unwrap_or(Target::Master);
        if let Err(e) = self.ready(target).await {
            return self.send_error(&e).await;
        }
        let bs = match self.ensure_prepared(target, id).await {
            Ok(bs) => bs,
            Err(e) => return self.send_error(&e).await,
        };
        let mut p = pkt.to_vec();
        p[1..5].copy_from_slice(&bs.id.to_le_bytes());
        self.forward(target, &p, Expect::Single, false).await?;
        Ok(())
    }

    async fn fetch(&mut self, pkt: &[u8]) -> std::io::Result<()> {
        let Some(id) = self.stmt_id(pkt) else {
            return self
                .send_error(&MyError::wrong_arguments("mysqld_stmt_fetch"))
                .await;
        };
        let Some(target) = self.stmt_target(id) else {
            return self
                .send_error(&MyError::unknown_stmt(id, "mysqld_stmt_fetch"))
                .await;
        };
        let bs = self
            .conn_mut(target)
            .and_then(|c| c.stmts.get(&id).copied())
            .expect("stmt_target checked");
        let mut p = pkt.to_vec();
        p[1..5].copy_from_slice(&bs.id.to_le_bytes());
        // A cursor lives on one connection: no replay, no re-route.
        let conn = self.conn_mut(target).expect("stmt_target checked");
        if let Err(e) = conn.send_command(&p).await {
            conn.broken = true;
            return self
                .send_error(&MyError::backend_unavailable(
                    conn_role_name(target),
                    "",
                    &e.to_string(),
                ))
                .await;
        }
        if let Relayed::Failed { error } = self.relay(target, Expect::Rows, 0).await? {
            let (addr, was_trx) = self.backend_failed(target);
            self.report_failure(target, &addr, &error, was_trx).await?;
        }
        Ok(())
    }

    /// After COM_RESET_CONNECTION or COM_CHANGE_USER: the servers start the session over, so
    /// does the proxy (the database is kept, as the server keeps it).
    fn forget_session_state(&mut self) {
        self.recorded.clear();
        self.state_sig = 0;
        self.stmts.clear();
        self.pinned = false;
        self.multi_statements_off = false;
        self.trx = None;
        self.autocommit = true;
        self.temp_tables.clear();
        self.user_vars_on_master = false;
        self.gtid_dirty = false;
    }

    /// The pool key of this session's connections to `address`.
    fn pool_key(&self, address: &str, db: Option<String>, state: u64) -> PoolKey {
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
    fn releasable(&self, t: Target) -> bool {
        let conn = match t {
            Target::Master => self.master.as_ref(),
            Target::Replica => self.replica.as_ref(),
        };
        let Some(c) = conn else { return false };
        self.trx.is_none()
            && self.autocommit
            && !self.pinned
            && !self.recorded.iter().any(|r| r.user_var)
            && !self.multi_statements_off
            && self.temp_tables.is_empty()
            && !self.user_vars_on_master
            && !self.gtid_dirty
            && !c.dirty
            && !c.broken
            // It carries exactly this session's state, or none at all (only logged in).
            && ((c.applied == self.rec_seq && c.state_sig == self.state_sig)
                || (c.applied == 0 && c.state_sig == 0))
            && c.stmts.is_empty()
            && c.db == self.db
    }

    fn any_releasable(&self) -> bool {
        self.releasable(Target::Replica) || self.releasable(Target::Master)
    }

    /// Hands the clean connections of an idle session back to the pool (see `releasable`).
    fn release_idle(&mut self) {
        if self.releasable(Target::Replica) {
            if let Some(conn) = self.replica.take() {
                self.replica_released = self.last == Some(Role::Replica);
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
    async fn close(&mut self) {
        for conn in [self.master.take(), self.replica.take()]
            .into_iter()
            .flatten()
        {
            self.release(conn);
        }
    }

    /// Lets go of a backend connection: back to the pool if it is healthy and its backend is
    /// still in the topology, closed otherwise. Runs in the background.
    fn release(&self, conn: BackendConn) {
        self.hand_back(conn, false);
    }

    /// Multiplexing: parks a clean connection of this idle session in the pool with the
    /// session state it carries, for this or another session with the same state.
    fn park(&self, conn: BackendConn) {
        self.hand_back(conn, true);
    }

    fn hand_back(&self, conn: BackendConn, keep_state: bool) {
        let topo = self.shared.topology.load();
        if conn.broken || !topo.contains(&conn.backend) || self.fatal {
            tokio::spawn(conn.quit());
            return;
        }
        let key = self.pool_key(conn.address(), conn.db.clone(), conn.state_sig);
        let max_idle = topo.config.limits.max_idle_backend_connections as usize;
        let shared = self.shared.clone();
        tokio::spawn(async move {
            if keep_state {
                shared.pool.park(key, conn, max_idle).await
            } else {
                shared.pool.give_back(key, conn, max_idle).await
            }
        });
    }
}

fn conn_role(t: Target) -> Role {
    match t {
        Target::Master => Role::Master,
        Target::Replica => Role::Replica,
    }
}

fn conn_role_name(t: Target) -> &'static str {
    conn_role(t).as_str()
}

/// Signature of a session's recorded state: equal lists of recorded statements, equal
/// signatures; 0 for none.
fn state_signature(recorded: &[Recorded]) -> u64 {
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

/// A statement that leaves no trace on the connection it ran on: a single plain SELECT that
/// assigned nothing and ended without warnings or error (either would fill the diagnostics
/// area a later SHOW WARNINGS reads). Such a connection needs no reset before the next session.
fn leaves_nothing(c: &Classification, scanner: &Scanner) -> bool {
    c.kind == Kind::Select
        && c.route == Route::Replica
        && !c.multi
        && !c.record
        && !c.user_var_write
        && c.temp_table.is_none()
        && !scanner.error
        && scanner.warnings == 0
        && !scanner
            .status
            .is_some_and(|s| s.contains(StatusFlags::SERVER_STATUS_IN_TRANS))
}

/// Statement kinds a `/* rwsplit:replica */` hint may send to a replica: reads only, never a
/// write, whatever the hint says.
fn is_read_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Select | Kind::Show | Kind::Describe | Kind::Explain
    )
}
