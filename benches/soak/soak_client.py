#!/usr/bin/env python3
"""Load clients for benches/soak/run.sh, each logging every request with wall-clock times.

  soak_client.py writer      --port P --out FILE --duration S [--max N] [--pause SEC]
  soak_client.py reader      --port P --out FILE --duration S [--max N] [--pause SEC]
  soak_client.py connreader  --port P --out FILE --duration S [--max N] [--pause SEC]

writer      one persistent autocommit connection; INSERT INTO soak.tally (wid, ...) with wid
            1, 2, 3, ... (each id sent once, never retried). Output lines (tab separated):
              ins  wid  t_send  t_done  ok|err  errno  message
            and, when the connection is gone and a new one cannot be made:
              conn  0    t_start t_done  err    errno  message
            A connection is kept after an error the server or proxy answered (such as 1429,
            master unavailable), and replaced after a lost connection.
reader      one persistent autocommit connection; point selects on sbtest1..4 with
            @@server_id (which backend answered). Lines:
              read  n  t_send  t_done  ok|err  errno  message-or-server_id
            Reconnects as the writer does (a failed reconnect is logged as a failed read: the client
            could not read). The message of an error starts with "connect:" (the login, or a
            statement the driver sends right after it: PyMySQL sends SET NAMES) or "query:".
connreader  connect, one point select, disconnect, per request (a PHP-style app). Lines as
            reader; a failed connect is a failed request.
locker      a read-modify-write counter under a named lock, the way an application serialises
            without transactions: GET_LOCK('soak_counter'), read soak.counter.v on the master,
            stay idle a moment holding the lock (the soak's lock_kill fault KILLs the holder
            from the server side then), UPDATE v = read + 1, RELEASE_LOCK. Lines:
              inc  n  t_send  t_done  ok|err|unknown  errno  message
            ok: the UPDATE was acknowledged; unknown: the connection was lost after the UPDATE
            was sent (it may or may not have run); err: it was not sent or was refused. A lost
            lock must end the session (the next statement fails), never let the UPDATE run
            without the lock: then final v = acknowledged increments (+ at most the unknown
            ones), and a smaller v means an acknowledged increment was lost.

Every loop stops after --duration seconds or --max requests, whichever comes first. Client
timeouts (connect 10 s, read/write 30 s) turn a hang into an error: a hung proxy shows as a
2013 after ~30 s, never as a stuck soak.
"""
import argparse
import random
import sys
import time

import pymysql

LOST = {2006, 2013, 2014, 2055, 0}


def connect(a):
    return pymysql.connect(
        host="127.0.0.1",
        port=a.port,
        user=a.user,
        password=a.password,
        database=None,
        autocommit=True,
        connect_timeout=10,
        read_timeout=30,
        write_timeout=30,
    )


def close_quietly(conn):
    """Closes a connection that may already be gone; returns None (the caller's new conn)."""
    try:
        conn.close()
    except Exception:
        pass
    return None


def err_of(e):
    code = e.args[0] if e.args and isinstance(e.args[0], int) else 0
    msg = str(e.args[1] if len(e.args) > 1 else e).replace("\t", " ").replace("\n", " ")
    return code, msg[:200]


def writer(a, out):
    deadline = time.time() + a.duration
    conn = None
    wid = 0
    while wid < a.max and time.time() < deadline:
        if conn is None:
            t0 = time.time()
            try:
                conn = connect(a)
            except pymysql.MySQLError as e:
                code, msg = err_of(e)
                out.write(f"conn\t0\t{t0:.6f}\t{time.time():.6f}\terr\t{code}\t{msg}\n")
                time.sleep(0.2)
                continue
        wid += 1
        t0 = time.time()
        try:
            with conn.cursor() as c:
                c.execute("INSERT INTO soak.tally (wid, t_send) VALUES (%s, %s)", (wid, t0))
            out.write(f"ins\t{wid}\t{t0:.6f}\t{time.time():.6f}\tok\t0\t\n")
        except pymysql.MySQLError as e:
            t1 = time.time()
            code, msg = err_of(e)
            out.write(f"ins\t{wid}\t{t0:.6f}\t{t1:.6f}\terr\t{code}\t{msg}\n")
            if code in LOST or isinstance(e, pymysql.err.InterfaceError):
                conn = close_quietly(conn)
        if a.pause:
            time.sleep(a.pause)
    if conn is not None:
        conn.close()


def point_select(conn, a):
    table = random.randint(1, a.tables)
    row = random.randint(1, a.table_size)
    with conn.cursor() as c:
        c.execute(f"SELECT @@server_id, c FROM sbtest.sbtest{table} WHERE id = %s", (row,))
        r = c.fetchone()
    return r[0] if r else "norow"


def reader(a, out, per_request):
    deadline = time.time() + a.duration
    conn = None
    n = 0
    while n < a.max and time.time() < deadline:
        n += 1
        t0 = time.time()
        phase = "query"
        try:
            if conn is None:
                phase = "connect"
                conn = connect(a)
                phase = "query"
            sid = point_select(conn, a)
            out.write(f"read\t{n}\t{t0:.6f}\t{time.time():.6f}\tok\t0\t{sid}\n")
        except pymysql.MySQLError as e:
            t1 = time.time()
            code, msg = err_of(e)
            out.write(f"read\t{n}\t{t0:.6f}\t{t1:.6f}\terr\t{code}\t{phase}: {msg}\n")
            if conn is not None and (code in LOST or isinstance(e, pymysql.err.InterfaceError)):
                conn = close_quietly(conn)
            elif conn is None:
                time.sleep(0.2)
        if per_request and conn is not None:
            conn = close_quietly(conn)
        if a.pause:
            time.sleep(a.pause)
    if conn is not None:
        conn.close()


def locker(a, out):
    deadline = time.time() + a.duration
    conn = None
    n = 0
    while n < a.max and time.time() < deadline:
        if conn is None:
            try:
                conn = connect(a)
            except pymysql.MySQLError:
                time.sleep(0.2)
                continue
        n += 1
        t0 = time.time()
        sent = False
        try:
            with conn.cursor() as c:
                c.execute("SELECT GET_LOCK('soak_counter', 10)")
                if c.fetchone()[0] != 1:
                    out.write(f"inc\t{n}\t{t0:.6f}\t{time.time():.6f}\terr\t0\tlock timeout\n")
                    continue
                c.execute("/* rwsplit:master */ SELECT v FROM soak.counter WHERE id = 1")
                v = c.fetchone()[0]
                time.sleep(random.uniform(0, 0.3))
                sent = True
                c.execute("UPDATE soak.counter SET v = %s WHERE id = 1", (v + 1,))
                done = time.time()
                c.execute("SELECT RELEASE_LOCK('soak_counter')")
                c.fetchone()
            out.write(f"inc\t{n}\t{t0:.6f}\t{done:.6f}\tok\t0\t\n")
        except pymysql.MySQLError as e:
            t1 = time.time()
            code, msg = err_of(e)
            lost = code in LOST or isinstance(e, pymysql.err.InterfaceError)
            # An UPDATE answered with an error did not run; one whose answer was lost may have.
            status = "unknown" if sent and lost and "RELEASE_LOCK" not in msg else "err"
            out.write(f"inc\t{n}\t{t0:.6f}\t{t1:.6f}\t{status}\t{code}\t{msg}\n")
            if lost:
                conn = close_quietly(conn)
        if a.pause:
            time.sleep(a.pause)
    if conn is not None:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["writer", "reader", "connreader", "locker"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="app")
    p.add_argument("--password", default="apppass")
    p.add_argument("--out", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--max", type=int, default=10_000_000)
    p.add_argument("--pause", type=float, default=0.0)
    p.add_argument("--tables", type=int, default=4)
    p.add_argument("--table-size", type=int, default=10000)
    a = p.parse_args()
    with open(a.out, "w", buffering=1) as out:
        if a.mode == "writer":
            writer(a, out)
        elif a.mode == "locker":
            locker(a, out)
        else:
            reader(a, out, a.mode == "connreader")
    return 0


if __name__ == "__main__":
    sys.exit(main())
