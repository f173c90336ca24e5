//! Helpers shared by the engine's integration tests.

use duckraft_engine::{Catalogs, EngineConfig};

/// Catalogs in `dir` with a small DuckDB footprint per instance.
pub fn catalogs(dir: &tempfile::TempDir) -> Catalogs {
    Catalogs::new(EngineConfig {
        data_dir: dir.path().to_path_buf(),
        duckdb_threads: 1,
        duckdb_memory_limit: "256MB".into(),
    })
    .unwrap()
}
