//! Tracking in the driver: each node's verdict from its trackers
//! (interfaces, vrrp_scripts, track_files, vrrp_track_process), a sync
//! group's FAULT spread to its members, and the resulting inputs.

use super::super::fsm::Input;
use super::super::script::Runner;
use super::super::track::{self, Status};
use super::Driver;
use super::node::Object;

impl Driver<'_> {
    /// Applies tracking: every node's own verdict, then a sync group's FAULT
    /// to all its members.
    pub(super) fn evaluate(&mut self) {
        let verdicts = self.verdicts();
        let at = self.now();
        for (i, verdict) in verdicts.into_iter().enumerate() {
            if self.nodes[i].verdict == Some(verdict) {
                continue;
            }
            let before = self.nodes[i].verdict.replace(verdict);
            match verdict {
                track::Verdict::Fault => self.step(i, at, Input::Fault(true)),
                track::Verdict::Priority(p) => {
                    if before == Some(track::Verdict::Fault) {
                        self.step(i, at, Input::Fault(false));
                    }
                    if p != self.nodes[i].fsm.priority() {
                        self.step(i, at, Input::Priority(p));
                    }
                }
            }
        }
    }

    /// Rescans /proc when some instance tracks a process; whether the
    /// result changed.
    pub(super) fn scan_processes(&mut self) -> bool {
        let used = self.nodes.iter().any(|n| {
            n.trackers
                .iter()
                .any(|t| matches!(t.object, Object::Process(_)))
        });
        if !used {
            return false;
        }
        let fresh = super::super::process::scan();
        let changed = fresh != self.scanned;
        self.scanned = fresh;
        changed
    }

    /// Every node's verdict: its own, or FAULT when a member of its sync
    /// group is in FAULT.
    pub(super) fn verdicts(&self) -> Vec<track::Verdict> {
        let mut verdicts: Vec<track::Verdict> =
            (0..self.nodes.len()).map(|i| self.own_verdict(i)).collect();
        for g in &self.groups {
            if g.members
                .iter()
                .any(|&i| verdicts[i] == track::Verdict::Fault)
            {
                for &i in &g.members {
                    verdicts[i] = track::Verdict::Fault;
                }
            }
        }
        verdicts
    }

    fn own_verdict(&self, i: usize) -> track::Verdict {
        let n = &self.nodes[i];
        let tracked: Vec<track::Tracked> = n
            .trackers
            .iter()
            .map(|t| {
                let status = match &t.object {
                    Object::Interface(name) => match self.links.iter().find(|l| l.name == *name) {
                        Some(l) if l.is_up() => Status::Up,
                        _ => Status::Down,
                    },
                    Object::Script(j) => self
                        .runners
                        .get(*j)
                        .and_then(Option::as_ref)
                        .map_or(Status::Unknown, Runner::status),
                    Object::Process(j) => self
                        .processes
                        .get(*j)
                        .map_or(Status::Unknown, |p| p.status(&self.scanned)),
                    Object::File(j) => Status::Value(
                        self.cfg.track_files[*j]
                            .file
                            .as_deref()
                            .map_or(0, read_track_file),
                    ),
                };
                track::Tracked {
                    weight: t.weight,
                    reverse: t.reverse,
                    status,
                }
            })
            .collect();
        track::verdict(n.base_priority, &tracked)
    }
}

/// A track_file's value: the leading integer of its content; 0 when it is
/// missing or holds no number (keepalived's reading).
fn read_track_file(path: &str) -> i64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let t = text.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0)
}
