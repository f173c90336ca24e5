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

``{"mode": "mutator", "uris": [...], "start": i, "data_path": ..., "writer_id": n, ...}``
    One writer of the cluster's concurrent-mutation workload
    (``test_cluster.py``). Attaches through ``uris[start]``, waits for the go
    signal, then commits typed DuckLake transactions: each inserts known,
    unique rows into ``lake.items`` and usually one marker row into
    ``lake.log`` inside BEGIN ... COMMIT, and some also UPDATE or DELETE rows
    this writer inserted earlier and knows to exist (every fourth is a single
    autocommit INSERT instead). It stops after ``txns`` acknowledged
    transactions, when ``stop_file`` exists, or at ``max_duration_s``.

    Every transaction's outcome is recorded with its operations:
    ``ack`` (COMMIT returned), ``failed`` (conflict retries exhausted: not
    applied), ``aborted`` (a statement before COMMIT failed: not applied) or
    ``uncertain`` (the COMMIT, or an autocommit statement, failed other than
    by a conflict, e.g. the connection was lost: applied 0 or 1 times). A
    conflict (``lakeclient.is_conflict``, SQLSTATE 40001, or DuckLake's
    exhausted internal retries) retries the whole transaction, at most
    ``max_attempts`` times. After any other error the writer reconnects
    through the next URI (a fresh DuckDB, bounded by ``reconnect_timeout_s``)
    and never touches rows of an uncertain transaction again. Outcomes are
    also appended to ``progress_file`` as they happen.

``{"mode": "attach_storm", "uris": [...], "start": i, "clients": n, ...}``
    ``clients`` threads, each with its own DuckDB instance, ATTACH the lake
    through ``uris[(start + i) % len(uris)]`` at once (after ``go_file``
    exists), then announce ``attached_file`` and hold every attachment open
    until ``release_file`` exists; then each attached client runs ``query``.
    Output: per client the node index, ATTACH time, and the error if any.
"""

from __future__ import annotations

import datetime
import decimal
import glob
import json
import os
import random
import re
import sys
import threading
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


# ---------------------------------------------------------------- mutator

MUTATOR_MAX_ATTEMPTS_DEFAULT = 30
MUTATOR_RECONNECT_TIMEOUT_S = 120
DAY0 = datetime.date(2024, 1, 1)
T0 = datetime.datetime(2024, 1, 1)
# The typed columns. With DuckLake's default data inlining these small commits
# keep their rows in the catalog (VARCHAR as bytea, TIMESTAMP as varchar, ...).
ITEMS_COLUMNS = ("writer", "seq", "k", "tag", "label", "amount", "day", "stamp", "flag")
LOG_COLUMNS = ("writer", "seq", "ops", "stamp", "note")
MUTATOR_DDL = [
    "CREATE TABLE lake.items (writer INTEGER, seq INTEGER, k INTEGER, tag BIGINT, label VARCHAR, "
    "amount DECIMAL(12,2), day DATE, stamp TIMESTAMP, flag BOOLEAN)",
    "CREATE TABLE lake.log (writer INTEGER, seq INTEGER, ops SMALLINT, stamp TIMESTAMP, note VARCHAR)",
]


CONNECTION_TROUBLE = ("connection", "connect to", "server closed", "terminat", "40003", "57p03", "may or may not")


def is_retryable_conflict(message: str) -> bool:
    """Definitely not committed, and worth retrying the whole transaction: a
    conflict (DuckLake's own rule, SQLSTATE 40001, or DuckLake's retries
    exhausted on conflicts). A message that also speaks of a lost connection
    or an unknown outcome (DuckLake says "... for conflict checking" when its
    catalog connection fails) is not treated as certain."""
    m = message.lower()
    conflict = lakeclient.is_conflict(message) or "40001" in m or "exceeded the maximum retry count" in m
    return conflict and not any(t in m for t in CONNECTION_TROUBLE)


def sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def op_sql(op: dict) -> str:
    table = f"lake.{op['table']}"
    if op["op"] == "insert":
        values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in op["rows"])
        return f"INSERT INTO {table} VALUES {values}"
    w, s, k = op["key"]
    where = f"writer = {w} AND seq = {s} AND k = {k}"
    if op["op"] == "update":
        return (
            f"UPDATE {table} SET tag = {int(op['tag'])}, label = {sql_literal(op['label'])}, "
            f"amount = amount + {op['amount_delta']}, flag = NOT flag WHERE {where}"
        )
    if op["op"] == "delete":
        return f"DELETE FROM {table} WHERE {where}"
    raise ValueError(f"unknown op {op!r}")


def timestamp(writer: int, seq: int) -> str:
    return (T0 + datetime.timedelta(hours=writer, seconds=seq * 61)).strftime("%Y-%m-%d %H:%M:%S")


def item_row(writer: int, seq: int, k: int) -> list:
    return [
        writer,
        seq,
        k,
        -(writer * 10**12 + seq * 1000 + k),
        f"w{writer}-s{seq}-k{k} é' ✓",
        f"{decimal.Decimal(writer * 100000 + seq * 100 + k) / 100:.2f}",
        (DAY0 + datetime.timedelta(days=seq * 3 + k)).isoformat(),
        timestamp(writer, seq),
        (seq + k) % 2 == 0,
    ]


def plan_txn(rng: random.Random, writer: int, seq: int, live: list) -> dict:
    """The operations of transaction ``seq``. ``live``: keys this writer knows to exist."""
    if seq % 4 == 3:  # a single autocommit INSERT: a DuckLake transaction of its own
        return {"autocommit": True, "ops": [{"op": "insert", "table": "items", "rows": [item_row(writer, seq, 0)]}]}
    n = 1 + seq % 3
    ops = [
        {"op": "insert", "table": "items", "rows": [item_row(writer, seq, k) for k in range(n)]},
    ]
    pool = list(live)
    if pool and rng.random() < 0.4:
        key = pool.pop(rng.randrange(len(pool)))
        ops.append(
            {"op": "update", "table": "items", "key": key, "tag": seq, "label": f"upd {seq}", "amount_delta": "1.25"}
        )
    if pool and rng.random() < 0.25:
        key = pool.pop(rng.randrange(len(pool)))
        ops.append({"op": "delete", "table": "items", "key": key})
    note = f"txn {writer}/{seq}"
    ops.append({"op": "insert", "table": "log", "rows": [[writer, seq, len(ops), timestamp(writer, seq), note]]})
    return {"autocommit": False, "ops": ops}


class LakeConnection:
    """A DuckDB instance attached to the lake through one of several nodes."""

    def __init__(self, job: dict):
        self.uris = job["uris"]
        self.index = int(job.get("start", 0)) % len(self.uris)
        self.data_path = job["data_path"]
        self.options = job.get("attach_options", "")
        self.settings = job.get("settings", {})
        self.con = None

    def open(self, timeout_s: float, rotate: bool) -> list[str]:
        """(Re)attach, trying the nodes in turn; returns the errors met on the way."""
        self.close()
        errors = []
        deadline = time.monotonic() + timeout_s
        while True:
            if rotate:
                self.index = (self.index + 1) % len(self.uris)
            rotate = True
            con = None
            try:
                con = lakeclient.connect()
                lakeclient.attach(con, self.uris[self.index], self.data_path, options=self.options)
                for name, value in self.settings.items():
                    con.execute(f"SET {name} = {value}")
                self.con = con
                return errors
            except Exception as e:  # noqa: BLE001 - a node may be down or electing
                errors.append(f"node {self.index}: {type(e).__name__}: {e}"[:300])
                if con is not None:
                    try:
                        con.close()
                    except Exception:  # noqa: BLE001
                        pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"could not re-attach within {timeout_s}s: {errors[-3:]}") from e
                time.sleep(0.5)

    def close(self) -> None:
        if self.con is not None:
            try:
                self.con.close()
            except Exception:  # noqa: BLE001 - the connection may be broken
                pass
            self.con = None


def run_mutator(job: dict) -> dict:
    writer = int(job["writer_id"])
    rng = random.Random(f"{job.get('seed', 0)}/{writer}")  # the plan
    jitter = random.Random(writer)  # retry back-off, kept apart from the plan
    target = job.get("txns")
    stop_file = job.get("stop_file")
    max_duration_s = float(job.get("max_duration_s", 300))
    max_attempts = int(job.get("max_attempts", MUTATOR_MAX_ATTEMPTS_DEFAULT))
    reconnect_timeout_s = float(job.get("reconnect_timeout_s", MUTATOR_RECONNECT_TIMEOUT_S))
    progress = open(job["progress_file"], "a") if job.get("progress_file") else None

    lake = LakeConnection(job)
    lake.open(reconnect_timeout_s, rotate=False)
    wait_for_go(job)
    started = time.monotonic()
    live: list = []  # keys this writer inserted, that exist for certain
    frozen: set = set()  # keys touched by an uncertain transaction: never touched again
    txns: list[dict] = []
    reconnects: list[dict] = []
    acked = 0
    seq = 0
    while True:
        if target is not None and acked >= target:
            break
        if stop_file and os.path.exists(stop_file):
            break
        if time.monotonic() - started > max_duration_s:
            break
        plan = plan_txn(rng, writer, seq, live)
        record = {"seq": seq, "autocommit": plan["autocommit"], "ops": plan["ops"], "attempts": 0, "conflicts": []}
        t0 = time.monotonic()
        while True:
            record["attempts"] += 1
            record["node"] = lake.index
            step = "statement"
            try:
                if plan["autocommit"]:
                    step = "commit"  # the statement is its own commit
                    lake.con.execute(op_sql(plan["ops"][0]))
                else:
                    lake.con.execute("BEGIN")
                    for op in plan["ops"]:
                        lake.con.execute(op_sql(op))
                    step = "commit"
                    lake.con.execute("COMMIT")
            except Exception as e:  # noqa: BLE001 - classified below
                message = f"{type(e).__name__}: {e}"
                if not plan["autocommit"]:
                    try:
                        lake.con.execute("ROLLBACK")
                    except Exception:  # noqa: BLE001 - nothing to roll back, or the connection is gone
                        pass
                if is_retryable_conflict(message):
                    record["conflicts"].append(message[:200])
                    if record["attempts"] < max_attempts:
                        time.sleep(min(0.5, 0.02 * record["attempts"]) * (0.5 + jitter.random()))
                        continue
                    record["outcome"] = "failed"
                else:
                    record["outcome"] = "uncertain" if step == "commit" else "aborted"
                record["error"] = clip(message)
                break
            record["outcome"] = "ack"
            break
        record["t_start"] = round(t0 - started, 3)
        record["t_end"] = round(time.monotonic() - started, 3)
        txns.append(record)
        touched = [tuple(op["key"]) for op in plan["ops"] if op["op"] in ("update", "delete")]
        inserted = [tuple(row[:3]) for op in plan["ops"] if op["op"] == "insert" and op["table"] == "items" for row in op["rows"]]
        if record["outcome"] == "ack":
            acked += 1
            deleted = {tuple(op["key"]) for op in plan["ops"] if op["op"] == "delete"}
            live = [k for k in live if tuple(k) not in deleted] + [list(k) for k in inserted]
        elif record["outcome"] == "uncertain":
            frozen.update(touched)
            frozen.update(inserted)
            live = [k for k in live if tuple(k) not in frozen]
        if progress is not None:
            progress.write(json.dumps({"writer": writer, "seq": seq, "outcome": record["outcome"], "t": record["t_end"]}) + "\n")
            progress.flush()
        if record["outcome"] in ("uncertain", "aborted"):
            # The connection may be gone (a node was killed): start over through the next node.
            before = lake.index
            errors = lake.open(reconnect_timeout_s, rotate=True)
            reconnects.append(
                {"t": round(time.monotonic() - started, 3), "from": before, "to": lake.index, "cause": record["error"][:300], "errors": errors[:5]}
            )
        seq += 1
    lake.close()
    if progress is not None:
        progress.close()
    return {
        "writer_id": writer,
        "txns": txns,
        "reconnects": reconnects,
        "elapsed_s": time.monotonic() - started,
    }


# ---------------------------------------------------------------- attach storm


def clip(message: str, head: int = 200, tail: int = 500) -> str:
    """Long DuckDB errors quote the whole failing query first; keep its start and the cause at the end."""
    return message if len(message) <= head + tail else f"{message[:head]} [...] {message[-tail:]}"


def run_attach_storm(job: dict) -> dict:
    uris = job["uris"]
    start = int(job.get("start", 0))
    n = int(job["clients"])
    # Every instance loads its extensions before the go signal, so the storm is ATTACH only.
    cons = [lakeclient.connect() for _ in range(n)]
    wait_for_go(job)
    clients = [{"node": (start + i) % len(uris)} for i in range(n)]

    def attach_one(i: int) -> None:
        t0 = time.perf_counter()
        try:
            lakeclient.attach(cons[i], uris[clients[i]["node"]], job["data_path"], options=job.get("attach_options", ""))
            clients[i]["ok"] = True
        except Exception as e:  # noqa: BLE001 - recorded and judged by the test
            clients[i]["ok"] = False
            clients[i]["error"] = clip(f"{type(e).__name__}: {e}")
        clients[i]["attach_ms"] = round((time.perf_counter() - t0) * 1000, 1)

    threads = [threading.Thread(target=attach_one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(job["attached_file"], "w") as f:
        f.write(json.dumps({"ok": sum(1 for c in clients if c["ok"])}) + "\n")
    deadline = time.monotonic() + float(job.get("go_timeout_s", GO_TIMEOUT_S_DEFAULT))
    while not os.path.exists(job["release_file"]):
        if time.monotonic() > deadline:
            raise TimeoutError("no release signal from the coordinator")
        time.sleep(0.05)
    for i, c in enumerate(clients):
        if c["ok"] and job.get("query"):
            try:
                c["rows"] = [list(map(str, r)) for r in cons[i].execute(job["query"]).fetchall()]
            except Exception as e:  # noqa: BLE001
                c["query_error"] = clip(f"{type(e).__name__}: {e}")
    for con in cons:
        try:
            con.close()
        except Exception:  # noqa: BLE001
            pass
    return {"clients": clients}


def main() -> int:
    job = json.load(sys.stdin)
    try:
        if job["mode"] == "script":
            out = run_script(job)
        elif job["mode"] == "writer":
            out = run_writer(job)
        elif job["mode"] == "mutator":
            out = run_mutator(job)
        elif job["mode"] == "attach_storm":
            out = run_attach_storm(job)
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
