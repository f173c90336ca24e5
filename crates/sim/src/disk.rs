//! A crash-consistent in-memory disk. Appended bytes sit in a "page cache"
//! until synced; a crash keeps only a seeded-random prefix of them (a torn
//! write), so the log sees exactly what a real power cut can leave.
//!
//! Two more faults are armed by the simulator, on demand: the next read
//! fails with an I/O error, and one bit of already-synced data flips (media
//! decay while the node is down). The write-ahead log must refuse to start
//! on either.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;

use duckraft_raft::disk::Disk;
use rand::Rng;

#[derive(Default)]
struct SimFile {
    durable: Vec<u8>,
    cached: Vec<u8>,
    /// Invariant: `synced <= durable.len()`. The prefix made durable by a
    /// sync or truncate; `durable` may hold more (a torn write's kept
    /// prefix), which no sync ever covered.
    synced: usize,
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, SimFile>,
    /// The next `read` fails (one-shot).
    fail_next_read: bool,
}

/// Handles share one state, so the disk outlives the node process using it.
#[derive(Clone, Default)]
pub struct SimDisk {
    state: Rc<RefCell<State>>,
}

impl SimDisk {
    /// Power loss: unsynced bytes vanish except, when `torn`, a random prefix.
    pub fn crash(&self, rng: &mut impl Rng, torn: bool) {
        for file in self.state.borrow_mut().files.values_mut() {
            let keep = if torn && !file.cached.is_empty() {
                rng.gen_range(0..=file.cached.len())
            } else {
                0
            };
            let kept: Vec<u8> = file.cached.drain(..).take(keep).collect();
            file.durable.extend_from_slice(&kept);
        }
    }

    /// Bytes stored, synced or not.
    pub fn bytes(&self) -> usize {
        self.state
            .borrow()
            .files
            .values()
            .map(|f| f.durable.len() + f.cached.len())
            .sum()
    }

    /// Arms a one-shot I/O error for the next read.
    pub fn fail_next_read(&self) {
        self.state.borrow_mut().fail_next_read = true;
    }

    /// Flips one random bit of data that a sync made durable. Returns where,
    /// or `None` when nothing was ever synced.
    pub fn flip_synced_bit(&self, rng: &mut impl Rng) -> Option<String> {
        let mut state = self.state.borrow_mut();
        let total: usize = state.files.values().map(|f| f.synced).sum();
        if total == 0 {
            return None;
        }
        let mut at = rng.gen_range(0..total);
        let bit = rng.gen_range(0..8u8);
        for (name, file) in state.files.iter_mut() {
            if at < file.synced {
                file.durable[at] ^= 1 << bit;
                return Some(format!("{name} byte {at} bit {bit}"));
            }
            at -= file.synced;
        }
        unreachable!("the offset lies inside some file's synced bytes")
    }
}

impl Disk for SimDisk {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.state.borrow().files.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let mut state = self.state.borrow_mut();
        if std::mem::take(&mut state.fail_next_read) {
            return Err(io::Error::other(format!(
                "injected read error on {name} (simulated medium error)"
            )));
        }
        let file = state
            .files
            .get(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_string()))?;
        let mut bytes = file.durable.clone();
        bytes.extend_from_slice(&file.cached);
        Ok(bytes)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        state
            .files
            .entry(name.to_string())
            .or_default()
            .cached
            .extend_from_slice(data);
        Ok(())
    }

    fn sync(&mut self, name: &str) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        if let Some(file) = state.files.get_mut(name) {
            let cached = std::mem::take(&mut file.cached);
            file.durable.extend_from_slice(&cached);
            file.synced = file.durable.len();
        }
        Ok(())
    }

    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        let file = state
            .files
            .get_mut(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_string()))?;
        let mut all = std::mem::take(&mut file.durable);
        all.extend_from_slice(&file.cached);
        all.truncate(len as usize);
        file.durable = all;
        file.cached.clear();
        // Truncation is durable: what is left is on the medium.
        file.synced = file.durable.len();
        Ok(())
    }

    fn remove(&mut self, name: &str) -> io::Result<()> {
        // Removal is durable, as the production disk syncs the directory.
        match self.state.borrow_mut().files.remove(name) {
            Some(_) => Ok(()),
            None => Err(io::Error::new(io::ErrorKind::NotFound, name.to_string())),
        }
    }
}
