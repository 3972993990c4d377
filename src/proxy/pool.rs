//! A backend's servers as the runtime holds them: addresses, UP/DOWN from
//! health checks (`check`), the `balance::Balancer` that picks one per
//! connection or request, and haproxy's way of connecting
//! (`timeout connect`, `retries` on the same server a second apart,
//! `option redispatch`). Check transitions are logged in haproxy's words.

mod dial;
mod events;
mod queue;
mod ramp;

use super::balance::{Balancer, ChangeError, RequestView, ServerId};
use super::cookie::Persistence;
use super::counters::Counters;
use super::logging::Sink;
use super::stats::CheckStats;
use crate::check::{self, Health};
use crate::model::haproxy::{Balance, Proxy, ProxyKind};
use crate::model::{Endpoint, HealthCheck, Host};
pub(super) use dial::{Connect, send_first};
use queue::Queues;
pub(super) use queue::{Place, Refused, Taken};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One server (index = `balance::ServerId`, the order of the backend's
/// `server` lines).
pub(super) struct Member {
    pub name: String,
    /// None: a name that is not resolved (never picked).
    pub addr: Option<SocketAddr>,
    pub backup: bool,
    pub up: AtomicBool,
    pub weight: u32,
    check: Option<HealthCheck>,
    pub counters: Counters,
    /// The last check as the statistics show it (None: no `check`).
    pub check_view: Mutex<Option<CheckStats>>,
    /// Administrative state from the CLI or the stats page: [`MAINT`],
    /// [`DRAIN`] (haproxy's FMAINT/FDRAIN bits, as `show servers state` shows).
    pub admin: AtomicU8,
    /// The last change of UP/DOWN or of the admin state (`lastchg`).
    pub since: Mutex<Instant>,
    /// Has been in maintenance: haproxy zeroes the check health of a
    /// server on its way down and does not restore it on the way up (what
    /// `show servers state` shows for servers without `check`).
    pub stopped_once: AtomicBool,
    /// `maxconn`: concurrent exchanges at most, the rest wait in the queue
    /// (`minconn` alone sets it, as haproxy does).
    pub maxconn: Option<u32>,
    /// `minconn`: the limit while the backend is far below its `fullconn`
    /// (the `maxconn` when not set).
    minconn: Option<u32>,
    /// The share of the limit allowed while warming up, in percent.
    ramp: AtomicU32,
    /// `maxqueue`: requests waiting for this server at most.
    pub maxqueue: Option<u32>,
    /// `slowstart`, and when the current warm-up began.
    slowstart: Option<Duration>,
    warming: Mutex<Option<Instant>>,
}

/// Forced maintenance: no traffic at all, checks paused.
pub(super) const MAINT: u8 = 0x01;
/// Forced drain: no new balanced traffic, persistence still honoured.
pub(super) const DRAIN: u8 = 0x08;

/// A backend's servers and connection settings.
pub(super) struct Pool {
    /// `proxy 'x'` or `backend 'x'` in messages.
    kind: &'static str,
    pub name: String,
    pub members: Vec<Member>,
    balancer: Mutex<Balancer>,
    /// A `backend`'s own ACLs and `http-request`/`http-response` rules
    /// (a `listen` runs its rules as the frontend).
    pub acls: Vec<crate::model::haproxy::Acl>,
    pub http_request: Vec<crate::model::haproxy::HttpRule>,
    pub http_response: Vec<crate::model::haproxy::HttpRule>,
    /// The backend's own counters.
    pub counters: Counters,
    /// `balance` as the statistics name it (`roundrobin`…).
    pub algo: &'static str,
    /// `cookie NAME …` persistence.
    pub persistence: Option<Persistence>,
    connect: Option<Duration>,
    server_idle: Option<Duration>,
    retries: u32,
    redispatch: bool,
    /// The backend's log targets (server state changes).
    log: Option<Sink>,
    /// Some server has a `maxconn`: requests may queue.
    limited: bool,
    /// The algorithm serves in turn (`roundrobin`, `static-rr`, `first`):
    /// while requests wait in the backend's queue, new ones join it, as
    /// haproxy knows all servers are full then.
    fifo: bool,
    /// `timeout queue` (default: `timeout connect`).
    queue_timeout: Option<Duration>,
    /// The servers' and the backend's queues.
    queues: Queues,
    /// Told when a server starts warming up.
    warm: tokio::sync::Notify,
    /// `fullconn` in force (0 until the runtime sets it: `maxconn` rules).
    fullconn: AtomicU32,
    /// Where server state lines go (set when the checks start).
    say: std::sync::OnceLock<Say>,
}

/// haproxy's lines on stderr.
pub(super) type Say = Arc<dyn Fn(Level, String) + Send + Sync>;

impl Pool {
    /// The servers of backend (or listen) `p` with a literal address.
    pub(super) fn new(p: &Proxy, log: Option<Sink>) -> Pool {
        let members: Vec<Member> = p
            .servers
            .iter()
            .map(|s| {
                let addr = match (&s.address, s.port) {
                    (
                        Endpoint::Inet {
                            host: Host::Ip(ip), ..
                        },
                        Some(port),
                    ) => Some(SocketAddr::new(*ip, port)),
                    _ => None,
                };
                Member {
                    name: s.name.clone(),
                    addr,
                    backup: s.params.backup,
                    up: AtomicBool::new(true),
                    weight: s.params.weight,
                    check_view: Mutex::new(s.health_check.as_ref().map(|hc| CheckStats {
                        status: "INI".into(),
                        rise: hc.rise,
                        fall: hc.fall,
                        health: hc.rise,
                        ..CheckStats::default()
                    })),
                    check: s.health_check.clone(),
                    counters: Counters::default(),
                    admin: AtomicU8::new(0),
                    since: Mutex::new(Instant::now()),
                    stopped_once: AtomicBool::new(false),
                    maxconn: s.params.maxconn.max(s.params.minconn).filter(|&n| n > 0),
                    minconn: s.params.minconn.filter(|&n| n > 0),
                    ramp: AtomicU32::new(100),
                    maxqueue: s.params.maxqueue.filter(|&n| n > 0),
                    slowstart: s
                        .params
                        .slowstart
                        .map(|d| d.to_std())
                        .filter(|d| !d.is_zero()),
                    warming: Mutex::new(None),
                }
            })
            .collect();
        let mut balancer = Balancer::new(p);
        for (i, m) in members.iter().enumerate() {
            if m.addr.is_none() {
                let _ = balancer.set_up(ServerId(i), false);
            }
        }
        let limited = members.iter().any(|m| m.maxconn.is_some());
        let fifo = matches!(
            p.balance,
            Balance::RoundRobin | Balance::StaticRr | Balance::First
        );
        let queues = Queues::new(members.len());
        Pool {
            kind: if p.kind == ProxyKind::Listen {
                "proxy"
            } else {
                "backend"
            },
            name: p.name.clone(),
            members,
            balancer: Mutex::new(balancer),
            acls: own(p, |p| p.acls.clone()),
            http_request: own(p, |p| super::rules::with_files_read(&p.http_request)),
            http_response: own(p, |p| p.http_response.clone()),
            counters: Counters::default(),
            algo: p.balance.name(),
            persistence: Persistence::for_proxy(p),
            connect: p.timeouts.connect.map(|d| d.to_std()),
            server_idle: p.timeouts.server.map(|d| d.to_std()),
            retries: p.retries,
            redispatch: p.options.redispatch.is_some(),
            log,
            limited,
            fifo,
            queue_timeout: p.timeouts.queue.or(p.timeouts.connect).map(|d| d.to_std()),
            queues,
            warm: tokio::sync::Notify::new(),
            fullconn: AtomicU32::new(0),
            say: std::sync::OnceLock::new(),
        }
    }

    /// `timeout server`.
    pub(super) fn server_timeout(&self) -> Option<Duration> {
        self.server_idle
    }

    /// The server for a connection or request (the backend's `balance`
    /// algorithm over the UP servers, backups when none is UP), held until
    /// the lease is dropped (leastconn counts it meanwhile).
    pub(super) fn pick(self: &Arc<Self>, req: &RequestView<'_>) -> Option<Lease> {
        let mut b = self.balancer.lock().ok()?;
        if self.limited {
            // Full servers are skipped whoever filled them.
            for (i, m) in self
                .members
                .iter()
                .enumerate()
                .filter(|(_, m)| m.maxconn.is_some())
            {
                let load = u32::try_from(m.counters.current()).unwrap_or(u32::MAX);
                let waiting = u32::try_from(self.queues.len(Some(i))).unwrap_or(u32::MAX);
                b.set_load(ServerId(i), load, waiting, self.limit_of(i));
            }
        }
        let id = b.pick(req)?;
        match self.members.get(id.0).and_then(|m| m.addr) {
            Some(addr) => {
                self.members[id.0]
                    .counters
                    .lbtot
                    .fetch_add(1, Ordering::Relaxed);
                Some(self.lease(id, addr, true))
            }
            None => {
                b.release(id);
                None
            }
        }
    }

    /// Server `index` itself (a persistence cookie named it), if it has
    /// an address.
    pub(super) fn direct(self: &Arc<Self>, index: usize) -> Option<Lease> {
        let addr = self.members.get(index)?.addr?;
        Some(self.lease(ServerId(index), addr, false))
    }

    /// Whether server `index` may take persistent traffic (UP, not in
    /// maintenance; a draining server still takes its own clients).
    pub(super) fn usable(&self, index: usize) -> bool {
        self.members.get(index).is_some_and(|m| {
            m.up.load(Ordering::Relaxed) && m.admin.load(Ordering::Relaxed) & MAINT == 0
        })
    }

    /// Whether the balancer may pick server `index` now (UP, no admin
    /// state, weight above 0): what the backend's `act`/`bck` count.
    pub(super) fn balanced(&self, index: usize) -> bool {
        self.members
            .get(index)
            .is_some_and(|m| m.up.load(Ordering::Relaxed) && m.admin.load(Ordering::Relaxed) == 0)
            && self.weights(index).is_some_and(|(w, _)| w > 0)
    }

    /// Sets server `index`'s admin bits ([`MAINT`], [`DRAIN`]) and tells the
    /// balancer; false when the state did not change.
    pub(super) fn set_admin(self: &Arc<Self>, index: usize, bits: u8) -> bool {
        let Some(m) = self.members.get(index) else {
            return false;
        };
        let was = m.admin.swap(bits, Ordering::Relaxed);
        if was == bits {
            return false;
        }
        if bits & MAINT != 0 {
            m.stopped_once.store(true, Ordering::Relaxed);
        }
        self.touch(index);
        if let Ok(mut b) = self.balancer.lock() {
            // Leaving maintenance is coming back UP (not leaving a drain).
            if was & MAINT != 0 && bits & MAINT == 0 && m.up.load(Ordering::Relaxed) {
                self.came_up(&mut b, index);
            }
            self.sync(&mut b, index);
        }
        self.announce_admin(index, was, bits);
        if bits & MAINT == 0 {
            self.offer(index);
        }
        true
    }

    /// The current and the configured weight of server `index`.
    pub(super) fn weights(&self, index: usize) -> Option<(u32, u32)> {
        let initial = self.members.get(index)?.weight;
        let b = self.balancer.lock().ok()?;
        Some((b.weight(ServerId(index))?, initial))
    }

    /// The weight `show stat` shows for server `index` (lower while it
    /// warms up) and its throttle in percent (while it warms up).
    pub(super) fn shown_weight(&self, index: usize) -> Option<(u32, Option<u32>)> {
        let b = self.balancer.lock().ok()?;
        let id = ServerId(index);
        Some((b.shown_weight(id)?, b.throttle(id)))
    }

    /// `set weight`: the balancer checks the range and static algorithms.
    pub(super) fn set_weight(
        self: &Arc<Self>,
        index: usize,
        weight: u32,
    ) -> Result<(), ChangeError> {
        {
            let mut b = self
                .balancer
                .lock()
                .map_err(|_| ChangeError::NoSuchServer)?;
            b.set_weight(ServerId(index), weight)?;
        }
        if weight > 0 {
            self.offer(index);
        }
        Ok(())
    }

    /// Tells the balancer whether server `i` may be picked (UP and neither
    /// in maintenance nor draining).
    fn sync(&self, b: &mut Balancer, i: usize) {
        let m = &self.members[i];
        let up = m.up.load(Ordering::Relaxed) && m.addr.is_some();
        let _ = b.set_up(ServerId(i), up && m.admin.load(Ordering::Relaxed) == 0);
    }

    /// Records a state change of server `i` now.
    fn touch(&self, i: usize) {
        if let Ok(mut t) = self.members[i].since.lock() {
            *t = Instant::now();
        }
    }

    fn lease(self: &Arc<Self>, id: ServerId, addr: SocketAddr, balanced: bool) -> Lease {
        let m = &self.members[id.0];
        let limit = u64::from(self.limit_of(id.0));
        let full = |n: u64| limit > 0 && n > limit;
        // A full server is not counted (its `stot` stays), except when two
        // took the last slot at once.
        let (over, counted) = if full(m.counters.current() + 1) {
            (true, false)
        } else {
            let open = m.counters.open();
            let _ = self.counters.open();
            (full(open), true)
        };
        Lease {
            pool: Arc::clone(self),
            id,
            addr,
            balanced,
            over,
            counted,
            redispatched: false,
        }
    }

    /// A slot on server `index` below `limit` (0: none) for a queued
    /// request, checked and counted at once; None when it is full.
    fn grant(self: &Arc<Self>, index: usize, addr: SocketAddr, limit: u32) -> Option<Lease> {
        self.members[index].counters.open_below(u64::from(limit))?;
        let _ = self.counters.open();
        Some(Lease {
            pool: Arc::clone(self),
            id: ServerId(index),
            addr,
            balanced: false,
            over: false,
            counted: true,
            redispatched: false,
        })
    }

    /// Whether the balancer may pick server `index` now: UP, no admin
    /// state, some weight, and not a backup while an active server may.
    fn pickable(&self, index: usize) -> bool {
        let backup = |i: usize| self.members[i].backup;
        self.balanced(index)
            && (!backup(index) || !(0..self.members.len()).any(|i| !backup(i) && self.balanced(i)))
    }

    /// Whether any server may be picked.
    fn any_pickable(&self) -> bool {
        (0..self.members.len()).any(|i| self.balanced(i))
    }

    /// Streams in the backend now, those in its queues included (`%bc`).
    pub(super) fn beconn(&self) -> u64 {
        self.counters.current() + self.queues.total()
    }

    /// Sessions on server `index` now (`%sc`).
    pub(super) fn server_conns(&self, index: usize) -> u64 {
        self.members.get(index).map_or(0, |m| m.counters.current())
    }

    /// Requests waiting for server `index` (None: in the backend's own
    /// queue), now and at most (`qcur`, `qmax`).
    pub(super) fn queued(&self, index: Option<usize>) -> (u64, u64) {
        (self.queues.len(index), self.queues.most(index))
    }

    /// Whether a usable server is at its `maxconn`.
    fn any_full(&self) -> bool {
        self.members.iter().enumerate().any(|(i, m)| {
            let limit = self.limit_of(i);
            limit > 0 && m.counters.current() >= u64::from(limit) && self.usable(i)
        })
    }

    /// Server `i`'s `maxconn` in force now (0: none), as haproxy's
    /// `srv_dynamic_maxconn`: its `minconn` while the backend is idle,
    /// growing in proportion of the backend's sessions (queued ones too)
    /// to its `fullconn` up to its `maxconn`; ramped during a slowstart.
    fn limit_of(&self, i: usize) -> u32 {
        let m = &self.members[i];
        let Some(max) = m.maxconn else {
            return 0;
        };
        let min = m.minconn.unwrap_or(max);
        // The backend's sessions are read only when a `minconn` asks.
        let full = u64::from(self.fullconn.load(Ordering::Relaxed));
        let sessions = if min < max { self.beconn() } else { full };
        let dynamic = if sessions >= full {
            max
        } else {
            let share = sessions * u64::from(max) / full;
            min.max(u32::try_from(share).unwrap_or(max))
        };
        let percent = m.ramp.load(Ordering::Relaxed);
        super::balance::slowstart::maxconn(dynamic, (percent < 100).then_some(percent))
    }

    /// The backend's `fullconn` (its own, else a tenth of the `maxconn` of
    /// the frontends that reach it): what `minconn` limits scale with.
    pub(super) fn set_fullconn(&self, n: u64) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.fullconn.store(n, Ordering::Relaxed);
    }

    fn release(&self, id: ServerId) {
        if let Ok(mut b) = self.balancer.lock() {
            b.release(id);
        }
    }

    /// Starts the health check of every server that has one (on the
    /// current tokio runtime). `say` gets haproxy's log lines.
    pub(super) fn start_checks(self: &Arc<Self>, say: Say) {
        let _ = self.say.set(Arc::clone(&say));
        self.start_ramps();
        for i in 0..self.members.len() {
            let Some(hc) = self.members[i].check.clone() else {
                continue;
            };
            let pool = Arc::clone(self);
            tokio::spawn(async move {
                let m = &pool.members[i];
                let Some(addr) = m.addr else { return };
                let target = SocketAddr::new(
                    hc.connect_ip.unwrap_or(addr.ip()),
                    hc.connect_port.unwrap_or(addr.port()),
                );
                let mut health = Health::new(hc.rise, hc.fall);
                loop {
                    // Checks are paused while the server is in maintenance.
                    if m.admin.load(Ordering::Relaxed) & MAINT != 0 {
                        tokio::time::sleep(health.next_interval(&hc)).await;
                        continue;
                    }
                    let outcome = check::probe::run(&hc, target).await;
                    let changed = health.result(outcome.ok);
                    if let Ok(mut v) = m.check_view.lock()
                        && let Some(v) = v.as_mut()
                    {
                        v.status = outcome.status.into();
                        v.code = outcome.code.map(u32::from);
                        v.duration = u64::try_from(outcome.duration.as_millis()).ok();
                        v.desc = outcome.reason().into();
                        v.info = outcome.info.clone().unwrap_or_default();
                        v.health = health.health();
                        v.failed += u64::from(!outcome.ok);
                        v.down_trans += u64::from(changed == Some(false));
                    }
                    if let Some(up) = changed {
                        m.up.store(up, Ordering::Relaxed);
                        pool.touch(i);
                        if let Ok(mut b) = pool.balancer.lock() {
                            if up {
                                pool.came_up(&mut b, i);
                            }
                            pool.sync(&mut b, i);
                        }
                        pool.announce(i, up, Some(&outcome.describe()));
                        if up {
                            pool.offer(i);
                        }
                    }
                    tokio::time::sleep(health.next_interval(&hc)).await;
                }
            });
        }
    }
}

pub(super) use crate::conf::haproxy::Level;

/// A backend's own copy of something; empty for a `listen`, whose rules run
/// once, as the frontend's.
fn own<T: Default>(p: &Proxy, f: impl Fn(&Proxy) -> T) -> T {
    if p.kind == ProxyKind::Backend {
        f(p)
    } else {
        T::default()
    }
}

/// A server picked for one exchange; dropping it gives the turn back.
pub(super) struct Lease {
    pool: Arc<Pool>,
    pub id: ServerId,
    pub addr: SocketAddr,
    /// Chosen by the balancer (which then counts it), not by a cookie.
    balanced: bool,
    /// Over the server's `maxconn`: not to be used.
    over: bool,
    /// Counted in the server's and the backend's sessions.
    counted: bool,
    /// Balanced again after its cookie's server refused it (`maxqueue`):
    /// the persistence is broken (log `D`, `+` before the retries).
    pub redispatched: bool,
}

impl Lease {
    /// The server's counters.
    pub fn counters(&self) -> &Counters {
        &self.pool.members[self.id.0].counters
    }

    /// The server's name.
    pub fn server_name(&self) -> &str {
        &self.pool.members[self.id.0].name
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The limit as haproxy's dequeue computes it: the backend's sessions
        // still count this one, the server's no longer do.
        let limit = (self.pool.limited && self.counted).then(|| self.pool.limit_of(self.id.0));
        if self.counted {
            self.pool.members[self.id.0].counters.close();
            self.pool.counters.close();
        }
        if self.balanced {
            self.pool.release(self.id);
        }
        // The slot (and any the limit grew by) goes to those queued first.
        if let Some(limit) = limit {
            self.pool.hand_over(self.id.0, limit);
        }
    }
}
