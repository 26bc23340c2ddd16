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
    let script = "START TRANSACTION READ ONLY; SELECT @@server_id; SELECT @@server_id; SELECT @@in_transaction; COMMIT; SELECT @@in_transaction;";
    // Opt-in: [routing] read_only_transactions_on_replicas.
    let p = Proxy::start(&c, "[routing]\nread_only_transactions_on_replicas = true\n");
    let out = p.sql_ok(&c, script);
    assert!(is_replica(&c, &out[0]), "{out:?}");
    assert_eq!(out[0], out[1], "the whole transaction on one replica");
    assert_eq!(out[2], "1");
    assert_eq!(out[3], "0");
    // By default a transaction like any other: on the master, as a whole.
    let p = Proxy::start(&c, "");
    let out = p.sql_ok(&c, script);
    assert_eq!(out[0], c.master_id(), "{out:?}");
    assert_eq!(out[0], out[1]);
    assert_eq!(out[2], "1");
    assert_eq!(out[3], "0");
}

/// `LOCK TABLES` keeps the session on the master until `UNLOCK TABLES`: the server answers
/// reads of tables that are not locked with 1100, as it would to a direct client.
#[test]
fn lock_tables_keeps_the_session_on_the_master() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let t = format!("rwtest.lk_{}", std::process::id());
    c.root_sql(
        "master",
        &format!(
            "CREATE TABLE IF NOT EXISTS {t} (id INT); CREATE TABLE IF NOT EXISTS {t}_b (id INT)"
        ),
    );
    let out = p.sql(
        &c,
        &format!("LOCK TABLES {t} READ; SELECT COUNT(*), @@server_id FROM {t}; SELECT COUNT(*) FROM {t}_b"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ERROR 1100"), "{err}");
    let lines = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(lines.contains(&format!("\t{}", c.master_id())), "{lines}");
    let out = p.sql_ok(
        &c,
        &format!("LOCK TABLES {t} READ; UNLOCK TABLES; SELECT COUNT(*), @@server_id FROM {t}_b"),
    );
    let sid = out[0].split('\t').nth(1).unwrap().to_string();
    assert!(is_replica(&c, &sid), "reads go to replicas again: {out:?}");
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

/// Binary protocol details no high-level client here exercises: COM_STMT_SEND_LONG_DATA
/// buffered by the proxy and replayed on the backend the execute runs on, and a read-only
/// cursor whose COM_STMT_FETCH calls stay on the backend that opened it.
#[test]
fn long_data_and_cursor_fetch_through_the_proxy() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    raw.write_packet(0, b"\x02rwtest");
    assert_eq!(raw.read_packet().1[0], 0);

    // Reads packets until `eofs` EOF packets have passed; returns the other packets.
    fn until_eofs(raw: &mut RawClient, eofs: usize) -> Vec<Vec<u8>> {
        let mut seen = 0;
        let mut out = Vec::new();
        while seen < eofs {
            let (_, p) = raw.read_packet();
            assert_ne!(p[0], 0xFF, "error: {}", String::from_utf8_lossy(&p));
            if p[0] == 0xFE && p.len() < 9 {
                seen += 1;
            } else {
                out.push(p);
            }
        }
        out
    }
    let prepare = |raw: &mut RawClient, sql: &str| -> (u32, u16, u16) {
        let mut p = vec![0x16];
        p.extend_from_slice(sql.as_bytes());
        raw.write_packet(0, &p);
        let (_, ok) = raw.read_packet();
        assert_eq!(ok[0], 0, "prepare: {}", String::from_utf8_lossy(&ok));
        let id = u32::from_le_bytes(ok[1..5].try_into().unwrap());
        let cols = u16::from_le_bytes([ok[5], ok[6]]);
        let params = u16::from_le_bytes([ok[7], ok[8]]);
        let eofs = (params > 0) as usize + (cols > 0) as usize;
        until_eofs(raw, eofs);
        (id, cols, params)
    };

    // Long data: one parameter sent in three pieces, none in the execute packet itself.
    let (id, _, params) = prepare(&mut raw, "SELECT CONCAT('<', ?, '>') AS v");
    assert_eq!(params, 1);
    for piece in ["long-", "data-", "pieces"] {
        let mut p = vec![0x18];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes());
        p.extend_from_slice(piece.as_bytes());
        raw.write_packet(0, &p);
    }
    let mut exec = vec![0x17];
    exec.extend_from_slice(&id.to_le_bytes());
    exec.push(0); // no cursor
    exec.extend_from_slice(&1u32.to_le_bytes());
    exec.push(0); // null bitmap
    exec.push(1); // new params bound
    exec.extend_from_slice(&[0xFC, 0x00]); // BLOB
    raw.write_packet(0, &exec);
    let (_, count) = raw.read_packet();
    assert_eq!(count, [1]);
    let rows = until_eofs(&mut raw, 2);
    assert_eq!(rows.len(), 2, "column definition + one row");
    assert!(
        String::from_utf8_lossy(&rows[1]).contains("<long-data-pieces>"),
        "{:?}",
        rows[1]
    );

    // Cursor: execute opens it (metadata only), fetches stream the rows in batches.
    let (id, cols, _) = prepare(&mut raw, "SELECT seq FROM seq_1_to_10");
    assert_eq!(cols, 1);
    let mut exec = vec![0x17];
    exec.extend_from_slice(&id.to_le_bytes());
    exec.push(1); // CURSOR_TYPE_READ_ONLY
    exec.extend_from_slice(&1u32.to_le_bytes());
    raw.write_packet(0, &exec);
    let (_, count) = raw.read_packet();
    assert_eq!(count, [1]);
    let meta = until_eofs(&mut raw, 1);
    assert_eq!(meta.len(), 1, "only metadata: the rows wait in the cursor");
    let fetch = |raw: &mut RawClient, n: u32| -> usize {
        let mut p = vec![0x1C];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&n.to_le_bytes());
        raw.write_packet(0, &p);
        until_eofs(raw, 1).len()
    };
    assert_eq!(fetch(&mut raw, 4), 4);
    assert_eq!(fetch(&mut raw, 100), 6, "the rest of the cursor");
    // Close, then the statement is gone.
    let mut close = vec![0x19];
    close.extend_from_slice(&id.to_le_bytes());
    raw.write_packet(0, &close);
    let mut exec = vec![0x17];
    exec.extend_from_slice(&id.to_le_bytes());
    exec.push(0);
    exec.extend_from_slice(&1u32.to_le_bytes());
    raw.write_packet(0, &exec);
    let (_, err) = raw.read_packet();
    assert_eq!(
        u16::from_le_bytes([err[1], err[2]]),
        1243,
        "closed statement"
    );
}

/// Auth passthrough: an account created on the master (not in proxy.toml) logs in with its own
/// password; a wrong password gets 1045; once dropped, it is refused.
#[test]
fn auth_passthrough_uses_accounts_from_the_master() {
    let c = Cluster::shared();
    let toml = |port: u16| {
        format!(
        "listen = \"127.0.0.1:{port}\"\n[master]\naddress = \"127.0.0.1:{}\"\n[[replicas]]\naddress = \"127.0.0.1:{}\"\n[[users]]\nname = \"{}\"\npassword = \"{}\"\n[auth]\npassthrough = true\n[monitor]\nuser = \"{}\"\npassword = \"{}\"\n",
        c.master_port(),
        c.replica_ports()[0],
        c.user(),
        c.password(),
        c.var("MONITOR_USER"),
        c.var("MONITOR_PASSWORD"),
    )
    };
    let p = Proxy::start_with(&c, toml, &[]);
    let user = format!("pt{}", std::process::id() % 100000);
    c.root_sql("master", &format!("DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pt-secret'; GRANT SELECT ON rwtest.* TO '{user}'@'%';"));
    eventually("account on the replica", Duration::from_secs(10), || {
        mariadb(c.replica_ports()[0], &user, "pt-secret", "SELECT 1")
            .status
            .success()
    });
    let out = mariadb(
        p.port,
        &user,
        "pt-secret",
        "SELECT CURRENT_USER(), @@server_id",
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&p.log(), 10)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.starts_with(&format!("{user}@%\t{}", c.replica_ids()[0])),
        "logged in on the replica as itself: {text}"
    );
    let out = mariadb(p.port, &user, "wrong", "SELECT 1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERROR 1045 (28000)"));
    c.root_sql("master", &format!("DROP USER '{user}'@'%'"));
    let out = mariadb(p.port, &user, "pt-secret", "SELECT 1");
    // Refused by the backend itself (the server's own 1045/1698, relayed) even while the
    // proxy's list still has the old hash.
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("(28000)") && err.contains("Access denied"),
        "dropped account refused: {err}"
    );
    assert!(!p.log().contains("pt-secret"), "no password in the log");
}

/// A client that logged in without CLIENT_MULTI_STATEMENTS and turned them on with
/// COM_SET_OPTION (mysqli's multi_query) runs a multi-statement of SETs on a replica; replayed
/// on the master, it still runs as one multi-statement there, and later master statements
/// work (they failed with 1064 when the replay went to a connection with them off).
#[test]
fn multi_statement_sets_replay_on_a_connection_without_multi_statements() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    const MULTI_STATEMENTS: u32 = 0x0001_0000;
    let mut raw = RawClient::login_with(
        p.port,
        c.user(),
        c.password(),
        RawClient::CAPS & !MULTI_STATEMENTS,
    );
    raw.write_packet(0, &[0x1b, 0, 0]); // COM_SET_OPTION MULTI_STATEMENTS_ON
    let (_, ok) = raw.read_packet();
    assert_eq!(ok[0], 0xfe, "EOF answers COM_SET_OPTION: {ok:?}");
    let r = raw.query_bytes(b"SELECT @@server_id");
    assert!(c.replica_ids().contains(&r[0].first().unwrap()), "{r:?}");
    let r = raw.query_bytes(b"SET SESSION sql_mode='ANSI'; SET SESSION time_zone='+01:00'");
    assert_eq!(r, vec![Res::Ok { affected: 0 }, Res::Ok { affected: 0 }]);
    let r = raw.query_bytes(b"DO 1");
    assert_eq!(r, vec![Res::Ok { affected: 0 }], "{}", tail(&p.log(), 20));
    let r = raw.query_bytes(b"/* rwsplit:master */ SELECT @@session.time_zone");
    assert_eq!(r[0].first().as_deref(), Some("+01:00"), "{r:?}");
}

/// State changed where the statement text does not show it — SQL EXECUTE, EXECUTE IMMEDIATE,
/// a compound block, a procedure — is seen by the next statements as on a direct connection
/// (the proxy keeps the session on the master after them).
#[test]
fn state_set_inside_execute_and_routines() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let pid = std::process::id();
    let proc_tz = format!("rwtest.set_tz_{pid}");
    let proc_tmp = format!("rwtest.shadow_{pid}");
    c.root_sql(
        "master",
        &format!(
            "DROP PROCEDURE IF EXISTS {proc_tz}; CREATE PROCEDURE {proc_tz}() SET time_zone = '+05:00';
             DROP PROCEDURE IF EXISTS {proc_tmp};"
        ),
    );
    c.wait_replicas();
    let r = same_answers(
        &c,
        &p,
        "opaque",
        &[
            b"INSERT INTO {t} VALUES (1), (2), (3)",
            b"PREPARE q FROM 'SELECT 5 INTO @pv'",
            b"EXECUTE q",
            b"SELECT @pv",
            b"EXECUTE IMMEDIATE 'SET @x = 6'",
            b"SELECT @x",
            b"BEGIN NOT ATOMIC SET @c = 7; END",
            b"SELECT @c",
            b"PREPARE s FROM 'SET sql_select_limit = 1'",
            b"EXECUTE s",
            b"SELECT a FROM {t} ORDER BY a",
            b"SET sql_select_limit = DEFAULT",
            b"EXECUTE IMMEDIATE 'CREATE TEMPORARY TABLE {t}_tmp (a INT)'",
            b"SELECT COUNT(*) FROM {t}_tmp",
        ],
    );
    assert_eq!(r[3][0].first().as_deref(), Some("5"));
    assert_eq!(r[5][0].first().as_deref(), Some("6"));
    assert_eq!(r[7][0].first().as_deref(), Some("7"));
    assert!(
        matches!(&r[10][0], Res::Rows(rows) if rows.len() == 1),
        "{:?}",
        r[10]
    );
    assert_eq!(r[13][0].first().as_deref(), Some("0"), "{:?}", r[13]);
    let call = format!("CALL {proc_tz}()");
    let r = same_answers(
        &c,
        &p,
        "call_tz",
        &[call.as_bytes(), b"SELECT @@session.time_zone"],
    );
    assert_eq!(r[1][0].first().as_deref(), Some("+05:00"));
}

/// A prepared statement follows a temporary table created after its prepare: the execute
/// reads the temporary table (empty), not the base table of the same name on a replica.
#[test]
fn prepared_statement_sees_a_later_temporary_table() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let t = fresh_table(&c, &format!("shadowed_{side}"));
        c.root_sql("master", &format!("INSERT INTO {t} VALUES (1), (2)"));
        c.wait_replicas();
        let mut raw = RawClient::login(port, c.user(), c.password());
        let id = raw
            .prepare(format!("SELECT COUNT(*) FROM {t}").as_bytes())
            .unwrap();
        let r = raw.query_bytes(format!("CREATE TEMPORARY TABLE {t} (a INT)").as_bytes());
        assert_eq!(r, vec![Res::Ok { affected: 0 }], "{side}");
        let r = raw.execute(id, &[]);
        // A binary row: header byte, null bitmap, then the BIGINT count.
        let Res::Rows(rows) = &r[0] else {
            panic!("{side}: {r:?}")
        };
        let row = rows[0][0].as_ref().unwrap();
        assert_eq!(row[row.len() - 8..], 0i64.to_le_bytes(), "{side}: {r:?}");
    }
}

/// After DROP DATABASE of the current database the session has none (DATABASE() is NULL),
/// wherever the next read runs.
#[test]
fn dropping_the_current_database_leaves_none() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let db = format!("rwdrop_{side}_{}", std::process::id());
        let mut raw = RawClient::login(port, c.user(), c.password());
        for sql in [
            format!("CREATE DATABASE {db}"),
            format!("USE {db}"),
            "SELECT DATABASE()".to_string(),
        ] {
            let r = raw.query_bytes(sql.as_bytes());
            assert!(r.iter().all(|r| r.code().is_none()), "{side}: {sql}: {r:?}");
        }
        c.wait_replicas();
        let r = raw.query_bytes(format!("DROP DATABASE {db}").as_bytes());
        assert!(r[0].code().is_none(), "{side}: {r:?}");
        for _ in 0..2 {
            let r = raw.query_bytes(b"SELECT DATABASE()");
            assert_eq!(r, vec![Res::Rows(vec![vec![None]])], "{side}");
        }
    }
}

/// COMMIT RELEASE ends the connection, as the server does: the next statement finds it
/// closed.
#[test]
fn commit_release_closes_the_connection() {
    use std::io::Read;
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        for sql in ["COMMIT RELEASE", "ROLLBACK AND NO CHAIN RELEASE"] {
            let mut raw = RawClient::login(port, c.user(), c.password());
            assert_eq!(raw.query_bytes(b"BEGIN"), vec![Res::Ok { affected: 0 }]);
            assert_eq!(
                raw.query_bytes(sql.as_bytes()),
                vec![Res::Ok { affected: 0 }]
            );
            let mut b = [0u8; 16];
            raw.write_packet(0, b"\x03SELECT 1");
            let n = raw.stream.read(&mut b).unwrap_or(0);
            assert_eq!(n, 0, "{side}: {sql}: the connection is closed");
        }
        let mut raw = RawClient::login(port, c.user(), c.password());
        raw.query_bytes(b"BEGIN");
        assert_eq!(
            raw.query_bytes(b"COMMIT NO RELEASE"),
            vec![Res::Ok { affected: 0 }]
        );
        assert_eq!(
            raw.query_bytes(b"SELECT 1")[0].first().as_deref(),
            Some("1"),
            "{side}"
        );
    }
}

/// With sql_auto_is_null=1, `WHERE id IS NULL` after an insert finds the inserted row: the
/// read belongs on the master connection that made it.
#[test]
fn sql_auto_is_null_finds_the_last_insert() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let r = same_answers(
        &c,
        &p,
        "auto_null",
        &[
            b"CREATE TABLE {t}_ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
            b"SET sql_auto_is_null = 1",
            b"INSERT INTO {t}_ai (v) VALUES (10)",
            b"SELECT v FROM {t}_ai WHERE id IS NULL",
            b"DROP TABLE {t}_ai",
        ],
    );
    assert_eq!(r[3][0].first().as_deref(), Some("10"), "{r:?}");
}

/// Auth passthrough under a flood of unknown names: logins that arrive while the account list
/// is being reloaded share that reload, and a name absent from a list loaded a moment ago is
/// refused at once — 64 unknown-user logins (16 at a time, each from its own address so the
/// login throttle stays out of it) cost the master a handful of loads, not one per login; an
/// account created meanwhile still logs in.
#[test]
fn auth_passthrough_coalesces_reloads_under_unknown_user_logins() {
    let c = Cluster::shared();
    let toml = |port: u16| {
        format!(
        "listen = \"127.0.0.1:{port}\"\n[master]\naddress = \"127.0.0.1:{}\"\n[[replicas]]\naddress = \"127.0.0.1:{}\"\n[auth]\npassthrough = true\n[monitor]\nuser = \"{}\"\npassword = \"{}\"\n",
        c.master_port(),
        c.replica_ports()[0],
        c.var("MONITOR_USER"),
        c.var("MONITOR_PASSWORD"),
    )
    };
    let p = Proxy::start_with(&c, toml, &[]);
    eventually("first load", Duration::from_secs(10), || {
        p.log().contains("accounts loaded from the master")
    });
    let started = std::time::Instant::now();
    let port = p.port;
    let workers: Vec<_> = (0..16u8)
        .map(|w| {
            std::thread::spawn(move || {
                for i in 0..4u8 {
                    let from = std::net::Ipv4Addr::new(127, 1, w, i + 1);
                    let r = RawClient::try_login_from(from, port, &format!("nobody_{w}_{i}"), "x");
                    let err = r.err().expect("refused");
                    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1045);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let took = started.elapsed();
    let loads = p.log().matches("accounts loaded from the master").count() - 1;
    // 16 logins arrive together and share one load: four rounds, a few loads (one load per
    // failed login, one after the other, was 64 loads and half a minute).
    assert!(
        loads <= 16,
        "{loads} loads of the account list for 64 unknown-user logins in {took:?}"
    );
    // A real account created now logs in (at its next try within one interval).
    let user = format!("ptnew{}", std::process::id() % 100000);
    c.root_sql("master", &format!("DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pt-new'; GRANT SELECT ON rwtest.* TO '{user}'@'%';"));
    c.wait_replicas();
    eventually("the new account logs in", Duration::from_secs(5), || {
        RawClient::try_login_from([127, 2, 0, 1].into(), port, &user, "pt-new").is_ok()
    });
    c.root_sql("master", &format!("DROP USER '{user}'@'%'"));
}
