#!/usr/bin/env bash
# Memory-error gate for the code that crosses into DuckDB's C API by hand.
#
#   scripts/memcheck.sh [TEST_TARGET...]     (default: declared_types describe)
#
# Every `unsafe` block of the engine lives in `raw.rs` (our own database
# handle, extra connections, describing prepared statements) and
# `declared_types.rs` (registering type aliases and casts). The engine test
# targets named here drive all of it, through real catalogs, and run under
# Valgrind's memcheck, which needs no rebuild and so also checks the DuckDB
# C++ beneath them: an invalid read or write, a bad or double free, or a
# definitely leaked block fails the run. Uninitialised-value checks are off:
# RE2 and DuckDB's vectors read uninitialised memory by design and drown
# every real report. Stack overflows inside Rust frames are out of its reach;
# the fuzz gate's AddressSanitizer covers the decoders instead.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(declared_types describe)
fi
command -v valgrind >/dev/null || {
    echo "valgrind is missing; scripts/setup-test-env.sh installs it" >&2
    exit 1
}

logs="${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}/memcheck"
mkdir -p "$logs"
# The same build as `cargo test --workspace`, so nothing is rebuilt.
cargo test --workspace --no-run --message-format=json >"$logs/build.json" 2>"$logs/build.err" || {
    cat "$logs/build.err" >&2
    exit 1
}
executables="$(python3 -c '
import json, sys
wanted = set(sys.argv[1:])
for line in sys.stdin:
    message = json.loads(line)
    target = message.get("target", {})
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and "test" in target.get("kind", []) and target.get("name") in wanted:
        print(target["name"], message["executable"])
' "${targets[@]}" <"$logs/build.json")"

for target in "${targets[@]}"; do
    executable="$(awk -v t="$target" '$1 == t { print $2 }' <<<"$executables")"
    if [ -z "$executable" ] || [ "$(wc -l <<<"$executable")" -ne 1 ]; then
        echo "no single test target named $target" >&2
        exit 1
    fi
    log="$logs/$target.log"
    echo "memcheck: $target"
    status=0
    valgrind --error-exitcode=99 --undef-value-errors=no \
        --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --num-callers=40 --log-file="$log" \
        "$executable" --test-threads=1 >"$log.out" 2>&1 || status=$?
    grep -E 'ERROR SUMMARY|definitely lost:' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log.out" >&2
        head -n 120 "$log" >&2
        echo "memcheck of $target failed (exit $status); full report: $log" >&2
        exit 1
    fi
done
