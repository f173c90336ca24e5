//! One write-ahead log per node, shared by every Raft group.
//!
//! Layout: segment files `wal-<seq>.log`, each starting with an 8-byte
//! header naming the format. A segment holds frames; one frame is one
//! durable batch (everything the node needed persisted at one time, across
//! all groups):
//!
//! ```text
//! frame  := magic:u32 len:u32 crc32c(payload):u32 crc32c(magic len crc):u32 payload[len]
//! payload:= record*
//! record := tag:u8 group:u64 body
//! ```
//!
//! Format 1 frames lack the header checksum; they are still read, and a log
//! that ends in a format 1 segment continues in a fresh format 2 segment.
//!
//! Reclaiming space: [`Wal::rewrite`] writes the node's whole live state
//! (every group's creation, compaction marker, hard state and retained
//! entries) as a fresh segment, syncs it, then deletes every older segment.
//! Replaying old segments before the fresh one yields the same state, so a
//! crash anywhere in between is harmless.
//!
//! Recovery reads every frame in order. The only damage it repairs is a
//! torn tail: a final frame (or header) that extends past the end of the
//! last segment, which is what a crash in the middle of an unsynced append
//! leaves behind. Since the header has its own checksum, a length that runs
//! past the end is the length that was written, not a damaged one. Recovery
//! truncates that tail and says so. Everything else (a bad checksum of the
//! header or the payload, bad magic, unknown format or record tag, damage in
//! any segment but the last) is corruption and recovery refuses to continue.

use std::fmt;
use std::io;

use raft::eraftpb::{Entry, EntryType};

use crate::disk::Disk;
use crate::storage::Conf;
use crate::{GroupId, NodeId};

const SEGMENT_HEADER: &[u8; 8] = b"DRWAL\0\0\x02";
/// Written until the frame header got its own checksum; read, never written.
const SEGMENT_HEADER_V1: &[u8; 8] = b"DRWAL\0\0\x01";
const FRAME_MAGIC: u32 = 0xD0C4_4AF7;
const FRAME_HEADER_LEN: usize = 16;
const FRAME_HEADER_LEN_V1: usize = 12;
/// Frames larger than this are refused on write and treated as corruption on read.
const MAX_FRAME_BYTES: usize = 256 << 20;
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

const TAG_CREATE_GROUP: u8 = 1;
const TAG_HARD_STATE: u8 = 2;
const TAG_ENTRIES: u8 = 3;
const TAG_REMOVE_GROUP: u8 = 4;
const TAG_COMPACTED: u8 = 5;
/// A compaction marker whose configuration has learners; one without keeps
/// tag 5, which older binaries read.
const TAG_COMPACTED_WITH_LEARNERS: u8 = 6;
/// Entries per frame when the live state is rewritten (frames stay well
/// under `MAX_FRAME_BYTES` for any entry the node accepts).
const REWRITE_ENTRIES_PER_FRAME_MAX: usize = 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum WalRecord {
    /// A group exists on this node with this initial voter set.
    CreateGroup { group: GroupId, voters: Vec<NodeId> },
    HardState {
        group: GroupId,
        term: u64,
        vote: u64,
        commit: u64,
    },
    /// Entries starting at `entries[0].index`; any later entries of the
    /// group already in the log are superseded (Raft log truncation).
    Entries { group: GroupId, entries: Vec<Entry> },
    /// The group is gone from this node for good (its catalog was dropped);
    /// its earlier records are dead and its id is never used again.
    RemoveGroup { group: GroupId },
    /// The group's log starts after `index`: the state machine holds every
    /// entry up to it (compacted locally, or installed from a peer's
    /// snapshot). Earlier entries are dropped on replay; later ones are
    /// kept only if the log holds `index` at `term`. `conf` is the
    /// group's configuration at `index`.
    Compacted {
        group: GroupId,
        index: u64,
        term: u64,
        conf: Conf,
    },
}

impl WalRecord {
    pub fn group(&self) -> GroupId {
        match self {
            WalRecord::CreateGroup { group, .. }
            | WalRecord::HardState { group, .. }
            | WalRecord::Entries { group, .. }
            | WalRecord::RemoveGroup { group }
            | WalRecord::Compacted { group, .. } => *group,
        }
    }
}

#[derive(Debug)]
pub enum WalError {
    Io(io::Error),
    Corrupt {
        segment: String,
        offset: u64,
        reason: String,
    },
}

impl fmt::Display for WalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::Io(e) => write!(f, "write-ahead log I/O error: {e}"),
            WalError::Corrupt {
                segment,
                offset,
                reason,
            } => write!(
                f,
                "write-ahead log corrupt in {segment} at byte {offset}: {reason}"
            ),
        }
    }
}

impl std::error::Error for WalError {}

impl From<io::Error> for WalError {
    fn from(e: io::Error) -> Self {
        WalError::Io(e)
    }
}

/// What recovery cut off the end of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub segment: String,
    pub offset: u64,
    pub dropped_bytes: u64,
}

pub struct Recovered {
    pub records: Vec<WalRecord>,
    pub torn_tail: Option<TornTail>,
}

pub struct Wal<D: Disk> {
    disk: D,
    segment_seq: u64,
    segment_len: u64,
    max_segment_bytes: u64,
    unsynced: bool,
    /// Bytes in all segments (what a rewrite could reclaim).
    total_bytes: u64,
}

fn segment_name(seq: u64) -> String {
    format!("wal-{seq:016}.log")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    name.strip_prefix("wal-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

impl<D: Disk> Wal<D> {
    /// Opens the log, replaying every durable record. Fails closed on corruption.
    pub fn open(mut disk: D, max_segment_bytes: u64) -> Result<(Wal<D>, Recovered), WalError> {
        let mut segments = Vec::new();
        for name in disk.list()? {
            if let Some(seq) = parse_segment_name(&name) {
                segments.push((seq, name));
            }
        }
        segments.sort();
        let mut records = Vec::new();
        let mut torn_tail = None;
        let mut last_len = 0;
        let mut last_is_v1 = false;
        let mut total_bytes = 0;
        for (position, (_, name)) in segments.iter().enumerate() {
            let is_last = position + 1 == segments.len();
            let bytes = disk.read(name)?;
            let valid = read_segment(name, &bytes, is_last, &mut records)?;
            last_is_v1 = bytes.starts_with(SEGMENT_HEADER_V1);
            if valid < bytes.len() as u64 {
                let tail = TornTail {
                    segment: name.clone(),
                    offset: valid,
                    dropped_bytes: bytes.len() as u64 - valid,
                };
                tracing::warn!(
                    segment = %tail.segment,
                    offset = tail.offset,
                    dropped_bytes = tail.dropped_bytes,
                    "write-ahead log has a torn tail from an interrupted write; truncating it"
                );
                disk.truncate(name, valid)?;
                torn_tail = Some(tail);
            }
            last_len = valid;
            total_bytes += valid;
        }
        let mut segment_seq = segments.last().map_or(1, |(seq, _)| *seq);
        if last_is_v1 && last_len > 0 {
            // Frames of one segment share a format: continue in a new one.
            segment_seq += 1;
            last_len = 0;
        }
        let wal = Wal {
            disk,
            segment_seq,
            segment_len: last_len,
            max_segment_bytes,
            unsynced: false,
            total_bytes,
        };
        Ok((wal, Recovered { records, torn_tail }))
    }

    /// Bytes held in all segments.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Replaces the whole log by `live` (the node's entire live state, see
    /// [`crate::MultiRaft::live_records`]): writes it as a fresh segment,
    /// syncs it, then deletes every older segment. Durable on return.
    pub fn rewrite(&mut self, live: &[WalRecord]) -> Result<(), WalError> {
        self.sync()?;
        let old: Vec<String> = self
            .disk
            .list()?
            .into_iter()
            .filter(|name| parse_segment_name(name).is_some_and(|seq| seq <= self.segment_seq))
            .collect();
        self.segment_seq += 1;
        self.segment_len = 0;
        self.total_bytes = 0;
        for frame in rewrite_frames(live) {
            self.write_frame(&frame)?;
        }
        if self.segment_len == 0 {
            // An empty live state still gets a segment, so the sequence
            // number never goes back.
            self.disk
                .append(&segment_name(self.segment_seq), SEGMENT_HEADER)?;
            self.segment_len = SEGMENT_HEADER.len() as u64;
            self.total_bytes = self.segment_len;
            self.unsynced = true;
        }
        self.sync()?;
        for name in old {
            self.disk.remove(&name)?;
        }
        Ok(())
    }

    /// Appends one frame. It is not durable until [`Wal::sync`] returns.
    pub fn write(&mut self, records: &[WalRecord]) -> Result<(), WalError> {
        self.write_frame(records)
    }

    fn write_frame(&mut self, records: &[WalRecord]) -> Result<(), WalError> {
        let mut payload = Vec::new();
        for record in records {
            encode_record(record, &mut payload);
        }
        if payload.len() > MAX_FRAME_BYTES {
            return Err(WalError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write-ahead log frame of {} bytes is too large",
                    payload.len()
                ),
            )));
        }
        if self.segment_len >= self.max_segment_bytes {
            // Rollover happens only at frame boundaries; the finished
            // segment is synced before the next one starts.
            self.sync()?;
            self.segment_seq += 1;
            self.segment_len = 0;
        }
        let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + payload.len() + 8);
        if self.segment_len == 0 {
            frame.extend_from_slice(SEGMENT_HEADER);
        }
        let header_at = frame.len();
        frame.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
        let header_crc = crc32c::crc32c(&frame[header_at..]);
        frame.extend_from_slice(&header_crc.to_le_bytes());
        frame.extend_from_slice(&payload);
        self.disk.append(&segment_name(self.segment_seq), &frame)?;
        self.segment_len += frame.len() as u64;
        self.total_bytes += frame.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    pub fn sync(&mut self) -> Result<(), WalError> {
        if self.unsynced {
            self.disk.sync(&segment_name(self.segment_seq))?;
            self.unsynced = false;
        }
        Ok(())
    }
}

/// Splits the live state into frames, long entry runs into several.
fn rewrite_frames(live: &[WalRecord]) -> Vec<Vec<WalRecord>> {
    let mut frames = Vec::new();
    let mut current = Vec::new();
    for record in live {
        match record {
            WalRecord::Entries { group, entries } => {
                for chunk in entries.chunks(REWRITE_ENTRIES_PER_FRAME_MAX) {
                    current.push(WalRecord::Entries {
                        group: *group,
                        entries: chunk.to_vec(),
                    });
                    frames.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other.clone()),
        }
    }
    if !current.is_empty() {
        frames.push(current);
    }
    frames
}

/// Parses one segment into `records`; returns how many bytes are valid.
/// Only the last segment may end in a torn frame.
fn read_segment(
    name: &str,
    bytes: &[u8],
    is_last: bool,
    records: &mut Vec<WalRecord>,
) -> Result<u64, WalError> {
    let corrupt = |offset: usize, reason: String| WalError::Corrupt {
        segment: name.to_string(),
        offset: offset as u64,
        reason,
    };
    if bytes.len() < SEGMENT_HEADER.len() {
        // Both formats' headers differ only in their last byte.
        if is_last && SEGMENT_HEADER.starts_with(bytes) {
            return Ok(0);
        }
        return Err(corrupt(0, "segment shorter than its header".into()));
    }
    let header_len = match &bytes[..SEGMENT_HEADER.len()] {
        header if header == SEGMENT_HEADER => FRAME_HEADER_LEN,
        header if header == SEGMENT_HEADER_V1 => FRAME_HEADER_LEN_V1,
        _ => return Err(corrupt(0, "unknown segment format".into())),
    };
    let mut offset = SEGMENT_HEADER.len();
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < header_len {
            if is_last {
                return Ok(offset as u64);
            }
            return Err(corrupt(offset, "truncated frame header".into()));
        }
        let word = |at: usize| u32::from_le_bytes(rest[at..at + 4].try_into().expect("4 bytes"));
        let magic = word(0);
        if magic != FRAME_MAGIC {
            return Err(corrupt(offset, format!("bad frame magic {magic:#010x}")));
        }
        if header_len == FRAME_HEADER_LEN && crc32c::crc32c(&rest[..12]) != word(12) {
            return Err(corrupt(offset, "frame header checksum mismatch".into()));
        }
        let len = word(4) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(corrupt(offset, format!("frame length {len} out of range")));
        }
        let crc = word(8);
        if rest.len() < header_len + len {
            if !is_last {
                return Err(corrupt(offset, "truncated frame".into()));
            }
            if header_len == FRAME_HEADER_LEN_V1 {
                if let Some(end) = complete_payload(&rest[header_len..], crc) {
                    return Err(corrupt(
                        offset,
                        format!(
                            "frame length field damaged: it says {len} bytes, but the frame's \
                             payload is complete at {end} bytes (its checksum matches)"
                        ),
                    ));
                }
            }
            return Ok(offset as u64);
        }
        let payload = &rest[header_len..header_len + len];
        if crc32c::crc32c(payload) != crc {
            return Err(corrupt(offset, "frame checksum mismatch".into()));
        }
        decode_records(payload, records)
            .map_err(|reason| corrupt(offset, format!("undecodable frame: {reason}")))?;
        offset += header_len + len;
    }
    Ok(offset as u64)
}

/// In format 1, whose headers have no checksum, a frame that runs past the
/// end of the last segment is a torn tail only if its payload really is cut
/// short. If some prefix of the bytes after its header has the frame's
/// checksum and ends where the data ends or another frame begins, the
/// payload is complete and its length field was damaged (a flipped bit in
/// synced data): that is corruption, and truncating there would silently
/// drop synced frames. Returns the payload's real length.
fn complete_payload(body: &[u8], crc: u32) -> Option<usize> {
    let magic = FRAME_MAGIC.to_le_bytes();
    let boundaries = (0..body.len())
        .filter(|&at| body[at..].starts_with(&magic))
        .chain(std::iter::once(body.len()));
    let mut running = 0;
    let mut covered = 0;
    for end in boundaries {
        running = crc32c::crc32c_append(running, &body[covered..end]);
        covered = end;
        if running == crc {
            return Some(end);
        }
    }
    None
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_voters(out: &mut Vec<u8>, voters: &[NodeId]) {
    out.extend_from_slice(&(voters.len() as u32).to_le_bytes());
    for voter in voters {
        put_u64(out, *voter);
    }
}

fn encode_record(record: &WalRecord, out: &mut Vec<u8>) {
    match record {
        WalRecord::CreateGroup { group, voters } => {
            out.push(TAG_CREATE_GROUP);
            put_u64(out, group.0);
            put_voters(out, voters);
        }
        WalRecord::HardState {
            group,
            term,
            vote,
            commit,
        } => {
            out.push(TAG_HARD_STATE);
            put_u64(out, group.0);
            put_u64(out, *term);
            put_u64(out, *vote);
            put_u64(out, *commit);
        }
        WalRecord::Entries { group, entries } => {
            out.push(TAG_ENTRIES);
            put_u64(out, group.0);
            out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            for entry in entries {
                put_u64(out, entry.index);
                put_u64(out, entry.term);
                out.push(entry.get_entry_type() as u8);
                put_bytes(out, &entry.data);
                put_bytes(out, &entry.context);
            }
        }
        WalRecord::RemoveGroup { group } => {
            out.push(TAG_REMOVE_GROUP);
            put_u64(out, group.0);
        }
        WalRecord::Compacted {
            group,
            index,
            term,
            conf,
        } => {
            let with_learners = !conf.learners.is_empty();
            out.push(if with_learners {
                TAG_COMPACTED_WITH_LEARNERS
            } else {
                TAG_COMPACTED
            });
            put_u64(out, group.0);
            put_u64(out, *index);
            put_u64(out, *term);
            put_voters(out, &conf.voters);
            if with_learners {
                put_voters(out, &conf.learners);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("record runs past the frame".into());
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn voters(&mut self) -> Result<Vec<NodeId>, String> {
        let count = self.u32()? as usize;
        let mut voters = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            voters.push(self.u64()?);
        }
        Ok(voters)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }
}

fn decode_records(payload: &[u8], out: &mut Vec<WalRecord>) -> Result<(), String> {
    let mut r = Reader { bytes: payload };
    while !r.bytes.is_empty() {
        let tag = r.u8()?;
        let group = GroupId(r.u64()?);
        let record = match tag {
            TAG_CREATE_GROUP => WalRecord::CreateGroup {
                group,
                voters: r.voters()?,
            },
            TAG_HARD_STATE => WalRecord::HardState {
                group,
                term: r.u64()?,
                vote: r.u64()?,
                commit: r.u64()?,
            },
            TAG_ENTRIES => {
                let count = r.u32()? as usize;
                let mut entries = Vec::with_capacity(count.min(4096));
                for _ in 0..count {
                    let mut entry = Entry {
                        index: r.u64()?,
                        term: r.u64()?,
                        ..Entry::default()
                    };
                    entry.set_entry_type(match r.u8()? {
                        0 => EntryType::EntryNormal,
                        1 => EntryType::EntryConfChange,
                        2 => EntryType::EntryConfChangeV2,
                        other => return Err(format!("unknown entry type {other}")),
                    });
                    entry.data = r.bytes()?.into();
                    entry.context = r.bytes()?.into();
                    entries.push(entry);
                }
                WalRecord::Entries { group, entries }
            }
            TAG_REMOVE_GROUP => WalRecord::RemoveGroup { group },
            TAG_COMPACTED | TAG_COMPACTED_WITH_LEARNERS => WalRecord::Compacted {
                group,
                index: r.u64()?,
                term: r.u64()?,
                conf: Conf {
                    voters: r.voters()?,
                    learners: if tag == TAG_COMPACTED_WITH_LEARNERS {
                        r.voters()?
                    } else {
                        Vec::new()
                    },
                },
            },
            other => return Err(format!("unknown record tag {other}")),
        };
        out.push(record);
    }
    Ok(())
}
