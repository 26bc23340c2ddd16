//! Issue 3: the same 200+ mixed statements run directly against the master and through the
//! proxy; every response is compared byte for byte (column metadata, rows, OK packets with
//! affected rows, insert ids, status flags and warning counts, ERR packets with codes and
//! SQLSTATEs). Before each read the replicas are waited on, so a read served by a replica must
//! be identical to the master's answer.

mod common;

use common::*;

/// Statements whose answers are expected to differ between two sessions (ids of servers and
/// connections, clocks) are not in the list; everything else must match exactly.
fn statements(t: &str, db: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![
        format!("DROP TABLE IF EXISTS {t}"),
        format!("CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, i INT, d DECIMAL(10,3), f DOUBLE, s VARCHAR(40), b BLOB, dt DATETIME, j TEXT, u TINYINT UNSIGNED, UNIQUE KEY (s)) ENGINE=InnoDB"),
        "SET NAMES utf8mb4".into(),
        "SELECT @@character_set_client, @@character_set_results, @@collation_connection".into(),
    ];
    for k in 0..80 {
        v.push(format!(
            "INSERT INTO {t} (i, d, f, s, b, dt, j, u) VALUES ({k}, {k}.125, {k}.5e3, 'row-{k}-ünï', x'00ff{k:02x}', '2024-01-{:02} 10:11:12', {}, {})",
            k % 28 + 1,
            if k % 3 == 0 { "NULL".to_string() } else { format!("'{}'", "j".repeat(k)) },
            k * 6 % 256
        ));
        if k % 4 == 0 {
            v.push(format!("SELECT * FROM {t} WHERE id = LAST_INSERT_ID()"));
        }
        if k % 3 == 0 {
            v.push(format!(
                "SELECT COUNT(*), SUM(i), AVG(d), MAX(s), MIN(dt) FROM {t}"
            ));
        }
    }
    v.extend([
        format!("SELECT * FROM {t} ORDER BY id"),
        format!("SELECT id, s FROM {t} WHERE i BETWEEN 5 AND 15 ORDER BY s DESC"),
        format!("SELECT i % 3 AS g, COUNT(*), GROUP_CONCAT(id ORDER BY id) FROM {t} GROUP BY g"),
        format!("SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.i = b.i + 1 ORDER BY a.id LIMIT 10"),
        format!("SELECT * FROM {t} WHERE s LIKE 'row-1%' ORDER BY id"),
        format!("SELECT HEX(b), LENGTH(j), j IS NULL FROM {t} ORDER BY id"),
        format!("SELECT CAST(d AS CHAR), f * 2, u + 0 FROM {t} ORDER BY id LIMIT 7"),
        format!("UPDATE {t} SET i = i + 100 WHERE id % 2 = 0"),
        format!("SELECT id, i FROM {t} ORDER BY id"),
        format!("DELETE FROM {t} WHERE id > 75"),
        format!("SELECT COUNT(*) FROM {t}"),
        format!("INSERT INTO {t} (s) VALUES ('row-1-ünï')"),
        format!("INSERT IGNORE INTO {t} (s) VALUES ('row-1-ünï')"),
        "SHOW WARNINGS".into(),
        format!("INSERT INTO {t} (s, u) VALUES ('overflow', 300)"),
        format!("INSERT INTO {t} (i) VALUES ('12abc')"),
        "SHOW WARNINGS".into(),
        format!("REPLACE INTO {t} (id, s) VALUES (1, 'replaced')"),
        format!("INSERT INTO {t} (id, s) VALUES (2, 'dup') ON DUPLICATE KEY UPDATE s = 'upserted'"),
        format!("SELECT id, s FROM {t} WHERE id IN (1, 2)"),
        "SELEC 1".into(),
        "SELECT * FROM no_such_table".into(),
        format!("SELECT no_such_column FROM {t}"),
        "SELECT 1/0, CAST('x' AS DECIMAL)".into(),
        "SHOW WARNINGS".into(),
        "SET @a = 5, @b = 'text'".into(),
        "SELECT @a, @b, @a * 2".into(),
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES'".into(),
        "SELECT @@sql_mode".into(),
        format!("INSERT INTO {t} (u) VALUES (999)"),
        "SET SESSION sql_mode = DEFAULT".into(),
        "SET time_zone = '+05:00'".into(),
        "SELECT @@time_zone, CONVERT_TZ('2024-01-01 00:00:00', '+00:00', @@time_zone)".into(),
        "SET group_concat_max_len = 8".into(),
        format!("SELECT GROUP_CONCAT(s) FROM {t}"),
        "SHOW WARNINGS".into(),
        "SET group_concat_max_len = DEFAULT".into(),
        "BEGIN".into(),
        format!("INSERT INTO {t} (s) VALUES ('in-trx')"),
        format!("SELECT id, s FROM {t} WHERE s = 'in-trx'"),
        "ROLLBACK".into(),
        format!("SELECT COUNT(*) FROM {t} WHERE s = 'in-trx'"),
        "START TRANSACTION".into(),
        format!("UPDATE {t} SET j = 'committed' WHERE id = 3"),
        "COMMIT".into(),
        format!("SELECT j FROM {t} WHERE id = 3"),
        format!("SELECT 1; SELECT 2, 'two'; SELECT COUNT(*) FROM {t}"),
        format!("INSERT INTO {t} (s) VALUES ('multi'); SELECT s FROM {t} WHERE s = 'multi'"),
        format!("SHOW COLUMNS FROM {t}"),
        format!("SHOW CREATE TABLE {t}"),
        // (SHOW INDEX is left out: Cardinality is each server's own estimate.)
        format!("DESCRIBE {t}"),
        format!("EXPLAIN SELECT * FROM {t} WHERE id = 1"),
        "SELECT DATABASE()".into(),
        "USE sbtest".into(),
        "SELECT DATABASE()".into(),
        format!("USE {db}"),
        "SELECT 1 FROM DUAL WHERE 1 = 0".into(),
        "SELECT NULL, '', 0, -1, 18446744073709551615, 1e308, 'a\\'b'".into(),
        "SELECT REPEAT('x', 70000)".into(),
        "DO 1".into(),
        format!("CREATE TEMPORARY TABLE tmp_{t} (x INT)"),
        format!("INSERT INTO tmp_{t} VALUES (1), (2)"),
        format!("SELECT * FROM tmp_{t}"),
        format!("DROP TEMPORARY TABLE tmp_{t}"),
        format!("SELECT SQL_CALC_FOUND_ROWS id FROM {t} ORDER BY id LIMIT 2"),
        "SELECT FOUND_ROWS()".into(),
        format!("UPDATE {t} SET i = i WHERE id < 5"),
        "SELECT ROW_COUNT()".into(),
        "SELECT GET_LOCK('rwsplit-compare', 0), IS_USED_LOCK('rwsplit-compare') IS NOT NULL, RELEASE_LOCK('rwsplit-compare')".into(),
        format!("SELECT * FROM {t} WHERE id = 1 FOR UPDATE"),
        format!("SELECT * FROM {t} WHERE id = 1 LOCK IN SHARE MODE"),
        format!("DROP TABLE {t}"),
    ]);
    v
}

fn is_write(sql: &str) -> bool {
    let s = sql.trim_start().to_ascii_uppercase();
    !(s.starts_with("SELECT")
        || s.starts_with("SHOW")
        || s.starts_with("DESCRIBE")
        || s.starts_with("EXPLAIN"))
}

#[test]
fn same_bytes_direct_and_through_the_proxy() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    // Each side works in its own database (names of equal length, so the proxied bytes can be
    // compared after swapping one name for the other) on the same master.
    let (db_a, db_b) = (
        format!("cmpa{}", std::process::id()),
        format!("cmpb{}", std::process::id()),
    );
    for db in [&db_a, &db_b] {
        let out = mariadb(
            c.master_port(),
            c.user(),
            c.password(),
            &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}"),
        );
        assert!(out.status.success());
    }
    let mut direct = RawClient::login(c.master_port(), c.user(), c.password());
    let mut proxied = RawClient::login(p.port, c.user(), c.password());
    for (r, db) in [(&mut direct, &db_a), (&mut proxied, &db_b)] {
        eventually(
            "database on the replicas",
            std::time::Duration::from_secs(10),
            || {
                c.replica_ports().iter().all(|port| {
                    mariadb(*port, c.user(), c.password(), &format!("USE {db}"))
                        .status
                        .success()
                })
            },
        );
        let mut p = vec![0x02];
        p.extend_from_slice(db.as_bytes());
        r.write_packet(0, &p);
        assert_eq!(r.read_packet().1[0], 0);
    }
    let t = "t1";
    let stmts_a = statements(t, &db_a);
    let stmts_b = statements(t, &db_b);
    assert!(stmts_a.len() >= 200, "{} statements", stmts_a.len());
    let mut compared = 0;
    for (sql, sql_b) in stmts_a.iter().zip(&stmts_b) {
        let a = direct.query_raw(sql);
        let b = swap(&proxied.query_raw(sql_b), db_b.as_bytes(), db_a.as_bytes());
        if is_write(sql) {
            // Let the replicas apply both writes before the next read can be served by one of them.
            let pos = String::from_utf8_lossy(
                &mariadb(
                    c.master_port(),
                    c.user(),
                    c.password(),
                    "SELECT @@gtid_binlog_pos",
                )
                .stdout,
            )
            .trim()
            .to_string();
            for port in c.replica_ports() {
                let w = mariadb(
                    port,
                    c.user(),
                    c.password(),
                    &format!("SELECT MASTER_GTID_WAIT('{pos}', 10)"),
                );
                assert_eq!(String::from_utf8_lossy(&w.stdout).trim(), "0");
            }
        }
        if a != b {
            let at = a
                .iter()
                .zip(&b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            let from = at.saturating_sub(60);
            panic!(
                "responses differ for: {sql}\n at byte {at} of {}/{}\n direct: {:?}\n  proxy: {:?}\nproxy log:\n{}",
                a.len(),
                b.len(),
                String::from_utf8_lossy(&a[from..(at + 60).min(a.len())]),
                String::from_utf8_lossy(&b[from..(at + 60).min(b.len())]),
                tail(&p.log(), 20)
            );
        }
        compared += 1;
    }
    eprintln!("{compared} statements: identical bytes direct and through rwsplit");
    for db in [&db_a, &db_b] {
        mariadb(
            c.master_port(),
            c.user(),
            c.password(),
            &format!("DROP DATABASE {db}"),
        );
    }
}

fn swap(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}
