#!/usr/bin/env python3
"""Seeded differential test: the same random session script on a direct connection to the master
and through rwsplit, every result compared.

Usage:
  differential.py --direct-port P --proxy-port Q --user U --password W --seeds A..B
                  [--statements N] [--replica-ports R1,R2] [--jobs N] [--minimize]
                  [--show-script] [--detail N] [--max-diffs K] [--quiet]
  differential.py ... --script FILE          one hand-written script, every result printed
By hand only: --exclude-tags REGEX (leave out statement families with known differences, to
look past them), --no-multi, --pause-replication SOCK1,SOCK2 (stop the replicas' SQL threads
while each script runs, so read-your-writes lapses show every time; --jobs 1).

For each seed: databases diff_<seed>_d / diff_<seed>_d2 (direct side) and diff_<seed>_p /
diff_<seed>_p2 (proxy side) are created on the master with the same schema and rows; one
connection per side runs the same generated statements (placeholders {DB}, {DB2}, {LK} are
replaced by each side's own names), strictly alternating, and per statement the error (code and
message) or, for every result of the statement, the column names, rows, affected rows, insert id,
warning count, OK info text and the transaction-related status flags are compared, after mapping
each side's database names back to the placeholders. The first difference of a seed ends that
seed (what follows would only repeat it) and is printed with the seed, the statement index, both
results and the statements that led there; with --minimize the script is then shrunk to a
minimal sequence that still shows the same difference (re-run 3 times: timing- or
pool-dependent differences say so). After each script the final contents of the tables are
compared too (read on the master). The grammar is in differential_gen.py; the differences
found so far, one minimal script each, are in differential-findings/.

Exit status: 0 when no seed differs, 1 when some did, 2 on a setup problem.
"""
import argparse
import datetime
import decimal
import random
import sys
import time

import pymysql
from pymysql.constants import CLIENT

from differential_gen import TABLES_FOR_FINAL_CHECK, Gen, Opts, Step, setup_sql

COM_RESET_CONNECTION = 0x1F

# The file LOAD DATA LOCAL INFILE statements send ({CSV} in statements); written at start.
CSV_PATH = f"/tmp/rwsplit-differential-{__import__('os').getuid()}.csv"
CSV_TEXT = "1,csv-one\n2,csv-two\n77,csv-77\n"

# Status flags worth comparing: in transaction, autocommit, more results, database dropped,
# no-backslash-escapes, out params, read-only transaction, ANSI_QUOTES (MariaDB). Not compared:
# the index-use and slow-query flags (each server's statistics and timing) and
# SESSION_STATE_CHANGED: PyMySQL does not ask for session tracking, and the server still sets
# the flag in the EOF that ends a result set whenever any tracker of the connection saw a
# change (the proxy's trackers see more than a direct connection's default ones; OK packets
# are compared byte for byte in tests/session_trackers.rs).
STATUS_MASK = 0x1 | 0x2 | 0x8 | 0x100 | 0x200 | 0x1000 | 0x2000 | 0x8000


# PyMySQL drops the status flags of the EOF packet that ends a result set; keep them.
def _check_packet_is_eof(self, packet):
    if not packet.is_eof_packet():
        return False
    wp = pymysql.protocol.EOFPacketWrapper(packet)
    self.warning_count = wp.warning_count
    self.has_next = wp.has_next
    self.server_status = wp.server_status & 0xFFFF  # PyMySQL unpacks it signed
    return True


pymysql.connections.MySQLResult._check_packet_is_eof = _check_packet_is_eof


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

class Side:
    def __init__(self, name, port, args, seed):
        self.name, self.port, self.args = name, port, args
        suffix = "d" if name == "direct" else "p"
        self.db = f"diff_{seed}_{suffix}"
        self.db2 = f"diff_{seed}_{suffix}2"
        self.lk = f"diff_{seed}_{suffix}_"
        self.conn = None

    def sub(self, sql):
        return (sql.replace("{DB2}", self.db2).replace("{DB}", self.db).replace("{LK}", self.lk)
                .replace("{CSV}", CSV_PATH))

    def connect(self, opts):
        flags = CLIENT.MULTI_STATEMENTS if opts.multi else 0
        self.conn = pymysql.connect(
            host="127.0.0.1", port=self.port, user=self.args.user, password=self.args.password,
            database=self.db, autocommit=opts.autocommit, charset="utf8mb4", client_flag=flags,
            init_command=opts.init_command, sql_mode=opts.sql_mode, read_timeout=20, local_infile=True,
            write_timeout=20, connect_timeout=10)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def norm(self, v):
        """A comparable form of one value, with this side's names mapped back to placeholders."""
        if isinstance(v, bytes):
            try:
                v = "b:" + v.decode("utf-8")
            except UnicodeDecodeError:
                return "b:" + v.hex()
        if isinstance(v, str):
            return (v.replace(self.db2, "{DB2}").replace(self.db, "{DB}")
                    .replace(self.lk, "{LK}"))
        if isinstance(v, float):
            return repr(v)
        if isinstance(v, (decimal.Decimal, datetime.date, datetime.timedelta, datetime.datetime)):
            return f"{type(v).__name__}:{v}"
        return v

    def run(self, step):
        """Runs one step; returns a comparable record."""
        conn = self.conn
        rec = {"results": [], "error": None}
        try:
            if step.kind == "sql":
                cur = conn.cursor()
                sql = self.sub(step.arg)
                cur.execute(sql)
                unordered = "ORDER BY" not in sql.upper()
                while True:
                    rec["results"].append(self.result(cur, unordered))
                    if not cur.nextset():
                        break
            elif step.kind == "initdb":
                conn.select_db(self.sub(step.arg))
                rec["results"].append(self.ok_status())
            elif step.kind == "ping":
                conn.ping(reconnect=False)
                rec["results"].append(self.ok_status())
            elif step.kind == "reset":
                conn._execute_command(COM_RESET_CONNECTION, b"")
                conn._read_ok_packet()
                rec["results"].append(self.ok_status())
            elif step.kind == "autocommit":
                conn.autocommit(step.arg)
                rec["results"].append(self.ok_status())
            elif step.kind == "sleep":
                if self.name == "proxy":
                    time.sleep(step.arg)
            elif step.kind == "reconnect":
                raise AssertionError("reconnect is handled by the runner")
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args else None
            msg = self.norm(str(e.args[1])) if len(e.args) > 1 else str(e)
            rec["error"] = (code, msg)
            if isinstance(e, (pymysql.err.OperationalError, pymysql.err.InterfaceError)) and \
                    code in (2006, 2013, 2014, 0, None):
                rec["lost"] = True
        except (UnicodeDecodeError, ValueError) as e:
            # client-side decoding of what the server sent (e.g. SET NAMES latin1 + non-ASCII)
            rec["error"] = ("client", f"{type(e).__name__}: {e}")
            rec["lost"] = True  # the connection state is undefined after a half-read result
        except OSError as e:
            rec["error"] = ("client", f"{type(e).__name__}: {e}")
            rec["lost"] = True
        return rec

    def ok_status(self):
        st = self.conn.server_status or 0
        return {"status": st & STATUS_MASK, "_status": st}

    def result(self, cur, unordered):
        res = cur._result
        rows = None
        cols = None
        if cur.description is not None:
            cols = [self.norm(d[0]) for d in cur.description]
            rows = [tuple(self.norm(v) for v in row) for row in (cur._rows or ())]
            if unordered:
                rows = sorted(rows, key=repr)
        st = res.server_status or 0
        return {
            "cols": cols, "rows": rows,
            "affected": res.affected_rows, "insert_id": res.insert_id,
            "warnings": res.warning_count,
            "info": self.norm(res.message.decode("utf-8", "replace")) if getattr(res, "message", None) else "",
            "status": st & STATUS_MASK, "_status": st,
        }


def strip_private(rec):
    """The record without the fields not compared (full status word)."""
    out = {"error": rec["error"], "results": []}
    for r in rec["results"]:
        out["results"].append({k: v for k, v in r.items() if not k.startswith("_")})
    return out


def differs(a, b):
    return strip_private(a) != strip_private(b)


def diff_signature(a, b):
    """A coarse shape of a difference (for grouping and for checking a shrunk script)."""
    if (a["error"] is None) != (b["error"] is None):
        return ("error_vs_ok", a["error"][0] if a["error"] else None, b["error"][0] if b["error"] else None)
    if a["error"] and b["error"]:
        if a["error"][0] != b["error"][0]:
            return ("error_code", a["error"][0], b["error"][0])
        if a["error"] != b["error"]:
            return ("error_message",)
    ra, rb = a["results"], b["results"]
    if len(ra) != len(rb):
        return ("result_count", len(ra), len(rb))
    fields = []
    for x, y in zip(ra, rb):
        for k in sorted(set(x) | set(y)):
            if not k.startswith("_") and x.get(k) != y.get(k):
                fields.append(k)
    return ("fields",) + tuple(sorted(set(fields)))


def fmt_rec(rec, limit=1500):
    if rec["error"] is not None:
        s = f"ERROR {rec['error'][0]}: {rec['error'][1]}"
        if rec["results"]:
            s = fmt_results(rec["results"]) + " then " + s
        return s
    return fmt_results(rec["results"])[:limit]


def fmt_results(results):
    parts = []
    for r in results:
        if "cols" not in r:
            parts.append(f"OK status=0x{r.get('_status', 0):x}")
            continue
        if r["cols"] is not None:
            rows = r["rows"]
            shown = rows if len(rows) <= 8 else rows[:8] + [f"... {len(rows)} rows"]
            parts.append(f"cols={r['cols']} rows={shown} warnings={r['warnings']} status=0x{r['_status']:x}")
        else:
            parts.append(f"OK affected={r['affected']} insert_id={r['insert_id']} warnings={r['warnings']} "
                         f"info={r['info']!r} status=0x{r['_status']:x}")
    return " | ".join(parts)


class Admin:
    """Direct connections for setup, cleanup and replication waits (never through the proxy)."""

    def __init__(self, args):
        self.args = args
        self.master = pymysql.connect(host="127.0.0.1", port=args.direct_port, user=args.user,
                                      password=args.password, autocommit=True,
                                      client_flag=CLIENT.MULTI_STATEMENTS, charset="utf8mb4")
        self.replicas = [pymysql.connect(host="127.0.0.1", port=p, user=args.user, password=args.password,
                                         autocommit=True, charset="utf8mb4")
                         for p in args.replica_ports]
        # DROP DATABASE costs more than a whole script (file deletions, fsyncs): a thread of its
        # own runs the drops on its own connection while the next seed is set up and run.
        import queue
        import threading
        self.drops = queue.Queue()
        self.drop_error = None
        self.pending = set()  # databases queued for dropping
        self.pending_cv = threading.Condition()
        self.dropper = threading.Thread(target=self._drop_loop, daemon=True)
        self.dropper.start()

    def _drop_loop(self):
        conn = None
        while True:
            stmts = self.drops.get()
            if stmts is None:
                break
            try:
                if conn is None:
                    conn = pymysql.connect(host="127.0.0.1", port=self.args.direct_port, user=self.args.user,
                                           password=self.args.password, autocommit=True,
                                           client_flag=CLIENT.MULTI_STATEMENTS, charset="utf8mb4")
                cur = conn.cursor()
                cur.execute(";\n".join(stmts))
                while cur.nextset():
                    pass
            except Exception as e:  # reported by close()
                self.drop_error = e
            with self.pending_cv:
                for st in stmts:
                    self.pending.discard(st.rsplit(" ", 1)[-1])
                self.pending_cv.notify_all()
        if conn is not None:
            conn.close()

    def close(self):
        """Waits for the pending drops; closes the connections."""
        if self.dropper is not None:
            self.drops.put(None)
            self.dropper.join()
            self.dropper = None
        for c in [self.master] + self.replicas:
            try:
                c.close()
            except Exception:
                pass

    def exec_all(self, stmts):
        cur = self.master.cursor()
        cur.execute(";\n".join(stmts))
        while cur.nextset():
            pass

    def setup(self, sides):
        # the same seed again (minimizing): its old databases must be gone before they are made
        names = {n for s in sides for n in (s.db, s.db2)}
        with self.pending_cv:
            while self.pending & names:
                self.pending_cv.wait()
        stmts = []
        for s in sides:
            stmts += setup_sql(s.db, s.db2)
        self.exec_all(stmts)
        self.wait_replicas()
        if self.args.pause_replication:
            self.pause_replication(True)

    def sync_replicas(self):
        """Lets the replicas catch up (consistency = "session" promises a session its own writes;
        a new session is promised nothing about an earlier one's)."""
        if self.args.pause_replication:
            self.pause_replication(False)
        self.wait_replicas()
        if self.args.pause_replication:
            self.pause_replication(True)

    def pause_replication(self, on):
        """--pause-replication: stop (on) or start the replicas' SQL threads as root over their
        Unix sockets, so every read that must see the session's writes has to wait or go to the
        master, and every lapse of read-your-writes shows deterministically."""
        import subprocess
        for sock in self.args.pause_replication:
            subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={sock}", "-e",
                            "STOP SLAVE SQL_THREAD" if on else "START SLAVE SQL_THREAD"], check=True)

    def wait_replicas(self):
        cur = self.master.cursor()
        cur.execute("SELECT @@gtid_binlog_pos")
        pos = cur.fetchone()[0]
        for r in self.replicas:
            c = r.cursor()
            c.execute("SELECT MASTER_GTID_WAIT(%s, 20)", (pos,))
            if c.fetchone()[0] != 0:
                raise RuntimeError(f"replica {r.port} did not reach {pos} in 20 s")
        if not self.replicas:
            time.sleep(0.2)

    def cleanup(self, sides):
        if self.args.pause_replication:
            self.pause_replication(False)
        stmts = []
        for s in sides:
            stmts += [f"DROP DATABASE IF EXISTS {s.db}", f"DROP DATABASE IF EXISTS {s.db2}"]
        with self.pending_cv:
            self.pending.update(st.rsplit(" ", 1)[-1] for st in stmts)
        self.drops.put(stmts)

    def sweep(self, seeds):
        """Drops every database the seeds may have left (a worker stopped early leaves some)."""
        stmts = []
        for seed in seeds:
            for suffix in ("d", "d2", "p", "p2"):
                stmts.append(f"DROP DATABASE IF EXISTS diff_{seed}_{suffix}")
        for i in range(0, len(stmts), 200):
            self.exec_all(stmts[i:i + 200])

    def snapshot(self, side):
        """The final contents of the side's tables, read on the master."""
        out = {}
        cur = self.master.cursor()
        for dbp, t in TABLES_FOR_FINAL_CHECK:
            db = side.db if dbp == "DB" else side.db2
            try:
                cur.execute(f"SELECT * FROM {db}.{t} ORDER BY id")
                out[f"{dbp}.{t}"] = [tuple(side.norm(v) for v in row) for row in cur.fetchall()]
            except pymysql.err.MySQLError as e:
                out[f"{dbp}.{t}"] = ("error", e.args[0])
        return out


class Outcome:
    def __init__(self):
        self.diff = None  # (index, step, direct_rec, proxy_rec, signature)
        self.executed = []  # steps actually run, auto SHOW WARNINGS included
        self.final_diff = None
        self.statements = 0


def run_script(args, admin, seed, opts, steps, auto_warnings=True, final_check=True):
    direct, proxy = Side("direct", args.direct_port, args, seed), Side("proxy", args.proxy_port, args, seed)
    sides = [direct, proxy]
    out = Outcome()
    admin.setup(sides)
    wrng = random.Random(seed * 7919 + 1)
    try:
        for s in sides:
            try:
                s.connect(opts)
            except pymysql.err.MySQLError as e:
                out.diff = (-1, Step("connect", opts.describe(), "connect"),
                            {"error": None, "results": []} if s is proxy else {"error": e.args, "results": []},
                            {"error": e.args, "results": []} if s is proxy else {"error": None, "results": []},
                            ("connect",))
                return out
        queue = list(steps)
        i = 0
        while i < len(queue):
            step = queue[i]
            out.executed.append(step)
            out.statements += 1
            if step.kind == "reconnect":
                for s in sides:
                    s.close()
                admin.sync_replicas()
                try:
                    for s in sides:
                        s.connect(opts)
                except pymysql.err.MySQLError as e:
                    out.diff = (len(out.executed) - 1, step, {"error": None, "results": []},
                                {"error": e.args, "results": []}, ("reconnect",))
                    return out
                i += 1
                continue
            rd = direct.run(step)
            rp = proxy.run(step)
            if differs(rd, rp):
                out.diff = (len(out.executed) - 1, step, rd, rp, diff_signature(rd, rp))
                return out
            if rd.get("lost") or rp.get("lost"):
                # both sides lost the connection the same way: start over on both
                for s in sides:
                    s.close()
                admin.sync_replicas()
                for s in sides:
                    s.connect(opts)
            elif auto_warnings and step.kind == "sql" and rd["results"] and \
                    rd["results"][-1].get("warnings") and wrng.random() < 0.5:
                queue.insert(i + 1, Step("sql", "SHOW WARNINGS", "auto_show_warnings"))
            i += 1
        for s in sides:
            s.close()
        if final_check:
            a, b = admin.snapshot(direct), admin.snapshot(proxy)
            if a != b:
                keys = [k for k in a if a[k] != b.get(k)]
                out.final_diff = {k: (a[k], b.get(k)) for k in keys}
        return out
    finally:
        for s in sides:
            s.close()
        admin.cleanup(sides)


def script_text(opts, steps, upto=None):
    lines = [f"-- {opts.describe()}"]
    for j, st in enumerate(steps[: (upto + 1) if upto is not None else None]):
        lines.append(f"#{j:<3} {st.text()}")
    return "\n".join(lines)


def minimize(args, admin, seed, opts, steps, target_sig):
    """Delta-debugging style shrink: drop chunks of the statements before the failing one while
    the last statement still differs the same way (and nothing earlier differs)."""
    last = steps[-1]
    prefix = steps[:-1]
    trials = [0]

    def fails(pre, o):
        trials[0] += 1
        res = run_script(args, admin, seed, o, pre + [last], auto_warnings=False, final_check=False)
        return res.diff is not None and res.diff[0] == len(pre) and res.diff[4] == target_sig

    # connection options first: the simplest that still fails
    for cand in (opts.copy(autocommit=True, init_command=None, sql_mode=None, multi=False),
                 opts.copy(init_command=None, sql_mode=None, multi=False),
                 opts.copy(init_command=None, sql_mode=None)):
        if cand.describe() != opts.describe() and fails(prefix, cand):
            opts = cand
            break
    if not fails(prefix, opts):
        return None, None, trials[0]  # does not reproduce without the auto SHOW WARNINGS/timing
    n = 2
    while prefix and trials[0] < args.max_trials:
        chunk = max(1, len(prefix) // n)
        removed = False
        for start in range(0, len(prefix), chunk):
            cand = prefix[:start] + prefix[start + chunk:]
            if fails(cand, opts):
                prefix = cand
                n = max(n - 1, 2)
                removed = True
                break
        if not removed:
            if chunk == 1:
                break
            n = min(n * 2, len(prefix))
    again = sum(fails(prefix, opts) for _ in range(3))
    return opts, prefix + [last], (trials[0], again)


def parse_script(path):
    """A hand-written script: one SQL statement per line ({DB}, {DB2}, {LK} placeholders), or
    `!opts autocommit=0 multi=1`, `!initdb {DB2}`, `!reset`, `!ping`, `!sleep 0.15`,
    `!autocommit 0|1`, `!reconnect`. Lines starting with `--` and blank lines are skipped."""
    opts, steps = Opts(), []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("--"):
                continue
            if line.startswith("!"):
                cmd, _, arg = line[1:].partition(" ")
                if cmd == "opts":
                    for kv in arg.split():
                        k, _, v = kv.partition("=")
                        if k in ("autocommit", "multi"):
                            setattr(opts, k, v in ("1", "true", "True"))
                        else:
                            setattr(opts, k, v)
                elif cmd == "sleep":
                    steps.append(Step("sleep", float(arg), "idle"))
                elif cmd == "autocommit":
                    steps.append(Step("autocommit", arg in ("1", "true", "True"), "api_autocommit"))
                else:
                    steps.append(Step(cmd, arg or None, cmd))
            else:
                steps.append(Step("sql", line, "script"))
    return opts, steps


def run_verbose(args, admin, seed, opts, steps):
    """Runs a script and prints both sides' result of every statement."""
    direct, proxy = Side("direct", args.direct_port, args, seed), Side("proxy", args.proxy_port, args, seed)
    sides = [direct, proxy]
    admin.setup(sides)
    differing = 0
    try:
        for s in sides:
            s.connect(opts)
        print(f"-- {opts.describe()}")
        for j, st in enumerate(steps):
            if st.kind == "reconnect":
                for s in sides:
                    s.close()
                admin.sync_replicas()
                for s in sides:
                    s.connect(opts)
                print(f"#{j:<3} {st.text()}")
                continue
            rd, rp = direct.run(st), proxy.run(st)
            mark = "DIFF" if differs(rd, rp) else "same"
            differing += mark == "DIFF"
            print(f"#{j:<3} {st.text()}\n     {mark} direct: {fmt_rec(rd)}")
            if mark == "DIFF":
                print(f"          proxy:  {fmt_rec(rp)}")
            if rd.get("lost") or rp.get("lost"):
                for s in sides:
                    s.close()
                    s.connect(opts)
    finally:
        for s in sides:
            s.close()
        admin.cleanup(sides)
    return 1 if differing else 0


def parse_range(s):
    if ".." in s:
        a, b = s.split("..", 1)
        return range(int(a), int(b) + 1)
    return [int(x) for x in s.split(",")]


_ADMIN = None


def _worker_init(args):
    global _ADMIN
    _ADMIN = Admin(args)
    _worker_init.args = args
    import multiprocessing.util
    multiprocessing.util.Finalize(None, _ADMIN.close, exitpriority=10)


def _worker_seed(seed):
    return process_seed(_worker_init.args, _ADMIN, seed)


def process_seed(args, admin, seed):
    """Runs one seed; returns (seed, report text, group key or None, statements run)."""
    opts, steps = Gen(seed, args.statements, args.exclude_tags, args.no_multi).generate()
    lines = []
    if args.show_script:
        lines.append(f"== seed {seed}\n{script_text(opts, steps)}")
    try:
        out = run_script(args, admin, seed, opts, steps)
    except (RuntimeError, pymysql.err.MySQLError) as e:
        return seed, f"seed {seed}: setup/cleanup failed: {e}", "setup", 0
    key = None
    if out.diff is not None:
        idx, step, rd, rp, sig = out.diff
        key = (step.tag, sig)
        lines.append(f"\nDIFFERENCE seed={seed} statement #{idx} [{step.tag}] {sig}")
        lines.append(f"  statement: {step.text()}")
        lines.append(f"  direct: {fmt_rec(rd)}")
        lines.append(f"  proxy:  {fmt_rec(rp)}")
        lines.append("  script:")
        lines.append("    " + script_text(opts, out.executed, idx).replace("\n", "\n    "))
        if args.minimize:
            mopts, mini, trials = minimize(args, admin, seed, opts, out.executed[: idx + 1], sig)
            if mini is None:
                lines.append(f"  minimize: did not reproduce in isolation ({trials} runs)")
            else:
                lines.append(f"  minimal ({trials[0]} runs; reproduced {trials[1]}/3 times more):")
                lines.append("    " + script_text(mopts, mini).replace("\n", "\n    "))
    elif out.final_diff:
        key = ("final_state", ("tables",) + tuple(out.final_diff))
        lines.append(f"\nDIFFERENCE seed={seed} in the final table contents (all statements agreed):")
        for k, (a, b) in out.final_diff.items():
            lines.append(f"  {k}:\n    direct: {a}\n    proxy:  {b}")
        lines.append("  script:")
        lines.append("    " + script_text(opts, out.executed).replace("\n", "\n    "))
    return seed, "\n".join(lines), key, out.statements


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--direct-port", type=int, required=True)
    ap.add_argument("--proxy-port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--seeds", default="1", help="A..B (inclusive) or a comma list")
    ap.add_argument("--script", help="run this hand-written script (see parse_script) verbosely instead")
    ap.add_argument("--statements", type=int, default=0, help="statements per script (default: 30-60 by seed)")
    ap.add_argument("--replica-ports", default="", help="replica ports, to wait for replication after setup")
    ap.add_argument("--minimize", action="store_true", help="shrink each difference to a minimal script")
    ap.add_argument("--max-trials", type=int, default=400)
    ap.add_argument("--show-script", action="store_true", help="print each seed's script")
    ap.add_argument("--max-diffs", type=int, default=0, help="stop after this many differing seeds (0: no limit)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--detail", type=int, default=0,
                    help="print the script of only the first N differing seeds (0: all)")
    ap.add_argument("--pause-replication", metavar="SOCK1,SOCK2",
                    help="replica Unix sockets: stop their SQL threads (as root) while each script runs "
                         "(by hand; needs --jobs 1)")
    ap.add_argument("--no-multi", action="store_true", help="no multi-statement connections (by hand)")
    ap.add_argument("--exclude-tags", help="regex: leave out generated statements whose tag matches "
                    "(to look past known differences by hand; never in CI)")
    ap.add_argument("--jobs", type=int, default=1, help="seeds run in parallel (worker processes)")
    args = ap.parse_args()
    args.replica_ports = [int(p) for p in args.replica_ports.split(",") if p]
    args.pause_replication = [p for p in (args.pause_replication or "").split(",") if p]

    with open(CSV_PATH, "w", encoding="utf-8") as f:
        f.write(CSV_TEXT)
    try:
        admin = Admin(args)
    except pymysql.err.MySQLError as e:
        print(f"setup: cannot connect: {e}", file=sys.stderr)
        return 2

    if args.script:
        opts, steps = parse_script(args.script)
        try:
            return run_verbose(args, admin, 0, opts, steps)
        finally:
            admin.close()

    t0 = time.time()
    seeds = parse_range(args.seeds)
    diffs = []
    total_statements = 0
    groups = {}
    if args.jobs > 1:
        admin.close()
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(args.jobs, initializer=_worker_init, initargs=(args,))
        results = pool.imap(_worker_seed, seeds)
    else:
        results = (process_seed(args, admin, seed) for seed in seeds)
    done = False
    try:
        for n, (seed, text, key, statements) in enumerate(results):
            if text:
                if key is not None and key != "setup" and args.detail and len(diffs) >= args.detail:
                    # past --detail differing seeds: the difference itself, not the script
                    text = "\n".join(text.split("\n")[:5])
                print(text)
                sys.stdout.flush()
            total_statements += statements
            if key is not None:
                if key == "setup":
                    return 2
                diffs.append(seed)
                groups.setdefault(key, []).append(seed)
            if not args.quiet and (n + 1) % 50 == 0:
                print(f"... {n + 1}/{len(seeds)} seeds, {len(diffs)} differing, {time.time() - t0:.1f}s",
                      file=sys.stderr)
            if args.max_diffs and len(diffs) >= args.max_diffs:
                break
        done = True
    finally:
        if args.jobs > 1:
            if done:
                pool.close()  # workers finish their pending drops
                pool.join()
            else:
                pool.terminate()
            admin = Admin(args)
        admin.sweep(seeds)
        admin.close()
    el = time.time() - t0
    print(f"\n{len(seeds)} seeds, {total_statements} statements per side, {len(diffs)} seeds differing, {el:.1f}s")
    if groups:
        print("differences by statement kind and shape:")
        for (tag, sig), ss in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(ss):4} x [{tag}] {sig}: seeds {', '.join(map(str, ss[:12]))}{' ...' if len(ss) > 12 else ''}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
