//! Virtual addresses and link state over rtnetlink, with keepalived's semantics
//! (`vrrp_ipaddress.c`, `netlink_ipaddress`): VIPs/eVIPs are added and removed
//! with `RTM_NEWADDR`/`RTM_DELADDR`, IPv6 VIPs get `IFA_F_NODAD` unless
//! `-nodad` and a `/128` gets `preferred_lft 0` (so it is never picked as a
//! source address) unless `preferred_lft forever`; `brd +`/`brd -` are computed
//! here. Adding an address that is there, or removing one that is gone, is not
//! an error.
//!
//! Owns: the netlink messages for addresses and the link lookups used by
//! interface tracking. Must not touch: routes, rules, VMAC links, the state
//! machine (it only carries out `fsm::Action::AddVips`/`RemoveVips`).

use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
pub use rtnetlink::Handle;

use crate::model::Prefix;
use crate::model::keepalived::VirtualAddress;

/// `INFINITY_LIFE_TIME`: a lifetime that never runs out.
const FOREVER: u32 = u32::MAX;
/// Longest `IFA_LABEL` the kernel takes (IFNAMSIZ without the NUL).
const MAX_LABEL: usize = 15;

/// What went wrong talking to the kernel about addresses and links.
#[derive(Debug, thiserror::Error)]
pub enum AddrError {
    /// The netlink socket could not be opened (no permission, no memory).
    #[error("cannot open a netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    /// The kernel answered a request with an error other than the ones we tolerate.
    #[error("{op} {addr}: {source}")]
    Kernel {
        /// `add`, `remove`, `list` or `link`.
        op: &'static str,
        /// What the request was about (address or interface name).
        addr: String,
        /// The errno the kernel returned.
        #[source]
        source: std::io::Error,
    },
    /// The netlink conversation broke (unexpected message, connection gone).
    #[error("netlink: {0}")]
    Netlink(String),
    /// No interface has that name (or index).
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    /// `brd` is neither `+`, `-` nor an IPv4 address, or was given for IPv6.
    #[error("invalid broadcast '{0}'")]
    BadBroadcast(String),
    /// `scope` is not a known scope name or a number 0..=255.
    #[error("invalid scope '{0}'")]
    BadScope(String),
    /// The label is longer than an interface name may be.
    #[error("label '{0}' is longer than {MAX_LABEL} characters")]
    BadLabel(String),
    /// The peer is of another address family than the address.
    #[error("peer {peer} does not match the family of {addr}")]
    PeerFamily {
        /// The local address.
        addr: IpAddr,
        /// The peer that was given.
        peer: IpAddr,
    },
}

/// Whether a request changed the kernel's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The address was added or removed.
    Changed,
    /// It was already there (add) or already gone (remove).
    Unchanged,
}

/// An address as the kernel reports it on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledAddress {
    /// `IFA_LOCAL` (or `IFA_ADDRESS` when there is no local) and the prefix length.
    pub prefix: Prefix,
    /// `IFA_ADDRESS` when it differs from the local address (a point-to-point peer).
    pub peer: Option<IpAddr>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_LABEL`.
    pub label: Option<String>,
    /// `ifa_scope` (0 global, 200 site, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_FLAGS` (`IFA_F_*` bits; `IFA_F_NODAD` = 0x02).
    pub flags: u32,
    /// Preferred lifetime in seconds (`u32::MAX` = forever).
    pub preferred_lft: Option<u32>,
    /// Valid lifetime in seconds (`u32::MAX` = forever).
    pub valid_lft: Option<u32>,
}

/// RFC 2863 operational state of a link (`IFLA_OPERSTATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    /// `UP`.
    Up,
    /// `DOWN`.
    Down,
    /// `LOWERLAYERDOWN` (a veth whose peer is down, a macvlan whose parent is).
    LowerLayerDown,
    /// `UNKNOWN` (loopback, tun without carrier reporting).
    Unknown,
    /// `DORMANT`, `TESTING`, `NOTPRESENT`.
    Other,
}

/// An interface: what tracking and the GARP sender need to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `ifindex`.
    pub index: u32,
    /// `IFLA_IFNAME`.
    pub name: String,
    /// The Ethernet address, when the link has a 6-byte one.
    pub mac: Option<[u8; 6]>,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_RUNNING`: the kernel considers it operational.
    pub running: bool,
    /// `IFLA_OPERSTATE`.
    pub oper: OperState,
}

impl Link {
    /// keepalived's test for a usable interface: `IFF_UP` and `IFF_RUNNING` both set.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.running
    }
}

/// Open an rtnetlink connection and spawn its driver on the current tokio
/// runtime. The socket lives in the network namespace of the calling thread.
pub fn connect() -> Result<Handle, AddrError> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(AddrError::Socket)?;
    tokio::spawn(conn);
    Ok(handle)
}

/// The scope number for a name of `/etc/iproute2/rt_scopes` or a number.
pub fn scope_number(name: &str) -> Option<u8> {
    match name {
        "global" | "universe" => Some(0),
        "site" => Some(200),
        "link" => Some(253),
        "host" => Some(254),
        "nowhere" => Some(255),
        n => n.parse().ok(),
    }
}

/// The IPv4 broadcast keepalived installs: `+` sets the host bits, `-` clears
/// them (both only for prefixes ≤ /30; longer ones get none), an address is
/// taken as is; no broadcast with a peer.
pub fn broadcast(vip: &VirtualAddress) -> Result<Option<Ipv4Addr>, AddrError> {
    let Some(brd) = vip.broadcast.as_deref() else {
        return Ok(None);
    };
    let IpAddr::V4(local) = vip.prefix.addr else {
        return Err(AddrError::BadBroadcast(brd.to_string()));
    };
    if vip.peer.is_some() {
        return Ok(None);
    }
    let len = u32::from(prefix_len(vip));
    let host_bits = u32::MAX.checked_shr(len).unwrap_or(0);
    match brd {
        "+" | "-" if len > 30 => Ok(None),
        "+" => Ok(Some(Ipv4Addr::from(u32::from(local) | host_bits))),
        "-" => Ok(Some(Ipv4Addr::from(u32::from(local) & !host_bits))),
        other => other
            .parse()
            .map(Some)
            .map_err(|_| AddrError::BadBroadcast(other.to_string())),
    }
}

/// The prefix length the kernel gets: the peer's when there is a peer (as
/// keepalived does), otherwise the address's (/32 or /128 by default).
pub fn prefix_len(vip: &VirtualAddress) -> u8 {
    vip.peer.map_or(vip.prefix.len, |p| p.len)
}

/// The `IFA_FLAGS` keepalived sets on add.
pub fn add_flags(vip: &VirtualAddress) -> AddressFlags {
    let mut flags = AddressFlags::empty();
    if vip.prefix.addr.is_ipv6() && vip.nodad {
        flags |= AddressFlags::Nodad;
    }
    for f in &vip.flags {
        flags |= match f.as_str() {
            "home" => AddressFlags::Homeaddress,
            "mngtmpaddr" => AddressFlags::Managetempaddr,
            "noprefixroute" => AddressFlags::Noprefixroute,
            "autojoin" => AddressFlags::Mcautojoin,
            _ => AddressFlags::empty(),
        };
    }
    flags
}

/// The `RTM_NEWADDR` body for a VIP on `ifindex`.
pub fn add_message(ifindex: u32, vip: &VirtualAddress) -> Result<AddressMessage, AddrError> {
    let mut msg = base_message(ifindex, vip)?;
    let v6 = vip.prefix.addr.is_ipv6();
    // keepalived drops scope and label for IPv6 (config error "Cannot specify ...").
    if !v6 {
        if let Some(s) = vip.scope.as_deref() {
            let n = scope_number(s).ok_or_else(|| AddrError::BadScope(s.to_string()))?;
            msg.header.scope = AddressScope::from(n);
        }
        if let Some(label) = &vip.label {
            if label.len() > MAX_LABEL {
                return Err(AddrError::BadLabel(label.clone()));
            }
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if let Some(brd) = broadcast(vip)? {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
    } else if vip.broadcast.is_some() {
        return Err(AddrError::BadBroadcast(
            vip.broadcast.clone().unwrap_or_default(),
        ));
    }
    let flags = add_flags(vip);
    if !flags.is_empty() {
        msg.attributes.push(AddressAttribute::Flags(flags));
    }
    if v6 && msg.header.prefix_len == 128 && !vip.preferred_lft_forever {
        // RFC 3484: a deprecated VIP is never chosen as a source address.
        let mut ci = CacheInfo::default();
        ci.ifa_preferred = 0;
        ci.ifa_valid = FOREVER;
        msg.attributes.push(AddressAttribute::CacheInfo(ci));
    }
    Ok(msg)
}

/// The `RTM_DELADDR` body for a VIP on `ifindex`.
pub fn remove_message(ifindex: u32, vip: &VirtualAddress) -> Result<AddressMessage, AddrError> {
    base_message(ifindex, vip)
}

/// Header, `IFA_LOCAL` and `IFA_ADDRESS` (the peer, or the address itself).
fn base_message(ifindex: u32, vip: &VirtualAddress) -> Result<AddressMessage, AddrError> {
    let local = vip.prefix.addr;
    let address = match vip.peer {
        Some(p) if p.addr.is_ipv4() != local.is_ipv4() => {
            return Err(AddrError::PeerFamily {
                addr: local,
                peer: p.addr,
            });
        }
        Some(p) => p.addr,
        None => local,
    };
    let mut msg = AddressMessage::default();
    msg.header.family = if local.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    msg.header.prefix_len = prefix_len(vip);
    msg.header.index = ifindex;
    msg.attributes.push(AddressAttribute::Local(local));
    msg.attributes.push(AddressAttribute::Address(address));
    Ok(msg)
}

/// The negative errno of a netlink error, if that is what `e` is.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

fn kernel_error(op: &'static str, what: String, e: rtnetlink::Error) -> AddrError {
    match e {
        rtnetlink::Error::NetlinkError(m) => AddrError::Kernel {
            op,
            addr: what,
            source: m.to_io(),
        },
        other => AddrError::Netlink(other.to_string()),
    }
}

/// Add a VIP to interface `ifindex`. EEXIST (already there) is `Unchanged`.
pub async fn add(
    handle: &Handle,
    ifindex: u32,
    vip: &VirtualAddress,
) -> Result<Outcome, AddrError> {
    let msg = add_message(ifindex, vip)?;
    let mut req = handle
        .address()
        .add(ifindex, vip.prefix.addr, msg.header.prefix_len);
    *req.message_mut() = msg;
    match req.execute().await {
        Ok(()) => Ok(Outcome::Changed),
        Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(Outcome::Unchanged),
        Err(e) => Err(kernel_error("add", vip.prefix.to_string(), e)),
    }
}

/// Remove a VIP from interface `ifindex`. An address (or interface) that is
/// already gone is `Unchanged`.
pub async fn remove(
    handle: &Handle,
    ifindex: u32,
    vip: &VirtualAddress,
) -> Result<Outcome, AddrError> {
    let msg = remove_message(ifindex, vip)?;
    match handle.address().del(msg).execute().await {
        Ok(()) => Ok(Outcome::Changed),
        Err(e) if matches!(errno(&e), Some(libc::EADDRNOTAVAIL | libc::ENODEV)) => {
            Ok(Outcome::Unchanged)
        }
        Err(e) => Err(kernel_error("remove", vip.prefix.to_string(), e)),
    }
}

/// Every address on the interface called `ifname`.
pub async fn list(handle: &Handle, ifname: &str) -> Result<Vec<InstalledAddress>, AddrError> {
    let index = link(handle, ifname).await?.index;
    let mut dump = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    let mut out = Vec::new();
    while let Some(msg) = dump
        .try_next()
        .await
        .map_err(|e| kernel_error("list", ifname.to_string(), e))?
    {
        if msg.header.index == index {
            if let Some(a) = installed(&msg) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Whether `vip` (same address and prefix length) is on the interface `ifname`.
pub async fn present(
    handle: &Handle,
    ifname: &str,
    vip: &VirtualAddress,
) -> Result<bool, AddrError> {
    let len = prefix_len(vip);
    Ok(list(handle, ifname)
        .await?
        .iter()
        .any(|a| a.prefix.addr == vip.prefix.addr && a.prefix.len == len))
}

/// Decode one `RTM_NEWADDR` of a dump.
fn installed(msg: &AddressMessage) -> Option<InstalledAddress> {
    let (mut local, mut address) = (None, None);
    let mut a = InstalledAddress {
        prefix: Prefix::host(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        peer: None,
        broadcast: None,
        label: None,
        scope: u8::from(msg.header.scope),
        flags: u32::from(msg.header.flags.bits()),
        preferred_lft: None,
        valid_lft: None,
    };
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Broadcast(b) => a.broadcast = Some(*b),
            AddressAttribute::Label(l) => a.label = Some(l.clone()),
            AddressAttribute::Flags(f) => a.flags = f.bits(),
            AddressAttribute::CacheInfo(ci) => {
                a.preferred_lft = Some(ci.ifa_preferred);
                a.valid_lft = Some(ci.ifa_valid);
            }
            _ => {}
        }
    }
    let addr = local.or(address)?;
    a.prefix = Prefix {
        addr,
        len: msg.header.prefix_len,
    };
    a.peer = address.filter(|p| *p != addr);
    Some(a)
}

/// The interface called `name`.
pub async fn link(handle: &Handle, name: &str) -> Result<Link, AddrError> {
    let mut reply = handle.link().get().match_name(name.to_string()).execute();
    match reply.try_next().await {
        Ok(Some(msg)) => Ok(link_of(&msg)),
        Ok(None) => Err(AddrError::NoSuchInterface(name.to_string())),
        Err(e) if errno(&e) == Some(libc::ENODEV) => {
            Err(AddrError::NoSuchInterface(name.to_string()))
        }
        Err(e) => Err(kernel_error("link", name.to_string(), e)),
    }
}

/// Every interface of the namespace (the initial state for link tracking).
pub async fn links(handle: &Handle) -> Result<Vec<Link>, AddrError> {
    let mut dump = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(msg) = dump
        .try_next()
        .await
        .map_err(|e| kernel_error("link", "dump".to_string(), e))?
    {
        out.push(link_of(&msg));
    }
    Ok(out)
}

/// Decode one `RTM_NEWLINK`.
pub fn link_of(msg: &LinkMessage) -> Link {
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        mac: None,
        admin_up: msg.header.flags.contains(LinkFlags::Up),
        running: msg.header.flags.contains(LinkFlags::Running),
        oper: OperState::Unknown,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(a) => link.mac = <[u8; 6]>::try_from(a.as_slice()).ok(),
            LinkAttribute::OperState(s) => {
                link.oper = match s {
                    State::Up => OperState::Up,
                    State::Down => OperState::Down,
                    State::LowerLayerDown => OperState::LowerLayerDown,
                    State::Unknown => OperState::Unknown,
                    _ => OperState::Other,
                }
            }
            _ => {}
        }
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip(s: &str) -> VirtualAddress {
        let prefix = crate::conf::keepalived::values::prefix(s).expect("test prefix");
        VirtualAddress::new(prefix)
    }

    fn attrs(m: &AddressMessage) -> &[AddressAttribute] {
        &m.attributes
    }

    #[test]
    fn ipv4_host_vip_has_local_and_address_only() {
        let m = add_message(7, &vip("198.51.100.10")).expect("valid");
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert_eq!((m.header.prefix_len, m.header.index), (32, 7));
        assert_eq!(
            attrs(&m),
            &[
                AddressAttribute::Local("198.51.100.10".parse().expect("ip")),
                AddressAttribute::Address("198.51.100.10".parse().expect("ip")),
            ]
        );
    }

    #[test]
    fn broadcast_plus_minus_and_literal() {
        let mut v = vip("198.51.100.77/24");
        v.broadcast = Some("+".into());
        assert_eq!(
            broadcast(&v).ok().flatten(),
            Some(Ipv4Addr::new(198, 51, 100, 255))
        );
        v.broadcast = Some("-".into());
        assert_eq!(
            broadcast(&v).ok().flatten(),
            Some(Ipv4Addr::new(198, 51, 100, 0))
        );
        v.prefix.len = 30;
        v.broadcast = Some("+".into());
        assert_eq!(
            broadcast(&v).ok().flatten(),
            Some(Ipv4Addr::new(198, 51, 100, 79))
        );
        v.prefix.len = 31;
        assert_eq!(broadcast(&v).ok().flatten(), None);
        v.broadcast = Some("203.0.113.255".into());
        assert_eq!(
            broadcast(&v).ok().flatten(),
            Some(Ipv4Addr::new(203, 0, 113, 255))
        );
        v.broadcast = Some("nonsense".into());
        assert!(matches!(broadcast(&v), Err(AddrError::BadBroadcast(_))));
        v.prefix.len = 0;
        v.broadcast = Some("-".into());
        assert_eq!(broadcast(&v).ok().flatten(), Some(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn label_scope_broadcast_reach_the_message() {
        let mut v = vip("198.51.100.10/24");
        v.label = Some("veth0:vip".into());
        v.scope = Some("link".into());
        v.broadcast = Some("+".into());
        let m = add_message(3, &v).expect("valid");
        assert_eq!(m.header.scope, AddressScope::Link);
        assert!(attrs(&m).contains(&AddressAttribute::Label("veth0:vip".into())));
        assert!(
            attrs(&m).contains(&AddressAttribute::Broadcast(Ipv4Addr::new(
                198, 51, 100, 255
            )))
        );
        v.label = Some("a-very-long-label".into());
        assert!(matches!(add_message(3, &v), Err(AddrError::BadLabel(_))));
        v.label = None;
        v.scope = Some("galaxy".into());
        assert!(matches!(add_message(3, &v), Err(AddrError::BadScope(_))));
        assert_eq!(scope_number("host"), Some(254));
        assert_eq!(scope_number("17"), Some(17));
    }

    #[test]
    fn peer_gives_address_and_prefix() {
        let mut v = vip("198.51.100.1");
        v.peer = Some(Prefix {
            addr: "198.51.100.2".parse().expect("ip"),
            len: 30,
        });
        v.broadcast = Some("+".into());
        let m = add_message(1, &v).expect("valid");
        assert_eq!(m.header.prefix_len, 30);
        assert!(attrs(&m).contains(&AddressAttribute::Address(
            "198.51.100.2".parse().expect("ip")
        )));
        assert!(
            !attrs(&m)
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
        v.peer = Some(Prefix::host("2001:db8::2".parse().expect("ip")));
        assert!(matches!(
            add_message(1, &v),
            Err(AddrError::PeerFamily { .. })
        ));
    }

    #[test]
    fn ipv6_host_vip_is_nodad_and_deprecated() {
        let m = add_message(2, &vip("2001:db8::10")).expect("valid");
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!(m.header.prefix_len, 128);
        assert!(attrs(&m).contains(&AddressAttribute::Flags(AddressFlags::Nodad)));
        let mut ci = CacheInfo::default();
        ci.ifa_preferred = 0;
        ci.ifa_valid = FOREVER;
        assert!(attrs(&m).contains(&AddressAttribute::CacheInfo(ci)));
    }

    #[test]
    fn ipv6_options_remove_nodad_and_deprecation() {
        let mut v = vip("2001:db8::10");
        v.nodad = false;
        v.preferred_lft_forever = true;
        v.label = Some("ignored".into());
        let m = add_message(2, &v).expect("valid");
        assert_eq!(attrs(&m).len(), 2, "only local + address: {m:?}");
        // A /64 is never deprecated, but still NODAD by default.
        let m = add_message(2, &vip("2001:db8::10/64")).expect("valid");
        assert!(attrs(&m).contains(&AddressAttribute::Flags(AddressFlags::Nodad)));
        assert!(
            !attrs(&m)
                .iter()
                .any(|a| matches!(a, AddressAttribute::CacheInfo(_)))
        );
        let mut v = vip("2001:db8::10");
        v.broadcast = Some("+".into());
        assert!(matches!(
            add_message(2, &v),
            Err(AddrError::BadBroadcast(_))
        ));
    }

    #[test]
    fn written_flags_map_to_ifa_flags() {
        let mut v = vip("2001:db8::10/64");
        v.flags = vec!["home".into(), "noprefixroute".into()];
        assert_eq!(
            add_flags(&v),
            AddressFlags::Nodad | AddressFlags::Homeaddress | AddressFlags::Noprefixroute
        );
        let v4 = vip("198.51.100.10");
        assert_eq!(add_flags(&v4), AddressFlags::empty(), "NODAD is IPv6-only");
    }

    #[test]
    fn decodes_an_installed_address() {
        let mut m = add_message(9, &vip("2001:db8::10")).expect("valid");
        m.attributes.push(AddressAttribute::Label("x".into()));
        let a = installed(&m).expect("has address");
        assert_eq!(a.prefix, Prefix::host("2001:db8::10".parse().expect("ip")));
        assert_eq!(
            (a.peer, a.flags & 0x02, a.preferred_lft),
            (None, 0x02, Some(0))
        );
        assert_eq!(a.label.as_deref(), Some("x"));
        // Removal matches on local address and prefix length only.
        let m = remove_message(4, &vip("198.51.100.10/24")).expect("valid");
        assert_eq!((m.header.prefix_len, m.attributes.len()), (24, 2));
    }
}
