//! The files `certs::generate` writes and what the node certificates say.

use std::os::unix::fs::PermissionsExt;

use duckraft_transport::certs::{self, CertError};
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
