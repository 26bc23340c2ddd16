//! Session state: SET in its forms, USE, transactions, user variables, values only the
//! master can reproduce, KILL, and the keys of recorded SETs.

use super::*;

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
    // A function the proxy does not know may read tables: its value is taken once, on the
    // master; pure built-ins replay to the same value anywhere.
    set_case("SET @c = cnt()", M, false, true);
    set_case("SET @c = rwtest.cnt()", M, false, true);
    set_case("SET @c = `cnt`(1)", M, false, true);
    set_case("SET sql_select_limit = cnt()", M, false, false);
    assert!(cl("SET sql_select_limit = cnt()").master_only_state);
    set_case("SET @c = CONCAT('a', LOWER('B'))", C, true, true);
    set_case(
        "SET sql_mode = REPLACE(@@sql_mode, 'ANSI', '')",
        C,
        true,
        false,
    );
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
fn a_read_only_start_inside_a_multi_statement_is_not_a_read() {
    let c = cl("SELECT SQL_CALC_FOUND_ROWS id FROM t1 LIMIT 1; SELECT FOUND_ROWS(); START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT");
    assert!(c.writes && !c.depends_on_previous && c.route == M, "{c:?}");
    let c = cl("SELECT 1; START TRANSACTION READ ONLY");
    assert!(c.writes && c.route == M, "{c:?}");
    assert!(!cl("START TRANSACTION READ ONLY").writes);
}

#[test]
fn statements_the_session_must_follow_the_server_on() {
    // The server closes the connection after COMMIT/ROLLBACK RELEASE.
    assert!(cl("COMMIT RELEASE").release);
    assert!(cl("commit work and no chain release").release);
    assert!(cl("ROLLBACK RELEASE").release);
    assert!(!cl("COMMIT NO RELEASE").release);
    assert!(!cl("COMMIT").release);
    assert!(!cl("ROLLBACK TO SAVEPOINT release").release);
    // What runs inside them is not in their text.
    for sql in [
        "CALL p()",
        "EXECUTE s",
        "EXECUTE IMMEDIATE 'SET @x = 1'",
        "BEGIN NOT ATOMIC SET @c = 5; END",
    ] {
        assert!(cl(sql).opaque, "{sql}");
    }
    assert!(!cl("PREPARE s FROM 'SET @x = 1'").opaque);
    // Dropping a database: which one.
    assert_eq!(cl("DROP DATABASE shop").dropped_db.as_deref(), Some("shop"));
    assert_eq!(
        cl("DROP SCHEMA IF EXISTS `my db`").dropped_db.as_deref(),
        Some("my db")
    );
    assert_eq!(cl("DROP TABLE shop").dropped_db, None);
    // sql_auto_is_null makes `IS NULL` read the connection's last insert: master, pinned.
    let c = cl("SET sql_auto_is_null = 1");
    assert!(c.route == M && !c.record && c.master_only_state, "{c:?}");
}
