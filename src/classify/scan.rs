//! The read scan: does a read have to go to the master (locks, writes in disguise, functions
//! and variables of the master connection, assignments)?

use super::*;

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Reads {
    /// Locks or changes something: FOR UPDATE/SHARE, LOCK IN SHARE MODE, INTO,
    /// GET_LOCK(), NEXTVAL(), replication waits, DML keywords.
    pub(super) side_effect: bool,
    /// Reads state only the master has right: LAST_INSERT_ID(), FOUND_ROWS(),
    /// @@identity, @@global.*, server identity variables, ...
    pub(super) session_read: bool,
    /// @@warning_count / @@error_count.
    pub(super) last: bool,
    /// `:=` or `INTO @x`.
    pub(super) user_assign: bool,
    /// FOUND_ROWS() / ROW_COUNT().
    pub(super) prev_dep: bool,
    /// FOUND_ROWS() (about the previous SELECT, not the previous statement).
    pub(super) found_rows: bool,
    /// `SQL_CALC_FOUND_ROWS`: leaves a count on the connection for a later FOUND_ROWS().
    pub(super) calc_found_rows: bool,
    /// Reads state of the master connection other than FOUND_ROWS()/ROW_COUNT()
    /// (LAST_INSERT_ID(), @@identity, lock state, ...): the master answers it, whatever the
    /// previous statement was.
    pub(super) master_read: bool,
    /// A value that differs between servers or between calls: UUID(), RAND(), NOW(),
    /// CONNECTION_ID(), server-identity variables, a subquery (data may lag on a replica).
    pub(super) nondet: bool,
    /// Reads a user or system variable.
    pub(super) var_read: bool,
    /// CONNECTION_ID().
    pub(super) conn_id: bool,
    /// GET_LOCK(): a named lock held by the connection that ran it.
    pub(super) lock: bool,
}

impl Reads {
    pub(super) fn master_read(&mut self) {
        self.session_read = true;
        self.master_read = true;
    }

    pub(super) fn master(&self) -> bool {
        self.side_effect || self.session_read || self.user_assign
    }

    /// Master for what it does, not only for what it reads.
    pub(super) fn writes(&self) -> bool {
        self.side_effect || self.user_assign
    }
}

/// Feeds on the tokens of a read statement, keeping the last three tokens so that
/// words after `.`, `@` and `@@` are not taken for keywords and a function name
/// is recognised when the `(` arrives.
pub(super) struct Scan<'a> {
    pub(super) p1: Tok<'a>,
    pub(super) p2: Tok<'a>,
    pub(super) p3: Tok<'a>,
    /// Saw INSERT/REPLACE: a statement unless the next token is `(` (the string
    /// functions INSERT() and REPLACE()).
    pub(super) pending_dml: bool,
    /// Scanning the value of a SET: every word matters (no keyword fast path).
    pub(super) set_value: bool,
    pub(super) r: Reads,
}

impl<'a> Scan<'a> {
    pub(super) fn new(prev: Tok<'a>) -> Self {
        Scan {
            p1: prev,
            p2: Tok::Eof,
            p3: Tok::Eof,
            pending_dml: false,
            set_value: false,
            r: Reads::default(),
        }
    }

    pub(super) fn feed(&mut self, t: Tok<'a>) {
        if self.pending_dml {
            self.pending_dml = false;
            if t != Tok::Punct(b'(') {
                self.r.side_effect = true;
            }
        }
        match t {
            Tok::Word(w) => self.word(w),
            // A built-in is the built-in however its name is quoted: `GET_LOCK`(...) takes the
            // lock (and under ANSI_QUOTES so does "GET_LOCK"(...)).
            Tok::Punct(b'(') => {
                if let Tok::Word(f) | Tok::QIdent(f) | Tok::Str(f, b'"') = self.p1 {
                    if !matches!(self.p2, Tok::At | Tok::AtAt) {
                        self.function(f);
                    }
                }
            }
            Tok::ColonEq => self.r.user_assign = true,
            Tok::At if is_kw(self.p1, b"INTO") => self.r.user_assign = true,
            Tok::At | Tok::AtAt => self.r.var_read = true,
            _ => {}
        }
        self.p3 = self.p2;
        self.p2 = self.p1;
        self.p1 = t;
    }

    /// Feed every remaining token of the statement.
    pub(super) fn run(&mut self, st: &mut Stream<'a>) {
        loop {
            let t = st.next();
            self.feed(t);
            if t == Tok::Eof {
                break;
            }
        }
    }

    pub(super) fn word(&mut self, w: &[u8]) {
        // Fast path: in keyword position only 4- to 7-letter words matter here
        // (INTO, SHARE, VALUE, UPDATE, DELETE, INSERT, REPLACE).
        let keyword_position = !matches!(self.p1, Tok::AtAt | Tok::At | Tok::Punct(b'.'));
        if w.len() == 19 && w.eq_ignore_ascii_case(b"SQL_CALC_FOUND_ROWS") {
            self.r.calc_found_rows = true;
            return;
        }
        if keyword_position && !self.set_value && !(4..=7).contains(&w.len()) {
            return;
        }
        let mut buf = [0u8; KW_MAX];
        let u = upper(w, &mut buf);
        match self.p1 {
            Tok::AtAt => {
                self.sysvar(u);
                return;
            }
            Tok::At => return, // a user variable's name
            Tok::Punct(b'.') => {
                if self.p3 == Tok::AtAt {
                    if is_kw(self.p2, b"GLOBAL") {
                        // The server's state, not the connection's: a hint may still ask a
                        // replica for it.
                        self.r.session_read = true;
                    }
                    self.sysvar(u);
                }
                // Oracle-mode sequence pseudo-columns `seq.NEXTVAL` / `seq.CURRVAL`.
                match u {
                    b"NEXTVAL" => self.r.side_effect = true,
                    b"CURRVAL" => self.r.master_read(),
                    _ => {}
                }
                return;
            }
            _ => {}
        }
        match u {
            // `FOR UPDATE` in a read; a data-changing statement in a WITH body.
            b"UPDATE" | b"DELETE" => self.r.side_effect = true,
            b"INSERT" | b"REPLACE" => self.pending_dml = true,
            // INTO OUTFILE / DUMPFILE / @var / local var.
            b"INTO" => self.r.side_effect = true,
            // FOR SHARE, LOCK IN SHARE MODE.
            b"SHARE" if is_kw(self.p1, b"FOR") || is_kw(self.p1, b"IN") => {
                self.r.side_effect = true
            }
            // MariaDB sequences: NEXT VALUE FOR s / PREVIOUS VALUE FOR s.
            b"VALUE" if is_kw(self.p1, b"NEXT") => self.r.side_effect = true,
            b"VALUE" if is_kw(self.p1, b"PREVIOUS") => self.r.master_read(),
            // In a SET value: a subquery, or a time read without parentheses.
            b"SELECT" | b"CURRENT_TIMESTAMP" | b"CURRENT_DATE" | b"CURRENT_TIME" | b"LOCALTIME"
            | b"LOCALTIMESTAMP" | b"UTC_TIMESTAMP" | b"UTC_DATE" | b"UTC_TIME"
                if self.set_value =>
            {
                self.r.nondet = true
            }
            _ => {}
        }
    }

    pub(super) fn function(&mut self, f: &[u8]) {
        let mut buf = [0u8; KW_MAX];
        match upper(f, &mut buf) {
            b"GET_LOCK" => {
                self.r.side_effect = true;
                self.r.lock = true;
            }
            b"RELEASE_LOCK"
            | b"RELEASE_ALL_LOCKS"
            | b"NEXTVAL"
            | b"SETVAL"
            | b"MASTER_POS_WAIT"
            | b"SOURCE_POS_WAIT"
            | b"MASTER_GTID_WAIT"
            | b"WAIT_FOR_EXECUTED_GTID_SET"
            | b"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS" => self.r.side_effect = true,
            b"IS_FREE_LOCK" | b"IS_USED_LOCK" | b"LAST_INSERT_ID" | b"LASTVAL" => {
                self.r.master_read()
            }
            b"CONNECTION_ID" => {
                self.r.master_read();
                self.r.conn_id = true;
            }
            b"UUID" | b"UUID_SHORT" | b"SYS_GUID" | b"RAND" | b"RANDOM_BYTES" | b"NOW"
            | b"SYSDATE" | b"CURRENT_TIMESTAMP" | b"CURTIME" | b"CURDATE" | b"CURRENT_TIME"
            | b"CURRENT_DATE" | b"LOCALTIME" | b"LOCALTIMESTAMP" | b"UNIX_TIMESTAMP"
            | b"UTC_TIMESTAMP" | b"UTC_DATE" | b"UTC_TIME" => self.r.nondet = true,
            b"FOUND_ROWS" => {
                self.r.session_read = true;
                self.r.prev_dep = true;
                self.r.found_rows = true;
            }
            b"ROW_COUNT" => {
                self.r.session_read = true;
                self.r.prev_dep = true;
            }
            // In a SET value, a function the proxy does not know (a stored function that reads
            // tables, a loadable one) gives its value once: replaying the expression on another
            // backend, later, may give another (`SET @c = cnt()` after more inserts).
            u if self.set_value && !pure_builtin(u) => self.r.nondet = true,
            _ => {}
        }
    }

    /// A system variable read (`@@name` or `@@scope.name`).
    pub(super) fn sysvar(&mut self, u: &[u8]) {
        match u {
            b"WARNING_COUNT" | b"ERROR_COUNT" => self.r.last = true,
            // Per-connection results of earlier writes, and whether the server takes
            // writes (an app that checks @@read_only must see the master's answer).
            // @@server_id / @@hostname are plain reads: they tell which server answered.
            b"IDENTITY" | b"LAST_INSERT_ID" | b"INSERT_ID" | b"LAST_GTID" => self.r.master_read(),
            b"READ_ONLY" | b"SUPER_READ_ONLY" | b"INNODB_READ_ONLY" => self.r.session_read = true,
            _ if u.starts_with(b"GTID_") => self.r.session_read = true,
            // Which server answers, or when: different on each backend.
            b"SERVER_ID" | b"HOSTNAME" | b"PORT" | b"SOCKET" | b"TIMESTAMP"
            | b"PSEUDO_THREAD_ID" | b"SERVER_UUID" => self.r.nondet = true,
            _ => {}
        }
    }
}

/// Built-in functions whose value depends only on their arguments and the session's settings
/// (which a replay carries): a SET value made of these is the same wherever it is replayed.
fn pure_builtin(u: &[u8]) -> bool {
    matches!(
        u,
        b"ABS"
            | b"ACOS"
            | b"ASIN"
            | b"ATAN"
            | b"ATAN2"
            | b"BIN"
            | b"BIT_LENGTH"
            | b"CAST"
            | b"CEIL"
            | b"CEILING"
            | b"CHAR"
            | b"CHAR_LENGTH"
            | b"CHARACTER_LENGTH"
            | b"CHARSET"
            | b"CHR"
            | b"COALESCE"
            | b"COLLATION"
            | b"CONCAT"
            | b"CONCAT_WS"
            | b"CONV"
            | b"CONVERT"
            | b"COS"
            | b"COT"
            | b"CRC32"
            | b"CURRENT_USER"
            | b"DATABASE"
            | b"DATE"
            | b"DATE_ADD"
            | b"DATE_FORMAT"
            | b"DATE_SUB"
            | b"DAY"
            | b"DAYNAME"
            | b"DAYOFMONTH"
            | b"DAYOFWEEK"
            | b"DAYOFYEAR"
            | b"DEGREES"
            | b"ELT"
            | b"EXP"
            | b"EXTRACT"
            | b"FIELD"
            | b"FIND_IN_SET"
            | b"FLOOR"
            | b"FORMAT"
            | b"FROM_BASE64"
            | b"GREATEST"
            | b"HEX"
            | b"HOUR"
            | b"IF"
            | b"IFNULL"
            | b"INET_ATON"
            | b"INET_NTOA"
            | b"INSTR"
            | b"ISNULL"
            | b"JSON_ARRAY"
            | b"JSON_EXTRACT"
            | b"JSON_OBJECT"
            | b"JSON_QUOTE"
            | b"JSON_REMOVE"
            | b"JSON_REPLACE"
            | b"JSON_SET"
            | b"JSON_UNQUOTE"
            | b"JSON_VALUE"
            | b"LCASE"
            | b"LEAST"
            | b"LEFT"
            | b"LENGTH"
            | b"LN"
            | b"LOCATE"
            | b"LOG"
            | b"LOG10"
            | b"LOG2"
            | b"LOWER"
            | b"LPAD"
            | b"LTRIM"
            | b"MAKEDATE"
            | b"MD5"
            | b"MID"
            | b"MINUTE"
            | b"MOD"
            | b"MONTH"
            | b"MONTHNAME"
            | b"NULLIF"
            | b"OCT"
            | b"ORD"
            | b"PI"
            | b"POSITION"
            | b"POW"
            | b"POWER"
            | b"QUARTER"
            | b"QUOTE"
            | b"RADIANS"
            | b"REGEXP_INSTR"
            | b"REGEXP_REPLACE"
            | b"REGEXP_SUBSTR"
            | b"REPEAT"
            | b"REPLACE"
            | b"REVERSE"
            | b"RIGHT"
            | b"ROUND"
            | b"RPAD"
            | b"RTRIM"
            | b"SCHEMA"
            | b"SECOND"
            | b"SESSION_USER"
            | b"SHA"
            | b"SHA1"
            | b"SHA2"
            | b"SIGN"
            | b"SIN"
            | b"SPACE"
            | b"SQRT"
            | b"STRCMP"
            | b"STR_TO_DATE"
            | b"SUBSTR"
            | b"SUBSTRING"
            | b"SUBSTRING_INDEX"
            | b"SYSTEM_USER"
            | b"TAN"
            | b"TIME"
            | b"TIME_FORMAT"
            | b"TIMEDIFF"
            | b"TIMESTAMPDIFF"
            | b"TO_BASE64"
            | b"TRIM"
            | b"TRUNCATE"
            | b"UCASE"
            | b"UNHEX"
            | b"UPPER"
            | b"USER"
            | b"VERSION"
            | b"WEEK"
            | b"WEEKDAY"
            | b"YEAR"
            | b"YEARWEEK"
    )
}
