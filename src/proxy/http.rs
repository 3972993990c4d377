//! One HTTP/1 client connection through the proxy, first cut: requests
//! are read with `http1::RequestHead`, balanced one by one over the
//! backend (as haproxy balances each request of a keep-alive connection),
//! given `X-Forwarded-For` when `option forwardfor` says so, written to the
//! server as haproxy writes them (names lower-cased, its Connection rules),
//! bodies relayed by their framing (chunked bodies re-chunked), responses
//! written back with haproxy's client-side Connection rules. An idle server
//! connection is kept per server for the next request of this client
//! (`http-reuse safe`). Malformed requests get haproxy's built-in 400 and
//! the connection closes; a server that fails gets 502/503/504.

use super::acl;
use super::balance::RequestView;
use super::cookie::{PersistRules, Persistence, RequestCookie};
use super::counters::{Counters, Session};
use super::errors;
use super::http1::{
    BodyDecoder, BodyEvent, BodyLength, ChunkedEncoder, HeadError, Limits, Parse, RequestHead,
    ResponseHead, ServerConn, Side,
};
use super::pool::Pool;
use super::rules::{self, Verdict};
use super::statspage::StatsPage;
use crate::model::haproxy::{Acl, Condition, ForwardFor, HttpRule};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    /// `timeout http-request` (else `timeout client`) for a request head.
    pub request_timeout: Option<Duration>,
    /// `timeout http-keep-alive` (else the request timeout) between requests.
    pub keep_alive_timeout: Option<Duration>,
    pub client_timeout: Option<Duration>,
    pub server_mode: ServerConn,
}

/// Reads more bytes into `buf` within `limit`; Ok(0) at EOF, Err on timeout
/// or error.
async fn fill(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
    limit: Option<Duration>,
) -> Result<usize, Failure> {
    // Read straight into the buffer's spare room (no zeroed bounce buffer).
    buf.reserve(16384);
    let read = s.read_buf(buf);
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

/// Sends a built-in page and reports that the connection must close.
async fn reply(client: &mut TcpStream, status: u16) {
    if let Some(b) = errors::builtin(status) {
        let _ = client.write_all(&b.raw()).await;
    }
    let _ = client.shutdown().await;
}

/// The whole life of one client connection.
pub(super) async fn session(mut client: TcpStream, peer: SocketAddr, svc: Arc<HttpService>) {
    let _ = client.set_nodelay(true);
    let _session = Session::new(&svc.counters);
    let mut buf: Vec<u8> = Vec::new();
    let mut idle: HashMap<SocketAddr, TcpStream> = HashMap::new();
    let mut first = true;
    loop {
        // A request head, within http-request (first) or http-keep-alive.
        let limit = if first {
            svc.request_timeout.or(svc.client_timeout)
        } else {
            svc.keep_alive_timeout
                .or(svc.request_timeout)
                .or(svc.client_timeout)
        };
        first = false;
        let (mut head, len) = loop {
            match RequestHead::parse(&buf, &svc.limits) {
                Ok(Parse::Complete { head, len }) => break (head, len),
                Ok(Parse::Partial) => match fill(&mut client, &mut buf, limit).await {
                    Ok(0) | Err(Failure::Closed) => return,
                    Ok(_) => {}
                    Err(Failure::Timeout) => {
                        if !buf.is_empty() {
                            reply(&mut client, 408).await;
                        }
                        return;
                    }
                },
                Err(e) => {
                    reply(&mut client, e.status(Side::Request)).await;
                    return;
                }
            }
        };
        buf.drain(..len);
        svc.counters.request();
        if let Some(ff) = &svc.forwardfor {
            add_forwarded_for(&mut head, ff, peer);
        }
        // Frontend rules, then the stats page, then the backend's rules
        // once it is chosen.
        if let Verdict::Reply(bytes) =
            rules::on_request(&svc.http_request, &svc.acls, &mut head, peer.ip())
        {
            let keep = head.client_keep_alive();
            if client.write_all(&closing(bytes, keep)).await.is_err() || !keep {
                return;
            }
            continue;
        }
        if let Some(page) = svc.stats.as_ref().filter(|p| p.wants(&head)) {
            let form = page.body(&head, &mut buf, &mut client).await;
            let bytes = page.answer(&head, &form, &svc.acls, peer.ip());
            // 401 and the admin form's 303 may keep the connection.
            let status = bytes.get(9..12).and_then(|c| std::str::from_utf8(c).ok());
            let status = status.and_then(|c| c.parse().ok()).unwrap_or(200);
            let denied = status == 401 || status == 303;
            svc.counters.response(status);
            let keep = denied && head.client_keep_alive();
            let bytes = if denied { closing(bytes, keep) } else { bytes };
            if client.write_all(&bytes).await.is_err() || !keep {
                let _ = client.shutdown().await;
                return;
            }
            continue;
        }
        let request = acl::Request {
            head: &head,
            src: peer.ip(),
        };
        let pool = svc
            .routes
            .iter()
            .find(|(cond, _)| {
                cond.as_ref()
                    .is_none_or(|c| acl::eval(c, &svc.acls, &request))
            })
            .map_or(&svc.pool, |(_, p)| p);
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
        let direct = cookie
            .as_ref()
            .and_then(|c| c.server.filter(|_| c.direct))
            .and_then(|i| pool.direct(i));
        // The view borrows the head: it lives only for the pick.
        let lease = direct.or_else(|| {
            let header = |name: &str| head.headers().get(name);
            pool.pick(&RequestView {
                src: Some(peer.ip()),
                uri: Some(head.uri()),
                header: Some(&header),
                key: None,
            })
        });
        let Some(lease) = lease else {
            reply(&mut client, 503).await;
            return;
        };
        if let Verdict::Reply(bytes) =
            rules::on_request(&pool.http_request, &pool.acls, &mut head, peer.ip())
        {
            drop(lease);
            let keep = head.client_keep_alive();
            if client.write_all(&closing(bytes, keep)).await.is_err() || !keep {
                return;
            }
            continue;
        }
        let addr = lease.addr;
        let server = match idle.remove(&addr) {
            Some(s) => Some(s),
            None => pool.connect(addr).await,
        };
        let Some(mut server) = server else {
            reply(&mut client, 503).await;
            return;
        };
        let mut out = Vec::with_capacity(1024);
        head.encode_for_server(svc.server_mode, &mut out);
        if server.write_all(&out).await.is_err() {
            reply(&mut client, 502).await;
            return;
        }
        if relay_body(
            &mut client,
            &mut server,
            &mut buf,
            head.framing().body,
            &svc,
        )
        .await
        .is_err()
        {
            reply(&mut client, 400).await;
            return;
        }
        let server_timeout = pool.server_timeout();
        let edits = ResponseEdits {
            rules: [
                (&pool.http_response[..], &pool.acls[..]),
                (&svc.http_response[..], &svc.acls[..]),
            ],
            src: peer.ip(),
            cookie: pool
                .persistence
                .as_ref()
                .zip(cookie.as_ref())
                .map(|(p, c)| (p, lease.id.0, c, now)),
        };
        let Some(keep) = response(
            &mut client,
            &mut server,
            &head,
            &svc,
            server_timeout,
            &edits,
        )
        .await
        else {
            return;
        };
        for c in [&*svc.counters, &pool.counters, lease.counters()] {
            c.response(keep.status);
        }
        if keep.server {
            idle.insert(addr, server);
        }
        if !keep.client {
            let _ = client.shutdown().await;
            return;
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

/// `option forwardfor [except NET] [header NAME] [if-none]`: the client's
/// address as a header of its own, appended last.
fn add_forwarded_for(head: &mut RequestHead, ff: &ForwardFor, peer: SocketAddr) {
    let ip = match peer.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    if ff.except.is_some_and(|net| net.contains(ip)) {
        return;
    }
    if ff.if_none && head.headers().get(&ff.header).is_some() {
        return;
    }
    head.headers_mut()
        .append(ff.header.as_bytes(), ip.to_string().as_bytes());
}

/// Relays a request body from `buf` (bytes already read) and the client.
async fn relay_body(
    client: &mut TcpStream,
    server: &mut TcpStream,
    buf: &mut Vec<u8>,
    body: BodyLength,
    svc: &HttpService,
) -> Result<(), ()> {
    if body == BodyLength::Empty {
        return Ok(());
    }
    let mut decoder = BodyDecoder::new(body, &svc.limits);
    let mut encoder = (body == BodyLength::Chunked).then(ChunkedEncoder::new);
    let mut events = Vec::new();
    loop {
        events.clear();
        let used = decoder.decode(buf, &mut events).map_err(|_| ())?;
        let mut out = Vec::new();
        let done = reencode(buf, &events, &mut encoder, &mut out);
        buf.drain(..used);
        server.write_all(&out).await.map_err(|_| ())?;
        if done {
            return Ok(());
        }
        match fill(client, buf, svc.client_timeout).await {
            Ok(0) | Err(_) => return Err(()),
            Ok(_) => {}
        }
    }
}

/// Writes what one decoding pass found: the data as is, or — for a chunked
/// body — as one chunk per pass, as haproxy re-chunks what it holds in its
/// buffer; then the last chunk and trailers. Whether the body ended.
fn reencode(
    input: &[u8],
    events: &[BodyEvent],
    encoder: &mut Option<ChunkedEncoder>,
    out: &mut Vec<u8>,
) -> bool {
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
    done
}

/// The `http-response` rules to apply: the backend's, then the frontend's.
struct ResponseEdits<'a> {
    rules: [(&'a [HttpRule], &'a [Acl]); 2],
    src: std::net::IpAddr,
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
    /// The final response's status.
    status: u16,
}

/// Reads the response (1xx interim ones passed on first) and relays it.
async fn response(
    client: &mut TcpStream,
    server: &mut TcpStream,
    request: &RequestHead,
    svc: &HttpService,
    server_timeout: Option<Duration>,
    edits: &ResponseEdits<'_>,
) -> Option<Keep> {
    let mut sbuf: Vec<u8> = Vec::new();
    loop {
        let (head, len) = loop {
            match ResponseHead::parse(&sbuf, &svc.limits, request.is_head()) {
                Ok(Parse::Complete { head, len }) => break (head, len),
                Ok(Parse::Partial) => match fill(server, &mut sbuf, server_timeout).await {
                    Ok(0) | Err(Failure::Closed) => {
                        reply(client, 502).await;
                        return None;
                    }
                    Ok(_) => {}
                    Err(Failure::Timeout) => {
                        reply(client, 504).await;
                        return None;
                    }
                },
                Err(e) => {
                    let status: u16 = match e {
                        HeadError::TooLarge => 502,
                        _ => e.status(Side::Response),
                    };
                    reply(client, status).await;
                    return None;
                }
            }
        };
        sbuf.drain(..len);
        let mut head = head;
        if head.status >= 200 {
            for (rules, acls) in edits.rules {
                rules::on_response(rules, acls, request, edits.src, head.headers_mut());
            }
        }
        if let Some((p, chosen, req, now)) = edits.cookie {
            let status = head.status;
            p.on_response(head.headers_mut(), status, chosen, req, now);
        }
        // The head goes out with the first body bytes, in one write.
        let mut pending = Vec::with_capacity(1024 + sbuf.len());
        head.encode_for_client(request, &mut pending);
        if head.status < 200 {
            if client.write_all(&pending).await.is_err() {
                return None;
            }
            continue;
        }
        let body = head.framing().body;
        let mut decoder = BodyDecoder::new(body, &svc.limits);
        let mut encoder = (body == BodyLength::Chunked).then(ChunkedEncoder::new);
        let mut events = Vec::new();
        loop {
            events.clear();
            let used = match decoder.decode(&sbuf, &mut events) {
                Ok(u) => u,
                Err(_) => return None,
            };
            let done =
                reencode(&sbuf, &events, &mut encoder, &mut pending) || body == BodyLength::Empty;
            sbuf.drain(..used);
            if client.write_all(&pending).await.is_err() {
                return None;
            }
            pending.clear();
            if done {
                let client_keep = head.client_keep_alive(request);
                let server_keep = svc.server_mode == ServerConn::KeepAlive
                    && !head.framing().force_close
                    && !head.framing().conn_close
                    && head.version.is_11();
                return Some(Keep {
                    client: client_keep,
                    server: server_keep,
                    status: head.status,
                });
            }
            match fill(server, &mut sbuf, server_timeout).await {
                // A close-delimited body ends with the server's close.
                Ok(0) if body == BodyLength::UntilClose => {
                    return Some(Keep {
                        client: false,
                        server: false,
                        status: head.status,
                    });
                }
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}
