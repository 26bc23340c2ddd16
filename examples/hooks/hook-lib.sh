# Shared by the rwsplit lifecycle hooks (host-up.sh, host-down.sh, new-master.sh): settings,
# logging, address normalisation and running `rwsplit topology ...`. Install it next to them.
# The sourcing script sets HOOK (its name, for log lines) first.
# shellcheck shell=sh

: "${RWSPLIT_CONFIG:=/etc/rwsplit/proxy.toml}"
: "${RWSPLIT_PID_FILE:=/run/rwsplit/rwsplit.pid}"
: "${RWSPLIT_DEFAULT_PORT:=3306}"
: "${RWSPLIT_HOOK_TIMEOUT:=30}"
: "${RWSPLIT_HOOK_SYSLOG:=1}"

log() {
    printf '%s: %s\n' "$HOOK" "$*" >&2
    if [ "$RWSPLIT_HOOK_SYSLOG" = 1 ] && command -v logger >/dev/null 2>&1; then
        logger -t "rwsplit-$HOOK" -- "$*" 2>/dev/null || true
    fi
}

# HOST:PORT from "HOST:PORT", "[V6]:PORT", "HOST" or "HOST PORT"; a bare IPv6 address is bracketed.
address() {
    a_host=$1 a_port=${2:-}
    if [ -n "$a_port" ]; then
        case $a_host in *:*:*) case $a_host in \[*) ;; *) a_host="[$a_host]" ;; esac ;; esac
        printf '%s:%s' "$a_host" "$a_port"
        return
    fi
    case $a_host in
    \[*\]:*) printf '%s' "$a_host" ;;                    # [v6]:port
    \[*\]) printf '%s:%s' "$a_host" "$RWSPLIT_DEFAULT_PORT" ;;
    *:*:*) printf '[%s]:%s' "$a_host" "$RWSPLIT_DEFAULT_PORT" ;;   # bare v6
    *:*) printf '%s' "$a_host" ;;                        # host:port
    *) printf '%s:%s' "$a_host" "$RWSPLIT_DEFAULT_PORT" ;;
    esac
}

find_rwsplit() {
    if [ -n "${RWSPLIT_BIN:-}" ]; then
        printf '%s' "$RWSPLIT_BIN"
    elif [ -x /usr/local/bin/rwsplit ]; then
        printf '%s' /usr/local/bin/rwsplit
    else
        command -v rwsplit || true
    fi
}

run_rwsplit() {
    bin=$(find_rwsplit)
    if [ -z "$bin" ] || ! [ -x "$bin" ]; then
        log "rwsplit binary not found (set RWSPLIT_BIN)"
        exit 127
    fi
    if [ "$RWSPLIT_HOOK_TIMEOUT" != 0 ] && command -v timeout >/dev/null 2>&1; then
        set -- timeout "$RWSPLIT_HOOK_TIMEOUT" "$bin" "$@"
    else
        set -- "$bin" "$@"
    fi
    out=$("$@" 2>&1)
    rc=$?
    # One log line per line of rwsplit's output ("added replica ...", "signalled the proxy ...").
    printf '%s\n' "$out" | while IFS= read -r line; do
        [ -z "$line" ] || log "$line"
    done
    return "$rc"
}
