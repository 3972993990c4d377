//! Lowering: the checked node tree → `model::keepalived`, with keepalived's
//! defaults applied and the semantic checks keepalived makes after reading
//! (interfaces exist, sync groups, scripts and script security, virtual
//! server defaults…), each reported with keepalived's wording.

mod checks;
mod global;
mod lvs;
mod route;
mod vrrp;

use super::table::{Node, Value};
use super::{ErrClass, KaDiagnostic, Options};
use crate::conf::{Diagnostic, Span};
use crate::model::keepalived::{KeepalivedConfig, RawBlock, RawLine, RawOption};

/// Collects diagnostics while lowering.
pub(crate) struct Lower<'a> {
    pub diags: &'a mut Vec<KaDiagnostic>,
    pub opts: &'a Options,
    /// The host's interface names, read once on first use (a config with
    /// 10,000 instances would otherwise cost 10,000 lookups).
    interfaces: Option<std::collections::HashSet<String>>,
}

impl Lower<'_> {
    /// Whether the system has an interface called `name`.
    pub fn interface_exists(&mut self, name: &str) -> bool {
        let names = self.interfaces.get_or_insert_with(|| {
            nix::net::if_::if_nameindex()
                .map(|list| {
                    list.iter()
                        .map(|i| i.name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        });
        names.contains(name)
    }

    pub fn report(&mut self, kind: ErrClass, at: Option<Span>, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            kind,
            at,
            message: message.into(),
        });
    }
}

/// Builds the model one root node at a time (see `parse::parse_each`).
pub struct Lowering<'o> {
    cfg: KeepalivedConfig,
    opts: &'o Options,
    interfaces: Option<std::collections::HashSet<String>>,
}

impl<'o> Lowering<'o> {
    /// An empty model to build into.
    pub fn new(opts: &'o Options) -> Self {
        Lowering {
            cfg: KeepalivedConfig::default(),
            opts,
            interfaces: None,
        }
    }

    fn with<T>(
        &mut self,
        diags: &mut Vec<KaDiagnostic>,
        f: impl FnOnce(&mut Lower<'_>, &mut KeepalivedConfig) -> T,
    ) -> T {
        let mut lw = Lower {
            diags,
            opts: self.opts,
            interfaces: self.interfaces.take(),
        };
        let out = f(&mut lw, &mut self.cfg);
        self.interfaces = lw.interfaces.take();
        out
    }

    /// Adds one root-level block or line to the model.
    pub fn root(&mut self, node: &Node, diags: &mut Vec<KaDiagnostic>) {
        self.with(diags, |lw, cfg| root(lw, cfg, node));
    }

    /// The checks that need everything; returns the model.
    pub fn finish(mut self, diags: &mut Vec<KaDiagnostic>) -> KeepalivedConfig {
        self.with(diags, checks::cross_checks);
        self.cfg
    }
}

fn root(lw: &mut Lower<'_>, cfg: &mut KeepalivedConfig, node: &Node) {
    match node.name {
        "global_defs" => global::global_defs(lw, node, &mut cfg.global),
        "vrrp_sync_group" => cfg.sync_groups.push(vrrp::sync_group(lw, node)),
        "vrrp_instance" => cfg.instances.push(vrrp::instance(lw, node)),
        "vrrp_script" => cfg.scripts.push(vrrp::script(lw, node)),
        "track_file" => cfg.track_files.push(vrrp::track_file(node)),
        "static_ipaddress" => cfg
            .static_addresses
            .extend(node.entries.iter().filter_map(|e| vrrp::address(lw, e))),
        "static_routes" => cfg.static_routes.extend(route::routes(lw, node)),
        "static_rules" => cfg.static_rules.extend(route::rules(lw, node)),
        "virtual_server_group" => cfg.virtual_server_groups.push(lvs::group(lw, node)),
        "virtual_server" => {
            if let Some(vs) = lvs::virtual_server(lw, node) {
                cfg.virtual_servers.push(vs);
            }
        }
        _ if !node.children.is_empty()
            || matches!(node.value, Value::Flag) && !node.entries.is_empty() =>
        {
            cfg.other_blocks.push(raw_block(node))
        }
        _ => cfg.root.push(raw_option(node)),
    }
}

/// A node kept as its keyword and words.
pub(crate) fn raw_option(node: &Node) -> RawOption {
    RawOption {
        keyword: node.name.to_string(),
        args: node.args.clone(),
    }
}

/// A value block's entries kept as words.
pub(crate) fn raw_entries(node: &Node) -> impl Iterator<Item = RawLine> + '_ {
    node.entries.iter().map(|e| RawLine {
        words: e.words.clone(),
    })
}

/// A whole block kept as written.
pub(crate) fn raw_block(node: &Node) -> RawBlock {
    RawBlock {
        keyword: node.name.to_string(),
        args: node.args.clone(),
        options: node
            .children
            .iter()
            .filter(|c| c.children.is_empty())
            .map(raw_option)
            .collect(),
        entries: raw_entries(node).collect(),
        blocks: node
            .children
            .iter()
            .filter(|c| !c.children.is_empty())
            .map(raw_block)
            .collect(),
    }
}

/// `NAME [weight N [reverse|noreverse]]` tracker lines.
pub(crate) fn tracked(
    lw: &mut Lower<'_>,
    node: &Node,
    min: i32,
    max: i32,
) -> Vec<crate::model::keepalived::Tracked> {
    let mut out = Vec::new();
    for e in &node.entries {
        let Some(name) = e.words.first() else {
            continue;
        };
        let mut weight = 0;
        let mut reverse = false;
        let mut i = 1;
        while i < e.words.len() {
            match e.words[i].as_str() {
                "weight" => {
                    match e.words.get(i + 1).and_then(|w| w.parse::<i32>().ok()) {
                        Some(w) if (min..=max).contains(&w) => weight = w,
                        _ => lw.report(
                            ErrClass::GeneralError,
                            Some(e.at),
                            format!("{} weight for {name} must be between [{min}:{max}] inclusive. Ignoring...", node.name),
                        ),
                    }
                    i += 1;
                }
                "reverse" => reverse = true,
                "noreverse" => reverse = false,
                other => lw.report(
                    ErrClass::GeneralError,
                    Some(e.at),
                    format!("Unknown track option '{other}' for {name}"),
                ),
            }
            i += 1;
        }
        out.push(crate::model::keepalived::Tracked {
            name: name.clone(),
            weight,
            reverse,
        });
    }
    out
}

/// Keywords of `node` not in `typed`, kept in order.
pub(crate) fn others(node: &Node, typed: &[&str]) -> Vec<RawOption> {
    node.children
        .iter()
        .filter(|c| !typed.contains(&c.name))
        .map(raw_option)
        .collect()
}
