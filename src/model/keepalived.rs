//! The keepalived part of the model: VRRP instances, sync groups, trackers,
//! virtual servers and real servers, with keepalived's defaults applied
//! (reference/keepalived.md §3.0). Keywords Pharos records but does not type
//! yet are kept, in order, in each block's `other` list.

use super::check::HealthCheck;
use super::common::{Duration, Prefix, Script};
use serde::Serialize;
use std::net::IpAddr;

/// A whole keepalived.conf.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KeepalivedConfig {
    pub global: GlobalDefs,
    /// Root-level settings: `net_namespace`, `instance`, `use_pid_dir`…
    pub root: Vec<RawOption>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<VrrpInstance>,
    pub scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process`, `garp_group`, `track_group`, `bfd_instance`,
    /// `SSL`, … recorded as raw blocks until their subsystems land.
    pub other_blocks: Vec<RawBlock>,
    pub static_addresses: Vec<VirtualAddress>,
    pub static_routes: Vec<RawLine>,
    pub static_rules: Vec<RawLine>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

/// A keyword kept as written: its name and words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RawOption {
    pub keyword: String,
    pub args: Vec<String>,
}

/// A value-block line kept as its words (routes, rules).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RawLine {
    pub words: Vec<String>,
}

/// A block kept as written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RawBlock {
    pub keyword: String,
    pub args: Vec<String>,
    pub options: Vec<RawOption>,
    pub entries: Vec<RawLine>,
    pub blocks: Vec<RawBlock>,
}

/// `global_defs`.
#[derive(Clone, Debug, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<(String, u16)>,
    pub smtp_connect_timeout: Duration,
    pub enable_script_security: bool,
    pub script_user: Option<(String, Option<String>)>,
    pub vrrp_version: u8,
    pub vrrp_mcast_group4: IpAddr,
    pub vrrp_mcast_group6: IpAddr,
    pub default_interface: Option<String>,
    pub vrrp_strict: bool,
    pub vrrp_garp_master_delay: Duration,
    pub vrrp_garp_master_repeat: u32,
    pub vrrp_garp_master_refresh: Duration,
    pub vrrp_garp_master_refresh_repeat: u32,
    pub vrrp_garp_interval: Duration,
    pub vrrp_gna_interval: Duration,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_down_timer_adverts: u32,
    pub v3_checksum_as_v2: bool,
    pub lvs_sync_daemon: Option<Vec<String>>,
    pub lvs_flush: bool,
    pub other: Vec<RawOption>,
}

impl GlobalDefs {
    /// The user scripts run as when they name none: `script_user`, else
    /// `keepalived_script` when that user exists, else root (keepalived's
    /// rule).
    pub fn default_script_user(&self) -> String {
        match &self.script_user {
            Some((u, _)) => u.clone(),
            None if nix::unistd::User::from_name("keepalived_script")
                .ok()
                .flatten()
                .is_some() =>
            {
                "keepalived_script".into()
            }
            None => "root".into(),
        }
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            enable_script_security: false,
            script_user: None,
            vrrp_version: 2,
            vrrp_mcast_group4: IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 18)),
            vrrp_mcast_group6: IpAddr::V6(std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
            default_interface: None,
            vrrp_strict: false,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_down_timer_adverts: 3,
            v3_checksum_as_v2: false,
            lvs_sync_daemon: None,
            lvs_flush: false,
            other: Vec::new(),
        }
    }
}

/// `vrrp_sync_group`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncGroup {
    pub name: String,
    pub members: Vec<String>,
    pub track: Tracking,
    pub notify: Notify,
    pub smtp_alert: bool,
    pub other: Vec<RawOption>,
}

/// The state an instance is configured to start in.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Master,
    #[default]
    Backup,
}

/// VRRP authentication (v2 only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Auth {
    /// Simple password, at most 8 bytes (keepalived truncates).
    Pass { password: String },
    /// IPsec AH (HMAC-MD5-96) with the password as key.
    Ah { password: String },
}

/// An object whose state moves an instance's priority or puts it in FAULT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tracked {
    pub name: String,
    /// 0 = failure means FAULT; otherwise added/subtracted (§3.4).
    pub weight: i32,
    pub reverse: bool,
}

/// Every tracker list of an instance or a sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tracking {
    pub interfaces: Vec<Tracked>,
    pub scripts: Vec<Tracked>,
    pub files: Vec<Tracked>,
    pub processes: Vec<Tracked>,
    pub bfds: Vec<Tracked>,
}

/// Notification scripts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Notify {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub deleted: Option<Script>,
    /// Generic `notify`: gets `INSTANCE|GROUP NAME STATE PRIO` appended.
    pub any: Option<Script>,
    pub master_rx_lower_pri: Option<Script>,
}

/// A `virtual_ipaddress` / `static_ipaddress` line (§1.14 grammar).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    pub prefix: Prefix,
    pub dev: Option<String>,
    pub broadcast: Option<String>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<Prefix>,
    /// IPv6: add with IFA_F_NODAD unless `-nodad` was written.
    pub nodad: bool,
    pub no_track: bool,
    pub preferred_lft_forever: bool,
    pub use_vmac: bool,
    /// Flags kept as written (`home`, `mngtmpaddr`, `noprefixroute`, `autojoin`).
    pub flags: Vec<String>,
}

impl VirtualAddress {
    /// An address with keepalived's defaults: no options, `nodad` for IPv6.
    pub fn new(prefix: Prefix) -> Self {
        VirtualAddress {
            prefix,
            dev: None,
            broadcast: None,
            scope: None,
            label: None,
            peer: None,
            nodad: prefix.addr.is_ipv6(),
            no_track: false,
            preferred_lft_forever: false,
            use_vmac: false,
            flags: Vec::new(),
        }
    }
}

/// A unicast peer with its optional TTL window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// Gratuitous ARP / NA timing of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Garp {
    pub master_delay: Duration,
    pub master_repeat: u32,
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    pub lower_prio_delay: Duration,
    pub lower_prio_repeat: u32,
}

/// `vrrp_instance`.
#[derive(Clone, Debug, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub state: InitialState,
    pub interface: Option<String>,
    pub vrid: u8,
    /// Base priority (255 = address owner).
    pub priority: u8,
    pub advert_int: Duration,
    pub version: u8,
    /// True when the VIPs are IPv6 (taken from the first VIP).
    pub ipv6: bool,
    pub vips: Vec<VirtualAddress>,
    pub excluded_vips: Vec<VirtualAddress>,
    pub virtual_routes: Vec<RawLine>,
    pub virtual_rules: Vec<RawLine>,
    pub unicast_src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub accept: bool,
    pub strict: bool,
    pub auth: Option<Auth>,
    pub track: Tracking,
    pub dont_track_primary: bool,
    pub notify: Notify,
    pub smtp_alert: bool,
    pub garp: Garp,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub skip_check_adv_addr: bool,
    pub down_timer_adverts: u32,
    pub v3_checksum_as_v2: bool,
    pub use_vmac: Option<Vec<String>>,
    /// Deprecated per-instance `lvs_sync_daemon_interface`.
    pub lvs_sync_daemon_interface: Option<String>,
    pub other: Vec<RawOption>,
}

/// `vrrp_script`.
#[derive(Clone, Debug, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: Option<Script>,
    pub interval: Duration,
    pub timeout: Duration,
    pub weight: i32,
    pub reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// `track_file` (and the deprecated `vrrp_track_file`).
#[derive(Clone, Debug, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub file: Option<String>,
    pub weight: i32,
    pub reverse: bool,
    pub init_file: Option<Vec<String>>,
}

/// One line of a `virtual_server_group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GroupMember {
    /// An address range (`first..=last`) with an optional port.
    Range {
        first: IpAddr,
        last: IpAddr,
        port: Option<u16>,
    },
    Fwmark {
        mark: u32,
        ipv6: bool,
    },
}

/// `virtual_server_group`.
#[derive(Clone, Debug, Serialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub members: Vec<GroupMember>,
}

/// What a virtual server listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VirtualServerAddr {
    Ip { addr: IpAddr, port: Option<u16> },
    Fwmark { mark: u32 },
    Group { name: String },
}

/// IPVS forwarding method.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsMethod {
    Nat,
    Dr,
    Tun,
}

/// IPVS transport protocol.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// `virtual_server`.
#[derive(Clone, Debug, Serialize)]
pub struct VirtualServer {
    pub addr: VirtualServerAddr,
    pub protocol: Protocol,
    pub scheduler: String,
    pub method: LvsMethod,
    /// `lvs_method TUN type …` and the like, kept as written.
    pub method_options: Vec<String>,
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<String>,
    pub delay_loop: Duration,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub inhibit_on_failure: bool,
    pub sorry_server: Option<(IpAddr, Option<u16>)>,
    pub real_servers: Vec<RealServer>,
    pub other: Vec<RawOption>,
}

/// `real_server`.
#[derive(Clone, Debug, Serialize)]
pub struct RealServer {
    pub addr: IpAddr,
    pub port: Option<u16>,
    pub weight: u32,
    pub method: Option<LvsMethod>,
    pub inhibit_on_failure: bool,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    /// All must pass for the server to be alive.
    pub checks: Vec<HealthCheck>,
    pub other: Vec<RawOption>,
}
