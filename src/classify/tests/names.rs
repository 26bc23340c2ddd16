//! Every database a statement names (`names.rs`), the per-statement digest keys and pattern
//! texts rules compare (`keys.rs`), and what rules cannot judge.

use super::*;

fn dbs(sql: &str) -> Vec<String> {
    cl(sql).databases
}

#[track_caller]
fn names(sql: &str, want: &[&str]) {
    let got = dbs(sql);
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "{sql}");
}

#[test]
fn every_statement_form_names_its_database() {
    for sql in [
        // Issue 23, several clusters: each of these ran on the wrong cluster.
        "CREATE TABLE IF NOT EXISTS s1.t (x INT)",
        "INSERT s1.t VALUES (1)",
        "INSERT IGNORE s1.t VALUES (1)",
        "INSERT LOW_PRIORITY IGNORE s1.t SET x = 1",
        "INSERT DELAYED s1.t VALUES (1)",
        "REPLACE s1.t VALUES (1)",
        "REPLACE LOW_PRIORITY s1.t SET x = 1",
        "CREATE INDEX ix ON s1.t (x)",
        "CREATE UNIQUE INDEX IF NOT EXISTS ix USING BTREE ON s1.t (x)",
        "DROP INDEX ix ON s1.t",
        "DROP INDEX IF EXISTS `PRIMARY` ON s1.t",
        "EXPLAIN s1.t",
        "DESC s1.t x",
        "SHOW TABLES FROM s1",
        "SHOW FULL TABLES IN s1 LIKE 'a%'",
        "SHOW TABLE STATUS FROM s1",
        "SHOW OPEN TABLES IN s1",
        "SHOW TRIGGERS FROM s1",
        "SHOW EVENTS IN s1",
        "SHOW CREATE VIEW s1.v",
        "SHOW CREATE PROCEDURE s1.p",
        "SHOW PROCEDURE CODE s1.p",
        "CREATE VIEW s1.v AS SELECT 1",
        "CREATE OR REPLACE ALGORITHM = MERGE DEFINER = `a`@`%` SQL SECURITY INVOKER VIEW s1.v (a) AS SELECT 1",
        "CREATE PROCEDURE s1.p() SELECT 1",
        "CREATE DEFINER=root@localhost PROCEDURE IF NOT EXISTS s1.p (IN a INT) BEGIN SELECT a; END",
        "CREATE FUNCTION s1.f() RETURNS INT RETURN 1",
        "CREATE AGGREGATE FUNCTION IF NOT EXISTS s1.f(x INT) RETURNS INT BEGIN RETURN 1; END",
        "SELECT s1.f()",
        "SELECT 1 + s1.f (2) AS x",
        "DO s1.f()",
        "SET @a = s1.f()",
        "CALL s1.p",
        "CALL s1.p(1, 2)",
        "CREATE TRIGGER s1.tr BEFORE INSERT ON s1.t FOR EACH ROW SET NEW.x = 1",
        "CREATE TRIGGER s1.tr AFTER DELETE ON s1.t FOR EACH ROW BEGIN END",
        "CREATE EVENT s1.e ON SCHEDULE EVERY 1 DAY DO DELETE FROM s1.t",
        "ALTER EVENT s1.e DISABLE",
        "DROP EVENT IF EXISTS s1.e",
        "CREATE SEQUENCE s1.sq",
        "DROP SEQUENCE IF EXISTS s1.sq",
        "SELECT NEXTVAL(s1.sq)",
        "SELECT NEXT VALUE FOR s1.sq",
        "SELECT PREVIOUS VALUE FOR s1.sq",
        "SELECT SETVAL(s1.sq, 10)",
        "DELETE t FROM s1.t t",
        "DELETE s1.t FROM s1.t",
        "DELETE QUICK IGNORE FROM s1.t WHERE x = 1",
        "DELETE FROM t1 USING t1, s1.t",
        "DELETE t1.* FROM t1 JOIN s1.t ON t1.x = t.x",
        "DROP TRIGGER IF EXISTS s1.x",
        "DROP VIEW IF EXISTS s1.x",
        "DROP TABLE IF EXISTS s1.x",
        "DROP TEMPORARY TABLE IF EXISTS s1.x",
        "DROP PROCEDURE IF EXISTS s1.p",
        "DROP FUNCTION s1.f",
        "DROP PACKAGE BODY s1.pk",
        "CREATE TABLE x LIKE s1.t",
        "CREATE TABLE x (LIKE s1.t)",
        "CREATE TABLE x AS SELECT * FROM s1.t",
        "CREATE TABLE x (a INT, FOREIGN KEY (a) REFERENCES s1.t (id) ON DELETE CASCADE)",
        "ALTER TABLE x ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES s1.t(id)",
        "ALTER TABLE x RENAME TO s1.x",
        "ALTER TABLE x EXCHANGE PARTITION p WITH TABLE s1.t",
        "RENAME TABLE x TO s1.x",
        "TRUNCATE s1.t",
        "TRUNCATE TABLE s1.t",
        "HANDLER s1.t OPEN",
        "HANDLER s1.t OPEN AS h",
        "LOCK TABLES x READ, s1.t WRITE",
        "FLUSH TABLES s1.t",
        "OPTIMIZE NO_WRITE_TO_BINLOG TABLE s1.t",
        "ANALYZE TABLE s1.t",
        "CHECKSUM TABLE x, s1.t",
        "CACHE INDEX s1.t IN kc",
        "LOAD INDEX INTO CACHE s1.t",
        "LOAD DATA LOCAL INFILE '/x' REPLACE INTO TABLE s1.t",
        "GRANT SELECT ON s1.* TO u@localhost",
        "GRANT INSERT, UPDATE (a) ON TABLE s1.t TO 'u'@'%'",
        "GRANT EXECUTE ON PROCEDURE s1.p TO u",
        "REVOKE ALL ON s1.* FROM u",
        "USE s1",
        "SELECT 1; USE s1",
        "SELECT * FROM (s1.t)",
        "SELECT * FROM ((s1.t))",
        "SELECT * FROM x JOIN (s1.t) ON 1",
        "SELECT * FROM x JOIN (y, (s1.t)) ON 1",
        "SELECT * FROM x LEFT JOIN (y JOIN s1.t ON y.a = t.a) ON x.a = y.a",
        "SELECT * FROM x, s1.t",
        "SELECT * FROM x AS a, s1.t",
        "SELECT * FROM x a USE INDEX (i) , s1.t",
        "SELECT * FROM x FORCE INDEX FOR JOIN (i), s1.t",
        "SELECT * FROM x IGNORE KEY FOR ORDER BY (i) JOIN s1.t",
        "SELECT * FROM x PARTITION (p0) AS y, s1.t",
        "SELECT * FROM x FOR SYSTEM_TIME ALL, s1.t",
        "SELECT * FROM x FOR SYSTEM_TIME AS OF TIMESTAMP '2020-01-01' JOIN s1.t",
        "SELECT * FROM { OJ x LEFT OUTER JOIN s1.t ON x.a = t.a }",
        "SELECT * FROM x JOIN y ON x.a = y.a, s1.t",
        "SELECT * FROM x JOIN y USING (a), s1.t",
        "SELECT * FROM x JOIN y ON CASE WHEN x.a THEN 1 ELSE 0 END = 1, s1.t",
        "SELECT * FROM x JOIN y ON VALUES(a) IS NULL, s1.t",
        "SELECT * FROM x JOIN y ON LEFT(x.a, 1) = y.b NATURAL JOIN s1.t",
        "SELECT * FROM x value, s1.t",
        "SELECT * FROM x offset, s1.t",
        "SELECT * FROM x do, s1.t",
        "SELECT * FROM x begin, s1.t",
        "SELECT * FROM x returning, s1.t",
        "SELECT * FROM x duplicate JOIN y ON duplicate = 1, s1.t",
        "SELECT * FROM (SELECT * FROM s1.t) d",
        "SELECT * FROM x WHERE a IN (SELECT b FROM s1.t)",
        "SELECT (SELECT 1 FROM s1.t LIMIT 1)",
        "SELECT a FROM x UNION SELECT a FROM s1.t",
        "(SELECT a FROM x) UNION (SELECT a FROM s1.t)",
        "WITH c AS (SELECT * FROM s1.t) SELECT * FROM c",
        "SELECT * FROM x STRAIGHT_JOIN s1.t",
        "SELECT x.a, s1.t.b FROM x, y",
        "UPDATE (s1.t) SET x = 1",
        "UPDATE LOW_PRIORITY IGNORE s1.t SET x = 1",
        "UPDATE x, s1.t SET x.a = t.a",
        "UPDATE x JOIN s1.t ON x.a = t.a SET x.b = 1",
        "INSERT INTO x SELECT * FROM s1.t",
        "INSERT INTO x (a) VALUES (1) ON DUPLICATE KEY UPDATE a = (SELECT 1 FROM s1.t)",
        "TABLE s1.t",
        "SELECT * FROM s1 . t",
        "SELECT * FROM s1./**/t",
        "SELECT * FROM /*!50000 s1.t */",
        "SELECT * FROM s1.`from`",
        "SET STATEMENT max_statement_time = 1 FOR SELECT * FROM s1.t",
        "ANALYZE SELECT * FROM s1.t",
        "ANALYZE FORMAT = JSON UPDATE s1.t SET x = 1",
        "EXPLAIN FORMAT=JSON DELETE FROM s1.t",
        "CREATE DATABASE s1",
        "CREATE SCHEMA IF NOT EXISTS s1",
        "DROP DATABASE IF EXISTS s1",
        "ALTER DATABASE s1 CHARACTER SET utf8mb4",
        "SHOW CREATE DATABASE s1",
        "SELECT * FROM x WHERE a = 1; DELETE FROM s1.t",
        "CREATE PROCEDURE p() BEGIN INSERT s1.t VALUES (1); END",
        "CREATE PROCEDURE p() BEGIN IF 1 THEN DELETE FROM s1.t; ELSE UPDATE s1.t SET a = 1; END IF; END",
        "BEGIN NOT ATOMIC INSERT s1.t VALUES (1); END",
        "PREPARE st FROM 'SELECT * FROM s1.t'",
        "EXECUTE IMMEDIATE 'INSERT s1.t VALUES (1)'",
        "PREPARE st FROM \"DELETE FROM s1.t\"",
    ] {
        names(sql, &["s1"]);
    }
    names("SHOW INDEX FROM t FROM s1", &["s1"]);
    names("SHOW COLUMNS IN t IN s1", &["s1"]);
    names("SHOW COLUMNS FROM s1.t", &["s1"]);
    names("SHOW KEYS FROM s1.t LIKE 'x'", &["s1"]);
    names("RENAME TABLE a.t TO b.t, c.u TO d.u", &["a", "b", "c", "d"]);
}

#[test]
fn every_quoting_names_its_database() {
    for sql in [
        "SELECT * FROM `s1`.t",
        "SELECT * FROM `s1`.`t`",
        "SELECT * FROM \"s1\".\"t\"",
        "SELECT * FROM \"s1\".t",
        "SELECT * FROM s1.\"t\"",
        "USE `s1`",
        "USE \"s1\"",
        "CREATE DATABASE \"s1\"",
        "SELECT \"s1\".\"t\".\"c\" FROM x",
        "SELECT \"s1\".\"f\"()",
        "INSERT \"s1\".\"t\" VALUES (1)",
    ] {
        names(sql, &["s1"]);
    }
    names("SELECT * FROM `a``b`.t", &["a`b"]);
    names("SELECT * FROM \"a\"\"b\".t", &["a\"b"]);
    names("SELECT * FROM `2024db`.t, 2025db.u", &["2024db", "2025db"]);
}

#[test]
fn aliases_columns_and_variables_are_not_databases() {
    for sql in [
        "SELECT t.a, t.b FROM t WHERE t.c = 1.5",
        "SELECT x.* FROM t x",
        "SELECT wp_posts.* FROM wp_posts WHERE ID IN (1,5,8)",
        "SELECT t.*, tt.*, tr.object_id FROM wp_terms AS t INNER JOIN wp_term_taxonomy AS tt ON t.term_id = tt.term_id INNER JOIN wp_term_relationships AS tr ON tr.term_taxonomy_id = tt.term_taxonomy_id WHERE tt.taxonomy IN ('category') ORDER BY t.name ASC",
        "SELECT \"base_table\".\"id\" AS \"id\" FROM \"path_alias\" \"base_table\" WHERE (\"base_table\".\"status\" = 1) ORDER BY \"base_table\".\"langcode\" ASC, \"base_table\".\"id\" DESC",
        "SELECT \"revision\".\"vid\" FROM \"node\" \"base\" INNER JOIN \"node_revision\" \"revision\" ON \"revision\".\"vid\" = \"base\".\"vid\" WHERE \"base\".\"nid\" IN (1, 2, 3)",
        "INSERT INTO \"cache_data\" (\"cid\", \"expire\") VALUES ('x', -1) ON DUPLICATE KEY UPDATE \"cid\" = VALUES(\"cid\"), \"expire\" = VALUES(\"expire\")",
        "INSERT INTO t VALUES (1, 2) AS new ON DUPLICATE KEY UPDATE a = new.a, b = new.b",
        "INSERT INTO t (a) SELECT u.a FROM u ON DUPLICATE KEY UPDATE a = u.a, b = u.b",
        "UPDATE t x SET x.a = 1, x.b = 2 WHERE x.c = 3",
        "UPDATE t JOIN u ON t.a = u.a SET t.b = u.b",
        "DELETE t1.*, t2.* FROM t1 JOIN t2 ON t1.a = t2.a",
        "DELETE t1 FROM t1 LEFT JOIN t2 ON t1.a = t2.a WHERE t2.a IS NULL",
        "SELECT * FROM t1 JOIN t2 ON t1.id = t2.id",
        "SELECT a.b FROM t ORDER BY a.c DESC, a.d",
        "SELECT * FROM t WHERE a IN (SELECT x.y FROM z)",
        "SELECT REPLACE(a.b, 'x', 'y'), t.c FROM t",
        "SELECT INSERT(a.b, 1, 1, 'x'), t.c FROM t",
        "SELECT TRUNCATE(t.a, 2), t.b FROM t",
        "SELECT CASE WHEN t.a THEN TRUNCATE(t.b, 1) ELSE t.c END, t.d FROM t",
        "SELECT nextval, t.a FROM t",
        "SELECT STRAIGHT_JOIN t.a FROM t",
        "SELECT @@session.sql_mode, @a.b, @`x`.y",
        "SET GLOBAL keycache1.key_buffer_size = 1",
        "SET @@default.key_buffer_size = 1",
        "GRANT SELECT ON t TO u@host.example.com",
        "SELECT 1.5, .5, 1e5, 0x1f FROM dual",
        "SELECT 'a.b' FROM t",
        "SELECT DATABASE(), SCHEMA()",
        "SHOW DATABASES",
        "SHOW FULL COLUMNS FROM `wp_options`",
        "SHOW INDEX FROM t",
        "ALTER DATABASE CHARACTER SET utf8mb4",
        "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = OLD.a",
        "CREATE TABLE t (a INT, b INT DEFAULT 1, INDEX ix (a), CHECK (t.a > 0))",
        "SELECT * FROM t FOR UPDATE",
        "SELECT a FROM t LOCK IN SHARE MODE",
        "SELECT JSON_EXTRACT(t.doc, '$.a') FROM t",
        "SELECT t.a FROM t WINDOW w AS (PARTITION BY t.b)",
        "SELECT a FROM t GROUP BY t.a WITH ROLLUP",
    ] {
        assert!(dbs(sql).is_empty(), "{sql}: {:?}", dbs(sql));
    }
}

#[test]
fn use_inside_a_multi_statement_is_reported() {
    let c = cl("SELECT 1; USE s1; SELECT * FROM cards");
    assert_eq!(c.databases, vec!["s1".to_string()]);
    assert_eq!(c.rule.last_use.as_deref(), Some("s1"));
    assert_eq!(c.use_db, None);
    let c = cl("USE a; USE `b`");
    assert_eq!(c.rule.last_use.as_deref(), Some("b"));
    assert_eq!(cl("USE s1").use_db.as_deref(), Some("s1"));
}

#[test]
fn string_tricks_report_the_names_of_every_reading() {
    // Under NO_BACKSLASH_ESCAPES the string ends at the backslash and s1.t is a table.
    let c = cl("SELECT 'a\\' , b FROM s1.t -- '");
    assert_eq!(c.databases, vec!["s1".to_string()]);
    // ANSI_QUOTES with backslash escapes in single quotes only: "a\" is an identifier.
    let c = cl("SELECT \"a\\\" , 'b' FROM s1.t -- \"");
    assert!(c.databases.contains(&"s1".to_string()), "{:?}", c.databases);
    // A version comment that only some servers run.
    assert_eq!(
        cl("SELECT 1 /*!99999 FROM s1.t */").databases,
        vec!["s1".to_string()]
    );
}

#[test]
fn what_rules_cannot_judge() {
    for sql in [
        "PREPARE s FROM 'SELECT 1'",
        "PREPARE s FROM @q",
        "EXECUTE s",
        "EXECUTE IMMEDIATE CONCAT('SELECT ', '1')",
        "SELECT 1; EXECUTE IMMEDIATE 'SELECT 1'",
        "SET STATEMENT max_statement_time = 1 FOR EXECUTE s",
        "SELECT 'unterminated",
    ] {
        let c = cl(sql);
        assert!(
            c.rule.text_unknown && c.rule.names_unknown,
            "{sql}: {:?}",
            c.rule
        );
    }
    for sql in [
        "CREATE PROCEDURE p() BEGIN SELECT 1; END",
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
        "BEGIN NOT ATOMIC SELECT 1; END",
    ] {
        let c = cl(sql);
        assert!(c.rule.text_unknown && !c.rule.names_unknown, "{sql}");
    }
    for sql in [
        "SELECT 1",
        "SELECT * FROM t; DELETE FROM u",
        "DEALLOCATE PREPARE s",
        "SELECT 'x' AS `PREPARE`",
    ] {
        let c = cl(sql);
        assert!(!c.rule.text_unknown && !c.rule.names_unknown, "{sql}");
    }
    // Nesting deeper than the scan tracks.
    let deep = format!("SELECT * FROM {}t{}", "(".repeat(40), ")".repeat(40));
    assert!(cl(&deep).rule.names_unknown);
}

fn key(sql: &str) -> u64 {
    let c = cl(sql);
    assert_eq!(c.rule.keys.len().min(1), 1, "{sql}: no key");
    c.rule.keys.first().unwrap()
}

#[test]
fn statement_keys_normalize_what_digest_rules_look_through() {
    let k = key("UPDATE cards SET num = 1 WHERE id = 2");
    for sql in [
        "update cards set num = ? where id = ?",
        "UPDATE cards SET num = 1 WHERE id = 2;",
        "UPDATE cards SET num = 1 WHERE id = 2 ;  -- bye",
        "UPDATE `cards` SET `num` = 1 WHERE `id` = 2",
        "/* hi */ UPDATE cards /* x */ SET num = 'x' WHERE id = 2e3",
        "SET STATEMENT max_statement_time = 10 FOR UPDATE cards SET num = 1 WHERE id = 2",
        "SET STATEMENT a = 1, b = (1) FOR ANALYZE UPDATE cards SET num = 1 WHERE id = 2",
        "ANALYZE UPDATE cards SET num = 1 WHERE id = 2",
        "ANALYZE FORMAT = JSON UPDATE cards SET num = 1 WHERE id = 2",
        "EXPLAIN ANALYZE UPDATE cards SET num = 1 WHERE id = 2",
        "/*!UPDATE cards SET num = 1 WHERE id = 2*/",
    ] {
        assert!(cl(sql).rule.keys.contains(k), "{sql}");
    }
    // Either side of a multi-statement.
    assert!(cl("SELECT 1; UPDATE cards SET num = 1 WHERE id = 2")
        .rule
        .keys
        .contains(k));
    assert!(cl("UPDATE cards SET num = 1 WHERE id = 2; SELECT 1")
        .rule
        .keys
        .contains(k));
    // Double quotes: a string, or (ANSI_QUOTES) the identifier.
    assert!(cl("UPDATE \"cards\" SET \"num\" = 1 WHERE \"id\" = 2")
        .rule
        .keys
        .contains(k));
    // Not the same statement.
    for sql in [
        "UPDATE cards SET num = 1",
        "UPDATE cards2 SET num = 1 WHERE id = 2",
        "EXPLAIN UPDATE cards SET num = 1 WHERE id = 2",
        "ANALYZE TABLE cards",
    ] {
        assert!(!cl(sql).rule.keys.contains(k), "{sql}");
    }
    assert_ne!(key("ANALYZE TABLE cards"), key("TABLE cards"));
    assert_ne!(key("SET a = 1"), key("a = 1"));
}

#[test]
fn pattern_texts_are_each_statement_without_comments() {
    let texts = |sql: &str| -> Vec<String> {
        let c = cl(sql);
        statement_texts(sql.as_bytes(), &c.rule)
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    };
    assert_eq!(
        texts("DELETE FROM wp_options;"),
        vec!["DELETE FROM wp_options"]
    );
    assert_eq!(
        texts("/* a */ DELETE /* b */ FROM\n  wp_options -- c\n;  SELECT a.b FROM t # d"),
        vec!["DELETE FROM wp_options", "SELECT a.b FROM t"]
    );
    assert_eq!(
        texts("ANALYZE DELETE FROM wp_options"),
        vec!["ANALYZE DELETE FROM wp_options", "DELETE FROM wp_options"]
    );
    assert_eq!(
        texts("SET STATEMENT x=1 FOR DELETE FROM wp_options"),
        vec![
            "SET STATEMENT x=1 FOR DELETE FROM wp_options",
            "DELETE FROM wp_options"
        ]
    );
    assert_eq!(
        texts("/*!DELETE FROM wp_options*/"),
        vec!["DELETE FROM wp_options"]
    );
    assert_eq!(
        texts("SELECT 'it''s /* not */ a comment'"),
        vec!["SELECT 'it''s /* not */ a comment'"]
    );
    // Every reading: under NO_BACKSLASH_ESCAPES the DELETE is a statement of its own.
    let t = texts("SELECT 'a\\'; DELETE FROM wp_options; -- '");
    assert!(t.contains(&"DELETE FROM wp_options".to_string()), "{t:?}");
}
