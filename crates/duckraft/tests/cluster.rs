//! Three real `duckraft` processes on loopback with mutual TLS: election,
//! writes through every node, kill -9 of the leader, catch-up after
//! restart with equal state hashes, and refusal without quorum.

mod common;
use common::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_duckraft");
const PASSWORD: &str = "cluster-test-password";

struct Node {
    name: String,
    data_dir: PathBuf,
    pg: u16,
    peer: u16,
    http: u16,
    child: Option<Child>,
}

struct Cluster {
    dir: tempfile::TempDir,
    certs: PathBuf,
    nodes: Vec<Node>,
    /// Extra `serve` flags for every node.
    flags: Vec<String>,
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        Cluster::with_flags(n, &[])
    }

    fn with_flags(n: usize, flags: &[&str]) -> Cluster {
        let mut cluster = Cluster::stopped(n, flags);
        for i in 0..n {
            cluster.start(i);
        }
        cluster
    }

    /// Certificates and data directories for `n` nodes, none started.
    fn stopped(n: usize, flags: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        let names: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
        let status = Command::new(BIN)
            .args(["certs", "--out"])
            .arg(&certs)
            .args(["--nodes", &names.join(",")])
            .status()
            .unwrap();
        assert!(status.success());
        let nodes = names
            .iter()
            .map(|name| Node {
                name: name.clone(),
                data_dir: dir.path().join(name),
                pg: free_port(),
                peer: free_port(),
                http: free_port(),
                child: None,
            })
            .collect();
        Cluster {
            dir,
            certs,
            nodes,
            flags: flags.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn start(&mut self, i: usize) {
        self.start_with(i, &[]);
    }

    /// Starts node `i` with `extra` flags besides the cluster's.
    fn start_with(&mut self, i: usize, extra: &[&str]) {
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.start_listing(i, &all, extra);
    }

    /// Starts node `i` with only the `listed` nodes in its `--peers`.
    fn start_listing(&mut self, i: usize, listed: &[usize], extra: &[&str]) {
        let peers: Vec<String> = listed
            .iter()
            .map(|&j| &self.nodes[j])
            .map(|n| format!("{}=127.0.0.1:{}", n.name, n.peer))
            .collect();
        let node = &mut self.nodes[i];
        // Kept beside the data directory, for a failing test's debugging.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{}.log", node.name)))
            .unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--node-id", &node.name, "--data-dir"])
            .arg(&node.data_dir)
            .args(["--pg-listen", &format!("127.0.0.1:{}", node.pg)])
            .args(["--peer-listen", &format!("127.0.0.1:{}", node.peer)])
            .args(["--http-listen", &format!("127.0.0.1:{}", node.http)])
            .args(["--peers", &peers.join(",")])
            .arg("--tls-dir")
            .arg(&self.certs)
            .args(&self.flags)
            .args(extra)
            .env("DUCKRAFT_PASSWORD", PASSWORD)
            .env(
                "RUST_LOG",
                std::env::var("DUCKRAFT_TEST_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn http(&self, i: usize, path: &str) -> Option<(u16, String)> {
        http_get(self.nodes[i].http, path)
    }

    fn wait_ready(&mut self, which: &[usize], limit: Duration) {
        let deadline = Instant::now() + limit;
        for &i in which {
            loop {
                if matches!(self.http(i, "/readyz"), Some((200, _))) {
                    break;
                }
                let name = self.nodes[i].name.clone();
                if let Some(child) = self.nodes[i].child.as_mut() {
                    if let Ok(Some(exit)) = child.try_wait() {
                        panic!("node {name} exited while waiting to be ready: {exit}");
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "node {name} not ready: {:?}",
                    self.http(i, "/readyz")
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.nodes[i].name))
    }

    /// Index of the node leading the default catalog's group.
    fn leader_of_default(&self, asking: usize) -> usize {
        let (_, body) = self.http(asking, "/status").expect("status answers");
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        let group = status["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "duckraft")
            .expect("default catalog group");
        let leader = group["leader"].as_str().expect("a leader is known");
        self.nodes.iter().position(|n| n.name == leader).unwrap()
    }

    fn hashes(&self, i: usize) -> serde_json::Value {
        let (code, body) = self.http(i, "/hashes").expect("hashes answer");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            // The temporary directory goes; a failing test's logs stay, and
            // their tails go into the test's output, which CI keeps.
            for (i, node) in self.nodes.iter().enumerate() {
                let log = self.log_path(i);
                let kept =
                    std::env::temp_dir().join(format!("duckraft-cluster-test-{}.log", node.name));
                let _ = std::fs::copy(&log, &kept);
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                eprintln!(
                    "--- last lines of {}'s log (whole log: {}) ---\n{}",
                    node.name,
                    kept.display(),
                    lines[lines.len().saturating_sub(40)..].join("\n")
                );
            }
        }
    }
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(35)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, text.split_once("\r\n\r\n")?.1.to_string()))
}

async fn connect(port: u16) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("duckraft")
        .password(PASSWORD)
        .dbname("duckraft")
        .connect_timeout(Duration::from_secs(5))
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Retries a write until it succeeds or the deadline passes.
async fn write_eventually(port: u16, sql: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let outcome = match connect(port).await {
            Ok(client) => client.execute(sql, &[]).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => return started.elapsed(),
            Err(e) => assert!(
                started.elapsed() < limit,
                "write through port {port} kept failing: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(port: u16) -> i64 {
    let client = connect(port).await.unwrap();
    client
        .query_one("SELECT count(*)::BIGINT FROM kv", &[])
        .await
        .unwrap()
        .get(0)
}

fn data_dir_has_log(dir: &Path) -> bool {
    dir.join("raft-log").is_dir()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_replicate_fail_over_catch_up_and_refuse_without_quorum() {
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    assert!(data_dir_has_log(&cluster.nodes[0].data_dir));

    // Writes go in through every node; reads on every node see all of them.
    write_eventually(
        cluster.nodes[1].pg,
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT, ts TIMESTAMPTZ)",
        Duration::from_secs(20),
    )
    .await;
    for (i, node) in cluster.nodes.iter().enumerate() {
        let client = connect(node.pg).await.unwrap();
        for k in 0..5 {
            let key = i as i32 * 100 + k;
            let rows = client
                .execute(
                    "INSERT INTO kv VALUES ($1, $2, now())",
                    &[&key, &format!("from {}", node.name)],
                )
                .await
                .unwrap();
            assert_eq!(rows, 1);
        }
        // Read-your-writes on the node that took the write.
        assert_eq!(count(node.pg).await, (i as i64 + 1) * 5);
    }
    // A constraint violation comes back with its SQLSTATE and changes nothing.
    let client = connect(cluster.nodes[2].pg).await.unwrap();
    let error = client
        .execute("INSERT INTO kv VALUES (0, 'dup', now())", &[])
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("23505"), "{error:?}");
    // Writes the contract cannot replicate are refused before proposing.
    let error = client
        .batch_execute("INSERT INTO kv SELECT 999, 'x', now() FROM read_csv('/etc/passwd')")
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("0A000"), "{error:?}");

    // kill -9 the leader of the catalog; the survivors keep taking writes.
    let leader = cluster.leader_of_default(0);
    cluster.kill(leader);
    let survivors: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let failover = write_eventually(
        cluster.nodes[survivors[0]].pg,
        "INSERT INTO kv VALUES (1000, 'after failover', now())",
        Duration::from_secs(30),
    )
    .await;
    eprintln!("first write after killing the leader succeeded after {failover:?}");
    write_eventually(
        cluster.nodes[survivors[1]].pg,
        "INSERT INTO kv VALUES (1001, 'after failover', now())",
        Duration::from_secs(30),
    )
    .await;

    // Restart it: it catches up and every node's state hash is equal.
    cluster.start(leader);
    cluster.wait_ready(&[leader], Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hashes: Vec<serde_json::Value> = (0..3)
            .map(|i| cluster.hashes(i)["duckraft"].clone())
            .collect();
        if hashes[0]["hash"].is_string() && hashes.iter().all(|h| *h == hashes[0]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "state hashes never converged: {hashes:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count(cluster.nodes[leader].pg).await, 17);

    // Stop two of three: writes are refused with a clear error, not a hang;
    // local reads still work.
    let last = survivors[1];
    cluster.kill(survivors[0]);
    cluster.kill(leader);
    let client = connect(cluster.nodes[last].pg).await.unwrap();
    let started = Instant::now();
    let error = client
        .execute("INSERT INTO kv VALUES (2000, 'no quorum', now())", &[])
        .await
        .unwrap_err();
    let code = error.code().map(|c| c.code().to_string());
    assert!(
        matches!(code.as_deref(), Some("57P03") | Some("40003")),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // Linearizable reads (the default) need a quorum too; local ones do not.
    let error = client
        .query_one("SELECT count(*)::BIGINT FROM kv", &[])
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("57P03"), "{error:?}");
    client
        .batch_execute("SET duckraft.read_consistency = 'local'")
        .await
        .unwrap();
    let local: i64 = client
        .query_one("SELECT count(*)::BIGINT FROM kv", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(local, 17);
    assert!(matches!(cluster.http(last, "/readyz"), Some((503, _))));
}

/// The default catalog group's commit index as node `i` sees it.
fn commit_index(cluster: &Cluster, i: usize) -> u64 {
    let (_, body) = cluster.http(i, "/status").expect("status answers");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    status["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "duckraft")
        .expect("default catalog group")["commit"]
        .as_u64()
        .unwrap()
}

async fn values(port: u16) -> Vec<(i32, String)> {
    let client = connect(port).await.unwrap();
    client
        .query("SELECT k, v FROM kv ORDER BY k", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_run_interactive_transactions_serializably() {
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let port = |i: usize| cluster.nodes[i].pg;
    write_eventually(
        port(0),
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)",
        Duration::from_secs(20),
    )
    .await;

    // A transaction reads its own writes, commits as one entry, and a
    // linearizable read on another node sees it right after COMMIT.
    let a = connect(port(0)).await.unwrap();
    let before = commit_index(&cluster, 0);
    a.batch_execute("BEGIN; INSERT INTO kv VALUES (1, 'one'), (2, 'two');")
        .await
        .unwrap();
    a.execute("UPDATE kv SET v = v || '!' WHERE k = 1", &[])
        .await
        .unwrap();
    let own: String = a
        .query_one("SELECT v FROM kv WHERE k = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(own, "one!");
    assert_eq!(
        values(port(2)).await,
        vec![],
        "nothing visible before COMMIT"
    );
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        values(port(2)).await,
        vec![(1, "one!".to_string()), (2, "two".to_string())]
    );
    assert_eq!(
        commit_index(&cluster, 0),
        before + 1,
        "one entry per transaction"
    );

    // ROLLBACK and read-only transactions propose nothing.
    let before = commit_index(&cluster, 0);
    a.batch_execute("BEGIN; INSERT INTO kv VALUES (3, 'gone'); ROLLBACK;")
        .await
        .unwrap();
    a.batch_execute("BEGIN; SELECT count(*) FROM kv; COMMIT;")
        .await
        .unwrap();
    a.batch_execute("BEGIN READ ONLY").await.unwrap();
    let error = a
        .batch_execute("INSERT INTO kv VALUES (4, 'x')")
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("25006"), "{error:?}");
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(commit_index(&cluster, 0), before);

    // Read-modify-write on two nodes from the same snapshot: the second to
    // commit read a relation the first changed, so it aborts with 40001.
    let b = connect(port(1)).await.unwrap();
    a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        .await
        .unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let seen_a: i64 = a
        .query_one("SELECT count(*)::BIGINT FROM kv", &[])
        .await
        .unwrap()
        .get(0);
    let seen_b: i64 = b
        .query_one("SELECT count(*)::BIGINT FROM kv", &[])
        .await
        .unwrap()
        .get(0);
    a.execute(
        "INSERT INTO kv VALUES (10, $1)",
        &[&format!("a saw {seen_a}")],
    )
    .await
    .unwrap();
    b.execute(
        "INSERT INTO kv VALUES (11, $1)",
        &[&format!("b saw {seen_b}")],
    )
    .await
    .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let error = b.batch_execute("COMMIT").await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("40001"), "{error:?}");
    let message = error.as_db_error().unwrap().message();
    assert!(message.contains("conflict"), "{message}");
    // The retry on a fresh snapshot succeeds.
    b.batch_execute("BEGIN").await.unwrap();
    let seen_b: i64 = b
        .query_one("SELECT count(*)::BIGINT FROM kv", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen_b, 3);
    b.execute(
        "INSERT INTO kv VALUES (11, $1)",
        &[&format!("b saw {seen_b}")],
    )
    .await
    .unwrap();
    b.batch_execute("COMMIT").await.unwrap();

    // A unique violation only the commit point can see aborts the whole
    // transaction, on every node alike.
    b.batch_execute("BEGIN; INSERT INTO kv VALUES (20, 'from b'), (21, 'from b');")
        .await
        .unwrap();
    a.execute("INSERT INTO kv VALUES (21, 'from a')", &[])
        .await
        .unwrap();
    let error = b.batch_execute("COMMIT").await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("23505"), "{error:?}");

    // Text DuckDB cannot parse is a syntax error, as on a standalone node.
    let error = a.batch_execute("SELEC 1").await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("42601"), "{error:?}");

    // A multi-statement query is one implicit transaction: all or nothing.
    let error = a
        .batch_execute("INSERT INTO kv VALUES (30, 'x'); INSERT INTO kv VALUES (1, 'dup')")
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("23505"), "{error:?}");

    let expected = vec![
        (1, "one!".to_string()),
        (2, "two".to_string()),
        (10, "a saw 2".to_string()),
        (11, "b saw 3".to_string()),
        (21, "from a".to_string()),
    ];
    for i in 0..3 {
        assert_eq!(values(port(i)).await, expected, "node {i}");
    }
    let hashes: Vec<serde_json::Value> = (0..3)
        .map(|i| cluster.hashes(i)["duckraft"]["hash"].clone())
        .collect();
    assert!(hashes[0].is_string(), "{hashes:?}");
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
}

/// Runs the CLI until it succeeds (leadership may be moving) or time runs out.
fn run_cli_eventually(args: &[&str], password: &str, limit: Duration) -> (bool, String) {
    let deadline = Instant::now() + limit;
    loop {
        let (ok, err) = run_cli(args, password);
        if ok || Instant::now() >= deadline {
            return (ok, err);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_cli(args: &[&str], password: &str) -> (bool, String) {
    let output = Command::new(BIN)
        .args(args)
        .env("DUCKRAFT_PASSWORD", password)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_report_health_and_drain_moves_leadership_without_failed_writes() {
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let pg_ports: Vec<u16> = cluster.nodes.iter().map(|n| n.pg).collect();
    let http_ports: Vec<u16> = cluster.nodes.iter().map(|n| n.http).collect();
    let pg = |i: usize| format!("127.0.0.1:{}", pg_ports[i]);
    let http = |i: usize| format!("127.0.0.1:{}", http_ports[i]);
    for i in 0..3 {
        let (ok, err) = run_cli(&["probe", "live", "--pg", &pg(i)], PASSWORD);
        assert!(ok, "{err}");
        // Leadership can move right after start-up under load; readiness
        // must settle, not flap forever.
        let (ok, err) = run_cli_eventually(
            &["probe", "ready", "--pg", &pg(i), "--http", &http(i)],
            PASSWORD,
            Duration::from_secs(20),
        );
        assert!(ok, "{err}\nstatus: {:?}", cluster.http(i, "/status"));
    }
    let (ok, err) = run_cli(
        &["probe", "ready", "--pg", &pg(0), "--http", &http(0)],
        "wrong",
    );
    assert!(!ok && err.contains("login failed"), "{err}");

    write_eventually(
        cluster.nodes[0].pg,
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT, ts TIMESTAMPTZ)",
        Duration::from_secs(20),
    )
    .await;
    let leader = cluster.leader_of_default(0);
    let writer_node = (leader + 1) % 3;
    // A steady writer through another node while the leader drains.
    let port = cluster.nodes[writer_node].pg;
    let writer = tokio::spawn(async move {
        let client = connect(port).await.unwrap();
        let mut failures = Vec::new();
        for k in 0..60 {
            if let Err(e) = client
                .execute("INSERT INTO kv VALUES ($1, 'steady', now())", &[&k])
                .await
            {
                failures.push(format!("{k}: {e:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        failures
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let (ok, err) = run_cli(
        &["drain", "--http", &http(leader), "--timeout-secs", "30"],
        PASSWORD,
    );
    assert!(ok, "drain failed: {err}");
    eprintln!("drain took {:?}", started.elapsed());
    let status: serde_json::Value =
        serde_json::from_str(&cluster.http(leader, "/status").unwrap().1).unwrap();
    assert_eq!(status["draining"], true);
    assert!(status["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["role"] != "leader"));
    assert_ne!(cluster.leader_of_default(writer_node), leader);
    assert!(matches!(cluster.http(leader, "/readyz"), Some((503, _))));
    let (ok, _) = run_cli(
        &[
            "probe",
            "ready",
            "--pg",
            &pg(leader),
            "--http",
            &http(leader),
        ],
        PASSWORD,
    );
    assert!(!ok, "a draining node must not report ready");
    let refused = connect(cluster.nodes[leader].pg).await.unwrap_err();
    assert_eq!(
        refused.code().map(|c| c.code()),
        Some("57P03"),
        "{refused:?}"
    );

    let failures = writer.await.unwrap();
    assert!(
        failures.is_empty(),
        "writes failed during the drain: {failures:?}"
    );
    assert_eq!(count(cluster.nodes[writer_node].pg).await, 60);
    let (_, metrics) = cluster.http(writer_node, "/metrics").unwrap();
    let fsyncs = metrics
        .lines()
        .find_map(|l| l.strip_prefix("duckraft_fsync_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("fsync histogram count");
    assert!(fsyncs > 0, "{metrics}");
    assert!(metrics.contains("duckraft_fsync_seconds_bucket{le=\"0.01\"}"));

    // The same report as SQL, on a node that is not the leader.
    let client = connect(cluster.nodes[writer_node].pg).await.unwrap();
    let rows = client
        .query(
            "SELECT group_name, role, leader, applied_index FROM duckraft_status() \
             WHERE group_name = 'duckraft'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let leader_name: Option<String> = rows[0].get(2);
    assert!(leader_name.is_some());
    assert!(rows[0].get::<_, i64>(3) > 60);

    cluster.kill(leader);
    let (ok, _) = run_cli(&["probe", "live", "--pg", &pg(leader)], PASSWORD);
    assert!(!ok, "a killed node must fail liveness");
}

/// One DuckDB behind the same front door, without Raft: the reference the
/// replicated contract is held to (in this process; the binary never serves
/// it).
struct Reference {
    _dir: tempfile::TempDir,
    port: u16,
    server: Option<duckraft_server::Server>,
}

impl Reference {
    async fn start() -> Reference {
        let dir = tempfile::tempdir().unwrap();
        let config = duckraft_server::ServerConfig {
            data_dir: dir.path().to_path_buf(),
            pg_listen: "127.0.0.1:0".parse().unwrap(),
            ..duckraft_server::ServerConfig::default()
        };
        let prepare_config = config.clone();
        let (backend, _) = tokio::task::spawn_blocking(move || {
            let prepared = duckraft_server::prepare(&prepare_config).unwrap();
            prepared
                .0
                .set_password(duckraft_server::SUPERUSER, PASSWORD, true)
                .unwrap();
            prepared
        })
        .await
        .unwrap();
        let server = duckraft_server::start_reference(config, backend)
            .await
            .unwrap();
        Reference {
            _dir: dir,
            port: server.pg_address.port(),
            server: Some(server),
        }
    }

    async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }
}

async fn connect_eventually(port: u16) -> tokio_postgres::Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match connect(port).await {
            Ok(client) => return client,
            Err(e) => assert!(Instant::now() < deadline, "cannot connect: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a statement did, as a client sees it.
#[derive(Debug, PartialEq)]
enum Seen {
    Rows(Vec<Vec<Option<String>>>),
    Done(u64),
    Error(String),
}

async fn run_simple(client: &tokio_postgres::Client, sql: &str) -> Vec<Seen> {
    use tokio_postgres::SimpleQueryMessage;
    match client.simple_query(sql).await {
        Err(e) => vec![Seen::Error(
            e.code().map_or("?".into(), |c| c.code().to_string()),
        )],
        Ok(messages) => {
            let mut seen = Vec::new();
            let mut rows = Vec::new();
            for message in messages {
                match message {
                    SimpleQueryMessage::Row(row) => rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    ),
                    SimpleQueryMessage::CommandComplete(n) => {
                        if rows.is_empty() {
                            seen.push(Seen::Done(n));
                        } else {
                            seen.push(Seen::Rows(std::mem::take(&mut rows)));
                        }
                    }
                    _ => {}
                }
            }
            seen
        }
    }
}

/// One generated step: a statement, or a whole transaction on one node.
fn generate_step(rng: &mut impl Rng) -> Vec<String> {
    let statement = |rng: &mut dyn rand::RngCore| -> String {
        let t = format!("t{}", rng.gen_range(0..3));
        let s = format!("t{}", rng.gen_range(0..3));
        let k = rng.gen_range(0..30);
        match rng.gen_range(0..12) {
            0 | 1 => {
                let rows: Vec<String> = (0..rng.gen_range(1..=3))
                    .map(|i| {
                        format!(
                            "({}, {}, 'v{}', {}.5)",
                            (k + i * 7) % 30,
                            rng.gen_range(-5..50),
                            rng.gen_range(0..9),
                            rng.gen_range(0..9)
                        )
                    })
                    .collect();
                format!("INSERT INTO {t} VALUES {}", rows.join(", "))
            }
            2 => format!(
                "INSERT INTO {t} SELECT id + {}, a * 2, b || 's', c FROM {s} WHERE id < {k}",
                rng.gen_range(30..60)
            ),
            3 => format!("UPDATE {t} SET a = a + {} WHERE id % 3 = {}", k, k % 3),
            4 => format!("UPDATE {t} SET b = b || 'x' WHERE a > {k}"),
            5 => format!("DELETE FROM {t} WHERE a < {}", k - 10),
            6 => format!("SELECT id, a, b, c FROM {t} ORDER BY id"),
            7 => format!("SELECT count(*), sum(a), max(b) FROM {t}"),
            // Non-deterministic functions whose stored effect is not: pinned
            // on the cluster, evaluated by the reference, equal either way.
            8 => format!(
                "INSERT INTO {t} VALUES ({}, (random() * 0)::INTEGER, 'u' || length(gen_random_uuid()::VARCHAR), \
                 CASE WHEN now() > TIMESTAMP '2000-01-01' THEN 1.5 ELSE 0 END)",
                60 + k
            ),
            9 => format!("INSERT INTO {t} VALUES ({k}, NULL, NULL, NULL) ON CONFLICT DO NOTHING"),
            10 => format!("UPDATE {t} SET c = c * 2 WHERE id IN (SELECT id FROM {s} WHERE a % 2 = 0)"),
            _ => format!("SELECT b, count(*) FROM {t} GROUP BY b ORDER BY b NULLS FIRST"),
        }
    };
    match rng.gen_range(0..10) {
        0..=5 => vec![statement(rng)],
        6 | 7 => {
            let mut steps = vec!["BEGIN".to_string()];
            for _ in 0..rng.gen_range(1..=4) {
                steps.push(statement(rng));
            }
            steps.push(
                if rng.gen_bool(0.7) {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                }
                .into(),
            );
            steps
        }
        8 => vec![format!(
            "INSERT INTO t0 VALUES ({}, 1, 'a', 1.5); INSERT INTO t1 VALUES ({}, 2, 'b', 2.5)",
            rng.gen_range(0..30),
            rng.gen_range(0..30)
        )],
        // Outside the replicated contract: refused before anything is
        // proposed (the reference may accept them; they touch no compared table).
        _ => vec![[
            "CREATE TABLE IF NOT EXISTS side (x TIMESTAMP DEFAULT now())",
            "SELECT count(*) FROM read_csv('/etc/hostname')",
            "COPY t0 FROM '/etc/hostname'",
            "ATTACH ':memory:' AS other",
            "INSTALL httpfs",
        ][rng.gen_range(0..5)]
        .to_string()],
    }
}

/// SQLSTATEs of statements the replicated contract refuses up front.
const REJECTED: &[&str] = &["0A000", "42501"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_results_equal_single_duckdb_results_or_are_rejected() {
    let seeds: u64 = std::env::var("DUCKRAFT_CONTRACT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let steps_per_seed = 60;
    let oracle = Reference::start().await;
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let reference = connect_eventually(oracle.port).await;
    let mut nodes = Vec::new();
    for node in &cluster.nodes {
        nodes.push(connect_eventually(node.pg).await);
    }
    let mut rejected = 0;
    let mut compared = 0;
    for seed in 1..=seeds {
        let setup: Vec<String> = (0..3)
            .flat_map(|i| {
                [
                    format!("DROP TABLE IF EXISTS t{i}"),
                    format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY, a INTEGER, b VARCHAR, c DOUBLE)"),
                ]
            })
            .collect();
        for sql in &setup {
            assert_eq!(
                run_simple(&reference, sql).await,
                run_simple(&nodes[0], sql).await,
                "{sql}"
            );
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for step in 0..steps_per_seed {
            let statements = generate_step(&mut rng);
            let node = rng.gen_range(0..3);
            for sql in &statements {
                let expected = run_simple(&reference, sql).await;
                let actual = run_simple(&nodes[node], sql).await;
                if expected == actual {
                    compared += 1;
                    continue;
                }
                let refused = matches!(actual.as_slice(), [Seen::Error(code)] if REJECTED.contains(&code.as_str()));
                assert!(
                    refused,
                    "seed {seed} step {step} on node {node}: {sql}\n reference: {expected:?}\n replicated: {actual:?}"
                );
                rejected += 1;
            }
        }
        // Every node holds exactly the reference's tables.
        for i in 0..3 {
            let dump = format!("SELECT * FROM t{i} ORDER BY id");
            let expected = run_simple(&reference, &dump).await;
            for (n, client) in nodes.iter().enumerate() {
                assert_eq!(
                    run_simple(client, &dump).await,
                    expected,
                    "seed {seed}: t{i} on node {n}"
                );
            }
        }
    }
    oracle.stop().await;
    eprintln!(
        "contract: {compared} statements identical, {rejected} rejected by the replicated contract"
    );
    assert!(
        rejected > 0 && compared > 100,
        "the generator exercised both sides"
    );
}

async fn connect_to(port: u16, db: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("duckraft")
        .password(PASSWORD)
        .dbname(db)
        .connect_timeout(Duration::from_secs(5))
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Connects once the node has applied the database's creation.
async fn connect_to_eventually(port: u16, db: &str) -> tokio_postgres::Client {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match connect_to(port, db).await {
            Ok(client) => return client,
            Err(e) => assert!(Instant::now() < deadline, "cannot connect to {db}: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn code(error: &tokio_postgres::Error) -> Option<&str> {
    error.code().map(|c| c.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_drop_and_recreate_a_database() {
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let (p0, p1, p2) = (
        cluster.nodes[0].pg,
        cluster.nodes[1].pg,
        cluster.nodes[2].pg,
    );
    let admin = connect_to_eventually(p0, "duckraft").await;
    admin.batch_execute("CREATE DATABASE lake").await.unwrap();
    let writer = connect_to_eventually(p1, "lake").await;
    writer
        .batch_execute("CREATE TABLE t (i INTEGER); INSERT INTO t VALUES (1), (2), (3)")
        .await
        .unwrap();
    let watcher = connect_to_eventually(p2, "lake").await;
    let seen: i64 = watcher
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 3);

    // PostgreSQL's refusals, before anything is proposed.
    let own = writer
        .batch_execute("DROP DATABASE lake")
        .await
        .unwrap_err();
    assert_eq!(code(&own), Some("55006"), "{own:?}");
    let admin1 = connect_to_eventually(p1, "duckraft").await;
    let used = admin1
        .batch_execute("DROP DATABASE lake")
        .await
        .unwrap_err();
    assert_eq!(code(&used), Some("55006"), "{used:?}");
    let missing = admin
        .batch_execute("DROP DATABASE nosuch")
        .await
        .unwrap_err();
    assert_eq!(code(&missing), Some("3D000"), "{missing:?}");
    admin
        .batch_execute("DROP DATABASE IF EXISTS nosuch")
        .await
        .unwrap();
    let default = admin1
        .batch_execute("DROP DATABASE duckraft")
        .await
        .unwrap_err();
    assert_eq!(code(&default), Some("55006"), "{default:?}");

    // Node 1 no longer uses it; the drop goes through there although node 3
    // has a session on it, which the apply ends.
    drop(writer);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match admin1.batch_execute("DROP DATABASE lake").await {
            Ok(()) => break,
            Err(e) if code(&e) == Some("55006") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("DROP DATABASE failed: {e:?}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let ended = loop {
        match watcher.query_one("SELECT count(*) FROM t", &[]).await {
            Err(e) => break e,
            Ok(_) => assert!(Instant::now() < deadline, "the session on node 3 lived on"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        code(&ended) == Some("57P01") || ended.is_closed(),
        "{ended:?}"
    );
    for port in [p0, p1, p2] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match connect_to(port, "lake").await {
                Err(e) if code(&e) == Some("3D000") => break,
                other => assert!(
                    Instant::now() < deadline,
                    "lake still accepts sessions on port {port}: {:?}",
                    other.err()
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The same name again is a new, empty catalog with a new group.
    connect_to_eventually(p2, "duckraft")
        .await
        .batch_execute("CREATE DATABASE lake")
        .await
        .unwrap();
    let again = connect_to_eventually(p0, "lake").await;
    let old = again
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap_err();
    assert_eq!(code(&old), Some("42P01"), "{old:?}");
    again
        .batch_execute("CREATE TABLE t2 (j INTEGER); INSERT INTO t2 VALUES (7)")
        .await
        .unwrap();

    // A restarted node serves the new catalog and forgot the old group.
    cluster.kill(0);
    cluster.start(0);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let after = connect_to_eventually(p0, "lake").await;
    let j: i32 = after
        .query_one("SELECT j FROM t2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(j, 7);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hashes: Vec<serde_json::Value> = (0..3).map(|i| cluster.hashes(i)).collect();
        if hashes[0]["lake"] == hashes[1]["lake"] && hashes[1]["lake"] == hashes[2]["lake"] {
            assert!(hashes[0]["lake"].is_object(), "{:?}", hashes[0]);
            break;
        }
        assert!(Instant::now() < deadline, "lake hashes differ: {hashes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let groups = cluster.http(0, "/status").unwrap().1;
    let status: serde_json::Value = serde_json::from_str(&groups).unwrap();
    let lakes = status["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] == "lake")
        .count();
    assert_eq!(lakes, 1, "{status}");
}

/// The default catalog's leader, once node 0 knows one (an election may be
/// under way on a loaded machine).
async fn leader_of_default_eventually(cluster: &Cluster) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leader = group_status(cluster, 0, "duckraft")["leader"]
            .as_str()
            .map(str::to_string);
        if let Some(leader) = leader {
            return cluster.nodes.iter().position(|n| n.name == leader).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no leader of the default catalog"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Node `i`'s /status group entry for catalog `name`.
fn group_status(cluster: &Cluster, i: usize, name: &str) -> serde_json::Value {
    let (_, body) = cluster.http(i, "/status").expect("status answers");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    status["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .cloned()
        .expect("group listed")
}

fn node_status(cluster: &Cluster, i: usize) -> serde_json::Value {
    let (_, body) = cluster.http(i, "/status").expect("status answers");
    serde_json::from_str(&body).unwrap()
}

/// (segment files, bytes) of a node's Raft log.
fn raft_log_files(dir: &Path) -> (Vec<String>, u64) {
    let mut names = Vec::new();
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir.join("raft-log")).unwrap() {
        let entry = entry.unwrap();
        names.push(entry.file_name().to_string_lossy().into_owned());
        bytes += entry.metadata().unwrap().len();
    }
    names.sort();
    (names, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_compacted_log_catches_up_by_snapshot() {
    let mut cluster = Cluster::with_flags(
        3,
        &[
            "--compaction-threshold",
            "20",
            "--raft-log-rewrite-bytes",
            "0",
        ],
    );
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    write_eventually(
        cluster.nodes[0].pg,
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT, ts TIMESTAMPTZ)",
        Duration::from_secs(20),
    )
    .await;
    let leader = leader_of_default_eventually(&cluster).await;
    let behind = (0..3).find(|i| *i != leader).unwrap();
    let position = group_status(&cluster, behind, "duckraft")["last_index"]
        .as_u64()
        .unwrap();
    cluster.kill(behind);

    // Enough single-row writes to compact several times past its position.
    let client = connect(cluster.nodes[leader].pg).await.unwrap();
    for k in 0..120 {
        client
            .execute("INSERT INTO kv VALUES ($1, 'x', now())", &[&k])
            .await
            .unwrap();
    }
    let survivors: Vec<usize> = (0..3).filter(|i| *i != behind).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    for &i in &survivors {
        loop {
            let group = group_status(&cluster, i, "duckraft");
            if group["snapshot_index"].as_u64().unwrap() > position {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} never compacted: {group}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The log was rewritten and its first segment deleted.
        let status = node_status(&cluster, i);
        assert!(
            status["raft_log_rewrites"].as_u64().unwrap() >= 1,
            "{status}"
        );
        let (files, bytes) = raft_log_files(&cluster.nodes[i].data_dir);
        eprintln!("node {i} raft log after compaction: {files:?}, {bytes} bytes");
        assert!(
            !files.contains(&"wal-0000000000000001.log".to_string()),
            "{files:?}"
        );
        assert!(bytes < 256 << 10, "{files:?}: {bytes} bytes");
    }

    // It comes back behind the survivors' logs: only a snapshot catches it up.
    cluster.start(behind);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let installed = cluster
            .http(behind, "/status")
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|s| s["snapshots_installed"].as_u64())
            .unwrap_or(0);
        if installed >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot installed: {:?}",
            cluster.http(behind, "/status")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = node_status(&cluster, behind);
    assert_eq!(status["snapshots_refused"], 0, "{status}");
    assert!(
        group_status(&cluster, behind, "duckraft")["first_index"]
            .as_u64()
            .unwrap()
            > position + 1
    );
    cluster.wait_ready(&[behind], Duration::from_secs(60));
    // Writes after the snapshot reach it too, and every hash agrees.
    write_eventually(
        cluster.nodes[behind].pg,
        "INSERT INTO kv VALUES (1000, 'after the snapshot', now())",
        Duration::from_secs(30),
    )
    .await;
    hashes_converge(&cluster, "duckraft").await;
    assert_eq!(count(cluster.nodes[behind].pg).await, 121);
}

/// Waits until every node reports the same state hashes, including one for
/// `catalog`.
async fn hashes_converge(cluster: &Cluster, catalog: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hashes: Vec<serde_json::Value> = (0..3).map(|i| cluster.hashes(i)).collect();
        if hashes[0][catalog]["hash"].is_string() && hashes.iter().all(|h| *h == hashes[0]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "state hashes never converged: {hashes:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Names of the groups node `i` runs, if it answers.
fn group_names(cluster: &Cluster, i: usize) -> Vec<String> {
    let Some((_, body)) = cluster.http(i, "/status") else {
        return Vec::new();
    };
    let Ok(status) = serde_json::from_str::<serde_json::Value>(&body) else {
        return Vec::new();
    };
    status["groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_compacted_control_log_reconciles_its_catalogs_from_a_snapshot() {
    let mut cluster = Cluster::with_flags(
        3,
        &[
            "--compaction-threshold",
            "4",
            "--raft-log-rewrite-bytes",
            "0",
        ],
    );
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let leader = leader_of_default_eventually(&cluster).await;
    let behind = (0..3).find(|i| *i != leader).unwrap();
    let admin = connect_to_eventually(cluster.nodes[leader].pg, "duckraft").await;
    admin.batch_execute("CREATE DATABASE gone").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !group_names(&cluster, behind).contains(&"gone".to_string()) {
        assert!(
            Instant::now() < deadline,
            "node {behind} never created gone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let position = group_status(&cluster, behind, "cp-metadata")["last_index"]
        .as_u64()
        .unwrap();
    cluster.kill(behind);

    // While it is away the registry changes past the survivors' compaction.
    admin.batch_execute("DROP DATABASE gone").await.unwrap();
    for name in ["a", "c", "d", "e"] {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    }
    let writer = connect_to_eventually(cluster.nodes[leader].pg, "a").await;
    writer
        .batch_execute("CREATE TABLE t (i INTEGER)")
        .await
        .unwrap();
    for i in 0..8 {
        writer
            .batch_execute(&format!("INSERT INTO t VALUES ({i})"))
            .await
            .unwrap();
    }
    let survivors: Vec<usize> = (0..3).filter(|i| *i != behind).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Both logs must be compacted past what the node has (it never saw
    // catalog `a`), or it would catch up from the log instead.
    for &i in &survivors {
        for (name, past) in [("cp-metadata", position), ("a", 0)] {
            loop {
                // A survivor may not have created `a` yet.
                let group = node_status(&cluster, i)["groups"]
                    .as_array()
                    .and_then(|groups| groups.iter().find(|g| g["name"] == name).cloned())
                    .unwrap_or_default();
                if group["snapshot_index"]
                    .as_u64()
                    .is_some_and(|index| index > past)
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {i} never compacted {name}: {group}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    cluster.start(behind);
    let expected: Vec<String> = ["a", "c", "cp-metadata", "d", "duckraft", "e"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut names = group_names(&cluster, behind);
        names.sort();
        let installed = cluster
            .http(behind, "/status")
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|s| s["snapshots_installed"].as_u64())
            .unwrap_or(0);
        // cp-metadata may still arrive through appends its leader queued for
        // this node before compacting (the transport delivers its queue on
        // reconnect), so only catalog `a`, which the node never had, is sure
        // to come by snapshot.
        if names == expected && installed >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node {behind} runs {names:?} after {installed} snapshots: {:?}",
            cluster.http(behind, "/status")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(node_status(&cluster, behind)["snapshots_refused"], 0);
    assert!(!cluster.nodes[behind]
        .data_dir
        .join("catalogs")
        .join("gone.duckdb")
        .exists());
    hashes_converge(&cluster, "a").await;
    let reader = connect_to_eventually(cluster.nodes[behind].pg, "a").await;
    let rows: i64 = reader
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 8);
}

async fn connect_as(
    port: u16,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname("duckraft")
        .connect_timeout(Duration::from_secs(5))
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Logs in once the node has applied the role (or its new password).
async fn login_eventually(port: u16, user: &str, password: &str) -> tokio_postgres::Client {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match connect_as(port, user, password).await {
            Ok(client) => return client,
            Err(e) => assert!(
                Instant::now() < deadline,
                "{user} cannot log in on port {port}: {e:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until a login is refused as a wrong password (28P01).
async fn login_refused_eventually(port: u16, user: &str, password: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match connect_as(port, user, password).await {
            Err(e) if code(&e) == Some("28P01") => return,
            other => assert!(
                Instant::now() < deadline,
                "{user} on port {port} was never refused: {:?}",
                other.map(|_| "logged in")
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_replicate_login_roles() {
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.pg).collect();
    let admin = connect_to_eventually(ports[0], "duckraft").await;
    admin
        .batch_execute("CREATE USER alice WITH PASSWORD 'alice-1'")
        .await
        .unwrap();
    for (sql, expected) in [
        ("CREATE USER alice PASSWORD 'x'", "42710"),
        ("CREATE USER duckraft PASSWORD 'x'", "42710"),
        ("CREATE USER carol CREATEDB", "0A000"),
        ("ALTER USER nosuch PASSWORD 'x'", "42704"),
        ("DROP USER nosuch", "42704"),
        ("DROP USER duckraft", "2BP01"),
    ] {
        let error = admin.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&error), Some(expected), "{sql}: {error:?}");
    }
    admin.batch_execute("BEGIN").await.unwrap();
    let error = admin.batch_execute("CREATE USER carol").await.unwrap_err();
    assert_eq!(code(&error), Some("25001"), "{error:?}");
    admin.batch_execute("ROLLBACK").await.unwrap();

    // Created on node 0, the user logs in on node 2; a wrong password and
    // an unknown user look the same.
    let alice = login_eventually(ports[2], "alice", "alice-1").await;
    for (user, password) in [("alice", "wrong"), ("nobody", "alice-1")] {
        let error = connect_as(ports[2], user, password).await.unwrap_err();
        assert_eq!(code(&error), Some("28P01"), "{user}: {error:?}");
    }
    let roles: Vec<(String, bool, bool)> = alice
        .query(
            "SELECT rolname::TEXT, rolsuper, rolcanlogin FROM pg_roles ORDER BY rolname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        roles,
        [
            ("alice".to_string(), false, true),
            ("duckraft".to_string(), true, true)
        ]
    );
    // Not a superuser: no databases, no roles; its own password is fine.
    for sql in [
        "CREATE DATABASE alice_db",
        "CREATE USER carol",
        "DROP USER alice",
    ] {
        let error = alice.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&error), Some("42501"), "{sql}: {error:?}");
    }

    // A new password holds on every node, the old one on none.
    admin
        .batch_execute("ALTER USER alice WITH PASSWORD 'alice-2'")
        .await
        .unwrap();
    for &port in &ports {
        login_eventually(port, "alice", "alice-2").await;
        let error = connect_as(port, "alice", "alice-1").await.unwrap_err();
        assert_eq!(code(&error), Some("28P01"), "{error:?}");
    }
    let superuser: String = alice
        .query_one("SHOW is_superuser", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(superuser, "off");
    // What psql's \password sends: a SCRAM verifier, stored as given.
    let password_encryption: String = alice
        .query_one("SHOW password_encryption", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(password_encryption, "scram-sha-256");
    let verifier =
        duckraft_pgwire::scram::ScramVerifier::new("alice-3", b"0123456789abcdef".to_vec(), 4096);
    alice
        .batch_execute(&format!(
            "ALTER USER current_user PASSWORD '{}'",
            verifier.encode()
        ))
        .await
        .unwrap();
    login_eventually(ports[0], "alice", "alice-3").await;

    // SUPERUSER takes effect for the session on the proposing node at once.
    admin
        .batch_execute("ALTER USER alice SUPERUSER")
        .await
        .unwrap();
    let alice0 = login_eventually(ports[0], "alice", "alice-3").await;
    alice0
        .batch_execute("CREATE DATABASE alice_db")
        .await
        .unwrap();
    let error = alice0.batch_execute("DROP USER alice").await.unwrap_err();
    assert_eq!(code(&error), Some("55006"), "{error:?}");
    // Through the extended protocol too.
    admin
        .execute("ALTER USER alice NOSUPERUSER", &[])
        .await
        .unwrap();

    // A restarted node still has the role.
    cluster.kill(1);
    cluster.start(1);
    cluster.wait_ready(&[1], Duration::from_secs(60));
    login_eventually(ports[1], "alice", "alice-3").await;

    // Dropped: no node lets it in any more. A session that was already
    // open keeps running, as in PostgreSQL, without privileges.
    let admin = connect_to_eventually(ports[0], "duckraft").await;
    admin.batch_execute("DROP USER alice").await.unwrap();
    for &port in &ports {
        login_refused_eventually(port, "alice", "alice-3").await;
    }
    let error = admin.batch_execute("DROP USER alice").await.unwrap_err();
    assert_eq!(code(&error), Some("42704"), "{error:?}");
    admin
        .batch_execute("DROP USER IF EXISTS alice, nosuch")
        .await
        .unwrap();
    alice0.batch_execute("SELECT 1").await.unwrap();
    let error = alice0
        .batch_execute("DROP DATABASE alice_db")
        .await
        .unwrap_err();
    assert_eq!(code(&error), Some("42501"), "{error:?}");
    drop(alice);
}

/// Waits until `check` holds for node `i`'s `/status`.
fn status_eventually(
    cluster: &Cluster,
    i: usize,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = cluster.http(i, "/status").map(|(_, body)| {
            serde_json::from_str::<serde_json::Value>(&body).expect("status is JSON")
        });
        if let Some(status) = status.filter(|s| check(s)) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "node {}: never {what}: {:?}",
            cluster.nodes[i].name,
            cluster.http(i, "/status")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until node `i` reports itself degraded, checks it is not ready,
/// and returns the reason it gives.
fn degraded_reason(cluster: &Cluster, i: usize) -> String {
    let status = status_eventually(cluster, i, "degraded", |s| s["degraded"].is_string());
    assert!(matches!(cluster.http(i, "/readyz"), Some((503, _))));
    status["degraded"].as_str().unwrap().to_string()
}

/// A bootstrap member whose data directory was lost, restarted as it was
/// first started (no `--join`), would come back under its old Raft id with
/// its votes and acknowledgements forgotten. Here every group has a leader
/// elected after the loss, so no leader remembers what it acknowledged;
/// what gives it away is its own capability report in cp-metadata, found
/// once it has caught up. It fails closed; the others go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_member_restarted_without_join_fails_closed() {
    let mut cluster = Cluster::new(3);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    status_eventually(&cluster, 0, "holding every member's report", |s| {
        s["member_capabilities"]
            .as_object()
            .is_some_and(|reports| reports.len() == 3)
    });
    cluster.kill(2);
    std::fs::remove_dir_all(&cluster.nodes[2].data_dir).unwrap();
    for i in [0, 1] {
        cluster.kill(i);
    }
    for i in [0, 1] {
        cluster.start(i);
    }
    cluster.wait_ready(&[0, 1], Duration::from_secs(60));
    cluster.start(2);
    let reason = degraded_reason(&cluster, 2);
    assert!(
        reason.contains("capability report from n3") && reason.contains("--join"),
        "{reason}"
    );
    let client = connect_eventually(cluster.nodes[0].pg).await;
    client
        .batch_execute(
            "CREATE TABLE after_the_loss (x INTEGER); INSERT INTO after_the_loss VALUES (1)",
        )
        .await
        .unwrap();
    // The write went on without it, and it stays out.
    assert_eq!(degraded_reason(&cluster, 2), reason);
}

/// A rolling upgrade as the capability level sees it: with one member on
/// an older binary (`--capability-level 1`) the cluster stays at level 1 and
/// refuses GRANT; once that member runs the new binary the level rises by
/// itself and grants work on every node. A member that goes back to the
/// old binary then refuses to serve (degraded, not ready) instead of
/// applying entries it does not understand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capability_level_rises_after_the_last_upgrade_and_gates_database_grants() {
    let mut cluster = Cluster::stopped(3, &[]);
    cluster.start(0);
    cluster.start(1);
    cluster.start_with(2, &["--capability-level", "1"]);
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let latest = duckraft_server::CAPABILITY_LEVEL;
    let reported = |s: &serde_json::Value| {
        s["member_capabilities"] == serde_json::json!({"n1": latest, "n2": latest, "n3": 1})
    };
    for i in 0..3 {
        let status = status_eventually(&cluster, i, "saw every member's report", reported);
        assert_eq!(status["capability_level"], 1);
    }
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.pg).collect();
    let admin = connect_to_eventually(ports[0], "duckraft").await;
    for sql in [
        "CREATE USER alice PASSWORD 'a'",
        "CREATE USER bob PASSWORD 'b'",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
    let error = admin
        .batch_execute("GRANT CONNECT ON DATABASE duckraft TO alice")
        .await
        .unwrap_err();
    assert_eq!(code(&error), Some("0A000"), "{error:?}");
    // Every member must apply PostgreSQL's integer `/` before any node uses it.
    assert_eq!(half_of_seven(&admin).await, "3.5");

    // The upgrade of the last member.
    cluster.kill(2);
    cluster.start(2);
    cluster.wait_ready(&[2], Duration::from_secs(60));
    for i in 0..3 {
        status_eventually(&cluster, i, "at the latest capability level", |s| {
            s["capability_level"] == latest
        });
    }
    for sql in [
        "REVOKE CONNECT ON DATABASE duckraft FROM PUBLIC",
        "GRANT CONNECT ON DATABASE duckraft TO alice",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
    for (sql, expected) in [
        ("GRANT CONNECT ON DATABASE nowhere TO alice", "3D000"),
        ("GRANT CONNECT ON DATABASE duckraft TO ghost", "42704"),
        ("GRANT SELECT ON t TO alice", "0A000"),
    ] {
        let error = admin.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&error), Some(expected), "{sql}: {error:?}");
    }
    for &port in &ports {
        login_eventually(port, "alice", "a").await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match connect_as(port, "bob", "b").await {
                Err(e) if code(&e) == Some("42501") => break,
                other => assert!(
                    Instant::now() < deadline,
                    "bob was never refused on port {port}: {:?}",
                    other.map(|_| "connected")
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        connect_to(port, "duckraft")
            .await
            .expect("superusers always connect");
    }
    let alice = login_eventually(ports[1], "alice", "a").await;
    let error = alice
        .batch_execute("GRANT CONNECT ON DATABASE duckraft TO bob")
        .await
        .unwrap_err();
    assert_eq!(code(&error), Some("42501"), "{error:?}");
    // A session opened before the rise follows it, and writes replicate it.
    assert_eq!(half_of_seven(&admin).await, "3");
    admin
        .batch_execute("CREATE TABLE halves (v INTEGER); INSERT INTO halves SELECT 9 / 2")
        .await
        .unwrap();
    for &port in &ports {
        let client = connect_to_eventually(port, "duckraft").await;
        client
            .batch_execute("SET duckraft.read_consistency = 'linearizable'")
            .await
            .unwrap();
        let v: i32 = client
            .query_one("SELECT v FROM halves", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, 4, "port {port}");
    }

    // A downgrade is refused loudly.
    cluster.kill(2);
    cluster.start_with(2, &["--capability-level", "1"]);
    let reason = degraded_reason(&cluster, 2);
    assert!(
        reason.contains(&format!("capability level {latest}")),
        "{reason}"
    );
}

async fn half_of_seven(client: &tokio_postgres::Client) -> String {
    client
        .query_one("SELECT (7 / 2)::TEXT", &[])
        .await
        .unwrap()
        .get(0)
}

/// Every group's voters and learners on node `i`, by group name.
fn configurations(cluster: &Cluster, i: usize) -> Vec<(String, Vec<String>, Vec<String>)> {
    let status = node_status(cluster, i);
    let names = |v: &serde_json::Value| -> Vec<String> {
        let mut names: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    status["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let name = g["name"].as_str().unwrap().to_string();
            (name, names(&g["voters"]), names(&g["learners"]))
        })
        .collect()
}

/// Waits until every group on node `i` has exactly `voters` as voters and
/// no learner.
fn wait_for_voters(cluster: &Cluster, i: usize, voters: &[&str], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let groups = configurations(cluster, i);
        let settled = groups.len() >= 3
            && groups
                .iter()
                .all(|(_, v, learners)| v == voters && learners.is_empty());
        if settled {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {}: groups never settled on voters {voters:?}: {groups:?}",
            cluster.nodes[i].name
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn alter_cluster(port: u16, sql: &str) -> Result<(), tokio_postgres::Error> {
    connect_to_eventually(port, "duckraft")
        .await
        .batch_execute(sql)
        .await
}

/// Scaling out and replacing a member on real processes: two nodes that
/// were not in the bootstrap list (and that the bootstrap members have no
/// address for) join through `ALTER CLUSTER ADD MEMBER`, catch up as
/// learners by snapshot and become voters in every group; then a bootstrap
/// member leaves, and with one more member down the remaining three (two of
/// them the newcomers) still commit. The member that left, its data lost,
/// comes back under its name as a new member. Nothing written is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_by_snapshot_vote_and_a_member_leaves_without_losing_writes() {
    let mut cluster = Cluster::stopped(5, &["--initial-members", "n1,n2,n3"]);
    for i in 0..3 {
        cluster.start_listing(i, &[0, 1, 2], &[]);
    }
    cluster.wait_ready(&[0, 1, 2], Duration::from_secs(60));
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.pg).collect();
    let admin = connect_to_eventually(ports[0], "duckraft").await;
    for sql in [
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v VARCHAR)",
        "CREATE DATABASE lake",
    ] {
        admin.batch_execute(sql).await.unwrap();
    }
    let lake = connect_to_eventually(ports[1], "lake").await;
    lake.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2)")
        .await
        .unwrap();
    for k in 0..20 {
        write_eventually(
            ports[k % 3],
            &format!("INSERT INTO kv VALUES ({k}, 'before')"),
            Duration::from_secs(20),
        )
        .await;
    }

    for (sql, expected) in [
        ("ALTER CLUSTER ADD MEMBER n2 PEER '127.0.0.1:1'", "42710"),
        ("ALTER CLUSTER REMOVE MEMBER n9", "42704"),
        ("ALTER CLUSTER ADD MEMBER n4 PEER 'nowhere'", "22023"),
        (
            "ALTER CLUSTER ADD MEMBER 'not_a_dns_name' PEER '127.0.0.1:1'",
            "22023",
        ),
    ] {
        let error = alter_cluster(ports[0], sql).await.unwrap_err();
        assert_eq!(code(&error), Some(expected), "{sql}: {error:?}");
    }
    let error = admin
        .batch_execute("BEGIN; ALTER CLUSTER REMOVE MEMBER n3")
        .await
        .unwrap_err();
    assert_eq!(code(&error), Some("25001"), "{error:?}");
    admin.batch_execute("ROLLBACK").await.unwrap();

    // The newcomers start before or after they are added: either way they
    // wait for the leader and learn their ids from it.
    cluster.start_listing(3, &[0, 1, 2, 3], &[]);
    let n4 = format!(
        "ALTER CLUSTER ADD MEMBER n4 PEER '127.0.0.1:{}'",
        cluster.nodes[3].peer
    );
    alter_cluster(ports[0], &n4).await.unwrap();
    cluster.wait_ready(&[3], Duration::from_secs(90));
    for i in 0..4 {
        wait_for_voters(
            &cluster,
            i,
            &["n1", "n2", "n3", "n4"],
            Duration::from_secs(60),
        );
    }
    let n5 = format!(
        "ALTER CLUSTER ADD MEMBER n5 PEER '127.0.0.1:{}'",
        cluster.nodes[4].peer
    );
    alter_cluster(ports[3], &n5).await.unwrap();
    cluster.start_listing(4, &[0, 1, 2, 3, 4], &[]);
    cluster.wait_ready(&[4], Duration::from_secs(90));
    let five = ["n1", "n2", "n3", "n4", "n5"];
    for i in 0..5 {
        wait_for_voters(&cluster, i, &five, Duration::from_secs(60));
    }
    let identity: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cluster.nodes[4].data_dir.join("member.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(identity["raft_id"], 5);
    assert_eq!(identity["bootstrap"], serde_json::Value::Null);
    for k in 20..30 {
        write_eventually(
            ports[3 + k % 2],
            &format!("INSERT INTO kv VALUES ({k}, 'joined')"),
            Duration::from_secs(20),
        )
        .await;
    }

    // n1 leaves (handing off whatever it leads); it stays up but is no
    // longer ready.
    alter_cluster(ports[1], "ALTER CLUSTER REMOVE MEMBER n1")
        .await
        .unwrap();
    let four = ["n2", "n3", "n4", "n5"];
    for i in 1..5 {
        wait_for_voters(&cluster, i, &four, Duration::from_secs(60));
    }
    status_eventually(&cluster, 0, "removed", |s| s["removed"] == true);
    assert!(matches!(cluster.http(0, "/readyz"), Some((503, _))));
    cluster.kill(0);

    // Three of the four voters are left, two of them the newcomers: they
    // elect leaders and commit.
    cluster.kill(1);
    for k in 30..40 {
        write_eventually(
            ports[2 + k % 3],
            &format!("INSERT INTO kv VALUES ({k}, 'after')"),
            Duration::from_secs(30),
        )
        .await;
    }
    let lake = connect_to_eventually(ports[4], "lake").await;
    lake.batch_execute("INSERT INTO t VALUES (3)")
        .await
        .unwrap();

    // A newcomer restarts from its own data directory as itself.
    cluster.kill(3);
    cluster.start_listing(3, &[2, 3, 4], &[]);
    cluster.wait_ready(&[2, 3, 4], Duration::from_secs(90));

    // n1 lost its data: it comes back under its old name as a new member
    // (a new Raft id), joining instead of bootstrapping.
    std::fs::remove_dir_all(&cluster.nodes[0].data_dir).unwrap();
    let n1 = format!(
        "ALTER CLUSTER ADD MEMBER n1 PEER '127.0.0.1:{}'",
        cluster.nodes[0].peer
    );
    alter_cluster(ports[2], &n1).await.unwrap();
    cluster.start_with(0, &["--join"]);
    wait_for_voters(
        &cluster,
        2,
        &["n1", "n2", "n3", "n4", "n5"],
        Duration::from_secs(90),
    );
    let identity: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cluster.nodes[0].data_dir.join("member.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(identity["raft_id"], 6, "a returning name gets a new id");
    cluster.start(1);
    cluster.wait_ready(&[0, 1, 2, 3, 4], Duration::from_secs(90));
    for catalog in ["duckraft", "lake"] {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let hashes: Vec<serde_json::Value> =
                (0..5).map(|i| cluster.hashes(i)[catalog].clone()).collect();
            if hashes.iter().all(|h| *h == hashes[0]) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{catalog} hashes differ: {hashes:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for &port in &ports {
        assert_eq!(count(port).await, 40, "port {port}");
    }

    // A member wiped without being removed first comes back as a joiner
    // under its old id; it refuses to take part rather than vote again in
    // a term it already voted in.
    cluster.kill(4);
    std::fs::remove_dir_all(&cluster.nodes[4].data_dir).unwrap();
    cluster.start_with(4, &["--join"]);
    let reason = degraded_reason(&cluster, 4);
    assert!(reason.contains("lost its data"), "{reason}");

    // A bootstrap member wiped and restarted as it was first started (no
    // --join) comes back under its old id too; a leader that remembers
    // what it acknowledged gives it away with its first heartbeat.
    cluster.kill(1);
    std::fs::remove_dir_all(&cluster.nodes[1].data_dir).unwrap();
    cluster.start(1);
    let reason = degraded_reason(&cluster, 1);
    assert!(
        reason.contains("lost its data") && reason.contains("--join"),
        "{reason}"
    );
}
