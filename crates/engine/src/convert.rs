//! Conversions between DuckDB's types and values and PostgreSQL's.
//!
//! Invariant: the type a column is described with (`pg_type`) is the type
//! its values are converted to (`to_value`), so binary encodings agree with
//! the OIDs clients were told.

use duckdb::types::{TimeUnit, Value as DuckValue, ValueRef};
use duckraft_sql::column_defs::{declared_varchar_length, TEXT_TYPE};
use duckraft_sql::types::{array_of, oid, parse_uuid, Value};

use crate::error::EngineError;

/// DuckDB's raw type ids (`DUCKDB_TYPE_*` in duckdb.h).
pub(crate) mod duck {
    pub const BOOLEAN: u32 = 1;
    pub const TINYINT: u32 = 2;
    pub const SMALLINT: u32 = 3;
    pub const INTEGER: u32 = 4;
    pub const BIGINT: u32 = 5;
    pub const UTINYINT: u32 = 6;
    pub const USMALLINT: u32 = 7;
    pub const UINTEGER: u32 = 8;
    pub const UBIGINT: u32 = 9;
    pub const FLOAT: u32 = 10;
    pub const DOUBLE: u32 = 11;
    pub const TIMESTAMP: u32 = 12;
    pub const DATE: u32 = 13;
    pub const TIME: u32 = 14;
    pub const INTERVAL: u32 = 15;
    pub const HUGEINT: u32 = 16;
    pub const UHUGEINT: u32 = 32;
    pub const VARCHAR: u32 = 17;
    pub const BLOB: u32 = 18;
    pub const DECIMAL: u32 = 19;
    pub const TIMESTAMP_S: u32 = 20;
    pub const TIMESTAMP_MS: u32 = 21;
    pub const TIMESTAMP_NS: u32 = 22;
    pub const LIST: u32 = 24;
    pub const STRUCT: u32 = 25;
    pub const MAP: u32 = 26;
    pub const UNION: u32 = 28;
    pub const UUID: u32 = 27;
    pub const TIMESTAMP_TZ: u32 = 31;
    pub const ARRAY: u32 = 33;
    pub const SQLNULL: u32 = 36;
    pub const STRING_LITERAL: u32 = 37;
    pub const INTEGER_LITERAL: u32 = 38;
}

/// A DuckDB logical type reduced to what the PostgreSQL mapping needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuckType {
    pub id: u32,
    pub decimal: Option<(u8, u8)>,
    /// Element type of LIST and ARRAY.
    pub child: Option<Box<DuckType>>,
    /// Type alias, e.g. `JSON` for DuckDB's JSON type (a VARCHAR alias).
    pub alias: Option<String>,
}

impl DuckType {
    pub fn is_sql_null(&self) -> bool {
        self.id == duck::SQLNULL
    }

    pub fn from_handle(handle: &duckdb::core::LogicalTypeHandle) -> Self {
        let id = handle.raw_id();
        let decimal =
            (id == duck::DECIMAL).then(|| (handle.decimal_width(), handle.decimal_scale()));
        let child = matches!(id, duck::LIST | duck::ARRAY)
            .then(|| Box::new(DuckType::from_handle(&handle.child(0))));
        DuckType {
            id,
            decimal,
            child,
            alias: handle.get_alias(),
        }
    }
}

/// PostgreSQL type OID and type modifier for a DuckDB type.
pub fn pg_type(duck_type: &DuckType) -> (u32, i32) {
    match duck_type.alias.as_deref() {
        Some(alias) if alias.eq_ignore_ascii_case("json") => return (oid::JSON, -1),
        Some(TEXT_TYPE) => return (oid::TEXT, -1),
        Some(alias) => {
            if let Some(length) = declared_varchar_length(alias) {
                // PostgreSQL's varchar typmod: the length plus VARHDRSZ.
                return (oid::VARCHAR, length as i32 + 4);
            }
        }
        None => {}
    }
    match duck_type.id {
        duck::BOOLEAN => (oid::BOOL, -1),
        duck::TINYINT | duck::SMALLINT | duck::UTINYINT => (oid::INT2, -1),
        duck::INTEGER | duck::USMALLINT | duck::INTEGER_LITERAL => (oid::INT4, -1),
        duck::BIGINT => (oid::INT8, -1),
        // PostgreSQL's oid is an unsigned 32-bit integer, like UINTEGER; pg_catalog uses it.
        duck::UINTEGER => (oid::OID, -1),
        duck::UBIGINT | duck::HUGEINT | duck::UHUGEINT => (oid::NUMERIC, -1),
        duck::FLOAT => (oid::FLOAT4, -1),
        duck::DOUBLE => (oid::FLOAT8, -1),
        duck::DECIMAL => {
            let (width, scale) = duck_type.decimal.unwrap_or((18, 3));
            // PostgreSQL's numeric typmod: ((precision << 16) | scale) + VARHDRSZ.
            (
                oid::NUMERIC,
                ((i32::from(width) << 16) | i32::from(scale)) + 4,
            )
        }
        // PostgreSQL types string literals and expressions as text; DuckDB keeps no
        // declared length, so text is the faithful name for a VARCHAR result.
        duck::VARCHAR | duck::STRING_LITERAL => (oid::TEXT, -1),
        duck::BLOB => (oid::BYTEA, -1),
        duck::DATE => (oid::DATE, -1),
        duck::TIME => (oid::TIME, -1),
        duck::TIMESTAMP | duck::TIMESTAMP_S | duck::TIMESTAMP_MS | duck::TIMESTAMP_NS => {
            (oid::TIMESTAMP, -1)
        }
        duck::TIMESTAMP_TZ => (oid::TIMESTAMPTZ, -1),
        duck::INTERVAL => (oid::INTERVAL, -1),
        duck::UUID => (oid::UUID, -1),
        duck::SQLNULL => (oid::TEXT, -1),
        duck::LIST | duck::ARRAY => {
            let element = duck_type
                .child
                .as_deref()
                .map_or(oid::TEXT, |c| pg_type(c).0);
            (array_of(element).unwrap_or(oid::TEXT_ARRAY), -1)
        }
        // Nested values travel as JSON text, as pg_catalog describes them.
        duck::STRUCT | duck::MAP | duck::UNION => (oid::JSON, -1),
        // ENUM, BIT, TIME_TZ and the rest travel as text.
        _ => (oid::TEXT, -1),
    }
}

fn micros(unit: TimeUnit, value: i64) -> i64 {
    match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1_000),
        TimeUnit::Microsecond => value,
        TimeUnit::Nanosecond => value.div_euclid(1_000),
    }
}

/// Converts one DuckDB result value to the variant matching `type_oid`.
pub fn to_value(value: DuckValue, type_oid: u32) -> Result<Value, EngineError> {
    Ok(match value {
        DuckValue::Null => Value::Null,
        DuckValue::Boolean(b) => Value::Bool(b),
        DuckValue::TinyInt(v) => Value::Int2(i16::from(v)),
        DuckValue::SmallInt(v) => Value::Int2(v),
        DuckValue::UTinyInt(v) => Value::Int2(i16::from(v)),
        DuckValue::Int(v) => Value::Int4(v),
        DuckValue::USmallInt(v) => Value::Int4(i32::from(v)),
        // `ctid` is rowid `(block << 16) + offset` (see the compat rewrite).
        DuckValue::BigInt(v) if type_oid == oid::TID => {
            Value::Text(format!("({},{})", v >> 16, v & 0xFFFF))
        }
        DuckValue::BigInt(v) => Value::Int8(v),
        DuckValue::UInt(v) => Value::Int8(i64::from(v)),
        DuckValue::UBigInt(v) => Value::Numeric(v.to_string()),
        DuckValue::HugeInt(v) if type_oid == oid::UUID => Value::Uuid(uuid_from_hugeint(v)),
        DuckValue::HugeInt(v) => Value::Numeric(v.to_string()),
        DuckValue::UHugeInt(v) => Value::Numeric(v.to_string()),
        DuckValue::Float(v) => Value::Float4(v),
        DuckValue::Double(v) => Value::Float8(v),
        DuckValue::Decimal(d) => Value::Numeric(d.to_string()),
        DuckValue::Timestamp(unit, v) => {
            let us = micros(unit, v);
            if type_oid == oid::TIMESTAMPTZ {
                Value::TimestampTz(us)
            } else {
                Value::Timestamp(us)
            }
        }
        DuckValue::Text(s) => match type_oid {
            oid::UUID => Value::Uuid(
                parse_uuid(&s).ok_or_else(|| EngineError::internal(format!("bad uuid {s}")))?,
            ),
            oid::JSON => Value::Json(s),
            _ => Value::Text(s),
        },
        DuckValue::Blob(bytes) if type_oid == oid::UUID && bytes.len() == 16 => {
            Value::Uuid(bytes.try_into().expect("length checked"))
        }
        DuckValue::Blob(bytes) | DuckValue::Geometry(bytes) => Value::Bytea(bytes),
        DuckValue::Date32(days) => Value::Date(days),
        DuckValue::Time64(unit, v) => Value::Time(micros(unit, v)),
        DuckValue::Interval {
            months,
            days,
            nanos,
        } => Value::Interval {
            months,
            days,
            micros: nanos / 1_000,
        },
        DuckValue::List(items) | DuckValue::Array(items) => {
            let element_oid = duckraft_sql::types::element_of(type_oid).unwrap_or(oid::TEXT);
            let items = items
                .into_iter()
                .map(|item| to_value(item, element_oid))
                .collect::<Result<Vec<_>, _>>()?;
            Value::Array { element_oid, items }
        }
        DuckValue::Enum(s) => Value::Text(s),
        other @ (DuckValue::Struct(_) | DuckValue::Map(_) | DuckValue::Union(_)) => {
            Value::Json(nested_json(&other).to_string())
        }
        other => {
            return Err(EngineError::new(
                "0A000",
                format!("values like {other:?} cannot be sent to PostgreSQL clients"),
            ))
        }
    })
}

/// DuckDB stores UUIDs as a hugeint with the top bit flipped for ordering.
fn uuid_from_hugeint(v: i128) -> [u8; 16] {
    ((v as u128) ^ (1u128 << 127)).to_be_bytes()
}

/// JSON for nested values, as DuckDB's `to_json` renders them.
fn nested_json(value: &DuckValue) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        DuckValue::Null => Json::Null,
        DuckValue::Boolean(b) => Json::Bool(*b),
        DuckValue::Struct(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), nested_json(v)))
                .collect(),
        ),
        DuckValue::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (scalar_text(k), nested_json(v)))
                .collect(),
        ),
        DuckValue::List(items) | DuckValue::Array(items) => {
            Json::Array(items.iter().map(nested_json).collect())
        }
        DuckValue::Union(inner) => nested_json(inner),
        DuckValue::TinyInt(_)
        | DuckValue::SmallInt(_)
        | DuckValue::Int(_)
        | DuckValue::BigInt(_)
        | DuckValue::UTinyInt(_)
        | DuckValue::USmallInt(_)
        | DuckValue::UInt(_)
        | DuckValue::UBigInt(_)
        | DuckValue::HugeInt(_)
        | DuckValue::Float(_)
        | DuckValue::Double(_)
        | DuckValue::Decimal(_) => serde_json::from_str(&scalar_text(value)).unwrap_or(Json::Null),
        other => Json::String(scalar_text(other)),
    }
}

fn scalar_text(value: &DuckValue) -> String {
    to_value(value.clone(), oid::TEXT)
        .ok()
        .and_then(|v| v.to_text())
        .unwrap_or_default()
}

/// Reads one cell of a result row.
pub fn cell(row: &duckdb::Row<'_>, index: usize, type_oid: u32) -> Result<Value, EngineError> {
    let value_ref: ValueRef<'_> = row.get_ref(index)?;
    to_value(value_ref.to_owned(), type_oid)
}

/// Converts a client-supplied value to a DuckDB parameter. Types whose
/// semantics differ between the systems travel as text and are cast by DuckDB.
pub fn to_duck(value: &Value) -> DuckValue {
    match value {
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
        Value::Array { items, .. } => DuckValue::List(items.iter().map(to_duck).collect()),
        other => DuckValue::Text(other.to_text().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(id: u32) -> DuckType {
        DuckType {
            id,
            decimal: None,
            child: None,
            alias: None,
        }
    }

    #[test]
    fn type_mapping() {
        assert_eq!(pg_type(&simple(duck::BIGINT)), (oid::INT8, -1));
        assert_eq!(pg_type(&simple(duck::TIMESTAMP_TZ)), (oid::TIMESTAMPTZ, -1));
        let decimal = DuckType {
            decimal: Some((10, 2)),
            ..simple(duck::DECIMAL)
        };
        assert_eq!(pg_type(&decimal), (oid::NUMERIC, (10 << 16 | 2) + 4));
        let list = DuckType {
            child: Some(Box::new(simple(duck::INTEGER))),
            ..simple(duck::LIST)
        };
        assert_eq!(pg_type(&list), (oid::INT4_ARRAY, -1));
        let json = DuckType {
            alias: Some("JSON".into()),
            ..simple(duck::VARCHAR)
        };
        assert_eq!(pg_type(&json), (oid::JSON, -1));
    }

    #[test]
    fn uuid_hugeint_layout() {
        // DuckDB: uuid 00000000-0000-0000-0000-000000000001 is stored as i128::MIN + 1.
        assert_eq!(uuid_from_hugeint(i128::MIN + 1), {
            let mut b = [0u8; 16];
            b[15] = 1;
            b
        });
    }
}
