//! Errors as a PostgreSQL client sees them: a SQLSTATE, a message and a severity.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// FATAL errors close the connection after they are sent.
    pub fatal: bool,
}

impl PgError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        PgError {
            code,
            message: message.into(),
            detail: None,
            hint: None,
            fatal: false,
        }
    }

    pub fn fatal(code: &'static str, message: impl Into<String>) -> Self {
        PgError {
            fatal: true,
            ..PgError::new(code, message)
        }
    }

    /// A malformed or out-of-order message: answered, then the connection closes.
    pub fn protocol(message: impl Into<String>) -> Self {
        PgError::fatal("08P01", message)
    }

    pub fn io(e: std::io::Error) -> Self {
        PgError::fatal("08006", format!("connection failure: {e}"))
    }

    pub fn syntax(message: impl Into<String>) -> Self {
        PgError::new("42601", message)
    }

    pub fn feature_not_supported(message: impl Into<String>) -> Self {
        PgError::new("0A000", message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn severity(&self) -> &'static str {
        if self.fatal {
            "FATAL"
        } else {
            "ERROR"
        }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.severity(), self.code, self.message)
    }
}

impl std::error::Error for PgError {}

pub mod sqlstate {
    pub const SUCCESSFUL_COMPLETION: &str = "00000";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const NOT_NULL_VIOLATION: &str = "23502";
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const SYNTAX_ERROR: &str = "42601";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const DUPLICATE_DATABASE: &str = "42P04";
    pub const DUPLICATE_SCHEMA: &str = "42P06";
    pub const INVALID_SCHEMA_NAME: &str = "3F000";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    pub const INVALID_CATALOG_NAME: &str = "3D000";
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const INVALID_AUTHORIZATION: &str = "28000";
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    pub const QUERY_CANCELED: &str = "57014";
    pub const ADMIN_SHUTDOWN: &str = "57P01";
    pub const IDLE_SESSION_TIMEOUT: &str = "57P05";
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const INVALID_CURSOR_NAME: &str = "34000";
    pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
    pub const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    pub const INTERNAL_ERROR: &str = "XX000";
    pub const OBJECT_IN_USE: &str = "55006";
    pub const BAD_COPY_FILE_FORMAT: &str = "22P04";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
}
