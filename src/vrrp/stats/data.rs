//! The VRRP instance section of `/tmp/keepalived.data` (SIGUSR1) as
//! keepalived 2.2.7 writes it: the `------< VRRP Topology >------` header
//! and one block per instance. The rest of the file (global definitions,
//! sockpool, scripts, interfaces) is not written here. Within a block,
//! what the view does not carry is omitted: `Duplicate VRID`, VMAC/ipvlan
//! lines, `Configured interface`, kernel rx buffer size, debug level,
//! virtual routes and rules, tracked interfaces/files/processes/BFDs, and
//! the unicast flags other than `Using unicast`.

use super::printf::{ctime_usec, g};
use super::view::auth_parts;
use super::{InstanceView, ScriptView, VipView};
use crate::model::keepalived::Auth;
use crate::vrrp::fsm::State;
use crate::vrrp::packet::Version;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Writes the VRRP topology section of keepalived 2.2.7's
/// `/tmp/keepalived.data` for `instances`, in order. Times are printed as
/// local time `utc_offset` seconds east of UTC (keepalived uses ctime()).
pub fn write_data(
    w: &mut dyn Write,
    instances: &[InstanceView],
    utc_offset: i64,
) -> io::Result<()> {
    let mut out = String::from("------< VRRP Topology >------\n");
    for v in instances {
        instance(&mut out, v, utc_offset);
    }
    w.write_all(out.as_bytes())
}

/// `secs.usecs (ctime)` of a wall-clock time.
fn when(t: std::time::Duration, utc_offset: i64) -> String {
    format!(
        "{}.{:06} ({})",
        t.as_secs(),
        t.subsec_micros(),
        ctime_usec(t, utc_offset)
    )
}

fn yes_no(b: bool, yes: &'static str, no: &'static str) -> &'static str {
    if b { yes } else { no }
}

fn instance(out: &mut String, v: &InstanceView, utc_offset: i64) {
    // Writing to a String cannot fail.
    macro_rules! line {
        ($($arg:tt)*) => {{
            let _ = writeln!(out, $($arg)*);
        }};
    }
    let v3 = v.version == Version::V3;
    line!(" VRRP Instance = {}", v.name);
    line!("   VRRP Version = {}", if v3 { 3 } else { 2 });
    if let Some(sg) = &v.sync_group {
        line!("   Sync group = {sg}");
    }
    if v.ipv6 {
        line!("   Using Native IPv6");
    }
    line!("   State = {}", v.state.word());
    if v.state == State::Backup {
        match v.master_router {
            Some(m) => line!("   Master router = {m}"),
            None => line!("   Master router = (none)"),
        }
        line!("   Master priority = {}", v.master_priority);
        if v3 {
            let secs = v.master_advert_int.as_micros() as f64 / 1e6;
            line!("   Master advert int = {secs:.2} sec");
        }
    }
    if v.unicast.is_some() {
        line!("   Flags:");
        line!("     Using unicast");
    } else {
        line!("   Flags: none");
    }
    line!("   Wantstate = {}", v.wantstate.word());
    line!("   Number of config faults = {}", v.num_config_faults);
    line!(
        "   Number of interface and track script faults = {}",
        v.num_script_if_fault
    );
    line!("   Number of track scripts init = {}", v.num_script_init);
    line!(
        "   Last transition = {}",
        when(v.last_transition, utc_offset)
    );
    match v.read_timeout {
        Some(t) => line!("   Read timeout = {}", when(t, utc_offset)),
        None => line!("   Read timeout = DISABLED"),
    }
    line!(
        "   Master down timer = {} usecs",
        v.master_down_timer.as_micros()
    );
    line!(
        "   Interface = {}",
        v.interface.as_deref().unwrap_or("not configured")
    );
    if v.dont_track_primary {
        line!("   VRRP interface tracking disabled");
    }
    if v.skip_check_adv_addr {
        line!("   Skip checking advert IP addresses");
    }
    if v.strict_mode {
        line!("   Enforcing strict VRRP compliance");
    }
    let src = v.src_ip.map_or("(none)".to_string(), |a| a.to_string());
    let from = yes_no(v.src_ip_from_config, " (from configuration)", "");
    line!("   Using src_ip = {src}{from}");
    if v.unicast.is_none() {
        if v.mcast_group.is_ipv6() {
            line!(
                "   Multicast address {}, ifindex {}",
                v.mcast_group,
                v.ifindex
            );
        } else {
            line!("   Multicast address {}", v.mcast_group);
        }
    }
    let secs = |d: crate::model::common::Duration| d.as_micros() / 1_000_000;
    let garp = &v.garp;
    line!("   Gratuitous ARP delay = {}", secs(garp.delay));
    line!("   Gratuitous ARP repeat = {}", garp.repeat);
    line!("   Gratuitous ARP refresh = {}", secs(garp.refresh));
    line!("   Gratuitous ARP refresh repeat = {}", garp.refresh_repeat);
    line!(
        "   Gratuitous ARP lower priority delay = {}",
        secs(garp.lower_prio_delay)
    );
    line!(
        "   Gratuitous ARP lower priority repeat = {}",
        garp.lower_prio_repeat
    );
    line!("   Down timer adverts = {}", v.down_timer_adverts);
    line!(
        "   Send advert after receive lower priority advert = {}",
        yes_no(v.lower_prio_no_advert, "false", "true")
    );
    line!(
        "   Send advert after receive higher priority advert = {}",
        yes_no(v.higher_prio_send_advert, "true", "false")
    );
    line!("   Virtual Router ID = {}", v.vrid);
    line!("   Priority = {}", v.base_priority);
    line!("   Effective priority = {}", v.effective_priority);
    line!("   Total priority = {}", v.total_priority);
    // Integer divisions, as keepalived prints them.
    if v3 {
        line!(
            "   Advert interval = {} milli-sec",
            v.advert_int.as_micros() / 1000
        );
        if v.state == State::Backup {
            line!(
                "   Master advert interval = {} milli-sec",
                v.master_advert_int.as_micros() / 1000
            );
        }
    } else {
        line!("   Advert interval = {} sec", secs(v.advert_int));
    }
    line!("   Accept = {}", yes_no(v.accept, "enabled", "disabled"));
    line!(
        "   Preempt = {}",
        yes_no(v.nopreempt, "disabled", "enabled")
    );
    if v.preempt_delay.as_micros() != 0 {
        let d = v.preempt_delay.as_micros() as f64 / 1e6;
        line!("   Preempt delay = {} secs", g(d));
    }
    line!(
        "   Promote_secondaries = {}",
        yes_no(v.promote_secondaries, "enabled", "disabled")
    );
    let (_, password) = auth_parts(&v.auth);
    match &v.auth {
        Some(Auth::Pass { .. }) => {
            line!("   Authentication type = SIMPLE_PASSWORD");
            line!("   Password = {password}");
        }
        Some(Auth::Ah { .. }) => line!("   Authentication type = IPSEC_AH"),
        None if !v3 => line!("   Authentication type = none"),
        None => {}
    }
    if !v.vips.is_empty() {
        line!("   Virtual IP ({}):", v.vips.len());
        vip_lines(out, &v.vips);
    }
    if !v.evips.is_empty() {
        line!("   Virtual IP Excluded :");
        vip_lines(out, &v.evips);
    }
    if let Some(u) = &v.unicast {
        line!("   Unicast TTL = {}", u.ttl);
        line!(
            "   Check unicast src : {}",
            yes_no(u.check_src, "yes", "no")
        );
        line!("   Unicast Peer :");
        for p in &u.peers {
            line!(
                "     {} min_ttl {} max_ttl {}",
                p.addr,
                p.min_ttl,
                p.max_ttl
            );
        }
        line!("   Unicast checksum compatibility = {}", u.checksum_compat);
    }
    match v.sockets {
        Some((fd_in, fd_out)) => line!("   fd_in {fd_in}, fd_out {fd_out}"),
        None => line!("   No sockets allocated"),
    }
    if !v.track_scripts.is_empty() {
        line!("   Tracked scripts :");
        for t in &v.track_scripts {
            let rev = yes_no(t.reverse, " reverse", "");
            line!("     {} weight {}{rev}", t.name, t.weight);
        }
    }
    line!(
        "   Using smtp notification = {}",
        yes_no(v.smtp_alert, "yes", "no")
    );
    line!(
        "   Notify deleted = {}",
        yes_no(v.notify_deleted, "Deleted", "Fault")
    );
    let n = &v.notify;
    let scripts: [(&str, &Option<ScriptView>); 7] = [
        ("Backup", &n.backup),
        ("Master", &n.master),
        ("Fault", &n.fault),
        ("Stop", &n.stop),
        ("Deleted", &n.deleted),
        ("Generic", &n.generic),
        ("Master rx lower pri", &n.master_rx_lower_pri),
    ];
    for (kind, s) in scripts {
        if let Some(s) = s {
            line!(
                "   {kind} state transition script = {}, uid:gid {}:{}",
                s.command,
                s.uid,
                s.gid
            );
        }
    }
    line!(
        "   Notify priority changes = {}",
        yes_no(v.notify_priority_changes, "true", "false")
    );
}

fn vip_lines(out: &mut String, vips: &[VipView]) {
    for a in vips {
        out.push_str("     ");
        out.push_str(&a.format());
        out.push('\n');
    }
}
