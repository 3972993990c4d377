//! Forged and malformed adverts on the wire (needs root): the same corpus
//! goes to the real keepalived 2.2.7 and to Pharos, each alone and MASTER
//! (priority 100) in its namespace, sent from the other namespace with
//! priority 254 — any one accepted would make the target BACKUP. Each is
//! dropped with no state change, and counted: the counters of the SIGUSR2
//! stats file (`/tmp/keepalived.stats`) are equal for both. A valid advert
//! at the end makes both BACKUP (the corpus could have).

use pharos::vrrp::net::Ipv4Socket;
use pharos::vrrp::packet::{Advert, ChecksumContext, Version};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

#[path = "vrrp_pair.rs"]
mod pair;
use pair::*;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

fn conf() -> String {
    format!(
        "vrrp_instance VI_M {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass secret12\n  }}\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
    )
}

/// One corpus entry: what it is, the VRRP bytes and the TTL to send with.
struct Forged {
    what: &'static str,
    bytes: Vec<u8>,
    ttl: u8,
}

/// Emits `a` from `src` to the group, then lets `edit` break it; the
/// checksum is recomputed after the edit unless `keep_checksum`.
fn forge(src: Ipv4Addr, a: &Advert, edit: impl Fn(&mut Vec<u8>), fix_checksum: bool) -> Vec<u8> {
    let ck = ChecksumContext {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(GROUP),
        v3_as_v2: false,
    };
    let mut buf = vec![0u8; a.buffer_len()];
    let n = a.emit(&mut buf, &ck);
    buf.truncate(n);
    edit(&mut buf);
    if fix_checksum && buf.len() >= 8 {
        buf[6] = 0;
        buf[7] = 0;
        let sum = pharos::vrrp::packet::checksum(&buf, Version::V2, &ck);
        buf[6..8].copy_from_slice(&sum.to_be_bytes());
    }
    buf
}

fn corpus(src: Ipv4Addr) -> Vec<Forged> {
    let a = pass_advert(254);
    let f = |what, edit: &dyn Fn(&mut Vec<u8>), fix, ttl| Forged {
        what,
        bytes: forge(src, &a, edit, fix),
        ttl,
    };
    vec![
        f("TTL 64", &|_| {}, true, 64),
        f("bad checksum", &|b| b[6] ^= 0x55, false, 255),
        f("wrong password", &|b| b[12] = b'X', true, 255),
        f("auth type 0 (mismatch)", &|b| b[4] = 0, true, 255),
        f("auth type 3 (invalid)", &|b| b[4] = 3, true, 255),
        f("interval 2 s in v2", &|b| b[5] = 2, true, 255),
        f("truncated", &|b| b.truncate(b.len() - 6), true, 255),
        f("version 3", &|b| b[0] = 0x31, true, 255),
        f("type 2", &|b| b[0] = 0x22, true, 255),
        f("wrong address count", &|b| b[3] = 2, true, 255),
    ]
}

/// Sends the corpus (3 times each) from namespace `from`.
fn send_corpus(from: &str, valid_too: bool) {
    Pair::in_ns(from, move || {
        let mut sock = Ipv4Socket::open("eth0", None, Some(GROUP)).expect("raw socket");
        let src = sock.source();
        for _ in 0..3 {
            for f in corpus(src) {
                sock.send(&f.bytes, GROUP, f.ttl)
                    .unwrap_or_else(|e| panic!("send {}: {e}", f.what));
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if valid_too {
            let good = forge(src, &pass_advert(254), |_| {}, false);
            for _ in 0..2 {
                sock.send(&good, GROUP, 255).expect("send");
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    })
    .join()
    .expect("sender");
}

/// The stats file as `Section/Key` → value (two levels of indentation).
fn parse_stats(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        if value.trim().is_empty() {
            section = key.to_string();
        } else if let Ok(v) = value.trim().parse() {
            let name = if indent >= 4 {
                format!("{section}/{key}")
            } else {
                key.to_string()
            };
            out.insert(name, v);
        }
    }
    out
}

/// Asks for the stats file (SIGUSR2 to `pid`) and reads it.
fn stats(pid: u32) -> BTreeMap<String, u64> {
    let path = std::path::Path::new("/tmp/keepalived.stats");
    let _ = std::fs::remove_file(path);
    let p = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
    nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGUSR2).expect("SIGUSR2");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.contains("Priority Zero")
        {
            return parse_stats(&text);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no stats file after SIGUSR2");
}

/// The counters that must agree (sent adverts and master counts depend on
/// timing).
fn errors(m: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    m.iter()
        .filter(|(k, _)| {
            k.starts_with("Packet Errors/")
                || k.starts_with("Authentication Errors/")
                || k.as_str() == "Advertisements/Received"
                || k.as_str() == "Priority Zero/Received"
        })
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[test]
fn forged_adverts_are_dropped_and_counted_like_keepalived_needs_root() {
    let mut pair = Pair::new("pm");
    // keepalived first: MASTER alone, corpus from the Pharos namespace.
    pair.start_keepalived(&conf());
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_addr(&p.ka, VIP))
            .is_some()
    );
    send_corpus(&pair.ph, false);
    assert!(pair.has_addr(&pair.ka, VIP), "keepalived stays MASTER");
    let ka_pid = pair.keepalived.as_ref().expect("keepalived").id();
    let theirs = stats(ka_pid);
    if let Some(mut ka) = pair.keepalived.take() {
        stop(&mut ka, nix::sys::signal::Signal::SIGTERM);
    }
    // Pharos the same way, from the keepalived namespace.
    let mut ph = pair.start_pharos(&conf());
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_addr(&p.ph, VIP))
            .is_some()
    );
    send_corpus(&pair.ka, false);
    assert!(pair.has_addr(&pair.ph, VIP), "Pharos stays MASTER");
    let ours = stats(ph.id());
    eprintln!("keepalived: {theirs:?}\npharos: {ours:?}");
    assert_eq!(errors(&ours), errors(&theirs));
    assert!(
        errors(&ours).values().sum::<u64>() >= 20,
        "the corpus is counted: {ours:?}"
    );
    // The control: the same advert, unbroken, is obeyed.
    send_corpus(&pair.ka, true);
    assert!(
        pair.wait_for(Duration::from_secs(2), |p| !p.has_addr(&p.ph, VIP))
            .is_some(),
        "a valid priority-254 advert makes Pharos BACKUP"
    );
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
}
