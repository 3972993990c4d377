//! VRRP advertisements on the wire (reference/keepalived.md §3.1–3.2):
//! a checked view over the bytes (`Packet`), a plain value (`Advert`) that
//! parses from and emits into them, and receive validation in keepalived's
//! order with one `Rejected` variant per counter keepalived keeps.
//! No I/O and no allocation on emit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of VRRP.
pub const PROTO_VRRP: u8 = 112;
/// Fixed part of a VRRP message (before the addresses).
const HEADER_LEN: usize = 8;
/// VRRPv2 authentication data after the addresses.
const AUTH_LEN: usize = 8;
/// Message type ADVERTISEMENT.
const TYPE_ADVERT: u8 = 1;

/// VRRP protocol version.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4, interval in seconds, authentication data.
    V2,
    /// RFC 5798: IPv4 or IPv6, interval in centiseconds, pseudo-header checksum.
    V3,
}

/// VRRPv2 authentication carried in an advertisement.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AdvertAuth {
    None,
    /// Simple password, NUL-padded to 8 bytes.
    Pass([u8; 8]),
    /// IPsec AH: the authentication lives in the AH header, not here.
    Ah,
}

impl AdvertAuth {
    fn code(self) -> u8 {
        match self {
            AdvertAuth::None => 0,
            AdvertAuth::Pass(_) => 1,
            AdvertAuth::Ah => 2,
        }
    }

    /// A PASS authentication from a configured password (truncated to 8).
    pub fn pass(password: &str) -> Self {
        let mut data = [0u8; 8];
        for (d, b) in data.iter_mut().zip(password.bytes()) {
            *d = b;
        }
        AdvertAuth::Pass(data)
    }
}

/// Why a buffer is not a VRRP message at all.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Shorter than the fixed header or than its address count says.
    #[error("packet too short")]
    Truncated,
    /// Version nibble is neither 2 nor 3.
    #[error("unknown VRRP version")]
    Version,
}

/// Why a received advertisement is dropped: one variant per reason
/// keepalived counts, so counters and log lines come from the same value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Rejected {
    /// Length does not match the address count (keepalived's "Length" error).
    #[error("invalid packet length")]
    Length,
    /// TTL / hop limit is not 255 on a multicast advert, or outside the
    /// peer's window in unicast mode.
    #[error("invalid TTL/HL")]
    Ttl,
    /// Version differs from the instance's.
    #[error("wrong version")]
    Version,
    /// v2 authentication type is not 0, 1 or 2.
    #[error("invalid authentication type")]
    AuthInvalidType,
    /// v2 authentication type differs from ours.
    #[error("authentication type mismatch")]
    AuthTypeMismatch,
    /// v2 password differs.
    #[error("authentication failure")]
    AuthFailure,
    /// v2 advert interval differs from ours (v3 only logs it).
    #[error("advertisement interval mismatch")]
    Interval,
    /// Type is not ADVERTISEMENT.
    #[error("invalid type")]
    Type,
    /// Checksum does not verify.
    #[error("invalid checksum")]
    Checksum,
    /// Advert for another virtual router.
    #[error("wrong VRID")]
    Vrid,
}

/// A VRRP message in a buffer. `new_checked` verifies the lengths once;
/// after that, the accessors cannot read out of bounds.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the version and that the addresses (`family` decides their
    /// size) and, for v2, the authentication data fit in the buffer.
    pub fn new_checked(buffer: T, ipv6: bool) -> Result<Self, Malformed> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Malformed::Truncated);
        }
        let p = Packet { buffer };
        let version = p.version().ok_or(Malformed::Version)?;
        if p.buffer.as_ref().len() < p.expected_len(version, ipv6) {
            return Err(Malformed::Truncated);
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version nibble, if known.
    pub fn version(&self) -> Option<Version> {
        match self.b()[0] >> 4 {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }

    /// The type nibble (1 = ADVERTISEMENT).
    pub fn kind(&self) -> u8 {
        self.b()[0] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.b()[1]
    }

    pub fn priority(&self) -> u8 {
        self.b()[2]
    }

    /// Number of addresses the advert says it carries.
    pub fn count(&self) -> u8 {
        self.b()[3]
    }

    /// v2: authentication type (byte 4).
    pub fn auth_type(&self) -> u8 {
        self.b()[4]
    }

    /// The advertisement interval in centiseconds (v2 carries seconds).
    pub fn interval_centis(&self) -> u16 {
        match self.version() {
            Some(Version::V2) => u16::from(self.b()[5]) * 100,
            _ => u16::from_be_bytes([self.b()[4], self.b()[5]]) & 0x0fff,
        }
    }

    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }

    /// Length the header says the message has.
    pub fn expected_len(&self, version: Version, ipv6: bool) -> usize {
        let addr = if ipv6 { 16 } else { 4 };
        HEADER_LEN
            + usize::from(self.count()) * addr
            + if version == Version::V2 { AUTH_LEN } else { 0 }
    }

    /// The `i`-th address (`i < count()`).
    fn address(&self, i: usize, ipv6: bool) -> IpAddr {
        let b = self.b();
        if ipv6 {
            let start = HEADER_LEN + i * 16;
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[start..start + 16]);
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            let start = HEADER_LEN + i * 4;
            IpAddr::V4(Ipv4Addr::new(
                b[start],
                b[start + 1],
                b[start + 2],
                b[start + 3],
            ))
        }
    }
}

/// How the checksum is computed: the addresses of the IP header around the
/// message, and whether v3 over IPv4 uses the pseudo-header (keepalived's
/// default; `v3_checksum_as_v2` turns it off).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ChecksumContext {
    pub src: IpAddr,
    /// The actual destination: the unicast peer when unicasting.
    pub dst: IpAddr,
    pub v3_as_v2: bool,
}

/// What an advertisement says, independent of its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds (v2: a multiple of 100).
    pub interval_centis: u16,
    pub addrs: Vec<IpAddr>,
    /// v2 only; `AdvertAuth::None` for v3.
    pub auth: AdvertAuth,
}

impl Advert {
    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        let addr = if self.is_ipv6() { 16 } else { 4 };
        HEADER_LEN
            + self.addrs.len() * addr
            + if self.version == Version::V2 {
                AUTH_LEN
            } else {
                0
            }
    }

    fn is_ipv6(&self) -> bool {
        self.addrs.first().is_some_and(IpAddr::is_ipv6)
    }

    /// Writes the message into `out` (at least `buffer_len()` bytes) and
    /// returns its length. Addresses of the other family are skipped by the
    /// caller's config check; here they are written as their own size.
    pub fn emit(&self, out: &mut [u8], ck: &ChecksumContext) -> usize {
        let len = self.buffer_len();
        let out = &mut out[..len];
        let version = match self.version {
            Version::V2 => 2u8,
            Version::V3 => 3,
        };
        out[0] = (version << 4) | TYPE_ADVERT;
        out[1] = self.vrid;
        out[2] = self.priority;
        out[3] = u8::try_from(self.addrs.len()).unwrap_or(u8::MAX);
        match self.version {
            Version::V2 => {
                out[4] = self.auth.code();
                out[5] = u8::try_from(self.interval_centis / 100).unwrap_or(u8::MAX);
            }
            Version::V3 => {
                out[4..6].copy_from_slice(&(self.interval_centis & 0x0fff).to_be_bytes())
            }
        }
        out[6] = 0;
        out[7] = 0;
        let mut at = HEADER_LEN;
        for a in &self.addrs {
            match a {
                IpAddr::V4(v4) => {
                    out[at..at + 4].copy_from_slice(&v4.octets());
                    at += 4;
                }
                IpAddr::V6(v6) => {
                    out[at..at + 16].copy_from_slice(&v6.octets());
                    at += 16;
                }
            }
        }
        if self.version == Version::V2 {
            let data = match self.auth {
                AdvertAuth::Pass(p) => p,
                _ => [0; 8],
            };
            out[at..at + 8].copy_from_slice(&data);
        }
        let sum = checksum(out, self.version, ck);
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        len
    }

    /// Reads an advert from a checked packet, verifying type and checksum.
    pub fn parse<T: AsRef<[u8]>>(
        p: &Packet<T>,
        ipv6: bool,
        ck: &ChecksumContext,
    ) -> Result<Advert, Rejected> {
        let version = p.version().ok_or(Rejected::Version)?;
        if p.kind() != TYPE_ADVERT {
            return Err(Rejected::Type);
        }
        let len = p.expected_len(version, ipv6);
        let bytes = &p.b()[..len];
        if checksum(bytes, version, ck) != 0 {
            return Err(Rejected::Checksum);
        }
        let addrs = (0..usize::from(p.count()))
            .map(|i| p.address(i, ipv6))
            .collect();
        let auth = match (version, p.auth_type()) {
            (Version::V3, _) | (Version::V2, 0) => AdvertAuth::None,
            (Version::V2, 1) => {
                let mut data = [0u8; 8];
                data.copy_from_slice(&bytes[len - AUTH_LEN..]);
                AdvertAuth::Pass(data)
            }
            (Version::V2, 2) => AdvertAuth::Ah,
            (Version::V2, _) => return Err(Rejected::AuthInvalidType),
        };
        Ok(Advert {
            version,
            vrid: p.vrid(),
            priority: p.priority(),
            interval_centis: p.interval_centis(),
            addrs,
            auth,
        })
    }
}

/// The Internet checksum of `bytes` (with the checksum field as it is),
/// preceded by the pseudo-header when v3 calls for one. Over a message with
/// a correct checksum the result is 0.
pub fn checksum(bytes: &[u8], version: Version, ck: &ChecksumContext) -> u16 {
    let mut sum: u32 = 0;
    let pseudo = version == Version::V3 && !(ck.v3_as_v2 && ck.src.is_ipv4());
    if pseudo {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        match (ck.src, ck.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                sum += add_words(&s.octets()) + add_words(&d.octets());
                sum += u32::from(PROTO_VRRP) + len;
            }
            (s, d) => {
                sum += add_words(&v6(s).octets()) + add_words(&v6(d).octets());
                sum += (len >> 16) + (len & 0xffff) + u32::from(PROTO_VRRP);
            }
        }
    }
    sum += add_words(bytes);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(x) => x,
        IpAddr::V4(x) => x.to_ipv6_mapped(),
    }
}

/// Sum of big-endian 16-bit words (an odd last byte is padded with 0).
fn add_words(bytes: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// What an instance expects of the adverts it receives.
#[derive(Clone, Debug)]
pub struct Expect {
    pub version: Version,
    pub vrid: u8,
    pub ipv6: bool,
    /// Our advert interval (v2 drops a mismatch).
    pub interval_centis: u16,
    pub auth: AdvertAuth,
    /// Unicast mode skips the TTL=255 rule (per-peer windows apply instead).
    pub unicast: bool,
    pub ttl_window: Option<(u8, u8)>,
}

/// Receive validation in keepalived's order (§3.2): length, TTL, version,
/// authentication, interval, type, checksum. `ttl` is the IPv4 TTL or IPv6
/// hop limit of the packet; `bytes` is the VRRP message (IP payload, which
/// may carry Ethernet padding).
pub fn receive(
    bytes: &[u8],
    ttl: u8,
    ck: &ChecksumContext,
    want: &Expect,
) -> Result<Advert, Rejected> {
    let p = Packet::new_checked(bytes, want.ipv6).map_err(|e| match e {
        Malformed::Truncated => Rejected::Length,
        Malformed::Version => Rejected::Version,
    })?;
    let version = p.version().ok_or(Rejected::Version)?;
    // The length must be exact for the packet's own version (a raw socket
    // gets the datagram trimmed to the IP length, so Ethernet padding never
    // shows); keepalived 2.2.7 counts a v3 header on a v2 instance as a
    // length error, seen on the wire (compat-tests/vrrp_malformed.rs).
    let len = p.expected_len(version, want.ipv6);
    if bytes.len() != len {
        return Err(Rejected::Length);
    }
    if !want.unicast && ttl != 255 {
        return Err(Rejected::Ttl);
    }
    if let Some((min, max)) = want.ttl_window.filter(|_| want.unicast) {
        if ttl < min || ttl > max {
            return Err(Rejected::Ttl);
        }
    }
    if version != want.version {
        return Err(Rejected::Version);
    }
    if version == Version::V2 {
        let ours = want.auth.code();
        match p.auth_type() {
            t if t > 2 => return Err(Rejected::AuthInvalidType),
            t if t != ours => return Err(Rejected::AuthTypeMismatch),
            _ => {}
        }
        if let AdvertAuth::Pass(pw) = want.auth {
            let got = &bytes[len - AUTH_LEN..len];
            // Constant time over the 8 bytes, as keepalived compares them.
            let diff = got
                .iter()
                .zip(pw.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff != 0 {
                return Err(Rejected::AuthFailure);
            }
        }
        if p.interval_centis() != want.interval_centis {
            return Err(Rejected::Interval);
        }
    }
    if p.kind() != TYPE_ADVERT {
        return Err(Rejected::Type);
    }
    let advert = Advert::parse(&p, want.ipv6, ck)?;
    if advert.vrid != want.vrid {
        return Err(Rejected::Vrid);
    }
    Ok(advert)
}

#[cfg(test)]
mod tests;
