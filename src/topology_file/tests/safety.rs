//! The file's safety: invalid edits and broken files leave it untouched, line endings, the
//! atomic write, symlinks, the lock against concurrent threads and processes, and the SIGHUP
//! to a running proxy.

use super::*;

#[test]
fn invalid_edits_leave_the_file_byte_identical() {
    let s = Scratch::new(FILE);
    let cases: Vec<(Edit, &str)> = vec![
        (
            add("10.0.0.13", None),
            "invalid address \"10.0.0.13\": missing port",
        ),
        (add("10.0.0.13:0", None), "port 0 is out of range 1..65535"),
        (add("10.0.0.13:65536", None), "port 65536 is out of range"),
        (add("mysql://db:3306", None), "remove the scheme"),
        (add("a b:1", None), "contains whitespace"),
        (add("", None), "missing port"),
        (
            add("10.0.0.13:3306", Some(1001)),
            "weight 1001 is out of range 0..=1000",
        ),
        (remove("db"), "missing port"),
        (set_master("::1:3306"), "must be in brackets"),
        // Adding the master as a replica.
        (add("10.0.0.10:3306", None), "10.0.0.10:3306 is the master"),
        // The loader's duplicate check (which normalizes names) catches what the exact
        // comparison here does not: the write is refused with the loader's problem.
        (add("10.0.0.011:3306", None), "invalid address"),
    ];
    for (edit, needle) in cases {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{edit:?}: {err}");
        assert_eq!(s.text(), FILE, "{edit:?}");
    }
    let text = format!("{NO_REPLICAS}[[replicas]]\naddress = \"db.example:1\"\n");
    let s = Scratch::new(&text);
    let err = s.apply(add("DB.example.:1", None)).unwrap_err().to_string();
    assert!(err.starts_with("refusing to write "), "{err}");
    assert!(
        err.contains(":11:11: key `replicas[1].address`: duplicate backend address"),
        "{err}"
    );
    assert_eq!(s.text(), text);
    assert_eq!(s.names(), ["proxy.toml", "proxy.toml.lock"]);
}

#[test]
fn broken_files_are_reported_not_edited() {
    // Already invalid: the problems are reported with the file's own line numbers.
    let text = format!("{NO_REPLICAS}[routing]\nconsistency = \"strong\"\n");
    let s = Scratch::new(&text);
    let err = s.apply(add("r:1", None)).unwrap_err().to_string();
    assert!(
        err.contains("is invalid; fix it before editing it"),
        "{err}"
    );
    assert!(err.contains(":8:15: key `routing.consistency`"), "{err}");
    assert_eq!(s.text(), text);
    // A TOML syntax error, worded by the loader.
    let text = "[master\naddress = 1\n";
    let s = Scratch::new(text);
    let err = s.apply(add("r:1", None)).unwrap_err().to_string();
    assert!(err.contains("proxy.toml:1:"), "{err}");
    assert_eq!(s.text(), text);
    // No [master] table to set.
    let s = Scratch::new("[[users]]\nname = \"u\"\npassword = \"p\"\n");
    let err = s.apply(set_master("m:1")).unwrap_err().to_string();
    assert!(err.contains("has no [master] table"), "{err}");
    // Inline clusters: a whole cluster on one line is not something to append to.
    let text =
        format!("clusters = [{{ name = \"b\", master = {{ address = \"b:1\" }} }}]\n{NO_REPLICAS}");
    let s = Scratch::new(&text);
    valid(&text);
    for edit in [
        on("b", add("r:2", None)),
        add_cluster("c", "c:1", &[]),
        remove_cluster("b"),
    ] {
        let err = s.apply(edit).unwrap_err().to_string();
        assert!(err.contains("not written as [[clusters]] tables"), "{err}");
    }
    assert_eq!(s.text(), text);
    // Missing file.
    let err = apply(Path::new("/nonexistent/proxy.toml"), &add("r:1", None)).unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot open /nonexistent/proxy.toml"),
        "{err:#}"
    );
}

#[test]
fn line_endings_are_kept_and_mixed_ones_refused() {
    let crlf = FILE.replace('\n', "\r\n");
    let s = Scratch::new(&crlf);
    s.apply(add("10.0.0.13:3306", None)).unwrap();
    s.apply(set_master("10.0.0.20:3306")).unwrap();
    let expected = FILE
            .replace(
                "weight = 2    # bigger box\n",
                "weight = 2    # bigger box\n\n[[replicas]]\naddress = \"10.0.0.13:3306\"\nweight = 1\n",
            )
            .replace("10.0.0.10:3306", "10.0.0.20:3306")
            .replace('\n', "\r\n");
    assert_eq!(s.text(), expected);

    let mixed = FILE.replacen('\n', "\r\n", 1);
    let s = Scratch::new(&mixed);
    let err = s
        .apply(add("10.0.0.13:3306", None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("without reformatting"), "{err}");
    assert_eq!(s.text(), mixed);
}

#[test]
fn atomic_write_keeps_permissions_and_leaves_no_temp_files() {
    let s = Scratch::new(FILE);
    fs::set_permissions(&s.path, fs::Permissions::from_mode(0o640)).unwrap();
    // A temp file left by a writer that crashed before its rename.
    fs::write(s.dir.join(".proxy.toml.tmp.999999.0"), "partial").unwrap();
    // Replaced by rename, not rewritten in place: an open handle keeps the old inode
    // (and its old content).
    let old = File::open(&s.path).unwrap();
    s.apply(add("10.0.0.13:3306", None)).unwrap();
    assert_ne!(
        fs::metadata(&s.path).unwrap().ino(),
        old.metadata().unwrap().ino()
    );
    assert_eq!(std::io::read_to_string(&old).unwrap(), FILE);
    s.apply(remove("10.0.0.11:3306")).unwrap();
    let _ = s.apply(add("bad", None));
    let _ = s.apply(add("10.0.0.10:3306", None));
    assert_eq!(s.names(), ["proxy.toml", "proxy.toml.lock"]);
    let meta = fs::metadata(&s.path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
}

#[test]
fn symlinked_file_is_edited_through_the_link() {
    let s = Scratch::new(FILE);
    let link = s.dir.join("link.toml");
    std::os::unix::fs::symlink(&s.path, &link).unwrap();
    apply(&link, &add("10.0.0.13:3306", None)).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(s.text().contains("10.0.0.13:3306"));
    assert_eq!(s.names(), ["link.toml", "proxy.toml", "proxy.toml.lock"]);
}

/// The lock really excludes: while it is held, an edit waits.
#[test]
fn apply_waits_for_the_lock() {
    let s = Scratch::new(FILE);
    let held = lock_file(&s.path).unwrap();
    let path = s.path.clone();
    let writer = std::thread::spawn(move || apply(&path, &add("10.0.0.13:3306", None)));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!writer.is_finished());
    assert_eq!(s.text(), FILE);
    drop(held);
    assert!(writer.join().unwrap().unwrap().changed);
    assert!(s.text().contains("10.0.0.13:3306"));
}

#[test]
fn twenty_threads_adding_replicas_at_once() {
    let s = Scratch::new(FILE);
    let start = std::sync::Barrier::new(20);
    std::thread::scope(|scope| {
        for i in 0..20 {
            let (path, start) = (&s.path, &start);
            scope.spawn(move || {
                start.wait();
                apply(path, &add(&format!("10.2.0.{}:3306", i + 1), Some(i))).unwrap();
            });
        }
    });
    let c = valid(&s.text());
    assert_eq!(c.replicas.len(), 22);
    for i in 0..20 {
        let address = format!("10.2.0.{}:3306", i + 1);
        assert!(
            c.replicas
                .iter()
                .any(|r| r.address == address && r.weight == i),
            "{address} missing"
        );
    }
    // Still grouped and the rest untouched.
    assert!(s
        .text()
        .starts_with(&FILE[..FILE.find("# Accounts").unwrap() - 1]));
    assert!(s
        .text()
        .ends_with(&FILE[FILE.find("\n# Accounts").unwrap()..]));
    assert_eq!(s.names(), ["proxy.toml", "proxy.toml.lock"]);
}

/// Env var through which [`twenty_processes_adding_replicas_at_once`] hands a child its
/// job: `FILE|ADDRESS`.
const CHILD_ENV: &str = "RWSPLIT_TOPOLOGY_FILE_TEST_CHILD";

/// The child side of the process test: this test binary re-runs itself with only this
/// test selected (so the test needs no separate binary and works wherever the module
/// lives). In a normal test run the variable is unset and this does nothing.
#[test]
fn hook_child() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        let (path, address) = job.split_once('|').unwrap();
        apply(Path::new(path), &add(address, None)).unwrap();
    }
}

#[test]
fn twenty_processes_adding_replicas_at_once() {
    let s = Scratch::new(FILE);
    let module = module_path!();
    let test = format!("{}::hook_child", &module[module.find("::").unwrap() + 2..]);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..20)
        .map(|i| {
            Command::new(&exe)
                .args(["--exact", &test, "--test-threads=1", "-q"])
                .env(
                    CHILD_ENV,
                    format!("{}|10.3.0.{}:3306", s.path.display(), i + 1),
                )
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let c = valid(&s.text());
    assert_eq!(c.replicas.len(), 22);
    for i in 0..20 {
        let address = format!("10.3.0.{}:3306", i + 1);
        assert_eq!(
            c.replicas.iter().filter(|r| r.address == address).count(),
            1,
            "{address}"
        );
    }
    assert_eq!(s.names(), ["proxy.toml", "proxy.toml.lock"]);
}

#[test]
fn signal_reload_without_a_proxy() {
    let s = Scratch::new(FILE);
    let pid_file = s.dir.join("rwsplit.pid");
    assert!(!signal_reload(&pid_file).unwrap());
    // A pid that no longer exists: a child that has exited and been reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    fs::write(&pid_file, format!("{pid}\n")).unwrap();
    assert!(!signal_reload(&pid_file).unwrap());
    // Never 0 or negative: kill(2) would signal a process group or everything.
    for bad in ["0", "-1", "-4242", "", "abc", "99999999999"] {
        fs::write(&pid_file, bad).unwrap();
        let err = signal_reload(&pid_file).unwrap_err().to_string();
        assert!(err.contains("does not hold a process id"), "{bad}: {err}");
    }
}

#[test]
fn signal_reload_sends_sighup() {
    let s = Scratch::new(FILE);
    let pid_file = s.dir.join("rwsplit.pid");
    let mut child = Command::new("sleep").arg("5").spawn().unwrap();
    fs::write(&pid_file, format!("{}\n", child.id())).unwrap();
    let sent = signal_reload(&pid_file);
    let status = child.wait().unwrap();
    assert!(sent.unwrap());
    assert_eq!(status.signal(), Some(libc::SIGHUP));
}

// ---------------------------------------------------------------------------------------------
// Clusters
// ---------------------------------------------------------------------------------------------

#[test]
fn concurrent_hooks_on_several_clusters_lose_no_update() {
    let s = Scratch::new(CLUSTERS);
    let start = std::sync::Barrier::new(20);
    std::thread::scope(|scope| {
        for i in 0..20u32 {
            let (path, start) = (&s.path, &start);
            scope.spawn(move || {
                start.wait();
                let edit = match i % 4 {
                    0 => on("blogs2", add(&format!("10.7.0.{i}:3306"), None)),
                    1 => on("blogs4", add(&format!("10.7.0.{i}:3306"), None)),
                    2 => on("blogs5", add(&format!("10.7.0.{i}:3306"), None)),
                    _ => add_cluster(&format!("c{i}"), &format!("10.8.0.{i}:3306"), &[]),
                };
                apply(path, &edit).unwrap();
            });
        }
    });
    let c = valid(&s.text());
    for (cluster, rest) in [("blogs2", 0), ("blogs4", 1), ("blogs5", 2)] {
        let got = servers_of(&s.text(), cluster).1;
        for i in (0..20).filter(|i| i % 4 == rest) {
            let address = format!("10.7.0.{i}:3306");
            assert!(
                got.iter().any(|(a, _)| *a == address),
                "{cluster}: {address}"
            );
        }
    }
    assert_eq!(c.clusters.len(), 4 + 5);
    assert!(s.text().ends_with("# end of file\n"));
    assert_eq!(s.names(), ["proxy.toml", "proxy.toml.lock"]);
}
