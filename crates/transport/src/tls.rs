//! Certificates on disk -> rustls configurations, and node identities from verified certificates.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::TransportError;

/// URI SAN prefix naming a node; see [`crate::certs`].
pub(crate) const NODE_URI_PREFIX: &str = "duckraft://node/";
const ALPN_H2: &[u8] = b"h2";

/// The cluster CA certificate(s) and this node's certificate chain and key.
pub struct TlsMaterial {
    node_id: String,
    ca: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl TlsMaterial {
    /// Reads `ca.pem` (one or more CA certificates), `<node_id>.pem` (leaf first) and
    /// `<node_id>-key.pem` from `dir`, and checks that the certificate names `node_id`.
    pub fn load(dir: &Path, node_id: &str) -> Result<Self, TransportError> {
        let ca = read_certs(&dir.join("ca.pem"))?;
        let cert_path = dir.join(format!("{node_id}.pem"));
        let chain = read_certs(&cert_path)?;
        let key_path = dir.join(format!("{node_id}-key.pem"));
        let key = rustls_pemfile::private_key(&mut read(&key_path)?.as_slice())
            .map_err(|e| pem_error(&key_path, e.to_string()))?
            .ok_or_else(|| pem_error(&key_path, "no private key found".into()))?;
        // Catch a mix-up of files at startup rather than as refusals on every peer.
        let presented = identity(&chain[0]);
        if presented.as_deref() != Some(node_id) {
            return Err(pem_error(
                &cert_path,
                format!(
                    "certificate identity is {}, expected {node_id}",
                    presented.as_deref().unwrap_or("<none>")
                ),
            ));
        }
        Ok(TlsMaterial {
            node_id: node_id.to_owned(),
            ca,
            chain,
            key,
        })
    }

    /// The node the certificate names.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, TransportError> {
        let mut roots = RootCertStore::empty();
        for cert in &self.ca {
            roots.add(cert.clone())?;
        }
        Ok(Arc::new(roots))
    }

    /// TLS 1.3 only, client certificate required and verified against the cluster CA.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, TransportError> {
        let verifier =
            WebPkiClientVerifier::builder_with_provider(self.roots()?, provider()).build()?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        // Without resumption every connection's peer identity comes from a chain verified
        // during that very handshake, against the CA bundle loaded now.
        config.session_storage = Arc::new(NoServerSessionStorage {});
        Ok(Arc::new(config))
    }

    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, TransportError> {
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }
}

/// Explicit provider: the process default may be unset or, with aws-lc-rs also linked, ambiguous.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The name a peer's server certificate must carry: its node id as a DNS name.
pub(crate) fn server_name(node_id: &str) -> Result<ServerName<'static>, TransportError> {
    match ServerName::try_from(node_id.to_owned()) {
        Ok(name @ ServerName::DnsName(_)) => Ok(name),
        _ => Err(TransportError::Config(format!(
            "node id {node_id:?} is not a valid DNS name"
        ))),
    }
}

/// The node id a certificate names: its `duckraft://node/<id>` URI SAN, else its first DNS SAN.
/// Only meaningful for a certificate rustls has already verified.
pub(crate) fn identity(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(cert).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    let names = &san.value.general_names;
    let uri = names.iter().find_map(|name| match name {
        GeneralName::URI(uri) => uri
            .strip_prefix(NODE_URI_PREFIX)
            .filter(|id| !id.is_empty()),
        _ => None,
    });
    let dns = || {
        names.iter().find_map(|name| match name {
            GeneralName::DNSName(dns) => Some(*dns),
            _ => None,
        })
    };
    uri.or_else(dns).map(str::to_owned)
}

fn read(path: &Path) -> Result<Vec<u8>, TransportError> {
    fs::read(path).map_err(|source| TransportError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = rustls_pemfile::certs(&mut read(path)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no certificate found".into()));
    }
    Ok(certs)
}

fn pem_error(path: &Path, reason: String) -> TransportError {
    TransportError::Pem {
        path: PathBuf::from(path),
        reason,
    }
}
