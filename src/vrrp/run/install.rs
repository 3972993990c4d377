//! What an instance installs besides its addresses: `virtual_routes` and
//! `virtual_rules` (added after the VIPs on becoming MASTER, removed on
//! leaving), the root-level `static_routes`/`static_rules` (for the
//! daemon's lifetime) and `use_vmac` interfaces (made before the sockets
//! open, deleted at exit). Reading and the netlink messages are
//! `vrrp::route` and `vrrp::vmac`; this is the driver's side.

use super::super::route::{self, LineContext, Route, RtNames, Rule, RulePriorities};
use super::super::vmac::{self, VmacSpec, Vmacs};
use crate::model::keepalived::{KeepalivedConfig, RawLine, VrrpInstance};
use std::collections::HashMap;

/// The routes and rules of one instance, or of the static set.
#[derive(Clone, Debug, Default)]
pub(super) struct Routing {
    pub routes: Vec<Route>,
    pub rules: Vec<Rule>,
}

/// Reads every route and rule line of the configuration: the static set
/// and one `Routing` per instance (by name). Rules without a preference
/// are numbered in one sequence, static ones first, as keepalived numbers
/// them in reading order. Lines keepalived drops are dropped (their
/// messages were given when the file was read).
pub(super) fn routing(cfg: &KeepalivedConfig) -> (Routing, HashMap<String, Routing>) {
    let names = RtNames::load(std::path::Path::new("/etc/iproute2"));
    let mut auto = RulePriorities::default();
    let mut read = |routes: &[RawLine], rules: &[RawLine], is_static: bool| {
        let mut ctx = LineContext::new(&names);
        ctx.is_static = is_static;
        Routing {
            routes: routes
                .iter()
                .filter_map(|l| route::parse_route(&l.words, &ctx).value)
                .collect(),
            rules: rules
                .iter()
                .filter_map(|l| route::parse_rule(&l.words, &ctx, &mut auto).value)
                .collect(),
        }
    };
    let statics = read(&cfg.static_routes, &cfg.static_rules, true);
    let per_instance = cfg
        .instances
        .iter()
        .map(|vi| {
            (
                vi.name.clone(),
                read(&vi.virtual_routes, &vi.virtual_rules, false),
            )
        })
        .collect();
    (statics, per_instance)
}

/// Adds (or removes) a set of routes and rules; failures are logged.
pub(super) fn apply(
    rt: &tokio::runtime::Runtime,
    handle: &rtnetlink::Handle,
    set: &Routing,
    add: bool,
    log: &mut dyn FnMut(&str),
) {
    if add {
        for r in &set.routes {
            if let Err(e) = rt.block_on(route::add_route(handle, r)) {
                log(&format!("Netlink: error adding route: {e}"));
            }
        }
        for r in &set.rules {
            if let Err(e) = rt.block_on(route::add_rule(handle, r)) {
                log(&format!("Netlink: error adding rule: {e}"));
            }
        }
    } else {
        for r in &set.rules {
            let _ = rt.block_on(route::remove_rule(handle, r));
        }
        for r in &set.routes {
            let _ = rt.block_on(route::remove_route(handle, r));
        }
    }
}

/// The VMAC an instance asks for (`use_vmac`), with `vmac_xmit_base`.
pub(super) fn vmac_spec(vi: &VrrpInstance, cfg: &KeepalivedConfig) -> Option<VmacSpec> {
    let args = vi.use_vmac.as_ref()?;
    let prefix = cfg
        .global
        .other
        .iter()
        .find(|o| o.keyword == "vmac_prefix")
        .and_then(|o| o.args.first().cloned())
        .unwrap_or_else(|| "vrrp".into());
    let mut spec = vmac::parse_use_vmac(args, &prefix, vi.vrid, vi.ipv6).value?;
    spec.xmit_base = vi.other.iter().any(|o| o.keyword == "vmac_xmit_base");
    spec.other_family_evips = vi
        .excluded_vips
        .iter()
        .any(|v| v.prefix.addr.is_ipv6() != vi.ipv6);
    Some(spec)
}

/// The VMACs made for the running configuration.
#[derive(Default)]
pub(super) struct VmacSet {
    vmacs: Vmacs,
    /// Instance name → (spec, base interface).
    pub made: HashMap<String, (VmacSpec, String)>,
}

impl VmacSet {
    /// Makes (or takes over) the VMAC of every instance that wants one.
    pub fn create_all(
        &mut self,
        rt: &tokio::runtime::Runtime,
        handle: &rtnetlink::Handle,
        cfg: &KeepalivedConfig,
        log: &mut dyn FnMut(&str),
    ) {
        for vi in &cfg.instances {
            let (Some(spec), Some(base)) = (vmac_spec(vi, cfg), vi.interface.clone()) else {
                continue;
            };
            let source = vi.unicast_src_ip.and_then(|a| match a {
                std::net::IpAddr::V6(x) => Some(x),
                std::net::IpAddr::V4(_) => None,
            });
            match rt.block_on(self.vmacs.create(handle, &spec, &base, source)) {
                Ok(created) => {
                    for n in &created.notices {
                        log(n);
                    }
                    self.made.insert(vi.name.clone(), (spec, base));
                }
                Err(e) => log(&format!(
                    "({}) cannot create VMAC {}: {e}",
                    vi.name, spec.name
                )),
            }
        }
    }

    /// Deletes every VMAC made and restores rp_filter (at exit).
    pub fn delete_all(&mut self, rt: &tokio::runtime::Runtime, handle: &rtnetlink::Handle) {
        for (_, (spec, base)) in self.made.drain() {
            let _ = rt.block_on(self.vmacs.delete(handle, &spec, &base));
        }
        let _ = rt.block_on(self.vmacs.restore_rp_filter(handle));
    }
}
