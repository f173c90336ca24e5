//! Checkers. Some run as events happen (one leader per term, one entry per
//! index), the rest judge the converged cluster at the end of a run.

use std::collections::{BTreeMap, BTreeSet};

use duckraft_engine::command::{self, Command, ControlCommand, PasswordChange, ProposalId};
use duckraft_raft::{GroupId, NodeId};
use sha2::{Digest, Sha256};

use crate::workload::{Ddl, History, Op, ReadLevel, Row, Verdict, COUNTERS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceItem {
    pub group: GroupId,
    pub index: u64,
    pub term: u64,
    pub digest: [u8; 32],
}

pub fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[derive(Default)]
pub struct Observations {
    pub failure: Option<String>,
    leaders: BTreeMap<(GroupId, u64), NodeId>,
    votes: BTreeMap<(GroupId, u64, NodeId), NodeId>,
    /// The entry every node applied at each index: must be one per index.
    applied: BTreeMap<(GroupId, u64), (TraceItem, Vec<u8>)>,
    /// Per node and group, the last index handed to the state machine.
    last_applied: BTreeMap<(NodeId, GroupId), u64>,
    /// Every completed read, judged against the model at the end.
    reads: Vec<ReadRecord>,
    /// Read indexes leaders handed out: (group, leader's term, index, leader).
    read_index_claims: Vec<(GroupId, u64, u64, NodeId)>,
    /// Every image a node exported, by CRC32C and length: (group, index).
    /// The genuine snapshots, against which every install is judged. (Not
    /// SHA-256: images are megabytes, and this runs unoptimized in tests.)
    exported: BTreeMap<(u32, usize), (GroupId, u64)>,
}

/// What the workload's reads look at in a catalog. `None` before the
/// catalog's tables exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub counters: Vec<i64>,
    pub rows: i64,
    /// `sum(id % ID_SUM_MODULUS)`: which rows, not just how many.
    pub id_sum: i64,
}

pub const ID_SUM_MODULUS: i64 = 1_000_003;

/// The reads' query; one snapshot, so `idx` and the values agree.
pub const SUMMARY_SQL: &str = "SELECT \
    (SELECT string_agg(CAST(n AS VARCHAR), ',' ORDER BY k) FROM main.counters), \
    (SELECT count(*) FROM main.t), \
    (SELECT CAST(coalesce(sum(id % 1000003), 0) AS BIGINT) FROM main.t)";

/// One completed read.
#[derive(Clone, Debug)]
pub struct ReadRecord {
    pub group: GroupId,
    pub node: NodeId,
    pub client: u64,
    pub level: ReadLevel,
    pub at: u64,
    /// The applied index of the state the read saw.
    pub index: u64,
    pub seen: Option<Summary>,
}

impl Observations {
    pub fn fail(&mut self, reason: String) {
        if self.failure.is_none() {
            self.failure = Some(reason);
        }
    }

    /// Election safety: at most one leader per group and term.
    pub fn leader(&mut self, group: GroupId, term: u64, node: NodeId) {
        let known = *self.leaders.entry((group, term)).or_insert(node);
        if known != node {
            self.fail(format!(
                "ElectionSafety: {group} term {term} has two leaders, nodes {known} and {node}"
            ));
        }
    }

    /// One vote per term: a node never grants two candidates the same term.
    pub fn vote(&mut self, group: GroupId, term: u64, voter: NodeId, candidate: NodeId) {
        let first = *self.votes.entry((group, term, voter)).or_insert(candidate);
        if first != candidate {
            self.fail(format!(
                "VoteDurable: node {voter} voted for {first} and then {candidate} in {group} term {term}"
            ));
        }
    }

    /// State-machine safety: every node applies the same entry at an index,
    /// in order, without gaps.
    pub fn trace(&mut self, node: NodeId, item: TraceItem, data: &[u8]) {
        let last = self.last_applied.entry((node, item.group)).or_insert(0);
        if item.index > *last + 1 {
            let msg = format!(
                "AppliedIndexAtomic: node {node} {} jumped from applied index {last} to {}",
                item.group, item.index
            );
            self.fail(msg);
            return;
        }
        *last = (*last).max(item.index);
        match self.applied.get(&(item.group, item.index)) {
            None => {
                self.applied
                    .insert((item.group, item.index), (item, data.to_vec()));
            }
            Some((seen, _)) if *seen == item => {}
            Some((seen, _)) => {
                let msg = format!(
                    "StateMachineSafety: {} index {} applied as term {} on one node and term {} (different data: {}) on node {node}",
                    item.group,
                    item.index,
                    seen.term,
                    item.term,
                    seen.digest != item.digest
                );
                self.fail(msg);
            }
        }
    }

    /// Every index up to the highest applied one was applied somewhere.
    pub fn check_traces(&self) -> Result<(), String> {
        let mut expected: BTreeMap<GroupId, u64> = BTreeMap::new();
        for (group, index) in self.applied.keys() {
            let next = expected.entry(*group).or_insert(1);
            if *index != *next {
                return Err(format!(
                    "StateMachineSafety: committed trace of {group} has a hole at {next}"
                ));
            }
            *next += 1;
        }
        Ok(())
    }

    /// A node exported `data` as the state of `group` at `index`.
    pub fn snapshot_exported(&mut self, group: GroupId, index: u64, data: &[u8]) {
        self.exported
            .insert((crc32c::crc32c(data), data.len()), (group, index));
    }

    /// SnapshotInstallGuarded: a node told Raft it installed `data` as the
    /// state of `group` at `index`, its state machine having applied
    /// `applied_before` and now `applied_after`. The image must be one some
    /// node exported for this group at this index (not corrupted, not
    /// another group's), newer than what was applied, and the state
    /// machine must now hold exactly that index.
    pub fn snapshot_installed(
        &mut self,
        node: NodeId,
        group: GroupId,
        index: u64,
        data: &[u8],
        applied_before: u64,
        applied_after: u64,
    ) {
        let problem = match self.exported.get(&(crc32c::crc32c(data), data.len())) {
            None => Some("bytes no node exported (corrupted in transit)".to_string()),
            Some((g, _)) if *g != group => Some(format!("an image of {g}")),
            Some((_, i)) if *i != index => Some(format!("an image of index {i}")),
            Some(_) if index <= applied_before => {
                Some(format!("not newer than its applied index {applied_before}"))
            }
            Some(_) if applied_after != index => Some(format!(
                "but its state machine is at applied index {applied_after}"
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            self.fail(format!(
                "SnapshotInstallGuarded: node {node} installed a snapshot of {group} at index {index}: {problem}"
            ));
            return;
        }
        let last = self.last_applied.entry((node, group)).or_insert(0);
        *last = (*last).max(index);
    }

    /// SnapshotInstallAtomic: a crash inside an install of `index` left the
    /// state machine at `recovered`: it must hold what it had applied
    /// (`applied_before`) or exactly the snapshot, nothing in between.
    pub fn install_recovered(
        &mut self,
        node: NodeId,
        group: GroupId,
        applied_before: u64,
        index: u64,
        recovered: u64,
    ) {
        if recovered != applied_before && recovered != index {
            self.fail(format!(
                "SnapshotInstallAtomic: node {node} {group} recovered at applied index {recovered} from a crash inside an install of index {index}; it had applied {applied_before}"
            ));
            return;
        }
        let last = self.last_applied.entry((node, group)).or_insert(0);
        *last = (*last).max(recovered);
    }

    /// A completed read, to be judged against the model at the end.
    pub fn read(&mut self, record: ReadRecord) {
        self.reads.push(record);
    }

    pub fn reads(&self) -> &[ReadRecord] {
        &self.reads
    }

    /// A leader of `term` answered a ReadIndex request with `index`.
    pub fn read_index_claim(&mut self, group: GroupId, term: u64, index: u64, leader: NodeId) {
        self.read_index_claims.push((group, term, index, leader));
    }

    /// ReadIndexAfterOwnTermCommit: every read index a leader handed out
    /// covers the first entry of its own term (its no-op), i.e. the leader
    /// had committed in its term. Judged on the converged trace, where every
    /// committed entry is present.
    pub fn check_read_index_claims(&self) -> Result<(), String> {
        let mut first_of_term: BTreeMap<(GroupId, u64), u64> = BTreeMap::new();
        for ((group, index), (item, _)) in &self.applied {
            first_of_term.entry((*group, item.term)).or_insert(*index);
        }
        for &(group, term, index, leader) in &self.read_index_claims {
            match first_of_term.get(&(group, term)) {
                Some(first) if *first <= index => {}
                first => {
                    return Err(format!(
                        "ReadIndexAfterOwnTermCommit: node {leader}, leader of {group} in term \
                         {term}, handed out read index {index}, but the first entry of its term \
                         is {first:?} in the committed log"
                    ))
                }
            }
        }
        Ok(())
    }

    pub fn committed_entries(&self) -> u64 {
        self.applied.len() as u64
    }

    /// Hash of the agreed committed trace, for replay comparison.
    pub fn trace_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for ((group, index), (item, _)) in &self.applied {
            hasher.update(group.0.to_le_bytes());
            hasher.update(index.to_le_bytes());
            hasher.update(item.term.to_le_bytes());
            hasher.update(item.digest);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn entries(&self, group: GroupId) -> impl Iterator<Item = (u64, &Vec<u8>)> {
        self.applied
            .range((group, 0)..=(group, u64::MAX))
            .map(|((_, index), (_, data))| (*index, data))
    }
}

/// The user-visible content of one catalog.
#[derive(Debug, PartialEq, Eq)]
pub struct Tables {
    pub rows: Vec<Row>,
    pub counters: Vec<(i32, i64)>,
    /// Side tables DDL created, with their columns in order.
    pub side: Vec<(String, Vec<String>)>,
    pub indexes: Vec<String>,
}

/// Reads a catalog's content; a catalog whose setup entry is not applied
/// yet (a node that failed closed early) has no `t` and `counters`.
pub fn read_tables(conn: &duckdb::Connection) -> Result<Tables, duckdb::Error> {
    let created: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() \
         AND schema_name = 'main' AND table_name IN ('t', 'counters')",
        [],
        |r| r.get(0),
    )?;
    let (rows_sql, counters_sql) = if created == 2 {
        (
            "SELECT id, client, seq, v FROM main.t ORDER BY id",
            "SELECT k, n FROM main.counters ORDER BY k",
        )
    } else {
        (
            "SELECT 0::BIGINT, 0::UBIGINT, 0::UBIGINT, '' WHERE false",
            "SELECT 0, 0::BIGINT WHERE false",
        )
    };
    let mut stmt = conn.prepare(rows_sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                client: r.get(1)?,
                seq: r.get(2)?,
                v: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(counters_sql)?;
    let counters = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT table_name, column_name FROM duckdb_columns() \
         WHERE database_name = current_database() AND schema_name = 'main' \
           AND table_name LIKE 'side\\_%' ESCAPE '\\' \
         ORDER BY table_name, column_index",
    )?;
    let mut side: Vec<(String, Vec<String>)> = Vec::new();
    for column in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (table, column) = column?;
        match side.last_mut() {
            Some((last, columns)) if *last == table => columns.push(column),
            _ => side.push((table, vec![column])),
        }
    }
    let mut stmt = conn.prepare(
        "SELECT index_name FROM duckdb_indexes() \
         WHERE database_name = current_database() AND schema_name = 'main' \
         ORDER BY index_name",
    )?;
    let indexes = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Tables {
        rows,
        counters,
        side,
        indexes,
    })
}

/// What a read sees: the summary, or `None` when the tables do not exist.
pub fn read_summary(conn: &duckdb::Connection) -> Option<Summary> {
    let (counters, rows, id_sum): (Option<String>, i64, i64) = conn
        .query_row(SUMMARY_SQL, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .ok()?;
    let counters = counters
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().expect("DuckDB renders BIGINT as digits"))
        .collect();
    Some(Summary {
        counters,
        rows,
        id_sum,
    })
}

/// A pure-Rust model of one catalog, fed the committed log in order:
/// proposals deduplicated per session, a batch with a duplicate key has no
/// effect, a transaction aborts when `counters` or the schema changed after
/// its snapshot, DDL on a side table nobody created fails.
#[derive(Default)]
pub struct CatalogModel {
    rows: BTreeMap<i64, Row>,
    counters: BTreeMap<i32, i64>,
    created: bool,
    last_seq: BTreeMap<u64, u64>,
    /// Index of the last entry that changed each relation ("*": the schema).
    written: BTreeMap<&'static str, u64>,
    /// Side table number to its columns, in order.
    side: BTreeMap<u8, Vec<String>>,
    indexes: BTreeSet<u8>,
    /// Whether each proposal took effect, at its first commit.
    pub outcomes: BTreeMap<ProposalId, bool>,
    /// The first committed transaction that read something log order does
    /// not give at its commit point. Reported after the state comparison,
    /// which names a double apply or a missed abort more precisely.
    pub serializable: Option<String>,
}

impl CatalogModel {
    /// Applies the committed entry at `index`.
    fn apply(
        &mut self,
        group: GroupId,
        index: u64,
        data: &[u8],
        history: &History,
    ) -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        let envelope =
            command::decode(data).map_err(|e| format!("committed entry undecodable: {e}"))?;
        if !matches!(envelope.command, Command::Catalog(_)) {
            return Err(format!("{group} committed a control command"));
        }
        let Some(pid) = envelope.id else {
            return Ok(());
        };
        let last = self.last_seq.entry(pid.client).or_insert(0);
        if pid.seq <= *last {
            return Ok(());
        }
        *last = pid.seq;
        let Some(op) = history.ops.get(&pid) else {
            return Err(format!("committed proposal {pid:?} was never issued"));
        };
        let applied = match op {
            Op::CreateTable { .. } => {
                self.written.insert("*", index);
                if !self.created {
                    self.created = true;
                    for k in 0..COUNTERS {
                        self.counters.insert(k, 0);
                    }
                }
                true
            }
            Op::Insert { .. } | Op::Copy { .. } => {
                let new = op.rows();
                let mut ids: Vec<i64> = new.iter().map(|r| r.id).collect();
                ids.sort_unstable();
                ids.dedup();
                let collides =
                    ids.len() != new.len() || new.iter().any(|r| self.rows.contains_key(&r.id));
                if !collides {
                    self.written.insert("t", index);
                    for r in new {
                        self.rows.insert(r.id, r.clone());
                    }
                }
                !collides
            }
            Op::Bump { k, .. } => {
                self.written.insert("counters", index);
                if let Some(n) = self.counters.get_mut(k) {
                    *n += 1;
                }
                true
            }
            Op::ReadModifyWrite {
                k,
                snapshot,
                seen,
                marker,
                ..
            } => {
                let changed = ["counters", "*"]
                    .iter()
                    .filter_map(|r| self.written.get(r))
                    .any(|w| w > snapshot);
                if changed {
                    false // 40001 on every node
                } else {
                    let current = self.counters.get(k).copied();
                    if current != Some(*seen) && self.serializable.is_none() {
                        self.serializable = Some(format!(
                            "Serializable: transaction {pid:?} (entry {index}) read counter {k} = \
                             {seen} at snapshot {snapshot}, passed the conflict check, but in log \
                             order the counter is {current:?} there"
                        ));
                    }
                    // What every node does: the value the transaction computed.
                    self.counters.insert(*k, seen + 1);
                    self.rows.insert(marker.id, marker.clone());
                    self.written.insert("counters", index);
                    self.written.insert("t", index);
                    true
                }
            }
            Op::Ddl { change, .. } => {
                let applied = match *change {
                    Ddl::CreateSide(n) => {
                        self.side
                            .entry(n)
                            .or_insert_with(|| vec!["id".into(), "note".into()]);
                        true
                    }
                    Ddl::AddColumn(n, c) => match self.side.get_mut(&n) {
                        Some(columns) => {
                            let column = format!("extra_{c}");
                            if !columns.contains(&column) {
                                columns.push(column);
                            }
                            true
                        }
                        None => false,
                    },
                    Ddl::CreateIndex(n) => {
                        let exists = self.side.contains_key(&n);
                        if exists {
                            self.indexes.insert(n);
                        }
                        exists
                    }
                };
                if applied {
                    self.written.insert("*", index);
                }
                applied
            }
            Op::CreateCatalog(_)
            | Op::PutUser { .. }
            | Op::DropUser { .. }
            | Op::CreateRole { .. }
            | Op::AlterPassword { .. }
            | Op::DropRoles { .. } => {
                return Err(format!("{group} committed control operation {pid:?}"))
            }
        };
        self.outcomes.insert(pid, applied);
        Ok(())
    }

    /// What a read of this state returns.
    pub fn summary(&self) -> Option<Summary> {
        self.created.then(|| Summary {
            counters: self.counters.values().copied().collect(),
            rows: self.rows.len() as i64,
            id_sum: self.rows.keys().map(|id| id % ID_SUM_MODULUS).sum(),
        })
    }

    pub fn tables(&self) -> Tables {
        Tables {
            rows: self.rows.values().cloned().collect(),
            counters: self.counters.iter().map(|(k, n)| (*k, *n)).collect(),
            side: self
                .side
                .iter()
                .map(|(n, columns)| (format!("side_{n}"), columns.clone()))
                .collect(),
            indexes: self
                .indexes
                .iter()
                .map(|n| format!("side_{n}_idx"))
                .collect(),
        }
    }
}

/// Replays a catalog's committed log up to `upto` into the model.
pub fn oracle(
    obs: &Observations,
    group: GroupId,
    history: &History,
    upto: u64,
) -> Result<CatalogModel, String> {
    let mut model = CatalogModel::default();
    for (index, data) in obs.entries(group).take_while(|(index, _)| *index <= upto) {
        model.apply(group, index, data, history)?;
    }
    Ok(model)
}

/// Replays a catalog's committed log and judges every read of the catalog,
/// whatever its level, against the state at the applied index it saw: the
/// read must return exactly the log's prefix up to there
/// (AppliedIndexAtomic).
pub fn judge_reads(obs: &Observations, group: GroupId, history: &History) -> Result<(), String> {
    let mut reads: Vec<&ReadRecord> = obs.reads.iter().filter(|r| r.group == group).collect();
    reads.sort_by_key(|r| r.index);
    let mut reads = reads.into_iter().peekable();
    let mut model = CatalogModel::default();
    let mut judge = |model: &CatalogModel, before: u64| -> Result<(), String> {
        while let Some(read) = reads.next_if(|r| r.index < before) {
            let expected = model.summary();
            if read.seen != expected {
                return Err(format!(
                    "AppliedIndexAtomic: a {:?} read by client {} on node {} at {:.3}ms saw \
                     {:?} at applied index {} of {group}, but the log up to that index gives {:?}",
                    read.level,
                    read.client,
                    read.node,
                    read.at as f64 / 1000.0,
                    read.seen,
                    read.index,
                    expected
                ));
            }
        }
        Ok(())
    };
    for (index, data) in obs.entries(group) {
        judge(&model, index)?;
        model.apply(group, index, data, history)?;
    }
    judge(&model, u64::MAX)
}

/// The control plane (`cp-metadata`) replayed from its committed log: which
/// catalogs exist, the user table, and whether each proposal took effect.
#[derive(Default)]
pub struct ControlModel {
    catalogs: BTreeSet<String>,
    pub users: BTreeMap<String, String>,
    pub outcomes: BTreeMap<ProposalId, bool>,
}

pub fn control_oracle(obs: &Observations, history: &History) -> Result<ControlModel, String> {
    let mut model = ControlModel::default();
    let mut last_seq: BTreeMap<u64, u64> = BTreeMap::new();
    for (index, data) in obs.entries(GroupId::CONTROL) {
        if data.is_empty() {
            continue;
        }
        let envelope = command::decode(data)
            .map_err(|e| format!("committed control entry {index} undecodable: {e}"))?;
        let Command::Control(command) = envelope.command else {
            return Err(format!("cp-metadata committed a catalog write at {index}"));
        };
        let Some(pid) = envelope.id else {
            continue;
        };
        let last = last_seq.entry(pid.client).or_insert(0);
        if pid.seq <= *last {
            continue;
        }
        *last = pid.seq;
        if !history.ops.contains_key(&pid) {
            return Err(format!(
                "committed control proposal {pid:?} was never issued"
            ));
        }
        let applied = match command {
            ControlCommand::CreateCatalog { name } => model.catalogs.insert(name),
            ControlCommand::DropCatalog { name } => model.catalogs.remove(&name),
            ControlCommand::PutUser { name, verifier } => {
                model.users.insert(name, verifier);
                true
            }
            ControlCommand::DropUser { name } => model.users.remove(&name).is_some(),
            // The user table holds `''` for a role without a password.
            ControlCommand::CreateRole { name, role } => {
                let fresh = !model.users.contains_key(&name);
                if fresh {
                    model.users.insert(name, role.verifier.unwrap_or_default());
                }
                fresh
            }
            ControlCommand::AlterRole { name, change } => match model.users.get_mut(&name) {
                Some(verifier) => {
                    match change.password {
                        Some(PasswordChange::Set(v)) => *verifier = v,
                        Some(PasswordChange::Clear) => verifier.clear(),
                        None => {}
                    }
                    true
                }
                None => false,
            },
            ControlCommand::DropRoles { names, if_exists } => {
                let all = names.iter().all(|n| model.users.contains_key(n));
                if all || if_exists {
                    for name in &names {
                        model.users.remove(name);
                    }
                }
                all || if_exists
            }
            ControlCommand::ReportCapability { .. }
            | ControlCommand::SetCapability { .. }
            | ControlCommand::DatabaseConnect { .. }
            | ControlCommand::SetMembers { .. } => {
                return Err(format!(
                    "control proposal {pid:?} at {index} is of a kind the workload never issues"
                ))
            }
        };
        model.outcomes.insert(pid, applied);
    }
    Ok(model)
}

/// TxnOutcomeAgreement: what each client was told (applied, or failed)
/// is what the committed log did with its proposal. A write acknowledged
/// as applied that is not in the log at all breaks AckedWritesSurvive.
pub fn verdicts_agree(
    scope: &str,
    outcomes: &BTreeMap<ProposalId, bool>,
    history: &History,
    in_scope: impl Fn(&Op) -> bool,
) -> Result<(), String> {
    for (pid, op) in &history.ops {
        if !in_scope(op) {
            continue;
        }
        let logged = outcomes.get(pid).copied();
        match (history.verdicts.get(pid), logged) {
            (Some(Verdict::Applied), None) => {
                return Err(format!(
                    "AckedWritesSurvive: {scope}: {pid:?} ({op:?}) was acknowledged but is not in the committed log"
                ))
            }
            (Some(Verdict::Applied), Some(false)) => {
                return Err(format!(
                    "TxnOutcomeAgreement: {scope}: {pid:?} ({op:?}) was acknowledged as applied but the log makes it fail"
                ))
            }
            (Some(Verdict::Failed(reason)), Some(true)) => {
                return Err(format!(
                    "TxnOutcomeAgreement: {scope}: {pid:?} ({op:?}) was reported failed ({reason}) but the log applies it"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

pub fn difference(actual: &Tables, expected: &Tables) -> Option<String> {
    if actual.side != expected.side {
        return Some(format!(
            "side tables {:?}, oracle {:?}",
            actual.side, expected.side
        ));
    }
    if actual.indexes != expected.indexes {
        return Some(format!(
            "indexes {:?}, oracle {:?}",
            actual.indexes, expected.indexes
        ));
    }
    if actual.counters != expected.counters {
        return Some(format!(
            "counters {:?}, oracle {:?}",
            actual.counters, expected.counters
        ));
    }
    if actual.rows == expected.rows {
        return None;
    }
    let first = actual
        .rows
        .iter()
        .zip(&expected.rows)
        .find(|(a, e)| a != e)
        .map(|(a, e)| format!("DuckDB row {a:?}, oracle row {e:?}"))
        .unwrap_or_else(|| {
            format!(
                "DuckDB has {} rows, the oracle {}",
                actual.rows.len(),
                expected.rows.len()
            )
        });
    Some(first)
}

/// What clients were told matches what is stored: acknowledged rows exactly
/// once, failed ones absent, unknown ones at most once, nothing unasked-for.
pub fn acknowledged_exactly_once(
    catalog: &str,
    rows: &[Row],
    history: &History,
) -> Result<(), String> {
    let mut stored: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for row in rows {
        *stored.entry((row.client, row.seq)).or_insert(0) += 1;
        let pid = ProposalId {
            client: row.client,
            seq: row.seq,
        };
        if !history.ops.contains_key(&pid) {
            return Err(format!(
                "{catalog}: row {row:?} was never written by anyone"
            ));
        }
    }
    for (pid, op) in &history.ops {
        if op.catalog() != Some(catalog) || op.rows().is_empty() {
            continue;
        }
        let count = stored.get(&(pid.client, pid.seq)).copied().unwrap_or(0);
        let expected = op.rows().len();
        match history.verdicts.get(pid) {
            Some(Verdict::Applied) if count != expected => {
                return Err(format!(
                    "AckedWritesSurvive: acknowledged write {pid:?} in {catalog} has {count} of {expected} rows stored"
                ))
            }
            Some(Verdict::Failed(reason)) if count != 0 => {
                return Err(format!(
                    "TxnOutcomeAgreement: write {pid:?} in {catalog} was reported failed ({reason}) but {count} rows are stored"
                ))
            }
            Some(Verdict::Unknown) | None if count != 0 && count != expected => {
                return Err(format!(
                    "AppliedIndexAtomic: write {pid:?} in {catalog} is partially stored: {count} of {expected} rows"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Ddl, SIDE_COLUMNS, SIDE_TABLES};
    use duckraft_engine::replica::{Committed, Outcome, Replica};
    use rand::{Rng, SeedableRng};

    /// ReadIndexAfterOwnTermCommit judges a read index against the first
    /// entry of the leader's term in the committed trace.
    #[test]
    fn a_read_index_below_the_leaders_first_entry_is_caught() {
        let mut obs = Observations::default();
        let group = GroupId(0);
        for (index, term) in [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)] {
            let item = TraceItem {
                group,
                index,
                term,
                digest: digest(&[]),
            };
            obs.trace(1, item, &[]);
        }
        obs.read_index_claim(group, 2, 4, 1);
        obs.read_index_claim(group, 1, 2, 1);
        assert_eq!(obs.check_read_index_claims(), Ok(()));
        obs.read_index_claim(group, 2, 3, 1);
        let error = obs
            .check_read_index_claims()
            .expect_err("index 3 is before term 2");
        assert!(error.starts_with("ReadIndexAfterOwnTermCommit"), "{error}");
        let mut obs = Observations::default();
        obs.read_index_claim(group, 3, 9, 2);
        assert!(
            obs.check_read_index_claims().is_err(),
            "term 3 never committed"
        );
    }

    /// The model's idea of DDL (which side tables, columns and indexes
    /// exist; which changes fail) is DuckDB's, for random sequences.
    #[test]
    fn ddl_model_matches_duckdb() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..10 {
            let conn = duckdb::Connection::open_in_memory().expect("DuckDB opens");
            let reader = conn.try_clone().expect("clones");
            let mut replica = Replica::open(conn).expect("replica opens");
            let mut history = History::default();
            let mut model = CatalogModel::default();
            let group = GroupId(1);
            let mut ops = vec![Op::CreateTable {
                catalog: "c".into(),
            }];
            for _ in 0..16 {
                let n = rng.gen_range(0..SIDE_TABLES);
                let change = match rng.gen_range(0..3) {
                    0 => Ddl::CreateSide(n),
                    1 => Ddl::AddColumn(n, rng.gen_range(0..SIDE_COLUMNS)),
                    _ => Ddl::CreateIndex(n),
                };
                ops.push(Op::Ddl {
                    catalog: "c".into(),
                    change,
                });
            }
            for (i, op) in ops.into_iter().enumerate() {
                let index = i as u64 + 1;
                let pid = ProposalId {
                    client: 1,
                    seq: index,
                };
                let data = command::encode(&op.envelope(pid));
                history.ops.insert(pid, op.clone());
                let outcomes = replica
                    .apply(&[Committed {
                        index,
                        term: 1,
                        data: &data,
                    }])
                    .expect("DDL applies or fails deterministically");
                model
                    .apply(group, index, &data, &history)
                    .expect("model applies");
                let applied = matches!(outcomes[0].2, Outcome::Applied { .. });
                assert_eq!(
                    Some(applied),
                    model.outcomes.get(&pid).copied(),
                    "{op:?}: DuckDB said {:?}",
                    outcomes[0].2
                );
                let actual = read_tables(&reader).expect("tables readable");
                assert_eq!(difference(&actual, &model.tables()), None, "after {op:?}");
            }
        }
    }
}
