//! `information_schema.columns` with PostgreSQL's type names.
//!
//! DuckDB answers `information_schema` from its own system catalog, which a
//! search path cannot shadow, and names types its way (`VARCHAR`,
//! `DECIMAL(5,2)`, `INTEGER[]`, and the aliases of `crate::column_defs`).
//! Tools that reflect a schema through `information_schema.columns` expect
//! `character varying`, `numeric` and `ARRAY`, so the name is pointed at
//! the catalog's emulated view (`pg_catalog.sql`).

use std::borrow::Cow;

use crate::lexer::{mentions_any, span, splice, tokenize, TokenKind};

/// The view that stands in for `information_schema.columns`.
pub const COLUMNS_VIEW: &str = "duckraft_pg.main.duckraft_information_schema_columns";

/// Replaces each `information_schema.columns` (not itself qualified by a
/// catalog name); other text comes back unchanged.
pub fn columns_with_postgres_types(sql: &str) -> Cow<'_, str> {
    if !mentions_any(sql, &["information_schema"]) {
        return Cow::Borrowed(sql);
    }
    let Ok(tokens) = tokenize(sql) else {
        return Cow::Borrowed(sql);
    };
    let sig: Vec<usize> = (0..tokens.len())
        .filter(|&i| !tokens[i].is_trivia())
        .collect();
    let names = |k: usize, name: &str| {
        sig.get(k)
            .and_then(|&i| tokens[i].identifier())
            .is_some_and(|id| id == name)
    };
    let is_dot = |k: usize| {
        sig.get(k)
            .is_some_and(|&i| tokens[i].kind == TokenKind::Dot)
    };
    let mut spans = Vec::new();
    for k in 0..sig.len() {
        let qualified = k > 0 && is_dot(k - 1);
        if !qualified && names(k, "information_schema") && is_dot(k + 1) && names(k + 2, "columns")
        {
            spans.push((
                span(sql, &tokens[sig[k]], &tokens[sig[k + 2]]),
                COLUMNS_VIEW.to_string(),
            ));
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(splice(sql, spans))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_schema_columns_points_at_the_view() {
        assert_eq!(
            columns_with_postgres_types(
                "SELECT data_type FROM information_schema.columns c JOIN \"information_schema\" . \"columns\" d USING (column_name)"
            ),
            format!("SELECT data_type FROM {COLUMNS_VIEW} c JOIN {COLUMNS_VIEW} d USING (column_name)")
        );
        for sql in [
            "SELECT * FROM information_schema.tables",
            "SELECT * FROM x.information_schema.columns",
            "SELECT 'information_schema.columns'",
            "SELECT * FROM \"INFORMATION_SCHEMA\".columns",
        ] {
            assert_eq!(columns_with_postgres_types(sql), sql);
        }
    }
}
