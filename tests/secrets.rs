//! Secrets stay with their owner: a hook's edit of proxy.toml (`rwsplit topology …`) never
//! leaves the passwords readable by another local user, not even for the moment between
//! creating its temporary file and giving it the original's mode.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Another local user (nobody) reads every temporary file in the config directory as fast as
/// it can while 300 edits run as root: it must never read a byte of the file.
#[test]
fn topology_edits_never_show_the_config_to_another_user() {
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root; this test needs root to act as another user"
        );
        eprintln!("skipped: needs root to read as another user");
        return;
    }
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:3306\"\n\n[master]\naddress = \"127.0.0.1:3307\"\n\n\
         [[users]]\nname = \"app\"\npassword = \"TOPSECRET-do-not-leak\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    // The reader, as uid/gid 65534 (nobody): woken by inotify for every file created in the
    // directory, it opens it at once and reads it later (permissions count at open: a file
    // readable for a moment is readable for good through the descriptor).
    let reader_py = r#"
import ctypes, os, struct, sys, time
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
libc.inotify_add_watch(fd, d.encode(), 0x100)  # IN_CREATE
held, out = [], sys.stdout.buffer
deadline = time.time() + 60
while time.time() < deadline and not os.path.exists(os.path.join(d, "stop")):
    try:
        buf = os.read(fd, 65536)
    except BlockingIOError:
        time.sleep(0.0005)
        continue
    i = 0
    while i < len(buf):
        _, _, _, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
        i += 16 + n
        try:
            held.append(open(os.path.join(d, name), "rb"))
        except OSError:
            pass
for f in held:
    out.write(f.read())
print("opened", len(held), file=sys.stderr)
"#;
    let reader = Command::new("python3")
        .arg("-c")
        .arg(reader_py)
        .arg(&dir)
        .uid(65534)
        .gid(65534)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reader as nobody");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    for i in 0..300 {
        let addr = format!("127.0.0.1:{}", 20000 + (i % 2));
        let verb = if i % 2 == 0 {
            "add-replica"
        } else {
            "remove-replica"
        };
        let addr = if verb == "remove-replica" {
            "127.0.0.1:20000".to_string()
        } else {
            addr
        };
        let out = Command::new(env!("CARGO_BIN_EXE_rwsplit"))
            .args(["topology", verb, &addr, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{verb} {addr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(dir.join("stop"), "").unwrap();
    let out = reader.wait_with_output().unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    let opened = String::from_utf8_lossy(&out.stderr);
    assert!(
        !seen.contains("TOPSECRET"),
        "another user read the config during an edit ({} bytes; {opened})",
        seen.len()
    );
    // The edits happened, and the file kept its mode.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&config).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(started.elapsed() < Duration::from_secs(120));
    let _ = std::fs::remove_dir_all(&dir);
}
