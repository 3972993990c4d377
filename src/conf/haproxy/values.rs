//! Value formats of haproxy.cfg: times, sizes, integers with C `atol`
//! leniency, addresses (`str2sa_range` forms) and the "did you mean"
//! suggestion. Pure functions over strings; no diagnostics state.

use crate::model::common::{Duration, Endpoint, Family, Host, Prefix};
use nom::bytes::complete::take_while;
use nom::{IResult, Parser};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// Why a time value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// haproxy: "unexpected character 'x' in …".
    UnexpectedChar(char),
    /// More than 2^31-1 ms.
    Overflow,
}

fn digits(i: &str) -> IResult<&str, &str> {
    take_while(|c: char| c.is_ascii_digit()).parse(i)
}

/// A time: digits and an optional unit (`us`, `ms`, `s`, `m`, `h`, `d`);
/// `default_unit_ms` is the unit of a bare number in milliseconds (1 for
/// most keywords, 1000 for a few). Values above `INT_MAX` ms overflow.
pub fn parse_time(s: &str, default_unit_ms: u64) -> Result<Duration, TimeError> {
    let (rest, num) = digits(s).map_err(|_| TimeError::UnexpectedChar('?'))?;
    let value: u64 = if num.is_empty() {
        match rest.chars().next() {
            Some(c) => return Err(TimeError::UnexpectedChar(c)),
            None => 0,
        }
    } else {
        num.parse().map_err(|_| TimeError::Overflow)?
    };
    let micros_per_unit: u64 = match rest {
        "" => default_unit_ms.saturating_mul(1000),
        "us" => 1,
        "ms" => 1000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        other => {
            // haproxy names the first character it could not use.
            let bad =
                if let Some(tail) = other.strip_prefix('m').or_else(|| other.strip_prefix('u')) {
                    tail.chars().next().or_else(|| other.chars().next())
                } else {
                    other.chars().next()
                };
            return Err(TimeError::UnexpectedChar(bad.unwrap_or('?')));
        }
    };
    let micros = value
        .checked_mul(micros_per_unit)
        .ok_or(TimeError::Overflow)?;
    if micros / 1000 > i32::MAX as u64 {
        return Err(TimeError::Overflow);
    }
    Ok(Duration::from_micros(micros))
}

/// The haproxy message for a time error, e.g. for `'timeout client'`.
pub fn time_error_message(err: &TimeError, arg: &str, what: &str) -> String {
    match err {
        TimeError::UnexpectedChar(c) => format!("unexpected character '{c}' in {what}"),
        TimeError::Overflow => format!(
            "timer overflow in argument '{arg}' to {what} (maximum value is 2147483647 ms or ~24.8 days)"
        ),
    }
}

/// A size: digits with an optional `k`, `m` or `g` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, char> {
    let (rest, num) = digits(s).map_err(|_| '?')?;
    if num.is_empty() {
        return Err(rest.chars().next().unwrap_or('?'));
    }
    let value: u64 = num.parse().map_err(|_| '?')?;
    let mult: u64 = match rest.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1024,
        "m" => 1024 * 1024,
        "g" => 1024 * 1024 * 1024,
        other => return Err(other.chars().next().unwrap_or('?')),
    };
    value.checked_mul(mult).ok_or('?')
}

/// C `atol`: leading blanks, optional sign, digits; garbage after (or no
/// digits at all) is ignored, as haproxy does for most counters.
pub fn atol(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in t.chars().take_while(char::is_ascii_digit) {
        v = v
            .saturating_mul(10)
            .saturating_add(i64::from(c as u8 - b'0'));
    }
    if neg { -v } else { v }
}

/// `atol` clamped to `u32`.
pub fn atou(s: &str) -> u32 {
    u32::try_from(atol(s).max(0)).unwrap_or(u32::MAX)
}

/// A strict unsigned integer (all digits).
pub fn strict_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Where an address is used: bind-like addresses need a port and may
/// carry a range; server addresses may omit it or give an offset.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AddrUse {
    Bind,
    Server,
    /// Log targets and check addresses: port optional, no ranges.
    Log,
}

/// A parsed address with its server-port details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub endpoint: Endpoint,
    /// `+N` / `-N` (servers): offset from the client's destination port.
    pub port_offset: Option<i32>,
    /// `udp@`/`tcp@`/`quic4@`… prefix as written.
    pub transport: Option<String>,
}

/// Parses one address (`str2sa_range` forms); the error is haproxy's
/// message tail (after "'<keyword>' : ").
pub fn parse_address(text: &str, usage: AddrUse) -> Result<Address, String> {
    let mut family: Option<Family> = None;
    let mut transport = None;
    let mut s = text;
    if let Some((prefix, rest)) = s.split_once('@') {
        match prefix {
            "unix" | "uxst" | "uxdg" => {
                if rest.is_empty() {
                    return Err(format!("missing path in '{text}'"));
                }
                return Ok(plain(Endpoint::Unix {
                    path: PathBuf::from(rest),
                }));
            }
            "abns" => {
                return Ok(plain(Endpoint::Abstract {
                    name: rest.to_string(),
                }));
            }
            "fd" | "sockpair" => {
                let fd = strict_u32(rest)
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(|| {
                        format!("file descriptor '{rest}' is not a valid integer in '{text}'")
                    })?;
                let ep = if prefix == "fd" {
                    Endpoint::Fd { fd }
                } else {
                    Endpoint::SockPair { fd }
                };
                return Ok(plain(ep));
            }
            "ipv4" | "udp4" | "tcp4" | "quic4" => family = Some(Family::Ipv4),
            "ipv6" | "udp6" | "tcp6" | "quic6" => family = Some(Family::Ipv6),
            "udp" | "tcp" | "stream" | "dgram" => {}
            "ring" => return Err(format!("unsupported address family 'ring' in '{text}'")),
            _ => return Err(format!("unknown address family '{prefix}' in '{text}'")),
        }
        if prefix != "ipv4" && prefix != "ipv6" {
            transport = Some(prefix.to_string());
        }
        s = rest;
    }
    if s.starts_with('/') && family.is_none() {
        return Ok(plain(Endpoint::Unix {
            path: PathBuf::from(s),
        }));
    }
    // Host and port: `[v6]:p`, `v6:p` (last colon), `v4:p`, `:p`, `*:p`.
    let (host_text, port_text) = if let Some(inner) = s.strip_prefix('[') {
        match inner.split_once(']') {
            Some((h, tail)) => match tail.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if tail.is_empty() => (h, None),
                None => return Err(format!("invalid address: '{s}' in '{text}'")),
            },
            None => return Err(format!("invalid address: '{s}' in '{text}'")),
        }
    } else {
        match s.rfind(':') {
            Some(pos) => {
                let host = &s[..pos];
                // A bare IPv6 address without a port ("::1") is allowed for
                // servers: only split if the head is a plausible host.
                if usage != AddrUse::Bind && host.contains(':') && s.parse::<Ipv6Addr>().is_ok() {
                    (s, None)
                } else {
                    (host, Some(&s[pos + 1..]))
                }
            }
            None => (s, None),
        }
    };
    let host = parse_host(host_text, family)
        .ok_or_else(|| format!("invalid address: '{host_text}' in '{text}'"))?;
    let mut port_offset = None;
    let ports = match port_text {
        None | Some("") => {
            if usage == AddrUse::Bind {
                return Err(format!("missing port specification in '{text}'"));
            }
            None
        }
        Some(p) => {
            if usage == AddrUse::Server && (p.starts_with('+') || p.starts_with('-')) {
                // 2.6 reads offsets with atoi: `+x` is an offset of 0.
                let off = i32::try_from(atol(p)).map_err(|_| format!("invalid port '{p}'"))?;
                port_offset = Some(off);
                None
            } else if let Some(c) = p
                .chars()
                .next()
                .filter(|c| usage == AddrUse::Server && !c.is_ascii_digit())
            {
                return Err(format!(
                    "invalid character '{c}' in port number '{p}' in '{text}'\n"
                ));
            } else if usage == AddrUse::Server && p.contains('-') {
                return Err(format!("port range not permitted here in '{text}'"));
            } else if let Some((a, b)) = p.split_once('-').filter(|_| usage == AddrUse::Bind) {
                let lo = port_number(a).ok_or_else(|| format!("invalid port '{a}'"))?;
                let hi = port_number(b).ok_or_else(|| format!("invalid port '{b}'"))?;
                if lo > hi {
                    return Err(format!("invalid port range '{p}'"));
                }
                Some((lo, hi))
            } else if usage == AddrUse::Server {
                // haproxy reads server ports with atol: `8x` is port 8.
                let v = atol(p);
                let port = u16::try_from(v).map_err(|_| format!("invalid port '{p}'"))?;
                Some((port, port))
            } else {
                let port = port_number(p).ok_or_else(|| format!("invalid port '{p}'"))?;
                Some((port, port))
            }
        }
    };
    Ok(Address {
        endpoint: Endpoint::Inet {
            host,
            ports,
            family,
        },
        port_offset,
        transport,
    })
}

fn plain(endpoint: Endpoint) -> Address {
    Address {
        endpoint,
        port_offset: None,
        transport: None,
    }
}

fn port_number(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `*`, empty, an IP literal or a host name.
fn parse_host(h: &str, family: Option<Family>) -> Option<Host> {
    if h.is_empty() || h == "*" {
        return Some(Host::Any);
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return match (family, ip) {
            (Some(Family::Ipv4), IpAddr::V6(_)) | (Some(Family::Ipv6), IpAddr::V4(_)) => None,
            _ => Some(Host::Ip(ip)),
        };
    }
    if is_hostname(h) {
        Some(Host::Name(h.to_string()))
    } else {
        None
    }
}

/// A syntactically valid DNS name (letters, digits, `-`, `.`, `_`).
pub fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars().any(|c| c.is_ascii_alphabetic())
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// A network for `except`: `a.b.c.d[/len|/mask]` or `v6[/len]`.
pub fn parse_network(s: &str) -> Option<Prefix> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            Ok(_) => return None,
            Err(_) => {
                let mask: Ipv4Addr = l.parse().ok()?;
                let bits = u32::from(mask);
                let n = bits.leading_ones();
                if bits.checked_shl(n).unwrap_or(0) != 0 || !ip.is_ipv4() {
                    return None;
                }
                n as u8
            }
        },
    };
    Some(Prefix { addr: ip, len })
}

/// haproxy's suggestion for a mistyped keyword: the closest candidate by
/// edit distance, when close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.len() > 64 {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c.len() > 64 {
            continue;
        }
        let d = edit_distance(word, c);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (word.len().max(c.len()) / 3).max(1);
    (d > 0 && d <= limit).then_some(c)
}

/// The `; did you mean 'X' maybe ?` tail haproxy appends to an unknown
/// keyword's message (empty without a close candidate).
pub fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|s| format!("; did you mean '{s}' maybe ?"))
        .unwrap_or_default()
}

/// Optimal-string-alignment distance (transpositions count as one edit).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("5000", 1), Ok(Duration::from_millis(5000)));
        assert_eq!(parse_time("5s", 1), Ok(Duration::from_secs(5)));
        assert_eq!(parse_time("1m", 1), Ok(Duration::from_secs(60)));
        assert_eq!(parse_time("2h", 1), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_time("1d", 1), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_time("250us", 1), Ok(Duration::from_micros(250)));
        assert_eq!(parse_time("10", 1000), Ok(Duration::from_secs(10)));
        assert_eq!(parse_time("1x", 1), Err(TimeError::UnexpectedChar('x')));
        assert_eq!(parse_time("abc", 1), Err(TimeError::UnexpectedChar('a')));
        assert_eq!(parse_time("25d", 1), Err(TimeError::Overflow));
        assert_eq!(
            time_error_message(&TimeError::UnexpectedChar('x'), "1x", "'timeout client'"),
            "unexpected character 'x' in 'timeout client'"
        );
    }

    #[test]
    fn sizes_and_integers() {
        assert_eq!(parse_size("16k"), Ok(16384));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("3"), Ok(3));
        assert_eq!(parse_size("3q"), Err('q'));
        assert_eq!(atol("12abc"), 12);
        assert_eq!(atol("abc"), 0);
        assert_eq!(atol("-4"), -4);
    }

    fn inet(a: &Address) -> (Host, Option<(u16, u16)>, Option<Family>) {
        match &a.endpoint {
            Endpoint::Inet {
                host,
                ports,
                family,
            } => (host.clone(), *ports, *family),
            other => panic!("not inet: {other:?}"),
        }
    }

    #[test]
    fn bind_addresses() {
        let a = parse_address(":80", AddrUse::Bind).expect("ok");
        assert_eq!(inet(&a), (Host::Any, Some((80, 80)), None));
        let a = parse_address("*:8000-8010", AddrUse::Bind).expect("ok");
        assert_eq!(inet(&a), (Host::Any, Some((8000, 8010)), None));
        let a = parse_address("[::1]:443", AddrUse::Bind).expect("ok");
        assert_eq!(inet(&a).0, Host::Ip("::1".parse().expect("ip")));
        let a = parse_address(":::80", AddrUse::Bind).expect("ok");
        assert_eq!(inet(&a).0, Host::Ip("::".parse().expect("ip")));
        let a = parse_address("ipv4@0.0.0.0:80", AddrUse::Bind).expect("ok");
        assert_eq!(inet(&a).2, Some(Family::Ipv4));
        assert_eq!(
            parse_address("unix@/run/x.sock", AddrUse::Bind)
                .expect("ok")
                .endpoint,
            Endpoint::Unix {
                path: "/run/x.sock".into()
            }
        );
        assert_eq!(
            parse_address("/run/x.sock", AddrUse::Bind)
                .expect("ok")
                .endpoint,
            Endpoint::Unix {
                path: "/run/x.sock".into()
            }
        );
        assert_eq!(
            parse_address("abns@hap", AddrUse::Bind)
                .expect("ok")
                .endpoint,
            Endpoint::Abstract { name: "hap".into() }
        );
        assert_eq!(
            parse_address("fd@3", AddrUse::Bind).expect("ok").endpoint,
            Endpoint::Fd { fd: 3 }
        );
        assert_eq!(
            parse_address("sockpair@4", AddrUse::Bind)
                .expect("ok")
                .endpoint,
            Endpoint::SockPair { fd: 4 }
        );
        assert_eq!(
            parse_address("1.2.3.4", AddrUse::Bind),
            Err("missing port specification in '1.2.3.4'".into())
        );
        assert_eq!(
            parse_address("1.2.3.4:99999", AddrUse::Bind),
            Err("invalid port '99999'".into())
        );
        assert_eq!(
            parse_address("1.2.3.4:80-70", AddrUse::Bind),
            Err("invalid port range '80-70'".into())
        );
        assert_eq!(
            parse_address("a b:80", AddrUse::Bind),
            Err("invalid address: 'a b' in 'a b:80'".into())
        );
    }

    #[test]
    fn server_addresses() {
        let a = parse_address("10.0.0.1", AddrUse::Server).expect("ok");
        assert_eq!(
            inet(&a),
            (Host::Ip("10.0.0.1".parse().expect("ip")), None, None)
        );
        let a = parse_address("10.0.0.1:+1000", AddrUse::Server).expect("ok");
        assert_eq!(a.port_offset, Some(1000));
        let a = parse_address("app.example:8080", AddrUse::Server).expect("ok");
        assert_eq!(
            inet(&a),
            (Host::Name("app.example".into()), Some((8080, 8080)), None)
        );
        let a = parse_address("::1", AddrUse::Server).expect("ok");
        assert_eq!(inet(&a).1, None);
    }

    #[test]
    fn networks() {
        assert_eq!(parse_network("127.0.0.0/8").map(|p| p.len), Some(8));
        assert_eq!(
            parse_network("10.0.0.0/255.255.0.0").map(|p| p.len),
            Some(16)
        );
        assert_eq!(parse_network("::1").map(|p| p.len), Some(128));
        assert!(parse_network("10.0.0.0/33").is_none());
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("maxcon", ["maxconn", "daemon"]),
            Some("maxconn")
        );
        assert_eq!(
            did_you_mean("deamon", ["maxconn", "daemon"]),
            Some("daemon")
        );
        assert_eq!(did_you_mean("foo", ["maxconn", "daemon"]), None);
    }
}
