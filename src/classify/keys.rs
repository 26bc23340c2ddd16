//! Digest keys, taken in the same pass: the key of the whole text (what `SHOW DIGESTS` groups
//! by) and the key of each statement of it as `digest` rules compare them, with the trailing
//! `;`, identifier quoting, a `SET STATEMENT ... FOR` prefix and `ANALYZE` normalized away; and,
//! for `pattern` rules, each statement's text with comments stripped ([`statement_texts`]).
//!
//! Every token is hashed once (FNV-1a over its normalized bytes: literals as `?`, words and
//! identifiers lower-cased and unquoted) and folded into the keys, so the keys cost one
//! multiply per byte of words, as the single key did before.

use super::*;

const PRIME: u64 = DIGEST_PRIME;

const fn fnv(bytes: &[u8]) -> u64 {
    let mut h = DIGEST_BASIS;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i].to_ascii_lowercase() as u64).wrapping_mul(PRIME);
        i += 1;
    }
    h
}

/// Words after which a `-` or `+` is a sign, not a subtraction (`SET a = -1`, `LIMIT -1`,
/// `WHEN 1 THEN -2`), as their hashes: a sign before a literal is part of the literal.
const SIGN_AFTER: [u64; 26] = {
    let words: [&[u8]; 26] = [
        b"and",
        b"or",
        b"not",
        b"xor",
        b"select",
        b"where",
        b"values",
        b"value",
        b"set",
        b"by",
        b"in",
        b"limit",
        b"offset",
        b"then",
        b"else",
        b"when",
        b"return",
        b"default",
        b"between",
        b"interval",
        b"is",
        b"like",
        b"div",
        b"mod",
        b"case",
        b"having",
    ];
    let mut out = [0u64; 26];
    let mut i = 0;
    while i < words.len() {
        out[i] = fnv(words[i]);
        i += 1;
    }
    out
};

/// The kind of the last token of a statement key, for telling a sign from a subtraction.
#[derive(Clone, Copy, Debug)]
enum Last {
    /// The start, an operator, `(`, `,`, `=`...: a `-` here is a sign.
    Op,
    /// A literal, a name, `)`.
    Value,
    /// A word: a sign follows it if it is one of [`SIGN_AFTER`].
    Word(u64),
}

/// A word, lower-cased.
fn fnv_word(w: &[u8]) -> u64 {
    let mut h = DIGEST_BASIS;
    for &b in w {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(PRIME);
    }
    h
}

/// A quoted identifier, lower-cased; `q` doubled inside it is one `q`.
fn fnv_ident(raw: &[u8], q: u8) -> u64 {
    if !raw.contains(&q) {
        return fnv_word(raw);
    }
    let mut h = DIGEST_BASIS;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(PRIME);
        i += if q != 0 && b == q && raw.get(i + 1) == Some(&q) {
            2
        } else {
            1
        };
    }
    h
}

/// Folds one token's hash into a key (order matters).
fn fold(acc: u64, th: u64) -> u64 {
    let x = (acc ^ th).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}

/// A literal, as `SHOW DIGESTS` prints it (and the `?` of a prepared statement).
const Q_HASH: u64 = fnv(b"?");

fn q_hash() -> u64 {
    Q_HASH
}

/// What the statement key does with the words before the statement proper.
#[derive(Clone, Copy, Debug)]
enum Prefix {
    /// The next token is the statement's first (or the first after a prefix).
    Start,
    /// SET first: `SET STATEMENT ... FOR` if STATEMENT follows. Holds SET's hash.
    Set(u64),
    /// Inside the variables of SET STATEMENT, at this parenthesis depth.
    SetStatement(u32),
    /// ANALYZE first (or EXPLAIN ANALYZE): the statement follows, unless TABLE (ANALYZE
    /// TABLE is a statement of its own). Holds the hashes to fold if it is one.
    Analyze(u64, u64),
    /// EXPLAIN / DESCRIBE first: EXPLAIN ANALYZE runs the statement (MySQL).
    Explain(u64),
    /// `FORMAT = name` after ANALYZE: 0 before `=`, 1 before the name.
    Format(u8),
    Normal,
}

/// The digest keys of a text, fed token by token: each token is hashed once and folded into
/// the whole text's key, and (when rules need them) into its statement's key.
pub(super) struct Digester {
    /// The whole text's key ([`Classification::digest`]).
    pub(super) whole: u64,
    /// The current statement's key, and its ANSI_QUOTES reading once a double-quoted token
    /// made them differ.
    key: u64,
    ansi: Option<u64>,
    /// Something went into `key` since the statement started.
    any: bool,
    prefix: Prefix,
    /// The last token was a number (1) or a number and a `.` (2): `1.5` split by the lexer is
    /// one `?`, as `digest::normalize` prints it.
    number: u8,
    /// The keys before the last token when it was `x`, `X`, `b` or `B`: a quote right after
    /// it makes it a hex or bit literal (`x'ff'`), one `?`.
    before_prefix: Option<(u64, u64, Option<u64>)>,
    /// A `-` or `+` where a sign may stand, held back: before a literal it is part of it
    /// (`= -2.5` keys as `= ?`), before anything else it is folded then.
    sign: Option<u64>,
    last: Last,
}

impl Digester {
    pub(super) fn new() -> Self {
        Digester {
            whole: DIGEST_BASIS,
            key: DIGEST_BASIS,
            ansi: None,
            any: false,
            prefix: Prefix::Start,
            number: 0,
            before_prefix: None,
            sign: None,
            last: Last::Op,
        }
    }

    /// Feeds one token of `s` (the whole text: a literal's position tells a prefix letter);
    /// `statements`: also the statement keys.
    #[inline]
    pub(super) fn feed(&mut self, t: Tok<'_>, s: &[u8], statements: bool) {
        // Numbers are one token (`1.5`, `.5`, `1e-3`); `t.5` still reads `5` after a `.`.
        let number = matches!(t, Tok::Word(w) if w[0].is_ascii_digit() || w[0] == b'.');
        match (self.number, t) {
            (1, Tok::Punct(b'.')) => {
                self.number = 2;
                return;
            }
            (2, _) if number => {
                self.number = 0;
                return;
            }
            (_, _) => self.number = u8::from(number),
        }
        if matches!(t, Tok::Eof) {
            return;
        }
        if let Some((w, k, a)) = self.before_prefix.take() {
            if let Tok::Str(raw, b'\'') = t {
                // `x'ff'` when the quote touches the letter (`x 'ff'` is a name and a string).
                let at = (raw.as_ptr() as usize).wrapping_sub(s.as_ptr() as usize);
                if at >= 2 && s.get(at - 2).is_some_and(|b| b"xXbB".contains(b)) {
                    (self.whole, self.key, self.ansi) = (w, k, a);
                }
            }
        }
        if matches!(t, Tok::Word([b'x' | b'X' | b'b' | b'B'])) {
            self.before_prefix = Some((self.whole, self.key, self.ansi));
        }
        let (th, th_ansi) = match t {
            // NULL is a value like any literal (a driver binds a NULL parameter so).
            Tok::Word(w) if number || w.eq_ignore_ascii_case(b"NULL") => (q_hash(), q_hash()),
            Tok::Word(w) => {
                let h = fnv_word(w);
                (h, h)
            }
            Tok::QIdent(raw) => {
                let h = fnv_ident(raw, b'`');
                (h, h)
            }
            Tok::Str(raw, b'"') if statements => (q_hash(), fnv_ident(raw, b'"')),
            Tok::Str(..) => (q_hash(), q_hash()),
            Tok::At => (fnv(b"@"), fnv(b"@")),
            Tok::AtAt => (fnv(b"@@"), fnv(b"@@")),
            Tok::ColonEq => (fnv(b":="), fnv(b":=")),
            Tok::Punct(p) => {
                let h = fnv(&[p]);
                (h, h)
            }
            Tok::Eof => return,
        };
        self.whole = fold(self.whole, th);
        if !statements || matches!(t, Tok::Punct(b';')) {
            return;
        }
        if th != th_ansi && self.ansi.is_none() {
            self.ansi = Some(self.key);
        }
        self.statement_token(t, th, th_ansi);
    }

    fn put(&mut self, th: u64, th_ansi: u64) {
        self.key = fold(self.key, th);
        if let Some(a) = self.ansi.as_mut() {
            *a = fold(*a, th_ansi);
        }
        self.any = true;
    }

    /// A token of the statement proper: a sign before a literal is left out (`-1` is one
    /// value, as a bound parameter is).
    fn put_token(&mut self, t: Tok<'_>, th: u64, th_ansi: u64) {
        let value = th == q_hash();
        let sign_here = || match self.last {
            Last::Op => true,
            Last::Value => false,
            Last::Word(h) => SIGN_AFTER.contains(&h),
        };
        if let Some(sign) = self.sign.take() {
            if value {
                self.put(th, th_ansi);
                self.last = Last::Value;
                return;
            }
            if matches!(t, Tok::Punct(b'-' | b'+')) {
                // `- -1`: still a sign.
                self.sign = Some(sign);
                return;
            }
            self.put(sign, sign);
        } else if matches!(t, Tok::Punct(b'-' | b'+')) && sign_here() {
            self.sign = Some(th);
            return;
        }
        self.put(th, th_ansi);
        self.last = match t {
            Tok::Punct(b')' | b'?') => Last::Value,
            Tok::Punct(_) | Tok::ColonEq => Last::Op,
            Tok::Word(_) if !value => Last::Word(th),
            _ => Last::Value,
        };
    }

    fn statement_token(&mut self, t: Tok<'_>, th: u64, th_ansi: u64) {
        let word = |k: &[u8]| is_kw(t, k);
        match self.prefix {
            Prefix::Start => {
                if word(b"SET") {
                    self.prefix = Prefix::Set(th);
                } else if word(b"ANALYZE") {
                    self.prefix = Prefix::Analyze(th, DIGEST_BASIS);
                } else if word(b"EXPLAIN") || word(b"DESCRIBE") || word(b"DESC") {
                    self.prefix = Prefix::Explain(th);
                } else {
                    self.prefix = Prefix::Normal;
                    self.put_token(t, th, th_ansi);
                }
            }
            Prefix::Set(h) => {
                if word(b"STATEMENT") {
                    self.prefix = Prefix::SetStatement(0);
                } else {
                    self.prefix = Prefix::Normal;
                    self.put(h, h);
                    self.last = Last::Word(h);
                    self.put_token(t, th, th_ansi);
                }
            }
            Prefix::SetStatement(depth) => match t {
                Tok::Punct(b'(') => self.prefix = Prefix::SetStatement(depth + 1),
                Tok::Punct(b')') => self.prefix = Prefix::SetStatement(depth.saturating_sub(1)),
                _ if depth == 0 && word(b"FOR") => {
                    // The statement proper starts here; what came before does not count.
                    self.key = DIGEST_BASIS;
                    self.ansi = None;
                    self.any = false;
                    self.prefix = Prefix::Start;
                    self.last = Last::Op;
                }
                _ => {}
            },
            Prefix::Analyze(h1, h2) => {
                if word(b"TABLE")
                    || word(b"TABLES")
                    || word(b"NO_WRITE_TO_BINLOG")
                    || word(b"LOCAL")
                {
                    self.prefix = Prefix::Normal;
                    if h2 != DIGEST_BASIS {
                        self.put(h2, h2);
                    }
                    self.put(h1, h1);
                    self.last = Last::Word(h1);
                    self.put_token(t, th, th_ansi);
                } else if word(b"FORMAT") {
                    self.prefix = Prefix::Format(0);
                } else {
                    self.prefix = Prefix::Start;
                    self.statement_token(t, th, th_ansi);
                }
            }
            Prefix::Explain(h) => {
                if word(b"ANALYZE") {
                    self.prefix = Prefix::Analyze(th, h);
                } else {
                    self.prefix = Prefix::Normal;
                    self.put(h, h);
                    self.last = Last::Word(h);
                    self.put_token(t, th, th_ansi);
                }
            }
            Prefix::Format(0) if matches!(t, Tok::Punct(b'=')) => self.prefix = Prefix::Format(1),
            Prefix::Format(1) if matches!(t, Tok::Word(_) | Tok::Str(..)) => {
                self.prefix = Prefix::Start
            }
            Prefix::Format(_) => {
                self.prefix = Prefix::Start;
                self.statement_token(t, th, th_ansi);
            }
            Prefix::Normal => self.put_token(t, th, th_ansi),
        }
    }

    /// The statement ended: its keys go to `keys`, and the next one starts.
    pub(super) fn end_statement(&mut self, keys: &mut Keys) {
        match self.prefix {
            // A lone SET / ANALYZE / EXPLAIN: the word itself is the statement.
            Prefix::Set(h) | Prefix::Explain(h) => self.put(h, h),
            Prefix::Analyze(h1, h2) => {
                if h2 != DIGEST_BASIS {
                    self.put(h2, h2);
                }
                self.put(h1, h1);
            }
            _ => {}
        }
        if let Some(sign) = self.sign.take() {
            self.put(sign, sign);
        }
        if self.any {
            keys.push(self.key);
            if let Some(a) = self.ansi {
                keys.push(a);
            }
        }
        self.key = DIGEST_BASIS;
        self.ansi = None;
        self.any = false;
        self.prefix = Prefix::Start;
        self.before_prefix = None;
        self.last = Last::Op;
    }
}

/// The number of tokens of a statement's prefix that rules look through (`SET STATEMENT ...
/// FOR`, `ANALYZE [FORMAT = x]`, `EXPLAIN ANALYZE`): the same words [`Digester`] leaves out.
fn prefix_len(toks: &[Tok<'_>]) -> usize {
    let word = |i: usize, k: &[u8]| toks.get(i).is_some_and(|&t| is_kw(t, k));
    let mut i = 0;
    loop {
        if word(i, b"SET") && word(i + 1, b"STATEMENT") {
            let mut depth = 0u32;
            let mut j = i + 2;
            let mut found = None;
            while j < toks.len() {
                match toks[j] {
                    Tok::Punct(b'(') => depth += 1,
                    Tok::Punct(b')') => depth = depth.saturating_sub(1),
                    t if depth == 0 && is_kw(t, b"FOR") => {
                        found = Some(j);
                        break;
                    }
                    _ => {}
                }
                j += 1;
            }
            match found {
                Some(j) => i = j + 1,
                None => return i,
            }
            continue;
        }
        let analyze = if word(i, b"ANALYZE") {
            Some(i + 1)
        } else if (word(i, b"EXPLAIN") || word(i, b"DESCRIBE") || word(i, b"DESC"))
            && word(i + 1, b"ANALYZE")
        {
            Some(i + 2)
        } else {
            None
        };
        match analyze {
            Some(j)
                if !(word(j, b"TABLE")
                    || word(j, b"TABLES")
                    || word(j, b"NO_WRITE_TO_BINLOG")
                    || word(j, b"LOCAL")) =>
            {
                i = j;
                if word(i, b"FORMAT") && toks.get(i + 1) == Some(&Tok::Punct(b'=')) {
                    i += 3;
                }
            }
            _ => return i,
        }
    }
}

/// Each statement of `sql` as `pattern` rules see it, in every reading the classifier
/// considered: comments (and the markers of executable comments) replaced by one space, the
/// `;` that ends it and the whitespace around it left out; a statement with a prefix that
/// digests look through (`SET STATEMENT ... FOR`, `ANALYZE`) also without it, and one with
/// quoted identifiers also with their quotes removed. Stored-program bodies are one statement
/// with their `;` inside.
pub fn statement_texts(sql: &[u8], facts: &RuleFacts) -> Vec<Vec<u8>> {
    let base = Mode {
        cs: facts.cs,
        ..DEFAULT_MODE
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    let first = read_statements(sql, base, &mut out);
    for mode in alternative_modes(base, first.0, first.1) {
        read_statements(sql, mode, &mut out);
    }
    out
}

/// The other readings of a text whose meaning depends on server state: without backslash
/// escapes (NO_BACKSLASH_ESCAPES), with double quotes as identifiers (ANSI_QUOTES, where a
/// backslash does not escape inside them), and each subset of the version-conditional comments
/// executed (see `lexer::COND_ALL`); every combination, the base reading left out.
pub(super) fn alternative_modes(base: Mode, bs_quote: bool, cond_exec: bool) -> Vec<Mode> {
    let escapes: &[(bool, bool)] = if bs_quote {
        &[(true, false), (false, false), (true, true)]
    } else {
        &[(true, false)]
    };
    let conds = if cond_exec {
        0..=COND_ALL
    } else {
        base.cond_exec..=base.cond_exec
    };
    let mut v = Vec::new();
    for &(backslash, ansi_quotes) in escapes {
        for cond in conds.clone() {
            let m = Mode {
                backslash,
                ansi_quotes,
                cond_exec: cond,
                ..base
            };
            if m != base {
                v.push(m);
            }
        }
    }
    v
}

/// Appends the statements of one reading to `out`; returns what the lexer saw (a backslash
/// before a quote, a version-conditional comment).
fn read_statements(sql: &[u8], mode: Mode, out: &mut Vec<Vec<u8>>) -> (bool, bool) {
    let mut st = Stream::with_names(sql, mode, &[]);
    let base = sql.as_ptr() as usize;
    let mut toks: Vec<Tok<'_>> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    loop {
        toks.clear();
        ranges.clear();
        loop {
            let t = st.next();
            let end = st.lex.pos;
            let range = match t {
                Tok::Eof => break,
                Tok::Word(w) => {
                    let at = w.as_ptr() as usize - base;
                    (at, at + w.len())
                }
                Tok::QIdent(raw) | Tok::Str(raw, _) => {
                    let at = (raw.as_ptr() as usize - base).saturating_sub(1);
                    (at, (at + raw.len() + 2).min(sql.len()))
                }
                Tok::AtAt | Tok::ColonEq => (end.saturating_sub(2), end),
                Tok::At | Tok::Punct(_) => (end.saturating_sub(1), end),
            };
            toks.push(t);
            ranges.push(range);
        }
        if !ranges.is_empty() {
            // `unquoted`: identifiers without their quotes (`DELETE FROM `t`` reads as the
            // pattern `DELETE FROM t` meant).
            let text = |from: usize, unquoted: bool| {
                let mut v = Vec::new();
                let mut prev_end = None;
                for (&(a, b), &t) in ranges[from..].iter().zip(&toks[from..]) {
                    if prev_end.is_some_and(|p| a > p) {
                        v.push(b' ');
                    }
                    match t {
                        Tok::QIdent(raw) if unquoted => {
                            v.extend_from_slice(unquote(raw, b'`').as_bytes())
                        }
                        Tok::Str(raw, b'"') if unquoted => {
                            v.extend_from_slice(unquote(raw, b'"').as_bytes())
                        }
                        _ => v.extend_from_slice(&sql[a.min(sql.len())..b.min(sql.len())]),
                    }
                    prev_end = Some(b);
                }
                v
            };
            let quoted = toks
                .iter()
                .any(|t| matches!(t, Tok::QIdent(_) | Tok::Str(_, b'"')));
            for from in [0, prefix_len(&toks)] {
                for unquoted in [false, quoted] {
                    if from < ranges.len() {
                        let v = text(from, unquoted);
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                }
            }
        }
        if !st.ended_by_semicolon {
            break;
        }
        st.start_next();
    }
    (st.lex.saw_bs_quote, st.lex.saw_cond_exec)
}
