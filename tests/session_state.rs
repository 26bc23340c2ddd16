//! Issue 3: a session that moves between the master and the replicas keeps its meaning.
//! Each test checks results and, through @@server_id, where statements ran.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

fn is_replica(c: &Cluster, id: &str) -> bool {
    c.replica_ids().iter().any(|r| r == id)
}

#[test]
fn session_variables_follow_to_replicas() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    // Set on one backend, read on a replica and on the master.
    let out = p.sql_ok(
        &c,
        "SET SESSION sql_mode = 'ANSI_QUOTES,NO_ZERO_DATE'; SET time_zone = '+03:00'; SET group_concat_max_len = 77; \
         SELECT @@sql_mode, @@time_zone, @@group_concat_max_len, @@server_id; \
         SELECT @@sql_mode, @@time_zone, @@group_concat_max_len, @@server_id FOR UPDATE;",
    );
    let a: Vec<&str> = out[0].split('\t').collect();
    let b: Vec<&str> = out[1].split('\t').collect();
    assert_eq!(&a[..3], &["ANSI_QUOTES,NO_ZERO_DATE", "+03:00", "77"]);
    assert_eq!(&a[..3], &b[..3], "same values on both backends: {out:?}");
    assert_ne!(a[3], b[3], "one on a replica, one on the master");
}

#[test]
fn user_variables_and_select_assignments() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let out = p.sql_ok(
        &c,
        "SET @x = 41; SELECT @x + 1, @@server_id; SELECT @x, @@server_id FOR UPDATE;",
    );
    let r: Vec<&str> = out[0].split('\t').collect();
    assert_eq!(r[0], "42");
    assert!(
        is_replica(&c, r[1]),
        "plain read of @x served by a replica: {out:?}"
    );
    assert!(out[1].starts_with("41\t"), "@x also on the master");
    // SELECT that assigns runs on the master; later reads of it follow it there.
    let out = p.sql_ok(&c, "SELECT @y := 5, @@server_id; SELECT @y, @@server_id;");
    assert_eq!(out[0], format!("5\t{}", c.master_id()));
    assert_eq!(out[1], format!("5\t{}", c.master_id()));
}

#[test]
fn temporary_tables_live_on_the_master() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let out = p.sql_ok(
        &c,
        "CREATE TEMPORARY TABLE rwtest.tmp_s (x INT); INSERT INTO rwtest.tmp_s VALUES (1), (2); \
         SELECT COUNT(*), @@server_id FROM rwtest.tmp_s; SELECT @@server_id; \
         DROP TEMPORARY TABLE rwtest.tmp_s; SELECT @@server_id;",
    );
    assert_eq!(out[0], format!("2\t{}", c.master_id()));
    assert!(is_replica(&c, &out[1]), "other reads still go to replicas");
    assert!(is_replica(&c, &out[2]));
}

#[test]
fn last_insert_id_found_rows_and_locks() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    p.sql_ok(
        &c,
        "CREATE TABLE IF NOT EXISTS rwtest.ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
    );
    let out = p.sql_ok(&c, "INSERT INTO rwtest.ai (v) VALUES (1); SELECT LAST_INSERT_ID() = (SELECT MAX(id) FROM rwtest.ai), LAST_INSERT_ID() > 0;");
    assert_eq!(out[0], "1\t1");
    // WordPress pagination: SQL_CALC_FOUND_ROWS on a replica, FOUND_ROWS() where it ran.
    eventually("rows on replicas", Duration::from_secs(10), || {
        c.replica_ports().iter().all(|port| {
            mariadb(
                *port,
                c.user(),
                c.password(),
                "SELECT COUNT(*) FROM rwtest.ai",
            )
            .stdout
                != b"0\n"
        })
    });
    let out = p.sql_ok(
        &c,
        "SELECT SQL_CALC_FOUND_ROWS id FROM rwtest.ai LIMIT 0; SELECT FOUND_ROWS() > 0;",
    );
    assert_eq!(out.last().unwrap(), "1", "{out:?}");
    let out = p.sql_ok(&c, "SELECT GET_LOCK('rw-l', 0), @@server_id; SELECT IS_USED_LOCK('rw-l') = CONNECTION_ID(), RELEASE_LOCK('rw-l');");
    assert_eq!(out[0], format!("1\t{}", c.master_id()));
    assert_eq!(
        out[1], "1\t1",
        "the lock is held by the same master connection"
    );
    // Text-protocol prepared statements stay on the master.
    let out = p.sql_ok(
        &c,
        "PREPARE s FROM 'SELECT @@server_id'; EXECUTE s; DEALLOCATE PREPARE s;",
    );
    assert_eq!(out[0], c.master_id());
}

#[test]
fn read_only_transaction_runs_on_one_replica() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let out = p.sql_ok(&c, "START TRANSACTION READ ONLY; SELECT @@server_id; SELECT @@server_id; SELECT @@in_transaction; COMMIT; SELECT @@in_transaction;");
    assert!(is_replica(&c, &out[0]), "{out:?}");
    assert_eq!(out[0], out[1], "the whole transaction on one replica");
    assert_eq!(out[2], "1");
    assert_eq!(out[3], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_megabyte_blob_round_trip() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let pool = p.pool(&c, Some("rwtest"));
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop("CREATE TABLE IF NOT EXISTS big (id INT PRIMARY KEY, b LONGBLOB)")
        .await
        .unwrap();
    conn.query_drop("DELETE FROM big").await.unwrap();
    let blob: Vec<u8> = (0..40 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    conn.exec_drop("INSERT INTO big VALUES (1, ?)", (blob.clone(),))
        .await
        .unwrap();
    // Read it back on the master (inside a transaction) and from a replica once replicated.
    conn.query_drop("BEGIN").await.unwrap();
    let back: Vec<u8> = conn
        .query_first("SELECT b FROM big WHERE id = 1")
        .await
        .unwrap()
        .unwrap();
    conn.query_drop("COMMIT").await.unwrap();
    assert!(
        back == blob,
        "40 MB blob byte-exact from the master (text protocol)"
    );
    let mut seen = false;
    for _ in 0..100 {
        let row: Option<(Vec<u8>, i64)> = conn
            .exec_first("SELECT b, @@server_id FROM big WHERE id = ?", (1,))
            .await
            .unwrap();
        // Read-your-writes (consistency = "session"): until a replica has applied the
        // insert, the read is served by the master; either way the bytes must be exact.
        let (b, sid) = row.expect("the row is visible to its writer");
        assert!(
            b == blob,
            "40 MB blob byte-exact from server {sid} (binary protocol)"
        );
        if c.replica_ids().contains(&sid.to_string()) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "blob never reached the replica");
    conn.query_drop("DROP TABLE big").await.unwrap();
    drop(conn);
    pool.disconnect().await.unwrap();
}

#[test]
fn load_data_local_infile() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let file = std::env::temp_dir().join(format!("rwsplit-infile-{}.csv", std::process::id()));
    let rows: String = (0..5000).map(|i| format!("{i},name-{i}\n")).collect();
    std::fs::write(&file, rows).unwrap();
    p.sql_ok(&c, "DROP TABLE IF EXISTS rwtest.infile; CREATE TABLE rwtest.infile (id INT PRIMARY KEY, name VARCHAR(20))");
    let out = mariadb_args(
        p.port,
        c.user(),
        c.password(),
        &["--local-infile=1"],
        &format!("LOAD DATA LOCAL INFILE '{}' INTO TABLE rwtest.infile FIELDS TERMINATED BY ','; SELECT COUNT(*), @@server_id FROM rwtest.infile FOR UPDATE;", file.display()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("5000\t{}", c.master_id())
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn pymysql_client_through_the_proxy() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pymysql_check.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(p.port.to_string())
        .arg(c.user())
        .arg(c.password())
        .arg(c.master_id())
        .arg(c.replica_ids().join(","))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&p.log(), 20)
    );
}
