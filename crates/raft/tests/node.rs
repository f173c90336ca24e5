//! The multi-group node driven by a minimal synchronous loop: elections,
//! replication across groups, recovery from the log, and fail-closed starts.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use duckraft_raft::codec;
use duckraft_raft::disk::FsDisk;
use duckraft_raft::storage::{Conf, MemberChange};
use duckraft_raft::wal::{Wal, DEFAULT_SEGMENT_BYTES};
use duckraft_raft::{
    GroupId, LostData, Message, MessageType, MultiRaft, NodeConfig, NodeError, NodeId, ProposeError,
};

const CATALOG: GroupId = GroupId(9);

struct Harness {
    dirs: Vec<tempfile::TempDir>,
    nodes: BTreeMap<NodeId, (MultiRaft, Wal<FsDisk>)>,
    inbox: VecDeque<(NodeId, NodeId, Vec<u8>)>,
    applied: BTreeMap<(NodeId, GroupId), Vec<Vec<u8>>>,
    /// (index, term) of the last entry each state machine applied.
    positions: BTreeMap<(NodeId, GroupId), (u64, u64)>,
    /// Nodes cut off: not ticked, and messages to or from them are lost.
    down: BTreeSet<NodeId>,
    installed: u64,
    /// This node goes down right after its state machine installs a
    /// snapshot, before the node is told (a crash in between).
    crash_on_install: Option<NodeId>,
}

/// A toy state machine image: the applied payloads, length-prefixed.
fn encode_image(applied: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for data in applied {
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

fn decode_image(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut applied = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        applied.push(bytes[4..4 + len].to_vec());
        bytes = &bytes[4 + len..];
    }
    applied
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
            positions: BTreeMap::new(),
            down: BTreeSet::new(),
            installed: 0,
            crash_on_install: None,
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

    fn start(
        &mut self,
        id: NodeId,
        applied: &BTreeMap<GroupId, (u64, u64)>,
    ) -> Result<(), NodeError> {
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
            for id in ids.iter().filter(|id| !self.down.contains(id)) {
                self.nodes.get_mut(id).unwrap().0.tick();
            }
            for _ in 0..50 {
                let mut quiet = true;
                for id in &ids {
                    quiet &= !self.pump(*id);
                }
                while let Some((from, to, bytes)) = self.inbox.pop_front() {
                    quiet = false;
                    if self.down.contains(&from) || self.down.contains(&to) {
                        continue;
                    }
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
            if self.down.contains(&id) {
                return busy;
            }
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
                    self.positions.insert((id, group), (e.index, e.term));
                    if !e.data.is_empty() {
                        log.push(e.data.to_vec());
                    }
                }
            }
            for group in out.snapshot_requests {
                let (index, term, data) = self.export(id, group);
                self.nodes
                    .get_mut(&id)
                    .unwrap()
                    .0
                    .serve_snapshot(group, index, term, data)
                    .unwrap();
            }
            for (group, image) in out.snapshots {
                let (index, _) = self.positions.get(&(id, group)).copied().unwrap_or((0, 0));
                assert!(image.index > index, "a snapshot behind the state machine");
                self.applied.insert((id, group), decode_image(&image.data));
                self.positions
                    .insert((id, group), (image.index, image.term));
                self.installed += 1;
                if self.crash_on_install == Some(id) {
                    self.down.insert(id);
                    return busy;
                }
                self.nodes.get_mut(&id).unwrap().0.snapshot_installed(group);
            }
        }
    }

    /// The node's state machine as (index, term, image).
    fn export(&self, id: NodeId, group: GroupId) -> (u64, u64, Vec<u8>) {
        let (index, term) = self.positions[&(id, group)];
        (index, term, encode_image(&self.applied[&(id, group)]))
    }

    fn propose(&mut self, group: GroupId, data: Vec<u8>) {
        let leader = self.leader(group).unwrap();
        self.nodes
            .get_mut(&leader)
            .unwrap()
            .0
            .propose(group, data)
            .unwrap();
        self.run(1);
    }

    /// Offers an image at the node's applied index and compacts up to it.
    fn compact(&mut self, id: NodeId, group: GroupId) -> u64 {
        let (index, term, data) = self.export(id, group);
        let (raft, _) = self.nodes.get_mut(&id).unwrap();
        raft.serve_snapshot(group, index, term, data).unwrap();
        raft.compact(group, index).unwrap();
        index
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
    let applied = BTreeMap::from([(CATALOG, (2, 2)), (GroupId::CONTROL, (0, 0))]);
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
    // Its term is past anything the log holds: not a snapshot whose marker
    // a crash lost, but a lost log.
    let applied = BTreeMap::from([(CATALOG, (99, 50))]);
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

fn status(h: &Harness, id: NodeId, group: GroupId) -> duckraft_raft::GroupStatus {
    h.nodes[&id]
        .0
        .status()
        .into_iter()
        .find(|s| s.group == group)
        .unwrap()
}

#[test]
fn a_node_behind_the_compacted_log_catches_up_by_snapshot_and_restarts_from_it() {
    let mut h = Harness::new(3);
    h.run(60);
    h.down.insert(3);
    for i in 0..10u8 {
        h.propose(CATALOG, vec![i]);
    }
    h.run(3);
    for id in [1, 2] {
        let index = h.compact(id, CATALOG);
        assert_eq!(status(&h, id, CATALOG).first_index, index + 1);
    }
    h.run(3);
    h.down.remove(&3);
    h.run(40);
    assert!(h.installed >= 1, "node 3 never installed a snapshot");
    let leader = h.leader(CATALOG).unwrap();
    assert_eq!(h.applied[&(3, CATALOG)], h.applied[&(leader, CATALOG)]);
    assert!(status(&h, 3, CATALOG).first_index > 1);
    // Entries after the snapshot still replicate to it.
    h.propose(CATALOG, b"after".to_vec());
    h.run(3);
    assert_eq!(h.applied[&(3, CATALOG)].last().unwrap(), b"after");

    // Every node restarts from its compacted log and its state machine.
    for id in 1..=3 {
        let before = status(&h, id, CATALOG);
        let applied = BTreeMap::from([
            (CATALOG, h.positions[&(id, CATALOG)]),
            (GroupId::CONTROL, (0, 0)),
        ]);
        h.nodes.remove(&id);
        h.start(id, &applied).unwrap();
        let after = status(&h, id, CATALOG);
        assert_eq!(
            (before.first_index, before.last_index),
            (after.first_index, after.last_index)
        );
    }
    h.run(40);
    h.propose(CATALOG, b"after restart".to_vec());
    h.run(3);
    for id in 1..=3 {
        assert_eq!(h.applied[&(id, CATALOG)].last().unwrap(), b"after restart");
    }
}

#[test]
fn a_state_machine_behind_the_log_start_refuses_to_start() {
    let mut h = Harness::new(1);
    h.run(40);
    for i in 0..5u8 {
        h.propose(CATALOG, vec![i]);
    }
    let index = h.compact(1, CATALOG);
    h.run(2);
    h.nodes.remove(&1);
    let applied = BTreeMap::from([(CATALOG, (index - 1, 1))]);
    match h.start(1, &applied) {
        Err(NodeError::AppliedBeforeLog { group, .. }) => assert_eq!(group, CATALOG),
        Err(other) => panic!("unexpected error {other}"),
        Ok(()) => panic!("started with a state machine behind the log's start"),
    }
}

#[test]
fn a_snapshot_installed_just_before_a_crash_restarts_the_log_after_it() {
    let mut h = Harness::new(1);
    h.run(40);
    h.propose(CATALOG, b"x".to_vec());
    let (last, term) = h.positions[&(1, CATALOG)];
    h.nodes.remove(&1);
    // The state machine holds a (later) snapshot; its marker never reached the log.
    let applied = BTreeMap::from([(CATALOG, (last + 5, term))]);
    h.start(1, &applied).unwrap();
    let status = status(&h, 1, CATALOG);
    assert_eq!(
        (status.first_index, status.last_index),
        (last + 6, last + 5)
    );
}

#[test]
fn the_rewritten_log_replays_to_the_same_state_and_drops_old_segments() {
    let mut h = Harness::new(3);
    h.run(60);
    for i in 0..20u8 {
        h.propose(CATALOG, vec![i; 100]);
    }
    h.run(3);
    for id in 1..=3 {
        h.compact(id, CATALOG);
    }
    h.run(3);
    for i in 0..3u8 {
        h.propose(CATALOG, vec![i]);
    }
    h.run(3);
    let before: Vec<_> = h.nodes[&2].0.status();
    let (raft, wal) = h.nodes.get_mut(&2).unwrap();
    let live = raft.live_records().expect("no batch in flight");
    let bytes_before = wal.total_bytes();
    wal.rewrite(&live).unwrap();
    assert!(wal.total_bytes() < bytes_before);
    let dir = h.dirs[1].path().to_path_buf();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let applied = BTreeMap::from([
        (CATALOG, h.positions[&(2, CATALOG)]),
        (GroupId::CONTROL, h.positions[&(2, GroupId::CONTROL)]),
    ]);
    h.nodes.remove(&2);
    h.start(2, &applied).unwrap();
    let after = h.nodes[&2].0.status();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (b.group, b.term, b.commit, b.first_index, b.last_index),
            (a.group, a.term, a.commit, a.first_index, a.last_index)
        );
    }
    h.run(40);
    h.propose(CATALOG, b"after rewrite".to_vec());
    h.run(3);
    assert_eq!(h.applied[&(2, CATALOG)].last().unwrap(), b"after rewrite");
}

#[test]
fn a_crash_between_an_install_and_its_log_marker_restarts_after_the_snapshot() {
    let mut h = Harness::new(3);
    h.run(60);
    h.down.insert(3);
    // A new term while node 3 is away: the snapshot's term is newer than
    // anything node 3 has durably seen until the install's Ready.
    let leader = h.leader(CATALOG).unwrap();
    let other = [1, 2].into_iter().find(|id| *id != leader).unwrap();
    h.nodes
        .get_mut(&leader)
        .unwrap()
        .0
        .transfer_leader(CATALOG, other);
    h.run(20);
    assert_eq!(h.leader(CATALOG), Some(other));
    for i in 0..10u8 {
        h.propose(CATALOG, vec![i]);
    }
    h.run(3);
    for id in [1, 2] {
        h.compact(id, CATALOG);
    }
    h.run(3);
    h.crash_on_install = Some(3);
    h.down.remove(&3);
    h.run(40);
    assert!(h.down.contains(&3), "node 3 never installed a snapshot");
    h.crash_on_install = None;
    let applied = BTreeMap::from([
        (CATALOG, h.positions[&(3, CATALOG)]),
        (
            GroupId::CONTROL,
            h.positions
                .get(&(3, GroupId::CONTROL))
                .copied()
                .unwrap_or((0, 0)),
        ),
    ]);
    h.nodes.remove(&3);
    h.start(3, &applied).unwrap();
    h.down.remove(&3);
    h.run(40);
    h.propose(CATALOG, b"after".to_vec());
    h.run(3);
    assert_eq!(h.applied[&(3, CATALOG)], h.applied[&(other, CATALOG)]);
}

fn change(h: &mut Harness, id: NodeId, change: MemberChange) -> Result<(), ProposeError> {
    let result = h
        .nodes
        .get_mut(&id)
        .unwrap()
        .0
        .change_membership(CATALOG, change);
    h.run(3);
    result
}

#[test]
fn a_node_joins_by_snapshot_as_a_learner_then_votes_and_a_voter_leaves() {
    let mut h = Harness::new(3);
    h.run(60);
    for i in 0..5u8 {
        h.propose(CATALOG, vec![i]);
    }
    let leader = h.leader(CATALOG).unwrap();
    let follower = (1..=3).find(|&id| id != leader).unwrap();
    let refused = |r: Result<(), ProposeError>| matches!(r, Err(ProposeError::Refused { .. }));
    assert!(refused(change(
        &mut h,
        follower,
        MemberChange::AddLearner(4)
    )));
    assert!(
        refused(change(&mut h, leader, MemberChange::Promote(4))),
        "not a learner"
    );
    assert!(refused(change(
        &mut h,
        leader,
        MemberChange::Remove(leader)
    )));

    // Node 4 joins knowing no configuration.
    h.dirs.push(tempfile::tempdir().unwrap());
    h.start(4, &BTreeMap::new()).unwrap();
    h.nodes
        .get_mut(&4)
        .unwrap()
        .0
        .create_group(CATALOG, &[])
        .unwrap();
    // Nor does it vote: it may be a member that lost its data and already
    // voted in this term.
    let mut vote = Message::default();
    vote.set_msg_type(MessageType::MsgRequestVote);
    vote.from = 1;
    vote.to = 4;
    vote.term = 100;
    let (raft, _) = h.nodes.get_mut(&4).unwrap();
    let dropped = raft.dropped_messages();
    raft.step(1, &codec::encode_batch(&[(CATALOG, vote)]))
        .unwrap();
    assert_eq!(raft.dropped_messages(), dropped + 1);
    h.pump(4);
    let answered = h.inbox.iter().any(|(from, _, bytes)| {
        *from == 4
            && codec::decode_batch(bytes)
                .unwrap()
                .iter()
                .any(|(_, m)| m.get_msg_type() == MessageType::MsgRequestVoteResponse)
    });
    assert!(!answered, "a joining node answered a vote request");
    let (raft, _) = h.nodes.get_mut(&leader).unwrap();
    raft.change_membership(CATALOG, MemberChange::AddLearner(4))
        .unwrap();
    assert!(
        refused(raft.change_membership(CATALOG, MemberChange::AddLearner(5))),
        "one change at a time"
    );
    h.run(20);
    // Every log still starts at 1: the leader offers entries from the
    // start, which would leave node 4 without the group's first
    // configuration, so it refuses them and stays empty.
    assert_eq!(status(&h, 4, CATALOG).conf, Conf::default());
    assert!(!h.applied.contains_key(&(4, CATALOG)));
    let expected = Conf {
        voters: vec![1, 2, 3],
        learners: vec![4],
    };
    for id in 1..=3 {
        assert_eq!(status(&h, id, CATALOG).conf, expected, "node {id}");
    }

    // Once the leader's log is compacted, node 4 gets a snapshot carrying
    // the configuration, then the log after it.
    h.compact(leader, CATALOG);
    h.run(40);
    assert_eq!(status(&h, 4, CATALOG).conf, expected);
    assert_eq!(h.applied[&(4, CATALOG)], h.applied[&(leader, CATALOG)]);
    // A learner replicates but does not count: the leader and node 4 alone
    // cannot commit.
    let others: Vec<NodeId> = (1..=3).filter(|&id| id != leader).collect();
    h.down.extend(others.iter().copied());
    h.nodes
        .get_mut(&leader)
        .unwrap()
        .0
        .propose(CATALOG, b"stalls".to_vec())
        .unwrap();
    h.run(3);
    assert_ne!(h.applied[&(leader, CATALOG)].last().unwrap(), b"stalls");
    h.down.clear();
    h.run(40);
    let leader = h.leader(CATALOG).unwrap();

    change(&mut h, leader, MemberChange::Promote(4)).unwrap();
    h.run(5);
    let leaving = (1..=3).find(|&id| id != leader).unwrap();
    change(&mut h, leader, MemberChange::Remove(leaving)).unwrap();
    h.run(5);
    let mut voters: Vec<NodeId> = (1..=4).filter(|&id| id != leaving).collect();
    voters.sort_unstable();
    let expected = Conf::voters(&voters);
    for &id in &voters {
        assert_eq!(status(&h, id, CATALOG).conf, expected, "node {id}");
    }
    // Node 4 now counts: with the leaver gone and one more voter down, the
    // leader and node 4 commit.
    let stays = voters
        .iter()
        .copied()
        .find(|&id| id != leader && id != 4)
        .unwrap();
    h.down.extend([leaving, stays]);
    h.propose(CATALOG, b"with node 4".to_vec());
    h.run(3);
    assert_eq!(h.applied[&(4, CATALOG)].last().unwrap(), b"with node 4");
    assert_eq!(
        h.applied[&(leader, CATALOG)].last().unwrap(),
        b"with node 4"
    );
    h.down.clear();
    h.run(10);

    // Every member recovers its configuration from its log and state
    // machine, whether the change is behind its snapshot or in its log.
    for &id in &voters {
        let before = status(&h, id, CATALOG).conf;
        let applied = BTreeMap::from([
            (CATALOG, h.positions[&(id, CATALOG)]),
            (GroupId::CONTROL, (0, 0)),
        ]);
        h.nodes.remove(&id);
        h.start(id, &applied).unwrap();
        assert_eq!(
            status(&h, id, CATALOG).conf,
            before,
            "node {id} after a restart"
        );
    }
    h.run(60);
    let leader = h
        .leader(CATALOG)
        .expect("the new configuration elects a leader");
    assert_ne!(leader, leaving);
    h.propose(CATALOG, b"after restart".to_vec());
    h.run(3);
    assert_eq!(h.applied[&(4, CATALOG)].last().unwrap(), b"after restart");
}

/// A voter whose data directory is wiped comes back under its old id with
/// an empty log. The leader's heartbeats still carry the commit index it
/// acknowledged: raft-rs would panic on them; the node instead records that
/// it lost acknowledged entries (the driver then stops it).
#[test]
fn a_voter_that_lost_its_log_learns_it_from_the_leaders_heartbeat() {
    let mut h = Harness::new(3);
    h.run(60);
    for i in 0..4 {
        h.propose(CATALOG, vec![i]);
        h.run(1);
    }
    h.run(5);
    let leaders = [
        h.leader(CATALOG).unwrap(),
        h.leader(GroupId::CONTROL).unwrap(),
    ];
    let wiped = (1..=3).find(|id| !leaders.contains(id)).unwrap();
    let acknowledged = status(&h, wiped, CATALOG).commit;
    assert!(acknowledged >= 5, "{acknowledged}");
    assert_eq!(h.nodes[&wiped].0.lost_data(), None);

    h.nodes.remove(&wiped);
    h.applied.retain(|(id, _), _| *id != wiped);
    h.positions.retain(|(id, _), _| *id != wiped);
    h.dirs[(wiped - 1) as usize] = tempfile::tempdir().unwrap();
    h.start(wiped, &BTreeMap::new()).unwrap();
    let (raft, _) = h.nodes.get_mut(&wiped).unwrap();
    raft.create_group(GroupId::CONTROL, &[1, 2, 3]).unwrap();
    raft.create_group(CATALOG, &[1, 2, 3]).unwrap();
    h.run(5);

    let lost = h.nodes[&wiped].0.lost_data().cloned().expect("detected");
    let LostData::Entries {
        leader,
        acknowledged,
        last_index,
        ..
    } = lost
    else {
        panic!("{lost:?}");
    };
    assert_eq!(last_index, 0);
    assert!(acknowledged > 0 && leaders.contains(&leader), "{lost:?}");
}

/// A member that joined, was promoted, and then lost its data comes back
/// as a joiner under its old id. A leader that remembers what it
/// acknowledged gives it away with its first heartbeat. A leader elected
/// since does not, and its snapshot predates the promotion, so the log
/// replayed after it promotes this node again: at an index committed before
/// this life acknowledged anything, which a real newcomer's promotion never
/// is.
#[test]
fn a_promoted_joiner_that_lost_its_data_learns_it_from_either_leader() {
    let mut h = Harness::new(3);
    h.run(60);
    h.propose(CATALOG, b"before".to_vec());
    let leader = h.leader(CATALOG).unwrap();
    change(&mut h, leader, MemberChange::AddLearner(4)).unwrap();
    h.dirs.push(tempfile::tempdir().unwrap());
    let join = |h: &mut Harness| {
        h.start(4, &BTreeMap::new()).unwrap();
        let (raft, _) = h.nodes.get_mut(&4).unwrap();
        raft.create_group(CATALOG, &[]).unwrap();
    };
    let wipe = |h: &mut Harness| {
        h.nodes.remove(&4);
        h.applied.retain(|(id, _), _| *id != 4);
        h.positions.retain(|(id, _), _| *id != 4);
        h.dirs[3] = tempfile::tempdir().unwrap();
    };
    join(&mut h);
    h.run(5);
    // Every voter's snapshot predates the promotion.
    let snapshot = h.compact(leader, CATALOG);
    for id in (1..=3).filter(|&id| id != leader) {
        assert_eq!(h.compact(id, CATALOG), snapshot);
    }
    h.run(20);
    assert_eq!(status(&h, 4, CATALOG).conf.learners, vec![4]);
    assert_eq!(h.nodes[&4].0.lost_data(), None, "a real newcomer");
    change(&mut h, leader, MemberChange::Promote(4)).unwrap();
    h.propose(CATALOG, b"after".to_vec());
    h.run(5);
    assert_eq!(status(&h, 4, CATALOG).conf.voters, vec![1, 2, 3, 4]);
    assert_eq!(h.nodes[&4].0.lost_data(), None, "a promoted newcomer");

    wipe(&mut h);
    join(&mut h);
    h.run(5);
    let lost = h.nodes[&4].0.lost_data().cloned().expect("heartbeat");
    assert!(
        matches!(lost, LostData::Entries { leader: l, last_index: 0, .. } if l == leader),
        "{lost:?}"
    );

    wipe(&mut h);
    let successor = (1..=3).find(|&id| id != leader).unwrap();
    h.nodes
        .get_mut(&leader)
        .unwrap()
        .0
        .transfer_leader(CATALOG, successor);
    h.run(20);
    assert_eq!(h.leader(CATALOG), Some(successor));
    join(&mut h);
    h.run(20);
    let lost = h.nodes[&4]
        .0
        .lost_data()
        .cloned()
        .expect("replayed promotion");
    let LostData::Promoted {
        group,
        promoted_at,
        heard,
    } = lost
    else {
        panic!("{lost:?}");
    };
    assert_eq!(group, CATALOG);
    assert!(snapshot < promoted_at && promoted_at <= heard, "{lost:?}");
}
