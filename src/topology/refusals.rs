//! Accounts a backend refuses to log in (1045 for an account the proxy already checked: a
//! password changed on one server, an account missing or not yet replicated there).
//!
//! Why: the monitor logs in with its own account, so such a replica stays "up" while every
//! session's read tries it, is refused and falls back to the master — about a thousand refused
//! logins a second on that server under load, its error log growing, nothing in the proxy's
//! log. A refused account is not offered that backend again until a backoff has passed (1 s,
//! doubling up to [`MAX_BACKOFF_MS`]), when one session tries again; it is logged once when it
//! starts and once when it ends, shown in `SHOW BACKENDS` and counted in
//! `rwsplit_backend_logins_refused_total`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// First pause after a refusal.
pub const FIRST_BACKOFF_MS: u64 = 1_000;
/// Longest pause between two tries of a refusing backend for an account.
pub const MAX_BACKOFF_MS: u64 = 60_000;

#[derive(Debug, Default)]
pub struct LoginRefusals {
    /// Any entry at all: the common case (none) costs one atomic load per pick.
    any: AtomicBool,
    accounts: Mutex<HashMap<Box<str>, Refusal>>,
}

#[derive(Debug, Clone)]
struct Refusal {
    /// No new sessions of the account here before this (Unix ms).
    until_ms: u64,
    backoff_ms: u64,
    /// The server's answer, as the proxy would log it.
    error: String,
}

/// What [`LoginRefusals::refused`] means for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Noted {
    /// The account was not refused here before: log it.
    New,
    /// Refused again after a backoff: the next pause is this long.
    Again { backoff_ms: u64 },
}

impl LoginRefusals {
    /// Is `account` kept off this backend right now? One atomic load when none is.
    pub fn holds_off_now(&self, account: &str) -> bool {
        self.any.load(Ordering::Relaxed) && self.holds_off(account, super::now_ms())
    }

    /// [`LoginRefusals::holds_off_now`] at a given time.
    pub fn holds_off(&self, account: &str, now_ms: u64) -> bool {
        if !self.any.load(Ordering::Relaxed) {
            return false;
        }
        let accounts = self.accounts.lock().expect("refusals lock");
        accounts.get(account).is_some_and(|r| now_ms < r.until_ms)
    }

    /// The backend refused a login of `account` with `error`.
    pub fn refused(&self, account: &str, error: String, now_ms: u64) -> Noted {
        let mut accounts = self.accounts.lock().expect("refusals lock");
        self.any.store(true, Ordering::Relaxed);
        match accounts.get_mut(account) {
            Some(r) => {
                r.backoff_ms = (r.backoff_ms * 2).min(MAX_BACKOFF_MS);
                r.until_ms = now_ms + r.backoff_ms;
                r.error = error;
                Noted::Again {
                    backoff_ms: r.backoff_ms,
                }
            }
            None => {
                accounts.insert(
                    account.into(),
                    Refusal {
                        until_ms: now_ms + FIRST_BACKOFF_MS,
                        backoff_ms: FIRST_BACKOFF_MS,
                        error,
                    },
                );
                Noted::New
            }
        }
    }

    /// A login of `account` succeeded: true if it had been refused (log the recovery).
    pub fn accepted(&self, account: &str) -> bool {
        if !self.any.load(Ordering::Relaxed) {
            return false;
        }
        let mut accounts = self.accounts.lock().expect("refusals lock");
        let was = accounts.remove(account).is_some();
        self.any.store(!accounts.is_empty(), Ordering::Relaxed);
        was
    }

    /// The refused accounts with the server's answer, sorted (for SHOW BACKENDS).
    pub fn list(&self) -> Vec<(String, String)> {
        if !self.any.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let accounts = self.accounts.lock().expect("refusals lock");
        let mut v: Vec<(String, String)> = accounts
            .iter()
            .map(|(a, r)| (a.to_string(), r.error.clone()))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit_and_ends_on_success() {
        let r = LoginRefusals::default();
        assert!(!r.holds_off("app", 0));
        assert_eq!(r.refused("app", "ERROR 1045".into(), 0), Noted::New);
        assert!(r.holds_off("app", 999));
        assert!(!r.holds_off("app", 1_000), "tried again after the pause");
        assert!(!r.holds_off("other", 10), "other accounts are not held off");
        let mut now = 1_000;
        let mut last = FIRST_BACKOFF_MS;
        for _ in 0..10 {
            match r.refused("app", "ERROR 1045".into(), now) {
                Noted::Again { backoff_ms } => {
                    assert!(backoff_ms == (last * 2).min(MAX_BACKOFF_MS));
                    last = backoff_ms;
                }
                Noted::New => panic!("not new"),
            }
            assert!(r.holds_off("app", now + last - 1));
            now += last;
        }
        assert_eq!(last, MAX_BACKOFF_MS);
        assert_eq!(r.list(), vec![("app".into(), "ERROR 1045".into())]);
        assert!(r.accepted("app"));
        assert!(!r.accepted("app"));
        assert!(!r.holds_off("app", now));
        assert!(r.list().is_empty());
    }
}
