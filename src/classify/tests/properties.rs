//! Property tests over generated input (the real `classify`): arbitrary bytes never panic,
//! decorations (comments, case, spacing) keep route and kind, writes never come out as
//! reads; and the timing run (ignored by default).

use super::*;

/// Every prefix and suffix of every corpus statement, and pseudo-random token
/// soup: nothing panics.
#[test]
fn never_panics() {
    let names = vec!["t".to_string(), "tmp1".to_string()];
    let mut all: Vec<Vec<u8>> = Vec::new();
    for &(sql, _, _) in CORPUS {
        let b = sql.as_bytes();
        for i in 0..=b.len() {
            all.push(b[..i].to_vec());
            all.push(b[i..].to_vec());
        }
    }
    let pieces: &[&[u8]] = &[
        b"SELECT",
        b"SET",
        b"WITH",
        b"USE",
        b"@",
        b"@@",
        b":=",
        b"(",
        b")",
        b";",
        b"'",
        b"\"",
        b"`",
        b"\\",
        b"/*",
        b"*/",
        b"/*!",
        b"/*M!",
        b"50700",
        b"--",
        b"-- ",
        b"#",
        b"\n",
        b" ",
        b"FOR",
        b"UPDATE",
        b"INTO",
        b"GLOBAL",
        b".",
        b",",
        b"=",
        b"BEGIN",
        b"END",
        b"CASE",
        b"CREATE",
        b"TEMPORARY",
        b"TABLE",
        b"DROP",
        b"IF",
        b"\xff",
        b"\x00",
        b"x",
        b"SHOW",
        b"COUNT",
        b"*",
        b"EXPLAIN",
        b"rwsplit:master",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let n = rng.below(24);
        let mut v = Vec::new();
        for _ in 0..n {
            v.extend_from_slice(pieces[rng.below(pieces.len())]);
            if rng.below(2) == 0 {
                v.push(b' ');
            }
        }
        all.push(v);
    }
    for s in &all {
        let c = classify(s);
        let _ = use_database(s);
        let _ = mentions_any(s, &names);
        let ops = temp_table_ops(s);
        assert_eq!(c.temp_ops, ops);
    }
}

// -----------------------------------------------------------------------
// Temporary tables and mentions_any
// -----------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const LEADING: &[&str] = &[
    "",
    " ",
    "\n\t ",
    "/* app:checkout */ ",
    "/*rwsplit:replica*/",
    "/* rwsplit:replica */\n",
    "-- rwsplit:replica\n",
    "# rwsplit:replica\n",
    "/* a */ /* b */\n",
    "/**/",
    "-- \n",
];

const SPACES: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    "\r\n",
    " /* x */ ",
    "/**/",
    " -- c\n",
    " #c\n",
];

const TRAILING: &[&str] = &["", ";", " ; ", ";\n-- end", "; /* end */", "\n", " # end"];

/// Random case flips, whitespace/comment substitutions, leading comments and
/// hints, trailing `;` and comments, and sometimes an executable-comment wrapper.
/// Only applied to statements without comments of their own (so that a
/// substituted space never lands inside a comment).
fn decorate(sql: &str, rng: &mut Rng) -> String {
    let mut out = String::from(LEADING[rng.below(LEADING.len())]);
    // sqlparser (consulted for WITH) reads an executable comment as a comment.
    let wrap = rng.below(4) == 0 && !sql.contains("*/") && !sql.starts_with("WITH");
    if wrap {
        out.push_str("/*!40101 ");
    }
    let mut in_quote: Option<char> = None;
    for ch in sql.chars() {
        match in_quote {
            Some(q) => {
                out.push(ch);
                if ch == q {
                    in_quote = None;
                }
            }
            None if ch == ' ' => out.push_str(SPACES[rng.below(SPACES.len())]),
            None => {
                if ch == '\'' || ch == '"' || ch == '`' {
                    in_quote = Some(ch);
                }
                let c = match rng.below(3) {
                    0 => ch.to_ascii_uppercase(),
                    1 => ch.to_ascii_lowercase(),
                    _ => ch,
                };
                out.push(c);
            }
        }
    }
    if wrap {
        out.push_str(" */");
    }
    out.push_str(TRAILING[rng.below(TRAILING.len())]);
    out
}

fn decoratable(sql: &str) -> bool {
    !(sql.contains("/*") || sql.contains("--") || sql.contains('#') || sql.contains('\\'))
}

#[test]
fn property_writes_never_come_out_as_replica() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let writes: Vec<&str> = CORPUS
        .iter()
        .filter(|(_, r, _)| *r == M)
        .map(|(s, _, _)| *s)
        .chain([
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 'x' WHERE b = \"y\"",
            "DELETE FROM `select` WHERE `for` = 'update'",
            "REPLACE INTO t SELECT * FROM u",
            "SELECT * FROM t WHERE id = 1 FOR UPDATE",
            "SELECT * FROM t LOCK IN SHARE MODE",
            "SELECT @a := 1",
            "SELECT a INTO @x FROM t",
            "WITH c AS (SELECT 1) DELETE FROM t",
            "SET GLOBAL x = 1",
            "CREATE TEMPORARY TABLE tmp (a INT)",
            "CALL p(1, 'two')",
            "SELECT 1; DELETE FROM t",
        ])
        .collect();
    let mut checked = 0;
    for sql in writes {
        for _ in 0..200 {
            let d = if decoratable(sql) {
                decorate(sql, &mut rng)
            } else {
                format!("{}{}", LEADING[rng.below(LEADING.len())], sql)
            };
            let c = classify(d.as_bytes());
            assert_eq!(c.route, M, "{d:?} -> {c:?}");
            checked += 1;
        }
    }
    assert!(checked > 5_000);
}

#[test]
fn property_decorations_keep_route_and_kind() {
    let mut rng = Rng(42);
    for &(sql, route, kind) in CORPUS.iter().filter(|(s, _, _)| decoratable(s)) {
        for _ in 0..100 {
            let d = decorate(sql, &mut rng);
            let c = classify(d.as_bytes());
            assert_eq!((c.route, c.kind), (route, kind), "{d:?} -> {c:?}");
        }
    }
}

#[test]
fn property_reads_followed_by_a_write_go_to_master() {
    let mut rng = Rng(7);
    let tails = [
        "; DELETE FROM t",
        ";UPDATE t SET a=1",
        "; /* x */ INSERT INTO t VALUES (1)",
        ";\nSET GLOBAL x = 1",
        "; SELECT 1 FOR UPDATE",
    ];
    for &(sql, route, _) in CORPUS {
        if route != R {
            continue;
        }
        for tail in tails {
            let d = format!("{}{}", sql, tail);
            let c = classify(d.as_bytes());
            assert_eq!((c.route, c.multi), (M, true), "{d:?} -> {c:?}");
            let d = format!("{}; {}", tail.trim_start_matches(';'), sql);
            let c = classify(d.as_bytes());
            assert_eq!(c.route, M, "{d:?} -> {c:?}");
        }
        let _ = rng.next();
    }
}

// -----------------------------------------------------------------------
// Timing (run with: cargo test --release -- --ignored --nocapture)
// -----------------------------------------------------------------------

#[test]
#[ignore]
fn timing() {
    use std::hint::black_box;
    use std::time::Instant;
    fn bench(label: &str, stmts: &[&[u8]], iters: usize) {
        // warm up
        for s in stmts {
            black_box(classify(black_box(s)));
        }
        let t = Instant::now();
        for _ in 0..iters {
            for s in stmts {
                black_box(classify(black_box(s)));
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / (iters * stmts.len()) as f64;
        println!("{label:<44} {ns:>9.1} ns/statement");
    }
    let point: &[&[u8]] = &[b"SELECT c FROM sbtest1 WHERE id=5023"];
    let wp: &[&[u8]] =
        &[b"SELECT option_name, option_value FROM wp_options WHERE autoload = 'yes'"];
    let upd: &[&[u8]] = &[b"UPDATE sbtest1 SET k=k+1 WHERE id=5023"];
    let set: &[&[u8]] = &[b"SET NAMES utf8mb4"];
    let jdbc: &[&[u8]] = &[CORPUS
        .iter()
        .find(|c| c.0.contains("mysql-connector-java"))
        .unwrap()
        .0
        .as_bytes()];
    let wpcalc: &[&[u8]] = &[CORPUS
        .iter()
        .find(|c| c.0.contains("SQL_CALC_FOUND_ROWS"))
        .unwrap()
        .0
        .as_bytes()];
    let with: &[&[u8]] =
        &[b"WITH cte AS (SELECT id FROM t WHERE a = 1) SELECT * FROM cte JOIN u ON u.id = cte.id"];
    let escaped: &[&[u8]] = &[b"SELECT * FROM wp_posts WHERE post_title = 'Don\\'t stop' LIMIT 1"];
    let corpus_no_with: Vec<&[u8]> = CORPUS
        .iter()
        .filter(|c| !c.0.starts_with("WITH"))
        .map(|c| c.0.as_bytes())
        .collect();
    let corpus_all: Vec<&[u8]> = CORPUS.iter().map(|c| c.0.as_bytes()).collect();
    let mut bulk = b"INSERT INTO sbtest1 (id, k, c, pad) VALUES ".to_vec();
    while bulk.len() < 1 << 20 {
        bulk.extend_from_slice(b"(5010, 4994, '67847967377-48000963322-62604785301-91415491898', '22195207048-70116052123-74140395089'),");
    }
    bulk.pop();
    let mb = bulk.len() as f64 / (1 << 20) as f64;
    let t = Instant::now();
    for _ in 0..20 {
        black_box(classify(black_box(&bulk)));
    }
    println!(
        "{:<44} {:>9.1} ns/byte ({mb:.1} MiB bulk INSERT)",
        "bulk INSERT",
        t.elapsed().as_nanos() as f64 / 20.0 / bulk.len() as f64
    );
    bench("sysbench point select", point, 2_000_000);
    bench("WordPress autoload options", wp, 2_000_000);
    bench("sysbench UPDATE", upd, 2_000_000);
    bench("SET NAMES utf8mb4", set, 2_000_000);
    bench("JDBC connect SELECT @@... (330 bytes)", jdbc, 500_000);
    bench("WordPress SQL_CALC_FOUND_ROWS (230 bytes)", wpcalc, 500_000);
    bench("backslash-escaped string (2 readings)", escaped, 1_000_000);
    bench("WITH (sqlparser)", with, 20_000);
    bench("corpus without WITH (avg)", &corpus_no_with, 20_000);
    bench("whole corpus (avg)", &corpus_all, 20_000);
}
