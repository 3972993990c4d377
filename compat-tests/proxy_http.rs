//! `mode http` against haproxy 2.6 (needs root; each run in its own
//! network namespace): the seed's shape — a `listen` with `balance
//! roundrobin`, `option forwardfor except 127.0.0.0/8`, two servers — and a
//! corpus of raw requests from two clients (198.51.100.10, which gets
//! X-Forwarded-For, and 127.0.0.1, which does not): keep-alive GETs, an
//! HTTP/1.0 GET, a POST with Content-Length, a chunked POST, a HEAD, and a
//! malformed request. What each client gets back and the exact bytes each
//! backend receives must be the same through Pharos as through haproxy.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "proxy_harness.rs"]
mod harness;
use harness::{http_backend, in_fresh_netns, start};

const PORT: u16 = 18090;

fn config(s1: u16, s2: u16) -> String {
    format!(
        "global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten webfarm\n  bind 127.0.0.1:{PORT}\n  bind 198.51.100.10:{PORT}\n  balance roundrobin\n  option forwardfor except 127.0.0.0/8\n  server web1 127.0.0.1:{s1}\n  server web2 127.0.0.1:{s2}\n"
    )
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

/// Starts `program` on `conf`, sends each of `requests` on a connection of
/// its own from 127.0.0.1, stops it; what came back for each.
fn serve_each(program: &[&str], conf: &std::path::Path, requests: &[&str]) -> Vec<String> {
    let mut proxy = start(program, conf, PORT);
    let answers = requests
        .iter()
        .map(|r| exchange("127.0.0.1", &[r]))
        .collect();
    let _ = proxy.kill();
    let _ = proxy.wait();
    answers
}

/// What a recording backend received, as text.
fn texts(log: &Arc<Mutex<Vec<Vec<u8>>>>) -> Vec<String> {
    log.lock()
        .expect("log")
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

fn scenario(program: &'static [&'static str], tag: &str) -> Outcome {
    in_fresh_netns(tag, move |dir| {
        let (l1, l2) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let s1 = http_backend("s1", 0, Arc::clone(&l1), Arc::default());
        let s2 = http_backend("s2", 0, Arc::clone(&l2), Arc::default());
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
        (answers, texts(&l1), texts(&l2))
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

fn routing_config(a: u16, s: u16, w: u16) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:{PORT}\n  acl api path_beg /api/\n  acl shop hdr(host) -i shop.example\n  acl local src 127.0.0.0/8\n  use_backend be_api if api local\n  use_backend be_shop if shop !api\n  use_backend be_shop if {{ path_end .png }}\n  default_backend be_web\nbackend be_api\n  server a 127.0.0.1:{a}\nbackend be_shop\n  server s 127.0.0.1:{s}\nbackend be_web\n  server w 127.0.0.1:{w}\n"
    )
}

fn routing(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let a = http_backend("s1", 0, Arc::clone(&log), Arc::default());
        let s = http_backend("s2", 0, Arc::clone(&log), Arc::default());
        let w = http_backend("s3", 0, Arc::clone(&log), Arc::default());
        let conf = dir.join("r.cfg");
        std::fs::write(&conf, routing_config(a, s, w)).expect("cfg");
        serve_each(
            program,
            &conf,
            &[
                "GET /api/users HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
                "GET /cart HTTP/1.1\r\nHost: SHOP.example\r\nConnection: close\r\n\r\n",
                "GET /api/cart HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n",
                "GET /logo.png HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
                "GET /index HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n",
            ],
        )
    })
}

#[test]
fn acl_use_backend_routing_matches_haproxy_needs_root() {
    let theirs = routing(&["haproxy", "-db"], "rha");
    let ours = routing(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "rph");
    assert!(
        theirs[0].ends_with("s1\n"),
        "haproxy routes /api/ to be_api: {theirs:?}"
    );
    assert_eq!(ours, theirs);
}

fn rules_config(w: u16) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:{PORT}\n  http-request return status 200 content-type text/plain string \"hello\\n\" hdr x-a b if {{ path /r }}\n  http-request redirect location /new code 301 if {{ path /old }}\n  http-request redirect prefix /pre if {{ path_beg /p/ }}\n  http-request auth realm Zone if {{ path /a }}\n  http-request deny deny_status 404 if {{ path /d }}\n  http-request deny if {{ path /d2 }}\n  http-request set-header X-Set one\n  http-request add-header X-Add two\n  http-request del-header X-Remove\n  http-response set-header X-Resp yes\n  http-response del-header X-Server\n  default_backend be\nbackend be\n  http-request add-header X-Be be\n  server w 127.0.0.1:{w}\n"
    )
}

fn rules_run(program: &'static [&'static str], tag: &str) -> (Vec<String>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let w = http_backend("s1", 0, Arc::clone(&log), Arc::default());
        let conf = dir.join("rules.cfg");
        std::fs::write(&conf, rules_config(w)).expect("cfg");
        let mut proxy = start(program, &conf, PORT);
        let next = "GET /x HTTP/1.1\r\nHost: h\r\nX-Remove: 1\r\nX-Set: zero\r\n\r\n";
        let answers = ["/r", "/old", "/p/x?y=1", "/a", "/d", "/d2", "/plain"]
            .iter()
            .map(|p| {
                let first = format!("GET {p} HTTP/1.1\r\nHost: h\r\n\r\n");
                // A second request on the same connection: is it still open?
                exchange("127.0.0.1", &[&first, next])
            })
            .collect();
        let _ = proxy.kill();
        let _ = proxy.wait();
        (answers, texts(&log))
    })
}

#[test]
fn http_request_and_response_rules_match_haproxy_needs_root() {
    let theirs = rules_run(&["haproxy", "-db"], "qha");
    let ours = rules_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "qph");
    assert!(
        theirs.0[0].starts_with("HTTP/1.1 200 OK\r\nx-a: b\r\n"),
        "{:?}",
        theirs.0[0]
    );
    for (i, (o, t)) in ours.0.iter().zip(&theirs.0).enumerate() {
        assert_eq!(o, t, "answer {i}");
    }
    assert_eq!(ours.1, theirs.1, "bytes at the backend");
}

/// The README's run command works: the quick-start configuration balances,
/// routes and answers as its comments say (Pharos alone: the listeners it
/// uses as servers are its own).
#[test]
fn readme_quickstart_config_serves_as_documented_needs_root() {
    let got = in_fresh_netns("qs", |_| {
        let conf = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/quickstart/haproxy.cfg");
        let mut proxy = harness::start(
            &[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"],
            &conf,
            8080,
        );
        std::thread::sleep(Duration::from_millis(300));
        let get = |path: &str| {
            let mut c = TcpStream::connect(("127.0.0.1", 8080)).expect("connect");
            c.set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            c.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: q\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .expect("write");
            let mut body = Vec::new();
            let _ = c.read_to_end(&mut body);
            let text = String::from_utf8_lossy(&body).into_owned();
            text.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
        };
        let out = vec![get("/"), get("/"), get("/api/x"), get("/ping")];
        let _ = proxy.kill();
        let _ = proxy.wait();
        out
    });
    assert_eq!(got, ["web1\n", "web2\n", "{\"api\":\"hello\"}\n", "pong\n"]);
}

fn cookie_config(s1: u16, s2: u16) -> String {
    format!(
        "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten webfarm\n  bind 127.0.0.1:{PORT}\n  balance roundrobin\n  cookie SERVERID insert indirect nocache\n  server web1 127.0.0.1:{s1} cookie web1\n  server web2 127.0.0.1:{s2} cookie web2\n"
    )
}

fn cookie_run(program: &'static [&'static str], tag: &str) -> Outcome {
    in_fresh_netns(tag, move |dir| {
        let (l1, l2) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(Mutex::new(Vec::new())),
        );
        let s1 = http_backend("s1", 0, Arc::clone(&l1), Arc::default());
        let s2 = http_backend("s2", 0, Arc::clone(&l2), Arc::default());
        let conf = dir.join("c.cfg");
        std::fs::write(&conf, cookie_config(s1, s2)).expect("cfg");
        let answers = serve_each(
            program,
            &conf,
            &[
                "GET / HTTP/1.1\r\nHost: farm\r\n\r\n",
                "GET /a HTTP/1.1\r\nHost: farm\r\nCookie: SERVERID=web2\r\n\r\n",
                "GET /b HTTP/1.1\r\nHost: farm\r\nCookie: a=1; SERVERID=web2; b=2\r\n\r\n",
                "GET /c HTTP/1.1\r\nHost: farm\r\nCookie: SERVERID=nobody\r\n\r\n",
                "POST /d HTTP/1.1\r\nHost: farm\r\nContent-Length: 2\r\n\r\nhi",
            ],
        );
        (answers, texts(&l1), texts(&l2))
    })
}

#[test]
fn seed_cookie_insert_indirect_nocache_matches_haproxy_needs_root() {
    let theirs = cookie_run(&["haproxy", "-db"], "kha");
    let ours = cookie_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "kph");
    assert!(
        theirs.0[0].contains("set-cookie: SERVERID=web1; path=/"),
        "{:?}",
        theirs.0[0]
    );
    for (i, (o, t)) in ours.0.iter().zip(&theirs.0).enumerate() {
        assert_eq!(o, t, "answer {i}");
    }
    assert_eq!(ours.1, theirs.1, "bytes at web1");
    assert_eq!(ours.2, theirs.2, "bytes at web2");
}

/// `tune.bufsize 4096`, `tune.maxrewrite 1024`, `tune.http.maxhdr 8`: a
/// request head must fit in bufsize − maxrewrite and carry at most 8 fields.
fn tune_run(program: &'static [&'static str], tag: &str) -> (Vec<String>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let s = http_backend("s", 0, Arc::clone(&log), Arc::default());
        let conf = dir.join("h.cfg");
        let cfg = format!(
            "global\n  tune.bufsize 4096\n  tune.maxrewrite 1024\n  tune.http.maxhdr 8\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten l\n  bind 127.0.0.1:{PORT}\n  server s 127.0.0.1:{s}\n"
        );
        std::fs::write(&conf, cfg).expect("cfg");
        let big = |n: usize| {
            format!(
                "GET /big HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\n\r\n",
                "p".repeat(n)
            )
        };
        let fields = |n: usize| {
            let extra: String = (1..n).map(|i| format!("X-F{i}: v\r\n")).collect();
            format!("GET /fields HTTP/1.1\r\nHost: t\r\n{extra}\r\n")
        };
        let requests = [
            big(2900),
            big(3200),
            big(3100),
            fields(7),
            fields(8),
            fields(9),
        ];
        let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
        let answers = serve_each(program, &conf, &requests);
        (answers, texts(&log))
    })
}

#[test]
fn tune_limits_match_haproxy_needs_root() {
    let theirs = tune_run(&["haproxy", "-db"], "hta");
    let status = |a: &String| a.lines().next().unwrap_or_default().to_string();
    let codes: Vec<String> = theirs.0.iter().map(status).collect();
    // 2.6: the head must stay under bufsize − maxrewrite (3072), and
    // maxhdr counts the fields of the request (8 fields are refused).
    let (ok, bad) = ("HTTP/1.1 200 OK", "HTTP/1.1 400 Bad request");
    assert_eq!(codes, [ok, bad, bad, ok, bad, bad], "haproxy's answers");
    let ours = tune_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "htp");
    for (i, (o, t)) in ours.0.iter().zip(&theirs.0).enumerate() {
        assert_eq!(o, t, "request {i}: what came back");
    }
    assert_eq!(ours.1, theirs.1, "bytes at the server");
}

/// `use_backend be_%[req.hdr(x-be),lower]`: the name picks the backend; a
/// name that matches none sends the request to the default backend without
/// trying the rules after it.
fn dynamic_run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        let back = |n: &str| {
            format!(
                "backend be_{n}\n  http-request return status 200 content-type text/plain string \"{n}\"\n"
            )
        };
        let cfg = format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend f\n  bind 127.0.0.1:{PORT}\n  use_backend be_%[req.hdr(x-be),lower] if {{ req.hdr(x-be) -m found }}\n  use_backend be_b if {{ path_beg /b }}\n  default_backend be_d\n{}{}{}",
            back("a"),
            back("b"),
            back("d")
        );
        std::fs::write(&conf, cfg).expect("cfg");
        let requests = [
            "GET /x HTTP/1.1\r\nHost: t\r\nX-BE: A\r\nConnection: close\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: t\r\nX-BE: zzz\r\nConnection: close\r\n\r\n",
            "GET /b HTTP/1.1\r\nHost: t\r\nX-BE: zzz\r\nConnection: close\r\n\r\n",
            "GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ];
        serve_each(program, &conf, &requests)
            .iter()
            .map(|a| a.rsplit("\r\n\r\n").next().unwrap_or_default().to_string())
            .collect()
    })
}

#[test]
fn dynamic_use_backend_matches_haproxy_needs_root() {
    let theirs = dynamic_run(&["haproxy", "-db"], "hdy");
    assert_eq!(theirs, ["a", "d", "d", "b", "d"], "haproxy's backends");
    let ours = dynamic_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "pdy");
    assert_eq!(ours, theirs);
}

/// `use_backend %[req.hdr(host),lower,map_dom(FILE,be_d)]`, and `map_beg`,
/// `map_reg` and `map_regm` on the path in header values: the backends and
/// the headers the server sees come from the map files.
fn map_run(program: &'static [&'static str], tag: &str) -> (Vec<String>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let s = http_backend("s", 0, Arc::clone(&log), Arc::default());
        let map = dir.join("hosts.map");
        std::fs::write(
            &map,
            "# host to backend, the first match wins\nshop.example.com be_s\nexample.com be_a\n",
        )
        .expect("map");
        let paths = dir.join("paths.map");
        std::fs::write(&paths, "/api v1\n/api/v2 v2\n").expect("map");
        let regs = dir.join("regs.map");
        std::fs::write(
            &regs,
            "^/api/v[0-9]+/ apiv\n^/api api\n^/u/([a-z]+) user-\\1\n",
        )
        .expect("map");
        let (m, p, r) = (map.display(), paths.display(), regs.display());
        let conf = dir.join("h.cfg");
        let cfg = format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend f\n  bind 127.0.0.1:{PORT}\n  http-request set-header X-Api %[path,map_beg({p},none)]\n  http-request set-header X-Reg %[path,map_reg({r},none)]\n  http-request set-header X-Regm %[path,map_regm({r},none)]\n  use_backend %[req.hdr(host),lower,map_dom({m},be_d)]\n  default_backend be_d\nbackend be_a\n  server s 127.0.0.1:{s}\nbackend be_s\n  http-request return status 200 content-type text/plain string \"shop\"\nbackend be_d\n  http-request return status 200 content-type text/plain string \"default\"\n"
        );
        std::fs::write(&conf, cfg).expect("cfg");
        let req = |host: &str, path: &str| {
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        };
        let requests = [
            req("WWW.Example.com", "/api/v2/x"),
            req("shop.example.com", "/"),
            req("example.org", "/"),
            req("example.com", "/apix"),
            req("myexample.com", "/"),
            req("example.com", "/u/bob/x"),
        ];
        let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
        let answers = serve_each(program, &conf, &requests)
            .iter()
            .map(|a| a.rsplit("\r\n\r\n").next().unwrap_or_default().to_string())
            .collect();
        (answers, texts(&log))
    })
}

#[test]
fn map_converters_route_like_haproxy_needs_root() {
    let theirs = map_run(&["haproxy", "-db"], "hmp");
    assert_eq!(
        theirs.0,
        ["s\n", "shop", "default", "s\n", "default", "s\n"],
        "haproxy"
    );
    let ours = map_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "pmp");
    assert_eq!(ours, theirs);
}

/// `http-request return` with an `lf-string` body and a `hdr` value made of
/// sample expressions, a `file` body and an `lf-file` body.
fn return_lf_run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        let page = dir.join("page.html");
        std::fs::write(&page, "<p>maintenance</p>\n").expect("page");
        let lf = dir.join("page.lf");
        std::fs::write(&lf, "path=%[path] host=%[req.hdr(host)]\n").expect("lf");
        let (page, lf) = (page.display(), lf.display());
        let cfg = format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend f\n  bind 127.0.0.1:{PORT}\n  http-request return status 503 content-type text/html file {page} if {{ path_beg /file }}\n  http-request return status 200 content-type text/plain lf-file {lf} if {{ path_beg /lff }}\n  http-request return status 200 content-type text/plain lf-string \"host=%[req.hdr(host),lower] src=%[src] q=%[query]\" hdr X-Path \"%[path]\" if {{ path_beg /lf }}\n  http-request return status 404 content-type text/plain string \"plain %[src]\"\n"
        );
        std::fs::write(&conf, cfg).expect("cfg");
        let requests = [
            "GET /lf/a?x=1 HTTP/1.1\r\nHost: Example.COM\r\nConnection: close\r\n\r\n",
            "GET /other HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            "GET /file HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            "GET /lff/z HTTP/1.1\r\nHost: lf.example\r\nConnection: close\r\n\r\n",
        ];
        serve_each(program, &conf, &requests)
    })
}

#[test]
fn return_with_log_format_matches_haproxy_needs_root() {
    let theirs = return_lf_run(&["haproxy", "-db"], "hrl");
    assert!(
        theirs[0].ends_with("host=example.com src=127.0.0.1 q=x=1"),
        "{theirs:?}"
    );
    assert!(theirs[2].ends_with("<p>maintenance</p>\n"), "{theirs:?}");
    let ours = return_lf_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "prl");
    assert_eq!(ours, theirs);
}
