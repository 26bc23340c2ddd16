//! Prometheus metrics and their HTTP endpoint (`[metrics] listen`, `GET /metrics`).
//!
//! Hot-path counters are resolved once (per route and statement kind) so counting a query is
//! an atomic add, not a label lookup. Backend gauges (state, lag, connections) are filled from
//! the topology snapshot when scraped. Label sets are bounded: routes, statement kinds and
//! configured backend addresses; never SQL text.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info, warn};

use crate::classify::Kind;
use crate::topology::{Shared, State};

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
    pub read_retries: IntCounter,
    pub unclassified: IntCounter,
    pub reloads: IntCounterVec,
    /// Reads after a write served by a replica known to have it.
    pub consistency_fresh: IntCounter,
    /// Reads that waited for a replica to catch up, and served there.
    pub consistency_waited: IntCounter,
    /// Reads sent to the master because no replica caught up in time.
    pub consistency_master: IntCounter,
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
            &["backend"],
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
                &["backend", "role", "state"],
            ),
            replication_lag: gauge_vec(
                "rwsplit_replication_lag_seconds",
                "Seconds_Behind_Master of each replica",
                &["backend"],
            ),
            backend_connections: gauge_vec(
                "rwsplit_backend_connections",
                "Backend connections open, by backend",
                &["backend"],
            ),
            backend_idle: gauge_vec(
                "rwsplit_backend_connections_idle",
                "Backend connections idle in the pool, by backend",
                &["backend"],
            ),
            read_retries: counter(
                "rwsplit_read_retries_total",
                "Reads retried on another backend after a failure before any byte was sent",
            ),
            unclassified: counter(
                "rwsplit_unclassified_total",
                "Statements the classifier could not place (sent to the master)",
            ),
            reloads,
            consistency_fresh: counter("rwsplit_consistency_fresh_replica_reads_total", "Reads after a write served by a replica known to have applied it"),
            consistency_waited: counter("rwsplit_consistency_waited_reads_total", "Reads after a write that waited for a replica to apply it (MASTER_GTID_WAIT)"),
            consistency_master: counter("rwsplit_consistency_master_reads_total", "Reads sent to the master because no replica had applied the session's writes in time"),
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

    /// The text exposition, with backend gauges refreshed from `shared`.
    pub fn render(&self, shared: &Shared) -> String {
        let topo = shared.topology.load_full();
        self.backend_state.reset();
        self.replication_lag.reset();
        for b in std::iter::once(&topo.master).chain(topo.replicas.iter()) {
            let h = b.health.load();
            self.backend_idle
                .with_label_values(&[&b.address])
                .set(shared.pool.idle_count(&b.address) as i64);
            for s in [State::Up, State::Lagging, State::Down, State::Draining] {
                self.backend_state
                    .with_label_values(&[&b.address, b.role.as_str(), s.as_str()])
                    .set((h.state == s) as i64);
            }
            if let Some(lag) = h.lag_seconds {
                if b.role == crate::topology::Role::Replica {
                    self.replication_lag
                        .with_label_values(&[&b.address])
                        .set(lag as i64);
                }
            }
        }
        self.reloads.with_label_values(&["ok"]).reset();
        self.reloads
            .with_label_values(&["ok"])
            .inc_by(shared.reloads_ok.load(std::sync::atomic::Ordering::Relaxed));
        self.reloads.with_label_values(&["failed"]).reset();
        self.reloads.with_label_values(&["failed"]).inc_by(
            shared
                .reloads_failed
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Serves `GET /metrics` on `listen` until the runtime stops. A deliberately tiny HTTP/1.1
/// responder: one request per connection, no keep-alive, bounded request size.
pub async fn serve(listen: String, shared: Arc<Shared>) {
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            warn!(listen = %listen, error = %e, "cannot listen for metrics");
            return;
        }
    };
    info!(listen = %listen, "metrics on /metrics");
    loop {
        let Ok((mut stream, peer)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut req = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let line = req.split(|&b| b == b'\n').next().unwrap_or_default();
            let (status, body) =
                if line.starts_with(b"GET /metrics ") || line.starts_with(b"GET /metrics?") {
                    ("200 OK", METRICS.render(&shared))
                } else {
                    ("404 Not Found", "not found: try /metrics\n".to_string())
                };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.shutdown().await;
            debug!(client = %peer, "metrics scraped");
        });
    }
}
