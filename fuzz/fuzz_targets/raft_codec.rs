//! Peer message batches arrive from the network: decoding arbitrary bytes
//! must fail cleanly or yield messages that survive re-encoding with every
//! field Raft acts on intact. (Fields outside raft-rs's schema are kept by
//! protobuf in hash order, so whole encodings are not compared.)
#![no_main]

use duckraft_raft::codec::{decode_batch, encode_batch};
use duckraft_raft::{GroupId, Message};
use libfuzzer_sys::fuzz_target;

type Entries = Vec<(u64, u64, i32, Vec<u8>, Vec<u8>)>;

fn fields(message: &Message) -> (i32, [u64; 7], bool, Entries, u64, u64) {
    let entries = message
        .get_entries()
        .iter()
        .map(|e| {
            let kind = e.get_entry_type() as i32;
            (e.index, e.term, kind, e.data.to_vec(), e.context.to_vec())
        })
        .collect();
    let snapshot = message.get_snapshot().get_metadata();
    (
        message.get_msg_type() as i32,
        [
            message.to,
            message.from,
            message.term,
            message.log_term,
            message.index,
            message.commit,
            message.reject_hint,
        ],
        message.reject,
        entries,
        snapshot.index,
        snapshot.term,
    )
}

fn summary(batch: &[(GroupId, Message)]) -> Vec<(GroupId, impl PartialEq + std::fmt::Debug)> {
    batch.iter().map(|(group, m)| (*group, fields(m))).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(messages) = decode_batch(data) else {
        return;
    };
    let again = decode_batch(&encode_batch(&messages)).expect("a re-encoded batch decodes");
    assert_eq!(
        summary(&again),
        summary(&messages),
        "re-encoding changed the batch"
    );
});
