#!/usr/bin/env python3
"""Markdown report of a benches/soak/run.sh work directory: report.py WORKDIR > soak.md

Reads meta.env, events.tsv (the faults), samples.tsv (proxy RSS / fds), client-*.tsv (every
request of the Python clients), sb-ro.log / sb-rw.log (sysbench, per-second reports),
rwsplit.log (JSON lines), tally-master.tsv (wid, rows on the master), tally-replicas.tsv and
metrics.txt.
"""
import collections
import glob
import json
import os
import re
import sys

IN_FLIGHT = "in flight when the master stopped"
DURING = "sent while the master was down"
READMITTING = "sent ≤ 2 s after the master answered again (monitor readmission)"
LATE = "sent 2-30 s after the master answered again"
UNEXPLAINED = "master up, no restart near"
READMIT = 2.0
SETTLE = 5.0       # seconds after a fault ends still counted as its aftermath
SIGHUP_SPAN = 2.0  # a SIGHUP "window"
KINDS = ["replica_stop", "replica_kill", "master_restart", "topology_remove", "sighup", "lock_kill"]


def load_meta(work):
    meta = {}
    with open(os.path.join(work, "meta.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def load_events(work):
    ev = []
    with open(os.path.join(work, "events.tsv")) as f:
        next(f)
        for line in f:
            kind, node, t1, t2, tdown, detail = line.rstrip("\n").split("\t")
            t1, t2, tdown = float(t1), float(t2), float(tdown)
            if kind == "sighup":
                t2 = t1 + SIGHUP_SPAN
            ev.append({"kind": kind, "node": node, "t1": t1, "t2": t2, "tdown": tdown,
                       "detail": detail})
    return ev


def category(a, events, b=None):
    """The fault a request [a, b] (or a moment a) overlaps: the kind of a fault window, 'settle'
    for the SETTLE seconds after one, 'quiet' otherwise."""
    b = a if b is None else b
    for e in events:
        if a <= e["t2"] and b >= e["t1"]:
            return e["kind"]
    for e in events:
        if a <= e["t2"] + SETTLE and b > e["t2"]:
            return "settle"
    return "quiet"


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ms(x):
    return "n/a" if x != x else f"{x * 1000:.1f}"


def load_clients(work):
    """{name: [(kind, n, t0, t1, status, errno, msg)]}"""
    out = {}
    for path in sorted(glob.glob(os.path.join(work, "client-*.tsv"))):
        name = os.path.basename(path)[len("client-"):-len(".tsv")]
        rows = []
        with open(path) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) < 6:
                    continue
                rows.append((p[0], int(p[1]), float(p[2]), float(p[3]), p[4], int(p[5]),
                             p[6] if len(p) > 6 else ""))
        out[name] = rows
    return out


SB_LINE = re.compile(r"^\[ *(\d+)s \].*? qps: ([\d.]+) .*?lat \(ms,99%\): ([\d.]+) err/s: ([\d.]+) reconn/s: ([\d.]+)")


def load_sysbench(path):
    """Per-second reports with absolute times, summary totals, run count."""
    res = {"seconds": [], "qps_sum": 0.0, "errors": 0, "reconnects": 0, "queries": 0, "events": 0, "runs": 0,
           "exits": [], "max_ms": 0.0, "fatal": []}
    if not os.path.exists(path):
        return res
    start = None
    with open(path) as f:
        for line in f:
            if line.startswith("### start"):
                start = float(line.split()[2])
                res["runs"] += 1
                continue
            if line.startswith("### exit"):
                res["exits"].append((float(line.split()[2]), line.split()[-1]))
                continue
            m = SB_LINE.match(line)
            if m and start is not None:
                s = int(m.group(1))
                # (time, p99 ms, err/s, reconn/s); queries from qps (a run that crashes prints
                # no summary)
                res["seconds"].append((start + s - 0.5, float(m.group(3)), float(m.group(4)),
                                       float(m.group(5))))
                res["qps_sum"] += float(m.group(2))
                continue
            s = line.strip()
            if s.startswith("ignored errors:"):
                res["errors"] += int(s.split()[2])
            elif s.startswith("reconnects:"):
                res["reconnects"] += int(s.split()[1])
            elif s.startswith("queries:"):
                res["queries"] += int(s.split()[1])
            elif s.startswith("transactions:"):
                res["events"] += int(s.split()[1])
            elif s.startswith("max:"):
                res["max_ms"] = max(res["max_ms"], float(s.split()[1]))
            elif "FATAL" in s:
                res["fatal"].append(s[:200])
    return res


def load_log(work):
    msgs = collections.Counter()
    health = []
    examples = {}
    with open(os.path.join(work, "rwsplit.log"), errors="replace") as f:
        for line in f:
            try:
                j = json.loads(line)
            except ValueError:
                msgs[("raw", line.strip()[:120])] += 1
                continue
            fields = j.get("fields", {})
            msg = fields.get("message", "")
            level = j.get("level", "?")
            msgs[(level, msg)] += 1
            examples.setdefault((level, msg), j)
            if msg == "backend health changed":
                health.append((j.get("timestamp", ""), fields))
    return msgs, health, examples


def ts_epoch(ts):
    # 2026-11-25T16:01:02.123456Z
    import datetime
    try:
        s = ts.rstrip("Z")
        if "." in s:
            base, frac = s.split(".")
            frac = (frac + "000000")[:6]
            s = base + "." + frac
            fmt = "%Y-%m-%dT%H:%M:%S.%f"
        else:
            fmt = "%Y-%m-%dT%H:%M:%S"
        return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def main():
    work = sys.argv[1]
    meta = load_meta(work)
    t0 = float(meta["t0"])
    t_end = float(meta["t_end"])
    events = load_events(work)
    clients = load_clients(work)
    sb_ro = load_sysbench(os.path.join(work, "sb-ro.log"))
    sb_rw = load_sysbench(os.path.join(work, "sb-rw.log"))
    msgs, health, examples = load_log(work)
    failover_s = float(re.sub(r"[^\d.]", "", meta["read_failover"]))
    if meta["read_failover"].endswith("ms"):
        failover_s /= 1000.0
    goal_lat = failover_s + 1.0

    o = []
    w = o.append
    w(f"# rwsplit fault soak — {meta.get('date', '')}".rstrip(" —"))
    w("")
    src = f" (last change to src: {meta['src_commit']})" if meta.get("src_commit") else ""
    w(f"- rwsplit {meta['commit']}{src}; {meta['version']}; {meta['mariadb']}; {meta['sysbench']}")
    w(f"- machine: {meta['cpus']} CPUs ({meta['cpu_model']}); proxy, 3 servers and all clients share them")
    w(f"- {meta['soak_seconds']} s of load; a fault every {meta['fault_interval']} s from +20 s to -30 s; "
      f"replica frozen {meta['stop_seconds']} s, killed/master stopped {meta['down_seconds']} s, "
      f"replica removed {meta['removed_seconds']} s")
    w(f"- proxy: `[monitor] interval = \"{meta['monitor_interval']}\"` (fail_after 3, recover_after 2, "
      f"check timeouts 1 s: the defaults), `[timeouts] read_failover = \"{meta['read_failover']}\"`, "
      "consistency default (session), --threads 1")
    w(f"- load: sysbench oltp_read_only --skip_trx=on 4 threads at {meta['ro_rate']} events/s, "
      f"oltp_read_write 2 threads at {meta['rw_rate']} events/s (both --mysql-ignore-errors=all), "
      "2 persistent point-select readers, 2 connect-per-request readers, 1 writer (PyMySQL, "
      "autocommit; pauses between requests: readers 20 ms, writer 10 ms; client read timeout 30 s)")
    w("- sysbench latency includes its rate limiter's queue (an event waits when sysbench falls "
      "behind), so read latency is taken from the Python readers, which do not queue")
    w("")

    # ---------------------------------------------------------------- faults
    w("## Faults")
    w("")
    w("| # | at s | fault | node | lasted s | detail |")
    w("|---:|---:|---|---|---:|---|")
    for i, e in enumerate(events, 1):
        dur = 0.0 if e["kind"] == "sighup" else e["t2"] - e["t1"]
        w(f"| {i} | {e['t1'] - t0:.0f} | {e['kind']} | {e['node']} | {dur:.1f} | {e['detail']} |")
    w("")

    # ---------------------------------------------------------------- reads
    cats = KINDS + ["settle", "quiet"]
    w("## Reads")
    w("")
    w("Failed reads by the fault window the request overlapped (`settle` = the 5 s after one, "
      "`quiet` = none). sysbench counts are per-second `err/s` reports attributed the same way.")
    w("")
    w("| client | requests | failed | " + " | ".join(cats) + " |")
    w("|---|---:|---:|" + "---:|" * len(cats))
    total_failed_reads = 0
    read_err_msgs = collections.Counter()
    for name, rows in clients.items():
        if name == "writer" or name.startswith("locker"):
            continue
        per = collections.Counter()
        n = 0
        for kind, _, a, b, st, code, msg in rows:
            n += 1
            if st != "ok":
                cat = category(a, events, b)
                per[cat] += 1
                read_err_msgs[(name.rstrip("0123456789"), cat, code, re.sub(r"\d+(\.\d+)*", "N", msg)[:120])] += 1
        failed = sum(per.values())
        total_failed_reads += failed
        w(f"| {name} | {n} | {failed} | " + " | ".join(str(per[c]) for c in cats) + " |")
    sb_secs = {}
    for label, sb in (("sysbench oltp_read_only", sb_ro), ("sysbench oltp_read_write", sb_rw)):
        per = collections.Counter()
        secs = collections.Counter()
        for t, _, err, _ in sb["seconds"]:
            if err > 0:
                per[category(t, events)] += int(round(err))
                secs[category(t, events)] += 1
        sb_secs[label] = secs
        errs = sum(per.values())
        w(f"| {label} | ≈{sb['qps_sum']:.0f} queries | {errs} | "
          + " | ".join(f"{per[c]} ({secs[c]} s)" if per[c] else "0" for c in cats) + " |")
        if label.endswith("read_only"):
            total_failed_reads += errs
    w("")
    w("sysbench rows: errors from its per-second reports (a failed query is retried at once, so "
      "a server that refuses fast gives thousands per second); in parentheses the seconds that "
      f"had errors. Summaries: read_only {sb_ro['errors']} ignored errors, {sb_ro['reconnects']} "
      f"reconnects; read_write {sb_rw['errors']} ignored errors, {sb_rw['reconnects']} reconnects "
      "(a run that crashed printed none).")
    w("")
    def runs(sb):
        rcs = collections.Counter(rc for _, rc in sb["exits"])
        early = [f"+{t - t0:.0f}s rc {rc}" for t, rc in sb["exits"] if rc != "0"][:6]
        return (f"{sb['runs']} run(s), exit codes " + ", ".join(f"{rc} ×{c}" for rc, c in rcs.items())
                + (f" (first early exits: {', '.join(early)})" if early else ""))
    w(f"sysbench (restarted for the remaining time when it exits; rc 139 = it crashed): read_only "
      f"{runs(sb_ro)}; read_write {runs(sb_rw)}.")
    if sb_ro["fatal"] or sb_rw["fatal"]:
        w("")
        w("sysbench FATAL lines: " + "; ".join(sorted(set(sb_ro["fatal"] + sb_rw["fatal"]))[:8]))
    if read_err_msgs:
        w("")
        w("Read errors of the Python clients (N = a number):")
        w("")
        w("| client | window | errno | message | count |")
        w("|---|---|---:|---|---:|")
        for (cl, cat, code, msg), c in sorted(read_err_msgs.items(), key=lambda x: (x[0][1], -x[1])):
            w(f"| {cl} | {cat} | {code} | {msg.replace('|', '/')} | {c} |")
    w("")

    # ---------------------------------------------------------------- latency
    w("## Read latency")
    w("")
    w(f"Per request of the Python readers (persistent: the query; connect-per-request: connect + "
      f"query + close), by the fault window the request overlapped. Goal while a replica is frozen: "
      f"p99 ≤ read_failover + 1 s = {goal_lat:.1f} s.")
    w("")
    w("| client | window | requests | p50 ms | p99 ms | max ms | > 1 s |")
    w("|---|---|---:|---:|---:|---:|---:|")
    lat = {}
    for group in ("reader", "conn"):
        by = collections.defaultdict(list)
        for name, rows in clients.items():
            if not name.startswith(group):
                continue
            for kind, _, a, b, st, code, msg in rows:
                if st == "ok":
                    by[category(a, events, b)].append(b - a)
        lat[group] = by
        for c in cats:
            v = by.get(c, [])
            if not v:
                continue
            w(f"| {'persistent' if group == 'reader' else 'connect-per-request'} | {c} | {len(v)} | "
              f"{ms(pct(v, 50))} | {ms(pct(v, 99))} | {ms(max(v))} | {sum(1 for x in v if x > 1)} |")
    w("")
    w("Per frozen replica (persistent readers; connect-per-request failures and sysbench "
      "read_only errors in the same window):")
    w("")
    w("| # | node | requests | p99 ms | max ms | > 1 s | connect-per-request failed | sysbench errors |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|")
    stop_p99 = []
    for i, e in enumerate(events, 1):
        if e["kind"] != "replica_stop":
            continue
        v = [b - a for name, rows in clients.items() if name.startswith("reader")
             for kind, _, a, b, st, code, msg in rows if st == "ok" and a <= e["t2"] and b >= e["t1"]]
        cf = sum(1 for name, rows in clients.items() if name.startswith("conn")
                 for kind, _, a, b, st, code, msg in rows if st != "ok" and a <= e["t2"] and b >= e["t1"])
        sbe = sum(err for t, p, err, rc in sb_ro["seconds"] if e["t1"] <= t <= e["t2"])
        stop_p99.append(pct(v, 99))
        w(f"| {i} | {e['node']} | {len(v)} | {ms(pct(v, 99))} | {ms(max(v) if v else float('nan'))} | "
          f"{sum(1 for x in v if x > 1)} | {cf} | {sbe:.0f} |")
    w("")

    # ---------------------------------------------------------------- writes
    w("## Writes (soak.tally)")
    w("")
    wr = clients.get("writer", [])
    ins = [r for r in wr if r[0] == "ins"]
    conn_fail = [r for r in wr if r[0] == "conn"]
    masters = [e for e in events if e["kind"] == "master_restart"]

    # The window of a master restart: from the stop command (t1) through the moment the process
    # was gone (tdown) to start-node returning (t2, the master answers again). The monitor then
    # needs recover_after good checks to readmit it: READMIT seconds are allowed for that.
    # A 1429 is the proxy refusing without sending (never in flight); a lost connection on a
    # write sent before the master was gone is in flight (its outcome unknown to the client).
    def wclass(a, b, code=0):
        for e in masters:
            if code != 1429 and a < e["tdown"] and b >= e["t1"]:
                return IN_FLIGHT
            if e["t1"] <= a < e["tdown"]:
                return DURING
            if e["tdown"] <= a <= e["t2"]:
                return DURING
            if e["t2"] < a <= e["t2"] + READMIT:
                return READMITTING
        for e in masters:
            if e["t2"] + READMIT < a <= e["t2"] + 30:
                return LATE
        return UNEXPLAINED

    tally = {}
    with open(os.path.join(work, "tally-master.tsv")) as f:
        for line in f:
            p = line.split()
            if len(p) == 2:
                tally[int(p[0])] = int(p[1])
    ok_ids = {r[1] for r in ins if r[4] == "ok"}
    err = [r for r in ins if r[4] != "ok"]
    err_cls = collections.Counter(wclass(r[2], r[3], r[5]) for r in err)
    lost = sorted(i for i in ok_ids if tally.get(i, 0) == 0)
    doubled = sorted(i for i, c in tally.items() if c > 1)
    logged = {r[1] for r in ins}
    phantom = sorted(i for i in tally if i not in logged)
    err_committed = collections.Counter(wclass(r[2], r[3], r[5]) for r in err if tally.get(r[1], 0) > 0)
    w(f"- inserts sent: {len(ins)}; OK: {len(ok_ids)}; failed: {len(err)}; failed reconnects "
      f"(no insert sent): {len(conn_fail)}")
    w(f"- master rows: {sum(tally.values())} for {len(tally)} distinct ids; "
      f"**lost** (OK but not on the master): {len(lost)}{' ' + str(lost[:10]) if lost else ''}; "
      f"**doubled**: {len(doubled)}{' ' + str(doubled[:10]) if doubled else ''}; "
      f"rows the writer never sent: {len(phantom)}")
    w(f"- failed inserts that were committed all the same: {sum(err_committed.values())}"
      + (" (" + ", ".join(f"{k}: {v}" for k, v in err_committed.items()) + ")" if err_committed else ""))
    try:
        with open(os.path.join(work, "tally-replicas.tsv")) as f:
            rep = " / ".join(line.strip().replace("\t", ": ") for line in f)
        w(f"- rows, distinct ids at the end: {rep}")
    except OSError:
        pass
    w("")
    w("| failed inserts | count |")
    w("|---|---:|")
    for k, v in err_cls.most_common():
        w(f"| {k} | {v} |")
    w("")
    werr = collections.Counter((r[5], re.sub(r"\d+(\.\d+)*", "N", r[6])[:110]) for r in err)
    if werr:
        w("| errno | message | count |")
        w("|---:|---|---:|")
        for (code, msg), c in werr.most_common(10):
            w(f"| {code} | {msg.replace('|', '/')} | {c} |")
        w("")
    w("Per master restart: the window is from the stop command to start-node returning (the master "
      "answers again); the write outage is from the first failed insert to the first OK after it.")
    w("")
    w("Failed reads (Python readers) near each restart, for comparison: the reads fail over the "
      "same span as the writes (see Reads).")
    w("")
    w("| # | how | down window s | failed inserts | in flight | while down | ≤ 2 s after | later | write outage s | outage end − master back s | failed reads | reads failing from → to s (after the stop) |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for e in masters:
        i = events.index(e) + 1
        near = [r for r in ins if e["t1"] - 30 <= r[2] <= e["t2"] + 30]
        fails = [r for r in near if r[4] != "ok"]
        cl = collections.Counter(wclass(r[2], r[3], r[5]) for r in fails)
        rfails = [r for name, rows in clients.items()
                  if name != "writer" and not name.startswith("locker") for r in rows
                  if r[4] != "ok" and e["t1"] - 5 <= r[2] <= e["t2"] + 10]
        span = (f"{min(r[2] for r in rfails) - e['t1']:.1f} → {max(r[3] for r in rfails) - e['t1']:.1f}"
                if rfails else "—")
        outage = back = "n/a"
        if fails:
            first = min(r[2] for r in fails)
            oks_after = [r[3] for r in near if r[4] == "ok" and r[2] > max(x[2] for x in fails)]
            if oks_after:
                outage = f"{min(oks_after) - first:.1f}"
                back = f"{min(oks_after) - e['t2']:+.1f}"
        w(f"| {i} | {e['detail'].split(' ')[0]} | {e['t2'] - e['t1']:.1f} | {len(fails)} | "
          f"{cl[IN_FLIGHT]} | {cl[DURING]} | {cl[READMITTING]} | {cl[LATE]} | {outage} | {back} | "
          f"{len(rfails)} | {span} |")
    w("")

    # ---------------------------------------------------------------- named-lock counter
    incs = [r for name, rows in clients.items() if name.startswith("locker") for r in rows]
    lock_ok = sum(1 for r in incs if r[4] == "ok")
    lock_unknown = sum(1 for r in incs if r[4] == "unknown")
    lock_err = sum(1 for r in incs if r[4] == "err")
    counter = None
    try:
        with open(os.path.join(work, "counter-master.tsv")) as f:
            counter = int(f.read().strip() or "0")
    except (OSError, ValueError):
        pass
    lost_incs = None
    if incs:
        w("## Named-lock counter (soak.counter)")
        w("")
        w("Two lockers do read-modify-write of one counter under `GET_LOCK`; `lock_kill` KILLs the "
          "lock holder's master connection from the server side. A lost lock must end that "
          "session, so the final value is at least the acknowledged increments (at most those "
          "plus the ones whose answer was lost).")
        w("")
        kills = [e for e in events if e["kind"] == "lock_kill"]
        lost_incs = (lock_ok - counter) if counter is not None else None
        w(f"- increments acknowledged: {lock_ok}; answer lost (unknown outcome): {lock_unknown}; "
          f"refused or failed before the UPDATE: {lock_err}; holder KILLs: "
          f"{sum(1 for e in kills if e['detail'].startswith('KILL'))} of {len(kills)} faults")
        w(f"- counter on the master: {counter}; **acknowledged but lost**: "
          f"{max(lost_incs, 0) if lost_incs is not None else 'n/a'}")
        lerr = collections.Counter((r[5], re.sub(r"\d+(\.\d+)*", "N", r[6])[:110]) for r in incs if r[4] != "ok")
        if lerr:
            w("")
            w("| errno | message | count |")
            w("|---:|---|---:|")
            for (code, msg), c in lerr.most_common(8):
                w(f"| {code} | {msg.replace('|', '/')} | {c} |")
        w("")

    # ---------------------------------------------------------------- resources
    w("## Proxy resources")
    w("")
    samples = []
    with open(os.path.join(work, "samples.tsv")) as f:
        next(f)
        for line in f:
            p = line.split()
            if len(p) >= 4 and p[1] and p[2]:
                p += ["0"] * (7 - len(p))
                samples.append((float(p[0]), int(p[1]), int(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6])))
    samples.sort()
    if samples:
        idle0 = samples[0]
        under = [s for s in samples if t0 + 15 <= s[0] <= t_end]
        start = under[0] if under else samples[0]
        end = under[-1] if under else samples[-1]
        idle1 = samples[-1]
        w("| when | at s | VmRSS MiB | open fds | threads | client conns | backend conns (idle in pool) | fds − conns |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, s in (("idle, before the load", idle0), ("start (load, all backends up)", start),
                         ("end (load, all backends up)", end), ("idle, after the load", idle1)):
            w(f"| {label} | {s[0] - t0:.0f} | {s[1] / 1024:.1f} | {s[2]} | {s[3]} | {s[4]} | {s[5]} ({s[6]}) | {s[2] - s[4] - s[5]} |")
        w(f"| max over the run | | {max(s[1] for s in samples) / 1024:.1f} | {max(s[2] for s in samples)} | "
          f"{max(s[3] for s in samples)} | {max(s[4] for s in samples)} | {max(s[5] for s in samples)} | |")
        w("")
        w(f"RSS every 5 s (MiB): {' '.join(f'{s[1] / 1024:.1f}' for s in samples)}")
        w("")
        w(f"fds every 5 s: {' '.join(str(s[2]) for s in samples)}")
        w("")
        w(f"backend connections every 5 s: {' '.join(str(s[5]) for s in samples)}")
        w("")
        rest = collections.Counter(s[2] - s[4] - s[5] for s in samples)
        w("fds − (client + backend connections), over all samples (value ×count; the rest are the "
          "listeners, the log, epoll and the like — a leak would make it grow): "
          + ", ".join(f"{k} ×{v}" for k, v in sorted(rest.items())))
        w("")

    # ---------------------------------------------------------------- log
    w("## Proxy log")
    w("")
    retr = sum(c for (lv, m), c in msgs.items() if "retrying elsewhere" in m)
    hc = sum(c for (lv, m), c in msgs.items() if m == "backend health changed")
    w(f"- \"retrying elsewhere\": {retr}; \"backend health changed\": {hc}")
    w("")
    w("| level | message | count |")
    w("|---|---|---:|")
    for (lv, m), c in sorted(msgs.items(), key=lambda x: -x[1]):
        if lv in ("INFO", "DEBUG", "TRACE") and m not in ("backend health changed",):
            continue
        w(f"| {lv} | {m.replace('|', '/')[:140]} | {c} |")
    w("")
    # Health changes against the faults: how long from a fault to the proxy seeing it.
    addr_node = {}
    env = {}
    try:
        with open(os.path.join(work, "cluster.env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v
    except OSError:
        pass
    for node in ("master", "replica1", "replica2"):
        if env.get(node.upper() + "_PORT"):
            addr_node["127.0.0.1:" + env[node.upper() + "_PORT"]] = node
    w("<details><summary>backend health changes</summary>")
    w("")
    w("| at s | node | from | to | reason |")
    w("|---:|---|---|---|---|")
    for ts, fl in health:
        t = ts_epoch(ts)
        at = f"{t - t0:.1f}" if t else ts
        node = addr_node.get(fl.get("backend", ""), fl.get("backend", ""))
        w(f"| {at} | {node} | {fl.get('from')} | {fl.get('to')} | {str(fl.get('reason', '')).replace('|', '/')[:150]} |")
    w("")
    w("</details>")
    w("")
    # First health change of the faulted node after each fault (detection time).
    det = []
    for i, e in enumerate(events, 1):
        if e["kind"] not in ("replica_stop", "replica_kill", "master_restart"):
            continue
        first = None
        for ts, fl in health:
            t = ts_epoch(ts)
            if t and t >= e["t1"] and addr_node.get(fl.get("backend")) == e["node"] and fl.get("to") in ("down", "lagging"):
                first = t - e["t1"]
                break
        others = sorted({addr_node.get(fl.get("backend"), "?") + "→" + str(fl.get("to"))
                         for ts, fl in health
                         if (t := ts_epoch(ts)) and e["t1"] <= t <= e["t2"] + SETTLE
                         and addr_node.get(fl.get("backend")) != e["node"]})
        det.append((i, e["kind"], e["node"], first, others))
    if det:
        w("Time from each fault to the proxy marking that node down/lagging, and other nodes' changes in the window:")
        w("")
        w("| # | fault | node | detected after s | other nodes' changes |")
        w("|---:|---|---|---:|---|")
        for i, kind, node, first, others in det:
            w(f"| {i} | {kind} | {node} | {'not marked' if first is None else f'{first:.1f}'} | {', '.join(others) or '—'} |")
        w("")

    # ---------------------------------------------------------------- metrics
    try:
        with open(os.path.join(work, "metrics.txt")) as f:
            keep = [l.strip() for l in f if l.startswith(("rwsplit_read_retries", "rwsplit_reloads_total",
                                                          "rwsplit_client_connections ", "rwsplit_backend_connections"))]
        if keep:
            w("<details><summary>metrics at the end</summary>")
            w("")
            w("```")
            o.extend(keep)
            w("```")
            w("")
            w("</details>")
            w("")
    except OSError:
        pass

    # ---------------------------------------------------------------- goals
    w("## Goals")
    w("")
    stop_worst = max((x for x in stop_p99 if x == x), default=float("nan"))
    quiet_p99 = pct(lat.get("reader", {}).get("quiet", []), 99)
    rs = samples
    w("| goal | result | met |")
    w("|---|---|---|")
    w(f"| no failed reads | {total_failed_reads} (Python readers + sysbench read_only) | {'yes' if total_failed_reads == 0 else 'no'} |")
    unexplained = err_cls.get(UNEXPLAINED, 0) + err_cls.get(LATE, 0)
    after = 0
    w(f"| writes fail only while the master is down | {len(err)} failed: "
      + ", ".join(f"{k} {v}" for k, v in err_cls.most_common())
      + f" | {'yes' if unexplained == 0 and after == 0 else 'no'} |")
    w(f"| no row lost that got OK, none doubled | lost {len(lost)}, doubled {len(doubled)} | {'yes' if not lost and not doubled else 'no'} |")
    if lost_incs is not None:
        w(f"| no acknowledged increment lost under a killed lock | {max(lost_incs, 0)} lost, counter {counter} "
          f"for {lock_ok} acknowledged (+{lock_unknown} unknown) | "
          f"{'yes' if lost_incs <= 0 and counter <= lock_ok + lock_unknown else 'no'} |")
    w(f"| p99 read latency with a replica frozen ≤ {goal_lat:.1f} s | worst window p99 {ms(stop_worst)} ms (quiet p99 {ms(quiet_p99)} ms) | "
      f"{'yes' if stop_worst == stop_worst and stop_worst <= goal_lat else 'no'} |")
    if samples:
        w(f"| proxy RSS and fds flat | RSS {start[1] / 1024:.1f} → {end[1] / 1024:.1f} MiB, fds {start[2]} → {end[2]} "
          f"(idle {idle0[1] / 1024:.1f} → {idle1[1] / 1024:.1f} MiB, {idle0[2]} → {idle1[2]} fds) | see text |")
    w("")
    sys.stdout.write("\n".join(o) + "\n")


if __name__ == "__main__":
    main()
