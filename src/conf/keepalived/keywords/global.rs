//! `global_defs` (reference/keepalived.md §1.12).

use crate::conf::keepalived::table::{Check, Keyword, line, values};

const SECS_MAX: u64 = u32::MAX as u64 * 1_000_000;

pub(super) static GLOBAL_DEFS: &[Keyword] = &[
    line("router_id", Check::Word),
    values("notification_email", Check::None),
    line("notification_email_from", Check::Word),
    line("smtp_server", Check::Words1),
    line("smtp_helo_name", Check::Word),
    line("smtp_connect_timeout", Check::Int { min: 1, max: i32::MAX as i64 }),
    line("smtp_alert", Check::OptBool),
    line("enable_script_security", Check::None),
    line("script_user", Check::Words1),
    line("vrrp_version", Check::Int { min: 2, max: 3 }),
    line("vrrp_mcast_group4", Check::Ip),
    line("vrrp_mcast_group6", Check::Ip),
    line("default_interface", Check::Word),
    line("vrrp_strict", Check::None),
    line("vrrp_skip_check_adv_addr", Check::OptBool),
    line("vrrp_garp_master_delay", Check::Int { min: 0, max: 86400 }),
    line("vrrp_garp_master_repeat", Check::Int { min: 1, max: 255 }),
    line("vrrp_garp_interval", Check::Secs { min: 1, max: SECS_MAX }),
    line("vrrp_gna_interval", Check::Secs { min: 1, max: SECS_MAX }),
];
