"""A DuckDB 1.5.5 client with the DuckLake, postgres_scanner and parquet extensions,
loaded offline from the pinned PyPI wheels — the same client real users run.

Used in-process by the runner subprocesses (``lake_runner.py``) and by the
benchmark workers. Nothing here ever reaches the network: the extensions are
loaded from their files and auto-install/auto-load are switched off afterwards.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

# PyPI package that ships each extension file -> extension name.
EXTENSION_PACKAGES = {
    "duckdb_extension_parquet": "parquet",
    "duckdb_extension_postgres_scanner": "postgres_scanner",
    "duckdb_extension_ducklake": "ducklake",
}


def extension_path(package: str, name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Python package {package} is not installed; pip install -r compat/requirements.txt")
    matches: list[Path] = []
    for root in spec.submodule_search_locations:
        matches.extend(Path(root).rglob(f"{name}.duckdb_extension"))
    version = f"v{duckdb.__version__}"
    preferred = [m for m in matches if version in m.parts]
    found = preferred or matches
    if not found:
        raise RuntimeError(f"{name}.duckdb_extension not found inside package {package}")
    return sorted(found)[0]


def connect(threads: int = 1) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the three extensions loaded and the network shut out."""
    con = duckdb.connect(
        config={
            "allow_unsigned_extensions": "true",
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            "threads": str(threads),
        }
    )
    for package, name in EXTENSION_PACKAGES.items():
        con.execute(f"LOAD '{extension_path(package, name)}'")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def attach(
    con: duckdb.DuckDBPyConnection,
    uri: str,
    data_path: str,
    alias: str = "lake",
    options: str = "",
) -> None:
    """ATTACH a DuckLake whose catalog lives behind ``uri`` ('ducklake:postgres:...')."""
    extra = f", {options}" if options else ""
    con.execute(f"ATTACH '{uri}' AS {alias} (DATA_PATH '{data_path}'{extra})")


def is_conflict(message: str) -> bool:
    """DuckLake's own rule for a retryable commit error (RetryOnError in the
    ducklake sources): the lower-cased message mentions a primary key, 'unique',
    'conflict' or 'concurrent'."""
    m = message.lower()
    return any(s in m for s in ("primary key", "unique", "conflict", "concurrent"))
