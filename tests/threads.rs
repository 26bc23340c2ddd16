//! `--threads 2`: two single-threaded runtimes, each with its own listener on the proxy's port
//! (SO_REUSEPORT) and its own shard of the backend connection pool. What must not change: the
//! limits count over the whole proxy, KILL reaches a session on the other runtime, pooled
//! connections are reused, and a shutdown drains the sessions of every runtime.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

const MAX_IDLE: f64 = 4.0;
const MAX_USER: usize = 33;

/// Voluntary context switches of the proxy's thread named `name`: a runtime thread sleeps in
/// epoll once per round of work, so a thread that served clients has many.
fn sleeps_of_thread(pid: u32, name: &str) -> u64 {
    let mut found = None;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap();
        found = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok());
    }
    found.unwrap_or_else(|| panic!("no thread named {name} in rwsplit {pid}"))
}

/// Idle pooled connections per backend, from /metrics.
fn idle_per_backend(metrics_port: u16) -> Vec<(String, f64)> {
    let (_, body) = metrics_http(metrics_port);
    body.lines()
        .filter(|l| l.starts_with("rwsplit_backend_connections_idle{"))
        .filter_map(|l| {
            let (labels, v) = l.rsplit_once(' ')?;
            Some((labels.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_share_limits_pool_and_kill() {
    let c = Cluster::shared();
    let metrics = free_port();
    let extra = format!(
        "[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n\n[limits]\nmax_idle_backend_connections = {MAX_IDLE}\nmax_user_connections = {MAX_USER}\n"
    );
    let p = Proxy::start_args(&c, &extra, &["--threads", "2"]);
    let worker_before = sleeps_of_thread(p.pid(), "rwsplit-1");

    // Sessions on both runtimes at once: the per-account limit counts all of them.
    let mut held = Vec::new();
    for _ in 0..MAX_USER {
        let mut conn = mysql_async::Conn::new(p.opts(&c, None)).await.unwrap();
        let sid: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
        assert!(c.replica_ids().contains(&sid.unwrap().to_string()));
        held.push(conn);
    }
    let refused = mysql_async::Conn::new(p.opts(&c, None)).await.unwrap_err();
    assert!(format!("{refused:?}").contains("1203"), "{refused:?}");
    let worker_after = sleeps_of_thread(p.pid(), "rwsplit-1");
    assert!(
        worker_after >= worker_before + 10,
        "the second runtime took no clients: {worker_before} -> {worker_after} sleeps"
    );

    // KILL from one session reaches sessions of either runtime.
    let mut killer = held.pop().unwrap();
    for victim in &held {
        killer
            .query_drop(format!("KILL {}", victim.id()))
            .await
            .unwrap_or_else(|e| panic!("KILL {}: {e:?}", victim.id()));
    }
    for mut victim in held {
        let r: Result<Option<i64>, _> = victim.query_first("SELECT 1").await;
        assert!(r.is_err(), "session {} survived KILL", victim.id());
    }
    killer.disconnect().await.unwrap();

    // Connect per request from 8 clients at once, spread over both runtimes: pooled backend
    // connections are reused (each runtime keeps its own), and the bound on idle connections
    // holds per backend over both.
    let before = c.replica_status_counters(&["Connections"]);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let o = p.opts(&c, None);
            let replicas = c.replica_ids();
            tokio::spawn(async move {
                for _ in 0..40 {
                    let mut conn = mysql_async::Conn::new(o.clone()).await.unwrap();
                    let sid: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
                    assert!(replicas.contains(&sid.unwrap().to_string()));
                    conn.disconnect().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let opened = delta(&before, &c.replica_status_counters(&["Connections"]))["Connections"];
    eprintln!("320 client connections opened {opened} replica connections");
    assert!(
        opened < 160,
        "the pool was not used: {opened} backend logins"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = idle_per_backend(metrics);
    assert!(!idle.is_empty());
    for (backend, n) in idle {
        assert!(n <= MAX_IDLE, "{backend}: {n} idle connections");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_drain_on_sigterm() {
    let c = Cluster::shared();
    let mut p = Proxy::start_args(&c, "", &["--threads", "2"]);
    // Statements running on both runtimes when the signal comes finish and are answered.
    let mut conns = Vec::new();
    for _ in 0..12 {
        conns.push(mysql_async::Conn::new(p.opts(&c, None)).await.unwrap());
    }
    let running: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            tokio::spawn(async move {
                let v: Option<i64> = conn.query_first("SELECT SLEEP(1)").await?;
                Ok::<_, mysql_async::Error>(v)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.send_signal("TERM");
    for r in running {
        assert_eq!(r.await.unwrap().unwrap(), Some(0));
    }
    let status = p
        .wait_exit(Duration::from_secs(10))
        .expect("rwsplit exits after the drain");
    assert!(status.success(), "{status:?}\n{}", tail(&p.log(), 20));
    assert!(std::net::TcpStream::connect(("127.0.0.1", p.port)).is_err());
}
