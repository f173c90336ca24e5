//! PostgreSQL binary send/receive formats for the types duckraft serves.
//!
//! `encode` writes the value as the binary form of `type_oid`, converting
//! between compatible variants (an Int4 sent as int8, a Text sent as uuid);
//! `decode` parses a binary datum of `type_oid` into a `Value`.

use bytes::{BufMut, BytesMut};
use duckraft_sql::types::{
    element_of, oid, parse_uuid, Value, POSTGRES_EPOCH_OFFSET_DAYS, POSTGRES_EPOCH_OFFSET_MICROS,
};

use crate::error::PgError;

fn cannot(type_oid: u32, value: &Value) -> PgError {
    PgError::new(
        "42804",
        format!(
            "cannot send {value:?} as binary {}",
            duckraft_sql::types::type_name(type_oid)
        ),
    )
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Int2(v) => Some(i64::from(*v)),
        Value::Int4(v) => Some(i64::from(*v)),
        Value::Int8(v) => Some(*v),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Numeric(s) | Value::Text(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Float4(v) => Some(f64::from(*v)),
        Value::Float8(v) => Some(*v),
        Value::Numeric(s) | Value::Text(s) => s.parse().ok(),
        other => as_i64(other).map(|v| v as f64),
    }
}

/// Appends the binary form of a non-null `value` as `type_oid` (no length prefix).
pub fn encode(value: &Value, type_oid: u32, out: &mut BytesMut) -> Result<(), PgError> {
    debug_assert!(
        !value.is_null(),
        "NULL is encoded by the caller as length -1"
    );
    let range = |_| {
        PgError::new(
            "22003",
            format!(
                "value out of range for type {}",
                duckraft_sql::types::type_name(type_oid)
            ),
        )
    };
    match type_oid {
        oid::BOOL => match value {
            Value::Bool(b) => out.put_u8(u8::from(*b)),
            other => return Err(cannot(type_oid, other)),
        },
        oid::INT2 => out.put_i16(
            i16::try_from(as_i64(value).ok_or_else(|| cannot(type_oid, value))?).map_err(range)?,
        ),
        oid::INT4 => out.put_i32(
            i32::try_from(as_i64(value).ok_or_else(|| cannot(type_oid, value))?).map_err(range)?,
        ),
        oid::OID => out.put_u32(
            u32::try_from(as_i64(value).ok_or_else(|| cannot(type_oid, value))?).map_err(range)?,
        ),
        oid::INT8 => out.put_i64(as_i64(value).ok_or_else(|| cannot(type_oid, value))?),
        oid::FLOAT4 => out.put_f32(as_f64(value).ok_or_else(|| cannot(type_oid, value))? as f32),
        oid::FLOAT8 => out.put_f64(as_f64(value).ok_or_else(|| cannot(type_oid, value))?),
        oid::NUMERIC => {
            let text = value.to_text().ok_or_else(|| cannot(type_oid, value))?;
            encode_numeric(&text, out)?;
        }
        oid::BYTEA => match value {
            Value::Bytea(bytes) => out.put_slice(bytes),
            other => out.put_slice(other.to_text().unwrap_or_default().as_bytes()),
        },
        oid::DATE => match value {
            Value::Date(days) => out.put_i32(match *days {
                i32::MAX | i32::MIN => *days,
                d => d - POSTGRES_EPOCH_OFFSET_DAYS,
            }),
            other => return Err(cannot(type_oid, other)),
        },
        oid::TIME => match value {
            Value::Time(micros) => out.put_i64(*micros),
            other => return Err(cannot(type_oid, other)),
        },
        oid::TIMESTAMP | oid::TIMESTAMPTZ => match value {
            Value::Timestamp(micros) | Value::TimestampTz(micros) => out.put_i64(match *micros {
                i64::MAX | i64::MIN => *micros,
                m => m - POSTGRES_EPOCH_OFFSET_MICROS,
            }),
            other => return Err(cannot(type_oid, other)),
        },
        oid::INTERVAL => match value {
            Value::Interval {
                months,
                days,
                micros,
            } => {
                out.put_i64(*micros);
                out.put_i32(*days);
                out.put_i32(*months);
            }
            other => return Err(cannot(type_oid, other)),
        },
        oid::UUID => match value {
            Value::Uuid(bytes) => out.put_slice(bytes),
            Value::Text(s) => out.put_slice(&parse_uuid(s).ok_or_else(|| cannot(type_oid, value))?),
            other => return Err(cannot(type_oid, other)),
        },
        oid::TID => {
            let text = value.to_text().ok_or_else(|| cannot(type_oid, value))?;
            let (block, offset) = text
                .strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .and_then(|t| t.split_once(','))
                .and_then(|(b, o)| {
                    Some((b.trim().parse::<u32>().ok()?, o.trim().parse::<u16>().ok()?))
                })
                .ok_or_else(|| cannot(type_oid, value))?;
            out.put_u32(block);
            out.put_u16(offset);
        }
        oid::JSONB => {
            out.put_u8(1);
            out.put_slice(value.to_text().unwrap_or_default().as_bytes());
        }
        array if element_of(array).is_some() => {
            let element_oid = element_of(array).expect("checked above");
            let Value::Array { items, .. } = value else {
                return Err(cannot(type_oid, value));
            };
            let has_null = items.iter().any(Value::is_null);
            out.put_i32(i32::from(!items.is_empty()));
            out.put_i32(i32::from(has_null));
            out.put_u32(element_oid);
            if !items.is_empty() {
                out.put_i32(items.len() as i32);
                out.put_i32(1);
            }
            for item in items {
                if item.is_null() {
                    out.put_i32(-1);
                    continue;
                }
                let len_at = out.len();
                out.put_i32(0);
                encode(item, element_oid, out)?;
                let len = (out.len() - len_at - 4) as i32;
                out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        // text, varchar, name, json, bpchar, unknown and anything else: UTF-8 text.
        _ => out.put_slice(value.to_text().unwrap_or_default().as_bytes()),
    }
    Ok(())
}

fn invalid(type_oid: u32, why: &str) -> PgError {
    PgError::new(
        "22P03",
        format!(
            "incorrect binary data format for type {}: {why}",
            duckraft_sql::types::type_name(type_oid)
        ),
    )
}

fn fixed<const N: usize>(data: &[u8], type_oid: u32) -> Result<[u8; N], PgError> {
    data.try_into()
        .map_err(|_| invalid(type_oid, &format!("expected {N} bytes, got {}", data.len())))
}

/// Parses the binary datum `data` of type `type_oid`.
pub fn decode(data: &[u8], type_oid: u32) -> Result<Value, PgError> {
    Ok(match type_oid {
        oid::BOOL => Value::Bool(fixed::<1>(data, type_oid)?[0] != 0),
        oid::INT2 => Value::Int2(i16::from_be_bytes(fixed(data, type_oid)?)),
        oid::INT4 => Value::Int4(i32::from_be_bytes(fixed(data, type_oid)?)),
        oid::OID => Value::Int8(i64::from(u32::from_be_bytes(fixed(data, type_oid)?))),
        oid::INT8 => Value::Int8(i64::from_be_bytes(fixed(data, type_oid)?)),
        oid::FLOAT4 => Value::Float4(f32::from_be_bytes(fixed(data, type_oid)?)),
        oid::FLOAT8 => Value::Float8(f64::from_be_bytes(fixed(data, type_oid)?)),
        oid::NUMERIC => Value::Numeric(decode_numeric(data)?),
        oid::BYTEA => Value::Bytea(data.to_vec()),
        oid::DATE => {
            let days = i32::from_be_bytes(fixed(data, type_oid)?);
            Value::Date(match days {
                i32::MAX | i32::MIN => days,
                d => d
                    .checked_add(POSTGRES_EPOCH_OFFSET_DAYS)
                    .ok_or_else(|| invalid(type_oid, "date out of range"))?,
            })
        }
        oid::TIME => Value::Time(i64::from_be_bytes(fixed(data, type_oid)?)),
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let raw = i64::from_be_bytes(fixed(data, type_oid)?);
            let micros = match raw {
                i64::MAX | i64::MIN => raw,
                m => m
                    .checked_add(POSTGRES_EPOCH_OFFSET_MICROS)
                    .ok_or_else(|| invalid(type_oid, "timestamp out of range"))?,
            };
            if type_oid == oid::TIMESTAMP {
                Value::Timestamp(micros)
            } else {
                Value::TimestampTz(micros)
            }
        }
        oid::INTERVAL => {
            let raw: [u8; 16] = fixed(data, type_oid)?;
            Value::Interval {
                micros: i64::from_be_bytes(raw[0..8].try_into().expect("8 bytes")),
                days: i32::from_be_bytes(raw[8..12].try_into().expect("4 bytes")),
                months: i32::from_be_bytes(raw[12..16].try_into().expect("4 bytes")),
            }
        }
        oid::UUID => Value::Uuid(fixed(data, type_oid)?),
        oid::JSON => Value::Json(utf8(data, type_oid)?),
        oid::JSONB => {
            let (&version, rest) = data
                .split_first()
                .ok_or_else(|| invalid(type_oid, "empty"))?;
            if version != 1 {
                return Err(invalid(
                    type_oid,
                    &format!("unsupported jsonb version {version}"),
                ));
            }
            Value::Json(utf8(rest, type_oid)?)
        }
        array if element_of(array).is_some() => decode_array(data, type_oid)?,
        _ => Value::Text(utf8(data, type_oid)?),
    })
}

fn utf8(data: &[u8], type_oid: u32) -> Result<String, PgError> {
    String::from_utf8(data.to_vec()).map_err(|_| {
        let _ = type_oid;
        PgError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
    })
}

fn decode_array(data: &[u8], type_oid: u32) -> Result<Value, PgError> {
    let mut reader = crate::codec::Reader::new(data);
    let bad = |_| invalid(type_oid, "truncated array");
    let ndim = reader.i32().map_err(bad)?;
    let has_null = reader.i32().map_err(bad)?;
    let element_oid = reader.u32().map_err(bad)?;
    if has_null != 0 && has_null != 1 {
        return Err(invalid(type_oid, "invalid array flags"));
    }
    // As PostgreSQL's array_recv: the element type is the declared one. A
    // client-chosen element type would also let arrays nest without bound
    // (each level recursing here) and exhaust the stack.
    let expected = element_of(type_oid).expect("called for array types");
    if element_oid != expected {
        return Err(PgError::new(
            "42804",
            format!(
                "binary data has array element type {element_oid} ({}) instead of expected {expected} ({})",
                duckraft_sql::types::type_name(element_oid),
                duckraft_sql::types::type_name(expected)
            ),
        ));
    }
    if ndim == 0 {
        return Ok(Value::Array {
            element_oid,
            items: Vec::new(),
        });
    }
    if ndim != 1 {
        return Err(PgError::feature_not_supported(
            "multidimensional arrays are not supported",
        ));
    }
    let len = reader.i32().map_err(bad)?;
    let _lower_bound = reader.i32().map_err(bad)?;
    if len < 0 || len as usize > data.len() {
        return Err(invalid(type_oid, "invalid array length"));
    }
    let mut items = Vec::with_capacity(len as usize);
    for _ in 0..len {
        let item_len = reader.i32().map_err(bad)?;
        if item_len < 0 {
            items.push(Value::Null);
        } else {
            items.push(decode(
                reader.bytes(item_len as usize).map_err(bad)?,
                element_oid,
            )?);
        }
    }
    Ok(Value::Array { element_oid, items })
}

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// Encodes decimal text (`-123.4500`, `NaN`) as PostgreSQL's base-10000 numeric.
pub fn encode_numeric(text: &str, out: &mut BytesMut) -> Result<(), PgError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("nan") {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(NUMERIC_NAN);
        out.put_u16(0);
        return Ok(());
    }
    let bad = || {
        PgError::new(
            "22P02",
            format!("invalid input syntax for type numeric: \"{text}\""),
        )
    };
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    // Expand exponent notation into plain digits.
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| bad())?),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .chars()
            .chain(frac_part.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut point = int_part.len() as i32 + exponent;
    let display_scale = (frac_part.len() as i32 - exponent).max(0);
    if point < 0 {
        digits = format!("{}{digits}", "0".repeat((-point) as usize));
        point = 0;
    }
    if point as usize > digits.len() {
        digits.push_str(&"0".repeat(point as usize - digits.len()));
    }
    let (int_digits, frac_digits) = digits.split_at(point as usize);
    // Pad so both sides are whole groups of four digits.
    let int_pad = (4 - int_digits.len() % 4) % 4;
    let int_digits = format!("{}{int_digits}", "0".repeat(int_pad));
    let frac_pad = (4 - frac_digits.len() % 4) % 4;
    let frac_digits = format!("{frac_digits}{}", "0".repeat(frac_pad));
    let mut groups: Vec<i16> = int_digits
        .as_bytes()
        .chunks(4)
        .chain(frac_digits.as_bytes().chunks(4))
        .map(|chunk| {
            std::str::from_utf8(chunk)
                .expect("ascii")
                .parse::<i16>()
                .expect("four digits")
        })
        .collect();
    let mut weight = (int_digits.len() / 4) as i32 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    out.put_i16(groups.len() as i16);
    out.put_i16(weight as i16);
    out.put_u16(if negative && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    });
    out.put_u16(display_scale as u16);
    for g in groups {
        out.put_i16(g);
    }
    Ok(())
}

pub fn decode_numeric(data: &[u8]) -> Result<String, PgError> {
    let mut reader = crate::codec::Reader::new(data);
    let bad = |_| invalid(oid::NUMERIC, "truncated numeric");
    let ndigits = reader.i16().map_err(bad)?;
    let weight = i32::from(reader.i16().map_err(bad)?);
    let sign = reader.i16().map_err(bad)? as u16;
    let scale = reader.i16().map_err(bad)?;
    if sign == NUMERIC_NAN {
        return Ok("NaN".into());
    }
    if ndigits < 0 || scale < 0 || !(sign == NUMERIC_POS || sign == NUMERIC_NEG) {
        return Err(invalid(oid::NUMERIC, "invalid header"));
    }
    let mut groups = Vec::with_capacity(ndigits as usize);
    for _ in 0..ndigits {
        let g = reader.i16().map_err(bad)?;
        if !(0..10_000).contains(&g) {
            return Err(invalid(oid::NUMERIC, "digit out of range"));
        }
        groups.push(g);
    }
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for (i, g) in groups.iter().enumerate() {
        let position = weight - i as i32;
        if position >= 0 {
            if int_part.is_empty() {
                int_part = g.to_string();
            } else {
                int_part.push_str(&format!("{g:04}"));
            }
        } else {
            // Fill any skipped groups between the point and this one.
            let expected_len = ((-position - 1) * 4) as usize;
            while frac_part.len() < expected_len {
                frac_part.push('0');
            }
            frac_part.push_str(&format!("{g:04}"));
        }
    }
    if weight >= ndigits as i32 && !int_part.is_empty() {
        int_part.push_str(&"0000".repeat((weight - ndigits as i32 + 1) as usize));
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let scale = scale as usize;
    if frac_part.len() < scale {
        frac_part.push_str(&"0".repeat(scale - frac_part.len()));
    }
    frac_part.truncate(scale);
    let mut text = String::new();
    if sign == NUMERIC_NEG {
        text.push('-');
    }
    text.push_str(&int_part);
    if scale > 0 {
        text.push('.');
        text.push_str(&frac_part);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_round_trip(text: &str) -> String {
        let mut out = BytesMut::new();
        encode_numeric(text, &mut out).unwrap();
        decode_numeric(&out).unwrap()
    }

    #[test]
    fn numeric_matches_postgres_layout() {
        // 12345.678 in PostgreSQL: ndigits 3, weight 1, scale 3, digits [1, 2345, 6780].
        let mut out = BytesMut::new();
        encode_numeric("12345.678", &mut out).unwrap();
        assert_eq!(
            &out[..],
            &[0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        for text in [
            "0",
            "-1.50",
            "0.0001",
            "100000000",
            "12345.678",
            "-0.000012",
            "NaN",
            "10000.0001",
        ] {
            assert_eq!(numeric_round_trip(text), text);
        }
        assert_eq!(numeric_round_trip("1.5e3"), "1500");
        assert!(encode_numeric("12a", &mut BytesMut::new()).is_err());
    }

    #[test]
    fn scalar_round_trips() {
        let cases = [
            (Value::Bool(true), oid::BOOL),
            (Value::Int2(-7), oid::INT2),
            (Value::Int4(1 << 30), oid::INT4),
            (Value::Int8(-1 << 60), oid::INT8),
            (Value::Float8(2.5), oid::FLOAT8),
            (Value::Date(19_000), oid::DATE),
            (Value::Timestamp(1_700_000_000_000_001), oid::TIMESTAMP),
            (Value::TimestampTz(-5), oid::TIMESTAMPTZ),
            (Value::Time(3_600_000_001), oid::TIME),
            (
                Value::Interval {
                    months: 1,
                    days: -2,
                    micros: 3,
                },
                oid::INTERVAL,
            ),
            (Value::Uuid([9; 16]), oid::UUID),
            (Value::Bytea(vec![0, 255]), oid::BYTEA),
            (
                Value::Array {
                    element_oid: oid::INT4,
                    items: vec![Value::Int4(1), Value::Null, Value::Int4(3)],
                },
                oid::INT4_ARRAY,
            ),
        ];
        for (value, type_oid) in cases {
            let mut out = BytesMut::new();
            encode(&value, type_oid, &mut out).unwrap();
            assert_eq!(decode(&out, type_oid).unwrap(), value, "oid {type_oid}");
        }
    }

    #[test]
    fn postgres_epoch_is_applied() {
        let mut out = BytesMut::new();
        encode(
            &Value::Date(POSTGRES_EPOCH_OFFSET_DAYS),
            oid::DATE,
            &mut out,
        )
        .unwrap();
        assert_eq!(&out[..], &[0, 0, 0, 0]);
    }

    #[test]
    fn malformed_binary_is_rejected() {
        assert_eq!(decode(&[0, 1], oid::INT4).unwrap_err().code, "22P03");
        assert!(decode(
            &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0x7f, 0, 0, 0],
            oid::INT4_ARRAY
        )
        .is_err());
    }

    /// Header of a one-dimensional array with one element.
    fn array_header(flags: i32, element_oid: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [1, flags, element_oid as i32, 1, 1] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn array_element_type_must_be_the_declared_one() {
        let mut int4 = array_header(0, oid::INT4);
        int4.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 5]);
        assert!(decode(&int4, oid::INT4_ARRAY).is_ok());

        let mut text = array_header(0, oid::TEXT);
        text.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 5]);
        assert_eq!(decode(&text, oid::INT4_ARRAY).unwrap_err().code, "42804");

        // An array whose element is itself an int4[] (and so on) must not
        // recurse: refused at the first level.
        let mut nested = Vec::new();
        for _ in 0..100_000 {
            let mut level = array_header(0, oid::INT4_ARRAY);
            level.extend_from_slice(&(nested.len() as i32).to_be_bytes());
            level.extend_from_slice(&nested);
            nested = level;
            if nested.len() > 1 << 16 {
                break;
            }
        }
        assert_eq!(decode(&nested, oid::INT4_ARRAY).unwrap_err().code, "42804");

        assert_eq!(
            decode(&array_header(2, oid::INT4), oid::INT4_ARRAY)
                .unwrap_err()
                .code,
            "22P03"
        );
    }
}
