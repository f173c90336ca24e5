//! The SQL contract: tokenizing, splitting and classifying PostgreSQL-dialect
//! statements, and the value model both sides of the wire agree on.

pub mod access;
pub mod bytea;
pub mod classify;
pub mod clock;
pub mod colnames;
pub mod column_defs;
pub mod compat;
pub mod determinism;
pub mod infoschema;
pub mod lexer;
pub mod literal;
pub mod similar;
pub mod srf;
pub mod types;
pub mod values_insert;

pub use classify::{
    classify, ClassifyError, CopyFormat, CopyOptions, IsolationLevel, MemberStatement, RoleOptions,
    RoleStatement, SqlKind, Statement,
};
pub use lexer::split_statements;
pub use types::{Column, Value};
