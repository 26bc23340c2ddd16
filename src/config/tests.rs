
use super::*;

/// A copy of shared/proxy.example.toml (the config contract) without its `[[clusters]]` and
/// `[[rules]]` tables: this version rejects the first and a rule naming one of them (see
/// `clusters_are_errors`).
const EXAMPLE: &str = r#"# rwsplit configuration — the product's config contract.
# Every key below is part of the format users will write; implement them with these names and
# meanings (add keys where an issue needs them, keep these). Durations are strings like "500ms", "10s".
# A password is either a literal or "env:NAME" (read from the environment variable NAME).

# Where applications connect. They keep their default MySQL settings.
listen = "127.0.0.1:3306"

# The single write target.
[master]
address = "10.0.0.10:3306"

# Read targets; lifecycle hooks add and remove these (rwsplit topology add-replica / remove-replica).
[[replicas]]
address = "10.0.0.11:3306"
weight = 1

[[replicas]]
address = "10.0.0.12:3306"
weight = 2

# Accounts applications log in with; the proxy uses the same credentials toward the backends.
[[users]]
name = "app"
password = "env:APP_DB_PASSWORD"

[auth]
# true: load accounts and their password hashes from the master (the monitor account must be able
# to read the user table), so application passwords need not be written in this file.
passthrough = false

[limits]
max_client_connections = 4096
handshake_timeout = "5s"      # a client that does not finish its login in time is dropped
idle_client_timeout = "8h"
max_packet_size = "64MiB"

[tls]
# Client side: present this certificate; require_client_tls refuses plain connections.
cert = "/etc/rwsplit/server.pem"
key = "/etc/rwsplit/server.key"
require_client_tls = false
# Backend side: verify the servers against this CA when connecting with TLS.
backend_ca = "/etc/rwsplit/ca.pem"
backend_tls = "preferred"     # disabled | preferred | required

[routing]
max_replication_lag = "10s"   # replicas further behind get no reads
fallback_to_master = true     # reads go to the master when no replica is healthy
consistency = "session"       # eventual | session | global (read-your-writes)
consistency_wait = "100ms"

[monitor]
user = "monitor"
password = "env:RWSPLIT_MONITOR_PASSWORD"
interval = "1s"

[admin]
listen = "127.0.0.1:6033"
user = "admin"
password = "env:RWSPLIT_ADMIN_PASSWORD"

[metrics]
listen = "127.0.0.1:9104"

[timeouts]
connect = "2s"                # backend TCP connect + login
query = "0s"                  # a statement running longer is killed on its backend; "0s" = no limit
read_failover = "3s"          # a read that got no answer byte in this time is retried elsewhere
client_write = "60s"          # a client that stops reading its result for this long is disconnected
keepalive = "60s"             # TCP keepalive idle time on client and backend sockets; "0s" = off
"#;

const MINIMAL: &str =
    "[master]\naddress = \"db.internal:3306\"\n\n[[users]]\nname = \"app\"\npassword = \"pw\"\n";

/// The environment used by most tests: a fixed map, independent of the process.
fn test_env(name: &str) -> Result<String, std::env::VarError> {
    match name {
        "APP_DB_PASSWORD" => Ok("app-secret-1".into()),
        "RWSPLIT_MONITOR_PASSWORD" => Ok("monitor-secret-2".into()),
        "RWSPLIT_ADMIN_PASSWORD" => Ok("admin-secret-3".into()),
        _ => Err(std::env::VarError::NotPresent),
    }
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_with_env(text, "proxy.toml", &test_env)
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

/// The problems as (line, key, message).
fn problems(text: &str) -> Vec<(usize, String, String)> {
    match parse(text) {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (p.location.unwrap().line, p.key.clone(), p.message.clone()))
            .collect(),
    }
}

/// Exactly one problem; returns (line, key, message).
fn one_problem(text: &str) -> (usize, String, String) {
    let mut ps = problems(text);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:#?}");
    ps.remove(0)
}

/// MINIMAL plus `extra` appended (its first line is line 7).
fn minimal_with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn example_file_parses_with_process_environment() {
    // The example reads these three variables; they are set for this process only.
    std::env::set_var("APP_DB_PASSWORD", "from-env-app");
    std::env::set_var("RWSPLIT_MONITOR_PASSWORD", "from-env-monitor");
    std::env::set_var("RWSPLIT_ADMIN_PASSWORD", "from-env-admin");
    let c = Config::from_str(EXAMPLE, "proxy.example.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.users[0].password.expose(), "from-env-app");
    assert_eq!(
        c.monitor.as_ref().unwrap().password.expose(),
        "from-env-monitor"
    );
    assert_eq!(
        c.admin.as_ref().unwrap().password.expose(),
        "from-env-admin"
    );
}

#[test]
fn example_file_values() {
    let c = ok(EXAMPLE);
    assert_eq!(c.listen, "127.0.0.1:3306");
    assert_eq!(
        c.master,
        Backend {
            address: "10.0.0.10:3306".into(),
            weight: 1
        }
    );
    assert_eq!(
        c.replicas,
        vec![
            Backend {
                address: "10.0.0.11:3306".into(),
                weight: 1
            },
            Backend {
                address: "10.0.0.12:3306".into(),
                weight: 2
            },
        ]
    );
    assert_eq!(c.users.len(), 1);
    assert_eq!(c.users[0].name, "app");
    assert_eq!(c.users[0].password.expose(), "app-secret-1");
    assert!(!c.auth.passthrough);
    assert_eq!(c.limits, Limits::default());
    assert_eq!(
        c.tls,
        Some(Tls {
            cert: Some("/etc/rwsplit/server.pem".into()),
            key: Some("/etc/rwsplit/server.key".into()),
            require_client_tls: false,
            backend_ca: Some("/etc/rwsplit/ca.pem".into()),
            backend_tls: BackendTls::Preferred,
        })
    );
    assert_eq!(c.routing, Routing::default());
    let m = c.monitor.as_ref().unwrap();
    assert_eq!(m.user, "monitor");
    assert_eq!(m.password.expose(), "monitor-secret-2");
    assert_eq!(m.interval, Duration::from_secs(1));
    assert_eq!(m.connect_timeout, Duration::from_secs(1));
    assert_eq!(m.query_timeout, Duration::from_secs(1));
    assert_eq!((m.fail_after, m.recover_after), (3, 2));
    let a = c.admin.as_ref().unwrap();
    assert_eq!(
        (a.listen.as_str(), a.user.as_str()),
        ("127.0.0.1:6033", "admin")
    );
    assert_eq!(a.password.expose(), "admin-secret-3");
    assert_eq!(
        c.metrics,
        Some(Metrics {
            listen: "127.0.0.1:9104".into()
        })
    );
    assert_eq!(c.timeouts, Timeouts::default());
    assert_eq!(c.log, Log::default());
}

/// The problems of a config-contract text other than the known not-yet-supported keys
/// (`NOT_YET_SUPPORTED`, reported with exactly their message, and a rule's `cluster` naming
/// a cluster other than "main"): a new unknown key, a bad
/// value, a missing required key, a syntax error. Every `env:NAME` is set.
fn unexpected_contract_problems(text: &str) -> Vec<Problem> {
    let env = |name: &str| -> Result<String, std::env::VarError> { Ok(format!("x-{name}")) };
    match Config::from_str_with_env(text, "proxy.example.toml", &env) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .iter()
            .filter(|p| {
                let rule_names_a_cluster = p.key.starts_with("rules[")
                    && p.key.ends_with("].cluster")
                    && p.message.contains("several clusters are not supported");
                !rule_names_a_cluster
                    && !NOT_YET_SUPPORTED
                        .iter()
                        .any(|(name, why)| p.key == *name && p.message == *why)
            })
            .cloned()
            .collect(),
    }
}

/// The shared contract file itself, when this checkout has it next to it: every key it
/// uses must be understood, except the ones this version knowingly rejects as not
/// supported yet (`clusters`, a rule's `cluster` other than "main"). Catches the contract growing without this module:
/// any other problem (a new key, a value this module rejects) fails it.
#[test]
fn shared_example_on_disk_parses_if_present() {
    let candidates = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/proxy.example.toml"),
        PathBuf::from("/work/shared/proxy.example.toml"),
    ];
    let Some(text) = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        return;
    };
    let unexpected = unexpected_contract_problems(&text);
    let shown: Vec<String> = unexpected.iter().map(|p| p.to_string()).collect();
    assert!(
        unexpected.is_empty(),
        "shared/proxy.example.toml has problems besides the keys not supported yet:\n{}",
        shown.join("\n")
    );
}

/// The check above can fail: only the known not-yet-supported keys are let through.
#[test]
fn contract_check_lets_through_only_the_not_yet_supported_keys() {
    let with = |extra: &str| format!("{EXAMPLE}{extra}");
    let clusters = "[[clusters]]\nname = \"b\"\nmaster = { address = \"10.0.1.10:3306\" }\n";
    let rules = "[[rules]]\nuser = \"reports\"\nroute = \"replica\"\n";
    assert!(unexpected_contract_problems(EXAMPLE).is_empty());
    assert!(unexpected_contract_problems(&with(&format!("{clusters}{rules}"))).is_empty());
    // A new key in a known section.
    let ps = unexpected_contract_problems(&format!(
        "{}{clusters}",
        EXAMPLE.replace(
            "keepalive = \"60s\"",
            "keepalive = \"60s\"\nlinger = \"1s\""
        )
    ));
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].key, "timeouts.linger");
    // A new top-level key.
    let ps = unexpected_contract_problems(&with("[[shards]]\nname = \"x\"\n"));
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].key, "shards");
    // A value this module rejects, next to the tolerated keys.
    let ps = unexpected_contract_problems(&format!(
        "{}{rules}",
        EXAMPLE.replace("read_failover = \"3s\"", "read_failover = \"3 s\"")
    ));
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].key, "timeouts.read_failover");
    // A validation error (a duplicate user) and a syntax error.
    let ps = unexpected_contract_problems(&with(&format!(
        "{clusters}[[users]]\nname = \"app\"\npassword = \"p\"\n"
    )));
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].key, "users[1].name");
    let ps = unexpected_contract_problems(&with("[[rules]]\nuser = \"a\"\nuser = \"b\"\n"));
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert!(ps[0].message.contains("duplicate key"), "{ps:#?}");
}

#[test]
fn minimal_config_gets_all_defaults() {
    let c = ok(MINIMAL);
    assert_eq!(c.listen, "127.0.0.1:3306");
    assert_eq!(
        c.master,
        Backend {
            address: "db.internal:3306".into(),
            weight: 1
        }
    );
    assert!(c.replicas.is_empty());
    assert_eq!(c.users[0].password.expose(), "pw");
    assert_eq!(c.auth, Auth { passthrough: false });
    assert_eq!(
        c.limits,
        Limits {
            max_client_connections: 4096,
            handshake_timeout: Duration::from_secs(5),
            idle_client_timeout: Some(Duration::from_secs(8 * 3600)),
            max_packet_size: 64 * 1024 * 1024,
            max_user_connections: 0,
            max_idle_backend_connections: 64,
        }
    );
    assert_eq!(c.tls, None);
    assert_eq!(
        c.routing,
        Routing {
            max_replication_lag: Duration::from_secs(10),
            fallback_to_master: true,
            consistency: Consistency::Session,
            consistency_wait: Duration::from_millis(100),
            multiplex: true,
            multiplex_after: Duration::from_millis(100),
            read_only_transactions_on_replicas: false,
        }
    );
    assert_eq!(c.monitor, None);
    assert_eq!(c.admin, None);
    assert_eq!(c.metrics, None);
    assert_eq!(
        c.timeouts,
        Timeouts {
            connect: Duration::from_secs(2),
            query: None,
            read_failover: Duration::from_secs(3),
            client_write: Duration::from_secs(60),
            keepalive: Some(Duration::from_secs(60)),
        }
    );
    assert_eq!(
        c.log,
        Log {
            level: "info".into(),
            format: LogFormat::Text
        }
    );
}

#[test]
fn optional_sections_get_their_defaults() {
    let c = ok(&minimal_with(
        "[monitor]\nuser = \"m\"\npassword = \"p\"\n[admin]\nuser = \"a\"\npassword = \"b\"\n\
             [metrics]\n[tls]\n[limits]\n[routing]\n[timeouts]\n[log]\n[auth]\n",
    ));
    let m = c.monitor.unwrap();
    assert_eq!(
        (
            m.interval,
            m.connect_timeout,
            m.query_timeout,
            m.fail_after,
            m.recover_after
        ),
        (
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(1),
            3,
            2
        )
    );
    assert_eq!(c.admin.unwrap().listen, "127.0.0.1:6033");
    assert_eq!(c.metrics.unwrap().listen, "127.0.0.1:9104");
    assert_eq!(
        c.tls,
        Some(Tls {
            cert: None,
            key: None,
            require_client_tls: false,
            backend_ca: None,
            backend_tls: BackendTls::Preferred,
        })
    );
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.routing, Routing::default());
    assert_eq!(c.timeouts, Timeouts::default());
    assert_eq!(c.log, Log::default());
    assert_eq!(c.auth, Auth::default());
}

#[test]
fn all_keys_set_to_non_defaults() {
    let c = ok(&minimal_with(
        r#"[[replicas]]
address = "[::1]:3307"
weight = 0
[limits]
max_client_connections = 10
handshake_timeout = "1500ms"
idle_client_timeout = "0s"
max_packet_size = 1048576
[routing]
max_replication_lag = "0s"
fallback_to_master = false
consistency = "global"
consistency_wait = "1s"
[timeouts]
connect = "1m"
query = "1h30m"
read_failover = "750ms"
client_write = "2m"
keepalive = "0s"
[log]
level = "info,rwsplit::router=debug"
format = "json"
[tls]
cert = "c.pem"
key = "k.pem"
require_client_tls = true
backend_tls = "required"
[monitor]
user = "m"
password = "p"
interval = "250ms"
connect_timeout = "2s"
query_timeout = "3s"
fail_after = 5
recover_after = 1
"#,
    ));
    assert_eq!(
        c.replicas,
        vec![Backend {
            address: "[::1]:3307".into(),
            weight: 0
        }]
    );
    assert_eq!(
        c.limits,
        Limits {
            max_client_connections: 10,
            handshake_timeout: Duration::from_millis(1500),
            idle_client_timeout: None,
            max_packet_size: 1 << 20,
            max_user_connections: 0,
            max_idle_backend_connections: 64,
        }
    );
    assert_eq!(
        c.routing,
        Routing {
            max_replication_lag: Duration::ZERO,
            fallback_to_master: false,
            consistency: Consistency::Global,
            consistency_wait: Duration::from_secs(1),
            multiplex: true,
            multiplex_after: Duration::from_millis(100),
            read_only_transactions_on_replicas: false,
        }
    );
    assert_eq!(
        c.timeouts,
        Timeouts {
            connect: Duration::from_secs(60),
            query: Some(Duration::from_secs(5400)),
            read_failover: Duration::from_millis(750),
            client_write: Duration::from_secs(120),
            keepalive: None,
        }
    );
    assert_eq!(c.log.level, "info,rwsplit::router=debug");
    assert_eq!(c.log.format, LogFormat::Json);
    let tls = c.tls.unwrap();
    assert!(tls.require_client_tls);
    assert_eq!(tls.backend_tls, BackendTls::Required);
    let m = c.monitor.unwrap();
    assert_eq!(m.interval, Duration::from_millis(250));
    assert_eq!((m.fail_after, m.recover_after), (5, 1));
}

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
fn clusters_are_errors() {
    let clusters = "[[clusters]]\nname = \"blogs2\"\nmaster = { address = \"10.0.1.10:3306\" }\n\
                        replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]\n";
    let err = parse(&minimal_with(clusters)).unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert!(
        err.to_string().starts_with(
            "proxy.toml:7:3: key `clusters`: more than one cluster is not supported by this \
                 version of rwsplit yet"
        ),
        "{err}"
    );
    // Any form of the key, even empty: never silently accepted.
    let (line, key, _) = one_problem(&format!("clusters = 1\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "clusters"));
    // Listed with the other problems, in file order (as `rwsplit check-config` shows them).
    let rules = "[[rules]]\nschema = \"blog_2*\"\ncluster = \"blogs2\"\n";
    let ps = problems(&minimal_with(&format!(
        "{clusters}{rules}[timeouts]\nread_failover = \"soon\"\n"
    )));
    let got: Vec<(usize, &str)> = ps.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (7, "clusters"),
            (13, "rules[0].cluster"),
            (15, "timeouts.read_failover")
        ]
    );
    // Not offered as a valid key in the unknown-key message.
    let (_, _, msg) = one_problem(&format!("cluster = 1\n{MINIMAL}"));
    assert!(!msg.contains("`clusters`"), "{msg}");
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
        "proxy.toml:9:11: key `rules[0].cluster`: unknown cluster \"blogs2\": several clusters \
             are not supported by this version of rwsplit yet; only \"main\" ([master] and \
             [[replicas]]) exists"
    );
    assert_eq!(
        err("[[rules]]\nuser = \"reports\"\n"),
        "proxy.toml:7:1: key `rules[0]`: a rule needs an action: `route = \"master\"` or \
             `\"replica\"`, `block = \"message\"`, or `cluster = \"main\"`"
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
fn display_format_is_file_line_column_key_message() {
    let err = parse(&minimal_with("[routing]\nconsistency = \"strong\"\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "proxy.toml:8:15: key `routing.consistency`: expected one of eventual, session, \
             global, got \"strong\""
    );
}

#[test]
fn unknown_keys_are_errors_with_line_and_key() {
    let (line, key, msg) = one_problem(&format!("bogus = 1\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "bogus"));
    assert!(
        msg.starts_with("unknown key, expected one of `listen`, `master`"),
        "{msg}"
    );
    // After [[users]], a key belongs to that table.
    let (line, key, msg) = one_problem(&minimal_with("bogus = 1\n"));
    assert_eq!((line, key.as_str()), (7, "users[0].bogus"));
    assert!(msg.contains("unknown field `bogus`"), "{msg}");
    let (line, key, msg) = one_problem(&minimal_with("[limits]\nmax_conns = 5\n"));
    assert_eq!((line, key.as_str()), (8, "limits.max_conns"));
    assert!(msg.contains("unknown field `max_conns`"), "{msg}");
    // [master] has no weight.
    let (line, key, _) = one_problem(
        "[master]\naddress = \"a:1\"\nweight = 2\n[[users]]\nname = \"u\"\npassword = \"p\"\n",
    );
    assert_eq!((line, key.as_str()), (3, "master.weight"));
    // Unknown key in the second [[replicas]].
    let (line, key, _) = one_problem(&minimal_with(
        "[[replicas]]\naddress = \"r1:3306\"\n[[replicas]]\naddress = \"r2:3306\"\nport = 1\n",
    ));
    assert_eq!((line, key.as_str()), (11, "replicas[1].port"));
    // Unknown section.
    let (line, key, msg) = one_problem(&minimal_with("[loging]\nlevel = \"info\"\n"));
    assert_eq!((line, key.as_str()), (7, "loging"));
    assert!(msg.contains("expected one of"), "{msg}");
}

#[test]
fn type_errors_name_key_and_line() {
    let (line, key, msg) = one_problem(&minimal_with("[limits]\nhandshake_timeout = 5\n"));
    assert_eq!((line, key.as_str()), (8, "limits.handshake_timeout"));
    assert!(
        msg.contains("expected a duration string") && msg.contains("integer (5)"),
        "{msg}"
    );
    let (line, key, msg) = one_problem(&minimal_with("[routing]\nfallback_to_master = \"yes\"\n"));
    assert_eq!((line, key.as_str()), (8, "routing.fallback_to_master"));
    assert!(msg.contains("expected true or false"), "{msg}");
    let (line, key, _) = one_problem(&minimal_with("listen = 3306\n"));
    // A top-level key after a table belongs to that table in TOML; here it lands in
    // users[0]. Put it first instead:
    let _ = (line, key);
    let (line, key, msg) = one_problem(&format!("listen = 3306\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "listen"));
    assert!(msg.contains("host:port"), "{msg}");
    let (line, key, msg) =
        one_problem("master = \"a:1\"\n[[users]]\nname = \"u\"\npassword = \"p\"\n");
    assert_eq!((line, key.as_str()), (1, "master"));
    assert!(msg.contains("[master] table"), "{msg}");
    let (line, key, msg) = one_problem(&minimal_with(
        "[[replicas]]\naddress = \"r:1\"\nweight = \"2\"\n",
    ));
    assert_eq!((line, key.as_str()), (9, "replicas[0].weight"));
    assert!(msg.contains("expected an integer"), "{msg}");
}

#[test]
fn bad_durations() {
    for (value, needle) in [
        ("\"10\"", "missing unit"),
        ("\"10x\"", "unknown unit \\\"x\\\""),
        ("\"1.5s\"", "fractions"),
        ("\"\"", "empty"),
        ("\"s\"", "use a number"),
        ("\"99999999999999999999s\"", "too large"),
    ] {
        let (line, key, msg) = one_problem(&minimal_with(&format!(
            "[routing]\nconsistency_wait = {value}\n"
        )));
        assert_eq!(
            (line, key.as_str()),
            (8, "routing.consistency_wait"),
            "{value}"
        );
        assert!(msg.contains("invalid duration"), "{value}: {msg}");
        assert!(
            msg.contains(needle.replace("\\\"", "\"").as_str()),
            "{value}: {msg}"
        );
    }
    let (_, key, msg) = one_problem(&minimal_with("[limits]\nhandshake_timeout = \"0s\"\n"));
    assert_eq!(key, "limits.handshake_timeout");
    assert!(msg.contains("greater than zero"), "{msg}");
    let (_, key, _) = one_problem(&minimal_with(
        "[monitor]\nuser=\"m\"\npassword=\"p\"\ninterval = \"0ms\"\n",
    ));
    assert_eq!(key, "monitor.interval");
}

#[test]
fn duration_parser() {
    let d = |s| parse_duration(s).unwrap();
    assert_eq!(d("500ms"), Duration::from_millis(500));
    assert_eq!(d("10s"), Duration::from_secs(10));
    assert_eq!(d("1m"), Duration::from_secs(60));
    assert_eq!(d("8h"), Duration::from_secs(8 * 3600));
    assert_eq!(d("2d"), Duration::from_secs(2 * 86400));
    assert_eq!(d("1h30m"), Duration::from_secs(5400));
    assert_eq!(d("1s500ms"), Duration::from_millis(1500));
    assert_eq!(d("0"), Duration::ZERO);
    assert_eq!(d("0s"), Duration::ZERO);
    for bad in [
        "", "10", "ms", "10 s", "10S", "1.5s", "-1s", "10sec", "1h 30m",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn sizes() {
    let s = |t| parse_size(t).unwrap();
    assert_eq!(s("1024"), 1024);
    assert_eq!(s("64MiB"), 64 << 20);
    assert_eq!(s("64M"), 64 << 20);
    assert_eq!(s("16MB"), 16_000_000);
    assert_eq!(s("1 GiB"), 1 << 30);
    assert_eq!(s("512kib"), 512 << 10);
    assert_eq!(s("100B"), 100);
    for bad in ["", "MiB", "1.5MiB", "64XB", "-1", "99999999999GiB"] {
        assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
    }
    let c = ok(&minimal_with("[limits]\nmax_packet_size = \"16MB\"\n"));
    assert_eq!(c.limits.max_packet_size, 16_000_000);
    let c = ok(&minimal_with("[limits]\nmax_packet_size = \"1024\"\n"));
    assert_eq!(c.limits.max_packet_size, 1024);

    let (line, key, msg) = one_problem(&minimal_with("[limits]\nmax_packet_size = \"64XB\"\n"));
    assert_eq!((line, key.as_str()), (8, "limits.max_packet_size"));
    assert!(msg.contains("invalid size \"64XB\""), "{msg}");
    let (_, _, msg) = one_problem(&minimal_with("[limits]\nmax_packet_size = \"2GiB\"\n"));
    assert!(msg.contains("between 1KiB and 1GiB"), "{msg}");
    let (_, _, msg) = one_problem(&minimal_with("[limits]\nmax_packet_size = -5\n"));
    assert!(msg.contains("negative"), "{msg}");
}

#[test]
fn address_syntax() {
    let good = [
        "10.0.0.10:3306",
        "db.internal:3306",
        "localhost:1",
        "my_db:65535",
        "[::1]:3306",
        "[2001:db8::10]:3306",
        "DB-1.Example.com.:3306",
    ];
    for a in good {
        assert!(
            parse_host_port(a).is_ok(),
            "{a} should be accepted: {:?}",
            parse_host_port(a)
        );
    }
    let bad = [
        ("10.0.0.10", "missing port"),
        ("10.0.0.10:", "missing port"),
        (":3306", "missing host"),
        ("10.0.0.10:0", "out of range"),
        ("10.0.0.10:65536", "out of range"),
        ("10.0.0.10:99999999999", "out of range"),
        ("10.0.0.10:33a", "not a number"),
        ("10.0.0.10:+1", "not a number"),
        ("10.0.0.256:3306", "not a valid IPv4"),
        ("::1:3306", "brackets"),
        ("[::1]", "missing port"),
        ("[::1:3306", "missing `]`"),
        ("[zz::1]:3306", "not a valid IPv6"),
        ("-db:3306", "not a valid host name"),
        ("db..x:3306", "not a valid host name"),
        ("db x:3306", "whitespace"),
        ("http://db:3306", "remove the scheme"),
        ("a:b:3306", "not a valid host name"),
    ];
    for (a, needle) in bad {
        match parse_host_port(a) {
            Ok(v) => panic!("{a} should be rejected, got {v:?}"),
            Err(e) => assert!(e.contains(needle), "{a}: {e}"),
        }
    }
    let (line, key, msg) = one_problem(&minimal_with("[[replicas]]\naddress = \"db:0\"\n"));
    assert_eq!((line, key.as_str()), (8, "replicas[0].address"));
    assert!(msg.starts_with("invalid address \"db:0\": port 0"), "{msg}");
    let (line, key, _) = one_problem(&minimal_with("[metrics]\nlisten = \"nope\"\n"));
    assert_eq!((line, key.as_str()), (8, "metrics.listen"));
    let (line, key, _) = one_problem(&format!("listen = \"0.0.0.0\"\n{MINIMAL}"));
    assert_eq!((line, key.as_str()), (1, "listen"));
    let (line, key, _) =
        one_problem("[master]\naddress = \"x\"\n[[users]]\nname = \"u\"\npassword = \"p\"\n");
    assert_eq!((line, key.as_str()), (2, "master.address"));
}

#[test]
fn weights() {
    let c = ok(&minimal_with(
        "[[replicas]]\naddress = \"r:1\"\n[[replicas]]\naddress = \"s:1\"\nweight = 0\n",
    ));
    assert_eq!(c.replicas[0].weight, 1);
    assert_eq!(c.replicas[1].weight, 0);
    for w in ["-1", "1001", "4294967296"] {
        let (line, key, msg) = one_problem(&minimal_with(&format!(
            "[[replicas]]\naddress = \"r:1\"\nweight = {w}\n"
        )));
        assert_eq!((line, key.as_str()), (9, "replicas[0].weight"));
        assert_eq!(msg, format!("must be between 0 and 1000, got {w}"));
    }
}

#[test]
fn enums() {
    let (line, key, msg) = one_problem(&minimal_with("[tls]\nbackend_tls = \"on\"\n"));
    assert_eq!((line, key.as_str()), (8, "tls.backend_tls"));
    assert_eq!(
        msg,
        "expected one of disabled, preferred, required, got \"on\""
    );
    let (line, key, msg) = one_problem(&minimal_with("[log]\nformat = \"xml\"\n"));
    assert_eq!((line, key.as_str()), (8, "log.format"));
    assert_eq!(msg, "expected one of text, json, got \"xml\"");
    let (_, key, msg) = one_problem(&minimal_with("[routing]\nconsistency = 2\n"));
    assert_eq!(key, "routing.consistency");
    assert!(
        msg.starts_with("expected one of eventual, session, global, got an integer"),
        "{msg}"
    );
    for c in ["eventual", "session", "global"] {
        ok(&minimal_with(&format!(
            "[routing]\nconsistency = \"{c}\"\n"
        )));
    }
}

#[test]
fn log_levels() {
    for good in [
        "trace",
        "DEBUG",
        "warn",
        "off",
        "info,rwsplit=debug",
        "rwsplit::router=trace, warn",
    ] {
        ok(&minimal_with(&format!("[log]\nlevel = \"{good}\"\n")));
    }
    for bad in ["verbose", "", "info,", "=debug", "rwsplit=loud"] {
        let (line, key, _) = one_problem(&minimal_with(&format!("[log]\nlevel = \"{bad}\"\n")));
        assert_eq!((line, key.as_str()), (8, "log.level"), "{bad}");
    }
}

#[test]
fn env_passwords() {
    let c = ok("[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"env:APP_DB_PASSWORD\"\n");
    assert_eq!(c.users[0].password.expose(), "app-secret-1");
    // Unset variable: the error names the variable and its key.
    let (line, key, msg) = one_problem("[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"env:NOT_SET_ANYWHERE\"\n");
    assert_eq!((line, key.as_str()), (5, "users[0].password"));
    assert_eq!(msg, "environment variable `NOT_SET_ANYWHERE` is not set");
    // Bad variable names.
    for bad in ["env:", "env:A-B", "env:$X"] {
        let (_, key, msg) = one_problem(&format!(
            "[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"{bad}\"\n"
        ));
        assert_eq!(key, "users[0].password");
        assert!(msg.contains("invalid environment variable name"), "{msg}");
    }
    // Not valid UTF-8.
    let env = |_: &str| -> Result<String, std::env::VarError> {
        Err(std::env::VarError::NotUnicode("x".into()))
    };
    let err = Config::from_str_with_env(
        "[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = \"env:X\"\n",
        "p.toml",
        &env,
    )
    .unwrap_err();
    assert!(err.to_string().contains("`X` is not valid UTF-8"), "{err}");
    // Monitor and admin passwords resolve the same way.
    let (_, key, _) = one_problem(&minimal_with(
        "[admin]\nuser = \"a\"\npassword = \"env:NOPE\"\n",
    ));
    assert_eq!(key, "admin.password");
    let (_, key, _) = one_problem(&minimal_with(
        "[monitor]\nuser = \"a\"\npassword = \"env:NOPE\"\n",
    ));
    assert_eq!(key, "monitor.password");
}

#[test]
fn secrets_never_leak() {
    let s = Secret::new("hunter2");
    assert_eq!(format!("{s}"), "***");
    assert_eq!(format!("{s:?}"), "***");
    assert_eq!(s.expose(), "hunter2");

    let c = ok(EXAMPLE);
    let debug = format!("{c:?} {c:#?}");
    for secret in ["app-secret-1", "monitor-secret-2", "admin-secret-3"] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug output");
    }
    let c = ok(MINIMAL);
    assert!(!format!("{:?}", c.users[0]).contains("pw\""));

    // Mistyped passwords are not echoed in errors, whatever their type.
    for value in [
        "918273645",
        "918273.645",
        "[\"hunter2xyz\"]",
        "{ p = \"hunter2xyz\" }",
        "true",
    ] {
        let text =
            format!("[master]\naddress = \"m:1\"\n[[users]]\nname = \"app\"\npassword = {value}\n");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("users[0].password"), "{err}");
        for needle in ["918273", "hunter2xyz", "true"] {
            assert!(!err.contains(needle), "password value leaked: {err}");
        }
    }
    // A literal password next to other errors in the same entry is never printed.
    let err = parse("[master]\naddress = \"m:1\"\n[[users]]\nname = \"\"\npassword = \"hunter2xyz\"\nextra = 1\n")
            .unwrap_err()
            .to_string();
    assert!(!err.contains("hunter2xyz"), "{err}");
    let err =
        parse("[master]\naddress = \"m:1\"\n[[users]]\nname = \"u\"\npassword = \"hunter2xyz\n")
            .unwrap_err()
            .to_string();
    assert!(!err.contains("hunter2xyz"), "{err}");
    // A stray line (say, a pasted password) is a syntax error that does not echo it.
    let err = parse(&minimal_with("hunter2xyz\n"))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2xyz"), "{err}");
    assert!(err.starts_with("proxy.toml:7:"), "{err}");
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

#[test]
fn syntax_errors_have_line_and_key() {
    let ps = problems("[master]\naddress = \"m:1\"\naddress = \"m:2\"\n");
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!((ps[0].0, ps[0].1.as_str()), (3, "master.address"));
    assert!(ps[0].2.contains("duplicate key"), "{}", ps[0].2);
    let (line, key, _) = one_problem("listen = \"127.0.0.1:3306\n[master]\naddress = \"m:1\"\n");
    assert_eq!((line, key.as_str()), (1, "listen"));
    let (line, key, _) = one_problem(&minimal_with(
        "[[replicas]]\naddress = \"r:1\"\n[[replicas]]\naddress = r:2\n",
    ));
    assert_eq!((line, key.as_str()), (10, "replicas[1].address"));
}

#[test]
fn many_problems_reported_in_one_pass_in_file_order() {
    let text = r#"bogus = true
[master]
address = "m"
[[replicas]]
address = "r:1"
weight = 9000
[[users]]
name = "u"
password = "env:UNSET_VAR"
[limits]
handshake_timeout = "5"
max_packet_size = "lots"
max_client_connections = 0
[routing]
consistency = "strong"
consistency_wait = 100
[log]
format = "yaml"
"#;
    let ps = problems(text);
    let got: Vec<(usize, &str)> = ps.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (1, "bogus"),
            (3, "master.address"),
            (6, "replicas[0].weight"),
            (9, "users[0].password"),
            (11, "limits.handshake_timeout"),
            (12, "limits.max_packet_size"),
            (13, "limits.max_client_connections"),
            (15, "routing.consistency"),
            (16, "routing.consistency_wait"),
            (18, "log.format"),
        ]
    );
    let shown = parse(text).unwrap_err().to_string();
    assert_eq!(shown.lines().count(), 10);
    assert!(
        shown.lines().all(|l| l.starts_with("proxy.toml:")),
        "{shown}"
    );
}

#[test]
fn columns_count_characters() {
    let text = format!("# ünïcödé\n{MINIMAL}[log]\nformat = \"ü\"\n");
    let err = parse(&text).unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(
        p.location,
        Some(Location {
            line: 9,
            column: 10
        })
    );
    assert_eq!(line_col("aé\nxé", 7), (2, 3));
    assert_eq!(line_col("aé\nxé", 6), (2, 2)); // inside a character: its start
    assert_eq!(line_col("ab", 99), (1, 3));
}

#[test]
fn from_file_reads_and_names_the_file() {
    let dir = std::env::temp_dir().join(format!("rwsplit-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("proxy.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(
        Config::from_file(&path).unwrap().master.address,
        "db.internal:3306"
    );
    std::fs::write(&path, format!("{MINIMAL}[log]\nformat = \"xml\"\n")).unwrap();
    let err = Config::from_file(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:8:10: key `log.format`", path.display())),
        "{err}"
    );
    std::fs::write(&path, format!("{MINIMAL}[timeouts]\nkeepalive = \"0s\"\n")).unwrap();
    assert_eq!(Config::from_file(&path).unwrap().timeouts.keepalive, None);
    std::fs::write(&path, b"\xff\xfe").unwrap();
    let err = Config::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("not valid UTF-8"), "{err}");
    let missing = dir.join("missing.toml");
    let err = Config::from_file(&missing).unwrap_err();
    assert_eq!(err.problems()[0].location, None);
    assert!(err
        .to_string()
        .starts_with(&format!("{}: cannot read the file", missing.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_error_is_a_std_error() {
    fn takes(_: &dyn std::error::Error) {}
    let err = parse("").unwrap_err();
    takes(&err);
    assert_eq!(err.problems().len(), 2); // no [master], no [[users]]
}
