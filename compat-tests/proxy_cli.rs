//! The stats socket (CLI) and the stats page's admin form against haproxy
//! 2.6 (needs root; each run in its own network namespace `ptest-hsk…`).
//! The same command sequence goes to both programs' sockets (UNIX at each
//! level, and TCP); the answers are compared after normalizing what varies:
//! `show servers state`'s seconds since the last change and the backends'
//! ephemeral ports, `show stat` cut to
//! the columns the commands change (status, weight, act, bck), `show info`
//! to its keys. Between commands, requests through the frontend show that
//! MAINT, DRAIN and weight 0 take a server out of balancing in both.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "proxy_harness.rs"]
mod harness;
use harness::{http_backend, in_fresh_netns, start};

const PORT: u16 = 18200;
const STATS: u16 = 18201;
const CLI: u16 = 18202;
/// Where the backend logs its servers' state changes.
const SYSLOG: u16 = 18203;

/// The datagrams received so far, as `<PRI> message` (date, tag and pid cut).
fn logged(sock: &std::net::UdpSocket) -> String {
    let mut out = String::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = sock.recv(&mut buf) {
        let line = String::from_utf8_lossy(&buf[..n]);
        let pri = line.split('>').next().unwrap_or_default();
        let msg = line.split("]: ").nth(1).unwrap_or_default();
        out.push_str(&format!("{pri}> {}\n", msg.trim_end()));
    }
    out
}

fn config(dir: &Path, s1: u16, s2: u16) -> String {
    let d = dir.display();
    format!(
        "global\n  stats socket {d}/admin.sock mode 600 level admin\n  stats socket {d}/oper.sock level operator\n  stats socket {d}/user.sock mode 600 level user\n  stats socket ipv4@127.0.0.1:{CLI} level admin\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:{PORT}\n  default_backend be\nlisten st\n  bind 127.0.0.1:{STATS}\n  stats enable\n  stats uri /st\n  stats admin if TRUE\nbackend be\n  log 127.0.0.1:{SYSLOG} local0\n  balance roundrobin\n  server s1 127.0.0.1:{s1} weight 2\n  server s2 127.0.0.1:{s2}\n"
    )
}

/// Sends `input` on a fresh connection, half-closes, reads to EOF.
fn exchange(mut c: impl Read + Write, input: &str, shut: impl FnOnce(&mut dyn Read)) -> String {
    let _ = c.write_all(input.as_bytes());
    let mut out = Vec::new();
    shut(&mut c);
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// One command line on the UNIX socket `name` (`admin`, `oper`, `user`).
fn unix(dir: &Path, name: &str, input: &str) -> String {
    let Ok(c) = UnixStream::connect(dir.join(format!("{name}.sock"))) else {
        return format!("no {name} socket");
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
    let half = c.try_clone().expect("clone");
    exchange(c, input, move |_| {
        let _ = half.shutdown(Shutdown::Write);
    })
}

/// One command line on the TCP socket.
fn tcp(input: &str) -> String {
    let Ok(c) = TcpStream::connect(("127.0.0.1", CLI)) else {
        return "no tcp socket".into();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
    let half = c.try_clone().expect("clone");
    exchange(c, input, move |_| {
        let _ = half.shutdown(Shutdown::Write);
    })
}

/// Which servers answered `n` requests, counted per server.
fn spread(n: usize) -> String {
    let mut got: Vec<String> = (0..n)
        .map(|_| {
            let Ok(mut c) = TcpStream::connect(("127.0.0.1", PORT)) else {
                return "no connection".into();
            };
            let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
            let text = String::from_utf8_lossy(&out).into_owned();
            text.lines().last().unwrap_or("").to_string()
        })
        .collect();
    got.sort();
    got.join(" ")
}

/// The admin form: status line and location of the answer.
fn post(form: &str) -> String {
    let Ok(mut c) = TcpStream::connect(("127.0.0.1", STATS)) else {
        return "no connection".into();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
    let req = format!(
        "POST /st HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    let _ = c.write_all(req.as_bytes());
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    text.lines()
        .filter(|l| l.starts_with("HTTP/") || l.to_lowercase().starts_with("location:"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `show stat` rows of backend `be`: name, status, weight, act, bck.
fn stat_be(csv: &str) -> String {
    csv.lines()
        .filter(|l| l.starts_with("be,") || l.starts_with("fe,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // svname, slim, status, weight, act, bck.
            [1, 6, 17, 18, 19, 20]
                .iter()
                .map(|&i| f.get(i).copied().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `show servers state` without the seconds since the last change and the
/// servers' ports.
fn state(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(' ').collect();
            if f.len() > 18 && !l.starts_with('#') {
                // Seconds since the change; the backends' ephemeral ports.
                f[9] = "T";
                f[18] = "P";
            }
            f.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `show info` keys, in order.
fn info_keys(text: &str) -> String {
    text.lines()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(",")
}

fn scenario(program: &'static [&'static str], tag: &str) -> Vec<(String, String)> {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let s1 = http_backend("s1", 0, Arc::clone(&log), Arc::default());
        let s2 = http_backend("s2", 0, Arc::clone(&log), Arc::default());
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(dir, s1, s2)).expect("cfg");
        let syslog = std::net::UdpSocket::bind(("127.0.0.1", SYSLOG)).expect("syslog");
        syslog
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut proxy = start(program, &conf, PORT);
        std::thread::sleep(Duration::from_millis(300));
        let mut t: Vec<(String, String)> = Vec::new();
        let mut note = |k: &str, v: String| t.push((k.to_string(), v));
        for level in ["admin", "oper", "user"] {
            note(&format!("help@{level}"), unix(dir, level, "help\n"));
            note(
                &format!("level@{level}"),
                unix(dir, level, "show cli level\n"),
            );
            note(
                &format!("disable@{level}"),
                unix(dir, level, "disable server be/s1\n"),
            );
        }
        note("help words", unix(dir, "admin", "help show servers\n"));
        note("typo", unix(dir, "admin", "show servers stat\n"));
        note("empty line", unix(dir, "admin", "\n"));
        note("info keys", info_keys(&unix(dir, "user", "show info\n")));
        note("spread", spread(6));
        note("disable s1", tcp("disable server be/s1\n"));
        note("stat after disable", stat_be(&tcp("show stat\n")));
        note(
            "state after disable",
            state(&tcp("show servers state be\n")),
        );
        note("spread after disable", spread(4));
        note("enable s1", tcp("enable server be/s1\n"));
        note("stat after enable", stat_be(&tcp("show stat\n")));
        note("spread after enable", spread(6));
        note("weight 0", tcp("set weight be/s1 0; get weight be/s1\n"));
        note("stat weight 0", stat_be(&tcp("show stat\n")));
        note("spread weight 0", spread(4));
        note(
            "weight 50%",
            tcp("set weight be/s1 50%; get weight be/s1\n"),
        );
        note(
            "weight back",
            tcp("set server be/s1 weight 2; get weight be/s1\n"),
        );
        note("maint s2", tcp("set server be/s2 state maint\n"));
        note("state maint", state(&tcp("show servers state\n")));
        note("stat maint", stat_be(&tcp("show stat\n")));
        note("spread maint", spread(4));
        note("drain s2", tcp("set server be/s2 state drain\n"));
        note("state drain", state(&tcp("show servers state be\n")));
        note("stat drain", stat_be(&tcp("show stat\n")));
        note("spread drain", spread(4));
        note("ready s2", tcp("set server be/s2 state ready\n"));
        let errors = [
            "set weight be/s1 300",
            "set weight nope/s1 3",
            "set weight be/zz 3",
            "set weight be 3",
            "set weight be/s1",
            "set weight be/s1 abc",
            "set server be/s1 state foo",
            "set server be/s1",
            "get weight be/zz",
            "show servers state nope",
            "get weight be/s1; get weight be/s2",
        ];
        for e in errors {
            note(e, tcp(&format!("{e}\n")));
        }
        note("user level", tcp("user; set weight be/s1 1; operator\n"));
        note(
            "prompt",
            unix(
                dir,
                "admin",
                "prompt\nget weight be/s2\nprompt\nget weight be/s1\n",
            ),
        );
        note(
            "quit",
            unix(dir, "admin", "prompt\nquit\nget weight be/s1\n"),
        );
        note("post maint", post("s=s1&action=maint&b=%234"));
        note("state post", state(&tcp("show servers state be\n")));
        note("spread post", spread(4));
        note("post ready", post("s=s1&s=zz&action=ready&b=be"));
        note("post none", post("s=s1&b=%234"));
        note("post errp", post("s=s1&action=bogus&b=%234"));
        note("post nobackend", post("s=s1&action=ready&b=%239"));
        note("spread end", spread(6));
        // The admin changes above, as the backend logged them.
        note("log", logged(&syslog));
        let _ = proxy.kill();
        let _ = proxy.wait();
        t
    })
}

#[test]
fn cli_and_admin_form_match_haproxy_needs_root() {
    let theirs = scenario(&["/usr/sbin/haproxy", "-db"], "hsk-h");
    let ours = scenario(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "hsk-p");
    let mut differ = Vec::new();
    for ((k, a), (_, b)) in theirs.iter().zip(&ours) {
        if a != b {
            differ.push(format!("== {k}\n-- haproxy:\n{a}\n-- pharos:\n{b}"));
        }
    }
    // Sanity: the oracle did what the scenario expects, so the comparison
    // means something.
    let get = |k: &str| &theirs.iter().find(|(n, _)| n == k).expect(k).1;
    assert!(get("spread after disable").split(' ').all(|s| s == "s2"));
    assert!(get("spread maint").split(' ').all(|s| s == "s1"));
    assert!(
        get("post maint").contains("st=DONE"),
        "{}",
        get("post maint")
    );
    assert!(
        get("log").contains("<129> Server be/s1 is going DOWN for maintenance."),
        "{}",
        get("log")
    );
    assert!(
        differ.is_empty(),
        "{} differences:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// A refused server with `retries 2`, one that never answers (`timeout
/// server`), and a refused one with `option redispatch` (2.6 goes to the
/// other server at once): the answers and the error columns of `show stat`
/// (econ, eresp, wretr, wredis, hrsp_5xx) for each row.
fn errors_run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let live = http_backend("live", 0, Arc::default(), Arc::default());
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let slow = harness::serve_each_connection(0, Duration::from_secs(20), Arc::default(), {
            let held = Arc::clone(&held);
            move |c| held.lock().expect("held").push(c)
        });
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("dead")
            .local_addr()
            .expect("addr")
            .port();
        let conf = dir.join("h.cfg");
        let d = dir.display();
        let cfg = format!(
            "global\n  stats socket {d}/admin.sock level admin\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 500ms\n  retries 2\nfrontend fe\n  bind 127.0.0.1:{PORT}\n  use_backend slow if {{ path_beg /slow }}\n  use_backend redis if {{ path_beg /redis }}\n  default_backend dead\nbackend dead\n  server d1 127.0.0.1:{dead}\n  server d2 127.0.0.1:{live} backup\nbackend slow\n  server s1 127.0.0.1:{slow}\nbackend redis\n  option redispatch\n  balance first\n  server r1 127.0.0.1:{dead}\n  server r2 127.0.0.1:{live}\n"
        );
        std::fs::write(&conf, cfg).expect("cfg");
        let mut proxy = start(program, &conf, PORT);
        let get = |path: &str| {
            exchange(
                TcpStream::connect(("127.0.0.1", PORT)).expect("connect"),
                &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
                |_| {},
            )
        };
        let mut out: Vec<String> = ["/x", "/slow", "/redis"]
            .iter()
            .map(|p| get(p).lines().next().unwrap_or_default().to_string())
            .collect();
        out.extend(
            unix(dir, "admin", "show stat\n")
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .map(|l| {
                    let f: Vec<&str> = l.split(',').collect();
                    [0, 1, 13, 14, 15, 16, 43]
                        .iter()
                        .map(|&i| f.get(i).copied().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(",")
                }),
        );
        let _ = proxy.kill();
        let _ = proxy.wait();
        out
    })
}

#[test]
fn error_counters_match_haproxy_needs_root() {
    let theirs = errors_run(&["/usr/sbin/haproxy", "-db"], "hec-h");
    assert!(
        theirs.contains(&"dead,BACKEND,1,0,2,0,1".to_string()),
        "{theirs:#?}"
    );
    let ours = errors_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "hec-p");
    assert_eq!(ours, theirs);
}

/// Requests refused or answered by rules: `http-request deny` in a
/// `listen`, a frontend and a backend, `return` and `redirect`, `tcp-request
/// connection reject` (a reset) and `tcp-request content reject` (closed,
/// logged `PR`) in both modes. What each client saw, the `show stat`
/// columns they count (dreq, dcon, stot, hrsp_2xx…4xx) and the log lines.
fn rules_run(program: &'static [&'static str], tag: &str) -> Vec<String> {
    in_fresh_netns(tag, move |dir| {
        let syslog = std::net::UdpSocket::bind(("127.0.0.1", SYSLOG)).expect("syslog");
        syslog
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let s1 = http_backend("s1", 0, Arc::default(), Arc::default());
        let d = dir.display();
        let conf = dir.join("r.cfg");
        std::fs::write(
            &conf,
            format!(
                "global\n  stats socket {d}/admin.sock level admin\n  log 127.0.0.1:{SYSLOG} local0\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 3s\n  timeout server 3s\nlisten l\n  bind 127.0.0.1:18210\n  http-request deny if {{ path /d }}\n  http-request return status 200 content-type text/plain string r if {{ path /r }}\n  http-request redirect location /x if {{ path /x }}\n  server s1 127.0.0.1:{s1}\nfrontend f\n  bind 127.0.0.1:18211\n  http-request deny if {{ path /fd }}\n  default_backend b\nbackend b\n  http-request deny if {{ path /bd }}\n  server s1 127.0.0.1:{s1}\nfrontend conn\n  bind 127.0.0.1:18212\n  tcp-request connection reject if {{ src 127.0.0.1 }}\n  default_backend b\nfrontend content\n  bind 127.0.0.1:18213\n  tcp-request content reject if {{ src 127.0.0.1 }}\n  default_backend b\nlisten tcpc\n  mode tcp\n  option tcplog\n  bind 127.0.0.1:18214\n  tcp-request content reject if {{ src 127.0.0.1 }}\n  server s1 127.0.0.1:{s1}\n"
            ),
        )
        .expect("cfg");
        let mut proxy = start(program, &conf, 18214);
        let ask = |port: u16, path: &str| -> String {
            let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else {
                return "refused".into();
            };
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let req = format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            // A reset may come back on the write (the socket then reads as
            // closed) or on the read, whichever runs after it arrived.
            let reset = |e: &std::io::Error| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                )
            };
            if c.write_all(req.as_bytes()).is_err_and(|e| reset(&e)) {
                return "reset".into();
            }
            let mut got = Vec::new();
            match c.read_to_end(&mut got) {
                Err(e) if reset(&e) => "reset".into(),
                _ if got.is_empty() => "closed".into(),
                _ => String::from_utf8_lossy(&got)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            }
        };
        let mut out: Vec<String> = [
            (18210, "/d"),
            (18210, "/r"),
            (18210, "/x"),
            (18210, "/ok"),
            (18211, "/fd"),
            (18211, "/bd"),
            (18211, "/ok"),
            (18212, "/c"),
            (18213, "/t"),
            (18214, "/t"),
        ]
        .iter()
        .map(|(port, path)| format!("{port}{path}: {}", ask(*port, path)))
        .collect();
        std::thread::sleep(Duration::from_millis(300));
        let csv = unix(dir, "admin", "show stat\n");
        let header: Vec<String> = csv
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .map(str::to_string)
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
        let cols = ["dreq", "dcon", "stot", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx"].map(col);
        for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() > 40 && (f[1] == "FRONTEND" || f[1] == "BACKEND") {
                let picked: Vec<&str> = cols.iter().map(|&c| f[c]).collect();
                out.push(format!("{},{},{}", f[0], f[1], picked.join(",")));
            }
        }
        // The log lines without dates, client ports and timers, sorted: a
        // refused stream's line may leave after the next client's.
        let mut lines: Vec<String> = Vec::new();
        for line in logged(&syslog).lines() {
            let words: Vec<&str> = line
                .split(' ')
                .filter(|w| !w.starts_with("127.0.0.1:") && !w.starts_with('['))
                .filter(|w| {
                    !w.contains('/') || w.contains('<') || w.contains("/s1") || w.starts_with('"')
                })
                .collect();
            lines.push(words.join(" "));
        }
        lines.sort();
        out.extend(lines);
        let _ = proxy.kill();
        let _ = proxy.wait();
        out
    })
}

#[test]
fn rule_refusals_are_answered_and_counted_like_haproxy_needs_root() {
    let theirs = rules_run(&["haproxy", "-db"], "hsk-ra");
    assert!(
        theirs.iter().any(|l| l == "18212/c: reset")
            && theirs.iter().any(|l| l == "18213/t: closed"),
        "haproxy: {theirs:#?}"
    );
    let ours = rules_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "hsk-rp");
    assert_eq!(ours, theirs);
}
