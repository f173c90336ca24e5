# Sourced by compat/run and bench/run: make sure the shared Python venv exists
# and holds the pinned client stack; exports DUCKRAFT_PYTHON.
venv="${DUCKRAFT_VENV:-/var/tmp/duckraft-venv}"
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/requirements.txt"
# A venv that an interrupted run left half-made (no working pip) is rebuilt.
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
stamp="$venv/.duckraft-compat-requirements"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi
export DUCKRAFT_PYTHON="$venv/bin/python"
