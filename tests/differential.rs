//! Seeded differential test: random session scripts (tests/clients/differential.py, PyMySQL) run
//! once on a direct connection to the master and once through rwsplit, each side in its own
//! databases, every result compared statement by statement (error code and message, column
//! names, rows, affected rows, insert id, warning count, OK info, transaction status flags) and
//! the final table contents compared. A difference prints the seed, the statement index, both
//! results and the statements that led there.
//!
//! Environment (for runs by hand):
//!   RWSPLIT_DIFF_SEEDS=1..5000      seed range (default: the CI range below)
//!   RWSPLIT_DIFF_STATEMENTS=N       statements per script (default: 30-60, chosen by the seed)
//!   RWSPLIT_DIFF_JOBS=N             seeds run in parallel (default 2)
//!   RWSPLIT_DIFF_MINIMIZE=1         shrink every difference to a minimal statement sequence
//!
//! A single seed again, by hand, against a running proxy:
//!   python3 tests/clients/differential.py --direct-port MASTER --proxy-port PROXY \
//!       --user app --password apppass --replica-ports R1,R2 --seeds 17..17 --minimize
//! The differences found so far, one minimal statement sequence each, are in
//! tests/clients/differential-findings/ (run one with --script FILE). The CI range takes ~35 s
//! on an idle 2-core machine (2 worker processes; most of it is CREATE/DROP DATABASE).
mod common;

use common::*;

/// The CI range: a few hundred scripts of 30-60 statements.
const CI_SEEDS: &str = "1..200";

/// Statement families whose difference from a direct connection is known and written down in
/// README.md ("Known limitations"): user variables assigned from the diagnostics of the
/// previous statement where that statement ran on a replica (`GET DIAGNOSTICS @x = ...`,
/// `SET @x = ROW_COUNT()` / `FOUND_ROWS()`), and `@@warning_count` after a statement that
/// touches no table (the server keeps the previous diagnostics then; the proxy may have sent
/// the two to different backends), and a multi-statement that reads FOUND_ROWS() beside a
/// part that must run on the master (it runs there, away from the SELECT it asks about), and
/// FOUND_ROWS() before the session's first SELECT (it reads what the connection ran before the
/// session: a pooled connection's last read through the proxy).
/// And a user variable a stored function set while a read ran on a replica, read back when the
/// session's other user variables live on the master (`function_state_read`).
/// Everything else must agree. `RWSPLIT_DIFF_EXCLUDE=''` runs them too.
const KNOWN_DIFFERENCES: &str = r"get_diagnostics|set_uvar_row_count|set_uvar_found_rows|var_warning_count|multi\[[^]]*found_rows|found_rows[a-z_]*_first|function_state_read";

#[test]
fn direct_and_proxied_sessions_agree() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    let seeds = std::env::var("RWSPLIT_DIFF_SEEDS").unwrap_or_else(|_| CI_SEEDS.to_string());
    let jobs = std::env::var("RWSPLIT_DIFF_JOBS").unwrap_or_else(|_| "2".to_string());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/differential.py");
    let replicas: Vec<String> = c.replica_ports().iter().map(u16::to_string).collect();
    let mut cmd = std::process::Command::new("python3");
    cmd.env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(&script)
        .args(["--direct-port", &c.master_port().to_string()])
        .args(["--proxy-port", &p.port.to_string()])
        .args(["--user", c.user(), "--password", c.password()])
        .args(["--replica-ports", &replicas.join(",")])
        .args(["--seeds", &seeds])
        .args(["--jobs", &jobs])
        .args(["--detail", "25"])
        .arg("--quiet");
    let exclude =
        std::env::var("RWSPLIT_DIFF_EXCLUDE").unwrap_or_else(|_| KNOWN_DIFFERENCES.to_string());
    if !exclude.is_empty() {
        cmd.args(["--exclude-tags", &exclude]);
    }
    if let Ok(n) = std::env::var("RWSPLIT_DIFF_STATEMENTS") {
        cmd.args(["--statements", &n]);
    }
    if std::env::var("RWSPLIT_DIFF_MINIMIZE").is_ok_and(|v| v == "1") {
        cmd.arg("--minimize");
    }
    let started = std::time::Instant::now();
    let out = cmd.output().expect("python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "differential run over seeds {seeds}: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "direct and proxied sessions differ (exit {:?}); re-run one seed with --seeds N..N --minimize\n{report}\nproxy log tail:\n{}",
        out.status.code(),
        tail(&p.log(), 20)
    );
    eprintln!("{}", tail(&report, 3));
}
