#!/bin/sh
# consul-replicas.sh — a Consul watch handler that keeps rwsplit's read pool equal to the
# healthy instances of a Consul service (reconcile, not events).
#
#   consul watch -type=service -service=mariadb-replica -passingonly=true \
#       /usr/local/lib/rwsplit/hooks/consul-replicas.sh
#
# A `service` watch gives its handler no event, only the full current list (JSON on stdin),
# every time anything about the service changes, and once when the watch starts. So this
# handler compares that list with `rwsplit topology list` and calls host-up.sh for each healthy
# instance that is missing and host-down.sh for each configured replica that is no longer
# listed. Both are idempotent, so running it again with the same input changes nothing.
#
# Guards: an empty list (all replicas failing, or a Consul hiccup) removes nothing unless
# RWSPLIT_CONSUL_ALLOW_EMPTY=1 — rwsplit's own health monitor already stops sending reads to
# replicas that are down or lagging, so keeping them configured is harmless; and the current
# master is never added as a replica.
#
# Needs jq. Instances whose checks are not all "passing" are skipped even without
# -passingonly. The address used is Service.Address, or Node.Address when the service has none.
#
# Exit status: 0 in sync (or nothing safe to do); 1 some add/remove failed (the others were
# still applied; Consul runs the handler again on the next change); 64 bad input; 127 jq or
# rwsplit not found.
#
# Environment: those of host-up.sh / host-down.sh (RWSPLIT_BIN, RWSPLIT_CONFIG, ...), and
#   RWSPLIT_HOOKS_DIR           [the directory of this script] where host-up.sh/host-down.sh are
#   RWSPLIT_CONSUL_ALLOW_EMPTY  [0]
set -u
set -f # addresses like [::1]:3306 are not glob patterns

: "${RWSPLIT_CONFIG:=/etc/rwsplit/proxy.toml}"
: "${RWSPLIT_CONSUL_ALLOW_EMPTY:=0}"
: "${RWSPLIT_HOOKS_DIR:=$(dirname "$0")}"
export RWSPLIT_CONFIG

log() { printf 'consul-replicas: %s\n' "$*" >&2; }

command -v jq >/dev/null 2>&1 || { log "jq not found"; exit 127; }
if [ -n "${RWSPLIT_BIN:-}" ]; then bin=$RWSPLIT_BIN
elif [ -x /usr/local/bin/rwsplit ]; then bin=/usr/local/bin/rwsplit
else bin=$(command -v rwsplit || true)
fi
if [ -z "$bin" ] || ! [ -x "$bin" ]; then
    log "rwsplit binary not found (set RWSPLIT_BIN)"
    exit 127
fi

# Healthy instances as host:port, one per line, sorted (IPv6 addresses bracketed).
if ! wanted=$(jq -r '
        .[]
        | select([.Checks[]?.Status] | all(. == "passing"))
        | (if (.Service.Address // "") != "" then .Service.Address else .Node.Address end) as $h
        | (if ($h | contains(":")) then "[\($h)]" else $h end) + ":" + (.Service.Port | tostring)
    '); then
    log "stdin is not a Consul service watch payload (a JSON array of health entries)"
    exit 64
fi
wanted=$(printf '%s\n' "$wanted" | sort -u)

if ! listing=$("$bin" topology list --config "$RWSPLIT_CONFIG"); then
    log "cannot read the topology from $RWSPLIT_CONFIG"
    exit 2
fi
master=$(printf '%s\n' "$listing" | awk '$1 == "master" { print $2 }')
have=$(printf '%s\n' "$listing" | awk '$1 == "replica" { print $2 }' | sort -u)

if [ -z "$wanted" ] && [ "$RWSPLIT_CONSUL_ALLOW_EMPTY" != 1 ]; then
    log "no healthy instance listed: keeping the $(printf '%s\n' "$have" | grep -c .) configured replica(s) (set RWSPLIT_CONSUL_ALLOW_EMPTY=1 to remove them)"
    exit 0
fi

rc=0
# Additions first, so the pool never shrinks to nothing in between.
for addr in $wanted; do
    [ "$addr" != "$master" ] || { log "$addr is the master: not adding it as a replica"; continue; }
    printf '%s\n' "$have" | grep -qxF -- "$addr" && continue
    "$RWSPLIT_HOOKS_DIR/host-up.sh" "$addr" || rc=1
done
for addr in $have; do
    printf '%s\n' "$wanted" | grep -qxF -- "$addr" && continue
    "$RWSPLIT_HOOKS_DIR/host-down.sh" "$addr" || rc=1
done
exit "$rc"
