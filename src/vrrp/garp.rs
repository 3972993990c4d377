//! Gratuitous ARP and unsolicited IPv6 Neighbor Advertisements, byte for byte
//! as keepalived sends them (`vrrp_arp.c`, `vrrp_ndisc.c`; reference §3.5),
//! and a small sender over an `AF_PACKET` socket bound to one interface.
//!
//! Owns: the frame layouts and the send socket. Must not touch: timing (how
//! many, how often: `garp_master_repeat`/`_delay`/`_refresh` belong to the
//! driver), addresses (`vrrp::addr`), the state machine.
//!
//! Binding an `AF_PACKET` socket needs a `sockaddr_ll`, which neither socket2
//! nor nix can build without `unsafe`; that is the only reason for the allow.
#![allow(unsafe_code)]

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;
use pnet_packet::MutablePacket;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

/// Length of a gratuitous ARP frame: Ethernet 14 + ARP 28 (no padding; the
/// NIC pads to 60 on real wires, veth does not).
pub const ARP_FRAME_LEN: usize = 42;
/// Length of an unsolicited NA frame: Ethernet 14 + IPv6 40 + NA 24 + option 8.
pub const NA_FRAME_LEN: usize = 86;

const ETH_LEN: usize = 14;
const IPV6_LEN: usize = 40;
const NA_LEN: usize = 24;
const OPT_LEN: usize = 8;
const BROADCAST: [u8; 6] = [0xff; 6];
/// `ff02::1` mapped to Ethernet (RFC 2464 §7).
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn mac(b: [u8; 6]) -> MacAddr {
    MacAddr::new(b[0], b[1], b[2], b[3], b[4], b[5])
}

/// A gratuitous ARP for `vip` from the interface whose address is `src_mac`:
/// broadcast, ARP *request*, sender = (ours, VIP), target = (ff:…:ff, VIP).
pub fn gratuitous_arp(src_mac: [u8; 6], vip: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut buf = [0u8; ARP_FRAME_LEN];
    let mut eth = MutableEthernetPacket::new(&mut buf).expect("buffer holds an Ethernet header");
    eth.set_destination(mac(BROADCAST));
    eth.set_source(mac(src_mac));
    eth.set_ethertype(EtherTypes::Arp);
    let mut arp = MutableArpPacket::new(eth.payload_mut()).expect("buffer holds an ARP body");
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherTypes::Ipv4);
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(ArpOperations::Request);
    arp.set_sender_hw_addr(mac(src_mac));
    arp.set_sender_proto_addr(vip);
    arp.set_target_hw_addr(mac(BROADCAST));
    arp.set_target_proto_addr(vip);
    buf
}

/// An unsolicited Neighbor Advertisement for `vip`: to `ff02::1`
/// (33:33:00:00:00:01) from the VIP itself, hop limit 255, Override set
/// (+ Router when the interface forwards), target link-layer option = ours.
pub fn unsolicited_na(src_mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let mut buf = [0u8; NA_FRAME_LEN];
    {
        let mut eth =
            MutableEthernetPacket::new(&mut buf).expect("buffer holds an Ethernet header");
        eth.set_destination(mac(ALL_NODES_MAC));
        eth.set_source(mac(src_mac));
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    {
        let mut ip = MutableIpv6Packet::new(&mut buf[ETH_LEN..]).expect("buffer holds IPv6");
        ip.set_version(6);
        ip.set_payload_length((NA_LEN + OPT_LEN) as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(vip);
        ip.set_destination(ALL_NODES);
    }
    let icmp_at = ETH_LEN + IPV6_LEN;
    {
        let mut na = MutableNeighborAdvertPacket::new(&mut buf[icmp_at..])
            .expect("buffer holds the advertisement");
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code(0));
        let mut flags = NeighborAdvertFlags::Override;
        if router {
            flags |= NeighborAdvertFlags::Router;
        }
        na.set_flags(flags);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: src_mac.to_vec(),
        }]);
    }
    let sum = icmpv6::checksum(
        &Icmpv6Packet::new(&buf[icmp_at..]).expect("buffer holds ICMPv6"),
        &vip,
        &ALL_NODES,
    );
    buf[icmp_at + 2..icmp_at + 4].copy_from_slice(&sum.to_be_bytes());
    buf
}

/// Whether IPv6 forwarding is on for `ifname` in the caller's namespace
/// (keepalived then sets the NA's Router flag). Unreadable counts as off.
pub fn ipv6_forwarding(ifname: &str) -> bool {
    fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .is_ok_and(|v| v.trim() == "1")
}

/// A send-only `AF_PACKET` socket bound to one interface.
#[derive(Debug)]
pub struct Sender {
    socket: Socket,
    mac: [u8; 6],
    router: bool,
}

impl Sender {
    /// Open a raw packet socket on interface `ifindex`, whose Ethernet address
    /// is `mac`. `router` sets the Router flag of the NAs (see
    /// [`ipv6_forwarding`]). Protocol 0: the socket never receives.
    pub fn open(ifindex: u32, mac: [u8; 6], router: bool) -> io::Result<Self> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.set_cloexec(true)?;
        socket.bind(&link_addr(ifindex)?)?;
        Ok(Sender {
            socket,
            mac,
            router,
        })
    }

    /// Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `vip`.
    pub fn announce(&self, vip: IpAddr) -> io::Result<()> {
        let sent = match vip {
            IpAddr::V4(a) => self.socket.send(&gratuitous_arp(self.mac, a))?,
            IpAddr::V6(a) => self
                .socket
                .send(&unsolicited_na(self.mac, a, self.router))?,
        };
        let want = if vip.is_ipv4() {
            ARP_FRAME_LEN
        } else {
            NA_FRAME_LEN
        };
        if sent == want {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short AF_PACKET send",
            ))
        }
    }
}

/// A `sockaddr_ll` naming interface `ifindex` (protocol 0: send only).
fn link_addr(ifindex: u32) -> io::Result<SockAddr> {
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `SockAddrStorage` is a zeroed `sockaddr_storage` (128 bytes,
    // aligned for any sockaddr); `sockaddr_ll` is 20 bytes of plain integers,
    // so viewing its start as one is in bounds and every bit pattern is valid.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_ifindex = ifindex;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised `sockaddr_ll` with family
    // AF_PACKET, and `len` is exactly its size.
    Ok(unsafe { SockAddr::new(storage, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    #[test]
    fn gratuitous_arp_bytes() {
        let f = gratuitous_arp(MAC, Ipv4Addr::new(198, 51, 100, 10));
        #[rustfmt::skip]
        let want: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // dst: broadcast
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30,   // src: ours
            0x08, 0x06,                           // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4,         // Ethernet / IPv4
            0x00, 0x01,                           // request
            0x02, 0x00, 0x5e, 0x10, 0x20, 0x30,   // sender MAC
            198, 51, 100, 10,                     // sender IP = VIP
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // target MAC: ff:ff:ff:ff:ff:ff
            198, 51, 100, 10,                     // target IP = VIP
        ];
        assert_eq!(f, want);
    }

    #[test]
    fn unsolicited_na_bytes() {
        let vip: Ipv6Addr = "2001:db8::10".parse().expect("ip");
        let f = unsolicited_na(MAC, vip, false);
        let v = vip.octets();
        let mut want = vec![0x33, 0x33, 0, 0, 0, 1];
        want.extend_from_slice(&MAC);
        want.extend_from_slice(&[0x86, 0xdd]);
        // IPv6: version 6, class 0, flow 0, length 32, ICMPv6, hop limit 255.
        want.extend_from_slice(&[0x60, 0, 0, 0, 0, 32, 58, 255]);
        want.extend_from_slice(&v);
        want.extend_from_slice(&ALL_NODES.octets());
        // ICMPv6 136/0, checksum (checked below), flags O, reserved.
        want.extend_from_slice(&[136, 0, 0, 0, 0x20, 0, 0, 0]);
        want.extend_from_slice(&v);
        want.extend_from_slice(&[2, 1]);
        want.extend_from_slice(&MAC);
        let mut got = f.to_vec();
        let sum = u16::from_be_bytes([got[56], got[57]]);
        got[56..58].copy_from_slice(&[0, 0]);
        assert_eq!(got, want);
        assert_eq!(sum, reference_checksum(&f), "ICMPv6 checksum");
        assert_ne!(sum, 0);
    }

    #[test]
    fn router_flag_when_forwarding() {
        let f = unsolicited_na(MAC, "2001:db8::10".parse().expect("ip"), true);
        assert_eq!(f[58], 0xa0, "Router + Override");
        assert_eq!(u16::from_be_bytes([f[56], f[57]]), reference_checksum(&f));
    }

    /// RFC 4443 §2.3 checksum computed independently of pnet: pseudo-header
    /// (src, dst, upper-layer length, next header) + the ICMPv6 message.
    fn reference_checksum(frame: &[u8]) -> u16 {
        let ip = &frame[ETH_LEN..ETH_LEN + IPV6_LEN];
        let mut icmp = frame[ETH_LEN + IPV6_LEN..].to_vec();
        icmp[2] = 0;
        icmp[3] = 0;
        let mut data = Vec::new();
        data.extend_from_slice(&ip[8..40]);
        data.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        data.extend_from_slice(&[0, 0, 0, 58]);
        data.extend_from_slice(&icmp);
        let mut sum: u32 = data
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }
}
