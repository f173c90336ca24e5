//! Sessions' reads at the three `duckraft.read_consistency` levels, driven
//! the way the server's replication thread drives them
//! (`Replication::read_barrier` → `issue_reads` → `MultiRaft::read_index` →
//! `on_read_state` → `answer_reads`), and the checks each completed read
//! must pass at once:
//!
//! 1. every read returns the node's applied state, and a node's reads never
//!    go back in time (AppliedIndexMonotonic);
//! 2. a session read reflects the session's own acknowledged writes
//!    (ReadYourWrites);
//! 3. a linearizable read reflects every write acknowledged, and the state
//!    of every linearizable read completed, before it was invoked
//!    (ReadLinearizable);
//! 4. once the cluster has healed, a linearizable read does not give up
//!    (ReadCompletes).
//!
//! That each read's value is exactly the log's prefix up to its applied
//! index is judged at the end, against the model (`check::oracle`).

use duckraft_raft::{GroupId, NodeId};
use rand::Rng;

use super::Sim;
use crate::check::{self, ReadRecord};
use crate::workload::{self, Client, Frontier, Op, PendingRead, ReadLevel};

/// A linearizable read gives up after this long (the server answers 57P03).
const READ_TIMEOUT_US: u64 = 10_000_000;
/// Once the network is healed and every node restarted, a read must not
/// need to give up: a leader is elected, commits in its term and answers
/// well within this (ReadCompletes).
const READ_AFTER_HEAL_US: u64 = 5_000_000;
/// A session's pause after a read. Shorter than after a write (20–200 ms),
/// so reads add to the write load instead of displacing it.
const READ_THINK_US: std::ops::Range<u64> = 2_000..20_000;

impl Sim {
    /// A session starts a read of a random catalog on its node.
    pub(super) fn start_read(&mut self, c: usize) {
        let think = self.rng.gen_range(READ_THINK_US);
        let level = workload::next_read_level(&mut self.rng);
        let catalog = self.ready_catalogs[self.rng.gen_range(0..self.ready_catalogs.len())].clone();
        let node_id = self.clients[c].node;
        let node = &self.nodes[&node_id];
        let group = node.control.catalogs().get(&catalog).map(|g| GroupId(*g));
        let (Some(group), true) = (group, node.running.is_some()) else {
            // The server refuses: no such catalog here yet, or the node is down.
            if node.running.is_none() {
                self.reconnect(c);
            }
            self.wake_client(c, think);
            return;
        };
        if level != ReadLevel::Linearizable || self.config.injection.read_without_read_index {
            let required = (level == ReadLevel::Linearizable)
                .then(|| self.frontier.get(&group).cloned().unwrap_or_default());
            self.serve_read(c, group, level, self.now, required);
            self.wake_client(c, think);
            return;
        }
        let required = self.frontier.get(&group).cloned().unwrap_or_default();
        self.clients[c].reading = Some(PendingRead {
            catalog,
            group,
            invoked_at: self.now,
            required,
            contexts: Vec::new(),
            read_index: None,
            last_attempt: self.now,
            deadline: self.now + READ_TIMEOUT_US,
        });
        self.issue_read_index(c);
    }

    /// Asks the client's node for a read index (again).
    fn issue_read_index(&mut self, c: usize) {
        let node_id = self.clients[c].node;
        let retry_in = self.client_timeout_us;
        let node = self.nodes.get_mut(&node_id).expect("node");
        let read = self.clients[c].reading.as_mut().expect("reading");
        let context = node.next_read_context;
        node.next_read_context += 1;
        read.contexts.push(context);
        read.last_attempt = self.now;
        let group = read.group;
        if let Some(running) = node.running.as_mut() {
            if let Some(status) = running
                .raft
                .status()
                .into_iter()
                .find(|s| s.group == group && s.role == "leader")
            {
                node.leader_read_contexts.insert(context, status.term);
            }
            // Refused (no such group): retried, then given up, as on the server.
            let _ = running
                .raft
                .read_index(group, context.to_be_bytes().to_vec());
            self.drive(node_id);
        }
        if self.clients[c].reading.is_some() {
            self.wake_client(c, retry_in);
        }
    }

    /// The client's wake-up while its linearizable read waits: give up at
    /// the deadline, else ask for a read index again (the request or its
    /// answer may have been lost to a leader change).
    pub(super) fn retry_read(&mut self, c: usize) {
        let read = self.clients[c].reading.as_ref().expect("reading");
        if self.now >= read.deadline {
            let read = self.clients[c].reading.take().expect("reading");
            let client = self.clients[c].id;
            self.note(format!(
                "client {client} gives up a linearizable read of {}",
                read.catalog
            ));
            if let Some(healed) = self.healed_at {
                if self.now > healed + READ_AFTER_HEAL_US {
                    self.obs.fail(format!(
                        "ReadCompletes: client {client}'s linearizable read of {}, invoked at \
                         {:.3}ms, gave up {:.3}ms after the cluster healed",
                        read.catalog,
                        read.invoked_at as f64 / 1000.0,
                        (self.now - healed) as f64 / 1000.0
                    ));
                }
            }
            self.faults.reads_unknown += 1;
            let think = self.rng.gen_range(READ_THINK_US);
            self.wake_client(c, think);
            return;
        }
        if read.read_index.is_some() {
            // Waiting for the apply; nothing to resend.
            let retry_in = self.client_timeout_us;
            self.wake_client(c, retry_in);
            return;
        }
        self.issue_read_index(c);
    }

    /// A ReadIndex round returned `index` on `node` for `context`.
    pub(super) fn on_read_state(
        &mut self,
        node: NodeId,
        group: GroupId,
        context: &[u8],
        index: u64,
    ) {
        let Ok(bytes) = <[u8; 8]>::try_from(context) else {
            return;
        };
        let context = u64::from_be_bytes(bytes);
        let n = self.nodes.get_mut(&node).expect("node");
        if let Some(term) = n.leader_read_contexts.remove(&context) {
            self.obs.read_index_claim(group, term, index, node);
        }
        let waiting = self.clients.iter().position(|client| {
            client.node == node
                && client.reading.as_ref().is_some_and(|r| {
                    r.group == group && r.read_index.is_none() && r.contexts.contains(&context)
                })
        });
        if let Some(c) = waiting {
            self.clients[c]
                .reading
                .as_mut()
                .expect("reading")
                .read_index = Some(index);
        }
    }

    /// Serves every linearizable read on `node` whose read index the local
    /// apply has reached.
    pub(super) fn answer_reads(&mut self, node: NodeId) {
        for c in 0..self.clients.len() {
            let client = &self.clients[c];
            let Some(read) = client.reading.as_ref().filter(|_| client.node == node) else {
                continue;
            };
            let Some(index) = read.read_index else {
                continue;
            };
            let applied = self.nodes[&node]
                .replicas
                .get(&read.group)
                .map_or(0, |r| r.applied_index());
            if applied < index {
                continue;
            }
            let read = self.clients[c].reading.take().expect("reading");
            self.serve_read(
                c,
                read.group,
                ReadLevel::Linearizable,
                read.invoked_at,
                Some(read.required),
            );
            let think = self.rng.gen_range(READ_THINK_US);
            self.wake_client(c, think);
        }
    }

    /// Reads the node's applied state and checks it at once. `required` is
    /// the frontier a linearizable read must reflect.
    fn serve_read(
        &mut self,
        c: usize,
        group: GroupId,
        level: ReadLevel,
        invoked_at: u64,
        required: Option<Frontier>,
    ) {
        let Client {
            id: client,
            node: node_id,
            ..
        } = self.clients[c];
        let own_write_index = self.clients[c]
            .own_write_index
            .get(&group)
            .copied()
            .unwrap_or(0);
        let node = &self.nodes[&node_id];
        if node.fail_closed.is_some() || node.running.is_none() {
            self.obs.fail(format!(
                "FailClosed: node {node_id} served a read while down or failed closed"
            ));
            return;
        }
        let reader = &node.readers[&group];
        let index: u64 = reader
            .query_row(duckraft_engine::replica::APPLIED_INDEX_SQL, [], |r| {
                r.get(0)
            })
            .expect("the replica's bookkeeping is readable");
        let seen = check::read_summary(reader);
        self.note(format!(
            "client {client} {level:?} read of {group} on node {node_id}: applied index {index}"
        ));
        match level {
            ReadLevel::Linearizable => self.faults.linearizable_reads += 1,
            ReadLevel::Session => self.faults.session_reads += 1,
            ReadLevel::Local => self.faults.local_reads += 1,
        }
        let last = self.last_read.entry((node_id, group)).or_insert(0);
        if index < *last {
            let message = format!(
                "AppliedIndexMonotonic: node {node_id} served a {level:?} read of {group} at \
                 applied index {index} after serving one at {last}"
            );
            self.obs.fail(message);
        }
        *last = index;
        if level == ReadLevel::Session && index < own_write_index {
            self.obs.fail(format!(
                "ReadYourWrites: client {client}'s session read of {group} on node {node_id} saw \
                 applied index {index}, before its own acknowledged write at {own_write_index}"
            ));
        }
        if let Some(required) = required {
            if index < required.index {
                self.obs.fail(format!(
                    "ReadLinearizable: client {client}'s linearizable read of {group} on node \
                     {node_id}, invoked at {:.3}ms, saw applied index {index}, but {} before it \
                     was invoked",
                    invoked_at as f64 / 1000.0,
                    required.witness
                ));
            }
            let witness = format!(
                "a linearizable read by client {client} completed at {:.3}ms with applied index {index}",
                self.now as f64 / 1000.0
            );
            self.raise_frontier(group, index, witness);
        }
        self.obs.read(ReadRecord {
            group,
            node: node_id,
            client,
            level,
            at: self.now,
            index,
            seen,
        });
    }

    /// A write was acknowledged as applied: every later linearizable read of
    /// its catalog must reflect it, and so must its session's reads.
    pub(super) fn advance_frontier(
        &mut self,
        c: usize,
        node: NodeId,
        pid: duckraft_engine::command::ProposalId,
        op: &Op,
    ) {
        let Some(catalog) = op.catalog() else {
            return;
        };
        let Some(group) = self.nodes[&node].control.catalogs().get(catalog) else {
            return;
        };
        // Unknown when acknowledged before it committed (an injected bug).
        let Some(&index) = self.effect_index.get(&pid) else {
            return;
        };
        let own = self.clients[c]
            .own_write_index
            .entry(GroupId(*group))
            .or_insert(0);
        *own = (*own).max(index);
        let witness = format!(
            "write {}/{} was acknowledged at {:.3}ms, with effect at index {index},",
            pid.client,
            pid.seq,
            self.now as f64 / 1000.0
        );
        self.raise_frontier(GroupId(*group), index, witness);
    }

    fn raise_frontier(&mut self, group: GroupId, index: u64, witness: String) {
        let frontier = self.frontier.entry(group).or_default();
        if index > frontier.index {
            *frontier = Frontier { index, witness };
        }
    }
}
