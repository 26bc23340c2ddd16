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

// ---------------------------------------------------------------------------------------
// Issue 23: a block holds against every spelling. Each case is judged by the effect on the
// master (the protected rows and tables as they were) and by what the client got back (the
// rule's error, and never the protected data).
// ---------------------------------------------------------------------------------------

/// A database a `schema` block rule protects: `cards (id, num)` with one row whose `num` is a
/// marker no answer may contain, made directly on the master and replicated; a proxy whose
/// rule blocks the database. Dropped when the case ends.
struct Secret {
    c: Cluster,
    p: Proxy,
    db: String,
    mark: String,
}

impl Secret {
    fn new(tag: &str) -> Secret {
        let c = Cluster::shared();
        let db = uniq(&format!("secretdb_{tag}"));
        let mark = format!("SECRET-{db}");
        c.fresh_db(&db);
        let made = mariadb(
            c.master_port(),
            c.user(),
            c.password(),
            &format!(
                "CREATE TABLE {db}.cards (id INT PRIMARY KEY, num VARCHAR(80)); \
                 INSERT INTO {db}.cards VALUES (1, '{mark}')"
            ),
        );
        assert!(made.status.success(), "{}", stderr(&made));
        c.wait_replicas();
        let p = Proxy::start(
            &c,
            &format!("[[rules]]\nschema = \"{db}\"\nblock = \"{db} is off limits\"\n"),
        );
        Secret { c, p, db, mark }
    }

    /// Runs `sql` with the CLI in a session whose database is rwtest: it must be refused
    /// with the rule's error and show nothing of the table.
    fn refused(&self, sql: &str) {
        let out = mariadb_args(
            self.p.port,
            self.c.user(),
            self.c.password(),
            &["-Drwtest"],
            sql,
        );
        let (stdout, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!out.status.success(), "{sql} ran: {stdout}");
        assert!(err.contains("ERROR 1148 (42000)"), "{sql}: {err}");
        assert!(!stdout.contains(&self.mark), "{sql} leaked: {stdout}");
    }

    /// [`Secret::refused`] for a read, which first shows that the spelling is a real way to
    /// the data: sent straight to the master, its answer holds the marker.
    fn refused_read(&self, sql: &str) {
        let direct = mariadb_args(
            self.c.master_port(),
            self.c.user(),
            self.c.password(),
            &["-Drwtest"],
            sql,
        );
        assert!(
            String::from_utf8_lossy(&direct.stdout).contains(&self.mark),
            "{sql} does not read the table on the server itself: {}",
            stderr(&direct)
        );
        self.refused(sql);
    }

    /// A mysql_async connection in database rwtest (multi-statements allowed, the text sent
    /// exactly as written).
    async fn conn(&self) -> mysql_async::Conn {
        mysql_async::Conn::new(self.p.opts(&self.c, Some("rwtest")))
            .await
            .unwrap()
    }

    /// The same, straight to the master: the control that shows a spelling reads the data.
    async fn direct(&self) -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.c.master_port())
            .user(Some(self.c.user()))
            .pass(Some(self.c.password()))
            .db_name(Some("rwtest"))
            .prefer_socket(false);
        mysql_async::Conn::new(opts).await.unwrap()
    }

    /// Each of `steps` run on the master directly: the last answer holds the marker.
    async fn reads_directly(&self, steps: &[String]) {
        let mut conn = self.direct().await;
        let mut last = Vec::new();
        for step in steps {
            last = all_rows(&mut conn, step).await.unwrap();
        }
        assert!(
            format!("{last:?}").contains(&self.mark),
            "{steps:?} does not read the table on the server itself: {last:?}"
        );
        conn.disconnect().await.unwrap();
    }

    /// The table as the master has it: the one row, unchanged.
    fn untouched(&self) {
        let rows = mariadb(
            self.c.master_port(),
            self.c.user(),
            self.c.password(),
            &format!("SELECT id, num FROM {}.cards", self.db),
        );
        assert!(rows.status.success(), "{}", stderr(&rows));
        assert_eq!(
            String::from_utf8_lossy(&rows.stdout).trim(),
            format!("1\t{}", self.mark)
        );
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let _ = mariadb(
            self.c.master_port(),
            self.c.user(),
            self.c.password(),
            &format!("DROP DATABASE IF EXISTS {}", self.db),
        );
    }
}

/// The error is the rule's: 1148, and nothing of the data.
fn is_block(r: Result<Vec<String>, mysql_async::Error>, mark: &str) {
    match r {
        Err(mysql_async::Error::Server(se)) => assert_eq!(se.code, 1148, "{se:?}"),
        Err(e) => panic!("expected a block, got {e:?}"),
        Ok(rows) => panic!("ran: {rows:?}"),
    }
    let _ = mark;
}

/// Runs `sql` (all result sets, as strings) on `conn`.
async fn all_rows(
    conn: &mut mysql_async::Conn,
    sql: &str,
) -> Result<Vec<String>, mysql_async::Error> {
    let mut out = Vec::new();
    let mut result = conn.query_iter(sql).await?;
    while !result.is_empty() {
        let rows: Vec<mysql_async::Row> = result.collect().await?;
        for row in rows {
            let cells: Vec<String> = row
                .unwrap()
                .into_iter()
                .map(|v| match v {
                    mysql_async::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            out.push(cells.join("\t"));
        }
    }
    Ok(out)
}

#[test]
fn a_schema_block_holds_for_a_parenthesised_table() {
    let s = Secret::new("paren");
    s.refused_read(&format!("SELECT * FROM ({}.cards)", s.db));
    s.refused_read(&format!("SELECT * FROM (({}.cards))", s.db));
}

#[test]
fn a_schema_block_holds_for_a_parenthesised_join() {
    let s = Secret::new("pjoin");
    s.refused_read(&format!(
        "SELECT * FROM (SELECT 1 AS a) d JOIN ({}.cards) ON 1",
        s.db
    ));
    s.refused_read(&format!(
        "SELECT * FROM (SELECT 1 AS a) d JOIN ((SELECT 2 AS b) e, {}.cards c) ON 1",
        s.db
    ));
}

#[test]
fn a_schema_block_holds_for_an_update_of_a_parenthesised_table() {
    let s = Secret::new("pupd");
    s.refused(&format!("UPDATE ({}.cards) SET num = 'stolen'", s.db));
    s.untouched();
}

#[test]
fn a_schema_block_holds_for_insert_without_into() {
    let s = Secret::new("ins");
    s.refused(&format!("INSERT {}.cards VALUES (2, 'x')", s.db));
    s.untouched();
}

#[test]
fn a_schema_block_holds_for_insert_ignore_without_into() {
    let s = Secret::new("insig");
    s.refused(&format!("INSERT IGNORE {}.cards VALUES (2, 'x')", s.db));
    s.untouched();
}

#[test]
fn a_schema_block_holds_for_insert_low_priority_without_into() {
    let s = Secret::new("inslp");
    s.refused(&format!(
        "INSERT LOW_PRIORITY {}.cards VALUES (2, 'x')",
        s.db
    ));
    s.untouched();
}

#[test]
fn a_schema_block_holds_for_the_set_form_of_insert_without_into() {
    let s = Secret::new("insset");
    s.refused(&format!("INSERT {}.cards SET id = 2, num = 'x'", s.db));
    s.untouched();
}

#[test]
fn a_schema_block_holds_for_drop_table_if_exists() {
    let s = Secret::new("drop");
    s.refused(&format!("DROP TABLE IF EXISTS {}.cards", s.db));
    s.untouched();
}

#[tokio::test]
async fn a_schema_block_holds_for_handler_open() {
    let s = Secret::new("handler");
    s.reads_directly(&[
        format!("HANDLER {}.cards OPEN", s.db),
        "HANDLER cards READ FIRST".into(),
    ])
    .await;
    let mut conn = s.conn().await;
    is_block(
        all_rows(&mut conn, &format!("HANDLER {}.cards OPEN", s.db)).await,
        &s.mark,
    );
    // Nothing was opened to read from.
    let read = all_rows(&mut conn, "HANDLER cards READ FIRST").await;
    assert!(read.is_err(), "{read:?}");
    conn.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_schema_block_holds_for_use_inside_a_multi_statement() {
    let s = Secret::new("use");
    s.reads_directly(&[
        format!("SELECT 1; USE {}", s.db),
        "SELECT num FROM cards".into(),
    ])
    .await;
    let mut conn = s.conn().await;
    is_block(
        all_rows(&mut conn, &format!("SELECT 1; USE {}", s.db)).await,
        &s.mark,
    );
    // The session is still in rwtest: unqualified reads do not reach the table.
    let db: Option<String> = conn.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(db.as_deref(), Some("rwtest"));
    let read = all_rows(&mut conn, "SELECT num FROM cards").await;
    assert!(!format!("{read:?}").contains(&s.mark), "leaked: {read:?}");
    conn.disconnect().await.unwrap();
    s.untouched();
}

#[tokio::test]
async fn a_schema_block_holds_under_ansi_quotes() {
    let s = Secret::new("ansi");
    s.reads_directly(&[
        "SET sql_mode = 'ANSI_QUOTES'".into(),
        format!("SELECT num FROM \"{}\".\"cards\"", s.db),
    ])
    .await;
    let mut conn = s.conn().await;
    conn.query_drop("SET sql_mode = 'ANSI_QUOTES'")
        .await
        .unwrap();
    is_block(
        all_rows(
            &mut conn,
            &format!("SELECT num FROM \"{}\".\"cards\"", s.db),
        )
        .await,
        &s.mark,
    );
    is_block(
        all_rows(
            &mut conn,
            &format!("UPDATE \"{}\".cards SET num = 'stolen'", s.db),
        )
        .await,
        &s.mark,
    );
    conn.disconnect().await.unwrap();
    s.untouched();
}

#[tokio::test]
async fn a_schema_block_holds_for_no_backslash_escapes_string_tricks() {
    let s = Secret::new("nbe");
    s.reads_directly(&[
        "SET sql_mode = 'NO_BACKSLASH_ESCAPES'".into(),
        format!("SELECT 'a\\' , num FROM {}.cards #'", s.db),
    ])
    .await;
    let mut conn = s.conn().await;
    conn.query_drop("SET sql_mode = 'NO_BACKSLASH_ESCAPES'")
        .await
        .unwrap();
    // Read with backslash escapes, each is one string; the server reads a statement.
    is_block(
        all_rows(
            &mut conn,
            &format!("SELECT 'a\\' , num FROM {}.cards #'", s.db),
        )
        .await,
        &s.mark,
    );
    is_block(
        all_rows(
            &mut conn,
            &format!("SELECT 'a\\'; UPDATE {}.cards SET num = 1 #'", s.db),
        )
        .await,
        &s.mark,
    );
    conn.disconnect().await.unwrap();
    s.untouched();
}

#[tokio::test]
async fn a_schema_block_holds_for_prepare_from_a_string() {
    let s = Secret::new("prep");
    s.reads_directly(&[
        format!("PREPARE st FROM 'SELECT num FROM {}.cards'", s.db),
        "EXECUTE st".into(),
    ])
    .await;
    let mut conn = s.conn().await;
    is_block(
        all_rows(
            &mut conn,
            &format!("PREPARE st FROM 'SELECT num FROM {}.cards'", s.db),
        )
        .await,
        &s.mark,
    );
    let run = all_rows(&mut conn, "EXECUTE st").await;
    assert!(run.is_err(), "nothing was prepared: {run:?}");
    conn.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_schema_block_holds_for_execute_immediate_of_a_built_string() {
    let s = Secret::new("exim");
    let (head, tail) = s.db.split_at(4);
    s.reads_directly(&[format!(
        "EXECUTE IMMEDIATE CONCAT('SELECT num FROM {head}', '{tail}.cards')"
    )])
    .await;
    let mut conn = s.conn().await;
    is_block(
        all_rows(
            &mut conn,
            &format!("EXECUTE IMMEDIATE CONCAT('UPDATE {head}', '{tail}.cards SET num = 1')"),
        )
        .await,
        &s.mark,
    );
    is_block(
        all_rows(
            &mut conn,
            &format!("EXECUTE IMMEDIATE CONCAT('SELECT num FROM {head}', '{tail}.cards')"),
        )
        .await,
        &s.mark,
    );
    conn.disconnect().await.unwrap();
    s.untouched();
}

#[test]
fn a_schema_block_holds_for_create_table_like() {
    let s = Secret::new("like");
    let copy = uniq("rules_like");
    s.refused(&format!("CREATE TABLE rwtest.{copy} LIKE {}.cards", s.db));
    let out = mariadb(
        s.c.master_port(),
        s.c.user(),
        s.c.password(),
        &format!("SHOW TABLES FROM rwtest LIKE '{copy}'"),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "created");
}

#[test]
fn a_schema_block_holds_for_show_tables_from() {
    let s = Secret::new("show");
    for sql in [
        format!("SHOW TABLES FROM {}", s.db),
        format!("SHOW TABLE STATUS IN {}", s.db),
    ] {
        let direct = mariadb(s.c.master_port(), s.c.user(), s.c.password(), &sql);
        assert!(String::from_utf8_lossy(&direct.stdout).contains("cards"));
        let out = s.p.sql(&s.c, &sql);
        assert!(
            stderr(&out).contains("ERROR 1148"),
            "{sql}: {}",
            stderr(&out)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("cards"));
    }
}

/// A table `cards (id, num)` holding (1, 'orig') in a database of its own, and a proxy whose
/// rule blocks `extra` (a rule written against statements in that database).
struct Guarded {
    c: Cluster,
    p: Proxy,
    db: String,
}

impl Guarded {
    fn new(tag: &str, table: &str, rule: &str) -> Guarded {
        let c = Cluster::shared();
        let db = uniq(&format!("rwrules_{tag}"));
        c.fresh_db(&db);
        let made = mariadb(
            c.master_port(),
            c.user(),
            c.password(),
            &format!("USE {db}; {table}"),
        );
        assert!(made.status.success(), "{}", stderr(&made));
        c.wait_replicas();
        let p = Proxy::start(&c, rule);
        Guarded { c, p, db }
    }

    fn digest() -> String {
        "[[rules]]\ndigest = \"update cards set num = ? where id = ?\"\nblock = \"no\"\n".into()
    }

    fn cards(tag: &str) -> Guarded {
        Guarded::new(
            tag,
            "CREATE TABLE cards (id INT PRIMARY KEY, num VARCHAR(20)); \
             INSERT INTO cards VALUES (1, 'orig')",
            &Guarded::digest(),
        )
    }

    /// The README's example: DELETE without WHERE on wp_options.
    fn options(tag: &str) -> Guarded {
        Guarded::new(
            tag,
            "CREATE TABLE wp_options (option_name VARCHAR(64)); \
             INSERT INTO wp_options VALUES ('a'), ('b'), ('c')",
            "[[rules]]\npattern = '(?i)^\\s*DELETE\\s+FROM\\s+wp_options\\s*$'\n\
             block = \"DELETE without WHERE on wp_options is blocked by rwsplit\"\n",
        )
    }

    async fn conn(&self) -> mysql_async::Conn {
        mysql_async::Conn::new(self.p.opts(&self.c, Some(&self.db)))
            .await
            .unwrap()
    }

    fn master(&self, sql: &str) -> String {
        let out = mariadb(
            self.c.master_port(),
            self.c.user(),
            self.c.password(),
            &format!("USE {}; {sql}", self.db),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `sql` is refused with 1148 and the table is as it was.
    async fn refused(&self, sql: &str) {
        let mut conn = self.conn().await;
        is_block(all_rows(&mut conn, sql).await, "");
        conn.disconnect().await.unwrap();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = mariadb(
            self.c.master_port(),
            self.c.user(),
            self.c.password(),
            &format!("DROP DATABASE IF EXISTS {}", self.db),
        );
    }
}

async fn digest_case(tag: &str, sql: &str) {
    let g = Guarded::cards(tag);
    g.refused(sql).await;
    assert_eq!(
        g.master("SELECT num FROM cards WHERE id = 1"),
        "orig",
        "{sql}"
    );
    // The rule is about that statement only.
    let mut conn = g.conn().await;
    conn.query_drop("UPDATE cards SET num = 'new' WHERE id = 1 AND 1 = 1")
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    assert_eq!(g.master("SELECT num FROM cards WHERE id = 1"), "new");
}

#[tokio::test]
async fn a_digest_block_holds_with_a_trailing_semicolon() {
    digest_case("dg_semi", "UPDATE cards SET num = 'x' WHERE id = 1;").await;
}

#[tokio::test]
async fn a_digest_block_holds_with_backticks() {
    digest_case("dg_bt", "UPDATE `cards` SET `num` = 'x' WHERE `id` = 1").await;
}

#[tokio::test]
async fn a_digest_block_holds_with_set_statement() {
    digest_case(
        "dg_setst",
        "SET STATEMENT max_statement_time = 10 FOR UPDATE cards SET num = 'x' WHERE id = 1",
    )
    .await;
}

#[tokio::test]
async fn a_digest_block_holds_with_analyze() {
    digest_case("dg_an", "ANALYZE UPDATE cards SET num = 'x' WHERE id = 1").await;
}

#[tokio::test]
async fn a_digest_block_holds_before_another_statement() {
    digest_case(
        "dg_first",
        "UPDATE cards SET num = 'x' WHERE id = 1; SELECT 1",
    )
    .await;
}

#[tokio::test]
async fn a_digest_block_holds_after_another_statement() {
    digest_case(
        "dg_second",
        "SELECT 1; UPDATE cards SET num = 'x' WHERE id = 1",
    )
    .await;
}

#[tokio::test]
async fn a_digest_block_holds_for_execute_immediate() {
    digest_case(
        "dg_exim",
        "EXECUTE IMMEDIATE 'UPDATE cards SET num = ''x'' WHERE id = 1'",
    )
    .await;
}

#[tokio::test]
async fn a_digest_block_holds_for_prepare() {
    let g = Guarded::cards("dg_prep");
    g.refused("PREPARE st FROM 'UPDATE cards SET num = ''x'' WHERE id = 1'")
        .await;
    let mut conn = g.conn().await;
    assert!(conn.query_drop("EXECUTE st").await.is_err());
    conn.disconnect().await.unwrap();
    assert_eq!(g.master("SELECT num FROM cards WHERE id = 1"), "orig");
}

async fn pattern_case(tag: &str, sql: &str) {
    let g = Guarded::options(tag);
    g.refused(sql).await;
    assert_eq!(g.master("SELECT COUNT(*) FROM wp_options"), "3", "{sql}");
    // A DELETE with a WHERE is not what the rule is about.
    let mut conn = g.conn().await;
    conn.query_drop("DELETE FROM wp_options WHERE option_name = 'a'")
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    assert_eq!(g.master("SELECT COUNT(*) FROM wp_options"), "2");
}

#[tokio::test]
async fn a_pattern_block_holds_with_a_trailing_semicolon() {
    pattern_case("pt_semi", "DELETE FROM wp_options;").await;
}

#[tokio::test]
async fn a_pattern_block_holds_with_a_comment() {
    pattern_case("pt_comment", "DELETE FROM wp_options -- all of them").await;
    pattern_case(
        "pt_comment2",
        "/* cleanup */ DELETE /* now */ FROM wp_options",
    )
    .await;
}

#[tokio::test]
async fn a_pattern_block_holds_with_analyze() {
    pattern_case("pt_an", "ANALYZE DELETE FROM wp_options").await;
}

#[tokio::test]
async fn a_pattern_block_holds_in_a_multi_statement() {
    pattern_case("pt_multi", "SELECT 1; DELETE FROM wp_options").await;
    pattern_case("pt_multi2", "DELETE FROM wp_options; SELECT 1").await;
}
