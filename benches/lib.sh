# shellcheck shell=bash
# benches/lib.sh — what the scripts that drive a proxy with sysbench against the dev cluster
# share (benches/callgrind.sh, scripts/pgo-build.sh). Sourced, not run.
#
# After `bench_cluster_env`, the cluster's env file is loaded (MASTER_PORT, MASTER_SOCKET,
# REPLICA1_SOCKET, APP_USER, APP_PASSWORD, ADMIN_USER, MONITOR_PASSWORD, ...).

# Loads the env file of the cluster scripts/cluster.sh started: $RWSPLIT_CLUSTER_ENV, else
# $RWSPLIT_CLUSTER_DIR/env (default ROOT/.cluster). ROOT must be set.
bench_cluster_env() {
    export RWSPLIT_CLUSTER_DIR=${RWSPLIT_CLUSTER_DIR:-$ROOT/.cluster}
    local env_file=${RWSPLIT_CLUSTER_ENV:-$RWSPLIT_CLUSTER_DIR/env}
    [[ -f $env_file ]] || { echo "no cluster env at $env_file: run scripts/cluster.sh up first" >&2; exit 1; }
    # shellcheck disable=SC1090
    source "$env_file"
    command -v sysbench >/dev/null || { echo "sysbench is not installed" >&2; exit 1; }
}

# bench_port_is_free PORT: nothing listens on 127.0.0.1:PORT.
bench_port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints a free loopback port (exits if none of 100 random picks is free).
bench_free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000))
        if bench_port_is_free "$p"; then
            echo "$p"
            return
        fi
    done
    echo "no free port" >&2
    exit 1
}

# root_sql SOCKET SQL: runs SQL as the cluster's admin on a server's socket.
root_sql() {
    mariadb --no-defaults --protocol=socket --socket="$1" -u "$ADMIN_USER" --batch --skip-column-names -e "$2"
}

# The sysbench options for the app account on the cluster's sysbench tables (add --mysql-port).
bench_sysbench_args() {
    SB=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user="$APP_USER" --mysql-password="$APP_PASSWORD"
        --mysql-db=sbtest --tables=4 --table-size=10000)
}

# bench_prepare LOGFILE: creates the sysbench tables on the master if they are missing and
# waits until both replicas have them. Uses SB (bench_sysbench_args).
bench_prepare() {
    if [[ $(root_sql "$MASTER_SOCKET" "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'sbtest'") -lt 4 ]]; then
        echo "preparing sysbench tables on the master" >&2
        root_sql "$MASTER_SOCKET" "CREATE DATABASE IF NOT EXISTS sbtest; GRANT ALL ON sbtest.* TO '$APP_USER'@'%'"
        sysbench oltp_read_write "${SB[@]}" --mysql-port="$MASTER_PORT" --threads=4 prepare >"$1"
    fi
    local gtid
    gtid=$(root_sql "$MASTER_SOCKET" 'SELECT @@gtid_binlog_pos')
    for sock in "$REPLICA1_SOCKET" "$REPLICA2_SOCKET"; do
        [[ $(root_sql "$sock" "SELECT MASTER_GTID_WAIT('$gtid', 120)") == 0 ]] || { echo "replica behind" >&2; exit 1; }
    done
}

# bench_wait_listening PORT PID LOG: waits (up to 20 s) until PID listens on PORT; if PID dies
# first, prints LOG and exits.
bench_wait_listening() {
    for _ in $(seq 100); do
        bench_port_is_free "$1" || return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
        sleep 0.2
    done
    echo "nothing listens on port $1 after 20 s" >&2
    exit 1
}

# bench_proxy_toml PORT FILE: the cluster's proxy.toml, listening on 127.0.0.1:PORT, logging
# warnings only (a per-connection info line would be part of what is measured).
bench_proxy_toml() {
    "$ROOT/scripts/cluster.sh" proxy-toml "127.0.0.1:$1" >"$2"
    printf '\n[log]\nlevel = "warn"\n' >>"$2"
}

# bench_stop PID SIGNAL: signals PID (if set) and reaps it; never fails.
bench_stop() {
    [[ -n $1 ]] || return 0
    kill "-$2" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
