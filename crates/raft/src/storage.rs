//! Per-group Raft storage: the in-memory image of what the write-ahead log
//! holds for one group. raft-rs reads through [`Storage`]; the node writes
//! here only what it also hands to the log in the same batch.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

#[derive(Clone, Default)]
pub struct GroupStore {
    hard_state: HardState,
    conf_state: ConfState,
    /// `entries[i].index == i + 1`: the log is never compacted yet.
    entries: Vec<Entry>,
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
        let last = self.entries.len() as u64;
        if first.index == 0 || first.index > last + 1 {
            return Err(format!(
                "entries start at {} but the log ends at {last}",
                first.index
            ));
        }
        self.entries.truncate((first.index - 1) as usize);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn term_at(&self, index: u64) -> Option<u64> {
        match index {
            0 => Some(0),
            i => self.entries.get((i - 1) as usize).map(|e| e.term),
        }
    }

    /// Entries in `[low, high)`.
    pub fn slice(&self, low: u64, high: u64) -> &[Entry] {
        &self.entries[(low - 1) as usize..(high - 1) as usize]
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
        if low == 0 {
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
        self.term_at(idx)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index())
    }

    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // Nothing is compacted, so raft-rs never needs a snapshot to catch a peer up.
        Err(raft::Error::Store(
            StorageError::SnapshotTemporarilyUnavailable,
        ))
    }
}
