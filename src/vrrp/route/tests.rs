//! Unit tests of the route and rule grammar and messages. The expected
//! messages and netlink contents are what keepalived 2.2.7 printed (`-t`) and
//! sent (strace) for the same lines.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteMetric, RoutePreference, RouteProtocol,
    RouteScope, RouteType,
};

use super::*;

const RA: u16 = NLM_F_REQUEST | NLM_F_ACK;

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

fn parse(line: &str) -> Parsed<Route> {
    let names = RtNames::default();
    let exists = |n: &str| n != "nosuch";
    let ctx = LineContext {
        names: &names,
        is_static: false,
        interface_exists: &exists,
    };
    parse_route(&words(line), &ctx)
}

fn route(line: &str) -> Route {
    let p = parse(line);
    p.value
        .unwrap_or_else(|| panic!("{line} was refused: {:?}", p.notes))
}

fn refused(line: &str) -> Vec<String> {
    let p = parse(line);
    assert!(p.value.is_none(), "{line} was accepted: {:?}", p.value);
    p.notes
}

/// eth0 and eth1 have the indexes they had where keepalived was traced.
fn index(name: &str) -> Option<u32> {
    match name {
        "eth0" => Some(3),
        "eth1" => Some(5),
        _ => None,
    }
}

fn add(line: &str) -> RouteMessage {
    route_message(&route(line), Op::Add, &index).expect("interfaces resolve")
}

fn ip(s: &str) -> RouteAddress {
    RouteAddress::from(s.parse::<IpAddr>().expect("test address"))
}

#[test]
fn gateway_route_is_a_prepend_with_protocol_keepalived() {
    let r = route("10.1.0.0/16 via 198.51.100.254 dev eth0");
    assert_eq!(route_flags(&r, Op::Add), RA | NLM_F_CREATE);
    let m = add("10.1.0.0/16 via 198.51.100.254 dev eth0");
    assert_eq!(m.header.address_family, AddressFamily::Inet);
    assert_eq!(
        (m.header.destination_prefix_length, m.header.table),
        (16, 254)
    );
    assert_eq!(m.header.protocol, RouteProtocol::KeepAlived);
    assert_eq!(
        (m.header.scope, m.header.kind),
        (RouteScope::Universe, RouteType::Unicast)
    );
    assert_eq!(
        m.attributes,
        vec![
            RouteAttribute::Destination(ip("10.1.0.0")),
            RouteAttribute::Gateway(ip("198.51.100.254")),
            RouteAttribute::Oif(3),
        ]
    );
    let d = route_message(&r, Op::Delete, &index).expect("resolves");
    assert_eq!(
        (d.header.scope, d.header.kind),
        (RouteScope::NoWhere, RouteType::Unspec)
    );
    assert_eq!(route_flags(&r, Op::Delete), RA);
}

#[test]
fn attribute_order_follows_keepalived() {
    let m = add("src 198.51.100.100 10.2.0.0/16 via 198.51.100.254 dev eth0 metric 7");
    assert_eq!(
        m.attributes,
        vec![
            RouteAttribute::Destination(ip("10.2.0.0")),
            RouteAttribute::PrefSource(ip("198.51.100.100")),
            RouteAttribute::Gateway(ip("198.51.100.254")),
            RouteAttribute::Oif(3),
            RouteAttribute::Priority(7),
        ]
    );
    let m = add("10.22.0.0/16 via 198.51.100.254 dev eth0 table 1000");
    assert_eq!(m.header.table, 0);
    assert_eq!(m.attributes[0], RouteAttribute::Table(1000));
    let m = add("10.14.0.0/16 via 198.51.100.254 dev eth0 mtu 1400 advmss 1300 realms 1/2");
    assert_eq!(
        m.attributes[3],
        RouteAttribute::Realm(message::realm(65538))
    );
    assert_eq!(
        m.attributes[4],
        RouteAttribute::Metrics(vec![RouteMetric::Mtu(1400), RouteMetric::Advmss(1300)])
    );
    let m = add("2001:db8:98::/48 dev eth0 pref high expires 100");
    assert_eq!(
        &m.attributes[2..],
        &[
            RouteAttribute::Expires(100),
            RouteAttribute::Preference(RoutePreference::High)
        ]
    );
}

#[test]
fn types_tracking_and_protocol() {
    let p = parse("blackhole 10.5.0.0/16");
    let r = p.value.clone().expect("accepted");
    assert_eq!(r.kind, Some(6));
    assert!(r.no_track);
    assert_eq!(
        p.notes,
        vec!["Warning - cannot track route 10.5.0.0/16 with no interface specified, not tracking"]
    );
    assert_eq!(route_flags(&r, Op::Add), RA | NLM_F_CREATE | NLM_F_EXCL);
    let d = route_message(&r, Op::Delete, &index).expect("no interface needed");
    assert_eq!(d.header.kind, RouteType::BlackHole);
    // An explicit `unicast` still makes the add exclusive.
    let r = route("unicast 10.58.0.0/16 dev eth0");
    assert_eq!(route_flags(&r, Op::Add), RA | NLM_F_CREATE | NLM_F_EXCL);
    assert_eq!(
        route_flags(&route("10.61.0.0/16 dev eth0 append"), Op::Add),
        RA | NLM_F_CREATE | NLM_F_APPEND
    );
    assert_eq!(
        route_flags(&route("10.60.0.0/16 dev eth0 prepend"), Op::Add),
        RA | NLM_F_CREATE
    );

    let p = parse("10.7.0.0/16 dev eth0 scope link protocol static");
    assert_eq!(
        p.notes,
        vec![
            "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"
        ]
    );
    let r = p.value.expect("accepted");
    assert_eq!((r.protocol, r.scope), (18, Some(253)));
    let r = route("10.12.0.0/16 dev eth0 protocol 99 no_track");
    assert_eq!(r.protocol, 99);
    assert_eq!(
        route("10.7.0.0/16 dev eth0 protocol 0x10 no_track").protocol,
        16
    );
}

#[test]
fn destinations_and_families() {
    let m = add("default dev eth0 table 300");
    assert_eq!(m.header.destination_prefix_length, 0);
    assert_eq!(m.attributes[1], RouteAttribute::Destination(ip("0.0.0.0")));
    let r = route("default via 2001:db8:1::fe dev eth0 table 51");
    assert_eq!(
        (r.family, r.dst.addr),
        (Family::V6, "::".parse().expect("ip"))
    );
    assert_eq!(route("default6 dev eth0 table 50").family, Family::V6);
    assert_eq!(route("to 10.66.0.0/16 dev eth0").dst.len, 16);
    assert_eq!(route("10.27.0.0 dev eth0").dst.len, 32);
    // `inet`/`inet6` swallow the next word (keepalived 2.2.7).
    assert_eq!(
        route("inet 10.75.0.0/16 10.76.0.0/16 dev eth0")
            .dst
            .to_string(),
        "10.76.0.0/16"
    );
    assert_eq!(
        refused("inet6 default via 2001:db8:1::fe dev eth0"),
        vec!["Route must have a destination"]
    );
    let m = add("from 2001:db8:5::/64 2001:db8:96::/48 dev eth0");
    assert_eq!(
        (
            m.header.source_prefix_length,
            m.header.destination_prefix_length
        ),
        (64, 48)
    );
    assert_eq!(m.attributes[1], RouteAttribute::Source(ip("2001:db8:5::")));
    // Host bits are kept (the kernel refuses them, as it does keepalived's).
    assert_eq!(
        route("10.28.0.1/16 dev eth0").dst.addr,
        "10.28.0.1".parse::<IpAddr>().expect("ip")
    );
    assert_eq!(add("10.35.0.0/16 dev eth0 onlink").header.flags.bits(), 4);
    assert_eq!(add("10.65.0.0/16 dev eth0 dsfield 0x08").header.tos, 8);
}

#[test]
fn multipath_and_deprecated_or() {
    let p = parse("10.18.0.0/16 via 198.51.100.254 or 198.51.100.253 dev eth0");
    assert_eq!(
        p.notes,
        vec!["\"or\" for routes is deprecated. Please use \"nexthop\""]
    );
    let m = route_message(&p.value.expect("accepted"), Op::Add, &index).expect("resolves");
    // keepalived sends RTA_OIF and hops without an interface (the kernel says EINVAL).
    assert_eq!(m.attributes[1], RouteAttribute::Oif(3));
    let RouteAttribute::MultiPath(hops) = &m.attributes[2] else {
        panic!("no multipath: {:?}", m.attributes);
    };
    assert_eq!(hops.len(), 2);
    assert_eq!((hops[0].interface_index, hops[1].hops), (0, 0));

    let p = parse(
        "10.20.0.0/16 nexthop via 198.51.100.254 dev eth0 weight 2 nexthop via 198.51.100.253 dev eth0",
    );
    assert_eq!(
        p.notes,
        vec!["Warning - cannot track route 10.20.0.0/16 with no interface specified, not tracking"]
    );
    let m = route_message(&p.value.expect("accepted"), Op::Add, &index).expect("resolves");
    let RouteAttribute::MultiPath(hops) = &m.attributes[1] else {
        panic!("no multipath: {:?}", m.attributes);
    };
    assert_eq!(
        (hops[0].hops, hops[0].interface_index, hops[1].hops),
        (1, 3, 0)
    );

    // A bad nexthop ends the list; the route keeps what came before.
    let p = parse("10.22.0.0/16 dev eth0 nexthop dev eth0 bogus 1");
    assert_eq!(
        p.notes,
        vec!["Route has trailing nonsense after nexthops - bogus"]
    );
    assert_eq!(p.value.expect("kept").nexthops.len(), 1);
    let p = parse("10.20.0.0/16 dev eth0 nexthop dev eth0 weight 0");
    assert_eq!(p.notes, vec!["Invalid weight 0 specified for route"]);
    assert!(p.value.expect("kept").nexthops.is_empty());
    assert_eq!(
        refused("10.18.0.0/16 dev eth0 or 10.0.0.1 nexthop via 10.0.0.2"),
        vec![
            "\"or\" for routes is deprecated. Please use \"nexthop\"",
            "Cannot specify nexthops with \"or\" route",
            "Route has trailing nonsense - nexthop",
        ]
    );
}

#[test]
fn refused_routes_say_what_keepalived_says() {
    let cases: &[(&str, &[&str])] = &[
        (
            "10.7.0.0/16 dev eth0 scope link proto static",
            &[
                "VRRP parsed invalid IP proto. skipping IP...",
                "unknown route keyword proto",
            ],
        ),
        (
            "type unicast 10.34.0.0/16 dev eth0",
            &[
                "VRRP parsed invalid IP type. skipping IP...",
                "unknown route keyword type",
            ],
        ),
        (
            "10.1.0.0/16 via bogus dev eth0",
            &[
                "VRRP parsed invalid IP bogus. skipping IP...",
                "invalid route via address bogus",
            ],
        ),
        (
            "10.31.0.0/16 via 2001:db8::1 dev eth0",
            &["Cannot mix IPv4 and IPv6 addresses for route"],
        ),
        (
            "2001:db8::/32 dev eth0 10.12.0.0/16",
            &["Cannot mix IPv4 and IPv6 addresses for route (10.12.0.0/16)"],
        ),
        (
            "10.30.0.0/16 dev nosuch",
            &["WARNING - interface nosuch for VROUTE nexthop doesn't exist"],
        ),
        (
            "10.38.0.0/16 dev eth0 metric 4294967296",
            &[
                "number '4294967296' outside unsigned integer range",
                "Invalid metric 4294967296 specified for route",
            ],
        ),
        (
            "10.40.0.0/16 dev eth0 table nosuch",
            &["Routing table nosuch not found for route"],
        ),
        (
            "10.33.0.0/16 via",
            &[
                "*** Configuration line starting `10.33.0.0/16` is missing a parameter after keyword `via` at word position 3",
            ],
        ),
        ("dev eth0", &["Route must have a destination"]),
        (
            "10.19.0.0/16 dev eth0 pref 300",
            &["pref is only valid for IPv6"],
        ),
        (
            "10.25.0.0/16 dev eth0 from 10.0.0.0/8",
            &["route from address only supported with IPv6 (10.0.0.0/8)"],
        ),
        (
            "2001:db8:9::/48 dev eth0 realms 5",
            &["realms are only valid for IPv4"],
        ),
        (
            "10.15.0.0/16 dev eth0 scope 300",
            &["Scope 300 not found or invalid for route"],
        ),
        (
            "10.16.0.0/16 dev eth0 tos 0x100",
            &["TOS value 0x100 is invalid"],
        ),
        (
            "10.9.0.0/16 dev eth0 protocol 256",
            &["Protocol 256 not found or invalid for route"],
        ),
        (
            "10.23.0.0/16 nexthop via 198.51.100.1 nexthop via 2001:db8::1",
            &[
                "Address family mismatch for next hop",
                "Warning - cannot track route 10.23.0.0/16 with no interface specified, not tracking",
            ],
        ),
    ];
    for (line, want) in cases {
        let p = parse(line);
        // The nexthop case keeps its route; every other line is dropped.
        if !line.contains("nexthop") {
            assert!(p.value.is_none(), "{line} was accepted");
        }
        assert_eq!(&p.notes, want, "{line}");
    }
}

#[test]
fn track_group_is_for_static_routes_only() {
    let names = RtNames::default();
    let ctx = LineContext {
        names: &names,
        is_static: true,
        interface_exists: &|_| true,
    };
    let p = parse_route(
        &words("10.1.0.0/16 via 198.51.100.254 track_group g1"),
        &ctx,
    );
    assert_eq!(
        p.notes,
        vec![
            "Warning - cannot track route 10.1.0.0/16 with no interface specified, not tracking",
            "Static route cannot have track group if no oif specified",
        ]
    );
    assert_eq!(p.value.expect("kept").track_group, None);
    let r = parse_route(&words("10.1.0.0/16 dev eth0 track_group g1"), &ctx);
    assert_eq!(r.value.expect("kept").track_group.as_deref(), Some("g1"));
    // In virtual_routes the word is not a keyword.
    assert_eq!(
        refused("10.1.0.0/16 dev eth0 track_group g1"),
        vec![
            "VRRP parsed invalid IP track_group. skipping IP...",
            "unknown route keyword track_group"
        ]
    );
}
mod rules;
