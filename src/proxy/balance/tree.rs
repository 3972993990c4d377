//! An ordered multiset of `u32` keys standing in for haproxy's eb32 trees:
//! equal keys keep their insertion order (eb32 appends duplicates), which is
//! what decides ties in roundrobin, leastconn and the consistent-hash ring.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Where an entry sits: its key and its insertion rank among equal keys.
pub(super) type Node = (u32, u64);

/// Entries ordered by key, then by insertion; each carries a server index.
#[derive(Clone, Debug, Default)]
pub(super) struct Tree {
    entries: BTreeMap<Node, usize>,
    seq: u64,
}

impl Tree {
    /// Inserts `server` under `key`, after any entry with the same key.
    pub(super) fn insert(&mut self, key: u32, server: usize) -> Node {
        self.seq += 1;
        let node = (key, self.seq);
        self.entries.insert(node, server);
        node
    }

    /// Removes an entry (no-op when it is not there).
    pub(super) fn remove(&mut self, node: Node) {
        self.entries.remove(&node);
    }

    /// The lowest entry.
    pub(super) fn first(&self) -> Option<(Node, usize)> {
        self.entries.iter().next().map(|(n, s)| (*n, *s))
    }

    /// The highest entry.
    pub(super) fn last(&self) -> Option<(Node, usize)> {
        self.entries.iter().next_back().map(|(n, s)| (*n, *s))
    }

    /// The first entry whose key is at least `key`.
    pub(super) fn lookup_ge(&self, key: u32) -> Option<(Node, usize)> {
        self.entries.range((key, 0)..).next().map(|(n, s)| (*n, *s))
    }

    /// The entry right after `node` (which need not be in the tree any more).
    pub(super) fn next(&self, node: Node) -> Option<(Node, usize)> {
        self.entries
            .range((Bound::Excluded(node), Bound::Unbounded))
            .next()
            .map(|(n, s)| (*n, *s))
    }

    /// The entry right before `node`.
    pub(super) fn prev(&self, node: Node) -> Option<(Node, usize)> {
        self.entries
            .range(..node)
            .next_back()
            .map(|(n, s)| (*n, *s))
    }

    /// Entries in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Node, usize)> + '_ {
        self.entries.iter().map(|(n, s)| (*n, *s))
    }
}
