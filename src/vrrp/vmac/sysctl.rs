//! The interface settings keepalived 2.2.7 changes for VMACs, and how: per
//! interface IPv4 settings over netlink (`IFLA_AF_SPEC` → `AF_INET` →
//! `IFLA_INET_CONF`, one `IPV4_DEVCONF_*` attribute each), `disable_ipv6`
//! and the `all`/`default` rp_filter through `/proc/sys`, and the address
//! generation mode through `IFLA_INET6_ADDR_GEN_MODE`.
//!
//! `/proc/sys/net` belongs to the network namespace of the calling thread.
//!
//! Owns: reading and writing those settings. Must not touch: links.

use std::io;

use netlink_packet_core::{DefaultNla, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::Handle;

use super::VmacError;
use crate::vrrp::route::request;

/// `IPV4_DEVCONF_*` indexes (`include/uapi/linux/ip.h`).
pub const RP_FILTER: u16 = 8;
/// `IPV4_DEVCONF_ARPFILTER`.
pub const ARP_FILTER: u16 = 13;
/// `IPV4_DEVCONF_ARP_IGNORE`.
pub const ARP_IGNORE: u16 = 19;
/// `IPV4_DEVCONF_PROMOTE_SECONDARIES`.
pub const PROMOTE_SECONDARIES: u16 = 20;
/// `IPV4_DEVCONF_ACCEPT_LOCAL`.
pub const ACCEPT_LOCAL: u16 = 23;

const IFLA_AF_SPEC: u16 = 26;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IFLA_INET_CONF: u16 = 1;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
const IN6_ADDR_GEN_MODE_NONE: u8 = 1;

/// One netlink attribute: header, payload, padding to 4 bytes.
fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

/// `IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { index: value, … } } }`.
pub fn inet_conf(values: &[(u16, u32)]) -> LinkAttribute {
    let conf: Vec<u8> = values
        .iter()
        .flat_map(|(i, v)| nla(*i, &v.to_ne_bytes()))
        .collect();
    let inet = nla(AF_INET, &nla(IFLA_INET_CONF, &conf));
    LinkAttribute::Other(DefaultNla::new(IFLA_AF_SPEC, inet))
}

/// `IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE: NONE } }`: no
/// automatic link-local address (RFC 5798 §7.4).
pub fn addr_gen_mode_none() -> LinkAttribute {
    let inet6 = nla(
        AF_INET6,
        &nla(IFLA_INET6_ADDR_GEN_MODE, &[IN6_ADDR_GEN_MODE_NONE]),
    );
    LinkAttribute::Other(DefaultNla::new(IFLA_AF_SPEC, inet6))
}

/// Sends `RTM_NEWLINK` for `index` with one attribute, as keepalived does
/// (family unspec, no flags changed).
pub async fn set_link(handle: &Handle, index: u32, attr: LinkAttribute) -> Result<(), VmacError> {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.attributes.push(attr);
    request(
        handle,
        RouteNetlinkMessage::NewLink(m),
        NLM_F_REQUEST | NLM_F_ACK,
    )
    .await
    .map_err(|e| VmacError::netlink("set", index.to_string(), e))
}

fn path(family: &str, iface: &str, key: &str) -> String {
    format!("/proc/sys/net/{family}/conf/{iface}/{key}")
}

/// Reads `/proc/sys/net/<ipv4|ipv6>/conf/<iface>/<key>`.
pub fn read(family: &str, iface: &str, key: &str) -> io::Result<u32> {
    let text = std::fs::read_to_string(path(family, iface, key))?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{key}: {text:?}")))
}

/// Writes one of those files.
pub fn write(family: &str, iface: &str, key: &str, value: u32) -> io::Result<()> {
    std::fs::write(path(family, iface, key), value.to_string())
}

/// What [`clear_rp_filter`] changed, to put back with [`restore_rp_filter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpFilter {
    /// `net.ipv4.conf.all.rp_filter` before.
    pub all: u32,
    /// `net.ipv4.conf.default.rp_filter` before.
    pub default: u32,
    /// Interfaces raised to the old `all` value, with their values before.
    pub raised: Vec<(String, u32)>,
}

/// What keepalived does before it sets `rp_filter=0` on a VMAC: the kernel
/// uses the larger of `all` and the interface's value, so a non-zero
/// `all.rp_filter` is moved to `default` and to each of `interfaces` that
/// had less, and `all` becomes 0. `None` when `all` was already 0. The
/// strings are keepalived's NOTICE lines.
pub async fn clear_rp_filter(
    handle: &Handle,
    interfaces: &[(String, u32)],
) -> Result<(Option<RpFilter>, Vec<String>), VmacError> {
    let mut notices = Vec::new();
    let all = read("ipv4", "all", "rp_filter").map_err(VmacError::Sysctl)?;
    if all == 0 {
        return Ok((None, notices));
    }
    let default = read("ipv4", "default", "rp_filter").map_err(VmacError::Sysctl)?;
    // Values before `default` changes (interfaces that never had their own
    // value follow `default`).
    let before: Vec<(String, u32, u32)> = interfaces
        .iter()
        .filter_map(|(name, index)| {
            Some((name.clone(), *index, read("ipv4", name, "rp_filter").ok()?))
        })
        .collect();
    if default < all {
        write("ipv4", "default", "rp_filter", all).map_err(VmacError::Sysctl)?;
        notices.push(format!(
            "NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from {default} to {all}"
        ));
    }
    write("ipv4", "all", "rp_filter", 0).map_err(VmacError::Sysctl)?;
    notices.push(format!(
        "NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0"
    ));
    let mut raised = Vec::new();
    for (name, index, v) in before {
        if v < all {
            set_link(handle, index, inet_conf(&[(RP_FILTER, all)])).await?;
            raised.push((name, v));
        }
    }
    Ok((
        Some(RpFilter {
            all,
            default,
            raised,
        }),
        notices,
    ))
}

/// Puts back what [`clear_rp_filter`] changed (interfaces that are gone are
/// skipped); keepalived's NOTICE lines.
pub async fn restore_rp_filter(
    handle: &Handle,
    saved: &RpFilter,
) -> Result<Vec<String>, VmacError> {
    let mut notices = Vec::new();
    write("ipv4", "all", "rp_filter", saved.all).map_err(VmacError::Sysctl)?;
    notices.push(format!(
        "NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to {}",
        saved.all
    ));
    if read("ipv4", "default", "rp_filter").ok() != Some(saved.default) {
        write("ipv4", "default", "rp_filter", saved.default).map_err(VmacError::Sysctl)?;
        notices.push(format!(
            "NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to {}",
            saved.default
        ));
    }
    for (name, v) in &saved.raised {
        if let Ok(link) = crate::vrrp::addr::link(handle, name).await {
            set_link(handle, link.index, inet_conf(&[(RP_FILTER, *v)])).await?;
        }
    }
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn bytes(attr: &LinkAttribute) -> Vec<u8> {
        let mut b = vec![0; attr.buffer_len()];
        attr.emit(&mut b);
        b
    }

    #[test]
    fn inet_conf_nests_like_keepalived() {
        // keepalived's message for a VMAC: 44 bytes of IFLA_AF_SPEC with
        // arp_ignore=1, accept_local=1, rp_filter=0, promote_secondaries=1.
        let a = inet_conf(&[
            (ARP_IGNORE, 1),
            (ACCEPT_LOCAL, 1),
            (RP_FILTER, 0),
            (PROMOTE_SECONDARIES, 1),
        ]);
        let b = bytes(&a);
        assert_eq!(b.len(), 44);
        assert_eq!(&b[..4], &[44, 0, 26, 0]);
        assert_eq!(&b[4..8], &[40, 0, 2, 0]);
        assert_eq!(&b[8..12], &[36, 0, 1, 0]);
        assert_eq!(&b[12..20], &[8, 0, 19, 0, 1, 0, 0, 0]);
        assert_eq!(&b[28..36], &[8, 0, 8, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn addr_gen_mode_is_16_bytes() {
        let b = bytes(&addr_gen_mode_none());
        assert_eq!(b, vec![16, 0, 26, 0, 12, 0, 10, 0, 5, 0, 8, 0, 1, 0, 0, 0]);
    }
}
