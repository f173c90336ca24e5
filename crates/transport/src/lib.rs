//! HTTP/2 + mutual TLS peer transport between duckraft nodes.
//!
//! Every node listens for `POST /raft/v1/messages` and keeps one outbound HTTP/2 connection per
//! peer. Both directions authenticate with certificates issued by the cluster CA (see [`certs`]);
//! a sender is identified by its verified certificate, never by anything it says in a request.
//! Payloads are opaque bytes. Delivery is best effort: Raft retransmits, so a full queue, an
//! oversized payload or a lost connection drops messages and counts them instead of blocking.

pub mod certs;
mod peer;
mod server;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use tls::TlsMaterial;

/// Default for [`TransportConfig::max_message_bytes`].
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Default for [`TransportConfig::queue_depth`].
pub const DEFAULT_QUEUE_DEPTH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid transport configuration: {0}")]
    Config(String),
}

pub struct TransportConfig {
    pub node_id: String,
    pub listen: SocketAddr,
    /// Node id -> "host:port". May include this node, which is skipped.
    pub peers: BTreeMap<String, String>,
    pub tls: TlsMaterial,
    /// Larger inbound bodies are refused with 413; larger outbound payloads are dropped.
    pub max_message_bytes: usize,
    /// Per-peer outbound queue; when full, new messages are dropped and counted.
    pub queue_depth: usize,
}

impl TransportConfig {
    /// A configuration with the default message size limit and queue depth.
    pub fn new(
        node_id: impl Into<String>,
        listen: SocketAddr,
        peers: BTreeMap<String, String>,
        tls: TlsMaterial,
    ) -> Self {
        TransportConfig {
            node_id: node_id.into(),
            listen,
            peers,
            tls,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            queue_depth: DEFAULT_QUEUE_DEPTH,
        }
    }
}

/// Outbound counters for one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// An HTTP/2 connection to the peer is currently established.
    pub connected: bool,
    /// Messages the peer acknowledged.
    pub sent: u64,
    /// Messages dropped: queue full, too large, refused by the peer, or lost with a connection.
    pub dropped: u64,
    /// Round trip of the most recent acknowledged message.
    pub rtt_micros: Option<u64>,
    /// Connections established after the first one.
    pub reconnects: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportStats {
    pub peers: BTreeMap<String, PeerStats>,
}

/// A running transport. Clones share the same listener and connections.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    local_addr: SocketAddr,
    max_message_bytes: usize,
    peers: BTreeMap<String, peer::Handle>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Tasks>,
}

#[derive(Default)]
struct Tasks {
    server: Option<JoinHandle<()>>,
    senders: Vec<JoinHandle<()>>,
}

impl Transport {
    /// Binds the listener and spawns one sender task per peer. Inbound payloads are delivered
    /// to `inbound` as (sender node id, payload).
    pub async fn start(
        cfg: TransportConfig,
        inbound: mpsc::Sender<(String, Bytes)>,
    ) -> Result<Transport, TransportError> {
        if cfg.queue_depth == 0 || cfg.max_message_bytes == 0 {
            return Err(TransportError::Config(
                "queue_depth and max_message_bytes must be positive".into(),
            ));
        }
        if cfg.tls.node_id() != cfg.node_id {
            return Err(TransportError::Config(format!(
                "node_id is {} but the TLS material is for {}",
                cfg.node_id,
                cfg.tls.node_id()
            )));
        }
        let peers: BTreeMap<String, String> = cfg
            .peers
            .into_iter()
            .filter(|(id, _)| *id != cfg.node_id)
            .collect();

        let server_tls = cfg.tls.server_config()?;
        let client_tls = cfg.tls.client_config()?;
        // Everything that can fail happens before any task is spawned.
        let targets = peers
            .iter()
            .map(|(id, addr)| {
                Ok(peer::Target {
                    id: id.clone(),
                    addr: addr.clone(),
                    server_name: tls::server_name(id)?,
                    tls: client_tls.clone(),
                })
            })
            .collect::<Result<Vec<_>, TransportError>>()?;
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| TransportError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| TransportError::Bind {
                addr: cfg.listen,
                source,
            })?;

        let mut handles = BTreeMap::new();
        let mut senders = Vec::with_capacity(targets.len());
        for target in targets {
            let id = target.id.clone();
            let (handle, task) = peer::spawn(target, cfg.queue_depth);
            handles.insert(id, handle);
            senders.push(task);
        }

        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(server::run(server::Server {
            listener,
            tls: server_tls,
            node_id: cfg.node_id,
            peers: peers.into_keys().collect(),
            inbound,
            max_message_bytes: cfg.max_message_bytes,
            stop: stop_rx,
        }));
        tracing::info!(addr = %local_addr, "peer transport listening");

        Ok(Transport {
            inner: Arc::new(Inner {
                local_addr,
                max_message_bytes: cfg.max_message_bytes,
                peers: handles,
                stop,
                tasks: Mutex::new(Tasks {
                    server: Some(server),
                    senders,
                }),
            }),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Enqueues one payload for `to` without waiting. Dropped (and counted) when the peer's
    /// queue is full or the payload exceeds `max_message_bytes`.
    pub fn send(&self, to: &str, payload: Bytes) {
        let Some(peer) = self.inner.peers.get(to) else {
            tracing::warn!(peer = to, "dropping message for a node that is not a peer");
            return;
        };
        if payload.len() > self.inner.max_message_bytes {
            peer.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                peer = to,
                bytes = payload.len(),
                max = self.inner.max_message_bytes,
                "dropping outbound message larger than max_message_bytes"
            );
            return;
        }
        if peer.queue.try_send(payload).is_err() {
            peer.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(peer = to, "outbound queue full or closed, message dropped");
        }
    }

    pub fn stats(&self) -> TransportStats {
        TransportStats {
            peers: self
                .inner
                .peers
                .iter()
                .map(|(id, peer)| (id.clone(), peer.counters.snapshot()))
                .collect(),
        }
    }

    /// Stops listening, closes every connection and waits for the tasks to end. Other clones
    /// keep accepting `send` calls but drop every message.
    pub async fn shutdown(self) {
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        // The server task closes its connections itself so that the port and sockets are
        // released by the time this returns; sender tasks own nothing that needs a goodbye.
        let _ = self.inner.stop.send(true);
        for task in &tasks.senders {
            task.abort();
        }
        for task in tasks.senders.into_iter().chain(tasks.server) {
            let _ = task.await;
        }
    }
}
