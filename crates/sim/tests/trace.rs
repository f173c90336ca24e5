//! Protocol traces for TLA+ trace validation (`spec/tla/check-traces.sh`)
//! depend on the seed alone: the same seed gives the same bytes.

use duckraft_sim::{run_seed, SimConfig, TraceConfig};

fn traced(seed: u64, group: &str) -> SimConfig {
    let mut config = SimConfig::new(seed, 3);
    config.chaos_us = 2_000_000;
    config.trace = Some(TraceConfig {
        group: group.into(),
        events_max: 100_000,
    });
    config
}

#[test]
fn a_seed_traces_byte_for_byte() {
    // Seed 8: crashes and restarts in the chaos window, compaction off.
    for group in [TraceConfig::CONTROL, "alpha"] {
        let first = run_seed(&traced(8, group));
        let second = run_seed(&traced(8, group));
        assert!(
            first.passed,
            "{:?}\n{}",
            first.failure,
            first.event_log.join("\n")
        );
        let trace = first.trace.expect("a trace was asked for");
        assert_eq!(
            Some(&trace),
            second.trace.as_ref(),
            "{group}: traces differ"
        );
        let header = format!(r#"{{"ev":"Config","nodes":3,"seed":8,"group":"{group}"}}"#);
        assert_eq!(trace.lines().next(), Some(header.as_str()));
        for kind in ["Append", "HardState", "Sync", "Role", "Apply", "Ack"] {
            let tag = format!(r#"{{"ev":"{kind}""#);
            assert!(
                trace.lines().any(|line| line.starts_with(&tag)),
                "{group}: no {kind} event in the trace"
            );
        }
    }
}

#[test]
fn a_trace_stops_at_its_event_limit() {
    let mut config = traced(8, TraceConfig::CONTROL);
    if let Some(trace) = config.trace.as_mut() {
        trace.events_max = 10;
    }
    let report = run_seed(&config);
    let trace = report.trace.expect("a trace was asked for");
    assert_eq!(
        trace.lines().count(),
        1 + 10,
        "the Config line and ten events"
    );
}
