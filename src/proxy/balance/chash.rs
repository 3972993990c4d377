//! `hash-type consistent` (`lb_chash`): each server owns `weight × 16` points
//! on a 32-bit ring at `full_hash(id × 4096 + n)`; a hash goes to the nearest
//! point (the one before it on a tie). Weight changes add or remove a
//! server's last points, so only the keys near them move.

use super::key::full_hash;
use super::tree::{Node, Tree};
use super::{Srv, Totals};

/// The rings of actives (`[0]`) and backups (`[1]`).
#[derive(Clone, Debug)]
pub(super) struct Chash {
    rings: [Tree; 2],
    /// Each server's point keys (as many as its configured weight allows).
    keys: Vec<Vec<u32>>,
    /// The points of each server currently on its ring, in index order.
    placed: Vec<Vec<Node>>,
    /// Where the no-key round robin stopped.
    last: Option<Node>,
}

impl Chash {
    pub(super) fn new(servers: &[Srv]) -> Chash {
        let keys = servers
            .iter()
            .map(|s| {
                (0..s.uweight * 16)
                    .map(|n| full_hash(s.puid.wrapping_mul(4096).wrapping_add(n)))
                    .collect()
            })
            .collect();
        let mut c = Chash {
            rings: Default::default(),
            keys,
            placed: vec![Vec::new(); servers.len()],
            last: None,
        };
        for i in 0..servers.len() {
            c.update(servers, i);
        }
        c
    }

    /// Puts on the ring as many of server `i`'s points as its effective
    /// weight (none when unusable), adding or removing the last ones.
    pub(super) fn update(&mut self, servers: &[Srv], i: usize) {
        let s = &servers[i];
        let ring = usize::from(s.backup);
        let want = if s.usable() {
            (s.eweight as usize).min(self.keys[i].len())
        } else {
            0
        };
        while self.placed[i].len() > want {
            let Some(node) = self.placed[i].pop() else {
                break;
            };
            if self.last == Some(node) {
                // Step the round-robin cursor off the point being removed.
                let r = &self.rings[ring];
                let next = r.next(node).or_else(|| r.first()).map(|(n, _)| n);
                self.last = next.filter(|&n| n != node);
            }
            self.rings[ring].remove(node);
        }
        while self.placed[i].len() < want {
            let key = self.keys[i][self.placed[i].len()];
            let node = self.rings[ring].insert(key, i);
            self.placed[i].push(node);
        }
    }

    /// The ring in use (`Ok`), or the answer when none is (`Err`: the
    /// only backup, or nothing).
    fn ring(&self, t: &Totals) -> Result<&Tree, Option<usize>> {
        ring_index(t).map(|r| &self.rings[r])
    }

    /// The server owning the point closest to `hash`.
    pub(super) fn by_hash(&self, hash: u32, t: &Totals) -> Option<usize> {
        let ring = match self.ring(t) {
            Ok(r) => r,
            Err(direct) => return direct,
        };
        let (next, nsrv) = ring.lookup_ge(hash).or_else(|| ring.first())?;
        let (prev, psrv) = ring.prev(next).or_else(|| ring.last())?;
        let dp = hash.wrapping_sub(prev.0);
        let dn = next.0.wrapping_sub(hash);
        Some(if dp <= dn { psrv } else { nsrv })
    }

    /// Round robin over the ring's points when a request has no key.
    pub(super) fn next_rr(&mut self, servers: &[Srv], t: &Totals) -> Option<usize> {
        let ring = match ring_index(t) {
            Ok(r) => &self.rings[r],
            Err(direct) => return direct,
        };
        let mut stop = self.last;
        let mut node = self.last;
        loop {
            let step = node.and_then(|n| ring.next(n)).or_else(|| ring.first());
            let Some((n, i)) = step else {
                self.last = None;
                return None;
            };
            node = Some(n);
            if stop.is_none() {
                stop = node;
            }
            if servers[i].has_room() {
                self.last = node;
                return Some(i);
            }
            if node == stop {
                self.last = node;
                return None;
            }
        }
    }
}

/// Actives' ring if any active is usable, else the backups' (`Err` with the
/// only backup used, or `None` when nothing is usable).
fn ring_index(t: &Totals) -> Result<usize, Option<usize>> {
    if t.srv_act > 0 {
        Ok(0)
    } else if t.fbck.is_some() {
        Err(t.fbck)
    } else if t.srv_bck > 0 {
        Ok(1)
    } else {
        Err(None)
    }
}
