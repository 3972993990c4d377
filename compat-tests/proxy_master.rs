//! haproxy 2.6's master-worker mode (`-Ws`, as Debian's and RHEL's systemd
//! units start it) against Pharos, each in its own network namespace
//! (`ptest-hmw…`, loopback only): the pidfile holds the master, one worker
//! serves; SIGUSR2 starts a new worker with `-sf <old>` and the old one
//! exits; a reload with a broken file keeps the worker serving ("Loading
//! failure!", `[failed: 1]`); `reload` on the master CLI (`-S`) works;
//! `show proc`; the sd_notify messages; a worker killed by SIGKILL takes
//! the master down with code 137. What the master says on stderr, what
//! `show proc` shows and what systemd is told must be the same.

use std::io::{Read, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "proxy_harness.rs"]
mod harness;
use harness::{in_fresh_netns, wait_bounded};

const HAPROXY: &[&str] = &["haproxy"];
const PHAROS: &[&str] = &[env!("CARGO_BIN_EXE_pharos"), "haproxy"];
const PORT: u16 = 18500;

fn config(body: &str) -> String {
    format!(
        "global\n  nbthread 1\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.0.1:{PORT}\n  http-request return status 200 content-type text/plain string \"{body}\"\n"
    )
}

/// The body of a GET through the proxy ("" when nothing answers).
fn get() -> String {
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", PORT)) else {
        return String::new();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = c.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut got = String::new();
    let _ = c.read_to_string(&mut got);
    got.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}

/// The children of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // The fields after the command name, which is in parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid: u32 = rest.split(' ').nth(1)?.parse().ok()?;
            (ppid == pid).then(|| e.file_name().to_str()?.parse().ok())?
        })
        .collect();
    out.sort_unstable();
    out
}

/// Sends `line` to the master CLI and reads the answer (retrying while the
/// socket is being re-made, as haproxy's master re-executes).
fn master_cli(sock: &Path, line: &str) -> String {
    let t0 = Instant::now();
    loop {
        if let Ok(mut c) = UnixStream::connect(sock) {
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = c.write_all(format!("{line}\n").as_bytes());
            let mut got = String::new();
            let _ = c.read_to_string(&mut got);
            return got;
        }
        if t0.elapsed() > Duration::from_secs(3) {
            return String::new();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `show proc` without pids, uptimes and versions: `master 1 [failed: 0]`,
/// `worker 0`, and the section lines.
fn procs(sock: &Path) -> Vec<String> {
    master_cli(sock, "show proc")
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.get(1) {
                Some(&"master") => format!("master {}", w[2..5].join(" ")),
                Some(&"worker") => format!("worker {}", w[2]),
                _ => w.join(" "),
            }
        })
        .collect()
}

/// Waits (3 s at most) until `pid` has one child other than `old`.
fn new_worker(pid: u32, old: u32) -> u32 {
    let t0 = Instant::now();
    loop {
        let kids = children(pid);
        if kids.len() == 1 && kids[0] != old || t0.elapsed() > Duration::from_secs(3) {
            return kids.first().copied().unwrap_or(0);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `program MODE -f CONF EXTRA…` (`-W` or `-Ws`), with
/// `NOTIFY_SOCKET` and stderr where given, and waits (5 s at most) until
/// its worker answers.
fn start_master(
    program: &[&str],
    mode: &str,
    conf: &Path,
    extra: &[&std::ffi::OsStr],
    notify: Option<&Path>,
    err: Option<&Path>,
) -> Child {
    let mut c = Command::new(program[0]);
    c.args(&program[1..])
        .args([mode, "-f"])
        .arg(conf)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(err.map_or_else(Stdio::null, |e| {
            Stdio::from(std::fs::File::create(e).expect("err"))
        }));
    if let Some(n) = notify {
        c.env("NOTIFY_SOCKET", n);
    }
    let master = c.spawn().expect("start the master");
    let t0 = Instant::now();
    while get().is_empty() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    master
}

/// A `NOTIFY_SOCKET` for the master, read on a thread of its own.
struct Notify {
    got: Arc<Mutex<Vec<String>>>,
    done: Arc<AtomicBool>,
    reader: std::thread::JoinHandle<()>,
}

impl Notify {
    fn listen(path: &Path) -> Notify {
        let sock = UnixDatagram::bind(path).expect("notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let got = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (got, done) = (Arc::clone(&got), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let t0 = Instant::now();
                while !done.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(30) {
                    if let Ok(n) = sock.recv(&mut buf) {
                        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                        got.lock().expect("notified").push(m);
                    }
                }
            })
        };
        Notify { got, done, reader }
    }

    /// The messages, in order. haproxy's master says RELOADING=1 each time
    /// it starts, the first time and again after re-executing itself: what
    /// systemd learns is the sequence of states, so repeats and a leading
    /// RELOADING=1 are dropped.
    fn finish(self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(200));
        self.done.store(true, Ordering::Relaxed);
        let _ = self.reader.join();
        let mut got = self.got.lock().expect("notified").clone();
        got.dedup();
        if got.first().is_some_and(|s| s == "RELOADING=1") {
            got.remove(0);
        }
        got
    }
}

/// The version and path NOTICE lines name different programs: cut there.
fn unnamed(l: String) -> String {
    match l
        .find(" : haproxy version is")
        .or(l.find(" : path to executable"))
    {
        Some(i) => format!("{}…", &l[..i + 3]),
        None => l,
    }
}

#[derive(Debug, PartialEq)]
struct Life {
    /// The pidfile names the master.
    pidfile_is_master: bool,
    /// The master's stderr lines, pids named M, W1, W2…
    master_lines: Vec<String>,
    /// The workers' lines (their order against the master's is a race).
    worker_lines: Vec<String>,
    /// What the first worker's command line adds for the second: `-sf W1`.
    second_args: String,
    /// `show proc` after each step.
    tables: Vec<Vec<String>>,
    /// GET answers after each step.
    answers: Vec<String>,
    /// sd_notify messages, MAINPID named.
    notified: Vec<String>,
    exit_code: Option<i32>,
}

fn life(program: &'static [&'static str], tag: &str) -> Life {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config("one")).expect("cfg");
        let pidfile = dir.join("pid");
        let sock = dir.join("master.sock");
        let notify_path = dir.join("notify");
        let notify = Notify::listen(&notify_path);
        let err = dir.join("err");
        let extra = [
            "-p".as_ref(),
            pidfile.as_os_str(),
            "-S".as_ref(),
            sock.as_os_str(),
        ];
        let mut master = start_master(
            program,
            "-Ws",
            &conf,
            &extra,
            Some(&notify_path),
            Some(&err),
        );
        let m = master.id();
        let in_pidfile: u32 = std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0);
        let first = new_worker(m, 0);
        let mut tables = vec![procs(&sock)];
        let mut answers = vec![get()];
        // SIGUSR2 with a new body: the new worker serves it.
        std::fs::write(&conf, config("two")).expect("cfg");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(m as i32),
            nix::sys::signal::Signal::SIGUSR2,
        );
        let second = new_worker(m, first);
        let second_args = std::fs::read(format!("/proc/{second}/cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .split('\0')
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
            .replace(&first.to_string(), "W1");
        std::thread::sleep(Duration::from_millis(300));
        tables.push(procs(&sock));
        answers.push(get());
        // A broken file: the worker keeps serving.
        std::fs::write(&conf, format!("{}frontend bad\n  bindx\n", config("three"))).expect("cfg");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(m as i32),
            nix::sys::signal::Signal::SIGHUP,
        );
        std::thread::sleep(Duration::from_millis(800));
        tables.push(procs(&sock));
        answers.push(get());
        // Fixed, reloaded from the master CLI.
        std::fs::write(&conf, config("four")).expect("cfg");
        master_cli(&sock, "reload");
        let third = new_worker(m, second);
        std::thread::sleep(Duration::from_millis(300));
        tables.push(procs(&sock));
        answers.push(get());
        // The serving worker dies: the master follows with its code.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(third as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let status = wait_bounded(&mut master, Duration::from_secs(5));
        let notified = notify.finish();
        let names = [(m, "M"), (first, "W1"), (second, "W2"), (third, "W3")];
        let name = |text: &str| {
            names.iter().fold(text.to_string(), |t, (pid, n)| {
                t.replace(&format!("({pid})"), &format!("({n})"))
                    .replace(&format!("MAINPID={pid}"), &format!("MAINPID={n}"))
            })
        };
        let text = std::fs::read_to_string(&err).unwrap_or_default();
        let mut master_lines = Vec::new();
        let mut worker_lines = Vec::new();
        let dir_text = dir.display().to_string();
        for l in text
            .lines()
            .map(|l| unnamed(name(&l.replace(&dir_text, "DIR"))))
        {
            if l.contains("(M) : ") {
                master_lines.push(l);
            } else {
                worker_lines.push(l);
            }
        }
        worker_lines.sort();
        let notified = notified.iter().map(|s| name(s)).collect();
        Life {
            pidfile_is_master: in_pidfile == m,
            master_lines,
            worker_lines,
            second_args,
            tables,
            answers,
            notified,
            exit_code: status.and_then(|s| s.code().or(s.signal().map(|s| 128 + s))),
        }
    })
}

#[test]
fn master_worker_reloads_like_haproxy_needs_root() {
    let theirs = life(HAPROXY, "hmwa");
    assert_eq!(theirs.answers, ["one", "two", "two", "four"]);
    assert_eq!(theirs.exit_code, Some(137));
    assert!(theirs.pidfile_is_master);
    assert_eq!(theirs.second_args, "haproxy -sf W1");
    let ours = life(PHAROS, "hmwp");
    assert_eq!(ours.answers, theirs.answers, "what the workers served");
    assert_eq!(ours.tables, theirs.tables, "show proc");
    assert_eq!(ours.second_args, theirs.second_args, "the new worker's -sf");
    assert_eq!(ours.master_lines, theirs.master_lines, "the master's lines");
    assert_eq!(ours.worker_lines, theirs.worker_lines, "the workers' lines");
    assert_eq!(ours.notified, theirs.notified, "sd_notify");
    assert_eq!(ours.exit_code, theirs.exit_code);
}

/// `-Ws` then SIGTERM to the master: its lines, what systemd is told, and
/// its exit code.
fn stop(program: &'static [&'static str], tag: &str) -> (Vec<String>, Vec<String>, Option<i32>) {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config("one")).expect("cfg");
        let err = dir.join("err");
        let notify_path = dir.join("notify");
        let notify = Notify::listen(&notify_path);
        let mut master = start_master(program, "-Ws", &conf, &[], Some(&notify_path), Some(&err));
        let worker = new_worker(master.id(), 0);
        // haproxy's master re-executes itself once its worker runs: a
        // signal in between would find no handler.
        std::thread::sleep(Duration::from_millis(500));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(master.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let status = wait_bounded(&mut master, Duration::from_secs(5));
        let m = master.id();
        let lines = std::fs::read_to_string(&err)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                unnamed(
                    l.replace(&format!("({m})"), "(M)")
                        .replace(&format!("({worker})"), "(W)"),
                )
            })
            .collect();
        let notified = notify
            .finish()
            .iter()
            .map(|n| n.replace(&format!("MAINPID={m}"), "MAINPID=M"))
            .collect();
        (lines, notified, status.and_then(|s| s.code()))
    })
}

#[test]
fn master_stops_its_worker_like_haproxy_needs_root() {
    let theirs = stop(HAPROXY, "hmsa");
    assert_eq!(theirs.2, Some(0), "{:?}", theirs.0);
    assert!(
        theirs
            .0
            .contains(&"[WARNING]  (M) : Exiting Master process...".to_string())
    );
    assert_eq!(stop(PHAROS, "hmsp"), theirs);
}

/// `-W` under load: four clients open a connection per request as fast as
/// they can for 3 s while the master reloads eight times. Requests that
/// failed (a reset, a refusal, no answer) and requests served.
fn reloads_under_load(program: &'static [&'static str], tag: &str) -> (usize, usize) {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config("one")).expect("cfg");
        let mut master = start_master(program, "-W", &conf, &[], None, None);
        std::thread::sleep(Duration::from_millis(500));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let (mut ok, mut failed) = (0, 0);
                    while !stop.load(Ordering::Relaxed) {
                        if get() == "one" {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        for _ in 0..8 {
            std::thread::sleep(Duration::from_millis(300));
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(master.id() as i32),
                nix::sys::signal::Signal::SIGUSR2,
            );
        }
        std::thread::sleep(Duration::from_millis(600));
        stop.store(true, Ordering::Relaxed);
        let counts: Vec<(usize, usize)> = clients
            .into_iter()
            .map(|c| c.join().expect("client"))
            .collect();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(master.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        wait_bounded(&mut master, Duration::from_secs(5));
        counts
            .iter()
            .fold((0, 0), |(f, o), (ok, failed)| (f + failed, o + ok))
    })
}

#[test]
fn reloads_lose_no_connection_like_haproxy_needs_root() {
    let theirs = reloads_under_load(HAPROXY, "hmla");
    assert_eq!(theirs.0, 0, "haproxy loses nothing ({} served)", theirs.1);
    assert!(theirs.1 > 500, "load: {theirs:?}");
    let ours = reloads_under_load(PHAROS, "hmlp");
    assert_eq!(ours.0, 0, "pharos lost requests ({} served)", ours.1);
    assert!(ours.1 > 500, "load: {ours:?}");
}
