//! Property tests for the routing invariant: a statement that writes (changes data, takes
//! locks, assigns session state that must live on the master, or changes server state) is
//! never routed to a replica, whatever comments, letter case, whitespace, string literals,
//! routing hints or executable-comment wrappers surround it.
//!
//! "Routed to a replica" is what the proxy's own routing function (`rwsplit::route::decide`,
//! the one the session calls for text queries, prepares and executes) answers, for a session
//! in each state a write could meet outside a transaction: fresh, after a statement on a
//! replica (previous-statement rules follow it there), with user variables on the master —
//! and under every route an operator's `[[rules]]` entry can give (`decide_with_rule`).

use proptest::prelude::*;
use proptest::sample::select;
use rwsplit::classify::{classify, Classification};
use rwsplit::route::{decide, decide_with_rule, Protocol, RoutingState, Target};
use rwsplit::rules::RouteTo;

/// Could the session send a statement with this classification to a replica?
fn may_reach_replica(c: &Classification) -> bool {
    let fresh = RoutingState::default();
    let mut after_replica = RoutingState::default();
    after_replica.last = Some(Target::Replica);
    let mut vars_on_master = after_replica.clone();
    vars_on_master.user_vars_on_master = true;
    [fresh, after_replica, vars_on_master].iter().any(|st| {
        [Protocol::Text, Protocol::Prepare, Protocol::Execute]
            .into_iter()
            .any(|p| {
                decide(c, st, p).target == Target::Replica
                    || [RouteTo::Master, RouteTo::Replica]
                        .into_iter()
                        .any(|r| decide_with_rule(c, st, p, Some(r)).target == Target::Replica)
            })
    })
}

/// Statements that write, with `{t}` for an identifier and `{v}` for a literal. Words are
/// separated by single spaces, which the decoration replaces; a literal or identifier never
/// contains a separator.
const WRITES: &[&str] = &[
    "INSERT INTO {t} VALUES ({v})",
    "INSERT INTO {t} (a, b) VALUES ({v}, {v}) ON DUPLICATE KEY UPDATE b = VALUES(b)",
    "INSERT INTO {t} SELECT * FROM {t} WHERE a = {v}",
    "INSERT IGNORE INTO {t} SET a = {v}",
    "UPDATE {t} SET a = {v} WHERE b = {v}",
    "UPDATE {t} JOIN {t} USING (id) SET a = {v}",
    "DELETE FROM {t} WHERE a = {v}",
    "DELETE {t} FROM {t} JOIN {t} USING (id) WHERE b = {v}",
    "REPLACE INTO {t} VALUES ({v})",
    "REPLACE {t} SET a = {v}",
    "CREATE TABLE {t} (a INT DEFAULT {v})",
    "CREATE TABLE {t} AS SELECT {v} AS a",
    "CREATE TEMPORARY TABLE {t} (a INT)",
    "CREATE OR REPLACE VIEW {t} AS SELECT {v}",
    "DROP TABLE IF EXISTS {t}",
    "ALTER TABLE {t} ADD COLUMN c INT DEFAULT {v}",
    "TRUNCATE TABLE {t}",
    "TRUNCATE {t}",
    "RENAME TABLE {t} TO {t}",
    "SELECT * FROM {t} WHERE a = {v} FOR UPDATE",
    "SELECT * FROM {t} WHERE a = {v} FOR UPDATE SKIP LOCKED",
    "SELECT * FROM {t} WHERE a = {v} FOR SHARE",
    "SELECT * FROM {t} WHERE a = {v} LOCK IN SHARE MODE",
    "SELECT a INTO @v FROM {t} WHERE b = {v}",
    "SELECT a FROM {t} WHERE b = {v} INTO @v",
    "SELECT * FROM {t} WHERE a = {v} INTO OUTFILE '/tmp/x'",
    "SELECT @v := {v}",
    "SELECT GET_LOCK({v}, 10)",
    "SELECT RELEASE_LOCK({v})",
    "SELECT NEXTVAL({t})",
    "SELECT NEXT VALUE FOR {t}",
    "SELECT * FROM (SELECT * FROM {t} FOR UPDATE) x WHERE a = {v}",
    "(SELECT a FROM {t} WHERE b = {v} FOR UPDATE)",
    "SELECT a FROM {t} UNION SELECT {v} FOR UPDATE",
    "WITH c AS (SELECT {v} AS a) DELETE FROM {t} WHERE a IN (SELECT a FROM c)",
    "WITH c AS (SELECT {v} AS a) UPDATE {t} JOIN c SET b = c.a",
    "WITH c AS (SELECT {v}) INSERT INTO {t} SELECT * FROM c",
    "WITH c AS (SELECT FOUND_ROWS()) DELETE FROM {t} WHERE a = {v}",
    "SELECT FOUND_ROWS(), GET_LOCK({v}, 1)",
    "SELECT ROW_COUNT() FROM {t} FOR UPDATE",
    "EXPLAIN ANALYZE DELETE FROM {t} WHERE a = {v}",
    "ANALYZE DELETE FROM {t} WHERE a = {v}",
    "LOAD DATA INFILE '/tmp/x' INTO TABLE {t}",
    "CALL p({v})",
    "DO GET_LOCK({v}, 1)",
    "LOCK TABLES {t} WRITE",
    "GRANT SELECT ON {t} TO u",
    "SET GLOBAL sql_mode = {v}",
    "SET @id = LAST_INSERT_ID()",
    "XA START 'x'",
    "HANDLER {t} OPEN",
    "SELECT {v}; DELETE FROM {t}",
    "SELECT {v} FROM {t}; UPDATE {t} SET a = {v}",
    "SELECT FOUND_ROWS(); DELETE FROM {t} WHERE a = {v}",
    "SELECT FOUND_ROWS(); START TRANSACTION READ ONLY",
    "SELECT {v}; START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT",
    "SELECT {v} FROM {t}; BEGIN",
];

const IDENTS: &[&str] = &[
    "t",
    "users",
    "db.t",
    "`select`",
    "`a``b`",
    "`db`.`for update`",
    "`--x`",
    "`/*c*/`",
    "`'`",
    "\"dq\"",
];

/// Literals, many with SQL-looking text, comment markers and quotes escaped both ways.
const LITERALS: &[&str] = &[
    "1",
    "-2.5e3",
    "NULL",
    "''",
    "'SELECT 1'",
    "'it''s'",
    "'it\\'s'",
    "'it\\'s; SELECT 1'",
    "'a\\\\'",
    "'-- x'",
    "'# x'",
    "'/* c */'",
    "'/*! SELECT */'",
    "'; SELECT * FROM t; '",
    "'rwsplit:replica'",
    "'`'",
    "'\"'",
    "\"SELECT \\\" 1\"",
    "\"it's\"",
    "\"x\"\"y\"",
    "X'DEADBEEF'",
    "0x2a",
    "_utf8mb4'SHOW TABLES'",
    "'\u{e9}t\u{e9}'",
];

/// Comments before the statement, routing hints included.
const LEADING: &[&str] = &[
    "",
    " ",
    "\n\t ",
    "/* app:checkout */ ",
    "/* multi\nline */",
    "/**/",
    "-- \n",
    "--\t\n",
    "#\n",
    "# rwsplit:replica\n",
    "-- rwsplit:replica\n",
    "/*rwsplit:replica*/",
    "/* RWSPLIT : Replica */\n",
    "/* rwsplit:master */",
    "/*+ BKA(t) */ ",
    "(",
];

/// What replaces each space between words.
const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    " /* c */ ",
    "/**/",
    " -- c\n",
    " --\n",
    " #c\n",
    "\n#\n",
];

const TRAILING: &[&str] = &[
    "",
    ";",
    " ; ",
    ";\n",
    "; -- end",
    ";/* end */",
    " # end",
    "\n-- end",
    "; ",
];

/// Executable-comment wrappers (all versions: a condition the server does not meet makes
/// the statement a no-op, which the classifier must still not send to a replica).
const WRAPS: &[(&str, &str)] = &[
    ("", ""),
    ("/*!40101 ", " */"),
    ("/*!", "*/"),
    ("/*M!100100 ", " */"),
    ("/*!99999 ", " */"),
];

/// How to dress one statement.
#[derive(Debug, Clone)]
struct Dress {
    idents: Vec<&'static str>,
    literals: Vec<&'static str>,
    /// Per letter outside literals and identifiers: flip the case?
    case: Vec<bool>,
    seps: Vec<&'static str>,
    leading: Vec<&'static str>,
    /// An optimizer-hint comment after the first word.
    opt_hint: bool,
    trailing: &'static str,
    wrap: (&'static str, &'static str),
}

fn dress() -> impl Strategy<Value = Dress> {
    (
        prop::collection::vec(select(IDENTS), 1..4),
        prop::collection::vec(select(LITERALS), 1..4),
        prop::collection::vec(any::<bool>(), 1..24),
        prop::collection::vec(select(SEPARATORS), 1..6),
        prop::collection::vec(select(LEADING), 0..4),
        any::<bool>(),
        select(TRAILING),
        select(WRAPS),
    )
        .prop_map(
            |(idents, literals, case, seps, leading, opt_hint, trailing, wrap)| Dress {
                idents,
                literals,
                case,
                seps,
                leading,
                opt_hint,
                trailing,
                wrap,
            },
        )
}

fn render(template: &str, d: &Dress) -> String {
    let (mut ti, mut vi, mut ci) = (0, 0, 0);
    let mut body = String::new();
    for (wi, word) in template.split(' ').enumerate() {
        if wi > 0 {
            body.push_str(d.seps[(wi - 1) % d.seps.len()]);
        }
        let mut rest = word;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("{t}") {
                body.push_str(d.idents[ti % d.idents.len()]);
                ti += 1;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("{v}") {
                body.push_str(d.literals[vi % d.literals.len()]);
                vi += 1;
                rest = r;
            } else {
                let ch = rest.chars().next().unwrap();
                let flip = d.case[ci % d.case.len()];
                ci += 1;
                body.push(if !flip {
                    ch
                } else if ch.is_ascii_uppercase() {
                    ch.to_ascii_lowercase()
                } else {
                    ch.to_ascii_uppercase()
                });
                rest = &rest[ch.len_utf8()..];
            }
        }
        if wi == 0 && d.opt_hint {
            body.push_str(" /*+ MAX_EXECUTION_TIME(1000) */");
        }
    }
    // An executable comment cannot hold a `*/` (it would end there) and a line comment
    // would swallow the closing `*/`: wrap only bodies without those.
    let (open, close) = if body.contains("*/") || body.contains("--") || body.contains('#') {
        ("", "")
    } else {
        d.wrap
    };
    let mut out: String = d.leading.concat();
    let opened_paren = out.ends_with('(');
    out.push_str(open);
    out.push_str(&body);
    out.push_str(close);
    if opened_paren {
        out.push(')');
    }
    out.push_str(d.trailing);
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The invariant itself.
    #[test]
    fn writes_never_reach_a_replica(template in select(WRITES), d in dress()) {
        let sql = render(template, &d);
        let c = classify(sql.as_bytes());
        prop_assert!(!may_reach_replica(&c), "{sql:?} -> {c:?}");
    }

    /// A read, however dressed, followed by a dressed write in the same query.
    #[test]
    fn a_write_after_reads_still_goes_to_the_master(
        template in select(WRITES),
        read in select(&[
            "SELECT {v}",
            "SELECT * FROM {t} WHERE a = {v}",
            "SHOW TABLES",
            "WITH c AS (SELECT {v}) SELECT * FROM c",
        ][..]),
        d1 in dress(),
        d2 in dress(),
    ) {
        let mut d1 = d1;
        // the read ends where the write starts
        d1.trailing = ";";
        let sql = format!("{}{}", render(read, &d1), render(template, &d2));
        let c = classify(sql.as_bytes());
        prop_assert!(!may_reach_replica(&c), "{sql:?} -> {c:?}");
    }
}

/// The rendering keeps what it is given (a sanity check of the generator itself).
#[test]
fn render_is_faithful() {
    let d = Dress {
        idents: vec!["`a``b`"],
        literals: vec!["'x y'"],
        case: vec![false],
        seps: vec![" "],
        leading: vec![],
        opt_hint: false,
        trailing: "",
        wrap: ("", ""),
    };
    assert_eq!(
        render("UPDATE {t} SET a = {v}", &d),
        "UPDATE `a``b` SET a = 'x y'"
    );
    let d = Dress {
        case: vec![true],
        seps: vec!["\n"],
        leading: vec!["/* c */", "("],
        opt_hint: false,
        trailing: ";",
        wrap: ("/*!40101 ", " */"),
        ..d
    };
    assert_eq!(
        render("SELECT {v}", &d),
        "/* c */(/*!40101 select\n'x y' */);"
    );
}
