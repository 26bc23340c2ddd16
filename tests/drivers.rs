//! Two more real drivers through rwsplit: Node's mysql2 (from npm, pinned in
//! tests/clients/node/package.json) and mysql-connector-python 8.4.0 (pure Python, from PyPI).
//!
//! Same pattern as tests/php.rs: each scenario of tests/clients/node/scenarios.js and
//! tests/clients/connector_python.py runs twice, directly against the master and through a
//! rwsplit process, each in a fresh database of its own, and the JSON lines it prints (what the
//! driver returned: rows, column metadata, affected rows, insert ids, warning counts, error codes
//! and SQLSTATEs) must be the same. Where the statements ran is read from the servers
//! themselves: during the proxied run each server's general log (log_output=TABLE) records what
//! the app account sent it, so a test can say "this SELECT ran on a replica" and "no write ever
//! reached a replica" statement by statement (the replicas' Com_select is not enough for that:
//! rwsplit's own `SELECT MASTER_GTID_WAIT(..)` counts there too, and replication bumps their
//! Com_insert). The app account cannot write on a replica, so a misrouted write would also show
//! up as an error line.
//!
//! Driver habits these cover: mysql2 logs in with CLIENT_IGNORE_SPACE (the server adds
//! IGNORE_SPACE to sql_mode, so `COUNT (*)` with a space parses) and without
//! CLIENT_MULTI_STATEMENTS unless `multipleStatements: true`; `execute()` prepares once per
//! connection and SQL text. Connector/Python starts with autocommit off (`SET
//! @@session.autocommit = OFF` after login), `cursor(prepared=True)` uses the binary protocol,
//! and `callproc` is `SET @_p_arg1 = ..`, `CALL p(@_p_arg1, ..)`, `SELECT @_p_arg1, ..`.
//!
//! scripts/test.sh installs node/npm (apt-get), mysql2 (`npm ci` in tests/clients/node) and
//! mysql-connector-python==8.4.0 (pip). With RWSPLIT_SKIP_INSTALL=1 and a driver missing, that
//! driver's tests are skipped; otherwise a missing driver fails them.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use common::*;

/// The tests read global counters of the shared servers: one at a time, also under `cargo test`.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn skip_install() -> bool {
    std::env::var("RWSPLIT_SKIP_INSTALL").is_ok_and(|v| v == "1")
}

fn clients() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

#[derive(Clone, Copy, Debug)]
enum Driver {
    /// Node mysql2: `node tests/clients/node/scenarios.js ...`
    Mysql2,
    /// mysql-connector-python 8.4.0: `python3 tests/clients/connector_python.py ...`
    ConnectorPython,
}

impl Driver {
    fn prefix(self) -> &'static str {
        match self {
            Driver::Mysql2 => "node",
            Driver::ConnectorPython => "cpy",
        }
    }

    fn command(self) -> Command {
        match self {
            Driver::Mysql2 => {
                let mut c = Command::new("node");
                c.arg(clients().join("node/scenarios.js"));
                c
            }
            Driver::ConnectorPython => {
                let mut c = Command::new("python3");
                c.arg(clients().join("connector_python.py"));
                c
            }
        }
    }

    /// What is missing for this driver, if anything.
    fn missing(self) -> Option<String> {
        match self {
            Driver::Mysql2 => {
                let ok = Command::new("node")
                    .arg("--version")
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                if !ok {
                    return Some(
                        "node is not on PATH (scripts/test.sh installs nodejs npm with apt-get)"
                            .into(),
                    );
                }
                let module = clients().join("node/node_modules/mysql2/package.json");
                if !module.exists() {
                    return Some(format!(
                        "{} is missing (scripts/test.sh runs `npm ci` in tests/clients/node)",
                        module.display()
                    ));
                }
                None
            }
            Driver::ConnectorPython => {
                let out = Command::new("python3")
                    .args([
                        "-c",
                        "import mysql.connector; print(mysql.connector.__version__)",
                    ])
                    .output();
                match out {
                    Ok(o) if o.status.success() => {
                        let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
                        (v != "8.4.0").then(|| {
                            format!(
                                "mysql-connector-python is {v}, not 8.4.0 (scripts/test.sh pip-installs \
                                 mysql-connector-python==8.4.0)"
                            )
                        })
                    }
                    _ => Some(
                        "python3 cannot import mysql.connector (scripts/test.sh pip-installs \
                         mysql-connector-python==8.4.0)"
                            .into(),
                    ),
                }
            }
        }
    }

    /// True if the driver is there. A missing driver fails the test, unless
    /// RWSPLIT_SKIP_INSTALL=1 says nothing was installed on purpose: then the test is skipped.
    fn ready(self) -> bool {
        let Some(why) = self.missing() else {
            return true;
        };
        if skip_install() {
            eprintln!("SKIPPED: {why}, and RWSPLIT_SKIP_INSTALL=1");
            return false;
        }
        panic!("{why} (set RWSPLIT_SKIP_INSTALL=1 to skip these tests instead)");
    }
}

/// Runs one scenario against 127.0.0.1:`port` in `db`; returns its JSON lines.
fn run_scenario(c: &Cluster, driver: Driver, port: u16, db: &str, scenario: &str) -> Vec<String> {
    let started = Instant::now();
    let out = driver
        .command()
        .args([
            "127.0.0.1",
            &port.to_string(),
            c.user(),
            c.password(),
            db,
            scenario,
        ])
        .output()
        .expect("run the driver's scenario script");
    assert!(
        out.status.success(),
        "{driver:?} {scenario} against port {port} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "{driver:?} printed on stderr ({scenario}, port {port}):\n{stderr}"
    );
    eprintln!(
        "{driver:?} {scenario} against port {port}: {:?}",
        started.elapsed()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// What the proxied run did to the servers: counter deltas (summed over the replicas, and on
/// the master) and the statements the app account sent each of them.
struct Routing {
    replicas: HashMap<String, i64>,
    master: HashMap<String, i64>,
    log: Logged,
}

const NODES: [&str; 3] = ["master", "replica1", "replica2"];

/// The general log of every node, on (to the mysql.general_log table) while this lives.
struct GeneralLog<'a> {
    c: &'a Cluster,
    log_output: Vec<String>,
}

/// Statements (COM_QUERY text, or COM_STMT_EXECUTE with its parameters expanded) the app
/// account sent, in order.
#[derive(Debug, Default)]
struct Logged {
    master: Vec<String>,
    replicas: Vec<String>,
}

impl<'a> GeneralLog<'a> {
    /// One root session per node: remembers log_output, empties the log table, logs to it.
    fn start(c: &'a Cluster) -> GeneralLog<'a> {
        let log_output = NODES
            .iter()
            .map(|node| {
                c.root_rows(
                    node,
                    "SELECT @@global.log_output; SET GLOBAL general_log = OFF; \
                     SET GLOBAL log_output = 'TABLE'; TRUNCATE TABLE mysql.general_log; \
                     SET GLOBAL general_log = ON",
                )
                .join("")
            })
            .collect();
        GeneralLog { c, log_output }
    }

    fn off_sql(output: &str) -> String {
        format!("SET GLOBAL general_log = OFF; SET GLOBAL log_output = '{output}'")
    }

    /// Turns the logs off and reads them (one root session per node).
    fn stop(mut self) -> Logged {
        let outputs = std::mem::take(&mut self.log_output); // Drop has nothing left to do
        let mut read = NODES.iter().zip(&outputs).map(|(node, output)| {
            self.c.root_rows(
                node,
                &format!(
                    "{}; SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log \
                     WHERE user_host LIKE '{}[%' AND command_type IN ('Query', 'Execute') \
                     ORDER BY event_time",
                    Self::off_sql(output),
                    self.c.user()
                ),
            )
        });
        let master = read.next().unwrap();
        let replicas = read.flatten().collect();
        Logged { master, replicas }
    }
}

impl Drop for GeneralLog<'_> {
    /// Only reached when the run failed before `stop`: turn the logs off again.
    fn drop(&mut self) {
        for (node, output) in NODES.iter().zip(&self.log_output) {
            let _ = std::panic::catch_unwind(|| self.c.root_sql(node, &Self::off_sql(output)));
        }
    }
}

/// Statement kinds that write or hold a transaction: none may ever reach a replica here.
const WRITES: &[&str] = &[
    "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE", "CALL",
    "START", "BEGIN", "COMMIT", "ROLLBACK", "XA", "LOCK", "LOAD", "DO", "HANDLER",
];

impl Logged {
    /// Replica statements (or parts of a multi-statement) that are writes.
    fn writes_on_replicas(&self) -> Vec<&str> {
        self.replicas
            .iter()
            .filter(|s| {
                s.split(';').any(|part| {
                    let word = part
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    WRITES.contains(&word.as_str())
                })
            })
            .map(String::as_str)
            .collect()
    }

    fn on_replicas(&self, prefix: &str) -> usize {
        self.replicas
            .iter()
            .filter(|s| s.starts_with(prefix))
            .count()
    }

    fn on_master(&self, prefix: &str) -> usize {
        self.master.iter().filter(|s| s.starts_with(prefix)).count()
    }

    /// Asserts that a statement starting with `prefix` ran on a replica.
    fn assert_on_replica(&self, prefix: &str) {
        assert!(
            self.on_replicas(prefix) > 0,
            "{prefix:?} did not run on a replica\n{self}"
        );
    }

    /// Asserts that at least `n` statements starting with `prefix` ran on a replica: for reads
    /// right after a write, which wait up to `consistency_wait` for a replica to catch up and
    /// otherwise (rarely) read from the master.
    fn assert_on_replicas_at_least(&self, prefix: &str, n: usize) {
        let got = self.on_replicas(prefix);
        assert!(
            got >= n,
            "{got} statements starting with {prefix:?} ran on a replica, expected at least {n}\n{self}"
        );
    }

    /// Asserts that every statement starting with `prefix` ran on the master, none on a replica.
    fn assert_on_master(&self, prefix: &str) {
        assert!(
            self.on_master(prefix) > 0 && self.on_replicas(prefix) == 0,
            "{prefix:?} did not run on the master only\n{self}"
        );
    }
}

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "--- the app account's statements on the master ---")?;
        for s in &self.master {
            writeln!(f, "{s}")?;
        }
        writeln!(f, "--- on the replicas ---")?;
        for s in &self.replicas {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// Runs a scenario both ways (rwsplit with `proxy_extra` appended to its config) and compares
/// the outputs; returns the counter deltas (`names`) over the proxied run, and its lines.
fn scenario_checked(
    driver: Driver,
    scenario: &str,
    names: &[&str],
    proxy_extra: &str,
) -> Option<(Routing, Vec<String>)> {
    if !driver.ready() {
        return None;
    }
    let _serial = serial();
    let c = Cluster::shared();
    let p = Proxy::start(&c, proxy_extra);
    let (db_direct, db_proxy) = (
        format!("{}_{scenario}_direct", driver.prefix()),
        format!("{}_{scenario}_proxy", driver.prefix()),
    );
    c.fresh_db(&db_direct);
    c.fresh_db(&db_proxy);
    let direct = run_scenario(&c, driver, c.master_port(), &db_direct, scenario);
    let (r0, m0) = (
        c.replica_status_counters(names),
        c.status_counters(c.master_port(), names),
    );
    let general_log = GeneralLog::start(&c);
    let proxied = run_scenario(&c, driver, p.port, &db_proxy, scenario);
    let log = general_log.stop();
    let (r1, m1) = (
        c.replica_status_counters(names),
        c.status_counters(c.master_port(), names),
    );
    assert_same(&format!("{driver:?} {scenario}"), &direct, &proxied, &p);
    let writes = log.writes_on_replicas();
    assert!(
        writes.is_empty(),
        "{driver:?} {scenario}: writes reached a replica: {writes:?}\n{log}"
    );
    let routing = Routing {
        replicas: delta(&r0, &r1),
        master: delta(&m0, &m1),
        log,
    };
    eprintln!(
        "{driver:?} {scenario} through rwsplit: replicas {:?}, master {:?}\n{}",
        sorted(&routing.replicas),
        sorted(&routing.master),
        routing.log
    );
    Some((routing, proxied))
}

fn sorted(m: &HashMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
    v.sort();
    v
}

/// The line of step `step` (panics if the scenario printed none).
fn line<'a>(lines: &'a [String], step: &str) -> &'a str {
    let key = format!("\"step\":\"{step}\"");
    let key_spaced = format!("\"step\": \"{step}\"");
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{{{key}")) || l.starts_with(&format!("{{{key_spaced}")))
        .unwrap_or_else(|| panic!("no step {step:?} in\n{}", lines.join("\n")))
}

// ---------------------------------------------------------------------------------------------
// Node mysql2

/// query() and execute(): inserts, selects, insertId/affectedRows, warning counts, errors, and
/// `COUNT (*)` with a space (IGNORE_SPACE from the login's CLIENT_IGNORE_SPACE) on whichever
/// backend runs it.
#[test]
fn mysql2_query_and_execute_basics() {
    let Some((r, lines)) = scenario_checked(
        Driver::Mysql2,
        "basics",
        &["Com_stmt_execute", "Com_stmt_prepare"],
        "",
    ) else {
        return;
    };
    assert!(
        line(&lines, "sql_mode has IGNORE_SPACE").contains("\"ignore_space\":1"),
        "mysql2's CLIENT_IGNORE_SPACE reached the backend"
    );
    let log = &r.log;
    // Before any write: plain reads on a replica, `COUNT (*)` parsing there in both protocols.
    log.assert_on_replica("SELECT FIND_IN_SET('IGNORE_SPACE', @@sql_mode)");
    log.assert_on_replica(
        "SELECT COUNT (*) AS c FROM information_schema.schemata WHERE schema_name = DATABASE()",
    );
    log.assert_on_replica(
        "SELECT COUNT (*) AS c FROM information_schema.schemata WHERE schema_name = 'no such schema'",
    );
    // After the writes (read-your-writes waits for the replica): most reads still there.
    log.assert_on_replicas_at_least("SELECT * FROM t ORDER BY id", 1);
    assert!(
        r.replicas["Com_stmt_execute"] > 0,
        "execute() reads ran on a replica: {:?}",
        r.replicas
    );
    for write in [
        "CREATE TABLE t",
        "INSERT INTO t (name, qty, price, seen) VALUES ('apple'",
        "INSERT INTO t (name, qty, price, seen) VALUES ('plum'", // execute()
        "INSERT INTO t (name, qty, price) VALUES ('fig'",        // execute()
        "UPDATE t SET qty = qty + 1",
        "DELETE FROM t WHERE name = 'kiwi'", // execute()
        "INSERT IGNORE INTO t",
        "UPDATE IGNORE t",
    ] {
        log.assert_on_master(write);
    }
}

/// beginTransaction / commit / rollback: everything inside runs on the master (the scenario
/// prints @@server_id inside the transaction, the same as on a direct connection).
#[test]
fn mysql2_transactions() {
    let Some((r, _)) = scenario_checked(
        Driver::Mysql2,
        "transactions",
        &["Com_begin", "Com_commit", "Com_rollback"],
        "",
    ) else {
        return;
    };
    assert!(
        r.master["Com_begin"] == 3 && r.master["Com_commit"] == 2 && r.master["Com_rollback"] == 1,
        "START TRANSACTION / COMMIT / ROLLBACK on the master: {:?}",
        r.master
    );
    for in_trx in [
        "START TRANSACTION",
        "SELECT @@server_id AS server_id",
        "SELECT @@in_transaction AS in_trx, COUNT(*) AS c FROM tx",
        "UPDATE tx SET n = n + 10",
    ] {
        r.log.assert_on_master(in_trx);
    }
    r.log
        .assert_on_replicas_at_least("SELECT v, n FROM tx ORDER BY id", 1);
}

/// A mysql2 pool (connectionLimit 2): 60 concurrent query() reads, 40 concurrent execute()
/// reads, 20 concurrent updates spread over both connections and 100 sequential reads; the
/// pool opens two connections and reuses them. The writes of one pool connection must be seen by
/// reads on the other, so rwsplit runs with `consistency = "global"` here (what an app that
/// spreads one request over pooled connections needs; see README, Read-your-writes).
#[test]
fn mysql2_pool_reuses_two_connections() {
    let Some((r, lines)) = scenario_checked(
        Driver::Mysql2,
        "pool",
        &["Com_stmt_execute"],
        "[routing]\nconsistency = \"global\"\n",
    ) else {
        return;
    };
    assert!(
        line(&lines, "pool").contains("\"created\":2,\"distinct_connections\":2"),
        "two pooled connections, reused"
    );
    // Most reads on the replicas (each follows a write of the run: the first reads wait for the
    // replica to apply it).
    r.log
        .assert_on_replicas_at_least("SELECT id, v FROM pt WHERE id = ", 30);
    r.log.assert_on_replicas_at_least("SELECT v + ", 20);
    r.log
        .assert_on_replicas_at_least("SELECT v FROM pt WHERE id = ", 50);
    r.log
        .assert_on_master("UPDATE pt SET v = v + 1 WHERE id = ");
    assert_eq!(
        r.log.on_master("UPDATE pt SET v = v + 1 WHERE id = "),
        20,
        "the 20 execute() updates ran on the master\n{}",
        r.log
    );
}

/// `SELECT SQL_CALC_FOUND_ROWS ... LIMIT` then `SELECT FOUND_ROWS()`, through query() and
/// execute() and mixed, and after a DELETE: the same counts as on a direct connection (the
/// reads ran on a replica).
#[test]
fn mysql2_found_rows_in_both_protocols() {
    let Some((r, _)) = scenario_checked(Driver::Mysql2, "found_rows", &[], "") else {
        return;
    };
    r.log
        .assert_on_replicas_at_least("SELECT SQL_CALC_FOUND_ROWS", 1);
    r.log.assert_on_replicas_at_least("SELECT FOUND_ROWS()", 1);
    r.log.assert_on_master("DELETE FROM fr");
}

/// User variables set by SET (text and execute()) and by `@c := 5` in a SELECT, and a session
/// variable, then read through both protocols.
#[test]
fn mysql2_user_variables() {
    let Some((r, _)) = scenario_checked(Driver::Mysql2, "user_variables", &[], "") else {
        return;
    };
    // The first SET is replayed: its reads (text and execute()) ran on a replica.
    r.log
        .assert_on_replicas_at_least("SELECT @a AS a, @s AS s, @n AS n", 2);
    r.log.assert_on_master("SELECT @c := 5");
}

/// Multi-statement queries with `multipleStatements: true` (and refused without it): every
/// result set, an error in the middle, a SET read later, a transaction inside one query.
#[test]
fn mysql2_multiple_statements() {
    let Some((r, _)) = scenario_checked(Driver::Mysql2, "multi_statements", &[], "") else {
        return;
    };
    r.log
        .assert_on_replica("SELECT 1 AS a; SELECT 2 AS b, 3 AS c");
    for write in [
        "DROP TABLE IF EXISTS ms;",
        "INSERT INTO ms (v) VALUES ('d');",
        "START TRANSACTION; UPDATE ms",
    ] {
        r.log.assert_on_master(write);
    }
}

// ---------------------------------------------------------------------------------------------
// mysql-connector-python 8.4.0 (pure Python)

/// cursor(prepared=True) inserts and selects with parameters (autocommit on): reads execute on
/// a replica, writes on the master.
#[test]
fn connector_python_prepared_cursor() {
    let Some((r, _)) = scenario_checked(
        Driver::ConnectorPython,
        "prepared",
        &["Com_stmt_execute"],
        "",
    ) else {
        return;
    };
    assert!(
        r.replicas["Com_stmt_execute"] > 0,
        "prepared reads executed on a replica: {:?}",
        r.replicas
    );
    r.log.assert_on_replicas_at_least("SELECT id, v, n", 1);
    for write in [
        "INSERT INTO pt (v, n, d, t)",
        "UPDATE pt SET n = n + 10",
        "DELETE FROM pt",
    ] {
        r.log.assert_on_master(write);
    }
}

/// callproc on procedures with an OUT parameter: (21, 0) gives (21, 42), also with a result set
/// from the procedure and with autocommit off; the OUT variables are read where the CALL ran.
#[test]
fn connector_python_callproc_out_parameter() {
    let Some((r, lines)) = scenario_checked(
        Driver::ConnectorPython,
        "callproc",
        &["Com_call_procedure"],
        "",
    ) else {
        return;
    };
    assert!(
        line(&lines, "callproc twice(21, 0)").contains("\"result\": [21, 42]"),
        "callproc returned the computed OUT value"
    );
    assert_eq!(
        r.master["Com_call_procedure"], 6,
        "the six CALLs ran on the master"
    );
    r.log.assert_on_master("CALL twice(");
    r.log.assert_on_master("SELECT @_twice_arg1 AS twice_arg1");
}

/// Autocommit is off by default: a write is rolled back or committed with commit(); after the
/// commit (and after switching autocommit on, when reads go to replicas again) reads see it,
/// as does a new connection.
#[test]
fn connector_python_autocommit_off_by_default() {
    let Some((r, lines)) = scenario_checked(
        Driver::ConnectorPython,
        "autocommit_default",
        &["Com_commit", "Com_rollback"],
        "",
    ) else {
        return;
    };
    assert!(
        line(&lines, "connected").contains("\"autocommit\": false"),
        "Connector/Python starts with autocommit off"
    );
    assert!(
        r.master["Com_commit"] >= 3 && r.master["Com_rollback"] >= 2,
        "commit() and rollback() reached the master: {:?}",
        r.master
    );
    // With autocommit off every statement is in a transaction: all on the master.
    for in_trx in [
        "SELECT @@autocommit, @@in_transaction",
        "SELECT @@in_transaction, @@server_id",
        "SELECT COUNT(*) FROM ac WHERE v = 'uncommitted'",
        "SELECT v, SUM(n) FROM ac GROUP BY v",
    ] {
        r.log.assert_on_master(in_trx);
    }
    // With autocommit on, right after the commit: a replica that has applied it.
    r.log
        .assert_on_replicas_at_least("SELECT v, n FROM ac WHERE n >= 0", 1);
}

/// SQL_CALC_FOUND_ROWS ... LIMIT then SELECT FOUND_ROWS() through a prepared cursor (and after
/// a text-protocol SELECT, and after a DELETE).
#[test]
fn connector_python_found_rows_prepared() {
    let Some((r, _)) = scenario_checked(Driver::ConnectorPython, "found_rows", &[], "") else {
        return;
    };
    r.log.assert_on_replicas_at_least("SELECT FOUND_ROWS()", 1);
}

/// A prepared SELECT that warns, then SHOW WARNINGS (prepared and text), SHOW COUNT(*)
/// WARNINGS, @@warning_count, SHOW ERRORS, and the driver's own get_warnings fetch. The
/// session writes nothing, so all of it runs on a replica.
#[test]
fn connector_python_show_warnings_after_prepared_select() {
    let Some((r, _)) = scenario_checked(Driver::ConnectorPython, "show_warnings", &[], "") else {
        return;
    };
    for read in [
        "SELECT CAST('12abc' AS SIGNED)",
        "SHOW WARNINGS",
        "SHOW COUNT(*) WARNINGS",
        "SHOW ERRORS",
    ] {
        r.log.assert_on_replica(read);
    }
}

/// Session variables (group_concat_max_len, sql_mode, time_zone) and user variables set in
/// text or through a prepared SET, then read through prepared statements: reads on a replica see
/// the session's settings.
#[test]
fn connector_python_session_variables_read_prepared() {
    let Some((r, _)) = scenario_checked(Driver::ConnectorPython, "session_variables", &[], "")
    else {
        return;
    };
    for read in [
        "SELECT @@session.group_concat_max_len",
        "SELECT GROUP_CONCAT(x SEPARATOR '')",
        "SELECT \"x\" FROM (SELECT 1 AS \"x\") s",
        "SELECT @@time_zone",
        "SELECT @u, @k + 1",
    ] {
        r.log.assert_on_replica(read);
    }
}

// ---------------------------------------------------------------------------------------------
// The harness itself

/// The write detector flags a write anywhere in a multi-statement, in any case, and leaves
/// reads, SETs and SHOWs alone (no cluster needed).
#[test]
fn write_detector_of_the_harness() {
    let log = Logged {
        master: vec![],
        replicas: [
            "SELECT 1",
            "SET @a = 1",
            "SHOW WARNINGS",
            "SELECT MASTER_GTID_WAIT('0-1-5', 0.100)",
            "SELECT 1 AS a; SELECT 2 AS b",
            "select 1; insert into t values (1)",
            "  Update t SET v = 1",
            "CALL p(@x)",
            "COMMIT",
        ]
        .map(String::from)
        .to_vec(),
    };
    assert_eq!(
        log.writes_on_replicas(),
        [
            "select 1; insert into t values (1)",
            "  Update t SET v = 1",
            "CALL p(@x)",
            "COMMIT"
        ]
    );
}
