//! Several clusters behind one proxy (`[[clusters]]` and rules naming them), end to end: the
//! test cluster's main master and replicas, and its second cluster (one master, one replica).
//! Where a statement ran is read from `@@server_id`; where data landed, from each master
//! directly.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

/// The second cluster's master and replica ports.
fn second(c: &Cluster) -> (u16, u16) {
    (
        c.var("MASTER2_PORT").parse().expect("MASTER2_PORT"),
        c.var("REPLICA3_PORT").parse().expect("REPLICA3_PORT"),
    )
}

fn server_id(c: &Cluster, port: u16) -> String {
    rows(c, port, "SELECT @@server_id").remove(0)
}

/// Server ids of the main cluster and of the second one.
fn ids(c: &Cluster) -> (Vec<String>, Vec<String>) {
    let (m2, r3) = second(c);
    let mut main = vec![c.master_id()];
    main.extend(c.replica_ids());
    (main, vec![server_id(c, m2), server_id(c, r3)])
}

/// `[[clusters]]` "blogs2" (the second cluster) and a rule sending `blog_2*` there, plus
/// `extra`.
fn two_clusters(c: &Cluster, extra: &str) -> String {
    let (m2, r3) = second(c);
    format!(
        "[[clusters]]\nname = \"blogs2\"\nmaster = {{ address = \"127.0.0.1:{m2}\" }}\n\
         replicas = [{{ address = \"127.0.0.1:{r3}\", weight = 1 }}]\n\n\
         [[rules]]\nschema = \"blog_2*\"\ncluster = \"blogs2\"\n\n{extra}"
    )
}

fn uniq(prefix: &str) -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000)
}

/// Does the server on `port` have database `db`?
fn has_db(c: &Cluster, port: u16, db: &str) -> bool {
    !rows(c, port, &format!("SHOW DATABASES LIKE '{db}'")).is_empty()
}

/// The rows of `sql` run with the application account directly on the server at `port`.
fn rows(c: &Cluster, port: u16, sql: &str) -> Vec<String> {
    lines(port, c.user(), c.password(), sql)
}

/// The rows (tab-separated lines) of `sql` run with the mariadb CLI; it must succeed.
fn lines(port: u16, user: &str, password: &str, sql: &str) -> Vec<String> {
    let out = mariadb(port, user, password, sql);
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_schema_rule_sends_a_database_to_its_cluster_and_the_rest_to_main() {
    let c = Cluster::shared();
    let (m2, _) = second(&c);
    let (main_ids, second_ids) = ids(&c);
    let p = Proxy::start(&c, &two_clusters(&c, ""));
    let db = uniq("blog_2x");
    // CREATE DATABASE, DDL, a write and reads of blog_2*: the second cluster.
    p.sql_ok(&c, &format!("CREATE DATABASE {db}"));
    p.sql_ok(
        &c,
        &format!("CREATE TABLE {db}.posts (id INT PRIMARY KEY, t VARCHAR(20))"),
    );
    p.sql_ok(&c, &format!("INSERT INTO {db}.posts VALUES (1, 'hello')"));
    assert!(has_db(&c, m2, &db), "created on the second master");
    assert!(!has_db(&c, c.master_port(), &db), "not on the main one");
    assert_eq!(
        rows(&c, m2, &format!("SELECT t FROM {db}.posts")),
        vec!["hello"]
    );
    let (_, r3) = second(&c);
    eventually(
        "the second replica has the row",
        Duration::from_secs(10),
        || {
            let out = mariadb(
                r3,
                c.user(),
                c.password(),
                &format!("SELECT t FROM {db}.posts"),
            );
            String::from_utf8_lossy(&out.stdout).trim() == "hello"
        },
    );
    for _ in 0..5 {
        let got = p.sql_ok(&c, &format!("SELECT @@server_id, t FROM {db}.posts"));
        let (id, t) = got[0].split_once('\t').unwrap();
        assert!(second_ids.contains(&id.to_string()), "{got:?}");
        assert_eq!(t, "hello");
    }
    // With the database selected at login: the same cluster.
    let got = rt().block_on(async {
        let pool = p.pool(&c, Some(&db));
        let mut conn = pool.get_conn().await.unwrap();
        let r: Vec<(u32, String)> = conn.query("SELECT @@server_id, DATABASE()").await.unwrap();
        drop(conn);
        pool.disconnect().await.unwrap();
        r
    });
    assert!(second_ids.contains(&got[0].0.to_string()), "{got:?}");
    assert_eq!(got[0].1, db);
    // Anything else: main.
    for _ in 0..5 {
        let id = p.sql_ok(&c, "SELECT @@server_id")[0].clone();
        assert!(main_ids.contains(&id), "{id}");
    }
    let main_db = uniq("main_db");
    p.sql_ok(&c, &format!("CREATE DATABASE {main_db}"));
    assert!(has_db(&c, c.master_port(), &main_db));
    assert!(!has_db(&c, m2, &main_db));
    // A statement naming databases of both clusters: refused, nothing runs.
    let out = p.sql(
        &c,
        &format!("SELECT * FROM {db}.posts JOIN {main_db}.nothing USING (id)"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ERROR 1105") && err.contains("two clusters"),
        "{err}"
    );
    p.sql_ok(&c, &format!("DROP DATABASE {db}"));
    p.sql_ok(&c, &format!("DROP DATABASE {main_db}"));
    assert!(!has_db(&c, m2, &db));
}

#[test]
fn use_moves_a_session_to_the_other_cluster_and_back_with_its_state() {
    let c = Cluster::shared();
    let (main_ids, second_ids) = ids(&c);
    let p = Proxy::start(&c, &two_clusters(&c, ""));
    let (db, main_db) = (uniq("blog_2u"), uniq("main_u"));
    p.sql_ok(&c, &format!("CREATE DATABASE {db}"));
    p.sql_ok(&c, &format!("CREATE DATABASE {main_db}"));
    rt().block_on(async {
        let pool = p.pool(&c, Some(&main_db));
        let mut conn = pool.get_conn().await.unwrap();
        let id = |r: Option<u32>| r.unwrap().to_string();
        let on: Option<u32> = conn.query_first("SELECT @@server_id").await.unwrap();
        assert!(main_ids.contains(&id(on)));
        conn.query_drop("SET NAMES latin1").await.unwrap();
        conn.query_drop(format!("USE {db}")).await.unwrap();
        let (on, cs, cur): (u32, String, String) = conn
            .query_first("SELECT @@server_id, @@character_set_client, DATABASE()")
            .await
            .unwrap()
            .unwrap();
        assert!(second_ids.contains(&on.to_string()), "{on}");
        assert_eq!(cs, "latin1", "the session's SET follows it");
        assert_eq!(cur, db);
        // State that lives on this cluster's connection.
        conn.query_drop("CREATE TEMPORARY TABLE tt (a INT)")
            .await
            .unwrap();
        conn.query_drop("INSERT INTO tt VALUES (7)").await.unwrap();
        // A user variable no replay reproduces lives on this cluster's master.
        conn.query_drop("SELECT @u := 41 + 1").await.unwrap();
        let stmt = conn.prep("SELECT @@server_id, ?").await.unwrap();
        // Back to main.
        conn.query_drop(format!("USE {main_db}")).await.unwrap();
        let u: Option<Option<u32>> = conn.query_first("SELECT @u").await.unwrap();
        assert_eq!(u, Some(None), "@u stays on blogs2");
        let on: Option<u32> = conn.query_first("SELECT @@server_id").await.unwrap();
        assert!(main_ids.contains(&id(on)));
        let e = conn.query_drop("SELECT a FROM tt").await.unwrap_err();
        assert!(
            e.to_string().contains("1146"),
            "the temporary table is on blogs2: {e}"
        );
        // A prepared statement runs where it was prepared.
        let (on, x): (u32, u32) = conn.exec_first(&stmt, (5,)).await.unwrap().unwrap();
        assert!(second_ids.contains(&on.to_string()), "{on}");
        assert_eq!(x, 5);
        // And back: the temporary table is found again.
        conn.query_drop(format!("USE {db}")).await.unwrap();
        let a: Option<u32> = conn.query_first("SELECT a FROM tt").await.unwrap();
        assert_eq!(a, Some(7));
        let u: Option<u32> = conn.query_first("SELECT @u").await.unwrap();
        assert_eq!(u, Some(42), "and is found there again");
        drop(conn);
        pool.disconnect().await.unwrap();
    });
    p.sql_ok(&c, &format!("DROP DATABASE {db}"));
    p.sql_ok(&c, &format!("DROP DATABASE {main_db}"));
}

#[test]
fn a_transaction_is_bound_to_the_cluster_it_started_on() {
    let c = Cluster::shared();
    let (m2, _) = second(&c);
    let p = Proxy::start(&c, &two_clusters(&c, ""));
    let (db, main_db) = (uniq("blog_2t"), uniq("main_t"));
    p.sql_ok(&c, &format!("CREATE DATABASE {db}"));
    p.sql_ok(&c, &format!("CREATE TABLE {db}.t (a INT)"));
    p.sql_ok(&c, &format!("CREATE DATABASE {main_db}"));
    p.sql_ok(&c, &format!("CREATE TABLE {main_db}.t (a INT)"));
    rt().block_on(async {
        let pool = p.pool(&c, None);
        let mut conn = pool.get_conn().await.unwrap();
        conn.query_drop("BEGIN").await.unwrap();
        conn.query_drop(format!("INSERT INTO {main_db}.t VALUES (1)"))
            .await
            .unwrap();
        for sql in [
            format!("INSERT INTO {db}.t VALUES (1)"),
            format!("SELECT * FROM {db}.t"),
            format!("USE {db}"),
        ] {
            let e = conn.query_drop(&sql).await.unwrap_err();
            let shown = e.to_string();
            assert!(
                shown.contains("1105") && shown.contains("cannot span clusters"),
                "{sql}: {shown}"
            );
        }
        // The transaction is still open and still on main.
        conn.query_drop(format!("INSERT INTO {main_db}.t VALUES (2)"))
            .await
            .unwrap();
        conn.query_drop("COMMIT").await.unwrap();
        // After it: the statement runs.
        conn.query_drop(format!("INSERT INTO {db}.t VALUES (3)"))
            .await
            .unwrap();
        drop(conn);
        pool.disconnect().await.unwrap();
    });
    assert_eq!(
        rows(
            &c,
            c.master_port(),
            &format!("SELECT a FROM {main_db}.t ORDER BY a")
        ),
        vec!["1", "2"]
    );
    assert_eq!(
        rows(&c, m2, &format!("SELECT a FROM {db}.t")),
        vec!["3"],
        "nothing of the refused statements ran"
    );
    p.sql_ok(&c, &format!("DROP DATABASE {db}"));
    p.sql_ok(&c, &format!("DROP DATABASE {main_db}"));
}

#[test]
fn admin_and_metrics_show_each_cluster() {
    let c = Cluster::shared();
    let (m2, r3) = second(&c);
    let (admin_port, metrics_port) = (free_port(), free_port());
    let extra = format!(
        "[monitor]\nuser = \"{}\"\npassword = \"{}\"\ninterval = \"200ms\"\n\n\
         [admin]\nlisten = \"127.0.0.1:{admin_port}\"\nuser = \"admin\"\npassword = \"adminpw\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n",
        c.var("MONITOR_USER"),
        c.var("MONITOR_PASSWORD")
    );
    let p = Proxy::start(&c, &two_clusters(&c, &extra));
    let db = uniq("blog_2m");
    p.sql_ok(&c, &format!("CREATE DATABASE {db}"));
    let admin = |sql: &str| lines(admin_port, "admin", "adminpw", sql);
    eventually(
        "the monitor checked the second cluster",
        Duration::from_secs(10),
        || {
            admin("SHOW BACKENDS").iter().any(|l| {
                // `cluster` is the ninth column (columns added later follow it).
                l.starts_with(&format!("127.0.0.1:{r3}\treplica\tup\t"))
                    && l.split('\t').nth(8) == Some("blogs2")
            })
        },
    );
    let clusters = admin("SHOW CLUSTERS");
    assert_eq!(clusters.len(), 2, "{clusters:?}");
    assert!(
        clusters[0].starts_with(&format!("main\t127.0.0.1:{}\tup\t", c.master_port())),
        "{clusters:?}"
    );
    assert!(
        clusters[1].starts_with(&format!("blogs2\t127.0.0.1:{m2}\tup\t127.0.0.1:{r3}\t1\t")),
        "{clusters:?}"
    );
    let (_, body) = metrics_http(metrics_port);
    let want = format!(
        "rwsplit_backend_state{{backend=\"127.0.0.1:{m2}\",cluster=\"blogs2\",role=\"master\",state=\"up\"}} 1"
    );
    assert!(body.contains(&want), "{want} missing");
    assert!(body.contains(&format!(
        "rwsplit_query_duration_seconds_count{{backend=\"127.0.0.1:{m2}\",cluster=\"blogs2\"}}"
    )));
    p.sql_ok(&c, &format!("DROP DATABASE {db}"));
}

/// The operator's resharding step: a database is copied to the second cluster, then the rule
/// that sends it there is added and the proxy reloaded, while clients run. Sessions move at
/// their next statement; an open transaction finishes where it started; no client sees an
/// error.
#[test]
fn moving_a_database_with_a_reload_under_load() {
    let c = Cluster::shared();
    let (m2, _) = second(&c);
    let (main_ids, second_ids) = ids(&c);
    let db = uniq("shop_7");
    // Today the database lives on main, and a copy has been made on the second cluster.
    for port in [c.master_port(), m2] {
        rows(
            &c,
            port,
            &format!(
                "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT); \
                 INSERT INTO {db}.t VALUES (1, {port})"
            ),
        );
    }
    let (ma, r3) = second(&c);
    let clusters_only = format!(
        "[[clusters]]\nname = \"shops\"\nmaster = {{ address = \"127.0.0.1:{ma}\" }}\n\
         replicas = [{{ address = \"127.0.0.1:{r3}\" }}]\n"
    );
    let p = Proxy::start(&c, &clusters_only);
    let stop = Arc::new(AtomicBool::new(false));
    let (on_main, on_second) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let opts = p.opts(&c, Some(&db));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (stop, on_main, on_second) = (stop.clone(), on_main.clone(), on_second.clone());
            let (opts, main_ids, second_ids) = (opts.clone(), main_ids.clone(), second_ids.clone());
            std::thread::spawn(move || {
                rt().block_on(async move {
                    let mut conn = mysql_async::Conn::new(opts).await.unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        let (id, v): (u32, u32) = conn
                            .query_first("SELECT @@server_id, v FROM t WHERE id = 1")
                            .await
                            .expect("no client error during the move")
                            .expect("a row");
                        let id = id.to_string();
                        if main_ids.contains(&id) {
                            on_main.fetch_add(1, Ordering::Relaxed);
                        } else {
                            assert!(second_ids.contains(&id), "{id}");
                            assert_eq!(v, ma as u32, "the second cluster's copy");
                            on_second.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    conn.disconnect().await.unwrap();
                })
            })
        })
        .collect();
    // A transaction open across the switch.
    let rt_trx = rt();
    let mut trx = rt_trx.block_on(async {
        let mut conn = mysql_async::Conn::new(opts.clone()).await.unwrap();
        conn.query_drop("BEGIN").await.unwrap();
        conn.query_drop("INSERT INTO t VALUES (2, 0)")
            .await
            .unwrap();
        conn
    });
    eventually(
        "reads on main before the switch",
        Duration::from_secs(10),
        || on_main.load(Ordering::Relaxed) > 20,
    );
    assert_eq!(on_second.load(Ordering::Relaxed), 0);
    // The switch: the rule, then a reload (as `rwsplit topology` would signal it).
    let config = p.dir.join("proxy.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[rules]]\nschema = \"{db}\"\ncluster = \"shops\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    p.send_signal("HUP");
    eventually(
        "reads on the second cluster after the switch",
        Duration::from_secs(10),
        || on_second.load(Ordering::Relaxed) > 20,
    );
    let main_after_switch = on_main.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        on_main.load(Ordering::Relaxed),
        main_after_switch,
        "every session moved"
    );
    // The open transaction finishes on main; its next statement after COMMIT moves.
    rt_trx.block_on(async {
        trx.query_drop("INSERT INTO t VALUES (3, 0)").await.unwrap();
        trx.query_drop("COMMIT").await.unwrap();
        let id: Option<u32> = trx.query_first("SELECT @@server_id").await.unwrap();
        assert!(second_ids.contains(&id.unwrap().to_string()));
    });
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader");
    }
    assert_eq!(
        rows(
            &c,
            c.master_port(),
            &format!("SELECT id FROM {db}.t ORDER BY id")
        ),
        vec!["1", "2", "3"],
        "the transaction committed on main, whole"
    );
    assert_eq!(rows(&c, m2, &format!("SELECT id FROM {db}.t")), vec!["1"]);
    for port in [c.master_port(), m2] {
        rows(&c, port, &format!("DROP DATABASE {db}"));
    }
}

/// Read-your-writes on the second cluster: its replica stops applying, and a session's read
/// right after its write still sees it (the position comes from that cluster's master and
/// is compared with that cluster's replica).
#[test]
fn read_your_writes_holds_on_the_second_cluster() {
    let c = Cluster::shared();
    let (m2, r3) = second(&c);
    let p = Proxy::start(&c, &two_clusters(&c, ""));
    let db = uniq("blog_2r");
    p.sql_ok(&c, &format!("CREATE DATABASE {db}"));
    p.sql_ok(&c, &format!("CREATE TABLE {db}.t (a INT)"));
    eventually("the table replicated", Duration::from_secs(10), || {
        mariadb(r3, c.user(), c.password(), &format!("SELECT * FROM {db}.t"))
            .status
            .success()
    });
    c.root_sql("replica3", "STOP SLAVE SQL_THREAD");
    let seen = rt().block_on(async {
        let pool = p.pool(&c, Some(&db));
        let mut conn = pool.get_conn().await.unwrap();
        conn.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
        let n: Option<u64> = conn.query_first("SELECT COUNT(*) FROM t").await.unwrap();
        drop(conn);
        pool.disconnect().await.unwrap();
        n
    });
    c.root_sql("replica3", "START SLAVE SQL_THREAD");
    assert_eq!(
        seen,
        Some(1),
        "the session's own write, read right after it"
    );
    assert_eq!(
        rows(&c, m2, &format!("SELECT COUNT(*) FROM {db}.t")),
        vec!["1"]
    );
    p.sql_ok(&c, &format!("DROP DATABASE {db}"));
}

/// A reload that removes a cluster: a session idle there moves to main at its next statement;
/// a transaction open there finishes on it (its rows commit on that master), then the session
/// moves; the proxy keeps serving.
#[test]
fn removing_a_cluster_by_reload_moves_its_sessions_to_main() {
    let c = Cluster::shared();
    let (m2, _) = second(&c);
    let (main_ids, second_ids) = ids(&c);
    let p = Proxy::start(&c, &two_clusters(&c, ""));
    let db = uniq("blog_2d");
    p.sql_ok(&c, &format!("CREATE DATABASE {db}"));
    p.sql_ok(&c, &format!("CREATE TABLE {db}.t (a INT)"));
    let config = p.dir.join("proxy.toml");
    rt().block_on(async {
        let pool = p.pool(&c, None);
        let (mut idle, mut trx) = (
            pool.get_conn().await.unwrap(),
            pool.get_conn().await.unwrap(),
        );
        for conn in [&mut idle, &mut trx] {
            conn.query_drop(format!("USE {db}")).await.unwrap();
            let id: Option<u32> = conn.query_first("SELECT @@server_id").await.unwrap();
            assert!(second_ids.contains(&id.unwrap().to_string()));
        }
        trx.query_drop("BEGIN").await.unwrap();
        trx.query_drop("INSERT INTO t VALUES (1)").await.unwrap();
        // The cluster and its rule go.
        std::fs::write(&config, c.proxy_toml(p.port, "")).unwrap();
        p.send_signal("HUP");
        tokio::time::sleep(Duration::from_millis(500)).await;
        trx.query_drop("INSERT INTO t VALUES (2)").await.unwrap();
        trx.query_drop("COMMIT").await.unwrap();
        // Its database is not on main: the statement gets the server's own answer for that,
        // and a USE of a database main has works as on a server.
        let e = idle.query_drop("SELECT @@server_id").await.unwrap_err();
        assert!(e.to_string().contains("1049"), "{e}");
        for conn in [&mut trx, &mut idle] {
            conn.query_drop("USE mysql").await.unwrap();
            let id: Option<u32> = conn.query_first("SELECT @@server_id").await.unwrap();
            assert!(main_ids.contains(&id.unwrap().to_string()), "{id:?}");
        }
        drop((idle, trx));
        pool.disconnect().await.unwrap();
    });
    assert_eq!(
        rows(&c, m2, &format!("SELECT a FROM {db}.t ORDER BY a")),
        vec!["1", "2"]
    );
    assert!(!p.log().contains("panicked"), "{}", tail(&p.log(), 30));
    rows(&c, m2, &format!("DROP DATABASE {db}"));
}

// ---------------------------------------------------------------------------------------
// Issue 23: every statement form that names a database of the second cluster runs there.
// Each case runs through the proxy from a session whose own database (rwtest) is on main,
// and is judged by what it did on the second master (tables, indexes, routines, rows), or,
// for reads, by the answer only that cluster could give; on main the database does not
// exist, so the statement would fail there, or (IF EXISTS) do nothing and succeed.
// ---------------------------------------------------------------------------------------

/// A database of the second cluster (the `blog_2*` rule) with table `t (x INT)` holding
/// 1, 2, 3, made directly on its master and already on its replica; a proxy for both
/// clusters. The database is dropped when the case ends.
struct SecondDb {
    c: Cluster,
    p: Proxy,
    db: String,
    m2: u16,
    r3: u16,
}

impl SecondDb {
    fn new(tag: &str) -> SecondDb {
        let c = Cluster::shared();
        let (m2, r3) = second(&c);
        let db = uniq(&format!("blog_2{tag}"));
        rows(
            &c,
            m2,
            &format!(
                "CREATE DATABASE {db}; CREATE TABLE {db}.t (x INT); \
                 INSERT INTO {db}.t VALUES (1), (2), (3)"
            ),
        );
        let p = Proxy::start(&c, &two_clusters(&c, ""));
        let s = SecondDb { c, p, db, m2, r3 };
        s.replicated();
        s
    }

    /// Runs `sql` through the proxy in a session whose database is rwtest (on main).
    fn run(&self, sql: &str) -> std::process::Output {
        mariadb_args(
            self.p.port,
            self.c.user(),
            self.c.password(),
            &["-Drwtest"],
            sql,
        )
    }

    /// [`SecondDb::run`], which must succeed; its rows.
    fn ok(&self, sql: &str) -> Vec<String> {
        let out = self.run(sql);
        assert!(
            out.status.success(),
            "{sql}: {}\nproxy log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&self.p.log(), 20)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Rows of `sql` run directly on the second master.
    fn on_second(&self, sql: &str) -> Vec<String> {
        rows(&self.c, self.m2, sql)
    }

    /// Waits until the second replica has applied everything its master has.
    fn replicated(&self) {
        let gtid = rows(&self.c, self.m2, "SELECT @@gtid_binlog_pos").remove(0);
        let wait = format!("SELECT MASTER_GTID_WAIT('{gtid}', 10)");
        assert_eq!(
            rows(&self.c, self.r3, &wait),
            vec!["0"],
            "replica3 caught up"
        );
    }

    /// As root on the second master: stored functions and triggers need SUPER under binary
    /// logging unless the server trusts routine creators.
    fn trust_routine_creators(&self) {
        self.c
            .root_sql("master2", "SET GLOBAL log_bin_trust_function_creators = 1");
    }

    fn tables(&self) -> Vec<String> {
        self.on_second(&format!("SHOW TABLES FROM {}", self.db))
    }
}

impl Drop for SecondDb {
    fn drop(&mut self) {
        let _ = mariadb(
            self.m2,
            self.c.user(),
            self.c.password(),
            &format!("DROP DATABASE IF EXISTS {}", self.db),
        );
    }
}

#[test]
fn create_table_if_not_exists_runs_where_its_database_lives() {
    let s = SecondDb::new("ctine");
    s.ok(&format!("CREATE TABLE IF NOT EXISTS {}.t2 (x INT)", s.db));
    assert!(s.tables().contains(&"t2".to_string()), "{:?}", s.tables());
}

#[test]
fn insert_without_into_runs_where_its_database_lives() {
    let s = SecondDb::new("ins");
    s.ok(&format!("INSERT {}.t VALUES (7)", s.db));
    s.ok(&format!("INSERT IGNORE {}.t SET x = 8", s.db));
    assert_eq!(
        s.on_second(&format!("SELECT x FROM {}.t WHERE x > 3 ORDER BY x", s.db)),
        vec!["7", "8"]
    );
}

#[test]
fn create_index_on_runs_where_its_database_lives() {
    let s = SecondDb::new("cix");
    s.ok(&format!("CREATE INDEX ix ON {}.t (x)", s.db));
    let idx = s.on_second(&format!("SHOW INDEX FROM t FROM {}", s.db));
    assert!(idx.iter().any(|l| l.contains("\tix\t")), "{idx:?}");
}

#[test]
fn drop_index_on_runs_where_its_database_lives() {
    let s = SecondDb::new("dix");
    s.on_second(&format!("CREATE INDEX ix ON {}.t (x)", s.db));
    s.ok(&format!("DROP INDEX ix ON {}.t", s.db));
    let idx = s.on_second(&format!("SHOW INDEX FROM t FROM {}", s.db));
    assert!(idx.is_empty(), "{idx:?}");
}

#[test]
fn explain_a_table_reads_where_its_database_lives() {
    let s = SecondDb::new("exp");
    let out = s.ok(&format!("EXPLAIN {}.t", s.db));
    assert!(out[0].starts_with("x\tint"), "{out:?}");
}

#[test]
fn show_tables_from_reads_where_its_database_lives() {
    let s = SecondDb::new("sht");
    assert_eq!(s.ok(&format!("SHOW TABLES FROM {}", s.db)), vec!["t"]);
}

#[test]
fn show_table_status_from_reads_where_its_database_lives() {
    let s = SecondDb::new("sts");
    let out = s.ok(&format!("SHOW TABLE STATUS FROM {}", s.db));
    assert!(out.len() == 1 && out[0].starts_with("t\t"), "{out:?}");
}

#[test]
fn show_index_from_t_from_db_reads_where_its_database_lives() {
    let s = SecondDb::new("shi");
    s.on_second(&format!("CREATE INDEX ix ON {}.t (x)", s.db));
    s.replicated();
    let out = s.ok(&format!("SHOW INDEX FROM t FROM {}", s.db));
    assert!(out.iter().any(|l| l.contains("\tix\t")), "{out:?}");
}

#[test]
fn create_view_runs_where_its_database_lives() {
    let s = SecondDb::new("cvw");
    s.ok(&format!(
        "CREATE VIEW {db}.v AS SELECT x FROM {db}.t",
        db = s.db
    ));
    assert_eq!(
        s.on_second(&format!("SELECT COUNT(*) FROM {}.v", s.db)),
        vec!["3"]
    );
}

#[test]
fn create_procedure_runs_where_its_database_lives() {
    let s = SecondDb::new("cpr");
    s.ok(&format!("CREATE PROCEDURE {}.p() SELECT 42", s.db));
    let found = s.on_second(&format!(
        "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{}'",
        s.db
    ));
    assert_eq!(found, vec!["p"]);
}

#[test]
fn create_function_runs_where_its_database_lives() {
    let s = SecondDb::new("cfn");
    s.trust_routine_creators();
    s.ok(&format!(
        "CREATE FUNCTION {}.f() RETURNS INT DETERMINISTIC RETURN 42",
        s.db
    ));
    assert_eq!(s.on_second(&format!("SELECT {}.f()", s.db)), vec!["42"]);
}

#[test]
fn calling_a_stored_function_reads_where_its_database_lives() {
    let s = SecondDb::new("sfn");
    s.trust_routine_creators();
    s.on_second(&format!(
        "CREATE FUNCTION {}.f() RETURNS INT DETERMINISTIC RETURN 42",
        s.db
    ));
    s.replicated();
    assert_eq!(s.ok(&format!("SELECT {}.f()", s.db)), vec!["42"]);
}

#[test]
fn create_trigger_runs_where_its_database_lives() {
    let s = SecondDb::new("ctr");
    s.trust_routine_creators();
    s.ok(&format!(
        "CREATE TRIGGER {db}.tr BEFORE INSERT ON {db}.t FOR EACH ROW SET NEW.x = NEW.x + 100",
        db = s.db
    ));
    s.on_second(&format!("INSERT INTO {}.t VALUES (4)", s.db));
    assert_eq!(
        s.on_second(&format!("SELECT MAX(x) FROM {}.t", s.db)),
        vec!["104"]
    );
}

#[test]
fn multi_table_delete_with_an_alias_runs_where_its_database_lives() {
    let s = SecondDb::new("dal");
    // The server needs a database selected to resolve the alias: the statement's own.
    s.ok(&format!("DELETE t FROM {}.t t WHERE t.x = 1", s.db));
    assert_eq!(
        s.on_second(&format!("SELECT x FROM {}.t ORDER BY x", s.db)),
        vec!["2", "3"]
    );
}

#[test]
fn drop_trigger_if_exists_drops_it_where_it_lives() {
    let s = SecondDb::new("dtr");
    s.trust_routine_creators();
    s.on_second(&format!(
        "CREATE TRIGGER {db}.tr BEFORE INSERT ON {db}.t FOR EACH ROW SET NEW.x = NEW.x",
        db = s.db
    ));
    s.ok(&format!("DROP TRIGGER IF EXISTS {}.tr", s.db));
    assert!(s
        .on_second(&format!("SHOW TRIGGERS FROM {}", s.db))
        .is_empty());
}

#[test]
fn drop_view_if_exists_drops_it_where_it_lives() {
    let s = SecondDb::new("dvw");
    s.on_second(&format!(
        "CREATE VIEW {db}.v AS SELECT x FROM {db}.t",
        db = s.db
    ));
    s.ok(&format!("DROP VIEW IF EXISTS {}.v", s.db));
    assert_eq!(s.tables(), vec!["t"]);
}

#[test]
fn drop_table_if_exists_drops_it_where_it_lives() {
    let s = SecondDb::new("dtb");
    s.on_second(&format!("CREATE TABLE {}.x (a INT)", s.db));
    s.ok(&format!("DROP TABLE IF EXISTS {}.x", s.db));
    assert_eq!(s.tables(), vec!["t"]);
}
