//! Protocol traces for TLA+ trace validation (`spec/tla/trace/`).
//!
//! With `--trace-out FILE` the simulator records, for one Raft group, the
//! protocol-level events it observes at the production core's seams, one
//! JSON object per line (NDJSON). `spec/tla/trace/P3Trace.tla` replays the
//! file and checks that it is a behaviour of P3's durability scope, with
//! P3's and P1's invariants holding after every event.
//!
//! Events, in the order the simulator observes them (see
//! `docs/formal-models.md`, "Trace validation"):
//! 1. `Append` and `HardState`: a WAL batch written by [`Wal::write`],
//!    not yet durable (what `MultiRaft::poll` put in its `WalBatch`);
//! 2. `Sync`: that batch is durable (`Wal::sync`, before `wal_synced`);
//! 3. `Crash`: the process dies, unsynced bytes are lost (a torn prefix of
//!    them may survive);
//! 4. `Recover`: the log and HardState `Wal::open` replayed for the group,
//!    and the state machine's durable applied index;
//! 5. `Role`: the node's role and term, when they change (after each drive);
//! 6. `Apply`: committed entries handed to the state machine;
//! 7. `Ack`: a waiting client answered for the entry at an index;
//! 8. `Compact`: a snapshot or compaction marker for the group (the trace
//!    spec has no action for it: such a trace is rejected, not skipped).
//!
//! Invariant: the output depends only on the seed (no clock, no hash-order
//! iteration): every map here is a `BTreeMap`, and lines are formatted by
//! hand with a fixed key order.
//!
//! [`Wal::write`]: duckraft_raft::wal::Wal::write

use std::collections::BTreeMap;
use std::fmt::Write as _;

use duckraft_raft::wal::WalRecord;
use duckraft_raft::{Entry, GroupId, NodeId};

/// Which group to trace: `cp-metadata` or a catalog's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    pub group: String,
    /// Stop recording after this many events (a prefix of a behaviour is a
    /// behaviour, so a cut trace is still checkable).
    pub events_max: usize,
}

impl TraceConfig {
    pub const CONTROL: &'static str = "cp-metadata";
}

pub struct Tracer {
    config: TraceConfig,
    /// The traced group's id, once known (a catalog's id is assigned when
    /// its creation is applied).
    group: Option<GroupId>,
    out: String,
    events: usize,
    /// Per node, the WAL batch written with records of the traced group and
    /// not yet synced.
    unsynced: BTreeMap<NodeId, u64>,
    /// Per node, the last (leader, term) emitted.
    roles: BTreeMap<NodeId, (bool, u64)>,
}

/// A group's log and HardState as replayed from recovered WAL records.
#[derive(Default)]
struct Replayed {
    /// First index of the log (1 unless a `Compacted` marker moved it).
    first: u64,
    terms: Vec<u64>,
    hard_state: (u64, u64, u64),
}

impl Tracer {
    /// A tracer for a cluster of `nodes` nodes running `seed`. The first
    /// line, `Config`, is not an event: it says what the trace is of.
    pub fn new(config: TraceConfig, nodes: usize, seed: u64) -> Tracer {
        let group = (config.group == TraceConfig::CONTROL).then_some(GroupId::CONTROL);
        let out = format!(
            r#"{{"ev":"Config","nodes":{nodes},"seed":{seed},"group":"{}"}}"#,
            config.group.escape_default()
        ) + "\n";
        Tracer {
            config,
            group,
            out,
            events: 0,
            unsynced: BTreeMap::new(),
            roles: BTreeMap::new(),
        }
    }

    /// The traced catalog's name, while its group id is not known yet.
    pub fn unresolved_catalog(&self) -> Option<&str> {
        self.group.is_none().then_some(self.config.group.as_str())
    }

    /// The traced catalog's group is `group`. Nodes down at this moment
    /// are recorded as crashed, so that their restart reads as a recovery.
    pub fn resolve(&mut self, group: GroupId, down: &[NodeId]) {
        if self.group.is_some() {
            return;
        }
        self.group = Some(group);
        for &node in down {
            self.crashed(node);
        }
    }

    /// The traced group's id, once known.
    pub fn group(&self) -> Option<GroupId> {
        self.group
    }

    pub fn traces(&self, group: GroupId) -> bool {
        self.group == Some(group)
    }

    /// The NDJSON text recorded so far.
    pub fn into_text(self) -> String {
        self.out
    }

    fn emit(&mut self, line: String) {
        if self.events >= self.config.events_max {
            return;
        }
        self.events += 1;
        self.out.push_str(&line);
        self.out.push('\n');
    }

    /// A WAL batch was written (appended, not synced).
    pub fn written(&mut self, node: NodeId, batch: u64, records: &[WalRecord]) {
        let Some(group) = self.group else {
            return;
        };
        for record in records.iter().filter(|r| r.group() == group) {
            match record {
                WalRecord::Entries { entries, .. } => {
                    let from = entries.first().map_or(0, |e| e.index);
                    let terms = list(entries.iter().map(|e| e.term));
                    self.unsynced.insert(node, batch);
                    self.emit(format!(
                        r#"{{"ev":"Append","node":{node},"batch":{batch},"from":{from},"terms":{terms}}}"#
                    ));
                }
                WalRecord::HardState {
                    term, vote, commit, ..
                } => {
                    self.unsynced.insert(node, batch);
                    self.emit(format!(
                        r#"{{"ev":"HardState","node":{node},"batch":{batch},"term":{term},"vote":{vote},"commit":{commit}}}"#
                    ));
                }
                WalRecord::Compacted { index, term, .. } => {
                    self.unsynced.insert(node, batch);
                    self.emit(format!(
                        r#"{{"ev":"Compact","node":{node},"batch":{batch},"index":{index},"term":{term}}}"#
                    ));
                }
                WalRecord::CreateGroup { .. } | WalRecord::RemoveGroup { .. } => {}
            }
        }
    }

    /// Batch `batch` of `node` is durable.
    pub fn synced(&mut self, node: NodeId, batch: u64) {
        if self.unsynced.get(&node) == Some(&batch) {
            self.unsynced.remove(&node);
            self.emit(format!(r#"{{"ev":"Sync","node":{node},"batch":{batch}}}"#));
        }
    }

    pub fn crashed(&mut self, node: NodeId) {
        if self.group.is_none() {
            return;
        }
        self.unsynced.remove(&node);
        if let Some(role) = self.roles.get_mut(&node) {
            role.0 = false;
        }
        self.emit(format!(r#"{{"ev":"Crash","node":{node}}}"#));
    }

    /// The node started: what its log recovery replayed for the group, and
    /// its state machine's durable applied index.
    pub fn recovered(&mut self, node: NodeId, records: &[WalRecord], applied: u64) {
        let Some(group) = self.group else {
            return;
        };
        let replayed = replay(group, records);
        let (term, vote, commit) = replayed.hard_state;
        let terms = list(replayed.terms.iter().copied());
        self.emit(format!(
            r#"{{"ev":"Recover","node":{node},"first":{},"terms":{terms},"term":{term},"vote":{vote},"commit":{commit},"applied":{applied}}}"#,
            replayed.first
        ));
    }

    /// The node's role in the group after a drive; emitted on change.
    pub fn role(&mut self, node: NodeId, leader: bool, term: u64) {
        if self.roles.get(&node) == Some(&(leader, term)) {
            return;
        }
        self.roles.insert(node, (leader, term));
        self.emit(format!(
            r#"{{"ev":"Role","node":{node},"leader":{leader},"term":{term}}}"#
        ));
    }

    /// Committed entries handed to the state machine, in order.
    pub fn applied(&mut self, node: NodeId, group: GroupId, entries: &[Entry]) {
        if !self.traces(group) || entries.is_empty() {
            return;
        }
        let from = entries[0].index;
        let terms = list(entries.iter().map(|e| e.term));
        self.emit(format!(
            r#"{{"ev":"Apply","node":{node},"from":{from},"terms":{terms}}}"#
        ));
    }

    /// A waiting client heard back from `node` about the entry at `index`.
    pub fn acked(&mut self, node: NodeId, group: GroupId, index: u64, term: u64) {
        if !self.traces(group) {
            return;
        }
        self.emit(format!(
            r#"{{"ev":"Ack","node":{node},"index":{index},"term":{term}}}"#
        ));
    }
}

fn list(values: impl Iterator<Item = u64>) -> String {
    let mut s = String::from("[");
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v}");
    }
    s.push(']');
    s
}

/// Replays the group's records as `Wal::open` hands them to
/// `MultiRaft::recover`: entries supersede later ones, the last HardState
/// wins, a `Compacted` marker moves the log's start (the trace spec rejects
/// that case).
fn replay(group: GroupId, records: &[WalRecord]) -> Replayed {
    let mut r = Replayed {
        first: 1,
        ..Replayed::default()
    };
    for record in records.iter().filter(|rec| rec.group() == group) {
        match record {
            WalRecord::Entries { entries, .. } => {
                let Some(head) = entries.first() else {
                    continue;
                };
                let keep = head.index.saturating_sub(r.first) as usize;
                r.terms.truncate(keep.min(r.terms.len()));
                r.terms.extend(entries.iter().map(|e| e.term));
            }
            WalRecord::HardState {
                term, vote, commit, ..
            } => r.hard_state = (*term, *vote, *commit),
            WalRecord::Compacted { index, .. } => {
                r.first = index + 1;
                r.terms.clear();
            }
            WalRecord::CreateGroup { .. } => {}
            WalRecord::RemoveGroup { .. } => {
                r.terms.clear();
                r.hard_state = (0, 0, 0);
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(from: u64, terms: &[u64]) -> WalRecord {
        WalRecord::Entries {
            group: GroupId::CONTROL,
            entries: terms
                .iter()
                .enumerate()
                .map(|(i, &term)| Entry {
                    index: from + i as u64,
                    term,
                    ..Entry::default()
                })
                .collect(),
        }
    }

    #[test]
    fn replay_supersedes_a_conflicting_tail_and_keeps_the_last_hard_state() {
        let records = vec![
            entries(1, &[1, 1, 1]),
            WalRecord::HardState {
                group: GroupId::CONTROL,
                term: 1,
                vote: 2,
                commit: 1,
            },
            entries(3, &[2]),
            WalRecord::HardState {
                group: GroupId::CONTROL,
                term: 2,
                vote: 3,
                commit: 2,
            },
            // Another group's records are not this group's log.
            WalRecord::HardState {
                group: GroupId(7),
                term: 9,
                vote: 9,
                commit: 9,
            },
        ];
        let replayed = replay(GroupId::CONTROL, &records);
        assert_eq!(replayed.first, 1);
        assert_eq!(replayed.terms, vec![1, 1, 2]);
        assert_eq!(replayed.hard_state, (2, 3, 2));
    }

    #[test]
    fn events_are_recorded_only_for_the_traced_group_and_batches_sync_once() {
        let mut tracer = Tracer::new(
            TraceConfig {
                group: TraceConfig::CONTROL.into(),
                events_max: 100,
            },
            3,
            5,
        );
        tracer.written(1, 4, &[entries(1, &[1])]);
        tracer.synced(1, 4);
        tracer.synced(1, 4);
        tracer.synced(1, 5);
        tracer.applied(1, GroupId(7), &[Entry::default()]);
        tracer.acked(1, GroupId(7), 1, 1);
        let text = tracer.into_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                r#"{"ev":"Config","nodes":3,"seed":5,"group":"cp-metadata"}"#,
                r#"{"ev":"Append","node":1,"batch":4,"from":1,"terms":[1]}"#,
                r#"{"ev":"Sync","node":1,"batch":4}"#,
            ]
        );
    }
}
