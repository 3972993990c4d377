//! A backend's servers as the runtime holds them: addresses, weights,
//! backup flags, UP/DOWN from health checks (`check`), the rotation that
//! picks one per connection or request, and haproxy's way of connecting
//! (`timeout connect`, `retries` on the same server a second apart,
//! `option redispatch`). Check transitions are logged in haproxy's words.

use crate::check::{self, Health};
use crate::model::haproxy::{Proxy, ProxyKind};
use crate::model::{Endpoint, HealthCheck, Host};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;

/// One server.
pub(super) struct Member {
    pub name: String,
    pub addr: SocketAddr,
    pub weight: u32,
    pub backup: bool,
    pub up: AtomicBool,
    /// Just back UP: it waits for the next turn in the rotation, as
    /// haproxy's round-robin puts a returning server behind the others.
    rejoining: AtomicBool,
    check: Option<HealthCheck>,
}

/// A backend's servers and connection settings.
pub(super) struct Pool {
    /// `proxy 'x'` or `backend 'x'` in messages.
    kind: &'static str,
    pub name: String,
    pub members: Vec<Member>,
    /// Active (non-backup) members in smooth weighted order, by index.
    order: Vec<usize>,
    next: AtomicUsize,
    connect: Option<Duration>,
    server_idle: Option<Duration>,
    retries: u32,
    redispatch: bool,
}

impl Pool {
    /// The servers of backend (or listen) `p` with a literal address.
    pub(super) fn new(p: &Proxy) -> Pool {
        let members: Vec<Member> = p
            .servers
            .iter()
            .filter_map(|s| {
                let Endpoint::Inet {
                    host: Host::Ip(ip), ..
                } = &s.address
                else {
                    return None;
                };
                Some(Member {
                    name: s.name.clone(),
                    addr: SocketAddr::new(*ip, s.port?),
                    weight: s.params.weight,
                    backup: s.params.backup,
                    up: AtomicBool::new(true),
                    rejoining: AtomicBool::new(false),
                    check: s.health_check.clone(),
                })
            })
            .collect();
        let weights: Vec<(usize, u32)> = members
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.backup && m.weight > 0)
            .map(|(i, m)| (i, m.weight))
            .collect();
        Pool {
            kind: if p.kind == ProxyKind::Listen {
                "proxy"
            } else {
                "backend"
            },
            name: p.name.clone(),
            order: smooth_weighted(&weights),
            members,
            next: AtomicUsize::new(0),
            connect: p.timeouts.connect.map(|d| d.to_std()),
            server_idle: p.timeouts.server.map(|d| d.to_std()),
            retries: p.retries,
            redispatch: p.options.redispatch.is_some(),
        }
    }

    /// `timeout server`.
    pub(super) fn server_timeout(&self) -> Option<Duration> {
        self.server_idle
    }

    /// The next UP server in rotation; the first UP backup when no active
    /// server is UP.
    pub(super) fn pick(&self) -> Option<SocketAddr> {
        let n = self.order.len();
        // One extra turn: a rejoining server gives its first turn away.
        for _ in 0..if n == 0 { 0 } else { n + 1 } {
            let i = self.order[self.next.fetch_add(1, Ordering::Relaxed) % n];
            let m = &self.members[i];
            if m.up.load(Ordering::Relaxed) && !m.rejoining.swap(false, Ordering::Relaxed) {
                return Some(m.addr);
            }
        }
        self.members
            .iter()
            .find(|m| m.backup && m.up.load(Ordering::Relaxed))
            .map(|m| m.addr)
    }

    /// Connects to `addr` as haproxy does: `retries` more tries on the same
    /// server a second apart, the last one elsewhere with `option
    /// redispatch`; each within `timeout connect`.
    pub(super) async fn connect(&self, mut addr: SocketAddr) -> Option<TcpStream> {
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if self.redispatch && attempt == self.retries {
                    addr = self.pick().unwrap_or(addr);
                }
            }
            let connecting = TcpStream::connect(addr);
            let ok = match self.connect {
                Some(t) => tokio::time::timeout(t, connecting)
                    .await
                    .ok()
                    .and_then(Result::ok),
                None => connecting.await.ok(),
            };
            if let Some(s) = ok {
                let _ = s.set_nodelay(true);
                return Some(s);
            }
        }
        None
    }

    /// Starts the health check of every server that has one (on the
    /// current tokio runtime). `say` gets haproxy's log lines.
    pub(super) fn start_checks(self: &Arc<Self>, say: Arc<dyn Fn(Level, String) + Send + Sync>) {
        for i in 0..self.members.len() {
            let Some(hc) = self.members[i].check.clone() else {
                continue;
            };
            let pool = Arc::clone(self);
            let say = Arc::clone(&say);
            tokio::spawn(async move {
                let m = &pool.members[i];
                let target = SocketAddr::new(
                    hc.connect_ip.unwrap_or(m.addr.ip()),
                    hc.connect_port.unwrap_or(m.addr.port()),
                );
                let mut health = Health::new(hc.rise, hc.fall);
                loop {
                    let outcome = check::probe::run(&hc, target).await;
                    if let Some(up) = health.result(outcome.ok) {
                        m.rejoining.store(up, Ordering::Relaxed);
                        m.up.store(up, Ordering::Relaxed);
                        pool.announce(i, up, &outcome.describe(), &*say);
                    }
                    tokio::time::sleep(health.next_interval(&hc)).await;
                }
            });
        }
    }

    /// haproxy's lines for a server changing state.
    fn announce(&self, i: usize, up: bool, why: &str, say: &(dyn Fn(Level, String) + Send + Sync)) {
        let count = |backup: bool| {
            self.members
                .iter()
                .filter(|m| m.backup == backup && m.up.load(Ordering::Relaxed))
                .count()
        };
        let (active, backup) = (count(false), count(true));
        let who = format!("{}/{}", self.name, self.members[i].name);
        if up {
            say(
                Level::Warning,
                format!(
                    "Server {who} is UP, {why}. {active} active and {backup} backup servers online. 0 sessions requeued, 0 total in queue."
                ),
            );
        } else {
            say(
                Level::Warning,
                format!(
                    "Server {who} is DOWN, {why}. {active} active and {backup} backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
                ),
            );
            if active + backup == 0 {
                say(
                    Level::Alert,
                    format!("{} '{}' has no server available!", self.kind, self.name),
                );
            }
        }
    }
}

pub(super) use crate::conf::haproxy::Level;

/// Smooth weighted round-robin over one cycle of member indexes: weights
/// 1/1 give A B, weights 2/1 give A B A.
fn smooth_weighted(servers: &[(usize, u32)]) -> Vec<usize> {
    let total: i64 = servers.iter().map(|(_, w)| i64::from(*w)).sum();
    let mut current = vec![0i64; servers.len()];
    let mut out = Vec::new();
    for _ in 0..total {
        for (c, (_, w)) in current.iter_mut().zip(servers) {
            *c += i64::from(*w);
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, -(i64::try_from(*i).unwrap_or(0))))
        else {
            break;
        };
        current[best] -= total;
        out.push(servers[best].0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_weighted_spreads_the_heavier_server() {
        assert_eq!(smooth_weighted(&[(0, 1), (1, 1)]), vec![0, 1]);
        assert_eq!(smooth_weighted(&[(0, 2), (1, 1)]), vec![0, 1, 0]);
        assert!(smooth_weighted(&[]).is_empty());
    }
}
