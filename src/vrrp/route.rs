//! `virtual_routes`/`static_routes` and `virtual_rules`/`static_rules` the
//! way keepalived 2.2.7 reads and installs them (reference/keepalived.md
//! §1.14, §3.6; the details were taken from the Debian binary with `-t` and
//! strace): a line of words becomes a typed [`Route`] or [`Rule`] plus the
//! messages keepalived logs for it ([`parse_route`], [`parse_rule`]); pure
//! functions build the netlink messages ([`route_message`], [`rule_message`]);
//! thin async functions send them, treating "already there" on add and
//! "already gone" on remove as [`Outcome::Unchanged`].
//!
//! Owns: route and rule grammar, messages and requests. Must not touch: VIPs
//! (`addr`), VMAC links (`vmac`), the state machine (it decides when).

mod addr;
mod message;
mod metrics;
pub mod names;
mod parse;
mod rule;

use std::collections::HashMap;

use futures::StreamExt;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::Handle;

pub use self::addr::{Family, missing_parameter};
pub use self::message::{Op, route_flags, route_message};
pub use self::metrics::RouteMetrics;
pub use self::names::RtNames;
pub use self::parse::{NextHop, Route, parse_route};
pub use self::rule::{Action, Rule, RulePriorities, parse_rule, rule_flags, rule_message};
pub use crate::vrrp::addr::Outcome;

/// `RTPROT_KEEPALIVED`: the protocol of the routes and rules keepalived owns.
pub const RTPROT_KEEPALIVED: u8 = 18;

/// What a route or rule line is read against.
pub struct LineContext<'a> {
    /// Table, protocol, scope… names.
    pub names: &'a RtNames,
    /// `static_routes`/`static_rules` (`track_group` is allowed there only).
    pub is_static: bool,
    /// Whether an interface exists: keepalived drops a line whose `dev`,
    /// `oif` or `iif` is unknown when the configuration is read.
    pub interface_exists: &'a dyn Fn(&str) -> bool,
}

impl<'a> LineContext<'a> {
    /// A context for virtual routes/rules that takes every interface as existing.
    pub fn new(names: &'a RtNames) -> LineContext<'a> {
        LineContext {
            names,
            is_static: false,
            interface_exists: &|_| true,
        }
    }
}

/// A line read: the value (`None` when keepalived drops the line) and the
/// messages keepalived logs for it, in order, word for word. keepalived
/// reports them as configuration errors (`(file: Line N) message`); a
/// message starting with `***` makes it give up on the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<T> {
    /// The route or rule, when the line is kept.
    pub value: Option<T>,
    /// keepalived's messages for the line.
    pub notes: Vec<String>,
}

/// What went wrong installing or removing a route or rule.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A `dev`/`oif`/`iif` names no interface (keepalived logs the
    /// netlink error and carries on).
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    /// The kernel refused the request (`EINVAL` for an unreachable route
    /// with a `dev`, `ENETUNREACH` for a gateway off-link…).
    #[error("{op} {what}: {source}")]
    Kernel {
        /// `add route`, `remove rule`…
        op: &'static str,
        /// The line, briefly.
        what: String,
        /// The errno.
        #[source]
        source: std::io::Error,
    },
    /// The netlink conversation broke.
    #[error("netlink: {0}")]
    Netlink(String),
}

/// Sends one request with exactly `flags` (keepalived's, not rtnetlink's
/// defaults) and waits for the acknowledgement.
pub(crate) async fn request(
    handle: &Handle,
    body: RouteNetlinkMessage,
    flags: u16,
) -> Result<(), rtnetlink::Error> {
    let mut msg = NetlinkMessage::from(body);
    msg.header.flags = flags;
    let mut replies = handle.clone().request(msg)?;
    while let Some(reply) = replies.next().await {
        if let NetlinkPayload::Error(e) = reply.payload {
            // An error message without a code is the acknowledgement.
            if e.code.is_some() {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
        }
    }
    Ok(())
}

/// The errno of a netlink error reply.
pub(crate) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// Turns a refused request into a [`RouteError`], or `Unchanged` when the
/// errno is one of `benign`.
fn settle(
    r: Result<(), rtnetlink::Error>,
    benign: &[i32],
    op: &'static str,
    what: impl FnOnce() -> String,
) -> Result<Outcome, RouteError> {
    match r {
        Ok(()) => Ok(Outcome::Changed),
        Err(e) if errno(&e).is_some_and(|n| benign.contains(&n)) => Ok(Outcome::Unchanged),
        Err(rtnetlink::Error::NetlinkError(m)) => Err(RouteError::Kernel {
            op,
            what: what(),
            source: m.to_io(),
        }),
        Err(e) => Err(RouteError::Netlink(e.to_string())),
    }
}

/// Interface name → index, for the names a route uses.
async fn ifindexes(handle: &Handle) -> Result<HashMap<String, u32>, RouteError> {
    let links = crate::vrrp::addr::links(handle)
        .await
        .map_err(|e| RouteError::Netlink(e.to_string()))?;
    Ok(links.into_iter().map(|l| (l.name, l.index)).collect())
}

/// Adds `route` as keepalived does. A route that is already there is `Unchanged`.
pub async fn add_route(handle: &Handle, route: &Route) -> Result<Outcome, RouteError> {
    let names = ifindexes(handle).await?;
    let body = route_message(route, Op::Add, &|n| names.get(n).copied())?;
    let r = request(
        handle,
        RouteNetlinkMessage::NewRoute(body),
        route_flags(route, Op::Add),
    )
    .await;
    settle(r, &[libc::EEXIST], "add route", || route.dst.to_string())
}

/// Removes `route` as keepalived does. A route (or interface) that is
/// already gone is `Unchanged`.
pub async fn remove_route(handle: &Handle, route: &Route) -> Result<Outcome, RouteError> {
    let names = ifindexes(handle).await?;
    let body = match route_message(route, Op::Delete, &|n| names.get(n).copied()) {
        Ok(b) => b,
        // Its interface went away, and the route with it.
        Err(RouteError::NoSuchInterface(_)) => return Ok(Outcome::Unchanged),
        Err(e) => return Err(e),
    };
    let r = request(
        handle,
        RouteNetlinkMessage::DelRoute(body),
        route_flags(route, Op::Delete),
    )
    .await;
    settle(r, &[libc::ESRCH, libc::ENODEV], "remove route", || {
        route.dst.to_string()
    })
}

/// Adds `rule` as keepalived does (`NLM_F_EXCL`). A rule that is already
/// there is `Unchanged`.
pub async fn add_rule(handle: &Handle, rule: &Rule) -> Result<Outcome, RouteError> {
    let r = request(
        handle,
        RouteNetlinkMessage::NewRule(rule_message(rule)),
        rule_flags(Op::Add),
    )
    .await;
    settle(r, &[libc::EEXIST], "add rule", || {
        format!("priority {}", rule.priority)
    })
}

/// Removes `rule`. A rule that is already gone is `Unchanged`.
pub async fn remove_rule(handle: &Handle, rule: &Rule) -> Result<Outcome, RouteError> {
    let r = request(
        handle,
        RouteNetlinkMessage::DelRule(rule_message(rule)),
        rule_flags(Op::Delete),
    )
    .await;
    settle(r, &[libc::ENOENT], "remove rule", || {
        format!("priority {}", rule.priority)
    })
}

#[cfg(test)]
mod tests;
