//! Query digests: statements normalized (literals replaced by `?`, whitespace collapsed,
//! keywords lowercased) with count, total and max time, rows and route, in a bounded table.
//! Normalizing hashes as it scans, so a statement already in the table costs no allocation.

use std::sync::Mutex;
use std::time::Duration;

/// How many distinct digests are kept; beyond that the one with the least total time goes.
const CAPACITY: usize = 512;

#[derive(Debug, Clone)]
pub struct Entry {
    pub text: String,
    pub count: u64,
    pub total: Duration,
    pub max: Duration,
    pub rows: u64,
    pub route: &'static str,
}

#[derive(Default)]
pub struct Digests {
    table: Mutex<foldhash::HashMap<u64, Entry>>,
}

impl Digests {
    pub fn record(&self, sql: &[u8], elapsed: Duration, rows: u64, route: &'static str) {
        self.record_key(fingerprint(sql), sql, elapsed, rows, route)
    }

    /// Like `record` with the fingerprint already known (prepared statements keep theirs).
    pub fn record_key(
        &self,
        key: u64,
        sql: &[u8],
        elapsed: Duration,
        rows: u64,
        route: &'static str,
    ) {
        let mut t = self.table.lock().expect("digest lock");
        if let Some(e) = t.get_mut(&key) {
            e.count += 1;
            e.total += elapsed;
            e.max = e.max.max(elapsed);
            e.rows += rows;
            e.route = route;
            return;
        }
        if t.len() >= CAPACITY {
            if let Some(k) = t.iter().min_by_key(|(_, e)| e.total).map(|(k, _)| *k) {
                t.remove(&k);
            }
        }
        t.insert(
            key,
            Entry {
                text: normalize(sql),
                count: 1,
                total: elapsed,
                max: elapsed,
                rows,
                route,
            },
        );
    }

    /// The top `n` digests by total time.
    pub fn top(&self, n: usize) -> Vec<Entry> {
        let mut v: Vec<Entry> = self
            .table
            .lock()
            .expect("digest lock")
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.total));
        v.truncate(n);
        v
    }
}

/// Walks the normalized form of `sql`, handing each output byte to `out`.
fn walk(sql: &[u8], mut out: impl FnMut(u8)) {
    let mut i = 0;
    let mut pending_space = false;
    let mut emitted = false;
    let emit = |b: u8, pending_space: &mut bool, emitted: &mut bool, out: &mut dyn FnMut(u8)| {
        if *pending_space && *emitted {
            out(b' ');
        }
        *pending_space = false;
        *emitted = true;
        out(b);
    };
    while i < sql.len() {
        let b = sql[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                pending_space = true;
                i += 1;
            }
            b'\'' | b'"' => {
                // string literal (with backslash and doubled-quote escapes)
                let q = b;
                i += 1;
                while i < sql.len() {
                    if sql[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if sql[i] == q {
                        if sql.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                emit(b'?', &mut pending_space, &mut emitted, &mut out);
            }
            b'`' => {
                let start = i;
                i += 1;
                while i < sql.len() && sql[i] != b'`' {
                    i += 1;
                }
                i += 1;
                for &c in &sql[start..i.min(sql.len())] {
                    emit(c, &mut pending_space, &mut emitted, &mut out);
                }
            }
            b'/' if sql.get(i + 1) == Some(&b'*') && sql.get(i + 2) != Some(&b'!') => {
                i += 2;
                while i + 1 < sql.len() && !(sql[i] == b'*' && sql[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                pending_space = true;
            }
            b'#' => {
                while i < sql.len() && sql[i] != b'\n' {
                    i += 1;
                }
                pending_space = true;
            }
            b'-' if sql.get(i + 1) == Some(&b'-')
                && sql.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                while i < sql.len() && sql[i] != b'\n' {
                    i += 1;
                }
                pending_space = true;
            }
            // A number (incl. 0x.., 1.5e3, 1e-3, .5) unless it is part of an identifier: one
            // `?`, as the classifier's lexer reads it as one token.
            b'0'..=b'9' | b'.' if b != b'.' || sql.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                while i < sql.len() {
                    let exponent_sign = matches!(sql[i], b'+' | b'-')
                        && matches!(sql[i - 1], b'e' | b'E')
                        && sql.get(i + 1).is_some_and(u8::is_ascii_digit);
                    if sql[i].is_ascii_alphanumeric() || sql[i] == b'.' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                emit(b'?', &mut pending_space, &mut emitted, &mut out);
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' || c == b'$' || c >= 0x80 => {
                // x'..' / b'..' literals
                if (c == b'x' || c == b'X' || c == b'b' || c == b'B')
                    && sql.get(i + 1) == Some(&b'\'')
                {
                    i += 2;
                    while i < sql.len() && sql[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                    emit(b'?', &mut pending_space, &mut emitted, &mut out);
                    continue;
                }
                while i < sql.len()
                    && (sql[i].is_ascii_alphanumeric()
                        || matches!(sql[i], b'_' | b'@' | b'$' | b'.')
                        || sql[i] >= 0x80)
                {
                    emit(
                        sql[i].to_ascii_lowercase(),
                        &mut pending_space,
                        &mut emitted,
                        &mut out,
                    );
                    i += 1;
                }
            }
            _ => {
                emit(b, &mut pending_space, &mut emitted, &mut out);
                i += 1;
            }
        }
    }
}

/// A hash of the normalized statement (FNV-1a: a multiply per byte, no setup; this runs for
/// every statement, and the table is not exposed to untrusted keys beyond its bound).
pub fn fingerprint(sql: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    walk(sql, |b| {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    h
}

/// The normalized statement text.
pub fn normalize(sql: &[u8]) -> String {
    let mut v = Vec::with_capacity(sql.len().min(1024));
    walk(sql, |b| v.push(b));
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            normalize(b"SELECT c FROM sbtest1 WHERE id=42"),
            "select c from sbtest1 where id=?"
        );
        assert_eq!(
            normalize(b"select  *\n from t where a = 'x''y' and b = \"q\\\"\" and c = 1.5e3 and d = x'ff' /* c */ "),
            "select * from t where a = ? and b = ? and c = ? and d = ?"
        );
        assert_eq!(fingerprint(b"SELECT 1"), fingerprint(b"select   2"));
        assert_ne!(
            fingerprint(b"SELECT a FROM t"),
            fingerprint(b"SELECT b FROM t")
        );
        assert_eq!(normalize(b"SELECT `Col1` FROM t1"), "select `Col1` from t1");
    }

    #[test]
    fn table_is_bounded_and_sorted() {
        let d = Digests::default();
        for i in 0..(CAPACITY + 50) {
            let sql = format!("SELECT c{i} FROM t WHERE id = 1");
            d.record(
                sql.as_bytes(),
                Duration::from_micros(i as u64 + 1),
                1,
                "replica",
            );
        }
        d.record(
            b"SELECT c9999 FROM t WHERE id = 7",
            Duration::from_secs(1),
            3,
            "replica",
        );
        let top = d.top(10);
        assert_eq!(top[0].text, "select c9999 from t where id = ?");
        assert!(d.table.lock().unwrap().len() <= CAPACITY);
    }
}
