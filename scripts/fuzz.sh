#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time: scripts/fuzz.sh [seconds-per-target] [target...]
#
#   scripts/fuzz.sh            60 s for each of packet_framer, handshake_response,
#                              command_packet, classifier
#   scripts/fuzz.sh 300 classifier
#
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz (installed
# here with `cargo install cargo-fuzz --locked` if missing). Each target starts from its
# committed seed corpus fuzz/corpus/<target>/ (read only); inputs libFuzzer finds interesting
# go to the scratch corpus fuzz/work/<target>/ (git-ignored, kept between runs). A crash
# leaves its input in fuzz/artifacts/<target>/ and makes this script exit non-zero; reproduce
# it with `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`, fix it, and copy
# the input into fuzz/corpus/<target>/ so tests/fuzz_replay.rs (stable, part of the normal
# test run) keeps it fixed.
#
# Environment:
#   FUZZ_SANITIZER   address (default) or none (several times faster, catches panics only)
#   FUZZ_JOBS        cargo build jobs (default 1: the machine is shared)
#   FUZZ_RSS_MB      libFuzzer's memory limit per target (default 2048)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
    TARGETS=(packet_framer handshake_response command_packet classifier)
fi
SANITIZER=${FUZZ_SANITIZER:-address}
export CARGO_BUILD_JOBS=${FUZZ_JOBS:-1}

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build --sanitizer "$SANITIZER"

failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/work/$t"
    echo "== $t: ${SECONDS_PER_TARGET}s"
    log="fuzz/work/$t.log"
    # -print_final_stats: total executions and execs/s at the end of the log.
    if cargo +nightly fuzz run --sanitizer "$SANITIZER" "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 || true)
        echo "   ok: ${runs:-?} runs, ${rate:-?} execs/s, ${cov:-cov: ?}, corpus $(find "fuzz/work/$t" -type f | wc -l) files"
    else
        echo "   CRASH (log: $log):"
        grep -E 'panicked|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 10 | sed 's/^/   /'
        failed+=("$t")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz.sh: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: no crash in ${#TARGETS[@]} target(s), ${SECONDS_PER_TARGET}s each"
