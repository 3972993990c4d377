//! VRRPv2 with IPsec AH (`auth_type AH`) on the wire against the real
//! keepalived 2.2.7 (needs root): keepalived in one namespace, raw
//! protocol-51 sockets driven by `pharos::vrrp::ah` in the other.
//! - keepalived's AH adverts (multicast and unicast) pass `ah::open` and
//!   `packet::receive`, and `ah::seal` rebuilds them byte for byte;
//! - our sealed adverts (priority 200) keep keepalived (100) in BACKUP, and a
//!   sealed priority-0 advert hands over at once: keepalived accepts our AH;
//!   its first advert then continues our sequence numbers (one shared counter);
//! - controls: a wrong key or a repeated sequence number is rejected, so
//!   keepalived takes over as if nobody were advertising.

use pharos::vrrp::ah::{self, AhError};
use pharos::vrrp::packet::{self, Advert, AdvertAuth, ChecksumContext, Expect, Version};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

#[path = "vrrp_pair.rs"]
mod pair;
use pair::*;

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const KA: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const US: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
/// keepalived keeps the first 8 characters ("abcdefgh") as the key.
const PASSWORD: &str = "abcdefghijk";

fn keepalived_conf(priority: u8, unicast: bool) -> String {
    let peers = if unicast {
        format!("  unicast_src_ip {KA}\n  unicast_peer {{\n    {US}\n  }}\n")
    } else {
        String::new()
    };
    // `state MASTER` is incompatible with AH (keepalived forces BACKUP).
    format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {priority}\n  advert_int 1\n{peers}  authentication {{\n    auth_type AH\n    auth_pass {PASSWORD}\n  }}\n  virtual_ipaddress {{\n    {VIP}/32\n  }}\n}}\n"
    )
}

fn advert(priority: u8) -> Advert {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority,
        interval_centis: 100,
        addrs: vec![IpAddr::V4(VIP.parse().expect("vip"))],
        auth: AdvertAuth::Ah,
    }
}

/// The VRRP message of `advert(priority)` from us to `dst`.
fn vrrp_bytes(priority: u8, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let a = advert(priority);
    let ck = ChecksumContext {
        src: src.into(),
        dst: dst.into(),
        v3_as_v2: false,
    };
    let mut out = vec![0u8; a.buffer_len()];
    let n = a.emit(&mut out, &ck);
    out.truncate(n);
    out
}

/// A raw IPv4 protocol-51 socket on eth0 (header included both ways),
/// in the multicast group when `join`.
fn ah_socket(join: bool) -> Socket {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(ah::PROTO_AH))),
    )
    .expect("raw AH socket");
    s.bind_device(Some(b"eth0")).expect("bind eth0");
    s.set_header_included_v4(true).expect("IP_HDRINCL");
    if join {
        s.join_multicast_v4(&GROUP, &US).expect("join 224.0.0.18");
        s.set_multicast_loop_v4(false).expect("no loop");
        s.set_multicast_if_v4(&US).expect("multicast if");
    }
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    s
}

/// Datagrams from keepalived received on `s` until `n` arrived or `limit` passed.
fn capture(s: &Socket, n: usize, limit: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1500];
    let t0 = Instant::now();
    while got.len() < n && t0.elapsed() < limit {
        if let Ok(len) = (&*s).read(&mut buf) {
            if len >= 20 && buf[12..16] == KA.octets() {
                got.push(buf[..len].to_vec());
            }
        }
    }
    got
}

fn addr(d: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(d[at], d[at + 1], d[at + 2], d[at + 3])
}

/// keepalived (priority 100, AH) becomes MASTER; its first three adverts
/// verify, carry sequence numbers 1, 2, 3 and equal what `seal` builds.
fn keepalived_adverts_match_seal(tag: &str, unicast: bool) {
    let mut pair = Pair::new(tag);
    pair.start_keepalived(&keepalived_conf(100, unicast));
    let got = pair.in_pharos_ns(move || {
        let s = ah_socket(!unicast);
        // Master-down interval 3.61 s, then one advert a second.
        capture(&s, 3, Duration::from_secs(10))
    });
    assert_eq!(got.len(), 3, "three AH adverts from keepalived within 10 s");
    let want_dst = if unicast { US } else { GROUP };
    let mut last = None;
    for (i, d) in got.iter().enumerate() {
        let (src, dst) = (addr(d, 12), addr(d, 16));
        assert_eq!((src, dst, d[8], d[9]), (KA, want_dst, 255, ah::PROTO_AH));
        let (range, seq) = ah::open(d, PASSWORD, last).expect("keepalived's AH verifies");
        assert_eq!(seq, i as u32 + 1, "sequence numbers run from 1");
        let want = Expect {
            version: Version::V2,
            vrid: 51,
            ipv6: false,
            interval_centis: 100,
            auth: AdvertAuth::Ah,
            unicast,
            ttl_window: None,
        };
        let ck = ChecksumContext {
            src: src.into(),
            dst: dst.into(),
            v3_as_v2: false,
        };
        let a = packet::receive(&d[range], d[8], &ck, &want).expect("the VRRP part validates");
        assert_eq!(a, advert(100));
        let id = u16::from_be_bytes([d[4], d[5]]);
        let ours = ah::seal(src, dst, id, seq, PASSWORD, &vrrp_bytes(100, src, dst));
        assert_eq!(
            &ours, d,
            "seal rebuilds keepalived's datagram byte for byte"
        );
        assert_eq!(ah::open(d, "abcdefgX", None), Err(AhError::Icv));
        assert_eq!(
            ah::open(d, PASSWORD, Some(seq)),
            Err(AhError::Replay { seq, last: seq })
        );
        last = Some(seq);
    }
}

#[test]
fn keepalived_multicast_ah_adverts_open_and_seal_byte_for_byte_needs_root() {
    keepalived_adverts_match_seal("hah1", false);
}

#[test]
fn keepalived_unicast_ah_adverts_open_and_seal_byte_for_byte_needs_root() {
    keepalived_adverts_match_seal("hah2", true);
}

/// How our adverts are sealed in a run of `send_adverts`.
#[derive(Clone, Copy)]
enum Sealing {
    /// The right key, sequence numbers 1, 2, 3, …
    Good,
    /// A key keepalived does not have.
    WrongKey,
    /// The right key, but always sequence number 1 (replays after the first).
    RepeatedSeq,
}

/// What keepalived did while we advertised.
struct Run {
    /// keepalived installed the VIP while we advertised priority 200.
    took_vip: Option<Duration>,
    /// After our priority-0 advert: how long until keepalived had the VIP.
    handover: Option<Duration>,
    /// Sequence number of our priority-0 advert, and of keepalived's first
    /// advert after taking over.
    last_seq: u32,
    ka_seq: Option<u32>,
}

/// Sends priority-200 multicast adverts every second for `secs` seconds,
/// then (if keepalived is still BACKUP) a priority-0 one, watching the VIP.
fn send_adverts(pair: &Pair, sealing: Sealing, secs: u64) -> Run {
    let ka = pair.ka.clone();
    let ka_has_vip = move || ns_has_addr(&ka, VIP);
    pair.in_pharos_ns(move || {
        let s = ah_socket(true);
        let to = SockAddr::from(SocketAddrV4::new(GROUP, 0));
        let (mut id, mut seq) = (0u16, 0u32);
        let mut send = |priority: u8| {
            id += 1;
            seq = match sealing {
                Sealing::RepeatedSeq => 1,
                _ => seq + 1,
            };
            let key = match sealing {
                Sealing::WrongKey => "abcdefgX",
                _ => PASSWORD,
            };
            let d = ah::seal(US, GROUP, id, seq, key, &vrrp_bytes(priority, US, GROUP));
            s.send_to(&d, &to).expect("send");
            seq
        };
        let start = Instant::now();
        let mut last_seq;
        while start.elapsed() < Duration::from_secs(secs) {
            last_seq = send(200);
            let tick = Instant::now();
            while tick.elapsed() < Duration::from_secs(1) {
                if ka_has_vip() {
                    let took_vip = Some(start.elapsed());
                    return Run {
                        took_vip,
                        handover: None,
                        last_seq,
                        ka_seq: None,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Leave: priority 0 makes the backup take over after its skew (0.609 s).
        let last_seq = send(0);
        let left = Instant::now();
        let mut handover = None;
        while handover.is_none() && left.elapsed() < Duration::from_secs(5) {
            if ka_has_vip() {
                handover = Some(left.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let ka_seq = capture(&s, 1, Duration::from_secs(3))
            .first()
            .and_then(|d| ah::open(d, PASSWORD, Some(last_seq)).ok())
            .map(|(_, seq)| seq);
        Run {
            took_vip: None,
            handover,
            last_seq,
            ka_seq,
        }
    })
}

#[test]
fn our_ah_adverts_hold_keepalived_in_backup_and_priority_zero_hands_over_needs_root() {
    let mut pair = Pair::new("hah3");
    pair.start_keepalived(&keepalived_conf(100, false));
    // 7 s of priority 200: twice keepalived's master-down interval (3.61 s).
    let run = send_adverts(&pair, Sealing::Good, 7);
    assert_eq!(
        run.took_vip, None,
        "keepalived must stay BACKUP while our AH adverts (priority 200) arrive"
    );
    eprintln!(
        "handover {:?}, our last seq {}, keepalived's next {:?}",
        run.handover, run.last_seq, run.ka_seq
    );
    let handover = run
        .handover
        .expect("keepalived takes the VIP after our priority-0 AH advert");
    assert!(
        handover < Duration::from_millis(1500),
        "handover took {handover:?} (skew is 0.609 s)"
    );
    // keepalived's counter took our sequence numbers: it continues from them.
    assert_eq!(run.ka_seq, Some(run.last_seq + 1));
}

/// Controls for the test above: adverts keepalived rejects leave it alone,
/// so it becomes MASTER after its master-down interval.
fn rejected(tag: &str, sealing: Sealing) {
    let mut pair = Pair::new(tag);
    pair.start_keepalived(&keepalived_conf(100, false));
    let run = send_adverts(&pair, sealing, 7);
    let took = run
        .took_vip
        .expect("keepalived ignores these adverts and becomes MASTER");
    eprintln!("{tag}: keepalived took the VIP after {took:?}");
    // Master-down 3.61 s after start (or after the one accepted advert).
    assert!(took < Duration::from_millis(5500), "took {took:?}");
}

#[test]
fn keepalived_rejects_ah_with_a_wrong_key_needs_root() {
    rejected("hah4", Sealing::WrongKey);
}

#[test]
fn keepalived_rejects_replayed_ah_sequence_numbers_needs_root() {
    rejected("hah5", Sealing::RepeatedSeq);
}

/// The daemon with `auth_type AH` in a mixed pair: Pharos (150) is elected
/// over keepalived (100), which accepts its sealed adverts and stays
/// BACKUP; after `kill -9` keepalived takes over, and Pharos, restarted,
/// accepts keepalived's AH adverts and preempts back.
#[test]
fn daemon_ah_mixed_pair_elects_fails_over_and_preempts_needs_root() {
    let mut pair = Pair::new("hah6");
    pair.start_keepalived(&keepalived_conf(100, false));
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ka))
            .is_some(),
        "keepalived alone becomes MASTER"
    );
    let ours = keepalived_conf(150, false);
    let mut ph = pair.start_pharos(&ours);
    let took = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_vip(&p.ph) && !p.has_vip(&p.ka)
    });
    assert!(took.is_some(), "Pharos (150) preempts keepalived over AH");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !pair.has_vip(&pair.ka),
        "keepalived stays BACKUP: it accepts our AH"
    );
    stop(&mut ph, nix::sys::signal::Signal::SIGKILL);
    let back = pair.wait_for(Duration::from_secs(6), |p| p.has_vip(&p.ka));
    assert!(back.is_some(), "keepalived takes over after kill -9");
    let mut ph = pair.start_pharos_in(&pair.ph.clone(), "p2", &ours);
    let again = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_vip(&p.ph) && !p.has_vip(&p.ka)
    });
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    assert!(
        again.is_some(),
        "restarted Pharos reads keepalived's AH and preempts"
    );
}
