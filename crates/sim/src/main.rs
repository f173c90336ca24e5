//! `duckraft-sim`: run seeded deterministic simulations of a duckraft cluster.

use std::process::ExitCode;

use clap::Parser;
use duckraft_sim::{run_seed, Injection, SimConfig, TraceConfig, INJECTIONS};

#[derive(Parser)]
#[command(version, about = "Deterministic simulation of a duckraft cluster")]
struct Args {
    /// Run exactly this seed.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run this many consecutive seeds.
    #[arg(long)]
    seeds: Option<u64>,
    /// First seed of a sweep.
    #[arg(long, default_value_t = 1)]
    start: u64,
    /// Cluster size.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(3..=5))]
    nodes: u8,
    /// Turn on a deliberate bug (see --list-injections).
    #[arg(long)]
    inject: Option<String>,
    #[arg(long)]
    list_injections: bool,
    /// Run every seed twice and require identical traces and state hashes.
    #[arg(long)]
    twice: bool,
    /// Virtual seconds of faults before healing.
    #[arg(long, default_value_t = 8)]
    chaos_secs: u64,
    /// Print the event log of passing seeds too.
    #[arg(long)]
    verbose: bool,
    /// Seeds run in parallel, one thread each (a seed itself is single-threaded).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Write an NDJSON protocol trace of one group to this file (with
    /// --seed only), for TLA+ trace validation (spec/tla/check-traces.sh).
    #[arg(long, requires = "seed")]
    trace_out: Option<std::path::PathBuf>,
    /// The group to trace: cp-metadata or a catalog's name (alpha, beta).
    #[arg(long, default_value = TraceConfig::CONTROL)]
    trace_group: String,
    /// Stop the trace after this many events (the run itself goes on).
    #[arg(long, default_value_t = 100_000)]
    trace_events_max: usize,
    /// Cycle members out of every group and back in alongside the faults.
    #[arg(long)]
    membership: bool,
}

/// Runs one seed (twice when asked) and judges replay equality.
fn judge(args: &Args, injection: Injection, seed: u64) -> duckraft_sim::SeedReport {
    let mut config = SimConfig::new(seed, args.nodes as usize);
    config.injection = injection;
    config.chaos_us = args.chaos_secs * 1_000_000;
    config.membership_changes = args.membership;
    config.trace = args.trace_out.as_ref().map(|_| TraceConfig {
        group: args.trace_group.clone(),
        events_max: args.trace_events_max,
    });
    let mut report = run_seed(&config);
    if args.twice && report.passed {
        let again = run_seed(&config);
        if again.trace_hash != report.trace_hash
            || again.state_hash != report.state_hash
            || again.trace != report.trace
        {
            report.passed = false;
            report.failure = Some(format!(
                "nondeterminism: replay gave trace {} state {}, first run trace {} state {}",
                again.trace_hash, again.state_hash, report.trace_hash, report.state_hash
            ));
        }
    }
    report
}

fn report_seed(args: &Args, seed: u64, report: &duckraft_sim::SeedReport) {
    println!("{}", report.json_line());
    if let (Some(path), Some(trace)) = (&args.trace_out, &report.trace) {
        if let Err(e) = std::fs::write(path, trace) {
            eprintln!("cannot write the trace to {}: {e}", path.display());
            std::process::exit(2);
        }
        eprintln!(
            "seed {seed}: {} trace events of {} written to {}",
            trace.lines().count(),
            args.trace_group,
            path.display()
        );
    }
    if !report.passed || args.verbose {
        let inject = args
            .inject
            .as_deref()
            .map(|i| format!(" --inject {i}"))
            .unwrap_or_default()
            + if args.membership { " --membership" } else { "" };
        eprintln!("seed {seed}: snapshot knobs {:?}", report.snapshot_knobs);
        eprintln!(
            "seed {seed}: {}\nrepro: duckraft-sim --seed {seed} --nodes {}{inject} --chaos-secs {} --verbose\nlast events:",
            report.failure.as_deref().unwrap_or("passed"),
            args.nodes,
            args.chaos_secs
        );
        let tail = report.event_log.len().saturating_sub(80);
        for line in &report.event_log[tail..] {
            eprintln!("  {line}");
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_injections {
        for (name, what) in INJECTIONS {
            println!("{name}\t{what}");
        }
        return ExitCode::SUCCESS;
    }
    if args.nodes == 4 {
        eprintln!("--nodes must be 3 or 5");
        return ExitCode::from(2);
    }
    let injection = match args.inject.as_deref() {
        None => Injection::default(),
        Some(name) => match Injection::parse(name) {
            Some(i) => i,
            None => {
                eprintln!("unknown injection {name:?}; see --list-injections");
                return ExitCode::from(2);
            }
        },
    };
    let seeds: Vec<u64> = match (args.seed, args.seeds) {
        (Some(seed), _) => vec![seed],
        (None, Some(n)) => (args.start..args.start + n).collect(),
        (None, None) => vec![args.start],
    };
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let totals = std::sync::Mutex::new((0u64, 0u64, 0u64, duckraft_sim::FaultCounts::default()));
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&seed) = seeds.get(i) else {
                    return;
                };
                let report = judge(&args, injection, seed);
                let mut totals = totals.lock().expect("no worker panicked holding the lock");
                report_seed(&args, seed, &report);
                totals.2 += report.virtual_us;
                totals.3.add(&report.faults);
                if report.passed {
                    totals.0 += 1;
                } else {
                    totals.1 += 1;
                }
            });
        }
    });
    let (passed, failed, virtual_us, faults) = totals.into_inner().expect("workers finished");
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "{} seeds in {wall:.1}s wall ({:.1} seeds/min, virtual/wall {:.1}x)",
        passed + failed,
        (passed + failed) as f64 / wall * 60.0,
        virtual_us as f64 / 1e6 / wall
    );
    eprintln!(
        "snapshots: {} exported, {} installed, {} corrupted in transit, {} refused, \
         {:?} installs interrupted by a crash (after staging, closing, replacing); \
         {} log rewrites",
        faults.snapshots_exported,
        faults.snapshots_installed,
        faults.snapshots_corrupted,
        faults.snapshots_refused,
        faults.installs_interrupted,
        faults.log_rewrites
    );
    eprintln!(
        "reads: {} linearizable, {} session, {} local, {} unknown; disk faults at restart: \
         {} read errors, {} bit flips, {} nodes failed closed",
        faults.linearizable_reads,
        faults.session_reads,
        faults.local_reads,
        faults.reads_unknown,
        faults.disk_read_errors,
        faults.bit_flips,
        faults.fail_closed_nodes
    );
    if args.membership {
        eprintln!(
            "membership: {:?} changes proposed (removals, learners added, promotions), {} members cycled out and back",
            faults.member_changes, faults.member_cycles
        );
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
