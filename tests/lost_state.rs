//! A backend connection that dies while it holds state the proxy cannot rebuild (a named lock,
//! LOCK TABLES, a temporary table, user variables only it has) ends the client's session, as
//! a direct connection ends: never a quiet reconnect on which the client goes on as if it
//! still held its lock. Connections whose state the proxy replays exactly are reopened
//! quietly, as before.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;

/// Sends `sql` and reports whether the connection was closed instead of answered.
fn closed_instead_of_answering(raw: &mut RawClient, sql: &str) -> bool {
    let mut payload = vec![0x03];
    payload.extend_from_slice(sql.as_bytes());
    let mut header = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    header.push(0);
    header.extend_from_slice(&payload);
    use std::io::Write;
    if raw.stream.write_all(&header).is_err() {
        return true;
    }
    let mut b = [0u8; 64];
    matches!(raw.stream.read(&mut b), Ok(0) | Err(_))
}

/// The master thread of a session: CONNECTION_ID() runs on the master and names that thread.
fn master_thread(raw: &mut RawClient) -> String {
    let r = raw.query_bytes(b"SELECT CONNECTION_ID()");
    r[0].first().expect("a thread id")
}

/// Client A holds GET_LOCK('counter') and read v=10; its master connection is killed from the
/// server side; client B takes the lock and increments v. A's UPDATE must not run: directly,
/// A's connection is gone (2013); through the proxy it is gone too, so only B's increment is
/// acknowledged and v ends at 11 with one writer, not two.
#[test]
fn a_killed_master_connection_that_held_a_lock_ends_the_session() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let t = fresh_table(&c, &format!("counter_{side}"));
        c.root_sql("master", &format!("INSERT INTO {t} VALUES (10)"));
        let lock = format!("{}_lock", t.replace('.', "_"));
        let mut a = RawClient::login(port, c.user(), c.password());
        let got = a.query_bytes(format!("SELECT GET_LOCK('{lock}', 0)").as_bytes());
        assert_eq!(got[0].first().as_deref(), Some("1"), "{side}: {got:?}");
        let thread = master_thread(&mut a);
        c.root_sql("master", &format!("KILL {thread}"));
        let mut b = RawClient::login(port, c.user(), c.password());
        eventually("the lock is free", Duration::from_secs(5), || {
            let got = b.query_bytes(format!("SELECT GET_LOCK('{lock}', 0)").as_bytes());
            got[0].first().as_deref() == Some("1")
        });
        let got = b.query_bytes(format!("UPDATE {t} SET a = a + 1").as_bytes());
        assert_eq!(got, vec![Res::Ok { affected: 1 }], "{side}");
        b.query_bytes(format!("SELECT RELEASE_LOCK('{lock}')").as_bytes());
        assert!(
            closed_instead_of_answering(&mut a, &format!("UPDATE {t} SET a = a + 100")),
            "{side}: A's session must end with its lock\n{}",
            tail(&p.log(), 20)
        );
        assert_eq!(row_count(&c, &t), "1");
        let v = c.root_rows("master", &format!("SELECT a FROM {t}"));
        assert_eq!(v, vec!["11"], "{side}: B's increment only");
    }
    assert!(p.log().contains("held state the proxy cannot rebuild"));
}

/// The same for a temporary table (1146 on a quiet reconnect before), and for LOCK TABLES.
#[test]
fn a_killed_master_connection_with_a_temporary_table_or_table_locks_ends_the_session() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let t = fresh_table(&c, "locked");
    for setup in [
        "CREATE TEMPORARY TABLE rwtest.tmp_lost (a INT)".to_string(),
        format!("LOCK TABLES {t} WRITE"),
    ] {
        let mut a = RawClient::login(p.port, c.user(), c.password());
        let got = a.query_bytes(setup.as_bytes());
        assert_eq!(got, vec![Res::Ok { affected: 0 }], "{setup}");
        let thread = master_thread(&mut a);
        c.root_sql("master", &format!("KILL {thread}"));
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            closed_instead_of_answering(&mut a, &format!("SELECT COUNT(*) FROM {t}")),
            "{setup}: {}",
            tail(&p.log(), 20)
        );
    }
}

/// A session whose master connection held nothing the proxy cannot replay is reopened
/// quietly: its settings come back, and it goes on.
#[test]
fn a_killed_master_connection_without_such_state_is_reopened() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let t = fresh_table(&c, "reopened");
    let mut a = RawClient::login(p.port, c.user(), c.password());
    assert_eq!(
        a.query_bytes(b"SET SESSION time_zone = '+02:00'"),
        vec![Res::Ok { affected: 0 }]
    );
    let thread = master_thread(&mut a);
    c.root_sql("master", &format!("KILL {thread}"));
    std::thread::sleep(Duration::from_millis(600));
    let got = a.query_bytes(format!("INSERT INTO {t} VALUES (1)").as_bytes());
    assert_eq!(got, vec![Res::Ok { affected: 1 }], "{}", tail(&p.log(), 20));
    let got = a.query_bytes(b"/* rwsplit:master */ SELECT @@session.time_zone");
    assert_eq!(got[0].first().as_deref(), Some("+02:00"));
}
