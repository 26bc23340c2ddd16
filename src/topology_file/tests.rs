
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
        address: address.into(),
        weight,
    }
}

fn remove(address: &str) -> Edit {
    Edit::RemoveReplica {
        address: address.into(),
    }
}

fn set_master(address: &str) -> Edit {
    Edit::SetMaster {
        address: address.into(),
    }
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
    // Inline replicas: not editable without guessing the layout.
    let text = format!("replicas = [{{ address = \"r:1\" }}]\n{NO_REPLICAS}");
    let s = Scratch::new(&text);
    let err = s.apply(add("r:2", None)).unwrap_err().to_string();
    assert!(err.contains("not written as [[replicas]] tables"), "{err}");
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
