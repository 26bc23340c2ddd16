//! The proxy's table of client sessions, keyed by the proxy's own connection ids (the id a
//! client sees in the greeting). `KILL n` and COM_PROCESS_KILL look sessions up here to reach
//! the backend threads that serve them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// What another session needs to kill this one.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub user: String,
    /// The client's address.
    pub client: String,
    /// (backend address, backend thread id) of every backend connection the session holds.
    pub backends: Vec<(String, u32)>,
    /// Woken by `KILL CONNECTION`: the session closes its client connection.
    pub killed: Arc<Notify>,
}

#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<u32, SessionEntry>>,
}

impl Registry {
    pub fn insert(&self, id: u32, entry: SessionEntry) {
        self.sessions
            .lock()
            .expect("registry lock")
            .insert(id, entry);
    }

    pub fn remove(&self, id: u32) {
        self.sessions.lock().expect("registry lock").remove(&id);
    }

    pub fn set_backends(&self, id: u32, backends: Vec<(String, u32)>) {
        if let Some(e) = self.sessions.lock().expect("registry lock").get_mut(&id) {
            e.backends = backends;
        }
    }

    pub fn get(&self, id: u32) -> Option<SessionEntry> {
        self.sessions
            .lock()
            .expect("registry lock")
            .get(&id)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.sessions.lock().expect("registry lock").len()
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
            .iter()
            .map(|(k, e)| (*k, e.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

/// Parses `KILL [HARD|SOFT] [CONNECTION|QUERY] [ID] n` (MariaDB's forms by thread id). Returns
/// (query_only, id); None for forms that are not by id (`KILL USER u`, `KILL QUERY ID` with a
/// query id), which go to the master untouched.
pub fn parse_kill(sql: &[u8]) -> Option<(bool, u64)> {
    let text = std::str::from_utf8(sql).ok()?;
    let words: Vec<String> = text
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let mut it = words.iter().map(String::as_str).peekable();
    if it.next()? != "KILL" {
        return None;
    }
    if matches!(it.peek(), Some(&"HARD") | Some(&"SOFT")) {
        it.next();
    }
    let mut query_only = false;
    match it.peek() {
        Some(&"CONNECTION") => {
            it.next();
        }
        Some(&"QUERY") => {
            query_only = true;
            it.next();
            if it.peek() == Some(&"ID") {
                return None;
            }
        }
        _ => {}
    }
    let id = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((query_only, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_forms() {
        assert_eq!(parse_kill(b"KILL 5"), Some((false, 5)));
        assert_eq!(parse_kill(b"kill connection 7;"), Some((false, 7)));
        assert_eq!(parse_kill(b"KILL QUERY 9"), Some((true, 9)));
        assert_eq!(parse_kill(b"KILL HARD QUERY 9"), Some((true, 9)));
        assert_eq!(parse_kill(b"KILL QUERY ID 9"), None);
        assert_eq!(parse_kill(b"KILL USER app"), None);
        assert_eq!(parse_kill(b"KILL"), None);
    }
}
