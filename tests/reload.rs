//! Issue 5: topology hot reload. The proxy runs as a real process; proxy.toml is rewritten by
//! the lifecycle-hook CLI (`rwsplit topology ...`) or by hand, and picked up on change or on
//! SIGHUP without dropping a client connection.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use mysql_async::prelude::*;

fn hook(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("topology")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rwsplit topology {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A config with only replica 1; tests add replica 2 later.
fn one_replica_toml(c: &Cluster, port: u16, extra: &str) -> String {
    format!(
        "# managed by hooks\nlisten = \"127.0.0.1:{port}\"\n\n[master]\naddress = \"127.0.0.1:{}\"\n\n# replicas\n[[replicas]]\naddress = \"127.0.0.1:{}\"\nweight = 1\n\n[[users]]\nname = \"{}\"\npassword = \"{}\"\n{extra}",
        c.master_port(),
        c.replica_ports()[0],
        c.user(),
        c.password()
    )
}

async fn server_id(conn: &mut mysql_async::Conn) -> String {
    let id: i64 = conn
        .query_first("SELECT @@server_id")
        .await
        .unwrap()
        .unwrap();
    id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_replica_gets_reads_and_clients_keep_their_connection() {
    let c = Cluster::shared();
    let p = Proxy::start_with(&c, |port| one_replica_toml(&c, port, ""), &[]);
    let config = p.dir.join("proxy.toml");
    // Eight clients hold their connections; each session picks its replica by weight, and
    // re-picks when the topology changes.
    let pool = p.pool(&c, None);
    let mut conns = Vec::new();
    for _ in 0..8 {
        conns.push(pool.get_conn().await.unwrap());
    }
    let ids: Vec<u32> = conns.iter().map(|c| c.id()).collect();
    let r1 = c.replica_ids()[0].clone();
    let r2 = c.replica_ids()[1].clone();
    for conn in conns.iter_mut() {
        assert_eq!(server_id(conn).await, r1, "only replica 1 configured");
    }
    let out = hook(
        &config,
        &[
            "add-replica",
            &format!("127.0.0.1:{}", c.replica_ports()[1]),
        ],
    );
    assert!(out.contains("added"), "{out}");
    // The same connections keep running reads; replica 2 starts getting its share.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = HashSet::new();
    while Instant::now() < deadline && !seen.contains(&r2) {
        for conn in conns.iter_mut() {
            seen.insert(server_id(conn).await);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen.contains(&r2),
        "the added replica serves reads: {seen:?}\n{}",
        tail(&p.log(), 20)
    );
    assert_eq!(
        conns.iter().map(|c| c.id()).collect::<Vec<_>>(),
        ids,
        "same client connections"
    );
    drop(conns);
    pool.disconnect().await.unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.starts_with("# managed by hooks\n") && text.contains("# replicas\n"),
        "comments kept:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_replica_finishes_running_statement_then_gets_no_reads() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let config = p.dir.join("proxy.toml");
    let pool = p.pool(&c, None);
    // Find a connection whose reads land on replica 1.
    let r1 = c.replica_ids()[0].clone();
    let mut conns = Vec::new();
    let mut on_r1 = None;
    for _ in 0..20 {
        let mut conn = pool.get_conn().await.unwrap();
        if server_id(&mut conn).await == r1 {
            on_r1 = Some(conn);
            break;
        }
        conns.push(conn);
    }
    let mut conn = on_r1.expect("some connection on replica 1");
    let sleeper = tokio::spawn(async move {
        let r: (i64, i64) = conn
            .query_first("SELECT SLEEP(3), @@server_id")
            .await
            .unwrap()
            .unwrap();
        (r, conn)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    hook(
        &config,
        &[
            "remove-replica",
            &format!("127.0.0.1:{}", c.replica_ports()[0]),
        ],
    );
    let ((slept, sid), mut conn) = sleeper.await.unwrap();
    assert_eq!(
        (slept, sid.to_string()),
        (0, r1.clone()),
        "the running SELECT completed on the removed replica"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..30 {
        assert_ne!(
            server_id(&mut conn).await,
            r1,
            "no reads on the removed replica"
        );
    }
    drop(conns);
    drop(conn);
    pool.disconnect().await.unwrap();
}

#[test]
fn invalid_file_keeps_old_topology_then_fixed_file_reloads() {
    let c = Cluster::shared();
    let p = Proxy::start_with(&c, |port| one_replica_toml(&c, port, ""), &[]);
    let config = p.dir.join("proxy.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let r1 = c.replica_ids()[0].clone();
    // Syntax error.
    std::fs::write(
        &config,
        format!("{good}\n[[replicas]\naddress = \"127.0.0.1:1\"\n"),
    )
    .unwrap();
    eventually("reload failure logged", Duration::from_secs(5), || {
        p.log().contains("reload failed")
    });
    assert_eq!(
        p.sql_ok(&c, "SELECT @@server_id")[0],
        r1,
        "old topology still serves"
    );
    // Two masters.
    std::fs::write(
        &config,
        format!("{good}\n[master]\naddress = \"127.0.0.1:2\"\n"),
    )
    .unwrap();
    eventually("second failure logged", Duration::from_secs(5), || {
        p.log().matches("reload failed").count() >= 2
    });
    let log = p.log();
    assert!(
        log.contains("proxy.toml:") && log.contains("master"),
        "error names file, line and key:\n{}",
        tail(&log, 10)
    );
    assert_eq!(p.sql_ok(&c, "SELECT @@server_id")[0], r1);
    // Fixed: replica 2 only.
    std::fs::write(
        &config,
        good.replace(
            &c.replica_ports()[0].to_string(),
            &c.replica_ports()[1].to_string(),
        ),
    )
    .unwrap();
    let r2 = c.replica_ids()[1].clone();
    eventually("fixed file reloads", Duration::from_secs(5), || {
        p.sql(&c, "SELECT @@server_id")
            .stdout
            .starts_with(r2.as_bytes())
    });
}

#[test]
fn sighup_reloads_and_rapid_rewrites_end_in_the_last() {
    let c = Cluster::shared();
    let p = Proxy::start_with(&c, |port| one_replica_toml(&c, port, ""), &["--no-watch"]);
    let config = p.dir.join("proxy.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let (p1, p2) = (
        c.replica_ports()[0].to_string(),
        c.replica_ports()[1].to_string(),
    );
    let (r1, r2) = (c.replica_ids()[0].clone(), c.replica_ids()[1].clone());
    std::fs::write(&config, good.replace(&p1, &p2)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        p.sql_ok(&c, "SELECT @@server_id")[0],
        r1,
        "--no-watch: a file change alone does nothing"
    );
    p.send_signal("HUP");
    eventually("SIGHUP reload", Duration::from_secs(5), || {
        p.sql(&c, "SELECT @@server_id")
            .stdout
            .starts_with(r2.as_bytes())
    });
    drop(p);

    // With the watch: 100 rapid rewrites (atomic renames, like the hooks), the last one wins.
    let p = Proxy::start_with(&c, |port| one_replica_toml(&c, port, ""), &[]);
    let config = p.dir.join("proxy.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    for i in 0..100 {
        let text = if i % 2 == 0 {
            good.replace(&p1, &p2)
        } else {
            good.clone()
        };
        let tmp = p.dir.join(format!(".proxy.toml.tmp{i}"));
        std::fs::write(&tmp, format!("{text}\n# rewrite {i}\n")).unwrap();
        std::fs::rename(&tmp, &config).unwrap();
    }
    // i = 99 is odd: the original file, replica 1 only.
    std::thread::sleep(Duration::from_millis(800));
    for _ in 0..10 {
        assert_eq!(
            p.sql_ok(&c, "SELECT @@server_id")[0],
            r1,
            "the last rewrite is in force"
        );
    }
}

#[test]
fn twenty_concurrent_hooks_lose_no_update() {
    let c = Cluster::shared();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("proxy.toml");
    std::fs::write(&config, one_replica_toml(&c, free_port(), "")).unwrap();
    let children: Vec<_> = (0..20)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_rwsplit"))
                .args([
                    "topology",
                    "add-replica",
                    &format!("10.9.0.{}:3306", i + 1),
                    "--config",
                ])
                .arg(&config)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut ch in children {
        assert!(ch.wait().unwrap().success());
    }
    let listed = hook(&config, &["list"]);
    for i in 0..20 {
        assert!(
            listed.contains(&format!("10.9.0.{}:3306", i + 1)),
            "{listed}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("check-config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// A config rewritten in place by a writer that pauses half-way is not loaded half-written:
/// its first half (valid TOML, without the [[rules]] that come later) is never applied, so a
/// blocked statement stays blocked throughout; the whole file is applied once the writer
/// closes it.
#[test]
fn a_file_written_in_place_is_read_when_its_writer_closes_it() {
    use std::io::Write;
    let c = Cluster::shared();
    let rules = "[[rules]]\npattern = \"in_place_secret\"\nblock = \"blocked while writing\"\n";
    let p = Proxy::start_with(&c, |port| one_replica_toml(&c, port, rules), &[]);
    let config = p.dir.join("proxy.toml");
    let whole = std::fs::read_to_string(&config).unwrap();
    let blocked = || {
        let out = p.sql(&c, "SELECT 'in_place_secret'");
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("1148")
    };
    assert!(blocked());
    // The rewrite: the same rules, moved to the end behind a changed weight, written in two
    // halves with a pause in between (the first half alone is a valid file without rules).
    let without = whole.replace(rules, "");
    let rewritten = format!("{}\n{rules}", without.replace("weight = 1", "weight = 2"));
    let split = rewritten.find("[[rules]]").unwrap();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&config)
        .unwrap();
    f.write_all(&rewritten.as_bytes()[..split]).unwrap();
    f.flush().unwrap();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            blocked(),
            "the half-written file was applied\n{}",
            tail(&p.log(), 10)
        );
    }
    f.write_all(&rewritten.as_bytes()[split..]).unwrap();
    drop(f);
    eventually("the whole file is applied", Duration::from_secs(5), || {
        p.log().contains("configuration reloaded")
    });
    assert!(blocked());
}
