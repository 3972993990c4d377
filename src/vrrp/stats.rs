//! VRRP statistics and state dumps in keepalived 2.2.7's formats, sans-IO:
//! the per-instance counters (`Counters`), `/tmp/keepalived.stats`
//! (`write_stats`, SIGUSR2), the VRRP part of `/tmp/keepalived.data`
//! (`write_data`, SIGUSR1) and `/tmp/keepalived.json` (`write_json`,
//! SIGRTMIN+2). Monitoring tools parse these files, so the bytes follow
//! the golden dumps in fixtures/keepalived/dumps/. The daemon owns the
//! files, the signals and the values; this module only counts and formats.

mod data;
mod json;
mod printf;
mod view;

pub use data::write_data;
pub use json::write_json;
pub use view::{
    GarpView, InstanceView, NotifyView, PeerView, ScriptView, TrackedScriptView, UnicastView,
    VipView,
};

use crate::vrrp::packet::Rejected;
use std::io::{self, Write};

/// The counters keepalived 2.2.7 keeps per instance (`vrrp_stats`). The
/// first fourteen are in .stats and .json; `chk_err`, `vers_err` and
/// `vrid_err` only reach SNMP (Debian builds with the RFC MIBs).
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Adverts that passed validation (counted before the VIP list check).
    pub advert_rcvd: u64,
    /// Adverts sent, priority-0 ones included.
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    /// Length differs from what the header announces.
    pub packet_len_err: u64,
    /// Never incremented by 2.2.7 (a v2 interval mismatch is only logged).
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    /// VIP list differs from ours, or unicast/multicast mode mismatch.
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    /// SNMP only: checksum errors.
    pub chk_err: u64,
    /// SNMP only: version mismatches.
    pub vers_err: u64,
    /// SNMP only; 2.2.7 never increments it (adverts are dispatched by VRID).
    pub vrid_err: u64,
}

impl Counters {
    /// Counts an advert `packet::receive` rejected, where keepalived counts
    /// it (observed with 2.2.7, see fixtures/keepalived/dumps/regen.sh).
    pub fn reject(&mut self, r: &Rejected) {
        let counter = match r {
            Rejected::Length => &mut self.packet_len_err,
            Rejected::Ttl => &mut self.ip_ttl_err,
            Rejected::Version => &mut self.vers_err,
            Rejected::AuthInvalidType => &mut self.invalid_authtype,
            Rejected::AuthTypeMismatch => &mut self.authtype_mismatch,
            Rejected::AuthFailure => &mut self.auth_failure,
            Rejected::Type => &mut self.invalid_type_rcvd,
            Rejected::Checksum => &mut self.chk_err,
            // No counter: 2.2.7 logs "advertisement interval mismatch" and
            // drops the advert; advert_interval_err stays 0.
            Rejected::Interval => return,
            // No counter: an advert for a VRID no instance has is dropped
            // silently by the dispatcher.
            Rejected::Vrid => return,
        };
        *counter += 1;
    }

    /// Counts an advert that passed `packet::receive`. keepalived counts it
    /// as received, then compares the VIP list (unless skipped): on a
    /// mismatch it counts `addr_list_err` and drops the advert. Returns
    /// whether the advert goes on to the state machine.
    pub fn received(&mut self, priority: u8, addresses_match: bool) -> bool {
        self.advert_rcvd += 1;
        if !addresses_match {
            self.addr_list_err += 1;
            return false;
        }
        if priority == 0 {
            self.pri_zero_rcvd += 1;
        }
        true
    }

    /// Counts an advert sent with `priority` (0 when leaving MASTER).
    pub fn sent(&mut self, priority: u8) {
        self.advert_sent += 1;
        if priority == 0 {
            self.pri_zero_sent += 1;
        }
    }
}

/// Writes keepalived 2.2.7's `/tmp/keepalived.stats` for `instances`, in
/// order.
pub fn write_stats(w: &mut dyn Write, instances: &[(&str, &Counters)]) -> io::Result<()> {
    let mut out = String::new();
    for (name, c) in instances {
        let lines = [
            format!("VRRP Instance: {name}"),
            "  Advertisements:".into(),
            format!("    Received: {}", c.advert_rcvd),
            format!("    Sent: {}", c.advert_sent),
            format!("  Became master: {}", c.become_master),
            format!("  Released master: {}", c.release_master),
            "  Packet Errors:".into(),
            format!("    Length: {}", c.packet_len_err),
            format!("    TTL: {}", c.ip_ttl_err),
            format!("    Invalid Type: {}", c.invalid_type_rcvd),
            format!("    Advertisement Interval: {}", c.advert_interval_err),
            format!("    Address List: {}", c.addr_list_err),
            "  Authentication Errors:".into(),
            format!("    Invalid Type: {}", c.invalid_authtype),
            format!("    Type Mismatch: {}", c.authtype_mismatch),
            format!("    Failure: {}", c.auth_failure),
            "  Priority Zero:".into(),
            format!("    Received: {}", c.pri_zero_rcvd),
            format!("    Sent: {}", c.pri_zero_sent),
        ];
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    w.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests;
