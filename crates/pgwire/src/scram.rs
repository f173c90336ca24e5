//! SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it.
//!
//! The server stores only a verifier (salt, iterations, StoredKey, ServerKey),
//! never the password. For an unknown user the exchange still runs against a
//! mock verifier derived from a server secret, so the failure looks the same
//! as a wrong password (28P01) and reveals nothing about which users exist.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::PgError;

type HmacSha256 = Hmac<Sha256>;

pub const SCRAM_ITERATIONS_DEFAULT: u32 = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    // Hi(password, salt, i) from RFC 5802, which is PBKDF2-HMAC-SHA256 with one block.
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password.as_bytes(), &block);
    let mut result = u;
    for _ in 1..iterations {
        u = hmac(password.as_bytes(), &u);
        for (r, x) in result.iter_mut().zip(u.iter()) {
            *r ^= x;
        }
    }
    result
}

impl ScramVerifier {
    pub fn new(password: &str, salt: Vec<u8>, iterations: u32) -> Self {
        assert!(iterations >= 1, "SCRAM needs at least one iteration");
        let salted = salted_password(password, &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let server_key = hmac(&salted, b"Server Key");
        ScramVerifier {
            salt,
            iterations,
            stored_key,
            server_key,
        }
    }

    /// PostgreSQL's `pg_authid.rolpassword` form: `SCRAM-SHA-256$i:salt$stored:server`.
    pub fn encode(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            BASE64.encode(&self.salt),
            BASE64.encode(self.stored_key),
            BASE64.encode(self.server_key)
        )
    }

    pub fn decode(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(ScramVerifier {
            salt: BASE64.decode(salt).ok()?,
            iterations: iterations.parse().ok()?,
            stored_key: BASE64.decode(stored).ok()?.try_into().ok()?,
            server_key: BASE64.decode(server).ok()?.try_into().ok()?,
        })
    }

    /// A stand-in verifier for a user that does not exist; stable per user name.
    pub fn mock(user: &str, server_secret: &[u8]) -> Self {
        let salt = hmac(server_secret, user.as_bytes())[..16].to_vec();
        ScramVerifier {
            salt,
            iterations: SCRAM_ITERATIONS_DEFAULT,
            stored_key: hmac(server_secret, b"mock stored key"),
            server_key: hmac(server_secret, b"mock server key"),
        }
    }

    /// Checks a cleartext password against this verifier (used over TLS only).
    pub fn verify_password(&self, password: &str) -> bool {
        let candidate = ScramVerifier::new(password, self.salt.clone(), self.iterations);
        constant_time_eq(&candidate.stored_key, &self.stored_key)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Server side of one SCRAM exchange.
pub struct ScramServer {
    verifier: ScramVerifier,
    /// False for mock verifiers: the exchange always fails at the end.
    user_exists: bool,
    server_nonce: String,
    client_first_bare: String,
    server_first: String,
    combined_nonce: String,
}

fn invalid_authorization(message: &str) -> PgError {
    PgError::fatal("08P01", format!("malformed SCRAM message: {message}"))
}

impl ScramServer {
    pub fn new(verifier: ScramVerifier, user_exists: bool, nonce_bytes: [u8; 18]) -> Self {
        ScramServer {
            verifier,
            user_exists,
            server_nonce: BASE64.encode(nonce_bytes),
            client_first_bare: String::new(),
            server_first: String::new(),
            combined_nonce: String::new(),
        }
    }

    /// Handles client-first-message, returns server-first-message.
    pub fn client_first(&mut self, message: &str) -> Result<String, PgError> {
        // gs2-header: "n,," (no channel binding) or "y,,"; "p=" needs -PLUS which we do not offer.
        let (cbind, rest) = message
            .split_once(',')
            .ok_or_else(|| invalid_authorization("missing gs2 header"))?;
        match cbind {
            "n" | "y" => {}
            _ => return Err(invalid_authorization("channel binding is not supported")),
        }
        let (_authzid, bare) = rest
            .split_once(',')
            .ok_or_else(|| invalid_authorization("missing authzid"))?;
        let client_nonce = bare
            .split(',')
            .find_map(|attr| attr.strip_prefix("r="))
            .ok_or_else(|| invalid_authorization("missing client nonce"))?;
        if client_nonce.is_empty()
            || !client_nonce
                .chars()
                .all(|c| c.is_ascii_graphic() && c != ',')
        {
            return Err(invalid_authorization("invalid client nonce"));
        }
        self.client_first_bare = bare.to_string();
        self.combined_nonce = format!("{client_nonce}{}", self.server_nonce);
        self.server_first = format!(
            "r={},s={},i={}",
            self.combined_nonce,
            BASE64.encode(&self.verifier.salt),
            self.verifier.iterations
        );
        Ok(self.server_first.clone())
    }

    /// Handles client-final-message. Returns server-final-message on success,
    /// `Err` with 28P01 when the proof does not verify.
    pub fn client_final(&self, message: &str, user: &str) -> Result<String, PgError> {
        let (without_proof, proof) = message
            .rsplit_once(",p=")
            .ok_or_else(|| invalid_authorization("missing proof"))?;
        let nonce = without_proof
            .split(',')
            .find_map(|attr| attr.strip_prefix("r="))
            .ok_or_else(|| invalid_authorization("missing nonce"))?;
        if nonce != self.combined_nonce {
            return Err(invalid_authorization("nonce mismatch"));
        }
        let proof = BASE64
            .decode(proof)
            .map_err(|_| invalid_authorization("proof is not base64"))?;
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let client_signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        let verified = proof.len() == 32 && {
            let client_key: Vec<u8> = proof
                .iter()
                .zip(client_signature.iter())
                .map(|(p, s)| p ^ s)
                .collect();
            let stored: [u8; 32] = Sha256::digest(&client_key).into();
            constant_time_eq(&stored, &self.verifier.stored_key)
        };
        if !verified || !self.user_exists {
            return Err(password_failed(user));
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", BASE64.encode(server_signature)))
    }
}

/// The one failure message for both unknown users and wrong passwords.
pub fn password_failed(user: &str) -> PgError {
    PgError::fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client computed independently from RFC 7677's definitions.
    fn client_final(
        password: &str,
        client_first_bare: &str,
        server_first: &str,
        salt: &[u8],
        iterations: u32,
    ) -> String {
        let nonce = server_first.split(',').next().unwrap();
        let without_proof = format!("c=biws,{nonce}");
        let salted = salted_password(password, salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored: [u8; 32] = Sha256::digest(client_key).into();
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac(&stored, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        format!("{without_proof},p={}", BASE64.encode(proof))
    }

    #[test]
    fn rfc7677_test_vector_verifier() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let verifier = ScramVerifier::new("pencil", salt, 4096);
        let mut server = ScramServer::new(verifier.clone(), true, [7; 18]);
        let server_first = server
            .client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            .unwrap();
        let final_message = client_final(
            "pencil",
            "n=user,r=rOprNGfwEbeRWgbNEkqO",
            &server_first,
            &verifier.salt,
            4096,
        );
        assert!(server
            .client_final(&final_message, "user")
            .unwrap()
            .starts_with("v="));
        assert!(verifier.verify_password("pencil"));
        assert!(!verifier.verify_password("pencil2"));
        assert_eq!(ScramVerifier::decode(&verifier.encode()).unwrap(), verifier);
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_identically() {
        let verifier = ScramVerifier::new("right", b"0123456789abcdef".to_vec(), 16);
        let mut server = ScramServer::new(verifier.clone(), true, [1; 18]);
        let server_first = server.client_first("n,,n=,r=abc").unwrap();
        let wrong = client_final("wrong", "n=,r=abc", &server_first, &verifier.salt, 16);
        let error = server.client_final(&wrong, "u").unwrap_err();
        assert_eq!(error.code, "28P01");

        let mock = ScramVerifier::mock("ghost", b"secret");
        let mut server = ScramServer::new(mock.clone(), false, [1; 18]);
        let server_first = server.client_first("n,,n=,r=abc").unwrap();
        let attempt = client_final(
            "anything",
            "n=,r=abc",
            &server_first,
            &mock.salt,
            mock.iterations,
        );
        let unknown = server.client_final(&attempt, "u").unwrap_err();
        assert_eq!(unknown, error);
    }
}
