//! VRRP blocks → model, with keepalived's defaults and post-read checks.

use super::global::{set_bool, set_secs_int, set_u32};
use super::{Lower, others, tracked};
use crate::conf::keepalived::table::{Entry, Node, Value};
use crate::conf::keepalived::{ErrClass, values};
use crate::model::common::Duration;
use crate::model::keepalived::{
    Auth, Garp, InitialState, Notify, SyncGroup, TrackFile, Tracking, UnicastPeer, VirtualAddress,
    VrrpInstance, VrrpScript,
};

/// Sets `notify*` scripts from a block's children.
fn notify(node: &Node) -> Notify {
    let mut n = Notify::default();
    for c in &node.children {
        let Value::Script(s) = &c.value else { continue };
        let slot = match c.name {
            "notify_master" => &mut n.master,
            "notify_backup" => &mut n.backup,
            "notify_fault" => &mut n.fault,
            "notify_stop" => &mut n.stop,
            "notify_deleted" => &mut n.deleted,
            "notify" => &mut n.any,
            "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
            _ => continue,
        };
        *slot = Some(s.clone());
    }
    n
}

fn tracking(lw: &mut Lower<'_>, node: &Node) -> Tracking {
    let mut t = Tracking::default();
    for c in &node.children {
        match c.name {
            "track_interface" => t.interfaces.extend(tracked(lw, c, -253, 253)),
            "track_script" => t.scripts.extend(tracked(lw, c, -253, 253)),
            "track_file" => t.files.extend(tracked(lw, c, -254, 254)),
            "track_process" => t.processes.extend(tracked(lw, c, -254, 254)),
            "track_bfd" => t.bfds.extend(tracked(lw, c, -253, 253)),
            _ => {}
        }
    }
    t
}

const SYNC_TYPED: &[&str] = &[
    "group",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
];

pub(super) fn sync_group(lw: &mut Lower<'_>, node: &Node) -> SyncGroup {
    let mut g = SyncGroup {
        name: node.args.first().cloned().unwrap_or_default(),
        ..Default::default()
    };
    for c in node.all("group") {
        g.members
            .extend(c.entries.iter().filter_map(|e| e.words.first().cloned()));
    }
    g.track = tracking(lw, node);
    g.notify = notify(node);
    if let Some(c) = node.last("smtp_alert") {
        set_bool(&c.value, &mut g.smtp_alert);
    }
    g.other = others(node, SYNC_TYPED);
    g
}

const INSTANCE_TYPED: &[&str] = &[
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "unicast_src_ip",
    "mcast_src_ip",
    "unicast_peer",
    "mcast_dst_ip",
    "nopreempt",
    "preempt",
    "preempt_delay",
    "accept",
    "no_accept",
    "strict_mode",
    "authentication",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "dont_track_primary",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
    "smtp_alert",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "skip_check_adv_addr",
    "down_timer_adverts",
    "v3_checksum_as_v2",
    "use_vmac",
    "lvs_sync_daemon_interface",
];

pub(super) fn instance(lw: &mut Lower<'_>, node: &Node) -> VrrpInstance {
    let name = node.args.first().cloned().unwrap_or_default();
    let mut vi = VrrpInstance {
        name: name.clone(),
        state: InitialState::Backup,
        interface: None,
        vrid: 0,
        priority: 100,
        advert_int: Duration::from_secs(1),
        version: 0,
        ipv6: false,
        vips: Vec::new(),
        excluded_vips: Vec::new(),
        virtual_routes: Vec::new(),
        virtual_rules: Vec::new(),
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        mcast_dst_ip: None,
        nopreempt: false,
        preempt_delay: Duration::ZERO,
        accept: true,
        strict: false,
        auth: None,
        track: Tracking::default(),
        dont_track_primary: false,
        notify: notify(node),
        smtp_alert: false,
        garp: Garp {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        },
        lower_prio_no_advert: false,
        higher_prio_send_advert: false,
        skip_check_adv_addr: false,
        down_timer_adverts: 3,
        v3_checksum_as_v2: false,
        use_vmac: None,
        lvs_sync_daemon_interface: None,
        other: others(node, INSTANCE_TYPED),
    };
    let mut priority_set = false;
    for c in &node.children {
        let v = &c.value;
        match c.name {
            "state" => match c.args.first().map(String::as_str) {
                Some("MASTER") => vi.state = InitialState::Master,
                Some("BACKUP") => vi.state = InitialState::Backup,
                Some(other) => lw.report(
                    ErrClass::GeneralError,
                    Some(c.at),
                    format!("({name}) unknown state '{other}', defaulting to BACKUP"),
                ),
                None => {}
            },
            "interface" => {
                if let Some(ifname) = c.args.first() {
                    if ifname == "lo" {
                        lw.report(
                            ErrClass::GeneralError,
                            Some(c.at),
                            format!("({name}) cannot use a loopback interface ({ifname}) for vrrp - ignoring"),
                        );
                    } else {
                        if lw.opts.check_interfaces && !lw.interface_exists(ifname) {
                            lw.report(
                                ErrClass::Warning,
                                Some(c.at),
                                format!("WARNING - interface {ifname} for vrrp_instance {name} doesn't exist"),
                            );
                            lw.report(
                                ErrClass::BadIf,
                                None,
                                "Non-existent interface specified in configuration",
                            );
                        }
                        vi.interface = Some(ifname.clone());
                    }
                }
            }
            "virtual_router_id" => {
                if let Some(n) = v.int() {
                    vi.vrid = n as u8;
                }
            }
            "priority" => match v.int() {
                Some(n) => {
                    vi.priority = n as u8;
                    priority_set = true;
                }
                None => lw.report(
                    ErrClass::GeneralError,
                    Some(c.at),
                    format!(
                        "({name}) Priority not valid! must be between 1 & 255. Using default 100"
                    ),
                ),
            },
            "advert_int" => match v.secs() {
                Some(d) => vi.advert_int = d,
                None => lw.report(
                    ErrClass::GeneralError,
                    Some(c.at),
                    format!(
                        "({name}) Advert interval ({}) not valid! Must be > 0 - ignoring",
                        c.args.first().map(String::as_str).unwrap_or("")
                    ),
                ),
            },
            "version" => {
                if let Some(n) = v.int() {
                    vi.version = n as u8;
                }
            }
            "virtual_ipaddress" => {
                for e in &c.entries {
                    let Some(a) = address(lw, e) else { continue };
                    // The first VIP sets the instance's family.
                    let family_v6 = vi.vips.first().map(|f| f.prefix.addr.is_ipv6());
                    if family_v6.is_some_and(|v6| v6 != a.prefix.addr.is_ipv6()) {
                        lw.report(
                            ErrClass::GeneralError,
                            Some(e.at),
                            format!(
                                "({name}): address family must match VRRP instance [{}] - ignoring",
                                a.prefix.addr
                            ),
                        );
                        continue;
                    }
                    vi.vips.push(a);
                }
            }
            "virtual_ipaddress_excluded" => vi
                .excluded_vips
                .extend(c.entries.iter().filter_map(|e| address(lw, e))),
            "virtual_routes" => vi.virtual_routes.extend(super::route::routes(lw, c)),
            "virtual_rules" => vi.virtual_rules.extend(super::route::rules(lw, c)),
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Value::Ip(ip) = v {
                    vi.unicast_src_ip = Some(*ip);
                }
            }
            "mcast_dst_ip" => {
                if let Value::Ip(ip) = v {
                    vi.mcast_dst_ip = Some(*ip);
                }
            }
            "unicast_peer" => vi
                .unicast_peers
                .extend(c.entries.iter().filter_map(|e| unicast_peer(lw, e))),
            "nopreempt" => vi.nopreempt = true,
            "preempt" => vi.nopreempt = false,
            "preempt_delay" => set_secs_int(v, &mut vi.preempt_delay),
            "accept" => vi.accept = true,
            "no_accept" => vi.accept = false,
            "strict_mode" => set_bool(v, &mut vi.strict),
            "authentication" => vi.auth = auth(lw, c),
            "dont_track_primary" => vi.dont_track_primary = true,
            "smtp_alert" => set_bool(v, &mut vi.smtp_alert),
            "garp_master_delay" => set_secs_int(v, &mut vi.garp.master_delay),
            "garp_master_repeat" => set_u32(v, &mut vi.garp.master_repeat),
            "garp_master_refresh" => set_secs_int(v, &mut vi.garp.master_refresh),
            "garp_master_refresh_repeat" => set_u32(v, &mut vi.garp.master_refresh_repeat),
            "garp_lower_prio_delay" => {
                set_secs_int(v, &mut vi.garp.lower_prio_delay);
            }
            "garp_lower_prio_repeat" => {
                set_u32(v, &mut vi.garp.lower_prio_repeat);
            }
            "lower_prio_no_advert" => set_bool(v, &mut vi.lower_prio_no_advert),
            "higher_prio_send_advert" => set_bool(v, &mut vi.higher_prio_send_advert),
            "skip_check_adv_addr" => set_bool(v, &mut vi.skip_check_adv_addr),
            "down_timer_adverts" => set_u32(v, &mut vi.down_timer_adverts),
            "v3_checksum_as_v2" => set_bool(v, &mut vi.v3_checksum_as_v2),
            "use_vmac" => vi.use_vmac = Some(c.args.clone()),
            "lvs_sync_daemon_interface" => vi.lvs_sync_daemon_interface = c.args.first().cloned(),
            _ => {}
        }
    }
    // Unset lower-priority GARP values stay at keepalived's global defaults
    // (5 s, 5), not the instance's master values: seen in 2.2.7's dumps.
    // (`vrrp_garp_lower_prio_*` in global_defs is not applied yet.)
    // `state MASTER` without a priority makes the instance the address owner.
    if vi.state == InitialState::Master && !priority_set {
        vi.priority = 255;
    }
    if vi.priority == 255 {
        vi.state = InitialState::Master;
    }
    if vi.state == InitialState::Master && matches!(vi.auth, Some(Auth::Ah { .. })) {
        lw.report(
            ErrClass::GeneralError,
            None,
            format!(
                "({name}) Initial state master is incompatible with AH authentication - clearing"
            ),
        );
        vi.state = InitialState::Backup;
    }
    vi.ipv6 = vi.vips.first().is_some_and(|a| a.prefix.addr.is_ipv6());
    vi.track = tracking(lw, node);
    vi
}

fn auth(lw: &mut Lower<'_>, node: &Node) -> Option<Auth> {
    let kind = node
        .last("auth_type")
        .and_then(|c| c.value.word().map(str::to_string));
    let mut password = node
        .last("auth_pass")
        .and_then(|c| c.value.word().map(str::to_string))
        .unwrap_or_default();
    if let Some(c) = node.last("auth_pass") {
        if password.len() > 8 {
            lw.report(
                ErrClass::GeneralError,
                Some(c.at),
                "Truncating auth_pass to 8 characters",
            );
            let mut end = 8;
            while !password.is_char_boundary(end) {
                end -= 1;
            }
            password.truncate(end);
        }
    }
    match kind.as_deref() {
        Some("PASS") => Some(Auth::Pass { password }),
        Some("AH") => Some(Auth::Ah { password }),
        _ => None,
    }
}

fn unicast_peer(lw: &mut Lower<'_>, e: &Entry) -> Option<UnicastPeer> {
    let first = e.words.first()?;
    let Some(addr) = values::ip(first) else {
        lw.report(
            ErrClass::GeneralError,
            Some(e.at),
            format!("Invalid unicast peer address '{first}'"),
        );
        return None;
    };
    let mut peer = UnicastPeer {
        addr,
        min_ttl: None,
        max_ttl: None,
    };
    let mut words = e.words[1..].iter();
    while let Some(w) = words.next() {
        let slot = match w.as_str() {
            "min_ttl" => &mut peer.min_ttl,
            "max_ttl" => &mut peer.max_ttl,
            other => {
                lw.report(
                    ErrClass::GeneralError,
                    Some(e.at),
                    format!("Unknown unicast_peer option '{other}'"),
                );
                continue;
            }
        };
        *slot = words.next().and_then(|n| n.parse().ok());
    }
    Some(peer)
}

/// One `virtual_ipaddress`-style line (§1.14 grammar).
pub(super) fn address(lw: &mut Lower<'_>, e: &Entry) -> Option<VirtualAddress> {
    let first = e.words.first()?;
    let Some(prefix) = values::prefix(first) else {
        lw.report(
            ErrClass::GeneralError,
            Some(e.at),
            format!("Invalid address '{first}' - ignoring"),
        );
        return None;
    };
    let mut a = VirtualAddress::new(prefix);
    let mut words = e.words[1..].iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "dev" => a.dev = words.next().cloned(),
            "brd" | "broadcast" => a.broadcast = words.next().cloned(),
            "scope" => a.scope = words.next().cloned(),
            "label" => a.label = words.next().cloned(),
            "peer" => a.peer = words.next().and_then(|p| values::prefix(p)),
            "-nodad" => a.nodad = false,
            "no_track" => a.no_track = true,
            "use_vmac" => a.use_vmac = true,
            "preferred_lft" => {
                a.preferred_lft_forever = words.next().is_some_and(|v| v == "forever")
            }
            "track_group" => {
                words.next();
            }
            "home" | "mngtmpaddr" | "noprefixroute" | "autojoin" => a.flags.push(w.clone()),
            other => lw.report(
                ErrClass::GeneralError,
                Some(e.at),
                format!("Unknown configuration entry '{other}' for ip address - ignoring"),
            ),
        }
    }
    Some(a)
}

pub(super) fn script(lw: &mut Lower<'_>, node: &Node) -> VrrpScript {
    let mut s = VrrpScript {
        name: node.args.first().cloned().unwrap_or_default(),
        script: None,
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
    };
    let mut timeout_set = false;
    for c in &node.children {
        match c.name {
            "script" => {
                if let Value::Script(sc) = &c.value {
                    s.script = Some(sc.clone());
                }
            }
            "interval" => set_secs_int(&c.value, &mut s.interval),
            "timeout" => {
                set_secs_int(&c.value, &mut s.timeout);
                timeout_set = true;
            }
            "weight" => {
                match c.args.first().and_then(|w| w.parse::<i32>().ok()) {
                    Some(w) if (-253..=253).contains(&w) => s.weight = w,
                    _ => lw.report(
                        ErrClass::GeneralError,
                        Some(c.at),
                        format!(
                            "vrrp_script {} weight must be between [-253:253] inclusive, ignoring",
                            s.name
                        ),
                    ),
                }
                s.reverse = c.args.get(1).is_some_and(|r| r == "reverse");
            }
            "rise" => set_u32(&c.value, &mut s.rise),
            "fall" => set_u32(&c.value, &mut s.fall),
            "user" => {
                if let Some(sc) = s.script.as_mut() {
                    sc.user = c.args.first().cloned();
                    sc.group = c.args.get(1).cloned();
                }
            }
            "init_fail" => s.init_fail = true,
            _ => {}
        }
    }
    if !timeout_set {
        s.timeout = s.interval;
    }
    s
}

pub(super) fn track_file(node: &Node) -> TrackFile {
    let mut t = TrackFile {
        name: node.args.first().cloned().unwrap_or_default(),
        file: None,
        weight: 1,
        reverse: false,
        init_file: None,
    };
    for c in &node.children {
        match c.name {
            "file" => t.file = c.args.first().cloned(),
            "weight" => {
                if let Some(w) = c.args.first().and_then(|w| w.parse().ok()) {
                    t.weight = w;
                }
                t.reverse = c.args.get(1).is_some_and(|r| r == "reverse");
            }
            "init_file" => t.init_file = Some(c.args.clone()),
            _ => {}
        }
    }
    t
}
