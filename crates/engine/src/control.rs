//! The control-plane state machine (`cp-metadata`): the catalog registry
//! and users. It is applied from the control group's log exactly like a
//! catalog: in log order, into DuckDB, with the applied index and the
//! proposal dedup table written in the same transaction as the effects.
//!
//! A catalog's Raft group id is the log index of the entry that created it,
//! so every node derives the same id without coordination.

use std::collections::BTreeMap;

use duckdb::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::command::{self, Command, ControlCommand, ProposalId};
use crate::replica::{Committed, ReplicaError};

const BOOKKEEPING_SQL: &str = "
    CREATE SCHEMA IF NOT EXISTS __duckraft;
    CREATE TABLE IF NOT EXISTS __duckraft.cp_applied (
        id INTEGER PRIMARY KEY, idx UBIGINT NOT NULL, term UBIGINT NOT NULL);
    INSERT INTO __duckraft.cp_applied VALUES (0, 0, 0) ON CONFLICT DO NOTHING;
    CREATE TABLE IF NOT EXISTS __duckraft.cp_catalogs (
        name VARCHAR PRIMARY KEY, group_id UBIGINT NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.cp_users (
        name VARCHAR PRIMARY KEY, verifier VARCHAR NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.cp_clients (
        client UBIGINT PRIMARY KEY, seq UBIGINT NOT NULL, outcome VARCHAR NOT NULL);
";

/// What applying one control entry did; identical on every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlOutcome {
    CatalogCreated {
        name: String,
        group: u64,
    },
    CatalogDropped {
        name: String,
        group: u64,
    },
    UserPut {
        name: String,
    },
    UserDropped {
        name: String,
    },
    Failed {
        sqlstate: String,
        message: String,
    },
    /// A retry of an applied proposal, answered from the dedup table.
    Duplicate(Box<ControlOutcome>),
    Noop,
}

pub struct ControlPlane {
    conn: Connection,
    applied_index: u64,
    applied_term: u64,
    catalogs: BTreeMap<String, u64>,
    users: BTreeMap<String, String>,
    clients: BTreeMap<u64, (u64, ControlOutcome)>,
    dedup: bool,
}

fn engine(index: Option<u64>, e: &duckdb::Error) -> ReplicaError {
    ReplicaError::Engine {
        index,
        sqlstate: "58030".into(),
        message: e.to_string(),
    }
}

fn failed(sqlstate: &str, message: String) -> ControlOutcome {
    ControlOutcome::Failed {
        sqlstate: sqlstate.into(),
        message,
    }
}

impl ControlPlane {
    pub fn open(conn: Connection) -> Result<ControlPlane, ReplicaError> {
        conn.execute_batch(&format!("BEGIN TRANSACTION; {BOOKKEEPING_SQL} COMMIT;"))
            .map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                engine(None, &e)
            })?;
        let read = || -> Result<ControlPlane, duckdb::Error> {
            let (applied_index, applied_term): (u64, u64) = conn.query_row(
                "SELECT idx, term FROM __duckraft.cp_applied WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let catalogs = conn
                .prepare("SELECT name, group_id FROM __duckraft.cp_catalogs")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<BTreeMap<String, u64>, _>>()?;
            let users = conn
                .prepare("SELECT name, verifier FROM __duckraft.cp_users")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<BTreeMap<String, String>, _>>()?;
            let stored = conn
                .prepare("SELECT client, seq, outcome FROM __duckraft.cp_clients")?
                .query_map([], |r| {
                    Ok((
                        r.get::<_, u64>(0)?,
                        r.get::<_, u64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut clients = BTreeMap::new();
            for (client, seq, outcome) in stored {
                let outcome = serde_json::from_str(&outcome).map_err(|e| {
                    duckdb::Error::FromSqlConversionFailure(2, duckdb::types::Type::Text, e.into())
                })?;
                clients.insert(client, (seq, outcome));
            }
            Ok(ControlPlane {
                conn: conn.try_clone()?,
                applied_index,
                applied_term,
                catalogs,
                users,
                clients,
                dedup: true,
            })
        };
        read().map_err(|e| ReplicaError::Corrupt(format!("control plane tables: {e}")))
    }

    /// Simulator seam for the "skip proposal dedup" injected bug.
    pub fn set_dedup(&mut self, on: bool) {
        self.dedup = on;
    }

    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// Writes everything committed into the database file (for a snapshot).
    pub fn checkpoint(&self) -> Result<(), ReplicaError> {
        self.conn
            .execute_batch("CHECKPOINT")
            .map_err(|e| engine(None, &e))
    }

    /// The term of the last applied entry (0: none).
    pub fn applied_term(&self) -> u64 {
        self.applied_term
    }

    /// Catalog name to Raft group id.
    pub fn catalogs(&self) -> &BTreeMap<String, u64> {
        &self.catalogs
    }

    /// Applies committed control entries in order, all in one DuckDB
    /// transaction. On `Err` nothing of this call was applied and the caller
    /// must mark the control plane degraded.
    pub fn apply(
        &mut self,
        entries: &[Committed<'_>],
    ) -> Result<Vec<(u64, Option<ProposalId>, ControlOutcome)>, ReplicaError> {
        let mut catalogs = self.catalogs.clone();
        let mut users = self.users.clone();
        let mut clients = self.clients.clone();
        let mut applied = self.applied_index;
        let mut last_term = 0;
        let mut results = Vec::new();
        for entry in entries {
            if entry.index <= applied {
                continue;
            }
            if entry.index != applied + 1 {
                return Err(ReplicaError::Gap {
                    expected: applied + 1,
                    got: entry.index,
                });
            }
            applied = entry.index;
            last_term = entry.term;
            if entry.data.is_empty() {
                results.push((entry.index, None, ControlOutcome::Noop));
                continue;
            }
            let envelope = command::decode(entry.data).map_err(|error| ReplicaError::Decode {
                index: entry.index,
                error,
            })?;
            if let Some(id) = envelope.id {
                if let Some((seq, first)) = clients.get(&id.client) {
                    if self.dedup && id.seq <= *seq {
                        let answer = ControlOutcome::Duplicate(Box::new(first.clone()));
                        results.push((entry.index, Some(id), answer));
                        continue;
                    }
                }
            }
            let outcome = match envelope.command {
                Command::Catalog(_) => failed(
                    "XX000",
                    "a catalog write was routed to the control group".into(),
                ),
                Command::Control(ControlCommand::CreateCatalog { name }) => {
                    if catalogs.contains_key(&name) || name == crate::DEFAULT_CATALOG {
                        failed("42P04", format!("database \"{name}\" already exists"))
                    } else {
                        catalogs.insert(name.clone(), entry.index);
                        ControlOutcome::CatalogCreated {
                            name,
                            group: entry.index,
                        }
                    }
                }
                Command::Control(ControlCommand::DropCatalog { name }) => {
                    match catalogs.remove(&name) {
                        Some(group) => ControlOutcome::CatalogDropped { name, group },
                        None => failed("3D000", format!("database \"{name}\" does not exist")),
                    }
                }
                Command::Control(ControlCommand::PutUser { name, verifier }) => {
                    users.insert(name.clone(), verifier);
                    ControlOutcome::UserPut { name }
                }
                Command::Control(ControlCommand::DropUser { name }) => match users.remove(&name) {
                    Some(_) => ControlOutcome::UserDropped { name },
                    None => failed("42704", format!("role \"{name}\" does not exist")),
                },
            };
            if let Some(id) = envelope.id {
                clients.insert(id.client, (id.seq, outcome.clone()));
            }
            results.push((entry.index, envelope.id, outcome));
        }
        if applied == self.applied_index {
            return Ok(results);
        }
        self.persist(applied, last_term, &catalogs, &users, &clients, &results)?;
        self.catalogs = catalogs;
        self.users = users;
        self.clients = clients;
        self.applied_index = applied;
        self.applied_term = last_term;
        Ok(results)
    }

    fn persist(
        &self,
        applied: u64,
        term: u64,
        catalogs: &BTreeMap<String, u64>,
        users: &BTreeMap<String, String>,
        clients: &BTreeMap<u64, (u64, ControlOutcome)>,
        results: &[(u64, Option<ProposalId>, ControlOutcome)],
    ) -> Result<(), ReplicaError> {
        let write = || -> Result<(), duckdb::Error> {
            let c = &self.conn;
            c.execute_batch("BEGIN TRANSACTION")?;
            // The registry is small; rewriting it keeps the write obviously
            // equal to the in-memory image.
            c.execute_batch(
                "DELETE FROM __duckraft.cp_catalogs; DELETE FROM __duckraft.cp_users;",
            )?;
            for (name, group) in catalogs {
                c.execute(
                    "INSERT INTO __duckraft.cp_catalogs VALUES (?, ?)",
                    params![name, group],
                )?;
            }
            for (name, verifier) in users {
                c.execute(
                    "INSERT INTO __duckraft.cp_users VALUES (?, ?)",
                    params![name, verifier],
                )?;
            }
            for (_, id, _) in results {
                if let Some(id) = id {
                    let (seq, outcome) = &clients[&id.client];
                    let json = serde_json::to_string(outcome).expect("outcomes serialize");
                    c.execute(
                        "INSERT OR REPLACE INTO __duckraft.cp_clients VALUES (?, ?, ?)",
                        params![id.client, seq, json],
                    )?;
                }
            }
            c.execute(
                "UPDATE __duckraft.cp_applied SET idx = ?, term = ? WHERE id = 0",
                params![applied, term],
            )?;
            c.execute_batch("COMMIT")
        };
        write().map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            engine(Some(applied), &e)
        })
    }
}
