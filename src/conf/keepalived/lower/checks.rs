//! Checks keepalived makes once everything is read: instance sanity,
//! sync group membership and weights, tracked scripts, script security.

use super::Lower;
use crate::conf::keepalived::ErrClass;
use crate::model::common::{Duration, Script};
use crate::model::keepalived::{KeepalivedConfig, Notify};

/// Checks that need the whole configuration (keepalived does them after
/// reading): instance sanity, sync group membership, script security.
pub(super) fn cross_checks(lw: &mut Lower<'_>, cfg: &mut KeepalivedConfig) {
    script_checks(lw, cfg);
    sync_group_weights(lw, cfg);
    for vi in &mut cfg.instances {
        let name = vi.name.clone();
        if lw.opts.check_interfaces {
            for t in &vi.track.interfaces {
                if !lw.interface_exists(&t.name) {
                    lw.report(
                        ErrClass::Warning,
                        None,
                        format!("({name}) tracked interface {} doesn't exist", t.name),
                    );
                    lw.report(
                        ErrClass::BadIf,
                        None,
                        "Non-existent interface specified in configuration",
                    );
                }
            }
        }
        if vi.interface.is_none() && vi.unicast_peers.is_empty() {
            match cfg.global.default_interface.clone() {
                Some(ifname) => vi.interface = Some(ifname),
                None => lw.report(
                    ErrClass::GeneralError,
                    None,
                    format!("({name}) Unknown interface!"),
                ),
            }
        }
        if vi.vrid == 0 {
            lw.report(
                ErrClass::GeneralError,
                None,
                format!("({name}) the virtual router id must be set"),
            );
        }
        if vi.vips.is_empty() {
            lw.report(
                ErrClass::GeneralError,
                None,
                format!("({name}) No VIP specified; at least one is sensible"),
            );
        }
        if vi.version == 0 {
            vi.version = if vi.ipv6 { 3 } else { cfg.global.vrrp_version };
        }
        if vi.version == 2 && vi.advert_int.as_micros() % 1_000_000 != 0 {
            let secs = vi.advert_int.as_micros() as f64 / 1e6;
            lw.report(
                ErrClass::GeneralError,
                None,
                format!(
                    "({name}) VRRPv2 advertisement interval {secs:.6}s must be an integer. rounding"
                ),
            );
            let rounded = ((vi.advert_int.as_micros() + 500_000) / 1_000_000).max(1);
            vi.advert_int = Duration::from_secs(rounded);
        }
    }
    let names: Vec<String> = cfg.instances.iter().map(|v| v.name.clone()).collect();
    for g in &mut cfg.sync_groups {
        g.members.retain(|m| {
            let known = names.contains(m);
            if !known {
                lw.report(
                    ErrClass::GeneralError,
                    None,
                    format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        g.name
                    ),
                );
            }
            known
        });
        if g.members.len() == 1 {
            lw.report(
                ErrClass::Warning,
                None,
                format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", g.name),
            );
        }
    }
    cfg.sync_groups.retain(|g| !g.members.is_empty());
    if !cfg.global.enable_script_security {
        let (vrrp, check) = root_scripts(cfg);
        if vrrp {
            lw.report(
                ErrClass::SecurityError,
                None,
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
            );
        }
        if check {
            lw.report(
                ErrClass::SecurityError,
                None,
                "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.",
            );
        }
    }
}

/// Whether any VRRP-side / checker-side script would run as root.
/// keepalived's default user is `keepalived_script` when it exists, else
/// root; a script whose program cannot be found is disabled, not run.
fn root_scripts(cfg: &KeepalivedConfig) -> (bool, bool) {
    let default_user = cfg.global.default_script_user();
    let runs_as_root = |s: &Script| {
        s.user.as_deref().unwrap_or(&default_user) == "root"
            && s.argv.first().is_some_and(|p| program_exists(p))
    };
    let mut vrrp: Vec<&Script> = Vec::new();
    for vi in &cfg.instances {
        vrrp.extend(notify_scripts(&vi.notify));
    }
    for g in &cfg.sync_groups {
        vrrp.extend(notify_scripts(&g.notify));
    }
    vrrp.extend(cfg.scripts.iter().filter_map(|s| s.script.as_ref()));
    let mut check: Vec<&Script> = Vec::new();
    for vs in &cfg.virtual_servers {
        check.extend(vs.quorum_up.iter().chain(vs.quorum_down.iter()));
        for rs in &vs.real_servers {
            check.extend(rs.notify_up.iter().chain(rs.notify_down.iter()));
            for chk in &rs.checks {
                if let crate::model::Probe::Misc { script, .. } = &chk.probe {
                    check.push(script);
                }
            }
        }
    }
    (
        vrrp.into_iter().any(runs_as_root),
        check.into_iter().any(runs_as_root),
    )
}

/// An absolute path that exists, or a name found in `$PATH`.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).exists();
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .any(|dir| std::path::Path::new(dir).join(program).exists())
}

fn notify_scripts(n: &Notify) -> impl Iterator<Item = &Script> {
    [
        &n.master,
        &n.backup,
        &n.fault,
        &n.stop,
        &n.deleted,
        &n.any,
        &n.master_rx_lower_pri,
    ]
    .into_iter()
    .filter_map(Option::as_ref)
}

/// vrrp_scripts without a `script` are removed; trackers naming a missing
/// or unusable script are dropped, with keepalived's messages.
fn script_checks(lw: &mut Lower<'_>, cfg: &mut KeepalivedConfig) {
    cfg.scripts.retain(|s| {
        if s.script.is_none() {
            lw.report(
                ErrClass::GeneralError,
                None,
                format!("No script set for vrrp_script {} - removing", s.name),
            );
        }
        s.script.is_some()
    });
    let mut disabled = Vec::new();
    for s in &cfg.scripts {
        let found = s
            .script
            .as_ref()
            .and_then(|sc| sc.argv.first())
            .is_some_and(|p| program_exists(p));
        if !found {
            disabled.push(s.name.clone());
        }
    }
    let known: Vec<String> = cfg.scripts.iter().map(|s| s.name.clone()).collect();
    let mut reported = Vec::new();
    let mut keep = |owner: &str, t: &crate::model::keepalived::Tracked, lw: &mut Lower<'_>| {
        if !known.contains(&t.name) {
            lw.report(
                ErrClass::GeneralError,
                None,
                format!("({owner}) track script {} not found, ignoring...", t.name),
            );
            return false;
        }
        if disabled.contains(&t.name) {
            if !reported.contains(&t.name) {
                reported.push(t.name.clone());
                lw.report(
                    ErrClass::GeneralError,
                    None,
                    format!(
                        "Disabling track script {} since not found/accessible",
                        t.name
                    ),
                );
            }
            return false;
        }
        true
    };
    for vi in &mut cfg.instances {
        let owner = vi.name.clone();
        vi.track.scripts.retain(|t| keep(&owner, t, lw));
    }
    for g in &mut cfg.sync_groups {
        let owner = g.name.clone();
        g.track.scripts.retain(|t| keep(&owner, t, lw));
    }
}

/// Members of a sync group ignore weighted trackers unless the group says
/// `sync_group_tracking_weight`.
fn sync_group_weights(lw: &mut Lower<'_>, cfg: &mut KeepalivedConfig) {
    for g in &cfg.sync_groups {
        if g.other
            .iter()
            .any(|o| o.keyword == "sync_group_tracking_weight")
            || g.members.len() < 2
        {
            continue;
        }
        for vi in cfg
            .instances
            .iter_mut()
            .filter(|v| g.members.contains(&v.name))
        {
            let name = vi.name.clone();
            vi.track.interfaces.retain(|t| {
                if t.weight != 0 {
                    lw.report(
                        ErrClass::GeneralError,
                        None,
                        format!(
                            "({name}) ignoring {} tracked interface weight due to SYNC group",
                            t.name
                        ),
                    );
                }
                t.weight == 0
            });
            vi.track.scripts.retain(|t| {
                if t.weight != 0 {
                    lw.report(
                        ErrClass::GeneralError,
                        None,
                        format!(
                            "({name}) ignoring tracked script {} with weights due to SYNC group",
                            t.name
                        ),
                    );
                }
                t.weight == 0
            });
        }
    }
}
