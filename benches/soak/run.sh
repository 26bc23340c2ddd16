#!/usr/bin/env bash
# benches/soak/run.sh — fault soak: mixed load through rwsplit while backends are killed,
# frozen, restarted and taken out of the topology. Run by hand (not in CI); it takes
# SOAK_SECONDS plus a few minutes (cluster, release build, sysbench prepare, report).
#
#   benches/soak/run.sh                      # 600 s
#   SOAK_SECONDS=300 benches/soak/run.sh
#
# What it does:
#   1. builds rwsplit --release once and runs a copy of the binary;
#   2. starts a private MariaDB cluster (master + 2 GTID replicas, scripts/cluster.sh) in a fresh
#      RWSPLIT_CLUSTER_DIR under /tmp, and rwsplit with a proxy.toml for it: [monitor] every
#      SOAK_MONITOR_INTERVAL (500ms), [timeouts] read_failover = SOAK_READ_FAILOVER (2s),
#      consistency left at its default, [metrics] on a free port, --log-json, --pid-file;
#   3. prepares sysbench tables (4 x 10000 rows) and a tally table soak.tally on the master;
#   4. for SOAK_SECONDS runs, all through the proxy:
#        sysbench oltp_read_only --skip_trx=on, 4 threads (--mysql-ignore-errors=all)
#        sysbench oltp_read_write, 2 threads (--mysql-ignore-errors=all)
#        2 x soak_client.py reader      persistent connection, point selects, every read timed
#        2 x soak_client.py connreader  connect + point select + disconnect per request
#        1 x soak_client.py writer      INSERTs with unique ids into soak.tally, every result logged
#        2 x soak_client.py locker      read-modify-write of soak.counter under GET_LOCK
#      (sysbench is restarted for the remaining time should it exit early; the restarts are
#      counted);
#   5. meanwhile, every SOAK_FAULT_INTERVAL seconds (25), in rotation (replicas alternate by
#      round; the master alternates SIGKILL and a graceful stop):
#        replica_kill     SIGKILL a replica's mariadbd, SOAK_DOWN_SECONDS later start-node
#        replica_stop     SIGSTOP a replica for SOAK_STOP_SECONDS (15), then SIGCONT
#        master_restart   stop-node master, SOAK_DOWN_SECONDS later start-node master
#        topology_remove  rwsplit topology remove-replica; add-replica SOAK_REMOVED_SECONDS later
#        sighup           SIGHUP to the proxy
#        lock_kill        KILL (server side) of the master connection holding the lockers' named
#                         lock, usually idle between its read and its UPDATE
#      No fault starts in the first 20 s or the last 30 s, so the resource figures at the start
#      and the end are taken with every backend up;
#   6. samples the proxy's VmRSS, open fds and threads every 5 s;
#   7. at the end: waits for the replicas, reads soak.tally on the master (and counts it on the
#      replicas), and benches/soak/report.py writes benches/results/soak-<date>.md: failed reads
#      by client and by fault window, read latency while a replica is frozen vs quiet, the
#      writer's errors classified against the master's down windows, lost / doubled rows, proxy
#      RSS and fds, and the proxy log's message counts.
#
# Environment: SOAK_SECONDS [600], SOAK_FAULT_INTERVAL [25], SOAK_STOP_SECONDS [15],
# SOAK_DOWN_SECONDS [5], SOAK_REMOVED_SECONDS [8], SOAK_MONITOR_INTERVAL [500ms],
# SOAK_READ_FAILOVER [2s], SOAK_RO_RATE [200] / SOAK_RW_RATE [30] (sysbench events per second,
# 0 = as fast as it goes; the default leaves the 2-core host some headroom so latency is the
# proxy's, not the scheduler's), SOAK_FAULTS (the rotation, space-separated, default all six),
# SOAK_KEEP=1 keeps the work directory (logs, configs, per-request logs),
# SOAK_RESULTS_DIR [benches/results].
#
# benches/soak/repro.sh reproduces, alone and in seconds, the read failures the first soak found
# (BENCHMARKS.md, "Fault soak").
#
# Only loopback addresses are used; every loop is bounded by time (and the clients by count).
# Ctrl-C stops everything this script started (by pid) and tears the cluster down.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/benches/soak
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/sbin"

SOAK_SECONDS=${SOAK_SECONDS:-600}
FAULT_INTERVAL=${SOAK_FAULT_INTERVAL:-25}
STOP_SECONDS=${SOAK_STOP_SECONDS:-15}
DOWN_SECONDS=${SOAK_DOWN_SECONDS:-5}
REMOVED_SECONDS=${SOAK_REMOVED_SECONDS:-8}
MONITOR_INTERVAL=${SOAK_MONITOR_INTERVAL:-500ms}
READ_FAILOVER=${SOAK_READ_FAILOVER:-2s}
RO_RATE=${SOAK_RO_RATE:-200}
RW_RATE=${SOAK_RW_RATE:-30}
KEEP=${SOAK_KEEP:-0}
RESULTS_DIR=${SOAK_RESULTS_DIR:-$ROOT/benches/results}
read -r -a FAULTS <<<"${SOAK_FAULTS:-replica_kill replica_stop master_restart topology_remove sighup lock_kill}"
TABLES=4
TABLE_SIZE=10000
WARMUP=20
QUIET_END=30

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

((SOAK_SECONDS >= 90)) || die "SOAK_SECONDS must be at least 90"
for bin in mariadbd mariadb sysbench python3 curl; do
    command -v "$bin" >/dev/null || die "$bin not found"
done
python3 -c 'import pymysql' 2>/dev/null || die "python3 PyMySQL not found (apt-get install python3-pymysql)"

# ---------------------------------------------------------------------------------------------
# Work directory, cleanup
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/rwsplit-soak.XXXXXX)
export RWSPLIT_CLUSTER_DIR=$WORK/c
CLUSTER=$ROOT/scripts/cluster.sh
RW_PID=
SAMPLER_PID=
LOAD_PIDS=()     # load generators (python clients, sysbench loops)
STOPPED_PID=     # a mariadbd we SIGSTOPped and not yet resumed

now() { date +%s.%N; }

cleanup() {
    local rc=$?
    set +e
    trap - INT TERM
    if [[ -n $STOPPED_PID ]]; then
        kill -CONT "$STOPPED_PID" 2>/dev/null
    fi
    for pid in "${LOAD_PIDS[@]}" $SAMPLER_PID; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${LOAD_PIDS[@]}" $SAMPLER_PID; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ -n $RW_PID ]]; then
        kill -TERM "$RW_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$RW_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$RW_PID" 2>/dev/null
        wait "$RW_PID" 2>/dev/null
    fi
    if [[ -d $RWSPLIT_CLUSTER_DIR ]]; then
        "$CLUSTER" down >/dev/null 2>&1
    fi
    if [[ $KEEP == 1 ]]; then
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
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# ---------------------------------------------------------------------------------------------
# Build, cluster, proxy
# ---------------------------------------------------------------------------------------------
log "work dir $WORK"
log "building rwsplit (release)"
cargo build --release --quiet --bin rwsplit
BIN=$WORK/rwsplit
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/rwsplit" "$BIN"

log "starting the cluster"
"$CLUSTER" up
# shellcheck disable=SC1091
source "$RWSPLIT_CLUSTER_DIR/env"
# proxy.toml names the passwords as env:...; check-config and the topology hooks read them too.
export APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD

RW_PORT=$(pick_port)
METRICS_PORT=$(pick_port)
CONF=$WORK/proxy.toml
PIDFILE=$WORK/rwsplit.pid
{
    "$CLUSTER" proxy-toml "127.0.0.1:$RW_PORT" | sed "s/^interval = .*/interval = \"$MONITOR_INTERVAL\"/"
    printf '\n[timeouts]\nread_failover = "%s"\n' "$READ_FAILOVER"
    printf '\n[metrics]\nlisten = "127.0.0.1:%s"\n' "$METRICS_PORT"
    printf '\n[log]\nlevel = "info"\n'
} >"$CONF"
"$BIN" check-config "$CONF" >/dev/null || die "rwsplit rejected $CONF"

log "starting rwsplit on $RW_PORT (metrics $METRICS_PORT)"
"$BIN" --config "$CONF" --pid-file "$PIDFILE" --log-json >"$WORK/rwsplit.log" 2>&1 &
RW_PID=$!
for ((i = 0; ; i++)); do
    ! port_is_free "$RW_PORT" && break
    kill -0 "$RW_PID" 2>/dev/null || die "rwsplit exited during startup (see $WORK/rwsplit.log)"
    ((i < 100)) || die "rwsplit is not listening after 10 s"
    sleep 0.1
done

admin_sql() {
    local node=$1
    shift
    local sock_var=${node^^}_SOCKET
    mariadb --no-defaults --protocol=socket --socket="${!sock_var}" -u "$ADMIN_USER" \
        --batch --skip-column-names "$@"
}
wait_replicas() {
    local gtid r node
    gtid=$(admin_sql master -e 'SELECT @@gtid_binlog_pos')
    for node in replica1 replica2; do
        r=$(admin_sql "$node" -e "SELECT MASTER_GTID_WAIT('$gtid', ${1:-120})")
        [[ $r == 0 ]] || { log "$node did not reach GTID $gtid"; return 1; }
    done
}

SB_COMMON=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user="$APP_USER"
    --mysql-password="$APP_PASSWORD" --mysql-db=sbtest --tables="$TABLES"
    --table-size="$TABLE_SIZE")

log "preparing $TABLES x $TABLE_SIZE rows and soak.tally on the master"
sysbench oltp_read_write "${SB_COMMON[@]}" --mysql-port="$MASTER_PORT" --threads="$TABLES" \
    prepare >"$WORK/prepare.log" 2>&1 || { cat "$WORK/prepare.log" >&2; die "sysbench prepare failed"; }
# No unique key on wid: a write the proxy sent twice would show as two rows.
admin_sql master -e "CREATE DATABASE soak; CREATE TABLE soak.tally (
    pk BIGINT AUTO_INCREMENT PRIMARY KEY, wid BIGINT NOT NULL, t_send DOUBLE NOT NULL,
    KEY (wid)) ENGINE=InnoDB;
    CREATE TABLE soak.counter (id INT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB;
    INSERT INTO soak.counter VALUES (1, 0)"
wait_replicas || die "replicas did not catch up after prepare"
log "sanity: a read through rwsplit lands on server $(mariadb --no-defaults --protocol=tcp -h 127.0.0.1 \
    -P "$RW_PORT" -u "$APP_USER" -p"$APP_PASSWORD" --batch --skip-column-names -e 'SELECT @@server_id')"

# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------
EVENTS=$WORK/events.tsv
SAMPLES=$WORK/samples.tsv
printf 'kind\tnode\tt_start\tt_end\tt_down\tdetail\n' >"$EVENTS"
printf 't\trss_kb\tfds\tthreads\tclients\tbackend_conns\tbackend_idle\n' >"$SAMPLES"

# Proxy VmRSS, open fds, threads, and from /metrics: client connections, backend connections
# (all backends) and of those the idle ones in the pool.
sample() {
    local t m
    t=$(now)
    m=$(curl -s --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" | awk '
        /^rwsplit_client_connections / { c = $2 }
        /^rwsplit_backend_connections\{/ { b += $2 }
        /^rwsplit_backend_connections_idle\{/ { i += $2 }
        END { printf "%d\t%d\t%d", c, b, i }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$(status_kb "$RW_PID" VmRSS)" "$(fd_count "$RW_PID")" \
        "$(status_kb "$RW_PID" Threads)" "$m" >>"$SAMPLES"
}
sample   # idle, before any load

T0=$(date +%s)
T_END=$((T0 + SOAK_SECONDS))
echo "$T0" >"$WORK/t0"

# A sysbench workload for the rest of the soak; restarted (bounded by the end time) if it exits.
sb_loop() {
    local name=$1 threads=$2 rate=$3
    shift 3
    (
        child=
        trap '[[ -n $child ]] && kill -TERM "$child" 2>/dev/null; exit 0' TERM
        runs=0
        while :; do
            left=$((T_END - $(date +%s)))
            ((left >= 5 && runs < 1000)) || break
            runs=$((runs + 1))
            echo "### start $(now) run $runs" >>"$WORK/sb-$name.log"
            sysbench "$@" "${SB_COMMON[@]}" --mysql-port="$RW_PORT" --threads="$threads" \
                --rate="$rate" --time="$left" --report-interval=1 --percentile=99 \
                --mysql-ignore-errors=all run >>"$WORK/sb-$name.log" 2>&1 &
            child=$!
            rc=0
            wait "$child" || rc=$?
            echo "### exit $(now) rc $rc" >>"$WORK/sb-$name.log"
            child=
            # sysbench gives up when it cannot connect (the master down at thread_init): a pause
            # before the next try.
            sleep 1
        done
    ) &
    LOAD_PIDS+=($!)
}

client() {
    local mode=$1 name=$2 pause=$3
    python3 "$HERE/soak_client.py" "$mode" --port "$RW_PORT" --user "$APP_USER" \
        --password "$APP_PASSWORD" --out "$WORK/client-$name.tsv" --duration "$SOAK_SECONDS" \
        --max $((SOAK_SECONDS * 2000)) --pause "$pause" --tables "$TABLES" \
        --table-size "$TABLE_SIZE" 2>"$WORK/client-$name.err" &
    LOAD_PIDS+=($!)
}

log "load for ${SOAK_SECONDS}s: sysbench read_only x4 (rate $RO_RATE), read_write x2 (rate $RW_RATE), 2 readers, 2 connect-per-request readers, 1 writer"
sb_loop ro 4 "$RO_RATE" oltp_read_only --skip_trx=on
sb_loop rw 2 "$RW_RATE" oltp_read_write
client reader reader1 0.02
client reader reader2 0.02
client connreader conn1 0.02
client connreader conn2 0.02
client writer writer 0.01
client locker locker1 0.05
client locker locker2 0.05

(
    trap 'exit 0' TERM
    while (($(date +%s) < T_END + 15)); do
        sample
        sleep 5
    done
) &
SAMPLER_PID=$!

# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------
node_addr() {
    local v=${1^^}_PORT
    echo "127.0.0.1:${!v}"
}
node_pid() { tr -dc '0-9' <"$RWSPLIT_CLUSTER_DIR/$1/mariadbd.pid"; }
# event KIND NODE T_START T_END T_DOWN DETAIL (T_DOWN: when the node was gone; the master's stop
# can take a moment, the other faults act at once)
event() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$EVENTS"; }

fault() {
    local kind=$1 round=$2 replica t1 t2 pid how
    if ((round % 2)); then replica=replica1; else replica=replica2; fi
    case $kind in
    replica_kill)
        t1=$(now)
        "$CLUSTER" stop-node "$replica" 2>>"$WORK/faults.log"
        sleep "$DOWN_SECONDS"
        "$CLUSTER" start-node "$replica" 2>>"$WORK/faults.log" || die "$replica did not come back"
        t2=$(now)
        event "$kind" "$replica" "$t1" "$t2" "$t1" "SIGKILL, start-node after ${DOWN_SECONDS}s"
        ;;
    replica_stop)
        # The other replica of this round's pair, so kills and stops alternate between them.
        if [[ $replica == replica1 ]]; then replica=replica2; else replica=replica1; fi
        pid=$(node_pid "$replica")
        t1=$(now)
        kill -STOP "$pid"
        STOPPED_PID=$pid
        sleep "$STOP_SECONDS"
        kill -CONT "$pid"
        STOPPED_PID=
        t2=$(now)
        event "$kind" "$replica" "$t1" "$t2" "$t1" "SIGSTOP pid $pid for ${STOP_SECONDS}s"
        ;;
    master_restart)
        if ((round % 2)); then how=SIGKILL; else how=graceful; fi
        t1=$(now)
        if [[ $how == graceful ]]; then
            "$CLUSTER" stop-node master --graceful 2>>"$WORK/faults.log"
        else
            "$CLUSTER" stop-node master 2>>"$WORK/faults.log"
        fi
        local t_down
        t_down=$(now)
        sleep "$DOWN_SECONDS"
        "$CLUSTER" start-node master 2>>"$WORK/faults.log" || die "master did not come back"
        t2=$(now)
        event "$kind" master "$t1" "$t2" "$t_down" "$how (stopped after $(awk -v a="$t1" -v b="$t_down" 'BEGIN{printf "%.1f", b-a}')s), start-node after ${DOWN_SECONDS}s"
        ;;
    topology_remove)
        t1=$(now)
        "$BIN" topology remove-replica "$(node_addr "$replica")" --config "$CONF" \
            --pid-file "$PIDFILE" >>"$WORK/faults.log" 2>&1 || log "remove-replica failed (faults.log)"
        sleep "$REMOVED_SECONDS"
        "$BIN" topology add-replica "$(node_addr "$replica")" --weight 1 --config "$CONF" \
            --pid-file "$PIDFILE" >>"$WORK/faults.log" 2>&1 || log "add-replica failed (faults.log)"
        t2=$(now)
        event "$kind" "$replica" "$t1" "$t2" "$t1" "remove-replica, add-replica after ${REMOVED_SECONDS}s"
        ;;
    sighup)
        t1=$(now)
        kill -HUP "$RW_PID"
        event "$kind" proxy "$t1" "$t1" "$t1" "SIGHUP"
        ;;
    lock_kill)
        # An admin (or pt-kill) kills the master connection that holds the lockers' named lock,
        # mostly while it idles between its read and its UPDATE: that client's session must end
        # (its next statement fails), never go on without the lock.
        t1=$(now)
        local holder
        holder=$(admin_sql master -e "SELECT IS_USED_LOCK('soak_counter')")
        if [[ $holder =~ ^[0-9]+$ ]]; then
            admin_sql master -e "KILL $holder" 2>>"$WORK/faults.log" || true
            event "$kind" master "$t1" "$t1" "$t1" "KILL $holder (the named lock's holder)"
        else
            event "$kind" master "$t1" "$t1" "$t1" "no holder at that moment"
        fi
        ;;
    esac
    log "fault $kind done ($(tail -n 1 "$EVENTS" | cut -f2,6 | tr '\t' ' '))"
}

log "faults every ${FAULT_INTERVAL}s from +${WARMUP}s to -${QUIET_END}s: ${FAULTS[*]}"
sleep $((T0 + WARMUP - $(date +%s)))
sample   # under load, every backend up: the "start" figure
next=$((T0 + WARMUP))
k=0
while :; do
    kill -0 "$RW_PID" 2>/dev/null || die "rwsplit died (see $WORK/rwsplit.log)"
    kind=${FAULTS[$((k % ${#FAULTS[@]}))]}
    round=$((k / ${#FAULTS[@]} + 1))
    # Room for this fault before the quiet end (the longest takes ~STOP_SECONDS or a restart).
    (($(date +%s) + STOP_SECONDS + 15 < T_END - QUIET_END)) || break
    fault "$kind" "$round"
    k=$((k + 1))
    next=$((next + FAULT_INTERVAL))
    delay=$((next - $(date +%s)))
    ((delay <= 0)) || sleep "$delay"
done
log "$k faults done; quiet until the end"

# The "end" figure under load: a few seconds before the load stops.
delay=$((T_END - 5 - $(date +%s)))
((delay <= 0)) || sleep "$delay"
sample
log "waiting for the load to finish"
for pid in "${LOAD_PIDS[@]}"; do
    for _ in $(seq 900); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "load process $pid still running 90 s after the end; stopping it"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
done
LOAD_PIDS=()
kill -TERM "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
sleep 5
sample   # idle again
curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt" || true

# ---------------------------------------------------------------------------------------------
# Tally and report
# ---------------------------------------------------------------------------------------------
log "reading soak.tally"
wait_replicas 60 || log "replicas behind the master at the end (see report)"
admin_sql master -e 'SELECT wid, COUNT(*) FROM soak.tally GROUP BY wid' >"$WORK/tally-master.tsv"
admin_sql master -e 'SELECT v FROM soak.counter WHERE id = 1' >"$WORK/counter-master.tsv"
for node in replica1 replica2; do
    printf '%s\t%s\n' "$node" "$(admin_sql "$node" -e 'SELECT COUNT(*), COUNT(DISTINCT wid) FROM soak.tally' | tr '\t' ' ')" \
        >>"$WORK/tally-replicas.tsv"
done
printf 'master\t%s\n' "$(admin_sql master -e 'SELECT COUNT(*), COUNT(DISTINCT wid) FROM soak.tally' | tr '\t' ' ')" \
    >>"$WORK/tally-replicas.tsv"

mkdir -p "$RESULTS_DIR"
stamp=$(date +%Y-%m-%d-%H%M%S)
REPORT=$RESULTS_DIR/soak-$stamp.md
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2>/dev/null) ]]; then
    commit+=" (+ uncommitted changes in src)"
fi
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$commit"
    echo "src_commit=$(git -C "$ROOT" log -1 --format=%h -- src Cargo.toml Cargo.lock 2>/dev/null || echo unknown)"
    echo "version=$("$BIN" --version)"
    echo "mariadb=$(mariadbd --version | sed 's/^.*Ver /MariaDB /; s/ for .*//')"
    echo "sysbench=$(sysbench --version)"
    echo "cpus=$(nproc)"
    echo "cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "soak_seconds=$SOAK_SECONDS"
    echo "fault_interval=$FAULT_INTERVAL"
    echo "stop_seconds=$STOP_SECONDS"
    echo "down_seconds=$DOWN_SECONDS"
    echo "removed_seconds=$REMOVED_SECONDS"
    echo "monitor_interval=$MONITOR_INTERVAL"
    echo "read_failover=$READ_FAILOVER"
    echo "ro_rate=$RO_RATE"
    echo "rw_rate=$RW_RATE"
    echo "t0=$T0"
    echo "t_end=$T_END"
} >"$WORK/meta.env"
cp "$CONF" "$WORK/proxy.final.toml"
cp "$RWSPLIT_CLUSTER_DIR/env" "$WORK/cluster.env"
python3 "$HERE/report.py" "$WORK" >"$REPORT"
log "report: $REPORT"
cat "$REPORT"
