//! Configuration: the TOML file (`proxy.toml`) turned into validated, typed settings.
//!
//! The file format is a contract with users (see `shared/proxy.example.toml`); every key is
//! documented on the field it becomes. Parsing happens in two layers:
//!
//! 1. The document is parsed with `toml`, then each top-level section is deserialized on its
//!    own into a private `Raw*` struct (`deny_unknown_fields` everywhere), so one broken section
//!    does not hide the problems in another.
//! 2. The raw values (kept as [`toml::Spanned`] so their position is known) are validated and
//!    converted: durations, sizes, addresses, enums, ranges, `env:NAME` passwords, duplicate
//!    addresses and user names. All problems found are collected and reported together.
//!
//! The files: this one holds the public types and `parse` (the walk over the sections);
//! `raw` the serde layer, `ctx` the problem collector with the value checks, `values` the
//! value parsers, `location` line/column and key paths, `clusters` and `rules` their tables.
//!
//! Every problem is reported as `FILE:LINE:COLUMN: key `dotted.key`: message`, one per line.
//! A key this version does not know is an error, never ignored: ignoring one would misroute
//! statements.
//! Password values never appear in a problem, nor in `Debug`/`Display` output of [`Secret`].
//!
//! Value formats:
//! - durations are strings with a unit: `"500ms"`, `"10s"`, `"1m"`, `"8h"`, `"2d"`, combinations
//!   such as `"1h30m"`; units are `ms`, `s`, `m` (minutes), `h`, `d`; `"0"` is zero.
//! - sizes are a byte count, as a string or an integer (`"1024"`, `1024`), or a string with a unit:
//!   `KiB`/`K`, `MiB`/`M`, `GiB`/`G`, `TiB`/`T` are powers of 1024 (as in MySQL's `64M`), `KB`,
//!   `MB`, `GB`, `TB` powers of 1000, `B` bytes; units are case-insensitive.
//! - addresses are `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address
//!   (`[::1]:3306`), the port 1..=65535. They are checked for syntax only (no DNS lookup) and
//!   kept exactly as written.
//! - passwords are either the literal password or `"env:NAME"`, which reads the environment
//!   variable `NAME` when the file is loaded.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

mod clusters;
mod ctx;
mod location;
mod raw;
mod rules;
mod values;
use clusters::RawCluster;
use ctx::Ctx;
use location::*;
use raw::*;
use rules::RawRule;
use values::*;

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

/// Default for `listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3306";
/// Default for `[admin] listen`.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:6033";
/// Default for `[metrics] listen`.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9104";
/// Default for `[[replicas]] weight`.
pub const DEFAULT_WEIGHT: u32 = 1;
/// Largest accepted `[[replicas]] weight`.
pub const MAX_WEIGHT: u32 = 1000;
/// Smallest accepted `[limits] max_packet_size` (MySQL's own minimum for `max_allowed_packet`).
pub const MIN_PACKET_SIZE: u64 = 1024;
/// Largest accepted `[limits] max_packet_size` (MySQL's own maximum for `max_allowed_packet`).
pub const MAX_PACKET_SIZE: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Public, validated configuration
// ---------------------------------------------------------------------------------------------

/// The whole, validated proxy configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `listen` — where applications connect, `host:port`. Default `"127.0.0.1:3306"`.
    /// Applications keep their usual MySQL settings and just point at this address.
    pub listen: String,
    /// `[master] address` — the single write target (required). Its `weight` is always 1;
    /// `[master]` has no `weight` key.
    pub master: Backend,
    /// `[[replicas]]` — read targets (may be empty: reads then go to the master). Lifecycle
    /// hooks add and remove these (`rwsplit topology add-replica` / `remove-replica`).
    pub replicas: Vec<Backend>,
    /// `[[users]]` — accounts applications log in with; the proxy uses the same credentials
    /// toward the backends. At least one is required unless `auth.passthrough = true`.
    pub users: Vec<User>,
    /// `[auth]` — how client logins are checked. Optional; defaults apply when absent.
    pub auth: Auth,
    /// `[limits]` — connection and packet limits. Optional; defaults apply when absent.
    pub limits: Limits,
    /// `[tls]` — TLS toward clients and backends. `None` when the section is absent: no TLS
    /// on either side.
    pub tls: Option<Tls>,
    /// `[routing]` — how reads are routed. Optional; defaults apply when absent.
    pub routing: Routing,
    /// `[monitor]` — backend health and replication-lag checks. `None` when absent: no
    /// checks run (backends are assumed up and replicas not lagging).
    pub monitor: Option<Monitor>,
    /// `[admin]` — the admin interface. `None` when absent: no admin listener.
    pub admin: Option<Admin>,
    /// `[metrics]` — the Prometheus metrics endpoint. `None` when absent: no metrics listener.
    pub metrics: Option<Metrics>,
    /// `[timeouts]` — backend timeouts. Optional; defaults apply when absent.
    pub timeouts: Timeouts,
    /// `[log]` — logging. Optional; defaults apply when absent.
    pub log: Log,
    /// `[[rules]]` — query rules, checked in order, the first match decides (see `rules`).
    /// Compiled here (regular expressions, digest keys), once per load; equal when compiled
    /// from the same rules, so a reload that changes none of them keeps the running set.
    pub rules: crate::rules::Rules,
    /// `[[clusters]]` — further master/replica clusters (sharding), in file order. The
    /// top-level `[master]` and `[[replicas]]` are the cluster named [`MAIN_CLUSTER`], which is
    /// not in this list; rules send statements to the others (`cluster = NAME`).
    pub clusters: Vec<Cluster>,
}

/// The name of the cluster made of the top-level `[master]` and `[[replicas]]`: where every
/// statement goes unless a rule names another cluster.
pub const MAIN_CLUSTER: &str = "main";

/// One `[[clusters]]` entry: a master with its replicas, the same keys and meaning as the
/// top-level `[master]` and `[[replicas]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// `name` — what rules and the hook CLI call it: letters, digits, `_` and `-`; unique;
    /// not `"main"` (the top-level cluster's name).
    pub name: String,
    /// `master` — the cluster's write target, `{ address = "host:port" }`.
    pub master: Backend,
    /// `replicas` — its read targets, `[{ address = "host:port", weight = 1 }, ...]`.
    pub replicas: Vec<Backend>,
}

/// A backend server: the master or a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `address` — `host:port` exactly as written in the file (syntax checked, not resolved).
    pub address: String,
    /// `weight` (replicas only) — share of reads relative to the other replicas. Default 1,
    /// range 0..=1000; 0 means drained: the replica gets no new reads. Always 1 for the master.
    pub weight: u32,
}

/// An application account (`[[users]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `name` — the MySQL user name (case-sensitive, non-empty, unique).
    pub name: String,
    /// `password` — the literal password or `"env:NAME"`; here already resolved.
    pub password: Secret,
}

/// A password, already resolved from the file or the environment.
///
/// `Debug` and `Display` print `***`, so a secret never ends up in a log line by accident;
/// use [`Secret::expose`] where the actual value is needed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (e.g. for tests or for accounts loaded at run time).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// `passthrough` — default `false`. `true`: load accounts and their password hashes from
    /// the master (the `[monitor]` account must be able to read the user table), so
    /// application passwords need not be written in this file; `[[users]]` may then be empty,
    /// and `[monitor]` is required.
    pub passthrough: bool,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `max_client_connections` — default 4096, range 1..=1000000. Client connections beyond
    /// this are refused.
    pub max_client_connections: u32,
    /// `handshake_timeout` — default `"5s"`, must be > 0. A client that does not finish its
    /// login in time is dropped.
    pub handshake_timeout: Duration,
    /// `idle_client_timeout` — default `"8h"`. A client connection idle this long is closed.
    /// `"0s"` disables it (`None`).
    pub idle_client_timeout: Option<Duration>,
    /// `max_packet_size` — default `"auto"`: the master's `max_allowed_packet` (read at the
    /// first backend login; 64MiB until then), so a statement the server takes is never cut
    /// off by the proxy. Or a size, range 1KiB..=1GiB. Largest MySQL payload accepted.
    pub max_packet_size: u64,
    /// `max_packet_size = "auto"` (or absent): `max_packet_size` is only the value used until
    /// the servers' own is known (`Shared::max_packet`).
    pub max_packet_auto: bool,
    /// `long_data_total` — default `"256MiB"`, range 1KiB..=64GiB. COM_STMT_SEND_LONG_DATA
    /// bytes all sessions together may hold until their execute; past it the data is dropped
    /// and that statement's execute gets the server's 1105, as past `max_packet_size`.
    pub long_data_total: u64,
    /// `max_user_connections` — default 0 (no limit), range 0..=1000000. Client connections
    /// one account may hold at once; the next login of that account is refused with the
    /// server's ER_TOO_MANY_USER_CONNECTIONS (1203), so one runaway app cannot take every slot.
    pub max_user_connections: u32,
    /// `max_idle_backend_connections` — default 64, range 0..=100000. Idle, logged-in
    /// connections the pool keeps per backend for the next session (or, multiplexing, for the
    /// next statement of an idle one); 0 disables the pool.
    pub max_idle_backend_connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_client_connections: 4096,
            handshake_timeout: Duration::from_secs(5),
            idle_client_timeout: Some(Duration::from_secs(8 * 3600)),
            max_packet_size: 64 << 20,
            max_packet_auto: true,
            long_data_total: 256 << 20,
            max_user_connections: 0,
            max_idle_backend_connections: 64,
        }
    }
}

/// `[tls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `cert` — PEM certificate (chain) presented to clients. Set together with `key`.
    /// Without both, client connections cannot use TLS.
    pub cert: Option<PathBuf>,
    /// `key` — PEM private key for `cert`.
    pub key: Option<PathBuf>,
    /// `require_client_tls` — default `false`. `true` refuses clients that do not switch to
    /// TLS; requires `cert` and `key`.
    pub require_client_tls: bool,
    /// `backend_ca` — PEM CA bundle the backend servers' certificates are verified against
    /// when connecting to them with TLS.
    pub backend_ca: Option<PathBuf>,
    /// `backend_tls` — `"disabled"` | `"preferred"` | `"required"`, default `"preferred"`.
    pub backend_tls: BackendTls,
}

/// `[tls] backend_tls`: TLS toward the backend servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendTls {
    /// `"disabled"`: plain connections.
    Disabled,
    /// `"preferred"`: TLS when the server offers it, plain otherwise.
    Preferred,
    /// `"required"`: TLS or no connection.
    Required,
}

/// `[routing]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// `max_replication_lag` — default `"10s"`. Replicas further behind the master get no
    /// reads. `"0s"` allows only replicas that are fully caught up.
    pub max_replication_lag: Duration,
    /// `fallback_to_master` — default `true`. Reads go to the master when no replica is
    /// healthy; `false` makes such reads fail instead.
    pub fallback_to_master: bool,
    /// `consistency` — `"eventual"` | `"session"` | `"global"`, default `"session"`.
    pub consistency: Consistency,
    /// `consistency_wait` — default `"100ms"`. How long a read may wait for a replica to
    /// catch up to the required position before it goes to the master instead. `"0s"` never
    /// waits.
    pub consistency_wait: Duration,
    /// `multiplex` — default `true`. A client session that has been idle for
    /// `multiplex_after` hands back backend connections that carry nothing of it (only logged
    /// in, or only plain reads that left no warning, variable or transaction behind; no
    /// session variables, temporary tables or prepared statements) to the pool, and takes one
    /// again for its next statement: many idle app connections share few backend connections.
    pub multiplex: bool,
    /// `multiplex_after` — default `"100ms"`. Idle time before such a connection is handed
    /// back; a busy session keeps its connections. `"0s"` hands them back at once.
    pub multiplex_after: Duration,
    /// `read_only_transactions_on_replicas` — default `false`. With `true`, a `START
    /// TRANSACTION READ ONLY` runs as a whole on one replica. Off by default because inside one
    /// a replica answers differently from the master: a write gets 1290 (read-only server)
    /// instead of 1792, a DDL's implicit commit fails, temporary tables and LAST_INSERT_ID() of
    /// the session are not there.
    pub read_only_transactions_on_replicas: bool,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            max_replication_lag: Duration::from_secs(10),
            fallback_to_master: true,
            consistency: Consistency::Session,
            consistency_wait: Duration::from_millis(100),
            multiplex: true,
            multiplex_after: Duration::from_millis(100),
            read_only_transactions_on_replicas: false,
        }
    }
}

/// `[routing] consistency`: which writes a read is guaranteed to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// `"eventual"`: reads may go to any replica within `max_replication_lag`.
    Eventual,
    /// `"session"`: read-your-writes within a client connection.
    Session,
    /// `"global"`: reads see every write acknowledged by the proxy, from any connection.
    Global,
}

/// `[monitor]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// `user` — account the health and lag checks log in with (required).
    pub user: String,
    /// `password` — its password, literal or `"env:NAME"` (required).
    pub password: Secret,
    /// `interval` — default `"1s"`, must be > 0. Time between checks of each backend.
    pub interval: Duration,
    /// `connect_timeout` — default `"1s"`, must be > 0. Connect + login timeout of a check.
    pub connect_timeout: Duration,
    /// `query_timeout` — default `"1s"`, must be > 0. Timeout of a check's queries.
    pub query_timeout: Duration,
    /// `fail_after` — default 3, range 1..=100. Consecutive failed checks before a backend
    /// is marked down.
    pub fail_after: u32,
    /// `recover_after` — default 2, range 1..=100. Consecutive successful checks before a
    /// down backend is marked up again.
    pub recover_after: u32,
}

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// `listen` — default `"127.0.0.1:6033"`. Address of the admin interface.
    pub listen: String,
    /// `user` — admin account name (required).
    pub user: String,
    /// `password` — admin password, literal or `"env:NAME"` (required).
    pub password: Secret,
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// `listen` — default `"127.0.0.1:9104"`. Address of the Prometheus metrics endpoint.
    pub listen: String,
}

/// `[timeouts]`: what keeps a silent backend or a client that stops reading from hanging a
/// session (see `backend::BackendConn::relay` and `session::backends`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// `connect` — default `"2s"`, must be > 0. Backend TCP connect plus login.
    pub connect: Duration,
    /// `query` — default `"0s"` = no limit (`None`). Longest a statement may run on a backend:
    /// past it the proxy sends `KILL QUERY` for it on a connection of its own, and the server's
    /// error reaches the client.
    pub query: Option<Duration>,
    /// `read_failover` — default `"3s"`, must be > 0. A read that may run elsewhere and got
    /// no byte of its answer from its replica within this time, while the monitor has not
    /// heard from that server either, is retried on another backend.
    pub read_failover: Duration,
    /// `client_write` — default `"60s"`, must be > 0. A client that stops reading its result
    /// for this long is disconnected and its backend connections discarded (so it cannot hold
    /// a backend connection and its locks forever).
    pub client_write: Duration,
    /// `client_read` — default `"30s"` (the server's net_read_timeout), must be > 0. Once a
    /// client packet has begun to arrive, the rest must arrive within this time, or the client
    /// connection is closed: a client that sends half a packet and stops would otherwise hold
    /// its session until the idle timeout (8 h).
    pub client_read: Duration,
    /// `keepalive` — default `"60s"`; `"0s"` = off (`None`). TCP keepalive idle time on client
    /// and backend sockets (not on loopback clients: see `session::login::wants_keepalive`).
    pub keepalive: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(2),
            query: None,
            read_failover: Duration::from_secs(3),
            client_write: Duration::from_secs(60),
            client_read: Duration::from_secs(30),
            keepalive: Some(Duration::from_secs(60)),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// `level` — default `"info"`. A level (`trace`, `debug`, `info`, `warn`, `error`, `off`)
    /// or a comma-separated filter list whose entries are `LEVEL` or `TARGET=LEVEL`, e.g.
    /// `"info,rwsplit::router=debug"`.
    pub level: String,
    /// `format` — `"text"` | `"json"`, default `"text"`.
    pub format: LogFormat,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".to_string(),
            format: LogFormat::Text,
        }
    }
}

/// `[log] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `"text"`: human-readable lines.
    Text,
    /// `"json"`: one JSON object per line.
    Json,
}

impl Config {
    /// Reads and validates the file at `path`; problems name the file as given.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_str_with_env(&text, &origin, &|name| std::env::var(name)),
            Err(e) => {
                let message = if e.kind() == std::io::ErrorKind::InvalidData {
                    "cannot read the file: it is not valid UTF-8".to_string()
                } else {
                    format!("cannot read the file: {e}")
                };
                Err(ConfigError {
                    problems: vec![Problem {
                        origin,
                        location: None,
                        key: String::new(),
                        message,
                    }],
                })
            }
        }
    }

    /// Parses and validates `text`; `origin` (usually the file name) prefixes every problem.
    /// `env:NAME` passwords are read from the process environment.
    pub fn from_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::from_str_with_env(text, origin, &|name| std::env::var(name))
    }

    /// Like [`Config::from_str`], with `env` looking up the variables of `env:NAME` passwords.
    pub fn from_str_with_env(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Result<String, std::env::VarError>,
    ) -> Result<Config, ConfigError> {
        let mut cx = Ctx {
            text,
            env,
            problems: Vec::new(),
        };
        let config = parse(&mut cx);
        let located = |mut found: Vec<(usize, String, String)>| -> Vec<Problem> {
            found.sort_by_key(|p| p.0);
            found
                .into_iter()
                .map(|(offset, key, message)| {
                    let (line, column) = line_col(text, offset);
                    Problem {
                        origin: origin.to_string(),
                        location: Some(Location { line, column }),
                        key,
                        message,
                    }
                })
                .collect()
        };
        match config {
            Some(config) if cx.problems.is_empty() => Ok(config),
            _ => Err(ConfigError {
                problems: located(cx.problems),
            }),
        }
    }

    /// The `[[users]]` entry with this user name (as sent in a client's handshake), if any.
    pub fn user(&self, name: &[u8]) -> Option<&User> {
        self.users.iter().find(|u| u.name.as_bytes() == name)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Everything wrong with a configuration. `Display` prints one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    /// The problems, in file order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// One problem: where, which key, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name (the `origin` given to [`Config::from_str`]).
    pub origin: String,
    /// Line and column; `None` only when the file could not be read at all.
    pub location: Option<Location>,
    /// Dotted key path, e.g. `routing.consistency` or `replicas[1].address` (0-based index);
    /// empty only when no key applies (unreadable file, some TOML syntax errors).
    pub key: String,
    /// What is wrong. Never contains a password.
    pub message: String,
}

/// A 1-based position in the file (the column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.origin)?;
        if let Some(l) = self.location {
            write!(f, "{}:{}:", l.line, l.column)?;
        }
        if !self.key.is_empty() {
            write!(f, " key `{}`:", self.key)?;
        }
        write!(f, " {}", self.message)
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------------

const TOP_LEVEL_KEYS: &[&str] = &[
    "listen", "master", "replicas", "users", "auth", "limits", "tls", "routing", "monitor",
    "admin", "metrics", "timeouts", "log", "rules", "clusters",
];

/// Raw sections as found in the document (each `None` when absent or broken), with the span
/// of their header.
#[derive(Default)]
struct RawDoc {
    listen: Option<Spanned<Leaf>>,
    master: Option<Spanned<RawMaster>>,
    replicas: Vec<Option<Spanned<RawReplica>>>,
    users: Vec<Option<Spanned<RawUser>>>,
    auth: Option<Spanned<RawAuth>>,
    limits: Option<Spanned<RawLimits>>,
    tls: Option<Spanned<RawTls>>,
    routing: Option<Spanned<RawRouting>>,
    monitor: Option<Spanned<RawMonitor>>,
    admin: Option<Spanned<RawAdmin>>,
    metrics: Option<Spanned<RawMetrics>>,
    timeouts: Option<Spanned<RawTimeouts>>,
    log: Option<Spanned<RawLog>>,
    rules: Vec<Option<Spanned<RawRule>>>,
    clusters: Vec<Option<Spanned<RawCluster>>>,
}

/// Parses and validates. A `Some` return is only used when no problem was recorded.
fn parse(cx: &mut Ctx<'_>) -> Option<Config> {
    let text = cx.text;
    let (doc, syntax_errors) = DeTable::parse_recoverable(text);
    let root = doc.get_ref();
    if !syntax_errors.is_empty() {
        // A partially recovered document would produce follow-up noise: report syntax only.
        for e in &syntax_errors {
            cx.toml_error(root, e, "", 0..0);
        }
        return None;
    }

    let mut raw = RawDoc::default();
    for (k, v) in root.iter() {
        let key: &str = k.get_ref();
        match key {
            "listen" => raw.listen = cx.section(root, v, key),
            "master" => raw.master = cx.section(root, v, key),
            "replicas" => raw.replicas = cx.array_of(root, v, key),
            "users" => raw.users = cx.array_of(root, v, key),
            "auth" => raw.auth = cx.section(root, v, key),
            "limits" => raw.limits = cx.section(root, v, key),
            "tls" => raw.tls = cx.section(root, v, key),
            "routing" => raw.routing = cx.section(root, v, key),
            "monitor" => raw.monitor = cx.section(root, v, key),
            "admin" => raw.admin = cx.section(root, v, key),
            "metrics" => raw.metrics = cx.section(root, v, key),
            "timeouts" => raw.timeouts = cx.section(root, v, key),
            "log" => raw.log = cx.section(root, v, key),
            "rules" => raw.rules = cx.array_of(root, v, key),
            "clusters" => raw.clusters = cx.array_of(root, v, key),
            other => {
                let mut path = String::new();
                push_key(&mut path, other);
                let expected = TOP_LEVEL_KEYS.join("`, `");
                cx.problem(
                    k.span().start,
                    path,
                    format!("unknown key, expected one of `{expected}`"),
                );
            }
        }
    }
    let section_at = |name: &str| root.get(name).map_or(0, |v| v.span().start);

    // listen
    let listen = match &raw.listen {
        Some(l) => cx.address(l, "listen"),
        None => DEFAULT_LISTEN.to_string(),
    };

    // [master]
    if root.get("master").is_none() {
        cx.problem(
            0,
            "master",
            "missing required table [master] (the write target), \
             e.g. [master] address = \"10.0.0.10:3306\"",
        );
    }
    let master = raw.master.as_ref().and_then(|m| {
        let address = cx.required(&m.get_ref().address, m.span().start, "master.address")?;
        Some(Backend {
            address: cx.address(address, "master.address"),
            weight: 1,
        })
    });

    // [[replicas]]
    let replicas = replica_list(cx, &raw.replicas, "replicas");

    // [[clusters]], after the main cluster's backends (their addresses are compared).
    let clusters = clusters::clusters(cx, &raw.clusters);

    // Duplicate backend addresses (master + replicas of every cluster), compared after
    // normalization: one server in two roles or two clusters would be routed to twice.
    {
        let master_addr = raw
            .master
            .iter()
            .filter_map(|m| m.get_ref().address.as_ref())
            .map(|a| (a, "master.address".to_string()));
        let replica_addrs = raw.replicas.iter().enumerate().filter_map(|(i, r)| {
            let a = r.as_ref()?.get_ref().address.as_ref()?;
            Some((a, format!("replicas[{i}].address")))
        });
        let all = master_addr
            .chain(replica_addrs)
            .chain(clusters::addresses(&raw.clusters));
        let mut seen: HashMap<(String, u16), (String, usize)> = HashMap::new();
        for (addr, key) in all {
            let Leaf::Str(s) = addr.get_ref() else {
                continue;
            };
            let Ok(norm) = parse_host_port(s) else {
                continue;
            };
            let at = addr.span().start;
            match seen.get(&norm) {
                Some((first_key, first_at)) => {
                    let (line, _) = line_col(text, *first_at);
                    let message = format!(
                        "duplicate backend address {s:?}: already used by `{first_key}` \
                         on line {line}"
                    );
                    cx.problem(at, key, message);
                }
                None => {
                    seen.insert(norm, (key, at));
                }
            }
        }
    }

    // [auth]
    let auth = Auth {
        passthrough: raw.auth.as_ref().is_some_and(|a| {
            cx.boolean(a.get_ref().passthrough.as_ref(), "auth.passthrough", false)
        }),
    };

    // [[users]]
    let mut users = Vec::new();
    let mut seen_users: HashMap<String, usize> = HashMap::new();
    for (i, u) in raw.users.iter().enumerate() {
        let Some(u) = u else { continue };
        let (name_key, password_key) = (format!("users[{i}].name"), format!("users[{i}].password"));
        let name_field = cx.required(&u.get_ref().name, u.span().start, &name_key);
        let name = cx.name(name_field, &name_key);
        let password = cx
            .required(&u.get_ref().password, u.span().start, &password_key)
            .map(|p| cx.secret(p, &password_key))
            .unwrap_or_default();
        if let (Some(field), false) = (name_field, name.is_empty()) {
            let at = field.span().start;
            if let Some(first_at) = seen_users.get(&name) {
                let (line, _) = line_col(text, *first_at);
                let message = format!("duplicate user {name:?}: already defined on line {line}");
                cx.problem(at, name_key, message);
            } else {
                seen_users.insert(name.clone(), at);
            }
        }
        users.push(User { name, password });
    }
    let no_users = match root.get("users").map(|u| u.get_ref()) {
        None => true,
        Some(DeValue::Array(items)) => items.is_empty(),
        Some(_) => false, // not an array: reported already
    };
    if no_users && !auth.passthrough {
        cx.problem(
            section_at("users"),
            "users",
            "at least one [[users]] entry (name and password) is required, \
             unless auth.passthrough = true",
        );
    }

    // [limits]
    let defaults = Limits::default();
    let limits = match raw.limits.as_ref().map(|l| l.get_ref()) {
        None => defaults,
        Some(l) => Limits {
            max_client_connections: cx.int(
                l.max_client_connections.as_ref(),
                "limits.max_client_connections",
                defaults.max_client_connections,
                1..=1_000_000,
            ),
            handshake_timeout: cx.duration(
                l.handshake_timeout.as_ref(),
                "limits.handshake_timeout",
                defaults.handshake_timeout,
                false,
            ),
            idle_client_timeout: cx.duration_or_none(
                l.idle_client_timeout.as_ref(),
                "limits.idle_client_timeout",
                defaults.idle_client_timeout,
            ),
            max_packet_auto: max_packet_auto(l.max_packet_size.as_ref()),
            max_packet_size: {
                let key = "limits.max_packet_size";
                let value = l.max_packet_size.as_ref().filter(|v| !is_auto(v.get_ref()));
                let n = cx.size(value, key, defaults.max_packet_size);
                if !(MIN_PACKET_SIZE..=MAX_PACKET_SIZE).contains(&n) {
                    let at = value.map_or(0, |v| v.span().start);
                    let message = format!("must be between 1KiB and 1GiB, got {n} bytes");
                    cx.problem(at, key, message);
                }
                n
            },
            long_data_total: {
                let key = "limits.long_data_total";
                let value = l.long_data_total.as_ref();
                let n = cx.size(value, key, defaults.long_data_total);
                if !(MIN_PACKET_SIZE..=64 << 30).contains(&n) {
                    let at = value.map_or(0, |v| v.span().start);
                    let message = format!("must be between 1KiB and 64GiB, got {n} bytes");
                    cx.problem(at, key, message);
                }
                n
            },
            max_user_connections: cx.int(
                l.max_user_connections.as_ref(),
                "limits.max_user_connections",
                defaults.max_user_connections,
                0..=1_000_000,
            ),
            max_idle_backend_connections: cx.int(
                l.max_idle_backend_connections.as_ref(),
                "limits.max_idle_backend_connections",
                defaults.max_idle_backend_connections,
                0..=100_000,
            ),
        },
    };

    // [tls]
    let tls = raw.tls.as_ref().map(|t| {
        let t = t.get_ref();
        let cert = cx.path(t.cert.as_ref(), "tls.cert");
        let key = cx.path(t.key.as_ref(), "tls.key");
        match (&t.cert, &t.key) {
            (Some(c), None) => cx.problem(
                c.span().start,
                "tls.key",
                "`tls.cert` is set but `tls.key` is missing: set both or neither",
            ),
            (None, Some(k)) => cx.problem(
                k.span().start,
                "tls.cert",
                "`tls.key` is set but `tls.cert` is missing: set both or neither",
            ),
            _ => {}
        }
        let require = t.require_client_tls.as_ref();
        let require_client_tls = cx.boolean(require, "tls.require_client_tls", false);
        if require_client_tls && (t.cert.is_none() || t.key.is_none()) {
            cx.problem(
                require.map_or(0, |r| r.span().start),
                "tls.require_client_tls",
                "requires `tls.cert` and `tls.key` (a certificate to present to clients)",
            );
        }
        Tls {
            cert,
            key,
            require_client_tls,
            backend_ca: cx.path(t.backend_ca.as_ref(), "tls.backend_ca"),
            backend_tls: cx.one_of(
                t.backend_tls.as_ref(),
                "tls.backend_tls",
                &[
                    ("disabled", BackendTls::Disabled),
                    ("preferred", BackendTls::Preferred),
                    ("required", BackendTls::Required),
                ],
                BackendTls::Preferred,
            ),
        }
    });

    // [routing]
    let defaults = Routing::default();
    let routing = match raw.routing.as_ref().map(|r| r.get_ref()) {
        None => defaults,
        Some(r) => Routing {
            max_replication_lag: cx.duration(
                r.max_replication_lag.as_ref(),
                "routing.max_replication_lag",
                defaults.max_replication_lag,
                true,
            ),
            fallback_to_master: cx.boolean(
                r.fallback_to_master.as_ref(),
                "routing.fallback_to_master",
                defaults.fallback_to_master,
            ),
            consistency: cx.one_of(
                r.consistency.as_ref(),
                "routing.consistency",
                &[
                    ("eventual", Consistency::Eventual),
                    ("session", Consistency::Session),
                    ("global", Consistency::Global),
                ],
                defaults.consistency,
            ),
            consistency_wait: cx.duration(
                r.consistency_wait.as_ref(),
                "routing.consistency_wait",
                defaults.consistency_wait,
                true,
            ),
            multiplex: cx.boolean(
                r.multiplex.as_ref(),
                "routing.multiplex",
                defaults.multiplex,
            ),
            multiplex_after: cx.duration(
                r.multiplex_after.as_ref(),
                "routing.multiplex_after",
                defaults.multiplex_after,
                true,
            ),
            read_only_transactions_on_replicas: cx.boolean(
                r.read_only_transactions_on_replicas.as_ref(),
                "routing.read_only_transactions_on_replicas",
                defaults.read_only_transactions_on_replicas,
            ),
        },
    };

    // [monitor]
    let second = Duration::from_secs(1);
    let monitor = raw.monitor.as_ref().map(|m| {
        let (at, m) = (m.span().start, m.get_ref());
        let user = cx.required(&m.user, at, "monitor.user");
        let password = cx.required(&m.password, at, "monitor.password");
        Monitor {
            user: cx.name(user, "monitor.user"),
            password: password
                .map(|p| cx.secret(p, "monitor.password"))
                .unwrap_or_default(),
            interval: cx.duration(m.interval.as_ref(), "monitor.interval", second, false),
            connect_timeout: cx.duration(
                m.connect_timeout.as_ref(),
                "monitor.connect_timeout",
                second,
                false,
            ),
            query_timeout: cx.duration(
                m.query_timeout.as_ref(),
                "monitor.query_timeout",
                second,
                false,
            ),
            fail_after: cx.int(m.fail_after.as_ref(), "monitor.fail_after", 3, 1..=100),
            recover_after: cx.int(
                m.recover_after.as_ref(),
                "monitor.recover_after",
                2,
                1..=100,
            ),
        }
    });
    if auth.passthrough && root.get("monitor").is_none() {
        let at = raw
            .auth
            .as_ref()
            .and_then(|a| a.get_ref().passthrough.as_ref())
            .map_or(0, |p| p.span().start);
        cx.problem(
            at,
            "auth.passthrough",
            "requires a [monitor] section: its account loads the user accounts from the master",
        );
    }

    // [admin], [metrics]
    let admin = raw.admin.as_ref().map(|a| {
        let (at, a) = (a.span().start, a.get_ref());
        let user = cx.required(&a.user, at, "admin.user");
        let password = cx.required(&a.password, at, "admin.password");
        Admin {
            listen: match &a.listen {
                Some(l) => cx.address(l, "admin.listen"),
                None => DEFAULT_ADMIN_LISTEN.to_string(),
            },
            user: cx.name(user, "admin.user"),
            password: password
                .map(|p| cx.secret(p, "admin.password"))
                .unwrap_or_default(),
        }
    });
    let metrics = raw.metrics.as_ref().map(|m| Metrics {
        listen: match &m.get_ref().listen {
            Some(l) => cx.address(l, "metrics.listen"),
            None => DEFAULT_METRICS_LISTEN.to_string(),
        },
    });

    // The listeners must not collide (same port on the same host or on a wildcard host).
    {
        let at_of = |field: Option<&Spanned<Leaf>>, section: &str| {
            field.map_or(section_at(section), |f| f.span().start)
        };
        let mut listeners: Vec<(&str, &str, usize)> = Vec::new();
        listeners.push(("listen", &listen, at_of(raw.listen.as_ref(), "listen")));
        if let (Some(a), Some(raw_a)) = (&admin, &raw.admin) {
            let at = at_of(raw_a.get_ref().listen.as_ref(), "admin");
            listeners.push(("admin.listen", &a.listen, at));
        }
        if let (Some(m), Some(raw_m)) = (&metrics, &raw.metrics) {
            let at = at_of(raw_m.get_ref().listen.as_ref(), "metrics");
            listeners.push(("metrics.listen", &m.listen, at));
        }
        let wildcard = |h: &str| h == "0.0.0.0" || h == "::";
        for (i, (key, addr, at)) in listeners.iter().enumerate() {
            let Ok((host, port)) = parse_host_port(addr) else {
                continue;
            };
            for (other_key, other_addr, _) in &listeners[..i] {
                let Ok((other_host, other_port)) = parse_host_port(other_addr) else {
                    continue;
                };
                if port == other_port
                    && (host == other_host || wildcard(&host) || wildcard(&other_host))
                {
                    let message = format!("{addr:?} collides with `{other_key}` = {other_addr:?}");
                    cx.problem(*at, *key, message);
                }
            }
        }
    }

    // [timeouts]
    let defaults = Timeouts::default();
    let timeouts = match raw.timeouts.as_ref().map(|t| t.get_ref()) {
        None => defaults.clone(),
        Some(t) => Timeouts {
            connect: cx.duration(
                t.connect.as_ref(),
                "timeouts.connect",
                defaults.connect,
                false,
            ),
            query: cx.duration_or_none(t.query.as_ref(), "timeouts.query", defaults.query),
            read_failover: cx.duration(
                t.read_failover.as_ref(),
                "timeouts.read_failover",
                defaults.read_failover,
                false,
            ),
            client_write: cx.duration(
                t.client_write.as_ref(),
                "timeouts.client_write",
                defaults.client_write,
                false,
            ),
            client_read: cx.duration(
                t.client_read.as_ref(),
                "timeouts.client_read",
                defaults.client_read,
                false,
            ),
            keepalive: cx.duration_or_none(
                t.keepalive.as_ref(),
                "timeouts.keepalive",
                defaults.keepalive,
            ),
        },
    };
    // [log]
    let defaults = Log::default();
    let log = match raw.log.as_ref().map(|l| l.get_ref()) {
        None => defaults,
        Some(l) => Log {
            level: match &l.level {
                None => defaults.level,
                Some(level) => match cx.string(level, "log.level", "a log level string") {
                    None => defaults.level,
                    Some(s) => {
                        if let Err(why) = check_log_level(s) {
                            cx.problem(level.span().start, "log.level", why);
                        }
                        s.trim().to_string()
                    }
                },
            },
            format: cx.one_of(
                l.format.as_ref(),
                "log.format",
                &[("text", LogFormat::Text), ("json", LogFormat::Json)],
                defaults.format,
            ),
        },
    };

    let rules = rules::rules(cx, &raw.rules, &clusters);

    Some(Config {
        listen,
        master: master?,
        replicas,
        users,
        auth,
        limits,
        tls,
        routing,
        monitor,
        admin,
        metrics,
        timeouts,
        log,
        rules,
        clusters,
    })
}

/// `[[replicas]]` of the main cluster or `replicas` of a `[[clusters]]` entry (`key` is the
/// path of the array): each needs an address; the weight defaults to 1.
fn replica_list(cx: &mut Ctx<'_>, raw: &[Option<Spanned<RawReplica>>], key: &str) -> Vec<Backend> {
    let mut replicas = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let Some(r) = r else { continue };
        let address_key = format!("{key}[{i}].address");
        let address = cx.required(&r.get_ref().address, r.span().start, &address_key);
        let address = address
            .map(|a| cx.address(a, &address_key))
            .unwrap_or_default();
        let weight_key = format!("{key}[{i}].weight");
        let weight = cx.int(
            r.get_ref().weight.as_ref(),
            &weight_key,
            DEFAULT_WEIGHT,
            0..=MAX_WEIGHT,
        );
        replicas.push(Backend { address, weight });
    }
    replicas
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests;

/// `"auto"` (any case) as a configuration value.
fn is_auto(v: &Leaf) -> bool {
    matches!(v, Leaf::Str(t) if t.eq_ignore_ascii_case("auto"))
}

/// `[limits] max_packet_size` absent or `"auto"`.
fn max_packet_auto(v: Option<&Spanned<Leaf>>) -> bool {
    v.is_none_or(|v| is_auto(v.get_ref()))
}
