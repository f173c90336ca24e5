//! The production driver of the replication core: one thread owns the
//! sans-IO [`MultiRaft`], the node's write-ahead log, the control plane and
//! every catalog replica, and does what the node's outputs say. Peer
//! payloads arrive from the transport; proposals arrive from sessions with a
//! channel to answer on.
//!
//! Group commit: the thread drains every queued input before it polls the
//! node, so proposals that arrive while a fsync runs share the next one.
//!
//! Snapshots: once a group's applied index is [`Compaction::threshold_entries`]
//! past its log's start, the driver exports the state machine's file
//! (`duckraft_engine::snapshot`), offers it to the node and compacts the log
//! up to it; when the Raft log holds far more than the live state it is
//! rewritten and older segments deleted. A snapshot from a leader is
//! verified and installed before the node persists it; a refused one is
//! logged, counted and never installed (the group stops on this node).
//!
//! Roles: after every cp-metadata apply (and snapshot install) the driver
//! publishes the applied roles to a shared read-only map, which logins and
//! privilege checks read; a session never waits for the driver to log in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use duckraft_engine::command::{
    self, Command, ControlCommand, Envelope, Member, ProposalId, Role, WriteBatch, WriteOp,
};
use duckraft_engine::control::{Access, ControlOutcome, ControlPlane};
use duckraft_engine::replica::{Committed, Outcome, Replica, ReplicaError};
use duckraft_engine::snapshot::{self, SnapshotError};
use duckraft_engine::Catalogs;
use duckraft_raft::disk::FsDisk;
use duckraft_raft::storage::{MemberChange, SnapshotImage};
use duckraft_raft::wal::{Wal, DEFAULT_SEGMENT_BYTES};
use duckraft_raft::{Entry, GroupId, GroupStatus, LostData, MultiRaft, NodeConfig, NodeId};
use serde::Serialize;
use tracing::{error, info, warn};

use crate::membership::Membership;
use crate::tentative::Tentatives;

/// The default catalog's group exists from bootstrap on every node. Control
/// log index 1 is always the first leader's empty entry, so no
/// `CreateCatalog` can ever be given this id.
pub const DEFAULT_CATALOG_GROUP: GroupId = GroupId(1);

/// Upper bounds (seconds) of the Raft log fsync latency histogram.
pub const FSYNC_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// How long a session waits for its write before answering 40003.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A write not answered in this long is proposed again (same id).
const REPROPOSE_AFTER: Duration = Duration::from_millis(1000);

/// Delivers one payload to a peer, by name (the transport's `send`).
pub type PeerSender = Box<dyn Fn(&str, Vec<u8>) + Send>;

/// Catalog name to group id, shared between the driver and sessions.
type CatalogGroups = Arc<Mutex<BTreeMap<String, GroupId>>>;

/// Role name to role as cp-metadata applied them on this node; written only
/// by the driver.
type Roles = Arc<RwLock<BTreeMap<String, Role>>>;
/// The capability level and grants as cp-metadata applied them on this
/// node; written only by the driver.
type SharedAccess = Arc<RwLock<Access>>;

/// Hands the transport the peer set (name to address) whenever the member
/// list changes.
pub type PeerDirectory = Box<dyn Fn(BTreeMap<String, String>) + Send>;

/// What a session is told about its write.
#[derive(Debug)]
pub enum Answer {
    Catalog(Outcome),
    Control(ControlOutcome),
    /// Not proposed at all: no leader is known.
    NoLeader,
    /// Proposed, but no answer in time: it may still commit.
    Unknown,
    /// The node or group cannot guarantee correctness.
    Degraded(String),
    /// The catalog was dropped (a replicated DROP DATABASE) before this
    /// write or read completed; the write never took effect.
    CatalogDropped,
}

enum Input {
    Peer {
        from: String,
        bytes: Vec<u8>,
    },
    Propose {
        group: GroupId,
        envelope: Envelope,
        reply: Sender<Answer>,
    },
    /// Answer once this node has applied everything committed when the
    /// request reached the group's leader (a ReadIndex round).
    ReadBarrier {
        group: GroupId,
        reply: ReadReply,
    },
    StateHashes(Sender<BTreeMap<String, CatalogHash>>),
    Drain,
    /// Shutdown: the driver returns and closes its connections.
    Stop,
}

/// Where a read barrier's answer goes.
type ReadReply = Sender<Result<(), Answer>>;

/// A bootstrap member that lost its data directory and restarted without
/// `--join` comes back empty under its old Raft id, having forgotten its
/// votes and the entries it acknowledged. A node that starts with nothing
/// applied therefore first catches up with cp-metadata's leader (a read
/// barrier) and looks for a capability report of its own: only a previous
/// life can have left one, since a node reports only after this check.
/// Joiners come in under new ids and are not checked.
enum PreviousLifeCheck {
    Due,
    Waiting(Receiver<Result<(), Answer>>),
    Done,
}

/// Sessions waiting for a linearizable read point.
struct ReadWaiters {
    group: GroupId,
    replies: Vec<ReadReply>,
    /// Every ReadIndex round issued for them so far; any answer will do.
    contexts: Vec<u64>,
    last_attempt: Instant,
    deadline: Instant,
}

/// A catalog's canonical state hash at the index it describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogHash {
    pub applied: u64,
    pub hash: String,
}

struct Waiter {
    group: GroupId,
    data: Vec<u8>,
    reply: Sender<Answer>,
    /// Some attempt was accepted: the write may have been committed.
    proposed: bool,
    /// The last attempt was accepted, and the leader it went to.
    accepted_by: Option<NodeId>,
    last_attempt: Instant,
    deadline: Instant,
}

impl Waiter {
    fn attempt(&mut self, raft: &mut MultiRaft, now: Instant) {
        self.last_attempt = now;
        let accepted = raft.propose(self.group, self.data.clone()).is_ok();
        self.proposed |= accepted;
        self.accepted_by = if accepted {
            raft.leader(self.group)
        } else {
            None
        };
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupReport {
    pub group: u64,
    pub name: String,
    pub role: String,
    pub term: u64,
    pub leader: Option<String>,
    pub commit: u64,
    pub applied: u64,
    pub last_index: u64,
    /// The first index still in the Raft log; earlier ones live only in
    /// the state machine (a snapshot).
    pub first_index: u64,
    /// The last index covered by a snapshot (compacted or installed).
    pub snapshot_index: u64,
    /// Index of the snapshot offered to lagging peers (0: none yet).
    pub served_snapshot_index: u64,
    /// A leader's snapshot waits to be installed, or was refused.
    pub installing_snapshot: bool,
    /// This node refused a snapshot of the group: it no longer follows it.
    pub snapshot_refused: bool,
    pub log_bytes: u64,
    pub progress: BTreeMap<String, u64>,
    /// The group's configuration as this node applied it.
    pub voters: Vec<String>,
    /// Members that replicate without voting yet (joining).
    pub learners: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeReport {
    pub node: String,
    pub members: Vec<String>,
    /// Every member with its Raft id and peer address.
    pub member_list: BTreeMap<String, Member>,
    /// cp-metadata's version of the member list (0: the bootstrap list).
    pub membership_version: u64,
    /// Raft ids of members that left, never used again.
    pub retired_ids: Vec<u64>,
    /// An operator removed this node from the cluster.
    pub removed: bool,
    pub degraded: Option<String>,
    /// Set by `duckraft drain`: leadership is handed off and new sessions are refused.
    pub draining: bool,
    pub groups: Vec<GroupReport>,
    pub proposals: u64,
    pub commits: u64,
    pub fsyncs: u64,
    pub fsync_seconds_total: f64,
    /// Fsyncs that took at most each of [`FSYNC_BUCKETS`] seconds (cumulative).
    pub fsync_buckets: Vec<u64>,
    pub elections_observed: u64,
    pub dropped_peer_messages: u64,
    pub snapshots_exported: u64,
    pub snapshots_installed: u64,
    /// Snapshots from a leader that failed verification and were not installed.
    pub snapshots_refused: u64,
    /// Writes this node proposed as typed row batches (COPY FROM STDIN,
    /// parameterised INSERTs) rather than SQL text.
    pub row_batch_proposals: u64,
    /// Transactions of this node's sessions that the apply committed in
    /// place instead of running their entry again (`Replica::adopt`).
    pub adopted_transactions: u64,
    pub raft_log_rewrites: u64,
    /// Bytes in the Raft log's segments.
    pub raft_log_bytes: u64,
    /// The cluster's capability level, as this node applied it.
    pub capability_level: u32,
    /// The highest level this node's binary applies.
    pub capability_supported: u32,
    /// What each member reported it supports (absent: not yet reported).
    pub member_capabilities: BTreeMap<String, u32>,
}

impl NodeReport {
    /// Ready: not degraded, every group has a known leader and this node has
    /// applied everything it knows to be committed.
    pub fn readiness(&self) -> Result<(), String> {
        if let Some(reason) = &self.degraded {
            return Err(format!("degraded: {reason}"));
        }
        if self.draining {
            return Err("draining".into());
        }
        if self.removed {
            return Err("this node was removed from the cluster".into());
        }
        if self.groups.is_empty() {
            return Err("replication has not reported its groups yet".into());
        }
        for g in &self.groups {
            if !g.voters.contains(&self.node) && !g.learners.contains(&self.node) {
                return Err(format!(
                    "{} waits for its leader's snapshot to join the group",
                    g.name
                ));
            }
            if g.snapshot_refused {
                return Err(format!("{} refused a snapshot from its leader", g.name));
            }
            if g.leader.is_none() {
                return Err(format!("{} has no known leader", g.name));
            }
            if g.commit > g.applied + 1000 {
                return Err(format!(
                    "{} is catching up: applied {} of {}",
                    g.name, g.applied, g.commit
                ));
            }
        }
        Ok(())
    }
}

/// Handle used by sessions and the status endpoints.
#[derive(Clone)]
pub struct Replication {
    inputs: Sender<Input>,
    driver: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    report: Arc<Mutex<NodeReport>>,
    catalog_groups: CatalogGroups,
    roles: Roles,
    access: SharedAccess,
    /// See [`Replication::await_settled_capability`].
    capability_settled: Arc<AtomicBool>,
    started: Instant,
    pub tentatives: Arc<Tentatives>,
}

/// How long after this process started sessions wait for the capability
/// level to settle (see [`Replication::await_settled_capability`]).
const CAPABILITY_SETTLE_AT_START: Duration = Duration::from_secs(10);

pub struct ReplicationConfig {
    pub membership: Membership,
    pub data_dir: PathBuf,
    pub tick: Duration,
    pub election_tick: usize,
    pub heartbeat_tick: usize,
    pub compaction: Compaction,
    /// The highest capability level this node reports and applies:
    /// `command::CAPABILITY_LEVEL`, or lower to act as an older binary.
    pub capability: u32,
}

/// When groups are snapshotted and the Raft log reclaimed.
#[derive(Clone, Copy, Debug)]
pub struct Compaction {
    /// Snapshot a group and compact its log once the compaction point (half
    /// this many entries below the applied index, see
    /// [`duckraft_raft::compaction_point`]) is this many entries past the
    /// log's start.
    pub threshold_entries: u64,
    /// Rewrite the Raft log (live state only) once its segments hold at
    /// least this many bytes and more than [`WAL_DEAD_RATIO`] times the
    /// live entries.
    pub rewrite_min_bytes: u64,
}

impl Compaction {
    pub const fn default() -> Compaction {
        Compaction {
            threshold_entries: 10_000,
            rewrite_min_bytes: 64 << 20,
        }
    }
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction::default()
    }
}

/// See [`Compaction::rewrite_min_bytes`].
pub const WAL_DEAD_RATIO: u64 = 4;
/// A failed export (a checkpoint blocked by a session) is retried after this.
const EXPORT_RETRY_AFTER: Duration = Duration::from_secs(1);

impl Replication {
    /// Recovers the log and the state machines, then starts the driver thread.
    /// `send` delivers one payload to a peer by name.
    /// `directory` is told the peer set whenever the member list changes.
    pub fn start(
        config: ReplicationConfig,
        catalogs: Arc<Catalogs>,
        send: PeerSender,
        directory: PeerDirectory,
    ) -> anyhow::Result<Replication> {
        let membership = config.membership.clone();
        let (inputs, rx) = mpsc::channel();
        let report = Arc::new(Mutex::new(NodeReport {
            node: membership.node.clone(),
            members: membership.names(),
            ..NodeReport::default()
        }));
        let catalog_groups = Arc::new(Mutex::new(BTreeMap::new()));
        let tentatives = Arc::new(Tentatives::default());
        let mut driver = Driver::open(
            &config,
            catalogs,
            send,
            directory,
            report.clone(),
            catalog_groups.clone(),
            tentatives.clone(),
        )?;
        // A binary older than the cluster stops here, loudly, before it
        // applies anything.
        driver.publish_access();
        driver.publish_members();
        let roles = driver.roles.clone();
        let access = driver.access.clone();
        let capability_settled = driver.capability_settled.clone();
        let driver = std::thread::Builder::new()
            .name("duckraft-raft".into())
            .spawn(move || {
                crate::priority::raise_current_thread("replication");
                let report = driver.report.clone();
                let run = std::panic::AssertUnwindSafe(|| driver.run(rx, config.tick));
                if let Err(panic) = std::panic::catch_unwind(run) {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    error!(panic = %what, "the replication thread panicked; this node serves nothing replicated");
                    report.lock().unwrap_or_else(|e| e.into_inner()).degraded =
                        Some(format!("the replication thread panicked: {what}"));
                }
            })
            .context("cannot start the replication thread")?;
        Ok(Replication {
            inputs,
            driver: Arc::new(Mutex::new(Some(driver))),
            report,
            catalog_groups,
            roles,
            access,
            capability_settled,
            started: Instant::now(),
            tentatives,
        })
    }

    /// Stops the driver thread and waits until it closed the log and its
    /// DuckDB connections. Blocking; later proposals answer `Degraded`.
    pub fn stop(&self) {
        let _ = self.inputs.send(Input::Stop);
        let handle = self.driver.lock().expect("driver lock").take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// A payload from an authenticated peer.
    pub fn deliver(&self, from: String, bytes: Vec<u8>) {
        let _ = self.inputs.send(Input::Peer { from, bytes });
    }

    pub fn report(&self) -> NodeReport {
        self.report.lock().expect("report lock").clone()
    }

    pub fn catalog_group(&self, catalog: &str) -> Option<GroupId> {
        self.catalog_groups
            .lock()
            .expect("catalog lock")
            .get(catalog)
            .copied()
    }

    /// A replicated role as this node applied it.
    pub fn role(&self, name: &str) -> Option<Role> {
        self.roles.read().expect("roles lock").get(name).cloned()
    }

    /// The capability level and database grants as this node applied them.
    pub fn access(&self) -> Access {
        self.access.read().expect("access lock").clone()
    }

    /// The cluster's capability level as this node applied it.
    pub fn capability_level(&self) -> u32 {
        self.access.read().expect("access lock").capability
    }

    /// SQL semantics follow the capability level (PostgreSQL's integer
    /// division, for one), and a new cluster starts at level 1 and rises
    /// moments later, once every member reported. Sessions opened in the
    /// first seconds of this process wait for that, so none sees its
    /// statements change meaning; later ones never wait, even if a member
    /// that is down has not reported.
    pub fn await_settled_capability(&self) {
        while !self.capability_settled.load(Ordering::Acquire)
            && self.started.elapsed() < CAPABILITY_SETTLE_AT_START
            // A degraded node tracks nothing; its sessions learn why at once.
            && self.report.lock().expect("report lock").degraded.is_none()
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Proposes and blocks until this node applied the entry or gave up.
    pub fn propose(&self, group: GroupId, id: ProposalId, command: Command) -> Answer {
        let (reply, answer) = mpsc::channel();
        let envelope = Envelope {
            id: Some(id),
            command,
        };
        if self
            .inputs
            .send(Input::Propose {
                group,
                envelope,
                reply,
            })
            .is_err()
        {
            return Answer::Degraded("the replication thread has stopped".into());
        }
        answer
            .recv_timeout(WRITE_TIMEOUT + Duration::from_secs(1))
            .unwrap_or(Answer::Unknown)
    }

    pub fn propose_write(&self, group: GroupId, id: ProposalId, batch: WriteBatch) -> Answer {
        self.propose(group, id, Command::Catalog(batch))
    }

    /// Blocks until this node has applied every entry of `catalog`'s group
    /// that was committed when this call began (linearizable reads). New
    /// requests that arrive while a round is in flight share the next one.
    pub fn read_barrier(&self, group: GroupId) -> Result<(), Answer> {
        let (reply, answer) = mpsc::channel();
        if self
            .inputs
            .send(Input::ReadBarrier { group, reply })
            .is_err()
        {
            return Err(Answer::Degraded(
                "the replication thread has stopped".into(),
            ));
        }
        answer
            .recv_timeout(WRITE_TIMEOUT + Duration::from_secs(1))
            .unwrap_or(Err(Answer::NoLeader))
    }

    pub fn propose_control(&self, id: ProposalId, command: ControlCommand) -> Answer {
        self.propose(GroupId::CONTROL, id, Command::Control(command))
    }

    /// Canonical state hashes of every catalog, computed now on the
    /// replication thread (so each is consistent with its applied index).
    pub fn state_hashes(&self) -> Option<BTreeMap<String, CatalogHash>> {
        let (reply, answer) = mpsc::channel();
        self.inputs.send(Input::StateHashes(reply)).ok()?;
        answer.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// Starts handing off leadership of every group this node leads.
    pub fn drain(&self) {
        let _ = self.inputs.send(Input::Drain);
    }

    pub fn is_draining(&self) -> bool {
        self.report.lock().expect("report lock").draining
    }
}

struct Driver {
    membership: Membership,
    raft: MultiRaft,
    wal: Wal<FsDisk>,
    control: ControlPlane,
    directory: PeerDirectory,
    replicas: BTreeMap<GroupId, Replica>,
    names: BTreeMap<GroupId, String>,
    catalogs: Arc<Catalogs>,
    send: PeerSender,
    waiters: BTreeMap<ProposalId, Waiter>,
    report: Arc<Mutex<NodeReport>>,
    catalog_groups: CatalogGroups,
    roles: Roles,
    access: SharedAccess,
    /// Every member reported its capability and the level can rise no
    /// further (see [`Replication::await_settled_capability`]).
    capability_settled: Arc<AtomicBool>,
    /// See [`ReplicationConfig::capability`].
    capability: u32,
    /// The capability report or raise in flight (see `track_capability`),
    /// and the proposal ids such proposals use.
    capability_proposal: Option<Receiver<Answer>>,
    capability_ids: ProposalId,
    previous_life: PreviousLifeCheck,
    degraded: Option<String>,
    draining: bool,
    stopped: bool,
    counters: NodeReport,
    last_terms: BTreeMap<GroupId, u64>,
    tentatives: Arc<Tentatives>,
    /// Read barriers not yet sent to Raft, per group (batched per round).
    queued_reads: BTreeMap<GroupId, Vec<ReadReply>>,
    /// Rounds in flight, by the first context issued for them.
    reads_in_flight: BTreeMap<u64, ReadWaiters>,
    /// Barriers whose read index is known, waiting for the local apply.
    reads_awaiting_apply: Vec<(GroupId, u64, ReadReply)>,
    next_read_context: u64,
    data_dir: PathBuf,
    compaction: Compaction,
    /// Groups whose last export failed, and when to try again.
    export_backoff: BTreeMap<GroupId, Instant>,
    /// Groups that were sent a snapshot this node refused; they stay stopped.
    refused_snapshots: BTreeSet<GroupId>,
}

impl Driver {
    fn open(
        config: &ReplicationConfig,
        catalogs: Arc<Catalogs>,
        send: PeerSender,
        directory: PeerDirectory,
        report: Arc<Mutex<NodeReport>>,
        catalog_groups: CatalogGroups,
        tentatives: Arc<Tentatives>,
    ) -> anyhow::Result<Driver> {
        let wal_dir = config.data_dir.join("raft-log");
        let (wal, recovered) = Wal::open(FsDisk::open(&wal_dir)?, DEFAULT_SEGMENT_BYTES)
            .with_context(|| format!("cannot recover the Raft log in {}", wal_dir.display()))?;
        if let Some(torn) = &recovered.torn_tail {
            warn!(segment = %torn.segment, dropped_bytes = torn.dropped_bytes, "truncated a torn Raft log tail left by a crash");
        }
        let control = open_control(&config.data_dir)?;
        let mut applied = BTreeMap::from([(
            GroupId::CONTROL,
            (control.applied_index(), control.applied_term()),
        )]);
        let mut names = BTreeMap::from([(GroupId::CONTROL, "cp-metadata".to_string())]);
        let mut groups = vec![(
            duckraft_engine::DEFAULT_CATALOG.to_string(),
            DEFAULT_CATALOG_GROUP,
        )];
        for (name, group) in control.catalogs() {
            groups.push((name.clone(), GroupId(*group)));
        }
        remove_leftover_catalogs(&catalogs, &groups)?;
        let mut replicas = BTreeMap::new();
        for (name, group) in &groups {
            let replica = open_bound_replica(&catalogs, name, *group)?;
            applied.insert(*group, (replica.applied_index(), replica.applied_term()));
            replicas.insert(*group, replica);
            names.insert(*group, name.clone());
        }
        let mut node_config = NodeConfig::new(config.membership.id, rand::random());
        node_config.election_tick = config.election_tick;
        node_config.heartbeat_tick = config.heartbeat_tick;
        let mut raft = MultiRaft::recover(node_config, recovered.records, &applied)
            .context("the Raft log and the applied state disagree; refusing to start")?;
        let mut membership = config.membership.clone();
        membership.follow(control.members());
        raft.create_group(GroupId::CONTROL, membership.bootstrap_voters())?;
        for (_, group) in &groups {
            raft.create_group(*group, &initial_voters(&membership, &control, *group))?;
        }
        // A crash after cp-metadata applied a DROP DATABASE but before the
        // group's removal reached the Raft log leaves the group behind.
        for group in raft.group_ids() {
            if group != GroupId::CONTROL && !groups.iter().any(|(_, g)| *g == group) {
                warn!(%group, "removing the group of a dropped catalog left by a crash");
                raft.remove_group(group);
            }
        }
        *catalog_groups.lock().expect("catalog lock") = groups.into_iter().collect();
        catalogs
            .publish_roles(control.users())
            .map_err(|e| anyhow::anyhow!("publishing roles to the catalogs: {e}"))?;
        let roles = Arc::new(RwLock::new(control.users().clone()));
        let access = Arc::new(RwLock::new(control.access().clone()));
        info!(
            node = %config.membership.node,
            raft_id = config.membership.id,
            groups = replicas.len() + 1,
            "replication core recovered"
        );
        let previous_life = if control.applied_index() == 0 && !membership.joined() {
            PreviousLifeCheck::Due
        } else {
            PreviousLifeCheck::Done
        };
        Ok(Driver {
            membership,
            raft,
            wal,
            control,
            directory,
            replicas,
            names,
            catalogs,
            send,
            waiters: BTreeMap::new(),
            report,
            catalog_groups,
            roles,
            access,
            capability_settled: Arc::new(AtomicBool::new(false)),
            capability: config.capability,
            capability_proposal: None,
            // Random, as a session's: never repeats across nodes or restarts.
            capability_ids: ProposalId {
                client: rand::random(),
                seq: 0,
            },
            previous_life,
            degraded: None,
            draining: false,
            stopped: false,
            counters: NodeReport::default(),
            last_terms: BTreeMap::new(),
            tentatives,
            queued_reads: BTreeMap::new(),
            reads_in_flight: BTreeMap::new(),
            reads_awaiting_apply: Vec::new(),
            next_read_context: 1,
            data_dir: config.data_dir.clone(),
            compaction: config.compaction,
            export_backoff: BTreeMap::new(),
            refused_snapshots: BTreeSet::new(),
        })
    }

    fn run(&mut self, rx: Receiver<Input>, tick: Duration) {
        let mut next_tick = Instant::now() + tick;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Err(RecvTimeoutError::Disconnected) => return,
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
            }
            // Everything queued joins this round (and its one fsync).
            while let Ok(input) = rx.try_recv() {
                self.handle(input);
            }
            if self.stopped {
                info!("replication stopped");
                return;
            }
            let now = Instant::now();
            if now >= next_tick {
                // After a stall (a long apply or fsync) tick once, not once
                // per missed tick: a burst would expire election and quorum
                // timers before peers' messages get a turn. Go's time.Ticker,
                // which drives etcd, drops missed ticks the same way.
                next_tick = (next_tick + tick).max(now + tick / 2);
                if self.degraded.is_none() {
                    self.raft.tick();
                    if self.draining {
                        self.hand_off_leadership();
                    }
                }
                self.retry_waiters();
                self.retry_reads();
                if self.degraded.is_none() && !self.draining {
                    self.track_capability();
                    self.reconcile_membership();
                }
            }
            if self.degraded.is_none() {
                self.issue_reads();
                self.drive();
                self.answer_reads();
            }
            if self.degraded.is_none() {
                self.compact_due();
            }
            self.publish();
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Peer { from, bytes } => {
                if self.degraded.is_some() {
                    return;
                }
                // A bootstrap member with nothing applied may meet members
                // added since the bootstrap, as a joiner does.
                let learns = self.membership.joined() || self.control.applied_index() == 0;
                if learns && self.membership.raft_id(&from).is_none() {
                    if let Some(id) = sender_id(&bytes) {
                        if self.membership.learn(&from, id) {
                            info!(peer = %from, raft_id = id, "learned a member's Raft id from its messages");
                        }
                    }
                }
                let Some(id) = self.membership.raft_id(&from) else {
                    warn!(peer = %from, "payload from a node outside the membership");
                    return;
                };
                // Decoding the batch again is only worth it where the check
                // can fire, not on every batch of a running member.
                let fresh_bootstrap =
                    self.control.applied_index() == 0 && !self.membership.joined();
                let claimed = fresh_bootstrap
                    .then(|| sender_id(&bytes))
                    .flatten()
                    .filter(|&claimed| claimed != id);
                if let Some(claimed) = claimed {
                    // Bootstrap members all derive ids from one list, so
                    // a member under another id means the membership
                    // moved on after this node last had any state.
                    self.degrade(format!(
                        "member {from} speaks as Raft id {claimed}, but this node's bootstrap \
                         list makes it {id}: the membership changed since the cluster was \
                         bootstrapped, so this node, starting with no state, lost its data (a \
                         wiped or restored data directory). Remove it (ALTER CLUSTER REMOVE \
                         MEMBER {}), add it again, then restart it with an empty data \
                         directory and --join",
                        self.membership.node
                    ));
                    return;
                }
                if let Err(e) = self.raft.step(id, &bytes) {
                    warn!(peer = %from, error = %e, "refused a malformed peer batch");
                }
                self.stop_if_lost_data();
            }
            Input::Propose {
                group,
                envelope,
                reply,
            } => {
                if let Some(reason) = &self.degraded {
                    let _ = reply.send(Answer::Degraded(reason.clone()));
                    return;
                }
                if let Some(dropped) = self.dropped_answer(group) {
                    let _ = reply.send(dropped);
                    return;
                }
                let id = envelope.id.expect("sessions always send a proposal id");
                if let Command::Catalog(batch) = &envelope.command {
                    if batch.ops.iter().any(|op| matches!(op, WriteOp::Rows(_))) {
                        self.counters.row_batch_proposals += 1;
                    }
                }
                let now = Instant::now();
                let mut waiter = Waiter {
                    group,
                    data: command::encode(&envelope),
                    reply,
                    proposed: false,
                    accepted_by: None,
                    last_attempt: now,
                    deadline: now + WRITE_TIMEOUT,
                };
                waiter.attempt(&mut self.raft, now);
                self.counters.proposals += 1;
                self.waiters.insert(id, waiter);
            }
            Input::ReadBarrier { group, reply } => {
                if let Some(reason) = &self.degraded {
                    let _ = reply.send(Err(Answer::Degraded(reason.clone())));
                    return;
                }
                if let Some(dropped) = self.dropped_answer(group) {
                    let _ = reply.send(Err(dropped));
                    return;
                }
                self.queued_reads.entry(group).or_default().push(reply);
            }
            Input::StateHashes(reply) => {
                let mut hashes = BTreeMap::new();
                for (group, replica) in &self.replicas {
                    let name = self.names.get(group).cloned().unwrap_or_default();
                    match replica.state_hash() {
                        Ok(hash) => {
                            let applied = replica.applied_index();
                            hashes.insert(name, CatalogHash { applied, hash });
                        }
                        Err(e) => warn!(catalog = %name, error = %e, "state hash failed"),
                    }
                }
                let _ = reply.send(hashes);
            }
            Input::Stop => self.stopped = true,
            Input::Drain => {
                info!("draining: handing off leadership and refusing new sessions");
                self.draining = true;
                self.hand_off_leadership();
            }
        }
    }

    /// Whether the previous-life check is done (see [`PreviousLifeCheck`]);
    /// advances it by one step if not.
    fn checked_previous_life(&mut self) -> bool {
        match std::mem::replace(&mut self.previous_life, PreviousLifeCheck::Done) {
            PreviousLifeCheck::Done => true,
            PreviousLifeCheck::Due => {
                let (reply, answer) = mpsc::channel();
                self.handle(Input::ReadBarrier {
                    group: GroupId::CONTROL,
                    reply,
                });
                self.previous_life = PreviousLifeCheck::Waiting(answer);
                false
            }
            PreviousLifeCheck::Waiting(answer) => match answer.try_recv() {
                Err(TryRecvError::Empty) => {
                    self.previous_life = PreviousLifeCheck::Waiting(answer);
                    false
                }
                Ok(Ok(())) => {
                    let me = &self.membership.node;
                    if self.control.access().member_capabilities.contains_key(me) {
                        self.degrade(format!(
                            "this node started with no data, but cp-metadata holds a capability \
                             report from {me}: it is a member that lost its data and came back \
                             under its old name, with its votes and acknowledgements forgotten. \
                             Remove it (ALTER CLUSTER REMOVE MEMBER {me}), add it again, then \
                             restart it with an empty data directory and --join"
                        ));
                        return false;
                    }
                    true
                }
                // No leader yet, or the round failed: ask again next tick.
                Ok(Err(_)) | Err(TryRecvError::Disconnected) => {
                    self.previous_life = PreviousLifeCheck::Due;
                    false
                }
            },
        }
    }

    /// Keeps cp-metadata's record of this node's capability current and,
    /// on the cp-metadata leader, raises the cluster's level once every
    /// member reported support for more. One such proposal at a time; the
    /// apply re-checks everything, so a stale view only costs a retry.
    fn track_capability(&mut self) {
        if !self.checked_previous_life() {
            return;
        }
        let access = self.control.access();
        let reports: Vec<Option<u32>> = self
            .membership
            .names()
            .iter()
            .map(|m| access.member_capabilities.get(m).copied())
            .collect();
        let settled = access.member_capabilities.get(&self.membership.node)
            == Some(&self.capability)
            && reports.iter().all(Option::is_some)
            && reports
                .iter()
                .flatten()
                .min()
                .is_some_and(|&min| min <= access.capability);
        self.capability_settled.store(settled, Ordering::Release);
        if let Some(pending) = &self.capability_proposal {
            match pending.try_recv() {
                Err(TryRecvError::Empty) => return,
                Ok(Answer::Control(ControlOutcome::Failed { sqlstate, message })) => {
                    warn!(%sqlstate, %message, "a capability proposal failed");
                }
                _ => {}
            }
            self.capability_proposal = None;
        }
        let access = self.control.access();
        let me = &self.membership.node;
        let command = if access.member_capabilities.get(me) != Some(&self.capability) {
            ControlCommand::ReportCapability {
                node: me.clone(),
                supports: self.capability,
            }
        } else if self.raft.is_leader(GroupId::CONTROL) {
            let members = &self.membership.names();
            let supported = members
                .iter()
                .map(|m| access.member_capabilities.get(m).copied().unwrap_or(0))
                .min()
                .unwrap_or(0);
            if supported <= access.capability {
                return;
            }
            info!(
                from = access.capability,
                to = supported,
                "every member supports a higher capability level: raising it"
            );
            ControlCommand::SetCapability {
                level: supported,
                members: members.clone(),
            }
        } else {
            return;
        };
        self.capability_ids.seq += 1;
        let (reply, answer) = mpsc::channel();
        self.handle(Input::Propose {
            group: GroupId::CONTROL,
            envelope: Envelope {
                id: Some(self.capability_ids),
                command: Command::Control(command),
            },
            reply,
        });
        self.capability_proposal = Some(answer);
    }

    /// Asks every group this node leads to transfer leadership to its most
    /// caught-up follower. Repeated on every tick while draining, since a
    /// transfer can time out.
    fn hand_off_leadership(&mut self) {
        let me = self.raft.id();
        for status in self.raft.status() {
            if status.role != "leader" {
                continue;
            }
            if let Some(target) = status.successor(me, |_| true) {
                self.raft.transfer_leader(status.group, target);
            }
        }
    }

    /// Re-proposes writes (same id: dedup makes it safe) that are slow, that
    /// were refused (no leader yet), or whose leader has changed since (a
    /// proposal forwarded to a dead leader is lost, and waiting out the slow
    /// timer would add up to a second to every failover); gives up on the
    /// ones past their deadline.
    fn retry_waiters(&mut self) {
        let now = Instant::now();
        let mut expired = Vec::new();
        for (id, w) in self.waiters.iter_mut() {
            if now >= w.deadline {
                expired.push(*id);
                continue;
            }
            let leader = self.raft.leader(w.group);
            let retry = match w.accepted_by {
                None => true,
                Some(accepted_by) => {
                    leader.is_some_and(|l| l != accepted_by)
                        || now.duration_since(w.last_attempt) >= REPROPOSE_AFTER
                }
            };
            if retry {
                w.attempt(&mut self.raft, now);
            }
        }
        for id in expired {
            let w = self.waiters.remove(&id).expect("listed");
            let answer = if w.proposed {
                Answer::Unknown
            } else {
                Answer::NoLeader
            };
            let _ = w.reply.send(answer);
        }
    }

    /// One ReadIndex round per group for every barrier queued since the last.
    fn issue_reads(&mut self) {
        let now = Instant::now();
        for (group, replies) in std::mem::take(&mut self.queued_reads) {
            let context = self.next_read_context;
            self.next_read_context += 1;
            // Refused (no such group): retried, then answered NoLeader.
            let _ = self.raft.read_index(group, context.to_be_bytes().to_vec());
            self.reads_in_flight.insert(
                context,
                ReadWaiters {
                    group,
                    replies,
                    contexts: vec![context],
                    last_attempt: now,
                    deadline: now + WRITE_TIMEOUT,
                },
            );
        }
    }

    /// ReadIndex requests can be dropped (no leader, lost message, leader
    /// change); ask again, and give up at the deadline.
    fn retry_reads(&mut self) {
        let now = Instant::now();
        let mut expired = Vec::new();
        for (first, waiters) in self.reads_in_flight.iter_mut() {
            if now >= waiters.deadline {
                expired.push(*first);
            } else if now.duration_since(waiters.last_attempt) >= REPROPOSE_AFTER {
                let context = self.next_read_context;
                self.next_read_context += 1;
                let _ = self
                    .raft
                    .read_index(waiters.group, context.to_be_bytes().to_vec());
                waiters.contexts.push(context);
                waiters.last_attempt = now;
            }
        }
        for first in expired {
            let waiters = self.reads_in_flight.remove(&first).expect("listed");
            for reply in waiters.replies {
                let _ = reply.send(Err(Answer::NoLeader));
            }
        }
    }

    /// The read index a round returned: its waiters now wait for the apply.
    fn on_read_state(&mut self, group: GroupId, context: &[u8], index: u64) {
        let Ok(bytes) = <[u8; 8]>::try_from(context) else {
            return;
        };
        let context = u64::from_be_bytes(bytes);
        let first = self
            .reads_in_flight
            .iter()
            .find(|(_, w)| w.group == group && w.contexts.contains(&context))
            .map(|(first, _)| *first);
        if let Some(waiters) = first.and_then(|f| self.reads_in_flight.remove(&f)) {
            for reply in waiters.replies {
                self.reads_awaiting_apply.push((group, index, reply));
            }
        }
    }

    fn applied_index(&self, group: GroupId) -> u64 {
        if group == GroupId::CONTROL {
            self.control.applied_index()
        } else {
            self.replicas.get(&group).map_or(0, Replica::applied_index)
        }
    }

    fn answer_reads(&mut self) {
        let pending = std::mem::take(&mut self.reads_awaiting_apply);
        for (group, index, reply) in pending {
            if self.applied_index(group) >= index {
                let _ = reply.send(Ok(()));
            } else {
                self.reads_awaiting_apply.push((group, index, reply));
            }
        }
    }

    fn drive(&mut self) {
        loop {
            let out = self.raft.poll();
            if out.is_empty() || self.stop_if_lost_data() {
                return;
            }
            for (to, bytes) in out.messages {
                if let Some(name) = self.membership.name(to) {
                    (self.send)(name, bytes);
                }
            }
            if let Some(batch) = out.wal {
                let started = Instant::now();
                let result = self.wal.write(&batch.records).and_then(|_| self.wal.sync());
                if let Err(e) = result {
                    self.degrade(format!("Raft log write failed: {e}"));
                    return;
                }
                let seconds = started.elapsed().as_secs_f64();
                self.counters.fsyncs += 1;
                self.counters.fsync_seconds_total += seconds;
                if self.counters.fsync_buckets.is_empty() {
                    self.counters.fsync_buckets = vec![0; FSYNC_BUCKETS.len()];
                }
                for (count, bound) in self.counters.fsync_buckets.iter_mut().zip(FSYNC_BUCKETS) {
                    if seconds <= bound {
                        *count += 1;
                    }
                }
                self.raft.wal_synced(batch.id);
            }
            for (group, entries) in out.committed {
                self.apply(group, &entries);
                if self.degraded.is_some() {
                    return;
                }
            }
            for (group, state) in out.read_states {
                self.on_read_state(group, &state.request_ctx, state.index);
            }
            for group in out.snapshot_requests {
                self.export(group);
            }
            for (group, image) in out.snapshots {
                self.install(group, image);
                if self.degraded.is_some() {
                    return;
                }
            }
        }
    }

    /// Exports `group`'s state machine at its applied index and offers it
    /// to the node. Returns the index, or `None` if it could not now.
    fn export(&mut self, group: GroupId) -> Option<u64> {
        let now = Instant::now();
        if self.export_backoff.get(&group).is_some_and(|at| now < *at) {
            return None;
        }
        // The header's list is informational; the core attaches the
        // group's configuration at the image's index.
        let voters = self.membership.raft_ids();
        let exported = if group == GroupId::CONTROL {
            let path = control_path(&self.data_dir);
            snapshot::export_control(&path, &voters, &self.control).map(|bytes| {
                (
                    bytes,
                    self.control.applied_index(),
                    self.control.applied_term(),
                )
            })
        } else {
            let (Some(replica), Some(name)) = (self.replicas.get(&group), self.names.get(&group))
            else {
                return None;
            };
            snapshot::export_catalog(&self.catalogs, name, group.0, &voters, replica)
                .map(|bytes| (bytes, replica.applied_index(), replica.applied_term()))
        };
        let (data, index, term) = match exported {
            Ok(exported) if exported.1 > 0 => exported,
            Ok(_) => return None,
            Err(e) => {
                warn!(%group, error = %e, "snapshot export failed; retrying later");
                self.export_backoff.insert(group, now + EXPORT_RETRY_AFTER);
                return None;
            }
        };
        self.export_backoff.remove(&group);
        let bytes = data.len();
        if let Err(e) = self.raft.serve_snapshot(group, index, term, data) {
            warn!(%group, error = %e, "the node did not take the exported snapshot");
            return None;
        }
        self.counters.snapshots_exported += 1;
        info!(%group, index, bytes, "exported a snapshot");
        Some(index)
    }

    /// Snapshots and compacts every group far enough past its log's start,
    /// then reclaims the Raft log's dead segments if they dominate it.
    fn compact_due(&mut self) {
        let threshold = self.compaction.threshold_entries;
        let mut compacted = false;
        for (group, first_index) in self.raft.log_starts() {
            if duckraft_raft::compaction_due(self.applied_index(group), first_index, threshold) {
                compacted |= self.compact_now(group, 0);
            }
        }
        if compacted {
            self.reclaim_log();
        }
    }

    /// Exports `group` at its applied index and drops its log up to
    /// [`duckraft_raft::compaction_point`] below it, and at least up to
    /// `at_least`.
    fn compact_now(&mut self, group: GroupId, at_least: u64) -> bool {
        let Some(index) = self.export(group) else {
            return false;
        };
        // `export` offers only images past index 0, so `at_least` (0 or 1)
        // never passes the image.
        let to =
            duckraft_raft::compaction_point(index, self.compaction.threshold_entries).max(at_least);
        match self.raft.compact(group, to) {
            Ok(()) => true,
            Err(e) => {
                warn!(%group, error = %e, "log compaction deferred");
                // Each try exports the whole file: not on every round.
                self.export_backoff
                    .insert(group, Instant::now() + EXPORT_RETRY_AFTER);
                false
            }
        }
    }

    fn reclaim_log(&mut self) {
        let live_bytes: u64 = self.raft.status().iter().map(|s| s.log_bytes).sum();
        let total = self.wal.total_bytes();
        if total < self.compaction.rewrite_min_bytes || total < WAL_DEAD_RATIO * live_bytes {
            return;
        }
        let Some(live) = self.raft.live_records() else {
            return;
        };
        match self.wal.rewrite(&live) {
            Ok(()) => {
                self.counters.raft_log_rewrites += 1;
                info!(
                    before_bytes = total,
                    after_bytes = self.wal.total_bytes(),
                    "rewrote the Raft log and deleted its older segments"
                );
            }
            Err(e) => self.degrade(format!("Raft log rewrite failed: {e}")),
        }
    }

    /// Verifies and installs a leader's snapshot of `group`, then lets the
    /// node persist it. A refused snapshot is never installed.
    fn install(&mut self, group: GroupId, image: SnapshotImage) {
        if group != GroupId::CONTROL && !self.names.contains_key(&group) {
            // Dropped by a control entry applied in the same round.
            return;
        }
        if let Err(e) = snapshot::check_metadata(&image.data, image.index, image.term) {
            self.refuse_snapshot(group, image.index, e);
            return;
        }
        let me = self.membership.id;
        let joining = self.membership.joined() && self.control.applied_index() == 0;
        if group == GroupId::CONTROL && joining && image.conf.voters.contains(&me) {
            // A node joins as a learner. Finding itself a voter, it is a
            // member that lost its data and came back under its old id:
            // it may already have voted in this term.
            self.degrade(format!(
                "this node joined as Raft id {me}, which cp-metadata's configuration already \
                 lists as a voter: it is a member that lost its data. Remove it (ALTER CLUSTER \
                 REMOVE MEMBER {}) and add it again, then restart it with an empty data directory",
                self.membership.node
            ));
            return;
        }
        let result = if group == GroupId::CONTROL {
            self.install_control(&image.data)
        } else {
            self.install_catalog(group, &image.data)
        };
        match result {
            Ok(()) => {
                self.counters.snapshots_installed += 1;
                info!(%group, index = image.index, bytes = image.data.len(), "installed a snapshot from the leader");
                self.raft.snapshot_installed(group);
            }
            Err(Some(e)) => self.refuse_snapshot(group, image.index, e),
            Err(None) => {}
        }
    }

    fn refuse_snapshot(&mut self, group: GroupId, index: u64, error: SnapshotError) {
        error!(%group, index, error = %error, "REFUSED a snapshot from the leader; this group stops on this node until an operator intervenes");
        self.counters.snapshots_refused += 1;
        self.refused_snapshots.insert(group);
    }

    /// `Err(Some)`: refused, nothing changed. `Err(None)`: failed midway,
    /// the node is degraded.
    fn install_catalog(
        &mut self,
        group: GroupId,
        data: &[u8],
    ) -> Result<(), Option<SnapshotError>> {
        let (Some(replica), Some(name)) = (
            self.replicas.remove(&group),
            self.names.get(&group).cloned(),
        ) else {
            self.degrade(format!(
                "a snapshot for {group}, which this node has no replica of"
            ));
            return Err(None);
        };
        // Tentative writes would block the close; their sessions get 40001.
        self.tentatives.wound_all(&name);
        match snapshot::install_catalog(&self.catalogs, &name, group.0, replica, data) {
            Ok(replica) => {
                self.replicas.insert(group, replica);
                Ok(())
            }
            Err(failure) => match failure.kept {
                Some(replica) => {
                    self.replicas.insert(group, *replica);
                    Err(Some(failure.error))
                }
                None => {
                    self.degrade(format!(
                        "installing a snapshot of catalog \"{name}\" failed: {}",
                        failure.error
                    ));
                    Err(None)
                }
            },
        }
    }

    fn install_control(&mut self, data: &[u8]) -> Result<(), Option<SnapshotError>> {
        let placeholder = match duckdb::Connection::open_in_memory()
            .map_err(|e| e.to_string())
            .and_then(|conn| ControlPlane::open(conn).map_err(|e| e.to_string()))
        {
            Ok(placeholder) => placeholder,
            Err(e) => {
                self.degrade(format!("cannot open a placeholder control plane: {e}"));
                return Err(None);
            }
        };
        let control = std::mem::replace(&mut self.control, placeholder);
        let path = control_path(&self.data_dir);
        let reopen = |path: &Path| {
            open_control_file(path).map_err(|e| SnapshotError::Engine(format!("{e:#}")))
        };
        match snapshot::install_control(&path, control, data, reopen, None) {
            Ok(control) => {
                self.control = control;
                self.reconcile_catalogs();
                self.publish_roles();
                self.publish_access();
                self.publish_members();
                Ok(())
            }
            Err(failure) => match failure.kept {
                Some(control) => {
                    self.control = *control;
                    Err(Some(failure.error))
                }
                None => {
                    self.degrade(format!(
                        "installing a cp-metadata snapshot failed: {}",
                        failure.error
                    ));
                    Err(None)
                }
            },
        }
    }

    /// After a cp-metadata snapshot: creates the catalogs it lists that this
    /// node lacks and drops the ones it no longer lists, as start-up does.
    fn reconcile_catalogs(&mut self) {
        let listed: BTreeMap<GroupId, String> = self
            .control
            .catalogs()
            .iter()
            .map(|(name, group)| (GroupId(*group), name.clone()))
            .chain([(
                DEFAULT_CATALOG_GROUP,
                duckraft_engine::DEFAULT_CATALOG.to_string(),
            )])
            .collect();
        let gone: Vec<(GroupId, String)> = self
            .names
            .iter()
            .filter(|(group, _)| **group != GroupId::CONTROL && !listed.contains_key(group))
            .map(|(group, name)| (*group, name.clone()))
            .collect();
        for (group, name) in gone {
            self.drop_catalog(&name, group);
        }
        for (group, name) in listed {
            if !self.names.contains_key(&group) {
                self.add_catalog(&name, group);
            }
        }
    }

    fn apply(&mut self, group: GroupId, entries: &[Entry]) {
        self.counters.commits += entries.len() as u64;
        let committed: Vec<Committed> = entries
            .iter()
            .map(|e| Committed {
                index: e.index,
                term: e.term,
                data: &e.data,
            })
            .collect();
        if group == GroupId::CONTROL {
            match self.control.apply(&committed) {
                Ok(outcomes) => {
                    let roles_changed = outcomes.iter().any(|(_, _, outcome)| {
                        matches!(
                            outcome,
                            ControlOutcome::UserPut { .. }
                                | ControlOutcome::UserDropped { .. }
                                | ControlOutcome::RolesDropped { .. }
                        )
                    });
                    if roles_changed {
                        self.publish_roles();
                    }
                    self.publish_access();
                    self.publish_members();
                    for (_, id, outcome) in outcomes {
                        self.on_control(&outcome);
                        if let Some(id) = id {
                            self.answer(id, Answer::Control(outcome));
                        }
                    }
                }
                Err(e) => self.degrade(format!("cp-metadata apply failed: {e}")),
            }
            return;
        }
        let Some(replica) = self.replicas.get_mut(&group) else {
            self.degrade(format!(
                "entries for {group}, which this node has no replica of"
            ));
            return;
        };
        let name = self.names.get(&group).cloned().unwrap_or_default();
        // Sessions' proposed transactions first (see `crate::tentative`).
        let (adopted, mut result) = self.tentatives.adopt_proposed(replica, &committed);
        let mut done = Vec::new();
        if let Ok(outcomes) = &mut result {
            self.counters.adopted_transactions += outcomes.len() as u64;
            done.append(outcomes);
            result = replica.apply(&committed[adopted..]);
        }
        // A session's uncommitted write stands in the apply's way: end every
        // tentative transaction of the catalog and apply again (a session
        // may start a new one meanwhile, hence a few rounds).
        for _ in 0..5 {
            let Err(ReplicaError::LocalConflict { index, applied, .. }) = &mut result else {
                break;
            };
            let wounded = self.tentatives.wound_all(&name);
            warn!(catalog = %name, index = *index, wounded, "apply met a tentative transaction's write; rolled back tentative transactions");
            done.append(applied);
            result = replica.apply(&committed[adopted..]);
        }
        let result = result.map(|rest| done.into_iter().chain(rest).collect::<Vec<_>>());
        match result {
            Ok(outcomes) => {
                for (_, id, outcome) in outcomes {
                    if let Some(id) = id {
                        self.answer(id, Answer::Catalog(outcome));
                    }
                }
            }
            Err(e) => self.degrade(format!("catalog \"{name}\" apply failed: {e}")),
        }
    }

    /// Shows sessions the roles cp-metadata applied, before any proposer
    /// of a role change is answered.
    fn publish_roles(&self) {
        *self.roles.write().expect("roles lock") = self.control.users().clone();
        if let Err(e) = self.catalogs.publish_roles(self.control.users()) {
            warn!(error = %e, "cannot show the roles in pg_roles");
        }
    }

    /// Shows sessions the capability level and grants cp-metadata applied,
    /// and stops this node if the cluster moved past what it can apply.
    /// Follows cp-metadata's member list: new ids and addresses for this
    /// node and its transport.
    fn publish_members(&mut self) {
        let table = self.control.members();
        if self.membership.follow(table) {
            info!(version = table.version, members = ?self.membership.names(), "the member list changed");
            (self.directory)(self.membership.peer_addresses());
        }
        let mut report = self.report.lock().expect("report lock");
        report.members = self.membership.names();
        report.member_list = self.membership.members();
        report.membership_version = self.membership.version;
        report.retired_ids = table.retired.iter().copied().collect();
        report.removed = !self.membership.is_member();
    }

    /// Moves each group this node leads one step towards the member list:
    /// first a missing member joins as a learner, then a learner that has
    /// caught up becomes a voter, and only then does a member that left go
    /// (after this node hands off leadership, if it is the one leaving).
    /// Adding before removing keeps the group's fault tolerance through a
    /// replacement. raft-rs takes one change at a time per group.
    fn reconcile_membership(&mut self) {
        if self.membership.version == 0 {
            return;
        }
        let me = self.raft.id();
        let desired: BTreeSet<NodeId> = self.membership.raft_ids().into_iter().collect();
        for status in self.raft.status() {
            if status.role != "leader" || status.conf_change_pending {
                continue;
            }
            let conf = &status.conf;
            if status.first_index == 1
                && conf
                    .voters
                    .iter()
                    .chain(&conf.learners)
                    .any(|&id| id != me && status.matched(id) == 0)
            {
                // A member that holds nothing must be sent a snapshot (the
                // log's start would not tell it the group's first
                // configuration): make sure the log no longer starts at 1.
                self.compact_now(status.group, 1);
            }
            let change = if let Some(&id) = desired.iter().find(|id| !conf.contains(**id)) {
                MemberChange::AddLearner(id)
            } else if let Some(&id) = conf
                .learners
                .iter()
                .find(|id| desired.contains(id) && status.may_promote(**id))
            {
                MemberChange::Promote(id)
            } else if let Some(&id) = conf
                .voters
                .iter()
                .chain(&conf.learners)
                .find(|id| !desired.contains(id))
            {
                if id == me {
                    if let Some(target) = status.successor(me, |v| desired.contains(&v)) {
                        self.raft.transfer_leader(status.group, target);
                    }
                    continue;
                }
                MemberChange::Remove(id)
            } else {
                continue;
            };
            match self.raft.change_membership(status.group, change) {
                Ok(()) => info!(group = %status.group, ?change, "proposed a membership change"),
                Err(e) => {
                    warn!(group = %status.group, ?change, error = %e, "membership change not proposed; retrying")
                }
            }
        }
    }

    fn publish_access(&mut self) {
        let access = self.control.access().clone();
        if access.capability > self.capability && self.degraded.is_none() {
            self.degrade(format!(
                "the cluster runs at capability level {}, and this binary applies only up to \
                 {}: run a newer duckraft on this node",
                access.capability, self.capability
            ));
        }
        *self.access.write().expect("access lock") = access;
    }

    /// Control outcomes that change this node's groups.
    fn on_control(&mut self, outcome: &ControlOutcome) {
        let outcome = match outcome {
            ControlOutcome::Duplicate(_) => return,
            other => other,
        };
        if let ControlOutcome::CatalogDropped { name, group } = outcome {
            self.drop_catalog(name, GroupId(*group));
            return;
        }
        if let ControlOutcome::CatalogCreated { name, group } = outcome {
            self.add_catalog(name, GroupId(*group));
        }
    }

    /// Opens (creating if needed) catalog `name` and runs its group here.
    fn add_catalog(&mut self, name: &str, group: GroupId) {
        match open_bound_replica(&self.catalogs, name, group) {
            Ok(replica) => {
                self.replicas.insert(group, replica);
                self.names.insert(group, name.to_string());
                let voters = initial_voters(&self.membership, &self.control, group);
                if let Err(e) = self.raft.create_group(group, &voters) {
                    self.degrade(format!("cannot create the group of \"{name}\": {e}"));
                    return;
                }
                self.catalog_groups
                    .lock()
                    .expect("catalog lock")
                    .insert(name.to_string(), group);
            }
            Err(e) => self.degrade(format!("cannot create catalog \"{name}\": {e}")),
        }
    }

    /// A catalog group this node no longer runs was dropped (sessions only
    /// open on catalogs whose group exists).
    fn dropped_answer(&self, group: GroupId) -> Option<Answer> {
        (group != GroupId::CONTROL && !self.names.contains_key(&group))
            .then_some(Answer::CatalogDropped)
    }

    /// Applies a replicated DROP DATABASE to this node: the group leaves
    /// Raft, pending writes and reads of the catalog are answered, sessions
    /// using it end, and its files go.
    fn drop_catalog(&mut self, name: &str, group: GroupId) {
        self.catalog_groups
            .lock()
            .expect("catalog lock")
            .remove(name);
        self.tentatives.wound_all(name);
        self.replicas.remove(&group);
        self.names.remove(&group);
        self.raft.remove_group(group);
        self.waiters.retain(|_, w| {
            let dropped = w.group == group;
            if dropped {
                let _ = w.reply.send(Answer::CatalogDropped);
            }
            !dropped
        });
        for reply in self.queued_reads.remove(&group).unwrap_or_default() {
            let _ = reply.send(Err(Answer::CatalogDropped));
        }
        self.reads_in_flight.retain(|_, w| {
            if w.group != group {
                return true;
            }
            for reply in w.replies.drain(..) {
                let _ = reply.send(Err(Answer::CatalogDropped));
            }
            false
        });
        self.reads_awaiting_apply.retain(|(g, _, reply)| {
            let dropped = *g == group;
            if dropped {
                let _ = reply.send(Err(Answer::CatalogDropped));
            }
            !dropped
        });
        match self.catalogs.drop_replicated(name) {
            Ok(()) => info!(catalog = %name, %group, "dropped catalog and its group"),
            Err(e) => self.degrade(format!("cannot drop catalog \"{name}\": {e}")),
        }
    }

    fn answer(&mut self, id: ProposalId, answer: Answer) {
        if let Some(w) = self.waiters.remove(&id) {
            let _ = w.reply.send(answer);
        }
    }

    /// Degrades the node once the core shows it lost its data. Returns
    /// whether it did: the caller must then drop what the core handed out.
    fn stop_if_lost_data(&mut self) -> bool {
        let Some(lost) = self.raft.lost_data().cloned() else {
            return false;
        };
        let me = &self.membership.node;
        let evidence = match lost {
            LostData::Entries {
                group,
                leader,
                acknowledged,
                last_index,
            } => {
                let leader = self
                    .membership
                    .name(leader)
                    .map_or("its leader".to_string(), |name| name.to_string());
                format!(
                    "{leader} counts entries up to index {acknowledged} of group {group} as \
                     acknowledged by this node, whose log ends at {last_index}"
                )
            }
            LostData::Promoted {
                group,
                promoted_at,
                heard,
            } => format!(
                "joining, this node heard index {heard} of group {group} committed, and the log \
                 up to it already made this node's Raft id a voter at index {promoted_at}, which \
                 only acknowledgements it never sent could have done"
            ),
        };
        self.degrade(format!(
            "{evidence}: this node lost its data (a wiped or restored data directory under its \
             old Raft id) and with it the votes it cast. Remove it (ALTER CLUSTER REMOVE MEMBER \
             {me}), add it again, then restart it with an empty data directory and --join"
        ));
        true
    }

    fn degrade(&mut self, reason: String) {
        error!(reason = %reason, "node degraded: it stops serving replicated state until an operator intervenes");
        self.degraded = Some(reason.clone());
        for (_, w) in std::mem::take(&mut self.waiters) {
            let _ = w.reply.send(Answer::Degraded(reason.clone()));
        }
        let queued = std::mem::take(&mut self.queued_reads)
            .into_values()
            .flatten();
        let in_flight = std::mem::take(&mut self.reads_in_flight)
            .into_values()
            .flat_map(|w| w.replies);
        let awaiting = std::mem::take(&mut self.reads_awaiting_apply)
            .into_iter()
            .map(|(_, _, reply)| reply);
        for reply in queued.chain(in_flight).chain(awaiting) {
            let _ = reply.send(Err(Answer::Degraded(reason.clone())));
        }
    }

    fn publish(&mut self) {
        let statuses: Vec<GroupStatus> = self.raft.status();
        for s in &statuses {
            let last = self.last_terms.insert(s.group, s.term).unwrap_or(s.term);
            if s.term > last {
                self.counters.elections_observed += 1;
            }
        }
        let name_of = |id: NodeId| self.membership.name(id).map(str::to_string);
        let name_or_id = |id: NodeId| name_of(id).unwrap_or_else(|| format!("raft-id-{id}"));
        let groups = statuses
            .iter()
            .map(|s| GroupReport {
                group: s.group.0,
                name: self.names.get(&s.group).cloned().unwrap_or_default(),
                role: s.role.to_string(),
                term: s.term,
                leader: (s.leader != 0).then(|| name_of(s.leader)).flatten(),
                commit: s.commit,
                applied: s.handed_out,
                last_index: s.last_index,
                first_index: s.first_index,
                snapshot_index: s.first_index - 1,
                served_snapshot_index: s.served_snapshot_index,
                installing_snapshot: s.installing_snapshot,
                snapshot_refused: self.refused_snapshots.contains(&s.group),
                log_bytes: s.log_bytes,
                progress: s
                    .progress
                    .iter()
                    .filter_map(|(id, matched)| name_of(*id).map(|n| (n, *matched)))
                    .collect(),
                voters: s.conf.voters.iter().map(|id| name_or_id(*id)).collect(),
                learners: s.conf.learners.iter().map(|id| name_or_id(*id)).collect(),
            })
            .collect();
        let mut report = self.report.lock().expect("report lock");
        report.degraded = self.degraded.clone();
        report.draining = self.draining;
        report.groups = groups;
        report.proposals = self.counters.proposals;
        report.commits = self.counters.commits;
        report.fsyncs = self.counters.fsyncs;
        report.fsync_seconds_total = self.counters.fsync_seconds_total;
        report.fsync_buckets = self.counters.fsync_buckets.clone();
        report.elections_observed = self.counters.elections_observed;
        report.dropped_peer_messages = self.raft.dropped_messages();
        report.snapshots_exported = self.counters.snapshots_exported;
        report.snapshots_installed = self.counters.snapshots_installed;
        report.snapshots_refused = self.counters.snapshots_refused;
        report.row_batch_proposals = self.counters.row_batch_proposals;
        report.adopted_transactions = self.counters.adopted_transactions;
        report.raft_log_rewrites = self.counters.raft_log_rewrites;
        report.raft_log_bytes = self.wal.total_bytes();
        let access = self.control.access();
        report.capability_level = access.capability;
        report.capability_supported = self.capability;
        report.member_capabilities = access.member_capabilities.clone();
    }
}

/// The voters a group starts with on this node: none on a node that joined
/// (the leader's snapshot brings the configuration), the voters cp-metadata
/// recorded for a catalog created after the member list changed, and the
/// bootstrap list otherwise. Every bootstrap member derives the same.
fn initial_voters(membership: &Membership, control: &ControlPlane, group: GroupId) -> Vec<NodeId> {
    if membership.joined() {
        return Vec::new();
    }
    match control.members().catalog_voters.get(&group.0) {
        Some(voters) => voters.clone(),
        None => membership.bootstrap_voters().to_vec(),
    }
}

/// The sender's Raft id, as the first message of a peer batch states it.
fn sender_id(batch: &[u8]) -> Option<NodeId> {
    duckraft_raft::codec::decode_batch(batch)
        .ok()?
        .first()
        .map(|(_, message)| message.from)
}

fn control_path(data_dir: &Path) -> PathBuf {
    data_dir.join("cp-metadata.duckdb")
}

fn open_control(data_dir: &Path) -> anyhow::Result<ControlPlane> {
    let path = control_path(data_dir);
    discard_interrupted_install(&path, snapshot::CONTROL_NAME)?;
    open_control_file(&path)
}

/// Removes the staged file of an install a crash interrupted; the state
/// machine's file is whole either way (see `snapshot::InstallStep`).
fn discard_interrupted_install(path: &Path, name: &str) -> anyhow::Result<()> {
    let discarded = snapshot::discard_staged(path)
        .with_context(|| format!("cannot remove the staged snapshot of {name}"))?;
    if discarded {
        warn!(%name, "removed the staged file of a snapshot install that a crash interrupted");
    }
    Ok(())
}

fn open_control_file(path: &Path) -> anyhow::Result<ControlPlane> {
    let conn = duckdb::Connection::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.execute_batch("SET threads = 1")?;
    ControlPlane::open(conn).map_err(|e| anyhow::anyhow!("cp-metadata: {e}"))
}

/// Opens the replica of `name` for `group`, creating its file if it is
/// missing (a crash right after cp-metadata applied its creation). A file
/// bound to another group is a leftover of a dropped catalog of the same
/// name and is replaced by an empty one.
fn open_bound_replica(catalogs: &Catalogs, name: &str, group: GroupId) -> anyhow::Result<Replica> {
    discard_interrupted_install(&catalogs.file_path(name), name)?;
    if !catalogs.exists(name) {
        catalogs
            .create(name)
            .map_err(|e| anyhow::anyhow!("cannot create catalog \"{name}\": {e}"))?;
    }
    let mut replica = open_replica(catalogs, name)?;
    let bound = replica
        .bound_group()
        .map_err(|e| anyhow::anyhow!("catalog \"{name}\": {e}"))?;
    if bound.is_some_and(|bound| bound != group.0) {
        warn!(catalog = %name, %group, stale = ?bound, "replacing the file of a dropped catalog of the same name");
        drop(replica);
        catalogs
            .drop_replicated(name)
            .and_then(|()| catalogs.create(name))
            .map_err(|e| anyhow::anyhow!("cannot replace catalog \"{name}\": {e}"))?;
        replica = open_replica(catalogs, name)?;
    }
    replica
        .bind_group(group.0)
        .map_err(|e| anyhow::anyhow!("catalog \"{name}\": {e}"))?;
    Ok(replica)
}

/// Removes catalog files that belonged to a replicated group cp-metadata no
/// longer lists (a crash during a DROP DATABASE). Files never bound to a
/// group are left alone, and are not served (sessions need a group).
fn remove_leftover_catalogs(
    catalogs: &Catalogs,
    groups: &[(String, GroupId)],
) -> anyhow::Result<()> {
    let names = catalogs.names().map_err(|e| anyhow::anyhow!("{e}"))?;
    for name in names {
        if groups.iter().any(|(listed, _)| *listed == name) {
            continue;
        }
        let bound = open_replica(catalogs, &name)?
            .bound_group()
            .map_err(|e| anyhow::anyhow!("catalog \"{name}\": {e}"))?;
        if let Some(group) = bound {
            warn!(catalog = %name, group, "removing the file of a dropped catalog left by a crash");
            catalogs
                .drop_replicated(&name)
                .map_err(|e| anyhow::anyhow!("cannot remove catalog \"{name}\": {e}"))?;
        } else {
            warn!(catalog = %name, "catalog file not in cp-metadata: not served by this cluster member");
        }
    }
    Ok(())
}

fn open_replica(catalogs: &Catalogs, name: &str) -> anyhow::Result<Replica> {
    let catalog = catalogs
        .open(name)
        .map_err(|e| anyhow::anyhow!("cannot open catalog \"{name}\": {e}"))?;
    catalog
        .open_replica()
        .map_err(|e| anyhow::anyhow!("catalog \"{name}\": {e}"))
}
