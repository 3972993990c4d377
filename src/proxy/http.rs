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

use super::acl;
use super::balance::RequestView;
use super::cookie::{PersistRules, Persistence, RequestCookie};
use super::counters::{Counters, Session};
use super::errors;
use super::http1::{
    BodyDecoder, BodyEvent, BodyLength, ChunkedEncoder, HeadError, Limits, Parse, RequestHead,
    ResponseHead, ServerConn, Side,
};
use super::log::{self, Cause, CookieSet, Stage};
use super::pool::Pool;
use super::rules::{self, Verdict};
use super::sample::{Addrs, Ctx, unmapped};
use super::statspage::StatsPage;
use super::trace::{Active, FrontLog, Origin, Trace};
use super::tunnel;
use crate::model::haproxy::{Acl, Condition, ForwardFor, HttpRule, OriginalTo, Proxy};
use crate::model::{Endpoint, Prefix};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

/// What a `mode http` frontend needs for its sessions.
pub(super) struct HttpService {
    /// The default backend (a `listen`'s own servers).
    pub pool: Arc<Pool>,
    /// `use_backend` rules: the first whose condition holds wins.
    pub routes: Vec<(Option<Condition>, Arc<Pool>)>,
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
    pub unix: Vec<(PathBuf, u32)>,
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
    /// Reads what is there into the spare room of `buf`.
    fn try_read_buf(&self, buf: &mut Vec<u8>) -> std::io::Result<usize>;
}

impl Stream for TcpStream {
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send {
        TcpStream::readable(self)
    }
    fn try_read_buf(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        TcpStream::try_read_buf(self, buf)
    }
}

impl Stream for UnixStream {
    fn readable(&self) -> impl Future<Output = std::io::Result<()>> + Send {
        UnixStream::readable(self)
    }
    fn try_read_buf(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        UnixStream::try_read_buf(self, buf)
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
        loop {
            s.readable().await?;
            // Read straight into the buffer's spare room (no bounce buffer).
            buf.reserve(16384);
            match s.try_read_buf(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                r => return r,
            }
        }
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
    let path = client.local_addr().ok();
    let id = path.as_ref().and_then(|a| a.as_pathname()).and_then(|p| {
        svc.unix
            .iter()
            .find(|(bound, _)| bound == p)
            .map(|(_, id)| *id)
    });
    let addrs = Addrs {
        unix: Some(id.unwrap_or(0)),
        ..Addrs::default()
    };
    serve(client, addrs, svc).await;
}

/// The unix listeners of `p` with their numbers: listeners are numbered
/// from 1 in the order of the `bind` lines (one per address and port),
/// unless `id` sets the number.
pub(super) fn unix_listeners(p: &Proxy) -> Vec<(PathBuf, u32)> {
    let mut out = Vec::new();
    let mut next = 1u32;
    for b in &p.binds {
        for a in &b.addresses {
            let count = match a {
                Endpoint::Inet {
                    ports: Some((lo, hi)),
                    ..
                } => u32::from(hi.saturating_sub(*lo)) + 1,
                _ => 1,
            };
            if let Endpoint::Unix { path } = a {
                out.push((path.clone(), b.options.id.unwrap_or(next)));
            }
            next += count;
        }
    }
    out
}

/// Serves the requests of one client connection.
async fn serve<C: Stream>(client: C, addrs: Addrs, svc: Arc<HttpService>) {
    let _active = Active::new();
    let _session = Session::new(&svc.counters);
    let log = svc.log.as_deref();
    let mut conn = Conn {
        client,
        addrs,
        buf: Vec::new(),
        idle: HashMap::new(),
    };
    // Only a frontend that logs reads the clocks for its streams.
    let new_trace = |conn: &Conn<C>| match log {
        Some(_) => Trace::begin(Origin::now(), &svc.frontend, true, &conn.addrs),
        None => Trace::off(),
    };
    if let Some(log) = log {
        log.accepted(&new_trace(&conn));
    }
    let mut first = true;
    loop {
        // The stream starts now; the wait for its request holds nothing
        // but the connection, so that an idle client costs little.
        let mut trace = new_trace(&conn);
        let limit = head_limit(&svc, first);
        let mut expired = false;
        if conn.buf.is_empty() {
            let ready = conn.client.readable();
            expired = match limit {
                Some(t) => tokio::time::timeout(t, ready).await.is_err(),
                None => ready.await.is_err(),
            };
        }
        let next = exchange(&mut conn, &svc, &mut trace, first, expired).await;
        if let Some(log) = log
            && next != Next::Silent
        {
            trace.frontend_conns(svc.counters.current());
            log.done(trace);
        }
        if next != Next::Continue {
            return;
        }
        first = false;
    }
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

/// One request and its response.
/// `expired`: the head's time ran out while waiting for its first byte.
async fn exchange(
    conn: &mut Conn<impl Stream>,
    svc: &HttpService,
    trace: &mut Trace,
    first: bool,
    expired: bool,
) -> Next {
    match read_head(conn, svc, trace, first, expired).await {
        // What follows the head runs boxed: its state is large and lives
        // only while a request is handled, not while a connection idles.
        Ok((head, len)) => Box::pin(handle(conn, svc, trace, head, len)).await,
        Err(next) => next,
    }
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
    if let Verdict::Reply { bytes, local } =
        rules::on_request(&svc.http_request, &svc.acls, &mut head, &addrs)
    {
        let cause = if local { Cause::Local } else { Cause::Proxy };
        let keep = head.client_keep_alive();
        return answer(conn, trace, closing(bytes, keep), keep, cause).await;
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
    let pool = svc
        .routes
        .iter()
        .find(|(cond, _)| {
            cond.as_ref()
                .is_none_or(|c| acl::eval_in(c, &svc.acls, &request))
        })
        .map_or(&svc.pool, |(_, p)| p);
    trace.backend(&pool.name);
    let next = to_server(conn, svc, pool, head, trace).await;
    trace.backend_conns(pool.beconn());
    next
}

/// The request goes to a server of `pool`: persistence, balancing, the
/// backend's rules, the connection, the body, the response.
async fn to_server(
    conn: &mut Conn<impl Stream>,
    svc: &HttpService,
    pool: &Arc<Pool>,
    mut head: RequestHead,
    trace: &mut Trace,
) -> Next {
    let addrs = conn.addrs;
    // A persistence cookie may name the server (and is taken out of
    // the request where haproxy takes it out).
    let now = std::time::SystemTime::now();
    let cookie = pool.persistence.as_ref().map(|p| {
        let method = head.method().to_vec();
        p.on_request(
            head.headers_mut(),
            &method,
            &|i| pool.usable(i),
            PersistRules::default(),
            now,
        )
    });
    if let Some(c) = &cookie {
        trace.entry.termination.cookie = Some((c.seen, CookieSet::None));
    }
    let direct = cookie.as_ref().and_then(|c| c.server.filter(|_| c.direct));
    // The view borrows the head: it lives only for each pick.
    let taken = pool
        .take(|| {
            direct.and_then(|i| pool.direct(i)).or_else(|| {
                let header = |name: &str| head.headers().get(name);
                pool.pick(&RequestView {
                    src: addrs.src.map(|a| a.ip()),
                    uri: Some(head.uri()),
                    header: Some(&header),
                    key: None,
                })
            })
        })
        .await;
    let lease = match trace.took(taken) {
        Ok(lease) => lease,
        Err(end) => return fail(&mut conn.client, trace, 503, end).await,
    };
    if let Verdict::Reply { bytes, local } =
        rules::on_request(&pool.http_request, &pool.acls, &mut head, &addrs)
    {
        drop(lease);
        let cause = if local { Cause::Local } else { Cause::Proxy };
        let keep = head.client_keep_alive();
        return answer(conn, trace, closing(bytes, keep), keep, cause).await;
    }
    // After every rule, as haproxy adds them: the client's address, then
    // the one it connected to, each a field of its own at the end.
    if let Some(ff) = &svc.forwardfor
        && !(ff.if_none && head.headers().get(&ff.header).is_some())
    {
        add_address(&mut head, &ff.header, ff.except, addrs.src);
    }
    if let Some(ot) = &svc.originalto {
        add_address(&mut head, &ot.header, ot.except, addrs.dst);
    }
    let addr = lease.addr;
    trace.assigned(&pool.name, lease.server_name(), addr);
    let server = match conn.idle.remove(&addr) {
        Some(s) => {
            trace.connected();
            Ok(s)
        }
        None => trace.tried(pool.connect(addr).await),
    };
    let mut server = match server {
        Ok(s) => s,
        Err(end) => return fail(&mut conn.client, trace, 503, end).await,
    };
    let mut out = Vec::with_capacity(1024);
    head.encode_for_server(svc.server_mode, &mut out);
    if server.write_all(&out).await.is_err() {
        return fail(
            &mut conn.client,
            trace,
            502,
            (Cause::ServerAbort, Stage::Headers),
        )
        .await;
    }
    // `Expect: 100-continue`: the client sends the body once the server's
    // 100 came through; a final answer instead means no body will follow.
    let mut sbuf = Vec::new();
    let mut body = head.framing().body;
    if head.framing().expect_continue && body != BodyLength::Empty {
        let (go_on, read) = interim(conn, &mut server, svc, pool.server_timeout(), &head).await;
        match go_on {
            Some(true) => {}
            Some(false) => body = BodyLength::Empty,
            None => return Next::Close,
        }
        sbuf = read;
    }
    match relay_body(&mut conn.client, &mut server, &mut conn.buf, body, svc).await {
        Ok(n) => trace.entry.bytes_in += n,
        Err(()) => {
            return fail(
                &mut conn.client,
                trace,
                400,
                (Cause::ClientAbort, Stage::Data),
            )
            .await;
        }
    }
    let server_timeout = pool.server_timeout();
    let edits = ResponseEdits {
        rules: [
            (&pool.http_response[..], &pool.acls[..]),
            (&svc.http_response[..], &svc.acls[..]),
        ],
        addrs,
        cookie: pool
            .persistence
            .as_ref()
            .zip(cookie.as_ref())
            .map(|(p, c)| (p, lease.id.0, c, now)),
    };
    let Some(keep) = response(
        &mut conn.client,
        &mut server,
        sbuf,
        &head,
        svc,
        server_timeout,
        &edits,
        trace,
    )
    .await
    else {
        return Next::Close;
    };
    if keep.tunnel {
        // Upgraded (101): bytes both ways until both sides are done.
        let idle = svc.tunnel_timeout;
        let (up, down) = tunnel::relay(
            tokio::io::split(&mut conn.client),
            server.split(),
            idle.or(svc.client_timeout),
            idle.or(server_timeout),
        )
        .await;
        trace.entry.bytes_in += up.bytes;
        trace.entry.bytes_out += down.bytes;
        if let Some((cause, stage)) = tunnel::ending(&up, &down) {
            trace.end(cause, stage);
        }
        return Next::Close;
    }
    for c in [&*svc.counters, &pool.counters, lease.counters()] {
        c.response(keep.status);
    }
    drop(lease);
    if keep.server {
        conn.idle.insert(addr, server);
    }
    if !keep.client {
        let _ = conn.client.shutdown().await;
        return Next::Close;
    }
    Next::Continue
}

/// Waits for the server's first answer to an `Expect: 100-continue`
/// request: a 100 is passed to the client (Some(true): send the body); a
/// final answer or a failure is for `response` (Some(false)); None when the
/// client is gone. With what was read of the server past the 100.
async fn interim(
    conn: &mut Conn<impl Stream>,
    server: &mut TcpStream,
    svc: &HttpService,
    timeout: Option<Duration>,
    request: &RequestHead,
) -> (Option<bool>, Vec<u8>) {
    let mut sbuf = Vec::new();
    loop {
        match ResponseHead::parse(&sbuf, &svc.limits, request.is_head()) {
            Ok(Parse::Complete { head, len }) if head.status == 100 => {
                let mut out = Vec::new();
                head.encode_for_client(request, false, &mut out);
                sbuf.drain(..len);
                let sent = conn.client.write_all(&out).await.is_ok();
                return (sent.then_some(true), sbuf);
            }
            Ok(Parse::Partial) => match fill(server, &mut sbuf, timeout).await {
                Ok(n) if n > 0 => {}
                _ => return (Some(false), sbuf),
            },
            _ => return (Some(false), sbuf),
        }
    }
}

/// A reply of ours as the client's connection mode wants it: haproxy adds
/// `connection: close` as the last field when the connection ends after it.
fn closing(mut bytes: Vec<u8>, keep_alive: bool) -> Vec<u8> {
    if !keep_alive && let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        bytes.splice(end + 2..end + 2, b"connection: close\r\n".iter().copied());
    }
    bytes
}

/// `option forwardfor` (the client's address) and `option originalto`
/// (the address it connected to): `header: ADDR` appended last, unless the
/// address is in the `except` network; nothing for a unix client.
fn add_address(
    head: &mut RequestHead,
    header: &str,
    except: Option<Prefix>,
    addr: Option<SocketAddr>,
) {
    let Some(ip) = addr.map(|a| unmapped(a.ip())) else {
        return;
    };
    if except.is_some_and(|net| net.contains(ip)) {
        return;
    }
    head.headers_mut()
        .append(header.as_bytes(), ip.to_string().as_bytes());
}

/// Relays a request body from `buf` (bytes already read) and the client;
/// the size of its payload.
async fn relay_body(
    client: &mut impl Stream,
    server: &mut TcpStream,
    buf: &mut Vec<u8>,
    body: BodyLength,
    svc: &HttpService,
) -> Result<u64, ()> {
    if body == BodyLength::Empty {
        return Ok(0);
    }
    let mut decoder = BodyDecoder::new(body, &svc.limits);
    let mut encoder = (body == BodyLength::Chunked).then(ChunkedEncoder::new);
    let mut events = Vec::new();
    let mut received = 0;
    loop {
        events.clear();
        let used = decoder.decode(buf, &mut events).map_err(|_| ())?;
        let mut out = Vec::new();
        let (done, data) = reencode(buf, &events, &mut encoder, &mut out);
        buf.drain(..used);
        received += data;
        server.write_all(&out).await.map_err(|_| ())?;
        if done {
            return Ok(received);
        }
        match fill(client, buf, svc.client_timeout).await {
            Ok(0) | Err(_) => return Err(()),
            Ok(_) => {}
        }
    }
}

/// Writes what one decoding pass found: the data as is, or — for a chunked
/// body — as one chunk per pass, as haproxy re-chunks what it holds in its
/// buffer; then the last chunk and trailers. Whether the body ended, and
/// the payload's size.
fn reencode(
    input: &[u8],
    events: &[BodyEvent],
    encoder: &mut Option<ChunkedEncoder>,
    out: &mut Vec<u8>,
) -> (bool, u64) {
    let mut data = Vec::new();
    let mut trailers = None;
    let mut done = false;
    for ev in events {
        match ev {
            BodyEvent::Data(r) => data.extend_from_slice(&input[r.clone()]),
            BodyEvent::Trailers(t) => trailers = Some(t),
            BodyEvent::End => done = true,
        }
    }
    match encoder {
        Some(enc) => {
            if !data.is_empty() {
                enc.data(&data, out);
            }
            if done {
                enc.finish(trailers, out);
            }
        }
        None => out.extend_from_slice(&data),
    }
    (done, data.len() as u64)
}

/// The `http-response` rules to apply: the backend's, then the frontend's.
struct ResponseEdits<'a> {
    rules: [(&'a [HttpRule], &'a [Acl]); 2],
    addrs: Addrs,
    /// Persistence: the settings, the server that answered, what the
    /// request carried, and the time both sides use.
    cookie: Option<(
        &'a Persistence,
        usize,
        &'a RequestCookie,
        std::time::SystemTime,
    )>,
}

/// What stays open after an exchange.
struct Keep {
    client: bool,
    server: bool,
    /// Upgraded: the connection is a tunnel now.
    tunnel: bool,
    /// The final response's status.
    status: u16,
}

/// Reads the response (1xx interim ones passed on first) and relays it.
#[allow(clippy::too_many_arguments)]
async fn response(
    client: &mut (impl AsyncWrite + Unpin),
    server: &mut TcpStream,
    mut sbuf: Vec<u8>,
    request: &RequestHead,
    svc: &HttpService,
    server_timeout: Option<Duration>,
    edits: &ResponseEdits<'_>,
    trace: &mut Trace,
) -> Option<Keep> {
    loop {
        let (head, len) = loop {
            match ResponseHead::parse(&sbuf, &svc.limits, request.is_head()) {
                Ok(Parse::Complete { head, len }) => break (head, len),
                Ok(Parse::Partial) => match fill(server, &mut sbuf, server_timeout).await {
                    Ok(0) | Err(Failure::Closed) => {
                        fail(client, trace, 502, (Cause::ServerAbort, Stage::Headers)).await;
                        return None;
                    }
                    Ok(_) => {}
                    Err(Failure::Timeout) => {
                        fail(client, trace, 504, (Cause::ServerTimeout, Stage::Headers)).await;
                        return None;
                    }
                },
                Err(e) => {
                    let status: u16 = match e {
                        HeadError::TooLarge => 502,
                        _ => e.status(Side::Response),
                    };
                    fail(client, trace, status, (Cause::Proxy, Stage::Headers)).await;
                    return None;
                }
            }
        };
        // The server's head as received counts for `%B`.
        trace.entry.bytes_out += log::htx_size(&sbuf[..len]);
        sbuf.drain(..len);
        let mut head = head;
        if head.status >= 200 {
            trace.response_head();
            if let Some(log) = &svc.log {
                log.response(trace, head.headers());
            }
            for (rules, acls) in edits.rules {
                let status = head.status;
                rules::on_response(
                    rules,
                    acls,
                    request,
                    &edits.addrs,
                    status,
                    head.headers_mut(),
                );
            }
        }
        if let Some((p, chosen, req, now)) = edits.cookie {
            let status = head.status;
            let set = p.on_response(head.headers_mut(), status, chosen, req, now);
            if head.status >= 200 {
                trace.entry.termination.cookie = Some((req.seen, set));
            }
        }
        // The head goes out with the first body bytes, in one write.
        let mut pending = Vec::with_capacity(1024 + sbuf.len());
        head.encode_for_client(request, svc.client_close, &mut pending);
        if head.status == 101 && request.framing().conn_upgrade {
            // Switching protocols: what the server sent after its head
            // belongs to the tunnel.
            trace.response_head();
            trace.entry.status = 101;
            pending.extend_from_slice(&sbuf);
            if client.write_all(&pending).await.is_err() {
                trace.end(Cause::ClientAbort, Stage::Headers);
                return None;
            }
            return Some(Keep {
                client: false,
                server: false,
                tunnel: true,
                status: 101,
            });
        }
        if head.status < 200 {
            if client.write_all(&pending).await.is_err() {
                trace.end(Cause::ClientAbort, Stage::Headers);
                return None;
            }
            continue;
        }
        trace.entry.status = head.status;
        let body = head.framing().body;
        let mut decoder = BodyDecoder::new(body, &svc.limits);
        let mut encoder = (body == BodyLength::Chunked).then(ChunkedEncoder::new);
        let mut events = Vec::new();
        loop {
            events.clear();
            let used = match decoder.decode(&sbuf, &mut events) {
                Ok(u) => u,
                Err(_) => {
                    trace.end(Cause::ServerAbort, Stage::Data);
                    return None;
                }
            };
            let (done, data) = reencode(&sbuf, &events, &mut encoder, &mut pending);
            let done = done || body == BodyLength::Empty;
            sbuf.drain(..used);
            if client.write_all(&pending).await.is_err() {
                trace.end(Cause::ClientAbort, Stage::Data);
                return None;
            }
            trace.entry.bytes_out += data;
            pending.clear();
            if done {
                let client_keep = head.client_keep_alive(request) && !svc.client_close;
                let server_keep = svc.server_mode == ServerConn::KeepAlive
                    && !head.framing().force_close
                    && !head.framing().conn_close
                    && head.version.is_11();
                return Some(Keep {
                    client: client_keep,
                    server: server_keep,
                    tunnel: false,
                    status: head.status,
                });
            }
            match fill(server, &mut sbuf, server_timeout).await {
                // A close-delimited body ends with the server's close.
                Ok(0) if body == BodyLength::UntilClose => {
                    return Some(Keep {
                        client: false,
                        server: false,
                        tunnel: false,
                        status: head.status,
                    });
                }
                Ok(0) | Err(Failure::Closed) => {
                    trace.end(Cause::ServerAbort, Stage::Data);
                    return None;
                }
                Err(Failure::Timeout) => {
                    trace.end(Cause::ServerTimeout, Stage::Data);
                    return None;
                }
                Ok(_) => {}
            }
        }
    }
}
