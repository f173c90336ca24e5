//! The replicated execution interface: sessions read from the local engine
//! and send every write through the catalog's Raft group, answering the
//! client only after this node has applied it (read-your-writes).
//!
//! Interactive transactions (explicit `BEGIN`, and the implicit one of a
//! multi-statement query) run tentatively on the session's connection (see
//! [`crate::tentative`]) and become one log entry at COMMIT, carrying their
//! snapshot index, read set and write set for the apply's conflict check.
//! `ROLLBACK` and read-only transactions propose nothing.
//!
//! Roles: `CREATE`/`ALTER`/`DROP ROLE` are cp-metadata entries. A plaintext
//! password becomes a SCRAM verifier here, at the proposer, so the log never
//! holds it. Logins check the roles this node applied
//! ([`Replication::role`]); the bootstrap superuser (`DUCKRAFT_PASSWORD`)
//! is local to each node, shadows any role of its name, and can be neither
//! altered nor dropped through SQL. Privileges are read from the applied
//! roles at each statement that needs them (only superusers manage roles
//! and databases). As in PostgreSQL, a session whose role is dropped keeps
//! running; it loses the privileges the role had.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use duckraft_engine::command::{
    ControlCommand, Member, PasswordChange, ProposalId, Role, RoleChange, RowBatch, WriteBatch,
    WriteOp, INTEGER_DIVISION_LEVEL, MEMBERSHIP_CAPABILITY_LEVEL, POSITIONAL_ROWS_LEVEL,
};
use duckraft_engine::control::{ControlOutcome, GRANTS_CAPABILITY_LEVEL, PUBLIC};
use duckraft_engine::replica::Outcome;
use duckraft_engine::session::Proposed;
use duckraft_engine::users::Users;
use duckraft_engine::{Retirement, StatementResult};
use duckraft_pgwire::scram::ScramVerifier;
use duckraft_pgwire::{Backend, Description, Interrupter, PgError, QueryOutput, Session};
use duckraft_raft::GroupId;
use duckraft_sql::access::{self, Access};
use duckraft_sql::determinism::{self, PinContext, WriteClass};
use duckraft_sql::lexer::{significant, tokenize};
use duckraft_sql::values_insert::{values_insert, InsertValue, ValuesInsert};
use duckraft_sql::{
    Column, IsolationLevel, MemberStatement, RoleOptions, RoleStatement, SqlKind, Value,
};

use crate::backend::{pg_error, LocalBackend};
use crate::replication::{Answer, NodeReport, Replication};
use crate::tentative::SharedSession;

pub struct ClusterBackend {
    pub local: Arc<LocalBackend>,
    pub replication: Replication,
}

impl Backend for ClusterBackend {
    type Session = ClusterSession;

    /// The node's bootstrap superuser, else a replicated role that may log
    /// in and has a password. Anything else looks like a wrong password.
    fn user_verifier(&self, user: &str) -> Option<ScramVerifier> {
        if self.local.users.get(user).is_some() {
            return self.local.user_verifier(user);
        }
        let role = self.replication.role(user).filter(|role| role.login)?;
        role.verifier.as_deref().and_then(ScramVerifier::decode)
    }

    fn is_superuser(&self, user: &str) -> bool {
        is_superuser(&self.local.users, &self.replication, user)
    }

    fn server_secret(&self) -> Vec<u8> {
        self.local.server_secret()
    }

    fn open_session(&self, user: &str, database: &str) -> Result<ClusterSession, PgError> {
        if self.replication.is_draining() {
            return Err(PgError::fatal(
                "57P03",
                "this node is draining before shutdown; connect to another node",
            ));
        }
        self.replication.await_settled_capability();
        // A catalog is served only once this node runs its group, and a
        // session stays with that group: after a DROP DATABASE and a new
        // CREATE DATABASE of the same name, it never writes to the new one.
        let group = self.replication.catalog_group(database).ok_or_else(|| {
            PgError::fatal("3D000", format!("database \"{database}\" does not exist"))
        })?;
        if !self.is_superuser(user) && !self.replication.access().may_connect(database, user) {
            return Err(PgError::fatal(
                "42501",
                format!("permission denied for database \"{database}\""),
            )
            .with_detail("User does not have CONNECT privilege."));
        }
        let inner = SharedSession::new(self.local.open_session(user, database)?);
        self.replication.tentatives.register(database, &inner);
        let canceled = Arc::new(AtomicBool::new(false));
        let interrupt_engine = inner.interrupter();
        let flag = canceled.clone();
        let interrupter: Interrupter = Arc::new(move || {
            flag.store(true, Ordering::SeqCst);
            interrupt_engine();
        });
        Ok(ClusterSession {
            interrupter,
            canceled,
            inner,
            replication: self.replication.clone(),
            bootstrap: self.local.users.clone(),
            // Random, so ids never repeat across sessions, nodes or restarts.
            client: rand::random(),
            seq: 0,
            transaction: None,
            consistency: ReadConsistency::Linearizable,
            integer_division: false,
            user: user.to_string(),
            database: database.to_string(),
            group,
        })
    }
}

pub struct ClusterSession {
    inner: Arc<SharedSession>,
    interrupter: Interrupter,
    /// Set by a cancel or statement timeout: one that arrives while the
    /// statement still waits for its read point (before DuckDB runs it)
    /// would otherwise be lost.
    canceled: Arc<AtomicBool>,
    replication: Replication,
    /// The node's local users file: its bootstrap superuser.
    bootstrap: Arc<Users>,
    client: u64,
    seq: u64,
    transaction: Option<OpenTransaction>,
    consistency: ReadConsistency,
    /// How this session's DuckDB connection divides, and so how the
    /// statements it proposes must (see [`ClusterSession::follow_division`]).
    integer_division: bool,
    user: String,
    database: String,
    group: GroupId,
}

/// `SET duckraft.read_consistency`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadConsistency {
    /// ReadIndex through the leader, then wait for the local apply.
    Linearizable,
    /// This node as applied; it has applied the session's own writes,
    /// since a write is answered only after the local apply.
    Session,
    /// This node as applied; works without a quorum.
    Local,
}

/// An interactive transaction in progress.
struct OpenTransaction {
    /// The applied index its DuckDB snapshot reflects.
    snapshot_index: u64,
    access: Access,
    ops: Vec<WriteOp>,
    /// Rows its writes changed.
    rows: u64,
    /// DuckDB's id of the transaction, read before its first write.
    transaction_id: Option<u64>,
    /// The apply may commit it in place of running its writes again
    /// (`Replica::adopt`): it ran reads and row-changing writes only.
    adoptable: bool,
}

/// SQLSTATEs come back from the log as strings; the wire layer wants
/// `'static` codes. The set of codes is small, so each is leaked once.
fn static_code(code: &str) -> &'static str {
    static CODES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut codes = CODES.lock().expect("code table lock");
    if let Some(known) = codes.get(code) {
        return known;
    }
    let leaked: &'static str = Box::leak(code.to_string().into_boxed_str());
    codes.insert(leaked);
    leaked
}

fn answer_error(answer: Answer) -> PgError {
    match answer {
        Answer::NoLeader => PgError::new(
            "57P03",
            "the write was not accepted: this catalog's Raft group has no leader (no quorum of nodes is reachable)",
        ),
        Answer::Unknown => PgError::new(
            "40003",
            "the write was proposed but not confirmed in time: it may or may not have been applied",
        ),
        Answer::Degraded(reason) => {
            PgError::new("XX000", format!("this node is degraded: {reason}"))
        }
        Answer::CatalogDropped => catalog_dropped(),
        Answer::Catalog(Outcome::Failed { sqlstate, message }) => {
            PgError::new(static_code(&sqlstate), message)
        }
        Answer::Control(ControlOutcome::Failed { sqlstate, message }) => {
            PgError::new(static_code(&sqlstate), message)
        }
        other => PgError::new("XX000", format!("unexpected answer to a write: {other:?}")),
    }
}

/// Ok when this node applied the control entry with an outcome `done`
/// accepts, first time or as a retry.
fn control_done(answer: Answer, done: fn(&ControlOutcome) -> bool) -> Result<(), PgError> {
    match answer {
        Answer::Control(ControlOutcome::Duplicate(first)) => {
            control_done(Answer::Control(*first), done)
        }
        Answer::Control(outcome) if done(&outcome) => Ok(()),
        other => Err(answer_error(other)),
    }
}

/// The bootstrap superuser, or a replicated role with SUPERUSER, as
/// applied now (privileges follow ALTER and DROP ROLE at once).
fn is_superuser(bootstrap: &Users, replication: &Replication, user: &str) -> bool {
    match bootstrap.get(user) {
        Some(record) => record.superuser,
        None => replication.role(user).is_some_and(|role| role.superuser),
    }
}

/// `ALTER USER current_user ...`: PostgreSQL reserves these names for the
/// session's own role.
fn is_current_role_keyword(name: &str) -> bool {
    matches!(name, "current_user" | "current_role" | "session_user")
}

fn permission_denied(what: &str) -> PgError {
    PgError::new("42501", format!("permission denied to {what}"))
}

/// What a role's password is stored as: a SCRAM verifier given by the
/// client (psql's `\password` sends one) as is, plaintext turned into one
/// with a random salt. An empty password means none, as in PostgreSQL.
fn password_verifier(password: &str) -> Result<Option<String>, PgError> {
    if password.is_empty() {
        return Ok(None);
    }
    if ScramVerifier::decode(password).is_some_and(|v| v.iterations >= 1) {
        return Ok(Some(password.to_string()));
    }
    let md5_hash = password.len() == 35
        && password.starts_with("md5")
        && password[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if md5_hash {
        return Err(PgError::feature_not_supported(
            "MD5 password hashes are not supported; give the password or a SCRAM-SHA-256 verifier",
        ));
    }
    let salt: [u8; 16] = rand::random();
    let verifier = ScramVerifier::new(
        password,
        salt.to_vec(),
        duckraft_pgwire::scram::SCRAM_ITERATIONS_DEFAULT,
    );
    Ok(Some(verifier.encode()))
}

fn affected_rows(answer: Answer) -> Result<u64, PgError> {
    match answer {
        Answer::Catalog(Outcome::Applied { rows }) => Ok(rows),
        Answer::Catalog(Outcome::Duplicate(first)) => affected_rows(Answer::Catalog(*first)),
        other => Err(answer_error(other)),
    }
}

/// What a session on a catalog that a replicated DROP DATABASE removed is
/// told; PostgreSQL ends such sessions with the same code.
fn catalog_dropped() -> PgError {
    PgError::fatal(
        "57P01",
        "terminating connection because its database was dropped",
    )
}

/// What a session is told when this node replaced its catalog's file with
/// a snapshot from the group's leader (it had fallen behind the leader's
/// log); the catalog is still there for a new session.
fn catalog_replaced() -> PgError {
    let mut error = PgError::fatal(
        "57P01",
        "terminating connection because this node replaced the database with a snapshot from \
         the Raft leader",
    );
    error.hint = Some("reconnect; the database is still there".into());
    error
}

fn serialization_failure(message: &str) -> PgError {
    let mut error = PgError::new("40001", format!("could not serialize access: {message}"));
    error.hint = Some("retry the transaction".into());
    error
}

fn wounded() -> PgError {
    serialization_failure(
        "a concurrent write conflict: a committed write needed a row or object this \
         transaction had changed, so the transaction was rolled back",
    )
}

/// `"public"."t"` as the row batch names it: `public.t` (parts unquoted).
fn unquoted_table_name(table: &str) -> Result<String, PgError> {
    let invalid = || PgError::new("42602", format!("invalid table name {table}"));
    let tokens = tokenize(table).map_err(|_| invalid())?;
    let mut parts = Vec::new();
    let mut expect_name = true;
    for token in significant(&tokens) {
        if expect_name {
            parts.push(token.identifier().ok_or_else(invalid)?);
        } else if token.kind != duckraft_sql::lexer::TokenKind::Dot {
            return Err(invalid());
        }
        expect_name = !expect_name;
    }
    if expect_name || parts.len() > 2 || parts.iter().any(|p| p.contains('.')) {
        return Err(invalid());
    }
    Ok(parts.join("."))
}

/// A row batch's target as `schema.table`; the bookkeeping is refused.
fn row_target(table: &str) -> Result<String, PgError> {
    let name = unquoted_table_name(table)?;
    if is_bookkeeping(&name) {
        let rejection = determinism::bookkeeping_rejection();
        return Err(PgError::new(rejection.sqlstate, rejection.message));
    }
    Ok(name)
}

/// Whether `schema.table` (as [`unquoted_table_name`] gives it) lies in the
/// replication bookkeeping.
fn is_bookkeeping(name: &str) -> bool {
    name.split_once('.')
        .is_some_and(|(schema, _)| schema == determinism::BOOKKEEPING_SCHEMA)
}

/// Why a new membership change must wait: some group's configuration, as
/// this node applied it, is not yet the member list.
fn membership_in_progress(report: &NodeReport) -> Option<String> {
    if report.membership_version == 0 {
        return None;
    }
    let members: Vec<&String> = report.member_list.keys().collect();
    report.groups.iter().find_map(|g| {
        let mut voters: Vec<&String> = g.voters.iter().collect();
        voters.sort();
        (voters != members || !g.learners.is_empty()).then(|| {
            format!(
                "{}: voters {:?}, learners {:?}; the member list is {:?}",
                g.name, g.voters, g.learners, members
            )
        })
    })
}

/// A member's name is its certificate's DNS name.
fn check_member_name(name: &str) -> Result<(), PgError> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    invalid_unless(valid, || {
        format!("invalid member name \"{name}\": a member's name is its certificate's DNS name")
    })
}

fn check_peer_addr(addr: &str) -> Result<(), PgError> {
    let valid = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    invalid_unless(valid, || {
        format!("invalid peer address \"{addr}\": expected host:port of the member's peer listener")
    })
}

/// 22023 (invalid parameter value) unless `valid`.
fn invalid_unless(valid: bool, message: impl FnOnce() -> String) -> Result<(), PgError> {
    if valid {
        Ok(())
    } else {
        Err(PgError::new("22023", message()))
    }
}

/// `duckraft_status()` in a query becomes this node's per-group report as an
/// inline table, so it composes with any SQL around it.
fn expand_status_function(sql: &str, replication: &Replication) -> Option<String> {
    let tokens = tokenize(sql).ok()?;
    let significant: Vec<(usize, &duckraft_sql::lexer::Token<'_>)> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.is_trivia())
        .collect();
    let calls: Vec<(usize, usize)> = significant
        .windows(3)
        .filter(|w| {
            w[0].1.is_word("duckraft_status")
                && w[1].1.kind == duckraft_sql::lexer::TokenKind::LeftParen
                && w[2].1.kind == duckraft_sql::lexer::TokenKind::RightParen
        })
        .map(|w| (w[0].0, w[2].0))
        .collect();
    if calls.is_empty() {
        return None;
    }
    let report = replication.report();
    let text = |v: &str| format!("'{}'", v.replace('\'', "''"));
    let ready = report.readiness().is_ok();
    let degraded = report.degraded.as_deref().map_or("NULL".into(), text);
    let rows: Vec<String> = report
        .groups
        .iter()
        .map(|g| {
            format!(
                "({}, {}, {}::BIGINT, {}, {}::BIGINT, {}, {}::BIGINT, {}::BIGINT, {}::BIGINT, {}::BIGINT, {}, {})",
                text(&report.node),
                text(&g.name),
                g.group,
                text(&g.role),
                g.term,
                g.leader.as_deref().map_or("NULL".into(), text),
                g.commit,
                g.applied,
                g.last_index,
                g.log_bytes,
                degraded,
                ready
            )
        })
        .collect();
    let table = format!(
        "(SELECT * FROM (VALUES {}) AS s(node, group_name, group_id, role, term, leader, \
         commit_index, applied_index, last_index, log_bytes, degraded, ready))",
        rows.join(", ")
    );
    let mut out = String::with_capacity(sql.len() + table.len());
    let mut next = 0;
    for (start, end) in calls {
        for token in &tokens[next..start] {
            out.push_str(token.text);
        }
        out.push_str(&table);
        next = end + 1;
    }
    for token in &tokens[next..] {
        out.push_str(token.text);
    }
    Some(out)
}

impl ClusterSession {
    /// 57014 if a cancel or timeout arrived during this statement's waits.
    fn check_canceled(&self) -> Result<(), PgError> {
        if self.canceled.load(Ordering::SeqCst) {
            return Err(PgError::new(
                "57014",
                "canceling statement due to user request",
            ));
        }
        Ok(())
    }

    /// Ends the session once its catalog was dropped or replaced.
    fn check_catalog(&self) -> Result<(), PgError> {
        match self.inner.lock().engine.catalog_retired() {
            None => Ok(()),
            Some(Retirement::Dropped) => Err(catalog_dropped()),
            Some(Retirement::Replaced) => Err(catalog_replaced()),
        }
    }

    /// Inside a transaction the apply may wound, any DuckDB call on the
    /// session's connection can fail with the interrupt it sends; the
    /// client must see the wound (40001, retried), not "Interrupted!".
    fn or_wounded(&self, error: PgError) -> PgError {
        if self.transaction.is_some() && self.inner.is_wounded() {
            wounded()
        } else {
            error
        }
    }

    fn require_superuser(&self, what: &str) -> Result<(), PgError> {
        if is_superuser(&self.bootstrap, &self.replication, &self.user) {
            Ok(())
        } else {
            Err(permission_denied(what))
        }
    }

    fn is_bootstrap(&self, name: &str) -> bool {
        self.bootstrap.get(name).is_some()
    }

    fn create_role(&mut self, name: &str, options: &RoleOptions) -> Result<(), PgError> {
        self.require_superuser("create role")?;
        if name.starts_with("pg_") || is_current_role_keyword(name) || name == PUBLIC {
            return Err(PgError::new(
                "42939",
                format!("role name \"{name}\" is reserved"),
            ));
        }
        if self.is_bootstrap(name) {
            return Err(PgError::new(
                "42710",
                format!("role \"{name}\" already exists"),
            ));
        }
        let verifier = match options.password.clone().flatten() {
            Some(password) => password_verifier(&password)?,
            None => None,
        };
        let role = Role {
            verifier,
            superuser: options.superuser.unwrap_or(false),
            login: options.login.unwrap_or(false),
        };
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::CreateRole {
                name: name.to_string(),
                role,
            },
        );
        control_done(answer, |o| matches!(o, ControlOutcome::UserPut { .. }))
    }

    /// A superuser alters any role; any role may change its own password.
    fn alter_role(&mut self, name: &str, options: &RoleOptions) -> Result<(), PgError> {
        let own_password =
            name == self.user && options.superuser.is_none() && options.login.is_none();
        if !own_password {
            self.require_superuser("alter role")?;
        }
        if self.is_bootstrap(name) {
            return Err(PgError::feature_not_supported(format!(
                "role \"{name}\" is the bootstrap superuser, set on each node by DUCKRAFT_PASSWORD; ALTER ROLE cannot change it"
            )));
        }
        let password = match &options.password {
            None => None,
            Some(None) => Some(PasswordChange::Clear),
            Some(Some(text)) => {
                Some(password_verifier(text)?.map_or(PasswordChange::Clear, PasswordChange::Set))
            }
        };
        let change = RoleChange {
            password,
            superuser: options.superuser,
            login: options.login,
        };
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::AlterRole {
                name: name.to_string(),
                change,
            },
        );
        control_done(answer, |o| matches!(o, ControlOutcome::UserPut { .. }))
    }

    /// All or nothing, in one cp-metadata entry.
    fn drop_roles(&mut self, names: &[String], if_exists: bool) -> Result<(), PgError> {
        self.require_superuser("drop role")?;
        for name in names {
            if self.is_bootstrap(name) {
                return Err(PgError::new(
                    "2BP01",
                    format!(
                        "cannot drop role \"{name}\" because it is required by the database system"
                    ),
                ));
            }
            if *name == self.user {
                return Err(PgError::new("55006", "current user cannot be dropped"));
            }
        }
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::DropRoles {
                names: names.to_vec(),
                if_exists,
            },
        );
        control_done(answer, |o| matches!(o, ControlOutcome::RolesDropped { .. }))
    }

    /// `GRANT|REVOKE CONNECT ON DATABASE`, once every member runs a binary
    /// that applies it (capability level 2). Superusers always connect.
    fn grant_connect(
        &mut self,
        databases: &[String],
        roles: &[String],
        grant: bool,
    ) -> Result<(), PgError> {
        let tag = if grant { "GRANT" } else { "REVOKE" };
        self.require_superuser(&format!("{} privileges", tag.to_lowercase()))?;
        self.require_capability(GRANTS_CAPABILITY_LEVEL, &format!("{tag} needs"))?;
        let roles: Vec<String> = roles
            .iter()
            .map(|role| match role.as_str() {
                "current_user" | "current_role" | "session_user" => self.user.clone(),
                _ => role.clone(),
            })
            .collect();
        if let Some(role) = roles.iter().find(|r| self.is_bootstrap(r)) {
            return Err(PgError::feature_not_supported(format!(
                "role \"{role}\" is the bootstrap superuser, which connects to every database"
            )));
        }
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::DatabaseConnect {
                databases: databases.to_vec(),
                roles,
                grant,
            },
        );
        control_done(answer, |o| {
            matches!(o, ControlOutcome::DatabaseConnectChanged { .. })
        })
    }

    /// `ALTER CLUSTER ADD|REMOVE MEMBER`: one member at a time, and only
    /// once the previous change reached every group (as this node sees it).
    /// The statement returns when cp-metadata recorded the new list; each
    /// group's leader then moves its group there (a new member joins as a
    /// learner and votes once it caught up), which `duckraft status` shows.
    fn change_members(&mut self, change: &MemberStatement) -> Result<(), PgError> {
        self.require_superuser("alter cluster")?;
        self.require_capability(MEMBERSHIP_CAPABILITY_LEVEL, "membership changes need")?;
        let report = self.replication.report();
        if report.member_list.values().any(|m| m.peer_addr.is_empty()) {
            return Err(PgError::feature_not_supported(
                "this node runs without the peer transport, so no member can join it",
            ));
        }
        if let Some(busy) = membership_in_progress(&report) {
            return Err(PgError::new(
                "55006",
                "the previous membership change is still in progress",
            )
            .with_detail(busy)
            .with_hint(
                "wait until duckraft status shows every group's voters equal to the member list",
            ));
        }
        let mut members = report.member_list.clone();
        match change {
            MemberStatement::Add { name, peer_addr } => {
                check_member_name(name)?;
                check_peer_addr(peer_addr)?;
                if members.contains_key(name) {
                    return Err(PgError::new(
                        "42710",
                        format!("member \"{name}\" already exists"),
                    ));
                }
                let highest = members
                    .values()
                    .map(|m| m.raft_id)
                    .chain(report.retired_ids.iter().copied())
                    .max()
                    .unwrap_or(0);
                let member = Member {
                    raft_id: highest + 1,
                    peer_addr: peer_addr.clone(),
                };
                members.insert(name.clone(), member);
            }
            MemberStatement::Remove { name } => {
                if members.remove(name).is_none() {
                    return Err(PgError::new(
                        "42704",
                        format!("member \"{name}\" does not exist"),
                    ));
                }
                if members.is_empty() {
                    return Err(PgError::new(
                        "55006",
                        "cannot remove the cluster's last member",
                    ));
                }
            }
        }
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::SetMembers {
                version: report.membership_version,
                members,
            },
        );
        control_done(answer, |o| matches!(o, ControlOutcome::MembersSet { .. }))
    }

    /// 0A000 until the cluster's capability level reaches `level`.
    fn require_capability(&self, level: u32, what_needs: &str) -> Result<(), PgError> {
        let capability = self.replication.capability_level();
        if capability >= level {
            return Ok(());
        }
        Err(PgError::feature_not_supported(format!(
            "{what_needs} cluster capability level {level}; the cluster is at {capability}"
        ))
        .with_hint(
            "the level rises by itself once every member runs a binary that supports it; \
             see member_capabilities in /status",
        ))
    }

    fn next_id(&mut self) -> ProposalId {
        self.seq += 1;
        ProposalId {
            client: self.client,
            seq: self.seq,
        }
    }

    /// Waits until this node may serve reads at the session's consistency level.
    fn read_point(&self) -> Result<(), PgError> {
        match self.consistency {
            ReadConsistency::Linearizable => {
                self.replication
                    .read_barrier(self.group)
                    .map_err(|answer| {
                        let mut error = match answer {
                            Answer::NoLeader => PgError::new(
                                "57P03",
                                "a linearizable read needs this catalog's Raft group to have a leader and a quorum, and it has none",
                            ),
                            other => answer_error(other),
                        };
                        error.hint = Some(
                            "SET duckraft.read_consistency = 'local' reads this node's state without a quorum".into(),
                        );
                        error
                    })
            }
            ReadConsistency::Session | ReadConsistency::Local => Ok(()),
        }
    }

    /// The statement as it is proposed and as it runs tentatively: DuckDB's
    /// dialect, parameters inlined, non-deterministic values fixed.
    fn pinned(&self, sql: &str, parameters: &[Value]) -> Result<String, PgError> {
        let rewritten = duckraft_sql::compat::for_duckdb(sql);
        let rewritten = self
            .inner
            .lock()
            .engine
            .rewrite_hex_bytea(&rewritten)
            .map_err(pg_error)?
            .into_owned();
        let inlined = duckraft_sql::literal::inline_parameters(&rewritten, parameters)
            .map_err(|e| PgError::new("08P01", e))?;
        if let WriteClass::Unsupported(rejection) = determinism::classify_write(&inlined) {
            return Err(PgError::new(rejection.sqlstate, rejection.message));
        }
        let now_micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let mut random = || rand::random::<u64>();
        let mut context = PinContext {
            now_micros,
            user: &self.user,
            database: &self.database,
            random: &mut random,
        };
        determinism::pin_nondeterminism(&inlined, &mut context)
            .map_err(|r| PgError::new(r.sqlstate, r.message))
    }

    /// Between transactions, takes up PostgreSQL's integer `/` once the
    /// cluster's level lets every member apply it: a statement then runs,
    /// describes and replicates with the same division everywhere.
    fn follow_division(&mut self) -> Result<(), PgError> {
        let wanted = self.replication.capability_level() >= INTEGER_DIVISION_LEVEL;
        if wanted != self.integer_division && self.transaction.is_none() {
            self.inner
                .lock()
                .engine
                .set_integer_division(wanted)
                .map_err(pg_error)?;
            self.integer_division = wanted;
        }
        Ok(())
    }

    fn autocommit_write(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError> {
        let has_returning = tokenize(sql)
            .map(|tokens| significant(&tokens).any(|t| t.is_word("RETURNING")))
            .unwrap_or(false);
        if has_returning {
            // The rows come from running it tentatively: a one-statement transaction.
            self.begin(None)?;
            let result = self.execute(sql, kind, parameters);
            let end = match &result {
                Ok(_) => self.commit(),
                Err(_) => self.rollback(),
            };
            let output = result?;
            end?;
            return Ok(output);
        }
        // Bound parameters travel as they are; literals only once pinned, as
        // the rewrites (hex bytea, for one) may change them.
        let parameters_only =
            values_insert(&duckraft_sql::compat::for_duckdb(sql)).filter(|insert| {
                !parameters.is_empty()
                    && insert
                        .rows
                        .iter()
                        .flatten()
                        .all(|v| matches!(v, InsertValue::Parameter(_)))
            });
        let op = match self.row_batch(parameters_only, parameters) {
            Some(rows) => WriteOp::Rows(rows),
            None => {
                let pinned = self.pinned(sql, parameters)?;
                match self.row_batch(values_insert(&pinned), &[]) {
                    Some(rows) => WriteOp::Rows(rows),
                    None => WriteOp::Sql(pinned),
                }
            }
        };
        // A row batch's target is added by the apply itself.
        let writes = match &op {
            WriteOp::Sql(pinned) => access::statement_access(pinned, true, kind == SqlKind::Ddl)
                .writes
                .into_iter()
                .collect(),
            WriteOp::Rows(_) => Vec::new(),
        };
        let id = self.next_id();
        let batch = WriteBatch {
            integer_division: self.integer_division,
            ..WriteBatch::autocommit(writes, vec![op])
        };
        let answer = self.replication.propose_write(self.group, id, batch);
        Ok(QueryOutput {
            columns: Vec::new(),
            rows: Vec::new(),
            affected_rows: affected_rows(answer)?,
            returns_rows: false,
        })
    }

    /// An `INSERT ... VALUES` of parameters and plain literals (see
    /// `duckraft_sql::values_insert`) as a typed row batch: every such insert
    /// of a table has one statement text per row count, which DuckDB plans
    /// once per connection. `None` (it stays a statement) until every member
    /// applies such batches.
    fn row_batch(&self, insert: Option<ValuesInsert>, parameters: &[Value]) -> Option<RowBatch> {
        if self.replication.capability_level() < POSITIONAL_ROWS_LEVEL {
            return None;
        }
        // The statement path refuses the bookkeeping with its reason.
        let insert = insert.filter(|insert| !is_bookkeeping(&insert.table))?;
        let rows = insert.bind(parameters)?;
        Some(RowBatch {
            table: insert.table,
            columns: insert.columns,
            rows,
        })
    }

    /// Runs one statement of the open transaction on its snapshot.
    fn transaction_statement(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError> {
        if self.inner.is_wounded() {
            return Err(wounded());
        }
        let writes = matches!(kind, SqlKind::Write | SqlKind::Ddl);
        let (text, statement_access) = if writes {
            // Pinning queries DuckDB (column types), so a wound can interrupt it too.
            let pinned = self
                .pinned(sql, parameters)
                .map_err(|e| self.or_wounded(e))?;
            let statement_access = access::statement_access(&pinned, true, kind == SqlKind::Ddl);
            (Some(pinned), statement_access)
        } else {
            (None, access::statement_access(sql, false, false))
        };
        let rows = match &text {
            Some(pinned) if kind == SqlKind::Write => self.row_batch(values_insert(pinned), &[]),
            _ => None,
        };
        let result = {
            let Some(mut session) = self.inner.lock_transaction() else {
                return Err(wounded());
            };
            if writes {
                // Before running: even a failing write can hold row locks
                // until the transaction ends.
                self.inner.set_holds_writes(true);
                let transaction = self
                    .transaction
                    .as_mut()
                    .expect("statements in a transaction have one");
                if transaction.transaction_id.is_none() {
                    match session.engine.transaction_id() {
                        Ok(id) => transaction.transaction_id = Some(id),
                        Err(_) => transaction.adoptable = false,
                    }
                }
            }
            match (&rows, &text) {
                (Some(batch), _) => {
                    session
                        .engine
                        .insert_rows(batch)
                        .map(|count| StatementResult {
                            columns: Vec::new(),
                            rows: Vec::new(),
                            affected_rows: count,
                            returns_rows: false,
                        })
                }
                (None, Some(pinned)) => session.engine.execute_exact(pinned, kind),
                (None, None) => session.engine.execute(sql, kind, parameters),
            }
        };
        let result = match result {
            // An interrupt or conflict caused by the apply wounding us.
            Err(_) if self.inner.is_wounded() => return Err(wounded()),
            other => other.map_err(pg_error)?,
        };
        let transaction = self
            .transaction
            .as_mut()
            .expect("statements in a transaction have one");
        transaction.access.merge(statement_access);
        transaction.adoptable &= matches!(kind, SqlKind::Read | SqlKind::Write);
        if writes {
            transaction.rows += result.affected_rows;
        }
        match (rows, text) {
            (Some(batch), _) => transaction.ops.push(WriteOp::Rows(batch)),
            (None, Some(pinned)) => transaction.ops.push(WriteOp::Sql(pinned)),
            (None, None) => {}
        }
        Ok(QueryOutput {
            columns: result.columns,
            rows: result.rows,
            affected_rows: result.affected_rows,
            returns_rows: result.returns_rows,
        })
    }

    /// Keeps the open transaction for the apply of its entry to commit
    /// (see `crate::tentative`); `false` if it already ended.
    fn propose_open(&mut self, proposed: Proposed) -> bool {
        let id = proposed.id;
        {
            let Some(mut session) = self.inner.lock_transaction() else {
                return false;
            };
            session.engine.propose(proposed);
        }
        self.replication
            .tentatives
            .register_proposed(id, &self.inner);
        true
    }

    /// Ends the tentative DuckDB transaction (its effects, if the
    /// transaction commits, come back through the log).
    fn end_tentative(&mut self) -> Result<(), PgError> {
        let mut session = self.inner.lock();
        self.inner.set_holds_writes(false);
        match Session::rollback(&mut *session) {
            // A wound that raced this rollback interrupted it (57014). The
            // transaction must still end; a rollback of nothing succeeds.
            Err(_) if self.inner.is_wounded() => Session::rollback(&mut *session),
            ended => ended,
        }
    }

    /// Relations whose reads the statement text does not show (views and
    /// macros of the catalog) widen the read set to everything.
    fn complete_reads(&mut self, reads: &mut BTreeSet<String>) -> Result<(), PgError> {
        if reads.is_empty() || reads.contains(access::ALL) {
            return Ok(());
        }
        let hidden = self
            .inner
            .lock()
            .engine
            .view_and_macro_names()
            .map_err(pg_error)?;
        if hidden.iter().any(|name| reads.contains(name)) {
            reads.insert(access::ALL.to_string());
        }
        Ok(())
    }
}

impl Session for ClusterSession {
    fn describe(&mut self, sql: &str, parameter_types: &[u32]) -> Result<Description, PgError> {
        self.check_catalog()?;
        self.follow_division()?;
        let expanded = expand_status_function(sql, &self.replication);
        let sql = expanded.as_deref().unwrap_or(sql);
        let described = self.inner.lock().describe(sql, parameter_types);
        described.map_err(|e| self.or_wounded(e))
    }

    fn execute(
        &mut self,
        sql: &str,
        kind: SqlKind,
        parameters: &[Value],
    ) -> Result<QueryOutput, PgError> {
        self.canceled.store(false, Ordering::SeqCst);
        self.check_catalog()?;
        self.follow_division()?;
        if kind == SqlKind::Other {
            if let WriteClass::Unsupported(rejection) = determinism::classify_write(sql) {
                // Text DuckDB cannot parse gets DuckDB's syntax error (42601),
                // as on a standalone node; nothing is run to find out.
                self.inner.lock().describe(sql, &[])?;
                return Err(PgError::new(rejection.sqlstate, rejection.message));
            }
        }
        if kind == SqlKind::Read {
            if let Some(expanded) = expand_status_function(sql, &self.replication) {
                return self.inner.lock().execute(&expanded, kind, parameters);
            }
        }
        if self.transaction.is_some() {
            return self.transaction_statement(sql, kind, parameters);
        }
        match kind {
            SqlKind::Write | SqlKind::Ddl => self.autocommit_write(sql, kind, parameters),
            SqlKind::Read | SqlKind::Other => {
                // A read that names nothing (`SELECT 1`, a client's liveness
                // probe) cannot see replicated state: no leader round-trip.
                let reads_state = kind == SqlKind::Other
                    || !access::statement_access(sql, false, false).reads.is_empty();
                if reads_state {
                    self.read_point()?;
                }
                self.check_canceled()?;
                self.inner.lock().execute(sql, kind, parameters)
            }
        }
    }

    fn begin(&mut self, isolation: Option<IsolationLevel>) -> Result<(), PgError> {
        self.canceled.store(false, Ordering::SeqCst);
        self.check_catalog()?;
        self.follow_division()?;
        self.read_point()?;
        self.check_canceled()?;
        let mut session = self.inner.lock();
        self.inner.clear_wound();
        session.begin(isolation)?;
        // The first statement of the DuckDB transaction fixes its snapshot,
        // so this is the applied index every later read is consistent with.
        let snapshot_index = match session.engine.applied_index() {
            Ok(index) => index,
            Err(e) => {
                let _ = Session::rollback(&mut *session);
                return Err(pg_error(e));
            }
        };
        drop(session);
        self.transaction = Some(OpenTransaction {
            snapshot_index,
            access: Access::default(),
            ops: Vec::new(),
            rows: 0,
            transaction_id: None,
            adoptable: true,
        });
        Ok(())
    }

    fn commit(&mut self) -> Result<(), PgError> {
        let Some(mut transaction) = self.transaction.take() else {
            return Ok(());
        };
        if transaction.ops.is_empty() {
            return self.end_tentative();
        }
        let mut keep_open = transaction.adoptable && !self.inner.is_wounded();
        if keep_open {
            if let Err(error) = self.complete_reads(&mut transaction.access.reads) {
                // A wound interrupts the query; the transaction then ends
                // as any other.
                if !self.inner.is_wounded() {
                    let _ = self.end_tentative();
                    return Err(error);
                }
                keep_open = false;
            }
        }
        if !keep_open {
            // Every statement already ran, so a wound from here on costs
            // nothing: the DuckDB transaction ends now either way, and the
            // apply's conflict check decides the outcome.
            let ended = self.end_tentative();
            if ended.is_err() && !self.inner.is_wounded() {
                return ended;
            }
            self.complete_reads(&mut transaction.access.reads)?;
        }
        let id = self.next_id();
        let batch = WriteBatch {
            snapshot_index: Some(transaction.snapshot_index),
            read_set: transaction.access.reads.into_iter().collect(),
            write_set: transaction.access.writes.into_iter().collect(),
            ops: transaction.ops,
            integer_division: self.integer_division,
        };
        let kept_open = keep_open
            && transaction.transaction_id.is_some_and(|transaction_id| {
                self.propose_open(Proposed {
                    id,
                    batch: batch.clone(),
                    transaction_id,
                    rows: transaction.rows,
                })
            });
        if keep_open && !kept_open {
            let _ = self.end_tentative();
        }
        let answer = self.replication.propose_write(self.group, id, batch);
        if kept_open {
            self.replication.tentatives.forget_proposed(id);
            // The apply did not take it if the entry did not apply in time.
            self.inner.abandon_proposed();
        }
        affected_rows(answer).map(|_| ())
    }

    fn rollback(&mut self) -> Result<(), PgError> {
        self.transaction = None;
        self.end_tentative()
    }

    fn copy_in_columns(&mut self, table: &str, columns: &[String]) -> Result<Vec<Column>, PgError> {
        row_target(table)?;
        self.inner.lock().copy_in_columns(table, columns)
    }

    fn copy_in(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
    ) -> Result<u64, PgError> {
        let batch = RowBatch {
            table: row_target(table)?,
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            rows,
        };
        if self.transaction.is_none() {
            let id = self.next_id();
            let answer = self.replication.propose_write(
                self.group,
                id,
                WriteBatch::autocommit(Vec::new(), vec![WriteOp::Rows(batch)]),
            );
            return affected_rows(answer);
        }
        if self.inner.is_wounded() {
            return Err(wounded());
        }
        let count = {
            let Some(mut session) = self.inner.lock_transaction() else {
                return Err(wounded());
            };
            self.inner.set_holds_writes(true);
            session.copy_in(table, columns, batch.rows.clone())
        };
        let count = match count {
            Err(_) if self.inner.is_wounded() => return Err(wounded()),
            other => other?,
        };
        let transaction = self.transaction.as_mut().expect("checked above");
        // COPY inserts rows its own way, not as the apply does.
        transaction.adoptable = false;
        transaction.access.merge(access::append_access(table));
        transaction.ops.push(WriteOp::Rows(batch));
        Ok(count)
    }

    fn create_database(&mut self, name: &str) -> Result<(), PgError> {
        self.require_superuser("create database")?;
        duckraft_engine::catalog::validate_catalog_name(name).map_err(pg_error)?;
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::CreateCatalog {
                name: name.to_string(),
            },
        );
        match answer {
            Answer::Control(ControlOutcome::CatalogCreated { .. }) => Ok(()),
            Answer::Control(ControlOutcome::Duplicate(first))
                if matches!(*first, ControlOutcome::CatalogCreated { .. }) =>
            {
                Ok(())
            }
            other => Err(answer_error(other)),
        }
    }

    /// Proposed through cp-metadata, like CREATE DATABASE. As in
    /// PostgreSQL, the session's own database and one that other sessions
    /// on this node use are refused; sessions on other nodes cannot be
    /// asked in time, so the apply ends them there (57P01).
    fn drop_database(&mut self, name: &str, if_exists: bool) -> Result<(), PgError> {
        if self.transaction.is_some() {
            return Err(PgError::new(
                "25001",
                "DROP DATABASE cannot run inside a transaction block",
            ));
        }
        self.require_superuser("drop database")?;
        if name == self.database {
            return Err(PgError::new(
                "55006",
                "cannot drop the currently open database",
            ));
        }
        if self.replication.catalog_group(name).is_none() {
            if if_exists {
                return Ok(());
            }
            return Err(PgError::new(
                "3D000",
                format!("database \"{name}\" does not exist"),
            ));
        }
        let catalogs = self.inner.lock().catalogs.clone();
        catalogs.check_unused(name).map_err(pg_error)?;
        let id = self.next_id();
        let answer = self.replication.propose_control(
            id,
            ControlCommand::DropCatalog {
                name: name.to_string(),
            },
        );
        match answer {
            Answer::Control(ControlOutcome::CatalogDropped { .. }) => Ok(()),
            Answer::Control(ControlOutcome::Duplicate(first))
                if matches!(*first, ControlOutcome::CatalogDropped { .. }) =>
            {
                Ok(())
            }
            Answer::Control(ControlOutcome::Failed { sqlstate, .. })
                if if_exists && sqlstate == "3D000" =>
            {
                Ok(())
            }
            other => Err(answer_error(other)),
        }
    }

    fn cluster_member(&mut self, change: &MemberStatement) -> Result<(), PgError> {
        if self.transaction.is_some() {
            return Err(PgError::new(
                "25001",
                "ALTER CLUSTER cannot run inside a transaction block",
            ));
        }
        self.change_members(change)
    }

    fn database_connect(
        &mut self,
        databases: &[String],
        roles: &[String],
        grant: bool,
    ) -> Result<(), PgError> {
        if self.transaction.is_some() {
            let tag = if grant { "GRANT" } else { "REVOKE" };
            return Err(PgError::new(
                "25001",
                format!("{tag} cannot run inside a transaction block"),
            ));
        }
        self.grant_connect(databases, roles, grant)
    }

    /// PostgreSQL allows role commands in a transaction block; they cannot
    /// be part of a replicated transaction here, so they are refused there.
    fn role(&mut self, statement: &RoleStatement) -> Result<(), PgError> {
        if self.transaction.is_some() {
            return Err(PgError::new(
                "25001",
                format!("{} cannot run inside a transaction block", statement.tag()),
            ));
        }
        let resolve = |name: &String| {
            if is_current_role_keyword(name) {
                self.user.clone()
            } else {
                name.clone()
            }
        };
        match statement {
            RoleStatement::Create { name, options } => self.create_role(name, options),
            RoleStatement::Alter { name, options } => {
                let name = resolve(name);
                self.alter_role(&name, options)
            }
            RoleStatement::Drop { names, if_exists } => {
                let names: Vec<String> = names.iter().map(resolve).collect();
                self.drop_roles(&names, *if_exists)
            }
        }
    }

    fn set_parameter(&mut self, name: &str, value: Option<&str>) -> Result<(), PgError> {
        if name.eq_ignore_ascii_case("duckraft.read_consistency") {
            self.consistency = match value.unwrap_or("linearizable") {
                "session" => ReadConsistency::Session,
                "local" => ReadConsistency::Local,
                _ => ReadConsistency::Linearizable,
            };
        }
        self.inner.lock().set_parameter(name, value)
    }

    fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_become_verifiers_and_verifiers_are_kept() {
        let stored = password_verifier("s3cret").unwrap().unwrap();
        assert!(!stored.contains("s3cret"));
        let verifier = ScramVerifier::decode(&stored).unwrap();
        assert!(verifier.verify_password("s3cret"));
        assert!(!verifier.verify_password("other"));
        // Random salt: the same password never gives the same verifier.
        assert_ne!(password_verifier("s3cret").unwrap().unwrap(), stored);
        // What psql's \password sends is stored as given.
        assert_eq!(password_verifier(&stored).unwrap(), Some(stored.clone()));
        assert_eq!(password_verifier("").unwrap(), None);
        let md5 = format!("md5{}", "0123456789abcdef".repeat(2));
        assert_eq!(password_verifier(&md5).unwrap_err().code, "0A000");
        // Text that only looks like a verifier is a password.
        let lookalike = password_verifier("SCRAM-SHA-256$x").unwrap().unwrap();
        assert!(ScramVerifier::decode(&lookalike)
            .unwrap()
            .verify_password("SCRAM-SHA-256$x"));
    }
}
