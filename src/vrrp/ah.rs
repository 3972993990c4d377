//! VRRPv2 authenticated with IPsec AH (`auth_type AH`), byte for byte as
//! keepalived 2.2.7 sends and checks it (reference/keepalived.md §3.1,
//! §3.2 steps 1 and 6). Sans-IO: `seal` builds the whole IPv4 datagram,
//! `open` verifies one; sockets and the sequence counter belong to the
//! driver.
//!
//! What keepalived does, probed on the wire (compat-tests/vrrp_ah.rs):
//! - IPv4 header as for plain VRRP (TOS 0xc0, TTL 255, DF clear, the
//!   instance's ID) but protocol 51 and total length 20 + 24 + VRRP;
//! - AH: next header 112, payload length 4 (32-bit words − 2 for a 96-bit
//!   ICV), reserved 0, SPI = the IPv4 source address, the sequence number;
//! - ICV: the first 12 bytes of HMAC-MD5 over the whole datagram with TOS,
//!   flags/fragment offset, header checksum and the ICV field zeroed; TTL is
//!   zeroed too, but only in unicast mode (multicast hashes TTL 255);
//! - key: the password truncated to 8 bytes (`auth_pass` keeps 8 characters);
//! - the VRRP message itself has auth type 2, eight zero auth bytes and the
//!   usual v2 checksum (`packet::Advert::emit` with `AdvertAuth::Ah`);
//! - sequence numbers start at 1 (the counter starts at 0 and is incremented
//!   before each send); a receiver accepts only a number strictly above its
//!   counter and then raises the counter to it. keepalived shares that one
//!   counter between sending and receiving, so a backup that saw N sends N+1
//!   once it becomes master.

use crate::vrrp::net::ipv4_header;
use crate::vrrp::packet::{self, ChecksumContext, PROTO_VRRP, Version};
use hmac::{Hmac, Mac};
use md5::Md5;
use std::net::Ipv4Addr;
use std::ops::Range;

/// IP protocol number of the Authentication Header.
pub const PROTO_AH: u8 = 51;
/// Length of the AH header with its 96-bit ICV.
pub const AH_LEN: usize = 24;
/// Bytes of the password keepalived uses as the HMAC key.
pub const KEY_LEN: usize = 8;
/// The highest sequence number keepalived sends; past it the counter has
/// "cycled" and stops increasing.
pub const SEQ_MAX: u32 = 0xffff_fffe;

/// Where the VRRP message sits in a datagram `open` accepted.
pub type VrrpRange = Range<usize>;

/// IPv4 header without options: keepalived never sends options.
const IPV4_LEN: usize = 20;
/// AH payload length: (96-bit ICV + 3 words) in 32-bit words, minus 2.
const AH_PAYLOAD_WORDS: u8 = 4;
/// TTL keepalived puts on every advert.
const TTL: u8 = 255;
const ICV_LEN: usize = 12;
/// Offsets in the datagram.
const SPI_AT: usize = IPV4_LEN + 4;
const SEQ_AT: usize = IPV4_LEN + 8;
const ICV_AT: usize = IPV4_LEN + 12;
const VRRP_AT: usize = IPV4_LEN + AH_LEN;

type HmacMd5 = Hmac<Md5>;

/// Why `open` refused a datagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AhError {
    /// Shorter than IPv4 + AH headers, or than its IPv4 total length says.
    #[error("IPsec AH packet too short")]
    Truncated,
    /// Not an option-less IPv4 datagram of protocol 51.
    #[error("not an IPv4 AH packet")]
    NotAh,
    /// The AH header does not carry VRRP with a 96-bit ICV.
    #[error("IPsec AH header does not carry VRRP with HMAC-MD5-96")]
    Layout,
    /// The ICV does not verify: wrong password or altered fields
    /// (keepalived: "invalid IPSEC HMAC-MD5 value").
    #[error("invalid IPSEC HMAC-MD5 value")]
    Icv,
    /// The SPI is not the source address (keepalived: "invalid IPSEC SPI value").
    #[error("invalid IPSEC SPI value")]
    Spi,
    /// The sequence number is not above the last one accepted (a replay).
    #[error("sequence number {seq} already processed (local {last})")]
    Replay {
        /// Sequence number in the packet.
        seq: u32,
        /// The receiver's counter.
        last: u32,
    },
}

/// The complete IPv4 datagram (header, AH, `vrrp`) keepalived sends from
/// `src` to `dst` with IP ID `ip_id` and sequence number `seq`, with the
/// IPv4 checksum filled in as the kernel does. `vrrp` is the VRRPv2 message
/// (auth type 2). A multicast `dst` means multicast mode, any other
/// unicast mode (TTL zeroed in the ICV). `ip_id` must not be 0: the kernel
/// would replace it and the ICV would no longer match.
pub fn seal(src: Ipv4Addr, dst: Ipv4Addr, ip_id: u16, seq: u32, key: &str, vrrp: &[u8]) -> Vec<u8> {
    let mut header = ipv4_header(src, dst, TTL, ip_id, AH_LEN + vrrp.len());
    header[9] = PROTO_AH;
    let mut d = Vec::with_capacity(VRRP_AT + vrrp.len());
    d.extend_from_slice(&header);
    d.extend_from_slice(&[PROTO_VRRP, AH_PAYLOAD_WORDS, 0, 0]);
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&[0; ICV_LEN]);
    d.extend_from_slice(vrrp);
    let tag = icv_mac(&d, key).finalize().into_bytes();
    d[ICV_AT..ICV_AT + ICV_LEN].copy_from_slice(&tag[..ICV_LEN]);
    // ipv4_header summed protocol 112: sum again over protocol 51.
    d[10..12].fill(0);
    let ck = ChecksumContext {
        src: src.into(),
        dst: dst.into(),
        v3_as_v2: false,
    };
    // A v2 VRRP checksum is the plain Internet checksum: no pseudo-header.
    let sum = packet::checksum(&d[..IPV4_LEN], Version::V2, &ck);
    d[10..12].copy_from_slice(&sum.to_be_bytes());
    d
}

/// Verifies a received AH datagram (as a raw protocol-51 socket returns it)
/// in keepalived's order: ICV, SPI, sequence number. `last_seq` is the
/// receiver's counter; `None` is a fresh one, which keepalived starts at 0,
/// so sequence number 0 is never accepted. On success returns where the
/// VRRP message is and its sequence number, which becomes the new counter.
/// The ICV covers the IPv4 total length: bytes past it are ignored.
/// (keepalived hashes its own configured length instead; a length that
/// differs from the config fails there as an ICV error and here later, in
/// `packet::receive`.)
pub fn open(
    datagram: &[u8],
    key: &str,
    last_seq: Option<u32>,
) -> Result<(VrrpRange, u32), AhError> {
    if datagram.len() < VRRP_AT {
        return Err(AhError::Truncated);
    }
    if datagram[0] != 0x45 || datagram[9] != PROTO_AH {
        return Err(AhError::NotAh);
    }
    let total = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    if total < VRRP_AT || total > datagram.len() {
        return Err(AhError::Truncated);
    }
    let d = &datagram[..total];
    // keepalived reads the fields without checking them, but its ICV covers
    // them: a sender it accepts always writes these.
    if d[IPV4_LEN] != PROTO_VRRP || d[IPV4_LEN + 1] != AH_PAYLOAD_WORDS {
        return Err(AhError::Layout);
    }
    icv_mac(d, key)
        .verify_truncated_left(&d[ICV_AT..ICV_AT + ICV_LEN])
        .map_err(|_| AhError::Icv)?;
    if d[SPI_AT..SPI_AT + 4] != d[12..16] {
        return Err(AhError::Spi);
    }
    let seq = u32::from_be_bytes([d[SEQ_AT], d[SEQ_AT + 1], d[SEQ_AT + 2], d[SEQ_AT + 3]]);
    let last = last_seq.unwrap_or(0);
    if seq <= last {
        return Err(AhError::Replay { seq, last });
    }
    Ok((VRRP_AT..total, seq))
}

/// The sequence number keepalived sends next after its counter reached
/// `counter`; `None` once the counter is at `SEQ_MAX` or above: keepalived
/// then marks it cycled and keeps sending the same number (which peers drop
/// as a replay) until it is reset on becoming MASTER.
pub fn next_seq(counter: u32) -> Option<u32> {
    (counter < SEQ_MAX).then(|| counter + 1)
}

/// HMAC-MD5 keyed with the password's first 8 bytes, fed the datagram with
/// the mutable fields and the ICV zeroed.
fn icv_mac(d: &[u8], key: &str) -> HmacMd5 {
    // HMAC pads a short key with zeros to the block size (64 bytes): doing it
    // here gives the same MAC and makes the constructor infallible.
    let mut block = [0u8; 64];
    for (b, k) in block.iter_mut().zip(key.bytes().take(KEY_LEN)) {
        *b = k;
    }
    let mut mac = <HmacMd5 as hmac::digest::KeyInit>::new(&block.into());
    let unicast = !Ipv4Addr::new(d[16], d[17], d[18], d[19]).is_multicast();
    let mut header = [0u8; IPV4_LEN];
    header.copy_from_slice(&d[..IPV4_LEN]);
    header[1] = 0; // TOS
    header[6..8].fill(0); // flags, fragment offset
    header[10..12].fill(0); // header checksum
    if unicast {
        header[8] = 0; // TTL
    }
    mac.update(&header);
    mac.update(&d[IPV4_LEN..ICV_AT]);
    mac.update(&[0; ICV_LEN]);
    mac.update(&d[ICV_AT + ICV_LEN..]);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::packet::{Advert, AdvertAuth};
    use std::net::IpAddr;

    /// Captured from keepalived 2.2.7 (tcpdump in the peer namespace):
    /// multicast, `auth_pass secret`, VRID 51, priority 100, one VIP, ID 1, seq 1.
    const MCAST: &str = "45c0004000010000ff33b082c6336401e000001270040000c633640100000001\
        33cfc3e49a266126bbdd35722133640102014e32c63364640000000000000000";
    /// Unicast to 198.51.100.2, `auth_pass abcdefghijk` (keepalived truncates
    /// it to `abcdefgh`), ID 2, seq 2.
    const UCAST: &str = "45c0004000020000ff33665ec6336401c633640270040000c633640100000002\
        552ba1cd3089fff082d4e06a2133640102014e32c63364640000000000000000";
    /// Multicast priority-0 advert sent on stop, `auth_pass 8charpwd`,
    /// VRID 7, advert_int 2, two VIPs, ID 3, seq 3.
    const STOP: &str = "45c0004400030000ff33b07cc6336401e000001270040000c633640100000003\
        be7522cb79339f5d2dfd449d21070002020287c3c6336464c63364650000000000000000";

    const A1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    const A2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    /// The VRRP message Pharos emits for the advert keepalived sent.
    fn vrrp(vrid: u8, priority: u8, secs: u16, vips: &[u8], dst: Ipv4Addr) -> Vec<u8> {
        let advert = Advert {
            version: Version::V2,
            vrid,
            priority,
            interval_centis: secs * 100,
            addrs: vips
                .iter()
                .map(|&h| IpAddr::V4(Ipv4Addr::new(198, 51, 100, h)))
                .collect(),
            auth: AdvertAuth::Ah,
        };
        let ck = ChecksumContext {
            src: A1.into(),
            dst: dst.into(),
            v3_as_v2: false,
        };
        let mut out = vec![0u8; advert.buffer_len()];
        let n = advert.emit(&mut out, &ck);
        out.truncate(n);
        out
    }

    #[test]
    fn seal_reproduces_keepalived_bytes() {
        let cases = [
            (
                MCAST,
                GROUP,
                1,
                1,
                "secret",
                vrrp(51, 100, 1, &[100], GROUP),
            ),
            (UCAST, A2, 2, 2, "abcdefghijk", vrrp(51, 100, 1, &[100], A2)),
            (
                STOP,
                GROUP,
                3,
                3,
                "8charpwd",
                vrrp(7, 0, 2, &[100, 101], GROUP),
            ),
        ];
        for (captured, dst, id, seq, key, msg) in cases {
            assert_eq!(seal(A1, dst, id, seq, key, &msg), hex(captured), "{key}");
        }
    }

    #[test]
    fn open_accepts_keepalived_packets_and_finds_the_advert() {
        let cases = [
            (MCAST, "secret", 1, 64),
            (UCAST, "abcdefgh", 2, 64),
            (UCAST, "abcdefghXYZ", 2, 64),
            (STOP, "8charpwd", 3, 68),
        ];
        for (captured, key, seq, end) in cases {
            let d = hex(captured);
            let (range, got) = open(&d, key, None).expect("keepalived's packet verifies");
            assert_eq!((range.clone(), got), (44..end, seq), "{key}");
            let p = packet::Packet::new_checked(&d[range], false).expect("a VRRP message");
            assert_eq!(p.auth_type(), 2);
        }
    }

    #[test]
    fn wrong_key_fails_the_icv() {
        for (captured, key) in [
            (MCAST, "Secret"),
            (MCAST, ""),
            (UCAST, "abcdefg"),
            (STOP, "8charpw"),
        ] {
            assert_eq!(open(&hex(captured), key, None), Err(AhError::Icv), "{key}");
        }
    }

    #[test]
    fn only_the_mutable_fields_escape_the_icv() {
        // Multicast keeps the TTL (byte 8) under the ICV, unicast does not.
        for (captured, key, mutable) in [
            (MCAST, "secret", &[1usize, 6, 7, 10, 11][..]),
            (UCAST, "abcdefgh", &[1, 6, 7, 8, 10, 11][..]),
        ] {
            let d = hex(captured);
            for i in 0..d.len() {
                let mut t = d.clone();
                t[i] ^= 0x01;
                let r = open(&t, key, None);
                assert_eq!(r.is_ok(), mutable.contains(&i), "byte {i}: {r:?}");
            }
        }
    }

    #[test]
    fn sequence_numbers_must_increase() {
        let d = hex(MCAST);
        assert!(open(&d, "secret", Some(0)).is_ok());
        assert_eq!(
            open(&d, "secret", Some(1)),
            Err(AhError::Replay { seq: 1, last: 1 })
        );
        // A fresh counter is keepalived's 0: sequence number 0 is a replay.
        let zero = seal(A1, GROUP, 9, 0, "k", &vrrp(51, 100, 1, &[100], GROUP));
        assert_eq!(
            open(&zero, "k", None),
            Err(AhError::Replay { seq: 0, last: 0 })
        );
        let top = seal(
            A1,
            GROUP,
            9,
            u32::MAX,
            "k",
            &vrrp(51, 100, 1, &[100], GROUP),
        );
        assert_eq!(open(&top, "k", Some(SEQ_MAX)).map(|r| r.1), Ok(u32::MAX));
        assert_eq!(
            (next_seq(0), next_seq(SEQ_MAX - 1)),
            (Some(1), Some(SEQ_MAX))
        );
        assert_eq!((next_seq(SEQ_MAX), next_seq(u32::MAX)), (None, None));
    }

    #[test]
    fn spi_must_be_the_source_address() {
        // Re-sign a packet whose SPI differs, so only the SPI check can object.
        let mut d = seal(A1, GROUP, 4, 7, "k", &vrrp(51, 100, 1, &[100], GROUP));
        d[SPI_AT..SPI_AT + 4].copy_from_slice(&A2.octets());
        let tag = icv_mac(&d, "k").finalize().into_bytes();
        d[ICV_AT..ICV_AT + ICV_LEN].copy_from_slice(&tag[..ICV_LEN]);
        assert_eq!(open(&d, "k", None), Err(AhError::Spi));
    }

    #[test]
    fn malformed_datagrams_are_refused_without_panicking() {
        let d = hex(MCAST);
        assert_eq!(open(&[], "secret", None), Err(AhError::Truncated));
        assert_eq!(open(&d[..43], "secret", None), Err(AhError::Truncated));
        // Total length beyond the buffer, and below the headers.
        assert_eq!(open(&d[..63], "secret", None), Err(AhError::Truncated));
        let mut short = d.clone();
        short[3] = 40;
        assert_eq!(open(&short, "secret", None), Err(AhError::Truncated));
        let mut plain = d.clone();
        plain[9] = PROTO_VRRP;
        assert_eq!(open(&plain, "secret", None), Err(AhError::NotAh));
        let mut options = d.clone();
        options[0] = 0x46;
        assert_eq!(open(&options, "secret", None), Err(AhError::NotAh));
        let mut next = d.clone();
        next[20] = 6;
        assert_eq!(open(&next, "secret", None), Err(AhError::Layout));
        // Ethernet padding past the total length is not hashed.
        let mut padded = d.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(open(&padded, "secret", None).map(|r| r.0), Ok(44..64));
    }
}
