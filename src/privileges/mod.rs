//! Accounts that may write on a read_only replica.
//!
//! The proxy never sends a write to a replica on purpose, but a misrouted one (a classifier
//! bug, a stored function that writes, an operator's `route = "replica"`) is harmless only
//! when the replica refuses it: `read_only = 1` answers 1290 and nothing happens. An account
//! holding `READ_ONLY ADMIN` (or `SUPER` on older servers, or `ALL PRIVILEGES` on `*.*`, which
//! includes them) is not refused: the write succeeds on that replica alone and forks its data,
//! and replication stops at the next conflicting event. So every account the proxy logs in to
//! a replica with is checked there, and one that may write is reported loudly: a warning in the
//! log, the `bypasses_read_only` column of the admin `SHOW BACKENDS`, the
//! `rwsplit_backend_account_bypasses_read_only` gauge and `rwsplit check-config --connect`.
//!
//! The accounts: each `[[users]]` entry, checked on a connection logged in as that account
//! (`SHOW GRANTS` there is the server's own answer for the account row it picked, and the
//! account's roles are enabled one by one to read theirs); with `[auth] passthrough`, the
//! accounts of the replica's user table that the proxy may log in as, read with the monitor
//! account (`SHOW GRANTS FOR`, which needs SELECT on the `mysql` database). An account whose
//! grants cannot be read is reported as "could not check", never as clean.
//!
//! `grants` is the pure part (grant lines, host patterns), `check` asks one replica, `watch`
//! runs the checks in the proxy and logs what changed.

pub mod check;
pub mod grants;
pub mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What one account's check on one replica found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It may write there: the privileges that allow it (`"READ_ONLY ADMIN"`,
    /// `"ALL PRIVILEGES via role dba"`).
    Bypasses(Vec<String>),
    /// Its grants were read: none lets it write on a read_only server.
    Clean,
    /// Its grants could not be read; why.
    Unknown(String),
}

/// One account on one replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The account as the server names it (`app@%`, from `CURRENT_USER()` or the user table);
    /// the bare user name when the check did not get that far.
    pub account: String,
    pub verdict: Verdict,
}

/// What to log about one account after a check, compared with the previous check: only
/// changes are logged, so a verdict that stays the same is said once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'a> {
    /// Newly found to bypass, or with other privileges than before.
    Bypasses(&'a Finding, &'a [String]),
    /// Could not be checked, having been checked (or never tried) before.
    Unknown(&'a Finding, &'a str),
    /// Clean, after bypassing or being unknown.
    Fixed(&'a Finding),
    /// Clean at its first check.
    FirstClean(&'a Finding),
    /// No longer among the accounts checked, having bypassed read_only.
    Gone(&'a Finding),
}

/// The changes from `old` (the previous check of the replica, if any) to `new`. An unknown
/// verdict whose reason alone changed is no change (the reasons carry error texts).
pub fn changes<'a>(old: Option<&'a [Finding]>, new: &'a [Finding]) -> Vec<Change<'a>> {
    let before = |account: &str| old?.iter().find(|f| f.account == account);
    let mut out = Vec::new();
    for f in new {
        let prev = before(&f.account).map(|p| &p.verdict);
        match (&f.verdict, prev) {
            (Verdict::Bypasses(p), Some(Verdict::Bypasses(q))) if p == q => {}
            (Verdict::Bypasses(p), _) => out.push(Change::Bypasses(f, p)),
            (Verdict::Unknown(_), Some(Verdict::Unknown(_))) => {}
            (Verdict::Unknown(why), _) => out.push(Change::Unknown(f, why)),
            (Verdict::Clean, Some(Verdict::Clean)) => {}
            (Verdict::Clean, None) => out.push(Change::FirstClean(f)),
            (Verdict::Clean, Some(_)) => out.push(Change::Fixed(f)),
        }
    }
    for f in old.unwrap_or_default() {
        if matches!(f.verdict, Verdict::Bypasses(_)) && !new.iter().any(|n| n.account == f.account)
        {
            out.push(Change::Gone(f));
        }
    }
    out
}

/// The `bypasses_read_only` column of a replica in `SHOW BACKENDS`: the accounts that may
/// write there with their privileges (`rw@% (READ_ONLY ADMIN); …`), else `no` when every
/// account was checked, else `unknown` (not checked yet, or some could not be: the log says
/// why).
pub fn summary(findings: Option<&[Finding]>) -> String {
    let Some(findings) = findings else {
        return "unknown".into();
    };
    let risky: Vec<String> = findings
        .iter()
        .filter_map(|f| match &f.verdict {
            Verdict::Bypasses(p) => Some(format!("{} ({})", f.account, p.join(", "))),
            _ => None,
        })
        .collect();
    if !risky.is_empty() {
        risky.join("; ")
    } else if findings.iter().all(|f| f.verdict == Verdict::Clean) {
        "no".into()
    } else {
        "unknown".into()
    }
}

/// The latest findings of every replica, by address: written by `watch`, read by the admin
/// interface and the metrics endpoint.
#[derive(Default)]
pub struct Reports {
    by_replica: Mutex<HashMap<String, Arc<Vec<Finding>>>>,
    /// Bumped by a reload (also one that changed nothing): check every replica again now.
    recheck: tokio::sync::watch::Sender<u64>,
}

impl Reports {
    /// The findings of the last check of the replica at `address`.
    pub fn get(&self, address: &str) -> Option<Arc<Vec<Finding>>> {
        self.lock().get(address).cloned()
    }

    /// Every replica's findings.
    pub fn all(&self) -> Vec<(String, Arc<Vec<Finding>>)> {
        self.lock()
            .iter()
            .map(|(a, f)| (a.clone(), f.clone()))
            .collect()
    }

    /// Stores a replica's findings, giving back the previous ones.
    pub fn store(&self, address: &str, findings: Vec<Finding>) -> Option<Arc<Vec<Finding>>> {
        self.lock().insert(address.to_string(), Arc::new(findings))
    }

    /// Forgets replicas no longer in the topology.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|a, _| keep(a));
    }

    /// Asks for a check of every replica now (`SIGHUP`, admin `RELOAD`, a file change):
    /// grants changed on the servers are seen without waiting for the slow schedule.
    pub fn request_check(&self) {
        self.recheck.send_modify(|n| *n += 1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Vec<Finding>>>> {
        self.by_replica.lock().expect("privilege reports lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(account: &str, verdict: Verdict) -> Finding {
        Finding {
            account: account.into(),
            verdict,
        }
    }

    fn roa() -> Verdict {
        Verdict::Bypasses(vec!["READ_ONLY ADMIN".into()])
    }

    #[test]
    fn a_verdict_is_logged_when_it_changes_only() {
        let first = vec![f("app@%", Verdict::Clean), f("rw@%", roa())];
        let c = changes(None, &first);
        assert!(matches!(c[0], Change::FirstClean(_)));
        assert!(matches!(c[1], Change::Bypasses(_, p) if p == ["READ_ONLY ADMIN"]));
        // The same again: nothing to say.
        assert!(changes(Some(&first), &first.clone()).is_empty());
        // Unknown, then unknown for another reason: said once.
        let lost = vec![
            f("app@%", Verdict::Unknown("timed out".into())),
            f("rw@%", roa()),
        ];
        assert!(matches!(
            changes(Some(&first), &lost)[..],
            [Change::Unknown(_, "timed out")]
        ));
        let lost2 = vec![
            f("app@%", Verdict::Unknown("refused".into())),
            f("rw@%", roa()),
        ];
        assert!(changes(Some(&lost), &lost2).is_empty());
        // Other privileges: said again. Revoked: said. Dropped account: said.
        let more = vec![
            f("app@%", Verdict::Clean),
            f(
                "rw@%",
                Verdict::Bypasses(vec!["READ_ONLY ADMIN".into(), "SUPER".into()]),
            ),
        ];
        let c = changes(Some(&lost2), &more);
        assert!(matches!(c[..], [Change::Fixed(_), Change::Bypasses(..)]));
        let gone = vec![f("app@%", Verdict::Clean)];
        assert!(
            matches!(changes(Some(&more), &gone)[..], [Change::Gone(g)] if g.account == "rw@%")
        );
    }

    #[test]
    fn the_show_backends_column() {
        assert_eq!(summary(None), "unknown");
        assert_eq!(summary(Some(&[])), "no");
        assert_eq!(summary(Some(&[f("app@%", Verdict::Clean)])), "no");
        assert_eq!(
            summary(Some(&[
                f("app@%", Verdict::Clean),
                f("b@%", Verdict::Unknown("x".into()))
            ])),
            "unknown"
        );
        assert_eq!(
            summary(Some(&[
                f("app@%", Verdict::Unknown("x".into())),
                f("rw@%", roa()),
                f(
                    "dba@10.%",
                    Verdict::Bypasses(vec!["ALL PRIVILEGES".into(), "SUPER via role r".into()])
                )
            ])),
            "rw@% (READ_ONLY ADMIN); dba@10.% (ALL PRIVILEGES, SUPER via role r)"
        );
    }
}
