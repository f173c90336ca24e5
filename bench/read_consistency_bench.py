#!/usr/bin/env python3
"""Read consistency benchmark: what each `duckraft.read_consistency` level costs.

A 3-node duckraft cluster on loopback with mutual TLS. For each level
(`linearizable`, `session`, `local`), each target (the catalog leader, a
follower) and each client count N: N threads, each with its own connection
to the target and the level set for its session, run the point read
``SELECT v FROM kv WHERE k = $1`` in autocommit for ``--duration`` seconds.
Reported: reads/s, p50 and p99 latency, failures.

A linearizable read first asks the group leader for its commit index
(ReadIndex: one heartbeat round to a quorum; from a follower, one more hop),
then waits for the local apply; concurrent reads share one round. `session`
and `local` read the node's applied state with no round-trip.

Run:  python bench/read_consistency_bench.py [--duration 5] [--clients 1,8]
Writes bench/results/<UTC timestamp>-reads.md and .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compat"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from replicated_write_bench import Cluster, percentile  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LEVELS = ("linearizable", "session", "local")
KEYS = 1000


def run_reads(endpoint, level: str, n: int, duration: float) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(n + 1)
    stop_at = [time.monotonic() + 3600]

    def worker(i: int) -> None:
        rng = random.Random(i)
        conn = endpoint.connect(autocommit=True)
        conn.execute(f"SET duckraft.read_consistency = '{level}'")
        lat, errs = [], []
        start_gate.wait()
        while time.monotonic() < stop_at[0]:
            t0 = time.monotonic()
            try:
                row = conn.execute("SELECT v FROM kv WHERE k = %s", (rng.randrange(KEYS),)).fetchone()
                assert row is not None
                lat.append(time.monotonic() - t0)
            except psycopg.Error as e:
                errs.append(f"{type(e).__name__}: {e}".strip())
        conn.close()
        with lock:
            latencies.extend(lat)
            failures.extend(errs)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start_gate.wait()
    began = time.monotonic()
    stop_at[0] = began + duration
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    return {
        "reads": len(latencies),
        "reads_per_s": len(latencies) / elapsed,
        "p50_ms": (percentile(latencies, 0.5) or 0) * 1000,
        "p99_ms": (percentile(latencies, 0.99) or 0) * 1000,
        "failures": len(failures),
        "failure_sample": failures[:3],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", default="1,8")
    p.add_argument("--duration", type=float, default=5.0)
    args = p.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    work = Path(tempfile.mkdtemp(prefix="duckraft-bench-"))
    results = []
    cluster = Cluster(3, work / "cluster")
    try:
        for name in cluster.names:
            cluster.start(name)
        cluster.wait_ready(cluster.names)
        with cluster.endpoint(cluster.names[0]).connect(autocommit=True) as conn:
            conn.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
            with conn.cursor().copy("COPY kv FROM STDIN") as copy:
                for k in range(KEYS):
                    copy.write_row((k, f"value {k}"))
        leader = cluster.leader()
        follower = next(n for n in cluster.names if n != leader)
        for target, name in (("leader", leader), ("follower", follower)):
            for level in LEVELS:
                for n in counts:
                    result = run_reads(cluster.endpoint(name), level, n, args.duration)
                    result.update(target=target, level=level, clients=n)
                    results.append(result)
                    print(json.dumps(result), flush=True)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# Read consistency benchmark, {stamp}",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}. Dev build of duckraft "
        "(our crates at opt-level 1, DuckDB and hot dependencies at 2). 3-node cluster on loopback with mTLS; autocommit point "
        f"reads of a {KEYS}-row table, {args.duration:.0f} s per row of the table.",
        "",
        "| target | level | clients | reads/s | p50 ms | p99 ms | failures |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['target']} | {r['level']} | {r['clients']} | {r['reads_per_s']:.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['failures']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stamp}-reads.md").write_text(text)
    (RESULTS_DIR / f"{stamp}-reads.json").write_text(json.dumps({"results": results}, indent=2))
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
