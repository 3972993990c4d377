//! `virtual_routes`/`static_routes` and `virtual_rules`/`static_rules`
//! lines: kept as words in the model, checked the way keepalived checks
//! them while reading (deprecated words, tracking, preferences, addresses).

use super::{Lower, raw_entries};
use crate::conf::keepalived::table::Node;
use crate::conf::keepalived::{ErrClass, values};
use crate::model::keepalived::RawLine;

/// Route types that come before the destination (`blackhole 10.0.0.0/8`).
const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "nat",
];

/// Route options followed by one value.
const ROUTE_VALUED: &[&str] = &[
    "src",
    "via",
    "gw",
    "or",
    "dev",
    "table",
    "metric",
    "priority",
    "protocol",
    "scope",
    "tos",
    "realms",
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "congctl",
    "hoplimit",
    "vrf",
    "track_group",
    "expires",
    "pref",
    "weight",
    "quickack",
    "fastopen_no_cookie",
    "onlink_weight",
];

/// Checks route lines and returns them as words.
pub(super) fn routes(lw: &mut Lower<'_>, node: &Node) -> Vec<RawLine> {
    for e in &node.entries {
        let mut dest = None;
        let mut dev = false;
        let mut tracked = true;
        let mut i = 0;
        while i < e.words.len() {
            let w = e.words[i].as_str();
            match w {
                "gw" => lw.report(
                    ErrClass::GeneralError,
                    Some(e.at),
                    "\"gw\" for routes is deprecated. Please use \"via\"",
                ),
                "or" => lw.report(
                    ErrClass::GeneralError,
                    Some(e.at),
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                ),
                "dev" | "oif" => dev = true,
                "no_track" => tracked = false,
                "nexthop" => {
                    // nexthops carry their own `dev`; keepalived tracks them.
                    dev |= e.words[i..].iter().any(|x| x == "dev");
                    break;
                }
                _ => {}
            }
            if ROUTE_VALUED.contains(&w) {
                i += 2;
                continue;
            }
            if dest.is_none() && !ROUTE_TYPES.contains(&w) && w != "to" && w != "inet6" {
                dest = Some(w.to_string());
            }
            i += 1;
        }
        if tracked && !dev {
            lw.report(
                ErrClass::Warning,
                Some(e.at),
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking",
                    dest.unwrap_or_default()
                ),
            );
        }
    }
    raw_entries(node).collect()
}

/// Checks rule lines and returns them as words.
pub(super) fn rules(lw: &mut Lower<'_>, node: &Node) -> Vec<RawLine> {
    for e in &node.entries {
        let mut preference = false;
        let mut i = 0;
        while i < e.words.len() {
            let w = e.words[i].as_str();
            let value = e.words.get(i + 1).map(String::as_str);
            match w {
                "from" | "to" => {
                    let v = value.unwrap_or("");
                    if v != "all" && values::prefix(v).is_none() {
                        lw.report(
                            ErrClass::GeneralError,
                            Some(e.at),
                            format!("VRRP parsed invalid IP {v}. skipping IP..."),
                        );
                        lw.report(
                            ErrClass::GeneralError,
                            Some(e.at),
                            format!("Invalid rule {w} address {v}"),
                        );
                    }
                    i += 2;
                    continue;
                }
                "preference" | "priority" | "order" | "prio" => preference = true,
                _ => {}
            }
            i += 1;
        }
        if !preference {
            lw.report(
                ErrClass::Warning,
                Some(e.at),
                "Rule has no preference specified - setting to 16384. This is probably not what you want.",
            );
        }
    }
    raw_entries(node).collect()
}
