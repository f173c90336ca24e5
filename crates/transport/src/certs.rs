//! Cluster certificate generation: one CA and one certificate per node.
//!
//! A node certificate names its node by the URI SAN `duckraft://node/<id>` and by the DNS SAN
//! `<id>`, which is also the TLS server name peers verify. It carries both the serverAuth and
//! clientAuth EKUs because every node is a TLS server and a TLS client.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::DnsName;

use crate::tls::NODE_URI_PREFIX;

/// No rotation tooling exists yet, so certificates are long-lived.
const VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Tolerates clocks that lag behind the machine that generated the certificates.
const BACKDATE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{0} already exists; refusing to replace the cluster CA")]
    CaExists(PathBuf),
    #[error("invalid name {0:?}: {1}")]
    InvalidName(String, &'static str),
    #[error("no node ids given")]
    NoNodes,
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

    let now = rcgen::date_time_ymd(1970, 1, 1)
        + SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
    let (not_before, not_after) = (now - BACKDATE, now + VALIDITY);

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
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    for id in nodes {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(id);
        params.subject_alt_names = std::iter::once(id)
            .chain(extra_dns)
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
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.signed_by(&key, &issuer)?;
        write(&out.join(format!("{id}.pem")), &cert.pem(), 0o644)?;
        write(
            &out.join(format!("{id}-key.pem")),
            &key.serialize_pem(),
            0o600,
        )?;
    }
    // The CA goes last: a run that fails halfway leaves no CA behind and can simply be retried.
    write(&ca_key_path, &ca_key.serialize_pem(), 0o600)?;
    write(&ca_cert_path, &ca_cert.pem(), 0o644)
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

fn write(path: &Path, contents: &str, mode: u32) -> Result<(), CertError> {
    let io = |source| CertError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    // `mode` only applies to new files; an existing key file may have looser permissions.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}
