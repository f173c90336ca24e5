//! Catalogs: one DuckDB database file per PostgreSQL database.
//!
//! Layout under the data dir:
//!   catalogs/<name>.duckdb   one per catalog, user tables in schema `public`
//!
//! Invariants:
//! - a catalog name is a safe file stem (checked by `validate_catalog_name`);
//! - a catalog is open at most once per process (`Catalogs::open`), and all
//!   sessions share that instance;
//! - a catalog is dropped only when no session holds it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::info;

use crate::command::Role;
use crate::declared_types::DeclaredTypes;
use crate::error::EngineError;
use crate::raw::{Describer, RawDatabase};
use crate::replica::{Replica, ReplicaError};

/// The PostgreSQL-compatibility catalog objects, created in an in-memory
/// database attached to every catalog instance.
pub const PG_CATALOG_SQL: &str = include_str!("pg_catalog.sql");

pub const DEFAULT_CATALOG: &str = "duckraft";
const CATALOG_NAME_BYTES_MAX: usize = 63;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// DuckDB worker threads per catalog instance.
    pub duckdb_threads: usize,
    /// DuckDB memory limit per catalog instance, e.g. "1GB".
    pub duckdb_memory_limit: String,
}

pub struct Catalog {
    pub name: String,
    /// Results of catalog introspection queries, shared by all sessions.
    pub introspection: crate::introspection::IntrospectionCache,
    /// Schema fingerprints by schema version (see `crate::introspection`).
    pub schema_fingerprints: crate::introspection::SchemaFingerprints,
    /// The catalog's own view and macro names, with the log index of the
    /// schema change they are current as of (see
    /// `EngineSession::view_and_macro_names`).
    pub hidden_relations: Mutex<Option<(u64, Arc<Vec<String>>)>>,
    /// Set when a replicated DROP DATABASE removed this catalog, or a
    /// snapshot replaced its file, while sessions still used it; they end at
    /// their next statement.
    retired: OnceLock<Retirement>,
    /// Tells this open instance of the database file from any other, such
    /// as the one a snapshot install opens in its place.
    pub(crate) instance: u64,
    /// Committed schema changes so far, counted by the catalog's replica.
    schema_epoch: Arc<AtomicU64>,
    /// Whether a replica counts them: without one (an engine used with no
    /// log, as some tests do), DDL commits on sessions and nothing is
    /// counted, so nothing is cached either.
    replicated: AtomicBool,
    /// Shapes the describer computed, for one schema epoch; locked only
    /// while `describer` is.
    described: Mutex<DescribeCache>,
    // Field order matters: the describer's and the declared types'
    // connections must close before the database.
    describer: Mutex<Describer>,
    declared_types: Arc<DeclaredTypes>,
    database: RawDatabase,
}

/// Why a catalog's open instance ended under its sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retirement {
    /// A replicated DROP DATABASE removed it.
    Dropped,
    /// A snapshot from the group's leader replaced its file.
    Replaced,
}

impl Catalog {
    pub fn retirement(&self) -> Option<Retirement> {
        self.retired.get().copied()
    }

    /// An instance leaves the open map once, so it retires once.
    fn retire(&self, why: Retirement) {
        let _ = self.retired.set(why);
    }

    /// Registers the declared string types `sql` names; call before DuckDB
    /// binds it. True if it registered a new one.
    pub fn declare_types(&self, sql: &str) -> Result<bool, EngineError> {
        self.declared_types.ensure(sql)
    }

    /// The catalog's replica: it takes over a connection of its own.
    pub fn open_replica(&self) -> Result<Replica, ReplicaError> {
        let connection = self.connect().map_err(|e| ReplicaError::Engine {
            index: None,
            sqlstate: e.sqlstate.to_string(),
            message: e.message,
        })?;
        self.replicated.store(true, Ordering::Release);
        Ok(Replica::open(connection)?.for_catalog(
            self.instance,
            self.declared_types.clone(),
            self.schema_epoch.clone(),
        ))
    }

    pub fn connect(&self) -> Result<duckdb::Connection, EngineError> {
        let connection = self.database.connect()?;
        connection.execute_batch(SESSION_SETUP_SQL)?;
        Ok(connection)
    }

    fn publish_databases(&self, names: &[String]) -> Result<(), EngineError> {
        let values: Vec<String> = names
            .iter()
            .map(|n| format!("('{}', NULL)", n.replace('\'', "''")))
            .collect();
        let mut sql = String::from("BEGIN; DELETE FROM duckraft_pg.main.duckraft_databases;");
        if !values.is_empty() {
            sql.push_str(&format!(
                " INSERT INTO duckraft_pg.main.duckraft_databases VALUES {};",
                values.join(", ")
            ));
        }
        sql.push_str(" COMMIT");
        self.describer
            .lock()
            .expect("describer poisoned")
            .execute_batch(&sql)
    }

    /// Replaces the replicated roles in `duckraft_roles` (`pg_roles`,
    /// `pg_user`, `pg_authid`); the bootstrap superuser's row (oid 10) stays.
    fn publish_roles(&self, roles: &BTreeMap<String, Role>) -> Result<(), EngineError> {
        let text = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let values: Vec<String> = roles
            .iter()
            .map(|(name, role)| format!("({}, {}, {})", text(name), role.superuser, role.login))
            .collect();
        let mut sql =
            String::from("BEGIN; DELETE FROM duckraft_pg.main.duckraft_roles WHERE oid <> 10;");
        if !values.is_empty() {
            sql.push_str(&format!(
                " INSERT INTO duckraft_pg.main.duckraft_roles
                  SELECT duckraft_pg.main.duckraft_oid('r', name), name, super, login
                  FROM (VALUES {}) AS v(name, super, login)
                  WHERE name NOT IN (SELECT rolname FROM duckraft_pg.main.duckraft_roles)
                  ON CONFLICT DO NOTHING;",
                values.join(", ")
            ));
        }
        sql.push_str(" COMMIT");
        self.describer
            .lock()
            .expect("describer poisoned")
            .execute_batch(&sql)
    }

    /// Whether a replica applies this catalog's log, so that every schema
    /// change is a replicated entry with a schema version.
    pub(crate) fn is_replicated(&self) -> bool {
        self.replicated.load(Ordering::Acquire)
    }

    /// The parameter and result types of `sql` as the committed schema
    /// gives them. The describer sees no session's own objects, so a shape
    /// depends only on the text, the division and the committed schema: a
    /// client that parses the same text before every run (DuckDB's postgres
    /// scanner does, once per DuckLake commit) pays DuckDB's planning once
    /// per schema change.
    pub fn describe(
        &self,
        sql: &str,
        integer_division: bool,
    ) -> Result<crate::raw::StatementShape, EngineError> {
        let mut describer = self.describer.lock().expect("describer poisoned");
        if !self.is_replicated() {
            describer.divide_as(integer_division)?;
            return describer.describe(sql);
        }
        // Read before describing. The replica counts a schema change after
        // committing it, so a shape described from the old schema is never
        // found again once the change is acknowledged.
        let epoch = self.schema_epoch.load(Ordering::Acquire);
        let division = usize::from(integer_division);
        let mut cache = self.described.lock().expect("describe cache poisoned");
        if cache.epoch != epoch {
            *cache = DescribeCache {
                epoch,
                ..Default::default()
            };
        }
        if let Some(shape) = cache.shapes[division].get(sql) {
            return Ok(shape.clone());
        }
        describer.divide_as(integer_division)?;
        let shape = describer.describe(sql)?;
        if cache.shapes.iter().map(HashMap::len).sum::<usize>() >= DESCRIBED_MAX {
            cache.shapes = Default::default();
        }
        cache.shapes[division].insert(sql.to_string(), shape.clone());
        Ok(shape)
    }
}

/// See [`Catalog::describe`]; one map per `integer_division` setting.
#[derive(Default)]
struct DescribeCache {
    epoch: u64,
    shapes: [HashMap<String, crate::raw::StatementShape>; 2],
}

/// Distinct statement texts kept per catalog before the cache starts over.
const DESCRIBED_MAX: usize = 1024;

/// See [`Catalog::instance`].
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// Per-connection settings: user objects resolve in `public`, and the
/// compatibility objects shadow DuckDB's own pg_catalog.
pub const SESSION_SETUP_SQL: &str = "SET search_path = 'public,duckraft_pg.main'";

pub struct Catalogs {
    config: EngineConfig,
    open: Mutex<BTreeMap<String, Arc<Catalog>>>,
    /// The replicated roles, as last published; every catalog opened later
    /// shows them too.
    roles: Mutex<BTreeMap<String, Role>>,
    /// Serialises create and drop so the directory and the map agree.
    ddl: Mutex<()>,
}

pub fn validate_catalog_name(name: &str) -> Result<(), EngineError> {
    let ok = !name.is_empty()
        && name.len() <= CATALOG_NAME_BYTES_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(
            EngineError::new("42602", format!("invalid database name \"{name}\""))
                .with_hint("Database names use letters, digits, '_' and '-', at most 63 bytes."),
        )
    }
}

impl Catalogs {
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        std::fs::create_dir_all(config.data_dir.join("catalogs"))?;
        let catalogs = Catalogs {
            config,
            open: Mutex::new(BTreeMap::new()),
            roles: Mutex::new(BTreeMap::new()),
            ddl: Mutex::new(()),
        };
        if !catalogs.path(DEFAULT_CATALOG).exists() {
            catalogs.create(DEFAULT_CATALOG)?;
        }
        Ok(catalogs)
    }

    /// The database file of catalog `name`.
    pub fn file_path(&self, name: &str) -> PathBuf {
        self.path(name)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.config
            .data_dir
            .join("catalogs")
            .join(format!("{name}.duckdb"))
    }

    pub fn names(&self) -> Result<Vec<String>, EngineError> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.config.data_dir.join("catalogs"))? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("duckdb") {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Opens (or returns the already open) catalog; 3D000 if it does not exist.
    pub fn open(&self, name: &str) -> Result<Arc<Catalog>, EngineError> {
        let mut open = self.open.lock().expect("catalog map poisoned");
        if let Some(catalog) = open.get(name) {
            return Ok(catalog.clone());
        }
        let path = self.path(name);
        if validate_catalog_name(name).is_err() || !path.exists() {
            return Err(EngineError::new(
                "3D000",
                format!("database \"{name}\" does not exist"),
            ));
        }
        let catalog = Arc::new(self.open_file(name, &path)?);
        open.insert(name.to_string(), catalog.clone());
        Ok(catalog)
    }

    fn open_file(&self, name: &str, path: &Path) -> Result<Catalog, EngineError> {
        let settings = [
            ("threads", self.config.duckdb_threads.to_string()),
            ("memory_limit", self.config.duckdb_memory_limit.clone()),
            ("autoinstall_known_extensions", "false".to_string()),
            ("autoload_known_extensions", "false".to_string()),
        ];
        let database = RawDatabase::open(path.to_str().expect("data dir is UTF-8"), &settings)?;
        let mut describer = Describer::new(&database)?;
        describer.execute_batch("CREATE SCHEMA IF NOT EXISTS public")?;
        describer.execute_batch(PG_CATALOG_SQL)?;
        // After our own in-memory ATTACH: clients must never read or write
        // files, attach databases or load extensions (DuckDB refuses to turn
        // this back on while the database runs).
        describer.execute_batch("SET enable_external_access = false")?;
        describer.execute_batch(SESSION_SETUP_SQL)?;
        let declared_types = Arc::new(DeclaredTypes::new(&database)?);
        let catalog = Catalog {
            name: name.to_string(),
            introspection: Default::default(),
            schema_fingerprints: Default::default(),
            hidden_relations: Mutex::new(None),
            retired: OnceLock::new(),
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            schema_epoch: Default::default(),
            replicated: AtomicBool::new(false),
            described: Default::default(),
            describer: Mutex::new(describer),
            declared_types,
            database,
        };
        catalog.publish_databases(&self.names()?)?;
        catalog.publish_roles(&self.roles.lock().expect("roles poisoned"))?;
        Ok(catalog)
    }

    /// Tells every open catalog, and every catalog opened later, which
    /// replicated roles exist (for `pg_roles` and friends).
    pub fn publish_roles(&self, roles: &BTreeMap<String, Role>) -> Result<(), EngineError> {
        *self.roles.lock().expect("roles poisoned") = roles.clone();
        let open: Vec<Arc<Catalog>> = self
            .open
            .lock()
            .expect("catalog map poisoned")
            .values()
            .cloned()
            .collect();
        for catalog in open {
            catalog.publish_roles(roles)?;
        }
        Ok(())
    }

    /// Tells every open catalog which databases exist, for `pg_database`.
    fn publish_to_open(&self) -> Result<(), EngineError> {
        let names = self.names()?;
        let open: Vec<Arc<Catalog>> = self
            .open
            .lock()
            .expect("catalog map poisoned")
            .values()
            .cloned()
            .collect();
        for catalog in open {
            catalog.publish_databases(&names)?;
        }
        Ok(())
    }

    pub fn create(&self, name: &str) -> Result<(), EngineError> {
        validate_catalog_name(name)?;
        let _ddl = self.ddl.lock().expect("ddl lock poisoned");
        let path = self.path(name);
        if path.exists() {
            return Err(EngineError::new(
                "42P04",
                format!("database \"{name}\" already exists"),
            ));
        }
        // Create under a temporary name, then rename: a crash never leaves a half-made catalog.
        let staging = self
            .config
            .data_dir
            .join("catalogs")
            .join(format!(".{name}.creating"));
        let _ = std::fs::remove_file(&staging);
        {
            let database = RawDatabase::open(staging.to_str().expect("data dir is UTF-8"), &[])?;
            let mut setup = Describer::new(&database)?;
            setup.execute_batch("CREATE SCHEMA IF NOT EXISTS public; CHECKPOINT")?;
        }
        std::fs::rename(&staging, &path)?;
        let _ = std::fs::remove_file(staging.with_extension("creating.wal"));
        sync_dir(&self.config.data_dir.join("catalogs"))?;
        info!(catalog = name, "created database");
        self.publish_to_open()?;
        Ok(())
    }

    pub fn drop_catalog(&self, name: &str, if_exists: bool) -> Result<bool, EngineError> {
        let _ddl = self.ddl.lock().expect("ddl lock poisoned");
        let path = self.path(name);
        if validate_catalog_name(name).is_err() || !path.exists() {
            if if_exists {
                return Ok(false);
            }
            return Err(EngineError::new(
                "3D000",
                format!("database \"{name}\" does not exist"),
            ));
        }
        if name == DEFAULT_CATALOG {
            return Err(EngineError::new(
                "55006",
                format!("cannot drop the default database \"{name}\""),
            ));
        }
        let mut open = self.open.lock().expect("catalog map poisoned");
        if let Some(catalog) = open.get(name) {
            refuse_if_used(name, catalog)?;
            open.remove(name);
        }
        std::fs::remove_file(&path)?;
        let wal = PathBuf::from(format!("{}.wal", path.display()));
        if wal.exists() {
            std::fs::remove_file(wal)?;
        }
        sync_dir(&self.config.data_dir.join("catalogs"))?;
        info!(catalog = name, "dropped database");
        drop(open);
        self.publish_to_open()?;
        Ok(true)
    }

    /// Refuses (55006, as PostgreSQL) when sessions use the catalog.
    pub fn check_unused(&self, name: &str) -> Result<(), EngineError> {
        match self.open.lock().expect("catalog map poisoned").get(name) {
            Some(catalog) => refuse_if_used(name, catalog),
            None => Ok(()),
        }
    }

    /// Drops a catalog the control plane dropped. Unlike [`drop_catalog`],
    /// sessions still using it do not stop the drop: the log already decided
    /// it on every node. They see [`Catalog::retirement`] and end. Their
    /// DuckDB instance lives on over the unlinked file until the last one
    /// goes; it is checkpointed first so that closing it later writes no
    /// WAL under the name, which a new catalog of that name may own by then.
    /// Idempotent.
    ///
    /// [`drop_catalog`]: Catalogs::drop_catalog
    pub fn drop_replicated(&self, name: &str) -> Result<(), EngineError> {
        validate_catalog_name(name)?;
        if name == DEFAULT_CATALOG {
            return Err(EngineError::new(
                "55006",
                format!("cannot drop the default database \"{name}\""),
            ));
        }
        let _ddl = self.ddl.lock().expect("ddl lock poisoned");
        let removed = self.open.lock().expect("catalog map poisoned").remove(name);
        if let Some(catalog) = removed {
            catalog.retire(Retirement::Dropped);
            catalog.connect()?.execute_batch("FORCE CHECKPOINT")?;
        }
        let path = self.path(name);
        let wal = PathBuf::from(format!("{}.wal", path.display()));
        for file in [&path, &wal] {
            match std::fs::remove_file(file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        sync_dir(&self.config.data_dir.join("catalogs"))?;
        info!(catalog = name, "dropped database (replicated)");
        self.publish_to_open()?;
        Ok(())
    }

    /// Closes catalog `name` for a snapshot to replace its file: the open
    /// instance leaves the map (the next `open` reads the new file), its
    /// sessions see it dropped and end, and it is checkpointed so that it
    /// writes no WAL under the name later. The file stays.
    pub fn retire_replicated(&self, name: &str) -> Result<(), EngineError> {
        validate_catalog_name(name)?;
        let _ddl = self.ddl.lock().expect("ddl lock poisoned");
        let removed = self.open.lock().expect("catalog map poisoned").remove(name);
        if let Some(catalog) = removed {
            catalog.retire(Retirement::Replaced);
            catalog.connect()?.execute_batch("FORCE CHECKPOINT")?;
        }
        Ok(())
    }

    /// Whether a catalog file of this name exists.
    pub fn exists(&self, name: &str) -> bool {
        validate_catalog_name(name).is_ok() && self.path(name).exists()
    }

    /// Checkpoints every open catalog (used at shutdown).
    pub fn checkpoint_all(&self) -> Result<(), EngineError> {
        let open: Vec<Arc<Catalog>> = self
            .open
            .lock()
            .expect("catalog map poisoned")
            .values()
            .cloned()
            .collect();
        for catalog in open {
            catalog
                .describer
                .lock()
                .expect("describer poisoned")
                .execute_batch("CHECKPOINT")?;
        }
        Ok(())
    }
}

fn refuse_if_used(name: &str, catalog: &Arc<Catalog>) -> Result<(), EngineError> {
    // One reference is the map's own.
    let sessions = Arc::strong_count(catalog) - 1;
    if sessions > 0 {
        return Err(EngineError::new(
            "55006",
            format!("database \"{name}\" is being accessed by other users"),
        )
        .with_hint(format!(
            "There are {sessions} other sessions using the database."
        )));
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> Result<(), EngineError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
