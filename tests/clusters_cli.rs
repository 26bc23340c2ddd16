//! Issue 16: the hook CLI adds a cluster to a running proxy's file while clients run. The
//! proxy starts on the main cluster only; `rwsplit topology add-cluster` adds the test
//! cluster's second master/replica pair (`master2`, `replica3` of scripts/cluster.sh), a
//! schema rule naming it is appended to the file, and statements for `blog_2*` then land on
//! the second cluster — checked on the servers themselves — while a client that was running
//! all along sees no error and keeps writing to main.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mysql_async::prelude::*;

/// `rwsplit topology ARGS --config CONFIG --pid-file PID`.
fn hook(config: &Path, pid_file: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rwsplit"))
        .arg("topology")
        .args(args)
        .arg("--config")
        .arg(config)
        .arg("--pid-file")
        .arg(pid_file)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Replaces the file the way an operator's tooling should: a new file renamed over it, so
/// the proxy's watcher never reads half of it.
fn append_atomically(path: &Path, more: &str) {
    let tmp = path.with_extension("toml.new");
    let old = std::fs::read_to_string(path).unwrap();
    std::fs::write(&tmp, format!("{old}{more}")).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_cli_adds_a_cluster_while_clients_run() {
    let c = Cluster::shared();
    let (master2, replica3) = (c.master2_port(), c.replica3_port());
    // Left over by an earlier failed run: gone from both clusters (replicated to their
    // replicas).
    for node in ["master", "master2"] {
        c.root_sql(node, "DROP DATABASE IF EXISTS blog_21");
    }
    c.fresh_db("clusters_cli");
    let admin_port = free_port();
    let pid_file = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("clusters-cli-{}.pid", std::process::id()));
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let extra = format!(
        "[admin]\nlisten = \"127.0.0.1:{admin_port}\"\nuser = \"admin\"\n\
         password = \"adminsecret\"\n"
    );
    let p = Proxy::start_args(&c, &extra, &["--pid-file", &pid_arg]);
    let config = p.dir.join("proxy.toml");
    eventually("the proxy's pid file", Duration::from_secs(5), || {
        pid_file.exists()
    });

    // A client that runs through the whole change: reads and writes on main, one connection.
    let pool = p.pool(&c, Some("clusters_cli"));
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop("CREATE TABLE seen (n INT PRIMARY KEY, server_id INT)")
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let client = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut n = 0u32;
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                if let Err(e) = conn
                    .exec_drop("INSERT INTO seen VALUES (?, @@server_id)", (n,))
                    .await
                {
                    errors.push(format!("insert {n}: {e}"));
                }
                match conn.query_first::<i64, _>("SELECT @@server_id").await {
                    Ok(_) => {}
                    Err(e) => errors.push(format!("select {n}: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (n, errors, conn)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The hook adds the cluster; the same call again is nothing to do.
    let add = [
        "add-cluster",
        "blogs2",
        "--master",
        &format!("127.0.0.1:{master2}"),
        "--replica",
        &format!("127.0.0.1:{replica3}"),
    ];
    let out = hook(&config, &pid_file, &add);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!(
            "added cluster blogs2: master 127.0.0.1:{master2}, replicas 127.0.0.1:{replica3} \
             (weight 1)\nsignalled the proxy to reload"
        )),
        "{}",
        text(&out.stdout)
    );
    let out = hook(&config, &pid_file, &add);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("nothing to do"),
        "{}",
        text(&out.stdout)
    );
    let listed = hook(&config, &pid_file, &["list"]);
    assert!(
        text(&listed.stdout).contains(&format!(
            "cluster blogs2\nmaster  127.0.0.1:{master2}\nreplica 127.0.0.1:{replica3} weight 1\n"
        )),
        "{}",
        text(&listed.stdout)
    );

    // There is no rules CLI: the operator appends the rule, and the proxy reloads.
    append_atomically(
        &config,
        "\n[[rules]]\nschema = \"blog_2*\"\ncluster = \"blogs2\"\n",
    );
    p.send_signal("HUP");
    eventually("the rule is in force", Duration::from_secs(10), || {
        let o = mariadb(admin_port, "admin", "adminsecret", "SHOW RULES");
        o.status.success() && text(&o.stdout).contains("blog_2*")
    });
    // While a rule names it, the cluster cannot be removed; the file stays as it is.
    let before = std::fs::read_to_string(&config).unwrap();
    let out = hook(&config, &pid_file, &["remove-cluster", "blogs2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cluster blogs2 is still named by a rule"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // Through the proxy, blog_21 is created and written on the second cluster.
    p.sql_ok(
        &c,
        "CREATE DATABASE blog_21; \
         CREATE TABLE blog_21.posts (id INT PRIMARY KEY, title VARCHAR(40)); \
         INSERT INTO blog_21.posts VALUES (1, 'on the second cluster')",
    );
    assert_eq!(
        c.root_rows("master2", "SELECT id, title FROM blog_21.posts"),
        ["1\ton the second cluster"]
    );
    assert!(
        c.root_rows("master", "SHOW DATABASES LIKE 'blog_21'")
            .is_empty(),
        "blog_21 reached the main cluster's master"
    );
    // And read back through the proxy from the second cluster (its replica or its master).
    eventually("replica3 has the row", Duration::from_secs(10), || {
        c.root_rows(
            "replica3",
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'blog_21'",
        ) == ["1"]
            && c.root_rows("replica3", "SELECT COUNT(*) FROM blog_21.posts") == ["1"]
    });
    let got = p.sql_ok(&c, "SELECT title, @@server_id FROM blog_21.posts");
    let second = [c.master2_id(), c.replica3_id()];
    assert_eq!(got.len(), 1, "{got:?}");
    let (title, server) = got[0].split_once('\t').unwrap();
    assert_eq!(title, "on the second cluster");
    assert!(second.iter().any(|id| id == server), "read ran on {server}");

    // The client that ran all along saw no error, and every write of it is on main.
    stop.store(true, Ordering::Relaxed);
    let (n, errors, conn) = client.await.unwrap();
    assert!(errors.is_empty(), "{errors:?}\n{}", tail(&p.log(), 30));
    assert!(n > 20, "the client ran only {n} rounds");
    let on_main = c.root_rows(
        "master",
        "SELECT COUNT(*), COUNT(DISTINCT server_id), MIN(server_id) FROM clusters_cli.seen",
    );
    assert_eq!(on_main, [format!("{n}\t1\t{}", c.master_id())]);
    conn.disconnect().await.unwrap();
    pool.disconnect().await.unwrap();

    for node in ["master", "master2"] {
        c.root_sql(node, "DROP DATABASE IF EXISTS blog_21");
    }
    c.root_sql("master", "DROP DATABASE clusters_cli");
}
