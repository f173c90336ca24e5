#!/usr/bin/env python3
"""Where a DuckLake commit's time goes on one duckraft node.

One DuckDB 1.5.5 client commits ``INSERT INTO lake.bench VALUES (...)`` of 3
rows in autocommit, ``--commits`` times after a warm-up, against a fresh
single-node duckraft whose protocol layer logs every statement with its
server-side latency (``RUST_LOG=duckraft_pgwire=debug``). Reported:

- commits/s and wall ms per commit, as the client sees them;
- the server's CPU time per commit (``/proc/<pid>/stat``, user + system), so
  it is plain whether the node is busy or waiting;
- per statement shape (literals replaced by ``?``): how many per commit, the
  mean and p99 latency inside the server, and its share of the server time.

The server-side sum and the wall time differ by what the client, the network
and DuckLake's own work take.

Run:  bench/run-statement-profile [--commits 300]
Writes bench/results/<UTC timestamp>-statements.md and .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "compat"))

import harness  # noqa: E402
import lakeclient  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"
WARMUP_COMMITS = 20
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The `statement` event times a statement's run; `parse` times the Describe a
# Parse message costs (extended protocol), which the run does not include.
STATEMENT = re.compile(
    r"\b(statement|parse) elapsed_ms=([0-9.]+) ok=(\w+) statement=(.*?)(?: statement| parse)?$"
)
LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def shape(statement: str) -> str:
    return " ".join(LITERAL.sub("?", statement).split())[:120]


def statement_latencies(log: Path, start: int, end: int) -> dict[str, list[float]]:
    """Latency of each statement the log recorded between two offsets, by shape."""
    shapes: dict[str, list[float]] = defaultdict(list)
    with open(log, "rb") as f:
        f.seek(start)
        for raw in f.read(end - start).decode(errors="replace").splitlines():
            match = STATEMENT.search(ANSI.sub("", raw))
            if match:
                prefix = "Parse: " if match.group(1) == "parse" else ""
                shapes[prefix + shape(match.group(4))].append(float(match.group(2)))
    return shapes


def run(commits: int) -> dict:
    server = harness.DuckraftServer()
    previous = os.environ.get("RUST_LOG")
    os.environ["RUST_LOG"] = "info,duckraft_pgwire=debug"  # the server's environment
    try:
        endpoint = server.start()
    finally:
        if previous is None:
            del os.environ["RUST_LOG"]
        else:
            os.environ["RUST_LOG"] = previous
    data = tempfile.mkdtemp(prefix="duckraft-statement-profile-")
    try:
        con = lakeclient.connect()
        uri = (
            f"ducklake:postgres:host={endpoint.host} port={endpoint.port} dbname={endpoint.admin_db} "
            f"user={endpoint.user} password={endpoint.password}"
        )
        lakeclient.attach(con, uri, data)
        con.execute("CREATE TABLE lake.bench (writer INTEGER, seq INTEGER, k INTEGER)")
        insert = "INSERT INTO lake.bench VALUES (0, {0}, 0), (0, {0}, 1), (0, {0}, 2)"
        for seq in range(WARMUP_COMMITS):
            con.execute(insert.format(seq))
        start = server.log_path.stat().st_size
        cpu_before = cpu_seconds(server.proc.pid)
        started = time.perf_counter()
        for seq in range(WARMUP_COMMITS, WARMUP_COMMITS + commits):
            con.execute(insert.format(seq))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(server.proc.pid) - cpu_before
        time.sleep(0.2)  # the last commit's log lines
        shapes = statement_latencies(server.log_path, start, server.log_path.stat().st_size)
        stored = con.execute("SELECT count(*) FROM lake.bench").fetchone()[0]
        con.close()
    finally:
        server.stop()
        server.cleanup()
    expected = 3 * (WARMUP_COMMITS + commits)
    if stored != expected:
        raise SystemExit(f"lake.bench holds {stored} rows, expected {expected}")
    if sum(len(v) for v in shapes.values()) < commits:
        raise SystemExit(
            f"the server log holds no statement latencies for {commits} commits: "
            "did the `statement` debug event of duckraft_pgwire change its format?"
        )
    server_ms = sum(sum(v) for v in shapes.values())
    rows = []
    for text, latencies in sorted(shapes.items(), key=lambda kv: -sum(kv[1])):
        ordered = sorted(latencies)
        rows.append(
            {
                "statement": text,
                "per_commit": len(latencies) / commits,
                "mean_ms": statistics.fmean(latencies),
                "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
                "share": sum(latencies) / server_ms if server_ms else 0.0,
            }
        )
    return {
        "commits": commits,
        "commits_per_s": commits / wall,
        "wall_ms_per_commit": 1000 * wall / commits,
        "server_cpu_ms_per_commit": 1000 * cpu / commits,
        "server_statement_ms_per_commit": server_ms / commits,
        "statements": rows,
        "binary": str(server.binary),
    }


def report(result: dict, stamp: str) -> str:
    lines = [
        f"# DuckLake statement profile, {stamp}",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}. Binary: `{result['binary']}`. "
        f"One DuckDB 1.5.5 client, {result['commits']} autocommit inserts of 3 rows into one DuckLake "
        "table on a single duckraft node (data inlined in the catalog).",
        "",
        f"- {result['commits_per_s']:.1f} commits/s; {result['wall_ms_per_commit']:.1f} ms per commit as the client sees it",
        f"- server CPU: {result['server_cpu_ms_per_commit']:.1f} ms per commit",
        f"- server-side statement latency, summed: {result['server_statement_ms_per_commit']:.1f} ms per commit",
        "",
        "| statement (literals as ?) | per commit | mean ms | p99 ms | share of server time |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["statements"]:
        text = row["statement"].replace("|", "\\|")
        lines.append(
            f"| `{text}` | {row['per_commit']:.2f} | {row['mean_ms']:.2f} | {row['p99_ms']:.2f} | {100 * row['share']:.1f}% |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=300, help="measured commits (after 20 warm-up commits)")
    args = parser.parse_args()
    if not 1 <= args.commits <= 100_000:
        parser.error("--commits must be between 1 and 100000")
    result = run(args.commits)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = report(result, stamp)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stamp}-statements.md").write_text(text)
    (RESULTS_DIR / f"{stamp}-statements.json").write_text(json.dumps(result, indent=2) + "\n")
    print(text)
    print(f"written to {RESULTS_DIR}/{stamp}-statements.md and .json")


if __name__ == "__main__":
    main()
