//! Addresses and words of route and rule lines, read as keepalived 2.2.7
//! reads them: `default`/`any`/`all` (and `default6`) for "everything", a
//! too long or unreadable `/len` replaced by the host length with a warning,
//! and keepalived's fatal "missing a parameter" error for a line that ends
//! after a keyword that needs a value.
//!
//! Owns: one word → one address. Must not touch: the rest of the grammar.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::names::read_unsigned;
use crate::model::Prefix;

/// An address family of a route or rule line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `AF_INET`.
    V4,
    /// `AF_INET6`.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    /// The unspecified address (`0.0.0.0` or `::`) of the family.
    pub fn any(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// A destination or source word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// `default`, `any` or `all`: length 0 in whatever family the line has.
    Any,
    /// `default6`: `::/0`.
    Any6,
    /// An address with its length (the host length when none is written).
    Prefix(Prefix),
}

impl Net {
    /// The family this word fixes, if any.
    pub fn family(self) -> Option<Family> {
        match self {
            Net::Any => None,
            Net::Any6 => Some(Family::V6),
            Net::Prefix(p) => Some(Family::of(p.addr)),
        }
    }

    /// The prefix in `family` (keepalived sends `0.0.0.0/0` or `::/0` for "any").
    pub fn resolve(self, family: Family) -> Prefix {
        match self {
            Net::Prefix(p) => p,
            Net::Any | Net::Any6 => Prefix {
                addr: family.any(),
                len: 0,
            },
        }
    }
}

/// keepalived's `parse_route`: a network word, or `None` after logging
/// "VRRP parsed invalid IP …". `default`/`any`/`all` are allowed when `any`.
pub fn net(word: &str, any: bool, notes: &mut Vec<String>) -> Option<Net> {
    match word {
        "default" | "any" | "all" if any => return Some(Net::Any),
        "default6" if any => return Some(Net::Any6),
        _ => {}
    }
    let (addr, len) = match word.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (word, None),
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        notes.push(format!("VRRP parsed invalid IP {word}. skipping IP..."));
        return None;
    };
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match read_unsigned(l, 10, 0, u32::from(max)) {
            Ok(n) => u8::try_from(n).unwrap_or(max),
            Err(e) => {
                // keepalived keeps the address, as a host.
                notes.push(e);
                notes.push(format!(
                    "Invalid address prefix len {l} for address {word} - using {max}"
                ));
                max
            }
        },
    };
    Some(Net::Prefix(Prefix { addr, len }))
}

/// keepalived's `parse_ipaddress` for `via`, `src`, `or` and nexthops: an
/// address (a `/len` is read and dropped).
pub fn host(word: &str, notes: &mut Vec<String>) -> Option<IpAddr> {
    match net(word, false, notes)? {
        Net::Prefix(p) => Some(p.addr),
        Net::Any | Net::Any6 => None,
    }
}

/// The message keepalived's reader logs (and gives up on the configuration
/// after) when a line ends where a keyword needs its value: `missing` is
/// the index of the absent word.
pub fn missing_parameter(words: &[String], missing: usize) -> String {
    format!(
        "*** Configuration line starting `{}` is missing a parameter after keyword `{}` at word position {}",
        words.first().map_or("", String::as_str),
        missing
            .checked_sub(1)
            .and_then(|k| words.get(k))
            .map_or("", String::as_str),
        missing + 1
    )
}

/// The words of one line with a cursor: values of keywords are fetched
/// through [`Words::value`], which records the missing-parameter error.
pub struct Words<'a> {
    /// The line.
    pub words: &'a [String],
    /// keepalived's messages so far, in order.
    pub notes: Vec<String>,
}

impl<'a> Words<'a> {
    /// A cursor over `words`.
    pub fn new(words: &'a [String]) -> Words<'a> {
        Words {
            words,
            notes: Vec::new(),
        }
    }

    /// The word at `j`, or `None` after recording the missing-parameter error.
    pub fn value(&mut self, j: usize) -> Option<&'a str> {
        let w = self.words.get(j).map(String::as_str);
        if w.is_none() {
            self.notes.push(missing_parameter(self.words, j));
        }
        w
    }

    /// Records a message and returns `None`, for `return w.fail(...)`.
    pub fn fail<T>(&mut self, msg: impl Into<String>) -> Option<T> {
        self.notes.push(msg.into());
        None
    }

    /// Records a message.
    pub fn note(&mut self, msg: impl Into<String>) {
        self.notes.push(msg.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn network_words() {
        let mut n = Vec::new();
        assert_eq!(net("default", true, &mut n), Some(Net::Any));
        assert_eq!(
            net("default6", true, &mut n).and_then(Net::family),
            Some(Family::V6)
        );
        assert_eq!(
            net("10.27.0.0", true, &mut n),
            Some(Net::Prefix(Prefix {
                addr: ip("10.27.0.0"),
                len: 32
            }))
        );
        assert!(n.is_empty());
        assert_eq!(
            net("10.41.0.0/33", true, &mut n),
            Some(Net::Prefix(Prefix {
                addr: ip("10.41.0.0"),
                len: 32
            }))
        );
        assert_eq!(
            n,
            vec![
                "number '33' outside range [0, 32]",
                "Invalid address prefix len 33 for address 10.41.0.0/33 - using 32"
            ]
        );
        n.clear();
        assert_eq!(net("bogus", true, &mut n), None);
        assert_eq!(n, vec!["VRRP parsed invalid IP bogus. skipping IP..."]);
        assert_eq!(
            Net::Any.resolve(Family::V6),
            Prefix {
                addr: ip("::"),
                len: 0
            }
        );
    }

    #[test]
    fn missing_parameter_wording() {
        let w: Vec<String> = [
            "10.20.0.0/16",
            "dev",
            "eth0",
            "hoplimit",
            "10",
            "mtu",
            "lock",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            missing_parameter(&w, 7),
            "*** Configuration line starting `10.20.0.0/16` is missing a parameter after keyword `lock` at word position 8"
        );
    }
}
