use super::*;
use crate::proxy::http1::ServerConn;

fn request(input: &[u8]) -> Result<(RequestHead, usize), HeadError> {
    match RequestHead::parse(input, &Limits::default())? {
        Parse::Complete { head, len } => Ok((head, len)),
        Parse::Partial => panic!("partial: {:?}", String::from_utf8_lossy(input)),
    }
}

fn forwarded(input: &[u8]) -> String {
    let (head, _) = request(input).expect("valid request");
    let mut out = Vec::new();
    head.encode_for_server(ServerConn::KeepAlive, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn plain_get_is_forwarded_lowercased() {
    let (head, len) =
        request(b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nX-Custom: V\r\n\r\nnext").expect("valid");
    assert_eq!(len, 45);
    assert_eq!(head.method(), b"GET");
    assert_eq!(head.uri(), b"/p?q=1");
    assert_eq!(head.version, Version::HTTP_11);
    assert_eq!(head.framing().body, BodyLength::Empty);
    assert!(head.client_keep_alive());
    assert_eq!(
        forwarded(b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nX-Custom: V\r\n\r\n"),
        "GET /p?q=1 HTTP/1.1\r\nhost: a\r\nx-custom: V\r\n\r\n"
    );
}

#[test]
fn http10_asks_the_server_to_keep_alive() {
    let (head, _) = request(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").expect("valid");
    assert!(head.client_keep_alive());
    assert_eq!(
        forwarded(b"GET / HTTP/1.0\r\n\r\n"),
        "GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"
    );
    let (head, _) = request(b"GET / HTTP/1.0\r\n\r\n").expect("valid");
    assert!(!head.client_keep_alive());
}

#[test]
fn later_versions_become_11() {
    assert_eq!(
        forwarded(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        "GET / HTTP/1.1\r\nhost: a\r\n\r\n"
    );
    assert_eq!(
        forwarded(b"GET / HTTP/0.5\r\n\r\n"),
        "GET / HTTP/0.5\r\nconnection: keep-alive\r\n\r\n"
    );
    for bad in [
        &b"GET / HTTP/1.10\r\n\r\n"[..],
        b"GET / TTTT/1.1\r\n\r\n",
        b"GET / HTTP/1\r\n\r\n",
    ] {
        assert!(request(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn te_with_cl_drops_cl_and_closes() {
    let (head, _) = request(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .expect("valid");
    assert_eq!(head.framing().body, BodyLength::Chunked);
    assert!(head.framing().force_close && !head.client_keep_alive());
    assert_eq!(head.headers().get("content-length"), None);
    let (head, _) =
        request(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").expect("valid");
    assert!(!head.client_keep_alive());
    let mut out = Vec::new();
    head.encode_for_server(ServerConn::KeepAlive, &mut out);
    assert_eq!(
        out,
        b"POST / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n"
    );
}

#[test]
fn verdicts_on_framing_fields() {
    let status = |input: &[u8]| request(input).err().map(|e| e.status(Side::Request));
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        Some(422)
    );
    assert_eq!(
        status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n"),
        None
    );
    assert_eq!(
        status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: A\r\n\r\n"),
        None
    );
}

#[test]
fn duplicate_host_and_cl_are_merged() {
    assert_eq!(
        forwarded(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nhost: a\r\nContent-Length: 3, 3\r\n\r\n"),
        "POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\n"
    );
}

#[test]
fn default_ports_are_taken_out_of_absolute_uris() {
    assert_eq!(
        forwarded(b"GET http://a:80/x HTTP/1.1\r\nHost: a:80\r\n\r\n"),
        "GET http://a/x HTTP/1.1\r\nhost: a\r\n\r\n"
    );
    assert_eq!(
        forwarded(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        "CONNECT a:443 HTTP/1.1\r\nhost: a\r\n\r\n"
    );
}

#[test]
fn limits_count_fields_and_bytes() {
    let many = |n: usize| {
        let mut r = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            r.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    assert!(request(&many(100)).is_ok());
    assert_eq!(request(&many(101)).err(), Some(HeadError::TooManyHeaders));
    // The internal-form budget: 15275 bytes of words and fields with the defaults.
    let uri = |n: usize| format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(n)).into_bytes();
    assert!(request(&uri(15263)).is_ok());
    assert_eq!(request(&uri(15264)).err(), Some(HeadError::TooLarge));
    // The wire budget: 16320 bytes, padding included.
    let pad = |n: usize| format!("GET / HTTP/1.1\r\nX: a{}\r\n\r\n", " ".repeat(n)).into_bytes();
    assert!(request(&pad(16296)).is_ok());
    assert_eq!(request(&pad(16297)).err(), Some(HeadError::TooLarge));
    let partial = vec![b'a'; 20000];
    let mut head = b"GET /".to_vec();
    head.extend_from_slice(&partial);
    assert_eq!(
        RequestHead::parse(&head, &Limits::default()).err(),
        Some(HeadError::TooLarge)
    );
}

#[test]
fn responses_and_their_bodies() {
    let limits = Limits::default();
    let parse = |input: &[u8], head_req: bool| match ResponseHead::parse(input, &limits, head_req) {
        Ok(Parse::Complete { head, .. }) => head,
        other => panic!("{other:?}"),
    };
    let r = parse(b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n", false);
    assert_eq!(r.framing().body, BodyLength::UntilClose);
    let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", true);
    assert_eq!(r.framing().body, BodyLength::Empty);
    let r = parse(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n",
        false,
    );
    assert_eq!(
        (r.framing().body, r.headers().len()),
        (BodyLength::Empty, 0)
    );
    let r = parse(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
        false,
    );
    assert_eq!(r.framing().body, BodyLength::Chunked);
    assert_eq!(r.headers().get("content-length"), None);
    for bad in [
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"garbage\r\n\r\n",
    ] {
        let err = ResponseHead::parse(bad, &limits, false).expect_err("refused");
        assert_eq!(err.status(Side::Response), 502);
    }
}

#[test]
fn responses_to_the_client_say_how_the_connection_goes() {
    let limits = Limits::default();
    let encode = |req: &[u8], resp: &[u8]| {
        let (req, _) = request(req).expect("valid request");
        let Ok(Parse::Complete { head, .. }) = ResponseHead::parse(resp, &limits, req.is_head())
        else {
            panic!("invalid response");
        };
        let mut out = Vec::new();
        head.encode_for_client(&req, false, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(
        encode(b"GET / HTTP/1.1\r\n\r\n", ok),
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
    );
    assert_eq!(
        encode(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", ok),
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        encode(
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n"
        ),
        "HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n"
    );
    assert_eq!(
        encode(
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n"
        ),
        "HTTP/1.1 200 OK\r\nx-a: b\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        encode(
            b"GET / HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 200\r\nConnection: keep-alive, foo\r\n\r\n"
        ),
        "HTTP/1.1 200 \r\nconnection: foo\r\nconnection: close\r\n\r\n"
    );
}

/// Observed on 2.6.12 behind `option http-server-close`.
#[test]
fn server_close_mode_asks_11_servers_to_close() {
    let encode = |input: &[u8]| {
        let (head, _) = request(input).expect("valid request");
        let mut out = Vec::new();
        head.encode_for_server(ServerConn::Close, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    assert_eq!(
        encode(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, foo\r\n\r\n"),
        "GET / HTTP/1.1\r\nhost: a\r\nconnection: foo\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        encode(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        "GET / HTTP/1.0\r\n\r\n"
    );
}
