#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}"
export DUCKRAFT_VENV="${DUCKRAFT_VENV:-/var/tmp/duckraft-venv}"

step() { printf '\n==> %s\n' "$*"; }

step "installing test dependencies"
scripts/setup-test-env.sh

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
# The fuzz crate is its own workspace; linted without instrumentation, apart
# from the instrumented build scripts/fuzz.sh makes.
cargo clippy --manifest-path fuzz/Cargo.toml --target-dir "$CARGO_TARGET_DIR/fuzz-lint" --bins -- -D warnings

step "cargo test"
cargo build --workspace --all-targets
cargo test --workspace

step "memcheck gate (the engine's unsafe DuckDB C API code under Valgrind)"
scripts/memcheck.sh

step "fuzzing gate (each libFuzzer target under ASan for 30 s from its seed corpus)"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

step "deterministic simulation gate (200 seeds, each run twice)"
scripts/sim-gate.sh

export DUCKRAFT_BIN="$CARGO_TARGET_DIR/debug/duckraft"

step "real-client compatibility suite (compat/)"
"$DUCKRAFT_VENV/bin/pytest" -q compat

step "Helm chart render tests"
"$DUCKRAFT_VENV/bin/pytest" -q charts/duckraft/tests

step "TLA+ models and mutants"
spec/tla/check.sh
