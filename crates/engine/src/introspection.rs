//! A result cache for catalog introspection queries.
//!
//! PostgreSQL clients read `pg_class`, `pg_attribute`, `pg_type`, … to learn
//! a database's schema; DuckDB's postgres scanner (and so every DuckLake
//! ATTACH) sends the same large join for every table it looks at. Our
//! `pg_catalog` views derive those answers from DuckDB's catalog functions,
//! which costs hundreds of milliseconds per query.
//!
//! A cacheable query's result is a function of the catalog's schema state,
//! the session's search path and the query text with its parameters. The
//! schema state is summed up by a **fingerprint**: an MD5 over every row of
//! DuckDB's catalog functions for this database (tables, columns, views,
//! constraints, indexes, sequences, types, schemas), read in the session's
//! own snapshot, so uncommitted DDL of the session's transaction changes it
//! too, plus the published databases and roles and the session's search
//! path. The catalog functions list every column of every attached database
//! (about 20 ms on a DuckLake catalog), so in a replicated catalog their
//! part is kept per schema version ([`crate::replica::SCHEMA_VERSION_SQL`],
//! read in the same snapshot); a hit then costs two small reads and skips
//! the query. A transaction that wrote has a schema of its own, which stays
//! put until its next write: a number given at each write stands for it
//! (DuckLake creates its catalog in one transaction, looking each new table
//! up right after creating it).
//!
//! Only reads are cached that name a `pg_catalog` relation (or resolve a name
//! with `to_regclass`), name no relation of the catalog itself, and call
//! nothing whose value changes between two runs (clocks, random values,
//! sequences, settings, the current user). Tables' row estimates
//! (`reltuples`, the size functions) are left out of the fingerprint, so
//! that a write does not invalidate every cached answer (a DuckLake ATTACH
//! after any commit would run all of its catalog joins again); a query that
//! can show an estimate, by name or through `*`, is not cached. Inside a
//! transaction the snapshot is fixed, so the fingerprint is computed once
//! per transaction (again after each write of the session's own).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use duckraft_sql::lexer::{significant, tokenize, Token, TokenKind};
use duckraft_sql::Value;

use crate::session::StatementResult;

const ENTRIES_MAX: usize = 256;

/// The relations whose contents derive only from the fingerprinted state.
const CATALOG_RELATIONS: &[&str] = &[
    "pg_class",
    "pg_namespace",
    "pg_attribute",
    "pg_type",
    "pg_description",
    "pg_constraint",
    "pg_index",
    "pg_indexes",
    "pg_enum",
    "pg_attrdef",
    "to_regclass",
    "regclass",
];

/// Words that make a query's result change without a schema change.
const VOLATILE: &[&str] = &[
    "now",
    "random",
    "setseed",
    "gen_random_uuid",
    "uuid",
    "uuidv4",
    "uuidv7",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "get_current_timestamp",
    "today",
    "nextval",
    "currval",
    "setval",
    "current_setting",
    "set_config",
    "getvariable",
    "current_user",
    "session_user",
    "user",
    "current_role",
    "pg_backend_pid",
    "txid_current",
    "pg_current_xact_id",
    "current_query",
    "pg_stat_activity",
    "pg_settings",
];

/// Words whose value follows the tables' row estimates, which the
/// fingerprint leaves out.
const ESTIMATES: &[&str] = &[
    "reltuples",
    "n_live_tup",
    "pg_stat_user_tables",
    "pg_table_size",
    "pg_relation_size",
    "pg_total_relation_size",
];

/// The SQL computing the schema's part of the fingerprint and the
/// lower-case names of the catalog's own relations, in the session's
/// snapshot. Views need no row of their own: a view's columns are in
/// `duckdb_columns()`, and nothing cached shows a view's definition.
pub const SCHEMA_FINGERPRINT_SQL: &str = "
WITH cols AS (
    SELECT schema_name, table_name, column_index, column_name, data_type, is_nullable, column_default, comment
    FROM duckdb_columns() WHERE database_name = current_database())
SELECT md5(coalesce(string_agg(x, chr(10) ORDER BY x), '')),
       (SELECT list(DISTINCT lower(table_name)) FROM cols)
FROM (
    SELECT concat_ws('|', 't', schema_name, table_name, column_count, index_count,
                     check_constraint_count, has_primary_key, temporary, comment) AS x
    FROM duckdb_tables() WHERE database_name = current_database()
    UNION ALL
    SELECT concat_ws('|', 'c', schema_name, table_name, column_index, column_name, data_type, is_nullable,
                     column_default, comment)
    FROM cols
    UNION ALL
    SELECT concat_ws('|', 'k', schema_name, table_name, constraint_index, constraint_type, constraint_name,
                     expression, constraint_column_names::VARCHAR, referenced_table,
                     referenced_column_names::VARCHAR)
    FROM duckdb_constraints() WHERE database_name = current_database()
    UNION ALL
    SELECT concat_ws('|', 'i', schema_name, index_name, table_name, is_unique, expressions::VARCHAR, comment)
    FROM duckdb_indexes() WHERE database_name = current_database()
    UNION ALL
    SELECT concat_ws('|', 's', schema_name, sequence_name, comment)
    FROM duckdb_sequences() WHERE database_name = current_database()
    UNION ALL
    SELECT concat_ws('|', 'y', schema_name, type_name, logical_type, labels::VARCHAR)
    FROM duckdb_types() WHERE database_name = current_database() AND NOT internal
    UNION ALL
    SELECT concat_ws('|', 'n', schema_name, comment)
    FROM duckdb_schemas() WHERE database_name = current_database()
)";

/// The lower-case names of the catalog's own relations, as
/// [`SCHEMA_FINGERPRINT_SQL`] lists them, without the rest.
pub const RELATION_NAMES_SQL: &str = "
SELECT list(DISTINCT lower(name)) FROM (
    SELECT table_name AS name FROM duckdb_tables() WHERE database_name = current_database()
    UNION ALL
    SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal)";

/// The rest of the fingerprint: the published databases and roles and the
/// session's search path. Small tables, read every time.
pub const CONTEXT_FINGERPRINT_SQL: &str = "
SELECT md5(coalesce(string_agg(x, chr(10) ORDER BY x), ''))
FROM (
    SELECT concat_ws('|', 'd', datname, oid) AS x FROM duckraft_pg.main.duckraft_databases
    UNION ALL
    SELECT concat_ws('|', 'r', oid, rolname, rolsuper, rolcanlogin) FROM duckraft_pg.main.duckraft_roles
    UNION ALL
    SELECT concat_ws('|', 'p', current_setting('search_path'))
)";

/// Schema fingerprints kept per catalog, by schema version: sessions whose
/// snapshots predate the last change still find theirs.
const SCHEMA_VERSIONS_MAX: usize = 8;

/// The schema fingerprints of recent schema versions of one catalog.
#[derive(Default)]
pub struct SchemaFingerprints {
    by_version: Mutex<VecDeque<(u64, Fingerprint)>>,
}

impl SchemaFingerprints {
    pub fn get(&self, version: u64) -> Option<Fingerprint> {
        let by_version = self.by_version.lock().expect("fingerprints lock");
        by_version
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, fingerprint)| fingerprint.clone())
    }

    pub fn insert(&self, version: u64, fingerprint: Fingerprint) {
        let mut by_version = self.by_version.lock().expect("fingerprints lock");
        if by_version.iter().any(|(v, _)| *v == version) {
            return;
        }
        by_version.push_front((version, fingerprint));
        by_version.truncate(SCHEMA_VERSIONS_MAX);
    }
}

/// A fingerprint with the relation names it saw.
#[derive(Clone, Debug)]
pub struct Fingerprint {
    pub digest: String,
    pub relations: std::collections::BTreeSet<String>,
}

/// Whether a read's result depends only on the fingerprinted state.
/// `user_relations` are the lower-case names of the catalog's own relations.
pub fn cacheable(sql: &str, user_relations: impl Fn(&str) -> bool) -> bool {
    let Ok(tokens) = tokenize(sql) else {
        return false;
    };
    let mut names_catalog = false;
    let mut previous: Option<&Token> = None;
    for token in significant(&tokens) {
        // `*` outside `count(*)` may expand to an estimate.
        let star = token.kind == TokenKind::Operator && token.text == "*";
        if star && !previous.is_some_and(|p| p.kind == TokenKind::LeftParen) {
            return false;
        }
        previous = Some(token);
        let Some(name) = token.identifier() else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if VOLATILE.contains(&name.as_str())
            || ESTIMATES.contains(&name.as_str())
            || user_relations(&name)
        {
            return false;
        }
        names_catalog |= CATALOG_RELATIONS.contains(&name.as_str());
    }
    names_catalog
}

#[derive(Clone, PartialEq)]
struct Key {
    fingerprint: String,
    sql: String,
    parameters: Vec<Value>,
}

/// A small LRU of introspection results, shared by a catalog's sessions.
///
/// Filling is single-flight: while one session computes a result, sessions
/// asking for the same key wait for it instead of running the same heavy
/// catalog join. An ATTACH storm of fresh clients asks the same dozen
/// questions at once; without this every one of them runs every join, and
/// the instance runs out of memory.
#[derive(Default)]
pub struct IntrospectionCache {
    state: Mutex<CacheState>,
    filled: Condvar,
}

#[derive(Default)]
struct CacheState {
    entries: VecDeque<(Key, StatementResult)>,
    filling: Vec<Key>,
}

/// How long a session waits for another one's fill before running the
/// query itself (the filler may be slow, never stuck for good).
const FILL_WAIT_MAX: Duration = Duration::from_secs(30);

impl IntrospectionCache {
    /// The cached result for the key, or `fill`'s, which is then cached.
    pub fn get_or_fill<E>(
        &self,
        fingerprint: &str,
        sql: &str,
        parameters: &[Value],
        fill: impl FnOnce() -> Result<StatementResult, E>,
    ) -> Result<StatementResult, E> {
        let key = Key {
            fingerprint: fingerprint.to_string(),
            sql: sql.to_string(),
            parameters: parameters.to_vec(),
        };
        let deadline = Instant::now() + FILL_WAIT_MAX;
        let mut state = self.state.lock().expect("introspection cache lock");
        loop {
            if let Some(position) = state.entries.iter().position(|(k, _)| *k == key) {
                let entry = state.entries.remove(position).expect("found");
                let result = entry.1.clone();
                state.entries.push_front(entry);
                return Ok(result);
            }
            let now = Instant::now();
            if !state.filling.contains(&key) || now >= deadline {
                break;
            }
            state = self
                .filled
                .wait_timeout(state, deadline - now)
                .expect("introspection cache lock")
                .0;
        }
        state.filling.push(key.clone());
        drop(state);
        let result = fill();
        let mut state = self.state.lock().expect("introspection cache lock");
        if let Some(position) = state.filling.iter().position(|k| *k == key) {
            state.filling.remove(position);
        }
        if let Ok(result) = &result {
            state.entries.push_front((key, result.clone()));
            state.entries.truncate(ENTRIES_MAX);
        }
        drop(state);
        self.filled.notify_all();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_misses_of_one_key_run_the_query_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let cache = Arc::new(IntrospectionCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, runs) = (cache.clone(), runs.clone());
                std::thread::spawn(move || {
                    cache
                        .get_or_fill::<()>("f1", "SELECT 1 FROM pg_class", &[], || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            Ok(StatementResult {
                                columns: Vec::new(),
                                rows: vec![vec![Value::Int8(7)]],
                                affected_rows: 0,
                                returns_rows: true,
                            })
                        })
                        .unwrap()
                        .rows
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), vec![vec![Value::Int8(7)]]);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // A failed fill caches nothing; the next caller runs the query.
        let failed = cache.get_or_fill("f2", "q", &[], || Err("boom"));
        assert_eq!(failed.unwrap_err(), "boom");
        let again = cache.get_or_fill::<()>("f2", "q", &[], || {
            Ok(StatementResult {
                columns: Vec::new(),
                rows: Vec::new(),
                affected_rows: 0,
                returns_rows: true,
            })
        });
        assert!(again.is_ok());
    }

    #[test]
    fn only_pure_catalog_reads_are_cacheable() {
        let user = |name: &str| name == "people";
        assert!(cacheable(
            "SELECT relname FROM pg_class JOIN pg_namespace ON relnamespace = pg_namespace.oid \
             WHERE relname = 'people'",
            user
        ));
        assert!(!cacheable("SELECT * FROM people", user));
        assert!(!cacheable("SELECT relname FROM pg_class, people", user));
        assert!(!cacheable("SELECT now(), relname FROM pg_class", user));
        assert!(!cacheable("SELECT 1", user));
        assert!(!cacheable("SELECT 'unterminated", user));
        // Row estimates are not in the fingerprint.
        assert!(cacheable("SELECT count(*) FROM pg_class", user));
        assert!(!cacheable("SELECT * FROM pg_class", user));
        assert!(!cacheable("SELECT c.* FROM pg_class c", user));
        assert!(!cacheable("SELECT relname, reltuples FROM pg_class", user));
        assert!(!cacheable(
            "SELECT relname, pg_table_size(oid) FROM pg_class",
            user
        ));
    }
}

#[cfg(test)]
mod ducklake_attach_queries {
    use super::*;

    #[test]
    fn the_scanner_attach_queries_are_cacheable() {
        let user = |name: &str| name.starts_with("ducklake_");
        for sql in [
            "SELECT oid, nspname\n\tFROM pg_namespace\n\t\n\tORDER BY oid",
            "SELECT n.oid, enumtypid, typname, enumlabel\n\tFROM pg_enum e\n\tJOIN pg_type t ON e.enumtypid = t.oid\n\tJOIN pg_namespace AS n ON (typnamespace=n.oid)\n\t\n\tORDER BY n.oid, enumtypid, enumsortorder",
            "SELECT pg_namespace.oid, tablename, indexname\n\tFROM pg_indexes\n\tJOIN pg_namespace ON (schemaname=nspname)\n\t\n\tORDER BY pg_namespace.oid",
            // The table lookup, the most expensive of them.
            "SELECT pg_namespace.oid AS namespace_id, relname, relpages, attname, \
                 pg_type.typname type_name, atttypmod type_modifier, pg_attribute.attndims ndim, \
                 attnum, pg_attribute.attnotnull AS notnull, NULL constraint_id, \
                 NULL constraint_type, NULL constraint_key, type_ns.nspname AS type_schema, \
                 col_desc.description AS column_comment, tbl_desc.description AS table_comment \
             FROM pg_class JOIN pg_namespace ON relnamespace = pg_namespace.oid \
             JOIN pg_attribute ON pg_class.oid=pg_attribute.attrelid \
             JOIN pg_type ON atttypid=pg_type.oid \
             JOIN pg_namespace type_ns ON pg_type.typnamespace = type_ns.oid \
             LEFT JOIN pg_description col_desc ON col_desc.objoid=pg_class.oid AND col_desc.objsubid=pg_attribute.attnum \
             LEFT JOIN pg_description tbl_desc ON tbl_desc.objoid=pg_class.oid AND tbl_desc.objsubid=0 \
             WHERE attnum > 0 AND relkind IN ('r', 'v', 'm', 'f', 'p') AND pg_namespace.nspname IN ('public')AND relname='ducklake_metadata' \
             UNION ALL \
             SELECT pg_namespace.oid AS namespace_id, relname, NULL relpages, NULL attname, NULL type_name, \
                 NULL type_modifier, NULL ndim, NULL attnum, NULL AS notnull, \
                 pg_constraint.oid AS constraint_id, contype AS constraint_type, \
                 conkey AS constraint_key, NULL AS type_schema, NULL AS column_comment, NULL AS table_comment \
             FROM pg_class JOIN pg_namespace ON relnamespace = pg_namespace.oid \
             JOIN pg_constraint ON (pg_class.oid=pg_constraint.conrelid) \
             WHERE relkind IN ('r', 'v', 'm', 'f', 'p') AND contype IN ('p', 'u') AND pg_namespace.nspname IN ('public')AND relname='ducklake_metadata' \
             ORDER BY namespace_id, relname, attnum, constraint_id;",
        ] {
            assert!(cacheable(sql, user), "{sql}");
        }
    }
}
