//! Failed logins slow down the next failures from the same address, and of the same account.
//!
//! Why: without it the client port took 3,800 wrong passwords a second and the admin port
//! 7,000, each answered at once. Only the answer to a *failed* login waits: a correct password
//! is never delayed, from any address, so an attacker guessing an account's password cannot
//! lock its real users out, and one address's failures never slow another address. The delay
//! grows with the failures since the last success: none for the first
//! [`FREE_FAILURES`], then [`FIRST_DELAY`] doubling up to [`MAX_DELAY`]; a success resets the
//! address and the account. Entries are forgotten [`FORGET_AFTER`] after their last failure,
//! and the table holds at most [`MAX_KEYS`] (the oldest go first), so a flood of addresses
//! cannot grow the proxy's memory. The delayed connection holds its client slot, so the
//! delay also bounds how fast one address can try (`max_client_connections`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures answered at once (a mistyped password, a driver trying two plugins).
pub const FREE_FAILURES: u32 = 3;
/// The delay after the first failure past the free ones.
pub const FIRST_DELAY: Duration = Duration::from_millis(200);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(5);
/// An address or account with no failure for this long starts over.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Entries kept at most.
pub const MAX_KEYS: usize = 65_536;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Account(Box<str>),
}

#[derive(Debug)]
struct Entry {
    failures: u32,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<Key, Entry>>,
}

fn delay_after(failures: u32) -> Duration {
    if failures <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES - 1).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

impl LoginThrottle {
    /// A login from `ip` as `account` failed: how long to wait before answering it.
    pub fn failed(&self, ip: IpAddr, account: &str) -> Duration {
        self.failed_at(ip, account, Instant::now())
    }

    pub fn failed_at(&self, ip: IpAddr, account: &str, now: Instant) -> Duration {
        let mut entries = self.entries.lock().expect("login throttle lock");
        if entries.len() >= MAX_KEYS {
            entries.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
            while entries.len() >= MAX_KEYS {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.last)
                    .map(|(k, _)| k.clone())
                    .expect("not empty");
                entries.remove(&oldest);
            }
        }
        let mut worst = 0;
        for key in [Key::Address(ip), Key::Account(account.into())] {
            let e = entries.entry(key).or_insert(Entry {
                failures: 0,
                last: now,
            });
            if now.saturating_duration_since(e.last) >= FORGET_AFTER {
                e.failures = 0;
            }
            e.failures += 1;
            e.last = now;
            worst = worst.max(e.failures);
        }
        delay_after(worst)
    }

    /// A login from `ip` as `account` succeeded: both start over.
    pub fn succeeded(&self, ip: IpAddr, account: &str) {
        let mut entries = self.entries.lock().expect("login throttle lock");
        if entries.is_empty() {
            return;
        }
        entries.remove(&Key::Address(ip));
        entries.remove(&Key::Account(account.into()));
    }
}

/// Answers a failed login with 1045, after the delay the failures so far have earned.
pub async fn refuse<S>(
    throttle: &LoginThrottle,
    client: &mut crate::protocol::packet::PacketStream<S>,
    user: &str,
    peer: &SocketAddr,
    with_password: bool,
) -> crate::protocol::handshake::LoginError
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let ip = match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    tokio::time::sleep(throttle.failed(ip, user)).await;
    crate::protocol::handshake::refuse(client, user, peer, with_password).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_grow_the_delay_and_a_success_resets_it() {
        let t = LoginThrottle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let now = Instant::now();
        let delays: Vec<Duration> = (0..8).map(|_| t.failed_at(a, "app", now)).collect();
        assert_eq!(&delays[..3], &[Duration::ZERO; 3]);
        assert_eq!(delays[3], FIRST_DELAY);
        assert_eq!(delays[4], FIRST_DELAY * 2);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        // Another address guessing another account is not slowed by them.
        assert_eq!(t.failed_at(b, "other", now), Duration::ZERO);
        // The account's failures follow it to another address.
        assert!(t.failed_at(b, "app", now) > Duration::ZERO);
        t.succeeded(a, "app");
        assert_eq!(t.failed_at(a, "app", now), Duration::ZERO);
        // Capped, and forgotten after a quiet while.
        for _ in 0..40 {
            t.failed_at(a, "x", now);
        }
        assert_eq!(t.failed_at(a, "x", now), MAX_DELAY);
        assert_eq!(t.failed_at(a, "x", now + FORGET_AFTER), Duration::ZERO);
    }

    #[test]
    fn the_table_is_bounded() {
        let t = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_KEYS as u32 / 2 + 10) {
            let ip = IpAddr::from(i.to_be_bytes());
            t.failed_at(ip, "app", now);
        }
        assert!(t.entries.lock().unwrap().len() <= MAX_KEYS);
    }
}
