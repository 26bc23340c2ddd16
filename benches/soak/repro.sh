#!/usr/bin/env bash
# benches/soak/repro.sh — the read failures the fault soak found, each alone, in a few seconds.
#
#   benches/soak/repro.sh master-down   reads through the proxy while the master is down
#   benches/soak/repro.sh set-names     SET NAMES (what PyMySQL, and many drivers, send right
#                                       after login) vs a plain SELECT while a replica is frozen
#
# Each starts its own cluster (scripts/cluster.sh, fresh dir under /tmp) and the release rwsplit
# (target/release/rwsplit; build it first) with [monitor] interval 500ms and
# [timeouts] read_failover 2s, prints what happens, and tears everything down (also on Ctrl-C).
# Only loopback addresses; every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
SCENARIO=${1:-}
case $SCENARIO in master-down | set-names) ;; *) sed -n '2,12p' "$0" >&2; exit 2 ;; esac

WORK=$(mktemp -d /tmp/rwsplit-repro.XXXXXX)
export RWSPLIT_CLUSTER_DIR=$WORK/c
CLUSTER=$ROOT/scripts/cluster.sh
RW_PID=
STOPPED=
cleanup() {
    set +e
    [[ -z $STOPPED ]] || kill -CONT "$STOPPED" 2>/dev/null
    if [[ -n $RW_PID ]]; then
        kill -TERM "$RW_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$RW_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$RW_PID" 2>/dev/null
        wait "$RW_PID" 2>/dev/null
    fi
    [[ ! -d $RWSPLIT_CLUSTER_DIR ]] || "$CLUSTER" down >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '\n== %s\n' "$*"; }

BIN=$WORK/rwsplit
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/rwsplit" "$BIN"
"$CLUSTER" up 2>/dev/null
# shellcheck disable=SC1091
source "$RWSPLIT_CLUSTER_DIR/env"
export APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD
PORT=$((20000 + RANDOM % 12000))
{
    "$CLUSTER" proxy-toml "127.0.0.1:$PORT" | sed 's/^interval = .*/interval = "500ms"/'
    printf '\n[timeouts]\nread_failover = "2s"\n'
} >"$WORK/proxy.toml"
"$BIN" --config "$WORK/proxy.toml" >"$WORK/rwsplit.log" 2>&1 &
RW_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
sleep 1.5 # the monitor's first checks

# One client statement on a new connection: prints duration, answer or error.
q() {
    local t0 out rc=0
    t0=$(date +%s.%N)
    out=$(timeout 30 mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$PORT" -u "$APP_USER" \
        -p"$APP_PASSWORD" --batch --skip-column-names -e "$1" 2>&1) || rc=$?
    printf '%-40s %5.2fs rc=%s %s\n' "$1" "$(echo "$(date +%s.%N) - $t0" | bc)" "$rc" "${out//$'\n'/ }"
}
replica_status() {
    mariadb --no-defaults --protocol=socket --socket="$REPLICA1_SOCKET" -u "$ADMIN_USER" -e 'SHOW SLAVE STATUS\G' |
        grep -E ' (Slave_IO_Running|Slave_SQL_Running|Seconds_Behind_Master|Last_IO_Error):'
}
health_log() { grep -E 'backend health changed|no backend reachable|retrying elsewhere' "$WORK/rwsplit.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-260 || true; }

case $SCENARIO in
master-down)
    say "master up: a read"
    q 'SELECT @@server_id'
    say "SIGKILL the master; 2 s later, replica1's view and five reads (each on a new connection)"
    "$CLUSTER" stop-node master 2>/dev/null
    sleep 2
    replica_status
    for _ in 1 2 3 4 5; do q 'SELECT @@server_id'; done
    say "master back"
    "$CLUSTER" start-node master 2>/dev/null
    sleep 3
    q 'SELECT @@server_id'
    say "proxy log"
    health_log
    ;;
set-names)
    say "warm the pool: 6 concurrent sessions, one read each"
    pids=()
    for _ in 1 2 3 4 5 6; do q 'SELECT @@server_id, SLEEP(0.5)' & pids+=($!); done
    wait "${pids[@]}"
    pid=$(tr -dc '0-9' <"$RWSPLIT_CLUSTER_DIR/replica1/mariadbd.pid")
    say "SIGSTOP replica1 (pid $pid); at once 6 x SET NAMES and 6 x SELECT, concurrently, each on a new connection"
    kill -STOP "$pid"
    STOPPED=$pid
    pids=()
    for _ in 1 2 3 4 5 6; do
        q 'SET NAMES utf8mb4' &
        pids+=($!)
        q 'SELECT @@server_id' &
        pids+=($!)
    done
    wait "${pids[@]}"
    kill -CONT "$pid"
    STOPPED=
    say "proxy log"
    health_log
    ;;
esac
