//! VRRPv3 over raw IPv6 sockets (reference/keepalived.md §3.1 "Sockets"):
//! protocol 112, bound to the interface, `ff02::12` joined with loopback
//! off, traffic class 0xc0, hop limit 255 for multicast. The kernel builds
//! the IPv6 header; the hop limit and destination of received packets come
//! from `IPV6_HOPLIMIT` / `IPV6_PKTINFO` control messages. keepalived asks
//! the kernel to checksum (`IPV6_CHECKSUM`); we compute the same RFC 8200
//! pseudo-header checksum in `packet` and verify it on receipt, which gives
//! identical bytes on the wire without an unsafe setsockopt.

use super::{Received, TOS};
use crate::vrrp::packet::PROTO_VRRP;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrIn6, recvmsg, setsockopt, sockopt};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// One raw IPv6 socket on one interface.
pub struct Ipv6Socket {
    sock: Socket,
    src: Ipv6Addr,
    ifindex: u32,
}

/// The interface's link-local address (keepalived's default IPv6 source).
pub fn link_local(ifname: &str) -> Option<Ipv6Addr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        if ifa.interface_name != ifname {
            return None;
        }
        let a = ifa.address?.as_sockaddr_in6()?.ip();
        a.is_unicast_link_local().then_some(a)
    })
}

fn scope(addr: &Ipv6Addr, ifindex: u32) -> u32 {
    if addr.is_unicast_link_local() || addr.is_multicast() {
        ifindex
    } else {
        0
    }
}

impl Ipv6Socket {
    /// Opens the socket on `ifname`, joins `group` when given, and sends
    /// from `src` (or the interface's link-local address).
    pub fn open(ifname: &str, src: Option<Ipv6Addr>, group: Option<Ipv6Addr>) -> io::Result<Self> {
        let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(io::Error::from)?;
        let src = src.or_else(|| link_local(ifname)).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no IPv6 link-local address on {ifname}"),
            )
        })?;
        let sock = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(i32::from(PROTO_VRRP))),
        )?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        sock.set_tclass_v6(u32::from(TOS))?;
        sock.set_multicast_hops_v6(255)?;
        sock.set_recv_hoplimit_v6(true)?;
        setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
        // Binding fixes the source the kernel writes, which the checksum covers.
        let local = SocketAddrV6::new(src, 0, 0, scope(&src, ifindex));
        sock.bind(&SockAddr::from(local))?;
        if let Some(g) = group {
            sock.join_multicast_v6(&g, ifindex)?;
            sock.set_multicast_loop_v6(false)?;
            sock.set_multicast_if_v6(ifindex)?;
        }
        Ok(Ipv6Socket { sock, src, ifindex })
    }

    /// The socket, for polling.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// The address adverts are sent from.
    pub fn source(&self) -> Ipv6Addr {
        self.src
    }

    /// Sends one VRRP message to `dst`; `hops` overrides the hop limit of
    /// unicast packets (multicast always goes with 255).
    pub fn send(&mut self, vrrp: &[u8], dst: Ipv6Addr, hops: Option<u8>) -> io::Result<()> {
        if let Some(h) = hops {
            self.sock.set_unicast_hops_v6(u32::from(h))?;
        }
        let to = SockAddr::from(SocketAddrV6::new(dst, 0, 0, scope(&dst, self.ifindex)));
        self.sock.send_to(vrrp, &to)?;
        Ok(())
    }

    /// Waits up to `timeout` (None = forever) for a datagram; the payload
    /// range covers the whole buffer written (raw IPv6 sockets deliver no
    /// IP header).
    pub fn recv(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<Option<Received>> {
        self.sock
            .set_read_timeout(timeout.map(|t| t.max(Duration::from_micros(1))))?;
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let (len, from, hops, dst) = {
            let mut iov = [IoSliceMut::new(buf)];
            let msg = match recvmsg::<SockaddrIn6>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            ) {
                Ok(m) => m,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::ETIMEDOUT) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let mut hops = None;
            let mut dst = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        ControlMessageOwned::Ipv6HopLimit(h) => hops = u8::try_from(h).ok(),
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                        }
                        _ => {}
                    }
                }
            }
            (msg.bytes, msg.address.map(|a| a.ip()), hops, dst)
        };
        let (Some(src), Some(ttl), Some(dst)) = (from, hops, dst) else {
            return Ok(None);
        };
        Ok(Some(Received {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl,
            payload: (0, len),
        }))
    }
}
