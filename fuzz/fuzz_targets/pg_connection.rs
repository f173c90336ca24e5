//! The PostgreSQL front door, byte by byte, as a real client reaches it.
//!
//! The first input byte picks the mode. Pre-authentication: the rest of the
//! input is the whole client stream (startup packets, SSL and GSS requests,
//! cancel requests, SASL messages). Authenticated: the harness logs in with
//! SCRAM-SHA-256 like a real client, then sends the rest of the input as the
//! session (simple and extended query, COPY, transactions, settings).
//!
//! Either way the server must answer with well-framed messages, never panic
//! or hang, and close the connection once the client has gone.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use duckraft_pgwire::backend::{Backend, Description, Interrupter, QueryOutput, Session};
use duckraft_pgwire::scram::ScramVerifier;
use duckraft_pgwire::{serve_plain, CancelRegistry, ConnectionContext, ConnectionLimits, PgError};
use duckraft_sql::lexer::{self, TokenKind};
use duckraft_sql::types::oid;
use duckraft_sql::{Column, IsolationLevel, MemberStatement, RoleStatement, SqlKind, Value};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const USER: &str = "fuzz";
const PASSWORD: &str = "fuzz-password";
/// One PBKDF2 round keeps each login cheap; the exchange is the same.
const ITERATIONS: u32 = 1;

struct FuzzBackend;

impl Backend for FuzzBackend {
    type Session = FuzzSession;

    fn user_verifier(&self, user: &str) -> Option<ScramVerifier> {
        (user == USER).then(|| ScramVerifier::new(PASSWORD, b"fuzz-salt".to_vec(), ITERATIONS))
    }
    fn is_superuser(&self, _user: &str) -> bool {
        true
    }
    fn server_secret(&self) -> Vec<u8> {
        b"fuzz-server-secret".to_vec()
    }
    fn open_session(&self, _user: &str, database: &str) -> Result<FuzzSession, PgError> {
        if database == "missing" {
            return Err(PgError::new("3D000", "database does not exist"));
        }
        Ok(FuzzSession)
    }
}

/// Answers like a small catalog: statements that start with SELECT return
/// one text column, everything else changes one row.
struct FuzzSession;

fn returns_rows(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|head| head.eq_ignore_ascii_case("select"))
}

fn text_column(name: &str) -> Column {
    Column {
        name: name.to_string(),
        type_oid: oid::TEXT,
        type_modifier: -1,
    }
}

impl Session for FuzzSession {
    fn describe(&mut self, sql: &str, parameter_types: &[u32]) -> Result<Description, PgError> {
        let tokens = lexer::tokenize(sql).map_err(|e| PgError::new("42601", e.to_string()))?;
        let parameters = tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Param)
            .filter_map(|t| t.text[1..].parse::<usize>().ok())
            .max()
            .unwrap_or(0)
            .max(parameter_types.len())
            .min(64);
        let types = (0..parameters)
            .map(|i| match parameter_types.get(i) {
                Some(&t) if t != 0 => t,
                _ => oid::TEXT,
            })
            .collect();
        Ok(Description {
            parameter_types: types,
            columns: returns_rows(sql).then(|| vec![text_column("v")]),
        })
    }
    fn execute(
        &mut self,
        sql: &str,
        _kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError> {
        if sql.contains("fail") {
            return Err(PgError::new("22012", "division by zero"));
        }
        let rows = returns_rows(sql);
        Ok(QueryOutput {
            columns: if rows { vec![text_column("v")] } else { vec![] },
            rows: if rows {
                vec![vec![Value::Text(format!(
                    "{} parameters",
                    parameters.len()
                ))]]
            } else {
                vec![]
            },
            affected_rows: u64::from(!rows),
            returns_rows: rows,
        })
    }
    fn begin(&mut self, _isolation: Option<IsolationLevel>) -> Result<(), PgError> {
        Ok(())
    }
    fn commit(&mut self) -> Result<(), PgError> {
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), PgError> {
        Ok(())
    }
    fn copy_in_columns(
        &mut self,
        _table: &str,
        columns: &[String],
    ) -> Result<Vec<Column>, PgError> {
        if columns.is_empty() {
            return Ok(vec![
                Column {
                    name: "k".into(),
                    type_oid: oid::INT8,
                    type_modifier: -1,
                },
                text_column("v"),
            ]);
        }
        Ok(columns.iter().map(|c| text_column(c)).collect())
    }
    fn copy_in(
        &mut self,
        _table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, PgError> {
        assert!(rows.iter().all(|row| row.len() == columns.len()));
        Ok(rows.len() as u64)
    }
    fn create_database(&mut self, _name: &str) -> Result<(), PgError> {
        Ok(())
    }
    fn drop_database(&mut self, _name: &str, _if_exists: bool) -> Result<(), PgError> {
        Ok(())
    }
    fn role(&mut self, _statement: &RoleStatement) -> Result<(), PgError> {
        Ok(())
    }
    fn database_connect(
        &mut self,
        _databases: &[String],
        _roles: &[String],
        _grant: bool,
    ) -> Result<(), PgError> {
        Ok(())
    }
    fn cluster_member(&mut self, _change: &MemberStatement) -> Result<(), PgError> {
        Ok(())
    }
    fn set_parameter(&mut self, _name: &str, _value: Option<&str>) -> Result<(), PgError> {
        Ok(())
    }
    fn interrupter(&self) -> Interrupter {
        Arc::new(|| {})
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Reads one backend message; `None` at a clean end of stream.
async fn read_message(stream: &mut DuplexStream) -> Option<(u8, Vec<u8>)> {
    let tag = stream.read_u8().await.ok()?;
    let len = stream.read_i32().await.expect("message length");
    assert!(len >= 4, "backend message {tag} with length {len}");
    let mut body = vec![0; len as usize - 4];
    stream.read_exact(&mut body).await.expect("message body");
    Some((tag, body))
}

async fn expect_auth(stream: &mut DuplexStream, code: i32) -> Vec<u8> {
    let (tag, body) = read_message(stream)
        .await
        .expect("an authentication message");
    assert_eq!(
        tag, b'R',
        "expected an authentication message, got {}",
        tag as char
    );
    assert_eq!(i32::from_be_bytes(body[..4].try_into().unwrap()), code);
    body[4..].to_vec()
}

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Logs in as a real client does: startup, then SCRAM-SHA-256.
async fn log_in(stream: &mut DuplexStream) {
    let mut startup = 196_608i32.to_be_bytes().to_vec();
    for part in ["user", USER, "database", "fuzz", ""] {
        startup.extend_from_slice(part.as_bytes());
        startup.push(0);
    }
    let mut packet = (startup.len() as i32 + 4).to_be_bytes().to_vec();
    packet.extend_from_slice(&startup);
    stream.write_all(&packet).await.unwrap();

    expect_auth(stream, 10).await;
    let client_first_bare = "n=,r=fuzzclientnonce";
    let first = format!("n,,{client_first_bare}");
    let mut body = b"SCRAM-SHA-256\0".to_vec();
    body.extend_from_slice(&(first.len() as i32).to_be_bytes());
    body.extend_from_slice(first.as_bytes());
    stream.write_all(&message(b'p', &body)).await.unwrap();

    let server_first = String::from_utf8(expect_auth(stream, 11).await).unwrap();
    let field = |key: &str| {
        server_first
            .split(',')
            .find_map(|attr| attr.strip_prefix(key))
            .expect("server-first field")
            .to_string()
    };
    let (nonce, salt) = (field("r="), BASE64.decode(field("s=")).unwrap());
    let iterations: u32 = field("i=").parse().unwrap();
    let mut salted = salt;
    salted.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(PASSWORD.as_bytes(), &salted);
    let mut salted_password = u;
    for _ in 1..iterations {
        u = hmac(PASSWORD.as_bytes(), &u);
        salted_password.iter_mut().zip(u).for_each(|(r, x)| *r ^= x);
    }
    let client_key = hmac(&salted_password, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(signature)
        .map(|(k, s)| k ^ s)
        .collect();
    let last = format!("{without_proof},p={}", BASE64.encode(proof));
    stream
        .write_all(&message(b'p', last.as_bytes()))
        .await
        .unwrap();

    expect_auth(stream, 12).await;
    loop {
        let (tag, _) = read_message(stream).await.expect("startup completes");
        if tag == b'Z' {
            return;
        }
        assert_ne!(tag, b'E', "login failed");
    }
}

async fn session(input: Vec<u8>, authenticated: bool) {
    let (mut client, server) = tokio::io::duplex(16 * 1024);
    let (_shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
    let context = Arc::new(ConnectionContext {
        backend: Arc::new(FuzzBackend),
        limits: ConnectionLimits {
            message_bytes_max: 64 * 1024,
            copy_bytes_max: 256 * 1024,
            authentication_timeout: Duration::from_secs(5),
            ..ConnectionLimits::default()
        },
        cancel_registry: Arc::new(CancelRegistry::default()),
        tls: None,
        shutdown,
        server_version: "16.0".into(),
    });
    let server_task = tokio::spawn(serve_plain(context, server));
    if authenticated {
        log_in(&mut client).await;
    }
    let (mut reader, mut writer) = tokio::io::split(client);
    let write = tokio::spawn(async move {
        // The server may close first (a fatal error): the rest is unread.
        let _ = writer.write_all(&input).await;
        let _ = writer.shutdown().await;
        writer
    });
    if authenticated {
        // After login every byte the server sends is a well-framed message.
        while let Ok(tag) = reader.read_u8().await {
            let len = reader.read_i32().await.expect("complete message length");
            assert!(
                (4..=16 << 20).contains(&len),
                "backend message {:?} with length {len}",
                tag as char
            );
            let mut body = vec![0; len as usize - 4];
            reader
                .read_exact(&mut body)
                .await
                .expect("complete message body");
        }
    } else {
        // Before it, SSL and GSS requests are answered with one bare byte.
        let mut sink = Vec::new();
        reader
            .read_to_end(&mut sink)
            .await
            .expect("read until close");
    }
    server_task
        .await
        .expect("the connection task does not panic");
    drop(write.await.expect("writer"));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .max_blocking_threads(2)
        .build()
        .expect("runtime");
    let ran = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(20),
            session(rest.to_vec(), mode & 1 == 1),
        )
        .await
    });
    ran.expect("the server closed the connection after the client left");
});
