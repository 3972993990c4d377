//! Shared by the proxy compat tests: a fresh network namespace per run
//! (only its loopback carries traffic), and starting haproxy or Pharos on a
//! configuration without touching its listener.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `f` on a thread inside a new namespace `ptest-<tag>-<pid>` (lo up,
/// 198.51.100.10/32 on lo for clients that must not be 127.0.0.1), with a
/// scratch directory; both are removed afterwards, also when `f` panics.
pub fn in_fresh_netns<T: Send + 'static>(
    tag: &str,
    f: impl FnOnce(&std::path::Path) -> T + Send + 'static,
) -> T {
    let ns = format!("ptest-{tag}-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip netns add {ns}");
    let file = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("netns");
    let dir = std::env::temp_dir().join(format!("pharos-{ns}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.clone();
    let out = std::thread::spawn(move || {
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let _ = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        let _ = Command::new("ip")
            .args(["addr", "add", "198.51.100.10/32", "dev", "lo"])
            .status();
        f(&d)
    })
    .join();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// Runs `program args… -f CONF` in the current namespace; waits for its port.
pub fn start(program: &[&str], conf: &std::path::Path, port: u16) -> Child {
    start_with(program, conf, port, Stdio::null())
}

/// As `start`, with the proxy's stderr written to `stderr`.
pub fn start_logged(
    program: &[&str],
    conf: &std::path::Path,
    port: u16,
    stderr: &std::path::Path,
) -> Child {
    let file = std::fs::File::create(stderr).expect("stderr file");
    start_with(program, conf, port, Stdio::from(file))
}

fn start_with(program: &[&str], conf: &std::path::Path, port: u16, stderr: Stdio) -> Child {
    let child = Command::new(program[0])
        .args(&program[1..])
        .arg("-f")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the proxy");
    // Wait for the listening socket without connecting (a probe connection
    // would take a round-robin turn).
    let listening = || {
        Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    };
    let t0 = Instant::now();
    while !listening() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Reads one HTTP request (head, then a Content-Length or chunked body) off
/// `c`, returning its raw bytes; None at EOF.
pub fn read_request(c: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
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

/// A keep-alive HTTP backend on 127.0.0.1:`port` (0: any) answering
/// `name\n`; records every request it receives. Setting `stop` closes the
/// listener and its connections (the server is dead); it lives 30 s at most.
pub fn http_backend(
    name: &'static str,
    port: u16,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
) -> u16 {
    let flag = Arc::clone(&stop);
    serve_each_connection(port, Duration::from_secs(30), stop, move |mut c| {
        let mut pending = Vec::new();
        while let Some(req) = read_request(&mut c, &mut pending) {
            if flag.load(Ordering::Relaxed) {
                break;
            }
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
    })
}

/// Accepts on 127.0.0.1:`port` (0: any) for `life` at most, or until
/// `stop` is set, and runs `serve` for each connection on a thread of its
/// own (a blocking socket with a 3 s read timeout). Returns the port.
pub fn serve_each_connection(
    port: u16,
    life: Duration,
    stop: Arc<AtomicBool>,
    serve: impl Fn(TcpStream) + Send + Sync + 'static,
) -> u16 {
    let l = TcpListener::bind(("127.0.0.1", port)).expect("backend");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < life && !stop.load(Ordering::Relaxed) {
            let Ok((c, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let serve = Arc::clone(&serve);
            std::thread::spawn(move || {
                let _ = c.set_nonblocking(false);
                let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                serve(c);
            });
        }
    });
    port
}

/// Waits for `child` at most `limit`; kills it (by its pid) past that.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Collects the syslog datagrams sent to 127.0.0.1:`port` for `life`.
pub fn syslog_receiver(port: u16, life: Duration) -> Arc<Mutex<Vec<String>>> {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let sock = std::net::UdpSocket::bind(("127.0.0.1", port)).expect("syslog socket");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let g = Arc::clone(&got);
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut buf = [0u8; 4096];
        while t0.elapsed() < life {
            if let Ok(n) = sock.recv(&mut buf) {
                let line = String::from_utf8_lossy(&buf[..n]).into_owned();
                g.lock().expect("log").push(line);
            }
        }
    });
    got
}

/// Waits until `got` holds `n` lines (3 s at most).
pub fn wait_lines(got: &Arc<Mutex<Vec<String>>>, n: usize) {
    let t0 = Instant::now();
    while got.lock().expect("log").len() < n && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A log line with `%sc` masked on served requests (termination state
/// `--…`), for runs where one hands its slot to a queued one: haproxy
/// counts the queued
/// request on the server when its stream connects, on whichever thread
/// runs it, so the releasing request's `%sc` is 0 or 1 from run to run
/// (Pharos counts it at the hand-over: 1).
pub fn mask_dequeued_srv_conn(line: &str) -> String {
    let mut toks: Vec<String> = line.split(' ').map(str::to_string).collect();
    if let Some(at) = toks
        .iter()
        .position(|t| t.len() == 4 && t.starts_with("--"))
        && let Some(counters) = toks.get_mut(at + 1)
    {
        let mut fields: Vec<&str> = counters.split('/').collect();
        if fields.len() == 5 {
            fields[3] = "SC";
            *counters = fields.join("/");
        }
    }
    toks.join(" ")
}
