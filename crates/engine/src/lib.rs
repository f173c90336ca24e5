//! The storage engine: DuckDB catalogs, sessions, and the conversions
//! between DuckDB and PostgreSQL types.

pub mod catalog;
pub mod convert;
pub mod error;
pub mod raw;
pub mod session;
pub mod users;

pub use catalog::{Catalog, Catalogs, EngineConfig, DEFAULT_CATALOG};
pub use error::EngineError;
pub use session::{EngineSession, StatementResult};
