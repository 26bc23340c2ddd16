//! Property tests for block rules (`[[rules]] block`): a statement a block rule is written
//! against is blocked however it is spelled — every statement form that reaches the blocked
//! database, any quoting, comments, letter case, whitespace, executable comments, a trailing
//! `;`, either side of a multi-statement, a `SET STATEMENT ... FOR` or `ANALYZE` prefix, or
//! hidden in `PREPARE` / `EXECUTE IMMEDIATE`.
//!
//! "Blocked" is what the proxy's own rule check answers (`rwsplit::rules::Rules::check`, the
//! function the session calls for every text query and prepare) for the classifier's scan of
//! the text (`rwsplit::classify::classify`).

use proptest::prelude::*;
use proptest::sample::select;
use rwsplit::classify::classify;
use rwsplit::rules::{Action, RuleSpec, Rules, Subject};

fn rule(schema: Option<&str>, digest: Option<&str>, pattern: Option<&str>) -> Rules {
    Rules::compile(vec![RuleSpec {
        schema: schema.map(str::to_string),
        user: None,
        digest: digest.map(str::to_string),
        pattern: pattern.map(str::to_string),
        cluster: None,
        action: Action::Block("blocked".into()),
    }])
    .unwrap()
}

/// Does `rules` block `sql` for a session whose current database is `db`?
fn blocked(rules: &Rules, db: Option<&str>, sql: &str) -> bool {
    let c = classify(sql.as_bytes());
    let s = Subject {
        user: "app",
        db,
        db_maybe: None,
        named: true,
        classification: &c,
        sql: sql.as_bytes(),
    };
    matches!(
        rules.check(&s),
        Some((
            _,
            RuleSpec {
                action: Action::Block(_),
                ..
            }
        ))
    )
}

/// Statements that reach database `secretdb`: `{db}` is the database, `{q}` a table of it
/// (`{db}.{t}`). Words are separated by single spaces, which the dressing replaces.
const SCHEMA_FORMS: &[&str] = &[
    "SELECT * FROM {q}",
    "SELECT * FROM ( {q} )",
    "SELECT * FROM ( ( {q} ) )",
    "SELECT * FROM t1 JOIN ( {q} ) ON 1",
    "SELECT * FROM t1 , {q}",
    "SELECT * FROM t1 AS value , {q}",
    "SELECT * FROM t1 JOIN t2 ON t1.a = t2.a , {q}",
    "SELECT * FROM t1 JOIN t2 ON CASE WHEN t1.a THEN 1 ELSE 0 END , {q}",
    "SELECT * FROM t1 x USE INDEX ( i ) , {q}",
    "SELECT * FROM t1 FORCE INDEX FOR JOIN ( i ) JOIN {q} ON 1",
    "SELECT * FROM t1 LEFT JOIN ( t2 JOIN {q} ON 1 ) ON 1",
    "SELECT * FROM { OJ t1 LEFT OUTER JOIN {q} ON 1 }",
    "SELECT * FROM ( SELECT * FROM {q} ) d",
    "SELECT a FROM t1 WHERE a IN ( SELECT a FROM {q} )",
    "SELECT a FROM t1 UNION SELECT a FROM {q}",
    "( SELECT a FROM t1 ) UNION ( SELECT a FROM {q} )",
    "WITH c AS ( SELECT * FROM {q} ) SELECT * FROM c",
    "TABLE {q}",
    "SELECT {q}.num FROM t1",
    "SELECT {db}.f( 1 )",
    "SELECT NEXTVAL( {q} )",
    "HANDLER {q} OPEN",
    "HANDLER {q} OPEN AS h",
    "SHOW TABLES FROM {db}",
    "SHOW FULL TABLES IN {db}",
    "SHOW TABLE STATUS FROM {db}",
    "SHOW COLUMNS FROM {q}",
    "SHOW INDEX FROM cards FROM {db}",
    "SHOW CREATE TABLE {q}",
    "DESCRIBE {q}",
    "EXPLAIN {q}",
    "EXPLAIN SELECT * FROM {q}",
    "USE {db}",
    "SELECT 1 ; USE {db}",
    "USE {db} ; SELECT * FROM cards",
    "INSERT {q} VALUES ( 1 )",
    "INSERT INTO {q} VALUES ( 1 )",
    "INSERT IGNORE {q} VALUES ( 1 )",
    "INSERT LOW_PRIORITY IGNORE {q} SET num = 1",
    "INSERT DELAYED {q} VALUES ( 1 )",
    "REPLACE {q} VALUES ( 1 )",
    "REPLACE LOW_PRIORITY INTO {q} SET num = 1",
    "INSERT INTO t1 SELECT * FROM {q}",
    "UPDATE {q} SET num = 1",
    "UPDATE ( {q} ) SET num = 1",
    "UPDATE LOW_PRIORITY IGNORE {q} SET num = 1",
    "UPDATE t1 , {q} SET t1.a = 1",
    "UPDATE t1 JOIN {q} c ON t1.a = c.a SET t1.b = c.b",
    "DELETE FROM {q}",
    "DELETE QUICK IGNORE FROM {q} WHERE 1",
    "DELETE x FROM {q} x",
    "DELETE FROM t1 USING t1 , {q}",
    "DROP TABLE IF EXISTS {q}",
    "DROP TEMPORARY TABLE IF EXISTS {q}",
    "DROP VIEW IF EXISTS {db}.v",
    "DROP TRIGGER IF EXISTS {db}.tr",
    "DROP PROCEDURE IF EXISTS {db}.p",
    "TRUNCATE {q}",
    "TRUNCATE TABLE {q}",
    "CREATE TABLE x LIKE {q}",
    "CREATE TABLE x ( LIKE {q} )",
    "CREATE TABLE x AS SELECT * FROM {q}",
    "CREATE TABLE IF NOT EXISTS {q} ( a INT )",
    "CREATE INDEX ix ON {q} ( a )",
    "DROP INDEX ix ON {q}",
    "ALTER TABLE {q} ADD b INT",
    "RENAME TABLE t1 TO {q}",
    "CREATE VIEW {db}.v AS SELECT 1",
    "CREATE TRIGGER tr BEFORE INSERT ON {q} FOR EACH ROW SET NEW.a = 1",
    "CREATE TRIGGER {db}.tr AFTER UPDATE ON t1 FOR EACH ROW SET @a = 1",
    "CREATE PROCEDURE {db}.p ( ) SELECT 1",
    "CREATE PROCEDURE p ( ) BEGIN SELECT * FROM {q} ; END",
    "CREATE FUNCTION {db}.f ( ) RETURNS INT RETURN 1",
    "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM {q}",
    "CREATE DATABASE {db}",
    "DROP DATABASE IF EXISTS {db}",
    "ALTER DATABASE {db} CHARACTER SET utf8mb4",
    "LOCK TABLES {q} READ",
    "GRANT SELECT ON {db}.* TO u",
    "LOAD DATA INFILE '/tmp/x' INTO TABLE {q}",
    "CALL {db}.p ( )",
    "CALL {db}.p",
    "PREPARE s FROM @q",
    "EXECUTE s",
    "EXECUTE IMMEDIATE CONCAT( 'SELECT * FROM secret' , 'db.cards' )",
    // Under NO_BACKSLASH_ESCAPES the string ends at the backslash: the rest is a statement.
    "SELECT 'a\\' , num FROM {q} #'",
];

/// How the database is spelled.
const DBS: &[&str] = &["secretdb", "`secretdb`", "\"secretdb\""];
/// How a table of it is spelled.
const TABLES: &[&str] = &["cards", "`cards`", "\"cards\"", "`select`", "from"];
/// What stands between the database and the table.
const DOTS: &[&str] = &[".", " . ", "/**/./**/", "\n.\n"];

/// The statement a digest rule is written against, with `{t}` for an identifier and `{v}`
/// for a literal.
const DIGEST_FORM: &str = "UPDATE {t} SET {n} = {v} WHERE {i} = {v}";
const DIGEST_RULE: &str = "update cards set num = ? where id = ?";
const PATTERN_FORM: &str = "DELETE FROM {w}";
const PATTERN_RULE: &str = r"(?i)^\s*DELETE\s+FROM\s+wp_options\s*$";

const LITERALS: &[&str] = &[
    "1",
    "-2.5e3",
    "'x'",
    "'it''s'",
    "'a\\'b'",
    "\"s\"",
    "NULL",
    "0x2a",
    "X'DEADBEEF'",
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
    " #c\n",
];

const LEADING: &[&str] = &[
    "",
    " ",
    "\n",
    "/* app */ ",
    "-- x\n",
    "# x\n",
    "/*+ hint */ ",
];

const TRAILING: &[&str] = &["", ";", " ; ", ";\n", "; -- end", ";/* end */", " # end"];

/// Wrappers of the whole statement: executable comments, prefixes the server runs the
/// statement under, and the other statements of a multi-statement.
const WRAPS: &[(&str, &str)] = &[
    ("", ""),
    ("/*!", "*/"),
    ("/*!40101 ", " */"),
    ("/*M!100100 ", " */"),
    ("SET STATEMENT max_statement_time = 10 FOR ", ""),
    (
        "SET STATEMENT sql_mode = 'ANSI', max_statement_time = 1 FOR ",
        "",
    ),
    ("ANALYZE ", ""),
    ("ANALYZE FORMAT = JSON ", ""),
    ("SELECT 1; ", ""),
    ("SELECT 'x' FROM t1 WHERE a = ';'; ", ""),
    ("", "; SELECT 2"),
    ("DO 1; ", "; DO 2"),
];

/// Ways to run a statement's text without spelling it as a statement.
const HIDES: &[(&str, &str)] = &[
    ("", ""),
    ("PREPARE s FROM '", "'"),
    ("EXECUTE IMMEDIATE '", "'"),
    ("PREPARE s FROM \"", "\""),
];

#[derive(Debug, Clone)]
struct Dress {
    db: &'static str,
    table: &'static str,
    dot: &'static str,
    literals: Vec<&'static str>,
    /// Per letter outside names and literals: flip the case?
    case: Vec<bool>,
    seps: Vec<&'static str>,
    leading: &'static str,
    trailing: &'static str,
    wrap: (&'static str, &'static str),
    hide: (&'static str, &'static str),
}

fn dress() -> impl Strategy<Value = Dress> {
    (
        (select(DBS), select(TABLES), select(DOTS)),
        prop::collection::vec(select(LITERALS), 1..3),
        prop::collection::vec(any::<bool>(), 1..24),
        prop::collection::vec(select(SEPARATORS), 1..6),
        (select(LEADING), select(TRAILING)),
        select(WRAPS),
        select(HIDES),
    )
        .prop_map(
            |((db, table, dot), literals, case, seps, (leading, trailing), wrap, hide)| Dress {
                db,
                table,
                dot,
                literals,
                case,
                seps,
                leading,
                trailing,
                wrap,
                hide,
            },
        )
}

/// Renders a form: placeholders filled, words separated and letters flipped as `d` says,
/// then wrapped (and possibly hidden in a string that is run as SQL).
fn render(form: &str, d: &Dress, names: &[(&str, String)]) -> String {
    let (mut vi, mut ci) = (0, 0);
    let mut body = String::new();
    for (wi, word) in form.split(' ').enumerate() {
        if wi > 0 {
            body.push_str(d.seps[(wi - 1) % d.seps.len()]);
        }
        let mut rest = word;
        'chars: while !rest.is_empty() {
            for (k, v) in names {
                if let Some(r) = rest.strip_prefix(k) {
                    body.push_str(v);
                    rest = r;
                    continue 'chars;
                }
            }
            if let Some(r) = rest.strip_prefix("{v}") {
                body.push_str(d.literals[vi % d.literals.len()]);
                vi += 1;
                rest = r;
                continue;
            }
            let ch = rest.chars().next().unwrap();
            let flip = d.case[ci % d.case.len()];
            ci += 1;
            body.push(if flip && ch.is_ascii_alphabetic() {
                (ch as u8 ^ 0x20) as char
            } else {
                ch
            });
            rest = &rest[ch.len_utf8()..];
        }
    }
    // An executable comment cannot hold a `*/` (it would end there) and a line comment would
    // swallow the closing `*/`: wrap only bodies without those.
    let (open, close) = if d.wrap.0.starts_with("/*")
        && (body.contains("*/") || body.contains("--") || body.contains('#'))
    {
        ("", "")
    } else {
        d.wrap
    };
    let statement = format!("{open}{body}{close}");
    let text = match d.hide {
        ("", "") => statement,
        (open, close) => {
            // The text inside a string literal: its quote doubled.
            let q = close.chars().next().unwrap();
            let inner = statement.replace(q, &format!("{q}{q}"));
            format!("{open}{inner}{close}")
        }
    };
    format!("{}{}{}", d.leading, text, d.trailing)
}

fn schema_names(d: &Dress) -> Vec<(&'static str, String)> {
    vec![
        ("{q}", format!("{}{}{}", d.db, d.dot, d.table)),
        ("{db}", d.db.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// `schema = "secretdb"`: nothing that names it gets through, whatever the session's
    /// current database.
    #[test]
    fn a_schema_block_holds_for_every_spelling(
        form in select(SCHEMA_FORMS),
        d in dress(),
        current in select(&[None, Some("shop")][..]),
    ) {
        let rules = rule(Some("secretdb"), None, None);
        let sql = render(form, &d, &schema_names(&d));
        let c = classify(sql.as_bytes());
        prop_assert!(blocked(&rules, current, &sql), "{sql:?} -> {:?} {:?}", c.databases, c.rule);
    }

    /// `digest = "update cards set num = ? where id = ?"`.
    #[test]
    fn a_digest_block_holds_for_every_spelling(
        d in dress(),
        t in select(&["cards", "`cards`", "\"cards\"", "CARDS"][..]),
        n in select(&["num", "`num`", "\"num\""][..]),
        i in select(&["id", "`id`", "\"id\""][..]),
    ) {
        let rules = rule(None, Some(DIGEST_RULE), None);
        let names = vec![("{t}", t.to_string()), ("{n}", n.to_string()), ("{i}", i.to_string())];
        let mut d = d;
        if names.iter().any(|(_, v)| v.contains('"')) {
            // Where double quotes are identifiers (ANSI_QUOTES), "s" is a column, not a
            // literal: another statement.
            d.literals.retain(|l| !l.starts_with('"'));
            d.literals.push("2");
        }
        let sql = render(DIGEST_FORM, &d, &names);
        let c = classify(sql.as_bytes());
        prop_assert!(blocked(&rules, None, &sql), "{sql:?} -> {:?}", c.rule);
    }

    /// The README's own pattern: DELETE without WHERE on wp_options.
    #[test]
    fn a_pattern_block_holds_for_every_spelling(
        d in dress(),
        w in select(&["wp_options", "`wp_options`", "\"wp_options\""][..]),
    ) {
        let rules = rule(None, None, Some(PATTERN_RULE));
        let sql = render(PATTERN_FORM, &d, &[("{w}", w.to_string())]);
        let c = classify(sql.as_bytes());
        prop_assert!(blocked(&rules, None, &sql), "{sql:?} -> {:?}", c.rule);
    }
}

/// The blocks do not catch what they are not about (a check of the tests' own rules, so the
/// properties above do not pass by blocking everything).
#[test]
fn the_rules_let_other_statements_through() {
    let schema = rule(Some("secretdb"), None, None);
    let digest = rule(None, Some(DIGEST_RULE), None);
    let pattern = rule(None, None, Some(PATTERN_RULE));
    for sql in [
        "SELECT * FROM shop.cards",
        "SELECT secretdb.num FROM cards secretdb",
        "SELECT 'secretdb.cards'",
        "UPDATE cards SET num = 1 WHERE id = 2 AND x = 3",
        "DELETE FROM wp_options WHERE option_name = 'x'",
        "SELECT 1; SELECT 2",
    ] {
        for rules in [&schema, &digest, &pattern] {
            assert!(!blocked(rules, Some("shop"), sql), "{sql}");
        }
    }
}

/// The rendering keeps what it is given (a sanity check of the generator itself).
#[test]
fn render_is_faithful() {
    let d = Dress {
        db: "`secretdb`",
        table: "cards",
        dot: ".",
        literals: vec!["'x y'"],
        case: vec![false],
        seps: vec![" "],
        leading: "",
        trailing: "",
        wrap: ("", ""),
        hide: ("", ""),
    };
    assert_eq!(
        render("SELECT * FROM {q} WHERE a = {v}", &d, &schema_names(&d)),
        "SELECT * FROM `secretdb`.cards WHERE a = 'x y'"
    );
    let d = Dress {
        case: vec![true],
        seps: vec!["\n"],
        wrap: ("SELECT 1; ", ""),
        hide: ("PREPARE s FROM '", "'"),
        trailing: ";",
        ..d
    };
    assert_eq!(
        render("USE {db}", &d, &schema_names(&d)),
        "PREPARE s FROM 'SELECT 1; use\n`secretdb`';"
    );
}
