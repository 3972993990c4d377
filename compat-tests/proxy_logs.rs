//! Traffic and event logs against haproxy 2.6 (needs root; each run in its
//! own network namespace): one configuration with `log 127.0.0.1:PORT
//! local2` and frontends in `option httplog`, `option httplog clf`, `option
//! tcplog`, the default format, a `log-format`, `option dontlognull`,
//! captures, a cookie, the stats page and a server that fails its check.
//! The same client actions run through haproxy and through Pharos; the
//! syslog datagrams must be the same once the times, pids and client ports
//! are normalized (timers are kept to the second, so a 1 s retry or timeout
//! still shows).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "proxy_harness.rs"]
mod harness;
use harness::{
    http_backend, in_fresh_netns, serve_each_connection, start, syslog_receiver, wait_bounded,
    wait_lines,
};

const SYSLOG: u16 = 15514;
const F1: u16 = 18300;
const NOSRV: u16 = 18301;
const TCP: u16 = 18302;
const PLAIN: u16 = 18303;
const FMT: u16 = 18304;
const NUL: u16 = 18305;
const STATS: u16 = 18306;
const COOKIE: u16 = 18307;
const CLF: u16 = 18308;

fn config(s1: u16, slow: u16, dead: u16, sock: &str) -> String {
    format!(
        "global
  log 127.0.0.1:{SYSLOG} local2
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 3s
  timeout server 1s
frontend f1
  option httplog
  bind 127.0.0.1:{F1}
  capture request header Host len 20
  capture response header X-Server len 10
  http-request deny if {{ path_beg /deny }}
  http-request redirect location /else if {{ path /redir }}
  http-request auth realm R if {{ path /auth }}
  use_backend slow if {{ path /slow }}
  default_backend b1
backend b1
  server s1 127.0.0.1:{s1}
backend slow
  server sl 127.0.0.1:{slow}
listen nosrv
  option httplog
  bind 127.0.0.1:{NOSRV}
  retries 1
  server dead 127.0.0.1:{dead}
listen tcp
  mode tcp
  option tcplog
  bind 127.0.0.1:{TCP}
  bind unix@{sock}
  server s1 127.0.0.1:{s1}
listen plain
  bind 127.0.0.1:{PLAIN}
  server s1 127.0.0.1:{s1}
listen fmt
  log-format \"%ci %ft %b/%s %ST %B %HM %HU %HV %U %tsc %ts %{{+Q}}r %hr\"
  bind 127.0.0.1:{FMT}
  server s1 127.0.0.1:{s1}
listen nul
  option httplog
  option dontlognull
  bind 127.0.0.1:{NUL}
  server s1 127.0.0.1:{s1}
listen st
  option httplog
  bind 127.0.0.1:{STATS}
  stats enable
  stats uri /st
listen ck
  option httplog
  bind 127.0.0.1:{COOKIE}
  cookie SRV insert indirect nocache
  server s1 127.0.0.1:{s1} cookie one
  server chk 127.0.0.1:{dead} cookie two check inter 500 fall 1
listen alldown
  bind 127.0.0.1:18309
  server x 127.0.0.1:{dead} check inter 500 fall 1
listen clf
  option httplog clf
  bind 127.0.0.1:{CLF}
  server s1 127.0.0.1:{s1}
"
    )
}

/// Sends `bytes` on a new connection to `port`, reads until the proxy
/// closes or 400 ms of silence, then closes.
fn send(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_millis(400)))
        .expect("timeout");
    if !bytes.is_empty() {
        c.write_all(bytes).expect("send");
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn get(port: u16, path: &str, extra: &str) -> Vec<u8> {
    send(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: h\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    )
}

/// A client action and how many log lines it makes.
type Action = (usize, Box<dyn Fn()>);

/// The client actions, in order (`sock`: the tcp listener's unix socket).
fn actions(sock: std::path::PathBuf) -> Vec<Action> {
    vec![
        (1, Box::new(|| drop(get(F1, "/ok", "")))),
        (1, Box::new(|| drop(get(F1, "/deny", "")))),
        (1, Box::new(|| drop(get(F1, "/redir", "")))),
        (1, Box::new(|| drop(get(F1, "/auth", "")))),
        (1, Box::new(|| drop(get(F1, "/slow", "")))),
        (
            1,
            Box::new(|| drop(send(F1, b"GET /bad path HTTP/1.1\r\nHost: h\r\n\r\n"))),
        ),
        (1, Box::new(|| drop(send(F1, b"")))),
        (
            1,
            Box::new(|| {
                let mut c = TcpStream::connect(("127.0.0.1", F1)).expect("connect");
                c.write_all(b"GET /partial HTTP/1.1\r\n").expect("send");
                std::thread::sleep(Duration::from_millis(200));
            }),
        ),
        (
            2,
            Box::new(|| {
                drop(send(
                    F1,
                    b"GET /ka1 HTTP/1.1\r\nHost: example\r\n\r\nGET /ka2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                ))
            }),
        ),
        (1, Box::new(|| drop(get(NOSRV, "/x", "")))),
        (1, Box::new(|| drop(send(TCP, b"GET /t HTTP/1.0\r\n\r\n")))),
        (
            1,
            Box::new(move || {
                let mut c = std::os::unix::net::UnixStream::connect(&sock).expect("unix");
                c.write_all(b"GET /u HTTP/1.0\r\n\r\n").expect("send");
                let _ = c.read_to_end(&mut Vec::new());
            }),
        ),
        (1, Box::new(|| drop(get(PLAIN, "/p", "")))),
        (
            1,
            Box::new(|| {
                drop(send(
                    FMT,
                    b"POST /f?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
                ))
            }),
        ),
        (0, Box::new(|| drop(send(NUL, b"")))),
        (1, Box::new(|| drop(get(NUL, "/n", "")))),
        (1, Box::new(|| drop(get(STATS, "/st", "")))),
        (1, Box::new(|| drop(get(COOKIE, "/c1", "")))),
        (
            1,
            Box::new(|| drop(get(COOKIE, "/c2", "Cookie: SRV=one\r\n"))),
        ),
        (
            1,
            Box::new(|| drop(get(COOKIE, "/c3", "Cookie: SRV=two\r\n"))),
        ),
        (1, Box::new(|| drop(get(CLF, "/clf", "")))),
    ]
}

fn run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let got = syslog_receiver(SYSLOG, Duration::from_secs(25));
        let s1 = http_backend("s1", 0, Arc::default(), Arc::new(AtomicBool::new(false)));
        // Accepts and never answers (the 504).
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let slow_port =
            serve_each_connection(0, Duration::from_secs(25), Arc::default(), move |c| {
                held.lock().expect("held").push(c)
            });
        // A port nobody listens on (connection refused).
        let dead = TcpListener::bind("127.0.0.1:0")
            .expect("dead")
            .local_addr()
            .expect("addr")
            .port();
        let conf = dir.join("h.cfg");
        let sock = dir.join("tcp.sock");
        let conf_text = config(s1, slow_port, dead, &sock.display().to_string());
        std::fs::write(&conf, conf_text).expect("cfg");
        let mut proxy = start(program, &conf, CLF);
        // The failed checks' lines come first (in either order).
        wait_lines(&got, 3);
        let startup = got.lock().expect("log").len();
        let mut expected = startup;
        for (lines, act) in actions(sock) {
            act();
            expected += lines;
            if lines == 0 {
                std::thread::sleep(Duration::from_millis(300));
            }
            wait_lines(&got, expected);
        }
        // A soft stop logs a line per proxy (and haproxy's internal one).
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(proxy.id() as i32),
            nix::sys::signal::Signal::SIGUSR1,
        );
        wait_bounded(&mut proxy, Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(200));
        let lines = got.lock().expect("log").clone();
        let mut lines: Vec<String> = lines.iter().map(|l| normalize(l)).collect();
        let n = startup.min(lines.len());
        lines[..n].sort();
        lines
    })
}

/// Hides what differs between two runs: the syslog date and pid, client
/// ports, request dates, the stats page's size, check durations; timers are
/// rounded to the second (-1 kept).
fn normalize(line: &str) -> String {
    let line = line.trim_end_matches('\n');
    // `<150>Nov 24 22:17:58 haproxy[10534]: msg`
    let (pri, rest) = line.split_once('>').unwrap_or(("", line));
    let msg = rest.split_once("]: ").map_or(rest, |(_, m)| m);
    let tag = rest
        .get(16..)
        .and_then(|t| t.split('[').next())
        .unwrap_or("?");
    if msg.contains(" \"clf\" ") {
        return format!("{pri}> {tag}: {}", normalize_clf(msg));
    }
    let mut out: Vec<String> = Vec::new();
    let mut timers_done = false;
    let stats = msg.contains("<STATS>");
    let mut after_status = false;
    for (i, tok) in msg.split(' ').enumerate() {
        let t = if tok.starts_with('[') && tok.ends_with(']') && tok.contains('/') {
            "[DATE]".to_string()
        } else if (i == 0 || out.last().is_some_and(|p| p == "from"))
            && tok.starts_with("127.0.0.1:")
        {
            "127.0.0.1:PORT".to_string()
        } else if tok.ends_with("ms.") && tok.trim_end_matches("ms.").parse::<u64>().is_ok() {
            "Nms.".to_string()
        } else if !timers_done && is_timers(tok) {
            timers_done = true;
            after_status = true;
            tok.split('/')
                .map(|v| match v.parse::<i64>() {
                    Ok(-1) => "-1".to_string(),
                    Ok(n) => format!("{}s", (n + 500) / 1000),
                    Err(_) => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/")
        } else if after_status && stats && tok.parse::<u64>().is_ok() && out.len() >= 2 {
            // The page's size: ours is not haproxy's HTML byte for byte.
            if out
                .last()
                .is_some_and(|p| p.len() == 3 && p.parse::<u16>().is_ok())
            {
                after_status = false;
                "BYTES".to_string()
            } else {
                tok.to_string()
            }
        } else {
            tok.to_string()
        };
        out.push(t);
    }
    format!("{pri}> {tag}: {}", out.join(" "))
}

/// `option httplog clf`: the date, client port, milliseconds and timers
/// are in fixed places.
fn normalize_clf(msg: &str) -> String {
    msg.split(' ')
        .enumerate()
        .map(|(i, t)| match i {
            3 => "[DATE".to_string(),
            12 => "PORT".to_string(),
            13 => "MS".to_string(),
            17..=21 => t.parse::<i64>().map_or(t.to_string(), |n| {
                if n < 0 {
                    "-1".into()
                } else {
                    format!("{}s", (n + 500) / 1000)
                }
            }),
            _ => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_timers(tok: &str) -> bool {
    let parts: Vec<&str> = tok.split('/').collect();
    (parts.len() == 3 || parts.len() == 5) && parts.iter().all(|p| p.parse::<i64>().is_ok())
}

#[test]
fn traffic_and_event_logs_match_haproxy_needs_root() {
    let theirs = run(&["haproxy", "-db"], "lha");
    let ours = run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "lph");
    assert!(theirs.len() > 20, "haproxy logs every action: {theirs:#?}");
    assert!(
        theirs
            .iter()
            .any(|l| l.contains(" 504 ") && l.contains("sH--")),
        "the 504 line: {theirs:#?}"
    );
    assert!(
        theirs
            .iter()
            .any(|l| l.ends_with("Proxy <HTTPCLIENT> stopped (cumulated conns: FE: 0, BE: 0).")),
        "the soft stop's lines: {theirs:#?}"
    );
    for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(b, a, "line {i}\nhaproxy: {theirs:#?}\npharos: {ours:#?}");
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "haproxy: {theirs:#?}\npharos: {ours:#?}"
    );
}

const QUEUE: u16 = 18320;

/// A server that answers after 700 ms; records the most connections it
/// had at once.
fn slow_backend(most: Arc<Mutex<(usize, usize)>>) -> u16 {
    serve_each_connection(0, Duration::from_secs(15), Arc::default(), move |mut c| {
        let mut pending = Vec::new();
        while harness::read_request(&mut c, &mut pending).is_some() {
            {
                let mut m = most.lock().expect("most");
                m.0 += 1;
                m.1 = m.1.max(m.0);
            }
            std::thread::sleep(Duration::from_millis(700));
            most.lock().expect("most").0 -= 1;
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        }
    })
}

/// Three clients 50 ms apart on a server with `maxconn 1`: the second
/// waits its turn, the third outlives `timeout queue` (503, `sQ`).
fn queue_run(program: &'static [&'static str], tag: &str) -> (Vec<String>, Vec<String>, usize) {
    in_fresh_netns(tag, move |dir| {
        let got = syslog_receiver(SYSLOG, Duration::from_secs(10));
        let most: Arc<Mutex<(usize, usize)>> = Arc::default();
        let slow = slow_backend(Arc::clone(&most));
        let conf = dir.join("q.cfg");
        std::fs::write(
            &conf,
            format!(
                "global\n  log 127.0.0.1:{SYSLOG} local2\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout queue 1100ms\nlisten q\n  bind 127.0.0.1:{QUEUE}\n  server s1 127.0.0.1:{slow} maxconn 1\n"
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, QUEUE);
        let clients: Vec<_> = (1..=3)
            .map(|i| {
                let t = std::thread::spawn(move || {
                    let mut c = TcpStream::connect(("127.0.0.1", QUEUE)).expect("connect");
                    c.set_read_timeout(Some(Duration::from_secs(4)))
                        .expect("timeout");
                    let req = format!("GET /q{i} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
                    c.write_all(req.as_bytes()).expect("send");
                    let mut answer = Vec::new();
                    let _ = c.read_to_end(&mut answer);
                    let text = String::from_utf8_lossy(&answer).into_owned();
                    text.lines().next().unwrap_or("").to_string()
                });
                std::thread::sleep(Duration::from_millis(50));
                t
            })
            .collect();
        let statuses: Vec<String> = clients
            .into_iter()
            .map(|t| t.join().expect("client"))
            .collect();
        wait_lines(&got, 3);
        let _ = proxy.kill();
        let _ = proxy.wait();
        let lines = got
            .lock()
            .expect("log")
            .iter()
            .map(|l| harness::mask_dequeued_srv_conn(&normalize(l)))
            .collect();
        let most = most.lock().expect("most").1;
        (statuses, lines, most)
    })
}

#[test]
fn server_maxconn_queues_and_times_out_as_haproxy_needs_root() {
    let theirs = queue_run(&["haproxy", "-db"], "qla");
    assert_eq!(
        theirs.0,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 503 Service Unavailable"
        ],
        "haproxy: {theirs:#?}"
    );
    assert_eq!(theirs.2, 1, "one request at a time on the server");
    let ours = queue_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "qlp");
    assert_eq!(ours, theirs);
}

/// A request answered after `path`'s digits in tenths of a second.
fn paced_backend() -> u16 {
    serve_each_connection(0, Duration::from_secs(15), Arc::default(), |mut c| {
        let mut pending = Vec::new();
        while let Some(req) = harness::read_request(&mut c, &mut pending) {
            let text = String::from_utf8_lossy(&req).into_owned();
            let tenths: u64 = text
                .split(' ')
                .nth(1)
                .and_then(|p| p.trim_start_matches("/t").parse().ok())
                .unwrap_or(0);
            std::thread::sleep(Duration::from_millis(100 * tenths));
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        }
    })
}

/// Three requests in flight at once on one server (in `mode http` and
/// `mode tcp`), ending in turn: each line counts the streams still open
/// then (`%ac/%fc/%bc/%sc`).
fn concurrent_run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let got = syslog_receiver(SYSLOG, Duration::from_secs(10));
        let paced = paced_backend();
        let conf = dir.join("c.cfg");
        std::fs::write(
            &conf,
            format!(
                "global\n  log 127.0.0.1:{SYSLOG} local2\ndefaults\n  log global\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten h\n  mode http\n  option httplog\n  bind 127.0.0.1:{F1}\n  server s1 127.0.0.1:{paced}\nlisten t\n  mode tcp\n  option tcplog\n  bind 127.0.0.1:{TCP}\n  server s1 127.0.0.1:{paced}\n"
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, F1);
        let mut lines = Vec::new();
        for port in [F1, TCP] {
            let before = got.lock().expect("log").len();
            let clients: Vec<_> = [9, 6, 3]
                .into_iter()
                .map(|tenths| {
                    let t = std::thread::spawn(move || get(port, &format!("/t{tenths}"), ""));
                    std::thread::sleep(Duration::from_millis(50));
                    t
                })
                .collect();
            for t in clients {
                t.join().expect("client");
            }
            wait_lines(&got, before + 3);
            lines.extend(
                got.lock().expect("log")[before..]
                    .iter()
                    .map(|l| normalize(l)),
            );
        }
        let _ = proxy.kill();
        let _ = proxy.wait();
        lines
    })
}

#[test]
fn concurrent_streams_are_counted_in_the_log_as_haproxy_needs_root() {
    let theirs = concurrent_run(&["haproxy", "-db"], "cla");
    assert_eq!(theirs.len(), 6, "haproxy: {theirs:#?}");
    assert!(
        theirs[0].contains(" 3/3/2/2/0 "),
        "haproxy counts the three open streams: {theirs:#?}"
    );
    let ours = concurrent_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "clp");
    assert_eq!(ours, theirs);
}
