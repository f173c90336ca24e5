//! The session-local clock values without DuckDB's ICU extension.
//!
//! DuckDB provides `current_date`, `localtime`, `localtimestamp` and
//! `current_time` (and its `today()`, `current_localtime()`, ...) only with
//! ICU, which the bundled DuckDB lacks; it also cannot cast a TIMESTAMPTZ to
//! a DATE or TIME without it. duckraft sessions always run in UTC (the front
//! door refuses other time zones), so each is the UTC field of
//! `current_timestamp`, which casts to TIMESTAMP without ICU. Writes are
//! pinned afterwards (`determinism`), so `current_timestamp` becomes the
//! statement's fixed instant there.

use std::borrow::Cow;

use crate::lexer::{mentions_any, tokenize, Token, TokenKind};

const TIMESTAMP: &str = "CAST(current_timestamp AS TIMESTAMP)";

/// The ICU-free spelling of each local clock value.
fn replacement(name: &str) -> Option<String> {
    let value = match name {
        "current_date" | "today" => format!("CAST({TIMESTAMP} AS DATE)"),
        "localtimestamp" | "current_localtimestamp" => TIMESTAMP.to_string(),
        "localtime" | "current_localtime" => format!("CAST({TIMESTAMP} AS TIME)"),
        "current_time" | "get_current_time" => {
            format!("CAST(CAST({TIMESTAMP} AS TIME) AS TIMETZ)")
        }
        _ => return None,
    };
    Some(value)
}

/// Keywords (bare) and DuckDB's function spellings (called with `()`).
const KEYWORDS: &[&str] = &[
    "current_date",
    "localtimestamp",
    "localtime",
    "current_time",
];
const FUNCTIONS: &[&str] = &[
    "today",
    "current_localtimestamp",
    "current_localtime",
    "get_current_time",
];

/// Rewrites the local clock values of `sql`; anything else, including
/// text the lexer rejects, comes back unchanged.
pub fn local_clock_without_icu(sql: &str) -> Cow<'_, str> {
    // Every keyword and function name contains one of these.
    if !mentions_any(sql, &["current_", "local", "today"]) {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = tokenize(sql) else {
        return Cow::Borrowed(sql);
    };
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_trivia())
        .collect();
    let at = |k: usize| significant.get(k).map(|&i| &tokens[i]);
    let mut replaced: Vec<(usize, usize, String)> = Vec::new();
    for k in 0..significant.len() {
        let token = &tokens[significant[k]];
        if token.kind != TokenKind::Word {
            continue;
        }
        let name = token.text.to_ascii_lowercase();
        // A column or field (`t.current_date`), an alias, or a type.
        let named = k > 0
            && at(k - 1).is_some_and(|p: &Token<'_>| {
                p.kind == TokenKind::Dot || p.is_word("AS") || p.text == "::"
            });
        if named {
            continue;
        }
        let opens = at(k + 1).is_some_and(|t| t.kind == TokenKind::LeftParen);
        let span = if KEYWORDS.contains(&name.as_str()) && !opens {
            // With a precision, `localtime(0)`, it is left to DuckDB.
            k..=k
        } else if FUNCTIONS.contains(&name.as_str())
            && opens
            && at(k + 2).is_some_and(|t| t.kind == TokenKind::RightParen)
        {
            k..=k + 2
        } else {
            continue;
        };
        if let Some(text) = replacement(&name) {
            replaced.push((significant[*span.start()], significant[*span.end()], text));
        }
    }
    if replaced.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 64 * replaced.len());
    let mut next = replaced.iter().peekable();
    let mut i = 0;
    while i < tokens.len() {
        match next.peek() {
            Some((first, last, text)) if *first == i => {
                out.push_str(text);
                i = last + 1;
                next.next();
            }
            _ => {
                out.push_str(tokens[i].text);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_clock_values_become_utc_fields_of_current_timestamp() {
        assert_eq!(
            local_clock_without_icu("SELECT current_date, today(), LOCALTIMESTAMP"),
            "SELECT CAST(CAST(current_timestamp AS TIMESTAMP) AS DATE), \
             CAST(CAST(current_timestamp AS TIMESTAMP) AS DATE), \
             CAST(current_timestamp AS TIMESTAMP)"
        );
        assert_eq!(
            local_clock_without_icu("insert into t values (localtime, current_time)"),
            "insert into t values (CAST(CAST(current_timestamp AS TIMESTAMP) AS TIME), \
             CAST(CAST(CAST(current_timestamp AS TIMESTAMP) AS TIME) AS TIMETZ))"
        );
    }

    #[test]
    fn names_strings_and_precisions_are_left_alone() {
        for sql in [
            "SELECT t.current_date, x AS current_date FROM t",
            "SELECT 'current_date', \"current_date\", localtime(0), today",
            "SELECT 1 -- current_date",
            "SELECT 'unterminated current_date",
        ] {
            assert_eq!(local_clock_without_icu(sql), sql);
        }
    }
}
