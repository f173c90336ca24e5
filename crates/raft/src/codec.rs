//! Wire format of one peer-to-peer batch: every Raft message from this node
//! to one peer, across all groups, in a single payload.
//!
//! ```text
//! batch := magic:u32 version:u8 count:u32 (group:u64 len:u32 protobuf(Message)[len])*
//! ```

use std::fmt;

use protobuf::Message as _;
use raft::eraftpb::Message;

use crate::GroupId;

const BATCH_MAGIC: u32 = 0x4452_4D42;
const BATCH_VERSION: u8 = 1;

#[derive(Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed peer batch: {}", self.0)
    }
}

impl std::error::Error for CodecError {}

pub fn encode_batch(messages: &[(GroupId, Message)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&BATCH_MAGIC.to_le_bytes());
    out.push(BATCH_VERSION);
    out.extend_from_slice(&(messages.len() as u32).to_le_bytes());
    for (group, message) in messages {
        let bytes = message
            .write_to_bytes()
            .expect("raft messages always serialize");
        out.extend_from_slice(&group.0.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

pub fn decode_batch(bytes: &[u8]) -> Result<Vec<(GroupId, Message)>, CodecError> {
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], CodecError> {
        if rest.len() < n {
            return Err(CodecError("truncated".into()));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let magic = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
    if magic != BATCH_MAGIC {
        return Err(CodecError(format!("bad magic {magic:#010x}")));
    }
    let version = take(1)?[0];
    if version != BATCH_VERSION {
        return Err(CodecError(format!("unknown version {version}")));
    }
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
    let mut messages = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let group = GroupId(u64::from_le_bytes(take(8)?.try_into().expect("8 bytes")));
        let len = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
        let message = Message::parse_from_bytes(take(len)?)
            .map_err(|e| CodecError(format!("undecodable message: {e}")))?;
        messages.push((group, message));
    }
    if !rest.is_empty() {
        return Err(CodecError("trailing bytes".into()));
    }
    Ok(messages)
}
