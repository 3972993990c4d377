//! One HTTP/1 client connection through the proxy, first cut: requests
//! are read with `http1::RequestHead`, balanced one by one over the
//! backend (as haproxy balances each request of a keep-alive connection),
//! given `X-Forwarded-For`/`X-Original-To` when `option forwardfor`/
//! `option originalto` say so, written to the
//! server as haproxy writes them (names lower-cased, its Connection rules),
//! bodies relayed by their framing (chunked bodies re-chunked), responses
//! written back with haproxy's client-side Connection rules. An idle server
//! connection is kept per server for the next request of this client
//! (`http-reuse safe`). Malformed requests get haproxy's built-in 400 and
//! the connection closes; a server that fails gets 502/503/504. Clients
//! come over TCP or a unix socket (which has no address to forward).

mod body;
mod respond;
mod server;

use super::acl;
use super::balance::RequestView;
use super::cookie::{PersistRules, Persistence, RequestCookie};
use super::counters::{Counters, Session};
use super::errors;
use super::http1::{
    BodyDecoder, BodyEvent, BodyLength, ChunkedEncoder, HeadError, Limits, Parse, RequestHead,
    ResponseHead, ServerConn, Side,
};
use super::listener::UnixIds;
use super::log::{self, Cause, CookieSet, Stage};
use super::pool::Pool;
use super::rules::{self, Verdict};
use super::sample::{self, Addrs, Ctx, unmapped};
use super::statspage::StatsPage;
use super::tcprules::TcpRules;
use super::trace::{Active, FrontLog, Origin, Trace};
use super::tunnel;
use crate::model::Prefix;
use crate::model::haproxy::{Acl, Condition, ForwardFor, HttpRule, OriginalTo};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use body::{reencode, relay_body};
use respond::{ResponseEdits, response};
use server::to_server;

/// Where a `use_backend` rule sends a request.
pub(super) enum Route {
    /// A backend named in the file.
    To(Arc<Pool>),
    /// A log-format expression (`be_%[req.hdr(host)]`) naming one of
    /// these backends; a name that matches none sends the request to the
    /// default backend (the rules after it are not tried, as in 2.6).
    Named(String, Arc<Vec<(String, Arc<Pool>)>>),
}

/// What a `mode http` frontend needs for its sessions.
pub(super) struct HttpService {
    /// The default backend (a `listen`'s own servers).
    pub pool: Arc<Pool>,
    /// `use_backend` rules: the first whose condition holds wins.
    pub routes: Vec<(Option<Condition>, Route)>,
    /// The frontend's named ACLs and rules.
    pub acls: Vec<Acl>,
    pub http_request: Vec<HttpRule>,
    pub http_response: Vec<HttpRule>,
    /// The frontend's counters.
    pub counters: Arc<Counters>,
    /// `stats uri`, when this frontend serves the page.
    pub stats: Option<StatsPage>,
    pub limits: Limits,
    pub forwardfor: Option<ForwardFor>,
    pub originalto: Option<OriginalTo>,
    /// The frontend's unix listeners and their numbers (`%ci` = `unix`,
    /// `%cp` = the number, counted over every listener as haproxy does).
    pub unix: UnixIds,
    /// `tcp-request connection|content` rules.
    pub tcp_rules: TcpRules,
    /// `timeout http-request` (else `timeout client`) for a request head.
    pub request_timeout: Option<Duration>,
    /// `timeout http-keep-alive` (else the request timeout) between requests.
    pub keep_alive_timeout: Option<Duration>,
    pub client_timeout: Option<Duration>,
    /// `timeout tunnel`: both sides' idle limit once upgraded.
    pub tunnel_timeout: Option<Duration>,
    pub server_mode: ServerConn,
    /// `option httpclose`: the client connection closes after each response.
    pub client_close: bool,
    /// The frontend's name (logs).
    pub frontend: String,
    /// Traffic logging, when the frontend logs.
    pub log: Option<Arc<FrontLog>>,
}

/// A stream a session reads without a bounce buffer: a TCP or unix socket.
pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    /// Resolves once a read may succeed.
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send;
}

impl Stream for TcpStream {
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send {
        TcpStream::readable(self)
    }
}

impl Stream for UnixStream {
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send {
        UnixStream::readable(self)
    }
}

/// Reads more bytes into `buf` within `limit`; Ok(0) at EOF, Err on timeout
/// or error. Room is only made once bytes are there: a connection that
/// never sent anything holds no buffer.
async fn fill(
    s: &mut impl Stream,
    buf: &mut Vec<u8>,
    limit: Option<Duration>,
) -> Result<usize, Failure> {
    let read = async {
        s.readable().await?;
        // Read straight into the buffer's spare room (no bounce buffer),
        // through `poll_read`: a read that does not fill the room tells
        // tokio the socket is drained, so the next read waits for epoll
        // instead of trying (and failing with EAGAIN) first, as haproxy.
        buf.reserve(16384);
        s.read_buf(buf).await
    };
    let n = match limit {
        Some(t) => tokio::time::timeout(t, read)
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|_| Failure::Closed)?,
        None => read.await.map_err(|_| Failure::Closed)?,
    };
    Ok(n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Timeout,
    Closed,
}

/// Sends a built-in page and closes; its size as the log counts it.
async fn reply(client: &mut (impl AsyncWrite + Unpin), status: u16) -> u64 {
    let mut sent = 0;
    if let Some(b) = errors::builtin(status) {
        let raw = b.raw();
        if client.write_all(&raw).await.is_ok() {
            sent = logged_size(&raw);
        }
    }
    let _ = client.shutdown().await;
    sent
}

/// Ends the stream on haproxy's page for `status`, for `cause` at `stage`.
async fn fail(
    client: &mut (impl AsyncWrite + Unpin),
    trace: &mut Trace,
    status: u16,
    (cause, stage): (Cause, Stage),
) -> Next {
    trace.entry.status = status;
    trace.end(cause, stage);
    trace.entry.bytes_out = reply(client, status).await;
    Next::Close
}

/// A whole message of ours as `%B` counts it (`log::htx_size` + body).
fn logged_size(message: &[u8]) -> u64 {
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => log::htx_size(&message[..end + 4]) + (message.len() - end - 4) as u64,
        None => message.len() as u64,
    }
}

/// One client connection's state between its requests.
struct Conn<C> {
    client: C,
    addrs: Addrs,
    /// Bytes read from the client and not used yet.
    buf: Vec<u8>,
    /// Idle server connections kept for the next request (`http-reuse safe`).
    idle: HashMap<SocketAddr, TcpStream>,
}

/// What follows an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Read the next request.
    Continue,
    /// Close; the stream is logged.
    Close,
    /// Close; nothing to log (the client left between requests).
    Silent,
}

/// The whole life of one TCP client connection.
pub(super) async fn session(client: TcpStream, peer: SocketAddr, svc: Arc<HttpService>) {
    let _ = client.set_nodelay(true);
    // The local address: the logs, `option originalto`, and any rule or
    // ACL reading `dst` may want it (one getsockname per connection).
    let addrs = Addrs {
        src: Some(peer),
        dst: client.local_addr().ok(),
        unix: None,
    };
    serve(client, addrs, svc).await;
}

/// The whole life of one unix-socket client connection: no addresses;
/// the log names the listener (`unix:N`).
pub(super) async fn session_unix(client: UnixStream, svc: Arc<HttpService>) {
    let addrs = Addrs {
        unix: Some(svc.unix.of(&client)),
        ..Addrs::default()
    };
    serve(client, addrs, svc).await;
}

/// Serves the requests of one client connection.
async fn serve<C: Stream>(client: C, addrs: Addrs, svc: Arc<HttpService>) {
    let _active = Active::new();
    let _session = Session::new(&svc.counters);
    let mut conn = Conn {
        client,
        addrs,
        buf: Vec::new(),
        idle: HashMap::new(),
    };
    if let Some(log) = svc.log.as_deref() {
        log.accepted(&new_trace(&svc, &conn.addrs, Some(Origin::now())));
    }
    let mut first = true;
    loop {
        // The stream starts now. The wait for its request holds nothing but
        // the connection and the time, so that an idle client costs little:
        // the stream itself (trace, head, handling) runs boxed once bytes
        // are there.
        let origin = svc.log.as_ref().map(|_| Origin::now());
        let limit = head_limit(&svc, first);
        let mut expired = false;
        if conn.buf.is_empty() {
            let ready = conn.client.readable();
            expired = match limit {
                Some(t) => tokio::time::timeout(t, ready).await.is_err(),
                None => ready.await.is_err(),
            };
        }
        let next = Box::pin(stream(&mut conn, &svc, origin, first, expired)).await;
        if next != Next::Continue {
            return;
        }
        first = false;
    }
}

/// A stream's trace: a live one when the frontend logs (`origin` given).
fn new_trace(svc: &HttpService, addrs: &Addrs, origin: Option<Origin>) -> Trace {
    match origin {
        Some(origin) => Trace::begin(origin, &svc.frontend, true, addrs),
        None => Trace::off(),
    }
}

/// One stream: its request and response, logged at the end.
/// `expired`: the head's time ran out while waiting for its first byte.
async fn stream(
    conn: &mut Conn<impl Stream>,
    svc: &HttpService,
    origin: Option<Origin>,
    first: bool,
    expired: bool,
) -> Next {
    let mut trace = new_trace(svc, &conn.addrs, origin);
    let next = if svc.tcp_rules.passes(&conn.addrs) {
        match read_head(conn, svc, &mut trace, first, expired).await {
            Ok((head, len)) => handle(conn, svc, &mut trace, head, len).await,
            Err(next) => next,
        }
    } else {
        // `tcp-request content reject`: closed before any request is read,
        // logged `PR--` with `<BADREQ>`.
        svc.counters.dreq.fetch_add(1, Ordering::Relaxed);
        trace.end(Cause::Proxy, Stage::Request);
        super::tunnel::close_quietly(&mut conn.client).await;
        Next::Close
    };
    if let Some(log) = svc.log.as_deref()
        && next != Next::Silent
    {
        trace.frontend_conns(svc.counters.current());
        log.done(trace);
    }
    next
}

/// How long a request head may take: `timeout http-request` for the first,
/// `timeout http-keep-alive` between requests (each falls back on the one
/// before, then on `timeout client`).
fn head_limit(svc: &HttpService, first: bool) -> Option<Duration> {
    if first {
        svc.request_timeout.or(svc.client_timeout)
    } else {
        svc.keep_alive_timeout
            .or(svc.request_timeout)
            .or(svc.client_timeout)
    }
}

/// Writes a reply of ours (ready to send); whether the connection goes on.
async fn answer(
    conn: &mut Conn<impl Stream>,
    trace: &mut Trace,
    bytes: Vec<u8>,
    keep: bool,
    cause: Cause,
) -> Next {
    trace.entry.status = status_of(&bytes);
    trace.end(cause, Stage::Request);
    if conn.client.write_all(&bytes).await.is_err() {
        return Next::Close;
    }
    trace.entry.bytes_out = logged_size(&bytes);
    if keep {
        Next::Continue
    } else {
        let _ = conn.client.shutdown().await;
        Next::Close
    }
}

/// The status code of a reply we wrote.
fn status_of(bytes: &[u8]) -> u16 {
    bytes
        .get(9..12)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// Reads a request head; Err: how the connection ends instead.
async fn read_head<C: Stream>(
    conn: &mut Conn<C>,
    svc: &HttpService,
    trace: &mut Trace,
    first: bool,
    expired: bool,
) -> Result<(RequestHead, usize), Next> {
    // A request head, within http-request (first) or http-keep-alive.
    let limit = head_limit(svc, first);
    let mut expired = expired;
    // Nothing at all on a fresh connection is still a (bad) request for
    // the log (unless `dontlognull`); between requests it is not.
    let silent = |conn: &Conn<C>| {
        conn.buf.is_empty() && (!first || svc.log.as_ref().is_some_and(|l| l.dontlognull))
    };
    loop {
        if !conn.buf.is_empty() {
            trace.first_byte();
        }
        match RequestHead::parse(&conn.buf, &svc.limits) {
            Ok(Parse::Complete { head, len }) => return Ok((head, len)),
            Ok(Parse::Partial) => match if std::mem::take(&mut expired) {
                Err(Failure::Timeout)
            } else {
                fill(&mut conn.client, &mut conn.buf, limit).await
            } {
                Ok(0) | Err(Failure::Closed) => {
                    if silent(conn) {
                        return Err(Next::Silent);
                    }
                    trace.entry.status = 400;
                    trace.end(Cause::ClientAbort, Stage::Request);
                    return Err(Next::Close);
                }
                Ok(_) => {}
                Err(Failure::Timeout) => {
                    if silent(conn) {
                        return Err(Next::Silent);
                    }
                    if !conn.buf.is_empty() {
                        reply(&mut conn.client, 408).await;
                    }
                    trace.entry.status = 408;
                    trace.end(Cause::ClientTimeout, Stage::Request);
                    return Err(Next::Close);
                }
            },
            Err(e) => {
                let status = e.status(Side::Request);
                reply(&mut conn.client, status).await;
                // The parser's own answer: haproxy logs it with no bytes.
                trace.entry.status = status;
                trace.end(Cause::Proxy, Stage::Request);
                return Err(Next::Close);
            }
        }
    }
}

/// One request, its head read: rules, the stats page, a server.
async fn handle(
    conn: &mut Conn<impl Stream>,
    svc: &HttpService,
    trace: &mut Trace,
    mut head: RequestHead,
    len: usize,
) -> Next {
    trace.request_done();
    if let Some(log) = &svc.log {
        trace.entry.bytes_in = log::htx_size(&conn.buf[..len]);
        log.request(trace, &head);
    }
    conn.buf.drain(..len);
    svc.counters.request();
    let addrs = conn.addrs;
    // Frontend rules, then the stats page, then the backend's rules
    // once it is chosen.
    let rules = (&svc.http_request[..], &svc.acls[..]);
    if let Some(next) = request_rules(conn, trace, rules, &mut head, &[&svc.counters]).await {
        return next;
    }
    if let Some(page) = svc.stats.as_ref().filter(|p| p.wants(&head)) {
        let form = page.body(&head, &mut conn.buf, &mut conn.client).await;
        // A unix client has no address: the page's ACLs see 0.0.0.0.
        let src = addrs.src.map_or([0u8; 4].into(), |a| unmapped(a.ip()));
        let bytes = page.answer(&head, &form, &svc.acls, src);
        // 401 and the admin form's 303 may keep the connection.
        let status = status_of(&bytes);
        let denied = status == 401 || status == 303;
        svc.counters.response(status);
        let keep = denied && head.client_keep_alive();
        if !denied {
            // The stats applet is the "server": every timer is reached.
            trace.entry.server = Some("<STATS>".into());
            trace.queued();
            trace.connected();
            trace.response_head();
        }
        let bytes = if denied { closing(bytes, keep) } else { bytes };
        return answer(conn, trace, bytes, keep, Cause::Local).await;
    }
    let request = Ctx::of(&addrs, &head);
    let route = svc.routes.iter().find(|(cond, _)| {
        cond.as_ref()
            .is_none_or(|c| acl::eval_in(c, &svc.acls, &request))
    });
    let pool = match route {
        None => &svc.pool,
        Some((_, Route::To(pool))) => pool,
        Some((_, Route::Named(expr, backends))) => {
            let name = sample::expand(expr, &request);
            backends
                .iter()
                .find(|(n, _)| n.as_bytes() == &*name)
                .map_or(&svc.pool, |(_, pool)| pool)
        }
    };
    trace.backend(&pool.name);
    let next = to_server(conn, svc, pool, head, trace).await;
    trace.backend_conns(pool);
    next
}

/// A frontend's or a backend's `http-request` rules: how the stream ends
/// when one of them answered (deny, redirect, return, auth…).
/// The reply counts in `counted` (the frontend's, and the backend's for
/// its own rules): its status, and `dreq` when it is a refusal.
async fn request_rules(
    conn: &mut Conn<impl Stream>,
    trace: &mut Trace,
    (rules, acls): (&[HttpRule], &[Acl]),
    head: &mut RequestHead,
    counted: &[&Counters],
) -> Option<Next> {
    let addrs = conn.addrs;
    let Verdict::Reply { bytes, local } = rules::on_request(rules, acls, head, &addrs) else {
        return None;
    };
    for c in counted {
        c.response(status_of(&bytes));
        if !local {
            c.dreq.fetch_add(1, Ordering::Relaxed);
        }
    }
    let cause = if local { Cause::Local } else { Cause::Proxy };
    let keep = head.client_keep_alive();
    Some(answer(conn, trace, closing(bytes, keep), keep, cause).await)
}

/// A reply of ours as the client's connection mode wants it: haproxy adds
/// `connection: close` as the last field when the connection ends after it.
fn closing(mut bytes: Vec<u8>, keep_alive: bool) -> Vec<u8> {
    if !keep_alive && let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        bytes.splice(end + 2..end + 2, b"connection: close\r\n".iter().copied());
    }
    bytes
}
