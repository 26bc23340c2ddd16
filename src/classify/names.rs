//! Every database a statement names, in every statement form the server accepts: the one
//! pass over the tokens that fills [`Classification::databases`] (cluster placement and
//! `[[rules]] schema`), and the facts a rule check needs besides ([`RuleFacts`]).
//!
//! # What names a database
//!
//! * A qualifier where a table, view, routine, trigger, event, sequence or package name stands:
//!   after FROM, JOIN, INTO, UPDATE, TABLE, TO, REFERENCES, CALL, INSERT / REPLACE / DELETE
//!   (with or without INTO, past LOW_PRIORITY / DELAYED / IGNORE / QUICK / IF [NOT] EXISTS),
//!   in the comma lists and join chains that follow (index hints, PARTITION lists,
//!   FOR SYSTEM_TIME, ON / USING conditions, `{ OJ ... }` and parentheses at any depth), after
//!   CREATE INDEX / DROP INDEX `... ON`, trigger events (`BEFORE INSERT ON`), CREATE TABLE
//!   `LIKE`, GRANT / REVOKE `ON`, the statement heads DESCRIBE / EXPLAIN / TRUNCATE / HANDLER
//!   / CACHE INDEX, and the object words of DDL (VIEW, TRIGGER, EVENT, SEQUENCE, PROCEDURE,
//!   FUNCTION, PACKAGE [BODY], TABLES).
//! * Any three-part name (`db.t.col`), and any qualified call (`db.f(`, which is also
//!   `CREATE TABLE db.t (`), wherever they stand; the first argument of NEXTVAL / LASTVAL /
//!   SETVAL and the name after `NEXT | PREVIOUS VALUE FOR`.
//! * A database itself: `USE db` (also inside a multi-statement), CREATE / DROP / ALTER
//!   DATABASE | SCHEMA, SHOW ... FROM | IN db (SHOW TABLES, TABLE STATUS, OPEN TABLES,
//!   TRIGGERS, EVENTS; the second FROM | IN of SHOW COLUMNS / INDEX).
//! * Quoted any way: bare, backticks, and double quotes (identifiers under ANSI_QUOTES; in
//!   other modes a double-quoted "db" where a name stands is a syntax error, so reading it as
//!   a name costs nothing).
//!
//! `alias.column` (two parts, not followed by `(`) in a select list, a condition or a SET is
//! not a database: a lexer cannot tell it from `db.table`, and reporting every alias would send
//! ordinary joins to the wrong cluster. Where the scan is unsure (nesting deeper than it
//! tracks, the text of PREPARE / EXECUTE), it says so ([`RuleFacts::names_unknown`]) and block
//! rules fail closed.
//!
//! Cost: a keyword lookup per word (the length picks a handful of candidates) and a few state
//! changes per token; no allocation unless a database is named.

mod keywords;
use keywords::{keyword, Kw};

use super::*;

/// What `[[rules]]` need from a statement beyond [`Classification::databases`] (see
/// `crate::rules`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFacts {
    /// The digest key of every statement of a multi-statement, in every reading of the text
    /// the proxy cannot rule out (`NO_BACKSLASH_ESCAPES`, version comments, double quotes as
    /// strings or as ANSI_QUOTES identifiers), normalized the way `digest` rules are meant:
    /// the trailing `;`, identifier quoting, a `SET STATEMENT ... FOR` prefix and `ANALYZE`
    /// (MariaDB's, and MySQL's `EXPLAIN ANALYZE`) do not count.
    pub keys: Keys,
    /// Some part's text cannot be judged by a `digest` or `pattern` rule: it runs SQL the
    /// proxy does not see (`PREPARE ... FROM`, `EXECUTE [IMMEDIATE]`), holds a stored-program
    /// body (statements that run later, not split here), or could not be read (an
    /// unterminated string or comment, bytes the lexer is unsure about).
    pub text_unknown: bool,
    /// The databases the statement touches cannot all be known from its text (`PREPARE ...
    /// FROM`, `EXECUTE [IMMEDIATE]`, nesting deeper than the scan tracks, an unreadable text).
    pub names_unknown: bool,
    /// The database the last `USE` of a multi-statement selects (a `USE` alone is
    /// [`Classification::use_db`]): the session's database afterwards, when all of it ran.
    pub last_use: Option<String>,
    /// A table, view or routine is named without its database (it resolves in the current
    /// one). Cluster placement selects a named database for a statement without any only.
    pub unqualified: bool,
    /// The character set the text was read in (pattern rules read it again).
    pub cs: Charset,
    /// The text was scanned for [`Classification::databases`] and the flags here
    /// (`classify::analyze_with` may leave them out).
    pub scanned: bool,
    /// The text was scanned for `keys`.
    pub keyed: bool,
}

impl Default for RuleFacts {
    fn default() -> Self {
        RuleFacts {
            keys: Keys::default(),
            text_unknown: false,
            names_unknown: false,
            last_use: None,
            unqualified: false,
            cs: Charset::UTF8MB4,
            scanned: false,
            keyed: false,
        }
    }
}

impl RuleFacts {
    /// Adds what another reading of the same text found.
    pub(super) fn merge(&mut self, other: RuleFacts) {
        for k in other.keys.iter() {
            self.keys.push(k);
        }
        self.text_unknown |= other.text_unknown;
        self.names_unknown |= other.names_unknown;
        self.unqualified |= other.unqualified;
        if self.last_use.is_none() {
            self.last_use = other.last_use;
        }
    }
}

/// A short list of digest keys: two inline (a statement, and its ANSI_QUOTES reading), more
/// only for multi-statements and ambiguous texts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    inline: [u64; 2],
    n: u8,
    more: Vec<u64>,
}

impl Keys {
    pub(super) fn push(&mut self, k: u64) {
        if self.contains(k) {
            return;
        }
        if (self.n as usize) < self.inline.len() {
            self.inline[self.n as usize] = k;
            self.n += 1;
        } else {
            self.more.push(k);
        }
    }

    pub fn contains(&self, k: u64) -> bool {
        self.inline[..self.n as usize].contains(&k) || self.more.contains(&k)
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.inline[..self.n as usize]
            .iter()
            .chain(self.more.iter())
            .copied()
    }

    /// The first statement's key in the default reading.
    pub fn first(&self) -> Option<u64> {
        (self.n > 0).then_some(self.inline[0])
    }

    pub fn len(&self) -> usize {
        self.n as usize + self.more.len()
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// Levels of parentheses whose kind is remembered; deeper nesting makes the names unknown.
const MAX_DEPTH: u32 = 32;

/// What a parenthesis level of the statement holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    /// Expressions (a select list, WHERE, SET, VALUES...): `a.b` is a column.
    Expr = 0,
    /// Table references: `a.b` is a table of database `a`.
    Tables = 1,
    /// An ON condition inside table references: a `,` or JOIN goes back to tables.
    Cond = 2,
}

impl Level {
    fn from_bits(b: u64) -> Level {
        match b & 3 {
            1 => Level::Tables,
            2 => Level::Cond,
            _ => Level::Expr,
        }
    }
}

/// Where a table reference stands (meaningful in a [`Level::Tables`] level).
#[derive(Clone, Copy, Debug)]
enum Ref<'a> {
    /// A reference may come next. `skipped`: a modifier word passed over (LOW_PRIORITY, IF,
    /// ...), which is the qualifier after all if a `.` follows. `func`: the word that
    /// introduced it is also a function (1: INSERT( REPLACE( TRUNCATE(, a call, not a
    /// table; 2: NEXTVAL( LASTVAL( SETVAL(, whose first argument is a sequence).
    Expect {
        skipped: Option<Tok<'a>>,
        func: u8,
    },
    /// After a name: a `.` makes it a qualifier.
    Name(Tok<'a>),
    /// After `name .`.
    Dot(Tok<'a>),
    /// After a reference, an alias, an option or a punctuation.
    After,
    /// After FOR in a table list: FOR UPDATE / SHARE ends it, FOR SYSTEM_TIME / JOIN / ORDER
    /// BY (index hints) / EACH ROW (triggers) do not.
    For,
    ForEach,
    /// After USING: `(columns)` of a join, or the table list of a multi-table DELETE.
    Using,
    /// After CREATE / DROP INDEX: the index name, up to ON.
    IndexName,
}

/// Qualified names anywhere: `a.b.c` and `a.b(` name database `a`.
#[derive(Clone, Copy, Debug)]
enum Chain<'a> {
    Idle,
    One(Tok<'a>),
    OneDot(Tok<'a>),
    Two(Tok<'a>),
    /// After a `.` that no chain was waiting for: the name after it starts none.
    Dot,
}

/// The statement's first word, as far as names are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    Other,
    /// CREATE, DROP, ALTER, RENAME.
    Ddl {
        create: bool,
        index_on: bool,
    },
    /// GRANT, REVOKE: `ON` introduces the object.
    Grant,
    Show,
    /// LOCK, FLUSH, OPTIMIZE, REPAIR, CHECK, CHECKSUM, LOAD, BACKUP, CACHE, ANALYZE: TABLES
    /// and the DDL object words introduce names.
    Maint,
    Cache,
}

/// A number as the lexer returns it (`12`, `1.5`, `.5`, `1e-3`, `0x1f`, `0b01`), as opposed to
/// an identifier that starts with digits (`2024db`, `1e`).
fn is_number(w: &[u8]) -> bool {
    let Some(&first) = w.first() else {
        return false;
    };
    if first == b'.' {
        return true;
    }
    if !first.is_ascii_digit() {
        return false;
    }
    if w.len() > 2 && w[0] == b'0' && matches!(w[1], b'x' | b'b') {
        let ok = |b: &u8| {
            if w[1] == b'x' {
                b.is_ascii_hexdigit()
            } else {
                *b == b'0' || *b == b'1'
            }
        };
        return w[2..].iter().all(ok);
    }
    let mut i = 0;
    while i < w.len() && w[i].is_ascii_digit() {
        i += 1;
    }
    if i < w.len() && w[i] == b'.' {
        i += 1;
        while i < w.len() && w[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < w.len() && matches!(w[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < w.len() && matches!(w[j], b'+' | b'-') {
            j += 1;
        }
        let digits = j;
        while j < w.len() && w[j].is_ascii_digit() {
            j += 1;
        }
        if j > digits {
            i = j;
        }
    }
    i == w.len()
}

/// A token that can be a database, table or alias name: a word that is not a number, a
/// backtick-quoted identifier, or a double-quoted one (ANSI_QUOTES).
#[inline(always)]
pub(super) fn is_name(t: Tok<'_>) -> bool {
    match t {
        Tok::Word(w) => !(w[0].is_ascii_digit() || w[0] == b'.') || !is_number(w),
        Tok::QIdent(w) => !w.is_empty(),
        Tok::Str(w, b'"') => !w.is_empty(),
        _ => false,
    }
}

/// The unquoted text of a name token.
fn name_text(t: Tok<'_>) -> Option<String> {
    match t {
        Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
        Tok::QIdent(w) => Some(String::from_utf8_lossy(w).replace("``", "`")),
        Tok::Str(w, b'"') => Some(String::from_utf8_lossy(w).replace("\"\"", "\"")),
        _ => None,
    }
}

/// The tracker: fed every token of the text (the `;` between statements included), it adds
/// the databases named to `databases` and sets the flags of `facts`.
pub(super) struct Names<'a> {
    pub(super) databases: Vec<String>,
    pub(super) facts: RuleFacts,
    /// Something is pending ([`Names::idle`] is false): every token takes the full path.
    busy: bool,
    /// How deep in PREPARE literals this scan is (the literal of a PREPARE is scanned for
    /// names once; one inside it is not).
    nested: u8,
    mode: Mode,
    // The current statement.
    at_head: bool,
    head: Head,
    level: Level,
    /// Kinds of the enclosing levels, two bits per depth.
    outer: u64,
    depth: u32,
    /// The kind the level had before a table keyword switched it (a word such as INSERT that
    /// turns out to be a function goes back to it).
    revert: Level,
    r: Ref<'a>,
    /// What VALUES ended: VALUES( is also a function (`ON a = VALUES(a)`), after which the
    /// table list goes on.
    values_ended: Option<(Level, Ref<'a>)>,
    chain: Chain<'a>,
    /// Inside a variable name after `@` / `@@` (1: a name next, 2: a `.` may continue it).
    var: u8,
    /// The next name is a database (after DATABASE, SCHEMA, USE, SHOW ... FROM).
    db_next: bool,
    db_next_is_use: bool,
    /// Between DELETE and its FROM / USING: `t.*` there is a table, not a database.
    delete_list: bool,
    /// A SELECT or FROM was seen: `LIKE` is an operator from then on.
    saw_select: bool,
    /// SHOW COLUMNS / INDEX: the first FROM names the table, a second one the database.
    show_table_first: bool,
    prev: Kw,
    /// SET STATEMENT ... FOR: 1 after SET at the head, 2 inside the variable list.
    set_statement: u8,
    /// A name stood where a table does: unless a `.` follows, it has no database.
    maybe_unqualified: bool,
    /// After EXPLAIN / ANALYZE at the head: EXTENDED, PARTITIONS and `FORMAT = name` come
    /// before the statement (1: an option may follow, 2: after FORMAT, 3: after its `=`).
    options: u8,
    /// PREPARE ... FROM / EXECUTE IMMEDIATE: 1 waiting for FROM, 2 the source is next, 3 after
    /// a literal source, 4 after its USING, 5 waiting for IMMEDIATE.
    prep: u8,
    literal: Option<(&'a [u8], u8)>,
}

impl<'a> Names<'a> {
    pub(super) fn new(mode: Mode) -> Self {
        Names {
            databases: Vec::new(),
            facts: RuleFacts {
                cs: mode.cs,
                ..RuleFacts::default()
            },
            busy: true,
            nested: 0,
            mode,
            at_head: true,
            head: Head::Other,
            level: Level::Expr,
            outer: 0,
            depth: 0,
            revert: Level::Expr,
            r: Ref::After,
            values_ended: None,
            chain: Chain::Idle,
            var: 0,
            db_next: false,
            db_next_is_use: false,
            delete_list: false,
            saw_select: false,
            show_table_first: false,
            prev: Kw::None,
            set_statement: 0,
            maybe_unqualified: false,
            options: 0,
            prep: 0,
            literal: None,
        }
    }

    fn report(&mut self, t: Tok<'_>) {
        if let Some(name) = name_text(t) {
            if !self.databases.contains(&name) {
                self.databases.push(name);
            }
        }
    }

    /// The statement ended (`;` or the end of the text): what it runs as a literal is
    /// scanned, and the next one starts afresh.
    fn end_statement(&mut self) {
        if matches!(self.prep, 3 | 4) {
            if let Some((raw, q)) = self.literal.take() {
                self.scan_literal(raw, q);
            }
        }
        let fresh = Names::new(self.mode);
        let databases = std::mem::take(&mut self.databases);
        let facts = std::mem::take(&mut self.facts);
        let nested = self.nested;
        *self = Names {
            databases,
            facts,
            nested,
            ..fresh
        };
    }

    /// The names in the text of `PREPARE s FROM '...'` / `EXECUTE IMMEDIATE '...'` (read with
    /// and without backslash escapes), for cluster placement; rules still treat that text as
    /// unknown.
    fn scan_literal(&mut self, raw: &[u8], q: u8) {
        if self.nested > 0 {
            return;
        }
        for backslash in [true, false] {
            let text = if backslash {
                unescape(raw, q).into_bytes()
            } else {
                unquote(raw, q).into_bytes()
            };
            let mode = Mode {
                backslash,
                ..self.mode
            };
            let mut lex = Lexer::new(&text, mode);
            let mut inner = Names::new(mode);
            inner.nested = self.nested + 1;
            loop {
                let t = lex.next();
                inner.feed(t);
                if t == Tok::Eof {
                    break;
                }
            }
            for db in inner.databases {
                if !self.databases.contains(&db) {
                    self.databases.push(db);
                }
            }
        }
    }

    fn push(&mut self, kind: Level) {
        if self.depth < MAX_DEPTH {
            self.outer |= (self.level as u64) << (2 * self.depth);
        } else {
            // Deeper than tracked: which levels hold tables is not known any more.
            self.facts.names_unknown = true;
        }
        self.depth += 1;
        self.level = kind;
        self.r = if kind == Level::Tables {
            Ref::Expect {
                skipped: None,
                func: 0,
            }
        } else {
            Ref::After
        };
    }

    fn pop(&mut self) {
        if self.depth == 0 {
            return;
        }
        self.depth -= 1;
        self.level = if self.depth < MAX_DEPTH {
            let shift = 2 * self.depth;
            let kind = Level::from_bits(self.outer >> shift);
            self.outer &= !(3 << shift);
            kind
        } else {
            Level::Expr
        };
        self.r = Ref::After;
    }

    /// A keyword that introduces a table name: the level holds table references from here.
    fn expect_table(&mut self, func: u8) {
        self.revert = self.level;
        self.level = Level::Tables;
        self.r = Ref::Expect {
            skipped: None,
            func,
        };
    }

    /// The word that switched to tables was not a table keyword after all.
    fn undo_expect(&mut self) {
        self.level = self.revert;
        self.r = Ref::After;
    }

    /// A statement whose object words (VIEW, TRIGGER, TABLES, ...) introduce names.
    fn ddl(&self) -> bool {
        matches!(
            self.head,
            Head::Ddl { .. } | Head::Grant | Head::Show | Head::Maint | Head::Cache
        )
    }

    /// Takes one token. Most tokens are a word that is no keyword, an operator or a literal,
    /// with nothing pending: those only move the qualified-name chain (and a table list's
    /// state), inline; everything else goes to [`Names::feed_any`].
    #[inline]
    pub(super) fn feed(&mut self, t: Tok<'a>) {
        let kw = match t {
            Tok::Word(w) => keyword(w),
            _ => Kw::None,
        };
        if !self.busy && self.fast(t, kw) {
            return;
        }
        self.feed_any(t, kw);
        self.busy = !self.idle();
    }

    /// The common tokens with nothing pending; false if the token needs [`Names::feed_any`].
    #[inline]
    fn fast(&mut self, t: Tok<'a>, kw: Kw) -> bool {
        let expr = self.level == Level::Expr;
        match t {
            // A name: a word that is no keyword here, a quoted identifier.
            Tok::Word(_) | Tok::QIdent(_) | Tok::Str(_, b'"') if kw == Kw::None && is_name(t) => {
                match self.level {
                    Level::Expr | Level::Cond => {}
                    Level::Tables => match self.r {
                        Ref::Name(_) | Ref::After | Ref::Using => self.r = Ref::Name(t),
                        Ref::Expect { func: 0 | 1, .. } => {
                            // A table, not an alias: unless a `.` follows, it is in the
                            // current database.
                            self.r = Ref::Name(t);
                            if !(self.delete_list && self.depth == 0) && self.head != Head::Show {
                                self.maybe_unqualified = true;
                                self.busy = true;
                            }
                        }
                        _ => return false,
                    },
                }
                self.prev = Kw::None;
                self.chain = match self.chain {
                    Chain::OneDot(x) => Chain::Two(x),
                    Chain::Dot => Chain::Idle,
                    _ => Chain::One(t),
                };
                true
            }
            // Operators, parentheses and literals in an expression or a join condition, where
            // no qualified name is half read (a `,` in a condition starts a table).
            Tok::Punct(p)
                if self.level != Level::Tables
                    && !matches!(p, b';' | b'.' | b':' | b'*')
                    && (expr || p != b',')
                    && matches!(self.chain, Chain::Idle | Chain::One(_)) =>
            {
                self.prev = Kw::None;
                self.chain = Chain::Idle;
                match p {
                    b'(' => self.push(Level::Expr),
                    b')' => self.pop(),
                    _ => {}
                }
                true
            }
            // A qualified name in an expression (`t.col`): only the chain moves.
            Tok::Punct(b'.') if self.level != Level::Tables => {
                self.prev = Kw::None;
                self.chain = match self.chain {
                    Chain::One(x) => Chain::OneDot(x),
                    Chain::Two(_) => return false,
                    _ => Chain::Dot,
                };
                true
            }
            Tok::Str(_, b'\'') | Tok::ColonEq if self.level != Level::Tables => {
                self.prev = Kw::None;
                self.chain = Chain::Idle;
                true
            }
            _ => false,
        }
    }

    /// Nothing is pending that a plain token would change.
    fn idle(&self) -> bool {
        self.var == 0
            && !self.at_head
            && !self.db_next
            && !self.maybe_unqualified
            && self.prep == 0
            && self.set_statement == 0
            && self.options == 0
            && self.values_ended.is_none()
    }

    #[inline(never)]
    fn feed_any(&mut self, t: Tok<'a>, kw: Kw) {
        // A variable's name (`@a.b`, `@@session.x`, `u@host.example.com`) is no qualifier.
        match (self.var, t) {
            (0, _) => {}
            (1, Tok::Word(_) | Tok::QIdent(_) | Tok::Str(..)) => {
                self.var = 2;
                return;
            }
            (2, Tok::Punct(b'.')) => {
                self.var = 1;
                return;
            }
            _ => self.var = 0,
        }
        let values_ended = if self.values_ended.is_some() {
            self.values_ended.take()
        } else {
            None
        };
        if self.maybe_unqualified {
            self.maybe_unqualified = false;
            if !matches!(t, Tok::Punct(b'.')) {
                self.facts.unqualified = true;
            }
        }
        if self.level == Level::Tables {
            if let Ref::Expect { func: 2, .. } = self.r {
                if !matches!(t, Tok::Punct(b'(')) {
                    // NEXTVAL without `(`: a column of that name.
                    self.undo_expect();
                }
            }
        }
        if matches!(t, Tok::At | Tok::AtAt) {
            self.var = 1;
            self.chain = Chain::Idle;
            self.prev = Kw::None;
            self.at_head = false;
            if self.level == Level::Tables {
                self.r = Ref::After;
            }
            return;
        }
        self.chain(t);
        if self.db_next {
            self.db_next = false;
            match t {
                Tok::Word(_) => match kw {
                    Kw::If => {
                        self.db_next = true;
                        return;
                    }
                    Kw::AlterDbOpt | Kw::Like | Kw::Ender => {}
                    _ if is_name(t) => return self.database_named(t),
                    _ => {}
                },
                Tok::QIdent(_) | Tok::Str(_, b'"') if is_name(t) => return self.database_named(t),
                _ => {}
            }
        }
        match t {
            Tok::Eof | Tok::Punct(b';') => self.end_statement(),
            Tok::Word(_) => self.word(t, kw),
            Tok::QIdent(_) | Tok::Str(_, b'"') => {
                self.at_head = false;
                self.options = 0;
                self.source(t);
                self.name_token(t);
                self.prev = Kw::None;
            }
            Tok::Str(..) => {
                self.at_head = false;
                self.options = 0;
                self.source(t);
                if self.level == Level::Tables {
                    match self.r {
                        Ref::Dot(q) => {
                            self.report(q);
                            self.r = Ref::After;
                        }
                        Ref::IndexName => {}
                        _ => self.r = Ref::After,
                    }
                }
                self.prev = Kw::None;
            }
            Tok::Punct(p) => {
                if std::mem::take(&mut self.options) == 2 && p == b'=' {
                    self.options = 3;
                    return;
                }
                if p != b'(' {
                    // A label (`l: LOOP`) comes before a statement.
                    self.at_head = p == b':';
                }
                if matches!(self.prep, 2 | 3) {
                    self.prep = 0;
                }
                if p == b'(' {
                    if let Some((level, r)) = values_ended {
                        // VALUES( ... ): a function; the table list it interrupted goes on.
                        self.level = level;
                        self.r = r;
                        self.push(Level::Expr);
                        self.prev = Kw::None;
                        return;
                    }
                }
                self.punct(p);
                self.prev = Kw::None;
            }
            Tok::ColonEq | Tok::At | Tok::AtAt => {
                self.at_head = false;
                if self.level == Level::Tables {
                    self.r = Ref::After;
                }
                self.prev = Kw::None;
            }
        }
    }

    /// `a.b.c` or `a.b(`: `a` is a database wherever it stands.
    fn chain(&mut self, t: Tok<'a>) {
        self.chain = match (self.chain, t) {
            (Chain::One(x), Tok::Punct(b'.')) => Chain::OneDot(x),
            (Chain::OneDot(x), t) if is_name(t) || matches!(t, Tok::Punct(b'*')) => Chain::Two(x),
            (Chain::Two(x), Tok::Punct(b'.')) => {
                self.report(x);
                Chain::Dot
            }
            (Chain::Two(x), Tok::Punct(b'(')) => {
                self.report(x);
                Chain::Idle
            }
            (_, Tok::Punct(b'.')) => Chain::Dot,
            (Chain::Dot | Chain::OneDot(_), _) => Chain::Idle,
            (_, t) if is_name(t) => Chain::One(t),
            _ => Chain::Idle,
        };
    }

    fn database_named(&mut self, t: Tok<'a>) {
        self.report(t);
        if std::mem::take(&mut self.db_next_is_use) {
            self.facts.last_use = name_text(t);
        }
        self.at_head = false;
        self.prev = Kw::None;
    }

    /// PREPARE ... FROM <source> / EXECUTE IMMEDIATE <source>: a plain literal is scanned for
    /// names at the end of the statement.
    fn source(&mut self, t: Tok<'a>) {
        match self.prep {
            2 => {
                if let Tok::Str(raw, q) = t {
                    self.literal = Some((raw, q));
                    self.prep = 3;
                } else {
                    self.prep = 0;
                }
            }
            3 if is_kw(t, b"USING") => self.prep = 4,
            3 => self.prep = 0,
            _ => {}
        }
    }

    /// A name token (a word that is no keyword here, a quoted identifier).
    fn name_token(&mut self, t: Tok<'a>) {
        if self.level != Level::Tables {
            return;
        }
        self.r = match self.r {
            Ref::Dot(q) => {
                self.report(q);
                Ref::Name(t)
            }
            Ref::IndexName => Ref::IndexName,
            Ref::Expect { .. } if is_name(t) => {
                // A table (not an alias, which follows one): without a `.` next it is in the
                // current database. DELETE's own list names tables of its FROM; SHOW ...
                // FROM t FROM db names the database apart.
                self.maybe_unqualified =
                    !(self.delete_list && self.depth == 0) && self.head != Head::Show;
                Ref::Name(t)
            }
            _ if is_name(t) => Ref::Name(t),
            _ => Ref::After,
        };
    }

    fn word(&mut self, t: Tok<'a>, kw: Kw) {
        let prev = std::mem::replace(&mut self.prev, kw);
        match self.prep {
            5 => {
                self.prep = 0;
                if kw == Kw::Immediate {
                    self.prep = 2;
                    return;
                }
            }
            1 if kw == Kw::From && self.depth == 0 => self.prep = 2,
            _ => self.source(t),
        }
        if self.set_statement == 1 {
            self.set_statement = if kw == Kw::Statement { 2 } else { 0 };
        } else if self.set_statement == 2 && kw == Kw::For && self.depth == 0 {
            // SET STATEMENT ... FOR <statement> (its UPDATE is no FOR UPDATE).
            self.set_statement = 0;
            self.at_head = true;
            self.prev = Kw::None;
            return;
        }
        match (std::mem::take(&mut self.options), kw) {
            (1, _) if is_kw(t, b"FORMAT") => {
                self.options = 2;
                self.at_head = true;
                return;
            }
            (1, _) if is_kw(t, b"EXTENDED") || is_kw(t, b"PARTITIONS") => {
                self.options = 1;
                self.at_head = true;
                return;
            }
            (3, _) => {
                // The format's name: the statement follows.
                self.at_head = true;
                return;
            }
            _ => {}
        }
        if std::mem::take(&mut self.at_head) && self.head_word(kw) {
            return;
        }
        if self.level == Level::Tables {
            match self.r {
                // After `db.` any word is the table name, keywords included.
                Ref::Dot(q) => {
                    self.report(q);
                    self.r = Ref::Name(t);
                    return;
                }
                Ref::For => {
                    match kw {
                        Kw::Update | Kw::Share => self.level = Level::Expr,
                        Kw::Each => self.r = Ref::ForEach,
                        _ => self.r = Ref::Name(t),
                    }
                    return;
                }
                Ref::ForEach => {
                    if kw == Kw::Row {
                        self.level = Level::Expr;
                        self.at_head = true;
                    } else {
                        self.r = Ref::Name(t);
                    }
                    return;
                }
                Ref::IndexName => {
                    if kw == Kw::On {
                        self.expect_table(0);
                    }
                    return;
                }
                Ref::Expect { .. } => {
                    let skip = match kw {
                        Kw::Skip | Kw::If => true,
                        Kw::Body => prev == Kw::Package,
                        Kw::Cache | Kw::Index => matches!(self.head, Head::Cache | Head::Maint),
                        // Trigger events (`BEFORE INSERT ON t`), GRANT INSERT ON t.
                        Kw::On => true,
                        _ => false,
                    };
                    if skip {
                        self.r = Ref::Expect {
                            skipped: Some(t),
                            func: 0,
                        };
                        return;
                    }
                }
                _ => {}
            }
        }
        if !self.keyword_role(kw, prev) {
            self.name_token(t);
        }
    }

    /// The first word of a statement (also after `;` inside a stored program, BEGIN, THEN,
    /// ELSE, DO, LOOP, REPEAT, FOR EACH ROW, a label, EXPLAIN and `SET STATEMENT ... FOR`).
    /// True if the word needs nothing else.
    fn head_word(&mut self, kw: Kw) -> bool {
        match kw {
            Kw::Create | Kw::Drop => {
                self.head = Head::Ddl {
                    create: kw == Kw::Create,
                    index_on: true,
                };
                true
            }
            Kw::DdlHead => {
                self.head = Head::Ddl {
                    create: false,
                    index_on: false,
                };
                true
            }
            Kw::Grant => {
                self.head = Head::Grant;
                true
            }
            Kw::Show => {
                self.head = Head::Show;
                true
            }
            Kw::Maint | Kw::Lock => {
                self.head = Head::Maint;
                true
            }
            Kw::Analyze => {
                self.head = Head::Maint;
                self.at_head = true;
                self.options = 1;
                true
            }
            Kw::Cache => {
                self.head = Head::Cache;
                self.expect_table(0);
                true
            }
            Kw::Use => {
                self.db_next = true;
                self.db_next_is_use = true;
                true
            }
            Kw::Explain => {
                self.expect_table(0);
                self.at_head = true;
                self.options = 1;
                true
            }
            Kw::Truncate => {
                self.expect_table(1);
                true
            }
            Kw::Handler => {
                self.expect_table(0);
                true
            }
            Kw::Prepare => {
                self.facts.text_unknown = true;
                self.facts.names_unknown = true;
                self.prep = 1;
                true
            }
            Kw::Execute => {
                self.facts.text_unknown = true;
                self.facts.names_unknown = true;
                self.prep = 5;
                true
            }
            Kw::Set => {
                self.set_statement = 1;
                true
            }
            Kw::BodyStart => {
                self.at_head = true;
                true
            }
            _ => false,
        }
    }

    /// What a keyword does where it stands. True if it did something.
    fn keyword_role(&mut self, kw: Kw, prev: Kw) -> bool {
        let in_tables = self.level != Level::Expr;
        match kw {
            Kw::None => false,
            Kw::From | Kw::In if self.head == Head::Show && self.depth == 0 => {
                if std::mem::take(&mut self.show_table_first) {
                    self.expect_table(0);
                } else {
                    self.db_next = true;
                }
                true
            }
            Kw::From => {
                self.saw_select = true;
                self.delete_list = false;
                self.expect_table(0);
                true
            }
            Kw::Join | Kw::Into | Kw::Table | Kw::To | Kw::References | Kw::Call => {
                self.expect_table(0);
                true
            }
            Kw::StraightJoin if in_tables => {
                self.expect_table(0);
                true
            }
            Kw::Insert => {
                self.expect_table(1);
                true
            }
            Kw::Replace if prev != Kw::Or => {
                self.expect_table(1);
                true
            }
            Kw::Update if !matches!(prev, Kw::For | Kw::Key | Kw::On) => {
                self.expect_table(0);
                true
            }
            Kw::Delete if prev != Kw::On => {
                if self.depth == 0 {
                    self.delete_list = true;
                }
                self.expect_table(0);
                true
            }
            Kw::SeqFn => {
                self.expect_table(2);
                true
            }
            Kw::For if prev == Kw::Value => {
                // NEXT VALUE FOR s, PREVIOUS VALUE FOR s
                self.expect_table(0);
                true
            }
            Kw::Object | Kw::Tables | Kw::Package if self.ddl() => {
                self.expect_table(0);
                true
            }
            Kw::ShowTableFirst | Kw::Index if self.head == Head::Show && self.depth == 0 => {
                self.show_table_first = true;
                true
            }
            Kw::Index
                if matches!(self.head, Head::Ddl { index_on: true, .. }) && !self.saw_select =>
            {
                self.revert = self.level;
                self.level = Level::Tables;
                self.r = Ref::IndexName;
                true
            }
            Kw::Like if matches!(self.head, Head::Ddl { create: true, .. }) && !self.saw_select => {
                self.expect_table(0);
                true
            }
            Kw::Database => {
                self.db_next = true;
                true
            }
            Kw::On => {
                if self.head == Head::Grant {
                    self.expect_table(0);
                } else if self.level == Level::Tables {
                    self.level = Level::Cond;
                }
                true
            }
            Kw::Key if prev == Kw::Duplicate && self.level == Level::Cond => {
                // ON DUPLICATE KEY UPDATE: assignments, not a join condition.
                self.level = Level::Expr;
                true
            }
            Kw::Using if self.level == Level::Tables => {
                self.r = Ref::Using;
                true
            }
            Kw::For if self.level == Level::Tables => {
                self.r = Ref::For;
                true
            }
            Kw::JoinPrefix if in_tables => true,
            Kw::Select => {
                self.saw_select = true;
                if in_tables {
                    self.level = Level::Expr;
                }
                true
            }
            Kw::Values if in_tables => {
                self.values_ended = Some((self.level, self.r));
                self.level = Level::Expr;
                true
            }
            // WHERE, GROUP, ORDER, LIMIT, HAVING, WINDOW, UNION, WITH, SET (UPDATE ... SET),
            // LOCK (LOCK IN SHARE MODE) ...: reserved everywhere, so never an alias.
            Kw::Ender | Kw::Set | Kw::Lock if in_tables => {
                self.level = Level::Expr;
                true
            }
            Kw::BodyStart => {
                // A statement may start here (DO of CREATE EVENT, THEN, ELSE, ...); the level
                // stays (the word may be an alias: `FROM t do, db.u`).
                self.at_head = true;
                false
            }
            _ => false,
        }
    }

    fn punct(&mut self, p: u8) {
        match p {
            b'(' => match (self.level, self.r) {
                (Level::Tables, Ref::Expect { func: 1, .. }) => {
                    // INSERT(, REPLACE(, TRUNCATE(: the string functions.
                    self.undo_expect();
                    self.push(Level::Expr);
                }
                (Level::Tables, Ref::Expect { func: 2, .. }) => {
                    // NEXTVAL(seq): a sequence name inside.
                    self.undo_expect();
                    self.push(Level::Tables);
                }
                // FROM (t), JOIN (a, b), UPDATE (t): references in parentheses.
                (Level::Tables, Ref::Expect { .. }) => self.push(Level::Tables),
                (Level::Tables, Ref::Dot(q)) => {
                    self.report(q);
                    self.push(Level::Expr);
                }
                _ => self.push(Level::Expr),
            },
            b')' => self.pop(),
            b',' if self.level == Level::Cond => self.expect_table(0),
            _ if self.level == Level::Tables => {
                self.r = match (self.r, p) {
                    (Ref::Name(q), b'.') => Ref::Dot(q),
                    (
                        Ref::Expect {
                            skipped: Some(q), ..
                        },
                        b'.',
                    ) => Ref::Dot(q),
                    (Ref::Expect { skipped: None, .. }, b'.') => {
                        // The keyword was a name (`event.x`): not a table list after all.
                        self.undo_expect();
                        return;
                    }
                    (Ref::Dot(q), b'*') => {
                        if !(self.delete_list && self.depth == 0) {
                            self.report(q);
                        }
                        Ref::After
                    }
                    (Ref::Dot(q), _) => {
                        self.report(q);
                        Ref::After
                    }
                    (Ref::IndexName, _) => Ref::IndexName,
                    (_, b',') => Ref::Expect {
                        skipped: None,
                        func: 0,
                    },
                    (r @ Ref::Expect { .. }, b'{' | b'}') => r,
                    _ => Ref::After,
                };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_is_found_in_any_case() {
        for &(k, kw) in keywords::KEYWORDS {
            assert_eq!(keyword(k), kw);
            let lower: Vec<u8> = k.iter().map(u8::to_ascii_lowercase).collect();
            assert_eq!(keyword(&lower), kw);
        }
        for w in [
            &b"FROMX"[..],
            b"FRO",
            b"wp_posts",
            b"option_name",
            b"_from",
            b"1from",
            b"x",
        ] {
            assert_eq!(keyword(w), Kw::None, "{}", String::from_utf8_lossy(w));
        }
    }
}
