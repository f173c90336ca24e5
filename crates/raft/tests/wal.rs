//! Write-ahead log recovery: exact replay, torn tails truncated, every other
//! kind of damage refused.

use duckraft_raft::disk::{Disk, FsDisk};
use duckraft_raft::storage::Conf;
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

/// Recovery must refuse the log with a reason naming `expected`, and leave
/// `segment` exactly as `bytes`: the evidence stays for the operator.
fn assert_refused(dir: &std::path::Path, expected: &str, segment: &std::path::Path, bytes: &[u8]) {
    match reopen(dir) {
        Err(WalError::Corrupt { reason, .. }) => {
            assert!(reason.contains(expected), "expected {expected:?}: {reason}")
        }
        other => panic!(
            "expected {expected:?} corruption, got {:?}",
            other.map(|r| (r.records.len(), r.torn_tail))
        ),
    }
    assert_eq!(std::fs::read(segment).unwrap(), bytes, "nothing truncated");
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
    assert_refused(dir.path(), "checksum", &segment, &bytes);
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
    assert_refused(dir.path(), "format", &segment, &bytes);
}

/// Frame header length of a segment's format (its header's last byte).
fn frame_header_len(segment: &[u8]) -> usize {
    match segment[7] {
        1 => 12,
        2 => 16,
        other => panic!("unknown format {other}"),
    }
}

/// Byte offset of each frame in a segment (after the 8-byte header).
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let header = frame_header_len(bytes);
    let mut offsets = Vec::new();
    let mut at = 8;
    while at + header <= bytes.len() {
        offsets.push(at);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += header + len;
    }
    offsets
}

/// A format 2 segment as an older binary wrote it: format 1, whose frame
/// headers carry no checksum of their own.
fn as_format_1(bytes: &[u8]) -> Vec<u8> {
    let mut out = b"DRWAL\0\0\x01".to_vec();
    for at in frame_offsets(bytes) {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.extend_from_slice(&bytes[at..at + 12]);
        out.extend_from_slice(&bytes[at + 16..at + 16 + len]);
    }
    out
}

/// Found by duckraft-sim (a flipped bit in synced data): a frame whose
/// length field grew past the end of the last segment looked like a torn
/// tail, and recovery cut it and every frame after it, all of them synced.
/// Format 2 refuses it by the header checksum, format 1 by finding the
/// payload complete earlier.
#[test]
fn bit_flip_in_a_length_field_is_corruption_not_a_torn_tail() {
    for format in [1, 2] {
        for frame in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            write_all(dir.path(), 1 << 20);
            let segment = dir.path().join(&segments(dir.path())[0]);
            let mut bytes = std::fs::read(&segment).unwrap();
            if format == 1 {
                bytes = as_format_1(&bytes);
            }
            let offsets = frame_offsets(&bytes);
            assert_eq!(offsets.len(), 3);
            // Bit 20 of the length: about a megabyte, far past the end.
            bytes[offsets[frame] + 6] ^= 0x10;
            std::fs::write(&segment, &bytes).unwrap();
            let expected = if format == 1 {
                "length"
            } else {
                "header checksum"
            };
            assert_refused(dir.path(), expected, &segment, &bytes);
        }
    }
}

/// Found by the `wal_recovery` fuzz target: in format 1, a length pushed
/// past the end together with a damaged payload left no complete payload to
/// find, so the last frame (synced) read as a torn tail and was cut.
#[test]
fn a_damaged_length_and_payload_in_one_frame_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), 1 << 20);
    let segment = dir.path().join(&segments(dir.path())[0]);
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = *frame_offsets(&bytes).last().unwrap();
    bytes[last + 7] ^= 0x01;
    let end = bytes.len() - 1;
    bytes[end] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    assert_refused(dir.path(), "header checksum", &segment, &bytes);
}

/// A log an older binary wrote is replayed as written, its torn tail is
/// still cut, and new frames go to a fresh segment of the current format.
#[test]
fn a_format_1_log_is_replayed_and_continues_in_a_format_2_segment() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_all(dir.path(), 1 << 20);
    let first = dir.path().join(&segments(dir.path())[0]);
    let old = as_format_1(&std::fs::read(&first).unwrap());
    // A crash cut the last frame in half.
    std::fs::write(&first, &old[..old.len() - 30]).unwrap();

    let (mut wal, recovered) = Wal::open(FsDisk::open(dir.path()).unwrap(), 1 << 20).unwrap();
    assert_eq!(recovered.records, written[..3].to_vec());
    assert!(recovered.torn_tail.is_some());
    let next = vec![WalRecord::HardState {
        group: GroupId(0),
        term: 3,
        vote: 1,
        commit: 2,
    }];
    wal.write(&next).unwrap();
    wal.sync().unwrap();
    drop(wal);

    let names = segments(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(
        std::fs::read(&first).unwrap()[7],
        1,
        "the old segment is left as it was"
    );
    assert_eq!(std::fs::read(dir.path().join(&names[1])).unwrap()[7], 2);
    let again = reopen(dir.path()).unwrap();
    let mut expected = written[..3].to_vec();
    expected.extend(next);
    assert_eq!(again.records, expected);
    assert!(again.torn_tail.is_none());
}

#[test]
fn a_group_removal_record_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let records = vec![
        WalRecord::CreateGroup {
            group: GroupId(7),
            voters: vec![1],
        },
        WalRecord::RemoveGroup { group: GroupId(7) },
    ];
    {
        let (mut wal, _) = Wal::open(FsDisk::open(dir.path()).unwrap(), 1 << 20).unwrap();
        wal.write(&records).unwrap();
        wal.sync().unwrap();
    }
    let (_, recovered) = Wal::open(FsDisk::open(dir.path()).unwrap(), 1 << 20).unwrap();
    assert_eq!(recovered.records, records);
}

/// The live state of the sample log after compacting group 0 to index 1.
fn live_state() -> Vec<WalRecord> {
    vec![
        WalRecord::CreateGroup {
            group: GroupId(0),
            voters: vec![1, 2, 3],
        },
        WalRecord::Compacted {
            group: GroupId(0),
            index: 1,
            term: 1,
            conf: Conf {
                voters: vec![1, 2, 3],
                learners: vec![4],
            },
        },
        WalRecord::HardState {
            group: GroupId(0),
            term: 1,
            vote: 2,
            commit: 1,
        },
        WalRecord::Entries {
            group: GroupId(0),
            entries: vec![entry(2, 1, b"create catalog")],
        },
    ]
}

#[test]
fn a_rewrite_replaces_every_older_segment_with_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), 64);
    assert!(segments(dir.path()).len() >= 2);
    let (mut wal, _) = Wal::open(FsDisk::open(dir.path()).unwrap(), 64).unwrap();
    let before = wal.total_bytes();
    wal.rewrite(&live_state()).unwrap();
    assert!(wal.total_bytes() < before);
    let left = segments(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    let later = vec![WalRecord::HardState {
        group: GroupId(0),
        term: 2,
        vote: 0,
        commit: 2,
    }];
    wal.write(&later).unwrap();
    wal.sync().unwrap();
    let mut expected = live_state();
    expected.extend(later);
    assert_eq!(reopen(dir.path()).unwrap().records, expected);
}

#[test]
fn after_a_rewrite_a_torn_tail_is_still_truncated_and_corruption_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), 1 << 20);
    {
        let (mut wal, _) = Wal::open(FsDisk::open(dir.path()).unwrap(), 1 << 20).unwrap();
        wal.rewrite(&live_state()).unwrap();
        wal.write(&[WalRecord::Entries {
            group: GroupId(0),
            entries: vec![entry(3, 2, &[7u8; 200])],
        }])
        .unwrap();
        wal.sync().unwrap();
    }
    let segment = dir.path().join(&segments(dir.path())[0]);
    let full = std::fs::read(&segment).unwrap();
    std::fs::write(&segment, &full[..full.len() - 100]).unwrap();
    let recovered = reopen(dir.path()).unwrap();
    assert_eq!(recovered.records, live_state());
    assert!(recovered.torn_tail.is_some());

    let mut bytes = std::fs::read(&segment).unwrap();
    let at = bytes.len() - 20;
    bytes[at] ^= 0x01;
    std::fs::write(&segment, &bytes).unwrap();
    assert!(matches!(reopen(dir.path()), Err(WalError::Corrupt { .. })));
}

#[test]
fn a_crash_between_the_rewrite_and_the_deletions_replays_old_then_new() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_all(dir.path(), 1 << 20);
    let old_segment = segments(dir.path())[0].clone();
    let saved = std::fs::read(dir.path().join(&old_segment)).unwrap();
    {
        let (mut wal, _) = Wal::open(FsDisk::open(dir.path()).unwrap(), 1 << 20).unwrap();
        wal.rewrite(&live_state()).unwrap();
    }
    // As if the old segment's deletion never reached the disk.
    std::fs::write(dir.path().join(&old_segment), saved).unwrap();
    let mut expected = old;
    expected.extend(live_state());
    assert_eq!(reopen(dir.path()).unwrap().records, expected);
}
