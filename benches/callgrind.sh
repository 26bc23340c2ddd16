#!/usr/bin/env bash
# benches/callgrind.sh — the proxy's instructions per query (or per connection), counted by
# valgrind's callgrind: the same figure for the same binary and workload whatever else the
# machine is doing, so two builds can be compared on a busy 2-core box where CPU seconds wobble.
#
#   scripts/cluster.sh up                                   # a cluster to run against
#   benches/callgrind.sh                                    # oltp_point_select, binary protocol
#   CG_WORKLOAD=connect_query CG_EVENTS=5000 benches/callgrind.sh
#   CG_PS_MODE=disable benches/callgrind.sh                 # text protocol
#   CG_BIN=/tmp/rwsplit.old benches/callgrind.sh            # another build
#   CG_RELAY=1 benches/callgrind.sh                         # the relay floor (examples/tcp_relay.rs)
#   CG_CACHE_SIM=1 benches/callgrind.sh                     # also simulated cache misses per query
#
# What it does: prepares the sysbench tables on the cluster's master if they are missing (and
# waits for the replicas), starts the binary (default target/release/rwsplit, built if missing)
# under callgrind on a free loopback port, runs a warm-up of CG_EVENTS/10 events (logins,
# pooled connections, prepared statements in place), zeroes the counters, runs CG_EVENTS
# events with CG_THREADS sysbench threads, dumps, and prints instructions per event with the
# top functions (self and inclusive). The profile stays in CG_OUT (default
# /tmp/rwsplit-callgrind.out.1) for callgrind_annotate or kcachegrind.
#
# Instructions are user-space only: the kernel's share (socket calls) is not in them; count
# syscalls with benches/load.sh (perf stat) or strace -c.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
bench_cluster_env
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

WORKLOAD=${CG_WORKLOAD:-oltp_point_select}
EVENTS=${CG_EVENTS:-20000}
THREADS=${CG_THREADS:-4}
PS_MODE=${CG_PS_MODE:-auto}
OUT=${CG_OUT:-/tmp/rwsplit-callgrind.out}
BIN=${CG_BIN:-}
RELAY=${CG_RELAY:-0}
VG=(valgrind --tool=callgrind --callgrind-out-file="$OUT")
[[ ${CG_CACHE_SIM:-0} == 1 ]] && VG+=(--cache-sim=yes)
if [[ $RELAY == 1 ]]; then
    # The floor: a tokio relay that parses nothing, round robin over the two replicas (read
    # workloads only). Same sysbench run, so its instructions per query compare directly.
    (cd "$ROOT" && cargo build --release --quiet --example tcp_relay)
    BIN=$ROOT/target/release/examples/tcp_relay
elif [[ -z $BIN ]]; then
    (cd "$ROOT" && cargo build --release --quiet --bin rwsplit)
    BIN=$ROOT/target/release/rwsplit
fi

WORK=$(mktemp -d /tmp/rwsplit-cg.XXXXXX)
PID=
# rwsplit stops on SIGINT; the relay (no handler, and valgrind holds the signal while it waits
# in epoll) is killed. Its profile is dumped with callgrind_control before either.
STOP_SIGNAL=INT
[[ $RELAY == 1 ]] && STOP_SIGNAL=KILL
cleanup() {
    bench_stop "$PID" "$STOP_SIGNAL"
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(bench_free_port)
bench_sysbench_args
SB+=(--db-ps-mode="$PS_MODE")
bench_prepare "$WORK/prepare.log"

bench_proxy_toml "$PORT" "$WORK/proxy.toml"
rm -f "$OUT" "$OUT".*
if [[ $RELAY == 1 ]]; then
    "${VG[@]}" "$BIN" "127.0.0.1:$PORT" \
        "127.0.0.1:$REPLICA1_PORT" "127.0.0.1:$REPLICA2_PORT" >"$WORK/valgrind.log" 2>&1 &
else
    APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD \
        "${VG[@]}" "$BIN" --config "$WORK/proxy.toml" --no-watch \
        >"$WORK/valgrind.log" 2>&1 &
fi
PID=$!
bench_wait_listening "$PORT" "$PID" "$WORK/valgrind.log"

test=$WORKLOAD
args=()
case $WORKLOAD in
connect_query) test=$ROOT/benches/connect_query.lua ;;
oltp_point_select | oltp_read_only) args=(--skip_trx=on) ;;
esac
run() {
    sysbench "$test" "${SB[@]}" --mysql-port="$PORT" --threads="$THREADS" --events="$1" --time=0 \
        "${args[@]}" run
}
run $((EVENTS / 10)) >/dev/null
callgrind_control -z "$PID" >/dev/null 2>&1
report=$(run "$EVENTS")
callgrind_control -d "$PID" >/dev/null 2>&1
sleep 1
bench_stop "$PID" "$STOP_SIGNAL"
PID=

profile=$OUT.1
total=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
queries=$(awk '/^ +queries:/ { print $2; exit }' <<<"$report")
unit=query
per=$EVENTS
if [[ $WORKLOAD == connect_query ]]; then unit="event (connect, SELECT 1, disconnect)"; fi
[[ $WORKLOAD == oltp_* && $WORKLOAD != oltp_point_select ]] && { per=$queries; }
if [[ $RELAY == 1 ]]; then echo "binary:    $BIN (the relay floor)"; else echo "binary:    $BIN ($("$BIN" --version))"; fi
echo "workload:  $WORKLOAD, --db-ps-mode=$PS_MODE, $THREADS threads, $EVENTS events ($queries queries)"
echo "total:     $total instructions"
echo "per $unit: $((total / per)) instructions"
if [[ ${CG_CACHE_SIM:-0} == 1 ]]; then
    # Simulated first-level data misses (reads + writes) and last-level misses, per op.
    read -r d1 ll < <(callgrind_annotate "$profile" 2>/dev/null | awk '
        /^Events shown:/ { for (i = 3; i <= NF; i++) col[$i] = i - 2 }
        /PROGRAM TOTALS/ { gsub(/\([^)]*\)/, ""); $0 = $0
                           for (k in col) { v = $(col[k]); gsub(",", "", v); val[k] = v }
                           print val["D1mr"] + val["D1mw"], val["DLmr"] + val["DLmw"] }')
    echo "per $unit: $((d1 / per)) D1 misses, $((ll / per)) LL data misses (simulated)"
fi
echo "profile:   $profile"
echo
short() { sed 's|/root/.cargo/registry/src/[^/]*/||; s|/rustc/[0-9a-f]*/||' | cut -c1-170; }
echo "## top functions, self"
# (A dump taken mid-run lists the frames above the runtime at 100%: not their own cost.)
callgrind_annotate --threshold=100 "$profile" 2>/dev/null | awk '/file:function/ { go = 1; next } go && NF && !/\(100\.0%\)/' | head -30 | short
echo
echo "## top functions, inclusive"
callgrind_annotate --threshold=100 --inclusive=yes "$profile" 2>/dev/null | awk '/file:function/ { go = 1; next } go && NF' | head -45 | short
