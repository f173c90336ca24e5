//! duckraft's deterministic simulator.
//!
//! A whole cluster runs in one thread on virtual time, driven by one seeded
//! PRNG. Each node is the production [`MultiRaft`] over the production
//! [`Wal`], persisting to a crash-consistent [`SimDisk`], and applying to
//! real DuckDB through the production [`Replica`] and [`ControlPlane`]. The
//! network, disks, clocks and processes fail on purpose; checkers then judge
//! the run. The same seed always replays the same run.

pub mod check;
pub mod cluster;
pub mod disk;
pub mod net;
pub mod trace;
pub mod workload;

use duckraft_raft::Bugs;

pub use trace::TraceConfig;

/// Deliberate bugs `--inject` can turn on, to prove the checkers bite.
pub const INJECTIONS: &[(&str, &str)] = &[
    (
        "ack-before-quorum-fsync",
        "acknowledge a write once the leader alone has it durable",
    ),
    (
        "apply-before-commit",
        "apply entries as soon as they are locally durable",
    ),
    (
        "read-without-read-index",
        "serve linearizable reads from the node's applied state, without a ReadIndex round",
    ),
    (
        "snapshot-skip-verify",
        "acknowledge a leader's snapshot to Raft even when the engine's verification refused it",
    ),
    (
        "skip-proposal-dedup",
        "apply a retried proposal again instead of answering from the dedup table",
    ),
    (
        "skip-transaction-conflict-check",
        "apply a transaction even when a relation it read changed after its snapshot",
    ),
    (
        "vote-without-persisting-term",
        "answer votes before the term and vote are durable, and lose the vote on crash",
    ),
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injection {
    pub raft: Bugs,
    pub skip_dedup: bool,
    pub skip_conflict_check: bool,
    /// A session-side bug: the simulated sessions' linearizable reads skip
    /// `MultiRaft::read_index`, as if `Replication::read_barrier` returned at once.
    pub read_without_read_index: bool,
    /// A driver-side bug: a snapshot the engine's install refused is
    /// acknowledged with `MultiRaft::snapshot_installed` anyway.
    pub snapshot_skip_verify: bool,
}

impl Injection {
    pub fn parse(name: &str) -> Option<Injection> {
        let mut injection = Injection::default();
        match name {
            "ack-before-quorum-fsync" => injection.raft.ack_before_quorum_fsync = true,
            "apply-before-commit" => injection.raft.apply_before_commit = true,
            "read-without-read-index" => injection.read_without_read_index = true,
            "skip-proposal-dedup" => injection.skip_dedup = true,
            "snapshot-skip-verify" => injection.snapshot_skip_verify = true,
            "skip-transaction-conflict-check" => injection.skip_conflict_check = true,
            "vote-without-persisting-term" => injection.raft.vote_without_persisting = true,
            _ => return None,
        }
        Some(injection)
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub nodes: usize,
    pub injection: Injection,
    /// Virtual microseconds of faults before everything heals.
    pub chaos_us: u64,
    /// Virtual microseconds allowed after healing for the cluster to converge.
    pub settle_us: u64,
    /// Record an NDJSON protocol trace of one group (see [`crate::trace`]).
    pub trace: Option<TraceConfig>,
    /// Cycle members out of every group and back in (remove, then add as a
    /// learner and promote) alongside the other faults. Off by default, so
    /// the draws of existing seeds stay as they were.
    pub membership_changes: bool,
}

impl SimConfig {
    pub fn new(seed: u64, nodes: usize) -> SimConfig {
        SimConfig {
            seed,
            nodes,
            injection: Injection::default(),
            chaos_us: 8_000_000,
            settle_us: 20_000_000,
            trace: None,
            membership_changes: false,
        }
    }
}

/// How often the workload's reads and the on-demand disk faults happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub linearizable_reads: u64,
    pub session_reads: u64,
    pub local_reads: u64,
    /// Linearizable reads that gave up or whose session died first.
    pub reads_unknown: u64,
    /// Restarts whose log recovery met an injected I/O error.
    pub disk_read_errors: u64,
    /// Restarts after a bit of synced log data flipped.
    pub bit_flips: u64,
    /// Nodes that refused to start after one of those and stayed down.
    pub fail_closed_nodes: u64,
    /// Snapshots exported (for compaction or for a lagging peer).
    pub snapshots_exported: u64,
    /// Leaders' snapshots installed through the engine's verified install.
    pub snapshots_installed: u64,
    /// Snapshots corrupted in transit (a flipped bit or another group's header).
    pub snapshots_corrupted: u64,
    /// Snapshots the install refused.
    pub snapshots_refused: u64,
    /// Installs a crash stopped midway (the node reopened the old or the new
    /// state), by the last step done: staged, closed, replaced.
    pub installs_interrupted: [u64; 3],
    /// `Wal::rewrite` runs.
    pub log_rewrites: u64,
    /// Raft configuration changes proposed: removals, learners added,
    /// promotions.
    pub member_changes: [u64; 3],
    /// Members cycled out of every group and back in as voters.
    pub member_cycles: u64,
}

impl FaultCounts {
    pub fn add(&mut self, other: &FaultCounts) {
        self.linearizable_reads += other.linearizable_reads;
        self.session_reads += other.session_reads;
        self.local_reads += other.local_reads;
        self.reads_unknown += other.reads_unknown;
        self.disk_read_errors += other.disk_read_errors;
        self.bit_flips += other.bit_flips;
        self.fail_closed_nodes += other.fail_closed_nodes;
        self.snapshots_exported += other.snapshots_exported;
        self.snapshots_installed += other.snapshots_installed;
        for (sum, more) in self
            .installs_interrupted
            .iter_mut()
            .zip(other.installs_interrupted)
        {
            *sum += more;
        }
        self.snapshots_corrupted += other.snapshots_corrupted;
        self.snapshots_refused += other.snapshots_refused;
        self.log_rewrites += other.log_rewrites;
        for (sum, more) in self.member_changes.iter_mut().zip(other.member_changes) {
            *sum += more;
        }
        self.member_cycles += other.member_cycles;
    }
}

/// The seed's snapshot knobs (drawn per seed; 0 means off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotKnobs {
    /// Snapshot and compact a group once its applied index is this many
    /// entries past its log's start.
    pub compaction_threshold: u64,
    /// Rewrite the Raft log once its segments hold at least this many bytes
    /// (and four times the live entries).
    pub log_rewrite_bytes: u64,
    /// Chance (per mille) that a leader's snapshot is corrupted in transit.
    pub corrupt_per_mille: u32,
    /// Chance (per mille) to crash a node right after it installed a
    /// snapshot, before the log's `Compacted` marker is durable.
    pub install_crash_per_mille: u32,
}

/// The outcome of one seed.
#[derive(Clone, Debug)]
pub struct SeedReport {
    pub seed: u64,
    pub passed: bool,
    pub failure: Option<String>,
    pub virtual_us: u64,
    pub committed_entries: u64,
    pub acked_writes: u64,
    pub state_hash: String,
    pub trace_hash: String,
    pub faults: FaultCounts,
    pub snapshot_knobs: SnapshotKnobs,
    /// The last events before the end of the run, for reading failures.
    pub event_log: Vec<String>,
    pub wall_ms: u64,
    /// The NDJSON protocol trace, when [`SimConfig::trace`] asked for one.
    pub trace: Option<String>,
}

impl SeedReport {
    pub fn json_line(&self) -> String {
        serde_json::json!({
            "seed": self.seed,
            "result": if self.passed { "pass" } else { "fail" },
            "failure": self.failure,
            "virtual_ms": self.virtual_us / 1000,
            "committed_entries": self.committed_entries,
            "acked_writes": self.acked_writes,
            "state_hash": self.state_hash,
            "trace_hash": self.trace_hash,
            "reads": [
                self.faults.linearizable_reads,
                self.faults.session_reads,
                self.faults.local_reads
            ],
            "reads_unknown": self.faults.reads_unknown,
            "disk_read_errors": self.faults.disk_read_errors,
            "bit_flips": self.faults.bit_flips,
            "fail_closed_nodes": self.faults.fail_closed_nodes,
            "snapshot_knobs": {
                "compaction_threshold": self.snapshot_knobs.compaction_threshold,
                "log_rewrite_bytes": self.snapshot_knobs.log_rewrite_bytes,
                "corrupt_per_mille": self.snapshot_knobs.corrupt_per_mille,
                "install_crash_per_mille": self.snapshot_knobs.install_crash_per_mille,
            },
            "snapshots": {
                "exported": self.faults.snapshots_exported,
                "installed": self.faults.snapshots_installed,
                "corrupted": self.faults.snapshots_corrupted,
                "refused": self.faults.snapshots_refused,
                "interrupted": self.faults.installs_interrupted,
                "log_rewrites": self.faults.log_rewrites,
            },
            "membership": {
                "changes": self.faults.member_changes,
                "cycles": self.faults.member_cycles,
            },
            "wall_ms": self.wall_ms,
        })
        .to_string()
    }
}

/// Runs one seed. A panic inside a node (raft-rs treats broken invariants as
/// fatal) fails the seed rather than the whole sweep.
pub fn run_seed(config: &SimConfig) -> SeedReport {
    let started = std::time::Instant::now();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cluster::Sim::new(config.clone()).run()
    }));
    let mut report = run.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        SeedReport {
            seed: config.seed,
            passed: false,
            failure: Some(format!("a node panicked: {message}")),
            virtual_us: 0,
            committed_entries: 0,
            acked_writes: 0,
            state_hash: String::new(),
            trace_hash: String::new(),
            faults: FaultCounts::default(),
            snapshot_knobs: SnapshotKnobs::default(),
            event_log: Vec::new(),
            wall_ms: 0,
            trace: None,
        }
    });
    report.wall_ms = started.elapsed().as_millis() as u64;
    report
}
