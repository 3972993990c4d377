//! Health checks against haproxy 2.6, the seed's scenario (needs root;
//! each run in its own network namespace): `listen webfarm`, roundrobin,
//! `web1`/`web2` with `check inter 200 rise 2 fall 3` (the seed's 2000 ms
//! shortened). Requests alternate; web1 dies → after its checks fail every
//! request goes to web2, and haproxy's DOWN line is printed; web1 returns
//! → after `rise` good checks the alternation is back, with the UP line.
//! The same server sequences and the same log lines (pid and durations
//! aside) from Pharos as from haproxy.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "proxy_harness.rs"]
mod harness;
use harness::{http_backend, in_fresh_netns, start_logged};

const PORT: u16 = 18100;

fn config(s1: u16, s2: u16) -> String {
    format!(
        "global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nlisten webfarm\n  bind 127.0.0.1:{PORT}\n  balance roundrobin\n  server web1 127.0.0.1:{s1} check inter 200 rise 2 fall 3\n  server web2 127.0.0.1:{s2} check inter 200 rise 2 fall 3\n"
    )
}

/// Four requests, each on its own connection: which server answered.
fn four() -> Vec<String> {
    (0..4)
        .map(|_| {
            let Ok(mut c) = TcpStream::connect(("127.0.0.1", PORT)) else {
                return "no connection".into();
            };
            let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
            let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: farm\r\nConnection: close\r\n\r\n");
            let mut got = Vec::new();
            let _ = c.read_to_end(&mut got);
            let text = String::from_utf8_lossy(&got);
            text.lines().last().unwrap_or("").to_string()
        })
        .collect()
}

/// Log lines without the pid and with durations set to 0.
fn normalized(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Server webfarm/") || l.contains("no server available"))
        .map(|l| {
            let l = match (l.find('('), l.find(')')) {
                (Some(a), Some(b)) if a < b => format!("{}(PID{}", &l[..a], &l[b..]),
                _ => l.to_string(),
            };
            let l = match l.find("check duration: ") {
                Some(i) => {
                    let rest = &l[i + 16..];
                    let end = rest.find("ms").unwrap_or(0);
                    format!("{}check duration: 0{}", &l[..i], &rest[end..])
                }
                None => l,
            };
            l.replace("Connection reset by peer", "Connection refused")
        })
        .collect()
}

fn scenario(program: &'static [&'static str], tag: &str) -> (Vec<Vec<String>>, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop1 = Arc::new(AtomicBool::new(false));
        let s1 = http_backend("s1", 0, Arc::clone(&log), Arc::clone(&stop1));
        let s2 = http_backend("s2", 0, Arc::clone(&log), Arc::default());
        let conf = dir.join("h.cfg");
        std::fs::write(&conf, config(s1, s2)).expect("cfg");
        let stderr = dir.join("stderr");
        let mut proxy = start_logged(program, &conf, PORT, &stderr);
        std::thread::sleep(Duration::from_millis(800));
        let mut rounds = vec![four()];
        // web1 dies: three failed checks at 200 ms.
        stop1.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(1500));
        rounds.push(four());
        // web1 is back: two good checks.
        let back = Arc::new(AtomicBool::new(false));
        http_backend("s1", s1, Arc::clone(&log), back);
        std::thread::sleep(Duration::from_millis(1500));
        rounds.push(four());
        let _ = proxy.kill();
        let _ = proxy.wait();
        let text = std::fs::read_to_string(&stderr).unwrap_or_default();
        (rounds, normalized(&text))
    })
}

#[test]
fn seed_failover_by_health_checks_matches_haproxy_needs_root() {
    let theirs = scenario(&["haproxy", "-db"], "cha");
    let ours = scenario(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "cph");
    assert_eq!(
        theirs.0[1],
        vec!["s2"; 4],
        "haproxy: all to web2 while web1 is down"
    );
    assert_eq!(
        ours.0, theirs.0,
        "which server answered, before/during/after"
    );
    assert_eq!(ours.1, theirs.1, "the DOWN/UP log lines");
}

/// The seed's `/hadmin` (`stats auth niem:niem`): without credentials the
/// same 401 as haproxy; with them a CSV whose rows, statuses, weights,
/// server counts and check statuses are haproxy's.
fn stats_run(program: &'static [&'static str], tag: &str) -> (String, Vec<String>) {
    in_fresh_netns(tag, move |dir| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let s1 = http_backend("s1", 0, Arc::clone(&log), Arc::default());
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let conf = dir.join("s.cfg");
        let cfg = config(s1, dead).replace(
            "  balance roundrobin\n",
            "  balance roundrobin\n  stats uri /hadmin\n  stats auth niem:niem\n  stats realm Admin\n",
        );
        std::fs::write(&conf, cfg).expect("cfg");
        let mut proxy = start_logged(program, &conf, PORT, &dir.join("stderr"));
        std::thread::sleep(Duration::from_millis(900));
        let get = |auth: &str| {
            let mut c = TcpStream::connect(("127.0.0.1", PORT)).expect("connect");
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = c.write_all(
                format!(
                    "GET /hadmin;csv HTTP/1.1\r\nHost: farm\r\n{auth}Connection: close\r\n\r\n"
                )
                .as_bytes(),
            );
            let mut got = Vec::new();
            let _ = c.read_to_end(&mut got);
            String::from_utf8_lossy(&got).into_owned()
        };
        let denied = get("");
        let csv = get("Authorization: Basic bmllbTpuaWVt\r\n");
        let _ = proxy.kill();
        let _ = proxy.wait();
        // pxname, svname, status, weight, act, bck, check_status columns.
        let rows = csv
            .lines()
            .filter(|l| l.starts_with("webfarm,") || l.starts_with("# pxname"))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                [0, 1, 17, 18, 19, 20, 36]
                    .iter()
                    .map(|&i| f.get(i).copied().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        (denied, rows)
    })
}

#[test]
fn seed_stats_page_auth_and_csv_match_haproxy_needs_root() {
    let theirs = stats_run(&["haproxy", "-db"], "sha");
    let ours = stats_run(&[env!("CARGO_BIN_EXE_pharos"), "haproxy", "-db"], "sph");
    assert!(theirs.0.starts_with("HTTP/1.1 401"), "{}", theirs.0);
    assert_eq!(ours.0, theirs.0, "the 401 without credentials");
    assert!(theirs.1.len() >= 4, "haproxy rows: {:?}", theirs.1);
    assert_eq!(ours.1, theirs.1, "CSV rows");
}
