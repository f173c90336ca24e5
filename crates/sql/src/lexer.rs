//! A PostgreSQL-dialect tokenizer.
//!
//! It does not parse SQL; it only finds token boundaries well enough to split
//! a query string into statements, classify statements by their leading
//! keywords, and rewrite a few PostgreSQL-only spellings for DuckDB.
//!
//! Invariant: concatenating the `text` of every token reproduces the input
//! exactly, so a rewrite that touches no token is the identity.

use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Whitespace,
    /// `-- ...` or `/* ... */` (nested, as in PostgreSQL).
    Comment,
    /// Unquoted identifier or keyword.
    Word,
    /// `"quoted identifier"`.
    QuotedIdent,
    /// `'string'`, `E'string'`, `B'..'`, `X'..'`, `U&'..'` or `$tag$string$tag$`.
    String,
    Number,
    /// Positional parameter `$1`.
    Param,
    Semicolon,
    LeftParen,
    RightParen,
    Comma,
    Dot,
    /// Any operator or other punctuation, e.g. `::`, `=`, `~`, `[`.
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: TokenKind,
    pub text: &'a str,
}

impl Token<'_> {
    /// True for tokens that carry no meaning: whitespace and comments.
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, TokenKind::Whitespace | TokenKind::Comment)
    }

    /// Case-insensitive keyword match for unquoted words.
    pub fn is_word(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    /// The identifier this token names, unquoted and case-folded as
    /// PostgreSQL does, or `None` when the token is not an identifier.
    pub fn identifier(&self) -> Option<String> {
        match self.kind {
            TokenKind::Word => Some(self.text.to_ascii_lowercase()),
            TokenKind::QuotedIdent => {
                let inner = &self.text[1..self.text.len() - 1];
                Some(inner.replace("\"\"", "\""))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub message: String,
    /// Byte offset where the offending token starts.
    pub position: usize,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at or near byte {}", self.message, self.position)
    }
}

impl std::error::Error for LexError {}

pub fn tokenize(sql: &str) -> Result<Vec<Token<'_>>, LexError> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let (kind, end) = next_token(sql, start)?;
        debug_assert!(end > start, "tokenizer must make progress");
        tokens.push(Token {
            kind,
            text: &sql[start..end],
        });
        pos = end;
    }
    Ok(tokens)
}

fn next_token(sql: &str, start: usize) -> Result<(TokenKind, usize), LexError> {
    let bytes = sql.as_bytes();
    let c = bytes[start];
    let peek = |offset: usize| bytes.get(start + offset).copied();
    let error = |message: &str| LexError {
        message: message.to_string(),
        position: start,
    };
    match c {
        b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
            let end = scan_while(bytes, start, |b| b.is_ascii_whitespace());
            Ok((TokenKind::Whitespace, end))
        }
        b'-' if peek(1) == Some(b'-') => {
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| start + p + 1);
            Ok((TokenKind::Comment, end))
        }
        b'/' if peek(1) == Some(b'*') => {
            let mut depth = 0usize;
            let mut pos = start;
            while pos < bytes.len() {
                if bytes[pos] == b'/' && bytes.get(pos + 1) == Some(&b'*') {
                    depth += 1;
                    pos += 2;
                } else if bytes[pos] == b'*' && bytes.get(pos + 1) == Some(&b'/') {
                    depth -= 1;
                    pos += 2;
                    if depth == 0 {
                        return Ok((TokenKind::Comment, pos));
                    }
                } else {
                    pos += 1;
                }
            }
            Err(error("unterminated /* comment"))
        }
        b'\'' => Ok((
            TokenKind::String,
            scan_quoted(bytes, start, b'\'', false, &error)?,
        )),
        b'"' => Ok((
            TokenKind::QuotedIdent,
            scan_quoted(bytes, start, b'"', false, &error)?,
        )),
        b'e' | b'E' if peek(1) == Some(b'\'') => Ok((
            TokenKind::String,
            scan_quoted(bytes, start + 1, b'\'', true, &error)?,
        )),
        b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if peek(1) == Some(b'\'') => Ok((
            TokenKind::String,
            scan_quoted(bytes, start + 1, b'\'', false, &error)?,
        )),
        b'u' | b'U' if peek(1) == Some(b'&') && peek(2) == Some(b'\'') => Ok((
            TokenKind::String,
            scan_quoted(bytes, start + 2, b'\'', false, &error)?,
        )),
        b'$' if peek(1).is_some_and(|b| b.is_ascii_digit()) => {
            let end = scan_while(bytes, start + 1, |b| b.is_ascii_digit());
            Ok((TokenKind::Param, end))
        }
        b'$' => {
            if let Some(end) = scan_dollar_quoted(sql, start) {
                return end
                    .map(|end| (TokenKind::String, end))
                    .ok_or_else(|| error("unterminated dollar-quoted string"));
            }
            Ok((TokenKind::Operator, start + 1))
        }
        b'0'..=b'9' => Ok((TokenKind::Number, scan_number(bytes, start))),
        b'.' if peek(1).is_some_and(|b| b.is_ascii_digit()) => {
            Ok((TokenKind::Number, scan_number(bytes, start)))
        }
        b';' => Ok((TokenKind::Semicolon, start + 1)),
        b'(' => Ok((TokenKind::LeftParen, start + 1)),
        b')' => Ok((TokenKind::RightParen, start + 1)),
        b',' => Ok((TokenKind::Comma, start + 1)),
        b'.' => Ok((TokenKind::Dot, start + 1)),
        c if is_identifier_start(c) => {
            let end = scan_while(bytes, start, is_identifier_part);
            Ok((TokenKind::Word, end))
        }
        c if is_operator_char(c) => {
            let mut end = scan_while(bytes, start, is_operator_char);
            // `a::int` keeps `::` apart from a following operator char such as `-`.
            if sql[start..end].starts_with("::") {
                end = start + 2;
            }
            Ok((TokenKind::Operator, end))
        }
        _ => {
            // Any other character (including multi-byte UTF-8) stands alone.
            let width = sql[start..].chars().next().map_or(1, char::len_utf8);
            Ok((TokenKind::Operator, start + width))
        }
    }
}

fn scan_while(bytes: &[u8], start: usize, predicate: impl Fn(u8) -> bool) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| !predicate(b))
        .map_or(bytes.len(), |p| start + p)
}

/// Scans a quoted token whose opening quote is at `quote_pos`; a doubled quote
/// is an escaped quote, and `backslash_escapes` honours `\'` in E'' strings.
fn scan_quoted(
    bytes: &[u8],
    quote_pos: usize,
    quote: u8,
    backslash_escapes: bool,
    error: &dyn Fn(&str) -> LexError,
) -> Result<usize, LexError> {
    let mut pos = quote_pos + 1;
    while pos < bytes.len() {
        let b = bytes[pos];
        if backslash_escapes && b == b'\\' {
            pos += 2;
            continue;
        }
        if b == quote {
            if bytes.get(pos + 1) == Some(&quote) {
                pos += 2;
                continue;
            }
            return Ok(pos + 1);
        }
        pos += 1;
    }
    Err(error(if quote == b'"' {
        "unterminated quoted identifier"
    } else {
        "unterminated quoted string"
    }))
}

/// Returns `None` if the `$` does not open a dollar quote, `Some(None)` if it
/// opens one that never closes, and `Some(Some(end))` otherwise.
fn scan_dollar_quoted(sql: &str, start: usize) -> Option<Option<usize>> {
    let bytes = sql.as_bytes();
    let tag_end = scan_while(bytes, start + 1, |b| b.is_ascii_alphanumeric() || b == b'_');
    if bytes.get(tag_end) != Some(&b'$') {
        return None;
    }
    let tag = &sql[start..=tag_end];
    let body_start = tag_end + 1;
    Some(
        sql[body_start..]
            .find(tag)
            .map(|p| body_start + p + tag.len()),
    )
}

fn scan_number(bytes: &[u8], start: usize) -> usize {
    let mut pos = scan_while(bytes, start, |b| b.is_ascii_digit() || b == b'_');
    if bytes.get(pos) == Some(&b'.') && bytes.get(pos + 1) != Some(&b'.') {
        pos = scan_while(bytes, pos + 1, |b| b.is_ascii_digit() || b == b'_');
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        let mut exp = pos + 1;
        if matches!(bytes.get(exp), Some(b'+' | b'-')) {
            exp += 1;
        }
        if bytes.get(exp).is_some_and(|b| b.is_ascii_digit()) {
            pos = scan_while(bytes, exp, |b| b.is_ascii_digit());
        }
    }
    pos
}

fn is_identifier_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_identifier_part(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

fn is_operator_char(c: u8) -> bool {
    b"+-*/<>=~!@#%^&|`?:[]{}".contains(&c)
}

/// Whether `sql` contains any of `words` (ASCII, any case) anywhere: a cheap
/// test that lets a rewrite skip tokenizing text it cannot change.
pub fn mentions_any(sql: &str, words: &[&str]) -> bool {
    words.iter().any(|word| {
        sql.as_bytes()
            .windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
    })
}

/// The bytes of `sql` from token `first` through token `last`, both cut
/// from `sql` by [`tokenize`].
pub fn span(sql: &str, first: &Token<'_>, last: &Token<'_>) -> Range<usize> {
    let offset = |token: &Token<'_>| token.text.as_ptr() as usize - sql.as_ptr() as usize;
    offset(first)..offset(last) + last.text.len()
}

/// `text` with each of the ascending, disjoint byte ranges of `edits`
/// replaced by its text.
pub fn splice(text: &str, edits: impl IntoIterator<Item = (Range<usize>, String)>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut next = 0;
    for (range, replacement) in edits {
        out.push_str(&text[next..range.start]);
        out.push_str(&replacement);
        next = range.end;
    }
    out.push_str(&text[next..]);
    out
}

/// The meaningful tokens of `tokens`, skipping whitespace and comments.
pub fn significant<'t, 'a>(tokens: &'t [Token<'a>]) -> impl Iterator<Item = &'t Token<'a>> {
    tokens.iter().filter(|t| !t.is_trivia())
}

/// Splits a query string into statements at top-level semicolons, the way
/// PostgreSQL's simple query protocol does. Empty statements are dropped.
pub fn split_statements(sql: &str) -> Result<Vec<&str>, LexError> {
    let tokens = tokenize(sql)?;
    let mut statements = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    let mut depth = 0i32;
    let mut has_content = false;
    for token in &tokens {
        match token.kind {
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => depth -= 1,
            TokenKind::Semicolon if depth <= 0 => {
                if has_content {
                    statements.push(sql[start..offset].trim());
                }
                start = offset + 1;
                has_content = false;
                depth = 0;
            }
            _ => {}
        }
        if !token.is_trivia() && token.kind != TokenKind::Semicolon {
            has_content = true;
        }
        offset += token.text.len();
    }
    if has_content {
        statements.push(sql[start..].trim());
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_reproduce_input() {
        let sql = "SELECT E'a\\'b', $1, \"Q\"\"x\", $tag$ ; $tag$ -- c\n/* /* n */ */ 1.5e3::int;";
        let tokens = tokenize(sql).unwrap();
        let joined: String = tokens.iter().map(|t| t.text).collect();
        assert_eq!(joined, sql);
        let kinds: Vec<_> = significant(&tokens).map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            vec![
                TokenKind::Word,
                TokenKind::String,
                TokenKind::Comma,
                TokenKind::Param,
                TokenKind::Comma,
                TokenKind::QuotedIdent,
                TokenKind::Comma,
                TokenKind::String,
                TokenKind::Number,
                TokenKind::Operator,
                TokenKind::Word,
                TokenKind::Semicolon
            ]
        );
    }

    #[test]
    fn split_respects_quotes_comments_and_parentheses() {
        let sql =
            "BEGIN;\n\tSELECT ';' FROM t; -- x;\n SELECT $$a;b$$ ;; INSERT INTO t VALUES (1);";
        assert_eq!(
            split_statements(sql).unwrap(),
            vec![
                "BEGIN",
                "SELECT ';' FROM t",
                "-- x;\n SELECT $$a;b$$",
                "INSERT INTO t VALUES (1)"
            ]
        );
        assert!(split_statements("  ;  ; ").unwrap().is_empty());
    }

    #[test]
    fn unterminated_tokens_are_errors() {
        assert!(tokenize("SELECT 'abc").is_err());
        assert!(tokenize("SELECT \"abc").is_err());
        assert!(tokenize("SELECT /* abc").is_err());
        assert!(tokenize("SELECT $q$ abc").is_err());
    }

    #[test]
    fn identifiers_fold_case_unless_quoted() {
        let tokens = tokenize("Foo \"Bar\"").unwrap();
        assert_eq!(tokens[0].identifier().as_deref(), Some("foo"));
        assert_eq!(tokens[2].identifier().as_deref(), Some("Bar"));
    }
}
