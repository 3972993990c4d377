//! Connection limits and the soft stop for the proxy runtime. The accept
//! loops take a `Ticket` (room under the frontend's and the global
//! `maxconn`) before accepting, so at the limit the process stops
//! accepting and clients wait in the kernel's backlog, as with haproxy;
//! each accepted connection then lives as one `Live` guard. The soft stop
//! (SIGUSR1, `-sf`) closes the listeners and waits for the last guard.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The process's sessions: how many are live, and the global `maxconn`.
pub struct Drain {
    live: AtomicUsize,
    idle: Notify,
    global: Option<Arc<Semaphore>>,
}

/// One frontend's door: its own `maxconn` and its cumulated connections
/// (the `FE:` count of the stop line).
#[derive(Default)]
pub struct Gate {
    limit: Option<Arc<Semaphore>>,
    accepted: AtomicU64,
    current: AtomicUsize,
}

impl Gate {
    /// A frontend limited to `maxconn` connections (`None`: only the
    /// global limit applies).
    pub fn new(maxconn: Option<u32>) -> Gate {
        Gate {
            limit: maxconn.map(|n| Arc::new(Semaphore::new(permits(n)))),
            accepted: AtomicU64::new(0),
            current: AtomicUsize::new(0),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections live now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }
}

/// Room for one more connection, taken before `accept`.
pub struct Ticket {
    _front: Option<OwnedSemaphorePermit>,
    _global: Option<OwnedSemaphorePermit>,
}

/// A live session; dropping it gives its room back and, for the last one
/// of a soft stop, lets the process exit.
pub struct Live {
    drain: Arc<Drain>,
    gate: Arc<Gate>,
    _ticket: Ticket,
}

fn permits(n: u32) -> usize {
    usize::try_from(n).map_or(Semaphore::MAX_PERMITS, |n| n.min(Semaphore::MAX_PERMITS))
}

impl Drain {
    /// A process allowed `maxconn` concurrent connections (`None`: no limit).
    pub fn new(maxconn: Option<u32>) -> Arc<Drain> {
        Arc::new(Drain {
            live: AtomicUsize::new(0),
            idle: Notify::new(),
            global: maxconn.map(|n| Arc::new(Semaphore::new(permits(n)))),
        })
    }

    /// Waits for room under `gate`'s limit, then under the global one (in
    /// that order, so that a full frontend holds no global room).
    pub async fn admit(&self, gate: &Gate) -> Ticket {
        let take = |s: &Option<Arc<Semaphore>>| s.as_ref().map(|s| Arc::clone(s).acquire_owned());
        // The semaphores are never closed: acquiring fails only if they were.
        let front = match take(&gate.limit) {
            Some(f) => f.await.ok(),
            None => None,
        };
        let global = match take(&self.global) {
            Some(g) => g.await.ok(),
            None => None,
        };
        Ticket {
            _front: front,
            _global: global,
        }
    }

    /// An accepted connection on `gate`: counted until the guard drops.
    pub fn start(self: &Arc<Self>, gate: &Arc<Gate>, ticket: Ticket) -> Live {
        gate.accepted.fetch_add(1, Ordering::Relaxed);
        gate.current.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_add(1, Ordering::AcqRel);
        Live {
            drain: Arc::clone(self),
            gate: Arc::clone(gate),
            _ticket: ticket,
        }
    }

    /// Live sessions.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Resolves once no session is live.
    pub async fn idle(&self) {
        loop {
            // Created before the check: a wake-up in between is not lost.
            let woken = self.idle.notified();
            if self.live() == 0 {
                return;
            }
            woken.await;
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.gate.current.fetch_sub(1, Ordering::Relaxed);
        if self.drain.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drain.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn the_limit_holds_the_next_admission_until_a_session_ends() {
        rt().block_on(async {
            let drain = Drain::new(Some(2));
            let gate = Arc::new(Gate::new(None));
            let a = drain.start(&gate, drain.admit(&gate).await);
            let b = drain.start(&gate, drain.admit(&gate).await);
            let third = tokio::time::timeout(Duration::from_millis(50), drain.admit(&gate)).await;
            assert!(third.is_err(), "a third admission must wait");
            drop(a);
            let c = tokio::time::timeout(Duration::from_millis(50), drain.admit(&gate)).await;
            assert!(c.is_ok(), "room again once one ended");
            assert_eq!((drain.live(), gate.accepted(), gate.current()), (1, 2, 1));
            drop(b);
        });
    }

    #[test]
    fn a_frontend_limit_applies_below_the_global_one() {
        rt().block_on(async {
            let drain = Drain::new(Some(10));
            let small = Arc::new(Gate::new(Some(1)));
            let other = Arc::new(Gate::new(None));
            let _a = drain.start(&small, drain.admit(&small).await);
            let more = tokio::time::timeout(Duration::from_millis(50), drain.admit(&small)).await;
            assert!(more.is_err());
            let elsewhere =
                tokio::time::timeout(Duration::from_millis(50), drain.admit(&other)).await;
            assert!(elsewhere.is_ok(), "other frontends are not held");
        });
    }

    #[test]
    fn idle_resolves_when_the_last_session_ends() {
        rt().block_on(async {
            let drain = Drain::new(None);
            let gate = Arc::new(Gate::default());
            tokio::time::timeout(Duration::from_millis(50), drain.idle())
                .await
                .expect("idle with no session");
            let live = drain.start(&gate, drain.admit(&gate).await);
            let waiting = tokio::time::timeout(Duration::from_millis(50), drain.idle()).await;
            assert!(waiting.is_err(), "a live session keeps it busy");
            let d = Arc::clone(&drain);
            let waiter = tokio::spawn(async move { d.idle().await });
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(live);
            tokio::time::timeout(Duration::from_millis(200), waiter)
                .await
                .expect("woken")
                .expect("joined");
        });
    }
}
