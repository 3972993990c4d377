//! VRRP-side blocks: `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`,
//! `track_file`, `vrrp_track_process`, `garp_group`, `track_group`,
//! `bfd_instance` (reference/keepalived.md §1.13–1.15).

use crate::conf::keepalived::ErrClass;
use crate::conf::keepalived::table::{Check, Keyword, block, line, values};

pub(super) static SYNC_GROUP: &[Keyword] = &[
    values("group", Check::None),
    values("track_interface", Check::None),
    values("track_script", Check::None),
    values("track_file", Check::None),
    values("track_process", Check::None),
    values("track_bfd", Check::None),
    line("notify_master", Check::Script),
    line("notify_backup", Check::Script),
    line("notify_fault", Check::Script),
    line("notify_stop", Check::Script),
    line("notify", Check::Script),
    line("smtp_alert", Check::OptBool),
    line("global_tracking", Check::None),
    line("sync_group_tracking_weight", Check::None),
    line("notify_priority_changes", Check::OptBool),
];

static AUTHENTICATION: &[Keyword] =
    &[line("auth_type", Check::OneOf(&["PASS", "AH"])), line("auth_pass", Check::Word)];

pub(super) static INSTANCE: &[Keyword] = &[
    line("state", Check::Word),
    line("interface", Check::Word),
    line("virtual_router_id", Check::Int { min: 1, max: 255 }),
    line("priority", Check::Int { min: 1, max: 255 }),
    line("advert_int", Check::Secs { min: 10_000, max: 255_000_000 }),
    line("version", Check::Int { min: 2, max: 3 }),
    values("virtual_ipaddress", Check::None),
    values("virtual_ipaddress_excluded", Check::None),
    values("virtual_routes", Check::None),
    values("virtual_rules", Check::None),
    values("unicast_peer", Check::None),
    line("unicast_src_ip", Check::Ip),
    line("mcast_src_ip", Check::Ip),
    line("nopreempt", Check::None),
    line("preempt", Check::None),
    line("preempt_delay", Check::Secs { min: 0, max: 1_000_000_000 }),
    line("garp_master_delay", Check::Int { min: 0, max: 86400 }),
    values("track_interface", Check::None),
    values("track_script", Check::None),
    values("track_file", Check::None),
    block("authentication", Check::None, AUTHENTICATION),
    line("notify_master", Check::Script),
    line("notify_backup", Check::Script),
    line("notify_fault", Check::Script),
    line("notify_stop", Check::Script),
    line("notify", Check::Script),
    line("smtp_alert", Check::OptBool),
    line("lvs_sync_daemon_interface", Check::Word).deprecated(
        "({owner}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
        ErrClass::GeneralError,
    ),
];

pub(super) static SCRIPT: &[Keyword] = &[
    line("script", Check::Script),
    line("interval", Check::Secs { min: 1, max: u32::MAX as u64 * 1_000_000 }),
    line("timeout", Check::Secs { min: 1, max: u32::MAX as u64 * 1_000_000 }),
    line("weight", Check::Words1),
    line("rise", Check::Int { min: 1, max: i32::MAX as i64 }),
    line("fall", Check::Int { min: 1, max: i32::MAX as i64 }),
    line("user", Check::Words1),
    line("init_fail", Check::None),
];

pub(super) static TRACK_FILE: &[Keyword] =
    &[line("file", Check::Word), line("weight", Check::Words1), line("init_file", Check::Words)];

pub(super) static TRACK_PROCESS: &[Keyword] = &[line("process", Check::Words1), line("weight", Check::Words1)];

pub(super) static GARP_GROUP: &[Keyword] = &[
    line("garp_interval", Check::Secs { min: 0, max: u32::MAX as u64 * 1_000_000 }),
    line("gna_interval", Check::Secs { min: 0, max: u32::MAX as u64 * 1_000_000 }),
    line("interface", Check::Word),
    values("interfaces", Check::None),
];

pub(super) static TRACK_GROUP: &[Keyword] = &[values("group", Check::None)];

pub(super) static BFD_INSTANCE: &[Keyword] =
    &[line("source_ip", Check::Ip), line("neighbor_ip", Check::Ip), line("neighbour_ip", Check::Ip).alias_of("neighbor_ip")];
