//! `/tmp/keepalived.json` as keepalived 2.2.7 writes it with the default
//! `json_version 1`: one line, an array of `{"data":{…},"stats":{…}}`, keys
//! in keepalived's order, `/` escaped, floats as `%g` (`last_transition`
//! as `%f`), then a newline. Keys for lists (scripts, VIPs, tracking) only
//! appear when the list is not empty, as in keepalived. `vroutes` and
//! `vrules` are never written: Pharos does not install virtual routes or
//! rules yet.

use super::printf::{g, json_string, micros_f64, secs_f64};
use super::view::{auth_parts, state_number};
use super::{Counters, InstanceView, ScriptView, VipView};
use crate::vrrp::packet::Version;
use std::io::{self, Write};

/// One JSON object being written: handles the commas between members.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        json_string(self.out, k);
        self.out.push(':');
    }

    fn uint(&mut self, k: &str, v: u64) {
        self.key(k);
        self.out.push_str(&v.to_string());
    }

    fn flag(&mut self, k: &str, v: bool) {
        self.uint(k, u64::from(v));
    }

    fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
    }

    fn float(&mut self, k: &str, v: f64) {
        self.key(k);
        self.out.push_str(&g(v));
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        json_string(self.out, v);
    }

    /// A string array, left out when empty.
    fn strings(&mut self, k: &str, items: impl IntoIterator<Item = String>) {
        let mut items = items.into_iter().peekable();
        if items.peek().is_none() {
            return;
        }
        self.key(k);
        self.out.push('[');
        for (i, s) in items.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            json_string(self.out, &s);
        }
        self.out.push(']');
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// Writes keepalived 2.2.7's `/tmp/keepalived.json` (json_version 1) for
/// `instances`, in order.
pub fn write_json(w: &mut dyn Write, instances: &[InstanceView]) -> io::Result<()> {
    let mut out = String::from("[");
    for (i, v) in instances.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut o = Obj::open(&mut out);
        o.key("data");
        data(o.out, v);
        o.key("stats");
        stats(o.out, &v.counters);
        o.close();
    }
    out.push_str("]\n");
    w.write_all(out.as_bytes())
}

fn data(out: &mut String, v: &InstanceView) {
    let mut o = Obj::open(out);
    o.str("iname", &v.name);
    o.flag("dont_track_primary", v.dont_track_primary);
    o.flag("skip_check_adv_addr", v.skip_check_adv_addr);
    o.flag("strict_mode", v.strict_mode);
    o.str("vmac_ifname", &v.vmac_ifname);
    if let Some(ifp) = &v.interface {
        o.str("ifp_ifname", ifp);
    }
    o.uint("master_priority", u64::from(v.master_priority));
    o.key("last_transition");
    o.out
        .push_str(&format!("{:.6}", secs_f64(v.last_transition)));
    o.float("garp_delay", micros_f64(v.garp.delay.as_micros()));
    o.uint("garp_refresh", v.garp.refresh.as_micros() / 1_000_000);
    o.uint("garp_rep", u64::from(v.garp.repeat));
    o.uint("garp_refresh_rep", u64::from(v.garp.refresh_repeat));
    let lower = v.garp.lower_prio_delay.as_micros() / 1_000_000;
    o.uint("garp_lower_prio_delay", lower);
    o.uint("garp_lower_prio_rep", u64::from(v.garp.lower_prio_repeat));
    o.flag("lower_prio_no_advert", v.lower_prio_no_advert);
    o.flag("higher_prio_send_advert", v.higher_prio_send_advert);
    o.uint("vrid", u64::from(v.vrid));
    o.uint("base_priority", u64::from(v.base_priority));
    o.uint("effective_priority", u64::from(v.effective_priority));
    o.bool("vipset", v.vipset);
    o.bool("promote_secondaries", v.promote_secondaries);
    o.float("adver_int", micros_f64(v.advert_int.as_micros()));
    o.float(
        "master_adver_int",
        micros_f64(v.master_advert_int.as_micros()),
    );
    o.flag("accept", v.accept);
    o.bool("nopreempt", v.nopreempt);
    // Whole seconds: keepalived divides the µs count as an integer.
    o.uint("preempt_delay", v.preempt_delay.as_micros() / 1_000_000);
    o.uint("state", u64::from(state_number(v.state)));
    o.uint("wantstate", u64::from(state_number(v.wantstate)));
    o.uint("version", if v.version == Version::V3 { 3 } else { 2 });
    o.bool("smtp_alert", v.smtp_alert);
    o.bool("notify_deleted", v.notify_deleted);
    let n = &v.notify;
    let scripts: [(&str, &Option<ScriptView>); 7] = [
        ("script_backup", &n.backup),
        ("script_master", &n.master),
        ("script_fault", &n.fault),
        ("script_stop", &n.stop),
        ("script_deleted", &n.deleted),
        ("script", &n.generic),
        ("script_master_rx_lower_pri", &n.master_rx_lower_pri),
    ];
    for (k, s) in scripts {
        if let Some(s) = s {
            o.str(k, &s.command);
        }
    }
    o.strings("vips", v.vips.iter().map(VipView::format));
    o.strings("evips", v.evips.iter().map(VipView::format));
    o.strings("track_ifp", v.track_ifp.iter().cloned());
    o.strings(
        "track_script",
        v.track_scripts.iter().map(|t| t.command.clone()),
    );
    let (auth_type, auth_data) = auth_parts(&v.auth);
    o.uint("auth_type", u64::from(auth_type));
    if auth_type != 0 {
        o.str("auth_data", &auth_data);
    }
    o.close();
}

fn stats(out: &mut String, c: &Counters) {
    let mut o = Obj::open(out);
    for (k, v) in [
        ("advert_rcvd", c.advert_rcvd),
        ("advert_sent", c.advert_sent),
        ("become_master", c.become_master),
        ("release_master", c.release_master),
        ("packet_len_err", c.packet_len_err),
        ("advert_interval_err", c.advert_interval_err),
        ("ip_ttl_err", c.ip_ttl_err),
        ("invalid_type_rcvd", c.invalid_type_rcvd),
        ("addr_list_err", c.addr_list_err),
        ("invalid_authtype", c.invalid_authtype),
        ("authtype_mismatch", c.authtype_mismatch),
        ("auth_failure", c.auth_failure),
        ("pri_zero_rcvd", c.pri_zero_rcvd),
        ("pri_zero_sent", c.pri_zero_sent),
    ] {
        o.uint(k, v);
    }
    o.close();
}
