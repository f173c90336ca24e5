//! The operator's HTTP endpoint: `/status` (JSON), `/hashes` (canonical
//! state hash per catalog), `/healthz`, `/readyz` and Prometheus `/metrics`.
//! `POST /drain` starts a drain. A tiny HTTP/1.1 responder: one request per
//! connection, bounded request size.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use duckraft_transport::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::replication::{NodeReport, Replication, FSYNC_BUCKETS};

const MAX_REQUEST_BYTES: usize = 8 * 1024;

pub async fn serve(
    listen: SocketAddr,
    replication: Replication,
    transport: Option<Transport>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the HTTP status listener on {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "status endpoint listening (/status /healthz /readyz /metrics)");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let replication = replication.clone();
            let transport = transport.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    Duration::from_secs(35),
                    respond(stream, replication, transport),
                )
                .await;
            });
        }
    });
    Ok(address)
}

async fn respond(
    mut stream: TcpStream,
    replication: Replication,
    transport: Option<Transport>,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || request.len() + n > MAX_REQUEST_BYTES {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let (code, content_type, body) = if method == "POST" && path == "/drain" {
        replication.drain();
        (200, "text/plain", "draining\n".to_string())
    } else if method != "GET" {
        (
            405,
            "text/plain",
            "only GET is supported (and POST /drain)\n".to_string(),
        )
    } else {
        // State hashes block on the replication thread.
        tokio::task::spawn_blocking(move || route(&path, &replication, &transport))
            .await
            .unwrap_or((503, "text/plain", "status handler failed\n".into()))
    };
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn route(
    path: &str,
    replication: &Replication,
    transport: &Option<Transport>,
) -> (u16, &'static str, String) {
    let report = replication.report();
    match path {
        "/healthz" => (200, "text/plain", "ok\n".into()),
        "/readyz" => match report.readiness() {
            Ok(()) => (200, "text/plain", "ready\n".into()),
            Err(reason) => (503, "text/plain", format!("not ready: {reason}\n")),
        },
        "/status" => {
            let mut value = serde_json::to_value(&report).unwrap_or_default();
            let peers = serde_json::to_value(
                transport
                    .iter()
                    .flat_map(|t| t.stats().peers)
                    .map(|(name, s)| {
                        (
                            name,
                            serde_json::json!({
                                "connected": s.connected,
                                "sent": s.sent,
                                "dropped": s.dropped,
                                "rtt_micros": s.rtt_micros,
                                "reconnects": s.reconnects,
                            }),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>(),
            )
            .unwrap_or_default();
            value["peers"] = peers;
            value["ready"] = serde_json::Value::Bool(report.readiness().is_ok());
            (200, "application/json", format!("{value}\n"))
        }
        "/hashes" => match replication.state_hashes() {
            Some(hashes) => (
                200,
                "application/json",
                format!("{}\n", serde_json::to_string(&hashes).unwrap_or_default()),
            ),
            None => (503, "text/plain", "replication thread unavailable\n".into()),
        },
        "/metrics" => (
            200,
            "text/plain; version=0.0.4",
            metrics(&report, transport),
        ),
        _ => (404, "text/plain", "not found\n".into()),
    }
}

/// `transport` is `None` on a one-voter cluster, which has no peers.
fn metrics(report: &NodeReport, transport: &Option<Transport>) -> String {
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    };
    counter(
        "duckraft_proposals_total",
        "Writes proposed by sessions on this node.",
        report.proposals as f64,
    );
    counter(
        "duckraft_committed_entries_total",
        "Committed entries applied on this node.",
        report.commits as f64,
    );
    counter(
        "duckraft_elections_observed_total",
        "Term changes observed across groups.",
        report.elections_observed as f64,
    );
    counter(
        "duckraft_dropped_peer_messages_total",
        "Peer messages the node dropped.",
        report.dropped_peer_messages as f64,
    );
    counter(
        "duckraft_snapshots_exported_total",
        "State-machine snapshots this node exported.",
        report.snapshots_exported as f64,
    );
    counter(
        "duckraft_snapshots_installed_total",
        "Snapshots from a leader this node installed.",
        report.snapshots_installed as f64,
    );
    counter(
        "duckraft_snapshots_refused_total",
        "Snapshots from a leader this node refused (never installed).",
        report.snapshots_refused as f64,
    );
    counter(
        "duckraft_row_batch_proposals_total",
        "Writes proposed as typed row batches (COPY FROM STDIN, parameterised INSERTs).",
        report.row_batch_proposals as f64,
    );
    counter(
        "duckraft_adopted_transactions_total",
        "Transactions committed in place as their log entry, not applied again.",
        report.adopted_transactions as f64,
    );
    counter(
        "duckraft_raft_log_rewrites_total",
        "Raft log rewrites that deleted dead segments.",
        report.raft_log_rewrites as f64,
    );
    let _ = writeln!(
        out,
        "# HELP duckraft_fsync_seconds Raft log append-and-fsync latency.\n# TYPE duckraft_fsync_seconds histogram"
    );
    for (i, bound) in FSYNC_BUCKETS.iter().enumerate() {
        let count = report.fsync_buckets.get(i).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "duckraft_fsync_seconds_bucket{{le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "duckraft_fsync_seconds_bucket{{le=\"+Inf\"}} {fsyncs}\nduckraft_fsync_seconds_sum {}\nduckraft_fsync_seconds_count {fsyncs}",
        report.fsync_seconds_total,
        fsyncs = report.fsyncs
    );
    let _ = writeln!(out, "# HELP duckraft_degraded 1 when the node refuses to serve.\n# TYPE duckraft_degraded gauge\nduckraft_degraded {}", u8::from(report.degraded.is_some()));
    let _ = writeln!(out, "# HELP duckraft_apply_lag_entries Committed but not yet applied entries.\n# TYPE duckraft_apply_lag_entries gauge");
    for g in &report.groups {
        let _ = writeln!(
            out,
            "duckraft_apply_lag_entries{{group=\"{}\"}} {}",
            g.name,
            g.commit.saturating_sub(g.applied)
        );
    }
    let _ = writeln!(out, "# HELP duckraft_is_leader 1 when this node leads the group.\n# TYPE duckraft_is_leader gauge");
    for g in &report.groups {
        let _ = writeln!(
            out,
            "duckraft_is_leader{{group=\"{}\"}} {}",
            g.name,
            u8::from(g.role == "leader")
        );
    }
    let _ = writeln!(out, "# HELP duckraft_peer_rtt_seconds Last measured round trip to a peer.\n# TYPE duckraft_peer_rtt_seconds gauge");
    let peers = transport.iter().flat_map(|t| t.stats().peers);
    for (peer, stats) in peers {
        if let Some(rtt) = stats.rtt_micros {
            let _ = writeln!(
                out,
                "duckraft_peer_rtt_seconds{{peer=\"{peer}\"}} {}",
                rtt as f64 / 1e6
            );
        }
    }
    out
}
