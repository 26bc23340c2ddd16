//! Shared plumbing for the end-to-end tests: the real MariaDB cluster started by
//! `scripts/cluster.sh` (ports read from `$RWSPLIT_CLUSTER_ENV`), a real rwsplit process, and
//! real clients (the `mariadb` CLI, mysql_async).
#![allow(dead_code)]

pub mod text_client;

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod wire;
#[allow(unused_imports)]
pub use wire::*;

/// The running test cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub vars: HashMap<String, String>,
    pub env_file: PathBuf,
}

impl Cluster {
    /// The cluster `scripts/test.sh` started for this run.
    pub fn shared() -> Cluster {
        let path = std::env::var("RWSPLIT_CLUSTER_ENV").unwrap_or_else(|_| {
            let default = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cluster/env");
            default.to_string_lossy().into_owned()
        });
        Self::load(Path::new(&path)).unwrap_or_else(|e| {
            panic!("no test cluster ({path}: {e}); run the tests with scripts/test.sh, or scripts/cluster.sh up first")
        })
    }

    /// A cluster of its own, for tests that kill servers. Stopped when dropped.
    pub fn private(name: &str) -> PrivateCluster {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{name}"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cluster.sh");
        let _ = Command::new(&script)
            .arg("down")
            .env("RWSPLIT_CLUSTER_DIR", &dir)
            .output();
        let out = Command::new(&script)
            .arg("up")
            .env("RWSPLIT_CLUSTER_DIR", &dir)
            .output()
            .expect("run cluster.sh");
        assert!(
            out.status.success(),
            "cluster.sh up failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Self::load(&dir.join("env")).expect("private cluster env");
        PrivateCluster {
            cluster,
            dir,
            script,
        }
    }

    fn load(path: &Path) -> std::io::Result<Cluster> {
        let text = std::fs::read_to_string(path)?;
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_string(),
                    v.trim().trim_matches('"').trim_matches('\'').to_string(),
                )
            })
            .collect();
        Ok(Cluster {
            vars,
            env_file: path.to_path_buf(),
        })
    }

    pub fn var(&self, k: &str) -> &str {
        self.vars
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing from cluster env"))
    }

    pub fn master_port(&self) -> u16 {
        self.var("MASTER_PORT").parse().unwrap()
    }

    pub fn replica_ports(&self) -> Vec<u16> {
        vec![
            self.var("REPLICA1_PORT").parse().unwrap(),
            self.var("REPLICA2_PORT").parse().unwrap(),
        ]
    }

    pub fn master_id(&self) -> String {
        self.vars
            .get("MASTER_SERVER_ID")
            .cloned()
            .unwrap_or("1".into())
    }

    pub fn replica_ids(&self) -> Vec<String> {
        vec![
            self.vars
                .get("REPLICA1_SERVER_ID")
                .cloned()
                .unwrap_or("2".into()),
            self.vars
                .get("REPLICA2_SERVER_ID")
                .cloned()
                .unwrap_or("3".into()),
        ]
    }

    /// The second cluster's master (`scripts/cluster.sh`'s `master2`): a cluster of its own,
    /// for `[[clusters]]` tests.
    pub fn master2_port(&self) -> u16 {
        self.var("MASTER2_PORT").parse().unwrap()
    }

    /// The second cluster's replica (`replica3`), replicating from `master2`.
    pub fn replica3_port(&self) -> u16 {
        self.var("REPLICA3_PORT").parse().unwrap()
    }

    pub fn master2_id(&self) -> String {
        self.var("MASTER2_SERVER_ID").to_string()
    }

    pub fn replica3_id(&self) -> String {
        self.var("REPLICA3_SERVER_ID").to_string()
    }

    /// mysql_async options for a connection straight to the master (the "direct" side of a
    /// comparison), as the app account.
    pub fn direct_opts(&self, db: Option<&str>) -> mysql_async::OptsBuilder {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.master_port())
            .user(Some(self.user()))
            .pass(Some(self.password()))
            .db_name(db)
    }

    pub fn user(&self) -> &str {
        self.vars
            .get("APP_USER")
            .map(String::as_str)
            .unwrap_or("app")
    }

    pub fn password(&self) -> &str {
        self.vars
            .get("APP_PASSWORD")
            .map(String::as_str)
            .unwrap_or("apppass")
    }

    /// A proxy.toml for this cluster; `extra` is appended (extra sections).
    pub fn proxy_toml(&self, listen_port: u16, extra: &str) -> String {
        let replicas: String = self
            .replica_ports()
            .iter()
            .map(|p| format!("[[replicas]]\naddress = \"127.0.0.1:{p}\"\nweight = 1\n\n"))
            .collect();
        format!(
            "listen = \"127.0.0.1:{listen_port}\"\n\n[master]\naddress = \"127.0.0.1:{}\"\n\n{replicas}[[users]]\nname = \"{}\"\npassword = \"{}\"\n\n{extra}\n",
            self.master_port(),
            self.user(),
            self.password()
        )
    }

    /// Runs SQL as root over the node's Unix socket (`master`, `replica1`, `replica2`,
    /// `master2`, `replica3`): for
    /// what the app account may not do (replication control, global variables).
    pub fn root_sql(&self, node: &str, sql: &str) {
        self.root_rows(node, sql);
    }

    /// Runs SQL as root over a node's Unix socket and returns its rows (batch mode,
    /// tab-separated).
    pub fn root_rows(&self, node: &str, sql: &str) -> Vec<String> {
        let sock = self
            .var(&format!("{}_SOCKET", node.to_ascii_uppercase()))
            .to_string();
        let out = Command::new("mariadb")
            .args([
                "--no-defaults",
                "-uroot",
                &format!("--socket={sock}"),
                "-N",
                "-B",
                "-e",
                sql,
            ])
            .output()
            .expect("mariadb CLI");
        assert!(
            out.status.success(),
            "{node}: {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A new empty database `db` on the master, replicated to both replicas before it returns.
    pub fn fresh_db(&self, db: &str) {
        let out = mariadb(
            self.master_port(),
            self.user(),
            self.password(),
            &format!("DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}"),
        );
        assert!(
            out.status.success(),
            "create {db}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.wait_replicas();
    }

    /// Waits until both replicas have applied everything the master has binlogged so far.
    pub fn wait_replicas(&self) {
        let pos = mariadb(
            self.master_port(),
            self.user(),
            self.password(),
            "SELECT @@gtid_binlog_pos",
        );
        let pos = String::from_utf8_lossy(&pos.stdout).trim().to_string();
        for port in self.replica_ports() {
            let w = mariadb(
                port,
                self.user(),
                self.password(),
                &format!("SELECT MASTER_GTID_WAIT('{pos}', 20)"),
            );
            assert_eq!(
                String::from_utf8_lossy(&w.stdout).trim(),
                "0",
                "replica {port} did not reach {pos}: {}",
                String::from_utf8_lossy(&w.stderr)
            );
        }
    }

    /// Several global status counters of one server, read in one statement (directly, not
    /// through the proxy).
    pub fn status_counters(&self, port: u16, names: &[&str]) -> HashMap<String, i64> {
        if names.is_empty() {
            return HashMap::new();
        }
        let list = names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(",");
        let out = mariadb(
            port,
            self.user(),
            self.password(),
            &format!("SHOW GLOBAL STATUS WHERE Variable_name IN ({list})"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let map: HashMap<String, i64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.to_string(), v.trim().parse().unwrap()))
            .collect();
        for n in names {
            assert!(map.contains_key(*n), "no status counter {n}");
        }
        map
    }

    /// Status counters summed over both replicas.
    pub fn replica_status_counters(&self, names: &[&str]) -> HashMap<String, i64> {
        let mut total: HashMap<String, i64> = HashMap::new();
        for port in self.replica_ports() {
            for (k, v) in self.status_counters(port, names) {
                *total.entry(k).or_default() += v;
            }
        }
        total
    }

    /// `SHOW GLOBAL STATUS` counter of one server, read directly (not through the proxy).
    pub fn status_counter(&self, port: u16, name: &str) -> u64 {
        let out = mariadb(
            port,
            self.user(),
            self.password(),
            &format!("SHOW GLOBAL STATUS LIKE '{name}'"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no counter {name}"))
    }
}

/// A cluster started for one test; torn down on drop.
pub struct PrivateCluster {
    pub cluster: Cluster,
    dir: PathBuf,
    script: PathBuf,
}

impl PrivateCluster {
    pub fn stop_node(&self, node: &str) {
        let out = Command::new(&self.script)
            .args(["stop-node", node])
            .env("RWSPLIT_CLUSTER_DIR", &self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stop-node: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start_node(&self, node: &str) {
        let out = Command::new(&self.script)
            .args(["start-node", node])
            .env("RWSPLIT_CLUSTER_DIR", &self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "start-node: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A node made silent with SIGSTOP (its TCP connections stay open and nothing answers: what
/// a dead cloud host looks like); SIGCONT when dropped, also when the test fails.
pub struct Paused {
    pid: String,
}

impl PrivateCluster {
    fn node_pid(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir.join(node).join("mariadbd.pid"))
            .expect("node pid file")
            .trim()
            .to_string()
    }

    pub fn pause_node(&self, node: &str) -> Paused {
        let pid = self.node_pid(node);
        let ok = Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -STOP {pid}");
        // Stopped for sure before the test goes on (state T in /proc).
        eventually("node stopped", Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit(')')
                        .next()
                        .map(|r| r.trim_start().starts_with('T'))
                })
                .unwrap_or(false)
        });
        Paused { pid }
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.pid]).status();
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // A node left stopped would not shut down.
        for node in ["master", "replica1", "replica2", "master2", "replica3"] {
            if let Ok(pid) = std::fs::read_to_string(self.dir.join(node).join("mariadbd.pid")) {
                let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
            }
        }
        let _ = Command::new(&self.script)
            .arg("down")
            .env("RWSPLIT_CLUSTER_DIR", &self.dir)
            .output();
    }
}

/// `GET /metrics` on a proxy's metrics port: the response head and the exposition text.
pub fn metrics_http(port: u16) -> (String, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    (head.to_string(), body.to_string())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running rwsplit process with its own config file and log.
pub struct Proxy {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Proxy {
    pub fn start(cluster: &Cluster, extra: &str) -> Proxy {
        Self::start_args(cluster, extra, &[])
    }

    /// [`Proxy::start`] with extra command-line arguments.
    pub fn start_args(cluster: &Cluster, extra: &str, args: &[&str]) -> Proxy {
        Self::start_with(cluster, |port| cluster.proxy_toml(port, extra), args)
    }

    /// Starts rwsplit with the config text `toml(port)` and extra command-line arguments.
    pub fn start_with(_cluster: &Cluster, toml: impl Fn(u16) -> String, args: &[&str]) -> Proxy {
        let port = free_port();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("proxy-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("proxy.toml");
        std::fs::write(&config, toml(port)).unwrap();
        let log = std::fs::File::create(dir.join("rwsplit.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("RWSPLIT_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start rwsplit");
        let proxy = Proxy { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rwsplit did not listen; log:\n{}",
                proxy.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("rwsplit.log")).unwrap_or_default()
    }

    /// Runs SQL through the proxy with the mariadb CLI (batch mode, no column names).
    pub fn sql(&self, cluster: &Cluster, sql: &str) -> Output {
        mariadb(self.port, cluster.user(), cluster.password(), sql)
    }

    /// Like `sql` but panics on failure and returns stdout lines.
    pub fn sql_ok(&self, cluster: &Cluster, sql: &str) -> Vec<String> {
        let out = self.sql(cluster, sql);
        assert!(
            out.status.success(),
            "{sql}: {}\nproxy log tail:\n{}",
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 30)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn url(&self, cluster: &Cluster, db: Option<&str>) -> String {
        format!(
            "mysql://{}:{}@127.0.0.1:{}/{}",
            cluster.user(),
            cluster.password(),
            self.port,
            db.unwrap_or("")
        )
    }

    /// mysql_async options for a connection through the proxy as the cluster's app account.
    /// prefer_socket(false): otherwise mysql_async asks for @@socket and reconnects to the
    /// backend's Unix socket, bypassing the proxy.
    pub fn opts(&self, cluster: &Cluster, db: Option<&str>) -> mysql_async::Opts {
        self.opts_as(cluster.user(), cluster.password(), db)
    }

    /// [`Proxy::opts`] logging in as `user` with `password` (another account of the proxy's
    /// `[[users]]`).
    pub fn opts_as(&self, user: &str, password: &str, db: Option<&str>) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(user))
            .pass(Some(password))
            .db_name(db)
            .prefer_socket(false)
            .into()
    }

    /// A mysql_async pool through the proxy (see [`Proxy::opts`]).
    pub fn pool(&self, cluster: &Cluster, db: Option<&str>) -> mysql_async::Pool {
        mysql_async::Pool::new(self.opts(cluster, db))
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The proxy's resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// The proxy's process id (for /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send_signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The mariadb CLI against 127.0.0.1:`port` in batch mode (-N -B), with no defaults files.
pub fn mariadb(port: u16, user: &str, password: &str, sql: &str) -> Output {
    mariadb_args(port, user, password, &[], sql)
}

pub fn mariadb_args(port: u16, user: &str, password: &str, args: &[&str], sql: &str) -> Output {
    let mut cmd = Command::new("mariadb");
    cmd.arg("--no-defaults")
        .arg("-h127.0.0.1")
        .arg(format!("-P{port}"))
        .arg(format!("-u{user}"))
        .arg(format!("-p{password}"))
        .arg("-N")
        .arg("-B")
        // keep comments: routing hints live in them (the CLI strips them by default)
        .arg("--comments")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("mariadb CLI on PATH");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Waits until `f` returns true (replication catching up and the like).
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A hand-driven client connection, for sending packets no real client would send.
pub struct RawClient {
    pub stream: std::net::TcpStream,
    /// The connection id from the greeting (the proxy's own id).
    pub connection_id: u32,
}

impl RawClient {
    /// Capabilities of [`RawClient::login`]: PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH,
    /// MULTI_STATEMENTS, MULTI_RESULTS.
    pub const CAPS: u32 = 0x0000_0200 | 0x0000_8000 | 0x0008_0000 | 0x0001_0000 | 0x0002_0000;

    /// Logs in with mysql_native_password over a plain socket.
    pub fn login(port: u16, user: &str, password: &str) -> RawClient {
        Self::login_with(port, user, password, Self::CAPS)
    }

    /// [`RawClient::login`] with these capability flags.
    pub fn login_with(port: u16, user: &str, password: &str, caps: u32) -> RawClient {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        Self::login_on(stream, user, password, caps)
    }

    /// [`RawClient::login`] from another local address (127.0.0.2, ...): the proxy sees
    /// another client host.
    pub fn login_from(
        from: std::net::Ipv4Addr,
        port: u16,
        user: &str,
        password: &str,
    ) -> RawClient {
        Self::try_login_from(from, port, user, password).expect("login OK")
    }

    /// [`RawClient::login_from`] that returns the server's refusal (the ERR payload).
    pub fn try_login_from(
        from: std::net::Ipv4Addr,
        port: u16,
        user: &str,
        password: &str,
    ) -> Result<RawClient, Vec<u8>> {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&std::net::SocketAddr::from((from, 0)).into())
            .unwrap();
        socket
            .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())
            .unwrap();
        Self::try_login_on(socket.into(), user, password, Self::CAPS)
    }

    /// Logs in on a connected stream.
    pub fn login_on(
        stream: std::net::TcpStream,
        user: &str,
        password: &str,
        caps: u32,
    ) -> RawClient {
        Self::try_login_on(stream, user, password, caps).expect("login OK")
    }

    /// [`RawClient::login_on`] that returns the server's refusal (the ERR payload).
    pub fn try_login_on(
        stream: std::net::TcpStream,
        user: &str,
        password: &str,
        caps: u32,
    ) -> Result<RawClient, Vec<u8>> {
        use mysql_common::io::ParseBuf;
        use mysql_common::packets::HandshakePacket;
        use mysql_common::proto::MyDeserialize;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut c = RawClient {
            stream,
            connection_id: 0,
        };
        let (_, greeting) = c.read_packet();
        let g = HandshakePacket::deserialize((), &mut ParseBuf(&greeting)).unwrap();
        c.connection_id = g.connection_id();
        let nonce = g.nonce();
        let scramble =
            mysql_common::scramble::scramble_native(&nonce, password.as_bytes()).unwrap();
        let mut resp = Vec::new();
        resp.extend_from_slice(&caps.to_le_bytes());
        resp.extend_from_slice(&(16u32 << 20).to_le_bytes());
        resp.push(45);
        resp.extend_from_slice(&[0u8; 23]);
        resp.extend_from_slice(user.as_bytes());
        resp.push(0);
        resp.push(20);
        resp.extend_from_slice(&scramble);
        resp.extend_from_slice(b"mysql_native_password\0");
        c.write_packet(1, &resp);
        let (_, ok) = c.read_packet();
        if ok[0] != 0x00 {
            return Err(ok);
        }
        Ok(c)
    }

    pub fn write_packet(&mut self, seq: u8, payload: &[u8]) {
        use std::io::Write;
        let mut b = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        b.push(seq);
        b.extend_from_slice(payload);
        self.stream.write_all(&b).unwrap();
    }

    pub fn read_packet(&mut self) -> (u8, Vec<u8>) {
        use std::io::Read;
        let mut h = [0u8; 4];
        self.stream.read_exact(&mut h).unwrap();
        let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).unwrap();
        (h[3], body)
    }
}

impl RawClient {
    /// Sends a COM_QUERY and returns the whole response as raw bytes (headers included),
    /// using the proxy's own response scanner to find its end.
    pub fn query_raw(&mut self, sql: &str) -> Vec<u8> {
        use rwsplit::protocol::scan::{Expect, Scanner, Step};
        use std::io::Read;
        let mut payload = vec![0x03];
        payload.extend_from_slice(sql.as_bytes());
        self.write_packet(0, &payload);
        let mut buf = Vec::new();
        let mut scanner = Scanner::new(Expect::Results { binary: false }, false);
        let mut pos = 0;
        loop {
            match scanner.scan(&mut buf, pos) {
                Step::Done(n) => {
                    assert_eq!(n, buf.len(), "bytes after the end of the response");
                    return buf;
                }
                Step::NeedMore(n) | Step::Rewrite { end: n, .. } => pos = n,
                Step::LocalInfile(_) => panic!("unexpected LOCAL INFILE request"),
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed mid-response");
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `after - before`, counter by counter.
pub fn delta(before: &HashMap<String, i64>, after: &HashMap<String, i64>) -> HashMap<String, i64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before[k]))
        .collect()
}

/// Fails, listing every line that differs and then both outputs in full.
pub fn assert_same(scenario: &str, direct: &[String], proxied: &[String], proxy: &Proxy) {
    if direct == proxied {
        return;
    }
    let mut diff = String::new();
    let n = direct.len().max(proxied.len());
    let mut differing = 0;
    for i in 0..n {
        let (a, b) = (direct.get(i), proxied.get(i));
        if a != b {
            differing += 1;
            diff.push_str(&format!(
                "line {}:\n  direct: {}\n  proxy:  {}\n",
                i + 1,
                a.map(String::as_str).unwrap_or("<missing>"),
                b.map(String::as_str).unwrap_or("<missing>")
            ));
        }
    }
    panic!(
        "{scenario}: {differing} of {n} lines differ between a direct connection and rwsplit\n\
         {diff}\n--- direct, in full ---\n{}\n--- through rwsplit, in full ---\n{}\n--- proxy log tail ---\n{}",
        direct.join("\n"),
        proxied.join("\n"),
        tail(&proxy.log(), 25)
    );
}
