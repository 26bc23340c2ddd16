//! Issue 8: read-your-writes without app changes. Replicas are made to lag on purpose
//! (MASTER_DELAY=1), then write-then-read loops count stale reads under each consistency mode.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

fn delayed_cluster() -> PrivateCluster {
    let pc = Cluster::private("consistency");
    let c = &pc.cluster;
    for node in ["replica1", "replica2"] {
        c.root_sql(
            node,
            "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 1; START SLAVE;",
        );
    }
    let out = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        "CREATE TABLE rwtest.rw (id INT PRIMARY KEY, v INT); INSERT INTO rwtest.rw VALUES (1, 0)",
    );
    assert!(out.status.success());
    eventually("table on the replicas", Duration::from_secs(15), || {
        c.replica_ports().iter().all(|p| {
            mariadb(*p, c.user(), c.password(), "SELECT v FROM rwtest.rw").stdout == b"0\n"
        })
    });
    pc
}

fn toml(mode: &str) -> String {
    format!("[routing]\nconsistency = \"{mode}\"\nconsistency_wait = \"5ms\"\n\n[monitor]\nuser = \"monitor\"\npassword = \"monitorpass\"\ninterval = \"200ms\"\n")
}

async fn fresh_conn(p: &Proxy, c: &Cluster) -> mysql_async::Conn {
    mysql_async::Conn::new(p.opts(c, Some("rwtest")))
        .await
        .unwrap()
}

/// `rounds` writes on one connection, each followed by a read on `reader` (the same
/// connection, or a new one per round). Returns (stale reads, reads served by a replica).
async fn rounds(
    p: &Proxy,
    c: &Cluster,
    rounds: i64,
    new_connection: bool,
    start: i64,
) -> (u32, u32) {
    let mut writer = fresh_conn(p, c).await;
    let (mut stale, mut on_replica) = (0, 0);
    for i in start..start + rounds {
        writer
            .query_drop(format!("UPDATE rw SET v = {i} WHERE id = 1"))
            .await
            .unwrap();
        let (v, sid): (i64, i64) = if new_connection {
            let mut reader = fresh_conn(p, c).await;
            let r = reader
                .query_first("SELECT v, @@server_id FROM rw WHERE id = 1")
                .await
                .unwrap()
                .unwrap();
            reader.disconnect().await.unwrap();
            r
        } else {
            writer
                .query_first("SELECT v, @@server_id FROM rw WHERE id = 1")
                .await
                .unwrap()
                .unwrap()
        };
        if v != i {
            stale += 1;
        }
        if c.replica_ids().contains(&sid.to_string()) {
            on_replica += 1;
        }
    }
    writer.disconnect().await.unwrap();
    (stale, on_replica)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_reads_under_eventual_none_under_session_and_global() {
    let pc = delayed_cluster();
    let c = pc.cluster.clone();

    // eventual: the test can fail — stale reads are observed.
    let p = Proxy::start(&c, &toml("eventual"));
    let (stale, _) = rounds(&p, &c, 1000, true, 1_000_000).await;
    eprintln!("eventual: {stale} stale reads in 1000 rounds");
    assert!(
        stale > 100,
        "replicas lag by a second: eventual must see stale reads ({stale})"
    );
    drop(p);

    // session: write then read on the same connection.
    let p = Proxy::start(&c, &toml("session"));
    let (stale, _) = rounds(&p, &c, 1000, false, 2_000_000).await;
    eprintln!("session: {stale} stale reads in 1000 rounds");
    assert_eq!(stale, 0, "read-your-writes within a session");
    // Once the replicas catch up, reads are served by them again.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut conn = fresh_conn(&p, &c).await;
    conn.query_drop("UPDATE rw SET v = 7 WHERE id = 1")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut on_replica = 0;
    for _ in 0..100 {
        let (v, sid): (i64, i64) = conn
            .query_first("SELECT v, @@server_id FROM rw WHERE id = 1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v, 7);
        if c.replica_ids().contains(&sid.to_string()) {
            on_replica += 1;
        }
    }
    assert!(
        on_replica >= 95,
        "caught-up replicas serve the reads again ({on_replica}/100)"
    );
    drop(conn);
    let metrics_log = p.log();
    drop(metrics_log);
    drop(p);

    // global: write on one connection, read on a new one.
    let p = Proxy::start(&c, &toml("global"));
    let (stale, _) = rounds(&p, &c, 1000, true, 3_000_000).await;
    eprintln!("global: {stale} stale reads in 1000 rounds");
    assert_eq!(
        stale, 0,
        "a write on one connection is visible to a read on the next"
    );
    // The proxy learns positions on its own connection: the client's SHOW WARNINGS and
    // ROW_COUNT() still describe its write.
    let mut conn = fresh_conn(&p, &c).await;
    conn.query_drop("INSERT IGNORE INTO rw VALUES (1, 5)")
        .await
        .unwrap();
    let warnings: Vec<(String, i64, String)> = conn.query("SHOW WARNINGS").await.unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].1, 1062);
    conn.query_drop("UPDATE rw SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    let rc: Option<i64> = conn.query_first("SELECT ROW_COUNT()").await.unwrap();
    assert_eq!(rc, Some(1));
    drop(conn);

    // The account's idle master connections killed (pt-kill, a master restart): the position
    // of the next write is still known (its OK carries it), and a read on another connection
    // right after sees it — 3 of 3.
    for round in 0..3i64 {
        let ids = c.root_rows(
            "master",
            "SELECT id FROM information_schema.processlist WHERE user = 'app' AND command = 'Sleep'",
        );
        for id in ids {
            // Gone already is fine.
            let _ = mariadb(
                c.master_port(),
                c.user(),
                c.password(),
                &format!("KILL {id}"),
            );
        }
        let mut writer = fresh_conn(&p, &c).await;
        writer
            .query_drop(format!(
                "UPDATE rw SET v = {} WHERE id = 1",
                4_000_000 + round
            ))
            .await
            .unwrap();
        let mut reader = fresh_conn(&p, &c).await;
        let v: Option<i64> = reader
            .query_first("SELECT v FROM rw WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(
            v,
            Some(4_000_000 + round),
            "round {round}: a stale read after the kill"
        );
    }
}
