//! Who is in the cluster, as this node knows it: member names, their Raft
//! ids and peer addresses.
//!
//! A cluster starts from a bootstrap list (the `--peers` names, or
//! `--initial-members`); each member's Raft id is its position in the sorted
//! list. Once an operator adds or removes a member, cp-metadata holds the
//! list (`duckraft_engine::control::Members`) and it alone is trusted; the
//! flags then only supply addresses.
//!
//! A node that joins a running cluster is not in the bootstrap list and
//! does not know its own Raft id, which cp-metadata assigned. It learns it
//! from the first peer message addressed to it, and the ids of the members
//! that talk to it the same way, until its copy of cp-metadata arrives. The
//! peers are authenticated by mutual TLS, so a name is never a claim.
//!
//! Each node records at its first start whether it bootstrapped (and with
//! which list) or joined, and its Raft id (`<data-dir>/member.json`): flags
//! that change later, as they do when a StatefulSet is scaled, never change
//! a node's identity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use duckraft_engine::command::Member;
use duckraft_engine::control::Members;
use duckraft_raft::NodeId;
use serde::{Deserialize, Serialize};

const IDENTITY_FILE: &str = "member.json";

/// What a node records about itself at its first start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: String,
    pub raft_id: NodeId,
    /// The bootstrap list, if this node bootstrapped the cluster; `None` if
    /// it joined a running one.
    pub bootstrap: Option<Vec<String>>,
}

impl Identity {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(IDENTITY_FILE)
    }

    /// The recorded identity, if any. A recorded name other than `node`
    /// means the data directory belongs to another member: refuse.
    pub fn load(data_dir: &Path, node: &str) -> anyhow::Result<Option<Identity>> {
        let path = Identity::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let identity: Identity = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a member identity", path.display()))?;
        if identity.name != node {
            bail!(
                "{} belongs to member {}, not {node}: this data directory is another node's",
                path.display(),
                identity.name
            );
        }
        Ok(Some(identity))
    }

    /// Writes the identity durably (temporary file, fsync, rename, fsync
    /// of the directory) before the node takes part in any vote.
    pub fn store(&self, data_dir: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        let path = Identity::path(data_dir);
        let staged = data_dir.join(format!(".{IDENTITY_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(self).expect("identity serializes");
        let mut file = std::fs::File::create(&staged)
            .with_context(|| format!("creating {}", staged.display()))?;
        file.write_all(&json)?;
        file.sync_all()?;
        std::fs::rename(&staged, &path)
            .with_context(|| format!("renaming {} into place", staged.display()))?;
        std::fs::File::open(data_dir)?.sync_all()?;
        Ok(())
    }

    /// A bootstrap member's identity: its position in the sorted list.
    pub fn bootstrap(node: &str, list: &[String]) -> anyhow::Result<Identity> {
        let mut list = list.to_vec();
        list.sort();
        list.dedup();
        let Some(position) = list.iter().position(|m| m == node) else {
            bail!("{node} is not in the bootstrap member list {list:?}");
        };
        Ok(Identity {
            name: node.to_string(),
            raft_id: position as NodeId + 1,
            bootstrap: Some(list),
        })
    }
}

/// The members as this node knows them; owned by the replication driver.
#[derive(Clone, Debug)]
pub struct Membership {
    pub node: String,
    pub id: NodeId,
    /// Name to Raft id.
    ids: BTreeMap<String, NodeId>,
    /// Name to peer address, from the flags and then cp-metadata.
    addresses: BTreeMap<String, String>,
    /// The bootstrap list's ids, sorted; empty on a node that joined.
    bootstrap_voters: Vec<NodeId>,
    /// cp-metadata's version of the list this view follows (0: the
    /// bootstrap list).
    pub version: u64,
}

impl Membership {
    /// `addresses` are the `--peers` flags (this node may be among them).
    pub fn new(identity: &Identity, addresses: &BTreeMap<String, String>) -> Membership {
        let mut ids = BTreeMap::from([(identity.name.clone(), identity.raft_id)]);
        let mut bootstrap_voters = Vec::new();
        if let Some(list) = &identity.bootstrap {
            for (position, name) in list.iter().enumerate() {
                ids.insert(name.clone(), position as NodeId + 1);
                bootstrap_voters.push(position as NodeId + 1);
            }
        }
        Membership {
            node: identity.name.clone(),
            id: identity.raft_id,
            ids,
            addresses: addresses.clone(),
            bootstrap_voters,
            version: 0,
        }
    }

    pub fn raft_id(&self, name: &str) -> Option<NodeId> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: NodeId) -> Option<&str> {
        self.ids
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(name, _)| name.as_str())
    }

    /// Whether this node joined a running cluster rather than bootstrapping it.
    pub fn joined(&self) -> bool {
        self.bootstrap_voters.is_empty()
    }

    /// The voters a group created from the bootstrap list starts with.
    pub fn bootstrap_voters(&self) -> &[NodeId] {
        &self.bootstrap_voters
    }

    /// Every known member's name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.ids.keys().cloned().collect()
    }

    /// Every known member's Raft id.
    pub fn raft_ids(&self) -> Vec<NodeId> {
        self.ids.values().copied().collect()
    }

    /// Every known member with its Raft id and address.
    pub fn members(&self) -> BTreeMap<String, Member> {
        self.ids
            .iter()
            .map(|(name, id)| {
                let member = Member {
                    raft_id: *id,
                    peer_addr: self.addresses.get(name).cloned().unwrap_or_default(),
                };
                (name.clone(), member)
            })
            .collect()
    }

    /// Peer addresses for the transport: every member but this node.
    pub fn peer_addresses(&self) -> BTreeMap<String, String> {
        self.addresses
            .iter()
            .filter(|(name, _)| **name != self.node)
            .map(|(name, addr)| (name.clone(), addr.clone()))
            .collect()
    }

    /// Follows cp-metadata's list once it exists. Returns whether anything
    /// changed.
    pub fn follow(&mut self, table: &Members) -> bool {
        if table.version == 0 || table.version == self.version {
            return false;
        }
        self.version = table.version;
        self.ids = table
            .nodes
            .iter()
            .map(|(name, m)| (name.clone(), m.raft_id))
            .collect();
        for (name, member) in &table.nodes {
            self.addresses
                .insert(name.clone(), member.peer_addr.clone());
        }
        self.addresses
            .retain(|name, _| table.nodes.contains_key(name));
        true
    }

    /// A node that has no list from cp-metadata yet learns a peer's id from
    /// an authenticated message; the driver allows it only while the node
    /// has nothing applied or is joining. Returns whether it learned
    /// something new.
    pub fn learn(&mut self, name: &str, id: NodeId) -> bool {
        if self.version > 0 || self.ids.contains_key(name) {
            return false;
        }
        if self.ids.values().any(|known| *known == id) {
            return false;
        }
        self.ids.insert(name.to_string(), id);
        true
    }

    /// Whether this node is still a member (a node an operator removed
    /// keeps running, but serves nothing).
    pub fn is_member(&self) -> bool {
        self.ids.get(&self.node) == Some(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), format!("127.0.0.1:{}", 7001 + i)))
            .collect()
    }

    #[test]
    fn identities_are_recorded_once_and_belong_to_one_node() {
        let dir = tempfile::tempdir().unwrap();
        let list: Vec<String> = ["n2", "n3", "n1"].iter().map(|s| s.to_string()).collect();
        let identity = Identity::bootstrap("n2", &list).unwrap();
        assert_eq!(identity.raft_id, 2);
        assert!(Identity::bootstrap("n9", &list).is_err());
        assert_eq!(Identity::load(dir.path(), "n2").unwrap(), None);
        identity.store(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path(), "n2").unwrap(), Some(identity));
        let error = Identity::load(dir.path(), "n3").unwrap_err().to_string();
        assert!(error.contains("another node's"), "{error}");
    }

    #[test]
    fn a_joiner_learns_ids_until_cp_metadata_lists_the_members() {
        let joined = Identity {
            name: "n4".into(),
            raft_id: 4,
            bootstrap: None,
        };
        let mut view = Membership::new(&joined, &addresses(&["n1", "n2", "n3", "n4"]));
        assert!(view.joined());
        assert_eq!(view.raft_id("n1"), None);
        assert!(view.learn("n1", 1));
        assert!(!view.learn("n2", 1), "an id already taken");
        assert_eq!(view.name(1), Some("n1"));

        let mut table = Members {
            version: 2,
            ..Members::default()
        };
        for (name, id) in [("n1", 1), ("n2", 2), ("n4", 4)] {
            let member = Member {
                raft_id: id,
                peer_addr: format!("10.0.0.{id}:7000"),
            };
            table.nodes.insert(name.into(), member);
        }
        assert!(view.follow(&table));
        assert!(!view.follow(&table));
        assert!(!view.learn("n3", 3), "the list is authoritative now");
        assert_eq!(view.raft_id("n3"), None);
        assert_eq!(
            view.peer_addresses(),
            BTreeMap::from([
                ("n1".to_string(), "10.0.0.1:7000".to_string()),
                ("n2".to_string(), "10.0.0.2:7000".to_string()),
            ])
        );
        assert!(view.is_member());
        table.version = 3;
        table.nodes.remove("n4");
        view.follow(&table);
        assert!(!view.is_member());
    }
}
