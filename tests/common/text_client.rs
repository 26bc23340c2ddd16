//! A minimal blocking MySQL text-protocol client over `std::net`, for sending statements as raw
//! bytes (mysql_async takes a `&str`, so it cannot send a statement that is not UTF-8) and for
//! reading every result of a multi-statement: login with mysql_native_password, COM_QUERY,
//! COM_RESET_CONNECTION. Nothing is decoded beyond what the tests look at.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CLIENT_LONG_PASSWORD: u32 = 0x0000_0001;
const CLIENT_CONNECT_WITH_DB: u32 = 0x0000_0008;
const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
const CLIENT_TRANSACTIONS: u32 = 0x0000_2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
const CLIENT_MULTI_STATEMENTS: u32 = 0x0001_0000;
const CLIENT_MULTI_RESULTS: u32 = 0x0002_0000;
const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;

/// `SERVER_MORE_RESULTS_EXISTS`: another result of the same multi-statement follows.
pub const MORE_RESULTS: u16 = 0x0008;
/// `SERVER_STATUS_IN_TRANS`.
pub const IN_TRANS: u16 = 0x0001;

/// One result of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An OK packet: the statement was not a result-set statement.
    Ok {
        affected: u64,
        warnings: u16,
        status: u16,
    },
    /// A result set: its rows, each value as the server's bytes (None for NULL).
    Rows {
        columns: usize,
        rows: Vec<Vec<Option<Vec<u8>>>>,
        status: u16,
    },
    /// An ERR packet: the server stopped there (no later statement of the query ran).
    Err { code: u16, message: String },
}

impl Outcome {
    /// The status flags the result ended with (0 for an error).
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Ok { status, .. } | Outcome::Rows { status, .. } => *status,
            Outcome::Err { .. } => 0,
        }
    }
}

pub struct TextClient {
    stream: TcpStream,
    seq: u8,
    pub connection_id: u32,
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// A length-encoded integer at `*pos` (advanced past it).
fn lenenc(b: &[u8], pos: &mut usize) -> io::Result<u64> {
    let first = *b.get(*pos).ok_or_else(|| bad("truncated lenenc"))?;
    *pos += 1;
    let n = match first {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        x if x < 0xfb => return Ok(x as u64),
        x => return Err(bad(format!("bad lenenc prefix {x:#x}"))),
    };
    let bytes = b
        .get(*pos..*pos + n)
        .ok_or_else(|| bad("truncated lenenc"))?;
    *pos += n;
    let mut v = [0u8; 8];
    v[..n].copy_from_slice(bytes);
    Ok(u64::from_le_bytes(v))
}

fn u16_at(b: &[u8], pos: usize) -> u16 {
    match b.get(pos..pos + 2) {
        Some(x) => u16::from_le_bytes([x[0], x[1]]),
        None => 0,
    }
}

fn err_of(p: &[u8]) -> Outcome {
    let code = u16_at(p, 1);
    // '#' and a five-character SQLSTATE follow the code (PROTOCOL_41).
    let msg = if p.get(3) == Some(&b'#') {
        &p[9.min(p.len())..]
    } else {
        &p[3.min(p.len())..]
    };
    Outcome::Err {
        code,
        message: String::from_utf8_lossy(msg).into_owned(),
    }
}

impl TextClient {
    /// Connects to 127.0.0.1:`port` and logs in with mysql_native_password, multi-statements
    /// on, utf8mb4, `db` selected.
    pub fn connect(port: u16, user: &str, password: &str, db: &str) -> io::Result<TextClient> {
        use mysql_common::io::ParseBuf;
        use mysql_common::packets::HandshakePacket;
        use mysql_common::proto::MyDeserialize;
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        let mut c = TextClient {
            stream,
            seq: 0,
            connection_id: 0,
        };
        let greeting = c.read_packet()?;
        if greeting.first() == Some(&0xff) {
            return Err(bad(format!("refused at greeting: {:?}", err_of(&greeting))));
        }
        let g = HandshakePacket::deserialize((), &mut ParseBuf(&greeting))
            .map_err(|e| bad(format!("greeting: {e}")))?;
        c.connection_id = g.connection_id();
        let scramble = mysql_common::scramble::scramble_native(&g.nonce(), password.as_bytes())
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let caps = CLIENT_LONG_PASSWORD
            | CLIENT_CONNECT_WITH_DB
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_STATEMENTS
            | CLIENT_MULTI_RESULTS
            | CLIENT_PLUGIN_AUTH;
        let mut resp = Vec::new();
        resp.extend_from_slice(&caps.to_le_bytes());
        resp.extend_from_slice(&(16u32 << 20).to_le_bytes());
        resp.push(45); // utf8mb4_general_ci
        resp.extend_from_slice(&[0u8; 23]);
        resp.extend_from_slice(user.as_bytes());
        resp.push(0);
        resp.push(scramble.len() as u8);
        resp.extend_from_slice(&scramble);
        resp.extend_from_slice(db.as_bytes());
        resp.push(0);
        resp.extend_from_slice(b"mysql_native_password\0");
        c.write_packet(&resp)?;
        loop {
            let p = c.read_packet()?;
            match p.first() {
                Some(0x00) => return Ok(c),
                Some(0xfe) => {
                    // Auth switch: plugin name NUL, then the new nonce (NUL-terminated).
                    let name_end = p.iter().skip(1).position(|&b| b == 0).map(|i| i + 1);
                    let (name, data) = match name_end {
                        Some(e) => (&p[1..e], &p[e + 1..]),
                        None => (&p[1..], &[][..]),
                    };
                    if name != b"mysql_native_password" {
                        return Err(bad(format!(
                            "auth switch to {}",
                            String::from_utf8_lossy(name)
                        )));
                    }
                    let nonce = data.strip_suffix(&[0]).unwrap_or(data);
                    let s = mysql_common::scramble::scramble_native(nonce, password.as_bytes())
                        .map(|s| s.to_vec())
                        .unwrap_or_default();
                    c.write_packet(&s)?;
                }
                _ => return Err(bad(format!("login failed: {:?}", err_of(&p)))),
            }
        }
    }

    fn write_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        loop {
            let n = rest.len().min(0xff_ffff);
            let mut b = Vec::with_capacity(4 + n);
            b.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            b.push(self.seq);
            b.extend_from_slice(&rest[..n]);
            self.seq = self.seq.wrapping_add(1);
            self.stream.write_all(&b)?;
            rest = &rest[n..];
            if n < 0xff_ffff {
                return Ok(());
            }
        }
    }

    fn read_packet(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let mut h = [0u8; 4];
            self.stream.read_exact(&mut h)?;
            let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
            self.seq = h[3].wrapping_add(1);
            let start = out.len();
            out.resize(start + len, 0);
            self.stream.read_exact(&mut out[start..])?;
            if len < 0xff_ffff {
                return Ok(out);
            }
        }
    }

    fn command(&mut self, cmd: u8, arg: &[u8]) -> io::Result<()> {
        self.seq = 0;
        let mut p = Vec::with_capacity(1 + arg.len());
        p.push(cmd);
        p.extend_from_slice(arg);
        self.write_packet(&p)
    }

    /// COM_QUERY with `sql` as given; every result until the last (or the first error).
    pub fn query(&mut self, sql: &[u8]) -> io::Result<Vec<Outcome>> {
        self.send(sql)?;
        self.recv()
    }

    /// Sends a COM_QUERY without waiting for its answer: several commands may be sent before
    /// their answers are read (in order, with [`TextClient::recv`] and
    /// [`TextClient::recv_reset`]).
    pub fn send(&mut self, sql: &[u8]) -> io::Result<()> {
        self.command(0x03, sql)
    }

    /// The answer to the oldest COM_QUERY not read yet: every result until the last (or the
    /// first error).
    pub fn recv(&mut self) -> io::Result<Vec<Outcome>> {
        let mut out = Vec::new();
        loop {
            let p = self.read_packet()?;
            let o = match p.first() {
                Some(0x00) => {
                    let mut pos = 1;
                    let affected = lenenc(&p, &mut pos)?;
                    lenenc(&p, &mut pos)?;
                    Outcome::Ok {
                        affected,
                        status: u16_at(&p, pos),
                        warnings: u16_at(&p, pos + 2),
                    }
                }
                Some(0xff) => {
                    out.push(err_of(&p));
                    return Ok(out);
                }
                Some(0xfb) => {
                    // LOCAL INFILE request: send no data; the server answers OK or ERR.
                    self.write_packet(&[])?;
                    continue;
                }
                Some(_) => {
                    let mut pos = 0;
                    let columns = lenenc(&p, &mut pos)? as usize;
                    for _ in 0..columns {
                        self.read_packet()?;
                    }
                    let eof = self.read_packet()?;
                    if eof.first() != Some(&0xfe) {
                        return Err(bad("no EOF after the column definitions"));
                    }
                    let mut rows = Vec::new();
                    let status = loop {
                        let r = self.read_packet()?;
                        match r.first() {
                            Some(0xfe) if r.len() < 9 => break u16_at(&r, 3),
                            Some(0xff) => {
                                out.push(err_of(&r));
                                return Ok(out);
                            }
                            _ => {}
                        }
                        let mut pos = 0;
                        let mut row = Vec::with_capacity(columns);
                        for _ in 0..columns {
                            if r.get(pos) == Some(&0xfb) {
                                pos += 1;
                                row.push(None);
                            } else {
                                let n = lenenc(&r, &mut pos)? as usize;
                                let v = r.get(pos..pos + n).ok_or_else(|| bad("truncated row"))?;
                                row.push(Some(v.to_vec()));
                                pos += n;
                            }
                        }
                        rows.push(row);
                    };
                    Outcome::Rows {
                        columns,
                        rows,
                        status,
                    }
                }
                None => return Err(bad("empty packet")),
            };
            let more = o.status() & MORE_RESULTS != 0;
            out.push(o);
            if !more {
                return Ok(out);
            }
        }
    }

    /// COM_QUERY that must succeed; its result sets' rows, all of them in order.
    pub fn rows(&mut self, sql: &str) -> io::Result<Vec<Vec<Option<Vec<u8>>>>> {
        let mut all = Vec::new();
        for o in self.query(sql.as_bytes())? {
            match o {
                Outcome::Rows { rows, .. } => all.extend(rows),
                Outcome::Ok { .. } => {}
                Outcome::Err { code, message } => {
                    return Err(bad(format!("{sql}: error {code}: {message}")));
                }
            }
        }
        Ok(all)
    }

    /// COM_RESET_CONNECTION: user variables, temporary tables, named locks, the transaction
    /// and session variables go; the login (and its database) stays.
    pub fn reset(&mut self) -> io::Result<()> {
        self.send_reset()?;
        self.recv_reset()
    }

    /// Sends COM_RESET_CONNECTION without waiting for its answer.
    pub fn send_reset(&mut self) -> io::Result<()> {
        self.command(0x1f, &[])
    }

    /// The answer to a COM_RESET_CONNECTION sent with [`TextClient::send_reset`].
    pub fn recv_reset(&mut self) -> io::Result<()> {
        let p = self.read_packet()?;
        if p.first() == Some(&0x00) {
            Ok(())
        } else {
            Err(bad(format!("COM_RESET_CONNECTION: {:?}", err_of(&p))))
        }
    }
}
