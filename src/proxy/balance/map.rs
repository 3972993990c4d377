//! The static map (`lb_map`): `static-rr` and map-based hashing. A table of
//! `tot_weight` slots filled by smooth weighted selection; hashes index it
//! modulo its size, `static-rr` walks it.

use super::{Srv, Totals};

/// The map and the round-robin cursor.
#[derive(Clone, Debug)]
pub(super) struct Map {
    table: Vec<Option<usize>>,
    rr_idx: usize,
    /// The configured weights' GCD: effective weight = ceil(weight / gcd).
    gcd: u32,
}

/// GCD of the non-zero configured weights (1 when all are zero).
pub(super) fn weights_gcd(servers: &[Srv]) -> u32 {
    let mut ws = servers.iter().map(|s| s.uweight).skip_while(|&w| w == 0);
    let Some(mut g) = ws.next() else {
        return 1;
    };
    for mut w in ws {
        if g <= 1 {
            break;
        }
        while w != 0 {
            (g, w) = (w, g % w);
        }
    }
    g.max(1)
}

impl Map {
    pub(super) fn new(gcd: u32) -> Map {
        Map {
            table: Vec::new(),
            rr_idx: 0,
            gcd,
        }
    }

    pub(super) fn gcd(&self) -> u32 {
        self.gcd
    }

    /// Rebuilds the table from the usable servers of the group in use
    /// (actives, else backups), ties going to the first declared.
    pub(super) fn recalc(&mut self, servers: &[Srv], t: &Totals) {
        let tot = t.tot_weight as i64;
        self.table.clear();
        if t.tot_used == 0 {
            return;
        }
        let backup = t.srv_act == 0;
        let group: Vec<usize> = (0..servers.len())
            .filter(|&i| servers[i].backup == backup && servers[i].usable())
            .collect();
        let mut score = vec![0i64; servers.len()];
        for _ in 0..tot {
            if tot == 1 {
                self.table.push(group.first().copied());
                break;
            }
            let mut best: Option<(usize, i64)> = None;
            for &i in &group {
                score[i] += i64::from(servers[i].eweight);
                let v = (score[i] + tot) / tot;
                if best.is_none_or(|(_, max)| v > max) {
                    best = Some((i, v));
                }
            }
            if let Some((b, _)) = best {
                score[b] -= tot;
            }
            self.table.push(best.map(|(b, _)| b));
        }
    }

    /// The server in slot `hash % tot_weight`.
    pub(super) fn by_hash(&self, hash: u32, t: &Totals) -> Option<usize> {
        if t.tot_weight == 0 {
            return None;
        }
        self.table
            .get((hash % t.tot_weight) as usize)
            .copied()
            .flatten()
    }

    /// `static-rr` (and the no-key fallback): the next slot whose server has
    /// room, the cursor moving past it.
    pub(super) fn next_rr(&mut self, servers: &[Srv], t: &Totals) -> Option<usize> {
        let tot = t.tot_weight as usize;
        if tot == 0 || self.table.len() < tot {
            return None;
        }
        if self.rr_idx >= tot {
            self.rr_idx = 0;
        }
        let start = self.rr_idx;
        let mut idx = start;
        loop {
            let srv = self.table[idx];
            idx += 1;
            if let Some(s) = srv.filter(|&s| servers[s].has_room()) {
                self.rr_idx = idx;
                return Some(s);
            }
            if idx == tot {
                idx = 0;
            }
            if idx == start {
                return None;
            }
        }
    }
}
