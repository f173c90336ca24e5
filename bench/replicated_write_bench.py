#!/usr/bin/env python3
"""Replicated write benchmark: single-row autocommit INSERTs and failover.

Backends, in the same run:
- ``postgres``: PostgreSQL 15, fsync=on, synchronous_commit=on (the baseline);
- ``duckraft-1``: one duckraft node (the local, unreplicated path);
- ``duckraft-3``: a 3-node duckraft cluster on loopback with mutual TLS; the
  clients spread over all three nodes, so two thirds of the writes are
  forwarded to the leader and answered after the follower applied them.

For each backend and client count N: N threads, each with its own connection,
run ``INSERT INTO bench VALUES ($1, $2)`` (a fresh key each time) in autocommit
for ``--duration`` seconds. Reported: commits/s, p50 and p99 latency, failures,
and the throughput ratio to PostgreSQL. Every acknowledged key is checked to
be stored exactly once.

Failover (duckraft-3 only): kill -9 the leader of the catalog's group while a
writer keeps writing through a survivor; the time from the kill to the first
acknowledged write, repeated ``--failovers`` times (the killed node is
restarted and caught up between rounds).

Run:  python bench/replicated_write_bench.py [--duration 10] [--clients 1,16,64]
Writes bench/results/<UTC timestamp>-replicated.md and .json.
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
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "compat"))

import psycopg  # noqa: E402
import harness  # noqa: E402

RESULTS_DIR = REPO / "bench" / "results"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_kind(binary: Path) -> str:
    """What the figures were measured on, from the cargo profile directory."""
    parts = binary.resolve().parts
    if "release" in parts:
        return "Release build of duckraft"
    if "debug" in parts:
        return "Dev build of duckraft (our crates at opt-level 1, DuckDB and hot dependencies at 2)"
    return "duckraft build of unknown profile"


def reconnect(endpoint: harness.Endpoint, give_up_at: float):
    """A new autocommit connection, retried until `give_up_at`; None after."""
    while time.monotonic() < give_up_at:
        try:
            return endpoint.connect(autocommit=True)
        except psycopg.Error:
            time.sleep(0.1)
    return None


def run_load(endpoints: list[harness.Endpoint], n: int, duration: float, key_base: int) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    acked: list[int] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(n + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        conn = endpoints[i % len(endpoints)].connect(autocommit=True)
        mine, lat, errs = [], [], []
        key = key_base + i * 10_000_000
        start_gate.wait()
        while conn is not None and time.monotonic() < stop_at[0]:
            key += 1
            t0 = time.monotonic()
            try:
                conn.execute("INSERT INTO bench VALUES (%s, %s)", (key, "x"))
                lat.append(time.monotonic() - t0)
                mine.append(key)
            except psycopg.Error as e:
                errs.append(f"{type(e).__name__}: {e}".strip())
                if conn.closed:
                    # The server ended the session (57P01): a real client
                    # reconnects rather than failing on a dead connection.
                    conn = reconnect(endpoints[i % len(endpoints)], stop_at[0])
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(lat)
            acked.extend(mine)
            failures.extend(errs)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + 3600
    start_gate.wait()
    began = time.monotonic()
    stop_at[0] = began + duration
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    return {
        "clients": n,
        "commits": len(acked),
        "commits_per_s": len(acked) / elapsed,
        "p50_ms": (percentile(latencies, 0.5) or 0) * 1000,
        "p99_ms": (percentile(latencies, 0.99) or 0) * 1000,
        "failures": len(failures),
        "failure_sample": failures[:3],
        "acked_keys": acked,
    }


def verify(endpoint: harness.Endpoint, acked: list[int], key_range: tuple[int, int]) -> None:
    """Every acknowledged key stored exactly once. The checking node may
    still be applying the last writes other nodes acknowledged, so missing
    keys get a bounded wait; duplicates never do."""
    deadline = time.monotonic() + 30
    while True:
        with endpoint.connect(autocommit=True) as conn:
            dups = conn.execute(
                "SELECT k, count(*) FROM bench WHERE k >= %s AND k < %s GROUP BY k HAVING count(*) > 1",
                key_range,
            ).fetchall()
            assert not dups, f"duplicated keys: {dups[:5]}"
            stored = {
                r[0]
                for r in conn.execute("SELECT k FROM bench WHERE k >= %s AND k < %s", key_range).fetchall()
            }
        missing = [k for k in acked if k not in stored]
        if not missing:
            return
        assert time.monotonic() < deadline, f"{len(missing)} acknowledged writes are missing, e.g. {missing[:5]}"
        time.sleep(0.2)


def elections(cluster: harness.DuckraftClusterServer) -> int:
    """Leader elections the running nodes have observed, summed over nodes and groups."""
    total = 0
    for name in cluster.names:
        node = cluster.node(name)
        if not node.running:
            continue
        url = f"http://127.0.0.1:{node.http_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("duckraft_elections_observed_total"):
                    total += int(float(line.split()[-1]))
    return total


def failover_rounds(cluster: harness.DuckraftClusterServer, rounds: int) -> list[float]:
    times = []
    for r in range(rounds):
        cluster.wait_ready(cluster.names)
        leader = cluster.wait_leader("duckraft")
        survivor = next(n for n in cluster.names if n != leader)
        endpoint = cluster.node(survivor).endpoint
        conn = endpoint.connect(autocommit=True)
        conn.execute("INSERT INTO bench VALUES (%s, 'warm')", (9_000_000_000 + r * 1000,))
        killed_at = time.monotonic()
        cluster.kill_node(leader)
        key = 9_000_000_000 + r * 1000
        while True:
            key += 1
            try:
                conn.execute("INSERT INTO bench VALUES (%s, 'failover')", (key,))
                break
            except psycopg.OperationalError:
                conn = endpoint.connect(autocommit=True)
            except psycopg.Error:
                time.sleep(0.01)
            if time.monotonic() - killed_at > 60:
                raise RuntimeError("no write succeeded within 60 s of the leader kill")
        times.append(time.monotonic() - killed_at)
        conn.close()
        cluster.start_node(leader)
    cluster.wait_ready(cluster.names)
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", default="1,16,64")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--failovers", type=int, default=5)
    p.add_argument("--backends", default="postgres,duckraft-1,duckraft-3")
    p.add_argument("--tick-ms", type=int, default=None, help="Raft tick of the cluster (default: the binary's)")
    args = p.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    backends = args.backends.split(",")
    work = Path(tempfile.mkdtemp(prefix="duckraft-bench-"))
    results, failover = [], None
    try:
        for backend in backends:
            server, cluster = None, None
            if backend == "postgres":
                server, endpoint = harness.start_server("postgres")
                endpoints = [endpoint]
            elif backend == "duckraft-1":
                server, endpoint = harness.start_server("duckraft")
                endpoints = [endpoint]
            else:
                # The compatibility suite's cluster: 3 processes on loopback with mTLS.
                cluster = harness.DuckraftClusterServer(
                    3, base_dir=work / "cluster", rust_log="warn", tick_ms=args.tick_ms
                )
                cluster.start()
                endpoints = list(cluster.endpoint.members)
            try:
                with endpoints[0].connect(autocommit=True) as conn:
                    conn.execute("CREATE TABLE bench (k BIGINT PRIMARY KEY, v TEXT)")
                for i, n in enumerate(counts):
                    base = (i + 1) * 1_000_000_000
                    before = elections(cluster) if cluster is not None else None
                    result = run_load(endpoints, n, args.duration, base)
                    if cluster is not None:
                        # Load must not look like a dead leader: each one costs a failover.
                        result["elections"] = elections(cluster) - before
                    verify(endpoints[-1], result.pop("acked_keys"), (base, base + 1_000_000_000))
                    result["backend"] = backend
                    results.append(result)
                    print(json.dumps(result), flush=True)
                if cluster is not None and args.failovers:
                    times = failover_rounds(cluster, args.failovers)
                    failover = {
                        "rounds": len(times),
                        "p50_s": statistics.median(times),
                        "max_s": max(times),
                        "all_s": times,
                    }
                    print(json.dumps({"failover": failover}), flush=True)
            finally:
                if server is not None:
                    harness.stop_server(server)
                if cluster is not None:
                    code = harness.stop_server(cluster)
                    if code not in (0, None):
                        print(f"warning: cluster nodes exited {cluster.exit_codes} on SIGTERM", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    baseline = {r["clients"]: r["commits_per_s"] for r in results if r["backend"] == "postgres"}
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# Replicated write benchmark, {stamp}",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}. {build_kind(harness.duckraft_binary())} "
        f"(`{harness.duckraft_binary()}`; {f'Raft tick {args.tick_ms} ms' if args.tick_ms else 'default Raft tick'}). "
        "Single-row autocommit INSERT, "
        f"{args.duration:.0f} s per backend and client count; duckraft-3 clients spread over all nodes.",
        "",
        "| backend | clients | commits/s | p50 ms | p99 ms | failures | elections during load | vs PostgreSQL |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r["commits_per_s"] / baseline[r["clients"]] if baseline.get(r["clients"]) else None
        lines.append(
            f"| {r['backend']} | {r['clients']} | {r['commits_per_s']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['failures']} | {r.get('elections', '-')} | {f'{ratio:.2f}x' if ratio else '-'} |"
        )
    if failover:
        lines += [
            "",
            f"Failover (kill -9 of the catalog leader to the first acknowledged write through a survivor), "
            f"{failover['rounds']} rounds: p50 {failover['p50_s']:.2f} s, max {failover['max_s']:.2f} s.",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stamp}-replicated.md").write_text(text)
    (RESULTS_DIR / f"{stamp}-replicated.json").write_text(
        json.dumps({"results": results, "failover": failover}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
