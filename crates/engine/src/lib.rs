//! The storage engine: DuckDB catalogs, sessions, and the conversions
//! between DuckDB and PostgreSQL types.

pub mod catalog;
pub mod command;
pub mod control;
pub mod convert;
pub mod declared_types;
pub mod error;
pub mod introspection;
pub mod raw;
pub mod replica;
pub mod rows;
pub mod session;
pub mod snapshot;
pub mod users;

pub use catalog::{Catalog, Catalogs, EngineConfig, Retirement, DEFAULT_CATALOG};
pub use command::{Command, Envelope, ProposalId, WriteBatch, WriteOp};
pub use error::EngineError;
pub use replica::{Committed, Outcome, Replica, ReplicaError};
pub use session::{EngineSession, StatementResult};
