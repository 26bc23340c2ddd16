//! Issue 2, test 5 (master part): with the master down, writes get a clear error, reads keep
//! working from the replicas, and writes work again once the master is back, with no restart
//! of the proxy. Runs on a private cluster because it kills the master.

mod common;

use std::time::Duration;

use common::*;

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
