"""psycopg 3 (libpq) against each backend: the extended protocol with text and
binary formats, server-side cursors, COPY in three formats, transactions,
cancellation, SQLSTATEs and type round-trips.

Values, column type OIDs and the raw bytes of binary COPY must be identical
on duckraft and PostgreSQL (``differential``); expected values are asserted
as well.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.types.json import Json

pytestmark = pytest.mark.timeout(120)

UTC = dt.timezone.utc


def connect(b, **kwargs) -> psycopg.Connection:
    conn = b.connect(**kwargs)
    conn.execute("SET TimeZone = 'UTC'")
    if not kwargs.get("autocommit"):
        conn.commit()
    return conn


# ---------------------------------------------------------------- extended protocol


def test_extended_protocol_text_and_binary(differential):
    query = "SELECT %s::integer + 1 AS x, %s::text AS t, %s::bigint * 2 AS y, %s::boolean AS f"
    params = (41, "héllo", 2**40, False)

    def scenario(b):
        out = []
        with connect(b) as conn:
            for binary in (False, True):
                with conn.cursor(binary=binary) as cur:
                    cur.execute(query, params)
                    out.append([binary, [(d.name, d.type_code) for d in cur.description], cur.fetchall()])
                    # the same statement, explicitly prepared and run several times
                    for i in range(3):
                        cur.execute(query, (i, str(i), i, True), prepare=True)
                        out.append([binary, i, cur.fetchone()])
        return out

    r = differential(scenario)
    assert r[0][1] == [("x", 23), ("t", 25), ("y", 20), ("f", 16)]
    assert r[0][2] == [(42, "héllo", 2**41, False)]
    assert r[4][2] == r[0][2]  # binary results equal text results


def test_parameter_types_inferred_by_server(differential):
    def scenario(b):
        with connect(b) as conn:
            conn.execute("CREATE TABLE p (a integer, b text, c numeric(10,2))")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO p VALUES (%s, %s, %s)", [(1, "a", Decimal("1.10")), (2, None, None)])
                cur.execute("SELECT a, b, c FROM p WHERE a = %s OR b = %s ORDER BY a", (2, "a"))
                rows = cur.fetchall()
                cur.execute("SELECT count(*) FROM p WHERE a > %(lo)s AND a <= %(hi)s", {"lo": 0, "hi": 5})
                return rows + cur.fetchall()

    r = differential(scenario)
    assert r == [(1, "a", Decimal("1.10")), (2, None, None), (2,)]


def test_information_schema_columns_types(differential):
    """Schema reflection through information_schema.columns (dbt, Metabase,
    many ORMs) sees PostgreSQL's type names and lengths."""

    def scenario(b):
        with connect(b, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE reflected (id integer NOT NULL, name text, code varchar(12), plain varchar, "
                "amount numeric(10,2), big bigint, flag boolean, at timestamp, at_tz timestamptz, "
                "score double precision, tags text[], u uuid, raw bytea)"
            )
            return conn.execute(
                "SELECT column_name, ordinal_position, is_nullable, data_type, character_maximum_length, udt_name "
                "FROM information_schema.columns WHERE table_name = 'reflected' ORDER BY ordinal_position"
            ).fetchall()

    rows = differential(scenario)
    assert [r[3] for r in rows[:5]] == ["integer", "text", "character varying", "character varying", "numeric"]
    assert rows[2][4] == 12 and rows[10][3] == "ARRAY" and rows[10][5] == "_text"


def test_simple_query_multiple_statements(differential):
    def scenario(b):
        with connect(b, autocommit=True) as conn:
            cur = psycopg.ClientCursor(conn)
            cur.execute(
                "CREATE TABLE s (a integer); INSERT INTO s VALUES (1), (2); SELECT sum(a) AS total FROM s; SELECT 'two' AS second"
            )
            results = []
            while True:
                results.append([cur.statusmessage, cur.fetchall() if cur.description else None])
                if not cur.nextset():
                    break
            return results

    r = differential(scenario)
    assert r == [["CREATE TABLE", None], ["INSERT 0 2", None], ["SELECT 1", [(3,)]], ["SELECT 1", [("two",)]]]


def test_server_side_cursor_fetchmany(differential):
    def scenario(b):
        out = []
        with connect(b) as conn:
            conn.execute("CREATE TABLE big (i integer, s text)")
            with conn.cursor().copy("COPY big FROM STDIN") as copy:
                for i in range(1000):
                    copy.write_row((i, f"row {i}"))
            conn.commit()
            for binary in (False, True):
                with conn.cursor(name=f"c_{int(binary)}", binary=binary) as cur:
                    cur.execute("SELECT i, s FROM big ORDER BY i")
                    batches = []
                    while True:
                        batch = cur.fetchmany(300)
                        if not batch:
                            break
                        batches.append((len(batch), batch[0], batch[-1]))
                    out.append(batches)
                conn.commit()
            with conn.cursor(name="c_iter") as cur:
                cur.itersize = 64
                cur.execute("SELECT i FROM big WHERE i % 10 = 0 ORDER BY i")
                out.append(sum(row[0] for row in cur))
            conn.commit()
            with conn.cursor() as cur:
                out.append(sum(1 for _ in cur.stream("SELECT i FROM big")))
        return out

    r = differential(scenario)
    expected = [
        (300, (0, "row 0"), (299, "row 299")),
        (300, (300, "row 300"), (599, "row 599")),
        (300, (600, "row 600"), (899, "row 899")),
        (100, (900, "row 900"), (999, "row 999")),
    ]
    assert r[0] == expected and r[1] == expected
    assert r[2] == sum(range(0, 1000, 10))
    assert r[3] == 1000


# ---------------------------------------------------------------- COPY

COPY_ROWS = [
    (1, "plain", Decimal("1.50"), dt.date(2024, 2, 29), True),
    (2, "tab\tand\nnewline and \\ backslash", Decimal("-2.25"), dt.date(1970, 1, 1), False),
    (3, 'comma, "quotes"', Decimal("0.00"), None, None),
    (4, None, None, dt.date(2000, 12, 31), True),
    (5, "ünïcødé ✓", Decimal("12345678.99"), dt.date(1999, 1, 1), False),
]
COPY_DDL = "CREATE TABLE cp (id integer, name text, amount numeric(10,2), day date, flag boolean)"


def test_copy_from_stdin_and_to_stdout(differential):
    def scenario(b):
        out = {}
        with connect(b, autocommit=True) as conn:
            conn.execute(COPY_DDL)
            cur = conn.cursor()
            # text format, rows written by psycopg
            with cur.copy("COPY cp FROM STDIN") as copy:
                for row in COPY_ROWS:
                    copy.write_row(row)
            out["text in"] = cur.rowcount
            # csv format, raw data
            conn.execute(COPY_DDL.replace("cp ", "cp_csv "))
            with cur.copy("COPY cp_csv FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write("id,name,amount,day,flag\n")
                copy.write('1,"a,b",1.00,2024-01-01,t\n2,,,,\n3,"say ""hi""",-0.50,2024-12-31,f\n')
            out["csv in"] = cur.rowcount
            # binary format, typed rows
            conn.execute(COPY_DDL.replace("cp ", "cp_bin "))
            with cur.copy("COPY cp_bin FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(["int4", "text", "numeric", "date", "bool"])
                for row in COPY_ROWS:
                    copy.write_row(row)
            out["binary in"] = cur.rowcount
            for table in ("cp", "cp_csv", "cp_bin"):
                out[f"{table} rows"] = conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for fmt in ("text", "csv", "binary"):
                data = b""
                with cur.copy(f"COPY (SELECT * FROM cp ORDER BY id) TO STDOUT (FORMAT {fmt})") as copy:
                    for chunk in copy:
                        data += bytes(chunk)
                out[f"{fmt} out"] = data
            with cur.copy("COPY (SELECT * FROM cp ORDER BY id) TO STDOUT (FORMAT binary)") as copy:
                copy.set_types(["int4", "text", "numeric", "date", "bool"])
                out["binary out rows"] = list(copy.rows())
            data = b""
            with cur.copy("COPY (SELECT * FROM cp WHERE id < 0) TO STDOUT (FORMAT binary)") as copy:
                for chunk in copy:
                    data += bytes(chunk)
            out["empty binary out"] = data
            with cur.copy("COPY cp TO STDOUT (FORMAT csv, HEADER true)") as copy:
                out["table csv out lines"] = sorted(bytes(b"".join(bytes(c) for c in copy)).decode().splitlines())
        return out

    r = differential(scenario)
    assert r["text in"] == 5 and r["csv in"] == 3 and r["binary in"] == 5
    assert r["cp rows"] == COPY_ROWS
    assert r["cp_bin rows"] == COPY_ROWS
    assert r["cp_csv rows"][1] == (2, None, None, None, None)
    assert r["cp_csv rows"][2][1] == 'say "hi"'
    assert r["binary out rows"] == COPY_ROWS
    assert r["text out"].startswith(b"1\tplain\t1.50\t2024-02-29\tt\n2\ttab\\tand\\nnewline and \\\\ backslash\t")
    assert b"4\t\\N\t\\N\t2000-12-31\tt\n" in r["text out"]
    assert b'\n3,"comma, ""quotes""",0.00,,\n' in r["csv out"]
    assert r["binary out"].startswith(b"PGCOPY\n\xff\r\n\x00")
    # an empty result still carries the 19-byte header and the trailer
    assert r["empty binary out"] == b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + b"\xff\xff"


# ---------------------------------------------------------------- transactions


def test_transactions_and_isolation_levels(differential):
    def scenario(b):
        out = []
        with connect(b, autocommit=True) as conn, connect(b, autocommit=True) as other:
            conn.execute("CREATE TABLE acct (id integer, balance integer)")
            conn.execute("INSERT INTO acct VALUES (1, 100), (2, 50)")
            for level in ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"):
                conn.execute(f"BEGIN ISOLATION LEVEL {level}")
                conn.execute("UPDATE acct SET balance = balance - 10 WHERE id = 1")
                out.append(["inside", level, conn.execute("SELECT balance FROM acct WHERE id = 1").fetchone()])
                out.append(
                    ["other before commit", level, other.execute("SELECT balance FROM acct WHERE id = 1").fetchone()]
                )
                conn.execute("COMMIT")
                out.append(
                    ["other after commit", level, other.execute("SELECT balance FROM acct WHERE id = 1").fetchone()]
                )
            conn.execute("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE")
            conn.execute("UPDATE acct SET balance = 0")
            conn.execute("ROLLBACK")
            out.append(["after rollback", conn.execute("SELECT sum(balance) FROM acct").fetchone()])
            conn.execute("START TRANSACTION")
            conn.execute("INSERT INTO acct VALUES (3, 1)")
            conn.execute("END")
            out.append(["after END", conn.execute("SELECT count(*) FROM acct").fetchone()])
            out.append(["status", conn.info.transaction_status.name])
        with connect(b) as conn:
            with conn.transaction():
                conn.execute("INSERT INTO acct VALUES (4, 4)")
            try:
                with conn.transaction():
                    conn.execute("INSERT INTO acct VALUES (5, 5)")
                    raise RuntimeError("roll back please")
            except RuntimeError:
                pass
            out.append(["psycopg transaction blocks", conn.execute("SELECT id FROM acct ORDER BY id").fetchall()])
        return out

    r = differential(scenario)
    assert r[0] == ["inside", "READ COMMITTED", (90,)]
    assert r[1] == ["other before commit", "READ COMMITTED", (100,)]
    assert r[2] == ["other after commit", "READ COMMITTED", (90,)]
    assert r[8] == ["other after commit", "SERIALIZABLE", (70,)]
    assert r[9] == ["after rollback", (120,)]
    assert r[10] == ["after END", (3,)]
    assert r[11] == ["status", "IDLE"]
    assert r[12] == ["psycopg transaction blocks", [(1,), (2,), (3,), (4,)]]


def test_error_aborts_transaction_until_rollback(differential):
    def scenario(b):
        out = []
        with connect(b) as conn:
            conn.execute("CREATE TABLE a (x integer)")
            conn.commit()
            conn.execute("INSERT INTO a VALUES (1)")
            with pytest.raises(errors.UndefinedTable) as e1:
                conn.execute("SELECT * FROM no_such_table")
            out.append(e1.value.sqlstate)
            out.append(conn.info.transaction_status.name)
            with pytest.raises(errors.InFailedSqlTransaction) as e2:
                conn.execute("SELECT 1")
            out.append(e2.value.sqlstate)
            with pytest.raises(errors.InFailedSqlTransaction):
                conn.execute("INSERT INTO a VALUES (2)")
            conn.rollback()
            out.append(conn.info.transaction_status.name)
            out.append(conn.execute("SELECT count(*) FROM a").fetchone())
            # COMMIT of an aborted transaction rolls it back
            conn.execute("INSERT INTO a VALUES (3)")
            with pytest.raises(errors.UndefinedColumn):
                conn.execute("SELECT nope FROM a")
            conn.commit()
            out.append(conn.execute("SELECT count(*) FROM a").fetchone())
        return out

    r = differential(scenario)
    assert r == ["42P01", "INERROR", "25P02", "IDLE", (0,), (0,)]


def test_error_sqlstates(differential):
    cases = [
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELEC 1", "42601"),
        ("SELECT no_such_column FROM t", "42703"),
        ("SELECT 'abc'::integer", "22P02"),
        ("INSERT INTO t VALUES (1)", "23505"),
        ("CREATE TABLE t (id integer)", "42P07"),
    ]

    def scenario(b):
        out = []
        with connect(b, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id integer PRIMARY KEY)")
            conn.execute("INSERT INTO t VALUES (1)")
            for query, _ in cases:
                try:
                    conn.execute(query)
                    out.append([query, None])
                except psycopg.Error as e:
                    out.append([query, e.sqlstate])
            out.append(["still usable", conn.execute("SELECT count(*) FROM t").fetchone()[0]])
        with pytest.raises(psycopg.OperationalError) as e:
            b.endpoint.connect("no_such_database")
        out.append(["unknown database", "does not exist" in str(e.value)])
        return out

    r = differential(scenario)
    assert [s for _, s in r[: len(cases)]] == [s for _, s in cases]
    assert r[-2:] == [["still usable", 1], ["unknown database", True]]


def test_wrong_password(backend):
    ep = backend.endpoint
    with pytest.raises(psycopg.OperationalError) as e:
        psycopg.connect(
            host=ep.host, port=ep.port, dbname=backend.dbname, user=ep.user, password="wrong", connect_timeout=10
        )
    assert "password authentication failed" in str(e.value)
    with pytest.raises(psycopg.OperationalError) as e2:
        psycopg.connect(
            host=ep.host, port=ep.port, dbname=backend.dbname, user="nobody", password="wrong", connect_timeout=10
        )
    assert "password authentication failed" in str(e2.value)


# ---------------------------------------------------------------- cancel

LONG_QUERY = {  # by the SQL dialect behind the wire
    "postgres": "SELECT pg_sleep(60)",
    "duckdb": "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3",
}


def test_cancel_long_query(backend):
    with connect(backend) as conn:
        timer = threading.Timer(1.0, conn.cancel)
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(errors.QueryCanceled) as e:
                conn.execute(LONG_QUERY[backend.endpoint.dialect])
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started
        assert e.value.sqlstate == "57014"
        assert elapsed < 15, f"cancel took {elapsed:.1f}s"
        conn.rollback()
        assert conn.execute("SELECT 1 AS one").fetchone() == (1,)


# ---------------------------------------------------------------- type round trips

ROUND_TRIP_DDL = """
CREATE TABLE rt (
    id integer, b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
    n numeric(30,6), t text, v varchar(20), by bytea, d date, tm time, ts timestamp,
    tz timestamptz, iv interval, u uuid, j json, ai integer[], at text[]
)"""
ROUND_TRIP_COLUMNS = [
    "id",
    "b",
    "i2",
    "i4",
    "i8",
    "f4",
    "f8",
    "n",
    "t",
    "v",
    "by",
    "d",
    "tm",
    "ts",
    "tz",
    "iv",
    "u",
    "j",
    "ai",
    "at",
]
ROUND_TRIP_ROWS = [
    (
        1,
        True,
        32767,
        2147483647,
        9223372036854775807,
        1.5,
        3.141592653589793,
        Decimal("123456789012345678901234.123456"),
        'héllo \t "quoted" ✓',
        "varchar",
        b"\x00\x01\xfe\xff",
        dt.date(2024, 2, 29),
        dt.time(12, 34, 56, 789000),
        dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
        dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        {"a": [1, 2, None], "b": "x"},
        [1, 2, None, -3],
        ["a", "b c", None, '"q"', ""],
    ),
    (
        2,
        False,
        -32768,
        -2147483648,
        -9223372036854775808,
        -0.25,
        -1e300,
        Decimal("-0.000001"),
        "",
        "",
        b"",
        dt.date(1970, 1, 1),
        dt.time(0, 0),
        dt.datetime(1999, 12, 31, 23, 59, 59),
        dt.datetime(2000, 1, 1, tzinfo=UTC),
        dt.timedelta(0),
        uuid.UUID(int=0),
        [],
        [],
        [],
    ),
    (3, *([None] * 19)),
]


def _jsonify(row):
    return tuple(Json(v) if isinstance(v, (dict, list)) and i == 17 else v for i, v in enumerate(row))


def test_type_round_trips(differential):
    select = sql.SQL("SELECT {} FROM rt ORDER BY id").format(
        sql.SQL(", ").join(map(sql.Identifier, ROUND_TRIP_COLUMNS))
    )

    def scenario(b):
        out = {}
        with connect(b, autocommit=True) as conn:
            conn.execute(ROUND_TRIP_DDL)
            for binary in (False, True):
                conn.execute("DELETE FROM rt")
                with conn.cursor(binary=binary) as cur:
                    cur.executemany(
                        "INSERT INTO rt VALUES (" + ", ".join(["%s"] * len(ROUND_TRIP_COLUMNS)) + ")",
                        [_jsonify(r) for r in ROUND_TRIP_ROWS],
                    )
                for read_binary in (False, True):
                    with conn.cursor(binary=read_binary) as cur:
                        cur.execute(select)
                        out[f"write {'binary' if binary else 'text'}, read {'binary' if read_binary else 'text'}"] = (
                            cur.fetchall()
                        )
                        out["oids"] = [(d.name, d.type_code) for d in cur.description]
            with conn.cursor() as cur:
                cur.execute(
                    sql.SQL("SELECT {} FROM rt ORDER BY id").format(
                        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in ROUND_TRIP_COLUMNS)
                    )
                )
                out["as text"] = cur.fetchall()
        return out

    r = differential(scenario)
    expected = [tuple(row) for row in ROUND_TRIP_ROWS]
    for key in (
        "write text, read text",
        "write text, read binary",
        "write binary, read text",
        "write binary, read binary",
    ):
        assert r[key] == expected, key
    assert r["oids"] == [
        ("id", 23),
        ("b", 16),
        ("i2", 21),
        ("i4", 23),
        ("i8", 20),
        ("f4", 700),
        ("f8", 701),
        ("n", 1700),
        ("t", 25),
        ("v", 1043),
        ("by", 17),
        ("d", 1082),
        ("tm", 1083),
        ("ts", 1114),
        ("tz", 1184),
        ("iv", 1186),
        ("u", 2950),
        ("j", 114),
        ("ai", 1007),
        ("at", 1009),
    ]
    assert r["as text"][0][:9] == (
        "1",
        "true",
        "32767",
        "2147483647",
        "9223372036854775807",
        "1.5",
        "3.141592653589793",
        "123456789012345678901234.123456",
        'héllo \t "quoted" ✓',
    )
    assert r["as text"][0][10:] == (
        "\\x0001feff",
        "2024-02-29",
        "12:34:56.789",
        "2024-01-02 03:04:05.123456",
        "2024-01-02 03:04:05.123456+00",
        "3 days 04:05:06.000007",
        "12345678-1234-5678-1234-567812345678",
        '{"a": [1, 2, null], "b": "x"}',
        "{1,2,NULL,-3}",
        '{a,"b c",NULL,"\\"q\\"",""}',
    )


def test_literal_casts(differential):
    """Values typed by the server from literals, read in both formats."""
    query = (
        "SELECT true AS b, 7::smallint AS i2, 7 AS i4, 7::bigint AS i8, 1.25::real AS f4, 1.25::double precision AS f8, "
        "1.25::numeric(5,2) AS n, 'x'::text AS t, 'x'::varchar(3) AS v, DATE '2024-01-31' AS d, TIME '01:02:03' AS tm, "
        "TIMESTAMP '2024-01-31 01:02:03' AS ts, '2024-01-31 01:02:03+00'::timestamptz AS tz, "
        "INTERVAL '1 day 2 hours' AS iv, '00000000-0000-0000-0000-00000000000a'::uuid AS u, "
        "ARRAY[1, 2]::integer[] AS ai, ARRAY['p', 'q']::text[] AS at"
    )

    def scenario(b):
        out = []
        with connect(b) as conn:
            for binary in (False, True):
                with conn.cursor(binary=binary) as cur:
                    cur.execute(query)
                    out.append([[(d.name, d.type_code) for d in cur.description], cur.fetchall()])
        return out

    r = differential(scenario)
    assert r[0] == r[1]
    assert r[0][1] == [
        (
            True,
            7,
            7,
            7,
            1.25,
            1.25,
            Decimal("1.25"),
            "x",
            "x",
            dt.date(2024, 1, 31),
            dt.time(1, 2, 3),
            dt.datetime(2024, 1, 31, 1, 2, 3),
            dt.datetime(2024, 1, 31, 1, 2, 3, tzinfo=UTC),
            dt.timedelta(days=1, hours=2),
            uuid.UUID(int=10),
            [1, 2],
            ["p", "q"],
        )
    ]


def test_session_commands(differential):
    """What drivers and the postgres scanner send while connecting and pooling."""

    def scenario(b):
        out = []
        with connect(b, autocommit=True) as conn:
            conn.execute("SET application_name = 'compat'")
            out.append(conn.execute("SHOW application_name").fetchone())
            out.append(conn.execute("SELECT current_setting('application_name')").fetchone())
            conn.execute("RESET application_name")
            conn.execute("SET search_path TO public")
            out.append(conn.execute("SELECT current_database() = %s", (b.dbname,)).fetchone())
            out.append(conn.execute("SELECT version() LIKE 'PostgreSQL %'").fetchone())
            out.append(conn.execute("SELECT to_regclass('no_such_relation') IS NULL").fetchone())
            conn.execute("CREATE TABLE reg (a integer)")
            out.append(conn.execute("SELECT to_regclass('reg') IS NOT NULL").fetchone())
            out.append(conn.execute("SELECT count(*) > 0 FROM pg_settings").fetchone())
            out.append(conn.execute("SELECT count(*) FROM pg_settings WHERE name LIKE 'rds%'").fetchone())
            conn.execute("DISCARD ALL")
            out.append(conn.execute("SELECT 1 AS one").fetchone())
            out.append(conn.info.parameter_status("server_encoding"))
            out.append(conn.info.parameter_status("client_encoding"))
            out.append(conn.info.parameter_status("integer_datetimes"))
            out.append(conn.info.parameter_status("standard_conforming_strings"))
            out.append(conn.info.server_version >= 150000)
        return out

    r = differential(scenario)
    assert r == [
        ("compat",),
        ("compat",),
        (True,),
        (True,),
        (True,),
        (True,),
        (True,),
        (0,),
        (1,),
        "UTF8",
        "UTF8",
        "on",
        "on",
        True,
    ]


def test_result_column_names(differential):
    """Clients that read rows by column name (dict rows, pandas) see PostgreSQL's names."""
    queries = [
        "SELECT count(*) FROM n",
        "SELECT count(*) AS Total, 1 n, a \"Keep\" FROM n GROUP BY a",
        "SELECT 1, 'a', NULL, true, 7 / 2, -a, a + 1 FROM n",
        "SELECT a, n.b, a::text, 1::bigint, CAST(b AS varchar(3)), '1'::double precision FROM n",
        "SELECT max(b), min(a) FILTER (WHERE a > 0), coalesce(a, 2), arr[1] FROM n GROUP BY a, arr",
        "SELECT CASE WHEN a > 0 THEN 1 END, a IS NULL, a IN (1, 2), NOT true FROM n",
        "SELECT (SELECT max(a) FROM n), EXISTS (SELECT 1), ARRAY[1, 2], (a) FROM n",
        "SELECT upper(b), length(b), DATE '2024-01-01', row_number() OVER (ORDER BY a) FROM n",
        "VALUES (1, 'x')",
        "SELECT *, 1 FROM n",
        "WITH q AS (SELECT 1 AS one) SELECT one, one + 1 FROM q",
    ]

    def scenario(b):
        out = []
        with connect(b, autocommit=True) as conn:
            conn.execute("CREATE TABLE n (a integer, b text, arr integer[])")
            conn.execute("INSERT INTO n VALUES (1, 'x', ARRAY[1, 2])")
            for query in queries:
                for binary in (False, True):
                    with conn.cursor(binary=binary) as cur:
                        cur.execute(query)
                        out.append([query, binary, [d.name for d in cur.description], cur.fetchall()])
        return out

    r = differential(scenario)
    text = r[::2]
    assert text[0][2] == ["count"]
    assert text[1][2] == ["total", "n", "Keep"]
    assert text[2][2:] == [["?column?"] * 7, [(1, "a", None, True, 3, -1, 2)]]


def test_read_only_transactions(differential):
    """Read-only defaults and modes refuse writes with 25006, and SET TRANSACTION follows the rules."""

    def attempt(conn, statement):
        try:
            conn.execute(statement)
            return "ok"
        except psycopg.Error as e:
            conn.rollback() if not conn.autocommit else None
            return e.sqlstate

    def scenario(b):
        out = []
        with connect(b, autocommit=True) as conn:
            conn.execute("CREATE TABLE ro (a integer)")
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            out.append(conn.execute("SHOW default_transaction_read_only").fetchone())
            out.append(conn.execute("SHOW transaction_read_only").fetchone())
            for statement in ["INSERT INTO ro VALUES (1)", "CREATE TABLE ro2 (a integer)", "SELECT count(*) FROM ro"]:
                out.append(attempt(conn, statement))
            conn.execute("BEGIN READ WRITE")
            out.append(attempt(conn, "INSERT INTO ro VALUES (2)"))
            conn.execute("COMMIT")
            conn.execute("BEGIN")
            conn.execute("SET TRANSACTION READ WRITE")
            out.append(attempt(conn, "INSERT INTO ro VALUES (3)"))
            conn.execute("COMMIT")
            conn.execute("SET default_transaction_read_only = off")
            conn.execute("BEGIN READ ONLY")
            conn.execute("SELECT 1")
            out.append(attempt(conn, "SET TRANSACTION READ WRITE"))
            conn.execute("ROLLBACK")
            out.append(attempt(conn, "SET default_transaction_read_only = maybe"))
            out.append(conn.execute("SELECT a FROM ro ORDER BY a").fetchall())
        return out

    r = differential(scenario)
    assert r == [("on",), ("on",), "25006", "25006", "ok", "ok", "ok", "25001", "22023", [(2,), (3,)]]


def test_local_clock_values(differential):
    """current_date, localtimestamp, localtime and current_time in reads and in replicated writes."""

    def scenario(b):
        with connect(b, autocommit=True) as conn:
            conn.execute("CREATE TABLE clock (d date, ts timestamp, t time, tz timetz)")
            conn.execute("INSERT INTO clock VALUES (current_date, localtimestamp, localtime, current_time)")
            with conn.transaction():
                conn.execute("INSERT INTO clock SELECT current_date, localtimestamp(3), localtime(0), current_time")
            # localtimestamp(3) rounds to the millisecond, so it may lie up to
            # half a millisecond after a later statement's localtimestamp.
            return conn.execute(
                "SELECT d IN (current_date, current_date - 1), ts <= localtimestamp + interval '1 millisecond', "
                "ts > localtimestamp - interval '1 hour', t IS NOT NULL, tz IS NOT NULL, "
                "localtimestamp <= current_timestamp::timestamp FROM clock"
            ).fetchall()

    r = differential(scenario)
    assert r == [(True,) * 6] * 2


def test_set_returning_select_list(differential):
    """generate_series in a select list returns rows, as in PostgreSQL, in reads and writes."""

    def scenario(b):
        with connect(b, autocommit=True) as conn:
            out = [conn.execute("SELECT generate_series(1, 3), generate_series(1, 2) AS two").fetchall()]
            conn.execute("CREATE TABLE srf (a integer)")
            conn.execute("INSERT INTO srf SELECT generate_series(1, 4)")
            out.append(conn.execute("SELECT a, generate_series(1, a) FROM srf WHERE a <= 2 ORDER BY 1, 2").fetchall())
            out.append(conn.execute("SELECT count(*) FROM srf").fetchall())
            return out

    r = differential(scenario)
    assert r == [[(1, 1), (2, 2), (3, None)], [(1, 1), (2, 1), (2, 2)], [(4,)]]


def test_to_char_dates_and_times(differential):
    """to_char with numeric date and time patterns, in reads and in replicated writes."""

    def scenario(b):
        with connect(b, autocommit=True) as conn:
            out = [
                conn.execute(
                    "SELECT to_char(TIMESTAMP '2024-03-15 22:11:12.345678', 'YYYY-MM-DD HH24:MI:SS.MS US HH12 YY'), "
                    "to_char(DATE '2024-03-05', 'DD/MM/YYYY'), "
                    "to_char(TIMESTAMPTZ '2024-03-15 10:11:12+00', 'YYYY-MM-DD HH24:MI:SS 100%')"
                ).fetchall()
            ]
            conn.execute("CREATE TABLE tc (s text)")
            conn.execute("INSERT INTO tc SELECT to_char(TIMESTAMP '2024-01-02 03:04:05', 'YYYYMMDD')")
            out.append(conn.execute("SELECT s FROM tc").fetchall())
            return out

    r = differential(scenario)
    assert r == [
        [("2024-03-15 22:11:12.345 345678 10 24", "05/03/2024", "2024-03-15 10:11:12 100%")],
        [("20240102",)],
    ]


def test_similar_to_patterns(differential):
    """SIMILAR TO means PostgreSQL's SQL regular expressions: % and _ are wildcards, . ^ $ are plain."""
    query = (
        "SELECT 'a' SIMILAR TO 'a%', 'a.b' SIMILAR TO 'a.b', 'axb' SIMILAR TO 'a.b', 'a^b' SIMILAR TO 'a^b', "
        "'ab' SIMILAR TO '(a|x)b', 'a_b' SIMILAR TO 'a\\_b', 'a%' SIMILAR TO 'a\\%', 'abc' SIMILAR TO '[a-c]+', "
        "'a$' SIMILAR TO 'a$', 'abd' NOT SIMILAR TO 'a_d', 'x]' SIMILAR TO '[]x]+', 'AbC' SIMILAR TO 'a%'"
    )

    def scenario(b):
        with connect(b, autocommit=True) as conn:
            conn.execute("CREATE TABLE sim (s text)")
            conn.execute("INSERT INTO sim VALUES ('a.b'), ('axb'), ('ab')")
            conn.execute("DELETE FROM sim WHERE s SIMILAR TO 'a.b'")
            return [conn.execute(query).fetchall(), conn.execute("SELECT s FROM sim ORDER BY s").fetchall()]

    r = differential(scenario)
    assert r == [
        [(True, True, False, True, True, True, True, True, True, False, True, False)],
        [("ab",), ("axb",)],
    ]
