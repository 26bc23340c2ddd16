//! Unit tests of `config`, one file per concern; the fixtures and helpers they share are here.

use super::*;

mod contract;
mod reporting;
mod sections;
mod values;

/// A copy of shared/proxy.example.toml (the config contract) without its `[[clusters]]` and
/// `[[rules]]` tables (tested on their own).
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
