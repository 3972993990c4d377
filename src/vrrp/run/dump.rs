//! The signal-driven dumps, in keepalived's files under `$TMPDIR` (default
//! /tmp): SIGUSR2 → keepalived.stats, SIGRTMAX-1 → the same then counters
//! cleared, SIGUSR1 → keepalived.data, SIGRTMIN+2 → keepalived.json.

use super::super::fsm::State;
use super::super::stats::{self, InstanceView, VipView};
use super::Driver;
use crate::daemon::Signals;
use std::path::PathBuf;

/// `$TMPDIR/NAME`, as keepalived places its dump files.
fn tmp_file(name: &str) -> PathBuf {
    let dir = std::env::var_os("TMPDIR")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/tmp".into());
    PathBuf::from(dir).join(name)
}

/// Local time's offset from UTC in seconds (the daemons run with TZ unset:
/// 0 unless /etc/localtime says otherwise; keepalived prints ctime()).
fn utc_offset() -> i64 {
    0
}

/// Writes `$TMPDIR/NAME`; the message to log when that fails.
fn write(
    name: &str,
    body: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Option<String> {
    let path = tmp_file(name);
    let result = std::fs::File::create(&path).and_then(|mut f| body(&mut f));
    result
        .err()
        .map(|e| format!("Unable to write {}: {e}", path.display()))
}

impl Driver<'_> {
    /// Writes the dumps whose signal arrived since the last look.
    pub(super) fn dumps(&mut self, signals: &Signals) {
        let stats = Signals::take(&signals.stats);
        let clear = Signals::take(&signals.stats_clear);
        if stats || clear {
            let list: Vec<(&str, &stats::Counters)> = self
                .nodes
                .iter()
                .map(|n| (n.name.as_str(), &n.counters))
                .collect();
            let failed = write("keepalived.stats", |w| stats::write_stats(w, &list));
            self.log_failure(failed);
            if clear {
                for n in &mut self.nodes {
                    n.counters = stats::Counters::default();
                }
            }
        }
        if Signals::take(&signals.data) {
            let views = self.views();
            let failed = write("keepalived.data", |w| {
                stats::write_data(w, &views, utc_offset())
            });
            self.log_failure(failed);
        }
        if Signals::take(&signals.json) {
            let views = self.views();
            let failed = write("keepalived.json", |w| stats::write_json(w, &views));
            self.log_failure(failed);
        }
    }

    fn log_failure(&mut self, failed: Option<String>) {
        if let Some(m) = failed {
            (self.io.log)(&m);
        }
    }

    /// Every instance as the dumps show it: the configuration plus the
    /// running state.
    fn views(&self) -> Vec<InstanceView> {
        self.nodes
            .iter()
            .map(|n| {
                let vi = &self.cfg.instances[n.config];
                let mut v = InstanceView::from_config(vi, &self.cfg);
                let state = n.fsm.state();
                v.state = state;
                v.wantstate = if n.fsm.wants_master() {
                    State::Master
                } else {
                    state
                };
                if state == State::Master {
                    v.master_router = Some(self.io.slots[n.socket].sock.source());
                    v.master_priority = n.fsm.priority();
                } else if let Some((addr, prio)) = n.master {
                    v.master_router = Some(addr);
                    v.master_priority = prio;
                }
                v.last_transition = n.last_transition;
                v.master_down_timer =
                    crate::model::Duration::from_micros(n.fsm.master_down_micros());
                v.src_ip = Some(self.io.slots[n.socket].sock.source());
                // One socket sends and receives (keepalived has two fds).
                let fd = std::os::fd::AsRawFd::as_raw_fd(&self.io.slots[n.socket].sock.as_fd());
                v.sockets = Some((fd, fd));
                v.ifindex = self
                    .links
                    .iter()
                    .find(|l| Some(&l.name) == vi.interface.as_ref())
                    .map_or(0, |l| l.index);
                v.effective_priority = n.fsm.priority();
                v.vipset = state == State::Master;
                let set = |list: &mut Vec<VipView>| {
                    for x in list {
                        x.set = state == State::Master;
                    }
                };
                set(&mut v.vips);
                set(&mut v.evips);
                v.counters = n.counters.clone();
                v
            })
            .collect()
    }
}
