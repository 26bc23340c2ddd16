//! Issue 23, "the app account checked": an account the proxy logs in to a replica with that
//! may write there despite read_only (READ_ONLY ADMIN on MariaDB 10.11, ALL PRIVILEGES, also
//! through a role) is reported in the log, the admin SHOW BACKENDS, the metrics and
//! `rwsplit check-config --connect`; the test cluster's app account (no SUPER, no READ_ONLY
//! ADMIN) is reported clean; an account whose grants cannot be read is "could not check".
//!
//! The risky accounts are created on the master for the test (replication carries them to the
//! replicas) and dropped when it ends, also when it fails.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::*;

/// Holds READ_ONLY ADMIN and SUPER on *.* itself.
const DIRECT: &str = "rwsplit_ro_direct";
/// Holds READ_ONLY ADMIN through a role that is not its default (a client can SET ROLE).
const VIA_ROLE: &str = "rwsplit_ro_via_role";
const ROLE: &str = "rwsplit_ro_role";
/// A monitor account with only what the README asks for (REPLICATION CLIENT, SLAVE MONITOR).
const SMALL_MONITOR: &str = "rwsplit_ro_monitor";
const PASSWORD: &str = "ro-test-pw";

/// The test's accounts on the master, dropped (and the drop replicated) when this goes away.
struct Accounts<'a>(&'a Cluster);

impl<'a> Accounts<'a> {
    fn create(c: &'a Cluster) -> Accounts<'a> {
        let guard = Accounts(c);
        guard.drop_all();
        c.root_sql(
            "master",
            &format!(
                "CREATE USER '{DIRECT}'@'%' IDENTIFIED BY '{PASSWORD}';
                 GRANT SELECT ON rwtest.* TO '{DIRECT}'@'%';
                 GRANT SUPER, READ_ONLY ADMIN ON *.* TO '{DIRECT}'@'%';
                 CREATE ROLE {ROLE};
                 GRANT READ_ONLY ADMIN ON *.* TO {ROLE};
                 CREATE USER '{VIA_ROLE}'@'%' IDENTIFIED BY '{PASSWORD}';
                 GRANT SELECT ON rwtest.* TO '{VIA_ROLE}'@'%';
                 GRANT {ROLE} TO '{VIA_ROLE}'@'%';
                 CREATE USER '{SMALL_MONITOR}'@'%' IDENTIFIED BY '{PASSWORD}';
                 GRANT REPLICATION CLIENT, SLAVE MONITOR ON *.* TO '{SMALL_MONITOR}'@'%';"
            ),
        );
        c.wait_replicas();
        guard
    }

    fn drop_all(&self) {
        self.0.root_sql(
            "master",
            &format!(
                "DROP USER IF EXISTS '{DIRECT}'@'%', '{VIA_ROLE}'@'%', '{SMALL_MONITOR}'@'%';
                 DROP ROLE IF EXISTS {ROLE};"
            ),
        );
    }
}

impl Drop for Accounts<'_> {
    fn drop(&mut self) {
        // No second panic while a failed test unwinds (it would abort the whole run).
        if std::thread::panicking() {
            let _ = std::panic::catch_unwind(|| self.drop_all());
        } else {
            self.drop_all();
            self.0.wait_replicas();
        }
    }
}

fn admin_rows(port: u16, sql: &str) -> Vec<String> {
    let out = mariadb(port, "admin", "adminpw", sql);
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn check_config(config: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("check-config")
        .arg("--connect")
        .arg(config)
        .output()
        .expect("run rwsplit check-config")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The gauge's value for one replica and account, if exported.
fn gauge(metrics: &str, replica: u16, account: &str) -> Option<String> {
    let key = format!(
        "rwsplit_backend_account_bypasses_read_only{{account=\"{account}\",backend=\"127.0.0.1:{replica}\",cluster=\"main\"}} "
    );
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map(str::to_string)
}

#[test]
fn accounts_that_may_write_on_replicas_are_reported_and_the_app_account_is_clean() {
    let c = Cluster::shared();
    let _accounts = Accounts::create(&c);
    let (admin_port, metrics_port) = (free_port(), free_port());
    let extra = format!(
        "[[users]]\nname = \"{DIRECT}\"\npassword = \"{PASSWORD}\"\n\n[[users]]\nname = \"{VIA_ROLE}\"\npassword = \"{PASSWORD}\"\n\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\nuser = \"admin\"\npassword = \"adminpw\"\n\n[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n\n[monitor]\nuser = \"{}\"\npassword = \"{}\"\ninterval = \"300ms\"\n",
        c.var("MONITOR_USER"),
        c.var("MONITOR_PASSWORD")
    );
    let p = Proxy::start(&c, &extra);
    let replicas = c.replica_ports();
    let direct = format!("{DIRECT}@%");
    let via_role = format!("{VIA_ROLE}@%");
    let app = format!("{}@%", c.user());

    // The log: one WARN per risky account and replica, naming the privilege; the app
    // account checked and clean.
    let warned = |log: &str, replica: u16, account: &str, privileges: &str| {
        log.lines()
            .filter(|l| {
                l.contains(" WARN ")
                    && l.contains("may write on the read_only replica")
                    && l.contains(&format!("replica=\"127.0.0.1:{replica}\""))
                    && l.contains(&format!("account=\"{account}\""))
                    && l.contains(&format!("privileges=\"{privileges}\""))
            })
            .count()
    };
    eventually("the read_only warnings", Duration::from_secs(15), || {
        let log = p.log();
        replicas.iter().all(|&r| {
            warned(&log, r, &direct, "READ_ONLY ADMIN") == 1
                && warned(
                    &log,
                    r,
                    &via_role,
                    &format!("READ_ONLY ADMIN via role {ROLE}"),
                ) == 1
        })
    });
    let log = p.log();
    for &r in &replicas {
        assert!(
            log.lines()
                .any(|l| l.contains("cannot write on the read_only replica")
                    && l.contains(&format!("replica=\"127.0.0.1:{r}\""))
                    && l.contains(&format!("account=\"{app}\""))),
            "the app account checked on {r}:\n{}",
            tail(&log, 40)
        );
    }
    assert!(
        !log.lines()
            .any(|l| l.contains(" WARN ") && l.contains(&format!("account=\"{app}\""))),
        "no warning about the app account:\n{}",
        tail(&log, 40)
    );
    assert!(!log.contains(PASSWORD), "no password in the log");
    // SUPER alone does not let a write through on MariaDB 10.11: not named.
    assert!(
        !log.lines()
            .any(|l| l.contains("privileges=") && l.contains("SUPER")),
        "{}",
        tail(&log, 40)
    );

    // SHOW BACKENDS: the new column, last; NULL for the master.
    let rows = admin_rows(
        admin_port,
        "SELECT address, role, bypasses_read_only FROM backends ORDER BY address",
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols[1] == "master" {
            assert_eq!(cols[2], "NULL", "{row}");
        } else {
            assert_eq!(
                cols[2],
                format!("{direct} (READ_ONLY ADMIN); {via_role} (READ_ONLY ADMIN via role {ROLE})"),
                "{row}"
            );
        }
    }
    let show = admin_rows(admin_port, "SHOW BACKENDS");
    assert!(
        show.iter()
            .all(|l| l.ends_with("\tNULL") || l.contains(&format!("\t{direct} (READ_ONLY ADMIN)"))),
        "{show:?}"
    );

    // The gauge: 1 for the risky accounts, 0 for the app account, on every replica.
    let (_, metrics) = metrics_http(metrics_port);
    for &r in &replicas {
        assert_eq!(
            gauge(&metrics, r, &direct).as_deref(),
            Some("1"),
            "{metrics}"
        );
        assert_eq!(gauge(&metrics, r, &via_role).as_deref(), Some("1"));
        assert_eq!(gauge(&metrics, r, &app).as_deref(), Some("0"));
    }

    // check-config --connect with the proxy's own file: a WARNING per risky account and
    // replica, the app account clean, exit status 1.
    let config = p.dir.join("proxy.toml");
    let out = check_config(&config);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for &r in &replicas {
        let at = format!("replica 127.0.0.1:{r} (cluster main)");
        assert!(
            report.contains(&format!(
                "WARNING: {at}: {direct} may write despite read_only (READ_ONLY ADMIN)"
            )),
            "{report}"
        );
        assert!(
            report.contains(&format!(
                "WARNING: {at}: {via_role} may write despite read_only (READ_ONLY ADMIN via role {ROLE})"
            )),
            "{report}"
        );
        assert!(
            report.contains(&format!("{at}: {app} cannot write despite read_only")),
            "{report}"
        );
    }
    assert!(!report.contains(PASSWORD), "{report}");
    // Without --connect nothing is contacted, as before.
    let offline = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", text(&offline));
    assert!(!text(&offline).contains("WARNING"), "{}", text(&offline));

    // The privileges revoked, a SIGHUP (the file is unchanged): re-checked at once, each
    // change logged once, the column says no and the gauge 0.
    c.root_sql(
        "master",
        &format!(
            "REVOKE SUPER, READ_ONLY ADMIN ON *.* FROM '{DIRECT}'@'%';
             REVOKE {ROLE} FROM '{VIA_ROLE}'@'%';"
        ),
    );
    c.wait_replicas();
    p.send_signal("HUP");
    eventually("the replicas re-checked", Duration::from_secs(15), || {
        admin_rows(
            admin_port,
            "SELECT bypasses_read_only FROM backends WHERE role = 'replica'",
        ) == ["no", "no"]
    });
    let log = p.log();
    for &r in &replicas {
        for account in [&direct, &via_role] {
            assert_eq!(
                log.lines()
                    .filter(
                        |l| l.contains("can no longer write on the read_only replica")
                            && l.contains(&format!("replica=\"127.0.0.1:{r}\""))
                            && l.contains(&format!("account=\"{account}\""))
                    )
                    .count(),
                1,
                "{}",
                tail(&log, 40)
            );
        }
        // Still one warning each: the re-check did not repeat it.
        assert_eq!(warned(&log, r, &direct, "READ_ONLY ADMIN"), 1);
    }
    let (_, metrics) = metrics_http(metrics_port);
    for &r in &replicas {
        assert_eq!(
            gauge(&metrics, r, &direct).as_deref(),
            Some("0"),
            "{metrics}"
        );
    }
    let out = check_config(&config);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("WARNING"), "{}", text(&out));
}

/// With auth passthrough the proxy may log in as any account of the user table: the monitor
/// account reads their grants. One that cannot (only the privileges a monitor needs for
/// health checks) gets "could not check", never "clean".
#[test]
fn passthrough_accounts_are_checked_through_the_monitor_or_reported_unchecked() {
    let c = Cluster::shared();
    let _accounts = Accounts::create(&c);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("read_only_accounts");
    std::fs::create_dir_all(&dir).unwrap();
    let toml = |monitor: &str, password: &str| {
        format!(
            "{}[auth]\npassthrough = true\n\n[monitor]\nuser = \"{monitor}\"\npassword = \"{password}\"\n",
            c.proxy_toml(free_port(), "")
        )
    };
    // The cluster's monitor has SELECT on mysql.*: every account of the user table that
    // admits the proxy's address is checked, the [[users]] one by its own login.
    let config = dir.join("passthrough.toml");
    std::fs::write(
        &config,
        toml(c.var("MONITOR_USER"), c.var("MONITOR_PASSWORD")),
    )
    .unwrap();
    let out = check_config(&config);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for r in c.replica_ports() {
        let at = format!("replica 127.0.0.1:{r} (cluster main)");
        assert!(
            report.contains(&format!(
                "WARNING: {at}: {DIRECT}@% may write despite read_only (READ_ONLY ADMIN)"
            )),
            "{report}"
        );
        assert!(
            report.contains(&format!(
                "WARNING: {at}: {VIA_ROLE}@% may write despite read_only (READ_ONLY ADMIN via role {ROLE})"
            )),
            "{report}"
        );
        for clean in [c.user(), c.var("MONITOR_USER"), SMALL_MONITOR] {
            assert!(
                report.contains(&format!("{at}: {clean}@% cannot write despite read_only")),
                "{clean}: {report}"
            );
        }
        // root@localhost does not admit a TCP login from 127.0.0.1 (skip-name-resolve).
        assert!(!report.contains("root@"), "{report}");
    }

    // A monitor that may not read other accounts' grants: could not check (exit 3).
    std::fs::write(&config, toml(SMALL_MONITOR, PASSWORD)).unwrap();
    let out = check_config(&config);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(3), "{report}");
    for r in c.replica_ports() {
        let at = format!("replica 127.0.0.1:{r} (cluster main)");
        assert!(
            report.contains(&format!(
                "WARNING: {at}: could not check whether (auth passthrough accounts) may write despite read_only: the monitor account cannot read"
            )),
            "{report}"
        );
        assert!(
            report.contains(&format!("{at}: {}@% cannot write", c.user())),
            "{report}"
        );
    }
    assert!(
        !report.contains("may write despite read_only ("),
        "{report}"
    );
}
