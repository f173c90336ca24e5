//! The files `certs::generate` and `certs::issue` write and what the node certificates say.

// Only the transport helpers are used here.
#[allow(dead_code)]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bytes::Bytes;
use duckraft_transport::certs::{self, CertError};
use duckraft_transport::TlsMaterial;
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::*;

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn generate_writes_ca_and_node_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("certs");
    let extra = ids(&["duckraft-0.duckraft.default.svc"]);
    certs::generate(&out, &ids(&["n1", "n2"]), &extra).unwrap();

    for key in ["ca-key.pem", "n1-key.pem", "n2-key.pem"] {
        let mode = std::fs::metadata(out.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let ca_pem = std::fs::read(out.join("ca.pem")).unwrap();
    let (_, ca_pem) = parse_x509_pem(&ca_pem).unwrap();
    let ca = ca_pem.parse_x509().unwrap();
    assert!(ca.basic_constraints().unwrap().unwrap().value.ca);

    for id in ["n1", "n2"] {
        let pem = std::fs::read(out.join(format!("{id}.pem"))).unwrap();
        let (_, pem) = parse_x509_pem(&pem).unwrap();
        let cert = pem.parse_x509().unwrap();
        assert_eq!(cert.issuer(), ca.subject());
        assert!(!cert
            .basic_constraints()
            .unwrap()
            .is_some_and(|bc| bc.value.ca));

        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth, "{id}: {eku:?}");

        let san = cert.subject_alternative_name().unwrap().unwrap().value;
        let uri = format!("duckraft://node/{id}");
        let expected = vec![
            GeneralName::DNSName(id),
            GeneralName::DNSName(&extra[0]),
            GeneralName::IPAddress(&[127, 0, 0, 1]),
            GeneralName::URI(&uri),
        ];
        assert_eq!(san.general_names, expected, "{id}");
        assert!(cert.validity().is_valid(), "{id}");
    }
}

#[test]
fn generate_refuses_to_replace_the_ca_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    certs::generate(tmp.path(), &ids(&["n1"]), &[]).unwrap();
    let ca = std::fs::read(tmp.path().join("ca.pem")).unwrap();

    let again = certs::generate(tmp.path(), &ids(&["n1"]), &[]);
    assert!(matches!(again, Err(CertError::CaExists(_))), "{again:?}");
    assert_eq!(std::fs::read(tmp.path().join("ca.pem")).unwrap(), ca);

    certs::generate_with(tmp.path(), &ids(&["n1"]), &[], true).unwrap();
    let replaced = std::fs::read(tmp.path().join("ca.pem")).unwrap();
    // Each CA has a name of its own, so a certificate from the wrong one is an unknown issuer.
    let subject = |pem: &[u8]| {
        parse_x509_pem(pem)
            .unwrap()
            .1
            .parse_x509()
            .unwrap()
            .subject()
            .to_string()
    };
    assert_ne!(subject(&replaced), subject(&ca));
}

#[test]
fn generate_rejects_bad_names() {
    let tmp = tempfile::tempdir().unwrap();
    for nodes in [ids(&[]), ids(&["ca"]), ids(&["not a name"])] {
        assert!(
            certs::generate(tmp.path(), &nodes, &[]).is_err(),
            "{nodes:?}"
        );
    }
    assert!(certs::generate(tmp.path(), &ids(&["n1"]), &ids(&["bad name"])).is_err());
    assert!(
        !tmp.path().join("ca.pem").exists(),
        "nothing is written for invalid input"
    );
}

/// The files of every node in `ids`, by name, to show that a refused call left them alone.
fn node_files(dir: &Path, ids: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for id in ids {
        for name in [format!("{id}.pem"), format!("{id}-key.pem")] {
            let contents = std::fs::read(dir.join(&name)).unwrap();
            files.push((name, contents));
        }
    }
    files
}

#[tokio::test]
async fn node_issued_from_the_existing_ca_joins_the_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    certs::generate(dir, &ids(&["n1", "n2"]), &[]).unwrap();
    let ca_before = std::fs::read(dir.join("ca.pem")).unwrap();
    let ca_key_before = std::fs::read(dir.join("ca-key.pem")).unwrap();
    let existing = node_files(dir, &["n1", "n2"]);

    let extra = ids(&["n3.duckraft.default.svc"]);
    certs::issue(dir, &ids(&["n3"]), &extra).unwrap();

    // The CA and the running nodes' files are untouched.
    assert_eq!(std::fs::read(dir.join("ca.pem")).unwrap(), ca_before);
    assert_eq!(
        std::fs::read(dir.join("ca-key.pem")).unwrap(),
        ca_key_before
    );
    assert_eq!(node_files(dir, &["n1", "n2"]), existing);
    let mode = std::fs::metadata(dir.join("n3-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The certificate says what `generate`'s say, and names the same CA.
    let (_, ca_pem) = parse_x509_pem(&ca_before).unwrap();
    let ca = ca_pem.parse_x509().unwrap();
    let pem = std::fs::read(dir.join("n3.pem")).unwrap();
    let (_, pem) = parse_x509_pem(&pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    assert_eq!(cert.issuer().as_raw(), ca.subject().as_raw());
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth, "{eku:?}");
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    let expected = vec![
        GeneralName::DNSName("n3"),
        GeneralName::DNSName(&extra[0]),
        GeneralName::IPAddress(&[127, 0, 0, 1]),
        GeneralName::URI("duckraft://node/n3"),
    ];
    assert_eq!(san.general_names, expected);
    assert!(cert.validity().is_valid());
    assert!(cert.validity().not_after <= ca.validity().not_after);

    // n1 (from `generate`) and n3 (from `issue`) accept each other over mutual TLS, each
    // verifying the other's chain against the same ca.pem.
    assert_eq!(TlsMaterial::load(dir, "n3").unwrap().node_id(), "n3");
    let addrs = common::free_addrs(2);
    let peers = common::peer_map(&[("n1", addrs[0]), ("n3", addrs[1])]);
    let (n1, mut n1_inbox) = common::start(dir, "n1", addrs[0], peers.clone(), None).await;
    let (n3, mut n3_inbox) = common::start(dir, "n3", addrs[1], peers, None).await;
    n3.send("n1", Bytes::from_static(b"hello from n3"));
    n1.send("n3", Bytes::from_static(b"hello from n1"));
    assert_eq!(
        common::recv(&mut n1_inbox).await,
        ("n3".to_owned(), Bytes::from_static(b"hello from n3"))
    );
    assert_eq!(
        common::recv(&mut n3_inbox).await,
        ("n1".to_owned(), Bytes::from_static(b"hello from n1"))
    );
    n3.shutdown().await;
    n1.shutdown().await;
}

#[test]
fn issue_refuses_to_replace_a_node_certificate_or_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    certs::generate(dir, &ids(&["n1", "n2"]), &[]).unwrap();
    let before = node_files(dir, &["n1", "n2"]);

    // One existing node in the list refuses the whole call, before anything is written.
    let again = certs::issue(dir, &ids(&["n3", "n1"]), &[]);
    assert!(
        matches!(&again, Err(CertError::NodeFileExists(path)) if *path == dir.join("n1.pem")),
        "{again:?}"
    );
    assert!(!dir.join("n3.pem").exists() && !dir.join("n3-key.pem").exists());
    assert_eq!(node_files(dir, &["n1", "n2"]), before);

    // A key alone is enough to refuse: it may belong to a node whose certificate was moved.
    std::fs::remove_file(dir.join("n2.pem")).unwrap();
    let key_only = certs::issue(dir, &ids(&["n2"]), &[]);
    assert!(
        matches!(&key_only, Err(CertError::NodeFileExists(path)) if *path == dir.join("n2-key.pem")),
        "{key_only:?}"
    );
    assert!(!dir.join("n2.pem").exists());

    let twice = certs::issue(dir, &ids(&["n4", "n4"]), &[]);
    assert!(
        matches!(twice, Err(CertError::InvalidName(..))),
        "{twice:?}"
    );
    assert!(!dir.join("n4.pem").exists());
}

#[test]
fn issue_refuses_without_a_usable_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n3 = ids(&["n3"]);
    let nothing_written =
        |dir: &Path| !dir.join("n3.pem").exists() && !dir.join("n3-key.pem").exists();

    let missing = certs::issue(dir, &n3, &[]).unwrap_err();
    assert!(
        matches!(&missing, CertError::CaMissing(path) if *path == dir.join("ca.pem")),
        "{missing:?}"
    );
    assert!(missing
        .to_string()
        .contains(&dir.join("ca.pem").display().to_string()));
    assert!(nothing_written(dir));

    // A CA certificate without its key.
    let cluster = tempfile::tempdir().unwrap();
    certs::generate(cluster.path(), &ids(&["n1"]), &[]).unwrap();
    std::fs::copy(cluster.path().join("ca.pem"), dir.join("ca.pem")).unwrap();
    let no_key = certs::issue(dir, &n3, &[]).unwrap_err();
    assert!(
        matches!(&no_key, CertError::CaMissing(path) if *path == dir.join("ca-key.pem")),
        "{no_key:?}"
    );

    // Another cluster's key: certificates signed with it would not verify against ca.pem.
    let other = tempfile::tempdir().unwrap();
    certs::generate(other.path(), &ids(&["n1"]), &[]).unwrap();
    std::fs::copy(other.path().join("ca-key.pem"), dir.join("ca-key.pem")).unwrap();
    let mismatch = certs::issue(dir, &n3, &[]).unwrap_err();
    assert!(
        matches!(&mismatch, CertError::CaInvalid { path, .. } if *path == dir.join("ca-key.pem")),
        "{mismatch:?}"
    );
    assert!(nothing_written(dir));

    // A node certificate in place of the CA's.
    std::fs::copy(cluster.path().join("ca-key.pem"), dir.join("ca-key.pem")).unwrap();
    std::fs::copy(cluster.path().join("n1.pem"), dir.join("ca.pem")).unwrap();
    let not_ca = certs::issue(dir, &n3, &[]).unwrap_err();
    assert!(
        matches!(&not_ca, CertError::CaInvalid { path, .. } if *path == dir.join("ca.pem")),
        "{not_ca:?}"
    );

    std::fs::write(dir.join("ca.pem"), "not a certificate").unwrap();
    let garbage = certs::issue(dir, &n3, &[]).unwrap_err();
    assert!(
        matches!(&garbage, CertError::CaInvalid { path, .. } if *path == dir.join("ca.pem")),
        "{garbage:?}"
    );
    assert!(garbage
        .to_string()
        .contains(&dir.join("ca.pem").display().to_string()));
    assert!(nothing_written(dir));

    // With the real CA back in place the same call succeeds.
    std::fs::copy(cluster.path().join("ca.pem"), dir.join("ca.pem")).unwrap();
    certs::issue(dir, &n3, &[]).unwrap();
    assert!(TlsMaterial::load(dir, "n3").is_ok());
}
