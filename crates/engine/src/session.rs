//! An engine session: one DuckDB connection to one catalog.
//!
//! Statements arrive already classified and are rewritten for DuckDB
//! (`duckraft_sql::compat`) before they run. Results are materialised as
//! `Value`s with PostgreSQL types.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use duckraft_sql::lexer::{significant, splice, tokenize};
use duckraft_sql::types::{element_of, oid};
use duckraft_sql::{Column, IsolationLevel, SqlKind, Value};

use crate::catalog::{Catalog, SESSION_SETUP_SQL};
use crate::command::{ProposalId, RowBatch, WriteBatch};
use crate::convert::{cell, pg_type, to_duck, DuckType};
use crate::error::EngineError;
use crate::rows::{insert_merged, prepare_rows};

/// The rows and counts one statement produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub affected_rows: u64,
    pub returns_rows: bool,
}

/// Numbers for `EngineSession::own_state`, unique in the process.
static NEXT_OWN_STATE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub struct EngineSession {
    // Field order matters: the connection must close before the catalog's database.
    pub(crate) connection: duckdb::Connection,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) in_transaction: bool,
    /// The schema fingerprint of this transaction's snapshot, once computed;
    /// it cannot change until the session itself writes or the transaction ends.
    transaction_fingerprint: Option<crate::introspection::Fingerprint>,
    /// Set by each write of the session's own, to a number no other state
    /// gets, until its transaction ends: the snapshot's schema may then
    /// differ from every committed schema version.
    own_state: Option<u64>,
    /// Session settings as `current_setting()` reports them (lower-case names).
    settings: std::collections::BTreeMap<String, String>,
    /// The session resolves names through its own search path, which the
    /// catalog's shared describer does not know.
    own_search_path: bool,
    /// See [`EngineSession::set_integer_division`].
    pub(crate) integer_division: bool,
    /// The open transaction, proposed whole and kept open for the apply
    /// to commit here (see [`crate::Replica::adopt`]).
    pub(crate) proposed: Option<Proposed>,
}

/// A transaction its session proposed as one log entry and keeps open until
/// that entry is applied. If nothing was applied between its snapshot and
/// its entry, its writes already are what applying the entry would write,
/// so the apply may commit this DuckDB transaction instead of running them
/// again ([`crate::Replica::adopt`]).
#[derive(Debug)]
pub struct Proposed {
    pub id: ProposalId,
    /// Exactly what was proposed; the apply adopts only an entry equal to it.
    pub batch: WriteBatch,
    /// DuckDB's id of the transaction, read when it began
    /// ([`EngineSession::transaction_id`]): the apply checks that the same
    /// DuckDB transaction is still open.
    pub transaction_id: u64,
    /// The rows the writes changed: the entry's `Outcome::Applied` count.
    pub rows: u64,
}

/// Reads a session keeps prepared, by statement text. Preparing is about half
/// the cost of a small catalog read, and clients such as DuckLake send the
/// same reads in every transaction; DuckDB itself rebinds a kept statement
/// when the catalog's schema changed.
const READ_PLAN_CACHE_CAPACITY: usize = 64;

/// A kept plan also keeps its last materialised result until it runs again,
/// so only reads that returned at most this many rows keep their plan.
const READ_PLAN_CACHE_MAX_ROWS: usize = 64;

fn has_returning(sql: &str) -> bool {
    tokenize(sql)
        .map(|tokens| significant(&tokens).any(|t| t.is_word("RETURNING")))
        .unwrap_or(false)
}

impl EngineSession {
    pub fn new(catalog: Arc<Catalog>) -> Result<Self, EngineError> {
        let connection = catalog.connect()?;
        connection.set_prepared_statement_cache_capacity(READ_PLAN_CACHE_CAPACITY);
        Ok(EngineSession {
            connection,
            catalog,
            in_transaction: false,
            transaction_fingerprint: None,
            own_state: None,
            settings: std::collections::BTreeMap::new(),
            own_search_path: false,
            integer_division: false,
            proposed: None,
        })
    }

    /// Whether a DuckDB transaction is open: outside one, every statement
    /// commits on its own.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// DuckDB's id of the connection's current transaction. Never a cached
    /// statement: the id is fixed when the statement is bound.
    pub fn transaction_id(&self) -> Result<u64, EngineError> {
        Ok(self
            .connection
            .query_row("SELECT current_transaction_id()", [], |row| row.get(0))?)
    }

    /// Whether the apply could commit this session's transaction for it:
    /// its writes resolve names as the apply's connection does.
    pub fn may_be_adopted(&self) -> bool {
        !self.own_search_path
    }

    /// Hands the open transaction to the apply of its entry (see
    /// [`Proposed`]).
    pub fn propose(&mut self, proposed: Proposed) {
        self.proposed = Some(proposed);
    }

    /// The proposed transaction, if the apply did not take it; the caller
    /// then ends it.
    pub fn take_proposed(&mut self) -> Option<Proposed> {
        self.proposed.take()
    }

    /// Why this session's catalog instance ended (a replicated DROP
    /// DATABASE, or a snapshot that replaced its file), if it did.
    pub fn catalog_retired(&self) -> Option<crate::Retirement> {
        self.catalog.retirement()
    }

    pub fn catalog_name(&self) -> &str {
        &self.catalog.name
    }

    pub fn interrupter(&self) -> Arc<dyn Fn() + Send + Sync> {
        let handle = self.connection.interrupt_handle();
        Arc::new(move || handle.interrupt())
    }

    pub fn describe(
        &mut self,
        sql: &str,
        parameter_types: &[u32],
    ) -> Result<(Vec<u32>, Option<Vec<Column>>), EngineError> {
        let (parameters, mut columns) = self.describe_as_duckdb(sql, parameter_types)?;
        if let Some(columns) = &mut columns {
            let sums = name_as_postgres(sql, columns);
            self.narrow_integer_sums(sql, &sums, columns, &mut [])?;
        }
        Ok((parameters, columns))
    }

    /// `sql` with each select-list cast to text of a bytea or an array
    /// (`duckraft_sql::colnames::text_casts`) spelled as PostgreSQL's text
    /// output, which DuckDB's cast is not. The operands' types come from
    /// describing the statement without those casts; a statement that
    /// cannot be described that way runs as it is.
    fn postgres_text_casts<'s>(&mut self, sql: &'s str) -> Cow<'s, str> {
        let casts = duckraft_sql::colnames::text_casts(sql);
        if casts.is_empty() {
            return Cow::Borrowed(sql);
        }
        let probe = splice(
            sql,
            casts
                .iter()
                .map(|c| (c.cast.clone(), sql[c.operand.clone()].to_string())),
        );
        let Ok((_, Some(operands))) = self.describe_as_duckdb(&probe, &[]) else {
            return Cow::Borrowed(sql);
        };
        let spelled: Vec<(Range<usize>, String)> = casts
            .iter()
            .filter_map(|c| {
                let operand = &sql[c.operand.clone()];
                let macro_name = match operands.get(c.column)?.type_oid {
                    oid::BYTEA => "duckraft_bytea_text",
                    oid::BOOL_ARRAY => "duckraft_bool_array_text",
                    oid::FLOAT4_ARRAY | oid::FLOAT8_ARRAY => "duckraft_float_array_text",
                    array if element_of(array).is_some() => "duckraft_array_text",
                    _ => return None,
                };
                Some((
                    c.cast.clone(),
                    format!("duckraft_pg.main.{macro_name}({operand})"),
                ))
            })
            .collect();
        if spelled.is_empty() {
            Cow::Borrowed(sql)
        } else {
            Cow::Owned(splice(sql, spelled))
        }
    }

    /// PostgreSQL's bigint for the `sum` of smallints or integers, which
    /// DuckDB computes as HUGEINT (numeric on the wire) like the `sum` of
    /// bigints. `sums` holds the (column, offset of `sum`) candidates; the
    /// argument's type comes from describing the statement with `min` in
    /// place of each `sum`. A statement that cannot be described that way
    /// keeps numeric.
    fn narrow_integer_sums(
        &mut self,
        sql: &str,
        sums: &[(usize, usize)],
        columns: &mut [Column],
        rows: &mut [Vec<Value>],
    ) -> Result<(), EngineError> {
        if sums.is_empty() {
            return Ok(());
        }
        let mut probe = sql.to_string();
        for &(_, at) in sums {
            probe.replace_range(at..at + 3, "min");
        }
        let Ok((_, Some(argument_columns))) = self.describe_as_duckdb(&probe, &[]) else {
            return Ok(());
        };
        for &(i, _) in sums {
            let narrow = argument_columns
                .get(i)
                .is_some_and(|c| matches!(c.type_oid, oid::INT2 | oid::INT4));
            if !narrow {
                continue;
            }
            columns[i].type_oid = oid::INT8;
            for row in rows.iter_mut() {
                if let Value::Numeric(text) = &row[i] {
                    row[i] = Value::Int8(
                        text.parse()
                            .map_err(|_| EngineError::new("22003", "bigint out of range"))?,
                    );
                }
            }
        }
        Ok(())
    }

    fn describe_as_duckdb(
        &mut self,
        sql: &str,
        parameter_types: &[u32],
    ) -> Result<(Vec<u32>, Option<Vec<Column>>), EngineError> {
        let rewritten = duckraft_sql::compat::for_duckdb(sql);
        if self.catalog.declare_types(&rewritten)? && self.in_transaction {
            return Err(new_length_in_transaction());
        }
        if self.own_search_path {
            return self.describe_in_session(sql, &rewritten, parameter_types);
        }
        let shape = match self.catalog.describe(&rewritten, self.integer_division) {
            Ok(shape) => shape,
            // The shared describer cannot see this session's uncommitted objects.
            Err(_) if self.in_transaction => {
                return self.describe_in_session(sql, &rewritten, parameter_types)
            }
            Err(error) => return Err(error),
        };
        let parameters = shape
            .parameters
            .iter()
            .enumerate()
            .map(|(i, t)| match parameter_types.get(i) {
                Some(&given) if given != 0 => given,
                // DuckDB could not infer a type (e.g. `SELECT $1`): PostgreSQL would say text.
                _ if t.id == 0 => oid::TEXT,
                _ => pg_type(t).0,
            })
            .collect();
        let columns = if shape.columns.is_empty() || is_count_only(&shape.columns, sql) {
            None
        } else {
            Some(
                shape
                    .columns
                    .iter()
                    .map(|(name, t)| column(name, t))
                    .collect(),
            )
        };
        Ok((parameters, columns))
    }

    /// Describe on the session's own connection: parameters whose type the
    /// client did not give travel as text, and the result columns of a read
    /// come from running it with NULL parameters and no rows.
    fn describe_in_session(
        &mut self,
        sql: &str,
        rewritten: &str,
        parameter_types: &[u32],
    ) -> Result<(Vec<u32>, Option<Vec<Column>>), EngineError> {
        let parameter_count = self.connection.prepare(rewritten)?.parameter_count();
        let parameters: Vec<u32> = (0..parameter_count)
            .map(|i| {
                parameter_types
                    .get(i)
                    .copied()
                    .filter(|&t| t != 0)
                    .unwrap_or(oid::TEXT)
            })
            .collect();
        // Writes with RETURNING cannot be probed without running them; they
        // are described as returning nothing here (rare: a new table's RETURNING).
        let is_read = matches!(
            duckraft_sql::classify(sql),
            Ok(duckraft_sql::Statement::Sql {
                kind: SqlKind::Read,
                ..
            })
        );
        if !is_read {
            return Ok((parameters, None));
        }
        let probe = format!("SELECT * FROM ({rewritten}) AS duckraft_describe LIMIT 0");
        let nulls = vec![Value::Null; parameter_count];
        let columns = self
            .execute_rewritten(&probe, SqlKind::Read, &nulls)?
            .columns;
        Ok((parameters, Some(columns)))
    }

    pub fn execute(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<StatementResult, EngineError> {
        let resolved = if kind == SqlKind::Read {
            self.postgres_text_casts(sql)
        } else {
            Cow::Borrowed(sql)
        };
        let rewritten = duckraft_sql::compat::for_duckdb(&resolved);
        let rewritten = self.rewrite_hex_bytea(&rewritten)?;
        if kind != SqlKind::Read {
            return self.execute_duckdb(&rewritten, kind, parameters);
        }
        let mut result =
            if !self.in_transaction && crate::introspection::cacheable(&resolved, |_| false) {
                // Outside a transaction each statement has a snapshot of its own:
                // the fingerprint and the answer filed under it must share one, or
                // a schema change between them would file the new answer under
                // the old schema's key. Types are declared first, as a
                // transaction binds only those declared before it began.
                self.catalog.declare_types(&rewritten)?;
                self.connection.execute_batch("BEGIN TRANSACTION")?;
                match self.read_through_cache(&resolved, &rewritten, parameters) {
                    Ok(result) => {
                        self.connection.execute_batch("COMMIT")?;
                        result
                    }
                    Err(error) => {
                        let _ = self.connection.execute_batch("ROLLBACK");
                        return Err(error);
                    }
                }
            } else {
                self.read_through_cache(&resolved, &rewritten, parameters)?
            };
        let sums = name_as_postgres(sql, &mut result.columns);
        self.narrow_integer_sums(sql, &sums, &mut result.columns, &mut result.rows)?;
        Ok(result)
    }

    /// A read, answered from the catalog's introspection cache when it is a
    /// cacheable catalog query (see `crate::introspection`).
    fn read_through_cache(
        &mut self,
        resolved: &str,
        rewritten: &str,
        parameters: &[Value],
    ) -> Result<StatementResult, EngineError> {
        match self.introspection_fingerprint(resolved)? {
            Some(fingerprint) => {
                let catalog = self.catalog.clone();
                catalog
                    .introspection
                    .get_or_fill(&fingerprint, rewritten, parameters, || {
                        self.execute_duckdb(rewritten, SqlKind::Read, parameters)
                    })
            }
            None => self.execute_duckdb(rewritten, SqlKind::Read, parameters),
        }
    }

    /// The schema fingerprint if `sql` is a cacheable introspection query
    /// (see `crate::introspection`), else `None`. Read in a transaction, so
    /// that its parts and the answer it keys see one snapshot.
    fn introspection_fingerprint(&mut self, sql: &str) -> Result<Option<String>, EngineError> {
        use crate::introspection::{cacheable, CONTEXT_FINGERPRINT_SQL};
        if !cacheable(sql, |_| false) {
            return Ok(None);
        }
        let fingerprint = match self.transaction_fingerprint.clone() {
            Some(fingerprint) => fingerprint,
            None => {
                let mut fingerprint = self.schema_fingerprint()?;
                let context: String = self
                    .connection
                    .prepare_cached(CONTEXT_FINGERPRINT_SQL)?
                    .query_row([], |row| row.get(0))?;
                fingerprint.digest.push_str(&context);
                if self.in_transaction {
                    self.transaction_fingerprint = Some(fingerprint.clone());
                }
                fingerprint
            }
        };
        if !cacheable(sql, |name| fingerprint.relations.contains(name)) {
            return Ok(None);
        }
        Ok(Some(fingerprint.digest))
    }

    /// The schema's part of the fingerprint in this session's snapshot; from
    /// the catalog's cache when the snapshot's schema is a committed version.
    fn schema_fingerprint(&mut self) -> Result<crate::introspection::Fingerprint, EngineError> {
        use crate::introspection::{Fingerprint, RELATION_NAMES_SQL, SCHEMA_FINGERPRINT_SQL};
        if let Some(state) = self.own_state.filter(|_| self.in_transaction) {
            // Between two writes of its own a transaction's schema stays put,
            // so the state's number names it; only the names need reading.
            let relations: duckdb::types::Value = self
                .connection
                .prepare_cached(RELATION_NAMES_SQL)?
                .query_row([], |row| row.get(0))?;
            return Ok(Fingerprint {
                digest: format!("own state {state}:"),
                relations: text_items(relations).into_iter().collect(),
            });
        }
        let version = if self.catalog.is_replicated() && self.own_state.is_none() {
            Some(self.schema_version()?)
        } else {
            None
        };
        if let Some(fingerprint) = version.and_then(|v| self.catalog.schema_fingerprints.get(v)) {
            return Ok(fingerprint);
        }
        let (digest, relations): (String, duckdb::types::Value) = self
            .connection
            .prepare_cached(SCHEMA_FINGERPRINT_SQL)?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let fingerprint = Fingerprint {
            digest,
            relations: text_items(relations).into_iter().collect(),
        };
        if let Some(version) = version {
            self.catalog
                .schema_fingerprints
                .insert(version, fingerprint.clone());
        }
        Ok(fingerprint)
    }

    /// The log index of the last replicated schema change in this session's
    /// snapshot (see [`crate::replica::SCHEMA_VERSION_SQL`]).
    fn schema_version(&mut self) -> Result<u64, EngineError> {
        Ok(self
            .connection
            .prepare_cached(crate::replica::SCHEMA_VERSION_SQL)?
            .query_row([], |row| row.get(0))?)
    }

    /// The session changed its snapshot: cached fingerprints no longer
    /// describe it.
    fn wrote(&mut self) {
        self.transaction_fingerprint = None;
        self.own_state = Some(NEXT_OWN_STATE.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    }

    /// PostgreSQL hex bytea literals (`'\x5b5d'`) that an `INSERT ... VALUES`
    /// puts into BLOB columns, in DuckDB's spelling (see `duckraft_sql::bytea`).
    pub fn rewrite_hex_bytea<'a>(&mut self, sql: &'a str) -> Result<Cow<'a, str>, EngineError> {
        let Some(target) = duckraft_sql::bytea::hex_insert_target(sql) else {
            return Ok(Cow::Borrowed(sql));
        };
        // The table exactly as the INSERT resolves it (search path, this
        // transaction's own tables), through a plan the session keeps.
        let mut name = quote_identifier(&target.table);
        if let Some(schema) = &target.schema {
            name = format!("{}.{name}", quote_identifier(schema));
        }
        let probe = format!("SELECT * FROM {name} LIMIT 0");
        let Ok(probed) = self.execute_rewritten(&probe, SqlKind::Read, &[]) else {
            // DuckDB reports the missing table when the INSERT runs (a bind
            // error leaves a transaction usable).
            return Ok(Cow::Borrowed(sql));
        };
        let table: Vec<(String, bool)> = probed
            .columns
            .into_iter()
            .map(|c| (c.name.to_lowercase(), c.type_oid == oid::BYTEA))
            .collect();
        let blob: Vec<bool> = match &target.columns {
            None => table.iter().map(|c| c.1).collect(),
            Some(names) => names
                .iter()
                .map(|name| {
                    let name = name.to_ascii_lowercase();
                    table.iter().any(|(c, is_blob)| *c == name && *is_blob)
                })
                .collect(),
        };
        Ok(duckraft_sql::bytea::rewrite_hex_bytea(sql, &blob)
            .map_or(Cow::Borrowed(sql), Cow::Owned))
    }

    /// Inserts a row batch as the apply will (see [`crate::rows`]): how a
    /// replicated transaction's row batches run tentatively.
    pub fn insert_rows(&mut self, batch: &RowBatch) -> Result<u64, EngineError> {
        self.wrote();
        let prepared = prepare_rows(batch).map_err(|e| EngineError::new(e.sqlstate, e.message))?;
        let values: Vec<duckdb::types::Value> = prepared.rows.into_iter().flatten().collect();
        insert_merged(&self.connection, &prepared.into, prepared.width, &values)?;
        Ok(batch.rows.len() as u64)
    }

    /// Runs a statement already in DuckDB's dialect (rewritten, parameters
    /// inlined), exactly as given: how a replicated transaction's statements
    /// run tentatively, so the session sees what the apply will do.
    pub fn execute_exact(
        &mut self,
        sql: &str,
        kind: SqlKind,
    ) -> Result<StatementResult, EngineError> {
        self.execute_duckdb(sql, kind, &[])
    }

    fn execute_duckdb(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<StatementResult, EngineError> {
        if kind != SqlKind::Read {
            // The session's own change may have changed the schema.
            self.wrote();
        }
        let returning = kind == SqlKind::Write && has_returning(sql);
        let kind = if returning { SqlKind::Read } else { kind };
        let mut result = self.execute_rewritten(sql, kind, parameters)?;
        if returning {
            result.affected_rows = result.rows.len() as u64;
        }
        Ok(result)
    }

    /// The replicated applied index as this session's snapshot sees it
    /// (inside a transaction: the index its reads are consistent with; see
    /// [`crate::replica::APPLIED_INDEX_SQL`]).
    pub fn applied_index(&mut self) -> Result<u64, EngineError> {
        // Two single-table reads: one query combining them costs DuckDB
        // several times as much, on every BEGIN.
        let logged: Option<u64> = self
            .connection
            .prepare_cached(crate::replica::LOGGED_INDEX_SQL)?
            .query_row([], |row| row.get(0))?;
        match logged {
            Some(index) => Ok(index),
            None => Ok(self
                .connection
                .prepare_cached(crate::replica::FOLDED_INDEX_SQL)?
                .query_row([], |row| row.get(0))?),
        }
    }

    /// Lower-case names of the catalog's own views and macros, as last
    /// committed: reading one reads relations its name does not show.
    ///
    /// Listing macros walks every DuckDB function (tens of milliseconds), so
    /// the list is cached per catalog under the log index of the last
    /// replicated schema change (the version of `*` in
    /// `__duckraft.relation_versions` or `apply_log`); only a schema change can
    /// change it. Key and list come from one statement, so they describe one
    /// state.
    pub fn view_and_macro_names(&mut self) -> Result<Arc<Vec<String>>, EngineError> {
        let version = self.schema_version()?;
        let cached = self
            .catalog
            .hidden_relations
            .lock()
            .expect("cache poisoned");
        if let Some((_, names)) = cached.as_ref().filter(|(at, _)| *at == version) {
            return Ok(names.clone());
        }
        drop(cached);
        let version_sql = crate::replica::SCHEMA_VERSION_SQL;
        let names_sql = format!(
            "SELECT ({version_sql}), coalesce(list(name ORDER BY name), []) FROM ( \
               SELECT lower(view_name) AS name FROM duckdb_views() \
                 WHERE NOT internal AND database_name = current_database() \
               UNION SELECT lower(function_name) FROM duckdb_functions() \
                 WHERE NOT internal AND database_name = current_database() \
                   AND function_type IN ('macro', 'table_macro'))"
        );
        let (version, names): (u64, duckdb::types::Value) = self
            .connection
            .prepare(&names_sql)?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        let names = Arc::new(text_items(names));
        *self
            .catalog
            .hidden_relations
            .lock()
            .expect("cache poisoned") = Some((version, names.clone()));
        Ok(names)
    }

    fn execute_rewritten(
        &mut self,
        rewritten: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<StatementResult, EngineError> {
        if self.catalog.declare_types(rewritten)? && self.in_transaction {
            return Err(new_length_in_transaction());
        }
        let parameters: Vec<duckdb::types::Value> = parameters.iter().map(to_duck).collect();
        if kind == SqlKind::Read {
            let mut statement = self.connection.prepare_cached(rewritten)?;
            let result = read_rows(&mut statement, &parameters)?;
            if result.rows.len() > READ_PLAN_CACHE_MAX_ROWS {
                statement.discard();
            }
            return Ok(result);
        }
        let mut statement = self.connection.prepare(rewritten)?;
        if kind == SqlKind::Other {
            return read_rows(&mut statement, &parameters);
        }
        let affected = statement.execute(duckdb::params_from_iter(parameters.iter()))?;
        Ok(StatementResult {
            columns: Vec::new(),
            rows: Vec::new(),
            affected_rows: affected as u64,
            returns_rows: false,
        })
    }

    pub fn begin(&mut self, _isolation: Option<IsolationLevel>) -> Result<(), EngineError> {
        // DuckDB transactions are snapshot-isolated with write-write conflict
        // detection, at least as strong as every level PostgreSQL offers for
        // the reads and writes DuckLake performs.
        self.connection.execute_batch("BEGIN TRANSACTION")?;
        self.in_transaction = true;
        self.transaction_fingerprint = None;
        self.own_state = None;
        self.proposed = None;
        Ok(())
    }

    pub fn commit(&mut self) -> Result<(), EngineError> {
        Ok(self.commit_duckdb()?)
    }

    /// Commits, answering DuckDB's own error (which [`crate::Replica::adopt`]
    /// classifies).
    pub(crate) fn commit_duckdb(&mut self) -> Result<(), duckdb::Error> {
        self.in_transaction = false;
        self.transaction_fingerprint = None;
        self.own_state = None;
        self.proposed = None;
        self.connection.execute_batch("COMMIT")
    }

    pub fn rollback(&mut self) -> Result<(), EngineError> {
        self.in_transaction = false;
        self.transaction_fingerprint = None;
        self.own_state = None;
        self.proposed = None;
        match self.connection.execute_batch("ROLLBACK") {
            Ok(()) => Ok(()),
            // Nothing to roll back (DuckDB already ended a failed transaction).
            Err(e) if e.to_string().contains("no transaction is active") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `/` of two integers is an integer, as in PostgreSQL (see
    /// `WriteBatch::integer_division`). A parser option: kept plans go.
    pub fn set_integer_division(&mut self, on: bool) -> Result<(), EngineError> {
        self.connection.flush_prepared_statement_cache();
        self.connection.execute_batch(if on {
            "SET integer_division = true"
        } else {
            "SET integer_division = false"
        })?;
        self.integer_division = on;
        Ok(())
    }

    /// Records a session setting; `search_path` also changes DuckDB's.
    pub fn set_setting(&mut self, name: &str, value: Option<&str>) -> Result<(), EngineError> {
        self.transaction_fingerprint = None;
        // Kept plans were bound under the old search path and settings; DuckDB
        // rebinds on schema changes but does not document doing so on these.
        self.connection.flush_prepared_statement_cache();
        if name.eq_ignore_ascii_case("search_path") {
            self.set_search_path(value)?;
        }
        let key = name.to_ascii_lowercase();
        match value {
            Some(v) => self.settings.insert(key, v.to_string()),
            None => self.settings.remove(&key),
        };
        let entries: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| format!("'{}': '{}'", k.replace('\'', "''"), v.replace('\'', "''")))
            .collect();
        self.connection.execute_batch(&format!(
            "SET VARIABLE duckraft_settings = MAP {{{}}}",
            entries.join(", ")
        ))?;
        Ok(())
    }

    fn set_search_path(&mut self, value: Option<&str>) -> Result<(), EngineError> {
        let schemas: Vec<String> = value
            .unwrap_or("public")
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            // DuckDB's own pg_catalog must never shadow the compatibility objects.
            .filter(|s| {
                !s.is_empty() && s != "$user" && s != "pg_catalog" && s != "information_schema"
            })
            .collect();
        self.own_search_path = !(schemas.is_empty() || schemas == ["public"]);
        if schemas.is_empty() {
            self.connection.execute_batch(SESSION_SETUP_SQL)?;
            return Ok(());
        }
        let mut path: Vec<String> = schemas.iter().map(|s| s.replace('\'', "''")).collect();
        path.push("duckraft_pg.main".into());
        self.connection
            .execute_batch(&format!("SET search_path = '{}'", path.join(",")))?;
        Ok(())
    }

    /// The columns COPY FROM fills, resolved in this session (so tables
    /// created earlier in the same transaction are visible).
    pub fn copy_in_columns(
        &mut self,
        table: &str,
        columns: &[String],
    ) -> Result<Vec<Column>, EngineError> {
        let list = if columns.is_empty() {
            "*".to_string()
        } else {
            columns.join(", ")
        };
        let probe = format!("SELECT {list} FROM {table} LIMIT 0");
        let result = self.execute(&probe, SqlKind::Read, &[])?;
        Ok(result.columns)
    }

    pub fn copy_in(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, EngineError> {
        let names: Vec<String> = columns.iter().map(|c| quote_identifier(&c.name)).collect();
        let placeholders = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({placeholders})",
            names.join(", ")
        );
        self.wrote();
        let implicit = !self.in_transaction;
        if implicit {
            self.connection.execute_batch("BEGIN TRANSACTION")?;
        }
        let outcome = (|| -> Result<u64, EngineError> {
            let mut statement = self.connection.prepare(&sql)?;
            let mut count = 0u64;
            for row in &rows {
                let values: Vec<duckdb::types::Value> = row.iter().map(to_duck).collect();
                statement.execute(duckdb::params_from_iter(values.iter()))?;
                count += 1;
            }
            Ok(count)
        })();
        if implicit {
            match &outcome {
                Ok(_) => self.connection.execute_batch("COMMIT")?,
                Err(_) => {
                    let _ = self.connection.execute_batch("ROLLBACK");
                }
            }
        }
        outcome
    }
}

/// DuckDB would not find a type registered after this transaction began
/// (see `crate::declared_types`); the next transaction will.
fn new_length_in_transaction() -> EngineError {
    EngineError::new(
        "0A000",
        format!(
            "this varchar length is used for the first time since the catalog opened, inside a \
             transaction: declare it once outside a transaction, or use a length up to {}",
            crate::declared_types::REGISTERED_AT_OPEN
        ),
    )
}

/// Runs a statement that returns rows and materialises them as `Value`s.
fn read_rows(
    statement: &mut duckdb::Statement<'_>,
    parameters: &[duckdb::types::Value],
) -> Result<StatementResult, EngineError> {
    let mut rows = statement.query(duckdb::params_from_iter(parameters.iter()))?;
    let described = rows.as_ref().expect("rows come from a statement");
    let duck_types: Vec<DuckType> = (0..described.column_count())
        .map(|i| DuckType::from_handle(&described.column_logical_type(i)))
        .collect();
    let columns: Vec<Column> = duck_types
        .iter()
        .enumerate()
        .map(|(i, duck_type)| {
            let name = described
                .column_name(i)
                .map_or_else(|_| format!("column{i}"), |n| n.to_string());
            column(&name, duck_type)
        })
        .collect();
    // duckdb-rs cannot read cells of an untyped NULL column (`SELECT NULL`).
    let always_null: Vec<bool> = duck_types.iter().map(DuckType::is_sql_null).collect();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if always_null[i] {
                    Ok(Value::Null)
                } else {
                    cell(row, i, c.type_oid)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(values);
    }
    Ok(StatementResult {
        columns,
        rows: out,
        affected_rows: 0,
        returns_rows: true,
    })
}

/// The result columns as PostgreSQL names and types them (`count`, not
/// DuckDB's `count_star()`; `x::varchar(3)` a varchar, not text); see
/// `duckraft_sql::colnames`. Returns the numeric columns that are a `sum`
/// call, with the offset of `sum` in `sql`.
fn name_as_postgres(sql: &str, columns: &mut [Column]) -> Vec<(usize, usize)> {
    let hints = duckraft_sql::colnames::postgres_columns(sql, columns.len());
    let mut sums = Vec::new();
    for (i, (column, hint)) in columns.iter_mut().zip(hints).enumerate() {
        if let Some(at) = hint.sum_at {
            if column.type_oid == oid::NUMERIC && column.type_modifier == -1 {
                sums.push((i, at));
            }
        }
        if let Some(name) = hint.name {
            column.name = name;
        }
        match hint.character_type {
            Some((type_oid, type_modifier)) if column.type_oid == oid::TEXT => {
                column.type_oid = type_oid;
                column.type_modifier = type_modifier;
            }
            _ => {}
        }
    }
    sums
}

fn column(name: &str, duck_type: &DuckType) -> Column {
    let (type_oid, type_modifier) =
        if name == "ctid" && duck_type.id == crate::convert::duck::BIGINT {
            // The compat layer reads PostgreSQL's system column `ctid` as
            // `rowid AS ctid` (PostgreSQL allows no user column of that name).
            (oid::TID, -1)
        } else {
            pg_type(duck_type)
        };
    Column {
        name: name.to_string(),
        type_oid,
        type_modifier,
    }
}

/// DuckDB describes INSERT/UPDATE/DELETE without RETURNING as one `Count` column.
fn is_count_only(columns: &[(String, DuckType)], sql: &str) -> bool {
    columns.len() == 1
        && columns[0].0 == "Count"
        && matches!(
            duckraft_sql::classify(sql),
            Ok(duckraft_sql::Statement::Sql {
                kind: SqlKind::Write,
                ..
            })
        )
        && !has_returning(sql)
}

/// The text items of a DuckDB list value (a `list(...)` aggregate); empty
/// for anything else, such as the NULL of an empty aggregate.
fn text_items(value: duckdb::types::Value) -> Vec<String> {
    match value {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|item| match item {
                duckdb::types::Value::Text(text) => Some(text),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
