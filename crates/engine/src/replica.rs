//! The deterministic apply path: committed Raft entries -> one catalog's DuckDB.
//!
//! Every node applies every committed entry of a catalog's group, in log
//! order, through a [`Replica`]. The replica keeps its bookkeeping in the
//! catalog's own DuckDB file, in schema `__duckraft`:
//!
//! - `clients(client, seq, outcome)`: per proposing session, the highest
//!   applied proposal sequence number and its outcome (small JSON), so that a
//!   retried proposal is answered, not applied twice;
//! - `relation_versions(name, idx)`: per relation name (see
//!   `duckraft_sql::access`), the index of the last applied entry that wrote
//!   it; `*` for entries that wrote every relation (DDL);
//! - `applied(id, folded_idx, folded_term)`: exactly one row (`id = 0`), the
//!   last applied index and term as of the last fold (below);
//! - `apply_log(idx, term, clients, versions, schema_idx)`: one row per apply
//!   transaction: its last entry's index and term, and its changes to the two
//!   tables above as JSON arrays (`[[client, seq, outcome], ...]` and
//!   `[[name, idx], ...]`), plus its version of `*` if it wrote one.
//!
//! One single-row insert per transaction is all the bookkeeping an apply
//! writes: every statement costs DuckDB hundreds of microseconds however
//! small, and an upsert or update several times a plain insert. The applied
//! index is the newest `apply_log` row's, else the folded one; a log row's
//! records supersede the tables' (sequence numbers and indexes only grow).
//! The log is folded into the tables once it holds [`FOLD_LOG_ROWS`] rows and
//! records, and before every checkpoint, so a snapshot carries folded tables
//! and an empty log.
//!
//! The columns of `applied` were called `idx` and `term` before the log
//! existed, when every transaction updated it and two more logs held the
//! records. Opening such a file folds and drops those logs and renames the
//! columns, so that an older binary, which would read a stale applied index
//! from `applied` and apply entries twice, fails to open the file instead.
//!
//! # Transaction conflict check
//! An entry holding an interactive transaction carries the applied index its
//! reads saw (`snapshot_index`) and the relations it read. Before its ops
//! run, every node checks whether an entry applied after that snapshot wrote
//! one of those relations (or wrote `*`, or, if the transaction read `*`,
//! wrote anything). If so the entry fails with SQLSTATE 40001 and no effect.
//! The check reads only replicated state (`relation_versions`, kept in the
//! same DuckDB transaction as the entries), so every node decides alike.
//! Passing it means nothing the transaction read changed between its
//! snapshot and its commit point, so re-running its statements at the commit
//! point does what they did at the snapshot: committed transactions are
//! serializable in log order.
//!
//! Both are written in the same DuckDB transaction as the effects of the
//! entries they describe, so a crash leaves either all or none of an entry
//! (and re-delivering entries at or below `applied` is a no-op).
//!
//! # Group apply and fallback
//! All entries of one [`Replica::apply`] call run in one DuckDB transaction
//! (one commit, one WAL fsync). If an entry's statement fails, that
//! transaction is rolled back (DuckDB has no savepoints) and the entries are
//! applied again: the prefix before the failing entry as a group, the failing
//! entry alone — its effects rolled back and its `Failed` outcome and applied
//! index recorded in a transaction of its own — and the rest as a group again.
//! The observable result is that of applying every entry in its own
//! transaction, whatever batches the caller happens to form, so nodes that
//! batch differently still agree. (This relies on DuckDB giving a statement
//! sequence the same result inside one transaction as across consecutive
//! transactions when every statement succeeds.)
//!
//! # Row merging
//! Planning and running a statement costs DuckDB far more than inserting a
//! row, and most write entries are small row batches (a parameterised
//! `INSERT ... VALUES ($1, ...)` is one). So consecutive row ops of one
//! group that insert into the same columns are buffered and inserted with
//! multi-row `VALUES` statements (see [`crate::rows::merged_insert_rows`]), each prepared
//! once per connection. A plain insert of many rows succeeds only if
//! inserting them one after the other would (DuckDB checks keys within the
//! statement too), and then leaves the same rows in the same order. If a
//! merged insert fails, the group is rolled back and run
//! again without merging across entries, so the failure is attributed by
//! the rules above and the outcome does not depend on how entries were
//! grouped.
//!
//! # Deterministic failures and fail-closed errors
//! A statement error becomes `Outcome::Failed` only if it is a function of
//! the statement and the database state alone: DuckDB's parser, binder,
//! catalog, constraint, conversion, range and similar errors (see
//! [`deterministic_error_class`]). Anything that could differ between nodes
//! — I/O, out of memory, interrupt, internal/fatal errors, transaction
//! conflicts, errors without a recognised class — is a [`ReplicaError`]: the
//! open transaction is rolled back, nothing of it is recorded, and the replica
//! refuses further work ([`ReplicaError::Poisoned`]). **The caller must mark
//! the catalog's group degraded** (stop serving it, stop acknowledging its
//! writes) and may only resume with a freshly opened `Replica`, which reads
//! the durable applied index back.
//!
//! # Determinism requirements on the caller
//! - Every node must configure the connection alike (the server uses
//!   `Catalog::connect`: same search path, `enable_external_access = false`,
//!   autoloading off) and run the same DuckDB version.
//! - Nothing else may write to the catalog's database while it is replicated.
//! - `WriteOp::Sql` text is pinned by the proposer (no `now()`, `random()`, ...).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use duckdb::types::Value as DuckValue;
use duckdb::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::info;

use crate::command::{self, Command, DecodeError, ProposalId, WriteBatch, WriteOp};
use crate::declared_types::DeclaredTypes;
use crate::error::from_duckdb_message;
use crate::rows::{insert_merged, prepare_rows, PreparedRows};
use crate::session::{quote_identifier, EngineSession, Proposed};

/// The replica's own schema; excluded from [`Replica::state_hash`].
pub const BOOKKEEPING_SCHEMA: &str = duckraft_sql::determinism::BOOKKEEPING_SCHEMA;

/// SQLSTATE of a control command that reached a catalog group.
pub const CONTROL_MISROUTED_SQLSTATE: &str = "XX000";

/// SQLSTATE answered to a retry older than the last applied proposal of its
/// client: it was applied (or failed) exactly once, but its outcome is no
/// longer kept (PostgreSQL's `statement_completion_unknown`).
pub const STALE_RETRY_SQLSTATE: &str = "40003";

const BOOKKEEPING_SQL: &str = "
    CREATE SCHEMA IF NOT EXISTS __duckraft;
    CREATE TABLE IF NOT EXISTS __duckraft.applied (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        folded_idx UBIGINT NOT NULL,
        folded_term UBIGINT NOT NULL);
    INSERT INTO __duckraft.applied
        SELECT 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM __duckraft.applied);
    CREATE TABLE IF NOT EXISTS __duckraft.clients (
        client UBIGINT PRIMARY KEY,
        seq UBIGINT NOT NULL,
        outcome VARCHAR NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.relation_versions (
        name VARCHAR PRIMARY KEY,
        idx UBIGINT NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.apply_log (
        idx UBIGINT NOT NULL,
        term UBIGINT NOT NULL,
        clients VARCHAR NOT NULL,
        versions VARCHAR NOT NULL,
        schema_idx UBIGINT);
    CREATE TABLE IF NOT EXISTS __duckraft.replica_of (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        group_id UBIGINT NOT NULL);
";

/// The applied index in a snapshot of the catalog: the newest `apply_log`
/// row's, else the folded one.
pub const APPLIED_INDEX_SQL: &str = "SELECT greatest(
    (SELECT folded_idx FROM __duckraft.applied WHERE id = 0),
    (SELECT coalesce(max(idx), 0) FROM __duckraft.apply_log))";

/// The log index of the last replicated schema change as a snapshot sees
/// it: the version of `*` in `relation_versions`, or a later one still in
/// `apply_log`. Each DuckDB schema change of a replicated catalog is an entry
/// that writes `*` (`duckraft_sql::access`).
pub const SCHEMA_VERSION_SQL: &str = "SELECT coalesce(max(idx), 0) FROM (\
    SELECT idx FROM __duckraft.relation_versions WHERE name = '*' \
    UNION ALL \
    SELECT schema_idx FROM __duckraft.apply_log)";

/// [`APPLIED_INDEX_SQL`] in two reads: NULL if the log is empty ...
pub const LOGGED_INDEX_SQL: &str = "SELECT max(idx) FROM __duckraft.apply_log";
/// ... and then the folded index.
pub const FOLDED_INDEX_SQL: &str = "SELECT folded_idx FROM __duckraft.applied WHERE id = 0";

/// Brings a file from before `apply_log` (see the module documentation) to
/// the current bookkeeping, in the transaction that opens it.
const MIGRATE_RECORD_LOGS_SQL: &str = "
    INSERT INTO __duckraft.clients
        SELECT client, max(seq), arg_max(outcome, seq)
        FROM __duckraft.client_log GROUP BY client
        ON CONFLICT (client) DO UPDATE SET seq = excluded.seq, outcome = excluded.outcome;
    INSERT INTO __duckraft.relation_versions
        SELECT name, max(idx) FROM __duckraft.relation_version_log GROUP BY name
        ON CONFLICT (name) DO UPDATE SET idx = excluded.idx;
    DROP TABLE __duckraft.client_log;
    DROP TABLE __duckraft.relation_version_log;
    ALTER TABLE __duckraft.applied RENAME COLUMN idx TO folded_idx;
    ALTER TABLE __duckraft.applied RENAME COLUMN term TO folded_term;
";

/// One dedup record as `apply_log` keeps it: client, seq, outcome JSON.
type ClientRecord = (u64, u64, String);

/// One committed log entry.
#[derive(Debug, Clone, Copy)]
pub struct Committed<'a> {
    pub index: u64,
    pub term: u64,
    /// Empty for a Raft no-op entry (a new leader's first entry).
    pub data: &'a [u8],
}

/// What applying one entry did; identical on every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// All ops ran; `rows` is the sum of their affected-row counts.
    Applied { rows: u64 },
    /// The entry had no effect (everything it did was rolled back).
    Failed { sqlstate: String, message: String },
    /// A retry of an already applied proposal: not applied again; carries the
    /// first application's answer.
    Duplicate(Box<Outcome>),
    /// A Raft no-op entry.
    Noop,
}

/// Fail-closed conditions: the caller must mark the group degraded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// An entry this node cannot decode (e.g. written by a newer version).
    /// Nothing of the `apply` call was applied.
    #[error("log entry {index} cannot be decoded: {error}")]
    Decode { index: u64, error: DecodeError },
    /// Entries are missing (or out of order) between the applied index and
    /// the entries given. Nothing of the `apply` call was applied.
    #[error("log gap: expected entry {expected}, got {got}")]
    Gap { expected: u64, got: u64 },
    /// An entry's term is lower than its predecessor's. Nothing was applied.
    #[error("log entry {index} has term {term}, below the preceding term {previous}")]
    TermRegression {
        index: u64,
        term: u64,
        previous: u64,
    },
    /// DuckDB failed in a way that may differ between nodes, or failed on
    /// the replica's own bookkeeping. The open transaction was rolled back;
    /// entries committed earlier in the same call stay committed.
    #[error("DuckDB failure applying log entry {index:?} ({sqlstate}): {message}")]
    Engine {
        index: Option<u64>,
        sqlstate: String,
        message: String,
    },
    /// The bookkeeping tables do not hold what the replica wrote.
    #[error("replica bookkeeping is corrupt: {0}")]
    Corrupt(String),
    /// A statement conflicted with an uncommitted transaction of another
    /// connection to the same database (DuckDB's write-write conflict). Not
    /// a property of the log: nothing of the failing apply transaction was
    /// kept, the replica stays usable, and the caller must end the other
    /// transactions (sessions' tentative ones) and apply again.
    /// `applied` holds the outcomes of the entries of the call applied
    /// before the conflicting one.
    #[error("log entry {index} conflicted with a local uncommitted transaction: {message}")]
    LocalConflict {
        index: u64,
        message: String,
        applied: Vec<(u64, Option<ProposalId>, Outcome)>,
    },
    /// An earlier `Engine` or `Corrupt` error; reopen the replica.
    #[error("replica stopped after an earlier failure; reopen it")]
    Poisoned,
}

/// How an outcome is stored in `__duckraft.clients.outcome`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum StoredOutcome {
    Applied { rows: u64 },
    Failed { sqlstate: String, message: String },
}

impl StoredOutcome {
    fn from_outcome(outcome: &Outcome) -> Option<StoredOutcome> {
        match outcome {
            Outcome::Applied { rows } => Some(StoredOutcome::Applied { rows: *rows }),
            Outcome::Failed { sqlstate, message } => Some(StoredOutcome::Failed {
                sqlstate: sqlstate.clone(),
                message: message.clone(),
            }),
            Outcome::Duplicate(_) | Outcome::Noop => None,
        }
    }

    fn into_outcome(self) -> Outcome {
        match self {
            StoredOutcome::Applied { rows } => Outcome::Applied { rows },
            StoredOutcome::Failed { sqlstate, message } => Outcome::Failed { sqlstate, message },
        }
    }
}

fn failed(sqlstate: &str, message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        sqlstate: sqlstate.to_string(),
        message: message.into(),
    }
}

/// DuckDB exception classes (the text before " Error: ") whose errors depend
/// only on the statement and the database state, given identical
/// configuration and DuckDB version. Everything else fails closed.
pub fn deterministic_error_class(class: &str) -> bool {
    matches!(
        class,
        "Invalid"
            | "Out of Range"
            | "Conversion"
            | "Unknown Type"
            | "Decimal"
            | "Mismatch Type"
            | "Divide by Zero"
            | "Object Size"
            | "Invalid type"
            | "Not implemented"
            | "Expression"
            | "Catalog"
            | "Parser"
            | "Binder"
            | "Planner"
            | "Constraint"
            | "Syntax"
            | "Invalid Input"
            | "Permission"
            | "Parameter Not Resolved"
            | "Parameter Not Allowed"
            | "Dependency"
            | "Sequence"
    )
}

/// A statement error, sorted into deterministic (an outcome) or not (fail closed).
enum OpError {
    Deterministic(Outcome),
    Environmental(ReplicaError),
}

/// What an executed op's result looks like, which tells whether it may have
/// ended the apply transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultShape {
    /// One BIGINT column named `Count`: DuckDB's answer to a plan that
    /// changes data or the catalog (INSERT, UPDATE, DELETE, CREATE). Transaction
    /// control (COMMIT, ROLLBACK, ABORT, END) always answers one BOOLEAN
    /// `Success` column, so an op of this shape did not end the transaction
    /// (nor does a SELECT that merely looks like it), and the per-op check,
    /// a query as costly as a small op, is skipped.
    RowCount,
    Other,
}

impl ResultShape {
    fn of(statement: &duckdb::Statement<'_>) -> ResultShape {
        let counted = statement.column_count() == 1
            && statement.column_name(0).is_ok_and(|name| name == "Count")
            && statement.column_type(0) == duckdb::arrow::datatypes::DataType::Int64;
        if counted {
            ResultShape::RowCount
        } else {
            ResultShape::Other
        }
    }
}

fn classify_op_error(index: u64, error: duckdb::Error) -> OpError {
    if let duckdb::Error::DuckDBFailure(_, Some(message)) = &error {
        if message.starts_with("TransactionContext Error") {
            return OpError::Environmental(ReplicaError::LocalConflict {
                index,
                message: message.clone(),
                applied: Vec::new(),
            });
        }
        let class = message.split_once(" Error: ").map(|(c, _)| c.trim());
        if class.is_some_and(deterministic_error_class) {
            let mapped = from_duckdb_message(message);
            return OpError::Deterministic(failed(mapped.sqlstate, mapped.message));
        }
    }
    OpError::Environmental(engine_error(Some(index), &error))
}

fn engine_error(index: Option<u64>, error: &duckdb::Error) -> ReplicaError {
    let mapped = from_duckdb_message(&error.to_string());
    ReplicaError::Engine {
        index,
        sqlstate: mapped.sqlstate.to_string(),
        message: error.to_string(),
    }
}

/// A decoded entry, validated as far as possible without touching DuckDB.
struct Work {
    index: u64,
    term: u64,
    id: Option<ProposalId>,
    body: Body,
}

enum Body {
    Noop,
    /// Runs against DuckDB.
    Batch(PreparedBatch),
    /// Fails deterministically without touching DuckDB (recorded as is).
    Reject(Outcome),
}

struct PreparedBatch {
    /// `(snapshot_index, relations read)` of an interactive transaction.
    check: Option<(u64, Vec<String>)>,
    /// Relations whose version the entry bumps when it applies.
    writes: Vec<String>,
    ops: Vec<PreparedOp>,
    /// See [`WriteBatch::integer_division`].
    integer_division: bool,
}

enum PreparedOp {
    Sql(String),
    Rows(PreparedRows),
}

/// Rows of consecutive row ops with the same target, not yet inserted.
struct PendingRows {
    into: String,
    width: usize,
    /// Row-major, `width` values per row.
    values: Vec<DuckValue>,
    /// The first entry whose rows are buffered (for error reports).
    first_index: u64,
}

/// `apply_log` rows plus the records they hold (see the module
/// documentation) that trigger a fold.
pub const FOLD_LOG_ROWS: u64 = 4096;

/// The result of running one entry inside an open transaction.
enum Step {
    /// Done; the transaction may continue (and commit).
    Done(Outcome),
    /// A statement failed deterministically; the transaction must be rolled back.
    StatementFailed(Outcome),
    /// An insert of rows merged across entries failed; the transaction must
    /// be rolled back and the group run again without merging.
    MergeFailed,
}

enum GroupResult {
    Committed(Vec<Outcome>),
    /// The entry at this offset failed; everything was rolled back.
    FailedAt(usize),
    /// COMMIT itself failed; everything was rolled back.
    CommitFailed,
    /// An insert of rows merged across entries failed; everything was
    /// rolled back.
    MergeFailed,
}

pub struct Replica {
    conn: Connection,
    applied_index: u64,
    applied_term: u64,
    poisoned: bool,
    dedup: bool,
    conflict_check: bool,
    /// DuckDB's id of the open apply transaction, once a statement op ran
    /// in it (see [`Replica::check_transaction`]).
    transaction: Cell<Option<u64>>,
    /// `__duckraft.clients` as committed: client -> (seq, outcome JSON).
    /// Reading it from memory keeps dedup off the per-entry query path.
    clients: RefCell<BTreeMap<u64, (u64, String)>>,
    /// Dedup records of the open transaction, written to `apply_log` just
    /// before it commits and moved into `clients` once it has.
    pending_clients: RefCell<BTreeMap<u64, (u64, String)>>,
    /// `__duckraft.relation_versions` as committed, and the open
    /// transaction's changes to it (same scheme as the dedup records).
    versions: RefCell<BTreeMap<String, u64>>,
    pending_versions: RefCell<BTreeMap<String, u64>>,
    /// Rows buffered for a merged insert (see the module documentation).
    pending_rows: RefCell<Option<PendingRows>>,
    /// Rows in `apply_log` plus the records they hold.
    log_rows: Cell<u64>,
    /// Keys of `clients` and `versions` whose newest record is in
    /// `apply_log`, not yet in the tables.
    unfolded_clients: RefCell<BTreeSet<u64>>,
    unfolded_versions: RefCell<BTreeSet<String>>,
    /// The connection's `integer_division`, switched per batch.
    integer_division: Cell<bool>,
    /// Registers the declared string types a statement names (see
    /// `crate::declared_types`); `None` for a bare connection.
    declared_types: Option<Arc<DeclaredTypes>>,
    /// See [`Replica::for_catalog`]; `None` for a bare connection.
    catalog_instance: Option<u64>,
    /// Counts committed schema changes, for the catalog's caches of what
    /// only the schema decides (`Catalog::describe`).
    schema_epoch: Option<Arc<AtomicU64>>,
}

impl Replica {
    /// Takes over `conn` (the catalog's database; nothing else may write to
    /// it), creating the bookkeeping tables if needed and reading the applied
    /// index back.
    pub fn open(conn: Connection) -> Result<Replica, ReplicaError> {
        let record_logs: i64 = conn
            .query_row(
                "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() \
                   AND schema_name = '__duckraft' AND table_name = 'applied' \
                   AND column_name = 'idx'",
                [],
                |row| row.get(0),
            )
            .map_err(|e| engine_error(None, &e))?;
        let migration = if record_logs > 0 {
            MIGRATE_RECORD_LOGS_SQL
        } else {
            ""
        };
        // BEGIN also fails if the connection is already inside a transaction.
        let setup = format!("BEGIN TRANSACTION; {migration} {BOOKKEEPING_SQL} COMMIT;");
        if let Err(error) = conn.execute_batch(&setup) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(engine_error(None, &error));
        }
        if record_logs > 0 {
            info!("moved this catalog's bookkeeping to __duckraft.apply_log");
        }
        let rows: Vec<(i32, u64, u64)> = (|| {
            let mut statement =
                conn.prepare("SELECT id, folded_idx, folded_term FROM __duckraft.applied")?;
            let rows =
                statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
            rows.collect::<Result<Vec<_>, _>>()
        })()
        .map_err(|e| engine_error(None, &e))?;
        let &[(0, mut applied_index, mut applied_term)] = rows.as_slice() else {
            return Err(ReplicaError::Corrupt(format!(
                "__duckraft.applied holds {rows:?}, expected one row with id 0"
            )));
        };
        let mut clients: BTreeMap<u64, (u64, String)> = (|| {
            let mut statement =
                conn.prepare("SELECT client, seq, outcome FROM __duckraft.clients")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, u64>(0)?, (row.get(1)?, row.get(2)?)))
            })?;
            rows.collect::<Result<BTreeMap<_, _>, _>>()
        })()
        .map_err(|e| engine_error(None, &e))?;
        let mut versions: BTreeMap<String, u64> = (|| {
            let mut statement =
                conn.prepare("SELECT name, idx FROM __duckraft.relation_versions")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<Result<BTreeMap<_, _>, _>>()
        })()
        .map_err(|e| engine_error(None, &e))?;
        let log: Vec<(u64, u64, String, String)> = (|| {
            let mut statement = conn.prepare(
                "SELECT idx, term, clients, versions FROM __duckraft.apply_log ORDER BY idx",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?;
            rows.collect::<Result<Vec<_>, _>>()
        })()
        .map_err(|e| engine_error(None, &e))?;
        let mut log_rows = 0;
        let mut unfolded_clients = BTreeSet::new();
        let mut unfolded_versions = BTreeSet::new();
        for (index, term, client_json, version_json) in log {
            if index <= applied_index {
                return Err(ReplicaError::Corrupt(format!(
                    "__duckraft.apply_log has a row for entry {index} after entry {applied_index}"
                )));
            }
            let unreadable = |what: &str, e: serde_json::Error| {
                ReplicaError::Corrupt(format!(
                    "__duckraft.apply_log row for entry {index} has unreadable {what}: {e}"
                ))
            };
            let records: Vec<ClientRecord> =
                serde_json::from_str(&client_json).map_err(|e| unreadable("clients", e))?;
            let written: Vec<(String, u64)> =
                serde_json::from_str(&version_json).map_err(|e| unreadable("versions", e))?;
            log_rows += 1 + (records.len() + written.len()) as u64;
            for (client, seq, outcome) in records {
                unfolded_clients.insert(client);
                clients.insert(client, (seq, outcome));
            }
            for (name, idx) in written {
                unfolded_versions.insert(name.clone());
                versions.insert(name, idx);
            }
            applied_index = index;
            applied_term = term;
        }
        // Room for the merged inserts of a few targets at every size.
        conn.set_prepared_statement_cache_capacity(320);
        Ok(Replica {
            conn,
            applied_index,
            applied_term,
            poisoned: false,
            dedup: true,
            conflict_check: true,
            transaction: Cell::new(None),
            clients: RefCell::new(clients),
            pending_clients: RefCell::new(BTreeMap::new()),
            versions: RefCell::new(versions),
            pending_versions: RefCell::new(BTreeMap::new()),
            pending_rows: RefCell::new(None),
            log_rows: Cell::new(log_rows),
            unfolded_clients: RefCell::new(unfolded_clients),
            unfolded_versions: RefCell::new(unfolded_versions),
            integer_division: Cell::new(false),
            declared_types: None,
            catalog_instance: None,
            schema_epoch: None,
        })
    }

    /// Ties the replica to the open catalog instance its connection is
    /// to: replicated statements may name the catalog's declared string
    /// types, and only sessions of that instance can be adopted.
    pub(crate) fn for_catalog(
        mut self,
        instance: u64,
        types: Arc<DeclaredTypes>,
        schema_epoch: Arc<AtomicU64>,
    ) -> Self {
        self.catalog_instance = Some(instance);
        self.declared_types = Some(types);
        self.schema_epoch = Some(schema_epoch);
        self
    }

    /// The Raft group this file holds the state of, once bound. A catalog
    /// name can be dropped and created again with a new group; the binding
    /// tells a leftover file of the old group from the new one's.
    pub fn bound_group(&self) -> Result<Option<u64>, ReplicaError> {
        self.conn
            .query_row(
                "SELECT max(group_id) FROM __duckraft.replica_of",
                [],
                |row| row.get(0),
            )
            .map_err(|e| engine_error(None, &e))
    }

    /// Binds this file to `group`; refuses if it is bound to another one.
    pub fn bind_group(&mut self, group: u64) -> Result<(), ReplicaError> {
        match self.bound_group()? {
            Some(bound) if bound == group => Ok(()),
            Some(bound) => Err(ReplicaError::Corrupt(format!(
                "this catalog file holds group {bound}, not group {group}"
            ))),
            None => self
                .conn
                .execute("INSERT INTO __duckraft.replica_of VALUES (0, ?)", [group])
                .map(|_| ())
                .map_err(|e| engine_error(None, &e)),
        }
    }

    /// Fault injection for the simulator only: with `false`, retried
    /// proposals are applied again (outcomes are still recorded). Checkers
    /// must catch the resulting double application. Never off in production.
    pub fn set_dedup(&mut self, on: bool) {
        self.dedup = on;
    }

    /// Fault injection for the simulator only: with `false`, transactions
    /// apply even when a relation they read changed after their snapshot
    /// (lost updates). Checkers must catch it. Never off in production.
    pub fn set_conflict_check(&mut self, on: bool) {
        self.conflict_check = on;
    }

    /// Folds the bookkeeping log, then writes everything committed into
    /// the database file (for a snapshot). A failure leaves the replica
    /// usable.
    pub fn checkpoint(&self) -> Result<(), ReplicaError> {
        self.fold_log()?;
        self.conn
            .execute_batch("CHECKPOINT")
            .map_err(|e| engine_error(None, &e))
    }

    /// Moves `apply_log` into the tables, in a transaction of its own (it
    /// changes nothing the replica reads): the newest record of every key
    /// the log holds one for, from memory, and the applied index.
    fn fold_log(&self) -> Result<(), ReplicaError> {
        if self.log_rows.get() == 0 {
            return Ok(());
        }
        let folded = (|| {
            self.conn.execute_batch("BEGIN TRANSACTION")?;
            let clients = self.clients.borrow();
            let mut values = Vec::new();
            for client in self.unfolded_clients.borrow().iter() {
                let (seq, outcome) = &clients[client];
                values.push(DuckValue::UBigInt(*client));
                values.push(DuckValue::UBigInt(*seq));
                values.push(DuckValue::Text(outcome.clone()));
            }
            insert_merged(
                &self.conn,
                "INSERT OR REPLACE INTO __duckraft.clients (client, seq, outcome)",
                3,
                &values,
            )?;
            let versions = self.versions.borrow();
            let mut values = Vec::new();
            for name in self.unfolded_versions.borrow().iter() {
                values.push(DuckValue::Text(name.clone()));
                values.push(DuckValue::UBigInt(versions[name]));
            }
            insert_merged(
                &self.conn,
                "INSERT OR REPLACE INTO __duckraft.relation_versions (name, idx)",
                2,
                &values,
            )?;
            self.conn.execute(
                "UPDATE __duckraft.applied SET folded_idx = ?, folded_term = ? WHERE id = 0",
                duckdb::params![self.applied_index, self.applied_term],
            )?;
            self.conn
                .execute_batch("DELETE FROM __duckraft.apply_log; COMMIT")
        })();
        if let Err(error) = folded {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(engine_error(None, &error));
        }
        self.log_rows.set(0);
        self.unfolded_clients.borrow_mut().clear();
        self.unfolded_versions.borrow_mut().clear();
        Ok(())
    }

    /// The index of the last applied entry (0: none).
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// The term of the last applied entry (0: none).
    pub fn applied_term(&self) -> u64 {
        self.applied_term
    }

    /// Applies committed entries in log order.
    ///
    /// Entries at or below the applied index are skipped (re-delivery after a
    /// crash); the rest must continue the log without gaps, else nothing is
    /// applied and the result is [`ReplicaError::Gap`]. All entries are
    /// decoded before anything is applied. Returns one `(index, proposal id,
    /// outcome)` per newly applied entry, in order; skipped entries are not
    /// reported. On `Err`, the caller must mark the group degraded (see the
    /// module documentation).
    pub fn apply(
        &mut self,
        entries: &[Committed<'_>],
    ) -> Result<Vec<(u64, Option<ProposalId>, Outcome)>, ReplicaError> {
        if self.poisoned {
            return Err(ReplicaError::Poisoned);
        }
        let work = self.prepare(entries)?;
        self.declare_types(&work)?;
        self.apply_prepared(work)
    }

    /// Commits `session`'s proposed transaction (see
    /// [`crate::session::Proposed`]) as log entry `entry`, instead of
    /// running the entry's writes again on the replica's connection.
    ///
    /// This is only done when it provably changes nothing: the entry is the
    /// next one to apply and is exactly what the session proposed; the
    /// session's DuckDB transaction is the one that ran the proposed writes,
    /// on this very database, with the apply's name resolution and
    /// division; nothing was applied since its snapshot (so the conflict
    /// check passes and the writes ran on the state the entry applies to);
    /// the proposal was not applied before; and it changes no schema. The
    /// writes then did exactly what running them again would do, as every
    /// other node does. The entry's bookkeeping is written in the session's
    /// transaction, which then commits: the entry's effects and its applied
    /// index still land in one DuckDB transaction.
    ///
    /// Returns the entry's outcome if it was adopted. `Ok(None)`: the
    /// session's transaction was rolled back (if it had one) and `entry`
    /// must be applied with [`Replica::apply`]. On `Err`, as for `apply`,
    /// the caller must mark the group degraded.
    pub fn adopt(
        &mut self,
        entry: &Committed<'_>,
        session: &mut EngineSession,
    ) -> Result<Option<Outcome>, ReplicaError> {
        if self.poisoned {
            return Err(ReplicaError::Poisoned);
        }
        let Some(proposed) = session.proposed.take() else {
            return Ok(None);
        };
        let Some(writes) = self.adoptable(entry, session, &proposed) else {
            let _ = session.rollback();
            return Ok(None);
        };
        {
            let mut pending = self.pending_versions.borrow_mut();
            for name in writes {
                pending.insert(name, entry.index);
            }
        }
        let outcome = Outcome::Applied {
            rows: proposed.rows,
        };
        self.record_client(proposed.id, &outcome);
        if self
            .record_applied_on(&session.connection, entry.index, entry.term)
            .is_err()
        {
            self.clear_pending();
            let _ = session.rollback();
            return Ok(None);
        }
        if let Err(error) = session.commit_duckdb() {
            self.clear_pending();
            // DuckDB rolls a transaction back when its commit fails; make sure.
            let _ = session.connection.execute_batch("ROLLBACK");
            return match classify_op_error(entry.index, error) {
                // Met another transaction's write, or a check of the state
                // that applying the entry meets alike.
                OpError::Environmental(ReplicaError::LocalConflict { .. })
                | OpError::Deterministic(_) => Ok(None),
                // Anything else leaves the durable state unknown here.
                OpError::Environmental(error) => {
                    self.poisoned = true;
                    Err(error)
                }
            };
        }
        self.commit_clients();
        self.applied_index = entry.index;
        self.applied_term = entry.term;
        if self.log_rows.get() >= FOLD_LOG_ROWS {
            if let Err(error) = self.fold_log() {
                self.poisoned = true;
                return Err(error);
            }
        }
        Ok(Some(outcome))
    }

    /// The relations `entry` writes if [`Replica::adopt`] may commit the
    /// session's transaction as `entry`.
    fn adoptable(
        &self,
        entry: &Committed<'_>,
        session: &EngineSession,
        proposed: &Proposed,
    ) -> Option<Vec<String>> {
        let same_database = self.catalog_instance == Some(session.catalog.instance)
            && session.catalog.retirement().is_none();
        let next = entry.index == self.applied_index + 1 && entry.term >= self.applied_term;
        let as_applied =
            session.may_be_adopted() && session.integer_division == proposed.batch.integer_division;
        if !(session.in_transaction
            && same_database
            && next
            && as_applied
            && proposed.batch.snapshot_index == Some(self.applied_index))
        {
            return None;
        }
        let envelope = command::decode(entry.data).ok()?;
        let Command::Catalog(batch) = envelope.command else {
            return None;
        };
        if envelope.id != Some(proposed.id) || batch != proposed.batch {
            return None;
        }
        let Body::Batch(batch) = prepare_batch(batch) else {
            return None;
        };
        let schema_change = batch
            .writes
            .iter()
            .any(|name| name == duckraft_sql::access::ALL);
        let rows_only = batch.ops.iter().all(|op| match op {
            PreparedOp::Sql(sql) => changes_rows_only(sql),
            PreparedOp::Rows(_) => true,
        });
        if schema_change || !rows_only || self.conflict(entry.index, &batch).is_some() {
            return None;
        }
        if self.dedup && !matches!(self.previous_outcome(entry.index, proposed.id), Ok(None)) {
            return None;
        }
        // The backstop for a statement that ended the transaction unnoticed.
        if session.transaction_id().ok()? != proposed.transaction_id {
            return None;
        }
        Some(batch.writes)
    }

    /// Registers the declared string types the statements name. Before the
    /// apply transaction begins: DuckDB binds a type registered after a
    /// transaction first touched its catalog only in later transactions.
    fn declare_types(&self, work: &[Work]) -> Result<(), ReplicaError> {
        let Some(types) = &self.declared_types else {
            return Ok(());
        };
        for entry in work {
            let Body::Batch(batch) = &entry.body else {
                continue;
            };
            for op in &batch.ops {
                if let PreparedOp::Sql(sql) = op {
                    types.ensure(sql).map_err(|e| ReplicaError::Engine {
                        index: Some(entry.index),
                        sqlstate: e.sqlstate.to_string(),
                        message: e.message,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Applies validated work; any error poisons the replica.
    fn apply_prepared(
        &mut self,
        work: Vec<Work>,
    ) -> Result<Vec<(u64, Option<ProposalId>, Outcome)>, ReplicaError> {
        if work.is_empty() {
            return Ok(Vec::new());
        }
        let mut outcomes = Vec::with_capacity(work.len());
        let mut result = self.apply_work(&work, &mut outcomes);
        if result.is_ok() && self.log_rows.get() >= FOLD_LOG_ROWS {
            result = self.fold_log();
        }
        let results = work
            .iter()
            .zip(outcomes)
            .map(|(w, outcome)| (w.index, w.id, outcome))
            .collect();
        match result {
            Ok(()) => Ok(results),
            Err(mut error) => {
                if let ReplicaError::LocalConflict { applied, .. } = &mut error {
                    *applied = results;
                }
                // Best effort: there may be no transaction left to roll back.
                let _ = self.conn.execute_batch("ROLLBACK");
                self.transaction.set(None);
                self.clear_pending();
                if !matches!(error, ReplicaError::LocalConflict { .. }) {
                    self.poisoned = true;
                }
                Err(error)
            }
        }
    }

    /// Checks continuity and decodes; touches nothing.
    fn prepare(&self, entries: &[Committed<'_>]) -> Result<Vec<Work>, ReplicaError> {
        let mut expected = self.applied_index + 1;
        let mut previous_term = self.applied_term;
        let mut work = Vec::new();
        for entry in entries {
            if work.is_empty() && entry.index < expected {
                continue; // already applied
            }
            if entry.index != expected {
                return Err(ReplicaError::Gap {
                    expected,
                    got: entry.index,
                });
            }
            if entry.term < previous_term {
                return Err(ReplicaError::TermRegression {
                    index: entry.index,
                    term: entry.term,
                    previous: previous_term,
                });
            }
            let (id, body) = if entry.data.is_empty() {
                (None, Body::Noop)
            } else {
                let envelope =
                    command::decode(entry.data).map_err(|error| ReplicaError::Decode {
                        index: entry.index,
                        error,
                    })?;
                (envelope.id, prepare_command(envelope.command))
            };
            work.push(Work {
                index: entry.index,
                term: entry.term,
                id,
                body,
            });
            expected += 1;
            previous_term = entry.term;
        }
        Ok(work)
    }

    /// Applies `work`, pushing one outcome per applied entry; on error,
    /// `outcomes` holds those of the entries committed before it.
    fn apply_work(
        &mut self,
        work: &[Work],
        outcomes: &mut Vec<Outcome>,
    ) -> Result<(), ReplicaError> {
        let mut start = 0;
        // Position of an entry that failed inside a group: everything before
        // it is applied as a group, then it runs alone.
        let mut failing: Option<usize> = None;
        let mut merge = true;
        while start < work.len() {
            let end = failing.filter(|&f| f > start).unwrap_or(work.len());
            if failing == Some(start) || end - start == 1 {
                outcomes.push(self.apply_alone(&work[start])?);
                start += 1;
                failing = failing.filter(|&f| f >= start);
                merge = true;
                continue;
            }
            match self.apply_group(&work[start..end], merge)? {
                GroupResult::Committed(group) => {
                    outcomes.extend(group);
                    start = end;
                    merge = true;
                }
                GroupResult::FailedAt(offset) => failing = Some(start + offset),
                GroupResult::CommitFailed => failing = Some(start),
                GroupResult::MergeFailed => merge = false,
            }
        }
        Ok(())
    }

    /// Runs `work` in one transaction, merging row inserts across entries
    /// if `merge`. The prefix before a failing entry is not committed here;
    /// the caller re-runs it.
    fn apply_group(&mut self, work: &[Work], merge: bool) -> Result<GroupResult, ReplicaError> {
        self.begin()?;
        let mut outcomes = Vec::with_capacity(work.len());
        for (offset, entry) in work.iter().enumerate() {
            match self.run_entry(entry, merge)? {
                Step::Done(outcome) => outcomes.push(outcome),
                Step::StatementFailed(_) => {
                    self.rollback()?;
                    return Ok(GroupResult::FailedAt(offset));
                }
                Step::MergeFailed => {
                    self.rollback()?;
                    return Ok(GroupResult::MergeFailed);
                }
            }
        }
        match self.flush_rows() {
            Ok(()) => {}
            Err(OpError::Deterministic(_)) => {
                self.rollback()?;
                return Ok(GroupResult::MergeFailed);
            }
            Err(OpError::Environmental(error)) => return Err(error),
        }
        let last = work.last().expect("groups are not empty");
        self.record_applied(last)?;
        self.transaction.set(None);
        if self.conn.execute_batch("COMMIT").is_err() {
            // DuckDB rolls a transaction back when its commit fails; make sure.
            let _ = self.conn.execute_batch("ROLLBACK");
            self.clear_pending();
            return Ok(GroupResult::CommitFailed);
        }
        self.commit_clients();
        self.applied_index = last.index;
        self.applied_term = last.term;
        Ok(GroupResult::Committed(outcomes))
    }

    /// Runs one entry in its own transaction; a statement failure is rolled
    /// back and recorded in a transaction of its own.
    fn apply_alone(&mut self, entry: &Work) -> Result<Outcome, ReplicaError> {
        self.begin()?;
        let outcome = match self.run_entry(entry, false)? {
            Step::Done(outcome) => outcome,
            Step::MergeFailed => unreachable!("an entry alone merges nothing across entries"),
            Step::StatementFailed(outcome) => {
                self.rollback()?;
                self.begin()?;
                if let Some(id) = entry.id {
                    self.record_client(id, &outcome);
                }
                outcome
            }
        };
        self.record_applied(entry)?;
        self.commit(entry.index)?;
        self.commit_clients();
        self.applied_index = entry.index;
        self.applied_term = entry.term;
        Ok(outcome)
    }

    /// Runs one entry inside the open transaction: dedup check, ops, dedup
    /// record. Unless `merge`, its rows are inserted before it returns.
    fn run_entry(&self, entry: &Work, merge: bool) -> Result<Step, ReplicaError> {
        if let Body::Noop = entry.body {
            return Ok(Step::Done(Outcome::Noop));
        }
        if let Some(id) = entry.id.filter(|_| self.dedup) {
            if let Some(previous) = self.previous_outcome(entry.index, id)? {
                return Ok(Step::Done(Outcome::Duplicate(Box::new(previous))));
            }
        }
        let outcome = match &entry.body {
            Body::Noop => unreachable!("handled above"),
            Body::Reject(outcome) => outcome.clone(),
            Body::Batch(batch) => {
                if let Some(conflict) = self.conflict(entry.index, batch) {
                    if let Some(id) = entry.id {
                        self.record_client(id, &conflict);
                    }
                    return Ok(Step::Done(conflict));
                }
                self.divide_as(entry.index, batch.integer_division)?;
                let mut rows = 0u64;
                for op in &batch.ops {
                    if !self.joins_buffered_rows(op) {
                        // With `merge`, the buffer may hold earlier entries' rows.
                        match self.flush_rows() {
                            Ok(()) => {}
                            Err(OpError::Deterministic(_)) if merge => {
                                return Ok(Step::MergeFailed)
                            }
                            Err(OpError::Deterministic(outcome)) => {
                                return Ok(Step::StatementFailed(outcome))
                            }
                            Err(OpError::Environmental(error)) => return Err(error),
                        }
                    }
                    let (count, shape) = match self.run_op(entry.index, op) {
                        Ok(ran) => ran,
                        Err(OpError::Deterministic(outcome)) => {
                            return Ok(Step::StatementFailed(outcome))
                        }
                        Err(OpError::Environmental(error)) => return Err(error),
                    };
                    rows += count;
                    if shape == ResultShape::Other {
                        // Before the next op can autocommit outside the log.
                        self.check_transaction(entry.index)?;
                    }
                }
                if !merge {
                    match self.flush_rows() {
                        Ok(()) => {}
                        Err(OpError::Deterministic(outcome)) => {
                            return Ok(Step::StatementFailed(outcome))
                        }
                        Err(OpError::Environmental(error)) => return Err(error),
                    }
                }
                let mut pending = self.pending_versions.borrow_mut();
                for name in &batch.writes {
                    pending.insert(name.clone(), entry.index);
                }
                Outcome::Applied { rows }
            }
        };
        if let Some(id) = entry.id {
            self.record_client(id, &outcome);
        }
        Ok(Step::Done(outcome))
    }

    /// Sets how the batch's statements divide. It is a DuckDB parser
    /// option, and statement ops are parsed afresh, never kept.
    fn divide_as(&self, index: u64, integer_division: bool) -> Result<(), ReplicaError> {
        if self.integer_division.get() != integer_division {
            self.conn
                .execute_batch(if integer_division {
                    "SET integer_division = true"
                } else {
                    "SET integer_division = false"
                })
                .map_err(|e| engine_error(Some(index), &e))?;
            self.integer_division.set(integer_division);
        }
        Ok(())
    }

    /// Whether `op` only adds rows to the buffered ones. Anything else
    /// must see them inserted first.
    fn joins_buffered_rows(&self, op: &PreparedOp) -> bool {
        let PreparedOp::Rows(rows) = op else {
            return false;
        };
        match &*self.pending_rows.borrow() {
            None => true,
            Some(pending) => pending.into == rows.into && pending.width == rows.width,
        }
    }

    /// Runs one op: its row count, and the shape of its result. Rows are
    /// only buffered (see [`Replica::joins_buffered_rows`]); a plain insert
    /// inserts every row or fails.
    fn run_op(&self, index: u64, op: &PreparedOp) -> Result<(u64, ResultShape), OpError> {
        match op {
            PreparedOp::Sql(sql) => {
                if self.transaction.get().is_none() {
                    // Only statements can end the transaction; rows-only
                    // groups skip this query.
                    let id = self
                        .transaction_id(Some(index))
                        .map_err(OpError::Environmental)?;
                    self.transaction.set(Some(id));
                }
                let classify = |e| classify_op_error(index, e);
                let mut statement = self.conn.prepare(sql).map_err(classify)?;
                let changed = statement.execute([]).map_err(classify)?;
                Ok((changed as u64, ResultShape::of(&statement)))
            }
            PreparedOp::Rows(rows) => {
                self.buffer_rows(index, rows);
                Ok((rows.rows.len() as u64, ResultShape::RowCount))
            }
        }
    }

    /// Adds `rows` to the buffered ones, which have the same target or
    /// none.
    fn buffer_rows(&self, index: u64, rows: &PreparedRows) {
        if rows.rows.is_empty() {
            return;
        }
        let mut pending = self.pending_rows.borrow_mut();
        let pending = pending.get_or_insert_with(|| PendingRows {
            into: rows.into.clone(),
            width: rows.width,
            values: Vec::new(),
            first_index: index,
        });
        pending
            .values
            .extend(rows.rows.iter().flat_map(|row| row.iter().cloned()));
    }

    /// Inserts the buffered rows with as few statements as
    /// [`crate::rows::merged_insert_rows`] allows.
    fn flush_rows(&self) -> Result<(), OpError> {
        let Some(pending) = self.pending_rows.borrow_mut().take() else {
            return Ok(());
        };
        insert_merged(&self.conn, &pending.into, pending.width, &pending.values)
            .map_err(|e| classify_op_error(pending.first_index, e))
    }

    /// The stored outcome if `id` was already applied (this transaction's
    /// records first, then the committed ones).
    fn previous_outcome(
        &self,
        _index: u64,
        id: ProposalId,
    ) -> Result<Option<Outcome>, ReplicaError> {
        let stored = self
            .pending_clients
            .borrow()
            .get(&id.client)
            .or(self.clients.borrow().get(&id.client))
            .cloned();
        let Some((seq, outcome)) = stored else {
            return Ok(None);
        };
        if id.seq > seq {
            return Ok(None);
        }
        if id.seq < seq {
            return Ok(Some(failed(
                STALE_RETRY_SQLSTATE,
                format!(
                    "proposal {} of client {} was already applied, but its outcome is no longer \
                     kept (client is at proposal {seq})",
                    id.seq, id.client
                ),
            )));
        }
        let stored: StoredOutcome = serde_json::from_str(&outcome).map_err(|e| {
            ReplicaError::Corrupt(format!(
                "stored outcome of client {} is unreadable: {e}",
                id.client
            ))
        })?;
        Ok(Some(stored.into_outcome()))
    }

    fn record_client(&self, id: ProposalId, outcome: &Outcome) {
        let stored = StoredOutcome::from_outcome(outcome)
            .expect("only Applied and Failed outcomes are recorded");
        let json = serde_json::to_string(&stored).expect("outcomes serialise");
        self.pending_clients
            .borrow_mut()
            .insert(id.client, (id.seq, json));
    }

    /// The transaction committed: its dedup records and relation versions are
    /// now the stored ones.
    fn commit_clients(&self) {
        let pending = std::mem::take(&mut *self.pending_clients.borrow_mut());
        let versions = std::mem::take(&mut *self.pending_versions.borrow_mut());
        if versions.contains_key(duckraft_sql::access::ALL) {
            // After the commit and before the apply returns, so before the
            // change is acknowledged to anyone.
            if let Some(epoch) = &self.schema_epoch {
                epoch.fetch_add(1, Ordering::Release);
            }
        }
        self.log_rows
            .set(self.log_rows.get() + 1 + (pending.len() + versions.len()) as u64);
        self.unfolded_clients
            .borrow_mut()
            .extend(pending.keys().copied());
        self.unfolded_versions
            .borrow_mut()
            .extend(versions.keys().cloned());
        self.clients.borrow_mut().extend(pending);
        self.versions.borrow_mut().extend(versions);
    }

    /// The 40001 outcome if a relation the transaction read was written after
    /// its snapshot (see the module documentation).
    fn conflict(&self, index: u64, batch: &PreparedBatch) -> Option<Outcome> {
        let (snapshot, reads) = batch.check.as_ref().filter(|_| self.conflict_check)?;
        let committed = self.versions.borrow();
        let pending = self.pending_versions.borrow();
        let version = |name: &str| {
            pending
                .get(name)
                .or_else(|| committed.get(name))
                .copied()
                .unwrap_or(0)
        };
        let newest = |names: &mut dyn Iterator<Item = &String>| {
            names
                .map(|name| (version(name), name.clone()))
                .max_by_key(|(written, _)| *written)
        };
        let reads_all = reads.iter().any(|r| r == duckraft_sql::access::ALL);
        let (written, name) = if reads_all {
            newest(&mut committed.keys().chain(pending.keys()))?
        } else {
            let all = duckraft_sql::access::ALL.to_string();
            newest(&mut reads.iter().chain(std::iter::once(&all)))?
        };
        if written <= *snapshot {
            return None;
        }
        let what = if name == duckraft_sql::access::ALL {
            "the schema".to_string()
        } else {
            format!("relation \"{name}\"")
        };
        Some(failed(
            "40001",
            format!(
                "could not serialize access due to a concurrent write conflict: {what} was \
                 changed by log entry {written}, after this transaction's snapshot at entry \
                 {snapshot} (this transaction is entry {index}); retry the transaction"
            ),
        ))
    }

    /// Writes the open transaction's bookkeeping: one `apply_log` row.
    fn record_applied(&self, entry: &Work) -> Result<(), ReplicaError> {
        self.record_applied_on(&self.conn, entry.index, entry.term)
    }

    /// [`Replica::record_applied`] on `conn`, whose open transaction holds
    /// the effects of the entries up to `index`.
    fn record_applied_on(
        &self,
        conn: &Connection,
        index: u64,
        term: u64,
    ) -> Result<(), ReplicaError> {
        let pending_clients = self.pending_clients.borrow();
        let clients: Vec<(u64, u64, &str)> = pending_clients
            .iter()
            .map(|(client, (seq, outcome))| (*client, *seq, outcome.as_str()))
            .collect();
        let pending_versions = self.pending_versions.borrow();
        let versions: Vec<(&str, u64)> = pending_versions
            .iter()
            .map(|(name, idx)| (name.as_str(), *idx))
            .collect();
        let clients = serde_json::to_string(&clients).expect("records serialise");
        let versions = serde_json::to_string(&versions).expect("records serialise");
        // Typed placeholders and a literal NULL: DuckDB plans a prepared
        // statement again whenever a bound value's type differs from the
        // one it planned with (a NULL always does), doubling the cost.
        let inserted = match pending_versions.get(duckraft_sql::access::ALL) {
            Some(&schema_idx) => conn
                .prepare_cached(
                    "INSERT INTO __duckraft.apply_log VALUES \
                     (?::UBIGINT, ?::UBIGINT, ?::VARCHAR, ?::VARCHAR, ?::UBIGINT)",
                )
                .and_then(|mut s| {
                    s.execute(duckdb::params![index, term, clients, versions, schema_idx])
                }),
            None => conn
                .prepare_cached(
                    "INSERT INTO __duckraft.apply_log VALUES \
                     (?::UBIGINT, ?::UBIGINT, ?::VARCHAR, ?::VARCHAR, NULL)",
                )
                .and_then(|mut s| s.execute(duckdb::params![index, term, clients, versions])),
        };
        inserted.map_err(|e| engine_error(Some(index), &e))?;
        Ok(())
    }

    /// Forgets the open transaction's bookkeeping and buffered rows.
    fn clear_pending(&self) {
        self.pending_clients.borrow_mut().clear();
        self.pending_versions.borrow_mut().clear();
        self.pending_rows.borrow_mut().take();
    }

    fn begin(&self) -> Result<(), ReplicaError> {
        self.transaction.set(None);
        self.conn
            .execute_batch("BEGIN TRANSACTION")
            .map_err(|e| engine_error(None, &e))
    }

    fn commit(&self, index: u64) -> Result<(), ReplicaError> {
        self.transaction.set(None);
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| engine_error(Some(index), &e))
    }

    fn rollback(&self) -> Result<(), ReplicaError> {
        self.transaction.set(None);
        self.clear_pending();
        self.conn
            .execute_batch("ROLLBACK")
            .map_err(|e| engine_error(None, &e))
    }

    /// DuckDB's id of the connection's current transaction (a fresh one per
    /// statement outside an explicit transaction). Never a cached statement:
    /// the id is fixed when the statement is bound.
    fn transaction_id(&self, index: Option<u64>) -> Result<u64, ReplicaError> {
        self.conn
            .query_row("SELECT current_transaction_id()", [], |row| row.get(0))
            .map_err(|e| engine_error(index, &e))
    }

    /// Fails closed if a replicated statement ended the apply transaction
    /// (the op classification should make this impossible; this is the
    /// backstop, as duckdb-rs cannot report the transaction state).
    fn check_transaction(&self, index: u64) -> Result<(), ReplicaError> {
        let current = self.transaction_id(Some(index))?;
        if self.transaction.get() != Some(current) {
            return Err(ReplicaError::Engine {
                index: Some(index),
                sqlstate: "XX000".into(),
                message: "a replicated statement ended the apply transaction".into(),
            });
        }
        Ok(())
    }

    /// Canonical SHA-256 (lower-case hex) of the user-visible catalog state:
    /// every schema of the database (except `__duckraft`, `information_schema`
    /// and `pg_catalog`), its tables, their columns (name, type, nullability)
    /// in definition order, and their rows. Each cell is rendered as a tag
    /// byte (0 = NULL, 1 = value) followed by `CAST(cell AS VARCHAR)`, and
    /// rows are sorted with `ORDER BY ALL` over those BLOB renderings (byte
    /// order: no collation, NULL order or float comparison involved). Every
    /// field is framed as a kind byte plus a big-endian u64 length, so no two
    /// different states share an encoding. Views, sequences, macros, indexes
    /// and constraints are not covered.
    pub fn state_hash(&self) -> Result<String, ReplicaError> {
        self.begin()?;
        let hash = self.state_hash_in_transaction();
        let end = self.rollback();
        let hash = hash.map_err(|e| engine_error(None, &e))?;
        end?;
        Ok(hash)
    }

    fn state_hash_in_transaction(&self) -> Result<String, duckdb::Error> {
        const EXCLUDED: &str = "('__duckraft', 'information_schema', 'pg_catalog')";
        let mut hasher = Sha256::new();
        frame(&mut hasher, b'V', b"duckraft-state-v1");

        let mut schemas: Vec<String> = self
            .conn
            .prepare(&format!(
                "SELECT schema_name FROM duckdb_schemas() \
                 WHERE database_name = current_database() AND schema_name NOT IN {EXCLUDED}"
            ))?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        schemas.sort();
        for schema in &schemas {
            frame(&mut hasher, b'S', schema.as_bytes());
        }

        let mut tables: Vec<(String, String)> = self
            .conn
            .prepare(&format!(
                "SELECT schema_name, table_name FROM duckdb_tables() \
                 WHERE database_name = current_database() AND NOT temporary \
                   AND schema_name NOT IN {EXCLUDED}"
            ))?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        tables.sort();

        let mut columns_query = self.conn.prepare(
            "SELECT column_name, data_type, is_nullable FROM duckdb_columns() \
             WHERE database_name = current_database() AND schema_name = ? AND table_name = ? \
             ORDER BY column_index",
        )?;
        for (schema, table) in &tables {
            frame(&mut hasher, b'T', schema.as_bytes());
            frame(&mut hasher, b't', table.as_bytes());
            let columns: Vec<(String, String, bool)> = columns_query
                .query_map([schema, table], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            for (name, data_type, nullable) in &columns {
                frame(&mut hasher, b'C', name.as_bytes());
                frame(&mut hasher, b'c', data_type.as_bytes());
                frame(&mut hasher, b'n', &[u8::from(*nullable)]);
            }
            if columns.is_empty() {
                continue;
            }
            let rendered: Vec<String> = columns
                .iter()
                .map(|(name, _, _)| {
                    let c = quote_identifier(name);
                    format!(
                        "CASE WHEN {c} IS NULL THEN '\\x00'::BLOB \
                         ELSE '\\x01'::BLOB || system.main.encode(CAST({c} AS VARCHAR)) END"
                    )
                })
                .collect();
            let sql = format!(
                "SELECT {} FROM {}.{} ORDER BY ALL ASC",
                rendered.join(", "),
                quote_identifier(schema),
                quote_identifier(table)
            );
            let mut statement = self.conn.prepare(&sql)?;
            let mut rows = statement.query([])?;
            let mut count = 0u64;
            while let Some(row) = rows.next()? {
                frame(&mut hasher, b'R', &[]);
                for i in 0..columns.len() {
                    let cell: Vec<u8> = row.get(i)?;
                    frame(&mut hasher, b'v', &cell);
                }
                count += 1;
            }
            frame(&mut hasher, b'E', &count.to_be_bytes());
        }
        Ok(hex(&hasher.finalize()))
    }
}

/// Kind byte, big-endian u64 length, bytes.
fn frame(hasher: &mut Sha256, kind: u8, bytes: &[u8]) {
    hasher.update([kind]);
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Validates a command and turns it into DuckDB work, deterministically.
fn prepare_command(command: Command) -> Body {
    match command {
        // The control plane's own state machine applies these; a catalog
        // group must never see one.
        Command::Control(_) => Body::Reject(failed(
            CONTROL_MISROUTED_SQLSTATE,
            "control command routed to catalog group",
        )),
        Command::Catalog(batch) => prepare_batch(batch),
    }
}

fn prepare_batch(batch: WriteBatch) -> Body {
    let mut ops = Vec::with_capacity(batch.ops.len());
    let named_writes = !batch.write_set.is_empty();
    let mut writes: BTreeSet<String> = batch.write_set.into_iter().collect();
    let mut unnamed_sql = false;
    for op in batch.ops {
        let prepared = match op {
            WriteOp::Sql(sql) => {
                unnamed_sql |= !named_writes;
                prepare_sql(sql)
            }
            WriteOp::Rows(rows) => {
                writes.extend(duckraft_sql::access::append_access(&rows.table).writes);
                prepare_rows(&rows)
                    .map(PreparedOp::Rows)
                    .map_err(|e| failed(e.sqlstate, e.message))
            }
        };
        match prepared {
            Ok(op) => ops.push(op),
            Err(outcome) => return Body::Reject(outcome),
        }
    }
    // Statements whose writes the proposer did not name may write anything.
    if unnamed_sql {
        writes.insert(duckraft_sql::access::ALL.to_string());
    }
    Body::Batch(PreparedBatch {
        check: batch.snapshot_index.map(|s| (s, batch.read_set)),
        writes: writes.into_iter().collect(),
        ops,
        integer_division: batch.integer_division,
    })
}

/// Whether a statement op only changes rows of existing tables. A `CREATE
/// TABLE ... AS` is a write too, but creates a catalog entry, which for a
/// temporary table lives on the connection that ran it: committed on a
/// session's connection, it would be missing from the replica's.
fn changes_rows_only(sql: &str) -> bool {
    use duckraft_sql::lexer::{significant, tokenize};
    let Ok(tokens) = tokenize(sql) else {
        return false;
    };
    let first = significant(&tokens).next();
    first.is_some_and(|token| {
        ["INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "TRUNCATE"]
            .iter()
            .any(|keyword| token.is_word(keyword))
    })
}

/// Exactly one statement, and one that cannot end, open or escape the apply
/// transaction (the front door never proposes those; this is the backstop).
fn prepare_sql(sql: String) -> Result<PreparedOp, Outcome> {
    use duckraft_sql::{classify, SqlKind, Statement};
    let statements = duckraft_sql::split_statements(&sql)
        .map_err(|e| failed("42601", format!("replicated statement: {e}")))?;
    if statements.len() != 1 {
        return Err(failed(
            "42601",
            format!(
                "a replicated statement op must hold exactly one statement, not {}",
                statements.len()
            ),
        ));
    }
    match classify(&sql) {
        Ok(Statement::Sql {
            kind: SqlKind::Read | SqlKind::Write | SqlKind::Ddl,
            ..
        }) => Ok(PreparedOp::Sql(sql)),
        Ok(other) => Err(failed(
            "0A000",
            format!("statement not allowed in a replicated write: {other:?}"),
        )),
        Err(e) => Err(failed("42601", e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling that ends a DuckDB transaction.
    const TRANSACTION_ENDINGS: &[&str] = &["COMMIT", "END", "ROLLBACK", "ABORT"];

    /// The backstop behind `prepare_sql`: a statement that ends the apply
    /// transaction fails closed and poisons the replica.
    #[test]
    fn replica_statement_ending_the_transaction_fails_closed() {
        for ending in TRANSACTION_ENDINGS {
            let conn = Connection::open_in_memory().unwrap();
            let reader = conn.try_clone().unwrap();
            let mut replica = Replica::open(conn).unwrap();
            let work = |index, sql: &str| Work {
                index,
                term: 1,
                id: None,
                body: Body::Batch(PreparedBatch {
                    check: None,
                    writes: vec![duckraft_sql::access::ALL.into()],
                    ops: vec![PreparedOp::Sql(sql.into())],
                    integer_division: false,
                }),
            };
            assert!(matches!(
                prepare_sql((*ending).into()),
                Err(Outcome::Failed { .. })
            ));
            let result = replica.apply_prepared(vec![
                work(1, "CREATE TABLE t (a INTEGER)"),
                work(2, ending),
                work(3, "INSERT INTO t VALUES (1)"),
            ]);
            assert!(
                matches!(&result, Err(ReplicaError::Engine { index: Some(2), message, .. })
                    if message.contains("ended the apply transaction")),
                "{ending}: {result:?}"
            );
            assert_eq!(replica.apply(&[]), Err(ReplicaError::Poisoned));
            assert_eq!(replica.applied_index(), 0);
            let rows: i64 = reader
                .query_row(
                    "SELECT count(*) FROM __duckraft.applied \
                     WHERE folded_idx = 0 AND NOT EXISTS (SELECT 1 FROM __duckraft.apply_log)",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(rows, 1, "{ending}");
            // The op after the ending never ran (it would have autocommitted).
            let tables: i64 = reader
                .query_row(
                    "SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            if tables == 1 {
                let inserted: i64 = reader
                    .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(inserted, 0, "{ending}");
            }
        }
    }

    /// The assumption that lets data-changing ops skip the per-op check: no
    /// statement that ends a transaction reports a row count.
    #[test]
    fn only_data_changing_statements_report_a_row_count() {
        let conn = Connection::open_in_memory().unwrap();
        let shape = |sql: &str| {
            let mut statement = conn.prepare(sql).unwrap();
            statement.execute([]).unwrap();
            ResultShape::of(&statement)
        };
        for ending in TRANSACTION_ENDINGS {
            assert_eq!(shape("BEGIN TRANSACTION"), ResultShape::Other);
            assert_eq!(shape(ending), ResultShape::Other, "{ending}");
        }
        assert_eq!(shape("CREATE TABLE t (a INTEGER)"), ResultShape::RowCount);
        for sql in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 2",
            "DELETE FROM t WHERE a = 3",
            "CREATE VIEW v AS SELECT a FROM t",
        ] {
            assert_eq!(shape(sql), ResultShape::RowCount, "{sql}");
        }
        assert_eq!(
            shape("INSERT INTO t VALUES (4) RETURNING a"),
            ResultShape::Other
        );
        assert_eq!(shape("SELECT 42"), ResultShape::Other);
    }
}
