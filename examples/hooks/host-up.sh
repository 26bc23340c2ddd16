#!/bin/sh
# host-up.sh — a replica is ready for reads: add it to rwsplit's read pool.
#
#   host-up.sh HOST:PORT [--weight N]
#   host-up.sh HOST PORT [--weight N]
#   host-up.sh HOST [--weight N]            (port $RWSPLIT_DEFAULT_PORT, 3306)
#
# Runs `rwsplit topology add-replica`, which edits the config file atomically under a lock and
# then sends SIGHUP to the proxy named by the pid file. Idempotent: adding a replica that is
# already in the file changes nothing and exits 0 (with --weight, an existing entry's weight is
# updated instead). Safe to run concurrently with the other hooks.
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

HOOK="host-up"
# shellcheck source=/dev/null
. "$(dirname "$0")/hook-lib.sh"

usage() {
    log "usage: $HOOK HOST:PORT | HOST [PORT] [--weight N]"
    exit 64
}




weight=
host=
port=
while [ $# -gt 0 ]; do
    case $1 in
    --weight) [ $# -ge 2 ] || usage; weight=$2; shift ;;
    --weight=*) weight=${1#--weight=} ;;
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
if [ -n "$weight" ]; then
    case $weight in *[!0-9]*) log "weight must be a number: $weight"; usage ;; esac
fi

addr=$(address "$host" "$port")
if [ -n "$weight" ]; then
    run_rwsplit topology add-replica "$addr" --weight "$weight" \
        --config "$RWSPLIT_CONFIG" --pid-file "$RWSPLIT_PID_FILE"
else
    run_rwsplit topology add-replica "$addr" \
        --config "$RWSPLIT_CONFIG" --pid-file "$RWSPLIT_PID_FILE"
fi
rc=$?
[ "$rc" = 0 ] || log "failed to add replica $addr (exit $rc)"
exit "$rc"
