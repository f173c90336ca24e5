//! PostgreSQL's hex bytea literals in `INSERT ... VALUES`.
//!
//! PostgreSQL reads the untyped literal `'\x5b5d'` into a bytea column as
//! the two bytes `5b 5d` (and `'\x'` as no bytes). DuckDB's string-to-BLOB
//! cast reads `\x5b` as one escaped byte and `5d` as two characters, and
//! refuses a lone `\x`: silently different data, or an error. DuckLake writes
//! inlined BLOB values exactly this way. The literal's meaning depends on the
//! column it lands in (a text column keeps the characters), so the caller
//! resolves the target table's columns and this module rewrites only the
//! literals placed into BLOB columns, into DuckDB's spelling (`'\x5b\x5d'`).

use crate::lexer::{tokenize, Token, TokenKind};

/// The table an `INSERT ... VALUES` writes and its explicit column list,
/// when the statement holds a hex bytea literal that may need rewriting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexInsert {
    pub schema: Option<String>,
    pub table: String,
    /// `None`: every column of the table, in order.
    pub columns: Option<Vec<String>>,
}

fn is_hex_bytea(token: &Token<'_>) -> Option<Vec<u8>> {
    if token.kind != TokenKind::String {
        return None;
    }
    let inner = token.text.strip_prefix("'\\x")?.strip_suffix('\'')?;
    if inner.len() % 2 != 0 || !inner.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..inner.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&inner[i..i + 2], 16).ok())
        .collect()
}

fn significant<'a>(tokens: &[Token<'a>]) -> Vec<(usize, Token<'a>)> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.is_trivia())
        .map(|(i, t)| (i, *t))
        .collect()
}

/// The target of a plain `INSERT INTO name [(columns)] VALUES ...` that
/// holds at least one hex bytea literal; `None` for anything else.
pub fn hex_insert_target(sql: &str) -> Option<HexInsert> {
    if !sql.contains("'\\x") {
        return None;
    }
    let tokens = tokenize(sql).ok()?;
    let sig = significant(&tokens);
    if !sig.iter().any(|(_, t)| is_hex_bytea(t).is_some()) {
        return None;
    }
    let mut i = 0;
    let word = |i: usize, w: &str| sig.get(i).is_some_and(|(_, t)| t.is_word(w));
    if !(word(0, "insert") && word(1, "into")) {
        return None;
    }
    i += 2;
    let mut parts = vec![sig.get(i)?.1.identifier()?];
    i += 1;
    while sig.get(i).is_some_and(|(_, t)| t.kind == TokenKind::Dot) {
        parts.push(sig.get(i + 1)?.1.identifier()?);
        i += 2;
    }
    let table = parts.pop()?;
    let schema = parts.pop();
    let mut columns = None;
    if sig
        .get(i)
        .is_some_and(|(_, t)| t.kind == TokenKind::LeftParen)
    {
        let mut names = Vec::new();
        i += 1;
        loop {
            names.push(sig.get(i)?.1.identifier()?);
            i += 1;
            match sig.get(i)?.1.kind {
                TokenKind::Comma => i += 1,
                TokenKind::RightParen => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
        columns = Some(names);
    }
    word(i, "values").then_some(HexInsert {
        schema,
        table,
        columns,
    })
}

/// Rewrites the hex bytea literals that stand alone as a VALUES element in
/// a position where `blob[position]` is true. `None` if nothing changed.
pub fn rewrite_hex_bytea(sql: &str, blob: &[bool]) -> Option<String> {
    let tokens = tokenize(sql).ok()?;
    let sig = significant(&tokens);
    let values = sig.iter().position(|(_, t)| t.is_word("values"))?;
    let mut replacements: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut position = 0usize;
    for (k, (index, token)) in sig.iter().enumerate().skip(values + 1) {
        match token.kind {
            TokenKind::LeftParen => {
                depth += 1;
                if depth == 1 {
                    position = 0;
                }
            }
            TokenKind::RightParen => depth = depth.saturating_sub(1),
            TokenKind::Comma if depth == 1 => position += 1,
            TokenKind::String if depth == 1 => {
                let alone = matches!(sig[k - 1].1.kind, TokenKind::Comma | TokenKind::LeftParen)
                    && matches!(
                        sig.get(k + 1).map(|(_, t)| t.kind),
                        Some(TokenKind::Comma | TokenKind::RightParen)
                    );
                if let (true, Some(true), Some(bytes)) =
                    (alone, blob.get(position).copied(), is_hex_bytea(token))
                {
                    let escaped: String = bytes.iter().map(|b| format!("\\x{b:02X}")).collect();
                    replacements.push((*index, format!("'{escaped}'")));
                }
            }
            _ => {}
        }
        if depth == 0 && token.kind == TokenKind::Semicolon {
            break;
        }
    }
    if replacements.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next = replacements.into_iter().peekable();
    for (i, token) in tokens.iter().enumerate() {
        match next.peek() {
            Some((at, text)) if *at == i => {
                out.push_str(text);
                next.next();
            }
            _ => out.push_str(token.text),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ducklake_inlined_blob_insert() {
        let sql = r#"INSERT INTO "public".ducklake_inlined_data_1_1 VALUES (2, 4, NULL, '\x', 'x', '\x5b5d'), (3, 4, NULL, '\x00ff', '\x41', CAST('\x' AS VARCHAR))"#;
        let target = hex_insert_target(sql).unwrap();
        assert_eq!(target.schema.as_deref(), Some("public"));
        assert_eq!(target.table, "ducklake_inlined_data_1_1");
        assert_eq!(target.columns, None);
        let blob = [false, false, false, true, false, true];
        let out = rewrite_hex_bytea(sql, &blob).unwrap();
        assert_eq!(
            out,
            r#"INSERT INTO "public".ducklake_inlined_data_1_1 VALUES (2, 4, NULL, '', 'x', '\x5B\x5D'), (3, 4, NULL, '\x00\xFF', '\x41', CAST('\x' AS VARCHAR))"#
        );
    }

    #[test]
    fn explicit_columns_and_non_matches() {
        let target = hex_insert_target(r"INSERT INTO t (b, a) VALUES ('\x00', 1)").unwrap();
        assert_eq!(target.columns, Some(vec!["b".to_string(), "a".to_string()]));
        assert_eq!(hex_insert_target(r"INSERT INTO t VALUES ('\xZZ')"), None);
        assert_eq!(hex_insert_target(r"INSERT INTO t SELECT '\x00'"), None);
        assert_eq!(hex_insert_target("INSERT INTO t VALUES ('plain')"), None);
        // Text columns keep the characters.
        assert_eq!(
            rewrite_hex_bytea(r"INSERT INTO t VALUES ('\x00')", &[false]),
            None
        );
        // Part of an expression: left alone.
        assert_eq!(
            rewrite_hex_bytea(r"INSERT INTO t VALUES ('\x00' || '\x01')", &[true]),
            None
        );
    }
}
