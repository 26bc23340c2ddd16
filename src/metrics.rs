//! Prometheus metrics (served by `metrics_http`). A leaf: nothing here knows the runtime.
//!
//! Hot-path counters are resolved once (per route and statement kind) so counting a query is
//! an atomic add, not a label lookup. Backend gauges (state, lag, connections) are filled from
//! the topology snapshot when scraped. Label sets are bounded: routes, statement kinds and
//! configured backend addresses; never SQL text.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::classify::Kind;

/// Where a statement went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteLabel {
    Master = 0,
    Replica = 1,
    /// Meant for a replica, served by the master (none healthy, or fallback on failure).
    Fallback = 2,
}

const ROUTES: [&str; 3] = ["master", "replica", "fallback"];

pub struct Metrics {
    pub registry: Registry,
    pub clients_current: IntGauge,
    pub clients_total: IntCounter,
    pub clients_refused: IntCounter,
    queries: Vec<Vec<IntCounter>>,
    pub query_seconds: HistogramVec,
    pub bytes_in: IntCounter,
    pub bytes_out: IntCounter,
    pub backend_state: IntGaugeVec,
    pub replication_lag: IntGaugeVec,
    pub backend_connections: IntGaugeVec,
    pub backend_idle: IntGaugeVec,
    /// Per replica and account the proxy logs in with: 1 may write despite read_only, 0 may
    /// not, -1 could not be checked (the log says why). Filled at scrape time.
    pub account_bypasses_read_only: IntGaugeVec,
    /// Statements each `[[rules]]` entry matched (label: its 0-based position), copied from the
    /// rules' own counters at scrape time: no per-statement cost, and a gauge because a reload
    /// that changes a rule starts its count again.
    pub rule_hits: IntGaugeVec,
    pub read_retries: IntCounter,
    /// Statements sent to a replica as reads that the replica refused as read-only (1290,
    /// 1836) before running them, and that then ran on the master.
    pub read_only_reroutes: IntCounter,
    /// Logins a replica refused for an account the proxy had checked.
    pub logins_refused: IntCounter,
    pub unclassified: IntCounter,
    pub reloads: IntCounterVec,
    /// Reads after a write served by a replica known to have it.
    pub consistency_fresh: IntCounter,
    /// Reads that waited for a replica to catch up, and served there.
    pub consistency_waited: IntCounter,
    /// Reads sent to the master because no replica caught up in time.
    pub consistency_master: IntCounter,
    /// Writes whose position the server reported in its OK (no query needed to learn it).
    pub consistency_tracked: IntCounter,
    pub consistency_wait: prometheus::Histogram,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        let reg = |c: Box<dyn prometheus::core::Collector>| {
            registry.register(c).expect("metric registered once")
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            reg(Box::new(g.clone()));
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            reg(Box::new(c.clone()));
            c
        };
        let queries_vec = IntCounterVec::new(
            Opts::new(
                "rwsplit_queries_total",
                "Statements and commands relayed, by route and statement kind",
            ),
            &["route", "kind"],
        )
        .expect("valid metric");
        reg(Box::new(queries_vec.clone()));
        let queries = ROUTES
            .iter()
            .map(|r| {
                Kind::ALL
                    .iter()
                    .map(|k| queries_vec.with_label_values(&[r, k.as_str()]))
                    .collect()
            })
            .collect();
        let query_seconds = HistogramVec::new(
            HistogramOpts::new(
                "rwsplit_query_duration_seconds",
                "Time from a command's arrival to the end of its response, by backend",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0, 10.0,
            ]),
            &["cluster", "backend"],
        )
        .expect("valid metric");
        reg(Box::new(query_seconds.clone()));
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            reg(Box::new(g.clone()));
            g
        };
        let reloads = IntCounterVec::new(
            Opts::new("rwsplit_reloads_total", "Configuration reloads by result"),
            &["result"],
        )
        .expect("valid metric");
        reg(Box::new(reloads.clone()));
        Metrics {
            clients_current: gauge("rwsplit_client_connections", "Client connections open now"),
            clients_total: counter(
                "rwsplit_client_connections_total",
                "Client connections accepted",
            ),
            clients_refused: counter(
                "rwsplit_client_connections_refused_total",
                "Client connections refused (max_client_connections)",
            ),
            queries,
            query_seconds,
            bytes_in: counter(
                "rwsplit_client_bytes_received_total",
                "Bytes of commands received from clients",
            ),
            bytes_out: counter(
                "rwsplit_client_bytes_sent_total",
                "Bytes of responses relayed to clients",
            ),
            backend_state: gauge_vec(
                "rwsplit_backend_state",
                "1 for the backend's current health state",
                &["cluster", "backend", "role", "state"],
            ),
            replication_lag: gauge_vec(
                "rwsplit_replication_lag_seconds",
                "Seconds_Behind_Master of each replica",
                &["cluster", "backend"],
            ),
            backend_connections: gauge_vec(
                "rwsplit_backend_connections",
                "Backend connections open, by backend",
                &["cluster", "backend"],
            ),
            backend_idle: gauge_vec(
                "rwsplit_backend_connections_idle",
                "Backend connections idle in the pool, by backend",
                &["cluster", "backend"],
            ),
            account_bypasses_read_only: gauge_vec(
                "rwsplit_backend_account_bypasses_read_only",
                "1 if the account may write on this read_only replica (READ_ONLY ADMIN, SUPER before MariaDB 10.11, ALL PRIVILEGES), 0 if not, -1 if it could not be checked",
                &["cluster", "backend", "account"],
            ),
            rule_hits: gauge_vec(
                "rwsplit_rule_hits",
                "Statements matched by each [[rules]] entry since it was loaded, by position",
                &["rule"],
            ),
            read_retries: counter(
                "rwsplit_read_retries_total",
                "Reads retried on another backend after a failure before any byte was sent",
            ),
            logins_refused: counter(
                "rwsplit_backend_logins_refused_total",
                "Logins a replica refused for an account the proxy had checked (SHOW BACKENDS names them)",
            ),
            read_only_reroutes: counter(
                "rwsplit_read_only_reroutes_total",
                "Reads a replica refused as read-only (1290/1836) before running them; run on the master",
            ),
            unclassified: counter(
                "rwsplit_unclassified_total",
                "Statements the classifier could not place (sent to the master)",
            ),
            reloads,
            consistency_fresh: counter("rwsplit_consistency_fresh_replica_reads_total", "Reads after a write served by a replica known to have applied it"),
            consistency_waited: counter("rwsplit_consistency_waited_reads_total", "Reads after a write that waited for a replica to apply it (MASTER_GTID_WAIT)"),
            consistency_master: counter("rwsplit_consistency_master_reads_total", "Reads sent to the master because no replica had applied the session's writes in time"),
            consistency_tracked: counter("rwsplit_consistency_tracked_writes_total", "Writes whose GTID the master reported in its OK packet (session tracker): read-your-writes knew their position without a query"),
            consistency_wait: {
                let h = prometheus::Histogram::with_opts(
                    HistogramOpts::new("rwsplit_consistency_wait_seconds", "Time reads spent waiting for a replica to catch up")
                        .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]),
                )
                .expect("valid metric");
                reg(Box::new(h.clone()));
                h
            },
            registry,
        }
    }

    /// Counts one relayed statement.
    #[inline]
    pub fn query(&self, route: RouteLabel, kind: Kind) {
        self.queries[route as usize][kind as usize].inc();
    }

    /// The text exposition of everything registered.
    pub fn gather_text(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
