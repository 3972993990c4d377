//! The state machine on a virtual wire with a virtual clock: exact timings
//! (reference/test-environment.md measured keepalived at 3·adv + skew) and
//! properties over random event sequences.

use super::*;
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn addr(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, i))
}

fn cfg(i: u8, priority: u8) -> Config {
    Config::example(51, priority, addr(i))
}

/// Instances on one wire; `alive[i]` false = crashed (no output, no input).
struct Wire {
    nodes: Vec<Instance>,
    alive: Vec<bool>,
    now: Instant,
    /// (time, sender, priority) of every advert sent.
    adverts: Vec<(Instant, usize, u8)>,
    /// Propagation delay in µs (0 = delivered within the same instant).
    delay: u64,
    /// Adverts on the wire: (arrival, receiver, input).
    in_flight: Vec<(Instant, usize, Input)>,
}

impl Wire {
    fn new(nodes: Vec<Instance>) -> Self {
        let alive = vec![true; nodes.len()];
        Wire {
            nodes,
            alive,
            now: Instant(0),
            adverts: Vec::new(),
            delay: 0,
            in_flight: Vec::new(),
        }
    }

    fn input(&mut self, i: usize, input: Input) {
        let mut queue = vec![(i, input)];
        while let Some((i, input)) = queue.pop() {
            if !self.alive[i] {
                continue;
            }
            let mut out = Vec::new();
            self.nodes[i].handle(self.now, input, &mut out);
            for a in out {
                if let Action::SendAdvert { priority } = a {
                    self.adverts.push((self.now, i, priority));
                    let from = self.nodes[i].cfg.address;
                    let interval_centis = self.nodes[i].cfg.advert_centis;
                    for j in 0..self.nodes.len() {
                        if j == i {
                            continue;
                        }
                        let advert = Input::Advert {
                            from,
                            priority,
                            interval_centis,
                        };
                        if self.delay == 0 {
                            queue.push((j, advert));
                        } else {
                            self.in_flight
                                .push((Instant(self.now.0 + self.delay), j, advert));
                        }
                    }
                }
            }
        }
    }

    fn start(&mut self) {
        for i in 0..self.nodes.len() {
            self.input(i, Input::Startup);
        }
    }

    /// Advances the clock to `until`, firing timers in order.
    fn run_until(&mut self, until: Instant) {
        loop {
            let timer = (0..self.nodes.len())
                .filter(|&i| self.alive[i])
                .filter_map(|i| self.nodes[i].deadline().map(|d| (d, i)))
                .min();
            let arrival = (0..self.in_flight.len()).min_by_key(|&k| self.in_flight[k].0);
            let arrival_at = arrival.map(|k| self.in_flight[k].0);
            match (timer, arrival_at) {
                (_, Some(a)) if a <= until && timer.is_none_or(|(d, _)| a <= d) => {
                    let (at, j, input) = self.in_flight.remove(arrival.expect("some"));
                    self.now = at;
                    self.input(j, input);
                }
                (Some((d, i)), _) if d <= until => {
                    self.now = d;
                    self.input(i, Input::Timer);
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.alive[i] && self.nodes[i].state() == State::Master)
            .collect()
    }

    fn first_advert_by(&self, i: usize, after: Instant) -> Option<Instant> {
        self.adverts
            .iter()
            .find(|(t, s, p)| *s == i && *t >= after && *p > 0)
            .map(|a| a.0)
    }
}

const SEC: u64 = 1_000_000;

#[test]
fn first_election_takes_master_down_interval() {
    let mut w = Wire::new(vec![Instance::new(cfg(1, 150)), Instance::new(cfg(2, 100))]);
    w.start();
    w.run_until(Instant(10 * SEC));
    assert_eq!(w.masters(), [0]);
    // 3 × 1 s + (256 − 150)/256 s = 3.414062 s (keepalived's dump says 3414062 µs).
    assert_eq!(w.first_advert_by(0, Instant(0)), Some(Instant(3_414_062)));
}

#[test]
fn crash_failover_after_three_adverts_plus_skew() {
    let mut w = Wire::new(vec![Instance::new(cfg(1, 150)), Instance::new(cfg(2, 100))]);
    w.start();
    w.run_until(Instant(10 * SEC));
    let last = w
        .adverts
        .iter()
        .rev()
        .find(|a| a.1 == 0)
        .map(|a| a.0)
        .expect("master adverts");
    w.alive[0] = false;
    w.run_until(Instant(20 * SEC));
    assert_eq!(w.masters(), [1]);
    let took_over = w.first_advert_by(1, last).expect("backup takes over");
    // The wire gap keepalived showed: 3·1 + 156/256 s = 3.609375 s.
    assert_eq!(took_over.0 - last.0, 3 * SEC + 156 * SEC / 256);
}

#[test]
fn clean_stop_hands_over_after_skew() {
    let mut w = Wire::new(vec![Instance::new(cfg(1, 150)), Instance::new(cfg(2, 100))]);
    w.start();
    w.run_until(Instant(10 * SEC));
    w.input(0, Input::Stop);
    assert_eq!(
        w.adverts.last().map(|a| (a.1, a.2)),
        Some((0, 0)),
        "priority-0 advert on stop"
    );
    let stop = w.now;
    w.run_until(Instant(20 * SEC));
    assert_eq!(
        w.first_advert_by(1, stop).map(|t| t.0 - stop.0),
        Some(156 * SEC / 256)
    );
    assert_eq!(w.masters(), [1]);
}

#[test]
fn v3_skew_scales_with_the_interval() {
    let mut c = cfg(2, 100);
    c.v3 = true;
    c.advert_centis = 10;
    let i = Instance::new(c);
    // 3 × 0.1 s + 156 × 0.1 / 256 s = 0.360937 s (keepalived: 0.361 on the wire).
    assert_eq!(i.master_down_micros(), 300_000 + 156 * 100_000 / 256);
}

#[test]
fn higher_priority_preempts_unless_nopreempt() {
    for nopreempt in [false, true] {
        let mut low = cfg(1, 100);
        low.nopreempt = false;
        let mut high = cfg(2, 150);
        high.nopreempt = nopreempt;
        let mut w = Wire::new(vec![Instance::new(low), Instance::new(high)]);
        w.alive[1] = false;
        w.start();
        w.run_until(Instant(10 * SEC));
        assert_eq!(w.masters(), [0]);
        w.alive[1] = true;
        w.input(1, Input::Startup);
        w.run_until(Instant(30 * SEC));
        let expected: &[usize] = if nopreempt { &[0] } else { &[1] };
        assert_eq!(w.masters(), expected, "nopreempt = {nopreempt}");
    }
}

#[test]
fn equal_priority_goes_to_the_higher_address() {
    // Both time out together and become master; each then hears the other.
    let mut w = Wire::new(vec![Instance::new(cfg(7, 100)), Instance::new(cfg(9, 100))]);
    w.delay = 100;
    w.start();
    w.run_until(Instant(20 * SEC));
    assert_eq!(w.masters(), [1]);
}

#[test]
fn owner_becomes_master_at_once() {
    let mut c = cfg(1, 255);
    c.initial_master = true;
    let mut w = Wire::new(vec![Instance::new(c), Instance::new(cfg(2, 100))]);
    w.start();
    assert_eq!(w.masters(), [0]);
    assert_eq!(w.first_advert_by(0, Instant(0)), Some(Instant(0)));
}

#[test]
fn fault_sends_priority_zero_and_recovers_as_backup() {
    let mut w = Wire::new(vec![Instance::new(cfg(1, 150)), Instance::new(cfg(2, 100))]);
    w.start();
    w.run_until(Instant(10 * SEC));
    w.input(0, Input::Fault(true));
    assert_eq!(w.nodes[0].state(), State::Fault);
    assert_eq!(w.adverts.last().map(|a| (a.1, a.2)), Some((0, 0)));
    w.run_until(Instant(15 * SEC));
    assert_eq!(w.masters(), [1]);
    w.input(0, Input::Fault(false));
    w.run_until(Instant(25 * SEC));
    assert_eq!(
        w.masters(),
        [0],
        "back with the higher priority, it preempts"
    );
}

#[test]
fn master_answers_a_lower_priority_advert_at_once() {
    let mut m = Instance::new(cfg(1, 150));
    let mut out = Vec::new();
    m.handle(Instant(0), Input::Startup, &mut out);
    m.handle(Instant(4 * SEC), Input::Timer, &mut out);
    assert_eq!(m.state(), State::Master);
    out.clear();
    m.handle(
        Instant(5 * SEC),
        Input::Advert {
            from: addr(2),
            priority: 100,
            interval_centis: 100,
        },
        &mut out,
    );
    assert_eq!(out, [Action::SendAdvert { priority: 150 }, Action::Garp]);
}

#[test]
fn preempt_delay_postpones_preemption() {
    let mut low = cfg(1, 100);
    low.nopreempt = false;
    let mut high = cfg(2, 150);
    high.preempt_delay = 10 * SEC;
    let mut w = Wire::new(vec![Instance::new(low), Instance::new(high)]);
    w.alive[1] = false;
    w.start();
    w.run_until(Instant(10 * SEC));
    w.alive[1] = true;
    w.input(1, Input::Startup);
    w.run_until(Instant(18 * SEC));
    assert_eq!(w.masters(), [0], "still within preempt_delay");
    w.run_until(Instant(40 * SEC));
    assert_eq!(w.masters(), [1]);
}

fn arb_event() -> impl Strategy<Value = (u8, u8)> {
    // (node, what): 0 crash, 1 restart, 2 fault, 3 clear fault, 4..=9 nothing
    (0u8..3, 0u8..10)
}

proptest! {
    /// Whatever happens, once adverts flow again there is exactly one master
    /// among the live, healthy nodes, and it is the best one.
    #[test]
    fn one_master_once_adverts_flow(prios in proptest::collection::vec(1u8..255, 3), events in proptest::collection::vec(arb_event(), 0..12)) {
        let nodes = prios.iter().enumerate().map(|(i, p)| Instance::new(cfg(i as u8 + 1, *p))).collect();
        let mut w = Wire::new(nodes);
        w.delay = 100;
        let mut faulty = [false; 3];
        w.start();
        for (k, (n, what)) in events.iter().enumerate() {
            let n = usize::from(*n);
            w.run_until(Instant((k as u64 + 1) * 5 * SEC));
            match what {
                0 => w.alive[n] = false,
                1 if !w.alive[n] => {
                    w.alive[n] = true;
                    w.nodes[n] = Instance::new(cfg(n as u8 + 1, prios[n]));
                    faulty[n] = false;
                    w.input(n, Input::Startup);
                }
                2 => { w.input(n, Input::Fault(true)); faulty[n] = true; }
                3 => { w.input(n, Input::Fault(false)); faulty[n] = false; }
                _ => {}
            }
        }
        let settle = w.now.0 + 60 * SEC;
        w.run_until(Instant(settle));
        let healthy: Vec<usize> = (0..3).filter(|&i| w.alive[i] && !faulty[i]).collect();
        let masters = w.masters();
        if healthy.is_empty() {
            prop_assert!(masters.is_empty());
        } else {
            prop_assert_eq!(masters.len(), 1, "masters {:?}", masters);
            let best = healthy.iter().copied().max_by_key(|&i| (prios[i], i)).expect("non-empty");
            prop_assert_eq!(masters[0], best);
        }
    }
}
