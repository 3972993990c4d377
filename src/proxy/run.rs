//! The proxy runtime: `bind` opens every listener of the model's
//! frontends/listens and builds their services — `mode tcp` relays
//! (`tcp`), `mode http` streams (`http`), each over the pool of its backend
//! — before the command line drops privileges, daemonizes and signals old
//! processes; `Bound::serve` then accepts (`accept`: `nbthread` threads,
//! one current-thread runtime each, or one work-stealing runtime) until a
//! hard stop, or a soft stop once the last connection ended (`drain`).

pub use super::accept::Threading;
use super::accept::{Crew, Opening, close, current_thread, open, spawn_acceptor_threads};
use super::counters::Counters;
use super::drain::{Drain, Gate};
use super::http::{HttpService, Route};
use super::http1::{Limits, ServerConn};
use super::listener::{self, UnixIds};
use super::logging::Sink;
use super::pool::{Level, Pool};
use super::statspage::{Entry, Registry, StatsPage};
use super::tcp::TcpService;
use super::tcprules::TcpRules;
use super::trace::FrontLog;
use crate::daemon::syslog::Severity;
use crate::model::common::Family;
use crate::model::haproxy::{
    HaproxyConfig, HttpConnectionMode, Mode, Proxy, ProxyKind, StatsSocket,
};
use crate::model::{Endpoint, Host};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Bind(String),
    /// Every `bind` that failed, as haproxy words each: `Binding [FILE:LINE]
    /// for frontend NAME: cannot bind socket (REASON) for [ADDR]`.
    #[error("{}", .0.join("\n"))]
    Listeners(Vec<String>),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a listener serves.
#[derive(Clone)]
pub(super) enum Service {
    Tcp(Arc<TcpService>),
    Http(Arc<HttpService>),
}

/// A `mode http` frontend's settings (the frontend's, else its backend's).
fn http_service(front: &Proxy, back: &Proxy, pool: Arc<Pool>, limits: Limits) -> HttpService {
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
        limits,
        forwardfor: front
            .options
            .forwardfor
            .clone()
            .or_else(|| back.options.forwardfor.clone()),
        originalto: front
            .options
            .originalto
            .clone()
            .or_else(|| back.options.originalto.clone()),
        unix: UnixIds::of_proxy(front),
        tcp_rules: TcpRules::of(front),
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

/// The signals and limits `Bound::serve` runs under.
pub struct Control {
    /// Set by SIGUSR1 (`-sf` from a new process): the soft stop.
    pub soft: Arc<AtomicBool>,
    /// Set by SIGTERM/SIGINT (to the signal's number): stop now.
    pub hard: Arc<AtomicUsize>,
    /// `-q`: no warnings on stderr.
    pub quiet: bool,
    /// The global `maxconn` (`None`: unlimited).
    pub maxconn: Option<u32>,
}

/// How serving ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// A soft stop whose connections finished (or `hard-stop-after` cut them).
    Soft,
    /// SIGTERM/SIGINT.
    Hard,
}

/// One proxy's counts for its stop line.
struct Tally {
    name: String,
    front: Option<Arc<Gate>>,
    back: Option<Arc<Pool>>,
    /// Where the proxy logs (the stop line goes there too).
    log: Option<Sink>,
}

/// The proxies of a configuration with their sockets bound, not serving yet.
pub struct Bound {
    /// The listeners of each acceptor thread (one list when shared).
    shards: Vec<Vec<Opening>>,
    threading: Threading,
    pools: Vec<(String, Arc<Pool>)>,
    tallies: Vec<Tally>,
    threads: usize,
    hard_stop_after: Option<Duration>,
    /// `stats socket` lines and what they report on.
    cli: (Vec<StatsSocket>, Arc<OnceLock<Registry>>),
}

/// `nbthread` as in haproxy: the file's, else one per CPU.
pub fn threads(cfg: &HaproxyConfig) -> u32 {
    cfg.global.nbthread.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
    })
}

/// Binds every listener of `cfg` (privileged ports need root: call this
/// before dropping privileges). `proxy_maxconn` (`-N`) limits frontends
/// that set no `maxconn` of their own.
pub fn bind(
    cfg: &HaproxyConfig,
    sources: &crate::conf::SourceMap,
    proxy_maxconn: Option<u32>,
    global_maxconn: u32,
) -> Result<Bound, RunError> {
    let mut failures = Vec::new();
    // `expose-fd listeners`: a successor started with `-x` takes them over.
    let exposed = cfg
        .global
        .stats_sockets
        .iter()
        .any(|s| s.options.expose_fd_listeners);
    // Map files are read now, before any `chroot`.
    if let Ok(text) = serde_json::to_string(cfg) {
        super::maps::preload(&text);
    }
    let threads = usize::try_from(threads(cfg)).unwrap_or(1);
    let threading = Threading::from_env();
    let acceptors = match threading {
        Threading::PerThread => threads,
        Threading::Shared => 1,
    };
    let mut shards: Vec<Vec<Opening>> = (0..acceptors).map(|_| Vec::new()).collect();
    let t = &cfg.global.tune;
    let limits = Limits {
        bufsize: t.bufsize as usize,
        maxrewrite: t.maxrewrite as usize,
        max_hdr: t.http_maxhdr as usize,
    };
    // One pool per backend, shared by the frontends that use it.
    let mut pools: Vec<(String, Arc<Pool>)> = Vec::new();
    let registry: Arc<OnceLock<Registry>> = Arc::default();
    let mut fronts: Vec<(String, Arc<Counters>)> = Vec::new();
    let mut gates: Vec<(String, Arc<Gate>)> = Vec::new();
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
                // `use_backend NAME [if|unless COND]`, in order, before the
                // default; a dynamic name may be any backend of the file.
                let backends: Arc<Vec<(String, Arc<Pool>)>> =
                    Arc::new(if p.use_backends.iter().any(|u| u.dynamic) {
                        cfg.proxies
                            .iter()
                            .filter(|b| !b.disabled && b.kind.has_backend())
                            .map(|b| (b.name.clone(), pool_of(b)))
                            .collect()
                    } else {
                        Vec::new()
                    });
                let routes = p
                    .use_backends
                    .iter()
                    .filter_map(|u| {
                        let route = if u.dynamic {
                            Route::Named(u.target.clone(), Arc::clone(&backends))
                        } else {
                            Route::To(pool_of(cfg.backend(&u.target)?))
                        };
                        Some((u.cond.clone(), route))
                    })
                    .collect();
                let mut svc = http_service(p, backend, pool, limits);
                svc.stats = p.stats.clone().filter(|s| s.enabled).map(|conf| StatsPage {
                    conf,
                    registry: Arc::clone(&registry),
                });
                fronts.push((p.name.clone(), Arc::clone(&svc.counters)));
                svc.routes = routes;
                svc.acls = p.acls.clone();
                svc.http_request = super::rules::with_files_read(&p.http_request);
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
                    unix: UnixIds::of_proxy(p),
                    tcp_rules: TcpRules::of(p),
                }))
            }
        };
        let gate = Arc::new(Gate::new(p.maxconn.or(proxy_maxconn)));
        gates.push((p.name.clone(), Arc::clone(&gate)));
        for b in &p.binds {
            for a in &b.addresses {
                let per_thread = match listener::bind_per_thread(a, &b.options, shards.len()) {
                    Ok(l) => l,
                    Err(e) => {
                        let file = sources.path(crate::conf::FileId(p.file));
                        failures.push(format!(
                            "Binding [{}:{}] for {} {}: {e}",
                            file.display(),
                            b.line,
                            p.kind.label(),
                            p.name
                        ));
                        continue;
                    }
                };
                if exposed {
                    per_thread
                        .iter()
                        .flatten()
                        .for_each(|l| listener::transfer::export(l.fd()));
                }
                for (shard, ls) in shards.iter_mut().zip(per_thread) {
                    shard.extend(
                        ls.into_iter()
                            .map(|l| (l, service.clone(), Arc::clone(&gate))),
                    );
                }
            }
        }
    }
    // Sockets the old process passed over (`-x`) that no bind took.
    listener::transfer::release_unused();
    if !failures.is_empty() {
        return Err(RunError::Listeners(failures));
    }
    // Every proxy for the statistics, in the file's order.
    let session_limits = super::statspage::SessionLimits::new(cfg, proxy_maxconn, global_maxconn);
    let entries = cfg
        .proxies
        .iter()
        .filter(|p| !p.disabled)
        .map(|p| {
            let limits = session_limits.of(p);
            let pool = match p.kind {
                ProxyKind::Frontend => None,
                _ => Some(match pools.iter().find(|(n, _)| *n == p.name) {
                    Some((_, pool)) => Arc::clone(pool),
                    None => {
                        let pool = Arc::new(Pool::new(p, Sink::for_proxy(cfg, p)));
                        pools.push((p.name.clone(), Arc::clone(&pool)));
                        pool
                    }
                }),
            };
            // The `fullconn` the statistics show is the one `minconn` uses.
            if let (Some(pool), Some(full)) = (&pool, limits.1) {
                pool.set_fullconn(full);
            }
            Entry {
                name: p.name.clone(),
                kind: p.kind,
                mode: p.mode,
                frontend: fronts
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map(|(_, c)| Arc::clone(c)),
                pool,
                limits,
            }
        })
        .collect();
    let _ = registry.set(Registry {
        started: std::time::Instant::now(),
        entries,
    });
    // haproxy reports the proxies as their listeners close, protocol by
    // protocol (`stop_pass`), each group in the file's order, then its own.
    let mut stopping: Vec<&Proxy> = cfg.proxies.iter().filter(|p| !p.disabled).collect();
    stopping.sort_by_key(|p| stop_pass(p));
    let mut tallies: Vec<Tally> = stopping
        .into_iter()
        .map(|p| Tally {
            name: p.name.clone(),
            front: gates
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, g)| Arc::clone(g)),
            back: (p.kind != ProxyKind::Frontend)
                .then(|| pools.iter().find(|(n, _)| *n == p.name))
                .flatten()
                .map(|(_, pool)| Arc::clone(pool)),
            log: Sink::for_proxy(cfg, p),
        })
        .collect();
    tallies.push(internal_tally(cfg));
    Ok(Bound {
        shards,
        threading,
        pools,
        tallies,
        threads,
        hard_stop_after: cfg.global.hard_stop_after.map(|d| d.to_std()),
        cli: (cfg.global.stats_sockets.clone(), registry),
    })
}

impl Bound {
    /// Serves until a hard stop, or until a soft stop has closed the
    /// listeners and the last connection ended. Builds the runtimes: call
    /// it after any fork.
    pub fn serve(self, ctl: Control) -> Result<Ended, RunError> {
        let mut shards = self.shards.into_iter();
        let first = shards.next().unwrap_or_default();
        let rt = match self.threading {
            Threading::Shared if self.threads > 1 => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.threads)
                .enable_all()
                .build()?,
            _ => current_thread()?,
        };
        let pid = std::process::id();
        let quiet = ctl.quiet;
        let say: Arc<dyn Fn(Level, String) + Send + Sync> = Arc::new(move |level, text| {
            if !quiet || level == Level::Alert {
                eprintln!("{}({pid}) : {text}", level.tag());
            }
        });
        let drain = Drain::new(ctl.maxconn);
        let (closing_tx, closing) = tokio::sync::watch::channel(false);
        let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
        // Every serving thread has a seat: a current-thread runtime per
        // thread, or the one work-stealing runtime (which balances itself).
        let serving = match self.threading {
            Threading::PerThread => self.threads.max(1),
            Threading::Shared => 1,
        };
        let (seats, rxs) = Crew::seats(serving);
        let mut seated = seats.into_iter().zip(rxs);
        // `Crew::seats` gives one seat at least.
        let Some((first_seat, first_rx)) = seated.next() else {
            return Ok(Ended::Hard);
        };
        // The stats sockets exist before any connection is accepted: a
        // client that finds the port open finds the CLI too.
        {
            let _in = rt.enter();
            start_cli(&self.cli.0, &self.cli.1)?;
        }
        let others = spawn_acceptor_threads(
            shards
                .zip(seated)
                .map(|(shard, (seat, rx))| (shard, seat, rx))
                .collect(),
            &drain,
            &closing,
            &closed_tx,
        )?;
        let tallies = self.tallies;
        let hard_stop_after = self.hard_stop_after;
        rt.block_on(async move {
            for (_, pool) in &self.pools {
                pool.start_checks(Arc::clone(&say));
            }
            let acceptors = open(first, &drain, &first_seat)?;
            first_seat.receive(first_rx);
            // Listening: systemd (`Type=notify`, `-Ws`) may go on. A
            // master's worker also names the sockets it did not take.
            if std::env::var_os(listener::HANDOVER_ENV).is_some() {
                let unused = listener::release_unused_handover();
                let unused = serde_json::to_string(&unused).unwrap_or_default();
                crate::daemon::sd_notify(&format!("READY=1\nPHAROS_UNUSED={unused}"));
            } else {
                crate::daemon::sd_notify("READY=1");
            }
            while !ctl.soft.load(Ordering::Relaxed) {
                if ctl.hard.load(Ordering::Relaxed) != 0 {
                    crate::daemon::sd_notify("STOPPING=1");
                    return Ok(Ended::Hard);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            crate::daemon::sd_notify("STOPPING=1");
            // Soft stop: the ports are free for the new process at once.
            listener::transfer::withdraw_exports();
            let _ = closing_tx.send(true);
            close(acceptors).await;
            for _ in 0..others {
                let _ = tokio::time::timeout(Duration::from_secs(1), closed.recv()).await;
            }
            say_stopped(&tallies, &*say);
            let deadline = hard_stop_after.map(|d| tokio::time::Instant::now() + d);
            loop {
                if drain.live() == 0 {
                    return Ok(Ended::Soft);
                }
                if ctl.hard.load(Ordering::Relaxed) != 0 {
                    return Ok(Ended::Hard);
                }
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    say_hard_stopped(&tallies, &*say);
                    return Ok(Ended::Soft);
                }
                let _ = tokio::time::timeout(Duration::from_millis(50), drain.idle()).await;
            }
        })
    }
}

/// When a soft stop reports proxy `p`: haproxy closes listeners protocol
/// by protocol (TCP over IPv6, TCP over IPv4, then unix sockets), and a
/// proxy is stopped with its last listener; proxies without any come after.
fn stop_pass(p: &Proxy) -> u8 {
    let rank = |a: &Endpoint| match a {
        Endpoint::Inet {
            host: Host::Ip(IpAddr::V6(_)),
            ..
        }
        | Endpoint::Inet {
            family: Some(Family::Ipv6),
            ..
        } => 0,
        Endpoint::Inet { .. } | Endpoint::Fd { .. } => 1,
        _ => 2,
    };
    p.binds
        .iter()
        .flat_map(|b| &b.addresses)
        .map(rank)
        .max()
        .unwrap_or(3)
}

/// haproxy 2.6 has an internal proxy of its own, stopped last; it logs
/// to the global targets.
fn internal_tally(cfg: &HaproxyConfig) -> Tally {
    Tally {
        name: "<HTTPCLIENT>".into(),
        front: None,
        back: None,
        log: Sink::for_global(cfg),
    }
}

/// The soft stop's lines, once the listeners are closed: on stderr and to
/// each proxy's log.
fn say_stopped(tallies: &[Tally], say: &(dyn Fn(Level, String) + Send + Sync)) {
    for t in tallies {
        let fe = t.front.as_ref().map_or(0, |g| g.accepted());
        let be = t.back.as_ref().map_or(0, |p| p.counters.traffic().stot);
        let text = format!(
            "Proxy {} stopped (cumulated conns: FE: {fe}, BE: {be}).",
            t.name
        );
        // The warning first, then the log line, as haproxy writes them.
        say(Level::Warning, text.clone());
        if let Some(log) = &t.log {
            log.send(Severity::Warning, &text);
        }
    }
}

/// `hard-stop-after` cut the soft stop short.
fn say_hard_stopped(tallies: &[Tally], say: &(dyn Fn(Level, String) + Send + Sync)) {
    say(
        Level::Warning,
        "soft-stop running for too long, performing a hard-stop.".into(),
    );
    for t in tallies {
        let left = t.front.as_ref().map_or(0, |g| g.current());
        if left > 0 {
            say(
                Level::Warning,
                format!(
                    "Proxy {} hard-stopped ({left} remaining conns will be closed).",
                    t.name
                ),
            );
        }
    }
}

/// The `stats socket` listeners (the CLI), on the running runtime.
fn start_cli(sockets: &[StatsSocket], registry: &Arc<OnceLock<Registry>>) -> Result<(), RunError> {
    super::cli::listen(sockets, registry)
        .map_err(|e| RunError::Bind(format!("Starting stats socket: {e}")))
}
