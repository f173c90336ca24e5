#!/usr/bin/env python3
"""How long a DuckLake ATTACH takes, against duckraft and PostgreSQL 15.

A DuckLake client learns the catalog's schema through the postgres scanner's
``pg_catalog`` joins, which duckraft answers from DuckDB's catalog functions.
Two cases, for each backend in turn:

- **create**: ATTACH of a new lake in a fresh database. DuckLake creates its
  catalog tables in one transaction and looks each one up right after
  creating it; then ``CREATE TABLE lake.t``.
- **reattach**: ``--rounds`` times, one commit to ``lake.t`` by the first
  client, then a new DuckDB client ATTACHes the existing lake and reads
  ``count(*)`` of ``lake.t``. The commit comes first because a write between
  two ATTACHes is the common case (writers keep committing while readers
  come and go).

Reported per case: wall time as the client sees it (median and max for
reattach) and, for duckraft, the server's CPU time (``/proc/<pid>/stat``).

Run:  bench/run-attach [--rounds 10] [--backends postgres,duckraft]
Writes bench/results/<UTC timestamp>-attach.md and .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "compat"))

import harness  # noqa: E402
import lakeclient  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"


def cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU time of a process so far (None without a pid)."""
    if pid is None:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(server) -> int | None:
    return server.proc.pid if isinstance(server, harness.DuckraftServer) else None


def measure(name: str, rounds: int, work: Path) -> dict:
    server, endpoint = harness.start_server(name)
    pid = server_pid(server)
    try:
        dbname = "attachbench"
        endpoint.create_database(dbname)
        uri = endpoint.ducklake_uri(dbname)
        data = work / name
        data.mkdir()

        writer = lakeclient.connect()
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        lakeclient.attach(writer, uri, str(data))
        writer.execute("CREATE TABLE lake.t (k INTEGER, v VARCHAR)")
        create_ms = 1000 * (time.perf_counter() - started)
        create_cpu_ms = None if cpu is None else 1000 * (cpu_seconds(pid) - cpu)

        reattach_ms: list[float] = []
        reattach_cpu_ms: list[float] = []
        for round_ in range(rounds):
            writer.execute(f"INSERT INTO lake.t VALUES ({round_}, 'v{round_}')")
            reader = lakeclient.connect()
            cpu = cpu_seconds(pid)
            started = time.perf_counter()
            lakeclient.attach(reader, uri, str(data))
            count = reader.execute("SELECT count(*) FROM lake.t").fetchone()[0]
            reattach_ms.append(1000 * (time.perf_counter() - started))
            if cpu is not None:
                reattach_cpu_ms.append(1000 * (cpu_seconds(pid) - cpu))
            reader.close()
            if count != round_ + 1:
                raise SystemExit(f"{name}: the reader saw {count} rows after {round_ + 1} commits")
        writer.close()
    finally:
        harness.stop_server(server)
    return {
        "backend": name,
        "create_ms": create_ms,
        "create_server_cpu_ms": create_cpu_ms,
        "reattach_rounds": rounds,
        "reattach_p50_ms": statistics.median(reattach_ms),
        "reattach_max_ms": max(reattach_ms),
        "reattach_server_cpu_p50_ms": statistics.median(reattach_cpu_ms) if reattach_cpu_ms else None,
    }


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def report(meta: dict, results: list[dict]) -> str:
    lines = [
        f"# DuckLake ATTACH benchmark, {meta['timestamp']}",
        "",
        f"Machine: {meta['cpus']} CPUs, {meta['platform']}. duckraft: `{meta['duckraft_binary']}` (single node). "
        f"DuckDB {meta['duckdb']} clients. reattach: {meta['rounds']} rounds, each after one commit.",
        "",
        "| backend | create lake + table ms | server CPU ms | reattach p50 ms | reattach max ms | server CPU p50 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {fmt(r['create_ms'])} | {fmt(r['create_server_cpu_ms'])} | "
            f"{fmt(r['reattach_p50_ms'])} | {fmt(r['reattach_max_ms'])} | {fmt(r['reattach_server_cpu_p50_ms'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="reattaches, each after one commit")
    parser.add_argument("--backends", default="postgres,duckraft", help="comma-separated: postgres, duckraft")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    meta = {
        "timestamp": stamp,
        "duckdb": lakeclient.duckdb.__version__,
        "rounds": args.rounds,
        "duckraft_binary": str(harness.duckraft_binary()),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    work = Path(tempfile.mkdtemp(prefix="duckraft-attach-bench-"))
    try:
        results = [measure(name, args.rounds, work) for name in args.backends.split(",")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    markdown = report(meta, results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stamp}-attach.md").write_text(markdown)
    (RESULTS_DIR / f"{stamp}-attach.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(markdown)
    print(f"written to {RESULTS_DIR / stamp}-attach.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
