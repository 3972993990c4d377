//! The VRRP driver: runs the `vrrp_instance`s of a model. It owns the raw
//! sockets (`net`), netlink (`addr`), GARP (`garp`), scripts and the clock,
//! feeds `fsm::Instance`s (coordinated by `sync::Group`s) and carries out
//! their actions. One thread; a blocking poll whose timeout is the next
//! deadline. Signals arrive as flags (`daemon::Signals`).

mod act;
mod dump;
mod install;
mod node;
mod tracking;

use super::fsm::{self, Input, State};
use super::linkwatch::LinkWatch;
use super::notify::{Notifier, Subject};
use super::packet::{self, ChecksumContext};
use super::script::Runner;
use super::sync::{Group, Member};
use super::track;
use super::{addr, ah};
use crate::daemon::Signals;
use crate::model::keepalived::KeepalivedConfig;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use node::{Node, Object, Slot};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::{Duration, Instant as StdInstant};

/// Why the driver could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A socket could not be opened or used.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Netlink (addresses, links) failed.
    #[error("{0}")]
    Netlink(#[from] addr::AddrError),
    /// No instance can run (none configured, or none usable).
    #[error("no usable vrrp_instance")]
    Nothing,
}

/// What the daemon gives the driver besides the configuration.
pub struct Control<'a> {
    pub signals: &'a Signals,
    /// Re-reads the configuration on SIGHUP; None keeps the running one
    /// (the reader has already reported why).
    pub reload: &'a mut dyn FnMut() -> Option<KeepalivedConfig>,
    /// keepalived's log lines (`(VI_1) Entering MASTER STATE`).
    pub log: &'a mut dyn FnMut(&str),
    /// `-V`: leave VIPs in place on stop.
    pub keep_vips: bool,
}

/// Runs every `vrrp_instance` until SIGTERM, then leaves as keepalived
/// does (priority-0 advert, VIPs removed).
pub fn run(cfg: KeepalivedConfig, ctl: Control<'_>) -> Result<(), RunError> {
    let Control {
        signals,
        reload,
        log,
        keep_vips,
    } = ctl;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = rt.block_on(async { addr::connect() })?;
    let notifier = Notifier::new(&cfg.global, log);
    let mut d = Driver {
        io: act::Io {
            slots: Vec::new(),
            rt,
            handle,
            log,
            notifier,
        },
        cfg,
        nodes: Vec::new(),
        groups: Vec::new(),
        runners: Vec::new(),
        links: Vec::new(),
        links_at: StdInstant::now(),
        epoch: StdInstant::now(),
        firewall_due: false,
        firewalled: Vec::new(),
        processes: Vec::new(),
        scanned: Vec::new(),
        watch: LinkWatch::open().ok(),
        statics: install::Routing::default(),
        vmacs: install::VmacSet::default(),
    };
    d.start(&HashMap::new())?;
    if d.nodes.is_empty() {
        return Err(RunError::Nothing);
    }
    let mut buf = [0u8; 2048];
    while !signals.stop.load(std::sync::atomic::Ordering::Relaxed) {
        if Signals::take(&signals.reload) {
            crate::daemon::sd_notify("RELOADING=1");
            (d.io.log)("Reloading");
            match reload() {
                Some(new) => d.reload(new)?,
                None => (d.io.log)("Reload failed - keeping the running configuration"),
            }
            crate::daemon::sd_notify("READY=1");
        }
        d.dumps(signals);
        d.tick();
        d.receive(&mut buf);
        d.firewall();
    }
    crate::daemon::sd_notify("STOPPING=1");
    // keepalived closes the notify FIFOs before its instances stop.
    d.io.notifier.close_fifos();
    let at = d.now();
    for i in 0..d.nodes.len() {
        if keep_vips {
            d.nodes[i].vips.clear();
        }
        d.step(i, at, Input::Stop);
    }
    d.firewall();
    if !keep_vips {
        let statics = std::mem::take(&mut d.statics);
        install::apply(&d.io.rt, &d.io.handle, &statics, false, d.io.log);
    }
    d.vmacs.delete_all(&d.io.rt, &d.io.handle);
    Ok(())
}

/// Everything the running instances need.
struct Driver<'l> {
    io: act::Io<'l>,
    cfg: KeepalivedConfig,
    nodes: Vec<Node>,
    groups: Vec<Group>,
    /// One per `cfg.scripts` entry; None when no instance tracks it.
    runners: Vec<Option<Runner>>,
    links: Vec<addr::Link>,
    links_at: StdInstant,
    epoch: StdInstant,
    /// `static_routes` / `static_rules` installed.
    statics: install::Routing,
    /// `use_vmac` interfaces made.
    vmacs: install::VmacSet,
    /// Link notifications (None if the subscription failed: the one-second
    /// beat still reads the links).
    watch: Option<LinkWatch>,
    /// `vrrp_track_process` definitions and the last /proc scan.
    processes: Vec<super::process::TrackProcess>,
    scanned: Vec<super::process::ProcInfo>,
    /// A no_accept instance entered or left MASTER: the firewall set must
    /// be brought up to date.
    firewall_due: bool,
    /// The VIPs the firewall drops traffic for now.
    firewalled: Vec<std::net::IpAddr>,
}

impl Driver<'_> {
    fn now(&self) -> fsm::Instant {
        let us = StdInstant::now().duration_since(self.epoch).as_micros();
        fsm::Instant(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// Builds sockets, nodes, groups and script runners from `self.cfg` and
    /// starts each instance: fresh (`Startup`, after removing leftover VIPs
    /// as keepalived does) or in the state `resume` gives for its name.
    fn start(&mut self, resume: &HashMap<String, State>) -> Result<(), RunError> {
        self.vmacs
            .create_all(&self.io.rt, &self.io.handle, &self.cfg, self.io.log);
        self.links = self.io.rt.block_on(addr::links(&self.io.handle))?;
        self.io.slots.clear();
        let (statics, routing) = install::routing(&self.cfg);
        self.nodes = node::build(
            &self.cfg,
            &self.links,
            &mut self.io.slots,
            &self.vmacs.made,
            &routing,
            self.io.log,
        )?;
        // Static routes and rules live as long as the daemon (a reload
        // replaces the set).
        let (rt, handle) = (&self.io.rt, &self.io.handle);
        install::apply(rt, handle, &self.statics, false, self.io.log);
        install::apply(rt, handle, &statics, true, self.io.log);
        self.statics = statics;
        if self.nodes.iter().any(|n| n.no_accept) {
            (self.io.log)(
                "use_vmac or no_accept/strict specified, but no firewall configured - using nftables",
            );
        }
        self.firewall_due = true;
        self.processes = super::process::definitions(&self.cfg);
        self.scan_processes();
        self.groups = self
            .cfg
            .sync_groups
            .iter()
            .map(|g| {
                let members = (0..self.nodes.len())
                    .filter(|&i| g.members.contains(&self.nodes[i].name))
                    .collect();
                Group::new(&g.name, members)
            })
            .collect();
        let default_user = self.cfg.global.default_script_user();
        let now = StdInstant::now();
        self.runners = (0..self.cfg.scripts.len())
            .map(|i| {
                let used = self.nodes.iter().any(|n| {
                    n.trackers
                        .iter()
                        .any(|t| matches!(t.object, Object::Script(j) if j == i))
                });
                used.then(|| Runner::new(&self.cfg.scripts[i], &default_user, now))
                    .flatten()
            })
            .collect();
        // An instance whose weight-0 trackers fail from the start enters
        // FAULT directly, as keepalived does (no BACKUP (init) first).
        let verdicts = self.verdicts();
        for (i, verdict) in verdicts.into_iter().enumerate() {
            let state = resume.get(&self.nodes[i].name).copied();
            if state.is_none() {
                for (ifindex, vip) in &self.nodes[i].vips {
                    let _ = self
                        .io
                        .rt
                        .block_on(addr::remove(&self.io.handle, *ifindex, vip));
                }
            }
            let at = self.now();
            let input = match state {
                Some(s) => Input::Resume(s),
                None if verdict == track::Verdict::Fault => {
                    self.nodes[i].verdict = Some(verdict);
                    Input::Fault(true)
                }
                None => Input::Startup,
            };
            self.step(i, at, input);
        }
        self.evaluate();
        Ok(())
    }

    /// SIGHUP: instances keep their state by name; instances no longer
    /// configured stop; VIPs a kept MASTER no longer has are removed.
    fn reload(&mut self, new: KeepalivedConfig) -> Result<(), RunError> {
        let mut states = HashMap::new();
        let at = self.now();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            match new.instances.iter().find(|vi| vi.name == n.name) {
                Some(vi) => {
                    states.insert(n.name.clone(), n.fsm.state());
                    if n.fsm.state() == State::Master {
                        let gone: Vec<_> = n
                            .vips
                            .iter()
                            .filter(|(_, v)| {
                                !vi.vips
                                    .iter()
                                    .chain(&vi.excluded_vips)
                                    .any(|w| w.prefix == v.prefix)
                            })
                            .cloned()
                            .collect();
                        for (ifindex, vip) in &gone {
                            let _ =
                                self.io
                                    .rt
                                    .block_on(addr::remove(&self.io.handle, *ifindex, vip));
                        }
                    }
                }
                None => self.step(i, at, Input::Stop),
            }
        }
        self.cfg = new;
        self.start(&states)
    }

    /// Tracking, timers and GARP bursts that are due.
    fn tick(&mut self) {
        let t = StdInstant::now();
        let mut changed = false;
        for r in self.runners.iter_mut().flatten() {
            changed |= r.poll(t).is_some();
        }
        // Links are watched by notification; the beat is the fallback.
        if t.duration_since(self.links_at) >= Duration::from_secs(1) {
            changed |= self.refresh_links();
            // track_files and processes are read on the same beat.
            changed |= !self.cfg.track_files.is_empty();
            changed |= self.scan_processes();
        }
        if changed {
            self.evaluate();
        }
        let now = self.now();
        for i in 0..self.nodes.len() {
            if self.nodes[i].fsm.deadline().is_some_and(|d| d <= now) {
                self.step(i, now, Input::Timer);
            }
            act::garp_timers(&mut self.nodes[i], t);
        }
    }

    /// Re-reads the links; whether they changed.
    fn refresh_links(&mut self) -> bool {
        self.links_at = StdInstant::now();
        match self.io.rt.block_on(addr::links(&self.io.handle)) {
            Ok(fresh) => {
                let changed = fresh != self.links;
                self.links = fresh;
                changed
            }
            Err(_) => false,
        }
    }

    /// Waits for adverts until the next deadline (at most 100 ms, to notice
    /// signals) and feeds the valid ones to their instances.
    fn receive(&mut self, buf: &mut [u8]) {
        let now = self.now();
        let wait = self
            .nodes
            .iter()
            .filter_map(|n| n.fsm.deadline())
            .min()
            .map(|d| Duration::from_micros(d.0.saturating_sub(now.0)))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        let (ready, link_event) = readable(&self.io.slots, self.watch.as_ref(), wait);
        if link_event && self.watch.as_ref().is_some_and(LinkWatch::drain) && self.refresh_links() {
            self.evaluate();
        }
        for s in ready {
            let Ok(Some(r)) = self.io.slots[s]
                .sock
                .recv(buf, Some(Duration::from_micros(1)))
            else {
                continue;
            };
            // On an AH socket the VRRP message follows the AH header.
            let ah_len = if self.io.slots[s].ah { ah::AH_LEN } else { 0 };
            let Some(&vrid) = buf.get(r.payload.0 + ah_len + 1) else {
                continue;
            };
            let at = self.now();
            for i in 0..self.nodes.len() {
                let n = &mut self.nodes[i];
                if n.socket != s || n.vrid != vrid {
                    continue;
                }
                let range = match &mut n.ah {
                    Some((key, counter)) => {
                        match ah::open(&buf[..r.payload.1], key, Some(*counter)) {
                            Ok((range, seq)) => {
                                *counter = seq;
                                range
                            }
                            Err(_) => {
                                n.counters.auth_failure += 1;
                                continue;
                            }
                        }
                    }
                    None => r.payload.0..r.payload.1,
                };
                let bytes = &buf[range];
                let n = &self.nodes[i];
                let ck = ChecksumContext {
                    src: r.src,
                    dst: r.dst,
                    v3_as_v2: n.v3_as_v2,
                };
                let advert = match packet::receive(bytes, r.ttl, &ck, &n.expect) {
                    Ok(a) => a,
                    Err(rejected) => {
                        self.nodes[i].counters.reject(&rejected);
                        continue;
                    }
                };
                let n = &mut self.nodes[i];
                // keepalived 2.2.7 counts and drops an advert whose VIP list
                // differs from ours.
                let same = !n.check_addrs || same_set(&advert.addrs, &n.template.addrs);
                if !n.counters.received(advert.priority, same) {
                    continue;
                }
                if advert.priority != 0 {
                    n.master = Some((r.src, advert.priority));
                }
                let lower = self.nodes[i].fsm.state() == State::Master
                    && advert.priority != 0
                    && advert.priority < self.nodes[i].fsm.priority();
                let input = Input::Advert {
                    from: r.src,
                    priority: advert.priority,
                    interval_centis: advert.interval_centis,
                };
                self.step(i, at, input);
                if lower {
                    let n = &self.nodes[i];
                    let scripts = &self.cfg.instances[n.config].notify;
                    self.io
                        .notifier
                        .master_rx_lower(&n.name, n.fsm.priority(), scripts);
                }
            }
        }
    }

    /// One event into a node's state machine, what its sync group makes of
    /// it for the other members, and every action carried out.
    fn step(&mut self, i: usize, at: fsm::Instant, input: Input) {
        let mut queue = VecDeque::from([(i, input)]);
        while let Some((i, input)) = queue.pop_front() {
            let init = input == Input::Startup;
            let before = self.nodes[i].fsm.state();
            let mut out = Vec::new();
            self.nodes[i].fsm.handle(at, input, &mut out);
            let after = self.nodes[i].fsm.state();
            if after != before && (after == State::Master || before == State::Master) {
                self.firewall_due |= self.nodes[i].no_accept;
            }
            if after != before {
                let n = &mut self.nodes[i];
                n.last_transition = node::wall_clock();
                if after == State::Master {
                    n.counters.become_master += 1;
                } else if before == State::Master {
                    n.counters.release_master += 1;
                }
            }
            // `groups` follows `cfg.sync_groups`, so the index is shared.
            let group = self.nodes[i].group;
            if let Some(g) = group {
                let nodes = &self.nodes;
                let view = |j: usize| Member {
                    state: nodes[j].fsm.state(),
                    wants_master: nodes[j].fsm.wants_master(),
                };
                queue.extend(self.groups[g].follow(i, before, &out, view));
            }
            // keepalived announces a group's first state (BACKUP at start)
            // before its members', later ones after them.
            if init && let Some(g) = group {
                self.settle_group(g);
            }
            let scripts = &self.cfg.instances[self.nodes[i].config].notify;
            act::act(&mut self.nodes[i], out, init, scripts, &mut self.io);
            if let Some(g) = group {
                self.settle_group(g);
            }
        }
    }

    /// Brings the no_accept drop set up to date with the MASTERs.
    fn firewall(&mut self) {
        if !std::mem::take(&mut self.firewall_due) {
            return;
        }
        let vips: Vec<std::net::IpAddr> = self
            .nodes
            .iter()
            .filter(|n| n.no_accept && n.fsm.state() == State::Master)
            .flat_map(|n| n.vips.iter().map(|(_, v)| v.prefix.addr))
            .collect();
        if vips == self.firewalled {
            return;
        }
        match super::firewall::apply(&vips) {
            Ok(()) => self.firewalled = vips,
            Err(e) => (self.io.log)(&format!("no_accept: {e}")),
        }
    }

    /// Logs and notifies a sync group's new state, if it has one.
    fn settle_group(&mut self, g: usize) {
        let states: Vec<State> = self.groups[g]
            .members
            .iter()
            .map(|&j| self.nodes[j].fsm.state())
            .collect();
        let Some(s) = self.groups[g].settle(states) else {
            return;
        };
        let name = self.groups[g].name.clone();
        (self.io.log)(&format!("({name}) Syncing instances to {} state", s.word()));
        let scripts = &self.cfg.sync_groups[g].notify;
        self.io
            .notifier
            .notify(Subject::Group { name: &name }, scripts, s);
    }
}

/// Whether two VIP lists hold the same addresses (in any order).
fn same_set(a: &[std::net::IpAddr], b: &[std::net::IpAddr]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Indexes of the sockets with a datagram waiting after at most `wait`,
/// and whether link notifications arrived.
fn readable(slots: &[Slot], watch: Option<&LinkWatch>, wait: Duration) -> (Vec<usize>, bool) {
    let mut fds: Vec<PollFd> = slots
        .iter()
        .map(|s| PollFd::new(s.sock.as_fd(), PollFlags::POLLIN))
        .collect();
    if let Some(w) = watch {
        fds.push(PollFd::new(w.as_fd(), PollFlags::POLLIN));
    }
    let ms = u16::try_from(wait.as_millis()).unwrap_or(100);
    let ready = |fd: &PollFd| fd.revents().is_some_and(|r| r.contains(PollFlags::POLLIN));
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) | Err(_) => (Vec::new(), false),
        Ok(_) => (
            (0..slots.len()).filter(|&i| ready(&fds[i])).collect(),
            watch.is_some() && fds.last().is_some_and(ready),
        ),
    }
}
