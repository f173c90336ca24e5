//! Column definitions as PostgreSQL means them, spelled so DuckDB keeps them.
//!
//! DuckDB stores `text`, `varchar` and `varchar(n)` all as VARCHAR, so a
//! client could not tell them apart: psql's `\d` and a driver's result
//! types would say `character varying` for a `text` column and drop the
//! length of a `varchar(20)`. DuckDB does keep a type's alias in the table
//! definition and in query results, so a declared `text` becomes the alias
//! [`TEXT_TYPE`] and a declared `varchar(n)` the alias
//! `duckraft_varchar_<n>` ([`VARCHAR_TYPE_PREFIX`]). The engine registers
//! those aliases (and their implicit cast to VARCHAR) before DuckDB binds a
//! statement that names them. A plain `varchar` stays VARCHAR: DuckLake's
//! own tables use it, and it already reads as `character varying`.
//!
//! A column name that PostgreSQL allows but DuckDB's grammar reserves (such
//! as `by`) is quoted, as PostgreSQL would read it.
//!
//! Only the column definitions of `CREATE TABLE` and `ALTER TABLE ... ADD`
//! and the target of `ALTER ... TYPE` are touched, never a query: there
//! `text` is a cast target or a column alias, and a cast keeps meaning text.

use std::borrow::Cow;

use crate::lexer::{mentions_any, span, splice, tokenize, Token, TokenKind};

/// The DuckDB alias a declared `text` column gets.
pub const TEXT_TYPE: &str = "duckraft_text";
/// `duckraft_varchar_<n>` is the DuckDB alias of a declared `varchar(n)`.
pub const VARCHAR_TYPE_PREFIX: &str = "duckraft_varchar_";
/// PostgreSQL's largest `varchar` length.
pub const MAX_VARCHAR_LENGTH: u32 = 10_485_760;

/// Words PostgreSQL accepts as a column name (unreserved there) that DuckDB's
/// grammar does not.
const RESERVED_BY_DUCKDB: &[&str] = &[
    "anti",
    "asof",
    "at",
    "by",
    "columns",
    "describe",
    "generated",
    "glob",
    "lambda",
    "map",
    "pivot",
    "pivot_longer",
    "pivot_wider",
    "positional",
    "qualify",
    "semi",
    "show",
    "struct",
    "summarize",
    "try_cast",
    "unpack",
];

/// Words that start a table constraint, not a column, in a definition list.
const CONSTRAINT_WORDS: &[&str] = &[
    "constraint",
    "primary",
    "unique",
    "check",
    "foreign",
    "exclude",
    "like",
];

/// The declared `varchar` length of a DuckDB type name or alias, if it is one
/// of ours (`duckraft_varchar_20` is 20).
pub fn declared_varchar_length(type_name: &str) -> Option<u32> {
    let digits = type_name.strip_prefix(VARCHAR_TYPE_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse()
        .ok()
        .filter(|n| (1..=MAX_VARCHAR_LENGTH).contains(n))
}

/// Rewrites the column definitions of a `CREATE TABLE` or `ALTER TABLE`;
/// any other statement comes back unchanged.
pub fn column_definitions_for_duckdb(sql: &str) -> Cow<'_, str> {
    // Cheap enough for every statement: DuckLake's mention its tables.
    if !mentions_any(sql, &["create", "alter"]) || !mentions_any(sql, &["table"]) {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = tokenize(sql) else {
        return Cow::Borrowed(sql);
    };
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_trivia())
        .collect();
    let mut edits = Edits::default();
    let word = |k: usize, w: &str| sig.get(k).is_some_and(|&i| tokens[i].is_word(w));
    if word(0, "create") {
        create_table(&tokens, &sig, &mut edits);
    } else if word(0, "alter") && word(1, "table") {
        alter_table(&tokens, &sig, &mut edits);
    }
    edits.apply(&tokens, sql)
}

/// Replacements of token ranges `[first, last]` (token indices), in order.
#[derive(Default)]
struct Edits(Vec<(usize, usize, String)>);

impl Edits {
    fn apply<'a>(self, tokens: &[Token<'_>], sql: &'a str) -> Cow<'a, str> {
        if self.0.is_empty() {
            return Cow::Borrowed(sql);
        }
        let edits = self
            .0
            .into_iter()
            .map(|(first, last, text)| (span(sql, &tokens[first], &tokens[last]), text));
        Cow::Owned(splice(sql, edits))
    }
}

/// `CREATE [OR REPLACE] [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE
/// [IF NOT EXISTS] name ( definitions )`.
fn create_table(tokens: &[Token<'_>], sig: &[usize], edits: &mut Edits) {
    let is = |k: usize, w: &str| sig.get(k).is_some_and(|&i| tokens[i].is_word(w));
    let mut k = 1;
    while sig.get(k).is_some_and(|&i| {
        [
            "or",
            "replace",
            "global",
            "local",
            "temp",
            "temporary",
            "unlogged",
        ]
        .iter()
        .any(|w| tokens[i].is_word(w))
    }) {
        k += 1;
    }
    if !is(k, "table") {
        return;
    }
    k += 1;
    if is(k, "if") && is(k + 1, "not") && is(k + 2, "exists") {
        k += 3;
    }
    k = skip_qualified_name(tokens, sig, k);
    if sig
        .get(k)
        .is_some_and(|&i| tokens[i].kind == TokenKind::LeftParen)
    {
        definition_list(tokens, sig, k, edits);
    }
}

/// The definitions between the `(` at `sig[open]` and its `)`: each starts
/// after the `(` or a top-level comma.
fn definition_list(tokens: &[Token<'_>], sig: &[usize], open: usize, edits: &mut Edits) {
    let mut depth = 0usize;
    let mut k = open;
    while let Some(&i) = sig.get(k) {
        match tokens[i].kind {
            TokenKind::LeftParen => {
                depth += 1;
                if depth == 1 {
                    column_definition(tokens, sig, k + 1, edits);
                }
            }
            TokenKind::RightParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
            TokenKind::Comma if depth == 1 => column_definition(tokens, sig, k + 1, edits),
            _ => {}
        }
        k += 1;
    }
}

/// A column definition `name type ...` starting at `sig[k]`; a table
/// constraint is left alone.
fn column_definition(tokens: &[Token<'_>], sig: &[usize], k: usize, edits: &mut Edits) {
    let Some(&name) = sig.get(k) else {
        return;
    };
    let name_token = &tokens[name];
    match name_token.kind {
        TokenKind::Word => {
            if CONSTRAINT_WORDS.iter().any(|w| name_token.is_word(w)) {
                return;
            }
            if RESERVED_BY_DUCKDB.iter().any(|w| name_token.is_word(w)) {
                edits.0.push((
                    name,
                    name,
                    format!("\"{}\"", name_token.text.to_ascii_lowercase()),
                ));
            }
        }
        TokenKind::QuotedIdent => {}
        _ => return,
    }
    declared_type(tokens, sig, k + 1, edits);
}

/// `ALTER TABLE ... ADD [COLUMN] [IF NOT EXISTS] name type` and
/// `... [SET DATA] TYPE type`, for every action of the statement.
fn alter_table(tokens: &[Token<'_>], sig: &[usize], edits: &mut Edits) {
    let is = |k: usize, w: &str| sig.get(k).is_some_and(|&i| tokens[i].is_word(w));
    let mut k = 2;
    while k < sig.len() {
        if is(k, "add") {
            let mut at = k + 1;
            if is(at, "column") {
                at += 1;
            }
            if is(at, "if") && is(at + 1, "not") && is(at + 2, "exists") {
                at += 3;
            }
            column_definition(tokens, sig, at, edits);
        } else if is(k, "type") {
            declared_type(tokens, sig, k + 1, edits);
        }
        k += 1;
    }
}

/// `text` or `varchar(n)` (also `character varying(n)`, `char varying(n)`)
/// starting at `sig[k]`, unless it is an array type.
fn declared_type(tokens: &[Token<'_>], sig: &[usize], k: usize, edits: &mut Edits) {
    let is = |k: usize, w: &str| sig.get(k).is_some_and(|&i| tokens[i].is_word(w));
    let kind = |k: usize| sig.get(k).map(|&i| tokens[i].kind);
    let is_array = |k: usize| {
        sig.get(k).is_some_and(|&i| {
            tokens[i].kind == TokenKind::Operator && tokens[i].text.starts_with('[')
        }) || is(k, "array")
    };
    if is(k, "text") {
        if !is_array(k + 1) {
            edits.0.push((sig[k], sig[k], TEXT_TYPE.to_string()));
        }
        return;
    }
    let name_end = if is(k, "varchar") {
        k
    } else if (is(k, "character") || is(k, "char")) && is(k + 1, "varying") {
        k + 1
    } else {
        return;
    };
    let (open, number, close) = (name_end + 1, name_end + 2, name_end + 3);
    if kind(open) != Some(TokenKind::LeftParen)
        || kind(number) != Some(TokenKind::Number)
        || kind(close) != Some(TokenKind::RightParen)
        || is_array(close + 1)
    {
        return;
    }
    let length = tokens[sig[number]].text;
    let Some(length) = declared_varchar_length(&format!("{VARCHAR_TYPE_PREFIX}{length}")) else {
        return;
    };
    edits
        .0
        .push((sig[k], sig[close], format!("{VARCHAR_TYPE_PREFIX}{length}")));
}

/// The index after a possibly qualified name (`a`, `"a".b`, `a.b.c`).
fn skip_qualified_name(tokens: &[Token<'_>], sig: &[usize], mut k: usize) -> usize {
    let is_name = |k: usize| {
        sig.get(k)
            .is_some_and(|&i| matches!(tokens[i].kind, TokenKind::Word | TokenKind::QuotedIdent))
    };
    if !is_name(k) {
        return k;
    }
    k += 1;
    while sig
        .get(k)
        .is_some_and(|&i| tokens[i].kind == TokenKind::Dot)
        && is_name(k + 1)
    {
        k += 2;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        column_definitions_for_duckdb(sql).into_owned()
    }

    #[test]
    fn declared_string_types_become_aliases() {
        assert_eq!(
            rewritten("create table people (id integer not null, name text, nick varchar(20), tags text[])"),
            "create table people (id integer not null, name duckraft_text, nick duckraft_varchar_20, tags text[])"
        );
        assert_eq!(
            rewritten("CREATE TABLE IF NOT EXISTS s.t (a CHARACTER VARYING (5) NOT NULL, b char varying(7), c VARCHAR)"),
            "CREATE TABLE IF NOT EXISTS s.t (a duckraft_varchar_5 NOT NULL, b duckraft_varchar_7, c VARCHAR)"
        );
        assert_eq!(
            rewritten("create temp table t (\"text\" text default 'x'::text, v varchar(3)[], w varchar(2) array)"),
            "create temp table t (\"text\" duckraft_text default 'x'::text, v varchar(3)[], w varchar(2) array)"
        );
    }

    #[test]
    fn alter_table_adds_and_retypes() {
        assert_eq!(
            rewritten("ALTER TABLE t ADD COLUMN IF NOT EXISTS n varchar(9), ALTER COLUMN m SET DATA TYPE text"),
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS n duckraft_varchar_9, ALTER COLUMN m SET DATA TYPE duckraft_text"
        );
        assert_eq!(
            rewritten("alter table t add by text"),
            "alter table t add \"by\" duckraft_text"
        );
        assert_eq!(
            rewritten("alter table t add constraint c unique (a)"),
            "alter table t add constraint c unique (a)"
        );
    }

    #[test]
    fn column_names_duckdb_reserves_are_quoted() {
        assert_eq!(
            rewritten(
                "CREATE TABLE rt (id integer, by bytea, At date, \"by\" int, PRIMARY KEY (id))"
            ),
            "CREATE TABLE rt (id integer, \"by\" bytea, \"at\" date, \"by\" int, PRIMARY KEY (id))"
        );
    }

    #[test]
    fn queries_and_other_statements_are_untouched() {
        for sql in [
            "create table t as select a text, b::text, cast(c as varchar(3)) from u",
            "create table t (a, b) as select 1, 'x'::text",
            "select 'create table t (a text)'",
            "create view v as select x::text from t",
            "insert into t values ('text')",
            "create table t (a varchar(0), b varchar(99999999), c varchar(n))",
            "create table t (",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }

    #[test]
    fn declared_lengths_round_trip() {
        assert_eq!(declared_varchar_length("duckraft_varchar_20"), Some(20));
        assert_eq!(declared_varchar_length("duckraft_varchar_"), None);
        assert_eq!(declared_varchar_length("duckraft_varchar_0"), None);
        assert_eq!(declared_varchar_length("duckraft_varchar_2x"), None);
        assert_eq!(declared_varchar_length("duckraft_varchar_10485761"), None);
        assert_eq!(declared_varchar_length("varchar"), None);
    }
}
