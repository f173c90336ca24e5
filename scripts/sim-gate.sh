#!/usr/bin/env bash
# Deterministic simulation gate: sweeps seeds with fault schedules, runs every
# seed twice and requires identical traces and state hashes.
#   scripts/sim-gate.sh                 # CI: 200 seeds
#   SIM_SEEDS=5000 scripts/sim-gate.sh  # soak; prints seeds/min and virtual/wall
# A second sweep (SIM_MEMBERSHIP_SEEDS, default 40) adds the membership
# nemesis: members cycled out of every group and back in.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}"
seeds="${SIM_SEEDS:-200}"
membership_seeds="${SIM_MEMBERSHIP_SEEDS:-40}"
start="${SIM_START:-1}"
jobs="${SIM_JOBS:-$(nproc)}"
cargo build --workspace --all-targets
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
sweep() {
    local total="$1"
    shift
    for nodes in 3 5; do
        n=$((nodes == 3 ? total * 3 / 4 : total - total * 3 / 4))
        "$CARGO_TARGET_DIR/debug/duckraft-sim" --seeds "$n" --start "$start" --nodes "$nodes" \
            --twice --jobs "$jobs" --chaos-secs 4 "$@" >"$out" || status=$?
        tail -n 1 "$out"
        grep '"result":"fail"' "$out" || true
    done
}
sweep "$seeds"
sweep "$membership_seeds" --membership
exit "$status"
