//! `mode tcp` against haproxy 2.6 (needs root: each run gets its own
//! network namespace, so only its loopback carries traffic): the same
//! configuration, the same two backends (each greets with its name, then
//! echoes), the same clients. What the clients get back — which server, in
//! which order, and the echoed bytes — must be equal. With a dead server
//! and no `option redispatch`, haproxy retries that same server and then
//! closes the client with nothing: the clients of its turns get nothing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[path = "proxy_harness.rs"]
mod harness;
use harness::{in_fresh_netns, start};

fn config(port: u16, servers: &[(&str, u16)]) -> String {
    let mut s = format!(
        "global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  retries 2\nlisten t\n  bind 127.0.0.1:{port}\n  balance roundrobin\n"
    );
    for (name, p) in servers {
        s.push_str(&format!("  server {name} 127.0.0.1:{p}\n"));
    }
    s
}

/// A backend that writes `name\n`, then echoes one read.
fn backend(name: &'static str) -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("backend");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    let h = std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = c.write_all(format!("{name}\n").as_bytes());
                    let mut buf = [0u8; 64];
                    if let Ok(n) = c.read(&mut buf) {
                        let _ = c.write_all(&buf[..n]);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (port, h)
}

/// Six clients, one after the other: what each read back.
fn clients(port: u16) -> Vec<String> {
    (0..6)
        .map(|i| {
            let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
            c.set_read_timeout(Some(Duration::from_secs(3)))
                .expect("timeout");
            c.write_all(format!("hello {i}").as_bytes()).expect("write");
            let mut got = Vec::new();
            let _ = c.read_to_end(&mut got);
            String::from_utf8_lossy(&got).into_owned()
        })
        .collect()
}

/// The whole scenario for one implementation, in a fresh namespace.
fn scenario(program: &'static [&'static str], tag: &str) -> (Vec<String>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let (p1, _h1) = backend("s1");
        let (p2, _h2) = backend("s2");
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(18080, &[("s1", p1), ("s2", p2)])).expect("cfg");
        let mut proxy = start(program, &conf, 18080);
        let both = clients(18080);
        let _ = proxy.kill();
        let _ = proxy.wait();
        // A dead server: its turns are retried on it, then closed.
        let dead = TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("a")
            .port();
        std::fs::write(&conf, config(18081, &[("dead", dead), ("s2", p2)])).expect("cfg");
        let mut proxy = start(program, &conf, 18081);
        let retry = clients(18081);
        let _ = proxy.kill();
        let _ = proxy.wait();
        (both, retry)
    })
}

#[test]
fn tcp_roundrobin_relay_and_retry_match_haproxy_needs_root() {
    let theirs = scenario(&["haproxy", "-db"], "ha");
    let ours = scenario(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "ph");
    assert_eq!(theirs.0.len(), 6);
    assert!(
        theirs.0[0].starts_with("s1\nhello 0"),
        "haproxy: {:?}",
        theirs.0
    );
    assert_eq!(ours.0, theirs.0, "round-robin and relayed bytes");
    assert_eq!(ours.1, theirs.1, "a dead server's turns get nothing");
}
