//! HTTP/1 connection handling against haproxy 2.6 (needs root; each run in
//! its own network namespace): `Expect: 100-continue` (the server's interim
//! 100 reaches the client before it sends the body), a WebSocket upgrade
//! turned into a tunnel that lives by `timeout tunnel` (idle longer than
//! `timeout client`), and `option httpclose`. What the client and the
//! backend see must be the same through Pharos as through haproxy.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "proxy_harness.rs"]
mod harness;
use harness::{in_fresh_netns, read_request, serve_each_connection, start};

const PORT: u16 = 18500;
const CLOSE_PORT: u16 = 18501;

fn config(backend: u16) -> String {
    format!(
        "defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
  timeout tunnel 4s
listen modes
  bind 127.0.0.1:{PORT}
  server s1 127.0.0.1:{backend}
listen closing
  option httpclose
  bind 127.0.0.1:{CLOSE_PORT}
  server s1 127.0.0.1:{backend}
"
    )
}

/// A backend that answers by the request: `Expect: 100-continue` gets a
/// 100 first, an Upgrade gets a 101 and then an echo of every read; the
/// rest a small 200. Records what it reads (head and body).
fn backend(log: Arc<Mutex<Vec<String>>>) -> u16 {
    serve_each_connection(0, Duration::from_secs(30), Arc::default(), move |c| {
        serve(c, &log)
    })
}

fn serve(mut c: TcpStream, log: &Mutex<Vec<String>>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(6)));
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // The head alone first: a 100-continue body comes after our 100.
        while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&pending).to_lowercase();
        if head.contains("expect: 100-continue") {
            let _ = c.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let Some(req) = read_request(&mut c, &mut pending) else {
            return;
        };
        let text = String::from_utf8_lossy(&req).into_owned();
        log.lock().expect("log").push(text.clone());
        if text.to_lowercase().contains("upgrade: websocket") {
            let _ = c.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
            );
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 {
                    return;
                }
                log.lock()
                    .expect("log")
                    .push(format!("tunnel: {}", String::from_utf8_lossy(&buf[..n])));
                let mut echo = b"echo:".to_vec();
                echo.extend_from_slice(&buf[..n]);
                if c.write_all(&echo).is_err() {
                    return;
                }
            }
            return;
        }
        let body = "done\n";
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if c.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads what arrives within `wait` (stops early at a close).
fn read_for(c: &mut TcpStream, wait: Duration) -> (String, bool) {
    c.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let t0 = Instant::now();
    while t0.elapsed() < wait {
        match c.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

/// Reads until `want` shows up (or 2 s): what came and how long it took.
fn read_until(c: &mut TcpStream, want: &str) -> (String, Duration) {
    c.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < Duration::from_secs(2) && !String::from_utf8_lossy(&got).contains(want) {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), t0.elapsed())
}

#[derive(Debug, PartialEq)]
struct Seen {
    client: Vec<String>,
    backend: Vec<String>,
}

fn run(program: &'static [&'static str], tag: &str) -> Seen {
    in_fresh_netns(tag, move |dir| {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let port = backend(Arc::clone(&log));
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(port)).expect("cfg");
        let mut proxy = start(program, &conf, CLOSE_PORT);
        let mut client = Vec::new();

        // 100-continue: the interim answer comes before the body is sent.
        let mut c = TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
        c.write_all(
            b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .expect("send");
        let (interim, took) = read_until(&mut c, "100 Continue");
        assert!(
            took < Duration::from_millis(900),
            "{program:?}: the 100 comes at once ({took:?}): {interim:?}"
        );
        client.push(interim);
        c.write_all(b"hello").expect("body");
        client.push(read_until(&mut c, "done\n").0);
        drop(c);

        // WebSocket: 101, then a tunnel idle for longer than timeout client.
        let mut c = TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
        c.write_all(
            b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .expect("send");
        client.push(read_until(&mut c, "\r\n\r\n").0);
        c.write_all(b"ping1").expect("frame");
        client.push(read_until(&mut c, "echo:ping1").0);
        std::thread::sleep(Duration::from_millis(1800));
        let alive = c.write_all(b"ping2").is_ok();
        let (echo, closed) = read_for(&mut c, Duration::from_millis(500));
        client.push(format!("after idle: sent={alive} {echo:?} closed={closed}"));
        drop(c);

        // httpclose: one request per connection, closed both ways.
        let mut c = TcpStream::connect(("127.0.0.1", CLOSE_PORT)).expect("connect");
        c.write_all(b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
            .expect("send");
        let (got, closed) = read_for(&mut c, Duration::from_millis(600));
        client.push(format!("{got} closed={closed}"));

        let _ = proxy.kill();
        let _ = proxy.wait();
        let backend = log.lock().expect("log").clone();
        Seen { client, backend }
    })
}

#[test]
fn continue_upgrade_tunnel_and_httpclose_match_haproxy_needs_root() {
    let theirs = run(&["haproxy", "-db"], "mha");
    assert!(
        theirs.client[4].contains("echo:ping2"),
        "haproxy keeps the tunnel past timeout client: {theirs:#?}"
    );
    let ours = run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "mph");
    assert_eq!(ours.client, theirs.client, "what the client gets");
    assert_eq!(ours.backend, theirs.backend, "what the backend gets");
}
