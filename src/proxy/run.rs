//! The proxy runtime, first cut: every `mode tcp` frontend/listen of the
//! model accepts on its `bind` sockets and relays each connection to a
//! server of its backend, chosen round-robin over the active servers
//! (weights respected), with `timeout connect` for the connection,
//! `retries` on the same server (`option redispatch`: the last elsewhere), and `timeout client`/`timeout server` as
//! idle limits on each direction; `mode http` ones run `http::session`.
//! One tokio current-thread runtime; the threading model is to be chosen by
//! measurement (issue 3).

use super::http::{self, HttpService};
use super::http1::{Limits, ServerConn};
use super::listener::{self, Listener};
use crate::model::haproxy::{HaproxyConfig, HttpConnectionMode, Mode, Proxy, ProxyKind};
use crate::model::{Endpoint, Host};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Bind(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A backend as the relay sees it: server addresses, repeated by weight in
/// a smooth order, and a cursor.
pub(super) struct Pool {
    order: Vec<SocketAddr>,
    next: AtomicUsize,
    connect: Option<Duration>,
    server_idle: Option<Duration>,
    retries: u32,
    /// `option redispatch`: the last retry goes to another server.
    redispatch: bool,
}

impl Pool {
    fn new(p: &Proxy) -> Pool {
        let servers: Vec<(SocketAddr, u32)> = p
            .servers
            .iter()
            .filter(|s| !s.params.backup && s.params.weight > 0)
            .filter_map(|s| {
                let Endpoint::Inet {
                    host: Host::Ip(ip), ..
                } = &s.address
                else {
                    return None;
                };
                Some((SocketAddr::new(*ip, s.port?), s.params.weight))
            })
            .collect();
        Pool {
            order: smooth_weighted(&servers),
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

    pub(super) fn pick(&self) -> Option<SocketAddr> {
        if self.order.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.order.len();
        Some(self.order[i])
    }
}

/// Nginx-style smooth weighted round-robin over one cycle: weights 1/1 give
/// A B, weights 2/1 give A B A.
fn smooth_weighted(servers: &[(SocketAddr, u32)]) -> Vec<SocketAddr> {
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
            .max_by_key(|(i, c)| (**c, -(*i as i64)))
        else {
            break;
        };
        current[best] -= total;
        out.push(servers[best].0);
    }
    out
}

/// What a listener serves.
#[derive(Clone)]
enum Service {
    Tcp(Arc<Pool>, Option<Duration>),
    Http(Arc<HttpService>),
}

/// A `mode http` frontend's settings (the frontend's, else its backend's).
fn http_service(front: &Proxy, back: &Proxy, pool: Arc<Pool>) -> HttpService {
    let t = |f: fn(&Proxy) -> Option<crate::model::Duration>| {
        f(front).or_else(|| f(back)).map(|d| d.to_std())
    };
    let mode = |p: &Proxy| p.options.http_connection;
    let server_mode = match (mode(front), mode(back)) {
        (HttpConnectionMode::KeepAlive, HttpConnectionMode::KeepAlive) => ServerConn::KeepAlive,
        _ => ServerConn::Close,
    };
    HttpService {
        pool,
        limits: Limits::default(),
        forwardfor: front
            .options
            .forwardfor
            .clone()
            .or_else(|| back.options.forwardfor.clone()),
        request_timeout: t(|p| p.timeouts.http_request),
        keep_alive_timeout: t(|p| p.timeouts.http_keep_alive),
        client_timeout: front.timeouts.client.map(|d| d.to_std()),
        server_mode,
    }
}

/// Runs until `stop` is set.
pub fn run(cfg: &HaproxyConfig, stop: Arc<AtomicBool>) -> Result<(), RunError> {
    let mut services = Vec::new();
    for p in cfg
        .proxies
        .iter()
        .filter(|p| !p.disabled && !p.binds.is_empty())
    {
        let backend = match p.kind {
            ProxyKind::Listen => p,
            _ => p
                .default_backend
                .as_deref()
                .and_then(|b| cfg.backend(b))
                .unwrap_or(p),
        };
        let pool = Arc::new(Pool::new(backend));
        let client_idle = p.timeouts.client.map(|d| d.to_std());
        let service = match p.mode {
            Mode::Http => Service::Http(Arc::new(http_service(p, backend, pool))),
            _ => Service::Tcp(pool, client_idle),
        };
        for b in &p.binds {
            for a in &b.addresses {
                let ls = listener::bind(a, &b.options)
                    .map_err(|e| RunError::Bind(format!("Starting proxy {}: {e}", p.name)))?;
                for l in ls {
                    services.push((l, service.clone()));
                }
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        for (l, service) in services {
            let Listener::Tcp(std) = l else { continue };
            let tl = tokio::net::TcpListener::from_std(std)?;
            tokio::spawn(async move {
                while let Ok((client, peer)) = tl.accept().await {
                    match &service {
                        Service::Tcp(pool, idle) => {
                            tokio::spawn(relay(client, Arc::clone(pool), *idle));
                        }
                        Service::Http(svc) => {
                            tokio::spawn(http::session(client, peer, Arc::clone(svc)));
                        }
                    }
                }
            });
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<(), RunError>(())
    })
}

/// One client connection: connect to a server (`Pool::connect`), then copy
/// both ways; when all tries fail the client is closed.
async fn relay(client: TcpStream, pool: Arc<Pool>, client_idle: Option<Duration>) {
    let Some(addr) = pool.pick() else { return };
    let Some(server) = pool.connect(addr).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = copy_idle(cr, sw, client_idle);
    let down = copy_idle(sr, cw, pool.server_idle);
    let _ = tokio::join!(up, down);
}

/// Copies until EOF (then half-closes) or until nothing arrives for `idle`.
async fn copy_idle(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    idle: Option<Duration>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16384];
    loop {
        let read = from.read(&mut buf);
        let n = match idle {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r?,
                Err(_) => return Ok(()),
            },
            None => read.await?,
        };
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_weighted_spreads_the_heavier_server() {
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:2".parse().expect("addr");
        assert_eq!(smooth_weighted(&[(a, 1), (b, 1)]), vec![a, b]);
        assert_eq!(smooth_weighted(&[(a, 2), (b, 1)]), vec![a, b, a]);
        assert!(smooth_weighted(&[]).is_empty());
    }
}
