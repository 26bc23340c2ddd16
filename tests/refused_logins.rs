//! A replica that refuses the application's login (its password changed there only, the
//! account missing) while the monitor's account still works: the proxy holds the account off
//! that replica with a growing pause instead of trying it for every session, says so once in
//! the log, shows it in SHOW BACKENDS and counts it, and takes the replica back when it
//! accepts the account again.

mod common;

use std::time::Duration;

use common::*;

fn access_denied(c: &Cluster, node: &str) -> i64 {
    c.root_rows(node, "SHOW GLOBAL STATUS LIKE 'Access_denied_errors'")
        .first()
        .and_then(|l| l.split('\t').nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_replica_that_refuses_the_account_is_held_off_and_taken_back() {
    let c = Cluster::shared();
    let pid = std::process::id();
    let user = format!("rwrefuse_{pid}");
    c.root_sql(
        "master",
        &format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pw1';
             GRANT SELECT ON rwtest.* TO '{user}'@'%'"
        ),
    );
    c.wait_replicas();
    // Only on replica1, and not into its binlog: its copy of the account has another password.
    c.root_sql(
        "replica1",
        &format!("SET SESSION sql_log_bin = 0; ALTER USER '{user}'@'%' IDENTIFIED BY 'other'"),
    );
    let (admin, metrics) = (free_port(), free_port());
    let p = Proxy::start(
        &c,
        &format!(
            "[[users]]\nname = \"{user}\"\npassword = \"pw1\"\n\n\
             [admin]\nlisten = \"127.0.0.1:{admin}\"\nuser = \"admin\"\npassword = \"adminpw\"\n\n\
             [metrics]\nlisten = \"127.0.0.1:{metrics}\"\n"
        ),
    );
    let before = access_denied(&c, "replica1");
    let replica1 = c.replica_ids()[0].clone();
    let mut on_replica1 = 0;
    for _ in 0..150 {
        let mut raw = RawClient::login(p.port, &user, "pw1");
        let r = raw.query_bytes(b"SELECT @@server_id");
        let id = r[0].first().expect("every session reads");
        if id == replica1 {
            on_replica1 += 1;
        }
    }
    let refused = access_denied(&c, "replica1") - before;
    assert_eq!(on_replica1, 0);
    assert!(
        (1..=6).contains(&refused),
        "replica1 refused {refused} logins for 150 sessions (one per pause is the goal)"
    );
    let log = p.log();
    assert_eq!(
        log.matches("replica refuses the account's logins").count(),
        1,
        "{}",
        tail(&log, 20)
    );
    let shown = mariadb(
        admin,
        "admin",
        "adminpw",
        "SELECT address, refused_accounts FROM backends WHERE refused_accounts IS NOT NULL",
    );
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(shown.contains(&user) && shown.contains("1045"), "{shown}");
    let (_, body) = metrics_http(metrics);
    assert!(
        body.lines()
            .any(|l| l.starts_with("rwsplit_backend_logins_refused_total ") && !l.ends_with(" 0")),
        "{body}"
    );
    // Fixed on the replica: after the pause a session tries it again and it is back.
    c.root_sql(
        "replica1",
        &format!("SET SESSION sql_log_bin = 0; ALTER USER '{user}'@'%' IDENTIFIED BY 'pw1'"),
    );
    eventually(
        "replica1 takes the account back",
        Duration::from_secs(70),
        || {
            let mut raw = RawClient::login(p.port, &user, "pw1");
            raw.query_bytes(b"SELECT 1");
            p.log()
                .contains("backend accepts the account's logins again")
        },
    );
    let shown = mariadb(
        admin,
        "admin",
        "adminpw",
        "SELECT address FROM backends WHERE refused_accounts IS NOT NULL",
    );
    assert!(shown.status.success());
    assert_eq!(String::from_utf8_lossy(&shown.stdout).trim(), "");
    c.root_sql("master", &format!("DROP USER '{user}'@'%'"));
}
