#!/usr/bin/env bash
# Local MariaDB GTID replication cluster for rwsplit's integration tests.
#
#   scripts/cluster.sh up                     start both clusters (all five nodes, in parallel),
#                                             write $CLUSTER_DIR/env
#   scripts/cluster.sh down                   stop all nodes, remove $CLUSTER_DIR
#   scripts/cluster.sh status                 ports, liveness, replica thread state
#   scripts/cluster.sh stop-node NAME [--graceful]   SIGKILL (or SIGTERM) one node
#   scripts/cluster.sh start-node NAME        restart a stopped node with the same config
#   scripts/cluster.sh env                    print the env file
#   scripts/cluster.sh proxy-toml LISTEN [--clusters]
#                                             print a proxy.toml for the first cluster listening
#                                             on LISTEN (passwords as env:APP_DB_PASSWORD and
#                                             env:RWSPLIT_MONITOR_PASSWORD); with --clusters also
#                                             a [[clusters]] entry "second" for the second one
#
# Two clusters, for the proxy's several-clusters (sharding) support:
#   first:  master (server id 1) with replica1 (2) and replica2 (3); env MASTER_PORT,
#           REPLICA1_PORT, REPLICA2_PORT (and _SOCKET, _SERVER_ID)
#   second: master2 (server id 4) with replica3 (5); env MASTER2_PORT, REPLICA3_PORT (and
#           _SOCKET, _SERVER_ID)
# NAME is master|replica1|replica2|master2|replica3. Everything lives under $RWSPLIT_CLUSTER_DIR
# (default: the directory of $RWSPLIT_CLUSTER_ENV if set, else $PWD/.cluster); no system service
# is touched. All nodes listen on 127.0.0.1 on free ports chosen at `up`. Replicas are
# read_only=ON and replicate from their own cluster's master with MASTER_USE_GTID=slave_pos.
# Only the first cluster has the databases rwtest and sbtest.
#
# Accounts (created on each master, replicated to its replicas):
#   repl/replpass       REPLICATION SLAVE
#   app/apppass         everything except SUPER and READ_ONLY ADMIN (writes on a read_only replica
#                       fail with 1290)
#   monitor/monitorpass REPLICATION CLIENT, SLAVE MONITOR, PROCESS, SELECT ON mysql.*
#   appsuper/appsuperpass  ALL PRIVILEGES ON *.* (SUPER and READ_ONLY ADMIN included): a write
#                       on a read_only replica succeeds and forks it. Only for tests that show
#                       what a misrouted write would do; the proxy's account is app.
#   root (or the invoking OS user) via unix_socket on each node's socket.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"

NODES=(master replica1 replica2 master2 replica3)
declare -A SERVER_ID=([master]=1 [replica1]=2 [replica2]=3 [master2]=4 [replica3]=5)
# Each replica's master; a node not listed here is a master.
declare -A MASTER_OF=([replica1]=master [replica2]=master [replica3]=master2)
MASTERS=(master master2)
REPLICAS=(replica1 replica2 replica3)

APP_USER=app
APP_PASSWORD=apppass
MONITOR_USER=monitor
MONITOR_PASSWORD=monitorpass
SUPER_USER=appsuper
SUPER_PASSWORD=appsuperpass
REPL_USER=repl
REPL_PASSWORD=replpass
START_TIMEOUT=${RWSPLIT_CLUSTER_START_TIMEOUT:-60}

OS_USER=$(id -un)
# mariadb-install-db --auth-root-authentication-method=socket creates root@localhost (unix_socket)
# and, when run by another OS user, a second all-privileged socket account named after that user.
ADMIN_USER=$OS_USER

# RWSPLIT_CLUSTER_DIR wins; otherwise the directory of RWSPLIT_CLUSTER_ENV (so a test that only
# knows the env file can still stop/start nodes); otherwise ./.cluster.
if [[ -n ${RWSPLIT_CLUSTER_DIR:-} ]]; then
    CLUSTER_DIR=$RWSPLIT_CLUSTER_DIR
elif [[ -n ${RWSPLIT_CLUSTER_ENV:-} ]]; then
    CLUSTER_DIR=$(dirname "$RWSPLIT_CLUSTER_ENV")
else
    CLUSTER_DIR=$PWD/.cluster
fi
case $CLUSTER_DIR in /*) ;; *) CLUSTER_DIR=$PWD/$CLUSTER_DIR ;; esac
CLUSTER_DIR=${CLUSTER_DIR%/}
ENV_FILE=$CLUSTER_DIR/env

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

node_dir() { printf '%s/%s' "$CLUSTER_DIR" "$1"; }
node_cnf() { printf '%s/%s/my.cnf' "$CLUSTER_DIR" "$1"; }
node_pidfile() { printf '%s/%s/mariadbd.pid' "$CLUSTER_DIR" "$1"; }
node_errlog() { printf '%s/%s/error.log' "$CLUSTER_DIR" "$1"; }

# Unix socket paths are limited to 107 bytes; fall back to a short directory under /tmp
# when the cluster dir is deep. The chosen directory is remembered in $CLUSTER_DIR/sockdir.
sock_dir() {
    if [[ -f $CLUSTER_DIR/sockdir ]]; then
        cat "$CLUSTER_DIR/sockdir"
    else
        printf '%s/run' "$CLUSTER_DIR"
    fi
}
node_socket() { printf '%s/%s.sock' "$(sock_dir)" "$1"; }

node_port() {
    local cnf
    cnf=$(node_cnf "$1")
    [[ -f $cnf ]] || return 1
    sed -n 's/^port=//p' "$cnf"
}

check_node_name() {
    [[ -n ${1:-} && -n ${SERVER_ID[${1:-}]:-} ]] ||
        die "unknown node '${1:-}' (expected $(IFS='|'; echo "${NODES[*]}"))"
}

is_replica() { [[ -n ${MASTER_OF[$1]:-} ]]; }

# mariadb client as the node's administrative (unix_socket) account.
sql_admin() {
    local node=$1
    shift
    mariadb --no-defaults --protocol=socket --socket="$(node_socket "$node")" -u "$ADMIN_USER" \
        --batch --skip-column-names "$@"
}

ping_node() {
    mariadb-admin --no-defaults --protocol=socket --socket="$(node_socket "$1")" -u "$ADMIN_USER" \
        --connect-timeout=2 ping >/dev/null 2>&1
}

# True if PID exists and is not a zombie (some container inits reap orphans only every second or
# two, and kill -0 succeeds on a zombie).
pid_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# PID of the node's mariadbd if it is running (checked against /proc so a reused PID from a stale
# pid file is never signalled).
node_pid() {
    local node=$1 f pid cnf
    cnf=$(node_cnf "$node")
    for f in "$(node_pidfile "$node")" "$(node_dir "$node")/launcher.pid"; do
        [[ -s $f ]] || continue
        pid=$(tr -dc '0-9' <"$f")
        [[ -n $pid ]] || continue
        if pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$cnf"; then
            printf '%s' "$pid"
            return 0
        fi
    done
    return 1
}

# Nothing listens on 127.0.0.1:PORT if a connect is refused. (A race with another process binding
# the port before mariadbd does is handled by retrying on "Address already in use".)
port_is_free() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        return 1
    fi
    return 0
}

# Pick a free port below the usual ephemeral range (32768+) so that client connections made by
# the tests can't collide with it; avoid ports already handed out in this run.
declare -A TAKEN_PORTS=()
pick_port() {
    local i port
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 12000))
        [[ -z ${TAKEN_PORTS[$port]:-} ]] || continue
        if port_is_free "$port"; then
            TAKEN_PORTS[$port]=1
            printf '%s' "$port"
            return 0
        fi
    done
    die "could not find a free TCP port"
}

write_cnf() {
    local node=$1 port=$2 dir
    dir=$(node_dir "$node")
    {
        echo "[mariadbd]"
        if [[ $(id -u) == 0 ]]; then echo "user=root"; fi
        echo "datadir=$dir/data"
        echo "tmpdir=$dir/tmp"
        echo "socket=$(node_socket "$node")"
        echo "pid-file=$(node_pidfile "$node")"
        echo "log-error=$(node_errlog "$node")"
        echo "port=$port"
        echo "bind-address=127.0.0.1"
        echo "server-id=${SERVER_ID[$node]}"
        echo "skip-name-resolve"
        echo "skip-external-locking"
        echo "max_allowed_packet=64M"
        echo "local_infile=ON"
        echo "max_connections=1000"
        echo "performance_schema=OFF"
        echo "innodb_buffer_pool_size=64M"
        echo "innodb_log_file_size=16M"
        echo "innodb_log_buffer_size=8M"
        echo "innodb_doublewrite=0"
        echo "innodb_flush_log_at_trx_commit=2"
        echo "innodb_use_native_aio=0"
        echo "sync_binlog=0"
        echo "log-bin=$dir/data/binlog"
        echo "log-bin-index=$dir/data/binlog.index"
        echo "relay-log=$dir/data/relay-bin"
        echo "relay-log-index=$dir/data/relay-bin.index"
        echo "binlog_format=ROW"
        # The application account creates stored functions and triggers in the tests (as an
        # application's migrations do), without SUPER.
        echo "log_bin_trust_function_creators=ON"
        echo "log_slave_updates=ON"
        echo "slave_net_timeout=10"
        echo "character-set-server=utf8mb4"
        echo "collation-server=utf8mb4_general_ci"
        # TLS is offered, not required: plain clients keep working, --ssl clients get TLS.
        echo "ssl-ca=$CLUSTER_DIR/tls/ca.pem"
        echo "ssl-cert=$CLUSTER_DIR/tls/server.pem"
        echo "ssl-key=$CLUSTER_DIR/tls/server.key"
        if is_replica "$node"; then
            echo "read_only=ON"
        fi
    } >"$(node_cnf "$node")"
}

# A private CA and one certificate for 127.0.0.1/localhost, used by every node and by the
# proxy under test (tests point rwsplit's [tls] at these files). Everything in $CLUSTER_DIR/tls:
# ca.pem (the CA), server.pem + server.key (signed by it).
make_tls() {
    local d=$CLUSTER_DIR/tls
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=rwsplit test CA" \
        -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || die "openssl: CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 || die "openssl: CSR"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext.cnf"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 3650 -extfile "$d/ext.cnf" -out "$d/server.pem" >/dev/null 2>&1 || die "openssl: sign"
    chmod 644 "$d"/*.pem "$d"/*.key
}

# Start mariadbd for a node in the background, detached from this shell.
launch_node() {
    local node=$1 dir
    dir=$(node_dir "$node")
    rm -f "$(node_pidfile "$node")" "$(node_socket "$node")"
    # setsid: own session, so a Ctrl-C / job-control signal to the caller doesn't reach it.
    setsid mariadbd --defaults-file="$(node_cnf "$node")" \
        </dev/null >>"$dir/stdout.log" 2>&1 &
    echo $! >"$dir/launcher.pid"
}

# Wait for a launched node to answer ping. Returns 2 if the port turned out to be taken.
wait_node() {
    local node=$1 deadline pid
    deadline=$((SECONDS + START_TIMEOUT))
    pid=$(tr -dc '0-9' <"$(node_dir "$node")/launcher.pid")
    while ((SECONDS < deadline)); do
        if ping_node "$node"; then
            return 0
        fi
        if ! pid_alive "$pid"; then
            if grep -q "Address already in use" "$(node_errlog "$node")" 2>/dev/null; then
                return 2
            fi
            log "$node: mariadbd (pid $pid) exited during startup; error log:"
            cat "$(node_errlog "$node")" "$(node_dir "$node")/stdout.log" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    log "$node: no answer to ping on $(node_socket "$node") after ${START_TIMEOUT}s; error log:"
    cat "$(node_errlog "$node")" >&2 2>/dev/null || true
    return 1
}

stop_node_pid() {
    # stop_node_pid NAME SIGNAL TIMEOUT
    local node=$1 sig=$2 timeout=$3 pid deadline resend
    pid=$(node_pid "$node") || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    resend=$((SECONDS + 2))
    while pid_alive "$pid"; do
        # mariadbd ignores a SIGTERM that arrives before its signal thread is up (a node still
        # starting); repeat it. Extra SIGTERMs during a shutdown are harmless.
        if [[ $sig == TERM ]] && ((SECONDS >= resend)); then
            kill -TERM "$pid" 2>/dev/null || true
            resend=$((SECONDS + 2))
        fi
        if ((SECONDS >= deadline)); then
            log "$node: pid $pid still alive after ${timeout}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            sig=KILL
        fi
        sleep 0.1
    done
    # Reap if it is our child (it isn't normally; setsid'ed in another invocation).
    wait "$pid" 2>/dev/null || true
}

all_nodes_up() {
    local node
    [[ -f $ENV_FILE ]] || return 1
    for node in "${NODES[@]}"; do
        ping_node "$node" || return 1
    done
}

cmd_down() {
    local node sd
    if [[ ! -e $CLUSTER_DIR ]]; then
        log "no cluster at $CLUSTER_DIR"
        return 0
    fi
    for node in "${NODES[@]}"; do
        if node_pid "$node" >/dev/null; then
            if ping_node "$node"; then
                log "stopping $node (pid $(node_pid "$node"))"
                stop_node_pid "$node" TERM 30 &
            else
                # A SIGTERM in mariadbd's first ~50 ms can leave it hung; a node that doesn't
                # answer holds nothing worth a clean shutdown.
                log "killing unresponsive $node (pid $(node_pid "$node"))"
                stop_node_pid "$node" KILL 10 &
            fi
        fi
    done
    wait
    sd=$(sock_dir)
    rm -rf "$CLUSTER_DIR"
    # A fallback socket dir lives outside the cluster dir.
    case $sd in
    "$CLUSTER_DIR"/*) ;;
    /tmp/rwsplit-sock.*) rm -rf "$sd" ;;
    esac
    log "cluster at $CLUSTER_DIR removed"
}

wait_replicas_caught_up() {
    local node r deadline
    local -A pos=()
    for node in "${MASTERS[@]}"; do
        pos[$node]=$(sql_admin "$node" -e 'SELECT @@gtid_binlog_pos')
    done
    for node in "${REPLICAS[@]}"; do
        r=$(sql_admin "$node" -e "SELECT MASTER_GTID_WAIT('${pos[${MASTER_OF[$node]}]}', 30)")
        if [[ $r != 0 ]]; then
            log "$node did not reach GTID ${pos[${MASTER_OF[$node]}]} of ${MASTER_OF[$node]} within 30s; replica status:"
            sql_admin "$node" -e 'SHOW SLAVE STATUS\G' >&2 || true
            return 1
        fi
    done
    # Belt and braces: the app account must be usable on each replica.
    deadline=$((SECONDS + 10))
    for node in "${REPLICAS[@]}"; do
        until [[ $(sql_admin "$node" -e "SELECT COUNT(*) FROM mysql.user WHERE user='$APP_USER'") == 1 ]]; do
            ((SECONDS < deadline)) || die "$node: user $APP_USER did not replicate"
            sleep 0.1
        done
    done
}

# Connect as the app user over TCP.
sql_app() {
    local port=$1
    shift
    mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u "$APP_USER" -p"$APP_PASSWORD" \
        --batch --skip-column-names "$@"
}

verify_cluster() {
    local node port out
    for node in "${MASTERS[@]}"; do
        sql_app "$(node_port "$node")" -e 'SELECT 1' >/dev/null || die "app cannot log in on $node"
    done
    for node in "${REPLICAS[@]}"; do
        port=$(node_port "$node")
        sql_app "$port" -e 'SELECT 1' >/dev/null || die "app cannot log in on $node"
        # A write by the app user on a read_only replica must fail with ER_OPTION_PREVENTS_STATEMENT.
        if out=$(sql_app "$port" -e 'CREATE DATABASE rwsplit_readonly_probe' 2>&1); then
            sql_admin "$node" -e 'DROP DATABASE IF EXISTS rwsplit_readonly_probe' || true
            die "$node: app could write on a read_only replica (privileges too broad)"
        fi
        [[ $out == *1290* ]] || die "$node: unexpected error for a write on a replica: $out"
        # The SUPER account must be able to write there (checked by its grants, not by a write).
        out=$(mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u "$SUPER_USER" \
            -p"$SUPER_PASSWORD" --batch --skip-column-names -e 'SHOW GRANTS') ||
            die "$SUPER_USER cannot log in on $node"
        [[ $out == *"GRANT ALL PRIVILEGES ON *.*"* ]] || die "$node: $SUPER_USER lacks ALL PRIVILEGES: $out"
    done
}

do_up() {
    local node port rc attempt sd tmpl t0
    t0=$SECONDS

    if [[ $CLUSTER_DIR =~ [[:space:]\'\"\$\\] ]]; then
        die "cluster dir must not contain whitespace, quotes, \$ or backslashes: $CLUSTER_DIR"
    fi
    for bin in mariadbd mariadb mariadb-admin mariadb-install-db; do
        command -v "$bin" >/dev/null || die "$bin not found (install mariadb-server mariadb-client)"
    done

    if [[ -e $CLUSTER_DIR ]]; then
        if all_nodes_up; then
            log "cluster already running at $CLUSTER_DIR (env: $ENV_FILE)"
            return 0
        fi
        log "stale cluster state at $CLUSTER_DIR, tearing it down first"
        cmd_down
    fi

    mkdir -p "$CLUSTER_DIR"
    sd=$CLUSTER_DIR/run
    if ((${#sd} + 14 > 100)); then
        sd=$(mktemp -d /tmp/rwsplit-sock.XXXXXX)
        printf '%s\n' "$sd" >"$CLUSTER_DIR/sockdir"
    fi
    mkdir -p "$sd"

    # One mariadb-install-db, copied to every node (the system tables are identical and
    # GTID replication doesn't depend on per-server UUIDs).
    tmpl=$CLUSTER_DIR/template
    log "initialising data directory"
    if ! mariadb-install-db --no-defaults --datadir="$tmpl" --user="$OS_USER" \
        --auth-root-authentication-method=socket --skip-test-db \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
        >"$CLUSTER_DIR/install-db.log" 2>&1; then
        cat "$CLUSTER_DIR/install-db.log" >&2
        die "mariadb-install-db failed"
    fi
    for node in "${NODES[@]}"; do
        mkdir -p "$(node_dir "$node")/tmp"
        cp -a "$tmpl" "$(node_dir "$node")/data"
    done
    rm -rf "$tmpl"

    make_tls
    for node in "${NODES[@]}"; do
        write_cnf "$node" "$(pick_port)"
        launch_node "$node"
    done
    for node in "${NODES[@]}"; do
        for attempt in 1 2 3 4 5; do
            rc=0
            wait_node "$node" || rc=$?
            [[ $rc == 2 ]] || break
            port=$(pick_port)
            log "$node: port taken, retrying on $port (attempt $attempt)"
            write_cnf "$node" "$port"
            launch_node "$node"
        done
        [[ $rc == 0 ]] || die "$node failed to start"
    done
    log "all nodes answer ping ($((SECONDS - t0))s)"

    # Replication account first; the replicas replay their master's binlog from its very
    # start (empty gtid_slave_pos), which includes everything below. Both clusters get the
    # same accounts: the proxy logs in to every backend with the client's credentials.
    for node in "${MASTERS[@]}"; do
        sql_admin "$node" <<EOF
DROP USER IF EXISTS ''@'localhost';
DROP USER IF EXISTS ''@'$(uname -n)';
CREATE USER '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE ON *.* TO '$REPL_USER'@'%';
EOF
    done
    for node in "${REPLICAS[@]}"; do
        port=$(node_port "${MASTER_OF[$node]}")
        sql_admin "$node" <<EOF
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$port,
  MASTER_USER='$REPL_USER', MASTER_PASSWORD='$REPL_PASSWORD',
  MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
START SLAVE;
EOF
    done

    # In 10.11 ALL PRIVILEGES includes READ_ONLY ADMIN (split out of SUPER in 10.11.0), which
    # would let app write on a read_only replica; take it (and SUPER) away again.
    for node in "${MASTERS[@]}"; do
        sql_admin "$node" <<EOF
CREATE USER '$APP_USER'@'%' IDENTIFIED BY '$APP_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$APP_USER'@'%';
REVOKE SUPER, READ_ONLY ADMIN ON *.* FROM '$APP_USER'@'%';
CREATE USER '$SUPER_USER'@'%' IDENTIFIED BY '$SUPER_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$SUPER_USER'@'%';
CREATE USER '$MONITOR_USER'@'%' IDENTIFIED BY '$MONITOR_PASSWORD';
GRANT REPLICATION CLIENT, SLAVE MONITOR, PROCESS ON *.* TO '$MONITOR_USER'@'%';
GRANT SELECT ON mysql.* TO '$MONITOR_USER'@'%';
EOF
    done
    sql_admin master <<EOF
CREATE DATABASE rwtest;
CREATE DATABASE sbtest;
EOF
    wait_replicas_caught_up
    verify_cluster

    {
        echo "CLUSTER_DIR=$CLUSTER_DIR"
        echo "MASTER_HOST=127.0.0.1"
        echo "MASTER_PORT=$(node_port master)"
        echo "REPLICA1_PORT=$(node_port replica1)"
        echo "REPLICA2_PORT=$(node_port replica2)"
        echo "MASTER_SOCKET=$(node_socket master)"
        echo "REPLICA1_SOCKET=$(node_socket replica1)"
        echo "REPLICA2_SOCKET=$(node_socket replica2)"
        echo "MASTER_SERVER_ID=${SERVER_ID[master]}"
        echo "REPLICA1_SERVER_ID=${SERVER_ID[replica1]}"
        echo "REPLICA2_SERVER_ID=${SERVER_ID[replica2]}"
        echo "MASTER2_PORT=$(node_port master2)"
        echo "REPLICA3_PORT=$(node_port replica3)"
        echo "MASTER2_SOCKET=$(node_socket master2)"
        echo "REPLICA3_SOCKET=$(node_socket replica3)"
        echo "MASTER2_SERVER_ID=${SERVER_ID[master2]}"
        echo "REPLICA3_SERVER_ID=${SERVER_ID[replica3]}"
        echo "APP_USER=$APP_USER"
        echo "APP_PASSWORD=$APP_PASSWORD"
        echo "MONITOR_USER=$MONITOR_USER"
        echo "MONITOR_PASSWORD=$MONITOR_PASSWORD"
        echo "SUPER_USER=$SUPER_USER"
        echo "SUPER_PASSWORD=$SUPER_PASSWORD"
        echo "REPL_USER=$REPL_USER"
        echo "REPL_PASSWORD=$REPL_PASSWORD"
        echo "ADMIN_USER=$ADMIN_USER"
        echo "TLS_DIR=$CLUSTER_DIR/tls"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"

    log "cluster up in $((SECONDS - t0))s: master 127.0.0.1:$(node_port master)," \
        "replica1 127.0.0.1:$(node_port replica1), replica2 127.0.0.1:$(node_port replica2);" \
        "second cluster: master2 127.0.0.1:$(node_port master2)," \
        "replica3 127.0.0.1:$(node_port replica3)"
    log "env file: $ENV_FILE"
}

cmd_up() {
    # If `up` fails half way, don't leave servers running behind.
    # (errexit is ignored inside `if`/`||` contexts, so run the subshell as a plain command.)
    local rc
    set +e
    (
        set -e
        do_up
    )
    rc=$?
    set -e
    if ((rc != 0)); then
        log "up failed; tearing down"
        cmd_down || true
        return "$rc"
    fi
}

cmd_status() {
    local node port state extra ro rc=0
    if [[ ! -d $CLUSTER_DIR ]]; then
        echo "no cluster at $CLUSTER_DIR"
        return 1
    fi
    echo "cluster dir: $CLUSTER_DIR"
    for node in "${NODES[@]}"; do
        port=$(node_port "$node" || echo '?')
        extra=
        if ping_node "$node"; then
            state=up
            ro=$(sql_admin "$node" -e 'SELECT @@read_only' 2>/dev/null || echo '?')
            extra="read_only=$ro gtid_binlog_pos=$(sql_admin "$node" -e 'SELECT @@gtid_binlog_pos' 2>/dev/null)"
            if is_replica "$node"; then
                extra+=" $(sql_admin "$node" --column-names -e 'SHOW SLAVE STATUS\G' 2>/dev/null |
                    awk -F': ' '/ Slave_IO_Running:| Slave_SQL_Running:| Seconds_Behind_Master:| Gtid_IO_Pos:/ {
                        gsub(/^ +/, "", $1); printf "%s=%s ", $1, $2 }')"
            fi
        else
            state=DOWN
            rc=1
        fi
        printf '%-9s port=%-6s id=%s %-4s %s\n' "$node" "$port" "${SERVER_ID[$node]}" "$state" "$extra"
    done
    return $rc
}

cmd_stop_node() {
    local node=${1:-} graceful=${2:-}
    check_node_name "$node"
    [[ -d $(node_dir "$node") ]] || die "no cluster at $CLUSTER_DIR"
    if ! node_pid "$node" >/dev/null; then
        log "$node is not running"
        return 0
    fi
    if [[ $graceful == --graceful ]]; then
        log "stopping $node (SIGTERM)"
        stop_node_pid "$node" TERM 30
    else
        log "killing $node (SIGKILL)"
        stop_node_pid "$node" KILL 10
    fi
    rm -f "$(node_pidfile "$node")"
}

cmd_start_node() {
    local node=${1:-} rc=0
    check_node_name "$node"
    [[ -f $(node_cnf "$node") ]] || die "no config for $node in $CLUSTER_DIR"
    if node_pid "$node" >/dev/null; then
        if ping_node "$node"; then
            log "$node is already running"
            return 0
        fi
    else
        log "starting $node on port $(node_port "$node")"
        launch_node "$node"
    fi
    wait_node "$node" || rc=$?
    [[ $rc == 0 ]] || die "$node failed to start (port $(node_port "$node") taken?)"
    log "$node is up"
}

# A proxy.toml for the first cluster: master, both replicas, the app account and the monitor;
# with --clusters also the second cluster as a [[clusters]] entry (no rule names it: a test
# adds the rules it needs).
cmd_proxy_toml() {
    local listen=${1:-} clusters=${2:-}
    local MASTER_PORT REPLICA1_PORT REPLICA2_PORT MASTER2_PORT REPLICA3_PORT APP_USER MONITOR_USER
    [[ -n $listen && ( -z $clusters || $clusters == --clusters ) ]] ||
        die "usage: cluster.sh proxy-toml HOST:PORT [--clusters]"
    [[ -f $ENV_FILE ]] || die "no cluster at $CLUSTER_DIR (run up first)"
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    cat <<TOML
listen = "$listen"

[master]
address = "127.0.0.1:$MASTER_PORT"

[[replicas]]
address = "127.0.0.1:$REPLICA1_PORT"
weight = 1

[[replicas]]
address = "127.0.0.1:$REPLICA2_PORT"
weight = 1

[[users]]
name = "$APP_USER"
password = "env:APP_DB_PASSWORD"

[monitor]
user = "$MONITOR_USER"
password = "env:RWSPLIT_MONITOR_PASSWORD"
interval = "1s"
TOML
    if [[ -n $clusters ]]; then
        cat <<TOML

[[clusters]]
name = "second"
master = { address = "127.0.0.1:$MASTER2_PORT" }
replicas = [{ address = "127.0.0.1:$REPLICA3_PORT", weight = 1 }]
TOML
    fi
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

cmd=${1:-}
shift || true
case $cmd in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
stop-node) cmd_stop_node "$@" ;;
start-node) cmd_start_node "$@" ;;
env) cat "$ENV_FILE" ;;
proxy-toml) cmd_proxy_toml "$@" ;;
*) usage ;;
esac
