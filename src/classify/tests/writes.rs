//! Writes and DDL, temporary tables, the names a statement mentions (tables, databases),
//! and the kind labels.

use super::*;

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
