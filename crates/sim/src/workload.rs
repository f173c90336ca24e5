//! What simulated clients do, and the record of what they were told.

use std::collections::BTreeMap;

use duckraft_engine::command::{
    Command, ControlCommand, Envelope, PasswordChange, ProposalId, Role, RoleChange, RowBatch,
    WriteBatch, WriteOp,
};
use duckraft_raft::NodeId;
use duckraft_sql::access::ALL;
use duckraft_sql::types::Value;
use rand::Rng;

/// The tables every catalog carries. `t.id` collisions are how the workload
/// provokes deterministic aborts; `counters` takes non-idempotent updates,
/// so a proposal applied twice shows.
pub const SETUP_SQL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS main.t (id BIGINT PRIMARY KEY, client UBIGINT, seq UBIGINT, v VARCHAR)",
    "CREATE TABLE IF NOT EXISTS main.counters (k INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
    "INSERT INTO main.counters VALUES (0, 0), (1, 0), (2, 0), (3, 0) ON CONFLICT DO NOTHING",
];
pub const COUNTERS: i32 = 4;

/// One row the workload tries to insert.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub id: i64,
    pub client: u64,
    pub seq: u64,
    pub v: String,
}

/// The meaning of one proposal, for the oracle.
#[derive(Clone, Debug)]
pub enum Op {
    CreateCatalog(String),
    CreateTable {
        catalog: String,
    },
    /// Autocommit INSERT of one row as SQL text.
    Insert {
        catalog: String,
        row: Row,
    },
    /// A typed COPY batch; all rows or none.
    Copy {
        catalog: String,
        rows: Vec<Row>,
    },
    /// `n = n + 1` on one counter.
    Bump {
        catalog: String,
        k: i32,
    },
    /// An interactive transaction: read counter `k` as `seen` at the
    /// proposing node's applied index `snapshot`, then write `seen + 1` and
    /// a marker row. Serializable only if the conflict check aborts it when
    /// `counters` changed after the snapshot (else: a lost update).
    ReadModifyWrite {
        catalog: String,
        k: i32,
        snapshot: u64,
        seen: i64,
        marker: Row,
    },
    /// Schema change mid-run, proposed with write set `*` like every DDL.
    Ddl {
        catalog: String,
        change: Ddl,
    },
    /// `CREATE ROLE` / `ALTER ROLE ... PASSWORD` through cp-metadata.
    PutUser {
        name: String,
        verifier: String,
    },
    /// `DROP ROLE` through cp-metadata; fails (42704) when the user is absent.
    DropUser {
        name: String,
    },
    /// `CREATE USER ... PASSWORD`; fails (42710) when the user exists.
    CreateRole {
        name: String,
        verifier: String,
    },
    /// `ALTER USER ... PASSWORD`; fails (42704) when the user is absent.
    AlterPassword {
        name: String,
        verifier: String,
    },
    /// `DROP USER name` as the all-or-nothing list command.
    DropRoles {
        name: String,
    },
}

/// Side tables DDL may create; each can gain these many extra columns.
pub const SIDE_TABLES: u8 = 3;
pub const SIDE_COLUMNS: u8 = 3;
/// Users are drawn from a small pool, so puts overwrite and drops miss.
pub const USERS: u8 = 4;

/// One schema change. `IF [NOT] EXISTS` everywhere, so replays and races
/// are harmless; an ALTER or index on a side table nobody created yet fails
/// (a deterministic catalog error) on every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ddl {
    CreateSide(u8),
    AddColumn(u8, u8),
    CreateIndex(u8),
}

impl Ddl {
    pub fn sql(self) -> String {
        match self {
            Ddl::CreateSide(n) => {
                format!("CREATE TABLE IF NOT EXISTS main.side_{n} (id BIGINT, note VARCHAR)")
            }
            Ddl::AddColumn(n, c) => {
                format!("ALTER TABLE main.side_{n} ADD COLUMN IF NOT EXISTS extra_{c} INTEGER")
            }
            Ddl::CreateIndex(n) => {
                format!("CREATE INDEX IF NOT EXISTS side_{n}_idx ON main.side_{n} (id)")
            }
        }
    }
}

impl Op {
    pub fn catalog(&self) -> Option<&str> {
        match self {
            Op::CreateCatalog(_)
            | Op::PutUser { .. }
            | Op::DropUser { .. }
            | Op::CreateRole { .. }
            | Op::AlterPassword { .. }
            | Op::DropRoles { .. } => None,
            Op::CreateTable { catalog }
            | Op::Ddl { catalog, .. }
            | Op::Insert { catalog, .. }
            | Op::Copy { catalog, .. }
            | Op::Bump { catalog, .. }
            | Op::ReadModifyWrite { catalog, .. } => Some(catalog),
        }
    }

    pub fn envelope(&self, id: ProposalId) -> Envelope {
        let command = match self {
            Op::CreateCatalog(name) => {
                Command::Control(ControlCommand::CreateCatalog { name: name.clone() })
            }
            Op::PutUser { name, verifier } => Command::Control(ControlCommand::PutUser {
                name: name.clone(),
                verifier: verifier.clone(),
            }),
            Op::DropUser { name } => {
                Command::Control(ControlCommand::DropUser { name: name.clone() })
            }
            Op::CreateRole { name, verifier } => Command::Control(ControlCommand::CreateRole {
                name: name.clone(),
                role: Role {
                    verifier: Some(verifier.clone()),
                    superuser: false,
                    login: true,
                },
            }),
            Op::AlterPassword { name, verifier } => Command::Control(ControlCommand::AlterRole {
                name: name.clone(),
                change: RoleChange {
                    password: Some(PasswordChange::Set(verifier.clone())),
                    ..RoleChange::default()
                },
            }),
            Op::DropRoles { name } => Command::Control(ControlCommand::DropRoles {
                names: vec![name.clone()],
                if_exists: false,
            }),
            Op::Ddl { change, .. } => {
                Command::Catalog(batch(&[ALL], vec![WriteOp::Sql(change.sql())]))
            }
            Op::CreateTable { .. } => Command::Catalog(batch(
                &[ALL],
                SETUP_SQL
                    .iter()
                    .map(|s| WriteOp::Sql(s.to_string()))
                    .collect(),
            )),
            Op::Bump { k, .. } => Command::Catalog(batch(
                &["counters"],
                vec![WriteOp::Sql(format!(
                    "UPDATE main.counters SET n = n + 1 WHERE k = {k}"
                ))],
            )),
            Op::Insert { row, .. } => {
                Command::Catalog(batch(&["t"], vec![WriteOp::Sql(insert_sql(row))]))
            }
            Op::ReadModifyWrite {
                k,
                snapshot,
                seen,
                marker,
                ..
            } => Command::Catalog(WriteBatch {
                snapshot_index: Some(*snapshot),
                read_set: vec!["counters".into()],
                write_set: vec!["counters".into(), "t".into()],
                ops: vec![
                    WriteOp::Sql(format!(
                        "UPDATE main.counters SET n = {} WHERE k = {k}",
                        seen + 1
                    )),
                    WriteOp::Sql(insert_sql(marker)),
                ],
                // Interleaved with the autocommit batches' DuckDB `/`, so
                // every replica switches division mode as the log does.
                integer_division: true,
            }),
            Op::Copy { rows, .. } => Command::Catalog(batch(
                &[],
                vec![WriteOp::Rows(RowBatch {
                    table: "main.t".into(),
                    columns: vec!["id".into(), "client".into(), "seq".into(), "v".into()],
                    rows: rows
                        .iter()
                        .map(|r| {
                            vec![
                                Value::Int8(r.id),
                                Value::Int8(r.client as i64),
                                Value::Int8(r.seq as i64),
                                Value::Text(r.v.clone()),
                            ]
                        })
                        .collect(),
                })],
            )),
        };
        Envelope {
            id: Some(id),
            command,
        }
    }

    pub fn rows(&self) -> &[Row] {
        match self {
            Op::Insert { row, .. } => std::slice::from_ref(row),
            Op::ReadModifyWrite { marker, .. } => std::slice::from_ref(marker),
            Op::Copy { rows, .. } => rows,
            _ => &[],
        }
    }
}

/// An autocommit batch writing `writes` (row-batch targets are implied).
fn batch(writes: &[&str], ops: Vec<WriteOp>) -> WriteBatch {
    WriteBatch::autocommit(writes.iter().map(|w| w.to_string()).collect(), ops)
}

fn insert_sql(row: &Row) -> String {
    format!(
        "INSERT INTO main.t VALUES ({}, {}, {}, '{}')",
        row.id, row.client, row.seq, row.v
    )
}

/// How one proposal ended, from its client's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Acknowledged as applied.
    Applied,
    /// Acknowledged as failed (for example a unique violation).
    Failed(String),
    /// The session died before an answer: it may or may not have happened.
    Unknown,
}

/// A client session bound to one node, issuing one proposal or read at a
/// time and re-proposing the same id until it hears back, like the server
/// runtime does.
pub struct Client {
    pub id: u64,
    /// Generation of the client's pending wake-up; older wake-ups are stale.
    pub wake: u64,
    pub node: NodeId,
    pub seq: u64,
    pub waiting: Option<Waiting>,
    /// A linearizable read waiting for its read index or for the apply.
    pub reading: Option<PendingRead>,
    /// Per catalog, the index at which this session's last acknowledged
    /// write took effect: its reads must reflect it (read-your-writes).
    pub own_write_index: BTreeMap<duckraft_raft::GroupId, u64>,
}

impl Client {
    pub fn busy(&self) -> bool {
        self.waiting.is_some() || self.reading.is_some()
    }
}

pub struct Waiting {
    pub seq: u64,
    pub op: Op,
    pub deadline: u64,
    pub attempts: u32,
}

/// `SET duckraft.read_consistency`, as in docs/sql-contract.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadLevel {
    /// ReadIndex round, then wait for the local apply to reach the index.
    Linearizable,
    /// The node's applied state; the session's own writes are in it.
    Session,
    /// The node's applied state, possibly stale.
    Local,
}

/// The newest log index a read must reflect, and why.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    pub index: u64,
    pub witness: String,
}

/// A linearizable read in flight (session and local reads never wait).
pub struct PendingRead {
    pub catalog: String,
    pub group: duckraft_raft::GroupId,
    pub invoked_at: u64,
    /// The catalog's frontier when the read was invoked.
    pub required: Frontier,
    /// ReadIndex contexts asked for it: the first, then one per retry.
    pub contexts: Vec<u64>,
    /// The index a ReadIndex round returned; the read waits for the apply.
    pub read_index: Option<u64>,
    pub last_attempt: u64,
    /// Past it the read gives up (57P03 on the server): outcome unknown.
    pub deadline: u64,
}

#[derive(Default)]
pub struct History {
    pub ops: BTreeMap<ProposalId, Op>,
    pub verdicts: BTreeMap<ProposalId, Verdict>,
}

/// Picks the next operation for a client.
pub fn next_op(
    rng: &mut impl Rng,
    client: u64,
    seq: u64,
    catalogs: &[String],
    used_ids: &[i64],
) -> Op {
    let catalog = catalogs[rng.gen_range(0..catalogs.len())].clone();
    let fresh = |k: u64| ((client << 24) | (seq << 4) | k) as i64;
    let v = format!("c{client}s{seq}");
    let row = |k: u64, rng: &mut dyn rand::RngCore| {
        // One write in twenty reuses an existing key: a deterministic abort.
        let id = if !used_ids.is_empty() && rng.gen_range(0..20) == 0 {
            used_ids[rng.gen_range(0..used_ids.len())]
        } else {
            fresh(k)
        };
        Row {
            id,
            client,
            seq,
            v: v.clone(),
        }
    };
    match rng.gen_range(0..20) {
        0 | 1 => Op::Bump {
            catalog,
            k: rng.gen_range(0..COUNTERS),
        },
        2..=5 => {
            let n = rng.gen_range(1..=4);
            let rows = (0..n).map(|k| row(k, rng)).collect();
            Op::Copy { catalog, rows }
        }
        6..=11 => Op::Insert {
            catalog,
            row: row(0, rng),
        },
        // The proposer fills in what it read (see `Op::ReadModifyWrite`).
        12..=16 => Op::ReadModifyWrite {
            catalog,
            k: rng.gen_range(0..COUNTERS),
            snapshot: 0,
            seen: 0,
            marker: Row {
                id: fresh(15),
                client,
                seq,
                v: format!("{v}rmw"),
            },
        },
        17 => {
            let n = rng.gen_range(0..SIDE_TABLES);
            let change = match rng.gen_range(0..3) {
                0 => Ddl::CreateSide(n),
                1 => Ddl::AddColumn(n, rng.gen_range(0..SIDE_COLUMNS)),
                _ => Ddl::CreateIndex(n),
            };
            Op::Ddl { catalog, change }
        }
        _ => {
            let name = format!("u{}", rng.gen_range(0..USERS));
            // The format-1 user commands and the role commands take turns
            // by sequence number, so the random stream stays as it was.
            let verifier = format!("SCRAM-SHA-256$4096:{v}");
            match (rng.gen_bool(0.6), seq % 3) {
                (true, 0) => Op::PutUser { name, verifier },
                (true, 1) => Op::CreateRole { name, verifier },
                (true, _) => Op::AlterPassword { name, verifier },
                (false, 0) => Op::DropRoles { name },
                (false, _) => Op::DropUser { name },
            }
        }
    }
}

/// Picks a read's level: half are linearizable, the default level.
pub fn next_read_level(rng: &mut impl Rng) -> ReadLevel {
    match rng.gen_range(0..4) {
        0 | 1 => ReadLevel::Linearizable,
        2 => ReadLevel::Session,
        _ => ReadLevel::Local,
    }
}
