"""Fixtures of the real-client compatibility suite.

* ``postgres_server`` / ``duckraft_server`` — one server of each kind per
  session, started lazily by the harness and stopped at the end. duckraft must
  exit 0 on SIGTERM; a missing binary is an error, never a skip.
* ``backend`` — parametrised over the selected backends (default: both);
  yields a ``Backend``: the endpoint plus a fresh database made with
  ``CREATE DATABASE`` for this test.
* ``differential`` — the oracle. ``differential(fn)`` runs ``fn(backend)`` and,
  on duckraft, also runs ``fn`` on a fresh PostgreSQL database (or reuses the
  result of this test's postgres run) and asserts the two results are equal.

Backend selection: ``DUCKRAFT_COMPAT_BACKENDS=postgres`` (or ``duckraft``, or
``postgres,duckraft``, the default), or pytest's ``-k postgres``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COMPAT_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(COMPAT_DIR))

import harness  # noqa: E402

ALL_BACKENDS = ("postgres", "duckraft")
RUNNER = COMPAT_DIR / "lake_runner.py"
RUNNER_TIMEOUT_S = 180


def selected_backends() -> list[str]:
    raw = os.environ.get("DUCKRAFT_COMPAT_BACKENDS", ",".join(ALL_BACKENDS))
    chosen = [b.strip() for b in raw.split(",") if b.strip()]
    unknown = [b for b in chosen if b not in ALL_BACKENDS]
    if unknown or not chosen:
        raise pytest.UsageError(f"DUCKRAFT_COMPAT_BACKENDS: unknown backends {unknown}; use {ALL_BACKENDS}")
    return chosen


def pytest_report_header(config):
    return [
        f"duckraft compat backends: {','.join(selected_backends())}",
        f"duckraft binary: {harness.duckraft_binary()} (its log is kept in {DUCKRAFT_LOG_COPY})",
    ]


# ---------------------------------------------------------------- servers


_running: dict[str, object] = {}  # backend name -> harness server object, while it runs
DUCKRAFT_LOG_COPY = Path(os.environ.get("TMPDIR", "/tmp")) / "duckraft-compat-last.log"


class _ServerFixture:
    def __init__(self, name: str):
        self.name = name
        self.server = None
        self.endpoint = None

    def start(self):
        self.server, self.endpoint = harness.start_server(self.name)
        _running[self.name] = self.server
        return self.endpoint

    def stop(self):
        _running.pop(self.name, None)
        if self.server is None:
            return None
        if isinstance(self.server, harness.DuckraftServer) and self.server.log_path:
            self.server.stop()
            try:  # keep the node's log after its data dir is gone
                shutil.copyfile(self.server.log_path, DUCKRAFT_LOG_COPY)
            except OSError:
                pass
        return harness.stop_server(self.server)


@pytest.fixture(scope="session")
def postgres_server():
    fixture = _ServerFixture("postgres")
    try:
        yield fixture.start()
    finally:
        fixture.stop()


@pytest.fixture(scope="session")
def duckraft_server():
    fixture = _ServerFixture("duckraft")
    try:
        yield fixture.start()
    finally:
        log_tail = fixture.server.log_tail() if fixture.server else ""
        code = fixture.stop()
    if code not in (0, None):
        pytest.fail(f"duckraft exited with {code} after SIGTERM (expected 0); log:\n{log_tail}")


# ---------------------------------------------------------------- backends


@dataclasses.dataclass
class Backend:
    """One backend as a test sees it: an endpoint plus a database of its own."""

    endpoint: harness.Endpoint
    dbname: str
    tmp: Path

    @property
    def name(self) -> str:
        return self.endpoint.name

    def connect(self, **kwargs):
        return self.endpoint.connect(self.dbname, **kwargs)

    @property
    def uri(self) -> str:
        return self.endpoint.ducklake_uri(self.dbname)

    def data_path(self, tag: str = "lake") -> str:
        p = self.tmp / f"{tag}-data"
        p.mkdir(parents=True, exist_ok=True)
        return str(p) + "/"

    def libpq_env(self):
        return self.endpoint.libpq_env(self.dbname)

    # -- DuckDB client processes

    def job(self, mode: str, data_path: str | None = None, **fields) -> dict:
        return {
            "mode": mode,
            "uri": self.uri,
            "dbname": self.dbname,
            "data_path": data_path or self.data_path(),
            **fields,
        }

    def run_lake(self, steps: list[dict], data_path: str | None = None, timeout_s: float = RUNNER_TIMEOUT_S):
        """Run a DuckLake script in a fresh DuckDB process; returns [[label, rows], ...]."""
        return run_job(self.job("script", data_path, steps=steps), timeout_s)["results"]


def run_job(job: dict, timeout_s: float = RUNNER_TIMEOUT_S) -> dict:
    proc = start_job(job)
    return finish_job(proc, job, timeout_s)


def start_job(job: dict) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(RUNNER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write(json.dumps(job))
    proc.stdin.close()
    proc.stdin = None  # communicate() must not touch the closed pipe
    return proc


def finish_job(proc: subprocess.Popen, job: dict, timeout_s: float = RUNNER_TIMEOUT_S) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"DuckDB client ({job['mode']}) timed out after {timeout_s}s\nstderr:\n{err[-4000:]}")
    if proc.returncode != 0:
        pytest.fail(f"DuckDB client ({job['mode']}) failed with {proc.returncode}\nstderr:\n{err[-6000:]}")
    return json.loads(out)


def _database_name(node) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", node.originalname.lower())
    return f"t_{name}"[:50]


@pytest.fixture(params=selected_backends())
def backend(request, tmp_path):
    endpoint = request.getfixturevalue(f"{request.param}_server")
    dbname = _database_name(request.node)
    endpoint.create_database(dbname)
    yield Backend(endpoint, dbname, tmp_path / request.param)
    server = _running.get(request.param)
    if isinstance(server, harness.DuckraftServer) and server.proc.poll() is not None:
        pytest.fail(
            f"duckraft died with exit code {server.proc.returncode} during this test; log:\n{server.log_tail(60)}"
        )
    try:
        endpoint.drop_database(dbname)
    except Exception as e:  # noqa: BLE001 - leftover databases are harmless
        print(f"note: DROP DATABASE {dbname} on {endpoint.name} failed: {e}")


# ---------------------------------------------------------------- differential

_postgres_results: dict[str, object] = {}


def render(result) -> str:
    """A stable text form of a result, for equality and for diffs."""
    if isinstance(result, str):
        return result
    if isinstance(result, list) and all(
        isinstance(x, list) and len(x) == 2 and isinstance(x[0], str) and isinstance(x[1], list) for x in result
    ):
        lines = []
        for label, rows in result:
            lines.append(f"== {label}")
            lines.extend(f"   {r}" if isinstance(r, str) else f"   {r!r}" for r in rows)
        return "\n".join(lines)
    return json.dumps(result, indent=1, sort_keys=True, default=repr)


def assert_same(reference, actual, what: str) -> None:
    ref_text, act_text = render(reference), render(actual)
    if ref_text != act_text:
        diff = "\n".join(
            difflib.unified_diff(ref_text.splitlines(), act_text.splitlines(), "postgres", "duckraft", lineterm="", n=2)
        )
        pytest.fail(f"differential mismatch in {what}: duckraft differs from PostgreSQL\n{diff}")


@pytest.fixture
def differential(request, backend, tmp_path_factory):
    """``differential(fn, key='')`` -> fn(backend), checked against PostgreSQL on duckraft."""

    def check(fn, key: str = ""):
        ident = f"{request.node.module.__name__}::{request.node.originalname}::{key}"
        result = fn(backend)
        if backend.name == "postgres":
            _postgres_results[ident] = result
            return result
        if ident not in _postgres_results:
            pg = request.getfixturevalue("postgres_server")
            dbname = backend.dbname
            pg.drop_database(dbname)
            pg.create_database(dbname)
            try:
                _postgres_results[ident] = fn(Backend(pg, dbname, tmp_path_factory.mktemp("pgref")))
            finally:
                try:
                    pg.drop_database(dbname)
                except Exception:  # noqa: BLE001
                    pass
        assert_same(_postgres_results[ident], result, ident)
        return result

    return check


def section(results, label):
    """The rows recorded under ``label`` in a script's results."""
    for lab, rows in results:
        if lab == label:
            return rows
    raise KeyError(f"no result labelled {label!r}; have {[lab for lab, _ in results]}")


def pytest_collection_modifyitems(config, items):
    """Mark the known duckraft gaps (compat/known_gaps.py) as strict expected failures."""
    from known_gaps import KNOWN_GAPS

    for item in items:
        key = item.nodeid.split("compat/", 1)[-1]
        reason = KNOWN_GAPS.get(key)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"known duckraft gap: {reason}", strict=True))
