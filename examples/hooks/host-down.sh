#!/bin/sh
# host-down.sh — a replica is going away (or must stop serving reads): remove it from rwsplit's
# read pool.
#
#   host-down.sh HOST:PORT
#   host-down.sh HOST PORT
#   host-down.sh HOST                        (port $RWSPLIT_DEFAULT_PORT, 3306)
#
# Runs `rwsplit topology remove-replica`, which edits the config file atomically under a lock
# and then sends SIGHUP to the proxy named by the pid file. Statements already running on the
# replica finish; new reads go to the other replicas (or to the master when none is left and
# fallback_to_master is on). Idempotent: removing a replica that is not in the file changes
# nothing and exits 0. Safe to run concurrently with the other hooks.
#
# Exit status: 0 done or nothing to do; 2 rwsplit refused (bad address, unreadable or invalid
# config); 64 bad arguments; 124 timed out waiting (RWSPLIT_HOOK_TIMEOUT); 127 rwsplit not found.
#
# Environment (defaults in brackets):
#   RWSPLIT_BIN           [/usr/local/bin/rwsplit, else rwsplit on PATH]
#   RWSPLIT_CONFIG        [/etc/rwsplit/proxy.toml]
#   RWSPLIT_PID_FILE      [/run/rwsplit/rwsplit.pid]
#   RWSPLIT_DEFAULT_PORT  [3306]
#   RWSPLIT_HOOK_TIMEOUT  [30] seconds; 0 = wait forever
#   RWSPLIT_HOOK_SYSLOG   [1] also log to syslog with logger(1) when it exists
set -u

HOOK="host-down"
# shellcheck source=/dev/null
. "$(dirname "$0")/hook-lib.sh"

usage() {
    log "usage: $HOOK HOST:PORT | HOST [PORT]"
    exit 64
}




host=
port=
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *)
        if [ -z "$host" ]; then host=$1
        elif [ -z "$port" ]; then port=$1
        else usage
        fi
        ;;
    esac
    shift
done
[ -n "$host" ] || usage

addr=$(address "$host" "$port")
run_rwsplit topology remove-replica "$addr" \
    --config "$RWSPLIT_CONFIG" --pid-file "$RWSPLIT_PID_FILE"
rc=$?
[ "$rc" = 0 ] || log "failed to remove replica $addr (exit $rc)"
exit "$rc"
