//! Health checks: one task per backend logs in with the monitor account, checks liveness and,
//! on replicas, replication state and lag, and publishes the result in the backend's lock-free
//! `health` cell that routing reads. Hysteresis keeps a flapping backend out: `fail_after` failed
//! checks in a row mark it down, `recover_after` good ones bring it back.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::{debug, info};

use crate::backend::BackendConn;
use crate::config::Monitor as MonitorConfig;
use crate::shared::Shared;
use crate::topology::{Backend, Health, Role, State};

/// Starts the monitor: it follows reloads, checking added backends and forgetting removed ones.
pub fn spawn(shared: Arc<Shared>) {
    tokio::spawn(async move {
        let running: Arc<Mutex<HashSet<(String, Role)>>> = Arc::default();
        let mut version = shared.version.subscribe();
        loop {
            let topo = shared.topology.load_full();
            if topo.config.monitor.is_some() {
                for b in topo.backends() {
                    let key = (b.address.clone(), b.role);
                    if running.lock().expect("monitor set").insert(key.clone()) {
                        let (shared, running) = (shared.clone(), running.clone());
                        tokio::spawn(async move {
                            check_loop(&shared, &key.0, key.1).await;
                            running.lock().expect("monitor set").remove(&key);
                        });
                    }
                }
            }
            if version.changed().await.is_err() {
                return;
            }
        }
    });
}

/// What one good check saw.
#[derive(Debug, Default)]
struct Observation {
    io_running: bool,
    /// The IO thread is (re)connecting to its master: `Slave_IO_Running: Connecting`.
    io_connecting: bool,
    sql_running: bool,
    lag_seconds: Option<u64>,
    gtid: Option<String>,
}

async fn check_loop(shared: &Shared, address: &str, role: Role) {
    let mut conn: Option<BackendConn> = None;
    let (mut fails, mut oks) = (0u32, 0u32);
    let mut connecting_since: Option<std::time::Instant> = None;
    loop {
        let topo = shared.topology.load_full();
        let (Some(backend), Some(cfg)) = (
            topo.find(address, role).cloned(),
            topo.config.monitor.clone(),
        ) else {
            debug!(backend = address, "no longer monitored");
            return;
        };
        let max_lag = topo.config.routing.max_replication_lag;
        let budget = cfg.connect_timeout + cfg.query_timeout * 2;
        let tls = shared.tls.load_full();
        let checked = check(&mut conn, &backend, &cfg, tls);
        let result = match tokio::time::timeout(budget, checked).await {
            Ok(r) => r,
            Err(_) => Err(format!("check timed out after {budget:?}")),
        };
        if result.is_err() {
            if let Some(c) = conn.take() {
                tokio::spawn(c.quit());
            }
        } else {
            backend.heard_from();
        }
        let connecting = matches!(&result, Ok(o) if o.io_connecting);
        if !connecting {
            connecting_since = None;
        } else if connecting_since.is_none() {
            connecting_since = Some(std::time::Instant::now());
        }
        // The master of this backend's own cluster: a replica's lag is about that one.
        let Some(cluster) = topo.clusters.iter().find(|c| c.name == backend.cluster) else {
            return;
        };
        let cx = Context {
            max_lag,
            connecting_for: connecting_since.map(|s| s.elapsed()),
            // Two missed check intervals: the master is not answering the monitor either.
            master_unreachable: cluster.master.state() == State::Down
                || !cluster
                    .master
                    .heard_within(cfg.interval * 2 + cfg.query_timeout),
        };
        let old = arc_swap::Guard::into_inner(backend.health());
        let new = decide(&old, role, result, &cx, &cfg, &mut fails, &mut oks);
        if new.state != old.state {
            info!(
                backend = address,
                role = role.as_str(),
                from = old.state.as_str(),
                to = new.state.as_str(),
                reason = %new.reason,
                "backend health changed"
            );
            let down = new.state == State::Down;
            backend.set_health(Arc::new(new));
            if down {
                // Nobody may be handed a connection to it from the pool.
                shared.pool.drop_backend(address);
            }
            // Sessions re-pick their replica: a recovered one gets its share again.
            shared.topology_changed();
        } else if *old != new {
            backend.set_health(Arc::new(new));
        }
        tokio::time::sleep(cfg.interval).await;
    }
}

/// The next health of a backend from the previous one and a check result.
/// What the monitor knows besides one check's result.
struct Context {
    max_lag: Duration,
    /// How long this replica's IO thread has been reconnecting to its master.
    connecting_for: Option<Duration>,
    /// The monitor has not heard from the master lately either.
    master_unreachable: bool,
}

fn decide(
    old: &Health,
    role: Role,
    result: Result<Observation, String>,
    cx: &Context,
    cfg: &MonitorConfig,
    fails: &mut u32,
    oks: &mut u32,
) -> Health {
    let max_lag = cx.max_lag;
    let mut h = old.clone();
    match result {
        Err(reason) => {
            *oks = 0;
            *fails += 1;
            if *fails >= cfg.fail_after && old.state != State::Draining {
                h.state = State::Down;
                h.reason = reason;
            } else if old.state != State::Down {
                h.reason = format!("check failed ({}/{}): {reason}", fails, cfg.fail_after);
            }
        }
        Ok(obs) => {
            *fails = 0;
            h.gtid = obs.gtid.clone();
            h.lag_seconds = obs.lag_seconds;
            let problem = if role == Role::Master {
                None
            } else if obs.io_connecting
                && obs.sql_running
                && (cx.master_unreachable || cx.connecting_for.is_some_and(|d| d <= max_lag))
            {
                // Its master went away: the replica has what the master sent. With the master
                // unreachable from here too there are no newer writes to miss, so it keeps
                // serving reads (a dead master must not take the reads with it); otherwise
                // it is at most as stale as the time it has been reconnecting.
                None
            } else if !obs.io_running || !obs.sql_running {
                Some(format!(
                    "replication stopped (IO thread {}, SQL thread {})",
                    if obs.io_running { "running" } else { "stopped" },
                    if obs.sql_running {
                        "running"
                    } else {
                        "stopped"
                    }
                ))
            } else {
                match obs.lag_seconds {
                    None => Some("replication lag unknown".to_string()),
                    Some(l) if Duration::from_secs(l) > max_lag => Some(format!(
                        "replication lag {l}s exceeds max_replication_lag {}s",
                        max_lag.as_secs()
                    )),
                    Some(_) => None,
                }
            };
            if old.state == State::Draining {
                return h;
            }
            match problem {
                Some(reason) => {
                    *oks = 0;
                    h.state = State::Lagging;
                    h.reason = reason;
                }
                None => {
                    *oks += 1;
                    if old.state == State::Up || *oks >= cfg.recover_after {
                        h.state = State::Up;
                        h.reason = "ok".into();
                    } else {
                        h.reason =
                            format!("recovering ({}/{} good checks)", oks, cfg.recover_after);
                    }
                }
            }
        }
    }
    h
}

async fn check(
    conn: &mut Option<BackendConn>,
    backend: &Arc<Backend>,
    cfg: &MonitorConfig,
    tls: Arc<crate::tls::TlsSetup>,
) -> Result<Observation, String> {
    if conn.as_ref().is_none_or(|c| c.broken) {
        *conn = Some(crate::backend::connect_monitor(backend.clone(), cfg, tls).await?);
    }
    let c = conn.as_mut().expect("connected above");
    let rows = |r: std::io::Result<
        Result<crate::backend::Rows, crate::protocol::error::MyError>,
    >| match r {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(e)) => Err(format!("check query refused: {e}")),
        Err(e) => Err(format!("check query failed: {e}")),
    };
    match backend.role {
        Role::Master => {
            let r = rows(c.query_rows("SELECT @@gtid_binlog_pos AS gtid").await)?;
            Ok(Observation {
                io_running: true,
                io_connecting: false,
                sql_running: true,
                lag_seconds: Some(0),
                gtid: r.get("gtid").map(str::to_string),
            })
        }
        Role::Replica => {
            let status = rows(c.query_rows("SHOW SLAVE STATUS").await)?;
            if status.rows.is_empty() {
                return Ok(Observation::default());
            }
            let yes = |k: &str| status.get(k).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
            let pos = rows(c.query_rows("SELECT @@gtid_slave_pos AS gtid").await)?;
            Ok(Observation {
                io_running: yes("Slave_IO_Running"),
                io_connecting: status
                    .get("Slave_IO_Running")
                    .is_some_and(|v| v.eq_ignore_ascii_case("connecting")),
                sql_running: yes("Slave_SQL_Running"),
                lag_seconds: status
                    .get("Seconds_Behind_Master")
                    .and_then(|v| v.parse().ok()),
                gtid: pos.get("gtid").map(str::to_string),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn cfg() -> MonitorConfig {
        MonitorConfig {
            user: "m".into(),
            password: Secret::new("p"),
            interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            query_timeout: Duration::from_secs(1),
            fail_after: 3,
            recover_after: 2,
        }
    }

    fn ctx(max_lag: u64) -> Context {
        Context {
            max_lag: Duration::from_secs(max_lag),
            connecting_for: None,
            master_unreachable: false,
        }
    }

    fn good(lag: u64) -> Result<Observation, String> {
        Ok(Observation {
            io_running: true,
            io_connecting: false,
            sql_running: true,
            lag_seconds: Some(lag),
            gtid: None,
        })
    }

    #[test]
    fn hysteresis_down_after_n_failures_up_after_m_good_checks() {
        let c = cfg();
        let (mut f, mut o) = (0, 0);
        let mut h = Health::default();
        for i in 1..=3 {
            h = decide(
                &h,
                Role::Replica,
                Err("refused".into()),
                &ctx(10),
                &c,
                &mut f,
                &mut o,
            );
            assert_eq!(h.state == State::Down, i == 3, "after {i} failures");
        }
        h = decide(&h, Role::Replica, good(0), &ctx(10), &c, &mut f, &mut o);
        assert_eq!(h.state, State::Down, "one good check is not enough");
        h = decide(&h, Role::Replica, good(0), &ctx(10), &c, &mut f, &mut o);
        assert_eq!(h.state, State::Up);
    }

    #[test]
    fn lag_and_stopped_replication_make_a_replica_lagging() {
        let c = cfg();
        let (mut f, mut o) = (0, 0);
        let h = decide(
            &Health::default(),
            Role::Replica,
            good(11),
            &ctx(10),
            &c,
            &mut f,
            &mut o,
        );
        assert_eq!(h.state, State::Lagging);
        assert!(h.reason.contains("lag 11s"));
        let stopped = Ok(Observation {
            io_running: false,
            io_connecting: false,
            sql_running: true,
            lag_seconds: None,
            gtid: None,
        });
        let h = decide(
            &Health::default(),
            Role::Replica,
            stopped,
            &ctx(10),
            &c,
            &mut f,
            &mut o,
        );
        assert_eq!(h.state, State::Lagging);
        assert!(h.reason.contains("IO thread stopped"));
        // The master has no replication to check.
        let h = decide(
            &Health::default(),
            Role::Master,
            good(0),
            &ctx(10),
            &c,
            &mut f,
            &mut o,
        );
        assert_eq!(h.state, State::Up);
    }

    #[test]
    fn draining_is_kept_by_the_monitor() {
        let c = cfg();
        let (mut f, mut o) = (0, 0);
        let d = Health {
            state: State::Draining,
            ..Health::default()
        };
        assert_eq!(
            decide(&d, Role::Replica, good(0), &ctx(10), &c, &mut f, &mut o).state,
            State::Draining
        );
    }

    #[test]
    fn a_replica_whose_master_went_away_keeps_serving() {
        let c = cfg();
        let connecting = || {
            Ok(Observation {
                io_running: false,
                io_connecting: true,
                sql_running: true,
                lag_seconds: None,
                gtid: None,
            })
        };
        let (mut f, mut o) = (0, 0);
        let up = Health {
            state: State::Up,
            ..Health::default()
        };
        // The master unreachable from the monitor too: up, however long.
        let cx = Context {
            max_lag: Duration::from_secs(10),
            connecting_for: Some(Duration::from_secs(600)),
            master_unreachable: true,
        };
        assert_eq!(
            decide(&up, Role::Replica, connecting(), &cx, &c, &mut f, &mut o).state,
            State::Up
        );
        // The master answers the monitor: up while the reconnect is shorter than the lag limit.
        let cx = Context {
            connecting_for: Some(Duration::from_secs(2)),
            master_unreachable: false,
            ..cx
        };
        assert_eq!(
            decide(&up, Role::Replica, connecting(), &cx, &c, &mut f, &mut o).state,
            State::Up
        );
        let cx = Context {
            connecting_for: Some(Duration::from_secs(11)),
            ..cx
        };
        assert_eq!(
            decide(&up, Role::Replica, connecting(), &cx, &c, &mut f, &mut o).state,
            State::Lagging
        );
        // A stopped SQL thread is lagging whatever the master does.
        let stopped = Ok(Observation {
            io_running: false,
            io_connecting: true,
            sql_running: false,
            lag_seconds: None,
            gtid: None,
        });
        let cx = Context {
            master_unreachable: true,
            ..cx
        };
        assert_eq!(
            decide(&up, Role::Replica, stopped, &cx, &c, &mut f, &mut o).state,
            State::Lagging
        );
    }
}
