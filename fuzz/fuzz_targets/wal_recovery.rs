//! The write-ahead log is read back from a disk that may have been damaged.
//!
//! Raw mode: arbitrary bytes as segment files. Recovery fails closed or
//! succeeds; a recovered log reopens to the same records and takes new ones.
//!
//! Damage mode: a real log of synced frames, then up to three flipped bits
//! and a cut at the end of the last segment. Recovery may only ever replay
//! whole leading frames, and flipped bits in synced data are always refused,
//! never repaired: frames stay under 600 bytes, where CRC32C detects every
//! error of up to five bits, and frame headers carry their own checksum.
#![no_main]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;

use duckraft_raft::disk::Disk;
use duckraft_raft::storage::Conf;
use duckraft_raft::wal::{Wal, WalRecord};
use duckraft_raft::{Entry, GroupId};
use libfuzzer_sys::fuzz_target;

/// Files in memory, shared by clones: a log and the check read one disk.
#[derive(Clone, Default)]
struct MemDisk(Rc<RefCell<BTreeMap<String, Vec<u8>>>>);

impl Disk for MemDisk {
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.0.borrow().keys().cloned().collect())
    }
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        self.0
            .borrow()
            .get(name)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut files = self.0.borrow_mut();
        files
            .entry(name.to_string())
            .or_default()
            .extend_from_slice(data);
        Ok(())
    }
    fn sync(&mut self, _name: &str) -> io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        if let Some(file) = self.0.borrow_mut().get_mut(name) {
            file.truncate(len as usize);
        }
        Ok(())
    }
    fn remove(&mut self, name: &str) -> io::Result<()> {
        self.0.borrow_mut().remove(name);
        Ok(())
    }
}

/// Reads the fuzz input front to back; yields zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken.to_vec()
    }
}

const SEGMENT_BYTES: u64 = 256;

fn record(input: &mut Input<'_>, index: &mut u64) -> WalRecord {
    let group = GroupId(u64::from(input.byte() % 4));
    match input.byte() % 5 {
        0 => WalRecord::CreateGroup {
            group,
            voters: vec![1, 2, 3],
        },
        1 => WalRecord::HardState {
            group,
            term: u64::from(input.byte()),
            vote: u64::from(input.byte() % 4),
            commit: *index,
        },
        2 => {
            let mut entries = Vec::new();
            for _ in 0..input.byte() % 3 + 1 {
                *index += 1;
                let term = u64::from(input.byte());
                let len = usize::from(input.byte() % 48);
                entries.push(Entry {
                    index: *index,
                    term,
                    data: input.bytes(len).into(),
                    ..Entry::default()
                });
            }
            WalRecord::Entries { group, entries }
        }
        3 => WalRecord::RemoveGroup { group },
        _ => WalRecord::Compacted {
            group,
            index: *index,
            term: u64::from(input.byte()),
            conf: Conf {
                voters: vec![1, 2, 3],
                learners: if input.byte().is_multiple_of(2) {
                    vec![]
                } else {
                    vec![4]
                },
            },
        },
    }
}

/// A recovered log is stable and writable: reopening it replays the same
/// records without repairs, and a record written after recovery is replayed.
fn check_reopen(disk: &MemDisk, records: &[WalRecord]) {
    let (mut wal, again) = Wal::open(disk.clone(), SEGMENT_BYTES).expect("recovered log reopens");
    assert_eq!(
        again.records, records,
        "reopening replayed different records"
    );
    assert!(
        again.torn_tail.is_none(),
        "reopening repaired the log again"
    );
    let extra = WalRecord::RemoveGroup { group: GroupId(9) };
    wal.write(std::slice::from_ref(&extra))
        .expect("write after recovery");
    wal.sync().expect("sync after recovery");
    drop(wal);
    let (_, after) = Wal::open(disk.clone(), SEGMENT_BYTES).expect("log reopens after a write");
    let mut expected = records.to_vec();
    expected.push(extra);
    assert_eq!(
        after.records, expected,
        "a record written after recovery was not replayed"
    );
}

fn raw(mut input: Input<'_>) {
    let disk = MemDisk::default();
    for seq in 1..=2u64 {
        let len = usize::from(input.u16() % 1024);
        let bytes = input.bytes(len);
        disk.0
            .borrow_mut()
            .insert(format!("wal-{seq:016}.log"), bytes);
    }
    if let Ok((wal, recovered)) = Wal::open(disk.clone(), SEGMENT_BYTES) {
        drop(wal);
        check_reopen(&disk, &recovered.records);
    }
}

fn damaged(mut input: Input<'_>) {
    let disk = MemDisk::default();
    let (mut wal, recovered) = Wal::open(disk.clone(), SEGMENT_BYTES).expect("empty log opens");
    assert!(recovered.records.is_empty());
    let mut frames: Vec<Vec<WalRecord>> = Vec::new();
    let mut index = 0;
    for _ in 0..input.byte() % 8 + 1 {
        let frame: Vec<WalRecord> = (0..input.byte() % 3 + 1)
            .map(|_| record(&mut input, &mut index))
            .collect();
        wal.write(&frame).expect("write");
        wal.sync().expect("sync");
        frames.push(frame);
    }
    drop(wal);

    let names: Vec<String> = disk.list().expect("list");
    let mut flipped = BTreeMap::new();
    for _ in 0..input.byte() % 4 {
        let name = &names[usize::from(input.byte()) % names.len()];
        let mut files = disk.0.borrow_mut();
        let file = files.get_mut(name).expect("listed");
        let at = usize::from(input.u16()) % file.len();
        let bit = 1u8 << (input.byte() % 8);
        file[at] ^= bit;
        *flipped.entry((name.clone(), at)).or_insert(0u8) ^= bit;
    }
    let flipped_bits: u32 = flipped.values().map(|mask| mask.count_ones()).sum();
    let last = names.last().expect("a segment");
    let cut = {
        let mut files = disk.0.borrow_mut();
        let last_file = files.get_mut(last).expect("listed");
        let cut = usize::from(input.u16() % 64).min(last_file.len());
        let keep = last_file.len() - cut;
        last_file.truncate(keep);
        cut
    };

    let everything: Vec<WalRecord> = frames.iter().flatten().cloned().collect();
    match Wal::open(disk.clone(), SEGMENT_BYTES) {
        // A cut alone is what a crash leaves: it must always recover.
        Err(error) => assert!(
            flipped_bits > 0,
            "a log with only a torn tail was refused: {error}"
        ),
        Ok((wal, recovered)) => {
            assert!(
                flipped_bits == 0 || cut > 0,
                "flipped bits in synced frames were not refused"
            );
            if cut == 0 && flipped_bits == 0 {
                assert_eq!(
                    recovered.records, everything,
                    "an undamaged log lost records"
                );
                assert!(
                    recovered.torn_tail.is_none(),
                    "an undamaged log was repaired"
                );
            } else {
                let prefix = (0..=frames.len())
                    .map(|n| frames[..n].iter().flatten().cloned().collect::<Vec<_>>())
                    .any(|records| records == recovered.records);
                assert!(
                    prefix,
                    "recovery replayed something other than whole leading frames"
                );
            }
            drop(wal);
            check_reopen(&disk, &recovered.records);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    if input.byte().is_multiple_of(2) {
        raw(input);
    } else {
        damaged(input);
    }
});
