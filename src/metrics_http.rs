//! The `/metrics` HTTP endpoint (`[metrics] listen`): refreshes the backend gauges (state,
//! lag, idle pool connections, accounts that bypass read_only, reloads) from the runtime
//! state and serves the exposition.
//! The counters themselves live in `metrics`, which depends on nothing of the runtime.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info, warn};

use crate::metrics::METRICS;
use crate::privileges::Verdict;
use crate::shared::Shared;
use crate::topology::State;

/// The text exposition, with backend gauges refreshed from `shared`.
pub fn render(shared: &Shared) -> String {
    let m = &*METRICS;
    let topo = shared.topology.load_full();
    m.backend_state.reset();
    m.replication_lag.reset();
    for b in topo.backends() {
        let h = b.health();
        m.backend_idle
            .with_label_values(&[&*b.cluster, &b.address])
            .set(shared.pool.idle_count(&b.address) as i64);
        for s in [State::Up, State::Lagging, State::Down, State::Draining] {
            m.backend_state
                .with_label_values(&[&*b.cluster, &b.address, b.role.as_str(), s.as_str()])
                .set((h.state == s) as i64);
        }
        if let Some(lag) = h.lag_seconds {
            if b.role == crate::topology::Role::Replica {
                m.replication_lag
                    .with_label_values(&[&*b.cluster, &b.address])
                    .set(lag as i64);
            }
        }
    }
    m.account_bypasses_read_only.reset();
    for (cluster, replica) in topo
        .clusters
        .iter()
        .flat_map(|c| c.replicas.iter().map(move |r| (&c.name, r)))
    {
        for f in shared
            .read_only_bypass
            .get(&replica.address)
            .iter()
            .flat_map(|f| f.iter())
        {
            let value = match f.verdict {
                Verdict::Bypasses(_) => 1,
                Verdict::Clean => 0,
                Verdict::Unknown(_) => -1,
            };
            m.account_bypasses_read_only
                .with_label_values(&[&**cluster, &replica.address, &f.account])
                .set(value);
        }
    }
    m.rule_hits.reset();
    for (i, (_, hits)) in topo.config.rules.list().enumerate() {
        m.rule_hits
            .with_label_values(&[&i.to_string()])
            .set(i64::try_from(hits).unwrap_or(i64::MAX));
    }
    m.reloads.with_label_values(&["ok"]).reset();
    m.reloads
        .with_label_values(&["ok"])
        .inc_by(shared.reloads_ok.load(std::sync::atomic::Ordering::Relaxed));
    m.reloads.with_label_values(&["failed"]).reset();
    m.reloads.with_label_values(&["failed"]).inc_by(
        shared
            .reloads_failed
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    m.gather_text()
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
        let (mut stream, peer) = crate::server::accept(&listener, "metrics").await;
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
                    ("200 OK", render(&shared))
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
