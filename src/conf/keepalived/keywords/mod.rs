//! keepalived's keyword tables: the union of 2.2.7 … 2.4.3 (all build
//! options), one table per block, with each keyword's check. Split by
//! subsystem: `global`, `vrrp`, `lvs` (virtual servers and checkers).

mod global;
mod lvs;
mod vrrp;

use super::table::{Check, Keyword, block, line, values};

/// Root level (reference/keepalived.md §1.10).
pub static ROOT: &[Keyword] = &[
    block("global_defs", Check::None, global::GLOBAL_DEFS),
    line("linkbeat_use_polling", Check::None),
    line("net_namespace", Check::Word),
    line("net_namespace_ipvs", Check::OptWord),
    line("namespace_with_ipsets", Check::None),
    line("use_pid_dir", Check::None),
    line("instance", Check::Word),
    line("child_wait_time", Check::Int { min: 0, max: i32::MAX as i64 }),
    block("track_group", Check::Word, vrrp::TRACK_GROUP),
    values("static_ipaddress", Check::None),
    values("static_routes", Check::None),
    values("static_rules", Check::None),
    block("vrrp_sync_group", Check::Word, vrrp::SYNC_GROUP),
    block("garp_group", Check::None, vrrp::GARP_GROUP),
    values("linkbeat_interfaces", Check::None),
    block("vrrp_instance", Check::Word, vrrp::INSTANCE),
    block("vrrp_script", Check::Word, vrrp::SCRIPT),
    block("vrrp_track_process", Check::Word, vrrp::TRACK_PROCESS),
    values("interface_up_down_delays", Check::None),
    block("track_file", Check::Word, vrrp::TRACK_FILE),
    block("vrrp_track_file", Check::Word, vrrp::TRACK_FILE).alias_of("track_file"),
    block("bfd_instance", Check::Word, vrrp::BFD_INSTANCE),
    block("SSL", Check::None, lvs::SSL),
    values("virtual_server_group", Check::Word),
    block("virtual_server", Check::Words1, lvs::VIRTUAL_SERVER),
];
