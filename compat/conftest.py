"""Fixtures of the real-client compatibility suite.

* ``postgres_server`` / ``duckraft_server`` / ``cluster_server`` — one server
  of each kind per session, started lazily by the harness and stopped at the
  end. duckraft (every node of the 3-node cluster) must exit 0 on SIGTERM; a
  missing binary is an error, never a skip.
* ``backend`` — parametrised over the selected backends (default: all three);
  yields a ``Backend``: the endpoint plus a fresh database made with
  ``CREATE DATABASE`` for this test. On the cluster the database is created
  through node 1 and the test starts once every node accepts logins to it;
  every connection and every DuckDB client process of the test then goes to
  the next node, round-robin.
* ``differential`` — the oracle. ``differential(fn)`` runs ``fn(backend)`` and,
  on duckraft and on the cluster, also runs ``fn`` on a fresh PostgreSQL
  database (or reuses the result of this test's postgres run) and asserts the
  two results are equal. On the cluster the result must also equal the
  standalone duckraft result of the same test when that ran in this session.

Backend selection: ``DUCKRAFT_COMPAT_BACKENDS=postgres`` (or any
comma-separated subset of ``postgres,duckraft,cluster``, the default), or
pytest's ``-k postgres`` / ``-k cluster``. Tests that need the cluster itself
(``test_cluster.py``, marked ``cluster_only``) are deselected when the
cluster backend is not selected.
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

ALL_BACKENDS = ("postgres", "duckraft", "cluster")
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
        f"duckraft binary: {harness.duckraft_binary()} (its log is kept in {DUCKRAFT_LOG_COPY}, "
        f"the cluster's in {CLUSTER_LOG_COPY.format(node='<node>')})",
    ]


# ---------------------------------------------------------------- servers


_running: dict[str, object] = {}  # backend name -> harness server object, while it runs
DUCKRAFT_LOG_COPY = Path(os.environ.get("TMPDIR", "/tmp")) / "duckraft-compat-last.log"
CLUSTER_LOG_COPY = str(Path(os.environ.get("TMPDIR", "/tmp")) / "duckraft-compat-last-cluster-{node}.log")


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
        if isinstance(self.server, harness.DuckraftClusterServer):
            self.server.stop()
            for node in self.server.nodes.values():
                try:
                    shutil.copyfile(node.log_path, CLUSTER_LOG_COPY.format(node=node.name))
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


@pytest.fixture(scope="session")
def cluster_server():
    fixture = _ServerFixture("cluster")
    try:
        yield fixture.start()
    finally:
        log_tail = fixture.server.log_tail() if fixture.server else ""
        code = fixture.stop()
        codes = fixture.server.exit_codes if fixture.server else {}
        earlier = fixture.server.bad_exits if fixture.server else []
    if code not in (0, None) or earlier:
        pytest.fail(
            f"a cluster node did not exit 0 after SIGTERM: {codes}; earlier: {earlier}; logs:\n{log_tail}"
        )


def running_server(name: str):
    """The harness server object of a started backend (for node control in test_cluster.py)."""
    return _running.get(name)


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


# A name is never reused on the cluster: its DROP DATABASE at the end of a
# test is refused (55006) while the test's sessions still linger on the
# proposing node, and a leftover must not collide with the next test's
# CREATE DATABASE. The second parametrisation of a test gets a suffix.
# Results never depend on the name (lake_runner.py replaces it with <DB>).
_cluster_dbnames: set[str] = set()


def unique_cluster_dbname(base: str) -> str:
    name, n = base, 1
    while name in _cluster_dbnames:
        n += 1
        name = f"{base}_{n}"
    _cluster_dbnames.add(name)
    return name


CLUSTER_HEAL_TIMEOUT_S = 30


def check_server_alive(name: str) -> None:
    """Fail the test if a duckraft process died during it.

    For the cluster, after every test: nodes a test killed on purpose are
    restarted; if a node then is not ready (crashed, degraded, no leader)
    within CLUSTER_HEAL_TIMEOUT_S, the test fails and the cluster is replaced
    by a fresh one on the same ports, so one broken test does not fail every
    later one."""
    server = _running.get(name)
    if isinstance(server, harness.DuckraftServer) and server.proc.poll() is not None:
        pytest.fail(
            f"duckraft died with exit code {server.proc.returncode} during this test; log:\n{server.log_tail(60)}"
        )
    if isinstance(server, harness.DuckraftClusterServer):
        dead = server.unexpected_exits()
        problem = f"cluster nodes died during this test: {dead}" if dead else None
        for node in server.nodes.values():
            if not node.running:
                server.start_node(node.name)
        try:
            server.wait_ready(server.names, CLUSTER_HEAL_TIMEOUT_S)
        except harness.HarnessError:
            problem = problem or f"cluster not ready after this test: {server.health()}"
        if problem:
            logs = server.log_tail(40)
            server.reset()
            pytest.fail(f"{problem} (the cluster was replaced by a fresh one); logs:\n{logs}")


@pytest.fixture(params=selected_backends())
def backend(request, tmp_path):
    endpoint = request.getfixturevalue(f"{request.param}_server")
    dbname = _database_name(request.node)
    if request.param == "cluster":
        dbname = unique_cluster_dbname(dbname)
    endpoint.create_database(dbname)
    yield Backend(endpoint, dbname, tmp_path / request.param)
    check_server_alive(request.param)
    try:
        endpoint.drop_database(dbname)
    except Exception as e:  # noqa: BLE001 - leftover databases are harmless
        print(f"note: DROP DATABASE {dbname} on {endpoint.name} failed: {e}")


# ---------------------------------------------------------------- differential

_postgres_results: dict[str, object] = {}
_duckraft_results: dict[str, object] = {}  # standalone duckraft, compared with the cluster


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


def assert_same(reference, actual, what: str, ref_name: str = "postgres", act_name: str = "duckraft") -> None:
    ref_text, act_text = render(reference), render(actual)
    if ref_text != act_text:
        diff = "\n".join(
            difflib.unified_diff(ref_text.splitlines(), act_text.splitlines(), ref_name, act_name, lineterm="", n=2)
        )
        labels = {"postgres": "PostgreSQL", "duckraft": "standalone duckraft", "cluster": "the 3-node cluster"}
        pytest.fail(
            f"differential mismatch in {what}: {labels.get(act_name, act_name)} differs from "
            f"{labels.get(ref_name, ref_name)}\n{diff}"
        )


@pytest.fixture
def differential(request, backend, tmp_path_factory):
    """``differential(fn, key='')`` -> fn(backend), checked against PostgreSQL on
    duckraft and on the cluster, and on the cluster also against standalone
    duckraft when that result exists."""

    def check(fn, key: str = ""):
        ident = f"{request.node.module.__name__}::{request.node.originalname}::{key}"
        result = fn(backend)
        if backend.name == "postgres":
            _postgres_results[ident] = result
            return result
        if backend.name == "duckraft":
            _duckraft_results[ident] = result
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
        if backend.name == "cluster" and ident in _duckraft_results:
            # Cheap: the standalone run of this test already happened in this session.
            # Checked first: a difference here is the replication layer's, and it
            # fails the test even where a known gap of the shared SQL layer
            # marks it as an expected failure (see pytest_runtest_makereport).
            if render(_duckraft_results[ident]) != render(result):
                request.node.replication_mismatch = True
            assert_same(_duckraft_results[ident], result, ident, "duckraft", "cluster")
        assert_same(_postgres_results[ident], result, ident, "postgres", backend.name)
        return result

    return check


def section(results, label):
    """The rows recorded under ``label`` in a script's results."""
    for lab, rows in results:
        if lab == label:
            return rows
    raise KeyError(f"no result labelled {label!r}; have {[lab for lab, _ in results]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A known gap is shared by the cluster only if the cluster gives the same
    answer as standalone duckraft: a cluster test whose result differed from
    the standalone one fails even when its known gap marks it xfail."""
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and getattr(item, "replication_mismatch", False) and hasattr(report, "wasxfail"):
        reason = report.wasxfail
        del report.wasxfail
        report.outcome = "failed"
        report.longrepr = item.repr_failure(call.excinfo) if call.excinfo else None
        report.sections.append(
            ("replication mismatch", f"not the known shared gap ({reason}): the cluster differs from standalone duckraft")
        )


def pytest_configure(config):
    config.addinivalue_line("markers", "cluster_only: needs the 3-node cluster backend (test_cluster.py)")


def pytest_collection_modifyitems(config, items):
    """Mark the known duckraft gaps (compat/known_gaps.py) as strict expected
    failures; run the cluster-only tests last, or deselect them when the
    cluster is not selected."""
    from known_gaps import gap_for

    cluster_selected = "cluster" in selected_backends()
    keep, last, dropped = [], [], []
    for item in items:
        if item.get_closest_marker("cluster_only"):
            if not cluster_selected:
                dropped.append(item)
                continue
            last.append(item)  # after the differential scenarios, which are the simpler signal
        else:
            keep.append(item)
        key = item.nodeid.split("compat/", 1)[-1]
        reason = gap_for(key)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"known duckraft gap: {reason}", strict=True))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep + last
