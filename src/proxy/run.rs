//! The proxy runtime, first cut: every `mode tcp` frontend/listen of the
//! model accepts on its `bind` sockets and relays each connection to a
//! server of its backend, chosen round-robin over the active servers
//! (weights respected), with `timeout connect` for the connection,
//! `retries` on the same server (`option redispatch`: the last elsewhere), and `timeout client`/`timeout server` as
//! idle limits on each direction; `mode http` ones run `http::session`.
//! `nbthread` 1 runs on one tokio current-thread runtime; more (the
//! default is one per CPU, as haproxy) on tokio's multi-thread scheduler.

use super::balance::RequestView;
use super::counters::{Counters, Session};
use super::http::{self, HttpService};
use super::http1::{Limits, ServerConn};
use super::listener::{self, Listener};
use super::log::{Cause, Stage};
use super::logging::Sink;
use super::pool::{Level, Pool};
use super::statspage::{Entry, Registry, StatsPage};
use super::trace::{Active, FrontLog, Trace};
use super::tunnel;
use crate::model::haproxy::{HaproxyConfig, HttpConnectionMode, Mode, Proxy, ProxyKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Bind(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a listener serves.
#[derive(Clone)]
enum Service {
    Tcp(Arc<TcpService>),
    Http(Arc<HttpService>),
}

/// A `mode tcp` frontend.
struct TcpService {
    frontend: String,
    pool: Arc<Pool>,
    /// `timeout client`.
    client_idle: Option<Duration>,
    counters: Arc<Counters>,
    log: Option<FrontLog>,
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
        tunnel_timeout: t(|p| p.timeouts.tunnel),
        server_mode,
        client_close: mode(front) == HttpConnectionMode::Close
            || mode(back) == HttpConnectionMode::Close,
        routes: Vec::new(),
        acls: Vec::new(),
        http_request: Vec::new(),
        http_response: Vec::new(),
        counters: Arc::default(),
        stats: None,
        frontend: front.name.clone(),
        log: None,
    }
}

/// Runs until `stop` is set.
pub fn run(cfg: &HaproxyConfig, stop: Arc<AtomicBool>, quiet: bool) -> Result<(), RunError> {
    let mut services = Vec::new();
    // One pool per backend, shared by the frontends that use it.
    let mut pools: Vec<(String, Arc<Pool>)> = Vec::new();
    let registry: Arc<OnceLock<Registry>> = Arc::default();
    let mut fronts: Vec<(String, Arc<Counters>)> = Vec::new();
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
        let mut pool_of = |px: &Proxy| match pools.iter().find(|(n, _)| *n == px.name) {
            Some((_, p)) => Arc::clone(p),
            None => {
                let p = Arc::new(Pool::new(px, Sink::for_proxy(cfg, px)));
                pools.push((px.name.clone(), Arc::clone(&p)));
                p
            }
        };
        let pool = pool_of(backend);
        let client_idle = p.timeouts.client.map(|d| d.to_std());
        let service = match p.mode {
            Mode::Http => {
                // `use_backend NAME [if|unless COND]`, in order, before the default.
                let routes = p
                    .use_backends
                    .iter()
                    .filter(|u| !u.dynamic)
                    .filter_map(|u| Some((u.cond.clone(), pool_of(cfg.backend(&u.target)?))))
                    .collect();
                let mut svc = http_service(p, backend, pool);
                svc.stats = p.stats.clone().filter(|s| s.enabled).map(|conf| StatsPage {
                    conf,
                    registry: Arc::clone(&registry),
                });
                fronts.push((p.name.clone(), Arc::clone(&svc.counters)));
                svc.routes = routes;
                svc.acls = p.acls.clone();
                svc.http_request = p.http_request.clone();
                svc.http_response = p.http_response.clone();
                svc.log = FrontLog::for_proxy(cfg, p).map(Arc::new);
                Service::Http(Arc::new(svc))
            }
            _ => {
                let counters: Arc<Counters> = Arc::default();
                fronts.push((p.name.clone(), Arc::clone(&counters)));
                Service::Tcp(Arc::new(TcpService {
                    frontend: p.name.clone(),
                    pool,
                    client_idle,
                    counters,
                    log: FrontLog::for_proxy(cfg, p),
                }))
            }
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
    // Every proxy for the statistics, in the file's order.
    let entries = cfg
        .proxies
        .iter()
        .filter(|p| !p.disabled)
        .map(|p| Entry {
            name: p.name.clone(),
            kind: p.kind,
            mode: p.mode,
            frontend: fronts
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, c)| Arc::clone(c)),
            pool: match p.kind {
                ProxyKind::Frontend => None,
                _ => Some(match pools.iter().find(|(n, _)| *n == p.name) {
                    Some((_, pool)) => Arc::clone(pool),
                    None => {
                        let pool = Arc::new(Pool::new(p, Sink::for_proxy(cfg, p)));
                        pools.push((p.name.clone(), Arc::clone(&pool)));
                        pool
                    }
                }),
            },
        })
        .collect();
    let _ = registry.set(Registry {
        started: std::time::Instant::now(),
        entries,
    });
    // `nbthread` as in haproxy (default: one per CPU): 1 runs everything
    // on one current-thread runtime, more on a work-stealing pool.
    let threads = cfg.global.nbthread.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| usize::try_from(n).unwrap_or(1),
    );
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let pid = std::process::id();
    let say: Arc<dyn Fn(Level, String) + Send + Sync> = Arc::new(move |level, text| {
        if !quiet || level == Level::Alert {
            eprintln!("{}({pid}) : {text}", level.tag());
        }
    });
    rt.block_on(async move {
        for (_, pool) in &pools {
            pool.start_checks(Arc::clone(&say));
        }
        for (l, service) in services {
            let Listener::Tcp(std) = l else { continue };
            let tl = tokio::net::TcpListener::from_std(std)?;
            tokio::spawn(async move {
                while let Ok((client, peer)) = tl.accept().await {
                    match &service {
                        Service::Tcp(svc) => {
                            tokio::spawn(relay(client, peer, Arc::clone(svc)));
                        }
                        Service::Http(svc) => {
                            tokio::spawn(http::session(client, peer, Arc::clone(svc)));
                        }
                    }
                }
            });
        }
        start_cli(cfg, &registry)?;
        // Listening: systemd (`Type=notify`, `-Ws`) may go on.
        crate::daemon::sd_notify("READY=1");
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        crate::daemon::sd_notify("STOPPING=1");
        Ok::<(), RunError>(())
    })
}

/// The `stats socket` listeners (the CLI), on the running runtime.
fn start_cli(cfg: &HaproxyConfig, registry: &Arc<OnceLock<Registry>>) -> Result<(), RunError> {
    super::cli::listen(&cfg.global.stats_sockets, registry)
        .map_err(|e| RunError::Bind(format!("Starting stats socket: {e}")))
}

/// One client connection: connect to a server (`Pool::connect`), then copy
/// both ways; when all tries fail the client is closed.
async fn relay(client: TcpStream, peer: SocketAddr, svc: Arc<TcpService>) {
    let _active = Active::new();
    let _session = Session::new(&svc.counters);
    let mut trace = match &svc.log {
        Some(log) => {
            let t = Trace::start(&svc.frontend, false, peer, client.local_addr().ok());
            log.accepted(&t);
            t
        }
        None => Trace::off(),
    };
    relay_traced(client, &svc, &mut trace).await;
    if let Some(log) = &svc.log {
        trace.connections(svc.counters.current(), svc.pool.counters.current(), 0);
        log.done(trace);
    }
}

async fn relay_traced(client: TcpStream, svc: &TcpService, trace: &mut Trace) {
    let pool = &svc.pool;
    let lease = pool.pick(&RequestView {
        src: Some(trace_peer(&client)),
        ..RequestView::default()
    });
    let Some(lease) = lease else {
        trace.end(Cause::ServerAbort, Stage::Connect);
        return;
    };
    trace.assigned(&pool.name, lease.server_name(), lease.addr);
    let c = pool.connect(lease.addr).await;
    trace.entry.counters.retries = u64::from(c.retries);
    trace.entry.counters.redispatched = c.redispatched;
    let Some(server) = c.stream else {
        let cause = if c.timed_out {
            Cause::ServerTimeout
        } else {
            Cause::ServerAbort
        };
        trace.end(cause, Stage::Connect);
        return;
    };
    trace.connected();
    let _ = client.set_nodelay(true);
    let mut client = client;
    let mut server = server;
    let (up, down) = tunnel::relay(
        &mut client,
        &mut server,
        svc.client_idle,
        pool.server_timeout(),
    )
    .await;
    trace.entry.bytes_in = up.bytes;
    trace.entry.bytes_out = down.bytes;
    if let Some((cause, stage)) = tunnel::ending(&up, &down) {
        trace.end(cause, stage);
    }
    drop(lease);
}

/// The client's address (for `balance source`).
fn trace_peer(client: &TcpStream) -> std::net::IpAddr {
    client
        .peer_addr()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip())
}
