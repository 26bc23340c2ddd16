#!/usr/bin/env bash
# benches/load.sh — sysbench through rwsplit vs haproxy (TCP) vs straight to MariaDB.
#
#   benches/load.sh                        # BENCH_TIME=20 s per run, 2 rounds
#   BENCH_TIME=10 BENCH_ROUNDS=1 benches/load.sh
#
# What it does:
#   1. starts a private MariaDB cluster (master + 2 GTID replicas, scripts/cluster.sh) in a
#      temporary directory, torn down on exit;
#   2. builds rwsplit --release and runs a copy of the binary (so a rebuild in the shared
#      target dir can't swap it mid-run) with a proxy.toml for that cluster;
#   3. runs haproxy in TCP mode with two frontends: "write" -> the master, and "read" -> the two
#      replicas round-robin. haproxy cannot split reads from writes, so each workload uses the
#      frontend a haproxy deployment would use for it: the read workloads go to "read", the
#      read/write workload to "write". rwsplit gets every workload on one port and splits;
#   4. prepares sysbench tables (BENCH_TABLES x BENCH_TABLE_SIZE rows) on the master and waits
#      for both replicas to apply them;
#   5. for each workload — oltp_point_select --skip_trx=on, oltp_read_only --skip_trx=on,
#      oltp_read_write — runs sysbench against each target in turn, BENCH_ROUNDS times, rotating
#      the order every round (direct, haproxy, rwsplit / haproxy, rwsplit, direct / ...) so slow
#      drift on a shared machine does not favour one target;
#   6. prints a markdown report and writes it to benches/results/load-<date>.md.
#
# Measured per run:
#   QPS           sysbench "queries ... per sec." (all statements, BEGIN/COMMIT included)
#   p50 / p95     latency of one sysbench *event* in ms: one query for oltp_point_select, one
#                 transaction's worth of queries for the others (14 for read_only with
#                 --skip_trx, 18 for read_write). p95 is sysbench's own --percentile=95; p50 is
#                 read from sysbench's --histogram (same buckets, ~1% wide), not a second run.
#   CPU/1k q      the proxy process's utime+stime (/proc/PID/stat, all threads) over the whole
#                 sysbench run, in CPU-milliseconds per 1000 queries (= CPU-µs per query).
#                 "direct" has no proxy, so n/a.
#   RSS           the proxy's VmRSS after the run (and VmHWM, its peak so far), MiB.
#   host busy     share of all cores busy during the run (/proc/stat): the client, the servers
#                 and the proxy share the same cores, so a proxy that needs more CPU per query
#                 leaves less for everything else — on a 2-core box that decides throughput.
#
# Environment: BENCH_TIME [20] seconds per run, BENCH_ROUNDS [2], BENCH_THREADS [8],
# BENCH_TABLES [4], BENCH_TABLE_SIZE [10000], BENCH_PS_MODE [auto] (sysbench --db-ps-mode:
# auto = server-side prepared statements, disable = text protocol), BENCH_KEEP=1 keeps the
# temporary directory (logs, configs), BENCH_RESULTS_DIR [benches/results], BENCH_WORKLOADS (a
# subset, space-separated), BENCH_RWSPLIT_ARGS (extra rwsplit arguments, e.g. "--threads 2").
#
# Only loopback addresses are used; every run is bounded by BENCH_TIME.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/sbin"

BENCH_TIME=${BENCH_TIME:-20}
BENCH_ROUNDS=${BENCH_ROUNDS:-2}
BENCH_THREADS=${BENCH_THREADS:-8}
BENCH_TABLES=${BENCH_TABLES:-4}
BENCH_TABLE_SIZE=${BENCH_TABLE_SIZE:-10000}
BENCH_PS_MODE=${BENCH_PS_MODE:-auto}
BENCH_KEEP=${BENCH_KEEP:-0}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/benches/results}

# BENCH_WORKLOADS (space-separated) runs a subset, e.g. "connect_query oltp_point_select".
read -r -a WORKLOADS <<<"${BENCH_WORKLOADS:-oltp_point_select oltp_read_only oltp_read_write connect_query}"
TARGETS=(direct haproxy rwsplit)

log() { printf '[load %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
missing=()
command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
command -v sysbench >/dev/null 2>&1 || missing+=(sysbench)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    if [[ $(id -u) == 0 ]]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian packages start system services; this benchmark uses its own instances only.
    for svc in mariadb haproxy; do
        "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true
    done
fi
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# Work directory, cleanup
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/rwsplit-load.XXXXXX)
export RWSPLIT_CLUSTER_DIR=$WORK/c
RW_PID=
HA_PID=

cleanup() {
    local rc=$?
    set +e
    for pid in "$RW_PID" "$HA_PID"; do
        [[ -n $pid ]] || continue
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "$RW_PID" "$HA_PID"; do
        [[ -n $pid ]] || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ -d $RWSPLIT_CLUSTER_DIR ]]; then
        "$ROOT/scripts/cluster.sh" down >/dev/null 2>&1
    fi
    if [[ $BENCH_KEEP == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A TAKEN=()
pick_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 12000))
        [[ -z ${TAKEN[$port]:-} ]] || continue
        if port_is_free "$port"; then
            TAKEN[$port]=1
            echo "$port"
            return 0
        fi
    done
    die "no free port"
}
wait_port() {
    local port=$1 pid=$2 name=$3 i
    for ((i = 0; i < 100; i++)); do
        if ! port_is_free "$port"; then return 0; fi
        kill -0 "$pid" 2>/dev/null || die "$name exited during startup (see $WORK/$name.log)"
        sleep 0.1
    done
    die "$name is not listening on $port after 10 s"
}

# /proc readings of one process: "utime+stime ticks", VmRSS kB, VmHWM kB.
cpu_ticks() {
    local stat rest
    stat=$(<"/proc/$1/stat")
    rest=${stat##*) }     # the command name may contain spaces and parentheses
    # shellcheck disable=SC2086
    set -- $rest          # $1 = state (field 3), so utime (14) is $12 and stime (15) is $13
    echo $((${12} + ${13}))
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# "busy total" jiffies over all CPUs.
host_jiffies() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# ---------------------------------------------------------------------------------------------
# Cluster, rwsplit, haproxy
# ---------------------------------------------------------------------------------------------
log "work dir $WORK"
log "building rwsplit (release)"
cargo build --release --quiet --bin rwsplit
BIN=$WORK/rwsplit
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/rwsplit" "$BIN"

log "starting the cluster"
"$ROOT/scripts/cluster.sh" up
# shellcheck disable=SC1091
source "$RWSPLIT_CLUSTER_DIR/env"

RW_PORT=$(pick_port)
HA_WRITE_PORT=$(pick_port)
HA_READ_PORT=$(pick_port)
NCPU=$(nproc)

{
    "$ROOT/scripts/cluster.sh" proxy-toml "127.0.0.1:$RW_PORT"
    printf '\n[log]\nlevel = "warn"\n'
} >"$WORK/proxy.toml"

cat >"$WORK/haproxy.cfg" <<CFG
global
    maxconn 4096
    nbthread $NCPU

defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h

# Writes (and everything, for an app that cannot split): the master only.
frontend write
    bind 127.0.0.1:$HA_WRITE_PORT
    default_backend master

backend master
    server master 127.0.0.1:$MASTER_PORT

# Reads, for an app that sends its reads to a separate address: both replicas.
frontend read
    bind 127.0.0.1:$HA_READ_PORT
    default_backend replicas

backend replicas
    balance roundrobin
    server replica1 127.0.0.1:$REPLICA1_PORT
    server replica2 127.0.0.1:$REPLICA2_PORT
CFG
haproxy -c -q -f "$WORK/haproxy.cfg" || die "haproxy rejected $WORK/haproxy.cfg"

log "starting rwsplit on $RW_PORT, haproxy on $HA_WRITE_PORT (write) / $HA_READ_PORT (read)"
# shellcheck disable=SC2086  # BENCH_RWSPLIT_ARGS is a list of words
APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD \
    "$BIN" --config "$WORK/proxy.toml" --pid-file "$WORK/rwsplit.pid" ${BENCH_RWSPLIT_ARGS:-} >"$WORK/rwsplit.log" 2>&1 &
RW_PID=$!
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HA_PID=$!
wait_port "$RW_PORT" "$RW_PID" rwsplit
wait_port "$HA_WRITE_PORT" "$HA_PID" haproxy
wait_port "$HA_READ_PORT" "$HA_PID" haproxy

sql() {
    local port=$1
    shift
    mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u "$APP_USER" -p"$APP_PASSWORD" \
        --batch --skip-column-names "$@"
}
# Sanity: where a plain read lands through each target.
for t in "direct:$MASTER_PORT" "haproxy-read:$HA_READ_PORT" "haproxy-write:$HA_WRITE_PORT" "rwsplit:$RW_PORT"; do
    log "  ${t%%:*}: SELECT @@server_id -> $(sql "${t##*:}" -e 'SELECT @@server_id')"
done

# ---------------------------------------------------------------------------------------------
# sysbench
# ---------------------------------------------------------------------------------------------
SB_COMMON=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user="$APP_USER"
    --mysql-password="$APP_PASSWORD" --mysql-db=sbtest --tables="$BENCH_TABLES"
    --table-size="$BENCH_TABLE_SIZE" --db-ps-mode="$BENCH_PS_MODE")

log "preparing $BENCH_TABLES x $BENCH_TABLE_SIZE rows on the master"
sysbench oltp_read_write "${SB_COMMON[@]}" --mysql-port="$MASTER_PORT" --threads="$BENCH_TABLES" \
    prepare >"$WORK/prepare.log" 2>&1 || { cat "$WORK/prepare.log" >&2; die "sysbench prepare failed"; }
gtid=$(mariadb --no-defaults --protocol=socket --socket="$MASTER_SOCKET" -u "$ADMIN_USER" \
    --batch --skip-column-names -e 'SELECT @@gtid_binlog_pos')
for sock in "$REPLICA1_SOCKET" "$REPLICA2_SOCKET"; do
    r=$(mariadb --no-defaults --protocol=socket --socket="$sock" -u "$ADMIN_USER" \
        --batch --skip-column-names -e "SELECT MASTER_GTID_WAIT('$gtid', 120)")
    [[ $r == 0 ]] || die "replica ($sock) did not reach GTID $gtid"
done
log "replicas caught up ($gtid)"

# Where each target is reached for a workload.
target_port() {
    local target=$1 workload=$2
    case $target in
    direct) echo "$MASTER_PORT" ;;
    rwsplit) echo "$RW_PORT" ;;
    haproxy)
        case $workload in
        oltp_read_write) echo "$HA_WRITE_PORT" ;;
        *) echo "$HA_READ_PORT" ;;
        esac
        ;;
    esac
}
# connect_query is a Lua script of this directory (connect, SELECT 1, disconnect per event).
workload_test() {
    case $1 in
    connect_query) echo "$ROOT/benches/connect_query.lua" ;;
    *) echo "$1" ;;
    esac
}
workload_args() {
    case $1 in
    oltp_point_select | oltp_read_only) echo --skip_trx=on ;;
    *) ;;
    esac
}
target_pid() {
    case $1 in
    rwsplit) echo "$RW_PID" ;;
    haproxy) echo "$HA_PID" ;;
    *) ;;
    esac
}

# p50 (ms) from sysbench's histogram: "   value |****   count".
hist_p50() {
    awk '/^Latency histogram/ { h = 1; next }
         h && /^ *[0-9.]+ \|/ { v[n] = $1; c[n] = $NF; tot += $NF; n++ }
         h && /^$/ && n { h = 0 }
         END { if (!tot) { print "nan"; exit }
               for (i = 0; i < n; i++) { s += c[i]; if (s >= tot / 2) { print v[i]; exit } } }' "$1"
}

RUNS=$WORK/runs.tsv
printf 'workload\tround\ttarget\tqps\ttps\tp50\tp95\terrors\treconnects\tcpu_s\tqueries\trss_kb\thwm_kb\thost_busy\n' >"$RUNS"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "running: ${#WORKLOADS[@]} workloads x ${#TARGETS[@]} targets x $BENCH_ROUNDS rounds x ${BENCH_TIME}s" \
    "(~$(((${#WORKLOADS[@]} * ${#TARGETS[@]} * BENCH_ROUNDS * (BENCH_TIME + 2) + 59) / 60)) min)"

for workload in "${WORKLOADS[@]}"; do
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
        for ((k = 0; k < ${#TARGETS[@]}; k++)); do
            target=${TARGETS[$(((k + round - 1) % ${#TARGETS[@]}))]}
            port=$(target_port "$target" "$workload")
            pid=$(target_pid "$target")
            out=$WORK/$workload-$round-$target.log
            [[ -z $pid ]] || c0=$(cpu_ticks "$pid")
            read -r hb0 ht0 < <(host_jiffies)
            # shellcheck disable=SC2046 # workload_args is zero or one word
            if ! sysbench "$(workload_test "$workload")" "${SB_COMMON[@]}" --mysql-port="$port" \
                --threads="$BENCH_THREADS" --time="$BENCH_TIME" --report-interval=0 \
                --percentile=95 --histogram=on $(workload_args "$workload") run >"$out" 2>&1; then
                log "sysbench $workload via $target failed:"
                tail -n 20 "$out" >&2
                die "sysbench failed (log: $out)"
            fi
            read -r hb1 ht1 < <(host_jiffies)
            cpu=nan rss=nan hwm=nan
            if [[ -n $pid ]]; then
                c1=$(cpu_ticks "$pid")
                cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
                rss=$(status_kb "$pid" VmRSS)
                hwm=$(status_kb "$pid" VmHWM)
            fi
            queries=$(awk '/^ +queries:/ { print $2; exit }' "$out")
            qps=$(awk '/^ +queries:/ { gsub(/\(/, "", $3); print $3; exit }' "$out")
            tps=$(awk '/^ +transactions:/ { gsub(/\(/, "", $3); print $3; exit }' "$out")
            errors=$(awk '/^ +ignored errors:/ { print $3; exit }' "$out")
            reconnects=$(awk '/^ +reconnects:/ { print $2; exit }' "$out")
            p95=$(awk '/^ +95th percentile:/ { print $3; exit }' "$out")
            p50=$(hist_p50 "$out")
            busy=$(awk -v a="$hb0" -v b="$hb1" -v c="$ht0" -v d="$ht1" 'BEGIN { printf "%.0f", 100 * (b - a) / (d - c) }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$workload" "$round" "$target" "$qps" "$tps" "$p50" "$p95" "$errors" "$reconnects" \
                "$cpu" "$queries" "$rss" "$hwm" "$busy" >>"$RUNS"
            cpu_txt=n/a
            [[ $cpu == nan ]] || cpu_txt=${cpu}s
            log "$workload round $round $(printf '%-8s' "$target") qps=$qps p50=${p50}ms p95=${p95}ms proxy_cpu=$cpu_txt host_busy=${busy}% errors=$errors"
        done
    done
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
stamp=$(date +%Y-%m-%d-%H%M%S)
REPORT=$RESULTS_DIR/load-$stamp.md
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then commit+=" (+ uncommitted changes)"; fi
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

{
    echo "# rwsplit load benchmark — $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- rwsplit $commit; $("$BIN" --version)"
    echo "- $(mariadbd --version | sed 's/^.*Ver /MariaDB /; s/ for .*//'); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(sysbench --version)"
    echo "- machine: $NCPU CPUs ($cpu_model), load average before the runs: $LOADAVG_START"
    echo "- sysbench: $BENCH_THREADS threads, ${BENCH_TIME}s per run, $BENCH_ROUNDS round(s) per target (order rotated each round), $BENCH_TABLES tables x $BENCH_TABLE_SIZE rows, --db-ps-mode=$BENCH_PS_MODE; oltp_point_select and oltp_read_only with --skip_trx=on"
    echo "- targets: **direct** = the master; **haproxy** = TCP mode, $NCPU threads: the read workloads go to a frontend balancing the two replicas round-robin, oltp_read_write to a frontend for the master (haproxy cannot split); **rwsplit** = one port, reads to the replicas, transactions to the master"
    echo "- numbers are means over the rounds. Latency is per sysbench event (a query for point_select, a transaction's worth of queries otherwise); p50 from sysbench's histogram, p95 from --percentile=95. CPU/1k q = the proxy process's user+system CPU-ms per 1000 queries (= CPU-µs per query). RSS = VmRSS after the run (peak VmHWM in parentheses). host busy = all cores, everything on the machine."
    echo
    echo "| workload | target | QPS | p50 ms | p95 ms | proxy CPU/1k q (ms) | proxy RSS MiB | host busy | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' -v targets="${TARGETS[*]}" -v workloads="${WORKLOADS[*]}" '
        NR == 1 { next }
        {
            k = $1 SUBSEP $3
            n[k]++; qps[k] += $4; p50[k] += $6; p95[k] += $7; err[k] += $8 + $9
            busy[k] += $14
            if ($10 != "nan") { cpu[k] += $10; q[k] += $11; rss[k] = $12; hwm[k] = $13 }
        }
        END {
            nw = split(workloads, W, " "); nt = split(targets, T, " ")
            for (i = 1; i <= nw; i++) for (j = 1; j <= nt; j++) {
                k = W[i] SUBSEP T[j]
                if (!n[k]) continue
                c = (q[k] > 0) ? sprintf("%.1f", 1e6 * cpu[k] / q[k]) : "n/a"
                r = (rss[k] != "") ? sprintf("%.1f (%.1f)", rss[k] / 1024, hwm[k] / 1024) : "n/a"
                printf "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %.0f%% | %d |\n",
                    W[i], T[j], qps[k] / n[k], p50[k] / n[k], p95[k] / n[k], c, r, busy[k] / n[k], err[k]
            }
        }' "$RUNS"
    echo
    echo "| workload | QPS rwsplit/haproxy | QPS rwsplit/direct | CPU/1k q rwsplit/haproxy | CPU/1k q rwsplit/direct |"
    echo "|---|---:|---:|---:|---:|"
    awk -F'\t' -v workloads="${WORKLOADS[*]}" '
        NR == 1 { next }
        {
            k = $1 SUBSEP $3
            n[k]++; qps[k] += $4
            if ($10 != "nan") { cpu[k] += $10; q[k] += $11 }
        }
        END {
            nw = split(workloads, W, " ")
            for (i = 1; i <= nw; i++) {
                rw = W[i] SUBSEP "rwsplit"; ha = W[i] SUBSEP "haproxy"; di = W[i] SUBSEP "direct"
                if (!n[rw] || !n[ha] || !n[di]) continue
                c = (cpu[ha] > 0 && q[rw] > 0) ? sprintf("%.2f", (cpu[rw] / q[rw]) / (cpu[ha] / q[ha])) : "n/a"
                printf "| %s | %.2f | %.2f | %s | n/a (no proxy) |\n", W[i],
                    (qps[rw] / n[rw]) / (qps[ha] / n[ha]),
                    (qps[rw] / n[rw]) / (qps[di] / n[di]), c
            }
        }' "$RUNS"
    echo
    echo "<details><summary>every run</summary>"
    echo
    echo "| workload | round | target | QPS | TPS | p50 ms | p95 ms | errors | reconnects | proxy CPU s | queries | RSS kB | host busy % |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14 }' "$RUNS"
    echo
    echo "</details>"
} >"$REPORT.tmp"
mv "$REPORT.tmp" "$REPORT"
cat "$REPORT"
log "report written to $REPORT"
