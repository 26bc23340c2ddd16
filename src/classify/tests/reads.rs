//! Reads: SELECT in its forms, WITH, SHOW, DESCRIBE/EXPLAIN, statements about the previous
//! statement, reads of the master connection's own state.

use super::*;

#[test]
fn select_plain_reads_go_to_replica() {
    routes(&[
        ("SELECT 1", R),
        ("select * from t", R),
        ("  \n\tSeLeCt a FROM t WHERE id = ?", R),
        (
            "SELECT * FROM t WHERE update_time > NOW() - INTERVAL 1 DAY",
            R,
        ),
        ("SELECT updated, for_real, into_x, share FROM t", R),
        ("SELECT 'FOR UPDATE' FROM t", R),
        (
            "SELECT \"FOR UPDATE\", 'LOCK IN SHARE MODE', 'INTO @x', ':=' FROM t",
            R,
        ),
        (
            "SELECT `update`, `delete`, `insert` FROM `update` WHERE `for` = 1",
            R,
        ),
        ("SELECT t.update, t.delete FROM t", R),
        ("SELECT `a``b` FROM t", R),
        ("SELECT * FROM t WHERE c = 'it''s ; DELETE FROM t'", R),
        ("SELECT found_rows, last_insert_id FROM stats", R),
        ("SELECT SLEEP(1)", R),
        ("SELECT REPLACE(name, 'a', 'b') FROM t", R),
        ("SELECT INSERT('abcdef', 2, 3, 'x')", R),
        ("SELECT replace (name, 'a', 'b') FROM t", R),
        (
            "SELECT x'DEADBEEF', _utf8mb4'x' COLLATE utf8mb4_bin, N'y', b'0101'",
            R,
        ),
        ("SELECT @x, @`y`, @'z'", R),
        (
            "SELECT @@version, @@version_comment, @@max_allowed_packet, @@session.tx_isolation",
            R,
        ),
        ("SELECT a FROM t WHERE b = @x AND c = @@sql_mode", R),
        (
            "SELECT SQL_NO_CACHE HIGH_PRIORITY STRAIGHT_JOIN a FROM t",
            R,
        ),
        (
            "SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2024-01-01 00:00:00'",
            R,
        ),
        (
            "SELECT MATCH(a) AGAINST('for update' IN BOOLEAN MODE) FROM t",
            R,
        ),
        ("SELECT 1--1", R),
        ("SELECT 1 -- ; DELETE FROM t", R),
        ("SELECT 1 # ; DELETE FROM t", R),
        ("SELECT 1 /* ; DELETE FROM t */", R),
        ("SELECT 1 /* FOR UPDATE */", R),
        ("SELECT share FROM t WHERE lock = 1", R),
        ("SELECT next_value, value FROM t", R),
    ]);
}

#[test]
fn select_locking_and_side_effects_go_to_master() {
    routes(&[
        ("SELECT * FROM t WHERE id = 1 FOR UPDATE", M),
        ("select * from t where id = 1 for update nowait", M),
        ("SELECT * FROM t WHERE id = 1 FOR UPDATE SKIP LOCKED", M),
        ("SELECT * FROM t FOR SHARE", M),
        ("SELECT * FROM t LOCK IN SHARE MODE", M),
        ("SELECT * FROM t lock\n in\n\tshare mode", M),
        ("SELECT * FROM t FOR\n/* c */UPDATE", M),
        (
            "SELECT 1 FROM dual WHERE EXISTS (SELECT 1 FROM t FOR UPDATE)",
            M,
        ),
        ("SELECT a INTO @x FROM t LIMIT 1", M),
        ("SELECT a FROM t INTO OUTFILE '/tmp/a.txt'", M),
        ("SELECT a FROM t INTO DUMPFILE '/tmp/a.bin'", M),
        ("SELECT a, b INTO v_a, v_b FROM t", M),
        ("SELECT @x := 1", M),
        (
            "SELECT @rownum:=@rownum+1 AS n, t.* FROM t, (SELECT @rownum:=0) r",
            M,
        ),
        ("SELECT GET_LOCK('x', 10)", M),
        ("select get_lock ('x', 10)", M),
        ("SELECT RELEASE_LOCK('x')", M),
        ("SELECT RELEASE_ALL_LOCKS()", M),
        ("SELECT IS_FREE_LOCK('x')", M),
        ("SELECT IS_USED_LOCK('x')", M),
        ("SELECT LAST_INSERT_ID()", M),
        ("SELECT * FROM t WHERE id = last_insert_id()", M),
        ("SELECT FOUND_ROWS()", M),
        ("SELECT ROW_COUNT()", M),
        ("SELECT NEXTVAL(seq1)", M),
        ("SELECT LASTVAL(seq1)", M),
        ("SELECT SETVAL(seq1, 100)", M),
        ("SELECT NEXT VALUE FOR seq1", M),
        ("SELECT PREVIOUS VALUE FOR seq1", M),
        ("SELECT seq1.nextval FROM dual", M),
        ("SELECT MASTER_POS_WAIT('mysql-bin.000001', 4)", M),
        ("SELECT MASTER_GTID_WAIT('0-1-100', 1)", M),
        ("SELECT WAIT_FOR_EXECUTED_GTID_SET('uuid:1-5', 1)", M),
        ("SELECT CONNECTION_ID()", M),
        ("SELECT @@identity", M),
        ("SELECT @@last_insert_id", M),
        ("SELECT @@last_gtid", M),
        ("SELECT @@global.sql_mode", M),
        ("SELECT @@GLOBAL.read_only", M),
        ("SELECT @@read_only, @@innodb_read_only", M),
        ("SELECT @@hostname", R),
        ("SELECT @@server_id", R),
        ("SELECT @@gtid_current_pos", M),
        ("SELECT * FROM (SELECT GET_LOCK('x', 1)) d", M),
        ("SELECT 1 UNION SELECT GET_LOCK('x', 1)", M),
        // Garbage that contains a DML keyword is not a read.
        ("SELECT 1 FROM t UPDATE t SET a = 1", M),
        ("SELECT * FROM t DELETE", M),
        ("SELECT 1 INSERT INTO t VALUES (1)", M),
    ]);
    assert!(cl("SELECT a INTO @x FROM t").user_var_write);
    assert!(cl("SELECT @x := 1").user_var_write);
    assert!(!cl("SELECT a FROM t INTO OUTFILE '/tmp/a'").user_var_write);
    assert!(!cl("SELECT GET_LOCK('x', 1)").user_var_write);
}

#[test]
fn found_rows_and_row_count_depend_on_previous() {
    let c = cl("SELECT FOUND_ROWS()");
    assert_eq!(c.route, M);
    assert!(c.depends_on_previous);
    assert!(cl("select row_count()").depends_on_previous);
    assert!(!cl("SELECT LAST_INSERT_ID()").depends_on_previous);
    assert!(!cl("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10").depends_on_previous);
    // The count it leaves is what a later FOUND_ROWS() reads: its connection keeps it.
    assert!(cl("select sql_calc_found_rows * FROM t LIMIT 10").calc_found_rows);
    assert!(cl("SELECT 1; SELECT SQL_CALC_FOUND_ROWS id FROM t LIMIT 1").calc_found_rows);
    assert!(!cl("SELECT * FROM t LIMIT 10").calc_found_rows);
    assert!(!cl("SELECT sql_calc_found_rows_x FROM t").calc_found_rows);
}

#[test]
fn warning_count_goes_to_last() {
    routes(&[
        ("SELECT @@warning_count", L),
        ("SELECT @@error_count", L),
        ("select @@WARNING_COUNT, @@Error_Count", L),
        ("SELECT @@session.warning_count", L),
        // A master marker wins.
        ("SELECT @@warning_count, LAST_INSERT_ID()", M),
    ]);
}

#[test]
fn parenthesised_selects() {
    routes(&[
        ("(SELECT a FROM t1) UNION (SELECT a FROM t2)", R),
        ("((SELECT 1))", R),
        (
            "( SELECT a FROM t1 ORDER BY a LIMIT 1) UNION ALL (SELECT b FROM t2)",
            R,
        ),
        ("(SELECT a FROM t1 FOR UPDATE)", M),
        ("(SELECT a FROM t1) UNION (SELECT GET_LOCK('x', 1))", M),
        ("(INSERT INTO t VALUES (1))", M),
        ("(", M),
        (")SELECT 1", M),
        ("(VALUES ROW(1))", M),
    ]);
    check("(SELECT 1)", R, K::Select);
}

// -----------------------------------------------------------------------
// WITH
// -----------------------------------------------------------------------

#[test]
fn with_queries() {
    let c = cl("WITH cte AS (SELECT id FROM t) SELECT * FROM cte");
    assert_eq!((c.route, c.kind, c.parsed), (R, K::Select, true), "{c:?}");
    let c = cl("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r");
    assert_eq!((c.route, c.parsed), (R, true), "{c:?}");
    let c = cl("with a as (select 1 as x), b as (select 2 as y) select * from a, b");
    assert_eq!((c.route, c.parsed), (R, true), "{c:?}");
    let c = cl("WITH c AS (SELECT 1 AS a) SELECT REPLACE(a, '1', '2') FROM c");
    assert_eq!(c.route, R, "{c:?}");
    let c = cl("/* rwsplit:replica */ WITH c AS (SELECT 1) SELECT * FROM c;");
    assert_eq!(
        (c.route, c.hint, c.multi),
        (R, Some(Hint::Replica), false),
        "{c:?}"
    );

    routes(&[
        ("WITH c AS (SELECT 1) UPDATE t JOIN c SET t.a = 1", M),
        (
            "WITH c AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM c)",
            M,
        ),
        ("WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c", M),
        ("WITH c AS (SELECT 1) REPLACE INTO t SELECT * FROM c", M),
        ("WITH c AS (SELECT id FROM t) SELECT * FROM c FOR UPDATE", M),
        (
            "WITH c AS (SELECT id FROM t LOCK IN SHARE MODE) SELECT * FROM c",
            M,
        ),
        ("WITH c AS (SELECT GET_LOCK('a', 1)) SELECT * FROM c", M),
        ("WITH c AS (SELECT 1) SELECT * INTO @x FROM c", M),
        ("WITH c AS (SELECT @a := 1) SELECT * FROM c", M),
        ("WITH garbage", M),
        ("WITH", M),
        ("WITH c AS (SELECT 1) SELECT * FROM c; DELETE FROM t", M),
    ]);
    // sqlparser's failure (MariaDB-only syntax) means master, and it was consulted.
    let c = cl("WITH c AS (SELECT 1) SELECT * FROM c PROCEDURE ANALYSE()");
    assert_eq!((c.route, c.parsed), (M, true), "{c:?}");
    // Master decided by the scan: no need to parse.
    assert!(!cl("WITH c AS (SELECT 1) DELETE FROM t").parsed);
    assert!(!cl("SELECT 1").parsed);
}

#[test]
fn with_deeply_nested_does_not_overflow() {
    let deep = format!(
        "WITH c AS ({}SELECT 1{}) SELECT * FROM c",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert_eq!(cl(&deep).route, M);
    let deep = format!("{}SELECT 1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(cl(&deep).route, R);
}

// -----------------------------------------------------------------------
// SHOW / DESCRIBE / EXPLAIN / HELP
// -----------------------------------------------------------------------

#[test]
fn show() {
    let cases: &[(&str, Route)] = &[
        ("SHOW WARNINGS", L),
        ("show warnings limit 10", L),
        ("SHOW ERRORS", L),
        ("SHOW COUNT(*) WARNINGS", L),
        ("show count ( * ) errors", L),
        ("SHOW COUNT(*) FOO", M),
        ("SHOW PROCESSLIST", M),
        ("SHOW FULL PROCESSLIST", M),
        ("SHOW MASTER STATUS", M),
        ("SHOW MASTER LOGS", M),
        ("SHOW BINARY LOGS", M),
        ("SHOW BINLOG EVENTS IN 'mysql-bin.000001'", M),
        ("SHOW SLAVE STATUS", M),
        ("SHOW REPLICA STATUS", M),
        ("SHOW ALL SLAVES STATUS", M),
        ("SHOW SLAVE HOSTS", M),
        ("SHOW REPLICAS", M),
        ("SHOW STATUS", M),
        ("SHOW STATUS LIKE 'Threads%'", M),
        ("SHOW SESSION STATUS", M),
        ("SHOW LOCAL STATUS", M),
        ("SHOW GLOBAL STATUS", M),
        ("SHOW GLOBAL VARIABLES LIKE 'read_only'", M),
        ("SHOW PROFILE", M),
        ("SHOW PROFILES", M),
        ("SHOW ENGINE INNODB STATUS", M),
        ("SHOW ENGINE INNODB MUTEX", M),
        ("SHOW SOMETHING_NEW", M),
        ("SHOW", M),
        ("SHOW VARIABLES", M), // lists last_insert_id and the like: the connection's own
        ("SHOW VARIABLES LIKE 'max_allowed_packet'", R),
        ("SHOW SESSION VARIABLES", M),
        ("SHOW TABLES", R),
        ("SHOW FULL TABLES FROM db LIKE 'wp_%'", R),
        ("SHOW DATABASES", R),
        ("SHOW SCHEMAS", R),
        ("SHOW CREATE TABLE t", R),
        ("SHOW CREATE VIEW v", R),
        ("SHOW CREATE DATABASE d", R),
        ("SHOW COLUMNS FROM t", R),
        ("SHOW FULL COLUMNS FROM t FROM db", R),
        ("SHOW FIELDS FROM t", R),
        ("SHOW INDEX FROM t", R),
        ("SHOW INDEXES FROM t", R),
        ("SHOW KEYS FROM t", R),
        ("SHOW EXTENDED INDEX FROM t", R),
        ("SHOW TABLE STATUS", R),
        ("SHOW TABLE STATUS LIKE 'wp_posts'", R),
        ("SHOW COLLATION", R),
        ("SHOW CHARACTER SET", R),
        ("SHOW CHARSET", R),
        ("SHOW TRIGGERS", R),
        ("SHOW EVENTS", R),
        ("SHOW FUNCTION STATUS", R),
        ("SHOW PROCEDURE STATUS WHERE Db = 'x'", R),
        ("SHOW GRANTS", R),
        ("SHOW GRANTS FOR CURRENT_USER()", R),
        ("SHOW PRIVILEGES", R),
        ("SHOW PLUGINS", R),
        ("SHOW ENGINES", R),
        ("SHOW STORAGE ENGINES", R),
        ("SHOW OPEN TABLES", R),
        // A master marker in the filter expression still counts.
        ("SHOW TABLES WHERE GET_LOCK('x', 1)", M),
    ];
    for &(sql, route) in cases {
        check(sql, route, K::Show);
    }
}

#[test]
fn describe_explain_help() {
    check("DESCRIBE t", R, K::Describe);
    check("DESC t", R, K::Describe);
    check("desc `update`", R, K::Describe);
    check("DESCRIBE db.t col", R, K::Describe);
    check("DESCRIBE SELECT * FROM t", R, K::Describe);
    check("DESC UPDATE t SET a = 1", M, K::Describe);
    check("DESCRIBE", M, K::Describe);
    check("EXPLAIN t", R, K::Explain);
    check("EXPLAIN SELECT * FROM t", R, K::Explain);
    check("EXPLAIN EXTENDED SELECT * FROM t", R, K::Explain);
    check("EXPLAIN PARTITIONS SELECT * FROM t", R, K::Explain);
    check("EXPLAIN FORMAT=JSON SELECT * FROM t", R, K::Explain);
    check("explain format = tree select 1", R, K::Explain);
    check("EXPLAIN FORMAT='JSON' SELECT 1", R, K::Explain);
    check(
        "EXPLAIN WITH c AS (SELECT 1) SELECT * FROM c",
        R,
        K::Explain,
    );
    check("EXPLAIN (SELECT 1) UNION (SELECT 2)", R, K::Explain);
    check("EXPLAIN TABLE t", R, K::Explain);
    check("EXPLAIN INSERT INTO t VALUES (1)", M, K::Explain);
    check("EXPLAIN UPDATE t SET a = 1", M, K::Explain);
    check("EXPLAIN DELETE FROM t", M, K::Explain);
    check("EXPLAIN REPLACE INTO t VALUES (1)", M, K::Explain);
    check("EXPLAIN ANALYZE SELECT * FROM t", M, K::Explain);
    check("EXPLAIN FORMAT=JSON ANALYZE SELECT 1", M, K::Explain);
    check("EXPLAIN FOR CONNECTION 12", M, K::Explain);
    check("EXPLAIN FORMAT=JSON INTO @plan SELECT 1", M, K::Explain);
    check("EXPLAIN WITH c AS (SELECT 1) DELETE FROM t", M, K::Explain);
    check(
        "EXPLAIN SELECT * FROM (SELECT GET_LOCK('x', 1)) d",
        M,
        K::Explain,
    );
    check("EXPLAIN", M, K::Explain);
    check("EXPLAIN FORMAT=", M, K::Explain);
    check("ANALYZE SELECT * FROM t", M, K::Other);
    check("ANALYZE TABLE t", M, K::Other);
    check("HELP 'contents'", R, K::Other);
}

// -----------------------------------------------------------------------
// SET
// -----------------------------------------------------------------------

#[test]
fn show_variables_of_the_connection_go_to_the_master() {
    let r = |s: &str| cl(s).route;
    assert_eq!(r("SHOW VARIABLES LIKE 'sql_mode'"), R);
    assert_eq!(r("SHOW SESSION VARIABLES LIKE 'character_set_%'"), R);
    assert_eq!(r("SHOW VARIABLES LIKE 'last_insert_id'"), M);
    assert_eq!(r("show variables like '%ID%'"), M);
    assert_eq!(r("SHOW VARIABLES LIKE 'warning\\_count'"), M);
    assert_eq!(r("SHOW VARIABLES"), M);
    assert_eq!(
        r("SHOW VARIABLES WHERE Variable_name = 'last_insert_id'"),
        M
    );
    assert!(like_matches(b"a%c", b"abbbc") && !like_matches(b"a_c", b"abbc"));
}

#[test]
fn master_read_is_reported() {
    assert!(cl("SELECT LAST_INSERT_ID()").master_read);
    assert!(cl("SELECT @@identity").master_read);
    assert!(!cl("SELECT 1").master_read);
}
