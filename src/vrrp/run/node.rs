//! One running instance as the driver holds it, and how it is built from
//! the model: its socket, addresses, advert template and trackers.

use super::super::fsm::{self, Instance};
use super::super::net::Socket;
use super::super::packet::{Advert, AdvertAuth, Expect, Version};
use super::super::vmac::VmacSpec;
use super::super::{addr, garp, stats, track};
use super::install::Routing;
use crate::model::keepalived::{
    Auth, InitialState, KeepalivedConfig, VirtualAddress, VrrpInstance,
};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// A socket and what it was opened for; instances share it by key.
pub(super) struct Slot {
    pub ifname: String,
    pub v6: bool,
    pub src: Option<IpAddr>,
    pub multicast: Option<IpAddr>,
    /// IP protocol 51: `auth_type AH` instances.
    pub ah: bool,
    pub sock: Socket,
}

/// One running instance and what its actions need.
pub(super) struct Node {
    pub name: String,
    pub fsm: Instance,
    pub socket: usize,
    pub v6: bool,
    pub vips: Vec<(u32, VirtualAddress)>,
    pub peers: Vec<IpAddr>,
    pub group_addr: IpAddr,
    /// Index of the sync group this instance belongs to.
    pub group: Option<usize>,
    pub vrid: u8,
    pub template: Advert,
    pub v3_as_v2: bool,
    pub expect: Expect,
    pub garp_repeat: u32,
    pub garp_delay: Duration,
    pub garp_refresh: Duration,
    pub garp_refresh_repeat: u32,
    pub lower_prio_repeat: u32,
    /// A second GARP burst due at this time.
    pub garp_again: Option<Instant>,
    /// The next periodic refresh while MASTER.
    pub garp_refresh_at: Option<Instant>,
    pub announcer: Option<garp::Sender>,
    /// Configured priority before tracking.
    pub base_priority: u8,
    pub trackers: Vec<Tracker>,
    /// The last verdict applied, to send only changes.
    pub verdict: Option<track::Verdict>,
    /// Index into the configuration's `instances`.
    pub config: usize,
    /// keepalived's per-instance counters (SIGUSR2).
    pub counters: stats::Counters,
    /// Wall-clock time of the last state change (for the dumps).
    pub last_transition: std::time::Duration,
    /// The master last heard, and its priority.
    pub master: Option<(IpAddr, u8)>,
    /// Check the VIP list of adverts (`skip_check_adv_addr` off).
    pub check_addrs: bool,
    /// `auth_type AH`: the key and keepalived's one sequence counter,
    /// shared by sending and receiving.
    pub ah: Option<(String, u32)>,
    /// `virtual_routes` / `virtual_rules`, installed while MASTER.
    pub routing: Routing,
    /// `no_accept` (vrrp_strict's default below 255): traffic for the VIPs
    /// is dropped while MASTER (`vrrp::firewall`).
    pub no_accept: bool,
}

/// What an instance tracks: an interface's link state, a vrrp_script or a
/// track_file.
pub(super) struct Tracker {
    pub object: Object,
    pub weight: i32,
    pub reverse: bool,
}

pub(super) enum Object {
    Interface(String),
    Script(usize),
    File(usize),
    /// Index into `process::definitions`.
    Process(usize),
}

fn family_addr(a: IpAddr, v6: bool) -> Option<IpAddr> {
    (a.is_ipv6() == v6).then_some(a)
}

/// Builds the nodes of every runnable instance, opening sockets into
/// `slots` as needed. Instances that cannot run are reported and skipped.
pub(super) fn build(
    cfg: &KeepalivedConfig,
    links: &[addr::Link],
    slots: &mut Vec<Slot>,
    vmacs: &HashMap<String, (VmacSpec, String)>,
    routing: &HashMap<String, Routing>,
    log: &mut dyn FnMut(&str),
) -> std::io::Result<Vec<Node>> {
    let mut nodes = Vec::new();
    for (index, vi) in cfg.instances.iter().enumerate() {
        let Some(base) = vi.interface.clone() else {
            log(&format!("({}) no interface - ignoring", vi.name));
            continue;
        };
        // With a VMAC, addresses go on it and so do adverts (unless
        // `vmac_xmit_base`).
        let vmac = vmacs.get(&vi.name).map(|(spec, _)| spec);
        let home = vmac.map_or(base.clone(), |v| v.name.clone());
        let ifname = match vmac {
            Some(v) if !v.xmit_base => v.name.clone(),
            _ => base,
        };
        let Some(home_link) = links.iter().find(|l| l.name == home) else {
            log(&format!(
                "({}) interface {home} not found - ignoring",
                vi.name
            ));
            continue;
        };
        if !links.iter().any(|l| l.name == ifname) {
            log(&format!(
                "({}) interface {ifname} not found - ignoring",
                vi.name
            ));
            continue;
        }
        let v6 = vi.ipv6;
        let unicast = !vi.unicast_peers.is_empty();
        let group_addr = if v6 {
            vi.mcast_dst_ip
                .and_then(|a| family_addr(a, true))
                .or_else(|| family_addr(cfg.global.vrrp_mcast_group6, true))
                .unwrap_or(IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)))
        } else {
            vi.mcast_dst_ip
                .and_then(|a| family_addr(a, false))
                .or_else(|| family_addr(cfg.global.vrrp_mcast_group4, false))
                .unwrap_or(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)))
        };
        // An IPv4 VMAC has no address of its own: adverts leave with the
        // base interface's primary address, as keepalived sends them.
        let src = vi
            .unicast_src_ip
            .and_then(|a| family_addr(a, v6))
            .or_else(|| {
                let base = vi.interface.as_deref().filter(|b| *b != ifname && !v6)?;
                super::super::net::primary_ipv4(base).map(IpAddr::V4)
            });
        let multicast = (!unicast).then_some(group_addr);
        let ah = !v6 && matches!(vi.auth, Some(Auth::Ah { .. })) && vi.version != 3;
        let key = |s: &Slot| {
            s.ifname == ifname
                && s.v6 == v6
                && s.src == src
                && s.multicast == multicast
                && s.ah == ah
        };
        let socket = match slots.iter().position(key) {
            Some(i) => i,
            None => {
                let sock = match Socket::open(&ifname, v6, src, multicast, ah) {
                    Ok(s) => s,
                    Err(e) => {
                        log(&format!(
                            "({}) cannot open VRRP socket on {ifname}: {e}",
                            vi.name
                        ));
                        continue;
                    }
                };
                slots.push(Slot {
                    ifname: ifname.clone(),
                    v6,
                    src,
                    multicast,
                    ah,
                    sock,
                });
                slots.len() - 1
            }
        };
        let source = slots[socket].sock.source();
        let group = cfg
            .sync_groups
            .iter()
            .position(|g| g.members.contains(&vi.name));
        let mut n = node(
            vi, cfg, links, home_link, socket, source, group_addr, group, index,
        );
        n.routing = routing.get(&vi.name).cloned().unwrap_or_default();
        nodes.push(n);
    }
    Ok(nodes)
}

#[allow(clippy::too_many_arguments)]
fn node(
    vi: &VrrpInstance,
    cfg: &KeepalivedConfig,
    links: &[addr::Link],
    link: &addr::Link,
    socket: usize,
    source: IpAddr,
    group_addr: IpAddr,
    group: Option<usize>,
    config: usize,
) -> Node {
    let v6 = vi.ipv6;
    let version = if vi.version == 3 || v6 {
        Version::V3
    } else {
        Version::V2
    };
    let interval_centis = u16::try_from(vi.advert_int.as_micros() / 10_000)
        .unwrap_or(u16::MAX)
        .max(1);
    let auth = match (&vi.auth, version) {
        (Some(Auth::Pass { password }), Version::V2) => AdvertAuth::pass(password),
        (Some(Auth::Ah { .. }), Version::V2) => AdvertAuth::Ah,
        _ => AdvertAuth::None,
    };
    let unicast = !vi.unicast_peers.is_empty();
    let fsm = Instance::new(fsm::Config {
        vrid: vi.vrid,
        priority: vi.priority,
        advert_centis: interval_centis,
        v3: version == Version::V3,
        initial_master: vi.state == InitialState::Master,
        nopreempt: vi.nopreempt,
        preempt_delay: vi.preempt_delay.as_micros(),
        down_timer_adverts: vi.down_timer_adverts,
        address: source,
        lower_prio_no_advert: vi.lower_prio_no_advert || cfg.global.vrrp_lower_prio_no_advert,
        higher_prio_send_advert: vi.higher_prio_send_advert
            || cfg.global.vrrp_higher_prio_send_advert,
        synced: group.is_some(),
    });
    let on = |v: &VirtualAddress| -> Option<(u32, VirtualAddress)> {
        let idx = match &v.dev {
            Some(dev) => links.iter().find(|l| l.name == *dev)?.index,
            None => link.index,
        };
        Some((idx, v.clone()))
    };
    let vips: Vec<(u32, VirtualAddress)> = vi
        .vips
        .iter()
        .chain(vi.excluded_vips.iter())
        .filter_map(on)
        .collect();
    // Only VIPs (never eVIPs) of the instance's family are advertised.
    let advertised = vi
        .vips
        .iter()
        .map(|v| v.prefix.addr)
        .filter(|a| a.is_ipv6() == v6)
        .collect();
    let router = v6 && garp::ipv6_forwarding(&link.name);
    Node {
        name: vi.name.clone(),
        fsm,
        socket,
        v6,
        vips,
        peers: vi
            .unicast_peers
            .iter()
            .filter_map(|p| family_addr(p.addr, v6))
            .collect(),
        group_addr,
        group,
        vrid: vi.vrid,
        template: Advert {
            version,
            vrid: vi.vrid,
            priority: vi.priority,
            interval_centis,
            addrs: advertised,
            auth,
        },
        v3_as_v2: vi.v3_checksum_as_v2 || cfg.global.v3_checksum_as_v2,
        expect: Expect {
            version,
            vrid: vi.vrid,
            ipv6: v6,
            interval_centis,
            auth,
            unicast,
            ttl_window: None,
        },
        garp_repeat: vi.garp.master_repeat,
        garp_delay: vi.garp.master_delay.to_std(),
        garp_refresh: vi.garp.master_refresh.to_std(),
        garp_refresh_repeat: vi.garp.master_refresh_repeat,
        lower_prio_repeat: vi.garp.lower_prio_repeat,
        garp_again: None,
        garp_refresh_at: None,
        announcer: link
            .mac
            .and_then(|m| garp::Sender::open(link.index, m, router).ok()),
        base_priority: vi.priority,
        trackers: trackers(vi, cfg),
        verdict: None,
        config,
        counters: stats::Counters::default(),
        last_transition: wall_clock(),
        master: None,
        check_addrs: !(vi.skip_check_adv_addr || cfg.global.vrrp_skip_check_adv_addr),
        ah: match (&vi.auth, version) {
            (Some(Auth::Ah { password }), Version::V2) if !v6 => Some((password.clone(), 0)),
            _ => None,
        },
        routing: Routing::default(),
        no_accept: !vi.accept || ((vi.strict || cfg.global.vrrp_strict) && vi.priority != 255),
    }
}

/// The instance's trackers: its own interface (unless `dont_track_primary`,
/// weight 0), `track_interface`, `track_script` and `track_file` entries (a
/// script's or file's own weight applies unless the entry gives one).
fn trackers(vi: &VrrpInstance, cfg: &KeepalivedConfig) -> Vec<Tracker> {
    let mut out = Vec::new();
    if let (Some(ifname), false) = (&vi.interface, vi.dont_track_primary) {
        out.push(Tracker {
            object: Object::Interface(ifname.clone()),
            weight: 0,
            reverse: false,
        });
    }
    for t in &vi.track.interfaces {
        out.push(Tracker {
            object: Object::Interface(t.name.clone()),
            weight: t.weight,
            reverse: t.reverse,
        });
    }
    for t in &vi.track.scripts {
        let Some(i) = cfg.scripts.iter().position(|s| s.name == t.name) else {
            continue;
        };
        let s = &cfg.scripts[i];
        let (weight, reverse) = own_or(t, s.weight, s.reverse);
        out.push(Tracker {
            object: Object::Script(i),
            weight,
            reverse,
        });
    }
    let processes = super::super::process::definitions(cfg);
    for t in &vi.track.processes {
        let Some(i) = processes.iter().position(|p| p.name == t.name) else {
            continue;
        };
        let (weight, reverse) = own_or(t, processes[i].weight, processes[i].reverse);
        out.push(Tracker {
            object: Object::Process(i),
            weight,
            reverse,
        });
    }
    for t in &vi.track.files {
        let Some(i) = cfg.track_files.iter().position(|f| f.name == t.name) else {
            continue;
        };
        let f = &cfg.track_files[i];
        let (weight, reverse) = own_or(t, f.weight, f.reverse);
        out.push(Tracker {
            object: Object::File(i),
            weight,
            reverse,
        });
    }
    out
}

/// An entry's weight, or the tracked object's when the entry gives none.
fn own_or(t: &crate::model::keepalived::Tracked, weight: i32, reverse: bool) -> (i32, bool) {
    if t.weight == 0 && !t.reverse {
        (weight, reverse)
    } else {
        (t.weight, t.reverse)
    }
}

/// Time since the epoch, as keepalived's dumps print it.
pub(super) fn wall_clock() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
