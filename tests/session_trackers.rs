//! Session state as the server reports it: every backend connection runs with the session
//! trackers on, the session's record follows their reports (values, not expressions; the
//! database; state changed where the text shows nothing), and the client still sees the OK
//! packets a direct connection would send it.

mod common;

use common::*;

const SESSION_TRACK: u32 = 0x0080_0000;
const DEPRECATE_EOF: u32 = 0x0100_0000;

/// `bytes` (framed packets) with the entries of each OK's session-state block in sorted order:
/// the server's own order of variable entries differs between two connections (SET NAMES
/// reported client, connection, results on one and connection, client, results on another),
/// so only the set of entries is the server's word. Everything else stays byte for byte.
fn entries_sorted(bytes: &[u8]) -> Vec<u8> {
    fn lenenc(p: &[u8], i: &mut usize) -> Option<usize> {
        let (n, used) = match *p.get(*i)? {
            b @ 0..=0xfa => (b as usize, 1),
            0xfc => (u16::from_le_bytes([p[*i + 1], p[*i + 2]]) as usize, 3),
            0xfd => (
                u32::from_le_bytes([p[*i + 1], p[*i + 2], p[*i + 3], 0]) as usize,
                4,
            ),
            _ => return None,
        };
        *i += used;
        Some(n)
    }
    let mut out = bytes.to_vec();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], 0]) as usize;
        let p = &bytes[at + 4..at + 4 + len];
        let sorted = (|| -> Option<Vec<u8>> {
            if p.first() != Some(&0x00) {
                return None;
            }
            let mut i = 1;
            lenenc(p, &mut i)?;
            lenenc(p, &mut i)?;
            let status = u16::from_le_bytes([p[i], p[i + 1]]);
            i += 4;
            if status & 0x4000 == 0 || i >= p.len() {
                return None;
            }
            let info = lenenc(p, &mut i)?;
            i += info;
            let block_len = lenenc(p, &mut i)?;
            let block = &p[i..i + block_len];
            let mut entries = Vec::new();
            let mut j = 0;
            while j < block.len() {
                let start = j;
                j += 1;
                let n = lenenc(block, &mut j)?;
                j += n;
                entries.push(&block[start..j]);
            }
            entries.sort();
            let mut q = p[..i].to_vec();
            for e in entries {
                q.extend_from_slice(e);
            }
            q.extend_from_slice(&p[i + block_len..]);
            Some(q)
        })();
        if let Some(q) = sorted {
            out[at + 4..at + 4 + len].copy_from_slice(&q);
        }
        at += 4 + len;
    }
    out
}

/// The bytes of each answer, direct and through the proxy, for clients with and without
/// CLIENT_SESSION_TRACK: the proxy's own trackers never show, the client's own do, exactly.
#[test]
fn ok_packets_are_what_a_direct_connection_sends() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (label, caps) in [
        ("plain", RawClient::CAPS),
        ("session_track", RawClient::CAPS | SESSION_TRACK),
        (
            "session_track+deprecate_eof",
            RawClient::CAPS | SESSION_TRACK | DEPRECATE_EOF,
        ),
    ] {
        let mut answers = Vec::new();
        for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
            let t = fresh_table(&c, &format!("okbytes_{side}"));
            let mut raw = RawClient::login_with(port, c.user(), c.password(), caps);
            let mut script: Vec<String> = vec![
                "USE rwtest".into(),
                "SET time_zone = '+01:00'".into(),
                "SET sql_mode = 'ANSI'".into(),
                "SET sql_mode = DEFAULT".into(),
                "SET @x = 1".into(),
                "SET NAMES utf8mb4".into(),
                "CREATE TEMPORARY TABLE tmp_okbytes (a INT)".into(),
                format!("INSERT INTO {t} VALUES (1), (2)"),
                format!("UPDATE {t} SET a = a + 10"),
                "DROP TEMPORARY TABLE tmp_okbytes".into(),
                "USE sbtest".into(),
                // The client's own tracking settings: from here it gets more.
                "SET SESSION session_track_state_change = 1".into(),
                "SET @y = 2".into(),
                "SET SESSION session_track_system_variables = 'sql_mode,time_zone'".into(),
                "SET sql_mode = 'TRADITIONAL'".into(),
                "SET time_zone = '+02:00'".into(),
                "SET SESSION session_track_schema = 0".into(),
                "USE rwtest".into(),
                "SET SESSION session_track_system_variables = ''".into(),
                "SET time_zone = '+03:00'".into(),
            ];
            if caps & DEPRECATE_EOF == 0 {
                script.push("SELECT 1".into());
            }
            let got: Vec<(String, Vec<u8>)> = script
                .iter()
                .map(|sql| (sql.replace(&t, "{t}"), entries_sorted(&raw.query_raw(sql))))
                .collect();
            answers.push(got);
        }
        for (d, p_) in answers[0].iter().zip(&answers[1]) {
            assert_eq!(
                d,
                p_,
                "{label}: `{}`: direct {:02x?}\nproxy {:02x?}\n{}",
                d.0,
                d.1,
                p_.1,
                tail(&p.log(), 20)
            );
        }
    }
}

/// A plain read on a replica that left state behind (a stored function's `SET @leak`) does not
/// make its connection clean: the next client that gets a replica connection reads NULL, as on
/// a direct connection of its own, and the first client still reads its own value.
#[test]
fn state_left_by_a_read_never_reaches_another_client() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let f = format!("rwtest.leaky_{}", std::process::id());
    c.root_sql(
        "master",
        &format!(
            "DROP FUNCTION IF EXISTS {f};\nDELIMITER //\nCREATE FUNCTION {f}() RETURNS INT \
             READS SQL DATA BEGIN SET @leak = 1.5; RETURN 1; END//\nDELIMITER ;\n"
        ),
    );
    c.wait_replicas();
    for round in 0..6 {
        let mut a = RawClient::login(p.port, c.user(), c.password());
        let r = a.query_bytes(format!("SELECT {f}(), @@server_id").as_bytes());
        let Res::Rows(rows) = &r[0] else {
            panic!("{r:?}")
        };
        let server = String::from_utf8(rows[0][1].clone().unwrap()).unwrap();
        assert!(c.replica_ids().contains(&server), "a plain read: {r:?}");
        // Another client while A is idle (multiplexing would share a clean connection).
        let mut b = RawClient::login(p.port, c.user(), c.password());
        for _ in 0..3 {
            let r = b.query_bytes(b"SELECT @leak, @@server_id");
            assert_eq!(
                r[0].first(),
                None,
                "round {round}: another client sees @leak: {r:?}\n{}",
                tail(&p.log(), 20)
            );
        }
        let r = a.query_bytes(b"SELECT @leak");
        assert_eq!(r[0].first().as_deref(), Some("1.5"), "{r:?}");
    }
}

/// A trigger's `SET @trig = NEW.a` and a procedure's SETs are seen by the next statements as
/// on a direct connection; a SET whose value a function computed is replayed by that value.
#[test]
fn state_set_by_triggers_and_functions() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let pid = std::process::id();
    let cnt = format!("rwtest.cnt_{pid}");
    for side in ["direct", "proxy"] {
        let t = format!("rwtest.trig_{side}_{pid}");
        c.root_sql(
            "master",
            &format!(
                "DROP TRIGGER IF EXISTS rwtest.trig_{side}_{pid}_ai; DROP TABLE IF EXISTS {t};\
                 CREATE TABLE {t} (a INT PRIMARY KEY);\
                 CREATE TRIGGER rwtest.trig_{side}_{pid}_ai AFTER INSERT ON {t} FOR EACH ROW SET @trig = NEW.a"
            ),
        );
    }
    c.root_sql(
        "master",
        &format!(
            "DROP FUNCTION IF EXISTS {cnt}; CREATE FUNCTION {cnt}() RETURNS INT READS SQL DATA \
             RETURN (SELECT COUNT(*) FROM rwtest.trig_direct_{pid}) + (SELECT COUNT(*) FROM rwtest.trig_proxy_{pid})"
        ),
    );
    c.wait_replicas();
    let mut answers = Vec::new();
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let t = format!("rwtest.trig_{side}_{pid}");
        let mut raw = RawClient::login(port, c.user(), c.password());
        let mut got = Vec::new();
        for sql in [
            format!("INSERT INTO {t} VALUES (7)"),
            "SELECT @trig".to_string(),
            format!("SET @c = {cnt}()"),
            format!("SET sql_select_limit = {cnt}()"),
            format!("INSERT INTO {t} VALUES (8), (9)"),
            "SELECT SLEEP(0.3)".to_string(),
            "SELECT @c".to_string(),
            format!("SELECT a FROM {t} ORDER BY a"),
            "SET sql_select_limit = DEFAULT".to_string(),
        ] {
            got.push(raw.query_bytes(sql.as_bytes()));
        }
        answers.push(got);
        // Both sides count both tables: run the proxy side over the same number of rows.
        c.root_sql("master", &format!("DELETE FROM {t}"));
        c.wait_replicas();
    }
    assert_eq!(answers[0], answers[1], "{}", tail(&p.log(), 30));
    assert_eq!(answers[1][1][0].first().as_deref(), Some("7"));
    assert_eq!(answers[1][6][0].first().as_deref(), Some("1"));
    assert!(
        matches!(&answers[1][7][0], Res::Rows(rows) if rows.len() == 1),
        "{:?}",
        answers[1][7]
    );
}

/// EXECUTE IMMEDIATE 'SET NAMES latin1': the next reads, wherever they run, are in latin1 (the
/// character_set_client tracker), as on a direct connection.
#[test]
fn character_set_changed_inside_execute_immediate() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let r = same_answers(
        &c,
        &p,
        "names_exec",
        &[
            b"EXECUTE IMMEDIATE 'SET NAMES latin1'",
            b"SELECT @@character_set_client, @@character_set_results",
            b"SELECT HEX('\xe9'), '\xe9'",
        ],
    );
    assert_eq!(r[1][0].first().as_deref(), Some("latin1"));
}

/// A failed COM_CHANGE_USER (wrong password) starts the session over on the server: user and
/// session variables and temporary tables are gone, the database stays. Same through the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_change_user_starts_the_session_over() {
    use mysql_async::prelude::*;
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut answers = Vec::new();
    for (side, opts) in [
        ("direct", c.direct_opts(Some("rwtest"))),
        (
            "proxy",
            mysql_async::OptsBuilder::from_opts(p.opts(&c, Some("rwtest"))),
        ),
    ] {
        let mut conn = mysql_async::Conn::new(opts).await.unwrap();
        conn.query_drop("SET @u = 1, SESSION time_zone = '+03:00'")
            .await
            .unwrap();
        conn.query_drop("CREATE TEMPORARY TABLE tmp_cu (a INT)")
            .await
            .unwrap();
        let bad = conn
            .change_user(
                mysql_async::ChangeUserOpts::default()
                    .with_user(Some(c.user().to_string()))
                    .with_pass(Some("wrong".to_string())),
            )
            .await;
        assert!(bad.is_err(), "{side}");
        let row: Option<(Option<i64>, String, Option<String>)> = conn
            .query_first("SELECT @u, @@time_zone, DATABASE()")
            .await
            .unwrap();
        let tmp = conn
            .query_drop("SELECT * FROM tmp_cu")
            .await
            .map_err(|e| format!("{e}"));
        answers.push((side, row, tmp.err().map(|e| e.contains("1146"))));
    }
    assert_eq!(
        answers[0].1,
        answers[1].1,
        "{answers:?}\n{}",
        tail(&p.log(), 20)
    );
    assert_eq!(answers[0].2, answers[1].2, "{answers:?}");
}

/// Two clients share the pool (multiplexing: an idle session hands clean connections back).
/// One sets state of every kind, also where the text does not show it; the other, between
/// the first one's statements and after idle gaps, must see none of it — as each would on a
/// direct connection of its own — and the first keeps seeing all of it.
#[test]
fn a_client_never_observes_another_clients_state() {
    let c = Cluster::shared();
    let p = Proxy::start(
        &c,
        "[routing]\nmultiplex = true\nmultiplex_after = \"20ms\"\n",
    );
    let pid = std::process::id();
    let proc_ = format!("rwtest.obs_state_{pid}");
    let f = format!("rwtest.obs_fn_{pid}");
    c.root_sql(
        "master",
        &format!(
            "DROP PROCEDURE IF EXISTS {proc_}; DROP FUNCTION IF EXISTS {f};\nDELIMITER //\n\
             CREATE PROCEDURE {proc_}() BEGIN SET @po = 3; SET SESSION group_concat_max_len = 77; \
             SET time_zone = '+07:00'; END//\n\
             CREATE FUNCTION {f}() RETURNS INT READS SQL DATA BEGIN SET @fo = 4; RETURN 1; END//\n\
             DELIMITER ;\n"
        ),
    );
    c.wait_replicas();
    let mut a = RawClient::login(p.port, c.user(), c.password());
    let mut b = RawClient::login(p.port, c.user(), c.password());
    for cl in [&mut a, &mut b] {
        assert_eq!(cl.query_bytes(b"USE rwtest"), vec![Res::Ok { affected: 0 }]);
    }
    let observe = |b: &mut RawClient, when: &str| {
        std::thread::sleep(std::time::Duration::from_millis(60));
        let r = b.query_bytes(
            b"SELECT @po, @fo, @ei, @@session.group_concat_max_len = 77, @@session.time_zone, \
              @@session.sql_mode LIKE '%ANSI%'",
        );
        assert_eq!(
            r,
            vec![Res::Rows(vec![vec![
                None,
                None,
                None,
                Some(b"0".to_vec()),
                Some(b"SYSTEM".to_vec()),
                Some(b"0".to_vec())
            ]])],
            "{when}: the other client's state is visible\n{}",
            tail(&p.log(), 20)
        );
        let r = b.query_bytes(b"SELECT COUNT(*) FROM tmp_obs");
        assert_eq!(r[0].code(), Some(1146), "{when}: {r:?}");
    };
    observe(&mut b, "before");
    for (sql, what) in [
        (format!("SELECT {f}()"), "a function's SET on a replica"),
        (format!("CALL {proc_}()"), "a procedure's SETs"),
        (
            "EXECUTE IMMEDIATE 'SET @ei = 5'".to_string(),
            "EXECUTE IMMEDIATE",
        ),
        (
            "EXECUTE IMMEDIATE 'CREATE TEMPORARY TABLE tmp_obs (a INT)'".to_string(),
            "a temporary table made by EXECUTE IMMEDIATE",
        ),
        ("SET sql_mode = 'ANSI'".to_string(), "a plain SET"),
    ] {
        let r = a.query_bytes(sql.as_bytes());
        assert!(r.iter().all(|r| r.code().is_none()), "{sql}: {r:?}");
        observe(&mut b, what);
    }
    std::thread::sleep(std::time::Duration::from_millis(60));
    let r = a.query_bytes(
        b"SELECT @po, @ei, @@session.group_concat_max_len, @@session.time_zone, @@session.sql_mode LIKE '%ANSI%'",
    );
    assert_eq!(
        r,
        vec![Res::Rows(vec![vec![
            Some(b"3".to_vec()),
            Some(b"5".to_vec()),
            Some(b"77".to_vec()),
            Some(b"+07:00".to_vec()),
            Some(b"1".to_vec())
        ]])],
        "the first client keeps its state"
    );
    let r = a.query_bytes(b"SELECT COUNT(*) FROM tmp_obs");
    assert_eq!(r[0].first().as_deref(), Some("0"), "{r:?}");
}

/// What a client reads of its own tracking settings after setting some of them, in the
/// spellings a client may use (`@@session.` in capitals, backquotes, with other variables in
/// the same SET): its own values, never the proxy's (`*`, state change on).
#[test]
fn a_client_reads_its_own_tracking_settings() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let read: &[u8] = b"SELECT @@session_track_system_variables, @@session_track_state_change, \
                        @@session_track_schema";
    for (name, script) in [
        (
            "plain",
            vec![
                &b"SET session_track_system_variables = 'sql_mode'"[..],
                read,
            ],
        ),
        (
            "spellings",
            vec![
                &b"SET @@session.SESSION_TRACK_SYSTEM_VARIABLES = 'sql_mode'"[..],
                read,
                b"SET `session_track_state_change` = ON",
                b"SET sql_mode = 'ANSI'",
                read,
            ],
        ),
        (
            "with_others",
            vec![
                &b"SET session_track_schema = 0, sql_mode = ''"[..],
                b"SELECT 1",
                read,
            ],
        ),
    ] {
        let r = same_answers(&c, &p, &format!("own_tracking_{name}"), &script);
        assert!(
            matches!(r.last().unwrap()[0], Res::Rows(_)),
            "{name}: {r:?}"
        );
    }
}
