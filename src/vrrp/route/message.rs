//! The `RTM_NEWROUTE`/`RTM_DELROUTE` keepalived 2.2.7 sends for a [`Route`]
//! (checked with strace against the Debian binary): protocol 18 unless an
//! untracked route names another, `NLM_F_CREATE` without `NLM_F_EXCL` (an
//! `ip route prepend`) unless a type word was written, `RTA_DST` even for
//! `default`, tables above 255 in `RTA_TABLE`, and deletes that match on
//! scope "nowhere" and type "unspec" unless those were written.
//!
//! Owns: route messages, as pure functions. Must not touch: sockets.

use netlink_packet_core::{NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHop, RouteNextHopFlags,
    RoutePreference, RouteProtocol, RouteRealm, RouteScope, RouteType,
};

use super::RouteError;
use super::addr::Family;
use super::parse::{NextHop, ONLINK, Route};

/// `RT_SCOPE_NOWHERE`, the scope of a delete that names none.
const SCOPE_NOWHERE: u8 = 255;
/// `RTN_UNICAST`.
const RTN_UNICAST: u8 = 1;

/// Whether a message adds or removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `RTM_NEWROUTE`/`RTM_NEWRULE`.
    Add,
    /// `RTM_DELROUTE`/`RTM_DELRULE`.
    Delete,
}

/// The netlink family of a line.
pub(super) fn address_family(f: Family) -> AddressFamily {
    match f {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

/// `RTA_FLOW`: keepalived's `FROM << 16 | TO`.
pub(super) fn realm(r: u32) -> RouteRealm {
    // Truncation splits the two 16-bit halves.
    RouteRealm {
        source: (r >> 16) as u16,
        destination: r as u16,
    }
}

/// The `nlmsg_flags` keepalived sends with a route request.
pub fn route_flags(route: &Route, op: Op) -> u16 {
    match op {
        Op::Delete => NLM_F_REQUEST | NLM_F_ACK,
        Op::Add => {
            let mut f = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
            if route.kind.is_some() {
                f |= NLM_F_EXCL;
            }
            if route.append {
                f |= NLM_F_APPEND;
            }
            f
        }
    }
}

/// The body of the request for `route`; `ifindex` resolves interface names.
pub fn route_message(
    route: &Route,
    op: Op,
    ifindex: &dyn Fn(&str) -> Option<u32>,
) -> Result<RouteMessage, RouteError> {
    let index =
        |name: &str| ifindex(name).ok_or_else(|| RouteError::NoSuchInterface(name.to_string()));
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = address_family(route.family);
    h.destination_prefix_length = route.dst.len;
    h.source_prefix_length = route.src.map_or(0, |s| s.len);
    h.tos = route.tos.unwrap_or(0);
    h.protocol = RouteProtocol::from(route.protocol);
    let (scope, kind) = match op {
        Op::Add => (route.scope.unwrap_or(0), route.kind.unwrap_or(RTN_UNICAST)),
        Op::Delete => (
            route.scope.unwrap_or(SCOPE_NOWHERE),
            route.kind.unwrap_or(0),
        ),
    };
    h.scope = RouteScope::from(scope);
    h.kind = RouteType::from(kind);
    if route.onlink {
        h.flags = RouteFlags::from_bits_retain(u32::from(ONLINK));
    }
    let a = &mut m.attributes;
    match u8::try_from(route.table) {
        Ok(t) => m.header.table = t,
        Err(_) => a.push(RouteAttribute::Table(route.table)),
    }
    a.push(RouteAttribute::Destination(RouteAddress::from(
        route.dst.addr,
    )));
    if let Some(s) = route.src {
        a.push(RouteAttribute::Source(RouteAddress::from(s.addr)));
    }
    if let Some(p) = route.pref_src {
        a.push(RouteAttribute::PrefSource(RouteAddress::from(p)));
    }
    if let Some(v) = route.via {
        a.push(RouteAttribute::Gateway(RouteAddress::from(v)));
    }
    if let Some(dev) = &route.dev {
        a.push(RouteAttribute::Oif(index(dev)?));
    }
    if let Some(metric) = route.metric {
        a.push(RouteAttribute::Priority(metric));
    }
    if route.realms != 0 {
        a.push(RouteAttribute::Realm(realm(route.realms)));
    }
    if let Some(e) = route.expires {
        a.push(RouteAttribute::Expires(e));
    }
    if let Some(p) = route.pref {
        a.push(RouteAttribute::Preference(RoutePreference::from(p)));
    }
    if let Some(t) = route.ttl_propagate {
        a.push(RouteAttribute::TtlPropagate(t.into()));
    }
    let metrics = route.metrics.attributes();
    if !metrics.is_empty() {
        a.push(RouteAttribute::Metrics(metrics));
    }
    if !route.nexthops.is_empty() {
        let hops = route
            .nexthops
            .iter()
            .map(|nh| next_hop(nh, &index))
            .collect::<Result<Vec<_>, _>>()?;
        a.push(RouteAttribute::MultiPath(hops));
    }
    Ok(m)
}

fn next_hop(
    nh: &NextHop,
    index: &dyn Fn(&str) -> Result<u32, RouteError>,
) -> Result<RouteNextHop, RouteError> {
    let mut out = RouteNextHop::default();
    if let Some(v) = nh.via {
        out.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(v)));
    }
    if let Some(dev) = &nh.dev {
        out.interface_index = index(dev)?;
    }
    if let Some(w) = nh.weight {
        // `weight N` is sent as `rtnh_hops = N - 1` (1..=256 fits a byte).
        out.hops = u8::try_from(w.saturating_sub(1)).unwrap_or(u8::MAX);
    }
    if nh.onlink {
        out.flags = RouteNextHopFlags::from_bits_retain(ONLINK);
    }
    if nh.realms != 0 {
        out.attributes.push(RouteAttribute::Realm(realm(nh.realms)));
    }
    Ok(out)
}
