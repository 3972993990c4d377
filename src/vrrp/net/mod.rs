//! VRRP sockets: raw IP protocol 112 per (interface, family), as
//! keepalived's socket pool. `v4` writes its own IPv4 header; `v6` lets the
//! kernel build it. `Socket` lets the driver treat both alike.

mod v4;
mod v6;

pub use v4::{Ipv4Socket, ipv4_header, parse_ipv4, primary_ipv4};
pub use v6::{Ipv6Socket, link_local};

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// keepalived's TOS / traffic class for adverts (precedence "internetwork
/// control").
pub const TOS: u8 = 0xc0;

/// A received VRRP packet: IP header facts and where the payload is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Byte range of the VRRP message in the receive buffer.
    pub payload: (usize, usize),
}

/// A VRRP socket of either family.
pub enum Socket {
    V4(Ipv4Socket),
    V6(Ipv6Socket),
}

impl Socket {
    /// Opens a socket on `ifname` for the family of `group` (multicast) or
    /// of `src` (unicast); `v6` picks the family. `src` overrides the interface's
    /// default source (primary IPv4 or IPv6 link-local).
    pub fn open(
        ifname: &str,
        v6: bool,
        src: Option<IpAddr>,
        group: Option<IpAddr>,
        ah: bool,
    ) -> io::Result<Socket> {
        if v6 {
            let (src, group) = (
                src.map(only_v6).transpose()?,
                group.map(only_v6).transpose()?,
            );
            Ok(Socket::V6(Ipv6Socket::open(ifname, src, group)?))
        } else {
            let (src, group) = (
                src.map(only_v4).transpose()?,
                group.map(only_v4).transpose()?,
            );
            let proto = if ah {
                crate::vrrp::ah::PROTO_AH
            } else {
                crate::vrrp::packet::PROTO_VRRP
            };
            Ok(Socket::V4(Ipv4Socket::open_proto(
                ifname, src, group, proto,
            )?))
        }
    }

    /// The address adverts are sent from.
    pub fn source(&self) -> IpAddr {
        match self {
            Socket::V4(s) => IpAddr::V4(s.source()),
            Socket::V6(s) => IpAddr::V6(s.source()),
        }
    }

    /// The socket, for polling.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::V4(s) => s.as_fd(),
            Socket::V6(s) => s.as_fd(),
        }
    }

    /// Sends one VRRP message to `dst`. `ttl` is the IPv4 TTL; for IPv6 it
    /// applies to unicast only when configured (`unicast_ttl`).
    pub fn send(&mut self, vrrp: &[u8], dst: IpAddr, ttl: u8, unicast_ttl: bool) -> io::Result<()> {
        match (self, dst) {
            (Socket::V4(s), IpAddr::V4(d)) => s.send(vrrp, d, ttl),
            (Socket::V6(s), IpAddr::V6(d)) => s.send(vrrp, d, unicast_ttl.then_some(ttl)),
            _ => Err(mismatch()),
        }
    }

    /// Waits up to `timeout` for a datagram.
    pub fn recv(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<Option<Received>> {
        match self {
            Socket::V4(s) => s.recv(buf, timeout),
            Socket::V6(s) => s.recv(buf, timeout),
        }
    }
}

fn mismatch() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "address family mismatch")
}

fn only_v4(a: IpAddr) -> io::Result<Ipv4Addr> {
    match a {
        IpAddr::V4(x) => Ok(x),
        IpAddr::V6(_) => Err(mismatch()),
    }
}

fn only_v6(a: IpAddr) -> io::Result<Ipv6Addr> {
    match a {
        IpAddr::V6(x) => Ok(x),
        IpAddr::V4(_) => Err(mismatch()),
    }
}
