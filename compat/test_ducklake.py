"""DuckLake scenarios: a real DuckDB 1.5.5 client uses the backend as its catalog.

Each scenario is a script of SQL steps run by fresh DuckDB processes
(``lake_runner.py``). Its recorded results — rows as normalised text, with
data paths, connection strings and UUIDs replaced by tokens and no wall-clock
columns selected — must be identical on duckraft and on PostgreSQL 15 (the
``differential`` fixture), and must also hold the expected values written
here, so that both backends being wrong the same way still fails.

Most scenarios run twice: with DuckLake's default data inlining (small
inserts land in ``ducklake_inlined_data_*`` tables inside the catalog, which
exercises the catalog server's type handling) and with inlining off (every
insert writes a Parquet file and only file metadata reaches the catalog).
"""

from __future__ import annotations

import time

import pytest

from conftest import finish_job, section, start_job

pytestmark = pytest.mark.timeout(600)

INLINE_MODES = {
    "inlined": "",  # DuckLake default: DATA_INLINING_ROW_LIMIT 10
    "files": "DATA_INLINING_ROW_LIMIT 0",
}


# -- script steps (see lake_runner.py)


def attach(options: str = "") -> dict:
    return {"op": "attach", "options": options}


def E(sql: str) -> dict:
    return {"op": "exec", "sql": sql}


def Q(label: str, sql: str, ordered: bool = False) -> dict:
    return {"op": "query", "label": label, "sql": sql, "ordered": ordered}


def ERR(label: str, sql: str) -> dict:
    return {"op": "error", "label": label, "sql": sql}


def FILES(label: str, pattern: str = "**/*.parquet") -> dict:
    return {"op": "files", "label": label, "glob": pattern}


def CATALOG(label: str, sql: str) -> dict:
    return {"op": "catalog", "label": label, "sql": sql}


SNAPSHOTS = "SELECT snapshot_id, schema_version, changes FROM lake.snapshots()"
LAKE_TABLES = "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'lake'"
LAKE_COLUMNS = (
    "SELECT schema_name, table_name, column_index, column_name, data_type, is_nullable "
    "FROM duckdb_columns() WHERE database_name = 'lake'"
)


# ---------------------------------------------------------------- scenarios


def test_attach_fresh_lake(differential):
    def scenario(b):
        return b.run_lake(
            [
                attach(),
                Q("snapshots", SNAPSHOTS),
                Q("options", "SELECT option_name, value, scope FROM lake.options()"),
                Q("tables", LAKE_TABLES),
                Q("schemas", "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'lake'"),
                CATALOG(
                    "catalog tables",
                    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE 'ducklake%'",
                ),
                CATALOG("catalog metadata", "SELECT key, value, scope FROM ducklake_metadata"),
                CATALOG("catalog schemas", "SELECT schema_id, schema_name, path, end_snapshot FROM ducklake_schema"),
                CATALOG(
                    "catalog snapshots",
                    "SELECT snapshot_id, schema_version, next_catalog_id, next_file_id FROM ducklake_snapshot",
                ),
            ]
        )

    r = differential(scenario)
    assert section(r, "snapshots") == ["0 | 0 | {'schemas_created': ['main']}"]
    assert section(r, "schemas") == ["main"]
    assert section(r, "tables") == []
    assert "data_path | <DATA>/ | GLOBAL" in section(r, "options")
    catalog_tables = section(r, "catalog tables")
    for t in ("ducklake_snapshot", "ducklake_table", "ducklake_column", "ducklake_data_file", "ducklake_metadata"):
        assert f"public | {t}" in catalog_tables, catalog_tables
    assert section(r, "catalog snapshots") == ["0 | 0 | 1 | 0"]


def test_schema_and_table_ddl(differential):
    def scenario(b):
        first = b.run_lake(
            [
                attach(),
                E("CREATE SCHEMA lake.s1"),
                E("CREATE SCHEMA IF NOT EXISTS lake.s1"),
                ERR("duplicate schema", "CREATE SCHEMA lake.s1"),
                E("CREATE TABLE lake.s1.a (id INTEGER NOT NULL, name VARCHAR)"),
                E("CREATE TABLE lake.main.b (x BIGINT, y DOUBLE)"),
                E("CREATE TABLE IF NOT EXISTS lake.main.b (z INTEGER)"),
                ERR("duplicate table", "CREATE TABLE lake.main.b (z INTEGER)"),
                E("CREATE TABLE lake.s1.c AS SELECT range AS i, 'v' || range AS v FROM range(5)"),
                E("CREATE TABLE lake.s1.gone (q INTEGER)"),
                E("DROP TABLE lake.s1.gone"),
                E("CREATE SCHEMA lake.s2"),
                E("CREATE TABLE lake.s2.t (k INTEGER)"),
                E("DROP TABLE lake.s2.t"),
                E("DROP SCHEMA lake.s2"),
                ERR("not null violated", "INSERT INTO lake.s1.a VALUES (NULL, 'x')"),
                ERR("missing table", "SELECT * FROM lake.main.nope"),
                Q("tables", LAKE_TABLES),
                Q("columns", LAKE_COLUMNS),
                Q("c", "SELECT i, v FROM lake.s1.c"),
                Q("snapshots", SNAPSHOTS),
            ]
        )
        # A second process sees exactly what the first one committed.
        second = b.run_lake(
            [
                attach(),
                Q("tables (second process)", LAKE_TABLES),
                Q("columns (second process)", LAKE_COLUMNS),
                Q("schemas (second process)", "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'lake'"),
            ]
        )
        return first + second

    r = differential(scenario)
    tables = ["main | b", "s1 | a", "s1 | c"]
    assert section(r, "tables") == tables
    assert section(r, "tables (second process)") == tables
    assert section(r, "columns") == section(r, "columns (second process)")
    assert "s1 | a | 1 | id | INTEGER | False" in section(r, "columns")
    assert section(r, "c") == [f"{i} | v{i}" for i in range(5)]
    assert section(r, "schemas (second process)") == ["main", "s1"]
    assert section(r, "duplicate table") == ["error CatalogException"]


TYPES_DDL = """
CREATE TABLE lake.ty (
    id INTEGER, d DECIMAL(18,3), d38 DECIMAL(38,10), dt DATE, ts TIMESTAMP, tstz TIMESTAMPTZ,
    u UUID, l INTEGER[], ls VARCHAR[], s STRUCT(a INTEGER, b VARCHAR),
    ns STRUCT(x INTEGER[], y STRUCT(z DOUBLE)), ll INTEGER[][], m MAP(VARCHAR, INTEGER),
    b BOOLEAN, bl BLOB, tm TIME, iv INTERVAL, f REAL, db DOUBLE, ti TINYINT, si SMALLINT,
    bi BIGINT, ub UBIGINT, v VARCHAR, j JSON
)"""

TYPES_ROWS = [
    """(1, 123.456, -1234567890123456789012345678.0123456789, DATE '2024-02-29',
        TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMPTZ '2024-01-02 03:04:05.5+02',
        '00000000-0000-0000-0000-000000000001', [1, 2, NULL], ['a', 'b''c', ''],
        {'a': 1, 'b': 'x'}, {'x': [1], 'y': {'z': 1.5}}, [[1], [2, 3]], MAP {'k': 1},
        true, '\\x00\\xFFab'::BLOB, TIME '12:34:56.789', INTERVAL '1 year 2 months 3 days 04:05:06',
        1.5, 2.25, -128, 32767, 9223372036854775807, 18446744073709551615, 'héllo ✓', '{"k": [1, 2]}')""",
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    """(3, -0.001, 0, DATE '1970-01-01', TIMESTAMP '1999-12-31 23:59:59', TIMESTAMPTZ '2000-01-01 00:00:00+00',
        'ffffffff-ffff-ffff-ffff-ffffffffffff', [], [NULL], {'a': NULL, 'b': NULL}, {'x': [], 'y': NULL},
        [[]], MAP {}, false, ''::BLOB, TIME '00:00:00', INTERVAL '36 hours', -0.0, 1e300, 127, -32768,
        -9223372036854775808, 0, '', '[]')""",
]


@pytest.mark.parametrize("mode", list(INLINE_MODES))
def test_common_and_nested_types(differential, mode):
    def scenario(b):
        first = b.run_lake(
            [
                attach(INLINE_MODES[mode]),
                E(TYPES_DDL),
                *[E(f"INSERT INTO lake.ty VALUES {row}") for row in TYPES_ROWS],
                Q("rows", "SELECT * FROM lake.ty ORDER BY id", ordered=True),
                Q("as text", "SELECT id, COLUMNS(* EXCLUDE (id))::VARCHAR FROM lake.ty ORDER BY id", ordered=True),
                Q("filter decimal", "SELECT id FROM lake.ty WHERE d > 0"),
                Q("filter date", "SELECT id FROM lake.ty WHERE dt = DATE '2024-02-29'"),
                Q("filter tstz", "SELECT id FROM lake.ty WHERE tstz >= TIMESTAMPTZ '2000-01-01 00:00:00+00'"),
                Q("filter uuid", "SELECT id FROM lake.ty WHERE u = 'ffffffff-ffff-ffff-ffff-ffffffffffff'"),
                Q("struct field", "SELECT id, s.a, s.b, ns.y.z, l[1], len(ls) FROM lake.ty"),
                CATALOG(
                    "catalog column types",
                    "SELECT column_id, column_name, column_type, parent_column FROM ducklake_column",
                ),
            ]
        )
        second = b.run_lake(
            [
                attach(INLINE_MODES[mode]),
                Q("rows (second process)", "SELECT * FROM lake.ty ORDER BY id", ordered=True),
                Q(
                    "types (second process)",
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'ty'",
                ),
            ]
        )
        return first + second

    r = differential(scenario, key=mode)
    assert section(r, "rows") == section(r, "rows (second process)")
    rows = section(r, "as text")
    assert len(rows) == 3
    assert rows[0].startswith(
        "1 | 123.456 | -1234567890123456789012345678.0123456789 | 2024-02-29 | 2024-01-02 03:04:05.123456 | 2024-01-02 01:04:05.5+00"
    )
    assert "[1, 2, NULL]" in rows[0] and "{'a': 1, 'b': x}" in rows[0] and "héllo ✓" in rows[0]
    assert rows[1] == "2 | " + " | ".join(["None"] * 24)
    assert section(r, "filter decimal") == ["1"]
    assert section(r, "filter date") == ["1"]
    assert section(r, "filter tstz") == ["1", "3"]
    assert section(r, "filter uuid") == ["3"]
    assert "j | JSON" in section(r, "types (second process)")
    assert "1 | 1 | x | 1.5 | 1 | 3" in section(r, "struct field")


@pytest.mark.parametrize("mode", list(INLINE_MODES))
def test_insert_update_delete(differential, mode):
    def scenario(b):
        return b.run_lake(
            [
                attach(INLINE_MODES[mode]),
                E("CREATE TABLE lake.t (id INTEGER, grp VARCHAR, amount DECIMAL(10,2))"),
                E("INSERT INTO lake.t VALUES (1, 'a', 10.50), (2, 'b', 20.25), (3, 'a', 30.00)"),
                E(
                    "INSERT INTO lake.t SELECT 100 + i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, i * 1.5 FROM range(50) r(i)"
                ),
                E("UPDATE lake.t SET amount = amount * 2 WHERE grp = 'a'"),
                E("UPDATE lake.t SET grp = 'B' WHERE id = 2"),
                E("DELETE FROM lake.t WHERE id % 7 = 0"),
                E("DELETE FROM lake.t WHERE grp = 'odd' AND id > 140"),
                E("BEGIN"),
                E("INSERT INTO lake.t VALUES (4, 'tx', 1.00)"),
                E("UPDATE lake.t SET amount = 0 WHERE id = 4"),
                E("COMMIT"),
                E("BEGIN"),
                E("INSERT INTO lake.t VALUES (5, 'rolled back', 1.00)"),
                E("DELETE FROM lake.t WHERE id = 1"),
                E("ROLLBACK"),
                Q("rows", "SELECT id, grp, amount FROM lake.t"),
                Q("aggregates", "SELECT count(*), sum(amount), count(DISTINCT grp) FROM lake.t"),
                Q("by group", "SELECT grp, count(*), sum(amount) FROM lake.t GROUP BY grp"),
                Q("snapshots", SNAPSHOTS),
            ]
        )

    r = differential(scenario, key=mode)
    rows = section(r, "rows")
    assert "1 | a | Decimal('21.00')" in rows
    assert "2 | B | Decimal('20.25')" in rows
    assert "4 | tx | Decimal('0.00')" in rows
    assert not any(row.startswith("5 |") for row in rows)
    # 3 + 50 inserted, ids divisible by 7 removed (105,112,...,147: 7 of them), odd ids > 140 not divisible by 7 removed
    removed = {i for i in range(100, 150) if i % 7 == 0} | {i for i in range(141, 150, 2) if i % 7 != 0}
    assert len(rows) == 3 + 50 - len(removed) + 1
    assert section(r, "aggregates")[0].startswith(f"{len(rows)} | ")


def test_alter_table(differential):
    def scenario(b):
        first = b.run_lake(
            [
                attach(),
                E("CREATE TABLE lake.people (id INTEGER, name VARCHAR, age INTEGER)"),
                E("INSERT INTO lake.people VALUES (1, 'ann', 30), (2, 'bob', 40)"),
                E("ALTER TABLE lake.people ADD COLUMN email VARCHAR"),
                E("ALTER TABLE lake.people ADD COLUMN score INTEGER DEFAULT 7"),
                E("INSERT INTO lake.people VALUES (3, 'cy', 50, 'cy@example.com', 9)"),
                Q("after add", "SELECT * FROM lake.people"),
                E("ALTER TABLE lake.people DROP COLUMN age"),
                Q("after drop", "SELECT * FROM lake.people"),
                E("ALTER TABLE lake.people RENAME COLUMN name TO full_name"),
                E("UPDATE lake.people SET full_name = upper(full_name) WHERE id = 2"),
                Q("after rename column", "SELECT id, full_name FROM lake.people"),
                ERR("old column name", "SELECT name FROM lake.people"),
                E("ALTER TABLE lake.people RENAME TO persons"),
                ERR("old table name", "SELECT * FROM lake.people"),
                Q("after rename table", "SELECT * FROM lake.persons"),
                Q("columns", LAKE_COLUMNS),
                Q("snapshots", SNAPSHOTS),
                Q("before alters", "SELECT * FROM lake.people AT (VERSION => 2)"),
            ]
        )
        second = b.run_lake(
            [
                attach(),
                Q("columns (second process)", LAKE_COLUMNS),
                Q("rows (second process)", "SELECT * FROM lake.persons"),
            ]
        )
        return first + second

    r = differential(scenario)
    assert section(r, "after add") == [
        "1 | ann | 30 | None | 7",
        "2 | bob | 40 | None | 7",
        "3 | cy | 50 | cy@example.com | 9",
    ]
    assert section(r, "after drop")[0] == "1 | ann | None | 7"
    assert section(r, "after rename column") == ["1 | ann", "2 | BOB", "3 | cy"]
    assert section(r, "old table name") == ["error CatalogException"]
    assert section(r, "rows (second process)") == section(r, "after rename table")
    assert section(r, "columns (second process)") == [
        "main | persons | 1 | id | INTEGER | True",
        "main | persons | 2 | full_name | VARCHAR | True",
        "main | persons | 3 | email | VARCHAR | True",
        "main | persons | 4 | score | INTEGER | True",
    ]
    assert section(r, "before alters") == ["1 | ann | 30", "2 | bob | 40"]


def test_views(differential):
    def scenario(b):
        first = b.run_lake(
            [
                attach(),
                E("CREATE TABLE lake.sales (region VARCHAR, amount INTEGER)"),
                E("INSERT INTO lake.sales VALUES ('n', 1), ('n', 2), ('s', 5)"),
                E("CREATE VIEW lake.totals AS SELECT region, sum(amount) AS total FROM lake.sales GROUP BY region"),
                E("CREATE SCHEMA lake.rep"),
                E("CREATE VIEW lake.rep.big AS SELECT * FROM lake.main.totals WHERE total > 2"),
                Q("totals", "SELECT * FROM lake.totals"),
                Q("big", "SELECT * FROM lake.rep.big"),
                E("INSERT INTO lake.sales VALUES ('w', 10)"),
                Q("big after insert", "SELECT * FROM lake.rep.big"),
                E(
                    "CREATE OR REPLACE VIEW lake.totals AS SELECT region, max(amount) AS total FROM lake.sales GROUP BY region"
                ),
                Q("replaced", "SELECT * FROM lake.totals"),
                E("CREATE VIEW lake.doomed AS SELECT 1 AS one"),
                E("DROP VIEW lake.doomed"),
                Q("views", "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'lake'"),
            ]
        )
        second = b.run_lake(
            [
                attach(),
                Q(
                    "views (second process)",
                    "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = 'lake'",
                ),
                Q("big (second process)", "SELECT * FROM lake.rep.big"),
            ]
        )
        return first + second

    r = differential(scenario)
    assert section(r, "totals") == ["n | 3", "s | 5"]
    assert section(r, "big") == ["n | 3", "s | 5"]
    assert section(r, "big after insert") == ["n | 3", "s | 5", "w | 10"]
    assert section(r, "replaced") == ["n | 2", "s | 5", "w | 10"]
    assert section(r, "views") == ["main | totals", "rep | big"]
    assert section(r, "views (second process)") == ["main | totals", "rep | big"]
    assert section(r, "big (second process)") == ["s | 5", "w | 10"]


@pytest.mark.parametrize("mode", list(INLINE_MODES))
def test_time_travel_snapshots_and_changes(differential, mode):
    versions = range(1, 8)

    def scenario(b):
        return b.run_lake(
            [
                attach(INLINE_MODES[mode]),
                E("CREATE TABLE lake.t (k INTEGER, v VARCHAR)"),  # snapshot 1
                E("INSERT INTO lake.t VALUES (1, 'one'), (2, 'two')"),  # 2
                E("INSERT INTO lake.t VALUES (3, 'three')"),  # 3
                E("UPDATE lake.t SET v = 'TWO' WHERE k = 2"),  # 4
                E("DELETE FROM lake.t WHERE k = 1"),  # 5
                E("ALTER TABLE lake.t ADD COLUMN w INTEGER DEFAULT 0"),  # 6
                E("INSERT INTO lake.t VALUES (4, 'four', 4)"),  # 7
                *[Q(f"at {v}", f"SELECT * FROM lake.t AT (VERSION => {v})") for v in versions[1:]],
                ERR("before creation", "SELECT * FROM lake.t AT (VERSION => 0)"),
                ERR("future", "SELECT * FROM lake.t AT (VERSION => 99)"),
                Q("snapshots", SNAPSHOTS),
                Q("current snapshot", "SELECT id FROM lake.current_snapshot()"),
                Q("changes 2..5", "SELECT snapshot_id, change_type, k, v FROM lake.table_changes('t', 2, 5)"),
                Q(
                    "changes 6..7",
                    "SELECT snapshot_id, change_type, k, v, w FROM ducklake_table_changes('lake', 'main', 't', 6, 7)",
                ),
                Q("insertions 3..7", "SELECT snapshot_id, k FROM ducklake_table_insertions('lake', 'main', 't', 3, 7)"),
                Q("deletions 3..7", "SELECT snapshot_id, k FROM ducklake_table_deletions('lake', 'main', 't', 3, 7)"),
                attach(f"SNAPSHOT_VERSION 3{', ' if INLINE_MODES[mode] else ''}{INLINE_MODES[mode]}")
                | {"alias": "lake_v3"},
                Q("attached at version 3", "SELECT * FROM lake_v3.t"),
                ERR("read-only old version", "INSERT INTO lake_v3.t VALUES (9, 'nine')"),
            ]
        )

    r = differential(scenario, key=mode)
    assert section(r, "at 2") == ["1 | one", "2 | two"]
    assert section(r, "at 3") == ["1 | one", "2 | two", "3 | three"]
    assert section(r, "at 4") == ["1 | one", "2 | TWO", "3 | three"]
    assert section(r, "at 5") == ["2 | TWO", "3 | three"]
    assert section(r, "at 6") == ["2 | TWO | 0", "3 | three | 0"]
    assert section(r, "at 7") == ["2 | TWO | 0", "3 | three | 0", "4 | four | 4"]
    assert section(r, "attached at version 3") == section(r, "at 3")
    assert section(r, "current snapshot") == ["7"]
    assert len(section(r, "snapshots")) == 8
    changes = section(r, "changes 2..5")
    assert "2 | insert | 1 | one" in changes
    assert "4 | update_postimage | 2 | TWO" in changes
    assert "5 | delete | 1 | one" in changes
    assert section(r, "changes 6..7") == ["7 | insert | 4 | four | 4"]


def test_maintenance_functions(differential):
    def scenario(b):
        data = b.data_path()
        return b.run_lake(
            [
                attach(INLINE_MODES["files"]),
                E("CREATE TABLE lake.m (i INTEGER, s VARCHAR)"),
                *[E(f"INSERT INTO lake.m SELECT {n} * 10 + r, 'batch {n}' FROM range(10) t(r)") for n in range(6)],
                FILES("files after inserts"),
                Q("listed files before merge", "SELECT count(*) FROM ducklake_list_files('lake', 'm')"),
                Q(
                    "merge",
                    "SELECT schema_name, table_name, files_processed, files_created FROM ducklake_merge_adjacent_files('lake')",
                ),
                Q("listed files after merge", "SELECT count(*) FROM ducklake_list_files('lake', 'm')"),
                E("DELETE FROM lake.m WHERE i % 10 = 9"),
                Q("rewrite", "SELECT * FROM ducklake_rewrite_data_files('lake', 'm', delete_threshold => 0)"),
                Q(
                    "listed files after rewrite",
                    "SELECT count(*), count(delete_file) FROM ducklake_list_files('lake', 'm')",
                ),
                Q("rows after merge", "SELECT count(*), sum(i), min(i), max(i) FROM lake.m"),
                Q("old version still readable", "SELECT count(*) FROM lake.m AT (VERSION => 3)"),
                Q(
                    "expire dry run",
                    "SELECT snapshot_id FROM ducklake_expire_snapshots('lake', dry_run => true, versions => [2, 3])",
                ),
                Q("expire versions", "SELECT snapshot_id FROM ducklake_expire_snapshots('lake', versions => [2, 3])"),
                Q(
                    "snapshots after expire by version",
                    "SELECT snapshot_id FROM lake.snapshots() ORDER BY 1",
                    ordered=True,
                ),
                ERR("expired version unreadable", "SELECT count(*) FROM lake.m AT (VERSION => 3)"),
                Q(
                    "expire older than now",
                    "SELECT snapshot_id FROM ducklake_expire_snapshots('lake', older_than => now()) ORDER BY 1",
                    ordered=True,
                ),
                Q("snapshots after expire", "SELECT snapshot_id, changes FROM lake.snapshots()"),
                Q(
                    "cleanup dry run",
                    "SELECT count(*) FROM ducklake_cleanup_old_files('lake', dry_run => true, cleanup_all => true)",
                ),
                Q("cleanup", "SELECT count(*) FROM ducklake_cleanup_old_files('lake', cleanup_all => true)"),
                Q("cleanup again", "SELECT count(*) FROM ducklake_cleanup_old_files('lake', cleanup_all => true)"),
                FILES("files after cleanup"),
                Q("rows after cleanup", "SELECT count(*), sum(i), min(i), max(i) FROM lake.m"),
                CATALOG("catalog scheduled deletions", "SELECT count(*) FROM ducklake_files_scheduled_for_deletion"),
                CATALOG("catalog data files", "SELECT count(*) FROM ducklake_data_file WHERE end_snapshot IS NULL"),
                # A table with inlined data, flushed to Parquet.
                E("CREATE TABLE lake.inl (x INTEGER)"),
                E("CALL lake.set_option('data_inlining_row_limit', 100, table_name => 'inl')"),
                E("INSERT INTO lake.inl VALUES (1), (2), (3)"),
                Q("inlined files", "SELECT count(*) FROM ducklake_list_files('lake', 'inl')"),
                Q("flush", "SELECT table_name, rows_flushed FROM ducklake_flush_inlined_data('lake')"),
                Q("flushed files", "SELECT count(*) FROM ducklake_list_files('lake', 'inl')"),
                Q("flushed rows", "SELECT x FROM lake.inl"),
            ],
            data_path=data,
        )

    r = differential(scenario)
    assert section(r, "files after inserts") == ["6"]
    assert section(r, "listed files before merge") == ["6"]
    assert section(r, "merge") == ["main | m | 6 | 1"]
    assert section(r, "listed files after merge") == ["1"]
    assert section(r, "rewrite") == ["main | m | 1 | 1"]
    assert section(r, "listed files after rewrite") == ["1 | 0"]
    assert section(r, "rows after merge") == ["54 | 1566 | 0 | 58"]
    assert section(r, "old version still readable") == ["20"]
    assert section(r, "expire dry run") == ["2", "3"]
    assert section(r, "expire versions") == ["2", "3"]
    assert section(r, "snapshots after expire by version") == ["0", "1", "4", "5", "6", "7", "8", "9", "10"]
    assert section(r, "expired version unreadable") == ["error InvalidInputException"]
    assert section(r, "snapshots after expire") == ["10 | {'rewrite_delete': ['1']}"]
    # 6 inserted files, the merged file, and the delete file, all replaced by the rewrite
    assert section(r, "cleanup dry run") == ["8"]
    assert section(r, "cleanup") == ["8"]
    assert section(r, "cleanup again") == ["0"]
    assert section(r, "files after cleanup") == ["1"]
    assert section(r, "rows after cleanup") == section(r, "rows after merge")
    assert section(r, "catalog scheduled deletions") == ["0"]
    assert section(r, "catalog data files") == ["1"]
    assert section(r, "inlined files") == ["0"]
    assert section(r, "flush") == ["inl | 3"]
    assert section(r, "flushed files") == ["1"]
    assert section(r, "flushed rows") == ["1", "2", "3"]


def test_reattach_from_second_process(differential):
    def scenario(b):
        data = b.data_path()
        results = []
        results += b.run_lake(
            [
                attach(),
                E("CREATE TABLE lake.events (id INTEGER, payload VARCHAR)"),
                E("INSERT INTO lake.events SELECT i, 'p' || i FROM range(25) t(i)"),
                E("INSERT INTO lake.events VALUES (1000, 'small')"),
                Q("writer sees", "SELECT count(*), sum(id) FROM lake.events"),
            ],
            data_path=data,
        )
        results += b.run_lake(
            [
                attach(),
                Q("second process sees", "SELECT count(*), sum(id) FROM lake.events"),
                E("UPDATE lake.events SET payload = 'updated' WHERE id < 5"),
                E("DELETE FROM lake.events WHERE id = 1000"),
                E("DETACH lake"),
                attach(),
                Q("after own re-attach", "SELECT count(*), sum(id) FROM lake.events"),
            ],
            data_path=data,
        )
        results += b.run_lake(
            [
                attach(),
                Q("third process sees", "SELECT id, payload FROM lake.events WHERE id < 7"),
                Q("third process snapshots", SNAPSHOTS),
            ],
            data_path=data,
        )
        return results

    r = differential(scenario)
    assert section(r, "writer sees") == ["26 | 1300"]
    assert section(r, "second process sees") == ["26 | 1300"]
    assert section(r, "after own re-attach") == ["25 | 300"]
    assert section(r, "third process sees") == [f"{i} | updated" for i in range(5)] + ["5 | p5", "6 | p6"]


WRITERS = 4
COMMITS_PER_WRITER = 15
ROWS_PER_COMMIT = 3


def test_concurrent_writers(differential):
    """At least 4 writer processes commit small inserts at once; every
    acknowledged row is there exactly once and nothing else is."""

    def scenario(b):
        data = b.data_path()
        b.run_lake([attach(), E("CREATE TABLE lake.w (writer INTEGER, seq INTEGER, k INTEGER)")], data_path=data)
        start_at = time.time() + 3.0  # every writer is attached and waiting by then
        jobs = [
            b.job(
                "writer",
                data,
                table="lake.w",
                writer_id=w,
                commits=COMMITS_PER_WRITER,
                rows_per_commit=ROWS_PER_COMMIT,
                start_at=start_at,
                count_catalog_attempts=True,
            )
            for w in range(WRITERS)
        ]
        procs = [start_job(job) for job in jobs]
        outs = [finish_job(p, job, timeout_s=300) for p, job in zip(procs, jobs, strict=True)]
        for out in outs:
            assert out["errors"] == [], f"{b.name} writer {out['writer_id']}: {out['errors']}"
            assert out["gave_up"] == 0, f"{b.name} writer {out['writer_id']} gave up on conflicts"
        acknowledged = sorted(
            f"{o['writer_id']} | {seq} | {k}" for o in outs for seq in o["acknowledged"] for k in range(ROWS_PER_COMMIT)
        )
        check = b.run_lake(
            [
                attach(),
                Q("rows", "SELECT writer, seq, k FROM lake.w"),
                Q("duplicates", "SELECT writer, seq, k, count(*) FROM lake.w GROUP BY ALL HAVING count(*) > 1"),
                Q("snapshot count", "SELECT count(*) FROM lake.snapshots()"),
            ],
            data_path=data,
        )
        rows = section(check, "rows")
        assert rows == acknowledged, (
            f"{b.name}: table differs from acknowledged commits: "
            f"missing {sorted(set(acknowledged) - set(rows))[:10]}, extra {sorted(set(rows) - set(acknowledged))[:10]}"
        )
        commits = len(acknowledged) // ROWS_PER_COMMIT
        retries = sum(o["conflict_retries"] for o in outs)
        internal = sum(o["catalog_commit_attempts"] for o in outs) - commits
        print(
            f"{b.name}: {WRITERS} writers, {commits} commits, {internal} DuckLake-internal retries, {retries} client retries"
        )
        return check

    r = differential(scenario)
    assert len(section(r, "rows")) == WRITERS * COMMITS_PER_WRITER * ROWS_PER_COMMIT
    assert section(r, "duplicates") == []
    # snapshot 0 (schema), 1 (CREATE TABLE) and one per acknowledged commit
    assert section(r, "snapshot count") == [str(2 + WRITERS * COMMITS_PER_WRITER)]
