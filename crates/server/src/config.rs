//! Server configuration: command-line flags override the config file, which
//! overrides the embedded defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub pg_listen: SocketAddr,
    /// PEM certificate chain and key; TLS is offered only when both are set.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Accept cleartext passwords from TLS clients (never from plain TCP).
    pub cleartext_password_over_tls: bool,
    pub max_connections: usize,
    pub message_bytes_max: usize,
    pub copy_bytes_max: usize,
    pub idle_session_timeout: Option<Duration>,
    pub statement_timeout: Option<Duration>,
    pub shutdown_grace: Duration,
    /// DuckDB worker threads per catalog. One by default: catalog statements
    /// are small, concurrency comes from sessions, and a second thread made
    /// every statement hand its pipeline to a spinning worker (a BEGIN and
    /// COMMIT pair cost 2.5 times the CPU).
    pub duckdb_threads: usize,
    pub duckdb_memory_limit: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            data_dir: PathBuf::from("./duckraft-data"),
            pg_listen: "127.0.0.1:5433".parse().expect("valid default address"),
            tls_cert: None,
            tls_key: None,
            cleartext_password_over_tls: false,
            max_connections: 256,
            message_bytes_max: 64 * 1024 * 1024,
            copy_bytes_max: 1024 * 1024 * 1024,
            idle_session_timeout: None,
            statement_timeout: None,
            shutdown_grace: Duration::from_secs(30),
            duckdb_threads: 1,
            duckdb_memory_limit: "1GB".into(),
        }
    }
}

/// The config file: every key optional, names as in the CLI with `_`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data_dir: Option<PathBuf>,
    pub pg_listen: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub cleartext_password_over_tls: Option<bool>,
    pub max_connections: Option<usize>,
    pub message_bytes_max: Option<usize>,
    pub copy_bytes_max: Option<usize>,
    pub idle_session_timeout_ms: Option<u64>,
    pub statement_timeout_ms: Option<u64>,
    pub shutdown_grace_ms: Option<u64>,
    pub duckdb_threads: Option<usize>,
    pub duckdb_memory_limit: Option<String>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// Applies the file's settings on top of `config`.
    pub fn apply(self, config: &mut ServerConfig) -> anyhow::Result<()> {
        let millis = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
        if let Some(v) = self.data_dir {
            config.data_dir = v;
        }
        if let Some(v) = self.pg_listen {
            config.pg_listen = v
                .parse()
                .with_context(|| format!("invalid pg_listen address {v:?}"))?;
        }
        if let Some(v) = self.tls_cert {
            config.tls_cert = Some(v);
        }
        if let Some(v) = self.tls_key {
            config.tls_key = Some(v);
        }
        if let Some(v) = self.cleartext_password_over_tls {
            config.cleartext_password_over_tls = v;
        }
        if let Some(v) = self.max_connections {
            config.max_connections = v;
        }
        if let Some(v) = self.message_bytes_max {
            config.message_bytes_max = v;
        }
        if let Some(v) = self.copy_bytes_max {
            config.copy_bytes_max = v;
        }
        if let Some(v) = self.idle_session_timeout_ms {
            config.idle_session_timeout = millis(v);
        }
        if let Some(v) = self.statement_timeout_ms {
            config.statement_timeout = millis(v);
        }
        if let Some(v) = self.shutdown_grace_ms {
            config.shutdown_grace = Duration::from_millis(v);
        }
        if let Some(v) = self.duckdb_threads {
            config.duckdb_threads = v;
        }
        if let Some(v) = self.duckdb_memory_limit {
            config.duckdb_memory_limit = v;
        }
        Ok(())
    }
}

impl ServerConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("tls_cert and tls_key must be set together");
        }
        if self.cleartext_password_over_tls && self.tls_cert.is_none() {
            bail!("cleartext_password_over_tls needs tls_cert and tls_key: cleartext passwords are refused without TLS");
        }
        if self.max_connections == 0 {
            bail!("max_connections must be at least 1");
        }
        if self.message_bytes_max < 1024 {
            bail!("message_bytes_max must be at least 1024 bytes");
        }
        if self.duckdb_threads == 0 {
            bail!("duckdb_threads must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let file: ConfigFile =
            toml::from_str("max_connections = 7\nstatement_timeout_ms = 1500\n").unwrap();
        let mut config = ServerConfig::default();
        file.apply(&mut config).unwrap();
        assert_eq!(config.max_connections, 7);
        assert_eq!(config.statement_timeout, Some(Duration::from_millis(1500)));
        assert!(toml::from_str::<ConfigFile>("max_conections = 7").is_err());
        let empty: ConfigFile = toml::from_str("# only comments\n").unwrap();
        let mut unchanged = ServerConfig::default();
        empty.apply(&mut unchanged).unwrap();
        assert_eq!(unchanged, ServerConfig::default());
    }
}
