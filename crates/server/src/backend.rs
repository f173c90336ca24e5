//! The execution interface implemented on the local engine.
//!
//! This is the single code path sessions use. When replication lands, the
//! writes below are proposed through the log of a one-voter (or larger)
//! cluster and applied by the engine, behind this same interface.

use std::sync::Arc;

use duckraft_engine::users::{UserRecord, Users};
use duckraft_engine::{Catalogs, EngineError, EngineSession};
use duckraft_pgwire::scram::ScramVerifier;
use duckraft_pgwire::{Backend, Description, Interrupter, PgError, QueryOutput, Session};
use duckraft_sql::{Column, IsolationLevel, MemberStatement, RoleStatement, SqlKind, Value};

pub struct LocalBackend {
    pub catalogs: Arc<Catalogs>,
    pub users: Arc<Users>,
    pub server_secret: Vec<u8>,
}

pub fn pg_error(error: EngineError) -> PgError {
    let code: &'static str = error.sqlstate;
    let mut pg = PgError::new(code, error.message);
    pg.hint = error.hint;
    pg
}

impl Backend for LocalBackend {
    type Session = LocalSession;

    fn user_verifier(&self, user: &str) -> Option<ScramVerifier> {
        self.users
            .get(user)
            .and_then(|record| ScramVerifier::decode(&record.verifier))
    }

    fn is_superuser(&self, user: &str) -> bool {
        self.users.get(user).is_some_and(|record| record.superuser)
    }

    fn server_secret(&self) -> Vec<u8> {
        self.server_secret.clone()
    }

    fn open_session(&self, _user: &str, database: &str) -> Result<LocalSession, PgError> {
        let catalog = self.catalogs.open(database).map_err(|e| {
            let mut error = pg_error(e);
            error.fatal = true;
            error
        })?;
        let engine = EngineSession::new(catalog).map_err(pg_error)?;
        Ok(LocalSession {
            engine,
            catalogs: self.catalogs.clone(),
        })
    }
}

impl LocalBackend {
    /// Creates or replaces a login user's password verifier.
    pub fn set_password(
        &self,
        user: &str,
        password: &str,
        superuser: bool,
    ) -> Result<(), EngineError> {
        let salt: [u8; 16] = rand::random();
        let verifier = ScramVerifier::new(
            password,
            salt.to_vec(),
            duckraft_pgwire::scram::SCRAM_ITERATIONS_DEFAULT,
        );
        self.users.put(
            user,
            UserRecord {
                verifier: verifier.encode(),
                superuser,
            },
        )
    }
}

pub struct LocalSession {
    pub(crate) engine: EngineSession,
    pub(crate) catalogs: Arc<Catalogs>,
}

impl Session for LocalSession {
    fn describe(&mut self, sql: &str, parameter_types: &[u32]) -> Result<Description, PgError> {
        let (parameter_types, columns) = self
            .engine
            .describe(sql, parameter_types)
            .map_err(pg_error)?;
        Ok(Description {
            parameter_types,
            columns,
        })
    }

    fn execute(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError> {
        let result = self
            .engine
            .execute(sql, kind, parameters)
            .map_err(pg_error)?;
        Ok(QueryOutput {
            columns: result.columns,
            rows: result.rows,
            affected_rows: result.affected_rows,
            returns_rows: result.returns_rows,
        })
    }

    fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<(), PgError> {
        self.engine.begin(isolation).map_err(pg_error)
    }

    fn commit(&mut self) -> Result<(), PgError> {
        self.engine.commit().map_err(pg_error)
    }

    fn rollback(&mut self) -> Result<(), PgError> {
        self.engine.rollback().map_err(pg_error)
    }

    fn copy_in_columns(&mut self, table: &str, columns: &[String]) -> Result<Vec<Column>, PgError> {
        self.engine
            .copy_in_columns(table, columns)
            .map_err(pg_error)
    }

    fn copy_in(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, PgError> {
        self.engine.copy_in(table, columns, rows).map_err(pg_error)
    }

    fn create_database(&mut self, name: &str) -> Result<(), PgError> {
        self.catalogs.create(name).map_err(pg_error)
    }

    fn drop_database(&mut self, name: &str, if_exists: bool) -> Result<(), PgError> {
        self.catalogs
            .drop_catalog(name, if_exists)
            .map(|_| ())
            .map_err(pg_error)
    }

    /// Roles are replicated state; the unreplicated reference has only
    /// its bootstrap superuser.
    fn role(&mut self, statement: &RoleStatement) -> Result<(), PgError> {
        Err(PgError::feature_not_supported(format!(
            "{} needs the replicated server",
            statement.tag()
        )))
    }

    fn database_connect(&mut self, _: &[String], _: &[String], grant: bool) -> Result<(), PgError> {
        let tag = if grant { "GRANT" } else { "REVOKE" };
        Err(PgError::feature_not_supported(format!(
            "{tag} needs the replicated server"
        )))
    }

    fn cluster_member(&mut self, _: &MemberStatement) -> Result<(), PgError> {
        Err(PgError::feature_not_supported(
            "ALTER CLUSTER needs the replicated server",
        ))
    }

    fn set_parameter(&mut self, name: &str, value: Option<&str>) -> Result<(), PgError> {
        self.engine.set_setting(name, value).map_err(pg_error)
    }

    fn interrupter(&self) -> Interrupter {
        self.engine.interrupter()
    }
}
