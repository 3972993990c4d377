//! `slowstart`: a server that comes back UP (a check, or leaving
//! maintenance) takes a growing share of the traffic. The steps are
//! `balance::slowstart`'s; this side only keeps time and tells the
//! balancer, once a second from the server's change, as haproxy's warm-up
//! task does. Nothing ramps at start-up.

use super::{Member, Pool};
use crate::proxy::balance::slowstart;
use crate::proxy::balance::{Balancer, ServerId};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Pool {
    /// Server `i` came back UP: with a `slowstart` it starts warming up at
    /// its lowest step (before the balancer sees it up, as haproxy sets
    /// the weight first).
    pub(super) fn came_up(&self, b: &mut Balancer, i: usize) {
        let m = &self.members[i];
        if m.slowstart.is_none() {
            return;
        }
        let now = Instant::now();
        if let Ok(mut w) = m.warming.lock() {
            *w = Some(now);
        }
        self.step(b, i, now, now);
        self.warm.notify_one();
    }

    /// Moves the servers warming up to their step at `now`; when the next
    /// step is due.
    fn steps(&self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut warmed = Vec::new();
        {
            let Ok(mut b) = self.balancer.lock() else {
                return None;
            };
            for (i, m) in self.members.iter().enumerate() {
                let Some(since) = m.warming.lock().ok().and_then(|w| *w) else {
                    continue;
                };
                match self.step(&mut b, i, since, now) {
                    Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                    None => {
                        if let Ok(mut w) = m.warming.lock() {
                            *w = None;
                        }
                        if self.up_and_ready(m) {
                            warmed.push(i);
                        }
                    }
                }
            }
        }
        for i in warmed {
            self.announce(i, true, None);
        }
        next
    }

    /// Applies server `i`'s step at `now` (warming since `since`) to the
    /// balancer and its `maxconn`; when its next step is due (None: warm).
    fn step(&self, b: &mut Balancer, i: usize, since: Instant, now: Instant) -> Option<Instant> {
        let m = &self.members[i];
        let ramp = m
            .slowstart
            .and_then(|ss| slowstart::ramp(now.saturating_duration_since(since), ss));
        let _ = b.set_ramp(ServerId(i), ramp);
        let before = self.limit_of(i);
        m.ramp
            .store(ramp.map_or(100, |r| r.percent), Ordering::Relaxed);
        let limit = self.limit_of(i);
        // Room grew: as many waiters may go (haproxy's pendconn_grab_from_px).
        if before > 0 {
            for _ in before..limit {
                self.queues.freed(i);
            }
        }
        ramp.map(|r| since + r.next)
    }

    fn up_and_ready(&self, m: &Member) -> bool {
        m.up.load(Ordering::Relaxed) && m.admin.load(Ordering::Relaxed) & super::MAINT == 0
    }

    /// Keeps time for the servers with a `slowstart` (on the current tokio
    /// runtime): wakes at each step due, or when one starts warming up.
    pub(super) fn start_ramps(self: &Arc<Self>) {
        if self.members.iter().all(|m| m.slowstart.is_none()) {
            return;
        }
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let kicked = pool.warm.notified();
                tokio::pin!(kicked);
                kicked.as_mut().enable();
                match pool.steps(Instant::now()) {
                    Some(at) => {
                        let at = tokio::time::Instant::from_std(at);
                        tokio::select! {
                            _ = tokio::time::sleep_until(at) => {}
                            _ = kicked => {}
                        }
                    }
                    None => kicked.await,
                }
            }
        });
    }
}
