//! The running topology: which master, which replicas, and how each one is doing.
//!
//! Sessions read it through an `ArcSwap` snapshot on every routing decision without taking a
//! lock; a reload builds a whole new snapshot and swaps it in. Per-backend health lives in the
//! `Backend` objects so it survives reloads that keep the backend.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use rand::Rng;

use crate::config::Config;
use crate::protocol::handshake::ServerInfo;

pub mod reload;

/// What a backend is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Master,
    Replica,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "replica",
        }
    }
}

/// Health state of a backend, as the monitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Serving.
    Up,
    /// Replication stopped or too far behind: no new reads.
    Lagging,
    /// Failed its checks: no new sessions.
    Down,
    /// Taken out by an operator (admin OFFLINE): no new work, running work finishes.
    Draining,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Lagging => "lagging",
            State::Down => "down",
            State::Draining => "draining",
        }
    }
}

/// What the last health check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub state: State,
    pub reason: String,
    /// Seconds_Behind_Master of a replica.
    pub lag_seconds: Option<u64>,
    /// Executed GTID position (MariaDB gtid_slave_pos / gtid_binlog_pos).
    pub gtid: Option<String>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            state: State::Up,
            reason: "not checked yet".into(),
            lag_seconds: None,
            gtid: None,
        }
    }
}

/// One backend server and what the proxy has learned about it.
#[derive(Debug)]
pub struct Backend {
    pub address: String,
    pub role: Role,
    pub weight: u32,
    /// Unix time in ms until which the backend is considered down after a failed connect.
    down_until_ms: AtomicU64,
    /// Published by the monitor; read on every routing decision without a lock.
    pub health: ArcSwap<Health>,
    /// Client sessions holding a connection to it right now (see `Lease`): replicas are
    /// picked by fewest sessions per weight, so a handful of long-lived clients spread evenly.
    active: AtomicU32,
}

/// One session's hold on a backend, counted in `Backend::active` until dropped.
#[derive(Debug)]
pub struct Lease(Arc<Backend>);

impl Lease {
    pub fn new(backend: &Arc<Backend>) -> Self {
        backend.active.fetch_add(1, Ordering::Relaxed);
        Lease(backend.clone())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Backend {
    pub fn new(address: &str, role: Role, weight: u32) -> Self {
        Backend {
            address: address.to_string(),
            role,
            weight,
            down_until_ms: AtomicU64::new(0),
            health: ArcSwap::from_pointee(Health::default()),
            active: AtomicU32::new(0),
        }
    }

    /// May new work go here? Health says up, and no connect failed a moment ago.
    pub fn is_available(&self) -> bool {
        self.health.load().state == State::Up
            && self.down_until_ms.load(Ordering::Relaxed) <= now_ms()
    }

    /// A connect to this backend failed: give it no new sessions for a moment.
    pub fn mark_failed(&self, for_ms: u64) {
        self.down_until_ms
            .store(now_ms() + for_ms, Ordering::Relaxed);
    }

    pub fn mark_ok(&self) {
        self.down_until_ms.store(0, Ordering::Relaxed);
    }
}

/// An immutable view of the cluster.
#[derive(Debug)]
pub struct Topology {
    pub master: Arc<Backend>,
    pub replicas: Vec<Arc<Backend>>,
    pub config: Arc<Config>,
}

impl Topology {
    /// Builds a snapshot from a config, reusing the backend objects of `previous` that have the
    /// same address and role so their health carries over.
    pub fn from_config(config: Arc<Config>, previous: Option<&Topology>) -> Self {
        let reuse = |addr: &str, role: Role, weight: u32| -> Arc<Backend> {
            let old = previous.and_then(|p| p.find(addr, role));
            match old {
                Some(b) if b.weight == weight => b.clone(),
                // Same server, new weight: keep what the monitor knows about it.
                Some(b) => {
                    let nb = Backend::new(addr, role, weight);
                    nb.health.store(b.health.load_full());
                    Arc::new(nb)
                }
                None => Arc::new(Backend::new(addr, role, weight)),
            }
        };
        Topology {
            master: reuse(&config.master.address, Role::Master, 1),
            replicas: config
                .replicas
                .iter()
                .map(|r| reuse(&r.address, Role::Replica, r.weight))
                .collect(),
            config,
        }
    }

    /// Picks an available replica, skipping `exclude`: the one with the fewest sessions per
    /// unit of weight (a random pick would leave eight clients split 6/2 as often as 4/4),
    /// ties broken at random.
    pub fn pick_replica(&self, exclude: &[&str]) -> Option<Arc<Backend>> {
        let n = self.replicas.len();
        if n == 0 {
            return None;
        }
        let start = rand::rng().random_range(0..n);
        // (best backend, its sessions + 1, its weight)
        let mut best: Option<(&Arc<Backend>, u64, u64)> = None;
        for i in 0..n {
            let b = &self.replicas[(start + i) % n];
            if b.weight == 0 || !b.is_available() || exclude.contains(&b.address.as_str()) {
                continue;
            }
            let (load, w) = (b.active.load(Ordering::Relaxed) as u64 + 1, b.weight as u64);
            // load / w < best_load / best_w, without division
            if best.is_none_or(|(_, bl, bw)| load * bw < bl * w) {
                best = Some((b, load, w));
            }
        }
        best.map(|(b, _, _)| b.clone())
    }

    /// The backend object currently known under `address` in `role`.
    pub fn find(&self, address: &str, role: Role) -> Option<&Arc<Backend>> {
        std::iter::once(&self.master)
            .chain(self.replicas.iter())
            .find(|b| b.address == address && b.role == role)
    }

    /// True if `backend` is still part of this topology in the same role.
    pub fn contains(&self, backend: &Backend) -> bool {
        match backend.role {
            Role::Master => self.master.address == backend.address,
            Role::Replica => self
                .replicas
                .iter()
                .any(|r| r.address == backend.address && r.weight > 0),
        }
    }
}

/// State shared by every session of the proxy.
pub struct Shared {
    pub topology: ArcSwap<Topology>,
    /// The master's greeting details, for the proxy's own greeting.
    pub server_info: ArcSwap<ServerInfo>,
    next_connection_id: AtomicU32,
    pub clients: AtomicU64,
    /// Sessions by proxy connection id (KILL, admin views).
    pub registry: crate::registry::Registry,
    /// Bumped on every topology swap; sessions watch it to let go of removed backends.
    pub version: tokio::sync::watch::Sender<u64>,
    /// Set on SIGTERM/SIGINT: sessions close after their running statement.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub reloads_ok: AtomicU64,
    /// The proxy's own master connection for reading the binlog position (consistency = "global").
    pub gtid_probe: tokio::sync::Mutex<Option<crate::backend::BackendConn>>,
    /// Application accounts loaded from the master (auth passthrough).
    pub accounts: crate::accounts::Accounts,
    /// Idle authenticated backend connections for the next client session.
    pub pool: crate::pool::Pool,
    /// Newest GTID committed through this proxy by any session (consistency = "global").
    pub global_gtid: std::sync::Mutex<crate::gtid::GtidPos>,
    /// Writes sent whose position is not in `global_gtid` yet (consistency = "global").
    pub writes_in_flight: crate::writes_in_flight::WritesInFlight,
    /// Normalized statements with their timings (admin SHOW DIGESTS).
    pub digests: crate::digest::Digests,
    pub reloads_failed: AtomicU64,
    /// Certificates and TLS settings (`[tls]`), replaced on every reload so renewed certificate
    /// files are picked up by new connections.
    pub tls: ArcSwap<crate::tls::TlsSetup>,
}

impl Shared {
    pub fn new(config: Config, tls: crate::tls::TlsSetup) -> Arc<Self> {
        let topology = Topology::from_config(Arc::new(config), None);
        Arc::new(Shared {
            topology: ArcSwap::from_pointee(topology),
            server_info: ArcSwap::from_pointee(ServerInfo::fallback()),
            next_connection_id: AtomicU32::new(1),
            clients: AtomicU64::new(0),
            registry: Default::default(),
            version: tokio::sync::watch::Sender::new(0),
            shutdown: tokio::sync::watch::Sender::new(false),
            reloads_ok: AtomicU64::new(0),
            digests: Default::default(),
            global_gtid: Default::default(),
            writes_in_flight: Default::default(),
            pool: Default::default(),
            accounts: Default::default(),
            gtid_probe: tokio::sync::Mutex::new(None),
            reloads_failed: AtomicU64::new(0),
            tls: ArcSwap::from_pointee(tls),
        })
    }

    /// Installs a new topology and tells the sessions.
    pub fn swap(&self, topology: Topology) {
        self.topology.store(Arc::new(topology));
        self.version.send_modify(|v| *v += 1);
    }

    /// The proxy's own connection ids, shown to clients in the greeting.
    pub fn next_connection_id(&self) -> u32 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }
}
