//! SQL literals for bound parameters. A replicated statement is text that
//! every node replays, so parameters are inlined as typed DuckDB literals
//! that read back to exactly the bound value.

use crate::lexer::{tokenize, TokenKind};
use crate::types::{format_date, format_time, format_timestamp, Value};

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn float(v: f64, type_name: &str) -> String {
    if v.is_nan() {
        format!("'NaN'::{type_name}")
    } else if v.is_infinite() {
        let sign = if v > 0.0 { "" } else { "-" };
        format!("'{sign}Infinity'::{type_name}")
    } else {
        // `{:?}` is Rust's shortest round-trip form and always has a digit
        // after any point or exponent.
        format!("CAST({v:?} AS {type_name})")
    }
}

/// A DuckDB expression that evaluates to exactly `value`.
pub fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Int2(v) => format!("CAST({v} AS SMALLINT)"),
        Value::Int4(v) => format!("CAST({v} AS INTEGER)"),
        Value::Int8(v) => format!("CAST({v} AS BIGINT)"),
        Value::Float4(v) => float(f64::from(*v), "REAL"),
        Value::Float8(v) => float(*v, "DOUBLE"),
        // An unadorned numeric literal keeps every digit and its scale.
        Value::Numeric(s)
            if s.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') =>
        {
            s.clone()
        }
        Value::Numeric(s) => format!("{}::DOUBLE", quoted(s)),
        Value::Text(s) => quoted(s),
        Value::Json(s) => format!("{}::JSON", quoted(s)),
        Value::Bytea(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("from_hex('{hex}')")
        }
        Value::Date(days) => format!("DATE '{}'", format_date(*days)),
        Value::Time(micros) => format!("TIME '{}'", format_time(*micros)),
        Value::Timestamp(micros) => format!("TIMESTAMP '{}'", format_timestamp(*micros)),
        Value::TimestampTz(micros) => {
            format!("TIMESTAMPTZ '{}+00'", format_timestamp(*micros))
        }
        Value::Interval {
            months,
            days,
            micros,
        } => format!("(to_months({months}) + to_days({days}) + to_microseconds({micros}))"),
        Value::Uuid(_) | Value::Array { .. } => {
            let text = value.to_text().expect("not NULL");
            match value {
                Value::Uuid(_) => format!("{}::UUID", quoted(&text)),
                _ => array(value),
            }
        }
    }
}

fn array(value: &Value) -> String {
    let Value::Array { items, .. } = value else {
        unreachable!("called for arrays only")
    };
    let inner: Vec<String> = items.iter().map(literal).collect();
    format!("[{}]", inner.join(", "))
}

/// Replaces every `$n` parameter outside strings, comments and quoted
/// identifiers with the literal of `parameters[n - 1]`.
pub fn inline_parameters(sql: &str, parameters: &[Value]) -> Result<String, String> {
    let tokens = tokenize(sql).map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(sql.len());
    for token in &tokens {
        if token.kind == TokenKind::Param {
            let n: usize = token.text[1..]
                .parse()
                .map_err(|_| format!("invalid parameter {}", token.text))?;
            let value = n
                .checked_sub(1)
                .and_then(|i| parameters.get(i))
                .ok_or_else(|| format!("there is no parameter ${n}"))?;
            out.push_str(&literal(value));
        } else {
            out.push_str(token.text);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_literals_outside_quoted_text() {
        let sql = "INSERT INTO t VALUES ($1, $2, '$1', \"$2\") -- $1";
        let out = inline_parameters(sql, &[Value::Int8(7), Value::Text("o'k".into())]).unwrap();
        assert_eq!(
            out,
            "INSERT INTO t VALUES (CAST(7 AS BIGINT), 'o''k', '$1', \"$2\") -- $1"
        );
        assert!(inline_parameters("SELECT $3", &[Value::Null]).is_err());
    }

    #[test]
    fn literals_keep_exact_values() {
        assert_eq!(literal(&Value::Float8(0.1)), "CAST(0.1 AS DOUBLE)");
        assert_eq!(literal(&Value::Float8(f64::NAN)), "'NaN'::DOUBLE");
        assert_eq!(literal(&Value::Numeric("-12.340".into())), "-12.340");
        assert_eq!(literal(&Value::Bytea(vec![0, 255])), "from_hex('00ff')");
        assert_eq!(
            literal(&Value::TimestampTz(0)),
            "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
        );
        assert_eq!(
            literal(&Value::Array {
                element_oid: 23,
                items: vec![Value::Int4(1), Value::Null]
            }),
            "[CAST(1 AS INTEGER), NULL]"
        );
    }
}
