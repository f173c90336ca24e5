//! Checkers. Some run as events happen (one leader per term, one entry per
//! index), the rest judge the converged cluster at the end of a run.

use std::collections::BTreeMap;

use duckraft_engine::command::{self, Command, ProposalId};
use duckraft_raft::{GroupId, NodeId};
use sha2::{Digest, Sha256};

use crate::workload::{History, Op, Row, Verdict, COUNTERS};

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
}

pub fn read_tables(conn: &duckdb::Connection) -> Result<Tables, duckdb::Error> {
    let mut stmt = conn.prepare("SELECT id, client, seq, v FROM main.t ORDER BY id")?;
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
    let mut stmt = conn.prepare("SELECT k, n FROM main.counters ORDER BY k")?;
    let counters = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Tables { rows, counters })
}

/// A pure-Rust model of the catalog built from the committed log: proposals
/// deduplicated per session, a batch with a duplicate key has no effect.
pub fn oracle(obs: &Observations, group: GroupId, history: &History) -> Result<Tables, String> {
    let mut rows: BTreeMap<i64, Row> = BTreeMap::new();
    let mut counters: BTreeMap<i32, i64> = BTreeMap::new();
    let mut created = false;
    let mut last_seq: BTreeMap<u64, u64> = BTreeMap::new();
    // Index of the last entry that changed each relation ("*": the schema).
    let mut written: BTreeMap<&str, u64> = BTreeMap::new();
    for (index, data) in obs.entries(group) {
        if data.is_empty() {
            continue;
        }
        let envelope =
            command::decode(data).map_err(|e| format!("committed entry undecodable: {e}"))?;
        if !matches!(envelope.command, Command::Catalog(_)) {
            return Err(format!("{group} committed a control command"));
        }
        let Some(pid) = envelope.id else {
            continue;
        };
        let last = last_seq.entry(pid.client).or_insert(0);
        if pid.seq <= *last {
            continue;
        }
        *last = pid.seq;
        let Some(op) = history.ops.get(&pid) else {
            return Err(format!("committed proposal {pid:?} was never issued"));
        };
        match op {
            Op::CreateTable { .. } => {
                written.insert("*", index);
                if !created {
                    created = true;
                    for k in 0..COUNTERS {
                        counters.insert(k, 0);
                    }
                }
            }
            Op::Insert { .. } | Op::Copy { .. } => {
                let new = op.rows();
                let mut ids: Vec<i64> = new.iter().map(|r| r.id).collect();
                ids.sort_unstable();
                ids.dedup();
                let collides =
                    ids.len() != new.len() || new.iter().any(|r| rows.contains_key(&r.id));
                if !collides {
                    written.insert("t", index);
                    for r in new {
                        rows.insert(r.id, r.clone());
                    }
                }
            }
            Op::Bump { k, .. } => {
                written.insert("counters", index);
                if let Some(n) = counters.get_mut(k) {
                    *n += 1;
                }
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
                    .filter_map(|r| written.get(r))
                    .any(|w| w > snapshot);
                if changed {
                    continue; // 40001 on every node
                }
                let current = counters.get(k).copied();
                if current != Some(*seen) {
                    return Err(format!(
                        "Serializable: transaction {pid:?} (entry {index}) read counter {k} = {seen} \
                         at snapshot {snapshot}, passed the conflict check, but in log order the \
                         counter is {current:?} there"
                    ));
                }
                counters.insert(*k, seen + 1);
                rows.insert(marker.id, marker.clone());
                written.insert("counters", index);
                written.insert("t", index);
            }
            Op::CreateCatalog(_) => return Err(format!("{group} committed CREATE CATALOG")),
        }
    }
    Ok(Tables {
        rows: rows.into_values().collect(),
        counters: counters.into_iter().collect(),
    })
}

pub fn difference(actual: &Tables, expected: &Tables) -> Option<String> {
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
