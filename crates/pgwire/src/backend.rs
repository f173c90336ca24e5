//! The execution interface between the front door and whatever runs statements.
//!
//! The protocol layer never touches storage: it classifies statements, keeps
//! the transaction state the client sees, and calls these traits. Today the
//! implementation executes directly on DuckDB; the replicated implementation
//! proposes writes through Raft behind the same interface.
//!
//! Every `Session` method is blocking and is called off the async runtime.

use std::sync::Arc;

use duckraft_sql::{Column, IsolationLevel, MemberStatement, RoleStatement, SqlKind, Value};

use crate::error::PgError;
use crate::scram::ScramVerifier;

/// What a prepared statement takes and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// One type OID per `$n` parameter.
    pub parameter_types: Vec<u32>,
    /// `None` when the statement returns no rows.
    pub columns: Option<Vec<Column>>,
}

/// The result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// Empty for statements that return no rows.
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Rows changed by INSERT/UPDATE/DELETE.
    pub affected_rows: u64,
    /// True when the statement produces a row set (even an empty one).
    pub returns_rows: bool,
}

/// A function that interrupts the statement a session is running, from any thread.
pub type Interrupter = Arc<dyn Fn() + Send + Sync>;

pub trait Backend: Send + Sync + 'static {
    type Session: Session;

    /// The SCRAM verifier of a login user, or `None` if there is no such user.
    fn user_verifier(&self, user: &str) -> Option<ScramVerifier>;

    /// Whether an authenticated user is a superuser now (reported to the
    /// client as `is_superuser` at startup). Reads memory only.
    fn is_superuser(&self, user: &str) -> bool;

    /// A per-server secret used to make unknown users indistinguishable from wrong passwords.
    fn server_secret(&self) -> Vec<u8>;

    /// Opens a session on `database` for an authenticated `user`.
    /// An unknown database is 3D000.
    fn open_session(&self, user: &str, database: &str) -> Result<Self::Session, PgError>;
}

pub trait Session: Send + 'static {
    /// Parameter and result types of `sql` without running it.
    fn describe(&mut self, sql: &str, parameter_types: &[u32]) -> Result<Description, PgError>;

    /// Runs one statement with bound parameters.
    fn execute(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError>;

    /// Read-only transactions are the front door's to enforce (25006), since
    /// `SET TRANSACTION` can change the mode after BEGIN.
    fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<(), PgError>;
    fn commit(&mut self) -> Result<(), PgError>;
    fn rollback(&mut self) -> Result<(), PgError>;

    /// The columns COPY FROM will fill: `columns` as written, or all of them.
    fn copy_in_columns(&mut self, table: &str, columns: &[String]) -> Result<Vec<Column>, PgError>;

    /// Inserts decoded COPY rows; returns the number of rows inserted.
    fn copy_in(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, PgError>;

    fn create_database(&mut self, name: &str) -> Result<(), PgError>;
    fn drop_database(&mut self, name: &str, if_exists: bool) -> Result<(), PgError>;

    /// `CREATE|ALTER|DROP ROLE|USER`; the front door refuses it inside a
    /// transaction block (25001) before calling.
    fn role(&mut self, statement: &RoleStatement) -> Result<(), PgError>;

    /// `GRANT|REVOKE CONNECT ON DATABASE`; refused inside a transaction
    /// block (25001) before calling, as role statements are.
    fn database_connect(
        &mut self,
        databases: &[String],
        roles: &[String],
        grant: bool,
    ) -> Result<(), PgError>;

    /// `ALTER CLUSTER ADD|REMOVE MEMBER`; refused inside a transaction
    /// block (25001) before calling.
    fn cluster_member(&mut self, change: &MemberStatement) -> Result<(), PgError>;

    /// Tells the engine a session setting's new value, after the protocol
    /// layer validated it (so SQL such as `current_setting()` sees it too).
    fn set_parameter(&mut self, name: &str, value: Option<&str>) -> Result<(), PgError>;

    fn interrupter(&self) -> Interrupter;
}
