//! The proxy runtime, first cut: every `mode tcp` frontend/listen of the
//! model accepts on its `bind` sockets and relays each connection to a
//! server of its backend, chosen round-robin over the active servers
//! (weights respected), with `timeout connect` for the connection,
//! `retries` on the same server (`option redispatch`: the last elsewhere), and `timeout client`/`timeout server` as
//! idle limits on each direction; `mode http` ones run `http::session`.
//! `nbthread` 1 runs on one tokio current-thread runtime; more (the
//! default is one per CPU, as haproxy) on tokio's multi-thread scheduler.
//! `bind` opens the sockets first (the command line then drops privileges,
//! daemonizes and signals old processes), `Bound::serve` runs until a hard
//! stop, or a soft stop once the last connection ended (`drain`).

use super::balance::RequestView;
use super::counters::{Counters, Session};
use super::drain::{Drain, Gate, Live, Ticket};
use super::http::{self, HttpService};
use super::http1::{Limits, ServerConn};
use super::listener::{self, Listener};
use super::logging::Sink;
use super::pool::{Level, Pool};
use super::statspage::{Entry, Registry, StatsPage};
use super::trace::{Active, FrontLog, Origin, Trace};
use super::tunnel;
use crate::model::haproxy::{
    HaproxyConfig, HttpConnectionMode, Mode, Proxy, ProxyKind, StatsSocket,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

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
        unix: http::unix_listeners(front),
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

/// Binds every listener of `cfg` (privileged ports need root: call this
/// before dropping privileges). `proxy_maxconn` (`-N`) limits frontends
/// that set no `maxconn` of their own.
pub fn bind(cfg: &HaproxyConfig, proxy_maxconn: Option<u32>) -> Result<Bound, RunError> {
    // `nbthread` as in haproxy (default: one per CPU).
    let threads = cfg.global.nbthread.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| usize::try_from(n).unwrap_or(1),
    );
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
                // `use_backend NAME [if|unless COND]`, in order, before the default.
                let routes = p
                    .use_backends
                    .iter()
                    .filter(|u| !u.dynamic)
                    .filter_map(|u| Some((u.cond.clone(), pool_of(cfg.backend(&u.target)?))))
                    .collect();
                let mut svc = http_service(p, backend, pool, limits);
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
        let gate = Arc::new(Gate::new(p.maxconn.or(proxy_maxconn)));
        gates.push((p.name.clone(), Arc::clone(&gate)));
        for b in &p.binds {
            for a in &b.addresses {
                let per_thread = listener::bind_per_thread(a, &b.options, shards.len())
                    .map_err(|e| RunError::Bind(format!("Starting proxy {}: {e}", p.name)))?;
                for (shard, ls) in shards.iter_mut().zip(per_thread) {
                    shard.extend(
                        ls.into_iter()
                            .map(|l| (l, service.clone(), Arc::clone(&gate))),
                    );
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
    let tallies = cfg
        .proxies
        .iter()
        .filter(|p| !p.disabled)
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
        })
        .collect();
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

/// A bound listener, what it serves and the frontend's connection limit.
type Opening = (Listener, Service, Arc<Gate>);

/// How connections are spread over `nbthread` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threading {
    /// One tokio current-thread runtime per thread, each accepting on
    /// sockets of its own (SO_REUSEPORT) and serving what it accepted, as
    /// haproxy's threads do: no task ever moves between threads.
    PerThread,
    /// One tokio multi-thread runtime: every listener on it, tasks stolen
    /// by idle workers.
    Shared,
}

impl Threading {
    /// `PHAROS_THREADING=shared` picks the work-stealing runtime (for
    /// comparison); anything else, or nothing, one runtime per thread.
    pub fn from_env() -> Threading {
        match std::env::var("PHAROS_THREADING").as_deref() {
            Ok("shared") => Threading::Shared,
            _ => Threading::PerThread,
        }
    }
}

/// A current-thread runtime (one acceptor thread's, or everything's).
fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Starts an accept loop per listener on the current runtime.
fn open(
    openings: Vec<Opening>,
    drain: &Arc<Drain>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut doors = Vec::with_capacity(openings.len());
    for (l, service, gate) in openings {
        doors.push((Door::new(l)?, service, gate));
    }
    Ok(doors
        .into_iter()
        .map(|(door, service, gate)| {
            tokio::spawn(accept_loop(door, service, gate, Arc::clone(drain)))
        })
        .collect())
}

/// Stops accepting: the listeners are closed once this returns.
async fn close(acceptors: Vec<tokio::task::JoinHandle<()>>) {
    for a in &acceptors {
        a.abort();
    }
    for a in acceptors {
        let _ = a.await;
    }
}

/// The other acceptor threads of `Threading::PerThread`: each runs its
/// listeners until `closing` turns true, says so on `closed`, then serves
/// its remaining connections until the process ends.
fn spawn_acceptor_threads(
    shards: Vec<Vec<Opening>>,
    drain: &Arc<Drain>,
    closing: &tokio::sync::watch::Receiver<bool>,
    closed: &tokio::sync::mpsc::UnboundedSender<()>,
) -> std::io::Result<usize> {
    let mut started = 0;
    for (i, shard) in shards.into_iter().enumerate() {
        let rt = current_thread()?;
        // The listeners join this thread's reactor: errors surface here.
        let acceptors = {
            let _in = rt.enter();
            open(shard, drain)?
        };
        let mut closing = closing.clone();
        let closed = closed.clone();
        std::thread::Builder::new()
            .name(format!("pharos-{}", i + 1))
            .spawn(move || {
                rt.block_on(async move {
                    let _ = closing.wait_for(|c| *c).await;
                    close(acceptors).await;
                    let _ = closed.send(());
                    std::future::pending::<()>().await;
                })
            })?;
        started += 1;
    }
    Ok(started)
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
        let others = spawn_acceptor_threads(shards.collect(), &drain, &closing, &closed_tx)?;
        let tallies = self.tallies;
        let hard_stop_after = self.hard_stop_after;
        rt.block_on(async move {
            for (_, pool) in &self.pools {
                pool.start_checks(Arc::clone(&say));
            }
            let acceptors = open(first, &drain)?;
            start_cli(&self.cli.0, &self.cli.1)?;
            // Listening: systemd (`Type=notify`, `-Ws`) may go on.
            crate::daemon::sd_notify("READY=1");
            while !ctl.soft.load(Ordering::Relaxed) {
                if ctl.hard.load(Ordering::Relaxed) != 0 {
                    crate::daemon::sd_notify("STOPPING=1");
                    return Ok(Ended::Hard);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            crate::daemon::sd_notify("STOPPING=1");
            // Soft stop: the ports are free for the new process at once.
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

/// The soft stop's lines, once the listeners are closed.
fn say_stopped(tallies: &[Tally], say: &(dyn Fn(Level, String) + Send + Sync)) {
    for t in tallies {
        let fe = t.front.as_ref().map_or(0, |g| g.accepted());
        let be = t.back.as_ref().map_or(0, |p| p.counters.traffic().stot);
        say(
            Level::Warning,
            format!(
                "Proxy {} stopped (cumulated conns: FE: {fe}, BE: {be}).",
                t.name
            ),
        );
    }
    // haproxy 2.6 has an internal proxy of its own, stopped last.
    say(
        Level::Warning,
        "Proxy <HTTPCLIENT> stopped (cumulated conns: FE: 0, BE: 0).".into(),
    );
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

/// A listening socket in the runtime, watched for readiness so that a
/// connection is accepted only once there is room for it.
enum Door {
    Tcp(AsyncFd<std::net::TcpListener>),
    Unix(AsyncFd<std::os::unix::net::UnixListener>),
}

/// An accepted connection.
enum Conn {
    Tcp(TcpStream, std::net::SocketAddr),
    Unix(UnixStream),
}

impl Door {
    fn new(l: Listener) -> std::io::Result<Door> {
        Ok(match l {
            Listener::Tcp(l) => Door::Tcp(crate::daemon::sys::watch(l)?),
            Listener::Unix(l) => Door::Unix(crate::daemon::sys::watch(l)?),
        })
    }

    /// Waits for a pending connection, then for room (`Drain::admit`),
    /// then accepts it. `Ok(None)`: another taker was faster, try again.
    async fn accept(&self, drain: &Drain, gate: &Gate) -> std::io::Result<Option<(Conn, Ticket)>> {
        let accepted = match self {
            Door::Tcp(fd) => {
                let mut ready = fd.readable().await?;
                let ticket = drain.admit(gate).await;
                match ready.try_io(|l| l.get_ref().accept()) {
                    Ok(r) => {
                        let (c, peer) = r?;
                        c.set_nonblocking(true)?;
                        Some((Conn::Tcp(TcpStream::from_std(c)?, peer), ticket))
                    }
                    Err(_would_block) => None,
                }
            }
            Door::Unix(fd) => {
                let mut ready = fd.readable().await?;
                let ticket = drain.admit(gate).await;
                match ready.try_io(|l| l.get_ref().accept()) {
                    Ok(r) => {
                        let (c, _) = r?;
                        c.set_nonblocking(true)?;
                        Some((Conn::Unix(UnixStream::from_std(c)?), ticket))
                    }
                    Err(_would_block) => None,
                }
            }
        };
        Ok(accepted)
    }
}

/// Accepts while there is room under the limits: at the limit, pending
/// clients stay in the kernel's backlog. Each connection is served on its
/// own task, holding its `Live` guard.
async fn accept_loop(door: Door, service: Service, gate: Arc<Gate>, drain: Arc<Drain>) {
    loop {
        match door.accept(&drain, &gate).await {
            Ok(Some((conn, ticket))) => {
                let live = drain.start(&gate, ticket);
                tokio::spawn(serve_one(conn, service.clone(), live));
            }
            Ok(None) => {}
            Err(_) => {
                // Out of descriptors or an aborted handshake: try again shortly.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve_one(conn: Conn, service: Service, _live: Live) {
    match (conn, service) {
        (Conn::Tcp(client, peer), Service::Tcp(svc)) => {
            let _ = client.set_nodelay(true);
            let local = svc.log.as_ref().and_then(|_| client.local_addr().ok());
            relay(client, Some(peer), local, svc).await;
        }
        (Conn::Tcp(client, peer), Service::Http(svc)) => http::session(client, peer, svc).await,
        (Conn::Unix(client), Service::Tcp(svc)) => relay(client, None, None, svc).await,
        (Conn::Unix(client), Service::Http(svc)) => http::session_unix(client, svc).await,
    }
}

/// The `stats socket` listeners (the CLI), on the running runtime.
fn start_cli(sockets: &[StatsSocket], registry: &Arc<OnceLock<Registry>>) -> Result<(), RunError> {
    super::cli::listen(sockets, registry)
        .map_err(|e| RunError::Bind(format!("Starting stats socket: {e}")))
}

/// One client connection (from `peer` when it is an IP client): connect
/// to a server (`Pool::connect`), then copy both ways; when all tries fail
/// the client is closed. Logged at the end with `option tcplog`.
async fn relay(
    client: impl AsyncRead + AsyncWrite + Unpin,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    svc: Arc<TcpService>,
) {
    let _active = Active::new();
    let _session = Session::new(&svc.counters);
    let mut trace = match (&svc.log, peer) {
        (Some(log), Some(peer)) => {
            let t = Trace::start(Origin::now(), &svc.frontend, false, peer, local);
            log.accepted(&t);
            t
        }
        _ => Trace::off(),
    };
    relay_traced(client, peer, &svc, &mut trace).await;
    if let Some(log) = &svc.log
        && peer.is_some()
    {
        trace.frontend_conns(svc.counters.current());
        trace.backend_conns(svc.pool.beconn());
        log.done(trace);
    }
}

async fn relay_traced(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    peer: Option<SocketAddr>,
    svc: &TcpService,
    trace: &mut Trace,
) {
    let pool = &svc.pool;
    let src = peer.map(|p| p.ip());
    let pick = || {
        pool.pick(&RequestView {
            src,
            ..RequestView::default()
        })
    };
    let lease = match trace.took(pool.take(pick).await) {
        Ok(lease) => lease,
        Err((cause, stage)) => return trace.end(cause, stage),
    };
    trace.assigned(&pool.name, lease.server_name(), lease.addr);
    let mut server = match trace.tried(pool.connect(lease.addr).await) {
        Ok(server) => server,
        Err((cause, stage)) => return trace.end(cause, stage),
    };
    let (up, down) = tunnel::relay(
        tokio::io::split(&mut client),
        server.split(),
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
