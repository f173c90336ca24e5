//! Snapshot export and install against real DuckDB files: a round trip
//! reproduces the state, and every kind of bad snapshot is refused before
//! anything changes.

use duckraft_engine::command::{
    self, Command, ControlCommand, Envelope, Role, WriteBatch, WriteOp,
};
use duckraft_engine::control::ControlPlane;
use duckraft_engine::replica::{Committed, Replica};
use duckraft_engine::snapshot::{self, InstallFailure, InstallStep, InstallTarget, SnapshotError};
use duckraft_engine::{Catalogs, EngineSession};

mod common;
use common::catalogs;

const GROUP: u64 = 5;
const NAME: &str = "lake";

/// A fresh catalog `NAME` bound to `GROUP`, and its replica.
fn replica(catalogs: &Catalogs) -> Replica {
    catalogs.create(NAME).unwrap();
    let conn = catalogs.open(NAME).unwrap().connect().unwrap();
    let mut replica = Replica::open(conn).unwrap();
    replica.bind_group(GROUP).unwrap();
    replica
}

fn expect_failure<T>(result: Result<T, InstallFailure<T>>) -> InstallFailure<T> {
    match result {
        Ok(_) => panic!("the snapshot was installed"),
        Err(failure) => failure,
    }
}

fn write(ops: &[&str]) -> Vec<u8> {
    let ops = ops.iter().map(|s| WriteOp::Sql(s.to_string())).collect();
    command::encode(&Envelope {
        id: None,
        command: Command::Catalog(WriteBatch::autocommit(Vec::new(), ops)),
    })
}

fn apply(replica: &mut Replica, first: u64, datas: &[Vec<u8>]) {
    let entries: Vec<Committed> = datas
        .iter()
        .enumerate()
        .map(|(i, data)| Committed {
            index: first + i as u64,
            term: 2,
            data,
        })
        .collect();
    replica.apply(&entries).unwrap();
}

/// A source node at index 3 with data, and its snapshot.
fn source() -> (tempfile::TempDir, Catalogs, Replica, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    let mut replica = replica(&catalogs);
    apply(
        &mut replica,
        1,
        &[
            write(&["CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)"]),
            write(&["INSERT INTO t SELECT i, 'row ' || i FROM range(1000) r(i)"]),
            write(&["UPDATE t SET v = 'changed' WHERE id % 7 = 0"]),
        ],
    );
    let bytes = snapshot::export_catalog(&catalogs, NAME, GROUP, &[1, 2, 3], &replica).unwrap();
    (dir, catalogs, replica, bytes)
}

#[test]
fn a_catalog_snapshot_round_trips_to_the_same_state_and_applies_on() {
    let (_dir, _catalogs, mut source, bytes) = source();
    let (header, _) = snapshot::decode(&bytes).unwrap();
    assert_eq!(
        (
            header.group,
            header.name.as_str(),
            header.index,
            header.term
        ),
        (GROUP, NAME, 3, 2)
    );
    assert_eq!(header.voters, vec![1, 2, 3]);

    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    let target = replica(&catalogs);
    // A session on the old instance sees the catalog replaced.
    let session_catalog = catalogs.open(NAME).unwrap();
    let mut target = snapshot::install_catalog(&catalogs, NAME, GROUP, target, &bytes).unwrap();
    assert_eq!(
        session_catalog.retirement(),
        Some(duckraft_engine::Retirement::Replaced)
    );
    assert_eq!(target.applied_index(), 3);
    assert_eq!(target.applied_term(), 2);
    assert_eq!(target.state_hash().unwrap(), source.state_hash().unwrap());
    assert!(!dir
        .path()
        .join("catalogs")
        .join(format!(".{NAME}.duckdb.snapshot"))
        .exists());

    // The log continues after the snapshot on both.
    let next = [write(&["INSERT INTO t VALUES (5000, 'after')"])];
    apply(&mut source, 4, &next);
    apply(&mut target, 4, &next);
    assert_eq!(target.state_hash().unwrap(), source.state_hash().unwrap());
    // And the installed file survives a reopen.
    let hash = target.state_hash().unwrap();
    drop(target);
    catalogs.retire_replicated(NAME).unwrap();
    let reopened = Replica::open(catalogs.open(NAME).unwrap().connect().unwrap()).unwrap();
    assert_eq!(reopened.applied_index(), 4);
    assert_eq!(reopened.state_hash().unwrap(), hash);
}

/// Installs `bytes` on a fresh target and expects a refusal that leaves it untouched.
fn refused(bytes: &[u8]) -> SnapshotError {
    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    let target = replica(&catalogs);
    let before = target.state_hash().unwrap();
    let failure = expect_failure(snapshot::install_catalog(
        &catalogs, NAME, GROUP, target, bytes,
    ));
    let kept = failure.kept.expect("a refusal keeps the replica");
    assert_eq!(kept.applied_index(), 0);
    assert_eq!(kept.state_hash().unwrap(), before);
    failure.error
}

#[test]
fn bad_snapshots_are_refused_before_anything_changes() {
    let (_dir, _catalogs, _source, bytes) = source();

    let mut magic = bytes.clone();
    magic[0] ^= 0xFF;
    assert_eq!(refused(&magic), SnapshotError::BadMagic);

    let mut version = bytes.clone();
    version[8] = 9;
    assert_eq!(refused(&version), SnapshotError::UnknownVersion(9));
    let mut version = bytes.clone();
    version[8] = 0;
    assert_eq!(refused(&version), SnapshotError::UnknownVersion(0));

    let mut flipped = bytes.clone();
    let last = flipped.len() - 100;
    flipped[last] ^= 0x04;
    assert_eq!(refused(&flipped), SnapshotError::Checksum);

    let mut truncated = bytes.clone();
    truncated.truncate(bytes.len() - 10);
    assert!(matches!(refused(&truncated), SnapshotError::Malformed(_)));

    assert!(matches!(refused(&bytes[..20]), SnapshotError::Malformed(_)));

    let (mut header, file) = snapshot::decode(&bytes).unwrap();
    header.group = GROUP + 1;
    assert_eq!(
        refused(&snapshot::encode(&header, file)),
        SnapshotError::WrongGroup {
            expected: GROUP,
            found: GROUP + 1
        }
    );
    let (mut header, file) = snapshot::decode(&bytes).unwrap();
    header.name = "other".into();
    assert!(matches!(
        refused(&snapshot::encode(&header, file)),
        SnapshotError::WrongName { .. }
    ));
}

#[test]
fn a_snapshot_not_past_the_applied_index_is_refused() {
    let (_dir, catalogs, replica, bytes) = source();
    let failure = expect_failure(snapshot::install_catalog(
        &catalogs, NAME, GROUP, replica, &bytes,
    ));
    assert_eq!(
        failure.error,
        SnapshotError::NotNewer {
            index: 3,
            applied: 3
        }
    );
    assert_eq!(failure.kept.unwrap().applied_index(), 3);
}

#[test]
fn a_file_whose_index_disagrees_with_its_header_fails_closed() {
    let (_dir, _catalogs, _source, bytes) = source();
    let (mut header, file) = snapshot::decode(&bytes).unwrap();
    header.index = 7;
    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    let target = replica(&catalogs);
    let forged = snapshot::encode(&header, file);
    let failure = expect_failure(snapshot::install_catalog(
        &catalogs, NAME, GROUP, target, &forged,
    ));
    assert_eq!(
        failure.error,
        SnapshotError::IndexMismatch {
            expected: 7,
            found: 3
        }
    );
    assert!(failure.kept.is_none());
}

fn open_control(path: &std::path::Path) -> Result<ControlPlane, SnapshotError> {
    let conn = duckdb::Connection::open(path).map_err(|e| SnapshotError::Engine(e.to_string()))?;
    ControlPlane::open(conn).map_err(SnapshotError::from)
}

#[test]
fn a_control_plane_snapshot_round_trips_its_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp-metadata.duckdb");
    let mut control = open_control(&path).unwrap();
    let create = |name: &str| {
        command::encode(&Envelope {
            id: None,
            command: Command::Control(ControlCommand::CreateCatalog { name: name.into() }),
        })
    };
    let admin = command::encode(&Envelope {
        id: None,
        command: Command::Control(ControlCommand::CreateRole {
            name: "admin".into(),
            role: Role {
                verifier: Some("SCRAM-SHA-256$4096:c2FsdA==$a:b".into()),
                superuser: true,
                login: true,
            },
        }),
    });
    let log = [Vec::new(), create("a"), create("b"), admin];
    let entries: Vec<Committed> = log
        .iter()
        .enumerate()
        .map(|(i, data)| Committed {
            index: i as u64 + 1,
            term: 1,
            data,
        })
        .collect();
    control.apply(&entries).unwrap();
    let bytes = snapshot::export_control(&path, &[1], &control).unwrap();

    let other = tempfile::tempdir().unwrap();
    let other_path = other.path().join("cp-metadata.duckdb");
    let target = open_control(&other_path).unwrap();
    let installed =
        snapshot::install_control(&other_path, target, &bytes, open_control, None).unwrap();
    assert_eq!(installed.applied_index(), 4);
    assert_eq!(installed.catalogs(), control.catalogs());
    // Roles travel with the registry, superuser flag included.
    assert_eq!(installed.users(), control.users());
    assert!(installed.users()["admin"].superuser);

    let (mut header, file) = snapshot::decode(&bytes).unwrap();
    header.group = GROUP;
    let failure = expect_failure(snapshot::install_control(
        &other_path,
        installed,
        &snapshot::encode(&header, file),
        open_control,
        None,
    ));
    assert!(matches!(failure.error, SnapshotError::WrongGroup { .. }));
    assert_eq!(failure.kept.unwrap().applied_index(), 4);
}

/// A crash after any step of an install leaves the catalog's file whole:
/// the old state before the replace, the snapshot's after it. Reopening
/// after `discard_staged` (what the server does at start) finds exactly one
/// of the two and no staged file.
#[test]
fn an_install_interrupted_at_any_step_leaves_the_old_or_the_new_state() {
    let (_source_dir, _source_catalogs, source, bytes) = source();
    let steps = [
        (InstallStep::Staged, false),
        (InstallStep::Closed, false),
        (InstallStep::Replaced, true),
    ];
    for (step, replaced) in steps {
        let dir = tempfile::tempdir().unwrap();
        let catalogs = catalogs(&dir);
        let mut target = replica(&catalogs);
        apply(&mut target, 1, &[write(&["CREATE TABLE old (x INTEGER)"])]);
        let old_hash = target.state_hash().unwrap();
        let path = catalogs.file_path(NAME);
        let install = InstallTarget {
            path: &path,
            name: NAME,
            group: GROUP,
            stop_after: Some(step),
        };
        let close = || {
            catalogs
                .retire_replicated(NAME)
                .map_err(|e| SnapshotError::Engine(e.to_string()))
        };
        let reopen = |_: &std::path::Path| -> Result<Replica, SnapshotError> {
            panic!("an interrupted install reopened the replica")
        };
        let failure = expect_failure(snapshot::install_replica(
            &install, target, &bytes, close, reopen,
        ));
        assert_eq!(failure.error, SnapshotError::Interrupted(step));
        assert!(failure.kept.is_none());
        // A crash drops whatever the process still had open.
        catalogs.retire_replicated(NAME).unwrap();

        let staged = path.with_file_name(format!(".{NAME}.duckdb.snapshot"));
        assert_eq!(staged.exists(), !replaced, "after {step:?}");
        assert_eq!(snapshot::discard_staged(&path).unwrap(), !replaced);
        assert!(!staged.exists());
        let reopened = Replica::open(catalogs.open(NAME).unwrap().connect().unwrap()).unwrap();
        if replaced {
            assert_eq!(reopened.applied_index(), 3, "after {step:?}");
            assert_eq!(reopened.state_hash().unwrap(), source.state_hash().unwrap());
        } else {
            assert_eq!(reopened.applied_index(), 1, "after {step:?}");
            assert_eq!(reopened.state_hash().unwrap(), old_hash);
        }
    }
}

/// A DuckDB WAL still beside the file after the close means the old state
/// is not all in the file, or something still has it open: the install
/// fails closed and leaves both files as they were.
#[test]
fn an_install_refuses_to_replace_a_file_whose_wal_survived_the_close() {
    let (_source_dir, _source_catalogs, _source, bytes) = source();
    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    let target = replica(&catalogs);
    let path = catalogs.file_path(NAME);
    let wal = std::path::PathBuf::from(format!("{}.wal", path.display()));
    let install = InstallTarget {
        path: &path,
        name: NAME,
        group: GROUP,
        stop_after: None,
    };
    let close = || {
        catalogs
            .retire_replicated(NAME)
            .map_err(|e| SnapshotError::Engine(e.to_string()))?;
        // As if a connection outlived the close and kept writing.
        std::fs::write(&wal, b"uncheckpointed commits").map_err(SnapshotError::from)
    };
    let reopen = |_: &std::path::Path| -> Result<Replica, SnapshotError> {
        panic!("a refused install reopened the replica")
    };
    let failure = expect_failure(snapshot::install_replica(
        &install, target, &bytes, close, reopen,
    ));
    assert_eq!(failure.error, SnapshotError::NotCheckpointed(22));
    assert_eq!(std::fs::read(&wal).unwrap(), b"uncheckpointed commits");
    std::fs::remove_file(&wal).unwrap();
    let reopened = Replica::open(catalogs.open(NAME).unwrap().connect().unwrap()).unwrap();
    assert_eq!(reopened.applied_index(), 0, "the old file stayed");
    assert_eq!(reopened.bound_group().unwrap(), Some(GROUP));
}

/// A session's transaction reads the applied index its snapshot holds,
/// whether the newest record is in `apply_log` or was folded (checkpoint).
#[test]
fn a_session_snapshot_knows_its_applied_index_before_and_after_a_fold() {
    let (_dir, catalogs, mut replica, _bytes) = source();
    let mut session = EngineSession::new(catalogs.open(NAME).unwrap()).unwrap();
    let snapshot_index = |session: &mut EngineSession| {
        session.begin(None).unwrap();
        let index = session.applied_index().unwrap();
        session.rollback().unwrap();
        index
    };
    // export_catalog checkpointed: everything is folded, the log is empty.
    assert_eq!(snapshot_index(&mut session), 3);
    apply(
        &mut replica,
        4,
        &[write(&["INSERT INTO t VALUES (5000, 'x')"])],
    );
    assert_eq!(snapshot_index(&mut session), 4);
    // A transaction keeps its snapshot while the replica applies on.
    session.begin(None).unwrap();
    assert_eq!(session.applied_index().unwrap(), 4);
    apply(
        &mut replica,
        5,
        &[write(&["INSERT INTO t VALUES (5001, 'x')"])],
    );
    assert_eq!(session.applied_index().unwrap(), 4);
    session.rollback().unwrap();
    assert_eq!(snapshot_index(&mut session), 5);
    replica.checkpoint().unwrap();
    assert_eq!(snapshot_index(&mut session), 5);
}

/// A session that keeps a transaction open holds off DuckDB's CHECKPOINT
/// for as long as it does; an export then checkpoints a copy instead, and
/// the image still installs as the same state.
#[test]
fn a_session_holding_a_transaction_open_does_not_block_an_export() {
    let (_dir, source_catalogs, mut source, _) = source();
    let mut session = EngineSession::new(source_catalogs.open(NAME).unwrap()).unwrap();
    session.begin(None).unwrap();
    assert_eq!(session.applied_index().unwrap(), 3);
    apply(
        &mut source,
        4,
        &[write(&["INSERT INTO t VALUES (5000, 'open reader')"])],
    );
    let blocked = source.checkpoint().unwrap_err();
    assert!(
        blocked.to_string().contains("Cannot CHECKPOINT"),
        "{blocked}"
    );
    let bytes = snapshot::export_catalog(&source_catalogs, NAME, GROUP, &[1], &source).unwrap();
    let (header, _) = snapshot::decode(&bytes).unwrap();
    assert_eq!(header.index, 4);
    // Nothing of the copy is left beside the catalog.
    let leftovers: Vec<_> = std::fs::read_dir(source_catalogs.file_path(NAME).parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("export"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let dir = tempfile::tempdir().unwrap();
    let catalogs = catalogs(&dir);
    let target = replica(&catalogs);
    let target = snapshot::install_catalog(&catalogs, NAME, GROUP, target, &bytes).unwrap();
    assert_eq!(target.applied_index(), 4);
    assert_eq!(target.state_hash().unwrap(), source.state_hash().unwrap());
    // The reader kept its snapshot throughout.
    assert_eq!(session.applied_index().unwrap(), 3);
    session.rollback().unwrap();
}
