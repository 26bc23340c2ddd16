//! Auth passthrough (`[auth] passthrough = true`): application accounts and their
//! mysql_native_password hashes are read from the master's `mysql.user` with the monitor
//! account, so proxy.toml need not hold application passwords. A client's answer is checked
//! against the stored hash, and the SHA1(password) it reveals (never the password) answers the
//! backends' challenges. The list is reloaded when a login does not match (rate-limited), so a
//! new account works at once; a dropped one is refused by the backend at login even before
//! the next reload.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Reloads finished so far: a login that waited for the lock while another reload ran
    /// uses that one's list instead of loading again (one reload serves every waiting login).
    generation: AtomicU64,
    /// User names a reload just looked for and did not find, with when: the same name again
    /// within `MIN_RELOAD_INTERVAL` is refused at once. Bounded by `MAX_ABSENT`.
    absent: Mutex<HashMap<String, Instant>>,
}

/// Unknown names remembered at most (a flood of distinct names only refills the table).
const MAX_ABSENT: usize = 10_000;

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

    /// Reloads the list from the master for a login of `user` that did not match, at most once
    /// per `MIN_RELOAD_INTERVAL` (a login that arrives sooner waits for the next slot, so an
    /// account created a moment ago still works). Logins that arrive while a reload runs wait
    /// for it and use its list: 400 failed logins at once cost a few reloads, not 400 one
    /// after the other. A name a reload did not find less than `MIN_RELOAD_INTERVAL` ago is
    /// refused at once (no wait, no reload); a real new account logs in at its next try
    /// within one interval. Returns whether a fresh list is there to check against.
    pub async fn reload(
        &self,
        user: &str,
        topo: &Topology,
        tls: Arc<crate::tls::TlsSetup>,
    ) -> bool {
        let recently_absent = self
            .absent
            .lock()
            .expect("accounts lock")
            .get(user)
            .is_some_and(|t| t.elapsed() < MIN_RELOAD_INTERVAL);
        if recently_absent {
            return false;
        }
        let seen = self.generation.load(Ordering::Acquire);
        let _one_at_a_time = self.reloading.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            // Loaded while this login waited: that list is as fresh as this one would be.
            self.note_if_absent(user);
            return true;
        }
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
                self.generation.fetch_add(1, Ordering::Release);
                self.note_if_absent(user);
                true
            }
            Err(e) => {
                warn!(error = %e, "auth passthrough: cannot load accounts from the master");
                self.generation.fetch_add(1, Ordering::Release);
                false
            }
        }
    }
}

impl Accounts {
    /// After a reload: a name the list does not have is remembered for a moment.
    fn note_if_absent(&self, user: &str) {
        if user.is_empty() || self.hashes.load().contains_key(user) {
            return;
        }
        let mut absent = self.absent.lock().expect("accounts lock");
        if absent.len() >= MAX_ABSENT {
            absent.retain(|_, t| t.elapsed() < MIN_RELOAD_INTERVAL);
            if absent.len() >= MAX_ABSENT {
                absent.clear();
            }
        }
        absent.insert(user.to_string(), Instant::now());
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
