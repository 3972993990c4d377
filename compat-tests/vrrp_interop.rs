//! VRRP on the wire against the real keepalived 2.2.7 (needs root): two
//! network namespaces joined by a veth pair, keepalived in one, Pharos's
//! VRRP socket and packet code in the other.
//! - keepalived's adverts pass Pharos's receive validation, and Pharos emits
//!   the same bytes for the same advert;
//! - Pharos's adverts keep a lower-priority keepalived in BACKUP (it never
//!   installs the VIP), and Pharos's priority-0 advert hands over at once;
//! - a mixed pair (Pharos priority 150, keepalived 100) elects Pharos, and
//!   keepalived takes over after `kill -9` of Pharos within 3·adv + skew and
//!   after a clean stop within the skew.

use pharos::vrrp::net::Ipv4Socket;
use pharos::vrrp::packet::{self, AdvertAuth, ChecksumContext, Expect, Version};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

#[path = "vrrp_pair.rs"]
mod pair;
use pair::*;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

fn keepalived_conf(state: &str, priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state {state}\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass secret12\n  }}\n  virtual_ipaddress {{\n    {VIP}/32\n  }}\n}}\n"
    )
}

#[test]
fn keepalived_adverts_validate_and_match_our_bytes_needs_root() {
    let mut pair = Pair::new("pv1");
    pair.start_keepalived(&keepalived_conf("MASTER", 255));
    let got = pair.in_pharos_ns(|| {
        let sock = Ipv4Socket::open("eth0", None, Some(GROUP)).expect("raw socket");
        let mut buf = [0u8; 1500];
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(r)) = sock.recv(&mut buf, Some(Duration::from_millis(200))) {
                let bytes = buf[r.payload.0..r.payload.1].to_vec();
                return Some((r, bytes));
            }
        }
        None
    });
    let (r, bytes) = got.expect("an advert from keepalived within 8 s");
    assert_eq!(r.ttl, 255);
    assert_eq!(r.dst, IpAddr::V4(GROUP));
    let ck = ChecksumContext {
        src: r.src,
        dst: r.dst,
        v3_as_v2: false,
    };
    let want = Expect {
        version: Version::V2,
        vrid: 51,
        ipv6: false,
        interval_centis: 100,
        auth: AdvertAuth::pass("secret12"),
        unicast: false,
        ttl_window: None,
    };
    let advert = packet::receive(&bytes, r.ttl, &ck, &want).expect("keepalived's advert validates");
    assert_eq!(advert, pass_advert(255));
    let mut out = [0u8; 64];
    let n = advert.emit(&mut out, &ck);
    assert_eq!(
        &out[..n],
        &bytes[..n],
        "Pharos emits keepalived's bytes for the same advert"
    );
}

#[test]
fn our_adverts_hold_keepalived_in_backup_and_priority_zero_hands_over_needs_root() {
    let mut pair = Pair::new("pv2");
    pair.start_keepalived(&keepalived_conf("BACKUP", 100));
    let ka = pair.ka.clone();
    let ka_has_vip = move || ns_has_addr(&ka, VIP);
    // Pharos advertises priority 200 every second for 7 s (keepalived's
    // master-down interval is 3 × 1 + 156/256 s), watching keepalived.
    let (took_vip, handover) = pair.in_pharos_ns(move || {
        let mut sock = Ipv4Socket::open("eth0", None, Some(GROUP)).expect("raw socket");
        let src = IpAddr::V4(sock.source());
        let ck = ChecksumContext {
            src,
            dst: IpAddr::V4(GROUP),
            v3_as_v2: false,
        };
        let mut out = [0u8; 64];
        let mut took_vip = false;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(7) {
            let n = pass_advert(200).emit(&mut out, &ck);
            sock.send(&out[..n], GROUP, 255).expect("send");
            let tick = Instant::now();
            while tick.elapsed() < Duration::from_secs(1) {
                took_vip |= ka_has_vip();
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Leave: priority 0 makes the backup take over after its skew (0.609 s).
        let n = pass_advert(0).emit(&mut out, &ck);
        sock.send(&out[..n], GROUP, 255).expect("send");
        let left = Instant::now();
        while left.elapsed() < Duration::from_secs(5) {
            if ka_has_vip() {
                return (took_vip, Some(left.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (took_vip, None)
    });
    assert!(
        !took_vip,
        "keepalived must stay BACKUP while Pharos (priority 200) advertises"
    );
    let handover = handover.expect("keepalived takes the VIP after Pharos's priority-0 advert");
    assert!(
        handover < Duration::from_millis(1500),
        "handover took {handover:?} (skew is 0.609 s)"
    );
    assert!(pair.has_vip(&pair.ka));
}

#[test]
fn mixed_pair_elects_pharos_and_fails_over_to_keepalived_needs_root() {
    let mut pair = Pair::new("pv3");
    pair.start_keepalived(&keepalived_conf("BACKUP", 100));
    let mut pharos = pair.start_pharos(&keepalived_conf("BACKUP", 150));
    // Both start BACKUP; Pharos's master-down interval (3 + 106/256 s) is
    // the shorter one, so it wins the first election.
    let elected = pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ph));
    assert!(elected.is_some(), "Pharos (priority 150) becomes MASTER");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!pair.has_vip(&pair.ka), "keepalived stays BACKUP");
    // kill -9: no priority-0 advert; keepalived waits 3·1 + 156/256 s after
    // the last advert, which was at most 1 s before the kill.
    stop(&mut pharos, nix::sys::signal::Signal::SIGKILL);
    let took = pair
        .wait_for(Duration::from_secs(6), |p| p.has_vip(&p.ka))
        .expect("keepalived takes over");
    assert!(
        took >= Duration::from_millis(2550) && took <= Duration::from_millis(3700),
        "failover after kill -9 took {took:?}; expected 3.609 s after the last advert"
    );
    // Pharos comes back (it first clears the VIP it left behind) and preempts.
    let mut pharos = pair.start_pharos(&keepalived_conf("BACKUP", 150));
    let back = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_vip(&p.ph) && !p.has_vip(&p.ka)
    });
    assert!(back.is_some(), "Pharos preempts keepalived again");
    // A clean stop sends priority 0: keepalived takes over after its skew.
    std::thread::sleep(Duration::from_millis(1200));
    stop(&mut pharos, nix::sys::signal::Signal::SIGTERM);
    let took = pair
        .wait_for(Duration::from_secs(3), |p| p.has_vip(&p.ka))
        .expect("keepalived takes over");
    assert!(
        took <= Duration::from_millis(1000),
        "clean handover took {took:?} (skew 0.609 s)"
    );
    assert!(!pair.has_vip(&pair.ph), "Pharos removed its VIP on SIGTERM");
}

/// The seed's two vrouter configurations (fixtures/seed), with the VIP
/// moved from 192.168.2.103 into the test range; interfaces are already eth0.
fn seed(n: u8) -> String {
    let path = format!(
        "{}/fixtures/seed/vrouter{n}/keepalived.conf",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .expect("seed fixture")
        .replace("192.168.2.103", SEED_VIP)
}

const SEED_VIP: &str = "198.51.100.103";

/// vrouter1 (MASTER, 150) in the Pharos namespace and vrouter2 (BACKUP, 100)
/// in the other: the VIP sits on vrouter1, moves to vrouter2 when vrouter1
/// dies, and comes back when it returns.
fn seed_pair(pair: &mut Pair, vrouter2_is_pharos: bool) {
    let mut v2 = if vrouter2_is_pharos {
        Some(pair.start_pharos_in(&pair.ka.clone(), "v2", &seed(2)))
    } else {
        // keepalived 2.2.7 exits FATAL on `lvs_sync_daemon_interface` when the
        // kernel has no IPVS (this host's has none): drop that one line for it.
        let conf: String = seed(2)
            .lines()
            .filter(|l| !l.contains("lvs_sync_daemon_interface"))
            .map(|l| format!("{l}\n"))
            .collect();
        pair.start_keepalived(&conf);
        None
    };
    let mut v1 = pair.start_pharos_in(&pair.ph.clone(), "v1", &seed(1));
    let on = |p: &Pair, ns: &str| p.has_addr(ns, SEED_VIP);
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| on(p, &p.ph))
            .is_some(),
        "vrouter1 becomes MASTER"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!on(pair, &pair.ka), "vrouter2 stays BACKUP");
    stop(&mut v1, nix::sys::signal::Signal::SIGKILL);
    assert!(
        pair.wait_for(Duration::from_secs(6), |p| on(p, &p.ka))
            .is_some(),
        "the VIP moves to vrouter2 when vrouter1 dies"
    );
    let mut v1 = pair.start_pharos_in(&pair.ph.clone(), "v1", &seed(1));
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| on(p, &p.ph) && !on(p, &p.ka))
            .is_some(),
        "the VIP comes back to vrouter1"
    );
    stop(&mut v1, nix::sys::signal::Signal::SIGTERM);
    if let Some(v2) = v2.as_mut() {
        stop(v2, nix::sys::signal::Signal::SIGTERM);
    }
}

#[test]
fn seed_pair_pharos_vrouter1_keepalived_vrouter2_needs_root() {
    let mut pair = Pair::new("ps1");
    seed_pair(&mut pair, false);
}

#[test]
fn seed_pair_two_pharos_needs_root() {
    let mut pair = Pair::new("ps2");
    seed_pair(&mut pair, true);
}

#[test]
fn track_script_weight_moves_the_master_needs_root() {
    let mut pair = Pair::new("pv4");
    let down = pair.dir.join("down");
    pair.start_keepalived(&keepalived_conf("BACKUP", 100));
    // Pharos 150 tracks a script with weight -60: while it fails, Pharos
    // advertises 90 and keepalived (100) must preempt it.
    let conf = keepalived_conf("BACKUP", 150).replace(
        "  virtual_router_id 51\n",
        "  virtual_router_id 51\n  track_script {\n    chk_down\n  }\n",
    );
    let conf = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\nvrrp_script chk_down {{\n  script \"/bin/sh -c 'test ! -e {}'\"\n  interval 1\n  weight -60\n}}\n{conf}",
        down.display()
    );
    let mut pharos = pair.start_pharos(&conf);
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ph))
            .is_some(),
        "Pharos (150) is MASTER while its script succeeds"
    );
    std::fs::write(&down, "").expect("touch");
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ka)
            && !p.has_vip(&p.ph))
            .is_some(),
        "the failing script (weight -60 → 90) hands the VIP to keepalived (100)"
    );
    std::fs::remove_file(&down).expect("rm");
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ph)
            && !p.has_vip(&p.ka))
            .is_some(),
        "back at 150, Pharos preempts"
    );
    stop(&mut pharos, nix::sys::signal::Signal::SIGTERM);
}

/// A VRRPv3 unicast instance: the checksum's pseudo-header uses the peer.
fn unicast_v3_conf(priority: u8, me: &str, peer: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n  priority {priority}\n  advert_int 1\n  version 3\n  unicast_src_ip {me}\n  unicast_peer {{\n    {peer}\n  }}\n  virtual_ipaddress {{\n    {VIP}/32\n  }}\n}}\n"
    )
}

#[test]
fn unicast_v3_mixed_pair_elects_and_fails_over_needs_root() {
    let mut pair = Pair::new("pv5");
    pair.start_keepalived(&unicast_v3_conf(100, "198.51.100.1", "198.51.100.2"));
    let mut pharos = pair.start_pharos(&unicast_v3_conf(150, "198.51.100.2", "198.51.100.1"));
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ph))
            .is_some(),
        "Pharos (150) wins over unicast VRRPv3"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !pair.has_vip(&pair.ka),
        "keepalived accepts Pharos's unicast v3 adverts (checksum over the peer address) and stays BACKUP"
    );
    stop(&mut pharos, nix::sys::signal::Signal::SIGTERM);
    let took = pair
        .wait_for(Duration::from_secs(3), |p| p.has_vip(&p.ka))
        .expect("keepalived takes over after Pharos's priority-0 advert");
    assert!(
        took <= Duration::from_millis(1000),
        "handover took {took:?}"
    );
    // And Pharos accepts keepalived's unicast adverts: back as a lower-priority
    // node it stays BACKUP.
    let mut pharos = pair.start_pharos(&unicast_v3_conf(50, "198.51.100.2", "198.51.100.1"));
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !pair.has_vip(&pair.ph),
        "Pharos (50) stays BACKUP behind keepalived (100)"
    );
    assert!(pair.has_vip(&pair.ka));
    stop(&mut pharos, nix::sys::signal::Signal::SIGTERM);
}
