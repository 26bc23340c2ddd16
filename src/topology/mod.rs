//! The running topology: which master, which replicas, and how each one is doing.
//!
//! Sessions read it through an `ArcSwap` snapshot on every routing decision without taking a
//! lock; a reload builds a whole new snapshot and swaps it in. Per-backend health lives in the
//! `Backend` objects so it survives reloads that keep the backend.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use rand::Rng;

use crate::config::Config;

pub mod refusals;

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
    /// The cluster it serves ("main" or a `[[clusters]]` name): a metrics label, and what
    /// tells two clusters' backends apart when a reload moves an address.
    pub cluster: Arc<str>,
    pub role: Role,
    pub weight: u32,
    /// Unix time in ms until which the backend is considered down after a failed connect.
    down_until_ms: AtomicU64,
    /// Published by the monitor (`set_health`); the whole verdict, with its reason and GTID.
    health: ArcSwap<Health>,
    /// `health`'s state alone, read on every statement with one atomic load.
    state: AtomicU8,
    /// Client sessions holding a connection to it right now (see `Lease`): replicas are
    /// picked by fewest sessions per weight, so a handful of long-lived clients spread evenly.
    active: AtomicU32,
    /// Unix time in ms of the monitor's last good check (0: never, or no monitor).
    last_heard_ms: AtomicU64,
    /// Accounts this backend refuses to log in, held off it for a while (`refusals`).
    pub refusals: refusals::LoginRefusals,
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

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Backend {
    pub fn new(cluster: &Arc<str>, address: &str, role: Role, weight: u32) -> Self {
        Backend {
            address: address.to_string(),
            cluster: cluster.clone(),
            role,
            weight,
            down_until_ms: AtomicU64::new(0),
            health: ArcSwap::from_pointee(Health::default()),
            state: AtomicU8::new(Health::default().state as u8),
            active: AtomicU32::new(0),
            last_heard_ms: AtomicU64::new(0),
            refusals: Default::default(),
        }
    }

    /// The monitor's (or an operator's) latest verdict.
    pub fn health(&self) -> arc_swap::Guard<Arc<Health>> {
        self.health.load()
    }

    pub fn set_health(&self, health: Arc<Health>) {
        self.state.store(health.state as u8, Ordering::Release);
        self.health.store(health);
    }

    /// The state of the latest verdict.
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            s if s == State::Up as u8 => State::Up,
            s if s == State::Lagging as u8 => State::Lagging,
            s if s == State::Down as u8 => State::Down,
            _ => State::Draining,
        }
    }

    /// The monitor got an answer from the backend just now.
    pub fn heard_from(&self) {
        self.last_heard_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Has the monitor had an answer from the backend within `window`? A backend that answers
    /// its health checks is alive even when a statement on it is slow; one that does not (a
    /// stopped process, a dead host with its TCP connections still open) is silent.
    pub fn heard_within(&self, window: std::time::Duration) -> bool {
        let last = self.last_heard_ms.load(Ordering::Relaxed);
        last != 0 && now_ms().saturating_sub(last) <= window.as_millis() as u64
    }

    /// May new work go here? Health says up, and no connect failed a moment ago.
    pub fn is_available(&self) -> bool {
        self.state() == State::Up && self.down_until_ms.load(Ordering::Relaxed) <= now_ms()
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

/// One master with its replicas: the main cluster (`[master]`, `[[replicas]]`) or a
/// `[[clusters]]` entry.
#[derive(Debug)]
pub struct Cluster {
    pub name: Arc<str>,
    pub master: Arc<Backend>,
    pub replicas: Vec<Arc<Backend>>,
}

/// An immutable view of the clusters.
#[derive(Debug)]
pub struct Topology {
    /// The main cluster first, then the `[[clusters]]` in file order.
    pub clusters: Vec<Cluster>,
    pub config: Arc<Config>,
}

/// Index of the main cluster in [`Topology::clusters`].
pub const MAIN: usize = 0;

impl Topology {
    /// Builds a snapshot from a config, reusing the backend objects of `previous` that have the
    /// same address, role and cluster so their health carries over.
    pub fn from_config(config: Arc<Config>, previous: Option<&Topology>) -> Self {
        let reuse = |cluster: &Arc<str>, addr: &str, role: Role, weight: u32| -> Arc<Backend> {
            let old = previous
                .and_then(|p| p.find(addr, role))
                .filter(|b| b.cluster == *cluster);
            match old {
                Some(b) if b.weight == weight => b.clone(),
                // Same server, new weight: keep what the monitor knows about it.
                Some(b) => {
                    let nb = Backend::new(cluster, addr, role, weight);
                    nb.set_health(b.health.load_full());
                    Arc::new(nb)
                }
                None => Arc::new(Backend::new(cluster, addr, role, weight)),
            }
        };
        let cluster =
            |name: &str, master: &crate::config::Backend, replicas: &[crate::config::Backend]| {
                // The name is shared with the previous snapshot's cluster when there is one, so
                // sessions compare names by pointer first.
                let name: Arc<str> = previous
                    .and_then(|p| p.clusters.iter().find(|c| &*c.name == name))
                    .map_or_else(|| Arc::from(name), |c| c.name.clone());
                Cluster {
                    master: reuse(&name, &master.address, Role::Master, 1),
                    replicas: replicas
                        .iter()
                        .map(|r| reuse(&name, &r.address, Role::Replica, r.weight))
                        .collect(),
                    name,
                }
            };
        let main = cluster(
            crate::config::MAIN_CLUSTER,
            &config.master,
            &config.replicas,
        );
        let others = config
            .clusters
            .iter()
            .map(|c| cluster(&c.name, &c.master, &c.replicas));
        Topology {
            clusters: std::iter::once(main).chain(others).collect(),
            config,
        }
    }

    /// The main cluster (`[master]` and `[[replicas]]`).
    pub fn main(&self) -> &Cluster {
        &self.clusters[MAIN]
    }

    /// The position of the cluster called `name`.
    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| &*c.name == name)
    }

    /// Every backend of every cluster, masters first within each cluster.
    pub fn backends(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.clusters
            .iter()
            .flat_map(|c| std::iter::once(&c.master).chain(c.replicas.iter()))
    }

    /// The backend object currently known under `address` in `role`, in any cluster
    /// (addresses are unique across clusters).
    pub fn find(&self, address: &str, role: Role) -> Option<&Arc<Backend>> {
        self.backends()
            .find(|b| b.address == address && b.role == role)
    }

    /// True if `backend` is still part of this topology in the same role and cluster.
    pub fn contains(&self, backend: &Backend) -> bool {
        self.clusters.iter().any(|c| {
            (Arc::ptr_eq(&c.name, &backend.cluster) || c.name == backend.cluster)
                && c.contains(backend)
        })
    }
}

impl Cluster {
    /// Picks an available replica, skipping `exclude`: the one with the fewest sessions per
    /// unit of weight (a random pick would leave eight clients split 6/2 as often as 4/4),
    /// ties broken at random.
    /// A replica for a session of `account`: by fewest sessions per weight, among those that
    /// are available, not in `exclude`, and not refusing the account's logins right now.
    pub fn pick_replica(&self, exclude: &[&str], account: &str) -> Option<Arc<Backend>> {
        let n = self.replicas.len();
        if n == 0 {
            return None;
        }
        let start = rand::rng().random_range(0..n);
        // (best backend, its sessions + 1, its weight)
        let mut best: Option<(&Arc<Backend>, u64, u64)> = None;
        for i in 0..n {
            let b = &self.replicas[(start + i) % n];
            if b.weight == 0
                || !b.is_available()
                || exclude.contains(&b.address.as_str())
                || b.refusals.holds_off_now(account)
            {
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

    /// True if `backend` is this cluster's master or one of its replicas (with a weight).
    /// Asked for every statement's connections: the object itself is found by pointer first
    /// (a reload keeps a backend's object unless it changed), by address otherwise.
    pub fn contains(&self, backend: &Backend) -> bool {
        let same = |b: &Arc<Backend>| std::ptr::eq(&**b, backend) || b.address == backend.address;
        match backend.role {
            Role::Master => same(&self.master),
            Role::Replica => self.replicas.iter().any(|r| r.weight > 0 && same(r)),
        }
    }
}
