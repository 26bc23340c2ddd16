//! The proxy's runtime state, shared by every session and background task: the current
//! topology snapshot, the session registry, the connection pool, passthrough accounts, the
//! read-your-writes positions, digests, TLS setup. Kept apart from the topology types so that
//! `backend`, `pool` and `accounts` can use those types without depending on this.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::protocol::handshake::ServerInfo;
use crate::topology::Topology;

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
    /// Application accounts loaded from the master (auth passthrough).
    pub accounts: crate::accounts::Accounts,
    /// Idle authenticated backend connections for the next client session.
    pub pool: crate::pool::Pool,
    /// Read-your-writes positions of each cluster, by cluster name (`cluster_positions`).
    positions: std::sync::Mutex<foldhash::HashMap<Arc<str>, Arc<Positions>>>,
    /// Normalized statements with their timings (admin SHOW DIGESTS).
    pub digests: crate::digest::Digests,
    pub reloads_failed: AtomicU64,
    /// The latest read_only check of every replica: accounts the proxy logs in with that may
    /// write there (`privileges::watch` fills it; admin and metrics show it).
    pub read_only_bypass: crate::privileges::Reports,
    /// Certificates and TLS settings (`[tls]`), replaced on every reload so renewed certificate
    /// files are picked up by new connections.
    pub tls: ArcSwap<crate::tls::TlsSetup>,
    /// Failed logins by address and account (client and admin ports alike).
    pub login_throttle: crate::login_throttle::LoginThrottle,
    /// The servers' own session-tracking settings (`@@global.session_track_*`), read from the
    /// first backend logged in to: what a client sees of session state until it sets its own.
    pub track_defaults: std::sync::OnceLock<crate::protocol::tracker::ClientView>,
    /// A session is asking for `track_defaults` (one at a time).
    pub track_defaults_asked: std::sync::atomic::AtomicBool,
    /// The master's `max_allowed_packet` (0 until read): `[limits] max_packet_size = "auto"`.
    pub server_max_packet: AtomicU64,
}

impl Shared {
    /// `runtimes`: how many runtimes serve clients (`--threads`), one pool shard each.
    pub fn new(config: Config, tls: crate::tls::TlsSetup, runtimes: usize) -> Arc<Self> {
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
            positions: Default::default(),
            pool: crate::pool::Pool::new(runtimes),
            accounts: Default::default(),
            reloads_failed: AtomicU64::new(0),
            read_only_bypass: Default::default(),
            tls: ArcSwap::from_pointee(tls),
            login_throttle: Default::default(),
            track_defaults: Default::default(),
            track_defaults_asked: Default::default(),
            server_max_packet: AtomicU64::new(0),
        })
    }

    /// The largest client packet accepted (`[limits] max_packet_size`; with "auto", the
    /// servers' `max_allowed_packet` once known).
    pub fn max_packet(&self, limits: &crate::config::Limits) -> usize {
        let learned = self.server_max_packet.load(Ordering::Relaxed);
        if limits.max_packet_auto && learned > 0 {
            learned as usize
        } else {
            limits.max_packet_size as usize
        }
    }

    /// A client's view of session tracking at login (`protocol::tracker`): the servers'
    /// settings once known, MariaDB's defaults before.
    pub fn track_view(&self, capability: bool) -> crate::protocol::tracker::ClientView {
        let mut v = self
            .track_defaults
            .get()
            .cloned()
            .unwrap_or_else(|| crate::protocol::tracker::ClientView::mariadb_defaults(false));
        v.capability = capability;
        v
    }

    /// Installs a new topology and tells the sessions.
    pub fn swap(&self, topology: Topology) {
        self.topology.store(Arc::new(topology));
        self.topology_changed();
    }

    /// The topology or a backend's health changed: bumps the version (the monitor and the
    /// sessions read it) and wakes the idle sessions so they re-pick their backends.
    pub fn topology_changed(&self) {
        self.version.send_modify(|v| *v += 1);
        self.registry.wake_all();
    }

    /// Starts the drain: sessions finish their running statement and close.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        self.registry.wake_all();
    }

    /// The shared read-your-writes positions of the cluster called `name` (created at first
    /// use; kept across reloads, also when its master changes: GTIDs carry over a failover).
    /// One per cluster: GTIDs of two clusters' masters are not comparable.
    pub fn cluster_positions(&self, name: &Arc<str>) -> Arc<Positions> {
        let mut map = self.positions.lock().expect("positions lock");
        map.entry(name.clone()).or_default().clone()
    }

    /// The proxy's own connection ids, shown to clients in the greeting.
    pub fn next_connection_id(&self) -> u32 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// What read-your-writes shares between the sessions of one cluster (consistency = "global").
#[derive(Default)]
pub struct Positions {
    /// Newest GTID committed through this proxy by any session.
    pub global_gtid: std::sync::Mutex<crate::gtid::GtidPos>,
    /// Writes sent whose position is not in `global_gtid` yet.
    pub writes_in_flight: crate::writes_in_flight::WritesInFlight,
    /// The proxy's own connection to the cluster's master for reading its binlog position,
    /// one per runtime (`pool::shard`): a connection is served by the reactor of the runtime
    /// that opened it.
    pub gtid_probe: std::sync::Mutex<foldhash::HashMap<usize, crate::backend::BackendConn>>,
}
