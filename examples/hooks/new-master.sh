#!/bin/sh
# new-master.sh — a failover or switchover promoted a new master: point rwsplit's writes at it.
#
#   new-master.sh HOST:PORT | HOST [PORT]                      plain / orchestrator placeholders
#   new-master.sh                                              orchestrator: $ORC_SUCCESSOR_HOST,
#                                                              $ORC_SUCCESSOR_PORT
#   new-master.sh OLD_HOST NEW_HOST OLD_PORT NEW_PORT [...]    replication-manager
#                                                              failover-post-script
#   new-master.sh --command=start --new_master_ip=IP --new_master_port=P [...]
#                                                              MHA master_ip_failover_script /
#                                                              master_ip_online_change_script
#
# Runs `rwsplit topology set-master`, which edits the config file atomically under a lock and
# then sends SIGHUP to the proxy named by the pid file. A replica with the new master's address
# is removed from the read pool; the old master is not added back (re-provision it, then run
# host-up.sh). Idempotent: a master that is already the configured one changes nothing and
# exits 0. For MHA, --command=stop|stopssh|status exit 0 without doing anything (there is no
# address to take down: rwsplit routes by configuration, not by a VIP).
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

HOOK="new-master"
# shellcheck source=/dev/null
. "$(dirname "$0")/hook-lib.sh"

usage() {
    log "usage: $HOOK HOST:PORT | HOST [PORT] | OLD_HOST NEW_HOST OLD_PORT NEW_PORT | --command=start --new_master_ip=IP --new_master_port=PORT"
    exit 64
}




mha_command=
mha_host=
mha_ip=
mha_port=
npos=0
p1='' p2='' p4=''
while [ $# -gt 0 ]; do
    case $1 in
    --command=*) mha_command=${1#--command=} ;;
    --new_master_host=*) mha_host=${1#--new_master_host=} ;;
    --new_master_ip=*) mha_ip=${1#--new_master_ip=} ;;
    --new_master_port=*) mha_port=${1#--new_master_port=} ;;
    -h | --help) usage ;;
    --*) ;; # MHA passes many more (--orig_master_*, --ssh_user, ...): not needed here
    *)
        npos=$((npos + 1))
        case $npos in 1) p1=$1 ;; 2) p2=$1 ;; 4) p4=$1 ;; esac
        ;;
    esac
    shift
done

if [ -n "$mha_command" ]; then
    case $mha_command in
    start) ;;
    stop | stopssh | status)
        log "MHA --command=$mha_command: nothing to do"
        exit 0
        ;;
    *) log "unknown MHA command $mha_command"; usage ;;
    esac
    # The IP is what the cluster manager connected to; the host name may not resolve here.
    host=${mha_ip:-$mha_host}
    port=$mha_port
    [ -n "$host" ] || { log "MHA did not pass --new_master_ip/--new_master_host"; usage; }
elif [ "$npos" = 0 ]; then
    if [ -z "${ORC_SUCCESSOR_HOST:-}" ]; then
        if [ "${ORC_IS_SUCCESSFUL:-}" = false ]; then
            log "orchestrator recovery was not successful, no successor: nothing to do"
            exit 0
        fi
        usage
    fi
    host=$ORC_SUCCESSOR_HOST
    port=${ORC_SUCCESSOR_PORT:-}
elif [ "$npos" -le 2 ]; then
    host=$p1
    port=$p2
elif [ "$npos" -ge 4 ]; then
    # replication-manager: old host, new host, old port, new port, old name, new name, type
    host=$p2
    port=$p4
else
    usage
fi

addr=$(address "$host" "$port")
run_rwsplit topology set-master "$addr" \
    --config "$RWSPLIT_CONFIG" --pid-file "$RWSPLIT_PID_FILE"
rc=$?
[ "$rc" = 0 ] || log "failed to set the master to $addr (exit $rc)"
exit "$rc"
