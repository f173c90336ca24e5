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
