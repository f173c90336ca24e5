//! Deterministic replay: routing a statement for replication and pinning the
//! values in it that would differ from node to node.
//!
//! Every node replays each committed write on its own embedded DuckDB, so a
//! write must have the same effect everywhere. The proposer calls
//! [`classify_write`] to route a statement, then [`pin_nondeterminism`] on a
//! write or DDL statement. That call replaces every value that would differ
//! between nodes with a literal fixed at propose time. When the statement's
//! effect cannot be made deterministic, it returns a [`Rejection`] with
//! SQLSTATE `0A000` instead.
//!
//! The input is one DuckDB-dialect statement, after the `compat` rewrites.
//! Like `compat`, this module works on the crate lexer's tokens and never
//! re-renders the statement. The output is the input with a few token spans
//! replaced, so whitespace and comments survive. A comment inside the
//! parentheses of a pinned call is kept and follows the literal. Keywords
//! match case-insensitively. String literals, quoted identifiers and comments
//! are single tokens and are never rewritten.
//!
//! # Routing: [`classify_write`]
//!
//! | statement | class |
//! |---|---|
//! | `SELECT`, `VALUES`, `TABLE`, `FROM …`, `( query )`, `WITH … SELECT`, `DESCRIBE`, `SUMMARIZE`, `PIVOT`/`UNPIVOT`, `EXPLAIN` without `ANALYZE`, `COPY … TO STDOUT` | `Read`, even when it calls a function with side effects such as `nextval()` |
//! | `EXPLAIN ANALYZE q` | `Read` if `q` is a read, otherwise `Unsupported`, because it would run the write on one node only |
//! | `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `WITH …` ending in, or containing, one of them, `CREATE [OR REPLACE] [TEMP] TABLE … AS …`, `COPY … FROM STDIN` | `Write` |
//! | `TRUNCATE` | `Write`: it changes rows, not the schema. DuckDB runs it as a `DELETE` without `WHERE` |
//! | `CREATE`, `DROP`, `ALTER`, `COMMENT ON` (including `CREATE/DROP DATABASE`, `CREATE USER/ROLE`, temporary objects) | `Ddl`. Sending cp-metadata objects and temp objects to the right place is up to the caller |
//! | `BEGIN`, `START`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`, `SET`, `RESET`, `SHOW`, `DISCARD`, `DECLARE`, `FETCH`, `MOVE`, `CLOSE`, `USE`, and the empty statement | `Session` |
//! | `SET GLOBAL`, `RESET GLOBAL` | `Unsupported`: node-wide settings are not replicated |
//! | `COPY` to or from a file, program or URL, `COPY FROM DATABASE` | `Unsupported` |
//! | `ATTACH`, `DETACH`, `INSTALL`, `LOAD`, `FORCE INSTALL`, `UPDATE EXTENSIONS`, `EXPORT/IMPORT DATABASE`, `PRAGMA`, `CALL`, `CHECKPOINT`, `FORCE CHECKPOINT`, `VACUUM`, `ANALYZE`, `CREATE/DROP SECRET`, `CREATE SEQUENCE` | `Unsupported` |
//! | anything else (`LISTEN`, `NOTIFY`, `PREPARE`, `EXECUTE`, `LOCK`, `GRANT`, `DO`, …), more than one statement | `Unsupported` |
//! | text the lexer cannot read (an unterminated quote or comment) | `Unsupported` with SQLSTATE `42601` |
//! | a `Write` or `Ddl` that names the schema `__duckraft` (each catalog's replication bookkeeping: applied index, dedup table, relation versions) | `Unsupported` with SQLSTATE `42501`; reading it is allowed |
//!
//! # Values: [`pin_nondeterminism`]
//!
//! `Read` and `Session` statements come back unchanged, because they are not
//! replicated. `Unsupported` statements are rejected with the reason above.
//! In `Write` statements:
//!
//! | construct | treatment |
//! |---|---|
//! | `now()`, `current_timestamp`, `current_timestamp()`, `current_timestamp(p)`, `transaction_timestamp()`, `statement_timestamp()`, `get_current_timestamp()` | `TIMESTAMPTZ 'YYYY-MM-DD HH:MM:SS[.ffffff]+00'` of `now_micros`. With a precision `p`, the value is first rounded to `p` fractional digits (`p` > 6 counts as 6) |
//! | `current_date`, `today()` | `DATE 'YYYY-MM-DD'`, the UTC date of that instant |
//! | `current_time[(p)]`, `get_current_time()` | `TIMETZ 'HH:MM:SS[.ffffff]+00'` |
//! | `localtime[(p)]`, `current_localtime()` | `TIME 'HH:MM:SS[.ffffff]'` |
//! | `localtimestamp[(p)]`, `current_localtimestamp()` | `TIMESTAMP 'YYYY-MM-DD HH:MM:SS[.ffffff]'` |
//! | `random()` | `'0.…'::DOUBLE`: the top 53 bits of one `ctx.random` draw over 2^53, in [0, 1). The shortest digits that read back exactly |
//! | `gen_random_uuid()`, `uuid()`, `uuidv4()` | `'xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx'::UUID` from two `ctx.random` draws |
//! | `uuidv7()` | a version-7 `'…'::UUID`: the 48-bit Unix millisecond of `now_micros`, and the other bits from two `ctx.random` draws |
//! | `current_user`, `session_user`, `user`, `current_role` (bare, or with `()`) | `'<ctx.user>'`. In a role position of DDL (`ALTER USER current_user`, `OWNER TO current_user`, `AUTHORIZATION …`, `MAPPING FOR …`) it becomes the identifier `"<ctx.user>"` |
//! | `current_catalog`, `current_database()` | `'<ctx.database>'` |
//! | `uuid_extract_timestamp()`, `current_query()` | kept |
//! | `nextval()`, `currval()`, `setval()` | rejected: DuckDB does not roll a sequence back with a failed transaction, so sequences would differ between nodes (see `CREATE SEQUENCE`) |
//! | `clock_timestamp()`, `timeofday()` | rejected: they read each node's wall clock while the statement runs |
//! | `setseed()` | rejected: it changes per-session random state |
//! | `read_csv`, `read_csv_auto`, `read_parquet`, `parquet_scan`, `read_json*`, `read_ndjson*`, `read_text`, `read_blob`, `read_xlsx`, `sniff_csv`, `parquet_metadata`/`parquet_schema`/…, `glob` (as a table function), `st_read`, `iceberg_*`, `delta_scan`, `postgres_*`/`mysql_*`/`sqlite_*` scans | rejected: they read files, URLs or external databases on each node |
//! | a string literal used as a table (`FROM 'data.csv'`, `JOIN`, `USING`, or after a comma in a `FROM` list); a quoted identifier used as a table that names a file (`FROM "data.parquet"`, or one containing `://`) | rejected: DuckDB reads the file through a replacement scan |
//! | `query()`, `query_table()` | rejected: they run SQL text that cannot be checked |
//! | `txid_current()`, `pg_current_xact_id()`, `pg_backend_pid()`, `pg_is_in_recovery()`, `pg_postmaster_start_time()`, `version()`, `pg_*_size()`, `duckdb_settings()`, `duckdb_memory()`, `duckdb_databases()`, `duckdb_extensions()`, `duckdb_temporary_files()`, `duckdb_secrets()`, `which_secret()`, `pragma_database_size()`, `pragma_storage_info()`, `pragma_metadata_info()` | rejected: node-local values |
//! | `current_setting()`, `set_config()`, `getvariable()`, `current_schema`, `current_schemas()` | rejected: they read or change session state, which is not replicated with the write |
//! | `pg_sleep()` | rejected: it would stall the apply loop on every node |
//! | `USING SAMPLE`, `TABLESAMPLE` | rejected: the rows are drawn at random on each node |
//! | `random()`, `gen_random_uuid()`, `uuid()`, `uuidv4()`, `uuidv7()` where they run once per row: in `UPDATE`, `DELETE`, `MERGE`, after `ON CONFLICT` or `RETURNING`, or in a query level (or one enclosing it) with a `FROM`, `JOIN` or set-returning call | rejected: one pinned value would repeat on every row. They are pinned only in `INSERT … VALUES` and in `SELECT` without `FROM` |
//! | a pinned or rejected function called through a quoted name (`"now"()`) | rejected: write it unquoted |
//! | a pinnable call used as a table (`FROM now()`, `JOIN random()`) | rejected: only a value can be pinned |
//!
//! In `Ddl` statements, every call to a function in the table above is
//! rejected. So is any bare keyword (`current_timestamp`, `current_user`, …)
//! that appears in a stored expression: a column `DEFAULT`, a `CHECK`, a
//! generated column, an `ALTER … USING`, or a view, macro, type or index
//! definition. DDL expressions are never pinned. A stored expression is
//! evaluated again, separately on every node, by every later statement that
//! uses it, so pinning it would freeze it, and leaving it would diverge. In
//! particular, `created_at TIMESTAMP DEFAULT now()` is rejected. Write
//! `now()` in the `INSERT` instead, where it is pinned.
//!
//! Where a name is not the construct:
//! - a qualified name (`t.user`, `s.now()`) is a column or a user macro.
//!   Only `pg_catalog.`, `main.` (calls only), `system.main.`,
//!   `system.pg_catalog.` and `duckraft_pg.main.` count as the built-in. A
//!   rejected function is rejected under any qualifier, because DuckDB's
//!   `x.f()` means `f(x)`;
//! - a bare keyword right after `AS` (an alias), after `INTO`, `TABLE`,
//!   `UPDATE`, `JOIN`, `::`, or in a table position, in an `INSERT` column
//!   list, or as an `UPDATE … SET` target;
//! - a call right after `INTO`, `TABLE`, `VIEW`, `INDEX`, `FUNCTION`,
//!   `MACRO`, `SEQUENCE`, `TYPE`, `SCHEMA`, `REFERENCES`, `EXISTS`, `WITH`
//!   or `::` (a type), or a CTE name with a column list.
//!
//! As in PostgreSQL, `user`, `current_user`, `current_date` and the rest are
//! reserved words. A column with one of these names must be quoted:
//! `"user"` is a column, `user` is the session user.
//!
//! # What the caller must also provide
//!
//! - `now_micros`, the statement timestamp. DuckDB's `now()` is the start
//!   of the transaction, so a proposer that pins several statements of one
//!   transaction should pass the transaction's start time.
//!   `statement_timestamp()` is pinned to the same value.
//! - The zone-dependent values (`current_date`, `current_time`, `localtime`,
//!   `localtimestamp`) are pinned as literals of the pinned instant's UTC
//!   fields: duckraft sessions run in UTC, and DuckDB without ICU can
//!   neither compute these values nor cast a `TIMESTAMPTZ` to a date or
//!   time, so a literal is also what replays everywhere. (The front door
//!   spells the bare keywords through `current_timestamp` first; see
//!   `crate::clock`.)
//!
//! # Not covered
//!
//! Non-determinism that is not spelled in the statement is not detected:
//! volatile functions inside existing user macros or views, column defaults
//! created before this check, `LIMIT` without a total `ORDER BY`, ties in
//! `arg_max` or `any_value`, and aggregates whose result depends on the
//! order of parallel evaluation (`sum` of `DOUBLE`, `list` and `string_agg`
//! without `ORDER BY`). The apply path should run with a deterministic
//! DuckDB configuration (`threads=1`, `preserve_insertion_order=true`). A
//! pinned expression without an alias names its result column differently,
//! in `CREATE TABLE … AS` and `RETURNING`: the name is the same on every
//! node, but it differs from what DuckDB would have chosen.

use std::fmt;

use crate::lexer::{tokenize, LexError, Token, TokenKind};
use crate::types::{civil_from_days, format_timestamp, format_uuid};

/// SQLSTATE of a statement whose effect cannot be made deterministic.
pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
/// SQLSTATE of text the lexer cannot read (an unterminated quote or comment).
pub const SYNTAX_ERROR: &str = "42601";
/// SQLSTATE of a statement timestamp outside the years 1 to 9999.
pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
/// SQLSTATE of a write to the replication bookkeeping.
pub const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// The schema in every catalog's DuckDB file that holds its replication
/// bookkeeping. Only the apply writes it: a client write there could move
/// the applied index or forge dedup answers on every node.
pub const BOOKKEEPING_SCHEMA: &str = "__duckraft";

/// The error for a client write to [`BOOKKEEPING_SCHEMA`].
pub fn bookkeeping_rejection() -> Rejection {
    Rejection::new(
        INSUFFICIENT_PRIVILEGE,
        format!("permission denied for schema {BOOKKEEPING_SCHEMA}: it holds duckraft's replication bookkeeping"),
    )
}

/// What the proposer fixes for one statement.
pub struct PinContext<'a> {
    /// Statement timestamp, microseconds since the Unix epoch (UTC), chosen by the proposer.
    pub now_micros: i64,
    /// Session user.
    pub user: &'a str,
    /// Current catalog.
    pub database: &'a str,
    /// Proposer-side entropy source; drawn once per `random()` and twice per UUID.
    pub random: &'a mut dyn FnMut() -> u64,
}

/// Why a statement cannot be replicated as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub sqlstate: &'static str,
    pub message: String,
}

impl Rejection {
    fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            sqlstate,
            message: message.into(),
        }
    }

    fn not_allowed(construct: impl fmt::Display, reason: &str) -> Self {
        Rejection::new(
            FEATURE_NOT_SUPPORTED,
            format!("{construct} is not allowed in a replicated write because {reason}"),
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

/// What a single statement does, for replication routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteClass {
    /// Changes nothing; runs on one node.
    Read,
    /// Changes rows; replicated.
    Write,
    /// Changes the schema (or users and databases); replicated.
    Ddl,
    /// Handled by the session (transaction control, settings, cursors).
    Session,
    /// Cannot run in duckraft, for the given reason.
    Unsupported(Rejection),
}

/// Routes one statement; see the module documentation for the table.
pub fn classify_write(sql: &str) -> WriteClass {
    match Stmt::parse(sql) {
        Ok(stmt) => stmt.class(),
        Err(rejection) => WriteClass::Unsupported(rejection),
    }
}

/// Returns SQL text with every non-deterministic value replaced by a literal
/// fixed now, or a Rejection when the statement's effect cannot be made
/// deterministic. `Read` and `Session` statements come back unchanged.
pub fn pin_nondeterminism(sql: &str, ctx: &mut PinContext<'_>) -> Result<String, Rejection> {
    let stmt = Stmt::parse(sql)?;
    let ddl = match stmt.class() {
        WriteClass::Unsupported(rejection) => return Err(rejection),
        WriteClass::Read | WriteClass::Session => return Ok(sql.to_string()),
        WriteClass::Write => None,
        WriteClass::Ddl => Some(DdlShape::of(&stmt)),
    };
    let edits = Pinner {
        stmt: &stmt,
        ddl,
        edits: Vec::new(),
    }
    .run(ctx)?;
    Ok(apply_edits(&stmt.tokens, &edits))
}

// ---------------------------------------------------------------------------
// The constructs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `name(…)`; the bare word is an ordinary name.
    Call,
    /// A SQL value keyword: bare, or followed by `()` or `(precision)`.
    Keyword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    TimestampTz,
    Date,
    TimeTz,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pinned {
    Clock(Clock),
    Random,
    UuidV4,
    UuidV7,
    User,
    Database,
}

impl Pinned {
    /// Evaluated once per row rather than once per statement.
    fn per_row(self) -> bool {
        matches!(self, Pinned::Random | Pinned::UuidV4 | Pinned::UuidV7)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Pin(Pinned),
    /// Rejected; the text completes "… because ".
    Reject(&'static str),
}

struct Construct {
    name: &'static str,
    shape: Shape,
    action: Action,
}

const fn pin(name: &'static str, shape: Shape, value: Pinned) -> Construct {
    Construct {
        name,
        shape,
        action: Action::Pin(value),
    }
}

const fn reject(name: &'static str, shape: Shape, reason: &'static str) -> Construct {
    Construct {
        name,
        shape,
        action: Action::Reject(reason),
    }
}

const WALL_CLOCK: &str = "it reads each node's wall clock while the statement runs; use now(), which is pinned to the statement timestamp";
const RANDOM_STATE: &str = "it changes per-session random state, which is not replicated";
const FILES: &str = "it reads files, URLs or external databases on each node, which may differ or be missing; send the data with COPY ... FROM STDIN or INSERT ... VALUES";
const DYNAMIC_SQL: &str = "it runs SQL text that cannot be checked for non-deterministic values";
const NODE_LOCAL: &str = "its value is specific to the node that evaluates it";
const SESSION_STATE: &str =
    "it reads or changes session state, which is not replicated with the write";
const SLEEP: &str = "it would stall the apply loop on every node";
const SAMPLING: &str = "the rows are drawn at random on each node";
const SEQUENCES: &str = "DuckDB does not roll a sequence back with a failed transaction, so nodes would hand out different values; take keys from the client or from uuidv7()";

use Clock::*;
use Shape::{Call, Keyword};

const CONSTRUCTS: &[Construct] = &[
    pin("now", Call, Pinned::Clock(TimestampTz)),
    pin("transaction_timestamp", Call, Pinned::Clock(TimestampTz)),
    pin("statement_timestamp", Call, Pinned::Clock(TimestampTz)),
    pin("get_current_timestamp", Call, Pinned::Clock(TimestampTz)),
    pin("current_timestamp", Keyword, Pinned::Clock(TimestampTz)),
    pin("current_date", Keyword, Pinned::Clock(Date)),
    pin("today", Call, Pinned::Clock(Date)),
    pin("current_time", Keyword, Pinned::Clock(TimeTz)),
    pin("get_current_time", Call, Pinned::Clock(TimeTz)),
    pin("localtime", Keyword, Pinned::Clock(Time)),
    pin("current_localtime", Call, Pinned::Clock(Time)),
    pin("localtimestamp", Keyword, Pinned::Clock(Timestamp)),
    pin("current_localtimestamp", Call, Pinned::Clock(Timestamp)),
    pin("random", Call, Pinned::Random),
    pin("gen_random_uuid", Call, Pinned::UuidV4),
    pin("uuid", Call, Pinned::UuidV4),
    pin("uuidv4", Call, Pinned::UuidV4),
    pin("uuidv7", Call, Pinned::UuidV7),
    pin("current_user", Keyword, Pinned::User),
    pin("session_user", Keyword, Pinned::User),
    pin("user", Keyword, Pinned::User),
    pin("current_role", Keyword, Pinned::User),
    pin("current_catalog", Keyword, Pinned::Database),
    pin("current_database", Call, Pinned::Database),
    reject("clock_timestamp", Call, WALL_CLOCK),
    reject("timeofday", Call, WALL_CLOCK),
    reject("setseed", Call, RANDOM_STATE),
    reject("read_csv", Call, FILES),
    reject("read_csv_auto", Call, FILES),
    reject("read_parquet", Call, FILES),
    reject("parquet_scan", Call, FILES),
    reject("read_json", Call, FILES),
    reject("read_json_auto", Call, FILES),
    reject("read_json_objects", Call, FILES),
    reject("read_json_objects_auto", Call, FILES),
    reject("read_ndjson", Call, FILES),
    reject("read_ndjson_auto", Call, FILES),
    reject("read_ndjson_objects", Call, FILES),
    reject("read_text", Call, FILES),
    reject("read_blob", Call, FILES),
    reject("read_xlsx", Call, FILES),
    reject("sniff_csv", Call, FILES),
    reject("glob", Call, FILES),
    reject("parquet_metadata", Call, FILES),
    reject("parquet_schema", Call, FILES),
    reject("parquet_file_metadata", Call, FILES),
    reject("parquet_kv_metadata", Call, FILES),
    reject("parquet_bloom_probe", Call, FILES),
    reject("st_read", Call, FILES),
    reject("st_read_meta", Call, FILES),
    reject("iceberg_scan", Call, FILES),
    reject("iceberg_metadata", Call, FILES),
    reject("iceberg_snapshots", Call, FILES),
    reject("delta_scan", Call, FILES),
    reject("postgres_scan", Call, FILES),
    reject("postgres_scan_pushdown", Call, FILES),
    reject("postgres_query", Call, FILES),
    reject("postgres_execute", Call, FILES),
    reject("mysql_scan", Call, FILES),
    reject("mysql_query", Call, FILES),
    reject("mysql_execute", Call, FILES),
    reject("sqlite_scan", Call, FILES),
    reject("sqlite_query", Call, FILES),
    reject("query", Call, DYNAMIC_SQL),
    reject("query_table", Call, DYNAMIC_SQL),
    reject("txid_current", Call, NODE_LOCAL),
    reject("txid_current_if_assigned", Call, NODE_LOCAL),
    reject("pg_current_xact_id", Call, NODE_LOCAL),
    reject("pg_current_xact_id_if_assigned", Call, NODE_LOCAL),
    reject("pg_backend_pid", Call, NODE_LOCAL),
    reject("pg_is_in_recovery", Call, NODE_LOCAL),
    reject("pg_postmaster_start_time", Call, NODE_LOCAL),
    reject("version", Call, NODE_LOCAL),
    reject("pg_database_size", Call, NODE_LOCAL),
    reject("pg_relation_size", Call, NODE_LOCAL),
    reject("pg_table_size", Call, NODE_LOCAL),
    reject("pg_total_relation_size", Call, NODE_LOCAL),
    reject("pg_indexes_size", Call, NODE_LOCAL),
    reject("duckdb_settings", Call, NODE_LOCAL),
    reject("duckdb_memory", Call, NODE_LOCAL),
    reject("duckdb_databases", Call, NODE_LOCAL),
    reject("duckdb_extensions", Call, NODE_LOCAL),
    reject("duckdb_temporary_files", Call, NODE_LOCAL),
    reject("duckdb_secrets", Call, NODE_LOCAL),
    reject("which_secret", Call, NODE_LOCAL),
    reject("pragma_database_size", Call, NODE_LOCAL),
    reject("pragma_storage_info", Call, NODE_LOCAL),
    reject("pragma_metadata_info", Call, NODE_LOCAL),
    reject("current_setting", Call, SESSION_STATE),
    reject("set_config", Call, SESSION_STATE),
    reject("getvariable", Call, SESSION_STATE),
    reject("current_schema", Keyword, SESSION_STATE),
    reject("current_schemas", Call, SESSION_STATE),
    reject("pg_sleep", Call, SLEEP),
    reject("nextval", Call, SEQUENCES),
    reject("currval", Call, SEQUENCES),
    reject("setval", Call, SEQUENCES),
];

fn lookup(name: &str) -> Option<&'static Construct> {
    CONSTRUCTS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Functions whose argument list may contain `FROM` (`EXTRACT(year FROM ts)`).
const ARGUMENT_FROM_FUNCTIONS: &[&str] = &["extract", "substring", "trim", "overlay"];

/// Calls that produce several rows from one, when written in a select list.
const SET_RETURNING: &[&str] = &[
    "unnest",
    "generate_series",
    "range",
    "generate_subscripts",
    "regexp_split_to_table",
];

/// Words that end the `FROM` list of the query level they appear in.
const FROM_LIST_ENDS: &[&str] = &[
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "QUALIFY",
    "WINDOW",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "RETURNING",
    "SET",
    "VALUES",
    "SELECT",
    "FETCH",
    "CONFLICT",
];

/// A call right after one of these words is a name being defined or referenced
/// with a column list (`INSERT INTO now (a)`, `CREATE TABLE random(x INT)`).
const CALL_NAME_AFTER: &[&str] = &[
    "INTO",
    "TABLE",
    "VIEW",
    "INDEX",
    "FUNCTION",
    "MACRO",
    "SEQUENCE",
    "TYPE",
    "SCHEMA",
    "REFERENCES",
    "EXISTS",
    "WITH",
];

/// A bare keyword right after one of these words is a name.
const KEYWORD_NAME_AFTER: &[&str] = &[
    "INTO",
    "TABLE",
    "UPDATE",
    "JOIN",
    "VIEW",
    "INDEX",
    "CREATE",
    "ALTER",
    "DROP",
    "COLUMN",
    "CONSTRAINT",
    "RENAME",
    "SEQUENCE",
    "SCHEMA",
    "TYPE",
    "FUNCTION",
    "MACRO",
    "REFERENCES",
];

const CREATE_MODIFIERS: &[&str] = &[
    "OR",
    "REPLACE",
    "TEMP",
    "TEMPORARY",
    "UNIQUE",
    "UNLOGGED",
    "GLOBAL",
    "LOCAL",
    "MATERIALIZED",
    "PERSISTENT",
];

/// Quoted table names DuckDB resolves with a replacement scan over a file.
const FILE_EXTENSIONS: &[&str] = &[
    ".csv", ".tsv", ".tbl", ".parquet", ".json", ".jsonl", ".ndjson", ".xlsx", ".arrow", ".avro",
];
const COMPRESSION_EXTENSIONS: &[&str] = &[".gz", ".zst", ".zstd", ".bz2", ".xz"];

fn names_a_file(identifier: &str) -> bool {
    let mut name = identifier.to_ascii_lowercase();
    if name.contains("://") {
        return true;
    }
    for compression in COMPRESSION_EXTENSIONS {
        if let Some(stripped) = name.strip_suffix(compression) {
            name = stripped.to_string();
            break;
        }
    }
    FILE_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

// ---------------------------------------------------------------------------
// Tokens of one statement.

/// Tokenizes like the crate lexer, except that an operator run stops where a
/// `--` or `/*` comment starts, as in PostgreSQL and DuckDB (`1+--c` is `1 +`
/// and a comment). Without this a comment could hide a call from the check.
fn lex(sql: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut out = Vec::new();
    let mut start = 0;
    'restart: loop {
        let rest = &sql[start..];
        // On an error, the tokens before the failing one still count: an
        // operator among them may end at a comment that explains the error.
        let (tokens, error) = match tokenize(rest) {
            Ok(tokens) => (tokens, None),
            Err(e) => (tokenize(&rest[..e.position]).unwrap_or_default(), Some(e)),
        };
        let mut offset = start;
        for token in tokens {
            if token.kind == TokenKind::Operator {
                let cut = [token.text.find("--"), token.text.find("/*")]
                    .into_iter()
                    .flatten()
                    .min();
                if let Some(cut) = cut.filter(|&cut| cut > 0) {
                    out.push(Token {
                        kind: TokenKind::Operator,
                        text: &token.text[..cut],
                    });
                    start = offset + cut;
                    continue 'restart;
                }
            }
            offset += token.text.len();
            out.push(token);
        }
        return match error {
            None => Ok(out),
            Some(e) => Err(LexError {
                position: e.position + start,
                ..e
            }),
        };
    }
}

/// One statement's tokens with its parenthesis structure. Positions `k` index
/// the significant tokens (no whitespace, comments or trailing semicolons).
struct Stmt<'a> {
    tokens: Vec<Token<'a>>,
    /// Index into `tokens` of each significant token.
    sig: Vec<usize>,
    /// Number of open parentheses around each token; a parenthesis itself
    /// has the depth of its surroundings.
    depth: Vec<u32>,
    /// The innermost `(` around each token.
    open: Vec<Option<usize>>,
    /// For a `(`, its `)`; `len()` when it is never closed.
    close: Vec<usize>,
}

impl<'a> Stmt<'a> {
    fn parse(sql: &'a str) -> Result<Self, Rejection> {
        let tokens = lex(sql).map_err(|e| {
            Rejection::new(
                SYNTAX_ERROR,
                format!("cannot check the statement for non-deterministic values: {e}"),
            )
        })?;
        let mut sig: Vec<usize> = (0..tokens.len())
            .filter(|&i| !tokens[i].is_trivia())
            .collect();
        while sig
            .last()
            .is_some_and(|&i| tokens[i].kind == TokenKind::Semicolon)
        {
            sig.pop();
        }
        if sig.iter().any(|&i| tokens[i].kind == TokenKind::Semicolon) {
            return Err(Rejection::new(
                FEATURE_NOT_SUPPORTED,
                "a replicated write must be a single statement; split the query string first",
            ));
        }
        let n = sig.len();
        let mut depth = vec![0; n];
        let mut open = vec![None; n];
        let mut close = vec![n; n];
        let mut stack: Vec<usize> = Vec::new();
        for (k, &i) in sig.iter().enumerate() {
            match tokens[i].kind {
                TokenKind::LeftParen => {
                    depth[k] = stack.len() as u32;
                    open[k] = stack.last().copied();
                    stack.push(k);
                }
                TokenKind::RightParen => {
                    if let Some(o) = stack.pop() {
                        close[o] = k;
                    }
                    depth[k] = stack.len() as u32;
                    open[k] = stack.last().copied();
                }
                _ => {
                    depth[k] = stack.len() as u32;
                    open[k] = stack.last().copied();
                }
            }
        }
        Ok(Stmt {
            tokens,
            sig,
            depth,
            open,
            close,
        })
    }

    fn len(&self) -> usize {
        self.sig.len()
    }

    fn tok(&self, k: usize) -> &Token<'a> {
        &self.tokens[self.sig[k]]
    }

    fn get(&self, k: usize) -> Option<&Token<'a>> {
        self.sig.get(k).map(|&i| &self.tokens[i])
    }

    fn is_word(&self, k: usize, keyword: &str) -> bool {
        self.get(k).is_some_and(|t| t.is_word(keyword))
    }

    fn is_any_word(&self, k: usize, keywords: &[&str]) -> bool {
        self.get(k)
            .is_some_and(|t| keywords.iter().any(|w| t.is_word(w)))
    }

    fn is_kind(&self, k: usize, kind: TokenKind) -> bool {
        self.get(k).is_some_and(|t| t.kind == kind)
    }

    fn is_operator(&self, k: usize, text: &str) -> bool {
        self.get(k)
            .is_some_and(|t| t.kind == TokenKind::Operator && t.text == text)
    }

    fn upper(&self, k: usize) -> String {
        self.get(k)
            .map(|t| t.text.to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// The first word `keyword` after `from` at the depth of `from`.
    fn find_at_depth(&self, from: usize, keyword: &str) -> Option<usize> {
        let depth = self.depth.get(from).copied()?;
        (from + 1..self.len()).find(|&k| self.depth[k] == depth && self.is_word(k, keyword))
    }

    /// `FROM` that introduces tables, rather than `IS DISTINCT FROM` or the
    /// `FROM` inside `EXTRACT(…)`, `SUBSTRING(…)`, `TRIM(…)`, `OVERLAY(…)`.
    fn is_table_from(&self, k: usize) -> bool {
        if !self.is_word(k, "FROM") || (k > 0 && self.is_word(k - 1, "DISTINCT")) {
            return false;
        }
        match self.open[k] {
            Some(o) if o > 0 => !self.is_any_word(o - 1, ARGUMENT_FROM_FUNCTIONS),
            _ => true,
        }
    }

    /// `UPDATE`/`DELETE`/`MERGE` as a statement verb, not `DO UPDATE`,
    /// `FOR UPDATE` or `ON DELETE`.
    fn is_modifying_verb(&self, k: usize) -> bool {
        self.is_any_word(k, &["UPDATE", "DELETE", "MERGE"])
            && !(k > 0 && self.is_any_word(k - 1, &["DO", "FOR", "KEY", "ON"]))
    }

    /// Whether the first significant token starting at `start` reads, writes, …
    /// The statement's class, with writes to the bookkeeping refused.
    fn class(&self) -> WriteClass {
        match self.class_at(0) {
            WriteClass::Write | WriteClass::Ddl if self.names_bookkeeping() => {
                WriteClass::Unsupported(bookkeeping_rejection())
            }
            class => class,
        }
    }

    fn names_bookkeeping(&self) -> bool {
        self.tokens
            .iter()
            .any(|t| t.identifier().as_deref() == Some(BOOKKEEPING_SCHEMA))
    }

    fn class_at(&self, start: usize) -> WriteClass {
        let Some(first) = self.get(start) else {
            return WriteClass::Session;
        };
        if first.kind == TokenKind::LeftParen {
            return WriteClass::Read;
        }
        if first.kind != TokenKind::Word {
            return WriteClass::Unsupported(Rejection::new(
                FEATURE_NOT_SUPPORTED,
                format!(
                    "a statement starting with \"{}\" is not supported",
                    first.text
                ),
            ));
        }
        let keyword = first.text.to_ascii_uppercase();
        match keyword.as_str() {
            "SELECT" | "VALUES" | "TABLE" | "FROM" | "DESCRIBE" | "SUMMARIZE" | "PIVOT"
            | "UNPIVOT" | "PIVOT_WIDER" | "PIVOT_LONGER" => WriteClass::Read,
            "WITH" => {
                let writes = (start + 1..self.len()).any(|k| {
                    self.is_any_word(k, &["INSERT", "UPDATE", "DELETE", "MERGE"])
                        && (self.depth[k] == self.depth[start]
                            || self.is_kind(k - 1, TokenKind::LeftParen))
                        && !self.is_any_word(k - 1, &["DO", "FOR", "KEY", "ON"])
                });
                if writes {
                    WriteClass::Write
                } else {
                    WriteClass::Read
                }
            }
            "EXPLAIN" => self.explain_class(start),
            "INSERT" | "DELETE" | "MERGE" | "TRUNCATE" => WriteClass::Write,
            "UPDATE" => {
                if self.is_word(start + 1, "EXTENSIONS")
                    && self.find_at_depth(start, "SET").is_none()
                {
                    unsupported_statement("UPDATE EXTENSIONS")
                } else {
                    WriteClass::Write
                }
            }
            "COPY" => self.copy_class(start),
            "CREATE" => {
                let mut i = start + 1;
                while self.is_any_word(i, CREATE_MODIFIERS) {
                    i += 1;
                }
                match self.upper(i).as_str() {
                    "SECRET" => unsupported_statement("CREATE SECRET"),
                    "SEQUENCE" => unsupported_statement("CREATE SEQUENCE"),
                    "TABLE" if self.find_at_depth(i, "AS").is_some() => WriteClass::Write,
                    _ => WriteClass::Ddl,
                }
            }
            "DROP" => {
                let mut i = start + 1;
                while self.is_any_word(i, &["TEMP", "TEMPORARY", "PERSISTENT"]) {
                    i += 1;
                }
                if self.is_word(i, "SECRET") {
                    unsupported_statement("DROP SECRET")
                } else {
                    WriteClass::Ddl
                }
            }
            "ALTER" | "COMMENT" => WriteClass::Ddl,
            "SET" | "RESET" if self.is_word(start + 1, "GLOBAL") => {
                unsupported_statement(&format!("{keyword} GLOBAL"))
            }
            "SET" | "RESET" | "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT"
            | "SAVEPOINT" | "RELEASE" | "SHOW" | "DISCARD" | "DECLARE" | "FETCH" | "MOVE"
            | "CLOSE" | "USE" => WriteClass::Session,
            "FORCE" if self.is_word(start + 1, "CHECKPOINT") => {
                unsupported_statement("FORCE CHECKPOINT")
            }
            "FORCE" => unsupported_statement("FORCE INSTALL"),
            _ => unsupported_statement(&keyword),
        }
    }

    fn explain_class(&self, start: usize) -> WriteClass {
        let mut i = start + 1;
        let mut analyze = false;
        loop {
            if self.is_any_word(i, &["ANALYZE", "ANALYSE"]) {
                analyze = true;
                i += 1;
            } else if self.is_word(i, "VERBOSE") {
                i += 1;
            } else if self.is_kind(i, TokenKind::LeftParen) {
                let close = self.close[i];
                analyze |= (i + 1..close).any(|k| self.is_any_word(k, &["ANALYZE", "ANALYSE"]));
                i = close + 1;
            } else {
                break;
            }
        }
        if !analyze {
            return WriteClass::Read;
        }
        match self.class_at(i) {
            WriteClass::Read => WriteClass::Read,
            _ => WriteClass::Unsupported(Rejection::not_allowed(
                "EXPLAIN ANALYZE",
                "it would run the statement on one node only; run the statement itself",
            )),
        }
    }

    fn copy_class(&self, start: usize) -> WriteClass {
        let mut i = start + 1;
        if self.is_kind(i, TokenKind::LeftParen) {
            i = self.close[i] + 1;
        } else {
            while self.get(i).is_some_and(|t| {
                matches!(
                    t.kind,
                    TokenKind::Word | TokenKind::QuotedIdent | TokenKind::Dot
                ) && !t.is_word("FROM")
                    && !t.is_word("TO")
            }) {
                i += 1;
            }
            if self.is_kind(i, TokenKind::LeftParen) {
                i = self.close[i] + 1;
            }
        }
        match (self.upper(i).as_str(), self.upper(i + 1).as_str()) {
            ("FROM", "STDIN") => WriteClass::Write,
            ("TO", "STDOUT") => WriteClass::Read,
            ("FROM", "DATABASE") => unsupported_statement("COPY FROM DATABASE"),
            _ => unsupported_statement("COPY to or from a file"),
        }
    }

    /// The qualifier in front of the name at `k`: whether there is one, its
    /// identifier parts (empty for `'x'.f()`), and where it starts.
    fn qualifier(&self, k: usize) -> (bool, Vec<String>, usize) {
        if k == 0 || !self.is_kind(k - 1, TokenKind::Dot) {
            return (false, Vec::new(), k);
        }
        let mut parts = Vec::new();
        let mut start = k;
        while start >= 2 && self.is_kind(start - 1, TokenKind::Dot) {
            match self.tok(start - 2).identifier() {
                Some(part) => parts.push(part.to_ascii_lowercase()),
                None => break,
            }
            start -= 2;
        }
        parts.reverse();
        (true, parts, start)
    }

    /// `name (cols) AS (…)` in a `WITH` list.
    fn is_cte_name(&self, k: usize) -> bool {
        let close = self.close[k + 1];
        self.is_word(close + 1, "AS")
            && (self.is_kind(close + 2, TokenKind::LeftParen)
                || self.is_any_word(close + 2, &["NOT", "MATERIALIZED"]))
    }

    /// Directly inside `INSERT INTO t ( … )` or MERGE's `INSERT ( … )`.
    fn in_insert_column_list(&self, k: usize) -> bool {
        let Some(o) = self.open[k] else {
            return false;
        };
        if o == 0 || self.depth[k] != self.depth[o] + 1 {
            return false;
        }
        if self.is_word(o - 1, "INSERT") {
            return true;
        }
        let mut j = o;
        if !matches!(
            self.tok(j - 1).kind,
            TokenKind::Word | TokenKind::QuotedIdent
        ) {
            return false;
        }
        j -= 1;
        while j >= 2
            && self.is_kind(j - 1, TokenKind::Dot)
            && matches!(
                self.tok(j - 2).kind,
                TokenKind::Word | TokenKind::QuotedIdent
            )
        {
            j -= 2;
        }
        j >= 1 && self.is_word(j - 1, "INTO")
    }

    /// A role position in DDL: `ALTER USER x`, `ALTER ROLE x`,
    /// `AUTHORIZATION x`, `OWNER TO x`, `USER MAPPING FOR x`.
    fn is_role_position(&self, start: usize) -> bool {
        if start == 0 {
            return false;
        }
        let p = start - 1;
        self.is_any_word(p, &["USER", "ROLE", "AUTHORIZATION"])
            || (p > 0 && self.is_word(p, "TO") && self.is_word(p - 1, "OWNER"))
            || (p > 0 && self.is_word(p, "FOR") && self.is_word(p - 1, "MAPPING"))
    }

    /// Whether a per-row function at `k` may run more than once: the
    /// statement modifies existing rows, or the query level of `k`, or one
    /// enclosing it, reads tables or expands rows, or `k` follows
    /// `ON CONFLICT` or `RETURNING` at one of these levels.
    fn runs_per_row(&self, k: usize) -> bool {
        let mut level = self.open[k];
        loop {
            let (lo, hi, depth) = match level {
                Some(o) => (o + 1, self.close[o].min(self.len()), self.depth[o] + 1),
                None => (0, self.len(), 0),
            };
            for j in lo..hi {
                if self.depth[j] != depth || self.tok(j).kind != TokenKind::Word {
                    continue;
                }
                let multiplies = self.is_table_from(j)
                    || self.is_word(j, "JOIN")
                    || self.is_modifying_verb(j)
                    || (self.is_any_word(j, SET_RETURNING)
                        && self.is_kind(j + 1, TokenKind::LeftParen));
                let after_clause = j < k && self.is_any_word(j, &["CONFLICT", "RETURNING"]);
                if multiplies || after_clause {
                    return true;
                }
            }
            match level {
                Some(o) => level = self.open[o],
                None => return false,
            }
        }
    }
}

fn unsupported_statement(what: &str) -> WriteClass {
    let reason = match what {
        "ATTACH" | "DETACH" => "it opens or closes a database file or URL on each node",
        "INSTALL" | "LOAD" | "FORCE INSTALL" | "UPDATE EXTENSIONS" => {
            "extensions are installed and loaded by each node's operator, not by replicated statements"
        }
        "EXPORT" | "IMPORT" => "it writes or reads files on each node",
        "PRAGMA" => "pragmas change node-local settings or read node-local state; use the duckdb_* table functions in a SELECT",
        "CALL" => "it runs a table function whose effect cannot be checked",
        "CHECKPOINT" | "FORCE CHECKPOINT" | "VACUUM" | "ANALYZE" => {
            "storage maintenance is node-local and is not replicated"
        }
        "SET GLOBAL" | "RESET GLOBAL" => "node-wide settings are not replicated",
        "COPY to or from a file" | "COPY FROM DATABASE" => {
            "it reads or writes files, programs or databases on each node; use COPY ... FROM STDIN or TO STDOUT"
        }
        "CREATE SECRET" | "DROP SECRET" => "secrets hold credentials outside the replicated catalog",
        "CREATE SEQUENCE" => SEQUENCES,
        _ => {
            return WriteClass::Unsupported(Rejection::new(
                FEATURE_NOT_SUPPORTED,
                format!("{what} is not supported by duckraft"),
            ))
        }
    };
    WriteClass::Unsupported(Rejection::not_allowed(what, reason))
}

// ---------------------------------------------------------------------------
// DDL: which parts are stored expressions.

#[derive(Debug, Clone, Copy)]
struct Region {
    depth: u32,
    /// A definition body, which runs to the end of the statement; otherwise
    /// the region ends at a `,` at its depth or the `)` around it.
    to_end: bool,
    label: &'static str,
}

struct DdlShape {
    /// `AS` before a view, macro or type body: not an alias.
    body_as: Option<usize>,
    /// A region that starts at this position and runs to the end.
    body: Option<(usize, &'static str)>,
    create_table: bool,
}

impl DdlShape {
    fn of(stmt: &Stmt) -> Self {
        let mut shape = DdlShape {
            body_as: None,
            body: None,
            create_table: false,
        };
        if !stmt.is_word(0, "CREATE") {
            return shape;
        }
        let mut i = 1;
        while stmt.is_any_word(i, CREATE_MODIFIERS) {
            i += 1;
        }
        let body_as = stmt.find_at_depth(i, "AS");
        match stmt.upper(i).as_str() {
            "VIEW" => {
                shape.body_as = body_as;
                shape.body = body_as.map(|k| (k, "a view definition"));
            }
            "MACRO" | "FUNCTION" => {
                shape.body_as = body_as;
                shape.body = Some((i, "a macro definition"));
            }
            "TYPE" => {
                shape.body_as = body_as;
                shape.body = body_as.map(|k| (k, "a type definition"));
            }
            "INDEX" => {
                shape.body = stmt
                    .find_at_depth(i, "ON")
                    .map(|k| (k, "an index definition"))
            }
            "TABLE" => shape.create_table = true,
            _ => {}
        }
        shape
    }

    /// A stored-expression region that starts at `k`, if one does.
    fn region_at(&self, stmt: &Stmt, k: usize) -> Option<Region> {
        if let Some((start, label)) = self.body {
            if start == k {
                return Some(Region {
                    depth: stmt.depth[k],
                    to_end: true,
                    label,
                });
            }
        }
        let label = match stmt.upper(k).as_str() {
            "DEFAULT" => "a column default",
            "CHECK" => "a CHECK constraint",
            "GENERATED" => "a generated column",
            "AS" if self.create_table && stmt.depth[k] > 0 => "a generated column",
            "USING" => "an ALTER ... USING expression",
            _ => return None,
        };
        Some(Region {
            depth: stmt.depth[k],
            to_end: false,
            label,
        })
    }
}

// ---------------------------------------------------------------------------
// The pass.

/// Replace tokens `first..=last` (indices into `Stmt::tokens`) by `text`.
struct Edit {
    first: usize,
    last: usize,
    text: String,
}

struct Pinner<'s, 'a> {
    stmt: &'s Stmt<'a>,
    /// `Some` for a DDL statement.
    ddl: Option<DdlShape>,
    edits: Vec<Edit>,
}

/// Per-position context of the forward pass.
struct Scope {
    /// Whether a `FROM` list is open, per depth.
    from_list: Vec<bool>,
    /// Depth of an open `UPDATE … SET` list.
    set_list: Option<u32>,
    /// The DDL stored-expression region around the current token.
    region: Option<Region>,
}

impl Pinner<'_, '_> {
    fn run(mut self, ctx: &mut PinContext) -> Result<Vec<Edit>, Rejection> {
        let s = self.stmt;
        let max_depth = s.depth.iter().copied().max().unwrap_or(0) as usize;
        let mut scope = Scope {
            from_list: vec![false; max_depth + 2],
            set_list: None,
            region: None,
        };
        let mut k = 0;
        while k < s.len() {
            self.track(k, &mut scope);
            let t = s.tok(k);
            match t.kind {
                TokenKind::String if self.is_table_position(k, &scope) => {
                    return Err(Rejection::not_allowed(
                        format!("a string literal used as a table ({})", t.text),
                        "DuckDB reads it as a file or URL on each node, which may differ or be missing; send the data with COPY ... FROM STDIN or INSERT ... VALUES",
                    ));
                }
                TokenKind::QuotedIdent => self.check_quoted(k, &scope)?,
                TokenKind::Word => {
                    if t.is_word("TABLESAMPLE")
                        || (t.is_word("USING") && s.is_word(k + 1, "SAMPLE"))
                    {
                        let what = if t.is_word("USING") {
                            "USING SAMPLE"
                        } else {
                            "TABLESAMPLE"
                        };
                        return Err(Rejection::not_allowed(what, SAMPLING));
                    }
                    if let Some(end) = self.construct(k, &scope, ctx)? {
                        k = end + 1;
                        continue;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        Ok(self.edits)
    }

    /// Updates the FROM-list, SET-list and DDL-region state for token `k`.
    fn track(&self, k: usize, scope: &mut Scope) {
        let s = self.stmt;
        let t = s.tok(k);
        let d = s.depth[k];
        match t.kind {
            TokenKind::LeftParen => scope.from_list[d as usize + 1] = false,
            TokenKind::RightParen => {
                for open in scope.from_list.iter_mut().skip(d as usize + 1) {
                    *open = false;
                }
                if scope.region.is_some_and(|r| !r.to_end && d < r.depth) {
                    scope.region = None;
                }
                if scope.set_list.is_some_and(|depth| d < depth) {
                    scope.set_list = None;
                }
            }
            TokenKind::Comma if scope.region.is_some_and(|r| !r.to_end && r.depth == d) => {
                scope.region = None;
            }
            TokenKind::Word => {
                let opens_from_list = s.is_table_from(k)
                    || t.is_word("JOIN")
                    || (t.is_word("USING")
                        && !s.is_kind(k + 1, TokenKind::LeftParen)
                        && !s.is_word(k + 1, "SAMPLE"));
                if opens_from_list {
                    scope.from_list[d as usize] = true;
                } else if FROM_LIST_ENDS.iter().any(|w| t.is_word(w)) {
                    scope.from_list[d as usize] = false;
                }
                if t.is_word("SET") {
                    scope.set_list = Some(d);
                } else if scope.set_list == Some(d)
                    && (t.is_word("WHERE") || t.is_word("RETURNING") || s.is_table_from(k))
                {
                    scope.set_list = None;
                }
                if let Some(ddl) = &self.ddl {
                    let body_starts = ddl.body.is_some_and(|(start, _)| start == k);
                    if scope.region.is_none() || body_starts {
                        if let Some(region) = ddl.region_at(s, k) {
                            scope.region = Some(region);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// After `FROM`, `JOIN`, `USING`, or a comma in a `FROM` list.
    fn is_table_position(&self, k: usize, scope: &Scope) -> bool {
        let s = self.stmt;
        if k == 0 {
            return false;
        }
        let p = k - 1;
        s.is_table_from(p)
            || s.is_any_word(p, &["JOIN", "USING"])
            || (s.is_kind(p, TokenKind::Comma) && scope.from_list[s.depth[k] as usize])
    }

    fn check_quoted(&self, k: usize, scope: &Scope) -> Result<(), Rejection> {
        let s = self.stmt;
        let t = s.tok(k);
        let name = t.identifier().unwrap_or_default();
        if self.is_table_position(k, scope) && names_a_file(&name) {
            return Err(Rejection::not_allowed(
                format!(
                    "a quoted identifier naming a file used as a table ({})",
                    t.text
                ),
                "DuckDB reads the file through a replacement scan on each node",
            ));
        }
        let call = s.is_kind(k + 1, TokenKind::LeftParen);
        let defined = k > 0 && s.is_any_word(k - 1, CALL_NAME_AFTER);
        if call && !defined && !s.is_cte_name(k) && lookup(&name).is_some() {
            return Err(Rejection::not_allowed(
                format!("{}()", t.text),
                "a quoted function name escapes the determinism check; write the name unquoted",
            ));
        }
        Ok(())
    }

    /// Handles a word that may be a construct. Returns the last position of
    /// an edit, `None` when the word is left alone.
    fn construct(
        &mut self,
        k: usize,
        scope: &Scope,
        ctx: &mut PinContext,
    ) -> Result<Option<usize>, Rejection> {
        let s = self.stmt;
        let name = s.tok(k).text.to_ascii_lowercase();
        let Some(construct) = lookup(&name) else {
            return Ok(None);
        };
        if s.is_kind(k + 1, TokenKind::Dot) {
            return Ok(None);
        }
        let call = s.is_kind(k + 1, TokenKind::LeftParen);
        if construct.shape == Shape::Call && !call {
            return Ok(None);
        }
        let (qualified, parts, start) = s.qualifier(k);
        if qualified {
            let builtin = match parts.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                ["pg_catalog"]
                | ["system", "main" | "pg_catalog"]
                | ["duckraft_pg", "main" | "pg_catalog"] => true,
                ["main"] => call,
                _ => false,
            };
            let keep = match construct.action {
                Action::Reject(_) => !call,
                Action::Pin(_) => !builtin,
            };
            if keep {
                return Ok(None);
            }
        }
        if call {
            if start > 0
                && (s.is_any_word(start - 1, CALL_NAME_AFTER) || s.is_operator(start - 1, "::"))
            {
                // A name being defined, or a type (`x::uuid(…)`).
                return Ok(None);
            }
            if s.is_cte_name(k) {
                return Ok(None);
            }
            if name == "glob" && !self.is_table_position(start, scope) {
                // `x GLOB ('*.csv')` is the operator.
                return Ok(None);
            }
        } else if self.is_keyword_name(start, k, scope) {
            return Ok(None);
        }
        let end = if call { s.close[k + 1] } else { k };
        if end >= s.len() {
            return Err(Rejection::new(
                SYNTAX_ERROR,
                format!("unbalanced parentheses after {name}"),
            ));
        }
        let display = if call {
            format!("{name}()")
        } else {
            name.to_ascii_uppercase()
        };
        let pinned = match construct.action {
            Action::Reject(reason) => return Err(Rejection::not_allowed(display, reason)),
            Action::Pin(pinned) => pinned,
        };
        if call && self.is_table_position(start, scope) {
            // `FROM now()`: not a value, and a literal there would read a file.
            return Err(Rejection::not_allowed(
                format!("{display} used as a table"),
                "only its value can be pinned",
            ));
        }
        let precision = self.precision(k, end, construct.shape, pinned, &display)?;
        if self.ddl.is_some() {
            if !call && scope.region.is_none() {
                if pinned == Pinned::User && s.is_role_position(start) {
                    self.edit(start, end, quote_identifier(ctx.user));
                    return Ok(Some(end));
                }
                return Ok(None);
            }
            let label = scope
                .region
                .map_or("a replicated DDL statement", |r| r.label);
            return Err(Rejection::new(
                FEATURE_NOT_SUPPORTED,
                format!(
                    "{display} is not allowed in {label} because DDL expressions are not pinned: a stored expression is evaluated again, separately on every node, by each later statement that uses it; compute the value in the write itself, where it is pinned"
                ),
            ));
        }
        if pinned.per_row() && s.runs_per_row(k) {
            return Err(Rejection::not_allowed(
                display,
                "it is evaluated once per row here, and a pinned value would repeat on every row; it can be pinned only in INSERT ... VALUES or in a SELECT without FROM, so generate these values in the client",
            ));
        }
        let text = render(pinned, precision, ctx)?;
        self.edit(start, end, text);
        Ok(Some(end))
    }

    /// A bare keyword that is used as a name here.
    fn is_keyword_name(&self, start: usize, k: usize, scope: &Scope) -> bool {
        let s = self.stmt;
        if s.in_insert_column_list(k) {
            return true;
        }
        if start == 0 {
            return false;
        }
        let p = start - 1;
        let body_as = self.ddl.as_ref().and_then(|d| d.body_as);
        (s.is_word(p, "AS") && body_as != Some(p))
            || s.is_any_word(p, KEYWORD_NAME_AFTER)
            || s.is_operator(p, "::")
            || self.is_table_position(start, scope)
            || (scope.set_list == Some(s.depth[k])
                && (s.is_word(p, "SET") || s.is_kind(p, TokenKind::Comma))
                && s.is_operator(k + 1, "="))
    }

    /// The precision of `current_timestamp(p)` and friends; rejects any
    /// other argument.
    fn precision(
        &self,
        k: usize,
        end: usize,
        shape: Shape,
        pinned: Pinned,
        display: &str,
    ) -> Result<Option<u32>, Rejection> {
        let s = self.stmt;
        if end == k || end == k + 2 {
            return Ok(None);
        }
        let clock_keyword = shape == Shape::Keyword && matches!(pinned, Pinned::Clock(_));
        if clock_keyword && end == k + 3 && s.is_kind(k + 2, TokenKind::Number) {
            if let Ok(p) = s.tok(k + 2).text.parse::<u32>() {
                return Ok(Some(p.min(6)));
            }
        }
        Err(Rejection::not_allowed(
            display,
            "only its argument-free form (or a constant precision) can be pinned",
        ))
    }

    fn edit(&mut self, start: usize, end: usize, text: String) {
        self.edits.push(Edit {
            first: self.stmt.sig[start],
            last: self.stmt.sig[end],
            text,
        });
    }
}

// ---------------------------------------------------------------------------
// Literals.

fn render(
    pinned: Pinned,
    precision: Option<u32>,
    ctx: &mut PinContext,
) -> Result<String, Rejection> {
    Ok(match pinned {
        Pinned::Clock(clock) => {
            let micros = round_to_precision(ctx.now_micros, precision);
            let instant = timestamptz_literal(micros)?;
            // Sessions run in UTC, so the local values are the instant's UTC
            // fields; as literals they replay without time zone support.
            let local = format_timestamp(micros);
            let (date, time) = local.split_once(' ').expect("date and time");
            match clock {
                Clock::TimestampTz => instant,
                Clock::Date => format!("DATE '{date}'"),
                Clock::TimeTz => format!("TIMETZ '{time}+00'"),
                Clock::Time => format!("TIME '{time}'"),
                Clock::Timestamp => format!("TIMESTAMP '{local}'"),
            }
        }
        Pinned::Random => format!("'{}'::DOUBLE", unit_double((ctx.random)())),
        Pinned::UuidV4 => {
            let mut bytes = random_bytes(ctx);
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            format!("'{}'::UUID", format_uuid(&bytes))
        }
        Pinned::UuidV7 => {
            let millis = ctx.now_micros.div_euclid(1000);
            if !(0..1 << 48).contains(&millis) {
                return Err(out_of_range(ctx.now_micros));
            }
            let mut bytes = random_bytes(ctx);
            bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
            bytes[6] = (bytes[6] & 0x0f) | 0x70;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            format!("'{}'::UUID", format_uuid(&bytes))
        }
        Pinned::User => quote_literal(ctx.user),
        Pinned::Database => quote_literal(ctx.database),
    })
}

/// A double in [0, 1) from the top 53 bits of `bits`, printed with the
/// shortest digits that read back as the same double.
fn unit_double(bits: u64) -> String {
    let value = (bits >> 11) as f64 / (1u64 << 53) as f64;
    format!("{value}")
}

fn random_bytes(ctx: &mut PinContext) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(ctx.random)().to_be_bytes());
    bytes[8..].copy_from_slice(&(ctx.random)().to_be_bytes());
    bytes
}

/// Rounds half up to `precision` fractional digits, as
/// `current_timestamp(p)` does.
fn round_to_precision(micros: i64, precision: Option<u32>) -> i64 {
    match precision {
        Some(p) if p < 6 => {
            let unit = 10i64.pow(6 - p);
            micros.saturating_add(unit / 2).div_euclid(unit) * unit
        }
        _ => micros,
    }
}

fn out_of_range(micros: i64) -> Rejection {
    Rejection::new(
        DATETIME_FIELD_OVERFLOW,
        format!("statement timestamp {micros} is outside the years 1 to 9999"),
    )
}

fn timestamptz_literal(micros: i64) -> Result<String, Rejection> {
    let (year, _, _) = civil_from_days(micros.div_euclid(86_400_000_000));
    if !(1..=9999).contains(&year) {
        return Err(out_of_range(micros));
    }
    Ok(format!("TIMESTAMPTZ '{}+00'", format_timestamp(micros)))
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn quote_identifier(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Characters that would fuse with a neighbour into one token.
fn sticky(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '\'' | '"') || !c.is_ascii()
}

fn apply_edits(tokens: &[Token], edits: &[Edit]) -> String {
    let mut out = String::new();
    let mut next = 0;
    for edit in edits {
        for token in &tokens[next..edit.first] {
            out.push_str(token.text);
        }
        let first = edit.text.chars().next().unwrap_or(' ');
        if out
            .chars()
            .last()
            .is_some_and(|last| (sticky(last) && sticky(first)) || (last == '&' && first == '\''))
        {
            out.push(' ');
        }
        out.push_str(&edit.text);
        for token in &tokens[edit.first..=edit.last] {
            if token.kind == TokenKind::Comment {
                out.push_str(token.text);
            }
        }
        next = edit.last + 1;
        let following = tokens.get(next).and_then(|t| t.text.chars().next());
        if out
            .chars()
            .last()
            .zip(following)
            .is_some_and(|(last, following)| sticky(last) && sticky(following))
        {
            out.push(' ');
        }
    }
    for token in &tokens[next..] {
        out.push_str(token.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25 22:13:05.123456 UTC.
    const NOW: i64 = 1_795_644_785_123_456;

    fn counter(start: u64) -> impl FnMut() -> u64 {
        let mut state = start;
        move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    fn pin_with(sql: &str, seed: u64) -> Result<String, Rejection> {
        let mut random = counter(seed);
        let mut ctx = PinContext {
            now_micros: NOW,
            user: "alice",
            database: "lake",
            random: &mut random,
        };
        pin_nondeterminism(sql, &mut ctx)
    }

    fn pin(sql: &str) -> String {
        pin_with(sql, 1).unwrap_or_else(|r| panic!("{sql}: rejected: {}", r.message))
    }

    #[test]
    fn the_bookkeeping_schema_is_read_only() {
        for sql in [
            "SELECT idx FROM __duckraft.applied",
            "SELECT '__duckraft' AS s",
            "CREATE TABLE t AS SELECT 1 AS \"__duckraft_x\"",
        ] {
            assert!(
                !matches!(classify_write(sql), WriteClass::Unsupported(_)),
                "{sql}"
            );
        }
        for sql in [
            "UPDATE __duckraft.applied SET idx = 0",
            "INSERT INTO \"__duckraft\".clients SELECT 1, 1, ''",
            "DROP SCHEMA __DUCKRAFT CASCADE",
            "CREATE TABLE __duckraft.x (a INTEGER)",
            "DELETE FROM t WHERE a IN (SELECT idx FROM __duckraft.applied)",
        ] {
            match classify_write(sql) {
                WriteClass::Unsupported(r) => assert_eq!(r.sqlstate, "42501", "{sql}"),
                other => panic!("{sql}: {other:?}"),
            }
            assert_eq!(pin_with(sql, 1).unwrap_err().sqlstate, "42501", "{sql}");
        }
    }

    fn rejection(sql: &str) -> Rejection {
        match pin_with(sql, 1) {
            Ok(out) => panic!("{sql}: expected a rejection, got {out}"),
            Err(r) => r,
        }
    }

    fn assert_rejected(sql: &str, construct: &str) {
        let r = rejection(sql);
        assert_eq!(r.sqlstate, FEATURE_NOT_SUPPORTED, "{sql}: {}", r.message);
        assert!(
            r.message.contains(construct) && r.message.contains("is not allowed in"),
            "{sql}: message {:?} should name {construct}",
            r.message
        );
    }

    const TS: &str = "TIMESTAMPTZ '2026-11-25 22:13:05.123456+00'";

    #[test]
    fn now_constant_is_the_documented_instant() {
        assert_eq!(
            format_timestamp(NOW),
            "2026-11-25 22:13:05.123456",
            "the test clock"
        );
    }

    #[test]
    fn timestamps_become_timestamptz_literals() {
        for call in [
            "now()",
            "NOW ( )",
            "current_timestamp",
            "CURRENT_TIMESTAMP()",
            "transaction_timestamp()",
            "statement_timestamp()",
            "get_current_timestamp()",
            "pg_catalog.now()",
            "duckraft_pg.main.statement_timestamp()",
        ] {
            assert_eq!(
                pin(&format!("INSERT INTO t VALUES ({call})")),
                format!("INSERT INTO t VALUES ({TS})"),
                "{call}"
            );
        }
    }

    #[test]
    fn timestamp_precision_rounds_half_up() {
        assert_eq!(
            pin("INSERT INTO t VALUES (current_timestamp(0), current_timestamp(3), localtimestamp(9))"),
            "INSERT INTO t VALUES (TIMESTAMPTZ '2026-11-25 22:13:05+00', \
             TIMESTAMPTZ '2026-11-25 22:13:05.123+00', \
             TIMESTAMP '2026-11-25 22:13:05.123456')"
        );
        assert_eq!(round_to_precision(1_999_500, Some(3)), 2_000_000);
        assert_eq!(round_to_precision(1_500_000, Some(0)), 2_000_000);
        assert_eq!(round_to_precision(1_499_999, Some(0)), 1_000_000);
        assert_rejected(
            "INSERT INTO t VALUES (current_timestamp(x))",
            "current_timestamp()",
        );
        assert_rejected("INSERT INTO t VALUES (now(1))", "now()");
    }

    #[test]
    fn dates_and_times_are_utc_literals_of_the_instant() {
        assert_eq!(
            pin("UPDATE t SET d = current_date, e = today(), f = current_time, g = get_current_time(), \
                 h = localtime, i = current_localtime(), j = localtimestamp, k = current_localtimestamp()"),
            "UPDATE t SET d = DATE '2026-11-25', e = DATE '2026-11-25', \
             f = TIMETZ '22:13:05.123456+00', g = TIMETZ '22:13:05.123456+00', \
             h = TIME '22:13:05.123456', i = TIME '22:13:05.123456', \
             j = TIMESTAMP '2026-11-25 22:13:05.123456', k = TIMESTAMP '2026-11-25 22:13:05.123456'"
        );
    }

    #[test]
    fn timestamp_out_of_range_is_rejected() {
        let mut random = counter(1);
        let mut ctx = PinContext {
            now_micros: i64::MAX / 2,
            user: "u",
            database: "d",
            random: &mut random,
        };
        let r = pin_nondeterminism("INSERT INTO t VALUES (now())", &mut ctx).unwrap_err();
        assert_eq!(r.sqlstate, DATETIME_FIELD_OVERFLOW);
    }

    #[test]
    fn random_becomes_a_double_in_unit_interval() {
        let out = pin("INSERT INTO t VALUES (random(), RANDOM())");
        let values: Vec<f64> = out
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(values.len(), 2, "{out}");
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)), "{out}");
        assert_ne!(values[0], values[1], "each occurrence draws its own value");
        assert!(out.matches("'::DOUBLE").count() == 2, "{out}");
        assert_eq!(unit_double(0), "0");
        assert_eq!(
            unit_double(u64::MAX),
            format!("{}", 1.0 - f64::EPSILON / 2.0)
        );
        assert_eq!(unit_double(1 << 63), "0.5");
        // The printed digits read back as the exact double.
        let max: f64 = unit_double(u64::MAX).parse().unwrap();
        assert_eq!(max, ((u64::MAX >> 11) as f64) / (1u64 << 53) as f64);
    }

    #[test]
    fn uuids_are_version_4_literals() {
        let out = pin("INSERT INTO t VALUES (gen_random_uuid(), uuid(), uuidv4())");
        let uuids: Vec<&str> = out.split('\'').skip(1).step_by(2).collect();
        assert_eq!(uuids.len(), 3, "{out}");
        for uuid in &uuids {
            let bytes = crate::types::parse_uuid(uuid).unwrap();
            assert_eq!(bytes[6] >> 4, 4, "{uuid}");
            assert_eq!(bytes[8] >> 6, 0b10, "{uuid}");
        }
        assert_ne!(uuids[0], uuids[1]);
        assert_ne!(uuids[1], uuids[2]);
        assert_eq!(out.matches("'::UUID").count(), 3);
    }

    #[test]
    fn uuidv7_carries_the_statement_millisecond() {
        let out = pin("INSERT INTO t VALUES (uuidv7())");
        let uuid = out.split('\'').nth(1).unwrap();
        let bytes = crate::types::parse_uuid(uuid).unwrap();
        let mut millis = [0u8; 8];
        millis[2..].copy_from_slice(&bytes[..6]);
        assert_eq!(i64::from_be_bytes(millis), NOW / 1000);
        assert_eq!(bytes[6] >> 4, 7);
        assert_eq!(bytes[8] >> 6, 0b10);
    }

    #[test]
    fn every_random_bit_comes_from_the_source() {
        let draws = [1u64 << 63, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210];
        let mut next = draws.iter().copied().cycle();
        let mut random = move || next.next().unwrap();
        let mut ctx = PinContext {
            now_micros: NOW,
            user: "u",
            database: "d",
            random: &mut random,
        };
        assert_eq!(
            pin_nondeterminism("INSERT INTO t VALUES (random(), uuid())", &mut ctx).unwrap(),
            "INSERT INTO t VALUES ('0.5'::DOUBLE, '01234567-89ab-4def-bedc-ba9876543210'::UUID)"
        );
        // Next draws: 1 << 63 is skipped by the call below, then the pair again.
        assert_eq!((ctx.random)(), 1 << 63);
        assert_eq!(
            pin_nondeterminism("INSERT INTO t VALUES (uuidv7())", &mut ctx).unwrap(),
            "INSERT INTO t VALUES ('01a214c5-01e3-7def-bedc-ba9876543210'::UUID)"
        );
    }

    #[test]
    fn different_random_sources_give_different_uuids() {
        let sql = "INSERT INTO t VALUES (gen_random_uuid())";
        let a = pin_with(sql, 1).unwrap();
        let b = pin_with(sql, 2).unwrap();
        assert_ne!(a, b);
        assert_eq!(a, pin_with(sql, 1).unwrap(), "same source, same value");
    }

    #[test]
    fn session_values_become_string_literals() {
        assert_eq!(
            pin("INSERT INTO audit VALUES (current_user, session_user, user, current_role, current_user())"),
            "INSERT INTO audit VALUES ('alice', 'alice', 'alice', 'alice', 'alice')"
        );
        assert_eq!(
            pin("INSERT INTO t VALUES (current_database(), current_catalog, duckraft_pg.main.current_user)"),
            "INSERT INTO t VALUES ('lake', 'lake', 'alice')"
        );
        let mut random = counter(1);
        let mut ctx = PinContext {
            now_micros: NOW,
            user: "o'brien",
            database: "d",
            random: &mut random,
        };
        assert_eq!(
            pin_nondeterminism("DELETE FROM t WHERE owner = user", &mut ctx).unwrap(),
            "DELETE FROM t WHERE owner = 'o''brien'"
        );
    }

    #[test]
    fn user_as_a_name_is_left_alone() {
        for sql in [
            "INSERT INTO t (\"user\") VALUES ('x')",
            "UPDATE t SET \"user\" = 'x'",
            "INSERT INTO t SELECT a.user FROM a",
            "INSERT INTO t SELECT u.\"current_user\" FROM u",
            "INSERT INTO t SELECT 1 AS user",
            "INSERT INTO user VALUES (1)",
            "INSERT INTO t (id, user) VALUES (1, 2)",
            "UPDATE t SET user = 'x' WHERE id = 1",
            "INSERT INTO t SELECT x::user FROM s",
            "DELETE FROM user WHERE id = 1",
            "INSERT INTO t SELECT * FROM a JOIN user ON a.id = user.id",
        ] {
            assert_eq!(pin(sql), sql);
        }
        assert_eq!(
            pin("UPDATE t SET user = user WHERE id = 1"),
            "UPDATE t SET user = 'alice' WHERE id = 1"
        );
    }

    #[test]
    fn user_in_ddl_is_a_name_or_a_role() {
        for sql in [
            "CREATE USER bob",
            "DROP USER bob",
            "CREATE TABLE t (user VARCHAR, current_date DATE)",
            "ALTER TABLE t RENAME COLUMN user TO who",
        ] {
            assert_eq!(pin(sql), sql);
        }
        assert_eq!(
            pin("ALTER USER current_user WITH PASSWORD 'x'"),
            "ALTER USER \"alice\" WITH PASSWORD 'x'"
        );
        assert_eq!(
            pin("ALTER TABLE t OWNER TO session_user"),
            "ALTER TABLE t OWNER TO \"alice\""
        );
    }

    #[test]
    fn deterministic_functions_are_kept() {
        for sql in [
            "INSERT INTO t VALUES (uuid_extract_timestamp('01890a5d-ac96-774b-bcce-b302099a8057'::UUID))",
            "INSERT INTO t SELECT now, random, uuid FROM s",
            "INSERT INTO t SELECT * FROM s WHERE name GLOB ('*.csv')",
            "INSERT INTO t SELECT * FROM range(10)",
            "UPDATE t SET ts = x.now WHERE id = 1",
        ] {
            assert_eq!(pin(sql), sql);
        }
    }

    #[test]
    fn user_macros_and_columns_with_builtin_names_are_kept() {
        for sql in [
            "INSERT INTO t VALUES (myschema.now())",
            "INSERT INTO t SELECT s.current_date FROM s",
            "INSERT INTO now (a) VALUES (1)",
            "INSERT INTO t WITH uuid(a) AS (SELECT 1) SELECT a FROM uuid",
        ] {
            assert_eq!(pin(sql), sql);
        }
    }

    #[test]
    fn wall_clock_and_seed_functions_are_rejected() {
        assert_rejected(
            "INSERT INTO t VALUES (clock_timestamp())",
            "clock_timestamp()",
        );
        assert_rejected(
            "INSERT INTO t VALUES (duckraft_pg.main.clock_timestamp())",
            "clock_timestamp()",
        );
        assert_rejected("INSERT INTO t VALUES (timeofday())", "timeofday()");
        assert_rejected("INSERT INTO t SELECT setseed(0.5)", "setseed()");
        assert_rejected("INSERT INTO t SELECT (0.5).setseed()", "setseed()");
    }

    /// A failed or retried apply advances a DuckDB sequence without
    /// rolling it back, so sequences cannot be replicated.
    #[test]
    fn sequences_are_rejected() {
        assert_rejected(
            "INSERT INTO t VALUES (nextval('s'), currval('s'))",
            "nextval()",
        );
        assert_rejected("UPDATE t SET id = currval('s')", "currval()");
        assert_rejected("INSERT INTO t SELECT setval('s', 1)", "setval()");
        assert_rejected("CREATE TEMP SEQUENCE s", "CREATE SEQUENCE");
        assert_rejected("CREATE TABLE t (id INT DEFAULT nextval('s'))", "nextval()");
    }

    #[test]
    fn file_readers_are_rejected() {
        for (sql, name) in [
            (
                "INSERT INTO t SELECT * FROM read_csv('a.csv')",
                "read_csv()",
            ),
            (
                "INSERT INTO t SELECT * FROM READ_CSV_AUTO('a.csv')",
                "read_csv_auto()",
            ),
            (
                "INSERT INTO t SELECT * FROM read_parquet(['a', 'b'])",
                "read_parquet()",
            ),
            (
                "INSERT INTO t SELECT * FROM parquet_scan('a')",
                "parquet_scan()",
            ),
            (
                "INSERT INTO t SELECT * FROM read_json_auto('a')",
                "read_json_auto()",
            ),
            (
                "INSERT INTO t SELECT * FROM read_ndjson('a')",
                "read_ndjson()",
            ),
            (
                "INSERT INTO t SELECT content FROM read_text('a')",
                "read_text()",
            ),
            (
                "INSERT INTO t SELECT content FROM read_blob('a')",
                "read_blob()",
            ),
            ("INSERT INTO t SELECT file FROM glob('*.csv')", "glob()"),
            (
                "CREATE TABLE t AS SELECT * FROM read_csv('https://x/y.csv')",
                "read_csv()",
            ),
            (
                "INSERT INTO t SELECT * FROM postgres_query('db', 'SELECT 1')",
                "postgres_query()",
            ),
            (
                "INSERT INTO t SELECT * FROM query('SELECT random()')",
                "query()",
            ),
            (
                "CREATE VIEW v AS SELECT * FROM read_parquet('x')",
                "read_parquet()",
            ),
        ] {
            assert_rejected(sql, name);
        }
    }

    #[test]
    fn string_and_file_names_as_tables_are_rejected() {
        for sql in [
            "INSERT INTO t SELECT * FROM 'data.csv'",
            "INSERT INTO t SELECT * FROM s JOIN 'data.parquet' p ON s.id = p.id",
            "INSERT INTO t SELECT * FROM s, 'data.parquet'",
            "DELETE FROM t USING 'data.csv' AS d WHERE t.id = d.id",
            "UPDATE t SET a = d.a FROM 'd.json' d WHERE t.id = d.id",
        ] {
            assert_rejected(sql, "a string literal used as a table");
        }
        assert_rejected(
            "INSERT INTO t SELECT * FROM \"data.csv.gz\"",
            "a quoted identifier naming a file",
        );
        assert_rejected(
            "INSERT INTO t SELECT * FROM s, \"s3://bucket/x\"",
            "a quoted identifier naming a file",
        );
        for sql in [
            "INSERT INTO t SELECT 'data.csv' FROM s",
            "INSERT INTO t SELECT a FROM s WHERE b IS DISTINCT FROM 'x'",
            "INSERT INTO t SELECT extract('year' FROM ts), trim(BOTH 'x' FROM s) FROM s",
            "INSERT INTO t SELECT substring(a FROM 'o.b') FROM s",
            "INSERT INTO t SELECT a, 'b' FROM s WHERE c IN ('d', 'e') ORDER BY a, 'f'",
            "INSERT INTO t SELECT * FROM \"my table\", \"data\"",
            "INSERT INTO t SELECT * FROM s ON CONFLICT DO UPDATE SET a = 'x', b = 'y'",
        ] {
            assert_eq!(pin(sql), sql);
        }
    }

    #[test]
    fn node_local_and_session_functions_are_rejected() {
        for (sql, name) in [
            ("INSERT INTO t VALUES (txid_current())", "txid_current()"),
            (
                "INSERT INTO t VALUES (pg_current_xact_id())",
                "pg_current_xact_id()",
            ),
            (
                "INSERT INTO t VALUES (pg_backend_pid())",
                "pg_backend_pid()",
            ),
            (
                "INSERT INTO t VALUES (duckraft_pg.main.pg_backend_pid())",
                "pg_backend_pid()",
            ),
            (
                "INSERT INTO t VALUES (current_setting('TimeZone'))",
                "current_setting()",
            ),
            ("INSERT INTO t VALUES (getvariable('x'))", "getvariable()"),
            ("INSERT INTO t VALUES (current_schema)", "CURRENT_SCHEMA"),
            (
                "INSERT INTO t VALUES (current_schema())",
                "current_schema()",
            ),
            ("INSERT INTO t VALUES (version())", "version()"),
            (
                "INSERT INTO t SELECT * FROM duckdb_settings()",
                "duckdb_settings()",
            ),
            ("INSERT INTO t SELECT pg_sleep(1)", "pg_sleep()"),
            ("INSERT INTO t VALUES (\"now\"())", "\"now\"()"),
        ] {
            assert_rejected(sql, name);
        }
    }

    #[test]
    fn pinnable_calls_used_as_tables_are_rejected() {
        assert_rejected("INSERT INTO t SELECT * FROM now()", "now() used as a table");
        assert_rejected(
            "INSERT INTO t SELECT * FROM s JOIN random() r ON true",
            "random() used as a table",
        );
    }

    #[test]
    fn sampling_is_rejected() {
        assert_rejected(
            "INSERT INTO t SELECT * FROM s USING SAMPLE 10%",
            "USING SAMPLE",
        );
        assert_rejected(
            "INSERT INTO t SELECT * FROM s TABLESAMPLE reservoir(5 ROWS)",
            "TABLESAMPLE",
        );
    }

    #[test]
    fn per_row_values_are_pinned_only_where_they_run_once() {
        for sql in [
            "INSERT INTO t VALUES (random()), (random())",
            "INSERT INTO t SELECT gen_random_uuid()",
            "INSERT INTO t SELECT uuid() UNION ALL SELECT uuid()",
            "CREATE TABLE t AS SELECT random() AS r",
            "INSERT INTO t VALUES ((SELECT max(a) FROM s) + random())",
        ] {
            assert!(pin(sql).contains("::"), "{sql}");
        }
        for (sql, name) in [
            (
                "INSERT INTO t SELECT gen_random_uuid(), a FROM s",
                "gen_random_uuid()",
            ),
            ("UPDATE t SET r = random()", "random()"),
            ("DELETE FROM t WHERE random() < 0.5", "random()"),
            (
                "DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT 1)",
                "random()",
            ),
            (
                "INSERT INTO t SELECT a, (SELECT random()) FROM s",
                "random()",
            ),
            ("INSERT INTO t SELECT unnest([1, 2]), uuid()", "uuid()"),
            ("INSERT INTO t VALUES (1) RETURNING random()", "random()"),
            (
                "INSERT INTO t VALUES (1) ON CONFLICT DO UPDATE SET r = random()",
                "random()",
            ),
            (
                "CREATE TABLE t AS SELECT random() AS r FROM range(3)",
                "random()",
            ),
            (
                "WITH s AS (SELECT 1) INSERT INTO t SELECT uuidv7() FROM s",
                "uuidv7()",
            ),
        ] {
            let r = rejection(sql);
            assert!(
                r.message.contains(name) && r.message.contains("once per row"),
                "{sql}: {}",
                r.message
            );
        }
        // Per-statement values are fine in the same places.
        assert_eq!(
            pin("UPDATE t SET ts = now() WHERE id IN (SELECT id FROM s)"),
            format!("UPDATE t SET ts = {TS} WHERE id IN (SELECT id FROM s)")
        );
    }

    #[test]
    fn ddl_stored_expressions_are_rejected() {
        for (sql, name, context) in [
            (
                "CREATE TABLE t (id INT, ts TIMESTAMP DEFAULT now())",
                "now()",
                "a column default",
            ),
            (
                "CREATE TABLE t (id INT, ts TIMESTAMP DEFAULT CURRENT_TIMESTAMP, b INT)",
                "CURRENT_TIMESTAMP",
                "a column default",
            ),
            (
                "ALTER TABLE t ALTER COLUMN who SET DEFAULT current_user",
                "CURRENT_USER",
                "a column default",
            ),
            (
                "CREATE TABLE t (d DATE CHECK (d <= current_date))",
                "CURRENT_DATE",
                "a CHECK constraint",
            ),
            (
                "CREATE VIEW v AS SELECT * FROM t WHERE d > current_date",
                "CURRENT_DATE",
                "a view definition",
            ),
            (
                "CREATE MACRO who() AS current_user",
                "CURRENT_USER",
                "a macro definition",
            ),
            (
                "CREATE TABLE t (id UUID DEFAULT gen_random_uuid())",
                "gen_random_uuid()",
                "a column default",
            ),
        ] {
            let r = rejection(sql);
            assert_eq!(r.sqlstate, FEATURE_NOT_SUPPORTED);
            assert!(
                r.message
                    .starts_with(&format!("{name} is not allowed in {context}")),
                "{sql}: {}",
                r.message
            );
        }
        for sql in [
            "CREATE TABLE t (id INT DEFAULT 7, user_name VARCHAR DEFAULT 'x')",
            "CREATE VIEW v AS SELECT 1 AS user",
            "DROP TABLE now",
            "COMMENT ON TABLE t IS 'now() and current_user'",
        ] {
            assert_eq!(pin(sql), sql);
        }
    }

    #[test]
    fn text_in_strings_comments_and_quoted_identifiers_is_untouched() {
        for sql in [
            "INSERT INTO t VALUES ('now()', 'current_user', E'random()\\'', $$uuid()$$)",
            "INSERT INTO t (\"now()\", \"current_user\", \"random\") VALUES (1, 2, 3)",
            "INSERT INTO t VALUES (1) -- now() current_user random()",
            "INSERT INTO t /* clock_timestamp() read_csv('x') */ VALUES (1)",
            "INSERT INTO t SELECT \"current_date\", \"user\" FROM s",
        ] {
            assert_eq!(pin(sql), sql);
        }
        assert_eq!(
            pin("INSERT INTO t VALUES (now(/* keep */), 'now()') -- now()"),
            format!("INSERT INTO t VALUES ({TS}/* keep */, 'now()') -- now()")
        );
    }

    #[test]
    fn operator_runs_do_not_hide_comments() {
        // PostgreSQL and DuckDB end the operator `+` at `--`; the call on the
        // next line is real and must be pinned.
        assert_eq!(
            pin("INSERT INTO t VALUES (1 +-- it's\n now())"),
            format!("INSERT INTO t VALUES (1 +-- it's\n {TS})")
        );
    }

    #[test]
    fn replacements_do_not_fuse_with_neighbours() {
        assert_eq!(
            pin("INSERT INTO t SELECT random()AS r"),
            format!(
                "INSERT INTO t SELECT '{}'::DOUBLE AS r",
                unit_double(counter(1)())
            )
        );
        assert_eq!(
            pin("INSERT INTO t SELECT U&current_user"),
            "INSERT INTO t SELECT U& 'alice'"
        );
    }

    #[test]
    fn reads_and_session_statements_are_unchanged() {
        for sql in [
            "SELECT now(), random(), read_csv('x')",
            "SET TimeZone = 'UTC'",
            "BEGIN",
            "SHOW search_path",
        ] {
            assert_eq!(pin(sql), sql);
        }
    }

    #[test]
    fn unsupported_statements_are_rejected_by_pin() {
        for (sql, name) in [
            ("ATTACH 'x.db' AS x", "ATTACH"),
            ("DETACH x", "DETACH"),
            ("INSTALL httpfs", "INSTALL"),
            ("LOAD httpfs", "LOAD"),
            ("EXPORT DATABASE 'dir'", "EXPORT"),
            ("IMPORT DATABASE 'dir'", "IMPORT"),
            ("PRAGMA memory_limit = '1GB'", "PRAGMA"),
            ("SET GLOBAL threads = 4", "SET GLOBAL"),
            ("CALL pragma_version()", "CALL"),
            ("CHECKPOINT", "CHECKPOINT"),
            ("VACUUM", "VACUUM"),
            ("COPY t FROM '/etc/passwd'", "COPY to or from a file"),
            ("COPY t TO 'out.csv'", "COPY to or from a file"),
            (
                "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
                "EXPLAIN ANALYZE",
            ),
            ("CREATE SECRET (TYPE s3)", "CREATE SECRET"),
            ("CREATE SEQUENCE s", "CREATE SEQUENCE"),
            ("CREATE OR REPLACE SEQUENCE s START 10", "CREATE SEQUENCE"),
            ("UPDATE EXTENSIONS", "UPDATE EXTENSIONS"),
        ] {
            assert_rejected(sql, name);
        }
        let r = rejection("INSERT INTO t VALUES ('x");
        assert_eq!(r.sqlstate, SYNTAX_ERROR);
        let r = rejection("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)");
        assert_eq!(r.sqlstate, FEATURE_NOT_SUPPORTED);
        let r = rejection("LISTEN x");
        assert_eq!(r.message, "LISTEN is not supported by duckraft");
    }

    #[test]
    fn classification() {
        use WriteClass::*;
        for (sql, expected) in [
            ("SELECT 1", Read),
            ("select nextval('s')", Read),
            ("  (SELECT 1) UNION (SELECT 2)", Read),
            ("VALUES (1)", Read),
            ("FROM t", Read),
            ("TABLE t", Read),
            ("WITH x AS (SELECT 1) SELECT * FROM x", Read),
            ("DESCRIBE t", Read),
            ("SUMMARIZE t", Read),
            ("EXPLAIN INSERT INTO t VALUES (1)", Read),
            ("EXPLAIN ANALYZE SELECT 1", Read),
            ("EXPLAIN (ANALYZE, FORMAT json) SELECT 1", Read),
            ("COPY t TO STDOUT (FORMAT binary)", Read),
            ("COPY (SELECT 1) TO STDOUT", Read),
            ("INSERT INTO t VALUES (1);", Write),
            ("-- c\nupdate t set a = 1", Write),
            ("DELETE FROM t", Write),
            (
                "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
                Write,
            ),
            ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", Write),
            (
                "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
                Write,
            ),
            (
                "WITH x AS (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DELETE",
                Write,
            ),
            ("CREATE TABLE t AS SELECT 1", Write),
            ("create or replace temp table t as select 1", Write),
            ("COPY t (a, b) FROM STDIN (FORMAT csv)", Write),
            ("COPY \"s\".\"t\" FROM STDIN", Write),
            ("TRUNCATE t", Write),
            ("UPDATE extensions SET a = 1", Write),
            (
                "CREATE TABLE t (a INT, b INT GENERATED ALWAYS AS (a + 1))",
                Ddl,
            ),
            ("CREATE VIEW v AS SELECT 1", Ddl),
            ("CREATE UNIQUE INDEX i ON t (a)", Ddl),
            ("DROP TABLE t", Ddl),
            ("ALTER TABLE t ADD COLUMN c INT", Ddl),
            ("COMMENT ON TABLE t IS 'x'", Ddl),
            ("CREATE DATABASE lake", Ddl),
            ("CREATE USER bob", Ddl),
            ("BEGIN ISOLATION LEVEL SERIALIZABLE", Session),
            ("START TRANSACTION", Session),
            ("COMMIT", Session),
            ("ROLLBACK", Session),
            ("SET search_path TO a", Session),
            ("SET VARIABLE x = now()", Session),
            ("RESET ALL", Session),
            ("SHOW TABLES", Session),
            ("DISCARD ALL", Session),
            ("DECLARE c CURSOR FOR SELECT 1", Session),
            ("FETCH 10 FROM c", Session),
            ("CLOSE c", Session),
            ("USE lake", Session),
            ("", Session),
            (" ; ", Session),
        ] {
            assert_eq!(classify_write(sql), expected, "{sql:?}");
        }
        for sql in [
            "ATTACH 'x.db'",
            "DETACH x",
            "INSTALL httpfs",
            "FORCE INSTALL httpfs",
            "LOAD httpfs",
            "EXPORT DATABASE 'd'",
            "IMPORT DATABASE 'd'",
            "PRAGMA table_info('t')",
            "SET GLOBAL threads = 1",
            "RESET GLOBAL threads",
            "CALL f()",
            "CHECKPOINT",
            "FORCE CHECKPOINT",
            "VACUUM",
            "ANALYZE",
            "COPY t FROM 'x.csv'",
            "COPY t TO 'x.csv'",
            "COPY FROM DATABASE a TO b",
            "EXPLAIN ANALYZE DELETE FROM t",
            "CREATE PERSISTENT SECRET s (TYPE s3)",
            "DROP SECRET s",
            "UPDATE EXTENSIONS (httpfs)",
            "LISTEN x",
            "GRANT SELECT ON t TO bob",
            "DO $$ BEGIN END $$",
            "SELECT 1; SELECT 2",
            "SELECT 'unterminated",
            "= 1",
        ] {
            assert!(
                matches!(classify_write(sql), Unsupported(ref r) if !r.message.is_empty()),
                "{sql:?}: {:?}",
                classify_write(sql)
            );
        }
    }
}
