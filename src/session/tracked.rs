//! The session's record from what the server reports (`protocol::tracker`) rather than from
//! the statement text: the current database follows the schema tracker, a system variable is
//! replayed by the value the server reported (never by running its expression again), and a
//! state change the text does not explain keeps the session where that state lives.
//!
//! What the trackers cannot report stays with the classifier: MariaDB reports no user variable
//! assigned by `:=` or `SELECT … INTO`, and no named lock.

use super::*;
use crate::protocol::tracker::Tracked;

/// System variables that are not replayed by value: read-only ones, those that only affect the
/// next statement, the proxy's own tracking settings, `autocommit` (a transaction mode the
/// routing state follows from the text), `timestamp` (its value after `SET timestamp =
/// DEFAULT` is the clock at that moment: replaying it would stop the clock), and
/// `sql_auto_is_null` (it makes reads about the master connection's last insert: the session
/// stays there).
fn by_value(name: &str) -> bool {
    !matches!(
        name,
        "last_gtid"
            | "in_transaction"
            | "insert_id"
            | "last_insert_id"
            | "identity"
            | "rand_seed1"
            | "rand_seed2"
            | "gtid_seq_no"
            | "autocommit"
            | "timestamp"
            | "sql_auto_is_null"
            | "warning_count"
            | "error_count"
    ) && !name.starts_with("session_track_")
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `SET SESSION name = value` for a reported value: numbers as numbers, everything else as a
/// string (the server reports enums and sets by name), an empty character_set_results as NULL.
pub(super) fn set_by_value(name: &str, value: &[u8]) -> Vec<u8> {
    let mut sql = format!("SET SESSION {name} = ").into_bytes();
    let numeric = {
        let v = value.strip_prefix(b"-").unwrap_or(value);
        !v.is_empty()
            && v[0].is_ascii_digit()
            && v.iter().filter(|&&b| b == b'.').count() <= 1
            && v.iter().all(|b| b.is_ascii_digit() || *b == b'.')
            && *v.last().expect("not empty") != b'.'
    };
    if numeric {
        sql.extend_from_slice(value);
    } else if value.is_empty() && name == "character_set_results" {
        sql.extend_from_slice(b"NULL");
    } else {
        // Hex: whatever bytes the value holds, in whatever character set the connection reads.
        sql.extend_from_slice(b"_binary X'");
        for b in value {
            sql.extend_from_slice(format!("{b:02X}").as_bytes());
        }
        sql.push(b'\'');
    }
    sql
}

/// What `apply_tracked` found.
#[derive(Default)]
pub(super) struct Applied {
    /// System variables were recorded by their values: the statement's own text need not be.
    pub(super) values: bool,
    /// The server reported a change of state the statement does not show.
    pub(super) unexplained: bool,
    /// The server reported the client character set.
    pub(super) charset: bool,
}

/// Whether a statement of this classification shows the state change the server reported.
fn explains(c: &Classification) -> bool {
    c.record
        || c.user_var_write
        || c.use_db.is_some()
        || c.dropped_db.is_some()
        || c.opaque
        || !c.temp_ops.is_empty()
        || c.charset.is_some()
        || [Kind::Set, Kind::Use, Kind::Prepare, Kind::Deallocate]
            .iter()
            .any(|&k| c.kinds.contains(k))
}

impl Session {
    /// Applies the server's report on the statement that ran on `used`.
    pub(super) fn apply_tracked(
        &mut self,
        c: &Classification,
        used: Target,
        scanner: &Scanner,
    ) -> Applied {
        let mut out = Applied::default();
        let Some(t) = scanner.tracked.as_deref() else {
            return out;
        };
        if let Some(schema) = &t.schema {
            self.follow_schema(schema, used);
        }
        // A SET that ended cleanly leaves only what is recorded here.
        let clean = c.kind == Kind::Set
            && !c.multi
            && !c.user_var_write
            && scanner.warnings == 0
            && self.routing.trx().is_none();
        for (name, value) in &t.sysvars {
            if self.track_view.apply_setting(name.as_bytes(), value) {
                continue;
            }
            if name == "character_set_client" {
                out.charset = true;
                // The server reads the next statements in this set (EXECUTE IMMEDIATE
                // 'SET NAMES …' and procedures included).
                self.charset = match std::str::from_utf8(value) {
                    Ok(n) if !n.is_empty() => classify::Charset::from_name(n),
                    _ => classify::Charset::UNKNOWN,
                };
            }
            if by_value(name) {
                self.record_value(name, value, used, clean);
                out.values = true;
            }
        }
        // An EOF's flag alone may be a write's new `last_gtid`.
        out.unexplained = (t.changed || (t.eof_changed && !c.writes)) && !explains(c);
        if out.unexplained {
            self.unexplained_change(t, used);
        }
        out
    }

    /// The current database is what the schema tracker says ("" is none: it was dropped).
    fn follow_schema(&mut self, schema: &[u8], used: Target) {
        let db = (!schema.is_empty()).then(|| String::from_utf8_lossy(schema).into_owned());
        if db.is_none() {
            if self.replay.db.is_some() {
                self.dropped_current_db(used);
            }
            return;
        }
        if db != self.replay.db {
            self.replay.db = db.clone();
            self.replay.db_maybe = None;
            self.db_here = self.db_owned_here();
        }
        if let Some(conn) = self.conn_mut(used) {
            conn.db = db;
        }
    }

    /// State changed where the text shows nothing (a trigger's or a function's `SET @x`, a
    /// temporary sequence): it lives on that connection only. On the master the session stays
    /// there; a replica connection is kept by this session (never handed back or shared) and
    /// reset before any other client gets it.
    fn unexplained_change(&mut self, t: &Tracked, used: Target) {
        debug!(client = %self.peer, backend = conn_role_name(used), variables = t.sysvars.len(), "the server reported a session state change the statement does not show");
        if used == Target::Master {
            self.routing.user_vars_on_master = true;
            self.pin("the server reported a state change the statement does not show");
        } else if let Some(conn) = self.conn_mut(used) {
            conn.dirty = true;
            conn.state_sig = 0;
        }
    }

    /// Records a system variable by the value the server reported (see `record`).
    fn record_value(&mut self, name: &str, value: &[u8], used: Target, clean: bool) {
        let sql = set_by_value(name, value);
        let key = classify::setting_key(b"", name.as_bytes());
        self.record_sql(Some(key), false, sql, false, false, used, clean);
    }

    /// The client set its own session tracking (`SET session_track_…`, the statement `sql`)
    /// on `used`: that is what it sees from now on, and the connection gets the proxy's
    /// settings back. Only the settings the statement names are taken: the others on that
    /// connection are the proxy's, not the client's.
    pub(super) async fn client_set_tracking(&mut self, used: Target, sql: &[u8]) {
        let Some(conn) = self.conn_mut(used) else {
            return;
        };
        if !conn.tracking {
            return;
        }
        // No backslash escapes: the client's sql_mode may read them literally.
        let q = "SHOW SESSION VARIABLES LIKE 'session_track%'";
        let rows = conn.query_rows(q).await;
        let set = crate::backend::SET_TRACKING.as_bytes();
        let restored = matches!(conn.run_query(set).await, Ok(Ok(_)));
        if !restored {
            conn.broken = true;
        }
        if let Ok(Ok(rows)) = rows {
            for (name, value) in rows.name_values() {
                if mentions(sql, name.as_bytes()) {
                    self.track_view
                        .apply_setting(name.as_bytes(), value.as_bytes());
                }
            }
        }
    }
}

/// Whether `word` appears in `sql` (ASCII case-insensitive; a cheap over-approximation).
pub(super) fn mentions(sql: &[u8], word: &[u8]) -> bool {
    sql.windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether `sql` may ask about the previous statement's outcome (only asked of the rare
/// statements that show the tracking settings).
pub(super) fn about_previous(sql: &[u8]) -> bool {
    [
        &b"ROW_COUNT"[..],
        b"FOUND_ROWS",
        b"WARNING",
        b"ERROR",
        b"DIAGNOSTICS",
    ]
    .iter()
    .any(|w| mentions(sql, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_literals() {
        let s = |n: &str, v: &[u8]| String::from_utf8(set_by_value(n, v)).unwrap();
        assert_eq!(
            s("sql_select_limit", b"1"),
            "SET SESSION sql_select_limit = 1"
        );
        assert_eq!(
            s("max_statement_time", b"1.500000"),
            "SET SESSION max_statement_time = 1.500000"
        );
        assert_eq!(
            s("time_zone", b"+05:00"),
            "SET SESSION time_zone = _binary X'2B30353A3030'"
        );
        assert_eq!(s("sql_mode", b""), "SET SESSION sql_mode = _binary X''");
        assert_eq!(
            s("character_set_results", b""),
            "SET SESSION character_set_results = NULL"
        );
        assert_eq!(s("x", b"1.2.3"), "SET SESSION x = _binary X'312E322E33'");
        assert_eq!(s("x", b"-"), "SET SESSION x = _binary X'2D'");
        assert_eq!(s("x", b"-3"), "SET SESSION x = -3");
    }

    #[test]
    fn what_is_replayed_by_value() {
        for n in [
            "sql_mode",
            "time_zone",
            "tx_isolation",
            "character_set_client",
            "sql_select_limit",
        ] {
            assert!(by_value(n), "{n}");
        }
        for n in [
            "last_gtid",
            "autocommit",
            "timestamp",
            "sql_auto_is_null",
            "session_track_schema",
            "insert_id",
            "a b",
            "x'",
            "",
        ] {
            assert!(!by_value(n), "{n}");
        }
    }
}
