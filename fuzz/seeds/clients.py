import io, pymysql, mysql.connector
# Client sessions through mitm.py with PyMySQL and mysql-connector-python.
import sys
P = dict(host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 23306, user="app", password="apppass", database="fz")
# PyMySQL: text protocol, its own handshake and connect attributes
c = pymysql.connect(**P, program_name="wp-cron")
cur = c.cursor()
cur.execute("SELECT name, email FROM users WHERE name = %s OR bio LIKE %s", ("it's", "%SELECT%"))
cur.fetchall()
cur.execute("INSERT INTO kv VALUES (%s, %s)", (42, "forty-two"))
c.commit()
c.ping()
c.select_db("fz")
c.close()
# mysql-connector-python (pure): server-side prepared statements, long data, change user
for use_pure in (True,):
    c = mysql.connector.connect(**P, use_pure=use_pure, ssl_disabled=True, auth_plugin="caching_sha2_password")
    cur = c.cursor(prepared=True)
    cur.execute("SELECT id, name, created FROM users WHERE id = ? AND name <> ?", (1, "x"))
    cur.fetchall()
    cur.execute("INSERT INTO users (name, bio) VALUES (?, ?)", ("carol", io.BytesIO(b"long data " * 50)))
    cur.execute("UPDATE users SET email = ? WHERE id = ?", (None, 1))
    cur.close()
    c.cmd_change_user(username="app", password="apppass", database="sbtest")
    c.cmd_query("SELECT 1")
    c.get_rows()
    c.cmd_reset_connection()
    c.close()
