//! Issue 23: the server is the oracle. rwsplit decides with its own lexer whether a statement may
//! run on a read-only replica; wherever that lexer reads bytes differently from MariaDB's, a
//! write, a lock or a variable goes to a replica. This test generates statements (seeds in
//! `tests/oracle/corpus.sql`, exhaustive byte sweeps in `tests/oracle/sweeps.sql`, seeded
//! mutations of both), classifies each under a client character set, and runs every statement
//! the proxy would send to a replica directly on one, as the application account, multi-
//! statements on, after `SET NAMES <charset>`. The server then says what the statement did.
//!
//! A statement fails the test when, on replica1 (app account, which lacks SUPER / READ_ONLY
//! ADMIN):
//! - the server refused a write (1290, 1836);
//! - a read answered with an OK packet instead of rows (it was not a plain read: INTO, DO, SET,
//!   CREATE TEMPORARY TABLE, ...);
//! - the session's Com_* counters show a statement other than a read (or, for a session SET the
//!   proxy replays, other than SET/USE) was executed;
//! - it left user variables (information_schema.USER_VARIABLES; a replayed SET may), a named
//!   lock (RELEASE_ALL_LOCKS() counts them), an open transaction, a temporary table of the
//!   generator's names, or a file (INTO OUTFILE / DUMPFILE, looked for in the datadir);
//! - it read or changed the connection's LAST_INSERT_ID() (primed with a value no statement
//!   contains);
//! - it is a session SET the proxy records and replays, and running it on another connection
//!   of another replica leaves different user variables (RAND(), UUID(), @@server_id, ...);
//!
//! a statement the proxy sends to the master, run on replica1 as the app account all the same
//! (a write is refused there before anything happens), fails it when it leaves a user variable
//! although the classification reports no assignment (`user_var_write`), or a temporary table
//! the classification does not name (`temp_ops`): later reads of them would go to a replica;
//!
//! and, on replica2 as the SUPER account (`SUPER_USER`, for which read_only does not apply, in
//! GTID domain 99 and a database of its own so that a fork cannot stop replication or change
//! what the other checks read), when its binlog gained a GTID of its own: the statement would
//! have forked a replica. Nothing is repaired: such a failure says so and the run fails.
//!
//! Bounded for CI: the sweeps plus `RWSPLIT_ORACLE_N` (default 3000) random statements from
//! `RWSPLIT_ORACLE_SEED` (default fixed). Without `RWSPLIT_CLUSTER_ENV` the test is skipped
//! (it fails instead with CI=true).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::text_client::{Outcome, TextClient, IN_TRANS};
use common::Cluster;
use rwsplit::classify::{analyze_in, Charset, Classification, Route, TempTableOp};
use rwsplit::route::{decide, Protocol, RoutingState, Target};

const CORPUS: &str = include_str!("oracle/corpus.sql");
const SWEEPS: &str = include_str!("oracle/sweeps.sql");

/// The database the statements run in (table t, sequence s1), and the copy the SUPER account
/// runs in on replica2 (a write there forks only that copy).
const DB: &str = "rwsplit_oracle";
const FORK_DB: &str = "rwsplit_oracle_fork";
/// The GTID domain of the SUPER account's session: a write it makes on replica2 is binlogged
/// in a domain the master never uses, so replication of domain 0 goes on.
const FORK_DOMAIN: u32 = 99;

const VARS: &[&str] = &["g", "nb", "s", "d", "r", "x"];
const LOCKS: &[&str] = &["lk1", "lk2", "q"];
const TMPS: &[&str] = &["tmp1", "tmp2"];
/// Output files are named `oracle_f<statement>_<k>`.
const FILE_PREFIX: &str = "oracle_f";

/// LAST_INSERT_ID() of each connection before the statement: no generated statement contains
/// these digits, so a result that does read the connection's own state.
const MAGIC1: u64 = 7_140_031_559;
const MAGIC2: u64 = 7_140_031_661;
const MAGIC3: u64 = 7_140_031_773;

/// The character sets of the task, each used if the server has it.
const CHARSETS: &[&str] = &[
    "utf8mb4", "latin1", "sjis", "cp932", "gbk", "big5", "gb18030", "ujis", "euckr", "koi8r",
    "cp1251",
];
/// Lead-byte candidates tried under single-byte character sets (and utf8mb4).
const LEAD_SAMPLE: &[u8] = &[
    0x81, 0x8e, 0x8f, 0x95, 0x9f, 0xa0, 0xa1, 0xb0, 0xdf, 0xe0, 0xef, 0xfc, 0xfe,
];

const DEFAULT_N: usize = 3000;
const DEFAULT_SEED: u64 = 0x2323_0a11_0c1e;

/// sql_mode additions statements run under (the classifier must be right under any of them).
const MODES: &[&str] = &["", "ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "IGNORE_SPACE"];

// ---------------------------------------------------------------------------------------------
// The classifier under test
// ---------------------------------------------------------------------------------------------

/// rwsplit's classification of `sql` sent under client character set `cs`.
fn classify_in(sql: &[u8], cs: &str) -> Classification {
    analyze_in(sql, &[], Charset::from_name(cs))
}

/// Would the proxy run it on a replica? The routing decision for a free session whose previous
/// statement (and SELECT) ran on a replica, so that statements about the previous one
/// (SHOW WARNINGS, FOUND_ROWS()) and session SETs count too.
fn replica_bound(c: &Classification) -> bool {
    let mut st = RoutingState::default();
    st.last = Some(Target::Replica);
    st.last_select = Some(Target::Replica);
    decide(c, &st, Protocol::Text).target == Target::Replica
}

// ---------------------------------------------------------------------------------------------
// Statement generation
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, and the same sequence on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// One line of a data file, `\xNN` decoded.
struct Seed {
    file: &'static str,
    line: usize,
    text: Vec<u8>,
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn load(file: &'static str, text: &'static str) -> Vec<Seed> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('%') {
            continue;
        }
        let b = line.as_bytes();
        let mut s = Vec::with_capacity(b.len());
        let mut j = 0;
        while j < b.len() {
            if b[j] == b'\\' && b.get(j + 1) == Some(&b'x') {
                if let (Some(h), Some(l)) = (
                    b.get(j + 2).copied().and_then(unhex),
                    b.get(j + 3).copied().and_then(unhex),
                ) {
                    s.push(h * 16 + l);
                    j += 4;
                    continue;
                }
            }
            s.push(b[j]);
            j += 1;
        }
        out.push(Seed {
            file,
            line: i + 1,
            text: s,
        });
    }
    out
}

/// The statement as a corpus line: printable ASCII as is, every other byte as `\xNN`.
fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    for (i, &c) in b.iter().enumerate() {
        // A backslash before `x` would read as an escape: written as one.
        if (0x20..0x7f).contains(&c) && !(c == b'\\' && b.get(i + 1) == Some(&b'x')) {
            s.push(c as char);
        } else {
            let _ = write!(s, "\\x{c:02x}");
        }
    }
    s
}

/// Number forms to glue to keywords: what the server's lexer reads as one number (and a few it
/// reads as an identifier or an error).
const NUMBERS: &[&str] = &[
    "1", "0", "12", "1.5", ".5", "1.", "1e1", "1E1", "1e+1", "3e+1", "1e-1", "1.5e3", ".5e1",
    "1.e1", "1.5E+3", "0x1F", "0b1", "x'1F'", "X'1F'", "b'1'", "00", "-1",
];
const ODD_NUMBERS: &[&str] = &["1e", "1e+", "0x", "0b", "1.5.5", "0X1F", "1_0", "9e9999"];

/// Built-in functions whose call sends a statement to the master.
const BUILTINS: &[&str] = &[
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "IS_FREE_LOCK",
    "IS_USED_LOCK",
    "LAST_INSERT_ID",
    "NEXTVAL",
    "LASTVAL",
    "SETVAL",
    "RAND",
    "UUID",
    "CONNECTION_ID",
    "FOUND_ROWS",
    "ROW_COUNT",
    "NOW",
];

const EXEC_COMMENTS: &[&str] = &[
    "/*!",
    "/*! ",
    "/*!50700 ",
    "/*!32302 ",
    "/*!100100 ",
    "/*!50700",
    "/*M!",
    "/*M! ",
    "/*M!100100 ",
    "/*!99999 ",
    "/*M!999999 ",
];

const HINTS: &[&str] = &[
    "/* rwsplit:replica */ ",
    "/*rwsplit:replica*/",
    "-- rwsplit:replica\n",
    "# rwsplit:replica\n",
    "/* rwsplit:master */ ",
];

/// Bytes more likely than others to split the two lexers.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1a, 0x1f, 0x20, 0x22, 0x23, 0x27, 0x2d, 0x2f, 0x3b,
    0x5c, 0x60, 0x7f, 0x80, 0x85, 0x95, 0xa0, 0xa1, 0xc2, 0xe3, 0xff,
];

#[derive(Clone)]
struct Case {
    id: usize,
    cs: String,
    /// sql_mode addition ("" for the server's default).
    mode: &'static str,
    sql: Vec<u8>,
    /// Where it came from, for the report: the data file line and the mutations.
    origin: String,
}

struct Gen {
    rng: Rng,
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

impl Gen {
    fn byte(&mut self) -> u8 {
        if self.rng.chance(1, 3) {
            *self.rng.pick(INTERESTING)
        } else {
            self.rng.below(256) as u8
        }
    }

    fn number(&mut self) -> &'static str {
        if self.rng.chance(1, 8) {
            ODD_NUMBERS[self.rng.below(ODD_NUMBERS.len())]
        } else {
            NUMBERS[self.rng.below(NUMBERS.len())]
        }
    }

    /// The template with its placeholders filled; files are named after statement `id`.
    fn fill(&mut self, tpl: &[u8], id: usize, files: &mut usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(tpl.len() + 16);
        let mut i = 0;
        while i < tpl.len() {
            let rest = &tpl[i..];
            let put: Option<String> = if rest.starts_with(b"{N}") {
                Some(self.number().to_string())
            } else if rest.starts_with(b"{V}") {
                Some(self.rng.pick(VARS).to_string())
            } else if rest.starts_with(b"{L}") {
                Some(self.rng.pick(LOCKS).to_string())
            } else if rest.starts_with(b"{T}") {
                Some(self.rng.pick(TMPS).to_string())
            } else if rest.starts_with(b"{F}") {
                *files += 1;
                Some(format!("{FILE_PREFIX}{id}_{files}"))
            } else {
                None
            };
            match put {
                Some(p) => {
                    out.extend_from_slice(p.as_bytes());
                    i += 3;
                }
                None => {
                    out.push(tpl[i]);
                    i += 1;
                }
            }
        }
        out
    }

    /// Applies one mutation; its name, or None when it does not apply to `s`.
    fn mutate(
        &mut self,
        s: &mut Vec<u8>,
        seeds: &[Seed],
        id: usize,
        files: &mut usize,
    ) -> Option<&'static str> {
        match self.rng.below(11) {
            0 | 1 => {
                // A number in another form, glued to the keyword after it.
                let starts: Vec<usize> = (0..s.len())
                    .filter(|&i| {
                        s[i].is_ascii_digit()
                            && (i == 0
                                || !(is_word(s[i - 1]) || s[i - 1] == b'.' || s[i - 1] == b'@'))
                    })
                    .collect();
                if starts.is_empty() {
                    return None;
                }
                let at = *self.rng.pick(&starts);
                let mut end = at;
                while end < s.len() && s[end].is_ascii_digit() {
                    end += 1;
                }
                let mut after = end;
                if self.rng.chance(3, 4) {
                    while after < s.len() && s[after] == b' ' {
                        after += 1;
                    }
                }
                let n = self.number().as_bytes().to_vec();
                s.splice(at..after, n);
                Some("glue-number")
            }
            2 => {
                // A byte right after `--`.
                let at: Vec<usize> = s
                    .windows(2)
                    .enumerate()
                    .filter(|(_, w)| w == b"--")
                    .map(|(i, _)| i + 2)
                    .collect();
                if at.is_empty() {
                    return None;
                }
                let i = *self.rng.pick(&at);
                let b = self.byte();
                s.insert(i, b);
                Some("byte-after-dashdash")
            }
            3 => {
                // A byte between tokens: in place of a space, or beside one.
                let at: Vec<usize> = (0..s.len()).filter(|&i| s[i] == b' ').collect();
                if at.is_empty() {
                    return None;
                }
                let i = *self.rng.pick(&at);
                let b = self.byte();
                match self.rng.below(3) {
                    0 => s[i] = b,
                    1 => s.insert(i, b),
                    _ => s.insert(i + 1, b),
                }
                Some("byte-between-tokens")
            }
            4 => {
                // A byte inside a string or a quoted identifier (next to a quote).
                let at: Vec<usize> = (0..s.len())
                    .filter(|&i| matches!(s[i], b'\'' | b'"' | b'`'))
                    .collect();
                if at.is_empty() {
                    return None;
                }
                let i = *self.rng.pick(&at) + self.rng.below(2);
                let b = self.byte();
                s.insert(i, b);
                Some("byte-in-quotes")
            }
            5 => {
                // A multi-byte lead byte before \ ' ` ", which may then be its trail byte.
                let at: Vec<usize> = (0..s.len())
                    .filter(|&i| matches!(s[i], b'\\' | b'\'' | b'`' | b'"'))
                    .collect();
                if at.is_empty() {
                    return None;
                }
                let i = *self.rng.pick(&at);
                let lead = 0x81 + self.rng.below(0xfe - 0x81 + 1) as u8;
                s.insert(i, lead);
                Some("lead-byte")
            }
            6 => {
                // A built-in function's name quoted: `GET_LOCK`(...), "GET_LOCK"(...).
                let upper = s.to_ascii_uppercase();
                let mut at = Vec::new();
                for name in BUILTINS {
                    let n = name.as_bytes();
                    for i in 0..upper.len().saturating_sub(n.len() - 1) {
                        if upper[i..].starts_with(n)
                            && (i == 0 || !is_word(upper[i - 1]))
                            && upper.get(i + n.len()).is_none_or(|&c| !is_word(c))
                        {
                            at.push((i, n.len()));
                        }
                    }
                }
                if at.is_empty() {
                    return None;
                }
                let (i, len) = *self.rng.pick(&at);
                let q = if self.rng.chance(3, 4) { b'`' } else { b'"' };
                s.insert(i + len, q);
                s.insert(i, q);
                Some(if q == b'`' {
                    "backtick-builtin"
                } else {
                    "dquote-builtin"
                })
            }
            7 => {
                // Part of the statement wrapped in an executable comment.
                let spaces: Vec<usize> = (1..s.len()).filter(|&i| s[i] == b' ').collect();
                if spaces.is_empty() {
                    return None;
                }
                let from = *self.rng.pick(&spaces) + 1;
                let later: Vec<usize> = spaces.iter().copied().filter(|&i| i > from).collect();
                let to = if later.is_empty() || self.rng.chance(1, 2) {
                    s.len()
                } else {
                    *self.rng.pick(&later)
                };
                let open = self.rng.pick(EXEC_COMMENTS).as_bytes().to_vec();
                s.splice(to..to, b" */".iter().copied());
                s.splice(from..from, open);
                Some("exec-comment")
            }
            8 => {
                // Another statement after `;`.
                let seps: [&[u8]; 4] = [b";", b"; ", b";\n", b" ;"];
                let sep = *self.rng.pick(&seps);
                let other = self.rng.pick(seeds).text.clone();
                let other = self.fill(&other, id, files);
                s.extend_from_slice(sep);
                s.extend_from_slice(&other);
                Some("join")
            }
            9 => {
                let h = self.rng.pick(HINTS).as_bytes();
                s.splice(0..0, h.iter().copied());
                Some("hint")
            }
            _ => {
                // Tokens glued: a space removed.
                let at: Vec<usize> = (0..s.len()).filter(|&i| s[i] == b' ').collect();
                if at.is_empty() {
                    return None;
                }
                let i = *self.rng.pick(&at);
                s.remove(i);
                Some("glue-tokens")
            }
        }
    }

    fn random_case(&mut self, id: usize, seeds: &[Seed], charsets: &[String]) -> Case {
        let seed = self.rng.pick(seeds);
        let mut files = 0;
        let mut sql = self.fill(&seed.text, id, &mut files);
        let mut origin = format!("{}:{}", seed.file, seed.line);
        let n = *self.rng.pick(&[0, 1, 1, 2, 3]);
        let mut done = 0;
        let mut tries = 0;
        while done < n && tries < 20 {
            tries += 1;
            if let Some(m) = self.mutate(&mut sql, seeds, id, &mut files) {
                origin.push_str(" +");
                origin.push_str(m);
                done += 1;
            }
        }
        let cs = self.rng.pick(charsets).clone();
        let mode = match self.rng.below(10) {
            0 => MODES[1],
            1 => MODES[2],
            2 => MODES[3],
            _ => MODES[0],
        };
        Case {
            id,
            cs,
            mode,
            sql,
            origin,
        }
    }
}

/// The sweeps of `sweeps.sql`: every {B} byte, every {LEAD} byte, under the character sets
/// where they matter.
fn sweep_cases(charsets: &[String], multibyte: &HashSet<String>, next_id: &mut usize) -> Vec<Case> {
    let mut out = Vec::new();
    for seed in load("sweeps.sql", SWEEPS) {
        // `[cs,cs] ` first: only under those character sets (every byte).
        let (only, t): (Option<Vec<String>>, &[u8]) = match seed.text.strip_prefix(b"[") {
            Some(rest) => {
                let end = find(rest, b"] ").expect("sweeps.sql: `[charsets] ` not closed");
                let list = String::from_utf8_lossy(&rest[..end]);
                (
                    Some(list.split(',').map(|c| c.trim().to_string()).collect()),
                    &rest[end + 2..],
                )
            }
            None => (None, &seed.text),
        };
        let (tag, at, len): (&str, usize, usize) = if let Some(i) = find(t, b"{B}") {
            ("byte", i, 3)
        } else if let Some(i) = find(t, b"{LEAD}") {
            ("lead", i, 6)
        } else {
            panic!("sweeps.sql:{}: no {{B}} or {{LEAD}}", seed.line);
        };
        for cs in charsets {
            if only.as_ref().is_some_and(|o| !o.contains(cs)) {
                continue;
            }
            let bytes: Vec<u8> = match tag {
                "byte" if only.is_some() || cs == "utf8mb4" || cs == "latin1" => {
                    (0..=255).collect()
                }
                "byte" => (0x80..=0xff).collect(),
                _ if multibyte.contains(cs) => (0x81..=0xfe).collect(),
                _ => LEAD_SAMPLE.to_vec(),
            };
            for b in bytes {
                let mut sql = t[..at].to_vec();
                sql.push(b);
                sql.extend_from_slice(&t[at + len..]);
                out.push(Case {
                    id: *next_id,
                    cs: cs.clone(),
                    mode: "",
                    sql,
                    origin: format!("sweeps.sql:{} {tag} {b:#04x}", seed.line),
                });
                *next_id += 1;
            }
        }
    }
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

// ---------------------------------------------------------------------------------------------
// Running a statement on the replicas
// ---------------------------------------------------------------------------------------------

struct Conn {
    port: u16,
    user: String,
    password: String,
    db: &'static str,
    c: Option<TextClient>,
}

impl Conn {
    fn new(port: u16, user: &str, password: &str, db: &'static str) -> Conn {
        Conn {
            port,
            user: user.into(),
            password: password.into(),
            db,
            c: None,
        }
    }

    /// The connection, logged in again if the last one was lost.
    fn client(&mut self) -> &mut TextClient {
        if self.c.is_none() {
            let c = TextClient::connect(self.port, &self.user, &self.password, self.db)
                .unwrap_or_else(|e| panic!("login as {} on port {}: {e}", self.user, self.port));
            self.c = Some(c);
        }
        self.c.as_mut().unwrap()
    }
}

type Rows = Vec<Vec<Option<Vec<u8>>>>;
type Problems = Vec<(&'static str, String)>;

fn text(v: &Option<Vec<u8>>) -> String {
    match v {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => "NULL".into(),
    }
}

fn rows_of(o: &Outcome) -> Option<&Rows> {
    match o {
        Outcome::Rows { rows, .. } => Some(rows),
        _ => None,
    }
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    find(h, n).is_some()
}

fn describe(o: &[Outcome]) -> String {
    o.iter()
        .map(|o| match o {
            Outcome::Ok {
                affected, warnings, ..
            } => format!("OK({affected} rows, {warnings} warnings)"),
            Outcome::Rows { rows, .. } => format!("{} rows", rows.len()),
            Outcome::Err { code, message } => format!("ERR {code} {message}"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn show_vars(rows: &Rows) -> String {
    if rows.is_empty() {
        return "none".into();
    }
    rows.iter()
        .map(|r| format!("@{}={}", text(&r[0]), text(&r[1])))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A clean session for the case: the database, the character set, the sql_mode, and
/// LAST_INSERT_ID() set to `magic` (after COM_RESET_CONNECTION, which zeroes the session's
/// counters but keeps the database). Counts one COM_CHANGE_DB and 1-2 COM_SET_OPTION.
fn prelude(db: &str, case: &Case, extra: &str, magic: u64) -> String {
    let mut p = format!("USE {db}; SET NAMES {}; ", case.cs);
    if !case.mode.is_empty() {
        let _ = write!(
            p,
            "SET SESSION sql_mode = CONCAT(@@GLOBAL.sql_mode, ',{}'); ",
            case.mode
        );
    }
    p.push_str(extra);
    let _ = write!(p, "SELECT LAST_INSERT_ID({magic})");
    p
}

const USER_VARS_SQL: &str = "SELECT VARIABLE_NAME, VARIABLE_VALUE, VARIABLE_TYPE \
     FROM information_schema.USER_VARIABLES ORDER BY VARIABLE_NAME";

/// Named locks held, LAST_INSERT_ID(), user variables and the session's Com_* counters.
fn check_sql() -> String {
    format!(
        "SELECT RELEASE_ALL_LOCKS(), LAST_INSERT_ID(); {USER_VARS_SQL}; \
         SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.SESSION_STATUS \
         WHERE VARIABLE_NAME LIKE 'COM%' AND VARIABLE_VALUE <> '0'"
    )
}

/// A prelude (or check) the harness itself sent: it must succeed.
fn expect_rows(what: &str, res: Vec<Outcome>) -> Vec<Rows> {
    res.into_iter()
        .filter_map(|o| match o {
            Outcome::Rows { rows, .. } => Some(rows),
            Outcome::Ok { .. } => None,
            Outcome::Err { code, message } => panic!("{what}: error {code}: {message}"),
        })
        .collect()
}

/// Extensions of the files a table is made of: anything else in the oracle's database
/// directories was written by a statement (INTO OUTFILE / DUMPFILE, whatever its name became
/// after mutation). A stray file there would also make the replicated DROP DATABASE of the next
/// run fail and stop replication.
const TABLE_FILES: &[&str] = &[
    "frm", "ibd", "opt", "MYD", "MYI", "MAD", "MAI", "CSV", "CSM", "TRG", "TRN", "par", "ARZ",
    "isl",
];

/// Files statements wrote under a replica's `datadir`: any non-table file in the oracle's two
/// database directories, and the generator's output file names in the datadir itself.
fn stray_files(datadir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(datadir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| !t.is_dir())
                && e.file_name().to_string_lossy().contains(FILE_PREFIX)
            {
                out.push(e.path());
            }
        }
    }
    for db in [DB, FORK_DB] {
        if let Ok(rd) = std::fs::read_dir(datadir.join(db)) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let p = e.path();
                let table_file = p
                    .extension()
                    .is_some_and(|x| TABLE_FILES.iter().any(|t| x.eq_ignore_ascii_case(t)));
                if !table_file {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// The GTIDs of a binlog position that server `own` wrote itself.
fn own_gtids(pos: &str, own: &str) -> Vec<String> {
    pos.split(',')
        .map(str::trim)
        .filter(|g| g.split('-').nth(1) == Some(own))
        .map(str::to_string)
        .collect()
}

/// The three sessions a case runs in and what the checks need to know about the replicas.
struct Oracle {
    /// replica1, app account: the statement as the proxy would run it.
    app1: Conn,
    /// replica2, app account: where a replayed SET runs a second time.
    app2: Conn,
    /// replica2, SUPER account, GTID domain 99, database FORK_DB: would it fork a replica?
    sup2: Conn,
    datadir1: PathBuf,
    datadir2: PathBuf,
    /// replica2's server id: a GTID with it is a write replica2 made itself.
    own2: String,
}

/// What one case did.
struct Run {
    problems: Problems,
    outcomes: Vec<Outcome>,
}

impl Oracle {
    /// Runs a statement the proxy would send to a replica; `current`: a session SET (user
    /// variables are its business), `record`: one the proxy replays elsewhere.
    fn run(&mut self, case: &Case, current: bool, record: bool) -> Run {
        let mut problems = Problems::new();
        let outcomes = match self.exchange(case, current, &mut problems) {
            Ok(o) => o,
            Err(e) => {
                // The statement (or the server) ended the connection.
                self.app1.c = None;
                self.sup2.c = None;
                problems.push(("connection", format!("a connection failed: {e}")));
                Vec::new()
            }
        };
        for (dir, server) in [(&self.datadir1, "replica1"), (&self.datadir2, "replica2")] {
            // Each name belongs to one statement, so a file is never blamed on another.
            for f in stray_files(dir) {
                problems.push((
                    "file",
                    format!("{server}: left the file {} (removed)", f.display()),
                ));
                let _ = std::fs::remove_file(&f);
            }
        }
        let clean = outcomes.iter().all(|o| !matches!(o, Outcome::Err { .. }));
        if current && record && clean && !outcomes.is_empty() {
            self.replay(case, &mut problems);
        }
        Run { problems, outcomes }
    }

    fn exchange(
        &mut self,
        case: &Case,
        current: bool,
        problems: &mut Problems,
    ) -> std::io::Result<Vec<Outcome>> {
        // Everything at once on both replicas: each server answers its commands in order, and
        // the check runs after the statement whatever the statement did.
        let a = self.app1.client();
        let s = self.sup2.client();
        a.send_reset()?;
        a.send(prelude(DB, case, "", MAGIC1).as_bytes())?;
        a.send(&case.sql)?;
        a.send(check_sql().as_bytes())?;
        for t in TMPS {
            a.send(format!("SELECT 1 FROM {DB}.{t} LIMIT 0").as_bytes())?;
        }
        let pre2 = prelude(
            FORK_DB,
            case,
            &format!("SET SESSION gtid_domain_id = {FORK_DOMAIN}; "),
            MAGIC2,
        ) + "; SELECT @@gtid_binlog_pos";
        s.send_reset()?;
        s.send(pre2.as_bytes())?;
        s.send(&case.sql)?;
        s.send(b"SELECT @@gtid_binlog_pos, RELEASE_ALL_LOCKS()")?;

        a.recv_reset()?;
        expect_rows("prelude on replica1", a.recv()?);
        let out1 = a.recv()?;
        for o in &out1 {
            match o {
                Outcome::Err { code, message } if *code == 1290 || *code == 1836 => {
                    problems.push((
                        "read-only",
                        format!("replica1: error {code}, the statement writes: {message}"),
                    ));
                }
                Outcome::Rows { rows, .. } => {
                    let magic = MAGIC1.to_string();
                    if rows
                        .iter()
                        .flatten()
                        .flatten()
                        .any(|v| contains(v, magic.as_bytes()))
                    {
                        problems.push((
                            "last-insert-id",
                            "replica1: a result holds the connection's LAST_INSERT_ID()".into(),
                        ));
                    }
                }
                _ => {}
            }
        }
        if out1.last().is_some_and(|o| o.status() & IN_TRANS != 0) {
            problems.push(("transaction", "replica1: left a transaction open".into()));
        }

        let check = a.recv()?;
        match check.iter().map(rows_of).collect::<Option<Vec<_>>>() {
            Some(rows) if rows.len() == 3 => {
                // An OK in place of rows: not a plain read (INTO, SET, DO, ...), unless the
                // server found nothing to run there (`/*!50700 ... */` is a comment to MariaDB).
                let mut empty: i64 = rows[2]
                    .iter()
                    .find(|r| text(&r[0]).eq_ignore_ascii_case("COM_EMPTY_QUERY"))
                    .map_or(0, |r| text(&r[1]).parse().unwrap_or(0));
                for o in &out1 {
                    if let Outcome::Ok {
                        affected, warnings, ..
                    } = o
                    {
                        if *affected == 0 && *warnings == 0 && empty > 0 {
                            empty -= 1;
                        } else if !current {
                            problems.push((
                                "not-a-read",
                                format!(
                                    "replica1: a part answered OK ({affected} rows affected), \
                                     not rows: not a plain read"
                                ),
                            ));
                        }
                    }
                }
                let (locks, lid) = (text(&rows[0][0][0]), text(&rows[0][0][1]));
                if locks != "0" {
                    problems.push(("lock", format!("replica1: left {locks} named lock(s) held")));
                }
                if lid != MAGIC1.to_string() {
                    problems.push((
                        "last-insert-id",
                        format!("replica1: changed the connection's LAST_INSERT_ID() to {lid}"),
                    ));
                }
                if !current && !rows[1].is_empty() {
                    problems.push((
                        "user-variable",
                        format!("replica1: left user variables {}", show_vars(rows[1])),
                    ));
                }
                // The prelude's own USE and SET NAMES (and sql_mode) are not the statement's.
                let prelude_sets = 1 + !case.mode.is_empty() as i64;
                for r in rows[2] {
                    let k = text(&r[0]).to_ascii_uppercase();
                    if !k.starts_with("COM_") {
                        continue;
                    }
                    let mut v: i64 = text(&r[1]).parse().unwrap_or(0);
                    match k.as_str() {
                        "COM_CHANGE_DB" => v -= 1,
                        "COM_SET_OPTION" => v -= prelude_sets,
                        _ => {}
                    }
                    let allowed = k == "COM_SELECT"
                        || k.starts_with("COM_SHOW_")
                        || k == "COM_HELP"
                        || k == "COM_EMPTY_QUERY"
                        || (current && (k == "COM_SET_OPTION" || k == "COM_CHANGE_DB"));
                    if v > 0 && !allowed {
                        problems.push((
                            "executed",
                            format!(
                                "replica1: the server executed {} (x{v})",
                                k.to_ascii_lowercase()
                            ),
                        ));
                    }
                }
            }
            _ => problems.push((
                "check",
                format!(
                    "replica1: the session was left unable to run the check query: {}",
                    describe(&check)
                ),
            )),
        }
        for t in TMPS {
            if a.recv()?.iter().all(|o| !matches!(o, Outcome::Err { .. })) {
                problems.push((
                    "temporary-table",
                    format!("replica1: left the temporary table {t}"),
                ));
            }
        }

        s.recv_reset()?;
        let pos = expect_rows("prelude on replica2", s.recv()?);
        let before = own_gtids(&text(&pos[pos.len() - 1][0][0]), &self.own2);
        let out2 = s.recv()?;
        let after = expect_rows("gtid_binlog_pos on replica2", s.recv()?);
        let after = own_gtids(&text(&after[0][0][0]), &self.own2);
        if after != before {
            problems.push((
                "binlog",
                format!(
                    "replica2 as {}: its binlog gained a GTID of its own ({} -> {}): the \
                     statement wrote there and forked the replica (GTID domain {FORK_DOMAIN}, \
                     database {FORK_DB}: replication goes on; nothing was repaired); there it \
                     answered: {}",
                    self.sup2.user,
                    if before.is_empty() {
                        "-".into()
                    } else {
                        before.join(",")
                    },
                    after.join(","),
                    describe(&out2)
                ),
            ));
        }
        Ok(out1)
    }

    /// A statement the proxy runs on the master still tells later routing what it left on
    /// the session: user variables (reads of them must then go to the master) and temporary
    /// tables (statements naming them too). Run on replica1 as the app account (a write is
    /// refused there before anything happens), it must not leave more than the
    /// classification says.
    fn master_flags(&mut self, case: &Case, c: &Classification) -> Problems {
        let mut problems = Problems::new();
        let a = self.app1.client();
        let res = (|| {
            a.send_reset()?;
            a.send(prelude(DB, case, "", MAGIC1).as_bytes())?;
            a.send(&case.sql)?;
            a.send(USER_VARS_SQL.as_bytes())?;
            for t in TMPS {
                a.send(format!("SELECT 1 FROM {DB}.{t} LIMIT 0").as_bytes())?;
            }
            a.recv_reset()?;
            expect_rows("prelude on replica1", a.recv()?);
            a.recv()?;
            let vars = a.recv()?;
            let mut temps = Vec::new();
            for t in TMPS {
                if a.recv()?.iter().all(|o| !matches!(o, Outcome::Err { .. })) {
                    temps.push(*t);
                }
            }
            Ok::<_, std::io::Error>((vars, temps))
        })();
        // Output files of a statement the master runs are its business here.
        for f in stray_files(&self.datadir1) {
            let _ = std::fs::remove_file(&f);
        }
        match res {
            Ok((vars, temps)) => {
                let vars = vars.first().and_then(rows_of).cloned().unwrap_or_default();
                if !vars.is_empty() && !c.user_var_write {
                    problems.push((
                        "hidden-assignment",
                        format!(
                            "replica1: it assigned {} but the classification reports no user \
                             variable assignment (user_var_write false): later reads of them \
                             would go to a replica",
                            show_vars(&vars)
                        ),
                    ));
                }
                for t in temps {
                    let reported = c.temp_ops.iter().any(
                        |op| matches!(op, TempTableOp::Create(n) if n.eq_ignore_ascii_case(t)),
                    );
                    if !reported {
                        problems.push((
                            "hidden-temporary-table",
                            format!(
                                "replica1: it created the temporary table {t}, which the \
                             classification does not report: statements naming it would \
                             go to a replica"
                            ),
                        ));
                    }
                }
            }
            Err(e) => {
                self.app1.c = None;
                problems.push(("connection", format!("replica1: a connection failed: {e}")));
            }
        }
        problems
    }

    /// A SET the proxy records is replayed on another backend: run there (replica2, app
    /// account, another LAST_INSERT_ID()), it must leave the same user variables.
    fn replay(&mut self, case: &Case, problems: &mut Problems) {
        let vars1 = match self
            .app1
            .client()
            .query(USER_VARS_SQL.as_bytes())
            .ok()
            .and_then(|r| r.first().and_then(rows_of).cloned())
        {
            Some(v) => v,
            None => return,
        };
        // app1 still holds the statement's state: the check query read it, nothing reset it.
        let b = self.app2.client();
        let res = (|| {
            b.send_reset()?;
            b.send(prelude(DB, case, "", MAGIC3).as_bytes())?;
            b.recv_reset()?;
            expect_rows("prelude on replica2", b.recv()?);
            let out = b.query(&case.sql)?;
            let vars = b.query(USER_VARS_SQL.as_bytes())?;
            b.query(b"DO RELEASE_ALL_LOCKS()")?;
            Ok::<_, std::io::Error>((out, vars))
        })();
        match res {
            Ok((out, vars)) => {
                let vars2 = vars.first().and_then(rows_of).cloned().unwrap_or_default();
                if out.iter().all(|o| !matches!(o, Outcome::Err { .. })) && vars2 != vars1 {
                    problems.push((
                        "not-replayable",
                        format!(
                            "a SET the proxy records and replays left {} on replica1 and {} \
                             when replayed on replica2",
                            show_vars(&vars1),
                            show_vars(&vars2)
                        ),
                    ));
                }
            }
            Err(e) => {
                self.app2.c = None;
                problems.push(("connection", format!("replica2 (replay): {e}")));
            }
        }
    }
}

fn case_hash(case: &Case) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&case.cs, case.mode, &case.sql).hash(&mut h);
    h.finish()
}

/// `0x81-0x9f, 0xe0-0xfc`: sorted bytes as ranges.
fn byte_ranges(mut bytes: Vec<u8>) -> String {
    bytes.sort_unstable();
    bytes.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let mut j = i;
        while j + 1 < bytes.len() && bytes[j + 1] == bytes[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            format!("{:#04x}", bytes[i])
        } else {
            format!("{:#04x}-{:#04x}", bytes[i], bytes[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// The failure message: counts by reason, then one group per seed line (its template, the
/// character sets and, for sweeps, the exact bytes that failed, and one example in full).
fn report(
    failures: &[(Case, Classification, Problems)],
    templates: &BTreeMap<String, String>,
    ran: usize,
    checked_master: usize,
    seed: u64,
    n: usize,
) -> String {
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, (case, _, problems)) in failures.iter().enumerate() {
        let mut reasons: Vec<&str> = problems.iter().map(|p| p.0).collect();
        reasons.sort_unstable();
        reasons.dedup();
        for r in reasons {
            *by_reason.entry(r).or_default() += 1;
        }
        let key = case.origin.split(' ').next().unwrap_or("").to_string();
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut msg = format!(
        "{} statements did on a replica what their classification does not allow ({ran} run \
         there as the proxy would, {checked_master} routed to the master checked for hidden \
         state; RWSPLIT_ORACLE_SEED={seed:#x} RWSPLIT_ORACLE_N={n} reproduces the run)\n\
         by reason: {}\n",
        failures.len(),
        by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (key, idx) in &groups {
        let _ = writeln!(
            msg,
            "\n{key} ({} statements): {}",
            idx.len(),
            templates.get(key).map(String::as_str).unwrap_or("?")
        );
        // Per character set: the swept bytes that failed, or how many statements.
        let mut per_cs: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in idx {
            let case = &failures[i].0;
            *counts.entry(case.cs.as_str()).or_default() += 1;
            if let Some(b) = case
                .origin
                .rsplit(' ')
                .next()
                .and_then(|b| b.strip_prefix("0x"))
                .and_then(|b| u8::from_str_radix(b, 16).ok())
            {
                per_cs.entry(case.cs.as_str()).or_default().push(b);
            }
        }
        if per_cs.is_empty() {
            let list: Vec<String> = counts.iter().map(|(cs, n)| format!("{cs} {n}")).collect();
            let _ = writeln!(msg, "  charsets: {}", list.join(", "));
        }
        for (cs, bytes) in per_cs {
            let _ = writeln!(msg, "  {cs}: bytes {}", byte_ranges(bytes));
        }
        let (case, c, problems) = &failures[idx[0]];
        let _ = writeln!(
            msg,
            "  e.g. #{} [{}] charset {}{} route {:?}{}: {}",
            case.id,
            case.origin,
            case.cs,
            if case.mode.is_empty() {
                String::new()
            } else {
                format!(" sql_mode +{}", case.mode)
            },
            c.route,
            c.hint.map(|h| format!(" hint {h:?}")).unwrap_or_default(),
            escape(&case.sql)
        );
        for (_, p) in problems {
            let _ = writeln!(msg, "    - {p}");
        }
    }
    msg
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn env_num(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v}: not a number")))
}

fn single(c: &mut TextClient, sql: &str) -> String {
    let rows = c.rows(sql).unwrap_or_else(|e| panic!("{e}"));
    text(&rows[0][0])
}

#[test]
fn replica_bound_statements_leave_a_replica_as_they_found_it() {
    if std::env::var_os("RWSPLIT_CLUSTER_ENV").is_none() {
        assert!(
            !in_ci(),
            "RWSPLIT_CLUSTER_ENV is not set: scripts/test.sh starts the cluster and sets it"
        );
        eprintln!(
            "SKIPPED: RWSPLIT_CLUSTER_ENV is not set (start a cluster with scripts/cluster.sh \
             up, or run scripts/test.sh)"
        );
        return;
    }
    let cluster = Cluster::shared();
    let started = Instant::now();
    let seed = env_num("RWSPLIT_ORACLE_SEED").unwrap_or(DEFAULT_SEED);
    let n = env_num("RWSPLIT_ORACLE_N")
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_N);
    let verbose = std::env::var_os("RWSPLIT_ORACLE_VERBOSE").is_some();
    let (user, password) = (cluster.user().to_string(), cluster.password().to_string());
    let super_var = |k: &str| {
        cluster.vars.get(k).cloned().unwrap_or_else(|| {
            panic!(
                "{k} missing from {}: a cluster started by an older scripts/cluster.sh has no \
                 SUPER account; start it again (scripts/cluster.sh down, up)",
                cluster.env_file.display()
            )
        })
    };
    let (super_user, super_password) = (super_var("SUPER_USER"), super_var("SUPER_PASSWORD"));
    let [r1, r2] = cluster.replica_ports()[..] else {
        unreachable!()
    };

    // Where the replicas keep their files; files an earlier run left there go first (a stray
    // file in a database directory makes the replicated DROP DATABASE fail).
    let datadir = |port: u16| {
        let mut c = TextClient::connect(port, &user, &password, "rwtest")
            .unwrap_or_else(|e| panic!("login on port {port}: {e}"));
        (
            PathBuf::from(single(&mut c, "SELECT @@datadir")),
            single(&mut c, "SELECT @@server_id"),
        )
    };
    let (datadir1, _) = datadir(r1);
    let (datadir2, own2) = datadir(r2);
    for d in [&datadir1, &datadir2] {
        for f in stray_files(d) {
            std::fs::remove_file(&f).unwrap_or_else(|e| {
                panic!("remove the file {} an earlier run left: {e}", f.display())
            });
            eprintln!("removed the file {} an earlier run left", f.display());
        }
    }

    // The databases, on the master: the app's and the SUPER account's copy.
    let mut m = TextClient::connect(cluster.master_port(), &user, &password, "rwtest")
        .expect("login on the master");
    for db in [DB, FORK_DB] {
        m.rows(&format!(
            "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db}; \
             CREATE TABLE {db}.t (a INT AUTO_INCREMENT PRIMARY KEY, b INT); \
             INSERT INTO {db}.t (b) VALUES (1), (2), (3); CREATE SEQUENCE {db}.s1"
        ))
        .expect("create the oracle's databases");
    }
    drop(m);
    cluster.wait_replicas();
    let mut app1 = Conn::new(r1, &user, &password, DB);
    let app2 = Conn::new(r2, &user, &password, DB);

    // The character sets the server has, and which of them are multi-byte.
    let mut charsets = Vec::new();
    let mut multibyte = HashSet::new();
    for r in app1
        .client()
        .rows("SELECT CHARACTER_SET_NAME, MAXLEN FROM information_schema.CHARACTER_SETS")
        .unwrap()
    {
        let name = text(&r[0]);
        if CHARSETS.contains(&name.as_str()) {
            if text(&r[1]) != "1" && name != "utf8mb4" {
                multibyte.insert(name.clone());
            }
            charsets.push(name);
        }
    }
    charsets.sort_by_key(|c| CHARSETS.iter().position(|x| x == c));
    let missing: Vec<&str> = CHARSETS
        .iter()
        .copied()
        .filter(|c| !charsets.iter().any(|x| x == c))
        .collect();

    let seeds = load("corpus.sql", CORPUS);
    let templates: BTreeMap<String, String> = seeds
        .iter()
        .chain(load("sweeps.sql", SWEEPS).iter())
        .map(|s| (format!("{}:{}", s.file, s.line), escape(&s.text)))
        .collect();
    let mut id = 0;
    let sweeps = sweep_cases(&charsets, &multibyte, &mut id);
    let sweep_count = sweeps.len();
    // The random statements are made as they are run: a run by hand may ask for millions.
    let mut generator = Gen { rng: Rng(seed) };
    let random = (0..n).map(|i| generator.random_case(id + i, &seeds, &charsets));
    let cases = sweeps.into_iter().chain(random);

    let mut oracle = Oracle {
        app1,
        app2,
        sup2: Conn::new(r2, &super_user, &super_password, FORK_DB),
        datadir1,
        datadir2,
        own2,
    };
    let mut routes: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut bound, mut ran, mut ran_current, mut duplicates) = (0usize, 0usize, 0usize, 0usize);
    let mut checked_master = 0usize;
    // What already ran, by a hash of (charset, sql_mode, bytes).
    let mut seen: HashSet<u64> = HashSet::new();
    let mut failures: Vec<(Case, Classification, Problems)> = Vec::new();
    let mut classified = 0usize;
    for case in cases {
        let case = &case;
        classified += 1;
        if classified.is_multiple_of(100_000) {
            eprintln!(
                "oracle: {classified} statements, {} failed so far ({:.0}s)",
                failures.len(),
                started.elapsed().as_secs_f64()
            );
        }
        let c = classify_in(&case.sql, &case.cs);
        *routes
            .entry(match c.route {
                Route::Replica => "Replica",
                Route::Master => "Master",
                Route::Current => "Current",
                Route::Last => "Last",
            })
            .or_default() += 1;
        if !replica_bound(&c) {
            if !seen.insert(case_hash(case)) {
                duplicates += 1;
                continue;
            }
            checked_master += 1;
            let problems = oracle.master_flags(case, &c);
            if verbose {
                eprintln!(
                    "#{} {}{} [{}] {:?} (master): {}{}",
                    case.id,
                    case.cs,
                    if case.mode.is_empty() {
                        String::new()
                    } else {
                        format!(" +{}", case.mode)
                    },
                    case.origin,
                    c.route,
                    escape(&case.sql),
                    if problems.is_empty() { "" } else { "  FAIL" }
                );
                for (_, p) in &problems {
                    eprintln!("    - {p}");
                }
            }
            if !problems.is_empty() {
                failures.push((case.clone(), c, problems));
            }
            continue;
        }
        bound += 1;
        if !seen.insert(case_hash(case)) {
            duplicates += 1;
            continue;
        }
        let current = c.route == Route::Current;
        ran += 1;
        ran_current += current as usize;
        let fx = oracle.run(case, current, c.record);
        if verbose {
            eprintln!(
                "#{} {}{} [{}] {:?}: {} -> {}{}",
                case.id,
                case.cs,
                if case.mode.is_empty() {
                    String::new()
                } else {
                    format!(" +{}", case.mode)
                },
                case.origin,
                c.route,
                escape(&case.sql),
                describe(&fx.outcomes),
                if fx.problems.is_empty() { "" } else { "  FAIL" }
            );
            for (_, p) in &fx.problems {
                eprintln!("    - {p}");
            }
        }
        if !fx.problems.is_empty() {
            failures.push((case.clone(), c, fx.problems));
        }
    }

    let elapsed = started.elapsed();
    let lacking = if missing.is_empty() {
        String::new()
    } else {
        format!(" (the server lacks {})", missing.join(", "))
    };
    let routes = routes
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!(
        "oracle: seed {seed:#x}, {sweep_count} sweep + {n} random statements under {}{lacking}, \
         in {:.1}s",
        charsets.join(", "),
        elapsed.as_secs_f64()
    );
    eprintln!(
        "oracle: classified {} (route: {routes}); {bound} sent to a replica by the routing \
         decision, {ran} run there ({ran_current} replayable SETs); the {checked_master} others \
         checked for assignments and temporary tables the classification does not report; \
         {duplicates} repeats skipped",
        classified,
    );

    if !failures.is_empty() {
        panic!(
            "{}",
            report(&failures, &templates, ran, checked_master, seed, n)
        );
    }

    // Replication must still run on both replicas (a fork in domain 99 cannot stop it; anything
    // that did fails here, nothing is repaired).
    cluster.wait_replicas();
    let floor = (n / 10).max(200);
    assert!(
        ran >= floor,
        "only {ran} statements ran on a replica (at least {floor} expected): the oracle \
         checked too little"
    );
}
