//! Typed row batches as DuckDB inserts: one implementation for the apply and
//! for a session running a transaction's row batch tentatively, so both do
//! exactly the same thing.

use duckdb::types::{TimeUnit, Value as DuckValue};
use duckdb::Connection;
use duckraft_sql::types::Value;

use crate::command::RowBatch;
use crate::session::quote_identifier;

pub struct PreparedRows {
    /// `INSERT INTO t (a, b)`, or `INSERT INTO t` for positional rows.
    pub into: String,
    pub width: usize,
    pub rows: Vec<Vec<DuckValue>>,
}

/// Why a row batch cannot be inserted, before DuckDB sees it.
#[derive(Debug)]
pub struct RowsError {
    pub sqlstate: &'static str,
    pub message: String,
}

impl RowsError {
    fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        RowsError {
            sqlstate,
            message: message.into(),
        }
    }
}

/// The statement head and bound values of a row batch, exactly as both a
/// session (running it tentatively) and the apply insert them.
pub fn prepare_rows(batch: &RowBatch) -> Result<PreparedRows, RowsError> {
    let malformed = |why: String| RowsError::new("XX000", format!("malformed row batch: {why}"));
    // Without a column list, the rows say how many values each has.
    let width = match batch.rows.first() {
        _ if !batch.columns.is_empty() => batch.columns.len(),
        Some(row) if !row.is_empty() => row.len(),
        _ => return Err(malformed("no columns".into())),
    };
    let target = match batch.table.split_once('.') {
        Some((schema, table)) if !table.contains('.') => {
            format!("{}.{}", quote_identifier(schema), quote_identifier(table))
        }
        Some(_) => return Err(malformed(format!("table name {:?}", batch.table))),
        None => quote_identifier(&batch.table),
    };
    let columns: Vec<String> = batch.columns.iter().map(|c| quote_identifier(c)).collect();
    let into = if columns.is_empty() {
        format!("INSERT INTO {target}")
    } else {
        format!("INSERT INTO {target} ({})", columns.join(", "))
    };
    let mut rows = Vec::with_capacity(batch.rows.len());
    for (i, row) in batch.rows.iter().enumerate() {
        if row.len() != width {
            return Err(malformed(format!(
                "row {i} has {} values for {width} columns",
                row.len(),
            )));
        }
        rows.push(row.iter().map(bind_value).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(PreparedRows { into, width, rows })
}

/// Inserts `values` (row-major, `width` per row) with `{into} VALUES (...),
/// (...)` statements of [`merged_insert_rows`] rows, each value written as
/// its [`placeholder`]. DuckDB keeps a prepared statement's plan only while
/// every bound value has the type the plan expects, so the text states each
/// value's type, and each text is prepared once per connection.
pub fn insert_merged(
    conn: &Connection,
    into: &str,
    width: usize,
    values: &[DuckValue],
) -> Result<(), duckdb::Error> {
    let mut remaining = values;
    while !remaining.is_empty() {
        let rows = merged_insert_rows(remaining.len() / width);
        let (chunk, rest) = remaining.split_at(rows * width);
        let mut sql = format!("{into} VALUES ");
        for (r, row) in chunk.chunks(width).enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(placeholder(value));
            }
            sql.push(')');
        }
        let bound = chunk.iter().filter(|v| !matches!(v, DuckValue::Null));
        conn.prepare_cached(&sql)?
            .execute(duckdb::params_from_iter(bound))?;
        remaining = rest;
    }
    Ok(())
}

/// A value's place in an insert: a parameter cast to the type the value is
/// bound with, which DuckDB takes as the parameter's type (the insert then
/// casts it to the column's type, as it would the bare value), or `NULL`
/// itself, which binds no parameter. Other values stay bare parameters,
/// which DuckDB binds anew on every run.
fn placeholder(value: &DuckValue) -> &'static str {
    match value {
        DuckValue::Null => "NULL",
        DuckValue::Boolean(_) => "?::BOOLEAN",
        DuckValue::SmallInt(_) => "?::SMALLINT",
        DuckValue::Int(_) => "?::INTEGER",
        DuckValue::BigInt(_) => "?::BIGINT",
        DuckValue::UBigInt(_) => "?::UBIGINT",
        DuckValue::Float(_) => "?::FLOAT",
        DuckValue::Double(_) => "?::DOUBLE",
        DuckValue::Text(_) => "?::VARCHAR",
        DuckValue::Blob(_) => "?::BLOB",
        DuckValue::Date32(_) => "?::DATE",
        DuckValue::Time64(TimeUnit::Microsecond, _) => "?::TIME",
        DuckValue::Timestamp(TimeUnit::Microsecond, _) => "?::TIMESTAMP",
        DuckValue::Interval { .. } => "?::INTERVAL",
        _ => "?",
    }
}

/// The DuckDB parameter for a value. Types DuckDB can take natively are bound
/// natively; the others travel as their PostgreSQL text, which DuckDB casts to
/// the column's type. Nothing here depends on node settings (time zones
/// travel as explicit `+00` offsets).
fn bind_value(value: &Value) -> Result<DuckValue, RowsError> {
    Ok(match value {
        Value::Null => DuckValue::Null,
        Value::Bool(b) => DuckValue::Boolean(*b),
        Value::Int2(v) => DuckValue::SmallInt(*v),
        Value::Int4(v) => DuckValue::Int(*v),
        Value::Int8(v) => DuckValue::BigInt(*v),
        Value::Float4(v) => DuckValue::Float(*v),
        Value::Float8(v) => DuckValue::Double(*v),
        Value::Bytea(bytes) => DuckValue::Blob(bytes.clone()),
        Value::Date(days) => DuckValue::Date32(*days),
        Value::Time(us) => DuckValue::Time64(TimeUnit::Microsecond, *us),
        Value::Timestamp(us) => DuckValue::Timestamp(TimeUnit::Microsecond, *us),
        Value::Interval {
            months,
            days,
            micros,
        } => DuckValue::Interval {
            months: *months,
            days: *days,
            nanos: micros
                .checked_mul(1_000)
                .ok_or_else(|| RowsError::new("22008", "interval out of range"))?,
        },
        Value::Array { items, .. } => DuckValue::List(
            items
                .iter()
                .map(bind_value)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Numeric(_)
        | Value::Text(_)
        | Value::Json(_)
        | Value::Uuid(_)
        | Value::TimestampTz(_) => DuckValue::Text(value.to_text().unwrap_or_default()),
    })
}

/// Rows of the next merged `INSERT` statement when `left` rows are left:
/// every count up to 64 exactly (a statement's run costs DuckDB about as
/// much as a few dozen rows, so fewer statements win), larger counts in
/// chunks of 256, 128 and 64. That bounds the prepared statements per
/// target to 67 and a statement's parameters to 256 rows' worth.
pub fn merged_insert_rows(left: usize) -> usize {
    match left {
        256.. => 256,
        128.. => 128,
        65.. => 64,
        _ => left,
    }
}
