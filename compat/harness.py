"""Start and stop the two servers the compatibility suite and the benchmark compare.

Both servers are started the same way for every consumer (pytest fixtures in
``conftest.py`` and ``bench/ducklake_commit_bench.py``):

* ``PostgresServer`` — a throw-away PostgreSQL 15 cluster in a temp dir, on a
  free loopback port, with ``fsync=on`` and ``synchronous_commit=on`` and
  SCRAM-SHA-256 password authentication for the superuser ``duckraft``.
* ``DuckraftServer`` — the duckraft binary (``$DUCKRAFT_BIN``, else
  ``${CARGO_TARGET_DIR:-/var/tmp/duckraft-target}/debug/duckraft``) with a
  fresh data dir and the same user name and password.

Both expose an ``Endpoint`` so that callers never care which one they talk to.

Invariants:
  * Every server started here is stopped by its ``stop()`` (the fixtures and
    the benchmark call it in ``finally``); nothing is left listening.
  * A missing binary raises ``HarnessError`` — the suite fails, it never skips.
  * Every wait is bounded (``*_timeout_s``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

USER = "duckraft"
PASSWORD = "secret"

PG_BIN_DIR = Path(os.environ.get("DUCKRAFT_PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))
PG_START_TIMEOUT_S = 60
DUCKRAFT_READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
# DuckLake keeps a small pool of connections per client process; 16 benchmark
# clients plus the test suite's own connections fit comfortably.
PG_MAX_CONNECTIONS = 300


class HarnessError(RuntimeError):
    """A server could not be started or stopped. Always fatal to the run."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one server. ``name`` is 'postgres' or 'duckraft'."""

    name: str
    host: str
    port: int
    user: str
    password: str
    admin_db: str  # database that always exists: 'postgres' or 'duckraft'
    # SQL dialect behind the wire: 'postgres', or 'duckdb' for duckraft. Only
    # tests that must send backend-specific SQL (a long query to cancel) look.
    dialect: str = "postgres"

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
    """Start the named backend ('postgres' or 'duckraft'); returns (server, endpoint)."""
    if name == "postgres":
        server = PostgresServer()
    elif name == "duckraft":
        server = DuckraftServer()
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
    if isinstance(server, DuckraftServer):
        server.cleanup()
    return code
