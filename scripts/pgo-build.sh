#!/usr/bin/env bash
# scripts/pgo-build.sh — a release binary built with profile-guided optimisation (PGO): the
# proxy is built instrumented, driven with sysbench through a real cluster, and built again with
# the profile it recorded, so the compiler lays out and inlines the statement path the way it
# runs.
#
#   scripts/cluster.sh up        # a cluster to train against (or point RWSPLIT_CLUSTER_ENV at one)
#   scripts/pgo-build.sh         # -> target/pgo/release/rwsplit
#
# Why: the path of one statement through the proxy is longer than the first-level instruction
# cache holds, so it misses that cache hundreds of times per query, where a bare relay misses it
# not at all. Measured with benches/callgrind.sh on point selects (BENCHMARKS.md): the PGO
# build runs ~25% fewer instructions per query and misses the instruction cache less than half
# as often as the plain release build.
#
# Needs rustup's llvm-tools (`rustup component add llvm-tools`: an llvm-profdata that reads the
# profiles of this rustc's LLVM) and sysbench. What the training runs, PGO_TIME seconds each
# (default 10), 8 client threads: point selects over the binary protocol and over the text
# protocol, oltp_read_only, oltp_read_write (its writes go to the cluster's sysbench tables,
# created if missing), and connect + SELECT 1 + disconnect (benches/connect_query.lua). The
# instrumented build goes to target/pgo-gen, the final one to target/pgo: target/release is
# not touched. PGO_PROFILE=FILE keeps a copy of the merged profile.
# PGO_DEB=1 also packages that binary (cargo-deb 3.8, `cargo deb --no-build`, stripped) into
# target/pgo/debian/: the same package as `cargo deb`, with the profile-guided binary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"
bench_cluster_env

TIME=${PGO_TIME:-10}
host=$(rustc -vV | sed -n 's/^host: //p')
PROFDATA=$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata
[[ -x $PROFDATA ]] || { echo "no llvm-profdata at $PROFDATA: rustup component add llvm-tools" >&2; exit 1; }

WORK=$(mktemp -d /tmp/rwsplit-pgo.XXXXXX)
PID=
cleanup() {
    bench_stop "$PID" INT
    rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[pgo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# 1. Instrumented. Build scripts and proc macros are instrumented too (RUSTFLAGS reaches them)
# and write profiles while cargo runs them: those go to a directory of their own, at a fixed
# path so that the flags, and with them cargo's cache of this build, stay the same run to run.
# (The profile used in step 3 is at a new path each run: everything is rebuilt with it.)
log "building the instrumented binary (target/pgo-gen)"
RUSTFLAGS="-Cprofile-generate=$ROOT/target/pgo-gen/build-profiles" \
    cargo build --release --quiet --bin rwsplit --target-dir "$ROOT/target/pgo-gen"

# 2. Training: the proxy's own profile goes where LLVM_PROFILE_FILE says.
PORT=$(bench_free_port)
bench_sysbench_args
bench_prepare "$WORK/prepare.log"
bench_proxy_toml "$PORT" "$WORK/proxy.toml"
mkdir -p "$WORK/profiles"
LLVM_PROFILE_FILE="$WORK/profiles/rwsplit-%p.profraw" \
    APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD \
    "$ROOT/target/pgo-gen/release/rwsplit" --config "$WORK/proxy.toml" --no-watch >"$WORK/proxy.log" 2>&1 &
PID=$!
bench_wait_listening "$PORT" "$PID" "$WORK/proxy.log"
train() { # NAME sysbench-args...
    local name=$1
    shift
    log "training: $name (${TIME}s)"
    sysbench "$@" "${SB[@]}" --mysql-port="$PORT" --threads=8 --time="$TIME" run >"$WORK/$name.log" \
        || { cat "$WORK/$name.log" >&2; exit 1; }
}
train point_select_binary oltp_point_select --skip_trx=on --db-ps-mode=auto
train point_select_text oltp_point_select --skip_trx=on --db-ps-mode=disable
train read_only oltp_read_only --skip_trx=on
train read_write oltp_read_write
train connect_query "$ROOT/benches/connect_query.lua"
# The profile is written when the proxy exits: SIGINT, and wait for the drain.
bench_stop "$PID" INT
PID=
ls "$WORK"/profiles/*.profraw >/dev/null 2>&1 || { echo "the proxy wrote no profile" >&2; exit 1; }

# 3. Merge, then the optimised build.
PROFILE=$WORK/rwsplit.profdata
"$PROFDATA" merge -o "$PROFILE" "$WORK"/profiles/*.profraw
[[ -z ${PGO_PROFILE:-} ]] || cp "$PROFILE" "$PGO_PROFILE"
log "building with the profile (target/pgo)"
RUSTFLAGS="-Cprofile-use=$PROFILE" \
    cargo build --release --quiet --bin rwsplit --target-dir "$ROOT/target/pgo"
log "done: target/pgo/release/rwsplit ($("$ROOT/target/pgo/release/rwsplit" --version))"

if [[ ${PGO_DEB:-0} == 1 ]]; then
    # cargo-deb takes the binary from <target dir>/<profile>/ as it would after its own build.
    deb=$(CARGO_TARGET_DIR="$ROOT/target/pgo" cargo deb --no-build --profile release --strip --locked \
        --output "$ROOT/target/pgo/debian/" | tail -n1)
    log "package: $deb"
fi
