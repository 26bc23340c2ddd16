//! The admin SQL interface: a second listener that speaks the MySQL protocol, so operators use
//! the client they already have (`mariadb -h127.0.0.1 -P6033 -uadmin -p -e 'SHOW BACKENDS'`).
//!
//! It is served by the proxy's own protocol code (the same handshake and framing as client
//! traffic) rather than `opensrv-mysql`: the commands are a handful of text queries answered
//! with small result sets, which is ~200 lines here, while opensrv-mysql 0.7 would add a second
//! mysql_common, panics on error codes outside 1000-1885 and has an unreleased packet-reader
//! memory-safety fix.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::config::Admin as AdminConfig;
use crate::metrics::METRICS;
use crate::protocol::command::*;
use crate::protocol::error::MyError;
use crate::protocol::handshake::{self, ServerInfo};
use crate::protocol::packet::PacketStream;
use crate::protocol::CapabilityFlags;
use crate::reload::{reload_off_thread, Outcome};
use crate::shared::Shared;
use crate::topology::{Role, State};

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
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let (cfg, shared, path) = (cfg.clone(), shared.clone(), config_path.clone());
        tokio::spawn(async move {
            if let Err(e) = session(stream, peer, &cfg, &shared, &path).await {
                debug!(client = %peer, error = %e, "admin session ended");
            }
        });
    }
}

/// What an admin command answers.
enum Answer {
    Rows(Vec<&'static str>, Vec<Vec<Option<String>>>),
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
        handshake::accept_login(&mut client, 0, &info, &peer, &tls, |u| {
            (u == cfg.user).then(|| cfg.password.expose().to_string())
        }),
    )
    .await;
    let Ok(Ok(accepted)) = login else {
        return Ok(());
    };
    let pw = cfg.password.expose();
    let ok = accepted.credential.is_some()
        || (accepted.login.user == cfg.user
            && crate::protocol::auth::verify_native(&accepted.scramble, pw, &accepted.answer));
    if !ok {
        handshake::refuse(
            &mut client,
            &accepted.login.user,
            &peer,
            !accepted.answer.is_empty(),
        )
        .await;
        return Ok(());
    }
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
                if sql
                    .trim()
                    .trim_end_matches(';')
                    .eq_ignore_ascii_case("RELOAD")
                {
                    match reload_off_thread(shared, path).await {
                        Ok(Outcome::Applied) => Answer::Ok("configuration reloaded".into()),
                        Ok(Outcome::Unchanged) => Answer::Ok("configuration unchanged".into()),
                        Err(problems) => Answer::Err(MyError::new(
                            1105,
                            b"HY000",
                            format!("reload failed, running topology kept: {problems}"),
                        )),
                    }
                } else {
                    command(&sql, shared)
                }
            }
            Some(_) => Answer::Err(MyError::unknown_command()),
        };
        match answer {
            Answer::Ok(msg) => client.queue_packet(&ok_packet(&msg))?,
            Answer::Err(e) => client.queue_packet(&e.to_payload())?,
            Answer::Rows(cols, rows) => queue_rows(&mut client, deprecate_eof, &cols, &rows)?,
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

fn put_lenenc_int(p: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => p.push(n as u8),
        251..=0xFFFF => {
            p.push(0xFC);
            p.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x10000..=0xFF_FFFF => {
            p.push(0xFD);
            p.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
        _ => {
            p.push(0xFE);
            p.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn put_lenenc_str(p: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(p, s.len() as u64);
    p.extend_from_slice(s);
}

/// A text result set of VARCHAR columns.
fn queue_rows<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    client: &mut PacketStream<S>,
    deprecate_eof: bool,
    cols: &[&str],
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

fn command(sql: &str, shared: &Shared) -> Answer {
    let words: Vec<String> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["SHOW", "BACKENDS"] => show_backends(shared),
        ["SHOW", "SESSIONS"] | ["SHOW", "PROCESSLIST"] => show_sessions(shared),
        ["SHOW", "DIGESTS"] => show_digests(shared),
        ["SHOW", "RULES"] => show_rules(shared),
        ["SHOW", "CONFIG"] => show_config(shared),
        ["SET", "BACKEND", _, state @ ("OFFLINE" | "ONLINE")] => {
            let addr = sql.split_whitespace().nth(2).unwrap_or_default();
            set_backend(shared, addr, *state == "OFFLINE")
        }
        ["SELECT", "@@VERSION_COMMENT", "LIMIT", "1"] => {
            Answer::Rows(vec!["@@version_comment"], vec![vec![Some("rwsplit admin interface".into())]])
        }
        _ => Answer::Err(MyError::new(
            1064,
            b"42000",
            "Unknown admin command; try SHOW BACKENDS, SHOW SESSIONS, SHOW DIGESTS, SHOW RULES, SHOW CONFIG, RELOAD, SET BACKEND host:port OFFLINE|ONLINE",
        )),
    }
}

fn show_backends(shared: &Shared) -> Answer {
    let topo = shared.topology.load_full();
    let rows = std::iter::once(&topo.master)
        .chain(topo.replicas.iter())
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
                        .with_label_values(&[&b.address])
                        .get()
                        .to_string(),
                ),
                h.gtid.clone(),
            ]
        })
        .collect();
    Answer::Rows(
        vec![
            "address",
            "role",
            "state",
            "reason",
            "lag_seconds",
            "weight",
            "connections",
            "gtid",
        ],
        rows,
    )
}

fn show_sessions(shared: &Shared) -> Answer {
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
    Answer::Rows(vec!["id", "user", "client", "backends"], rows)
}

fn show_digests(shared: &Shared) -> Answer {
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
    Answer::Rows(
        vec![
            "digest", "count", "total_ms", "avg_ms", "max_ms", "rows", "route",
        ],
        rows,
    )
}

/// The running `[[rules]]` in the order they are checked: position (0-based, as in config
/// problems `rules[N]`), match keys (NULL when not given), action, and hits since the rule
/// was loaded (a reload keeps the count of a rule unchanged at the same position).
fn show_rules(shared: &Shared) -> Answer {
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
    Answer::Rows(
        vec![
            "rule", "schema", "user", "digest", "pattern", "cluster", "action", "hits",
        ],
        rows,
    )
}

fn show_config(shared: &Shared) -> Answer {
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
    kv.push((
        "limits.max_packet_size".into(),
        c.limits.max_packet_size.to_string(),
    ));
    if let Some(m) = &c.monitor {
        kv.push(("monitor.user".into(), m.user.clone()));
        kv.push(("monitor.interval".into(), format!("{:?}", m.interval)));
    }
    let rows = kv
        .into_iter()
        .map(|(k, v)| vec![Some(k), Some(v)])
        .collect();
    Answer::Rows(vec!["key", "value"], rows)
}

/// Maintenance: OFFLINE drains a replica (no new reads; running statements finish; sessions
/// move off it at their next statement); ONLINE gives it back to the monitor.
fn set_backend(shared: &Shared, address: &str, offline: bool) -> Answer {
    let topo = shared.topology.load_full();
    let Some(b) = topo.find(address, Role::Replica) else {
        let why = if topo.master.address == address {
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
