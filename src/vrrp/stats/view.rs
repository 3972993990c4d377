//! What the dumps show of one instance: a plain value the daemon fills from
//! its configuration and its running state. `InstanceView::new` starts from
//! what keepalived 2.2.7 shows for a default configuration;
//! `InstanceView::from_config` adds everything the model knows.

use super::Counters;
use super::printf::cmd_str;
use crate::model::common::{Duration, Prefix};
use crate::model::keepalived::{Auth, KeepalivedConfig, VirtualAddress, VrrpInstance};
use crate::vrrp::fsm::State;
use crate::vrrp::packet::Version;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One virtual (or excluded virtual) address as keepalived prints it:
/// `ADDR[/LEN] [brd B] dev D scope S [label L] [peer P/LEN] [FLAGS]
/// [preferred_lft …|deprecated] [set]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipView {
    /// The prefix length is printed unless it is /32 (/128).
    pub prefix: Prefix,
    pub broadcast: Option<Ipv4Addr>,
    pub dev: String,
    /// Scope name from rt_scopes (`global`, `site`, `link`, `host`, `nowhere`).
    pub scope: String,
    pub label: Option<String>,
    /// Point-to-point peer; printed with the address's prefix length.
    pub peer: Option<IpAddr>,
    /// Words printed after the peer, in keepalived's order: `home`,
    /// `-nodad`, `mngtmpaddr`, `noprefixroute`, `autojoin`, `no_track`.
    pub flags: Vec<String>,
    /// IPv6 only: preferred lifetime in seconds; 0 prints `deprecated`,
    /// `u32::MAX` prints `preferred_lft forever`.
    pub preferred_lft: Option<u32>,
    /// Installed by this instance (keepalived's `set` flag).
    pub set: bool,
}

impl VipView {
    /// An address on `dev` with no options, not installed.
    pub fn new(prefix: Prefix, dev: &str) -> Self {
        VipView {
            prefix,
            broadcast: None,
            dev: dev.to_string(),
            scope: "global".into(),
            label: None,
            peer: None,
            flags: Vec::new(),
            // keepalived's default without `preferred_lft`: a /128 is
            // deprecated (never a source address), other prefixes forever.
            preferred_lft: match (prefix.addr.is_ipv6(), prefix.len) {
                (false, _) => None,
                (true, 128) => Some(0),
                (true, _) => Some(u32::MAX),
            },
            set: false,
        }
    }

    /// A configured address; `dev` is the instance's interface, used when
    /// the line has no `dev`.
    pub fn from_config(v: &VirtualAddress, dev: &str) -> Self {
        let mut view = VipView::new(v.prefix, v.dev.as_deref().unwrap_or(dev));
        view.broadcast = v.broadcast.as_deref().and_then(|b| broadcast(v.prefix, b));
        if let Some(s) = &v.scope {
            view.scope = scope_name(s);
        }
        view.label = v.label.clone();
        view.peer = v.peer.map(|p| p.addr);
        let has = |f: &str| v.flags.iter().any(|x| x == f);
        // `-nodad` prints when written, i.e. when DAD stays on.
        let nodad_off = v.prefix.addr.is_ipv6() && !v.nodad;
        for (word, on) in [
            ("home", has("home")),
            ("-nodad", nodad_off),
            ("mngtmpaddr", has("mngtmpaddr")),
            ("noprefixroute", has("noprefixroute")),
            ("autojoin", has("autojoin")),
            ("no_track", v.no_track),
        ] {
            if on {
                view.flags.push(word.into());
            }
        }
        if v.preferred_lft_forever {
            view.preferred_lft = Some(u32::MAX);
        }
        view
    }

    /// The address as keepalived's `format_ipaddress` writes it (the .data
    /// lines and the JSON `vips` strings).
    pub fn format(&self) -> String {
        let mut s = self.prefix.addr.to_string();
        let host = if self.prefix.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix.len != host {
            s.push_str(&format!("/{}", self.prefix.len));
        }
        if let Some(b) = self.broadcast {
            s.push_str(&format!(" brd {b}"));
        }
        s.push_str(&format!(" dev {} scope {}", self.dev, self.scope));
        if let Some(l) = &self.label {
            s.push_str(&format!(" label {l}"));
        }
        if let Some(p) = self.peer {
            s.push_str(&format!(" peer {p}/{}", self.prefix.len));
        }
        for f in &self.flags {
            s.push(' ');
            s.push_str(f);
        }
        match self.preferred_lft {
            None => {}
            Some(0) => s.push_str(" deprecated"),
            Some(u32::MAX) => s.push_str(" preferred_lft forever"),
            Some(n) => s.push_str(&format!(" preferred_lft {n}")),
        }
        if self.set {
            s.push_str(" set");
        }
        s
    }
}

/// `brd` as written: an address, `+` (all host bits set) or `-` (none).
fn broadcast(prefix: Prefix, b: &str) -> Option<Ipv4Addr> {
    let IpAddr::V4(a) = prefix.addr else {
        return None;
    };
    match b {
        "+" => {
            let host = u32::MAX.checked_shr(u32::from(prefix.len)).unwrap_or(0);
            Some(Ipv4Addr::from(u32::from(a) | host))
        }
        "-" => None,
        other => other.parse().ok(),
    }
}

/// rt_scopes name of a scope written as a name or a number.
fn scope_name(s: &str) -> String {
    match s {
        "0" => "global",
        "200" => "site",
        "253" => "link",
        "254" => "host",
        "255" => "nowhere",
        other => other,
    }
    .to_string()
}

/// A unicast peer and its accepted TTL window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerView {
    pub addr: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// The unicast part of an instance (absent in multicast mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastView {
    /// TTL of sent adverts (keepalived shows 255 unless `unicast_ttl`).
    pub ttl: u8,
    /// Source checked against the peers (on with `check_unicast_src`, or
    /// when a peer has a TTL window).
    pub check_src: bool,
    pub peers: Vec<PeerView>,
    /// `no`, `never`, `config` or `auto` (v3 old-style checksum use).
    pub checksum_compat: String,
}

/// A `track_script` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedScriptView {
    pub name: String,
    /// The command as `cmd_str()` shows it (`'/bin/check' 'arg'`).
    pub command: String,
    pub weight: i32,
    pub reverse: bool,
}

/// A notify script: the command as `cmd_str()` shows it, and its uid:gid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptView {
    pub command: String,
    pub uid: u32,
    pub gid: u32,
}

/// The notify scripts of an instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyView {
    pub backup: Option<ScriptView>,
    pub master: Option<ScriptView>,
    pub fault: Option<ScriptView>,
    pub stop: Option<ScriptView>,
    pub deleted: Option<ScriptView>,
    /// Generic `notify`.
    pub generic: Option<ScriptView>,
    pub master_rx_lower_pri: Option<ScriptView>,
}

/// Gratuitous ARP / NA timing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpView {
    pub delay: Duration,
    pub repeat: u32,
    pub refresh: Duration,
    pub refresh_repeat: u32,
    pub lower_prio_delay: Duration,
    pub lower_prio_repeat: u32,
}

/// Everything the .data and .json dumps show of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceView {
    pub name: String,
    pub version: Version,
    /// Native IPv6 instance (IPv6 VIPs).
    pub ipv6: bool,
    pub sync_group: Option<String>,
    pub state: State,
    pub wantstate: State,
    /// While BACKUP: the master last heard (`None` prints `(none)`;
    /// keepalived prints whatever its buffer held).
    pub master_router: Option<IpAddr>,
    /// Priority of the last advert accepted from a master (0 = none yet).
    pub master_priority: u8,
    pub num_config_faults: u32,
    pub num_script_if_fault: u32,
    pub num_script_init: u32,
    /// Wall-clock time of the last state change, since the Unix epoch.
    pub last_transition: std::time::Duration,
    /// Wall-clock time of the instance's next timer; `None` = DISABLED.
    pub read_timeout: Option<std::time::Duration>,
    pub master_down_timer: Duration,
    pub interface: Option<String>,
    /// Interface index (printed with an IPv6 multicast group).
    pub ifindex: u32,
    pub dont_track_primary: bool,
    pub skip_check_adv_addr: bool,
    pub strict_mode: bool,
    pub src_ip: Option<IpAddr>,
    /// `unicast_src_ip` / `mcast_src_ip` was configured.
    pub src_ip_from_config: bool,
    pub mcast_group: IpAddr,
    pub unicast: Option<UnicastView>,
    pub garp: GarpView,
    pub down_timer_adverts: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub vrid: u8,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// Base priority plus tracking weights, before clamping.
    pub total_priority: i32,
    pub advert_int: Duration,
    /// Master_Adver_Interval (v3: learnt from the master while BACKUP).
    pub master_advert_int: Duration,
    pub accept: bool,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub promote_secondaries: bool,
    pub auth: Option<Auth>,
    /// The VIPs are installed.
    pub vipset: bool,
    pub vips: Vec<VipView>,
    pub evips: Vec<VipView>,
    /// Receive and send socket descriptors; `None` = no sockets allocated.
    pub sockets: Option<(i32, i32)>,
    /// Tracked interfaces (the JSON lists their names; .data omits them).
    pub track_ifp: Vec<String>,
    pub track_scripts: Vec<TrackedScriptView>,
    pub smtp_alert: bool,
    pub notify_deleted: bool,
    pub notify: NotifyView,
    pub notify_priority_changes: bool,
    /// VMAC interface name, empty without `use_vmac`.
    pub vmac_ifname: String,
    pub counters: Counters,
}

impl InstanceView {
    /// An instance as keepalived 2.2.7 shows a default configuration
    /// (priority 100, advert_int 1 s, GARP 5 s ×5 / refresh off ×1 / lower
    /// priority 5 s ×5, 3 down-timer adverts, accept on, preempt on, no
    /// authentication, group 224.0.0.18 or ff02::12), in INIT.
    pub fn new(name: &str, version: Version, vrid: u8, ipv6: bool) -> Self {
        let sec = Duration::from_secs(1);
        InstanceView {
            name: name.to_string(),
            version,
            ipv6,
            sync_group: None,
            state: State::Init,
            wantstate: State::Init,
            master_router: None,
            master_priority: 0,
            num_config_faults: 0,
            num_script_if_fault: 0,
            num_script_init: 0,
            last_transition: std::time::Duration::ZERO,
            read_timeout: None,
            master_down_timer: Duration::ZERO,
            interface: None,
            ifindex: 0,
            dont_track_primary: false,
            skip_check_adv_addr: false,
            strict_mode: false,
            src_ip: None,
            src_ip_from_config: false,
            mcast_group: if ipv6 {
                IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12))
            } else {
                IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18))
            },
            unicast: None,
            garp: GarpView {
                delay: Duration::from_secs(5),
                repeat: 5,
                refresh: Duration::ZERO,
                refresh_repeat: 1,
                lower_prio_delay: Duration::from_secs(5),
                lower_prio_repeat: 5,
            },
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            vrid,
            base_priority: 100,
            effective_priority: 100,
            total_priority: 100,
            advert_int: sec,
            master_advert_int: sec,
            accept: true,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            promote_secondaries: false,
            auth: None,
            vipset: false,
            vips: Vec::new(),
            evips: Vec::new(),
            sockets: None,
            track_ifp: Vec::new(),
            track_scripts: Vec::new(),
            smtp_alert: false,
            notify_deleted: false,
            notify: NotifyView::default(),
            notify_priority_changes: false,
            vmac_ifname: String::new(),
            counters: Counters::default(),
        }
    }

    /// The configured part of instance `c` of `cfg`. Running state (states,
    /// master, times, source address, installed flags, sockets, counters)
    /// is left for the caller; scripts show their argv as written, where
    /// keepalived shows the resolved path and the uid:gid it runs them as.
    pub fn from_config(c: &VrrpInstance, cfg: &KeepalivedConfig) -> Self {
        let g = &cfg.global;
        let version = if c.version == 3 {
            Version::V3
        } else {
            Version::V2
        };
        let mut v = InstanceView::new(&c.name, version, c.vrid, c.ipv6);
        let dev = c.interface.clone().unwrap_or_default();
        v.interface = c.interface.clone();
        v.mcast_group = c.mcast_dst_ip.unwrap_or(if c.ipv6 {
            g.vrrp_mcast_group6
        } else {
            g.vrrp_mcast_group4
        });
        v.src_ip = c.unicast_src_ip;
        v.src_ip_from_config = c.unicast_src_ip.is_some();
        if !c.unicast_peers.is_empty() {
            let window = c
                .unicast_peers
                .iter()
                .any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
            v.unicast = Some(UnicastView {
                ttl: 255,
                check_src: g.vrrp_check_unicast_src || window,
                peers: c
                    .unicast_peers
                    .iter()
                    .map(|p| PeerView {
                        addr: p.addr,
                        min_ttl: p.min_ttl.unwrap_or(0),
                        max_ttl: p.max_ttl.unwrap_or(255),
                    })
                    .collect(),
                checksum_compat: "no".into(),
            });
        }
        v.garp = GarpView {
            delay: c.garp.master_delay,
            repeat: c.garp.master_repeat,
            refresh: c.garp.master_refresh,
            refresh_repeat: c.garp.master_refresh_repeat,
            lower_prio_delay: c.garp.lower_prio_delay,
            lower_prio_repeat: c.garp.lower_prio_repeat,
        };
        v.down_timer_adverts = c.down_timer_adverts;
        v.lower_prio_no_advert = c.lower_prio_no_advert;
        v.higher_prio_send_advert = c.higher_prio_send_advert;
        v.skip_check_adv_addr = c.skip_check_adv_addr;
        v.dont_track_primary = c.dont_track_primary;
        v.strict_mode = c.strict;
        v.base_priority = c.priority;
        v.effective_priority = c.priority;
        v.total_priority = i32::from(c.priority);
        v.advert_int = c.advert_int;
        v.master_advert_int = c.advert_int;
        v.accept = c.accept;
        v.nopreempt = c.nopreempt;
        v.preempt_delay = c.preempt_delay;
        v.auth = c.auth.clone();
        v.vips = c
            .vips
            .iter()
            .map(|a| VipView::from_config(a, &dev))
            .collect();
        v.evips = c
            .excluded_vips
            .iter()
            .map(|a| VipView::from_config(a, &dev))
            .collect();
        v.sync_group = cfg
            .sync_groups
            .iter()
            .find(|s| s.members.contains(&c.name))
            .map(|s| s.name.clone());
        // keepalived drops tracking of the instance's own interface.
        v.track_ifp = c
            .track
            .interfaces
            .iter()
            .filter(|t| c.interface.as_ref() != Some(&t.name))
            .map(|t| t.name.clone())
            .collect();
        v.track_scripts = c
            .track
            .scripts
            .iter()
            .filter_map(|t| {
                let s = cfg.scripts.iter().find(|s| s.name == t.name)?;
                Some(TrackedScriptView {
                    name: t.name.clone(),
                    command: s.script.as_ref().map(|x| cmd_str(&x.argv))?,
                    // An instance's own weight overrides the script's.
                    weight: if t.weight != 0 { t.weight } else { s.weight },
                    reverse: t.reverse || s.reverse,
                })
            })
            .collect();
        v.smtp_alert = c.smtp_alert;
        let script = |s: &Option<crate::model::common::Script>| {
            s.as_ref().map(|s| ScriptView {
                command: cmd_str(&s.argv),
                uid: 0,
                gid: 0,
            })
        };
        v.notify = NotifyView {
            backup: script(&c.notify.backup),
            master: script(&c.notify.master),
            fault: script(&c.notify.fault),
            stop: script(&c.notify.stop),
            deleted: script(&c.notify.deleted),
            generic: script(&c.notify.any),
            master_rx_lower_pri: script(&c.notify.master_rx_lower_pri),
        };
        v
    }
}

/// keepalived's number of a state (`VRRP_STATE_*`), as the JSON shows it.
pub(super) fn state_number(s: State) -> u32 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

/// The authentication type number (0 none, 1 PASS, 2 AH) and the 8 bytes of
/// authentication data keepalived keeps (printed up to the first NUL).
pub(super) fn auth_parts(auth: &Option<Auth>) -> (u32, String) {
    let (kind, password) = match auth {
        None => return (0, String::new()),
        Some(Auth::Pass { password }) => (1, password),
        Some(Auth::Ah { password }) => (2, password),
    };
    let bytes: Vec<u8> = password.bytes().take(8).take_while(|b| *b != 0).collect();
    (kind, String::from_utf8_lossy(&bytes).into_owned())
}
