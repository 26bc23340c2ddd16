//! Every client command handled for real, end to end: ping, statistics, field list, reset
//! connection, change user, multi-results, KILL with the proxy's own connection ids.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

fn admin(port: u16, c: &Cluster, args: &[&str]) -> String {
    let out = Command::new("mariadb-admin")
        .arg("--no-defaults")
        .arg("-h127.0.0.1")
        .arg(format!("-P{port}"))
        .arg(format!("-u{}", c.user()))
        .arg(format!("-p{}", c.password()))
        .args(args)
        .output()
        .expect("mariadb-admin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ping_and_statistics_through_mariadb_admin() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    assert!(admin(p.port, &c, &["ping"]).contains("mysqld is alive"));
    let status = admin(p.port, &c, &["status"]);
    assert!(
        status.contains("Uptime:") && status.contains("Threads:"),
        "COM_STATISTICS answered by a server: {status}"
    );
}

#[test]
fn field_list_returns_column_definitions() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    p.sql_ok(
        &c,
        "CREATE TABLE IF NOT EXISTS rwtest.fl (id INT PRIMARY KEY, name VARCHAR(10))",
    );
    eventually("table on replicas", Duration::from_secs(10), || {
        c.replica_ports().iter().all(|port| {
            mariadb(
                *port,
                c.user(),
                c.password(),
                "SELECT 1 FROM rwtest.fl LIMIT 0",
            )
            .status
            .success()
        })
    });
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    raw.write_packet(0, b"\x02rwtest");
    assert_eq!(raw.read_packet().1[0], 0x00, "COM_INIT_DB OK");
    raw.write_packet(0, b"\x04fl\x00");
    let mut names = Vec::new();
    loop {
        let (_, p) = raw.read_packet();
        if p[0] == 0xFE && p.len() < 9 {
            break;
        }
        assert_ne!(p[0], 0xFF, "error: {}", String::from_utf8_lossy(&p));
        names.push(String::from_utf8_lossy(&p).into_owned());
    }
    assert_eq!(names.len(), 2);
    assert!(names[0].contains("id") && names[1].contains("name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_connection_and_change_user() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let pool = p.pool(&c, Some("rwtest"));
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop("SET @v = 42, SESSION sql_mode = 'ANSI_QUOTES'")
        .await
        .unwrap();
    let v: Option<i64> = conn.query_first("SELECT @v").await.unwrap();
    assert_eq!(v, Some(42));
    conn.ping().await.unwrap();
    conn.reset().await.unwrap();
    let (v, mode): (Option<i64>, String) = conn
        .query_first("SELECT @v, @@sql_mode")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, None, "user variable gone after COM_RESET_CONNECTION");
    assert!(!mode.contains("ANSI_QUOTES"), "sql_mode reset: {mode}");
    let db: Option<String> = conn.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(db.as_deref(), Some("rwtest"), "database kept across reset");

    conn.query_drop("SET @w = 1").await.unwrap();
    conn.change_user(
        mysql_async::ChangeUserOpts::default()
            .with_user(Some(c.user().to_string()))
            .with_pass(Some(c.password().to_string()))
            .with_db_name(Some("sbtest".to_string())),
    )
    .await
    .unwrap();
    let (w, db): (Option<i64>, Option<String>) = conn
        .query_first("SELECT @w, DATABASE()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w, None, "state reset by COM_CHANGE_USER");
    assert_eq!(db.as_deref(), Some("sbtest"));
    let bad = conn
        .change_user(
            mysql_async::ChangeUserOpts::default()
                .with_user(Some(c.user().to_string()))
                .with_pass(Some("wrong".to_string())),
        )
        .await;
    let err = format!("{:?}", bad.unwrap_err());
    assert!(err.contains("1045"), "{err}");
    drop(conn);
    pool.disconnect().await.unwrap();
}

#[test]
fn multi_statements_and_procedures_return_every_result() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    p.sql_ok(&c, "DROP PROCEDURE IF EXISTS rwtest.two_results;\nDELIMITER //\nCREATE PROCEDURE rwtest.two_results() BEGIN SELECT 1 AS a; SELECT 2 AS b, 3 AS c; END//\nDELIMITER ;\n");
    let out = p.sql_ok(
        &c,
        "CALL rwtest.two_results(); SELECT 'x'; SELECT 'y' UNION SELECT 'z';",
    );
    assert_eq!(out, vec!["1", "2\t3", "x", "y", "z"]);
}

#[test]
fn kill_uses_proxy_connection_ids() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    // A long query in one session, killed from another by the id from the first one's greeting.
    let mut victim = RawClient::login(p.port, c.user(), c.password());
    let victim_id = victim.connection_id;
    victim.write_packet(0, b"\x03SELECT SLEEP(30)");
    std::thread::sleep(Duration::from_millis(500));
    let out = p.sql(&c, &format!("KILL QUERY {victim_id}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SLEEP interrupted by KILL QUERY returns 1 as its value (MariaDB) or error 1317.
    let start = std::time::Instant::now();
    let (_, first) = victim.read_packet();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the query was interrupted"
    );
    assert!(first[0] == 1 || first[0] == 0xFF, "{first:?}");

    let out = p.sql(&c, "KILL 987654");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ERROR 1094 (HY000)") && err.contains("Unknown thread id: 987654"),
        "{err}"
    );

    let out = p.sql(&c, &format!("KILL {victim_id}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut rest = Vec::new();
    use std::io::Read;
    victim
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = victim.stream.read_to_end(&mut rest);
    victim.write_packet(0, b"\x03SELECT 1");
    let mut buf = [0u8; 16];
    let n = victim.stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "killed connection is closed");
}

#[test]
fn pooled_backend_connections_serve_connect_per_query_clients_with_clean_state() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let connections = |port: u16| c.status_counter(port, "Connections");
    // Warm up: one session leaves its connections in the pool.
    p.sql_ok(&c, "SELECT 1");
    std::thread::sleep(Duration::from_millis(200));
    let before: Vec<u64> = std::iter::once(c.master_port())
        .chain(c.replica_ports())
        .map(connections)
        .collect();
    for i in 0..100 {
        // PHP style: connect, leave some session state behind, one query, disconnect.
        let out = p.sql_ok(&c, &format!("SELECT @leftover IS NULL, @@sql_mode NOT LIKE '%ANSI_QUOTES%'; SET @leftover = {i}, SESSION sql_mode = 'ANSI_QUOTES';"));
        assert_eq!(
            out[0], "1\t1",
            "round {i}: no state leaks from a pooled connection's previous session"
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let after: Vec<u64> = std::iter::once(c.master_port())
        .chain(c.replica_ports())
        .map(connections)
        .collect();
    let new_backend_logins: u64 = after.iter().zip(&before).map(|(a, b)| a - b).sum();
    // Each status probe itself is one login per server (3 per probe); the 100 client sessions
    // must mostly reuse pooled connections.
    assert!(
        new_backend_logins <= 3 + 20,
        "100 short sessions opened {new_backend_logins} backend connections"
    );
}

#[test]
fn clean_pooled_connections_skip_the_reset_and_dirty_ones_get_it() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    // COM_RESET_CONNECTION has no counter of its own in MariaDB; it counts in
    // Com_admin_commands (this proxy has no [monitor], so nothing else sends admin commands).
    let resets = || -> u64 {
        c.replica_ports()
            .iter()
            .map(|port| c.status_counter(*port, "Com_admin_commands"))
            .sum()
    };
    p.sql_ok(&c, "SELECT 1");
    std::thread::sleep(Duration::from_millis(200));
    let before = resets();
    // Plain reads leave nothing on the replica connection: back to the pool without a reset.
    for i in 0..30 {
        assert_eq!(p.sql_ok(&c, &format!("SELECT {i}"))[0], i.to_string());
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(resets(), before, "clean replica connections were reset");
    // A read with a warning fills the diagnostics area: that connection is reset, and the next
    // sessions see no trace of it.
    for _ in 0..10 {
        let out = p.sql_ok(&c, "SELECT CAST('1x' AS INTEGER); SHOW WARNINGS;");
        assert!(
            out.iter().any(|l| l.contains("Truncated incorrect")),
            "{out:?}"
        );
        let out = p.sql_ok(&c, "SELECT @@warning_count, @@server_id");
        assert!(
            out[0].starts_with("0\t"),
            "warnings leaked into a new session: {out:?}"
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        resets() >= before + 10,
        "connections with warnings went back unreset"
    );
}
