"""duckraft gaps the differential suite has found and that are not fixed yet.

Each entry is a test id (with its duckraft parameter) and what was observed.
They run as strict expected failures: the run reports them, and a gap that
starts passing fails the suite until it is removed from this list. Issue 2
stays open while this list is not empty.
"""

KNOWN_GAPS = {
    "test_psql.py::test_describe_table[duckraft]":
        "psql \\d shows text and varchar(n) columns as character varying: DuckDB keeps neither distinction",
    "test_psycopg.py::test_simple_query_multiple_statements[duckraft]":
        "sum() over integers is numeric (DuckDB sums into HUGEINT) where PostgreSQL returns bigint",
    "test_psycopg.py::test_transactions_and_isolation_levels[duckraft]":
        "sum() over integers is numeric (DuckDB sums into HUGEINT) where PostgreSQL returns bigint",
    "test_psycopg.py::test_type_round_trips[duckraft]":
        "a PostgreSQL cast spelling is rejected by DuckDB: syntax error at or near \"by\"",
    "test_psycopg.py::test_literal_casts[duckraft]":
        "differential mismatch in literal casts",
}
