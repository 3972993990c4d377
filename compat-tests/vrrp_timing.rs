//! Failover timing at the RFC bound (needs root): keepalived 2.2.7 is the
//! MASTER (priority 150), Pharos the BACKUP (100). Sniffers in both
//! namespaces timestamp adverts on one clock: the last advert heard from
//! the master, the first one Pharos sends as the new master.
//! - `kill -9` of keepalived's VRRP process: Pharos's first advert comes
//!   `3 × advert_int + skew` after the last one, ± 50 ms — at advert_int
//!   1 s (v2: 3.609 s) and 0.1 s (v3: 0.361 s);
//! - a clean stop (priority 0): Pharos takes over after `skew` ± 50 ms.

use pharos::vrrp::net::Ipv4Socket;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "vrrp_pair.rs"]
mod pair;
use pair::*;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const KA: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
const PH: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));

/// Adverts heard in one namespace: (when, source, priority).
type Heard = Vec<(Instant, IpAddr, u8)>;

/// Records every advert arriving in `ns` until `done` is set.
fn sniff(ns: &str, done: Arc<AtomicBool>) -> std::thread::JoinHandle<Heard> {
    Pair::in_ns(ns, move || {
        let sock = Ipv4Socket::open("eth0", None, Some(GROUP)).expect("raw socket");
        let mut heard = Vec::new();
        let mut buf = [0u8; 1500];
        let t0 = Instant::now();
        while !done.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(r)) = sock.recv(&mut buf, Some(Duration::from_millis(20))) {
                let at = Instant::now();
                if let Some(&prio) = buf.get(r.payload.0 + 2) {
                    heard.push((at, r.src, prio));
                }
            }
        }
        heard
    })
}

fn conf(priority: u8, version: u8, centis: u32) -> String {
    let int = if centis % 100 == 0 {
        format!("{}", centis / 100)
    } else {
        format!("{:.2}", f64::from(centis) / 100.0)
    };
    format!(
        "vrrp_instance VI_T {{\n  interface eth0\n  virtual_router_id 77\n  priority {priority}\n  version {version}\n  advert_int {int}\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
    )
}

/// Runs one failover of keepalived (master) to Pharos (backup) and
/// returns the gap between keepalived's last advert and Pharos's first
/// advert as master.
fn failover(tag: &str, version: u8, centis: u32, signal: nix::sys::signal::Signal) -> Duration {
    let mut pair = Pair::new(tag);
    pair.start_keepalived(&conf(150, version, centis));
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_addr(&p.ka, VIP))
            .is_some(),
        "keepalived MASTER"
    );
    let mut ph = pair.start_pharos(&conf(100, version, centis));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!pair.has_addr(&pair.ph, VIP), "Pharos BACKUP");
    let done = Arc::new(AtomicBool::new(false));
    let in_ph = sniff(&pair.ph, Arc::clone(&done));
    let in_ka = sniff(&pair.ka, Arc::clone(&done));
    // Hear at least one advert of the master before it dies.
    std::thread::sleep(Duration::from_millis(1500));
    let vrrp = pair.keepalived_vrrp_pid().expect("keepalived VRRP pid");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(vrrp).expect("pid"));
    nix::sys::signal::kill(pid, signal).expect("signal keepalived's VRRP process");
    let took = pair.wait_for(Duration::from_secs(6), |p| p.has_addr(&p.ph, VIP));
    std::thread::sleep(Duration::from_millis(200));
    done.store(true, Ordering::Relaxed);
    let from_ka = in_ph.join().expect("sniffer");
    let from_ph = in_ka.join().expect("sniffer");
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    assert!(took.is_some(), "Pharos takes over");
    let last = from_ka
        .iter()
        .filter(|(_, src, _)| *src == KA)
        .map(|(at, _, _)| *at)
        .max()
        .expect("adverts from keepalived");
    let first = from_ph
        .iter()
        .filter(|(at, src, _)| *src == PH && *at > last)
        .map(|(at, _, _)| *at)
        .min()
        .expect("Pharos advertises as MASTER");
    first - last
}

fn assert_near(got: Duration, bound_us: u64, what: &str) {
    let got_us = i64::try_from(got.as_micros()).expect("µs");
    let dev = got_us - i64::try_from(bound_us).expect("µs");
    eprintln!("{what}: {got:?}, bound {bound_us} µs, deviation {dev} µs");
    assert!(
        dev.abs() <= 50_000,
        "{what}: {got:?} vs bound {bound_us} µs"
    );
}

/// Skew for priority 100: (256 − 100)/256 of the interval (v2: of 1 s).
fn skew_us(centis: u64) -> u64 {
    156 * centis * 10_000 / 256
}

#[test]
fn kill_9_failover_v2_1s_within_50ms_of_rfc_bound_needs_root() {
    let gap = failover("pt1", 2, 100, nix::sys::signal::Signal::SIGKILL);
    assert_near(gap, 3_000_000 + skew_us(100), "v2 advert_int 1, kill -9");
}

#[test]
fn kill_9_failover_v3_100ms_within_50ms_of_rfc_bound_needs_root() {
    let gap = failover("pt2", 3, 10, nix::sys::signal::Signal::SIGKILL);
    assert_near(gap, 300_000 + skew_us(10), "v3 advert_int 0.1, kill -9");
}

#[test]
fn clean_stop_failover_within_50ms_of_skew_needs_root() {
    // keepalived's last advert is its priority-0 one.
    let gap = failover("pt3", 2, 100, nix::sys::signal::Signal::SIGTERM);
    assert_near(gap, skew_us(100), "v2 advert_int 1, clean stop");
}
