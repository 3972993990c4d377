//! A backend's queues as haproxy 2.6 keeps them: one per server (requests
//! bound to a full server by a cookie or a hash) and the backend's own
//! (requests the balancer found no room for), served in arrival order.
//! One list holds them all; each waiter is woken on its own when a slot it
//! can use frees, and keeps its place when someone else took the slot
//! first. The counts are the statistics' `qcur`/`qmax`, the places the
//! log's `%sq`/`%bq`.

use super::{Lease, Pool};
use crate::proxy::balance::RequestView;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The queues of one backend.
pub(super) struct Queues {
    inner: Mutex<Inner>,
    /// Requests waiting in any queue, readable without the lock (the
    /// backend's sessions count them, also from inside it).
    waiting: AtomicU64,
}

struct Inner {
    next_ticket: u64,
    /// Waiters in arrival order.
    waiting: VecDeque<Entry>,
    /// Per queue (the servers', then the backend's): waiting now, most
    /// ever, and how many left it with a server.
    len: Vec<u64>,
    most: Vec<u64>,
    served: Vec<u64>,
}

struct Entry {
    ticket: u64,
    queue: usize,
    /// Told of a free slot and not back yet: not to be told twice.
    woken: bool,
    wake: Arc<Notify>,
    /// The slot handed over with the wake-up, already counted on its
    /// server (haproxy's dequeue assigns the server before the stream runs,
    /// so the releasing request's log already counts it in `%sc`).
    grant: Option<Lease>,
    /// Given a slot: no longer counted as waiting.
    left: bool,
}

/// Where a request waited, for the log (`%sq`, `%bq`): 1 + the requests
/// served from that queue while it waited; 0 when it did not wait there.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(in crate::proxy) struct Place {
    pub server: u64,
    pub backend: u64,
}

impl Queues {
    /// Queues for `servers` servers and the backend.
    pub(super) fn new(servers: usize) -> Queues {
        Queues {
            inner: Mutex::new(Inner {
                next_ticket: 0,
                waiting: VecDeque::new(),
                len: vec![0; servers + 1],
                most: vec![0; servers + 1],
                served: vec![0; servers + 1],
            }),
            waiting: AtomicU64::new(0),
        }
    }

    /// The backend's own queue's index.
    fn backend(inner: &Inner) -> usize {
        inner.len.len() - 1
    }

    /// Requests waiting for server `server` (None: in the backend's queue).
    pub(super) fn len(&self, server: Option<usize>) -> u64 {
        self.inner.lock().map_or(0, |q| {
            let i = server.unwrap_or_else(|| Self::backend(&q));
            q.len.get(i).copied().unwrap_or(0)
        })
    }

    /// The most that ever waited there (`qmax`).
    pub(super) fn most(&self, server: Option<usize>) -> u64 {
        self.inner.lock().map_or(0, |q| {
            let i = server.unwrap_or_else(|| Self::backend(&q));
            q.most.get(i).copied().unwrap_or(0)
        })
    }

    /// Requests waiting in any queue of the backend.
    pub(super) fn total(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Joins the queue of `server` (None: the backend's) at its end.
    pub(super) fn join(&self, server: Option<usize>) -> Ticket<'_> {
        let wake = Arc::new(Notify::new());
        let mut q = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let queue = server.unwrap_or_else(|| Self::backend(&q));
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push_back(Entry {
            ticket,
            queue,
            woken: false,
            wake: Arc::clone(&wake),
            grant: None,
            left: false,
        });
        q.len[queue] += 1;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        q.most[queue] = q.most[queue].max(q.len[queue]);
        let mark = q.served[queue];
        Ticket {
            queues: self,
            ticket,
            queue,
            mark,
            wake,
            served: false,
        }
    }

    /// A slot freed on server `server`: the first waiter that may use it
    /// (in that server's queue or the backend's) is told, to try again.
    pub(super) fn freed(&self, server: usize) {
        let Ok(mut q) = self.inner.lock() else {
            return;
        };
        if let Some(e) = Self::first_for(&mut q, server, true) {
            e.woken = true;
            e.wake.notify_one();
        }
    }

    /// A slot on server `server` goes straight to the first waiter that
    /// may use it (the backend's waiters only when `balanced`: the balancer
    /// may pick that server), with the lease `grant` makes for it, counted
    /// then. False when nobody waits for it or the slot is gone.
    pub(super) fn hand_over(
        &self,
        server: usize,
        balanced: bool,
        grant: impl FnOnce() -> Option<Lease>,
    ) -> bool {
        let Ok(mut q) = self.inner.lock() else {
            return false;
        };
        let Some(e) = Self::first_for(&mut q, server, balanced) else {
            return false;
        };
        let Some(lease) = grant() else {
            return false;
        };
        e.grant = Some(lease);
        e.woken = true;
        e.left = true;
        e.wake.notify_one();
        let queue = e.queue;
        q.len[queue] = q.len[queue].saturating_sub(1);
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// The first waiter not told yet that server `server` may serve (a
    /// waiter of the backend's queue only when `balanced`).
    fn first_for(q: &mut Inner, server: usize, balanced: bool) -> Option<&mut Entry> {
        let backend = Self::backend(q);
        q.waiting
            .iter_mut()
            .find(|e| !e.woken && !e.left && (e.queue == server || balanced && e.queue == backend))
    }
}

/// One request's place in a queue; leaving drops it.
pub(super) struct Ticket<'a> {
    queues: &'a Queues,
    ticket: u64,
    queue: usize,
    /// The queue's `served` count when this one joined.
    mark: u64,
    wake: Arc<Notify>,
    /// Left with a server (counts in the places of those behind).
    served: bool,
}

impl Ticket<'_> {
    /// Whether this waits in server `server`'s queue (None: the backend's).
    pub(super) fn waits_for(&self, server: Option<usize>) -> bool {
        let Ok(q) = self.queues.inner.lock() else {
            return false;
        };
        self.queue == server.unwrap_or_else(|| Queues::backend(&q))
    }

    /// Waits until told of a free slot, then stands ready to be told
    /// again; the slot itself when it was handed over.
    pub(super) async fn wait(&self) -> Option<Lease> {
        self.wake.notified().await;
        let mut q = self.queues.inner.lock().ok()?;
        let e = q.waiting.iter_mut().find(|e| e.ticket == self.ticket)?;
        e.woken = false;
        e.grant.take()
    }

    /// Leaves with a server; the place it had for the log.
    pub(super) fn served(mut self) -> Place {
        self.served = true;
        self.place()
    }

    /// The place for the log when leaving now.
    pub(super) fn place(&self) -> Place {
        let Ok(q) = self.queues.inner.lock() else {
            return Place::default();
        };
        let n = 1 + q.served[self.queue].saturating_sub(self.mark);
        if self.queue == Queues::backend(&q) {
            Place {
                server: 0,
                backend: n,
            }
        } else {
            Place {
                server: n,
                backend: 0,
            }
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let Ok(mut q) = self.queues.inner.lock() else {
            return;
        };
        let Some(at) = q.waiting.iter().position(|e| e.ticket == self.ticket) else {
            return;
        };
        let Some(gone) = q.waiting.remove(at) else {
            return;
        };
        if !gone.left {
            q.len[self.queue] = q.len[self.queue].saturating_sub(1);
            self.queues.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        if self.served {
            q.served[self.queue] += 1;
        }
        // Told of a slot it did not take (it timed out meanwhile): the next
        // one may use it. A handed-over slot passes on when its lease drops,
        // outside the lock.
        if gone.woken
            && !self.served
            && gone.grant.is_none()
            && let Some(e) = Queues::first_for(&mut q, self.queue, true)
        {
            e.woken = true;
            e.wake.notify_one();
        }
        drop(q);
        drop(gone);
    }
}

impl Pool {
    /// A server for one exchange, waiting in a queue while every candidate
    /// is at its `maxconn` (at most `timeout queue`). `attempt` picks once
    /// (persistence, else the balancer); a full server's turn passes to the
    /// next one as haproxy's balancer skips full servers. A request bound to
    /// one full server (a cookie, a hash) waits in that server's queue,
    /// unless `maxqueue` wait there already: then, with `option redispatch`,
    /// a cookie's request is balanced again, else it is refused at once.
    pub(in crate::proxy) async fn take(
        self: &Arc<Self>,
        mut attempt: impl FnMut(bool) -> Option<Lease>,
    ) -> Taken {
        if !self.limited {
            return attempt(true).map_or(Taken::NoServer, |l| Taken::Lease(l, Place::default()));
        }
        let deadline =
            tokio::time::Instant::now() + self.queue_timeout.unwrap_or(Duration::MAX / 4);
        let mut ticket: Option<Ticket<'_>> = None;
        let mut redispatched = false;
        // A newcomer does not overtake the backend's queue (persistence
        // aside) while a server may take it; told to try again, a waiter
        // may balance.
        let mut balance = !(self.fifo && self.queued_ahead() && self.any_pickable());
        loop {
            let mut next = || {
                if redispatched {
                    balance
                        .then(|| self.pick(&RequestView::default()))
                        .flatten()
                } else {
                    attempt(balance)
                }
            };
            let queue = match self.try_servers(&mut next, balance) {
                Ok(mut lease) => {
                    lease.redispatched = redispatched;
                    let place = ticket.map(Ticket::served).unwrap_or_default();
                    return Taken::Lease(lease, place);
                }
                Err(None) => return Taken::NoServer,
                Err(Some(queue)) => queue,
            };
            if !ticket.as_ref().is_some_and(|t| t.waits_for(queue.server)) {
                if let Some(i) = queue.server
                    && let Some(max) = self.members[i].maxqueue
                    && self.queues.len(Some(i)) >= u64::from(max)
                {
                    if queue.direct && self.redispatch && !redispatched {
                        redispatched = true;
                        continue;
                    }
                    return Taken::QueueFull(self.refusal(i));
                }
                // A slot freed between the attempt and joining found
                // nobody to hand it to: offered again, in queue order,
                // under the limits as they were (joining raises a
                // `minconn` limit, which haproxy acts on at a release only).
                let limits: Vec<u32> = (0..self.members.len()).map(|i| self.limit_of(i)).collect();
                ticket = Some(self.queues.join(queue.server));
                for (i, limit) in limits.into_iter().enumerate() {
                    // (`hand_over` would wake a waiter for a server that
                    // cannot serve, to no purpose here.)
                    if self.usable(i) {
                        self.hand_over(i, limit);
                    }
                }
            }
            let Some(t) = ticket.as_ref() else { continue };
            match tokio::time::timeout_at(deadline, t.wait()).await {
                Err(_) => {
                    let place = t.place();
                    let server = queue.server.map(|i| self.refusal(i));
                    return Taken::QueueTimeout(place, server);
                }
                Ok(Some(mut lease)) => {
                    lease.redispatched = redispatched;
                    let place = ticket.map(Ticket::served).unwrap_or_default();
                    return Taken::Lease(lease, place);
                }
                // Told to try again.
                Ok(None) => balance = true,
            }
        }
    }

    /// The slot a lease on server `index` freed: while the server is
    /// below `limit`, the first requests waiting for it get a slot each;
    /// a server that cannot take them tells the first to try again.
    pub(super) fn hand_over(self: &Arc<Self>, index: usize, limit: u32) {
        // Nobody waits (most releases): no lock. A request joining now
        // offers the free slots itself once it has joined.
        if self.queues.total() == 0 {
            return;
        }
        let m = &self.members[index];
        let Some(addr) = m.addr.filter(|_| self.usable(index)) else {
            self.queues.freed(index);
            return;
        };
        let balanced = self.pickable(index);
        while limit == 0 || m.counters.current() < u64::from(limit) {
            let grant = || self.grant(index, addr, limit);
            if !self.queues.hand_over(index, balanced, grant) {
                break;
            }
        }
    }

    /// Server `index` may have room now (it came up, left maintenance or a
    /// drain, got weight): the first requests queued for it get it.
    pub(super) fn offer(self: &Arc<Self>, index: usize) {
        if self.limited {
            self.hand_over(index, self.limit_of(index));
        }
    }

    /// Requests wait in the backend's queue while others are served.
    fn queued_ahead(&self) -> bool {
        let waiting = self.queues.len(None);
        waiting > 0 && waiting != self.beconn()
    }

    /// One round of attempts: a lease with room, else the queue to wait in
    /// (Err(None): no server at all). Without `balance`, only persistence
    /// may name a server.
    fn try_servers(
        &self,
        next: &mut impl FnMut() -> Option<Lease>,
        balance: bool,
    ) -> Result<Lease, Option<Bound>> {
        let mut last: Option<usize> = None;
        for _ in 0..self.members.len().max(2) {
            match next() {
                Some(l) if !l.over => return Ok(l),
                // Persistence, or a hash naming the same full server again.
                Some(l) if !l.balanced || last == Some(l.id.0) => {
                    return Err(Some(Bound {
                        server: Some(l.id.0),
                        direct: !l.balanced,
                    }));
                }
                Some(l) => last = Some(l.id.0),
                None => break,
            }
        }
        if last.is_some() || !balance || self.any_full() {
            Err(Some(Bound {
                server: None,
                direct: false,
            }))
        } else {
            Err(None)
        }
    }

    /// Server `i` as a refused request's log names it.
    fn refusal(&self, i: usize) -> Refused {
        let m = &self.members[i];
        Refused {
            server: m.name.clone(),
            addr: m.addr,
            conns: m.counters.current(),
        }
    }
}

/// What [`Pool::take`] got, with the places it had in the queues.
pub(in crate::proxy) enum Taken {
    Lease(Lease, Place),
    /// No server can take it (`<NOSRV>`, 503).
    NoServer,
    /// Queued for longer than `timeout queue` (503, `sQ`), in the queue of
    /// a server (named) or the backend's.
    QueueTimeout(Place, Option<Refused>),
    /// The server's queue was full (`maxqueue`): 503 at once, `SQ`.
    QueueFull(Refused),
}

/// The server a request waited for or was refused by, for its log line.
pub(in crate::proxy) struct Refused {
    pub server: String,
    pub addr: Option<SocketAddr>,
    /// Its sessions then (`%sc`).
    pub conns: u64,
}

/// The queue a request has to wait in.
struct Bound {
    /// The server's (None: the backend's).
    server: Option<usize>,
    /// Bound by persistence (haproxy's `SF_DIRECT`), not by a hash.
    direct: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_places_per_queue() {
        let q = Queues::new(2);
        let a = q.join(Some(1));
        let b = q.join(None);
        let c = q.join(Some(1));
        assert_eq!((q.len(Some(1)), q.len(None), q.total()), (2, 1, 3));
        assert_eq!(
            a.served(),
            Place {
                server: 1,
                backend: 0
            }
        );
        // One was served from server 1's queue while c waited.
        assert_eq!(
            c.place(),
            Place {
                server: 2,
                backend: 0
            }
        );
        drop(c);
        // Left without a server: counts for nobody behind.
        let d = q.join(Some(1));
        assert_eq!(d.place().server, 1);
        assert_eq!(
            b.place(),
            Place {
                server: 0,
                backend: 1
            }
        );
        assert_eq!((q.most(Some(1)), q.most(None), q.most(Some(0))), (2, 1, 0));
    }

    #[tokio::test]
    async fn a_free_slot_wakes_the_first_waiter_that_can_use_it() {
        let q = Queues::new(2);
        let for_s0 = q.join(Some(0));
        let any = q.join(None);
        // Server 1 frees: the server-0 waiter cannot use it, the backend's can.
        q.freed(1);
        let woke = tokio::time::timeout(std::time::Duration::from_millis(50), any.wait()).await;
        assert!(woke.is_ok(), "the backend's waiter is told");
        let not = tokio::time::timeout(std::time::Duration::from_millis(50), for_s0.wait()).await;
        assert!(not.is_err(), "server 0's waiter is not");
    }

    fn pool(cfg: &str) -> Arc<Pool> {
        let out = crate::conf::haproxy::read_str(cfg, &crate::conf::haproxy::Options::default());
        assert!(!out.is_fatal(), "{:?}", out.diagnostics);
        Arc::new(Pool::new(&out.config.proxies[0], None))
    }

    /// A server for one request, balanced; its index and queue places.
    async fn take_one(p: &Arc<Pool>) -> (Lease, Place) {
        match p.take(|_| p.pick(&RequestView::default())).await {
            Taken::Lease(l, place) => (l, place),
            _ => panic!("no server for the request"),
        }
    }

    /// A request that will wait for a server, on a task of its own.
    fn waiting_request(p: &Arc<Pool>) -> tokio::task::JoinHandle<(usize, Place)> {
        let p = Arc::clone(p);
        tokio::spawn(async move {
            let (lease, place) = take_one(&p).await;
            (lease.id.0, place)
        })
    }

    #[tokio::test]
    async fn a_released_slot_is_handed_to_the_waiter_counted_at_once() {
        let p = pool("defaults\n  mode http\nbackend be\n  server s1 127.0.0.1:8001 maxconn 1\n");
        let (first, _) = take_one(&p).await;
        let waiter = waiting_request(&p);
        while p.queued(None).0 + p.queued(Some(0)).0 == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!((p.server_conns(0), p.beconn()), (1, 2));
        drop(first);
        // Before the waiter runs: its session counts on the server, and it
        // no longer waits (`%sc` 1, `%bc` 1 in the releasing one's log).
        assert_eq!((p.server_conns(0), p.beconn()), (1, 1));
        let (server, place) = waiter.await.expect("waiter");
        assert_eq!(server, 0);
        assert_eq!(place.server + place.backend, 1);
    }

    #[tokio::test]
    async fn a_server_leaving_maintenance_takes_the_queue() {
        let p = pool(
            "defaults\n  mode http\nbackend be\n  server s1 127.0.0.1:8001 maxconn 1\n  server s2 127.0.0.1:8002 maxconn 1\n",
        );
        assert!(p.set_admin(1, super::super::MAINT));
        let (first, _) = take_one(&p).await;
        let waiter = waiting_request(&p);
        while p.queues.total() == 0 {
            tokio::task::yield_now().await;
        }
        // s1 stays busy: s2 coming back is what serves the waiter.
        assert!(p.set_admin(1, 0));
        let served = tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .expect("served without s1 freeing")
            .expect("waiter");
        assert_eq!(served.0, 1);
        drop(first);
    }
}
