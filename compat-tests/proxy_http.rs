//! `mode http` against haproxy 2.6 (needs root; each run in its own
//! network namespace): the seed's shape — a `listen` with `balance
//! roundrobin`, `option forwardfor except 127.0.0.0/8`, two servers — and a
//! corpus of raw requests from two clients (198.51.100.10, which gets
//! X-Forwarded-For, and 127.0.0.1, which does not): keep-alive GETs, an
//! HTTP/1.0 GET, a POST with Content-Length, a chunked POST, a HEAD, and a
//! malformed request. What each client gets back and the exact bytes each
//! backend receives must be the same through Pharos as through haproxy.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "proxy_harness.rs"]
mod harness;
use harness::{in_fresh_netns, start};

const PORT: u16 = 18090;

fn config(s1: u16, s2: u16) -> String {
    format!(
        "global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten webfarm\n  bind 127.0.0.1:{PORT}\n  bind 198.51.100.10:{PORT}\n  balance roundrobin\n  option forwardfor except 127.0.0.0/8\n  server web1 127.0.0.1:{s1}\n  server web2 127.0.0.1:{s2}\n"
    )
}

/// Reads one HTTP request (head, then a Content-Length or chunked body) off
/// `c`, returning its raw bytes; None at EOF.
fn read_request(c: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_lowercase();
            let mut total = end + 4;
            if let Some(cl) = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().to_string())
            }) {
                total += cl.parse::<usize>().unwrap_or(0);
            } else if head.contains("transfer-encoding: chunked") {
                // Up to the last chunk and its empty trailer.
                match pending[end + 4..]
                    .windows(5)
                    .position(|w| w == b"0\r\n\r\n")
                {
                    Some(p) => total = end + 4 + p + 5,
                    None => total = usize::MAX,
                }
            }
            if total != usize::MAX && pending.len() >= total {
                let req: Vec<u8> = pending.drain(..total).collect();
                return Some(req);
            }
        }
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// A keep-alive backend answering `name` with a fixed body; records every
/// request it receives.
fn backend(name: &'static str, log: Arc<Mutex<Vec<Vec<u8>>>>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("backend");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            let Ok((mut c, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let _ = c.set_nonblocking(false);
                let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                let mut pending = Vec::new();
                while let Some(req) = read_request(&mut c, &mut pending) {
                    let head_only = req.starts_with(b"HEAD ");
                    log.lock().expect("log").push(req);
                    let body = format!("{name}\n");
                    let mut resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Server: {name}\r\n\r\n",
                        body.len()
                    );
                    if !head_only {
                        resp.push_str(&body);
                    }
                    if c.write_all(resp.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Sends `requests` on one connection from `from`, one at a time, and
/// returns everything read back (until the proxy closes or 300 ms of silence).
fn exchange(from: &str, requests: &[&str]) -> String {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("addr");
    sock.bind(&local.into()).expect("bind client");
    let to: SocketAddr = format!("127.0.0.1:{PORT}").parse().expect("addr");
    let to: SocketAddr = if from == "127.0.0.1" {
        to
    } else {
        format!("{from}:{PORT}").parse().expect("addr")
    };
    sock.connect(&to.into()).expect("connect to the proxy");
    let mut c: TcpStream = sock.into();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    for r in requests {
        if c.write_all(r.as_bytes()).is_err() {
            break;
        }
        // Everything that comes back until 300 ms of silence (or a close).
        loop {
            match c.read(&mut buf) {
                Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

type Outcome = (Vec<String>, Vec<String>, Vec<String>);

fn scenario(program: &'static [&'static str], tag: &str) -> Outcome {
    in_fresh_netns(tag, move |dir| {
        let (l1, l2) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let s1 = backend("s1", Arc::clone(&l1));
        let s2 = backend("s2", Arc::clone(&l2));
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(s1, s2)).expect("cfg");
        let mut proxy = start(program, &conf, PORT);
        let answers = vec![
            exchange(
                "198.51.100.10",
                &[
                    "GET / HTTP/1.1\r\nHost: farm\r\nUser-Agent: t\r\n\r\n",
                    "GET /two?x=1 HTTP/1.1\r\nHost: farm\r\nAccept: */*\r\n\r\n",
                    "HEAD /h HTTP/1.1\r\nHost: farm\r\n\r\n",
                ],
            ),
            exchange("127.0.0.1", &["GET /local HTTP/1.0\r\nHost: farm\r\n\r\n"]),
            exchange(
                "198.51.100.10",
                &[
                    "POST /form HTTP/1.1\r\nHost: farm\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world",
                ],
            ),
            exchange(
                "198.51.100.10",
                &[
                    "POST /chunks HTTP/1.1\r\nHost: farm\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                ],
            ),
            exchange(
                "198.51.100.10",
                &["GET /bad path HTTP/1.1\r\nHost: farm\r\n\r\n"],
            ),
            exchange(
                "198.51.100.10",
                &[
                    "GET /x HTTP/1.1\r\nHost: farm\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n",
                ],
            ),
        ];
        let _ = proxy.kill();
        let _ = proxy.wait();
        let text = |l: &Arc<Mutex<Vec<Vec<u8>>>>| {
            l.lock()
                .expect("log")
                .iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect::<Vec<_>>()
        };
        (answers, text(&l1), text(&l2))
    })
}

#[test]
fn http_requests_and_backend_bytes_match_haproxy_needs_root() {
    let theirs = scenario(&["haproxy", "-db"], "hha");
    let ours = scenario(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "hph");
    assert!(
        theirs
            .1
            .iter()
            .any(|r| r.contains("x-forwarded-for: 198.51.100.10")),
        "haproxy adds X-Forwarded-For: {:?}",
        theirs.1
    );
    for (i, (o, t)) in ours.0.iter().zip(&theirs.0).enumerate() {
        assert_eq!(o, t, "client {i}: what came back");
    }
    assert_eq!(ours.1, theirs.1, "bytes at web1");
    assert_eq!(ours.2, theirs.2, "bytes at web2");
}
