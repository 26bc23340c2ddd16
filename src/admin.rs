//! The admin SQL interface: a second listener that speaks the MySQL protocol, so operators use
//! the client they already have (`mariadb -h127.0.0.1 -P6033 -uadmin -p -e 'SHOW BACKENDS'`).
//!
//! It is served by the proxy's own protocol code (the same handshake and framing as client
//! traffic) rather than `opensrv-mysql`: the commands are a handful of text queries answered
//! with small result sets, which is ~200 lines here, while opensrv-mysql 0.7 would add a second
//! mysql_common, panics on error codes outside 1000-1885 and has an unreleased packet-reader
//! memory-safety fix.

mod select;
mod statement;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::config::Admin as AdminConfig;
use crate::metrics::METRICS;
use crate::protocol::command::*;
use crate::protocol::error::MyError;
use crate::protocol::handshake::{self, LoginError, ServerInfo};
use crate::protocol::packet::PacketStream;
use crate::protocol::{put_lenenc_int, put_lenenc_str, CapabilityFlags};
use crate::reload::{reload_off_thread, Outcome};
use crate::shared::Shared;
use crate::topology::{Role, State};

use select::Table;
use statement::{Statement, Value};

/// Serves the admin interface until the runtime stops.
pub async fn serve(cfg: AdminConfig, shared: Arc<Shared>, config_path: PathBuf) {
    let listener = match tokio::net::TcpListener::bind(&cfg.listen).await {
        Ok(l) => l,
        Err(e) => {
            warn!(listen = %cfg.listen, error = %e, "cannot listen for the admin interface");
            return;
        }
    };
    info!(listen = %cfg.listen, "admin interface listening");
    let cfg = Arc::new(cfg);
    loop {
        let (stream, peer) = crate::server::accept(&listener, "admin").await;
        let (cfg, shared, path) = (cfg.clone(), shared.clone(), config_path.clone());
        tokio::spawn(async move {
            if let Err(e) = session(stream, peer, &cfg, &shared, &path).await {
                debug!(client = %peer, error = %e, "admin session ended");
            }
        });
    }
}

/// A refused admin login: logged (at most once per 10 s, with how many were held back), as an
/// operator wants to know someone is guessing the admin password.
fn log_refused(peer: &std::net::SocketAddr, e: &dyn std::fmt::Display) {
    if let Some(suppressed) = crate::log_limit::LOGIN_REFUSED.check("admin") {
        warn!(client = %peer, error = %e, suppressed, "admin login refused");
    }
}

/// What an admin command answers.
enum Answer {
    Rows(Table),
    Ok(String),
    Err(MyError),
}

async fn session(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    cfg: &AdminConfig,
    shared: &Shared,
    path: &std::path::Path,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut client = PacketStream::new(crate::tls::Stream::Plain(stream), 1 << 20);
    let info = ServerInfo {
        version: format!("5.5.5-rwsplit-admin-{}", env!("CARGO_PKG_VERSION")).into_bytes(),
        ..ServerInfo::fallback()
    };
    let timeout = shared.topology.load().config.limits.handshake_timeout;
    // The admin interface takes TLS on the same terms as the client port.
    let tls = shared.tls.load_full();
    let login = tokio::time::timeout(
        timeout,
        handshake::accept_login(&mut client, 0, &info, &tls, |u| {
            (u == cfg.user).then(|| cfg.password.expose().to_string())
        }),
    )
    .await;
    let accepted = match login {
        Ok(Ok(a)) => a,
        Ok(Err(LoginError::BadPassword {
            user,
            with_password,
        })) => {
            let e = crate::login_throttle::refuse(
                &shared.login_throttle,
                &mut client,
                &user,
                &peer,
                with_password,
            )
            .await;
            log_refused(&peer, &e);
            return Ok(());
        }
        Ok(Err(e)) => {
            log_refused(&peer, &e);
            return Ok(());
        }
        Err(_) => return Ok(()),
    };
    let pw = cfg.password.expose();
    let ok = accepted.credential.is_some()
        || (accepted.login.user == cfg.user
            && crate::protocol::auth::verify_native(&accepted.scramble, pw, &accepted.answer));
    if !ok {
        let e = crate::login_throttle::refuse(
            &shared.login_throttle,
            &mut client,
            &accepted.login.user,
            &peer,
            !accepted.answer.is_empty(),
        )
        .await;
        log_refused(&peer, &e);
        return Ok(());
    }
    shared
        .login_throttle
        .succeeded(peer.ip(), &accepted.login.user);
    let login = accepted.login;
    let deprecate_eof = login
        .capabilities
        .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);
    client.write_packet(&ok_packet("")).await?;
    info!(client = %peer, user = %login.user, "admin login");
    let mut pkt = Vec::new();
    loop {
        client.reset_seq();
        if client.read_packet(&mut pkt).await.is_err() {
            return Ok(());
        }
        let answer = match pkt.first() {
            Some(&COM_QUIT) | None => return Ok(()),
            Some(&COM_PING) | Some(&COM_INIT_DB) => Answer::Ok(String::new()),
            Some(&COM_QUERY) => {
                let sql = String::from_utf8_lossy(&pkt[1..]).into_owned();
                match statement::parse(&sql) {
                    Ok(Statement::Reload) => match reload_off_thread(shared, path).await {
                        Ok(Outcome::Applied) => Answer::Ok("configuration reloaded".into()),
                        Ok(Outcome::Unchanged) => Answer::Ok("configuration unchanged".into()),
                        Err(problems) => Answer::Err(MyError::new(
                            1105,
                            b"HY000",
                            format!("reload failed, running topology kept: {problems}"),
                        )),
                    },
                    Ok(st) => command(st, shared, &login.user, &peer),
                    Err(e) => Answer::Err(syntax_error(&e)),
                }
            }
            Some(_) => Answer::Err(MyError::unknown_command()),
        };
        match answer {
            Answer::Ok(msg) => client.queue_packet(&ok_packet(&msg))?,
            Answer::Err(e) => client.queue_packet(&e.to_payload())?,
            Answer::Rows(t) => queue_rows(&mut client, deprecate_eof, &t.columns, &t.rows)?,
        }
        client.flush().await?;
    }
}

fn ok_packet(info: &str) -> Vec<u8> {
    let mut p = vec![0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];
    if !info.is_empty() {
        put_lenenc_str(&mut p, info.as_bytes());
    }
    p
}

/// A text result set of VARCHAR columns.
fn queue_rows<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    client: &mut PacketStream<S>,
    deprecate_eof: bool,
    cols: &[String],
    rows: &[Vec<Option<String>>],
) -> std::io::Result<()> {
    let mut p = Vec::new();
    put_lenenc_int(&mut p, cols.len() as u64);
    client.queue_packet(&p)?;
    for name in cols {
        p.clear();
        for part in [&b"def"[..], b"", b"", b"", name.as_bytes(), name.as_bytes()] {
            put_lenenc_str(&mut p, part);
        }
        p.push(0x0C);
        p.extend_from_slice(&33u16.to_le_bytes()); // utf8_general_ci
        p.extend_from_slice(&1024u32.to_le_bytes());
        p.push(0xFD); // VAR_STRING
        p.extend_from_slice(&0u16.to_le_bytes());
        p.push(0);
        p.extend_from_slice(&[0, 0]);
        client.queue_packet(&p)?;
    }
    let eof = [0xFE, 0x00, 0x00, 0x02, 0x00];
    if !deprecate_eof {
        client.queue_packet(&eof)?;
    }
    for row in rows {
        p.clear();
        for v in row {
            match v {
                Some(s) => put_lenenc_str(&mut p, s.as_bytes()),
                None => p.push(0xFB),
            }
        }
        client.queue_packet(&p)?;
    }
    if deprecate_eof {
        client.queue_packet(&[0xFE, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00])
    } else {
        client.queue_packet(&eof)
    }
}

/// What the admin says to a statement it cannot parse: the server's 1064, with where it went
/// wrong and what the admin understands.
fn syntax_error(e: &statement::SyntaxError) -> MyError {
    MyError::new(
        1064,
        b"42000",
        format!(
            "You have an error in your admin SQL near '{}'; the admin understands SHOW BACKENDS|SESSIONS|DIGESTS|RULES|CONFIG [LIKE '...' | WHERE ...], SELECT columns FROM backends|sessions|digests|rules|config [WHERE ...] [ORDER BY ...] [LIMIT ...], RELOAD, SET BACKEND host:port OFFLINE|ONLINE",
            e.0
        ),
    )
}

fn command(st: Statement, shared: &Shared, user: &str, peer: &std::net::SocketAddr) -> Answer {
    match st {
        Statement::Reload => Answer::Ok(String::new()),
        Statement::SetBackend { address, offline } => set_backend(shared, &address, offline),
        Statement::SetSession | Statement::Use => Answer::Ok(String::new()),
        Statement::ShowWarnings => {
            Answer::Rows(Table::new(&["Level", "Code", "Message"], Vec::new()))
        }
        Statement::ShowVariables { like } => {
            let rows = variables(shared)
                .into_iter()
                .filter(|(name, _)| {
                    like.as_deref()
                        .is_none_or(|p| select::like(name.as_bytes(), p.as_bytes()))
                })
                .map(|(n, v)| vec![Some(n.to_string()), Some(v)])
                .collect();
            Answer::Rows(Table::new(&["Variable_name", "Value"], rows))
        }
        Statement::SelectValues(items) => {
            let vars = variables(shared);
            let mut columns = Vec::new();
            let mut row = Vec::new();
            for (value, name) in items {
                let v = match value {
                    Value::Literal(v) => v,
                    Value::Variable(var) => {
                        match vars.iter().find(|(n, _)| n.eq_ignore_ascii_case(&var)) {
                            Some((_, v)) => Some(v.clone()),
                            None => {
                                return Answer::Err(MyError::new(
                                    1193,
                                    b"HY000",
                                    format!("Unknown system variable '{var}'"),
                                ))
                            }
                        }
                    }
                    Value::Function(f) => match f.as_str() {
                        "database" | "schema" => None,
                        "version" => Some(admin_version()),
                        "user" | "current_user" | "session_user" | "system_user" => {
                            Some(format!("{user}@{}", handshake::host_label(peer)))
                        }
                        "connection_id" => Some("0".into()),
                        "now" | "current_timestamp" | "sysdate" => None,
                        _ => {
                            return Answer::Err(MyError::new(
                                1305,
                                b"42000",
                                format!("FUNCTION admin.{f} does not exist"),
                            ))
                        }
                    },
                    Value::Column(c) => {
                        return Answer::Err(MyError::new(
                            1054,
                            b"42S22",
                            format!("Unknown column '{c}' in 'field list'"),
                        ))
                    }
                };
                columns.push(name);
                row.push(v);
            }
            Answer::Rows(Table {
                columns,
                rows: vec![row],
            })
        }
        Statement::Select(s) => {
            let Some(table) = view(&s.view, shared) else {
                return Answer::Err(MyError::new(
                    1146,
                    b"42S02",
                    format!("Table 'admin.{}' doesn't exist", s.view),
                ));
            };
            match select::run(&s, table) {
                Ok(t) => Answer::Rows(t),
                Err(e) => Answer::Err(e),
            }
        }
    }
}

/// The version the admin greets with and reports.
fn admin_version() -> String {
    format!("5.5.5-rwsplit-admin-{}", env!("CARGO_PKG_VERSION"))
}

/// The system variables drivers and tools read right after connecting, with the admin's own
/// values (it is a server of its own, not a MariaDB).
fn variables(shared: &Shared) -> Vec<(&'static str, String)> {
    let tls = if shared.tls.load().acceptor.is_some() {
        "YES"
    } else {
        "DISABLED"
    };
    [
        ("version_comment", "rwsplit admin interface".to_string()),
        ("version", admin_version()),
        ("max_allowed_packet", (1u32 << 20).to_string()),
        ("autocommit", "1".into()),
        ("auto_increment_increment", "1".into()),
        ("character_set_client", "utf8mb4".into()),
        ("character_set_connection", "utf8mb4".into()),
        ("character_set_results", "utf8mb4".into()),
        ("character_set_server", "utf8mb4".into()),
        ("collation_connection", "utf8mb4_general_ci".into()),
        ("collation_server", "utf8mb4_general_ci".into()),
        ("init_connect", String::new()),
        ("interactive_timeout", "28800".into()),
        ("license", env!("CARGO_PKG_LICENSE").to_string()),
        ("lower_case_table_names", "0".into()),
        ("net_buffer_length", "16384".into()),
        ("net_write_timeout", "60".into()),
        ("have_ssl", tls.into()),
        ("performance_schema", "0".into()),
        ("query_cache_size", "0".into()),
        ("query_cache_type", "OFF".into()),
        ("sql_mode", String::new()),
        ("system_time_zone", "UTC".into()),
        ("time_zone", "SYSTEM".into()),
        ("transaction_isolation", "REPEATABLE-READ".into()),
        ("tx_isolation", "REPEATABLE-READ".into()),
        ("tx_read_only", "0".into()),
        ("transaction_read_only", "0".into()),
        ("wait_timeout", "28800".into()),
    ]
    .into_iter()
    .collect()
}

/// A view by name, as a table.
fn view(name: &str, shared: &Shared) -> Option<Table> {
    Some(match name {
        "backends" => show_backends(shared),
        "sessions" => show_sessions(shared),
        "digests" => show_digests(shared),
        "rules" => show_rules(shared),
        "clusters" => show_clusters(shared),
        "config" => show_config(shared),
        _ => return None,
    })
}

/// One row per backend. `bypasses_read_only` (replicas; NULL for masters): the accounts the
/// proxy logs in with that may write there despite read_only, `no`, or `unknown` (see
/// `privileges::summary`). `refused_accounts` (NULL when none): accounts whose logins the
/// backend refuses right now, with its answer (`topology::refusals`).
fn show_backends(shared: &Shared) -> Table {
    let topo = shared.topology.load_full();
    let rows = topo
        .backends()
        .map(|b| {
            let h = b.health();
            vec![
                Some(b.address.clone()),
                Some(b.role.as_str().into()),
                Some(h.state.as_str().into()),
                Some(h.reason.clone()),
                h.lag_seconds.map(|l| l.to_string()),
                Some(b.weight.to_string()),
                Some(
                    METRICS
                        .backend_connections
                        .with_label_values(&[&*b.cluster, &b.address])
                        .get()
                        .to_string(),
                ),
                h.gtid.clone(),
                Some(b.cluster.to_string()),
                // Only a replica's read_only matters; the master takes writes anyway.
                (b.role == Role::Replica).then(|| {
                    let findings = shared.read_only_bypass.get(&b.address);
                    crate::privileges::summary(findings.as_deref().map(Vec::as_slice))
                }),
                {
                    let refused = b.refusals.list();
                    (!refused.is_empty()).then(|| {
                        refused
                            .iter()
                            .map(|(account, error)| format!("{account} ({error})"))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                },
            ]
        })
        .collect();
    Table::new(
        &[
            "address",
            "role",
            "state",
            "reason",
            "lag_seconds",
            "weight",
            "connections",
            "gtid",
            "cluster",
            "bypasses_read_only",
            "refused_accounts",
        ],
        rows,
    )
}

/// The clusters in routing order ("main" first, then `[[clusters]]` as in the file): each
/// one's master and its state, its replicas and how many of them take reads now, and the
/// client sessions working on it (a session counts in the cluster its last statement ran on).
fn show_clusters(shared: &Shared) -> Table {
    let topo = shared.topology.load_full();
    let sessions = shared.registry.sessions_by_cluster();
    let rows = topo
        .clusters
        .iter()
        .map(|c| {
            let serving = c
                .replicas
                .iter()
                .filter(|r| r.is_available() && r.weight > 0);
            vec![
                Some(c.name.to_string()),
                Some(c.master.address.clone()),
                Some(c.master.state().as_str().into()),
                Some(
                    c.replicas
                        .iter()
                        .map(|r| r.address.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Some(serving.count().to_string()),
                Some(
                    sessions
                        .get(&*c.name)
                        .copied()
                        .unwrap_or_default()
                        .to_string(),
                ),
            ]
        })
        .collect();
    Table::new(
        &[
            "cluster",
            "master",
            "master_state",
            "replicas",
            "replicas_up",
            "sessions",
        ],
        rows,
    )
}

fn show_sessions(shared: &Shared) -> Table {
    let rows = shared
        .registry
        .snapshot()
        .into_iter()
        .map(|(id, e)| {
            let backends = e
                .backends
                .iter()
                .map(|(a, t)| format!("{a}#{t}"))
                .collect::<Vec<_>>()
                .join(",");
            vec![
                Some(id.to_string()),
                Some(e.user),
                Some(e.client.to_string()),
                Some(backends),
            ]
        })
        .collect();
    Table::new(&["id", "user", "client", "backends"], rows)
}

fn show_digests(shared: &Shared) -> Table {
    let ms = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    let rows = shared
        .digests
        .top(100)
        .into_iter()
        .map(|e| {
            vec![
                Some(e.text.clone()),
                Some(e.count.to_string()),
                Some(ms(e.total)),
                Some(ms(e.total / e.count.max(1) as u32)),
                Some(ms(e.max)),
                Some(e.rows.to_string()),
                Some(e.route.into()),
            ]
        })
        .collect();
    Table::new(
        &[
            "digest", "count", "total_ms", "avg_ms", "max_ms", "rows", "route",
        ],
        rows,
    )
}

/// The running `[[rules]]` in the order they are checked: position (0-based, as in config
/// problems `rules[N]`), match keys (NULL when not given), action, and hits since the rule
/// was loaded (a reload keeps the count of a rule unchanged at the same position).
fn show_rules(shared: &Shared) -> Table {
    use crate::rules::Action;
    let topo = shared.topology.load_full();
    let rows = topo
        .config
        .rules
        .list()
        .enumerate()
        .map(|(i, (r, hits))| {
            let action = match &r.action {
                Action::Route(to) => format!("route={}", to.as_str()),
                Action::Split => "split".to_string(),
                Action::Block(message) => format!("block={message}"),
            };
            vec![
                Some(i.to_string()),
                r.schema.clone(),
                r.user.clone(),
                r.digest.clone(),
                r.pattern.clone(),
                r.cluster.clone(),
                Some(action),
                Some(hits.to_string()),
            ]
        })
        .collect();
    Table::new(
        &[
            "rule", "schema", "user", "digest", "pattern", "cluster", "action", "hits",
        ],
        rows,
    )
}

fn show_config(shared: &Shared) -> Table {
    let topo = shared.topology.load_full();
    let c = &topo.config;
    let mut kv: Vec<(String, String)> = vec![
        ("listen".into(), c.listen.clone()),
        ("master.address".into(), c.master.address.clone()),
    ];
    for (i, r) in c.replicas.iter().enumerate() {
        kv.push((format!("replicas[{i}].address"), r.address.clone()));
        kv.push((format!("replicas[{i}].weight"), r.weight.to_string()));
    }
    for (i, cl) in c.clusters.iter().enumerate() {
        kv.push((format!("clusters[{i}].name"), cl.name.clone()));
        kv.push((
            format!("clusters[{i}].master.address"),
            cl.master.address.clone(),
        ));
        for (j, r) in cl.replicas.iter().enumerate() {
            let at = format!("clusters[{i}].replicas[{j}]");
            kv.push((format!("{at}.address"), r.address.clone()));
            kv.push((format!("{at}.weight"), r.weight.to_string()));
        }
    }
    for (i, u) in c.users.iter().enumerate() {
        kv.push((format!("users[{i}].name"), u.name.clone()));
        kv.push((format!("users[{i}].password"), u.password.to_string()));
    }
    kv.push((
        "routing.max_replication_lag".into(),
        format!("{:?}", c.routing.max_replication_lag),
    ));
    kv.push((
        "routing.fallback_to_master".into(),
        c.routing.fallback_to_master.to_string(),
    ));
    kv.push((
        "routing.consistency".into(),
        format!("{:?}", c.routing.consistency).to_lowercase(),
    ));
    kv.push((
        "limits.max_client_connections".into(),
        c.limits.max_client_connections.to_string(),
    ));
    // The size in force: with "auto", the servers' max_allowed_packet once read.
    let max_packet = shared.max_packet(&c.limits).to_string();
    kv.push((
        "limits.max_packet_size".into(),
        if c.limits.max_packet_auto {
            format!("auto ({max_packet})")
        } else {
            max_packet
        },
    ));
    if let Some(m) = &c.monitor {
        kv.push(("monitor.user".into(), m.user.clone()));
        kv.push(("monitor.interval".into(), format!("{:?}", m.interval)));
    }
    let rows = kv
        .into_iter()
        .map(|(k, v)| vec![Some(k), Some(v)])
        .collect();
    Table::new(&["key", "value"], rows)
}

/// Maintenance: OFFLINE drains a replica (no new reads; running statements finish; sessions
/// move off it at their next statement); ONLINE gives it back to the monitor.
fn set_backend(shared: &Shared, address: &str, offline: bool) -> Answer {
    let topo = shared.topology.load_full();
    let Some(b) = topo.find(address, Role::Replica) else {
        let why = if topo.clusters.iter().any(|c| c.master.address == address) {
            "the master cannot be set offline (writes need it); change the master with `rwsplit topology set-master`"
        } else {
            "no such replica"
        };
        return Answer::Err(MyError::new(1105, b"HY000", format!("{address}: {why}")));
    };
    let mut h = (**b.health()).clone();
    if offline {
        h.state = State::Draining;
        h.reason = "set offline by admin".into();
    } else {
        h.state = State::Up;
        h.reason = "set online by admin".into();
    }
    b.set_health(Arc::new(h));
    info!(backend = address, offline, "backend state set by admin");
    shared.topology_changed();
    Answer::Ok(format!(
        "{address} {}",
        if offline {
            "offline (draining)"
        } else {
            "online"
        }
    ))
}
