//! Value types used by both halves of the model.

use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// A span of time with microsecond resolution (keepalived reads µs,
/// haproxy accepts `us`). Serialized as a number of microseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Duration {
    micros: u64,
}

impl Duration {
    /// Zero.
    pub const ZERO: Duration = Duration { micros: 0 };

    /// From microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration { micros }
    }

    /// From milliseconds (saturating).
    pub const fn from_millis(ms: u64) -> Self {
        Duration {
            micros: ms.saturating_mul(1000),
        }
    }

    /// From seconds (saturating).
    pub const fn from_secs(s: u64) -> Self {
        Duration {
            micros: s.saturating_mul(1_000_000),
        }
    }

    /// Microseconds.
    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    /// Whole milliseconds (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.micros / 1000
    }

    /// As a `std::time::Duration`, for the runtimes.
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.micros)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.micros;
        if us % 1_000_000 == 0 {
            write!(f, "{}s", us / 1_000_000)
        } else if us % 1000 == 0 {
            write!(f, "{}ms", us / 1000)
        } else {
            write!(f, "{us}us")
        }
    }
}

/// An IP network or a host address with its prefix length (`10.0.0.1/24`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// The host prefix of an address (/32 or /128).
    pub fn host(addr: IpAddr) -> Self {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Prefix { addr, len }
    }

    /// Whether `ip` falls inside this network (never across families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let bits = u32::from(self.len.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let bits = u32::from(self.len.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The host part of an internet endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Host {
    /// `*`, `0.0.0.0`-style "any" written as empty or `*` (haproxy binds).
    Any,
    /// A literal address.
    Ip(IpAddr),
    /// A name resolved when the runtime starts (haproxy servers).
    Name(String),
}

/// Address family forced by a prefix such as haproxy's `ipv4@`/`ipv6@`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// Where a socket lives: every address form either original accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Endpoint {
    /// An internet address with an optional port range (`first..=last`;
    /// both equal for a single port; `None` when no port was written).
    Inet {
        host: Host,
        ports: Option<(u16, u16)>,
        family: Option<Family>,
    },
    /// A UNIX stream socket path (`unix@/p` or `/p`).
    Unix { path: PathBuf },
    /// A Linux abstract-namespace socket (`abns@name`).
    Abstract { name: String },
    /// An inherited file descriptor (`fd@N`).
    Fd { fd: i32 },
    /// One end of an inherited socket pair (`sockpair@N`).
    SockPair { fd: i32 },
}

/// An external program to run: notify scripts, check scripts, track scripts.
/// `argv[0]` is the program; no shell is involved unless the program is one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Script {
    pub argv: Vec<String>,
    /// Run as this user (keepalived `script_user` or the script's own).
    pub user: Option<String>,
    pub group: Option<String>,
}
