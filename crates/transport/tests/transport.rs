//! End-to-end tests over real TLS on 127.0.0.1.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, StatusCode};

#[tokio::test]
async fn three_nodes_exchange_messages_in_all_directions() {
    let ids = ["n1", "n2", "n3"];
    let dir = cluster(&ids);
    let addrs = free_addrs(3);
    // Every node gets the full map, itself included, as the runtime will pass it.
    let peers = peer_map(&[("n1", addrs[0]), ("n2", addrs[1]), ("n3", addrs[2])]);
    let mut nodes = Vec::new();
    for (id, addr) in ids.iter().zip(&addrs) {
        let (transport, inbox) = start(dir.path(), id, *addr, peers.clone(), None).await;
        assert_eq!(transport.local_addr(), *addr);
        nodes.push((id, transport, inbox));
    }
    for (from, transport, _) in &nodes {
        for to in ids.iter().filter(|to| *to != *from) {
            transport.send(to, Bytes::from(format!("{from}->{to}")));
        }
    }
    for (id, _, inbox) in &mut nodes {
        let mut senders = Vec::new();
        for _ in 0..2 {
            let (from, payload) = recv(inbox).await;
            assert_eq!(payload, format!("{from}->{id}"), "sender identity mismatch");
            senders.push(from);
        }
        senders.sort();
        let expected: Vec<_> = ids
            .iter()
            .filter(|other| *other != *id)
            .map(|s| s.to_string())
            .collect();
        assert_eq!(senders, expected);
    }
    for (id, transport, _) in &nodes {
        wait_until("acknowledgements", || {
            transport.stats().peers.values().all(|p| p.sent == 1)
        })
        .await;
        let stats = transport.stats();
        assert!(!stats.peers.contains_key(**id), "self must not be a peer");
        for peer in stats.peers.values() {
            assert!(
                peer.connected && peer.rtt_micros.is_some() && peer.dropped == 0,
                "{peer:?}"
            );
        }
    }
    for (_, transport, _) in nodes {
        transport.shutdown().await;
    }
}

#[tokio::test]
async fn cert_from_another_ca_is_refused() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let dir = cluster(&["n1", "n2"]);
    // Trusts the cluster CA but presents an "n2" certificate from a CA of its own.
    let other = cluster(&["n2"]);
    let rogue = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("ca.pem"), rogue.path().join("ca.pem")).unwrap();
    for file in ["n2.pem", "n2-key.pem"] {
        std::fs::copy(other.path().join(file), rogue.path().join(file)).unwrap();
    }
    let addrs = free_addrs(2);
    let peers = peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]);
    let (n1, mut inbox) = start(dir.path(), "n1", addrs[0], peers.clone(), None).await;

    let (impostor, _) = start(rogue.path(), "n2", addrs[1], peers.clone(), None).await;
    impostor.send("n1", Bytes::from_static(b"rogue"));
    wait_until("the handshake refusal", || {
        capture
            .events()
            .iter()
            .any(|e| e.field("message") == Some("refusing peer connection: TLS handshake failed"))
    })
    .await;
    wait_until("the impostor's message to be dropped", || {
        impostor.stats().peers["n1"].dropped == 1
    })
    .await;
    // The impostor never counts as connected, and says why.
    let stats = impostor.stats().peers["n1"].clone();
    assert_eq!(
        (stats.connected, stats.sent, stats.reconnects),
        (false, 0, 0),
        "{stats:?}"
    );
    // The sender may log its line after counting the drop.
    wait_until("the impostor's own refusal line", || {
        capture
            .events()
            .iter()
            .any(|e| e.field("peer") == Some("n1"))
    })
    .await;
    let client_side: Vec<_> = capture
        .events()
        .into_iter()
        .filter(|e| e.field("peer") == Some("n1"))
        .collect();
    // Retries repeat the line only if the error text changes (e.g. a reset instead of the alert).
    for line in &client_side {
        let error = line.field("error").unwrap();
        assert!(error.contains("certificate refused"), "{client_side:?}");
    }
    impostor.shutdown().await;

    // The genuine n2 at the same address gets through, and its message is the first to arrive.
    let (n2, _) = start(dir.path(), "n2", addrs[1], peers, None).await;
    n2.send("n1", Bytes::from_static(b"genuine"));
    assert_eq!(
        recv(&mut inbox).await,
        ("n2".to_owned(), Bytes::from_static(b"genuine"))
    );
    n2.shutdown().await;
    n1.shutdown().await;
}

#[tokio::test]
async fn identity_outside_the_peer_list_is_refused() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    // n9's certificate is valid (same CA) but n9 is not in n1's peer list.
    let dir = cluster(&["n1", "n2", "n9"]);
    let addrs = free_addrs(2);
    let (n1, mut inbox) = start(
        dir.path(),
        "n1",
        addrs[0],
        peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]),
        None,
    )
    .await;
    let post = |id: &'static str| {
        request_once(
            dir.path(),
            id,
            addrs[0],
            Method::POST,
            "/raft/v1/messages",
            Bytes::from(id),
        )
    };

    // n1's own certificate is refused too: a node never accepts messages from itself.
    for id in ["n9", "n1"] {
        let (local, result) = post(id).await;
        assert!(result.is_err(), "{id} was answered: {result:?}");
        let remote = local.to_string();
        wait_until("the refusal log line", || {
            capture
                .events()
                .iter()
                .any(|e| e.field("remote") == Some(remote.as_str()))
        })
        .await;
        let lines: Vec<_> = capture
            .events()
            .into_iter()
            .filter(|e| e.field("remote") == Some(remote.as_str()))
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].level, tracing::Level::WARN);
        assert_eq!(lines[0].field("identity"), Some(id));
        assert!(lines[0]
            .field("message")
            .unwrap()
            .contains("not a configured peer"));
    }

    // The same client with a configured identity gets through, so the refusals above were
    // about identity and nothing else.
    let (_, result) = post("n2").await;
    assert_eq!(result, Ok(StatusCode::NO_CONTENT));
    assert_eq!(
        recv(&mut inbox).await,
        ("n2".to_owned(), Bytes::from_static(b"n2"))
    );
    n1.shutdown().await;
}

#[tokio::test]
async fn routes_and_status_codes() {
    let dir = cluster(&["n1", "n2"]);
    let addrs = free_addrs(2);
    let peers = peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]);
    let (n1, mut inbox) = start(dir.path(), "n1", addrs[0], peers, Some(1024)).await;
    let request = |method, path, body: &'static [u8]| {
        request_once(
            dir.path(),
            "n2",
            addrs[0],
            method,
            path,
            Bytes::from_static(body),
        )
    };

    assert_eq!(
        request(Method::POST, "/other", b"x").await.1,
        Ok(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        request(Method::GET, "/raft/v1/messages", b"").await.1,
        Ok(StatusCode::METHOD_NOT_ALLOWED)
    );
    assert_eq!(
        request(Method::POST, "/raft/v1/messages", &[7; 1025])
            .await
            .1,
        Ok(StatusCode::PAYLOAD_TOO_LARGE)
    );
    assert_eq!(
        request(Method::POST, "/raft/v1/messages", &[7; 1024])
            .await
            .1,
        Ok(StatusCode::NO_CONTENT)
    );
    assert_eq!(
        recv(&mut inbox).await,
        ("n2".to_owned(), Bytes::from_static(&[7; 1024]))
    );
    assert!(
        inbox.try_recv().is_err(),
        "refused requests must not be delivered"
    );
    n1.shutdown().await;
}

#[tokio::test]
async fn oversized_payloads_are_dropped_and_later_ones_still_arrive() {
    let dir = cluster(&["n1", "n2"]);
    let addrs = free_addrs(2);
    let peers = peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]);
    // n1 would send up to the default 64 MiB; n2 accepts at most 1 KiB.
    let (n1, mut inbox1) = start(dir.path(), "n1", addrs[0], peers.clone(), None).await;
    let (n2, mut inbox2) = start(dir.path(), "n2", addrs[1], peers, Some(1024)).await;

    // Refused by the receiver with 413.
    n1.send("n2", Bytes::from(vec![1; 4096]));
    wait_until("the refusal to be counted", || {
        n1.stats().peers["n2"].dropped == 1
    })
    .await;
    n1.send("n2", Bytes::from_static(b"small"));
    assert_eq!(
        recv(&mut inbox2).await,
        ("n1".to_owned(), Bytes::from_static(b"small"))
    );

    // Dropped by the sender before it is queued.
    n2.send("n1", Bytes::from(vec![1; 2048]));
    assert_eq!(n2.stats().peers["n1"].dropped, 1);
    n2.send("n1", Bytes::from_static(b"after"));
    assert_eq!(
        recv(&mut inbox1).await,
        ("n2".to_owned(), Bytes::from_static(b"after"))
    );

    assert!(
        n1.stats().peers["n2"].connected,
        "a refusal must not cost the connection"
    );
    n1.shutdown().await;
    n2.shutdown().await;
}

#[tokio::test]
async fn peer_that_starts_late_or_restarts_is_reached() {
    let dir = cluster(&["n1", "n2"]);
    let addrs = free_addrs(2);
    let peers = peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]);
    let (n1, _inbox1) = start(dir.path(), "n1", addrs[0], peers.clone(), None).await;
    let connected = || n1.stats().peers["n2"].connected;

    // Let a few connection attempts fail so that n1 is in backoff when n2 appears.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!connected());
    let (n2, mut inbox2) = start(dir.path(), "n2", addrs[1], peers.clone(), None).await;
    wait_until("n1 to connect to n2", connected).await;
    n1.send("n2", Bytes::from_static(b"first"));
    assert_eq!(
        recv(&mut inbox2).await,
        ("n1".to_owned(), Bytes::from_static(b"first"))
    );

    n2.shutdown().await;
    wait_until("n1 to notice n2 is gone", || !connected()).await;
    let (n2, mut inbox2) = start(dir.path(), "n2", addrs[1], peers, None).await;
    wait_until("n1 to reconnect", || {
        let stats = &n1.stats().peers["n2"];
        stats.connected && stats.reconnects == 1
    })
    .await;
    n1.send("n2", Bytes::from_static(b"second"));
    assert_eq!(
        recv(&mut inbox2).await,
        ("n1".to_owned(), Bytes::from_static(b"second"))
    );
    n1.shutdown().await;
    n2.shutdown().await;
}

#[tokio::test]
async fn peer_answering_with_another_identity_is_not_used() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let dir = cluster(&["n1", "n2", "n3"]);
    let addrs = free_addrs(2);
    // n1 believes n2 lives where n3 actually listens.
    let (n1, _inbox1) = start(
        dir.path(),
        "n1",
        addrs[0],
        peer_map(&[("n2", addrs[1]), ("n3", addrs[1])]),
        None,
    )
    .await;
    let (n3, mut inbox3) = start(
        dir.path(),
        "n3",
        addrs[1],
        peer_map(&[("n1", addrs[0])]),
        None,
    )
    .await;
    n1.send("n2", Bytes::from_static(b"for n2"));
    n1.send("n3", Bytes::from_static(b"for n3"));
    assert_eq!(
        recv(&mut inbox3).await,
        ("n1".to_owned(), Bytes::from_static(b"for n3"))
    );

    let about_n2 = || {
        capture
            .events()
            .into_iter()
            .filter(|e| e.field("peer") == Some("n2"))
            .collect::<Vec<_>>()
    };
    wait_until("the failure to be logged", || !about_n2().is_empty()).await;
    // Retries keep failing the same way (50, 100, 200 ms backoff) without repeating the line.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let lines = about_n2();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].field("error").unwrap().contains("n2"), "{lines:?}");
    assert!(!n1.stats().peers["n2"].connected);
    assert!(
        inbox3.try_recv().is_err(),
        "n3 must not receive n2's messages"
    );
    n1.shutdown().await;
    n3.shutdown().await;
}

#[tokio::test]
async fn invalid_configurations_are_rejected() {
    let dir = cluster(&["n1", "n2"]);
    let addr = free_addrs(1)[0];
    let config = |id: &str, cert: &str| {
        let tls = duckraft_transport::TlsMaterial::load(dir.path(), cert).unwrap();
        duckraft_transport::TransportConfig::new(id, addr, peer_map(&[]), tls)
    };
    let start = |cfg| duckraft_transport::Transport::start(cfg, tokio::sync::mpsc::channel(1).0);

    assert!(
        start(config("n1", "n2")).await.is_err(),
        "another node's certificate"
    );
    let mut cfg = config("n1", "n1");
    cfg.queue_depth = 0;
    assert!(start(cfg).await.is_err(), "zero queue depth");
    let mut cfg = config("n1", "n1");
    cfg.peers = peer_map(&[("not a name", addr)]);
    assert!(start(cfg).await.is_err(), "peer id that is no DNS name");
    // Files whose certificate names another node are refused when loaded.
    std::fs::copy(dir.path().join("n2.pem"), dir.path().join("n1.pem")).unwrap();
    assert!(duckraft_transport::TlsMaterial::load(dir.path(), "n1").is_err());

    start(config("n2", "n2")).await.unwrap().shutdown().await;
}

/// A leader's last message to a member it removes carries the commit index from which the
/// member learns of its removal, and is queued just before the removal reaches the transport.
#[tokio::test]
async fn a_removed_peer_still_gets_what_was_queued_for_it() {
    let dir = cluster(&["n1", "n2"]);
    let addrs = free_addrs(2);
    let two = peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]);
    let (n1, _inbox1) = start(dir.path(), "n1", addrs[0], two.clone(), None).await;
    let (n2, mut inbox2) = start(dir.path(), "n2", addrs[1], two.clone(), None).await;
    n1.send("n2", Bytes::from_static(b"you are removed"));
    n1.set_peers(peer_map(&[("n1", addrs[0])])).unwrap();
    assert_eq!(
        recv(&mut inbox2).await,
        ("n1".to_owned(), Bytes::from_static(b"you are removed"))
    );
    n1.shutdown().await;
    n2.shutdown().await;
}

#[tokio::test]
async fn peers_added_and_removed_at_runtime() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let dir = cluster(&["n1", "n2", "n3"]);
    let addrs = free_addrs(4);
    let two = peer_map(&[("n1", addrs[0]), ("n2", addrs[1])]);
    let three = peer_map(&[("n1", addrs[0]), ("n2", addrs[1]), ("n3", addrs[2])]);
    let (n1, mut inbox1) = start(dir.path(), "n1", addrs[0], two.clone(), None).await;
    let (n2, mut inbox2) = start(dir.path(), "n2", addrs[1], two.clone(), None).await;
    n1.send("n2", Bytes::from_static(b"before"));
    assert_eq!(
        recv(&mut inbox2).await,
        ("n1".to_owned(), Bytes::from_static(b"before"))
    );
    wait_until("the acknowledgement", || n1.stats().peers["n2"].sent == 1).await;

    // n3 joins: n1 learns of it first, then n3 starts with the new membership.
    n1.set_peers(three.clone()).unwrap();
    let (n3, mut inbox3) = start(dir.path(), "n3", addrs[2], three.clone(), None).await;
    n1.send("n3", Bytes::from_static(b"welcome"));
    assert_eq!(
        recv(&mut inbox3).await,
        ("n1".to_owned(), Bytes::from_static(b"welcome"))
    );
    n3.send("n1", Bytes::from_static(b"hello"));
    assert_eq!(
        recv(&mut inbox1).await,
        ("n3".to_owned(), Bytes::from_static(b"hello"))
    );
    let peers: Vec<_> = n1.stats().peers.into_keys().collect();
    assert_eq!(peers, ["n2", "n3"]);
    assert_eq!(
        n1.stats().peers["n2"].sent,
        1,
        "an unchanged peer keeps its sender"
    );

    // An invalid id fails the whole change: n3 stays a peer in both directions.
    let mut invalid = two.clone();
    invalid.insert("not a name".into(), addrs[3].to_string());
    assert!(n1.set_peers(invalid).is_err());
    let peers: Vec<_> = n1.stats().peers.into_keys().collect();
    assert_eq!(peers, ["n2", "n3"]);
    n1.send("n3", Bytes::from_static(b"still here"));
    assert_eq!(recv(&mut inbox3).await.1, Bytes::from_static(b"still here"));
    n3.send("n1", Bytes::from_static(b"me too"));
    assert_eq!(recv(&mut inbox1).await.1, Bytes::from_static(b"me too"));
    wait_until("n3's acknowledgements", || n3.stats().peers["n1"].sent == 2).await;

    // n3 leaves. n1 no longer sends to it, and refuses what n3 still sends on its open
    // connection; n3 counts the refusal as a drop.
    n1.set_peers(two.clone()).unwrap();
    let peers: Vec<_> = n1.stats().peers.into_keys().collect();
    assert_eq!(peers, ["n2"]);
    n1.send("n3", Bytes::from_static(b"for a former peer"));
    assert!(capture
        .events()
        .iter()
        .any(|e| e.field("peer") == Some("n3")
            && e.field("message") == Some("dropping message for a node that is not a peer")));
    n3.send("n1", Bytes::from_static(b"from a former peer"));
    wait_until("n1's refusal", || n3.stats().peers["n1"].dropped == 1).await;
    assert!(capture
        .events()
        .iter()
        .any(|e| e.field("peer") == Some("n1")
            && e.field("status")
                .is_some_and(|status| status.contains("403"))));
    assert_eq!(n3.stats().peers["n1"].sent, 2);
    assert!(
        inbox1.try_recv().is_err(),
        "n1 delivered a former peer's payload"
    );
    assert!(inbox3.try_recv().is_err(), "n1 sent to a former peer");

    // Moving n2 replaces its sender (fresh counters); moving it back reaches it again.
    let mut moved = two.clone();
    moved.insert("n2".into(), addrs[3].to_string());
    n1.set_peers(moved).unwrap();
    assert_eq!(n1.stats().peers["n2"], Default::default());
    n1.set_peers(two).unwrap();
    n1.send("n2", Bytes::from_static(b"after the move"));
    assert_eq!(
        recv(&mut inbox2).await,
        ("n1".to_owned(), Bytes::from_static(b"after the move"))
    );

    // Shutdown also ends the senders set_peers spawned: their queues are closed.
    let handle = n1.clone();
    n1.shutdown().await;
    handle.send("n2", Bytes::from_static(b"too late"));
    assert_eq!(handle.stats().peers["n2"].dropped, 1);
    assert!(handle.set_peers(three).is_ok());
    assert_eq!(handle.stats().peers.len(), 1, "set_peers after shutdown");
    n2.shutdown().await;
    n3.shutdown().await;
}
