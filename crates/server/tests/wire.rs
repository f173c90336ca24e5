//! End-to-end protocol tests: a real server on loopback, real tokio-postgres
//! clients, and raw sockets for the malformed cases.

use std::sync::Arc;
use std::time::Duration;

use duckraft_server::{ServerConfig, SUPERUSER};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, SimpleQueryMessage};

const PASSWORD: &str = "wire-test-password";

struct TestServer {
    server: Option<duckraft_server::Server>,
    replication: duckraft_server::replication::Replication,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TestServer {
    async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig {
            data_dir: dir.path().join("data"),
            pg_listen: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        };
        tweak(&mut config);
        let prepare_config = config.clone();
        let (backend, _) = tokio::task::spawn_blocking(move || {
            let prepared = duckraft_server::prepare(&prepare_config).unwrap();
            prepared.0.set_password(SUPERUSER, PASSWORD, true).unwrap();
            prepared
        })
        .await
        .unwrap();
        let member = duckraft_server::start(config, backend, None).await.unwrap();
        let port = member.server.pg_address.port();
        TestServer {
            server: Some(member.server),
            replication: member.replication,
            port,
            _dir: dir,
        }
    }

    fn config(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(SUPERUSER)
            .password(PASSWORD)
            .dbname(database)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    async fn connect(&self, database: &str) -> tokio_postgres::Client {
        let (client, connection) = self.config(database).connect(NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    async fn stop(mut self) {
        self.server.take().unwrap().stop().await.unwrap();
    }
}

fn code(error: &tokio_postgres::Error) -> String {
    error
        .code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no sqlstate: {error}"))
}

fn simple_rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_and_extended_queries() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    let messages = client
        .simple_query("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, NULL); SELECT * FROM t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&messages),
        vec![
            vec![Some("1".into()), Some("a".into())],
            vec![Some("2".into()), None]
        ]
    );
    let tags: Vec<u64> = messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(tags, vec![0, 2, 2]);

    // Extended protocol with inferred parameter types and binary results.
    let rows = client
        .query("SELECT id, name FROM t WHERE id = $1", &[&1i32])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 1);
    assert_eq!(rows[0].get::<_, Option<String>>(1).as_deref(), Some("a"));
    let inserted = client
        .execute("INSERT INTO t VALUES ($1, $2)", &[&3i32, &"three"])
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    let typed = client
        .query_one(
            "SELECT 1::SMALLINT, 2::BIGINT, 1.5::DOUBLE, 2.5::REAL, true, 'x'::VARCHAR, '\\xde\\xad'::BLOB, [1, 2, NULL]::INTEGER[]",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(typed.get::<_, i16>(0), 1);
    assert_eq!(typed.get::<_, i64>(1), 2);
    assert_eq!(typed.get::<_, f64>(2), 1.5);
    assert_eq!(typed.get::<_, f32>(3), 2.5);
    assert!(typed.get::<_, bool>(4));
    assert_eq!(typed.get::<_, String>(5), "x");
    assert_eq!(typed.get::<_, Vec<u8>>(6), vec![0xde, 0xad]);
    assert_eq!(
        typed.get::<_, Vec<Option<i32>>>(7),
        vec![Some(1), Some(2), None]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_return_rows_in_batches() {
    let server = TestServer::start(|_| {}).await;
    let mut client = server.connect("duckraft").await;
    let transaction = client.transaction().await.unwrap();
    let statement = transaction
        .prepare("SELECT * FROM range(10) t(i) ORDER BY i")
        .await
        .unwrap();
    let portal = transaction.bind(&statement, &[]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let batch = transaction.query_portal(&portal, 4).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 4);
        seen.extend(batch.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(seen, (0..10).collect::<Vec<i64>>());
    transaction.commit().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_postgres_sqlstates() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute("CREATE TABLE u (id INTEGER PRIMARY KEY, v INTEGER)")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO u VALUES (1, 1)")
        .await
        .unwrap();
    let cases = [
        ("SELECT * FROM missing_table", "42P01"),
        ("SELEC 1", "42601"),
        ("INSERT INTO u VALUES (1, 2)", "23505"),
        ("SELECT no_such_column FROM u", "42703"),
        ("SELECT 'abc'::INTEGER", "22P02"),
        ("SAVEPOINT s", "0A000"),
        ("COPY u FROM '/etc/passwd'", "42501"),
        ("INSTALL httpfs", "0A000"),
        ("ATTACH '/tmp/other.duckdb' AS other", "0A000"),
        ("SELECT * FROM read_csv('/etc/passwd')", "42501"),
    ];
    for (sql, expected) in cases {
        let error = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&error), expected, "{sql}: {error:?}");
    }
    // The connection is still usable after every error.
    assert_eq!(
        client
            .query_one("SELECT count(*) FROM u", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        1
    );

    let missing = server
        .config("no_such_db")
        .connect(NoTls)
        .await
        .err()
        .unwrap();
    assert_eq!(code(&missing), "3D000");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_transaction_blocks_until_rollback() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute("CREATE TABLE a (id INTEGER PRIMARY KEY)")
        .await
        .unwrap();
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO a VALUES (1)")
        .await
        .unwrap();
    assert_eq!(
        code(
            &client
                .batch_execute("SELECT * FROM nope")
                .await
                .unwrap_err()
        ),
        "42P01"
    );
    assert_eq!(
        code(&client.batch_execute("SELECT 1").await.unwrap_err()),
        "25P02"
    );
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        client
            .query_one("SELECT count(*) FROM a", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        0
    );

    // COMMIT of a failed transaction rolls back.
    client
        .batch_execute("BEGIN; INSERT INTO a VALUES (2)")
        .await
        .unwrap();
    assert!(client
        .batch_execute("INSERT INTO a VALUES (2)")
        .await
        .is_err());
    let messages = client.simple_query("COMMIT").await.unwrap();
    assert!(matches!(
        messages.last(),
        Some(SimpleQueryMessage::CommandComplete(_))
    ));
    assert_eq!(
        client
            .query_one("SELECT count(*) FROM a", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        0
    );

    // A multi-statement query is one implicit transaction: all or nothing.
    assert!(client
        .batch_execute("INSERT INTO a VALUES (3); INSERT INTO a VALUES (3)")
        .await
        .is_err());
    assert_eq!(
        client
            .query_one("SELECT count(*) FROM a", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        0
    );
    server.stop().await;
}

/// A COPY whose target does not exist fails at Parse, as in PostgreSQL, so
/// tokio-postgres (which sends Sync before the copy data) stays in step and
/// the connection goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_a_missing_target_fails_early_and_the_connection_goes_on() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute("CREATE TABLE c (id BIGINT)")
        .await
        .unwrap();
    for (sql, expected) in [
        ("COPY nosuch FROM STDIN", "42P01"),
        ("COPY c (nosuch) FROM STDIN", "42703"),
    ] {
        let error = client
            .copy_in::<_, bytes::Bytes>(sql)
            .await
            .err()
            .unwrap_or_else(|| panic!("{sql} started"));
        assert_eq!(code(&error), expected, "{sql}: {error:?}");
        let answer = client
            .simple_query("SELECT 41 + 1")
            .await
            .unwrap_or_else(|e| panic!("{sql}: the next query is out of step: {e:?}"));
        let value = answer.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        });
        assert_eq!(value.as_deref(), Some("42"), "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_and_out_in_every_format() {
    use futures_util::{SinkExt, TryStreamExt};
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute("CREATE TABLE c (id BIGINT, name VARCHAR, ts TIMESTAMP WITH TIME ZONE, amount DECIMAL(10,2))")
        .await
        .unwrap();

    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(
        b"1\tone\t2024-01-02 03:04:05+00\t1.50\n2\t\\N\t\\N\t\\N\n",
    ))
    .await
    .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);

    let sink = client
        .copy_in("COPY c (id, name) FROM STDIN WITH (FORMAT csv, HEADER true)")
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"id,name\n3,\"th,ree\"\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);

    let out: Vec<u8> = client
        .copy_out("COPY (SELECT * FROM c ORDER BY id) TO STDOUT")
        .await
        .unwrap()
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1\tone\t2024-01-02 03:04:05+00\t1.50\n2\t\\N\t\\N\t\\N\n3\tth,ree\t\\N\t\\N\n"
    );
    let csv: Vec<u8> = client
        .copy_out("COPY c (id, name) TO STDOUT WITH CSV HEADER")
        .await
        .unwrap()
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "id,name\n1,one\n2,\n3,\"th,ree\"\n"
    );

    // Binary COPY: round trip through our own binary output, and an empty
    // result still carries the PGCOPY header and trailer.
    let binary: Vec<u8> = client
        .copy_out("COPY (SELECT id, name FROM c ORDER BY id) TO STDOUT (FORMAT binary)")
        .await
        .unwrap()
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert!(binary.starts_with(b"PGCOPY\n\xff\r\n\0"));
    client
        .batch_execute("CREATE TABLE c2 (id BIGINT, name VARCHAR)")
        .await
        .unwrap();
    let sink = client
        .copy_in("COPY c2 FROM STDIN (FORMAT BINARY)")
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(binary)).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 3);
    let rows = client
        .query("SELECT id, name FROM c2 ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].get::<_, String>(1), "th,ree");
    let empty: Vec<u8> = client
        .copy_out("COPY (SELECT * FROM c2 WHERE false) TO STDOUT (FORMAT binary)")
        .await
        .unwrap()
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(
        empty,
        b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0\xff\xff".to_vec()
    );

    // Malformed binary COPY data is rejected and nothing is inserted.
    let sink = client
        .copy_in("COPY c2 FROM STDIN (FORMAT BINARY)")
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"PGCOPY\n\xff\r\n\0garbage"))
        .await
        .unwrap();
    let error = sink.finish().await.unwrap_err();
    assert_eq!(code(&error), "22P04");
    assert_eq!(
        client
            .query_one("SELECT count(*) FROM c2", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        3
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_are_separate_catalogs() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client.batch_execute("CREATE DATABASE lake").await.unwrap();
    assert_eq!(
        code(
            &client
                .batch_execute("CREATE DATABASE lake")
                .await
                .unwrap_err()
        ),
        "42P04"
    );
    let lake = server.connect("lake").await;
    lake.batch_execute("CREATE TABLE only_here (x INTEGER)")
        .await
        .unwrap();
    let schema: String = lake
        .query_one(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'only_here'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(schema, "public");
    assert_eq!(
        code(
            &client
                .batch_execute("SELECT * FROM only_here")
                .await
                .unwrap_err()
        ),
        "42P01"
    );
    // In use: refused. After the session closes: dropped.
    assert_eq!(
        code(
            &client
                .batch_execute("DROP DATABASE lake")
                .await
                .unwrap_err()
        ),
        "55006"
    );
    drop(lake);
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.batch_execute("DROP DATABASE lake").await.unwrap();
    assert_eq!(
        code(&server.config("lake").connect(NoTls).await.err().unwrap()),
        "3D000"
    );
    client
        .batch_execute("DROP DATABASE IF EXISTS lake")
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_look_the_same() {
    let server = TestServer::start(|_| {}).await;
    let mut wrong = server.config("duckraft");
    wrong.password("nope");
    let wrong = wrong.connect(NoTls).await.err().unwrap();
    let mut unknown = server.config("duckraft");
    unknown.user("ghost").password("nope");
    let unknown = unknown.connect(NoTls).await.err().unwrap();
    assert_eq!(code(&wrong), "28P01");
    assert_eq!(code(&unknown), "28P01");
    let message = |e: &tokio_postgres::Error| {
        e.as_db_error()
            .unwrap()
            .message()
            .replace("ghost", SUPERUSER)
    };
    assert_eq!(message(&wrong), message(&unknown));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_interrupts_a_running_query() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(NoTls).await.unwrap();
    });
    let started = std::time::Instant::now();
    let error = client
        .simple_query("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")
        .await
        .unwrap_err();
    canceller.await.unwrap();
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        client
            .query_one("SELECT 42", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        42
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_and_idle_timeouts() {
    let server =
        TestServer::start(|c| c.idle_session_timeout = Some(Duration::from_millis(800))).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute("SET statement_timeout = 300")
        .await
        .unwrap();
    let error = client
        .simple_query("SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "57014");
    assert!(error
        .as_db_error()
        .unwrap()
        .message()
        .contains("statement timeout"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        client.simple_query("SELECT 1").await.is_err(),
        "idle session should be closed"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_answers_53300() {
    let server = TestServer::start(|c| c.max_connections = 2).await;
    let first = server.connect("duckraft").await;
    let second = server.connect("duckraft").await;
    let third = server
        .config("duckraft")
        .connect(NoTls)
        .await
        .err()
        .unwrap();
    assert_eq!(code(&third), "53300");
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = server.connect("duckraft").await;
    again.batch_execute("SELECT 1").await.unwrap();
    second.batch_execute("SELECT 1").await.unwrap();
    server.stop().await;
}

/// Sends a startup, completes nothing else, and returns the raw socket.
async fn raw_startup(port: u16) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for part in ["user", SUPERUSER, "database", "duckraft", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    stream.write_all(&packet).await.unwrap();
    stream
}

async fn read_all(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    out
}

fn error_code_in(bytes: &[u8]) -> Option<String> {
    let at = bytes.iter().position(|&b| b == b'E')?;
    let body = &bytes[at + 5..];
    let mut fields = body.split(|&b| b == 0);
    fields.find_map(|f| {
        f.strip_prefix(b"C")
            .map(|c| String::from_utf8_lossy(c).into_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_close_only_that_connection() {
    let server = TestServer::start(|c| c.message_bytes_max = 4096).await;
    let healthy = server.connect("duckraft").await;

    // A garbage startup length.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    stream
        .write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
        .await
        .unwrap();
    assert_eq!(
        error_code_in(&read_all(&mut stream).await).as_deref(),
        Some("08P01")
    );

    // An unsupported protocol version.
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    stream.write_all(&[0, 0, 0, 8, 0, 2, 0, 0]).await.unwrap();
    assert_eq!(
        error_code_in(&read_all(&mut stream).await).as_deref(),
        Some("0A000")
    );

    // An unknown message type where the password should be.
    let mut stream = raw_startup(server.port).await;
    stream.write_all(&[b'Z', 0, 0, 0, 4]).await.unwrap();
    assert_eq!(
        error_code_in(&read_all(&mut stream).await).as_deref(),
        Some("08P01")
    );

    // A message larger than the configured bound.
    let mut stream = raw_startup(server.port).await;
    stream.write_all(&[b'p', 0, 1, 0, 0]).await.unwrap();
    assert_eq!(
        error_code_in(&read_all(&mut stream).await).as_deref(),
        Some("54000")
    );

    // Too-large query from an authenticated client: error, connection closed.
    let big = "x".repeat(8192);
    let error = healthy
        .simple_query(&format!("SELECT '{big}'"))
        .await
        .unwrap_err();
    assert!(error.is_closed() || error.code().is_some(), "{error:?}");

    // The server keeps serving.
    let fresh = server.connect("duckraft").await;
    assert_eq!(
        fresh
            .query_one("SELECT 1 + 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        2
    );
    server.stop().await;
}

fn test_certificate(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, rcgen::Certificate) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, cert)
}

fn client_tls(cert: &rcgen::Certificate, alpn: bool) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    if alpn {
        config.alpn_protocols = vec![b"postgresql".to_vec()];
    }
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_via_sslrequest_and_direct() {
    let cert_dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path, cert) = test_certificate(cert_dir.path());
    let server = TestServer::start(|c| {
        c.tls_cert = Some(cert_path.clone());
        c.tls_key = Some(key_path.clone());
    })
    .await;

    // SSLRequest upgrade.
    let connector = tokio_postgres_rustls::MakeRustlsConnect::new(client_tls(&cert, false));
    let mut config = server.config("duckraft");
    config
        .host("localhost")
        .ssl_mode(tokio_postgres::config::SslMode::Require);
    let (client, connection) = config.connect(connector).await.unwrap();
    tokio::spawn(connection);
    assert_eq!(
        client
            .query_one("SELECT 7", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        7
    );

    // Direct TLS with ALPN "postgresql", then the usual startup inside it.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client_tls(&cert, true)))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let (client, connection) = server
        .config("duckraft")
        .connect_raw(tls, NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    assert_eq!(
        client
            .query_one("SELECT 8", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        8
    );

    // Direct TLS without the ALPN is refused.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client_tls(&cert, false)))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await;
    if let Ok(tls) = tls {
        assert!(server
            .config("duckraft")
            .connect_raw(tls, NoTls)
            .await
            .is_err());
    }
    server.stop().await;
}

/// Reads the first authentication request the server sends after a startup.
async fn first_auth_request<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
) -> i32 {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for part in ["user", SUPERUSER, "database", "duckraft", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    stream.write_all(&packet).await.unwrap();
    let mut header = [0u8; 9];
    stream.read_exact(&mut header).await.unwrap();
    assert_eq!(header[0], b'R');
    i32::from_be_bytes(header[5..9].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartext_passwords_only_over_tls() {
    let cert_dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path, cert) = test_certificate(cert_dir.path());
    let server = TestServer::start(|c| {
        c.tls_cert = Some(cert_path.clone());
        c.tls_key = Some(key_path.clone());
        c.cleartext_password_over_tls = true;
    })
    .await;
    // Plain TCP: SCRAM-SHA-256 (AuthenticationSASL = 10), never cleartext (3).
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    assert_eq!(first_auth_request(&mut plain).await, 10);
    // TLS: cleartext is offered, and a real client logs in with it.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client_tls(&cert, true)))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    assert_eq!(first_auth_request(&mut tls).await, 3);
    let connector = tokio_postgres_rustls::MakeRustlsConnect::new(client_tls(&cert, false));
    let mut config = server.config("duckraft");
    config
        .host("localhost")
        .ssl_mode(tokio_postgres::config::SslMode::Require);
    let (client, connection) = config.connect(connector.clone()).await.unwrap();
    tokio::spawn(connection);
    assert_eq!(
        client
            .query_one("SELECT 9", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        9
    );
    config.password("wrong");
    assert_eq!(
        code(&config.connect(connector).await.err().unwrap()),
        "28P01"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_commands_behave_like_postgres() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    let version: String = client
        .query_one("SHOW server_version", &[])
        .await
        .unwrap()
        .get(0);
    assert!(version.starts_with("15"));
    client
        .batch_execute("SET application_name = 'wire-test'")
        .await
        .unwrap();
    let name: String = client
        .query_one("SHOW application_name", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "wire-test");
    assert_eq!(
        code(
            &client
                .batch_execute("SET duckraft.read_consistency = 'sometimes'")
                .await
                .unwrap_err()
        ),
        "22023"
    );
    client
        .batch_execute("SET duckraft.read_consistency = 'local'")
        .await
        .unwrap();
    client.batch_execute("DISCARD ALL").await.unwrap();
    let consistency: String = client
        .query_one("SHOW duckraft.read_consistency", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        consistency, "linearizable",
        "DISCARD ALL resets every setting, as in PostgreSQL"
    );
    client
        .batch_execute("SET duckraft.read_consistency = 'session'; RESET ALL")
        .await
        .unwrap();
    let consistency: String = client
        .query_one("SHOW duckraft.read_consistency", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(consistency, "linearizable");
    // A custom setting, reset alone or with everything, stays defined and
    // empty for SHOW and current_setting() alike, as in PostgreSQL.
    for reset in ["RESET myapp.x", "RESET ALL", "DISCARD ALL"] {
        client.batch_execute("SET myapp.x = 'set'").await.unwrap();
        client.batch_execute(reset).await.unwrap();
        let shown: String = client.query_one("SHOW myapp.x", &[]).await.unwrap().get(0);
        let current: String = client
            .query_one("SELECT current_setting('myapp.x')", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!((shown.as_str(), current.as_str()), ("", ""), "{reset}");
    }
    assert_eq!(
        code(
            &client
                .batch_execute("SHOW no_such_setting")
                .await
                .unwrap_err()
        ),
        "42704"
    );
    server.stop().await;
}

/// Catalog introspection answers come from a cache keyed by a fingerprint
/// of the schema in the session's snapshot: they must track every change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_results_follow_the_schema() {
    let server = TestServer::start(|_| {}).await;
    let a = server.connect("duckraft").await;
    let b = server.connect("duckraft").await;
    const COLUMNS: &str = "SELECT relname, attname, format_type(atttypid, atttypmod) \
        FROM pg_class JOIN pg_namespace ON relnamespace = pg_namespace.oid \
        JOIN pg_attribute ON attrelid = pg_class.oid \
        WHERE nspname = 'public' AND attnum > 0 ORDER BY relname, attnum";
    let columns = |messages: Vec<SimpleQueryMessage>| -> Vec<String> {
        simple_rows(&messages)
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| v.unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    a.batch_execute("CREATE TABLE t1 (x INTEGER)")
        .await
        .unwrap();
    // Twice: a miss, then a hit; both right.
    for _ in 0..2 {
        assert_eq!(
            columns(b.simple_query(COLUMNS).await.unwrap()),
            ["t1 x integer"]
        );
    }
    // Another session's DDL shows at once.
    a.batch_execute("ALTER TABLE t1 ADD COLUMN y TEXT")
        .await
        .unwrap();
    assert_eq!(
        columns(b.simple_query(COLUMNS).await.unwrap()),
        ["t1 x integer", "t1 y text"]
    );
    // A transaction sees its own uncommitted DDL, and keeps its snapshot
    // while another session changes the schema.
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; CREATE TABLE t2 (z BIGINT)")
        .await
        .unwrap();
    a.batch_execute("CREATE TABLE t3 (w DATE)").await.unwrap();
    assert_eq!(
        columns(b.simple_query(COLUMNS).await.unwrap()),
        ["t1 x integer", "t1 y text", "t2 z bigint"]
    );
    // Each of its own writes gives the transaction a schema of its own.
    b.batch_execute("ALTER TABLE t2 ADD COLUMN q REAL")
        .await
        .unwrap();
    assert_eq!(
        columns(b.simple_query(COLUMNS).await.unwrap()),
        ["t1 x integer", "t1 y text", "t2 z bigint", "t2 q real"]
    );
    b.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        columns(b.simple_query(COLUMNS).await.unwrap()),
        ["t1 x integer", "t1 y text", "t3 w date"]
    );
    // A transaction whose snapshot predates a schema change gets the answer
    // of its own schema version, even after another session cached the next.
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t1")
        .await
        .unwrap();
    a.batch_execute("CREATE TABLE t4 (v BOOLEAN)")
        .await
        .unwrap();
    assert_eq!(
        columns(a.simple_query(COLUMNS).await.unwrap()),
        ["t1 x integer", "t1 y text", "t3 w date", "t4 v boolean"]
    );
    assert_eq!(
        columns(b.simple_query(COLUMNS).await.unwrap()),
        ["t1 x integer", "t1 y text", "t3 w date"]
    );
    b.batch_execute("COMMIT").await.unwrap();
    a.batch_execute("DROP TABLE t4").await.unwrap();
    // Queries naming a user table or a volatile function are never cached.
    a.batch_execute("INSERT INTO t1 VALUES (1, 'a')")
        .await
        .unwrap();
    let joined = "SELECT count(*) FROM t1, pg_class WHERE relname = 't1'";
    assert_eq!(
        simple_rows(&b.simple_query(joined).await.unwrap()),
        [[Some("1".to_string())]]
    );
    a.batch_execute("INSERT INTO t1 VALUES (2, 'b')")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&b.simple_query(joined).await.unwrap()),
        [[Some("2".to_string())]]
    );
    // Row estimates are left out of the fingerprint, so a write keeps the
    // cached answers; a query that can show one is never cached.
    let estimates = [
        "SELECT reltuples::BIGINT FROM pg_class WHERE relname = 't1'",
        "SELECT (pg_table_size(oid) / 100)::BIGINT FROM pg_class WHERE relname = 't1'",
        "SELECT x.reltuples::BIGINT FROM (SELECT * FROM pg_class) x WHERE x.relname = 't1'",
    ];
    for (inserted, expected) in [(3, "3"), (4, "4")] {
        a.batch_execute(&format!("INSERT INTO t1 VALUES ({inserted}, 'c')"))
            .await
            .unwrap();
        for sql in estimates {
            assert_eq!(
                simple_rows(&b.simple_query(sql).await.unwrap()),
                [[Some(expected.to_string())]],
                "{sql}"
            );
        }
    }
    server.stop().await;
}

/// The node's count of adopted transactions once it reaches `at_least`, or
/// after 5 s whatever it is: the driver publishes its report after the round
/// that answered the client, so a count read at once may lag by a round.
async fn adopted_at_least(server: &TestServer, at_least: u64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let adopted = server.replication.report().adopted_transactions;
        if adopted >= at_least || std::time::Instant::now() > deadline {
            return adopted;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A transaction of reads and row writes whose entry is the next to apply
/// is committed in place as that entry (`Replica::adopt`), not run a second
/// time; a schema change, or a session that resolves names its own way, is
/// applied again. The client sees the same either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_committed_in_place_only_when_that_changes_nothing() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute(
            "CREATE TABLE acct (id INTEGER PRIMARY KEY, v BIGINT); \
             INSERT INTO acct VALUES (1, 10), (2, 20)",
        )
        .await
        .unwrap();
    let before = server.replication.report().adopted_transactions;
    for n in 0..5i32 {
        client.batch_execute("BEGIN").await.unwrap();
        let v: i64 = client
            .query_one("SELECT v FROM acct WHERE id = 1", &[])
            .await
            .unwrap()
            .get(0);
        client
            .execute("UPDATE acct SET v = $1 WHERE id = 1", &[&(v + 1)])
            .await
            .unwrap();
        client
            .execute("INSERT INTO acct VALUES ($1, $2)", &[&(10 + n), &v])
            .await
            .unwrap();
        client.batch_execute("COMMIT").await.unwrap();
    }
    let returned: i64 = client
        .query_one("UPDATE acct SET v = v + 100 WHERE id = 2 RETURNING v", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(returned, 120);
    assert_eq!(
        adopted_at_least(&server, before + 6).await - before,
        6,
        "every transaction was adopted"
    );

    client
        .batch_execute(
            "BEGIN; CREATE TABLE other (x INTEGER); INSERT INTO acct VALUES (99, 0); COMMIT",
        )
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE SCHEMA s; SET search_path = s, public; \
             BEGIN; INSERT INTO acct VALUES (98, 0); COMMIT; RESET search_path",
        )
        .await
        .unwrap();
    // One more that is adopted, so the count has caught up past both.
    client
        .batch_execute("BEGIN; UPDATE acct SET v = v WHERE id = 2; COMMIT")
        .await
        .unwrap();
    assert_eq!(
        adopted_at_least(&server, before + 7).await - before,
        7,
        "neither was adopted"
    );

    let rows: Vec<(i32, i64)> = client
        .query("SELECT id, v FROM acct ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let expected = vec![
        (1, 15),
        (2, 120),
        (10, 10),
        (11, 11),
        (12, 12),
        (13, 13),
        (14, 14),
        (98, 0),
        (99, 0),
    ];
    assert_eq!(rows, expected);
    server.stop().await;
}

/// The apply wounds tentative transactions whose row locks it meets; a
/// statement the session runs after such a rollback must not run outside a
/// transaction, where DuckDB would commit it to this node alone. Transactions
/// and autocommit writes fight over one row; afterwards the node holds
/// exactly the acknowledged writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wounded_transactions_leave_nothing_behind() {
    const TRANSACTIONS: usize = 120;
    const AUTOCOMMITS: usize = 240;
    let server = TestServer::start(|_| {}).await;
    let setup = server.connect("duckraft").await;
    setup
        .batch_execute(
            "CREATE TABLE counter (k INTEGER PRIMARY KEY, v BIGINT); \
             INSERT INTO counter VALUES (1, 0); \
             CREATE TABLE marks (id TEXT PRIMARY KEY)",
        )
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for writer in 0..2 {
        let client = server.connect("duckraft").await;
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..TRANSACTIONS {
                let id = format!("w{writer}-{n}");
                let attempt = async {
                    client.batch_execute("BEGIN").await?;
                    client
                        .batch_execute("UPDATE counter SET v = v + 1 WHERE k = 1")
                        .await?;
                    for part in ["a", "b", "c"] {
                        client
                            .execute("INSERT INTO marks VALUES ($1)", &[&format!("{id}{part}")])
                            .await?;
                    }
                    client.batch_execute("COMMIT").await
                };
                match attempt.await {
                    Ok(()) => acknowledged.push(id),
                    Err(error) => {
                        let code = code(&error);
                        assert!(
                            ["40001", "25P02"].contains(&code.as_str()),
                            "unexpected failure: {error:?}"
                        );
                        client.batch_execute("ROLLBACK").await.unwrap();
                    }
                }
            }
            (acknowledged, 0usize)
        }));
    }
    let client = server.connect("duckraft").await;
    tasks.push(tokio::spawn(async move {
        let mut acknowledged = 0;
        for _ in 0..AUTOCOMMITS {
            match client
                .batch_execute("UPDATE counter SET v = v + 1 WHERE k = 1")
                .await
            {
                Ok(()) => acknowledged += 1,
                Err(error) => assert_eq!(code(&error), "40001", "{error:?}"),
            }
        }
        (Vec::new(), acknowledged)
    }));

    let mut expected_marks = Vec::new();
    let mut autocommits = 0;
    for task in tasks {
        let (marks, updates) = task.await.unwrap();
        expected_marks.extend(
            marks
                .iter()
                .flat_map(|id| ["a", "b", "c"].map(|part| format!("{id}{part}"))),
        );
        autocommits += updates;
    }
    expected_marks.sort();
    let transactions = expected_marks.len() / 3;
    assert!(transactions > 0, "no transaction ever committed");

    let marks: Vec<String> = setup
        .query("SELECT id FROM marks ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let counter: i64 = setup
        .query_one("SELECT v FROM counter WHERE k = 1", &[])
        .await
        .unwrap()
        .get(0);
    let leaked: Vec<&String> = marks
        .iter()
        .filter(|m| expected_marks.binary_search(m).is_err())
        .collect();
    assert!(leaked.is_empty(), "writes nobody acknowledged: {leaked:?}");
    assert_eq!(marks, expected_marks);
    assert_eq!(counter, (transactions + autocommits) as i64);
    server.stop().await;
}

/// A view or macro hides the tables it reads, so a transaction that reads
/// through one conflicts with any write after its snapshot. The list of
/// views and macros is cached per catalog; one created after the cache was
/// filled must still be seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_through_views_and_macros_conflict_with_writes_they_hide() {
    let server = TestServer::start(|_| {}).await;
    let reader = server.connect("duckraft").await;
    let writer = server.connect("duckraft").await;
    reader
        .batch_execute(
            "CREATE TABLE stock (n INTEGER); CREATE TABLE log (what TEXT); \
             INSERT INTO stock VALUES (1)",
        )
        .await
        .unwrap();

    // A read-write transaction over plain tables fills the cache (no views
    // or macros yet) and commits: nobody wrote what it read.
    reader.batch_execute("BEGIN").await.unwrap();
    reader
        .batch_execute("SELECT count(*) FROM stock")
        .await
        .unwrap();
    reader
        .batch_execute("INSERT INTO log VALUES ('plain')")
        .await
        .unwrap();
    reader.batch_execute("COMMIT").await.unwrap();

    reader
        .batch_execute(
            "CREATE VIEW stock_view AS SELECT n FROM stock; \
             CREATE MACRO stock_count() AS (SELECT count(*) FROM stock)",
        )
        .await
        .unwrap();

    for read in ["SELECT count(*) FROM stock_view", "SELECT stock_count()"] {
        reader.batch_execute("BEGIN").await.unwrap();
        reader.batch_execute(read).await.unwrap();
        reader
            .execute("INSERT INTO log VALUES ($1)", &[&read])
            .await
            .unwrap();
        // Nothing in the reader's statements names `stock`.
        writer
            .batch_execute("INSERT INTO stock VALUES (2)")
            .await
            .unwrap();
        let error = reader
            .batch_execute("COMMIT")
            .await
            .expect_err("a write to a table read through a view or macro must conflict");
        assert_eq!(code(&error), "40001", "{read}: {error:?}");
    }
    let rows = reader
        .query("SELECT what FROM log ORDER BY what", &[])
        .await
        .unwrap();
    let logged: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(logged, vec!["plain".to_string()]);
    server.stop().await;
}

/// Autocommit `INSERT ... VALUES ($1, ...)` of parameters only travels as a
/// typed row batch once the cluster's capability level allows it (a single
/// node raises it at once). The rows and errors are those of the same
/// values written as literals in a statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameterised_inserts_travel_as_rows_with_statement_results() {
    let server = TestServer::start(|_| {}).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.replication.capability_level() < duckraft_engine::command::POSITIONAL_ROWS_LEVEL {
        assert!(std::time::Instant::now() < deadline, "the level never rose");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let client = server.connect("duckraft").await;
    let columns = "k INTEGER PRIMARY KEY, b BOOLEAN, big BIGINT, f DOUBLE PRECISION, \
                   t VARCHAR NOT NULL, bin BYTEA, arr INTEGER[], d INTEGER DEFAULT 5";
    for table in ["by_rows", "by_literals"] {
        client
            .batch_execute(&format!("CREATE TABLE {table} ({columns})"))
            .await
            .unwrap();
    }
    let before = server.replication.report().row_batch_proposals;
    let bytes: Vec<u8> = vec![0, 1, 255];
    let array: Vec<i32> = vec![3, -1];
    client
        .execute(
            "INSERT INTO by_rows VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &1i32,
                &true,
                &-9_000_000_000i64,
                &0.1f64,
                &"o'k",
                &bytes,
                &array,
                &7i32,
            ],
        )
        .await
        .unwrap();
    let added = client
        .execute(
            "INSERT INTO public.by_rows (t, k) VALUES ($1, $2), ($3, $4)",
            &[&"two", &2i32, &"three", &3i32],
        )
        .await
        .unwrap();
    assert_eq!(added, 2);
    let none: Option<&str> = None;
    for (params, expected) in [((1i32, Some("dup")), "23505"), ((4i32, none), "23502")] {
        let error = client
            .execute(
                "INSERT INTO by_rows (k, t) VALUES ($1, $2)",
                &[&params.0, &params.1],
            )
            .await
            .unwrap_err();
        assert_eq!(code(&error), expected, "{error:?}");
    }
    assert_eq!(
        server.replication.report().row_batch_proposals - before,
        4,
        "every parameterised insert went as rows"
    );
    client
        .batch_execute(
            "INSERT INTO by_literals VALUES (1, true, -9000000000, 0.1, 'o''k', '\\x0001ff', \
             ARRAY[3, -1], 7); \
             INSERT INTO by_literals (t, k) VALUES ('two', 2), ('three', 3)",
        )
        .await
        .unwrap();
    let all = |table: &str| format!("SELECT * FROM {table} ORDER BY k");
    let by_rows = simple_rows(&client.simple_query(&all("by_rows")).await.unwrap());
    let by_literals = simple_rows(&client.simple_query(&all("by_literals")).await.unwrap());
    assert_eq!(by_rows.len(), 3);
    assert_eq!(by_rows, by_literals);
}

/// The replication bookkeeping (`__duckraft` in every catalog) can be read
/// but not written: a write there would move the applied index or forge
/// dedup answers on every node. Statements, transactions and COPY all get
/// 42501 before anything is proposed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replication_bookkeeping_is_read_only() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute("CREATE TABLE t (a INTEGER)")
        .await
        .unwrap();
    let applied = |rows: &[SimpleQueryMessage]| simple_rows(rows);
    let before = applied(
        &client
            .simple_query(duckraft_engine::replica::APPLIED_INDEX_SQL)
            .await
            .unwrap(),
    );
    for sql in [
        "UPDATE __duckraft.applied SET folded_idx = 0",
        "DELETE FROM \"__duckraft\".clients",
        "INSERT INTO __duckraft.relation_versions SELECT * FROM __duckraft.relation_versions",
        "CREATE TABLE __duckraft.extra (a INTEGER)",
        "DROP SCHEMA __duckraft CASCADE",
        "ALTER TABLE __duckraft.applied ADD COLUMN x INTEGER",
        "WITH v AS (SELECT 1) DELETE FROM __DUCKRAFT.applied",
    ] {
        let error = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&error), "42501", "{sql}: {error:?}");
    }
    client.batch_execute("BEGIN").await.unwrap();
    let error = client
        .batch_execute("UPDATE __duckraft.applied SET folded_idx = folded_idx + 1")
        .await
        .unwrap_err();
    assert_eq!(code(&error), "42501", "{error:?}");
    client.batch_execute("ROLLBACK").await.unwrap();
    let error = client
        .copy_in::<_, bytes::Bytes>("COPY __duckraft.clients FROM STDIN")
        .await
        .err()
        .expect("COPY into the bookkeeping is refused");
    assert_eq!(code(&error), "42501", "{error:?}");
    // Nothing moved: the writes above never reached the log. The same
    // connection goes on: the refused COPY failed at Parse, in step.
    client
        .batch_execute("INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let after = applied(
        &client
            .simple_query(duckraft_engine::replica::APPLIED_INDEX_SQL)
            .await
            .unwrap(),
    );
    let index = |rows: &Vec<Vec<Option<String>>>| -> u64 {
        rows[0][0].as_deref().unwrap().parse().unwrap()
    };
    assert_eq!(index(&after), index(&before) + 1);
}

/// Sessions keep the plans of their reads: a kept plan must still follow the
/// schema, the search path and the session's settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_read_plans_follow_schema_search_path_and_settings() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    client
        .batch_execute(
            "CREATE SCHEMA a; CREATE SCHEMA b; \
             CREATE TABLE a.t (x INT); CREATE TABLE b.t (x TEXT); \
             INSERT INTO a.t VALUES (1); INSERT INTO b.t VALUES ('in b')",
        )
        .await
        .unwrap();
    let read_t = "SELECT x::TEXT FROM t";
    client.batch_execute("SET search_path = a").await.unwrap();
    for _ in 0..2 {
        let x: String = client.query_one(read_t, &[]).await.unwrap().get(0);
        assert_eq!(x, "1");
    }
    client.batch_execute("SET search_path = b").await.unwrap();
    let x: String = client.query_one(read_t, &[]).await.unwrap().get(0);
    assert_eq!(x, "in b", "the kept plan must not read a.t any more");

    client
        .batch_execute("INSERT INTO b.t VALUES ('second')")
        .await
        .unwrap();
    let rows = client.query(read_t, &[]).await.unwrap();
    assert_eq!(rows.len(), 2, "a kept plan reads the latest rows");
    client
        .batch_execute("ALTER TABLE b.t ADD COLUMN y INT DEFAULT 7")
        .await
        .unwrap();
    let row = client
        .query_one("SELECT * FROM b.t WHERE x = 'in b'", &[])
        .await
        .unwrap();
    let before = row.len();
    client
        .batch_execute("ALTER TABLE b.t ADD COLUMN z INT DEFAULT 8")
        .await
        .unwrap();
    let row = client
        .query_one("SELECT * FROM b.t WHERE x = 'in b'", &[])
        .await
        .unwrap();
    assert_eq!(row.len(), before + 1, "a kept plan sees new columns");
    assert_eq!(row.get::<_, i32>(before), 8);

    let read_setting = "SELECT current_setting('application_name')";
    for name in ["first", "second"] {
        client
            .batch_execute(&format!("SET application_name = '{name}'"))
            .await
            .unwrap();
        for _ in 0..2 {
            let value: String = client.query_one(read_setting, &[]).await.unwrap().get(0);
            assert_eq!(value, name);
        }
    }

    // A hex bytea literal becomes bytes only in a BYTEA column, including in
    // a table this transaction created and one whose columns then changed.
    client
        .batch_execute(
            "BEGIN; CREATE TABLE public.h (b BYTEA, s TEXT); \
             INSERT INTO public.h VALUES ('\\x5b5d', '\\x5b5d'); COMMIT",
        )
        .await
        .unwrap();
    client
        .batch_execute(
            "ALTER TABLE public.h RENAME COLUMN b TO old_b; \
             ALTER TABLE public.h RENAME COLUMN s TO b; \
             ALTER TABLE public.h RENAME COLUMN old_b TO s; \
             INSERT INTO public.h (b, s) VALUES ('\\x01', '\\x02')",
        )
        .await
        .unwrap();
    let rows = client
        .query("SELECT s::TEXT, b::TEXT FROM public.h ORDER BY 1", &[])
        .await
        .unwrap();
    let got: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        [
            ("\\x02".to_string(), "\\x01".to_string()),
            ("\\x5b5d".to_string(), "\\x5b5d".to_string()),
        ],
        "bytes in the BYTEA column, the literal's text in the TEXT column"
    );
    server.stop().await;
}

/// SET is transactional and SET LOCAL lasts until the transaction ends, as in
/// PostgreSQL (each expectation below was checked against PostgreSQL 15).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_local_and_set_end_with_their_transaction() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    let show = |name: &'static str| {
        let client = &client;
        async move {
            let value: String = client
                .query_one(&format!("SHOW {name}"), &[])
                .await
                .unwrap()
                .get(0);
            value
        }
    };
    let original = show("application_name").await;
    let cases: [(&[&str], &str); 5] = [
        (
            &["BEGIN", "SET application_name = 'kept'", "ROLLBACK"],
            original.as_str(),
        ),
        (
            &["BEGIN", "SET application_name = 'kept'", "COMMIT"],
            "kept",
        ),
        (
            &[
                "BEGIN",
                "SET application_name = 'session'",
                "SET LOCAL application_name = 'local'",
                "COMMIT",
            ],
            "session",
        ),
        (
            &["BEGIN", "SET LOCAL application_name = 'local'", "COMMIT"],
            "session",
        ),
        (&["SET LOCAL application_name = 'outside'"], "session"),
    ];
    for (statements, expected) in cases {
        for statement in statements {
            client.batch_execute(statement).await.unwrap();
        }
        assert_eq!(show("application_name").await, expected, "{statements:?}");
    }

    // A failed transaction and an implicit one (a multi-statement query) end
    // their settings too; SET LOCAL search_path really changes resolution.
    client
        .batch_execute("CREATE SCHEMA other; CREATE TABLE other.only_there (x INT)")
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    client
        .batch_execute("SET LOCAL search_path = other")
        .await
        .unwrap();
    client.query("SELECT * FROM only_there", &[]).await.unwrap();
    client.batch_execute("SELECT error('x')").await.unwrap_err();
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        code(
            &client
                .query("SELECT * FROM only_there", &[])
                .await
                .unwrap_err()
        ),
        "42P01"
    );
    client
        .batch_execute("SET LOCAL statement_timeout = '7s'; SELECT 1")
        .await
        .unwrap();
    assert_eq!(show("statement_timeout").await, "0");
    server.stop().await;
}

#[tokio::test]
async fn read_only_transactions_and_defaults_refuse_writes() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    let refusal = |sql: &'static str| {
        let client = &client;
        async move { code(&client.batch_execute(sql).await.unwrap_err()) }
    };
    let count = || {
        let client = &client;
        async move {
            let n: i64 = client
                .query_one("SELECT count(*)::BIGINT FROM t", &[])
                .await
                .unwrap()
                .get(0);
            n
        }
    };
    client
        .batch_execute("CREATE TABLE t (a INT)")
        .await
        .unwrap();

    // The session default covers autocommit statements, DDL, COPY and implicit blocks.
    client
        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .await
        .unwrap();
    assert_eq!(refusal("INSERT INTO t VALUES (1)").await, "25006");
    assert_eq!(refusal("CREATE TABLE u (a INT)").await, "25006");
    assert_eq!(refusal("COPY t FROM STDIN").await, "25006");
    assert_eq!(refusal("SELECT 1; UPDATE t SET a = 2").await, "25006");
    assert_eq!(refusal("BEGIN; DELETE FROM t").await, "25006");
    client.batch_execute("ROLLBACK").await.unwrap();
    // An explicit READ WRITE, or switching before the first query, writes.
    client
        .batch_execute("BEGIN READ WRITE; INSERT INTO t VALUES (1); COMMIT")
        .await
        .unwrap();
    client
        .batch_execute("BEGIN; SET TRANSACTION READ WRITE; INSERT INTO t VALUES (2); COMMIT")
        .await
        .unwrap();
    assert_eq!(count().await, 2);

    // Only the first query fixes the mode; READ ONLY can always be taken.
    client
        .batch_execute("SET default_transaction_read_only = off")
        .await
        .unwrap();
    client
        .batch_execute("BEGIN READ ONLY; SELECT 1")
        .await
        .unwrap();
    assert_eq!(refusal("SET TRANSACTION READ WRITE").await, "25001");
    client.batch_execute("ROLLBACK").await.unwrap();
    client
        .batch_execute("BEGIN; INSERT INTO t VALUES (3); SET TRANSACTION READ ONLY")
        .await
        .unwrap();
    assert_eq!(refusal("INSERT INTO t VALUES (4)").await, "25006");
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count().await, 2);
    assert_eq!(
        refusal("SET default_transaction_read_only = maybe").await,
        "22023"
    );

    // The defaults are settings: transactional, shown, and reset.
    client
        .batch_execute("BEGIN; SET default_transaction_read_only = on; ROLLBACK")
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO t VALUES (5)")
        .await
        .unwrap();
    client
        .batch_execute("SET default_transaction_isolation = 'repeatable read'")
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    let isolation: String = client
        .query_one("SHOW transaction_isolation", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(isolation, "repeatable read");
    // SHOW takes no snapshot; a SELECT does.
    client
        .batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT 1")
        .await
        .unwrap();
    assert_eq!(
        refusal("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").await,
        "25001"
    );
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count().await, 3);
    server.stop().await;
}

/// `/` of two integers is an integer, as in PostgreSQL, once the cluster's
/// level lets every member apply it: in reads, in autocommit and
/// transaction writes, and in described types. A session opened right after
/// a fresh start waits for the level to settle, so it never sees `/` change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integer_division_is_postgres_division() {
    let server = TestServer::start(|_| {}).await;
    let client = server.connect("duckraft").await;
    let row = client
        .query_one(
            "SELECT (7 / 2)::TEXT, (-7 / 2)::TEXT, (7.0 / 2)::TEXT, (7::FLOAT8 / 2)::TEXT, 7 / 2",
            &[],
        )
        .await
        .unwrap();
    let texts: Vec<String> = (0..4).map(|i| row.get(i)).collect();
    assert_eq!(texts, ["3", "-3", "3.5", "3.5"]);
    assert_eq!(row.get::<_, i32>(4), 3);
    let half: i32 = client
        .query_one("SELECT $1::INTEGER / 2", &[&9i32])
        .await
        .unwrap()
        .get(0);
    assert_eq!(half, 4);
    let error = client.query_one("SELECT 1 / 0", &[]).await.unwrap_err();
    assert_eq!(code(&error), "22012", "{error:?}");

    client
        .batch_execute(
            "CREATE TABLE halves (k INTEGER, v INTEGER); \
             INSERT INTO halves SELECT 1, 7 / 2",
        )
        .await
        .unwrap();
    client
        .batch_execute("INSERT INTO halves VALUES (2, 9 / 2)")
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    client
        .batch_execute("INSERT INTO halves SELECT 3, 11 / 2")
        .await
        .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    let rows = client
        .query("SELECT k, v FROM halves ORDER BY k", &[])
        .await
        .unwrap();
    let values: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(values, [(1, 3), (2, 4), (3, 5)]);
    server.stop().await;
}
