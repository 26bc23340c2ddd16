//! Query rules (`[[rules]]` in proxy.toml): ProxySQL-style, checked in order, the first rule
//! whose match keys all hold decides what happens to a statement.
//!
//! A rule is compiled once per configuration load (its regular expression built, its digest
//! text turned into the digest key the classifier computes), so checking a statement costs
//! no parse and no allocation: a string compare for `user`, a glob over the database names for
//! `schema`, an integer compare for `digest`, and a regex run only for rules that have a
//! `pattern`. Everything a rule looks at comes from the classifier's one scan of the statement
//! (`classify::Classification`) and the session; nothing here reads SQL.
//!
//! Hit counters live with the compiled rules. A reload keeps the count of a rule that is still
//! at the same position with the same text ([`Rules::inherit_hits`]); any other rule starts
//! from zero.

use std::cell::OnceCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::classify::{self, Classification};

/// A blocked statement gets this error: ER_NOT_ALLOWED_COMMAND (1148), SQLSTATE 42000, the
/// code ProxySQL answers its blocking rules with, so clients and runbooks that know ProxySQL's
/// blocks recognise rwsplit's.
pub const BLOCK_ERROR_CODE: u16 = 1148;
/// SQLSTATE of the block error.
pub const BLOCK_SQLSTATE: &[u8; 5] = b"42000";

/// Where a rule sends the statements it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteTo {
    /// `route = "master"`: reads too.
    Master,
    /// `route = "replica"`: reads only. The router keeps on the master whatever must run there
    /// (writes, transactions, locking reads, the master connection's own state); see
    /// `route::decide_with_rule`.
    Replica,
}

impl RouteTo {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteTo::Master => "master",
            RouteTo::Replica => "replica",
        }
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `route = ...`, on the rule's cluster (`cluster = NAME`, "main" without one).
    Route(RouteTo),
    /// `cluster = NAME` alone: that cluster with read/write splitting (for "main", as if no
    /// rule matched — but the rules after it are not checked).
    Split,
    /// `block = "message"`: the client gets error 1148 (SQLSTATE 42000) with this message;
    /// nothing reaches a backend.
    Block(String),
}

/// One rule as written in the file, validated (types, one action, a known cluster) but not
/// compiled yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    /// `schema`: a glob (`*` any run, `?` one character, case-sensitive) on the database a
    /// statement touches: the session's current one, the one a `USE` selects, or one it names
    /// as `db.table`.
    pub schema: Option<String>,
    /// `user`: the session's user, exactly.
    pub user: Option<String>,
    /// `digest`: a normalized statement as `SHOW DIGESTS` prints it (any statement text with
    /// the same digest works too).
    pub digest: Option<String>,
    /// `pattern`: a regular expression (the `regex` crate's syntax) searched in the statement
    /// text.
    pub pattern: Option<String>,
    /// `cluster`: the cluster the statement runs on — "main" (the top-level `[master]` and
    /// `[[replicas]]`) or a `[[clusters]]` name; `None` is "main".
    pub cluster: Option<String>,
    pub action: Action,
}

/// Why a rule cannot be compiled, and which of its keys is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub key: &'static str,
    pub message: String,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    spec: RuleSpec,
    pattern: Option<regex::bytes::Regex>,
    /// The key of the rule's text as a whole (what `SHOW DIGESTS` groups by), and the key of
    /// its statement as each statement of a checked text is keyed (`None` when the rule's
    /// text is several statements: it then matches that whole text only).
    digest: Option<(u64, Option<u64>)>,
    hits: AtomicU64,
}

/// Whether a rule matches a statement: `Maybe` when a key of the rule needs text the
/// statement hides (`PREPARE ... FROM`, `EXECUTE`, a stored-program body, an unreadable text;
/// see `classify::RuleFacts`). A block rule that may match blocks: blocks fail closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    No,
    Maybe,
    Yes,
}

impl Rule {
    /// Builds the rule's regular expression and digest key: the only place either is made.
    pub fn compile(spec: RuleSpec) -> Result<Rule, RuleError> {
        let pattern = match &spec.pattern {
            Some(p) => Some(regex::bytes::Regex::new(p).map_err(|e| RuleError {
                key: "pattern",
                message: regex_problem(&e),
            })?),
            None => None,
        };
        // The classifier's own key of the rule's text: the same function that keys every
        // statement, so a rule compares one integer per statement.
        let digest = spec.digest.as_deref().map(|d| {
            let c = classify::classify(d.as_bytes());
            (c.digest, c.rule.keys.first().filter(|_| !c.multi))
        });
        Ok(Rule {
            spec,
            pattern,
            digest,
            hits: AtomicU64::new(0),
        })
    }

    /// Does the rule match `s`? `texts` holds each statement's text as `pattern` rules see
    /// it, made at most once per statement and only if a pattern needs it.
    fn matches(&self, s: &Subject<'_>, texts: &OnceCell<Vec<Vec<u8>>>) -> Match {
        let c = s.classification;
        // A scan that left out names or keys (`classify::analyze_with`) judges nothing.
        let text_unknown = c.rule.text_unknown || !c.rule.scanned;
        let names_unknown = c.rule.names_unknown || !c.rule.scanned;
        let mut maybe = false;
        if let Some(user) = &self.spec.user {
            if user != s.user {
                return Match::No;
            }
        }
        if let Some((whole, statement)) = self.digest {
            let hit = c.digest == whole || statement.is_some_and(|k| c.rule.keys.contains(k));
            if !hit {
                if !text_unknown && c.rule.keyed {
                    return Match::No;
                }
                maybe = true;
            }
        }
        if let Some(glob) = &self.spec.schema {
            let g = glob.as_bytes();
            let named = c.databases.iter().map(String::as_str);
            let named = c.use_db.as_deref().into_iter().chain(named);
            let mut touched =
                s.db.into_iter()
                    .chain(s.db_maybe)
                    .chain(named.filter(|_| s.named));
            if !touched.any(|db| glob_match(g, db.as_bytes())) {
                if !(s.named && names_unknown) {
                    return Match::No;
                }
                maybe = true;
            }
        }
        if let Some(re) = &self.pattern {
            let hit = re.is_match(s.sql)
                || texts
                    .get_or_init(|| classify::statement_texts(s.sql, &c.rule))
                    .iter()
                    .any(|t| re.is_match(t));
            if !hit {
                if !text_unknown {
                    return Match::No;
                }
                maybe = true;
            }
        }
        if maybe {
            Match::Maybe
        } else {
            Match::Yes
        }
    }

    fn blocks(&self) -> bool {
        matches!(self.spec.action, Action::Block(_))
    }
}

/// The one line of a regex error that says what is wrong (the crate's message spans several
/// lines, with the pattern and a caret; a config problem is one line).
fn regex_problem(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => {
            let what = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .unwrap_or("syntax error")
                .trim();
            format!("invalid regular expression: {what}")
        }
        regex::Error::CompiledTooBig(limit) => {
            format!("regular expression too big once compiled (over {limit} bytes)")
        }
        other => format!("invalid regular expression: {other}"),
    }
}

/// What a rule is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The session's user.
    pub user: &'a str,
    /// The session's current database.
    pub db: Option<&'a str>,
    /// Another database the session may be in: a multi-statement with a `USE` ended in an
    /// error, and whether the `USE` ran is not known. Rules judge against both.
    pub db_maybe: Option<&'a str>,
    /// Whether the databases the statement names (`USE db`, `db.table`) count as touched
    /// too; false asks about `db` alone (which cluster owns a database).
    pub named: bool,
    /// The classifier's scan of the statement.
    pub classification: &'a Classification,
    /// The statement text.
    pub sql: &'a [u8],
}

/// The compiled rules of one configuration, in file order. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Rules {
    rules: Arc<[Rule]>,
}

impl Rules {
    /// Compiles every rule; the first error comes with the rule's index.
    pub fn compile(specs: Vec<RuleSpec>) -> Result<Rules, (usize, RuleError)> {
        let rules = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| Rule::compile(spec).map_err(|e| (i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rules {
            rules: rules.into(),
        })
    }

    /// The set of rules compiled one by one (configuration validation reports every bad
    /// rule, not only the first).
    pub fn new(rules: Vec<Rule>) -> Rules {
        Rules {
            rules: rules.into(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The first rule that matches (its 0-based position and what it says), counting the hit.
    /// A block rule that may match a statement whose text or names it cannot judge (see
    /// [`Match`]) is the first that matches: blocks fail closed. Other rules decide only when
    /// they certainly match.
    pub fn check(&self, s: &Subject<'_>) -> Option<(usize, &RuleSpec)> {
        let texts = OnceCell::new();
        let (i, rule) =
            self.rules
                .iter()
                .enumerate()
                .find(|(_, r)| match r.matches(s, &texts) {
                    Match::Yes => true,
                    Match::Maybe => r.blocks(),
                    Match::No => false,
                })?;
        rule.hits.fetch_add(1, Ordering::Relaxed);
        Some((i, &rule.spec))
    }

    /// The first rule that certainly matches, without counting a hit: a question about the
    /// rules (which cluster owns a database), not a statement routed by them.
    pub fn find(&self, s: &Subject<'_>) -> Option<(usize, &RuleSpec)> {
        let texts = OnceCell::new();
        let (i, rule) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(s, &texts) == Match::Yes)?;
        Some((i, &rule.spec))
    }

    /// What the classifier must scan statements for, for these rules: names for any rule (the
    /// flags of what a rule cannot judge come with them), digest keys for `digest` rules.
    pub fn extras(&self) -> classify::Extras {
        classify::Extras {
            names: !self.rules.is_empty(),
            keys: self.rules.iter().any(|r| r.digest.is_some()),
        }
    }

    /// True if any rule names `cluster` (a cluster a rule sends statements to cannot be
    /// removed).
    pub fn name_cluster(&self, cluster: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.spec.cluster.as_deref() == Some(cluster))
    }

    /// The rules as written, with their hit counts (admin `SHOW RULES`).
    pub fn list(&self) -> impl Iterator<Item = (&RuleSpec, u64)> {
        self.rules
            .iter()
            .map(|r| (&r.spec, r.hits.load(Ordering::Relaxed)))
    }

    /// After a reload: a rule unchanged at the same position keeps its count.
    pub fn inherit_hits(&self, old: &Rules) {
        for (new, old) in self.rules.iter().zip(old.rules.iter()) {
            if new.spec == old.spec {
                new.hits
                    .store(old.hits.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
    }

    /// Identity of this compiled set: a prepared statement remembers which set decided its
    /// rule and checks again when a reload brought another one.
    pub fn same_as(&self, other: &Rules) -> bool {
        Arc::ptr_eq(&self.rules, &other.rules)
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| &r.spec))
            .finish()
    }
}

/// Two rule sets are equal when they were compiled from the same text (a reload that changes
/// no rule is no change).
impl PartialEq for Rules {
    fn eq(&self, other: &Rules) -> bool {
        self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(other.rules.iter())
                .all(|(a, b)| a.spec == b.spec)
    }
}

impl Eq for Rules {}

/// `*` matches any run of bytes (also none), `?` exactly one character; everything else
/// matches itself, case-sensitively (MariaDB database names on Linux are case-sensitive).
/// Iterative with one backtrack point: linear in practice, never recursive.
pub fn glob_match(glob: &[u8], text: &[u8]) -> bool {
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(b'?') => {
                g += 1;
                t += utf8_len(text[t]);
            }
            Some(&c) if c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    g = sg + 1;
                    t = st + utf8_len(text[st]);
                    star = Some((sg, t));
                }
                None => return false,
            },
        }
    }
    glob[g.min(glob.len())..].iter().all(|&c| c == b'*')
}

/// Bytes of the UTF-8 character starting with `b` (1 for anything malformed), so `?` is one
/// character of a name, not one byte.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: Action) -> RuleSpec {
        RuleSpec {
            schema: None,
            user: None,
            digest: None,
            pattern: None,
            cluster: None,
            action,
        }
    }

    fn subject<'a>(
        user: &'a str,
        db: Option<&'a str>,
        c: &'a Classification,
        sql: &'a str,
    ) -> Subject<'a> {
        Subject {
            user,
            db,
            db_maybe: None,
            named: true,
            classification: c,
            sql: sql.as_bytes(),
        }
    }

    fn check(rules: &Rules, user: &str, db: Option<&str>, sql: &str) -> Option<(usize, Action)> {
        let c = classify::classify(sql.as_bytes());
        rules
            .check(&subject(user, db, &c, sql))
            .map(|(i, r)| (i, r.action.clone()))
    }

    #[test]
    fn globs() {
        let m = |g: &str, t: &str| glob_match(g.as_bytes(), t.as_bytes());
        assert!(m("blog_2*", "blog_2") && m("blog_2*", "blog_20") && m("blog_2*", "blog_2_x"));
        assert!(!m("blog_2*", "blog_1") && !m("blog_2*", "xblog_2"));
        assert!(m("b?g", "bug") && !m("b?g", "bg") && !m("b?g", "bugg"));
        assert!(m("b?g", "bäg"), "? is one character");
        assert!(m("*", "") && m("*", "anything") && m("", "") && !m("", "a"));
        assert!(m("a*b*c", "aXXbYYc") && !m("a*b*c", "aXXbYY"));
        assert!(m("*_log", "app_log") && !m("*_log", "app_logs"));
        assert!(
            !m("Shop", "shop"),
            "case-sensitive like database names on Linux"
        );
        assert!(m("a**", "a") && m("**a", "ba"));
    }

    #[test]
    fn first_match_wins_and_all_keys_must_hold() {
        let rules = Rules::compile(vec![
            RuleSpec {
                user: Some("reports".into()),
                schema: Some("shop*".into()),
                ..spec(Action::Route(RouteTo::Replica))
            },
            RuleSpec {
                user: Some("reports".into()),
                ..spec(Action::Route(RouteTo::Master))
            },
            RuleSpec {
                pattern: Some(r"(?i)^\s*DELETE\s+FROM\s+wp_options\s*$".into()),
                ..spec(Action::Block("no".into()))
            },
        ])
        .unwrap();
        let sel = "SELECT * FROM t";
        assert_eq!(
            check(&rules, "reports", Some("shop_1"), sel),
            Some((0, Action::Route(RouteTo::Replica)))
        );
        assert_eq!(
            check(&rules, "reports", Some("blog"), sel),
            Some((1, Action::Route(RouteTo::Master))),
            "schema does not hold: the next rule"
        );
        assert_eq!(
            check(&rules, "reports", None, "SELECT * FROM shop_2.t"),
            Some((0, Action::Route(RouteTo::Replica))),
            "a database named as db.table"
        );
        assert_eq!(
            check(&rules, "reports", None, "USE shop_3"),
            Some((0, Action::Route(RouteTo::Replica))),
            "the database a USE selects"
        );
        assert_eq!(
            check(&rules, "app", Some("shop_1"), sel),
            None,
            "user is exact"
        );
        assert_eq!(check(&rules, "report", None, sel), None);
        assert_eq!(
            check(&rules, "app", None, "delete from WP_OPTIONS "),
            Some((2, Action::Block("no".into())))
        );
        assert_eq!(
            check(&rules, "app", None, "DELETE FROM wp_options WHERE a=1"),
            None
        );
        let hits: Vec<u64> = rules.list().map(|(_, h)| h).collect();
        assert_eq!(hits, vec![3, 1, 1]);
    }

    #[test]
    fn find_asks_about_one_database_and_counts_nothing() {
        let rules = Rules::compile(vec![RuleSpec {
            schema: Some("blog_2*".into()),
            cluster: Some("blogs2".into()),
            ..spec(Action::Split)
        }])
        .unwrap();
        let c = classify::classify(b"SELECT * FROM blog_21.posts");
        let about = |db: Option<&'static str>, named: bool| Subject {
            user: "app",
            db,
            db_maybe: None,
            named,
            classification: &c,
            sql: b"SELECT * FROM blog_21.posts",
        };
        assert!(rules.find(&about(None, true)).is_some(), "db.table counts");
        assert!(
            rules.find(&about(None, false)).is_none(),
            "named databases left out"
        );
        assert!(rules.find(&about(Some("main_db"), false)).is_none());
        assert!(rules.find(&about(Some("blog_22"), false)).is_some());
        assert_eq!(rules.list().map(|(_, h)| h).sum::<u64>(), 0);
        assert!(rules.name_cluster("blogs2") && !rules.name_cluster("main"));
    }

    #[test]
    fn a_rule_without_match_keys_matches_everything() {
        let rules = Rules::compile(vec![spec(Action::Split)]).unwrap();
        assert_eq!(
            check(&rules, "u", None, "SELECT 1"),
            Some((0, Action::Split))
        );
        assert_eq!(check(&Rules::default(), "u", None, "SELECT 1"), None);
    }

    #[test]
    fn digest_rules_compare_the_classifiers_key() {
        let rules = Rules::compile(vec![RuleSpec {
            digest: Some("select c from sbtest1 where id=?".into()),
            ..spec(Action::Route(RouteTo::Master))
        }])
        .unwrap();
        for sql in [
            "SELECT c FROM sbtest1 WHERE id=42",
            "select  c /* hi */ from SBTEST1\n where id = 'x'",
        ] {
            assert!(check(&rules, "u", None, sql).is_some(), "{sql}");
        }
        assert!(check(&rules, "u", None, "SELECT c FROM sbtest2 WHERE id=42").is_none());
        // What SHOW DIGESTS prints for a statement keys like the statement itself.
        for sql in [
            "SELECT a, b FROM t WHERE x IN (1, 2) AND y = 'q''r' -- c",
            "INSERT INTO `T` (a) VALUES (1.5e3, \"s\", NULL)",
            "SELECT @x := 1, @@session.sql_mode FROM db.t LIMIT 10",
            "UPDATE t SET a = a + 1 WHERE id >= -5",
            "SELECT x'ff', b'01', 0x1F, .5, 1e-3 FROM t",
        ] {
            let printed = crate::digest::normalize(sql.as_bytes());
            assert_eq!(
                classify::classify(printed.as_bytes()).digest,
                classify::classify(sql.as_bytes()).digest,
                "{sql} / {printed}"
            );
        }
    }

    fn blocked(rules: &Rules, db: Option<&str>, sql: &str) -> bool {
        matches!(check(rules, "app", db, sql), Some((_, Action::Block(_))))
    }

    #[test]
    fn blocks_fail_closed_on_text_they_cannot_judge() {
        let schema = Rules::compile(vec![RuleSpec {
            schema: Some("secretdb".into()),
            ..spec(Action::Block("no".into()))
        }])
        .unwrap();
        let digest = Rules::compile(vec![RuleSpec {
            digest: Some("update cards set num = ? where id = ?".into()),
            ..spec(Action::Block("no".into()))
        }])
        .unwrap();
        let pattern = Rules::compile(vec![RuleSpec {
            pattern: Some(r"(?i)^\s*DELETE\s+FROM\s+wp_options\s*$".into()),
            ..spec(Action::Block("no".into()))
        }])
        .unwrap();
        for rules in [&schema, &digest, &pattern] {
            for sql in [
                "PREPARE s FROM 'SELECT 1'",
                "PREPARE s FROM @q",
                "EXECUTE s",
                "EXECUTE IMMEDIATE CONCAT('SELECT * FROM secret', 'db.cards')",
                "SELECT 1; EXECUTE IMMEDIATE @q",
            ] {
                assert!(blocked(rules, None, sql), "{sql}");
            }
            for sql in ["SELECT 1", "SELECT * FROM other.t", "DEALLOCATE PREPARE s"] {
                assert!(!blocked(rules, None, sql), "{sql}");
            }
        }
        // Stored-program bodies: digests and patterns cannot judge them, the names are known.
        let body = "CREATE PROCEDURE p() BEGIN SELECT 1; END";
        assert!(blocked(&digest, None, body) && blocked(&pattern, None, body));
        assert!(!blocked(&schema, None, body));
        assert!(blocked(
            &schema,
            None,
            "CREATE PROCEDURE p() BEGIN SELECT * FROM secretdb.cards; END"
        ));
        // A rule for another user cannot apply, whatever the text.
        let other = Rules::compile(vec![RuleSpec {
            user: Some("reports".into()),
            schema: Some("secretdb".into()),
            ..spec(Action::Block("no".into()))
        }])
        .unwrap();
        assert!(!blocked(&other, None, "EXECUTE IMMEDIATE @q"));
        // A route rule that may match does not decide; one that certainly matches does.
        let routed = Rules::compile(vec![
            RuleSpec {
                schema: Some("shop".into()),
                ..spec(Action::Route(RouteTo::Master))
            },
            RuleSpec {
                schema: Some("secretdb".into()),
                ..spec(Action::Block("no".into()))
            },
        ])
        .unwrap();
        assert!(blocked(&routed, None, "EXECUTE IMMEDIATE @q"));
        assert_eq!(
            check(&routed, "app", Some("shop"), "EXECUTE IMMEDIATE @q"),
            Some((0, Action::Route(RouteTo::Master)))
        );
    }

    #[test]
    fn each_statement_of_a_multi_statement_is_judged() {
        let rules = Rules::compile(vec![
            RuleSpec {
                digest: Some("update cards set num = ? where id = ?".into()),
                ..spec(Action::Block("digest".into()))
            },
            RuleSpec {
                pattern: Some(r"(?i)^\s*DELETE\s+FROM\s+wp_options\s*$".into()),
                ..spec(Action::Block("pattern".into()))
            },
            RuleSpec {
                schema: Some("secretdb".into()),
                ..spec(Action::Block("schema".into()))
            },
        ])
        .unwrap();
        for sql in [
            "UPDATE cards SET num = 1 WHERE id = 2;",
            "UPDATE `cards` SET `num` = 1 WHERE `id` = 2",
            "SET STATEMENT max_statement_time=1 FOR UPDATE cards SET num = 1 WHERE id = 2",
            "ANALYZE UPDATE cards SET num = 1 WHERE id = 2",
            "SELECT 1; UPDATE cards SET num = 1 WHERE id = 2",
            "UPDATE cards SET num = 1 WHERE id = 2; SELECT 1",
            "DELETE FROM wp_options;",
            "DELETE FROM wp_options -- all of it",
            "/* c */ DELETE /* c */ FROM wp_options",
            "ANALYZE DELETE FROM wp_options",
            "SELECT 1; DELETE FROM wp_options",
            "SELECT 1; USE secretdb",
            "SELECT * FROM (secretdb.cards)",
            "INSERT secretdb.cards VALUES (1)",
        ] {
            assert!(blocked(&rules, None, sql), "{sql}");
        }
        assert!(!blocked(&rules, None, "DELETE FROM wp_options WHERE a = 1"));
        // After an errored multi-statement with a USE, both databases count.
        let c = classify::classify(b"SELECT * FROM cards");
        let s = Subject {
            user: "app",
            db: Some("shop"),
            db_maybe: Some("secretdb"),
            named: true,
            classification: &c,
            sql: b"SELECT * FROM cards",
        };
        assert!(matches!(
            rules.check(&s),
            Some((
                _,
                RuleSpec {
                    action: Action::Block(_),
                    ..
                }
            ))
        ));
    }

    #[test]
    fn bad_patterns_are_reported_in_one_line() {
        let e = Rules::compile(vec![
            spec(Action::Split),
            RuleSpec {
                pattern: Some("^DELETE (".into()),
                ..spec(Action::Split)
            },
        ])
        .unwrap_err();
        assert_eq!(e.0, 1);
        assert_eq!(e.1.key, "pattern");
        assert_eq!(e.1.message, "invalid regular expression: unclosed group");
    }

    #[test]
    fn reloads_keep_counts_of_unchanged_rules() {
        let a = spec(Action::Route(RouteTo::Master));
        let b = RuleSpec {
            user: Some("x".into()),
            ..spec(Action::Split)
        };
        let old = Rules::compile(vec![a.clone(), b.clone()]).unwrap();
        check(&old, "x", None, "SELECT 1");
        check(&old, "x", None, "SELECT 1");
        let new = Rules::compile(vec![
            a,
            RuleSpec {
                user: Some("y".into()),
                ..b
            },
        ])
        .unwrap();
        new.inherit_hits(&old);
        let hits: Vec<u64> = new.list().map(|(_, h)| h).collect();
        assert_eq!(hits, vec![2, 0]);
        assert_eq!(old, old.clone());
        assert!(old.same_as(&old.clone()) && !old.same_as(&new) && old != new);
    }
}
