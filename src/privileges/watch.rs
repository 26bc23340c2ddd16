//! The proxy's own read_only check: every replica at start, again after every reload (the
//! accounts, the replicas or the grants behind them may have changed; a reload that changed
//! nothing in the file still re-checks, so `kill -HUP` after a `REVOKE` shows the result at
//! once), on a slow schedule, and a replica not checked yet as soon as it is up. Each change
//! of a verdict is logged once; the latest findings are kept in `Shared::read_only_bypass`
//! for the admin interface and the metrics.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::{changes, check, Change, Finding};
use crate::config::Config;
use crate::shared::Shared;
use crate::topology::{State, Topology};

/// Every replica is checked again after this many monitor intervals (5 minutes with the
/// default 1 s): grants rarely change, and each check is a login per account and replica.
const SCHEDULE_INTERVALS: u32 = 300;
/// The same without a `[monitor]` section.
const SCHEDULE_WITHOUT_MONITOR: Duration = Duration::from_secs(300);

fn period(config: &Config) -> Duration {
    config
        .monitor
        .as_ref()
        .map_or(SCHEDULE_WITHOUT_MONITOR, |m| {
            m.interval * SCHEDULE_INTERVALS
        })
}

/// Starts the checks; they follow reloads and health changes until the runtime stops. The
/// receiver hears when the first round is done: the proxy waits for it (a little) before it
/// accepts clients, so the warnings come before the first client.
pub fn spawn(shared: Arc<Shared>) -> tokio::sync::oneshot::Receiver<()> {
    let (first_done, first) = tokio::sync::oneshot::channel();
    let mut first_done = Some(first_done);
    tokio::spawn(async move {
        let mut version = shared.version.subscribe();
        let mut recheck = shared.read_only_bypass.recheck.subscribe();
        let mut checked_config: Option<Arc<Config>> = None;
        let mut due = Instant::now();
        let mut asked = false;
        loop {
            let topo = shared.topology.load_full();
            let reloaded = checked_config
                .as_ref()
                .is_none_or(|c| !Arc::ptr_eq(c, &topo.config));
            let everything = std::mem::take(&mut asked) || reloaded || Instant::now() >= due;
            if everything {
                // This round answers every request made so far: a reload that swapped the
                // topology (seen above) and asked for a re-check gets one round, not two.
                recheck.borrow_and_update();
            }
            checked_config = Some(topo.config.clone());
            round(&shared, &topo, everything).await;
            if let Some(tx) = first_done.take() {
                let _ = tx.send(());
            }
            if everything {
                due = Instant::now() + period(&topo.config);
            }
            tokio::select! {
                changed = version.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(due) => {}
                _ = recheck.changed() => asked = true,
            }
        }
    });
    first
}

/// Checks the replicas: all of them, or (`everything` false: a health change woke the task)
/// only those never checked. A replica marked down is left for later: its check could only
/// say "could not connect", which the health state says already, and it gets no reads.
/// The replicas are checked side by side, so a slow one delays no other.
async fn round(shared: &Shared, topo: &Topology, everything: bool) {
    let reports = &shared.read_only_bypass;
    let mut checks = tokio::task::JoinSet::new();
    for cluster in &topo.clusters {
        for replica in &cluster.replicas {
            if replica.state() == State::Down
                || (!everything && reports.get(&replica.address).is_some())
            {
                continue;
            }
            let (config, replica, tls) =
                (topo.config.clone(), replica.clone(), shared.tls.load_full());
            let cluster = cluster.name.clone();
            checks.spawn(async move {
                let findings = check::check_replica(&config, replica.clone(), tls).await;
                (cluster, replica, findings)
            });
        }
    }
    let mut checked = 0;
    while let Some(done) = checks.join_next().await {
        let Ok((cluster, replica, findings)) = done else {
            continue;
        };
        let old = reports.get(&replica.address);
        for change in changes(old.as_deref().map(Vec::as_slice), &findings) {
            log(&replica.address, &cluster, &change);
        }
        reports.store(&replica.address, findings);
        checked += 1;
    }
    debug!(checked, everything, "read_only check of the replicas done");
    reports.retain(|address| {
        topo.clusters
            .iter()
            .any(|c| c.replicas.iter().any(|r| r.address == address))
    });
}

fn log(replica: &str, cluster: &str, change: &Change<'_>) {
    let account = |f: &Finding| f.account.clone();
    match change {
        Change::Bypasses(f, privileges) => warn!(
            replica,
            cluster,
            account = account(f),
            privileges = privileges.join(", "),
            "this account may write on the read_only replica: a write sent there by mistake would succeed and fork the replica's data instead of failing with error 1290; revoke the privilege from the account (and its roles)"
        ),
        Change::Unknown(f, why) => warn!(
            replica,
            cluster,
            account = account(f),
            reason = %why,
            "could not check whether this account may write on the read_only replica"
        ),
        Change::Fixed(f) => info!(
            replica,
            cluster,
            account = account(f),
            "this account can no longer write on the read_only replica"
        ),
        Change::FirstClean(f) => debug!(
            replica,
            cluster,
            account = account(f),
            "checked: this account cannot write on the read_only replica"
        ),
        Change::Gone(f) => info!(
            replica,
            cluster,
            account = account(f),
            "an account that could write on the read_only replica is no longer checked there (no longer used)"
        ),
    }
}
