//! Real PHP clients through rwsplit: mysqli and PDO (both on mysqlnd, from Debian's php-mysql)
//! and a WordPress site (Debian's wordpress package, served by `php -S`).
//!
//! Each driver scenario in tests/clients/php/scenarios.php runs twice, directly against the
//! master and through a rwsplit process, each in a fresh database of its own, and the JSON lines
//! it prints (what the driver returned: rows, column metadata, affected rows, insert ids,
//! warnings, error codes and SQLSTATEs) must be the same. Where routing matters, the servers'
//! own counters show where the statements ran.
//!
//! mysqlnd is not like libmariadb: it logs in without CLIENT_MULTI_STATEMENTS and turns it on
//! for each `multi_query` with COM_SET_OPTION (and off again before the next plain query), and
//! PDO with ATTR_EMULATE_PREPARES=false sends every query through COM_STMT_PREPARE/EXECUTE.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;

/// The tests read global counters of the shared servers: one at a time, also under `cargo test`
/// (nextest already runs one test per process, one after the other).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn skip_install() -> bool {
    std::env::var("RWSPLIT_SKIP_INSTALL").is_ok_and(|v| v == "1")
}

/// True if php with mysqli and pdo_mysql is there. Missing PHP fails the test, unless
/// RWSPLIT_SKIP_INSTALL=1 says nothing was installed on purpose: then the test is skipped.
fn php_ready() -> bool {
    let ok = Command::new("php")
        .args([
            "-r",
            "exit(extension_loaded('mysqli') && extension_loaded('pdo_mysql') ? 0 : 1);",
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    if skip_install() {
        eprintln!(
            "SKIPPED: php with mysqli and pdo_mysql is not installed and RWSPLIT_SKIP_INSTALL=1 \
             (scripts/test.sh installs php-cli php-mysql)"
        );
        return false;
    }
    panic!(
        "php with the mysqli and pdo_mysql extensions is missing: scripts/test.sh installs \
         php-cli php-mysql with apt-get (set RWSPLIT_SKIP_INSTALL=1 to skip these tests instead)"
    );
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/php/scenarios.php")
}

fn replicas_counter(c: &Cluster, name: &str) -> i64 {
    c.replica_status_counters(&[name])[name]
}

/// Runs one scenario against 127.0.0.1:`port` in `db`; returns its JSON lines.
fn run_scenario(c: &Cluster, port: u16, db: &str, scenario: &str) -> Vec<String> {
    let out = Command::new("php")
        .arg(script())
        .args([
            "127.0.0.1",
            &port.to_string(),
            c.user(),
            c.password(),
            db,
            scenario,
        ])
        .output()
        .expect("run php");
    assert!(
        out.status.success(),
        "php scenarios.php {scenario} against port {port} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "php printed on stderr ({scenario}, port {port}):\n{stderr}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs a scenario both ways and compares; returns the counter deltas on the replicas (sum)
/// and on the master over the proxied run, for the names given.
fn scenario_checked(
    scenario: &str,
    names: &[&str],
) -> Option<(HashMap<String, i64>, HashMap<String, i64>)> {
    if !php_ready() {
        return None;
    }
    let _serial = serial();
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let (db_direct, db_proxy) = (
        format!("php_{scenario}_direct"),
        format!("php_{scenario}_proxy"),
    );
    c.fresh_db(&db_direct);
    c.fresh_db(&db_proxy);
    let direct = run_scenario(&c, c.master_port(), &db_direct, scenario);
    let (r0, m0) = (
        c.replica_status_counters(names),
        c.status_counters(c.master_port(), names),
    );
    let proxied = run_scenario(&c, p.port, &db_proxy, scenario);
    let (r1, m1) = (
        c.replica_status_counters(names),
        c.status_counters(c.master_port(), names),
    );
    assert_same(scenario, &direct, &proxied, &p);
    Some((delta(&r0, &r1), delta(&m0, &m1)))
}

// ---------------------------------------------------------------------------------------------
// mysqli

#[test]
fn mysqli_basics_same_as_direct() {
    let Some((replicas, master)) = scenario_checked(
        "mysqli_basics",
        &["Com_select", "Com_insert", "Com_stmt_execute"],
    ) else {
        return;
    };
    assert!(
        replicas["Com_select"] > 0,
        "plain reads reached a replica: {replicas:?}"
    );
    assert!(
        replicas["Com_stmt_execute"] > 0,
        "the prepared SELECT executed on a replica: {replicas:?}"
    );
    // 'insert one', 'insert three', 'trx1', 'trx2', 'ac0', escaped, truncating, and the
    // failing duplicate / NOT NULL / strict inserts: all on the master.
    assert!(
        master["Com_insert"] >= 7,
        "inserts ran on the master: {master:?}"
    );
}

#[test]
fn mysqli_multi_query_right_after_connect() {
    scenario_checked("multi_query_after_connect", &["Com_select"]);
}

/// A plain SELECT first (served by a replica through the proxy), then multi_query: mysqlnd's
/// COM_SET_OPTION(MULTI_STATEMENTS_ON) must be in force on whichever backend runs it.
#[test]
fn mysqli_multi_query_after_a_read() {
    let Some((replicas, _)) = scenario_checked("multi_query_after_read", &["Com_select"]) else {
        return;
    };
    assert!(
        replicas["Com_select"] > 0,
        "the plain SELECT reached a replica: {replicas:?}"
    );
}

#[test]
fn mysqli_multi_query_after_a_write() {
    scenario_checked("multi_query_after_write", &["Com_select"]);
}

// ---------------------------------------------------------------------------------------------
// PDO

/// Server-side prepares (binary protocol) for reads, writes, a transaction and errors.
#[test]
fn pdo_server_side_prepares_basics() {
    let Some((replicas, master)) = scenario_checked(
        "pdo_native_basics",
        &["Com_stmt_execute", "Com_stmt_prepare"],
    ) else {
        return;
    };
    assert!(
        replicas["Com_stmt_execute"] > 0,
        "prepared reads executed on a replica: {replicas:?}"
    );
    assert!(
        master["Com_stmt_execute"] > 0,
        "prepared writes executed on the master: {master:?}"
    );
}

/// `SELECT SQL_CALC_FOUND_ROWS ... LIMIT 3` then `SELECT FOUND_ROWS()`, both prepared
/// server-side: 90, as on a direct connection.
#[test]
fn pdo_server_side_prepares_found_rows() {
    scenario_checked("pdo_native_found_rows", &["Com_stmt_execute"]);
}

/// A prepared SELECT that warns, then a prepared `SHOW WARNINGS`: the warning is listed.
#[test]
fn pdo_server_side_prepares_show_warnings() {
    scenario_checked("pdo_native_show_warnings", &["Com_stmt_execute"]);
}

#[test]
fn pdo_emulated_prepares_found_rows() {
    scenario_checked("pdo_emulated_found_rows", &["Com_select"]);
}

#[test]
fn pdo_emulated_prepares_show_warnings() {
    scenario_checked("pdo_emulated_show_warnings", &["Com_select"]);
}

// ---------------------------------------------------------------------------------------------
// FOUND_ROWS() after a write (mysqli, text protocol)

/// `SELECT SQL_CALC_FOUND_ROWS ... LIMIT 2`, a DELETE (matching nothing, then one row), then
/// `SELECT FOUND_ROWS()`: the server keeps the SELECT's count across the DELETE.
#[test]
fn found_rows_after_delete() {
    scenario_checked("found_rows_after_delete", &["Com_select"]);
}

/// The same with an INSERT into a temporary table in between.
#[test]
fn found_rows_after_insert_into_temporary_table() {
    scenario_checked("found_rows_after_temp_insert", &["Com_select"]);
}

// ---------------------------------------------------------------------------------------------
// WordPress

const WP_SRC: &str = "/usr/share/wordpress";
const WP_ADMIN: &str = "admin";
const WP_PASSWORD: &str = "rwsplit-Test-pw-123";

/// True if Debian's WordPress and a theme are installed (and PHP); same rule as `php_ready`.
fn wordpress_ready() -> bool {
    if !php_ready() {
        return false;
    }
    let themes = std::fs::read_dir(Path::new(WP_SRC).join("wp-content/themes"))
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.path().join("style.css").exists())
        })
        .unwrap_or(false);
    if Path::new(WP_SRC).join("wp-settings.php").exists() && themes {
        return true;
    }
    if skip_install() {
        eprintln!(
            "SKIPPED: WordPress or its theme is not installed in {WP_SRC} and \
             RWSPLIT_SKIP_INSTALL=1 (scripts/test.sh installs wordpress \
             wordpress-theme-twentytwentythree)"
        );
        return false;
    }
    panic!(
        "WordPress with a theme is missing from {WP_SRC}: scripts/test.sh installs wordpress \
         wordpress-theme-twentytwentythree with apt-get"
    );
}

/// A copy of Debian's WordPress with our own wp-config.php, served by `php -S`.
struct WpSite {
    dir: PathBuf,
    server: Child,
    port: u16,
    db: String,
}

impl WpSite {
    /// Copies WordPress, points it at 127.0.0.1:`db_port` / `db`, starts `php -S`.
    fn start(c: &Cluster, name: &str, db_port: u16) -> WpSite {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wp-{name}"));
        let dir = root.join("site");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let out = Command::new("cp")
            .args(["-r", WP_SRC])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cp -r {WP_SRC}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let db = format!("php_wp_{name}");
        c.fresh_db(&db);
        // Debian's wp-config.php reads /etc/wordpress/config-*.php; ours is self-contained.
        let config = format!(
            r#"<?php
define('DB_NAME', '{db}');
define('DB_USER', '{user}');
define('DB_PASSWORD', '{password}');
define('DB_HOST', '127.0.0.1:{db_port}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('AUTH_KEY', 'rwsplit-test-auth-key');
define('SECURE_AUTH_KEY', 'rwsplit-test-secure-auth-key');
define('LOGGED_IN_KEY', 'rwsplit-test-logged-in-key');
define('NONCE_KEY', 'rwsplit-test-nonce-key');
define('AUTH_SALT', 'rwsplit-test-auth-salt');
define('SECURE_AUTH_SALT', 'rwsplit-test-secure-auth-salt');
define('LOGGED_IN_SALT', 'rwsplit-test-logged-in-salt');
define('NONCE_SALT', 'rwsplit-test-nonce-salt');
$table_prefix = 'wp_';
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
if (!defined('ABSPATH')) {{
    define('ABSPATH', __DIR__ . '/');
}}
require_once ABSPATH . 'wp-settings.php';
"#,
            user = c.user(),
            password = c.password(),
        );
        std::fs::write(dir.join("wp-config.php"), config).unwrap();
        // php -S serves one request at a time: WordPress's loopback requests to itself (the
        // installer's pretty-permalink probe) would each wait out their timeout. No HTTP out.
        let mu = dir.join("wp-content/mu-plugins");
        std::fs::create_dir_all(&mu).unwrap();
        std::fs::write(
            mu.join("rwsplit-test-no-http.php"),
            "<?php\nadd_filter('pre_http_request', function () { return new WP_Error('http_disabled', 'no outgoing HTTP in tests'); }, 1);\n",
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(root.join("php-server.log")).unwrap();
        let server = Command::new("php")
            .args([
                "-d",
                "opcache.enable_cli=1",
                "-d",
                "display_errors=stderr",
                "-S",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("php -S");
        let site = WpSite {
            dir,
            server,
            port,
            db,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "php -S did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        site
    }

    fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.parent().unwrap().join("php-server.log"))
            .unwrap_or_default()
    }

    /// wp-admin/install.php?step=2, as the installer's form posts it.
    fn install(&self, http: &mut Http) {
        let r = http.post_form(
            "/wp-admin/install.php?step=2",
            &[
                ("weblog_title", "rwsplit test blog"),
                ("user_name", WP_ADMIN),
                ("admin_password", WP_PASSWORD),
                ("admin_password2", WP_PASSWORD),
                ("pw_weak", "1"),
                ("admin_email", "admin@example.com"),
                ("blog_public", "0"),
                ("Submit", "Install WordPress"),
            ],
        );
        assert!(
            r.status == 200 && r.body.contains("Success!"),
            "install: HTTP {}\n{}\nphp -S log:\n{}",
            r.status,
            excerpt(&r.body),
            tail(&self.server_log(), 20)
        );
    }
}

impl Drop for WpSite {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.dir.parent().unwrap());
        }
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(1500).collect()
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.0 client with a cookie jar (names only; WordPress's cookies differ by name).
struct Http {
    port: u16,
    cookies: Vec<(String, String)>,
}

impl Http {
    fn new(port: u16) -> Http {
        Http {
            port,
            cookies: Vec::new(),
        }
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nUser-Agent: rwsplit-test\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP header in {:?}", String::from_utf8_lossy(&raw)));
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let body = String::from_utf8_lossy(&raw[split + 4..]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line in {head}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        for (k, v) in &headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let lower = v.to_ascii_lowercase();
            self.cookies.retain(|(n, _)| n != name);
            let expired = value == "deleted"
                || value.is_empty()
                || lower.contains("max-age=0")
                || lower.contains("1970");
            if !expired {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        Response {
            status,
            headers,
            body,
        }
    }

    fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.join("&").as_bytes(),
        )
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Path and query of an absolute URL WordPress redirected to (it names its own host).
fn local_path(location: &str) -> String {
    match location.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or("/".into()),
        None => location.to_string(),
    }
}

/// WordPress's configuration for rwsplit: read-your-writes across connections, since the
/// redirect after a POST is a new PHP request on a new connection.
const WP_PROXY_TOML: &str = "[routing]\nconsistency = \"global\"\n";

/// Install, log in, publish a post (REST API, cookie + nonce), read it on the next request,
/// comment on it and see the comment: WordPress's own code through the proxy. The writes must
/// be on the master, the page views must have read from the replicas.
#[test]
fn wordpress_install_post_and_comment_through_the_proxy() {
    if !wordpress_ready() {
        return;
    }
    let _serial = serial();
    let c = Cluster::shared();
    let p = Proxy::start(&c, WP_PROXY_TOML);
    let site = WpSite::start(&c, "flow", p.port);
    let mut http = Http::new(site.port);
    site.install(&mut http);
    let log = |what: &str, r: &Response| {
        format!(
            "{what}: HTTP {}\n{}\n--- php -S log ---\n{}\n--- proxy log ---\n{}",
            r.status,
            excerpt(&r.body),
            tail(&site.server_log(), 20),
            tail(&p.log(), 20)
        )
    };

    // Log in (the test cookie first, as a browser would get it).
    let r = http.get("/wp-login.php");
    assert_eq!(r.status, 200, "{}", log("GET wp-login.php", &r));
    let r = http.post_form(
        "/wp-login.php",
        &[
            ("log", WP_ADMIN),
            ("pwd", WP_PASSWORD),
            ("wp-submit", "Log In"),
            ("redirect_to", "/wp-admin/"),
            ("testcookie", "1"),
        ],
    );
    assert!(
        r.status == 302
            && http
                .cookies
                .iter()
                .any(|(n, _)| n.starts_with("wordpress_logged_in_")),
        "{}",
        log("POST wp-login.php", &r)
    );

    // Publish a post through the REST API with the login cookie and a wp_rest nonce.
    let r = http.get("/wp-admin/admin-ajax.php?action=rest-nonce");
    let nonce = r.body.trim().to_string();
    assert!(
        r.status == 200 && !nonce.is_empty() && nonce.chars().all(|ch| ch.is_ascii_alphanumeric()),
        "{}",
        log("rest-nonce", &r)
    );
    let title = format!("Through rwsplit {}", std::process::id());
    let body = format!(
        r#"{{"title":"{title}","content":"Posted by WordPress through the proxy.","status":"publish"}}"#
    );
    let r = http.request(
        "POST",
        "/?rest_route=/wp/v2/posts",
        &[("Content-Type", "application/json"), ("X-WP-Nonce", &nonce)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", log("REST create post", &r));
    let id: u64 = r
        .body
        .strip_prefix("{\"id\":")
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}", log("post id in the REST answer", &r)));

    let replica_selects = replicas_counter(&c, "Com_select");
    // The next request reads it (redirect-after-POST: a new connection right after the write).
    let r = http.get(&format!("/?p={id}"));
    assert!(
        r.status == 200 && r.body.contains(&title),
        "{}",
        log("GET the new post", &r)
    );
    // ... and anonymous visitors see it on the front page.
    let mut anon = Http::new(site.port);
    let r = anon.get("/");
    assert!(
        r.status == 200 && r.body.contains(&title),
        "{}",
        log("GET / (anonymous)", &r)
    );

    // Comment on it as the logged-in author (approved at once), then follow the redirect.
    let comment = format!("A comment through the proxy {}", std::process::id());
    let r = http.post_form(
        "/wp-comments-post.php",
        &[
            ("comment_post_ID", &id.to_string()),
            ("comment", &comment),
            ("comment_parent", "0"),
            ("submit", "Post Comment"),
        ],
    );
    let location = r.header("Location").map(local_path);
    assert!(
        r.status == 302 && location.is_some(),
        "{}",
        log("POST wp-comments-post.php", &r)
    );
    let r = http.get(&location.unwrap());
    assert!(
        r.status == 200 && r.body.contains(&comment),
        "{}",
        log("GET the post after commenting", &r)
    );
    let r = anon.get(&format!("/?p={id}"));
    assert!(
        r.status == 200 && r.body.contains(&comment) && r.body.contains(&title),
        "{}",
        log("GET the post (anonymous)", &r)
    );
    let replica_selects = replicas_counter(&c, "Com_select") - replica_selects;
    // Four page views, each a few dozen SELECTs: they must have been served by the replicas.
    assert!(
        replica_selects >= 4,
        "page views read from the replicas: replicas' Com_select grew by {replica_selects}"
    );

    // The writes are on the master.
    let on_master = |sql: &str| {
        let out = mariadb(c.master_port(), c.user(), c.password(), sql);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        on_master(&format!(
            "SELECT post_title, post_status FROM {}.wp_posts WHERE ID = {id}",
            site.db
        )),
        format!("{title}\tpublish")
    );
    assert_eq!(
        on_master(&format!(
            "SELECT comment_content, comment_approved FROM {}.wp_comments WHERE comment_post_ID = {id}",
            site.db
        )),
        format!("{comment}\t1")
    );
}

/// 50 anonymous views of the front page: read-only for WordPress (measured directly: no
/// write, ~31 SELECTs and 3 SETs per view), so through the proxy the master should see none of
/// it: no statement (Questions, which also counts SET NAMES and COM_RESET_CONNECTION), no new
/// connection. The replicas serve the page views.
#[test]
fn wordpress_anonymous_page_views_leave_the_master_alone() {
    if !wordpress_ready() {
        return;
    }
    let _serial = serial();
    let c = Cluster::shared();
    let p = Proxy::start(&c, WP_PROXY_TOML);
    let site = WpSite::start(&c, "views", p.port);
    let mut http = Http::new(site.port);
    site.install(&mut http);
    // Warm up (first views of a fresh site may fill caches), then let the replicas catch up.
    for _ in 0..3 {
        let r = http.get("/");
        assert_eq!(r.status, 200, "{}", excerpt(&r.body));
    }
    c.wait_replicas();

    let names = [
        "Questions",
        "Com_select",
        "Com_set_option",
        "Com_admin_commands",
        "Com_change_db",
        "Com_insert",
        "Com_update",
        "Com_delete",
        "Com_replace",
        "Connections",
    ];
    let m0 = c.status_counters(c.master_port(), &names);
    let m1 = c.status_counters(c.master_port(), &names); // what reading the counters costs
    let replicas0 = replicas_counter(&c, "Com_select");
    let views = 50;
    for i in 0..views {
        let r = http.get("/");
        assert!(
            r.status == 200 && r.body.contains("Hello world!"),
            "view {i}: HTTP {}\n{}",
            r.status,
            excerpt(&r.body)
        );
    }
    let m2 = c.status_counters(c.master_port(), &names);
    let replicas = replicas_counter(&c, "Com_select") - replicas0;
    let cost = delta(&m0, &m1);
    let seen = delta(&m1, &m2);
    let master: HashMap<&str, i64> = names.iter().map(|n| (*n, seen[*n] - cost[*n])).collect();
    let writes =
        master["Com_insert"] + master["Com_update"] + master["Com_delete"] + master["Com_replace"];
    let mut report: Vec<String> = names.iter().map(|n| format!("{n} {}", master[n])).collect();
    report.sort();
    let report = format!(
        "master over {views} anonymous page views through rwsplit: {} (replicas' Com_select: {replicas})",
        report.join(", ")
    );
    eprintln!("{report}");
    assert!(
        replicas >= views,
        "the page views were served by the replicas; {report}"
    );
    assert_eq!(writes, 0, "anonymous page views write nothing; {report}");
    assert!(
        master["Questions"] == 0
            && master["Com_select"] == 0
            && master["Com_set_option"] == 0
            && master["Connections"] == 0,
        "read-only page views reached the master; {report}"
    );
}
