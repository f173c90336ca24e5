//! One client connection: startup, authentication, and the query protocols.
//!
//! Request path for a statement:
//! 1. read a message (bounded size, idle timeout);
//! 2. split and classify the SQL (`duckraft_sql`);
//! 3. session commands are handled here; everything else goes to the
//!    `Session` on a blocking thread, raced against the statement timeout;
//! 4. results are encoded in the format the client asked for.
//!
//! Transaction state follows PostgreSQL: an error inside a block leaves it
//! failed (25P02) until ROLLBACK; a multi-statement simple query without a
//! block runs as one implicit transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use duckraft_sql::types::{element_of, parse_array};
use duckraft_sql::{
    classify, split_statements, Column, CopyOptions, IsolationLevel, SqlKind, Statement, Value,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::backend::{Backend, Interrupter, QueryOutput, Session};
use crate::codec::{self, read_message, FrontendMessage, Reader, Writer};
use crate::copy::{self, CopyEncoder};
use crate::error::{sqlstate, PgError};
use crate::scram::{password_failed, ScramServer, ScramVerifier};

/// Limits and policies for every connection.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub message_bytes_max: usize,
    /// Total COPY FROM payload accepted in one statement.
    pub copy_bytes_max: usize,
    /// Close a session idle outside a transaction this long; `None` = never.
    pub idle_session_timeout: Option<Duration>,
    /// Default `statement_timeout`; `None` = none. Sessions may SET it.
    pub statement_timeout: Option<Duration>,
    /// Time allowed for startup and authentication.
    pub authentication_timeout: Duration,
    /// Ask TLS clients for a cleartext password instead of SCRAM (for clients
    /// without SCRAM). Plain-TCP clients always get SCRAM: a cleartext
    /// password never crosses an unencrypted connection.
    pub cleartext_password_over_tls: bool,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            message_bytes_max: 64 * 1024 * 1024,
            copy_bytes_max: 1024 * 1024 * 1024,
            idle_session_timeout: None,
            statement_timeout: None,
            authentication_timeout: Duration::from_secs(60),
            cleartext_password_over_tls: false,
        }
    }
}

/// Live sessions that a CancelRequest may interrupt, by process id.
#[derive(Default)]
pub struct CancelRegistry {
    next_process_id: AtomicI32,
    sessions: Mutex<HashMap<i32, (i32, Interrupter)>>,
}

impl CancelRegistry {
    fn register(&self, secret_key: i32, interrupter: Interrupter) -> i32 {
        let process_id = self.next_process_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.sessions
            .lock()
            .expect("cancel registry poisoned")
            .insert(process_id, (secret_key, interrupter));
        process_id
    }

    fn unregister(&self, process_id: i32) {
        self.sessions
            .lock()
            .expect("cancel registry poisoned")
            .remove(&process_id);
    }

    /// Interrupts the session if the key matches; silently ignores mismatches, as PostgreSQL does.
    pub fn cancel(&self, process_id: i32, secret_key: i32) -> bool {
        let sessions = self.sessions.lock().expect("cancel registry poisoned");
        match sessions.get(&process_id) {
            Some((key, interrupter)) if *key == secret_key => {
                interrupter();
                true
            }
            _ => false,
        }
    }
}

/// How the transport got here: direct TLS, or plain TCP that may upgrade.
pub struct ConnectionContext<B: Backend> {
    pub backend: Arc<B>,
    pub limits: ConnectionLimits,
    pub cancel_registry: Arc<CancelRegistry>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub shutdown: watch::Receiver<bool>,
    pub server_version: String,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Serves one client from its first byte (which may be an SSLRequest) to close.
pub async fn serve_plain<B: Backend, S>(context: Arc<ConnectionContext<B>>, mut stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let authentication_timeout = context.limits.authentication_timeout;
    let startup =
        tokio::time::timeout(authentication_timeout, negotiate(&context, &mut stream)).await;
    let negotiated = match startup {
        Ok(Ok(negotiated)) => negotiated,
        Ok(Err(error)) => {
            let _ = send_error_and_close(&mut stream, &error).await;
            return;
        }
        Err(_) => {
            let _ = send_error_and_close(
                &mut stream,
                &PgError::fatal("08006", "authentication timed out"),
            )
            .await;
            return;
        }
    };
    match negotiated {
        Negotiated::Cancelled => {}
        Negotiated::Plain(parameters) => run(context, Box::new(stream), parameters, false).await,
        Negotiated::Upgrade => {
            let acceptor = context
                .tls
                .clone()
                .expect("upgrade only offered with TLS configured");
            match acceptor.accept(stream).await {
                Ok(mut tls) => match tokio::time::timeout(
                    authentication_timeout,
                    codec::read_startup(&mut tls),
                )
                .await
                {
                    Ok(Ok(codec::StartupPacket::Startup { parameters })) => {
                        run(context, Box::new(tls), parameters, true).await
                    }
                    Ok(Ok(_)) => {
                        let _ = send_error_and_close(
                            &mut tls,
                            &PgError::protocol("expected a startup message after TLS"),
                        )
                        .await;
                    }
                    Ok(Err(error)) => {
                        let _ = send_error_and_close(&mut tls, &error).await;
                    }
                    Err(_) => {}
                },
                Err(error) => debug!(%error, "TLS handshake failed"),
            }
        }
    }
}

/// Serves a connection that began with a TLS ClientHello (direct TLS, ALPN `postgresql`).
pub async fn serve_tls<B: Backend, S>(
    context: Arc<ConnectionContext<B>>,
    mut stream: tokio_rustls::server::TlsStream<S>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match tokio::time::timeout(
        context.limits.authentication_timeout,
        codec::read_startup(&mut stream),
    )
    .await
    {
        Ok(Ok(codec::StartupPacket::Startup { parameters })) => {
            run(context, Box::new(stream), parameters, true).await
        }
        Ok(Ok(codec::StartupPacket::Cancel {
            process_id,
            secret_key,
        })) => {
            context.cancel_registry.cancel(process_id, secret_key);
        }
        Ok(Ok(_)) => {
            let _ = send_error_and_close(
                &mut stream,
                &PgError::protocol("unexpected startup packet over TLS"),
            )
            .await;
        }
        Ok(Err(error)) => {
            let _ = send_error_and_close(&mut stream, &error).await;
        }
        Err(_) => {}
    }
}

enum Negotiated {
    Plain(Vec<(String, String)>),
    Upgrade,
    Cancelled,
}

async fn negotiate<B: Backend, S>(
    context: &ConnectionContext<B>,
    stream: &mut S,
) -> Result<Negotiated, PgError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match codec::read_startup(stream).await? {
            codec::StartupPacket::SslRequest => {
                if context.tls.is_some() {
                    stream.write_all(b"S").await.map_err(PgError::io)?;
                    return Ok(Negotiated::Upgrade);
                }
                stream.write_all(b"N").await.map_err(PgError::io)?;
            }
            codec::StartupPacket::GssEncRequest => {
                stream.write_all(b"N").await.map_err(PgError::io)?
            }
            codec::StartupPacket::Cancel {
                process_id,
                secret_key,
            } => {
                context.cancel_registry.cancel(process_id, secret_key);
                return Ok(Negotiated::Cancelled);
            }
            codec::StartupPacket::Startup { parameters } => {
                return Ok(Negotiated::Plain(parameters))
            }
            codec::StartupPacket::UnsupportedVersion(version) => {
                return Err(PgError::fatal(
                    "0A000",
                    format!(
                        "unsupported frontend protocol {}.{}: server supports 3.0",
                        version >> 16,
                        version & 0xffff
                    ),
                ))
            }
        }
    }
}

async fn send_error_and_close<S: AsyncWrite + Unpin>(
    stream: &mut S,
    error: &PgError,
) -> std::io::Result<()> {
    let mut writer = Writer::default();
    write_error(&mut writer, error);
    stream.write_all(&writer.take()).await?;
    stream.shutdown().await
}

fn write_error(writer: &mut Writer, error: &PgError) {
    let mut m = writer.message(b'E');
    m.u8(b'S').cstr(error.severity());
    m.u8(b'V').cstr(error.severity());
    m.u8(b'C').cstr(error.code);
    m.u8(b'M').cstr(&error.message);
    if let Some(detail) = &error.detail {
        m.u8(b'D').cstr(detail);
    }
    if let Some(hint) = &error.hint {
        m.u8(b'H').cstr(hint);
    }
    m.u8(0);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransactionState {
    Idle,
    /// Inside BEGIN ... COMMIT.
    Block,
    /// A multi-statement simple query's implicit transaction.
    Implicit,
    /// An error happened inside a block: only ROLLBACK/COMMIT are accepted.
    Failed,
}

/// A setting changed inside a transaction, as in PostgreSQL: a rollback
/// restores `before`; a commit keeps the last plain SET or RESET
/// (`session`), and undoes a SET LOCAL that came after it or alone.
struct TransactionSetting {
    before: Option<String>,
    /// The value of the last plain SET (`Some(None)`: RESET) in the transaction.
    session: Option<Option<String>>,
}

struct PreparedStatement {
    sql: String,
    statement: Statement,
    parameter_types: Vec<u32>,
    /// Result columns when known (from Describe); `None` = not yet described.
    columns: Option<Option<Vec<Column>>>,
}

struct Portal {
    statement: Arc<PreparedStatement>,
    parameters: Vec<Value>,
    result_formats: Vec<i16>,
    /// Filled by the first Execute (or a Describe that had to run the query).
    output: Option<PortalOutput>,
}

struct Cursor {
    columns: Vec<Column>,
    rows: std::vec::IntoIter<Vec<Value>>,
    /// WITH HOLD cursors survive the end of their transaction.
    hold: bool,
}

struct PortalOutput {
    columns: Vec<Column>,
    rows: std::vec::IntoIter<Vec<Value>>,
    tag: String,
    returns_rows: bool,
    sent: u64,
}

struct Connection<B: Backend> {
    context: Arc<ConnectionContext<B>>,
    reader: BufReader<tokio::io::ReadHalf<Box<dyn Stream>>>,
    writer_half: tokio::io::WriteHalf<Box<dyn Stream>>,
    out: Writer,
    session: Option<B::Session>,
    user: String,
    database: String,
    process_id: i32,
    transaction: TransactionState,
    settings: HashMap<String, String>,
    /// Settings as they were right after startup: what RESET restores.
    baseline: HashMap<String, String>,
    /// Settings the open transaction changed, by canonical name: what its
    /// end restores (see [`TransactionSetting`]).
    transaction_settings: BTreeMap<String, TransactionSetting>,
    /// The open transaction ran a query, so its isolation level and
    /// read-write mode are fixed (PostgreSQL's "before any query" rule).
    transaction_queried: bool,
    statements: HashMap<String, Arc<PreparedStatement>>,
    portals: HashMap<String, Portal>,
    /// SQL-level cursors (DECLARE ... CURSOR), also visible to Describe as portals.
    cursors: HashMap<String, Cursor>,
    statement_timeout: Option<Duration>,
    /// After an error in the extended protocol, skip to the next Sync.
    skip_until_sync: bool,
    /// Extended-query messages arrived since the last Sync.
    unsynced: bool,
}

/// How often a timed-out statement is interrupted again until it ends.
const TIMEOUT_REPEAT: Duration = Duration::from_millis(100);
const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("DateStyle", "ISO, MDY"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("in_hot_standby", "off"),
    ("integer_datetimes", "on"),
    ("IntervalStyle", "postgres"),
    ("is_superuser", "on"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("TimeZone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
    ("duckraft.read_consistency", "linearizable"),
    ("lock_timeout", "0"),
    ("idle_in_transaction_session_timeout", "0"),
    ("max_identifier_length", "63"),
    ("max_connections", "100"),
    // psql's \password asks, then sends a verifier of this kind.
    ("password_encryption", "scram-sha-256"),
];

/// Settings reported in ParameterStatus at startup and when they change.
const REPORTED_SETTINGS: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "in_hot_standby",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];

fn canonical_setting_name(name: &str) -> String {
    DEFAULT_SETTINGS
        .iter()
        .map(|(n, _)| *n)
        .chain(["server_version", "session_authorization"])
        .find(|n| n.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_ascii_lowercase(), str::to_string)
}

async fn run<B: Backend>(
    context: Arc<ConnectionContext<B>>,
    stream: Box<dyn Stream>,
    parameters: Vec<(String, String)>,
    is_tls: bool,
) {
    let (read_half, write_half) = tokio::io::split(stream);
    let mut connection = Connection {
        context: context.clone(),
        reader: BufReader::with_capacity(64 * 1024, read_half),
        writer_half: write_half,
        out: Writer::default(),
        session: None,
        user: String::new(),
        database: String::new(),
        process_id: 0,
        transaction: TransactionState::Idle,
        settings: HashMap::new(),
        baseline: HashMap::new(),
        transaction_settings: BTreeMap::new(),
        transaction_queried: false,
        statements: HashMap::new(),
        portals: HashMap::new(),
        cursors: HashMap::new(),
        statement_timeout: context.limits.statement_timeout,
        skip_until_sync: false,
        unsynced: false,
    };
    let authenticated = tokio::time::timeout(
        context.limits.authentication_timeout,
        connection.startup(parameters, is_tls),
    )
    .await
    .unwrap_or_else(|_| Err(PgError::fatal("08006", "authentication timed out")));
    if let Err(error) = authenticated {
        connection.fail(&error).await;
        return;
    }
    if let Err(error) = connection.serve().await {
        if error.code != "08006" {
            connection.fail(&error).await;
        }
    }
    if connection.process_id != 0 {
        context.cancel_registry.unregister(connection.process_id);
    }
    if let Some(mut session) = connection.session.take() {
        if connection.transaction != TransactionState::Idle {
            let _ = tokio::task::spawn_blocking(move || session.rollback()).await;
        }
    }
}

impl<B: Backend> Connection<B> {
    async fn flush(&mut self) -> Result<(), PgError> {
        if !self.out.is_empty() {
            let bytes = self.out.take();
            self.writer_half
                .write_all(&bytes)
                .await
                .map_err(PgError::io)?;
        }
        self.writer_half.flush().await.map_err(PgError::io)
    }

    async fn fail(&mut self, error: &PgError) {
        write_error(&mut self.out, error);
        let _ = self.flush().await;
        let _ = self.writer_half.shutdown().await;
    }

    async fn read(&mut self) -> Result<Option<FrontendMessage>, PgError> {
        read_message(&mut self.reader, self.context.limits.message_bytes_max).await
    }

    async fn startup(
        &mut self,
        parameters: Vec<(String, String)>,
        is_tls: bool,
    ) -> Result<(), PgError> {
        let mut user = None;
        let mut database = None;
        for (key, value) in parameters {
            match key.as_str() {
                "user" => user = Some(value),
                "database" => database = Some(value),
                // Command-line options (`-c name=value`) are not applied; PostgreSQL-only GUCs mean nothing here.
                "options" => {}
                "replication" => {
                    return Err(PgError::fatal(
                        "0A000",
                        "replication connections are not supported",
                    ));
                }
                _ => {
                    self.settings.insert(canonical_setting_name(&key), value);
                }
            }
        }
        let user = user.filter(|u| !u.is_empty()).ok_or_else(|| {
            PgError::fatal(
                "28000",
                "no PostgreSQL user name specified in startup packet",
            )
        })?;
        let database = database
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| user.clone());
        self.authenticate(&user, is_tls).await?;

        let backend = self.context.backend.clone();
        let (session_user, session_database) = (user.clone(), database.clone());
        let session = tokio::task::spawn_blocking(move || {
            backend.open_session(&session_user, &session_database)
        })
        .await
        .map_err(|e| PgError::fatal("XX000", format!("session task failed: {e}")))??;
        let secret_key: i32 = rand::random();
        self.process_id = self
            .context
            .cancel_registry
            .register(secret_key, session.interrupter());
        self.session = Some(session);
        self.user = user.clone();
        self.database = database;
        for (name, value) in DEFAULT_SETTINGS {
            self.settings
                .entry(name.to_string())
                .or_insert_with(|| value.to_string());
        }
        self.settings
            .insert("server_version".into(), self.context.server_version.clone());
        // A client may start with its own transaction defaults (libpq's
        // PGOPTIONS does not reach here, but startup parameters do).
        let fatal = |e: PgError| PgError { fatal: true, ..e };
        let read_only = self.settings["default_transaction_read_only"].clone();
        let read_only =
            parse_bool_setting("default_transaction_read_only", &read_only).map_err(fatal)?;
        let isolation =
            isolation_level(&self.settings["default_transaction_isolation"]).map_err(fatal)?;
        self.settings.insert(
            "default_transaction_read_only".into(),
            on_off(read_only).into(),
        );
        self.settings.insert(
            "default_transaction_isolation".into(),
            isolation.as_str().into(),
        );
        self.reset_transaction_settings();
        let superuser = if self.context.backend.is_superuser(&user) {
            "on"
        } else {
            "off"
        };
        self.settings
            .insert("is_superuser".into(), superuser.to_string());
        self.settings.insert("session_authorization".into(), user);
        self.settings
            .insert("backend_pid".into(), self.process_id.to_string());
        let initial: Vec<(String, String)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.blocking(move |s| {
            for (name, value) in &initial {
                s.set_parameter(name, Some(value))?;
            }
            Ok(())
        })
        .await?;
        self.baseline = self.settings.clone();
        {
            self.out.message(b'R').i32(0);
        }
        for name in REPORTED_SETTINGS {
            let value = self.settings.get(*name).cloned().unwrap_or_default();
            self.out.message(b'S').cstr(name).cstr(&value);
        }
        self.out.message(b'K').i32(self.process_id).i32(secret_key);
        self.ready_for_query();
        self.flush().await?;
        info!(user = %self.user, database = %self.database, pid = self.process_id, tls = is_tls, "session started");
        Ok(())
    }

    async fn authenticate(&mut self, user: &str, is_tls: bool) -> Result<(), PgError> {
        let backend = self.context.backend.clone();
        let lookup_user = user.to_string();
        let verifier = tokio::task::spawn_blocking(move || backend.user_verifier(&lookup_user))
            .await
            .map_err(|e| PgError::fatal("XX000", format!("user lookup failed: {e}")))?;
        let user_exists = verifier.is_some();
        let verifier = verifier
            .unwrap_or_else(|| ScramVerifier::mock(user, &self.context.backend.server_secret()));
        if is_tls && self.context.limits.cleartext_password_over_tls {
            return self
                .authenticate_cleartext(user, &verifier, user_exists)
                .await;
        }

        // AuthenticationSASL with the one mechanism we offer.
        self.out.message(b'R').i32(10).cstr("SCRAM-SHA-256").u8(0);
        self.flush().await?;
        let message = self
            .read()
            .await?
            .ok_or_else(|| PgError::fatal("08006", "connection closed during authentication"))?;
        if message.tag != b'p' {
            return Err(PgError::protocol(format!(
                "expected password response, got message type \"{}\"",
                message.tag as char
            )));
        }
        let mut reader = Reader::new(&message.body);
        let mechanism = reader.cstr()?;
        if mechanism != "SCRAM-SHA-256" {
            if mechanism.is_empty() {
                return Err(PgError::protocol("expected SASL response"));
            }
            return Err(PgError::fatal(
                "28000",
                format!("client selected an invalid SASL authentication mechanism \"{mechanism}\""),
            ));
        }
        let len = reader.i32()?;
        if len < 0 {
            return Err(PgError::protocol("missing SASL initial response"));
        }
        let first = std::str::from_utf8(reader.bytes(len as usize)?)
            .map_err(|_| PgError::protocol("SASL message is not UTF-8"))?
            .to_string();
        let mut scram = ScramServer::new(verifier, user_exists, rand::random());
        let server_first = scram.client_first(&first)?;
        self.out
            .message(b'R')
            .i32(11)
            .bytes(server_first.as_bytes());
        self.flush().await?;
        let message = self
            .read()
            .await?
            .ok_or_else(|| PgError::fatal("08006", "connection closed during authentication"))?;
        if message.tag != b'p' {
            return Err(PgError::protocol("expected SASL response"));
        }
        let client_final = std::str::from_utf8(&message.body)
            .map_err(|_| PgError::protocol("SASL message is not UTF-8"))?;
        match scram.client_final(client_final, user) {
            Ok(server_final) => {
                self.out
                    .message(b'R')
                    .i32(12)
                    .bytes(server_final.as_bytes());
                Ok(())
            }
            Err(error) => {
                if error.code == sqlstate::INVALID_PASSWORD {
                    warn!(user, "password authentication failed");
                    return Err(password_failed(user));
                }
                Err(error)
            }
        }
    }

    /// AuthenticationCleartextPassword; only ever called on TLS connections.
    async fn authenticate_cleartext(
        &mut self,
        user: &str,
        verifier: &ScramVerifier,
        user_exists: bool,
    ) -> Result<(), PgError> {
        self.out.message(b'R').i32(3);
        self.flush().await?;
        let message = self
            .read()
            .await?
            .ok_or_else(|| PgError::fatal("08006", "connection closed during authentication"))?;
        if message.tag != b'p' {
            return Err(PgError::protocol("expected password response"));
        }
        let password = Reader::new(&message.body).cstr()?;
        if user_exists && verifier.verify_password(&password) {
            return Ok(());
        }
        warn!(user, "password authentication failed");
        Err(password_failed(user))
    }

    fn ready_for_query(&mut self) {
        let status = match self.transaction {
            TransactionState::Idle | TransactionState::Implicit => b'I',
            TransactionState::Block => b'T',
            TransactionState::Failed => b'E',
        };
        self.out.message(b'Z').u8(status);
    }

    async fn serve(&mut self) -> Result<(), PgError> {
        let mut shutdown = self.context.shutdown.clone();
        loop {
            let idle_limit = if self.transaction == TransactionState::Idle {
                self.context.limits.idle_session_timeout
            } else {
                None
            };
            // A shutdown waits for the end of an extended-query cycle the
            // client already started, and for messages it already sent: an
            // Execute that ran is answered, not cut off before its Sync.
            let mid_cycle = self.unsynced || !self.reader.buffer().is_empty();
            let message = tokio::select! {
                biased;
                message = self.read_with_timeout(idle_limit) => message?,
                _ = shutdown.changed(), if !mid_cycle => {
                    // Finish nothing new: in-flight work completed before we got here.
                    self.fail(&PgError::fatal(sqlstate::ADMIN_SHUTDOWN, "terminating connection due to administrator command")).await;
                    return Ok(());
                }
            };
            let Some(message) = message else {
                return Ok(());
            };
            let keep_going = match self.handle(message).await {
                Ok(keep_going) => keep_going,
                Err(error) if error.fatal => return Err(error),
                Err(error) => {
                    self.report_error(&error);
                    true
                }
            };
            // Pipelined messages are answered together: write when the client waits.
            if self.reader.buffer().is_empty() || !keep_going {
                self.flush().await?;
            }
            if !keep_going {
                return Ok(());
            }
        }
    }

    async fn read_with_timeout(
        &mut self,
        limit: Option<Duration>,
    ) -> Result<Option<FrontendMessage>, PgError> {
        match limit {
            None => self.read().await,
            Some(limit) => match tokio::time::timeout(limit, self.read()).await {
                Ok(result) => result,
                Err(_) => Err(PgError::fatal(
                    sqlstate::IDLE_SESSION_TIMEOUT,
                    "terminating connection due to idle-session timeout",
                )),
            },
        }
    }

    fn report_error(&mut self, error: &PgError) {
        write_error(&mut self.out, error);
        match self.transaction {
            TransactionState::Block => self.transaction = TransactionState::Failed,
            TransactionState::Implicit => self.transaction = TransactionState::Idle,
            _ => {}
        }
    }

    /// Handles one message; `Ok(false)` ends the connection (Terminate).
    async fn handle(&mut self, message: FrontendMessage) -> Result<bool, PgError> {
        if self.skip_until_sync && !matches!(message.tag, b'S' | b'X') {
            return Ok(true);
        }
        match message.tag {
            b'Q' => {
                let mut reader = Reader::new(&message.body);
                let sql = reader.cstr()?;
                match self.simple_query(&sql).await {
                    Err(error) if error.fatal => return Err(error),
                    Err(error) => {
                        let was_implicit = self.transaction == TransactionState::Implicit;
                        self.report_error(&error);
                        if was_implicit {
                            // All or nothing: undo what the earlier statements did.
                            if let Err(error) = self.blocking(|s| s.rollback()).await {
                                write_error(&mut self.out, &error);
                            }
                            if let Err(error) = self.end_transaction_settings(false).await {
                                write_error(&mut self.out, &error);
                            }
                            self.reset_transaction_settings();
                        }
                    }
                    Ok(()) if self.transaction == TransactionState::Implicit => {
                        self.finish_implicit().await
                    }
                    Ok(()) => {}
                }
                self.ready_for_query();
                Ok(true)
            }
            b'P' | b'B' | b'D' | b'E' | b'C' | b'H' => {
                self.unsynced = true;
                if let Err(error) = self.extended(message).await {
                    if error.fatal {
                        return Err(error);
                    }
                    self.report_error(&error);
                    self.skip_until_sync = true;
                }
                Ok(true)
            }
            b'S' => {
                self.skip_until_sync = false;
                self.unsynced = false;
                self.ready_for_query();
                Ok(true)
            }
            b'X' => Ok(false),
            b'd' | b'c' | b'f' => Ok(true), // stray COPY messages after an error are ignored, as in PostgreSQL
            b'p' => Err(PgError::protocol("unexpected password message")),
            other => Err(PgError::protocol(format!(
                "invalid frontend message type {}",
                other
            ))),
        }
    }

    async fn finish_implicit(&mut self) {
        self.transaction = TransactionState::Idle;
        self.reset_transaction_settings();
        let committed = self.blocking(|s| s.commit()).await;
        if let Err(error) = &committed {
            write_error(&mut self.out, error);
        }
        if let Err(error) = self.end_transaction_settings(committed.is_ok()).await {
            write_error(&mut self.out, &error);
        }
    }

    /// Remembers what the open transaction's end must restore before a SET
    /// (`local`: SET LOCAL) or RESET changes `name`; outside a transaction
    /// a change is simply permanent.
    fn note_transaction_setting(&mut self, name: &str, value: Option<&str>, local: bool) {
        if self.transaction == TransactionState::Idle {
            return;
        }
        let canonical = canonical_setting_name(name);
        let before = self.settings.get(&canonical).cloned();
        let entry = self
            .transaction_settings
            .entry(canonical)
            .or_insert(TransactionSetting {
                before,
                session: None,
            });
        if !local {
            entry.session = Some(value.map(str::to_string));
        }
    }

    /// The transaction ended: a rollback restores every setting it changed,
    /// a commit keeps plain SETs and undoes SET LOCAL.
    async fn end_transaction_settings(&mut self, committed: bool) -> Result<(), PgError> {
        for (name, setting) in std::mem::take(&mut self.transaction_settings) {
            let target = match setting.session {
                Some(session) if committed => session,
                _ => setting.before,
            };
            // A kept plain SET is already in effect: setting it again would
            // only flush the session's kept plans.
            if target.is_some() && self.settings.get(&name) == target.as_ref() {
                continue;
            }
            self.set_setting(&name, target.as_deref()).await?;
        }
        Ok(())
    }

    /// Runs `f` on the session off the async runtime.
    async fn blocking<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut B::Session) -> Result<T, PgError> + Send + 'static,
    ) -> Result<T, PgError> {
        let mut session = self
            .session
            .take()
            .expect("session is present between statements");
        let interrupter = session.interrupter();
        let timeout = self.statement_timeout;
        let task = tokio::task::spawn_blocking(move || {
            let result = f(&mut session);
            (session, result)
        });
        tokio::pin!(task);
        let mut timed_out = false;
        let joined = match timeout {
            None => task.await,
            Some(limit) => tokio::select! {
                joined = &mut task => joined,
                _ = tokio::time::sleep(limit) => {
                    timed_out = true;
                    // Repeated until the statement ends: an interrupt that
                    // lands before the engine starts executing is lost.
                    loop {
                        interrupter();
                        tokio::select! {
                            joined = &mut task => break joined,
                            _ = tokio::time::sleep(TIMEOUT_REPEAT) => {}
                        }
                    }
                }
            },
        };
        let (session, result) =
            joined.map_err(|e| PgError::fatal("XX000", format!("statement task failed: {e}")))?;
        self.session = Some(session);
        match result {
            Err(error) if timed_out && error.code == sqlstate::QUERY_CANCELED => Err(PgError::new(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            )),
            other => other,
        }
    }

    async fn simple_query(&mut self, sql: &str) -> Result<(), PgError> {
        let statements = split_statements(sql).map_err(|e| PgError::syntax(e.message.clone()))?;
        if statements.is_empty() {
            self.out.message(b'I');
            return Ok(());
        }
        if statements.len() > 1 && self.transaction == TransactionState::Idle {
            let isolation = self.start_transaction_modes(None, None);
            self.blocking(move |s| s.begin(isolation)).await?;
            self.transaction = TransactionState::Implicit;
        }
        for text in statements {
            let statement = classify(text).map_err(|e| PgError::syntax(e.message))?;
            let outcome = self.run_statement(text, &statement, Vec::new()).await?;
            if let Some(output) = outcome {
                self.send_rows_description(&output.columns, &[]);
                self.send_rows(&output.columns, output.rows.iter(), &[])?;
                let tag = command_tag(&statement, &output);
                self.out.message(b'C').cstr(&tag);
            }
        }
        Ok(())
    }

    /// Runs one classified statement. Returns rows to send, or `None` when the
    /// completion was already written (session commands, COPY).
    async fn run_statement(
        &mut self,
        text: &str,
        statement: &Statement,
        parameters: Vec<Value>,
    ) -> Result<Option<QueryOutput>, PgError> {
        let started = std::time::Instant::now();
        let result = self.run_statement_timed(text, statement, parameters).await;
        debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            ok = result.is_ok(),
            statement = %text.chars().take(200).collect::<String>(),
            "statement"
        );
        result
    }

    async fn run_statement_timed(
        &mut self,
        text: &str,
        statement: &Statement,
        parameters: Vec<Value>,
    ) -> Result<Option<QueryOutput>, PgError> {
        if self.transaction == TransactionState::Failed
            && !matches!(statement, Statement::Commit | Statement::Rollback)
        {
            return Err(PgError::new(
                sqlstate::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        if let Some(refusal) = self.read_only_refusal(statement) {
            return Err(refusal);
        }
        if self.transaction != TransactionState::Idle && queries(statement) {
            self.transaction_queried = true;
        }
        match statement {
            Statement::Begin {
                isolation,
                read_only,
            } => {
                match self.transaction {
                    TransactionState::Idle => {
                        let isolation = self.start_transaction_modes(*isolation, *read_only);
                        self.blocking(move |s| s.begin(isolation)).await?;
                        self.transaction = TransactionState::Block;
                    }
                    TransactionState::Implicit => {
                        self.set_transaction_modes(*isolation, *read_only)?;
                        self.transaction = TransactionState::Block;
                    }
                    _ => {
                        self.notice("25001", "there is already a transaction in progress");
                    }
                }
                self.complete("BEGIN");
                Ok(None)
            }
            Statement::Commit => {
                let tag = match self.transaction {
                    TransactionState::Idle => {
                        self.notice("25P01", "there is no transaction in progress");
                        "COMMIT"
                    }
                    TransactionState::Failed => {
                        self.transaction = TransactionState::Idle;
                        self.blocking(|s| s.rollback()).await?;
                        "ROLLBACK"
                    }
                    TransactionState::Block | TransactionState::Implicit => {
                        self.transaction = TransactionState::Idle;
                        let committed = self.blocking(|s| s.commit()).await;
                        if committed.is_err() {
                            self.end_transaction_settings(false).await?;
                            self.reset_transaction_settings();
                        }
                        committed?;
                        "COMMIT"
                    }
                };
                self.end_transaction_settings(tag == "COMMIT").await?;
                self.reset_transaction_settings();
                self.complete(tag);
                Ok(None)
            }
            Statement::Rollback => {
                if self.transaction == TransactionState::Idle {
                    self.notice("25P01", "there is no transaction in progress");
                } else {
                    self.transaction = TransactionState::Idle;
                    self.blocking(|s| s.rollback()).await?;
                }
                self.end_transaction_settings(false).await?;
                self.reset_transaction_settings();
                self.complete("ROLLBACK");
                Ok(None)
            }
            Statement::Savepoint => Err(PgError::feature_not_supported(
                "savepoints are not supported by duckraft",
            )),
            Statement::SetTransaction {
                session: true,
                isolation,
                read_only,
            } => {
                // The session's defaults, exactly as the settings they are.
                let defaults = [
                    (
                        "default_transaction_isolation",
                        isolation.map(|l| l.as_str()),
                    ),
                    ("default_transaction_read_only", read_only.map(on_off)),
                ];
                for (name, value) in defaults {
                    if let Some(value) = value {
                        self.note_transaction_setting(name, Some(value), false);
                        self.set_setting(name, Some(value)).await?;
                    }
                }
                self.complete("SET");
                Ok(None)
            }
            Statement::SetTransaction {
                session: false,
                isolation,
                read_only,
            } => {
                if self.transaction == TransactionState::Idle {
                    self.notice(
                        "25P01",
                        "SET TRANSACTION can only be used in transaction blocks",
                    );
                } else {
                    self.set_transaction_modes(*isolation, *read_only)?;
                }
                self.complete("SET");
                Ok(None)
            }
            Statement::Set { name, value, .. }
                if matches!(
                    canonical_setting_name(name).as_str(),
                    "transaction_isolation" | "transaction_read_only"
                ) =>
            {
                // SET transaction_read_only is SET TRANSACTION READ ONLY; outside
                // a block it ends with its own one-statement transaction.
                if self.transaction != TransactionState::Idle {
                    let canonical = canonical_setting_name(name);
                    let value = match value {
                        Some(value) => value.clone(),
                        None => self.settings[&format!("default_{canonical}")].clone(),
                    };
                    if canonical == "transaction_isolation" {
                        let level = isolation_level(&value)?;
                        self.set_transaction_modes(Some(level), None)?;
                    } else {
                        let read_only = parse_bool_setting(name, &value)?;
                        self.set_transaction_modes(None, Some(read_only))?;
                    }
                }
                self.complete("SET");
                Ok(None)
            }
            Statement::Set { name, value, local } => {
                if *local && self.transaction == TransactionState::Idle {
                    self.notice("25P01", "SET LOCAL can only be used in transaction blocks");
                } else {
                    self.note_transaction_setting(name, value.as_deref(), *local);
                    self.set_setting(name, value.as_deref()).await?;
                }
                self.complete("SET");
                Ok(None)
            }
            Statement::Reset { name } => {
                match name {
                    Some(name) => {
                        self.note_transaction_setting(name, None, false);
                        self.set_setting(name, None).await?
                    }
                    None => self.reset_all().await?,
                }
                self.complete("RESET");
                Ok(None)
            }
            Statement::Show { name } => {
                let canonical = canonical_setting_name(name);
                let value = self.settings.get(&canonical).cloned().ok_or_else(|| {
                    PgError::new(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    )
                })?;
                let column = Column {
                    name: name.to_ascii_lowercase(),
                    type_oid: duckraft_sql::types::oid::TEXT,
                    type_modifier: -1,
                };
                Ok(Some(QueryOutput {
                    columns: vec![column],
                    rows: vec![vec![Value::Text(value)]],
                    affected_rows: 0,
                    returns_rows: true,
                }))
            }
            Statement::Discard => {
                if self.transaction != TransactionState::Idle {
                    return Err(PgError::new(
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    ));
                }
                self.statements.clear();
                self.portals.clear();
                self.reset_all().await?;
                self.complete("DISCARD ALL");
                Ok(None)
            }
            Statement::CreateDatabase { name } => {
                self.require_no_block("CREATE DATABASE")?;
                let name = name.clone();
                self.blocking(move |s| s.create_database(&name)).await?;
                self.complete("CREATE DATABASE");
                Ok(None)
            }
            Statement::DropDatabase { name, if_exists } => {
                self.require_no_block("DROP DATABASE")?;
                if name == &self.database {
                    return Err(PgError::new(
                        sqlstate::OBJECT_IN_USE,
                        "cannot drop the currently open database",
                    ));
                }
                let (name, if_exists) = (name.clone(), *if_exists);
                self.blocking(move |s| s.drop_database(&name, if_exists))
                    .await?;
                self.complete("DROP DATABASE");
                Ok(None)
            }
            Statement::Role(role) => {
                let tag = role.tag();
                self.require_no_block(tag)?;
                let role = role.clone();
                self.blocking(move |s| s.role(&role)).await?;
                self.complete(tag);
                Ok(None)
            }
            Statement::DatabaseConnect {
                databases,
                roles,
                grant,
            } => {
                let tag = if *grant { "GRANT" } else { "REVOKE" };
                self.require_no_block(tag)?;
                let (databases, roles, grant) = (databases.clone(), roles.clone(), *grant);
                self.blocking(move |s| s.database_connect(&databases, &roles, grant))
                    .await?;
                self.complete(tag);
                Ok(None)
            }
            Statement::ClusterMember(change) => {
                self.require_no_block("ALTER CLUSTER")?;
                let change = change.clone();
                self.blocking(move |s| s.cluster_member(&change)).await?;
                self.complete("ALTER CLUSTER");
                Ok(None)
            }
            Statement::CopyFrom {
                table,
                columns,
                options,
            } => {
                self.copy_in(table, columns, options).await?;
                Ok(None)
            }
            Statement::CopyTo { query, options } => {
                self.copy_out(query, options).await?;
                Ok(None)
            }
            Statement::DeclareCursor { name, query, hold } => {
                if self.transaction == TransactionState::Idle && !hold {
                    return Err(PgError::new(
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                        "DECLARE CURSOR can only be used in transaction blocks",
                    ));
                }
                if self.cursors.contains_key(name) {
                    return Err(PgError::new(
                        "42P03",
                        format!("cursor \"{name}\" already exists"),
                    ));
                }
                let sql = query.clone();
                let output = self
                    .blocking(move |s| s.execute(&sql, SqlKind::Read, &parameters))
                    .await?;
                self.cursors.insert(
                    name.clone(),
                    Cursor {
                        columns: output.columns,
                        rows: output.rows.into_iter(),
                        hold: *hold,
                    },
                );
                self.complete("DECLARE CURSOR");
                Ok(None)
            }
            Statement::Fetch {
                name,
                count,
                move_only,
            } => {
                let cursor = self.cursors.get_mut(name).ok_or_else(|| {
                    PgError::new(
                        sqlstate::INVALID_CURSOR_NAME,
                        format!("cursor \"{name}\" does not exist"),
                    )
                })?;
                let limit = count.map_or(usize::MAX, |c| c as usize);
                let rows: Vec<Vec<Value>> = cursor.rows.by_ref().take(limit).collect();
                if *move_only {
                    self.complete(&format!("MOVE {}", rows.len()));
                    return Ok(None);
                }
                Ok(Some(QueryOutput {
                    columns: cursor.columns.clone(),
                    affected_rows: rows.len() as u64,
                    rows,
                    returns_rows: true,
                }))
            }
            Statement::CloseCursor { name } => {
                match name {
                    None => self.cursors.clear(),
                    Some(name) => {
                        self.cursors.remove(name).ok_or_else(|| {
                            PgError::new(
                                sqlstate::INVALID_CURSOR_NAME,
                                format!("cursor \"{name}\" does not exist"),
                            )
                        })?;
                    }
                }
                self.complete("CLOSE CURSOR");
                Ok(None)
            }
            Statement::CopyFile => Err(PgError::new(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                "COPY to or from a file or program is not allowed",
            )
            .with_hint("Use COPY ... FROM STDIN or COPY ... TO STDOUT, or psql's \\copy.")),
            Statement::Unsupported { what } => Err(PgError::feature_not_supported(format!(
                "{what} is not supported by duckraft"
            ))),
            Statement::Sql { kind, .. } => {
                let (sql, kind) = (text.to_string(), *kind);
                let output = self
                    .blocking(move |s| s.execute(&sql, kind, &parameters))
                    .await?;
                Ok(Some(output))
            }
        }
    }

    fn require_no_block(&self, what: &str) -> Result<(), PgError> {
        if self.transaction != TransactionState::Idle {
            return Err(PgError::new(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                format!("{what} cannot run inside a transaction block"),
            ));
        }
        Ok(())
    }

    /// The transaction ended: its cursors (but held ones) close and its
    /// modes give way to the session's defaults.
    fn reset_transaction_settings(&mut self) {
        self.cursors.retain(|_, cursor| cursor.hold);
        self.transaction_queried = false;
        for (current, default) in TRANSACTION_MODES {
            let value = self.settings.get(default).cloned().unwrap_or_default();
            self.settings.insert(current.into(), value);
        }
    }

    /// A transaction starts: its modes are the ones given, else the session's
    /// defaults. Returns the isolation level it runs at.
    fn start_transaction_modes(
        &mut self,
        isolation: Option<IsolationLevel>,
        read_only: Option<bool>,
    ) -> Option<IsolationLevel> {
        self.reset_transaction_settings();
        self.transaction_queried = false;
        if let Some(level) = isolation {
            self.settings
                .insert("transaction_isolation".into(), level.as_str().into());
        }
        if let Some(read_only) = read_only {
            self.settings
                .insert("transaction_read_only".into(), on_off(read_only).into());
        }
        self.settings
            .get("transaction_isolation")
            .and_then(|level| isolation_level(level).ok())
    }

    /// `SET TRANSACTION` inside the open transaction, with PostgreSQL's rule
    /// that the isolation level, and a switch back to READ WRITE, must come
    /// before its first query.
    fn set_transaction_modes(
        &mut self,
        isolation: Option<IsolationLevel>,
        read_only: Option<bool>,
    ) -> Result<(), PgError> {
        if let Some(level) = isolation {
            let current = self.settings.get("transaction_isolation");
            if self.transaction_queried && current.map(String::as_str) != Some(level.as_str()) {
                return Err(PgError::new(
                    sqlstate::ACTIVE_SQL_TRANSACTION,
                    "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                ));
            }
            self.settings
                .insert("transaction_isolation".into(), level.as_str().into());
        }
        if let Some(read_only) = read_only {
            if !read_only && self.transaction_queried && self.setting_is_on("transaction_read_only")
            {
                return Err(PgError::new(
                    sqlstate::ACTIVE_SQL_TRANSACTION,
                    "transaction read-write mode must be set before any query",
                ));
            }
            self.settings
                .insert("transaction_read_only".into(), on_off(read_only).into());
        }
        Ok(())
    }

    fn setting_is_on(&self, name: &str) -> bool {
        self.settings.get(name).map(String::as_str) == Some("on")
    }

    /// 25006 for a statement that writes while the transaction it runs in
    /// (a block, or its own under `default_transaction_read_only`) is read-only.
    fn read_only_refusal(&self, statement: &Statement) -> Option<PgError> {
        let mode = match self.transaction {
            TransactionState::Idle => "default_transaction_read_only",
            _ => "transaction_read_only",
        };
        if !self.setting_is_on(mode) {
            return None;
        }
        let what = match statement {
            Statement::Sql {
                kind: SqlKind::Write | SqlKind::Ddl,
                tag,
            } if !tag.is_empty() => tag.as_str(),
            Statement::Sql {
                kind: SqlKind::Write | SqlKind::Ddl,
                ..
            } => "this statement",
            Statement::CopyFrom { .. } => "COPY FROM",
            Statement::CreateDatabase { .. } => "CREATE DATABASE",
            Statement::DropDatabase { .. } => "DROP DATABASE",
            Statement::Role(role) => role.tag(),
            Statement::DatabaseConnect { grant: true, .. } => "GRANT",
            Statement::DatabaseConnect { grant: false, .. } => "REVOKE",
            Statement::ClusterMember(_) => "ALTER CLUSTER",
            _ => return None,
        };
        Some(PgError::new(
            sqlstate::READ_ONLY_SQL_TRANSACTION,
            format!("cannot execute {what} in a read-only transaction"),
        ))
    }

    fn complete(&mut self, tag: &str) {
        self.out.message(b'C').cstr(tag);
    }

    fn notice(&mut self, code: &str, message: &str) {
        let mut m = self.out.message(b'N');
        m.u8(b'S')
            .cstr("WARNING")
            .u8(b'V')
            .cstr("WARNING")
            .u8(b'C')
            .cstr(code)
            .u8(b'M')
            .cstr(message)
            .u8(0);
    }

    /// RESET ALL: every setting changed since startup goes back to its startup value.
    async fn reset_all(&mut self) -> Result<(), PgError> {
        let changed: Vec<String> = self
            .settings
            .iter()
            .filter(|(name, value)| self.baseline.get(*name) != Some(value))
            .map(|(name, _)| name.clone())
            .collect();
        // As in PostgreSQL, a custom setting (`myapp.x`) stays defined, empty.
        for name in changed {
            self.note_transaction_setting(&name, None, false);
            self.set_setting(&name, None).await?;
        }
        self.statement_timeout = self.context.limits.statement_timeout;
        Ok(())
    }

    async fn set_setting(&mut self, name: &str, value: Option<&str>) -> Result<(), PgError> {
        let canonical = canonical_setting_name(name);
        let default = self.baseline.get(&canonical).cloned().or_else(|| {
            DEFAULT_SETTINGS
                .iter()
                .find(|(n, _)| *n == canonical)
                .map(|(_, v)| v.to_string())
        });
        let mut effective = value.map(str::to_string).or(default).unwrap_or_default();
        match canonical.as_str() {
            "default_transaction_read_only" => {
                effective = on_off(parse_bool_setting(&canonical, &effective)?).into();
            }
            "default_transaction_isolation" => {
                effective = isolation_level(&effective)?.as_str().into();
            }
            "statement_timeout" => {
                self.statement_timeout = parse_duration_ms(&effective)?
                    .map(Duration::from_millis)
                    .or(if value.is_none() {
                        self.context.limits.statement_timeout
                    } else {
                        None
                    });
            }
            "duckraft.read_consistency"
                if !matches!(effective.as_str(), "linearizable" | "session" | "local") =>
            {
                return Err(PgError::new(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid value for parameter \"duckraft.read_consistency\": \"{effective}\""),
                )
                .with_hint("Available values: linearizable, session, local."));
            }
            "client_encoding"
                if !matches!(
                    effective
                        .to_ascii_uppercase()
                        .replace(['-', '_'], "")
                        .as_str(),
                    "UTF8" | "UNICODE"
                ) =>
            {
                return Err(PgError::new(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("invalid value for parameter \"client_encoding\": \"{effective}\""),
                )
                .with_hint("duckraft speaks UTF8 only."));
            }
            "TimeZone"
                if !matches!(
                    effective.to_ascii_uppercase().as_str(),
                    "UTC" | "GMT" | "ETC/UTC" | "Z" | "UCT" | "ZULU"
                ) =>
            {
                return Err(PgError::feature_not_supported(format!(
                    "time zone \"{effective}\" is not supported; duckraft sessions run in UTC"
                )));
            }
            _ => {}
        }
        let stored = if canonical == "TimeZone" {
            "UTC".to_string()
        } else {
            effective
        };
        let (engine_name, engine_value) = (canonical.clone(), stored.clone());
        self.blocking(move |s| s.set_parameter(&engine_name, Some(&engine_value)))
            .await?;
        let changed = self
            .settings
            .insert(canonical.clone(), stored.clone())
            .as_deref()
            != Some(stored.as_str());
        if changed && REPORTED_SETTINGS.contains(&canonical.as_str()) {
            self.out.message(b'S').cstr(&canonical).cstr(&stored);
        }
        // Outside a block the next statement's own transaction takes the new default.
        if self.transaction == TransactionState::Idle {
            self.reset_transaction_settings();
        }
        Ok(())
    }

    fn send_rows_description(&mut self, columns: &[Column], result_formats: &[i16]) {
        if columns.is_empty() {
            return;
        }
        let mut m = self.out.message(b'T');
        m.i16(columns.len() as i16);
        for (i, column) in columns.iter().enumerate() {
            m.cstr(&column.name)
                .i32(0)
                .i16(0)
                .u32(column.type_oid)
                .i16(duckraft_sql::types::type_len(column.type_oid))
                .i32(column.type_modifier)
                .i16(format_for(result_formats, i));
        }
    }

    fn send_rows<'r>(
        &mut self,
        columns: &[Column],
        rows: impl Iterator<Item = &'r Vec<Value>>,
        result_formats: &[i16],
    ) -> Result<u64, PgError> {
        let mut count = 0;
        for row in rows {
            let buf = &mut self.out.buf;
            buf.put_u8(b'D');
            let len_at = buf.len();
            buf.put_i32(0);
            buf.put_i16(row.len() as i16);
            for (i, value) in row.iter().enumerate() {
                if value.is_null() {
                    buf.put_i32(-1);
                    continue;
                }
                let value_at = buf.len();
                buf.put_i32(0);
                if format_for(result_formats, i) == 1 {
                    crate::binary::encode(value, columns[i].type_oid, buf)?;
                } else {
                    buf.put_slice(value.to_text().unwrap_or_default().as_bytes());
                }
                let value_len = (buf.len() - value_at - 4) as i32;
                buf[value_at..value_at + 4].copy_from_slice(&value_len.to_be_bytes());
            }
            let len = (buf.len() - len_at) as i32;
            buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            count += 1;
        }
        Ok(count)
    }

    async fn copy_in(
        &mut self,
        table: &str,
        columns: &[String],
        options: &CopyOptions,
    ) -> Result<(), PgError> {
        let (table_owned, columns_owned) = (table.to_string(), columns.to_vec());
        let target = self
            .blocking(move |s| s.copy_in_columns(&table_owned, &columns_owned))
            .await?;
        let format = u8::from(options.format == duckraft_sql::CopyFormat::Binary);
        {
            let mut m = self.out.message(b'G');
            m.u8(format).i16(target.len() as i16);
            for _ in &target {
                m.i16(i16::from(format));
            }
        }
        self.flush().await?;
        let mut data = BytesMut::new();
        let mut overflow = false;
        loop {
            let message = self
                .read()
                .await?
                .ok_or_else(|| PgError::fatal("08006", "connection closed during COPY"))?;
            match message.tag {
                b'd' => {
                    if data.len() + message.body.len() > self.context.limits.copy_bytes_max {
                        overflow = true;
                    } else {
                        data.extend_from_slice(&message.body);
                    }
                }
                b'c' => break,
                b'f' => {
                    let reason = Reader::new(&message.body).cstr().unwrap_or_default();
                    return Err(PgError::new(
                        sqlstate::QUERY_CANCELED,
                        format!("COPY from stdin failed: {reason}"),
                    ));
                }
                b'H' | b'S' => {}
                other => {
                    return Err(PgError::protocol(format!(
                        "unexpected message type 0x{other:02x} during COPY from stdin"
                    )))
                }
            }
        }
        if overflow {
            return Err(PgError::new(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "COPY data exceeds the limit of {} bytes",
                    self.context.limits.copy_bytes_max
                ),
            ));
        }
        let oids: Vec<u32> = target.iter().map(|c| c.type_oid).collect();
        let rows = copy::decode_rows(&data, options, &oids)?;
        let table = table.to_string();
        let count = self
            .blocking(move |s| s.copy_in(&table, &target, rows))
            .await?;
        self.complete(&format!("COPY {count}"));
        Ok(())
    }

    async fn copy_out(&mut self, query: &str, options: &CopyOptions) -> Result<(), PgError> {
        let sql = query.to_string();
        let output = self
            .blocking(move |s| s.execute(&sql, SqlKind::Read, &[]))
            .await?;
        let oids: Vec<u32> = output.columns.iter().map(|c| c.type_oid).collect();
        let encoder = CopyEncoder::new(options, oids);
        let format = u8::from(options.format == duckraft_sql::CopyFormat::Binary);
        {
            let mut m = self.out.message(b'H');
            m.u8(format).i16(output.columns.len() as i16);
            for _ in &output.columns {
                m.i16(i16::from(format));
            }
        }
        let names: Vec<String> = output.columns.iter().map(|c| c.name.clone()).collect();
        // As PostgreSQL does: the header travels in the same CopyData message
        // as the first row (or the trailer), one message per row after that.
        // The DuckDB postgres scanner relies on exactly this framing.
        let mut row_bytes = encoder.start(&names).unwrap_or_default();
        for row in &output.rows {
            encoder.row(row, &mut row_bytes)?;
            self.out.message(b'd').bytes(&row_bytes);
            row_bytes.clear();
            if self.out.len() > 256 * 1024 {
                self.flush().await?;
            }
        }
        if let Some(trailer) = encoder.finish() {
            row_bytes.extend_from_slice(&trailer);
        }
        if !row_bytes.is_empty() {
            self.out.message(b'd').bytes(&row_bytes);
        }
        self.out.message(b'c');
        self.complete(&format!("COPY {}", output.rows.len()));
        Ok(())
    }

    async fn extended(&mut self, message: FrontendMessage) -> Result<(), PgError> {
        let mut reader = Reader::new(&message.body);
        match message.tag {
            b'P' => {
                let name = reader.cstr()?;
                let sql = reader.cstr()?;
                let count = reader.count(4)?;
                let mut parameter_types = Vec::with_capacity(count);
                for _ in 0..count {
                    parameter_types.push(reader.u32()?);
                }
                let statements =
                    split_statements(&sql).map_err(|e| PgError::syntax(e.message.clone()))?;
                if statements.len() > 1 {
                    return Err(PgError::syntax(
                        "cannot insert multiple commands into a prepared statement",
                    ));
                }
                let text = statements.first().copied().unwrap_or("").to_string();
                let statement = classify(&text).map_err(|e| PgError::syntax(e.message))?;
                if !name.is_empty() && self.statements.contains_key(&name) {
                    return Err(PgError::new(
                        sqlstate::DUPLICATE_PREPARED_STATEMENT,
                        format!("prepared statement \"{name}\" already exists"),
                    ));
                }
                let mut prepared = PreparedStatement {
                    sql: text,
                    statement,
                    parameter_types,
                    columns: None,
                };
                if matches!(prepared.statement, Statement::Sql { .. })
                    && self.transaction != TransactionState::Failed
                {
                    // Describe now so syntax errors surface at Parse, as in PostgreSQL.
                    let (sql, types) = (prepared.sql.clone(), prepared.parameter_types.clone());
                    let started = std::time::Instant::now();
                    let description = self.blocking(move |s| s.describe(&sql, &types)).await;
                    debug!(
                        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                        ok = description.is_ok(),
                        statement = %prepared.sql.chars().take(200).collect::<String>(),
                        "parse"
                    );
                    let description = description?;
                    for (i, t) in description.parameter_types.iter().enumerate() {
                        match prepared.parameter_types.get_mut(i) {
                            Some(existing) if *existing == 0 => *existing = *t,
                            Some(_) => {}
                            None => prepared.parameter_types.push(*t),
                        }
                    }
                    prepared.columns = Some(description.columns);
                }
                if let Statement::CopyFrom { table, columns, .. } = &prepared.statement {
                    if self.transaction != TransactionState::Failed {
                        // PostgreSQL resolves the target at Parse. A target
                        // refused only at Execute would leave clients that
                        // send Sync before the copy data (tokio-postgres's
                        // copy_in) answered with one ReadyForQuery too many.
                        let (table, columns) = (table.clone(), columns.clone());
                        self.blocking(move |s| s.copy_in_columns(&table, &columns))
                            .await?;
                    }
                }
                self.statements.insert(name, Arc::new(prepared));
                self.out.message(b'1');
            }
            b'B' => {
                let portal_name = reader.cstr()?;
                let statement_name = reader.cstr()?;
                let statement = self
                    .statements
                    .get(&statement_name)
                    .cloned()
                    .ok_or_else(|| {
                        PgError::new(
                            sqlstate::INVALID_SQL_STATEMENT_NAME,
                            format!("prepared statement \"{statement_name}\" does not exist"),
                        )
                    })?;
                let format_count = reader.count(2)?;
                let mut parameter_formats = Vec::with_capacity(format_count);
                for _ in 0..format_count {
                    parameter_formats.push(reader.i16()?);
                }
                let value_count = reader.count(4)?;
                if format_count > 1 && format_count != value_count {
                    return Err(PgError::protocol(
                        "bind message has mismatched parameter format count",
                    ));
                }
                if value_count != statement.parameter_types.len() {
                    return Err(PgError::protocol(format!(
                        "bind message supplies {value_count} parameters, but prepared statement \"{statement_name}\" requires {}",
                        statement.parameter_types.len()
                    )));
                }
                let mut parameters = Vec::with_capacity(value_count);
                for i in 0..value_count {
                    let len = reader.i32()?;
                    if len < 0 {
                        parameters.push(Value::Null);
                        continue;
                    }
                    let data = reader.bytes(len as usize)?;
                    let value = if format_for(&parameter_formats, i) == 1 {
                        crate::binary::decode(data, statement.parameter_types[i])?
                    } else {
                        let text = std::str::from_utf8(data).map_err(|_| {
                            PgError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
                        })?;
                        // DuckDB reads lists as `[...]`: an array parameter
                        // travels as a list of its items.
                        element_of(statement.parameter_types[i])
                            .and_then(|element| parse_array(text, element))
                            .unwrap_or_else(|| Value::Text(text.to_string()))
                    };
                    parameters.push(value);
                }
                let result_count = reader.count(2)?;
                let mut result_formats = Vec::with_capacity(result_count);
                for _ in 0..result_count {
                    result_formats.push(reader.i16()?);
                }
                self.portals.insert(
                    portal_name,
                    Portal {
                        statement,
                        parameters,
                        result_formats,
                        output: None,
                    },
                );
                self.out.message(b'2');
            }
            b'D' => {
                let kind = reader.u8()?;
                let name = reader.cstr()?;
                match kind {
                    b'S' => {
                        let statement = self.statements.get(&name).cloned().ok_or_else(|| {
                            PgError::new(
                                sqlstate::INVALID_SQL_STATEMENT_NAME,
                                format!("prepared statement \"{name}\" does not exist"),
                            )
                        })?;
                        {
                            let mut m = self.out.message(b't');
                            m.i16(statement.parameter_types.len() as i16);
                            for t in &statement.parameter_types {
                                m.u32(*t);
                            }
                        }
                        let columns = self.statement_columns(&statement).await?;
                        match columns {
                            Some(columns) if !columns.is_empty() => {
                                self.send_rows_description(&columns, &[])
                            }
                            _ => {
                                self.out.message(b'n');
                            }
                        }
                    }
                    b'P' => {
                        if let Some(cursor) = self.cursors.get(&name) {
                            let columns = cursor.columns.clone();
                            if columns.is_empty() {
                                self.out.message(b'n');
                            } else {
                                self.send_rows_description(&columns, &[]);
                            }
                            return Ok(());
                        }
                        let portal = self.portals.get(&name).ok_or_else(|| {
                            PgError::new(
                                sqlstate::INVALID_CURSOR_NAME,
                                format!("portal \"{name}\" does not exist"),
                            )
                        })?;
                        let (statement, formats) =
                            (portal.statement.clone(), portal.result_formats.clone());
                        let columns = self.statement_columns(&statement).await?;
                        match columns {
                            Some(columns) if !columns.is_empty() => {
                                self.send_rows_description(&columns, &formats)
                            }
                            _ => {
                                self.out.message(b'n');
                            }
                        }
                    }
                    _ => return Err(PgError::protocol("invalid DESCRIBE message subtype")),
                }
            }
            b'E' => {
                let name = reader.cstr()?;
                let max_rows = reader.i32()?;
                self.execute_portal(&name, max_rows).await?;
            }
            b'C' => {
                let kind = reader.u8()?;
                let name = reader.cstr()?;
                match kind {
                    b'S' => {
                        self.statements.remove(&name);
                    }
                    b'P' => {
                        self.portals.remove(&name);
                    }
                    _ => return Err(PgError::protocol("invalid CLOSE message subtype")),
                }
                self.out.message(b'3');
            }
            b'H' => {}
            _ => unreachable!("only extended-protocol messages are routed here"),
        }
        Ok(())
    }

    /// Result columns of a prepared statement, describing it on demand.
    async fn statement_columns(
        &mut self,
        statement: &PreparedStatement,
    ) -> Result<Option<Vec<Column>>, PgError> {
        if let Some(columns) = &statement.columns {
            return Ok(columns.clone());
        }
        Ok(match &statement.statement {
            Statement::Show { name } => Some(vec![Column {
                name: name.to_ascii_lowercase(),
                type_oid: duckraft_sql::types::oid::TEXT,
                type_modifier: -1,
            }]),
            Statement::Fetch { name, .. } => self.cursors.get(name).map(|c| c.columns.clone()),
            Statement::Sql { .. } => {
                if self.transaction == TransactionState::Failed {
                    return Err(PgError::new(
                        sqlstate::IN_FAILED_SQL_TRANSACTION,
                        "current transaction is aborted, commands ignored until end of transaction block",
                    ));
                }
                let (sql, types) = (statement.sql.clone(), statement.parameter_types.clone());
                self.blocking(move |s| s.describe(&sql, &types))
                    .await?
                    .columns
            }
            _ => None,
        })
    }

    async fn execute_portal(&mut self, name: &str, max_rows: i32) -> Result<(), PgError> {
        let portal = self.portals.get_mut(name).ok_or_else(|| {
            PgError::new(
                sqlstate::INVALID_CURSOR_NAME,
                format!("portal \"{name}\" does not exist"),
            )
        })?;
        if portal.output.is_none() {
            let statement = portal.statement.clone();
            let parameters = std::mem::take(&mut portal.parameters);
            if statement.sql.is_empty() {
                self.out.message(b'I');
                return Ok(());
            }
            let outcome = self
                .run_statement(&statement.sql.clone(), &statement.statement, parameters)
                .await?;
            let Some(output) = outcome else {
                // Session command: its completion is already written.
                self.portals.remove(name);
                return Ok(());
            };
            let tag = command_tag(&statement.statement, &output);
            let portal = self.portals.get_mut(name).expect("portal exists");
            portal.output = Some(PortalOutput {
                columns: output.columns,
                rows: output.rows.into_iter(),
                tag,
                returns_rows: output.returns_rows,
                sent: 0,
            });
        }
        let portal = self.portals.get_mut(name).expect("portal exists");
        let formats = portal.result_formats.clone();
        let output = portal.output.as_mut().expect("portal executed above");
        let limit = if max_rows <= 0 {
            usize::MAX
        } else {
            max_rows as usize
        };
        let batch: Vec<Vec<Value>> = output.rows.by_ref().take(limit).collect();
        let columns = output.columns.clone();
        let exhausted = output.rows.len() == 0;
        let returns_rows = output.returns_rows;
        let tag = output.tag.clone();
        output.sent += batch.len() as u64;
        let sent = output.sent;
        self.send_rows(&columns, batch.iter(), &formats)?;
        if !exhausted {
            self.out.message(b's');
        } else if returns_rows && tag.starts_with("SELECT") {
            self.out.message(b'C').cstr(&format!("SELECT {sent}"));
        } else {
            self.out.message(b'C').cstr(&tag);
        }
        Ok(())
    }
}

fn format_for(formats: &[i16], index: usize) -> i16 {
    match formats.len() {
        0 => 0,
        1 => formats[0],
        _ => formats.get(index).copied().unwrap_or(0),
    }
}

fn parse_duration_ms(value: &str) -> Result<Option<u64>, PgError> {
    let value = value.trim().trim_matches('\'');
    let invalid = || {
        PgError::new(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"statement_timeout\": \"{value}\""),
        )
    };
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let number: u64 = value[..digits_end].parse().map_err(|_| invalid())?;
    let unit = value[digits_end..].trim();
    let ms = match unit {
        "" | "ms" => number,
        "s" => number * 1000,
        "min" => number * 60_000,
        "h" => number * 3_600_000,
        _ => return Err(invalid()),
    };
    Ok(if ms == 0 { None } else { Some(ms) })
}

/// Each transaction mode setting and the session default it starts from.
const TRANSACTION_MODES: [(&str, &str); 2] = [
    ("transaction_isolation", "default_transaction_isolation"),
    ("transaction_read_only", "default_transaction_read_only"),
];

/// Statements that take a snapshot, after which a transaction's isolation
/// level and read-write mode are fixed.
fn queries(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Sql { .. }
            | Statement::CopyFrom { .. }
            | Statement::CopyTo { .. }
            | Statement::DeclareCursor { .. }
            | Statement::Fetch { .. }
    )
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// A boolean setting as PostgreSQL spells it: on/off, true/false, yes/no,
/// 1/0, and any unambiguous prefix of those words.
fn parse_bool_setting(name: &str, value: &str) -> Result<bool, PgError> {
    let word = value.trim().trim_matches('\'').to_ascii_lowercase();
    let matches = |full: &str, shortest: usize| word.len() >= shortest && full.starts_with(&word);
    if matches("true", 1) || matches("yes", 1) || matches("on", 2) || word == "1" {
        Ok(true)
    } else if matches("false", 1) || matches("no", 1) || matches("off", 2) || word == "0" {
        Ok(false)
    } else {
        Err(PgError::new(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("parameter \"{name}\" requires a Boolean value"),
        ))
    }
}

fn isolation_level(value: &str) -> Result<IsolationLevel, PgError> {
    let words = value.trim().trim_matches('\'').to_ascii_lowercase();
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.as_str() {
        "serializable" => Ok(IsolationLevel::Serializable),
        "repeatable read" => Ok(IsolationLevel::RepeatableRead),
        "read committed" => Ok(IsolationLevel::ReadCommitted),
        "read uncommitted" => Ok(IsolationLevel::ReadUncommitted),
        _ => Err(PgError::new(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"transaction_isolation\": \"{value}\""),
        )
        .with_hint(
            "Available values: serializable, repeatable read, read committed, read uncommitted.",
        )),
    }
}

fn command_tag(statement: &Statement, output: &QueryOutput) -> String {
    match statement {
        Statement::Sql { tag, .. } => match tag.as_str() {
            "INSERT" => format!("INSERT 0 {}", output.affected_rows),
            "UPDATE" | "DELETE" | "MERGE" => format!("{tag} {}", output.affected_rows),
            "SELECT" => format!("SELECT {}", output.rows.len()),
            _ if output.returns_rows && tag.is_empty() => format!("SELECT {}", output.rows.len()),
            _ => tag.clone(),
        },
        Statement::Show { .. } => "SHOW".into(),
        Statement::Fetch { .. } => format!("FETCH {}", output.rows.len()),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_postgres() {
        assert_eq!(parse_duration_ms("0").unwrap(), None);
        assert_eq!(parse_duration_ms("250").unwrap(), Some(250));
        assert_eq!(parse_duration_ms("'2s'").unwrap(), Some(2000));
        assert_eq!(parse_duration_ms("1min").unwrap(), Some(60_000));
        assert!(parse_duration_ms("soon").is_err());
    }

    #[test]
    fn setting_names_are_canonical() {
        assert_eq!(canonical_setting_name("timezone"), "TimeZone");
        assert_eq!(canonical_setting_name("DATESTYLE"), "DateStyle");
        assert_eq!(canonical_setting_name("my.custom"), "my.custom");
    }
}
