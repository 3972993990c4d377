//! `mode tcp` streams: a server from the backend (queue, retries,
//! redispatch), then both directions relayed (`tunnel`), logged at the end
//! with `option tcplog`.

use super::balance::RequestView;
use super::counters::{Counters, Session};
use super::listener::UnixIds;
use super::log::{Cause, Stage};
use super::pool::Pool;
use super::sample::Addrs;
use super::tcprules::TcpRules;
use super::trace::{Active, FrontLog, Origin, Trace};
use super::tunnel;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// A `mode tcp` frontend.
pub(super) struct TcpService {
    pub(super) frontend: String,
    pub(super) pool: Arc<Pool>,
    /// `timeout client`.
    pub(super) client_idle: Option<Duration>,
    pub(super) counters: Arc<Counters>,
    pub(super) log: Option<FrontLog>,
    /// The unix listeners' numbers (`unix:N` in the log).
    pub(super) unix: UnixIds,
    /// `tcp-request connection|content` rules.
    pub(super) tcp_rules: TcpRules,
}

/// One client connection (from `addrs`: an IP client's addresses, or the
/// unix listener it came through): connect to a server
/// (`Pool::connect`), then copy both ways; when all tries fail the client
/// is closed. Logged at the end with `option tcplog`.
pub(super) async fn relay(
    client: impl AsyncRead + AsyncWrite + Unpin,
    addrs: Addrs,
    svc: Arc<TcpService>,
) {
    let _active = Active::new();
    let _session = Session::new(&svc.counters);
    let mut trace = match &svc.log {
        Some(log) => {
            let t = Trace::begin(Origin::now(), &svc.frontend, false, &addrs);
            log.accepted(&t);
            t
        }
        None => Trace::off(),
    };
    if svc.tcp_rules.passes(&addrs) {
        relay_traced(client, addrs.src, &svc, &mut trace).await;
    } else {
        // `tcp-request content reject`: closed, logged `PR`.
        svc.counters.dreq.fetch_add(1, Ordering::Relaxed);
        trace.end(Cause::Proxy, Stage::Request);
        tunnel::close_quietly(client).await;
    }
    if let Some(log) = &svc.log {
        trace.frontend_conns(svc.counters.current());
        trace.backend_conns(&svc.pool);
        log.done(trace);
    }
}

pub(super) async fn relay_traced(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    peer: Option<SocketAddr>,
    svc: &TcpService,
    trace: &mut Trace,
) {
    let pool = &svc.pool;
    let src = peer.map(|p| p.ip());
    let pick = |balance: bool| {
        balance
            .then(|| {
                pool.pick(&RequestView {
                    src,
                    ..RequestView::default()
                })
            })
            .flatten()
    };
    let mut lease = match trace.took(pool.take(pick).await) {
        Ok(lease) => lease,
        Err((cause, stage)) => return trace.end(cause, stage),
    };
    trace.assigned(&pool.name, &lease);
    let tried = pool.connect(lease.addr).await;
    if pool.follow(&tried, &mut lease) {
        trace.assigned(&pool.name, &lease);
    }
    let mut server = match trace.tried(tried) {
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
