//! `balance roundrobin`: haproxy's fast weighted round robin (`lb_fwrr`).
//!
//! Per group (actives, backups) three trees: `curr` holds the servers placed
//! in the current window, ordered by their next position; `init` holds
//! servers not placed yet, heaviest first; `next` those pushed past the
//! window. A window is `curr_weight` picks long; each pick advances a
//! server's position by `next_weight / eweight` (remainders carried in
//! `rweight`), which spreads heavy servers smoothly.

use super::tree::{Node, Tree};
use super::{Srv, Totals};

/// Largest effective weight (256 × 16); also the `init` trees' key base.
const EWGHT_MAX: i64 = 4096;
/// Positions are scaled by this in the `curr` key (`SRV_UWGHT_RANGE`).
const UWGHT_RANGE: i64 = 256;

/// Which tree of its group a server was last queued in.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
enum Place {
    /// Not usable: in no tree.
    #[default]
    Nowhere,
    Curr,
    /// `t[0]` or `t[1]` (which one is `init` changes at every window).
    Pending(usize),
}

/// Per-server position state.
#[derive(Clone, Debug, Default)]
struct Pos {
    npos: i64,
    lpos: i64,
    rweight: i64,
    place: Place,
    node: Option<Node>,
}

#[derive(Clone, Debug, Default)]
struct Group {
    curr: Tree,
    t: [Tree; 2],
    /// Index in `t` of the init tree; the other is `next`.
    init: usize,
    curr_pos: i64,
    curr_weight: i64,
    next_weight: i64,
}

impl Group {
    fn next(&self) -> usize {
        1 - self.init
    }
}

/// The round-robin state of a backend.
#[derive(Clone, Debug, Default)]
pub(super) struct Fwrr {
    act: Group,
    bck: Group,
    pos: Vec<Pos>,
}

/// Sum of the usable effective weights of one group.
fn group_weight(servers: &[Srv], backup: bool) -> i64 {
    servers
        .iter()
        .filter(|s| s.backup == backup && s.usable())
        .map(|s| i64::from(s.eweight))
        .sum()
}

impl Fwrr {
    /// Both groups start with a full window and every usable server in `init`.
    pub(super) fn init(&mut self, servers: &[Srv], _t: &Totals) {
        self.pos = vec![Pos::default(); servers.len()];
        for backup in [false, true] {
            let w = group_weight(servers, backup);
            let g = self.group_mut(backup);
            (g.curr_pos, g.curr_weight, g.next_weight) = (w, w, w);
        }
        for (i, s) in servers.iter().enumerate().filter(|(_, s)| s.usable()) {
            let init = self.group(s.backup).init;
            self.queue_by_weight(servers, i, init);
        }
    }

    fn group(&self, backup: bool) -> &Group {
        if backup { &self.bck } else { &self.act }
    }

    fn group_mut(&mut self, backup: bool) -> &mut Group {
        if backup { &mut self.bck } else { &mut self.act }
    }

    /// Puts server `i` in tree `t[which]`, heavier servers first.
    fn queue_by_weight(&mut self, servers: &[Srv], i: usize, which: usize) {
        let key = (EWGHT_MAX - i64::from(servers[i].eweight)) as u32;
        let g = self.group_mut(servers[i].backup);
        let node = g.t[which].insert(key, i);
        self.pos[i].place = Place::Pending(which);
        self.pos[i].node = Some(node);
    }

    /// Takes server `i`'s node out of whatever tree holds it (its place is kept).
    fn dequeue(&mut self, servers: &[Srv], i: usize) {
        let Some(node) = self.pos[i].node.take() else {
            return;
        };
        let place = self.pos[i].place;
        let g = self.group_mut(servers[i].backup);
        match place {
            Place::Curr => g.curr.remove(node),
            Place::Pending(w) => g.t[w].remove(node),
            Place::Nowhere => {}
        }
    }

    /// Queues server `i` in `curr` at its next position, or in `next` when
    /// that position falls outside the window.
    fn queue(&mut self, servers: &[Srv], i: usize) {
        let s = &servers[i];
        if !s.usable() {
            self.pos[i].place = Place::Nowhere;
            return;
        }
        let (curr_weight, next_weight, next) = {
            let g = self.group(s.backup);
            (g.curr_weight, g.next_weight, g.next())
        };
        let p = &mut self.pos[i];
        if p.npos >= 2 * curr_weight || p.npos >= curr_weight + next_weight {
            p.npos -= curr_weight;
            self.queue_by_weight(servers, i, next);
        } else {
            let key = UWGHT_RANGE * p.npos + (EWGHT_MAX + p.rweight - i64::from(s.eweight)) / 16;
            let node = self.group_mut(s.backup).curr.insert(key as u32, i);
            self.pos[i].place = Place::Curr;
            self.pos[i].node = Some(node);
        }
    }

    /// Adjusts a server's position when taking it out of its tree.
    fn get_srv(&mut self, servers: &[Srv], i: usize) {
        let g = self.group(servers[i].backup);
        let (init, next, curr_weight, curr_pos) = (g.init, g.next(), g.curr_weight, g.curr_pos);
        let p = &mut self.pos[i];
        match p.place {
            Place::Pending(w) if w == init => (p.npos, p.rweight) = (0, 0),
            Place::Pending(w) if w == next => p.npos += curr_weight,
            Place::Nowhere => p.npos = curr_pos,
            _ => {}
        }
    }

    /// The next candidate of group `backup`: the first of `curr` if its turn
    /// has come, else the heaviest unplaced server, else `curr`'s first anyway.
    fn candidate(&mut self, servers: &[Srv], backup: bool) -> Option<usize> {
        let g = self.group(backup);
        let first = g.curr.first().map(|(_, i)| i);
        if let Some(i) = first {
            if servers[i].eweight > 0 && self.pos[i].npos <= g.curr_pos {
                return Some(i);
            }
        }
        if let Some((_, i)) = g.t[g.init].first() {
            if servers[i].eweight > 0 {
                (self.pos[i].npos, self.pos[i].rweight) = (0, 0);
                return Some(i);
            }
        }
        first
    }

    /// Moves server `i` forward by one share of the window.
    fn update_position(&mut self, servers: &[Srv], i: usize) {
        let ew = i64::from(servers[i].eweight);
        if ew == 0 {
            return;
        }
        let g = self.group(servers[i].backup);
        let (curr_pos, next_weight) = (g.curr_pos, g.next_weight);
        let p = &mut self.pos[i];
        if p.npos == 0 {
            p.npos = curr_pos;
        }
        p.lpos = p.npos;
        p.npos += next_weight / ew;
        p.rweight += next_weight % ew;
        if p.rweight >= ew {
            p.rweight -= ew;
            p.npos += 1;
        }
    }

    /// The next server; full servers are skipped and requeued.
    pub(super) fn next(&mut self, servers: &[Srv], t: &Totals) -> Option<usize> {
        let backup = if t.srv_act > 0 {
            false
        } else if t.fbck.is_some() {
            return t.fbck;
        } else if t.srv_bck > 0 {
            true
        } else {
            return None;
        };
        let mut switched = false;
        let mut full = Vec::new();
        let chosen = loop {
            let g = self.group_mut(backup);
            if g.curr_weight == 0 {
                (g.curr_pos, g.curr_weight) = (g.next_weight, g.next_weight);
            }
            let found = loop {
                if let Some(i) = self.candidate(servers, backup) {
                    break Some(i);
                }
                if switched {
                    break None;
                }
                switched = true;
                let g = self.group_mut(backup);
                g.init = g.next();
                g.curr_weight = g.next_weight;
                g.curr_pos = g.curr_weight;
            };
            let Some(i) = found else {
                break None;
            };
            self.update_position(servers, i);
            self.dequeue(servers, i);
            self.group_mut(backup).curr_pos += 1;
            if servers[i].has_room() {
                break Some(i);
            }
            full.push(i);
        };
        if let Some(i) = chosen {
            self.queue(servers, i);
        }
        // Skipped servers go back last-skipped first; after a window switch
        // their place is lost and only their weight counts.
        for &i in full.iter().rev() {
            if switched {
                let init = self.group(backup).init;
                self.queue_by_weight(servers, i, init);
            } else {
                self.queue(servers, i);
            }
        }
        chosen
    }

    /// Server `i` became usable.
    pub(super) fn up(&mut self, servers: &[Srv], i: usize) {
        let backup = servers[i].backup;
        self.group_mut(backup).next_weight = group_weight(servers, backup);
        self.get_srv(servers, i);
        let g = self.group(backup);
        let ew = i64::from(servers[i].eweight.max(1));
        self.pos[i].npos = g.curr_pos + (g.next_weight + g.curr_weight - g.curr_pos) / ew;
        self.queue(servers, i);
    }

    /// Server `i` stopped being usable.
    pub(super) fn down(&mut self, servers: &[Srv], i: usize) {
        let backup = servers[i].backup;
        self.group_mut(backup).next_weight = group_weight(servers, backup);
        self.dequeue(servers, i);
        self.pos[i].place = Place::Nowhere;
    }

    /// Server `i`'s weight changed while it stayed usable.
    pub(super) fn reweight(&mut self, servers: &[Srv], i: usize) {
        let backup = servers[i].backup;
        self.group_mut(backup).next_weight = group_weight(servers, backup);
        let init = self.group(backup).init;
        match self.pos[i].place {
            Place::Pending(w) if w == init => {
                self.dequeue(servers, i);
                self.queue_by_weight(servers, i, init);
            }
            Place::Nowhere => {
                self.dequeue(servers, i);
                self.up(servers, i);
            }
            _ => {
                self.get_srv(servers, i);
                let g = self.group(backup);
                let (curr_pos, next_weight) = (g.curr_pos, g.next_weight);
                let ew = i64::from(servers[i].eweight.max(1));
                let p = &mut self.pos[i];
                let prev_next = p.npos;
                let step = next_weight / ew;
                p.npos = (p.lpos + step).min(prev_next);
                p.rweight = 0;
                if p.npos < curr_pos + 2 {
                    p.npos = curr_pos + step;
                }
                self.dequeue(servers, i);
                self.queue(servers, i);
            }
        }
    }
}
