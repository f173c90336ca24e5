//! The front door: PostgreSQL v3 wire protocol, SCRAM authentication, TLS
//! negotiation, COPY, and PostgreSQL's transaction-state rules, in front of
//! an execution interface (`Backend`/`Session`).

pub mod backend;
pub mod binary;
pub mod codec;
pub mod connection;
pub mod copy;
pub mod error;
pub mod scram;

pub use backend::{Backend, Description, Interrupter, QueryOutput, Session};
pub use connection::{serve_plain, serve_tls, CancelRegistry, ConnectionContext, ConnectionLimits};
pub use error::PgError;
