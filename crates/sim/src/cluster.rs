//! The event loop: nodes, network, disks, faults and clients on one
//! virtual clock.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::path::{Path, PathBuf};

use duckraft_engine::command::{self, ProposalId};
use duckraft_engine::control::{ControlOutcome, ControlPlane};
use duckraft_engine::replica::{Committed, Outcome, Replica};
use duckraft_engine::snapshot::{self, InstallStep, SnapshotError};
use duckraft_raft::storage::{MemberChange, SnapshotImage};
use duckraft_raft::wal::{Wal, DEFAULT_SEGMENT_BYTES};
use duckraft_raft::{Entry, GroupId, MultiRaft, NodeConfig, NodeId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::check::{self, Observations, TraceItem};
use crate::disk::SimDisk;
use crate::net::{Net, NetConfig};
use crate::trace::Tracer;
use crate::workload::{self, Client, Frontier, History, Op, Verdict, Waiting};
use crate::{FaultCounts, SeedReport, SimConfig, SnapshotKnobs};

mod reads;

const EVENT_LOG_LEN: usize = 400;
/// After healing, clients keep writing this long (so liveness is exercised),
/// then stop so the cluster can converge.
const POST_HEAL_WRITES_US: u64 = 1_500_000;
/// A node's tick before clock drift.
const TICK_US: u64 = 10_000;
/// Out of ten client steps, this many are reads (the rest propose writes).
const READS_PER_TEN_STEPS: u32 = 3;
/// Nodes a seed may lose for good to disk damage. A majority must survive
/// with a spare vote: with five nodes, losing two leaves a bare majority
/// that needs every vote, and with election-storm timeouts (close to the
/// fsync latency) it may not elect a leader within the liveness window.
const LOST_NODES_MAX: usize = 1;
/// The control plane's database file in a node's directory.
const CONTROL_FILE: &str = "cp-metadata.duckdb";
/// As the server: rewrite the Raft log only once its segments hold this
/// many times the live entries.
const WAL_DEAD_RATIO: u64 = 4;
/// A compaction whose export or compact failed is tried again this much later.
const COMPACT_RETRY_US: u64 = 100_000;
const _: () = assert!(
    3 - LOST_NODES_MAX > 3 / 2,
    "a 3-node cluster keeps a majority"
);

#[derive(Debug)]
enum Event {
    Tick(NodeId),
    Deliver {
        from: NodeId,
        to: NodeId,
        sent_at: u64,
        bytes: Vec<u8>,
    },
    FsyncDone {
        node: NodeId,
        incarnation: u64,
        batch: u64,
    },
    Client(usize, u64),
    Chaos,
    Restart(NodeId),
    /// An operator restarts a node whose incarnation refused a snapshot
    /// (the group stopped there, as in production).
    OperatorRestart(NodeId, u64),
    EndChaos,
    /// The membership nemesis takes its next step.
    Membership,
}

/// A member cycled out of every group and back in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemberCycle {
    Removing(NodeId),
    Adding(NodeId),
}

struct Running {
    raft: MultiRaft,
    wal: Wal<SimDisk>,
}

/// A leader's snapshot waiting to be installed: after the WAL batch that
/// holds its term (`Some(batch)`) is durable, as the server's driver, which
/// syncs every batch before it installs.
struct PendingInstall {
    group: GroupId,
    image: SnapshotImage,
    after_batch: Option<u64>,
}

/// An install a crash stopped midway: the state machine it was replacing
/// is closed, and the restart must reopen whichever file the crash left.
struct InterruptedInstall {
    group: GroupId,
    applied_before: u64,
    index: u64,
}

/// Where BUGGIFY crashes a node that installs a snapshot.
#[derive(Clone, Copy, Debug)]
enum InstallCrash {
    /// Inside the engine's install, after this step.
    After(InstallStep),
    /// After Raft was told, before the log's `Compacted` marker is durable.
    Acknowledged,
}

/// One simulated process and the durable things that outlive it.
struct Node {
    id: NodeId,
    incarnation: u64,
    disk: SimDisk,
    /// The node's data directory: cp-metadata's and the catalogs' DuckDB files.
    dir: PathBuf,
    pending_installs: Vec<PendingInstall>,
    interrupted_install: Option<InterruptedInstall>,
    /// Groups whose compaction failed, and when to try again.
    compact_retry_at: BTreeMap<GroupId, u64>,
    /// A compaction happened since the log was last considered for a
    /// rewrite (the server considers it right after compacting, with no
    /// batch in flight; here a batch may still be waiting for its fsync).
    rewrite_due: bool,
    running: Option<Running>,
    /// Why the node refused to run; a degraded node never serves.
    degraded: Option<String>,
    control: ControlPlane,
    replicas: BTreeMap<GroupId, Replica>,
    /// Read connections to each catalog, for sessions' reads and the checkers.
    readers: BTreeMap<GroupId, duckdb::Connection>,
    /// A read connection to the control plane's database (its user table).
    control_reader: duckdb::Connection,
    tick_us: u64,
    paused_until: u64,
    raft_config: NodeConfig,
    /// When the node refused to start after an injected disk fault. It must
    /// never take part again: what it looked like then, to compare at the end.
    fail_closed: Option<FailClosed>,
    /// ReadIndex request contexts; never reused, so an answer to a previous
    /// incarnation's request matches nothing.
    next_read_context: u64,
    /// Contexts this node asked for while it led the group, with its term:
    /// raft-rs answers those itself, so no message shows the term.
    leader_read_contexts: BTreeMap<u64, u64>,
}

struct FailClosed {
    at: u64,
    applied: Vec<(GroupId, u64)>,
    disk_bytes: usize,
}

pub struct Sim {
    config: SimConfig,
    rng: ChaCha8Rng,
    now: u64,
    queue: BinaryHeap<Reverse<(u64, usize)>>,
    events: BTreeMap<usize, Event>,
    next_event: usize,
    nodes: BTreeMap<NodeId, Node>,
    net: Net,
    torn_writes: bool,
    fsync_us: (u64, u64),
    /// How long a session waits for its write before re-proposing it.
    client_timeout_us: u64,
    /// Chance (per mille) to crash a node right after it asks for or grants a
    /// vote: the window where an unpersisted vote would be forgotten.
    vote_crash_per_mille: u32,
    clients: Vec<Client>,
    next_client_id: u64,
    history: History,
    /// Admin operations that must finish before clients write.
    setup: VecDeque<Op>,
    ready_catalogs: Vec<String>,
    used_ids: Vec<i64>,
    obs: Observations,
    chaos: bool,
    healed_at: Option<u64>,
    log: VecDeque<String>,
    /// Per catalog, the newest index a linearizable read must reflect: the
    /// effect of every acknowledged write and the state of every completed
    /// linearizable read so far.
    frontier: BTreeMap<GroupId, Frontier>,
    /// The index at which each proposal first took effect (or failed).
    effect_index: BTreeMap<ProposalId, u64>,
    /// Per node and catalog, the applied index of the last read served.
    last_read: BTreeMap<(NodeId, GroupId), u64>,
    /// Chances (per mille, per restart of a crashed node) of an I/O error
    /// while the log is recovered, and of a flipped bit in synced log data.
    read_error_per_mille: u32,
    bit_flip_per_mille: u32,
    faults: FaultCounts,
    snapshot_knobs: SnapshotKnobs,
    /// Draws for the snapshot knobs and faults, apart from the main PRNG:
    /// they do not shift the draws of the other knobs.
    snap_rng: ChaCha8Rng,
    /// The protocol trace of one group, when asked for (`--trace-out`).
    tracer: Option<Tracer>,
    /// The membership nemesis's draws, apart from the main PRNG.
    member_rng: ChaCha8Rng,
    member_cycle: Option<MemberCycle>,
    /// Last field: removed after the nodes (and their DuckDB files) closed.
    run_dir: RunDir,
}

/// The run's directory of DuckDB files, removed when the run ends.
struct RunDir(PathBuf);

impl RunDir {
    fn new(seed: u64) -> RunDir {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        RunDir(base.join(format!("duckraft-sim-{}-{seed}-{n}", std::process::id())))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens the control plane on its file, with a second connection to read it.
fn open_control(path: &Path) -> Result<(ControlPlane, duckdb::Connection), String> {
    let conn = duckdb::Connection::open(path).map_err(|e| e.to_string())?;
    conn.execute_batch("SET threads = 1")
        .map_err(|e| e.to_string())?;
    let reader = conn.try_clone().map_err(|e| e.to_string())?;
    let control = ControlPlane::open(conn).map_err(|e| e.to_string())?;
    Ok((control, reader))
}

/// Opens a catalog's replica on its file (created if missing) and a second
/// connection to read it. Plain DuckDB files, not the server's `Catalogs`:
/// opening one of those sets up the PostgreSQL compatibility layer, about a
/// second per open, which sessions need and the simulator does not.
fn open_replica(path: &Path) -> Result<(Replica, duckdb::Connection), String> {
    let conn = duckdb::Connection::open(path).map_err(|e| e.to_string())?;
    conn.execute_batch("SET threads = 1")
        .map_err(|e| e.to_string())?;
    let reader = conn.try_clone().map_err(|e| e.to_string())?;
    let replica = Replica::open(conn).map_err(|e| e.to_string())?;
    Ok((replica, reader))
}

fn catalog_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.duckdb"))
}

fn catalog_name(control: &ControlPlane, group: GroupId) -> Option<String> {
    control
        .catalogs()
        .iter()
        .find(|(_, g)| **g == group.0)
        .map(|(name, _)| name.clone())
}

/// The state machine's applied index of `group` on `node`.
fn applied_index(node: &Node, group: GroupId) -> Option<u64> {
    if group == GroupId::CONTROL {
        Some(node.control.applied_index())
    } else {
        node.replicas.get(&group).map(Replica::applied_index)
    }
}

/// Corrupts a snapshot in transit: one flipped bit in the database file
/// (the checksum must catch it) or a header naming another group with a
/// valid checksum (the group check must). The draws and the outcome do
/// not depend on the file's length, which DuckDB does not promise to keep
/// run to run: any flipped bit in the file fails the checksum alike.
fn corrupt(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) -> String {
    let Ok((header, file)) = snapshot::decode(data) else {
        return "not decodable".into();
    };
    if rng.gen_bool(0.5) || file.is_empty() {
        let header_len = data.len() - file.len();
        let at = header_len + (rng.gen::<u64>() % file.len().max(1) as u64) as usize;
        let bit = rng.gen_range(0..8);
        if let Some(byte) = data.get_mut(at) {
            *byte ^= 1 << bit;
        }
        "a flipped bit in the file".into()
    } else {
        let mut other = header.clone();
        other.group = header.group + 1 + rng.gen_range(0..3);
        *data = snapshot::encode(&other, file);
        format!("header says group {}", other.group)
    }
}

fn voters(n: usize) -> Vec<NodeId> {
    (1..=n as NodeId).collect()
}

fn memory_duckdb() -> duckdb::Connection {
    let conn = duckdb::Connection::open_in_memory().expect("in-memory DuckDB opens");
    conn.execute_batch("SET threads = 1")
        .expect("DuckDB accepts a thread count");
    conn
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        // BUGGIFY: every seed draws its own knobs.
        // A third of the seeds run election storms: timeouts close to the
        // network and fsync delays, so candidates compete in the same term.
        let election_tick = if rng.gen_bool(0.33) {
            rng.gen_range(3..=5)
        } else {
            rng.gen_range(5..=15)
        };
        let heartbeat_tick = rng.gen_range(1..=(election_tick / 2).min(3));
        let net = Net::new(NetConfig {
            base_delay_us: rng.gen_range(100..=2_000),
            jitter_us: rng.gen_range(0..=5_000),
            drop_per_mille: [0, 0, 10, 50][rng.gen_range(0..4)],
            dup_per_mille: [0, 0, 10, 30][rng.gen_range(0..4)],
        });
        let fsync_us = if rng.gen_range(0..4) == 0 {
            (5_000, 40_000)
        } else {
            (100, 2_000)
        };
        let torn_writes = rng.gen_bool(0.5);
        // Short timeouts re-propose writes that are merely slow, so the same
        // proposal id commits twice and dedup has to answer.
        let client_timeout_us = [30_000, 60_000, 300_000, 800_000, 1_500_000][rng.gen_range(0..5)];
        let vote_crash_per_mille = [0, 200, 500][rng.gen_range(0..3)];
        // Disk damage found at restart: two seeds in five may see each kind.
        let mut read_error_per_mille = [0, 0, 0, 30, 100][rng.gen_range(0..5)];
        let mut bit_flip_per_mille = [0, 0, 0, 30, 100][rng.gen_range(0..5)];
        // A lost node takes the spare vote away. The survivors must still
        // elect a leader, so only where the shortest election timeout
        // (clock drift included) outlasts two of the slowest fsyncs: the
        // batch in flight, then the one holding the vote.
        let election_timeout_min_us = election_tick as u64 * TICK_US * 90 / 100;
        // A member out of the groups takes the spare vote away just as a
        // lost node does, so the survivors need the same margin (seed 5017
        // of the membership sweep livelocked without it: 27 ms timeouts,
        // 40 ms fsyncs, two voters), and never both.
        let fsync_us = if config.membership_changes && election_timeout_min_us <= 2 * fsync_us.1 {
            (100, 2_000)
        } else {
            fsync_us
        };
        if election_timeout_min_us <= 2 * fsync_us.1 || config.membership_changes {
            read_error_per_mille = 0;
            bit_flip_per_mille = 0;
        }
        // Snapshot knobs, from their own stream (see `snap_rng`).
        let mut snap_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x736e_6170_7368_6f74);
        let compaction_threshold = if snap_rng.gen_range(0..4) == 0 {
            0
        } else {
            [5, 10, 20, 40][snap_rng.gen_range(0..4)]
        };
        let on = compaction_threshold > 0;
        let snapshot_knobs = SnapshotKnobs {
            compaction_threshold,
            log_rewrite_bytes: if on && snap_rng.gen_bool(0.5) {
                [4 << 10, 16 << 10, 64 << 10][snap_rng.gen_range(0..3)]
            } else {
                0
            },
            corrupt_per_mille: if on {
                [0, 250, 500][snap_rng.gen_range(0..3)]
            } else {
                0
            },
            install_crash_per_mille: if on {
                [0, 300, 600][snap_rng.gen_range(0..3)]
            } else {
                0
            },
        };
        let run_dir = RunDir::new(config.seed);
        let tracer = config
            .trace
            .clone()
            .map(|t| Tracer::new(t, config.nodes, config.seed));
        let member_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x6d65_6d62_6572_7321);
        let mut sim = Sim {
            tracer,
            member_rng,
            member_cycle: None,
            snapshot_knobs,
            snap_rng,
            run_dir,
            rng,
            now: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_event: 0,
            nodes: BTreeMap::new(),
            net,
            torn_writes,
            fsync_us,
            client_timeout_us,
            vote_crash_per_mille,
            clients: Vec::new(),
            next_client_id: 1,
            history: History::default(),
            setup: VecDeque::from(vec![
                Op::CreateCatalog("alpha".into()),
                Op::CreateCatalog("beta".into()),
                Op::CreateTable {
                    catalog: "alpha".into(),
                },
                Op::CreateTable {
                    catalog: "beta".into(),
                },
            ]),
            ready_catalogs: Vec::new(),
            used_ids: Vec::new(),
            obs: Observations::default(),
            chaos: true,
            healed_at: None,
            log: VecDeque::new(),
            frontier: BTreeMap::new(),
            effect_index: BTreeMap::new(),
            last_read: BTreeMap::new(),
            read_error_per_mille,
            bit_flip_per_mille,
            faults: FaultCounts::default(),
            config,
        };
        let n = sim.config.nodes;
        for id in voters(n) {
            let mut raft_config = NodeConfig::new(id, sim.rng.gen());
            raft_config.election_tick = election_tick;
            raft_config.heartbeat_tick = heartbeat_tick;
            raft_config.bugs = sim.config.injection.raft;
            let dir = sim.run_dir.0.join(format!("node-{id}"));
            std::fs::create_dir_all(&dir).expect("the node's directory is created");
            let (mut control, control_reader) =
                open_control(&dir.join(CONTROL_FILE)).expect("control plane opens on DuckDB");
            control.set_dedup(!sim.config.injection.skip_dedup);
            let node = Node {
                id,
                incarnation: 0,
                disk: SimDisk::default(),
                dir,
                pending_installs: Vec::new(),
                interrupted_install: None,
                compact_retry_at: BTreeMap::new(),
                rewrite_due: false,
                running: None,
                degraded: None,
                control,
                replicas: BTreeMap::new(),
                readers: BTreeMap::new(),
                control_reader,
                fail_closed: None,
                next_read_context: 1,
                leader_read_contexts: BTreeMap::new(),
                // Clock drift: each node's tick runs a little fast or slow.
                tick_us: TICK_US * sim.rng.gen_range(90..=110) / 100,
                paused_until: 0,
                raft_config,
            };
            sim.nodes.insert(id, node);
            sim.start_node(id, None);
            let phase = sim.rng.gen_range(0..10_000);
            sim.schedule(phase, Event::Tick(id));
        }
        let clients = sim.rng.gen_range(2..=4);
        for _ in 0..clients {
            let node = sim.random_node();
            let client = Client {
                id: sim.next_client_id,
                node,
                seq: 0,
                waiting: None,
                reading: None,
                own_write_index: BTreeMap::new(),
                wake: 0,
            };
            sim.next_client_id += 1;
            sim.clients.push(client);
        }
        for c in 0..sim.clients.len() {
            let at = sim.rng.gen_range(0..50_000);
            sim.wake_client(c, at);
        }
        let first_chaos = sim.rng.gen_range(200_000..800_000);
        sim.schedule(first_chaos, Event::Chaos);
        let chaos_end = sim.config.chaos_us;
        sim.schedule(chaos_end, Event::EndChaos);
        if sim.config.membership_changes {
            let first = sim.member_rng.gen_range(300_000..1_000_000);
            sim.schedule(first, Event::Membership);
        }
        sim
    }

    fn wake_client(&mut self, c: usize, after: u64) {
        self.clients[c].wake += 1;
        let wake = self.clients[c].wake;
        self.schedule(after, Event::Client(c, wake));
    }

    fn random_node(&mut self) -> NodeId {
        self.rng.gen_range(1..=self.config.nodes as NodeId)
    }

    fn schedule(&mut self, after: u64, event: Event) {
        let id = self.next_event;
        self.next_event += 1;
        self.events.insert(id, event);
        // Ties on time resolve in scheduling order.
        self.queue.push(Reverse((self.now + after, id)));
    }

    fn note(&mut self, line: String) {
        if self.log.len() == EVENT_LOG_LEN {
            self.log.pop_front();
        }
        self.log
            .push_back(format!("{:>10.3}ms {line}", self.now as f64 / 1000.0));
    }

    pub fn run(mut self) -> SeedReport {
        let deadline = self.config.chaos_us + self.config.settle_us;
        while let Some(Reverse((at, id))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            self.now = at;
            let event = self.events.remove(&id).expect("scheduled event exists");
            self.handle(event);
            if self.obs.failure.is_some() {
                break;
            }
            if !self.chaos && self.converged() {
                break;
            }
        }
        self.finish()
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Tick(id) => {
                let node = self.nodes.get_mut(&id).expect("node");
                let next = node.tick_us;
                if node.paused_until > self.now {
                    let wait = node.paused_until - self.now;
                    self.schedule(wait, Event::Tick(id));
                    return;
                }
                if let Some(running) = node.running.as_mut() {
                    running.raft.tick();
                }
                self.schedule(next, Event::Tick(id));
                self.drive(id);
            }
            Event::Deliver {
                from,
                to,
                sent_at,
                bytes,
            } => {
                let node = self.nodes.get_mut(&to).expect("node");
                let wait = if node.paused_until > self.now {
                    Some(node.paused_until - self.now)
                } else if node.running.is_none() && node.degraded.is_none() {
                    // The sender's transport keeps queued messages across a
                    // reconnect, so a restarted node may still receive
                    // messages sent to its previous incarnation.
                    (self.now - sent_at < 1_000_000 && self.rng.gen_bool(0.5))
                        .then(|| self.rng.gen_range(20_000..100_000))
                } else {
                    None
                };
                if let Some(wait) = wait {
                    self.schedule(
                        wait,
                        Event::Deliver {
                            from,
                            to,
                            sent_at,
                            bytes,
                        },
                    );
                    return;
                }
                if let Some(gone) = &self.nodes[&from].fail_closed {
                    if sent_at >= gone.at {
                        self.obs.fail(format!(
                            "FailClosed: node {from} failed closed at {:.3}ms but sent a message at {:.3}ms",
                            gone.at as f64 / 1000.0,
                            sent_at as f64 / 1000.0
                        ));
                        return;
                    }
                }
                let node = self.nodes.get_mut(&to).expect("node");
                if let Some(running) = node.running.as_mut() {
                    if let Err(e) = running.raft.step(from, &bytes) {
                        self.obs
                            .fail(format!("node {to} refused a batch from {from}: {e}"));
                        return;
                    }
                    self.drive(to);
                }
            }
            Event::FsyncDone {
                node: id,
                incarnation,
                batch,
            } => {
                let node = self.nodes.get_mut(&id).expect("node");
                if node.incarnation != incarnation {
                    return;
                }
                let Some(running) = node.running.as_mut() else {
                    return;
                };
                if let Err(e) = running.wal.sync() {
                    self.degrade(id, format!("fsync failed: {e}"));
                    return;
                }
                if let Some(tracer) = self.tracer.as_mut() {
                    tracer.synced(id, batch);
                }
                running.raft.wal_synced(batch);
                for pending in &mut node.pending_installs {
                    if pending.after_batch.is_some_and(|b| b <= batch) {
                        pending.after_batch = None;
                    }
                }
                self.drive(id);
            }
            Event::Client(c, wake) => {
                if self.clients[c].wake == wake {
                    self.client_step(c);
                }
            }
            Event::Chaos => {
                if self.chaos {
                    self.inject_fault();
                    let next = self.rng.gen_range(200_000..1_000_000);
                    self.schedule(next, Event::Chaos);
                }
            }
            Event::Restart(id) => self.restart(id),
            Event::OperatorRestart(id, incarnation) => {
                let node = &self.nodes[&id];
                if node.incarnation == incarnation && node.running.is_some() {
                    self.note(format!("operator restarts node {id}"));
                    self.crash(id);
                    let after = self.snap_rng.gen_range(50_000..300_000);
                    self.schedule(after, Event::Restart(id));
                }
            }
            Event::EndChaos => self.heal(),
            Event::Membership => {
                self.membership_step();
                // A cycle in progress finishes after the chaos ends, so
                // every node is a voter again before the end checks.
                if self.chaos || self.member_cycle.is_some() {
                    let next = self.member_rng.gen_range(50_000..400_000);
                    self.schedule(next, Event::Membership);
                }
            }
        }
    }

    /// One step of the membership nemesis, driving the core's
    /// `change_membership` on each group's leader as the server's
    /// reconciler does: remove a member from every group (its leader hands
    /// off leadership first), then add it back as a learner and promote it
    /// once it caught up. The member keeps running and keeps its state.
    fn membership_step(&mut self) {
        let cycle = match self.member_cycle {
            Some(cycle) => cycle,
            None if self.chaos => {
                let victim = self.member_rng.gen_range(1..=self.config.nodes as NodeId);
                self.note(format!("membership: remove node {victim} from every group"));
                self.member_cycle = Some(MemberCycle::Removing(victim));
                MemberCycle::Removing(victim)
            }
            None => return,
        };
        let (MemberCycle::Removing(victim) | MemberCycle::Adding(victim)) = cycle;
        if self.nodes[&victim].fail_closed.is_some() || self.nodes[&victim].degraded.is_some() {
            // It never comes back: it stays out, as an operator would leave it.
            self.note(format!(
                "membership: node {victim} failed closed; the cycle ends"
            ));
            self.member_cycle = None;
            return;
        }
        let mut leaders: Vec<(NodeId, duckraft_raft::GroupStatus)> = Vec::new();
        for node in self.nodes.values() {
            if let Some(running) = node.running.as_ref() {
                for status in running.raft.status() {
                    if status.role == "leader" {
                        leaders.push((node.id, status));
                    }
                }
            }
        }
        let groups: BTreeSet<GroupId> = self
            .nodes
            .values()
            .filter_map(|n| n.running.as_ref())
            .flat_map(|r| r.raft.group_ids())
            .collect();
        let mut done = BTreeSet::new();
        let mut proposals = Vec::new();
        for (leader, status) in &leaders {
            let conf = &status.conf;
            match cycle {
                MemberCycle::Removing(victim) if *leader == victim => {
                    if let Some(target) = status.successor(victim, |_| true) {
                        proposals.push((*leader, status.group, Err(target)));
                    }
                }
                MemberCycle::Removing(victim) if !conf.contains(victim) => {
                    done.insert(status.group);
                }
                MemberCycle::Removing(victim) => {
                    proposals.push((*leader, status.group, Ok(MemberChange::Remove(victim))));
                }
                MemberCycle::Adding(victim) if conf.voters.contains(&victim) => {
                    done.insert(status.group);
                }
                MemberCycle::Adding(victim) if !conf.contains(victim) => {
                    proposals.push((*leader, status.group, Ok(MemberChange::AddLearner(victim))));
                }
                MemberCycle::Adding(victim) => {
                    if status.may_promote(victim) {
                        proposals.push((*leader, status.group, Ok(MemberChange::Promote(victim))));
                    }
                }
            }
        }
        for (leader, group, change) in proposals {
            let Some(running) = self.nodes.get_mut(&leader).and_then(|n| n.running.as_mut()) else {
                continue;
            };
            match change {
                Err(target) => running.raft.transfer_leader(group, target),
                Ok(change) => {
                    if running.raft.change_membership(group, change).is_ok() {
                        let kind = match change {
                            MemberChange::Remove(_) => 0,
                            MemberChange::AddLearner(_) => 1,
                            MemberChange::Promote(_) => 2,
                        };
                        self.faults.member_changes[kind] += 1;
                    }
                }
            }
            self.drive(leader);
        }
        if done.len() == groups.len() && groups.iter().all(|g| done.contains(g)) {
            self.member_cycle = match cycle {
                MemberCycle::Removing(victim) => {
                    self.note(format!(
                        "membership: node {victim} is out of every group; add it back"
                    ));
                    Some(MemberCycle::Adding(victim))
                }
                MemberCycle::Adding(victim) => {
                    self.note(format!(
                        "membership: node {victim} votes in every group again"
                    ));
                    self.faults.member_cycles += 1;
                    None
                }
            };
        }
    }

    /// Pumps one node's outputs until it has nothing more to say.
    fn drive(&mut self, id: NodeId) {
        loop {
            if !self.install_ready(id) {
                return;
            }
            let node = self.nodes.get_mut(&id).expect("node");
            let incarnation = node.incarnation;
            if node.fail_closed.is_some() && node.running.is_some() {
                self.obs.fail(format!(
                    "FailClosed: node {id} failed closed but is running again"
                ));
                return;
            }
            let Some(running) = node.running.as_mut() else {
                return;
            };
            let out = running.raft.poll();
            if let Some(lost) = running.raft.lost_data() {
                // No fault here destroys what a node made durable.
                let lost = format!("{lost:?}");
                self.obs.fail(format!(
                    "DurableLog: node {id} shows it lost durable data, which no fault here causes: {lost}"
                ));
                return;
            }
            if out.is_empty() {
                break;
            }
            let batch_id = out.wal.as_ref().map(|batch| batch.id);
            if let Some(batch) = out.wal {
                if let Err(e) = running.wal.write(&batch.records) {
                    self.degrade(id, format!("log write failed: {e}"));
                    return;
                }
                if let Some(tracer) = self.tracer.as_mut() {
                    tracer.written(id, batch.id, &batch.records);
                }
                let latency = self.rng.gen_range(self.fsync_us.0..=self.fsync_us.1);
                self.schedule(
                    latency,
                    Event::FsyncDone {
                        node: id,
                        incarnation,
                        batch: batch.id,
                    },
                );
            }
            let mut voting = false;
            for (to, bytes) in out.messages {
                for seen in inspect(&bytes) {
                    match seen {
                        Seen::VoteRequested => voting = true,
                        Seen::VoteGranted { group, term } => {
                            voting = true;
                            self.obs.vote(group, term, id, to);
                        }
                        Seen::ReadIndexAnswered { group, term, index } => {
                            self.obs.read_index_claim(group, term, index, id);
                        }
                    }
                }
                let delays = self.net.route(id, to, &mut self.rng);
                for delay in delays {
                    let sent_at = self.now;
                    self.schedule(
                        delay,
                        Event::Deliver {
                            from: id,
                            to,
                            sent_at,
                            bytes: bytes.clone(),
                        },
                    );
                }
            }
            if voting && self.chaos && self.rng.gen_range(0..1000) < self.vote_crash_per_mille {
                let down = self.nodes.values().filter(|n| n.running.is_none()).count();
                if down < self.config.nodes / 2 {
                    self.note(format!("node {id} is voting; crash it"));
                    self.crash(id);
                    let after = self.rng.gen_range(5_000..60_000);
                    self.schedule(after, Event::Restart(id));
                    return;
                }
            }
            for (group, entries) in out.early_acks {
                for entry in &entries {
                    if let Ok(envelope) = command::decode(&entry.data) {
                        if let Some(pid) = envelope.id {
                            let at = (group, entry.index, entry.term);
                            self.ack(id, pid, Verdict::Applied, at);
                        }
                    }
                }
            }
            for (group, entries) in out.committed {
                self.apply(id, group, &entries);
                if self.nodes[&id].running.is_none() {
                    return;
                }
            }
            for (group, state) in out.read_states {
                self.on_read_state(id, group, &state.request_ctx, state.index);
            }
            for group in out.snapshot_requests {
                self.export(id, group);
            }
            let node = self.nodes.get_mut(&id).expect("node");
            for (group, image) in out.snapshots {
                node.pending_installs.push(PendingInstall {
                    group,
                    image,
                    after_batch: batch_id,
                });
            }
            self.answer_reads(id);
        }
        self.compact_due(id);
        self.observe_leaders(id);
    }

    /// Exports `group`'s state machine at its applied index through the
    /// engine's snapshot code and offers it to the node. Returns the index.
    fn export(&mut self, id: NodeId, group: GroupId) -> Option<u64> {
        let all = voters(self.config.nodes);
        let node = &self.nodes[&id];
        let exported = if group == GroupId::CONTROL {
            let control = &node.control;
            snapshot::export_control(&node.dir.join(CONTROL_FILE), &all, control)
                .map(|data| (data, control.applied_index(), control.applied_term()))
        } else {
            let replica = node.replicas.get(&group)?;
            let name = catalog_name(&node.control, group)?;
            let path = catalog_path(&node.dir, &name);
            snapshot::export_replica(&path, &name, group.0, &all, replica)
                .map(|data| (data, replica.applied_index(), replica.applied_term()))
        };
        let (data, index, term) = match exported {
            Ok(exported) if exported.1 > 0 => exported,
            Ok(_) => return None,
            Err(e) => {
                self.note(format!("node {id} {group}: snapshot export failed: {e}"));
                return None;
            }
        };
        self.obs.snapshot_exported(group, index, &data);
        let running = self.nodes.get_mut(&id).expect("node").running.as_mut()?;
        if let Err(e) = running.raft.serve_snapshot(group, index, term, data) {
            self.note(format!(
                "node {id} did not take its snapshot of {group}: {e}"
            ));
            return None;
        }
        self.faults.snapshots_exported += 1;
        Some(index)
    }

    /// As the server: snapshots and compacts every group whose applied
    /// index is the seed's threshold past its log's start, then rewrites
    /// the log if dead segments dominate it.
    fn compact_due(&mut self, id: NodeId) {
        let threshold = self.snapshot_knobs.compaction_threshold;
        if threshold == 0 {
            return;
        }
        if self.nodes[&id].rewrite_due {
            self.reclaim_log(id);
        }
        let now = self.now;
        let node = &self.nodes[&id];
        let Some(running) = node.running.as_ref() else {
            return;
        };
        let due: Vec<GroupId> = running
            .raft
            .log_starts()
            .into_iter()
            .filter(|(group, first)| {
                node.compact_retry_at.get(group).is_none_or(|at| now >= *at)
                    && applied_index(node, *group)
                        .is_some_and(|a| duckraft_raft::compaction_due(a, *first, threshold))
            })
            .map(|(group, _)| group)
            .collect();
        let mut compacted = false;
        for group in due {
            let index = self.export(id, group);
            let node = self.nodes.get_mut(&id).expect("node");
            let Some(running) = node.running.as_mut() else {
                return;
            };
            let to = index.map(|index| duckraft_raft::compaction_point(index, threshold));
            match to.map(|to| running.raft.compact(group, to)) {
                Some(Ok(())) => {
                    compacted = true;
                    node.compact_retry_at.remove(&group);
                }
                _ => {
                    node.compact_retry_at.insert(group, now + COMPACT_RETRY_US);
                }
            }
        }
        if compacted {
            self.nodes.get_mut(&id).expect("node").rewrite_due = true;
            self.reclaim_log(id);
        }
    }

    fn reclaim_log(&mut self, id: NodeId) {
        let min = self.snapshot_knobs.log_rewrite_bytes;
        let node = self.nodes.get_mut(&id).expect("node");
        let Some(running) = node.running.as_mut() else {
            return;
        };
        if min == 0 {
            node.rewrite_due = false;
            return;
        }
        let Some(records) = running.raft.live_records() else {
            // A batch is in flight: the next round looks again.
            return;
        };
        node.rewrite_due = false;
        let live: u64 = running.raft.status().iter().map(|s| s.log_bytes).sum();
        let total = running.wal.total_bytes();
        if total < min || total < WAL_DEAD_RATIO * live {
            return;
        }
        match running.wal.rewrite(&records) {
            Ok(()) => {
                self.faults.log_rewrites += 1;
                self.note(format!("node {id} rewrote its log"));
            }
            Err(e) => self.degrade(id, format!("log rewrite failed: {e}")),
        }
    }

    /// Installs the snapshots whose term is durable. Returns whether the
    /// node still runs.
    fn install_ready(&mut self, id: NodeId) -> bool {
        loop {
            let node = self.nodes.get_mut(&id).expect("node");
            if node.running.is_none() {
                return false;
            }
            let Some(at) = node
                .pending_installs
                .iter()
                .position(|p| p.after_batch.is_none())
            else {
                return true;
            };
            let pending = node.pending_installs.remove(at);
            self.install(id, pending.group, pending.image);
        }
    }

    /// What the server does with a leader's snapshot: check its metadata
    /// against Raft's, verify and install it through the engine, and only
    /// then acknowledge it; a refused one stops the group on this node.
    fn install(&mut self, id: NodeId, group: GroupId, image: SnapshotImage) {
        let mut data = image.data;
        let knobs = self.snapshot_knobs;
        // Also after healing: most installs are of nodes catching up then.
        if knobs.corrupt_per_mille > 0 && self.snap_rng.gen_range(0..1000) < knobs.corrupt_per_mille
        {
            let what = corrupt(&mut data, &mut self.snap_rng);
            self.faults.snapshots_corrupted += 1;
            self.note(format!(
                "node {id} {group}: the snapshot at {} is corrupted in transit ({what})",
                image.index
            ));
        }
        let applied_before = applied_index(&self.nodes[&id], group).unwrap_or(0);
        let crash = self.install_crash();
        let stop_after = match crash {
            Some(InstallCrash::After(step)) => Some(step),
            _ => None,
        };
        let verified = snapshot::check_metadata(&data, image.index, image.term).and_then(|()| {
            let node = &self.nodes[&id];
            let name = if group == GroupId::CONTROL {
                snapshot::CONTROL_NAME.to_string()
            } else {
                catalog_name(&node.control, group).unwrap_or_default()
            };
            snapshot::verify(&data, group.0, &name, applied_before).map(|_| ())
        });
        let result = match verified {
            // The install verifies again; checking first keeps the read
            // connections (which would keep the old database open) until
            // the file is sure to be replaced.
            Err(e) => Err(Some(e)),
            Ok(()) if group == GroupId::CONTROL => self.install_control(id, &data, stop_after),
            Ok(()) => self.install_catalog(id, group, &data, stop_after),
        };
        match result {
            Ok(()) => {
                self.faults.snapshots_installed += 1;
                self.note(format!(
                    "node {id} installed a snapshot of {group} at {}",
                    image.index
                ));
                self.acknowledge_install(id, group, image.index, &data, applied_before);
                if group == GroupId::CONTROL {
                    self.ensure_listed_catalogs(id);
                }
                if let Some(InstallCrash::Acknowledged) = crash {
                    self.note(format!("node {id} installed a snapshot; crash it"));
                    self.crash_for_a_moment(id);
                }
            }
            Err(Some(SnapshotError::Interrupted(step))) => {
                let done = match step {
                    InstallStep::Staged => 0,
                    InstallStep::Closed => 1,
                    InstallStep::Replaced => 2,
                };
                self.faults.installs_interrupted[done] += 1;
                self.note(format!(
                    "node {id} crashes inside its install of {group} at {}, after {step:?}",
                    image.index
                ));
                self.nodes.get_mut(&id).expect("node").interrupted_install =
                    Some(InterruptedInstall {
                        group,
                        applied_before,
                        index: image.index,
                    });
                self.crash_for_a_moment(id);
            }
            Err(Some(e)) => {
                self.faults.snapshots_refused += 1;
                self.note(format!(
                    "node {id} REFUSED a snapshot of {group} at {}: {e}",
                    image.index
                ));
                if self.config.injection.snapshot_skip_verify {
                    self.acknowledge_install(id, group, image.index, &data, applied_before);
                } else {
                    // The group stays stopped here until an operator acts.
                    let incarnation = self.nodes[&id].incarnation;
                    let after = self.snap_rng.gen_range(100_000..1_000_000);
                    self.schedule(after, Event::OperatorRestart(id, incarnation));
                }
            }
            Err(None) => {}
        }
    }

    /// Tells Raft the snapshot is installed, after the checker judged what
    /// the state machine now holds.
    fn acknowledge_install(
        &mut self,
        id: NodeId,
        group: GroupId,
        index: u64,
        data: &[u8],
        applied_before: u64,
    ) {
        let applied_after = applied_index(&self.nodes[&id], group).unwrap_or(0);
        self.obs
            .snapshot_installed(id, group, index, data, applied_before, applied_after);
        if let Some(running) = self.nodes.get_mut(&id).expect("node").running.as_mut() {
            running.raft.snapshot_installed(group);
        }
    }

    /// BUGGIFY: whether and where to crash the node during this install:
    /// inside the engine's steps, or right after Raft is told and before the
    /// log's `Compacted` marker is durable. Recovery must take the state
    /// machine's index either way. Never costs the cluster its majority.
    fn install_crash(&mut self) -> Option<InstallCrash> {
        let chance = self.snapshot_knobs.install_crash_per_mille;
        if chance == 0 || self.snap_rng.gen_range(0..1000) >= chance {
            return None;
        }
        let down = self.nodes.values().filter(|n| n.running.is_none()).count();
        if down >= self.config.nodes / 2 {
            return None;
        }
        Some(match self.snap_rng.gen_range(0..4) {
            0 => InstallCrash::After(InstallStep::Staged),
            1 => InstallCrash::After(InstallStep::Closed),
            2 => InstallCrash::After(InstallStep::Replaced),
            _ => InstallCrash::Acknowledged,
        })
    }

    fn crash_for_a_moment(&mut self, id: NodeId) {
        self.crash(id);
        let after = self.snap_rng.gen_range(5_000..60_000);
        self.schedule(after, Event::Restart(id));
    }

    /// Reopens the state machine an interrupted install closed, as the
    /// server opens its files at start: the staged file is discarded, and
    /// the file must hold the state from before the install or the
    /// snapshot's, whole. Returns whether the node may go on starting.
    fn recover_interrupted_install(&mut self, id: NodeId) -> bool {
        let skip_dedup = self.config.injection.skip_dedup;
        let skip_conflict_check = self.config.injection.skip_conflict_check;
        let node = self.nodes.get_mut(&id).expect("node");
        let Some(interrupted) = node.interrupted_install.take() else {
            return true;
        };
        let group = interrupted.group;
        let reopened = if group == GroupId::CONTROL {
            let path = node.dir.join(CONTROL_FILE);
            snapshot::discard_staged(&path)
                .map_err(|e| e.to_string())
                .and_then(|_| open_control(&path))
                .map(|(mut control, reader)| {
                    control.set_dedup(!skip_dedup);
                    let applied = control.applied_index();
                    node.control = control;
                    node.control_reader = reader;
                    applied
                })
        } else {
            match catalog_name(&node.control, group) {
                None => Err(format!("{group} is not in the catalog registry")),
                Some(name) => {
                    let path = catalog_path(&node.dir, &name);
                    snapshot::discard_staged(&path)
                        .map_err(|e| e.to_string())
                        .and_then(|_| open_replica(&path))
                        .and_then(|(mut replica, reader)| {
                            replica.bind_group(group.0).map_err(|e| e.to_string())?;
                            replica.set_dedup(!skip_dedup);
                            replica.set_conflict_check(!skip_conflict_check);
                            let applied = replica.applied_index();
                            node.replicas.insert(group, replica);
                            node.readers.insert(group, reader);
                            Ok(applied)
                        })
                }
            }
        };
        let applied = match reopened {
            Ok(applied) => applied,
            Err(e) => {
                self.degrade(
                    id,
                    format!("reopening {group} after an interrupted install: {e}"),
                );
                return false;
            }
        };
        self.note(format!(
            "node {id} reopened {group} after an interrupted install at applied index {applied}"
        ));
        self.obs.install_recovered(
            id,
            group,
            interrupted.applied_before,
            interrupted.index,
            applied,
        );
        if group == GroupId::CONTROL {
            self.ensure_listed_catalogs(id);
        }
        self.nodes[&id].degraded.is_none()
    }

    /// Installs a verified snapshot of a catalog through the engine.
    /// `Err(None)`: the install failed and the node is degraded.
    fn install_catalog(
        &mut self,
        id: NodeId,
        group: GroupId,
        data: &[u8],
        stop_after: Option<InstallStep>,
    ) -> Result<(), Option<SnapshotError>> {
        let skip_dedup = self.config.injection.skip_dedup;
        let skip_conflict_check = self.config.injection.skip_conflict_check;
        let node = self.nodes.get_mut(&id).expect("node");
        let (Some(name), Some(replica)) = (
            catalog_name(&node.control, group),
            node.replicas.remove(&group),
        ) else {
            self.degrade(id, format!("a snapshot for {group}, which has no replica"));
            return Err(None);
        };
        // Its reads end, as a server's sessions on the catalog do; with the
        // replica gone too, nothing keeps the database open.
        node.readers.remove(&group);
        let path = catalog_path(&node.dir, &name);
        let mut reader = None;
        let reopen = |path: &Path| {
            let (replica, opened) = open_replica(path).map_err(SnapshotError::Engine)?;
            reader = Some(opened);
            Ok(replica)
        };
        let target = snapshot::InstallTarget {
            path: &path,
            name: &name,
            group: group.0,
            stop_after,
        };
        let installed = snapshot::install_replica(&target, replica, data, || Ok(()), reopen);
        match installed {
            Ok(mut replica) => {
                replica.set_dedup(!skip_dedup);
                replica.set_conflict_check(!skip_conflict_check);
                node.replicas.insert(group, replica);
                node.readers
                    .insert(group, reader.expect("reopened with a reader"));
                Ok(())
            }
            Err(failure) if matches!(failure.error, SnapshotError::Interrupted(_)) => {
                Err(Some(failure.error))
            }
            Err(failure) => {
                // Verified already, so even a refusal here (staging I/O)
                // left the catalog without its read connection: fail.
                let reason = format!("installing a snapshot of {name} failed: {}", failure.error);
                self.degrade(id, reason);
                Err(None)
            }
        }
    }

    fn install_control(
        &mut self,
        id: NodeId,
        data: &[u8],
        stop_after: Option<InstallStep>,
    ) -> Result<(), Option<SnapshotError>> {
        let skip_dedup = self.config.injection.skip_dedup;
        let node = self.nodes.get_mut(&id).expect("node");
        let placeholder =
            ControlPlane::open(memory_duckdb()).expect("a placeholder control plane opens");
        let control = std::mem::replace(&mut node.control, placeholder);
        // The reader would keep the old database open.
        node.control_reader = memory_duckdb();
        let path = node.dir.join(CONTROL_FILE);
        let mut reader = None;
        let reopen = |path: &Path| {
            let (control, opened) = open_control(path).map_err(SnapshotError::Engine)?;
            reader = Some(opened);
            Ok(control)
        };
        let failure = match snapshot::install_control(&path, control, data, reopen, stop_after) {
            Ok(mut control) => {
                control.set_dedup(!skip_dedup);
                node.control = control;
                node.control_reader = reader.expect("reopened with a reader");
                return Ok(());
            }
            Err(failure) if matches!(failure.error, SnapshotError::Interrupted(_)) => {
                return Err(Some(failure.error));
            }
            Err(failure) => failure,
        };
        // Verified already, so even a refusal here (staging I/O) left the
        // node without a readable control plane: fail it.
        let reason = format!(
            "installing a cp-metadata snapshot failed: {}",
            failure.error
        );
        self.degrade(id, reason);
        Err(None)
    }

    fn observe_leaders(&mut self, id: NodeId) {
        let node = &self.nodes[&id];
        let Some(running) = node.running.as_ref() else {
            return;
        };
        for status in running.raft.status() {
            if status.role == "leader" {
                self.obs.leader(status.group, status.term, id);
            }
            if let Some(tracer) = self.tracer.as_mut().filter(|t| t.traces(status.group)) {
                tracer.role(id, status.role == "leader", status.term);
            }
        }
    }

    fn apply(&mut self, id: NodeId, group: GroupId, entries: &[Entry]) {
        if let Some(tracer) = self.tracer.as_mut() {
            tracer.applied(id, group, entries);
        }
        let term_at = |index: u64| {
            entries
                .iter()
                .find(|e| e.index == index)
                .map_or(0, |e| e.term)
        };
        for entry in entries {
            self.obs.trace(
                id,
                TraceItem {
                    group,
                    index: entry.index,
                    term: entry.term,
                    digest: check::digest(&entry.data),
                },
                &entry.data,
            );
        }
        let committed: Vec<Committed> = entries
            .iter()
            .map(|e| Committed {
                index: e.index,
                term: e.term,
                data: &e.data,
            })
            .collect();
        if group == GroupId::CONTROL {
            let result = self
                .nodes
                .get_mut(&id)
                .expect("node")
                .control
                .apply(&committed);
            match result {
                Ok(outcomes) => {
                    for (index, pid, outcome) in outcomes {
                        let at = (group, index, term_at(index));
                        self.on_control_outcome(id, pid, outcome, at);
                    }
                }
                Err(e) => self.degrade(id, format!("control plane apply failed: {e}")),
            }
            return;
        }
        let node = self.nodes.get_mut(&id).expect("node");
        let Some(replica) = node.replicas.get_mut(&group) else {
            self.obs
                .fail(format!("node {id} has entries for {group} but no replica"));
            return;
        };
        match replica.apply(&committed) {
            Ok(outcomes) => {
                for (index, pid, outcome) in outcomes {
                    if let Some(pid) = pid {
                        if !matches!(outcome, Outcome::Duplicate(_)) {
                            self.effect_index.entry(pid).or_insert(index);
                        }
                        let at = (group, index, term_at(index));
                        self.ack(id, pid, verdict_of(&outcome), at);
                    }
                }
            }
            Err(e) => self.degrade(id, format!("{group} apply failed: {e}")),
        }
    }

    fn on_control_outcome(
        &mut self,
        id: NodeId,
        pid: Option<ProposalId>,
        outcome: ControlOutcome,
        at: (GroupId, u64, u64),
    ) {
        let created = match &outcome {
            ControlOutcome::CatalogCreated { group, .. } => Some(*group),
            ControlOutcome::Duplicate(inner) => match inner.as_ref() {
                ControlOutcome::CatalogCreated { group, .. } => Some(*group),
                _ => None,
            },
            _ => None,
        };
        if let Some(group) = created {
            self.ensure_catalog(id, GroupId(group));
        }
        if let Some(pid) = pid {
            // A retry is answered with the first attempt's outcome, as the
            // server's sessions are.
            let first = match outcome {
                ControlOutcome::Duplicate(first) => *first,
                other => other,
            };
            let verdict = match first {
                ControlOutcome::Failed { message, .. } => Verdict::Failed(message),
                _ => Verdict::Applied,
            };
            self.ack(id, pid, verdict, at);
        }
    }

    /// Creates the catalog's replica and Raft group on this node (idempotent).
    /// As the server after a cp-metadata install: opens every catalog the
    /// registry lists (new ones came with the snapshot).
    fn ensure_listed_catalogs(&mut self, id: NodeId) {
        let listed: Vec<u64> = self.nodes[&id]
            .control
            .catalogs()
            .values()
            .copied()
            .collect();
        for catalog in listed {
            self.ensure_catalog(id, GroupId(catalog));
        }
    }

    fn ensure_catalog(&mut self, id: NodeId, group: GroupId) {
        if let Some(tracer) = self.tracer.as_mut() {
            let name = catalog_name(&self.nodes[&id].control, group);
            if name.is_some() && tracer.unresolved_catalog() == name.as_deref() {
                let down: Vec<NodeId> = self
                    .nodes
                    .values()
                    .filter(|n| n.running.is_none())
                    .map(|n| n.id)
                    .collect();
                tracer.resolve(group, &down);
            }
        }
        let n = self.config.nodes;
        let skip_dedup = self.config.injection.skip_dedup;
        let skip_conflict_check = self.config.injection.skip_conflict_check;
        let node = self.nodes.get_mut(&id).expect("node");
        if !node.replicas.contains_key(&group) {
            let opened = match catalog_name(&node.control, group) {
                Some(name) => open_replica(&catalog_path(&node.dir, &name))
                    .and_then(|(mut replica, reader)| {
                        // As the server: the file records its group.
                        replica.bind_group(group.0).map_err(|e| e.to_string())?;
                        Ok((replica, reader))
                    })
                    .map_err(|e| format!("cannot open catalog {name}: {e}")),
                None => Err(format!("{group} is not in the catalog registry")),
            };
            match opened {
                Ok((mut replica, reader)) => {
                    replica.set_dedup(!skip_dedup);
                    replica.set_conflict_check(!skip_conflict_check);
                    node.replicas.insert(group, replica);
                    node.readers.insert(group, reader);
                }
                Err(reason) => {
                    self.degrade(id, reason);
                    return;
                }
            }
        }
        if let Some(running) = node.running.as_mut() {
            if let Err(e) = running.raft.create_group(group, &voters(n)) {
                let reason = format!("cannot create {group}: {e}");
                self.degrade(id, reason);
            }
        }
    }

    fn degrade(&mut self, id: NodeId, reason: String) {
        self.note(format!("node {id} DEGRADED: {reason}"));
        let node = self.nodes.get_mut(&id).expect("node");
        node.running = None;
        node.degraded = Some(reason.clone());
        node.incarnation += 1;
        node.pending_installs.clear();
        self.obs.fail(format!("node {id} degraded: {reason}"));
    }

    /// The node refused to start because its disk was damaged on purpose:
    /// the expected outcome. It stays down for the rest of the run, and
    /// what it looked like now is compared at the end (it must not change).
    fn fail_closed(&mut self, id: NodeId, reason: String) {
        self.note(format!("node {id} FAILS CLOSED: {reason}"));
        self.faults.fail_closed_nodes += 1;
        let now = self.now;
        let node = self.nodes.get_mut(&id).expect("node");
        node.running = None;
        node.degraded = Some(reason);
        node.incarnation += 1;
        node.pending_installs.clear();
        node.leader_read_contexts.clear();
        let mut applied = vec![(GroupId::CONTROL, node.control.applied_index())];
        applied.extend(node.replicas.iter().map(|(g, r)| (*g, r.applied_index())));
        node.fail_closed = Some(FailClosed {
            at: now,
            applied,
            disk_bytes: node.disk.bytes(),
        });
        for c in 0..self.clients.len() {
            if self.clients[c].node == id {
                self.reconnect(c);
            }
        }
    }

    /// BUGGIFY at restart: maybe damage the crashed node's disk. Returns
    /// what was done; the log must then refuse to open.
    fn damage_disk(&mut self, id: NodeId) -> Option<String> {
        let lost = self
            .nodes
            .values()
            .filter(|n| n.fail_closed.is_some())
            .count();
        if lost >= LOST_NODES_MAX {
            return None;
        }
        let disk = self.nodes[&id].disk.clone();
        if disk.bytes() == 0 {
            return None;
        }
        if self.read_error_per_mille > 0 && self.rng.gen_range(0..1000) < self.read_error_per_mille
        {
            disk.fail_next_read();
            self.faults.disk_read_errors += 1;
            return Some("an I/O error on the first log read".into());
        }
        if self.bit_flip_per_mille > 0 && self.rng.gen_range(0..1000) < self.bit_flip_per_mille {
            let at = disk.flip_synced_bit(&mut self.rng)?;
            self.faults.bit_flips += 1;
            return Some(format!("a flipped bit in synced log data ({at})"));
        }
        None
    }

    fn start_node(&mut self, id: NodeId, damage: Option<String>) {
        if !self.recover_interrupted_install(id) {
            return;
        }
        let node = self.nodes.get_mut(&id).expect("node");
        let (wal, recovered) = match Wal::open(node.disk.clone(), DEFAULT_SEGMENT_BYTES) {
            Ok(opened) => opened,
            Err(e) => {
                let reason = format!("log recovery refused: {e}");
                match damage {
                    Some(damage) => self.fail_closed(id, format!("after {damage}: {reason}")),
                    None => self.degrade(id, reason),
                }
                return;
            }
        };
        if let Some(damage) = damage {
            self.obs.fail(format!(
                "FailClosed: node {id} recovered its log after {damage} (torn tail cut: {:?})",
                recovered.torn_tail
            ));
            return;
        }
        let torn = recovered.torn_tail.clone();
        let mut applied = BTreeMap::new();
        let control = &node.control;
        applied.insert(
            GroupId::CONTROL,
            (control.applied_index(), control.applied_term()),
        );
        for (group, replica) in &node.replicas {
            applied.insert(*group, (replica.applied_index(), replica.applied_term()));
        }
        // The first start has nothing to recover; later ones follow a crash.
        if let Some(tracer) = self.tracer.as_mut().filter(|_| node.incarnation > 0) {
            if let Some(group) = tracer.group() {
                let index = applied.get(&group).map_or(0, |(index, _)| *index);
                tracer.recovered(id, &recovered.records, index);
            }
        }
        let mut raft =
            match MultiRaft::recover(node.raft_config.clone(), recovered.records, &applied) {
                Ok(raft) => raft,
                Err(e) => {
                    let reason = format!("raft recovery refused: {e}");
                    self.degrade(id, reason);
                    return;
                }
            };
        let n = self.config.nodes;
        let create = raft.create_group(GroupId::CONTROL, &voters(n));
        // Catalogs the control plane already knows, even if their creation
        // record did not reach the log before a crash.
        let known: Vec<u64> = node.control.catalogs().values().copied().collect();
        let mut result = create;
        for group in known {
            if result.is_ok() {
                result = raft.create_group(GroupId(group), &voters(n));
            }
        }
        if let Err(e) = result {
            self.degrade(id, format!("cannot create groups: {e}"));
            return;
        }
        node.running = Some(Running { raft, wal });
        if let Some(t) = torn {
            self.note(format!(
                "node {id} truncated a torn log tail of {} bytes",
                t.dropped_bytes
            ));
        }
    }

    fn restart(&mut self, id: NodeId) {
        if self.nodes[&id].running.is_some() || self.nodes[&id].degraded.is_some() {
            return;
        }
        self.note(format!("node {id} restarts"));
        let damage = self.damage_disk(id);
        self.start_node(id, damage);
        self.drive(id);
    }

    fn crash(&mut self, id: NodeId) {
        let torn = self.torn_writes;
        let node = self.nodes.get_mut(&id).expect("node");
        if node.running.is_none() {
            return;
        }
        node.running = None;
        node.incarnation += 1;
        node.leader_read_contexts.clear();
        node.pending_installs.clear();
        node.disk.crash(&mut self.rng, torn);
        if let Some(tracer) = self.tracer.as_mut() {
            tracer.crashed(id);
        }
        self.note(format!("node {id} crashes (torn writes: {torn})"));
        // Sessions on the crashed node die; their pending writes are unknown.
        for c in 0..self.clients.len() {
            if self.clients[c].node == id {
                self.reconnect(c);
            }
        }
    }

    fn inject_fault(&mut self) {
        let n = self.config.nodes as NodeId;
        let all = voters(self.config.nodes);
        let down = self.nodes.values().filter(|n| n.running.is_none()).count();
        match self.rng.gen_range(0..7) {
            0 | 1 if down < self.config.nodes / 2 => {
                let victim = if self.rng.gen_bool(0.5) {
                    self.leader_of(GroupId::CONTROL)
                        .unwrap_or_else(|| self.random_node())
                } else {
                    self.random_node()
                };
                self.crash(victim);
                let after = self.rng.gen_range(100_000..2_000_000);
                self.schedule(after, Event::Restart(victim));
            }
            2 => {
                let size = self.rng.gen_range(1..=(n as usize - 1) / 2);
                let mut side = Vec::new();
                while side.len() < size {
                    let pick = self.random_node();
                    if !side.contains(&pick) {
                        side.push(pick);
                    }
                }
                self.note(format!("partition {side:?} from the rest"));
                self.net.partition(&side, &all);
            }
            3 => {
                if let Some(leader) = self.leader_of(GroupId::CONTROL) {
                    self.note(format!("isolate leader {leader}"));
                    self.net.partition(&[leader], &all);
                }
            }
            4 => {
                let a = self.random_node();
                let b = self.random_node();
                if a != b {
                    self.note(format!("drop link {a}->{b} (asymmetric)"));
                    self.net.block(a, b);
                }
            }
            5 => {
                let victim = self.random_node();
                let pause = self.rng.gen_range(50_000..1_500_000);
                self.note(format!("pause node {victim} for {}ms", pause / 1000));
                let node = self.nodes.get_mut(&victim).expect("node");
                node.paused_until = self.now + pause;
            }
            _ => {
                self.note("heal network".into());
                self.net.heal();
            }
        }
    }

    fn leader_of(&self, group: GroupId) -> Option<NodeId> {
        self.nodes
            .values()
            .filter_map(|n| n.running.as_ref())
            .find(|r| r.raft.is_leader(group))
            .map(|r| r.raft.id())
    }

    fn heal(&mut self) {
        self.note("chaos ends: heal network, restart every node".into());
        self.chaos = false;
        self.healed_at = Some(self.now);
        self.net.heal();
        self.net.config.drop_per_mille = 0;
        self.net.config.dup_per_mille = 0;
        for id in voters(self.config.nodes) {
            self.nodes.get_mut(&id).expect("node").paused_until = 0;
            self.restart(id);
        }
    }

    fn reconnect(&mut self, c: usize) {
        if let Some(waiting) = self.clients[c].waiting.take() {
            let pid = ProposalId {
                client: self.clients[c].id,
                seq: waiting.seq,
            };
            self.history.verdicts.insert(pid, Verdict::Unknown);
            if matches!(waiting.op, Op::CreateCatalog(_) | Op::CreateTable { .. }) {
                self.setup.push_front(waiting.op);
            }
        }
        if self.clients[c].reading.take().is_some() {
            self.faults.reads_unknown += 1;
        }
        // A new session connects to a node that has not failed closed.
        let node = loop {
            let node = self.random_node();
            if self.nodes[&node].fail_closed.is_none() {
                break node;
            }
        };
        let client = &mut self.clients[c];
        client.id = self.next_client_id;
        self.next_client_id += 1;
        client.seq = 0;
        client.node = node;
        client.own_write_index.clear();
    }

    fn client_step(&mut self, c: usize) {
        let think = self.rng.gen_range(20_000..200_000);
        if self.clients[c].reading.is_some() {
            self.retry_read(c);
            return;
        }
        if self.clients[c].waiting.is_none() {
            if !self.chaos
                && self.setup.is_empty()
                && self
                    .healed_at
                    .is_some_and(|h| self.now > h + POST_HEAL_WRITES_US)
            {
                // Settling: stop issuing new work, let the cluster converge.
                // Setup a dead session handed back still has to finish.
                return;
            }
            let op = if let Some(op) = self.setup.pop_front() {
                op
            } else if self.ready_catalogs.len() == 2
                && self.rng.gen_range(0..10) < READS_PER_TEN_STEPS
            {
                self.start_read(c);
                return;
            } else if self.ready_catalogs.len() == 2 {
                let client = &self.clients[c];
                workload::next_op(
                    &mut self.rng,
                    client.id,
                    client.seq + 1,
                    &self.ready_catalogs,
                    &self.used_ids,
                )
            } else {
                self.wake_client(c, think);
                return;
            };
            let op = self.read_snapshot(self.clients[c].node, op);
            let client = &mut self.clients[c];
            client.seq += 1;
            let pid = ProposalId {
                client: client.id,
                seq: client.seq,
            };
            self.history.ops.insert(pid, op.clone());
            client.waiting = Some(Waiting {
                seq: client.seq,
                op,
                deadline: 0,
                attempts: 0,
            });
        }
        let client = &self.clients[c];
        let waiting = client.waiting.as_ref().expect("waiting");
        if waiting.deadline > self.now {
            let wait = waiting.deadline - self.now;
            self.wake_client(c, wait);
            return;
        }
        let pid = ProposalId {
            client: client.id,
            seq: waiting.seq,
        };
        let node_id = client.node;
        let op = waiting.op.clone();
        let node = self.nodes.get_mut(&node_id).expect("node");
        let group = match op.catalog() {
            None => Some(GroupId::CONTROL),
            Some(name) => node.control.catalogs().get(name).map(|g| GroupId(*g)),
        };
        let proposed = match (node.running.as_mut(), group) {
            (Some(running), Some(group)) => {
                let data = command::encode(&op.envelope(pid));
                running.raft.propose(group, data).is_ok()
            }
            _ => false,
        };
        let retry_in = if proposed {
            self.client_timeout_us
        } else {
            think
        };
        let waiting = self.clients[c].waiting.as_mut().expect("waiting");
        waiting.attempts += 1;
        waiting.deadline = self.now + retry_in;
        if proposed {
            self.note(format!(
                "client {} proposes {:?} via node {node_id}",
                pid.client, pid.seq
            ));
            self.drive(node_id);
        }
        let node_down = self.nodes[&node_id].running.is_none();
        if node_down {
            self.reconnect(c);
        }
        self.wake_client(c, retry_in);
    }

    /// A read-modify-write reads its counter on the client's node, as a
    /// session's transaction does: value and applied index from one snapshot.
    /// A node that cannot serve it leaves the snapshot at 0 (sure to abort).
    fn read_snapshot(&self, node: NodeId, mut op: Op) -> Op {
        let Op::ReadModifyWrite {
            catalog,
            k,
            snapshot,
            seen,
            ..
        } = &mut op
        else {
            return op;
        };
        let n = &self.nodes[&node];
        let reader = n
            .control
            .catalogs()
            .get(catalog.as_str())
            .and_then(|group| n.readers.get(&GroupId(*group)));
        if let (Some(reader), true) = (reader, n.running.is_some()) {
            let read = reader.query_row(
                &format!(
                    "SELECT ({}), (SELECT n FROM main.counters WHERE k = ?)",
                    duckraft_engine::replica::APPLIED_INDEX_SQL
                ),
                duckdb::params![*k],
                |row| Ok((row.get::<_, u64>(0)?, row.get::<_, Option<i64>>(1)?)),
            );
            if let Ok((index, Some(value))) = read {
                *snapshot = index;
                *seen = value;
            }
        }
        op
    }

    /// Answers the session waiting for `pid` on `node`, about the entry
    /// `at` (group, index, term) that decided it.
    fn ack(&mut self, node: NodeId, pid: ProposalId, verdict: Verdict, at: (GroupId, u64, u64)) {
        if self.nodes[&node].fail_closed.is_some() {
            self.obs.fail(format!(
                "FailClosed: node {node} failed closed but answered {pid:?}"
            ));
            return;
        }
        let Some(c) = self
            .clients
            .iter()
            .position(|c| c.id == pid.client && c.node == node)
        else {
            return;
        };
        let matches = self.clients[c]
            .waiting
            .as_ref()
            .is_some_and(|w| w.seq == pid.seq);
        if !matches {
            return;
        }
        let waiting = self.clients[c].waiting.take().expect("waiting");
        if let Some(tracer) = self.tracer.as_mut() {
            tracer.acked(node, at.0, at.1, at.2);
        }
        self.note(format!(
            "node {node} acks {}/{}: {verdict:?}",
            pid.client, pid.seq
        ));
        if verdict == Verdict::Applied {
            self.check_read_your_writes(node, pid, &waiting.op);
            self.advance_frontier(c, node, pid, &waiting.op);
            if let Op::CreateTable { catalog } = &waiting.op {
                self.ready_catalogs.push(catalog.clone());
                self.ready_catalogs.sort();
                self.ready_catalogs.dedup();
            }
            for row in waiting.op.rows() {
                self.used_ids.push(row.id);
            }
        } else if matches!(waiting.op, Op::CreateTable { .. }) {
            self.setup.push_front(waiting.op.clone());
        }
        // A failed CREATE DATABASE means an earlier attempt (whose session
        // died before hearing back) created it.
        self.history.verdicts.insert(pid, verdict);
        let think = self.rng.gen_range(20_000..200_000);
        self.wake_client(c, think);
    }

    /// A session told its write applied reads it back on its own node.
    fn check_read_your_writes(&mut self, node: NodeId, pid: ProposalId, op: &Op) {
        let (Some(catalog), false) = (op.catalog(), op.rows().is_empty()) else {
            return;
        };
        let n = &self.nodes[&node];
        let Some(group) = n.control.catalogs().get(catalog) else {
            return;
        };
        let seen: Result<i64, _> = n.readers[&GroupId(*group)].query_row(
            "SELECT count(*) FROM main.t WHERE client = ? AND seq = ?",
            duckdb::params![pid.client, pid.seq],
            |r| r.get(0),
        );
        let expected = op.rows().len() as i64;
        if seen.as_ref().ok() != Some(&expected) {
            self.obs.fail(format!(
                "ReadYourWrites: node {node} acknowledged {pid:?} in {catalog} but reads {seen:?} of its {expected} rows"
            ));
        }
    }

    /// Every node is up (but those that failed closed), no client is
    /// waiting, and all of them applied the same log.
    fn converged(&self) -> bool {
        if self.clients.iter().any(Client::busy)
            || !self.setup.is_empty()
            || self.member_cycle.is_some()
        {
            return false;
        }
        if self
            .healed_at
            .is_none_or(|h| self.now <= h + POST_HEAL_WRITES_US)
        {
            return false;
        }
        let mut applied: Option<Vec<(GroupId, u64)>> = None;
        for node in self.live_nodes() {
            let Some(running) = node.running.as_ref() else {
                return false;
            };
            let mut mine: Vec<(GroupId, u64)> = running
                .raft
                .status()
                .iter()
                .map(|s| (s.group, s.handed_out))
                .collect();
            mine.sort();
            let commits_done = running
                .raft
                .status()
                .iter()
                .all(|s| s.handed_out == s.commit);
            if !commits_done {
                return false;
            }
            match &applied {
                None => applied = Some(mine),
                Some(a) if *a != mine => return false,
                _ => {}
            }
        }
        true
    }

    fn finish(mut self) -> SeedReport {
        // Sessions still waiting at the end never heard back.
        for c in 0..self.clients.len() {
            if self.clients[c].reading.take().is_some() {
                self.faults.reads_unknown += 1;
            }
            if let Some(w) = self.clients[c].waiting.take() {
                let pid = ProposalId {
                    client: self.clients[c].id,
                    seq: w.seq,
                };
                self.history.verdicts.insert(pid, Verdict::Unknown);
            }
        }
        let converged = self.converged_at_end();
        let mut failure = self.obs.failure.clone();
        if failure.is_none() {
            if let Err(e) = converged {
                failure = Some(e);
            }
        }
        let mut state_hash = String::new();
        if failure.is_none() {
            match self.check_state() {
                Ok(hash) => state_hash = hash,
                Err(e) => failure = Some(e),
            }
        }
        let trace_hash = self.obs.trace_hash();
        SeedReport {
            seed: self.config.seed,
            passed: failure.is_none(),
            failure,
            virtual_us: self.now,
            committed_entries: self.obs.committed_entries(),
            acked_writes: self
                .history
                .verdicts
                .values()
                .filter(|v| **v == Verdict::Applied)
                .count() as u64,
            state_hash,
            trace_hash,
            faults: self.faults,
            snapshot_knobs: self.snapshot_knobs,
            event_log: self.log.iter().cloned().collect(),
            wall_ms: 0,
            trace: self.tracer.take().map(Tracer::into_text),
        }
    }

    /// The nodes that did not fail closed: a majority, which must converge.
    fn live_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values().filter(|n| n.fail_closed.is_none())
    }

    fn converged_at_end(&self) -> Result<(), String> {
        if self.chaos {
            return Ok(());
        }
        if !self.converged() {
            let mut detail = Vec::new();
            for node in self.nodes.values() {
                match node.running.as_ref() {
                    None if node.fail_closed.is_some() => {
                        detail.push(format!("node {} failed closed", node.id))
                    }
                    None => detail.push(format!("node {} down", node.id)),
                    Some(r) => {
                        for s in r.raft.status() {
                            detail.push(format!(
                                "node {} {}: {} term {} leader {} last {} commit {} applied {} voters {:?} learners {:?} installing {}",
                                node.id,
                                s.group,
                                s.role,
                                s.term,
                                s.leader,
                                s.last_index,
                                s.commit,
                                s.handed_out,
                                s.conf.voters,
                                s.conf.learners,
                                s.installing_snapshot
                            ));
                        }
                    }
                }
            }
            let waiting = self.clients.iter().filter(|c| c.busy()).count();
            return Err(format!(
                "AppliedCatchesUp: no convergence within {}s of healing ({waiting} clients \
                 waiting, {} setup operations not done): {}",
                self.config.settle_us / 1_000_000,
                self.setup.len(),
                detail.join("; ")
            ));
        }
        Ok(())
    }

    /// The state checkers: equal hashes, acknowledged writes exactly once,
    /// no effect from failures, DuckDB equal to the oracle, reads equal to
    /// the log's prefix they claim, and nodes that failed closed untouched.
    fn check_state(&self) -> Result<String, String> {
        self.obs.check_traces()?;
        self.obs.check_read_index_claims()?;
        let mut hashes = BTreeMap::new();
        for node in self.live_nodes() {
            let mut all = String::new();
            for (group, replica) in &node.replicas {
                let hash = replica
                    .state_hash()
                    .map_err(|e| format!("node {} {group}: state hash failed: {e}", node.id))?;
                all.push_str(&format!("{group}={hash};"));
            }
            hashes.insert(node.id, all);
        }
        let (first_id, first) = hashes
            .iter()
            .next()
            .map(|(id, hash)| (*id, hash.clone()))
            .unwrap_or_default();
        for (id, hash) in &hashes {
            if *hash != first {
                return Err(format!(
                    "StateMachinesAgree: state hashes differ at equal applied indexes: node {first_id} {first} vs node {id} {hash}"
                ));
            }
        }
        self.check_failed_closed_nodes()?;
        let mut models = BTreeMap::new();
        for node in self.live_nodes() {
            for (name, group) in node.control.catalogs() {
                let group = GroupId(*group);
                if let std::collections::btree_map::Entry::Vacant(slot) = models.entry(group) {
                    slot.insert(check::oracle(&self.obs, group, &self.history, u64::MAX)?);
                }
                let model = &models[&group];
                let actual = check::read_tables(&node.readers[&group])
                    .map_err(|e| format!("node {} cannot read {name}: {e}", node.id))?;
                if let Some(difference) = check::difference(&actual, &model.tables()) {
                    return Err(format!(
                        "ExactlyOnce: node {} catalog {name}: DuckDB differs from the oracle: {difference}",
                        node.id
                    ));
                }
                check::acknowledged_exactly_once(name, &actual.rows, &self.history)?;
                if let Some(violation) = &model.serializable {
                    return Err(violation.clone());
                }
                check::verdicts_agree(name, &model.outcomes, &self.history, |op| {
                    op.catalog() == Some(name.as_str())
                })?;
            }
        }
        for group in models.keys() {
            check::judge_reads(&self.obs, *group, &self.history)?;
        }
        self.check_users()?;
        Ok(sha_hex(first.as_bytes()))
    }

    /// The control plane's user table is identical on every live node and
    /// equals the model of the committed `cp-metadata` log; every user
    /// operation's client heard what the log did with it.
    fn check_users(&self) -> Result<(), String> {
        let model = check::control_oracle(&self.obs, &self.history)?;
        for node in self.live_nodes() {
            let users = read_users(&node.control_reader)
                .map_err(|e| format!("node {} cannot read its user table: {e}", node.id))?;
            if users != model.users {
                return Err(format!(
                    "ExactlyOnce: node {} user table {users:?}, but the committed cp-metadata log gives {:?}",
                    node.id, model.users
                ));
            }
        }
        check::verdicts_agree("cp-metadata", &model.outcomes, &self.history, |op| {
            op.catalog().is_none()
        })
    }

    /// FailClosed: a node that refused to start never took part again: its
    /// log did not grow and it applied nothing more. What it holds is still
    /// a prefix of the committed log (AppliedIndexAtomic).
    fn check_failed_closed_nodes(&self) -> Result<(), String> {
        for node in self.nodes.values() {
            let Some(gone) = &node.fail_closed else {
                continue;
            };
            if node.running.is_some() || node.disk.bytes() != gone.disk_bytes {
                return Err(format!(
                    "FailClosed: node {} failed closed at {:.3}ms but ran again (log {} bytes then, {} now)",
                    node.id,
                    gone.at as f64 / 1000.0,
                    gone.disk_bytes,
                    node.disk.bytes()
                ));
            }
            let mut applied = vec![(GroupId::CONTROL, node.control.applied_index())];
            applied.extend(node.replicas.iter().map(|(g, r)| (*g, r.applied_index())));
            if applied != gone.applied {
                return Err(format!(
                    "FailClosed: node {} failed closed with applied indexes {:?} but now has {applied:?}",
                    node.id, gone.applied
                ));
            }
            for (group, index) in &gone.applied {
                let Some(reader) = node.readers.get(group) else {
                    continue;
                };
                let actual = check::read_tables(reader)
                    .map_err(|e| format!("node {} cannot read {group}: {e}", node.id))?;
                let expected = check::oracle(&self.obs, *group, &self.history, *index)?.tables();
                if let Some(difference) = check::difference(&actual, &expected) {
                    return Err(format!(
                        "AppliedIndexAtomic: node {} (failed closed) {group} at applied index {index} differs from the log's prefix: {difference}",
                        node.id
                    ));
                }
            }
        }
        Ok(())
    }
}

fn read_users(conn: &duckdb::Connection) -> Result<BTreeMap<String, String>, duckdb::Error> {
    conn.prepare("SELECT name, verifier FROM __duckraft.cp_users ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// What the checkers look for in a batch of Raft messages.
enum Seen {
    /// A real (not pre-) vote request.
    VoteRequested,
    VoteGranted {
        group: GroupId,
        term: u64,
    },
    /// A leader's answer to a follower's ReadIndex request.
    ReadIndexAnswered {
        group: GroupId,
        term: u64,
        index: u64,
    },
}

fn inspect(batch: &[u8]) -> Vec<Seen> {
    use duckraft_raft::MessageType::{MsgReadIndexResp, MsgRequestVote, MsgRequestVoteResponse};
    let Ok(messages) = duckraft_raft::codec::decode_batch(batch) else {
        return Vec::new();
    };
    messages
        .iter()
        .filter_map(|(group, m)| match m.get_msg_type() {
            MsgRequestVote => Some(Seen::VoteRequested),
            MsgRequestVoteResponse if !m.reject => Some(Seen::VoteGranted {
                group: *group,
                term: m.term,
            }),
            MsgReadIndexResp => Some(Seen::ReadIndexAnswered {
                group: *group,
                term: m.term,
                index: m.index,
            }),
            _ => None,
        })
        .collect()
}

fn verdict_of(outcome: &Outcome) -> Verdict {
    match outcome {
        Outcome::Applied { .. } | Outcome::Noop => Verdict::Applied,
        Outcome::Failed { message, .. } => Verdict::Failed(message.clone()),
        Outcome::Duplicate(inner) => verdict_of(inner),
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
