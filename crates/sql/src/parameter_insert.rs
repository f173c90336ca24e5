//! `INSERT INTO t [(a, b)] VALUES ($1, $2) [, ($3, $4) ...]`: an insert of
//! bound parameters and nothing else. Its effect is the rows' values, so it
//! can be replicated as a typed row batch instead of SQL text with the values
//! inlined: every such insert of a table then has the same statement text,
//! which the apply prepares once.
//!
//! Anything more (expressions, literals, `DEFAULT`, `ON CONFLICT`,
//! `RETURNING`, `SELECT`, `BY NAME`, `OR REPLACE`, three-part names) is not
//! recognised and stays a statement.

use crate::lexer::{significant, tokenize, Token, TokenKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInsert {
    /// `schema.table` or `table`, unquoted; neither part contains a `.`.
    pub table: String,
    /// The column list as written, unquoted; empty: every column, in order.
    pub columns: Vec<String>,
    /// Each row's values as 0-based parameter indexes.
    pub rows: Vec<Vec<usize>>,
}

pub fn parameter_insert(sql: &str) -> Option<ParameterInsert> {
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
            let param = take(&|t| t.kind == TokenKind::Param)?;
            let n: usize = param.text[1..].parse().ok()?;
            row.push(n.checked_sub(1)?);
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
    Some(ParameterInsert {
        table: parts.join("."),
        columns,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_of_parameters_only_are_recognised() {
        assert_eq!(
            parameter_insert("INSERT INTO bench VALUES ($1, $2)"),
            Some(ParameterInsert {
                table: "bench".into(),
                columns: vec![],
                rows: vec![vec![0, 1]],
            })
        );
        assert_eq!(
            parameter_insert("insert into Public.\"My T\" (\"K\", v) values ($2, $1), ($3, $4);"),
            Some(ParameterInsert {
                table: "public.My T".into(),
                columns: vec!["K".into(), "v".into()],
                rows: vec![vec![1, 0], vec![2, 3]],
            })
        );
    }

    #[test]
    fn anything_more_stays_a_statement() {
        for sql in [
            "INSERT INTO t VALUES ($1, 2)",
            "INSERT INTO t VALUES ($1 + 1)",
            "INSERT INTO t VALUES ($1::INTEGER)",
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
            assert_eq!(parameter_insert(sql), None, "{sql}");
        }
    }
}
