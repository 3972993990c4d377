//! `balance leastconn` (`lb_fwlc`) and `balance first` (`lb_fas`): servers
//! kept in a tree per group, the first one with room wins. leastconn ranks by
//! connections relative to weight and requeues a server behind its equals
//! each time it takes or releases one, which makes equals take turns;
//! `first` ranks by server id.

use super::tree::{Node, Tree};
use super::{Srv, Totals};

/// What orders the tree.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Rank {
    /// leastconn: `(served + 1) × 4096 / eweight`, 0 when idle.
    Load,
    /// first: the server id.
    Id,
}

/// The tree of actives (`[0]`) and of backups (`[1]`).
#[derive(Clone, Debug)]
pub(super) struct Ranked {
    rank: Rank,
    trees: [Tree; 2],
    node: Vec<Option<Node>>,
}

impl Ranked {
    /// Usable servers queued in declaration order.
    pub(super) fn new(servers: &[Srv], rank: Rank) -> Ranked {
        let mut r = Ranked {
            rank,
            trees: Default::default(),
            node: vec![None; servers.len()],
        };
        for i in 0..servers.len() {
            r.update(servers, i);
        }
        r
    }

    pub(super) fn rank(&self) -> Rank {
        self.rank
    }

    fn key(&self, s: &Srv) -> u32 {
        match self.rank {
            Rank::Id => s.puid,
            Rank::Load if s.served == 0 || s.eweight == 0 => 0,
            Rank::Load => ((u64::from(s.served) + 1) * 4096 / u64::from(s.eweight)) as u32,
        }
    }

    /// Requeues server `i` after a change of state, weight or load: out of
    /// its tree, and back at the end of its equals if usable.
    pub(super) fn update(&mut self, servers: &[Srv], i: usize) {
        let tree = usize::from(servers[i].backup);
        if let Some(node) = self.node[i].take() {
            self.trees[tree].remove(node);
        }
        if servers[i].usable() {
            let key = self.key(&servers[i]);
            self.node[i] = Some(self.trees[tree].insert(key, i));
        }
    }

    /// leastconn after a connection was taken or released: requeue if queued.
    pub(super) fn reposition(&mut self, servers: &[Srv], i: usize) {
        if self.node[i].is_some() {
            self.update(servers, i);
        }
    }

    /// The first server of the group in use that has room.
    pub(super) fn next(&self, servers: &[Srv], t: &Totals) -> Option<usize> {
        let tree = if t.srv_act > 0 {
            &self.trees[0]
        } else if t.fbck.is_some() {
            return t.fbck;
        } else if t.srv_bck > 0 {
            &self.trees[1]
        } else {
            return None;
        };
        tree.iter().map(|(_, i)| i).find(|&i| servers[i].has_room())
    }
}
