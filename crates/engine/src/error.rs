//! Engine errors carry the SQLSTATE a PostgreSQL client expects.
//!
//! DuckDB reports errors as text prefixed with an exception class
//! ("Catalog Error: Table with name t does not exist!"). The mapping below
//! turns those classes and messages into PostgreSQL codes and messages.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    pub sqlstate: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl EngineError {
    pub fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        EngineError {
            sqlstate,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn internal(message: impl Into<String>) -> Self {
        EngineError::new("XX000", message)
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sqlstate, self.message)
    }
}

impl std::error::Error for EngineError {}

impl From<duckdb::Error> for EngineError {
    fn from(error: duckdb::Error) -> Self {
        from_duckdb_message(&error.to_string())
    }
}

impl From<std::io::Error> for EngineError {
    fn from(error: std::io::Error) -> Self {
        EngineError::new("58030", format!("I/O error: {error}"))
    }
}

/// Maps a DuckDB error message to a SQLSTATE and a client-facing message.
pub fn from_duckdb_message(raw: &str) -> EngineError {
    let (class, message) = match raw.split_once(" Error: ") {
        Some((class, message)) => (class.trim(), message.trim()),
        None => ("", raw.trim()),
    };
    // DuckDB appends "LINE 1: ..." context; keep only the first line for the message.
    let first_line = message.lines().next().unwrap_or(message).to_string();
    let first_lower = first_line.to_ascii_lowercase();
    let lower = message.to_ascii_lowercase();
    let class = class.to_ascii_lowercase();
    let code = match class.as_str() {
        "parser" => "42601",
        "interrupt" => "57014",
        "constraint" => {
            if lower.contains("not null") {
                "23502"
            } else if lower.contains("foreign key") {
                "23503"
            } else if lower.contains("check constraint") {
                "23514"
            } else {
                "23505"
            }
        }
        "catalog" => {
            if lower.contains("already exists") {
                if lower.contains("schema") {
                    "42P06"
                } else {
                    "42P07"
                }
            } else if lower.contains("schema") && lower.contains("does not exist") {
                "3F000"
            } else if lower.contains("function") || lower.contains("macro") {
                "42883"
            } else if lower.contains("type with name") {
                "42704"
            } else {
                "42P01"
            }
        }
        "binder" => {
            if lower.contains("referenced column")
                || lower.contains("column") && lower.contains("not found")
            {
                "42703"
            } else if lower.contains("no function matches")
                || lower.contains("function") && lower.contains("does not exist")
            {
                "42883"
            } else if lower.contains("table") && lower.contains("does not exist") {
                "42P01"
            } else {
                "42601"
            }
        }
        // DuckDB 2 raises this one as invalid input.
        _ if lower.starts_with("division by zero") => "22012",
        // Raised by the emulation's own macros (`error(...)` in pg_catalog.sql).
        _ if lower.contains("is not supported by duckraft") => "0A000",
        "conversion" | "invalid input" => {
            if lower.contains("out of range") || lower.contains("overflow") {
                "22003"
            } else {
                "22P02"
            }
        }
        "out of range" => "22003",
        "division by zero" => "22012",
        "transactioncontext" => {
            if lower.contains("conflict") {
                "40001"
            } else if lower.contains("aborted") {
                "25P02"
            } else {
                "25000"
            }
        }
        "transaction" => "40001",
        "not implemented" => "0A000",
        "permission" => "42501",
        "io" => "58030",
        "out of memory" => "53200",
        "dependency" => "2BP01",
        "sequence" => "2200H",
        "serialization" => "XX001",
        "fatal" | "internal" => "XX000",
        _ => {
            if lower.contains("conflict") {
                "40001"
            } else {
                "XX000"
            }
        }
    };
    let message = match code {
        // DuckDB's own advice (TRY, error_on_division_by_zero) does not apply here.
        "22012" => "division by zero".to_string(),
        "40001" => format!("could not serialize access due to concurrent update: {first_line}"),
        "42P01" if first_line.starts_with("Table with name ") => {
            // "Table with name t does not exist!" -> PostgreSQL's wording.
            let name = first_line
                .trim_start_matches("Table with name ")
                .split(" does not exist")
                .next()
                .unwrap_or_default();
            format!("relation \"{name}\" does not exist")
        }
        _ => first_line,
    };
    // The bundled DuckDB has no ICU: time zone arithmetic on TIMESTAMPTZ,
    // and its casts to dates and times, are missing. Only the error's own
    // line counts: a list of candidate functions that follows it names
    // TIMESTAMPTZ overloads for any mistyped call (`to_char(1.5, '9.9')`).
    let needs_icu = first_lower.contains("icu extension")
        || first_lower.contains("required extension 'icu")
        || first_lower.contains("timestamp with time zone");
    if needs_icu && !matches!(code, "22012" | "40001") {
        let code = if code == "XX000" { "0A000" } else { code };
        return EngineError::new(code, message).with_hint(
            "duckraft's DuckDB has no time zone support: cast TIMESTAMPTZ values to \
             TIMESTAMP (sessions run in UTC) first, e.g. now()::timestamp - interval '1 day'",
        );
    }
    EngineError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_messages_map_to_postgres_codes() {
        let cases = [
            ("Parser Error: syntax error at or near \"SELEC\"", "42601"),
            (
                "Catalog Error: Table with name nope does not exist!\nDid you mean x?",
                "42P01",
            ),
            (
                "Binder Error: Referenced column \"zz\" not found in FROM clause!",
                "42703",
            ),
            (
                "Constraint Error: Duplicate key \"id: 1\" violates primary key constraint.",
                "23505",
            ),
            ("Constraint Error: NOT NULL constraint failed: t.a", "23502"),
            (
                "Conversion Error: Could not convert string 'x' to INT32",
                "22P02",
            ),
            (
                "TransactionContext Error: Catalog write-write conflict on create with \"t\"",
                "40001",
            ),
            ("Interrupt Error: Interrupted!", "57014"),
            ("INTERRUPT Error: Interrupted!", "57014"),
            (
                "Catalog Error: Table with name \"t\" already exists!",
                "42P07",
            ),
            (
                "Invalid Input Error: Division by zero in expression (1 // 0). Use TRY(...)",
                "22012",
            ),
            (
                "Catalog Error: Scalar Function with name \"date_trunc\" is not in the catalog, \
                 but it exists in the icu extension.",
                "42883",
            ),
            (
                "An error occurred while trying to automatically install the required extension 'icu':\n...",
                "0A000",
            ),
            (
                "Invalid Input Error: to_char template \"Month\" is not supported by duckraft: ...",
                "0A000",
            ),
        ];
        for (message, code) in cases {
            assert_eq!(from_duckdb_message(message).sqlstate, code, "{message}");
        }
        assert_eq!(
            from_duckdb_message("Catalog Error: Table with name nope does not exist!").message,
            "relation \"nope\" does not exist"
        );
        let icu = "Binder Error: No function matches the given name and argument types \
                   '-(TIMESTAMP WITH TIME ZONE, INTERVAL)'.";
        assert!(from_duckdb_message(icu)
            .hint
            .unwrap()
            .contains("now()::timestamp"));
        assert_eq!(from_duckdb_message("Parser Error: x").hint, None);
        let mistyped = "Binder Error: No function matches the given name and argument types \
                        'strftime(DECIMAL(5,1), VARCHAR)'. You might need to add explicit type \
                        casts.\n\tCandidate functions:\n\tstrftime(DATE, VARCHAR) -> VARCHAR\n\t\
                        strftime(TIMESTAMP WITH TIME ZONE, VARCHAR) -> VARCHAR\n";
        assert_eq!(from_duckdb_message(mistyped).hint, None);
    }
}
