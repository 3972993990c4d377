//! VRRP-side blocks: `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`,
//! `track_file`, `vrrp_track_process`, `garp_group`, `track_group`
//! (reference/keepalived.md §1.13–1.15). `bfd_instance` is in `bfd`.

use super::{I32, U32};
use crate::conf::keepalived::table::{Check, CheckCtx, Keyword, Value, block, line, values};
use crate::conf::keepalived::{ErrClass, parse};

const GARP_DELAY: Check = Check::Int { min: 0, max: 4294 };
const REPEAT: Check = Check::Int { min: 0, max: I32 };
const PROCESS_DELAY: Check = Check::Secs {
    min: 1,
    max: 3_600_000_000,
};

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
    line("global_tracking", Check::None).deprecated(
        "({owner}) global_tracking is deprecated. Use track_interface/script/file on the sync group",
        ErrClass::GeneralError,
    ),
    line("sync_group_tracking_weight", Check::None),
    line("notify_priority_changes", Check::OptBool),
];

static AUTHENTICATION: &[Keyword] = &[
    line("auth_type", Check::OneOf(&["PASS", "AH"])),
    line("auth_pass", Check::Word),
];

/// keepalived-specific HMAC-SHA256 trailer (2.4.0).
static AUTH_HMAC: &[Keyword] = &[
    line("key", Check::Words1),
    line("active_key", Check::Word),
    line("time_window", Check::Int { min: 1, max: 300 }),
    line("anti_replay", Check::OneOf(&["time", "monotonic"])),
    line(
        "mode",
        Check::OneOf(&["enforce", "permissive", "receive-only"]),
    ),
];

/// `notify_deleted [SCRIPT]`: without a script it only sends the FIFO message.
fn optional_script(args: &[String], ctx: &mut CheckCtx<'_>) -> Value {
    if args.is_empty() {
        return Value::Flag;
    }
    parse::script(ctx.raw).map_or(Value::Flag, Value::Script)
}

/// The deprecation message is two log lines; the table's message is the first.
fn lvs_sync_daemon_interface(args: &[String], ctx: &mut CheckCtx<'_>) -> Value {
    ctx.report(
        ErrClass::GeneralError,
        "      Please use global lvs_sync_daemon",
    );
    match args.first() {
        Some(w) => Value::Word(w.clone()),
        None => Value::Invalid,
    }
}

pub(super) static INSTANCE: &[Keyword] = &[
    // Identity and role.
    line("state", Check::Word),
    line("interface", Check::Word),
    line("vrf", Check::Word),
    line("virtual_router_id", Check::Int { min: 1, max: 255 }),
    line("priority", Check::Int { min: 1, max: 255 }),
    line("advert_int", Check::Secs { min: 10_000, max: 255_000_000 }),
    line("version", Check::Int { min: 2, max: 3 }),
    line("native_ipv6", Check::None),
    // Addresses.
    values("virtual_ipaddress", Check::None),
    values("virtual_ipaddress_excluded", Check::None),
    line("no_virtual_ipaddress", Check::None),
    line("promote_secondaries", Check::None),
    values("virtual_routes", Check::None),
    values("virtual_rules", Check::None),
    // Transport.
    line("mcast_src_ip", Check::Ip),
    line("unicast_src_ip", Check::Ip),
    line("mcast_dst_ip", Check::Ip),
    values("unicast_peer", Check::None),
    line("unicast_ttl", Check::Int { min: 0, max: 255 }),
    line("unicast_fault_no_peer", Check::None),
    line("check_unicast_src", Check::None),
    line("track_src_ip", Check::None),
    line("old_unicast_checksum", Check::OptWord),
    line("v3_checksum_as_v2", Check::OptBool),
    line("kernel_rx_buf_size", Check::Int { min: 0, max: U32 }),
    // VMAC / ipvlan.
    line("use_vmac", Check::Words),
    line("use_vmac_addr", Check::None),
    line("vmac_xmit_base", Check::None),
    line("use_ipvlan", Check::Words),
    // Tracking.
    line("dont_track_primary", Check::None),
    values("track_interface", Check::None),
    values("track_script", Check::None),
    values("track_file", Check::None),
    values("track_process", Check::None),
    values("track_bfd", Check::None),
    line("linkbeat_use_polling", Check::None).deprecated(
        "({owner}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block",
        ErrClass::GeneralError,
    ),
    // Election behaviour.
    line("preempt", Check::None),
    line("nopreempt", Check::None),
    line("preempt_delay", Check::Secs { min: 0, max: 1_000_000_000 }),
    line("accept", Check::None),
    line("no_accept", Check::None),
    line("skip_check_adv_addr", Check::OptBool),
    line("strict_mode", Check::OptBool),
    line("lower_prio_no_advert", Check::OptBool),
    line("higher_prio_send_advert", Check::OptBool),
    line("owner_ignore_adverts", Check::OptBool),
    line("down_timer_adverts", Check::Int { min: 1, max: 100 }),
    line("timer_expired_backup", Check::OptInt { min: 0, max: 255, default: 0 }),
    line("thread_timer_expired", Check::OptInt { min: 0, max: 255, default: 0 })
        .alias_of("timer_expired_backup")
        .deprecated(
            "Keyword \"thread_timer_expired\" is deprecated - please use \"timer_expired_backup\"",
            ErrClass::Deprecated,
        ),
    // Gratuitous ARP.
    line("garp_master_delay", GARP_DELAY),
    line("garp_master_repeat", REPEAT),
    line("garp_master_refresh", GARP_DELAY),
    line("garp_master_refresh_repeat", REPEAT),
    line("garp_lower_prio_delay", GARP_DELAY),
    line("garp_lower_prio_repeat", REPEAT),
    line("garp_extra_if", Check::Words1),
    line("vmac_garp_intvl", Check::Words1)
        .alias_of("garp_extra_if")
        .deprecated("Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\"", ErrClass::Deprecated),
    // Notification.
    line("notify_master", Check::Script),
    line("notify_backup", Check::Script),
    line("notify_fault", Check::Script),
    line("notify_stop", Check::Script),
    line("notify_deleted", Check::Custom(optional_script)),
    line("notify", Check::Script),
    line("notify_master_rx_lower_pri", Check::Script),
    line("smtp_alert", Check::OptBool),
    line("notify_priority_changes", Check::OptBool),
    // Authentication.
    block("authentication", Check::None, AUTHENTICATION),
    block("auth_hmac", Check::None, AUTH_HMAC),
    // Miscellaneous.
    line("debug", Check::Int { min: 0, max: 4 }),
    line("lvs_sync_daemon_interface", Check::Custom1(lvs_sync_daemon_interface)).deprecated(
        "({owner}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
        ErrClass::GeneralError,
    ),
];

pub(super) static SCRIPT: &[Keyword] = &[
    line("script", Check::Script),
    // Whole seconds in 2.2.7 (`number '…' outside range [0, 4294]`).
    line("interval", Check::Int { min: 0, max: 4294 }),
    line("timeout", Check::Int { min: 0, max: 4294 }),
    line("weight", Check::Words1),
    line("rise", Check::Int { min: 0, max: U32 }),
    line("fall", Check::Int { min: 0, max: U32 }),
    line("user", Check::Words1),
    line("init_fail", Check::None),
];

pub(super) static TRACK_FILE: &[Keyword] = &[
    line("file", Check::Word),
    line("weight", Check::Words1),
    line("init_file", Check::Words),
];

pub(super) static TRACK_PROCESS: &[Keyword] = &[
    line("process", Check::Words1),
    line("param_match", Check::OneOf(&["initial", "partial"])),
    line("weight", Check::Words1),
    line("quorum", Check::Int { min: 1, max: 65535 }),
    line("quorum_max", Check::Int { min: 0, max: 65535 }),
    line("delay", PROCESS_DELAY),
    line("terminate_delay", PROCESS_DELAY),
    line("fork_delay", PROCESS_DELAY),
    line("full_command", Check::None),
];

pub(super) static GARP_GROUP: &[Keyword] = &[
    line(
        "garp_interval",
        Check::Secs {
            min: 0,
            max: I32 as u64,
        },
    ),
    line(
        "gna_interval",
        Check::Secs {
            min: 0,
            max: I32 as u64,
        },
    ),
    line("interface", Check::Word),
    values("interfaces", Check::None),
];

pub(super) static TRACK_GROUP: &[Keyword] = &[values("group", Check::None)];
