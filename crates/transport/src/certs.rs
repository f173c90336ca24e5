//! Cluster certificate generation: one CA and one certificate per node.
//!
//! A node certificate names its node by the URI SAN `duckraft://node/<id>` and by the DNS SAN
//! `<id>`, which is also the TLS server name peers verify. It carries both the serverAuth and
//! clientAuth EKUs because every node is a TLS server and a TLS client.
//!
//! [`generate`] creates a cluster: a new CA and the first nodes' certificates. [`issue`] adds
//! nodes to a running cluster: it signs with the CA already in the directory and never replaces
//! an existing file, since replacing a live node's key takes that node offline.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    SanType, SigningKey,
};
use rustls::pki_types::DnsName;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate, X509Name};

use crate::tls::NODE_URI_PREFIX;

/// No rotation tooling exists yet, so certificates are long-lived.
const VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Tolerates clocks that lag behind the machine that generated the certificates.
const BACKDATE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{0} already exists; refusing to replace the cluster CA")]
    CaExists(PathBuf),
    #[error("{0} not found; issuing needs the cluster CA's certificate and key")]
    CaMissing(PathBuf),
    #[error("{path}: {reason}")]
    CaInvalid { path: PathBuf, reason: String },
    #[error("{0} already exists; refusing to replace a node's certificate or key")]
    NodeFileExists(PathBuf),
    #[error("invalid name {0:?}: {1}")]
    InvalidName(String, &'static str),
    #[error("no node ids given")]
    NoNodes,
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating certificates: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// Writes `ca.pem`, `ca-key.pem`, and `<id>.pem` + `<id>-key.pem` per node into `out`
/// (creating it; key files get mode 0600). Refuses to replace an existing CA.
pub fn generate(out: &Path, nodes: &[String], extra_dns: &[String]) -> Result<(), CertError> {
    generate_with(out, nodes, extra_dns, false)
}

/// Like [`generate`]; with `replace_ca` an existing CA is replaced, which invalidates every
/// node certificate it signed.
pub fn generate_with(
    out: &Path,
    nodes: &[String],
    extra_dns: &[String],
    replace_ca: bool,
) -> Result<(), CertError> {
    check_names(nodes, extra_dns)?;
    let ca_cert_path = out.join("ca.pem");
    let ca_key_path = out.join("ca-key.pem");
    if !replace_ca {
        for path in [&ca_cert_path, &ca_key_path] {
            if path.exists() {
                return Err(CertError::CaExists(path.clone()));
            }
        }
    }
    fs::create_dir_all(out).map_err(|source| CertError::Io {
        path: out.to_owned(),
        source,
    })?;

    let validity = Validity::from_now();
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::default();
    // A name of its own per CA: verifiers pick issuers by name, so two clusters' CAs named
    // alike turn "unknown CA" into a confusing "bad signature".
    let tag: String = ca_key.public_key_raw()[1..7]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ca_params.distinguished_name = common_name(&format!("duckraft cluster CA {tag}"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    ca_params.not_before = epoch + validity.not_before;
    ca_params.not_after = epoch + validity.not_after;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    for id in nodes {
        NodeCertificate::sign(id, extra_dns, validity, &issuer)?.write(
            out,
            Existing::Replace,
            &mut Vec::new(),
        )?;
    }
    // The CA goes last: a run that fails halfway leaves no CA behind and can simply be retried.
    write(
        &ca_key_path,
        &ca_key.serialize_pem(),
        0o600,
        Existing::Replace,
    )?;
    write(&ca_cert_path, &ca_cert.pem(), 0o644, Existing::Replace)
}

/// Writes `<id>.pem` + `<id>-key.pem` per node into `out`, signed by the CA already there
/// (`ca.pem`, `ca-key.pem`), for nodes joining a running cluster. The certificates say what
/// [`generate`]'s do; their validity ends no later than the CA's.
///
/// 1. Checks the names, then that none of the nodes' files exists: nothing is written if one
///    does, because replacing a live node's key is an outage.
/// 2. Loads the CA and checks that it is valid now and that its key matches its certificate.
/// 3. Signs every certificate in memory and checks that each names the CA as its issuer
///    byte for byte, which is what verifiers compare.
/// 4. Writes the files, never replacing one; if a write fails, removes the files this call
///    wrote.
pub fn issue(out: &Path, nodes: &[String], extra_dns: &[String]) -> Result<(), CertError> {
    check_names(nodes, extra_dns)?;
    for (i, id) in nodes.iter().enumerate() {
        if nodes[..i].contains(id) {
            return Err(CertError::InvalidName(id.clone(), "listed twice"));
        }
    }
    for id in nodes {
        for path in node_paths(out, id) {
            if path.exists() {
                return Err(CertError::NodeFileExists(path));
            }
        }
    }

    let ca = ClusterCa::load(out)?;
    // A certificate outliving its CA would fail verification from then on anyway.
    let mut validity = Validity::from_now();
    validity.not_after = validity.not_after.min(ca.not_after);
    let signed = nodes
        .iter()
        .map(|id| ca.sign(id, extra_dns, validity))
        .collect::<Result<Vec<_>, _>>()?;

    let mut written = Vec::new();
    for node in &signed {
        if let Err(e) = node.write(out, Existing::Refuse, &mut written) {
            for path in &written {
                let _ = fs::remove_file(path);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The cluster CA as loaded from `ca.pem` and `ca-key.pem`, ready to sign.
struct ClusterCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate's subject, DER: every certificate it signs must name exactly this
    /// issuer, because verifiers find the issuer by comparing these bytes.
    subject_der: Vec<u8>,
    /// When the CA certificate expires, as an offset from the Unix epoch.
    not_after: Duration,
    cert_path: PathBuf,
}

impl ClusterCa {
    /// Loads the CA from `dir` and checks that it is a CA, valid now, and that the key is the
    /// certificate's.
    fn load(dir: &Path) -> Result<Self, CertError> {
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca-key.pem");
        let cert_pem = read_ca_file(&cert_path)?;
        let key_pem = read_ca_file(&key_path)?;
        let invalid = |path: &Path, reason: String| CertError::CaInvalid {
            path: path.to_owned(),
            reason,
        };
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
            .map_err(|e| invalid(&cert_path, format!("not a PEM certificate: {e}")))?;
        let cert = pem
            .parse_x509()
            .map_err(|e| invalid(&cert_path, format!("not an X.509 certificate: {e}")))?;
        if !cert.is_ca() {
            return Err(invalid(&cert_path, "not a CA certificate".into()));
        }
        let validity = cert.validity();
        if !validity.is_valid() {
            let (from, until) = (validity.not_before, validity.not_after);
            return Err(invalid(
                &cert_path,
                format!("not valid now (valid from {from} until {until})"),
            ));
        }
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| invalid(&key_path, format!("not a PKCS#8 private key: {e}")))?;
        if key.subject_public_key_info() != cert.public_key().raw {
            return Err(invalid(
                &key_path,
                format!("does not match the certificate in {}", cert_path.display()),
            ));
        }

        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(cert.subject())
            .map_err(|reason| invalid(&cert_path, format!("subject: {reason}")))?;
        if let Some(id) = subject_key_identifier(&cert) {
            params.key_identifier_method = KeyIdMethod::PreSpecified(id);
        }
        let not_after = u64::try_from(validity.not_after.timestamp()).unwrap_or_default();
        Ok(ClusterCa {
            issuer: Issuer::new(params, key),
            subject_der: cert.subject().as_raw().to_vec(),
            not_after: Duration::from_secs(not_after),
            cert_path,
        })
    }

    /// [`NodeCertificate::sign`], then checks that the certificate names this CA as issuer.
    fn sign<'a>(
        &self,
        id: &'a str,
        extra_dns: &[String],
        validity: Validity,
    ) -> Result<NodeCertificate<'a>, CertError> {
        let node = NodeCertificate::sign(id, extra_dns, validity, &self.issuer)?;
        let (_, leaf) =
            X509Certificate::from_der(node.cert.der()).map_err(|e| CertError::CaInvalid {
                path: self.cert_path.clone(),
                reason: format!("reading back a certificate it signed: {e}"),
            })?;
        if leaf.issuer().as_raw() != self.subject_der {
            return Err(CertError::CaInvalid {
                path: self.cert_path.clone(),
                reason: "its subject cannot be written back as an issuer name".into(),
            });
        }
        Ok(node)
    }
}

/// A node's certificate and freshly generated key, not yet on disk.
struct NodeCertificate<'a> {
    id: &'a str,
    cert: Certificate,
    key: KeyPair,
}

impl<'a> NodeCertificate<'a> {
    /// Signs a certificate naming `id` (DNS SANs `id` and `extra_dns`, IP SAN 127.0.0.1, URI SAN
    /// `duckraft://node/<id>`; serverAuth and clientAuth) for a new key.
    fn sign(
        id: &'a str,
        extra_dns: &[String],
        validity: Validity,
        issuer: &Issuer<'_, impl SigningKey>,
    ) -> Result<Self, CertError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(id);
        params.subject_alt_names = std::iter::once(id)
            .chain(extra_dns.iter().map(String::as_str))
            .map(|name| Ok(SanType::DnsName(ia5(name)?)))
            .collect::<Result<Vec<_>, CertError>>()?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .subject_alt_names
            .push(SanType::URI(ia5(&format!("{NODE_URI_PREFIX}{id}"))?));
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + validity.not_before;
        params.not_after = epoch + validity.not_after;
        let cert = params.signed_by(&key, issuer)?;
        Ok(NodeCertificate { id, cert, key })
    }

    /// Writes `<id>.pem` and `<id>-key.pem` (mode 0600), adding each file written to `written`.
    fn write(
        &self,
        out: &Path,
        existing: Existing,
        written: &mut Vec<PathBuf>,
    ) -> Result<(), CertError> {
        let [cert_path, key_path] = node_paths(out, self.id);
        write(&cert_path, &self.cert.pem(), 0o644, existing)?;
        written.push(cert_path);
        write(&key_path, &self.key.serialize_pem(), 0o600, existing)?;
        written.push(key_path);
        Ok(())
    }
}

/// When certificates are valid, as offsets from the Unix epoch.
#[derive(Clone, Copy)]
struct Validity {
    not_before: Duration,
    not_after: Duration,
}

impl Validity {
    /// From [`BACKDATE`] ago until [`VALIDITY`] from now.
    fn from_now() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Validity {
            not_before: now.saturating_sub(BACKDATE),
            not_after: now + VALIDITY,
        }
    }
}

/// What to do when a file to be written already exists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Existing {
    Replace,
    Refuse,
}

fn check_names(nodes: &[String], extra_dns: &[String]) -> Result<(), CertError> {
    if nodes.is_empty() {
        return Err(CertError::NoNodes);
    }
    for id in nodes {
        // `<id>.pem` must not land on the CA's files.
        if id == "ca" || id == "ca-key" {
            return Err(CertError::InvalidName(id.clone(), "reserved for the CA"));
        }
        check_dns(id)?;
    }
    for name in extra_dns {
        check_dns(name)?;
    }
    Ok(())
}

/// `<id>.pem` and `<id>-key.pem` in `out`.
fn node_paths(out: &Path, id: &str) -> [PathBuf; 2] {
    [
        out.join(format!("{id}.pem")),
        out.join(format!("{id}-key.pem")),
    ]
}

fn read_ca_file(path: &Path) -> Result<String, CertError> {
    fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CertError::CaMissing(path.to_owned()),
        _ => CertError::Read {
            path: path.to_owned(),
            source,
        },
    })
}

/// `name` as rcgen writes it, for the string types rcgen can write.
fn distinguished_name(name: &X509Name<'_>) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let mut attributes = rdn.iter();
        let (Some(attribute), None) = (attributes.next(), attributes.next()) else {
            return Err("multi-valued relative distinguished names are not supported".into());
        };
        let oid: Vec<u64> = attribute
            .attr_type()
            .iter()
            .ok_or("attribute type OID out of range")?
            .collect();
        let text = attribute.as_str().map_err(|e| e.to_string())?;
        let value = match attribute.attr_value().tag() {
            Tag::Utf8String => DnValue::Utf8String(text.to_owned()),
            Tag::PrintableString => {
                DnValue::PrintableString(text.try_into().map_err(|e| format!("{e}"))?)
            }
            Tag::Ia5String => DnValue::Ia5String(text.try_into().map_err(|e| format!("{e}"))?),
            tag => return Err(format!("unsupported string type {tag:?}")),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}

fn subject_key_identifier(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}

fn check_dns(name: &str) -> Result<(), CertError> {
    DnsName::try_from(name)
        .map(drop)
        .map_err(|_| CertError::InvalidName(name.to_owned(), "not a valid DNS name"))
}

fn ia5(s: &str) -> Result<Ia5String, CertError> {
    Ia5String::try_from(s).map_err(|_| CertError::InvalidName(s.to_owned(), "not ASCII"))
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn write(path: &Path, contents: &str, mode: u32, existing: Existing) -> Result<(), CertError> {
    let io = |source| CertError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).mode(mode);
    match existing {
        Existing::Replace => options.create(true).truncate(true),
        Existing::Refuse => options.create_new(true),
    };
    let mut file = options.open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists if existing == Existing::Refuse => {
            CertError::NodeFileExists(path.to_owned())
        }
        _ => io(source),
    })?;
    let filled = (|| {
        // `mode` only applies to new files; an existing key file may have looser permissions.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    })();
    if let Err(source) = filled {
        if existing == Existing::Refuse {
            // The file is this call's own; leave no half-written certificate or key behind.
            let _ = fs::remove_file(path);
        }
        return Err(io(source));
    }
    Ok(())
}
