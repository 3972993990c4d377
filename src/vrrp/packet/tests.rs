//! Wire tests: the adverts keepalived 2.2.7 was seen sending
//! (reference/keepalived.md §3.1), round trips, and every rejection.

use super::*;
use proptest::prelude::*;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
        .collect()
}

const V2_CAPTURE: &str = "21 33 96 02 01 01 f42f c0a83264 c0a83265 7365637265743132";
const V3_CAPTURE: &str = "31 34 ff 01 00 32 f6af c0a8326e";

fn mcast4() -> ChecksumContext {
    ChecksumContext {
        src: v4(192, 168, 50, 1),
        dst: v4(224, 0, 0, 18),
        v3_as_v2: false,
    }
}

fn unicast4() -> ChecksumContext {
    ChecksumContext {
        src: v4(192, 168, 50, 1),
        dst: v4(192, 168, 50, 2),
        v3_as_v2: false,
    }
}

fn v2_advert() -> Advert {
    Advert {
        version: Version::V2,
        vrid: 51,
        priority: 150,
        interval_centis: 100,
        addrs: vec![v4(192, 168, 50, 100), v4(192, 168, 50, 101)],
        auth: AdvertAuth::pass("secret12"),
    }
}

#[test]
fn v2_capture_parses_and_emits_byte_equal() {
    let bytes = hex(V2_CAPTURE);
    let p = Packet::new_checked(&bytes[..], false).expect("valid");
    let a = Advert::parse(&p, false, &mcast4()).expect("advert");
    assert_eq!(a, v2_advert());
    let mut out = [0u8; 64];
    let n = a.emit(&mut out, &mcast4());
    assert_eq!(&out[..n], &bytes[..]);
}

#[test]
fn v3_unicast_checksum_uses_the_actual_destination() {
    let bytes = hex(V3_CAPTURE);
    let a = Advert {
        version: Version::V3,
        vrid: 52,
        priority: 255,
        interval_centis: 50,
        addrs: vec![v4(192, 168, 50, 110)],
        auth: AdvertAuth::None,
    };
    let mut out = [0u8; 64];
    let n = a.emit(&mut out, &unicast4());
    assert_eq!(&out[..n], &bytes[..], "pseudo-header over the unicast peer");
    let n = a.emit(&mut out, &mcast4());
    assert_eq!(
        u16::from_be_bytes([out[6], out[7]]),
        0x0948,
        "over 224.0.0.18 it would be 0x0948"
    );
    assert_eq!(n, 12);
    let p = Packet::new_checked(&bytes[..], false).expect("valid");
    assert_eq!(Advert::parse(&p, false, &unicast4()), Ok(a));
    assert_eq!(Advert::parse(&p, false, &mcast4()), Err(Rejected::Checksum));
}

fn expect_v2() -> Expect {
    Expect {
        version: Version::V2,
        vrid: 51,
        ipv6: false,
        interval_centis: 100,
        auth: AdvertAuth::pass("secret12"),
        unicast: false,
        ttl_window: None,
    }
}

#[test]
fn receive_accepts_the_capture_and_wants_the_exact_length() {
    let mut bytes = hex(V2_CAPTURE);
    assert!(receive(&bytes, 255, &mcast4(), &expect_v2()).is_ok());
    // Raw sockets see the datagram trimmed to its IP length: any extra byte
    // is a length error, as keepalived 2.2.7 counts it.
    bytes.push(0);
    assert_eq!(
        receive(&bytes, 255, &mcast4(), &expect_v2()),
        Err(Rejected::Length)
    );
}

#[test]
fn receive_rejects_in_keepalived_order() {
    let good = hex(V2_CAPTURE);
    let ck = mcast4();
    let want = expect_v2();
    assert_eq!(
        receive(&good[..20], 255, &ck, &want),
        Err(Rejected::Length),
        "truncated"
    );
    assert_eq!(receive(&good, 254, &ck, &want), Err(Rejected::Ttl));
    let mut w = want.clone();
    w.unicast = true;
    assert!(
        receive(&good, 64, &ck, &w).is_ok(),
        "unicast skips the TTL rule"
    );
    w.ttl_window = Some((250, 255));
    assert_eq!(receive(&good, 64, &ck, &w), Err(Rejected::Ttl));
    let mut w = want.clone();
    w.version = Version::V3;
    assert_eq!(receive(&good, 255, &ck, &w), Err(Rejected::Version));
    let mut bad = good.clone();
    bad[4] = 7;
    assert_eq!(
        receive(&bad, 255, &ck, &want),
        Err(Rejected::AuthInvalidType)
    );
    let mut w = want.clone();
    w.auth = AdvertAuth::None;
    assert_eq!(
        receive(&good, 255, &ck, &w),
        Err(Rejected::AuthTypeMismatch)
    );
    let mut w = want.clone();
    w.auth = AdvertAuth::pass("wrong");
    assert_eq!(receive(&good, 255, &ck, &w), Err(Rejected::AuthFailure));
    let mut w = want.clone();
    w.interval_centis = 200;
    assert_eq!(receive(&good, 255, &ck, &w), Err(Rejected::Interval));
    let mut bad = good.clone();
    bad[0] = 0x22;
    assert_eq!(receive(&bad, 255, &ck, &want), Err(Rejected::Type));
    let mut bad = good.clone();
    bad[7] ^= 1;
    assert_eq!(receive(&bad, 255, &ck, &want), Err(Rejected::Checksum));
    let mut w = want.clone();
    w.vrid = 52;
    assert_eq!(receive(&good, 255, &ck, &w), Err(Rejected::Vrid));
    let mut bad = good.clone();
    bad[0] = 0x41;
    assert_eq!(receive(&bad, 255, &ck, &want), Err(Rejected::Version));
}

#[test]
fn v3_checksum_as_v2_drops_the_pseudo_header() {
    let mut a = v2_advert();
    a.version = Version::V3;
    a.auth = AdvertAuth::None;
    let ck = ChecksumContext {
        v3_as_v2: true,
        ..unicast4()
    };
    let mut out = [0u8; 64];
    let n = a.emit(&mut out, &ck);
    let plain = ChecksumContext {
        v3_as_v2: true,
        ..mcast4()
    };
    // Without the pseudo-header the destination no longer matters.
    let p = Packet::new_checked(&out[..n], false).expect("valid");
    assert_eq!(Advert::parse(&p, false, &plain), Ok(a));
}

fn arb_advert() -> impl Strategy<Value = (Advert, ChecksumContext)> {
    (
        any::<bool>(),
        any::<bool>(),
        1u8..=255,
        any::<u8>(),
        1u16..=4095,
        0usize..20,
        any::<[u8; 8]>(),
    )
        .prop_map(|(v3, ipv6, vrid, priority, interval, n, pw)| {
            let ipv6 = ipv6 && v3;
            let addrs = (0..n)
                .map(|i| {
                    if ipv6 {
                        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i as u16))
                    } else {
                        v4(198, 51, 100, i as u8)
                    }
                })
                .collect();
            let (version, interval_centis, auth) = if v3 {
                (Version::V3, interval, AdvertAuth::None)
            } else {
                (
                    Version::V2,
                    (interval % 255 + 1) * 100,
                    AdvertAuth::Pass(pw),
                )
            };
            let ck = if ipv6 {
                ChecksumContext {
                    src: "fe80::1".parse().expect("addr"),
                    dst: "ff02::12".parse().expect("addr"),
                    v3_as_v2: false,
                }
            } else {
                mcast4()
            };
            (
                Advert {
                    version,
                    vrid,
                    priority,
                    interval_centis,
                    addrs,
                    auth,
                },
                ck,
            )
        })
}

proptest! {
    #[test]
    fn parse_of_emit_is_identity((advert, ck) in arb_advert()) {
        let mut out = [0u8; 8 + 20 * 16 + 8];
        let n = advert.emit(&mut out, &ck);
        prop_assert_eq!(n, advert.buffer_len());
        let ipv6 = advert.addrs.first().is_some_and(IpAddr::is_ipv6);
        let p = Packet::new_checked(&out[..n], ipv6).expect("emitted packets are valid");
        prop_assert_eq!(Advert::parse(&p, ipv6, &ck), Ok(advert));
    }

    #[test]
    fn receive_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), ttl in any::<u8>()) {
        let _ = receive(&bytes, ttl, &mcast4(), &expect_v2());
        let mut w = expect_v2();
        w.ipv6 = true;
        w.version = Version::V3;
        let _ = receive(&bytes, ttl, &mcast4(), &w);
    }
}
