//! The keywords the names tracker (`names.rs`) looks for, and the lookup it runs for every
//! word: a table by length and first letter, so most words are turned away by one load.

/// Keywords the tracker cares about; everything else is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kw {
    None,
    From,
    Join,
    StraightJoin,
    /// INNER, CROSS, LEFT, RIGHT, NATURAL, OUTER, FULL: a JOIN follows.
    JoinPrefix,
    Into,
    Table,
    To,
    References,
    Call,
    Insert,
    Replace,
    Update,
    Delete,
    Truncate,
    /// EXPLAIN, DESCRIBE, DESC.
    Explain,
    Handler,
    Cache,
    Use,
    Show,
    Prepare,
    Execute,
    Immediate,
    Set,
    Statement,
    Analyze,
    Create,
    Drop,
    /// ALTER, RENAME.
    DdlHead,
    /// GRANT, REVOKE.
    Grant,
    /// LOAD, FLUSH, CHECK, REPAIR, BACKUP, OPTIMIZE, CHECKSUM.
    Maint,
    Lock,
    /// VIEW, TRIGGER, EVENT, SEQUENCE, FUNCTION, PROCEDURE.
    Object,
    Package,
    Body,
    Tables,
    Index,
    Like,
    /// DATABASE, SCHEMA.
    Database,
    On,
    Using,
    For,
    In,
    Each,
    Row,
    Share,
    Select,
    Values,
    Value,
    /// Reserved in MySQL and MariaDB alike (no alias can be spelled so) and ends a table
    /// list: WHERE, GROUP, ORDER, LIMIT, HAVING, WINDOW, UNION, EXCEPT, INTERSECT, FETCH, WITH.
    Ender,
    /// Modifiers between a table keyword and the name: LOW_PRIORITY, HIGH_PRIORITY, DELAYED,
    /// IGNORE, TEMPORARY, NO_WRITE_TO_BINLOG, LOCAL, OJ, LATERAL, HISTORY, ONLY, CONCURRENT.
    Skip,
    /// IF, NOT, EXISTS.
    If,
    /// BEGIN, THEN, ELSE, DO, LOOP, REPEAT: a statement may start after them.
    BodyStart,
    Or,
    Key,
    Duplicate,
    /// NEXTVAL, LASTVAL, SETVAL.
    SeqFn,
    /// What ALTER DATABASE may say without naming one: CHARACTER, CHARSET, COLLATE, DEFAULT,
    /// COMMENT, UPGRADE.
    AlterDbOpt,
    /// SHOW COLUMNS / FIELDS / INDEXES / KEYS (and INDEX): FROM names the table first.
    ShowTableFirst,
}

/// The keywords the tracker knows, upper-case, sorted by length (checked at compile time).
pub(super) const KEYWORDS: &[(&[u8], Kw)] = {
    use Kw::*;
    &[
        (b"TO", To),
        (b"ON", On),
        (b"IN", In),
        (b"IF", If),
        (b"DO", BodyStart),
        (b"OR", Or),
        (b"OJ", Skip),
        (b"SET", Set),
        (b"USE", Use),
        (b"FOR", For),
        (b"NOT", If),
        (b"KEY", Key),
        (b"ROW", Row),
        (b"FROM", From),
        (b"JOIN", Join),
        (b"INTO", Into),
        (b"CALL", Call),
        (b"DESC", Explain),
        (b"SHOW", Show),
        (b"DROP", Drop),
        (b"VIEW", Object),
        (b"LIKE", Like),
        (b"EACH", Each),
        (b"LOOP", BodyStart),
        (b"THEN", BodyStart),
        (b"ELSE", BodyStart),
        (b"BODY", Body),
        (b"LOCK", Lock),
        (b"LOAD", Maint),
        (b"LEFT", JoinPrefix),
        (b"FULL", JoinPrefix),
        (b"WITH", Ender),
        (b"KEYS", ShowTableFirst),
        (b"ONLY", Skip),
        (b"TABLE", Table),
        (b"INNER", JoinPrefix),
        (b"CROSS", JoinPrefix),
        (b"RIGHT", JoinPrefix),
        (b"OUTER", JoinPrefix),
        (b"WHERE", Ender),
        (b"GROUP", Ender),
        (b"ORDER", Ender),
        (b"LIMIT", Ender),
        (b"UNION", Ender),
        (b"FETCH", Ender),
        (b"VALUE", Value),
        (b"USING", Using),
        (b"SHARE", Share),
        (b"GRANT", Grant),
        (b"ALTER", DdlHead),
        (b"FLUSH", Maint),
        (b"CHECK", Maint),
        (b"CACHE", Cache),
        (b"EVENT", Object),
        (b"INDEX", Index),
        (b"BEGIN", BodyStart),
        (b"LOCAL", Skip),
        (b"INSERT", Insert),
        (b"UPDATE", Update),
        (b"DELETE", Delete),
        (b"SELECT", Select),
        (b"TABLES", Tables),
        (b"CREATE", Create),
        (b"RENAME", DdlHead),
        (b"REVOKE", Grant),
        (b"SCHEMA", Database),
        (b"EXISTS", If),
        (b"VALUES", Values),
        (b"HAVING", Ender),
        (b"WINDOW", Ender),
        (b"EXCEPT", Ender),
        (b"REPAIR", Maint),
        (b"BACKUP", Maint),
        (b"REPEAT", BodyStart),
        (b"FIELDS", ShowTableFirst),
        (b"IGNORE", Skip),
        (b"SETVAL", SeqFn),
        (b"REPLACE", Replace),
        (b"EXPLAIN", Explain),
        (b"HANDLER", Handler),
        (b"PREPARE", Prepare),
        (b"EXECUTE", Execute),
        (b"ANALYZE", Analyze),
        (b"TRIGGER", Object),
        (b"PACKAGE", Package),
        (b"NATURAL", JoinPrefix),
        (b"COLUMNS", ShowTableFirst),
        (b"INDEXES", ShowTableFirst),
        (b"DELAYED", Skip),
        (b"HISTORY", Skip),
        (b"LATERAL", Skip),
        (b"NEXTVAL", SeqFn),
        (b"LASTVAL", SeqFn),
        (b"CHARSET", AlterDbOpt),
        (b"DEFAULT", AlterDbOpt),
        (b"COMMENT", AlterDbOpt),
        (b"UPGRADE", AlterDbOpt),
        (b"COLLATE", AlterDbOpt),
        (b"DESCRIBE", Explain),
        (b"TRUNCATE", Truncate),
        (b"DATABASE", Database),
        (b"FUNCTION", Object),
        (b"SEQUENCE", Object),
        (b"OPTIMIZE", Maint),
        (b"CHECKSUM", Maint),
        (b"STATEMENT", Statement),
        (b"IMMEDIATE", Immediate),
        (b"PROCEDURE", Object),
        (b"DUPLICATE", Duplicate),
        (b"INTERSECT", Ender),
        (b"TEMPORARY", Skip),
        (b"CHARACTER", AlterDbOpt),
        (b"REFERENCES", References),
        (b"CONCURRENT", Skip),
        (b"LOW_PRIORITY", Skip),
        (b"STRAIGHT_JOIN", StraightJoin),
        (b"HIGH_PRIORITY", Skip),
        (b"NO_WRITE_TO_BINLOG", Skip),
    ]
};

/// The longest keyword.
const KW_LONGEST: usize = 18;

/// Cell per length and first letter: up to six positions in [`KEYWORDS`] (`u8::MAX`: none).
/// A word is looked up by its length and first letter, then compared with at most six.
const KW_CELLS: [[[u8; 6]; 26]; KW_LONGEST + 1] = {
    let mut cells = [[[u8::MAX; 6]; 26]; KW_LONGEST + 1];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let k = KEYWORDS[i].0;
        assert!(k.len() >= 2 && k.len() <= KW_LONGEST && KEYWORDS.len() < u8::MAX as usize);
        let cell = &mut cells[k.len()][(k[0] - b'A') as usize];
        let mut j = 0;
        while cell[j] != u8::MAX {
            j += 1;
            assert!(
                j < 6,
                "more than six keywords of one length and first letter"
            );
        }
        cell[j] = i as u8;
        i += 1;
    }
    cells
};

/// The keyword `w` is: one cell by length and first letter, then at most six compares.
#[inline]
pub(super) fn keyword(w: &[u8]) -> Kw {
    let n = w.len();
    if !(2..=KW_LONGEST).contains(&n) {
        return Kw::None;
    }
    let f = w[0].to_ascii_uppercase();
    if !f.is_ascii_uppercase() {
        return Kw::None;
    }
    let cell = &KW_CELLS[n][(f - b'A') as usize];
    if cell[0] == u8::MAX {
        return Kw::None;
    }
    keyword_in(w, cell)
}

/// [`keyword`] past its cell lookup.
fn keyword_in(w: &[u8], cell: &[u8; 6]) -> Kw {
    for &i in cell {
        if i == u8::MAX {
            break;
        }
        let (k, kw) = KEYWORDS[i as usize];
        if k[1..].eq_ignore_ascii_case(&w[1..]) {
            return kw;
        }
    }
    Kw::None
}
