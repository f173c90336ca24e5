//! Snapshots of a replicated DuckDB file (a catalog or cp-metadata): export
//! at an applied index, and a fail-closed install.
//!
//! A snapshot is the database file itself, checkpointed on the apply
//! connection. The driver thread is the only committer, so after CHECKPOINT
//! the file holds exactly the state at the applied index (uncommitted
//! optimistic writes of sessions only land in free blocks). An export whose
//! DuckDB WAL is not empty after the checkpoint is refused: the file would
//! not hold every commit. While a session's open transaction holds DuckDB's
//! checkpoint off, the export checkpoints a copy instead
//! ([`checkpointed_copy`]).
//!
//! ```text
//! snapshot := magic[8] version:u32 group:u64 index:u64 term:u64
//!             name_len:u32 name[name_len] voter_count:u32 voter:u64*
//!             file_len:u64 crc32c:u32 file[file_len]
//! ```
//! All integers little-endian; the checksum covers every byte before it and
//! the file.
//!
//! Install, in order: refuse an unknown magic or version, a malformed
//! header, a wrong group or name, a checksum mismatch, or an index at or
//! below the applied one, all before anything changes; then write the file
//! under a staging name, fsync it, close the state machine, rename over the
//! live file (dropping its stale DuckDB WAL), fsync the directory, reopen,
//! and check the reopened applied index is the snapshot's. A failure after
//! the close leaves the node without a usable state machine: the caller
//! must fail closed.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::catalog::{sync_dir, Catalogs};
use crate::control::ControlPlane;
use crate::replica::{Replica, ReplicaError};

const MAGIC: &[u8; 8] = b"DRSNAP\0\0";
/// Version 2: the file's bookkeeping is `__duckraft.apply_log` (see
/// `crate::replica`). An older node refuses it before touching its own
/// state, where opening the file would fail only after closing that.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest version installed: a version 1 file is migrated when opened.
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// Bounds on header fields, checked before anything is allocated.
const NAME_BYTES_MAX: usize = 255;
const VOTERS_MAX: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub group: u64,
    /// The catalog's name (`cp-metadata` for the control plane).
    pub name: String,
    pub index: u64,
    pub term: u64,
    pub voters: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a duckraft snapshot (bad magic)")]
    BadMagic,
    #[error("unknown snapshot format version {0}")]
    UnknownVersion(u32),
    #[error("malformed snapshot: {0}")]
    Malformed(String),
    #[error("snapshot checksum mismatch")]
    Checksum,
    #[error("snapshot of group {found}, expected group {expected}")]
    WrongGroup { expected: u64, found: u64 },
    #[error("snapshot of \"{found}\", expected \"{expected}\"")]
    WrongName { expected: String, found: String },
    #[error("snapshot at index {index} is not past the applied index {applied}")]
    NotNewer { index: u64, applied: u64 },
    #[error("snapshot header says index {header_index} term {header_term}, Raft says index {index} term {term}")]
    MetadataMismatch {
        header_index: u64,
        header_term: u64,
        index: u64,
        term: u64,
    },
    #[error("database file not fully checkpointed: its WAL holds {0} bytes")]
    NotCheckpointed(u64),
    #[error("after install the applied index is {found}, not the snapshot's {expected}")]
    IndexMismatch { expected: u64, found: u64 },
    #[error("snapshot I/O error: {0}")]
    Io(String),
    #[error("state machine error: {0}")]
    Engine(String),
    #[error("the install stopped after step {0:?}, as a crash would")]
    Interrupted(InstallStep),
}

/// The points an install passes. A crash may fall after any of them and
/// leave either the old state machine or the new one, both whole; the
/// simulator stops installs there ([`InstallTarget::stop_after`]) to test
/// that recovery takes either. Production never stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallStep {
    /// The new file is written and fsynced beside the old one.
    Staged,
    /// The old state machine is closed and checkpointed: its file alone
    /// holds its state.
    Closed,
    /// The new file has replaced the old one, durably.
    Replaced,
}

/// The file a snapshot replaces and what it must be a snapshot of.
pub struct InstallTarget<'a> {
    pub path: &'a Path,
    pub name: &'a str,
    pub group: u64,
    /// The simulator's crash point; `None` in production.
    pub stop_after: Option<InstallStep>,
}

impl InstallTarget<'_> {
    fn step(&self, done: InstallStep) -> Result<(), SnapshotError> {
        match self.stop_after {
            Some(stop) if stop == done => Err(SnapshotError::Interrupted(done)),
            _ => Ok(()),
        }
    }
}

impl From<std::io::Error> for SnapshotError {
    fn from(e: std::io::Error) -> Self {
        SnapshotError::Io(e.to_string())
    }
}

impl From<ReplicaError> for SnapshotError {
    fn from(e: ReplicaError) -> Self {
        SnapshotError::Engine(e.to_string())
    }
}

/// A refused or failed install.
pub struct InstallFailure<T> {
    pub error: SnapshotError,
    /// The state machine, untouched, when the install stopped before
    /// anything changed; `None` when it failed midway. Boxed: the error
    /// path should not make every `Result` as large as a state machine.
    pub kept: Option<Box<T>>,
}

impl<T> std::fmt::Debug for InstallFailure<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallFailure")
            .field("error", &self.error)
            .field("kept", &self.kept.is_some())
            .finish()
    }
}

impl<T> InstallFailure<T> {
    fn refused(error: SnapshotError, kept: T) -> Self {
        InstallFailure {
            error,
            kept: Some(Box::new(kept)),
        }
    }

    fn failed(error: impl Into<SnapshotError>) -> Self {
        InstallFailure {
            error: error.into(),
            kept: None,
        }
    }
}

pub fn encode(header: &SnapshotHeader, file: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(file.len() + 64 + header.name.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&header.group.to_le_bytes());
    out.extend_from_slice(&header.index.to_le_bytes());
    out.extend_from_slice(&header.term.to_le_bytes());
    out.extend_from_slice(&(header.name.len() as u32).to_le_bytes());
    out.extend_from_slice(header.name.as_bytes());
    out.extend_from_slice(&(header.voters.len() as u32).to_le_bytes());
    for voter in &header.voters {
        out.extend_from_slice(&voter.to_le_bytes());
    }
    out.extend_from_slice(&(file.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), file);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(file);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| SnapshotError::Malformed("header runs past the end".into()))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
}

/// Checks that a snapshot's header names the index and term Raft delivered
/// it with (and that it parses and checksums).
pub fn check_metadata(bytes: &[u8], index: u64, term: u64) -> Result<(), SnapshotError> {
    let (header, _) = decode(bytes)?;
    if (header.index, header.term) == (index, term) {
        Ok(())
    } else {
        Err(SnapshotError::MetadataMismatch {
            header_index: header.index,
            header_term: header.term,
            index,
            term,
        })
    }
}

/// Parses and checksums a snapshot; returns its header and the file bytes.
pub fn decode(bytes: &[u8]) -> Result<(SnapshotHeader, &[u8]), SnapshotError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len()).map_err(|_| SnapshotError::BadMagic)? != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = r.u32()?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(SnapshotError::UnknownVersion(version));
    }
    let group = r.u64()?;
    let index = r.u64()?;
    let term = r.u64()?;
    let name_len = r.u32()? as usize;
    if name_len > NAME_BYTES_MAX {
        return Err(SnapshotError::Malformed(format!(
            "name of {name_len} bytes"
        )));
    }
    let name = String::from_utf8(r.take(name_len)?.to_vec())
        .map_err(|_| SnapshotError::Malformed("name is not UTF-8".into()))?;
    let voter_count = r.u32()? as usize;
    if voter_count > VOTERS_MAX {
        return Err(SnapshotError::Malformed(format!("{voter_count} voters")));
    }
    let voters = (0..voter_count)
        .map(|_| r.u64())
        .collect::<Result<Vec<_>, _>>()?;
    let file_len = r.u64()?;
    let covered = r.at;
    let crc = r.u32()?;
    let rest = &bytes[r.at..];
    if rest.len() as u64 != file_len {
        return Err(SnapshotError::Malformed(format!(
            "header says {file_len} file bytes, {} follow",
            rest.len()
        )));
    }
    if crc32c::crc32c_append(crc32c::crc32c(&bytes[..covered]), rest) != crc {
        return Err(SnapshotError::Checksum);
    }
    let header = SnapshotHeader {
        group,
        name,
        index,
        term,
        voters,
    };
    Ok((header, rest))
}

/// Every check that needs no I/O: format, checksum, group, name, and an
/// index past what the state machine applied.
pub fn verify<'a>(
    bytes: &'a [u8],
    group: u64,
    name: &str,
    applied: u64,
) -> Result<(SnapshotHeader, &'a [u8]), SnapshotError> {
    let (header, file) = decode(bytes)?;
    if header.group != group {
        return Err(SnapshotError::WrongGroup {
            expected: group,
            found: header.group,
        });
    }
    if header.name != name {
        return Err(SnapshotError::WrongName {
            expected: name.to_string(),
            found: header.name,
        });
    }
    if header.index <= applied {
        return Err(SnapshotError::NotNewer {
            index: header.index,
            applied,
        });
    }
    Ok((header, file))
}

fn wal_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.wal", path.display()))
}

/// Refuses if `path`'s DuckDB WAL holds commits the file itself lacks.
fn check_checkpointed(path: &Path) -> Result<(), SnapshotError> {
    match fs::metadata(wal_path(path)) {
        Ok(meta) if meta.len() > 0 => Err(SnapshotError::NotCheckpointed(meta.len())),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Reads a database file just checkpointed.
fn read_checkpointed(path: &Path) -> Result<Vec<u8>, SnapshotError> {
    check_checkpointed(path)?;
    Ok(fs::read(path)?)
}

/// What DuckDB answers a CHECKPOINT while another connection's transaction
/// holds a snapshot, which a session's open transaction (even a read-only
/// one) does for as long as it stays open.
const CHECKPOINT_BLOCKED: &str = "Cannot CHECKPOINT: there are other write transactions active";

fn export_copy_path(path: &Path) -> PathBuf {
    let name = path.file_name().expect("a file").to_string_lossy();
    path.with_file_name(format!(".{name}.export"))
}

/// The state of `path` as one checkpointed file, without checkpointing
/// `path` itself: the file as of its last checkpoint plus its DuckDB WAL
/// hold every commit, and the caller (the only committer) commits nothing
/// while they are copied; a private DuckDB instance then checkpoints the
/// copy. Sessions only ever write uncommitted data into free blocks, which
/// no checkpoint references. This keeps a session that leaves a
/// transaction open from holding off snapshots and log compaction forever.
fn checkpointed_copy(path: &Path) -> Result<Vec<u8>, SnapshotError> {
    let copy = export_copy_path(path);
    let remove = || {
        for leftover in [wal_path(&copy), copy.clone()] {
            match fs::remove_file(&leftover) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    };
    remove()?;
    let copied = (|| {
        fs::copy(path, &copy)?;
        match fs::copy(wal_path(path), wal_path(&copy)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let engine = |e: duckdb::Error| SnapshotError::Engine(e.to_string());
        let conn = duckdb::Connection::open(&copy).map_err(engine)?;
        conn.execute_batch("CHECKPOINT").map_err(engine)?;
        drop(conn);
        read_checkpointed(&copy)
    })();
    remove()?;
    copied
}

fn staging_path(path: &Path) -> PathBuf {
    let name = path.file_name().expect("a file").to_string_lossy();
    path.with_file_name(format!(".{name}.snapshot"))
}

/// Writes `file` next to `path` and fsyncs it; returns the staging path.
fn stage(path: &Path, file: &[u8]) -> Result<PathBuf, SnapshotError> {
    let staging = staging_path(path);
    let mut out = File::create(&staging)?;
    out.write_all(file)?;
    out.sync_all()?;
    Ok(staging)
}

/// Removes what an install that a crash interrupted left beside `path`: a
/// staged file that never replaced it. Whichever of the old and the new
/// file `path` holds is whole (see [`InstallStep`]), and Raft recovery
/// accepts either. Call before opening `path`; returns whether there was one.
pub fn discard_staged(path: &Path) -> std::io::Result<bool> {
    match fs::remove_file(staging_path(path)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Moves a staged file over `path` once the old state machine is closed.
/// The old file must hold its whole state: DuckDB checkpoints on close and
/// removes its WAL. A WAL left behind means something still has the file
/// open, or its commits are not in it: replacing it then could mix the old
/// WAL into the new file, or lose the old state to a crash, so refuse.
fn commit_staged(staging: &Path, target: &InstallTarget) -> Result<(), SnapshotError> {
    check_checkpointed(target.path)?;
    target.step(InstallStep::Closed)?;
    fs::rename(staging, target.path)?;
    let dir = target.path.parent().expect("a directory");
    sync_dir(dir).map_err(|e| SnapshotError::Io(e.to_string()))?;
    target.step(InstallStep::Replaced)
}

/// Exports catalog `name` (group `group`) at its applied index.
pub fn export_catalog(
    catalogs: &Catalogs,
    name: &str,
    group: u64,
    voters: &[u64],
    replica: &Replica,
) -> Result<Vec<u8>, SnapshotError> {
    export_replica(&catalogs.file_path(name), name, group, voters, replica)
}

/// Exports `replica`, whose database file is `path`, as catalog `name`
/// (group `group`) at its applied index. [`export_catalog`] for a catalog
/// of [`Catalogs`]; the simulator calls it on its own files.
pub fn export_replica(
    path: &Path,
    name: &str,
    group: u64,
    voters: &[u64],
    replica: &Replica,
) -> Result<Vec<u8>, SnapshotError> {
    let file = match replica.checkpoint() {
        Ok(()) => read_checkpointed(path)?,
        Err(ReplicaError::Engine { message, .. }) if message.contains(CHECKPOINT_BLOCKED) => {
            checkpointed_copy(path)?
        }
        Err(error) => return Err(error.into()),
    };
    let header = SnapshotHeader {
        group,
        name: name.to_string(),
        index: replica.applied_index(),
        term: replica.applied_term(),
        voters: voters.to_vec(),
    };
    Ok(encode(&header, &file))
}

/// Installs a snapshot of catalog `name` in place of `replica`; returns the
/// reopened replica. Sessions on the catalog end (they see it dropped).
pub fn install_catalog(
    catalogs: &Catalogs,
    name: &str,
    group: u64,
    replica: Replica,
    bytes: &[u8],
) -> Result<Replica, InstallFailure<Replica>> {
    let close = || {
        catalogs
            .retire_replicated(name)
            .map_err(|e| SnapshotError::Engine(e.to_string()))
    };
    let reopen = |_: &Path| {
        let catalog = catalogs
            .open(name)
            .map_err(|e| SnapshotError::Engine(e.to_string()))?;
        Ok(catalog.open_replica()?)
    };
    let path = catalogs.file_path(name);
    let target = InstallTarget {
        path: &path,
        name,
        group,
        stop_after: None,
    };
    install_replica(&target, replica, bytes, close, reopen)
}

/// Installs a snapshot over `target` in place of `replica`: the steps of
/// [`install_catalog`], with the catalog's handling passed in. `close` runs
/// once `replica` is dropped and must leave nothing open on the file;
/// `reopen` opens the replica on the new file.
pub fn install_replica(
    target: &InstallTarget,
    replica: Replica,
    bytes: &[u8],
    close: impl FnOnce() -> Result<(), SnapshotError>,
    reopen: impl FnOnce(&Path) -> Result<Replica, SnapshotError>,
) -> Result<Replica, InstallFailure<Replica>> {
    let (header, file) = match verify(bytes, target.group, target.name, replica.applied_index()) {
        Ok(verified) => verified,
        Err(error) => return Err(InstallFailure::refused(error, replica)),
    };
    let staging = match stage(target.path, file) {
        Ok(staging) => staging,
        Err(error) => return Err(InstallFailure::refused(error, replica)),
    };
    target
        .step(InstallStep::Staged)
        .map_err(InstallFailure::failed)?;
    drop(replica);
    close().map_err(InstallFailure::failed)?;
    commit_staged(&staging, target).map_err(InstallFailure::failed)?;
    let replica = reopen(target.path).map_err(InstallFailure::failed)?;
    if replica.applied_index() != header.index {
        return Err(InstallFailure::failed(SnapshotError::IndexMismatch {
            expected: header.index,
            found: replica.applied_index(),
        }));
    }
    if replica.bound_group().map_err(InstallFailure::failed)? != Some(target.group) {
        return Err(InstallFailure::failed(SnapshotError::WrongGroup {
            expected: target.group,
            found: replica.bound_group().ok().flatten().unwrap_or(0),
        }));
    }
    Ok(replica)
}

/// The control plane's name in snapshot headers.
pub const CONTROL_NAME: &str = "cp-metadata";

/// Exports the control plane (file `path`) at its applied index.
pub fn export_control(
    path: &Path,
    voters: &[u64],
    control: &ControlPlane,
) -> Result<Vec<u8>, SnapshotError> {
    control.checkpoint()?;
    let file = read_checkpointed(path)?;
    let header = SnapshotHeader {
        group: 0,
        name: CONTROL_NAME.to_string(),
        index: control.applied_index(),
        term: control.applied_term(),
        voters: voters.to_vec(),
    };
    Ok(encode(&header, &file))
}

/// Installs a control-plane snapshot over `path` in place of `control`.
/// `reopen` opens the control plane on the new file. The caller must then
/// reconcile its catalogs with the new registry.
pub fn install_control(
    path: &Path,
    control: ControlPlane,
    bytes: &[u8],
    reopen: impl FnOnce(&Path) -> Result<ControlPlane, SnapshotError>,
    stop_after: Option<InstallStep>,
) -> Result<ControlPlane, InstallFailure<ControlPlane>> {
    let target = InstallTarget {
        path,
        name: CONTROL_NAME,
        group: 0,
        stop_after,
    };
    let (header, file) = match verify(bytes, 0, CONTROL_NAME, control.applied_index()) {
        Ok(verified) => verified,
        Err(error) => return Err(InstallFailure::refused(error, control)),
    };
    let staging = match stage(path, file) {
        Ok(staging) => staging,
        Err(error) => return Err(InstallFailure::refused(error, control)),
    };
    target
        .step(InstallStep::Staged)
        .map_err(InstallFailure::failed)?;
    // Closing the only connection closes the database; nothing else opens it.
    drop(control);
    commit_staged(&staging, &target).map_err(InstallFailure::failed)?;
    let control = reopen(path).map_err(InstallFailure::failed)?;
    if control.applied_index() != header.index {
        return Err(InstallFailure::failed(SnapshotError::IndexMismatch {
            expected: header.index,
            found: control.applied_index(),
        }));
    }
    Ok(control)
}
