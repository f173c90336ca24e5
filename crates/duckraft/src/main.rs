//! The `duckraft` command: argument parsing and logging setup, then the server.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use duckraft_server::{ConfigFile, ServerConfig, SUPERUSER};
use tracing::info;

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
    /// Start a node (today: a single node with a local data dir).
    Serve(ServeArgs),
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
    let config = server_config(args)?;
    let prepare_config = config.clone();
    let (backend, report) =
        tokio::task::spawn_blocking(move || duckraft_server::prepare(&prepare_config)).await??;
    let server = duckraft_server::start(config.clone(), backend).await?;
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
    }
}
