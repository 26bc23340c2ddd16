//! Query rules (`[[rules]]`) end to end: a real rwsplit in front of the test cluster. Where a
//! statement ran is read from `@@server_id` (master 1, replicas 2 and 3) and from
//! `@@global.read_only` (on only on the replicas); that a blocked statement reached no backend
//! is read from the master's data (a blocked INSERT left no row) and from the client's error.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

fn uniq(prefix: &str) -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// Where `sql` (which must return `@@server_id` first) ran, over 10 fresh CLI sessions.
fn ran_on(p: &Proxy, c: &Cluster, sql: &str) -> Vec<String> {
    (0..10)
        .map(|_| {
            p.sql_ok(c, sql)
                .first()
                .map(|l| l.split('\t').next().unwrap_or_default().to_string())
                .unwrap_or_default()
        })
        .collect()
}

fn all_master(c: &Cluster, ran: &[String]) -> bool {
    ran.iter().all(|id| *id == c.master_id())
}

fn all_replicas(c: &Cluster, ran: &[String]) -> bool {
    ran.iter().all(|id| c.replica_ids().contains(id))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn user_rules_send_reads_to_the_master_or_to_replicas() {
    let c = Cluster::shared();
    let rules = format!(
        "[[rules]]\nuser = \"nobody\"\nblock = \"not you\"\n\n\
         [[rules]]\nuser = \"{}\"\nroute = \"master\"\n",
        c.user()
    );
    let p = Proxy::start(&c, &rules);
    let ran = ran_on(&p, &c, "SELECT @@server_id");
    assert!(all_master(&c, &ran), "route = master takes reads: {ran:?}");

    // route = "replica": a read the router alone keeps on the master (a server-state read)
    // goes to a replica; read_only is on only there.
    let p = Proxy::start(&c, "");
    assert_eq!(
        p.sql_ok(&c, "SELECT @@global.read_only")[0],
        "0",
        "without a rule"
    );
    let rules = format!("[[rules]]\nuser = \"{}\"\nroute = \"replica\"\n", c.user());
    let p = Proxy::start(&c, &rules);
    for _ in 0..5 {
        assert_eq!(p.sql_ok(&c, "SELECT @@global.read_only")[0], "1");
    }
    // A rule for another user does nothing for this one.
    let p = Proxy::start(&c, "[[rules]]\nuser = \"reports\"\nroute = \"master\"\n");
    let ran = ran_on(&p, &c, "SELECT @@server_id");
    assert!(all_replicas(&c, &ran), "{ran:?}");
}

#[test]
fn a_replica_rule_cannot_move_a_write_a_transaction_or_a_locking_read() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[[rules]]\nroute = \"replica\"\n");
    let t = uniq("rules_w");
    // A replica refuses the app account's writes (read_only, no SUPER): success means master.
    p.sql_ok(&c, &format!("CREATE TABLE rwtest.{t} (id INT PRIMARY KEY)"));
    p.sql_ok(&c, &format!("INSERT INTO rwtest.{t} VALUES (1)"));
    p.sql_ok(&c, &format!("UPDATE rwtest.{t} SET id = 2"));
    let direct = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("SELECT id FROM rwtest.{t}"),
    );
    assert_eq!(String::from_utf8_lossy(&direct.stdout).trim(), "2");
    let out = p.sql_ok(
        &c,
        &format!(
            "BEGIN; SELECT @@server_id; SELECT @@server_id FROM rwtest.{t} FOR UPDATE; COMMIT"
        ),
    );
    assert_eq!(
        out,
        vec![c.master_id(), c.master_id()],
        "transaction, locking read"
    );
    let out = p.sql_ok(
        &c,
        &format!("INSERT INTO rwtest.{t} VALUES (5); SELECT LAST_INSERT_ID(), @@server_id"),
    );
    assert!(out[0].ends_with(&format!("\t{}", c.master_id())), "{out:?}");
    // Plain reads still go to replicas, and the rule is in force: a read the router alone
    // keeps on the master moves.
    let ran = ran_on(&p, &c, "SELECT @@server_id");
    assert!(all_replicas(&c, &ran), "{ran:?}");
    assert_eq!(p.sql_ok(&c, "SELECT @@global.read_only")[0], "1");
    p.sql_ok(&c, &format!("DROP TABLE rwtest.{t}"));
}

#[tokio::test]
async fn a_block_rule_answers_1148_and_nothing_reaches_a_backend() {
    let c = Cluster::shared();
    let t = uniq("rules_blocked");
    let rules = format!(
        "[[rules]]\npattern = '(?i)^\\s*INSERT\\s+INTO\\s+rwtest\\.{t}\\b'\n\
         block = \"inserts into {t} are blocked\"\n\n\
         [[rules]]\npattern = \"rules_block_me\"\nblock = \"no\"\n"
    );
    let p = Proxy::start(&c, &rules);
    p.sql_ok(&c, &format!("CREATE TABLE rwtest.{t} (id INT PRIMARY KEY)"));
    let out = p.sql(&c, &format!("insert into rwtest.{t} VALUES (1)"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "ERROR 1148 (42000) at line 1: inserts into {t} are blocked"
        )),
        "{}",
        stderr(&out)
    );
    let rows = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("SELECT COUNT(*) FROM rwtest.{t}"),
    );
    assert_eq!(
        String::from_utf8_lossy(&rows.stdout).trim(),
        "0",
        "nothing ran"
    );

    // Text and binary protocol on one connection; the session goes on after a block.
    let pool = p.pool(&c, None);
    let mut conn = pool.get_conn().await.unwrap();
    let e = conn
        .query_drop("SELECT 'rules_block_me' FROM rwtest.no_such_table")
        .await
        .unwrap_err();
    match e {
        mysql_async::Error::Server(se) => {
            assert_eq!(
                (se.code, se.state.as_str(), se.message.as_str()),
                (1148, "42000", "no")
            );
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    let e = conn
        .exec_drop(format!("INSERT INTO rwtest.{t} VALUES (?)"), (2,))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, mysql_async::Error::Server(se) if se.code == 1148),
        "a blocked prepare: {e:?}"
    );
    let n: u64 = conn
        .query_first(format!("SELECT COUNT(*) FROM rwtest.{t}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    conn.query_drop(format!("REPLACE INTO rwtest.{t} VALUES (3)"))
        .await
        .expect("a statement no rule matches runs");
    drop(conn);
    pool.disconnect().await.unwrap();
    p.sql_ok(&c, &format!("DROP TABLE rwtest.{t}"));
}

#[test]
fn pattern_and_digest_rules() {
    let c = Cluster::shared();
    let (ap, mp) = (free_port(), free_port());
    let rules = format!(
        "[admin]\nlisten = \"127.0.0.1:{ap}\"\nuser = \"admin\"\npassword = \"adminsecret\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{mp}\"\n\n\
         [[rules]]\npattern = \"rules_to_master\"\nroute = \"master\"\n\n\
         [[rules]]\ndigest = \"select @@server_id, ?, ?\"\nroute = \"master\"\ncluster = \"main\"\n"
    );
    let p = Proxy::start(&c, &rules);
    let ran = ran_on(&p, &c, "SELECT @@server_id, 'rules_to_master'");
    assert!(all_master(&c, &ran), "pattern: {ran:?}");
    let ran = ran_on(&p, &c, "SELECT @@server_id, 'rules_to_replica'");
    assert!(all_replicas(&c, &ran), "pattern: {ran:?}");
    let ran = ran_on(&p, &c, "select  @@SERVER_ID, 42, 'x' /* c */");
    assert!(all_master(&c, &ran), "digest: {ran:?}");
    let ran = ran_on(&p, &c, "SELECT @@server_id, 42");
    assert!(all_replicas(&c, &ran), "another digest: {ran:?}");
    // The rule's text is what SHOW DIGESTS prints for those statements.
    let admin = |sql: &str| {
        let o = mariadb(ap, "admin", "adminsecret", sql);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let digests = admin("SHOW DIGESTS");
    assert!(
        digests
            .lines()
            .any(|l| l.starts_with("select @@server_id, ?, ?\t")),
        "{digests}"
    );
    let rules = admin("SHOW RULES");
    let lines: Vec<&str> = rules.lines().collect();
    assert_eq!(
        lines,
        vec![
            "0\tNULL\tNULL\tNULL\trules_to_master\tNULL\troute=master\t10",
            "1\tNULL\tNULL\tselect @@server_id, ?, ?\tNULL\tmain\troute=master\t10",
        ]
    );
    // The same counts on /metrics, by rule position.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", mp)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut metrics = String::new();
    s.read_to_string(&mut metrics).unwrap();
    for rule in ["0", "1"] {
        let line = format!("rwsplit_rule_hits{{rule=\"{rule}\"}} 10");
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
}

#[test]
fn schema_rules_match_the_current_database_and_db_table() {
    let c = Cluster::shared();
    let db = format!("rwrules_s{}", std::process::id());
    c.fresh_db(&db);
    let direct = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("CREATE TABLE {db}.t (id INT); INSERT INTO {db}.t VALUES (1)"),
    );
    assert!(direct.status.success(), "{}", stderr(&direct));
    c.wait_replicas();
    let p = Proxy::start(
        &c,
        "[[rules]]\nschema = \"rwrules_s*\"\nroute = \"master\"\n",
    );
    let ran = ran_on(&p, &c, &format!("USE {db}; SELECT @@server_id"));
    assert!(all_master(&c, &ran), "current database: {ran:?}");
    let ran = ran_on(&p, &c, &format!("SELECT @@server_id FROM {db}.t"));
    assert!(all_master(&c, &ran), "db.table: {ran:?}");
    let ran = ran_on(
        &p,
        &c,
        &format!("USE rwtest; SELECT @@server_id FROM `{db}`.t"),
    );
    assert!(
        all_master(&c, &ran),
        "db.table from another database: {ran:?}"
    );
    let ran = ran_on(&p, &c, "USE rwtest; SELECT @@server_id");
    assert!(all_replicas(&c, &ran), "another database: {ran:?}");
    let out = mariadb(
        c.master_port(),
        c.user(),
        c.password(),
        &format!("DROP DATABASE {db}"),
    );
    assert!(out.status.success());
}

#[tokio::test]
async fn a_reloaded_rule_applies_to_a_running_session_at_its_next_statement() {
    let c = Cluster::shared();
    let p = Proxy::start_args(
        &c,
        "[[rules]]\nuser = \"reports\"\nroute = \"master\"\n",
        &["--no-watch"],
    );
    let config = p.dir.join("proxy.toml");
    let base = c.proxy_toml(p.port, "");
    let master: u32 = c.master_id().parse().unwrap();
    let pool = p.pool(&c, None);
    let mut conn = pool.get_conn().await.unwrap();
    let stmt = conn.prep("SELECT @@server_id").await.unwrap();
    let id: u32 = conn
        .query_first("SELECT @@server_id")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(id, master, "no rule for this user yet");
    let id: u32 = conn.exec_first(&stmt, ()).await.unwrap().unwrap();
    assert_ne!(id, master);

    // The same connection, after SIGHUP: its reads go to the master, prepared ones too.
    let rule = format!("[[rules]]\nuser = \"{}\"\nroute = \"master\"\n", c.user());
    std::fs::write(&config, format!("{base}{rule}")).unwrap();
    p.send_signal("HUP");
    let mut moved = false;
    for _ in 0..100 {
        let id: u32 = conn
            .query_first("SELECT @@server_id")
            .await
            .unwrap()
            .unwrap();
        if id == master {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        moved,
        "the reloaded rule never applied; log:\n{}",
        tail(&p.log(), 20)
    );
    for _ in 0..5 {
        let id: u32 = conn
            .query_first("SELECT @@server_id")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(id, master);
        let id: u32 = conn.exec_first(&stmt, ()).await.unwrap().unwrap();
        assert_eq!(id, master, "a statement prepared before the reload");
    }

    // A block rule loaded the same way answers the next statement, text and prepared.
    let block = "[[rules]]\npattern = \"(?i)server_id\"\nblock = \"maintenance\"\n";
    std::fs::write(&config, format!("{base}{block}")).unwrap();
    p.send_signal("HUP");
    let mut blocked = false;
    for _ in 0..100 {
        if let Err(mysql_async::Error::Server(se)) = conn.query_drop("SELECT @@server_id").await {
            assert_eq!((se.code, se.message.as_str()), (1148, "maintenance"));
            blocked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(blocked, "the block never applied");
    let e = conn.exec_drop(&stmt, ()).await.unwrap_err();
    assert!(
        matches!(&e, mysql_async::Error::Server(se) if se.code == 1148),
        "{e:?}"
    );

    // A bad file keeps the running rules.
    std::fs::write(
        &config,
        format!("{base}[[rules]]\npattern = \"(\"\nroute = \"master\"\n"),
    )
    .unwrap();
    p.send_signal("HUP");
    eventually("reload failure logged", Duration::from_secs(5), || {
        p.log().contains("rules[0].pattern")
    });
    assert!(
        conn.query_drop("SELECT @@server_id").await.is_err(),
        "still blocked"
    );
    // Rules removed: the statement runs again, the prepared one too.
    std::fs::write(&config, &base).unwrap();
    p.send_signal("HUP");
    let mut back = false;
    for _ in 0..100 {
        if let Ok(Some(id)) = conn.query_first::<u32, _>("SELECT @@server_id").await {
            assert_ne!(id, master);
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(back);
    let id: u32 = conn.exec_first(&stmt, ()).await.unwrap().unwrap();
    assert_ne!(id, master);
    drop(conn);
    pool.disconnect().await.unwrap();
}
