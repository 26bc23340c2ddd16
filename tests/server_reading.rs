//! Statements read exactly as the server reads them (issue "Read SQL exactly as the server
//! reads it"): what a hostile client sends — numbers glued to keywords, control bytes after
//! `--`, other client character sets, quoted built-ins, `DO @v :=`, pipelined executes — gives
//! the answer a direct connection gives, and nothing that writes, locks or sets a variable runs
//! on a replica. Each case runs directly against the master and through the proxy, on raw
//! connections (the bytes exactly as written), and is judged by the servers' own state.

mod common;

use common::*;

/// COM_STMT_EXECUTE with id -1 means the last *successful* prepare: after a failed one the
/// server answers 1243 and runs nothing (Connector/C's execute-direct pipelines exactly this).
#[test]
fn execute_last_statement_after_a_failed_prepare_runs_nothing() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let t = fresh_table(&c, &format!("ps_last_{side}"));
        let mut raw = RawClient::login(port, c.user(), c.password());
        let ins = raw
            .prepare(format!("INSERT INTO {t} VALUES (?)").as_bytes())
            .unwrap();
        assert_eq!(
            raw.execute(ins, &[1]),
            vec![Res::Ok { affected: 1 }],
            "{side}"
        );
        assert_eq!(
            raw.prepare(format!("SELECT * FROM {t}_nosuch WHERE a = ?").as_bytes()),
            Err(1146),
            "{side}"
        );
        let again = raw.execute(u32::MAX, &[2]);
        assert_eq!(again.len(), 1, "{side}: {again:?}");
        assert_eq!(again[0].code(), Some(1243), "{side}: {again:?}");
        assert!(
            matches!(&again[0], Res::Err { message, .. } if message.contains("(4294967295)")),
            "{side}: {again:?}"
        );
        // Id -1 works again after a successful prepare, and not after that one is closed.
        let ins2 = raw
            .prepare(format!("INSERT INTO {t} VALUES (?)").as_bytes())
            .unwrap();
        assert_eq!(
            raw.execute(u32::MAX, &[3]),
            vec![Res::Ok { affected: 1 }],
            "{side}"
        );
        raw.close_stmt(ins2);
        assert_eq!(raw.execute(u32::MAX, &[4])[0].code(), Some(1243), "{side}");
        assert_eq!(row_count(&c, &t), "2", "{side}: rows 1 and 3 only");
    }
    assert!(!p.log().contains("panicked"), "{}", tail(&p.log(), 20));
}

/// A keyword glued to a number is still the keyword: `SELECT 1.5INTO @g` sets @g on the
/// master, where the next `SELECT @g` finds it.
#[test]
fn numbers_glued_to_keywords() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let r = same_answers(
        &c,
        &p,
        "glued",
        &[
            b"SELECT 1.5INTO @g",
            b"SELECT 1e1INTO @h",
            b"SELECT .5INTO @i",
            b"SELECT 3e+1INTO @j",
            b"SELECT @g, @h, @i, @j",
        ],
    );
    assert_eq!(
        r[4],
        vec![Res::Rows(vec![vec![
            Some(b"1.5".to_vec()),
            Some(b"10".to_vec()),
            Some(b"0.5".to_vec()),
            Some(b"30".to_vec())
        ]])]
    );
}

/// `--` followed by 0x7F starts a comment (0x7F is a control byte in utf8mb4): the INSERT
/// after the newline is a statement of its own and runs on the master.
#[test]
fn dash_dash_and_a_control_byte() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let r = same_answers(
        &c,
        &p,
        "dash7f",
        &[b"SELECT 1 --\x7f '\n; INSERT INTO {t} VALUES (9) -- '"],
    );
    assert_eq!(r[0].len(), 2, "{r:?}");
    assert_eq!(r[0][1], Res::Ok { affected: 1 });
}

/// After SET NAMES sjis, 0x95 0x5C is one character: of `\x95\\` only the second backslash
/// escapes, the INSERT is outside any string, and the server runs it — on the master.
#[test]
fn double_byte_client_charsets() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for set in ["sjis", "gbk", "cp932"] {
        let names = format!("SET NAMES {set}");
        let r = same_answers(
            &c,
            &p,
            &format!("mb_{set}"),
            &[
                names.as_bytes(),
                b"SELECT '\x95\\\\' '; INSERT INTO {t} VALUES (7) #'",
                b"SELECT '\x95\\' INTO @s #'",
                b"SELECT HEX(@s)",
            ],
        );
        assert_eq!(r[1].len(), 2, "{set}: {r:?}");
        assert_eq!(r[3][0].first().as_deref(), Some("955C"), "{set}: {r:?}");
    }
    // latin1: 0xA0 is whitespace.
    let r = same_answers(
        &c,
        &p,
        "latin1",
        &[b"SET NAMES latin1", b"SELECT 1\xa0INTO @nb", b"SELECT @nb"],
    );
    assert_eq!(r[2][0].first().as_deref(), Some("1"));
    // The handshake's character set counts too (RawClient logs in with utf8mb4; a SET
    // CHARACTER SET and a SET character_set_client do the same as SET NAMES).
    let r = same_answers(
        &c,
        &p,
        "charset_var",
        &[
            b"SET character_set_client = sjis",
            b"SELECT '\x95\\\\' '; INSERT INTO {t} VALUES (8) #'",
            b"SET CHARACTER SET utf8mb4",
            b"SELECT '\x95\\\\' '; INSERT INTO {t} VALUES (9) #'",
        ],
    );
    assert_eq!(r[1].len(), 2);
    assert_eq!(r[3].len(), 1);
}

/// A backtick-quoted built-in is the built-in: the lock is taken on the master, where
/// another session sees it held; `LAST_INSERT_ID`() answers for this session's insert.
#[test]
fn quoted_built_ins() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let lock = format!("rwsplit_q_{}", std::process::id());
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    let got = raw.query_bytes(format!("SELECT `GET_LOCK`('{lock}', 0)").as_bytes());
    assert_eq!(got[0].first().as_deref(), Some("1"), "{got:?}");
    let held = c.root_rows(
        "master",
        &format!("SELECT IS_USED_LOCK('{lock}') IS NOT NULL"),
    );
    assert_eq!(held, vec!["1"], "the lock is held on the master");
    let got = raw.query_bytes(format!("SELECT `RELEASE_LOCK`('{lock}')").as_bytes());
    assert_eq!(
        got[0].first().as_deref(),
        Some("1"),
        "released where it was taken: {got:?}"
    );
    let t = fresh_table(&c, "lii");
    c.root_sql(
        "master",
        &format!("ALTER TABLE {t} MODIFY a INT AUTO_INCREMENT"),
    );
    let r = raw.query_bytes(format!("INSERT INTO {t} VALUES (NULL)").as_bytes());
    assert_eq!(r, vec![Res::Ok { affected: 1 }]);
    let got = raw.query_bytes(b"SELECT `LAST_INSERT_ID`()");
    assert_eq!(got[0].first().as_deref(), Some("1"), "{got:?}");
}

/// `DO @d := 7` assigns @d where it ran; the next read of @d finds it.
#[test]
fn do_assigns_a_user_variable() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let r = same_answers(&c, &p, "do", &[b"DO @d := 7", b"SELECT @d"]);
    assert_eq!(r[1][0].first().as_deref(), Some("7"));
}

/// A read that turns out to write (a stored function that inserts, a view over NEXTVAL) is
/// refused by the read-only replica before it runs (1290), and the proxy runs it on the
/// master: the client gets the master's answer, never the refusal.
#[test]
fn a_read_that_writes_runs_on_the_master() {
    let c = Cluster::shared();
    let metrics_port = free_port();
    let p = Proxy::start(
        &c,
        &format!("[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n"),
    );
    let pid = std::process::id();
    let log = format!("rwtest.fn_log_{pid}");
    let f = format!("rwtest.f_writes_{pid}");
    let seq = format!("rwtest.s_{pid}");
    let v = format!("rwtest.v_next_{pid}");
    c.root_sql(
        "master",
        &format!(
            "DROP TABLE IF EXISTS {log}; CREATE TABLE {log} (a INT);
             DROP FUNCTION IF EXISTS {f};
             DELIMITER //
             CREATE FUNCTION {f}() RETURNS INT DETERMINISTIC MODIFIES SQL DATA
               BEGIN INSERT INTO {log} VALUES (1); RETURN 42; END //
             DELIMITER ;
             DROP VIEW IF EXISTS {v}; DROP SEQUENCE IF EXISTS {seq};
             CREATE SEQUENCE {seq}; CREATE VIEW {v} AS SELECT NEXTVAL({seq}) AS n"
        ),
    );
    c.wait_replicas();
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    let got = raw.query_bytes(format!("SELECT {f}()").as_bytes());
    assert_eq!(got[0].first().as_deref(), Some("42"), "{got:?}");
    let got = raw.query_bytes(format!("SET @x = {f}()").as_bytes());
    assert_eq!(got, vec![Res::Ok { affected: 0 }]);
    let got = raw.query_bytes(b"SELECT @x");
    assert_eq!(
        got[0].first().as_deref(),
        Some("42"),
        "@x lives on the master: {got:?}"
    );
    // A new session's first statement: a read of a view over NEXTVAL, tried on a replica.
    let mut fresh = RawClient::login(p.port, c.user(), c.password());
    let got = fresh.query_bytes(format!("SELECT n FROM {v}").as_bytes());
    assert_eq!(got[0].first().as_deref(), Some("1"), "{got:?}");
    let got = raw.query_bytes(format!("SELECT n FROM {v}").as_bytes());
    assert_eq!(got[0].first().as_deref(), Some("2"), "{got:?}");
    let rows = c.root_rows("master", &format!("SELECT COUNT(*) FROM {log}"));
    assert_eq!(rows, vec!["2"], "each call wrote once, on the master");
    // The first call and the new session's read were tried on a replica (the classifier
    // cannot see inside a function or a view) and refused there before they ran. (After that write, read-your-writes may keep the others
    // on the master.)
    let (_, metrics) = metrics_http(metrics_port);
    let reroutes: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("rwsplit_read_only_reroutes_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(reroutes >= 2, "{metrics}");
    assert!(
        p.log().contains("refused a statement as read-only"),
        "{}",
        tail(&p.log(), 20)
    );
}

/// Every hostile statement above, sent by an account with SUPER and READ_ONLY ADMIN (which
/// ignores `read_only`, so a misrouted write would fork a replica instead of failing): no
/// replica writes anything of its own.
#[test]
fn an_account_that_bypasses_read_only_never_writes_on_a_replica() {
    let c = Cluster::shared();
    let pid = std::process::id();
    let user = format!("rwsuper_{pid}");
    let t = format!("rwtest.super_{pid}");
    c.root_sql(
        "master",
        &format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'superpass';
             GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%';
             DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (a INT)"
        ),
    );
    c.wait_replicas();
    let p = Proxy::start(
        &c,
        &format!("[[users]]\nname = \"{user}\"\npassword = \"superpass\"\n"),
    );
    let mut raw = RawClient::login(p.port, &user, "superpass");
    let lock = format!("rwsplit_super_{pid}");
    let script: Vec<Vec<u8>> = vec![
        b"SELECT 1.5INTO @g".to_vec(),
        format!("SELECT 1 --\x7f '\n; INSERT INTO {t} VALUES (9) -- '").into_bytes(),
        b"SET NAMES sjis".to_vec(),
        [
            &b"SELECT '\x95\\\\' '; INSERT INTO "[..],
            t.as_bytes(),
            b" VALUES (7) #'",
        ]
        .concat(),
        b"SET NAMES latin1".to_vec(),
        [
            &b"SELECT 1 --\xa0 '\n; INSERT INTO "[..],
            t.as_bytes(),
            b" VALUES (6) -- '",
        ]
        .concat(),
        b"SET NAMES utf8mb4".to_vec(),
        format!("SELECT `GET_LOCK`('{lock}', 0)").into_bytes(),
        format!("SELECT `RELEASE_LOCK`('{lock}')").into_bytes(),
        b"DO @d := 7".to_vec(),
        format!("SELECT 1.5e1INTO @h FROM {t} LIMIT 1").into_bytes(),
    ];
    for sql in &script {
        let r = raw.query_bytes(sql);
        assert!(
            r.iter().all(|r| r.code().is_none()),
            "{}: {r:?}",
            String::from_utf8_lossy(sql)
        );
    }
    let rows = c.root_rows("master", &format!("SELECT a FROM {t} ORDER BY a"));
    assert_eq!(rows, vec!["6", "7", "9"], "every INSERT ran on the master");
    // A replica that had run one of them itself would have a row twice (the table has no key,
    // so replication does not stop on it) or one the master lacks.
    c.wait_replicas();
    for node in ["replica1", "replica2"] {
        let there = c.root_rows(node, &format!("SELECT a FROM {t} ORDER BY a"));
        assert_eq!(there, rows, "{node} wrote rows of its own");
    }
    c.root_sql("master", &format!("DROP USER '{user}'@'%'; DROP TABLE {t}"));
}
