//! `%[...]` sample expressions, `option originalto`, `capture cookie` and
//! HTTP over a unix listener against haproxy 2.6 (needs root; each run in
//! its own network namespace). The same requests go through haproxy and
//! through Pharos on the same configuration: what the clients get back,
//! the exact bytes the backend receives (rules' header values, the
//! forwarded addresses), and the syslog lines (cookie captures, a
//! log-format with expressions, `unix:N` clients) must be the same.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "proxy_harness.rs"]
mod harness;
use harness::{
    in_fresh_netns, read_request, serve_each_connection, start, syslog_receiver, wait_lines,
};

const PORT: u16 = 18430;
const EXCEPT: u16 = 18431;
const FMT: u16 = 18432;
const SYSLOG: u16 = 15530;

fn config(dir: &Path, backend: u16) -> String {
    let sock = dir.join("web.sock").display().to_string();
    let fmt_sock = dir.join("fmt.sock").display().to_string();
    format!(
        "global
  log 127.0.0.1:{SYSLOG} local2
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 3s
  timeout server 3s
listen web
  option httplog
  bind 127.0.0.1:{PORT}
  bind 198.51.100.10:{PORT}
  bind unix@{sock}
  option forwardfor
  option originalto
  capture cookie SESS len 8
  http-request add-header X-First one
  http-request set-header X-Src %[src]
  http-request set-header X-Host %[req.hdr(host),lower]
  http-request set-header X-Misc \"%[dst]:%[dst_port] %[path] %[url] %[query] %[method] %[base] %[req.cook(SESS)] %[ssl_fc]\"
  http-request add-header X-Conv \"%[req.hdr(host),upper] %[req.hdr(host),base64] %[req.hdr(x-f),field(2,:)] %[src,hex] [%[req.hdr(x-none)]] %ci 100%%\"
  http-request add-header X-Occ \"%[req.hdr(x-m)] %[req.hdr(x-m,1)] %[hdr(x-m,2)] %[req.hdr(x-m,9)]\"
  http-request redirect location /to%[path]?h=%[req.hdr(host)] if {{ path_beg /redir }}
  http-response set-header X-Resp \"%[status] %[res.hdr(x-server),upper]\"
  server s1 127.0.0.1:{backend}
listen except
  bind 127.0.0.1:{EXCEPT}
  bind 198.51.100.10:{EXCEPT}
  option originalto except 127.0.0.0/8 header X-Dst
  http-request set-header X-Here \"%[dst]:%[dst_port] %fi:%fp\" if {{ dst_port {EXCEPT} }}
  server s1 127.0.0.1:{backend}
listen fmt
  bind 127.0.0.1:{FMT}
  bind unix@{fmt_sock}
  capture request header Host len 12
  capture cookie SE len 30
  log-format \"%ci:%cp %fi:%fp %[src] %[dst_port] %[status] %[capture.req.hdr(0)] %CC %CS %{{+Q}}[method] %[src,hex] %[ssl_fc]\"
  server s1 127.0.0.1:{backend}
"
    )
}

/// A backend that answers every request with a fixed body, two
/// `Set-Cookie` fields for paths with `/sc`, and records what it got.
fn backend(log: Arc<Mutex<Vec<String>>>) -> u16 {
    serve_each_connection(0, Duration::from_secs(20), Arc::default(), move |mut c| {
        let mut pending = Vec::new();
        while let Some(req) = read_request(&mut c, &mut pending) {
            let text = String::from_utf8_lossy(&req).into_owned();
            let cookies = if text.starts_with("GET /sc") {
                "Set-Cookie: SESS=abcdefghijkl; path=/\r\nSet-Cookie: OTHER=1\r\n"
            } else {
                ""
            };
            log.lock().expect("log").push(text);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Server: s1\r\n{cookies}\r\nok\n"
            );
            if c.write_all(resp.as_bytes()).is_err() {
                break;
            }
        }
    })
}

/// Everything read from `c` until it closes or 300 ms of silence.
fn drain(c: &mut impl Read) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// One request from `from` to `to:port` on a connection of its own.
fn tcp(from: &str, to: &str, port: u16, req: &str) -> String {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("addr");
    sock.bind(&local.into()).expect("bind client");
    let to: SocketAddr = format!("{to}:{port}").parse().expect("addr");
    sock.connect(&to.into()).expect("connect to the proxy");
    let mut c: TcpStream = sock.into();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    c.write_all(req.as_bytes()).expect("send");
    drain(&mut c)
}

/// One request over the unix socket at `path`.
fn unix(path: &Path, req: &str) -> String {
    let mut c = UnixStream::connect(path).expect("connect to the unix listener");
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    c.write_all(req.as_bytes()).expect("send");
    drain(&mut c)
}

/// A log line without what differs between runs: the syslog header, the
/// dates, client ports, timers.
fn normalize(line: &str) -> String {
    let msg = line.split_once("]: ").map_or(line, |(_, m)| m).trim_end();
    msg.split(' ')
        .map(|tok| {
            if tok.starts_with('[') && tok.ends_with(']') && tok.contains('/') {
                "[DATE]".to_string()
            } else if tok.split('/').count() == 5
                && tok.split('/').all(|t| t.parse::<i64>().is_ok())
            {
                "TIMERS".to_string()
            } else if let Some(ip) = tok.strip_prefix("127.0.0.1:").map(|_| "127.0.0.1")
                && tok[ip.len() + 1..].parse::<u16>().is_ok_and(|p| p > 20000)
            {
                "127.0.0.1:PORT".to_string()
            } else if let Some(ip) = tok.strip_prefix("198.51.100.10:").map(|_| "198.51.100.10")
                && tok[ip.len() + 1..].parse::<u16>().is_ok_and(|p| p > 20000)
            {
                "198.51.100.10:PORT".to_string()
            } else {
                tok.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one run saw: the answers, the backend's requests, the log lines.
type Outcome = (Vec<String>, Vec<String>, Vec<String>);

fn run(program: &'static [&'static str], tag: &str) -> Outcome {
    in_fresh_netns(tag, move |dir| {
        let got = syslog_receiver(SYSLOG, Duration::from_secs(15));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let port = backend(Arc::clone(&seen));
        let conf = dir.join("s.cfg");
        std::fs::write(&conf, config(dir, port)).expect("cfg");
        let mut proxy = start(program, &conf, FMT);
        let get = |path: &str, extra: &str| {
            format!("GET {path} HTTP/1.1\r\nHost: WwW.Ex\r\n{extra}Connection: close\r\n\r\n")
        };
        let answers = vec![
            tcp(
                "127.0.0.1",
                "127.0.0.1",
                PORT,
                &get(
                    "/p/a?q=1&r",
                    "Cookie: a=1; SESS=0123456789abc; SESS=zz\r\nX-F: a:b:c\r\nX-M: a, b\r\nX-M: c\r\n",
                ),
            ),
            tcp("198.51.100.10", "198.51.100.10", PORT, &get("/sc", "")),
            tcp("127.0.0.1", "127.0.0.1", PORT, &get("/redir/x?y", "")),
            unix(&dir.join("web.sock"), &get("/unix", "Cookie: SESS=u\r\n")),
            tcp("127.0.0.1", "127.0.0.1", EXCEPT, &get("/lo", "")),
            tcp("198.51.100.10", "198.51.100.10", EXCEPT, &get("/ext", "")),
            tcp(
                "127.0.0.1",
                "127.0.0.1",
                FMT,
                &get("/sc", "Cookie: x=1; SESSX=xy;SESS=0123\r\n"),
            ),
            unix(
                &dir.join("fmt.sock"),
                &get("/sc", "Cookie: SESS=\"quoted;x\"\r\n"),
            ),
        ];
        // Every stream's line (`except` logs its connections at accept).
        wait_lines(&got, 8);
        let _ = proxy.kill();
        let _ = proxy.wait();
        // Each client waits for its answer, but a stream's line may leave
        // after the next client's under load: compared in sorted order.
        let mut lines: Vec<String> = got
            .lock()
            .expect("log")
            .iter()
            .map(|l| normalize(l))
            .collect();
        lines.sort();
        let requests = seen.lock().expect("seen").clone();
        (answers, requests, lines)
    })
}

#[test]
fn samples_originalto_cookie_capture_and_unix_clients_match_haproxy_needs_root() {
    let theirs = run(&["haproxy", "-db"], "sha");
    let ours = run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "sph");
    // The oracle shows what is compared.
    assert!(
        theirs
            .1
            .iter()
            .any(|r| r.contains("x-original-to: 198.51.100.10"))
            && theirs.1.iter().any(|r| r.contains("x-dst: 198.51.100.10")),
        "haproxy: {theirs:#?}"
    );
    assert!(
        theirs.2.len() == 8 && theirs.2.iter().any(|l| l.starts_with("unix:")),
        "haproxy: {theirs:#?}"
    );
    for (what, a, b) in [
        ("answer", &theirs.0, &ours.0),
        ("backend request", &theirs.1, &ours.1),
        ("log line", &theirs.2, &ours.2),
    ] {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(y, x, "{what} {i}\nhaproxy: {a:#?}\npharos: {b:#?}");
        }
        assert_eq!(b.len(), a.len(), "{what}s\nhaproxy: {a:#?}\npharos: {b:#?}");
    }
}

const FILES: u16 = 18433;

/// ACLs whose patterns come from `-f` files (a comment, blank lines,
/// leading blanks, `-i`, `-M` map keys, a named and an anonymous ACL):
/// what each client gets back, from a listed and from an unlisted address.
fn pattern_files_run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let trusted = dir.join("trusted.lst");
        std::fs::write(
            &trusted,
            "# clients allowed\n\n  127.0.0.0/8\n203.0.113.7\n",
        )
        .expect("lst");
        let paths = dir.join("paths.lst");
        std::fs::write(&paths, "/api\n\t/V2/\n#/hidden\n").expect("lst");
        let exact = dir.join("exact.lst");
        std::fs::write(&exact, "/health check\n/ping\r\n").expect("lst");
        let keys = dir.join("keys.map");
        std::fs::write(&keys, "/m1 v1\n/m2\tv2\n").expect("map");
        let conf = dir.join("f.cfg");
        std::fs::write(
            &conf,
            format!(
                "defaults\n  mode http\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\nfrontend f\n  bind 127.0.0.1:{FILES}\n  bind 198.51.100.10:{FILES}\n  acl trusted src -f {}\n  acl api path_beg -i -f {} /extra\n  http-request deny if !trusted\n  http-request return status 200 content-type text/plain string api if api\n  http-request return status 200 content-type text/plain string exact if {{ path -f {} }}\n  http-request return status 200 content-type text/plain string key if {{ path -M -f {} }}\n  http-request return status 404 content-type text/plain string none\n",
                trusted.display(),
                paths.display(),
                exact.display(),
                keys.display()
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, FILES);
        let get = |from: &str, path: &str| {
            let req = format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            let answer = tcp(from, from, FILES, &req);
            let status = answer.lines().next().unwrap_or("").to_string();
            let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            format!("{from} {path}: {status} {body}")
        };
        let answers = [
            ("127.0.0.1", "/api/x"),
            ("127.0.0.1", "/v2/y"),
            ("127.0.0.1", "/extra/z"),
            ("127.0.0.1", "/hidden"),
            ("127.0.0.1", "/ping"),
            ("127.0.0.1", "/m2"),
            ("127.0.0.1", "/v1"),
            ("127.0.0.1", "/other"),
            ("198.51.100.10", "/api/x"),
        ]
        .iter()
        .map(|(from, path)| get(from, path))
        .collect();
        let _ = proxy.kill();
        let _ = proxy.wait();
        answers
    })
}

#[test]
fn acl_pattern_files_match_haproxy_needs_root() {
    let theirs = pattern_files_run(&["haproxy", "-db"], "pfa");
    assert!(
        theirs[0].contains(" 200 ") && theirs[8].contains(" 403 "),
        "haproxy: {theirs:#?}"
    );
    let ours = pattern_files_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "pfp");
    assert_eq!(ours, theirs);
}

const REWRITE: u16 = 18435;

/// The rewrites of haproxy 2.6 and `_reg` ACLs (`MODERN`), and legacy 1.4/1.5 lines that
/// Pharos maps onto them (`LEGACY`, which haproxy 2.6 refuses): the same
/// request must reach the backend and the same answer the client.
const MODERN: &str = r"  http-request return status 200 content-type text/plain string reg if { path_reg ^/re/[0-9]+$ } || { hdr_reg(x-r) -i ^ab }
  http-request redirect scheme https code 301 if { path_beg /rs/a }
  http-request redirect scheme https drop-query append-slash if { path_beg /rs/b }
  http-request redirect prefix /pre drop-query append-slash if { path_beg /rp }
  http-request replace-header X-A ab(c) Z\1
  http-request replace-value X-L ^b(.)$ B\1
  http-request replace-value X-M ^b(.)$ B\1
  http-request replace-header Host ^(.*)\.old\.example$ \1.new.example
  http-request del-header X-Debug -m beg
  http-request del-header ^x-tr -m reg
  http-request replace-uri ^/old/(.*) /new/\1
  http-request replace-path ^/q/(.*)$ /r/\1
  http-response replace-header X-Server ^s(.*)$ srv-\1
  http-request set-path /sp%[path] if { path_beg /set/p }
  http-request set-query q=%[query]&m=%[method] if { path_beg /set/q }
  http-request set-uri /su%[url] if { path_beg /set/u }
  http-request set-pathq /pq%[path]?x=1 if { path_beg /set/pq }
  http-request set-method PUT if { path_beg /set/m }
";
const LEGACY: &str = r"  reqirep ^Host:\ (.*)\.old\.example$ Host:\ \1.new.example
  reqrep ^GET\ /old/(.*) GET\ /new/\1
  reqidel ^X-Debug
  reqdel ^X-Trace:
  rspirep ^X-Server:\ s(.*)$ X-Server:\ srv-\1
  reqrep ^GET\ /set/m(.*) PUT\ /set/m\1
";

/// What the client got and what the backend received, for `rules`.
fn rewrite_run(
    program: &'static [&'static str],
    tag: &str,
    rules: &'static str,
) -> (Vec<String>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let port = backend(Arc::clone(&seen));
        let conf = dir.join("r.cfg");
        std::fs::write(
            &conf,
            format!(
                "defaults\n  mode http\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\nfrontend rw\n  bind 127.0.0.1:{REWRITE}\n{rules}  default_backend be\nbackend be\n  server s1 127.0.0.1:{port}\n"
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, REWRITE);
        let ask = |target: &str, extra: &str| {
            let req = format!(
                "GET {target} HTTP/1.1\r\nHost: www.old.example\r\n{extra}Connection: close\r\n\r\n"
            );
            tcp("127.0.0.1", "127.0.0.1", REWRITE, &req)
        };
        let answers = vec![
            ask(
                "/old/a?x=1",
                "X-A: xxabcyy\r\nX-L: a1, b2,c3\r\nX-M: x ,  b7  , y\r\nX-Debug-1: a\r\nx-debug: b\r\nX-Trace: t\r\nX-Keep: k\r\n",
            ),
            ask("/q/z?k=v", "X-A: none\r\n"),
            ask("/re/123", ""),
            ask("/re/abc", "X-R: ABc\r\n"),
            ask("/re/abc", "X-R: cab\r\n"),
            ask("/set/p?k=1", ""),
            ask("/set/q?k=1", ""),
            ask("/set/q", ""),
            ask("/set/u?k=1", ""),
            ask("/set/pq?k=1", ""),
            ask("/set/m", ""),
            ask("/rs/a/x?q=1", ""),
            ask("/rs/b?q=1", ""),
            ask("/rp/z?q", ""),
        ];
        let _ = proxy.kill();
        let _ = proxy.wait();
        let requests = seen.lock().expect("seen").clone();
        (answers, requests)
    })
}

#[test]
fn header_and_target_rewrites_match_haproxy_needs_root() {
    let theirs = rewrite_run(&["haproxy", "-db"], "rwa", MODERN);
    assert_eq!(
        theirs.1.len(),
        9,
        "haproxy answers five itself: {theirs:#?}"
    );
    assert!(
        theirs.1[0].starts_with("GET /new/a?x=1 "),
        "haproxy rewrote the target: {theirs:#?}"
    );
    let ours = rewrite_run(
        &[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"],
        "rwp",
        MODERN,
    );
    assert_eq!(ours, theirs);
}

#[test]
fn legacy_rewrites_do_what_their_modern_forms_do_in_haproxy_needs_root() {
    const MODERN_OF_LEGACY: &str = r"  http-request replace-header Host ^(.*)\.old\.example$ \1.new.example
  http-request replace-uri ^/old/(.*) /new/\1
  http-request del-header X-Debug -m beg
  http-request del-header X-Trace
  http-response replace-header X-Server ^s(.*)$ srv-\1
  http-request set-method PUT if { path_beg /set/m }
";
    let theirs = rewrite_run(&["haproxy", "-db"], "lga", MODERN_OF_LEGACY);
    assert!(
        theirs.1[0].contains("host: www.new.example"),
        "haproxy: {theirs:#?}"
    );
    let ours = rewrite_run(
        &[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"],
        "lgp",
        LEGACY,
    );
    assert_eq!(ours, theirs);
}
