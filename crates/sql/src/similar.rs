//! `SIMILAR TO` patterns in PostgreSQL's meaning.
//!
//! PostgreSQL's SQL regular expressions use `%` and `_` as wildcards and
//! treat `.`, `^` and `$` as ordinary characters; DuckDB reads a `SIMILAR TO`
//! pattern as a plain regular expression. The same query would silently
//! match different rows, so a literal pattern is translated to the regular
//! expression PostgreSQL itself would build. Both match the whole string.

use std::borrow::Cow;

use crate::lexer::{mentions_any, tokenize, TokenKind};

/// Translates the literal pattern of each `[NOT] SIMILAR TO '...'` without
/// an `ESCAPE` clause; other text comes back unchanged.
pub fn similar_to_as_regex(sql: &str) -> Cow<'_, str> {
    if !mentions_any(sql, &["similar"]) {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = tokenize(sql) else {
        return Cow::Borrowed(sql);
    };
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_trivia())
        .collect();
    let mut patterns: Vec<(usize, String)> = Vec::new();
    for k in 2..significant.len() {
        let (similar, to, literal) = (
            &tokens[significant[k - 2]],
            &tokens[significant[k - 1]],
            &tokens[significant[k]],
        );
        let escape_clause = significant
            .get(k + 1)
            .is_some_and(|&i| tokens[i].is_word("ESCAPE"));
        if !(similar.is_word("SIMILAR") && to.is_word("TO")) || escape_clause {
            continue;
        }
        // Only standard strings: their text is exactly what is between the quotes.
        let standard = literal.kind == TokenKind::String
            && literal.text.starts_with('\'')
            && literal.text.ends_with('\'')
            && literal.text.len() >= 2;
        if !standard {
            continue;
        }
        let pattern = literal.text[1..literal.text.len() - 1].replace("''", "'");
        let regex = translate(&pattern);
        patterns.push((significant[k], format!("'{}'", regex.replace('\'', "''"))));
    }
    if patterns.is_empty() {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    for (i, token) in tokens.iter().enumerate() {
        match patterns.iter().find(|(at, _)| *at == i) {
            Some((_, text)) => out.push_str(text),
            None => out.push_str(token.text),
        }
    }
    Cow::Owned(out)
}

/// PostgreSQL's `similar_escape` with the default escape `\`: wildcards
/// become `.*` and `.`, the characters that are special only to regular
/// expressions are escaped, and bracket expressions pass through.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_brackets = false;
    while let Some(c) = chars.next() {
        if in_brackets {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else if c == ']' {
                in_brackets = false;
            }
            continue;
        }
        match c {
            '\\' => match chars.next() {
                Some(next) if next.is_ascii_alphanumeric() || next == '_' => out.push(next),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                // A trailing escape matches itself, as PostgreSQL reads it.
                None => out.push_str("\\\\"),
            },
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '.' | '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '[' => {
                out.push(c);
                in_brackets = true;
                // `[]...]` and `[^]...]`: a leading `]` is a member.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().expect("peeked"));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().expect("peeked"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_become_postgres_regular_expressions() {
        assert_eq!(
            similar_to_as_regex("SELECT a SIMILAR TO 'x%y_z.w', b NOT SIMILAR TO '^(p|q)$'"),
            "SELECT a SIMILAR TO 'x.*y.z\\.w', b NOT SIMILAR TO '\\^(p|q)\\$'"
        );
        assert_eq!(translate("a\\%b\\_c\\."), "a\\%b_c\\.");
        assert_eq!(translate("[a-c%.]+it''s"), "[a-c%.]+it''s");
        assert_eq!(translate("[]%]x"), "[]%]x");
    }

    #[test]
    fn other_patterns_stay() {
        for sql in [
            "SELECT a SIMILAR TO b",
            "SELECT a SIMILAR TO $1",
            "SELECT a SIMILAR TO 'x#%' ESCAPE '#'",
            "SELECT 'SIMILAR TO ''%'''",
        ] {
            assert_eq!(similar_to_as_regex(sql), sql);
        }
    }
}
