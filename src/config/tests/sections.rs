//! Validation of one section at a time: timeouts, clusters, rules, users, backends, TLS,
//! listeners, auth.

use super::*;

#[test]
fn timeouts_parse() {
    let c = ok(&minimal_with(
        "[timeouts]\nread_failover = \"500ms\"\nclient_write = \"2m\"\nkeepalive = \"15s\"\n",
    ));
    assert_eq!(
        c.timeouts,
        Timeouts {
            connect: Duration::from_secs(2),
            query: None,
            read_failover: Duration::from_millis(500),
            client_write: Duration::from_secs(120),
            client_read: Duration::from_secs(30),
            keepalive: Some(Duration::from_secs(15)),
        }
    );
    // "0s" turns keepalive off ("0" too); each key alone keeps the others' defaults.
    for off in ["0s", "0", "0ms"] {
        let c = ok(&minimal_with(&format!(
            "[timeouts]\nkeepalive = \"{off}\"\n"
        )));
        assert_eq!(
            c.timeouts,
            Timeouts {
                keepalive: None,
                ..Timeouts::default()
            }
        );
    }
    let c = ok(&minimal_with("[timeouts]\nclient_write = \"1h\"\n"));
    assert_eq!(c.timeouts.client_write, Duration::from_secs(3600));
    assert_eq!(c.timeouts.read_failover, Duration::from_secs(3));
}

#[test]
fn timeouts_bad_values_name_file_line_column_and_key() {
    for (key, value, needle) in [
        ("read_failover", "\"3\"", "missing unit"),
        ("read_failover", "\"0s\"", "must be greater than zero"),
        ("read_failover", "3", "expected a duration string"),
        ("client_write", "\"1.5s\"", "fractions"),
        ("client_write", "\"0\"", "must be greater than zero"),
        ("client_write", "\"60 s\"", "invalid duration"),
        ("keepalive", "\"60sec\"", "unknown unit"),
        ("keepalive", "true", "expected a duration string"),
        ("keepalive", "\"\"", "empty"),
        ("query", "\"-1s\"", "invalid duration"),
    ] {
        let text = minimal_with(&format!("[timeouts]\nconnect = \"2s\"\n{key} = {value}\n"));
        let err = parse(&text).unwrap_err();
        assert_eq!(err.problems().len(), 1, "{key} = {value}: {err}");
        let shown = err.to_string();
        // Line 9, the column of the value (after `KEY = `).
        let at = format!("proxy.toml:9:{}: key `timeouts.{key}`: ", key.len() + 4);
        assert!(shown.starts_with(&at), "{key} = {value}: {shown}");
        assert!(shown.contains(needle), "{key} = {value}: {shown}");
    }
    // An unknown key next to them is still an error.
    let (line, key, _) = one_problem(&minimal_with(
        "[timeouts]\nkeepalive = \"1s\"\nkeep_alive = \"1s\"\n",
    ));
    assert_eq!((line, key.as_str()), (9, "timeouts.keep_alive"));
}

#[test]
fn clusters_parse_in_both_table_forms() {
    let c = ok(&minimal_with(
        "[[clusters]]\nname = \"blogs2\"\nmaster = { address = \"10.0.1.10:3306\" }\n\
         replicas = [{ address = \"10.0.1.11:3306\", weight = 2 }, { address = \"10.0.1.12:3306\" }]\n\
         [[clusters]]\nname = \"shop-eu_1\"\n[clusters.master]\naddress = \"10.0.2.10:3306\"\n\
         [[clusters.replicas]]\naddress = \"10.0.2.11:3306\"\n\
         [[rules]]\nschema = \"blog_2*\"\ncluster = \"blogs2\"\n\
         [[rules]]\nuser = \"shop\"\ncluster = \"shop-eu_1\"\nroute = \"master\"\n",
    ));
    let b = |a: &str, w: u32| Backend {
        address: a.into(),
        weight: w,
    };
    assert_eq!(
        c.clusters,
        vec![
            Cluster {
                name: "blogs2".into(),
                master: b("10.0.1.10:3306", 1),
                replicas: vec![b("10.0.1.11:3306", 2), b("10.0.1.12:3306", 1)],
            },
            Cluster {
                name: "shop-eu_1".into(),
                master: b("10.0.2.10:3306", 1),
                replicas: vec![b("10.0.2.11:3306", 1)],
            },
        ]
    );
    let rules: Vec<_> = c.rules.list().map(|(r, _)| r.cluster.clone()).collect();
    assert_eq!(rules, vec![Some("blogs2".into()), Some("shop-eu_1".into())]);
    // Without [[clusters]]: none (the top-level cluster is "main").
    assert!(ok(MINIMAL).clusters.is_empty());
    // A cluster without replicas reads from its master.
    let c = ok(&minimal_with(
        "[[clusters]]\nname = \"x\"\nmaster = { address = \"10.0.1.10:3306\" }\n",
    ));
    assert!(c.clusters[0].replicas.is_empty());
}

#[test]
fn cluster_problems_are_reported_at_their_keys() {
    let cl = |body: &str| minimal_with(&format!("[[clusters]]\n{body}"));
    // Line 7 is the [[clusters]] header, line 8 the first key.
    let (line, key, msg) = one_problem(&cl("master = { address = \"10.0.1.10:3306\" }\n"));
    assert_eq!((line, key.as_str()), (7, "clusters[0].name"), "{msg}");
    let (line, key, msg) = one_problem(&cl("name = \"x\"\n"));
    assert_eq!((line, key.as_str()), (7, "clusters[0].master"), "{msg}");
    let (line, key, msg) = one_problem(&cl(
        "name = \"main\"\nmaster = { address = \"10.0.1.10:3306\" }\n",
    ));
    assert_eq!((line, key.as_str()), (8, "clusters[0].name"));
    assert!(msg.contains("top-level"), "{msg}");
    let (_, key, msg) = one_problem(&cl(
        "name = \"a b\"\nmaster = { address = \"10.0.1.10:3306\" }\n",
    ));
    assert_eq!(key, "clusters[0].name");
    assert!(msg.contains("' '"), "{msg}");
    let (_, key, _) = one_problem(&cl("name = \"x\"\nmaster = { address = \"nope\" }\n"));
    assert_eq!(key, "clusters[0].master.address");
    let (_, key, _) = one_problem(&cl(
        "name = \"x\"\nmaster = { address = \"10.0.1.10:3306\" }\n\
         replicas = [{ address = \"10.0.1.11:3306\", weight = 5000 }]\n",
    ));
    assert_eq!(key, "clusters[0].replicas[0].weight");
    let (_, key, msg) = one_problem(&cl(
        "name = \"x\"\nmaster = { address = \"10.0.1.10:3306\" }\nshards = 2\n",
    ));
    assert!(key.starts_with("clusters"), "{key}: {msg}");
    // Duplicate names, and an address used by two clusters (or by the main one).
    let ps = problems(&minimal_with(
        "[[clusters]]\nname = \"x\"\nmaster = { address = \"10.0.1.10:3306\" }\n\
         [[clusters]]\nname = \"x\"\nmaster = { address = \"db.internal:3306\" }\n\
         replicas = [{ address = \"10.0.1.10:3306\" }]\n",
    ));
    let got: Vec<(usize, &str)> = ps.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (11, "clusters[1].name"),
            (12, "clusters[1].master.address"),
            (13, "clusters[1].replicas[0].address")
        ],
        "{ps:#?}"
    );
    assert!(ps[0].2.contains("duplicate cluster \"x\""), "{ps:#?}");
    assert!(ps[1].2.contains("`master.address`"), "{ps:#?}");
    assert!(ps[2].2.contains("`clusters[0].master.address`"), "{ps:#?}");
    // A rule naming a cluster that does not exist.
    let (line, key, msg) = one_problem(&minimal_with(
        "[[rules]]\nschema = \"blog_2*\"\ncluster = \"blogs2\"\n",
    ));
    assert_eq!((line, key.as_str()), (9, "rules[0].cluster"));
    assert!(msg.contains("unknown cluster \"blogs2\""), "{msg}");
}

#[test]
fn rules_parse_in_order() {
    use crate::rules::{Action, RouteTo};
    let c = ok(&minimal_with(
        "[[rules]]\nschema = \"blog_2*\"\ncluster = \"main\"\n\
             [[rules]]\nuser = \"reports\"\nroute = \"replica\"\n\
             [[rules]]\npattern = \"(?i)^\\\\s*DELETE\\\\s+FROM\\\\s+wp_options\\\\s*$\"\n\
             block = \"DELETE without WHERE on wp_options is blocked\"\n\
             [[rules]]\ndigest = \"select * from t where id = ?\"\nroute = \"master\"\n\
             cluster = \"main\"\n",
    ));
    let got: Vec<_> = c.rules.list().map(|(r, _)| r.clone()).collect();
    assert_eq!(got.len(), 4);
    assert_eq!(
        (
            got[0].schema.as_deref(),
            got[0].cluster.as_deref(),
            &got[0].action
        ),
        (Some("blog_2*"), Some("main"), &Action::Split)
    );
    assert_eq!(
        (got[1].user.as_deref(), &got[1].action),
        (Some("reports"), &Action::Route(RouteTo::Replica))
    );
    assert_eq!(
        got[2].pattern.as_deref(),
        Some(r"(?i)^\s*DELETE\s+FROM\s+wp_options\s*$")
    );
    assert_eq!(
        got[2].action,
        Action::Block("DELETE without WHERE on wp_options is blocked".into())
    );
    assert_eq!(got[3].action, Action::Route(RouteTo::Master));
    assert!(ok(MINIMAL).rules.is_empty());
    assert!(ok(&format!("rules = []\n{MINIMAL}")).rules.is_empty());
    // The same rules compare equal (a reload that changes none of them is no change).
    assert_eq!(
        ok(&minimal_with(
            "[[rules]]\nuser = \"a\"\nroute = \"master\"\n"
        )),
        ok(&minimal_with(
            "[[rules]]\nuser = \"a\"\nroute = \"master\"\n"
        ))
    );
    assert_ne!(
        ok(&minimal_with(
            "[[rules]]\nuser = \"a\"\nroute = \"master\"\n"
        )),
        ok(&minimal_with(
            "[[rules]]\nuser = \"b\"\nroute = \"master\"\n"
        ))
    );
}

#[test]
fn bad_rules_are_reported_at_their_key() {
    let err = |extra: &str| parse(&minimal_with(extra)).unwrap_err().to_string();
    assert_eq!(
        err("[[rules]]\nschema = \"blog_2*\"\ncluster = \"blogs2\"\n"),
        "proxy.toml:9:11: key `rules[0].cluster`: unknown cluster \"blogs2\": the clusters are \
             \"main\" (\"main\" is [master] and [[replicas]], the others [[clusters]] entries)"
    );
    assert_eq!(
        err("[[rules]]\nuser = \"reports\"\n"),
        "proxy.toml:7:1: key `rules[0]`: a rule needs an action: `route = \"master\"` or \
             `\"replica\"`, `block = \"message\"`, or `cluster = \"NAME\"`"
    );
    assert_eq!(
            err("[[rules]]\nuser = \"a\"\nroute = \"master\"\n\n[[rules]]\npattern = \"^DELETE (\"\nblock = \"no\"\n"),
            "proxy.toml:12:11: key `rules[1].pattern`: invalid regular expression: unclosed group"
        );
    assert_eq!(
        err("[[rules]]\nuser = \"a\"\nroute = \"primary\"\n"),
        "proxy.toml:9:9: key `rules[0].route`: expected one of master, replica, got \"primary\""
    );
    assert_eq!(
        err("[[rules]]\nblock = \"no\"\nroute = \"master\"\n"),
        "proxy.toml:8:9: key `rules[0].block`: a blocking rule has no other action: remove \
             `route` and `cluster`, or `block`"
    );
    assert_eq!(
        err("[[rules]]\nuser = \"\"\nblock = \"no\"\n"),
        "proxy.toml:8:8: key `rules[0].user`: must not be empty"
    );
    assert_eq!(
        err("[[rules]]\nuser = 5\nblock = \"no\"\n"),
        "proxy.toml:8:8: key `rules[0].user`: expected a user name string, got an integer (5)"
    );
    let e = err("[[rules]]\nuser = \"a\"\nroute = \"master\"\nregex = \"x\"\n");
    assert!(
        e.starts_with("proxy.toml:10:1: key `rules[0].regex`: unknown field `regex`"),
        "{e}"
    );
    // Every bad rule is reported, not only the first.
    let ps = problems(&minimal_with(
        "[[rules]]\npattern = \"(\"\nroute = \"master\"\n[[rules]]\ncluster = \"x\"\n",
    ));
    let keys: Vec<&str> = ps.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["rules[0].pattern", "rules[1].cluster"]);
}

#[test]
fn required_parts() {
    let (line, key, msg) = one_problem("[[users]]\nname = \"u\"\npassword = \"p\"\n");
    assert_eq!((line, key.as_str()), (1, "master"));
    assert!(msg.contains("missing required table [master]"), "{msg}");

    let (line, key, msg) = one_problem("[master]\naddress = \"m:1\"\n");
    assert_eq!((line, key.as_str()), (1, "users"));
    assert!(msg.contains("at least one [[users]]"), "{msg}");
    let (line, key, _) = one_problem("users = []\n[master]\naddress = \"m:1\"\n");
    assert_eq!((line, key.as_str()), (1, "users"));

    let (line, key, msg) = one_problem("[master]\n[[users]]\nname = \"u\"\npassword = \"p\"\n");
    assert_eq!(
        (line, key.as_str(), msg.as_str()),
        (1, "master.address", "required key is missing")
    );
    let ps = problems(&minimal_with("[[users]]\nname = \"v\"\n[monitor]\n"));
    let got: Vec<(usize, &str)> = ps.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (7, "users[1].password"),
            (9, "monitor.user"),
            (9, "monitor.password")
        ]
    );
    let (line, key, _) = one_problem(&minimal_with("[users]\nname = \"x\"\n"));
    assert_eq!((line, key.as_str()), (7, "users"));
}

#[test]
fn duplicate_backend_addresses_reported_with_lines() {
    let text = "[master]\naddress = \"10.0.0.10:3306\"\n\
                    [[replicas]]\naddress = \"10.0.0.11:3306\"\n\
                    [[replicas]]\naddress = \"10.0.0.10:3306\"\n\
                    [[replicas]]\naddress = \"DB.example:3306\"\n\
                    [[replicas]]\naddress = \"db.example.:3306\"\n\
                    [[replicas]]\naddress = \"[::1]:1\"\n\
                    [[replicas]]\naddress = \"[0::0001]:1\"\n\
                    [[users]]\nname = \"u\"\npassword = \"p\"\n";
    let ps = problems(text);
    assert_eq!(ps.len(), 3, "{ps:#?}");
    assert_eq!((ps[0].0, ps[0].1.as_str()), (6, "replicas[1].address"));
    assert_eq!(
        ps[0].2,
        "duplicate backend address \"10.0.0.10:3306\": already used by `master.address` on line 2"
    );
    assert_eq!((ps[1].0, ps[1].1.as_str()), (10, "replicas[3].address"));
    assert!(
        ps[1].2.contains("`replicas[2].address` on line 8"),
        "{}",
        ps[1].2
    );
    assert_eq!((ps[2].0, ps[2].1.as_str()), (14, "replicas[5].address"));
    // Same host, other port: fine.
    ok(&minimal_with(
        "[[replicas]]\naddress = \"db.internal:3307\"\n",
    ));
}

#[test]
fn duplicate_users_reported_with_lines() {
    let (line, key, msg) = one_problem(&minimal_with(
        "[[users]]\nname = \"app\"\npassword = \"x\"\n",
    ));
    assert_eq!((line, key.as_str()), (8, "users[1].name"));
    assert_eq!(msg, "duplicate user \"app\": already defined on line 5");
    // Names are case-sensitive, as in MySQL.
    ok(&minimal_with(
        "[[users]]\nname = \"APP\"\npassword = \"x\"\n",
    ));
    let (_, key, msg) =
        one_problem("[master]\naddress = \"m:1\"\n[[users]]\nname = \"\"\npassword = \"p\"\n");
    assert_eq!(
        (key.as_str(), msg.as_str()),
        ("users[0].name", "must not be empty")
    );
}

#[test]
fn user_lookup() {
    let c = ok(&minimal_with(
        "[[users]]\nname = \"report\"\npassword = \"r\"\n",
    ));
    assert_eq!(c.user(b"report").unwrap().password.expose(), "r");
    assert_eq!(c.user(b"app").unwrap().name, "app");
    assert!(c.user(b"App").is_none());
    assert!(c.user(b"").is_none());
    assert!(c.user(&[0xff, 0xfe]).is_none());
}

#[test]
fn passthrough_allows_no_users_but_needs_monitor() {
    let c = ok("[master]\naddress = \"m:1\"\n[auth]\npassthrough = true\n[monitor]\nuser = \"mon\"\npassword = \"p\"\n");
    assert!(c.auth.passthrough);
    assert!(c.users.is_empty());
    let (line, key, msg) = one_problem("[master]\naddress = \"m:1\"\n[auth]\npassthrough = true\n");
    assert_eq!((line, key.as_str()), (4, "auth.passthrough"));
    assert!(msg.contains("[monitor]"), "{msg}");
}

#[test]
fn tls_consistency() {
    let (line, key, _) = one_problem(&minimal_with("[tls]\ncert = \"c.pem\"\n"));
    assert_eq!((line, key.as_str()), (8, "tls.key"));
    let (line, key, _) = one_problem(&minimal_with("[tls]\nkey = \"k.pem\"\n"));
    assert_eq!((line, key.as_str()), (8, "tls.cert"));
    let (line, key, _) = one_problem(&minimal_with("[tls]\nrequire_client_tls = true\n"));
    assert_eq!((line, key.as_str()), (8, "tls.require_client_tls"));
    let (_, key, _) = one_problem(&minimal_with("[tls]\nbackend_ca = \"\"\n"));
    assert_eq!(key, "tls.backend_ca");
    let c = ok(&minimal_with("[tls]\nbackend_tls = \"disabled\"\n"));
    assert_eq!(c.tls.unwrap().backend_tls, BackendTls::Disabled);
}

#[test]
fn listeners_must_not_collide() {
    let (line, key, msg) = one_problem(&format!(
        "listen = \"0.0.0.0:6033\"\n{MINIMAL}[admin]\nuser = \"a\"\npassword = \"b\"\n"
    ));
    assert_eq!((line, key.as_str()), (8, "admin.listen"));
    assert_eq!(
        msg,
        "\"127.0.0.1:6033\" collides with `listen` = \"0.0.0.0:6033\""
    );
    let (line, key, _) = one_problem(&minimal_with(
        "[admin]\nuser = \"a\"\npassword = \"b\"\n[metrics]\nlisten = \"127.0.0.1:6033\"\n",
    ));
    assert_eq!((line, key.as_str()), (11, "metrics.listen"));
    // Different hosts, same port: both can bind.
    ok(&minimal_with("[metrics]\nlisten = \"127.0.0.2:3306\"\n"));
}
