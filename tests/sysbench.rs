//! Issue 2, test 6: sysbench through the proxy. A read/write run wraps everything in
//! BEGIN/COMMIT, so it all belongs on the master and the replicas' Com_select must not move; a
//! read-only run with --skip_trx=on must be served by the replicas, not the master.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn sysbench(port: u16, c: &Cluster, test: &str, extra: &[&str]) -> String {
    let out = Command::new("sysbench")
        .arg(test)
        .arg("--db-driver=mysql")
        .arg("--mysql-host=127.0.0.1")
        .arg(format!("--mysql-port={port}"))
        .arg(format!("--mysql-user={}", c.user()))
        .arg(format!("--mysql-password={}", c.password()))
        .arg("--mysql-db=sbtest")
        .arg("--tables=2")
        .arg("--table-size=5000")
        .args(extra)
        .output()
        .expect("sysbench on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sysbench {test} failed:\n{text}");
    text
}

/// The number in a sysbench report line such as "    ignored errors:     0      (0.00 per sec.)".
fn report_value(report: &str, label: &str) -> u64 {
    report
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l[l.find(':').unwrap() + 1..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no '{label}' in report:\n{report}"))
}

fn com_select(c: &Cluster, port: u16) -> u64 {
    c.status_counter(port, "Com_select")
}

#[test]
fn sysbench_read_write_all_on_master_then_read_only_on_replicas() {
    let c = Cluster::shared();
    // Tables are created directly on the master and replicated.
    let _ = sysbench(c.master_port(), &c, "oltp_read_write", &["cleanup"]);
    sysbench(c.master_port(), &c, "oltp_read_write", &["prepare"]);
    let master_pos = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        "SELECT @@gtid_binlog_pos",
    );
    let pos = String::from_utf8_lossy(&master_pos.stdout)
        .trim()
        .to_string();
    for port in c.replica_ports() {
        eventually(
            "replicas caught up with sysbench prepare",
            Duration::from_secs(60),
            || {
                let out = mariadb(
                    port,
                    c.user(),
                    c.password(),
                    &format!("SELECT MASTER_GTID_WAIT('{pos}', 1)"),
                );
                String::from_utf8_lossy(&out.stdout).trim() == "0"
            },
        );
    }

    let p = Proxy::start(&c, "");
    let replicas_before: Vec<u64> = c
        .replica_ports()
        .iter()
        .map(|&r| com_select(&c, r))
        .collect();
    // Only deadlocks (1213) are tolerated: the master itself reports a few under 8 threads of
    // oltp_read_write, directly as through the proxy, and the proxy must pass them on. Any
    // other error (a write refused by a read-only replica, a broken relay) aborts sysbench.
    let report = sysbench(
        p.port,
        &c,
        "oltp_read_write",
        &[
            "--threads=8",
            "--time=20",
            "--mysql-ignore-errors=1213",
            "run",
        ],
    );
    assert_eq!(report_value(&report, "reconnects:"), 0, "{report}");
    let replicas_after: Vec<u64> = c
        .replica_ports()
        .iter()
        .map(|&r| com_select(&c, r))
        .collect();
    // Each status read itself is one SELECT-like statement: allow for those, nothing more.
    for (b, a) in replicas_before.iter().zip(&replicas_after) {
        assert!(
            a - b <= 2,
            "a replica ran sysbench's transactional reads: Com_select {b} -> {a}"
        );
    }
    eprintln!("oltp_read_write through rwsplit:\n{}", tail(&report, 25));

    let master_before = com_select(&c, c.master_port());
    let replicas_before: Vec<u64> = c
        .replica_ports()
        .iter()
        .map(|&r| com_select(&c, r))
        .collect();
    let report = sysbench(
        p.port,
        &c,
        "oltp_read_only",
        &[
            "--threads=8",
            "--time=10",
            "--skip_trx=on",
            "--mysql-ignore-errors=none",
            "run",
        ],
    );
    assert_eq!(report_value(&report, "ignored errors:"), 0, "{report}");
    let master_after = com_select(&c, c.master_port());
    let replicas_after: Vec<u64> = c
        .replica_ports()
        .iter()
        .map(|&r| com_select(&c, r))
        .collect();
    assert!(
        master_after - master_before <= 2,
        "the master served reads: Com_select {master_before} -> {master_after}"
    );
    for (b, a) in replicas_before.iter().zip(&replicas_after) {
        assert!(
            a - b > 1000,
            "each replica serves reads: Com_select {b} -> {a}"
        );
    }
    eprintln!(
        "oltp_read_only --skip_trx=on through rwsplit:\n{}",
        tail(&report, 25)
    );
}
