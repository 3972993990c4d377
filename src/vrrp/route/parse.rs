//! One `virtual_routes`/`static_routes` line → a typed [`Route`], with the
//! messages keepalived 2.2.7 logs for it (the grammar of `alloc_route`, as
//! observed on the Debian binary): `ip route` words without abbreviations,
//! `gw`/`or` deprecated, `inet`/`inet6` skipping the word after them,
//! metrics, `nexthop` lists, `prepend`/`append`, `no_track`.
//!
//! Owns: the route grammar. Must not touch: netlink (see `message`).

use std::net::IpAddr;

use super::addr::{Family, Net, Words, host, net};
use super::metrics::{RouteMetrics, Step};
use super::names::number;
use super::{LineContext, Parsed, RTPROT_KEEPALIVED};
use crate::model::Prefix;

/// `RTNH_F_ONLINK`.
pub const ONLINK: u8 = 4;

/// One `nexthop` of a multipath route (or one side of a deprecated `or`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NextHop {
    /// `via ADDR`.
    pub via: Option<IpAddr>,
    /// `dev IF`.
    pub dev: Option<String>,
    /// `weight N` (1..=256), sent as `rtnh_hops = N - 1`.
    pub weight: Option<u16>,
    /// `onlink`.
    pub onlink: bool,
    /// `realms` (`RTA_FLOW` inside the nexthop).
    pub realms: u32,
}

/// A route as keepalived installs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `rtm_family`.
    pub family: Family,
    /// The type word (`blackhole`, `unicast`, … as `RTN_*`) when one was
    /// written; keepalived then adds with `NLM_F_EXCL` and deletes by type.
    pub kind: Option<u8>,
    /// The destination (`default` is the family's `/0`).
    pub dst: Prefix,
    /// `from PREFIX` (IPv6 source routing, `RTA_SRC`).
    pub src: Option<Prefix>,
    /// `src ADDR` (`RTA_PREFSRC`).
    pub pref_src: Option<IpAddr>,
    /// `via`/`gw ADDR`.
    pub via: Option<IpAddr>,
    /// `dev`/`oif IF`.
    pub dev: Option<String>,
    /// `table` (254 = main unless written).
    pub table: u32,
    /// `rtm_protocol`: 18 (keepalived) unless an untracked route names another.
    pub protocol: u8,
    /// `scope` when written (adds use universe, deletes nowhere, otherwise).
    pub scope: Option<u8>,
    /// `tos`/`dsfield`.
    pub tos: Option<u8>,
    /// `metric`/`priority`/`preference` (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// `onlink` (`RTNH_F_ONLINK` in `rtm_flags`).
    pub onlink: bool,
    /// `realms` (`RTA_FLOW`), 0 = none.
    pub realms: u32,
    /// `expires N` (IPv6).
    pub expires: Option<u32>,
    /// `pref low|medium|high|N` (IPv6 `RTA_PREF`).
    pub pref: Option<u8>,
    /// `ttl-propagate enabled|disabled`.
    pub ttl_propagate: Option<u8>,
    /// `RTA_METRICS`.
    pub metrics: RouteMetrics,
    /// `nexthop …` or `via A or B` (`RTA_MULTIPATH`).
    pub nexthops: Vec<NextHop>,
    /// `append` (`NLM_F_APPEND`; the default is keepalived's prepend).
    pub append: bool,
    /// `no_track`, or a route keepalived cannot track (no `dev`).
    pub no_track: bool,
    /// `track_group NAME` (static routes only).
    pub track_group: Option<String>,
}

/// State while reading: the family is fixed by the first word that has one.
struct Reader<'a, 'w> {
    w: Words<'w>,
    ctx: &'a LineContext<'a>,
    family: Option<Family>,
}

impl Reader<'_, '_> {
    /// Sets the family, or logs `mix` and fails when it differs.
    fn family(&mut self, f: Family, mix: &str) -> Option<()> {
        match self.family {
            Some(have) if have != f => self.w.fail(mix),
            _ => {
                self.family = Some(f);
                Some(())
            }
        }
    }

    fn interface(&mut self, name: &str) -> Option<String> {
        if (self.ctx.interface_exists)(name) {
            Some(name.to_string())
        } else {
            self.w.fail(format!(
                "WARNING - interface {name} for VROUTE nexthop doesn't exist"
            ))
        }
    }
}

const MIX: &str = "Cannot mix IPv4 and IPv6 addresses for route";

/// Reads one route line (its words, as the configuration reader split them).
pub fn parse_route(words: &[String], ctx: &LineContext<'_>) -> Parsed<Route> {
    let mut r = Reader {
        w: Words::new(words),
        ctx,
        family: None,
    };
    let value = read_route(&mut r);
    Parsed {
        value,
        notes: r.w.notes,
    }
}

fn read_route(r: &mut Reader<'_, '_>) -> Option<Route> {
    let words = r.w.words;
    let mut route = Route {
        family: Family::V4,
        kind: None,
        dst: Prefix {
            addr: Family::V4.any(),
            len: 0,
        },
        src: None,
        pref_src: None,
        via: None,
        dev: None,
        table: 254,
        protocol: RTPROT_KEEPALIVED,
        scope: None,
        tos: None,
        metric: None,
        onlink: false,
        realms: 0,
        expires: None,
        pref: None,
        ttl_propagate: None,
        metrics: RouteMetrics::default(),
        nexthops: Vec::new(),
        append: false,
        no_track: false,
        track_group: None,
    };
    let mut protocol_written = false;
    let (mut dst, mut dst_word): (Option<Net>, &str) = (None, "");
    let mut src: Option<Net> = None;
    let mut nexthop_at = None;
    let mut i = 0;
    while i < words.len() {
        match route.metrics.read(&mut r.w, i) {
            Step::NotMine => {}
            Step::Read(j) => {
                i = j + 1;
                continue;
            }
            Step::Invalid => return None,
        }
        let kw = words[i].as_str();
        match kw {
            "inet" | "inet6" => {
                let f = if kw == "inet" { Family::V4 } else { Family::V6 };
                let other = if kw == "inet" { "IPv6" } else { "IPv4" };
                r.family(f, &format!("{kw} specified for {other} route"))?;
                // keepalived steps over the next word too.
                i += 1;
            }
            "src" => {
                i += 1;
                let v = r.w.value(i)?;
                let a = host(v, &mut r.w.notes)
                    .or_else(|| r.w.fail(format!("invalid route src address {v}")))?;
                r.family(Family::of(a), MIX)?;
                route.pref_src = Some(a);
            }
            "as" => {
                i += 1;
                if r.w.value(i)? == "to" {
                    i += 1;
                }
                r.w.note("\"as to\" for MPLS only - ignoring");
            }
            "via" | "gw" => {
                if kw == "gw" {
                    r.w.note("\"gw\" for routes is deprecated. Please use \"via\"");
                }
                i += 1;
                let mut v = r.w.value(i)?;
                let f = match v {
                    "inet" | "inet6" => {
                        let f = if v == "inet" { Family::V4 } else { Family::V6 };
                        i += 1;
                        v = r.w.value(i)?;
                        Some(f)
                    }
                    _ => r.family,
                };
                if let Some(f) = f {
                    r.family(f, MIX)?;
                }
                let a = host(v, &mut r.w.notes)
                    .or_else(|| r.w.fail(format!("invalid route via address {v}")))?;
                r.family(Family::of(a), MIX)?;
                route.via = Some(a);
            }
            "from" => {
                i += 1;
                let v = r.w.value(i)?;
                let n = net(v, true, &mut r.w.notes)
                    .or_else(|| r.w.fail(format!("invalid route from address {v}")))?;
                if n.family() != Some(Family::V6) {
                    return r
                        .w
                        .fail(format!("route from address only supported with IPv6 ({v})"));
                }
                r.family(Family::V6, MIX)?;
                src = Some(n);
            }
            "tos" | "dsfield" => {
                i += 1;
                let v = r.w.value(i)?;
                route.tos = Some(
                    r.ctx
                        .names
                        .dsfield(v)
                        .or_else(|| r.w.fail(format!("TOS value {v} is invalid")))?,
                );
            }
            "table" => {
                i += 1;
                let v = r.w.value(i)?;
                route.table = r
                    .ctx
                    .names
                    .table(v)
                    .or_else(|| r.w.fail(format!("Routing table {v} not found for route")))?;
            }
            "protocol" => {
                i += 1;
                let v = r.w.value(i)?;
                route.protocol = r.ctx.names.protocol(v).or_else(|| {
                    r.w.fail(format!("Protocol {v} not found or invalid for route"))
                })?;
                protocol_written = true;
            }
            "scope" => {
                i += 1;
                let v = r.w.value(i)?;
                route.scope = Some(r.ctx.names.scope(v).or_else(|| {
                    r.w.fail(format!("Scope {v} not found or invalid for route"))
                })?);
            }
            "metric" | "priority" | "preference" => {
                i += 1;
                let v = r.w.value(i)?;
                let what = "Invalid metric %s specified for route";
                route.metric = Some(number(v, u32::MAX, what, &mut r.w.notes)?);
            }
            "dev" | "oif" => {
                i += 1;
                let v = r.w.value(i)?;
                route.dev = Some(r.interface(v)?);
            }
            "onlink" => route.onlink = true,
            "encap" => return r.w.fail("encap for routes is not supported by pharos"),
            "expires" => {
                i += 1;
                if r.family == Some(Family::V4) {
                    return r.w.fail("expires is only valid for IPv6");
                }
                r.family = Some(Family::V6);
                let v = r.w.value(i)?;
                let what = "Invalid expires time %s specified for route";
                route.expires = Some(number(v, u32::MAX, what, &mut r.w.notes)?);
            }
            "realms" => {
                i += 1;
                let v = r.w.value(i)?;
                route.realms = r
                    .ctx
                    .names
                    .realms(v)
                    .or_else(|| r.w.fail(format!("Invalid realms {v} for route")))?;
                if r.family == Some(Family::V6) {
                    return r.w.fail("realms are only valid for IPv4");
                }
                r.family = Some(Family::V4);
            }
            "pref" => {
                i += 1;
                if r.family == Some(Family::V4) {
                    return r.w.fail("pref is only valid for IPv6");
                }
                r.family = Some(Family::V6);
                let v = r.w.value(i)?;
                route.pref = Some(match v {
                    "low" => 3,
                    "medium" => 0,
                    "high" => 1,
                    _ => {
                        let what = "Invalid pref value %s specified for route";
                        u8::try_from(number(v, 255, what, &mut r.w.notes)?).ok()?
                    }
                });
            }
            "ttl-propagate" => {
                i += 1;
                let v = r.w.value(i)?;
                let value = match v {
                    "enabled" => 1,
                    "disabled" => 0,
                    _ => {
                        // Reported, and the earlier value (0) is sent anyway.
                        r.w.note(format!("ttl-propagate value {v} not recognised"));
                        route.ttl_propagate.unwrap_or(0)
                    }
                };
                route.ttl_propagate = Some(value);
            }
            "or" => {
                r.w.note("\"or\" for routes is deprecated. Please use \"nexthop\"");
                if !route.nexthops.is_empty() {
                    r.w.note("\"or\" route already specified - ignoring subsequent");
                    i += 2;
                    continue;
                }
                i += 1;
                let v = r.w.value(i)?;
                let first = NextHop {
                    via: route.via.take(),
                    ..NextHop::default()
                };
                let a = host(v, &mut r.w.notes)
                    .or_else(|| r.w.fail(format!("Invalid \"or\" address {v}")))?;
                route.nexthops = vec![
                    first,
                    NextHop {
                        via: Some(a),
                        ..NextHop::default()
                    },
                ];
            }
            "nexthop" => {
                if route.nexthops.is_empty() {
                    nexthop_at = Some(i);
                } else {
                    r.w.note("Cannot specify nexthops with \"or\" route");
                }
                break;
            }
            "no_track" => route.no_track = true,
            "track_group" if r.ctx.is_static => {
                i += 1;
                let v = r.w.value(i)?;
                if route.track_group.is_some() {
                    r.w.note(format!("track_group {v} is a duplicate"));
                    break;
                }
                route.track_group = Some(v.to_string());
            }
            "prepend" => route.append = false,
            "append" => route.append = true,
            _ => {
                if kw == "to" {
                    i += 1;
                }
                // keepalived looks for a type in the first word, even after `to`.
                let mut word = r.w.value(i)?;
                if let Some(t) = r.ctx.names.route_type(kw) {
                    route.kind = Some(t);
                    i += 1;
                    word = r.w.value(i)?;
                }
                let n = net(word, true, &mut r.w.notes)
                    .or_else(|| r.w.fail(format!("unknown route keyword {word}")))?;
                if let Some(f) = n.family() {
                    r.family(f, &format!("{MIX} ({word})"))?;
                }
                dst = Some(n);
                dst_word = word;
            }
        }
        i += 1;
    }
    match nexthop_at {
        Some(at) => read_nexthops(r, at, &mut route),
        None if i < words.len() => {
            return r
                .w
                .fail(format!("Route has trailing nonsense - {}", words[i]));
        }
        None => {}
    }
    let Some(dst) = dst else {
        return r.w.fail("Route must have a destination");
    };
    if !route.no_track {
        if protocol_written && route.protocol != RTPROT_KEEPALIVED {
            r.w.note(format!(
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"
            ));
        }
        route.protocol = RTPROT_KEEPALIVED;
        if route.dev.is_none() {
            r.w.note(format!(
                "Warning - cannot track route {dst_word} with no interface specified, not tracking"
            ));
            route.no_track = true;
        }
    }
    if route.track_group.is_some() && route.dev.is_none() {
        r.w.note("Static route cannot have track group if no oif specified");
        route.track_group = None;
    }
    route.family = r.family.unwrap_or(Family::V4);
    route.dst = dst.resolve(route.family);
    route.src = src.map(|s| s.resolve(route.family));
    Some(route)
}

/// `nexthop via [inet|inet6] A dev IF weight N onlink realms R …`, repeated.
/// An error ends the list; the route keeps the hops read before it.
fn read_nexthops(r: &mut Reader<'_, '_>, mut i: usize, route: &mut Route) {
    let words = r.w.words;
    while words.get(i).is_some_and(|w| w == "nexthop") {
        i += 1;
        match read_nexthop(r, &mut i) {
            Some(nh) => route.nexthops.push(nh),
            None => return,
        }
    }
    if let Some(w) = words.get(i) {
        r.w.note(format!("Route has trailing nonsense after nexthops - {w}"));
    }
}

fn read_nexthop(r: &mut Reader<'_, '_>, i: &mut usize) -> Option<NextHop> {
    let words = r.w.words;
    let mut nh = NextHop::default();
    let mut family = None;
    while let Some(kw) = words.get(*i).map(String::as_str) {
        match kw {
            "via" => {
                *i += 1;
                let mut v = r.w.value(*i)?;
                if v == "inet" || v == "inet6" {
                    family = Some(if v == "inet" { Family::V4 } else { Family::V6 });
                    *i += 1;
                    v = r.w.value(*i)?;
                }
                if let Some(f) = family {
                    if r.family.is_some_and(|have| have != f) {
                        return r.w.fail("IPv4/6 mismatch for nexthop");
                    }
                    r.family = Some(f);
                }
                let a = host(v, &mut r.w.notes)
                    .or_else(|| r.w.fail(format!("invalid nexthop address {v}")))?;
                if r.family.is_some_and(|have| have != Family::of(a)) {
                    return r.w.fail("Address family mismatch for next hop");
                }
                r.family = Some(Family::of(a));
                nh.via = Some(a);
            }
            "dev" => {
                *i += 1;
                let v = r.w.value(*i)?;
                nh.dev = Some(r.interface(v)?);
            }
            "weight" => {
                *i += 1;
                let v = r.w.value(*i)?;
                let what = "Invalid weight %s specified for route";
                let n = number(v, 256, what, &mut r.w.notes)?;
                if n == 0 {
                    return r.w.fail("Invalid weight 0 specified for route");
                }
                nh.weight = u16::try_from(n).ok();
            }
            "onlink" => nh.onlink = true,
            "encap" => return r.w.fail("encap for routes is not supported by pharos"),
            "realms" => {
                *i += 1;
                let v = r.w.value(*i)?;
                nh.realms = r
                    .ctx
                    .names
                    .realms(v)
                    .or_else(|| r.w.fail(format!("Invalid realms {v} for route")))?;
                if r.family == Some(Family::V6) {
                    return r.w.fail("realms are only supported for IPv4");
                }
                r.family = Some(Family::V4);
            }
            "as" => return r.w.fail("'as [to]' (nat) not supported"),
            _ => break,
        }
        *i += 1;
    }
    Some(nh)
}
