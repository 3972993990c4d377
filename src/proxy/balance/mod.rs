//! Server selection for a backend, as haproxy 2.6 does it, without I/O.
//!
//! A [`Balancer`] is built from a backend's model (servers, `balance`,
//! `hash-type`, `option allbackups`) and answers [`Balancer::pick`] with the
//! server haproxy would choose, following the same data structures so that
//! placements, tie-breaks and runtime changes match: the weighted round-robin
//! tree (`lb_fwrr`), the static map (`lb_map`, for `static-rr` and map-based
//! hashing), the least-connections tree (`lb_fwlc`), `first` (`lb_fas`) and the
//! consistent-hash ring (`lb_chash`). The goldens in `fixtures/haproxy/balance/`
//! were recorded from haproxy 2.6 and are replayed by the tests.
//!
//! The balancer counts the connections it hands out (`pick` takes one,
//! `release` gives it back): leastconn's order depends on the history of those
//! events, not only on the current counts.

mod chash;
mod fwrr;
mod key;
mod leastconn;
mod map;
pub mod slowstart;
mod tree;

#[cfg(test)]
mod tests;

pub use key::HashFn;

use crate::model::haproxy::{Balance, Proxy};
use leastconn::{Rank, Ranked};
use std::net::IpAddr;

/// A server of the backend: its index in `Proxy::servers`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub usize);

/// Looks up the raw value of the first header with a name (case-insensitive).
pub type HeaderLookup<'a> = dyn Fn(&str) -> Option<&'a [u8]> + 'a;

/// What the algorithms may look at in a request.
#[derive(Clone, Copy, Default)]
pub struct RequestView<'a> {
    /// The client's address (`balance source`).
    pub src: Option<IpAddr>,
    /// The request target as received (`uri`, `url_param`); `None` outside HTTP.
    pub uri: Option<&'a [u8]>,
    /// The raw value of the first header with this name (`hdr()`).
    pub header: Option<&'a HeaderLookup<'a>>,
    /// The key of `balance hash <expr>` / `rdp-cookie`, evaluated by the caller.
    pub key: Option<&'a [u8]>,
}

/// Why a runtime change was refused (the CLI's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// No server with this id.
    #[error("No such server.")]
    NoSuchServer,
    /// Weight above 256.
    #[error("Absolute weight can only be between 0 and 256 inclusive.")]
    WeightRange,
    /// `static-rr` and map-based hashing only switch a server off or back.
    #[error("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.")]
    StaticWeight,
}

/// One server as the algorithms see it.
#[derive(Clone, Debug)]
struct Srv {
    /// User weight (`weight`, changed at runtime) and the configured one.
    uweight: u32,
    iweight: u32,
    /// Effective weight: scaled by 16 for dynamic algorithms, divided by the
    /// weights' GCD for the static map.
    eweight: u32,
    backup: bool,
    /// Not in maintenance and not down.
    up: bool,
    /// `maxconn` in force (0: none), as the caller last told: between
    /// `minconn` and `maxconn` with the backend's load, ramped during a
    /// slowstart.
    maxconn: u32,
    /// Slowstart weight factor out of `slowstart::FULL` (dynamic algorithms).
    ramp: u32,
    /// Connections handed out and not released.
    served: u32,
    /// Sessions on the server however chosen (persistence too), and
    /// requests waiting in its own queue, as the caller last told.
    load: u32,
    waiting: u32,
    /// haproxy's numeric server id (`id`, else the next free one).
    puid: u32,
}

impl Srv {
    /// haproxy's `srv_willbe_usable`.
    fn usable(&self) -> bool {
        self.up && self.eweight > 0
    }

    /// Below `maxconn` with nobody waiting for it (haproxy skips such
    /// servers when balancing).
    fn has_room(&self) -> bool {
        self.maxconn == 0 || (self.waiting == 0 && self.served.max(self.load) < self.maxconn)
    }
}

/// Counts haproxy keeps per backend (`recount_servers` + `update_backend_weight`).
#[derive(Clone, Debug, Default)]
struct Totals {
    srv_act: u32,
    srv_bck: u32,
    /// The only backup used without `option allbackups`.
    fbck: Option<usize>,
    tot_weight: u32,
    tot_used: u32,
}

impl Totals {
    fn count(servers: &[Srv], allbackups: bool) -> Totals {
        let mut t = Totals::default();
        let (mut wact, mut wbck) = (0, 0);
        for (i, s) in servers.iter().enumerate().filter(|(_, s)| s.usable()) {
            if s.backup {
                if t.srv_bck == 0 && !allbackups {
                    t.fbck = Some(i);
                }
                t.srv_bck += 1;
                wbck += s.eweight;
            } else {
                t.srv_act += 1;
                wact += s.eweight;
            }
        }
        (t.tot_weight, t.tot_used) = if t.srv_act > 0 {
            (wact, t.srv_act)
        } else if let Some(f) = t.fbck {
            (servers[f].eweight, 1)
        } else {
            (wbck, t.srv_bck)
        };
        t
    }
}

/// What a hashing algorithm hashes.
#[derive(Clone, Debug)]
enum Key {
    /// Not a hashing algorithm.
    None,
    Source,
    Uri {
        whole: bool,
        len: Option<u32>,
        depth: Option<u32>,
        path_only: bool,
    },
    UrlParam(String),
    Hdr {
        name: String,
        domain_only: bool,
    },
    /// `hash <expr>` / `rdp-cookie`: [`RequestView::key`].
    Given,
    /// `random(draws)`.
    Random(u32),
}

/// The lookup structure, one per algorithm family.
#[derive(Clone, Debug)]
enum Lookup {
    RoundRobin(fwrr::Fwrr),
    Map(map::Map),
    /// leastconn and first.
    Ranked(leastconn::Ranked),
    Chash(chash::Chash),
}

/// haproxy 2.6's server choice for one backend.
#[derive(Clone, Debug)]
pub struct Balancer {
    servers: Vec<Srv>,
    totals: Totals,
    allbackups: bool,
    key: Key,
    hash: HashFn,
    avalanche: bool,
    lookup: Lookup,
    /// State of `random`'s generator (xorshift32; haproxy's own draws cannot be matched).
    rng: u32,
}

/// haproxy's weight scale for dynamic algorithms (`BE_WEIGHT_SCALE`).
const WEIGHT_SCALE: u32 = 16;

/// The numeric ids haproxy gives servers: `id N` kept, the others get the
/// first free id from a counter that advances with every server.
fn server_ids(px: &Proxy) -> Vec<u32> {
    let taken: Vec<u32> = px.servers.iter().filter_map(|s| s.params.id).collect();
    let mut used = taken.clone();
    let mut next = 1u32;
    px.servers
        .iter()
        .map(|s| {
            let id = s.params.id.unwrap_or_else(|| {
                while used.contains(&next) {
                    next += 1;
                }
                used.push(next);
                next
            });
            next += 1;
            id
        })
        .collect()
}

impl Balancer {
    /// The balancer of backend `px`, all servers up unless `disabled`.
    pub fn new(px: &Proxy) -> Balancer {
        let ids = server_ids(px);
        let mut servers: Vec<Srv> = px
            .servers
            .iter()
            .zip(ids)
            .map(|(s, puid)| Srv {
                uweight: s.params.weight.min(256),
                iweight: s.params.weight.min(256),
                eweight: 0,
                backup: s.params.backup,
                up: !s.params.disabled,
                maxconn: s.params.maxconn.unwrap_or(0),
                ramp: slowstart::FULL,
                served: 0,
                load: 0,
                waiting: 0,
                puid,
            })
            .collect();
        let ht = &px.hash_type;
        let key = match &px.balance {
            Balance::RoundRobin | Balance::StaticRr | Balance::LeastConn | Balance::First => {
                Key::None
            }
            Balance::Source => Key::Source,
            Balance::Uri {
                whole,
                len,
                depth,
                path_only,
            } => Key::Uri {
                whole: *whole,
                len: *len,
                depth: *depth,
                path_only: *path_only,
            },
            Balance::UrlParam { param, .. } => Key::UrlParam(param.clone()),
            Balance::Hdr {
                name,
                use_domain_only,
            } => Key::Hdr {
                name: name.clone(),
                domain_only: *use_domain_only,
            },
            Balance::Random { draws } => Key::Random((*draws).max(1)),
            Balance::RdpCookie { .. } | Balance::Hash { .. } => Key::Given,
        };
        let consistent =
            matches!(key, Key::Random(_)) || (!matches!(key, Key::None) && ht.consistent);
        let map_based =
            matches!(px.balance, Balance::StaticRr) || (!matches!(key, Key::None) && !consistent);
        let lookup = if map_based {
            let gcd = map::weights_gcd(&servers);
            for s in &mut servers {
                s.eweight = s.uweight.div_ceil(gcd);
            }
            Lookup::Map(map::Map::new(gcd))
        } else {
            for s in &mut servers {
                s.eweight = s.uweight * WEIGHT_SCALE;
            }
            match px.balance {
                Balance::LeastConn => Lookup::Ranked(Ranked::new(&servers, Rank::Load)),
                Balance::First => Lookup::Ranked(Ranked::new(&servers, Rank::Id)),
                _ if consistent => Lookup::Chash(chash::Chash::new(&servers)),
                _ => Lookup::RoundRobin(fwrr::Fwrr::default()),
            }
        };
        let mut b = Balancer {
            totals: Totals::count(&servers, px.options.allbackups),
            servers,
            allbackups: px.options.allbackups,
            key,
            hash: HashFn::from_name(&ht.function),
            avalanche: ht.avalanche,
            lookup,
            rng: 0x9e37_79b9,
        };
        match &mut b.lookup {
            Lookup::RoundRobin(f) => f.init(&b.servers, &b.totals),
            Lookup::Map(m) => m.recalc(&b.servers, &b.totals),
            _ => {}
        }
        b
    }

    /// The server for this request, or `None` when no server is usable
    /// (haproxy's `<NOSRV>`, 503). Counts one connection on it.
    pub fn pick(&mut self, req: &RequestView<'_>) -> Option<ServerId> {
        if self.totals.tot_weight == 0 {
            return None;
        }
        let chosen = match self.key {
            Key::None => self.next_server(),
            Key::Random(draws) => self.random(draws),
            _ => match self.hash_of(req) {
                Some(h) => self.by_hash(h),
                // No key in the request: round robin over the hash structure.
                None => self.next_server(),
            },
        }?;
        self.servers[chosen].served += 1;
        self.reposition(chosen);
        Some(ServerId(chosen))
    }

    /// A connection to `id` ended.
    pub fn release(&mut self, id: ServerId) {
        let Some(s) = self.servers.get_mut(id.0) else {
            return;
        };
        s.served = s.served.saturating_sub(1);
        self.reposition(id.0);
    }

    /// Marks a server up (ready) or down (failed check or maintenance).
    pub fn set_up(&mut self, id: ServerId, up: bool) -> Result<(), ChangeError> {
        let s = self
            .servers
            .get_mut(id.0)
            .ok_or(ChangeError::NoSuchServer)?;
        if s.up == up {
            return Ok(());
        }
        let was = s.usable();
        s.up = up;
        self.changed(id.0, was);
        Ok(())
    }

    /// `set server <b>/<s> weight <w>`.
    pub fn set_weight(&mut self, id: ServerId, weight: u32) -> Result<(), ChangeError> {
        if weight > 256 {
            return Err(ChangeError::WeightRange);
        }
        let is_map = matches!(self.lookup, Lookup::Map(_));
        let s = self
            .servers
            .get_mut(id.0)
            .ok_or(ChangeError::NoSuchServer)?;
        if is_map && weight != 0 && weight != s.iweight {
            return Err(ChangeError::StaticWeight);
        }
        s.uweight = weight;
        self.reweigh(id.0);
        Ok(())
    }

    /// What server `id` holds besides the balancer's own count (all its
    /// sessions, the requests waiting in its queue) and its `maxconn` in
    /// force now.
    pub fn set_load(&mut self, id: ServerId, sessions: u32, waiting: u32, limit: u32) {
        if let Some(s) = self.servers.get_mut(id.0) {
            (s.load, s.waiting, s.maxconn) = (sessions, waiting, limit);
        }
    }

    /// A slowstart step of server `id` (None: warmed up): its weight
    /// factor. Static algorithms keep the full weight, as haproxy ramps
    /// only dynamic ones (the caller ramps `maxconn`, for all).
    pub fn set_ramp(
        &mut self,
        id: ServerId,
        ramp: Option<slowstart::Ramp>,
    ) -> Result<(), ChangeError> {
        let s = self
            .servers
            .get_mut(id.0)
            .ok_or(ChangeError::NoSuchServer)?;
        s.ramp = ramp.map_or(slowstart::FULL, |r| r.factor);
        self.reweigh(id.0);
        Ok(())
    }

    /// Recomputes server `i`'s effective weight from its user weight and
    /// ramp, and moves it in the lookup.
    fn reweigh(&mut self, i: usize) {
        let s = &mut self.servers[i];
        let was = s.usable();
        let eweight = match &self.lookup {
            Lookup::Map(m) => s.uweight.div_ceil(m.gcd()),
            _ => s.uweight * s.ramp * WEIGHT_SCALE / slowstart::FULL,
        };
        if eweight == s.eweight {
            return;
        }
        s.eweight = eweight;
        let id = ServerId(i);
        if let Lookup::RoundRobin(f) = &mut self.lookup {
            if was && self.servers[id.0].usable() {
                f.reweight(&self.servers, id.0);
                self.totals = Totals::count(&self.servers, self.allbackups);
                return;
            }
        }
        self.changed(id.0, was);
    }

    /// The user weight of a server (what `get weight` shows).
    pub fn weight(&self, id: ServerId) -> Option<u32> {
        self.servers.get(id.0).map(|s| s.uweight)
    }

    /// The weight `show stat` shows: the effective weight scaled back
    /// (below the user weight during a slowstart).
    pub fn shown_weight(&self, id: ServerId) -> Option<u32> {
        let s = self.servers.get(id.0)?;
        Some(match self.lookup {
            Lookup::Map(_) => s.uweight,
            _ => slowstart::shown(s.uweight, s.ramp),
        })
    }

    /// The slow-start throttle in percent while a server warms up
    /// (`show stat`'s `throttle`).
    pub fn throttle(&self, id: ServerId) -> Option<u32> {
        let s = self.servers.get(id.0)?;
        (s.ramp < slowstart::FULL).then(|| s.ramp * 100 / slowstart::FULL)
    }

    /// Connections currently counted on a server.
    pub fn served(&self, id: ServerId) -> Option<u32> {
        self.servers.get(id.0).map(|s| s.served)
    }

    /// leastconn requeues a server each time its load changes.
    fn reposition(&mut self, i: usize) {
        if let Lookup::Ranked(r) = &mut self.lookup {
            if r.rank() == Rank::Load {
                r.reposition(&self.servers, i);
            }
        }
    }

    /// Applies a change of server `i` (usable before: `was`) to the lookup.
    fn changed(&mut self, i: usize, was: bool) {
        let now = self.servers[i].usable();
        self.totals = Totals::count(&self.servers, self.allbackups);
        let servers = &self.servers;
        match &mut self.lookup {
            Lookup::Map(m) => m.recalc(servers, &self.totals),
            Lookup::RoundRobin(f) if was != now => {
                if now {
                    f.up(servers, i);
                } else {
                    f.down(servers, i);
                }
            }
            Lookup::RoundRobin(_) => {}
            Lookup::Ranked(r) => r.update(servers, i),
            Lookup::Chash(c) => c.update(servers, i),
        }
    }

    /// The non-hashing choice: the algorithm's own order, or round robin
    /// over the map / ring when a hashing algorithm found no key.
    fn next_server(&mut self) -> Option<usize> {
        let (servers, t) = (&self.servers, &self.totals);
        match &mut self.lookup {
            Lookup::RoundRobin(f) => f.next(servers, t),
            Lookup::Map(m) => m.next_rr(servers, t),
            Lookup::Ranked(r) => r.next(servers, t),
            Lookup::Chash(c) => c.next_rr(servers, t),
        }
    }

    /// The server for hash `h`.
    fn by_hash(&self, h: u32) -> Option<usize> {
        match &self.lookup {
            Lookup::Map(m) => m.by_hash(h, &self.totals),
            Lookup::Chash(c) => c.by_hash(h, &self.totals),
            _ => None,
        }
    }

    /// The request's hash, or `None` when its key is missing.
    fn hash_of(&self, req: &RequestView<'_>) -> Option<u32> {
        // haproxy skips hashing when one server is left, except for url_param.
        let single = self.totals.tot_used == 1;
        let h = match &self.key {
            Key::Source => {
                let src = req.src?;
                if single {
                    return Some(0);
                }
                key::source(src)
            }
            Key::Uri {
                whole,
                len,
                depth,
                path_only,
            } => {
                let uri = req.uri?;
                if single {
                    return Some(0);
                }
                let uri = if *path_only { key::path_of(uri) } else { uri };
                self.hash.hash(key::uri_part(uri, *whole, *len, *depth))
            }
            Key::UrlParam(name) => self.hash.hash(key::url_param(req.uri?, name.as_bytes())?),
            Key::Hdr { name, domain_only } => {
                if single {
                    return Some(0);
                }
                let raw = (req.header?)(name)?;
                let v = key::first_value(raw);
                if v.is_empty() {
                    return None;
                }
                self.hash
                    .hash(if *domain_only { key::domain_only(v) } else { v })
            }
            Key::Given => {
                let k = req.key?;
                if single {
                    return Some(0);
                }
                self.hash.hash(k)
            }
            Key::None | Key::Random(_) => return None,
        };
        Some(if self.avalanche { key::full_hash(h) } else { h })
    }

    /// `random(draws)`: the least loaded of `draws` random ring points.
    fn random(&mut self, draws: u32) -> Option<usize> {
        let mut best: Option<usize> = None;
        for _ in 0..draws {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 17;
            self.rng ^= self.rng << 5;
            let cur = self.by_hash(self.rng)?;
            best = match best {
                Some(p) if p != cur => {
                    let (c, q) = (&self.servers[cur], &self.servers[p]);
                    // Fewer connections relative to weight wins; ties keep the earlier draw.
                    if u64::from(c.served) * u64::from(q.eweight)
                        > u64::from(q.served) * u64::from(c.eweight)
                    {
                        Some(p)
                    } else {
                        Some(cur)
                    }
                }
                _ => Some(cur),
            };
        }
        best
    }
}
