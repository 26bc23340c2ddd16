//! TLS from clients to the proxy and from the proxy to the backends, against the test cluster,
//! whose nodes offer TLS with a certificate from its own CA (scripts/cluster.sh, `TLS_DIR`).

mod common;

use common::*;

/// `[tls]` with the cluster's certificate toward clients and its CA toward backends.
fn tls_section(cluster: &Cluster, extra: &str) -> String {
    let d = cluster.var("TLS_DIR");
    format!(
        "[tls]\ncert = \"{d}/server.pem\"\nkey = \"{d}/server.key\"\nbackend_ca = \"{d}/ca.pem\"\n{extra}\n"
    )
}

/// The mariadb CLI through the proxy with TLS, verifying the proxy's certificate.
fn tls_client(proxy: &Proxy, cluster: &Cluster, sql: &str) -> std::process::Output {
    let ca = format!("--ssl-ca={}/ca.pem", cluster.var("TLS_DIR"));
    mariadb_args(
        proxy.port,
        cluster.user(),
        cluster.password(),
        &["--ssl", &ca, "--ssl-verify-server-cert"],
        sql,
    )
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The backend's view of the proxy's connection: its server id and the TLS cipher in use.
const BACKEND_SIDE: &str = "SELECT @@server_id, IFNULL((SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'), '')";

#[test]
fn tls_front_and_back() {
    let cluster = Cluster::shared();
    let proxy = Proxy::start(
        &cluster,
        &tls_section(&cluster, "backend_tls = \"required\""),
    );

    // Front: the CLI verifies the proxy's certificate and reports the cipher.
    let out = tls_client(&proxy, &cluster, "status\n");
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        tail(&proxy.log(), 20)
    );
    assert!(
        text(&out).contains("Cipher in use is"),
        "client side not encrypted: {}",
        text(&out)
    );
    assert!(
        proxy.log().contains("tls=\"TLS13_"),
        "the session log names the cipher: {}",
        tail(&proxy.log(), 10)
    );

    // Back: every backend the session used sees an encrypted connection from the proxy.
    // Reads go to the replicas, the master gets the write.
    let mut replica_ids = std::collections::HashSet::new();
    for _ in 0..12 {
        let out = tls_client(&proxy, &cluster, &format!("{BACKEND_SIDE};\n"));
        assert!(out.status.success(), "{}", text(&out));
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (id, cipher) = line.split_once('\t').expect("two columns");
        assert!(
            !cipher.is_empty(),
            "replica {id} connection not encrypted: {line:?}"
        );
        replica_ids.insert(id.to_string());
    }
    assert!(
        !replica_ids.contains(&cluster.master_id()),
        "plain reads reached the master"
    );
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS rwtest.tls_t (id INT PRIMARY KEY);\nBEGIN;\nREPLACE INTO rwtest.tls_t VALUES (1);\n{BACKEND_SIDE};\nCOMMIT;\n"
    );
    let out = tls_client(&proxy, &cluster, &sql);
    assert!(out.status.success(), "{}", text(&out));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (id, cipher) = line.split_once('\t').expect("two columns");
    assert_eq!(id, cluster.master_id(), "the transaction ran on the master");
    assert!(
        !cipher.is_empty(),
        "master connection not encrypted: {line:?}"
    );

    // A client that does not ask for TLS still works (not required), and the backend side
    // stays encrypted whatever the client does.
    let out = mariadb_args(
        proxy.port,
        cluster.user(),
        cluster.password(),
        &["--skip-ssl"],
        &format!("status;\n{BACKEND_SIDE};\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Not in use"), "{}", text(&out));
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        !last.split('\t').nth(1).unwrap_or("").is_empty(),
        "{last:?}"
    );
}

#[test]
fn require_client_tls_refuses_plain_clients_with_the_servers_error() {
    let cluster = Cluster::shared();
    let proxy = Proxy::start(
        &cluster,
        &tls_section(&cluster, "require_client_tls = true"),
    );
    let out = mariadb_args(
        proxy.port,
        cluster.user(),
        cluster.password(),
        &["--skip-ssl"],
        "SELECT 1;\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ERROR 3159 (08004)")
            && text(&out).contains("insecure transport are prohibited"),
        "{}",
        text(&out)
    );
    let out = tls_client(&proxy, &cluster, "SELECT 1;\n");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}

#[test]
fn backend_certificate_is_verified_against_backend_ca() {
    let cluster = Cluster::shared();
    // A CA that did not sign the servers' certificate: the server certificate itself (not a
    // CA) as the trust root.
    let d = cluster.var("TLS_DIR");
    let proxy = Proxy::start(
        &cluster,
        &format!("[tls]\nbackend_ca = \"{d}/server.pem\"\nbackend_tls = \"required\"\n"),
    );
    let out = proxy.sql(&cluster, "SELECT 1;\n");
    assert!(!out.status.success(), "login must fail: {}", text(&out));
    assert!(text(&out).contains("ERROR 1429"), "{}", text(&out));
    let log = proxy.log();
    assert!(
        log.contains("TLS handshake") && log.to_lowercase().contains("certificate"),
        "{}",
        tail(&log, 20)
    );

    // With the right CA, the same setup logs in.
    let proxy = Proxy::start(
        &cluster,
        &format!("[tls]\nbackend_ca = \"{d}/ca.pem\"\nbackend_tls = \"required\"\n"),
    );
    assert_eq!(proxy.sql_ok(&cluster, "SELECT 1;\n"), vec!["1"]);
}

#[test]
fn unreadable_certificate_is_refused_at_startup_and_on_reload() {
    let cluster = Cluster::shared();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("proxy.toml");
    let bad = "[tls]\ncert = \"/nonexistent/server.pem\"\nkey = \"/nonexistent/server.key\"\n";
    std::fs::write(&config, cluster.proxy_toml(free_port(), bad)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tls.cert") && err.contains("/nonexistent/server.pem"),
        "{err}"
    );

    // Running with TLS, a reload that breaks the certificate keeps the working setup.
    let good = tls_section(&cluster, "");
    let proxy = Proxy::start(&cluster, &good);
    std::fs::write(
        proxy.dir.join("proxy.toml"),
        cluster.proxy_toml(proxy.port, bad),
    )
    .unwrap();
    eventually(
        "reload failure logged",
        std::time::Duration::from_secs(5),
        || proxy.log().contains("reload failed"),
    );
    let out = tls_client(&proxy, &cluster, "status\n");
    assert!(text(&out).contains("Cipher in use is"), "{}", text(&out));
}
