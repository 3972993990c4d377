//! VRRP over raw IPv4 sockets (reference/keepalived.md §3.1 "Sockets"):
//! protocol 112, bound to the interface, the multicast group joined with
//! loopback off, and the IPv4 header written by us as keepalived does
//! (`IP_HDRINCL`: TOS 0xc0, TTL 255, DF clear, an incrementing ID that
//! skips 0). Receiving returns the header fields validation needs.

use super::{Received, TOS};
use crate::vrrp::packet::PROTO_VRRP;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const IPV4_HEADER: usize = 20;

/// Writes a 20-byte IPv4 header for a VRRP payload of `payload_len` bytes.
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    id: u16,
    payload_len: usize,
) -> [u8; IPV4_HEADER] {
    let total = u16::try_from(IPV4_HEADER + payload_len).unwrap_or(u16::MAX);
    let mut h = [0u8; IPV4_HEADER];
    h[0] = 0x45;
    h[1] = TOS;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    // flags/fragment offset stay 0: keepalived does not set DF.
    h[8] = ttl;
    h[9] = PROTO_VRRP;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let mut sum: u32 = h
        .chunks_exact(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    h
}

/// Splits a raw IPv4 datagram as the kernel hands it to a raw socket.
pub fn parse_ipv4(buf: &[u8]) -> Option<Received> {
    let first = *buf.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < IPV4_HEADER || buf.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]])).min(buf.len());
    if total < ihl {
        return None;
    }
    Some(Received {
        src: IpAddr::V4(Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15])),
        dst: IpAddr::V4(Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19])),
        ttl: buf[8],
        payload: (ihl, buf.len()),
    })
}

/// One raw socket on one interface.
pub struct Ipv4Socket {
    sock: Socket,
    src: Ipv4Addr,
    id: u16,
}

/// The interface's first IPv4 address (keepalived's default source).
pub fn primary_ipv4(ifname: &str) -> Option<Ipv4Addr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        if ifa.interface_name != ifname {
            return None;
        }
        ifa.address?.as_sockaddr_in().map(|s| s.ip())
    })
}

impl Ipv4Socket {
    /// Opens the socket on `ifname`, joins `group` when given (multicast
    /// mode), and sends from `src` (or the interface's primary address).
    pub fn open(ifname: &str, src: Option<Ipv4Addr>, group: Option<Ipv4Addr>) -> io::Result<Self> {
        Self::open_proto(ifname, src, group, PROTO_VRRP)
    }

    /// As `open`, for IP protocol `proto` (51 for `auth_type AH`).
    pub fn open_proto(
        ifname: &str,
        src: Option<Ipv4Addr>,
        group: Option<Ipv4Addr>,
        proto: u8,
    ) -> io::Result<Self> {
        let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(io::Error::from)?;
        let src = src.or_else(|| primary_ipv4(ifname)).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no IPv4 address on {ifname}"),
            )
        })?;
        let sock = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(proto))),
        )?;
        sock.bind_device(Some(ifname.as_bytes()))?;
        sock.set_header_included_v4(true)?;
        if let Some(g) = group {
            sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex))?;
            sock.set_multicast_loop_v4(false)?;
            sock.set_multicast_all_v4(false)?;
            // The socket is bound to the device, which already picks the
            // egress; on a VMAC the source belongs to the base interface and
            // the kernel refuses it here (EINVAL), harmlessly.
            let _ = sock.set_multicast_if_v4(&src);
        }
        Ok(Ipv4Socket { sock, src, id: 0 })
    }

    /// The socket, for polling.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.sock.as_fd()
    }

    /// The address adverts are sent from.
    pub fn source(&self) -> Ipv4Addr {
        self.src
    }

    /// Sends one VRRP message to `dst` with `ttl`.
    pub fn send(&mut self, vrrp: &[u8], dst: Ipv4Addr, ttl: u8) -> io::Result<()> {
        let id = self.next_id();
        let header = ipv4_header(self.src, dst, ttl, id, vrrp.len());
        let mut frame = Vec::with_capacity(IPV4_HEADER + vrrp.len());
        frame.extend_from_slice(&header);
        frame.extend_from_slice(vrrp);
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.sock.send_to(&frame, &to)?;
        Ok(())
    }

    /// The IP ID of the next datagram: keepalived's IDs run from 1 and skip
    /// 0 (the kernel would replace a 0, breaking an AH ICV over it).
    pub fn next_id(&mut self) -> u16 {
        self.id = self.id.wrapping_add(1).max(1);
        self.id
    }

    /// Sends a complete IPv4 datagram built by the caller (AH).
    pub fn send_datagram(&self, datagram: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.sock.send_to(datagram, &to)?;
        Ok(())
    }

    /// Waits up to `timeout` (None = forever) for a datagram.
    pub fn recv(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<Option<Received>> {
        self.sock
            .set_read_timeout(timeout.map(|t| t.max(Duration::from_micros(1))))?;
        match (&self.sock).read(buf) {
            Ok(n) => Ok(parse_ipv4(&buf[..n])),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_keepalived_capture() {
        // keepalived 2.2.7, v2 multicast advert with 2 VIPs + PASS (36 bytes of VRRP):
        // 45c0 002c 0001 0000 ff70 .... src e0000012
        let h = ipv4_header(
            Ipv4Addr::new(192, 168, 50, 1),
            Ipv4Addr::new(224, 0, 0, 18),
            255,
            1,
            24,
        );
        assert_eq!(
            &h[..10],
            &[0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70]
        );
        let check = u16::from_be_bytes([h[10], h[11]]);
        let mut copy = h;
        copy[10] = 0;
        copy[11] = 0;
        let mut sum: u32 = copy
            .chunks_exact(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(check, !(sum as u16));
        let r = parse_ipv4(&h).expect("parses");
        assert_eq!(
            (r.ttl, r.dst),
            (255, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)))
        );
    }

    #[test]
    fn garbage_is_not_an_ipv4_packet() {
        assert_eq!(parse_ipv4(&[]), None);
        assert_eq!(parse_ipv4(&[0x60; 40]), None);
        assert_eq!(parse_ipv4(&[0x4f, 0, 0, 0]), None);
    }
}
