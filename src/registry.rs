//! The proxy's table of client sessions, keyed by the proxy's own connection ids (the id a
//! client sees in the greeting). `KILL n` and COM_PROCESS_KILL look sessions up here to reach
//! the backend threads that serve them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// How other tasks get the attention of a session that waits for its client: one wake-up for
/// everything that is not the client, so the wait polls one future besides the socket. `KILL`
/// sets `killed`; reloads, health changes and shutdown only wake the session, which then reads
/// their watch channels.
#[derive(Debug, Default)]
pub struct Attention {
    notify: Notify,
    killed: AtomicBool,
}

impl Attention {
    /// `KILL CONNECTION`: the session closes its client connection.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Something the session should look at changed (it finds out what itself).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }

    /// Completes after the next `kill` or `wake` (at once if one came since the last wait).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

/// What another session needs to kill this one.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub user: String,
    /// The client's address.
    pub client: std::net::SocketAddr,
    /// (backend address, backend thread id) of every backend connection the session holds.
    pub backends: Vec<(String, u32)>,
    /// Woken by `KILL CONNECTION` (and by reloads and shutdown, see [`Attention`]).
    pub attention: Arc<Attention>,
    /// Backend thread ids this session's `CONNECTION_ID()` calls returned: a client that
    /// pairs `SELECT CONNECTION_ID()` with `KILL` from another connection names one of these.
    pub shown: Vec<u32>,
    /// The cluster the session works on (admin SHOW CLUSTERS); None before its first backend.
    pub cluster: Option<Arc<str>>,
}

/// How many `CONNECTION_ID()` answers a session keeps (the most recent ones).
const MAX_SHOWN: usize = 8;

#[derive(Default)]
pub struct Registry {
    sessions: Mutex<Sessions>,
}

/// The sessions and how many each account holds, under one lock so the per-user limit is
/// checked and taken in one step.
/// (foldhash: the maps are touched twice per client connection, and SipHash's DoS resistance
/// buys nothing for keys the proxy assigns itself or accounts that passed a login.)
#[derive(Default)]
struct Sessions {
    by_id: foldhash::HashMap<u32, SessionEntry>,
    per_user: foldhash::HashMap<String, u32>,
}

impl Sessions {
    /// Counts one more session for `user` unless it holds `max` already (0: no limit).
    fn count_up(&mut self, user: &str, max: u32) -> bool {
        let held = self.per_user.get(user).copied().unwrap_or(0);
        if max > 0 && held >= max {
            return false;
        }
        // The account's name is copied only for its first session.
        match self.per_user.get_mut(user) {
            Some(n) => *n += 1,
            None => {
                self.per_user.insert(user.to_string(), 1);
            }
        }
        true
    }

    fn count_down(&mut self, user: &str) {
        if let Some(n) = self.per_user.get_mut(user) {
            *n -= 1;
            if *n == 0 {
                self.per_user.remove(user);
            }
        }
    }
}

impl Registry {
    /// Registers a session unless its account already holds `max_per_user` sessions (0: no
    /// limit). False means refused; nothing was registered.
    pub fn insert(&self, id: u32, entry: SessionEntry, max_per_user: u32) -> bool {
        let mut s = self.sessions.lock().expect("registry lock");
        if !s.count_up(&entry.user, max_per_user) {
            return false;
        }
        s.by_id.insert(id, entry);
        true
    }

    pub fn remove(&self, id: u32) {
        let mut s = self.sessions.lock().expect("registry lock");
        if let Some(e) = s.by_id.remove(&id) {
            s.count_down(&e.user);
        }
    }

    /// COM_CHANGE_USER: the session now counts for `user`. Like the server, which checks
    /// max_user_connections on a change of user too, this refuses (returns false, nothing
    /// changed) when `user` already holds `max_per_user` sessions.
    pub fn change_user(&self, id: u32, user: &str, max_per_user: u32) -> bool {
        let mut s = self.sessions.lock().expect("registry lock");
        let Some(old) = s.by_id.get(&id).map(|e| e.user.clone()) else {
            return true;
        };
        if old == user {
            return true;
        }
        if !s.count_up(user, max_per_user) {
            return false;
        }
        s.count_down(&old);
        if let Some(e) = s.by_id.get_mut(&id) {
            e.user = user.to_string();
        }
        true
    }

    pub fn set_backends(&self, id: u32, cluster: &Arc<str>, backends: Vec<(String, u32)>) {
        if let Some(e) = self
            .sessions
            .lock()
            .expect("registry lock")
            .by_id
            .get_mut(&id)
        {
            e.backends = backends;
            if e.cluster.as_ref() != Some(cluster) {
                e.cluster = Some(cluster.clone());
            }
        }
    }

    /// How many sessions work on each cluster now.
    pub fn sessions_by_cluster(&self) -> std::collections::HashMap<Arc<str>, usize> {
        let s = self.sessions.lock().expect("registry lock");
        let mut counts = std::collections::HashMap::new();
        for e in s.by_id.values() {
            if let Some(c) = &e.cluster {
                *counts.entry(c.clone()).or_default() += 1;
            }
        }
        counts
    }

    /// Remembers that session `id` showed backend thread id `thread` to its client.
    pub fn add_shown_id(&self, id: u32, thread: u32) {
        let mut s = self.sessions.lock().expect("registry lock");
        if let Some(e) = s.by_id.get_mut(&id) {
            if !e.shown.contains(&thread) {
                if e.shown.len() >= MAX_SHOWN {
                    e.shown.remove(0);
                }
                e.shown.push(thread);
            }
        }
    }

    /// The session a `KILL n` names: the session whose proxy connection id (the greeting's)
    /// is `n`, else the session of `user` whose `CONNECTION_ID()` returned `n`, else another
    /// account's session that showed `n` (the caller refuses that one: not the owner).
    pub fn resolve_kill(&self, n: u64, user: &str) -> Option<(u32, SessionEntry)> {
        let s = self.sessions.lock().expect("registry lock");
        if let Some(e) = u32::try_from(n).ok().and_then(|id| s.by_id.get(&id)) {
            return Some((n as u32, e.clone()));
        }
        let thread = u32::try_from(n).ok()?;
        let mut found: Option<(u32, &SessionEntry)> = None;
        for (id, e) in &s.by_id {
            if e.shown.contains(&thread) {
                let better = match found {
                    None => true,
                    Some((_, f)) => f.user != user && e.user == user,
                };
                if better {
                    found = Some((*id, e));
                }
            }
        }
        found.map(|(id, e)| (id, e.clone()))
    }

    /// Wakes every session (a topology change, shutdown): each checks what changed.
    pub fn wake_all(&self) {
        let sessions = self.sessions.lock().expect("registry lock");
        for entry in sessions.by_id.values() {
            entry.attention.wake();
        }
    }

    pub fn get(&self, id: u32) -> Option<SessionEntry> {
        self.sessions
            .lock()
            .expect("registry lock")
            .by_id
            .get(&id)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.sessions.lock().expect("registry lock").by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (id, user, backends) of every session, for the admin interface.
    pub fn snapshot(&self) -> Vec<(u32, SessionEntry)> {
        let mut v: Vec<_> = self
            .sessions
            .lock()
            .expect("registry lock")
            .by_id
            .iter()
            .map(|(k, e)| (*k, e.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user: &str) -> SessionEntry {
        SessionEntry {
            user: user.into(),
            client: "127.0.0.1:1".parse().unwrap(),
            backends: Vec::new(),
            attention: Arc::default(),
            shown: Vec::new(),
            cluster: None,
        }
    }

    #[test]
    fn per_user_limit_counts_logins_changes_and_exits() {
        let r = Registry::default();
        assert!(r.insert(1, entry("app"), 2));
        assert!(r.insert(2, entry("app"), 2));
        assert!(!r.insert(3, entry("app"), 2), "third app session refused");
        assert!(r.get(3).is_none(), "a refused session is not registered");
        assert!(r.insert(3, entry("other"), 2));
        assert!(
            !r.change_user(3, "app", 2),
            "changing to a full account refused"
        );
        assert_eq!(r.get(3).unwrap().user, "other");
        r.remove(1);
        assert!(r.change_user(3, "app", 2));
        assert!(
            r.insert(4, entry("other"), 2),
            "the change freed other's slot"
        );
        assert!(!r.insert(5, entry("app"), 2));
        assert!(r.insert(5, entry("app"), 0), "0 = no limit");
        assert_eq!(r.len(), 4, "sessions 2, 3, 4, 5");
    }
}
