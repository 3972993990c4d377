//! One `virtual_rules`/`static_rules` line → a typed [`Rule`] and its
//! `RTM_NEWRULE`/`RTM_DELRULE`, as keepalived 2.2.7 reads and sends them
//! (grammar of `alloc_rule`, messages checked with strace): `ip rule` words,
//! `FRA_PROTOCOL` 18 on tracked rules, `NLM_F_EXCL` on add, and preferences
//! handed out from 16384 downwards, per family, to rules that have none.
//!
//! Owns: the rule grammar and rule messages. Must not touch: sockets.

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::IpProtocol;
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{
    RuleAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};

use super::addr::{Family, Net, Words, net};
use super::message::{Op, address_family, realm};
use super::names::{read_unsigned, strtoul};
use super::{LineContext, Parsed, RTPROT_KEEPALIVED};
use crate::model::Prefix;

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `table`/`lookup N` (`FR_ACT_TO_TBL`); 0 with `l3mdev`.
    Table(u32),
    /// `goto PREF`.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// A policy-routing rule as keepalived installs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The family (`inet6`, or that of the addresses; IPv4 otherwise).
    pub family: Family,
    /// `from PREFIX` (`all` is the family's `/0`).
    pub from: Option<Prefix>,
    /// `to PREFIX`.
    pub to: Option<Prefix>,
    /// `not`.
    pub invert: bool,
    /// `preference`/`priority`/`order`, or the one keepalived assigned.
    pub priority: u32,
    /// `tos`/`dsfield`.
    pub tos: u8,
    /// `fwmark N`.
    pub fwmark: Option<u32>,
    /// `fwmark N/M`.
    pub fwmask: Option<u32>,
    /// `realms` (`FRA_FLOW`), 0 = none.
    pub realms: u32,
    /// `suppress_prefixlength`.
    pub suppress_prefixlen: Option<u32>,
    /// `suppress_ifgroup`.
    pub suppress_ifgroup: Option<u32>,
    /// `iif`/`dev IF`.
    pub iif: Option<String>,
    /// `oif IF`.
    pub oif: Option<String>,
    /// `tunnel-id N`.
    pub tunnel_id: Option<u64>,
    /// `uidrange A-B`.
    pub uid_range: Option<(u32, u32)>,
    /// `l3mdev`.
    pub l3mdev: bool,
    /// `FRA_PROTOCOL`: 18 on tracked rules, the written one on untracked.
    pub protocol: Option<u8>,
    /// `ipproto P`.
    pub ip_proto: Option<u8>,
    /// `sport A-B`.
    pub sport: Option<(u16, u16)>,
    /// `dport A-B`.
    pub dport: Option<(u16, u16)>,
    /// The action.
    pub action: Action,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (static rules only).
    pub track_group: Option<String>,
}

/// keepalived's counters for rules written without a preference: one per
/// family, starting at 16384 and counting down, across the whole
/// configuration (static and virtual rules, in file order).
#[derive(Clone, Debug)]
pub struct RulePriorities {
    v4: u32,
    v6: u32,
}

impl Default for RulePriorities {
    fn default() -> Self {
        RulePriorities {
            v4: 16384,
            v6: 16384,
        }
    }
}

impl RulePriorities {
    fn next(&mut self, f: Family) -> u32 {
        let slot = match f {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        };
        let p = *slot;
        *slot = slot.wrapping_sub(1);
        p
    }
}

/// What keepalived says about a second action word (`table` leaves out `l3mdev`).
const TOO_MANY: &str =
    "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule";
const TOO_MANY_L3MDEV: &str =
    "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule";
const MIXED: &str = "rule specification has mixed IPv4 and IPv6";

/// Reads one rule line; rules without a preference take the next one of `auto`.
pub fn parse_rule(
    words: &[String],
    ctx: &LineContext<'_>,
    auto: &mut RulePriorities,
) -> Parsed<Rule> {
    let mut w = Words::new(words);
    let value = read_rule(&mut w, ctx, auto);
    Parsed {
        value,
        notes: w.notes,
    }
}

/// Parses `A-B` the way `sscanf("%u-%u")` does (trailing text ignored); a
/// lone `A` reads one number.
fn range(word: &str) -> (Option<u64>, Option<u64>) {
    let Some((a, rest)) = strtoul(word, 10).filter(|_| !word.trim_start().starts_with('-')) else {
        return (None, None);
    };
    let b = rest
        .strip_prefix('-')
        .and_then(|r| strtoul(r, 10))
        .map(|(b, _)| b);
    (Some(a), b)
}

fn read_rule(w: &mut Words<'_>, ctx: &LineContext<'_>, auto: &mut RulePriorities) -> Option<Rule> {
    let words = w.words;
    let mut family: Option<Family> = None;
    let (mut from, mut to): (Option<Net>, Option<Net>) = (None, None);
    let mut priority = None;
    let mut action: Option<Action> = None;
    let mut table_option = false;
    let mut protocol_written = None;
    let mut rule = Rule {
        family: Family::V4,
        from: None,
        to: None,
        invert: false,
        priority: 0,
        tos: 0,
        fwmark: None,
        fwmask: None,
        realms: 0,
        suppress_prefixlen: None,
        suppress_ifgroup: None,
        iif: None,
        oif: None,
        tunnel_id: None,
        uid_range: None,
        l3mdev: false,
        protocol: None,
        ip_proto: None,
        sport: None,
        dport: None,
        action: Action::Nop,
        no_track: false,
        track_group: None,
    };
    let exists = |name: &str, w: &mut Words<'_>| -> Option<String> {
        if (ctx.interface_exists)(name) {
            Some(name.to_string())
        } else {
            w.fail(format!("WARNING - interface {name} for rule doesn't exist"))
        }
    };
    let mut i = 0;
    while i < words.len() {
        let kw = words[i].as_str();
        match kw {
            "inet" | "inet6" => {
                let f = if kw == "inet" { Family::V4 } else { Family::V6 };
                if family.is_some_and(|have| have != f) {
                    let other = if kw == "inet" { "IPv6" } else { "IPv4" };
                    return w.fail(format!("{kw} specified for {other} rule"));
                }
                family = Some(f);
                // keepalived steps over the next word too.
                i += 1;
            }
            "from" | "to" => {
                i += 1;
                let v = w.value(i)?;
                let n = net(v, true, &mut w.notes)
                    .or_else(|| w.fail(format!("Invalid rule {kw} address {v}")))?;
                if let Some(f) = n.family() {
                    if family.is_some_and(|have| have != f) {
                        return w.fail(MIXED);
                    }
                    family = Some(f);
                }
                if kw == "from" {
                    from = Some(n)
                } else {
                    to = Some(n)
                }
            }
            "table" | "lookup" => {
                i += 1;
                let v = w.value(i)?;
                let t = ctx
                    .names
                    .table(v)
                    .or_else(|| w.fail(format!("Routing table {v} not found for rule")))?;
                if t == 0 {
                    return w.fail("Table 0 is not valid");
                }
                if action.is_some() {
                    return w.fail(TOO_MANY);
                }
                action = Some(Action::Table(t));
            }
            "not" => rule.invert = true,
            "preference" | "order" | "priority" => {
                i += 1;
                let v = w.value(i)?;
                match read_unsigned(v, 0, 0, u32::MAX) {
                    Ok(p) => priority = Some(p),
                    Err(e) => {
                        w.note(e);
                        // keepalived prints the keyword, not the value.
                        return w.fail(format!("Invalid rule preference {kw} specified"));
                    }
                }
            }
            "tos" | "dsfield" => {
                i += 1;
                let v = w.value(i)?;
                rule.tos = ctx
                    .names
                    .dsfield(v)
                    .or_else(|| w.fail(format!("TOS value {v} is invalid")))?;
            }
            "fwmark" => {
                i += 1;
                let v = w.value(i)?;
                let (mark, mask) =
                    fwmark(v).or_else(|| w.fail(format!("Invalid rule fwmark {v} specified")))?;
                rule.fwmark = Some(mark);
                rule.fwmask = mask;
            }
            "realms" => {
                i += 1;
                let v = w.value(i)?;
                rule.realms = ctx
                    .names
                    .realms(v)
                    .or_else(|| w.fail(format!("invalid realms {v} for rule")))?;
                table_option = true;
                if family == Some(Family::V6) {
                    return w.fail("realms is only valid for IPv4");
                }
                family = Some(Family::V4);
            }
            "suppress_prefixlength" | "sup_pl" => {
                i += 1;
                let v = w.value(i)?;
                match read_unsigned(v, 10, 0, i32::MAX.unsigned_abs()) {
                    Ok(n) => rule.suppress_prefixlen = Some(n),
                    Err(e) => {
                        w.note(e);
                        return w.fail(format!("Invalid suppress_prefixlength {kw} specified"));
                    }
                }
                table_option = true;
            }
            "suppress_ifgroup" | "sup_group" => {
                i += 1;
                let v = w.value(i)?;
                rule.suppress_ifgroup = Some(
                    ctx.names
                        .group(v)
                        .or_else(|| w.fail(format!("suppress_group {v} is invalid")))?,
                );
                table_option = true;
            }
            "dev" | "iif" => {
                i += 1;
                let v = w.value(i)?;
                rule.iif = Some(exists(v, w)?);
            }
            "oif" => {
                i += 1;
                let v = w.value(i)?;
                rule.oif = Some(exists(v, w)?);
            }
            "tunnel-id" => {
                i += 1;
                let v = w.value(i)?;
                match strtoul(v, 10) {
                    Some((n, "")) if !v.trim_start().starts_with('-') => rule.tunnel_id = Some(n),
                    _ => {
                        w.note(format!("invalid number '{v}'"));
                        return w.fail(format!("Invalid tunnel-id {kw} specified"));
                    }
                }
            }
            "uidrange" => {
                i += 1;
                let v = w.value(i)?;
                match range(v) {
                    (Some(a), Some(b)) => rule.uid_range = Some((a as u32, b as u32)),
                    _ => return w.fail(format!("Invalid uidrange {kw} specified")),
                }
            }
            "l3mdev" => {
                if action.is_some() {
                    return w.fail("Cannot specify l3mdev with other action");
                }
                rule.l3mdev = true;
                action = Some(Action::Table(0));
            }
            "protocol" => {
                i += 1;
                let v = w.value(i)?;
                // A bad protocol is reported but the rule is kept.
                match read_unsigned(v, 10, 0, 255) {
                    Ok(p) => protocol_written = u8::try_from(p).ok(),
                    Err(e) => {
                        w.note(e);
                        w.note(format!("Invalid protocol {v}"));
                    }
                }
            }
            "ipproto" => {
                i += 1;
                let v = w.value(i)?;
                match ctx.names.ip_proto(v) {
                    Some(p) => rule.ip_proto = Some(p),
                    None => w.note(format!("Invalid ipproto {v}")),
                }
            }
            "sport" | "dport" => {
                i += 1;
                let v = w.value(i)?;
                // keepalived 2.2.7 refuses a single port ("invalid … range"), keeping the rule.
                match range(v) {
                    (Some(a), Some(b)) => {
                        let r = Some((a as u16, b as u16));
                        if kw == "sport" {
                            rule.sport = r
                        } else {
                            rule.dport = r
                        }
                    }
                    _ => w.note(format!("invalid {kw} range {v}")),
                }
            }
            "no_track" => rule.no_track = true,
            "track_group" if ctx.is_static => {
                i += 1;
                let v = w.value(i)?;
                if rule.track_group.is_some() {
                    w.note(format!("track_group {v} is a duplicate"));
                    break;
                }
                rule.track_group = Some(v.to_string());
            }
            _ => {
                let mut word = kw;
                if word == "type" {
                    i += 1;
                    word = w.value(i)?;
                }
                let a = match word {
                    "goto" => {
                        i += 1;
                        let v = w.value(i)?;
                        match read_unsigned(v, 10, 0, u32::MAX) {
                            Ok(t) => Action::Goto(t),
                            Err(e) => {
                                w.note(e);
                                return w.fail(format!("Invalid target {word} specified"));
                            }
                        }
                    }
                    "nop" => Action::Nop,
                    _ => match ctx.names.route_type(word) {
                        Some(6) => Action::Blackhole,
                        Some(7) => Action::Unreachable,
                        Some(8) => Action::Prohibit,
                        Some(_) => return w.fail(format!("Invalid rule action {word}")),
                        None => return w.fail(format!("Unknown rule option {word}")),
                    },
                };
                if action.is_some() {
                    return w.fail(TOO_MANY_L3MDEV);
                }
                action = Some(a);
            }
        }
        i += 1;
    }
    if let Some(Action::Goto(target)) = action {
        match priority {
            Some(p) if p >= target => {
                return w.fail(format!(
                    "Invalid rule - preference {p} >= goto target {target}"
                ));
            }
            Some(_) => {}
            None => {
                return w.fail(format!(
                    "Invalid rule - goto target {target} specified without preference"
                ));
            }
        }
    }
    let Some(action) = action else {
        return w.fail("No action specified for rule - ignoring");
    };
    if !matches!(action, Action::Table(_)) && table_option {
        return w.fail("suppressor/realm specified for non table action - skipping");
    }
    rule.protocol = protocol_written;
    if !rule.no_track {
        if protocol_written.is_some_and(|p| p != RTPROT_KEEPALIVED) {
            w.note(format!(
                "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"
            ));
        }
        rule.protocol = Some(RTPROT_KEEPALIVED);
    }
    if rule.track_group.is_some() && rule.iif.is_none() {
        w.note("Static rule cannot have track_group if dev/iif not specified");
        rule.track_group = None;
    }
    rule.action = action;
    rule.family = family.unwrap_or(Family::V4);
    rule.from = from.map(|n| n.resolve(rule.family));
    rule.to = to.map(|n| n.resolve(rule.family));
    rule.priority = match priority {
        Some(p) => p,
        None => {
            let p = auto.next(rule.family);
            w.note(format!(
                "Rule has no preference specified - setting to {p}. This is probably not what you want."
            ));
            p
        }
    };
    Some(rule)
}

/// `fwmark N[/M]` as keepalived reads it (C `strtoul` base 0 on each side).
fn fwmark(v: &str) -> Option<(u32, Option<u32>)> {
    let s = v.trim_start();
    if s.starts_with('-') {
        return None;
    }
    let (mark, rest) = strtoul(s, 0).unwrap_or((0, s));
    let mark = u32::try_from(mark).ok()?;
    match rest.strip_prefix('/') {
        None if rest.is_empty() => Some((mark, None)),
        None => None,
        Some(m) => {
            if m.starts_with([' ', '\t', '-']) {
                return None;
            }
            let (mask, rest) = strtoul(m, 0).unwrap_or((0, m));
            (rest.is_empty()).then_some(())?;
            Some((mark, Some(u32::try_from(mask).ok()?)))
        }
    }
}

/// The `nlmsg_flags` keepalived sends with a rule request.
pub fn rule_flags(op: Op) -> u16 {
    match op {
        Op::Add => NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        Op::Delete => NLM_F_REQUEST | NLM_F_ACK,
    }
}

/// The body of `RTM_NEWRULE`/`RTM_DELRULE` (the same for both).
pub fn rule_message(rule: &Rule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = address_family(rule.family);
    m.header.src_len = rule.from.map_or(0, |p| p.len);
    m.header.dst_len = rule.to.map_or(0, |p| p.len);
    m.header.tos = rule.tos;
    if rule.invert {
        m.header.flags = RuleFlags::Invert;
    }
    let a = &mut m.attributes;
    m.header.action = match rule.action {
        Action::Table(t) => {
            if !rule.l3mdev {
                match u8::try_from(t) {
                    Ok(t) => m.header.table = t,
                    Err(_) => a.push(RuleAttribute::Table(t)),
                }
            }
            RuleAction::ToTable
        }
        Action::Goto(_) => RuleAction::Goto,
        Action::Nop => RuleAction::Nop,
        Action::Blackhole => RuleAction::Blackhole,
        Action::Unreachable => RuleAction::Unreachable,
        Action::Prohibit => RuleAction::Prohibit,
    };
    if let Some(p) = rule.from {
        a.push(RuleAttribute::Source(p.addr));
    }
    if let Some(p) = rule.to {
        a.push(RuleAttribute::Destination(p.addr));
    }
    a.push(RuleAttribute::Priority(rule.priority));
    if let Some(v) = rule.fwmark {
        a.push(RuleAttribute::FwMark(v));
    }
    if let Some(v) = rule.fwmask {
        a.push(RuleAttribute::FwMask(v));
    }
    if rule.realms != 0 {
        a.push(RuleAttribute::Realm(realm(rule.realms)));
    }
    if let Some(v) = rule.suppress_prefixlen {
        a.push(RuleAttribute::SuppressPrefixLen(v));
    }
    if let Some(v) = rule.suppress_ifgroup {
        a.push(RuleAttribute::SuppressIfGroup(v));
    }
    if let Some(v) = &rule.iif {
        a.push(RuleAttribute::Iifname(v.clone()));
    }
    if let Some(v) = &rule.oif {
        a.push(RuleAttribute::Oifname(v.clone()));
    }
    if let Some(v) = rule.tunnel_id {
        a.push(RuleAttribute::TunId(v));
    }
    if let Some((start, end)) = rule.uid_range {
        a.push(RuleAttribute::UidRange(RuleUidRange { start, end }));
    }
    if rule.l3mdev {
        a.push(RuleAttribute::L3MDev(true));
    }
    if let Some(p) = rule.protocol {
        a.push(RuleAttribute::Protocol(RouteProtocol::from(p)));
    }
    if let Some(p) = rule.ip_proto {
        a.push(RuleAttribute::IpProtocol(IpProtocol::from(p)));
    }
    if let Some((start, end)) = rule.sport {
        a.push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
    }
    if let Some((start, end)) = rule.dport {
        a.push(RuleAttribute::DestinationPortRange(RulePortRange {
            start,
            end,
        }));
    }
    if let Action::Goto(t) = rule.action {
        a.push(RuleAttribute::Goto(t));
    }
    m
}
