//! A crash-consistent in-memory disk. Appended bytes sit in a "page cache"
//! until synced; a crash keeps only a seeded-random prefix of them (a torn
//! write), so the log sees exactly what a real power cut can leave.

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
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, SimFile>,
    fail_reads: bool,
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

    /// Flips one bit of durable data in the named file (or the first file).
    pub fn flip_bit(&self, offset_from_end: usize) -> Option<String> {
        let mut state = self.state.borrow_mut();
        let (name, file) = state
            .files
            .iter_mut()
            .rev()
            .find(|(_, f)| f.durable.len() > offset_from_end)?;
        let at = file.durable.len() - 1 - offset_from_end;
        file.durable[at] ^= 0x04;
        Some(name.clone())
    }

    pub fn set_read_errors(&self, on: bool) {
        self.state.borrow_mut().fail_reads = on;
    }

    pub fn durable_bytes(&self) -> u64 {
        self.state
            .borrow()
            .files
            .values()
            .map(|f| f.durable.len() as u64)
            .sum()
    }
}

impl Disk for SimDisk {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.state.borrow().files.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let state = self.state.borrow();
        if state.fail_reads {
            return Err(io::Error::other("injected read error"));
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
        Ok(())
    }
}
