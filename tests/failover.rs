//! Issue 4: health checks, lag, failover and read retry, with real processes killed. Each test
//! runs on a private cluster because it kills or stops servers.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const MONITOR: &str = "[monitor]\nuser = \"monitor\"\npassword = \"monitorpass\"\ninterval = \"250ms\"\nconnect_timeout = \"500ms\"\nquery_timeout = \"500ms\"\nfail_after = 2\nrecover_after = 2\n\n[timeouts]\nconnect = \"1s\"\n\n[routing]\nmax_replication_lag = \"2s\"\n";

fn com_select(c: &Cluster, port: u16) -> u64 {
    c.status_counter(port, "Com_select")
}

#[test]
fn replica_killed_under_sysbench_no_failed_query_then_readmitted() {
    let pc = Cluster::private("kill-replica");
    let c = pc.cluster.clone();
    let (user, password) = (c.user().to_string(), c.password().to_string());
    let sb = move |port: u16, args: &[&str]| {
        Command::new("sysbench")
            .arg("oltp_read_only")
            .args(["--db-driver=mysql", "--mysql-host=127.0.0.1"])
            .arg(format!("--mysql-port={port}"))
            .arg(format!("--mysql-user={user}"))
            .arg(format!("--mysql-password={password}"))
            .args(["--mysql-db=sbtest", "--tables=2", "--table-size=2000"])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(sb(c.master_port(), &["prepare"]).status.success());
    let p = Proxy::start(&c, MONITOR);
    eventually("tables replicated", Duration::from_secs(30), || {
        c.replica_ports().iter().all(|port| {
            mariadb(
                *port,
                c.user(),
                c.password(),
                "SELECT COUNT(*) FROM sbtest.sbtest2",
            )
            .stdout
                == b"2000\n"
        })
    });
    let port = p.port;
    let sb2 = sb.clone();
    let load = std::thread::spawn(move || {
        sb2(
            port,
            &[
                "--threads=8",
                "--time=16",
                "--skip_trx=on",
                "--mysql-ignore-errors=none",
                "--report-interval=2",
                "run",
            ],
        )
    });
    std::thread::sleep(Duration::from_secs(4));
    pc.stop_node("replica1");
    std::thread::sleep(Duration::from_secs(4));
    pc.start_node("replica1");
    let r1 = c.replica_ports()[0];
    // Re-admitted after recover_after good checks: it serves reads again within seconds.
    let before = com_select(&c, r1);
    eventually(
        "restarted replica serves reads again",
        Duration::from_secs(7),
        || com_select(&c, r1) > before + 100,
    );
    let out = load.join().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "sysbench saw a failed query:\n{report}\nproxy log:\n{}",
        tail(&p.log(), 40)
    );
    assert!(
        report.contains("ignored errors:                      0"),
        "{report}"
    );
    let log = p.log();
    assert!(
        log.contains("backend health changed") && log.contains("to=\"down\""),
        "health change logged:\n{}",
        tail(&log, 40)
    );
    assert!(
        log.contains("retrying elsewhere"),
        "reads were retried:\n{}",
        tail(&log, 40)
    );
}

#[test]
fn lagging_replica_loses_reads_then_all_replicas_down_reads_go_to_master() {
    let pc = Cluster::private("lag");
    let c = pc.cluster.clone();
    let p = Proxy::start(&c, MONITOR);
    let (r1, r2) = (c.replica_ids()[0].clone(), c.replica_ids()[1].clone());
    let reads = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| p.sql_ok(&c, "SELECT @@server_id").remove(0))
            .collect()
    };
    eventually("both replicas serve", Duration::from_secs(10), || {
        let ids = reads(20);
        ids.contains(&r1) && ids.contains(&r2)
    });
    // Stop replication on replica 1 and write on the master: it falls behind.
    c.root_sql("replica1", "STOP SLAVE");
    c.root_sql("master", "CREATE TABLE IF NOT EXISTS rwtest.lagt (id INT PRIMARY KEY); INSERT INTO rwtest.lagt VALUES (1)");
    std::thread::sleep(Duration::from_millis(800));
    let ids = reads(30);
    assert!(
        !ids.contains(&r1),
        "a replica with replication stopped gets no reads: {ids:?}\n{}",
        tail(&p.log(), 20)
    );
    assert!(p.log().contains("replication stopped"), "reason logged");
    c.root_sql("replica1", "START SLAVE");
    eventually(
        "caught-up replica gets reads back",
        Duration::from_secs(10),
        || reads(10).contains(&r1),
    );

    // Both replicas down: reads go to the master, no client error.
    pc.stop_node("replica1");
    pc.stop_node("replica2");
    let start = Instant::now();
    for _ in 0..20 {
        assert_eq!(p.sql_ok(&c, "SELECT @@server_id")[0], c.master_id());
    }
    eprintln!(
        "20 reads with both replicas down took {:?}",
        start.elapsed()
    );
}

#[test]
fn idle_connection_closed_by_replica_is_reopened() {
    let pc = Cluster::private("wait-timeout");
    let c = pc.cluster.clone();
    for node in ["replica1", "replica2"] {
        c.root_sql(node, "SET GLOBAL wait_timeout = 2");
    }
    let p = Proxy::start(&c, "");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    let first = raw.query_raw("SET @keep = 7");
    assert_eq!(first[4], 0, "SET ok");
    let r = raw.query_raw("SELECT @keep, @@server_id");
    assert!(String::from_utf8_lossy(&r).contains('7'));
    std::thread::sleep(Duration::from_secs(3));
    let r = raw.query_raw("SELECT @keep, @@server_id");
    assert_ne!(
        r[4],
        0xFF,
        "read after the replica closed the idle connection: {}",
        String::from_utf8_lossy(&r)
    );
    assert!(
        String::from_utf8_lossy(&r).contains('7'),
        "session state replayed on the new connection"
    );
}
