//! Pool of idle, authenticated backend connections, so short-lived clients (PHP connects per
//! web request) do not pay a backend connect and login each time.
//!
//! A connection goes back to the pool when its client session ends, after a
//! COM_RESET_CONNECTION has cleared every piece of session state on the server (variables,
//! temporary tables, prepared statements, locks, open transaction) — unless it only logged in
//! or only ran plain reads that left nothing behind (`BackendConn::dirty` is false), which is
//! the common case for a replica connection of a short-lived client: then it is kept as is. It is only handed to a
//! session with the same backend, user, collation and client capabilities (the capabilities
//! shape the wire format the raw relay passes through), and only after a non-blocking check
//! that the server has not closed it in the meantime.
//!
//! With `--threads N` the proxy runs N single-threaded runtimes (`cli`), and a backend
//! connection's socket is registered with the reactor of the runtime that opened it: used from
//! another runtime it still works, but every readiness event then crosses threads (a wake-up of
//! the other thread per response). So the pool has one shard per runtime ([`set_shard`] names
//! the current thread's), a session takes and returns connections on its own runtime's shard
//! only, and the per-backend bound on idle connections is checked over all shards together.

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::backend::BackendConn;
use crate::protocol::command::{COM_INIT_DB, COM_RESET_CONNECTION};

/// An idle connection older than this is closed instead of reused (well below wait_timeout).
const MAX_IDLE_AGE: Duration = Duration::from_secs(60);

/// What makes two backend connections interchangeable (everything a login fixes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub address: String,
    pub user: String,
    pub collation: u8,
    pub capabilities: u32,
    /// The current database: COM_RESET_CONNECTION keeps it, and there is no way to go back to
    /// "no database", so only a session in the same database may take the connection.
    pub db: Option<String>,
    /// The recorded session state the connection carries (`BackendConn::state_sig`), 0 for none.
    pub state: u64,
}

type Idle = foldhash::HashMap<PoolKey, Vec<(BackendConn, Instant)>>;

/// Idle connections to `address`, over all keys.
fn idle_on(idle: &Idle, address: &str) -> usize {
    idle.iter()
        .filter(|(k, _)| k.address == address)
        .map(|(_, v)| v.len())
        .sum()
}

thread_local! {
    /// The pool shard of the runtime this thread runs (0 unless [`set_shard`] said otherwise).
    static SHARD: Cell<usize> = const { Cell::new(0) };
}

/// Names the pool shard of the runtime on this thread: called once by each worker thread
/// before its runtime starts (`cli`), so every connection it pools stays with its reactor.
pub fn set_shard(shard: usize) {
    SHARD.with(|s| s.set(shard));
}

/// The runtime this thread runs, as [`set_shard`] named it: other per-runtime holders of
/// backend connections (the read-your-writes probe) key their slots by it.
pub fn shard() -> usize {
    SHARD.with(Cell::get)
}

pub struct Pool {
    /// One map of idle connections per runtime (see the module comment).
    shards: Vec<Mutex<Idle>>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(1)
    }
}

impl Pool {
    /// A pool for `shards` runtimes (at least one).
    pub fn new(shards: usize) -> Self {
        Pool {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
        }
    }

    /// The index of the calling thread's shard.
    fn own(&self) -> usize {
        SHARD.with(Cell::get).min(self.shards.len() - 1)
    }

    /// Every shard, locked in index order (the one order used, so two threads cannot
    /// deadlock), for the checks that count over all of them.
    fn lock_all(&self) -> Vec<MutexGuard<'_, Idle>> {
        self.shards
            .iter()
            .map(|m| m.lock().expect("pool lock"))
            .collect()
    }

    /// A live idle connection for `key`, if there is one.
    pub fn take(&self, key: &PoolKey) -> Option<BackendConn> {
        loop {
            let (mut conn, since) = {
                let mut idle = self.shards[self.own()].lock().expect("pool lock");
                let list = idle.get_mut(key)?;
                let item = list.pop();
                if list.is_empty() {
                    idle.remove(key);
                }
                item?
            };
            if since.elapsed() < MAX_IDLE_AGE && conn.check_alive() {
                conn.broken = false;
                return Some(conn);
            }
            conn.broken = true;
            tokio::spawn(conn.quit());
        }
    }

    /// Resets `conn` and keeps it for the next session with the same key. Runs after the
    /// client is gone, so the reset round trip costs the client nothing.
    /// `max_idle`: idle connections kept per backend (`[limits] max_idle_backend_connections`).
    pub async fn give_back(&self, mut key: PoolKey, mut conn: BackendConn, max_idle: usize) {
        if conn.broken {
            return;
        }
        key.state = 0;
        if Self::needs_no_reset(&key, &conn) {
            self.keep_now(key, conn, max_idle).await;
            return;
        }
        match conn.run_simple(&[COM_RESET_CONNECTION]).await {
            Ok(Ok(_)) => {}
            _ => {
                conn.quit().await;
                return;
            }
        }
        // Re-select the database the key promises: the proxy's idea of it may be stale
        // (a DROP DATABASE leaves the server with none).
        if let Some(db) = &key.db {
            let mut p = vec![COM_INIT_DB];
            p.extend_from_slice(db.as_bytes());
            if !matches!(conn.run_simple(&p).await, Ok(Ok(_))) {
                conn.quit().await;
                return;
            }
        }
        if !conn.restore_login_state().await {
            conn.quit().await;
            return;
        }
        conn.stmts.clear();
        conn.applied = 0;
        conn.dirty = false;
        conn.state_sig = 0;
        self.keep_now(key, conn, max_idle).await;
    }

    /// Only logged in, or only plain reads since: nothing to reset (saves two round trips per
    /// short-lived client, e.g. PHP's connect-query-disconnect), and no task to run it in.
    pub fn needs_no_reset(key: &PoolKey, conn: &BackendConn) -> bool {
        !conn.broken
            && !conn.dirty
            && conn.state_sig == 0
            && conn.stmts.is_empty()
            && conn.multi_statements_off == conn.login_multi_statements_off()
            && conn.db == key.db
    }

    async fn keep_now(&self, key: PoolKey, conn: BackendConn, max_idle: usize) {
        for conn in self.keep(key, conn, max_idle) {
            conn.quit().await;
        }
    }

    /// Keeps a connection that needs no reset: one of a session that is still open but idle
    /// (multiplexing) with the session state it carries (`key.state`; the caller has checked
    /// it is clean), or one that `needs_no_reset`. Returns the connections to close: this
    /// one if the backend has its share of idle connections, and any that expired.
    pub fn keep(&self, key: PoolKey, mut conn: BackendConn, max_idle: usize) -> Vec<BackendConn> {
        conn.lease = None;
        if let [only] = &self.shards[..] {
            // One runtime: no list of guards to allocate per returned connection.
            let mut guard = [only.lock().expect("pool lock")];
            return Self::keep_locked(&mut guard, 0, key, conn, max_idle);
        }
        let own = self.own();
        Self::keep_locked(&mut self.lock_all(), own, key, conn, max_idle)
    }

    /// `keep` with every shard locked; `own` is the caller's.
    fn keep_locked(
        shards: &mut [MutexGuard<'_, Idle>],
        own: usize,
        key: PoolKey,
        conn: BackendConn,
        max_idle: usize,
    ) -> Vec<BackendConn> {
        let (extra, expired) = {
            let idle_total = |shards: &[MutexGuard<'_, Idle>]| -> usize {
                shards.iter().map(|idle| idle_on(idle, &key.address)).sum()
            };
            let mut expired = Vec::new();
            if idle_total(shards) >= max_idle {
                // Full: connections nobody took for MAX_IDLE_AGE leave first, so a key no
                // session uses any more does not keep the backend's share. (Those of other
                // runtimes are closed from this one: a QUIT, rare, and it works across
                // runtimes, only with a cross-thread wake-up.)
                for idle in shards.iter_mut() {
                    idle.retain(|_, list| {
                        let (old, fresh): (Vec<_>, Vec<_>) = std::mem::take(list)
                            .into_iter()
                            .partition(|(_, since)| since.elapsed() >= MAX_IDLE_AGE);
                        expired.extend(old.into_iter().map(|(c, _)| c));
                        *list = fresh;
                        !list.is_empty()
                    });
                }
            }
            // Sessions with unusual state could each start a key of their own: bound the
            // backend's idle connections as a whole too (over every runtime's shard).
            if idle_total(shards) < max_idle {
                shards[own]
                    .entry(key)
                    .or_default()
                    .push((conn, Instant::now()));
                (None, expired)
            } else {
                (Some(conn), expired)
            }
        };
        extra.into_iter().chain(expired).collect()
    }

    /// The monitor found `address` down: its idle connections are closed (in the background:
    /// a silent server must not stall the caller).
    pub fn drop_backend(&self, address: &str) {
        let dropped: Vec<BackendConn> = self
            .lock_all()
            .iter_mut()
            .flat_map(|idle| {
                let keys: Vec<PoolKey> = idle
                    .keys()
                    .filter(|k| k.address == address)
                    .cloned()
                    .collect();
                keys.into_iter()
                    .filter_map(|k| idle.remove(&k))
                    .flatten()
                    .map(|(c, _)| c)
                    .collect::<Vec<_>>()
            })
            .collect();
        for mut conn in dropped {
            conn.broken = true;
            tokio::spawn(conn.quit());
        }
    }

    /// Idle connections per backend address (admin/metrics).
    pub fn idle_count(&self, address: &str) -> usize {
        self.lock_all()
            .iter()
            .map(|idle| idle_on(idle, address))
            .sum()
    }
}
