//! The `duckraft` command: argument parsing and logging setup, then the server.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use duckraft_server::{ConfigFile, ServerConfig, SUPERUSER};
use tracing::info;

// jemalloc replaces malloc for the whole process, DuckDB's C++ allocations included
// (the crate's `unprefixed_malloc_on_supported_platforms` feature). DuckDB allocates
// heavily while it plans each statement: under glibc malloc that was about a quarter
// of the server's CPU on the DuckLake commit profile (bench/README.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "duckraft",
    version,
    about = "A highly available SQL catalog server: PostgreSQL protocol in front, DuckDB inside."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a node: a single node by default, a cluster member with --peers.
    Serve(ServeArgs),
    /// Write a cluster CA and one mTLS certificate per node.
    ///
    /// With --existing-ca, write certificates for nodes joining a running cluster instead,
    /// signed by the CA already in --out; no existing file is replaced.
    Certs(CertsArgs),
    /// Print a node's replication status (JSON from its HTTP endpoint).
    Status(StatusArgs),
    /// Start a local cluster of N nodes on loopback, for trying things out.
    DevCluster(DevClusterArgs),
    /// Health checks for orchestrators: exit 0 when healthy, 1 with a reason otherwise.
    Probe(ProbeArgs),
    /// Hand off leadership of every group this node leads and refuse new
    /// sessions (Kubernetes preStop); returns once the node leads nothing.
    Drain(DrainArgs),
}

#[derive(clap::Args)]
struct ProbeArgs {
    #[arg(value_enum)]
    check: ProbeCheck,
    /// PostgreSQL address of the node
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:5433")]
    pg: String,
    /// HTTP status address of the node (cluster mode)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8433")]
    http: String,
    /// User for the readiness login; the password comes from DUCKRAFT_PASSWORD
    #[arg(long, default_value = SUPERUSER)]
    user: String,
    #[arg(long, default_value = "duckraft")]
    dbname: String,
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProbeCheck {
    /// The PostgreSQL protocol answers a handshake.
    Live,
    /// A real login and a linearizable read succeed, and the node is caught up and not degraded.
    Ready,
}

#[derive(clap::Args)]
struct DrainArgs {
    /// HTTP status address of the node
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8433")]
    http: String,
    /// Give up (exit 1) if leadership has not moved by then
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

#[derive(clap::Args)]
struct CertsArgs {
    /// Directory to write ca.pem, ca-key.pem, <id>.pem and <id>-key.pem into
    #[arg(long)]
    out: PathBuf,
    /// Comma-separated node ids, e.g. n1,n2,n3
    #[arg(long, value_delimiter = ',', required = true)]
    nodes: Vec<String>,
    /// Extra DNS names for every node certificate
    #[arg(long, value_delimiter = ',')]
    dns: Vec<String>,
    /// Sign with the CA already in --out (ca.pem, ca-key.pem) instead of creating one; refuses
    /// if any of the nodes' files exists
    #[arg(long)]
    existing_ca: bool,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// The node's HTTP status address
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8433")]
    http: String,
}

#[derive(clap::Args)]
struct DevClusterArgs {
    /// Number of nodes (3 or 5)
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Parent directory for every node's data dir and the certificates
    #[arg(long, default_value = "./duckraft-dev-cluster")]
    dir: PathBuf,
    /// First PostgreSQL port; node i listens on base+i, peers on base+100+i, HTTP on base+200+i
    #[arg(long, default_value_t = 5433)]
    base_port: u16,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Directory for catalogs, users and keys [default: ./duckraft-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL protocol listen address [default: 127.0.0.1:5433]
    #[arg(long, value_name = "HOST:PORT")]
    pg_listen: Option<String>,
    /// TOML config file; flags given on the command line win over it
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// PEM certificate chain for PostgreSQL-protocol TLS
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for PostgreSQL-protocol TLS
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Maximum concurrent client connections; more are refused with 53300
    #[arg(long)]
    max_connections: Option<usize>,
    /// This node's id in the cluster (its certificate names it)
    #[arg(long, requires = "peers")]
    node_id: Option<String>,
    /// Every member's peer address: n1=HOST:PORT,n2=HOST:PORT,...
    #[arg(long, value_delimiter = ',', requires = "node_id")]
    peers: Vec<String>,
    /// The members that bootstrap the cluster [default: every --peers name].
    /// A node not listed joins the running cluster once a member runs
    /// ALTER CLUSTER ADD MEMBER for it. Read only at a node's first start.
    #[arg(long, value_delimiter = ',', requires = "node_id")]
    initial_members: Vec<String>,
    /// At the first start (an empty data directory), join the running
    /// cluster even if listed in --initial-members: how a member that lost
    /// its data comes back after ALTER CLUSTER REMOVE and ADD MEMBER
    #[arg(long, requires = "node_id")]
    join: bool,
    /// Peer (Raft) listen address [default: 127.0.0.1:7433]
    #[arg(long, value_name = "HOST:PORT")]
    peer_listen: Option<String>,
    /// HTTP status listen address (/status /healthz /readyz /metrics) [cluster default: 127.0.0.1:8433; a single node serves it only when given]
    #[arg(long, value_name = "HOST:PORT")]
    http_listen: Option<String>,
    /// Directory with ca.pem, <node-id>.pem and <node-id>-key.pem (see `duckraft certs`)
    #[arg(long, requires = "node_id")]
    tls_dir: Option<PathBuf>,
    /// Raft tick interval in milliseconds (heartbeats every 2 ticks, election
    /// timeouts drawn from 10 to 20 ticks)
    #[arg(long, default_value_t = duckraft_server::DEFAULT_TICK.as_millis() as u64)]
    tick_ms: u64,
    /// Snapshot a group and compact its log once this many entries follow its last snapshot
    #[arg(long, hide = true, default_value_t = duckraft_server::replication::Compaction::default().threshold_entries)]
    compaction_threshold: u64,
    /// Rewrite the Raft log once it holds this many bytes (and mostly dead records)
    #[arg(long, hide = true, default_value_t = duckraft_server::replication::Compaction::default().rewrite_min_bytes)]
    raft_log_rewrite_bytes: u64,
    /// Report and apply capability levels only up to this one, as an older
    /// binary would (tests of rolling upgrades)
    #[arg(long, hide = true, default_value_t = duckraft_server::CAPABILITY_LEVEL,
          value_parser = clap::value_parser!(u32).range(1..=duckraft_server::CAPABILITY_LEVEL as i64))]
    capability_level: u32,
}

fn cluster_options(args: &ServeArgs) -> anyhow::Result<Option<duckraft_server::ClusterOptions>> {
    let Some(node_id) = args.node_id.clone() else {
        return Ok(None);
    };
    let mut peers = std::collections::BTreeMap::new();
    for peer in &args.peers {
        let (name, address) = peer
            .split_once('=')
            .with_context(|| format!("--peers expects NAME=HOST:PORT, got {peer:?}"))?;
        peers.insert(name.to_string(), address.to_string());
    }
    if !peers.contains_key(&node_id) {
        anyhow::bail!("--peers must list this node ({node_id}) too");
    }
    let parse = |value: &Option<String>,
                 default: &str,
                 flag: &str|
     -> anyhow::Result<std::net::SocketAddr> {
        let text = value.clone().unwrap_or_else(|| default.to_string());
        text.parse()
            .with_context(|| format!("--{flag} expects HOST:PORT, got {text:?}"))
    };
    Ok(Some(duckraft_server::ClusterOptions {
        peering: Some(duckraft_server::Peering {
            peer_listen: parse(&args.peer_listen, "127.0.0.1:7433", "peer-listen")?,
            tls_dir: args.tls_dir.clone().context(
                "--tls-dir is required in cluster mode: peers authenticate each other with mTLS",
            )?,
        }),
        http_listen: Some(parse(&args.http_listen, "127.0.0.1:8433", "http-listen")?),
        tick: std::time::Duration::from_millis(args.tick_ms.max(1)),
        compaction: duckraft_server::replication::Compaction {
            threshold_entries: args.compaction_threshold.max(1),
            rewrite_min_bytes: args.raft_log_rewrite_bytes,
        },
        capability: args.capability_level,
        initial_members: (!args.initial_members.is_empty()).then(|| args.initial_members.clone()),
        join: args.join,
        node_id,
        peers,
    }))
}

fn server_config(args: ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut config = ServerConfig::default();
    if let Some(path) = &args.config {
        ConfigFile::load(path)?.apply(&mut config)?;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(address) = args.pg_listen {
        config.pg_listen = address
            .parse()
            .with_context(|| format!("--pg-listen expects HOST:PORT, got {address:?}"))?;
    }
    if let Some(cert) = args.tls_cert {
        config.tls_cert = Some(cert);
    }
    if let Some(key) = args.tls_key {
        config.tls_key = Some(key);
    }
    if let Some(max) = args.max_connections {
        config.max_connections = max;
    }
    config.validate()?;
    Ok(config)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cluster = cluster_options(&args)?;
    let args_http_listen = args.http_listen.clone();
    let config = server_config(args)?;
    let prepare_config = config.clone();
    let (backend, report) =
        tokio::task::spawn_blocking(move || duckraft_server::prepare(&prepare_config)).await??;
    let member = match cluster {
        Some(options) => duckraft_server::start_cluster(config.clone(), options, backend).await?,
        None => {
            let http_listen = args_http_listen
                .map(|text| {
                    text.parse()
                        .with_context(|| format!("--http-listen expects HOST:PORT, got {text:?}"))
                })
                .transpose()?;
            duckraft_server::start(config.clone(), backend, http_listen).await?
        }
    };
    if let Some(peers) = member.peer_address {
        eprintln!("cluster member: peers on {peers}");
    }
    if let Some(http) = member.http_address {
        eprintln!("status on http://{http}/status");
    }
    let server = member.server;
    let address = server.pg_address;
    let password_hint = match &report.generated_password {
        Some(password) => {
            eprintln!(
                "Generated password for user \"{SUPERUSER}\": {password}\n(saved to {}; it is printed only this once)",
                config.data_dir.join("initial-password").display()
            );
            "<the generated password>".to_string()
        }
        None => "$DUCKRAFT_PASSWORD".to_string(),
    };
    eprintln!(
        "duckraft is serving PostgreSQL on {address}\n\
         \n  psql:     psql \"host={host} port={port} user={SUPERUSER} dbname=duckraft\"   (password: {password_hint})\
         \n  DuckLake: ATTACH 'ducklake:postgres:host={host} port={port} dbname=duckraft user={SUPERUSER} password=...' AS lake (DATA_PATH 'lake-data/');\n",
        host = address.ip(),
        port = address.port(),
    );
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("signal received; shutting down");
        let _ = stop.send(true);
    });
    server.wait().await
}

async fn http_get(address: &str, path: &str) -> anyhow::Result<(u16, String)> {
    http_request(address, "GET", path).await
}

/// Plain HTTP/1.1; the status endpoint is loopback or in-cluster.
async fn http_request(address: &str, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::TcpStream::connect(address),
    )
    .await
    .with_context(|| format!("timed out connecting to {address}"))?
    .with_context(|| format!("cannot connect to {address}"))?;
    stream
        .write_all(
            format!("{method} {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut response),
    )
    .await
    .context("timed out reading the response")??;
    let text = String::from_utf8_lossy(&response).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("malformed HTTP response")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// Liveness: the process answers the protocol's first exchange (an
/// SSLRequest gets 'S' or 'N'); it does not touch storage or consensus.
async fn probe_live(pg: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(pg)
        .await
        .with_context(|| format!("cannot connect to {pg}"))?;
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    stream.write_all(&SSL_REQUEST).await?;
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer).await?;
    match answer[0] {
        b'S' | b'N' => Ok(()),
        other => anyhow::bail!("unexpected answer {other:#04x} to an SSLRequest"),
    }
}

const READY_QUERY: &str = "SELECT 1 FROM pg_catalog.pg_database LIMIT 1";

/// Readiness: a real startup, authentication and a read; in cluster
/// mode also `/readyz` (leaders known, caught up, not degraded or draining).
async fn probe_ready(args: &ProbeArgs) -> anyhow::Result<()> {
    let password = std::env::var("DUCKRAFT_PASSWORD").unwrap_or_default();
    let (host, port) = args
        .pg
        .rsplit_once(':')
        .with_context(|| format!("--pg expects HOST:PORT, got {:?}", args.pg))?;
    let (client, connection) = tokio_postgres::Config::new()
        .host(host)
        .port(port.parse().context("invalid port")?)
        .user(&args.user)
        .password(password)
        .dbname(&args.dbname)
        .application_name("duckraft-probe")
        .connect(tokio_postgres::NoTls)
        .await
        .context("PostgreSQL login failed")?;
    tokio::spawn(connection);
    // It names a relation, so it is a linearizable read: it needs the
    // catalog's Raft group to have a leader (`SELECT 1` alone reads nothing).
    let one: i32 = client
        .query_one(READY_QUERY, &[])
        .await
        .with_context(|| format!("{READY_QUERY} failed"))?
        .get(0);
    anyhow::ensure!(one == 1, "{READY_QUERY} returned {one}");
    match http_get(&args.http, "/readyz").await {
        Ok((200, _)) => Ok(()),
        Ok((code, body)) => anyhow::bail!("/readyz answered {code}: {}", body.trim()),
        Err(e) if is_refused(&e) => Ok(()), // single node: no status endpoint
        Err(e) => Err(e),
    }
}

fn is_refused(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

async fn drain(args: DrainArgs) -> anyhow::Result<()> {
    let (code, body) = http_request(&args.http, "POST", "/drain").await?;
    anyhow::ensure!(code == 200, "POST /drain answered {code}: {}", body.trim());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.timeout_secs);
    loop {
        let (_, body) = http_get(&args.http, "/status").await?;
        let status: serde_json::Value = serde_json::from_str(&body).context("malformed /status")?;
        let led: Vec<String> = status["groups"]
            .as_array()
            .map(|groups| {
                groups
                    .iter()
                    .filter(|g| g["role"] == "leader")
                    .filter_map(|g| g["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if led.is_empty() {
            eprintln!("drained: this node leads no group and refuses new sessions");
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            anyhow::bail!(
                "still leading {} after {}s",
                led.join(", "),
                args.timeout_secs
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let (code, body) = http_get(&args.http, "/status").await?;
    print!("{body}");
    if code != 200 {
        anyhow::bail!("status endpoint answered HTTP {code}");
    }
    Ok(())
}

async fn dev_cluster(args: DevClusterArgs) -> anyhow::Result<()> {
    if args.nodes != 3 && args.nodes != 5 {
        anyhow::bail!("--nodes must be 3 or 5");
    }
    let names: Vec<String> = (1..=args.nodes).map(|i| format!("n{i}")).collect();
    let certs = args.dir.join("certs");
    if !certs.join("ca.pem").exists() {
        duckraft_transport::certs::generate(&certs, &names, &[])
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let port = |offset: u16, i: usize| args.base_port + offset + i as u16;
    let peers: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n}=127.0.0.1:{}", port(100, i)))
        .collect();
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let child = tokio::process::Command::new(&exe)
            .arg("serve")
            .args(["--node-id", name])
            .arg("--data-dir")
            .arg(args.dir.join(name))
            .args(["--pg-listen", &format!("127.0.0.1:{}", port(0, i))])
            .args(["--peer-listen", &format!("127.0.0.1:{}", port(100, i))])
            .args(["--http-listen", &format!("127.0.0.1:{}", port(200, i))])
            .args(["--peers", &peers.join(",")])
            .arg("--tls-dir")
            .arg(&certs)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting node {name}"))?;
        children.push(child);
        eprintln!(
            "{name}: psql \"host=127.0.0.1 port={} user={SUPERUSER} dbname=duckraft\"   status: http://127.0.0.1:{}/status",
            port(0, i),
            port(200, i)
        );
    }
    eprintln!("each node's password is in {}/<node>/initial-password unless DUCKRAFT_PASSWORD is set; Ctrl-C stops the cluster", args.dir.display());
    wait_for_signal().await;
    for child in &mut children {
        let _ = child.start_kill();
    }
    for child in &mut children {
        let _ = child.wait().await;
    }
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(1024)
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Certs(args) if args.existing_ca => {
            duckraft_transport::certs::issue(&args.out, &args.nodes, &args.dns)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "wrote a certificate per node ({}) to {}, signed by the ca.pem there",
                args.nodes.join(", "),
                args.out.display()
            );
            Ok(())
        }
        Command::Certs(args) => {
            duckraft_transport::certs::generate(&args.out, &args.nodes, &args.dns).map_err(
                |e| match e {
                    duckraft_transport::certs::CertError::CaExists(_) => {
                        anyhow::anyhow!("{e} (to add nodes signed by it, pass --existing-ca)")
                    }
                    _ => anyhow::anyhow!("{e}"),
                },
            )?;
            eprintln!(
                "wrote ca.pem, ca-key.pem and a certificate per node ({}) to {}",
                args.nodes.join(", "),
                args.out.display()
            );
            Ok(())
        }
        Command::Status(args) => runtime.block_on(status(args)),
        Command::DevCluster(args) => runtime.block_on(dev_cluster(args)),
        Command::Probe(args) => {
            let timeout = std::time::Duration::from_secs(args.timeout_secs);
            let check = async {
                match args.check {
                    ProbeCheck::Live => probe_live(&args.pg).await,
                    ProbeCheck::Ready => probe_ready(&args).await,
                }
            };
            match runtime.block_on(async { tokio::time::timeout(timeout, check).await }) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    eprintln!("not healthy: {e:#}");
                    std::process::exit(1)
                }
                Err(_) => {
                    eprintln!("not healthy: no answer within {timeout:?}");
                    std::process::exit(1)
                }
            }
        }
        Command::Drain(args) => runtime.block_on(drain(args)),
    }
}
