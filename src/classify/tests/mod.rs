//! Unit tests of the classifier, one file per statement family; the helpers and the corpus of
//! real drivers' statements they share are here.

use super::*;
use Kind as K;
use Route::{Current as C, Last as L, Master as M, Replica as R};

mod lexical;
mod names;
mod properties;
mod reads;
mod session_state;
mod writes;

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
