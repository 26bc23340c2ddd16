//! Connections from the proxy to a backend server: login as the client's user, run the
//! proxy's own housekeeping commands, and relay a response to the client byte for byte.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::{MyDeserialize, MySerialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::BackendTls;
use crate::protocol::error::MyError;
use crate::protocol::handshake::ServerInfo;
use crate::protocol::packet::{PacketStream, ReadError};
use crate::protocol::scan::{Expect, Scanner, Step};
use crate::protocol::tracker::{self, ClientView};
use crate::protocol::{auth, command, ok_status, CapabilityFlags, StatusFlags, MAX_CHUNK};
use crate::tls::Stream;
use crate::topology::{Backend, Role, State};

/// Backend packets can be as large as the server allows; the server enforces its own limit.
const BACKEND_MAX_PACKET: usize = 1 << 30;

/// The session trackers every backend connection runs with: the server then says in its OK
/// packets when a statement changed the session (also inside procedures, triggers, EXECUTE),
/// which database is current, and the new value of each system variable changed. Set after
/// login and after every COM_RESET_CONNECTION (which puts them back to the global values).
macro_rules! tracking {
    () => {
        "session_track_state_change = 1, session_track_schema = 1, \
         session_track_system_variables = '*'"
    };
}
pub const TRACKING: &str = tracking!();
/// [`TRACKING`] as a statement of its own.
pub const SET_TRACKING: &str = concat!("SET SESSION ", tracking!());

/// What the proxy needs to log in to a backend on behalf of a client.
pub struct LoginParams<'a> {
    pub user: &'a str,
    pub credential: &'a auth::Credential,
    pub db: Option<&'a str>,
    pub collation: u8,
    /// The client's negotiated capabilities: the backend connection must use the same ones that
    /// shape the wire format (EOF deprecation, session tracking, multi-results), so relayed
    /// bytes mean the same to the client.
    pub capabilities: CapabilityFlags,
    /// The client's connection attributes, as kept in `handshake::Login::attributes`.
    pub attributes: &'a [u8],
    pub connect_timeout: Duration,
    /// TCP keepalive idle time on the socket (`[timeouts] keepalive`), None = off.
    pub keepalive: Option<Duration>,
    /// Whether and how to use TLS toward the server.
    pub tls: Arc<crate::tls::TlsSetup>,
}

/// Turns on TCP keepalive with `idle` before the first probe (then every `idle / 3`, three
/// probes): a peer whose host died is found even on an idle connection. A stopped process on
/// a live host still answers probes from its kernel; the monitor and `read_failover` cover that.
pub fn set_keepalive(stream: &TcpStream, idle: Option<Duration>) {
    let Some(idle) = idle else { return };
    let ka = socket2::TcpKeepalive::new()
        .with_time(idle)
        .with_interval((idle / 3).max(Duration::from_secs(1)))
        .with_retries(3);
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot set TCP keepalive");
    }
}

/// Why a backend connection could not be made.
#[derive(Debug)]
pub enum ConnectError {
    /// Unreachable, refused, timed out, or dropped during login: try elsewhere.
    Unreachable(String),
    /// The proxy itself is out of file descriptors (EMFILE/ENFILE) and cannot open a socket:
    /// no backend is at fault, and the client hears what a server out of connections says
    /// (1040), not that the master is unavailable.
    OutOfFiles(String),
    /// The server answered the login with an error (bad password, unknown database, too many
    /// connections): the error goes to the client as the server sent it.
    Refused(Vec<u8>),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Unreachable(why) | ConnectError::OutOfFiles(why) => f.write_str(why),
            ConnectError::Refused(p) => match MyError::from_payload(p) {
                Some(e) => write!(f, "{e}"),
                None => f.write_str("refused"),
            },
        }
    }
}

/// Column names and text rows of a result set read by the proxy for itself.
#[derive(Debug, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    /// The (name, value) pairs of a `SHOW VARIABLES` answer (rows with a NULL left out).
    pub fn name_values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rows
            .iter()
            .filter_map(|r| match (r.first(), r.get(1)) {
                (Some(Some(n)), Some(Some(v))) => Some((n.as_str(), v.as_str())),
                _ => None,
            })
    }

    /// The value of column `name` in the first row.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))?;
        self.rows.first()?.get(i)?.as_deref()
    }
}

/// A length-encoded string at `*pos` (Some(None) for NULL), advancing `*pos`.
fn lenenc_str<'a>(buf: &'a [u8], pos: &mut usize) -> Option<Option<&'a [u8]>> {
    if buf.get(*pos) == Some(&0xFB) {
        *pos += 1;
        return Some(None);
    }
    let (len, used) = crate::protocol::lenenc_int(buf.get(*pos..)?)?;
    let start = *pos + used;
    let end = start.checked_add(len as usize)?;
    let s = buf.get(start..end)?;
    *pos = end;
    Some(Some(s))
}

/// A statement prepared on this connection on behalf of a proxy statement id.
#[derive(Debug, Clone, Copy)]
pub struct BackendStmt {
    pub id: u32,
    /// The server has been sent parameter types for it.
    pub types_bound: bool,
}

/// Why relaying a response failed.
#[derive(Debug)]
pub enum RelayError {
    /// The backend failed; `sent` tells whether any byte reached the client.
    Backend { error: String, sent: bool },
    /// The client went away.
    Client(io::Error),
    /// The whole answer was one error saying the server is read-only (1290 with `read_only`,
    /// 1836): refused before anything ran, and not relayed (see [`BackendConn::relay`]).
    ReadOnly { code: u16 },
}

/// ER_OPTION_PREVENTS_STATEMENT (`--read-only`) and ER_READ_ONLY_MODE: a replica refusing a
/// statement that writes, before executing any of it.
const READ_ONLY_ERRORS: [u16; 2] = [1290, 1836];

/// `packets` (headers included) is exactly one ERR packet with a read-only code.
fn read_only_refusal(packets: &[u8]) -> Option<u16> {
    let len = u32::from_le_bytes([*packets.first()?, packets[1], packets[2], 0]) as usize;
    let payload = packets.get(4..)?;
    if payload.len() != len || payload.first() != Some(&0xff) {
        return None;
    }
    let code = u16::from_le_bytes([*payload.get(1)?, *payload.get(2)?]);
    READ_ONLY_ERRORS.contains(&code).then_some(code)
}

/// Writes to a client that must take its result within `limit` (`[timeouts] client_write`):
/// one that stops reading would otherwise hold a backend connection, and the locks of its
/// statement, for as long as it likes. Most writes complete at once (the socket buffer has
/// room), and those arm no timer.
async fn write_within<C: AsyncRead + AsyncWrite + Unpin>(
    client: &mut PacketStream<C>,
    bytes: &[u8],
    limit: Duration,
) -> io::Result<()> {
    use std::future::Future;
    use std::task::Poll;
    let write = client.write_raw(bytes);
    tokio::pin!(write);
    if let Poll::Ready(r) = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
        return r;
    }
    match tokio::time::timeout(limit, write).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client did not read its result within client_write ({limit:?})"),
        )),
    }
}

/// What a relay watches while no byte of the answer has reached the client yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Nothing: wait for the server (a cursor fetch, housekeeping).
    Nothing,
    /// The monitor's verdict: a backend marked down ends the wait with an error.
    Verdict,
    /// A read that may run elsewhere: also a silent server past this long (`read_failover`).
    Failover(Duration),
}

/// One login session on one backend server.
pub struct BackendConn {
    pub backend: Arc<Backend>,
    pub io: PacketStream<Stream>,
    pub capabilities: CapabilityFlags,
    pub thread_id: u32,
    /// Session state already applied here (see `session::state`).
    pub db: Option<String>,
    pub applied: u64,
    /// Multi-statements are off on this connection: it logged in without
    /// CLIENT_MULTI_STATEMENTS (mysqlnd does), or COM_SET_OPTION turned them off.
    pub multi_statements_off: bool,
    pub stmts: foldhash::HashMap<u32, BackendStmt>,
    /// Set when the connection is in an unknown protocol state and must not be reused.
    pub broken: bool,
    /// The server reports session state changes in this connection's OK packets
    /// (`TRACKING`): without it the session has only the statement text to go by.
    pub tracking: bool,
    /// The connection runs with the client's own tracking settings for one statement that
    /// shows them (`SHOW VARIABLES`, `@@session_track_…`); the proxy's go back after it.
    pub client_tracking: bool,
    /// Some command since login may have left state on the server that the proxy does not
    /// track (see `mark_clean`). A connection that is not dirty goes back to the pool without a
    /// reset round trip, or is shared between idle sessions (multiplexing).
    pub dirty: bool,
    /// Which recorded session state (`session::Session::state_sig`) the connection carries
    /// in full; 0 for none. Part of the pool key, so a session takes a connection that already
    /// has its SET NAMES / sql_mode and so on.
    pub state_sig: u64,
    dirty_before_last: bool,
    scratch: Vec<u8>,
    last_used: std::time::Instant,
    /// This backend's query latency histogram, resolved once.
    pub latency: prometheus::Histogram,
    /// Held while a client session uses the connection (replica choice counts these).
    pub lease: Option<crate::topology::Lease>,
    /// Wakes a relay that waits for the first byte of an answer to look at the backend's
    /// health (`fill_or_give_up`). Kept with the connection and only set again once it has
    /// fired: a timer armed per statement costs more than relaying a point select.
    watch_timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Drop for BackendConn {
    fn drop(&mut self) {
        crate::metrics::METRICS
            .backend_connections
            .with_label_values(&[&*self.backend.cluster, &self.backend.address])
            .dec();
    }
}

impl BackendConn {
    pub fn role(&self) -> Role {
        self.backend.role
    }

    pub fn address(&self) -> &str {
        &self.backend.address
    }

    pub fn deprecate_eof(&self) -> bool {
        self.capabilities
            .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    /// Connects and logs in. Returns the connection, the server's final OK payload (relayed to
    /// a client that is logging in) and the server's greeting details.
    pub async fn connect(
        backend: Arc<Backend>,
        p: &LoginParams<'_>,
    ) -> Result<(BackendConn, Vec<u8>, ServerInfo), ConnectError> {
        let unreachable = |what: &str, e: &dyn std::fmt::Display| {
            ConnectError::Unreachable(format!("{what} {}: {e}", backend.address))
        };
        let stream =
            match tokio::time::timeout(p.connect_timeout, TcpStream::connect(&backend.address))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    return Err(ConnectError::OutOfFiles(format!(
                        "connect to {}: {e}",
                        backend.address
                    )))
                }
                Ok(Err(e)) => return Err(unreachable("connect to", &e)),
                Err(_) => return Err(unreachable("connect to", &"timed out")),
            };
        let _ = stream.set_nodelay(true);
        set_keepalive(&stream, p.keepalive);
        let mut io = PacketStream::new(Stream::Plain(stream), BACKEND_MAX_PACKET);
        let login =
            tokio::time::timeout(p.connect_timeout, Self::login(&mut io, &backend.address, p))
                .await;
        let (caps, thread_id, ok, info) = match login {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(unreachable("login to", &"timed out")),
        };
        crate::metrics::METRICS
            .backend_connections
            .with_label_values(&[&*backend.cluster, &backend.address])
            .inc();
        let latency = crate::metrics::METRICS
            .query_seconds
            .with_label_values(&[&*backend.cluster, &backend.address]);
        let mut conn = BackendConn {
            backend,
            io,
            capabilities: caps,
            thread_id,
            db: p.db.map(str::to_string),
            applied: 0,
            multi_statements_off: !caps.contains(CapabilityFlags::CLIENT_MULTI_STATEMENTS),
            stmts: Default::default(),
            broken: false,
            tracking: false,
            client_tracking: false,
            dirty: false,
            dirty_before_last: false,
            state_sig: 0,
            scratch: Vec::new(),
            last_used: std::time::Instant::now(),
            latency,
            lease: None,
            watch_timer: None,
        };
        if caps.contains(CapabilityFlags::CLIENT_SESSION_TRACK) {
            let set = SET_TRACKING.as_bytes();
            match tokio::time::timeout(p.connect_timeout, conn.run_query(set)).await {
                Ok(Ok(Ok(_))) => {
                    conn.tracking = true;
                    // The proxy's own baseline, not the session's doing.
                    conn.dirty = false;
                }
                // The server refuses the settings (an old version): the session goes by the
                // statement text alone.
                Ok(Ok(Err(_))) => {}
                Ok(Err(e)) => {
                    return Err(ConnectError::Unreachable(format!(
                        "login to {}: {e}",
                        conn.backend.address
                    )))
                }
                Err(_) => {
                    return Err(ConnectError::Unreachable(format!(
                        "login to {}: timed out",
                        conn.backend.address
                    )))
                }
            }
        }
        Ok((conn, ok, info))
    }

    async fn login(
        io: &mut PacketStream<Stream>,
        address: &str,
        p: &LoginParams<'_>,
    ) -> Result<(CapabilityFlags, u32, Vec<u8>, ServerInfo), ConnectError> {
        let lost = |e: ReadError| ConnectError::Unreachable(format!("login: {e}"));
        let mut pkt = Vec::new();
        io.read_packet(&mut pkt).await.map_err(lost)?;
        if pkt.first() == Some(&0xFF) {
            return Err(ConnectError::Refused(pkt));
        }
        let greeting = HandshakePacket::deserialize((), &mut ParseBuf(&pkt))
            .map_err(|e| ConnectError::Unreachable(format!("bad greeting: {e}")))?;
        let info = ServerInfo::from_greeting(&greeting);
        let server_caps = greeting.capabilities();
        let thread_id = greeting.connection_id();
        let nonce = greeting.nonce();
        let plugin = greeting
            .auth_plugin_name_ref()
            .unwrap_or(auth::NATIVE.as_bytes())
            .to_vec();
        let version = greeting.server_version_parsed().unwrap_or((5, 5, 5));
        drop(greeting);

        use CapabilityFlags as C;
        // CLIENT_SESSION_TRACK whatever the client asked: the server's reports are how the
        // proxy knows the session's state (`tracker`); the client gets its own view of them.
        let mut caps = (p.capabilities
            | C::CLIENT_SESSION_TRACK
            | C::CLIENT_PROTOCOL_41
            | C::CLIENT_SECURE_CONNECTION
            | C::CLIENT_PLUGIN_AUTH)
            & server_caps;
        caps.remove(C::CLIENT_SSL | C::CLIENT_COMPRESS);
        let offers_tls = server_caps.contains(C::CLIENT_SSL);
        let use_tls = match p.tls.backend {
            BackendTls::Disabled => false,
            BackendTls::Preferred => offers_tls,
            BackendTls::Required if offers_tls => true,
            BackendTls::Required => {
                return Err(ConnectError::Unreachable(
                    "the server does not offer TLS and [tls] backend_tls = \"required\"".into(),
                ))
            }
        };
        if use_tls {
            caps |= C::CLIENT_SSL;
            // SSLRequest: the first 32 bytes of a handshake response. Then TLS, then the login.
            let mut req = Vec::with_capacity(32);
            req.extend_from_slice(&caps.bits().to_le_bytes());
            req.extend_from_slice(&(BACKEND_MAX_PACKET as u32).to_le_bytes());
            req.push(p.collation);
            req.extend_from_slice(&[0u8; 23]);
            io.write_packet(&req)
                .await
                .map_err(|e| ConnectError::Unreachable(format!("login: {e}")))?;
            if !io.rbuf.is_empty() {
                return Err(ConnectError::Unreachable(
                    "server sent data before the TLS handshake".into(),
                ));
            }
            let tcp = std::mem::take(&mut io.stream)
                .into_tcp()
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
            io.stream = p
                .tls
                .connect(tcp, address)
                .await
                .map_err(|e| ConnectError::Unreachable(format!("TLS handshake: {e}")))?;
        }
        let scramble =
            auth::respond_with(&plugin, &nonce, p.credential).map_err(ConnectError::Unreachable)?;
        let attrs: HashMap<String, String> =
            crate::protocol::handshake::decode_attributes(p.attributes)
                .into_iter()
                .chain(std::iter::once((
                    "_proxy".to_string(),
                    "rwsplit".to_string(),
                )))
                .collect();
        let use_attrs = caps.contains(C::CLIENT_CONNECT_ATTRS);
        let resp = HandshakeResponse::new(
            Some(&scramble[..]),
            version,
            Some(p.user.as_bytes()),
            p.db.map(str::as_bytes),
            Some(AuthPlugin::from_bytes(&plugin)),
            caps,
            use_attrs.then_some(attrs),
            BACKEND_MAX_PACKET as u32,
        );
        let caps = resp.capabilities();
        let mut buf = Vec::with_capacity(256);
        resp.serialize(&mut buf);
        // HandshakeResponse picks its own collation; the client's is the one that counts.
        if buf.len() > 8 {
            buf[8] = p.collation;
        }
        io.write_packet(&buf)
            .await
            .map_err(|e| ConnectError::Unreachable(format!("login: {e}")))?;

        loop {
            io.read_packet(&mut pkt).await.map_err(lost)?;
            match pkt.first() {
                Some(0x00) => return Ok((caps, thread_id, pkt, info)),
                Some(0xFF) => return Err(ConnectError::Refused(pkt)),
                Some(0xFE) => {
                    let sw = AuthSwitchRequest::deserialize((), &mut ParseBuf(&pkt))
                        .map_err(|e| ConnectError::Unreachable(format!("bad auth switch: {e}")))?;
                    let data = auth::respond_with(sw.auth_plugin().as_bytes(), sw.plugin_data(), p.credential)
                        .map_err(ConnectError::Unreachable)?;
                    io.write_packet(&data).await.map_err(|e| ConnectError::Unreachable(e.to_string()))?;
                }
                // caching_sha2_password: 0x01 0x03 = fast auth succeeded, the OK follows.
                Some(0x01) if pkt.get(1) == Some(&0x03) => {}
                Some(0x01) => {
                    return Err(ConnectError::Unreachable(
                        "backend requires caching_sha2_password full authentication (needs TLS), not supported".into(),
                    ))
                }
                _ => return Err(ConnectError::Unreachable("unexpected packet during login".into())),
            }
        }
    }

    /// Sends one command (sequence id 0). Returns the number of physical packets written, which
    /// is the sequence id the response starts at.
    pub async fn send_command(&mut self, payload: &[u8]) -> io::Result<u8> {
        self.last_used = std::time::Instant::now();
        self.dirty_before_last = self.dirty;
        self.dirty = true;
        self.io.reset_seq();
        self.io.write_packet(payload).await?;
        Ok((payload.len() / MAX_CHUNK + 1) as u8)
    }

    /// Sends a command that has no response (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA), queued
    /// until the next flush so it rides along with the next command.
    pub fn queue_command(&mut self, payload: &[u8]) -> io::Result<()> {
        self.dirty = true;
        self.io.reset_seq();
        self.io.queue_packet(payload)
    }

    /// Runs a housekeeping command (SET, COM_INIT_DB, COM_SET_OPTION, COM_RESET_CONNECTION) and
    /// reads its one-packet answer. Ok(Err) is the server's refusal.
    pub async fn run_simple(
        &mut self,
        payload: &[u8],
    ) -> io::Result<Result<Option<StatusFlags>, MyError>> {
        self.send_command(payload).await?;
        let mut pkt = std::mem::take(&mut self.scratch);
        let r = self.io.read_packet(&mut pkt).await;
        let out = match r {
            Err(e) => {
                self.broken = true;
                Err(io::Error::other(e.to_string()))
            }
            Ok(()) => match pkt.first() {
                Some(0x00) => Ok(Ok(ok_status(&pkt).map(StatusFlags::from_bits_truncate))),
                Some(0xFE) => Ok(Ok(
                    crate::protocol::eof_status(&pkt).map(StatusFlags::from_bits_truncate)
                )),
                Some(0xFF) => Ok(Err(MyError::from_payload(&pkt)
                    .unwrap_or_else(|| MyError::new(1105, b"HY000", "unknown error")))),
                _ => {
                    // A result set where none was expected: the stream position is unknown now.
                    self.broken = true;
                    Err(io::Error::other(
                        "unexpected result set from housekeeping command",
                    ))
                }
            },
        };
        self.scratch = pkt;
        out
    }

    /// Runs a query for the proxy's own use and discards any rows.
    pub async fn run_query(
        &mut self,
        sql: &[u8],
    ) -> io::Result<Result<Option<StatusFlags>, MyError>> {
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(command::COM_QUERY);
        payload.extend_from_slice(sql);
        self.send_command(&payload).await?;
        let mut scanner = Scanner::new(Expect::Results { binary: false }, self.deprecate_eof());
        let mut pos = 0;
        loop {
            match scanner.scan(&mut self.io.rbuf[..], pos) {
                Step::Done(n) => {
                    let err = if scanner.error {
                        self.last_err(n)
                    } else {
                        None
                    };
                    self.io.consume(n);
                    return Ok(match err {
                        Some(e) => Err(e),
                        None => Ok(scanner.status),
                    });
                }
                Step::LocalInfile(_) => {
                    self.broken = true;
                    return Err(io::Error::other("unexpected LOCAL INFILE request"));
                }
                // Only a client's scanner asks for rewrites.
                Step::NeedMore(n) | Step::Rewrite { end: n, .. } => pos = n,
            }
            if let Err(e) = self.io.fill().await {
                self.broken = true;
                return Err(io::Error::other(e.to_string()));
            }
        }
    }

    /// Runs a query for the proxy's own use (health checks) and returns the column names and
    /// the rows of its first result set, text values as strings (NULL as None).
    pub async fn query_rows(&mut self, sql: &str) -> io::Result<Result<Rows, MyError>> {
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(command::COM_QUERY);
        payload.extend_from_slice(sql.as_bytes());
        self.send_command(&payload).await?;
        let bad = |what: &str| io::Error::other(format!("malformed result set: {what}"));
        let mut pkt = Vec::new();
        let read = |e: ReadError| io::Error::other(e.to_string());
        self.io.read_packet(&mut pkt).await.map_err(read)?;
        match pkt.first() {
            Some(0xFF) => {
                return Ok(Err(MyError::from_payload(&pkt)
                    .unwrap_or_else(|| MyError::new(1105, b"HY000", "error"))))
            }
            Some(0x00) => return Ok(Ok(Rows::default())),
            _ => {}
        }
        let (ncols, _) = crate::protocol::lenenc_int(&pkt).ok_or_else(|| bad("column count"))?;
        let mut rows = Rows::default();
        for _ in 0..ncols {
            self.io.read_packet(&mut pkt).await.map_err(read)?;
            // catalog, schema, table, org_table, name
            let mut pos = 0;
            let mut name = None;
            for _ in 0..5 {
                name = lenenc_str(&pkt, &mut pos);
            }
            rows.columns.push(
                String::from_utf8_lossy(name.flatten().ok_or_else(|| bad("column name"))?)
                    .into_owned(),
            );
        }
        let deprecate = self.deprecate_eof();
        if !deprecate {
            self.io.read_packet(&mut pkt).await.map_err(read)?;
        }
        loop {
            self.io.read_packet(&mut pkt).await.map_err(read)?;
            match pkt.first() {
                Some(0xFE) if pkt.len() < MAX_CHUNK => break,
                Some(0xFF) => {
                    return Ok(Err(MyError::from_payload(&pkt)
                        .unwrap_or_else(|| MyError::new(1105, b"HY000", "error"))))
                }
                _ => {}
            }
            let mut pos = 0;
            let mut row = Vec::with_capacity(ncols as usize);
            for _ in 0..ncols {
                let v = lenenc_str(&pkt, &mut pos).ok_or_else(|| bad("row"))?;
                row.push(v.map(|b| String::from_utf8_lossy(b).into_owned()));
            }
            rows.rows.push(row);
        }
        // More result sets (not used by the checks) would desynchronize the connection.
        Ok(Ok(rows))
    }

    /// How long since the last command was sent.
    /// How long the connection had been idle at `now` (a time the caller already read).
    pub fn idle_at(&self, now: std::time::Instant) -> Duration {
        now.saturating_duration_since(self.last_used)
    }

    /// The last command left nothing behind on the server that the proxy does not track: a
    /// plain read without warning, error or transaction, or a recorded SET (tracked in
    /// `state_sig`). The connection is as clean as before it. Every command counts as dirtying
    /// until the session says otherwise with this.
    /// The multi-statement option a fresh login with this connection's capabilities has.
    pub fn login_multi_statements_off(&self) -> bool {
        !self
            .capabilities
            .contains(CapabilityFlags::CLIENT_MULTI_STATEMENTS)
    }

    /// After COM_RESET_CONNECTION: puts back what the login's capability flags gave the
    /// session and the reset took away, so the connection answers like a fresh login with the
    /// same capabilities (a pooled connection is shared on that promise). CLIENT_IGNORE_SPACE
    /// adds IGNORE_SPACE to sql_mode (mysql2 and mysqljs log in with it: `COUNT (*)` works),
    /// CLIENT_INTERACTIVE makes wait_timeout the interactive one, and the multi-statement
    /// option goes back to the login's. False: the connection cannot be trusted any more.
    pub async fn restore_login_state(&mut self) -> bool {
        use CapabilityFlags as C;
        let mut sets = Vec::new();
        if self.tracking {
            sets.push(TRACKING);
        }
        if self.capabilities.contains(C::CLIENT_IGNORE_SPACE) {
            sets.push("sql_mode = CONCAT_WS(',', NULLIF(@@session.sql_mode, ''), 'IGNORE_SPACE')");
        }
        if self.capabilities.contains(C::CLIENT_INTERACTIVE) {
            sets.push("wait_timeout = @@global.interactive_timeout");
        }
        if !sets.is_empty() {
            let sql = format!("SET SESSION {}", sets.join(", "));
            if !matches!(self.run_query(sql.as_bytes()).await, Ok(Ok(_))) {
                return false;
            }
        }
        // The reset keeps the option COM_SET_OPTION set (it lives in the server's copy of the
        // client capabilities, which a reset does not touch). 0 = on, 1 = off.
        let off = self.login_multi_statements_off();
        if self.multi_statements_off != off {
            let p = [crate::protocol::command::COM_SET_OPTION, u8::from(off), 0];
            if !matches!(self.run_simple(&p).await, Ok(Ok(_))) {
                return false;
            }
            self.multi_statements_off = off;
        }
        true
    }

    pub fn mark_clean(&mut self) {
        self.dirty = self.dirty_before_last;
    }

    /// Is the connection still open? A server that closed an idle connection (wait_timeout)
    /// shows up as end-of-stream or an unsolicited error packet; one non-blocking read tells.
    pub fn check_alive(&mut self) -> bool {
        if self.broken || !self.io.rbuf.is_empty() {
            return false;
        }
        self.io.stream.is_quiet()
    }

    /// The last packet before `end` in the read buffer, decoded as an ERR (housekeeping queries
    /// only; responses are small).
    fn last_err(&self, end: usize) -> Option<MyError> {
        let mut pos = 0;
        let mut last = None;
        while pos + 4 <= end {
            let len = u32::from_le_bytes([
                self.io.rbuf[pos],
                self.io.rbuf[pos + 1],
                self.io.rbuf[pos + 2],
                0,
            ]) as usize;
            last = Some(pos);
            pos += 4 + len;
        }
        let start = last? + 4;
        MyError::from_payload(&self.io.rbuf[start..end])
    }

    /// Reads a whole COM_STMT_PREPARE response as framed bytes. Returns the bytes and, for an
    /// OK, (statement id, params, columns); None for an ERR.
    pub async fn read_prepare_response(
        &mut self,
    ) -> Result<(Vec<u8>, Option<(u32, u16, u16)>), ReadError> {
        let mut out = Vec::new();
        let n = self.io.read_raw_packet().await?;
        out.extend_from_slice(&self.io.rbuf[..n]);
        self.io.consume(n);
        let p = &out[4..];
        if p.first() != Some(&0x00) || p.len() < 9 {
            return Ok((out, None));
        }
        let id = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
        let cols = u16::from_le_bytes([p[5], p[6]]);
        let params = u16::from_le_bytes([p[7], p[8]]);
        let eof = if self.deprecate_eof() { 0 } else { 1 };
        let mut more = 0usize;
        if params > 0 {
            more += params as usize + eof;
        }
        if cols > 0 {
            more += cols as usize + eof;
        }
        for _ in 0..more {
            let n = self.io.read_raw_packet().await?;
            out.extend_from_slice(&self.io.rbuf[..n]);
            self.io.consume(n);
        }
        Ok((out, Some((id, params, cols))))
    }

    /// Relays the response to the command just sent to `client`, as raw bytes.
    pub async fn relay<C: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        client: &mut PacketStream<C>,
        scanner: &mut Scanner,
        watch: Watch,
        client_write: Duration,
        refuse_read_only: bool,
        view: &ClientView,
    ) -> Result<(), RelayError> {
        let mut pos = 0;
        let mut sent = false;
        // The command went out at `last_used` (`send_command`): no second clock read.
        let started = self.last_used;
        loop {
            let step = scanner.scan(&mut self.io.rbuf[..], pos);
            // Bytes of the buffer to forward (or a rewritten copy to forward instead), bytes
            // to consume, and how the step ended.
            let (upto, copied, consume, infile, done) = match step {
                Step::Done(n) => (n, None, n, false, true),
                Step::LocalInfile(n) => (n, None, n, true, false),
                Step::NeedMore(n) => (n, None, n, false, false),
                // An OK with session state, forwarded as the client's own settings would show
                // it (`tracker`): cut short in place, or rewritten in a copy.
                Step::Rewrite { start, end } => match self.rewrite_ok_at(start, end, view) {
                    Some(upto) => (upto, None, end, false, false),
                    None => (
                        0,
                        Some(self.rewritten_copy(start, end, view)),
                        end,
                        false,
                        false,
                    ),
                },
            };
            if refuse_read_only && done && !sent {
                // With `refuse_read_only` (a read on a replica) an answer that is only "I am
                // read-only" means the statement writes after all and nothing of it ran: the
                // caller runs it on the master, and the client never sees the refusal.
                if let Some(code) = read_only_refusal(&self.io.rbuf[..upto]) {
                    self.io.consume(upto);
                    return Err(RelayError::ReadOnly { code });
                }
            }
            let bytes: &[u8] = copied.as_deref().unwrap_or(&self.io.rbuf[..upto]);
            if !bytes.is_empty() {
                write_within(client, bytes, client_write)
                    .await
                    .map_err(RelayError::Client)?;
                sent = true;
                scanner.bytes += bytes.len() as u64;
            }
            self.io.consume(consume);
            pos = 0;
            if matches!(step, Step::Rewrite { .. }) {
                // The rest of the response may be in the buffer already.
                continue;
            }
            if done {
                return Ok(());
            }
            if infile {
                self.forward_infile(client, scanner.seq_delta).await?;
                scanner.after_infile();
                continue;
            }
            let filled = match watch {
                Watch::Nothing => self.io.fill().await.map(drop).map_err(|e| e.to_string()),
                _ if sent => self.io.fill().await.map(drop).map_err(|e| e.to_string()),
                _ => self.fill_or_give_up(watch, started).await,
            };
            if let Err(error) = filled {
                self.broken = true;
                return Err(RelayError::Backend { error, sent });
            }
        }
    }

    /// An OK with session state at `start..end` of the read buffer, for `view`'s client
    /// (`tracker`): every write's OK carries its `last_gtid`, and when the client gets none of
    /// the entries the packet is cut short in place (a prefix of itself: the length in its
    /// header and SERVER_SESSION_STATE_CHANGED cleared). Returns how many buffered bytes to
    /// forward then; None when the client gets entries (`rewritten_copy`).
    #[cold]
    fn rewrite_ok_at(&mut self, start: usize, end: usize, view: &ClientView) -> Option<usize> {
        let payload = &self.io.rbuf[start + 4..end];
        let n = tracker::plain_len(payload, view)?;
        let status_at = tracker::status_at(payload)?;
        self.io.rbuf[start + 4 + status_at + 1] &= !((tracker::STATE_CHANGED >> 8) as u8);
        self.io.rbuf[start..start + 3].copy_from_slice(&(n as u32).to_le_bytes()[..3]);
        Some(start + 4 + n)
    }

    /// The buffered bytes before the OK at `start..end` and the OK as `view`'s client gets it,
    /// in a new buffer (the client tracks some of what it reports).
    #[cold]
    fn rewritten_copy(&self, start: usize, end: usize, view: &ClientView) -> Vec<u8> {
        let seq = self.io.rbuf[start + 3];
        let payload = tracker::rewrite_ok(&self.io.rbuf[start + 4..end], view);
        let mut out = Vec::with_capacity(start + 4 + payload.len());
        out.extend_from_slice(&self.io.rbuf[..start]);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
        out.push(seq);
        out.extend_from_slice(&payload);
        out
    }

    /// Waits for more of an answer, before any of it reached the client, and gives up (Err)
    /// when the backend should no longer be waited for: the monitor marked it down (a read
    /// that may fail over: or lagging), or — for such a read — `read_failover` has passed
    /// without an answer and the monitor has not heard from the server within that time
    /// either (a silent server: SIGSTOP, a dead host whose TCP connections look open). A
    /// backend that answers its health checks is only slow: the statement waits.
    async fn fill_or_give_up(
        &mut self,
        watch: Watch,
        started: std::time::Instant,
    ) -> Result<(), String> {
        let slice = match watch {
            Watch::Failover(after) => {
                (after / 4).clamp(Duration::from_millis(50), Duration::from_millis(500))
            }
            _ => Duration::from_millis(500),
        };
        // The timer may still run from an earlier statement and fire before `slice` is over:
        // that only means one more look at the backend's health.
        let due = started + slice;
        let timer = self
            .watch_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due.into())));
        if timer.is_elapsed() || timer.deadline() > due.into() {
            timer.as_mut().reset(due.into());
        }
        loop {
            let timer = self.watch_timer.as_mut().expect("armed above");
            tokio::select! {
                biased;
                r = self.io.fill() => return r.map(drop).map_err(|e| e.to_string()),
                // Reading into the buffer is cancel-safe: nothing is lost by looking up.
                _ = timer.as_mut() => {
                    timer.as_mut().reset(tokio::time::Instant::now() + slice);
                    let state = self.backend.state();
                    let failover = matches!(watch, Watch::Failover(_));
                    if state == State::Down || (failover && state == State::Lagging) {
                        return Err(format!(
                            "marked {} by the monitor while the statement was running",
                            state.as_str()
                        ));
                    }
                    if let Watch::Failover(after) = watch {
                        if started.elapsed() >= after && !self.backend.heard_within(after) {
                            return Err(format!("no answer within read_failover ({after:?})"));
                        }
                    }
                }
            }
        }
    }

    /// LOCAL INFILE: the client sends the file as packets ending with an empty one; they go to
    /// the backend unchanged (sequence ids shifted back if the proxy shifted them forward).
    async fn forward_infile<C: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        client: &mut PacketStream<C>,
        seq_delta: u8,
    ) -> Result<(), RelayError> {
        loop {
            let n = client.read_raw_packet().await.map_err(|e| match e {
                ReadError::Io(e) => RelayError::Client(e),
                other => RelayError::Client(io::Error::other(other.to_string())),
            })?;
            let empty = n == 4;
            client.rbuf[3] = client.rbuf[3].wrapping_sub(seq_delta);
            let r = self.io.write_raw(&client.rbuf[..n]).await;
            client.consume(n);
            if let Err(e) = r {
                self.broken = true;
                return Err(RelayError::Backend {
                    error: e.to_string(),
                    sent: true,
                });
            }
            if empty {
                return Ok(());
            }
        }
    }

    /// Says goodbye politely; errors do not matter any more.
    pub async fn quit(mut self) {
        if !self.broken {
            let _ = self.send_command(&[command::COM_QUIT]).await;
        }
        let _ = self.io.stream.shutdown().await;
    }
}

/// Logs in to `backend` with the monitor account (health checks, and the account list of
/// auth passthrough).
pub async fn connect_monitor(
    backend: Arc<Backend>,
    cfg: &crate::config::Monitor,
    tls: Arc<crate::tls::TlsSetup>,
) -> Result<BackendConn, String> {
    use CapabilityFlags as C;
    let credential = crate::protocol::auth::Credential::Password(cfg.password.expose().to_string());
    let params = LoginParams {
        user: &cfg.user,
        credential: &credential,
        db: None,
        collation: 45,
        capabilities: C::CLIENT_PROTOCOL_41
            | C::CLIENT_SECURE_CONNECTION
            | C::CLIENT_PLUGIN_AUTH
            | C::CLIENT_LONG_PASSWORD
            | C::CLIENT_TRANSACTIONS
            | C::CLIENT_MULTI_RESULTS,
        attributes: &[],
        connect_timeout: cfg.connect_timeout,
        keepalive: None,
        tls,
    };
    BackendConn::connect(backend, &params)
        .await
        .map(|(c, _, _)| c)
        .map_err(|e| e.to_string())
}
