//! The built `duckraft` binary as an operator runs it: flags, first start,
//! SIGTERM, and kill -9 followed by a restart.

mod common;
use common::free_port;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_duckraft");

/// Starts `duckraft serve` and waits until it accepts connections.
fn serve(data_dir: &Path, port: u16, password: Option<&str>) -> (Child, String) {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .args(["--pg-listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match password {
        Some(p) => command.env("DUCKRAFT_PASSWORD", p),
        None => command.env_remove("DUCKRAFT_PASSWORD"),
    };
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut banner = String::new();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("DuckLake:") {
            break;
        }
        assert!(Instant::now() < deadline, "server did not start: {banner}");
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, banner)
}

async fn connect(port: u16, password: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("duckraft")
        .password(password)
        .dbname("duckraft")
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process did not exit in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn help_and_version() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("serve"));
    let serve_help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&serve_help.stdout);
    for flag in ["--data-dir", "--pg-listen", "--config"] {
        assert!(text.contains(flag), "{flag} missing from serve --help");
    }
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("duckraft "));
    let bad = Command::new(BIN)
        .args(["serve", "--pg-listen", "nonsense"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("HOST:PORT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_password_is_private_and_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let (mut child, banner) = serve(&data, port, None);
    let password_file = data.join("initial-password");
    let password = std::fs::read_to_string(&password_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(password.len(), 24);
    assert_eq!(
        std::fs::metadata(&password_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(
        banner.contains(&password),
        "first start prints the password"
    );
    assert!(banner.contains("ATTACH 'ducklake:postgres:host=127.0.0.1"));
    let client = connect(port, &password).await;
    client.batch_execute("SELECT 1").await.unwrap();
    drop(client);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());

    let (mut child, banner) = serve(&data, port, None);
    assert!(
        !banner.contains(&password),
        "the password is printed only once"
    );
    connect(port, &password)
        .await
        .batch_execute("SELECT 1")
        .await
        .unwrap();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_work_and_exits_zero() {
    // The statement must be running when SIGTERM arrives. On a loaded
    // machine the server may not have read it yet, and then it rightly
    // refuses it (57P01); such an attempt proves nothing, so wait longer.
    // The statement is a read: a write this long would outlast the write
    // timeout on a busy machine.
    for wait in [200, 1000, 3000].map(Duration::from_millis) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (mut child, _) = serve(dir.path(), port, Some("pw"));
        let client = connect(port, "pw").await;
        client
            .batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let slow = tokio::spawn(async move {
            let result = client
                .query_one(
                    "SELECT count(*) FROM range(1000000000) t(i) WHERE i % 7 = 3",
                    &[],
                )
                .await;
            (client, result, Instant::now())
        });
        tokio::time::sleep(wait).await;
        let signalled = Instant::now();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let (_client, result, answered) = slow.await.unwrap();
        assert!(wait_exit(&mut child, Duration::from_secs(60)).success());
        // New connections are refused after shutdown.
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        match result {
            Ok(row) if answered > signalled => assert_eq!(row.get::<_, i64>(0), 142_857_143),
            Ok(_) => panic!("the statement finished before SIGTERM; make it slower"),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::ADMIN_SHUTDOWN) => {
                continue;
            }
            Err(e) => panic!("the in-flight statement failed: {e:?}"),
        }

        // What was acknowledged before the shutdown is there after it.
        let (mut child, _) = serve(dir.path(), port, Some("pw"));
        let client = connect(port, "pw").await;
        let count: i64 = client
            .query_one("SELECT count(*) FROM t", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 1);
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
        return;
    }
    panic!("the server never read the statement before SIGTERM, even after 3 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_committed_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut child, _) = serve(dir.path(), port, Some("pw"));
    let client = connect(port, "pw").await;
    client
        .batch_execute("CREATE DATABASE durable")
        .await
        .unwrap();
    client
        .batch_execute("CREATE TABLE acked (id INTEGER PRIMARY KEY); BEGIN; INSERT INTO acked VALUES (1); COMMIT")
        .await
        .unwrap();
    for id in 2..=50 {
        client
            .execute("INSERT INTO acked VALUES ($1)", &[&id])
            .await
            .unwrap();
    }
    // An uncommitted transaction must not survive.
    client
        .batch_execute("BEGIN; INSERT INTO acked VALUES (1000)")
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // What a kill in the middle of snapshot installs leaves: staged files
    // that never replaced the state machines. The restart removes them and
    // serves the files as they are.
    let staged = [
        dir.path().join(".cp-metadata.duckdb.snapshot"),
        dir.path()
            .join("catalogs")
            .join(".duckraft.duckdb.snapshot"),
    ];
    for file in &staged {
        std::fs::write(file, b"a staged snapshot the kill interrupted").unwrap();
    }

    let (mut child, _) = serve(dir.path(), port, Some("pw"));
    let client = connect(port, "pw").await;
    for file in &staged {
        assert!(!file.exists(), "{} survived the restart", file.display());
    }
    let rows = client
        .query("SELECT id FROM acked ORDER BY id", &[])
        .await
        .unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, (1..=50).collect::<Vec<i32>>());
    let databases = client
        .simple_query("SELECT datname FROM pg_database WHERE datname = 'durable'")
        .await
        .unwrap();
    assert!(databases
        .iter()
        .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(wait_exit(&mut child, Duration::from_secs(30)).success());
}
