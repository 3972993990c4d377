//! `use_vmac` as keepalived 2.2.7 does it (reference/keepalived.md §3.6;
//! checked against the Debian binary with strace and `/proc/sys`): a
//! macvlan `vrrp.<VRID>` (or the name given) in private mode on the
//! instance's interface, MAC `00:00:5e:00:01:<VRID>` (`:02:` for IPv6) unless
//! one is given, no automatic link-local address, up.
//!
//! For IPv4 it sets `arp_ignore=1`, `accept_local=1`, `rp_filter=0`,
//! `promote_secondaries=1` on the VMAC, `arp_ignore=1`/`arp_filter=1` on the
//! base interface (once per base, counted), and disables IPv6 on the VMAC;
//! for IPv6 it enables IPv6 and gives the VMAC the base's link-local address
//! (not with `vmac_xmit_base`). With the first VMAC, a non-zero
//! `all.rp_filter` is moved to `default`, that VMAC and its base interface
//! (see [`sysctl::clear_rp_filter`]; keepalived raises no other interface).
//!
//! Differs from keepalived on purpose: removing the last VMAC of a base
//! puts its `arp_ignore`/`arp_filter` back (keepalived 2.2.7 writes 1/1 again).
//!
//! Owns: VMAC links and their settings. Must not touch: addresses other than
//! the VMAC's link-local, routes, the state machine.

pub mod sysctl;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use futures::TryStreamExt;
use netlink_packet_core::{DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, CacheInfo};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::Handle;

use self::sysctl::{
    ACCEPT_LOCAL, ARP_FILTER, ARP_IGNORE, PROMOTE_SECONDARIES, RP_FILTER, RpFilter,
    addr_gen_mode_none, inet_conf, set_link,
};
use crate::vrrp::addr::Outcome;
use crate::vrrp::route::{Parsed, errno, request};

/// `IFNAMSIZ` less the NUL.
const MAX_IFNAME: usize = 15;
const IFLA_IFNAME: u16 = 3;

/// The VMAC of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSpec {
    /// The interface name.
    pub name: String,
    /// Its MAC address.
    pub mac: [u8; 6],
    /// The instance is IPv6.
    pub ipv6: bool,
    /// `vmac_xmit_base`: adverts leave by the base interface (an IPv6 VMAC
    /// then gets no link-local address).
    pub xmit_base: bool,
    /// An IPv4 instance has IPv6 eVIPs (IPv6 stays enabled on the VMAC).
    pub other_family_evips: bool,
}

/// The VRRP virtual MAC: `00:00:5e:00:01:VRID` (IPv4) or `…:02:VRID` (IPv6).
pub fn default_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// The kernel's rule for interface names (`dev_valid_name`).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && !name.contains(['/', ':'])
        && !name.contains(char::is_whitespace)
}

fn mac_of(word: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = word.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *m = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

/// Reads `use_vmac [IFNAME] [MAC]` (the words after the keyword) for
/// instance `vrid`; `prefix` is `vmac_prefix` (default `vrrp`). The name
/// defaults to `PREFIX.VRID`. `xmit_base` and `other_family_evips` come
/// from other keywords and start false.
pub fn parse_use_vmac(args: &[String], prefix: &str, vrid: u8, ipv6: bool) -> Parsed<VmacSpec> {
    let mut notes = Vec::new();
    let mut name: Option<String> = None;
    let mut mac = None;
    for w in args {
        if let Some(m) = mac_of(w) {
            mac = Some(m);
        } else if name.is_some() {
            notes.push("VMAC interface name already specified".to_string());
        } else if valid_ifname(w) {
            name = Some(w.clone());
        } else {
            notes.push(format!(
                "VMAC interface name '{w}' too long or invalid characters - ignoring"
            ));
        }
    }
    let spec = VmacSpec {
        name: name.unwrap_or_else(|| format!("{prefix}.{vrid}")),
        mac: mac.unwrap_or_else(|| default_mac(vrid, ipv6)),
        ipv6,
        xmit_base: false,
        other_family_evips: false,
    };
    Parsed {
        value: Some(spec),
        notes,
    }
}

/// The modified EUI-64 link-local address of a MAC (`fe80::…ff:fe…`).
pub fn link_local_of(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// What went wrong creating or removing a VMAC.
#[derive(Debug, thiserror::Error)]
pub enum VmacError {
    /// The name belongs to an interface that is not a macvlan.
    #[error("VMAC {0} conflicts with existing interface")]
    Conflict(String),
    /// The base interface does not exist.
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    /// The kernel refused a request.
    #[error("{op} {what}: {source}")]
    Kernel {
        /// `create`, `set`, `up`, `delete`, `address`.
        op: &'static str,
        /// The interface.
        what: String,
        /// The errno.
        #[source]
        source: std::io::Error,
    },
    /// The netlink conversation broke.
    #[error("netlink: {0}")]
    Netlink(String),
    /// A `/proc/sys` file could not be read or written.
    #[error("sysctl: {0}")]
    Sysctl(#[source] std::io::Error),
}

impl VmacError {
    fn netlink(op: &'static str, what: String, e: rtnetlink::Error) -> VmacError {
        match e {
            rtnetlink::Error::NetlinkError(m) => VmacError::Kernel {
                op,
                what,
                source: m.to_io(),
            },
            other => VmacError::Netlink(other.to_string()),
        }
    }
}

/// The `RTM_NEWLINK` (`NLM_F_CREATE|NLM_F_EXCL`) that creates the VMAC on
/// interface `base`, attribute for attribute as keepalived sends it.
pub fn create_message(spec: &VmacSpec, base: u32) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.attributes = vec![
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]),
        LinkAttribute::Link(base),
        // keepalived sends the name without a NUL.
        LinkAttribute::Other(DefaultNla::new(IFLA_IFNAME, spec.name.as_bytes().to_vec())),
        LinkAttribute::Address(spec.mac.to_vec()),
    ];
    m
}

/// The `IFA_*` request keepalived sends for the VMAC's IPv6 link-local
/// address: /64, deprecated (preferred 0), valid forever, no DAD.
pub fn link_local_message(index: u32, addr: Ipv6Addr) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet6;
    m.header.prefix_len = 64;
    m.header.index = index;
    let mut ci = CacheInfo::default();
    ci.ifa_preferred = 0;
    ci.ifa_valid = u32::MAX;
    m.attributes = vec![
        AddressAttribute::CacheInfo(ci),
        AddressAttribute::Local(IpAddr::V6(addr)),
        AddressAttribute::Flags(AddressFlags::Nodad),
    ];
    m
}

/// Whether an existing link is a private macvlan on `base` with `mac`.
fn is_our_vmac(link: &LinkMessage, base: u32, mac: [u8; 6]) -> (bool, bool) {
    let mut macvlan = false;
    let mut private = false;
    let mut same = true;
    for a in &link.attributes {
        match a {
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(InfoKind::MacVlan) => macvlan = true,
                        LinkInfo::Data(InfoData::MacVlan(d)) => {
                            private = d.contains(&InfoMacVlan::Mode(MacVlanMode::Private));
                        }
                        _ => {}
                    }
                }
            }
            LinkAttribute::Link(l) => same &= *l == base,
            LinkAttribute::Address(a) => same &= a.as_slice() == mac.as_slice(),
            _ => {}
        }
    }
    (macvlan, macvlan && private && same)
}

async fn get_link(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, VmacError> {
    let mut reply = handle.link().get().match_name(name.to_string()).execute();
    match reply.try_next().await {
        Ok(m) => Ok(m),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(VmacError::netlink("get", name.to_string(), e)),
    }
}

async fn delete_link(handle: &Handle, index: u32, name: &str) -> Result<Outcome, VmacError> {
    let mut m = LinkMessage::default();
    m.header.interface_family = AddressFamily::Inet;
    m.header.index = index;
    match request(
        handle,
        RouteNetlinkMessage::DelLink(m),
        NLM_F_REQUEST | NLM_F_ACK,
    )
    .await
    {
        Ok(()) => Ok(Outcome::Changed),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(Outcome::Unchanged),
        Err(e) => Err(VmacError::netlink("delete", name.to_string(), e)),
    }
}

/// A base interface's `arp_ignore`/`arp_filter` before its first VMAC.
#[derive(Clone, Debug, Default)]
struct BaseArp {
    users: u32,
    saved: Option<(u32, u32)>,
}

/// The VMACs of one VRRP process: base-interface settings are counted per
/// base and the rp_filter change is made once, so it needs one owner.
#[derive(Debug, Default)]
pub struct Vmacs {
    rp_checked: bool,
    rp_filter: Option<RpFilter>,
    bases: HashMap<String, BaseArp>,
}

/// A VMAC that is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// Its ifindex.
    pub index: u32,
    /// It was made now (not found from an earlier run).
    pub new: bool,
    /// keepalived's NOTICE lines about rp_filter, if any.
    pub notices: Vec<String>,
}

impl Vmacs {
    /// What the rp_filter change saved (for tests and state dumps).
    pub fn rp_filter(&self) -> Option<&RpFilter> {
        self.rp_filter.as_ref()
    }

    /// Creates (or takes over) the VMAC of `spec` on `base` and brings it up.
    /// `source` is the instance's IPv6 source address, if configured.
    pub async fn create(
        &mut self,
        handle: &Handle,
        spec: &VmacSpec,
        base: &str,
        source: Option<Ipv6Addr>,
    ) -> Result<Created, VmacError> {
        let base_link = crate::vrrp::addr::link(handle, base)
            .await
            .map_err(|_| VmacError::NoSuchInterface(base.to_string()))?;
        let mut new = true;
        if let Some(old) = get_link(handle, &spec.name).await? {
            match is_our_vmac(&old, base_link.index, spec.mac) {
                (_, true) => new = false,
                // Another macvlan of ours (other MAC or base): replace it.
                (true, false) => {
                    delete_link(handle, old.header.index, &spec.name).await?;
                }
                (false, _) => return Err(VmacError::Conflict(spec.name.clone())),
            }
        }
        if new {
            let m = create_message(spec, base_link.index);
            let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
            request(handle, RouteNetlinkMessage::NewLink(m), flags)
                .await
                .map_err(|e| VmacError::netlink("create", spec.name.clone(), e))?;
        }
        let index = get_link(handle, &spec.name)
            .await?
            .map(|l| l.header.index)
            .ok_or_else(|| VmacError::NoSuchInterface(spec.name.clone()))?;
        let mut notices = Vec::new();
        if !self.rp_checked {
            self.rp_checked = true;
            notices = self.clear_rp_filter(handle, base, &spec.name).await?;
        }
        if !spec.ipv6 && new {
            let conf = [
                (ARP_IGNORE, 1),
                (ACCEPT_LOCAL, 1),
                (RP_FILTER, 0),
                (PROMOTE_SECONDARIES, 1),
            ];
            set_link(handle, index, inet_conf(&conf)).await?;
            self.hold_base(handle, base, base_link.index).await?;
        }
        set_link(handle, index, addr_gen_mode_none()).await?;
        let ipv6_on = spec.ipv6 || spec.other_family_evips;
        sysctl::write("ipv6", &spec.name, "disable_ipv6", u32::from(!ipv6_on))
            .map_err(VmacError::Sysctl)?;
        let mut up = LinkMessage::default();
        up.header.index = index;
        up.header.flags = LinkFlags::Up;
        up.header.change_mask = LinkFlags::Up;
        request(
            handle,
            RouteNetlinkMessage::NewLink(up),
            NLM_F_REQUEST | NLM_F_ACK,
        )
        .await
        .map_err(|e| VmacError::netlink("up", spec.name.clone(), e))?;
        if spec.ipv6 && !spec.xmit_base {
            let addr = match source {
                Some(a) => a,
                None => self.base_link_local(handle, base, base_link.mac).await?,
            };
            let m = link_local_message(index, addr);
            // keepalived sends addresses without NLM_F_CREATE (the kernel allows it).
            match request(
                handle,
                RouteNetlinkMessage::NewAddress(m),
                NLM_F_REQUEST | NLM_F_ACK,
            )
            .await
            {
                Err(e) if errno(&e) != Some(libc::EEXIST) => {
                    return Err(VmacError::netlink("address", spec.name.clone(), e));
                }
                _ => {}
            }
        }
        Ok(Created {
            index,
            new,
            notices,
        })
    }

    /// Removes the VMAC (an IPv4 one first releases its base's ARP settings).
    pub async fn delete(
        &mut self,
        handle: &Handle,
        spec: &VmacSpec,
        base: &str,
    ) -> Result<Outcome, VmacError> {
        if !spec.ipv6 {
            self.release_base(handle, base).await?;
        }
        match get_link(handle, &spec.name).await? {
            Some(l) => delete_link(handle, l.header.index, &spec.name).await,
            None => Ok(Outcome::Unchanged),
        }
    }

    /// Puts `all`/`default` rp_filter and the raised interfaces back (at exit).
    pub async fn restore_rp_filter(&mut self, handle: &Handle) -> Result<Vec<String>, VmacError> {
        match self.rp_filter.take() {
            Some(saved) => sysctl::restore_rp_filter(handle, &saved).await,
            None => Ok(Vec::new()),
        }
    }

    /// keepalived (2.2.7) raises only the VMAC it has just made and its base.
    async fn clear_rp_filter(
        &mut self,
        handle: &Handle,
        base: &str,
        vmac: &str,
    ) -> Result<Vec<String>, VmacError> {
        let mut targets = Vec::new();
        for n in [base, vmac] {
            if let Ok(l) = crate::vrrp::addr::link(handle, n).await {
                targets.push((n.to_string(), l.index));
            }
        }
        let (saved, notices) = sysctl::clear_rp_filter(handle, &targets).await?;
        self.rp_filter = saved;
        Ok(notices)
    }

    async fn hold_base(
        &mut self,
        handle: &Handle,
        base: &str,
        index: u32,
    ) -> Result<(), VmacError> {
        let entry = self.bases.entry(base.to_string()).or_default();
        entry.users += 1;
        if entry.users > 1 {
            return Ok(());
        }
        let ignore = sysctl::read("ipv4", base, "arp_ignore").map_err(VmacError::Sysctl)?;
        let filter = sysctl::read("ipv4", base, "arp_filter").map_err(VmacError::Sysctl)?;
        if ignore != 1 || filter != 1 {
            set_link(
                handle,
                index,
                inet_conf(&[(ARP_IGNORE, 1), (ARP_FILTER, 1)]),
            )
            .await?;
            entry.saved = Some((ignore, filter));
        }
        Ok(())
    }

    async fn release_base(&mut self, handle: &Handle, base: &str) -> Result<(), VmacError> {
        let Some(entry) = self.bases.get_mut(base) else {
            return Ok(());
        };
        entry.users = entry.users.saturating_sub(1);
        if entry.users > 0 {
            return Ok(());
        }
        let saved = entry.saved.take();
        self.bases.remove(base);
        if let Some((ignore, filter)) = saved {
            if let Ok(l) = crate::vrrp::addr::link(handle, base).await {
                set_link(
                    handle,
                    l.index,
                    inet_conf(&[(ARP_IGNORE, ignore), (ARP_FILTER, filter)]),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The base's first link-local address, else one made from its MAC.
    async fn base_link_local(
        &self,
        handle: &Handle,
        base: &str,
        mac: Option<[u8; 6]>,
    ) -> Result<Ipv6Addr, VmacError> {
        let addrs = crate::vrrp::addr::list(handle, base)
            .await
            .map_err(|e| VmacError::Netlink(e.to_string()))?;
        let found = addrs.iter().find_map(|a| match a.prefix.addr {
            IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => Some(v6),
            _ => None,
        });
        Ok(found.unwrap_or_else(|| link_local_of(mac.unwrap_or_default())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn use_vmac_words() {
        let p = parse_use_vmac(&[], "vrrp", 51, false);
        let v = p.value.expect("always a spec");
        assert_eq!(
            (v.name.as_str(), v.mac),
            ("vrrp.51", [0, 0, 0x5e, 0, 1, 51])
        );
        let v = parse_use_vmac(&[], "vr", 53, true).value.expect("spec");
        assert_eq!((v.name.as_str(), v.mac), ("vr.53", [0, 0, 0x5e, 0, 2, 53]));
        let p = parse_use_vmac(&words("foo 02:00:00:00:00:01"), "vrrp", 52, false);
        let v = p.value.expect("spec");
        assert_eq!((v.name.as_str(), v.mac), ("foo", [2, 0, 0, 0, 0, 1]));
        assert!(p.notes.is_empty());
        let p = parse_use_vmac(&words("name foo"), "vrrp", 1, false);
        assert_eq!(p.value.expect("spec").name, "name");
        assert_eq!(p.notes, vec!["VMAC interface name already specified"]);
        let p = parse_use_vmac(&words("verylonginterfacename"), "vrrp", 7, false);
        assert_eq!(p.value.expect("spec").name, "vrrp.7");
        assert_eq!(
            p.notes,
            vec![
                "VMAC interface name 'verylonginterfacename' too long or invalid characters - ignoring"
            ]
        );
    }

    #[test]
    fn create_message_matches_keepalived() {
        let spec = parse_use_vmac(&[], "vrrp", 51, false).value.expect("spec");
        let m = create_message(&spec, 3);
        // keepalived: LINKINFO 28, LINK 8, IFNAME 11 (padded to 12), ADDRESS 10 (12).
        let lens: Vec<usize> = m.attributes.iter().map(Emitable::buffer_len).collect();
        assert_eq!(lens, vec![28, 8, 12, 12]);
        let mut b = vec![0; m.attributes[2].buffer_len()];
        m.attributes[2].emit(&mut b);
        assert_eq!(&b[..11], b"\x0b\x00\x03\x00vrrp.51");
        assert_eq!(
            m.attributes[3],
            LinkAttribute::Address(vec![0, 0, 0x5e, 0, 1, 51])
        );
    }

    #[test]
    fn link_local_from_mac_is_eui64() {
        assert_eq!(
            link_local_of([0xf6, 0x98, 0x8a, 0x62, 0x47, 0x91]),
            "fe80::f498:8aff:fe62:4791".parse::<Ipv6Addr>().expect("ip")
        );
        let m = link_local_message(7, "fe80::1".parse().expect("ip"));
        assert_eq!((m.header.prefix_len, m.attributes.len()), (64, 3));
    }
}
