//! Set-returning calls in a select list.
//!
//! In PostgreSQL `SELECT generate_series(1, 3)` returns three rows; DuckDB's
//! scalar `generate_series` returns one list. Wrapped in `unnest`, DuckDB
//! returns the rows, and several such calls in one list line up as in
//! PostgreSQL 10 and later (the shorter ones padded with NULL). In `FROM`,
//! DuckDB's table function already matches and is left alone.

use std::borrow::Cow;

use crate::colnames::AFTER_SELECT_LIST;
use crate::lexer::{mentions_any, tokenize, TokenKind};

const SET_RETURNING: &[&str] = &["generate_series"];

/// Wraps each set-returning call of a select list in `unnest(...)`; other
/// text, and text the lexer rejects, comes back unchanged.
pub fn unnest_select_list_series(sql: &str) -> Cow<'_, str> {
    if !mentions_any(sql, SET_RETURNING) {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = tokenize(sql) else {
        return Cow::Borrowed(sql);
    };
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_trivia())
        .collect();
    // Per open SELECT: its depth, and whether its select list is still open.
    let mut selects: Vec<(i32, bool)> = Vec::new();
    let mut depth = 0i32;
    // (first token, closing parenthesis) of each call to wrap.
    let mut calls: Vec<(usize, usize)> = Vec::new();
    for (k, &i) in significant.iter().enumerate() {
        let token = &tokens[i];
        match token.kind {
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => {
                depth -= 1;
                while selects.last().is_some_and(|&(d, _)| d > depth) {
                    selects.pop();
                }
            }
            TokenKind::Word if token.is_word("SELECT") => selects.push((depth, true)),
            TokenKind::Word => {
                if let Some(select) = selects.last_mut() {
                    if select.0 == depth && AFTER_SELECT_LIST.iter().any(|w| token.is_word(w)) {
                        select.1 = false;
                    }
                }
                let in_select_list = selects.last().is_some_and(|&(_, open)| open);
                let qualified = k > 0 && tokens[significant[k - 1]].kind == TokenKind::Dot;
                let name = token.text.to_ascii_lowercase();
                let opens = significant
                    .get(k + 1)
                    .is_some_and(|&n| tokens[n].kind == TokenKind::LeftParen);
                if in_select_list && !qualified && opens && SET_RETURNING.contains(&name.as_str()) {
                    if let Some(close) = closing(&tokens, &significant, k + 1) {
                        calls.push((i, close));
                    }
                }
            }
            _ => {}
        }
    }
    if calls.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 8 * calls.len());
    for (i, token) in tokens.iter().enumerate() {
        if calls.iter().any(|&(first, _)| first == i) {
            out.push_str("unnest(");
        }
        out.push_str(token.text);
        for _ in calls.iter().filter(|&&(_, close)| close == i) {
            out.push(')');
        }
    }
    Cow::Owned(out)
}

/// The token index of the parenthesis closing the one at `significant[open]`.
fn closing(
    tokens: &[crate::lexer::Token<'_>],
    significant: &[usize],
    open: usize,
) -> Option<usize> {
    let mut depth = 0;
    for &i in &significant[open..] {
        match tokens[i].kind {
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_list_series_become_rows() {
        assert_eq!(
            unnest_select_list_series(
                "SELECT generate_series(1, 3), x + GENERATE_SERIES(1, n) FROM t"
            ),
            "SELECT unnest(generate_series(1, 3)), x + unnest(GENERATE_SERIES(1, n)) FROM t"
        );
        assert_eq!(
            unnest_select_list_series(
                "INSERT INTO t SELECT (SELECT max(a) FROM u), generate_series(1, (SELECT 2))"
            ),
            "INSERT INTO t SELECT (SELECT max(a) FROM u), unnest(generate_series(1, (SELECT 2)))"
        );
    }

    #[test]
    fn series_in_from_and_elsewhere_stay() {
        for sql in [
            "SELECT x FROM generate_series(1, 3) AS g(x)",
            "SELECT * FROM t WHERE a IN (SELECT x FROM generate_series(1, 3) g(x))",
            "SELECT s.generate_series(1, 2)",
            "SELECT 'generate_series(1, 2)'",
            "SELECT generate_series",
        ] {
            assert_eq!(unnest_select_list_series(sql), sql);
        }
    }
}
