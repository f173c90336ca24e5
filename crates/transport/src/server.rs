//! Inbound side: accept TLS connections from current peers and hand their messages over.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::tls;

pub(crate) const MESSAGES_PATH: &str = "/raft/v1/messages";
/// Bounds how long an unauthenticated connection can hold a task.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings notice a peer that vanished without closing its connections (host down,
/// partition) within a few seconds rather than at the TCP retransmission timeout.
pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);
pub(crate) const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(4);
/// Matches the sender's in-flight limit; more would only queue inside h2.
pub(crate) const MAX_STREAMS: u32 = 64;

pub(crate) struct Server {
    pub listener: TcpListener,
    pub tls: Arc<rustls::ServerConfig>,
    pub node_id: String,
    /// The node ids connections and payloads are accepted from; `Transport::set_peers` changes it.
    pub peers: watch::Receiver<BTreeSet<String>>,
    pub inbound: mpsc::Sender<(String, Bytes)>,
    pub max_message_bytes: usize,
    pub stop: watch::Receiver<bool>,
}

pub(crate) async fn run(mut server: Server) {
    let acceptor = TlsAcceptor::from(server.tls.clone());
    let shared = Arc::new(Shared {
        node_id: server.node_id,
        peers: server.peers,
        inbound: server.inbound,
        max_message_bytes: server.max_message_bytes,
    });
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // An error means every Transport handle is gone: stop as well.
            _ = async { let _ = server.stop.wait_for(|stop| *stop).await; } => break,
            accepted = server.listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    connections.spawn(serve(tcp, remote, acceptor.clone(), shared.clone()));
                }
                // Typically EMFILE; back off instead of spinning on the error.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting peer connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next() => {}
        }
    }
    drop(server.listener);
    connections.shutdown().await;
}

struct Shared {
    node_id: String,
    peers: watch::Receiver<BTreeSet<String>>,
    inbound: mpsc::Sender<(String, Bytes)>,
    max_message_bytes: usize,
}

async fn serve(tcp: TcpStream, remote: SocketAddr, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            // A rustls error means a bad or untrusted certificate; anything else is usually a
            // probe or a peer going away mid-handshake.
            if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
                tracing::warn!(remote = %remote, error = %e, "refusing peer connection: TLS handshake failed");
            } else {
                tracing::debug!(remote = %remote, error = %e, "peer TLS handshake aborted");
            }
            return;
        }
        Err(_) => {
            tracing::debug!(remote = %remote, "peer TLS handshake timed out");
            return;
        }
    };

    // The handshake verified the chain, so the identity it names can be trusted.
    let identity = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(tls::identity);
    let from: Arc<str> = match identity {
        Some(id) if id != shared.node_id && shared.peers.borrow().contains(&id) => id.into(),
        other => {
            tracing::warn!(
                remote = %remote,
                identity = other.as_deref().unwrap_or("<none>"),
                "refusing peer connection: certificate identity is not a configured peer"
            );
            return;
        }
    };

    let service = service_fn(move |req| handle(req, from.clone(), shared.clone()));
    let result = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .adaptive_window(true)
        .max_concurrent_streams(MAX_STREAMS)
        .serve_connection(TokioIo::new(tls), service)
        .await;
    if let Err(e) = result {
        tracing::debug!(remote = %remote, error = %e, "peer connection ended");
    }
}

async fn handle(
    req: Request<Incoming>,
    from: Arc<str>,
    shared: Arc<Shared>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    Ok(status(receive(req, &from, &shared).await))
}

async fn receive(req: Request<Incoming>, from: &str, shared: &Shared) -> StatusCode {
    if req.uri().path() != MESSAGES_PATH {
        return StatusCode::NOT_FOUND;
    }
    if req.method() != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > shared.max_message_bytes as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let payload = match Limited::new(req.into_body(), shared.max_message_bytes)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return StatusCode::PAYLOAD_TOO_LARGE,
        Err(e) => {
            tracing::debug!(peer = from, error = %e, "reading message body failed");
            return StatusCode::BAD_REQUEST;
        }
    };
    // A stream cut off with the connection can end early without an error.
    if declared.is_some_and(|len| len != payload.len() as u64) {
        tracing::debug!(
            peer = from,
            "message body shorter than its content-length; dropped"
        );
        return StatusCode::BAD_REQUEST;
    }
    // Waiting here (rather than refusing) pushes back on the sender through HTTP/2 flow control
    // and its in-flight limit when the consumer is slow.
    let Ok(permit) = shared.inbound.reserve().await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    // Checked after the wait, when the payload is handed over: the connection outlives the
    // sender's removal from the peer set, and so may a payload waiting for room.
    if !shared.peers.borrow().contains(from) {
        tracing::debug!(
            peer = from,
            "message from a node that is no longer a peer; dropped"
        );
        return StatusCode::FORBIDDEN;
    }
    permit.send((from.to_owned(), payload));
    StatusCode::NO_CONTENT
}

fn status(code: StatusCode) -> Response<Empty<Bytes>> {
    let mut response = Response::new(Empty::new());
    *response.status_mut() = code;
    response
}
