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
}

impl Disk for SimDisk {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.state.borrow().files.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let state = self.state.borrow();
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
