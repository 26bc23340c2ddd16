//! Issue 2, test 5 (master part): with the master down, writes get a clear error, reads keep
//! working from the replicas, and writes work again once the master is back, with no restart
//! of the proxy. Runs on a private cluster because it kills the master.
//!
//! The warnings of an unreachable backend are rate-limited (one line per backend per interval,
//! not one per statement or login): those tests point the proxy at closed local ports instead
//! of stopping a server, so they run on the shared cluster.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mysql_async::prelude::*;

#[test]
fn master_down_reads_continue_writes_fail_clearly_then_recover() {
    let pc = Cluster::private("master-down");
    let c = pc.cluster.clone();
    let p = Proxy::start(&c, "[timeouts]\nconnect = \"1s\"\n");
    p.sql_ok(&c, "CREATE TABLE rwtest.t (id INT PRIMARY KEY)");
    p.sql_ok(&c, "INSERT INTO rwtest.t VALUES (1)");

    pc.stop_node("master");
    // Reads: new connections log in through a replica and read.
    for _ in 0..5 {
        let out = p.sql_ok(&c, "SELECT @@server_id");
        assert!(c.replica_ids().contains(&out[0]), "{out:?}");
    }
    // Writes: a clear error naming the master, on a connection that stays usable.
    let out = p.sql(&c, "INSERT INTO rwtest.t VALUES (2); ");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ERROR 1429 (HY000)")
            && err.contains(&format!(
                "rwsplit: master 127.0.0.1:{} unavailable",
                c.master_port()
            )),
        "{err}"
    );
    let out = p.sql(&c, "SELECT 1; INSERT INTO rwtest.t VALUES (2)");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "1",
        "the read before the write was served"
    );

    pc.start_node("master");
    eventually(
        "writes work again after the master returns",
        Duration::from_secs(20),
        || {
            p.sql(&c, "INSERT INTO rwtest.t VALUES (3)")
                .status
                .success()
        },
    );
    let direct = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        "SELECT GROUP_CONCAT(id ORDER BY id) FROM rwtest.t",
    );
    assert_eq!(
        String::from_utf8_lossy(&direct.stdout).trim(),
        "1,3",
        "nothing written twice, nothing lost"
    );
}

/// With a monitor: a stopped master takes the replicas' replication down with it (their IO
/// threads keep reconnecting), and they must keep serving reads rather than be marked lagging
/// (which left no replica, and every read failed over to the dead master).
#[test]
fn reads_keep_working_with_a_monitor_while_the_master_is_down() {
    let pc = Cluster::private("master-down-monitor");
    let c = pc.cluster.clone();
    let p = Proxy::start(
        &c,
        "[monitor]\nuser = \"monitor\"\npassword = \"monitorpass\"\ninterval = \"200ms\"\n\n[timeouts]\nconnect = \"1s\"\n",
    );
    p.sql_ok(&c, "SELECT 1");
    pc.stop_node("master");
    eventually(
        "the monitor marks the master down",
        Duration::from_secs(15),
        || p.log().contains("to=\"down\""),
    );
    // Past the replicas' first failed reconnects and several monitor rounds.
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..10 {
        let out = p.sql_ok(&c, "SELECT @@server_id");
        assert!(c.replica_ids().contains(&out[0]), "{out:?}");
    }
    assert!(
        !p.log().contains("to=\"lagging\""),
        "{}",
        tail(&p.log(), 20)
    );
    pc.start_node("master");
}

/// `cluster`'s proxy.toml with the backends on `ports` moved to closed local ports (a stopped
/// server without one being stopped): nothing listens there, so every connect is refused.
fn toml_with_closed(cluster: &Cluster, listen: u16, ports: &[u16]) -> String {
    let mut toml = cluster.proxy_toml(listen, "[timeouts]\nconnect = \"1s\"\n");
    for p in ports {
        let from = format!("\"127.0.0.1:{p}\"");
        assert!(toml.contains(&from), "{p} not in {toml}");
        toml = toml.replace(&from, &format!("\"127.0.0.1:{}\"", free_port()));
    }
    toml
}

/// Checks that `message` was logged at a limited rate for the events since `started` (a
/// moment: within one interval): 1 to 3 lines, the first at once with nothing held back.
/// Returns the first line.
fn assert_rate_limited(proxy: &Proxy, message: &str, events: &str, started: Instant) -> String {
    let took = started.elapsed();
    let log = proxy.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(message)).collect();
    assert!(
        (1..=3).contains(&lines.len()),
        "{} \"{message}\" lines for {events} in {took:?}:\n{}",
        lines.len(),
        tail(&log, 20)
    );
    assert!(lines[0].contains("suppressed=0"), "{}", lines[0]);
    lines[0].to_string()
}

fn code_of<T: std::fmt::Debug>(r: Result<T, mysql_async::Error>) -> u16 {
    match r {
        Err(mysql_async::Error::Server(e)) => e.code,
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// 200 writes to an unreachable master within a moment: every one gets its 1429, and the log
/// gets one "backend unreachable" line, not 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_master_warns_once_per_interval_not_per_statement() {
    let c = Cluster::shared();
    let p = Proxy::start_with(
        &c,
        |port| toml_with_closed(&c, port, &[c.master_port()]),
        &[],
    );
    let started = Instant::now();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let opts = p.opts(&c, None);
            tokio::spawn(async move {
                // Logs in through a replica; the connection stays usable after each refusal.
                let mut conn = mysql_async::Conn::new(opts).await.unwrap();
                for _ in 0..50 {
                    let r = conn.query_drop("INSERT INTO rwtest.t VALUES (1)").await;
                    assert_eq!(code_of(r), 1429, "every write gets the proxy's error");
                }
                let v: Option<i64> = conn.query_first("SELECT 41 + 1").await.unwrap();
                assert_eq!(v, Some(42), "reads still served");
                conn.disconnect().await.unwrap();
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let first = assert_rate_limited(&p, "backend unreachable", "200 failed writes", started);
    assert!(first.contains("role=\"master\""), "{first}");
}

/// With no backend reachable at all, 100 logins each get their 1429 and the log gets one
/// "no backend reachable for login" line, not 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_with_no_backend_reachable_warn_once_per_interval_not_per_login() {
    let c = Cluster::shared();
    let mut all = vec![c.master_port()];
    all.extend(c.replica_ports());
    let p = Proxy::start_with(&c, |port| toml_with_closed(&c, port, &all), &[]);
    let started = Instant::now();
    for _ in 0..100 {
        assert_eq!(
            code_of(mysql_async::Conn::new(p.opts(&c, None)).await),
            1429
        );
    }
    assert_rate_limited(
        &p,
        "no backend reachable for login",
        "100 failed logins",
        started,
    );
    // Each closed backend warns on its own (key: its address), not once per login.
    let log = p.log();
    let n = log.matches("backend unreachable").count();
    assert!(
        (1..=9).contains(&n),
        "{n} backend warnings:\n{}",
        tail(&log, 20)
    );
}
