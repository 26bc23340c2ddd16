"""A second real client (PyMySQL, pure Python) through rwsplit.

Usage: pymysql_check.py PROXY_PORT USER PASSWORD MASTER_ID REPLICA_ID[,REPLICA_ID...]
Exits non-zero with a message on the first failed check.
"""
import sys

import pymysql

port, user, password, master_id, replica_ids = sys.argv[1:6]
replicas = set(replica_ids.split(","))


def connect(**kw):
    return pymysql.connect(host="127.0.0.1", port=int(port), user=user, password=password,
                           database="rwtest", autocommit=True, charset="utf8mb4", **kw)


def one(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchone()


def check(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


conn = connect()
cur = conn.cursor()
check(str(one(cur, "SELECT @@server_id")[0]) in replicas, "plain read on a replica")
cur.execute("DROP TABLE IF EXISTS py_t")
cur.execute("CREATE TABLE py_t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50)) CHARACTER SET utf8mb4")
cur.execute("INSERT INTO py_t (name) VALUES (%s)", ("zoë ✓",))
check(cur.lastrowid == 1, "lastrowid from the OK packet: %r" % cur.lastrowid)
check(one(cur, "SELECT LAST_INSERT_ID(), @@server_id") == (1, int(master_id)), "LAST_INSERT_ID on the master")
check(one(cur, "SELECT @@character_set_client, @@server_id")[0] == "utf8mb4", "charset carried to the replica")

# Transactions via the client API: all on the master.
conn.begin()
check(str(one(cur, "SELECT @@server_id")[0]) == master_id, "read inside a transaction on the master")
cur.execute("UPDATE py_t SET name = %s WHERE id = 1", ("änderung",))
conn.commit()
check(one(cur, "SELECT name FROM py_t WHERE id = 1 FOR UPDATE")[0] == "änderung", "committed write visible")

# Temporary table, user variables, multi-statement results.
cur.execute("CREATE TEMPORARY TABLE py_tmp (x INT)")
cur.execute("INSERT INTO py_tmp VALUES (1), (2), (3)")
check(one(cur, "SELECT SUM(x), @@server_id FROM py_tmp") == (6, int(master_id)), "temp table read on the master")
cur.execute("SET @pv = 'hello'")
check(one(cur, "SELECT @pv")[0] == "hello", "user variable carried")

# Errors keep their codes.
try:
    cur.execute("SELECT * FROM no_such_table_py")
    check(False, "error expected")
except pymysql.err.ProgrammingError as e:
    check(e.args[0] == 1146, "error code 1146, got %r" % (e.args,))
try:
    cur.execute("INSERT INTO py_t (id, name) VALUES (1, 'dup')")
    check(False, "duplicate key expected")
except pymysql.err.IntegrityError as e:
    check(e.args[0] == 1062, "error code 1062, got %r" % (e.args,))

# Wrong password.
try:
    pymysql.connect(host="127.0.0.1", port=int(port), user=user, password="nope")
    check(False, "login with a wrong password must fail")
except pymysql.err.OperationalError as e:
    check(e.args[0] == 1045, "1045 for a wrong password, got %r" % (e.args,))

# Many short connections (PHP-style): each one works.
for i in range(50):
    c2 = connect()
    c2.cursor().execute("SELECT 1")
    c2.close()

cur.execute("DROP TABLE py_t")
conn.close()
print("pymysql: all checks passed")
