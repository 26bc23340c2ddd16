//! Issue 6: metrics, admin interface, graceful shutdown.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;
use mysql_async::prelude::*;

fn ops_toml(admin_port: u16, metrics_port: u16) -> String {
    format!(
        "[admin]\nlisten = \"127.0.0.1:{admin_port}\"\nuser = \"admin\"\npassword = \"adminsecret\"\n\n[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n\n[monitor]\nuser = \"monitor\"\npassword = \"monitorpass\"\ninterval = \"300ms\"\n"
    )
}

/// Scrapes /metrics and parses the Prometheus text format strictly enough to catch garbage:
/// every sample line is `name{labels} value` with a float value, and every metric has TYPE.
fn scrape(port: u16) -> HashMap<String, f64> {
    let (head, body) = metrics_http(port);
    assert!(head.contains("text/plain; version=0.0.4"));
    let mut typed = std::collections::HashSet::new();
    let mut samples = HashMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            let name = it.next().unwrap();
            let kind = it.next().unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').expect("sample line");
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let name = key.split('{').next().unwrap();
        let base = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            typed.contains(name) || typed.contains(base),
            "sample without TYPE: {line}"
        );
        if key.contains('{') {
            assert!(key.ends_with('}'), "{line}");
        }
        samples.insert(key.to_string(), v);
    }
    samples
}

fn get(m: &HashMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_sent() {
    let c = Cluster::shared();
    let (ap, mp) = (free_port(), free_port());
    let p = Proxy::start(&c, &ops_toml(ap, mp));
    let pool = p.pool(&c, Some("rwtest"));
    let mut conn = pool.get_conn().await.unwrap();
    // (taken after connecting: mysql_async runs its own SELECT of server settings at connect)
    let before = scrape(mp);
    for i in 0..100 {
        let _: Option<i64> = conn.query_first(format!("SELECT {i}")).await.unwrap();
    }
    conn.query_drop("CREATE TABLE IF NOT EXISTS m_t (id INT)")
        .await
        .unwrap();
    for i in 0..10 {
        conn.query_drop(format!("INSERT INTO m_t VALUES ({i})"))
            .await
            .unwrap();
    }
    drop(conn);
    pool.disconnect().await.unwrap();
    let after = scrape(mp);
    let sel = r#"rwsplit_queries_total{kind="select",route="replica"}"#;
    let ins = r#"rwsplit_queries_total{kind="insert",route="master"}"#;
    assert_eq!(
        get(&after, sel) - get(&before, sel),
        100.0,
        "100 reads counted on the replica route"
    );
    assert_eq!(
        get(&after, ins) - get(&before, ins),
        10.0,
        "10 writes counted on the master route"
    );
    assert!(get(&after, "rwsplit_client_connections_total") >= 1.0);
    assert!(
        get(&after, "rwsplit_client_bytes_sent_total")
            > get(&before, "rwsplit_client_bytes_sent_total")
    );
    let up = format!(
        r#"rwsplit_backend_state{{backend="127.0.0.1:{}",cluster="main",role="master",state="up"}}"#,
        c.master_port()
    );
    assert_eq!(get(&after, &up), 1.0, "master state gauge");
    assert!(after
        .keys()
        .any(|k| k.starts_with("rwsplit_query_duration_seconds_bucket")));
}

fn admin(port: u16, sql: &str) -> std::process::Output {
    mariadb(port, "admin", "adminsecret", sql)
}

#[test]
fn admin_interface_shows_and_drains_backends() {
    let c = Cluster::shared();
    let (ap, mp) = (free_port(), free_port());
    let p = Proxy::start(&c, &ops_toml(ap, mp));
    let out = admin(ap, "SHOW BACKENDS");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{}\tmaster\tup", c.master_port())),
        "{text}"
    );
    let r1 = c.replica_ports()[0];
    let out = admin(ap, &format!("SET BACKEND 127.0.0.1:{r1} OFFLINE"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&admin(ap, "SHOW BACKENDS").stdout).contains("draining"));
    for _ in 0..30 {
        assert_ne!(
            p.sql_ok(&c, "SELECT @@server_id")[0],
            c.replica_ids()[0],
            "an offline replica gets no reads"
        );
    }
    admin(ap, &format!("SET BACKEND 127.0.0.1:{r1} ONLINE"));
    eventually("replica back online", Duration::from_secs(5), || {
        (0..10).any(|_| p.sql_ok(&c, "SELECT @@server_id")[0] == c.replica_ids()[0])
    });
    let out = admin(ap, "RELOAD");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8_lossy(&admin(ap, "SHOW CONFIG").stdout).to_string();
    assert!(
        out.contains("users[0].password\t***") && !out.contains(c.password()),
        "secrets masked:\n{out}"
    );
    let sessions = admin(ap, "SHOW SESSIONS");
    assert!(sessions.status.success());
    let digests = String::from_utf8_lossy(&admin(ap, "SHOW DIGESTS").stdout).to_string();
    assert!(digests.contains("select @@server_id\t"), "{digests}");
    let bad = mariadb(ap, "admin", "wrong", "SHOW BACKENDS");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("1045"));
    assert!(
        !p.log().contains("adminsecret"),
        "admin password never logged"
    );
    // No secret in the log, the metrics or the admin views.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", mp)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut metrics = String::new();
    s.read_to_string(&mut metrics).unwrap();
    let sessions = String::from_utf8_lossy(&sessions.stdout).to_string();
    let backends = String::from_utf8_lossy(&admin(ap, "SHOW BACKENDS").stdout).to_string();
    for secret in [c.password(), "monitorpass", "adminsecret"] {
        for (what, text) in [
            ("log", p.log()),
            ("metrics", metrics.clone()),
            ("SHOW CONFIG", out.clone()),
            ("SHOW SESSIONS", sessions.clone()),
            ("SHOW BACKENDS", backends.clone()),
        ] {
            assert!(!text.contains(secret), "{secret:?} appears in the {what}");
        }
    }
}

#[test]
fn sigterm_lets_the_running_statement_finish_then_exits_zero() {
    let c = Cluster::shared();
    let mut p = Proxy::start(&c, "");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    raw.write_packet(0, b"\x03SELECT SLEEP(2), 'done'");
    std::thread::sleep(Duration::from_millis(400));
    let start = Instant::now();
    p.send_signal("TERM");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", p.port)).is_err(),
        "new connections are refused while draining"
    );
    let mut resp = Vec::new();
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = raw.stream.read_to_end(&mut resp);
    assert!(
        String::from_utf8_lossy(&resp).contains("done"),
        "the running statement's result arrived: {resp:?}"
    );
    let status = p.wait_exit(Duration::from_secs(10)).expect("process exits");
    assert!(status.success(), "exit status {status:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn version_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rwsplit "));
}

#[test]
fn init_d_script_starts_reports_reloads_and_stops_a_real_process() {
    use std::process::Command;
    let c = Cluster::shared();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("initd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let config = dir.join("proxy.toml");
    std::fs::write(&config, c.proxy_toml(port, "")).unwrap();
    let id = |flag: &str| {
        String::from_utf8(Command::new("id").arg(flag).output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string()
    };
    let defaults = dir.join("defaults");
    std::fs::write(
        &defaults,
        format!(
            "DAEMON={}\nCONFIG={}\nRUN_DIR={}\nPIDFILE={}\nLOGFILE={}\nRWSPLIT_USER={}\nRWSPLIT_GROUP={}\nENV_FILE=/nonexistent\nSTOP_SCHEDULE=TERM/10/KILL/2\n",
            env!("CARGO_BIN_EXE_rwsplit"),
            config.display(),
            dir.join("run").display(),
            dir.join("run/rwsplit.pid").display(),
            dir.join("log/rwsplit.log").display(),
            id("-un"),
            id("-gn"),
        ),
    )
    .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/init.d/rwsplit");
    let run = |action: &str| {
        let out = Command::new("sh")
            .arg(&script)
            .arg(action)
            .env("RWSPLIT_DEFAULTS", &defaults)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (rc, out) = run("start");
    assert_eq!(rc, 0, "start: {out}");
    let (rc, out) = run("status");
    assert_eq!(rc, 0, "status: {out}");
    assert!(out.contains("is running"));
    assert!(
        !mariadb(port, c.user(), c.password(), "SELECT 1")
            .stdout
            .is_empty(),
        "the started proxy serves"
    );
    // reload: a new replica set is picked up by the running process
    let r2_only = std::fs::read_to_string(&config).unwrap().replace(
        &format!(
            "[[replicas]]\naddress = \"127.0.0.1:{}\"\nweight = 1\n",
            c.replica_ports()[0]
        ),
        "",
    );
    assert!(!r2_only.contains(&c.replica_ports()[0].to_string()));
    std::fs::write(&config, r2_only).unwrap();
    let (rc, out) = run("reload");
    assert_eq!(rc, 0, "reload: {out}");
    eventually("reloaded", Duration::from_secs(5), || {
        std::fs::read_to_string(dir.join("log/rwsplit.log"))
            .unwrap_or_default()
            .contains("configuration reloaded")
    });
    let (rc, out) = run("stop");
    assert_eq!(rc, 0, "stop: {out}");
    let (rc, _) = run("status");
    assert_eq!(rc, 3, "not running after stop");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
