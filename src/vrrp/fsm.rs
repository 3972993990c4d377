//! The VRRP state machine of one instance (RFC 5798 §6 with keepalived's
//! additions, reference/keepalived.md §3.3), sans-IO: it takes the time and
//! an event and returns actions. It never reads a clock and never blocks;
//! `vrrp::run` (later) owns sockets, netlink and timers and only translates.

use std::net::IpAddr;

/// A point on the instance's clock, in microseconds since any fixed origin.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub u64);

impl Instant {
    fn after(self, micros: u64) -> Instant {
        Instant(self.0.saturating_add(micros))
    }
}

/// The states of RFC 5798 plus keepalived's FAULT and STOP.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
}

impl State {
    /// keepalived's word for the state (logs, notifications, dumps).
    pub fn word(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

/// What an instance is configured with (after tracking is applied, the
/// effective priority arrives as an input).
#[derive(Clone, Debug)]
pub struct Config {
    pub vrid: u8,
    /// Effective priority at start (255 = address owner).
    pub priority: u8,
    /// Our advertisement interval in centiseconds.
    pub advert_centis: u16,
    /// true for VRRPv3 (skew scales with the master's interval).
    pub v3: bool,
    /// `state MASTER` in the configuration.
    pub initial_master: bool,
    pub nopreempt: bool,
    /// `preempt_delay` in microseconds.
    pub preempt_delay: u64,
    /// `down_timer_adverts` (3 by default).
    pub down_timer_adverts: u32,
    /// Our primary address: breaks ties between equal priorities.
    pub address: IpAddr,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    /// Member of a `vrrp_sync_group`: the group decides when to become
    /// MASTER (`Action::WantMaster`, `Input::SyncMaster`).
    pub synced: bool,
}

#[cfg(test)]
impl Config {
    /// keepalived's defaults (v2, advert 1 s, preemption) for tests.
    pub(crate) fn example(vrid: u8, priority: u8, address: IpAddr) -> Config {
        Config {
            vrid,
            priority,
            advert_centis: 100,
            v3: false,
            initial_master: false,
            nopreempt: false,
            preempt_delay: 0,
            down_timer_adverts: 3,
            address,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            synced: false,
        }
    }
}

/// An event for the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The daemon starts the instance.
    Startup,
    /// A validated advertisement for our VRID.
    Advert {
        from: IpAddr,
        priority: u8,
        interval_centis: u16,
    },
    /// The deadline the last `Action::WakeAt` asked for has come.
    Timer,
    /// Tracking says the instance must be in FAULT (`true`) or may leave it.
    Fault(bool),
    /// Tracking moved the effective priority.
    Priority(u8),
    /// The daemon stops.
    Stop,
    /// Instead of `Startup` after a reload: carry on in the state the old
    /// configuration's instance of the same name had, without notifying.
    Resume(State),
    /// The sync group moves every member to MASTER (all want it).
    SyncMaster,
    /// A sync group member fell back to BACKUP: so do we.
    SyncBackup,
}

/// What the driver must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with this priority (0 = "I am leaving").
    SendAdvert {
        priority: u8,
    },
    /// Install / remove the virtual addresses (and routes, rules).
    AddVips,
    RemoveVips,
    /// Gratuitous ARP / unsolicited NA for the VIPs.
    Garp,
    /// Run the notify scripts and FIFO for a new state.
    Notify(State),
    /// Call again with `Input::Timer` at this time (replaces any earlier one).
    WakeAt(Instant),
    /// A synced instance's down timer ran out: it waits in BACKUP until its
    /// group sends `Input::SyncMaster`.
    WantMaster,
}

/// One VRRP instance.
#[derive(Clone, Debug)]
pub struct Instance {
    cfg: Config,
    state: State,
    priority: u8,
    /// Master_Adver_Interval: the master's interval as last heard (v3).
    master_centis: u16,
    deadline: Option<Instant>,
    /// While preempt_delay runs: when preemption becomes allowed.
    preempt_at: Option<Instant>,
    /// A synced BACKUP whose down timer expired (keepalived's wantstate).
    wants_master: bool,
}

impl Instance {
    /// A new instance in INIT.
    pub fn new(cfg: Config) -> Self {
        Instance {
            priority: cfg.priority,
            master_centis: cfg.advert_centis,
            cfg,
            state: State::Init,
            deadline: None,
            preempt_at: None,
            wants_master: false,
        }
    }

    /// Whether a synced BACKUP is ready to become MASTER.
    pub fn wants_master(&self) -> bool {
        self.wants_master
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// When the instance next wants `Input::Timer`.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Skew_Time in microseconds: v2 `(256 − prio)/256` s, v3 scaled by the
    /// master's interval.
    pub fn skew_micros(&self) -> u64 {
        let p = 256 - u64::from(self.priority);
        if self.cfg.v3 {
            p * u64::from(self.master_centis) * 10_000 / 256
        } else {
            p * 1_000_000 / 256
        }
    }

    /// Master_Down_Interval in microseconds.
    pub fn master_down_micros(&self) -> u64 {
        let interval = if self.cfg.v3 {
            self.master_centis
        } else {
            self.cfg.advert_centis
        };
        u64::from(self.cfg.down_timer_adverts) * u64::from(interval) * 10_000 + self.skew_micros()
    }

    fn advert_micros(&self) -> u64 {
        u64::from(self.cfg.advert_centis) * 10_000
    }

    fn wake(&mut self, at: Instant, out: &mut Vec<Action>) {
        self.deadline = Some(at);
        out.push(Action::WakeAt(at));
    }

    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.state = State::Master;
        self.wants_master = false;
        self.preempt_at = None;
        // keepalived sends the advert first, then adds addresses, then GARPs.
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        out.push(Action::AddVips);
        out.push(Action::Garp);
        out.push(Action::Notify(State::Master));
        let at = now.after(self.advert_micros());
        self.wake(at, out);
    }

    fn become_backup(&mut self, now: Instant, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.state = State::Backup;
        self.wants_master = false;
        if was_master {
            out.push(Action::RemoveVips);
        }
        out.push(Action::Notify(State::Backup));
        let at = now.after(self.master_down_micros());
        self.wake(at, out);
    }

    /// Leaves MASTER for FAULT or STOP: a priority-0 advert, then addresses go.
    fn resign(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert { priority: 0 });
            out.push(Action::RemoveVips);
        }
    }

    /// Whether an advert from `from` with `priority` beats us.
    fn beats_us(&self, from: IpAddr, priority: u8) -> bool {
        priority > self.priority || (priority == self.priority && from > self.cfg.address)
    }

    /// The whole protocol: one event in, actions out.
    pub fn handle(&mut self, now: Instant, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Startup => {
                if self.state != State::Init {
                    return;
                }
                if self.cfg.initial_master && self.priority == 255 {
                    self.become_master(now, out);
                } else {
                    self.become_backup(now, out);
                }
            }
            Input::Timer => {
                if self.deadline.is_none_or(|d| d > now) {
                    return;
                }
                self.deadline = None;
                match self.state {
                    State::Backup if self.cfg.synced => {
                        self.wants_master = true;
                        out.push(Action::WantMaster);
                    }
                    State::Backup => self.become_master(now, out),
                    State::Master => {
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                        let at = now.after(self.advert_micros());
                        self.wake(at, out);
                    }
                    _ => {}
                }
            }
            Input::Advert {
                from,
                priority,
                interval_centis,
            } => self.advert(now, from, priority, interval_centis, out),
            Input::Fault(true) => {
                if matches!(self.state, State::Fault | State::Stop) {
                    return;
                }
                self.resign(out);
                self.wants_master = false;
                self.state = State::Fault;
                self.deadline = None;
                out.push(Action::Notify(State::Fault));
            }
            Input::Fault(false) => {
                if self.state == State::Fault {
                    self.become_backup(now, out);
                }
            }
            Input::Priority(p) => {
                self.priority = p;
                if self.state == State::Master {
                    // The next advert carries it; a drop is announced at once.
                    out.push(Action::SendAdvert { priority: p });
                }
            }
            Input::Stop => {
                if self.state == State::Stop {
                    return;
                }
                self.resign(out);
                self.state = State::Stop;
                self.deadline = None;
                out.push(Action::Notify(State::Stop));
            }
            Input::Resume(state) => {
                if self.state != State::Init {
                    return;
                }
                match state {
                    State::Master => {
                        // Re-announce and make sure new VIPs are there.
                        self.state = State::Master;
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                        out.push(Action::AddVips);
                        let at = now.after(self.advert_micros());
                        self.wake(at, out);
                    }
                    State::Fault => self.state = State::Fault,
                    _ => {
                        self.state = State::Backup;
                        let at = now.after(self.master_down_micros());
                        self.wake(at, out);
                    }
                }
            }
            Input::SyncMaster => {
                if self.state == State::Backup {
                    self.become_master(now, out);
                }
            }
            Input::SyncBackup => {
                if self.state == State::Master {
                    self.become_backup(now, out);
                }
            }
        }
    }

    fn advert(
        &mut self,
        now: Instant,
        from: IpAddr,
        priority: u8,
        interval_centis: u16,
        out: &mut Vec<Action>,
    ) {
        match self.state {
            State::Backup => {
                if priority == 0 {
                    // The master is leaving: take over after Skew_Time.
                    let at = now.after(self.skew_micros());
                    self.wake(at, out);
                    return;
                }
                let lower = priority < self.priority;
                // `state MASTER` disables nopreempt and preempt_delay.
                let may_preempt =
                    self.priority == 255 || self.cfg.initial_master || !self.cfg.nopreempt;
                let delay = if self.cfg.initial_master {
                    0
                } else {
                    self.cfg.preempt_delay
                };
                let preempt_now = lower
                    && may_preempt
                    && match (delay, self.preempt_at) {
                        (0, _) => true,
                        (d, None) => {
                            self.preempt_at = Some(now.after(d));
                            false
                        }
                        (_, Some(at)) => now >= at,
                    };
                if preempt_now {
                    // Discard: the down timer runs out and we take over.
                    return;
                }
                if !lower {
                    self.preempt_at = None;
                }
                self.wants_master = false;
                if self.cfg.v3 && interval_centis != 0 {
                    self.master_centis = interval_centis;
                }
                let at = now.after(self.master_down_micros());
                self.wake(at, out);
            }
            State::Master => {
                if priority == 0 {
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    let at = now.after(self.advert_micros());
                    self.wake(at, out);
                } else if self.beats_us(from, priority) {
                    if self.cfg.higher_prio_send_advert {
                        out.push(Action::SendAdvert {
                            priority: self.priority,
                        });
                    }
                    if self.cfg.v3 && interval_centis != 0 {
                        self.master_centis = interval_centis;
                    }
                    self.become_backup(now, out);
                } else if !self.cfg.lower_prio_no_advert {
                    // "forcing new election": answer at once and re-announce.
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    out.push(Action::Garp);
                }
            }
            State::Init | State::Fault | State::Stop => {}
        }
    }
}

#[cfg(test)]
mod tests;
