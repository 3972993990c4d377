//! The request's way to a server: the backend's rules, persistence,
//! balancing, the forwarded addresses, the connection (retries,
//! redispatch), the body and `Expect: 100-continue`.

use super::*;
use crate::proxy::pool::send_first;

/// The request goes to a server of `pool`: the backend's rules (before any
/// server is chosen, as in haproxy: a backend may answer by itself),
/// persistence, balancing, the connection, the body, the response.
pub(super) async fn to_server(
    conn: &mut Conn<impl Stream>,
    svc: &HttpService,
    pool: &Arc<Pool>,
    mut head: RequestHead,
    trace: &mut Trace,
) -> Next {
    let rules = (&pool.http_request[..], &pool.acls[..]);
    let counted = [&*svc.counters, &pool.counters];
    if let Some(next) = request_rules(conn, trace, rules, &mut head, &counted).await {
        // The backend counts the stream it answered itself.
        pool.counters.passed();
        return next;
    }
    let addrs = conn.addrs;
    // A persistence cookie may name the server (and is taken out of
    // the request where haproxy takes it out).
    let now = std::time::SystemTime::now();
    let mut cookie = pool.persistence.as_ref().map(|p| {
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
        .take(|balance| {
            direct.and_then(|i| pool.direct(i)).or_else(|| {
                let header = |name: &str| head.headers().get(name);
                balance
                    .then(|| {
                        pool.pick(&RequestView {
                            src: addrs.src.map(|a| a.ip()),
                            uri: Some(head.uri()),
                            header: Some(&header),
                            key: None,
                        })
                    })
                    .flatten()
            })
        })
        .await;
    let mut lease = match trace.took(taken) {
        Ok(lease) => lease,
        Err(end) => {
            count_reply(svc, pool, 503);
            return fail(&mut conn.client, trace, 503, end).await;
        }
    };
    if lease.redispatched {
        // The cookie's server refused it (`maxqueue`): persistence is
        // broken, the cookie logged `D` and a new one inserted.
        if let Some(c) = cookie.as_mut() {
            c.redispatched();
            trace.entry.termination.cookie = Some((c.seen, CookieSet::None));
        }
        trace.entry.counters.redispatched = true;
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
    let mut addr = lease.addr;
    trace.assigned(&pool.name, &lease);
    let server = match conn.idle.remove(&addr) {
        Some(s) => {
            trace.connected();
            Ok(s)
        }
        None => {
            let tried = pool.connect(addr).await;
            // Redispatched: the exchange belongs to the other server now.
            if pool.follow(&tried, &mut lease) {
                addr = lease.addr;
                trace.assigned(&pool.name, &lease);
            }
            trace.tried(tried)
        }
    };
    let mut server = match server {
        Ok(s) => s,
        Err(end) => {
            count_reply(svc, pool, 503);
            return fail(&mut conn.client, trace, 503, end).await;
        }
    };
    let mut out = Vec::with_capacity(1024);
    head.encode_for_server(svc.server_mode, &mut out);
    if send_first(&mut server, &out).await.is_err() {
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
        // The server closed or timed out: a response error, and the
        // backend answered with haproxy's 502/504.
        let t = &trace.entry.termination;
        if matches!(t.cause, Cause::ServerAbort | Cause::ServerTimeout) {
            for c in [&pool.counters, lease.counters()] {
                c.eresp.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if t.stage == Stage::Headers {
                count_reply(svc, pool, trace.entry.status);
            }
        }
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

/// A reply of haproxy's own (503, 502, 504) on the way to a server: the
/// frontend and the backend count it among their responses.
fn count_reply(svc: &HttpService, pool: &Pool, status: u16) {
    svc.counters.response(status);
    pool.counters.response(status);
}

/// Waits for the server's first answer to an `Expect: 100-continue`
/// request: a 100 is passed to the client (Some(true): send the body); a
/// final answer or a failure is for `response` (Some(false)); None when the
/// client is gone. With what was read of the server past the 100.
pub(super) async fn interim(
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

/// `option forwardfor` (the client's address) and `option originalto`
/// (the address it connected to): `header: ADDR` appended last, unless the
/// address is in the `except` network; nothing for a unix client.
pub(super) fn add_address(
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
