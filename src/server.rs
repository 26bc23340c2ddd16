//! The listener: accepts client connections and runs one session task per client.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::log_limit;
use crate::protocol::error::MyError;
use crate::protocol::packet::PacketStream;
use crate::session::Session;
use crate::shared::Shared;

/// Connections the kernel may hold for the proxy before it accepts them. A burst of clients
/// (every PHP worker of a web node reconnecting at once) must not overflow it: a client whose
/// connection is dropped from a full queue sees it established and then waits for a greeting
/// that never comes. The kernel caps it at net.core.somaxconn.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the client listener (`listen` is host:port; a name is resolved, first address wins).
pub async fn bind(listen: &str) -> std::io::Result<TcpListener> {
    Ok(bind_all(listen, 1).await?.remove(0))
}

/// Binds `count` client listeners on the same address, one per runtime (`--threads N`): with
/// more than one, each has SO_REUSEPORT and the kernel spreads new connections over them, so
/// a connection is accepted, served and closed by one thread without waking another. (The
/// price of SO_REUSEPORT: a second process of the same user could bind the port too instead
/// of failing with "address in use"; a single listener does without it.) A port of 0 is
/// resolved by the first bind and the others take the same one.
pub async fn bind_all(listen: &str, count: usize) -> std::io::Result<Vec<TcpListener>> {
    let mut addr = tokio::net::lookup_host(listen)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{listen}: no address")))?;
    let reuseport = count > 1;
    let mut listeners = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let listener = bind_one(addr, reuseport)?;
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

fn bind_one(addr: std::net::SocketAddr, reuseport: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if reuseport {
        socket.set_reuseport(true)?;
    }
    // Linux copies TCP_NODELAY from the listening socket to every socket `accept` returns:
    // set once here, it saves a setsockopt per client connection (a PHP client connects once
    // per request). Sessions rely on it: their answers are written whole, and Nagle would hold
    // back the last segment of one until the client's delayed ACK.
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accepts clients until the task is cancelled.
/// The next connection of `listener`. A failed accept (EMFILE, ENFILE, ENOBUFS: the process
/// or the system is out of descriptors or memory) is logged, rate-limited, and followed by a
/// pause: the pending connection stays in the kernel's queue, and accepting again at once
/// would fail again at once — a loop that spins a core. Every listener (clients, admin,
/// metrics) accepts through this.
pub async fn accept(listener: &TcpListener, what: &str) -> (tokio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(x) => return x,
            Err(e) => {
                if let Some(suppressed) = log_limit::ACCEPT_FAILED.check(what) {
                    warn!(listener = what, error = %e, suppressed, "accept failed");
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

pub async fn serve(listener: TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    info!(listen = %listener.local_addr()?, "rwsplit accepting clients");
    loop {
        let (stream, peer) = accept(&listener, log_limit::LISTENER).await;
        let max = shared.topology.load().config.limits.max_client_connections as u64;
        let slot = ClientSlot::take(&shared);
        let m = &crate::metrics::METRICS;
        let shared = shared.clone();
        tokio::spawn(async move {
            if slot.held_before >= max {
                m.clients_refused.inc();
                // Same answer a server gives: ERR 1040 in place of the greeting.
                let mut client = PacketStream::new(stream, 1024);
                let _ = client
                    .write_packet(&MyError::too_many_connections().to_greeting_payload())
                    .await;
                if let Some(suppressed) = log_limit::CLIENT_REFUSED.check(log_limit::LISTENER) {
                    warn!(client = %peer, max, suppressed, "connection refused: max_client_connections reached");
                }
            } else {
                m.clients_total.inc();
                let _current = CurrentClient::count();
                // Boxed: the session future is large (~6 KiB) and would otherwise be copied
                // several times as the task is created and finishes.
                Box::pin(Session::run(shared, stream, peer)).await;
            }
            drop(slot);
        });
    }
}

/// One client connection counted against `max_client_connections`; given back when dropped,
/// also when the session task panics.
struct ClientSlot {
    shared: Arc<Shared>,
    /// Connections counted before this one.
    held_before: u64,
}

impl ClientSlot {
    fn take(shared: &Arc<Shared>) -> Self {
        ClientSlot {
            shared: shared.clone(),
            held_before: shared.clients.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.shared.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The `clients_current` gauge for one session, decremented when dropped (panics included).
struct CurrentClient;

impl CurrentClient {
    fn count() -> Self {
        crate::metrics::METRICS.clients_current.inc();
        CurrentClient
    }
}

impl Drop for CurrentClient {
    fn drop(&mut self) {
        crate::metrics::METRICS.clients_current.dec();
    }
}

#[cfg(test)]
mod tests {
    /// Sessions do not set TCP_NODELAY themselves: the accepted socket must have it already.
    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = super::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(accepted.nodelay().unwrap());
    }

    /// `--threads N`: N listeners on one port (port 0 resolved once), each accepting.
    #[tokio::test]
    async fn listeners_share_one_port() {
        let listeners = super::bind_all("127.0.0.1:0", 3).await.unwrap();
        let addr = listeners[0].local_addr().unwrap();
        assert!(listeners.iter().all(|l| l.local_addr().unwrap() == addr));
        let mut clients = Vec::new();
        for _ in 0..32 {
            clients.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let mut accepted = 0;
        for l in &listeners {
            while let Ok(Ok(_)) =
                tokio::time::timeout(std::time::Duration::from_millis(50), l.accept()).await
            {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 32);
    }
}
