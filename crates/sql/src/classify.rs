//! Statement classification: what the session layer must do with a statement
//! before (or instead of) handing it to the execution engine.
//!
//! Session commands (transaction control, SET/SHOW, DISCARD, COPY, database
//! DDL) are recognised here and handled by duckraft itself; everything else
//! is `Sql`, tagged with the PostgreSQL command tag its completion reports.

use crate::lexer::{significant, tokenize, LexError, Token, TokenKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl IsolationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read uncommitted",
            IsolationLevel::ReadCommitted => "read committed",
            IsolationLevel::RepeatableRead => "repeatable read",
            IsolationLevel::Serializable => "serializable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: CopyFormat,
    pub delimiter: Option<char>,
    pub null: Option<String>,
    pub header: bool,
    pub quote: Option<char>,
    pub escape: Option<char>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            format: CopyFormat::Text,
            delimiter: None,
            null: None,
            header: false,
            quote: None,
            escape: None,
        }
    }
}

impl CopyOptions {
    pub fn delimiter(&self) -> char {
        self.delimiter.unwrap_or(match self.format {
            CopyFormat::Csv => ',',
            _ => '\t',
        })
    }

    pub fn null_string(&self) -> &str {
        self.null.as_deref().unwrap_or(match self.format {
            CopyFormat::Csv => "",
            _ => "\\N",
        })
    }

    pub fn quote(&self) -> char {
        self.quote.unwrap_or('"')
    }

    pub fn escape(&self) -> char {
        self.escape.unwrap_or_else(|| self.quote())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlKind {
    /// Returns rows and changes nothing.
    Read,
    /// INSERT, UPDATE, DELETE, MERGE: reports an affected-row count.
    Write,
    /// Schema change.
    Ddl,
    /// Anything else DuckDB may accept (PRAGMA, CHECKPOINT, EXPLAIN, ...).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    Begin {
        isolation: Option<IsolationLevel>,
        /// `None`: the session's `default_transaction_read_only` decides.
        read_only: Option<bool>,
    },
    Commit,
    Rollback,
    /// SAVEPOINT and friends, which DuckDB cannot provide.
    Savepoint,
    Set {
        name: String,
        /// `None` means DEFAULT.
        value: Option<String>,
        local: bool,
    },
    /// `SET TRANSACTION modes` (this transaction) or `SET SESSION
    /// CHARACTERISTICS AS TRANSACTION modes` (the session's defaults).
    SetTransaction {
        session: bool,
        isolation: Option<IsolationLevel>,
        read_only: Option<bool>,
    },
    Reset {
        /// `None` means ALL.
        name: Option<String>,
    },
    Show {
        name: String,
    },
    Discard,
    CreateDatabase {
        name: String,
    },
    DropDatabase {
        name: String,
        if_exists: bool,
    },
    /// `CREATE|ALTER|DROP ROLE|USER`: replicated roles, never sent to DuckDB.
    Role(RoleStatement),
    /// `GRANT|REVOKE CONNECT ON DATABASE d [, ...] TO|FROM role [, ...]`;
    /// `PUBLIC` is the role `public`. Replicated, never sent to DuckDB.
    DatabaseConnect {
        databases: Vec<String>,
        roles: Vec<String>,
        grant: bool,
    },
    /// `ALTER CLUSTER ADD MEMBER name PEER 'host:port'` and `ALTER CLUSTER
    /// REMOVE MEMBER name`: duckraft's own statements, replicated through
    /// cp-metadata and never sent to DuckDB.
    ClusterMember(MemberStatement),
    CopyFrom {
        /// Table reference as written (already valid SQL).
        table: String,
        columns: Vec<String>,
        options: CopyOptions,
    },
    CopyTo {
        /// A query producing the rows to copy out.
        query: String,
        options: CopyOptions,
    },
    /// COPY to or from a file or program: never allowed through the wire.
    CopyFile,
    /// `DECLARE name CURSOR [WITH HOLD] FOR query`.
    DeclareCursor {
        name: String,
        query: String,
        hold: bool,
    },
    /// `FETCH`/`MOVE [FORWARD] [n|ALL] [FROM|IN] name`; `count: None` means ALL.
    Fetch {
        name: String,
        count: Option<u64>,
        move_only: bool,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`name: None`).
    CloseCursor {
        name: Option<String>,
    },
    /// Statements duckraft does not provide (LISTEN, PREPARE, LOCK, ...).
    Unsupported {
        what: String,
    },
    Sql {
        kind: SqlKind,
        /// The command tag without a row count, e.g. `CREATE TABLE` or `INSERT`.
        tag: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleStatement {
    /// `CREATE ROLE|USER name [WITH] options`. `options.login` is always
    /// set: `CREATE USER` logs in unless `NOLOGIN`, `CREATE ROLE` only with `LOGIN`.
    Create { name: String, options: RoleOptions },
    /// `ALTER ROLE|USER name [WITH] options`; at least one option.
    Alter { name: String, options: RoleOptions },
    /// `DROP ROLE|USER [IF EXISTS] name [, ...]`.
    Drop { names: Vec<String>, if_exists: bool },
}

impl RoleStatement {
    /// PostgreSQL's command tag, which says ROLE for USER too.
    pub fn tag(&self) -> &'static str {
        match self {
            RoleStatement::Create { .. } => "CREATE ROLE",
            RoleStatement::Alter { .. } => "ALTER ROLE",
            RoleStatement::Drop { .. } => "DROP ROLE",
        }
    }
}

/// The role options duckraft supports; `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleOptions {
    /// `PASSWORD 'text'` is `Some(Some(text))` (plaintext or a SCRAM
    /// verifier, as the client sent it); `PASSWORD NULL` is `Some(None)`.
    pub password: Option<Option<String>>,
    pub superuser: Option<bool>,
    pub login: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifyError {
    pub message: String,
}

impl From<LexError> for ClassifyError {
    fn from(e: LexError) -> Self {
        ClassifyError {
            message: e.to_string(),
        }
    }
}

fn syntax_error(message: impl Into<String>) -> ClassifyError {
    ClassifyError {
        message: message.into(),
    }
}

pub fn classify(statement: &str) -> Result<Statement, ClassifyError> {
    let tokens = tokenize(statement)?;
    let words: Vec<&Token> = significant(&tokens)
        .filter(|t| t.kind != TokenKind::Semicolon)
        .collect();
    let Some(first) = words.first() else {
        return Ok(Statement::Sql {
            kind: SqlKind::Other,
            tag: String::new(),
        });
    };
    let keyword = first.text.to_ascii_uppercase();
    let word_at = |i: usize| {
        words
            .get(i)
            .map(|t| t.text.to_ascii_uppercase())
            .unwrap_or_default()
    };
    match keyword.as_str() {
        "BEGIN" | "START" => parse_begin(&words[1..]),
        "COMMIT" | "END" => Ok(Statement::Commit),
        "ROLLBACK" | "ABORT" => {
            if words.iter().any(|t| t.is_word("TO")) {
                Ok(Statement::Savepoint)
            } else {
                Ok(Statement::Rollback)
            }
        }
        "SAVEPOINT" | "RELEASE" => Ok(Statement::Savepoint),
        "SET" => parse_set(&words[1..]),
        "RESET" => {
            let name = setting_name(&words[1..]);
            Ok(Statement::Reset {
                name: if name.eq_ignore_ascii_case("all") {
                    None
                } else {
                    Some(name)
                },
            })
        }
        "SHOW" => Ok(Statement::Show {
            name: setting_name(&words[1..]),
        }),
        "DISCARD" => Ok(Statement::Discard),
        "DECLARE" => parse_declare(statement, &words),
        "FETCH" | "MOVE" => parse_fetch(&words, keyword == "MOVE"),
        "CLOSE" => match words.get(1) {
            Some(t) if t.is_word("ALL") => Ok(Statement::CloseCursor { name: None }),
            Some(t) => Ok(Statement::CloseCursor {
                name: Some(name_text(t)),
            }),
            None => Err(syntax_error("syntax error at end of input after CLOSE")),
        },
        "GRANT" | "REVOKE" => parse_grant(&words, keyword == "GRANT"),
        "LISTEN" | "UNLISTEN" | "NOTIFY" | "PREPARE" | "DEALLOCATE" | "EXECUTE" | "LOCK"
        | "VACUUM" | "ANALYZE" | "CLUSTER" | "REINDEX" | "ATTACH" | "DETACH" | "INSTALL"
        | "LOAD" | "IMPORT" | "EXPORT" => {
            // ANALYZE and VACUUM are harmless in DuckDB; everything else here
            // either escapes the catalog or needs server-side state we do not keep.
            if matches!(keyword.as_str(), "ANALYZE" | "VACUUM") {
                return Ok(Statement::Sql {
                    kind: SqlKind::Other,
                    tag: keyword,
                });
            }
            Ok(Statement::Unsupported { what: keyword })
        }
        "COPY" => parse_copy(statement, &words),
        "CREATE" | "DROP" | "ALTER" => {
            let mut i = 1;
            // Skip modifiers that do not change the object kind.
            while matches!(
                word_at(i).as_str(),
                "OR" | "REPLACE"
                    | "TEMP"
                    | "TEMPORARY"
                    | "UNIQUE"
                    | "UNLOGGED"
                    | "GLOBAL"
                    | "LOCAL"
                    | "MATERIALIZED"
            ) {
                i += 1;
            }
            let object = word_at(i);
            if keyword == "ALTER" && object == "CLUSTER" && i == 1 {
                return parse_cluster_member(&words);
            }
            if object == "DATABASE" {
                return parse_database_ddl(&keyword, &words[i + 1..]);
            }
            if (object == "ROLE" || object == "USER") && i == 1 {
                return parse_role_ddl(&keyword, object == "USER", &words[2..]);
            }
            let object = match object.as_str() {
                "FUNCTION" | "MACRO" => "FUNCTION".to_string(),
                "" => {
                    return Err(syntax_error(format!(
                        "syntax error at end of input after {keyword}"
                    )))
                }
                other => other.to_string(),
            };
            Ok(Statement::Sql {
                kind: SqlKind::Ddl,
                tag: format!("{keyword} {object}"),
            })
        }
        "COMMENT" => Ok(Statement::Sql {
            kind: SqlKind::Ddl,
            tag: "COMMENT".into(),
        }),
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => Ok(Statement::Sql {
            kind: SqlKind::Write,
            tag: keyword,
        }),
        "WITH" => {
            // A CTE that ends in a write reports that write's tag.
            let depth_zero_verb = top_level_verb(&words[1..]);
            match depth_zero_verb.as_deref() {
                Some(verb @ ("INSERT" | "UPDATE" | "DELETE")) => Ok(Statement::Sql {
                    kind: SqlKind::Write,
                    tag: verb.to_string(),
                }),
                _ => Ok(Statement::Sql {
                    kind: SqlKind::Read,
                    tag: "SELECT".into(),
                }),
            }
        }
        "SELECT" | "VALUES" | "TABLE" | "FROM" | "(" => Ok(Statement::Sql {
            kind: SqlKind::Read,
            tag: "SELECT".into(),
        }),
        "EXPLAIN" | "DESCRIBE" | "SUMMARIZE" | "PRAGMA" => Ok(Statement::Sql {
            kind: SqlKind::Read,
            tag: if keyword == "EXPLAIN" {
                "EXPLAIN".into()
            } else {
                "SELECT".into()
            },
        }),
        "CHECKPOINT" | "FORCE" | "USE" => Ok(Statement::Sql {
            kind: SqlKind::Other,
            tag: keyword,
        }),
        _ if first.kind == TokenKind::LeftParen => Ok(Statement::Sql {
            kind: SqlKind::Read,
            tag: "SELECT".into(),
        }),
        _ => Ok(Statement::Sql {
            kind: SqlKind::Other,
            tag: keyword,
        }),
    }
}

/// The first INSERT/UPDATE/DELETE/SELECT keyword outside parentheses.
fn top_level_verb(words: &[&Token]) -> Option<String> {
    let mut depth = 0;
    for token in words {
        match token.kind {
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => depth -= 1,
            TokenKind::Word if depth == 0 => {
                let upper = token.text.to_ascii_uppercase();
                if matches!(upper.as_str(), "INSERT" | "UPDATE" | "DELETE" | "SELECT") {
                    return Some(upper);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text of a name token: identifiers unquoted and folded, strings unquoted.
/// The setting a SHOW or RESET names: `duckraft.read_consistency`,
/// `TRANSACTION ISOLATION LEVEL`, `TIME ZONE`.
fn setting_name(tokens: &[&Token]) -> String {
    let mut name = String::new();
    for token in tokens {
        if token.kind != TokenKind::Dot && !name.is_empty() && !name.ends_with('.') {
            name.push(' ');
        }
        name.push_str(&name_text(token));
    }
    match name.as_str() {
        "transaction isolation level" => "transaction_isolation".into(),
        "time zone" => "timezone".into(),
        _ => name,
    }
}

fn name_text(token: &Token) -> String {
    match token.kind {
        TokenKind::String => unquote_string(token.text),
        _ => token.identifier().unwrap_or_else(|| token.text.to_string()),
    }
}

pub fn unquote_string(text: &str) -> String {
    let (body, backslashes) = if text.starts_with(['e', 'E']) {
        (&text[1..], true)
    } else {
        (text, false)
    };
    if let Some(after_dollar) = body.strip_prefix('$') {
        let tag_end = after_dollar.find('$').map_or(0, |p| p + 2);
        return body[tag_end..body.len() - tag_end].to_string();
    }
    let inner = &body[1..body.len() - 1];
    let inner = inner.replace("''", "'");
    if !backslashes {
        return inner;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn parse_declare(statement: &str, words: &[&Token]) -> Result<Statement, ClassifyError> {
    let name = words
        .get(1)
        .and_then(|t| t.identifier())
        .ok_or_else(|| syntax_error("syntax error in DECLARE: expected a cursor name"))?;
    // FOR after the name: `DECLARE FOR ...` has no options to slice.
    let for_at = words
        .iter()
        .skip(2)
        .position(|t| t.is_word("FOR"))
        .map(|at| at + 2)
        .ok_or_else(|| syntax_error("syntax error in DECLARE: expected FOR"))?;
    let options = &words[2..for_at];
    if !options.iter().any(|t| t.is_word("CURSOR")) {
        return Err(syntax_error("syntax error in DECLARE: expected CURSOR"));
    }
    if options.iter().any(|t| t.is_word("BINARY")) {
        return Err(syntax_error(
            "BINARY cursors are not supported; request binary results with the extended protocol",
        ));
    }
    let hold = options
        .windows(2)
        .any(|pair| pair[0].is_word("WITH") && pair[1].is_word("HOLD"));
    let query = span(statement, &words[for_at + 1..]).to_string();
    if query.is_empty() {
        return Err(syntax_error(
            "syntax error in DECLARE: expected a query after FOR",
        ));
    }
    Ok(Statement::DeclareCursor { name, query, hold })
}

fn parse_fetch(words: &[&Token], move_only: bool) -> Result<Statement, ClassifyError> {
    // FETCH [direction] [FROM | IN] cursor_name
    let mut rest = &words[1..];
    let mut count = Some(1);
    if let Some(first) = rest.first() {
        if first.is_word("FORWARD") || first.is_word("NEXT") {
            rest = &rest[1..];
        }
    }
    if let Some(first) = rest.first() {
        if first.is_word("ALL") {
            count = None;
            rest = &rest[1..];
        } else if first.kind == TokenKind::Number {
            count = Some(
                first
                    .text
                    .parse::<u64>()
                    .map_err(|_| syntax_error(format!("invalid FETCH count {}", first.text)))?,
            );
            rest = &rest[1..];
        } else if first.is_word("BACKWARD")
            || first.is_word("PRIOR")
            || first.is_word("ABSOLUTE")
            || first.is_word("RELATIVE")
            || first.is_word("FIRST")
            || first.is_word("LAST")
        {
            return Err(syntax_error(
                "only forward FETCH is supported (cursors are NO SCROLL)",
            ));
        }
    }
    if rest
        .first()
        .is_some_and(|t| t.is_word("FROM") || t.is_word("IN"))
    {
        rest = &rest[1..];
    }
    let name = match rest {
        [one] => one
            .identifier()
            .ok_or_else(|| syntax_error(format!("syntax error at or near \"{}\"", one.text)))?,
        _ => {
            return Err(syntax_error(
                "syntax error in FETCH: expected a cursor name",
            ))
        }
    };
    Ok(Statement::Fetch {
        name,
        count,
        move_only,
    })
}

fn parse_begin(words: &[&Token]) -> Result<Statement, ClassifyError> {
    let (isolation, read_only) = parse_transaction_modes(words)?;
    Ok(Statement::Begin {
        isolation,
        read_only,
    })
}

/// The modes of `BEGIN` and `SET TRANSACTION`: `ISOLATION LEVEL ...`,
/// `READ ONLY|WRITE` and `[NOT] DEFERRABLE`, in any order.
fn parse_transaction_modes(
    words: &[&Token],
) -> Result<(Option<IsolationLevel>, Option<bool>), ClassifyError> {
    let upper: Vec<String> = words
        .iter()
        .filter(|t| t.kind != TokenKind::Comma)
        .map(|t| t.text.to_ascii_uppercase())
        .collect();
    let mut isolation = None;
    let mut read_only = None;
    let mut i = 0;
    while i < upper.len() {
        match upper[i].as_str() {
            "TRANSACTION" | "WORK" | "DEFERRABLE" | "NOT" => i += 1,
            "ISOLATION" => {
                let level = upper.get(i + 2).map(String::as_str);
                let next = upper.get(i + 3).map(String::as_str);
                let (parsed, width) = match (level, next) {
                    (Some("SERIALIZABLE"), _) => (IsolationLevel::Serializable, 3),
                    (Some("REPEATABLE"), Some("READ")) => (IsolationLevel::RepeatableRead, 4),
                    (Some("READ"), Some("COMMITTED")) => (IsolationLevel::ReadCommitted, 4),
                    (Some("READ"), Some("UNCOMMITTED")) => (IsolationLevel::ReadUncommitted, 4),
                    _ => return Err(syntax_error("syntax error in ISOLATION LEVEL")),
                };
                if upper.get(i + 1).map(String::as_str) != Some("LEVEL") {
                    return Err(syntax_error("syntax error: expected LEVEL after ISOLATION"));
                }
                isolation = Some(parsed);
                i += width;
            }
            "READ" => {
                match upper.get(i + 1).map(String::as_str) {
                    Some("ONLY") => read_only = Some(true),
                    Some("WRITE") => read_only = Some(false),
                    _ => {
                        return Err(syntax_error(
                            "syntax error: expected ONLY or WRITE after READ",
                        ))
                    }
                }
                i += 2;
            }
            other => return Err(syntax_error(format!("syntax error at or near \"{other}\""))),
        }
    }
    Ok((isolation, read_only))
}

fn parse_set_transaction(words: &[&Token], session: bool) -> Result<Statement, ClassifyError> {
    if !session && words.first().is_some_and(|t| t.is_word("SNAPSHOT")) {
        return Ok(Statement::Unsupported {
            what: "SET TRANSACTION SNAPSHOT".into(),
        });
    }
    let (isolation, read_only) = parse_transaction_modes(words)?;
    if isolation.is_none() && read_only.is_none() && !words.iter().any(|t| t.is_word("DEFERRABLE"))
    {
        return Err(syntax_error(
            "syntax error: SET TRANSACTION needs a transaction mode",
        ));
    }
    Ok(Statement::SetTransaction {
        session,
        isolation,
        read_only,
    })
}

fn parse_set(words: &[&Token]) -> Result<Statement, ClassifyError> {
    let mut words = words;
    let mut local = false;
    if let Some(first) = words.first() {
        if first.is_word("LOCAL") {
            local = true;
            words = &words[1..];
        } else if first.is_word("SESSION") {
            if words.get(1).is_some_and(|t| t.is_word("CHARACTERISTICS")) {
                if !(words.get(2).is_some_and(|t| t.is_word("AS"))
                    && words.get(3).is_some_and(|t| t.is_word("TRANSACTION")))
                {
                    return Err(syntax_error(
                        "syntax error: expected AS TRANSACTION after SESSION CHARACTERISTICS",
                    ));
                }
                return parse_set_transaction(&words[4..], true);
            }
            words = &words[1..];
        }
    }
    let Some(first) = words.first() else {
        return Err(syntax_error("syntax error at end of input"));
    };
    if first.is_word("TRANSACTION") {
        if local {
            return Err(syntax_error("syntax error at or near \"TRANSACTION\""));
        }
        return parse_set_transaction(&words[1..], false);
    }
    if first.is_word("TIME") && words.get(1).is_some_and(|t| t.is_word("ZONE")) {
        let value = words[2..]
            .iter()
            .map(|t| name_text(t))
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(Statement::Set {
            name: "timezone".into(),
            value: if value.eq_ignore_ascii_case("default") || value.eq_ignore_ascii_case("local") {
                None
            } else {
                Some(value)
            },
            local,
        });
    }
    if first.is_word("NAMES") {
        let value = words.get(1).map(|t| name_text(t));
        return Ok(Statement::Set {
            name: "client_encoding".into(),
            value,
            local,
        });
    }
    // name may be dotted: duckraft.read_consistency
    let mut name = name_text(first);
    let mut i = 1;
    while words.get(i).is_some_and(|t| t.kind == TokenKind::Dot) {
        if let Some(part) = words.get(i + 1) {
            name.push('.');
            name.push_str(&name_text(part));
        }
        i += 2;
    }
    let Some(separator) = words.get(i) else {
        return Err(syntax_error(format!(
            "syntax error at end of input after SET {name}"
        )));
    };
    if !(separator.is_word("TO") || separator.text == "=") {
        return Err(syntax_error(format!(
            "syntax error at or near \"{}\"",
            separator.text
        )));
    }
    let value_tokens = &words[i + 1..];
    if value_tokens.is_empty() {
        return Err(syntax_error("syntax error at end of input"));
    }
    if value_tokens.len() == 1 && value_tokens[0].is_word("DEFAULT") {
        return Ok(Statement::Set {
            name,
            value: None,
            local,
        });
    }
    let value = if value_tokens.len() == 1 {
        name_text(value_tokens[0])
    } else {
        value_tokens
            .iter()
            .filter(|t| t.kind != TokenKind::Comma)
            .map(|t| name_text(t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(Statement::Set {
        name,
        value: Some(value),
        local,
    })
}

fn parse_database_ddl(verb: &str, words: &[&Token]) -> Result<Statement, ClassifyError> {
    let mut words = words;
    let mut if_exists = false;
    if verb == "DROP" && words.len() >= 2 && words[0].is_word("IF") && words[1].is_word("EXISTS") {
        if_exists = true;
        words = &words[2..];
    }
    let Some(name_token) = words.first() else {
        return Err(syntax_error(format!(
            "syntax error at end of input after {verb} DATABASE"
        )));
    };
    let name = name_token
        .identifier()
        .ok_or_else(|| syntax_error(format!("syntax error at or near \"{}\"", name_token.text)))?;
    match verb {
        "CREATE" => Ok(Statement::CreateDatabase { name }),
        "DROP" => Ok(Statement::DropDatabase { name, if_exists }),
        _ => Ok(Statement::Unsupported {
            what: "ALTER DATABASE".into(),
        }),
    }
}

fn parse_role_ddl(verb: &str, user: bool, words: &[&Token]) -> Result<Statement, ClassifyError> {
    let what = if user { "USER" } else { "ROLE" };
    let name_of = |token: Option<&&Token>| match token {
        Some(token) => token
            .identifier()
            .ok_or_else(|| syntax_error(format!("syntax error at or near \"{}\"", token.text))),
        None => Err(syntax_error(format!(
            "syntax error at end of input after {verb} {what}"
        ))),
    };
    if verb == "DROP" {
        let mut words = words;
        let mut if_exists = false;
        if words.len() >= 2 && words[0].is_word("IF") && words[1].is_word("EXISTS") {
            if_exists = true;
            words = &words[2..];
        }
        let mut names = vec![name_of(words.first())?];
        let mut rest = &words[1.min(words.len())..];
        while let Some(comma) = rest.first() {
            if comma.kind != TokenKind::Comma {
                return Err(syntax_error(format!(
                    "syntax error at or near \"{}\"",
                    comma.text
                )));
            }
            names.push(name_of(rest.get(1))?);
            rest = &rest[2.min(rest.len())..];
        }
        return Ok(Statement::Role(RoleStatement::Drop { names, if_exists }));
    }
    let name = name_of(words.first())?;
    let mut rest = &words[1.min(words.len())..];
    if rest.first().is_some_and(|t| t.is_word("WITH")) {
        rest = &rest[1..];
    }
    let mut options = RoleOptions::default();
    let redundant = || syntax_error("conflicting or redundant options");
    fn set<T>(
        slot: &mut Option<T>,
        value: T,
        redundant: ClassifyError,
    ) -> Result<(), ClassifyError> {
        if slot.is_some() {
            return Err(redundant);
        }
        *slot = Some(value);
        Ok(())
    }
    while let Some(token) = rest.first() {
        if token.kind != TokenKind::Word {
            return Err(syntax_error(format!(
                "syntax error at or near \"{}\"",
                token.text
            )));
        }
        let option = token.text.to_ascii_uppercase();
        let password_at = match option.as_str() {
            "PASSWORD" => Some(1),
            "ENCRYPTED" if rest.get(1).is_some_and(|t| t.is_word("PASSWORD")) => Some(2),
            _ => None,
        };
        if let Some(at) = password_at {
            let password = match rest.get(at) {
                Some(t) if t.is_word("NULL") => None,
                Some(t)
                    if t.kind == TokenKind::String && t.text.starts_with(['\'', 'e', 'E', '$']) =>
                {
                    Some(unquote_string(t.text))
                }
                Some(t) => {
                    return Err(syntax_error(format!(
                        "syntax error at or near \"{}\"",
                        t.text
                    )))
                }
                None => return Err(syntax_error("syntax error at end of input after PASSWORD")),
            };
            set(&mut options.password, password, redundant())?;
            rest = &rest[at + 1..];
            continue;
        }
        match option.as_str() {
            "SUPERUSER" | "NOSUPERUSER" => {
                set(&mut options.superuser, option == "SUPERUSER", redundant())?
            }
            "LOGIN" | "NOLOGIN" => set(&mut options.login, option == "LOGIN", redundant())?,
            _ => {
                return Ok(Statement::Unsupported {
                    what: format!("{verb} {what} option {option}"),
                })
            }
        }
        rest = &rest[1..];
    }
    match verb {
        "CREATE" => {
            options.login.get_or_insert(user);
            Ok(Statement::Role(RoleStatement::Create { name, options }))
        }
        _ if options == RoleOptions::default() => Err(syntax_error(format!(
            "syntax error at end of input after ALTER {what} {name}"
        ))),
        _ => Ok(Statement::Role(RoleStatement::Alter { name, options })),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberStatement {
    Add { name: String, peer_addr: String },
    Remove { name: String },
}

/// `ALTER CLUSTER ADD MEMBER name PEER 'host:port'` or `ALTER CLUSTER
/// REMOVE MEMBER name`; the name may be a string too (`'n-4'`).
fn parse_cluster_member(words: &[&Token]) -> Result<Statement, ClassifyError> {
    let at = |i: usize| words.get(i).copied();
    let near = |token: Option<&Token>| match token {
        Some(t) => syntax_error(format!("syntax error at or near \"{}\"", t.text)),
        None => syntax_error("syntax error at end of input after ALTER CLUSTER"),
    };
    let name = |token: Option<&Token>| match token {
        Some(t) if t.kind == TokenKind::Word || t.kind == TokenKind::String => Ok(name_text(t)),
        other => Err(near(other)),
    };
    let add = match at(2) {
        Some(t) if t.is_word("ADD") => true,
        Some(t) if t.is_word("REMOVE") => false,
        other => return Err(near(other)),
    };
    if !at(3).is_some_and(|t| t.is_word("MEMBER")) {
        return Err(near(at(3)));
    }
    let name = name(at(4))?;
    let statement = if add {
        if !at(5).is_some_and(|t| t.is_word("PEER")) {
            return Err(near(at(5)));
        }
        let peer_addr = match at(6) {
            Some(t) if t.kind == TokenKind::String => unquote_string(t.text),
            other => return Err(near(other)),
        };
        if let Some(extra) = at(7) {
            return Err(near(Some(extra)));
        }
        MemberStatement::Add { name, peer_addr }
    } else {
        if let Some(extra) = at(5) {
            return Err(near(Some(extra)));
        }
        MemberStatement::Remove { name }
    };
    Ok(Statement::ClusterMember(statement))
}

/// `GRANT CONNECT ON DATABASE d [, ...] TO role [, ...]` and `REVOKE CONNECT
/// ON DATABASE d [, ...] FROM role [, ...] [CASCADE | RESTRICT]`. Other
/// privileges and objects are unsupported: duckraft enforces only who may
/// connect to a catalog.
fn parse_grant(words: &[&Token], grant: bool) -> Result<Statement, ClassifyError> {
    let verb = if grant { "GRANT" } else { "REVOKE" };
    let unsupported = |what: String| Ok(Statement::Unsupported { what });
    let at = |i: usize| words.get(i).copied();
    let near = |token: Option<&Token>| match token {
        Some(t) => syntax_error(format!("syntax error at or near \"{}\"", t.text)),
        None => syntax_error(format!("syntax error at end of input after {verb}")),
    };
    let privilege = match at(1) {
        Some(t) if t.kind == TokenKind::Word => t.text.to_ascii_uppercase(),
        other => return Err(near(other)),
    };
    if !at(2).is_some_and(|t| t.is_word("ON")) || !at(3).is_some_and(|t| t.is_word("DATABASE")) {
        return unsupported(format!("{verb} {privilege} on anything but a database"));
    }
    if privilege != "CONNECT" {
        return unsupported(format!(
            "{verb} {privilege} ON DATABASE (only CONNECT is enforced)"
        ));
    }
    // Comma-separated names from `i`; returns them and the next position.
    let names = |mut i: usize| -> Result<(Vec<String>, usize), ClassifyError> {
        let mut names = Vec::new();
        loop {
            let name = match at(i) {
                Some(t) if t.kind == TokenKind::Word && t.is_word("PUBLIC") => "public".into(),
                Some(t) => t.identifier().ok_or_else(|| near(Some(t)))?,
                None => return Err(near(None)),
            };
            names.push(name);
            match at(i + 1) {
                Some(t) if t.kind == TokenKind::Comma => i += 2,
                _ => return Ok((names, i + 1)),
            }
        }
    };
    let (databases, next) = names(4)?;
    let to = if grant { "TO" } else { "FROM" };
    if !at(next).is_some_and(|t| t.is_word(to)) {
        return Err(near(at(next)));
    }
    let (roles, mut next) = names(next + 1)?;
    if !grant && at(next).is_some_and(|t| t.is_word("CASCADE") || t.is_word("RESTRICT")) {
        next += 1;
    }
    if grant && at(next).is_some_and(|t| t.is_word("WITH")) {
        return unsupported("GRANT ... WITH GRANT OPTION".into());
    }
    if let Some(extra) = at(next) {
        return Err(near(Some(extra)));
    }
    Ok(Statement::DatabaseConnect {
        databases,
        roles,
        grant,
    })
}

fn span<'a>(statement: &'a str, tokens: &[&Token]) -> &'a str {
    if tokens.is_empty() {
        return "";
    }
    let base = statement.as_ptr() as usize;
    let start = tokens[0].text.as_ptr() as usize - base;
    let last = tokens[tokens.len() - 1];
    let end = last.text.as_ptr() as usize - base + last.text.len();
    &statement[start..end]
}

fn parse_copy(statement: &str, words: &[&Token]) -> Result<Statement, ClassifyError> {
    // COPY table [(cols)] FROM STDIN|TO STDOUT [WITH] [(options)] | COPY (query) TO STDOUT ...
    let mut i = 1;
    let source_query;
    let mut table = String::new();
    let mut columns = Vec::new();
    if words.get(i).is_some_and(|t| t.kind == TokenKind::LeftParen) {
        let close = matching_paren(words, i)
            .ok_or_else(|| syntax_error("unbalanced parentheses in COPY"))?;
        source_query = Some(span(statement, &words[i + 1..close]).to_string());
        i = close + 1;
    } else {
        source_query = None;
        let start = i;
        while words.get(i).is_some_and(|t| {
            matches!(
                t.kind,
                TokenKind::Word | TokenKind::QuotedIdent | TokenKind::Dot
            )
        }) && !(words[i].is_word("FROM") || words[i].is_word("TO"))
        {
            i += 1;
        }
        if i == start {
            return Err(syntax_error("syntax error in COPY: expected a table name"));
        }
        table = span(statement, &words[start..i]).to_string();
        if words.get(i).is_some_and(|t| t.kind == TokenKind::LeftParen) {
            let close = matching_paren(words, i)
                .ok_or_else(|| syntax_error("unbalanced parentheses in COPY"))?;
            columns = words[i + 1..close]
                .iter()
                .filter(|t| t.kind != TokenKind::Comma)
                .map(|t| t.text.to_string())
                .collect();
            i = close + 1;
        }
    }
    let direction = words
        .get(i)
        .map(|t| t.text.to_ascii_uppercase())
        .ok_or_else(|| syntax_error("syntax error in COPY: expected FROM or TO"))?;
    let endpoint = words
        .get(i + 1)
        .map(|t| t.text.to_ascii_uppercase())
        .unwrap_or_default();
    let to_client = match (direction.as_str(), endpoint.as_str()) {
        ("FROM", "STDIN") => false,
        ("TO", "STDOUT") => true,
        ("FROM" | "TO", _) => return Ok(Statement::CopyFile),
        _ => return Err(syntax_error("syntax error in COPY: expected FROM or TO")),
    };
    let options = parse_copy_options(&words[i + 2..])?;
    if to_client {
        let query = match source_query {
            Some(query) => query,
            None if columns.is_empty() => format!("SELECT * FROM {table}"),
            None => format!("SELECT {} FROM {table}", columns.join(", ")),
        };
        Ok(Statement::CopyTo { query, options })
    } else {
        if source_query.is_some() {
            return Err(syntax_error("COPY FROM requires a table, not a query"));
        }
        Ok(Statement::CopyFrom {
            table,
            columns,
            options,
        })
    }
}

fn matching_paren(words: &[&Token], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (offset, token) in words[open..].iter().enumerate() {
        match token.kind {
            TokenKind::LeftParen => depth += 1,
            TokenKind::RightParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + offset);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_copy_options(words: &[&Token]) -> Result<CopyOptions, ClassifyError> {
    let mut options = CopyOptions::default();
    let words: Vec<&Token> = words
        .iter()
        .copied()
        .filter(|t| {
            !matches!(
                t.kind,
                TokenKind::LeftParen | TokenKind::RightParen | TokenKind::Comma
            )
        })
        .filter(|t| !t.is_word("WITH"))
        .collect();
    let mut i = 0;
    let value_at = |i: usize| words.get(i).map(|t| name_text(t));
    let single_char = |value: Option<String>, what: &str| -> Result<Option<char>, ClassifyError> {
        let value = value.ok_or_else(|| syntax_error(format!("COPY {what} needs a value")))?;
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(Some(c)),
            _ => Err(syntax_error(format!(
                "COPY {what} must be a single one-byte character"
            ))),
        }
    };
    while i < words.len() {
        let option = words[i].text.to_ascii_uppercase();
        match option.as_str() {
            "FORMAT" => {
                let value = value_at(i + 1).unwrap_or_default().to_ascii_lowercase();
                options.format = match value.as_str() {
                    "text" => CopyFormat::Text,
                    "csv" => CopyFormat::Csv,
                    "binary" => CopyFormat::Binary,
                    other => {
                        return Err(syntax_error(format!(
                            "COPY format \"{other}\" not recognized"
                        )))
                    }
                };
                i += 2;
            }
            "CSV" => {
                options.format = CopyFormat::Csv;
                i += 1;
            }
            "BINARY" => {
                options.format = CopyFormat::Binary;
                i += 1;
            }
            "HEADER" => {
                // HEADER, HEADER true/false/on/off/match
                let next = value_at(i + 1).map(|v| v.to_ascii_lowercase());
                match next.as_deref() {
                    Some("true" | "on" | "1" | "match") => {
                        options.header = true;
                        i += 2;
                    }
                    Some("false" | "off" | "0") => {
                        options.header = false;
                        i += 2;
                    }
                    _ => {
                        options.header = true;
                        i += 1;
                    }
                }
            }
            "DELIMITER" => {
                options.delimiter = single_char(value_at(i + 1), "delimiter")?;
                i += 2;
            }
            "NULL" => {
                options.null =
                    Some(value_at(i + 1).ok_or_else(|| syntax_error("COPY NULL needs a value"))?);
                i += 2;
            }
            "QUOTE" => {
                options.quote = single_char(value_at(i + 1), "quote")?;
                i += 2;
            }
            "ESCAPE" => {
                options.escape = single_char(value_at(i + 1), "escape")?;
                i += 2;
            }
            "ENCODING" => {
                let encoding = value_at(i + 1)
                    .unwrap_or_default()
                    .to_ascii_uppercase()
                    .replace(['-', '_'], "");
                if encoding != "UTF8" {
                    return Err(syntax_error(format!(
                        "COPY encoding {encoding} is not supported; use UTF8"
                    )));
                }
                i += 2;
            }
            "AS" => i += 1,
            other => {
                return Err(syntax_error(format!(
                    "option \"{}\" not recognized",
                    other.to_ascii_lowercase()
                )));
            }
        }
    }
    if options.format == CopyFormat::Binary
        && (options.delimiter.is_some() || options.null.is_some() || options.header)
    {
        return Err(syntax_error(
            "cannot specify DELIMITER, NULL or HEADER in BINARY mode",
        ));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(kind: SqlKind, tag: &str) -> Statement {
        Statement::Sql {
            kind,
            tag: tag.to_string(),
        }
    }

    #[test]
    fn transaction_control() {
        assert_eq!(
            classify("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ").unwrap(),
            Statement::Begin {
                isolation: Some(IsolationLevel::RepeatableRead),
                read_only: None
            }
        );
        assert_eq!(
            classify("start transaction read only, isolation level serializable").unwrap(),
            Statement::Begin {
                isolation: Some(IsolationLevel::Serializable),
                read_only: Some(true)
            }
        );
        assert_eq!(
            classify("BEGIN READ WRITE").unwrap(),
            Statement::Begin {
                isolation: None,
                read_only: Some(false)
            }
        );
        assert_eq!(
            classify("SET TRANSACTION READ ONLY").unwrap(),
            Statement::SetTransaction {
                session: false,
                isolation: None,
                read_only: Some(true)
            }
        );
        assert_eq!(
            classify("set session characteristics as transaction isolation level serializable, read write")
                .unwrap(),
            Statement::SetTransaction {
                session: true,
                isolation: Some(IsolationLevel::Serializable),
                read_only: Some(false)
            }
        );
        assert!(classify("SET TRANSACTION").is_err());
        assert!(classify("SET SESSION CHARACTERISTICS TRANSACTION READ ONLY").is_err());
        assert!(matches!(
            classify("SET TRANSACTION SNAPSHOT '00000003-1'").unwrap(),
            Statement::Unsupported { .. }
        ));
        assert!(classify("BEGIN ISOLATION LEVEL FAST").is_err());
        assert_eq!(classify("commit").unwrap(), Statement::Commit);
        assert_eq!(classify("END").unwrap(), Statement::Commit);
        assert_eq!(classify("ABORT").unwrap(), Statement::Rollback);
        assert_eq!(
            classify("ROLLBACK TO SAVEPOINT a").unwrap(),
            Statement::Savepoint
        );
    }

    #[test]
    fn session_commands() {
        assert_eq!(
            classify("SET duckraft.read_consistency = 'local'").unwrap(),
            Statement::Set {
                name: "duckraft.read_consistency".into(),
                value: Some("local".into()),
                local: false
            }
        );
        assert_eq!(
            classify("SET TIME ZONE 'UTC'").unwrap(),
            Statement::Set {
                name: "timezone".into(),
                value: Some("UTC".into()),
                local: false
            }
        );
        assert_eq!(
            classify("set search_path to public, \"Other\"").unwrap(),
            Statement::Set {
                name: "search_path".into(),
                value: Some("public, Other".into()),
                local: false
            }
        );
        assert_eq!(
            classify("RESET ALL").unwrap(),
            Statement::Reset { name: None }
        );
        assert_eq!(
            classify("RESET myapp.x").unwrap(),
            Statement::Reset {
                name: Some("myapp.x".into())
            }
        );
        assert_eq!(
            classify("reset TIME ZONE").unwrap(),
            Statement::Reset {
                name: Some("timezone".into())
            }
        );
        assert_eq!(
            classify("SHOW TIME ZONE").unwrap(),
            Statement::Show {
                name: "timezone".into()
            }
        );
        assert_eq!(
            classify("SHOW server_version").unwrap(),
            Statement::Show {
                name: "server_version".into()
            }
        );
        assert_eq!(classify("DISCARD ALL").unwrap(), Statement::Discard);
        assert_eq!(
            classify("SHOW duckraft.read_consistency").unwrap(),
            Statement::Show {
                name: "duckraft.read_consistency".into()
            }
        );
        assert_eq!(
            classify("SHOW TRANSACTION ISOLATION LEVEL").unwrap(),
            Statement::Show {
                name: "transaction_isolation".into()
            }
        );
    }

    #[test]
    fn database_ddl() {
        assert_eq!(
            classify("CREATE DATABASE \"Lake\"").unwrap(),
            Statement::CreateDatabase {
                name: "Lake".into()
            }
        );
        assert_eq!(
            classify("drop database if exists lake").unwrap(),
            Statement::DropDatabase {
                name: "lake".into(),
                if_exists: true
            }
        );
    }

    #[test]
    fn cluster_member_statements() {
        let parsed = |sql: &str| classify(sql);
        assert_eq!(
            parsed("ALTER CLUSTER ADD MEMBER n4 PEER '127.0.0.1:7004';").unwrap(),
            Statement::ClusterMember(MemberStatement::Add {
                name: "n4".into(),
                peer_addr: "127.0.0.1:7004".into()
            })
        );
        assert_eq!(
            parsed("alter cluster remove member 'duckraft-2'").unwrap(),
            Statement::ClusterMember(MemberStatement::Remove {
                name: "duckraft-2".into()
            })
        );
        for sql in [
            "ALTER CLUSTER ADD MEMBER n4",
            "ALTER CLUSTER ADD MEMBER n4 PEER n5",
            "ALTER CLUSTER ADD n4 PEER '127.0.0.1:1'",
            "ALTER CLUSTER REMOVE MEMBER n4 now",
            "ALTER CLUSTER RENAME MEMBER n4",
        ] {
            let error = parsed(sql).unwrap_err();
            assert!(
                error.message.contains("syntax error"),
                "{sql}: {}",
                error.message
            );
        }
    }

    #[test]
    fn database_grants() {
        let parsed = |sql: &str| classify(sql).unwrap();
        assert_eq!(
            parsed("GRANT CONNECT ON DATABASE lake, \"Sea\" TO alice, PUBLIC"),
            Statement::DatabaseConnect {
                databases: vec!["lake".into(), "Sea".into()],
                roles: vec!["alice".into(), "public".into()],
                grant: true
            }
        );
        assert_eq!(
            parsed("revoke connect on database lake from public cascade"),
            Statement::DatabaseConnect {
                databases: vec!["lake".into()],
                roles: vec!["public".into()],
                grant: false
            }
        );
        for sql in [
            "GRANT SELECT ON t TO bob",
            "GRANT ALL PRIVILEGES ON DATABASE lake TO bob",
            "GRANT CREATE ON DATABASE lake TO bob",
            "GRANT CONNECT ON DATABASE lake TO bob WITH GRANT OPTION",
        ] {
            assert!(
                matches!(parsed(sql), Statement::Unsupported { .. }),
                "{sql}"
            );
        }
        for sql in [
            "GRANT CONNECT ON DATABASE lake bob",
            "GRANT CONNECT ON DATABASE lake TO",
            "REVOKE CONNECT ON DATABASE lake TO bob",
            "GRANT CONNECT ON DATABASE lake TO bob, ",
            "GRANT",
        ] {
            assert!(classify(sql).is_err(), "{sql}");
        }
    }

    #[test]
    fn role_ddl() {
        let role = |sql: &str| match classify(sql) {
            Ok(Statement::Role(role)) => role,
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(
            role("CREATE USER Alice WITH PASSWORD 'it''s' SUPERUSER"),
            RoleStatement::Create {
                name: "alice".into(),
                options: RoleOptions {
                    password: Some(Some("it's".into())),
                    superuser: Some(true),
                    login: Some(true),
                },
            }
        );
        // CREATE ROLE does not log in unless told to.
        assert_eq!(
            role("create role \"Readers\""),
            RoleStatement::Create {
                name: "Readers".into(),
                options: RoleOptions {
                    login: Some(false),
                    ..RoleOptions::default()
                },
            }
        );
        assert_eq!(
            role("CREATE ROLE r LOGIN ENCRYPTED PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b'"),
            RoleStatement::Create {
                name: "r".into(),
                options: RoleOptions {
                    password: Some(Some("SCRAM-SHA-256$4096:c2FsdA==$a:b".into())),
                    superuser: None,
                    login: Some(true),
                },
            }
        );
        assert_eq!(
            role("CREATE USER u NOLOGIN"),
            RoleStatement::Create {
                name: "u".into(),
                options: RoleOptions {
                    login: Some(false),
                    ..RoleOptions::default()
                },
            }
        );
        assert_eq!(
            role("ALTER USER u WITH PASSWORD NULL NOSUPERUSER;"),
            RoleStatement::Alter {
                name: "u".into(),
                options: RoleOptions {
                    password: Some(None),
                    superuser: Some(false),
                    login: None,
                },
            }
        );
        assert_eq!(
            role("DROP ROLE IF EXISTS a, \"B\""),
            RoleStatement::Drop {
                names: vec!["a".into(), "B".into()],
                if_exists: true,
            }
        );
        assert_eq!(
            role("drop user a"),
            RoleStatement::Drop {
                names: vec!["a".into()],
                if_exists: false,
            }
        );
        assert_eq!(role("DROP USER a").tag(), "DROP ROLE");
        assert_eq!(role("CREATE USER a").tag(), "CREATE ROLE");
        assert_eq!(
            classify("CREATE USER a CREATEDB").unwrap(),
            Statement::Unsupported {
                what: "CREATE USER option CREATEDB".into()
            }
        );
        assert_eq!(
            classify("ALTER ROLE a RENAME TO b").unwrap(),
            Statement::Unsupported {
                what: "ALTER ROLE option RENAME".into()
            }
        );
        for bad in [
            "CREATE USER",
            "CREATE USER 'a'",
            "CREATE USER a PASSWORD",
            "CREATE USER a PASSWORD 1",
            "CREATE USER a PASSWORD 'x' PASSWORD 'y'",
            "CREATE USER a LOGIN NOLOGIN",
            "ALTER USER a",
            "DROP USER",
            "DROP USER a b",
            "DROP USER a,",
        ] {
            assert!(classify(bad).is_err(), "{bad}: {:?}", classify(bad));
        }
        // Not a role statement: the object kind comes right after the verb.
        assert!(!matches!(
            classify("CREATE TEMP ROLE x"),
            Ok(Statement::Role(_))
        ));
    }

    #[test]
    fn copy_statements() {
        assert_eq!(
            classify("COPY \"public\".\"ducklake_metadata\" (\"key\", \"value\") FROM STDIN (FORMAT BINARY)").unwrap(),
            Statement::CopyFrom {
                table: "\"public\".\"ducklake_metadata\"".into(),
                columns: vec!["\"key\"".into(), "\"value\"".into()],
                options: CopyOptions {
                    format: CopyFormat::Binary,
                    ..CopyOptions::default()
                }
            }
        );
        assert_eq!(
            classify("COPY (SELECT a FROM t WHERE b = ')') TO STDOUT (FORMAT \"binary\");")
                .unwrap(),
            Statement::CopyTo {
                query: "SELECT a FROM t WHERE b = ')'".into(),
                options: CopyOptions {
                    format: CopyFormat::Binary,
                    ..CopyOptions::default()
                }
            }
        );
        assert_eq!(
            classify("COPY t TO STDOUT WITH CSV HEADER").unwrap(),
            Statement::CopyTo {
                query: "SELECT * FROM t".into(),
                options: CopyOptions {
                    format: CopyFormat::Csv,
                    header: true,
                    ..CopyOptions::default()
                }
            }
        );
        assert_eq!(
            classify("COPY t FROM '/etc/passwd'").unwrap(),
            Statement::CopyFile
        );
        assert!(classify("COPY t TO STDOUT (FORMAT xml)").is_err());
    }

    #[test]
    fn cursors() {
        assert_eq!(
            classify("DECLARE \"c_1\" CURSOR WITHOUT HOLD FOR SELECT * FROM big").unwrap(),
            Statement::DeclareCursor {
                name: "c_1".into(),
                query: "SELECT * FROM big".into(),
                hold: false
            }
        );
        // FOR where the name goes (found by the pg_connection fuzz target).
        assert!(classify("DECLARE FOR x").is_err());
        assert!(classify("DECLARE c FOR SELECT 1").is_err());
        assert_eq!(
            classify("FETCH FORWARD 10 FROM \"c_1\"").unwrap(),
            Statement::Fetch {
                name: "c_1".into(),
                count: Some(10),
                move_only: false
            }
        );
        assert_eq!(
            classify("fetch all c").unwrap(),
            Statement::Fetch {
                name: "c".into(),
                count: None,
                move_only: false
            }
        );
        assert_eq!(
            classify("CLOSE ALL").unwrap(),
            Statement::CloseCursor { name: None }
        );
        assert!(classify("FETCH BACKWARD 1 FROM c").is_err());
    }

    #[test]
    fn command_tags() {
        assert_eq!(classify("select 1").unwrap(), sql(SqlKind::Read, "SELECT"));
        assert_eq!(
            classify("-- hi\nINSERT INTO t VALUES (1)").unwrap(),
            sql(SqlKind::Write, "INSERT")
        );
        assert_eq!(
            classify("CREATE OR REPLACE TEMP VIEW v AS SELECT 1").unwrap(),
            sql(SqlKind::Ddl, "CREATE VIEW")
        );
        assert_eq!(
            classify("create unique index i on t(a)").unwrap(),
            sql(SqlKind::Ddl, "CREATE INDEX")
        );
        assert_eq!(
            classify("WITH x AS (SELECT 1) DELETE FROM t WHERE a IN (SELECT * FROM x)").unwrap(),
            sql(SqlKind::Write, "DELETE")
        );
        assert_eq!(
            classify("INSTALL httpfs").unwrap(),
            Statement::Unsupported {
                what: "INSTALL".into()
            }
        );
    }
}
