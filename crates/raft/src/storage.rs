//! Per-group Raft storage: the in-memory image of what the write-ahead log
//! holds for one group. raft-rs reads through [`Storage`]; the node writes
//! here only what it also hands to the log in the same batch.
//!
//! The log may start after a snapshot: entries up to `snapshot_index` were
//! compacted away (or replaced by an installed snapshot) and the state
//! machine holds their effect. Peers that need them are sent the latest
//! state-machine image the driver exported ([`GroupStore::serve`]); the
//! store itself does no I/O and never builds one.

use std::cell::Cell;

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

use crate::NodeId;

/// A state-machine image at a log position, as it travels between nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotImage {
    pub index: u64,
    pub term: u64,
    /// The group's configuration at `index`.
    pub conf: Conf,
    /// Opaque to the core: the driver's export format.
    pub data: Vec<u8>,
}

/// A group's configuration: who votes and who only replicates. duckraft
/// changes one member at a time, so there is never a joint configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conf {
    /// Sorted.
    pub voters: Vec<NodeId>,
    /// Sorted; never overlaps `voters`.
    pub learners: Vec<NodeId>,
}

/// One step of a membership change. A node joins as a learner, which
/// catches up without counting towards any quorum, and only then becomes a
/// voter; so adding a node never costs availability while it catches up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    AddLearner(NodeId),
    Promote(NodeId),
    Remove(NodeId),
}

impl Conf {
    pub fn voters(voters: &[NodeId]) -> Conf {
        let mut voters = voters.to_vec();
        voters.sort_unstable();
        Conf {
            voters,
            learners: Vec::new(),
        }
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.learners.contains(&id)
    }

    /// A group created on a node that is joining: it holds nothing until
    /// the leader's snapshot brings the configuration.
    pub fn is_empty(&self) -> bool {
        self.voters.is_empty() && self.learners.is_empty()
    }

    /// Applies `change` if it is valid here: a learner is added only if
    /// absent, promoted only if a learner, removed only if present, and the
    /// last voter is never removed. Every node applies the same committed
    /// change to the same configuration, so an invalid one is a no-op
    /// everywhere.
    pub fn apply(&mut self, change: MemberChange) -> Result<(), String> {
        match change {
            MemberChange::AddLearner(id) if !self.contains(id) => {
                insert_sorted(&mut self.learners, id);
            }
            MemberChange::Promote(id) if self.learners.contains(&id) => {
                self.learners.retain(|&l| l != id);
                insert_sorted(&mut self.voters, id);
            }
            MemberChange::Remove(id)
                if self.learners.contains(&id)
                    || (self.voters.contains(&id) && self.voters.len() > 1) =>
            {
                self.learners.retain(|&l| l != id);
                self.voters.retain(|&v| v != id);
            }
            other => return Err(format!("{other:?} does not apply to {self:?}")),
        }
        Ok(())
    }

    fn to_conf_state(&self) -> ConfState {
        ConfState {
            voters: self.voters.clone(),
            learners: self.learners.clone(),
            ..ConfState::default()
        }
    }
}

impl From<&ConfState> for Conf {
    fn from(cs: &ConfState) -> Conf {
        let mut conf = Conf {
            voters: cs.voters.clone(),
            learners: cs.learners.clone(),
        };
        conf.voters.sort_unstable();
        conf.learners.sort_unstable();
        conf
    }
}

fn insert_sorted(ids: &mut Vec<NodeId>, id: NodeId) {
    if let Err(at) = ids.binary_search(&id) {
        ids.insert(at, id);
    }
}

#[derive(Clone, Default)]
pub struct GroupStore {
    hard_state: HardState,
    /// The configuration after every entry handed out so far; raft-rs reads
    /// it only when the node restarts.
    conf: Conf,
    /// Changes since the snapshot, as (index, configuration from then on),
    /// so the configuration at any held index is known exactly.
    conf_changes: Vec<(u64, Conf)>,
    /// The configuration at `snapshot_index`.
    snapshot_conf: Conf,
    /// The last index (and its term) whose entry is no longer kept.
    /// Invariant: `entries[i].index == snapshot_index + 1 + i`.
    snapshot_index: u64,
    snapshot_term: u64,
    entries: Vec<Entry>,
    /// The latest exported image, sent to peers whose next entry was
    /// compacted. Invariant: `served.index >= snapshot_index` when present.
    served: Option<SnapshotImage>,
    /// raft-rs asked for an image and none (recent enough) was served.
    requested: Cell<bool>,
}

impl GroupStore {
    pub fn new(voters: &[u64]) -> GroupStore {
        let conf = Conf::voters(voters);
        GroupStore {
            snapshot_conf: conf.clone(),
            conf,
            ..GroupStore::default()
        }
    }

    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    pub fn set_hard_state(&mut self, hs: HardState) {
        self.hard_state = hs;
    }

    pub fn voters(&self) -> &[u64] {
        &self.conf.voters
    }

    /// The configuration after every entry handed out.
    pub fn conf(&self) -> &Conf {
        &self.conf
    }

    /// The configuration in force at `index`, which must be at least the
    /// snapshot index.
    pub fn conf_at(&self, index: u64) -> &Conf {
        self.conf_changes
            .iter()
            .rev()
            .find(|(at, _)| *at <= index)
            .map_or(&self.snapshot_conf, |(_, conf)| conf)
    }

    /// The entry at `index` changed the configuration to `conf`.
    pub fn record_conf(&mut self, index: u64, conf: Conf) {
        self.conf_changes.retain(|(at, _)| *at < index);
        self.conf_changes.push((index, conf.clone()));
        self.conf = conf;
    }

    /// Appends `entries`, replacing any existing suffix from the first new index.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), String> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let last = self.last_index();
        if first.index <= self.snapshot_index || first.index > last + 1 {
            return Err(format!(
                "entries start at {} but the log holds ({}, {last}]",
                first.index, self.snapshot_index
            ));
        }
        self.entries
            .truncate((first.index - self.snapshot_index - 1) as usize);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    /// The first index still held (one past the snapshot).
    pub fn first_index(&self) -> u64 {
        self.snapshot_index + 1
    }

    /// The last index compacted away or covered by an installed snapshot (0: none).
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.len() as u64
    }

    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        if index < self.snapshot_index {
            return None;
        }
        self.entries
            .get((index - self.snapshot_index - 1) as usize)
            .map(|e| e.term)
    }

    /// Entries in `[low, high)`; `low` must be at least [`GroupStore::first_index`].
    pub fn slice(&self, low: u64, high: u64) -> &[Entry] {
        let base = self.snapshot_index + 1;
        &self.entries[(low - base) as usize..(high - base) as usize]
    }

    /// Drops the entries up to `to`, which must be held. Returns its term.
    pub fn compact(&mut self, to: u64) -> Result<u64, String> {
        if to <= self.snapshot_index || to > self.last_index() {
            return Err(format!(
                "cannot compact to {to}: the log holds ({}, {}]",
                self.snapshot_index,
                self.last_index()
            ));
        }
        let term = self.term_at(to).expect("held");
        self.snapshot_conf = self.conf_at(to).clone();
        self.conf_changes.retain(|(at, _)| *at > to);
        self.entries.drain(..(to - self.snapshot_index) as usize);
        self.snapshot_index = to;
        self.snapshot_term = term;
        Ok(term)
    }

    /// The log now starts after `(index, term)`: as raft-rs restores a
    /// snapshot, entries up to it go, and so does the rest of the log unless
    /// it holds `index` at `term` (then later entries stay valid).
    /// `conf` is the configuration at `index`; later changes still held
    /// are applied again as they are handed out.
    pub fn restore(&mut self, index: u64, term: u64, conf: &Conf) {
        if index > self.snapshot_index && self.term_at(index) == Some(term) {
            self.compact(index).expect("held");
        } else if index > self.snapshot_index {
            self.entries.clear();
            self.snapshot_index = index;
            self.snapshot_term = term;
        }
        self.snapshot_conf = conf.clone();
        self.conf_changes.clear();
        self.conf = conf.clone();
        if self.hard_state.commit < index {
            self.hard_state.commit = index;
        }
        if self.hard_state.term < term {
            self.hard_state.term = term;
        }
    }

    /// Offers `image` to peers that need compacted entries.
    pub fn serve(&mut self, image: SnapshotImage) {
        self.requested.set(false);
        self.served = Some(image);
    }

    pub fn served_index(&self) -> u64 {
        self.served.as_ref().map_or(0, |s| s.index)
    }

    /// Whether raft-rs asked for an image since the last call.
    pub fn take_request(&self) -> bool {
        self.requested.replace(false)
    }

    /// Approximate bytes held (for status).
    pub fn log_bytes(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| (e.data.len() + e.context.len() + 24) as u64)
            .sum()
    }
}

impl Storage for GroupStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState {
            hard_state: self.hard_state.clone(),
            conf_state: self.conf.to_conf_state(),
        })
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let mut entries = self.slice(low, high).to_vec();
        raft::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx < self.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        self.term_at(idx)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first_index())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index())
    }

    /// The served image if it covers the compacted prefix and its
    /// configuration holds the peer (raft-rs on the peer refuses one that
    /// does not, as a node joining finds an image older than its joining);
    /// otherwise the driver is asked for a fresh export and raft-rs retries
    /// later.
    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        match &self.served {
            Some(image)
                if image.index >= request_index.max(self.snapshot_index)
                    && image.conf.contains(to) =>
            {
                let mut snapshot = Snapshot {
                    data: image.data.clone().into(),
                    ..Snapshot::default()
                };
                let meta = snapshot.mut_metadata();
                meta.index = image.index;
                meta.term = image.term;
                *meta.mut_conf_state() = image.conf.to_conf_state();
                Ok(snapshot)
            }
            _ => {
                self.requested.set(true);
                Err(raft::Error::Store(
                    StorageError::SnapshotTemporarilyUnavailable,
                ))
            }
        }
    }
}
