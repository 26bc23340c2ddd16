//! Multiplexing: idle client sessions hand clean backend connections back to the pool, so
//! many app connections share few backend connections, and every session keeps its meaning.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

/// Open backend connections of the proxy (in sessions and in the pool), from /metrics.
fn backend_connections(metrics_port: u16) -> f64 {
    let (_, body) = metrics_http(metrics_port);
    body.lines()
        .filter(|l| l.starts_with("rwsplit_backend_connections{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The pool keeps at most this many idle connections per backend in these tests.
const MAX_IDLE: f64 = 10.0;

fn start(c: &Cluster, routing: &str) -> (Proxy, u16) {
    let metrics = free_port();
    let p = Proxy::start(
        c,
        &format!(
            "[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n\n[limits]\nmax_idle_backend_connections = {MAX_IDLE}\n\n[routing]\n{routing}\n"
        ),
    );
    (p, metrics)
}

async fn idle_sessions(
    c: &Cluster,
    p: &Proxy,
    n: usize,
    init: Option<&str>,
) -> Vec<mysql_async::Conn> {
    let mut conns = Vec::new();
    for _ in 0..n {
        let mut conn = mysql_async::Conn::new(p.opts(c, Some("rwtest")))
            .await
            .unwrap();
        if let Some(sql) = init {
            conn.query_drop(sql).await.unwrap();
        }
        let sid: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
        assert!(c.replica_ids().contains(&sid.unwrap().to_string()));
        conns.push(conn);
    }
    conns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_share_backend_connections() {
    let c = Cluster::shared();
    // Off: every session holds the replica connection it logged in and read on (a free
    // session's login goes where its reads go; the master is not touched).
    let (p, metrics) = start(&c, "multiplex = false");
    let conns = idle_sessions(&c, &p, 100, None).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let without = backend_connections(metrics);
    assert!(without >= 100.0, "without multiplexing: {without}");
    for conn in conns {
        conn.disconnect().await.unwrap();
    }
    drop(p);

    // On: idle sessions give both back; the pool keeps at most MAX_IDLE per backend.
    let (p, metrics) = start(&c, "multiplex = true\nmultiplex_after = \"50ms\"");
    let mut conns = idle_sessions(&c, &p, 100, None).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let with = backend_connections(metrics);
    eprintln!("100 idle sessions: {without} backend connections without multiplexing, {with} with");
    assert!(with <= 3.0 * MAX_IDLE, "with multiplexing: {with}");
    // They all work again: reads on replicas, writes on the master (a replica would refuse
    // them: read_only). The table is made outside these sessions, so that no session has a
    // write of its own to wait for before its read (read-your-writes).
    let t = format!("rwtest.mux_{}", std::process::id());
    c.root_sql(
        "master",
        &format!("CREATE TABLE IF NOT EXISTS {t} (id INT PRIMARY KEY)"),
    );
    for (i, conn) in conns.iter_mut().enumerate() {
        let sid: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
        assert!(c.replica_ids().contains(&sid.unwrap().to_string()));
        conn.query_drop(format!("INSERT INTO {t} VALUES ({i})"))
            .await
            .unwrap();
    }
    c.root_sql("master", &format!("DROP TABLE {t}"));
    for conn in conns {
        conn.disconnect().await.unwrap();
    }
}

/// Clients that set their character set at connect (PyMySQL, mysqli set_charset, Rails) carry
/// session state; connections that carry the same state are shared among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_with_the_same_settings_share_connections() {
    let c = Cluster::shared();
    let (p, metrics) = start(&c, "multiplex = true\nmultiplex_after = \"50ms\"");
    let mut conns = idle_sessions(&c, &p, 100, Some("SET NAMES utf8mb4")).await;
    // A few sessions with other settings in between.
    let mut others = idle_sessions(&c, &p, 5, Some("SET SESSION sql_mode = 'ANSI_QUOTES'")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let held = backend_connections(metrics);
    eprintln!("105 idle sessions with settings: {held} backend connections");
    assert!(held <= 3.0 * MAX_IDLE, "{held}");
    for conn in conns.iter_mut() {
        let (cs, mode): (String, String) = conn
            .query_first("SELECT @@character_set_client, @@sql_mode")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cs, "utf8mb4");
        assert_ne!(mode, "ANSI_QUOTES");
    }
    for conn in others.iter_mut() {
        let mode: Option<String> = conn.query_first("SELECT @@sql_mode").await.unwrap();
        assert_eq!(mode.as_deref(), Some("ANSI_QUOTES"));
    }
    for conn in conns.into_iter().chain(others) {
        conn.disconnect().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_keep_their_meaning_across_idle_gaps() {
    let c = Cluster::shared();
    let (p, _) = start(&c, "multiplex = true\nmultiplex_after = \"0s\"");
    let pause = || tokio::time::sleep(Duration::from_millis(150));
    let pool = p.pool(&c, Some("rwtest"));
    let mut conn = pool.get_conn().await.unwrap();
    let t = format!("mux_meaning_{}", std::process::id());
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {t} (id INT AUTO_INCREMENT PRIMARY KEY, v TINYINT)"
    ))
    .await
    .unwrap();

    // A write with a warning, a clean read, a gap: SHOW WARNINGS speaks of the read (none).
    conn.query_drop(format!("INSERT IGNORE INTO {t} (v) VALUES (1000)"))
        .await
        .unwrap();
    let w: Vec<(String, i64, String)> = conn.query("SHOW WARNINGS").await.unwrap();
    assert_eq!(w.len(), 1, "the INSERT's own warning");
    let _: Option<i64> = conn.query_first("SELECT 1").await.unwrap();
    pause().await;
    let w: Vec<(String, i64, String)> = conn.query("SHOW WARNINGS").await.unwrap();
    assert!(
        w.is_empty(),
        "warnings of the last statement (a clean read): {w:?}"
    );

    // LAST_INSERT_ID survives a gap (the master connection that wrote is kept).
    conn.query_drop(format!("INSERT INTO {t} (v) VALUES (1)"))
        .await
        .unwrap();
    let id: Option<i64> = conn
        .query_first(format!("SELECT MAX(id) FROM {t}"))
        .await
        .unwrap();
    pause().await;
    let last: Option<i64> = conn.query_first("SELECT LAST_INSERT_ID()").await.unwrap();
    assert_eq!(last, id);

    // Session variables, user variables and temporary tables survive gaps.
    conn.query_drop("SET SESSION sql_mode = 'ANSI_QUOTES'")
        .await
        .unwrap();
    conn.query_drop("SET @mux = 42").await.unwrap();
    conn.query_drop("CREATE TEMPORARY TABLE mux_tmp (x INT)")
        .await
        .unwrap();
    conn.query_drop("INSERT INTO mux_tmp VALUES (7)")
        .await
        .unwrap();
    pause().await;
    let mode: Option<String> = conn.query_first("SELECT @@sql_mode").await.unwrap();
    assert_eq!(mode.as_deref(), Some("ANSI_QUOTES"));
    pause().await;
    let v: Option<i64> = conn.query_first("SELECT @mux").await.unwrap();
    assert_eq!(v, Some(42));
    pause().await;
    let x: Option<i64> = conn.query_first("SELECT x FROM mux_tmp").await.unwrap();
    assert_eq!(x, Some(7));

    // A prepared statement executes again after a gap.
    let stmt = conn.prep("SELECT ? + 1").await.unwrap();
    let a: Option<i64> = conn.exec_first(&stmt, (1,)).await.unwrap();
    pause().await;
    let b: Option<i64> = conn.exec_first(&stmt, (2,)).await.unwrap();
    assert_eq!((a, b), (Some(2), Some(3)));

    // A transaction is never split by a gap.
    conn.query_drop("BEGIN").await.unwrap();
    let s1: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
    pause().await;
    let s2: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
    conn.query_drop("COMMIT").await.unwrap();
    assert_eq!(s1, s2);
    assert_eq!(s1.unwrap().to_string(), c.master_id());

    conn.query_drop(format!("DROP TABLE {t}")).await.unwrap();
    drop(conn);
    pool.disconnect().await.unwrap();
}

/// `SELECT SQL_CALC_FOUND_ROWS ... LIMIT`, an idle gap, then `SELECT FOUND_ROWS()` (WordPress's
/// pagination, with a slow page in between): the count belongs to the connection the SELECT
/// ran on, so that connection is not handed back in between — another session using it
/// would overwrite the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn found_rows_after_sql_calc_found_rows_survives_an_idle_gap() {
    let c = Cluster::shared();
    let db = format!("mux_calc_{}", std::process::id());
    c.fresh_db(&db);
    let mk = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1),(2),(3),(4),(5),(6),(7)"),
    );
    assert!(
        mk.status.success(),
        "{}",
        String::from_utf8_lossy(&mk.stderr)
    );
    c.wait_replicas();
    let (p, _) = start(&c, "multiplex = true\nmultiplex_after = \"0s\"");
    let pool = p.pool(&c, Some(&db));
    let mut page = pool.get_conn().await.unwrap();
    let ids: Vec<i64> = page
        .query("SELECT SQL_CALC_FOUND_ROWS id FROM t ORDER BY id LIMIT 2")
        .await
        .unwrap();
    assert_eq!(ids, vec![1, 2]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Other sessions take whatever the pool has and leave other counts on it.
    let mut others = Vec::new();
    for _ in 0..4 {
        let mut o = pool.get_conn().await.unwrap();
        let _: Vec<i64> = o.query("SELECT 1").await.unwrap();
        others.push(o);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let found: Option<i64> = page.query_first("SELECT FOUND_ROWS()").await.unwrap();
    assert_eq!(
        found,
        Some(7),
        "FOUND_ROWS() after SQL_CALC_FOUND_ROWS and an idle gap"
    );
    drop(others);
}
