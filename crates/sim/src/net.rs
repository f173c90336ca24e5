//! The simulated network: per-link delay with jitter (which reorders),
//! drops, duplication, and partitions that may be asymmetric.

use std::collections::BTreeSet;

use duckraft_raft::NodeId;
use rand::Rng;

#[derive(Clone, Debug)]
pub struct NetConfig {
    pub base_delay_us: u64,
    pub jitter_us: u64,
    pub drop_per_mille: u32,
    pub dup_per_mille: u32,
}

pub struct Net {
    pub config: NetConfig,
    /// Directed links that currently lose everything.
    blocked: BTreeSet<(NodeId, NodeId)>,
}

impl Net {
    pub fn new(config: NetConfig) -> Net {
        Net {
            config,
            blocked: BTreeSet::new(),
        }
    }

    /// Delivery delays for one message: empty when lost, two when duplicated.
    pub fn route(&self, from: NodeId, to: NodeId, rng: &mut impl Rng) -> Vec<u64> {
        if self.blocked.contains(&(from, to)) {
            return Vec::new();
        }
        if rng.gen_range(0..1000) < self.config.drop_per_mille {
            return Vec::new();
        }
        let copies = if rng.gen_range(0..1000) < self.config.dup_per_mille {
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| self.config.base_delay_us + rng.gen_range(0..=self.config.jitter_us))
            .collect()
    }

    pub fn block(&mut self, from: NodeId, to: NodeId) {
        self.blocked.insert((from, to));
    }

    /// Cuts every link between the two sides, both directions.
    pub fn partition(&mut self, side: &[NodeId], nodes: &[NodeId]) {
        for &a in side {
            for &b in nodes {
                if !side.contains(&b) {
                    self.block(a, b);
                    self.block(b, a);
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }
}
