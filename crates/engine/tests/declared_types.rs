//! Declared `text` and `varchar(n)` columns (`duckraft_sql::column_defs`)
//! through the replicated apply, a session and a reopen, against real
//! DuckDB: they keep their PostgreSQL type, and string functions take them.
//! And the two spellings of the DuckDB-to-PostgreSQL type mapping in
//! `pg_catalog.sql` agree on every kind of column.

use duckraft_engine::command::{self, Command, Envelope, WriteBatch, WriteOp};
use duckraft_engine::replica::{Committed, Outcome};
use duckraft_engine::EngineSession;
use duckraft_sql::types::{oid, Value};
use duckraft_sql::SqlKind;

mod common;
use common::catalogs;

const NAME: &str = "lake";

/// A log entry holding `statements`, rewritten as a proposer would.
fn entry(statements: &[&str]) -> Vec<u8> {
    let ops = statements
        .iter()
        .map(|s| WriteOp::Sql(duckraft_sql::compat::for_duckdb(s).into_owned()))
        .collect();
    command::encode(&Envelope {
        id: None,
        command: Command::Catalog(WriteBatch::autocommit(Vec::new(), ops)),
    })
}

fn read(session: &mut EngineSession, sql: &str) -> (Vec<(u32, i32)>, Vec<Vec<Value>>) {
    let result = session.execute(sql, SqlKind::Read, &[]).unwrap();
    let types = result
        .columns
        .iter()
        .map(|c| (c.type_oid, c.type_modifier))
        .collect();
    (types, result.rows)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

#[test]
fn declared_string_types_survive_the_apply_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let select = "SELECT a, b, c, upper(b) || a, length(c) FROM t";
    {
        let catalogs = catalogs(&dir);
        catalogs.create(NAME).unwrap();
        let catalog = catalogs.open(NAME).unwrap();
        let mut replica = catalog.open_replica().unwrap();
        // 4096 is above the lengths registered when the catalog opens.
        let data = entry(&[
            "CREATE TABLE t (a text, b varchar(20) UNIQUE, c character varying(4096), d varchar)",
            "INSERT INTO t VALUES ('x', 'y', 'z', 'w')",
        ]);
        let outcomes = replica
            .apply(&[Committed {
                index: 1,
                term: 1,
                data: &data,
            }])
            .unwrap();
        assert!(
            matches!(outcomes[0].2, Outcome::Applied { rows: 1 }),
            "{:?}",
            outcomes[0].2
        );
        let mut session = EngineSession::new(catalog).unwrap();
        let (types, rows) = read(&mut session, select);
        assert_eq!(
            types,
            vec![
                (oid::TEXT, -1),
                (oid::VARCHAR, 24),
                (oid::VARCHAR, 4100),
                (oid::TEXT, -1),
                (oid::INT8, -1)
            ]
        );
        assert_eq!(
            rows,
            vec![vec![
                text("x"),
                text("y"),
                text("z"),
                text("Yx"),
                Value::Int8(1)
            ]]
        );
        // A unique index on a declared column still holds.
        let duplicate = entry(&["INSERT INTO t VALUES ('x', 'y', 'z', 'w')"]);
        let outcomes = replica
            .apply(&[Committed {
                index: 2,
                term: 1,
                data: &duplicate,
            }])
            .unwrap();
        assert!(
            matches!(&outcomes[0].2, Outcome::Failed { sqlstate, .. } if sqlstate == "23505"),
            "{:?}",
            outcomes[0].2
        );
        drop(session);
        drop(replica);
        catalogs.checkpoint_all().unwrap();
    }
    // A reopened catalog registers the lengths its tables use.
    let catalogs = catalogs(&dir);
    let catalog = catalogs.open(NAME).unwrap();
    let mut session = EngineSession::new(catalog).unwrap();
    let (types, rows) = read(&mut session, select);
    assert_eq!(types[2], (oid::VARCHAR, 4100));
    assert_eq!(rows[0][3], text("Yx"));
    let (_, described) = read(
        &mut session,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = 't' AND a.attnum > 0 ORDER BY a.attnum",
    );
    let described: Vec<Vec<Value>> = described;
    assert_eq!(
        described,
        vec![
            vec![text("a"), text("text")],
            vec![text("b"), text("character varying(20)")],
            vec![text("c"), text("character varying(4096)")],
            vec![text("d"), text("character varying")],
        ]
    );
}

#[test]
fn a_new_length_inside_a_session_transaction_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    catalogs.create(NAME).unwrap();
    let mut session = EngineSession::new(catalogs.open(NAME).unwrap()).unwrap();
    session.begin(None).unwrap();
    session.execute("SELECT 1", SqlKind::Read, &[]).unwrap();
    let error = session
        .execute("CREATE TABLE u (v varchar(5000))", SqlKind::Ddl, &[])
        .unwrap_err();
    assert_eq!(error.sqlstate, "0A000");
    session.rollback().unwrap();
    // The length is registered now: the next transaction may use it.
    session.begin(None).unwrap();
    session
        .execute("CREATE TABLE u (v varchar(5000))", SqlKind::Ddl, &[])
        .unwrap();
    session.commit().unwrap();
}

/// `pg_attribute` maps types with joins, `information_schema.columns` with
/// the `duckraft_pgtype` macro: both must say the same of every column.
#[test]
fn pg_attribute_types_agree_with_the_type_mapping_macro() {
    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    catalogs.create(NAME).unwrap();
    let catalog = catalogs.open(NAME).unwrap();
    let mut replica = catalog.open_replica().unwrap();
    let data = entry(&[
        "CREATE TYPE mood AS ENUM ('sad', 'ok')",
        "CREATE TABLE kinds (e mood, es mood[], n numeric(10, 3), n2 DECIMAL(4, 0), i INTEGER[], ii INTEGER[][], \
         s VARCHAR[], v varchar(20), vs varchar(20)[], t text, st STRUCT(a INT), m MAP(VARCHAR, INT), \
         un UNION(a INT, b VARCHAR), u uuid, j json, ts timestamptz, b bytea, c VARCHAR COLLATE nocase, \
         h HUGEINT, bits BIT, d double precision, ds DOUBLE[])",
        "CREATE VIEW kinds_view AS SELECT e, n, vs FROM kinds",
    ]);
    let outcomes = replica
        .apply(&[Committed {
            index: 1,
            term: 1,
            data: &data,
        }])
        .unwrap();
    assert!(
        matches!(outcomes[0].2, Outcome::Applied { .. }),
        "{:?}",
        outcomes[0].2
    );
    let mut session = EngineSession::new(catalog).unwrap();
    let (_, compared) = read(
        &mut session,
        "SELECT count(*), count(*) FILTER ( \
             {'oid': c.atttypid, 'typmod': c.atttypmod, 'ndims': c.attndims} \
             IS DISTINCT FROM duckraft_pg.main.duckraft_pgtype(c.duckdb_type)), \
           list(c.attname || ' ' || c.duckdb_type) FILTER ( \
             {'oid': c.atttypid, 'typmod': c.atttypmod, 'ndims': c.attndims} \
             IS DISTINCT FROM duckraft_pg.main.duckraft_pgtype(c.duckdb_type)) \
         FROM duckraft_pg.main.duckraft_columns c WHERE c.relname IN ('kinds', 'kinds_view')",
    );
    assert_eq!(compared[0][0], Value::Int8(25), "{compared:?}");
    assert_eq!(compared[0][1], Value::Int8(0), "{compared:?}");
    // And the mapping is PostgreSQL's, not two equal mistakes. Two known
    // gaps: arrays of an enum or of a declared length are `text[]` here,
    // where PostgreSQL says `mood[]` and `character varying(20)[]`.
    let (_, described) = read(
        &mut session,
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = 'kinds' AND a.attnum > 0 ORDER BY a.attnum",
    );
    let described: Vec<Value> = described.into_iter().map(|mut row| row.remove(0)).collect();
    let expected = [
        "mood",
        "text[]",
        "numeric(10,3)",
        "numeric(4,0)",
        "integer[]",
        "integer[]",
        "text[]",
        "character varying(20)",
        "text[]",
        "text",
        "json",
        "json",
        "json",
        "uuid",
        "json",
        "timestamp with time zone",
        "bytea",
        "character varying",
        "numeric",
        "bit varying",
        "double precision",
        "double precision[]",
    ];
    assert_eq!(
        described,
        expected.iter().map(|s| text(s)).collect::<Vec<_>>()
    );
}
