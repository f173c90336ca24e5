//! The replicated log entry format: what a catalog's Raft group agrees on.
//!
//! Wire format, version 1: one byte `FORMAT_VERSION` (= 1) followed by the
//! serde_json encoding of an [`Envelope`]. The JSON shape is fixed by the serde
//! attributes in this file (struct fields in declaration order, enums
//! externally tagged with snake_case names), so encoding is deterministic: the
//! same envelope always yields the same bytes. A test pins the bytes of one
//! envelope; any change to a type or attribute here that changes them needs a
//! new version byte, never a silent change of version 1.
//!
//! Decoding is strict and never guesses: an empty entry, an unknown version
//! byte, malformed JSON, unknown fields or variants, and malformed value
//! payloads are all [`DecodeError`]s. (An empty Raft entry is a no-op entry;
//! the replica recognises it before decoding.)
//!
//! `Value` (crates/sql) has no serde derives, so values travel through a
//! private mirror, `WireValue`. Floats travel as their IEEE-754 bit patterns so
//! NaN, the infinities and -0.0 survive exactly (JSON numbers cannot carry them).

use std::collections::BTreeMap;

use duckraft_sql::types::Value;
use serde::{Deserialize, Serialize};

/// The first byte of every encoded entry.
pub const FORMAT_VERSION: u8 = 1;

/// Identifies one proposal for deduplication of retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalId {
    /// Unique per session, cluster-wide.
    pub client: u64,
    /// Increases with every write the session proposes.
    pub seq: u64,
}

/// One log entry's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// `None` for entries that are never retried (and so never deduplicated).
    pub id: Option<ProposalId>,
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// A write to the catalog whose group this log belongs to.
    Catalog(WriteBatch),
    /// Control-plane state (catalogs, users); applied by the control-plane group.
    Control(ControlCommand),
}

/// One atomic unit: an autocommit statement or a whole interactive transaction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteBatch {
    /// `None` for autocommit (no conflict check); `Some(i)`: the applied
    /// index the interactive transaction read at.
    pub snapshot_index: Option<u64>,
    /// Relation names (`duckraft_sql::access`) the transaction read, sorted;
    /// checked against writes applied after `snapshot_index`.
    pub read_set: Vec<String>,
    /// Relation names the statement ops write, sorted. Empty with statement
    /// ops means "unknown": the apply then counts them as writing `*`.
    /// Row-batch targets are added by the apply itself.
    pub write_set: Vec<String>,
    pub ops: Vec<WriteOp>,
    /// The statement ops divide as PostgreSQL does: an integer by an integer
    /// is an integer (DuckDB's `integer_division`). Proposed from
    /// [`INTEGER_DIVISION_LEVEL`]; absent (the older entries) means DuckDB's
    /// `/`, so an entry means the same on every node and in every replay.
    #[serde(default, skip_serializing_if = "is_false")]
    pub integer_division: bool,
}

fn is_false(flag: &bool) -> bool {
    !flag
}

impl WriteBatch {
    /// An autocommit batch: no snapshot, no reads to check.
    pub fn autocommit(write_set: Vec<String>, ops: Vec<WriteOp>) -> Self {
        WriteBatch {
            snapshot_index: None,
            read_set: Vec::new(),
            write_set,
            ops,
            integer_division: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOp {
    /// One SQL statement, already pinned: deterministic on every node (no
    /// `now()`, `random()`, unqualified settings-dependent behaviour, ...).
    Sql(String),
    /// Rows to insert, e.g. from `COPY ... FROM STDIN`.
    Rows(RowBatch),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowBatch {
    /// `schema.table` (or a bare `table`); neither part may contain a `.`.
    pub table: String,
    /// Empty (from [`POSITIONAL_ROWS_LEVEL`]): every column of the table at
    /// apply time, in order, as `INSERT INTO t VALUES (...)` would fill them.
    pub columns: Vec<String>,
    #[serde(with = "rows_wire")]
    pub rows: Vec<Vec<Value>>,
}

/// The highest cluster capability level this binary applies:
/// - 1: everything up to and including capability tracking
///   ([`ControlCommand::ReportCapability`], [`ControlCommand::SetCapability`]);
/// - 2: database grants ([`ControlCommand::DatabaseConnect`]);
/// - 3: row batches without a column list ([`RowBatch::columns`] empty),
///   which parameterised `INSERT ... VALUES ($1, ...)` statements travel as;
/// - 4: membership changes ([`ControlCommand::SetMembers`], and the Raft
///   configuration changes that follow it, which older binaries would
///   hand to the state machine).
/// - 5: statement ops that divide as PostgreSQL does
///   ([`WriteBatch::integer_division`]).
///
/// A proposer uses a command of level N only once cp-metadata's level is at
/// least N, which it becomes only when every member reported support for it;
/// a node whose binary is below the cluster's level refuses to run.
pub const CAPABILITY_LEVEL: u32 = 5;

/// The level at which [`RowBatch::columns`] may be empty.
pub const POSITIONAL_ROWS_LEVEL: u32 = 3;

/// The level at which [`WriteBatch::integer_division`] may be set.
pub const INTEGER_DIVISION_LEVEL: u32 = 5;

/// The level at which the member list can change.
pub const MEMBERSHIP_CAPABILITY_LEVEL: u32 = 4;

/// The level a new cluster (and a data directory from before capability
/// tracking) starts at.
pub const BASE_CAPABILITY_LEVEL: u32 = 1;

/// Control-plane commands. New variants may be added within version 1:
/// an old entry keeps its bytes and its meaning, and a node that does not
/// know a variant fails closed on decoding it. Each variant after the first
/// level is proposed only once the cluster's capability level allows it
/// ([`CAPABILITY_LEVEL`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlCommand {
    CreateCatalog {
        name: String,
    },
    DropCatalog {
        name: String,
    },
    /// Creates a login role with this verifier (not a superuser), or sets
    /// an existing role's verifier and keeps its attributes.
    PutUser {
        name: String,
        verifier: String,
    },
    /// Drops one role; 42704 if it does not exist.
    DropUser {
        name: String,
    },
    /// `CREATE ROLE`/`CREATE USER`; 42710 if the role exists.
    CreateRole {
        name: String,
        role: Role,
    },
    /// `ALTER ROLE`; 42704 if the role does not exist. Unset fields keep
    /// their value.
    AlterRole {
        name: String,
        change: RoleChange,
    },
    /// `DROP ROLE a, b, ...`: all or nothing; without `if_exists` a missing
    /// role fails the whole command with 42704.
    DropRoles {
        names: Vec<String>,
        if_exists: bool,
    },
    /// A member's binary applies levels up to `supports` (proposed by each
    /// node when cp-metadata does not show its level yet).
    ReportCapability {
        node: String,
        supports: u32,
    },
    /// Raises the cluster's capability level to `level`, if every one of
    /// `members` (the voters when proposed) reported support for it.
    SetCapability {
        level: u32,
        members: Vec<String>,
    },
    /// `GRANT|REVOKE CONNECT ON DATABASE databases TO|FROM roles` (level
    /// 2), all or nothing. `public` stands for every role. A database never
    /// granted or revoked lets every role connect, as PostgreSQL's default.
    DatabaseConnect {
        databases: Vec<String>,
        roles: Vec<String>,
        grant: bool,
    },
    /// `ALTER CLUSTER ADD|REMOVE MEMBER` (level 4): the whole member list
    /// after one member joined or left, made against the list at `version`
    /// (0: the list the cluster was bootstrapped with, which cp-metadata
    /// does not hold yet).
    SetMembers {
        version: u64,
        members: BTreeMap<String, Member>,
    },
}

/// A cluster member as cp-metadata records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Its Raft id: never reused, even by a later member of the same name.
    pub raft_id: u64,
    /// `host:port` of its peer transport.
    pub peer_addr: String,
}

/// A replicated role: what a login is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// PostgreSQL's `SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>`; never a
    /// plaintext password. `None`: no password, so no login.
    pub verifier: Option<String>,
    pub superuser: bool,
    /// May log in (`LOGIN`); `CREATE USER` defaults to true, `CREATE ROLE` to false.
    pub login: bool,
}

/// The attributes an `ALTER ROLE` changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub password: Option<PasswordChange>,
    pub superuser: Option<bool>,
    pub login: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PasswordChange {
    /// A SCRAM verifier, as in [`Role::verifier`].
    Set(String),
    /// `PASSWORD NULL`.
    Clear,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty log entry has no format version")]
    Empty,
    #[error("unknown log entry format version {0} (this node understands {FORMAT_VERSION})")]
    UnknownVersion(u8),
    #[error("malformed log entry: {0}")]
    Malformed(String),
}

pub fn encode(envelope: &Envelope) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    serde_json::to_writer(&mut out, envelope)
        .expect("serialising an envelope into memory cannot fail");
    out
}

pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let (&version, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// The serde mirror of `duckraft_sql::types::Value`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum WireValue {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    /// IEEE-754 bits.
    Float4(u32),
    /// IEEE-754 bits.
    Float8(u64),
    Numeric(String),
    Text(String),
    /// Lower-case hex.
    Bytea(String),
    Date(i32),
    Time(i64),
    Timestamp(i64),
    TimestampTz(i64),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// 32 lower-case hex digits.
    Uuid(String),
    Json(String),
    Array {
        element_oid: u32,
        items: Vec<WireValue>,
    },
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Strict inverse of `hex`: even length, lower-case digits only.
fn unhex(text: &str) -> Result<Vec<u8>, String> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err("hex text of odd length".into());
    }
    bytes
        .chunks(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(format!("invalid hex text {text:?}")),
        })
        .collect()
}

impl WireValue {
    fn from_value(value: &Value) -> WireValue {
        match value {
            Value::Null => WireValue::Null,
            Value::Bool(b) => WireValue::Bool(*b),
            Value::Int2(v) => WireValue::Int2(*v),
            Value::Int4(v) => WireValue::Int4(*v),
            Value::Int8(v) => WireValue::Int8(*v),
            Value::Float4(v) => WireValue::Float4(v.to_bits()),
            Value::Float8(v) => WireValue::Float8(v.to_bits()),
            Value::Numeric(s) => WireValue::Numeric(s.clone()),
            Value::Text(s) => WireValue::Text(s.clone()),
            Value::Bytea(b) => WireValue::Bytea(hex(b)),
            Value::Date(v) => WireValue::Date(*v),
            Value::Time(v) => WireValue::Time(*v),
            Value::Timestamp(v) => WireValue::Timestamp(*v),
            Value::TimestampTz(v) => WireValue::TimestampTz(*v),
            Value::Interval {
                months,
                days,
                micros,
            } => WireValue::Interval {
                months: *months,
                days: *days,
                micros: *micros,
            },
            Value::Uuid(b) => WireValue::Uuid(hex(b)),
            Value::Json(s) => WireValue::Json(s.clone()),
            Value::Array { element_oid, items } => WireValue::Array {
                element_oid: *element_oid,
                items: items.iter().map(WireValue::from_value).collect(),
            },
        }
    }

    fn into_value(self) -> Result<Value, String> {
        Ok(match self {
            WireValue::Null => Value::Null,
            WireValue::Bool(b) => Value::Bool(b),
            WireValue::Int2(v) => Value::Int2(v),
            WireValue::Int4(v) => Value::Int4(v),
            WireValue::Int8(v) => Value::Int8(v),
            WireValue::Float4(bits) => Value::Float4(f32::from_bits(bits)),
            WireValue::Float8(bits) => Value::Float8(f64::from_bits(bits)),
            WireValue::Numeric(s) => Value::Numeric(s),
            WireValue::Text(s) => Value::Text(s),
            WireValue::Bytea(s) => Value::Bytea(unhex(&s)?),
            WireValue::Date(v) => Value::Date(v),
            WireValue::Time(v) => Value::Time(v),
            WireValue::Timestamp(v) => Value::Timestamp(v),
            WireValue::TimestampTz(v) => Value::TimestampTz(v),
            WireValue::Interval {
                months,
                days,
                micros,
            } => Value::Interval {
                months,
                days,
                micros,
            },
            WireValue::Uuid(s) => Value::Uuid(
                unhex(&s)?
                    .try_into()
                    .map_err(|_| format!("uuid {s:?} is not 16 bytes"))?,
            ),
            WireValue::Json(s) => Value::Json(s),
            WireValue::Array { element_oid, items } => Value::Array {
                element_oid,
                items: items
                    .into_iter()
                    .map(WireValue::into_value)
                    .collect::<Result<_, _>>()?,
            },
        })
    }
}

mod rows_wire {
    use super::{Value, WireValue};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(rows: &[Vec<Value>], serializer: S) -> Result<S::Ok, S::Error> {
        let wire: Vec<Vec<WireValue>> = rows
            .iter()
            .map(|row| row.iter().map(WireValue::from_value).collect())
            .collect();
        wire.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<Value>>, D::Error> {
        let wire = Vec::<Vec<WireValue>>::deserialize(deserializer)?;
        wire.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(WireValue::into_value)
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)
    }
}
