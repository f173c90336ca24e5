//! Helpers for the transport integration tests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use duckraft_transport::{certs, TlsMaterial, Transport, TransportConfig};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::sync::mpsc;

/// Upper bound for anything that should happen "soon"; reconnect backoff tops out at 2 s.
pub const WAIT: Duration = Duration::from_secs(10);

pub type Inbox = mpsc::Receiver<(String, Bytes)>;

pub fn cluster(ids: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    certs::generate(dir.path(), &ids, &[]).unwrap();
    dir
}

/// Addresses on 127.0.0.1 that are free right now, so that every node can know every other
/// node's address before any of them starts.
pub fn free_addrs(n: usize) -> Vec<SocketAddr> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners.iter().map(|l| l.local_addr().unwrap()).collect()
}

pub fn peer_map(entries: &[(&str, SocketAddr)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(id, addr)| (id.to_string(), addr.to_string()))
        .collect()
}

pub async fn start(
    certs: &Path,
    id: &str,
    listen: SocketAddr,
    peers: BTreeMap<String, String>,
    max_message_bytes: Option<usize>,
) -> (Transport, Inbox) {
    let mut cfg = TransportConfig::new(id, listen, peers, TlsMaterial::load(certs, id).unwrap());
    if let Some(max) = max_message_bytes {
        cfg.max_message_bytes = max;
    }
    let (tx, rx) = mpsc::channel(64);
    (Transport::start(cfg, tx).await.unwrap(), rx)
}

pub async fn recv(inbox: &mut Inbox) -> (String, Bytes) {
    tokio::time::timeout(WAIT, inbox.recv())
        .await
        .expect("no message within the deadline")
        .expect("inbound channel closed")
}

/// Polls `cond` every 10 ms until it holds; panics with `what` after [`WAIT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One captured `tracing` event: level, message and the other fields as strings.
#[derive(Debug, Clone)]
pub struct Event {
    pub level: tracing::Level,
    pub fields: BTreeMap<String, String>,
}

impl Event {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A minimal subscriber that records WARN and ERROR events, so tests can check what operators
/// would see. Install it with `tracing::subscriber::set_default` on a current-thread runtime so
/// every task's events reach it.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<Event>>>);

impl Capture {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Event {
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// One request to node n1 at `server` over a fresh connection presenting `id`'s certificate from `certs`,
/// bypassing the transport's client. Returns the connection's local address (the server's
/// "remote") and the response status or why there was none.
pub async fn request_once(
    certs: &Path,
    id: &str,
    server: SocketAddr,
    method: http::Method,
    path: &str,
    body: Bytes,
) -> (SocketAddr, Result<http::StatusCode, String>) {
    let read = |name: String| std::fs::read(certs.join(name)).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for ca in rustls_pemfile::certs(&mut read("ca.pem".into()).as_slice()) {
        roots.add(ca.unwrap()).unwrap();
    }
    let chain = rustls_pemfile::certs(&mut read(format!("{id}.pem")).as_slice())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut read(format!("{id}-key.pem")).as_slice())
        .unwrap()
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];

    let tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let result = async {
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("n1").unwrap(), tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        tokio::spawn(conn);
        let request = http::Request::builder()
            .method(method)
            .uri(format!("https://n1{path}"))
            .body(Full::new(body))
            .unwrap();
        let response = tokio::time::timeout(WAIT, sender.send_request(request))
            .await
            .map_err(|_| "no response".to_owned())?
            .map_err(|e| format!("request: {e}"))?;
        Ok(response.status())
    }
    .await;
    (local, result)
}
