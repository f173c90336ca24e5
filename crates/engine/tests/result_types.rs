//! Results PostgreSQL gives and DuckDB does not, through a session on real
//! DuckDB: `sum` over smallint and integer is bigint, and bytea and arrays
//! cast to text are spelled as PostgreSQL spells them.

use duckraft_engine::EngineSession;
use duckraft_sql::types::{oid, Value};
use duckraft_sql::SqlKind;

mod common;
use common::catalogs;

fn session(dir: &tempfile::TempDir) -> EngineSession {
    let catalogs = catalogs(dir);
    catalogs.create("lake").unwrap();
    EngineSession::new(catalogs.open("lake").unwrap()).unwrap()
}

#[test]
fn sum_of_small_integers_is_bigint_and_of_bigints_numeric() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = session(&dir);
    session
        .execute(
            "CREATE TABLE s (a integer, b bigint, c smallint, d numeric(5,2))",
            SqlKind::Ddl,
            &[],
        )
        .unwrap();
    session
        .execute(
            "INSERT INTO s VALUES (1, 2, 3, 1.5), (2, 3, 4, 1.25)",
            SqlKind::Write,
            &[],
        )
        .unwrap();
    let sql = "SELECT sum(a) AS sa, sum(b), SUM(c) FILTER (WHERE c > 3), sum(d), sum(a) + 1 FROM s";
    let expected_types = [
        oid::INT8,
        oid::NUMERIC,
        oid::INT8,
        oid::NUMERIC,
        oid::NUMERIC,
    ];
    let result = session.execute(sql, SqlKind::Read, &[]).unwrap();
    let types: Vec<u32> = result.columns.iter().map(|c| c.type_oid).collect();
    assert_eq!(types, expected_types);
    assert_eq!(
        result.rows,
        vec![vec![
            Value::Int8(3),
            Value::Numeric("5".into()),
            Value::Int8(4),
            Value::Numeric("2.75".into()),
            Value::Numeric("4".into()),
        ]]
    );
    let (_, described) = session.describe(sql, &[]).unwrap();
    let described: Vec<u32> = described.unwrap().iter().map(|c| c.type_oid).collect();
    assert_eq!(described, expected_types);
    // A window sum too.
    let window = session
        .execute("SELECT sum(a) OVER (ORDER BY a) FROM s", SqlKind::Read, &[])
        .unwrap();
    assert_eq!(window.columns[0].type_oid, oid::INT8);
    assert_eq!(
        window.rows,
        vec![vec![Value::Int8(1)], vec![Value::Int8(3)]]
    );
}

#[test]
fn bytea_and_arrays_cast_to_text_read_as_postgres_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut session = session(&dir);
    session
        .execute(
            "CREATE TABLE r (id integer, by bytea, ai integer[], tx text[], ab boolean[], af double precision[])",
            SqlKind::Ddl,
            &[],
        )
        .unwrap();
    session
        .execute(
            "INSERT INTO r VALUES (1, decode('0001feff', 'hex'), ARRAY[1, 2, NULL, -3], \
             ARRAY['a', 'b c', NULL, '\"q\"', ''], ARRAY[true, false], ARRAY[1.5, 2]), \
             (2, decode('', 'hex'), ARRAY[]::integer[], ARRAY[]::text[], NULL, NULL)",
            SqlKind::Write,
            &[],
        )
        .unwrap();
    let result = session
        .execute(
            "SELECT \"by\"::text, r.ai::text AS ai, CAST(tx AS varchar), ab::text, af::text, id::text FROM r ORDER BY id",
            SqlKind::Read,
            &[],
        )
        .unwrap();
    let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["by", "ai", "tx", "ab", "af", "id"]);
    let text = |s: &str| Value::Text(s.to_string());
    assert_eq!(
        result.rows,
        vec![
            vec![
                text("\\x0001feff"),
                text("{1,2,NULL,-3}"),
                text(r#"{a,"b c",NULL,"\"q\"",""}"#),
                text("{t,f}"),
                text("{1.5,2}"),
                text("1"),
            ],
            vec![
                text("\\x"),
                text("{}"),
                text("{}"),
                Value::Null,
                Value::Null,
                text("2")
            ],
        ]
    );
}
