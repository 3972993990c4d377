//! Server `maxqueue` and `slowstart` against haproxy 2.6 (needs root; each
//! run in its own network namespace). The same configuration and the same
//! client actions go through haproxy and through Pharos:
//! * maxqueue: four requests 50 ms apart on servers with `maxconn 1` that
//!   answer after 700 ms, bound to one server by a cookie or by `balance
//!   uri`; with `maxqueue 1` the third and fourth are refused at once (503
//!   `SQ`), or balanced again with `option redispatch` (cookie only). The
//!   statuses, which server answered, the `show stat` queue columns while
//!   they wait, and the log lines (timers to the second) must match.
//! * slowstart: a server leaving maintenance (`disable`/`enable server` on
//!   the stats socket) with `slowstart 4s` gets a share of paced requests
//!   that grows each second, and `show stat` shows its growing weight.
//! * minconn: a server's limit grows with the backend's sessions up to its
//!   `fullconn`; while requests wait in the backend's queue, newcomers
//!   queue behind them; a release lets as many go as the limit allows.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "proxy_harness.rs"]
mod harness;
use harness::{in_fresh_netns, serve_each_connection, start, syslog_receiver, wait_lines};

const SYSLOG: u16 = 15530;
const PORT: u16 = 18330;

const HAPROXY: &[&str] = &["haproxy", "-db"];
const PHAROS: &[&str] = &[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"];

/// A server named `name` that answers `name\n`, after `delay`.
fn backend(name: &'static str, delay: Duration) -> u16 {
    serve_each_connection(0, Duration::from_secs(20), Arc::default(), move |mut c| {
        let mut pending = Vec::new();
        while harness::read_request(&mut c, &mut pending).is_some() {
            std::thread::sleep(delay);
            let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{name}\n");
            if c.write_all(resp.as_bytes()).is_err() {
                break;
            }
        }
    })
}

/// One request on its own connection: the status line and the body.
fn get(path: &str, extra: &str) -> (String, String) {
    let Ok(mut c) = TcpStream::connect(("127.0.0.1", PORT)) else {
        return ("no connection".into(), String::new());
    };
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let req = format!("GET {path} HTTP/1.1\r\nHost: h\r\n{extra}Connection: close\r\n\r\n");
    if c.write_all(req.as_bytes()).is_err() {
        return ("send failed".into(), String::new());
    }
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or("").to_string();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let body = if status.contains(" 200 ") {
        body.trim()
    } else {
        "-"
    };
    (status, body.to_string())
}

/// Sends `cmd` on the stats socket; the answer.
fn cli(dir: &Path, cmd: &str) -> String {
    // The socket may appear a moment after the port (3 s at most).
    let t0 = Instant::now();
    let mut s = loop {
        match UnixStream::connect(dir.join("admin.sock")) {
            Ok(s) => break s,
            Err(_) if t0.elapsed() < Duration::from_secs(3) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => return String::new(),
        }
    };
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let _ = s.write_all(format!("{cmd}\n").as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// `show stat` columns `cols` of the server and backend rows.
fn stat(dir: &Path, cols: &[usize]) -> Vec<String> {
    cli(dir, "show stat")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains(",FRONTEND,"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let picked: Vec<&str> = cols.iter().filter_map(|&c| f.get(c).copied()).collect();
            (f.len() > 30).then(|| format!("{},{}", f[1], picked.join(",")))
        })
        .collect()
}

/// A log line without what differs between runs: the syslog header, the
/// client's port, the date; timers are rounded to the second (-1 kept).
fn normalize(line: &str) -> String {
    let msg = line.trim_end().split_once("]: ").map_or(line, |(_, m)| m);
    // The timers are the fifth field (`Tq/Tw/Tc/Tr/Ta`).
    msg.split(' ')
        .enumerate()
        .map(|(i, t)| match i {
            0 => "CLIENT".to_string(),
            1 => "[DATE]".to_string(),
            4 => t
                .split('/')
                .map(|v| match v.parse::<i64>() {
                    Ok(n) if n < 0 => "-1".to_string(),
                    Ok(n) => format!("{}s", (n + 500) / 1000),
                    Err(_) => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/"),
            _ => t.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one maxqueue scenario showed: (status, server) per request, the
/// queue columns while requests wait, the log lines in order.
type QueueRun = (Vec<(String, String)>, Vec<String>, Vec<String>);

/// Four requests 50 ms apart through `listen q` with `lines` (the servers
/// s1/s2 answer after 700 ms); `cookie` is sent with each.
fn queue_run(
    program: &'static [&'static str],
    tag: &str,
    lines: &'static str,
    cookie: &'static str,
) -> QueueRun {
    in_fresh_netns(tag, move |dir| {
        let got = syslog_receiver(SYSLOG, Duration::from_secs(8));
        let s1 = backend("s1", Duration::from_millis(700));
        let s2 = backend("s2", Duration::from_millis(700));
        let conf = dir.join("q.cfg");
        let lines = lines
            .replace("S1", &s1.to_string())
            .replace("S2", &s2.to_string());
        std::fs::write(
            &conf,
            format!(
                "global\n  log 127.0.0.1:{SYSLOG} local2\n  stats socket {}/admin.sock level admin\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout queue 3s\nlisten q\n  bind 127.0.0.1:{PORT}\n{lines}",
                dir.display()
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, PORT);
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let t = std::thread::spawn(move || get(&format!("/x?{i}"), cookie));
                std::thread::sleep(Duration::from_millis(50));
                t
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        // qcur, qmax, scur, slim, qlimit while two wait.
        let queues = stat(dir, &[2, 3, 4, 6, 25]);
        let answers: Vec<(String, String)> = clients
            .into_iter()
            .map(|t| t.join().expect("client"))
            .collect();
        wait_lines(&got, 4);
        let _ = proxy.kill();
        let _ = proxy.wait();
        let logs = got
            .lock()
            .expect("log")
            .iter()
            .map(|l| harness::mask_dequeued_srv_conn(&normalize(l)))
            .collect();
        (answers, queues, logs)
    })
}

const COOKIE: &str = "  cookie SRV insert indirect\n  server s1 127.0.0.1:S1 maxconn 1 maxqueue 1 cookie one\n  server s2 127.0.0.1:S2 maxconn 1 cookie two\n";
const REDISPATCH: &str = "  option redispatch\n  cookie SRV insert indirect\n  server s1 127.0.0.1:S1 maxconn 1 maxqueue 1 cookie one\n  server s2 127.0.0.1:S2 maxconn 1 cookie two\n";
const HASH: &str = "  balance uri\n  option redispatch\n  default-server maxconn 1 maxqueue 1\n  server s1 127.0.0.1:S1\n  server s2 127.0.0.1:S2\n";

fn codes(run: &QueueRun) -> Vec<&str> {
    run.0.iter().map(|(s, _)| s.as_str()).collect()
}

#[test]
fn maxqueue_refuses_at_once_without_redispatch_as_haproxy_needs_root() {
    let theirs = queue_run(HAPROXY, "hq1a", COOKIE, "Cookie: SRV=one\r\n");
    let ok = "HTTP/1.1 200 OK";
    let full = "HTTP/1.1 503 Service Unavailable";
    assert_eq!(codes(&theirs), [ok, ok, full, full], "haproxy: {theirs:#?}");
    assert!(
        theirs.2.iter().any(|l| l.contains(" SQVN ")),
        "haproxy logs the refusal SQ: {theirs:#?}"
    );
    let ours = queue_run(PHAROS, "hq1p", COOKIE, "Cookie: SRV=one\r\n");
    assert_eq!(ours, theirs, "pharos, then haproxy");
}

#[test]
fn maxqueue_with_a_hash_refuses_even_with_redispatch_as_haproxy_needs_root() {
    let theirs = queue_run(HAPROXY, "hq2a", HASH, "");
    assert_eq!(
        theirs.0[2].0, "HTTP/1.1 503 Service Unavailable",
        "haproxy: {theirs:#?}"
    );
    let ours = queue_run(PHAROS, "hq2p", HASH, "");
    assert_eq!(ours, theirs, "pharos, then haproxy");
}

#[test]
fn maxqueue_redispatches_a_cookie_with_option_redispatch_as_haproxy_needs_root() {
    let theirs = queue_run(HAPROXY, "hq3a", REDISPATCH, "Cookie: SRV=one\r\n");
    let served: Vec<&str> = theirs.0.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(served, ["s1", "s1", "s2", "s2"], "haproxy: {theirs:#?}");
    let ours = queue_run(PHAROS, "hq3p", REDISPATCH, "Cookie: SRV=one\r\n");
    assert_eq!(ours, theirs, "pharos, then haproxy");
}

/// Requests every 20 ms for 5 s after `enable server q/s2` (slowstart 4 s):
/// s2's share of each second, and `show stat`'s weight of s2 and of the
/// backend half-way through each second.
fn slowstart_run(program: &'static [&'static str], tag: &str) -> (Vec<f64>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let s1 = backend("s1", Duration::ZERO);
        let s2 = backend("s2", Duration::ZERO);
        let conf = dir.join("s.cfg");
        std::fs::write(
            &conf,
            format!(
                "global\n  stats socket {}/admin.sock level admin\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten q\n  bind 127.0.0.1:{PORT}\n  server s1 127.0.0.1:{s1} weight 100\n  server s2 127.0.0.1:{s2} weight 100 slowstart 4s\n",
                dir.display()
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, PORT);
        cli(dir, "disable server q/s2");
        std::thread::sleep(Duration::from_millis(200));
        cli(dir, "enable server q/s2");
        let t0 = Instant::now();
        let mut buckets = [(0u32, 0u32); 5];
        let mut weights = Vec::new();
        let mut n = 0u32;
        while t0.elapsed() < Duration::from_secs(5) && n < 400 {
            let at = t0.elapsed();
            let k = (at.as_secs() as usize).min(4);
            let (_, body) = get("/s", "");
            buckets[k].0 += 1;
            buckets[k].1 += u32::from(body == "s2");
            if weights.len() <= k && at.as_millis() % 1000 >= 500 {
                weights.push(stat(dir, &[18]).join(" "));
            }
            n += 1;
            // Paced: the same number of requests a second whatever the speed.
            let due = Duration::from_millis(20 * u64::from(n));
            std::thread::sleep(due.saturating_sub(t0.elapsed()));
        }
        let _ = proxy.kill();
        let _ = proxy.wait();
        let shares = buckets
            .iter()
            .map(|&(all, s2)| f64::from(s2) / f64::from(all.max(1)))
            .collect();
        (shares, weights)
    })
}

#[test]
fn slowstart_ramps_a_server_leaving_maintenance_as_haproxy_needs_root() {
    // haproxy's effective weights: 1, 5, 9, 13 sixteenths, then full, so
    // s2's share of each second is w / (16 + w).
    let expected = [1.0 / 17.0, 5.0 / 21.0, 9.0 / 25.0, 13.0 / 29.0, 0.5];
    let theirs = slowstart_run(HAPROXY, "hq4a");
    let ours = slowstart_run(PHAROS, "hq4p");
    // ~50 requests a second: one request either way is 0.02; the steps
    // come a few ms after each second on either side, which may move one
    // or two requests between buckets. 0.07 covers that and still tells
    // every step apart (they are 0.11 or more apart).
    for (k, want) in expected.iter().enumerate() {
        for (who, run) in [("haproxy", &theirs), ("pharos", &ours)] {
            let got = run.0[k];
            assert!(
                (got - want).abs() < 0.07,
                "{who}: second {k}: s2 had {got:.3} of the requests, expected {want:.3}\nhaproxy: {theirs:?}\npharos: {ours:?}"
            );
        }
    }
    assert_eq!(
        theirs.1[..4],
        [
            "s1,100 s2,7 BACKEND,107",
            "s1,100 s2,32 BACKEND,132",
            "s1,100 s2,57 BACKEND,157",
            "s1,100 s2,82 BACKEND,182"
        ],
        "haproxy's weights: {theirs:?}"
    );
    assert_eq!(ours.1, theirs.1, "show stat weights: pharos, then haproxy");
}

/// Four requests 150 ms apart to a server with `minconn 1 maxconn 4` in a
/// backend with `fullconn 8`, answered after a second: when each reached
/// the server (in half seconds from the first) and the statuses. The
/// limit in force grows with the backend's sessions (queued ones too):
/// the fourth goes ahead of the two queued before it.
fn minconn_run(program: &'static [&'static str], tag: &str) -> (Vec<u64>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let arrivals: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
        let seen = Arc::clone(&arrivals);
        let slow =
            serve_each_connection(0, Duration::from_secs(20), Arc::default(), move |mut c| {
                let mut pending = Vec::new();
                while harness::read_request(&mut c, &mut pending).is_some() {
                    seen.lock().expect("arrivals").push(Instant::now());
                    std::thread::sleep(Duration::from_secs(1));
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ns1\n");
                }
            });
        let conf = dir.join("m.cfg");
        std::fs::write(
            &conf,
            format!(
                "defaults\n  mode http\n  timeout connect 1s\n  timeout client 10s\n  timeout server 10s\n  timeout queue 5s\nlisten q\n  bind 127.0.0.1:{PORT}\n  fullconn 8\n  server s1 127.0.0.1:{slow} minconn 1 maxconn 4\n"
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, PORT);
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let t = std::thread::spawn(move || get(&format!("/m{i}"), ""));
                std::thread::sleep(Duration::from_millis(150));
                t
            })
            .collect();
        let statuses = clients
            .into_iter()
            .map(|t| t.join().expect("client").0)
            .collect();
        let _ = proxy.kill();
        let _ = proxy.wait();
        let times = arrivals.lock().expect("arrivals").clone();
        let first = times.first().copied().unwrap_or_else(Instant::now);
        let halves = times
            .iter()
            .map(|t| (t.duration_since(first).as_millis() as u64 + 250) / 500)
            .collect();
        (halves, statuses)
    })
}

#[test]
fn minconn_grows_with_the_backend_load_as_haproxy_needs_root() {
    let theirs = minconn_run(HAPROXY, "hq5a");
    assert_eq!(theirs.1.len(), 4, "haproxy: {theirs:?}");
    assert!(
        theirs.1.iter().all(|s| s.contains(" 200 ")),
        "all served: {theirs:?}"
    );
    let ours = minconn_run(PHAROS, "hq5p");
    assert_eq!(ours, theirs, "pharos, then haproxy");
}
