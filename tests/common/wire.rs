//! Reading whole answers on a [`RawClient`]: statements as raw bytes (any charset, any byte a
//! hostile client would send) and the binary protocol, with every result of a multi-statement
//! decoded into [`Res`] for comparison with a direct connection.

use super::{tail, Cluster, Proxy, RawClient};

/// One result of a command, as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Res {
    Ok { affected: u64 },
    Err { code: u16, message: String },
    Rows(Vec<Vec<Option<Vec<u8>>>>),
}

impl Res {
    pub fn code(&self) -> Option<u16> {
        match self {
            Res::Err { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// This result with `from` replaced by `to` in every value.
    pub fn naming(self, from: &str, to: &str) -> Res {
        let Res::Rows(rows) = self else { return self };
        let swap = |v: Vec<u8>| {
            let (from, to) = (from.as_bytes(), to.as_bytes());
            let mut out = Vec::with_capacity(v.len());
            let mut i = 0;
            while i < v.len() {
                if v[i..].starts_with(from) {
                    out.extend_from_slice(to);
                    i += from.len();
                } else {
                    out.push(v[i]);
                    i += 1;
                }
            }
            out
        };
        Res::Rows(
            rows.into_iter()
                .map(|r| r.into_iter().map(|v| v.map(swap)).collect())
                .collect(),
        )
    }

    /// The first column of the first row, as text (None for NULL or no row).
    pub fn first(&self) -> Option<String> {
        match self {
            Res::Rows(r) => r
                .first()?
                .first()?
                .as_ref()
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            _ => None,
        }
    }
}

const MORE_RESULTS: u16 = 0x0008;

fn lenenc(b: &[u8], i: &mut usize) -> u64 {
    let c = b[*i];
    *i += 1;
    let n = match c {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return u64::from(c),
    };
    let mut v = 0u64;
    for k in 0..n {
        v |= u64::from(b[*i + k]) << (8 * k);
    }
    *i += n;
    v
}

fn err(p: &[u8]) -> Res {
    let code = u16::from_le_bytes([p[1], p[2]]);
    let msg = if p.get(3) == Some(&b'#') {
        &p[9..]
    } else {
        &p[3..]
    };
    Res::Err {
        code,
        message: String::from_utf8_lossy(msg).into_owned(),
    }
}

/// (affected rows, status flags) of an OK packet.
fn ok(p: &[u8]) -> (u64, u16) {
    let mut i = 1;
    let affected = lenenc(p, &mut i);
    lenenc(p, &mut i);
    (affected, u16::from_le_bytes([p[i], p[i + 1]]))
}

fn is_eof(p: &[u8]) -> bool {
    p[0] == 0xfe && p.len() < 9
}

impl RawClient {
    /// COM_QUERY with these exact bytes; every result until the last one.
    pub fn query_bytes(&mut self, sql: &[u8]) -> Vec<Res> {
        let mut payload = vec![0x03];
        payload.extend_from_slice(sql);
        self.command(&payload)
    }

    /// Any command packet whose answer is text-protocol results (or OK / ERR).
    pub fn command(&mut self, payload: &[u8]) -> Vec<Res> {
        self.write_packet(0, payload);
        self.read_results(false)
    }

    fn read_results(&mut self, binary: bool) -> Vec<Res> {
        let mut out = Vec::new();
        loop {
            let (_, p) = self.read_packet();
            match p[0] {
                0xff => {
                    out.push(err(&p));
                    return out;
                }
                0x00 => {
                    let (affected, status) = ok(&p);
                    out.push(Res::Ok { affected });
                    if status & MORE_RESULTS == 0 {
                        return out;
                    }
                    continue;
                }
                _ => {}
            }
            let mut i = 0;
            let cols = lenenc(&p, &mut i) as usize;
            for _ in 0..cols {
                self.read_packet();
            }
            self.read_packet(); // EOF after the column definitions
            let mut rows = Vec::new();
            let status = loop {
                let (_, r) = self.read_packet();
                if is_eof(&r) {
                    break u16::from_le_bytes([r[3], r[4]]);
                }
                if r[0] == 0xff {
                    out.push(err(&r));
                    return out;
                }
                rows.push(if binary {
                    // Binary rows are compared as raw bytes: the tests compare them with the
                    // same statement's rows from a direct connection.
                    vec![Some(r)]
                } else {
                    let mut vals = Vec::new();
                    let mut i = 0;
                    while i < r.len() {
                        if r[i] == 0xfb {
                            vals.push(None);
                            i += 1;
                            continue;
                        }
                        let n = lenenc(&r, &mut i) as usize;
                        vals.push(Some(r[i..i + n].to_vec()));
                        i += n;
                    }
                    vals
                });
            };
            out.push(Res::Rows(rows));
            if status & MORE_RESULTS == 0 {
                return out;
            }
        }
    }

    /// COM_STMT_PREPARE: Ok(statement id) or Err(error code).
    pub fn prepare(&mut self, sql: &[u8]) -> Result<u32, u16> {
        let mut payload = vec![0x16];
        payload.extend_from_slice(sql);
        self.write_packet(0, &payload);
        let (_, p) = self.read_packet();
        if p[0] == 0xff {
            return Err(u16::from_le_bytes([p[1], p[2]]));
        }
        let id = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
        let cols = u16::from_le_bytes([p[5], p[6]]);
        let params = u16::from_le_bytes([p[7], p[8]]);
        for n in [params, cols] {
            if n > 0 {
                for _ in 0..=n {
                    self.read_packet();
                }
            }
        }
        Ok(id)
    }

    /// COM_STMT_EXECUTE of `id` (0xFFFFFFFF: the last prepared) with BIGINT parameters.
    /// COM_STMT_SEND_LONG_DATA of `bytes` bytes of `x` for parameter 0 (no answer comes).
    pub fn send_long_data(&mut self, id: u32, bytes: usize) {
        let mut pkt = vec![0x18];
        pkt.extend_from_slice(&id.to_le_bytes());
        pkt.extend_from_slice(&0u16.to_le_bytes());
        pkt.resize(7 + bytes, b'x');
        self.write_packet(0, &pkt);
    }

    /// COM_STMT_EXECUTE of a statement whose parameter 0 came as long data (no value in the
    /// packet) and parameter 1 is the BIGINT `a`; returns the first answer packet's payload.
    pub fn execute_with_long_data(&mut self, id: u32, a: i64) -> Vec<u8> {
        let mut pkt = vec![0x17];
        pkt.extend_from_slice(&id.to_le_bytes());
        pkt.push(0);
        pkt.extend_from_slice(&1u32.to_le_bytes());
        pkt.push(0);
        pkt.push(1);
        pkt.extend_from_slice(&[0xfc, 0, 8, 0]);
        pkt.extend_from_slice(&a.to_le_bytes());
        self.write_packet(0, &pkt);
        self.read_packet().1
    }

    pub fn execute(&mut self, id: u32, params: &[i64]) -> Vec<Res> {
        let mut p = vec![0x17];
        p.extend_from_slice(&id.to_le_bytes());
        p.push(0); // no cursor
        p.extend_from_slice(&1u32.to_le_bytes());
        if !params.is_empty() {
            p.extend(std::iter::repeat_n(0u8, params.len().div_ceil(8)));
            p.push(1); // types follow
            for _ in params {
                p.extend_from_slice(&[8, 0]); // MYSQL_TYPE_LONGLONG
            }
            for v in params {
                p.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.write_packet(0, &p);
        self.read_results(true)
    }

    /// COM_STMT_CLOSE (no answer).
    pub fn close_stmt(&mut self, id: u32) {
        let mut p = vec![0x19];
        p.extend_from_slice(&id.to_le_bytes());
        self.write_packet(0, &p);
    }
}

/// A fresh table `rwtest.NAME_PID (a INT PRIMARY KEY)` on the master.
pub fn fresh_table(c: &Cluster, name: &str) -> String {
    let t = format!("rwtest.{name}_{}", std::process::id());
    c.root_sql(
        "master",
        &format!("DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (a INT PRIMARY KEY)"),
    );
    t
}

/// `SELECT COUNT(*)` of a table, on the master.
pub fn row_count(c: &Cluster, t: &str) -> String {
    c.root_rows("master", &format!("SELECT COUNT(*) FROM {t}"))
        .join(",")
}

/// Runs `script` on a fresh raw connection to `port`; the results of each statement.
pub fn run_script(c: &Cluster, port: u16, script: &[&[u8]]) -> Vec<Vec<Res>> {
    let mut raw = RawClient::login(port, c.user(), c.password());
    script.iter().map(|sql| raw.query_bytes(sql)).collect()
}

/// `script` with every `{t}` replaced by `t`.
pub fn with_table(script: &[&[u8]], t: &str) -> Vec<Vec<u8>> {
    script
        .iter()
        .map(|sql| {
            let mut out = Vec::new();
            let mut i = 0;
            while i < sql.len() {
                if sql[i..].starts_with(b"{t}") {
                    out.extend_from_slice(t.as_bytes());
                    i += 3;
                } else {
                    out.push(sql[i]);
                    i += 1;
                }
            }
            out
        })
        .collect()
}

/// Runs `script` directly against the master and through the proxy (each side with a fresh
/// table `{t}`), asserts both sides got the same results and the same table contents, and
/// returns the proxy's results.
pub fn same_answers(c: &Cluster, p: &Proxy, name: &str, script: &[&[u8]]) -> Vec<Vec<Res>> {
    let mut answers = Vec::new();
    let mut contents = Vec::new();
    for (side, port) in [("direct", c.master_port()), ("proxy", p.port)] {
        let t = fresh_table(c, &format!("{name}_{side}"));
        let script = with_table(script, &t);
        let refs: Vec<&[u8]> = script.iter().map(|s| &s[..]).collect();
        // Results that quote the statement's text name the side's own table: read as `{t}`.
        let got = run_script(c, port, &refs)
            .into_iter()
            .map(|results| results.into_iter().map(|r| r.naming(&t, "{t}")).collect())
            .collect::<Vec<Vec<Res>>>();
        answers.push(got);
        contents.push(c.root_rows("master", &format!("SELECT a FROM {t} ORDER BY a")));
    }
    assert_eq!(
        answers[0],
        answers[1],
        "{name}: direct and proxied answers differ\n{}",
        tail(&p.log(), 30)
    );
    assert_eq!(contents[0], contents[1], "{name}: table contents differ");
    answers.pop().unwrap()
}
