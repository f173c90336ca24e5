//! A session's proposed transaction committed as its own log entry
//! (`Replica::adopt`), against real DuckDB files: the node ends in the state,
//! bookkeeping and answers of a node that applies the entry again, and every
//! case where that is not provably so falls back to applying it again.

use duckraft_engine::command::{self, Command, Envelope, ProposalId, WriteBatch, WriteOp};
use duckraft_engine::replica::{Committed, Outcome, Replica};
use duckraft_engine::session::Proposed;
use duckraft_engine::{Catalogs, EngineSession};
use duckraft_sql::SqlKind;

mod common;

const NAME: &str = "lake";

/// One node's catalog and replica, with tables `t` and `u` created by entry 1.
struct Node {
    catalogs: Catalogs,
    replica: Replica,
    _dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let catalogs = common::catalogs(&dir);
        catalogs.create(NAME).unwrap();
        let mut replica = catalogs.open(NAME).unwrap().open_replica().unwrap();
        let setup = autocommit(&[
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)",
            "CREATE TABLE u (id INTEGER)",
        ]);
        let outcomes = replica.apply(&[committed(1, &setup)]).unwrap();
        assert_eq!(outcomes[0].2, Outcome::Applied { rows: 0 });
        Node {
            catalogs,
            replica,
            _dir: dir,
        }
    }

    fn session(&self) -> EngineSession {
        EngineSession::new(self.catalogs.open(NAME).unwrap()).unwrap()
    }

    fn apply(&mut self, index: u64, data: &[u8]) -> Outcome {
        let mut outcomes = self.replica.apply(&[committed(index, data)]).unwrap();
        assert_eq!(outcomes.len(), 1);
        outcomes.remove(0).2
    }

    fn rows(&self) -> Vec<(i32, String)> {
        let session = self.catalogs.open(NAME).unwrap().connect().unwrap();
        let mut statement = session.prepare("SELECT id, v FROM t ORDER BY id").unwrap();
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }
}

fn committed(index: u64, data: &[u8]) -> Committed<'_> {
    Committed {
        index,
        term: 1,
        data,
    }
}

/// An autocommit entry; its write set names what the statements write, as
/// the front door's does.
fn autocommit(statements: &[&str]) -> Vec<u8> {
    let ops = statements.iter().map(|s| WriteOp::Sql(s.to_string()));
    command::encode(&Envelope {
        id: None,
        command: Command::Catalog(WriteBatch::autocommit(writes_of(statements), ops.collect())),
    })
}

fn writes_of(statements: &[&str]) -> Vec<String> {
    let mut writes: Vec<String> = statements
        .iter()
        .flat_map(|s| duckraft_sql::access::statement_access(s, true, false).writes)
        .collect();
    writes.sort();
    writes.dedup();
    writes
}

fn entry(id: ProposalId, batch: &WriteBatch) -> Vec<u8> {
    command::encode(&Envelope {
        id: Some(id),
        command: Command::Catalog(batch.clone()),
    })
}

fn id(seq: u64) -> ProposalId {
    ProposalId { client: 7, seq }
}

/// Runs `statements` in a transaction of `session` as the front door does
/// (tentatively, on the session's snapshot) and proposes it as `id`: the
/// batch the entry carries.
fn run_and_propose(session: &mut EngineSession, id: ProposalId, statements: &[&str]) -> WriteBatch {
    session.begin(None).unwrap();
    let snapshot_index = session.applied_index().unwrap();
    let transaction_id = session.transaction_id().unwrap();
    let mut rows = 0;
    for statement in statements {
        rows += session
            .execute_exact(statement, SqlKind::Write)
            .unwrap()
            .affected_rows;
    }
    let writes = writes_of(statements);
    let batch = WriteBatch {
        snapshot_index: Some(snapshot_index),
        read_set: writes.clone(),
        write_set: writes,
        ops: statements
            .iter()
            .map(|s| WriteOp::Sql(s.to_string()))
            .collect(),
        integer_division: false,
    };
    session.propose(Proposed {
        id,
        batch: batch.clone(),
        transaction_id,
        rows,
    });
    batch
}

/// Runs one statement of `kind` in a transaction of `session` and proposes
/// it as `id`, naming `write_set` as written (bypassing the front door's
/// naming, to show what the apply itself refuses).
fn propose_one(
    session: &mut EngineSession,
    id: ProposalId,
    statement: &str,
    kind: SqlKind,
    write_set: Vec<String>,
    rows: u64,
) -> WriteBatch {
    session.begin(None).unwrap();
    let snapshot_index = session.applied_index().unwrap();
    let transaction_id = session.transaction_id().unwrap();
    session.execute_exact(statement, kind).unwrap();
    let batch = WriteBatch {
        snapshot_index: Some(snapshot_index),
        write_set,
        ops: vec![WriteOp::Sql(statement.into())],
        ..WriteBatch::default()
    };
    session.propose(Proposed {
        id,
        batch: batch.clone(),
        transaction_id,
        rows,
    });
    batch
}

const WRITES: &[&str] = &[
    "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    "UPDATE t SET v = 'c' WHERE id = 1",
    "INSERT INTO t VALUES (3, 'd')",
    "DELETE FROM t WHERE id = 2",
];

#[test]
fn an_adopted_transaction_leaves_what_applying_it_again_leaves() {
    let mut leader = Node::new();
    let mut follower = Node::new();
    let mut session = leader.session();
    let batch = run_and_propose(&mut session, id(1), WRITES);
    let data = entry(id(1), &batch);

    let adopted = leader.replica.adopt(&committed(2, &data), &mut session);
    assert_eq!(adopted.unwrap(), Some(Outcome::Applied { rows: 5 }));
    assert!(!session.in_transaction(), "the session's transaction ended");
    assert_eq!(follower.apply(2, &data), Outcome::Applied { rows: 5 });

    let expected = vec![(1, "c".to_string()), (3, "d".to_string())];
    assert_eq!(leader.rows(), expected);
    assert_eq!(follower.rows(), expected);
    assert_eq!(leader.replica.applied_index(), 2);
    assert_eq!(
        leader.replica.state_hash().unwrap(),
        follower.replica.state_hash().unwrap()
    );

    // The dedup record was written too: a retry of the proposal later in
    // the log gets the first answer on both nodes.
    let retried = Outcome::Duplicate(Box::new(Outcome::Applied { rows: 5 }));
    assert_eq!(leader.apply(3, &data), retried);
    assert_eq!(follower.apply(3, &data), retried);

    // And durably, with the applied index, in the same transaction.
    let reopened = leader.catalogs.open(NAME).unwrap().open_replica().unwrap();
    assert_eq!(reopened.applied_index(), 3);
    assert_eq!(
        reopened.state_hash().unwrap(),
        follower.replica.state_hash().unwrap()
    );
}

#[test]
fn an_entry_applied_after_the_snapshot_makes_the_entry_apply_again() {
    let mut leader = Node::new();
    let mut follower = Node::new();
    let mut session = leader.session();
    let batch = run_and_propose(&mut session, id(1), &["INSERT INTO t VALUES (1, 'a')"]);
    let between = autocommit(&["INSERT INTO u VALUES (9)"]);
    assert_eq!(leader.apply(2, &between), Outcome::Applied { rows: 1 });
    follower.apply(2, &between);
    let data = entry(id(1), &batch);

    let adopted = leader.replica.adopt(&committed(3, &data), &mut session);
    assert_eq!(adopted.unwrap(), None);
    assert!(!session.in_transaction(), "it was rolled back");
    assert_eq!(leader.apply(3, &data), Outcome::Applied { rows: 1 });
    follower.apply(3, &data);
    assert_eq!(leader.rows(), vec![(1, "a".to_string())]);
    assert_eq!(
        leader.replica.state_hash().unwrap(),
        follower.replica.state_hash().unwrap()
    );

    // Had the entry in between written what the transaction read, the
    // transaction aborts on every node, the proposer's included.
    let batch = run_and_propose(&mut session, id(2), &["UPDATE t SET v = 'x'"]);
    let between = autocommit(&["INSERT INTO t VALUES (2, 'b')"]);
    leader.apply(4, &between);
    follower.apply(4, &between);
    let data = entry(id(2), &batch);
    assert_eq!(
        leader.replica.adopt(&committed(5, &data), &mut session),
        Ok(None)
    );
    let outcome = leader.apply(5, &data);
    assert!(
        matches!(&outcome, Outcome::Failed { sqlstate, .. } if sqlstate == "40001"),
        "{outcome:?}"
    );
    assert_eq!(follower.apply(5, &data), outcome);
    let expected = vec![(1, "a".to_string()), (2, "b".to_string())];
    assert_eq!(leader.rows(), expected);
    assert_eq!(
        leader.replica.state_hash().unwrap(),
        follower.replica.state_hash().unwrap()
    );
}

#[test]
fn only_the_proposed_entry_of_the_open_transaction_is_adopted() {
    let mut node = Node::new();
    let insert = ["INSERT INTO t VALUES (1, 'a')"];

    // Another proposal than the one the session made.
    let mut session = node.session();
    let batch = run_and_propose(&mut session, id(1), &insert);
    let other = entry(id(2), &batch);
    assert_eq!(
        node.replica.adopt(&committed(2, &other), &mut session),
        Ok(None)
    );
    assert!(!session.in_transaction());

    // Other writes under the proposal's id.
    let batch = run_and_propose(&mut session, id(3), &insert);
    let changed = WriteBatch {
        ops: vec![WriteOp::Sql("INSERT INTO t VALUES (1, 'z')".into())],
        ..batch.clone()
    };
    let data = entry(id(3), &changed);
    assert_eq!(
        node.replica.adopt(&committed(2, &data), &mut session),
        Ok(None)
    );

    // A DuckDB transaction other than the one that ran the writes.
    let batch = run_and_propose(&mut session, id(4), &insert);
    let mut proposed = session.take_proposed().unwrap();
    proposed.transaction_id += 1;
    session.propose(proposed);
    let data = entry(id(4), &batch);
    assert_eq!(
        node.replica.adopt(&committed(2, &data), &mut session),
        Ok(None)
    );

    // Not the next entry to apply.
    let batch = run_and_propose(&mut session, id(5), &insert);
    let data = entry(id(5), &batch);
    assert_eq!(
        node.replica.adopt(&committed(3, &data), &mut session),
        Ok(None)
    );

    // Nothing was committed by any of them, and the replica goes on.
    assert_eq!(node.replica.applied_index(), 1);
    assert_eq!(node.rows(), vec![]);
    assert_eq!(node.apply(2, &data), Outcome::Applied { rows: 1 });
    assert_eq!(node.rows(), vec![(1, "a".to_string())]);
}

#[test]
fn schema_changes_and_retries_are_applied_again() {
    let mut node = Node::new();
    let mut session = node.session();

    // A schema change: its entry writes every relation.
    let ddl = "ALTER TABLE t ADD COLUMN w INTEGER";
    let batch = propose_one(&mut session, id(1), ddl, SqlKind::Ddl, Vec::new(), 0);
    let data = entry(id(1), &batch);
    assert_eq!(
        node.replica.adopt(&committed(2, &data), &mut session),
        Ok(None)
    );
    assert_eq!(node.apply(2, &data), Outcome::Applied { rows: 0 });

    // A table created from a query: a write, but a new catalog entry; a
    // temporary one would stay on the session's connection, not the
    // replica's, where later entries look for it. Refused even when the
    // proposer names only the new table as written.
    let create = "CREATE TEMP TABLE scratch AS SELECT 1 AS x";
    let written = vec!["scratch".to_string()];
    let batch = propose_one(&mut session, id(2), create, SqlKind::Write, written, 1);
    let data = entry(id(2), &batch);
    assert_eq!(
        node.replica.adopt(&committed(3, &data), &mut session),
        Ok(None)
    );
    assert_eq!(node.apply(3, &data), Outcome::Applied { rows: 1 });

    // A proposal the log already applied, proposed again by the same
    // session: answered from the dedup record, not committed twice.
    let batch = run_and_propose(&mut session, id(3), &["INSERT INTO t VALUES (1, 'a', 1)"]);
    let data = entry(id(3), &batch);
    assert_eq!(
        node.replica.adopt(&committed(4, &data), &mut session),
        Ok(Some(Outcome::Applied { rows: 1 }))
    );
    let batch = run_and_propose(&mut session, id(3), &["INSERT INTO t VALUES (2, 'b', 2)"]);
    let again = entry(id(3), &batch);
    assert_eq!(
        node.replica.adopt(&committed(5, &again), &mut session),
        Ok(None)
    );
    assert_eq!(
        node.apply(5, &again),
        Outcome::Duplicate(Box::new(Outcome::Applied { rows: 1 }))
    );
    assert_eq!(node.rows(), vec![(1, "a".to_string())]);
}

/// xorshift64*: a fixed generator, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }

    fn write(&mut self, tag: u64) -> String {
        let k = self.below(8);
        match self.below(4) {
            0 | 1 => format!("INSERT INTO t VALUES ({k}, 'v{tag}')"),
            2 => format!("UPDATE t SET v = 'v{tag}' WHERE id = {k}"),
            _ => format!("DELETE FROM t WHERE id = {k}"),
        }
    }
}

/// Applies `data` as the leader's driver does: an entry that meets the
/// session's uncommitted writes ends that transaction (a wound) and applies
/// again.
fn apply_as_driver(
    node: &mut Node,
    session: &mut EngineSession,
    index: u64,
    data: &[u8],
) -> Outcome {
    match node.replica.apply(&[committed(index, data)]) {
        Err(duckraft_engine::ReplicaError::LocalConflict { .. }) => {
            session.rollback().unwrap();
            node.apply(index, data)
        }
        other => other.unwrap().remove(0).2,
    }
}

/// Random transactions, sometimes with an entry of another proposer applied
/// between their snapshot and their own entry: the leader adopts whatever it
/// may, the follower runs everything again, and after every entry both hold
/// the same state and gave the same answers.
#[test]
fn adopting_whenever_allowed_never_makes_nodes_differ() {
    let (mut adopted, mut applied_again) = (0, 0);
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut leader = Node::new();
        let mut follower = Node::new();
        let mut session = leader.session();
        let mut index = 1;
        for step in 0..25u64 {
            let statements: Vec<String> = (0..1 + rng.below(3))
                .map(|i| rng.write(step * 10 + i))
                .collect();
            let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
            session.begin(None).unwrap();
            let tentative = statements
                .iter()
                .try_for_each(|s| session.execute_exact(s, SqlKind::Write).map(|_| ()));
            session.rollback().unwrap();
            if tentative.is_err() {
                continue; // the client saw the error; nothing is proposed
            }
            let batch = run_and_propose(&mut session, id(step + 1), &statements);
            if rng.below(2) == 0 {
                let other = autocommit(&[&rng.write(step * 10 + 9)]);
                index += 1;
                let outcome = apply_as_driver(&mut leader, &mut session, index, &other);
                assert_eq!(
                    follower.apply(index, &other),
                    outcome,
                    "seed {seed} step {step}"
                );
            }
            index += 1;
            let data = entry(id(step + 1), &batch);
            let outcome = match leader
                .replica
                .adopt(&committed(index, &data), &mut session)
                .unwrap()
            {
                Some(outcome) => {
                    adopted += 1;
                    outcome
                }
                None => {
                    applied_again += 1;
                    leader.apply(index, &data)
                }
            };
            assert!(!session.in_transaction());
            assert_eq!(
                follower.apply(index, &data),
                outcome,
                "seed {seed} step {step}"
            );
            assert_eq!(
                leader.replica.state_hash().unwrap(),
                follower.replica.state_hash().unwrap(),
                "seed {seed} step {step}: {statements:?}"
            );
        }
        assert_eq!(leader.rows(), follower.rows());
        // The bookkeeping went with the adopted transactions, durably.
        let reopened = leader.catalogs.open(NAME).unwrap().open_replica().unwrap();
        assert_eq!(reopened.applied_index(), index, "seed {seed}");
        assert_eq!(follower.replica.applied_index(), index, "seed {seed}");
    }
    println!("adopted {adopted}, applied again {applied_again}");
    assert!(
        adopted > 10 && applied_again > 10,
        "adopted {adopted}, applied again {applied_again}"
    );
}
