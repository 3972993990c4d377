//! The server's response: 1xx interim answers passed on, `http-response`
//! rules and the persistence cookie applied, the body relayed, and what
//! stays open afterwards.

use super::*;

/// The `http-response` rules to apply: the backend's, then the frontend's.
pub(super) struct ResponseEdits<'a> {
    pub(super) rules: [(&'a [HttpRule], &'a [Acl]); 2],
    pub(super) addrs: Addrs,
    /// Persistence: the settings, the server that answered, what the
    /// request carried, and the time both sides use.
    pub(super) cookie: Option<(
        &'a Persistence,
        usize,
        &'a RequestCookie,
        std::time::SystemTime,
    )>,
}

/// What stays open after an exchange.
pub(super) struct Keep {
    pub(super) client: bool,
    pub(super) server: bool,
    /// Upgraded: the connection is a tunnel now.
    pub(super) tunnel: bool,
    /// The final response's status.
    pub(super) status: u16,
}

/// Reads the response (1xx interim ones passed on first) and relays it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn response(
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
        if trace.is_on() {
            trace.entry.bytes_out += log::htx_size(&sbuf[..len]);
        }
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
