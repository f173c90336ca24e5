//! Runtime wiring: listeners, TLS, connection limits, startup and shutdown.
//!
//! Start-up order:
//! 1. create the data dir, open users and catalogs (the default catalog is
//!    created on first start);
//! 2. make sure the superuser exists (password from `DUCKRAFT_PASSWORD` or
//!    generated into `<data-dir>/initial-password`);
//! 3. bind the PostgreSQL listener and serve until SIGTERM/SIGINT.
//!
//! A single node is a one-voter cluster ([`start`]): the same sessions,
//! Raft log and apply path as a member of a larger one ([`start_cluster`]).
//!
//! Shutdown order: stop accepting; tell idle sessions to close; wait for
//! in-flight sessions up to the grace period; stop the replication thread;
//! checkpoint every catalog.

pub mod backend;
pub mod cluster;
pub mod config;
pub mod membership;
pub mod priority;
pub mod replication;
pub mod status;
pub mod tentative;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use duckraft_engine::users::Users;
use duckraft_engine::{Catalogs, EngineConfig};
use duckraft_pgwire::{CancelRegistry, ConnectionContext, ConnectionLimits};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tracing::{error, info, warn};

pub use backend::LocalBackend;
pub use config::{ConfigFile, ServerConfig};
pub use duckraft_engine::command::CAPABILITY_LEVEL;

pub const SUPERUSER: &str = "duckraft";
pub const SERVER_VERSION: &str = "15.0 (duckraft 0.1.0)";
/// The Raft tick. Heartbeats go every 2 ticks and election timeouts are
/// drawn from 10 to 20 ticks, so a dead leader is replaced in 0.5 to 1 s
/// (bench: p50 0.82 s from kill -9 to the next acknowledged write, and no
/// elections under 64-client load). A leader whose driver thread stalls for
/// longer than that, in one very long apply, loses its leadership.
pub const DEFAULT_TICK: Duration = Duration::from_millis(50);

/// A running server: its bound address and a handle to stop it.
pub struct Server {
    pub pg_address: std::net::SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Asks the server to stop and waits for the shutdown sequence to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.context("server task panicked")?
    }

    /// Waits until the server stops by itself (it only does on error).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// What start-up tells the operator once: where to connect and how.
pub struct StartupReport {
    pub generated_password: Option<String>,
}

fn server_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("server-secret");
    if let Ok(bytes) = std::fs::read(&path) {
        if bytes.len() == 32 {
            return Ok(bytes);
        }
        anyhow::bail!("{} is corrupt (expected 32 bytes)", path.display());
    }
    let secret: [u8; 32] = rand::random();
    write_private(&path, &secret)?;
    Ok(secret.to_vec())
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn load_tls(config: &ServerConfig) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
    let (Some(cert_path), Some(key_path)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert_path)
            .with_context(|| format!("opening {}", cert_path.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| format!("reading certificates from {}", cert_path.display()))?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key_path).with_context(|| format!("opening {}", key_path.display()))?,
    ))
    .with_context(|| format!("reading private key from {}", key_path.display()))?
    .with_context(|| format!("no private key in {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("building the TLS server configuration")?;
    tls.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls))))
}

/// Prepares the data dir and the superuser. Blocking; call before serving.
pub fn prepare(config: &ServerConfig) -> anyhow::Result<(Arc<LocalBackend>, StartupReport)> {
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let users = Arc::new(Users::open(&config.data_dir).map_err(anyhow::Error::msg)?);
    let catalogs = Arc::new(
        Catalogs::new(EngineConfig {
            data_dir: config.data_dir.clone(),
            duckdb_threads: config.duckdb_threads,
            duckdb_memory_limit: config.duckdb_memory_limit.clone(),
        })
        .map_err(anyhow::Error::msg)?,
    );
    let backend = Arc::new(LocalBackend {
        catalogs,
        users,
        server_secret: server_secret(&config.data_dir)?,
    });
    let mut report = StartupReport {
        generated_password: None,
    };
    if backend.users.get(SUPERUSER).is_none() {
        let password = match std::env::var("DUCKRAFT_PASSWORD") {
            Ok(password) if !password.is_empty() => password,
            _ => {
                let password = generate_password();
                write_private(
                    &config.data_dir.join("initial-password"),
                    format!("{password}\n").as_bytes(),
                )?;
                report.generated_password = Some(password.clone());
                password
            }
        };
        backend
            .set_password(SUPERUSER, &password, true)
            .map_err(anyhow::Error::msg)?;
    }
    Ok((backend, report))
}

/// Starts a single node: a one-voter cluster on the same code path as a
/// cluster member (writes go through its Raft log), without peers, without
/// mTLS and with the status endpoint only if `http_listen` is given.
pub async fn start(
    config: ServerConfig,
    backend: Arc<LocalBackend>,
    http_listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<ClusterMember> {
    let options = ClusterOptions {
        node_id: SINGLE_NODE.to_string(),
        peers: std::collections::BTreeMap::from([(SINGLE_NODE.to_string(), String::new())]),
        peering: None,
        initial_members: None,
        join: false,
        http_listen,
        tick: DEFAULT_TICK,
        compaction: replication::Compaction::default(),
        capability: CAPABILITY_LEVEL,
    };
    start_cluster(config, options, backend).await
}

/// Serves the local engine directly, without Raft: the single-DuckDB
/// reference that tests hold the replicated contract to. The binary never
/// serves this; a single node is [`start`].
pub async fn start_reference(
    config: ServerConfig,
    backend: Arc<LocalBackend>,
) -> anyhow::Result<Server> {
    let catalogs = backend.catalogs.clone();
    start_with(config, backend, catalogs, Box::new(|| {})).await
}

/// The member name of a single node.
pub const SINGLE_NODE: &str = "local";

/// Where a cluster member listens and who its peers are.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub node_id: String,
    /// Every member, this node included: name -> "host:port" of its peer listener.
    pub peers: std::collections::BTreeMap<String, String>,
    /// The peer transport; `None` only for a one-voter cluster.
    pub peering: Option<Peering>,
    /// The members that bootstrap the cluster (default: every name in
    /// `peers`). A node outside this list joins the running cluster once
    /// an operator adds it (`ALTER CLUSTER ADD MEMBER`). Read only at a
    /// node's first start: see [`membership::Identity`].
    pub initial_members: Option<Vec<String>>,
    /// Join a running cluster at the first start even if listed in
    /// `initial_members`: how a member that lost its data directory comes
    /// back (an operator removed it and adds it again).
    pub join: bool,
    /// The HTTP status endpoint; required with peers.
    pub http_listen: Option<std::net::SocketAddr>,
    pub tick: Duration,
    pub compaction: replication::Compaction,
    /// See [`replication::ReplicationConfig::capability`].
    pub capability: u32,
}

/// The mutually authenticated peer transport's listener and certificates.
#[derive(Clone, Debug)]
pub struct Peering {
    pub peer_listen: std::net::SocketAddr,
    pub tls_dir: std::path::PathBuf,
}

/// A running cluster member: the PostgreSQL server plus the replication
/// handle and the addresses of its other listeners.
pub struct ClusterMember {
    pub server: Server,
    pub replication: replication::Replication,
    pub http_address: Option<std::net::SocketAddr>,
    pub peer_address: Option<std::net::SocketAddr>,
    _peer_runtime: Option<PeerRuntime>,
}

/// Starts the peer transport, recovers the replication core, serves the
/// status endpoints, and serves PostgreSQL with writes going through Raft.
pub async fn start_cluster(
    config: ServerConfig,
    options: ClusterOptions,
    local: Arc<LocalBackend>,
) -> anyhow::Result<ClusterMember> {
    use duckraft_transport::{TlsMaterial, Transport, TransportConfig};
    let initial = options.initial_members.clone().unwrap_or_else(|| {
        let mut names: Vec<String> = options.peers.keys().cloned().collect();
        names.push(options.node_id.clone());
        names
    });
    let recorded = membership::Identity::load(&config.data_dir, &options.node_id)?;
    // Peer traffic and the status endpoint get their own runtime on a
    // high-priority thread, so client load cannot starve heartbeats or probes.
    let peer_runtime = match &options.peering {
        Some(_) => Some(PeerRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("duckraft-peer")
                .on_thread_start(|| priority::raise_current_thread("peer transport"))
                .enable_all()
                .build()
                .context("starting the peer runtime")?,
        ))),
        None => None,
    };
    let mut transport = match &options.peering {
        Some(peering) => {
            let tls = TlsMaterial::load(&peering.tls_dir, &options.node_id).with_context(|| {
                format!("loading TLS material from {}", peering.tls_dir.display())
            })?;
            let (inbound_tx, inbound) = tokio::sync::mpsc::channel(4096);
            let config = TransportConfig::new(
                options.node_id.clone(),
                peering.peer_listen,
                options.peers.clone(),
                tls,
            );
            let transport = run_on(&peer_runtime, Transport::start(config, inbound_tx))
                .await?
                .context("starting the peer transport")?;
            Some((transport, inbound))
        }
        None if options.peers.keys().all(|p| *p == options.node_id) => None,
        None => anyhow::bail!("a cluster with peers needs the mTLS peer transport"),
    };
    let identity = match recorded {
        Some(identity) => identity,
        None => {
            let identity = if initial.contains(&options.node_id) && !options.join {
                membership::Identity::bootstrap(&options.node_id, &initial)?
            } else {
                let Some((_, inbound)) = transport.as_mut() else {
                    anyhow::bail!("a node outside the initial members joins through the peer transport, which is not configured");
                };
                membership::Identity {
                    name: options.node_id.clone(),
                    raft_id: await_raft_id(&options.node_id, inbound).await?,
                    bootstrap: None,
                }
            };
            identity.store(&config.data_dir)?;
            identity
        }
    };
    let replication_config = replication::ReplicationConfig {
        membership: membership::Membership::new(&identity, &options.peers),
        data_dir: config.data_dir.clone(),
        tick: options.tick,
        election_tick: 10,
        heartbeat_tick: 2,
        compaction: options.compaction,
        capability: options.capability,
    };
    let send: replication::PeerSender = match &transport {
        Some((transport, _)) => {
            let sender = transport.clone();
            Box::new(move |to: &str, bytes: Vec<u8>| sender.send(to, bytes.into()))
        }
        // A one-voter group never sends.
        None => Box::new(|_: &str, _: Vec<u8>| {}),
    };
    let directory: replication::PeerDirectory = match (&transport, &peer_runtime) {
        (Some((transport, _)), Some(PeerRuntime(Some(runtime)))) => {
            let transport = transport.clone();
            let runtime = runtime.handle().clone();
            Box::new(move |peers| {
                // Sender tasks start on the peer runtime.
                let _entered = runtime.enter();
                if let Err(e) = transport.set_peers(peers) {
                    tracing::error!(error = %e, "cannot reach the new member list's peers");
                }
            })
        }
        _ => Box::new(|_| {}),
    };
    let catalogs = local.catalogs.clone();
    let replication = tokio::task::spawn_blocking(move || {
        replication::Replication::start(replication_config, catalogs, send, directory)
    })
    .await??;
    let transport = match transport {
        Some((transport, mut inbound)) => {
            let deliver = replication.clone();
            run_on(&peer_runtime, async move {
                tokio::spawn(async move {
                    while let Some((from, bytes)) = inbound.recv().await {
                        deliver.deliver(from, bytes.to_vec());
                    }
                });
            })
            .await?;
            Some(transport)
        }
        None => None,
    };
    let http_address = match options.http_listen {
        Some(listen) => Some(
            run_on(
                &peer_runtime,
                status::serve(listen, replication.clone(), transport.clone()),
            )
            .await??,
        ),
        None => None,
    };
    let backend = Arc::new(cluster::ClusterBackend {
        local: local.clone(),
        replication: replication.clone(),
    });
    let stopping = replication.clone();
    let server = start_with(
        config,
        backend,
        local.catalogs.clone(),
        Box::new(move || stopping.stop()),
    )
    .await?;
    Ok(ClusterMember {
        server,
        replication,
        http_address,
        peer_address: transport.map(|t| t.local_addr()),
        _peer_runtime: peer_runtime,
    })
}

/// A node joining a running cluster learns its Raft id, which cp-metadata
/// assigned when an operator added it, from the first peer message
/// addressed to it. Those messages are dropped: the leader repeats them.
async fn await_raft_id(
    node: &str,
    inbound: &mut tokio::sync::mpsc::Receiver<(String, bytes::Bytes)>,
) -> anyhow::Result<duckraft_raft::NodeId> {
    tracing::info!(node, "joining a running cluster: waiting for the leader; add this node with ALTER CLUSTER ADD MEMBER on any member");
    loop {
        match tokio::time::timeout(Duration::from_secs(30), inbound.recv()).await {
            Err(_) => tracing::info!(
                node,
                "still waiting to be added to the cluster (ALTER CLUSTER ADD MEMBER)"
            ),
            Ok(None) => anyhow::bail!("the peer transport stopped while joining"),
            Ok(Some((from, payload))) => {
                let to = duckraft_raft::codec::decode_batch(&payload)
                    .ok()
                    .and_then(|messages| messages.first().map(|(_, m)| m.to))
                    .filter(|to| *to != 0);
                if let Some(id) = to {
                    tracing::info!(node, raft_id = id, leader = %from, "joined: the cluster assigned this node its Raft id");
                    return Ok(id);
                }
            }
        }
    }
}

/// The runtime of peer traffic and status; shut down without blocking,
/// since its owner may be dropped inside another runtime.
struct PeerRuntime(Option<tokio::runtime::Runtime>);

impl Drop for PeerRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `future` on the peer runtime if there is one, else right here.
async fn run_on<F>(runtime: &Option<PeerRuntime>, future: F) -> anyhow::Result<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match runtime.as_ref().and_then(|r| r.0.as_ref()) {
        Some(runtime) => runtime
            .spawn(future)
            .await
            .context("a peer runtime task failed"),
        None => Ok(future.await),
    }
}

async fn start_with<B: duckraft_pgwire::Backend>(
    config: ServerConfig,
    backend: Arc<B>,
    catalogs: Arc<Catalogs>,
    stop_replication: Box<dyn FnOnce() + Send>,
) -> anyhow::Result<Server> {
    let tls = load_tls(&config)?;
    let listener = TcpListener::bind(config.pg_listen)
        .await
        .with_context(|| format!("binding the PostgreSQL listener on {}", config.pg_listen))?;
    let pg_address = listener.local_addr()?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let context = Arc::new(ConnectionContext {
        backend: backend.clone(),
        limits: ConnectionLimits {
            message_bytes_max: config.message_bytes_max,
            copy_bytes_max: config.copy_bytes_max,
            idle_session_timeout: config.idle_session_timeout,
            statement_timeout: config.statement_timeout,
            cleartext_password_over_tls: config.cleartext_password_over_tls,
            ..ConnectionLimits::default()
        },
        cancel_registry: Arc::new(CancelRegistry::default()),
        tls,
        shutdown: shutdown_rx.clone(),
        server_version: SERVER_VERSION.into(),
    });
    info!(address = %pg_address, tls = context.tls.is_some(), "PostgreSQL protocol listening");
    drop(backend);
    let task = tokio::spawn(accept_loop(
        listener,
        context,
        config,
        catalogs,
        stop_replication,
        shutdown_rx,
    ));
    Ok(Server {
        pg_address,
        shutdown,
        task,
    })
}

async fn accept_loop<B: duckraft_pgwire::Backend>(
    listener: TcpListener,
    context: Arc<ConnectionContext<B>>,
    config: ServerConfig,
    catalogs: Arc<Catalogs>,
    stop_replication: Box<dyn FnOnce() + Send>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let context = context.clone();
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        connections.spawn(async move {
                            serve_connection(context, stream).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        warn!(%peer, limit = config.max_connections, "refusing connection: too many clients");
                        connections.spawn(refuse_too_many(stream));
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    info!(
        sessions = connections.len(),
        "shutting down: no longer accepting connections"
    );
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            remaining = connections.len(),
            "grace period over; aborting remaining sessions"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    // The apply thread closes its connections before the checkpoint.
    tokio::task::spawn_blocking(move || {
        stop_replication();
        catalogs.checkpoint_all()
    })
    .await?
    .map_err(|e| {
        error!(error = %e, "checkpoint at shutdown failed");
        anyhow::Error::msg(e)
    })?;
    info!("shutdown complete");
    Ok(())
}

async fn serve_connection<B: duckraft_pgwire::Backend>(
    context: Arc<ConnectionContext<B>>,
    stream: TcpStream,
) {
    // A direct-TLS client starts with a TLS handshake record (0x16); a
    // PostgreSQL startup or SSLRequest starts with a length.
    let mut first = [0u8; 1];
    let direct_tls = matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 0x16);
    if !direct_tls {
        duckraft_pgwire::serve_plain(context, stream).await;
        return;
    }
    let Some(acceptor) = context.tls.clone() else {
        return;
    };
    match acceptor.accept(stream).await {
        Ok(tls) => {
            // Direct TLS requires ALPN "postgresql" so it cannot be confused with other protocols.
            if tls.get_ref().1.alpn_protocol() != Some(b"postgresql") {
                warn!("direct TLS connection without ALPN \"postgresql\" refused");
                return;
            }
            duckraft_pgwire::serve_tls(context, tls).await;
        }
        Err(error) => warn!(%error, "TLS handshake failed"),
    }
}

async fn refuse_too_many(mut stream: TcpStream) {
    use tokio::io::AsyncWriteExt;
    // Answer the startup with FATAL 53300, as PostgreSQL does.
    let error = duckraft_pgwire::PgError::fatal("53300", "sorry, too many clients already");
    let mut writer = duckraft_pgwire::codec::Writer::default();
    {
        let mut m = writer.message(b'E');
        m.u8(b'S')
            .cstr("FATAL")
            .u8(b'V')
            .cstr("FATAL")
            .u8(b'C')
            .cstr(error.code)
            .u8(b'M')
            .cstr(&error.message)
            .u8(0);
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        // Read (and ignore) the startup packet first so clients see the error, not a reset.
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            duckraft_pgwire::codec::read_startup(&mut stream),
        )
        .await;
        let _ = stream.write_all(&writer.take()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
