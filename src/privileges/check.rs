//! Asking one replica which of the proxy's accounts may write on it despite `read_only`
//! (used by the proxy's `watch` and by `rwsplit check-config --connect`).

use std::sync::Arc;
use std::time::Duration;

use super::grants::{self, Flavor};
use super::{Finding, Verdict};
use crate::backend::{BackendConn, LoginParams, Rows};
use crate::config::{Config, User};
use crate::protocol::auth::Credential;
use crate::protocol::CapabilityFlags;
use crate::tls::TlsSetup;
use crate::topology::Backend;

/// At most this many roles of one account are looked at (each costs a statement).
const MAX_ROLES: usize = 16;

/// What `Finding::account` says when the user table itself could not be read.
pub const PASSTHROUGH_ACCOUNTS: &str = "(auth passthrough accounts)";

/// Checks every account the proxy logs in to `replica` with: each `[[users]]` entry on a
/// connection of its own, and with `[auth] passthrough` the user table's accounts through the
/// monitor account. One finding per account (per matching user-table row for passthrough).
pub async fn check_replica(
    config: &Config,
    replica: Arc<Backend>,
    tls: Arc<TlsSetup>,
) -> Vec<Finding> {
    let timeouts = Timeouts::of(config);
    let mut out = Vec::new();
    for user in &config.users {
        out.push(own_login(&replica, user, timeouts, tls.clone()).await);
    }
    if config.auth.passthrough {
        out.extend(passthrough(config, &replica, timeouts, tls).await);
    }
    out
}

/// How long a login and a statement of the check may take.
#[derive(Clone, Copy)]
struct Timeouts {
    connect: Duration,
    query: Duration,
}

impl Timeouts {
    fn of(config: &Config) -> Timeouts {
        Timeouts {
            connect: config.timeouts.connect,
            query: config
                .monitor
                .as_ref()
                .map_or(config.timeouts.connect, |m| m.query_timeout),
        }
    }
}

/// Why a statement of the check failed: the server's error code, if it answered with one.
#[derive(Debug)]
struct Failed {
    code: Option<u16>,
    text: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Failed> for String {
    fn from(f: Failed) -> String {
        f.text
    }
}

/// ER_DBACCESS_DENIED_ERROR: what `SHOW GRANTS FOR` another account answers to an account
/// without SELECT on the `mysql` database. It holds for every account alike.
const DB_ACCESS_DENIED: u16 = 1044;

/// Runs `sql` and returns its rows, or why not.
async fn ask(conn: &mut BackendConn, sql: &str, timeout: Duration) -> Result<Rows, Failed> {
    let other = |text: String| Failed { code: None, text };
    match tokio::time::timeout(timeout, conn.query_rows(sql)).await {
        Ok(Ok(Ok(rows))) => Ok(rows),
        Ok(Ok(Err(e))) => Err(Failed {
            code: Some(e.code),
            text: e.to_string(),
        }),
        Ok(Err(e)) => Err(other(e.to_string())),
        Err(_) => Err(other(format!("no answer within {timeout:?}"))),
    }
}

/// The first column of every row (`SHOW GRANTS`).
fn first_column(rows: Rows) -> Vec<String> {
    rows.rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

/// Logs in as `user` with its password, as sessions do, and reads the grants the server
/// applies to that login: `SHOW GRANTS` (the account row the server picked, its default
/// role), then each role granted to it enabled in turn (a client may `SET ROLE` through the
/// proxy). The server's version comes from its greeting and the account from the result's
/// header: the only statements are `SHOW GRANTS` (and `SET ROLE`), none of which counts as a
/// SELECT on the replica.
async fn own_login(
    replica: &Arc<Backend>,
    user: &User,
    t: Timeouts,
    tls: Arc<TlsSetup>,
) -> Finding {
    let unknown = |account: &str, why: String| Finding {
        account: account.to_string(),
        verdict: Verdict::Unknown(why),
    };
    let credential = Credential::Password(user.password.expose().to_string());
    let params = login_params(&user.name, &credential, t.connect, tls);
    let (mut conn, info) = match BackendConn::connect(replica.clone(), &params).await {
        Ok((c, _, info)) => (c, info),
        Err(e) => return unknown(&user.name, format!("cannot log in: {e}")),
    };
    let flavor = Flavor::from_version(&String::from_utf8_lossy(&info.version));
    let result = async {
        let own = ask(&mut conn, "SHOW GRANTS", t.query).await?;
        let account = own
            .columns
            .first()
            .and_then(|c| grants::account_of_header(c))
            .unwrap_or(&user.name)
            .to_string();
        let mut lines = first_column(own);
        for role in grants::direct_roles(&lines, &user.name)
            .iter()
            .take(MAX_ROLES)
        {
            let enable = format!("SET ROLE {}", grants::quote_ident(role));
            ask(&mut conn, &enable, t.query)
                .await
                .map_err(|e| format!("cannot enable role {role} to read its grants: {e}"))?;
            lines.extend(first_column(ask(&mut conn, "SHOW GRANTS", t.query).await?));
        }
        Ok::<_, String>((
            account,
            grants::bypass_privileges(&lines, &user.name, flavor),
        ))
    }
    .await;
    quit(conn, t.query).await;
    match result {
        Ok((account, found)) => Finding {
            account,
            verdict: verdict(found),
        },
        Err(why) => unknown(&user.name, why),
    }
}

fn verdict(bypass: Vec<String>) -> Verdict {
    if bypass.is_empty() {
        Verdict::Clean
    } else {
        Verdict::Bypasses(bypass)
    }
}

/// With `[auth] passthrough` the proxy logs in as any account of the user table that has a
/// mysql_native_password hash, from its own address. The monitor account lists them on the
/// replica, keeps those whose host pattern admits the proxy as this replica sees it
/// (`USER()`), and reads each one's grants and its roles' with `SHOW GRANTS FOR`. Every
/// matching row is checked (the server picks the most specific one at login; any of them
/// bypassing is reported). Names that are `[[users]]` entries are checked by `own_login`.
async fn passthrough(
    config: &Config,
    replica: &Arc<Backend>,
    t: Timeouts,
    tls: Arc<TlsSetup>,
) -> Vec<Finding> {
    let all_unknown = |why: String| {
        vec![Finding {
            account: PASSTHROUGH_ACCOUNTS.into(),
            verdict: Verdict::Unknown(why),
        }]
    };
    let Some(m) = &config.monitor else {
        return all_unknown("[monitor] is needed to read the user table".into());
    };
    let mut conn = match crate::backend::connect_monitor(replica.clone(), m, tls).await {
        Ok(c) => c,
        Err(e) => return all_unknown(format!("the monitor account cannot log in: {e}")),
    };
    let listed = async {
        let who = ask(
            &mut conn,
            "SELECT VERSION() AS version, USER() AS user",
            t.query,
        )
        .await?;
        let flavor = Flavor::from_version(who.get("version").unwrap_or_default());
        let seen_as = who
            .get("user")
            .and_then(|u| u.rsplit_once('@'))
            .map(|(_, h)| h.to_string())
            .unwrap_or_default();
        // The password hash itself is not read: only whether there is one.
        let rows = ask(
            &mut conn,
            "SELECT User, Host FROM mysql.user WHERE LENGTH(Password) = 41 AND User <> ''",
            t.query,
        )
        .await
        .map_err(|e| format!("the monitor account cannot read mysql.user: {e}"))?;
        Ok::<_, String>((flavor, seen_as, rows))
    }
    .await;
    let (flavor, seen_as, rows) = match listed {
        Ok(x) => x,
        Err(why) => {
            quit(conn, t.query).await;
            return all_unknown(why);
        }
    };
    let mut out = Vec::new();
    for row in rows.rows {
        let (Some(Some(user)), Some(Some(host))) = (row.first(), row.get(1)) else {
            continue;
        };
        if config.users.iter().any(|u| &u.name == user) || !grants::host_matches(host, &seen_as) {
            continue;
        }
        let account = format!("{user}@{host}");
        let verdict = match grants_for(&mut conn, user, host, t.query).await {
            Ok(lines) => verdict(grants::bypass_privileges(&lines, user, flavor)),
            // One answer for all of them, not one warning per account.
            Err(e) if e.code == Some(DB_ACCESS_DENIED) => {
                quit(conn, t.query).await;
                return all_unknown(format!(
                    "the monitor account cannot read other accounts' grants (SHOW GRANTS FOR needs SELECT on the mysql database): {e}"
                ));
            }
            Err(e) => Verdict::Unknown(format!("cannot read this account's grants: {e}")),
        };
        out.push(Finding { account, verdict });
    }
    quit(conn, t.query).await;
    out
}

/// `SHOW GRANTS FOR user@host`, then for each role granted to it (the server lists a role's
/// own roles with it).
async fn grants_for(
    conn: &mut BackendConn,
    user: &str,
    host: &str,
    timeout: Duration,
) -> Result<Vec<String>, Failed> {
    let sql = format!(
        "SHOW GRANTS FOR {}@{}",
        grants::quote_ident(user),
        grants::quote_ident(host)
    );
    let mut lines = first_column(ask(conn, &sql, timeout).await?);
    for role in grants::direct_roles(&lines, user).iter().take(MAX_ROLES) {
        let sql = format!("SHOW GRANTS FOR {}", grants::quote_ident(role));
        lines.extend(first_column(ask(conn, &sql, timeout).await?));
    }
    Ok(lines)
}

/// Says goodbye, without waiting long for a server that stopped answering.
async fn quit(conn: BackendConn, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, conn.quit()).await;
}

/// A plain login for the check: no database, the proxy's usual character set, and the
/// capabilities `query_rows` reads.
fn login_params<'a>(
    user: &'a str,
    credential: &'a Credential,
    connect_timeout: Duration,
    tls: Arc<TlsSetup>,
) -> LoginParams<'a> {
    use CapabilityFlags as C;
    LoginParams {
        user,
        credential,
        db: None,
        collation: 45,
        capabilities: C::CLIENT_PROTOCOL_41
            | C::CLIENT_SECURE_CONNECTION
            | C::CLIENT_PLUGIN_AUTH
            | C::CLIENT_LONG_PASSWORD
            | C::CLIENT_TRANSACTIONS
            | C::CLIENT_MULTI_RESULTS,
        attributes: &[],
        connect_timeout,
        keepalive: None,
        tls,
    }
}
