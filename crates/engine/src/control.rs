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
//!
//! The cluster's capability level (`cp_capability`, level 1 when absent)
//! and what each member reported it supports (`cp_member_capabilities`)
//! gate new commands; see [`crate::command::CAPABILITY_LEVEL`]. Database
//! grants (`cp_database_connect`: one row per database that has its own
//! CONNECT list, as a JSON array) exist from level 2.
//!
//! The member list (`cp_members`, one JSON row) exists from level 4, once an
//! operator first adds or removes a member; until then the members are the
//! ones every node was bootstrapped with. A catalog created after that
//! records there the voters its Raft group starts with, so every node
//! creates the group alike whatever it applied since.

use std::collections::{BTreeMap, BTreeSet};

use duckdb::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::command::{
    self, Command, ControlCommand, Member, PasswordChange, ProposalId, Role, BASE_CAPABILITY_LEVEL,
    MEMBERSHIP_CAPABILITY_LEVEL,
};
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
    CREATE TABLE IF NOT EXISTS __duckraft.cp_capability (
        id INTEGER PRIMARY KEY, level UINTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.cp_member_capabilities (
        node VARCHAR PRIMARY KEY, supports UINTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.cp_database_connect (
        database VARCHAR PRIMARY KEY, roles VARCHAR NOT NULL);
    CREATE TABLE IF NOT EXISTS __duckraft.cp_members (
        id INTEGER PRIMARY KEY, members VARCHAR NOT NULL);
";

/// The grantee that stands for every role, as in PostgreSQL.
pub const PUBLIC: &str = "public";

/// The level at which `GRANT/REVOKE CONNECT ON DATABASE` exists.
pub const GRANTS_CAPABILITY_LEVEL: u32 = 2;

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
    CapabilityReported {
        node: String,
        supports: u32,
    },
    /// The cluster's capability level after a `SetCapability` (unchanged
    /// if it already was at least the level asked for).
    CapabilitySet {
        level: u32,
    },
    DatabaseConnectChanged {
        databases: Vec<String>,
    },
    MembersSet {
        version: u64,
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
    access: Access,
    members: Members,
    dedup: bool,
}

/// The member list once an operator changed it (version 0: never; the
/// members are then the bootstrap list each node holds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    pub version: u64,
    /// Name to member.
    pub nodes: BTreeMap<String, Member>,
    /// Raft ids of members that left; never handed out again.
    pub retired: BTreeSet<u64>,
    /// Catalog group to the voters it was created with, for catalogs
    /// created once the list existed.
    pub catalog_voters: BTreeMap<u64, Vec<u64>>,
}

impl Members {
    /// The members' Raft ids, sorted.
    pub fn voters(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.nodes.values().map(|m| m.raft_id).collect();
        ids.sort_unstable();
        ids
    }

    /// Why `next` cannot follow this list, if it cannot: exactly one member
    /// joins or leaves, members keep their ids, and ids are never reused.
    fn check_change(&self, next: &BTreeMap<String, Member>) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        for (name, member) in next {
            if member.raft_id == 0 || !ids.insert(member.raft_id) {
                return Err(format!("member {name} has a zero or duplicate Raft id"));
            }
            if self.retired.contains(&member.raft_id) {
                return Err(format!(
                    "member {name} reuses Raft id {} of a member that left",
                    member.raft_id
                ));
            }
            if let Some(old) = self.nodes.get(name) {
                if old.raft_id != member.raft_id {
                    return Err(format!("member {name} cannot change its Raft id"));
                }
            }
        }
        if next.is_empty() {
            return Err("the cluster needs at least one member".into());
        }
        if self.version == 0 {
            // The bootstrap list is not recorded; the proposer stated it.
            return Ok(());
        }
        let joined = next.keys().filter(|n| !self.nodes.contains_key(*n)).count();
        let left = self.nodes.keys().filter(|n| !next.contains_key(*n)).count();
        if joined + left != 1 {
            return Err(format!(
                "a change adds or removes exactly one member ({joined} joined, {left} left)"
            ));
        }
        Ok(())
    }
}

/// Who may do what: the capability level and the database grants. Small,
/// so an apply works on a copy and keeps it only if the batch stores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// The cluster's capability level.
    pub capability: u32,
    /// Member name to the highest level its binary reported.
    pub member_capabilities: BTreeMap<String, u32>,
    /// Database to the roles that may connect to it (`public`: every
    /// role). A database not listed lets every role connect.
    pub connect: BTreeMap<String, BTreeSet<String>>,
}

impl Access {
    /// Whether `role` may connect to `database` (superusers always may).
    pub fn may_connect(&self, database: &str, role: &str) -> bool {
        self.connect
            .get(database)
            .is_none_or(|roles| roles.contains(PUBLIC) || roles.contains(role))
    }

    fn forget_role(&mut self, name: &str) {
        for roles in self.connect.values_mut() {
            roles.remove(name);
        }
    }
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

/// 0A000 for a command of a level the cluster has not reached.
fn below_level(access: &Access, level: u32, what: &str) -> Option<ControlOutcome> {
    (access.capability < level).then(|| {
        failed(
            "0A000",
            format!(
                "{what} need cluster capability level {level}; the cluster is at {}",
                access.capability
            ),
        )
    })
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
            let capability: Option<u32> = conn
                .query_row(
                    "SELECT level FROM __duckraft.cp_capability WHERE id = 0",
                    [],
                    |r| r.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    duckdb::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
            let member_capabilities = conn
                .prepare("SELECT node, supports FROM __duckraft.cp_member_capabilities")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<BTreeMap<String, u32>, _>>()?;
            let mut connect = BTreeMap::new();
            let stored_connect = conn
                .prepare("SELECT database, roles FROM __duckraft.cp_database_connect")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            for (database, roles) in stored_connect {
                let roles: BTreeSet<String> = serde_json::from_str(&roles).map_err(|e| {
                    duckdb::Error::FromSqlConversionFailure(1, duckdb::types::Type::Text, e.into())
                })?;
                connect.insert(database, roles);
            }
            let access = Access {
                capability: capability.unwrap_or(BASE_CAPABILITY_LEVEL),
                member_capabilities,
                connect,
            };
            let members = conn
                .query_row(
                    "SELECT members FROM __duckraft.cp_members WHERE id = 0",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    duckdb::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?
                .map(|json| serde_json::from_str::<Members>(&json))
                .transpose()
                .map_err(|e| {
                    duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Text, e.into())
                })?
                .unwrap_or_default();
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
                access,
                members,
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

    /// The capability level, member capabilities and database grants.
    pub fn members(&self) -> &Members {
        &self.members
    }

    pub fn access(&self) -> &Access {
        &self.access
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
        let mut access = self.access.clone();
        let mut members = self.members.clone();
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
                        if members.version > 0 {
                            members.catalog_voters.insert(entry.index, members.voters());
                        }
                        ControlOutcome::CatalogCreated {
                            name,
                            group: entry.index,
                        }
                    }
                }
                Command::Control(ControlCommand::DropCatalog { name }) => {
                    match catalogs.remove(&name) {
                        Some(group) => {
                            access.connect.remove(&name);
                            members.catalog_voters.remove(&group);
                            ControlOutcome::CatalogDropped { name, group }
                        }
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
                    Some(_) => {
                        // A role created later under this name gets nothing.
                        access.forget_role(&name);
                        ControlOutcome::UserDropped { name }
                    }
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
                            for name in &names {
                                access.forget_role(name);
                            }
                            ControlOutcome::RolesDropped { names }
                        }
                    }
                }
                Command::Control(ControlCommand::ReportCapability { node, supports }) => {
                    if supports < access.capability {
                        failed(
                            "55000",
                            format!(
                                "node {node} supports capability level {supports}, below the \
                                 cluster's {}: it needs a newer binary",
                                access.capability
                            ),
                        )
                    } else {
                        access.member_capabilities.insert(node.clone(), supports);
                        ControlOutcome::CapabilityReported { node, supports }
                    }
                }
                Command::Control(ControlCommand::SetCapability { level, members }) => {
                    let short = members.iter().find(|m| {
                        access
                            .member_capabilities
                            .get(*m)
                            .is_none_or(|supports| *supports < level)
                    });
                    match short {
                        _ if level <= access.capability => ControlOutcome::CapabilitySet {
                            level: access.capability,
                        },
                        Some(member) => failed(
                            "55000",
                            format!(
                                "cannot raise the capability level to {level}: member {member} \
                                 has not reported support for it"
                            ),
                        ),
                        None => {
                            access.capability = level;
                            ControlOutcome::CapabilitySet { level }
                        }
                    }
                }
                Command::Control(ControlCommand::DatabaseConnect {
                    databases,
                    roles,
                    grant,
                }) => {
                    let missing = databases.iter().find(|database| {
                        !catalogs.contains_key(*database) && *database != crate::DEFAULT_CATALOG
                    });
                    let unknown = roles
                        .iter()
                        .find(|r| *r != PUBLIC && !users.contains_key(*r));
                    if let Some(below) =
                        below_level(&access, GRANTS_CAPABILITY_LEVEL, "database grants")
                    {
                        below
                    } else if let Some(database) = missing {
                        failed("3D000", format!("database \"{database}\" does not exist"))
                    } else if let Some(role) = unknown {
                        role_missing(role)
                    } else {
                        for database in &databases {
                            let acl = access
                                .connect
                                .entry(database.clone())
                                .or_insert_with(|| BTreeSet::from([PUBLIC.to_string()]));
                            for role in &roles {
                                if grant {
                                    acl.insert(role.clone());
                                } else {
                                    acl.remove(role);
                                }
                            }
                        }
                        ControlOutcome::DatabaseConnectChanged { databases }
                    }
                }
                Command::Control(ControlCommand::SetMembers {
                    version,
                    members: next,
                }) => {
                    if let Some(below) =
                        below_level(&access, MEMBERSHIP_CAPABILITY_LEVEL, "membership changes")
                    {
                        below
                    } else if version != members.version {
                        failed(
                            "40001",
                            format!(
                                "the member list changed while this change was proposed \
                                 (version {version}, now {})",
                                members.version
                            ),
                        )
                    } else if let Err(reason) = members.check_change(&next) {
                        failed("22023", format!("invalid membership change: {reason}"))
                    } else {
                        let left: Vec<u64> = members
                            .nodes
                            .iter()
                            .filter(|(name, _)| !next.contains_key(*name))
                            .map(|(_, m)| m.raft_id)
                            .collect();
                        members.retired.extend(left);
                        members.nodes = next;
                        members.version += 1;
                        ControlOutcome::MembersSet {
                            version: members.version,
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
        let state = Registry {
            catalogs: &catalogs,
            users: &users,
            access: &access,
            members: &members,
        };
        self.persist(applied, last_term, &state, &clients, &results)?;
        self.catalogs = catalogs;
        self.users = users;
        self.clients = clients;
        self.access = access;
        self.members = members;
        self.applied_index = applied;
        self.applied_term = last_term;
        Ok(results)
    }

    fn persist(
        &self,
        applied: u64,
        term: u64,
        state: &Registry,
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
                 DELETE FROM __duckraft.cp_role_flags; DELETE FROM __duckraft.cp_capability;
                 DELETE FROM __duckraft.cp_member_capabilities;
                 DELETE FROM __duckraft.cp_database_connect; DELETE FROM __duckraft.cp_members;",
            )?;
            if state.members.version > 0 {
                let json = serde_json::to_string(state.members).expect("members serialize");
                c.execute(
                    "INSERT INTO __duckraft.cp_members VALUES (0, ?)",
                    params![json],
                )?;
            }
            c.execute(
                "INSERT INTO __duckraft.cp_capability VALUES (0, ?)",
                params![state.access.capability],
            )?;
            for (node, supports) in &state.access.member_capabilities {
                c.execute(
                    "INSERT INTO __duckraft.cp_member_capabilities VALUES (?, ?)",
                    params![node, supports],
                )?;
            }
            for (database, roles) in &state.access.connect {
                let roles = serde_json::to_string(roles).expect("names serialize");
                c.execute(
                    "INSERT INTO __duckraft.cp_database_connect VALUES (?, ?)",
                    params![database, roles],
                )?;
            }
            for (name, group) in state.catalogs {
                c.execute(
                    "INSERT INTO __duckraft.cp_catalogs VALUES (?, ?)",
                    params![name, group],
                )?;
            }
            for (name, role) in state.users {
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

/// The registry an apply stores, borrowed from its working copies.
struct Registry<'a> {
    catalogs: &'a BTreeMap<String, u64>,
    users: &'a BTreeMap<String, Role>,
    access: &'a Access,
    members: &'a Members,
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

    fn connect(database: &str, roles: &[&str], grant: bool) -> ControlCommand {
        ControlCommand::DatabaseConnect {
            databases: vec![database.into()],
            roles: roles.iter().map(|r| r.to_string()).collect(),
            grant,
        }
    }

    fn report(node: &str, supports: u32) -> ControlCommand {
        ControlCommand::ReportCapability {
            node: node.into(),
            supports,
        }
    }

    fn raise(level: u32) -> ControlCommand {
        ControlCommand::SetCapability {
            level,
            members: vec!["n1".into(), "n2".into()],
        }
    }

    /// The level rises only once every member reported support for it, never
    /// falls, and a node reporting less than the cluster's level is refused.
    /// Grants wait for level 2; then they follow PostgreSQL's CONNECT rules,
    /// and dropping a role or a database drops its grants. All of it
    /// survives a reopen.
    #[test]
    fn capability_level_gates_database_grants_and_both_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.duckdb");
        let mut control = ControlPlane::open(Connection::open(&path).unwrap()).unwrap();
        assert_eq!(control.access().capability, BASE_CAPABILITY_LEVEL);
        let outcomes = apply(
            &mut control,
            vec![
                ControlCommand::CreateCatalog {
                    name: "lake".into(),
                },
                ControlCommand::CreateRole {
                    name: "alice".into(),
                    role: role(Some("v"), false, true),
                },
                ControlCommand::CreateRole {
                    name: "bob".into(),
                    role: role(Some("v"), false, true),
                },
                connect("lake", &["public"], false),
                report("n1", 2),
                raise(2),
                report("n2", 1),
                raise(2),
            ],
        );
        let codes: Vec<&str> = outcomes.iter().map(sqlstate).collect();
        assert_eq!(
            codes,
            ["00000", "00000", "00000", "0A000", "00000", "55000", "00000", "55000"]
        );
        assert_eq!(control.access().capability, 1);
        assert!(control.access().may_connect("lake", "alice"));

        let outcomes = apply(
            &mut control,
            vec![
                report("n2", 2),
                raise(2),
                raise(1),
                report("n3", 1),
                connect("lake", &["public"], false),
                connect("lake", &["alice", "bob"], true),
                connect("lake", &["bob"], false),
                connect("nowhere", &["alice"], true),
                connect("lake", &["ghost"], true),
                connect("duckraft", &["public"], false),
            ],
        );
        let codes: Vec<&str> = outcomes.iter().map(sqlstate).collect();
        assert_eq!(
            codes,
            [
                "00000", "00000", "00000", "55000", "00000", "00000", "00000", "3D000", "42704",
                "00000"
            ]
        );
        assert_eq!(outcomes[2], ControlOutcome::CapabilitySet { level: 2 });
        let access = control.access().clone();
        assert_eq!(access.capability, 2);
        assert!(access.may_connect("lake", "alice"));
        assert!(!access.may_connect("lake", "bob"));
        assert!(!access.may_connect("duckraft", "alice"));
        assert!(access.may_connect("other", "bob"), "never granted: PUBLIC");

        drop(control);
        let mut control = ControlPlane::open(Connection::open(&path).unwrap()).unwrap();
        assert_eq!(control.access(), &access);

        // A role dropped and created again gets none of the old grants.
        apply(
            &mut control,
            vec![
                ControlCommand::DropRoles {
                    names: vec!["alice".into()],
                    if_exists: false,
                },
                ControlCommand::CreateRole {
                    name: "alice".into(),
                    role: role(Some("v"), false, true),
                },
                ControlCommand::DropCatalog {
                    name: "lake".into(),
                },
            ],
        );
        assert!(!control.access().may_connect("duckraft", "alice"));
        assert!(!control.access().connect.contains_key("lake"));
        assert!(
            control.access().may_connect("lake", "bob"),
            "a new lake starts open"
        );
    }

    fn members(version: u64, list: &[(&str, u64)]) -> ControlCommand {
        ControlCommand::SetMembers {
            version,
            members: list
                .iter()
                .map(|(name, id)| {
                    let member = Member {
                        raft_id: *id,
                        peer_addr: format!("127.0.0.1:{}", 7000 + id),
                    };
                    (name.to_string(), member)
                })
                .collect(),
        }
    }

    #[test]
    fn member_changes_go_one_at_a_time_never_reuse_ids_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.duckdb");
        let mut control = ControlPlane::open(Connection::open(&path).unwrap()).unwrap();
        let four = [("n1", 1), ("n2", 2), ("n3", 3), ("n4", 4)];
        let outcomes = apply(
            &mut control,
            vec![
                members(0, &four),
                report("n1", 4),
                report("n2", 4),
                raise(4),
                ControlCommand::CreateCatalog {
                    name: "before".into(),
                },
                members(1, &four),
                members(0, &four),
                ControlCommand::CreateCatalog {
                    name: "after".into(),
                },
            ],
        );
        let codes: Vec<&str> = outcomes.iter().map(sqlstate).collect();
        assert_eq!(
            codes,
            ["0A000", "00000", "00000", "00000", "00000", "40001", "00000", "00000"]
        );
        assert_eq!(control.members().version, 1);
        let before = control.catalogs()["before"];
        let after = control.catalogs()["after"];
        assert!(!control.members().catalog_voters.contains_key(&before));
        assert_eq!(control.members().catalog_voters[&after], vec![1, 2, 3, 4]);

        let outcomes = apply(
            &mut control,
            vec![
                // Two members leave at once.
                members(1, &[("n1", 1), ("n2", 2)]),
                // n3 takes n4's id.
                members(1, &[("n1", 1), ("n2", 2), ("n3", 4)]),
                members(1, &[("n1", 1), ("n2", 2), ("n4", 4)]),
                // n3 comes back under a new id; its old one is retired.
                members(2, &[("n1", 1), ("n2", 2), ("n3", 3), ("n4", 4)]),
                members(2, &[("n1", 1), ("n2", 2), ("n3", 5), ("n4", 4)]),
                members(3, &[]),
            ],
        );
        let codes: Vec<&str> = outcomes.iter().map(sqlstate).collect();
        assert_eq!(
            codes,
            ["22023", "22023", "00000", "22023", "00000", "22023"]
        );
        let recorded = control.members().clone();
        assert_eq!(recorded.version, 3);
        assert_eq!(recorded.voters(), vec![1, 2, 4, 5]);
        assert_eq!(recorded.retired, BTreeSet::from([3]));
        assert_eq!(recorded.nodes["n3"].peer_addr, "127.0.0.1:7005");

        drop(control);
        let mut control = ControlPlane::open(Connection::open(&path).unwrap()).unwrap();
        assert_eq!(control.members(), &recorded);
        apply(
            &mut control,
            vec![ControlCommand::DropCatalog {
                name: "after".into(),
            }],
        );
        assert!(control.members().catalog_voters.is_empty());
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
