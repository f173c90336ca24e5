"""The real psql 15 binary against each backend.

psql picks its catalog queries from the server version it is told, so these
tests cover the pg_catalog surface duckraft offers to people at a terminal:
``\\l``, ``\\dt``, ``\\d t``, ``-c``, ``\\copy`` and verbose error reports with
SQLSTATEs. Where the output does not depend on which server answers, the
duckraft output must equal PostgreSQL's byte for byte.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

PSQL_TIMEOUT_S = 60


def psql_binary() -> str:
    path = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    if not Path(path).exists():
        pytest.fail("psql not found: install postgresql-client-15 (the suite needs the real psql)")
    return path


def psql(b, *args: str, stdin: str | None = None, check: bool = True, cwd: Path | None = None):
    run = subprocess.run(
        [psql_binary(), "-X", "--no-password", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=b.libpq_env(),
        timeout=PSQL_TIMEOUT_S,
        cwd=cwd,
    )
    if check and run.returncode != 0:
        pytest.fail(f"psql {args} on {b.name} exited {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}")
    return run


def test_select_one(differential):
    def scenario(b):
        return psql(b, "-c", "select 1 as one").stdout

    out = differential(scenario)
    assert out == " one \n-----\n   1\n(1 row)\n\n"


def test_select_one_unnamed(backend):
    out = psql(backend, "-A", "-t", "-c", "select 1").stdout
    assert out == "1\n"


def test_multi_statement_command(differential):
    def scenario(b):
        return psql(
            b,
            "-c",
            "create table m (a integer, b text); insert into m values (1, 'x'), (2, 'y'); "
            "update m set b = 'z' where a = 2; select a, b from m order by a",
        ).stdout

    out = differential(scenario)
    assert " a | b \n---+---\n 1 | x\n 2 | z\n(2 rows)" in out


def test_list_databases(backend):
    out = psql(backend, "-c", r"\l").stdout
    assert "List of databases" in out
    names = {line.split("|")[0].strip() for line in out.splitlines() if "|" in line}
    assert backend.dbname in names, out
    assert backend.endpoint.admin_db in names, out
    # \l+ adds sizes and descriptions through more catalog functions
    out_plus = psql(backend, "-c", r"\l+").stdout
    assert backend.dbname in out_plus


def test_list_tables(differential):
    def scenario(b):
        psql(b, "-c", "create table t1 (a integer); create table t2 (b text); create view v1 as select a from t1")
        return psql(b, "-A", "-t", "-c", r"\dt").stdout

    out = differential(scenario)
    assert out.splitlines() == ["public|t1|table|duckraft", "public|t2|table|duckraft"]


def test_describe_table(differential):
    def scenario(b):
        psql(
            b,
            "-c",
            "create table people (id integer not null, name text, nick varchar(20), "
            "amount numeric(10,2), born date, seen timestamp, seen_tz timestamptz, "
            "active boolean, score double precision, tags text[])",
        )
        return psql(b, "-c", r"\d people").stdout

    out = differential(scenario)
    assert 'Table "public.people"' in out
    rows = {
        cells[0]: cells[1]
        for cells in ([c.strip() for c in line.split("|")] for line in out.splitlines() if line.count("|") >= 4)
    }
    assert rows["id"] == "integer"
    assert rows["name"] == "text"
    assert rows["nick"] == "character varying(20)"
    assert rows["amount"] == "numeric(10,2)"
    assert rows["born"] == "date"
    assert rows["seen"] == "timestamp without time zone"
    assert rows["seen_tz"] == "timestamp with time zone"
    assert rows["active"] == "boolean"
    assert rows["score"] == "double precision"
    assert rows["tags"] == "text[]"
    id_line = next(line for line in out.splitlines() if line.strip().startswith("id "))
    assert "not null" in id_line


CSV_IN = 'id,name,amount\n1,plain,1.50\n2,"with, comma",-2.25\n3,"with ""quotes""",0.00\n4,,\n'


def test_copy_csv_in_and_out(differential, tmp_path):
    def scenario(b):
        work = tmp_path / b.name
        work.mkdir(exist_ok=True)
        (work / "in.csv").write_text(CSV_IN)
        psql(b, "-c", "create table c (id integer, name text, amount numeric(10,2))")
        load = psql(b, "-c", r"\copy c from 'in.csv' with (format csv, header true)", cwd=work)
        psql(
            b,
            "-c",
            r"\copy (select id, name, amount from c order by id) to 'out.csv' with (format csv, header true)",
            cwd=work,
        )
        psql(b, "-c", r"\copy c to 'out.txt'", cwd=work)
        psql(b, "-c", "create table c2 (id integer, name text, amount numeric(10,2))")
        psql(b, "-c", r"\copy c2 from 'out.txt'", cwd=work)
        back = psql(b, "-A", "-t", "-c", "select id, coalesce(name, '<null>'), amount from c2 order by id").stdout
        return {
            "load": load.stdout,
            "out.csv": (work / "out.csv").read_text(),
            "out.txt": "\n".join(sorted((work / "out.txt").read_text().splitlines())),
            "text round trip": back,
        }

    r = differential(scenario)
    assert r["load"] == "COPY 4\n"
    assert r["out.csv"] == 'id,name,amount\n1,plain,1.50\n2,"with, comma",-2.25\n3,"with ""quotes""",0.00\n4,,\n'
    assert "4\t\\N\t\\N" in r["out.txt"]
    assert r["text round trip"].splitlines() == [
        "1|plain|1.50",
        "2|with, comma|-2.25",
        '3|with "quotes"|0.00',
        "4|<null>|",
    ]


ERROR_SCRIPT = r"""
\set VERBOSITY verbose
select * from no_such_table;
create table u (id integer primary key);
insert into u values (1);
insert into u values (1);
selec 1;
select no_such_column from u;
select 'abc'::integer;
begin;
select * from no_such_table;
select 1;
rollback;
select count(*) as after_rollback from u;
"""


def test_error_sqlstates(differential):
    def scenario(b):
        run = psql(b, "-v", "ON_ERROR_STOP=0", stdin=ERROR_SCRIPT, check=False)
        return {
            "exit": run.returncode,
            "sqlstates": re.findall(r"^ERROR:  ([0-9A-Z]{5}): ", run.stderr, re.MULTILINE),
            "stdout": run.stdout,
        }

    r = differential(scenario)
    assert r["sqlstates"] == ["42P01", "23505", "42601", "42703", "22P02", "42P01", "25P02"]
    assert " after_rollback \n----------------\n              1\n(1 row)" in r["stdout"]


def test_on_error_stop_exit_code(backend):
    run = psql(backend, "-v", "ON_ERROR_STOP=1", "-c", "select * from no_such_table", check=False)
    assert run.returncode == 1
    assert "no_such_table" in run.stderr


def test_unknown_database_and_bad_password(backend):
    env = backend.libpq_env()
    env["PGDATABASE"] = "no_such_database"
    run = subprocess.run(
        [psql_binary(), "-X", "-c", "select 1"], capture_output=True, text=True, env=env, timeout=PSQL_TIMEOUT_S
    )
    assert run.returncode == 2
    assert "no_such_database" in run.stderr
    env = backend.libpq_env()
    env["PGPASSWORD"] = "wrong"
    run = subprocess.run(
        [psql_binary(), "-X", "-c", "select 1"], capture_output=True, text=True, env=env, timeout=PSQL_TIMEOUT_S
    )
    assert run.returncode == 2
    assert "password authentication failed" in run.stderr
