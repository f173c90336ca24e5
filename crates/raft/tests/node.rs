//! The multi-group node driven by a minimal synchronous loop: elections,
//! replication across groups, recovery from the log, and fail-closed starts.

use std::collections::{BTreeMap, VecDeque};

use duckraft_raft::disk::FsDisk;
use duckraft_raft::wal::{Wal, DEFAULT_SEGMENT_BYTES};
use duckraft_raft::{GroupId, MultiRaft, NodeConfig, NodeError, NodeId};

const CATALOG: GroupId = GroupId(9);

struct Harness {
    dirs: Vec<tempfile::TempDir>,
    nodes: BTreeMap<NodeId, (MultiRaft, Wal<FsDisk>)>,
    inbox: VecDeque<(NodeId, NodeId, Vec<u8>)>,
    applied: BTreeMap<(NodeId, GroupId), Vec<Vec<u8>>>,
}

fn config(id: NodeId) -> NodeConfig {
    NodeConfig::new(id, 1000 + id)
}

impl Harness {
    fn new(n: u64) -> Harness {
        let mut h = Harness {
            dirs: Vec::new(),
            nodes: BTreeMap::new(),
            inbox: VecDeque::new(),
            applied: BTreeMap::new(),
        };
        for id in 1..=n {
            h.dirs.push(tempfile::tempdir().unwrap());
            h.start(id, &BTreeMap::new()).unwrap();
            let voters: Vec<u64> = (1..=n).collect();
            let (raft, _) = h.nodes.get_mut(&id).unwrap();
            raft.create_group(GroupId::CONTROL, &voters).unwrap();
            raft.create_group(CATALOG, &voters).unwrap();
        }
        h
    }

    fn start(&mut self, id: NodeId, applied: &BTreeMap<GroupId, u64>) -> Result<(), NodeError> {
        let disk = FsDisk::open(self.dirs[(id - 1) as usize].path()).unwrap();
        let (wal, recovered) = Wal::open(disk, DEFAULT_SEGMENT_BYTES).unwrap();
        let raft = MultiRaft::recover(config(id), recovered.records, applied)?;
        self.nodes.insert(id, (raft, wal));
        Ok(())
    }

    /// Runs every node to quiescence, delivering all messages, `ticks` times.
    fn run(&mut self, ticks: usize) {
        for _ in 0..ticks {
            let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
            for id in &ids {
                self.nodes.get_mut(id).unwrap().0.tick();
            }
            for _ in 0..50 {
                let mut quiet = true;
                for id in &ids {
                    quiet &= !self.pump(*id);
                }
                while let Some((from, to, bytes)) = self.inbox.pop_front() {
                    quiet = false;
                    if let Some((raft, _)) = self.nodes.get_mut(&to) {
                        raft.step(from, &bytes).unwrap();
                    }
                }
                if quiet {
                    break;
                }
            }
        }
    }

    fn pump(&mut self, id: NodeId) -> bool {
        let mut busy = false;
        loop {
            let (raft, wal) = self.nodes.get_mut(&id).unwrap();
            let out = raft.poll();
            if out.is_empty() {
                return busy;
            }
            busy = true;
            if let Some(batch) = out.wal {
                wal.write(&batch.records).unwrap();
                wal.sync().unwrap();
                raft.wal_synced(batch.id);
            }
            for (to, bytes) in out.messages {
                self.inbox.push_back((id, to, bytes));
            }
            for (group, entries) in out.committed {
                let log = self.applied.entry((id, group)).or_default();
                for e in entries {
                    if !e.data.is_empty() {
                        log.push(e.data.to_vec());
                    }
                }
            }
        }
    }

    fn leader(&self, group: GroupId) -> Option<NodeId> {
        self.nodes
            .iter()
            .find(|(_, (r, _))| r.is_leader(group))
            .map(|(id, _)| *id)
    }
}

#[test]
fn elects_leaders_and_replicates_every_group_to_every_node() {
    let mut h = Harness::new(3);
    h.run(60);
    let leader = h
        .leader(GroupId::CONTROL)
        .expect("control group elects a leader");
    assert!(h.leader(CATALOG).is_some());
    for (id, (raft, _)) in &h.nodes {
        assert_eq!(raft.leader(GroupId::CONTROL), Some(leader), "node {id}");
        assert_eq!(raft.leader(GroupId(999)), None, "no such group");
    }
    // Propose through a follower: raft-rs forwards to the leader.
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    for i in 0..5 {
        let (raft, _) = h.nodes.get_mut(&follower).unwrap();
        raft.propose(CATALOG, format!("write {i}").into_bytes())
            .unwrap();
        raft.propose(GroupId::CONTROL, format!("cp {i}").into_bytes())
            .unwrap();
        h.run(2);
    }
    h.run(5);
    for id in 1..=3 {
        let log = &h.applied[&(id, CATALOG)];
        assert_eq!(log.len(), 5, "node {id} applied {log:?}");
        assert_eq!(log[4], b"write 4");
        assert_eq!(h.applied[&(id, GroupId::CONTROL)].len(), 5);
    }
    let status = h.nodes[&leader].0.status();
    let control = status.iter().find(|s| s.group == GroupId::CONTROL).unwrap();
    assert_eq!(control.role, "leader");
    assert_eq!(control.commit, control.handed_out);
    assert_eq!(control.progress.len(), 3);
}

#[test]
fn restart_recovers_the_log_and_hands_out_only_unapplied_entries() {
    let mut h = Harness::new(3);
    h.run(60);
    let leader = h.leader(CATALOG).unwrap();
    for i in 0..4 {
        h.nodes
            .get_mut(&leader)
            .unwrap()
            .0
            .propose(CATALOG, vec![i])
            .unwrap();
        h.run(1);
    }
    h.run(3);
    let (raft, _) = &h.nodes[&3];
    let before = raft.status();
    // Node 3 restarts with a state machine that applied up to index 2.
    h.nodes.remove(&3);
    h.applied.remove(&(3, CATALOG));
    let applied = BTreeMap::from([(CATALOG, 2), (GroupId::CONTROL, 0)]);
    h.start(3, &applied).unwrap();
    let after = h.nodes[&3].0.status();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (b.group, b.term, b.last_index),
            (a.group, a.term, a.last_index)
        );
    }
    h.run(3);
    // Entries 1..=2 (leader no-op plus the first write) are not handed out again.
    let replayed = &h.applied[&(3, CATALOG)];
    assert_eq!(replayed, &vec![vec![1u8], vec![2], vec![3]]);
}

#[test]
fn a_state_machine_ahead_of_the_log_refuses_to_start() {
    let mut h = Harness::new(1);
    h.run(40);
    assert_eq!(h.leader(CATALOG), Some(1));
    h.nodes.remove(&1);
    let applied = BTreeMap::from([(CATALOG, 99)]);
    match h.start(1, &applied) {
        Err(NodeError::AppliedBeyondLog {
            group, applied: 99, ..
        }) => assert_eq!(group, CATALOG),
        Err(other) => panic!("unexpected error {other}"),
        Ok(()) => panic!("started with a state machine ahead of its log"),
    }
}

#[test]
fn malformed_peer_bytes_are_refused_whole() {
    let mut h = Harness::new(1);
    assert!(h.nodes.get_mut(&1).unwrap().0.step(2, b"garbage").is_err());
    assert!(h.nodes.get_mut(&1).unwrap().0.step(2, &[]).is_err());
}

#[test]
fn a_removed_group_stays_removed_across_restarts_and_recreation() {
    let mut h = Harness::new(3);
    h.run(60);
    let leader = h.leader(CATALOG).unwrap();
    h.nodes
        .get_mut(&leader)
        .unwrap()
        .0
        .propose(CATALOG, b"before the drop".to_vec())
        .unwrap();
    h.run(3);
    for id in 1..=3 {
        h.nodes.get_mut(&id).unwrap().0.remove_group(CATALOG);
    }
    h.run(3);
    for id in 1..=3 {
        let (raft, _) = &h.nodes[&id];
        assert_eq!(raft.group_ids(), vec![GroupId::CONTROL]);
    }
    // The control plane re-applying the catalog's creation after a restart
    // must not bring the group back, and its old log records stay dead.
    h.nodes.remove(&2);
    h.start(2, &BTreeMap::new()).unwrap();
    let (raft, _) = h.nodes.get_mut(&2).unwrap();
    assert_eq!(raft.group_ids(), vec![GroupId::CONTROL]);
    raft.create_group(CATALOG, &[1, 2, 3]).unwrap();
    assert_eq!(raft.group_ids(), vec![GroupId::CONTROL]);
    h.run(20);
    assert!(h.leader(CATALOG).is_none());
    assert!(h.leader(GroupId::CONTROL).is_some());
}
