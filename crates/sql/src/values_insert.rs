//! `INSERT INTO t [(a, b)] VALUES (x, y) [, (z, w) ...]` where every value
//! is a bound parameter or a plain literal. Its effect is the rows' values,
//! so it can be replicated, and run tentatively, as a typed row batch
//! instead of SQL text: every such insert of a table then has one statement
//! text per row count, which DuckDB plans once per connection.
//!
//! The literals recognised are exactly those whose DuckDB meaning a bound
//! parameter of the same value has: DuckDB inserts a literal, like a
//! parameter, by casting it to the column's type.
//! - `'text'` (standard quoting only) is a `VARCHAR`;
//! - an integer that fits a `BIGINT`, with an optional minus sign;
//! - `NULL`, `TRUE` and `FALSE`.
//!
//! A decimal or float literal is not recognised: DuckDB rounds `1.5` into an
//! `INTEGER` column but refuses the text `'1.5'`. Anything more (other
//! literals, expressions, `DEFAULT`, `ON CONFLICT`, `RETURNING`, `SELECT`,
//! `BY NAME`, `OR REPLACE`, three-part names) stays a statement.

use crate::lexer::{significant, tokenize, Token, TokenKind};
use crate::types::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum InsertValue {
    /// A 0-based parameter index.
    Parameter(usize),
    Literal(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValuesInsert {
    /// `schema.table` or `table`, unquoted; neither part contains a `.`.
    pub table: String,
    /// The column list as written, unquoted; empty: every column, in order.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<InsertValue>>,
}

impl ValuesInsert {
    /// The rows with `parameters` bound; `None` if one is missing.
    pub fn bind(&self, parameters: &[Value]) -> Option<Vec<Vec<Value>>> {
        self.rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|value| match value {
                        InsertValue::Parameter(i) => parameters.get(*i).cloned(),
                        InsertValue::Literal(value) => Some(value.clone()),
                    })
                    .collect()
            })
            .collect()
    }
}

pub fn values_insert(sql: &str) -> Option<ValuesInsert> {
    let tokens = tokenize(sql).ok()?;
    let mut words: Vec<&Token> = significant(&tokens).collect();
    if words.last().is_some_and(|t| t.kind == TokenKind::Semicolon) {
        words.pop();
    }
    let mut rest = words.as_slice();
    let mut take = |test: &dyn Fn(&Token) -> bool| -> Option<&Token> {
        let (first, tail) = rest.split_first()?;
        if !test(first) {
            return None;
        }
        rest = tail;
        Some(*first)
    };
    take(&|t| t.is_word("INSERT"))?;
    take(&|t| t.is_word("INTO"))?;
    let mut parts = vec![take(&|t| t.identifier().is_some())?.identifier()?];
    if take(&|t| t.kind == TokenKind::Dot).is_some() {
        parts.push(take(&|t| t.identifier().is_some())?.identifier()?);
    }
    if parts.iter().any(|p| p.contains('.')) {
        return None;
    }
    let mut columns = Vec::new();
    if take(&|t| t.kind == TokenKind::LeftParen).is_some() {
        loop {
            columns.push(take(&|t| t.identifier().is_some())?.identifier()?);
            if take(&|t| t.kind == TokenKind::Comma).is_none() {
                break;
            }
        }
        take(&|t| t.kind == TokenKind::RightParen)?;
    }
    take(&|t| t.is_word("VALUES"))?;
    let mut rows = Vec::new();
    loop {
        take(&|t| t.kind == TokenKind::LeftParen)?;
        let mut row = Vec::new();
        loop {
            let negative = take(&|t| t.kind == TokenKind::Operator && t.text == "-").is_some();
            let token = take(&|_| true)?;
            row.push(insert_value(token, negative)?);
            if take(&|t| t.kind == TokenKind::Comma).is_none() {
                break;
            }
        }
        take(&|t| t.kind == TokenKind::RightParen)?;
        let width = columns.len().max(rows.first().map_or(0, Vec::len));
        if width != 0 && row.len() != width {
            return None;
        }
        rows.push(row);
        if take(&|t| t.kind == TokenKind::Comma).is_none() {
            break;
        }
    }
    if !rest.is_empty() {
        return None;
    }
    Some(ValuesInsert {
        table: parts.join("."),
        columns,
        rows,
    })
}

fn insert_value(token: &Token, negative: bool) -> Option<InsertValue> {
    let literal = |value| Some(InsertValue::Literal(value));
    match token.kind {
        TokenKind::Number if token.text.bytes().all(|b| b.is_ascii_digit()) => {
            // Parsed with its sign: the text of i64::MIN has no positive twin.
            let text = if negative {
                format!("-{}", token.text)
            } else {
                token.text.to_string()
            };
            literal(Value::Int8(text.parse().ok()?))
        }
        _ if negative => None,
        TokenKind::Param => {
            let n: usize = token.text[1..].parse().ok()?;
            Some(InsertValue::Parameter(n.checked_sub(1)?))
        }
        TokenKind::String if token.text.starts_with('\'') => {
            let inner = &token.text[1..token.text.len() - 1];
            literal(Value::Text(inner.replace("''", "'")))
        }
        TokenKind::Word if token.is_word("NULL") => literal(Value::Null),
        TokenKind::Word if token.is_word("TRUE") => literal(Value::Bool(true)),
        TokenKind::Word if token.is_word("FALSE") => literal(Value::Bool(false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InsertValue::{Literal, Parameter};

    #[test]
    fn inserts_of_parameters_and_plain_literals_are_recognised() {
        assert_eq!(
            values_insert("INSERT INTO bench VALUES ($1, $2)"),
            Some(ValuesInsert {
                table: "bench".into(),
                columns: vec![],
                rows: vec![vec![Parameter(0), Parameter(1)]],
            })
        );
        assert_eq!(
            values_insert("insert into Public.\"My T\" (\"K\", v) values ($2, $1), ($3, $4);"),
            Some(ValuesInsert {
                table: "public.My T".into(),
                columns: vec!["K".into(), "v".into()],
                rows: vec![
                    vec![Parameter(1), Parameter(0)],
                    vec![Parameter(2), Parameter(3)]
                ],
            })
        );
        assert_eq!(
            values_insert(
                "INSERT INTO \"public\".t VALUES (7, -9223372036854775808, 'it''s', \
                 '\\x5B', NULL, true, FALSE, $1)"
            ),
            Some(ValuesInsert {
                table: "public.t".into(),
                columns: vec![],
                rows: vec![vec![
                    Literal(Value::Int8(7)),
                    Literal(Value::Int8(i64::MIN)),
                    Literal(Value::Text("it's".into())),
                    Literal(Value::Text("\\x5B".into())),
                    Literal(Value::Null),
                    Literal(Value::Bool(true)),
                    Literal(Value::Bool(false)),
                    Parameter(0),
                ]],
            })
        );
        let insert = values_insert("INSERT INTO t VALUES ($2, 1)").unwrap();
        assert_eq!(
            insert.bind(&[Value::Null, Value::Text("p".into())]),
            Some(vec![vec![Value::Text("p".into()), Value::Int8(1)]])
        );
        assert_eq!(insert.bind(&[Value::Null]), None);
    }

    #[test]
    fn anything_more_stays_a_statement() {
        for sql in [
            "INSERT INTO t VALUES ($1 + 1)",
            "INSERT INTO t VALUES ($1::INTEGER)",
            "INSERT INTO t VALUES (1.5)",
            "INSERT INTO t VALUES (1e3)",
            "INSERT INTO t VALUES (9223372036854775808)",
            "INSERT INTO t VALUES (-$1)",
            "INSERT INTO t VALUES (-'1')",
            "INSERT INTO t VALUES (- -1)",
            "INSERT INTO t VALUES (E'\\n')",
            "INSERT INTO t VALUES (X'00')",
            "INSERT INTO t VALUES ($$x$$)",
            "INSERT INTO t VALUES ('x'::TEXT)",
            "INSERT INTO t VALUES (DATE '2024-01-01')",
            "INSERT INTO t VALUES (now())",
            "INSERT INTO t VALUES (x)",
            "INSERT INTO t VALUES (DEFAULT)",
            "INSERT INTO t VALUES ($1) ON CONFLICT DO NOTHING",
            "INSERT INTO t VALUES ($1) RETURNING *",
            "INSERT INTO t VALUES ($1), ($2, $3)",
            "INSERT INTO t (a, b) VALUES ($1)",
            "INSERT INTO t SELECT $1",
            "INSERT OR REPLACE INTO t VALUES ($1)",
            "INSERT INTO t BY NAME VALUES ($1)",
            "INSERT INTO c.s.t VALUES ($1)",
            "INSERT INTO \"a.b\" VALUES ($1)",
            "INSERT INTO t AS x VALUES ($1)",
            "INSERT INTO t VALUES ($0)",
            "INSERT INTO t VALUES ()",
            "INSERT INTO t DEFAULT VALUES",
            "INSERT INTO t VALUES ($1); INSERT INTO t VALUES ($2)",
            "UPDATE t SET a = $1",
        ] {
            assert_eq!(values_insert(sql), None, "{sql}");
        }
    }
}
