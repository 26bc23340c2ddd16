"""mysql-connector-python 8.4.0 (pure Python, use_pure=True) for tests/drivers.rs.

    python3 connector_python.py HOST PORT USER PASSWORD DB SCENARIO

Runs one scenario against HOST:PORT in database DB (its tables are created there) and prints one
JSON object per line: {"step": ..., ...what the driver returned}. The harness runs the same
scenario directly against the master and through rwsplit and compares the lines, so nothing that
differs between two sessions (connection ids, clocks, @@server_id outside a transaction) is
printed, and the database name is replaced with "DB". Failures of statements are printed as
results (errno, SQLSTATE, message), never raised; the exit status is 0 unless the script itself
breaks (connection refused, unknown scenario).

Like every DB-API driver, Connector/Python starts with autocommit off (it sends
`SET @@session.autocommit = OFF` after login): everything then runs in a transaction, on the
master. Scenarios that exercise read routing switch autocommit on explicitly; `autocommit_default`
keeps the default. `cursor(prepared=True)` speaks the binary protocol (COM_STMT_PREPARE /
COM_STMT_EXECUTE); plain cursors interpolate parameters client-side and use COM_QUERY.
"""
import datetime
import decimal
import json
import sys
import warnings

import mysql.connector

if len(sys.argv) != 7:
    print("usage: python3 connector_python.py HOST PORT USER PASSWORD DB SCENARIO", file=sys.stderr)
    sys.exit(2)
HOST, PORT, USER, PASSWORD, DB, SCENARIO = sys.argv[1:]


def norm(s):
    return s.replace(DB, "DB")


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        try:
            return {"bytes": bytes(v).decode("utf-8")}
        except UnicodeDecodeError:
            return {"hex": bytes(v).hex()}
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)):
        return {type(v).__name__: str(v)}
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def out(step, **data):
    line = json.dumps({"step": step, **plain(data)}, ensure_ascii=False, sort_keys=False)
    print(norm(line), flush=True)


def connect(**kw):
    return mysql.connector.connect(host=HOST, port=int(PORT), user=USER, password=PASSWORD,
                                   database=DB, use_pure=True, **kw)


def error_of(e):
    if not isinstance(e, mysql.connector.Error) or e.errno is None or e.errno < 1000:
        raise e
    return {"error": {"errno": e.errno, "sqlstate": e.sqlstate, "msg": e.msg, "class": type(e).__name__}}


def describe(cur):
    """What the cursor holds after execute(): rows and column metadata, or counts.

    A prepared cursor keeps the description of its previous result set after a statement that
    returns none (Connector/Python 8.4); its `_have_result` tells which one it was."""
    has_rows = cur.description is not None
    if isinstance(cur, mysql.connector.cursor.MySQLCursorPrepared):
        has_rows = bool(cur._have_result)  # pylint: disable=protected-access
    if has_rows:
        return {"description": [list(d) for d in cur.description], "rows": cur.fetchall(),
                "rowcount": cur.rowcount, "warning_count": cur.warning_count}
    return {"rowcount": cur.rowcount, "lastrowid": cur.lastrowid, "warning_count": cur.warning_count}


def step(cur, name, sql, params=None):
    try:
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        out(name, sql=sql, params=params, result=describe(cur))
    except mysql.connector.Error as e:
        out(name, sql=sql, params=params, result=error_of(e))


def table(cur, name, n):
    step(cur, "drop " + name, f"DROP TABLE IF EXISTS {name}")
    step(cur, "create " + name,
         f"CREATE TABLE {name} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), n INT, d DECIMAL(8,2), t DATETIME)")
    if n:
        values = ", ".join(f"('row {i}', {i}, {i}.5, '2024-01-01 00:00:{i % 60:02d}')" for i in range(1, n + 1))
        step(cur, f"insert {n} into {name}", f"INSERT INTO {name} (v, n, d, t) VALUES {values}")


def scenario_prepared():
    """cursor(prepared=True): inserts and selects with parameters, autocommit on."""
    conn = connect(autocommit=True)
    out("connected", autocommit=conn.autocommit, charset=conn.charset)
    cur = conn.cursor()
    table(cur, "pt", 0)
    pc = conn.cursor(prepared=True)
    rows = [
        ("zoë ✓", 1, decimal.Decimal("12.34"), datetime.datetime(2024, 2, 29, 23, 59, 58)),
        (None, -7, decimal.Decimal("-0.01"), None),
        ("quote ' and \" back \\", 2**31 - 1, decimal.Decimal("999999.99"), datetime.datetime(1999, 12, 31)),
    ]
    for i, r in enumerate(rows):
        step(pc, f"prepared insert {i}", "INSERT INTO pt (v, n, d, t) VALUES (?, ?, ?, ?)", r)
    step(pc, "prepared select all", "SELECT id, v, n, d, t FROM pt ORDER BY id")
    step(pc, "prepared select where", "SELECT id, v, n * 2 FROM pt WHERE n > ? ORDER BY id", (0,))
    step(pc, "prepared select where again", "SELECT id, v, n * 2 FROM pt WHERE n > ? ORDER BY id", (-10,))
    step(pc, "prepared select null param", "SELECT id FROM pt WHERE v <=> ?", (None,))
    step(pc, "prepared select string param", "SELECT id, d + ? FROM pt WHERE v = ?", (1, "zoë ✓"))
    step(pc, "prepared update", "UPDATE pt SET n = n + ? WHERE id < ?", (10, 3))
    step(pc, "prepared delete", "DELETE FROM pt WHERE id = ?", (3,))
    step(pc, "prepared count", "SELECT COUNT(*), SUM(n) FROM pt WHERE id > ?", (0,))
    step(pc, "prepared last_insert_id", "SELECT LAST_INSERT_ID()")
    step(pc, "prepared error", "SELECT * FROM no_such_table WHERE id = ?", (1,))
    step(pc, "prepared duplicate", "INSERT INTO pt (id, v) VALUES (?, ?)", (1, "dup"))
    step(pc, "prepared syntax", "SELEC ?", (1,))
    step(pc, "usable after errors", "SELECT v FROM pt WHERE id = ?", (1,))
    step(cur, "text select", "SELECT id, v, n FROM pt ORDER BY id")
    step(cur, "text select with params", "SELECT id FROM pt WHERE n > %s ORDER BY id", (5,))
    conn.close()


def scenario_callproc():
    """callproc on a procedure with an OUT parameter: SET @_p_arg.., CALL, SELECT @_p_arg..."""
    conn = connect(autocommit=True)
    cur = conn.cursor()
    step(cur, "drop procedure", "DROP PROCEDURE IF EXISTS twice")
    step(cur, "create procedure", "CREATE PROCEDURE twice(IN a INT, OUT b INT) SET b = a * 2")
    step(cur, "drop procedure with result", "DROP PROCEDURE IF EXISTS twice_rows")
    step(cur, "create procedure with result",
         "CREATE PROCEDURE twice_rows(IN a INT, OUT b INT) BEGIN SELECT a AS a_in, a * 3 AS thrice; SET b = a * 2; END")
    for name, args in [("twice", (21, 0)), ("twice", (5, 0)), ("twice_rows", (7, 0)),
                       ("twice", (50, (0, "SIGNED")))]:
        try:
            res = cur.callproc(name, args)
            stored = [r.fetchall() for r in cur.stored_results()]
            out(f"callproc {name}{args!r}", result=list(res), stored_results=stored)
        except mysql.connector.Error as e:
            out(f"callproc {name}{args!r}", result=error_of(e))
    step(cur, "out variable read afterwards", "SELECT @_twice_arg2")
    pc = conn.cursor(prepared=True)
    step(pc, "out variable read prepared", "SELECT @_twice_arg2 + ?", (0,))
    try:
        cur.callproc("no_such_procedure", (1,))
        out("callproc missing")
    except mysql.connector.Error as e:
        out("callproc missing", result=error_of(e))
    # The default (autocommit off) connection: callproc inside the implicit transaction.
    conn2 = connect()
    cur2 = conn2.cursor()
    res = cur2.callproc("twice", (100, 0))
    out("callproc with autocommit off", result=list(res), autocommit=conn2.autocommit)
    conn2.commit()
    conn2.close()
    conn.close()


def scenario_autocommit_default():
    """autocommit is off by default: a write needs commit(); afterwards reads see it."""
    conn = connect()
    out("connected", autocommit=conn.autocommit)
    cur = conn.cursor()
    step(cur, "autocommit variable", "SELECT @@autocommit, @@in_transaction")
    table(cur, "ac", 0)
    pc = conn.cursor(prepared=True)
    step(pc, "insert", "INSERT INTO ac (v, n) VALUES (?, ?)", ("uncommitted", 1))
    step(cur, "in transaction", "SELECT @@in_transaction, @@server_id")
    conn.rollback()
    out("rollback")
    step(pc, "after rollback", "SELECT COUNT(*) FROM ac WHERE v = ?", ("uncommitted",))
    step(pc, "insert 2", "INSERT INTO ac (v, n) VALUES (?, ?)", ("committed", 2))
    step(pc, "insert 3", "INSERT INTO ac (v, n) VALUES (?, ?)", ("committed", 3))
    conn.commit()
    out("commit")
    step(pc, "read after commit", "SELECT v, n FROM ac ORDER BY id")
    step(cur, "text read after commit", "SELECT v, SUM(n) FROM ac GROUP BY v")
    conn.commit()
    # Autocommit on (SET @@session.autocommit = ON): reads may now go to a replica, and must
    # still see the committed rows.
    conn.autocommit = True
    out("autocommit on", autocommit=conn.autocommit)
    step(pc, "prepared read with autocommit on", "SELECT v, n FROM ac WHERE n >= ? ORDER BY id", (0,))
    step(cur, "text read with autocommit on", "SELECT COUNT(*) FROM ac")
    step(pc, "write with autocommit on", "UPDATE ac SET n = n * ? WHERE v = ?", (10, "committed"))
    step(pc, "read the autocommitted write", "SELECT SUM(n) FROM ac WHERE v = ?", ("committed",))
    # Back off again: the next write is held until commit().
    conn.autocommit = False
    out("autocommit off", autocommit=conn.autocommit)
    step(pc, "insert 4", "INSERT INTO ac (v, n) VALUES (?, ?)", ("late", 4))
    conn.commit()
    out("commit 2")
    conn.autocommit = True
    step(pc, "read after commit 2", "SELECT v, n FROM ac ORDER BY id")
    conn.close()
    # A new connection (default settings) sees every committed row.
    conn = connect()
    step(conn.cursor(prepared=True), "new connection", "SELECT v, n FROM ac ORDER BY id")
    conn.rollback()
    conn.close()


def scenario_found_rows():
    """SQL_CALC_FOUND_ROWS ... LIMIT then SELECT FOUND_ROWS() through a prepared cursor."""
    conn = connect(autocommit=True)
    cur = conn.cursor()
    table(cur, "fr", 90)
    pc = conn.cursor(prepared=True)
    step(pc, "calc", "SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 3")
    step(pc, "found rows", "SELECT FOUND_ROWS()")
    step(pc, "calc with param", "SELECT SQL_CALC_FOUND_ROWS id FROM fr WHERE n > ? ORDER BY id LIMIT 2", (40,))
    step(pc, "found rows 2", "SELECT FOUND_ROWS()")
    step(cur, "text calc", "SELECT SQL_CALC_FOUND_ROWS id FROM fr WHERE n <= 7 ORDER BY id LIMIT 1")
    step(pc, "prepared found rows after text calc", "SELECT FOUND_ROWS()")
    step(pc, "plain select", "SELECT id FROM fr WHERE id <= ? ORDER BY id", (4,))
    step(pc, "found rows of plain select", "SELECT FOUND_ROWS()")
    step(pc, "calc 3", "SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 2")
    step(pc, "delete nothing", "DELETE FROM fr WHERE id = ?", (-1,))
    step(pc, "found rows after delete", "SELECT FOUND_ROWS()")
    conn.close()


def warnings_of(cur):
    try:
        return cur.fetchwarnings()
    except mysql.connector.Error as e:
        return error_of(e)


def scenario_show_warnings():
    """A prepared SELECT that warns, then SHOW WARNINGS (prepared and text)."""
    conn = connect(autocommit=True)
    pc = conn.cursor(prepared=True)
    cur = conn.cursor()
    step(pc, "select with warning", "SELECT CAST(? AS SIGNED)", ("12abc",))
    step(pc, "show warnings", "SHOW WARNINGS")
    step(pc, "select with two warnings", "SELECT CAST('1x' AS SIGNED), CAST('2y' AS DECIMAL)")
    step(cur, "text show warnings", "SHOW WARNINGS")
    step(pc, "select with warning 3", "SELECT 1 / ?", (0,))
    step(pc, "show count", "SHOW COUNT(*) WARNINGS")
    step(pc, "select with warning 4", "SELECT CAST(? AS DECIMAL(3,1))", ("99999",))
    step(pc, "warning_count", "SELECT @@warning_count")
    step(pc, "failing select", "SELECT * FROM no_such_table WHERE id = ?", (1,))
    step(pc, "show errors", "SHOW ERRORS")
    # The driver's own warning fetch (get_warnings=True: SHOW WARNINGS after each statement).
    conn2 = connect(autocommit=True, get_warnings=True)
    pc2 = conn2.cursor(prepared=True)
    with warnings.catch_warnings(record=True) as raised:  # the driver also warns in Python
        warnings.simplefilter("always")
        pc2.execute("SELECT CAST(? AS SIGNED)", ("7z",))
        rows = pc2.fetchall()
    out("get_warnings", rows=rows, warnings=warnings_of(pc2), warning_count=pc2.warning_count,
        python_warnings=[str(w.message) for w in raised])
    conn2.close()
    conn.close()


def scenario_session_variables():
    """A session variable and user variables set, then read through prepared statements."""
    conn = connect(autocommit=True)
    cur = conn.cursor()
    pc = conn.cursor(prepared=True)
    step(cur, "set session variable", "SET SESSION group_concat_max_len = 5")
    step(pc, "read session variable", "SELECT @@session.group_concat_max_len")
    step(pc, "effect of the session variable",
         "SELECT GROUP_CONCAT(x SEPARATOR '') FROM (SELECT ? AS x UNION ALL SELECT 'def') s", ("abc",))
    step(cur, "set sql_mode", "SET SESSION sql_mode = 'ANSI_QUOTES,NO_ENGINE_SUBSTITUTION'")
    step(pc, "read sql_mode", "SELECT @@sql_mode")
    step(pc, "ansi quotes in effect", 'SELECT "x" FROM (SELECT 1 AS "x") s WHERE 1 = ?', (1,))
    step(cur, "set time zone", "SET time_zone = '+05:30'")
    step(pc, "read time zone", "SELECT @@time_zone, CONVERT_TZ('2024-01-01 00:00:00', '+00:00', @@time_zone)")
    step(cur, "set user variables", "SET @u = 'hello', @k = 42")
    step(pc, "read user variables", "SELECT @u, @k + ?", (1,))
    step(pc, "prepared set", "SET @p = ?", ("from a prepared SET",))
    step(pc, "read prepared set", "SELECT @p")
    step(cur, "text read prepared set", "SELECT @p, @u")
    step(cur, "charset", "SELECT @@character_set_client, @@collation_connection")
    conn.close()


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")}

if SCENARIO not in SCENARIOS:
    print(f"unknown scenario {SCENARIO}", file=sys.stderr)
    sys.exit(2)
SCENARIOS[SCENARIO]()
