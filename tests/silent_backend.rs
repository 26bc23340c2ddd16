//! A silent backend (SIGSTOP: TCP connections stay open, nothing answers — what a dead cloud
//! host looks like) must not hang its clients: reads in flight fail over, writes get a clear
//! error once the monitor has marked the master down, and writes work again when it is back.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mysql_async::prelude::*;

fn toml() -> String {
    "[monitor]\nuser = \"monitor\"\npassword = \"monitorpass\"\ninterval = \"200ms\"\nconnect_timeout = \"300ms\"\nquery_timeout = \"300ms\"\nfail_after = 3\nrecover_after = 2\n\n[timeouts]\nread_failover = \"1s\"\nconnect = \"1s\"\n\n[routing]\nconsistency = \"eventual\"\n".to_string()
}

async fn conn(p: &Proxy, c: &Cluster) -> mysql_async::Conn {
    mysql_async::Conn::new(p.opts(c, Some("rwtest")))
        .await
        .unwrap()
}

fn node_of(c: &Cluster, server_id: i64) -> &'static str {
    let ids = c.replica_ids();
    if ids[0] == server_id.to_string() {
        "replica1"
    } else if ids[1] == server_id.to_string() {
        "replica2"
    } else {
        "master"
    }
}

/// Hang guard: a statement that does not come back in this long is the bug under test.
const HANG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_on_a_stopped_replica_is_answered_by_another_server() {
    let pc = Cluster::private("silent_replica");
    let c = pc.cluster.clone();
    c.root_sql(
        "master",
        "CREATE TABLE rwtest.s (id INT PRIMARY KEY, v INT); INSERT INTO rwtest.s VALUES (1, 42)",
    );
    eventually("row replicated", Duration::from_secs(15), || {
        c.replica_ports().iter().all(|p| {
            mariadb(*p, c.user(), c.password(), "SELECT v FROM rwtest.s").stdout == b"42\n"
        })
    });
    let p = Proxy::start(&c, &toml());
    let mut a = conn(&p, &c).await;
    let (_, sid): (i64, i64) = a
        .query_first("SELECT v, @@server_id FROM s WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    let stopped = node_of(&c, sid);
    assert_ne!(stopped, "master");
    // Another session on the same replica, to send it a session SET once it is stopped.
    let mut others = Vec::new();
    let mut b = None;
    for _ in 0..6 {
        let mut x = conn(&p, &c).await;
        let (_, x_sid): (i64, i64) = x
            .query_first("SELECT v, @@server_id FROM s WHERE id = 1")
            .await
            .unwrap()
            .unwrap();
        if x_sid == sid {
            b = Some(x);
            break;
        }
        others.push(x);
    }
    let mut b = b.expect("a second session on the same replica");
    let paused = pc.pause_node(stopped);
    // A session SET (what drivers send right after login) on the stopped replica runs again
    // elsewhere instead of waiting for it.
    tokio::time::timeout(HANG, b.query_drop("SET NAMES utf8mb4"))
        .await
        .expect("the SET came back")
        .expect("the SET ran elsewhere");
    let cs: Option<String> = b
        .query_first("SELECT @@character_set_client")
        .await
        .unwrap();
    assert_eq!(cs.as_deref(), Some("utf8mb4"));
    // In flight on the stopped replica: the proxy's connection to it is open and silent.
    let started = Instant::now();
    let r: (i64, i64) = tokio::time::timeout(
        HANG,
        a.query_first("SELECT v, @@server_id FROM s WHERE id = 1"),
    )
    .await
    .expect("the read came back")
    .unwrap()
    .unwrap();
    eprintln!(
        "read in flight on stopped {stopped} answered by server {} after {:?}",
        r.1,
        started.elapsed()
    );
    assert_eq!(r.0, 42, "the right answer");
    assert_ne!(r.1, sid, "from another server");
    // New reads do not go to the stopped replica either, and nothing waits for it.
    for _ in 0..5 {
        let r: (i64, i64) = tokio::time::timeout(
            HANG,
            a.query_first("SELECT v, @@server_id FROM s WHERE id = 1"),
        )
        .await
        .expect("no hang")
        .unwrap()
        .unwrap();
        assert_eq!(r.0, 42);
        assert_ne!(r.1, sid);
    }
    let log = p.log();
    assert!(log.contains("retrying elsewhere"), "{}", tail(&log, 20));
    drop(paused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_fail_clearly_while_the_master_is_silent_and_work_after() {
    let pc = Cluster::private("silent_master");
    let c = pc.cluster.clone();
    c.root_sql(
        "master",
        "CREATE TABLE rwtest.w (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
    );
    let p = Proxy::start(&c, &toml());
    let mut a = conn(&p, &c).await;
    a.query_drop("INSERT INTO w (v) VALUES (1)").await.unwrap();
    let paused = pc.pause_node("master");
    // A write in flight on the silent master: a clear error once the monitor marks it down.
    let r = tokio::time::timeout(HANG, a.query_drop("INSERT INTO w (v) VALUES (2)"))
        .await
        .expect("the in-flight write came back");
    let e = r.expect_err("no OK from a stopped master");
    eprintln!("in-flight write: {e}");
    // Later writes on any connection fail at once with the proxy's 1429 while it is down.
    let mut b = conn(&p, &c).await;
    let e = tokio::time::timeout(HANG, b.query_drop("INSERT INTO w (v) VALUES (3)"))
        .await
        .expect("no hang")
        .expect_err("master down");
    assert!(e.to_string().contains("1429"), "{e}");
    // Reads keep working from the replicas.
    let n: Option<i64> = tokio::time::timeout(HANG, b.query_first("SELECT COUNT(*) FROM w"))
        .await
        .expect("no hang")
        .unwrap();
    assert!(n.is_some());
    drop(paused);
    // Back: writes work again on the same client connection.
    let mut done = false;
    for _ in 0..100 {
        if b.query_drop("INSERT INTO w (v) VALUES (4)").await.is_ok() {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done, "writes work again: {}", tail(&p.log(), 20));
    let rows = String::from_utf8_lossy(
        &mariadb(
            c.master_port(),
            c.user(),
            c.password(),
            "SELECT GROUP_CONCAT(v ORDER BY id) FROM rwtest.w",
        )
        .stdout,
    )
    .trim()
    .to_string();
    // The in-flight insert (2) was sent before the stop and may have run; 3 never reached the
    // master; 1 and 4 did.
    assert!(rows == "1,4" || rows == "1,2,4", "{rows}");
}

/// `[timeouts] query`: a statement running longer is killed on its backend, and the client gets
/// the server's own answer (SLEEP() interrupted returns 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_timeout_kills_the_statement_on_its_backend() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[timeouts]\nquery = \"500ms\"\n");
    let mut a = conn(&p, &c).await;
    let slept: Result<Option<i64>, _> =
        tokio::time::timeout(HANG, a.query_first("SELECT SLEEP(10)"))
            .await
            .expect("no hang");
    // The server's own answer to KILL QUERY: SLEEP() returns 1, or the statement fails with
    // 1317 "Query execution was interrupted" when the kill lands before the row is sent.
    match slept {
        Ok(v) => assert_eq!(v, Some(1), "SLEEP was interrupted by KILL QUERY"),
        Err(e) => assert!(e.to_string().contains("1317"), "{e}"),
    }
    // The session goes on.
    let one: Option<i64> = a.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    assert!(p.log().contains("killing it on its backend"));
}

/// `[timeouts] client_write`: a client that stops reading its result is disconnected, and its
/// backend connection (with the statement on it) is discarded.
#[test]
fn a_client_that_stops_reading_is_disconnected() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[timeouts]\nclient_write = \"1s\"\n");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    // ~200 MB of result, never read.
    raw.write_packet(
        0,
        b"\x03SELECT REPEAT('x', 1000000) FROM rwtest.seq_1_to_200 /* stalled-client */",
    );
    eventually("the proxy gave up on the client", HANG, || {
        p.log()
            .contains("did not read its result within client_write")
    });
    // Its statement is gone from the servers (the backend connection was closed).
    eventually("statement gone", HANG, || {
        c.replica_ports()
            .iter()
            .chain(std::iter::once(&c.master_port()))
            .all(|port| {
                let out = mariadb(
                    *port,
                    c.user(),
                    c.password(),
                    "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%stalled-client%' AND info NOT LIKE '%processlist%'",
                );
                String::from_utf8_lossy(&out.stdout).trim() == "0"
            })
    });
}

/// `[timeouts] keepalive` is set on backend sockets and on client sockets from other hosts,
/// not on loopback clients.
#[test]
fn keepalive_on_backend_sockets_not_on_loopback_clients() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[timeouts]\nkeepalive = \"30s\"\n");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    raw.query_raw("SELECT 1");
    // ss shows the keepalive timer when no other timer (a retransmit, a delayed ACK) is running.
    let sockets = || {
        let out = std::process::Command::new("ss")
            .args(["-tnoH", "state", "established"])
            .output()
            .expect("ss (iproute2)");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let backend_ports: Vec<u16> = c
        .replica_ports()
        .into_iter()
        .chain(std::iter::once(c.master_port()))
        .collect();
    let client_side = format!("127.0.0.1:{} ", p.port);
    let mut last = String::new();
    eventually(
        "keepalive on the backend side",
        Duration::from_secs(10),
        || {
            last = sockets();
            // The proxy's own end of a backend connection: an ephemeral local port, the backend's
            // port as the peer.
            let backend = last.lines().any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() >= 5
                && backend_ports
                    .iter()
                    .any(|bp| cols[3] == format!("127.0.0.1:{bp}"))
                // Ours (30 s), not a server's default (about two hours).
                && cols[4].contains("keepalive")
                && cols[4].contains("sec")
            });
            backend
        },
    );
    // A loopback client gets none: its host is the proxy's, whose kernel closes its
    // connections when it dies (unit test `keepalive_only_for_clients_on_other_hosts`).
    let proxy_end = last
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(client_side.trim_end()))
        .unwrap_or_else(|| panic!("the proxy's end of the client connection in:\n{last}"));
    assert!(
        !proxy_end.contains("keepalive"),
        "keepalive on a loopback client connection: {proxy_end}"
    );
    drop(raw);
}
