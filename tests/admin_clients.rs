//! The admin interface for every client: drivers log in (they send SET NAMES, SELECT
//! @@version_comment and the like right after the handshake) and query the views as tables.

mod common;

use std::process::Command;

use common::*;

fn admin_toml(port: u16) -> String {
    format!(
        "[admin]\nlisten = \"127.0.0.1:{port}\"\nuser = \"admin\"\npassword = \"adminsecret\"\n"
    )
}

/// The replicas' addresses in the order the filtered query below returns them.
fn replica_addresses(c: &Cluster) -> Vec<String> {
    let mut a: Vec<String> = c
        .replica_ports()
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    a.sort();
    a.reverse();
    a
}

const QUERY: &str = "SELECT address, role FROM backends WHERE role = 'replica' AND state <> 'down' ORDER BY address DESC LIMIT 10";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("client runs");
    assert!(
        out.status.success(),
        "client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn expect_rows(out: &str, c: &Cluster, client: &str) {
    let want: Vec<String> = replica_addresses(c)
        .into_iter()
        .map(|a| format!("{a} replica"))
        .collect();
    let got: Vec<&str> = out.lines().filter(|l| l.contains("replica")).collect();
    assert_eq!(got, want, "{client} output:\n{out}");
}

#[test]
fn pymysql_logs_in_and_filters_a_view() {
    let c = Cluster::shared();
    let port = free_port();
    let _p = Proxy::start(&c, &admin_toml(port));
    // PyMySQL sends SET NAMES (and autocommit) right after the handshake.
    let script = format!(
        r#"
import pymysql
c = pymysql.connect(host="127.0.0.1", port={port}, user="admin", password="adminsecret", charset="utf8mb4", autocommit=True)
cur = c.cursor()
cur.execute("SELECT @@version_comment, DATABASE()")
print(cur.fetchone())
cur.execute("SHOW VARIABLES LIKE 'max_allowed_packet'")
print(cur.fetchall())
cur.execute("{QUERY}")
for row in cur.fetchall():
    print(" ".join(row))
cur.execute("SHOW BACKENDS LIKE '127.0.0.1:%'")
print("backends:", len(cur.fetchall()))
"#
    );
    let out = run(Command::new("python3").args(["-c", &script]));
    assert!(out.contains("('rwsplit admin interface', None)"), "{out}");
    assert!(out.contains("backends: 3"), "{out}");
    expect_rows(&out, &c, "PyMySQL");
}

#[test]
fn mysql_connector_logs_in_and_filters_a_view() {
    let c = Cluster::shared();
    let port = free_port();
    let _p = Proxy::start(&c, &admin_toml(port));
    for pure in ["True", "False"] {
        let script = format!(
            r#"
import mysql.connector
c = mysql.connector.connect(host="127.0.0.1", port={port}, user="admin", password="adminsecret", use_pure={pure}, charset="utf8mb4", collation="utf8mb4_general_ci")
cur = c.cursor()
cur.execute("{QUERY}")
for row in cur.fetchall():
    print(" ".join(row))
c.close()
"#
        );
        let out = run(Command::new("python3").args(["-c", &script]));
        expect_rows(&out, &c, &format!("mysql-connector (use_pure={pure})"));
    }
}

#[test]
fn php_mysqli_logs_in_and_filters_a_view() {
    let c = Cluster::shared();
    let port = free_port();
    let _p = Proxy::start(&c, &admin_toml(port));
    let script = format!(
        r#"
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$m = new mysqli("127.0.0.1", "admin", "adminsecret", "", {port});
$m->set_charset("utf8mb4");
$r = $m->query("{QUERY}");
while ($row = $r->fetch_row()) {{ echo implode(" ", $row), "\n"; }}
$r = $m->query("SELECT * FROM sessions WHERE user = 'nobody'");
echo "sessions: ", $r->num_rows, "\n";
try {{ $m->query("SELECT nope FROM backends"); }} catch (mysqli_sql_exception $e) {{ echo "error ", $e->getCode(), " ", $e->getSqlState(), "\n"; }}
"#
    );
    let out = run(Command::new("php").args(["-r", &script]));
    expect_rows(&out, &c, "mysqli");
    assert!(out.contains("sessions: 0"), "{out}");
    assert!(out.contains("error 1054 42S22"), "{out}");
}
