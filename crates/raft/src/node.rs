//! The sans-IO multi-group node: one raft-rs `RawNode` per group behind a
//! single input/output surface. The production runtime and the simulator
//! drive this type unchanged; it never reads a clock, a socket or a file,
//! and its only randomness is a PRNG seeded by the driver.
//!
//! Persistence follows raft-rs's asynchronous Ready protocol, batched
//! across groups: [`MultiRaft::poll`] gathers every group's Ready into one
//! [`WalBatch`] (one append and one fsync for all of them, so concurrent
//! proposals share a sync) and holds back every message that may only be
//! sent once that batch is durable (votes, acks) until the driver calls
//! [`MultiRaft::wal_synced`], which reports the Readies persisted. Only one
//! batch is in flight at a time; proposals arriving meanwhile join the next.
//!
//! Snapshots, with the state-machine image kept out of the core:
//! 1. The driver exports an image after applying, offers it with
//!    [`MultiRaft::serve_snapshot`] and drops the log up to an applied index
//!    with [`MultiRaft::compact`] (a [`WalRecord::Compacted`] marker goes
//!    into the next batch).
//! 2. When raft-rs needs an image that is not offered (say after a
//!    restart), [`Output::snapshot_requests`] asks the driver for one;
//!    raft-rs retries meanwhile.
//! 3. A Ready that carries a peer's snapshot is held back whole and the
//!    image goes out in [`Output::snapshots`]. The group neither steps,
//!    ticks nor proposes until the driver has verified and installed it and
//!    called [`MultiRaft::snapshot_installed`]; only then is the Ready
//!    persisted (with a `Compacted` marker) and advanced. A refused image is
//!    never acknowledged: the group stays stopped on this node.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use protobuf::Message as _;
use raft::eraftpb::{
    ConfChangeSingle, ConfChangeType, ConfChangeV2, Entry, EntryType, HardState, Message,
    MessageType,
};
use raft::{Config, ProgressState, RawNode, ReadState, Ready, SnapshotStatus, StateRole};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::codec;
use crate::storage::{Conf, GroupStore, MemberChange, SnapshotImage};
use crate::wal::WalRecord;
use crate::{GroupId, NodeId};

/// Deliberate protocol bugs for the simulator's "does the gate bite" runs.
/// Production never sets any of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// Send vote responses before the term and vote are durable, and never persist the vote.
    pub vote_without_persisting: bool,
    /// Hand entries to the state machine as soon as they are locally durable.
    pub apply_before_commit: bool,
    /// Let the runtime acknowledge proposals once the leader alone has them durable.
    pub ack_before_quorum_fsync: bool,
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: NodeId,
    /// Minimum election timeout in ticks; the actual timeout is drawn from
    /// `[election_tick, 2 * election_tick)` with the node's seeded PRNG.
    pub election_tick: usize,
    pub heartbeat_tick: usize,
    pub max_size_per_msg: u64,
    pub max_inflight_msgs: usize,
    /// Ticks a leader waits for a peer to acknowledge a snapshot before it
    /// counts the send as failed and tries again.
    pub snapshot_timeout_tick: u64,
    pub seed: u64,
    pub bugs: Bugs,
}

impl NodeConfig {
    pub fn new(id: NodeId, seed: u64) -> NodeConfig {
        NodeConfig {
            id,
            election_tick: 10,
            heartbeat_tick: 2,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            snapshot_timeout_tick: 50,
            seed,
            bugs: Bugs::default(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum NodeError {
    /// The state machine has applied past the end of the durable log: the
    /// log was lost or replaced. Serving would risk divergence.
    AppliedBeyondLog {
        group: GroupId,
        applied: u64,
        last_index: u64,
    },
    /// The log starts after entries the state machine never applied.
    AppliedBeforeLog {
        group: GroupId,
        applied: u64,
        first_index: u64,
    },
    InvalidLog {
        group: GroupId,
        reason: String,
    },
    Raft {
        group: GroupId,
        reason: String,
    },
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::AppliedBeyondLog {
                group,
                applied,
                last_index,
            } => write!(
                f,
                "group {group}: state machine applied index {applied} is beyond the durable log's last index {last_index}"
            ),
            NodeError::AppliedBeforeLog {
                group,
                applied,
                first_index,
            } => write!(
                f,
                "group {group}: state machine applied index {applied} is before the log's first index {first_index}"
            ),
            NodeError::InvalidLog { group, reason } => {
                write!(f, "group {group}: invalid log: {reason}")
            }
            NodeError::Raft { group, reason } => write!(f, "group {group}: {reason}"),
        }
    }
}

impl std::error::Error for NodeError {}

#[derive(Debug, PartialEq, Eq)]
pub enum ProposeError {
    UnknownGroup(GroupId),
    /// No leader is known, or the leader refused (for example during a transfer).
    Dropped(GroupId),
    /// A membership change this node cannot propose now, and why.
    Refused {
        group: GroupId,
        reason: String,
    },
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::UnknownGroup(g) => write!(f, "group {g} does not exist on this node"),
            ProposeError::Dropped(g) => write!(f, "group {g} has no leader to accept the proposal"),
            ProposeError::Refused { group, reason } => {
                write!(f, "group {group}: membership change refused: {reason}")
            }
        }
    }
}

impl std::error::Error for ProposeError {}

/// Records that must be appended and fsynced before [`MultiRaft::wal_synced`].
#[derive(Debug)]
pub struct WalBatch {
    pub id: u64,
    pub records: Vec<WalRecord>,
}

/// Everything the driver must act on after a [`MultiRaft::poll`].
#[derive(Debug, Default)]
pub struct Output {
    pub wal: Option<WalBatch>,
    /// One encoded batch per peer, covering every group.
    pub messages: Vec<(NodeId, Vec<u8>)>,
    /// Committed entries per group, in log order. Apply them in order.
    pub committed: Vec<(GroupId, Vec<Entry>)>,
    pub read_states: Vec<(GroupId, ReadState)>,
    /// Entries the runtime may acknowledge before they commit. Empty unless
    /// [`Bugs::ack_before_quorum_fsync`] is injected.
    pub early_acks: Vec<(GroupId, Vec<Entry>)>,
    /// Groups whose leader needs an image for a lagging peer and has none
    /// recent enough: export one and offer it with [`MultiRaft::serve_snapshot`].
    pub snapshot_requests: Vec<GroupId>,
    /// Images from a leader: verify and install each, then call
    /// [`MultiRaft::snapshot_installed`]. Never acknowledge a refused one.
    pub snapshots: Vec<(GroupId, SnapshotImage)>,
}

impl Output {
    pub fn is_empty(&self) -> bool {
        self.wal.is_none()
            && self.messages.is_empty()
            && self.committed.is_empty()
            && self.read_states.is_empty()
            && self.early_acks.is_empty()
            && self.snapshot_requests.is_empty()
            && self.snapshots.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    pub group: GroupId,
    pub role: &'static str,
    pub term: u64,
    pub leader: NodeId,
    pub commit: u64,
    /// Highest index handed to the state machine.
    pub handed_out: u64,
    pub last_index: u64,
    /// The first index still in the log (earlier ones are in the snapshot).
    pub first_index: u64,
    /// Index of the image offered to lagging peers (0: none).
    pub served_snapshot_index: u64,
    /// A peer's snapshot waits for the driver to install it.
    pub installing_snapshot: bool,
    pub log_bytes: u64,
    /// Leader only: (peer, matched index), learners included.
    pub progress: Vec<(NodeId, u64)>,
    /// The configuration after every entry handed out.
    pub conf: Conf,
    /// A membership change is proposed and not yet handed out.
    pub conf_change_pending: bool,
}

/// How far (in entries) a learner may trail the leader's commit index and
/// still be promoted: close enough that the quorum it joins does not wait on
/// it.
pub const PROMOTION_LAG_MAX: u64 = 64;

impl GroupStatus {
    /// A peer's matched index as this leader tracks it (0: unknown).
    pub fn matched(&self, id: NodeId) -> u64 {
        self.progress
            .iter()
            .find(|(peer, _)| *peer == id)
            .map_or(0, |(_, matched)| *matched)
    }

    /// Whether a learner has caught up enough to become a voter: it holds
    /// something (its snapshot arrived) and trails the commit index by at
    /// most [`PROMOTION_LAG_MAX`] entries.
    pub fn may_promote(&self, id: NodeId) -> bool {
        let matched = self.matched(id);
        matched > 0 && matched + PROMOTION_LAG_MAX >= self.commit
    }

    /// The voter (other than `leaving`, and `eligible`) that this leader
    /// should hand leadership to: the most caught-up, lowest id on ties.
    pub fn successor(&self, leaving: NodeId, eligible: impl Fn(NodeId) -> bool) -> Option<NodeId> {
        self.conf
            .voters
            .iter()
            .copied()
            .filter(|v| *v != leaving && eligible(*v))
            .max_by_key(|v| (self.matched(*v), std::cmp::Reverse(*v)))
    }
}

struct Group {
    raw: RawNode<GroupStore>,
    /// Messages that may be sent only after the in-flight batch is durable.
    held: Vec<Message>,
    /// (term, role, leader) when the election timeout was last drawn.
    timer_key: (u64, StateRole, u64),
    handed_out: u64,
    /// A Ready carrying a peer's snapshot, held until the driver installs it.
    stashed: Option<Ready>,
    /// The driver installed the stashed snapshot.
    installed: bool,
    /// Leader only: ticks each peer has been waiting for a snapshot.
    snapshot_ticks: BTreeMap<NodeId, u64>,
    /// While the configuration is unknown (joining): the highest commit
    /// index a peer's message carried. Every one of those indexes was
    /// committed before this node acknowledged anything, and a newcomer is
    /// promoted only after it has acknowledged entries.
    heard_while_joining: u64,
}

pub struct MultiRaft {
    cfg: NodeConfig,
    groups: BTreeMap<GroupId, Group>,
    /// Groups removed from this node; their ids are never created again.
    removed: BTreeSet<GroupId>,
    rng: ChaCha8Rng,
    logger: slog::Logger,
    next_batch: u64,
    /// The batch being made durable and the (group, Ready number) it holds.
    in_flight: Option<(u64, Vec<(GroupId, u64)>)>,
    /// The in-flight batch, until the driver has taken it.
    unsent_batch: Option<WalBatch>,
    /// Records not tied to a Ready (group creation) waiting for the next batch.
    pending_records: Vec<WalRecord>,
    outbox: BTreeMap<NodeId, Vec<(GroupId, Message)>>,
    committed: Vec<(GroupId, Vec<Entry>)>,
    read_states: Vec<(GroupId, ReadState)>,
    early_acks: Vec<(GroupId, Vec<Entry>)>,
    snapshots: Vec<(GroupId, SnapshotImage)>,
    dropped_messages: u64,
    lost_data: Option<LostData>,
}

/// Evidence that this node lost its data (a wiped or rolled-back data
/// directory) and came back under its old Raft id. Its past votes are lost
/// with it, so it must not take part any more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LostData {
    /// A leader counted entries up to `acknowledged` as this node's, and
    /// this node's log ends at `last_index`.
    Entries {
        group: GroupId,
        leader: NodeId,
        acknowledged: u64,
        last_index: u64,
    },
    /// Joining, this node heard that index `heard` was committed, and the
    /// log up to it already made this node a voter at `promoted_at`: a
    /// promotion that needed acknowledgements this node never sent.
    Promoted {
        group: GroupId,
        promoted_at: u64,
        heard: u64,
    },
}

impl MultiRaft {
    /// Rebuilds the node from the records the write-ahead log recovered.
    /// `applied` is each group's durable state-machine (index, term);
    /// entries after it are handed out again.
    ///
    /// A state machine ahead of the log's end is accepted only as a snapshot
    /// installed just before a crash kept its `Compacted` marker from the
    /// log: the group's durable term must have reached the applied term.
    /// Otherwise the log was lost and starting could break a vote.
    pub fn recover(
        cfg: NodeConfig,
        records: Vec<WalRecord>,
        applied: &BTreeMap<GroupId, (u64, u64)>,
    ) -> Result<MultiRaft, NodeError> {
        let mut stores: BTreeMap<GroupId, GroupStore> = BTreeMap::new();
        let mut removed = BTreeSet::new();
        for record in records {
            // A rewritten log repeats the removal of a removed group.
            let removal = matches!(record, WalRecord::RemoveGroup { .. });
            if removed.contains(&record.group()) && !removal {
                return Err(NodeError::InvalidLog {
                    group: record.group(),
                    reason: "record for a group after its removal".into(),
                });
            }
            match record {
                WalRecord::CreateGroup { group, voters } => {
                    stores
                        .entry(group)
                        .or_insert_with(|| GroupStore::new(&voters));
                }
                WalRecord::RemoveGroup { group } => {
                    stores.remove(&group);
                    removed.insert(group);
                }
                WalRecord::HardState {
                    group,
                    term,
                    vote,
                    commit,
                } => {
                    let store = known(&mut stores, group)?;
                    store.set_hard_state(HardState {
                        term,
                        vote,
                        commit,
                        ..HardState::default()
                    });
                }
                WalRecord::Entries { group, entries } => {
                    known(&mut stores, group)?
                        .append(&entries)
                        .map_err(|reason| NodeError::InvalidLog { group, reason })?;
                }
                WalRecord::Compacted {
                    group,
                    index,
                    term,
                    conf,
                } => known(&mut stores, group)?.restore(index, term, &conf),
            }
        }
        let mut node = MultiRaft::empty(cfg);
        node.removed = removed;
        for (group, mut store) in stores {
            let (applied, applied_term) = applied.get(&group).copied().unwrap_or((0, 0));
            if applied < store.snapshot_index() {
                return Err(NodeError::AppliedBeforeLog {
                    group,
                    applied,
                    first_index: store.first_index(),
                });
            }
            let last_index = store.last_index();
            if applied > last_index {
                let term = store.hard_state().term;
                if applied_term == 0 || applied_term > term {
                    return Err(NodeError::AppliedBeyondLog {
                        group,
                        applied,
                        last_index,
                    });
                }
                tracing::warn!(%group, applied, last_index, "the state machine holds a snapshot whose log marker was lost in a crash; the log restarts after it");
                let conf = store.conf().clone();
                store.restore(applied, applied_term, &conf);
                node.pending_records.push(WalRecord::Compacted {
                    group,
                    index: applied,
                    term: applied_term,
                    conf,
                });
            }
            let last_index = store.last_index();
            if store.hard_state().commit > last_index {
                return Err(NodeError::InvalidLog {
                    group,
                    reason: format!(
                        "commit index {} is beyond the last index {last_index}",
                        store.hard_state().commit
                    ),
                });
            }
            replay_conf_changes(&mut store, applied);
            // The state machine may have applied entries whose commit index
            // had not reached the log yet; applied entries were committed.
            if applied > store.hard_state().commit {
                let mut hs = store.hard_state().clone();
                hs.commit = applied;
                store.set_hard_state(hs);
            }
            node.insert_group(group, store, applied)?;
        }
        Ok(node)
    }

    fn empty(cfg: NodeConfig) -> MultiRaft {
        MultiRaft {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            cfg,
            groups: BTreeMap::new(),
            removed: BTreeSet::new(),
            logger: slog::Logger::root(slog::Discard, slog::o!()),
            next_batch: 1,
            in_flight: None,
            unsent_batch: None,
            pending_records: Vec::new(),
            outbox: BTreeMap::new(),
            committed: Vec::new(),
            read_states: Vec::new(),
            early_acks: Vec::new(),
            snapshots: Vec::new(),
            dropped_messages: 0,
            lost_data: None,
        }
    }

    fn raft_config(&self, applied: u64) -> Config {
        Config {
            id: self.cfg.id,
            election_tick: self.cfg.election_tick,
            heartbeat_tick: self.cfg.heartbeat_tick,
            applied,
            max_size_per_msg: self.cfg.max_size_per_msg,
            max_inflight_msgs: self.cfg.max_inflight_msgs,
            check_quorum: true,
            pre_vote: true,
            ..Config::default()
        }
    }

    fn insert_group(
        &mut self,
        group: GroupId,
        store: GroupStore,
        applied: u64,
    ) -> Result<(), NodeError> {
        let config = self.raft_config(applied);
        let alone = store.voters() == [self.cfg.id];
        let mut raw = RawNode::new(&config, store, &self.logger).map_err(|e| NodeError::Raft {
            group,
            reason: e.to_string(),
        })?;
        if alone {
            // A one-voter group needs nobody's vote: lead now rather than
            // after an election timeout.
            raw.campaign().map_err(|e| NodeError::Raft {
                group,
                reason: e.to_string(),
            })?;
        }
        self.groups.insert(
            group,
            Group {
                raw,
                held: Vec::new(),
                timer_key: (u64::MAX, StateRole::Follower, u64::MAX),
                handed_out: applied,
                stashed: None,
                installed: false,
                snapshot_ticks: BTreeMap::new(),
                heard_while_joining: 0,
            },
        );
        self.redraw_timeout(group);
        Ok(())
    }

    /// Creates a group with a static voter set. Idempotent: the control
    /// plane re-applies its log after a restart. A removed group stays
    /// removed.
    pub fn create_group(&mut self, group: GroupId, voters: &[NodeId]) -> Result<(), NodeError> {
        if self.groups.contains_key(&group) || self.removed.contains(&group) {
            return Ok(());
        }
        let mut voters = voters.to_vec();
        voters.sort_unstable();
        self.insert_group(group, GroupStore::new(&voters), 0)?;
        self.pending_records
            .push(WalRecord::CreateGroup { group, voters });
        Ok(())
    }

    /// Removes a group from this node for good: its Raft state, its queued
    /// output (messages, committed entries, read states) and, through a
    /// record in the next WAL batch, its log. Messages for it are dropped
    /// from now on. Idempotent.
    pub fn remove_group(&mut self, group: GroupId) {
        if !self.removed.insert(group) {
            return;
        }
        self.groups.remove(&group);
        for messages in self.outbox.values_mut() {
            messages.retain(|(g, _)| *g != group);
        }
        self.committed.retain(|(g, _)| *g != group);
        self.read_states.retain(|(g, _)| *g != group);
        self.early_acks.retain(|(g, _)| *g != group);
        self.snapshots.retain(|(g, _)| *g != group);
        self.pending_records.push(WalRecord::RemoveGroup { group });
    }

    /// Offers an image of the state machine (`data`, exported by the driver
    /// at an index it applied) to peers that need compacted entries. The
    /// image carries the configuration at its index.
    pub fn serve_snapshot(
        &mut self,
        group: GroupId,
        index: u64,
        term: u64,
        data: Vec<u8>,
    ) -> Result<(), NodeError> {
        let g = self
            .groups
            .get_mut(&group)
            .ok_or_else(|| unknown_group(group))?;
        let store = g.raw.mut_store();
        if index > g.handed_out || index == 0 || index < store.snapshot_index() {
            return Err(NodeError::Raft {
                group,
                reason: format!(
                    "snapshot at index {index} offered, but the log starts after {} and {} entries were handed out",
                    store.snapshot_index(),
                    g.handed_out
                ),
            });
        }
        let conf = store.conf_at(index).clone();
        store.serve(SnapshotImage {
            index,
            term,
            conf,
            data,
        });
        Ok(())
    }

    /// Drops the group's log up to `to`, which the state machine has
    /// durably applied. The marker is persisted with the next batch.
    pub fn compact(&mut self, group: GroupId, to: u64) -> Result<(), NodeError> {
        let g = self
            .groups
            .get_mut(&group)
            .ok_or_else(|| unknown_group(group))?;
        let applied = g.raw.raft.raft_log.applied;
        if to > applied {
            return Err(NodeError::Raft {
                group,
                reason: format!("cannot compact to {to}: raft-rs applied only {applied}"),
            });
        }
        if to <= g.raw.store().snapshot_index() {
            return Ok(());
        }
        let store = g.raw.mut_store();
        let term = store
            .compact(to)
            .map_err(|reason| NodeError::InvalidLog { group, reason })?;
        let conf = store.conf_at(to).clone();
        self.pending_records.push(WalRecord::Compacted {
            group,
            index: to,
            term,
            conf,
        });
        Ok(())
    }

    /// The driver installed the snapshot it was handed for `group`; its
    /// Ready is persisted and advanced at the next poll.
    pub fn snapshot_installed(&mut self, group: GroupId) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.installed = g.stashed.is_some();
        }
    }

    /// The node's whole durable state as log records, for
    /// [`crate::wal::Wal::rewrite`]. `None` while a batch is in flight.
    pub fn live_records(&self) -> Option<Vec<WalRecord>> {
        if self.in_flight.is_some() || self.unsent_batch.is_some() {
            return None;
        }
        let mut records: Vec<WalRecord> = self
            .removed
            .iter()
            .map(|&group| WalRecord::RemoveGroup { group })
            .collect();
        for (&group, g) in &self.groups {
            let store = g.raw.store();
            // The configuration at the log's start; the held entries replay
            // the changes after it.
            let conf = store.conf_at(store.snapshot_index()).clone();
            records.push(WalRecord::CreateGroup {
                group,
                voters: conf.voters.clone(),
            });
            if store.snapshot_index() > 0 {
                records.push(WalRecord::Compacted {
                    group,
                    index: store.snapshot_index(),
                    term: store.term_at(store.snapshot_index()).expect("held"),
                    conf,
                });
            }
            let hs = store.hard_state();
            records.push(WalRecord::HardState {
                group,
                term: hs.term,
                vote: hs.vote,
                commit: hs.commit,
            });
            if store.last_index() >= store.first_index() {
                let entries = store
                    .slice(store.first_index(), store.last_index() + 1)
                    .to_vec();
                records.push(WalRecord::Entries { group, entries });
            }
        }
        records.extend(self.pending_records.iter().cloned());
        Some(records)
    }

    /// Each group's first log index, unless a leader's snapshot of it is
    /// waiting to be installed; in id order. Cheaper than [`MultiRaft::status`].
    pub fn log_starts(&self) -> Vec<(GroupId, u64)> {
        self.groups
            .iter()
            .filter(|(_, g)| g.stashed.is_none())
            .map(|(&group, g)| (group, g.raw.store().first_index()))
            .collect()
    }

    /// The groups this node runs, in id order.
    pub fn group_ids(&self) -> Vec<GroupId> {
        self.groups.keys().copied().collect()
    }

    pub fn id(&self) -> NodeId {
        self.cfg.id
    }

    pub fn tick(&mut self) {
        let ids: Vec<GroupId> = self.groups.keys().copied().collect();
        let timeout = self.cfg.snapshot_timeout_tick;
        for group in ids {
            let g = self.groups.get_mut(&group).expect("listed");
            if g.stashed.is_some() {
                continue;
            }
            g.raw.tick();
            expire_snapshot_sends(g, timeout);
            self.redraw_timeout(group);
        }
    }

    /// Steps one encoded batch from an authenticated peer. A malformed batch
    /// is refused whole; messages claiming another sender or addressed to
    /// another node are dropped.
    pub fn step(&mut self, from: NodeId, batch: &[u8]) -> Result<(), codec::CodecError> {
        for (group, message) in codec::decode_batch(batch)? {
            if message.from != from || message.to != self.cfg.id {
                self.dropped_messages += 1;
                continue;
            }
            let Some(g) = self.groups.get_mut(&group) else {
                // The group's creation has not been applied here yet; the
                // leader keeps retrying, so dropping is safe.
                self.dropped_messages += 1;
                continue;
            };
            if g.stashed.is_some() {
                // Nothing may move raft-rs while its snapshot Ready is out.
                self.dropped_messages += 1;
                continue;
            }
            if g.raw.store().conf().is_empty() {
                g.heard_while_joining = g.heard_while_joining.max(message.commit);
                if refused_while_joining(&message) {
                    self.dropped_messages += 1;
                    continue;
                }
            }
            if message.get_msg_type() == MessageType::MsgHeartbeat
                && message.commit > g.raw.raft.raft_log.last_index()
            {
                // A heartbeat's commit is at most what the leader counts as
                // acknowledged by this node (raft-rs would panic on it).
                self.lost_data.get_or_insert(LostData::Entries {
                    group,
                    leader: message.from,
                    acknowledged: message.commit,
                    last_index: g.raw.raft.raft_log.last_index(),
                });
                self.dropped_messages += 1;
                continue;
            }
            if g.raw.step(message).is_err() {
                self.dropped_messages += 1;
            }
            self.redraw_timeout(group);
        }
        Ok(())
    }

    /// Proposes opaque data. Followers forward to the leader they know.
    pub fn propose(&mut self, group: GroupId, data: Vec<u8>) -> Result<(), ProposeError> {
        let g = self
            .groups
            .get_mut(&group)
            .ok_or(ProposeError::UnknownGroup(group))?;
        if g.raw.raft.leader_id == raft::INVALID_ID || g.stashed.is_some() {
            return Err(ProposeError::Dropped(group));
        }
        let result = g.raw.propose(Vec::new(), data);
        self.redraw_timeout(group);
        result.map_err(|_| ProposeError::Dropped(group))
    }

    /// Proposes one membership change; only the leader may, one change at
    /// a time. It takes effect on each node as the entry is handed out
    /// (the state machine sees an empty entry). The leader never removes
    /// itself: transfer leadership first.
    pub fn change_membership(
        &mut self,
        group: GroupId,
        change: MemberChange,
    ) -> Result<(), ProposeError> {
        let me = self.cfg.id;
        let g = self
            .groups
            .get_mut(&group)
            .ok_or(ProposeError::UnknownGroup(group))?;
        let refuse = |reason: String| Err(ProposeError::Refused { group, reason });
        if g.raw.raft.state != StateRole::Leader || g.stashed.is_some() {
            return refuse("this node is not the group's leader".into());
        }
        if g.raw.raft.has_pending_conf() {
            return refuse("another membership change is in progress".into());
        }
        if change == MemberChange::Remove(me) {
            return refuse("the leader does not remove itself; transfer leadership first".into());
        }
        if let Err(reason) = g.raw.store().conf().clone().apply(change) {
            return refuse(reason);
        }
        let (change_type, node_id) = match change {
            MemberChange::AddLearner(id) => (ConfChangeType::AddLearnerNode, id),
            MemberChange::Promote(id) => (ConfChangeType::AddNode, id),
            MemberChange::Remove(id) => (ConfChangeType::RemoveNode, id),
        };
        let mut single = ConfChangeSingle::default();
        single.set_change_type(change_type);
        single.node_id = node_id;
        let mut cc = ConfChangeV2::default();
        cc.changes.push(single);
        let result = g.raw.propose_conf_change(Vec::new(), cc);
        self.redraw_timeout(group);
        result.map_err(|_| ProposeError::Dropped(group))
    }

    /// Starts a ReadIndex round; the answer arrives in `Output::read_states`.
    pub fn read_index(&mut self, group: GroupId, context: Vec<u8>) -> Result<(), ProposeError> {
        let g = self
            .groups
            .get_mut(&group)
            .ok_or(ProposeError::UnknownGroup(group))?;
        if g.stashed.is_some() {
            return Err(ProposeError::Dropped(group));
        }
        g.raw.read_index(context);
        Ok(())
    }

    pub fn transfer_leader(&mut self, group: GroupId, to: NodeId) {
        if let Some(g) = self.groups.get_mut(&group).filter(|g| g.stashed.is_none()) {
            g.raw.transfer_leader(to);
        }
    }

    pub fn is_leader(&self, group: GroupId) -> bool {
        self.groups
            .get(&group)
            .is_some_and(|g| g.raw.raft.state == StateRole::Leader)
    }

    /// The group's leader as this node knows it, if any.
    pub fn leader(&self, group: GroupId) -> Option<NodeId> {
        self.groups
            .get(&group)
            .map(|g| g.raw.raft.leader_id)
            .filter(|&id| id != raft::INVALID_ID)
    }

    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// Set once this node learns it lost its data. The driver must then
    /// stop: nothing `poll` returned since may be sent or written.
    pub fn lost_data(&self) -> Option<&LostData> {
        self.lost_data.as_ref()
    }

    pub fn status(&self) -> Vec<GroupStatus> {
        self.groups
            .iter()
            .map(|(&group, g)| {
                let raft = &g.raw.raft;
                let progress = if raft.state == StateRole::Leader {
                    let mut p: Vec<(NodeId, u64)> = raft
                        .prs()
                        .iter()
                        .map(|(&id, pr)| (id, pr.matched))
                        .collect();
                    p.sort_unstable();
                    p
                } else {
                    Vec::new()
                };
                GroupStatus {
                    group,
                    role: match raft.state {
                        StateRole::Leader => "leader",
                        StateRole::Candidate => "candidate",
                        StateRole::PreCandidate => "pre-candidate",
                        StateRole::Follower => "follower",
                    },
                    term: raft.term,
                    leader: raft.leader_id,
                    commit: raft.raft_log.committed,
                    handed_out: g.handed_out,
                    last_index: g.raw.store().last_index(),
                    first_index: g.raw.store().first_index(),
                    served_snapshot_index: g.raw.store().served_index(),
                    installing_snapshot: g.stashed.is_some(),
                    log_bytes: g.raw.store().log_bytes(),
                    progress,
                    conf: g.raw.store().conf().clone(),
                    conf_change_pending: raft.has_pending_conf(),
                }
            })
            .collect()
    }

    /// Redraws the election timeout from the seeded PRNG whenever raft-rs
    /// reset it (it draws from an unseeded thread RNG on every role or term
    /// change); overriding it keeps runs replayable.
    fn redraw_timeout(&mut self, group: GroupId) {
        let g = self.groups.get_mut(&group).expect("group exists");
        let raft = &mut g.raw.raft;
        let key = (raft.term, raft.state, raft.leader_id);
        if key != g.timer_key {
            g.timer_key = key;
            let min = raft.election_timeout();
            let timeout = self.rng.gen_range(min..2 * min);
            raft.set_randomized_election_timeout(timeout);
        }
    }

    /// Collects work for the driver. When no WAL batch is in flight this
    /// gathers every group's Ready into a new batch.
    pub fn poll(&mut self) -> Output {
        if self.in_flight.is_none() {
            self.gather_readies();
        }
        let mut out = Output {
            wal: self.unsent_batch.take(),
            ..Output::default()
        };
        out.messages = std::mem::take(&mut self.outbox)
            .into_iter()
            .filter(|(_, msgs)| !msgs.is_empty())
            .map(|(peer, msgs)| (peer, codec::encode_batch(&msgs)))
            .collect();
        out.committed = std::mem::take(&mut self.committed);
        out.read_states = std::mem::take(&mut self.read_states);
        out.early_acks = std::mem::take(&mut self.early_acks);
        out.snapshots = std::mem::take(&mut self.snapshots);
        out.snapshot_requests = self
            .groups
            .iter()
            .filter(|(_, g)| g.raw.store().take_request())
            .map(|(&group, _)| group)
            .collect();
        out
    }

    fn gather_readies(&mut self) {
        let mut involved = Vec::new();
        let bugs = self.cfg.bugs;
        for (&group, g) in self.groups.iter_mut() {
            let mut rd = match g.stashed.take() {
                Some(rd) if g.installed => {
                    g.installed = false;
                    let meta = rd.snapshot().get_metadata();
                    let (index, term) = (meta.index, meta.term);
                    let conf = Conf::from(meta.get_conf_state());
                    g.raw.mut_store().restore(index, term, &conf);
                    g.handed_out = g.handed_out.max(index);
                    self.pending_records.push(WalRecord::Compacted {
                        group,
                        index,
                        term,
                        conf,
                    });
                    rd
                }
                Some(rd) => {
                    g.stashed = Some(rd);
                    continue;
                }
                None if !g.raw.has_ready() => continue,
                None => {
                    let rd = g.raw.ready();
                    if !rd.snapshot().is_empty() {
                        let meta = rd.snapshot().get_metadata();
                        let image = SnapshotImage {
                            index: meta.index,
                            term: meta.term,
                            conf: Conf::from(meta.get_conf_state()),
                            data: rd.snapshot().data.to_vec(),
                        };
                        self.snapshots.push((group, image));
                        if let Some(hs) = rd.hs() {
                            // The term and vote go into this batch, durable
                            // before the driver installs: recovery then finds
                            // the log's term at least the snapshot's (see
                            // `recover`). The commit waits for the Ready.
                            let store = g.raw.mut_store();
                            let commit = store.hard_state().commit;
                            store.set_hard_state(HardState {
                                commit,
                                ..hs.clone()
                            });
                            self.pending_records.push(WalRecord::HardState {
                                group,
                                term: hs.term,
                                vote: hs.vote,
                                commit,
                            });
                        }
                        g.stashed = Some(rd);
                        continue;
                    }
                    rd
                }
            };
            queue_messages(&mut self.outbox, group, rd.take_messages());
            let entries = rd.take_entries();
            if !entries.is_empty() {
                if let Err(reason) = g.raw.mut_store().append(&entries) {
                    panic!("group {group}: raft-rs produced an unappendable batch: {reason}");
                }
                self.pending_records
                    .push(WalRecord::Entries { group, entries });
            }
            if let Some(hs) = rd.hs() {
                g.raw.mut_store().set_hard_state(hs.clone());
                let vote = if bugs.vote_without_persisting {
                    0
                } else {
                    hs.vote
                };
                self.pending_records.push(WalRecord::HardState {
                    group,
                    term: hs.term,
                    vote,
                    commit: hs.commit,
                });
            }
            for rs in rd.take_read_states() {
                self.read_states.push((group, rs));
            }
            let committed = rd.take_committed_entries();
            let me = self.cfg.id;
            if let Some(promoted_at) = hand_out(g, group, committed, &mut self.committed, me) {
                self.lost_data.get_or_insert(LostData::Promoted {
                    group,
                    promoted_at,
                    heard: g.heard_while_joining,
                });
            }
            let mut held = rd.take_persisted_messages();
            if bugs.vote_without_persisting {
                let (votes, rest): (Vec<Message>, Vec<Message>) = held
                    .into_iter()
                    .partition(|m| m.get_msg_type() == MessageType::MsgRequestVoteResponse);
                queue_messages(&mut self.outbox, group, votes);
                held = rest;
            }
            g.held.extend(held);
            let number = rd.number();
            // Entries are in the store, so raft-rs may read them back; they
            // count as persisted only at on_persist_ready.
            g.raw.advance_append_async(rd);
            advance_applied(g);
            involved.push((group, number));
        }
        if involved.is_empty() && self.pending_records.is_empty() {
            return;
        }
        let id = self.next_batch;
        self.next_batch += 1;
        self.in_flight = Some((id, involved));
        if self.pending_records.is_empty() {
            // Nothing to persist (only messages or commits): finish now.
            self.wal_synced(id);
        } else {
            let records = std::mem::take(&mut self.pending_records);
            self.unsent_batch = Some(WalBatch { id, records });
        }
    }

    /// The driver made batch `id` durable: release held messages and tell
    /// every group that took part.
    pub fn wal_synced(&mut self, id: u64) {
        let Some((in_flight, involved)) = self.in_flight.take() else {
            return;
        };
        assert_eq!(in_flight, id, "WAL batches complete in order");
        let bugs = self.cfg.bugs;
        for (group, number) in involved {
            let Some(g) = self.groups.get_mut(&group) else {
                continue;
            };
            let held = std::mem::take(&mut g.held);
            queue_messages(&mut self.outbox, group, held);
            g.raw.on_persist_ready(number);
            // An installed snapshot counts as applied once it is durable.
            advance_applied(g);
            if bugs.apply_before_commit || bugs.ack_before_quorum_fsync {
                let last = g.raw.store().last_index();
                if last > g.handed_out {
                    let early = g.raw.store().slice(g.handed_out + 1, last + 1).to_vec();
                    if bugs.apply_before_commit {
                        g.handed_out = last;
                        self.committed.push((group, early));
                    } else if g.raw.raft.state == StateRole::Leader {
                        self.early_acks.push((group, early));
                    }
                }
            }
        }
    }
}

fn unknown_group(group: GroupId) -> NodeError {
    NodeError::Raft {
        group,
        reason: "no such group on this node".into(),
    }
}

/// A snapshot message can be lost (a peer down, a dropped connection), and
/// raft-rs sends nothing more to a peer waiting for one until told the send
/// failed: after `timeout` ticks, report the failure so it probes again.
fn expire_snapshot_sends(g: &mut Group, timeout: u64) {
    if g.raw.raft.state != StateRole::Leader {
        g.snapshot_ticks.clear();
        return;
    }
    let mut waiting: Vec<NodeId> = g
        .raw
        .raft
        .prs()
        .iter()
        .filter(|(_, pr)| pr.state == ProgressState::Snapshot)
        .map(|(&id, _)| id)
        .collect();
    waiting.sort_unstable();
    g.snapshot_ticks.retain(|id, _| waiting.contains(id));
    for id in waiting {
        let ticks = g.snapshot_ticks.entry(id).or_insert(0);
        *ticks += 1;
        if *ticks >= timeout {
            g.snapshot_ticks.remove(&id);
            g.raw.report_snapshot(id, SnapshotStatus::Failure);
        }
    }
}

fn known(
    stores: &mut BTreeMap<GroupId, GroupStore>,
    group: GroupId,
) -> Result<&mut GroupStore, NodeError> {
    stores.get_mut(&group).ok_or(NodeError::InvalidLog {
        group,
        reason: "record for a group that was never created".into(),
    })
}

fn queue_messages(
    outbox: &mut BTreeMap<NodeId, Vec<(GroupId, Message)>>,
    group: GroupId,
    messages: Vec<Message>,
) {
    for message in messages {
        outbox.entry(message.to).or_default().push((group, message));
    }
}

/// Tells raft-rs what the state machine has been given, within the range it
/// accepts (an injected apply-before-commit bug hands out more).
fn advance_applied(g: &mut Group) {
    let log = &g.raw.raft.raft_log;
    let applied = g.handed_out.min(log.committed).min(log.persisted);
    if applied > log.applied {
        g.raw.advance_apply_to(applied);
    }
}

/// Queues committed entries past what was already handed out. A
/// membership change takes effect here, and the state machine is handed an
/// empty entry in its place. Returns the index of a change that made `me` a
/// voter at or below the commit index heard while joining.
fn hand_out(
    g: &mut Group,
    group: GroupId,
    entries: Vec<Entry>,
    committed: &mut Vec<(GroupId, Vec<Entry>)>,
    me: NodeId,
) -> Option<u64> {
    let mut promoted_before_joining = None;
    let fresh: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.index > g.handed_out)
        .map(|e| {
            if e.get_entry_type() == EntryType::EntryNormal {
                return e;
            }
            let mut conf = g.raw.store().conf().clone();
            match decode_member_change(&e).and_then(|(change, cc)| {
                conf.apply(change)?;
                Ok(cc)
            }) {
                Ok(cc) => {
                    // Our rules are stricter than raft-rs's, so it accepts
                    // every change they let through.
                    let applied = g.raw.apply_conf_change(&cc).unwrap_or_else(|err| {
                        panic!("group {group}: raft-rs refused a validated membership change at index {}: {err}", e.index)
                    });
                    debug_assert_eq!(Conf::from(&applied), conf);
                    tracing::info!(%group, index = e.index, voters = ?conf.voters, learners = ?conf.learners, "membership changed");
                    if e.index <= g.heard_while_joining && conf.voters.contains(&me) {
                        promoted_before_joining.get_or_insert(e.index);
                    }
                    g.raw.mut_store().record_conf(e.index, conf);
                }
                Err(reason) => {
                    tracing::warn!(%group, index = e.index, %reason, "a committed membership change does not apply; it is a no-op on every node");
                }
            }
            Entry {
                index: e.index,
                term: e.term,
                ..Entry::default()
            }
        })
        .collect();
    if let Some(last) = fresh.last() {
        g.handed_out = last.index;
        committed.push((group, fresh));
    }
    promoted_before_joining
}

/// What a node that is joining a group (it knows no configuration yet)
/// refuses. Entries from the log's start would not tell it the
/// configuration the group was created with: only the leader's snapshot may
/// initialise it, and refusing these makes the leader send one once its log
/// no longer starts at 1. Nor does it vote: a node that lost its data and
/// comes back under its old id would otherwise vote again in a term it
/// already voted in.
fn refused_while_joining(message: &Message) -> bool {
    match message.get_msg_type() {
        MessageType::MsgAppend => message.index == 0,
        MessageType::MsgRequestVote | MessageType::MsgRequestPreVote => true,
        _ => false,
    }
}

/// The one-member change a conf-change entry carries, as duckraft proposes
/// them. Anything else (several changes, joint configurations) is refused.
fn decode_member_change(entry: &Entry) -> Result<(MemberChange, ConfChangeV2), String> {
    if entry.get_entry_type() != EntryType::EntryConfChangeV2 {
        return Err("a version 1 conf change, which duckraft never proposes".into());
    }
    let cc = ConfChangeV2::parse_from_bytes(&entry.data)
        .map_err(|e| format!("undecodable membership change: {e}"))?;
    let [single] = cc.changes.as_slice() else {
        return Err(format!("{} changes in one entry", cc.changes.len()));
    };
    if cc.transition != raft::eraftpb::ConfChangeTransition::Auto || !cc.context.is_empty() {
        return Err("a joint or annotated change".into());
    }
    let change = match single.get_change_type() {
        ConfChangeType::AddLearnerNode => MemberChange::AddLearner(single.node_id),
        ConfChangeType::AddNode => MemberChange::Promote(single.node_id),
        ConfChangeType::RemoveNode => MemberChange::Remove(single.node_id),
    };
    Ok((change, cc))
}

/// Brings a recovered group's configuration up to `applied`: raft-rs takes
/// it as the configuration in force, and changes after `applied` take
/// effect again as their entries are handed out again.
fn replay_conf_changes(store: &mut GroupStore, applied: u64) {
    let last = applied.min(store.last_index());
    if last < store.first_index() {
        return;
    }
    let changes: Vec<(u64, MemberChange)> = store
        .slice(store.first_index(), last + 1)
        .iter()
        .filter(|e| e.get_entry_type() != EntryType::EntryNormal)
        .filter_map(|e| {
            decode_member_change(e)
                .ok()
                .map(|(change, _)| (e.index, change))
        })
        .collect();
    for (index, change) in changes {
        let mut conf = store.conf().clone();
        if conf.apply(change).is_ok() {
            store.record_conf(index, conf);
        }
    }
}
