//! HTTP/2 + mutual TLS peer transport between duckraft nodes.
//!
//! Every node listens for `POST /raft/v1/messages` and keeps one outbound HTTP/2 connection per
//! peer. Both directions authenticate with certificates issued by the cluster CA (see [`certs`]);
//! a sender is identified by its verified certificate, never by anything it says in a request.
//! Payloads are opaque bytes. Delivery is best effort: Raft retransmits, so a full queue, an
//! oversized payload or a lost connection drops messages and counts them instead of blocking.
//! The peer set can change while the transport runs ([`Transport::set_peers`]), for Raft
//! membership changes.

pub mod certs;
mod peer;
mod server;
mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

pub use tls::TlsMaterial;

/// Default for [`TransportConfig::max_message_bytes`].
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Default for [`TransportConfig::queue_depth`].
pub const DEFAULT_QUEUE_DEPTH: usize = 1024;
/// How long the sender of a removed peer may take to deliver what was queued for it.
const REMOVED_PEER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

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
    /// Node id -> "host:port". May include this node, which is skipped. The initial value of
    /// [`Transport::set_peers`].
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

/// A running transport. Clones share the same listener, connections and peer set.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    node_id: String,
    local_addr: SocketAddr,
    max_message_bytes: usize,
    queue_depth: usize,
    client_tls: Arc<rustls::ClientConfig>,
    /// The node ids the server accepts connections and payloads from.
    /// Invariant: equal to the keys of `State::peers` whenever the state lock is free.
    accepted: watch::Sender<BTreeSet<String>>,
    /// Becomes true once, in `shutdown`, with the state lock held.
    stop: watch::Sender<bool>,
    state: Mutex<State>,
}

struct State {
    /// Invariant: never contains this node; until shutdown, each entry's task is running.
    peers: BTreeMap<String, peer::Handle>,
    /// Sender tasks, including aborted ones not yet reaped.
    tasks: JoinSet<()>,
    server: Option<JoinHandle<()>>,
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
        let server_tls = cfg.tls.server_config()?;
        let client_tls = cfg.tls.client_config()?;
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

        let transport = Transport {
            inner: Arc::new(Inner {
                node_id: cfg.node_id.clone(),
                local_addr,
                max_message_bytes: cfg.max_message_bytes,
                queue_depth: cfg.queue_depth,
                client_tls,
                accepted: watch::Sender::new(BTreeSet::new()),
                stop: watch::Sender::new(false),
                state: Mutex::new(State {
                    peers: BTreeMap::new(),
                    tasks: JoinSet::new(),
                    server: None,
                }),
            }),
        };
        // Validates every peer before spawning a sender, so an error leaves nothing running.
        transport.set_peers(cfg.peers)?;
        let server = tokio::spawn(server::run(server::Server {
            listener,
            tls: server_tls,
            node_id: cfg.node_id,
            peers: transport.inner.accepted.subscribe(),
            inbound,
            max_message_bytes: cfg.max_message_bytes,
            stop: transport.inner.stop.subscribe(),
        }));
        transport.state().server = Some(server);
        tracing::info!(addr = %local_addr, "peer transport listening");
        Ok(transport)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Replaces the peer set (node id -> "host:port"; this node's own entry is skipped), as a
    /// Raft membership change requires:
    ///
    /// 1. Every new id is checked to be a valid TLS server name; on an error nothing changes.
    /// 2. Senders of peers no longer listed, or listed at another address, are stopped and
    ///    forgotten along with their queued messages and counters.
    /// 3. New peers, and moved ones, get a new sender task; unchanged peers keep theirs.
    /// 4. The server accepts connections and payloads from exactly the new set.
    ///
    /// A removed peer's inbound connections are not closed: each payload is checked against
    /// the current set when it is handed to the inbound channel, so the removed peer's
    /// payloads are refused with 403 Forbidden from then on and it counts them as dropped.
    /// New connections from it are refused after the TLS handshake. After `shutdown` this
    /// changes nothing.
    pub fn set_peers(&self, peers: BTreeMap<String, String>) -> Result<(), TransportError> {
        let inner = &*self.inner;
        let mut state = self.state();
        if *inner.stop.borrow() {
            return Ok(());
        }
        let peers: BTreeMap<String, String> = peers
            .into_iter()
            .filter(|(id, _)| *id != inner.node_id)
            .collect();
        let targets = peers
            .iter()
            .filter(|(id, addr)| state.peers.get(*id).is_none_or(|old| old.addr != **addr))
            .map(|(id, addr)| {
                Ok(peer::Target {
                    id: id.clone(),
                    addr: addr.clone(),
                    server_name: tls::server_name(id)?,
                    tls: inner.client_tls.clone(),
                })
            })
            .collect::<Result<Vec<_>, TransportError>>()?;

        let State {
            peers: current,
            tasks,
            ..
        } = &mut *state;
        current.retain(|id, old| {
            let keep = peers.get(id) == Some(&old.addr);
            if !keep {
                // Dropping the handle closes the queue: the sender delivers what is already
                // queued, then ends. That may be a leader's last message to a member it just
                // removed, carrying the commit index from which the member learns of its
                // removal; nobody sends it anything afterwards. An unreachable peer is given
                // up after the grace period.
                let task = old.task.clone();
                tasks.spawn(async move {
                    tokio::time::sleep(REMOVED_PEER_GRACE).await;
                    task.abort();
                });
                tracing::info!(peer = %id, addr = %old.addr, "peer removed");
            }
            keep
        });
        for target in targets {
            tracing::info!(peer = %target.id, addr = %target.addr, "peer added");
            let id = target.id.clone();
            current.insert(id, peer::spawn(target, inner.queue_depth, tasks));
        }
        // Reap aborted tasks that have ended, so the set stays about as small as the peer set.
        while tasks.try_join_next().is_some() {}
        inner.accepted.send_replace(peers.into_keys().collect());
        Ok(())
    }

    /// Enqueues one payload for `to` without waiting. Dropped (and counted) when the peer's
    /// queue is full or the payload exceeds `max_message_bytes`.
    pub fn send(&self, to: &str, payload: Bytes) {
        let state = self.state();
        let Some(peer) = state.peers.get(to) else {
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
                .state()
                .peers
                .iter()
                .map(|(id, peer)| (id.clone(), peer.counters.snapshot()))
                .collect(),
        }
    }

    /// Stops listening, closes every connection and waits for the tasks to end. Other clones
    /// keep accepting `send` calls but drop every message.
    pub async fn shutdown(self) {
        let (server, mut senders) = {
            let mut state = self.state();
            // Under the lock, so that no `set_peers` spawns a sender after the tasks are taken.
            self.inner.stop.send_replace(true);
            (state.server.take(), std::mem::take(&mut state.tasks))
        };
        // The server task closes its connections itself so that the port and sockets are
        // released by the time this returns; sender tasks own nothing that needs a goodbye.
        senders.shutdown().await;
        if let Some(server) = server {
            let _ = server.await;
        }
    }

    /// Held briefly, never across an await.
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
