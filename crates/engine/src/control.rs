//! The control-plane state machine (`cp-metadata`): the catalog registry
//! and users. It is applied from the control group's log exactly like a
//! catalog: in log order, into DuckDB, with the applied index and the
//! proposal dedup table written in the same transaction as the effects.
//!
//! A catalog's Raft group id is the log index of the entry that created it,
//! so every node derives the same id without coordination.
//!
//! Roles live in two tables: `cp_users` (name, verifier; `''` for no
//! password) as format 1 wrote it, and `cp_role_flags` (superuser, login).
//! A role without a flags row is a login role that is not a superuser, which
//! is what every role written before the flags existed was.

use std::collections::BTreeMap;

use duckdb::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::command::{self, Command, ControlCommand, PasswordChange, ProposalId, Role};
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
    CREATE TABLE IF NOT EXISTS __duckraft.cp_role_flags (
        name VARCHAR PRIMARY KEY, superuser BOOLEAN NOT NULL, login BOOLEAN NOT NULL);
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
    /// `DROP ROLE` of these roles (the ones that existed).
    RolesDropped {
        names: Vec<String>,
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
    /// Invariant: every verifier is `Some` non-empty text or `None`.
    users: BTreeMap<String, Role>,
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

fn role_missing(name: &str) -> ControlOutcome {
    failed("42704", format!("role \"{name}\" does not exist"))
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
                .prepare(
                    "SELECT u.name, u.verifier, coalesce(f.superuser, false), coalesce(f.login, true)
                     FROM __duckraft.cp_users u LEFT JOIN __duckraft.cp_role_flags f USING (name)",
                )?
                .query_map([], |r| {
                    let verifier: String = r.get(1)?;
                    Ok((
                        r.get(0)?,
                        Role {
                            verifier: (!verifier.is_empty()).then_some(verifier),
                            superuser: r.get(2)?,
                            login: r.get(3)?,
                        },
                    ))
                })?
                .collect::<Result<BTreeMap<String, Role>, _>>()?;
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

    /// Role name to role, as applied.
    pub fn users(&self) -> &BTreeMap<String, Role> {
        &self.users
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
                    let verifier = (!verifier.is_empty()).then_some(verifier);
                    users
                        .entry(name.clone())
                        .and_modify(|role| role.verifier = verifier.clone())
                        .or_insert(Role {
                            verifier,
                            superuser: false,
                            login: true,
                        });
                    ControlOutcome::UserPut { name }
                }
                Command::Control(ControlCommand::DropUser { name }) => match users.remove(&name) {
                    Some(_) => ControlOutcome::UserDropped { name },
                    None => role_missing(&name),
                },
                Command::Control(ControlCommand::CreateRole { name, mut role }) => {
                    if users.contains_key(&name) {
                        failed("42710", format!("role \"{name}\" already exists"))
                    } else {
                        role.verifier = role.verifier.filter(|v| !v.is_empty());
                        users.insert(name.clone(), role);
                        ControlOutcome::UserPut { name }
                    }
                }
                Command::Control(ControlCommand::AlterRole { name, change }) => {
                    match users.get_mut(&name) {
                        None => role_missing(&name),
                        Some(role) => {
                            match change.password {
                                Some(PasswordChange::Set(v)) if !v.is_empty() => {
                                    role.verifier = Some(v)
                                }
                                Some(_) => role.verifier = None,
                                None => {}
                            }
                            role.superuser = change.superuser.unwrap_or(role.superuser);
                            role.login = change.login.unwrap_or(role.login);
                            ControlOutcome::UserPut { name }
                        }
                    }
                }
                Command::Control(ControlCommand::DropRoles { names, if_exists }) => {
                    match names.iter().find(|n| !users.contains_key(*n)) {
                        Some(missing) if !if_exists => role_missing(missing),
                        _ => {
                            let names: Vec<String> = names
                                .into_iter()
                                .filter(|n| users.remove(n).is_some())
                                .collect();
                            ControlOutcome::RolesDropped { names }
                        }
                    }
                }
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
        users: &BTreeMap<String, Role>,
        clients: &BTreeMap<u64, (u64, ControlOutcome)>,
        results: &[(u64, Option<ProposalId>, ControlOutcome)],
    ) -> Result<(), ReplicaError> {
        let write = || -> Result<(), duckdb::Error> {
            let c = &self.conn;
            c.execute_batch("BEGIN TRANSACTION")?;
            // The registry is small; rewriting it keeps the write obviously
            // equal to the in-memory image.
            c.execute_batch(
                "DELETE FROM __duckraft.cp_catalogs; DELETE FROM __duckraft.cp_users;
                 DELETE FROM __duckraft.cp_role_flags;",
            )?;
            for (name, group) in catalogs {
                c.execute(
                    "INSERT INTO __duckraft.cp_catalogs VALUES (?, ?)",
                    params![name, group],
                )?;
            }
            for (name, role) in users {
                c.execute(
                    "INSERT INTO __duckraft.cp_users VALUES (?, ?)",
                    params![name, role.verifier.as_deref().unwrap_or("")],
                )?;
                if role.superuser || !role.login {
                    c.execute(
                        "INSERT INTO __duckraft.cp_role_flags VALUES (?, ?, ?)",
                        params![name, role.superuser, role.login],
                    )?;
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Envelope, RoleChange};

    fn entry(command: ControlCommand) -> Vec<u8> {
        command::encode(&Envelope {
            id: None,
            command: Command::Control(command),
        })
    }

    fn apply(control: &mut ControlPlane, commands: Vec<ControlCommand>) -> Vec<ControlOutcome> {
        let first = control.applied_index() + 1;
        let data: Vec<Vec<u8>> = commands.into_iter().map(entry).collect();
        let committed: Vec<Committed<'_>> = data
            .iter()
            .enumerate()
            .map(|(i, data)| Committed {
                index: first + i as u64,
                term: 1,
                data,
            })
            .collect();
        control
            .apply(&committed)
            .unwrap()
            .into_iter()
            .map(|(_, _, outcome)| outcome)
            .collect()
    }

    fn sqlstate(outcome: &ControlOutcome) -> &str {
        match outcome {
            ControlOutcome::Failed { sqlstate, .. } => sqlstate,
            _ => "00000",
        }
    }

    fn role(verifier: Option<&str>, superuser: bool, login: bool) -> Role {
        Role {
            verifier: verifier.map(str::to_string),
            superuser,
            login,
        }
    }

    #[test]
    fn roles_are_created_altered_dropped_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.duckdb");
        let mut control = ControlPlane::open(Connection::open(&path).unwrap()).unwrap();
        let outcomes = apply(
            &mut control,
            vec![
                // The format-1 command: a login role, not a superuser.
                ControlCommand::PutUser {
                    name: "old".into(),
                    verifier: "v0".into(),
                },
                ControlCommand::CreateRole {
                    name: "alice".into(),
                    role: role(Some("v1"), false, true),
                },
                ControlCommand::CreateRole {
                    name: "alice".into(),
                    role: role(None, true, true),
                },
                ControlCommand::CreateRole {
                    name: "admins".into(),
                    role: role(None, true, false),
                },
                ControlCommand::AlterRole {
                    name: "alice".into(),
                    change: RoleChange {
                        password: Some(PasswordChange::Set("v2".into())),
                        superuser: Some(true),
                        login: None,
                    },
                },
                ControlCommand::AlterRole {
                    name: "ghost".into(),
                    change: RoleChange::default(),
                },
                ControlCommand::AlterRole {
                    name: "old".into(),
                    change: RoleChange {
                        password: Some(PasswordChange::Clear),
                        ..RoleChange::default()
                    },
                },
                // All or nothing: "ghost" is missing, so "old" stays.
                ControlCommand::DropRoles {
                    names: vec!["old".into(), "ghost".into()],
                    if_exists: false,
                },
            ],
        );
        let codes: Vec<&str> = outcomes.iter().map(sqlstate).collect();
        assert_eq!(
            codes,
            ["00000", "00000", "42710", "00000", "00000", "42704", "00000", "42704"]
        );
        let expected = BTreeMap::from([
            ("admins".to_string(), role(None, true, false)),
            ("alice".to_string(), role(Some("v2"), true, true)),
            ("old".to_string(), role(None, false, true)),
        ]);
        assert_eq!(control.users(), &expected);
        drop(control);
        let mut control = ControlPlane::open(Connection::open(&path).unwrap()).unwrap();
        assert_eq!(control.users(), &expected);

        let outcomes = apply(
            &mut control,
            vec![ControlCommand::DropRoles {
                names: vec!["old".into(), "ghost".into(), "admins".into()],
                if_exists: true,
            }],
        );
        assert_eq!(
            outcomes,
            [ControlOutcome::RolesDropped {
                names: vec!["old".into(), "admins".into()]
            }]
        );
        assert_eq!(control.users().keys().collect::<Vec<_>>(), ["alice"]);
    }

    #[test]
    fn a_user_table_written_before_role_flags_reads_as_login_roles() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE SCHEMA __duckraft;
             CREATE TABLE __duckraft.cp_users (name VARCHAR PRIMARY KEY, verifier VARCHAR NOT NULL);
             INSERT INTO __duckraft.cp_users VALUES ('bob', 'SCRAM-SHA-256$x');",
        )
        .unwrap();
        let control = ControlPlane::open(conn).unwrap();
        assert_eq!(
            control.users(),
            &BTreeMap::from([(
                "bob".to_string(),
                role(Some("SCRAM-SHA-256$x"), false, true)
            )])
        );
    }
}
