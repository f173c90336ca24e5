//! Write-ahead log recovery: exact replay, torn tails truncated, every other
//! kind of damage refused.

use duckraft_raft::disk::{Disk, FsDisk};
use duckraft_raft::wal::{Wal, WalError, WalRecord};
use duckraft_raft::{Entry, GroupId};

fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    Entry {
        index,
        term,
        data: data.to_vec().into(),
        ..Entry::default()
    }
}

fn sample_batches() -> Vec<Vec<WalRecord>> {
    vec![
        vec![WalRecord::CreateGroup {
            group: GroupId(0),
            voters: vec![1, 2, 3],
        }],
        vec![
            WalRecord::Entries {
                group: GroupId(0),
                entries: vec![entry(1, 1, b""), entry(2, 1, b"create catalog")],
            },
            WalRecord::HardState {
                group: GroupId(0),
                term: 1,
                vote: 2,
                commit: 1,
            },
        ],
        vec![WalRecord::Entries {
            group: GroupId(7),
            entries: vec![entry(1, 3, &[0u8; 300])],
        }],
    ]
}

fn write_all(dir: &std::path::Path, segment_bytes: u64) -> Vec<WalRecord> {
    let (mut wal, recovered) = Wal::open(FsDisk::open(dir).unwrap(), segment_bytes).unwrap();
    assert!(recovered.records.is_empty());
    let mut all = Vec::new();
    for batch in sample_batches() {
        wal.write(&batch).unwrap();
        wal.sync().unwrap();
        all.extend(batch);
    }
    all
}

fn reopen(dir: &std::path::Path) -> Result<duckraft_raft::wal::Recovered, WalError> {
    Wal::open(FsDisk::open(dir).unwrap(), 1 << 20).map(|(_, r)| r)
}

fn segments(dir: &std::path::Path) -> Vec<String> {
    FsDisk::open(dir).unwrap().list().unwrap()
}

#[test]
fn replays_exactly_what_was_synced() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), 1 << 20);
    let recovered = reopen(dir.path()).unwrap();
    assert_eq!(recovered.records, written);
    assert!(recovered.torn_tail.is_none());
}

#[test]
fn rolls_segments_and_replays_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), 64);
    assert!(
        segments(dir.path()).len() >= 2,
        "{:?}",
        segments(dir.path())
    );
    assert_eq!(reopen(dir.path()).unwrap().records, written);
}

#[test]
fn torn_tail_is_truncated_and_reported_then_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), 1 << 20);
    let segment = dir.path().join(&segments(dir.path())[0]);
    let full = std::fs::read(&segment).unwrap();
    // Cut the last frame in half, as a crash mid-append would.
    std::fs::write(&segment, &full[..full.len() - 150]).unwrap();
    let (mut wal, recovered) = Wal::open(FsDisk::open(dir.path()).unwrap(), 1 << 20).unwrap();
    assert_eq!(recovered.records, written[..3].to_vec());
    let tail = recovered.torn_tail.expect("torn tail reported");
    assert!(tail.dropped_bytes > 0);
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), tail.offset);
    let next = vec![WalRecord::HardState {
        group: GroupId(0),
        term: 2,
        vote: 0,
        commit: 2,
    }];
    wal.write(&next).unwrap();
    wal.sync().unwrap();
    let again = reopen(dir.path()).unwrap();
    assert_eq!(again.records.last(), next.last());
    assert!(again.torn_tail.is_none());
}

#[test]
fn bit_flip_in_a_complete_frame_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), 1 << 20);
    let segment = dir.path().join(&segments(dir.path())[0]);
    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();
    match reopen(dir.path()) {
        Err(WalError::Corrupt { reason, .. }) => assert!(reason.contains("checksum"), "{reason}"),
        other => panic!(
            "expected corruption, got {:?}",
            other.map(|r| r.records.len())
        ),
    }
    // Nothing was truncated: the evidence stays for the operator.
    assert_eq!(std::fs::read(&segment).unwrap(), bytes);
}

#[test]
fn damage_in_an_older_segment_is_corruption_even_if_it_looks_torn() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), 64);
    let names = segments(dir.path());
    let first = dir.path().join(&names[0]);
    let bytes = std::fs::read(&first).unwrap();
    std::fs::write(&first, &bytes[..bytes.len() - 3]).unwrap();
    assert!(matches!(reopen(dir.path()), Err(WalError::Corrupt { .. })));
}

#[test]
fn unknown_segment_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), 1 << 20);
    let segment = dir.path().join(&segments(dir.path())[0]);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[7] = 9;
    std::fs::write(&segment, &bytes).unwrap();
    match reopen(dir.path()) {
        Err(WalError::Corrupt { reason, .. }) => assert!(reason.contains("format"), "{reason}"),
        other => panic!("expected refusal, got {:?}", other.map(|r| r.records.len())),
    }
}
