#!/usr/bin/env bash
# benches/load.sh — sysbench through rwsplit vs haproxy (TCP) vs a bare tokio TCP relay vs
# straight to MariaDB, with each proxy's CPU, context switches and syscalls per query.
#
#   benches/load.sh                        # BENCH_TIME=20 s per run, 2 rounds
#   BENCH_TIME=10 BENCH_ROUNDS=1 benches/load.sh
#   BENCH_RWSPLIT_THREADS="1 2" BENCH_WORKLOADS=oltp_point_select benches/load.sh
#
# What it does:
#   1. starts a private MariaDB cluster (master + 2 GTID replicas, scripts/cluster.sh) in a
#      temporary directory, torn down on exit;
#   2. builds rwsplit --release and the relay (`cargo build --release --example tcp_relay`) and
#      runs copies of the binaries (so a rebuild in the shared target dir can't swap them
#      mid-run): one rwsplit per BENCH_RWSPLIT_THREADS value (`--threads N`, own port and
#      config), each with a proxy.toml for that cluster;
#   3. runs haproxy (nbthread BENCH_HAPROXY_THREADS, default 1) in TCP mode with two frontends:
#      "write" -> the master, and "read" -> the two replicas round-robin. haproxy cannot split
#      reads from writes, so each workload uses the frontend a haproxy deployment would use for
#      it: the read workloads go to "read", the read/write workload to "write". rwsplit gets
#      every workload on one port and splits;
#   4. runs the relay (examples/tcp_relay.rs: tokio current_thread, accept, into_split, two
#      io::copy loops, round robin over the two replicas; parses nothing) — the floor: what any
#      tokio proxy pays to move the bytes. It cannot split, so it only takes the read workloads
#      (not oltp_read_write);
#   5. prepares sysbench tables (BENCH_TABLES x BENCH_TABLE_SIZE rows) on the master and waits
#      for both replicas to apply them;
#   6. for each workload — oltp_point_select --skip_trx=on, oltp_read_only --skip_trx=on,
#      oltp_read_write, connect_query (benches/connect_query.lua: connect, SELECT 1, disconnect
#      per event) — runs sysbench against each target in turn, BENCH_ROUNDS times, rotating the
#      order every round (direct, haproxy, relay, rwsplit / haproxy, relay, rwsplit, direct /
#      ...) so slow drift on a shared machine does not favour one target;
#   7. with BENCH_PROFILE=1, records a CPU profile of each rwsplit instance during its round-1
#      run of each workload (perf record -F 999 -g) and writes the flat profile next to the
#      report as load-<stamp>-<workload>.perf.txt (load-<stamp>-<workload>-rwsplit-tN.perf.txt
#      for the other instances);
#   8. prints a markdown report and writes it to benches/results/load-<stamp>.md.
#
# Measured per run ("op" = one query for the oltp_* workloads, one event for connect_query:
# sysbench counts only the SELECT 1 as a query there, while the proxy's work is the connect,
# the login, the query and the disconnect — so connect_query is reported per event):
#   QPS           sysbench "queries ... per sec." (all statements, BEGIN/COMMIT included);
#                 for connect_query this equals events/s (one query per event).
#   p50 / p95     latency of one sysbench *event* in ms: one query for oltp_point_select, one
#                 transaction's worth of queries for the others (14 for read_only with
#                 --skip_trx, 18 for read_write), one connect+query+disconnect for
#                 connect_query. p95 is sysbench's own --percentile=95; p50 is read from
#                 sysbench's --histogram (same buckets, ~1% wide), not a second run.
#   CPU µs/op     the proxy process's CPU time (all threads) over the whole sysbench run per op,
#                 as user, sys (utime and stime of /proc/PID/stat) and their sum. "direct" has
#                 no proxy, so n/a.
#   cs/op         voluntary and non-voluntary context switches of the proxy's threads per op
#                 (voluntary_ctxt_switches / nonvoluntary_ctxt_switches summed over
#                 /proc/PID/task/*/status before and after; a thread that exits mid-run takes
#                 its count with it — none of these proxies start threads under load).
#   syscalls/op   `perf stat -e raw_syscalls:sys_enter -p PID` over the sysbench run (counting
#                 starts once perf has attached, before sysbench starts; it stops right after
#                 sysbench exits). n/a if perf is missing or cannot attach; BENCH_SYSCALLS=0
#                 skips it (the tracepoint costs the proxy a little CPU per syscall, the same
#                 for every proxy: about 2% of rwsplit's samples in a profile).
#   RSS           the proxy's VmRSS after the run (and VmHWM, its peak so far), MiB.
#   host busy     share of all cores busy during the run (/proc/stat): the client, the servers
#                 and the proxy share the same cores, so a proxy that needs more CPU per query
#                 leaves less for everything else — on a 2-core box that decides throughput.
# The profiled run (round 1 of each rwsplit instance) is left out of the means when the same
# workload and target has an unprofiled run (BENCH_ROUNDS >= 2): perf record costs rwsplit a
# stack walk per sample and perf itself CPU on the shared cores (measured: up to +40% CPU per
# query for the profiled instance). Its row in the "every run" table is marked.
#
# Environment:
#   BENCH_TIME [20]             seconds per sysbench run
#   BENCH_ROUNDS [2]            runs per workload and target
#   BENCH_THREADS [8]           sysbench client threads
#   BENCH_TABLES [4], BENCH_TABLE_SIZE [10000]   sysbench tables x rows
#   BENCH_PS_MODE [auto]        sysbench --db-ps-mode: auto = server-side prepared statements,
#                               disable = text protocol
#   BENCH_WORKLOADS [oltp_point_select oltp_read_only oltp_read_write connect_query]
#                               a subset, space-separated
#   BENCH_RWSPLIT_THREADS [1]   rwsplit --threads values, space-separated; one rwsplit instance
#                               per value, target "rwsplit" for 1 and "rwsplit-tN" for N
#   BENCH_RWSPLIT_ARGS          extra arguments for every rwsplit instance (not --threads)
#   BENCH_RWSPLIT_BIN           an rwsplit binary to run instead of building one (e.g. the
#                               profile-guided build of scripts/pgo-build.sh); the report names it
#   BENCH_HAPROXY_THREADS [1]   haproxy nbthread
#   BENCH_PROFILE [1]           1 = perf record each rwsplit instance in round 1 (see 7.), 0 = no
#   BENCH_SYSCALLS [1]          1 = count the proxies' syscalls with perf stat, 0 = no
#   BENCH_PERF [perf]           the perf binary (e.g. one matching the running kernel)
#   BENCH_KEEP [0]              1 keeps the temporary directory (logs, configs, sysbench output,
#                               perf.data of the profiles)
#   BENCH_RESULTS_DIR [benches/results]   where the report and the .perf.txt files go
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
BENCH_HAPROXY_THREADS=${BENCH_HAPROXY_THREADS:-1}
BENCH_PROFILE=${BENCH_PROFILE:-1}
BENCH_SYSCALLS=${BENCH_SYSCALLS:-1}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$ROOT/benches/results}

# BENCH_WORKLOADS (space-separated) runs a subset, e.g. "connect_query oltp_point_select".
read -r -a WORKLOADS <<<"${BENCH_WORKLOADS:-oltp_point_select oltp_read_only oltp_read_write connect_query}"
read -r -a RW_THREADS <<<"${BENCH_RWSPLIT_THREADS:-1}"
# shellcheck disable=SC2206  # BENCH_RWSPLIT_ARGS is a list of words
RW_ARGS=(${BENCH_RWSPLIT_ARGS:-})

log() { printf '[load %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

((${#WORKLOADS[@]})) || die "BENCH_WORKLOADS is empty"
for w in "${WORKLOADS[@]}"; do
    case $w in
    oltp_point_select | oltp_read_only | oltp_read_write | connect_query) ;;
    *) die "unknown workload '$w' (oltp_point_select oltp_read_only oltp_read_write connect_query)" ;;
    esac
done
((${#RW_THREADS[@]})) || die "BENCH_RWSPLIT_THREADS is empty"
for a in "${RW_ARGS[@]}"; do
    [[ $a != --threads* ]] || die "put rwsplit's --threads in BENCH_RWSPLIT_THREADS, not BENCH_RWSPLIT_ARGS"
done
[[ $BENCH_HAPROXY_THREADS =~ ^[1-9][0-9]*$ ]] || die "BENCH_HAPROXY_THREADS must be a positive integer"

# The targets, in rotation order. rwsplit instances are named by their --threads value.
rw_name() { if [[ $1 == 1 ]]; then echo rwsplit; else echo "rwsplit-t$1"; fi; }
TARGETS=(direct haproxy)
NEED_RELAY=0
for w in "${WORKLOADS[@]}"; do [[ $w == oltp_read_write ]] || NEED_RELAY=1; done
((NEED_RELAY)) && TARGETS+=(relay)
RW_TARGETS=()
declare -A RW_THREADS_OF=()
for n in "${RW_THREADS[@]}"; do
    [[ $n =~ ^[0-9]+$ ]] || die "BENCH_RWSPLIT_THREADS: '$n' is not a number"
    n=$((10#$n))
    t=$(rw_name "$n")
    [[ -z ${RW_THREADS_OF[$t]:-} ]] || die "BENCH_RWSPLIT_THREADS lists $n twice"
    RW_THREADS_OF[$t]=$n
    RW_TARGETS+=("$t")
    TARGETS+=("$t")
done
# The targets a workload runs against: the relay cannot split, so not oltp_read_write.
workload_targets() {
    local t
    for t in "${TARGETS[@]}"; do
        [[ $t == relay && $1 == oltp_read_write ]] || echo "$t"
    done
}

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
# perf is optional: without it (or without permission to attach) syscalls and profiles are n/a.
PERF=$(command -v "${BENCH_PERF:-perf}" 2>/dev/null || true)
PERF_NOTE=
if [[ -z $PERF ]]; then
    PERF_NOTE="perf (${BENCH_PERF:-perf}) not found: syscalls/op n/a, no profiles"
    log "$PERF_NOTE"
fi
SYSCALLS_OK=0
[[ -n $PERF && $BENCH_SYSCALLS == 1 ]] && SYSCALLS_OK=1
PROFILE_OK=0
[[ -n $PERF && $BENCH_PROFILE == 1 ]] && PROFILE_OK=1

# ---------------------------------------------------------------------------------------------
# Work directory, cleanup
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/rwsplit-load.XXXXXX)
export RWSPLIT_CLUSTER_DIR=$WORK/c
STAMP=$(date +%Y-%m-%d-%H%M%S)
# Long-running processes this script started (proxies), and perf processes currently attached.
declare -A PID_OF=()
declare -A PERF_PIDS=()

stop_pid() { # PID SIGNAL [SECONDS=5]: signal it, wait up to SECONDS, then SIGKILL; reap it.
    local pid=$1 sig=$2 i
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < ${3:-5} * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$? pid
    set +e
    for pid in "${PERF_PIDS[@]}"; do stop_pid "$pid" INT; done
    for pid in "${PID_OF[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PID_OF[@]}"; do stop_pid "$pid" TERM; done
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

# /proc readings of one process. "utime stime" in clock ticks (fields 14 and 15, all threads).
cpu_ticks() {
    local stat rest
    stat=$(<"/proc/$1/stat")
    rest=${stat##*) }     # the command name may contain spaces and parentheses
    # shellcheck disable=SC2086
    set -- $rest          # $1 = state (field 3), so utime (14) is $12 and stime (15) is $13
    echo "${12} ${13}"
}
# "voluntary nonvoluntary" context switches, summed over the process's threads.
ctx_switches() {
    { cat "/proc/$1"/task/*/status 2>/dev/null || true; } |
        awk '$1 == "voluntary_ctxt_switches:" { v += $2 }
             $1 == "nonvoluntary_ctxt_switches:" { n += $2 }
             END { print v + 0, n + 0 }'
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# "busy total" jiffies over all CPUs.
host_jiffies() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# perf_start NAME PERF-ARGS...: runs `perf PERF-ARGS` in the background with its events disabled
# (-D -1), enables them through a control fifo and waits for perf's ack, so counting has
# started when this returns 0. Returns 1, with nothing left running, if perf failed to attach
# (its output is in $WORK/NAME.perf.log). The pid is PERF_PIDS[NAME]; stop it with perf_stop.
perf_start() {
    local name=$1 ctl=$WORK/$1.ctl ack=$WORK/$1.ack cfd afd reply='' i ok=0 pid
    shift
    rm -f "$ctl" "$ack"
    mkfifo "$ctl" "$ack"
    "$PERF" "$@" -D -1 --control "fifo:$ctl,$ack" >"$WORK/$name.perf.log" 2>&1 &
    pid=$!
    PERF_PIDS[$name]=$pid
    exec {cfd}<>"$ctl" {afd}<>"$ack"
    echo enable >&"$cfd"
    for ((i = 0; i < 50; i++)); do
        if read -t 0.2 -r reply <&"$afd" && [[ $reply == ack ]]; then ok=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
    done
    exec {cfd}>&- {afd}>&-
    rm -f "$ctl" "$ack"
    if ((!ok)); then
        perf_stop "$name"
        log "perf ($name) did not attach: $(tail -n 3 "$WORK/$name.perf.log" | tr '\n' ' ')"
        return 1
    fi
}
perf_stop() { # NAME: SIGINT makes perf stat print its counts and perf record finish its file.
    local pid=${PERF_PIDS[$1]:-}
    [[ -n $pid ]] || return 0
    stop_pid "$pid" INT 60
    unset "PERF_PIDS[$1]"
}

# ---------------------------------------------------------------------------------------------
# Cluster, rwsplit, haproxy, relay
# ---------------------------------------------------------------------------------------------
log "work dir $WORK"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$WORK/rwsplit
if [[ -n ${BENCH_RWSPLIT_BIN:-} ]]; then
    [[ -x $BENCH_RWSPLIT_BIN ]] || die "BENCH_RWSPLIT_BIN: $BENCH_RWSPLIT_BIN is not an executable"
    log "rwsplit binary: $BENCH_RWSPLIT_BIN"
    cp "$BENCH_RWSPLIT_BIN" "$BIN"
else
    log "building rwsplit (release)"
    cargo build --release --quiet --bin rwsplit
    cp "$TARGET_DIR/release/rwsplit" "$BIN"
fi
RELAY_BIN=$WORK/tcp_relay
if ((NEED_RELAY)); then
    log "building the relay (cargo build --release --example tcp_relay)"
    cargo build --release --quiet --example tcp_relay
    cp "$TARGET_DIR/release/examples/tcp_relay" "$RELAY_BIN"
fi

log "starting the cluster"
"$ROOT/scripts/cluster.sh" up
# shellcheck disable=SC1091
source "$RWSPLIT_CLUSTER_DIR/env"

declare -A PORT_OF=()
for t in "${RW_TARGETS[@]}"; do PORT_OF[$t]=$(pick_port); done
((NEED_RELAY)) && PORT_OF[relay]=$(pick_port)
HA_WRITE_PORT=$(pick_port)
HA_READ_PORT=$(pick_port)
NCPU=$(nproc)

cat >"$WORK/haproxy.cfg" <<CFG
global
    maxconn 4096
    nbthread $BENCH_HAPROXY_THREADS

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

for t in "${RW_TARGETS[@]}"; do
    {
        "$ROOT/scripts/cluster.sh" proxy-toml "127.0.0.1:${PORT_OF[$t]}"
        printf '\n[log]\nlevel = "warn"\n'
    } >"$WORK/$t.toml"
    log "starting $t (--threads ${RW_THREADS_OF[$t]}) on ${PORT_OF[$t]}"
    APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD \
        "$BIN" --config "$WORK/$t.toml" --pid-file "$WORK/$t.pid" --threads "${RW_THREADS_OF[$t]}" \
        "${RW_ARGS[@]}" >"$WORK/$t.log" 2>&1 &
    PID_OF[$t]=$!
done
log "starting haproxy (nbthread $BENCH_HAPROXY_THREADS) on $HA_WRITE_PORT (write) / $HA_READ_PORT (read)"
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
PID_OF[haproxy]=$!
if ((NEED_RELAY)); then
    log "starting the relay on ${PORT_OF[relay]} (-> the two replicas)"
    "$RELAY_BIN" "127.0.0.1:${PORT_OF[relay]}" "127.0.0.1:$REPLICA1_PORT" "127.0.0.1:$REPLICA2_PORT" \
        >"$WORK/relay.log" 2>&1 &
    PID_OF[relay]=$!
fi
for t in "${RW_TARGETS[@]}"; do wait_port "${PORT_OF[$t]}" "${PID_OF[$t]}" "$t"; done
wait_port "$HA_WRITE_PORT" "${PID_OF[haproxy]}" haproxy
wait_port "$HA_READ_PORT" "${PID_OF[haproxy]}" haproxy
((NEED_RELAY)) && wait_port "${PORT_OF[relay]}" "${PID_OF[relay]}" relay

sql() {
    local port=$1
    shift
    mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u "$APP_USER" -p"$APP_PASSWORD" \
        --batch --skip-column-names "$@"
}
# Sanity: where a plain read lands through each target.
checks=("direct:$MASTER_PORT" "haproxy-read:$HA_READ_PORT" "haproxy-write:$HA_WRITE_PORT")
((NEED_RELAY)) && checks+=("relay:${PORT_OF[relay]}")
for t in "${RW_TARGETS[@]}"; do checks+=("$t:${PORT_OF[$t]}"); done
for t in "${checks[@]}"; do
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
    haproxy)
        case $workload in
        oltp_read_write) echo "$HA_WRITE_PORT" ;;
        *) echo "$HA_READ_PORT" ;;
        esac
        ;;
    *) echo "${PORT_OF[$target]}" ;;
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
# What the per-op columns divide by: queries, or events for connect_query (see the header).
workload_op() {
    case $1 in
    connect_query) echo event ;;
    *) echo query ;;
    esac
}
# Profile file name (in the results dir, next to the report).
profile_name() {
    if [[ $2 == rwsplit ]]; then echo "load-$STAMP-$1.perf.txt"; else echo "load-$STAMP-$1-$2.perf.txt"; fi
}

# p50 (ms) from sysbench's histogram: "   value |****   count".
hist_p50() {
    awk '/^Latency histogram/ { h = 1; next }
         h && /^ *[0-9.]+ \|/ { v[n] = $1; c[n] = $NF; tot += $NF; n++ }
         h && /^$/ && n { h = 0 }
         END { if (!tot) { print "nan"; exit }
               for (i = 0; i < n; i++) { s += c[i]; if (s >= tot / 2) { print v[i]; exit } } }' "$1"
}

# Writes the flat profile of perf.data $1 (rwsplit target $3, workload $2) to $4.
write_profile() {
    local data=$1 workload=$2 target=$3 out=$4 report
    report=("$PERF" report -i "$data" --no-children --stdio --call-graph=none)
    {
        echo "# rwsplit CPU profile — $workload, target $target (rwsplit --threads ${RW_THREADS_OF[$target]}), round 1"
        echo "# perf record -F 999 -g -p <rwsplit pid> for the whole ${BENCH_TIME}s sysbench run ($BENCH_THREADS clients)"
        "${report[@]}" --sort dso 2>/dev/null | grep -m1 '^# Samples' || echo '# Samples: ?'
        echo "# Percentages are of all samples of the process (user + kernel)."
        echo "# Notes: the event is cpu-clock (a software timer; no hardware counters in this VM), so"
        echo "# kernel time spent with interrupts off lands on the function that turns them back on"
        echo "# (_raw_spin_unlock_irqrestore, finish_task_switch, ...). perf_tp_*/perf_trace_*/"
        echo "# syscall_trace_* samples are the cost of the syscall counter (perf stat on"
        echo "# raw_syscalls:sys_enter) running in the same run. Call chains were recorded (-g, frame"
        echo "# pointers) but are not shown; perf.data stays in the work dir with BENCH_KEEP=1."
        echo
        echo "## By DSO"
        echo
        "${report[@]}" --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 15 || true
        echo
        echo "## Top 60: perf report --no-children --sort dso,sym --stdio"
        echo
        "${report[@]}" --sort dso,sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60 || true
        echo
        echo "## User space only (kernel samples left out; percentages still of all samples), top 40"
        echo
        "${report[@]}" --sort dso,sym 2>/dev/null | grep -v '^#' | grep -v '^$' |
            grep -v -e '\[kernel\.kallsyms\]' -e '\[k\]' | head -n 40 || true
    } >"$out"
}

RUNS=$WORK/runs.tsv
printf 'workload\tround\ttarget\tqps\ttps\tp50\tp95\terrors\treconnects\tqueries\tevents\tops\tutime_s\tstime_s\tvcs\tnvcs\tsyscalls\trss_kb\thwm_kb\thost_busy\tprofiled\n' >"$RUNS"
PROFILES=()
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
nruns=0
for workload in "${WORKLOADS[@]}"; do
    nruns=$((nruns + $(workload_targets "$workload" | wc -l) * BENCH_ROUNDS))
done
log "running: $nruns runs (${#WORKLOADS[@]} workloads, targets ${TARGETS[*]}, $BENCH_ROUNDS rounds) x ${BENCH_TIME}s" \
    "(~$(((nruns * (BENCH_TIME + 3) + 59) / 60)) min)"

for workload in "${WORKLOADS[@]}"; do
    mapfile -t wtargets < <(workload_targets "$workload")
    op=$(workload_op "$workload")
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
        for ((k = 0; k < ${#wtargets[@]}; k++)); do
            target=${wtargets[$(((k + round - 1) % ${#wtargets[@]}))]}
            port=$(target_port "$target" "$workload")
            pid=${PID_OF[$target]:-}
            out=$WORK/$workload-$round-$target.log
            profiled=0
            sc_ok=0
            if [[ -n $pid ]]; then
                kill -0 "$pid" 2>/dev/null || die "$target (pid $pid) is gone (see $WORK/$target.log)"
                if ((PROFILE_OK && round == 1)) && [[ -n ${RW_THREADS_OF[$target]:-} ]] &&
                    perf_start record record -F 999 -g -N -p "$pid" -o "$WORK/$workload-$target.perf.data"; then
                    profiled=1
                fi
                if ((SYSCALLS_OK)) && perf_start stat stat -x, -e raw_syscalls:sys_enter -p "$pid" \
                    -o "$WORK/$workload-$round-$target.syscalls"; then
                    sc_ok=1
                fi
                read -r ut0 st0 < <(cpu_ticks "$pid")
                read -r vcs0 nvcs0 < <(ctx_switches "$pid")
            fi
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
            ut=nan st=nan vcs=nan nvcs=nan sc=nan rss=nan hwm=nan
            if [[ -n $pid ]]; then
                read -r ut1 st1 < <(cpu_ticks "$pid")
                read -r vcs1 nvcs1 < <(ctx_switches "$pid")
                rss=$(status_kb "$pid" VmRSS)
                hwm=$(status_kb "$pid" VmHWM)
                ut=$(awk -v a="$ut0" -v b="$ut1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
                st=$(awk -v a="$st0" -v b="$st1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / hz }')
                vcs=$((vcs1 - vcs0))
                nvcs=$((nvcs1 - nvcs0))
                if ((sc_ok)); then
                    perf_stop stat
                    sc=$(awk -F, '$3 ~ /^raw_syscalls:sys_enter/ { print ($1 ~ /^[0-9]+$/) ? $1 : "nan"; f = 1 }
                                  END { if (!f) print "nan" }' "$WORK/$workload-$round-$target.syscalls")
                fi
                if ((profiled)); then
                    perf_stop record
                    pname=$(profile_name "$workload" "$target")
                    write_profile "$WORK/$workload-$target.perf.data" "$workload" "$target" "$WORK/$pname"
                    PROFILES+=("$workload"$'\t'"$target"$'\t'"$pname")
                fi
            fi
            queries=$(awk '/^ +queries:/ { print $2; exit }' "$out")
            events=$(awk '/^ +transactions:/ { print $2; exit }' "$out")
            if [[ $op == event ]]; then ops=$events; else ops=$queries; fi
            qps=$(awk '/^ +queries:/ { gsub(/\(/, "", $3); print $3; exit }' "$out")
            tps=$(awk '/^ +transactions:/ { gsub(/\(/, "", $3); print $3; exit }' "$out")
            errors=$(awk '/^ +ignored errors:/ { print $3; exit }' "$out")
            reconnects=$(awk '/^ +reconnects:/ { print $2; exit }' "$out")
            p95=$(awk '/^ +95th percentile:/ { print $3; exit }' "$out")
            p50=$(hist_p50 "$out")
            busy=$(awk -v a="$hb0" -v b="$hb1" -v c="$ht0" -v d="$ht1" 'BEGIN { printf "%.0f", 100 * (b - a) / (d - c) }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$workload" "$round" "$target" "$qps" "$tps" "$p50" "$p95" "$errors" "$reconnects" \
                "$queries" "$events" "$ops" "$ut" "$st" "$vcs" "$nvcs" "$sc" "$rss" "$hwm" "$busy" \
                "$profiled" >>"$RUNS"
            proxy_txt=
            if [[ -n $pid ]]; then
                proxy_txt=$(awk -v u="$ut" -v s="$st" -v v="$vcs" -v n="$nvcs" -v c="$sc" -v o="$ops" -v op="$op" 'BEGIN {
                    if (o <= 0) { print "no " op "s counted"; exit }
                    printf "cpu/%s=%.1fµs (user %.1f sys %.1f) cs/%s=%.2f+%.2f syscalls/%s=%s", op,
                        1e6 * (u + s) / o, 1e6 * u / o, 1e6 * s / o, op, v / o, n / o, op,
                        (c == "nan") ? "n/a" : sprintf("%.2f", c / o) }')
                ((profiled)) && proxy_txt+=" (profiled)"
            fi
            log "$workload round $round $(printf '%-10s' "$target") qps=$qps p50=${p50}ms p95=${p95}ms host_busy=${busy}% errors=$errors $proxy_txt"
        done
    done
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
REPORT=$RESULTS_DIR/load-$STAMP.md
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then commit+=" (+ uncommitted changes)"; fi
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
rw_desc=
for t in "${RW_TARGETS[@]}"; do rw_desc+="${rw_desc:+, }**$t** = \`--threads ${RW_THREADS_OF[$t]}\`"; done
perf_version=
[[ -z $PERF ]] || perf_version=$({ "$PERF" --version 2>/dev/null || true; } | head -n 1)
[[ $perf_version == perf\ * ]] || perf_version="perf: none"
perf_desc="syscalls/op from perf stat -e raw_syscalls:sys_enter"
((SYSCALLS_OK)) || perf_desc="syscalls/op not measured (${PERF_NOTE:-BENCH_SYSCALLS=0})"

# The runs the means are taken over: a profiled run only where no unprofiled one exists.
MEANS=$WORK/means.tsv
awk -F'\t' 'NR == FNR { if (FNR > 1 && $21 != 1) plain[$1 SUBSEP $3] = 1; next }
    FNR == 1 || $21 != 1 || !(($1 SUBSEP $3) in plain)' "$RUNS" "$RUNS" >"$MEANS"

{
    echo "# rwsplit load benchmark — $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- rwsplit $commit; $("$BIN" --version)${BENCH_RWSPLIT_BIN:+; binary \`$BENCH_RWSPLIT_BIN\`}${RW_ARGS[*]:+; extra arguments: \`${RW_ARGS[*]}\`}"
    echo "- $(mariadbd --version | sed 's/^.*Ver /MariaDB /; s/ for .*//'); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(sysbench --version); $perf_version"
    echo "- machine: $NCPU CPUs ($cpu_model), load average before the runs: $LOADAVG_START"
    echo "- sysbench: $BENCH_THREADS threads, ${BENCH_TIME}s per run, $BENCH_ROUNDS round(s) per target (order rotated each round), $BENCH_TABLES tables x $BENCH_TABLE_SIZE rows, --db-ps-mode=$BENCH_PS_MODE; oltp_point_select and oltp_read_only with --skip_trx=on"
    echo "- targets: **direct** = the master; **haproxy** = TCP mode, nbthread $BENCH_HAPROXY_THREADS: the read workloads go to a frontend balancing the two replicas round-robin, oltp_read_write to a frontend for the master (haproxy cannot split)$( ((NEED_RELAY)) && echo "; **relay** = examples/tcp_relay.rs, a bare tokio relay (one thread, two io::copy per connection, round robin over the replicas, parses nothing): the floor for a tokio proxy, read workloads only"); $rw_desc: one port, reads to the replicas, transactions to the master"
    echo "- numbers are means over the rounds (a profiled run only where the target has no other). Latency is per sysbench event (a query for point_select, a transaction's worth of queries for read_only/read_write, connect + SELECT 1 + disconnect for connect_query); p50 from sysbench's histogram, p95 from --percentile=95."
    echo "- proxy columns are per **op**: one query for the oltp_* workloads, one **event** (connect, login, SELECT 1, disconnect) for connect_query. CPU µs/op = the proxy process's CPU time (all threads) per op, user + sys = total (each rounded on its own); cs/op = voluntary / non-voluntary context switches of its threads per op; $perf_desc. RSS = VmRSS after the run (peak VmHWM in parentheses). host busy = all cores, everything on the machine."
    echo
    echo "| workload | target | QPS | p50 ms | p95 ms | op | CPU µs/op user | sys | total | vol cs/op | invol cs/op | syscalls/op | proxy RSS MiB | host busy | errors |"
    echo "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' -v targets="${TARGETS[*]}" -v workloads="${WORKLOADS[*]}" '
        NR == 1 { next }
        {
            k = $1 SUBSEP $3
            n[k]++; qps[k] += $4; p50[k] += $6; p95[k] += $7; err[k] += $8 + $9
            busy[k] += $20; op[k] = ($1 == "connect_query") ? "event" : "query"
            if ($13 != "nan") {
                ops[k] += $12; ut[k] += $13; st[k] += $14; vcs[k] += $15; nvcs[k] += $16
                rss[k] = $18; hwm[k] = $19
                if ($17 != "nan") { sc[k] += $17; scops[k] += $12 }
            }
        }
        function per(x, o, scale, fmt) { return (o > 0) ? sprintf(fmt, scale * x / o) : "n/a" }
        END {
            nw = split(workloads, W, " "); nt = split(targets, T, " ")
            for (i = 1; i <= nw; i++) for (j = 1; j <= nt; j++) {
                k = W[i] SUBSEP T[j]
                if (!n[k]) continue
                r = (rss[k] != "") ? sprintf("%.1f (%.1f)", rss[k] / 1024, hwm[k] / 1024) : "n/a"
                printf "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %.0f%% | %d |\n",
                    W[i], T[j], qps[k] / n[k], p50[k] / n[k], p95[k] / n[k], op[k],
                    per(ut[k], ops[k], 1e6, "%.1f"), per(st[k], ops[k], 1e6, "%.1f"),
                    per(ut[k] + st[k], ops[k], 1e6, "%.1f"),
                    per(vcs[k], ops[k], 1, "%.2f"), per(nvcs[k], ops[k], 1, "%.2f"),
                    per(sc[k], scops[k], 1, "%.2f"), r, busy[k] / n[k], err[k]
            }
        }' "$MEANS"
    echo
    echo "Ratios, rwsplit instance / peer (below 1 = rwsplit spends less per op, or has lower latency; above 1 for QPS = rwsplit is faster):"
    echo
    echo "| workload | rwsplit | / peer | QPS | p50 | CPU/op total | user | sys | vol cs/op | invol cs/op | syscalls/op |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' -v workloads="${WORKLOADS[*]}" -v rws="${RW_TARGETS[*]}" '
        NR == 1 { next }
        {
            k = $1 SUBSEP $3
            n[k]++; qps[k] += $4; p50[k] += $6
            if ($13 != "nan") {
                ops[k] += $12; ut[k] += $13; st[k] += $14; vcs[k] += $15; nvcs[k] += $16
                if ($17 != "nan") { sc[k] += $17; scops[k] += $12 }
            }
        }
        # ratio of per-op values: (a/ao) / (b/bo)
        function ratio(a, ao, b, bo) { return (ao > 0 && bo > 0 && b > 0) ? sprintf("%.2f", (a / ao) / (b / bo)) : "n/a" }
        END {
            nw = split(workloads, W, " "); nr = split(rws, R, " "); np = split("haproxy relay direct", P, " ")
            for (i = 1; i <= nw; i++) for (j = 1; j <= nr; j++) for (l = 1; l <= np; l++) {
                rw = W[i] SUBSEP R[j]; pe = W[i] SUBSEP P[l]
                if (!n[rw] || !n[pe]) continue
                q = sprintf("%.2f", (qps[rw] / n[rw]) / (qps[pe] / n[pe]))
                lat = (p50[pe] > 0) ? sprintf("%.2f", (p50[rw] / n[rw]) / (p50[pe] / n[pe])) : "n/a"
                if (P[l] == "direct") {
                    printf "| %s | %s | direct | %s | %s | n/a (no proxy) | | | | | |\n", W[i], R[j], q, lat
                    continue
                }
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", W[i], R[j], P[l], q, lat,
                    ratio(ut[rw] + st[rw], ops[rw], ut[pe] + st[pe], ops[pe]),
                    ratio(ut[rw], ops[rw], ut[pe], ops[pe]), ratio(st[rw], ops[rw], st[pe], ops[pe]),
                    ratio(vcs[rw], ops[rw], vcs[pe], ops[pe]), ratio(nvcs[rw], ops[rw], nvcs[pe], ops[pe]),
                    ratio(sc[rw], scops[rw], sc[pe], scops[pe])
            }
        }' "$MEANS"
    echo
    if ((${#PROFILES[@]})); then
        echo "CPU profiles of rwsplit (perf record -F 999 -g during the round-1 run; flat, by DSO and symbol, plus user space only):"
        echo
        for p in "${PROFILES[@]}"; do
            IFS=$'\t' read -r pw pt pf <<<"$p"
            echo "- $pw, $pt: [$pf]($pf)"
        done
        echo
    elif ((BENCH_PROFILE == 1)); then
        echo "No CPU profiles: ${PERF_NOTE:-perf record did not attach (see the log)}."
        echo
    fi
    echo "<details><summary>every run</summary>"
    echo
    echo "| workload | round | target | QPS | TPS | p50 ms | p95 ms | errors | reconnects | queries | events | proxy user s | proxy sys s | vol cs | invol cs | syscalls | RSS kB | host busy % | profiled |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $14, $15, $16, $17, $18, $20, ($21 == 1) ? "yes" : "" }' "$RUNS"
    echo
    echo "</details>"
} >"$REPORT.tmp"
for p in "${PROFILES[@]}"; do
    IFS=$'\t' read -r _ _ pf <<<"$p"
    mv "$WORK/$pf" "$RESULTS_DIR/$pf"
done
mv "$REPORT.tmp" "$REPORT"
cat "$REPORT"
log "report written to $REPORT"
