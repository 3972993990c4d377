//! What the hashing algorithms hash, and how: haproxy's key extraction for
//! `source`, `uri`, `url_param` and `hdr()`, its four string hashes plus
//! `none`, and the `avalanche` integer mixer.

use std::net::IpAddr;

/// `hash-type`'s function.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HashFn {
    Sdbm,
    Djb2,
    Wt6,
    Crc32,
    /// The key read as a decimal integer.
    None,
}

impl HashFn {
    /// The function named in the configuration (`sdbm` for anything unknown,
    /// haproxy's default).
    pub fn from_name(name: &str) -> Self {
        match name {
            "djb2" => HashFn::Djb2,
            "wt6" => HashFn::Wt6,
            "crc32" => HashFn::Crc32,
            "none" => HashFn::None,
            _ => HashFn::Sdbm,
        }
    }

    /// Hashes `key`.
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            HashFn::Sdbm => sdbm(key),
            HashFn::Djb2 => djb2(key),
            HashFn::Wt6 => wt6(key),
            HashFn::Crc32 => crc32(key),
            HashFn::None => read_int(key),
        }
    }
}

/// sdbm: h = c + (h << 6) + (h << 16) - h.
pub fn sdbm(key: &[u8]) -> u32 {
    key.iter().fold(0u32, |h, &c| {
        u32::from(c)
            .wrapping_add(h << 6)
            .wrapping_add(h << 16)
            .wrapping_sub(h)
    })
}

/// djb2: h = h * 33 + c from 5381.
pub fn djb2(key: &[u8]) -> u32 {
    key.iter().fold(5381u32, |h, &c| {
        (h << 5).wrapping_add(h).wrapping_add(u32::from(c))
    })
}

/// Willy Tarreau's wt6 (two rotating halves).
pub fn wt6(key: &[u8]) -> u32 {
    let (mut h0, mut h1) = (0xa53c_965a_u32, 0x5ca6_953a_u32);
    let (mut step0, mut step1) = (6u32, 18u32);
    for &c in key {
        let t = u32::from(c);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        // A shift by 32 is a shift by 0 on x86, so these are plain rotations.
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

/// The bitwise CRC-32 (polynomial 0xedb88320).
pub fn crc32(key: &[u8]) -> u32 {
    let mut h = !0u32;
    for &c in key {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 != 0 { 0xedb8_8320 } else { 0 };
        }
    }
    !h
}

/// `hash-type … none`: an optional `-` and decimal digits, truncated to 32 bits.
fn read_int(key: &[u8]) -> u32 {
    let (neg, digits) = match key.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, key),
    };
    let v = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |v, &c| {
            v.wrapping_mul(10).wrapping_add(i64::from(c - b'0'))
        });
    (if neg { v.wrapping_neg() } else { v }) as u32
}

/// Bob Jenkins' full avalanche mix, then a multiplication spreading the
/// result over the 32-bit ring (`avalanche`, and consistent-hash points).
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// `balance source`: the XOR of the address's 32-bit words (not the
/// `hash-type` function).
pub fn source(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => a
            .octets()
            .chunks_exact(4)
            .fold(0, |h, w| h ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]])),
    }
}

/// The path of a request target: origin form as is, the part from the
/// first `/` after the authority for an absolute form, else empty.
pub fn path_of(uri: &[u8]) -> &[u8] {
    if uri.first() == Some(&b'/') {
        return uri;
    }
    let Some(sep) = uri.windows(3).position(|w| w == b"://") else {
        return b"";
    };
    let rest = &uri[sep + 3..];
    match rest.iter().position(|&c| c == b'/') {
        Some(slash) => &rest[slash..],
        None => b"",
    }
}

/// `balance uri`: the bytes hashed, cut to `len`, stopped at the
/// `depth + 1`th slash and (unless `whole`) at the `?`.
pub fn uri_part(uri: &[u8], whole: bool, len: Option<u32>, depth: Option<u32>) -> &[u8] {
    let uri = match len {
        Some(l) if l > 0 && uri.len() > l as usize => &uri[..l as usize],
        _ => uri,
    };
    // haproxy stores depth + 1 and stops on that slash; depth 0 means none.
    let stop_slash = depth.filter(|&d| d > 0).map(|d| d + 1);
    let mut slashes = 0u32;
    for (i, &c) in uri.iter().enumerate() {
        if c == b'/' {
            slashes += 1;
            if Some(slashes) == stop_slash {
                return &uri[..i];
            }
        } else if c == b'?' && !whole {
            return &uri[..i];
        }
    }
    uri
}

/// `balance url_param <name>`: the value of the first `name=` in the query
/// string (up to the next `&`), or `None` when there is none.
pub fn url_param<'a>(uri: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let q = uri.iter().position(|&c| c == b'?')?;
    let mut params = &uri[q + 1..];
    let plen = name.len();
    while params.len() > plen {
        if params[plen] == b'=' && &params[..plen] == name {
            let value = &params[plen + 1..];
            let end = value.iter().position(|&c| c == b'&').unwrap_or(value.len());
            return Some(&value[..end]);
        }
        let amp = params.iter().position(|&c| c == b'&')?;
        params = &params[amp + 1..];
    }
    None
}

/// The first comma-separated value of a header, trimmed, as haproxy's
/// header lookup returns it.
pub fn first_value(raw: &[u8]) -> &[u8] {
    let end = raw.iter().position(|&c| c == b',').unwrap_or(raw.len());
    raw[..end].trim_ascii()
}

/// `hdr(<name>) use_domain_only`: the label before the last dot-separated
/// one (`www.example.com` → `example`); without a dot, the whole value.
pub fn domain_only(value: &[u8]) -> &[u8] {
    let mut end = value.len();
    let mut p = value.len();
    let mut in_domain = false;
    // Walk backwards like haproxy, which never looks at the first byte.
    while p > 0 {
        if in_domain {
            if value[p - 1] == b'.' {
                break;
            }
        } else if p < value.len() && value[p] == b'.' {
            end = p;
            in_domain = true;
        }
        p -= 1;
    }
    &value[p..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdbm_matches_the_reg_test_placements() {
        // balance-uri.vtc: /url1 → srv2, /url2 → srv3, /url3 → srv4 over 4 servers.
        assert_eq!(sdbm(b"/url1") % 4, 1);
        assert_eq!(sdbm(b"/url2") % 4, 2);
        assert_eq!(sdbm(b"/url3") % 4, 3);
    }

    #[test]
    fn known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(djb2(b""), 5381);
        assert_eq!(djb2(b"a"), 5381 * 33 + 97);
        assert_eq!(read_int(b"-12x"), (-12i64) as u32);
    }

    #[test]
    fn key_extraction() {
        assert_eq!(uri_part(b"/a/b/c?x", false, None, Some(2)), b"/a/b");
        assert_eq!(uri_part(b"/a?x/y", true, None, Some(1)), b"/a?x");
        assert_eq!(uri_part(b"/abcdef", false, Some(3), None), b"/ab");
        assert_eq!(path_of(b"http://h/p?q"), b"/p?q");
        assert_eq!(path_of(b"http://h"), b"");
        assert_eq!(
            url_param(b"/?a=1&userid=bob&x", b"userid"),
            Some(&b"bob"[..])
        );
        assert_eq!(url_param(b"/?xuserid=1", b"userid"), None);
        assert_eq!(first_value(b" a , b"), b"a");
        assert_eq!(domain_only(b"www.example.com"), b"example");
        assert_eq!(domain_only(b"example.com"), b"example");
        assert_eq!(domain_only(b"localhost"), b"localhost");
        assert_eq!(domain_only(b".com"), b".com");
    }
}
