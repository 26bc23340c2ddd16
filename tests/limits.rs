//! Connection limits against the real cluster: the proxy-wide `max_client_connections` under a
//! burst of clients, and the per-account `max_user_connections`.

mod common;

use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

fn server_code(e: &mysql_async::Error) -> Option<(u16, String, String)> {
    match e {
        mysql_async::Error::Server(s) => Some((s.code, s.state.clone(), s.message.clone())),
        _ => None,
    }
}

/// Opens `n` connections at once; returns the ones that logged in and the errors of the rest.
async fn burst(
    opts: &mysql_async::Opts,
    n: usize,
) -> (Vec<mysql_async::Conn>, Vec<mysql_async::Error>) {
    // A client whose connection the proxy never picks up would wait for its greeting forever:
    // bound it, so such a loss fails the test instead of hanging it.
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let o = opts.clone();
            tokio::spawn(tokio::time::timeout(
                Duration::from_secs(60),
                mysql_async::Conn::new(o),
            ))
        })
        .collect();
    let (mut ok, mut err) = (Vec::new(), Vec::new());
    for t in tasks {
        let r = t
            .await
            .unwrap()
            .expect("no answer from the proxy within 60 s");
        match r {
            Ok(c) => ok.push(c),
            Err(e) => err.push(e),
        }
    }
    (ok, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_clients_against_a_limit_of_five_hundred() {
    let c = Cluster::shared();
    let proxy = Proxy::start(&c, "[limits]\nmax_client_connections = 500\n");
    let rss_before = proxy.rss_kib();
    let o = proxy.opts(&c, None);

    let (conns, errors) = burst(&o, 2000).await;
    // Every connection that got in is still open: exactly the excess was refused.
    assert_eq!(conns.len(), 500, "logged in: {}", conns.len());
    assert_eq!(errors.len(), 1500);
    for e in &errors {
        let (code, state, message) =
            server_code(e).unwrap_or_else(|| panic!("not a server error: {e:?}"));
        assert_eq!(
            (code, state.as_str(), message.as_str()),
            (1040, "HY000", "Too many connections")
        );
    }
    // The refusals are logged at a limited rate (the first at once), not one line each.
    let lines = proxy
        .log()
        .matches("max_client_connections reached")
        .count();
    assert!((1..=3).contains(&lines), "{lines} lines for 1500 refusals");
    // The 500 work.
    let mut running = Vec::new();
    for mut conn in conns {
        running.push(tokio::spawn(async move {
            let v: Option<i64> = conn.query_first("SELECT 41 + 1").await.unwrap();
            assert_eq!(v, Some(42));
            conn
        }));
    }
    let mut conns = Vec::new();
    for r in running {
        conns.push(r.await.unwrap());
    }
    let rss_full = proxy.rss_kib();
    eprintln!(
        "proxy RSS: {rss_before} KiB idle, {rss_full} KiB with 500 sessions after a 2000 burst"
    );
    assert!(
        rss_full < rss_before + 128 * 1024,
        "memory not bounded: {rss_before} KiB -> {rss_full} KiB"
    );

    // When they close, the proxy serves a full 500 again.
    for conn in conns {
        conn.disconnect().await.unwrap();
    }
    let mut left = u64::MAX;
    eventually("sessions closed", Duration::from_secs(10), || {
        let out = mariadb(proxy.port, c.user(), c.password(), "SELECT 1");
        left = if out.status.success() { 0 } else { 1 };
        out.status.success()
    });
    let (conns, errors) = burst(&o, 500).await;
    assert!(errors.is_empty(), "{:?}", errors.first());
    assert_eq!(conns.len(), 500);
    for conn in conns {
        conn.disconnect().await.unwrap();
    }
    assert!(proxy.log().contains("max_client_connections reached"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_connection_limit() {
    let c = Cluster::shared();
    let monitor = (
        c.var("MONITOR_USER").to_string(),
        c.var("MONITOR_PASSWORD").to_string(),
    );
    let proxy = Proxy::start(
        &c,
        &format!(
            "[limits]\nmax_user_connections = 3\n\n[[users]]\nname = \"{}\"\npassword = \"{}\"\n",
            monitor.0, monitor.1
        ),
    );
    let app = proxy.opts(&c, None);
    let (mut held, errors) = burst(&app, 5).await;
    assert_eq!(held.len(), 3);
    assert_eq!(errors.len(), 2);
    for e in &errors {
        let (code, state, message) = server_code(e).unwrap_or_else(|| panic!("{e:?}"));
        assert_eq!((code, state.as_str()), (1203, "42000"));
        assert_eq!(
            message,
            format!(
                "User {} already has more than 'max_user_connections' active connections",
                c.user()
            )
        );
    }
    // Another account is not affected.
    let mut m = mysql_async::Conn::new(proxy.opts_as(&monitor.0, &monitor.1, None))
        .await
        .unwrap();
    let v: Option<i64> = m.query_first("SELECT 1").await.unwrap();
    assert_eq!(v, Some(1));
    // Closing one frees a slot.
    held.pop().unwrap().disconnect().await.unwrap();
    let mut again = None;
    for _ in 0..100 {
        match mysql_async::Conn::new(app.clone()).await {
            Ok(conn) => {
                again = Some(conn);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let mut again = again.expect("a slot freed by a closed connection");
    let v: Option<i64> = again.query_first("SELECT 2").await.unwrap();
    assert_eq!(v, Some(2));
    // CHANGE USER to an account at its limit is refused like a login.
    let r = m
        .change_user(
            mysql_async::ChangeUserOpts::default()
                .with_user(Some(c.user().to_string()))
                .with_pass(Some(c.password().to_string())),
        )
        .await;
    let e = r.expect_err("change to a full account");
    assert_eq!(server_code(&e).map(|x| x.0), Some(1203), "{e:?}");
    drop(m);
    for conn in held {
        conn.disconnect().await.unwrap();
    }
    again.disconnect().await.unwrap();
}

/// Reads until the proxy closes the connection; returns what it sent. Fails if it stays open.
fn read_until_closed(s: &mut std::net::TcpStream, what: &str) -> Vec<u8> {
    use std::io::Read;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("{what}: still open after 10 s ({e})"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_malformed_clients_are_dropped_and_reach_no_backend() {
    use std::io::Write;
    let c = Cluster::shared();
    let proxy = Proxy::start(
        &c,
        // multiplex off: the normal client keeps its backend connections, so the backends'
        // connection counters move only for what the bad clients would cause.
        "[limits]\nhandshake_timeout = \"1s\"\nmax_packet_size = \"1MiB\"\n\n[routing]\nmultiplex = false\n",
    );
    // A normal client, connected before and working throughout; its backend connections
    // (master at login, a replica at its first read) exist before counting starts.
    let mut normal = mysql_async::Conn::new(proxy.opts(&c, None)).await.unwrap();
    let _: Option<i64> = normal.query_first("SELECT 1").await.unwrap();
    let ports: Vec<u16> = std::iter::once(c.master_port())
        .chain(c.replica_ports())
        .collect();
    let before: Vec<u64> = ports
        .iter()
        .map(|p| c.status_counter(*p, "Connections"))
        .collect();

    let connect = || std::net::TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                rng_state ^= rng_state << 13;
                rng_state ^= rng_state >> 7;
                rng_state ^= rng_state << 17;
                rng_state as u8
            })
            .collect()
    };
    let mut cases: Vec<(&str, std::net::TcpStream)> = Vec::new();
    // Connects and sends nothing.
    cases.push(("silent", connect()));
    // Two bytes of a packet header.
    let mut s = connect();
    s.write_all(&[0x20, 0x00]).unwrap();
    cases.push(("half a header", s));
    // A header announcing 100 bytes, then 10 of them.
    let mut s = connect();
    s.write_all(&[100, 0, 0, 1]).unwrap();
    s.write_all(&[0x0d; 10]).unwrap();
    cases.push(("half a packet", s));
    // Chunks of a 1 GB logical packet (64 full 16 MiB headers in a row): over max_packet_size
    // at the first header, nothing allocated.
    let mut s = connect();
    s.write_all(&[0xff, 0xff, 0xff, 1]).unwrap();
    cases.push(("1 GB length header", s));
    // Random bytes.
    for i in 0..5 {
        let mut s = connect();
        let _ = s.write_all(&random(64 + i * 500));
        cases.push(("random bytes", s));
    }
    // The normal client keeps working while they hang around.
    for i in 0..10i64 {
        let v: Option<i64> = normal.query_first(format!("SELECT {i}")).await.unwrap();
        assert_eq!(v, Some(i));
    }
    for (what, mut s) in cases {
        let got = tokio::task::spawn_blocking(move || read_until_closed(&mut s, what))
            .await
            .unwrap();
        // Whatever the proxy said after its greeting is an error packet (or nothing).
        let greeting_len = if got.len() >= 4 {
            4 + u32::from_le_bytes([got[0], got[1], got[2], 0]) as usize
        } else {
            0
        };
        if got.len() > greeting_len + 4 {
            assert_eq!(got[greeting_len + 4], 0xFF, "{what}: {got:?}");
        }
    }
    let v: Option<i64> = normal.query_first("SELECT 42").await.unwrap();
    assert_eq!(v, Some(42));
    // No backend saw a connection for any of them (+1: the counter query itself).
    let after: Vec<u64> = ports
        .iter()
        .map(|p| c.status_counter(*p, "Connections"))
        .collect();
    for ((p, b), a) in ports.iter().zip(&before).zip(&after) {
        assert_eq!(*a, b + 1, "backend {p} got connections: {b} -> {a}");
    }
    assert!(
        proxy.log().contains("handshake timeout"),
        "{}",
        tail(&proxy.log(), 20)
    );
    normal.disconnect().await.unwrap();
}

/// Before authenticating, a client may send only a login-sized packet (16 KiB): a 20 KiB one
/// is refused without reaching a backend.
#[test]
fn big_packets_before_login_are_refused() {
    use std::io::{Read, Write};
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut greeting = [0u8; 4];
    s.read_exact(&mut greeting).unwrap();
    let len = u32::from_le_bytes([greeting[0], greeting[1], greeting[2], 0]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    let payload = vec![b'a'; 20 * 1024];
    let mut pkt = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    pkt.push(1);
    pkt.extend_from_slice(&payload);
    let _ = s.write_all(&pkt);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    // Closed, possibly after an error packet (never an OK).
    assert!(rest.len() < 4 || rest[4] == 0xFF, "{rest:?}");
}

/// CPU time (user + system, in clock ticks) a process has used, from /proc/PID/stat.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A proxy run under `prlimit --nofile=48:48` with `extra` in its proxy.toml, its metrics
/// endpoint on `metrics` (waited for): (the process, its directory with rwsplit.log, its port).
fn proxy_with_48_descriptors(
    c: &Cluster,
    name: &str,
    extra: &str,
    metrics: u16,
) -> (std::process::Child, std::path::PathBuf, u16) {
    use std::process::{Command, Stdio};
    let port = free_port();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("proxy.toml");
    let extra = format!("{extra}[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n");
    std::fs::write(&config, c.proxy_toml(port, &extra)).unwrap();
    let child = Command::new("prlimit")
        .arg("--nofile=48:48")
        .arg(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("rwsplit.log")).unwrap())
        .spawn()
        .expect("prlimit (util-linux)");
    eventually("listening", Duration::from_secs(15), || {
        std::net::TcpStream::connect(("127.0.0.1", metrics)).is_ok()
    });
    (child, dir, port)
}

/// Out of file descriptors (`ulimit -n`), the admin and metrics listeners back off as the
/// client listener does: a connection waiting in the kernel's queue that cannot be accepted
/// costs the proxy almost no CPU (an accept loop that retried at once spun a core).
#[test]
fn accept_loops_back_off_when_out_of_descriptors() {
    let c = Cluster::shared();
    let (admin, metrics) = (free_port(), free_port());
    let (mut child, dir, _) = proxy_with_48_descriptors(
        &c,
        "emfile",
        &format!("[admin]\nlisten = \"127.0.0.1:{admin}\"\nuser = \"admin\"\npassword = \"x\"\n\n"),
        metrics,
    );
    let pid = child.id();
    // Hold connections on every port until the proxy has no descriptor left for more.
    let mut held = Vec::new();
    for _ in 0..80 {
        for p in [admin, metrics] {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", p)) {
                held.push(s);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(pid) - before;
    let log = std::fs::read_to_string(dir.join("rwsplit.log")).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        log.contains("accept failed"),
        "the descriptors ran out: {}",
        tail(&log, 10)
    );
    // 2 s of a spinning loop is ~200 ticks; backing off costs a few.
    assert!(
        used < 40,
        "{used} ticks of CPU in 2 s while out of descriptors"
    );
}

/// Failed logins earn a growing delay for their address and account: the first few are
/// answered at once, the next ones wait longer and longer. A correct login is never delayed,
/// not even of the same account from another address; an admin login failure is logged.
#[test]
fn failed_logins_slow_down_their_own_address_only() {
    use std::time::Instant;
    let c = Cluster::shared();
    let admin = free_port();
    let p = Proxy::start(
        &c,
        &format!(
            "[admin]\nlisten = \"127.0.0.1:{admin}\"\nuser = \"admin\"\npassword = \"adminpw\"\n"
        ),
    );
    let mut took = Vec::new();
    for _ in 0..8 {
        let t = Instant::now();
        let out = mariadb(p.port, c.user(), "wrong-password", "SELECT 1");
        took.push(t.elapsed());
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("1045"));
    }
    // 4th..8th failures: 0.2, 0.4, 0.8, 1.6, 3.2 s before the answer.
    for (i, want) in [(3, 200u64), (4, 400), (5, 800), (6, 1600), (7, 3200)] {
        assert!(
            took[i] >= Duration::from_millis(want),
            "failure {} answered after {:?}",
            i + 1,
            took[i]
        );
    }
    // The next failure from this address waits 5 s; meanwhile a correct login of the same
    // account from another address (127.0.0.2) is answered at once.
    let attacker = {
        let (port, user) = (p.port, c.user().to_string());
        std::thread::spawn(move || mariadb(port, &user, "wrong-password", "SELECT 1"))
    };
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let mut other = RawClient::login_from([127, 0, 0, 2].into(), p.port, c.user(), c.password());
    let correct = t.elapsed();
    assert_eq!(
        other.query_bytes(b"SELECT 1")[0].first().as_deref(),
        Some("1")
    );
    assert!(!attacker.is_finished(), "the attacker still waits");
    assert!(
        correct < Duration::from_millis(2500),
        "a correct login waited {correct:?}"
    );
    attacker.join().unwrap();
    // The admin port counts failures the same way, and says so in the log.
    let out = mariadb(admin, "admin", "nope", "SHOW BACKENDS");
    assert!(!out.status.success());
    eventually("admin failure logged", Duration::from_secs(5), || {
        p.log().contains("admin login refused")
    });
}

/// A statement larger than `[limits] max_packet_size` gets the server's answer: ERR 1153,
/// numbered one past the chunk that crossed the limit (PyMySQL checks), and the connection
/// closes cleanly after it (the rest of the packet is read first: closing on unread bytes
/// would reset the connection and the client would see a lost connection instead).
#[test]
fn an_oversized_statement_gets_a_clean_1153() {
    use std::io::{Read, Write};
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[limits]\nmax_packet_size = \"20MiB\"\n");
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    // 24 MiB of COM_QUERY: a full 16 MiB chunk (seq 0), then the rest (seq 1).
    let mut payload = b"\x03SELECT '".to_vec();
    payload.resize(24 << 20, b'a');
    payload.push(b'\'');
    let chunk = 0xFF_FFFF;
    let mut wire = Vec::new();
    for (seq, part) in payload.chunks(chunk).enumerate() {
        wire.extend_from_slice(&(part.len() as u32).to_le_bytes()[..3]);
        wire.push(seq as u8);
        wire.extend_from_slice(part);
    }
    raw.stream.write_all(&wire).unwrap();
    let (seq, err) = raw.read_packet();
    assert_eq!(err[0], 0xff, "{:?}", &err[..err.len().min(40)]);
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1153);
    assert_eq!(seq, 2, "one past the chunk that crossed the limit");
    let mut rest = [0u8; 16];
    assert_eq!(
        raw.stream.read(&mut rest).unwrap_or(0),
        0,
        "then a clean close"
    );
    eventually("logged", Duration::from_secs(5), || {
        p.log().contains("larger than [limits] max_packet_size")
    });
}

/// COM_STMT_SEND_LONG_DATA is capped by max_packet_size per statement and per session: past
/// it the data is dropped (the proxy's memory stays bounded), and the execute gets the
/// server's error for the case instead of running with a parameter cut short.
#[test]
fn long_data_is_capped_per_statement_and_per_session() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[limits]\nmax_packet_size = \"64KiB\"\n");
    let t = fresh_table(&c, "long_data");
    c.root_sql("master", &format!("ALTER TABLE {t} ADD COLUMN b LONGBLOB"));
    let mut raw = RawClient::login(p.port, c.user(), c.password());
    let sql = format!("INSERT INTO {t} (b, a) VALUES (?, ?)");
    // Within the cap: 3 x 20 KiB into one statement runs.
    let one = raw.prepare(sql.as_bytes()).unwrap();
    for _ in 0..3 {
        raw.send_long_data(one, 20 << 10);
    }
    let ok = raw.execute_with_long_data(one, 1);
    assert_eq!(ok[0], 0x00, "{ok:?}");
    // Past it: 4 x 20 KiB; the execute gets the server's 1105, and nothing is inserted.
    for _ in 0..4 {
        raw.send_long_data(one, 20 << 10);
    }
    let err = raw.execute_with_long_data(one, 2);
    assert_eq!(err[0], 0xff);
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1105);
    assert!(String::from_utf8_lossy(&err).contains("mysql_send_long_data"));
    // Per session: 40 KiB pending on one statement leaves 24 KiB for another.
    let two = raw.prepare(sql.as_bytes()).unwrap();
    raw.send_long_data(one, 40 << 10);
    raw.send_long_data(two, 30 << 10);
    let err = raw.execute_with_long_data(two, 3);
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1105, "{err:?}");
    let ok = raw.execute_with_long_data(one, 4);
    assert_eq!(ok[0], 0x00, "{ok:?}");
    let rows = c.root_rows(
        "master",
        &format!("SELECT a, LENGTH(b) FROM {t} ORDER BY a"),
    );
    assert_eq!(rows, vec!["1\t61440", "4\t40960"]);
    assert_eq!(
        p.log().matches("long data over max_packet_size").count(),
        1,
        "rate-limited"
    );
}

/// Out of file descriptors, a statement that needs a new backend connection gets what a server
/// out of connections answers (1040 Too many connections), not "master unavailable": no
/// backend is at fault, none is marked down, and the same session works again once
/// descriptors are free.
#[test]
fn out_of_descriptors_for_a_backend_connection_answers_1040() {
    let c = Cluster::shared();
    let metrics = free_port();
    let (mut child, dir, port) = proxy_with_48_descriptors(&c, "emfile-be", "", metrics);
    let mut a = RawClient::login(port, c.user(), c.password());
    assert_eq!(a.query_bytes(b"SELECT 1")[0].first().as_deref(), Some("1"));
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", metrics)) {
            held.push(s);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let r = a.query_bytes(b"/* rwsplit:master */ SELECT @@server_id");
    let log = std::fs::read_to_string(dir.join("rwsplit.log")).unwrap_or_default();
    assert_eq!(r[0].code(), Some(1040), "{r:?}\n{}", tail(&log, 10));
    assert!(
        log.contains("out of file descriptors"),
        "{}",
        tail(&log, 10)
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let r = a.query_bytes(b"/* rwsplit:master */ SELECT @@server_id");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r[0].first(), Some(c.master_id()), "{r:?}");
}

/// With the default `max_packet_size = "auto"` the proxy takes what the servers take: a 70 MB
/// parameter works through the proxy as it works direct when the servers allow 96M (the proxy
/// had 64 MiB fixed and reset the connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_packet_size_follows_the_servers() {
    use mysql_async::prelude::*;
    let pc = Cluster::private("maxpacket");
    let c = pc.cluster.clone();
    for node in ["master", "replica1", "replica2"] {
        c.root_sql(node, "SET GLOBAL max_allowed_packet = 96 * 1024 * 1024");
    }
    c.root_sql(
        "master",
        "CREATE TABLE rwtest.big (id INT PRIMARY KEY, b LONGBLOB)",
    );
    let p = Proxy::start(&c, "");
    let blob = vec![b'x'; 70 * 1024 * 1024];
    for (side, opts) in [
        ("direct", c.direct_opts(Some("rwtest"))),
        (
            "proxy",
            mysql_async::OptsBuilder::from_opts(p.opts(&c, Some("rwtest"))),
        ),
    ] {
        let id = if side == "direct" { 1 } else { 2 };
        let mut conn = mysql_async::Conn::new(opts).await.unwrap();
        conn.exec_drop("INSERT INTO big VALUES (?, ?)", (id, blob.clone()))
            .await
            .unwrap_or_else(|e| panic!("{side}: {e}\n{}", tail(&p.log(), 10)));
        let n: Option<i64> = conn
            .query_first(format!("SELECT LENGTH(b) FROM big WHERE id = {id}"))
            .await
            .unwrap();
        assert_eq!(n, Some(70 * 1024 * 1024), "{side}");
    }
    drop(pc);
}

/// All sessions' long data together stay within `[limits] long_data_total`: 16 clients each
/// sending 8 MiB of long data (128 MiB) to a proxy with a 4 MiB budget grow its memory by the
/// budget and the read buffers, not by what was sent (RSS from /proc), the statements past
/// the budget get the server's 1105 at execute, and a share given back by an execute is usable
/// by another client at once.
#[test]
fn long_data_has_a_process_wide_budget() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "[limits]\nlong_data_total = \"4MiB\"\n");
    let t = fresh_table(&c, "long_data_total");
    c.root_sql("master", &format!("ALTER TABLE {t} ADD COLUMN b LONGBLOB"));
    let sql = format!("INSERT INTO {t} (b, a) VALUES (?, ?)");
    let mut clients: Vec<(RawClient, u32)> = (0..16)
        .map(|_| {
            let mut raw = RawClient::login(p.port, c.user(), c.password());
            let id = raw.prepare(sql.as_bytes()).unwrap();
            (raw, id)
        })
        .collect();
    let before = p.rss_kib();
    // Two clients take the whole budget (2 MiB each); the other 14 send 8 MiB each past it.
    for (raw, id) in clients.iter_mut().take(2) {
        for _ in 0..8 {
            raw.send_long_data(*id, 256 << 10);
        }
    }
    for _ in 0..32 {
        for (raw, id) in clients.iter_mut().skip(2) {
            raw.send_long_data(*id, 256 << 10);
        }
    }
    // A round trip on each makes sure the proxy has read everything sent before it.
    for (raw, _) in clients.iter_mut() {
        assert_eq!(
            raw.query_bytes(b"SELECT 1")[0].first().as_deref(),
            Some("1")
        );
    }
    let grown = p.rss_kib().saturating_sub(before);
    assert!(
        grown < 40 * 1024,
        "~120 MiB of long data sent against a 4 MiB budget grew the proxy by {grown} KiB"
    );
    let mut ran = 0;
    let mut refused = 0;
    for (i, (raw, id)) in clients.iter_mut().enumerate() {
        let r = raw.execute_with_long_data(*id, i as i64);
        match r[0] {
            0x00 => ran += 1,
            0xff => {
                assert_eq!(u16::from_le_bytes([r[1], r[2]]), 1105, "{r:?}");
                refused += 1;
            }
            _ => panic!("{r:?}"),
        }
    }
    assert_eq!((ran, refused), (2, 14), "two 2 MiB shares fit in 4 MiB");
    // Given back: the next client's 2 MiB fits again.
    let (raw, id) = &mut clients[5];
    for _ in 0..8 {
        raw.send_long_data(*id, 256 << 10);
    }
    let r = raw.execute_with_long_data(*id, 100);
    assert_eq!(r[0], 0x00, "{r:?}");
    assert!(p.log().contains("long_data_total"), "{}", tail(&p.log(), 5));
}

/// COM_STMT_FETCH on a statement without an open cursor: the server's 1421 names the
/// statement by the id the client knows (the proxy's), as a direct connection names its own.
#[test]
fn no_open_cursor_names_the_clients_statement() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let mut raw = RawClient::login(port, c.user(), c.password());
        // Statements prepared on the master first: the read's id on a replica connection is
        // another number than the client's.
        for _ in 0..3 {
            raw.prepare(b"DO 1").unwrap();
        }
        let id = raw.prepare(b"SELECT 1").unwrap();
        let r = raw.execute(id, &[]);
        assert!(matches!(r[0], Res::Rows(_)), "{side}: {r:?}");
        let mut fetch = vec![0x1c];
        fetch.extend_from_slice(&id.to_le_bytes());
        fetch.extend_from_slice(&1u32.to_le_bytes());
        raw.write_packet(0, &fetch);
        let (_, err) = raw.read_packet();
        assert_eq!(err[0], 0xff, "{side}: {err:?}");
        assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1421, "{side}");
        let text = String::from_utf8_lossy(&err[9..]).into_owned();
        assert_eq!(
            text,
            format!("The statement ({id}) has no open cursor"),
            "{side}"
        );
        assert_eq!(
            raw.query_bytes(b"SELECT 2")[0].first().as_deref(),
            Some("2")
        );
    }
}
