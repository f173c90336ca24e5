//! `Catalog::describe` remembers shapes per schema epoch: a replicated
//! schema change is seen at once, the division setting is part of the key,
//! and a catalog without a replica (DDL committed by sessions) caches nothing.

use duckraft_engine::command::{self, Command, Envelope, WriteBatch, WriteOp};
use duckraft_engine::replica::{Committed, Outcome, Replica};
use duckraft_engine::{Catalogs, EngineSession};
use duckraft_sql::SqlKind;

mod common;

const NAME: &str = "lake";

struct Node {
    catalogs: Catalogs,
    replica: Replica,
    applied: u64,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let catalogs = common::catalogs(&dir);
        catalogs.create(NAME).unwrap();
        let replica = catalogs.open(NAME).unwrap().open_replica().unwrap();
        Node {
            catalogs,
            replica,
            applied: 0,
            _dir: dir,
        }
    }

    fn apply(&mut self, statement: &str) {
        let writes = duckraft_sql::access::statement_access(statement, true, false)
            .writes
            .into_iter()
            .collect();
        let data = command::encode(&Envelope {
            id: None,
            command: Command::Catalog(WriteBatch::autocommit(
                writes,
                vec![WriteOp::Sql(statement.to_string())],
            )),
        });
        self.applied += 1;
        let outcomes = self
            .replica
            .apply(&[Committed {
                index: self.applied,
                term: 1,
                data: &data,
            }])
            .unwrap();
        assert!(
            matches!(outcomes[0].2, Outcome::Applied { .. }),
            "{statement}: {:?}",
            outcomes[0].2
        );
    }

    /// Result column names and DuckDB type ids of `sql`.
    fn columns(&self, sql: &str, integer_division: bool) -> Vec<(String, u32)> {
        let shape = self
            .catalogs
            .open(NAME)
            .unwrap()
            .describe(sql, integer_division)
            .unwrap();
        shape
            .columns
            .into_iter()
            .map(|(name, t)| (name, t.id))
            .collect()
    }
}

fn names(columns: &[(String, u32)]) -> Vec<&str> {
    columns.iter().map(|(name, _)| name.as_str()).collect()
}

#[test]
fn a_replicated_schema_change_is_described_at_once() {
    let mut node = Node::new();
    node.apply("CREATE TABLE t (a INTEGER)");
    let query = "SELECT * FROM t";
    assert_eq!(names(&node.columns(query, false)), ["a"]);
    node.apply("INSERT INTO t VALUES (1)");
    assert_eq!(names(&node.columns(query, false)), ["a"]);

    node.apply("ALTER TABLE t ADD COLUMN b VARCHAR");
    assert_eq!(names(&node.columns(query, false)), ["a", "b"]);

    let before = node.columns(query, false);
    node.apply("ALTER TABLE t ALTER COLUMN a TYPE BIGINT");
    let after = node.columns(query, false);
    assert_ne!(
        before[0].1, after[0].1,
        "the column's new type is described"
    );

    node.apply("DROP TABLE t");
    let gone = node.catalogs.open(NAME).unwrap().describe(query, false);
    assert!(
        gone.is_err(),
        "a dropped table is not described from memory"
    );
}

#[test]
fn each_division_setting_has_its_own_shapes() {
    let mut node = Node::new();
    node.apply("CREATE TABLE t (a INTEGER)");
    let query = "SELECT 7 / 2 AS q";
    let double = node.columns(query, false);
    let integer = node.columns(query, true);
    assert_ne!(double[0].1, integer[0].1);
    assert_eq!(node.columns(query, false), double);
    assert_eq!(node.columns(query, true), integer);
}

#[test]
fn without_a_replica_session_ddl_is_described_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let catalogs = common::catalogs(&dir);
    catalogs.create(NAME).unwrap();
    let catalog = catalogs.open(NAME).unwrap();
    let mut session = EngineSession::new(catalog.clone()).unwrap();
    session
        .execute("CREATE TABLE t (a INTEGER)", SqlKind::Ddl, &[])
        .unwrap();
    let query = "SELECT * FROM t";
    assert_eq!(catalog.describe(query, false).unwrap().columns.len(), 1);
    session
        .execute("ALTER TABLE t ADD COLUMN b VARCHAR", SqlKind::Ddl, &[])
        .unwrap();
    assert_eq!(catalog.describe(query, false).unwrap().columns.len(), 2);
}
