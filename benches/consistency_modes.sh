#!/usr/bin/env bash
# consistency modes side by side: sysbench oltp_read_write --skip_trx=on through rwsplit
# Usage: scripts/cluster.sh up; cargo build --release; benches/consistency_modes.sh
# (RWSPLIT_CLUSTER_ENV=path/to/env and BIN=path/to/rwsplit to point elsewhere). Prepares
# sbtest (4 x 10000) on the master, then runs each consistency mode twice, alternating, and
# prints QPS, the proxy's CPU per query and the SELECTs each server ran.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "${RWSPLIT_CLUSTER_ENV:-$ROOT/.cluster/env}"
BIN=${BIN:-$ROOT/target/release/rwsplit}
PORT=${PORT:-24777}
TOML=$(mktemp /tmp/consistency-modes.XXXXXX.toml)
trap 'rm -f "$TOML"' EXIT
SB=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=$APP_USER --mysql-password=$APP_PASSWORD --mysql-db=sbtest --tables=4 --table-size=10000)
mysql -S $MASTER_SOCKET -uroot -e "CREATE DATABASE IF NOT EXISTS sbtest"
sysbench oltp_read_write "${SB[@]}" --mysql-port=$MASTER_PORT cleanup >/dev/null 2>&1 || true
sysbench oltp_read_write "${SB[@]}" --mysql-port=$MASTER_PORT --threads=4 prepare >/dev/null
sleep 3
sel() { mysql -S "$1" -uroot -N -e "SHOW GLOBAL STATUS LIKE 'Com_select'" | awk '{print $2}'; }
for round in 1 2; do
 for mode in eventual session global; do
  cat > "$TOML" <<T
listen = "127.0.0.1:$PORT"
[master]
address = "127.0.0.1:$MASTER_PORT"
[[replicas]]
address = "127.0.0.1:$REPLICA1_PORT"
[[replicas]]
address = "127.0.0.1:$REPLICA2_PORT"
[[users]]
name = "$APP_USER"
password = "$APP_PASSWORD"
[monitor]
user = "$MONITOR_USER"
password = "$MONITOR_PASSWORD"
[routing]
consistency = "$mode"
T
  $BIN --config "$TOML" >/dev/null 2>&1 &
  pid=$!
  sleep 1.5
  m0=$(sel $MASTER_SOCKET); r0=$(( $(sel $REPLICA1_SOCKET) + $(sel $REPLICA2_SOCKET) ))
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  out=$(sysbench oltp_read_write "${SB[@]}" --mysql-port=$PORT --threads=8 --time=15 --skip_trx=on --mysql-ignore-errors=1062,1213,1020,1205 run)
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  m1=$(sel $MASTER_SOCKET); r1=$(( $(sel $REPLICA1_SOCKET) + $(sel $REPLICA2_SOCKET) ))
  kill $pid; wait $pid 2>/dev/null || true
  qps=$(echo "$out" | awk '/queries:/ {gsub(/[()]/,"",$3); print $3}')
  q=$(echo "$out" | awk '/queries:/ {print $2}')
  cpu_us=$(awk -v t=$((t1-t0)) -v q=$q 'BEGIN{printf "%.1f", t*10000/q}')
  echo "round $round $mode qps=$qps cpu_us_per_q=$cpu_us master_selects=$((m1-m0)) replica_selects=$((r1-r0))"
 done
done
