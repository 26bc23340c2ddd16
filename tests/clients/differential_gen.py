"""The grammar of the differential test (tests/clients/differential.py): the schema each side
starts from and the seeded generator of session scripts.

A script is a list of Step (SQL text with {DB}, {DB2}, {LK}, {CSV} placeholders, or a client
action) plus the connection options (Opts). Gen keeps a rough model of the session (open
transaction, temporary tables, current database, user variables) so most statements mean
something; every statement family is tagged, and the tags name the differences in the report
(and let --exclude-tags leave known ones out when hunting by hand).
"""
import random
import re


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------

def setup_sql(db, db2):
    """Statements creating one side's two databases (run on the master, admin connection)."""
    return [
        f"DROP DATABASE IF EXISTS {db}",
        f"DROP DATABASE IF EXISTS {db2}",
        f"CREATE DATABASE {db} CHARACTER SET utf8mb4",
        f"CREATE DATABASE {db2} CHARACTER SET utf8mb4",
        f"CREATE TABLE {db}.t1 (id INT AUTO_INCREMENT PRIMARY KEY, k INT, s VARCHAR(8), "
        f"d DECIMAL(8,2), ts TIMESTAMP NULL, dt DATETIME NULL, UNIQUE KEY uk (k)) ENGINE=InnoDB",
        f"CREATE TABLE {db}.t2 (id INT AUTO_INCREMENT PRIMARY KEY, t1_id INT, note VARCHAR(40), "
        f"n DOUBLE, KEY (t1_id)) ENGINE=InnoDB",
        f"CREATE TABLE {db}.t4 (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=MyISAM",
        # non-deterministic values (UUID(), RAND() ...) go here; only compared through
        # "is the stored value equal to the variable" queries, never read out
        f"CREATE TABLE {db}.nd (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))",
        f"CREATE SEQUENCE {db}.s1 START WITH 100 INCREMENT BY 1 CACHE 10",
        f"INSERT INTO {db}.t1 (k, s, d, ts, dt) VALUES "
        "(10, 'a', 1.50, '2020-01-01 00:00:00', '2020-01-01 00:00:00'), "
        "(20, 'bb', 2.25, '2020-06-15 12:30:00', '2020-06-15 12:30:00'), "
        "(30, 'abc', -3.00, NULL, NULL), "
        "(40, 'zoë', 0.10, '2021-12-31 23:59:59', '2021-12-31 23:59:59'), "
        "(50, NULL, NULL, '2022-03-04 05:06:07', '1999-09-09 09:09:09')",
        f"INSERT INTO {db}.t2 (t1_id, note, n) VALUES (1, 'one', 1.5), (1, 'uno', 0.25), "
        "(2, 'two', -7), (4, NULL, 1e10), (9, 'orphan', 0)",
        f"INSERT INTO {db}.t4 (v) VALUES (1), (2), (3)",
        f"CREATE PROCEDURE {db}.p_out(OUT x INT) SET x = 42",
        f"CREATE PROCEDURE {db}.p_cnt(OUT n INT) SELECT COUNT(*) INTO n FROM t1",
        f"CREATE PROCEDURE {db}.p_sel() SELECT id, k FROM t1 ORDER BY id",
        f"CREATE PROCEDURE {db}.p_ins(IN v INT) INSERT INTO t2 (t1_id, note) VALUES (v, 'proc')",
        # state changed where the statement text does not show it (session trackers)
        f"CREATE PROCEDURE {db}.p_state() BEGIN SET @ps = 11; SET time_zone = '+03:00'; END",
        f"CREATE PROCEDURE {db}.p_tmp() CREATE TEMPORARY TABLE tmp_proc (a INT)",
        f"CREATE FUNCTION {db}.f_set() RETURNS INT READS SQL DATA BEGIN SET @fs = 5; RETURN 3; END",
        f"CREATE FUNCTION {db}.f_cnt() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM {db}.t1)",
        f"CREATE TRIGGER {db}.t4_ai AFTER INSERT ON {db}.t4 FOR EACH ROW SET @trig = NEW.v",
        f"CREATE TABLE {db2}.t1 (id INT AUTO_INCREMENT PRIMARY KEY, k INT, s VARCHAR(8), "
        f"d DECIMAL(8,2), ts TIMESTAMP NULL, dt DATETIME NULL, UNIQUE KEY uk (k)) ENGINE=InnoDB",
        f"CREATE TABLE {db2}.t3 (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB",
        f"INSERT INTO {db2}.t1 (k, s, d) VALUES (100, 'other', 9.99), (200, 'db2', 0)",
        f"INSERT INTO {db2}.t3 (v) VALUES ('x'), ('y')",
    ]


TABLES_FOR_FINAL_CHECK = [("DB", "t1"), ("DB", "t2"), ("DB", "t4"), ("DB2", "t1"), ("DB2", "t3")]


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------

STR_LITS = ["'a'", "'bb'", "'abc'", "'ABC'", "'zoë'", "'toolongvalue'", "'12abc'", "''", "NULL",
            "'😀x'", "'O''Brien'", "'back\\\\sl'", "'Ünï'", "'a\\'b'"]
DEC_LITS = ["1.5", "2.25", "-3", "0", "99999999", "1.005", "NULL", "'x1'"]
TS_LITS = ["'2020-01-01 00:00:00'", "'2021-06-15 12:30:00'", "'1970-01-01 00:00:01'",
           "'0000-00-00 00:00:00'", "'2038-01-19 03:14:08'", "NULL", "'2020-02-30 00:00:00'"]
SQL_MODES = ["''", "'STRICT_TRANS_TABLES'", "'STRICT_ALL_TABLES,NO_ZERO_DATE'", "'TRADITIONAL'",
             "'ANSI_QUOTES'", "'PIPES_AS_CONCAT'", "'NO_BACKSLASH_ESCAPES'",
             "'ONLY_FULL_GROUP_BY'", "'ERROR_FOR_DIVISION_BY_ZERO,STRICT_TRANS_TABLES'",
             "'ANSI'", "DEFAULT", "'NO_AUTO_VALUE_ON_ZERO'", "'PAD_CHAR_TO_FULL_LENGTH'",
             "CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')", "'IGNORE_SPACE'", "'REAL_AS_FLOAT'"]
TIME_ZONES = ["'+00:00'", "'+05:30'", "'-08:00'", "'SYSTEM'", "'Europe/Paris'", "'+14:00'",
              "DEFAULT"]
SESSION_VARS = [
    "sql_mode", "time_zone", "character_set_client", "character_set_results",
    "character_set_connection", "collation_connection", "div_precision_increment",
    "group_concat_max_len", "autocommit", "tx_isolation", "tx_read_only", "in_transaction",
    "sql_select_limit", "auto_increment_increment", "auto_increment_offset", "foreign_key_checks",
    "sql_notes", "lc_time_names", "lc_messages", "max_error_count", "sql_safe_updates",
    "unique_checks", "default_storage_engine", "sql_auto_is_null", "big_tables", "timestamp",
    "last_insert_id", "identity", "insert_id", "warning_count", "error_count",
    "session_track_system_variables", "max_statement_time", "transaction_isolation",
    "sql_quote_show_create", "names",
]
USER_VARS = ["@a", "@b", "@c", "@n", "@s", "@k"]


class Step:
    """One action of a script. kind: sql | initdb | ping | reset | sleep | autocommit | reconnect."""

    __slots__ = ("kind", "arg", "tag")

    def __init__(self, kind, arg=None, tag=""):
        self.kind, self.arg, self.tag = kind, arg, tag

    def text(self):
        if self.kind == "sql":
            return self.arg
        if self.kind == "initdb":
            return f"-- COM_INIT_DB {self.arg}"
        if self.kind == "ping":
            return "-- COM_PING"
        if self.kind == "reset":
            return "-- COM_RESET_CONNECTION"
        if self.kind == "sleep":
            return f"-- client sleeps {self.arg}s (idle: multiplexing hand-back)"
        if self.kind == "autocommit":
            return f"-- PyMySQL conn.autocommit({self.arg})"
        if self.kind == "reconnect":
            return "-- disconnect and connect again (same options)"
        return f"-- {self.kind} {self.arg}"


class Opts:
    """Connection options of a script."""

    def __init__(self, autocommit=True, multi=False, init_command=None, sql_mode=None):
        self.autocommit, self.multi = autocommit, multi
        self.init_command, self.sql_mode = init_command, sql_mode

    def describe(self):
        parts = [f"autocommit={self.autocommit}"]
        if self.multi:
            parts.append("client_flag=MULTI_STATEMENTS")
        if self.sql_mode is not None:
            parts.append(f"sql_mode={self.sql_mode!r}")
        if self.init_command is not None:
            parts.append(f"init_command={self.init_command!r}")
        return "connect(" + ", ".join(parts) + ")"

    def copy(self, **kw):
        o = Opts(self.autocommit, self.multi, self.init_command, self.sql_mode)
        for k, v in kw.items():
            setattr(o, k, v)
        return o


class Gen:
    """Seeded script generator with a rough model of the session (transaction, temporary tables,
    current database, user variables) to keep most statements meaningful."""

    def __init__(self, seed, count, exclude=None, no_multi=False):
        self.exclude = re.compile(exclude) if exclude else None
        self.r = random.Random(seed)
        r = self.r
        self.count = count if count else r.randint(30, 60)
        self.opts = Opts(
            autocommit=r.random() < 0.7,
            multi=r.random() < 0.3,
            init_command=r.choice([None] * 6 + ["SET time_zone='+03:00'",
                                                "SET sql_mode='TRADITIONAL'",
                                                "SET @init = 7",
                                                "SET SESSION group_concat_max_len = 16"]),
            sql_mode=r.choice([None] * 8 + ["STRICT_TRANS_TABLES", ""]),
        )
        if no_multi:
            self.opts.multi = False
        self.in_txn = not self.opts.autocommit
        self.autocommit = self.opts.autocommit
        self.temps = []
        self.db = "{DB}"
        self.uvars = ["@init"] if self.opts.init_command == "SET @init = 7" else []
        self.nd_vars = []
        self.timestamp_set = False
        self.steps = []

    # -- small helpers --
    def p(self, prob):
        return self.r.random() < prob

    def c(self, seq):
        return self.r.choice(seq)

    def k(self):
        return self.c([10, 20, 30, 40, 50, 60, self.r.randint(0, 99)])

    def idv(self):
        return self.r.randint(1, 9)

    def s(self):
        return self.c(STR_LITS)

    def table(self):
        # a table of the current database (t3 exists only in DB2, t2/t4 only in DB)
        if self.temps and self.p(0.3):
            return self.c(self.temps)
        return self.c(["t1", "t1", "t2", "t4"] if self.db == "{DB}" else ["t1", "t1", "t3"])

    def uvar(self):
        if self.uvars and self.p(0.8):
            return self.c(self.uvars)
        return self.c(USER_VARS)

    def expr(self):
        r = self.r
        choices = [str(r.randint(-5, 100)), self.s(), "1/3", "@@session.div_precision_increment",
                   "NULL", "'2020-01-01 10:00:00'", "CHAR_LENGTH('zoë')", "0.1 + 0.2",
                   "@@sql_mode", "DATABASE()", "(SELECT COUNT(*) FROM t1)",
                   "(SELECT MAX(id) FROM t1)", "LAST_INSERT_ID()", "ROW_COUNT()", "FOUND_ROWS()",
                   "CONCAT('x', 1)", "UNIX_TIMESTAMP('2020-01-01 00:00:00')", "@@time_zone",
                   "CAST('9z' AS SIGNED)", "'a' || 'b'", "@@character_set_client"]
        if self.uvars:
            v = self.c(self.uvars)
            choices += [f"{v} + 1", f"CONCAT({v}, '-')", f"COALESCE({v}, 0) * 2", v]
        return self.c(choices)

    def dress(self, sql):
        """Comments, case and whitespace a real application or ORM puts around statements."""
        r = self.r
        if r.random() < 0.12:
            sql = self.c(["/* app */ ", "-- c\n", "# c\n", "/*!40101 */ ", "\n  ", "/* a;b */"]) + sql
        if r.random() < 0.08:
            first, _, rest = sql.partition(" ")
            sql = first.lower() + " " + rest
        if r.random() < 0.04:
            sql = sql + self.c([" ", ";", " -- tail", "\n"])
        return sql

    # -- statement families: each appends one or more steps --
    @staticmethod
    def tag_found_rows_first(steps):
        """FOUND_ROWS() before the session's first SELECT (since connect, reset or reconnect)
        reads whatever the connection ran before the session: a fresh connection's history
        when direct, a pooled connection's through the proxy (README, Known limitations).
        Tagged `..._first` on the script as it will run."""
        selected = False
        for st in steps:
            if st.kind in ("reset", "reconnect"):
                selected = False
            elif st.kind == "sql":
                if "FOUND_ROWS()" in st.arg.upper() and not selected and "_first" not in st.tag:
                    # The tag names FOUND_ROWS whatever family the statement is from
                    # (`SELECT @b := FOUND_ROWS()` is a select_assign), so one pattern in
                    # KNOWN_DIFFERENCES (tests/differential.rs) covers every such statement.
                    st.tag += "_first" if "found_rows" in st.tag else "_found_rows_first"
                if "SELECT" in st.arg.upper():
                    selected = True

    def add(self, sql, tag, dress=True):
        if dress and self.r.random() < 0.03:
            # routing hints as applications write them (a hint never makes a write or a
            # session-dependent statement leave the master)
            hint = self.c(["/* rwsplit:replica */ ", "/* rwsplit:replica */ ", "/* rwsplit:master */ "])
            sql, tag = hint + sql, tag + "+hint_" + hint[11:-4]
        self.steps.append(Step("sql", self.dress(sql) if dress else sql, tag))

    def excluded(self, step):
        return self.exclude is not None and self.exclude.search(step.tag) is not None

    def g_select(self):
        t = self.table()
        k, i = self.k(), self.idv()
        forms = [
            (f"SELECT * FROM {t} ORDER BY id", "select_all"),
            (f"SELECT * FROM {t} WHERE id = {i}", "select_id"),
            (f"SELECT COUNT(*) FROM {t}", "select_count"),
            (f"SELECT id, k, s FROM t1 WHERE k > {k} ORDER BY k DESC LIMIT 2", "select_range"),
            ("SELECT COUNT(*), SUM(k), AVG(d), MIN(s), MAX(id), AVG(k) / 7 FROM t1", "select_agg"),
            ("SELECT k DIV 20 AS g, COUNT(*), GROUP_CONCAT(s ORDER BY id) FROM t1 GROUP BY g ORDER BY g",
             "select_group_concat"),
            ("SELECT GROUP_CONCAT(note ORDER BY id SEPARATOR ',') FROM t2", "select_group_concat"),
            ("SELECT t1.id, t2.note FROM t1 JOIN t2 ON t2.t1_id = t1.id ORDER BY t1.id, t2.id",
             "select_join"),
            (f"SELECT id FROM t1 WHERE s = {self.s()}", "select_collation"),
            (f"SELECT id, ts, dt, UNIX_TIMESTAMP(ts) FROM t1 WHERE id = {i}", "select_tz"),
            ("SELECT id, ts FROM t1 ORDER BY id", "select_tz"),
            ("SELECT id, k FROM {DB2}.t1 ORDER BY id", "select_db2"),
            ("SELECT * FROM t3 ORDER BY id", "select_t3"),
            (f"SELECT k, COUNT(*) FROM t1 GROUP BY k HAVING COUNT(*) > 0 ORDER BY k LIMIT {self.r.randint(1, 4)}",
             "select_group"),
            ("SELECT id, s FROM t1", "select_unordered"),
            ("(SELECT id FROM t1 ORDER BY id LIMIT 1) UNION ALL (SELECT id FROM t2 ORDER BY id LIMIT 1)",
             "select_union"),
            ("WITH c AS (SELECT k FROM t1 WHERE k IS NOT NULL) SELECT COUNT(*), SUM(k) FROM c", "select_cte"),
            ("SELECT id, s, LENGTH(s), HEX(s) FROM t1 ORDER BY id", "select_bytes"),
            ("SELECT * FROM s1", "select_sequence_table"),
            (f"SELECT * FROM no_such_table_{self.r.randint(1, 3)}", "select_error"),
            ("SELECT nosuchcol FROM t1", "select_error"),
            (f"SELECT id, k FROM t1 WHERE id = {i} FOR UPDATE", "select_for_update"),
            (f"SELECT id, k FROM t1 WHERE k >= {k} LOCK IN SHARE MODE", "select_share"),
            (f"SELECT id FROM t1 WHERE id = {i} FOR UPDATE SKIP LOCKED", "select_for_update"),
            (f"SELECT id FROM t1 WHERE id = {i} FOR SHARE", "select_share"),
            ("SELECT COUNT(*) FROM v1", "select_view"),
            ("SELECT table_name, table_type FROM information_schema.tables "
             "WHERE table_schema = DATABASE() ORDER BY 1", "select_i_s"),
            (f"/* rwsplit:replica */ SELECT COUNT(*), MAX(id) FROM {t}", "select_hint_replica"),
            (f"/* rwsplit:master */ SELECT COUNT(*), MAX(id) FROM {t}", "select_hint_master"),
            ("SELECT * FROM t1 WHERE id IS NULL", "select_auto_is_null"),
            ("VALUES (1, 'a'), (2, 'b')", "select_values"),
            ("SELECT SLEEP(0)", "select_sleep"),
            (f"SELECT id, s FROM t1 WHERE k = {self.uvar()} OR id = {self.uvar()} ORDER BY id", "select_uvar_where"),
            ("SHOW CREATE PROCEDURE p_out", "show_create_procedure"),
            ("CHECKSUM TABLE t1, t2", "checksum"),
            ("SELECT _latin1'\xe9' = _utf8mb4'\xe9', CONVERT('zoë' USING latin1), _utf8mb4'Ab' COLLATE utf8mb4_bin = 'ab'",
             "expr_introducer"),
            ("SELECT id FROM t1 WHERE id = 1 /*!50000 FOR UPDATE */", "select_exec_comment_lock"),
            ("SELECT SETVAL(s1, 500)", "sequence_setval"),
        ]
        sql, tag = self.c(forms)
        self.add(sql, tag)

    def g_calc_found_rows(self):
        lim = self.r.randint(0, 3)
        where = self.c(["", f" WHERE k > {self.k()}", " WHERE id < 4"])
        self.add(f"SELECT SQL_CALC_FOUND_ROWS id, k FROM t1{where} ORDER BY id LIMIT {lim}",
                 "calc_found_rows")
        if self.p(0.3):
            self.g_any(simple=True)
        self.add("SELECT FOUND_ROWS()", "found_rows")

    def g_expr_select(self):
        forms = [
            ("SELECT 1/7, 2/3, 10/4", "expr_div"),
            ("SELECT 'a' || 'b', 'x' 'y'", "expr_pipes"),
            ('SELECT "dq"', "expr_ansi_quotes"),
            ("SELECT 'a\\'b', 'c\\\\d', LENGTH('\\\\')", "expr_backslash"),
            ("SELECT CAST('abc' AS SIGNED), CAST('12x' AS UNSIGNED)", "expr_warn_cast"),
            ("SELECT 1/0, 5 % 0", "expr_div_zero"),
            ("SELECT FROM_UNIXTIME(1000000000), UNIX_TIMESTAMP('2020-06-01 12:00:00')", "expr_tz"),
            ("SELECT CONVERT_TZ('2020-06-01 12:00:00', @@session.time_zone, '+00:00')", "expr_tz"),
            ("SELECT DATE_FORMAT('2020-01-05', '%W %M %a %b')", "expr_lc_time"),
            ("SELECT CHARSET('x'), COLLATION('x'), LENGTH('zoë'), CHAR_LENGTH('zoë')", "expr_charset"),
            ("SELECT 'abc' = 'ABC', 'a' = 'a '", "expr_collation"),
            ("SELECT LAST_INSERT_ID()", "last_insert_id"),
            ("SELECT LAST_INSERT_ID(), ROW_COUNT()", "last_insert_id"),
            ("SELECT ROW_COUNT()", "row_count"),
            ("SELECT FOUND_ROWS()", "found_rows_bare"),
            ("SELECT DATABASE(), SCHEMA()", "database"),
            (f"SELECT LAST_INSERT_ID({self.r.randint(1, 500)})", "last_insert_id_set"),
            ("SELECT 18446744073709551615, -9223372036854775808, 1e308, 0.1e-5, NULL, ''", "expr_literals"),
            ("SELECT REPEAT('ab', 300) = REPEAT('ab', 300), LENGTH(REPEAT('x', 70000))", "expr_big"),
            ("SELECT NEXTVAL(s1)", "sequence_next"),
            ("SELECT LASTVAL(s1), PREVIOUS VALUE FOR s1", "sequence_last"),
            ("SELECT NEXT VALUE FOR s1", "sequence_next"),
            ("SELECT GET_LOCK('{LK}a', 0)", "lock_fn"),
            ("SELECT RELEASE_LOCK('{LK}a')", "lock_fn"),
            ("SELECT IS_USED_LOCK('{LK}a') IS NOT NULL, IS_FREE_LOCK('{LK}a')", "lock_fn_read"),
            ("SELECT RELEASE_ALL_LOCKS()", "lock_fn"),
            ("SELECT @@warning_count, @@error_count", "var_warning_count"),
            ("SELECT @@identity, @@last_insert_id", "var_identity"),
            ("SELECT @@in_transaction, @@autocommit", "var_in_transaction"),
            ("SELECT NOW() = NOW(), CURDATE() = CURDATE()", "expr_now_eq"),
            ("SELECT 1 FROM DUAL WHERE 1 = 0", "expr_empty"),
        ]
        if self.timestamp_set:
            forms.append(("SELECT NOW(), CURRENT_TIMESTAMP(), UNIX_TIMESTAMP()", "expr_now_fixed"))
        sql, tag = self.c(forms)
        self.add(sql, tag)

    def g_session_var_read(self):
        n = self.r.randint(1, 3)
        vs = [self.c(SESSION_VARS) for _ in range(n)]
        vs = ["character_set_client" if v == "names" else v for v in vs]
        if not self.timestamp_set:  # the clock: differs between any two statements
            vs = [v for v in vs if v != "timestamp"] or ["sql_mode"]
        form = self.c(["SELECT " + ", ".join("@@" + v for v in vs),
                       "SELECT " + ", ".join("@@session." + v for v in vs),
                       f"SHOW SESSION VARIABLES LIKE '{vs[0]}'",
                       f"SHOW VARIABLES WHERE Variable_name = '{vs[0]}'"])
        self.add(form, "var_read:" + ",".join(vs))

    def g_user_var_read(self):
        vs = sorted(set(self.uvar() for _ in range(self.r.randint(1, 3))))
        if self.nd_vars and self.p(0.4):
            v = self.c(self.nd_vars)
            # (never the value itself, nor its length: RAND() and CONNECTION_ID() vary in length)
            self.add(self.c([f"SELECT {v} IS NULL, {v} = {v}",
                             f"SELECT COUNT(*) FROM nd WHERE v = {v}",
                             f"SELECT {v} = @nd_copy"]), "nd_var_read")
            return
        self.add("SELECT " + ", ".join(vs), "uvar_read")

    def g_set_session(self):
        r = self.r
        forms = [
            (lambda: f"SET sql_mode = {self.c(SQL_MODES)}", "set_sql_mode"),
            (lambda: f"SET SESSION sql_mode = {self.c(SQL_MODES)}", "set_sql_mode"),
            (lambda: f"SET @@session.sql_mode = {self.c(SQL_MODES)}", "set_sql_mode"),
            (lambda: f"SET time_zone = {self.c(TIME_ZONES)}", "set_time_zone"),
            (lambda: f"SET @@time_zone = {self.c(TIME_ZONES)}", "set_time_zone"),
            (lambda: self.c(["SET NAMES latin1", "SET NAMES utf8mb4", "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
                             "SET NAMES 'utf8'", "SET CHARACTER SET utf8mb4", "SET NAMES binary",
                             "SET character_set_results = latin1", "SET character_set_results = NULL",
                             "SET collation_connection = utf8mb4_unicode_ci", "SET NAMES ascii",
                             "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci"]), "set_names"),
            (lambda: f"SET div_precision_increment = {r.randint(0, 10)}", "set_div_precision"),
            (lambda: f"SET SESSION group_concat_max_len = {self.c([4, 8, 16, 1024, 4])}", "set_gc_max_len"),
            (lambda: f"SET sql_select_limit = {self.c(['1', '2', 'DEFAULT'])}", "set_select_limit"),
            (lambda: f"SET SESSION auto_increment_increment = {self.c([1, 3, 10])}", "set_auto_inc"),
            (lambda: f"SET auto_increment_offset = {self.c([1, 2])}", "set_auto_inc"),
            (lambda: f"SET insert_id = {r.randint(100, 200)}", "set_insert_id"),
            (lambda: f"SET last_insert_id = {r.randint(1, 99)}", "set_last_insert_id"),
            (lambda: self.set_timestamp(), "set_timestamp"),
            (lambda: f"SET sql_notes = {self.c([0, 1])}", "set_sql_notes"),
            (lambda: f"SET SESSION max_error_count = {self.c([0, 1, 64])}", "set_max_error_count"),
            (lambda: f"SET SQL_SAFE_UPDATES = {self.c([0, 1])}", "set_safe_updates"),
            (lambda: f"SET lc_time_names = {self.c(['de_DE', 'fr_FR', 'en_US'])}", "set_lc_time"),
            (lambda: f"SET lc_messages = {self.c(['de_DE', 'en_US'])}", "set_lc_messages"),
            (lambda: f"SET SESSION default_storage_engine = {self.c(['MyISAM', 'InnoDB'])}", "set_engine"),
            (lambda: f"SET foreign_key_checks = {self.c([0, 1])}, unique_checks = {self.c([0, 1])}", "set_checks"),
            (lambda: f"SET SESSION sql_auto_is_null = {self.c([0, 1])}", "set_auto_is_null"),
            (lambda: self.c(["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                             "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                             "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                             "SET SESSION tx_isolation = 'READ-UNCOMMITTED'"]), "set_isolation"),
            (lambda: self.c(["SET TRANSACTION READ ONLY", "SET SESSION TRANSACTION READ ONLY",
                             "SET SESSION TRANSACTION READ WRITE", "SET SESSION tx_read_only = 0",
                             "SET TRANSACTION READ WRITE"]), "set_tx_read_only"),
            (lambda: f"SET max_statement_time = {self.c([0, 5])}", "set_max_statement_time"),
            (lambda: "SET SESSION session_track_system_variables = " + self.c(["''", "'*'", "DEFAULT"]),
             "set_session_track"),
            (lambda: "SET GLOBAL max_connections = 1000", "set_global"),
            (lambda: f"SET @@local.group_concat_max_len = {r.randint(4, 30)}, time_zone = {self.c(TIME_ZONES)}",
             "set_multi_session"),
            (lambda: "SET sql_mode = 'NO_SUCH_MODE'", "set_error"),
            (lambda: "SET no_such_variable = 1", "set_error"),
            (lambda: f"SET big_tables = {self.c([0, 1])}", "set_big_tables"),
        ]
        f, tag = self.c(forms)
        self.add(f(), tag)

    def set_timestamp(self):
        if self.p(0.2):
            self.timestamp_set = False
            return "SET timestamp = DEFAULT"
        self.timestamp_set = True
        return f"SET timestamp = {self.r.randint(1000000000, 1700000000)}"

    def g_set_user(self):
        r = self.r
        v = self.c(USER_VARS)
        forms = [
            (f"SET {v} = {self.expr()}", "set_uvar"),
            (f"SET {v} := {self.expr()}", "set_uvar"),
            (f"SET {v} = {self.expr()}, {self.c(USER_VARS)} = {self.expr()}", "set_uvar_multi"),
            (f"SET {v} = {self.expr()}, sql_mode = {self.c(SQL_MODES)}", "set_uvar_and_session"),
            (f"SET {v} = {v} + 1", "set_uvar_incr"),
            (f"SET {v} = (SELECT COUNT(*) FROM t1)", "set_uvar_subquery"),
            (f"SET {v} = LAST_INSERT_ID()", "set_uvar_last_insert_id"),
            (f"SET {v} = ROW_COUNT()", "set_uvar_row_count"),
            (f"SET {v} = FOUND_ROWS()", "set_uvar_found_rows"),
            (f"SET {v} = @@sql_mode", "set_uvar_from_session"),
            (f"SELECT {v} := {self.expr()}", "select_assign"),
            (f"SELECT k INTO {v} FROM t1 WHERE id = {self.idv()}", "select_into"),
            (f"SELECT MAX(id), MIN(s) INTO {v}, {self.c(USER_VARS)} FROM t1", "select_into"),
            ("SELECT @s := s, k FROM t1 ORDER BY id LIMIT 1", "select_assign"),
            (f"DO {v} := {r.randint(1, 9)}", "do_assign"),
            ("SELECT id, @r := COALESCE(@r, 0) + 1 AS rn FROM t1 ORDER BY id", "select_assign_rownum"),
            (f"SELECT id FROM t1 WHERE ({v} := id) > 3 ORDER BY id", "select_assign_where"),
            (f"SELECT k FROM t1 WHERE id = {self.idv()} INTO {v}", "select_into_trailing"),
            ("SET @`q v` = 3, @'w' = 'x'", "set_uvar_quoted"),
            ("SELECT @`q v`, @'w', @W", "uvar_read_quoted"),
            (f"SET {v.upper()} = {r.randint(1, 9)}", "set_uvar_case"),
        ]
        sql, tag = self.c(forms)
        for u in re.findall(r"@[a-z]+", sql):
            if u not in self.uvars:
                self.uvars.append(u)
        self.add(sql, tag)

    def g_nd_var(self):
        fn = self.c(["UUID()", "RAND()", "NOW(6)", "CONNECTION_ID()", "SYSDATE(6)", "UUID_SHORT()"])
        # as a string: compared with the VARCHAR column without a warning that would quote it
        self.add(f"SET @nd = CONCAT({fn})", "set_nd_var")
        if "@nd" not in self.nd_vars:
            self.nd_vars.append("@nd")
        if self.p(0.5):
            self.add("SET @nd_copy = @nd", "set_nd_var")
        if self.p(0.5):
            self.add("INSERT INTO nd (v) VALUES (@nd)", "insert_nd_var")

    def g_saved_mode(self):
        self.add(f"SET sql_mode = {self.c(SQL_MODES)}", "set_sql_mode")
        self.add("SET @saved_mode = @@sql_mode", "set_uvar_from_session")
        self.uvars.append("@saved_mode")
        self.add(f"SET sql_mode = {self.c(SQL_MODES)}", "set_sql_mode")
        if self.p(0.5):
            self.g_any(simple=True)
        self.add("SET sql_mode = @saved_mode", "restore_sql_mode")
        if self.p(0.7):
            self.add("SELECT @@sql_mode", "var_read:sql_mode")

    def g_insert(self):
        k, s = self.k(), self.s()
        forms = [
            (f"INSERT INTO t1 (k, s, d) VALUES ({k}, {s}, {self.c(DEC_LITS)})", "insert"),
            (f"INSERT INTO t1 (k, s) VALUES ({k}, {s}), ({self.k()}, {self.s()})", "insert_multi"),
            (f"INSERT INTO t1 (id, k) VALUES ({self.idv()}, {k})", "insert_explicit_id"),
            (f"INSERT IGNORE INTO t1 (k, s) VALUES ({k}, {s})", "insert_ignore"),
            (f"INSERT INTO t1 (k, s) VALUES ({k}, {s}) ON DUPLICATE KEY UPDATE s = VALUES(s), d = 7",
             "insert_odku"),
            (f"REPLACE INTO t1 (id, k, s) VALUES ({self.idv()}, {k}, {s})", "replace"),
            ("INSERT INTO t2 (t1_id, note) SELECT id, s FROM t1 WHERE id < 3", "insert_select"),
            (f"INSERT INTO t2 (t1_id, note, n) VALUES ({self.idv()}, {s}, {self.c(['1/3', '2.5e3', '-0', 'NULL'])})",
             "insert_t2"),
            (f"INSERT INTO t1 SET k = {k}, s = {s}, ts = {self.c(TS_LITS)}", "insert_ts"),
            (f"INSERT INTO t1 (k, dt) VALUES ({k}, {self.c(TS_LITS)})", "insert_dt"),
            (f"INSERT INTO t1 (k, s) VALUES ({self.uvar()}, {self.uvar()})", "insert_uvars"),
            ("INSERT INTO t2 (t1_id) VALUES (LAST_INSERT_ID())", "insert_last_insert_id"),
            (f"INSERT INTO t1 (k) VALUES ({k}) RETURNING id, k", "insert_returning"),
            (f"INSERT INTO t4 (v) VALUES ({self.r.randint(1, 9)})", "insert_myisam"),
            (f"INSERT INTO t1 (id, k) VALUES (0, {k})", "insert_zero_id"),
            (f"INSERT INTO t1 (k, s) VALUES ('{self.r.randint(1, 9)}abc', {s})", "insert_warn"),
            ("INSERT INTO no_such_table (x) VALUES (1)", "insert_error"),
            (f"INSERT INTO {{DB2}}.t3 (v) VALUES ({s})", "insert_db2"),
        ]
        if self.db == "{DB2}":
            forms.append((f"INSERT INTO t3 (v) VALUES ({s})", "insert_t3"))
        sql, tag = self.c(forms)
        self.add(sql, tag)

    def g_update_delete(self):
        i, k = self.idv(), self.k()
        forms = [
            (f"UPDATE t1 SET k = k + 1 WHERE id = {i}", "update"),
            (f"UPDATE t1 SET s = CONCAT(s, 'x') WHERE id < {i}", "update_concat"),
            ("UPDATE t1 SET d = d / 3", "update_all"),
            (f"UPDATE t1 SET s = {self.s()} WHERE k = {k}", "update"),
            (f"UPDATE t1 SET ts = {self.c(TS_LITS)} WHERE id = {i}", "update_ts"),
            (f"UPDATE t1 SET k = LAST_INSERT_ID(k + 1000) WHERE id = {i}", "update_last_insert_id"),
            ("UPDATE t1 SET k = k ORDER BY id LIMIT 2", "update_noop"),
            (f"UPDATE t2 SET n = n * 2, note = {self.s()} WHERE t1_id = {i}", "update_t2"),
            (f"DELETE FROM t1 WHERE id = {i}", "delete"),
            (f"DELETE FROM t2 WHERE t1_id > {i}", "delete"),
            ("DELETE FROM t2 ORDER BY id DESC LIMIT 1", "delete_limit"),
            (f"DELETE FROM t2 WHERE id = {i} RETURNING id, note", "delete_returning"),
            ("UPDATE t1 SET s = 'x'", "update_no_where"),
            (f"UPDATE t4 SET v = v + 1 WHERE id = {i % 4}", "update_myisam"),
            (f"UPDATE t1 JOIN t2 ON t2.t1_id = t1.id SET t2.n = t1.k WHERE t1.id = {i}", "update_join"),
        ]
        sql, tag = self.c(forms)
        self.add(sql, tag)

    def g_txn(self):
        r = self.r
        if self.in_txn:
            ends = ["COMMIT", "ROLLBACK", "COMMIT WORK", "ROLLBACK WORK", "COMMIT AND CHAIN",
                    "SET autocommit = 1", "BEGIN", "CREATE TABLE IF NOT EXISTS t5 (id INT PRIMARY KEY)",
                    "SAVEPOINT sp1", "ROLLBACK TO SAVEPOINT sp1", "RELEASE SAVEPOINT sp1",
                    "TRUNCATE TABLE t4", "DROP TABLE IF EXISTS no_such_t"]
            sql = self.c(ends)
            if sql in ("COMMIT", "ROLLBACK", "COMMIT WORK", "ROLLBACK WORK", "SET autocommit = 1",
                       "CREATE TABLE IF NOT EXISTS t5 (id INT PRIMARY KEY)", "TRUNCATE TABLE t4",
                       "DROP TABLE IF EXISTS no_such_t"):
                if sql == "SET autocommit = 1":
                    self.autocommit = True
                self.in_txn = not self.autocommit
            self.add(sql, "txn_end:" + sql.split()[0].lower())
        else:
            starts = ["BEGIN", "START TRANSACTION", "START TRANSACTION READ ONLY",
                      "START TRANSACTION READ WRITE", "START TRANSACTION WITH CONSISTENT SNAPSHOT",
                      "BEGIN WORK", "SET autocommit = 0", "SET @@autocommit = OFF",
                      "START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT"]
            sql = self.c(starts)
            if "autocommit" in sql:
                self.autocommit = False
            self.in_txn = True
            self.add(sql, "txn_start:" + sql.lower())
            # a transaction body: a few statements
            for _ in range(r.randint(1, 4)):
                self.g_any(simple=True)
            if r.random() < 0.8:
                self.g_txn()

    def g_temp(self):
        r = self.r
        name = self.c(["tmp1", "tmp2", "t1", "tmp1"])
        if name in self.temps and self.p(0.6):
            forms = [
                (f"INSERT INTO {name} (v) VALUES ({r.randint(1, 9)})", "temp_insert"),
                (f"SELECT * FROM {name} ORDER BY 1", "temp_select"),
                (f"SELECT COUNT(*) FROM {name}", "temp_select"),
                (f"SELECT t.* FROM {name} t JOIN t2 ON t2.id = t.id ORDER BY 1", "temp_join"),
                (f"UPDATE {name} SET v = v + 1", "temp_update"),
                (f"DROP TEMPORARY TABLE {name}", "temp_drop"),
                (f"DROP TABLE {name}", "temp_drop"),
                (f"ALTER TABLE {name} RENAME TO {name}_r", "temp_rename"),
                (f"TRUNCATE TABLE {name}", "temp_truncate"),
                (f"ALTER TABLE {name} ADD COLUMN w INT DEFAULT 5", "temp_alter"),
            ]
            sql, tag = self.c(forms)
            if tag == "temp_drop":
                self.temps.remove(name)
            if tag == "temp_rename":
                self.temps.remove(name)
                self.temps.append(name + "_r")
            self.add(sql, tag)
            return
        forms = [
            (f"CREATE TEMPORARY TABLE {name} (id INT AUTO_INCREMENT PRIMARY KEY, v INT)", "temp_create"),
            (f"CREATE TEMPORARY TABLE {name} AS SELECT id, k AS v FROM t1", "temp_create_select"),
            (f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB",
             "temp_create"),
            (f"CREATE TEMPORARY TABLE {{DB2}}.{name} (id INT AUTO_INCREMENT PRIMARY KEY, v INT)", "temp_create_db2"),
        ]
        sql, tag = self.c(forms)
        if tag != "temp_create_db2" and name not in self.temps:
            self.temps.append(name)
        self.add(sql, tag)
        if self.p(0.7):
            self.add(f"INSERT INTO {name} (v) VALUES ({r.randint(1, 9)}), ({r.randint(1, 9)})", "temp_insert")
        if self.p(0.5):
            self.add(f"SELECT * FROM {name} ORDER BY 1", "temp_select")

    def g_use(self):
        target = self.c(["{DB}", "{DB2}", "{DB}"])
        if self.p(0.1):
            self.add("USE no_such_db", "use_error")
            return
        self.db = target
        if self.p(0.25):
            self.steps.append(Step("initdb", target, "com_init_db"))
        else:
            self.add(f"USE {target}", "use")
        if self.p(0.5):
            self.add(self.c(["SELECT DATABASE()", "SELECT COUNT(*) FROM t1", "SHOW TABLES",
                             "SELECT k FROM t1 ORDER BY id"]), "after_use")

    def g_warnings(self):
        forms = [
            ("SHOW WARNINGS", "show_warnings"),
            ("SHOW COUNT(*) WARNINGS", "show_warnings_count"),
            ("SHOW ERRORS", "show_errors"),
            ("SHOW WARNINGS LIMIT 1", "show_warnings"),
            ("SELECT @@warning_count", "var_warning_count"),
            ("GET DIAGNOSTICS @dn = NUMBER, @dr = ROW_COUNT", "get_diagnostics"),
            ("GET DIAGNOSTICS CONDITION 1 @de = MYSQL_ERRNO, @dm = MESSAGE_TEXT", "get_diagnostics"),
        ]
        sql, tag = self.c(forms)
        if tag == "get_diagnostics":
            self.uvars += ["@dn", "@de"]
        self.add(sql, tag, dress=False)

    def g_warn_maker(self):
        forms = [
            ("SELECT CAST('abc' AS SIGNED)", "expr_warn_cast"),
            (f"INSERT INTO t1 (k, s) VALUES ({self.k() + 100}, 'waytoolongstring')", "insert_truncate"),
            ("UPDATE t1 SET s = 'truncated!!' WHERE id = 2", "update_truncate"),
            ("DROP TABLE IF EXISTS no_such_t", "drop_if_exists_note"),
            ("SELECT 1/0", "expr_div_zero"),
            ("SELECT * FROM no_such_table", "select_error"),
            ("SELEC 1", "syntax_error"),
            (f"INSERT INTO t1 (id, k) VALUES (1, {self.k()})", "insert_dup"),
            ("SELECT GROUP_CONCAT(s ORDER BY id) FROM t1", "select_group_concat"),
        ]
        sql, tag = self.c(forms)
        self.add(sql, tag)
        if self.p(0.6):
            self.g_warnings()

    def g_ddl(self):
        forms = [
            ("CREATE TABLE IF NOT EXISTS t5 (id INT AUTO_INCREMENT PRIMARY KEY, v INT)", "ddl_create"),
            ("DROP TABLE IF EXISTS t5", "ddl_drop"),
            ("INSERT INTO t5 (v) VALUES (1)", "ddl_t5_insert"),
            ("SELECT * FROM t5 ORDER BY id", "ddl_t5_select"),
            ("ALTER TABLE t2 ADD COLUMN extra INT DEFAULT 3", "ddl_alter"),
            ("ALTER TABLE t2 DROP COLUMN extra", "ddl_alter"),
            ("CREATE INDEX ix_note ON t2 (note)", "ddl_index"),
            ("DROP INDEX ix_note ON t2", "ddl_index"),
            ("CREATE OR REPLACE VIEW v1 AS SELECT id, k FROM t1 WHERE k > 15", "ddl_view"),
            ("DROP VIEW IF EXISTS v1", "ddl_view"),
            ("TRUNCATE TABLE t2", "ddl_truncate"),
            ("ANALYZE TABLE t1", "ddl_analyze"),
            ("CHECK TABLE t2", "ddl_check"),
            ("SHOW CREATE TABLE t2", "show_create"),
            ("SHOW COLUMNS FROM t2", "show_columns"),
            ("DESCRIBE t1", "describe"),
            ("SHOW TABLES", "show_tables"),
            ("SHOW TABLE STATUS LIKE 'no_such'", "show_table_status"),
        ]
        sql, tag = self.c(forms)
        if tag in ("ddl_create", "ddl_drop", "ddl_alter", "ddl_index", "ddl_view", "ddl_truncate",
                   "ddl_analyze"):
            self.in_txn = not self.autocommit  # implicit commit
        self.add(sql, tag)

    def g_misc(self):
        r = self.r
        forms = [
            (lambda: self.add("CALL p_out(@o)", "call_out") or self.uvars.append("@o") or
             (self.p(0.8) and self.add("SELECT @o", "call_out_read")), None),
            (lambda: self.add("CALL p_cnt(@pc)", "call_out") or self.uvars.append("@pc") or
             (self.p(0.8) and self.add("SELECT @pc", "call_out_read")), None),
            (lambda: self.add("CALL p_sel()", "call_resultset"), None),
            (lambda: self.add(f"CALL p_ins({r.randint(1, 5)})", "call_write"), None),
            (lambda: self.add("DO 1", "do"), None),
            (lambda: self.add("DO GET_LOCK('{LK}b', 0)", "do_lock"), None),
            (lambda: self.lock_tables(), None),
            (lambda: self.handler(), None),
            (lambda: self.prepare(), None),
            (lambda: self.add(f"EXECUTE IMMEDIATE 'SELECT COUNT(*), {r.randint(1, 9)} FROM t1'", "execute_immediate"), None),
            (lambda: self.add(f"SET STATEMENT sql_mode = '' FOR INSERT INTO t1 (k, s) VALUES ({self.k() + 200}, 'set_statement_long')",
                              "set_statement_write"), None),
            (lambda: self.add("SET STATEMENT max_statement_time = 10 FOR SELECT COUNT(*) FROM t1", "set_statement_read"), None),
            (lambda: self.add("SET STATEMENT sql_select_limit = 1 FOR SELECT id FROM t1 ORDER BY id", "set_statement_read"), None),
            (lambda: self.xa(), None),
            (lambda: self.steps.append(Step("ping", None, "com_ping")), None),
            (lambda: self.reset(), None),
            (lambda: self.steps.append(Step("sleep", 0.15, "idle")), None),
            (lambda: self.api_autocommit(), None),
            (lambda: self.reconnect(), None),
            (lambda: self.backslash_trick(), None),
            (lambda: self.add(self.c(["LOAD DATA LOCAL INFILE '{CSV}' INTO TABLE t2 FIELDS TERMINATED BY ',' (t1_id, note)",
                                      "LOAD DATA LOCAL INFILE '{CSV}' IGNORE INTO TABLE t1 FIELDS TERMINATED BY ',' (k, s)",
                                      "LOAD DATA LOCAL INFILE '/no/such/file.csv' INTO TABLE t2"]), "load_data_local"), None),
        ]
        f, _ = self.c(forms)
        f()

    def g_routines(self):
        """State set inside routines, triggers, EXECUTE IMMEDIATE and SQL EXECUTE: the server's
        session trackers report it, the text does not show it."""
        r = self.r
        forms = [
            [("CALL {DB}.p_state()", "routine_state"), ("SELECT @ps, @@time_zone", "routine_state_read")],
            [("CALL {DB}.p_tmp()", "routine_temp"), ("SELECT COUNT(*) FROM tmp_proc", "routine_temp_read")],
            [("SELECT {DB}.f_set()", "function_state"), ("SELECT @fs", "function_state_read")],
            [("SET @fc = {DB}.f_cnt()", "set_uvar_function"),
             (f"INSERT INTO {{DB}}.t1 (k, s) VALUES ({self.k() + 500}, 'fc')", "insert"),
             ("SELECT @fc", "set_uvar_function_read")],
            [("SET sql_select_limit = {DB}.f_cnt()", "set_var_function"),
             (f"INSERT INTO {{DB}}.t1 (k, s) VALUES ({self.k() + 600}, 'fl')", "insert"),
             ("SELECT id FROM {DB}.t1 ORDER BY id", "set_var_function_read"),
             ("SET sql_select_limit = DEFAULT", "set_session")],
            [(f"EXECUTE IMMEDIATE 'SET @ei = {r.randint(1, 9)}'", "execute_immediate_set"),
             ("SELECT @ei", "execute_immediate_read")],
            [("EXECUTE IMMEDIATE 'SET SESSION sql_select_limit = 2'", "execute_immediate_set"),
             ("SELECT id FROM {DB}.t1 ORDER BY id", "execute_immediate_read"),
             ("SET sql_select_limit = DEFAULT", "set_session")],
            [("EXECUTE IMMEDIATE 'CREATE TEMPORARY TABLE tmp_ei (a INT)'", "execute_immediate_temp"),
             ("SELECT COUNT(*) FROM tmp_ei", "execute_immediate_read")],
            [("PREPARE ss FROM 'SET time_zone = ''+04:00'''", "sql_prepare_set"), ("EXECUTE ss", "sql_execute_set"),
             ("SELECT @@time_zone", "sql_execute_read")],
            [(f"INSERT INTO {{DB}}.t4 (v) VALUES ({r.randint(1, 99)})", "trigger_write"),
             ("SELECT @trig", "trigger_read")],
        ]
        for sql, tag in self.c(forms):
            self.add(sql, tag)

    def lock_tables(self):
        self.add(self.c(["LOCK TABLES t1 READ", "LOCK TABLES t1 WRITE, t2 READ", "LOCK TABLE t2 WRITE"]),
                 "lock_tables")
        for _ in range(self.r.randint(1, 3)):
            t = self.c(["t1", "t2", "t4"])
            self.add(self.c([f"SELECT COUNT(*) FROM {t}", f"INSERT INTO {t} (id) VALUES (NULL)",
                             f"SELECT MAX(id) FROM {t}"]), "under_lock_tables")
        self.add("UNLOCK TABLES", "unlock_tables")

    def handler(self):
        self.add("HANDLER t1 OPEN", "handler")
        self.add("HANDLER t1 READ `PRIMARY` FIRST", "handler")
        if self.p(0.5):
            self.add("HANDLER t1 READ `PRIMARY` NEXT", "handler")
        if self.p(0.8):
            self.add("HANDLER t1 CLOSE", "handler")

    def prepare(self):
        if self.p(0.3):
            self.add(self.c(["SET @q = 'SELECT COUNT(*), ? FROM t1'",
                             "SET @q = 'UPDATE t1 SET d = d + 1 WHERE id = ?'"]), "set_uvar_sql")
            self.uvars.append("@q")
            self.add("PREPARE st FROM @q", "sql_prepare_from_var")
            self.add(f"SET @pid = {self.idv()}", "set_uvar")
            self.add("EXECUTE st USING @pid", "sql_execute")
            return
        self.add(self.c(["PREPARE st FROM 'SELECT k, s FROM t1 WHERE id = ?'",
                         "PREPARE st FROM 'INSERT INTO t2 (t1_id, note) VALUES (?, ''ps'')'",
                         "PREPARE st FROM 'SELECT @@sql_mode, ?'"]), "sql_prepare")
        self.add(f"SET @pid = {self.idv()}", "set_uvar")
        self.add("EXECUTE st USING @pid", "sql_execute")
        if self.p(0.5):
            self.add("DEALLOCATE PREPARE st", "sql_deallocate")

    def xa(self):
        self.add("XA START 'x{LK}'", "xa")
        self.add(f"INSERT INTO t2 (t1_id, note) VALUES ({self.idv()}, 'xa')", "xa")
        if self.p(0.5):
            self.add("SELECT COUNT(*) FROM t2", "xa_read")
        self.add("XA END 'x{LK}'", "xa")
        self.add(self.c(["XA COMMIT 'x{LK}' ONE PHASE", "XA ROLLBACK 'x{LK}'"]), "xa")

    def reset(self):
        self.steps.append(Step("reset", None, "com_reset_connection"))
        self.temps, self.uvars, self.nd_vars = [], [], []
        self.autocommit, self.in_txn, self.timestamp_set = True, False, False

    def reconnect(self):
        self.steps.append(Step("reconnect", None, "reconnect"))
        self.temps, self.uvars, self.nd_vars = [], [], []
        self.db = "{DB}"
        self.autocommit = self.opts.autocommit
        self.in_txn = not self.autocommit
        self.timestamp_set = False

    def api_autocommit(self):
        v = self.p(0.5)
        self.steps.append(Step("autocommit", v, "api_autocommit"))
        self.autocommit = v
        self.in_txn = self.in_txn and not v

    def backslash_trick(self):
        """Statements whose meaning depends on NO_BACKSLASH_ESCAPES / ANSI_QUOTES."""
        self.add(self.c(["SELECT '\\\\', @bs := 5 -- '", "SELECT 'x\\', @bs := 6 -- '",
                         "SELECT \"\\\"\", @bs := 7", "SELECT 'a\\' FOR UPDATE -- '"]), "backslash_assign")
        self.uvars.append("@bs")
        if self.p(0.7):
            self.add(self.c(["SELECT @bs", "INSERT INTO t2 (t1_id, note) VALUES (@bs, 'bs')"]), "backslash_read")

    def g_any(self, simple=False):
        r = self.r.random()
        if r < 0.20:
            self.g_select()
        elif r < 0.28:
            self.g_expr_select()
        elif r < 0.40:
            self.g_insert()
        elif r < 0.48:
            self.g_update_delete()
        elif r < 0.55:
            self.g_set_user()
        elif r < 0.60:
            self.g_user_var_read()
        elif r < 0.67:
            self.g_set_session()
        elif r < 0.72:
            self.g_session_var_read()
        elif r < 0.75:
            self.g_calc_found_rows() if not simple else self.g_select()
        elif r < 0.78:
            self.g_warn_maker()
        elif r < 0.82:
            self.g_temp()
        elif r < 0.84:
            self.g_use()
        elif r < 0.89:
            self.g_txn() if not simple else self.g_select()
        elif r < 0.91:
            self.g_ddl()
        elif r < 0.93:
            self.g_nd_var() if not simple else self.g_user_var_read()
        elif r < 0.95:
            self.g_saved_mode() if not simple else self.g_set_session()
        elif r < 0.97:
            self.g_misc() if not simple else self.g_expr_select()
        else:
            self.g_routines() if not simple else self.g_select()

    def generate(self):
        while len(self.steps) < self.count:
            self.g_any()
        steps = [st for st in self.steps if not self.excluded(st)]
        # multi-statement connections: glue some neighbouring SQL statements together
        if self.opts.multi:
            out, i = [], 0
            while i < len(steps):
                st = steps[i]
                if (st.kind == "sql" and i + 1 < len(steps) and steps[i + 1].kind == "sql"
                        and self.p(0.3)):
                    n = 2 if self.p(0.7) or i + 2 >= len(steps) or steps[i + 2].kind != "sql" else 3
                    parts = steps[i:i + n]
                    out.append(Step("sql", "; ".join(p.arg.rstrip("; \n") for p in parts),
                                    "multi[" + "+".join(p.tag for p in parts) + "]"))
                    i += n
                else:
                    out.append(st)
                    i += 1
            # A glued statement can match an exclusion its parts did not (multi[...]).
            steps = [st for st in out if not self.excluded(st)]
        # On the script as it will run: an excluded statement may have been the SELECT before.
        while True:
            self.tag_found_rows_first(steps)
            kept = [st for st in steps if not self.excluded(st)]
            if len(kept) == len(steps):
                break
            steps = kept
        return self.opts, steps
