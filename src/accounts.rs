//! Auth passthrough (`[auth] passthrough = true`): application accounts and their
//! mysql_native_password hashes are read from the master's `mysql.user` with the monitor
//! account, so proxy.toml need not hold application passwords. A client's answer is checked
//! against the stored hash, and the SHA1(password) it reveals (never the password) answers the
//! backends' challenges. The list is reloaded when a login does not match (rate-limited), so a
//! new account works at once; a dropped one is refused by the backend at login even before
//! the next reload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tracing::{info, warn};

use crate::protocol::auth::{self, Credential};
use crate::topology::Topology;

/// At most one reload of the account list per this interval: failed logins queue behind it
/// instead of hammering the master.
const MIN_RELOAD_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Default)]
pub struct Accounts {
    /// user name → stored hashes (an account may exist for several hosts).
    hashes: ArcSwap<HashMap<String, Vec<[u8; 20]>>>,
    last_load: Mutex<Option<Instant>>,
    /// Serializes reloads.
    reloading: tokio::sync::Mutex<()>,
}

impl Accounts {
    /// Verifies a mysql_native_password answer for `user` against the known hashes.
    pub fn verify(&self, user: &str, scramble: &[u8; 20], response: &[u8]) -> Option<Credential> {
        let map = self.hashes.load();
        map.get(user)?.iter().find_map(|stage2| {
            auth::recover_stage1(scramble, stage2, response).map(|stage1| Credential::NativeHash {
                stage1,
                stage2: *stage2,
            })
        })
    }

    /// Reloads the list from the master, at most once per `MIN_RELOAD_INTERVAL` (a login that
    /// arrives sooner waits for the next slot, so an account created a moment ago still
    /// works). Returns whether the list was loaded.
    pub async fn reload(&self, topo: &Topology, tls: Arc<crate::tls::TlsSetup>) -> bool {
        let _one_at_a_time = self.reloading.lock().await;
        let since = self
            .last_load
            .lock()
            .expect("accounts lock")
            .map(|t| t.elapsed());
        if let Some(since) = since.filter(|s| *s < MIN_RELOAD_INTERVAL) {
            tokio::time::sleep(MIN_RELOAD_INTERVAL - since).await;
        }
        *self.last_load.lock().expect("accounts lock") = Some(Instant::now());
        match load(topo, tls).await {
            Ok(map) => {
                info!(
                    accounts = map.len(),
                    "auth passthrough: accounts loaded from the master"
                );
                self.hashes.store(map.into());
                true
            }
            Err(e) => {
                warn!(error = %e, "auth passthrough: cannot load accounts from the master");
                false
            }
        }
    }
}

async fn load(
    topo: &Topology,
    tls: Arc<crate::tls::TlsSetup>,
) -> Result<HashMap<String, Vec<[u8; 20]>>, String> {
    let m = topo
        .config
        .monitor
        .as_ref()
        .ok_or("[monitor] is required for auth passthrough")?;
    let mut conn = crate::backend::connect_monitor(topo.main().master.clone(), m, tls).await?;
    let rows = conn
        .query_rows("SELECT User, Password FROM mysql.user")
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    conn.quit().await;
    let mut map: HashMap<String, Vec<[u8; 20]>> = HashMap::new();
    for row in rows.rows {
        let (Some(Some(user)), Some(Some(hash))) = (row.first(), row.get(1)) else {
            continue;
        };
        if let Some(stage2) = auth::parse_native_hash(hash) {
            let list = map.entry(user.clone()).or_default();
            if !list.contains(&stage2) {
                list.push(stage2);
            }
        }
    }
    Ok(map)
}
