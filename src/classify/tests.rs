//! Unit tests of the classifier.

use super::*;
use Kind as K;
use Route::{Current as C, Last as L, Master as M, Replica as R};

fn cl(sql: &str) -> Classification {
    classify(sql.as_bytes())
}

#[track_caller]
fn check(sql: &str, route: Route, kind: Kind) {
    let c = cl(sql);
    assert_eq!((c.route, c.kind), (route, kind), "{sql:?} -> {c:?}");
}

#[track_caller]
fn routes(cases: &[(&str, Route)]) {
    for &(sql, route) in cases {
        let c = cl(sql);
        assert_eq!(c.route, route, "{sql:?} -> {c:?}");
    }
}

/// (sql, route, kind, record, user_var_write)
#[track_caller]
fn set_case(sql: &str, route: Route, record: bool, uvw: bool) {
    let c = cl(sql);
    assert_eq!(
        (c.route, c.kind, c.record, c.user_var_write),
        (route, K::Set, record, uvw),
        "{sql:?} -> {c:?}"
    );
    assert!(!c.multi, "{sql:?}");
}

// -----------------------------------------------------------------------
// A corpus of realistic statements: (sql, route, kind).
// -----------------------------------------------------------------------
const CORPUS: &[(&str, Route, Kind)] = &[
    // sysbench oltp_*
    ("SELECT c FROM sbtest1 WHERE id=5023", R, K::Select),
    ("SELECT c FROM sbtest3 WHERE id BETWEEN 5023 AND 5122", R, K::Select),
    ("SELECT SUM(k) FROM sbtest2 WHERE id BETWEEN 4988 AND 5087", R, K::Select),
    ("SELECT c FROM sbtest1 WHERE id BETWEEN 4988 AND 5087 ORDER BY c", R, K::Select),
    ("SELECT DISTINCT c FROM sbtest4 WHERE id BETWEEN 4988 AND 5087 ORDER BY c", R, K::Select),
    ("UPDATE sbtest1 SET k=k+1 WHERE id=5023", M, K::Update),
    ("UPDATE sbtest2 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-41576422241-93426793964-56405065102-33518432330' WHERE id=4991", M, K::Update),
    ("DELETE FROM sbtest3 WHERE id=5010", M, K::Delete),
    ("INSERT INTO sbtest3 (id, k, c, pad) VALUES (5010, 4994, '67847967377-48000963322-62604785301-91415491898-96926520291-74012051430-31411217808-39815917806-56906920025-61542537399', '22195207048-70116052123-74140395089-76317954521-98694025897')", M, K::Insert),
    ("BEGIN", M, K::Begin),
    ("COMMIT", M, K::Commit),
    ("CREATE TABLE sbtest1(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n) /*! ENGINE = innodb */", M, K::Ddl),
    ("CREATE INDEX k_1 ON sbtest1(k)", M, K::Ddl),
    // WordPress
    ("SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'", R, K::Select),
    ("SELECT option_value FROM wp_options WHERE option_name = 'siteurl' LIMIT 1", R, K::Select),
    ("SELECT SQL_CALC_FOUND_ROWS  wp_posts.ID FROM wp_posts  WHERE 1=1  AND ((wp_posts.post_type = 'post' AND (wp_posts.post_status = 'publish' OR wp_posts.post_status = 'private')))  ORDER BY wp_posts.post_date DESC LIMIT 0, 10", R, K::Select),
    ("SELECT FOUND_ROWS()", M, K::Select),
    ("SET NAMES utf8mb4", C, K::Set),
    ("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_520_ci'", C, K::Set),
    ("SELECT @@SESSION.sql_mode", R, K::Select),
    ("SET SESSION sql_mode = 'NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'", C, K::Set),
    ("SELECT t.*, tt.* FROM wp_terms AS t  INNER JOIN wp_term_taxonomy AS tt ON t.term_id = tt.term_id WHERE tt.taxonomy IN ('category') AND t.term_id IN ( 1 ) ORDER BY t.name ASC", R, K::Select),
    ("SELECT wp_posts.* FROM wp_posts WHERE ID IN (12,15,21)", R, K::Select),
    ("SELECT post_id, meta_key, meta_value FROM wp_postmeta WHERE post_id IN (12,15,21) ORDER BY meta_id ASC", R, K::Select),
    ("SELECT COUNT(*) FROM wp_comments WHERE comment_approved = '1' AND comment_post_ID = 12", R, K::Select),
    ("SELECT post_title FROM wp_posts WHERE post_title = 'Don\\'t update me' LIMIT 1", R, K::Select),
    ("UPDATE `wp_options` SET `option_value` = '1700000000.1234560012817382812500' WHERE `option_name` = '_transient_doing_cron'", M, K::Update),
    ("INSERT INTO `wp_options` (`option_name`, `option_value`, `autoload`) VALUES ('_transient_timeout_feed', '1700043200', 'no') ON DUPLICATE KEY UPDATE `option_name` = VALUES(`option_name`), `option_value` = VALUES(`option_value`), `autoload` = VALUES(`autoload`)", M, K::Insert),
    ("DELETE FROM `wp_options` WHERE `option_name` = '_transient_feed_123'", M, K::Delete),
    ("SHOW FULL COLUMNS FROM `wp_options`", R, K::Show),
    ("SHOW TABLES LIKE 'wp\\_options'", R, K::Show),
    // Drupal (prefixed, and Drupal 9+ ANSI-quoted)
    ("SELECT cid, data, created, expire, serialized, tags, checksum FROM cache_bootstrap WHERE cid IN ('system.theme_engine_files')", R, K::Select),
    ("SELECT \"cid\", \"data\", \"created\" FROM \"cache_config\" WHERE \"cid\" IN ('core.extension')", R, K::Select),
    ("SELECT 1 AS expression FROM semaphore semaphore WHERE ( (name = 'cron') AND (value = '1234567.89') ) FOR UPDATE", M, K::Select),
    ("SELECT 1 AS \"expression\" FROM \"semaphore\" \"semaphore\" WHERE ((\"name\" = 'cron')) FOR UPDATE", M, K::Select),
    ("INSERT INTO cache_data (cid, expire, created, tags, checksum, data, serialized) VALUES ('route:/node/1', -1, 1700000000.123, 'route', '12', 'a:0:{}', 1) ON DUPLICATE KEY UPDATE cid = VALUES(cid), expire = VALUES(expire), data = VALUES(data)", M, K::Insert),
    ("SELECT GET_LOCK('drupal_cron', 30)", M, K::Select),
    ("SELECT RELEASE_LOCK('drupal_cron')", M, K::Select),
    ("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", C, K::Set),
    ("SET sql_mode = 'ANSI,TRADITIONAL'", C, K::Set),
    ("SELECT s.sid, s.uid, s.session FROM sessions s WHERE s.sid = 'G8hJ2k'", R, K::Select),
    ("SELECT name, value FROM key_value WHERE name IN ('system.cron_last') AND collection = 'state'", R, K::Select),
    ("UPDATE users_field_data SET access = 1700000000 WHERE uid = 1", M, K::Update),
    ("DELETE FROM cachetags WHERE tag IN ('node_list')", M, K::Delete),
    // mysql CLI and connectors
    ("select @@version_comment limit 1", R, K::Select),
    ("SELECT DATABASE()", R, K::Select),
    ("show databases", R, K::Show),
    ("show warnings", L, K::Show),
    ("/* mysql-connector-java-8.0.33 (Revision: 7d6b0800528b6b25c68b52dc10d6c1c8429c100c) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@max_allowed_packet AS max_allowed_packet, @@sql_mode AS sql_mode, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout", R, K::Select),
    ("SET character_set_results = NULL", C, K::Set),
    ("SET autocommit=1", M, K::Set),
    ("SELECT @@session.transaction_read_only", R, K::Select),
    // mysqldump output
    ("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", C, K::Set),
    ("/*!40101 SET NAMES utf8mb4 */", C, K::Set),
    ("/*!50503 SET NAMES utf8mb4 */", C, K::Set),
    ("/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */", C, K::Set),
    ("/*!40103 SET TIME_ZONE='+00:00' */", C, K::Set),
    ("/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */", C, K::Set),
    ("/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */", C, K::Set),
    ("/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */", C, K::Set),
    ("DROP TABLE IF EXISTS `t1`", M, K::Ddl),
    ("/*!40101 SET @saved_cs_client     = @@character_set_client */", C, K::Set),
    ("CREATE TABLE `t1` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `update` varchar(10) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci", M, K::Ddl),
    ("LOCK TABLES `t1` WRITE", M, K::Lock),
    ("/*!40000 ALTER TABLE `t1` DISABLE KEYS */", M, K::Ddl),
    ("INSERT INTO `t1` VALUES (1,'a'),(2,'b\\'c'),(3,'select')", M, K::Insert),
    ("UNLOCK TABLES", M, K::Unlock),
    ("SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN", C, K::Set),
    ("SET @@SESSION.SQL_LOG_BIN= 0", C, K::Set),
    ("SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'", M, K::Set),
    ("/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v1` AS select 1 AS `1` */", M, K::Ddl),
    ("/*!50003 CREATE*/ /*!50020 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON t1 FOR EACH ROW BEGIN SET NEW.`update` = 'x'; END */", M, K::Ddl),
    // Others
    ("CALL refresh_stats(1)", M, K::Call),
    ("EXPLAIN SELECT * FROM wp_posts WHERE ID = 1", R, K::Explain),
    ("DESCRIBE wp_posts", R, K::Describe),
    ("SHOW CREATE TABLE `wp_posts`", R, K::Show),
    ("SHOW SESSION STATUS LIKE 'Handler%'", M, K::Show),
    ("SELECT LAST_INSERT_ID()", M, K::Select),
    ("USE wordpress", C, K::Use),
    ("START TRANSACTION", M, K::Begin),
    ("ROLLBACK", M, K::Rollback),
    ("REPLACE INTO t (id, v) VALUES (1, 'x')", M, K::Replace),
    ("TRUNCATE TABLE t", M, K::Ddl),
    ("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t FIELDS TERMINATED BY ','", M, K::Load),
    ("WITH recent AS (SELECT id FROM wp_posts ORDER BY post_date DESC LIMIT 10) SELECT p.* FROM wp_posts p JOIN recent r ON r.id = p.ID", R, K::Select),
];

#[test]
fn corpus() {
    for &(sql, route, kind) in CORPUS {
        check(sql, route, kind);
    }
}

// -----------------------------------------------------------------------
// SELECT
// -----------------------------------------------------------------------

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
fn set_session_state_is_current_and_recorded() {
    for sql in [
        "SET NAMES utf8mb4",
        "set names 'utf8' collate 'utf8_general_ci'",
        "SET NAMES DEFAULT",
        "SET CHARACTER SET utf8",
        "SET CHARSET 'utf8'",
        "SET sql_mode = ''",
        "SET SESSION sql_mode = 'ANSI'",
        "SET LOCAL sql_mode = 'ANSI'",
        "SET @@session.sql_mode = 'ANSI'",
        "SET @@local.sql_mode = 'ANSI'",
        "SET @@sql_mode = 'ANSI'",
        "SET sql_mode := 'ANSI'",
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET LOCAL TRANSACTION READ ONLY",
        "SET @@session.transaction_isolation = 'READ-COMMITTED'",
        "SET transaction_isolation = 'READ-COMMITTED'",
        "SET SESSION tx_isolation = 'READ-COMMITTED'",
        "SET foreign_key_checks = 0, unique_checks = 0",
        "SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
        "SET timestamp = 1700000000",
        "SET time_zone = '+00:00'",
        "SET NAMES utf8mb4, sql_mode = ''",
        "SET max_statement_time = DEFAULT",
        "SET `sql_mode` = ''",
    ] {
        set_case(sql, C, true, false);
    }
}

#[test]
fn set_user_variables() {
    for sql in [
        "SET @x = 1",
        "SET @x := 1",
        "set @X:=1",
        "SET @`x y` = 1",
        "SET @'x' = 1",
        "SET @\"x\" = 1",
        "SET @a = 1, @b = 'two'",
        "SET @a = 1, sql_mode = ''",
        "SET @update = 'FOR UPDATE'",
    ] {
        set_case(sql, C, true, true);
    }
    // Side effects: not replayable.
    set_case("SET @l = GET_LOCK('x', 1)", M, false, true);
    // A subquery's answer depends on how far the backend has replicated: kept on the
    // master rather than replayed.
    set_case("SET @a = (SELECT MAX(id) FROM t)", M, false, true);
    set_case("SET @n = NEXTVAL(s)", M, false, true);
    set_case("SET @n = NEXT VALUE FOR s", M, false, true);
    set_case(
        "SET @a = (SELECT a FROM t WHERE id = 1 FOR UPDATE)",
        M,
        false,
        true,
    );
    // Master-only values: run there, and the variable lives there.
    set_case("SET @id = LAST_INSERT_ID()", M, false, true);
    set_case("SET @n = FOUND_ROWS()", M, false, true);
    set_case("SET @g = @@global.gtid_binlog_pos", M, false, true);
    set_case("SET sql_mode = @@global.sql_mode", M, false, false);
    // Nested assignment inside a subquery: kept on the master, and the session with it.
    set_case("SET sql_mode = (SELECT @m := 'ANSI')", M, false, true);
    assert!(cl("SET sql_mode = (SELECT @m := 'ANSI')").master_only_state);
}

#[test]
fn set_autocommit_is_master_and_recorded() {
    for sql in [
        "SET autocommit=0",
        "SET autocommit = 1",
        "set AUTOCOMMIT := 0",
        "SET @@autocommit = 1",
        "SET @@session.autocommit = 0",
        "SET SESSION autocommit = 0",
        "SET LOCAL autocommit = ON",
        "SET autocommit=1, sql_mode = ''",
        "SET NAMES utf8, autocommit = 0",
        "SET sql_mode = '', @@autocommit = 0",
        "/*!40101 SET autocommit=0 */",
    ] {
        set_case(sql, M, true, false);
    }
    set_case("SET @a = 1, autocommit = 0", M, true, true);
}

#[test]
fn set_global_transaction_and_special_forms_are_master_not_recorded() {
    for sql in [
        "SET GLOBAL max_connections = 1000",
        "SET @@global.max_connections = 1000",
        "SET @@GLOBAL.sql_mode = ''",
        "SET PERSIST max_connections = 1000",
        "SET PERSIST_ONLY max_connections = 1000",
        "SET @@persist.max_connections = 1000",
        "SET GLOBAL autocommit = 0",
        "SET GLOBAL a = 1, b = 2",
        "SET GLOBAL a = 1, SESSION b = 2",
        "SET SESSION a = 1, GLOBAL b = 2",
        "SET sql_mode = '', @@global.x = 1",
        "SET GLOBAL validate_password.length = 8",
        "SET @@global.keycache1.key_buffer_size = 1048576",
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "set transaction read only",
        "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET @@transaction_isolation = 'READ-COMMITTED'",
        "SET @@tx_isolation = 'READ-COMMITTED'",
        "SET @@transaction_read_only = 1",
        "SET insert_id = 5",
        "SET LAST_INSERT_ID = 5",
        "SET rand_seed1 = 1, rand_seed2 = 2",
        "SET PASSWORD = 'secret'",
        "SET PASSWORD FOR 'u'@'%' = PASSWORD('secret')",
        "SET ROLE ALL",
        "SET ROLE NONE",
        "SET DEFAULT ROLE r1 TO u1",
        "SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t",
        "SET RESOURCE GROUP rg1",
        // garbage
        "SET",
        "SET x",
        "SET = 1",
        "SET x = ",
        "SET x = 1,",
        "SET @",
        "SET @@",
        "SET @@global.",
        "SET CHARACTER utf8",
        "SET 1 = 2",
    ] {
        set_case(
            sql,
            M,
            false,
            sql.contains("SET @") && !sql.starts_with("SET @@"),
        );
    }
    set_case("SET @a = 1, GLOBAL x = 2", M, false, true);
}

// -----------------------------------------------------------------------
// USE
// -----------------------------------------------------------------------

#[test]
fn use_statement() {
    let c = cl("USE wordpress");
    assert_eq!((c.route, c.kind, c.record), (C, K::Use, true));
    let c = cl("use `my db`;");
    assert_eq!(
        (c.route, c.kind, c.record, c.multi),
        (C, K::Use, true, false)
    );
}

#[test]
fn use_database_names() {
    let u = |s: &str| use_database(s.as_bytes());
    assert_eq!(u("USE db").as_deref(), Some("db"));
    assert_eq!(u("use DB_1").as_deref(), Some("DB_1"));
    assert_eq!(u("USE `db`").as_deref(), Some("db"));
    assert_eq!(u("USE `my``db`").as_deref(), Some("my`db"));
    assert_eq!(u("USE `with space`").as_deref(), Some("with space"));
    assert_eq!(u("USE \"ansi\"").as_deref(), Some("ansi"));
    assert_eq!(u("USE \"an\"\"si\"").as_deref(), Some("an\"si"));
    assert_eq!(u("USE db;").as_deref(), Some("db"));
    assert_eq!(u("USE db ; ").as_deref(), Some("db"));
    assert_eq!(u(" /* c */ USE db -- x").as_deref(), Some("db"));
    assert_eq!(u("/*!40101 USE db */").as_deref(), Some("db"));
    assert_eq!(u("USE caf\u{e9}").as_deref(), Some("caf\u{e9}"));
    assert_eq!(
        use_database(b"USE `caf\xe9`").as_deref(),
        Some("caf\u{fffd}")
    );
    assert_eq!(u("USE"), None);
    assert_eq!(u("USE a b"), None);
    assert_eq!(u("USE a.b"), None);
    assert_eq!(u("USE 'db'"), None);
    assert_eq!(u("USE `db"), None);
    assert_eq!(u("SELECT 1"), None);
    assert_eq!(u("USEdb"), None);
    assert_eq!(u(""), None);
}

// -----------------------------------------------------------------------
// Transactions and the rest
// -----------------------------------------------------------------------

#[test]
fn transaction_control() {
    let cases: &[(&str, Kind)] = &[
        ("BEGIN", K::Begin),
        ("begin work", K::Begin),
        ("BEGIN;", K::Begin),
        ("START TRANSACTION", K::Begin),
        ("START TRANSACTION READ ONLY", K::Begin),
        (
            "start transaction with consistent snapshot, read write",
            K::Begin,
        ),
        ("COMMIT", K::Commit),
        ("COMMIT WORK AND CHAIN", K::Commit),
        ("ROLLBACK", K::Rollback),
        ("ROLLBACK WORK AND NO CHAIN", K::Rollback),
        ("ROLLBACK TO SAVEPOINT sp1", K::Savepoint),
        ("rollback work to sp1", K::Savepoint),
        ("SAVEPOINT sp1", K::Savepoint),
        ("RELEASE SAVEPOINT sp1", K::Savepoint),
        ("XA START 'x'", K::Xa),
        ("XA END 'x'", K::Xa),
        ("XA PREPARE 'x'", K::Xa),
        ("XA COMMIT 'x'", K::Xa),
        ("XA RECOVER", K::Xa),
        ("BEGIN NOT ATOMIC SELECT 1; END", K::Other),
    ];
    for &(sql, kind) in cases {
        check(sql, M, kind);
        assert!(!cl(sql).record);
    }
}

#[test]
fn writes_and_admin_statements() {
    let cases: &[(&str, Kind)] = &[
        ("INSERT INTO t VALUES (1)", K::Insert),
        ("insert ignore into t select * from u", K::Insert),
        ("INSERT INTO t (a) SELECT a FROM u WHERE b = 1", K::Insert),
        ("UPDATE t SET a = 1", K::Update),
        ("UPDATE LOW_PRIORITY t SET a = 1", K::Update),
        ("DELETE FROM t", K::Delete),
        ("DELETE t1 FROM t1 JOIN t2 USING (id)", K::Delete),
        ("REPLACE INTO t VALUES (1)", K::Replace),
        ("CREATE TABLE t (a INT)", K::Ddl),
        ("CREATE DATABASE d", K::Ddl),
        ("CREATE USER 'u'@'%' IDENTIFIED BY 'p'", K::Ddl),
        ("ALTER TABLE t ADD COLUMN b INT", K::Ddl),
        ("DROP TABLE t", K::Ddl),
        ("DROP DATABASE d", K::Ddl),
        ("DROP INDEX i ON t", K::Ddl),
        ("TRUNCATE t", K::Ddl),
        ("RENAME TABLE a TO b", K::Ddl),
        ("GRANT SELECT ON *.* TO 'u'@'%'", K::Grant),
        ("REVOKE ALL ON *.* FROM 'u'@'%'", K::Grant),
        ("LOAD DATA INFILE 'x' INTO TABLE t", K::Load),
        ("LOAD XML LOCAL INFILE 'x' INTO TABLE t", K::Load),
        ("HANDLER t OPEN", K::Handler),
        ("HANDLER t READ FIRST", K::Handler),
        ("CALL p()", K::Call),
        ("DO SLEEP(1)", K::Do),
        ("DO GET_LOCK('x', 1)", K::Do),
        ("LOCK TABLES t READ", K::Lock),
        ("LOCK TABLE t WRITE", K::Lock),
        ("UNLOCK TABLES", K::Unlock),
        ("FLUSH TABLES", K::Flush),
        ("FLUSH PRIVILEGES", K::Flush),
        ("KILL 12", K::Kill),
        ("KILL QUERY 12", K::Kill),
        ("PREPARE s FROM 'SELECT 1'", K::Prepare),
        ("EXECUTE s USING @a", K::Execute),
        ("DEALLOCATE PREPARE s", K::Deallocate),
        ("DROP PREPARE s", K::Deallocate),
        ("OPTIMIZE TABLE t", K::Other),
        ("REPAIR TABLE t", K::Other),
        ("CHECK TABLE t", K::Other),
        ("CHECKSUM TABLE t", K::Other),
        ("INSTALL PLUGIN p SONAME 'p.so'", K::Other),
        ("UNINSTALL PLUGIN p", K::Other),
        ("RESET MASTER", K::Other),
        ("PURGE BINARY LOGS TO 'mysql-bin.000010'", K::Other),
        ("CHANGE MASTER TO MASTER_HOST='127.0.0.1'", K::Other),
        ("STOP SLAVE", K::Other),
        ("START SLAVE", K::Other),
        ("START REPLICA", K::Other),
        ("BINLOG 'AAAA'", K::Other),
        ("CACHE INDEX t IN hot_cache", K::Other),
        ("SHUTDOWN", K::Other),
        ("VALUES ROW(1, 2)", K::Select),
        ("TABLE t", K::Select),
        ("SIGNAL SQLSTATE '45000'", K::Other),
        ("FOO BAR", K::Other),
        ("12345", K::Other),
        ("GET", K::Other),
    ];
    for &(sql, kind) in cases {
        check(sql, M, kind);
        let c = cl(sql);
        assert!(!c.record && !c.multi, "{sql:?} -> {c:?}");
    }
    check("GET DIAGNOSTICS @n = NUMBER", L, K::Other);
    check(
        "GET CURRENT DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT",
        L,
        K::Other,
    );
}

#[test]
fn kind_labels_are_lowercase_and_unique() {
    let all = [
        K::Select,
        K::Insert,
        K::Update,
        K::Delete,
        K::Replace,
        K::Set,
        K::Use,
        K::Begin,
        K::Commit,
        K::Rollback,
        K::Savepoint,
        K::Ddl,
        K::Show,
        K::Describe,
        K::Explain,
        K::Call,
        K::Prepare,
        K::Execute,
        K::Deallocate,
        K::Lock,
        K::Unlock,
        K::Kill,
        K::Load,
        K::Handler,
        K::Xa,
        K::Do,
        K::Flush,
        K::Grant,
        K::Other,
    ];
    let mut seen = std::collections::HashSet::new();
    for k in all {
        let s = k.as_str();
        assert_eq!(s, s.to_ascii_lowercase());
        assert_eq!(format!("{k:?}").to_ascii_lowercase(), s);
        assert!(seen.insert(s));
    }
}

// -----------------------------------------------------------------------
// Multi-statements
// -----------------------------------------------------------------------

#[test]
fn multi_statements() {
    let m = |sql: &str, route: Route, multi: bool| {
        let c = cl(sql);
        assert_eq!((c.route, c.multi), (route, multi), "{sql:?} -> {c:?}");
        c
    };
    m("SELECT 1; SELECT 2", R, true);
    m("SELECT 1;SELECT 2;", R, true);
    m("SELECT 1; UPDATE t SET a = 1", M, true);
    m("SELECT 1; SELECT 2; DELETE FROM t", M, true);
    m("SELECT 1; SELECT GET_LOCK('x', 1)", M, true);
    let c = m("UPDATE t SET a = 1; SELECT 1", M, true);
    assert_eq!(c.kind, K::Update);
    m("SELECT 1;", R, false);
    m("SELECT 1 ;  \n", R, false);
    m("SELECT 1; -- done\n", R, false);
    m("SELECT 1; # done", R, false);
    m("SELECT 1; /* done */ ", R, false);
    m("SELECT 1;;", M, true);
    m("SELECT 1; ; SELECT 2", M, true);
    m("; SELECT 1", M, true);
    m(";", M, false);
    m("SELECT 1 --1; DELETE FROM t", M, true);
    m("SELECT '\\''; DELETE FROM t", M, true);
    m("SELECT (1; DELETE FROM t)", M, true);
    m("SHOW WARNINGS; SHOW ERRORS", L, true);
    m("SELECT 1; SHOW WARNINGS", M, true);
    m("USE db; SELECT 1", M, true);

    let c = m("SET NAMES utf8; SET autocommit = 1", M, true);
    assert!(c.record);
    let c = m("SET NAMES utf8; SET @a = 1", C, true);
    assert!(c.record && c.user_var_write);
    let c = m("SET NAMES utf8; SELECT 1", M, true);
    assert!(!c.record);
    let c = m("SELECT 1; SELECT @x := 2", M, true);
    assert!(c.user_var_write);
}

#[test]
fn stored_program_bodies_are_one_statement() {
    let one = |sql: &str| {
        let c = cl(sql);
        assert_eq!((c.route, c.multi), (M, false), "{sql:?} -> {c:?}");
    };
    one("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END");
    one("CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN x INT)\nBEGIN\n  IF x > 0 THEN\n    UPDATE t SET a = x;\n  END IF;\n  WHILE x > 0 DO SET x = x - 1; END WHILE;\n  lbl: LOOP LEAVE lbl; END LOOP lbl;\nEND");
    one("CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN CASE WHEN NEW.a > 1 THEN SET NEW.b = 1; ELSE SET NEW.b = CASE NEW.a WHEN 0 THEN 2 ELSE 3 END; END CASE; END");
    one("CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN DECLARE x INT; SET x = 1; RETURN x; END;");
    one("CREATE EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN DELETE FROM t; DELETE FROM u; END");
    one("ALTER EVENT e DO BEGIN DELETE FROM t; DELETE FROM u; END");
    one("BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; SELECT x; END");
    let c = cl("CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; END; SELECT 1");
    assert_eq!((c.route, c.multi), (M, true));
    let c = cl("CREATE PROCEDURE p() SELECT 1; SELECT 2");
    assert_eq!((c.route, c.multi), (M, true));
    // A table definition is not a stored program.
    let c = cl("CREATE TABLE t (a INT); SET NAMES utf8");
    assert_eq!((c.route, c.multi), (M, true));
}

// -----------------------------------------------------------------------
// Hints
// -----------------------------------------------------------------------

#[test]
fn hints() {
    let h = |sql: &str| cl(sql).hint;
    assert_eq!(h("/* rwsplit:master */ SELECT 1"), Some(Hint::Master));
    assert_eq!(h("/*rwsplit:replica*/SELECT 1"), Some(Hint::Replica));
    assert_eq!(h("/*  RWSPLIT : Replica  */ SELECT 1"), Some(Hint::Replica));
    assert_eq!(h("/*\n rwsplit:\tmaster\n*/\nSELECT 1"), Some(Hint::Master));
    assert_eq!(h("-- rwsplit:master\nSELECT 1"), Some(Hint::Master));
    assert_eq!(h("--\trwsplit:replica\r\nSELECT 1"), Some(Hint::Replica));
    assert_eq!(h("# rwsplit:replica\nSELECT 1"), Some(Hint::Replica));
    assert_eq!(h("#rwsplit:master\nSELECT 1"), Some(Hint::Master));
    assert_eq!(
        h("/* app=x */ /* rwsplit:master */ SELECT 1"),
        Some(Hint::Master)
    );
    assert_eq!(
        h("/* rwsplit:replica */ /* rwsplit:master */ SELECT 1"),
        Some(Hint::Replica)
    );
    assert_eq!(h("( /* rwsplit:replica */ SELECT 1)"), Some(Hint::Replica));
    assert_eq!(
        h("/* rwsplit:master */ UPDATE t SET a = 1"),
        Some(Hint::Master)
    );
    assert_eq!(
        h("/* rwsplit:master */ SELECT 1; SELECT 2"),
        Some(Hint::Master)
    );
    // Not hints.
    assert_eq!(h("SELECT /* rwsplit:master */ 1"), None);
    assert_eq!(h("SELECT 1 -- rwsplit:master"), None);
    assert_eq!(h("SELECT 1; /* rwsplit:master */ SELECT 2"), None);
    assert_eq!(h("/* rwsplit:primary */ SELECT 1"), None);
    assert_eq!(h("/* rwsplit:master please */ SELECT 1"), None);
    assert_eq!(h("/* rwsplit master */ SELECT 1"), None);
    assert_eq!(h("/*! rwsplit:master */ SELECT 1"), None);
    assert_eq!(h("--rwsplit:master\nSELECT 1"), None);
    assert_eq!(h("/* rwsplit:master"), None);
    assert_eq!(h(""), None);
    // The hint does not change the route.
    assert_eq!(cl("/* rwsplit:replica */ DELETE FROM t").route, M);
    assert_eq!(cl("/* rwsplit:master */ SELECT 1").route, R);
    // `--x` is not a comment: the statement starts with punctuation.
    assert_eq!(cl("--rwsplit:master\nSELECT 1").route, M);
}

// -----------------------------------------------------------------------
// Executable comments
// -----------------------------------------------------------------------

#[test]
fn writes_ignore_replica_hints_and_the_previous_statement() {
    // A replica hint is dropped for anything that writes, locks or assigns.
    for sql in [
        "/* rwsplit:replica */ SELECT * FROM t FOR UPDATE",
        "/* rwsplit:replica */ SELECT * FROM t LOCK IN SHARE MODE",
        "/* rwsplit:replica */ SELECT a INTO @x FROM t",
        "/* rwsplit:replica */ SELECT @a := 1",
        "/* rwsplit:replica */ SELECT GET_LOCK('a', 1)",
        "/* rwsplit:replica */ SELECT NEXTVAL(s)",
        "/* rwsplit:replica */ WITH c AS (SELECT 1) DELETE FROM t",
        "/* rwsplit:replica */ EXPLAIN ANALYZE DELETE FROM t",
        "/* rwsplit:replica */ SHOW TABLES WHERE GET_LOCK('a', 1)",
        "/* rwsplit:replica */ SELECT 'abc",
        "/* rwsplit:replica */ DELETE FROM t",
        // a write only in the NO_BACKSLASH_ESCAPES reading
        "/* rwsplit:replica */ SELECT LAST_INSERT_ID(), 'a\\' FOR UPDATE -- '",
    ] {
        let c = cl(sql);
        assert_eq!((c.route, c.hint), (M, None), "{sql:?}");
    }
    // Reads of the master connection's own state lose it: a replica would answer wrong.
    for sql in [
        "/* rwsplit:replica */ SELECT LAST_INSERT_ID()",
        "/* rwsplit:replica */ SELECT IS_USED_LOCK('x')",
        "/* rwsplit:replica */ SELECT @@identity",
    ] {
        assert_eq!(cl(sql).hint, None, "{sql:?}");
    }
    // Other reads keep it, also those that otherwise go to the master.
    for sql in [
        "/* rwsplit:replica */ SELECT 1",
        "/* rwsplit:replica */ SHOW GLOBAL STATUS",
        "/* rwsplit:replica */ TABLE t",
        "/* rwsplit:replica */ SELECT 'a\\' -- '",
    ] {
        assert_eq!(cl(sql).hint, Some(Hint::Replica), "{sql:?}");
    }
    // FOUND_ROWS() / ROW_COUNT() follow the previous statement only in pure reads.
    for sql in [
        "SELECT FOUND_ROWS(); INSERT INTO t VALUES (1)",
        "SELECT ROW_COUNT() FROM t FOR UPDATE",
        "SELECT FOUND_ROWS(), GET_LOCK('a', 1)",
        "WITH c AS (SELECT FOUND_ROWS()) DELETE FROM t",
        "SELECT FOUND_ROWS() INTO @n",
    ] {
        let c = cl(sql);
        assert_eq!((c.route, c.depends_on_previous), (M, false), "{sql:?}");
    }
    assert!(cl("SELECT FOUND_ROWS()").depends_on_previous);
    assert!(cl("SELECT ROW_COUNT(); SELECT 1").depends_on_previous);
}

#[test]
fn executable_comments() {
    let c = cl("/*!40101 SET NAMES utf8 */");
    assert_eq!(
        (c.route, c.kind, c.record, c.multi),
        (C, K::Set, true, false)
    );
    let c = cl("/*!40101 SET NAMES utf8 */;\n");
    assert_eq!((c.route, c.multi), (C, false));
    let c = cl("/*!40101SET NAMES utf8*/");
    assert_eq!((c.route, c.kind), (C, K::Set));
    let c = cl("/*!40101 SET NAMES utf8 /* inner */ */");
    assert_eq!((c.route, c.kind), (C, K::Set));
    routes(&[
        ("SELECT /*!40001 SQL_NO_CACHE */ * FROM t", R),
        ("/*!40101 select 1 */", R),
        ("SELECT * FROM t /*!50000 FOR UPDATE */", M),
        ("SELECT * FROM t /*!FOR UPDATE*/", M),
        ("SELECT * FROM t /*M!100000 FOR UPDATE */", M),
        ("SELECT * FROM t /*!80000 FOR UPDATE */", M),
        ("SELECT 1 /*!40101 ; DELETE FROM t */", M),
        ("/*!40101 DELETE FROM t */", M),
        ("/*!40101 SET NAMES utf8", M),
        ("/*M!999999\\- enable the sandbox mode */", M),
        // Version-conditional: code on one server, comment on another.
        // Both readings must agree, or master.
        ("SELECT 1 /*!99999 ' */; DELETE FROM t; -- '", M),
        ("SELECT 1 /*!80000 -- */; DELETE FROM t\n */", M),
        ("SELECT 1 /*M!100000 ` */; DELETE FROM t; -- `", M),
        // A reading in which there is no statement at all executes nothing.
        ("/*!80000 SET x = 1 */", C),
        ("/*M!100616 SET NOTE_VERBOSITY=0 */", C),
        ("SELECT 1 /*!80000 , 2 */", R),
    ]);
    assert!(!cl("SELECT 1 /*!99999 ' */; DELETE FROM t; -- '").record);
    assert!(cl("SELECT 1 /*!99999 ' */; DELETE FROM t; -- '").multi);
    assert!(!cl("/*!50003 CREATE*/ /*!50003 TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END */;").multi);
}

// -----------------------------------------------------------------------
// Strings: backslash escapes and NO_BACKSLASH_ESCAPES
// -----------------------------------------------------------------------

#[test]
fn backslash_escape_ambiguity() {
    routes(&[
        ("SELECT 'it\\'s'", R),
        ("SELECT 'it\\'s', \"a\\\"b\" FROM t", R),
        (
            "SELECT * FROM wp_posts WHERE post_title = 'Don\\'t stop' AND post_status = 'publish'",
            R,
        ),
        ("SELECT 'a\\\\' FROM t", R),
        // With NO_BACKSLASH_ESCAPES the server sees three statements.
        ("SELECT 'a\\'; DELETE FROM t; -- '", M),
        ("SELECT \"a\\\"; DELETE FROM t; -- \"", M),
        (
            "SELECT 'a\\' FROM t WHERE b = '; UPDATE t SET x = 1; -- '",
            M,
        ),
        // Conservative: in the other reading the first statement is a syntax
        // error, but the classifier cannot know that.
        ("SELECT * FROM t WHERE a = 'it\\'s; fine'", M),
        // Unterminated: the server rejects it; master anyway.
        ("SELECT 'abc", M),
        ("SELECT \"abc", M),
        ("SELECT `abc", M),
        ("SELECT 1 /* abc", M),
        ("SELECT 'a\\'", M),
    ]);
    assert!(!cl("SET @a = 'x\\'; DELETE FROM t; -- '").record);
    assert_eq!(cl("SET @a = 'it\\'s'").route, C);
}

// -----------------------------------------------------------------------
// Bytes
// -----------------------------------------------------------------------

#[test]
fn non_utf8_and_empty() {
    let b = |s: &[u8]| classify(s);
    assert_eq!(b(b"SELECT * FROM t WHERE b = '\xff\xfe\x00\x80'").route, R);
    assert_eq!(b(b"SELECT \xff\xfe FROM t").route, R);
    assert_eq!(
        b(b"SELECT * FROM t WHERE b = _binary'\x27\x27\x00'").route,
        R
    );
    assert_eq!(
        b(b"UPDATE t SET b = _binary'\x80\x81\xff' WHERE id = 1").route,
        M
    );
    assert_eq!(
        b(b"INSERT INTO t VALUES ('\xc3\x28', x'ff')").kind,
        K::Insert
    );
    assert_eq!(b(b"\xff\xfe").route, M);
    assert_eq!(b(b"\x00").route, M);
    assert_eq!(b(b"SELECT\x001").route, R);
    assert_eq!(b(b"SELECT * FROM t LOCK\x00IN\x00SHARE MODE").route, M);
    assert_eq!(b(b"\x00DELETE FROM t").route, M);
    assert!(!b(b"SELECT 1;\x00").multi);
    assert_eq!(b(b"WITH c AS (SELECT '\xff') SELECT * FROM c").route, R);
    for e in ["", " ", "\n\t", "/* */", "-- x", "#", "/*!*/", ";", "  ;  "] {
        let c = cl(e);
        assert_eq!(
            (c.route, c.kind, c.multi, c.record),
            (M, K::Other, false, false),
            "{e:?}"
        );
    }
}

/// Every prefix and suffix of every corpus statement, and pseudo-random token
/// soup: nothing panics.
#[test]
fn never_panics() {
    let names = vec!["t".to_string(), "tmp1".to_string()];
    let mut all: Vec<Vec<u8>> = Vec::new();
    for &(sql, _, _) in CORPUS {
        let b = sql.as_bytes();
        for i in 0..=b.len() {
            all.push(b[..i].to_vec());
            all.push(b[i..].to_vec());
        }
    }
    let pieces: &[&[u8]] = &[
        b"SELECT",
        b"SET",
        b"WITH",
        b"USE",
        b"@",
        b"@@",
        b":=",
        b"(",
        b")",
        b";",
        b"'",
        b"\"",
        b"`",
        b"\\",
        b"/*",
        b"*/",
        b"/*!",
        b"/*M!",
        b"50700",
        b"--",
        b"-- ",
        b"#",
        b"\n",
        b" ",
        b"FOR",
        b"UPDATE",
        b"INTO",
        b"GLOBAL",
        b".",
        b",",
        b"=",
        b"BEGIN",
        b"END",
        b"CASE",
        b"CREATE",
        b"TEMPORARY",
        b"TABLE",
        b"DROP",
        b"IF",
        b"\xff",
        b"\x00",
        b"x",
        b"SHOW",
        b"COUNT",
        b"*",
        b"EXPLAIN",
        b"rwsplit:master",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let n = rng.below(24);
        let mut v = Vec::new();
        for _ in 0..n {
            v.extend_from_slice(pieces[rng.below(pieces.len())]);
            if rng.below(2) == 0 {
                v.push(b' ');
            }
        }
        all.push(v);
    }
    for s in &all {
        let c = classify(s);
        let _ = use_database(s);
        let _ = mentions_any(s, &names);
        let ops = temp_table_ops(s);
        assert_eq!(c.temp_ops, ops);
    }
}

// -----------------------------------------------------------------------
// Temporary tables and mentions_any
// -----------------------------------------------------------------------

#[test]
fn temporary_tables() {
    let t = |sql: &str| {
        let c = cl(sql);
        assert_eq!(c.route, M, "{sql:?}");
        c.temp_ops.first().cloned()
    };
    let create = |n: &str| Some(TempTableOp::Create(n.to_string()));
    let drop = |v: &[&str]| Some(TempTableOp::Drop(v.iter().map(|s| s.to_string()).collect()));
    assert_eq!(t("CREATE TEMPORARY TABLE tmp1 (id INT)"), create("tmp1"));
    assert_eq!(
        t("create temporary table if not exists `my tmp` like t"),
        create("my tmp")
    );
    assert_eq!(
        t("CREATE OR REPLACE TEMPORARY TABLE db.tmp2 AS SELECT 1"),
        create("tmp2")
    );
    assert_eq!(
        t("CREATE TEMPORARY TABLE `db`.`a``b` SELECT 1"),
        create("a`b")
    );
    assert_eq!(t("CREATE TEMPORARY TABLE \"ansi\" (a INT)"), create("ansi"));
    assert_eq!(
        t("/*!40101 CREATE TEMPORARY TABLE x (a INT) */"),
        create("x")
    );
    assert_eq!(t("CREATE TABLE t (id INT)"), None);
    assert_eq!(t("CREATE TEMPORARY TABLE"), None);
    assert_eq!(t("DROP TEMPORARY TABLE tmp1"), drop(&["tmp1"]));
    assert_eq!(
        t("DROP TEMPORARY TABLE IF EXISTS a, `b`, db.c"),
        drop(&["a", "b", "c"])
    );
    assert_eq!(t("drop table x"), drop(&["x"]));
    assert_eq!(t("DROP TABLES x, y RESTRICT"), drop(&["x", "y"]));
    assert_eq!(t("DROP TABLE IF EXISTS `t1`"), drop(&["t1"]));
    assert_eq!(t("DROP DATABASE x"), None);
    assert_eq!(t("DROP VIEW v"), None);
    assert_eq!(t("DROP TABLE"), None);
    assert_eq!(cl("CREATE TEMPORARY TABLE tmp1 (id INT)").kind, K::Ddl);

    let sql = "CREATE TEMPORARY TABLE a (x INT); INSERT INTO a VALUES (1); CREATE TEMPORARY TABLE b (x INT); DROP TEMPORARY TABLE a";
    let c = cl(sql);
    assert_eq!(
        (c.route, c.multi, c.temp_ops.first().cloned()),
        (M, true, create("a"))
    );
    assert_eq!(
        temp_table_ops(sql.as_bytes()),
        vec![
            TempTableOp::Create("a".into()),
            TempTableOp::Create("b".into()),
            TempTableOp::Drop(vec!["a".into()]),
        ]
    );
    assert!(temp_table_ops(b"SELECT 1").is_empty());
}

#[test]
fn mentions() {
    let names = vec!["tmp1".to_string(), "Other".to_string()];
    let m = |sql: &str| mentions_any(sql.as_bytes(), &names);
    assert!(m("SELECT * FROM tmp1"));
    assert!(m("select * from TMP1 where a = 1"));
    assert!(m("SELECT * FROM `tmp1`"));
    assert!(m("SELECT * FROM `TMP1`"));
    assert!(m("SELECT * FROM db.tmp1 t"));
    assert!(m("SELECT * FROM `db`.`tmp1`"));
    assert!(m("SELECT * FROM \"tmp1\""));
    assert!(m("SELECT * FROM a JOIN other ON 1"));
    assert!(m("SELECT * FROM t /*!50000 JOIN tmp1 USING (id) */"));
    assert!(m("SHOW CREATE TABLE tmp1"));
    assert!(m("DESCRIBE tmp1"));
    assert!(!m("SELECT * FROM t"));
    assert!(!m("SELECT 'tmp1' FROM t"));
    assert!(!m("SELECT * FROM tmp10"));
    assert!(!m("SELECT * FROM tmp"));
    assert!(!m("SELECT * FROM t /* tmp1 */"));
    assert!(!m("SELECT * FROM t -- tmp1"));
    assert!(!m(""));
    // NO_BACKSLASH_ESCAPES reading: the server sees `FROM tmp1`.
    assert!(m("SELECT 'x\\' FROM tmp1 -- '"));
    assert!(!mentions_any(b"SELECT * FROM tmp1", &[]));
    let tick = vec!["a`b".to_string()];
    assert!(mentions_any(b"SELECT * FROM `a``b`", &tick));
    assert!(!mentions_any(b"SELECT * FROM `a``bc`", &tick));
    assert!(!mentions_any(b"SELECT * FROM `a``", &tick));
    // Identifiers are compared as bytes: a non-UTF-8 name never equals a String.
    assert!(!mentions_any(
        b"SELECT * FROM t\xff",
        &["t\u{fffd}".to_string()]
    ));
}

// -----------------------------------------------------------------------
// Property-style: decorated statements keep their route
// -----------------------------------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const LEADING: &[&str] = &[
    "",
    " ",
    "\n\t ",
    "/* app:checkout */ ",
    "/*rwsplit:replica*/",
    "/* rwsplit:replica */\n",
    "-- rwsplit:replica\n",
    "# rwsplit:replica\n",
    "/* a */ /* b */\n",
    "/**/",
    "-- \n",
];
const SPACES: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    " /* x */ ",
    "/**/",
    " -- c\n",
    " #c\n",
];
const TRAILING: &[&str] = &["", ";", " ; ", ";\n-- end", "; /* end */", "\n", " # end"];

/// Random case flips, whitespace/comment substitutions, leading comments and
/// hints, trailing `;` and comments, and sometimes an executable-comment wrapper.
/// Only applied to statements without comments of their own (so that a
/// substituted space never lands inside a comment).
fn decorate(sql: &str, rng: &mut Rng) -> String {
    let mut out = String::from(LEADING[rng.below(LEADING.len())]);
    // sqlparser (consulted for WITH) reads an executable comment as a comment.
    let wrap = rng.below(4) == 0 && !sql.contains("*/") && !sql.starts_with("WITH");
    if wrap {
        out.push_str("/*!40101 ");
    }
    let mut in_quote: Option<char> = None;
    for ch in sql.chars() {
        match in_quote {
            Some(q) => {
                out.push(ch);
                if ch == q {
                    in_quote = None;
                }
            }
            None if ch == ' ' => out.push_str(SPACES[rng.below(SPACES.len())]),
            None => {
                if ch == '\'' || ch == '"' || ch == '`' {
                    in_quote = Some(ch);
                }
                let c = match rng.below(3) {
                    0 => ch.to_ascii_uppercase(),
                    1 => ch.to_ascii_lowercase(),
                    _ => ch,
                };
                out.push(c);
            }
        }
    }
    if wrap {
        out.push_str(" */");
    }
    out.push_str(TRAILING[rng.below(TRAILING.len())]);
    out
}

fn decoratable(sql: &str) -> bool {
    !(sql.contains("/*") || sql.contains("--") || sql.contains('#') || sql.contains('\\'))
}

#[test]
fn property_writes_never_come_out_as_replica() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let writes: Vec<&str> = CORPUS
        .iter()
        .filter(|(_, r, _)| *r == M)
        .map(|(s, _, _)| *s)
        .chain([
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 'x' WHERE b = \"y\"",
            "DELETE FROM `select` WHERE `for` = 'update'",
            "REPLACE INTO t SELECT * FROM u",
            "SELECT * FROM t WHERE id = 1 FOR UPDATE",
            "SELECT * FROM t LOCK IN SHARE MODE",
            "SELECT @a := 1",
            "SELECT a INTO @x FROM t",
            "WITH c AS (SELECT 1) DELETE FROM t",
            "SET GLOBAL x = 1",
            "CREATE TEMPORARY TABLE tmp (a INT)",
            "CALL p(1, 'two')",
            "SELECT 1; DELETE FROM t",
        ])
        .collect();
    let mut checked = 0;
    for sql in writes {
        for _ in 0..200 {
            let d = if decoratable(sql) {
                decorate(sql, &mut rng)
            } else {
                format!("{}{}", LEADING[rng.below(LEADING.len())], sql)
            };
            let c = classify(d.as_bytes());
            assert_eq!(c.route, M, "{d:?} -> {c:?}");
            checked += 1;
        }
    }
    assert!(checked > 5_000);
}

#[test]
fn property_decorations_keep_route_and_kind() {
    let mut rng = Rng(42);
    for &(sql, route, kind) in CORPUS.iter().filter(|(s, _, _)| decoratable(s)) {
        for _ in 0..100 {
            let d = decorate(sql, &mut rng);
            let c = classify(d.as_bytes());
            assert_eq!((c.route, c.kind), (route, kind), "{d:?} -> {c:?}");
        }
    }
}

#[test]
fn property_reads_followed_by_a_write_go_to_master() {
    let mut rng = Rng(7);
    let tails = [
        "; DELETE FROM t",
        ";UPDATE t SET a=1",
        "; /* x */ INSERT INTO t VALUES (1)",
        ";\nSET GLOBAL x = 1",
        "; SELECT 1 FOR UPDATE",
    ];
    for &(sql, route, _) in CORPUS {
        if route != R {
            continue;
        }
        for tail in tails {
            let d = format!("{}{}", sql, tail);
            let c = classify(d.as_bytes());
            assert_eq!((c.route, c.multi), (M, true), "{d:?} -> {c:?}");
            let d = format!("{}; {}", tail.trim_start_matches(';'), sql);
            let c = classify(d.as_bytes());
            assert_eq!(c.route, M, "{d:?} -> {c:?}");
        }
        let _ = rng.next();
    }
}

// -----------------------------------------------------------------------
// Timing (run with: cargo test --release -- --ignored --nocapture)
// -----------------------------------------------------------------------

#[test]
#[ignore]
fn timing() {
    use std::hint::black_box;
    use std::time::Instant;
    fn bench(label: &str, stmts: &[&[u8]], iters: usize) {
        // warm up
        for s in stmts {
            black_box(classify(black_box(s)));
        }
        let t = Instant::now();
        for _ in 0..iters {
            for s in stmts {
                black_box(classify(black_box(s)));
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / (iters * stmts.len()) as f64;
        println!("{label:<44} {ns:>9.1} ns/statement");
    }
    let point: &[&[u8]] = &[b"SELECT c FROM sbtest1 WHERE id=5023"];
    let wp: &[&[u8]] =
        &[b"SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'"];
    let upd: &[&[u8]] = &[b"UPDATE sbtest1 SET k=k+1 WHERE id=5023"];
    let set: &[&[u8]] = &[b"SET NAMES utf8mb4"];
    let jdbc: &[&[u8]] = &[CORPUS
        .iter()
        .find(|c| c.0.contains("mysql-connector-java"))
        .unwrap()
        .0
        .as_bytes()];
    let wpcalc: &[&[u8]] = &[CORPUS
        .iter()
        .find(|c| c.0.contains("SQL_CALC_FOUND_ROWS"))
        .unwrap()
        .0
        .as_bytes()];
    let with: &[&[u8]] =
        &[b"WITH cte AS (SELECT id FROM t WHERE a = 1) SELECT * FROM cte JOIN u ON u.id = cte.id"];
    let escaped: &[&[u8]] = &[b"SELECT * FROM wp_posts WHERE post_title = 'Don\\'t stop' LIMIT 1"];
    let corpus_no_with: Vec<&[u8]> = CORPUS
        .iter()
        .filter(|c| !c.0.starts_with("WITH"))
        .map(|c| c.0.as_bytes())
        .collect();
    let corpus_all: Vec<&[u8]> = CORPUS.iter().map(|c| c.0.as_bytes()).collect();
    let mut bulk = b"INSERT INTO sbtest1 (id, k, c, pad) VALUES ".to_vec();
    while bulk.len() < 1 << 20 {
        bulk.extend_from_slice(b"(5010, 4994, '67847967377-48000963322-62604785301-91415491898', '22195207048-70116052123-74140395089'),");
    }
    bulk.pop();
    let mb = bulk.len() as f64 / (1 << 20) as f64;
    let t = Instant::now();
    for _ in 0..20 {
        black_box(classify(black_box(&bulk)));
    }
    println!(
        "{:<44} {:>9.1} ns/byte ({mb:.1} MiB bulk INSERT)",
        "bulk INSERT",
        t.elapsed().as_nanos() as f64 / 20.0 / bulk.len() as f64
    );
    bench("sysbench point select", point, 2_000_000);
    bench("WordPress autoload options", wp, 2_000_000);
    bench("sysbench UPDATE", upd, 2_000_000);
    bench("SET NAMES utf8mb4", set, 2_000_000);
    bench("JDBC connect SELECT @@... (330 bytes)", jdbc, 500_000);
    bench("WordPress SQL_CALC_FOUND_ROWS (230 bytes)", wpcalc, 500_000);
    bench("backslash-escaped string (2 readings)", escaped, 1_000_000);
    bench("WITH (sqlparser)", with, 20_000);
    bench("corpus without WITH (avg)", &corpus_no_with, 20_000);
    bench("whole corpus (avg)", &corpus_all, 20_000);
}

#[test]
fn record_keys() {
    let key = |s: &str| {
        let c = cl(s);
        assert!(c.record || c.record_key.is_none(), "{s}");
        c.record_key
    };
    assert!(key("SET NAMES utf8mb4").is_some());
    assert_eq!(key("SET NAMES utf8mb4"), key("set character set latin1"));
    assert_eq!(key("SET sql_mode = ''"), key("SET SESSION sql_mode='ANSI'"));
    assert_eq!(key("SET @@session.sql_mode = ''"), key("set sql_mode=1"));
    assert_eq!(key("SET @x = 1"), key("SET @x := 5"));
    assert_eq!(
        key("SET @X = 1"),
        key("SET @x = 1"),
        "user variables ignore case"
    );
    assert_ne!(key("SET @x = 1"), key("SET @y = 1"));
    assert_ne!(key("SET @sql_mode = 1"), key("SET sql_mode = 1"));
    assert_eq!(key("SET a = 1, b = 2"), None);
    // The key says what is assigned; whether the value reads variables is separate.
    assert!(key("SET @i = @i + 1").is_some());
    assert!(cl("SET @i = @i + 1").reads_vars);
    assert!(cl("SET @saved = @@sql_mode").reads_vars);
    assert!(!cl("SET sql_mode = 'ANSI'").reads_vars);
}

#[test]
fn read_only_starts_and_user_vars() {
    assert!(cl("START TRANSACTION READ ONLY").read_only_start);
    assert!(cl("start transaction with consistent snapshot, read only").read_only_start);
    assert!(cl("START /* c */ TRANSACTION READ -- x\n ONLY").read_only_start);
    assert!(!cl("START TRANSACTION READ WRITE").read_only_start);
    assert!(!cl("START TRANSACTION READ ONLY, READ WRITE").read_only_start);
    assert!(!cl("BEGIN").read_only_start);
    assert!(!cl("START TRANSACTION; INSERT INTO t (s) VALUES ('READ ONLY')").read_only_start);
    assert!(!cl("START TRANSACTION /* READ ONLY */").read_only_start);
    assert!(!cl("SELECT 'START TRANSACTION READ ONLY'").read_only_start);
    assert!(cl("SELECT @x").user_var_read);
    assert!(!cl("SELECT @@server_id").user_var_read);
    assert!(!cl("SELECT '@x'").user_var_read);
}

#[test]
fn multi_statement_kinds() {
    let c = cl("SELECT 1; SET @a = 1");
    assert!(c.kinds.contains(K::Set) && c.kinds.contains(K::Select));
    assert!(!c.record);
    let c = cl("use db; insert into t values (1)");
    assert!(c.kinds.contains(K::Use) && c.writes && c.use_db.is_none());
    assert!(!cl("SELECT 1; SELECT 2").kinds.contains(K::Set));
    assert_eq!(cl("USE `my db`").use_db.as_deref(), Some("my db"));
}

#[test]
fn kill_targets() {
    let k = |s: &str| cl(s).kill;
    assert_eq!(k("KILL 5"), Some(KillTarget::Connection(5)));
    assert_eq!(k("kill connection 7;"), Some(KillTarget::Connection(7)));
    assert_eq!(k("KILL QUERY 9"), Some(KillTarget::Query(9)));
    assert_eq!(k("KILL HARD QUERY 9"), Some(KillTarget::Query(9)));
    assert_eq!(k("/* app tag */ KILL 12"), Some(KillTarget::Connection(12)));
    assert_eq!(k("KILL /* x */ QUERY 12"), Some(KillTarget::Query(12)));
    assert_eq!(k("KILL -- c\n 12"), Some(KillTarget::Connection(12)));
    assert_eq!(k("KILL QUERY ID 9"), Some(KillTarget::Unsupported));
    assert_eq!(k("KILL USER app"), Some(KillTarget::Unsupported));
    assert_eq!(k("KILL"), Some(KillTarget::Unsupported));
    assert_eq!(k("KILL 5 6"), Some(KillTarget::Unsupported));
    assert_eq!(k("SELECT 1; KILL 5"), Some(KillTarget::Unsupported));
    assert_eq!(k("KILL 5; SELECT 1"), Some(KillTarget::Unsupported));
    assert_eq!(k("KILL /*!99999 QUERY */ 5"), Some(KillTarget::Unsupported));
    assert_eq!(k("SELECT 'KILL 5'"), None);
}

#[test]
fn values_only_the_master_can_reproduce() {
    for s in [
        "SET @t = UUID()",
        "SET @t = RAND()",
        "SET @t = NOW(6)",
        "SET @t = CURRENT_TIMESTAMP",
        "SET @t = SYSDATE()",
        "SET @t = CONNECTION_ID()",
        "SET @t = LAST_INSERT_ID()",
        "SET @t = @@server_id",
        "SET @t = (SELECT MAX(id) FROM t)",
    ] {
        let c = cl(s);
        assert_eq!((c.route, c.record), (M, false), "{s}");
        assert!(c.user_var_write && !c.master_only_state, "{s}");
    }
    let c = cl("SET @@session.timestamp = UNIX_TIMESTAMP()");
    assert!(!c.record && c.master_only_state);
    let c = cl("SET SESSION sql_mode = @@global.sql_mode");
    assert!(!c.record && c.master_only_state);
    assert!(!cl("SET GLOBAL sql_mode = ''").master_only_state);
    assert!(cl("SET @saved = @@sql_mode").record);
    assert!(cl("SET time_zone = '+00:00'").record);
    assert!(cl("SELECT CONNECTION_ID()").connection_id);
}

#[test]
fn digest_is_a_by_product_of_the_scan() {
    let d = |s: &str| cl(s).digest;
    assert_eq!(
        d("SELECT c FROM sbtest1 WHERE id=42"),
        d("select  c /* x */ from SBTEST1\n where id = 7")
    );
    assert_eq!(d("SELECT 'a'"), d("SELECT \"b\""));
    assert_eq!(
        d("SELECT 1.5, 2."),
        d("SELECT ?, ?"),
        "a decimal is one literal"
    );
    assert_ne!(d("SELECT t.a"), d("SELECT t"));
    assert_eq!(
        d("SELECT x'ff', B'01'"),
        d("SELECT 1, 2"),
        "hex and bit literals"
    );
    assert_ne!(d("SELECT x 'ff'"), d("SELECT 1"), "a name, then a string");
    assert_ne!(d("SELECT a FROM t"), d("SELECT b FROM t"));
    assert_ne!(d("SELECT ab FROM t"), d("SELECT a b FROM t"));
    assert_ne!(d("SELECT 1; SELECT 2"), d("SELECT 1"));
    assert_ne!(d("SELECT `a` FROM t"), d("SELECT `A` FROM t"));
}

#[test]
fn temporary_table_renames() {
    let r = |s: &str| cl(s).temp_ops;
    let pair = |a: &str, b: &str| vec![TempTableOp::Rename(vec![(a.into(), b.into())])];
    assert_eq!(
        r("ALTER TABLE tmp1 RENAME TO tmp1_r"),
        pair("tmp1", "tmp1_r")
    );
    assert_eq!(r("alter table `tmp1` rename as db.x"), pair("tmp1", "x"));
    assert_eq!(r("ALTER TABLE t ADD c INT, RENAME t2"), pair("t", "t2"));
    assert!(r("ALTER TABLE t RENAME COLUMN a TO b").is_empty());
    assert_eq!(
        r("RENAME TABLE a TO b, c TO d"),
        vec![TempTableOp::Rename(vec![
            ("a".into(), "b".into()),
            ("c".into(), "d".into())
        ])]
    );
    assert!(r("ALTER EVENT e RENAME TO f").is_empty());
}

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
fn a_read_only_start_inside_a_multi_statement_is_not_a_read() {
    let c = cl("SELECT SQL_CALC_FOUND_ROWS id FROM t1 LIMIT 1; SELECT FOUND_ROWS(); START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT");
    assert!(c.writes && !c.depends_on_previous && c.route == M, "{c:?}");
    let c = cl("SELECT 1; START TRANSACTION READ ONLY");
    assert!(c.writes && c.route == M, "{c:?}");
    assert!(!cl("START TRANSACTION READ ONLY").writes);
}

#[test]
fn databases_named_as_table_qualifiers() {
    let dbs = |s: &str| cl(s).databases;
    let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        dbs("SELECT * FROM blog_2.wp_posts WHERE id = 1"),
        v(&["blog_2"])
    );
    assert_eq!(
        dbs("select p.id from a.t1 p, c.t3 AS z, d.t4 w join `b``x`.t2 on p.id = t2.id"),
        v(&["a", "c", "d", "b`x"])
    );
    assert_eq!(dbs("INSERT INTO shop.orders VALUES (1)"), v(&["shop"]));
    assert_eq!(dbs("UPDATE shop.orders SET a.b = 1"), v(&["shop"]));
    assert_eq!(dbs("DELETE FROM shop.orders WHERE x.y = 2"), v(&["shop"]));
    assert_eq!(dbs("REPLACE INTO s.t SELECT * FROM s.u"), v(&["s"]));
    assert_eq!(dbs("CREATE TABLE x.t (a INT)"), v(&["x"]));
    assert_eq!(dbs("RENAME TABLE a.t TO b.t"), v(&["a", "b"]));
    assert_eq!(dbs("DESCRIBE info.t"), v(&["info"]));
    assert_eq!(dbs("CALL app.proc(1)"), v(&["app"]));
    assert_eq!(dbs("SELECT 1 FROM t; SELECT 2 FROM q.t"), v(&["q"]));
    assert_eq!(dbs("SELECT * FROM /*!50000 e.t */ x"), v(&["e"]));
    // Not databases: alias.column, numbers, system variables, strings, unqualified tables.
    for s in [
        "SELECT t.a, t.b FROM t WHERE t.c = 1.5",
        "SELECT @@session.sql_mode",
        "SELECT 'a.b' FROM t",
        "SELECT * FROM t1 JOIN t2 ON t1.id = t2.id",
        "SELECT a.b FROM t ORDER BY a.c DESC, a.d",
        "SELECT 1.5 FROM dual",
        "SELECT * FROM t WHERE a IN (SELECT x.y FROM z)",
    ] {
        assert!(dbs(s).is_empty(), "{s}: {:?}", dbs(s));
    }
    assert_eq!(
        dbs("SELECT * FROM t WHERE a IN (SELECT y FROM k.z)"),
        v(&["k"])
    );
    assert_eq!(
        dbs("SELECT * FROM db.from"),
        v(&["db"]),
        "a keyword as table name"
    );
    assert_eq!(dbs("SELECT * FROM a.t, a.u"), v(&["a"]), "each once");
    // Statements about a database itself.
    assert_eq!(dbs("CREATE DATABASE blog_21"), v(&["blog_21"]));
    assert_eq!(dbs("create schema if not exists `b``x`"), v(&["b`x"]));
    assert_eq!(dbs("DROP DATABASE IF EXISTS blog_22"), v(&["blog_22"]));
    assert_eq!(
        dbs("ALTER DATABASE shop CHARACTER SET utf8mb4"),
        v(&["shop"])
    );
    assert_eq!(dbs("SHOW CREATE DATABASE shop"), v(&["shop"]));
    assert!(dbs("SELECT DATABASE()").is_empty());
    assert!(dbs("SELECT SCHEMA(), 1").is_empty());
    assert!(dbs("SHOW DATABASES").is_empty());
}

#[test]
fn master_read_is_reported() {
    assert!(cl("SELECT LAST_INSERT_ID()").master_read);
    assert!(cl("SELECT @@identity").master_read);
    assert!(!cl("SELECT 1").master_read);
}
