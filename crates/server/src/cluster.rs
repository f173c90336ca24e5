//! The replicated execution interface: sessions read from the local engine
//! and send every write through the catalog's Raft group, answering the
//! client only after this node has applied it (read-your-writes).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use duckraft_engine::command::{ControlCommand, ProposalId, RowBatch, WriteBatch, WriteOp};
use duckraft_engine::control::ControlOutcome;
use duckraft_engine::replica::Outcome;
use duckraft_pgwire::scram::ScramVerifier;
use duckraft_pgwire::{Backend, Description, Interrupter, PgError, QueryOutput, Session};
use duckraft_sql::determinism::{self, PinContext, WriteClass};
use duckraft_sql::lexer::{significant, tokenize};
use duckraft_sql::{Column, IsolationLevel, SqlKind, Value};

use crate::backend::{LocalBackend, LocalSession};
use crate::replication::{Answer, Replication};

pub struct ClusterBackend {
    pub local: Arc<LocalBackend>,
    pub replication: Replication,
}

impl Backend for ClusterBackend {
    type Session = ClusterSession;

    fn user_verifier(&self, user: &str) -> Option<ScramVerifier> {
        self.local.user_verifier(user)
    }

    fn server_secret(&self) -> Vec<u8> {
        self.local.server_secret()
    }

    fn open_session(&self, user: &str, database: &str) -> Result<ClusterSession, PgError> {
        if self.replication.is_draining() {
            return Err(PgError::fatal(
                "57P03",
                "this node is draining before shutdown; connect to another node",
            ));
        }
        let inner = self.local.open_session(user, database)?;
        Ok(ClusterSession {
            inner,
            replication: self.replication.clone(),
            // Random, so ids never repeat across sessions, nodes or restarts.
            client: rand::random(),
            seq: 0,
            in_transaction: false,
            user: user.to_string(),
            database: database.to_string(),
        })
    }
}

pub struct ClusterSession {
    inner: LocalSession,
    replication: Replication,
    client: u64,
    seq: u64,
    in_transaction: bool,
    user: String,
    database: String,
}

/// SQLSTATEs come back from the log as strings; the wire layer wants
/// `'static` codes. The set of codes is small, so each is leaked once.
fn static_code(code: &str) -> &'static str {
    static CODES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut codes = CODES.lock().expect("code table lock");
    if let Some(known) = codes.get(code) {
        return known;
    }
    let leaked: &'static str = Box::leak(code.to_string().into_boxed_str());
    codes.insert(leaked);
    leaked
}

fn not_replicated(what: &str) -> PgError {
    let mut error = PgError::new(
        "0A000",
        format!("{what} is not supported on a replicated catalog yet"),
    );
    error.hint = Some("run each write as its own autocommit statement".into());
    error
}

fn answer_error(answer: Answer) -> PgError {
    match answer {
        Answer::NoLeader => PgError::new(
            "57P03",
            "the write was not accepted: this catalog's Raft group has no leader (no quorum of nodes is reachable)",
        ),
        Answer::Unknown => PgError::new(
            "40003",
            "the write was proposed but not confirmed in time: it may or may not have been applied",
        ),
        Answer::Degraded(reason) => {
            PgError::new("XX000", format!("this node is degraded: {reason}"))
        }
        Answer::Catalog(Outcome::Failed { sqlstate, message }) => {
            PgError::new(static_code(&sqlstate), message)
        }
        Answer::Control(ControlOutcome::Failed { sqlstate, message }) => {
            PgError::new(static_code(&sqlstate), message)
        }
        other => PgError::new("XX000", format!("unexpected answer to a write: {other:?}")),
    }
}

fn affected_rows(answer: Answer) -> Result<u64, PgError> {
    match answer {
        Answer::Catalog(Outcome::Applied { rows }) => Ok(rows),
        Answer::Catalog(Outcome::Duplicate(first)) => affected_rows(Answer::Catalog(*first)),
        other => Err(answer_error(other)),
    }
}

impl ClusterSession {
    fn next_id(&mut self) -> ProposalId {
        self.seq += 1;
        ProposalId {
            client: self.client,
            seq: self.seq,
        }
    }

    fn replicated_write(&mut self, sql: &str, parameters: &[Value]) -> Result<u64, PgError> {
        if self.in_transaction {
            return Err(not_replicated("a write inside BEGIN ... COMMIT"));
        }
        let has_returning = tokenize(sql)
            .map(|tokens| significant(&tokens).any(|t| t.is_word("RETURNING")))
            .unwrap_or(false);
        if has_returning {
            return Err(not_replicated("RETURNING"));
        }
        let rewritten = duckraft_sql::compat::rewrite_for_duckdb(sql);
        let inlined = duckraft_sql::literal::inline_parameters(&rewritten, parameters)
            .map_err(|e| PgError::new("08P01", e))?;
        if let WriteClass::Unsupported(rejection) = determinism::classify_write(&inlined) {
            return Err(PgError::new(rejection.sqlstate, rejection.message));
        }
        let now_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let mut random = || rand::random::<u64>();
        let mut context = PinContext {
            now_micros,
            user: &self.user,
            database: &self.database,
            random: &mut random,
        };
        let pinned = determinism::pin_nondeterminism(&inlined, &mut context)
            .map_err(|r| PgError::new(r.sqlstate, r.message))?;
        let id = self.next_id();
        let answer = self.replication.propose_write(
            &self.database,
            id,
            WriteBatch::autocommit(vec![WriteOp::Sql(pinned)]),
        );
        affected_rows(answer)
    }
}

impl Session for ClusterSession {
    fn describe(&mut self, sql: &str, parameter_types: &[u32]) -> Result<Description, PgError> {
        self.inner.describe(sql, parameter_types)
    }

    fn execute(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError> {
        match kind {
            SqlKind::Write | SqlKind::Ddl => {
                let affected_rows = self.replicated_write(sql, parameters)?;
                Ok(QueryOutput {
                    columns: Vec::new(),
                    rows: Vec::new(),
                    affected_rows,
                    returns_rows: false,
                })
            }
            SqlKind::Read | SqlKind::Other => {
                if let WriteClass::Unsupported(rejection) = determinism::classify_write(sql) {
                    if kind == SqlKind::Other {
                        return Err(PgError::new(rejection.sqlstate, rejection.message));
                    }
                }
                self.inner.execute(sql, kind, parameters)
            }
        }
    }

    fn begin(&mut self, isolation: Option<IsolationLevel>, read_only: bool) -> Result<(), PgError> {
        self.inner.begin(isolation, read_only)?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), PgError> {
        self.in_transaction = false;
        self.inner.commit()
    }

    fn rollback(&mut self) -> Result<(), PgError> {
        self.in_transaction = false;
        self.inner.rollback()
    }

    fn copy_in_columns(&mut self, table: &str, columns: &[String]) -> Result<Vec<Column>, PgError> {
        self.inner.copy_in_columns(table, columns)
    }

    fn copy_in(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, PgError> {
        if self.in_transaction {
            return Err(not_replicated("COPY FROM STDIN inside BEGIN ... COMMIT"));
        }
        let id = self.next_id();
        let batch = RowBatch {
            table: table.to_string(),
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            rows,
        };
        let answer = self.replication.propose_write(
            &self.database,
            id,
            WriteBatch::autocommit(vec![WriteOp::Rows(batch)]),
        );
        affected_rows(answer)
    }

    fn create_database(&mut self, name: &str) -> Result<(), PgError> {
        duckraft_engine::catalog::validate_catalog_name(name).map_err(crate::backend::pg_error)?;
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::CreateCatalog {
                name: name.to_string(),
            },
        );
        match answer {
            Answer::Control(ControlOutcome::CatalogCreated { .. }) => Ok(()),
            Answer::Control(ControlOutcome::Duplicate(first))
                if matches!(*first, ControlOutcome::CatalogCreated { .. }) =>
            {
                Ok(())
            }
            other => Err(answer_error(other)),
        }
    }

    fn drop_database(&mut self, _name: &str, _if_exists: bool) -> Result<(), PgError> {
        Err(not_replicated("DROP DATABASE"))
    }

    fn set_parameter(&mut self, name: &str, value: Option<&str>) -> Result<(), PgError> {
        self.inner.set_parameter(name, value)
    }

    fn interrupter(&self) -> Interrupter {
        self.inner.interrupter()
    }
}
