#!/usr/bin/env python3
"""DuckLake commit benchmark: duckraft against PostgreSQL 15 as the catalog.

The workload is what a fleet of small DuckLake writers does to its catalog:
N concurrent DuckDB 1.5.5 processes, each attached to the same DuckLake
(``ATTACH 'ducklake:postgres:...'``), each committing one small
``INSERT INTO lake.bench VALUES (...)`` (``--rows-per-commit`` rows, an
autocommit transaction) in a loop for ``--duration`` seconds. DuckLake's
default data inlining keeps such small inserts inside the catalog, so every
commit is catalog work: a REPEATABLE READ transaction that reads the latest
snapshot, inserts the next ``ducklake_snapshot`` row, the inlined rows and the
statistics, and commits. Conflicting writers collide on the snapshot's
primary key and DuckLake retries them itself.

The servers are started by the compatibility harness (``compat/harness.py``)
in the same run: PostgreSQL 15 with ``fsync=on`` and ``synchronous_commit=on``;
``duckraft``, one node from ``$DUCKRAFT_BIN`` or the cargo target dir; and
``cluster``, three such nodes replicating over mTLS, with the N writers
attached round-robin to different nodes (a commit through a follower is
forwarded to the leader and answered after the follower applied it). For
each N the backends take turns, each on a fresh database and a fresh lake.

Reported per backend and N: commits/s, p50 and p99 commit latency (first
attempt to acknowledgement, as the client sees it), the throughput ratio to
PostgreSQL, DuckLake's internal conflict retries per commit (counted from the
client's own log of the statements it sent), client-side retries, and
failures. Every acknowledged row is checked to be in the table exactly once.

Run:  python bench/ducklake_commit_bench.py [--duration 15] [--clients 1,4,16]
Writes bench/results/<UTC timestamp>.md and .json and prints the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "compat"))

import duckdb  # noqa: E402
import harness  # noqa: E402

RUNNER = REPO / "compat" / "lake_runner.py"
RESULTS_DIR = REPO / "bench" / "results"

READY_TIMEOUT_S = 180  # all N clients attached (16 processes loading DuckDB on 2 cores is slow)
SETUP_TIMEOUT_S = 120
FINISH_GRACE_S = 120  # after the measured window, for a writer to report


def env_default(name: str, default: str) -> str:
    return os.environ.get(name, default)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--clients",
        default=env_default("DUCKRAFT_BENCH_CLIENTS", "1,4,16"),
        help="comma-separated client counts N (default 1,4,16; env DUCKRAFT_BENCH_CLIENTS)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=float(env_default("DUCKRAFT_BENCH_DURATION_S", "15")),
        help="measured seconds per backend and N (default 15; env DUCKRAFT_BENCH_DURATION_S)",
    )
    p.add_argument("--rows-per-commit", type=int, default=3)
    p.add_argument(
        "--backends",
        default=env_default("DUCKRAFT_BENCH_BACKENDS", "postgres,duckraft,cluster"),
        help="comma-separated, default postgres,duckraft,cluster (env DUCKRAFT_BENCH_BACKENDS)",
    )
    p.add_argument(
        "--inlining",
        choices=["default", "off"],
        default="default",
        help="'off' sets DATA_INLINING_ROW_LIMIT 0 so every commit also writes a Parquet file",
    )
    p.add_argument(
        "--no-retry-count",
        action="store_true",
        help="do not log catalog statements client-side (no internal-retry figure, slightly less client CPU)",
    )
    p.add_argument("--out-dir", default=str(RESULTS_DIR))
    args = p.parse_args()
    args.clients = [int(x) for x in str(args.clients).split(",") if x.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in args.backends:
        if b not in ("postgres", "duckraft", "cluster"):
            p.error(f"unknown backend {b}")
    if not (0 < args.duration <= 600):
        p.error("--duration must be in (0, 600] seconds")
    if any(not (1 <= n <= 64) for n in args.clients):
        p.error("client counts must be in [1, 64]")
    return args


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


def spawn(job: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(RUNNER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write(json.dumps(job))
    proc.stdin.close()
    proc.stdin = None
    return proc


def collect(proc: subprocess.Popen, timeout_s: float, what: str) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as timeout:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"{what} timed out after {timeout_s:.0f}s:\n{err[-3000:]}") from timeout
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{err[-3000:]}")
    return json.loads(out)


def run_one(endpoint: harness.Endpoint, n: int, args, work: Path) -> dict:
    """One backend at one N: fresh database, fresh lake, N writers for the window."""
    dbname = f"bench_n{n}"
    # A cluster cannot DROP DATABASE yet; each N has its own name anyway.
    droppable = endpoint.name != "cluster"
    if droppable:
        endpoint.drop_database(dbname)
    endpoint.create_database(dbname)
    data_path = str(work / f"{endpoint.name}-n{n}-data") + "/"
    Path(data_path).mkdir(parents=True)
    uri = endpoint.ducklake_uri(dbname)
    attach_options = "DATA_INLINING_ROW_LIMIT 0" if args.inlining == "off" else ""
    base = {"uri": uri, "data_path": data_path, "dbname": dbname}
    collect(
        spawn(
            {
                **base,
                "mode": "script",
                "steps": [
                    {"op": "attach", "options": attach_options},
                    {"op": "exec", "sql": "CREATE TABLE lake.bench (writer INTEGER, seq INTEGER, k INTEGER)"},
                ],
            }
        ),
        SETUP_TIMEOUT_S,
        "setup",
    )
    signals = work / f"{endpoint.name}-n{n}-signals"
    signals.mkdir()
    go_file = signals / "go"
    procs = []
    for w in range(n):
        job = {
            **base,
            # A cluster endpoint hands out its nodes in turn: writers spread over them.
            "uri": endpoint.ducklake_uri(dbname),
            "mode": "writer",
            "table": "lake.bench",
            "writer_id": w,
            "duration_s": args.duration,
            "rows_per_commit": args.rows_per_commit,
            "ready_file": str(signals / f"ready-{w}"),
            "go_file": str(go_file),
            "go_timeout_s": READY_TIMEOUT_S + 30,
            "count_catalog_attempts": not args.no_retry_count,
            "attach_options": attach_options,
        }
        procs.append(spawn(job))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while sum(1 for w in range(n) if (signals / f"ready-{w}").exists()) < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            errs = [p.communicate()[1][-2000:] for p in procs]
            raise RuntimeError(f"{endpoint.name} N={n}: writers not ready in {READY_TIMEOUT_S}s:\n" + "\n".join(errs))
        time.sleep(0.05)
    go_file.write_text("go\n")
    started = time.monotonic()
    outs = [collect(p, args.duration + FINISH_GRACE_S, f"{endpoint.name} writer {i}") for i, p in enumerate(procs)]
    wall_s = time.monotonic() - started

    check = collect(
        spawn(
            {
                **base,
                "mode": "script",
                "steps": [
                    {"op": "attach", "options": attach_options},
                    {
                        "op": "query",
                        "label": "count",
                        "sql": "SELECT count(*), count(DISTINCT (writer, seq, k)) FROM lake.bench",
                    },
                    {"op": "query", "label": "snapshots", "sql": "SELECT count(*) FROM lake.snapshots()"},
                ],
            }
        ),
        SETUP_TIMEOUT_S,
        "verification",
    )
    count_row = check["results"][0][1][0].split(" | ")
    rows, distinct_rows = int(count_row[0]), int(count_row[1])
    commits = sum(len(o["acknowledged"]) for o in outs)
    expected_rows = commits * args.rows_per_commit
    latencies = sorted(x for o in outs for x in o["latencies_ms"])
    measured_s = max(o["elapsed_s"] for o in outs)
    attempts = [o.get("catalog_commit_attempts") for o in outs]
    internal_retries = None if any(a is None for a in attempts) else sum(attempts) - commits
    if droppable:
        endpoint.drop_database(dbname)
    shutil.rmtree(data_path, ignore_errors=True)
    return {
        "backend": endpoint.name,
        "clients": n,
        "commits": commits,
        "measured_s": round(measured_s, 3),
        "wall_s": round(wall_s, 3),
        "commits_per_s": commits / measured_s if measured_s > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies) if latencies else None,
        "max_ms": latencies[-1] if latencies else None,
        "internal_retries": internal_retries,
        "internal_retries_per_commit": (internal_retries / commits)
        if (internal_retries is not None and commits)
        else None,
        "client_retries": sum(o["conflict_retries"] for o in outs),
        "commits_per_client_min": min(len(o["acknowledged"]) for o in outs),
        "commits_per_client_max": max(len(o["acknowledged"]) for o in outs),
        "gave_up": sum(o["gave_up"] for o in outs),
        "errors": [e for o in outs for e in o["errors"]][:10],
        "rows": rows,
        "rows_expected": expected_rows,
        "verified": rows == expected_rows and distinct_rows == rows,
        "snapshots": int(check["results"][1][1][0]),
    }


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def render_markdown(meta: dict, results: list[dict]) -> str:
    pg = {r["clients"]: r for r in results if r["backend"] == "postgres"}
    lines = [
        f"# DuckLake commit benchmark — {meta['timestamp']}",
        "",
        f"- Workload: N DuckDB {meta['duckdb']} clients, each committing `INSERT INTO lake.bench` of "
        f"{meta['rows_per_commit']} rows per autocommit transaction for {meta['duration_s']:.0f} s; "
        f"data inlining {meta['inlining']}.",
        f"- PostgreSQL {meta['postgres_version']} with fsync=on, synchronous_commit=on. duckraft: `{meta['duckraft_binary']}`; "
        "`cluster` is 3 duckraft nodes with three-way replication, writers spread over the nodes.",
        f"- Machine: {meta['cpus']} CPUs, {meta['platform']}. Load average at start: {meta['loadavg']}.",
        "- Latency: first attempt to acknowledgement as the client sees it (DuckLake's internal retries included).",
        "- Internal retries: commit attempts DuckLake retried itself after a snapshot conflict, per acknowledged commit.",
        "- Per client: fewest and most commits of one client (DuckLake's backoff lets one writer starve the others).",
        "",
        "| N | backend | commits | commits/s | vs PostgreSQL | p50 ms | p99 ms | internal retries/commit | per client min–max | client retries | failed | verified |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(results, key=lambda r: (r["clients"], r["backend"] != "postgres")):
        base = pg.get(r["clients"])
        ratio = (r["commits_per_s"] / base["commits_per_s"]) if base and base["commits_per_s"] else None
        failed = r["gave_up"] + len(r["errors"])
        lines.append(
            f"| {r['clients']} | {r['backend']} | {r['commits']} | {fmt(r['commits_per_s'])} | "
            f"{fmt(ratio, 2) + '×' if ratio is not None else '–'} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | "
            f"{fmt(r['internal_retries_per_commit'], 2)} | "
            f"{r['commits_per_client_min']}–{r['commits_per_client_max']} | {r['client_retries']} | {failed} | "
            f"{'yes' if r['verified'] else 'NO'} |"
        )
    errors = [(r["backend"], r["clients"], e) for r in results for e in r["errors"]]
    if errors:
        lines += ["", "## Errors", ""] + [f"- {b} N={n}: `{e[:300]}`" for b, n, e in errors]
    return "\n".join(lines) + "\n"


def postgres_version() -> str:
    try:
        out = subprocess.run(
            [str(harness.PG_BIN_DIR / "postgres"), "--version"], capture_output=True, text=True, timeout=10
        )
        # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        return out.stdout.split()[2] if out.returncode == 0 else "?"
    except OSError:
        return "missing"


def main() -> int:
    args = parse_args()
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    meta = {
        "timestamp": stamp,
        "duckdb": duckdb.__version__,
        "clients": args.clients,
        "duration_s": args.duration,
        "rows_per_commit": args.rows_per_commit,
        "inlining": args.inlining,
        "backends": args.backends,
        "postgres_version": postgres_version(),
        "duckraft_binary": str(harness.duckraft_binary()),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    work = Path(tempfile.mkdtemp(prefix="duckraft-bench-"))
    servers = {}
    results: list[dict] = []
    try:
        for name in args.backends:  # fail before measuring anything if a server cannot start
            print(f"starting {name} ...", file=sys.stderr, flush=True)
            try:
                servers[name] = harness.start_server(name)
            except harness.HarnessError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
        for n in args.clients:
            for name in args.backends:
                print(f"running {name} N={n} for {args.duration:.0f}s ...", file=sys.stderr, flush=True)
                r = run_one(servers[name][1], n, args, work)
                print(
                    f"  {name} N={n}: {r['commits']} commits, {r['commits_per_s']:.1f}/s, "
                    f"p50 {fmt(r['p50_ms'])} ms, p99 {fmt(r['p99_ms'])} ms, verified={r['verified']}",
                    file=sys.stderr,
                    flush=True,
                )
                results.append(r)
    finally:
        for name, (server, _) in servers.items():
            code = harness.stop_server(server)
            if name == "duckraft" and code not in (0, None):
                print(f"warning: duckraft exited with {code} on SIGTERM", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)

    markdown = render_markdown(meta, results)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stamp}.md").write_text(markdown)
    (out_dir / f"{stamp}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(markdown)
    print(f"written to {out_dir / stamp}.md and .json", file=sys.stderr)
    return 0 if all(r["verified"] and not r["errors"] and not r["gave_up"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
