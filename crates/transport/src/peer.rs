//! Outbound side: one task per peer keeps an HTTP/2 connection and posts queued messages on it.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use hyper::client::conn::http2::{Connection, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinError, JoinSet};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::server::{KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, MAX_STREAMS, MESSAGES_PATH};
use crate::{tls, PeerStats};

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// See [`Link::established`]; a refusal arrives one round trip after the handshake.
const ESTABLISH_WINDOW: Duration = Duration::from_millis(200);
const NO_RTT: u64 = u64::MAX;

pub(crate) struct Target {
    pub id: String,
    pub addr: String,
    pub server_name: ServerName<'static>,
    pub tls: Arc<rustls::ClientConfig>,
}

/// What the transport keeps about one running sender task.
pub(crate) struct Handle {
    pub addr: String,
    pub queue: mpsc::Sender<Bytes>,
    pub counters: Arc<Counters>,
    pub task: AbortHandle,
}

pub(crate) struct Counters {
    connected: AtomicBool,
    sent: AtomicU64,
    pub dropped: AtomicU64,
    rtt_micros: AtomicU64,
    reconnects: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> PeerStats {
        let rtt = self.rtt_micros.load(Ordering::Relaxed);
        PeerStats {
            connected: self.connected.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            rtt_micros: (rtt != NO_RTT).then_some(rtt),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }
}

/// Spawns the sender task for `target` into `tasks`, which the transport awaits on shutdown.
pub(crate) fn spawn(target: Target, queue_depth: usize, tasks: &mut JoinSet<()>) -> Handle {
    let (queue, rx) = mpsc::channel(queue_depth);
    let counters = Arc::new(Counters {
        connected: AtomicBool::new(false),
        sent: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        rtt_micros: AtomicU64::new(NO_RTT),
        reconnects: AtomicU64::new(0),
    });
    let addr = target.addr.clone();
    let task = tasks.spawn(run(target, rx, counters.clone()));
    Handle {
        addr,
        queue,
        counters,
        task,
    }
}

type Conn = Connection<TokioIo<TlsStream<TcpStream>>, Full<Bytes>, TokioExecutor>;

async fn run(target: Target, mut rx: mpsc::Receiver<Bytes>, counters: Arc<Counters>) {
    let uri = format!("https://{}{MESSAGES_PATH}", target.id)
        .parse()
        .expect("node ids are validated DNS names");
    let mut link = Link {
        target,
        uri,
        counters,
        backoff: BACKOFF_MIN,
        established_before: false,
        last_error: None,
    };
    // Runs until its queue closes and is drained (the peer was removed, see `set_peers`), or
    // until aborted: after the removal's grace period, by `shutdown`, or when the last
    // `Transport` clone is dropped with the `JoinSet` that holds this task.
    loop {
        match connect(&link.target).await {
            Ok((sender, conn)) => match link.pump(sender, conn, &mut rx).await {
                // Removed from the peers and drained, or every Transport handle is gone.
                Ended::QueueClosed => return,
                Ended::Lost(reason) => {
                    tracing::info!(peer = %link.target.id, addr = %link.target.addr, reason, "connection to peer lost");
                }
                Ended::Refused(reason) => link.failed(format!(
                    "connection closed right after the TLS handshake (our certificate refused?): {reason}"
                )),
            },
            Err(error) => link.failed(error),
        }
        tokio::time::sleep(jittered(link.backoff)).await;
        link.backoff = (link.backoff * 2).min(BACKOFF_MAX);
    }
}

/// The sender task's state across connections.
struct Link {
    target: Target,
    uri: http::Uri,
    counters: Arc<Counters>,
    backoff: Duration,
    established_before: bool,
    /// Repeated identical failures are logged once, so a peer that is down for an hour does
    /// not produce a line every two seconds.
    last_error: Option<String>,
}

enum Ended {
    QueueClosed,
    /// The connection had been established.
    Lost(String),
    /// The connection ended before it was established.
    Refused(String),
}

impl Link {
    fn failed(&mut self, error: String) {
        let (peer, addr) = (&self.target.id, &self.target.addr);
        if self.last_error.as_ref() != Some(&error) {
            tracing::warn!(%peer, %addr, %error, "cannot connect to peer, retrying with backoff");
        } else {
            tracing::debug!(%peer, %addr, %error, "cannot connect to peer");
        }
        self.last_error = Some(error);
    }

    /// With TLS 1.3 the client finishes its handshake before the server has checked the client
    /// certificate, so a connection counts as established only once the peer acknowledged a
    /// message or it survived [`ESTABLISH_WINDOW`]. Otherwise a refused client would look
    /// connected, reset its backoff and retry in a tight loop.
    fn established(&mut self) {
        if self.established_before {
            self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        self.established_before = true;
        self.last_error = None;
        self.backoff = BACKOFF_MIN;
        self.counters.connected.store(true, Ordering::Relaxed);
        tracing::info!(peer = %self.target.id, addr = %self.target.addr, "connected to peer");
    }

    /// Sends queued messages until the connection or the queue ends.
    async fn pump(
        &mut self,
        mut sender: SendRequest<Full<Bytes>>,
        mut conn: Conn,
        rx: &mut mpsc::Receiver<Bytes>,
    ) -> Ended {
        let mut established = false;
        let window = tokio::time::sleep(ESTABLISH_WINDOW);
        tokio::pin!(window);
        let mut in_flight: JoinSet<Result<Duration, Failure>> = JoinSet::new();
        let mut queue_closed = false;
        let ended = loop {
            tokio::select! {
                result = &mut conn => {
                    let reason = match result {
                        Ok(()) => "closed by peer".to_owned(),
                        Err(e) => with_sources(&e),
                    };
                    break if established { Ended::Lost(reason) } else { Ended::Refused(reason) };
                }
                () = &mut window, if !established => {
                    established = true;
                    self.established();
                }
                Some(done) = in_flight.join_next() => {
                    if self.account(done) && !established {
                        established = true;
                        self.established();
                    }
                    if queue_closed && in_flight.is_empty() {
                        break Ended::QueueClosed;
                    }
                }
                message = rx.recv(), if !queue_closed && in_flight.len() < MAX_STREAMS as usize => {
                    let Some(payload) = message else {
                        // Deliver what is in flight first (see `Transport::set_peers`).
                        queue_closed = true;
                        if in_flight.is_empty() {
                            break Ended::QueueClosed;
                        }
                        continue;
                    };
                    let request = Request::builder()
                        .method(Method::POST)
                        .uri(self.uri.clone())
                        .body(Full::new(payload))
                        .expect("static request parts are valid");
                    let start = Instant::now();
                    let response = sender.send_request(request);
                    in_flight.spawn(async move {
                        match response.await {
                            Ok(response) if response.status() == StatusCode::NO_CONTENT => Ok(start.elapsed()),
                            Ok(response) => Err(Failure::Refused(response.status())),
                            Err(e) => Err(Failure::Lost(with_sources(&e))),
                        }
                    });
                }
            }
        };
        self.counters.connected.store(false, Ordering::Relaxed);
        // Requests still in flight fail promptly once the connection is gone; count them.
        drop(conn);
        while let Some(done) = in_flight.join_next().await {
            self.account(done);
        }
        ended
    }

    /// Updates the counters for one finished request; true if the peer acknowledged it.
    fn account(&self, done: Result<Result<Duration, Failure>, JoinError>) -> bool {
        let peer = &self.target.id;
        match done {
            Ok(Ok(rtt)) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                let micros = u64::try_from(rtt.as_micros()).unwrap_or(NO_RTT - 1);
                self.counters.rtt_micros.store(micros, Ordering::Relaxed);
                return true;
            }
            // A refusal means the nodes disagree (e.g. on max_message_bytes) and will recur.
            Ok(Err(Failure::Refused(status))) => {
                tracing::warn!(%peer, %status, "peer refused a message; dropped");
            }
            Ok(Err(Failure::Lost(error))) => {
                tracing::debug!(%peer, %error, "message lost with its connection");
            }
            Err(_) => {}
        }
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }
}

enum Failure {
    Refused(StatusCode),
    Lost(String),
}

/// Somewhere in [backoff/2, backoff], so that nodes restarted together do not retry in lockstep.
/// Runtime code, so an unseeded non-cryptographic source is fine.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff / 2;
    let random = RandomState::new().hash_one(Instant::now());
    half + Duration::from_micros(random % (half.as_micros() as u64 + 1))
}

async fn connect(target: &Target) -> Result<(SendRequest<Full<Bytes>>, Conn), String> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&target.addr))
        .await
        .map_err(|_| "TCP connect timed out".to_owned())?
        .map_err(|e| format!("TCP connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let connector = TlsConnector::from(target.tls.clone());
    let tls = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        connector.connect(target.server_name.clone(), tcp),
    )
    .await
    .map_err(|_| "TLS handshake timed out".to_owned())?
    .map_err(|e| format!("TLS handshake: {e}"))?;

    // rustls already checked the DNS SAN against the node id; the URI SAN, which takes
    // precedence as the identity, must agree too.
    let presented = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(tls::identity);
    if presented.as_deref() != Some(target.id.as_str()) {
        return Err(format!(
            "peer presented certificate identity {}, expected {}",
            presented.as_deref().unwrap_or("<none>"),
            target.id
        ));
    }

    hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .adaptive_window(true)
        .handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP/2 handshake: {}", with_sources(&e)))
}

/// hyper's errors say "connection error" and keep the cause (e.g. a TLS alert) as a source.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
