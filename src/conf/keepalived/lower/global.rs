//! `global_defs` → `GlobalDefs`.

use super::{Lower, others};
use crate::conf::keepalived::table::{Node, Value};
use crate::model::common::Duration;
use crate::model::keepalived::GlobalDefs;

const TYPED: &[&str] = &[
    "router_id",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "enable_script_security",
    "script_user",
    "vrrp_version",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "default_interface",
    "vrrp_strict",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_skip_check_adv_addr",
    "vrrp_check_unicast_src",
    "vrrp_down_timer_adverts",
    "v3_checksum_as_v2",
    "lvs_sync_daemon",
    "lvs_flush",
];

pub(super) fn global_defs(_lw: &mut Lower<'_>, node: &Node, g: &mut GlobalDefs) {
    for c in &node.children {
        let v = &c.value;
        match c.name {
            "router_id" => g.router_id = v.word().map(str::to_string),
            "notification_email" => g
                .notification_email
                .extend(c.entries.iter().map(|e| e.words.join(" "))),
            "notification_email_from" => g.notification_email_from = v.word().map(str::to_string),
            "smtp_server" => {
                if let Some(host) = c.args.first() {
                    let port = c.args.get(1).and_then(|p| p.parse().ok()).unwrap_or(25);
                    g.smtp_server = Some((host.clone(), port));
                }
            }
            "smtp_connect_timeout" => set_secs_int(v, &mut g.smtp_connect_timeout),
            "enable_script_security" => g.enable_script_security = true,
            "script_user" => {
                if let Some(user) = c.args.first() {
                    g.script_user = Some((user.clone(), c.args.get(1).cloned()));
                }
            }
            "vrrp_version" => {
                if let Some(n) = v.int() {
                    g.vrrp_version = n as u8;
                }
            }
            "vrrp_mcast_group4" => {
                if let Value::Ip(ip) = v {
                    g.vrrp_mcast_group4 = *ip;
                }
            }
            "vrrp_mcast_group6" => {
                if let Value::Ip(ip) = v {
                    g.vrrp_mcast_group6 = *ip;
                }
            }
            "default_interface" => g.default_interface = v.word().map(str::to_string),
            "vrrp_strict" => g.vrrp_strict = true,
            "vrrp_garp_master_delay" => set_secs_int(v, &mut g.vrrp_garp_master_delay),
            "vrrp_garp_master_repeat" => set_u32(v, &mut g.vrrp_garp_master_repeat),
            "vrrp_garp_master_refresh" => set_secs_int(v, &mut g.vrrp_garp_master_refresh),
            "vrrp_garp_master_refresh_repeat" => set_u32(v, &mut g.vrrp_garp_master_refresh_repeat),
            "vrrp_garp_interval" => set_secs(v, &mut g.vrrp_garp_interval),
            "vrrp_gna_interval" => set_secs(v, &mut g.vrrp_gna_interval),
            "vrrp_lower_prio_no_advert" => set_bool(v, &mut g.vrrp_lower_prio_no_advert),
            "vrrp_higher_prio_send_advert" => set_bool(v, &mut g.vrrp_higher_prio_send_advert),
            "vrrp_skip_check_adv_addr" => set_bool(v, &mut g.vrrp_skip_check_adv_addr),
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
            "vrrp_down_timer_adverts" => set_u32(v, &mut g.vrrp_down_timer_adverts),
            "v3_checksum_as_v2" => set_bool(v, &mut g.v3_checksum_as_v2),
            "lvs_sync_daemon" => g.lvs_sync_daemon = Some(c.args.clone()),
            "lvs_flush" => g.lvs_flush = true,
            _ => {}
        }
    }
    g.other = others(node, TYPED);
}

/// Integer seconds or decimal seconds, whichever the table produced.
pub(super) fn set_secs_int(v: &Value, out: &mut Duration) {
    match v {
        Value::Int(n) if *n >= 0 => *out = Duration::from_secs(*n as u64),
        Value::Secs(d) => *out = *d,
        _ => {}
    }
}

pub(super) fn set_secs(v: &Value, out: &mut Duration) {
    set_secs_int(v, out)
}

pub(super) fn set_u32(v: &Value, out: &mut u32) {
    if let Some(n) = v.int().and_then(|n| u32::try_from(n).ok()) {
        *out = n;
    }
}

pub(super) fn set_bool(v: &Value, out: &mut bool) {
    if let Some(b) = v.bool() {
        *out = b;
    }
}
