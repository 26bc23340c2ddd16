//! Rate limits for warnings that repeat once per client or per statement.
//!
//! Why: with a backend down and no health monitor to mark it, every statement routed to it
//! and every login that finds nothing warns — about 1,600 lines a second under load, which
//! buries everything else in the log and costs the proxy the CPU to write them. The same holds
//! for refused clients (`max_client_connections`) and failed accepts (EMFILE). A
//! [`LogLimiter`] lets the first occurrence per key through at once, then at most one line per
//! [`INTERVAL`]; each line that is let through carries how many were held back since the
//! previous one (the `suppressed` field). Metrics still count every event.
//!
//! Keys are cheap: a backend's address (so one failing backend does not hide another's
//! warnings) or a fixed string for the listener's warnings. A suppressed call takes a lock,
//! looks the key up and adds one — no allocation; only a key's first event allocates it. The
//! lock is a std mutex held for that lookup only (never across an await), so the runtimes of
//! `--threads N` share one limiter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use foldhash::fast::FixedState;

/// At most one line per key this often.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// "backend unreachable": a connect to a backend failed (key: the backend's address).
pub static BACKEND_UNREACHABLE: LogLimiter = LogLimiter::new(INTERVAL);
/// "no backend reachable for login" (key: the session's cluster's master address).
pub static LOGIN_NO_BACKEND: LogLimiter = LogLimiter::new(INTERVAL);
/// "connection refused: max_client_connections reached" (key: [`LISTENER`]).
pub static CLIENT_REFUSED: LogLimiter = LogLimiter::new(INTERVAL);
/// "login refused" on the client port, "admin login refused" on the admin port (key:
/// [`LISTENER`] or "admin").
pub static LOGIN_REFUSED: LogLimiter = LogLimiter::new(INTERVAL);
/// "client packet larger than max_packet_size" (key: [`LISTENER`]).
pub static PACKET_TOO_LARGE: LogLimiter = LogLimiter::new(INTERVAL);
/// "long data over max_packet_size dropped" (key: [`LISTENER`]): one line per packet let a
/// client write 19,200 lines in 2 s.
pub static LONG_DATA_DROPPED: LogLimiter = LogLimiter::new(INTERVAL);
/// "accept failed" (key: [`LISTENER`]).
pub static ACCEPT_FAILED: LogLimiter = LogLimiter::new(INTERVAL);
/// Backend connects that failed because the proxy is out of file descriptors.
pub static OUT_OF_FILES: LogLimiter = LogLimiter::new(INTERVAL);
/// "a replica refused a statement as read-only; running it on the master" (key: the
/// replica's address): a client can send such statements as fast as it likes.
pub static READ_ONLY_REROUTE: LogLimiter = LogLimiter::new(INTERVAL);

/// The one key of the listener's warnings: all listeners (`--threads N`) share it.
pub const LISTENER: &str = "listener";

/// One warning's rate limit, per key.
pub struct LogLimiter {
    interval: Duration,
    /// Fixed hasher seed: the keys come from the configuration, not from clients, and a
    /// constant hasher lets the limiters be plain statics.
    windows: Mutex<HashMap<Box<str>, Window, FixedState>>,
}

struct Window {
    /// When the last line for this key was let through.
    logged: Instant,
    /// Events held back since then.
    suppressed: u64,
}

impl LogLimiter {
    pub const fn new(interval: Duration) -> Self {
        LogLimiter {
            interval,
            windows: Mutex::new(HashMap::with_hasher(FixedState::with_seed(0))),
        }
    }

    /// One event for `key`: `Some(suppressed)` when it is to be logged (with how many events
    /// were held back since the previous line), `None` when it is held back.
    pub fn check(&self, key: &str) -> Option<u64> {
        self.check_at(key, Instant::now())
    }

    /// [`LogLimiter::check`] at a given time (for tests).
    pub fn check_at(&self, key: &str, now: Instant) -> Option<u64> {
        let mut windows = self.windows.lock().expect("log limiter lock");
        if let Some(w) = windows.get_mut(key) {
            if now.saturating_duration_since(w.logged) < self.interval {
                w.suppressed += 1;
                return None;
            }
            w.logged = now;
            return Some(std::mem::take(&mut w.suppressed));
        }
        // A new key (a backend added by a reload): forget the keys that hold no count and whose
        // interval is over — their next event is logged either way — so addresses removed
        // long ago do not pile up.
        let interval = self.interval;
        windows
            .retain(|_, w| w.suppressed > 0 || now.saturating_duration_since(w.logged) < interval);
        windows.insert(
            key.into(),
            Window {
                logged: now,
                suppressed: 0,
            },
        );
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    /// Each event (key, seconds after `t0`) in turn; what the limiter said to each.
    fn feed(l: &LogLimiter, t0: Instant, events: &[(&str, u32)]) -> Vec<Option<u64>> {
        events
            .iter()
            .map(|&(key, secs)| l.check_at(key, t0 + secs * SEC))
            .collect()
    }

    #[test]
    fn first_event_is_logged_then_held_back_and_counted_until_the_interval_is_over() {
        let (l, t0) = (LogLimiter::new(10 * SEC), Instant::now());
        let key = "10.0.0.1:3306";
        assert_eq!(l.check_at(key, t0), Some(0), "first event at once");
        for i in 1..=1234u32 {
            let at = t0 + (9 * SEC) * i / 1234;
            assert_eq!(l.check_at(key, at), None, "event {i} within the interval");
        }
        assert_eq!(
            feed(
                &l,
                t0,
                &[(key, 10), (key, 11), (key, 19), (key, 20), (key, 300)]
            ),
            [
                Some(1234), // the next line carries the count held back,
                None,       // the count starts again from that line,
                None,
                Some(2),
                Some(0), // and a quiet key logs its next event at once, nothing held back.
            ]
        );
    }

    #[test]
    fn keys_are_independent() {
        let (l, t0) = (LogLimiter::new(10 * SEC), Instant::now());
        let (a, b) = ("a:1", "b:2");
        assert_eq!(
            feed(
                &l,
                t0,
                &[(a, 0), (a, 1), (b, 2), (b, 3), (b, 4), (a, 10), (b, 12)]
            ),
            [
                Some(0),
                None,
                Some(0), // another backend's first failure is not hidden by the first one's
                None,
                None,
                Some(1), // each with its own count
                Some(2),
            ]
        );
    }

    #[test]
    fn a_new_key_keeps_the_counts_of_the_others() {
        let (l, t0) = (LogLimiter::new(10 * SEC), Instant::now());
        let (a, b, idle) = ("a:1", "b:2", "idle:3");
        assert_eq!(
            feed(&l, t0, &[(a, 0), (a, 1), (idle, 0), (b, 30)]),
            [Some(0), None, Some(0), Some(0)]
        );
        // Past both intervals: the idle key is forgotten, the one with a count is not.
        let mut keys: Vec<String> = l
            .windows
            .lock()
            .unwrap()
            .keys()
            .map(|k| k.to_string())
            .collect();
        keys.sort();
        assert_eq!(keys, [a, b]);
        assert_eq!(feed(&l, t0, &[(a, 31), (idle, 31)]), [Some(1), Some(0)]);
    }

    /// The runtimes of `--threads N` share the statics: every event is either logged or
    /// counted, none lost.
    #[test]
    fn events_from_several_threads_are_all_accounted_for() {
        let l = LogLimiter::new(3600 * SEC);
        let t0 = Instant::now();
        let logged: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..1000)
                            .filter(|_| l.check_at("m:1", t0).is_some())
                            .count() as u64
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(logged, 1, "one line for the whole burst");
        assert_eq!(l.check_at("m:1", t0 + 3600 * SEC), Some(3999));
    }
}
