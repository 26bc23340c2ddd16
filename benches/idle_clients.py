#!/usr/bin/env python3
"""Memory of many idle clients: opens N client connections through a running rwsplit (each runs
one read, then idles), prints the proxy's RSS and how many sockets it holds, then runs a second
query on every connection.

    benches/idle_clients.py --port 3306 --user app --password ... [--db rwtest] [-n 1000]

The proxy's pid is found with `pgrep -f rwsplit` unless --pid is given. Needs PyMySQL.
"""
import argparse
import subprocess
import time

import pymysql


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":", 1)
                fields[k] = v.strip()
    return fields


def sockets(pid):
    out = subprocess.check_output(["ss", "-tanp"]).decode()
    return sum(1 for l in out.splitlines() if f"pid={pid}," in l and "ESTAB" in l)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3306)
    ap.add_argument("--user", default="app")
    ap.add_argument("--password", default="")
    ap.add_argument("--db", default=None)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--pid", type=int, default=None)
    a = ap.parse_args()
    pid = a.pid or int(subprocess.check_output(["pgrep", "-f", "rwsplit"]).split()[0])
    print("before:", status(pid))
    conns = []
    for _ in range(a.n):
        c = pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password,
                            database=a.db, autocommit=True)
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
        conns.append(c)
    time.sleep(1)
    print(f"{a.n} idle clients:", status(pid), f"proxy TCP sockets: {sockets(pid)}",
          f"(backend connections: {sockets(pid) - a.n})")
    for c in conns:
        with c.cursor() as cur:
            cur.execute("SELECT @@server_id")
            cur.fetchall()
    print(f"after a second query on each:", status(pid))
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
