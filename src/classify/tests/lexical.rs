//! What the lexer must get right whatever the statement: multi-statements, stored program
//! bodies, hints, executable comments, escapes, bytes that are not UTF-8, the digest.

use super::*;

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
    // The server fails on a NUL outside a string; the proxy does not guess what follows it.
    assert_eq!(b(b"SELECT\x001").route, M);
    assert_eq!(b(b"SELECT * FROM t LOCK\x00IN\x00SHARE MODE").route, M);
    assert_eq!(b(b"\x00DELETE FROM t").route, M);
    assert_eq!(b(b"SELECT 1;\x00").route, M);
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
    // Identifier quoting is normalized away, and quoted names fold case like bare ones.
    assert_eq!(d("SELECT `a` FROM t"), d("SELECT `A` FROM t"));
    assert_eq!(d("SELECT `a` FROM `t`"), d("SELECT A FROM T"));
}

// -----------------------------------------------------------------------
// Read as the server reads it (sql_lex.cc, and the client's character set)
// -----------------------------------------------------------------------

fn cs(sql: &[u8], set: &str) -> Classification {
    let charset = Charset::from_name(set);
    assert!(charset != Charset::UNKNOWN || set == "nosuch", "{set}");
    analyze_in(sql, &[], charset)
}

#[test]
fn numbers_end_where_the_server_ends_them() {
    // A keyword glued to a number is still the keyword.
    for sql in [
        "SELECT 1.5INTO @g",
        "SELECT 1e1INTO @g",
        "SELECT .5INTO @g",
        "SELECT 3e+1INTO @g",
        "SELECT 3E-1INTO @g",
        "SELECT 1.5e1INTO @g",
        "SELECT 1.INTO @g",
        "SELECT 1.5INTO OUTFILE 'out.txt'",
        "SELECT 1.5INTO DUMPFILE 'out.txt'",
        "SELECT * FROM t WHERE a=1.5FOR UPDATE",
        "SELECT 1 FROM t WHERE a = .5LOCK IN SHARE MODE",
    ] {
        let c = cl(sql);
        assert_eq!(c.route, M, "{sql:?} -> {c:?}");
        assert!(c.writes, "{sql:?}");
    }
    assert!(cl("SELECT 1.5INTO @g").user_var_write);
    // Digits followed by identifier bytes are an identifier, as on the server; so is whatever
    // follows `name.` directly.
    for sql in [
        "SELECT 12abc FROM t",
        "SELECT 0x1fINTO FROM t",
        "SELECT 1eINTO FROM t",
        "SELECT t.1e1INTO FROM t",
        "SELECT t.5INTO FROM t",
        "SELECT 1.5, .5, 1e-3, 0x1F, 0b01, x'ff' FROM t",
        "SELECT * FROM t WHERE a BETWEEN 1 AND 10",
    ] {
        assert_eq!(cl(sql).route, R, "{sql:?} -> {:?}", cl(sql));
    }
    // `1.5e` without exponent digits: the server turns it into a stray token; not guessed.
    assert_eq!(cl("SELECT 1.5eINTO @i").route, M);
    assert_eq!(cl("SELECT 1.5e+ 1").route, M);
    // The digest reads a number as one literal.
    assert_eq!(
        cl("SELECT 1.5e-3 FROM t").digest,
        cl("SELECT 7 FROM t").digest
    );
    assert_eq!(cl("SELECT .5 FROM t").digest, cl("SELECT 7 FROM t").digest);
}

#[test]
fn dash_dash_comments_follow_the_character_set() {
    // 0x7F is a control byte in utf8mb4 and latin1: `--` then starts a comment, and the quote
    // after it is commented out, so the INSERT is a statement of its own.
    let sql = b"SELECT 1 --\x7f '\n; INSERT INTO t VALUES (9) -- '";
    for set in ["utf8mb4", "latin1", "utf8mb3", "sjis"] {
        let c = cs(sql, set);
        assert!(c.multi && c.route == M && c.writes, "{set}: {c:?}");
    }
    // In cp1251 it is not: one string, one SELECT.
    let c = cs(sql, "cp1251");
    assert!(!c.multi, "{c:?}");
    // 0xA0 is whitespace in latin1 (so `--\xA0` is a comment) and a letter in utf8mb4.
    let sql = b"SELECT 1 --\xa0 '\n; INSERT INTO t VALUES (9) -- '";
    assert!(cs(sql, "latin1").multi);
    assert!(!cs(sql, "utf8mb4").multi);
    assert_eq!(cs(b"SELECT 1\xa0INTO @nb", "latin1").route, M);
    assert_eq!(cs(b"SELECT 1\xa0INTO @nb", "utf8mb4").route, R);
    // A NUL ends a line comment on the server (and then fails): not guessed either way.
    assert_eq!(cl("SELECT 1 -- x\0\nFROM t").route, M);
}

#[test]
fn double_byte_sets_hide_backslashes_and_backticks() {
    // In sjis 0x95 0x5C is one character, so of the two backslashes only the second escapes:
    // the quote after it does not end the string, the one after the space does, and the
    // INSERT is a statement of its own. In utf8mb4 `\\` is one escaped backslash and the
    // INSERT sits inside the second string.
    let sql = b"SELECT '\x95\\\\' '; INSERT INTO t VALUES (7) #'";
    for set in ["sjis", "cp932", "gbk"] {
        let c = cs(sql, set);
        assert!(c.multi && c.route == M && c.writes, "{set}: {c:?}");
    }
    for set in ["utf8mb4", "latin1", "ujis", "euckr", "big5"] {
        let c = cs(sql, set);
        assert!(!c.multi && c.route == R, "{set}: {c:?}");
    }
    // big5 leads start at 0xA1.
    let c = cs(b"SELECT '\xa4\\\\' '; INSERT INTO t VALUES (7) #'", "big5");
    assert!(c.multi && c.route == M, "{c:?}");
    for (sql, route) in [
        // The quote after 0x95 0x5C ends the string: INTO is a keyword.
        (&b"SELECT '\x95\\' INTO @s #'"[..], M),
        (b"SELECT 'a' FROM t WHERE b = '\x95\\'", R),
        // 0x95 0x60 is one character: the backtick after it ends the name.
        (b"SELECT `\x95`` FROM t", R),
        (b"SELECT `\x95`` FROM t; INSERT INTO t VALUES (1) -- `", M),
    ] {
        let c = cs(sql, "sjis");
        assert_eq!(c.route, route, "{sql:?} -> {c:?}");
    }
    // The same bytes in utf8mb4: the name does not end there (and the string would only end
    // under NO_BACKSLASH_ESCAPES, which the proxy cannot rule out: master either way).
    assert_eq!(cs(b"SELECT '\x95\\' INTO @s #'", "utf8mb4").route, M);
    assert_eq!(cs(b"SELECT `\x95`` FROM t", "utf8mb4").route, M);
    // Ordinary Japanese text in sjis reads as it should.
    assert_eq!(
        cs(b"SELECT * FROM t WHERE name = '\x93\xfa\x96\x7b'", "sjis").route,
        R
    );
}

#[test]
fn an_unknown_character_set_sends_high_bytes_to_the_master() {
    let unknown = |sql: &[u8]| analyze_in(sql, &[], Charset::UNKNOWN);
    assert_eq!(unknown(b"SELECT * FROM t WHERE a = 1").route, R);
    assert_eq!(unknown(b"SELECT * FROM t WHERE a = '\xc3\xa9'").route, M);
    assert_eq!(unknown(b"SELECT 1 --\x7f\nFROM t").route, M);
    assert_eq!(Charset::from_name("nosuch"), Charset::UNKNOWN);
    assert_eq!(Charset::from_name("UTF8"), Charset::from_name("utf8mb3"));
    assert_eq!(Charset::from_collation(8).name(), "latin1");
    assert_eq!(Charset::from_collation(45), Charset::UTF8MB4);
    assert_eq!(Charset::from_collation(13).name(), "sjis");
    assert_eq!(Charset::from_collation(0), Charset::UNKNOWN);
    // `[` quotes an identifier under sql_mode MSSQL; elsewhere it is a syntax error.
    assert_eq!(
        cl("SELECT [a'] FROM t; INSERT INTO t VALUES (1) -- ']").route,
        M
    );
}

#[test]
fn quoted_built_ins_are_the_built_ins() {
    for sql in [
        "SELECT `GET_LOCK`('q', 0)",
        "SELECT `get_lock`('q', 0)",
        "SELECT \"GET_LOCK\"('q', 0)",
        "SELECT `RELEASE_LOCK`('q')",
        "SELECT NEXTVAL(s), `NEXTVAL`(s)",
    ] {
        let c = cl(sql);
        assert!(c.route == M && c.writes, "{sql:?} -> {c:?}");
    }
    let c = cl("SELECT `LAST_INSERT_ID`()");
    assert!(c.route == M && c.master_read, "{c:?}");
    let c = cl("SET @r = `RAND`()");
    assert!(!c.record && c.route == M, "{c:?}");
    // A column that happens to be named like a function is not called.
    assert_eq!(cl("SELECT `get_lock` FROM t").route, R);
}

#[test]
fn assignments_anywhere_are_user_variable_writes() {
    for sql in [
        "DO @d := 7",
        "UPDATE t SET a = (@n := @n + 1)",
        "CALL p(@x := 1)",
    ] {
        let c = cl(sql);
        assert!(
            c.user_var_write && !c.record && c.route == M,
            "{sql:?} -> {c:?}"
        );
    }
    // In a SET the grammar knows what `:=` assigns.
    let c = cl("SET sql_mode := 'ANSI'");
    assert!(!c.user_var_write && c.record, "{c:?}");
}

#[test]
fn character_set_changes_are_reported() {
    let set = |sql: &str| cl(sql).charset.map(|c| c.name());
    assert_eq!(set("SET NAMES sjis"), Some("sjis"));
    assert_eq!(
        set("SET NAMES 'latin1' COLLATE 'latin1_bin'"),
        Some("latin1")
    );
    assert_eq!(set("SET CHARACTER SET gbk"), Some("gbk"));
    assert_eq!(set("SET CHARSET big5"), Some("big5"));
    assert_eq!(set("SET character_set_client = cp932"), Some("cp932"));
    assert_eq!(
        set("SET @@session.character_set_client = 'latin1'"),
        Some("latin1")
    );
    assert_eq!(set("SET sql_mode = '', NAMES utf8"), Some("utf8mb3"));
    assert_eq!(set("SET NAMES DEFAULT"), Some("unknown"));
    assert_eq!(set("SET character_set_client = @cs"), Some("unknown"));
    assert_eq!(set("EXECUTE IMMEDIATE 'SET NAMES latin1'"), Some("unknown"));
    assert_eq!(set("EXECUTE s"), Some("unknown"));
    assert_eq!(
        set("BEGIN NOT ATOMIC SET NAMES latin1; END"),
        Some("unknown")
    );
    assert_eq!(set("SET character_set_results = latin1"), None);
    assert_eq!(set("SET GLOBAL character_set_client = latin1"), None);
    assert_eq!(set("CALL p()"), None);
    // The statements after a SET NAMES in the same multi-statement are read in the new set:
    // with bytes that may read differently there, the proxy does not guess.
    let c = analyze_in(
        b"SET NAMES sjis; SELECT '\x95\\' '; SELECT 1 #'",
        &[],
        Charset::UTF8MB4,
    );
    assert_eq!(c.route, M);
    assert_eq!(cl("SET NAMES latin1; SET @a = 1").route, C);
}

#[test]
fn executable_comment_versions_are_five_or_six_digits() {
    // Fewer than five digits are no version: they are code.
    for sql in [
        "SELECT /*!1e1INTO */ @r",
        "SELECT /*!1e+1INTO */ @x",
        "SELECT /*!12 INTO */ @x",
        "SELECT /*M!1e1INTO @g */",
    ] {
        let c = cl(sql);
        assert!(c.route == M && c.user_var_write, "{sql:?} -> {c:?}");
    }
    assert_eq!(cl("SELECT /*!50001 1 */ FROM t").route, R);
    assert_eq!(cl("SELECT /*!100101 1 */ FROM t").route, R);
}

#[test]
fn a_multi_statement_about_the_previous_one_with_other_work_goes_to_the_master() {
    for sql in [
        "SELECT ROW_COUNT(); SET @x = 1",
        "SET @x = 1; SELECT FOUND_ROWS()",
        "SHOW WARNINGS; SET @nb9 = x'1F'",
        "SELECT FOUND_ROWS(); SELECT LAST_INSERT_ID()",
        "SET NAMES utf8mb4; SELECT FOUND_ROWS()",
    ] {
        let c = cl(sql);
        assert!(
            c.route == M && !c.depends_on_previous && !c.reads_found_rows,
            "{sql:?} -> {c:?}"
        );
    }
    // Reads about the previous statement alone still follow it.
    assert!(cl("SELECT FOUND_ROWS(); SELECT 1").depends_on_previous);
}

#[test]
fn every_reading_of_a_statement_counts_for_what_it_leaves() {
    // MariaDB skips the MySQL-only inner comment: `SELECT 12 INTO @s`.
    for sql in [
        "SELECT /*!12 INTO /*!50700 */ */ @s",
        "LOCK TABLES t READ;\nSELECT /*!1.5e3INTO /*!50700 */ */ /*M! @s */",
    ] {
        let c = cl(sql);
        assert!(c.route == M && c.user_var_write, "{sql:?} -> {c:?}");
    }
}

#[test]
fn about_the_previous_statement_only_in_every_reading() {
    let c = cl("SELECT ROW_COUNT(); /*M!SET @r = 1_0 */");
    assert!(c.route == M && !c.depends_on_previous, "{c:?}");
    let c = cl("SELECT FOUND_ROWS() /*!99999 , 1 */");
    assert!(c.depends_on_previous, "{c:?}");
}
