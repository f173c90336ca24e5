//! duckraft's replication core: a sans-IO multi-group Raft node over
//! raft-rs, the shared write-ahead log it persists through, and the disk
//! seam that lets the simulator drive both unchanged.

pub mod codec;
pub mod disk;
pub mod node;
pub mod storage;
pub mod wal;

use std::fmt;

pub use node::{
    Bugs, GroupStatus, LostData, MultiRaft, NodeConfig, NodeError, Output, ProposeError, WalBatch,
};
pub use raft::eraftpb::{Entry, Message, MessageType};
pub use raft::ReadState;

/// Where a group's log is compacted once a snapshot at `snapshot_index` is
/// served: `threshold / 2` entries below it stay. In a group of three the
/// slower follower is usually a round or two behind the commit index, so
/// compacting right up to the snapshot sent it the whole state machine on
/// every compaction under load (and ended its sessions on that catalog);
/// with the tail it catches up from the log. etcd keeps such a tail too
/// (`SnapshotCatchUpEntries`).
pub fn compaction_point(snapshot_index: u64, threshold: u64) -> u64 {
    snapshot_index.saturating_sub(threshold / 2)
}

/// Whether a group whose log starts at `first_index` and is applied up to
/// `applied` is due a snapshot: its compaction point is `threshold` entries
/// past the log's start.
pub fn compaction_due(applied: u64, first_index: u64, threshold: u64) -> bool {
    compaction_point(applied, threshold) >= first_index.saturating_sub(1) + threshold
}

/// A Raft member; ids are positive and stable for the node's lifetime.
pub type NodeId = u64;

/// A Raft group. Group 0 is the control plane (`cp-metadata`); catalogs get
/// ids allocated by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(pub u64);

impl GroupId {
    pub const CONTROL: GroupId = GroupId(0);
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == GroupId::CONTROL {
            write!(f, "cp-metadata")
        } else {
            write!(f, "catalog-{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{compaction_due, compaction_point};

    #[test]
    fn compaction_keeps_half_the_threshold_below_the_snapshot() {
        assert_eq!(compaction_point(15_000, 10_000), 10_000);
        assert_eq!(compaction_point(3, 10), 0, "nothing to compact yet");
        // From a fresh log, the first compaction waits for 1.5 thresholds.
        assert!(!compaction_due(14_999, 1, 10_000));
        assert!(compaction_due(15_000, 1, 10_000));
        // After compacting to 10,000 the log starts at 10,001; the next
        // snapshot is a threshold later, and the tail stays in the log.
        assert!(!compaction_due(24_999, 10_001, 10_000));
        assert!(compaction_due(25_000, 10_001, 10_000));
        assert!(compaction_point(25_000, 10_000) < 25_000);
    }
}
