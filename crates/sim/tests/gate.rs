//! The simulator's own gate: seeds replay exactly, and every injected bug
//! is caught within a stated number of seeds.

use duckraft_sim::{run_seed, Injection, SimConfig, INJECTIONS};

fn config(seed: u64, injection: Injection) -> SimConfig {
    let mut config = SimConfig::new(seed, 3);
    config.injection = injection;
    config.chaos_us = 4_000_000;
    config
}

#[test]
fn a_seed_replays_byte_for_byte() {
    let first = run_seed(&config(3, Injection::default()));
    let second = run_seed(&config(3, Injection::default()));
    assert!(
        first.passed,
        "{:?}\n{}",
        first.failure,
        first.event_log.join("\n")
    );
    assert!(first.committed_entries > 20, "the workload did real work");
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.state_hash, second.state_hash);
    assert_eq!(first.virtual_us, second.virtual_us);
    assert_eq!(first.event_log, second.event_log);
}

/// Seeds needed to catch each bug, measured with 4 virtual seconds of chaos.
const BOUNDS: &[(&str, u64)] = &[
    ("ack-before-quorum-fsync", 10),
    ("apply-before-commit", 10),
    ("read-without-read-index", 10),
    ("skip-proposal-dedup", 20),
    ("skip-transaction-conflict-check", 10),
    ("snapshot-skip-verify", 20),
    ("vote-without-persisting-term", 90),
];

#[test]
fn every_injected_bug_is_caught_within_its_bound() {
    assert_eq!(BOUNDS.len(), INJECTIONS.len());
    for (name, bound) in BOUNDS {
        let injection = Injection::parse(name).expect("listed injection parses");
        let caught = (1..=*bound).find_map(|seed| {
            let report = run_seed(&config(seed, injection));
            (!report.passed).then(|| (seed, report.failure.unwrap_or_default()))
        });
        match caught {
            Some((seed, failure)) => eprintln!("{name}: caught by seed {seed}: {failure}"),
            None => panic!("{name} survived {bound} seeds: the gate does not bite"),
        }
    }
}

/// Seeds needed to see a crash after each step of a snapshot install,
/// measured with 4 virtual seconds of chaos.
const INTERRUPTED_INSTALL_BOUND: u64 = 40;

/// A crash inside a snapshot install, after any of its steps, is recovered:
/// the restarted node reopens the old state or the snapshot's, whole (the
/// checkers' `SnapshotInstallAtomic`), and the seed passes every checker.
#[test]
fn crashes_inside_snapshot_installs_recover_after_every_step() {
    let mut seen = [0; 3];
    for seed in 1..=INTERRUPTED_INSTALL_BOUND {
        let report = run_seed(&config(seed, Injection::default()));
        assert!(
            report.passed,
            "seed {seed}: {:?}\n{}",
            report.failure,
            report.event_log.join("\n")
        );
        for (count, more) in seen.iter_mut().zip(report.faults.installs_interrupted) {
            *count += more;
        }
        if seen.iter().all(|count| *count > 0) {
            eprintln!("crashes after staging, closing, replacing by seed {seed}: {seen:?}");
            return;
        }
    }
    panic!(
        "crashes after staging, closing, replacing within {INTERRUPTED_INSTALL_BOUND} seeds: {seen:?}"
    );
}

/// Seeds of the membership nemesis run by the gate, and the cycles they must
/// complete between them (measured: 40 in 30 seeds).
const MEMBERSHIP_SEEDS: u64 = 8;
const MEMBERSHIP_CYCLES_MIN: u64 = 6;

/// Members cycled out of every group and back in (removed, added as a
/// learner, promoted) alongside crashes, partitions, snapshots and crashes
/// inside installs: every checker stays green, a seed replays exactly, and
/// the cycles really complete.
#[test]
fn membership_changes_under_faults_keep_every_checker_green() {
    let mut cycles = 0;
    let mut changes = [0; 3];
    for seed in 1..=MEMBERSHIP_SEEDS {
        let mut config = config(seed, Injection::default());
        config.membership_changes = true;
        let report = run_seed(&config);
        assert!(
            report.passed,
            "seed {seed}: {:?}\n{}",
            report.failure,
            report.event_log.join("\n")
        );
        if seed == 1 {
            let again = run_seed(&config);
            assert_eq!(report.trace_hash, again.trace_hash);
            assert_eq!(report.state_hash, again.state_hash);
        }
        cycles += report.faults.member_cycles;
        for (sum, more) in changes.iter_mut().zip(report.faults.member_changes) {
            *sum += more;
        }
    }
    eprintln!("membership: {changes:?} changes (removals, learners, promotions), {cycles} cycles");
    assert!(
        cycles >= MEMBERSHIP_CYCLES_MIN,
        "only {cycles} membership cycles in {MEMBERSHIP_SEEDS} seeds"
    );
    assert!(changes.iter().all(|c| *c > 0), "{changes:?}");
}
