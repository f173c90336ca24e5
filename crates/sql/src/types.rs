//! The value model shared by the front door and the engine: PostgreSQL type
//! OIDs, an owned `Value`, and PostgreSQL's text rendering of each value.
//!
//! Invariant: a `Value` always renders to the text a real PostgreSQL 15 server
//! with `DateStyle=ISO, MDY`, `IntervalStyle=postgres`, `TimeZone=UTC` and
//! `extra_float_digits=1` would send for the same datum.

use std::fmt::Write;

/// PostgreSQL type OIDs used on the wire.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    /// A row's physical address `(block,offset)`; duckraft maps it to DuckDB's rowid.
    pub const TID: u32 = 27;
    pub const TID_ARRAY: u32 = 1010;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
    pub const BOOL_ARRAY: u32 = 1000;
    pub const BYTEA_ARRAY: u32 = 1001;
    pub const INT2_ARRAY: u32 = 1005;
    pub const INT4_ARRAY: u32 = 1007;
    pub const TEXT_ARRAY: u32 = 1009;
    pub const VARCHAR_ARRAY: u32 = 1015;
    pub const INT8_ARRAY: u32 = 1016;
    pub const FLOAT4_ARRAY: u32 = 1021;
    pub const FLOAT8_ARRAY: u32 = 1022;
    pub const TIMESTAMP_ARRAY: u32 = 1115;
    pub const DATE_ARRAY: u32 = 1182;
    pub const TIME_ARRAY: u32 = 1183;
    pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
    pub const INTERVAL_ARRAY: u32 = 1187;
    pub const NUMERIC_ARRAY: u32 = 1231;
    pub const UUID_ARRAY: u32 = 2951;
    pub const JSON_ARRAY: u32 = 199;
    pub const OID_ARRAY: u32 = 1028;
    pub const NAME_ARRAY: u32 = 1003;
    pub const CHAR_ARRAY: u32 = 1002;
}

/// (scalar oid, array oid, type name, typlen)
const TYPES: &[(u32, u32, &str, i16)] = &[
    (oid::BOOL, oid::BOOL_ARRAY, "bool", 1),
    (oid::BYTEA, oid::BYTEA_ARRAY, "bytea", -1),
    (oid::CHAR, oid::CHAR_ARRAY, "char", 1),
    (oid::NAME, oid::NAME_ARRAY, "name", 64),
    (oid::INT8, oid::INT8_ARRAY, "int8", 8),
    (oid::INT2, oid::INT2_ARRAY, "int2", 2),
    (oid::INT4, oid::INT4_ARRAY, "int4", 4),
    (oid::TEXT, oid::TEXT_ARRAY, "text", -1),
    (oid::OID, oid::OID_ARRAY, "oid", 4),
    (oid::JSON, oid::JSON_ARRAY, "json", -1),
    (oid::FLOAT4, oid::FLOAT4_ARRAY, "float4", 4),
    (oid::FLOAT8, oid::FLOAT8_ARRAY, "float8", 8),
    (oid::VARCHAR, oid::VARCHAR_ARRAY, "varchar", -1),
    (oid::BPCHAR, 1014, "bpchar", -1),
    (oid::DATE, oid::DATE_ARRAY, "date", 4),
    (oid::TIME, oid::TIME_ARRAY, "time", 8),
    (oid::TIMESTAMP, oid::TIMESTAMP_ARRAY, "timestamp", 8),
    (oid::TIMESTAMPTZ, oid::TIMESTAMPTZ_ARRAY, "timestamptz", 8),
    (oid::INTERVAL, oid::INTERVAL_ARRAY, "interval", 16),
    (oid::NUMERIC, oid::NUMERIC_ARRAY, "numeric", -1),
    (oid::UUID, oid::UUID_ARRAY, "uuid", 16),
    (oid::TID, oid::TID_ARRAY, "tid", 6),
    (oid::JSONB, 3807, "jsonb", -1),
];

/// The array type whose elements have type `element`.
pub fn array_of(element: u32) -> Option<u32> {
    TYPES.iter().find(|t| t.0 == element).map(|t| t.1)
}

/// The element type of array type `array`.
pub fn element_of(array: u32) -> Option<u32> {
    TYPES.iter().find(|t| t.1 == array).map(|t| t.0)
}

pub fn type_name(type_oid: u32) -> &'static str {
    TYPES
        .iter()
        .find(|t| t.0 == type_oid)
        .map(|t| t.2)
        .unwrap_or("unknown")
}

/// `typlen` as reported in RowDescription.
pub fn type_len(type_oid: u32) -> i16 {
    TYPES.iter().find(|t| t.0 == type_oid).map_or(-1, |t| t.3)
}

/// A result or parameter column as the wire describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
    /// Type modifier, e.g. numeric precision and scale; -1 when none.
    pub type_modifier: i32,
}

/// Microseconds between 1970-01-01 (Unix) and 2000-01-01 (PostgreSQL) epochs.
pub const POSTGRES_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
pub const POSTGRES_EPOCH_OFFSET_DAYS: i32 = 10_957;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    /// Exact decimal in canonical text form, e.g. `-12.340`.
    Numeric(String),
    Text(String),
    Bytea(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01 00:00:00 (no zone).
    Timestamp(i64),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz(i64),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    Uuid([u8; 16]),
    Json(String),
    /// One-dimensional array; `element_oid` is the element type.
    Array {
        element_oid: u32,
        items: Vec<Value>,
    },
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// PostgreSQL's text output for this value; `None` for NULL.
    pub fn to_text(&self) -> Option<String> {
        let text = match self {
            Value::Null => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
            Value::Int2(v) => v.to_string(),
            Value::Int4(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Float4(v) => format_float(f64::from(*v), true),
            Value::Float8(v) => format_float(*v, false),
            Value::Numeric(s) | Value::Text(s) | Value::Json(s) => s.clone(),
            Value::Bytea(bytes) => {
                let mut out = String::with_capacity(2 + bytes.len() * 2);
                out.push_str("\\x");
                for b in bytes {
                    let _ = write!(out, "{b:02x}");
                }
                out
            }
            Value::Date(days) => format_date(*days),
            Value::Time(micros) => format_time(*micros),
            Value::Timestamp(micros) => format_timestamp(*micros),
            Value::TimestampTz(micros) => format!("{}+00", format_timestamp(*micros)),
            Value::Interval {
                months,
                days,
                micros,
            } => format_interval(*months, *days, *micros),
            Value::Uuid(bytes) => format_uuid(bytes),
            Value::Array { items, .. } => format_array(items),
        };
        Some(text)
    }
}

fn format_float(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Shortest round-trip representation, as PostgreSQL 12+ sends by default.
    let s = if single {
        format!("{}", v as f32)
    } else {
        format!("{v}")
    };
    let exponent_form = |s: &str| {
        let x: f64 = s.parse().unwrap_or(v);
        let formatted = if single {
            format!("{:e}", x as f32)
        } else {
            format!("{x:e}")
        };
        // Rust prints 1e20; PostgreSQL prints 1e+20.
        match formatted.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp:0>2}"),
            Some((mantissa, exp)) => format!("{mantissa}e-{:0>2}", &exp[1..]),
            None => formatted,
        }
    };
    let abs = v.abs();
    let digits_limit = if single { 1e7 } else { 1e16 };
    if abs != 0.0 && (abs >= digits_limit || abs < 1e-4) {
        exponent_form(&s)
    } else {
        s
    }
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn format_date(days: i32) -> String {
    match days {
        i32::MAX => return "infinity".into(),
        i32::MIN => return "-infinity".into(),
        _ => {}
    }
    let (y, m, d) = civil_from_days(i64::from(days));
    if y <= 0 {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = format!("{h:02}:{m:02}:{s:02}");
    push_fraction(&mut out, frac);
    out
}

fn push_fraction(out: &mut String, frac_micros: i64) {
    if frac_micros != 0 {
        let digits = format!("{frac_micros:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

pub fn format_timestamp(micros: i64) -> String {
    match micros {
        i64::MAX => return "infinity".into(),
        i64::MIN => return "-infinity".into(),
        _ => {}
    }
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (y, mo, d) = civil_from_days(days);
    let time = format_time(rest);
    if y <= 0 {
        format!("{:04}-{mo:02}-{d:02} {time} BC", 1 - y)
    } else {
        format!("{y:04}-{mo:02}-{d:02} {time}")
    }
}

pub fn format_interval(months: i32, days: i32, micros: i64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let years = months / 12;
    let months = months % 12;
    let plural = |n: i64, unit: &str| {
        if n == 1 || n == -1 {
            format!("{n} {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if years != 0 {
        parts.push(plural(i64::from(years), "year"));
    }
    if months != 0 {
        parts.push(plural(i64::from(months), "mon"));
    }
    if days != 0 {
        parts.push(plural(i64::from(days), "day"));
    }
    if micros != 0 || parts.is_empty() {
        let negative = micros < 0;
        let abs = micros.unsigned_abs();
        let secs = abs / 1_000_000;
        let frac = (abs % 1_000_000) as i64;
        let mut time = format!(
            "{}{:02}:{:02}:{:02}",
            if negative { "-" } else { "" },
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        push_fraction(&mut time, frac);
        parts.push(time);
    }
    parts.join(" ")
}

pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A one-dimensional array in PostgreSQL's text form (`{1,"b c",NULL}`) as
/// text items, each cast to the element type where it is used; `None` for
/// anything else (more dimensions, explicit bounds, bad quoting).
pub fn parse_array(text: &str, element_oid: u32) -> Option<Value> {
    let body = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    let mut chars = body.chars().peekable();
    if body.trim().is_empty() {
        return Some(Value::Array { element_oid, items });
    }
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let item = if chars.next_if_eq(&'"').is_some() {
            let mut item = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => item.push(chars.next()?),
                    c => item.push(c),
                }
            }
            Value::Text(item)
        } else {
            let mut item = String::new();
            while let Some(c) = chars.next_if(|&c| c != ',') {
                if matches!(c, '{' | '}' | '"') {
                    return None;
                }
                if c == '\\' {
                    item.push(chars.next()?);
                } else {
                    item.push(c);
                }
            }
            let item = item.trim_end();
            if item.is_empty() {
                return None;
            }
            if item.eq_ignore_ascii_case("null") {
                Value::Null
            } else {
                Value::Text(item.to_string())
            }
        };
        items.push(item);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some(Value::Array { element_oid, items }),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

fn format_array(items: &[Value]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item.to_text() {
            None => out.push_str("NULL"),
            Some(text) => {
                let needs_quotes = text.is_empty()
                    || text.eq_ignore_ascii_case("null")
                    || text
                        .chars()
                        .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
                if needs_quotes {
                    out.push('"');
                    for c in text.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                } else {
                    out.push_str(&text);
                }
            }
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(POSTGRES_EPOCH_OFFSET_DAYS), "2000-01-01");
    }

    #[test]
    fn text_rendering_matches_postgres() {
        assert_eq!(Value::Bool(true).to_text().unwrap(), "t");
        assert_eq!(Value::Float8(0.1).to_text().unwrap(), "0.1");
        assert_eq!(Value::Float8(1e20).to_text().unwrap(), "1e+20");
        assert_eq!(Value::Float8(1.5e-7).to_text().unwrap(), "1.5e-07");
        assert_eq!(Value::Float4(1.1).to_text().unwrap(), "1.1");
        assert_eq!(Value::Bytea(vec![0xde, 0xad]).to_text().unwrap(), "\\xdead");
        assert_eq!(
            Value::Timestamp(1_700_000_000_123_400).to_text().unwrap(),
            "2023-11-14 22:13:20.1234"
        );
        assert_eq!(
            Value::TimestampTz(0).to_text().unwrap(),
            "1970-01-01 00:00:00+00"
        );
        assert_eq!(
            Value::Interval {
                months: 14,
                days: 3,
                micros: 14_706_789_000
            }
            .to_text()
            .unwrap(),
            "1 year 2 mons 3 days 04:05:06.789"
        );
        assert_eq!(
            Value::Interval {
                months: 0,
                days: 0,
                micros: 0
            }
            .to_text()
            .unwrap(),
            "00:00:00"
        );
        assert_eq!(
            Value::Array {
                element_oid: oid::TEXT,
                items: vec![
                    Value::Text("a b".into()),
                    Value::Null,
                    Value::Text("c".into())
                ]
            }
            .to_text()
            .unwrap(),
            "{\"a b\",NULL,c}"
        );
        let uuid = parse_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
        assert_eq!(format_uuid(&uuid), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    }

    #[test]
    fn array_text_parses_as_postgres_writes_it() {
        let text = |s: &str| Value::Text(s.to_string());
        let items = |v: Option<Value>| match v {
            Some(Value::Array { items, .. }) => Some(items),
            _ => None,
        };
        assert_eq!(
            items(parse_array("{1,2,NULL,-3}", oid::INT4)),
            Some(vec![text("1"), text("2"), Value::Null, text("-3")])
        );
        assert_eq!(
            items(parse_array(
                r#"{a,"b c",NULL,"\"q\"","", "NULL" , x\,y}"#,
                oid::TEXT
            )),
            Some(vec![
                text("a"),
                text("b c"),
                Value::Null,
                text("\"q\""),
                text(""),
                text("NULL"),
                text("x,y")
            ])
        );
        assert_eq!(items(parse_array("{}", oid::TEXT)), Some(vec![]));
        for bad in [
            "{{1,2},{3,4}}",
            "[1:2]={1,2}",
            "{1,,2}",
            "{\"a}",
            "{a\"b}",
            "1,2",
            "{1} x",
        ] {
            assert_eq!(parse_array(bad, oid::INT4), None, "{bad}");
        }
        let round_trip = Value::Array {
            element_oid: oid::TEXT,
            items: vec![text("a b"), Value::Null, text("\\"), text("")],
        };
        assert_eq!(
            items(parse_array(&round_trip.to_text().unwrap(), oid::TEXT)),
            Some(vec![text("a b"), Value::Null, text("\\"), text("")])
        );
    }
}
