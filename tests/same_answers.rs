//! The defects real drivers found (issue "same answers as a direct connection"), each run
//! through the proxy and, where the answer is data, compared with a direct connection to the
//! master. Where a statement ran is checked on the servers themselves.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

/// Options for `direct_conn`, straight to the master (through the proxy: `Proxy::opts`).
fn opts(url: &str) -> mysql_async::Opts {
    mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(url).unwrap())
        .prefer_socket(false)
        .into()
}

async fn proxy_conn(p: &Proxy, c: &Cluster) -> mysql_async::Conn {
    mysql_async::Conn::new(p.opts(c, Some("rwtest")))
        .await
        .unwrap()
}

async fn direct_conn(c: &Cluster) -> mysql_async::Conn {
    let url = format!(
        "mysql://{}:{}@127.0.0.1:{}/rwtest",
        c.user(),
        c.password(),
        c.master_port()
    );
    mysql_async::Conn::new(opts(&url)).await.unwrap()
}

fn table(c: &Cluster, name: &str, ddl: &str) -> String {
    let t = format!("rwtest.{name}_{}", std::process::id());
    c.root_sql(
        "master",
        &format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} {ddl}"),
    );
    t
}

fn wait_replicated(c: &Cluster, sql: &str, want: &str) {
    eventually("replicas caught up", Duration::from_secs(15), || {
        c.replica_ports().iter().all(|p| {
            String::from_utf8_lossy(&mariadb(*p, c.user(), c.password(), sql).stdout).trim() == want
        })
    });
}

/// Defect 1: "READ ONLY" in a string made a BEGIN a read-only transaction, and the INSERT of
/// the same multi-statement ran on a replica (the app account cannot write there: read_only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_in_a_string_does_not_send_a_write_to_a_replica() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let t = table(
        &c,
        "ro_text",
        "(id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(20))",
    );
    let mut conn = proxy_conn(&p, &c).await;
    conn.query_drop(format!(
        "START TRANSACTION; INSERT INTO {t} (s) VALUES ('READ ONLY')"
    ))
    .await
    .expect("the insert runs on the master");
    conn.query_drop("COMMIT").await.unwrap();
    let on_master = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("SELECT COUNT(*) FROM {t}"),
    );
    assert_eq!(String::from_utf8_lossy(&on_master.stdout).trim(), "1");
    // A real read-only transaction is a transaction: on the master, where a write in it gets
    // the server's own 1792, as on a direct connection.
    conn.query_drop("START TRANSACTION READ ONLY")
        .await
        .unwrap();
    let e = conn
        .query_drop(format!("INSERT INTO {t} (s) VALUES ('x')"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("1792"), "{e}");
    conn.query_drop("COMMIT").await.unwrap();
}

/// Defects 2 and 3: KILL with a comment was forwarded verbatim (killing the master thread of
/// that number); CONNECTION_ID() named a backend thread that KILL did not know.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_forms_and_connection_id() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let kills_before = c.status_counter(c.master_port(), "Com_kill");

    // The proxy id from the greeting, behind a comment: that session's statement stops.
    let mut victim = proxy_conn(&p, &c).await;
    let victim_id = victim.id();
    let sleeper = tokio::spawn(async move {
        let r: Result<Option<i64>, _> = victim.query_first("SELECT SLEEP(20)").await;
        (r, victim)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut killer = proxy_conn(&p, &c).await;
    let started = std::time::Instant::now();
    killer
        .query_drop(format!("/* app tag */ KILL /* x */ QUERY {victim_id}"))
        .await
        .unwrap();
    let (r, mut victim) = sleeper.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the sleeping read was interrupted"
    );
    // SLEEP interrupted by KILL QUERY returns 1 (or the query fails with 1317).
    assert!(matches!(r, Ok(Some(1)) | Err(_)), "{r:?}");

    // CONNECTION_ID() gives a backend thread id; KILL QUERY of that id from another connection
    // of the same account reaches the same session.
    let shown: i64 = victim
        .query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap();
    let sleeper = tokio::spawn(async move {
        let r: Result<Option<i64>, _> = victim.query_first("SELECT SLEEP(20)").await;
        r
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    killer
        .query_drop(format!("KILL QUERY {shown}"))
        .await
        .expect("the CONNECTION_ID() value is known to KILL");
    let r = sleeper.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(r, Ok(Some(1)) | Err(_)), "{r:?}");

    // Forms the proxy cannot map are refused, never forwarded.
    for sql in [
        "KILL USER app".to_string(),
        format!("KILL QUERY ID {shown}"),
        format!("SELECT 1; KILL {shown}"),
    ] {
        let e = killer.query_drop(&sql).await.unwrap_err();
        assert!(e.to_string().contains("1235"), "{sql}: {e}");
    }
    // Unknown ids: the server's own answer.
    let e = killer.query_drop("KILL 987654321").await.unwrap_err();
    assert!(e.to_string().contains("1094"), "{e}");
    assert_eq!(
        c.status_counter(c.master_port(), "Com_kill"),
        kills_before + 1,
        "only the mapped KILL QUERY of the master thread reached the master"
    );
}

/// Defect 4: after a CALL, OUT parameters are user variables on the master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_parameters_are_read_where_the_call_ran() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let proc_name = format!("rwtest.p_out_{}", std::process::id());
    c.root_sql(
        "master",
        &format!("DROP PROCEDURE IF EXISTS {proc_name}; CREATE PROCEDURE {proc_name}(IN a INT, OUT b INT) SET b = a * 2"),
    );
    for conn in [proxy_conn(&p, &c).await, direct_conn(&c).await] {
        let mut conn = conn;
        // What connectors do for callable statements: initialise, call, read back.
        conn.query_drop("SET @o = 0").await.unwrap();
        conn.query_drop(format!("CALL {proc_name}(21, @o)"))
            .await
            .unwrap();
        let o: Option<i64> = conn.query_first("SELECT @o").await.unwrap();
        assert_eq!(o, Some(42));
        let o: Option<i64> = conn.exec_first("SELECT @o", ()).await.unwrap();
        assert_eq!(o, Some(42), "binary protocol too");
    }
}

/// Defect 5: a SET of a non-deterministic value is not replayed as an expression.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_deterministic_sets_keep_their_value() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut conn = proxy_conn(&p, &c).await;
    conn.query_drop("SET @t = UUID(), @r = RAND(), @n = NOW(6)")
        .await
        .unwrap();
    let a: (String, f64, String) = conn
        .query_first("SELECT @t, @r, @n")
        .await
        .unwrap()
        .unwrap();
    let b: (String, f64, String) = conn
        .query_first("/* rwsplit:master */ SELECT @t, @r, @n")
        .await
        .unwrap()
        .unwrap();
    let c2: (String, f64, String) = conn
        .query_first("/* rwsplit:replica */ SELECT @t, @r, @n")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c2);
    // A session variable set that way: the whole session stays where its value is.
    conn.query_drop("SET @@session.timestamp = UNIX_TIMESTAMP() - 86400")
        .await
        .unwrap();
    let x: i64 = conn
        .query_first("SELECT UNIX_TIMESTAMP()")
        .await
        .unwrap()
        .unwrap();
    let y: i64 = conn
        .query_first("SELECT UNIX_TIMESTAMP()")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x, y, "the fixed timestamp answers every read");
}

/// Defect 6: replay keeps the order in which settings and reads of them happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_keeps_the_order_of_settings() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let script = [
        "SET sql_mode = 'ANSI_QUOTES'",
        "SET @saved = @@sql_mode",
        "SET sql_mode = 'TRADITIONAL'",
    ];
    let mut direct = direct_conn(&c).await;
    let mut proxied = proxy_conn(&p, &c).await;
    for s in script {
        direct.query_drop(s).await.unwrap();
        proxied.query_drop(s).await.unwrap();
    }
    let want: Option<(String, String)> = direct
        .query_first("SELECT @saved, @@sql_mode")
        .await
        .unwrap();
    // On the backend the session did not use yet: everything replayed, in order.
    let got: Option<(String, String)> = proxied
        .query_first("/* rwsplit:master */ SELECT @saved, @@sql_mode")
        .await
        .unwrap();
    assert_eq!(got, want);
    let got: Option<(String, String)> = proxied
        .query_first("SELECT @saved, @@sql_mode")
        .await
        .unwrap();
    assert_eq!(got, want);
}

/// Defects 7 and 14: FOUND_ROWS() is about the previous SELECT, wherever it ran, through the
/// text and the binary protocol alike; SHOW WARNINGS about the previous statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_statement_rules_in_both_protocols() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let t = table(&c, "fr", "(id INT PRIMARY KEY, v INT)");
    let rows: Vec<String> = (1..=90).map(|i| format!("({i}, {i})")).collect();
    c.root_sql(
        "master",
        &format!("INSERT INTO {t} VALUES {}", rows.join(",")),
    );
    wait_replicated(&c, &format!("SELECT COUNT(*) FROM {t}"), "90");
    let found = format!("SELECT SQL_CALC_FOUND_ROWS * FROM {t} ORDER BY id LIMIT 3");
    for conn in [proxy_conn(&p, &c).await, direct_conn(&c).await] {
        let mut conn = conn;
        // Text protocol.
        let _: Vec<(i64, i64)> = conn.query(&found).await.unwrap();
        let n: Option<i64> = conn.query_first("SELECT FOUND_ROWS()").await.unwrap();
        assert_eq!(n, Some(90), "text");
        // Binary protocol (mysql_async's exec prepares and executes).
        let _: Vec<(i64, i64)> = conn.exec(&found, ()).await.unwrap();
        let n: Option<i64> = conn.exec_first("SELECT FOUND_ROWS()", ()).await.unwrap();
        assert_eq!(n, Some(90), "binary");
        // After a write: the count is still the SELECT's.
        let _: Vec<(i64, i64)> = conn.query(&found).await.unwrap();
        conn.query_drop(format!("DELETE FROM {t} WHERE id = -1"))
            .await
            .unwrap();
        let n: Option<i64> = conn.query_first("SELECT FOUND_ROWS()").await.unwrap();
        assert_eq!(n, Some(90), "after a DELETE");
        let rc: Option<i64> = conn.query_first("SELECT ROW_COUNT()").await.unwrap();
        assert_eq!(rc, Some(-1), "ROW_COUNT() of the SELECT FOUND_ROWS()");
        // Warnings of a read, asked through the binary protocol.
        let _: Option<i64> = conn
            .query_first("SELECT CAST('abc' AS SIGNED)")
            .await
            .unwrap();
        let w: Vec<(String, i64, String)> = conn.exec("SHOW WARNINGS", ()).await.unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].1, 1292);
    }
}

/// Defect 8: reads after a transaction ended by `SET autocommit=1` see its writes (replicas
/// lag by a second here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_commits_are_read_your_writes() {
    let pc = Cluster::private("implicit_commit");
    let c = pc.cluster.clone();
    for node in ["replica1", "replica2"] {
        c.root_sql(
            node,
            "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 1; START SLAVE;",
        );
    }
    c.root_sql(
        "master",
        "CREATE TABLE rwtest.ic (id INT PRIMARY KEY, v INT); INSERT INTO rwtest.ic VALUES (1, 0); CREATE SEQUENCE rwtest.sq",
    );
    wait_replicated(&c, "SELECT v FROM rwtest.ic", "0");
    let p = Proxy::start(
        &c,
        "[routing]\nconsistency_wait = \"5ms\"\n\n[monitor]\nuser = \"monitor\"\npassword = \"monitorpass\"\ninterval = \"200ms\"\n",
    );
    let mut conn = proxy_conn(&p, &c).await;
    let mut stale = Vec::new();
    for i in 1..=10i64 {
        // HikariCP's setAutoCommit(true) on return, mysqlclient's autocommit(True).
        conn.query_drop("SET autocommit = 0").await.unwrap();
        conn.query_drop(format!("UPDATE ic SET v = {i} WHERE id = 1"))
            .await
            .unwrap();
        conn.query_drop("SET autocommit = 1").await.unwrap();
        let v: i64 = conn
            .query_first("SELECT v FROM ic WHERE id = 1")
            .await
            .unwrap()
            .unwrap();
        if v != i {
            stale.push(("autocommit", i, v));
        }
        // A write inside a multi-statement.
        let w = 100 + i;
        conn.query_drop(format!("USE rwtest; UPDATE ic SET v = {w} WHERE id = 1"))
            .await
            .unwrap();
        let v: i64 = conn
            .query_first("SELECT v FROM rwtest.ic WHERE id = 1")
            .await
            .unwrap()
            .unwrap();
        if v != w {
            stale.push(("multi", w, v));
        }
    }
    assert!(stale.is_empty(), "stale reads: {stale:?}");
}

/// Defect 10: a pooled connection keeps what the login's capability flags set
/// (CLIENT_IGNORE_SPACE puts IGNORE_SPACE in sql_mode; mysql2 and mysqljs log in with it).
#[test]
fn ignore_space_survives_the_pool() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[routing]\nmultiplex = false\n");
    let script = r#"
import sys, pymysql
from pymysql.constants import CLIENT
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(6):
    conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=pw, database="rwtest",
                           autocommit=True, client_flag=CLIENT.IGNORE_SPACE)
    cur = conn.cursor()
    # Dirty the connections (a SET and a write), so the pool resets them.
    cur.execute("SET @x = %s", (i,))
    cur.execute("DO 1")
    cur.execute("SELECT COUNT (*) FROM information_schema.tables WHERE 1 = 0")
    assert cur.fetchone()[0] == 0
    cur.execute("/* rwsplit:master */ SELECT COUNT (*) FROM information_schema.tables WHERE 1 = 0")
    assert cur.fetchone()[0] == 0
    conn.close()
print("ok")
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &p.port.to_string(), c.user(), c.password()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Defect 11: COM_CHANGE_USER with a wrong password answers 1045 with the host the server
/// shows, and the connection goes on as the old account — started over, as the server starts
/// it over: the user variable is gone (tests/session_trackers.rs compares it with a direct
/// connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_user_with_a_wrong_password_keeps_the_connection() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut conn = proxy_conn(&p, &c).await;
    conn.query_drop("SET @keep = 7").await.unwrap();
    let bad = mysql_async::ChangeUserOpts::default()
        .with_user(Some(c.user().to_string()))
        .with_pass(Some("wrong".to_string()));
    let e = conn.change_user(bad).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("1045") && text.contains("'127.0.0.1'"),
        "{text}"
    );
    let v: Option<(Option<i64>, String)> = conn
        .query_first("SELECT @keep, CURRENT_USER()")
        .await
        .unwrap();
    let (keep, user) = v.unwrap();
    assert_eq!(keep, None, "the session goes on, started over");
    assert!(user.starts_with(c.user()), "{user}");
}

/// Defect 13: a read-only session that sets its character set never touches the master.
#[test]
fn read_only_sessions_leave_the_master_alone() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    // Warm the pool, then count (the counters are read with SHOW, which counts in neither
    // Com_select nor Com_set_option; Connections is read last before and first after, so
    // its own login is the one to discount).
    p.sql_ok(&c, "SET NAMES utf8mb4; SELECT 1");
    let m = c.master_port();
    let selects = c.status_counter(m, "Com_select");
    let sets = c.status_counter(m, "Com_set_option");
    let connections = c.status_counter(m, "Connections");
    for _ in 0..20 {
        p.sql_ok(
            &c,
            "SET NAMES utf8mb4; SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'; SELECT COUNT(*) FROM information_schema.schemata",
        );
    }
    let n = c.status_counter(m, "Connections") - connections - 1;
    let s = c.status_counter(m, "Com_select") - selects;
    let q = c.status_counter(m, "Com_set_option") - sets;
    assert!(
        s == 0 && q == 0 && n == 0,
        "master saw {s} SELECTs, {q} SETs and {n} logins"
    );
}

/// Defect 12: COM_STMT_RESET after the statement's backend is gone (it falls back to the
/// master) answers instead of panicking; the per-user slot is given back by ownership.
#[test]
fn stmt_reset_after_the_replicas_are_gone() {
    let pc = Cluster::private("stmt_reset");
    let c = pc.cluster.clone();
    let p = Proxy::start(&c, "[limits]\nmax_user_connections = 1\n");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    // COM_STMT_PREPARE "SELECT ?": OK, one parameter definition + EOF, one column + EOF.
    raw.write_packet(0, b"\x16SELECT ?");
    let (_, ok) = raw.read_packet();
    assert_eq!(ok[0], 0x00, "{ok:?}");
    let id = [ok[1], ok[2], ok[3], ok[4]];
    for _ in 0..4 {
        raw.read_packet();
    }
    pc.stop_node("replica1");
    pc.stop_node("replica2");
    // Past the idle check: the proxy finds the replica connection closed, cannot open another
    // one and falls back to the master, where the statement is prepared afresh.
    std::thread::sleep(Duration::from_millis(800));
    let mut reset = vec![0x1a];
    reset.extend_from_slice(&id);
    raw.write_packet(0, &reset);
    let (_, answer) = raw.read_packet();
    assert_eq!(answer[0], 0x00, "COM_STMT_RESET answered OK: {answer:?}");
    raw.write_packet(0, b"\x03SELECT 1");
    let (_, cols) = raw.read_packet();
    assert_eq!(cols, vec![1], "the session goes on");
    drop(raw);
    // The slot was given back: a new login of the account works.
    eventually("slot released", Duration::from_secs(5), || {
        p.sql(&c, "SELECT 1").status.success()
    });
    assert!(!p.log().contains("panicked"), "{}", tail(&p.log(), 20));
}
