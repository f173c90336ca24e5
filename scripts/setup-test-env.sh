#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine: PostgreSQL 15
# (for the differential oracle and psql), Java for TLC, Valgrind for the
# memcheck gate, and one Python venv with the pinned real clients (DuckDB +
# DuckLake, psycopg) and test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${DUCKRAFT_VENV:-/var/tmp/duckraft-venv}"

need_apt=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
command -v psql >/dev/null || need_apt+=(postgresql-client-15)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v valgrind >/dev/null || need_apt+=(valgrind)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi

# A venv that an interrupted run left half-made (no working pip) is rebuilt.
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements-stamp"
requirements=(compat/requirements.txt charts/duckraft/tests/requirements.txt)
want=$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  for req in "${requirements[@]}"; do
    "$VENV/bin/python" -m pip install -q -r "$req"
  done
  echo "$want" > "$stamp"
fi
