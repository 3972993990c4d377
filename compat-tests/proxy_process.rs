//! haproxy 2.6's process management against Pharos (needs root: each run
//! gets its own network namespace, `ptest-hpr…`, where only loopback
//! carries traffic): `-D` with a pidfile, the `-sf` handover with a request
//! in flight on the old process, `-st`, `user`/`group`, the FD-limit
//! refusal, and global `maxconn` holding back a third client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "proxy_harness.rs"]
mod harness;
use harness::{in_fresh_netns, serve_each_connection, wait_bounded};

const HAPROXY: &[&str] = &["haproxy"];
const PHAROS: &[&str] = &[env!("CARGO_BIN_EXE_pharos"), "haproxy"];

fn config(port: u16, backend: u16, global: &str) -> String {
    let threads = if global.contains("nbthread") {
        ""
    } else {
        "  nbthread 1\n"
    };
    format!(
        "global\n{threads}{global}defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
listen l1\n  bind 127.0.0.1:{port}\n  server s1 127.0.0.1:{backend}\n\
frontend f1\n  bind 127.0.0.1:{}\n  default_backend b1\nbackend b1\n  server s2 127.0.0.1:{backend}\n",
        port + 1
    )
}

/// Spawns `program args…` with stderr to `err` (stdout discarded).
fn spawn(program: &[&str], args: &[&str], err: &Path) -> Child {
    let file = std::fs::File::create(err).expect("stderr file");
    Command::new(program[0])
        .args(&program[1..])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(file))
        .spawn()
        .expect("spawn the proxy")
}

/// The pids listening on `port` (from `ss -ltnp`), waiting up to 5 s for one.
fn listeners(port: u16) -> Vec<i32> {
    let t0 = Instant::now();
    loop {
        let out = Command::new("ss")
            .args(["-Hltnp", &format!("sport = :{port}")])
            .output()
            .expect("ss");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut pids: Vec<i32> = text
            .split("pid=")
            .skip(1)
            .filter_map(|s| s.split(',').next()?.parse().ok())
            .collect();
        // A process may listen with one socket per thread.
        pids.sort_unstable();
        pids.dedup();
        if !pids.is_empty() || t0.elapsed() > Duration::from_secs(5) {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// stderr lines without the pid, and without the NOTICE lines that name
/// the version and the executable.
fn lines(err: &Path) -> Vec<String> {
    std::fs::read_to_string(err)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("[NOTICE]"))
        .map(|l| match (l.find('('), l.find(") : ")) {
            (Some(a), Some(b)) if a < b => format!("{}(PID{}", &l[..a], &l[b..]),
            _ => l.to_string(),
        })
        .collect()
}

/// A backend on 127.0.0.1 (any port) that waits `delay` after reading, then
/// answers `ok <what it read>` and closes; counts its busiest moment.
fn slow_backend(delay: Duration, busiest: Arc<AtomicUsize>) -> u16 {
    let now = Arc::new(AtomicUsize::new(0));
    serve_each_connection(0, Duration::from_secs(30), Arc::default(), move |mut c| {
        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
        busiest.fetch_max(n, Ordering::SeqCst);
        let mut buf = [0u8; 64];
        let got = c.read(&mut buf).unwrap_or(0);
        std::thread::sleep(delay);
        let _ = c.write_all(b"ok ");
        let _ = c.write_all(&buf[..got]);
        now.fetch_sub(1, Ordering::SeqCst);
    })
}

/// One client: sends `what`, returns what came back before EOF.
fn client(port: u16, what: &str) -> std::thread::JoinHandle<String> {
    let what = what.to_string();
    std::thread::spawn(move || {
        let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else {
            return "refused".into();
        };
        let _ = c.set_read_timeout(Some(Duration::from_secs(6)));
        let _ = c.write_all(what.as_bytes());
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    })
}

/// `-D -p FILE`: the command returns 0 at once; the pidfile names a
/// detached process (its own session, stdio on /dev/null) that listens.
fn daemon(program: &'static [&'static str], tag: &str) -> (i32, bool, bool, bool) {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(18100, 9, "")).expect("cfg");
        let pidfile = dir.join("h.pid");
        let conf_s = conf.display().to_string();
        let pid_s = pidfile.display().to_string();
        let mut parent = spawn(
            program,
            &["-D", "-f", &conf_s, "-p", &pid_s],
            &dir.join("err"),
        );
        let status = wait_bounded(&mut parent, Duration::from_secs(5)).expect("the parent exits");
        let daemon_pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pidfile")
            .trim()
            .parse()
            .expect("a pid");
        let listening = listeners(18100).contains(&daemon_pid);
        let stat = std::fs::read_to_string(format!("/proc/{daemon_pid}/stat")).unwrap_or_default();
        // Field 6 is the session id (after the parenthesised name).
        let session = stat
            .rsplit(") ")
            .next()
            .and_then(|rest| rest.split(' ').nth(3))
            .and_then(|s| s.parse::<i32>().ok());
        let own_session = session == Some(daemon_pid) && daemon_pid != parent.id() as i32;
        let null = (0..3).all(|fd| {
            std::fs::read_link(format!("/proc/{daemon_pid}/fd/{fd}"))
                .is_ok_and(|p| p == Path::new("/dev/null"))
        });
        // It is ours: stop it by its pid and wait for it to go.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(daemon_pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) && !listeners_now(18100).is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        (status.code().unwrap_or(-1), listening, own_session, null)
    })
}

fn listeners_now(port: u16) -> String {
    let out = Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("ss");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn daemon_mode_writes_the_childs_pid_like_haproxy_needs_root() {
    let theirs = daemon(HAPROXY, "hpr-dha");
    assert_eq!(theirs, (0, true, true, true), "haproxy -D");
    let ours = daemon(PHAROS, "hpr-dph");
    assert_eq!(
        ours, theirs,
        "pharos -D: (exit, listening, setsid, stdio on /dev/null)"
    );
}

/// What a handover looked like.
#[derive(Debug, PartialEq)]
struct Handover {
    in_flight: String,
    new_client: String,
    old_status: Option<i32>,
    old_signal: Option<i32>,
    new_listens_alone: bool,
    old_stderr: Vec<String>,
}

/// An old process with a slow request in flight; a new one started with
/// `flag` (`-sf`/`-st`) and the old pid. With `nbthread` above 1 Pharos
/// listens with a socket per thread: every one of them must let go.
fn handover(
    program: &'static [&'static str],
    tag: &str,
    flag: &'static str,
    nbthread: u32,
) -> Handover {
    in_fresh_netns(tag, move |dir| {
        let busiest = Arc::new(AtomicUsize::new(0));
        let backend = slow_backend(Duration::from_millis(2500), busiest);
        let conf = dir.join("h.cfg");
        let global = format!("  nbthread {nbthread}\n");
        std::fs::write(&conf, config(18110, backend, &global)).expect("cfg");
        let conf_s = conf.display().to_string();
        let old_err = dir.join("old.err");
        let mut old = spawn(program, &["-db", "-f", &conf_s], &old_err);
        listeners(18111);
        let in_flight = client(18111, "first");
        std::thread::sleep(Duration::from_millis(300));
        let old_pid = old.id().to_string();
        let mut new = spawn(
            program,
            &["-db", "-f", &conf_s, flag, &old_pid],
            &dir.join("new.err"),
        );
        // The old process lets go of its ports at once, long before its
        // request in flight ends.
        let t0 = Instant::now();
        let mut new_listens_alone = false;
        while t0.elapsed() < Duration::from_millis(1500) && !new_listens_alone {
            new_listens_alone = [18110, 18111]
                .iter()
                .all(|p| listeners(*p) == [new.id() as i32]);
            std::thread::sleep(Duration::from_millis(20));
        }
        let new_client = client(18110, "second").join().expect("client");
        let in_flight = in_flight.join().expect("client");
        let status = wait_bounded(&mut old, Duration::from_secs(5));
        let _ = new.kill();
        let _ = new.wait();
        Handover {
            in_flight,
            new_client,
            old_status: status.and_then(|s| s.code()),
            old_signal: status.and_then(|s| s.signal()),
            new_listens_alone,
            old_stderr: lines(&old_err),
        }
    })
}

#[test]
fn soft_stop_handover_like_haproxy_needs_root() {
    let theirs = handover(HAPROXY, "hpr-sfha", "-sf", 2);
    assert_eq!(
        theirs.in_flight, "ok first",
        "haproxy finishes the old request"
    );
    assert_eq!(theirs.new_client, "ok second");
    assert_eq!(theirs.old_status, Some(0));
    assert!(theirs.new_listens_alone);
    assert!(
        theirs.old_stderr.contains(
            &"[WARNING]  (PID) : Proxy f1 stopped (cumulated conns: FE: 1, BE: 0).".into()
        ),
        "{:?}",
        theirs.old_stderr
    );
    let ours = handover(PHAROS, "hpr-sfph", "-sf", 2);
    assert_eq!(ours, theirs);
}

#[test]
fn hard_stop_handover_like_haproxy_needs_root() {
    let theirs = handover(HAPROXY, "hpr-stha", "-st", 1);
    assert_eq!(theirs.old_signal, Some(15), "haproxy dies by SIGTERM");
    assert_eq!(theirs.in_flight, "", "the request in flight is cut");
    let ours = handover(PHAROS, "hpr-stph", "-st", 1);
    assert_eq!(ours, theirs);
}

/// Uid/Gid/Groups lines of a process running `user nobody`, `group nogroup`.
fn identity(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        let global = "  user nobody\n  group nogroup\n";
        std::fs::write(&conf, config(18120, 9, global)).expect("cfg");
        let conf_s = conf.display().to_string();
        let mut p = spawn(program, &["-db", "-f", &conf_s], &dir.join("err"));
        listeners(18120);
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", p.id())).unwrap_or_default();
        let _ = p.kill();
        let _ = p.wait();
        status
            .lines()
            .filter(|l| l.starts_with("Uid:") || l.starts_with("Gid:") || l.starts_with("Groups:"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    })
}

#[test]
fn user_and_group_are_dropped_to_like_haproxy_needs_root() {
    let theirs = identity(HAPROXY, "hpr-uha");
    assert_eq!(theirs[0], "Uid: 65534 65534 65534 65534");
    assert_eq!(identity(PHAROS, "hpr-uph"), theirs);
}

/// `ulimit -n 20000` and `maxconn 20000`: the refusal and the exit code.
fn fd_refusal(program: &'static [&'static str], tag: &str) -> (Option<i32>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(18130, 9, "  maxconn 20000\n")).expect("cfg");
        let err = dir.join("err");
        // argv[0] is "haproxy" for both: the alert names it.
        let line = format!(
            "ulimit -n 20000 && exec {} -db -f {}",
            program.join(" "),
            conf.display()
        );
        let mut p = spawn(&["sh", "-c", &line], &[], &err);
        let status = wait_bounded(&mut p, Duration::from_secs(5));
        (status.and_then(|s| s.code()), lines(&err))
    })
}

#[test]
fn fd_limit_refusal_like_haproxy_needs_root() {
    let theirs = fd_refusal(HAPROXY, "hpr-fha");
    let ours = fd_refusal(PHAROS, "hpr-fph");
    if theirs.0 == Some(1) {
        // Without CAP_SYS_RESOURCE the hard limit cannot be raised: 2×20000
        // connections + 10 reserved + 2 listeners + 3 for the thread.
        assert_eq!(
            theirs.1,
            ["[ALERT]    (PID) : [haproxy.main()] Cannot raise FD limit to 40015, limit is 20000."]
        );
    }
    assert_eq!(ours, theirs);
}

/// `maxconn 2`, three clients at once on a backend that takes 700 ms: the
/// busiest moment the backend saw, and what the clients got.
fn maxconn(program: &'static [&'static str], tag: &str) -> (usize, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let busiest = Arc::new(AtomicUsize::new(0));
        let backend = slow_backend(Duration::from_millis(700), Arc::clone(&busiest));
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(18140, backend, "  maxconn 2\n")).expect("cfg");
        let conf_s = conf.display().to_string();
        let mut p = spawn(program, &["-db", "-f", &conf_s], &dir.join("err"));
        listeners(18140);
        let got = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = (0..3).map(|i| client(18140, &format!("c{i}"))).collect();
        for c in clients {
            got.lock().expect("got").push(c.join().expect("client"));
        }
        let _ = p.kill();
        let _ = p.wait();
        let mut got = got.lock().expect("got").clone();
        got.sort();
        (busiest.load(Ordering::SeqCst), got)
    })
}

#[test]
fn global_maxconn_holds_the_third_client_like_haproxy_needs_root() {
    let theirs = maxconn(HAPROXY, "hpr-mha");
    assert_eq!(
        theirs,
        (2, vec!["ok c0".into(), "ok c1".into(), "ok c2".into()])
    );
    assert_eq!(maxconn(PHAROS, "hpr-mph"), theirs);
}

/// A port held by another socket (without SO_REUSEPORT) and an address the
/// host does not have: each `bind` is named with its file and line, then
/// the run stops.
fn bind_failures(program: &'static [&'static str], tag: &str) -> (Option<i32>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let held = std::net::TcpListener::bind("127.0.0.1:18130").expect("hold the port");
        let conf = dir.join("h.cfg");
        let cfg = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend f\n  bind 127.0.0.1:18131\n  bind 127.0.0.1:18130\n  default_backend b\n\
listen l\n  bind 203.0.113.99:80\n  server s 127.0.0.1:9\n\
backend b\n  server s 127.0.0.1:9\n";
        std::fs::write(&conf, cfg).expect("cfg");
        let conf_s = conf.display().to_string();
        let err = dir.join("err");
        let mut p = spawn(program, &["-db", "-f", &conf_s], &err);
        let status = wait_bounded(&mut p, Duration::from_secs(5));
        drop(held);
        let text: Vec<String> = lines(&err)
            .into_iter()
            .map(|l| l.replace(&conf_s, "CFG"))
            .collect();
        (status.and_then(|s| s.code()), text)
    })
}

#[test]
fn bind_failures_are_named_like_haproxy_needs_root() {
    let theirs = bind_failures(HAPROXY, "hpr-bha");
    assert_eq!(theirs.0, Some(1));
    assert!(
        theirs
            .1
            .iter()
            .any(|l| l.contains("Binding [CFG:8] for frontend f")),
        "{:?}",
        theirs.1
    );
    assert_eq!(bind_failures(PHAROS, "hpr-bph"), theirs);
}

/// The inode of the socket listening on 127.0.0.1:`port` (`ss -e`).
fn listening_inode(port: u16) -> Option<String> {
    let out = Command::new("ss")
        .args(["-Hltne", &format!("sport = :{port}")])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let ino = text.split("ino:").nth(1)?.split(' ').next()?;
    Some(ino.to_string())
}

/// What a `-x` takeover showed: whether the new process listens on the
/// very socket the old one had, how the old one ended, and the answer a
/// client got through the new one.
#[derive(Debug, PartialEq)]
struct Takeover {
    same_socket: bool,
    old_status: Option<i32>,
    answer: String,
}

/// `old` runs with `expose-fd listeners` on its stats socket; `new` starts
/// with `-x <that socket> -sf <old pid>`.
fn takeover(old: &'static [&'static str], new: &'static [&'static str], tag: &str) -> Takeover {
    in_fresh_netns(tag, move |dir| {
        let backend = slow_backend(Duration::ZERO, Arc::default());
        let conf = dir.join("h.cfg");
        let sock = dir.join("admin.sock").display().to_string();
        let global = format!("  stats socket {sock} level admin expose-fd listeners\n");
        std::fs::write(&conf, config(18130, backend, &global)).expect("cfg");
        let conf_s = conf.display().to_string();
        let mut first = spawn(old, &["-db", "-f", &conf_s], &dir.join("old.err"));
        listeners(18130);
        let before = listening_inode(18130);
        let pid = first.id().to_string();
        let args = ["-db", "-f", &conf_s, "-x", &sock, "-sf", &pid];
        let mut second = spawn(new, &args, &dir.join("new.err"));
        let status = wait_bounded(&mut first, Duration::from_secs(5));
        let listening = listeners(18130) == [second.id() as i32];
        let after = listening_inode(18130);
        let answer = client(18130, "x").join().expect("client");
        let _ = second.kill();
        let _ = second.wait();
        Takeover {
            same_socket: listening && before.is_some() && before == after,
            old_status: status.and_then(|s| s.code()),
            answer,
        }
    })
}

#[test]
fn listening_sockets_pass_with_x_between_haproxy_and_pharos_needs_root() {
    let theirs = takeover(HAPROXY, HAPROXY, "hpr-xhh");
    assert_eq!(
        theirs,
        Takeover {
            same_socket: true,
            old_status: Some(0),
            answer: "ok x".into()
        },
        "haproxy to haproxy"
    );
    assert_eq!(
        takeover(HAPROXY, PHAROS, "hpr-xhp"),
        theirs,
        "haproxy to pharos"
    );
    assert_eq!(
        takeover(PHAROS, HAPROXY, "hpr-xph"),
        theirs,
        "pharos to haproxy"
    );
    assert_eq!(
        takeover(PHAROS, PHAROS, "hpr-xpp"),
        theirs,
        "pharos to pharos"
    );
}

/// `-x` naming a socket nobody listens on: the exit status and stderr.
fn takeover_refused(program: &'static [&'static str], tag: &str) -> (Option<i32>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(18135, 9, "")).expect("cfg");
        let conf_s = conf.display().to_string();
        let sock = dir.join("none.sock").display().to_string();
        let err = dir.join("err");
        let mut p = spawn(program, &["-db", "-f", &conf_s, "-x", &sock], &err);
        let status = wait_bounded(&mut p, Duration::from_secs(5)).and_then(|s| s.code());
        let text = lines(&err)
            .into_iter()
            .map(|l| l.replace(&sock, "SOCK"))
            .collect();
        (status, text)
    })
}

#[test]
fn x_without_an_old_process_fails_like_haproxy_needs_root() {
    let theirs = takeover_refused(HAPROXY, "hpr-xrh");
    assert_eq!(theirs.0, Some(1), "haproxy: {theirs:?}");
    assert_eq!(takeover_refused(PHAROS, "hpr-xrp"), theirs);
}
