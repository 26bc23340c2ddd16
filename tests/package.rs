//! Issue 17: the Debian package (`cargo deb`, see [package.metadata.deb] in Cargo.toml).
//!
//! scripts/test.sh builds the package and names it in RWSPLIT_DEB. Then these tests check its
//! contents with dpkg-deb, and (as root) install it for real with `dpkg -i`, run the installed
//! init script against the test cluster (start, status, a query, reload, a refused reload of a
//! broken file, stop), and `dpkg -r` / `dpkg --purge` it. With CI=true a missing package or a
//! non-root user fails the test instead of skipping it, so it cannot silently not run.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The .deb scripts/test.sh built, or None (skip) outside CI.
fn package() -> Option<PathBuf> {
    match std::env::var_os("RWSPLIT_DEB").map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        other => {
            let why = match other {
                Some(p) => format!("RWSPLIT_DEB={} does not exist", p.display()),
                None => "RWSPLIT_DEB is not set".to_string(),
            };
            assert!(
                !in_ci(),
                "{why}: scripts/test.sh builds the package (cargo deb) and sets it"
            );
            eprintln!("SKIPPED: {why} (scripts/test.sh builds the package and sets it)");
            None
        }
    }
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(cmd: &str, args: &[&str]) -> String {
    let o = run(cmd, args);
    assert!(o.status.success(), "{cmd} {args:?} failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The non-comment lines of a file, with the binary's path as the package has it.
fn body(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.replace("/usr/local/bin/rwsplit", "/usr/bin/rwsplit"))
        .collect()
}

#[test]
fn packaged_service_files_are_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (packaged, example) in [
        ("debian/rwsplit.service", "examples/systemd/rwsplit.service"),
        ("debian/rwsplit.init", "examples/init.d/rwsplit"),
    ] {
        assert_eq!(
            body(&root.join(packaged)),
            body(&root.join(example)),
            "{packaged} differs from {example} (other than comments and /usr/bin): copy the change over"
        );
    }
    // The packaged default config is valid once its passwords file exists (postinst writes
    // placeholders for exactly these names).
    let postinst = std::fs::read_to_string(root.join("debian/postinst")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rwsplit"));
    cmd.arg("check-config").arg(root.join("debian/proxy.toml"));
    for name in ["APP_DB_PASSWORD", "RWSPLIT_MONITOR_PASSWORD"] {
        assert!(
            postinst.contains(&format!("\n{name}=")),
            "postinst writes {name}"
        );
        cmd.env(name, "placeholder");
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "debian/proxy.toml: {}", text(&o));
}

#[test]
fn package_contents() {
    let Some(deb) = package() else { return };
    let deb = deb.to_str().unwrap();
    let name = Path::new(deb).file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&format!("rwsplit_{}", env!("CARGO_PKG_VERSION")))
            && name.ends_with("_amd64.deb"),
        "{name}"
    );
    let listing = ok("dpkg-deb", &["--contents", deb]);
    // path -> mode string, e.g. "./usr/bin/rwsplit" -> "-rwxr-xr-x"
    let files: std::collections::HashMap<&str, &str> = listing
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let mode = f.next()?;
            let path = f.last()?;
            Some((path, mode))
        })
        .collect();
    for (path, mode) in [
        ("./usr/bin/rwsplit", "-rwxr-xr-x"),
        ("./etc/rwsplit/proxy.toml", "-rw-r-----"),
        ("./etc/init.d/rwsplit", "-rwxr-xr-x"),
        ("./usr/lib/systemd/system/rwsplit.service", "-rw-r--r--"),
        ("./usr/lib/systemd/system/rwsplit-config.path", "-rw-r--r--"),
        (
            "./usr/lib/systemd/system/rwsplit-config-reload.service",
            "-rw-r--r--",
        ),
        ("./usr/share/rwsplit/hooks/host-up.sh", "-rwxr-xr-x"),
        ("./usr/share/rwsplit/hooks/host-down.sh", "-rwxr-xr-x"),
        ("./usr/share/rwsplit/hooks/new-master.sh", "-rwxr-xr-x"),
        ("./usr/share/rwsplit/hooks/consul-replicas.sh", "-rwxr-xr-x"),
        ("./usr/share/rwsplit/hooks/hook-lib.sh", "-rw-r--r--"),
        ("./usr/share/rwsplit/grafana/rwsplit.json", "-rw-r--r--"),
        ("./usr/share/doc/rwsplit/copyright", "-rw-r--r--"),
    ] {
        assert_eq!(files.get(path), Some(&mode), "{path} in:\n{listing}");
    }
    assert!(
        !files.keys().any(|p| p.starts_with("./usr/local")),
        "nothing under /usr/local:\n{listing}"
    );
    let conffiles = ok("dpkg-deb", &["--info", deb, "conffiles"]);
    let mut conffiles: Vec<&str> = conffiles.lines().map(str::trim).collect();
    conffiles.sort();
    assert_eq!(
        conffiles,
        ["/etc/init.d/rwsplit", "/etc/rwsplit/proxy.toml"]
    );
    let depends = ok("dpkg-deb", &["--field", deb, "Depends"]);
    assert!(
        depends.contains("adduser") && depends.contains("libc6"),
        "{depends}"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let s = ok("dpkg-deb", &["--info", deb, script]);
        assert!(s.starts_with("#!/bin/sh"), "{script}");
    }
    // `systemctl reload rwsplit`: check the file, then SIGHUP.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("deb-x-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    ok("dpkg-deb", &["-x", deb, tmp.to_str().unwrap()]);
    let unit = std::fs::read_to_string(tmp.join("usr/lib/systemd/system/rwsplit.service")).unwrap();
    let reload: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("ExecReload="))
        .collect();
    assert_eq!(
        reload,
        [
            "ExecReload=/usr/bin/rwsplit check-config /etc/rwsplit/proxy.toml",
            "ExecReload=/bin/kill -HUP $MAINPID"
        ]
    );
    assert!(unit.contains(
        "\nExecStart=/usr/bin/rwsplit --config /etc/rwsplit/proxy.toml --pid-file /run/rwsplit/rwsplit.pid\n"
    ));
    let o = run(tmp.join("usr/bin/rwsplit").to_str().unwrap(), &["--help"]);
    assert!(
        o.status.success() && text(&o).contains("check-config"),
        "{}",
        text(&o)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Purges the package (after stopping the proxy) when the test ends, failed or not.
struct Installed;

/// The test's settings for the init script (not a file of the package).
const DEFAULTS: &str = "/etc/default/rwsplit";

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run("/etc/init.d/rwsplit", &["stop"]);
        let _ = std::fs::remove_file(DEFAULTS);
        let o = run("dpkg", &["--purge", "rwsplit"]);
        if !o.status.success() {
            eprintln!("cleanup: dpkg --purge rwsplit: {}", text(&o));
        }
    }
}

fn installed_status() -> Option<String> {
    let o = run("dpkg-query", &["-W", "-f=${Status}", "rwsplit"]);
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn mode_owner(path: &str) -> (u32, String, String) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let name = |db: &str, id: u32| {
        ok("getent", &[db, &id.to_string()])
            .split(':')
            .next()
            .unwrap()
            .to_string()
    };
    (
        m.permissions().mode() & 0o7777,
        name("passwd", m.uid()),
        name("group", m.gid()),
    )
}

fn init(action: &str) -> (i32, String) {
    let o = run("/etc/init.d/rwsplit", &[action]);
    (o.status.code().unwrap_or(-1), text(&o))
}

#[test]
fn dpkg_install_init_script_remove_purge() {
    let Some(deb) = package() else { return };
    let uid = ok("id", &["-u"]);
    if uid.trim() != "0" {
        assert!(!in_ci(), "CI must run this test as root (dpkg -i)");
        eprintln!("SKIPPED: dpkg -i needs root");
        return;
    }
    let c = Cluster::shared();
    if let Some(status) = installed_status() {
        if status != "unknown ok not-installed" {
            eprintln!("rwsplit package already present ({status}); purging it first");
            let _ = run("/etc/init.d/rwsplit", &["stop"]);
            ok("dpkg", &["--purge", "rwsplit"]);
        }
    }

    assert!(
        !Path::new(DEFAULTS).exists(),
        "{DEFAULTS} exists: this test would overwrite it"
    );
    let guard = Installed;
    let o = run("dpkg", &["-i", deb.to_str().unwrap()]);
    assert!(o.status.success(), "dpkg -i: {}", text(&o));
    assert_eq!(installed_status().as_deref(), Some("install ok installed"));

    // postinst: a system user with no login and no home, and the config readable by it only.
    let pw = ok("getent", &["passwd", "rwsplit"]);
    let f: Vec<&str> = pw.trim().split(':').collect();
    assert!(f[2].parse::<u32>().unwrap() < 1000, "system uid: {pw}");
    assert_eq!(f[5], "/nonexistent", "{pw}");
    assert!(f[6].ends_with("nologin") || f[6].ends_with("false"), "{pw}");
    assert_eq!(
        mode_owner("/etc/rwsplit"),
        (0o750, "root".into(), "rwsplit".into())
    );
    assert_eq!(
        mode_owner("/etc/rwsplit/proxy.toml"),
        (0o640, "root".into(), "rwsplit".into())
    );
    assert_eq!(
        mode_owner("/etc/rwsplit/rwsplit.env"),
        (0o640, "root".into(), "rwsplit".into())
    );
    // Installed, not started, and registered but not enabled for sysvinit: the shipped config
    // names placeholder backends.
    let (rc, out) = init("status");
    assert_eq!(rc, 3, "not running after install: {out}");
    let rc_links = || -> Vec<String> {
        std::fs::read_dir("/etc")
            .unwrap()
            .flatten()
            .filter(|d| {
                let n = d.file_name().to_string_lossy().into_owned();
                n.starts_with("rc") && n.ends_with(".d")
            })
            .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
            .map(|l| l.file_name().to_string_lossy().into_owned())
            .filter(|l| l.ends_with("rwsplit"))
            .collect()
    };
    let links = rc_links();
    assert!(!links.is_empty(), "update-rc.d registered the script");
    assert!(
        links.iter().all(|l| l.starts_with('K')),
        "not enabled: {links:?}"
    );
    // The units load (systemd-analyze checks syntax and that the binary exists).
    if let Ok(o) = Command::new("systemd-analyze")
        .args(["verify", "/usr/lib/systemd/system/rwsplit.service"])
        .args(["/usr/lib/systemd/system/rwsplit-config.path"])
        .args(["/usr/lib/systemd/system/rwsplit-config-reload.service"])
        .output()
    {
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "systemd-analyze verify: {}",
            text(&o)
        );
    } else {
        eprintln!("no systemd-analyze: the units are not verified");
    }
    let out = ok(
        "runuser",
        &[
            "-u",
            "rwsplit",
            "--",
            "sh",
            "-c",
            "set -a; . /etc/rwsplit/rwsplit.env; exec rwsplit check-config /etc/rwsplit/proxy.toml",
        ],
    );
    assert!(out.contains("OK"), "{out}");

    // Point the installed config at the test cluster (same file: owner and mode stay). No
    // file watch (set through /etc/default/rwsplit, which the script reads): every reload
    // below comes from a SIGHUP.
    let port = free_port();
    let config = "/etc/rwsplit/proxy.toml";
    std::fs::write(config, c.proxy_toml(port, "")).unwrap();
    std::fs::write(DEFAULTS, "DAEMON_ARGS=\"--no-watch\"\n").unwrap();
    let (rc, out) = init("start");
    assert_eq!(rc, 0, "start: {out}");
    let (rc, out) = init("status");
    assert_eq!(rc, 0, "status: {out}");
    assert!(out.contains("is running"), "{out}");
    let pid = std::fs::read_to_string("/run/rwsplit/rwsplit.pid").unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{}/cmdline", pid.trim())).unwrap();
    assert!(cmdline.contains("--no-watch"), "{cmdline:?}");
    let user = ok("ps", &["-o", "user=", "-p", pid.trim()]);
    assert_eq!(user.trim(), "rwsplit", "the proxy runs as rwsplit");
    let exe = std::fs::read_link(format!("/proc/{}/exe", pid.trim())).unwrap();
    assert_eq!(exe, Path::new("/usr/bin/rwsplit"));
    let read = mariadb(port, c.user(), c.password(), "SELECT @@server_id");
    assert!(read.status.success(), "query: {}", text(&read));
    let id = String::from_utf8_lossy(&read.stdout).trim().to_string();
    assert!(
        c.replica_ids().contains(&id),
        "a read on a replica, got {id}"
    );
    let log = "/var/log/rwsplit/rwsplit.log";
    let reloads = || {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .matches("configuration reloaded")
            .count()
    };

    // The installed hooks find the installed binary and the pid file by their defaults, edit
    // the config in place (owner and mode kept) and make the proxy reload.
    let r2 = format!("127.0.0.1:{}", c.replica_ports()[1]);
    for (hook, present) in [("host-down.sh", false), ("host-up.sh", true)] {
        let before = reloads();
        let o = Command::new(format!("/usr/share/rwsplit/hooks/{hook}"))
            .arg(&r2)
            .env("RWSPLIT_HOOK_SYSLOG", "0")
            .output()
            .unwrap();
        assert!(o.status.success(), "{hook}: {}", text(&o));
        let now = std::fs::read_to_string(config).unwrap();
        assert_eq!(now.contains(&r2), present, "{hook}: {now}");
        assert_eq!(mode_owner(config), (0o640, "root".into(), "rwsplit".into()));
        eventually(
            &format!("reload after {hook}"),
            Duration::from_secs(5),
            || reloads() > before,
        );
    }

    // reload: check-config, then SIGHUP; the proxy picks the new file up.
    let one_replica = c.proxy_toml(port, "").replace(
        &format!(
            "[[replicas]]\naddress = \"127.0.0.1:{}\"\nweight = 1\n",
            c.replica_ports()[0]
        ),
        "",
    );
    std::fs::write(config, &one_replica).unwrap();
    let before = reloads();
    let (rc, out) = init("reload");
    assert_eq!(rc, 0, "reload: {out}");
    eventually("reloaded", Duration::from_secs(5), || reloads() > before);
    // A broken file: reload fails before any signal, and the proxy keeps serving.
    std::fs::write(config, format!("{one_replica}\n[master\n")).unwrap();
    let (rc, out) = init("reload");
    assert_eq!(rc, 1, "reload of a broken file fails: {out}");
    assert!(out.contains("proxy.toml"), "says where: {out}");
    let read = mariadb(port, c.user(), c.password(), "SELECT 1");
    assert!(read.status.success(), "still serves: {}", text(&read));
    std::fs::write(config, &one_replica).unwrap();

    // Reinstall (an upgrade to the same version) over the running proxy: the edited conffile
    // is kept as it is, without a prompt, and the proxy serves afterwards (restarted by
    // postinst, or left running where a policy-rc.d forbids service actions).
    let o = run("dpkg", &["-i", "--force-confold", deb.to_str().unwrap()]);
    assert!(o.status.success(), "dpkg -i again: {}", text(&o));
    assert_eq!(std::fs::read_to_string(config).unwrap(), one_replica);
    assert_eq!(mode_owner(config), (0o640, "root".into(), "rwsplit".into()));
    eventually("serves after reinstall", Duration::from_secs(10), || {
        mariadb(port, c.user(), c.password(), "SELECT 1")
            .status
            .success()
    });

    let (rc, out) = init("stop");
    assert_eq!(rc, 0, "stop: {out}");
    let (rc, out) = init("status");
    assert_eq!(rc, 3, "stopped: {out}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());

    // remove: the program goes, the conffiles stay.
    let o = run("dpkg", &["-r", "rwsplit"]);
    assert!(o.status.success(), "dpkg -r: {}", text(&o));
    assert_eq!(
        installed_status().as_deref(),
        Some("deinstall ok config-files")
    );
    assert!(!Path::new("/usr/bin/rwsplit").exists());
    assert!(!Path::new("/usr/share/rwsplit").exists());
    assert!(!Path::new("/usr/lib/systemd/system/rwsplit.service").exists());
    assert!(Path::new(config).exists(), "conffile kept on remove");
    assert!(
        Path::new("/etc/init.d/rwsplit").exists(),
        "conffile kept on remove"
    );
    let (rc, out) = init("stop");
    assert_eq!(
        rc, 0,
        "the init script of a removed package is a no-op: {out}"
    );

    // purge: every file of the package and of its maintainer scripts goes.
    std::fs::remove_file(DEFAULTS).unwrap();
    let o = run("dpkg", &["--purge", "rwsplit"]);
    assert!(o.status.success(), "dpkg --purge: {}", text(&o));
    std::mem::forget(guard);
    assert!(
        installed_status().is_none_or(|s| s == "unknown ok not-installed"),
        "{:?}",
        installed_status()
    );
    for gone in [
        "/etc/rwsplit",
        "/etc/init.d/rwsplit",
        "/var/log/rwsplit",
        "/run/rwsplit",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left after purge");
    }
    assert_eq!(
        rc_links(),
        Vec::<String>::new(),
        "rc links left after purge"
    );
}
