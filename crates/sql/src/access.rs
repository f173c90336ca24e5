//! Which relations a statement may read and write, for the conflict check of
//! replicated transactions.
//!
//! The sets are conservative over-approximations at table granularity:
//! a name is the last part of a (possibly qualified) identifier, lower-cased,
//! so `"public".Ducklake_Snapshot` and `main.ducklake_snapshot` are the same
//! relation. Two relations with one name in different schemas share a name;
//! that only causes extra conflicts, never missed ones. [`ALL`] stands for
//! every relation (DDL, or a write whose target cannot be named).
//!
//! - **Reads** are every identifier in the statement (table names, but also
//!   column, alias and function names; the extras are harmless). A view or
//!   macro hides the tables it reads, so the caller must widen the reads to
//!   [`ALL`] when one of the names is a view or macro of the catalog.
//! - A **blind insert** (`INSERT ... VALUES` with no subquery, no
//!   `ON CONFLICT`, no `RETURNING`) reads nothing: its effect does not depend
//!   on what it could have read, except through constraints, which the apply
//!   re-checks deterministically.
//! - **Writes** are the target of INSERT, UPDATE, DELETE, MERGE, TRUNCATE,
//!   and [`ALL`] for DDL and anything else.

use std::collections::BTreeSet;

use crate::lexer::{significant, tokenize, Token, TokenKind};

/// The name that stands for every relation.
pub const ALL: &str = "*";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub reads: BTreeSet<String>,
    pub writes: BTreeSet<String>,
}

impl Access {
    /// Folds `other` into `self`.
    pub fn merge(&mut self, other: Access) {
        self.reads.extend(other.reads);
        self.writes.extend(other.writes);
    }
}

/// Keywords that never name a relation; dropping them keeps entries small.
const NOT_RELATIONS: &[&str] = &[
    "all",
    "and",
    "as",
    "asc",
    "begin",
    "between",
    "by",
    "case",
    "cast",
    "conflict",
    "cross",
    "delete",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "left",
    "like",
    "limit",
    "not",
    "nothing",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "returning",
    "right",
    "select",
    "set",
    "then",
    "true",
    "union",
    "update",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// The access of one statement (reads only for a read). `is_write` comes
/// from the caller's classification; DDL is `writes = {ALL}`.
pub fn statement_access(sql: &str, is_write: bool, is_ddl: bool) -> Access {
    let Ok(tokens) = tokenize(sql) else {
        return everything();
    };
    let tokens: Vec<Token<'_>> = significant(&tokens).copied().collect();
    let mut access = Access::default();
    if is_ddl {
        access.writes.insert(ALL.to_string());
    } else if is_write {
        access
            .writes
            .insert(write_target(&tokens).unwrap_or_else(|| ALL.to_string()));
    }
    if !(is_write && !is_ddl && is_blind_insert(&tokens)) {
        access.reads = identifiers(&tokens);
    }
    access
}

/// The access of rows appended to `table` (COPY FROM): a blind write.
pub fn append_access(table: &str) -> Access {
    let name = table
        .rsplit('.')
        .next()
        .unwrap_or(table)
        .trim_matches('"')
        .to_ascii_lowercase();
    Access {
        reads: BTreeSet::new(),
        writes: BTreeSet::from([name]),
    }
}

fn everything() -> Access {
    Access {
        reads: BTreeSet::from([ALL.to_string()]),
        writes: BTreeSet::from([ALL.to_string()]),
    }
}

fn identifiers(tokens: &[Token<'_>]) -> BTreeSet<String> {
    tokens
        .iter()
        .filter_map(Token::identifier)
        .map(|name| name.to_ascii_lowercase())
        .filter(|name| !NOT_RELATIONS.contains(&name.as_str()))
        .collect()
}

/// The relation written by the top-level INSERT/UPDATE/DELETE/MERGE/TRUNCATE
/// (after any `WITH` clause), or `None` if it cannot be told.
fn write_target(tokens: &[Token<'_>]) -> Option<String> {
    let mut depth = 0usize;
    let mut position = None;
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => depth = depth.saturating_sub(1),
            _ if depth == 0
                && ["insert", "update", "delete", "merge", "truncate"]
                    .iter()
                    .any(|k| token.is_word(k)) =>
            {
                position = Some(i);
                break;
            }
            _ => {}
        }
    }
    let start = position?;
    let verb = tokens[start].text.to_ascii_lowercase();
    let mut i = start + 1;
    // Skip to the name: `INSERT [OR REPLACE|IGNORE] INTO`, `DELETE FROM`,
    // `MERGE INTO`, `TRUNCATE [TABLE]`, `UPDATE [ONLY]`.
    let skip: &[&str] = match verb.as_str() {
        "insert" => &["or", "replace", "ignore", "into"],
        "delete" => &["from", "only"],
        "merge" => &["into"],
        "truncate" => &["table", "only"],
        _ => &["only"],
    };
    while tokens
        .get(i)
        .is_some_and(|t| skip.iter().any(|k| t.is_word(k)))
    {
        i += 1;
    }
    qualified_name_last(tokens, i)
}

/// The last part of the qualified name starting at `i`.
fn qualified_name_last(tokens: &[Token<'_>], mut i: usize) -> Option<String> {
    let mut last = tokens.get(i)?.identifier()?;
    while tokens.get(i + 1).is_some_and(|t| t.kind == TokenKind::Dot) {
        last = tokens.get(i + 2)?.identifier()?;
        i += 2;
    }
    Some(last.to_ascii_lowercase())
}

fn is_blind_insert(tokens: &[Token<'_>]) -> bool {
    let starts_insert = tokens.first().is_some_and(|t| t.is_word("insert"));
    let has_values = tokens.iter().any(|t| t.is_word("values"));
    let reads_something = tokens.iter().any(|t| {
        [
            "select",
            "with",
            "conflict",
            "returning",
            "replace",
            "ignore",
            "from",
        ]
        .iter()
        .any(|k| t.is_word(k))
    });
    starts_insert && has_values && !reads_something
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ducklake_statements() {
        let read = statement_access(
            "COPY (SELECT snapshot_id FROM \"public\".ducklake_snapshot WHERE snapshot_id = \
             (SELECT MAX(snapshot_id) FROM \"public\".ducklake_snapshot)) TO STDOUT",
            false,
            false,
        );
        assert!(read.reads.contains("ducklake_snapshot"));
        assert!(read.writes.is_empty());

        let insert = statement_access(
            "INSERT INTO \"public\".ducklake_snapshot VALUES (1, '2024-01-01', 1, 2, 0)",
            true,
            false,
        );
        assert_eq!(insert.writes, set(&["ducklake_snapshot"]));
        assert!(insert.reads.is_empty(), "blind insert: {:?}", insert.reads);

        let update = statement_access(
            "UPDATE \"public\".ducklake_table SET end_snapshot = 3 WHERE table_id = 1",
            true,
            false,
        );
        assert_eq!(update.writes, set(&["ducklake_table"]));
        assert!(update.reads.contains("ducklake_table"));
        assert!(update.reads.contains("end_snapshot"));
    }

    #[test]
    fn inserts_that_read_are_not_blind() {
        for sql in [
            "INSERT INTO t SELECT * FROM s",
            "INSERT INTO t VALUES ((SELECT max(a) FROM s))",
            "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
            "INSERT INTO t VALUES (1) RETURNING a",
            "INSERT OR REPLACE INTO t VALUES (1)",
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        ] {
            let access = statement_access(sql, true, false);
            assert_eq!(access.writes, set(&["t"]), "{sql}");
            assert!(access.reads.contains("t"), "{sql}: {:?}", access.reads);
        }
    }

    #[test]
    fn targets_and_fallbacks() {
        let cases = [
            ("DELETE FROM Main.\"People\" WHERE id = 1", "people"),
            ("TRUNCATE TABLE t", "t"),
            (
                "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
                "t",
            ),
            (
                "WITH d AS (SELECT 1) DELETE FROM t WHERE a IN (SELECT * FROM d)",
                "t",
            ),
            ("CALL something()", ALL),
        ];
        for (sql, target) in cases {
            assert_eq!(
                statement_access(sql, true, false).writes,
                set(&[target]),
                "{sql}"
            );
        }
        assert_eq!(
            statement_access("CREATE TABLE t (a INT)", true, true).writes,
            set(&[ALL])
        );
        assert_eq!(append_access("\"public\".\"T\"").writes, set(&["t"]));
        assert_eq!(
            statement_access("SELECT 'unterminated", false, false),
            everything()
        );
    }
}
