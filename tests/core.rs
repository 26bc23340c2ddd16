//! Issue 2 end to end: a real client against rwsplit in front of a real replicated MariaDB
//! cluster. Where each statement ran is read from @@server_id (master 1, replicas 2 and 3).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

fn uniq_table(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

#[test]
fn cli_reads_go_to_replicas_and_writes_to_master() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let out = p.sql_ok(&c, "SELECT @@server_id");
        seen.insert(out[0].clone());
    }
    let replicas: HashSet<String> = c.replica_ids().into_iter().collect();
    assert_eq!(
        seen, replicas,
        "20 CLI runs must hit both replicas and never the master"
    );

    let t = uniq_table("cli");
    p.sql_ok(
        &c,
        &format!("CREATE TABLE rwtest.{t} (id INT PRIMARY KEY, v VARCHAR(20))"),
    );
    p.sql_ok(&c, &format!("INSERT INTO rwtest.{t} VALUES (1, 'hello')"));
    // On the master, read directly.
    let direct = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("SELECT v FROM rwtest.{t}"),
    );
    assert_eq!(String::from_utf8_lossy(&direct.stdout).trim(), "hello");
    // Read back through the proxy once replication has applied it.
    eventually(
        "replicated row readable through the proxy",
        Duration::from_secs(10),
        || {
            p.sql(&c, &format!("SELECT v FROM rwtest.{t}"))
                .stdout
                .starts_with(b"hello")
        },
    );
    p.sql_ok(&c, &format!("DROP TABLE rwtest.{t}"));
}

#[test]
fn transactions_stay_on_master() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let m = c.master_id();
    let out = p.sql_ok(&c, "BEGIN; SELECT @@server_id; COMMIT; SELECT @@server_id;");
    assert_eq!(out[0], m, "read inside BEGIN must run on the master");
    assert!(
        c.replica_ids().contains(&out[1]),
        "read after COMMIT goes to a replica: {out:?}"
    );

    let out = p.sql_ok(
        &c,
        "START TRANSACTION; SELECT @@server_id; ROLLBACK; SELECT @@server_id;",
    );
    assert_eq!(out[0], m);
    assert!(c.replica_ids().contains(&out[1]));

    let out = p.sql_ok(&c, "SET autocommit=0; SELECT @@server_id; SELECT @@server_id; COMMIT; SELECT @@server_id; SET autocommit=1; SELECT @@server_id;");
    assert_eq!(
        &out[..3],
        &[m.clone(), m.clone(), m.clone()],
        "autocommit=0 keeps every statement on the master"
    );
    assert!(
        c.replica_ids().contains(&out[3]),
        "autocommit=1 reads go to replicas again: {out:?}"
    );
}

#[test]
fn locking_reads_and_hints() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let m = c.master_id();
    let t = uniq_table("lock");
    p.sql_ok(&c, &format!("CREATE TABLE rwtest.{t} (id INT PRIMARY KEY)"));
    let out = p.sql_ok(
        &c,
        &format!("SELECT @@server_id FROM rwtest.{t} RIGHT JOIN (SELECT 1) x ON 1=1 FOR UPDATE"),
    );
    assert_eq!(out[0], m, "FOR UPDATE runs on the master");
    let out = p.sql_ok(
        &c,
        &format!(
            "SELECT @@server_id FROM rwtest.{t} RIGHT JOIN (SELECT 1) x ON 1=1 LOCK IN SHARE MODE"
        ),
    );
    assert_eq!(out[0], m, "LOCK IN SHARE MODE runs on the master");
    let out = p.sql_ok(&c, "/* rwsplit:master */ SELECT @@server_id");
    assert_eq!(out[0], m, "master hint");
    // A replica hint sends a read the proxy would send to the master (server state) to a
    // replica, but not a read of the master connection's own state (LAST_INSERT_ID()).
    let out = p.sql_ok(
        &c,
        "/* rwsplit:replica */ SELECT @@server_id, LAST_INSERT_ID()",
    );
    assert_eq!(out[0].split('\t').next().unwrap(), m, "{out:?}");
    let out = p.sql_ok(
        &c,
        "/* rwsplit:replica */ SELECT @@server_id, @@global.max_connections",
    );
    assert!(
        c.replica_ids()
            .contains(&out[0].split('\t').next().unwrap().to_string()),
        "replica hint: {out:?}"
    );
    let out = p.sql_ok(&c, "SELECT @@server_id, LAST_INSERT_ID()");
    assert_eq!(
        out[0].split('\t').next().unwrap(),
        m,
        "LAST_INSERT_ID() without hint runs on the master"
    );
    // a replica hint never sends a write to a replica
    p.sql_ok(
        &c,
        &format!("/* rwsplit:replica */ INSERT INTO rwtest.{t} VALUES (1)"),
    );
    p.sql_ok(&c, &format!("DROP TABLE rwtest.{t}"));
}

#[test]
fn errors_pass_through_unchanged() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let out = p.sql(&c, "SELEC 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ERROR 1064 (42000)"),
        "syntax error code and SQLSTATE kept: {err}"
    );
    let direct = mariadb(c.master_port(), c.user(), c.password(), "SELEC 1");
    let direct_err = String::from_utf8_lossy(&direct.stderr);
    assert_eq!(err.trim(), direct_err.trim(), "byte-identical message");

    let out = p.sql(&c, "SELECT * FROM rwtest.no_such_table_here");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERROR 1146 (42S02)"));

    let out = mariadb(p.port, c.user(), "wrong-password", "SELECT 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ERROR 1045 (28000)")
            && err.contains("Access denied for user 'app'@'127.0.0.1' (using password: YES)"),
        "{err}"
    );
    let out = mariadb(p.port, "nobody", "x", "SELECT 1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERROR 1045 (28000)"));
    assert!(
        !p.log().contains(c.password()),
        "the password never appears in the log"
    );

    // unknown database at login: the server's own 1049
    let out = mariadb_args(
        p.port,
        c.user(),
        c.password(),
        &["-D", "no_such_db_xyz"],
        "SELECT 1",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ERROR 1049 (42000)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // warnings count passes through
    let out = p.sql_ok(&c, "SELECT CAST('12abc' AS INT); SHOW WARNINGS;");
    assert!(
        out.iter().any(|l| l.contains("Truncated incorrect")),
        "SHOW WARNINGS follows the statement: {out:?}"
    );
}

#[test]
fn database_and_charset_follow_the_session() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let t = uniq_table("db");
    p.sql_ok(&c, &format!("CREATE TABLE rwtest.{t} (id INT PRIMARY KEY)"));
    p.sql_ok(&c, &format!("INSERT INTO rwtest.{t} VALUES (7)"));
    eventually("row on replicas", Duration::from_secs(10), || {
        c.replica_ports().iter().all(|port| {
            mariadb(
                *port,
                c.user(),
                c.password(),
                &format!("SELECT id FROM rwtest.{t}"),
            )
            .stdout
            .starts_with(b"7")
        })
    });
    // USE on the master (after a write), then a read on a replica must see the same database.
    let out = p.sql_ok(
        &c,
        &format!("USE rwtest; INSERT INTO {t} VALUES (8); SELECT DATABASE(), @@server_id; SET NAMES latin1; SELECT @@character_set_client, @@server_id; SELECT @@character_set_client, @@server_id FOR UPDATE;"),
    );
    let row: Vec<&str> = out[0].split('\t').collect();
    assert_eq!(row[0], "rwtest");
    assert!(c.replica_ids().contains(&row[1].to_string()), "{out:?}");
    let r1: Vec<&str> = out[1].split('\t').collect();
    let r2: Vec<&str> = out[2].split('\t').collect();
    assert_eq!(r1[0], "latin1");
    assert_eq!(r2[0], "latin1");
    assert_ne!(r1[1], r2[1], "one on a replica, one on the master: {out:?}");
    p.sql_ok(&c, &format!("DROP TABLE rwtest.{t}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_route_by_statement() {
    let c = Cluster::shared();
    // Eventual consistency: under the default ("session") the first read after the 1000
    // inserts rightly goes to the master when the replicas are more than consistency_wait
    // behind, which a loaded machine can make happen; this test is about statement routing.
    let p = Proxy::start(&c, "[routing]\nconsistency = \"eventual\"\n");
    let pool = p.pool(&c, Some("rwtest"));
    let mut conn = pool.get_conn().await.unwrap();
    let t = uniq_table("ps");
    conn.query_drop(format!("CREATE TABLE {t} (id INT PRIMARY KEY, v INT)"))
        .await
        .unwrap();

    let ins = conn
        .prep(format!("INSERT INTO {t} (id, v) VALUES (?, ?)"))
        .await
        .unwrap();
    for i in 0..1000 {
        conn.exec_drop(&ins, (i, i * 2)).await.unwrap();
    }
    let n: Option<i64> = mysql_async::Conn::new(
        mysql_async::OptsBuilder::from_opts(
            mysql_async::Opts::from_url(&format!(
                "mysql://{}:{}@127.0.0.1:{}/rwtest",
                c.user(),
                c.password(),
                c.master_port()
            ))
            .unwrap(),
        )
        .prefer_socket(false),
    )
    .await
    .unwrap()
    .query_first(format!("SELECT COUNT(*) FROM {t}"))
    .await
    .unwrap();
    assert_eq!(
        n,
        Some(1000),
        "all 1000 prepared inserts landed on the master"
    );

    let sel = conn.prep("SELECT @@server_id, ? + 1").await.unwrap();
    let replicas = c.replica_ids();
    for i in 0..1000i64 {
        let (sid, v): (i64, i64) = conn.exec_first(&sel, (i,)).await.unwrap().unwrap();
        assert!(
            replicas.contains(&sid.to_string()),
            "parameterized SELECT ran on {sid}"
        );
        assert_eq!(v, i + 1);
    }
    // The same statement inside a transaction runs on the master (prepared there lazily).
    let mut tx = conn.start_transaction(Default::default()).await.unwrap();
    let (sid, _): (i64, i64) = tx.exec_first(&sel, (1,)).await.unwrap().unwrap();
    assert_eq!(sid.to_string(), c.master_id());
    tx.commit().await.unwrap();
    conn.query_drop(format!("DROP TABLE {t}")).await.unwrap();
    drop(conn);
    pool.disconnect().await.unwrap();
}

#[test]
fn malformed_input_gets_error_and_proxy_keeps_serving() {
    use std::io::{Read, Write};
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    // Truncated handshake: garbage instead of a handshake response.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut greeting = [0u8; 4];
    s.read_exact(&mut greeting).unwrap();
    let len = u32::from_le_bytes([greeting[0], greeting[1], greeting[2], 0]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    assert_eq!(body[0], 10, "protocol version 10 greeting");
    s.write_all(&[3, 0, 0, 1, 1, 2, 3]).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    assert!(
        resp.len() > 4 && resp[4] == 0xFF,
        "bad handshake answered with ERR"
    );
    assert!(String::from_utf8_lossy(&resp).contains("Bad handshake"));

    // A packet header announcing more than max_packet_size: error, nothing allocated.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.read_exact(&mut greeting).unwrap();
    let len = u32::from_le_bytes([greeting[0], greeting[1], greeting[2], 0]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    s.write_all(&[0xFF, 0xFF, 0xFF, 1]).unwrap();
    s.write_all(&[0u8; 1000]).unwrap();
    drop(s);

    // The proxy still serves others.
    assert!(!p.sql_ok(&c, "SELECT 1").is_empty());
    // After login: an unknown command byte gets ERR 1047; COM_SHUTDOWN, COM_DEBUG and a
    // binlog dump get the 1227 an account without the privilege gets (never passed on: the
    // test account may shut a server down); an execute of a statement never prepared gets
    // 1243, an empty packet gets an error; the session goes on.
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    for (bad, code, privilege) in [
        (&[0x42u8][..], 1047, ""),
        (&[0x08][..], 1227, "SHUTDOWN"),
        (&[0x08, 0x00][..], 1227, "SHUTDOWN"),
        (&[0x0d][..], 1227, "SUPER"),
        (
            &[0x12, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0][..],
            1227,
            "REPLICATION SLAVE",
        ),
        (&[][..], 1047, ""),
    ] {
        raw.write_packet(0, bad);
        let (seq, err) = raw.read_packet();
        assert_eq!(seq, 1);
        assert_eq!(err[0], 0xFF, "ERR for {bad:?}");
        assert_eq!(u16::from_le_bytes([err[1], err[2]]), code, "{bad:?}");
        assert!(String::from_utf8_lossy(&err).contains(privilege), "{bad:?}");
    }
    // COM_PROCESS_INFO: the master's processlist, as the server sends it.
    let list = raw.command(&[0x0a]);
    assert!(
        matches!(&list[..], [Res::Rows(rows)] if !rows.is_empty() && rows[0].len() == 9),
        "{list:?}"
    );
    raw.write_packet(0, &[0x17, 99, 0, 0, 0, 0, 1, 0, 0, 0]);
    let (_, err) = raw.read_packet();
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1243);
    raw.write_packet(0, b"\x03SELECT 2");
    let (_, first) = raw.read_packet();
    assert_eq!(first, [1], "one column");
    let out = p.sql_ok(&c, "SELECT 2");
    assert_eq!(out[0], "2");
}

#[test]
fn idle_and_silent_clients_are_dropped_on_time() {
    use std::io::Read;
    let c = Cluster::shared();
    let p = Proxy::start(
        &c,
        "[limits]\nidle_client_timeout = \"1s\"\nhandshake_timeout = \"1s\"\n",
    );
    // A client that connects and never answers the greeting.
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let start = std::time::Instant::now();
    let mut sink = Vec::new();
    let _ = silent.read_to_end(&mut sink);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "handshake timeout closes it"
    );
    // A logged-in client that stays idle.
    let mut idle = RawClient::login(p.port, c.user(), c.password());
    let r = idle.query_raw("SELECT 1");
    assert_eq!(r[4], 1);
    idle.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let start = std::time::Instant::now();
    let mut sink = Vec::new();
    let _ = idle.stream.read_to_end(&mut sink);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "idle timeout after ~1s, got {waited:?}"
    );
    // Others are served throughout.
    assert_eq!(p.sql_ok(&c, "SELECT 3")[0], "3");
}

/// Replicas are picked by fewest sessions per weight: a few long-lived clients spread exactly
/// by weight (a random pick leaves eight clients split 6/2 as often as 4/4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_spread_over_replicas_by_weight() {
    let c = Cluster::shared();
    let ports = c.replica_ports();
    for (weights, expect) in [((1, 1), (4, 4)), ((1, 3), (2, 6))] {
        let p = Proxy::start_with(
            &c,
            |port| {
                format!(
                    "listen = \"127.0.0.1:{port}\"\n[master]\naddress = \"127.0.0.1:{}\"\n\
                     [[replicas]]\naddress = \"127.0.0.1:{}\"\nweight = {}\n\
                     [[replicas]]\naddress = \"127.0.0.1:{}\"\nweight = {}\n\
                     [[users]]\nname = \"{}\"\npassword = \"{}\"\n",
                    c.master_port(),
                    ports[0],
                    weights.0,
                    ports[1],
                    weights.1,
                    c.user(),
                    c.password()
                )
            },
            &[],
        );
        let pool = p.pool(&c, None);
        let conns: Vec<_> = (0..8).map(|_| pool.get_conn()).collect();
        let mut held = Vec::new();
        for f in conns {
            held.push(f.await.unwrap());
        }
        let reads: Vec<_> = held
            .into_iter()
            .map(|mut conn| {
                tokio::spawn(async move {
                    let id: Option<i64> = conn.query_first("SELECT @@server_id").await.unwrap();
                    (conn, id.unwrap().to_string())
                })
            })
            .collect();
        let (mut held, mut ids) = (Vec::new(), Vec::new());
        for r in reads {
            let (conn, id) = r.await.unwrap();
            held.push(conn);
            ids.push(id);
        }
        let on = |i: usize| ids.iter().filter(|id| **id == c.replica_ids()[i]).count();
        assert_eq!((on(0), on(1)), expect, "weights {weights:?}: {ids:?}");
        drop(held);
        pool.disconnect().await.unwrap();
    }
}

/// A command packet with a sequence id other than 0 gets the server's 1156 (packets out of
/// order) before the connection closes, not a silent close; a refused login is logged with
/// its SQLSTATE as text.
#[test]
fn out_of_order_packets_and_refused_logins_are_answered_and_logged_plainly() {
    use std::io::Read;
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    raw.write_packet(5, b"\x03SELECT 1");
    let (_, err) = raw.read_packet();
    assert_eq!(err[0], 0xff, "{err:?}");
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1156);
    assert_eq!(&err[3..9], b"#08S01");
    let mut b = [0u8; 8];
    assert_eq!(
        raw.stream.read(&mut b).unwrap_or(0),
        0,
        "then the connection closes"
    );
    let out = mariadb(p.port, c.user(), "wrong-password", "SELECT 1");
    assert!(!out.status.success());
    eventually("the refusal is logged", Duration::from_secs(5), || {
        p.log().contains("login refused") && p.log().contains("ERROR 1045 (28000)")
    });
}

/// A client that sends half a packet and stops is closed after `[timeouts] client_read`, not
/// after the 8 h idle timeout; a client idle between packets is not.
#[test]
fn half_a_packet_is_waited_for_client_read_only() {
    use std::io::{Read, Write};
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[timeouts]\nclient_read = \"1s\"\n");
    let mut idle = RawClient::login(p.port, c.user(), c.password());
    let mut half = RawClient::login(p.port, c.user(), c.password());
    // A header announcing 100 bytes, then 10 of them.
    half.stream.write_all(&[100, 0, 0, 0, 0x03]).unwrap();
    half.stream.write_all(b"SELECT 1 ").unwrap();
    let started = std::time::Instant::now();
    let mut b = [0u8; 16];
    let n = half.stream.read(&mut b).unwrap_or(0);
    assert_eq!(n, 0, "closed");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The idle one (no byte of a packet sent) is still served after the same wait.
    assert_eq!(
        idle.query_bytes(b"SELECT 1")[0].first().as_deref(),
        Some("1")
    );
    assert!(p
        .log()
        .contains("did not arrive whole within [timeouts] client_read"));
}
