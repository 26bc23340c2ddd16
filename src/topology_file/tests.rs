use super::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

/// The shape of `shared/proxy.example.toml`, plus comments in the places an edit must not
/// disturb (on value lines, between entries, at the end). `env:` names that are unset in
/// any test environment: validation must not need them.
const FILE: &str = r#"# rwsplit configuration.

listen = "127.0.0.1:3306"

# The single write target.
[master]
address = "10.0.0.10:3306"   # primary in rack A

# Read targets; lifecycle hooks add and remove these (rwsplit topology add-replica / remove-replica).
[[replicas]]
address = "10.0.0.11:3306"
weight = 1

[[replicas]]
address = "10.0.0.12:3306"
weight = 2    # bigger box

# Accounts applications log in with.
[[users]]
name = "app"
password = "env:RWSPLIT_TOPOLOGY_TEST_UNSET_1"

[routing]
max_replication_lag = "10s"   # replicas further behind get no reads

[monitor]
user = "monitor"
password = "env:RWSPLIT_TOPOLOGY_TEST_UNSET_2"
interval = "1s"

# end of file
"#;

const NO_REPLICAS: &str = "[master]\naddress = \"10.0.0.10:3306\"\n\n\
                               [[users]]\nname = \"app\"\npassword = \"p\"\n";

/// A fresh directory holding `proxy.toml`; removed on drop.
struct Scratch {
    dir: PathBuf,
    path: PathBuf,
}

impl Scratch {
    fn new(text: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rwsplit-topology-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("proxy.toml");
        fs::write(&path, text).unwrap();
        Scratch { dir, path }
    }

    fn text(&self) -> String {
        fs::read_to_string(&self.path).unwrap()
    }

    fn apply(&self, edit: Edit) -> anyhow::Result<EditOutcome> {
        apply(&self.path, &edit)
    }

    /// Names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn add(address: &str, weight: Option<u32>) -> Edit {
    Edit::AddReplica {
        cluster: None,
        address: address.into(),
        weight,
    }
}

fn remove(address: &str) -> Edit {
    Edit::RemoveReplica {
        cluster: None,
        address: address.into(),
    }
}

fn set_master(address: &str) -> Edit {
    Edit::SetMaster {
        cluster: None,
        address: address.into(),
    }
}

/// `edit` (one of the three above) aimed at the `[[clusters]]` entry `cluster`.
fn on(cluster: &str, edit: Edit) -> Edit {
    let cluster = Some(cluster.to_string());
    match edit {
        Edit::AddReplica {
            address, weight, ..
        } => Edit::AddReplica {
            cluster,
            address,
            weight,
        },
        Edit::RemoveReplica { address, .. } => Edit::RemoveReplica { cluster, address },
        Edit::SetMaster { address, .. } => Edit::SetMaster { cluster, address },
        other => panic!("not a server edit: {other:?}"),
    }
}

fn add_cluster(name: &str, master: &str, replicas: &[(&str, u32)]) -> Edit {
    Edit::AddCluster {
        name: name.into(),
        master: master.into(),
        replicas: replicas
            .iter()
            .map(|(address, weight)| NewReplica {
                address: address.to_string(),
                weight: *weight,
            })
            .collect(),
    }
}

fn remove_cluster(name: &str) -> Edit {
    Edit::RemoveCluster { name: name.into() }
}

fn valid(text: &str) -> Config {
    validate(text, "test").unwrap_or_else(|e| panic!("invalid result:\n{e}\n---\n{text}"))
}

/// Every edit below must change exactly the expected bytes: the tests compare the whole
/// file against the original with one splice, so any disturbed comment, blank line or
/// spacing elsewhere fails them.
#[test]
fn add_replica_goes_after_the_last_replica_and_touches_nothing_else() {
    let s = Scratch::new(FILE);
    let out = s.apply(add("10.0.0.13:3306", None)).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "added replica 10.0.0.13:3306 (weight 1)".into()
        }
    );
    let expected = FILE.replace(
        "weight = 2    # bigger box\n",
        "weight = 2    # bigger box\n\n[[replicas]]\naddress = \"10.0.0.13:3306\"\nweight = 1\n",
    );
    assert_eq!(s.text(), expected);
    // A second one goes after the first new one, still in the group.
    let out = s.apply(add("db-14.internal:3307", Some(5))).unwrap();
    assert_eq!(out.message, "added replica db-14.internal:3307 (weight 5)");
    let expected = expected.replace(
        "address = \"10.0.0.13:3306\"\nweight = 1\n",
        "address = \"10.0.0.13:3306\"\nweight = 1\n\n\
             [[replicas]]\naddress = \"db-14.internal:3307\"\nweight = 5\n",
    );
    assert_eq!(s.text(), expected);
    let c = valid(&s.text());
    let got: Vec<(&str, u32)> = c.replicas.iter().map(|r| (&*r.address, r.weight)).collect();
    assert_eq!(
        got,
        [
            ("10.0.0.11:3306", 1),
            ("10.0.0.12:3306", 2),
            ("10.0.0.13:3306", 1),
            ("db-14.internal:3307", 5)
        ]
    );
}

#[test]
fn add_replica_without_replicas_goes_at_the_end() {
    let s = Scratch::new(NO_REPLICAS);
    s.apply(add("10.0.0.11:3306", Some(0))).unwrap();
    assert_eq!(
        s.text(),
        format!("{NO_REPLICAS}\n[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 0\n")
    );
    // After the last table, before comments that end the file.
    let s = Scratch::new(&format!("{NO_REPLICAS}\n# the end\n"));
    s.apply(add("10.0.0.11:3306", None)).unwrap();
    assert_eq!(
        s.text(),
        format!(
            "{NO_REPLICAS}\n[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n\n# the end\n"
        )
    );
    // A file without a final newline gets one; nothing else changes.
    let s = Scratch::new(NO_REPLICAS.trim_end());
    s.apply(add("10.0.0.11:3306", None)).unwrap();
    assert_eq!(
        s.text(),
        format!("{NO_REPLICAS}\n[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n")
    );
}

#[test]
fn add_existing_replica_is_a_no_op_or_a_weight_update() {
    let s = Scratch::new(FILE);
    let mtime = fs::metadata(&s.path).unwrap().modified().unwrap();
    for (edit, weight) in [
        (add("10.0.0.12:3306", None), 2),
        (add(" 10.0.0.12:3306\n", Some(2)), 2),
        (add("10.0.0.11:3306", Some(1)), 1),
    ] {
        let out = s.apply(edit).unwrap();
        assert!(!out.changed);
        let address = if weight == 2 {
            "10.0.0.12:3306"
        } else {
            "10.0.0.11:3306"
        };
        assert_eq!(
            out.message,
            format!("replica {address} already present with weight {weight}: nothing to do")
        );
    }
    assert_eq!(s.text(), FILE);
    // Not rewritten at all: file watchers see no event.
    assert_eq!(fs::metadata(&s.path).unwrap().modified().unwrap(), mtime);

    // Weight update: only the number changes; the trailing comment stays.
    let out = s.apply(add("10.0.0.12:3306", Some(7))).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "replica 10.0.0.12:3306 already present: weight changed from 2 to 7".into()
        }
    );
    assert_eq!(
        s.text(),
        FILE.replace("weight = 2    # bigger box", "weight = 7    # bigger box")
    );

    // An entry without a weight line has the default weight 1.
    let text = format!("{NO_REPLICAS}\n[[replicas]]\naddress = \"r:1\"  # no weight\n");
    let s = Scratch::new(&text);
    assert!(!s.apply(add("r:1", Some(1))).unwrap().changed);
    let out = s.apply(add("r:1", Some(3))).unwrap();
    assert_eq!(
        out.message,
        "replica r:1 already present: weight changed from 1 to 3"
    );
    assert_eq!(s.text(), format!("{text}weight = 3\n"));
    assert_eq!(valid(&s.text()).replicas[0].weight, 3);
    // A broken weight is shown as written, and replaced when a weight is given.
    let text = format!("{NO_REPLICAS}[[replicas]]\naddress = \"r:1\"\nweight = \"2\" # oops\n");
    let s = Scratch::new(&text);
    let out = s.apply(add("r:1", Some(2))).unwrap();
    assert_eq!(
        out.message,
        "replica r:1 already present: weight changed from \"2\" to 2"
    );
    assert_eq!(s.text(), text.replace("\"2\" # oops", "2 # oops"));
    assert_eq!(valid(&s.text()).replicas[0].weight, 2);
}

#[test]
fn remove_replica_keeps_comments_above_it() {
    // The first replica carries the section comment: it stays, now above the second one.
    let s = Scratch::new(FILE);
    let out = s.apply(remove("10.0.0.11:3306")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "removed replica 10.0.0.11:3306".into()
        }
    );
    assert_eq!(
        s.text(),
        FILE.replace(
            "[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n\n",
            ""
        )
    );
    // The last one: its blank line goes with it; reads now go to the master.
    let out = s.apply(remove("10.0.0.12:3306")).unwrap();
    assert_eq!(
        out.message,
        "removed replica 10.0.0.12:3306; no replicas left: reads go to the master"
    );
    assert_eq!(
        s.text(),
        FILE.replace(
            "[[replicas]]\naddress = \"10.0.0.11:3306\"\nweight = 1\n\n\
                 [[replicas]]\naddress = \"10.0.0.12:3306\"\nweight = 2    # bigger box\n",
            ""
        )
    );
    assert!(valid(&s.text()).replicas.is_empty());
    // Removing the second one directly: its own leading blank line goes with it.
    let s = Scratch::new(FILE);
    s.apply(remove("10.0.0.12:3306")).unwrap();
    assert_eq!(
        s.text(),
        FILE.replace(
            "\n[[replicas]]\naddress = \"10.0.0.12:3306\"\nweight = 2    # bigger box\n",
            ""
        )
    );
    // A comment above the last table of the file moves to the end.
    let text = format!("{NO_REPLICAS}\n# canary\n[[replicas]]\naddress = \"r:1\"\n");
    let s = Scratch::new(&text);
    s.apply(remove("r:1")).unwrap();
    assert_eq!(s.text(), format!("{NO_REPLICAS}\n# canary\n"));
    valid(&s.text());
}

#[test]
fn remove_absent_replica_is_a_no_op() {
    let s = Scratch::new(FILE);
    for address in ["10.0.0.99:3306", "10.0.0.10:3306", "localhost:3306"] {
        let out = s.apply(remove(address)).unwrap();
        assert_eq!(
            out,
            EditOutcome {
                changed: false,
                message: format!("replica {address} not present: nothing to do")
            }
        );
    }
    let s2 = Scratch::new(NO_REPLICAS);
    assert!(!s2.apply(remove("r:1")).unwrap().changed);
    assert_eq!(s2.text(), NO_REPLICAS);
    // Exact match, no DNS: 127.0.0.1 is not localhost.
    let text = format!("{NO_REPLICAS}[[replicas]]\naddress = \"localhost:3306\"\n");
    let s3 = Scratch::new(&text);
    assert!(!s3.apply(remove("127.0.0.1:3306")).unwrap().changed);
    assert!(s3.apply(remove("localhost:3306")).unwrap().changed);
    assert_eq!(s.text(), FILE);
}

#[test]
fn set_master_keeps_the_comment_and_drops_a_promoted_replica() {
    let s = Scratch::new(FILE);
    let out = s.apply(set_master("10.0.0.20:3306")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "master changed from 10.0.0.10:3306 to 10.0.0.20:3306".into()
        }
    );
    let expected = FILE.replace(
        "address = \"10.0.0.10:3306\"   # primary in rack A",
        "address = \"10.0.0.20:3306\"   # primary in rack A",
    );
    assert_eq!(s.text(), expected);

    // Promoting a replica: it leaves [[replicas]]; the old master is not added.
    let out = s.apply(set_master("10.0.0.12:3306")).unwrap();
    assert_eq!(
        out.message,
        "master changed from 10.0.0.20:3306 to 10.0.0.12:3306; \
             10.0.0.12:3306 removed from the replicas"
    );
    let c = valid(&s.text());
    assert_eq!(c.master.address, "10.0.0.12:3306");
    let replicas: Vec<&str> = c.replicas.iter().map(|r| &*r.address).collect();
    assert_eq!(replicas, ["10.0.0.11:3306"]);

    let out = s.apply(set_master("10.0.0.12:3306")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "master is already 10.0.0.12:3306: nothing to do".into()
        }
    );
}

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

#[test]
fn list_shows_the_topology() {
    let s = Scratch::new(FILE);
    assert_eq!(
        list(&s.path).unwrap(),
        "master  10.0.0.10:3306\n\
             replica 10.0.0.11:3306 weight 1\n\
             replica 10.0.0.12:3306 weight 2\n"
    );
    let s = Scratch::new(NO_REPLICAS);
    assert_eq!(list(&s.path).unwrap(), "master  10.0.0.10:3306\n");
    let s = Scratch::new("[master]\n");
    let err = list(&s.path).unwrap_err().to_string();
    assert!(err.contains("key `master.address`"), "{err}");
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

/// Every way a `[[clusters]]` entry can be written: the example's inline style with
/// replicas (`blogs2`) and without (`blogs3`), `[clusters.master]` / `[[clusters.replicas]]`
/// tables (`blogs4`), a list over several lines with comments (`blogs5`); a rule naming
/// `blogs2`; comments where edits must not disturb them.
const CLUSTERS: &str = r#"listen = "127.0.0.1:3306"

[master]
address = "10.0.0.10:3306"

[[replicas]]
address = "10.0.0.11:3306"
weight = 1

[[users]]
name = "app"
password = "env:RWSPLIT_TOPOLOGY_TEST_UNSET_1"

# More clusters behind the same proxy.
[[clusters]]
name = "blogs2"
master = { address = "10.0.1.10:3306" }   # shard 2
replicas = [{ address = "10.0.1.11:3306", weight = 1 }]

[[clusters]]
name = "blogs3"
master = { address = "10.0.2.10:3306" }

# shard 4, in tables
[[clusters]]
name = "blogs4"

[clusters.master]
address = "10.0.3.10:3306"  # rack B

[[clusters.replicas]]
address = "10.0.3.11:3306"
weight = 1

[[clusters]]
name = "blogs5"
master = { address = "10.0.4.10:3306" }
replicas = [
  { address = "10.0.4.11:3306", weight = 1 },  # big box
  # canary below
  { address = "10.0.4.12:3306", weight = 0 },
]

# Routing rules.
[[rules]]
schema = "blog_2*"
cluster = "blogs2"

[[rules]]
user = "reports"
route = "replica"

# end of file
"#;

/// `cluster`'s master and replicas (address, weight) in the validated result.
fn servers_of(text: &str, cluster: &str) -> (String, Vec<(String, u32)>) {
    let c = valid(text);
    let c = c
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .unwrap_or_else(|| panic!("no cluster {cluster}"));
    let replicas = c
        .replicas
        .iter()
        .map(|r| (r.address.clone(), r.weight))
        .collect();
    (c.master.address.clone(), replicas)
}

#[test]
fn inline_cluster_edits_touch_only_their_line() {
    let s = Scratch::new(CLUSTERS);
    let line = "replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]";
    let out = s.apply(on("blogs2", add("10.0.1.12:3306", None))).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "cluster blogs2: added replica 10.0.1.12:3306 (weight 1)".into()
        }
    );
    let two = "replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }, \
               { address = \"10.0.1.12:3306\", weight = 1 }]";
    assert_eq!(s.text(), CLUSTERS.replace(line, two));

    // Idempotent: not rewritten at all.
    let mtime = fs::metadata(&s.path).unwrap().modified().unwrap();
    let out = s.apply(on("blogs2", add("10.0.1.12:3306", None))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: replica 10.0.1.12:3306 already present with weight 1: nothing to do"
    );
    assert!(!out.changed);
    assert_eq!(fs::metadata(&s.path).unwrap().modified().unwrap(), mtime);

    // A weight changes in place.
    s.apply(on("blogs2", add("10.0.1.12:3306", Some(3))))
        .unwrap();
    let two = two.replace("weight = 1 }]", "weight = 3 }]");
    assert_eq!(s.text(), CLUSTERS.replace(line, &two));

    // Removing the first entry keeps the list's layout.
    let out = s.apply(on("blogs2", remove("10.0.1.11:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: removed replica 10.0.1.11:3306"
    );
    let one = "replicas = [{ address = \"10.0.1.12:3306\", weight = 3 }]";
    assert_eq!(s.text(), CLUSTERS.replace(line, one));
    assert!(
        !s.apply(on("blogs2", remove("10.0.1.11:3306")))
            .unwrap()
            .changed
    );

    // The last one: an empty list stays, saying so.
    let out = s.apply(on("blogs2", remove("10.0.1.12:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: removed replica 10.0.1.12:3306; no replicas left: reads go to the master"
    );
    assert_eq!(s.text(), CLUSTERS.replace(line, "replicas = []"));

    // The master's address changes; its trailing comment stays.
    let out = s.apply(on("blogs2", set_master("10.0.1.20:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: master changed from 10.0.1.10:3306 to 10.0.1.20:3306"
    );
    assert_eq!(
        s.text(),
        CLUSTERS.replace(line, "replicas = []").replace(
            "master = { address = \"10.0.1.10:3306\" }   # shard 2",
            "master = { address = \"10.0.1.20:3306\" }   # shard 2"
        )
    );
    assert_eq!(
        servers_of(&s.text(), "blogs2"),
        ("10.0.1.20:3306".into(), vec![])
    );
    // Nothing else moved: the main cluster is as it was.
    let c = valid(&s.text());
    assert_eq!(c.master.address, "10.0.0.10:3306");
    assert_eq!(c.replicas.len(), 1);
}

#[test]
fn set_master_of_a_cluster_promotes_its_replica() {
    let s = Scratch::new(CLUSTERS);
    let out = s.apply(on("blogs2", set_master("10.0.1.11:3306"))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs2: master changed from 10.0.1.10:3306 to 10.0.1.11:3306; \
         10.0.1.11:3306 removed from the replicas; no replicas left: reads go to the master"
    );
    assert_eq!(
        s.text(),
        CLUSTERS
            .replace(
                "replicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]",
                "replicas = []"
            )
            .replace("10.0.1.10:3306", "10.0.1.11:3306")
    );
    let out = s.apply(on("blogs2", set_master("10.0.1.11:3306"))).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "cluster blogs2: master is already 10.0.1.11:3306: nothing to do".into()
        }
    );
}

#[test]
fn a_cluster_without_replicas_gets_a_list_in_its_own_style() {
    // Inline master: an inline list, on the line after the master.
    let s = Scratch::new(CLUSTERS);
    s.apply(on("blogs3", add("10.0.2.11:3306", Some(2))))
        .unwrap();
    let master = "master = { address = \"10.0.2.10:3306\" }\n";
    assert_eq!(
        s.text(),
        CLUSTERS.replace(
            master,
            &format!("{master}replicas = [{{ address = \"10.0.2.11:3306\", weight = 2 }}]\n")
        )
    );
    assert_eq!(
        servers_of(&s.text(), "blogs3").1,
        [("10.0.2.11:3306".to_string(), 2)]
    );

    // A [clusters.master] table: [[clusters.replicas]] tables after it, before what follows.
    let text = format!(
        "{NO_REPLICAS}\n[[clusters]]\nname = \"t\"\n\n[clusters.master]\naddress = \"m:1\"\n\n\
         # the rest\n[routing]\nfallback_to_master = true\n"
    );
    let s = Scratch::new(&text);
    s.apply(on("t", add("r:1", None))).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "address = \"m:1\"\n",
            "address = \"m:1\"\n\n[[clusters.replicas]]\naddress = \"r:1\"\nweight = 1\n"
        )
    );
    // And removing it drops the array again.
    s.apply(on("t", remove("r:1"))).unwrap();
    assert_eq!(s.text(), text);
}

#[test]
fn cluster_tables_are_edited_in_place() {
    let s = Scratch::new(CLUSTERS);
    let out = s.apply(on("blogs4", add("10.0.3.12:3306", None))).unwrap();
    assert_eq!(
        out.message,
        "cluster blogs4: added replica 10.0.3.12:3306 (weight 1)"
    );
    // After the entry's last replica table, before the next [[clusters]] entry.
    let after = "[[clusters.replicas]]\naddress = \"10.0.3.11:3306\"\nweight = 1\n";
    let added =
        format!("{after}\n[[clusters.replicas]]\naddress = \"10.0.3.12:3306\"\nweight = 1\n");
    assert_eq!(s.text(), CLUSTERS.replace(after, &added));

    // Promoting the first replica: the master's comment stays, its table goes.
    s.apply(on("blogs4", set_master("10.0.3.11:3306"))).unwrap();
    let expected = CLUSTERS
        .replace(
            after,
            "[[clusters.replicas]]\naddress = \"10.0.3.12:3306\"\nweight = 1\n",
        )
        .replace(
            "address = \"10.0.3.10:3306\"  # rack B",
            "address = \"10.0.3.11:3306\"  # rack B",
        );
    assert_eq!(s.text(), expected);
    assert_eq!(
        servers_of(&s.text(), "blogs4"),
        ("10.0.3.11:3306".into(), vec![("10.0.3.12:3306".into(), 1)])
    );
}

#[test]
fn multi_line_lists_keep_their_layout_and_comments() {
    let s = Scratch::new(CLUSTERS);
    let list = "replicas = [\n  { address = \"10.0.4.11:3306\", weight = 1 },  # big box\n  \
                # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n]";
    assert!(CLUSTERS.contains(list));
    let edited = |s: &Scratch, now: &str| assert_eq!(s.text(), CLUSTERS.replace(list, now));

    // One per line, indented alike, before the closing bracket.
    s.apply(on("blogs5", add("10.0.4.13:3306", None))).unwrap();
    edited(
        &s,
        "replicas = [\n  { address = \"10.0.4.11:3306\", weight = 1 },  # big box\n  \
         # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n  \
         { address = \"10.0.4.13:3306\", weight = 1 },\n]",
    );
    // The first entry goes with the comment on its line; the comment above the next stays.
    s.apply(on("blogs5", remove("10.0.4.11:3306"))).unwrap();
    edited(
        &s,
        "replicas = [\n  # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n  \
         { address = \"10.0.4.13:3306\", weight = 1 },\n]",
    );
    s.apply(on("blogs5", remove("10.0.4.13:3306"))).unwrap();
    edited(
        &s,
        "replicas = [\n  # canary below\n  { address = \"10.0.4.12:3306\", weight = 0 },\n]",
    );
    // The last entry: its comment line stays before the bracket.
    s.apply(on("blogs5", remove("10.0.4.12:3306"))).unwrap();
    edited(&s, "replicas = [\n  # canary below\n]");
    valid(&s.text());

    // Without a trailing comma: the comma goes before the last entry's comment, and removing
    // the new entry gives back the original bytes.
    let text = format!(
        "{NO_REPLICAS}\n[[clusters]]\nname = \"c\"\nmaster = {{ address = \"m:1\" }}\n\
         replicas = [\n    {{ address = \"a:1\", weight = 1 }},\n    \
         {{ address = \"b:1\", weight = 1 }}  # last\n]\n"
    );
    let s = Scratch::new(&text);
    s.apply(on("c", add("c:1", None))).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "{ address = \"b:1\", weight = 1 }  # last\n]",
            "{ address = \"b:1\", weight = 1 },  # last\n    \
             { address = \"c:1\", weight = 1 }\n]"
        )
    );
    assert_eq!(servers_of(&s.text(), "c").1.len(), 3);
    s.apply(on("c", remove("c:1"))).unwrap();
    assert_eq!(s.text(), text);
    // A weight added to an entry that has none: inside the braces, spaced like the rest.
    let text = format!("replicas = [{{ address = \"r:1\" }}]\n{NO_REPLICAS}");
    let s = Scratch::new(&text);
    s.apply(add("r:1", Some(3))).unwrap();
    assert_eq!(
        s.text(),
        text.replace("{ address = \"r:1\" }", "{ address = \"r:1\", weight = 3 }")
    );
}

#[test]
fn inline_main_replicas_are_edited_too() {
    // The top-level list in inline form (valid TOML the loader takes): edited like a
    // cluster's, no longer refused.
    let text = format!("replicas = [{{ address = \"r:1\" }}]\n{NO_REPLICAS}");
    let s = Scratch::new(&text);
    s.apply(add("r:2", None)).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "[{ address = \"r:1\" }]",
            "[{ address = \"r:1\" }, { address = \"r:2\", weight = 1 }]"
        )
    );
    s.apply(remove("r:1")).unwrap();
    assert_eq!(
        s.text(),
        text.replace(
            "[{ address = \"r:1\" }]",
            "[{ address = \"r:2\", weight = 1 }]"
        )
    );
    let replicas: Vec<String> = valid(&s.text())
        .replicas
        .into_iter()
        .map(|r| r.address)
        .collect();
    assert_eq!(replicas, ["r:2"]);
}

#[test]
fn cluster_main_is_the_top_level() {
    let a = Scratch::new(CLUSTERS);
    let b = Scratch::new(CLUSTERS);
    a.apply(add("10.0.0.12:3306", None)).unwrap();
    let out = b.apply(on("main", add("10.0.0.12:3306", None))).unwrap();
    assert_eq!(out.message, "added replica 10.0.0.12:3306 (weight 1)");
    assert_eq!(a.text(), b.text());
    assert_ne!(a.text(), CLUSTERS);
    b.apply(on("main", set_master("10.0.0.20:3306"))).unwrap();
    assert_eq!(valid(&b.text()).master.address, "10.0.0.20:3306");
}

#[test]
fn unknown_cluster_names_the_clusters_there_are() {
    let s = Scratch::new(CLUSTERS);
    for edit in [
        on("blogs9", add("10.0.9.1:3306", None)),
        on("blogs9", remove("10.0.9.1:3306")),
        on("Blogs2", set_master("10.0.9.1:3306")),
    ] {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(
            err.contains(
                "proxy.toml: the clusters are \"main\", \"blogs2\", \"blogs3\", \"blogs4\", \"blogs5\""
            ) && err.starts_with("no cluster \"Blogs2\"") == matches!(edit, Edit::SetMaster { .. }),
            "{edit:?}: {err}"
        );
    }
    let s2 = Scratch::new(FILE);
    let err = s2
        .apply(on("blogs2", add("10.0.9.1:3306", None)))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("the clusters are \"main\""), "{err}");
    assert_eq!(s.text(), CLUSTERS);
    assert_eq!(s2.text(), FILE);
}

#[test]
fn cluster_edits_are_validated_across_clusters() {
    let s = Scratch::new(CLUSTERS);
    // An address is one server in one role in one cluster.
    for (edit, needle) in [
        (
            on("blogs2", add("10.0.0.11:3306", None)),
            "duplicate backend address",
        ),
        (
            on("blogs3", set_master("10.0.1.11:3306")),
            "duplicate backend address",
        ),
        (
            on("blogs2", add("10.0.1.10:3306", None)),
            "10.0.1.10:3306 is the master",
        ),
        (on("blogs2", add("10.0.1.12", None)), "missing port"),
    ] {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{edit:?}: {err}");
        assert_eq!(s.text(), CLUSTERS, "{edit:?}");
    }
}

#[test]
fn add_cluster_appends_after_the_last_cluster() {
    let s = Scratch::new(CLUSTERS);
    let out = s
        .apply(add_cluster(
            "blogs6",
            "10.0.5.10:3306",
            &[("10.0.5.11:3306", 1), ("10.0.5.12:3306", 2)],
        ))
        .unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: true,
            message: "added cluster blogs6: master 10.0.5.10:3306, replicas \
                      10.0.5.11:3306 (weight 1), 10.0.5.12:3306 (weight 2)"
                .into()
        }
    );
    let entry = "[[clusters]]\nname = \"blogs6\"\nmaster = { address = \"10.0.5.10:3306\" }\n\
                 replicas = [{ address = \"10.0.5.11:3306\", weight = 1 }, \
                 { address = \"10.0.5.12:3306\", weight = 2 }]\n";
    let expected = CLUSTERS.replace(
        "]\n\n# Routing rules.",
        &format!("]\n\n{entry}\n# Routing rules."),
    );
    assert_eq!(s.text(), expected);
    assert_eq!(
        servers_of(&s.text(), "blogs6"),
        (
            "10.0.5.10:3306".into(),
            vec![("10.0.5.11:3306".into(), 1), ("10.0.5.12:3306".into(), 2)]
        )
    );

    // The same cluster again (replicas in any order): nothing to do, not rewritten.
    let mtime = fs::metadata(&s.path).unwrap().modified().unwrap();
    let out = s
        .apply(add_cluster(
            "blogs6",
            "10.0.5.10:3306",
            &[("10.0.5.12:3306", 2), ("10.0.5.11:3306", 1)],
        ))
        .unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "cluster blogs6 already present with master 10.0.5.10:3306 and the same \
                      replicas: nothing to do"
                .into()
        }
    );
    // Also for the table form and for a cluster without replicas.
    assert!(
        !s.apply(add_cluster(
            "blogs4",
            "10.0.3.10:3306",
            &[("10.0.3.11:3306", 1)]
        ))
        .unwrap()
        .changed
    );
    assert!(
        !s.apply(add_cluster("blogs3", "10.0.2.10:3306", &[]))
            .unwrap()
            .changed
    );
    assert_eq!(fs::metadata(&s.path).unwrap().modified().unwrap(), mtime);

    // A different cluster under that name is refused, file untouched.
    for (edit, needle) in [
        (
            add_cluster("blogs6", "10.0.5.99:3306", &[]),
            "cluster blogs6 already exists in ",
        ),
        (
            add_cluster("blogs6", "10.0.5.99:3306", &[]),
            "with master 10.0.5.10:3306; to move its writes use \
             `rwsplit topology set-master 10.0.5.99:3306 --cluster blogs6`",
        ),
        (
            add_cluster("blogs6", "10.0.5.10:3306", &[("10.0.5.11:3306", 1)]),
            "and other replicas (10.0.5.11:3306 weight 1, 10.0.5.12:3306 weight 2)",
        ),
        (
            add_cluster("blogs3", "10.0.2.10:3306", &[("10.0.2.11:3306", 1)]),
            "and other replicas (none)",
        ),
        (
            add_cluster("main", "10.0.5.99:3306", &[]),
            "\"main\" is the cluster",
        ),
        (
            add_cluster("a b", "10.0.5.99:3306", &[]),
            "invalid cluster name \"a b\"",
        ),
        (add_cluster("", "10.0.5.99:3306", &[]), "must not be empty"),
        (add_cluster("x", "10.0.5.99", &[]), "missing port"),
        (
            add_cluster("x", "10.0.5.99:3306", &[("10.0.5.99:3306", 1)]),
            "10.0.5.99:3306 is the master of cluster x",
        ),
        (
            add_cluster("x", "10.0.5.99:3306", &[("r:1", 1), ("r:1", 2)]),
            "replica r:1 is given twice",
        ),
        (
            add_cluster("x", "10.0.5.99:3306", &[("r:1", 1001)]),
            "weight 1001 is out of range",
        ),
        // A server of another cluster.
        (
            add_cluster("x", "10.0.0.11:3306", &[]),
            "duplicate backend address",
        ),
    ] {
        let err = s.apply(edit.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{edit:?}: {err}");
    }
    assert_eq!(s.text(), expected);
}

#[test]
fn add_cluster_to_a_file_without_clusters_goes_at_the_end() {
    let s = Scratch::new(FILE);
    let out = s
        .apply(add_cluster(" blogs2 ", " 10.0.9.10:3306 ", &[]))
        .unwrap();
    assert_eq!(
        out.message,
        "added cluster blogs2: master 10.0.9.10:3306, replicas none: reads go to the master"
    );
    assert_eq!(
        s.text(),
        FILE.replace(
            "\n# end of file\n",
            "\n[[clusters]]\nname = \"blogs2\"\nmaster = { address = \"10.0.9.10:3306\" }\n\
             \n# end of file\n"
        )
    );
    // Then edited like any other.
    s.apply(on("blogs2", add("10.0.9.11:3306", None))).unwrap();
    assert_eq!(
        servers_of(&s.text(), "blogs2"),
        ("10.0.9.10:3306".into(), vec![("10.0.9.11:3306".into(), 1)])
    );
}

#[test]
fn remove_cluster_is_refused_while_a_rule_names_it() {
    let s = Scratch::new(CLUSTERS);
    let line = CLUSTERS[..CLUSTERS.find("cluster = \"blogs2\"").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let err = s.apply(remove_cluster("blogs2")).unwrap_err().to_string();
    assert!(
        err.starts_with("cluster blogs2 is still named by a rule in ")
            && err.ends_with(&format!(
                "proxy.toml ([[rules]] with cluster = \"blogs2\" on line {line}); point those \
                 rules at another cluster or remove them first"
            )),
        "{err}"
    );
    // Two rules.
    let two = format!("{CLUSTERS}\n[[rules]]\nuser = \"x\"\ncluster = \"blogs2\"\n");
    let s2 = Scratch::new(&two);
    let err = s2.apply(remove_cluster("blogs2")).unwrap_err().to_string();
    assert!(err.contains("named by 2 rules"), "{err}");
    assert!(err.contains(&format!("on lines {line}, ")), "{err}");
    assert_eq!(s.text(), CLUSTERS);
    assert_eq!(s2.text(), two);

    // "main" cannot go; an absent cluster is nothing to do.
    let err = s.apply(remove_cluster("main")).unwrap_err().to_string();
    assert!(err.contains("it cannot be removed"), "{err}");
    let out = s.apply(remove_cluster("blogs9")).unwrap();
    assert_eq!(
        out,
        EditOutcome {
            changed: false,
            message: "cluster blogs9 not present: nothing to do".into()
        }
    );

    // Once the rule points elsewhere, the cluster can go.
    let moved = CLUSTERS.replace("cluster = \"blogs2\"", "cluster = \"blogs3\"");
    fs::write(&s.path, &moved).unwrap();
    let out = s.apply(remove_cluster("blogs2")).unwrap();
    assert_eq!(out.message, "removed cluster blogs2");
    // The comment above the entry describes the section: it stays, above the next entry.
    assert_eq!(
        s.text(),
        moved.replace(
            "[[clusters]]\nname = \"blogs2\"\nmaster = { address = \"10.0.1.10:3306\" }   \
             # shard 2\nreplicas = [{ address = \"10.0.1.11:3306\", weight = 1 }]\n\n",
            ""
        )
    );
    let c = valid(&s.text());
    assert!(c.clusters.iter().all(|c| c.name != "blogs2"));
}

#[test]
fn remove_cluster_takes_its_tables_and_keeps_other_comments() {
    let s = Scratch::new(CLUSTERS);
    // Inline entry without a comment of its own.
    s.apply(remove_cluster("blogs3")).unwrap();
    let expected = CLUSTERS.replace(
        "\n[[clusters]]\nname = \"blogs3\"\nmaster = { address = \"10.0.2.10:3306\" }\n",
        "",
    );
    assert_eq!(s.text(), expected);
    // Table form: the entry and its [clusters.master] / [[clusters.replicas]] go; the
    // comment above it stays, now above the next entry.
    let out = s.apply(remove_cluster("blogs4")).unwrap();
    assert!(out.changed);
    let expected = expected.replace(
        "[[clusters]]\nname = \"blogs4\"\n\n[clusters.master]\naddress = \"10.0.3.10:3306\"  \
         # rack B\n\n[[clusters.replicas]]\naddress = \"10.0.3.11:3306\"\nweight = 1\n\n",
        "",
    );
    assert_eq!(s.text(), expected);
    assert!(!s.apply(remove_cluster("blogs4")).unwrap().changed);
    let names: Vec<String> = valid(&s.text())
        .clusters
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["blogs2", "blogs5"]);

    // The last cluster of a file: the key goes with it, the file is as before add-cluster.
    let s = Scratch::new(FILE);
    s.apply(add_cluster("x", "10.0.9.10:3306", &[("10.0.9.11:3306", 1)]))
        .unwrap();
    s.apply(remove_cluster("x")).unwrap();
    assert_eq!(s.text(), FILE);
}

#[test]
fn list_shows_every_cluster_main_first() {
    let s = Scratch::new(CLUSTERS);
    assert_eq!(
        list(&s.path).unwrap(),
        "cluster main\n\
         master  10.0.0.10:3306\n\
         replica 10.0.0.11:3306 weight 1\n\
         cluster blogs2\n\
         master  10.0.1.10:3306\n\
         replica 10.0.1.11:3306 weight 1\n\
         cluster blogs3\n\
         master  10.0.2.10:3306\n\
         cluster blogs4\n\
         master  10.0.3.10:3306\n\
         replica 10.0.3.11:3306 weight 1\n\
         cluster blogs5\n\
         master  10.0.4.10:3306\n\
         replica 10.0.4.11:3306 weight 1\n\
         replica 10.0.4.12:3306 weight 0\n"
    );
}

#[test]
fn replica_specs_take_an_optional_weight() {
    let parsed = |s: &str| {
        NewReplica::parse(s)
            .map(|r| (r.address, r.weight))
            .map_err(|e| e.to_string())
    };
    assert_eq!(parsed("10.0.1.11:3306"), Ok(("10.0.1.11:3306".into(), 1)));
    assert_eq!(
        parsed(" 10.0.1.11:3306:2 "),
        Ok(("10.0.1.11:3306".into(), 2))
    );
    assert_eq!(
        parsed("db-2.internal:3307:0"),
        Ok(("db-2.internal:3307".into(), 0))
    );
    assert_eq!(parsed("[::1]:3306"), Ok(("[::1]:3306".into(), 1)));
    assert_eq!(parsed("[::1]:3306:5"), Ok(("[::1]:3306".into(), 5)));
    for bad in ["10.0.1.11", "10.0.1.11:3306:x", "10.0.1.11:70000", ""] {
        assert!(parsed(bad).is_err(), "{bad}");
    }
}

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
