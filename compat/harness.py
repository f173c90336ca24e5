"""Start and stop the two servers the compatibility suite and the benchmark compare.

Both servers are started the same way for every consumer (pytest fixtures in
``conftest.py`` and ``bench/ducklake_commit_bench.py``):

* ``PostgresServer`` — a throw-away PostgreSQL 15 cluster in a temp dir, on a
  free loopback port, with ``fsync=on`` and ``synchronous_commit=on`` and
  SCRAM-SHA-256 password authentication for the superuser ``duckraft``.
* ``DuckraftServer`` — the duckraft binary (``$DUCKRAFT_BIN``, else
  ``${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}/debug/duckraft``) with a
  fresh data dir and the same user name and password.
* ``DuckraftClusterServer`` — three ``duckraft serve --node-id ...`` processes
  of that binary on loopback, with mutual TLS between them (certificates from
  ``duckraft certs``), each with its own PostgreSQL, peer and HTTP status port.
  Ready when every node answers ``/readyz`` with 200 and accepts a login.
  Single nodes can be killed (SIGKILL) and restarted on the same ports and
  data dir.

All expose an ``Endpoint`` so that callers never care which one they talk to.
The cluster's ``ClusterEndpoint`` hands out its nodes round-robin: every
``connect()``, ``conninfo()``, ``ducklake_uri()`` and ``libpq_env()`` goes to
the next node, so consecutive client connections and processes land on
different nodes.

Invariants:
  * Every server started here is stopped by its ``stop()`` (the fixtures and
    the benchmark call it in ``finally``); nothing is left listening.
  * A missing binary raises ``HarnessError`` — the suite fails, it never skips.
  * Every wait is bounded (``*_timeout_s``).
  * duckraft (every node of a cluster) is stopped with SIGTERM and must exit 0;
    a node a test killed on purpose (``kill_node``) and did not restart is
    the only exception.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import signal
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

USER = "duckraft"
PASSWORD = "secret"

PG_BIN_DIR = Path(os.environ.get("DUCKRAFT_PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))
PG_START_TIMEOUT_S = 60
DUCKRAFT_READY_TIMEOUT_S = 30
CLUSTER_READY_TIMEOUT_S = 90  # three nodes start, elect leaders for every group, catch up
CLUSTER_SIZE = 3
STOP_TIMEOUT_S = 30
HTTP_TIMEOUT_S = 5
# A database created through one node is visible on the others once they
# applied the control-plane entry; how long a caller waits for that.
CATALOG_VISIBLE_TIMEOUT_S = 30
# DuckLake keeps a small pool of connections per client process; 16 benchmark
# clients plus the test suite's own connections fit comfortably.
PG_MAX_CONNECTIONS = 300


class HarnessError(RuntimeError):
    """A server could not be started or stopped. Always fatal to the run."""


def free_port() -> int:
    """A free loopback port below Linux's ephemeral range (32768 and up), so
    that no outgoing connection (peers reconnect all the time) can take it
    between this check and the server's bind."""
    for _ in range(1000):
        port = random.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise HarnessError("no free loopback port in 20000..32000")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one server. ``name`` is 'postgres', 'duckraft',
    'cluster' (a ``ClusterEndpoint``) or 'cluster-n1'... (one node of it)."""

    name: str
    host: str
    port: int
    user: str
    password: str
    admin_db: str  # database that always exists: 'postgres' or 'duckraft'
    # SQL dialect behind the wire: 'postgres', or 'duckdb' for duckraft. Only
    # tests that must send backend-specific SQL (a long query to cancel) look.
    dialect: str = "postgres"

    def pick(self) -> "Endpoint":
        """The single server the next client should use (a cluster rotates)."""
        return self

    @property
    def members(self) -> tuple["Endpoint", ...]:
        """Every node behind this endpoint: one for a single server."""
        return (self,)

    def conninfo(self, dbname: str | None = None) -> str:
        return (
            f"host={self.host} port={self.port} dbname={dbname or self.admin_db} "
            f"user={self.user} password={self.password}"
        )

    def connect(self, dbname: str | None = None, **kwargs) -> psycopg.Connection:
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=dbname or self.admin_db,
            user=self.user,
            password=self.password,
            **kwargs,
        )

    def create_database(self, dbname: str) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')

    def drop_database(self, dbname: str) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')

    def ducklake_uri(self, dbname: str) -> str:
        return f"ducklake:postgres:{self.conninfo(dbname)}"

    def libpq_env(self, dbname: str | None = None) -> dict[str, str]:
        """Environment for libpq programs (psql) reaching this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            PGHOST=self.host,
            PGPORT=str(self.port),
            PGUSER=self.user,
            PGPASSWORD=self.password,
            PGDATABASE=dbname or self.admin_db,
            PGCONNECT_TIMEOUT="10",
            PGSSLMODE="disable",
            PGTZ="UTC",
            PSQLRC="/dev/null",
            LC_ALL="C.UTF-8",
        )
        return env


@dataclasses.dataclass(frozen=True)
class ClusterEndpoint(Endpoint):
    """A cluster behind one name: its nodes, handed out round-robin.

    Every ``connect()``, ``conninfo()``, ``ducklake_uri()`` and ``libpq_env()``
    goes to the next node, so consecutive connections and client processes
    land on different nodes. ``host``/``port`` are node 1's, for the few
    callers that need one fixed address. ``create_database`` goes through
    node 1 (the control-plane group orders it) and returns once every node
    accepts a login to the new database.
    """

    nodes: tuple[Endpoint, ...] = ()
    _turn: itertools.count = dataclasses.field(default_factory=itertools.count, compare=False, repr=False)

    def pick(self) -> Endpoint:
        return self.nodes[next(self._turn) % len(self.nodes)]

    @property
    def members(self) -> tuple[Endpoint, ...]:
        return self.nodes

    def conninfo(self, dbname: str | None = None) -> str:
        return self.pick().conninfo(dbname)

    def connect(self, dbname: str | None = None, **kwargs) -> psycopg.Connection:
        return self.pick().connect(dbname, **kwargs)

    def ducklake_uri(self, dbname: str) -> str:
        return self.pick().ducklake_uri(dbname)

    def libpq_env(self, dbname: str | None = None) -> dict[str, str]:
        return self.pick().libpq_env(dbname)

    def create_database(self, dbname: str) -> None:
        self.nodes[0].create_database(dbname)
        self.wait_database_visible(dbname)

    def drop_database(self, dbname: str) -> None:
        self.nodes[0].drop_database(dbname)

    def wait_database_visible(self, dbname: str, timeout_s: float = CATALOG_VISIBLE_TIMEOUT_S) -> None:
        """Bounded: until a login to ``dbname`` and ``SELECT 1`` work on every node."""
        deadline = time.monotonic() + timeout_s
        for node in self.nodes:
            while True:
                try:
                    with node.connect(dbname, connect_timeout=3) as conn:
                        conn.execute("SELECT 1").fetchone()
                    break
                except psycopg.Error as e:
                    if time.monotonic() > deadline:
                        raise HarnessError(
                            f"database {dbname!r} not visible on {node.name} (port {node.port}) "
                            f"{timeout_s}s after CREATE DATABASE: {e}"
                        ) from e
                    time.sleep(0.1)


def _as_postgres_user(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the OS user 'postgres'."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class PostgresServer:
    """A private PostgreSQL 15 cluster: durable settings, SCRAM auth, loopback only."""

    def __init__(self, base_dir: Path | None = None, port: int | None = None):
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="duckraft-compat-pg-"))
        self.data_dir = self.base_dir / "pgdata"
        self.log_path = self.base_dir / "postgres.log"
        self.socket_dir = self.base_dir / "sockets"
        self.port = port or free_port()
        self.endpoint = Endpoint("postgres", "127.0.0.1", self.port, USER, PASSWORD, "postgres")
        self._started = False

    def _check_binaries(self) -> None:
        missing = [b for b in ("initdb", "pg_ctl", "postgres") if not (PG_BIN_DIR / b).exists()]
        if missing:
            raise HarnessError(
                f"PostgreSQL 15 binaries {missing} not found in {PG_BIN_DIR}. "
                "Install them with `apt-get install -y postgresql-15` (or set DUCKRAFT_PG_BIN_DIR); "
                "the compatibility suite needs a real PostgreSQL as its oracle."
            )

    def start(self) -> Endpoint:
        self._check_binaries()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o755)
        self.data_dir.mkdir()
        self.socket_dir.mkdir()
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        self.log_path.touch()
        if os.geteuid() == 0:
            for p in (self.data_dir, self.socket_dir, pwfile, self.log_path):
                shutil.chown(p, "postgres", "postgres")
        os.chmod(self.data_dir, 0o700)
        run = subprocess.run(
            _as_postgres_user(
                [
                    str(PG_BIN_DIR / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=PG_START_TIMEOUT_S,
        )
        if run.returncode != 0:
            raise HarnessError(f"initdb failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        pwfile.unlink()
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# duckraft compat/bench harness\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                f"max_connections = {PG_MAX_CONNECTIONS}\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
                "full_page_writes = on\n"
                "password_encryption = 'scram-sha-256'\n"
                "timezone = 'UTC'\n"
                "log_timezone = 'UTC'\n"
                "shared_buffers = '128MB'\n"
            )
        if os.geteuid() == 0:
            shutil.chown(self.data_dir / "postgresql.conf", "postgres", "postgres")
        run = subprocess.run(
            _as_postgres_user(
                [
                    str(PG_BIN_DIR / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    str(PG_START_TIMEOUT_S),
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=PG_START_TIMEOUT_S + 10,
        )
        if run.returncode != 0:
            raise HarnessError(
                f"pg_ctl start failed ({run.returncode}):\n{run.stdout}\n{run.stderr}\nlog:\n{_tail(self.log_path)}"
            )
        self._started = True
        _wait_until_ready(self.endpoint, PG_START_TIMEOUT_S, lambda: None, self.log_path)
        return self.endpoint

    def stop(self) -> None:
        if self._started:
            subprocess.run(
                _as_postgres_user([str(PG_BIN_DIR / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                text=True,
                timeout=STOP_TIMEOUT_S + 10,
            )
            self._started = False
        shutil.rmtree(self.base_dir, ignore_errors=True)


def duckraft_binary() -> Path:
    explicit = os.environ.get("DUCKRAFT_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR") or "/var/tmp/duckraft-target"
    return Path(target) / "debug" / "duckraft"


class DuckraftServer:
    """One duckraft node on a free loopback port with a fresh data dir."""

    def __init__(self, base_dir: Path | None = None, binary: Path | None = None):
        self.binary = Path(binary or duckraft_binary())
        self.base_dir = Path(base_dir) if base_dir else None  # a temp dir, made by start()
        self.data_dir: Path | None = None
        self.log_path: Path | None = None
        self.port = free_port()
        # The self-test stand-in (compat/selftest/fake_duckraft.py) is PostgreSQL underneath.
        dialect = "postgres" if self.binary.suffix == ".py" else "duckdb"
        self.endpoint = Endpoint("duckraft", "127.0.0.1", self.port, USER, PASSWORD, "duckraft", dialect)
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None

    def start(self) -> Endpoint:
        runnable = self.binary.suffix == ".py" or os.access(self.binary, os.X_OK)
        if not self.binary.is_file() or not runnable:
            raise HarnessError(
                f"duckraft binary not found at {self.binary}. Build it first "
                "(`cargo build` with CARGO_TARGET_DIR, default /var/tmp/duckraft-target) or set "
                "DUCKRAFT_BIN. To run only the PostgreSQL half: DUCKRAFT_COMPAT_BACKENDS=postgres for the "
                "compatibility suite, --backends postgres for the benchmark."
            )
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="duckraft-compat-node-"))
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "duckraft.log"
        env = dict(os.environ)
        env["DUCKRAFT_PASSWORD"] = PASSWORD
        env.setdefault("RUST_LOG", "info")
        log = open(self.log_path, "ab")
        # A Python stand-in (compat/selftest/fake_duckraft.py) runs under this interpreter.
        launcher = [sys.executable] if self.binary.suffix == ".py" else []
        self.proc = subprocess.Popen(
            [
                *launcher,
                str(self.binary),
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--pg-listen",
                f"127.0.0.1:{self.port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()

        def check_alive() -> None:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"duckraft exited with {self.proc.returncode} during startup; log:\n{_tail(self.log_path)}"
                )

        try:
            _wait_until_ready(self.endpoint, DUCKRAFT_READY_TIMEOUT_S, check_alive, self.log_path)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def stop(self) -> int | None:
        """SIGTERM, wait (bounded), SIGKILL if it hangs. Returns the exit code."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self.proc is not None:
            self.exit_code = self.proc.returncode
        return self.exit_code

    def cleanup(self) -> None:
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines) if self.log_path else "(not started)"


@dataclasses.dataclass
class ClusterNode:
    """One member of a ``DuckraftClusterServer``: fixed ports and data dir across restarts."""

    name: str
    data_dir: Path
    log_path: Path
    pg_port: int
    peer_port: int
    http_port: int
    endpoint: Endpoint
    proc: subprocess.Popen | None = None
    # Killed by kill_node() on purpose and not restarted: not an unexpected exit.
    killed: bool = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running else None


class DuckraftClusterServer:
    """A ``size``-node duckraft cluster of real processes on loopback with mTLS.

    ``start()`` writes a CA and node certificates with ``duckraft certs``,
    starts every node with ``duckraft serve --node-id ... --peers ...
    --peer-listen ... --http-listen ... --tls-dir ...`` and waits (bounded)
    until every node's ``/readyz`` answers 200 and a psycopg login works.
    ``stop()`` sends SIGTERM to every running node; each must exit 0.
    """

    def __init__(
        self,
        size: int = CLUSTER_SIZE,
        base_dir: Path | None = None,
        binary: Path | None = None,
        max_connections: int | None = None,
        # Session start/end lines of 200 clients would bury everything else.
        rust_log: str = "info,duckraft_pgwire::connection=warn",
        tick_ms: int | None = None,
    ):
        self.binary = Path(binary or duckraft_binary())
        self.tick_ms = tick_ms
        self.base_dir = Path(base_dir) if base_dir else None  # a temp dir, made by start()
        self.size = size
        self.max_connections = max_connections
        self.rust_log = rust_log
        self.names = [f"n{i + 1}" for i in range(size)]
        self.nodes: dict[str, ClusterNode] = {}
        ports = {name: (free_port(), free_port(), free_port()) for name in self.names}
        node_endpoints = tuple(
            Endpoint(f"cluster-{name}", "127.0.0.1", ports[name][0], USER, PASSWORD, "duckraft", "duckdb")
            for name in self.names
        )
        self.endpoint = ClusterEndpoint(
            "cluster", "127.0.0.1", node_endpoints[0].port, USER, PASSWORD, "duckraft", "duckdb", nodes=node_endpoints
        )
        self._ports = ports
        self.exit_codes: dict[str, int | None] = {}
        self.exit_code: int | None = None
        # Exit codes of earlier incarnations (see reset()) that were not 0.
        self.bad_exits: list[str] = []

    # -- lifecycle

    def start(self) -> ClusterEndpoint:
        if self.binary.suffix == ".py":
            raise HarnessError(
                f"{self.binary} is the self-test stand-in; it cannot form a cluster. "
                "Run the self-test with DUCKRAFT_COMPAT_BACKENDS=postgres,duckraft."
            )
        if not self.binary.is_file() or not os.access(self.binary, os.X_OK):
            raise HarnessError(
                f"duckraft binary not found at {self.binary}. Build it first "
                "(`cargo build` with CARGO_TARGET_DIR, default /var/tmp/duckraft-target) or set "
                "DUCKRAFT_BIN. To leave the cluster out: DUCKRAFT_COMPAT_BACKENDS=postgres,duckraft."
            )
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="duckraft-compat-cluster-"))
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(self.names):
            pg, peer, http = self._ports[name]
            self.nodes[name] = ClusterNode(
                name=name,
                data_dir=self.base_dir / name,
                log_path=self.base_dir / f"{name}.log",
                pg_port=pg,
                peer_port=peer,
                http_port=http,
                endpoint=self.endpoint.nodes[i],
            )
        try:
            run = subprocess.run(
                [str(self.binary), "certs", "--out", str(self.certs_dir), "--nodes", ",".join(self.names)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if run.returncode != 0:
                raise HarnessError(f"duckraft certs failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
            for name in self.names:
                self.start_node(name)
            self.wait_ready(self.names, CLUSTER_READY_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    @property
    def certs_dir(self) -> Path:
        return self.base_dir / "certs"

    def node(self, name_or_index: str | int) -> ClusterNode:
        if isinstance(name_or_index, int):
            return self.nodes[self.names[name_or_index]]
        return self.nodes[name_or_index]

    def start_node(self, name: str) -> None:
        """Start (or restart) one node on its ports and data dir; does not wait."""
        node = self.nodes[name]
        if node.running:
            raise HarnessError(f"{name} is already running (pid {node.proc.pid})")
        peers = ",".join(f"{n}=127.0.0.1:{self.nodes[n].peer_port}" for n in self.names)
        argv = [
            str(self.binary),
            "serve",
            "--node-id",
            name,
            "--data-dir",
            str(node.data_dir),
            "--pg-listen",
            f"127.0.0.1:{node.pg_port}",
            "--peer-listen",
            f"127.0.0.1:{node.peer_port}",
            "--http-listen",
            f"127.0.0.1:{node.http_port}",
            "--peers",
            peers,
            "--tls-dir",
            str(self.certs_dir),
        ]
        if self.max_connections is not None:
            argv += ["--max-connections", str(self.max_connections)]
        if self.tick_ms is not None:
            argv += ["--tick-ms", str(self.tick_ms)]
        env = dict(os.environ)
        env["DUCKRAFT_PASSWORD"] = PASSWORD
        env["RUST_LOG"] = os.environ.get("RUST_LOG", self.rust_log)
        env.setdefault("NO_COLOR", "1")
        with open(node.log_path, "ab") as log:
            log.write(f"\n==== harness: starting {name} at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            node.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        node.killed = False

    def kill_node(self, name: str) -> None:
        """SIGKILL one node (a crash); it stays down until restart_node()."""
        node = self.nodes[name]
        if node.proc is not None and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(timeout=STOP_TIMEOUT_S)
        node.killed = True

    def stop_node(self, name: str) -> int | None:
        """SIGTERM one node and wait (bounded; SIGKILL if it hangs); returns its exit code."""
        node = self.nodes[name]
        if node.proc is None:
            return None
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
            try:
                node.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait(timeout=STOP_TIMEOUT_S)
        node.killed = True  # stopped on purpose: not an unexpected exit
        return node.proc.returncode

    def restart_node(self, name: str, timeout_s: float = CLUSTER_READY_TIMEOUT_S) -> None:
        self.start_node(name)
        self.wait_ready([name], timeout_s)

    def running_names(self) -> list[str]:
        return [n for n in self.names if self.nodes.get(n) is not None and self.nodes[n].running]

    def unexpected_exits(self) -> dict[str, int]:
        """Nodes whose process ended although nobody killed or stopped it."""
        return {
            n.name: n.proc.returncode
            for n in self.nodes.values()
            if n.proc is not None and n.proc.poll() is not None and not n.killed
        }

    def stop(self) -> int | None:
        """SIGTERM every running node at once, wait (bounded), SIGKILL a hung one.

        Returns 0 when every node exited 0, else the first other exit code
        (a node that crashed earlier counts; one killed on purpose does not).
        The codes per node are in ``exit_codes``.
        """
        stopping = [n for n in self.nodes.values() if n.running]
        for node in stopping:
            node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for node in stopping:
            try:
                node.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait(timeout=STOP_TIMEOUT_S)
                with open(node.log_path, "ab") as log:
                    log.write(f"\n==== harness: {node.name} ignored SIGTERM for {STOP_TIMEOUT_S}s; killed\n".encode())
        codes = {}
        for node in self.nodes.values():
            if node.proc is not None and not node.killed:
                codes[node.name] = node.proc.returncode
        self.exit_codes = codes
        if codes:
            bad = [c for c in codes.values() if c != 0]
            self.exit_code = bad[0] if bad else 0
        return self.exit_code

    def cleanup(self) -> None:
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def health(self) -> dict[str, str]:
        """Each node's state in a word or a line: 'ready', 'down', or /readyz's reason."""
        out = {}
        for name in self.names:
            if not self.nodes[name].running:
                out[name] = "down"
                continue
            answer = self.http(name, "/readyz")
            out[name] = "no answer" if answer is None else answer[1].strip() if answer[0] != 200 else "ready"
        return out

    def reset(self) -> None:
        """Replace every node by a fresh one on the same ports (new data dirs,
        same certificates), so the endpoint stays valid: for when a test left
        the cluster unusable (a node degraded). Exit codes other than 0 on the
        way are kept in ``bad_exits``."""
        code = self.stop()
        if code not in (0, None):
            self.bad_exits.append(f"before a reset: {self.exit_codes}")
        for node in self.nodes.values():
            with open(node.log_path, "ab") as log:
                log.write(f"\n==== harness: reset, {node.name}'s data dir wiped\n".encode())
            shutil.rmtree(node.data_dir, ignore_errors=True)
            node.proc = None
            node.killed = False
        self.exit_code = None
        try:
            for name in self.names:
                self.start_node(name)
            self.wait_ready(self.names, CLUSTER_READY_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 40) -> str:
        if not self.nodes:
            return "(not started)"
        return "\n".join(f"---- {n.name} ({n.log_path})\n{_tail(n.log_path, lines)}" for n in self.nodes.values())

    # -- the HTTP status endpoint

    def http(self, name: str, path: str, method: str = "GET") -> tuple[int, str] | None:
        """(status code, body) from a node's HTTP endpoint, or None if it does not answer."""
        url = f"http://127.0.0.1:{self.nodes[name].http_port}{path}"
        request = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as r:
                return r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except (OSError, ValueError):
            return None

    def status(self, name: str) -> dict | None:
        answer = self.http(name, "/status")
        if answer is None or answer[0] != 200:
            return None
        return json.loads(answer[1])

    def hashes(self, name: str) -> dict | None:
        answer = self.http(name, "/hashes")
        if answer is None or answer[0] != 200:
            return None
        return json.loads(answer[1])

    def ready(self, name: str) -> bool:
        answer = self.http(name, "/readyz")
        return answer is not None and answer[0] == 200

    def wait_ready(self, names: list[str], timeout_s: float = CLUSTER_READY_TIMEOUT_S) -> None:
        """Bounded: every named node answers /readyz 200 and accepts a login."""
        deadline = time.monotonic() + timeout_s
        for name in names:
            node = self.nodes[name]
            last = None
            while True:
                if node.proc is None or node.proc.poll() is not None:
                    code = node.proc.returncode if node.proc else None
                    raise HarnessError(f"{name} exited with {code} while starting; log:\n{_tail(node.log_path)}")
                if self.ready(name):
                    try:
                        with node.endpoint.connect(connect_timeout=3) as conn:
                            conn.execute("SELECT 1").fetchone()
                        break
                    except psycopg.Error as e:
                        last = f"login: {e}"
                else:
                    last = self.http(name, "/readyz")
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"cluster node {name} not ready after {timeout_s}s (last: {last}); log:\n{_tail(node.log_path)}"
                    )
                time.sleep(0.1)

    def leader_of(self, group: str) -> str | None:
        """The leader of the Raft group named ``group`` (a catalog, or 'cp-metadata'),
        as the running node with the highest term for it reports."""
        best = None
        for name in self.running_names():
            status = self.status(name)
            for g in (status or {}).get("groups", []):
                if g.get("name") == group and g.get("leader"):
                    if best is None or g["term"] > best[0]:
                        best = (g["term"], g["leader"])
        return best[1] if best else None

    def wait_leader(self, group: str, timeout_s: float = 30) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            leader = self.leader_of(group)
            if leader is not None and self.nodes[leader].running:
                return leader
            if time.monotonic() > deadline:
                raise HarnessError(f"no leader of group {group!r} after {timeout_s}s")
            time.sleep(0.1)

    def wait_applied(self, group: str, timeout_s: float = 60, names: list[str] | None = None) -> int:
        """Bounded: until every (running, or named) node has applied the same
        index of group ``group``, and no node knows of a later commit; returns
        the index. Reads /status only, so it works where /hashes cannot."""
        names = names or self.running_names()
        deadline = time.monotonic() + timeout_s
        while True:
            seen = {}
            for name in names:
                for g in (self.status(name) or {}).get("groups", []):
                    if g.get("name") == group:
                        seen[name] = (g["applied"], g["commit"])
            if len(seen) == len(names):
                applied = {a for a, _ in seen.values()}
                if len(applied) == 1 and max(c for _, c in seen.values()) <= min(applied):
                    return applied.pop()
            if time.monotonic() > deadline:
                raise HarnessError(f"group {group!r} not applied equally within {timeout_s}s: (applied, commit) {seen}")
            time.sleep(0.1)

    def wait_converged(
        self, timeout_s: float = 60, catalogs: list[str] = (), names: list[str] | None = None
    ) -> dict:
        """Bounded: until every (running, or named) node reports the same /hashes
        (each catalog's applied index and state hash; only ``catalogs`` if
        given, and each of them must be there); returns them. A catalog missing from /hashes means the
        node could not compute its hash (the node logs 'state hash failed')."""
        names = names or self.running_names()
        deadline = time.monotonic() + timeout_s
        while True:
            seen = {name: self.hashes(name) for name in names}
            if catalogs:  # only these; other catalogs (other tests') do not matter
                seen = {n: v if v is None else {c: v[c] for c in catalogs if c in v} for n, v in seen.items()}
            values = list(seen.values())
            complete = all(v is not None and all(c in v for c in catalogs) for v in values)
            if complete and all(v == values[0] for v in values):
                return values[0]
            if time.monotonic() > deadline:
                missing = {n: [c for c in catalogs if c not in (v or {})] for n, v in seen.items()}
                failures = []
                for n in names:
                    try:
                        lines = self.nodes[n].log_path.read_text(errors="replace").splitlines()
                    except OSError:
                        lines = []
                    failures += [f"{n}: {line}" for line in lines if "state hash failed" in line][-2:]
                raise HarnessError(
                    f"state hashes did not converge within {timeout_s}s; catalogs missing from /hashes: "
                    f"{missing}; /hashes: {json.dumps(seen)[:3000]}"
                    + ("\nnode logs:\n" + "\n".join(failures) if failures else "")
                )
            time.sleep(0.2)

    # -- resources

    def rss_kib(self, name: str) -> int | None:
        """The node's resident set size (VmRSS of /proc/<pid>/status), KiB."""
        pid = self.nodes[name].pid
        if pid is None:
            return None
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def client_connections(self, name: str) -> int:
        """Established TCP connections to the node's PostgreSQL port (from /proc/net/tcp)."""
        port = self.nodes[name].pg_port
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) > 3 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
        return count


def _wait_until_ready(endpoint: Endpoint, timeout_s: float, check_alive, log_path: Path) -> None:
    """Poll until a TCP connect and then a psycopg login succeed, or fail loudly."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        check_alive()
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=1):
                pass
            with endpoint.connect(connect_timeout=3) as conn:
                conn.execute("SELECT 1").fetchone()
            return
        except (OSError, psycopg.Error) as e:
            last_error = e
            time.sleep(0.1)
    raise HarnessError(
        f"{endpoint.name} on port {endpoint.port} not ready after {timeout_s}s "
        f"(last error: {last_error}); log:\n{_tail(log_path)}"
    )


def start_server(name: str) -> tuple[object, Endpoint]:
    """Start the named backend ('postgres', 'duckraft' or 'cluster'); returns (server, endpoint)."""
    if name == "postgres":
        server = PostgresServer()
    elif name == "duckraft":
        server = DuckraftServer()
    elif name == "cluster":
        server = DuckraftClusterServer()
    else:
        raise ValueError(f"unknown backend {name!r}")
    try:
        endpoint = server.start()
    except BaseException:
        stop_server(server)  # leave no process and no temp dir behind
        raise
    return server, endpoint


def stop_server(server) -> int | None:
    code = server.stop()
    if isinstance(server, (DuckraftServer, DuckraftClusterServer)):
        server.cleanup()
    return code
