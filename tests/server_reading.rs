//! Statements read exactly as the server reads them (issue "Read SQL exactly as the server
//! reads it"): what a hostile client sends — numbers glued to keywords, control bytes after
//! `--`, other client character sets, quoted built-ins, `DO @v :=`, pipelined executes — gives
//! the answer a direct connection gives, and nothing that writes, locks or sets a variable runs
//! on a replica. Each case runs directly against the master and through the proxy, on raw
//! connections (the bytes exactly as written), and is judged by the servers' own state.

mod common;

use std::time::Duration;

use common::*;

fn table(c: &Cluster, name: &str) -> String {
    let t = format!("rwtest.{name}_{}", std::process::id());
    c.root_sql(
        "master",
        &format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (a INT PRIMARY KEY)"),
    );
    t
}

fn count(c: &Cluster, t: &str) -> String {
    c.root_rows("master", &format!("SELECT COUNT(*) FROM {t}"))
        .join(",")
}

/// Runs `script` on a fresh raw connection to `port`; the results of each statement.
fn run(c: &Cluster, port: u16, script: &[&[u8]]) -> Vec<Vec<Res>> {
    let mut raw = RawClient::login(port, c.user(), c.password());
    script.iter().map(|sql| raw.query_bytes(sql)).collect()
}

/// COM_STMT_EXECUTE with id -1 means the last *successful* prepare: after a failed one the
/// server answers 1243 and runs nothing (Connector/C's execute-direct pipelines exactly this).
#[test]
fn execute_last_statement_after_a_failed_prepare_runs_nothing() {
    let c = Cluster::shared();
    let p = Proxy::start(&c, "");
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let t = table(&c, &format!("ps_last_{side}"));
        let mut raw = RawClient::login(port, c.user(), c.password());
        let ins = raw
            .prepare(format!("INSERT INTO {t} VALUES (?)").as_bytes())
            .unwrap();
        assert_eq!(
            raw.execute(ins, &[1]),
            vec![Res::Ok { affected: 1 }],
            "{side}"
        );
        assert_eq!(
            raw.prepare(format!("SELECT * FROM {t}_nosuch WHERE a = ?").as_bytes()),
            Err(1146),
            "{side}"
        );
        let again = raw.execute(u32::MAX, &[2]);
        assert_eq!(again.len(), 1, "{side}: {again:?}");
        assert_eq!(again[0].code(), Some(1243), "{side}: {again:?}");
        assert!(
            matches!(&again[0], Res::Err { message, .. } if message.contains("(4294967295)")),
            "{side}: {again:?}"
        );
        // Id -1 works again after a successful prepare, and not after that one is closed.
        let ins2 = raw
            .prepare(format!("INSERT INTO {t} VALUES (?)").as_bytes())
            .unwrap();
        assert_eq!(
            raw.execute(u32::MAX, &[3]),
            vec![Res::Ok { affected: 1 }],
            "{side}"
        );
        raw.close_stmt(ins2);
        assert_eq!(raw.execute(u32::MAX, &[4])[0].code(), Some(1243), "{side}");
        assert_eq!(count(&c, &t), "2", "{side}: rows 1 and 3 only");
    }
    assert!(!p.log().contains("panicked"), "{}", tail(&p.log(), 20));
}
