//! The config contract file (shared/proxy.example.toml, the repository's proxy.toml) and the
//! defaults of every section.

use super::*;

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
    // The example spells out `max_packet_size = "64MiB"`, a fixed size: the default is
    // "auto" (the servers' max_allowed_packet), everything else is the default.
    assert_eq!(
        c.limits,
        Limits {
            max_packet_auto: false,
            ..Limits::default()
        }
    );
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

/// The problems of a config-contract text (every `env:NAME` is set): a new unknown key, a bad
/// value, a missing required key, a syntax error.
fn unexpected_contract_problems(text: &str) -> Vec<Problem> {
    let env = |name: &str| -> Result<String, std::env::VarError> { Ok(format!("x-{name}")) };
    match Config::from_str_with_env(text, "proxy.example.toml", &env) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().to_vec(),
    }
}

/// The shared contract file itself, when this checkout has it next to it: every key it uses
/// must be understood (`[[clusters]]` and `[[rules]]` included). Catches the contract growing
/// without this module: any problem (a new key, a value this module rejects) fails it.
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
        "shared/proxy.example.toml has problems:\n{}",
        shown.join("\n")
    );
    let c = Config::from_str_with_env(&text, "proxy.example.toml", &|n: &str| Ok(format!("x-{n}")))
        .unwrap();
    assert_eq!(c.clusters.len(), 1);
    assert_eq!(c.clusters[0].name, "blogs2");
}

/// The check above can fail.
#[test]
fn contract_check_reports_any_problem() {
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
    // A value this module rejects.
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
            max_packet_auto: true,
            long_data_total: 256 << 20,
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
            client_read: Duration::from_secs(30),
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
client_read = "10s"
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
            max_packet_auto: false,
            long_data_total: 256 << 20,
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
            client_read: Duration::from_secs(10),
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
