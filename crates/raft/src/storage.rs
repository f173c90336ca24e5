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

/// A state-machine image at a log position, as it travels between nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotImage {
    pub index: u64,
    pub term: u64,
    pub voters: Vec<u64>,
    /// Opaque to the core: the driver's export format.
    pub data: Vec<u8>,
}

#[derive(Clone, Default)]
pub struct GroupStore {
    hard_state: HardState,
    conf_state: ConfState,
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
        GroupStore {
            conf_state: ConfState {
                voters: voters.to_vec(),
                ..ConfState::default()
            },
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
        &self.conf_state.voters
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
        self.entries.drain(..(to - self.snapshot_index) as usize);
        self.snapshot_index = to;
        self.snapshot_term = term;
        Ok(term)
    }

    /// The log now starts after `(index, term)`: as raft-rs restores a
    /// snapshot, entries up to it go, and so does the rest of the log unless
    /// it holds `index` at `term` (then later entries stay valid).
    pub fn restore(&mut self, index: u64, term: u64, voters: &[u64]) {
        if index > self.snapshot_index && self.term_at(index) == Some(term) {
            self.compact(index).expect("held");
        } else if index > self.snapshot_index {
            self.entries.clear();
            self.snapshot_index = index;
            self.snapshot_term = term;
        }
        self.conf_state.voters = voters.to_vec();
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
            conf_state: self.conf_state.clone(),
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

    /// The served image if it covers the compacted prefix; otherwise the
    /// driver is asked for a fresh export and raft-rs retries later.
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        match &self.served {
            Some(image) if image.index >= request_index.max(self.snapshot_index) => {
                let mut snapshot = Snapshot {
                    data: image.data.clone().into(),
                    ..Snapshot::default()
                };
                let meta = snapshot.mut_metadata();
                meta.index = image.index;
                meta.term = image.term;
                meta.mut_conf_state().voters = image.voters.clone();
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
