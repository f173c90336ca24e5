#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder that reads outside bytes (fuzz/).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Builds the targets with libFuzzer instrumentation and AddressSanitizer (the
# flags cargo-fuzz passes by default), then runs each from its committed seed
# corpus for the time budget. New inputs go to a scratch directory, so the
# checkout stays clean. A crash, a failed property, a memory error or leak
# (ASan, LeakSanitizer), a hang (-timeout) or runaway memory (-rss_limit_mb)
# fails the run and leaves the input under $FUZZ_ARTIFACTS for
# `TARGET_BINARY INPUT` to replay.
#
# `-Zsanitizer` is unstable. The stable toolchain ships the sanitizer
# runtimes but accepts the flag only with RUSTC_BOOTSTRAP=1, which is set for
# this one build; a fresh machine has no nightly and cannot download one.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(pg_connection pg_values raft_codec sql_contract wal_recovery)
fi

target_dir="${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}/fuzz"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="--cfg fuzzing -Zsanitizer=address -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares"
RUSTC_BOOTSTRAP=1 cargo build --quiet --manifest-path fuzz/Cargo.toml --release --bins \
    --target "$triple" --target-dir "$target_dir"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
artifacts="${FUZZ_ARTIFACTS:-$target_dir/artifacts}"
mkdir -p "$artifacts"
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    echo "fuzzing $target for ${seconds}s"
    status=0
    "$target_dir/$triple/release/$target" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
        "$scratch/$target" "fuzz/corpus/$target" >"$scratch/$target.log" 2>&1 || status=$?
    grep -E '^(Done [0-9]+ runs|stat::new_units_added|stat::peak_rss_mb)' "$scratch/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$scratch/$target.log" >&2
        echo "fuzz target $target failed (exit $status); the input is in $artifacts" >&2
        exit 1
    fi
done
