//! `global_defs` (reference/keepalived.md §1.12): 140 keywords, the union of
//! 2.2.7 … 2.4.3 with every build option.

use super::{I32, U32, U32_US};
use crate::conf::keepalived::ErrClass;
use crate::conf::keepalived::table::{Check, Keyword, line, values};

const NICE: Check = Check::Int { min: -20, max: 19 };
const RT_PRIO: Check = Check::Int { min: 0, max: 99 };
const RTTIME: Check = Check::Int { min: 1, max: U32 };
const BUFS: Check = Check::Int { min: 0, max: U32 };
const GARP_DELAY: Check = Check::Int { min: 0, max: 4294 };
const REPEAT: Check = Check::Int { min: 0, max: I32 };

pub(super) static GLOBAL_DEFS: &[Keyword] = &[
    // Identity / mail.
    line("router_id", Check::Word),
    values("notification_email", Check::None),
    line("notification_email_from", Check::Word),
    line("smtp_server", Check::Words1),
    line("smtp_helo_name", Check::Word),
    line("smtp_connect_timeout", Check::Int { min: 0, max: 4294 }),
    line("smtp_alert", Check::OptBool),
    line("smtp_alert_vrrp", Check::OptBool),
    line("smtp_alert_checker", Check::OptBool),
    line("no_email_faults", Check::OptBool),
    line("no_checker_emails", Check::OptBool),
    line("checker_log_all_failures", Check::OptBool),
    // Process names and scripts.
    line("process_names", Check::None),
    line("process_name", Check::OptWord),
    line("vrrp_process_name", Check::OptWord),
    line("checker_process_name", Check::OptWord),
    line("lvs_process_name", Check::OptWord)
        .alias_of("checker_process_name")
        .deprecated(
            "'lvs_process_name' is deprecated - please use 'checker_process_name'",
            ErrClass::Info,
        ),
    line("bfd_process_name", Check::OptWord),
    line("script_user", Check::Words1),
    line("enable_script_security", Check::None),
    line("use_symlink_paths", Check::OptBool),
    line("set_supplementary_groups", Check::OptBool),
    line("startup_script", Check::Script),
    line("startup_script_timeout", Check::Int { min: 1, max: 1000 }),
    line("shutdown_script", Check::Script),
    line("shutdown_script_timeout", Check::Int { min: 1, max: 1000 }),
    line("umask", Check::Words1),
    // Scheduling and real-time limits.
    line(
        "max_auto_priority",
        Check::OptInt {
            min: -1,
            max: 99,
            default: 99,
        },
    ),
    line(
        "min_auto_priority_delay",
        Check::Int {
            min: 1,
            max: 10_000_000,
        },
    ),
    line("vrrp_priority", NICE),
    line("checker_priority", NICE),
    line("bfd_priority", NICE),
    line("vrrp_no_swap", Check::None),
    line("checker_no_swap", Check::None),
    line("bfd_no_swap", Check::None),
    line("vrrp_rt_priority", RT_PRIO),
    line("checker_rt_priority", RT_PRIO),
    line("bfd_rt_priority", RT_PRIO),
    line("vrrp_cpu_affinity", Check::Words1),
    line("checker_cpu_affinity", Check::Words1),
    line("bfd_cpu_affinity", Check::Words1),
    line("vrrp_rlimit_rttime", RTTIME),
    line("checker_rlimit_rttime", RTTIME),
    line("bfd_rlimit_rttime", RTTIME),
    line("vrrp_rlimit_rtime", RTTIME)
        .alias_of("vrrp_rlimit_rttime")
        .deprecated(
            "Keyword 'vrrp_rlimit_rtime' is deprecated - please use 'vrrp_rlimit_rttime'",
            ErrClass::Info,
        ),
    line("checker_rlimit_rtime", RTTIME)
        .alias_of("checker_rlimit_rttime")
        .deprecated(
            "Keyword 'checker_rlimit_rtime' is deprecated - please use 'checker_rlimit_rttime'",
            ErrClass::Info,
        ),
    line("bfd_rlimit_rtime", RTTIME)
        .alias_of("bfd_rlimit_rttime")
        .deprecated(
            "Keyword 'bfd_rlimit_rtime' is deprecated - please use 'bfd_rlimit_rttime'",
            ErrClass::Info,
        ),
    // VRRP defaults.
    line("vrrp_version", Check::Int { min: 2, max: 3 }),
    line("vrrp_mcast_group4", Check::Ip),
    line("vrrp_mcast_group6", Check::Ip),
    line("default_interface", Check::Word),
    line("dynamic_interfaces", Check::OptWord),
    line("disable_local_igmp", Check::None),
    line("v3_checksum_as_v2", Check::OptBool),
    line("vrrp_check_unicast_src", Check::None),
    line("vrrp_skip_check_adv_addr", Check::OptBool),
    line("vrrp_strict", Check::None),
    line("vrrp_lower_prio_no_advert", Check::OptBool),
    line("vrrp_higher_prio_send_advert", Check::OptBool),
    line("vrrp_down_timer_adverts", Check::Int { min: 1, max: 100 }),
    line("vrrp_owner_ignore_adverts", Check::OptBool),
    line(
        "vrrp_startup_delay",
        Check::Secs {
            min: 1_000,
            max: U32_US,
        },
    ),
    line(
        "vrrp_delay_after_boot",
        Check::Secs {
            min: 1_000,
            max: U32_US,
        },
    ),
    line("log_unknown_vrids", Check::None),
    line("vmac_prefix", Check::Word),
    line("vmac_addr_prefix", Check::Word),
    line("vrrp_notify_priority_changes", Check::OptBool),
    // Gratuitous ARP / unsolicited NA.
    line("vrrp_garp_master_delay", GARP_DELAY),
    line("vrrp_garp_master_repeat", REPEAT),
    line("vrrp_garp_master_refresh", GARP_DELAY),
    line("vrrp_garp_master_refresh_repeat", REPEAT),
    line("vrrp_garp_lower_prio_delay", GARP_DELAY),
    line("vrrp_garp_lower_prio_repeat", REPEAT),
    line(
        "vrrp_garp_interval",
        Check::Secs {
            min: 1,
            max: U32_US,
        },
    ),
    line(
        "vrrp_gna_interval",
        Check::Secs {
            min: 1,
            max: U32_US,
        },
    ),
    line("vrrp_min_garp", Check::OptBool),
    line("vrrp_garp_extra_if", Check::Words1),
    line("vrrp_vmac_garp_intvl", Check::Words1)
        .alias_of("vrrp_garp_extra_if")
        .deprecated(
            "Keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\"",
            ErrClass::Deprecated,
        ),
    // Firewall.
    line("vrrp_iptables", Check::Words),
    line("vrrp_ipsets", Check::Words),
    line("nftables", Check::OptWord),
    line(
        "nftables_priority",
        Check::Int {
            min: -I32 - 1,
            max: I32,
        },
    ),
    line("nftables_ifindex", Check::OptBool),
    line("nftables_counters", Check::OptBool),
    line("nftables_ipvs", Check::OptWord),
    line(
        "nftables_ipvs_priority",
        Check::Int {
            min: -I32 - 1,
            max: I32,
        },
    ),
    line(
        "nftables_ipvs_start_fwmark",
        Check::Int { min: 1, max: U32 },
    ),
    // LVS.
    line("lvs_timeouts", Check::Words),
    line("lvs_flush", Check::None),
    line("lvs_flush_on_stop", Check::OptWord),
    line("lvs_flush_onstop", Check::OptWord).alias_of("lvs_flush_on_stop"),
    line("lvs_sync_daemon", Check::Words1),
    line("rs_init_notifies", Check::OptBool),
    line("lvs_netlink_cmd_rcv_bufs", BUFS),
    line("lvs_netlink_cmd_rcv_bufs_force", Check::OptBool),
    line("lvs_netlink_monitor_rcv_bufs", BUFS),
    line("lvs_netlink_monitor_rcv_bufs_force", Check::OptBool),
    // Notify FIFOs.
    line("notify_fifo", Check::Words1),
    line("notify_fifo_script", Check::Script),
    line("vrrp_notify_fifo", Check::Words1),
    line("vrrp_notify_fifo_script", Check::Script),
    line("lvs_notify_fifo", Check::Words1),
    line("lvs_notify_fifo_script", Check::Script),
    line("fifo_write_vrrp_states_on_reload", Check::OptBool),
    // Netlink and receive buffers.
    line("vrrp_netlink_cmd_rcv_bufs", BUFS),
    line("vrrp_netlink_cmd_rcv_bufs_force", Check::OptBool),
    line("vrrp_netlink_monitor_rcv_bufs", BUFS),
    line("vrrp_netlink_monitor_rcv_bufs_force", Check::OptBool),
    line("process_monitor_rcv_bufs", BUFS),
    line("process_monitor_rcv_bufs_force", Check::OptBool),
    line("vrrp_rx_bufs_policy", Check::Words1),
    line("vrrp_rx_bufs_multiplier", Check::Int { min: 1, max: U32 }),
    // SNMP and D-Bus.
    line("snmp_socket", Check::Word),
    line("enable_traps", Check::None),
    line("enable_snmp_vrrp", Check::None),
    line("enable_snmp_keepalived", Check::None).alias_of("enable_snmp_vrrp"),
    line("enable_snmp_rfc", Check::None),
    line("enable_snmp_rfcv2", Check::None),
    line("enable_snmp_rfcv3", Check::None),
    line("enable_snmp_checker", Check::None),
    line(
        "snmp_vs_stats_update_interval",
        Check::Secs {
            min: 0,
            max: U32_US,
        },
    ),
    line(
        "snmp_rs_stats_update_interval",
        Check::Secs {
            min: 0,
            max: U32_US,
        },
    ),
    line("enable_dbus", Check::None),
    line("dbus_service_name", Check::Word),
    line("dbus_no_interface_name", Check::Word),
    // Reload and files.
    line("random_seed", Check::Int { min: 0, max: U32 }),
    line("reload_check_config", Check::OptWord),
    line("reload_time_file", Check::Word),
    line("reload_repeat", Check::None),
    line("reload_file", Check::OptWord),
    line("include_check", Check::Words),
    line("config_save_dir", Check::OptWord),
    line("tmp_config_directory", Check::Word),
    line("data_use_instance", Check::OptBool),
    line("json_version", Check::Int { min: 1, max: 2 }),
    line("state_dump_file", Check::Word),
    line("stats_dump_file", Check::Word),
    line("json_dump_file", Check::Word),
    line("iproute_usr_dir", Check::Word),
    line("iproute_etc_dir", Check::Word),
];
