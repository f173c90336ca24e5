"""One DuckDB client process: runs a DuckLake script or a commit loop, prints JSON.

Every DuckLake scenario and every benchmark client runs in its own process:
a crash or hang inside DuckDB cannot take pytest down with it (the parent
kills the process after a bounded timeout), and concurrent writers are real
separate clients, each with its own DuckLake catalog connections.

Input: one JSON object on stdin. Output: one JSON object on stdout.

``{"mode": "script", "uri": ..., "data_path": ..., "steps": [...]}``
    Steps run in order; each is a dict with ``op``:

    * ``attach``  — ATTACH the lake (``alias``, ``options`` optional).
    * ``exec``    — run ``sql``; any error fails the script.
    * ``query``   — run ``sql`` and record its rows under ``label``; rows are
      sorted unless ``ordered`` is true.
    * ``error``   — run ``sql``, which must fail; records ``label`` and the
      error class (not its text, which may legitimately differ).
    * ``files``   — record how many files match ``glob`` under the data path.
    * ``catalog`` — run ``sql`` through psycopg directly on the catalog
      database and record its sorted rows under ``label``.

    Output: ``{"results": [[label, [row, ...]], ...]}`` with each row a
    normalised text line (data path, conninfo, UUIDs replaced by tokens).

``{"mode": "writer", "uri": ..., "data_path": ..., "table": ..., "writer_id": n, ...}``
    Attaches, waits until ``start_at`` (epoch seconds), then commits
    ``rows_per_commit`` rows per INSERT until ``commits`` commits succeeded or
    ``duration_s`` elapsed, retrying a commit that fails with a conflict
    (``lakeclient.is_conflict``) at most ``max_attempts`` times. Output:
    acknowledged sequence numbers, per-commit latencies (first attempt to
    acknowledgement), attempt and error counts, and — with
    ``count_catalog_attempts`` — how many snapshot inserts DuckLake sent to the
    catalog (its internal conflict retries are that minus the commits).
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lakeclient  # noqa: E402

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
WRITER_MAX_ATTEMPTS_DEFAULT = 50
WRITER_BACKOFF_S = 0.01
WRITER_BACKOFF_MAX_S = 0.5
GO_TIMEOUT_S_DEFAULT = 300


class Normaliser:
    def __init__(self, job: dict):
        self.replacements = []
        if job.get("data_path"):
            dp = job["data_path"]
            self.replacements.append((dp, "<DATA>/"))
            self.replacements.append((dp.rstrip("/"), "<DATA>"))
        if job.get("uri"):
            self.replacements.append((job["uri"], "<URI>"))
            self.replacements.append((job["uri"].removeprefix("ducklake:postgres:"), "<CONNINFO>"))
        if job.get("dbname"):
            self.replacements.append((job["dbname"], "<DB>"))

    def value(self, v) -> str:
        s = v if isinstance(v, str) else repr(v)
        for old, new in self.replacements:
            s = s.replace(old, new)
        return UUID_RE.sub("<uuid>", s)

    def row(self, row) -> str:
        return " | ".join(self.value(v) for v in row)


def run_script(job: dict) -> dict:
    con = lakeclient.connect()
    norm = Normaliser(job)
    results: list[list] = []
    for index, step in enumerate(job["steps"]):
        op = step["op"]
        sql = step.get("sql", "")
        try:
            if op == "attach":
                lakeclient.attach(con, job["uri"], job["data_path"], step.get("alias", "lake"), step.get("options", ""))
            elif op == "exec":
                con.execute(sql)
            elif op == "query":
                rows = [norm.row(r) for r in con.execute(sql).fetchall()]
                if not step.get("ordered"):
                    rows.sort()
                results.append([step["label"], rows])
            elif op == "error":
                try:
                    con.execute(sql)
                except Exception as e:  # noqa: BLE001 - the class is the result
                    results.append([step["label"], [f"error {type(e).__name__}"]])
                else:
                    raise AssertionError(f"expected an error from: {sql}")
            elif op == "files":
                pattern = os.path.join(job["data_path"], step["glob"])
                results.append([step["label"], [str(len(glob.glob(pattern, recursive=True)))]])
            elif op == "catalog":
                import psycopg

                conninfo = job["uri"].removeprefix("ducklake:postgres:")
                with psycopg.connect(conninfo, autocommit=True) as pg:
                    rows = [norm.row(r) for r in pg.execute(sql).fetchall()]
                results.append([step["label"], sorted(rows)])
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:
            raise RuntimeError(f"step {index} ({op}) failed: {sql}\n{type(e).__name__}: {e}") from e
    con.close()
    return {"results": results}


def wait_for_go(job: dict) -> None:
    """Start together with the other writers: either at ``start_at`` (epoch
    seconds), or after announcing readiness in ``ready_file`` once ``go_file``
    exists (bounded by ``go_timeout_s``)."""
    if job.get("ready_file"):
        with open(job["ready_file"], "w") as f:
            f.write("ready\n")
        deadline = time.monotonic() + float(job.get("go_timeout_s", GO_TIMEOUT_S_DEFAULT))
        while not os.path.exists(job["go_file"]):
            if time.monotonic() > deadline:
                raise TimeoutError("no go signal from the coordinator")
            time.sleep(0.005)
        return
    start_at = float(job.get("start_at", 0))
    while time.time() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.time())))


def run_writer(job: dict) -> dict:
    con = lakeclient.connect()
    lakeclient.attach(con, job["uri"], job["data_path"], options=job.get("attach_options", ""))
    for name, value in job.get("settings", {}).items():
        con.execute(f"SET {name} = {value}")
    table = job["table"]
    writer_id = int(job["writer_id"])
    rows_per_commit = int(job.get("rows_per_commit", 3))
    commits_target = job.get("commits")
    duration_s = job.get("duration_s")
    max_attempts = int(job.get("max_attempts", WRITER_MAX_ATTEMPTS_DEFAULT))
    if commits_target is None and duration_s is None:
        raise ValueError("writer needs commits or duration_s")
    count_attempts = bool(job.get("count_catalog_attempts"))
    if count_attempts:
        # Every remote statement DuckLake sends is logged in memory; each commit
        # attempt inserts one ducklake_snapshot row, so attempts - commits is the
        # number of conflicts DuckLake retried internally.
        con.execute("CALL enable_logging('PostgresQueryLog')")
    wait_for_go(job)
    acknowledged: list[int] = []
    latencies_ms: list[float] = []
    conflicts = 0
    gave_up = 0
    errors: list[str] = []
    started = time.monotonic()
    deadline = started + duration_s if duration_s is not None else None
    seq = 0
    while True:
        if commits_target is not None and len(acknowledged) >= commits_target:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        values = ", ".join(f"({writer_id}, {seq}, {k})" for k in range(rows_per_commit))
        sql = f"INSERT INTO {table} VALUES {values}"
        attempt = 0
        t0 = time.perf_counter()  # latency spans client-side retries too
        while True:
            attempt += 1
            try:
                con.execute(sql)
            except Exception as e:  # noqa: BLE001 - classified below
                message = str(e)
                if lakeclient.is_conflict(message) and attempt < max_attempts:
                    conflicts += 1
                    time.sleep(min(WRITER_BACKOFF_MAX_S, WRITER_BACKOFF_S * attempt))
                    continue
                if lakeclient.is_conflict(message):
                    gave_up += 1
                else:
                    errors.append(f"{type(e).__name__}: {message}"[:500])
                break
            latencies_ms.append((time.perf_counter() - t0) * 1000.0)
            acknowledged.append(seq)
            break
        seq += 1
        if len(errors) > 5:
            break
    elapsed = time.monotonic() - started
    catalog_attempts = None
    if count_attempts:
        con.execute("CALL disable_logging()")
        catalog_attempts = con.execute(
            "SELECT count(*) FROM duckdb_logs() WHERE type = 'PostgresQueryLog' "
            "AND message LIKE '%INSERT INTO \"public\".ducklake_snapshot VALUES%'"
        ).fetchone()[0]
    con.close()
    return {
        "catalog_commit_attempts": catalog_attempts,
        "writer_id": writer_id,
        "acknowledged": acknowledged,
        "latencies_ms": latencies_ms,
        "attempted": seq,
        "conflict_retries": conflicts,
        "gave_up": gave_up,
        "errors": errors,
        "elapsed_s": elapsed,
    }


def main() -> int:
    job = json.load(sys.stdin)
    try:
        if job["mode"] == "script":
            out = run_script(job)
        elif job["mode"] == "writer":
            out = run_writer(job)
        else:
            raise ValueError(f"unknown mode {job['mode']!r}")
    except Exception:
        traceback.print_exc()
        return 1
    json.dump(out, sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
