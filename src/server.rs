//! The listener: accepts client connections and runs one session task per client.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::protocol::error::MyError;
use crate::protocol::packet::PacketStream;
use crate::session::Session;
use crate::topology::Shared;

/// Accepts clients until the task is cancelled.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    info!(listen = %listener.local_addr()?, "rwsplit accepting clients");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let max = shared.topology.load().config.limits.max_client_connections as u64;
        let current = shared.clients.fetch_add(1, Ordering::Relaxed);
        let m = &crate::metrics::METRICS;
        let shared = shared.clone();
        tokio::spawn(async move {
            if current >= max {
                m.clients_refused.inc();
                // Same answer a server gives: ERR 1040 in place of the greeting.
                let mut client = PacketStream::new(stream, 1024);
                let _ = client
                    .write_packet(&MyError::too_many_connections().to_payload())
                    .await;
                warn!(client = %peer, max, "connection refused: max_client_connections reached");
            } else {
                m.clients_total.inc();
                m.clients_current.inc();
                Session::run(shared.clone(), stream, peer).await;
                m.clients_current.dec();
            }
            shared.clients.fetch_sub(1, Ordering::Relaxed);
        });
    }
}
