//! The runtime's counters for the statistics (reference/haproxy.md §3):
//! sessions current/max/total, bytes, requests and responses by class, one
//! set per frontend, backend and server. Lock-free; read into
//! `stats::Snapshot` when a page is asked for.

use super::stats::{HttpCounters, Traffic};
use std::sync::atomic::{AtomicU64, Ordering};

/// One object's counters.
#[derive(Debug, Default)]
pub struct Counters {
    cur: AtomicU64,
    max: AtomicU64,
    tot: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    req_tot: AtomicU64,
    hrsp: [AtomicU64; 6],
    /// Times a server was chosen by the balancer.
    pub lbtot: AtomicU64,
    /// Requests whose connection to a server failed (`econ`).
    pub econ: AtomicU64,
    /// Responses that failed: the server closed or timed out (`eresp`).
    pub eresp: AtomicU64,
    /// Connection retries (`wretr`) and redispatches (`wredis`).
    pub wretr: AtomicU64,
    pub wredis: AtomicU64,
    /// Requests denied by rules (`dreq`): `http-request deny`,
    /// `tcp-request content reject`.
    pub dreq: AtomicU64,
    /// Connections refused by `tcp-request connection reject` (`dcon`).
    pub dcon: AtomicU64,
}

impl Counters {
    /// A session (connection, or exchange on a server) starts; how many
    /// are open with it.
    pub fn open(&self) -> u64 {
        self.opened(self.cur.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// A session starts if fewer than `limit` are open (0: no limit); how
    /// many are open with it. Checked and counted in one step, so two
    /// threads cannot both take the last slot.
    pub fn open_below(&self, limit: u64) -> Option<u64> {
        let before = self
            .cur
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (limit == 0 || c < limit).then_some(c + 1)
            })
            .ok()?;
        Some(self.opened(before + 1))
    }

    /// The most and the total after a session opened, `now` open.
    fn opened(&self, now: u64) -> u64 {
        self.max.fetch_max(now, Ordering::Relaxed);
        self.passed();
        now
    }

    /// A session counted in the total only (`stot`): a request a
    /// backend's own rules answered, with no server.
    pub fn passed(&self) {
        self.tot.fetch_add(1, Ordering::Relaxed);
    }

    /// It ends.
    pub fn close(&self) {
        let _ = self
            .cur
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_sub(1));
    }

    /// Sessions open now.
    pub fn current(&self) -> u64 {
        self.cur.load(Ordering::Relaxed)
    }

    /// A request seen.
    pub fn request(&self) {
        self.req_tot.fetch_add(1, Ordering::Relaxed);
    }

    /// A response sent, by status class (1xx…5xx, other).
    pub fn response(&self, status: u16) {
        let class = match status {
            100..=599 => usize::from(status / 100) - 1,
            _ => 5,
        };
        self.hrsp[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes from the client (`bin`) and to it (`bout`).
    pub fn bytes(&self, inbound: u64, outbound: u64) {
        self.bytes_in.fetch_add(inbound, Ordering::Relaxed);
        self.bytes_out.fetch_add(outbound, Ordering::Relaxed);
    }

    /// `econ`, `eresp`, `wretr`, `wredis`.
    pub fn errors(&self) -> [u64; 4] {
        [&self.econ, &self.eresp, &self.wretr, &self.wredis].map(|c| c.load(Ordering::Relaxed))
    }

    /// The traffic columns.
    pub fn traffic(&self) -> Traffic {
        Traffic {
            scur: self.cur.load(Ordering::Relaxed),
            smax: self.max.load(Ordering::Relaxed),
            stot: self.tot.load(Ordering::Relaxed),
            bin: self.bytes_in.load(Ordering::Relaxed),
            bout: self.bytes_out.load(Ordering::Relaxed),
            ..Traffic::default()
        }
    }

    /// The HTTP columns.
    pub fn http(&self) -> HttpCounters {
        HttpCounters {
            hrsp: std::array::from_fn(|i| self.hrsp[i].load(Ordering::Relaxed)),
            req_tot: self.req_tot.load(Ordering::Relaxed),
        }
    }
}

/// Counts a session on `c` for as long as it lives.
pub struct Session<'a>(pub &'a Counters);

impl<'a> Session<'a> {
    /// Opens it.
    pub fn new(c: &'a Counters) -> Session<'a> {
        let _ = c.open();
        Session(c)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_classes_are_counted() {
        let c = Counters::default();
        {
            let _a = Session::new(&c);
            let _b = Session::new(&c);
            assert_eq!(c.traffic().scur, 2);
        }
        c.response(200);
        c.response(503);
        c.response(42);
        let t = c.traffic();
        assert_eq!((t.scur, t.smax, t.stot), (0, 2, 2));
        assert_eq!(c.http().hrsp, [0, 1, 0, 0, 1, 1]);
    }
}
