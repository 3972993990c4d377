//! Carrying out a state machine's actions: adverts on the node's socket,
//! VIPs through netlink, GARP/NA bursts, log lines and notifications.

use super::super::fsm::{Action, State};
use super::super::net::Socket;
use super::super::notify::{Notifier, Subject};
use super::super::packet::ChecksumContext;
use super::super::{addr, ah};
use super::install;
use super::node::{Node, Slot};
use crate::model::keepalived::Notify;
use std::net::IpAddr;
use std::time::Instant;

/// What carrying out actions needs.
pub(super) struct Io<'l> {
    pub slots: Vec<Slot>,
    pub rt: tokio::runtime::Runtime,
    pub handle: rtnetlink::Handle,
    pub log: &'l mut dyn FnMut(&str),
    pub notifier: Notifier,
}

/// Carries out the state machine's actions for one node, in order.
pub(super) fn act(
    n: &mut Node,
    actions: Vec<Action>,
    init: bool,
    scripts: &Notify,
    io: &mut Io<'_>,
) {
    // AddVips comes before Garp only when the node has just become MASTER.
    let mut became_master = false;
    for a in actions {
        match a {
            Action::SendAdvert { priority } => send_advert(n, priority, io),
            Action::AddVips => {
                became_master = true;
                for (ifindex, vip) in &n.vips {
                    if let Err(e) = io.rt.block_on(addr::add(&io.handle, *ifindex, vip)) {
                        (io.log)(&format!("({}) cannot add {}: {e}", n.name, vip.prefix));
                    }
                }
                // Routes and rules follow the addresses they may use.
                install::apply(&io.rt, &io.handle, &n.routing, true, io.log);
            }
            Action::RemoveVips => {
                install::apply(&io.rt, &io.handle, &n.routing, false, io.log);
                for (ifindex, vip) in &n.vips {
                    let _ = io.rt.block_on(addr::remove(&io.handle, *ifindex, vip));
                }
                n.garp_again = None;
                n.garp_refresh_at = None;
            }
            Action::Garp => {
                if !became_master {
                    // The answer to a lower-priority advert.
                    announce(n, n.lower_prio_repeat);
                    continue;
                }
                let t = Instant::now();
                announce(n, n.garp_repeat);
                if !n.garp_delay.is_zero() {
                    n.garp_again = Some(t + n.garp_delay);
                }
                if !n.garp_refresh.is_zero() {
                    n.garp_refresh_at = Some(t + n.garp_refresh);
                }
            }
            Action::Notify(state) => {
                let suffix = if init && state == State::Backup {
                    " (init)"
                } else {
                    ""
                };
                (io.log)(&format!(
                    "({}) Entering {} STATE{suffix}",
                    n.name,
                    state.word()
                ));
                let subject = Subject::Instance {
                    name: &n.name,
                    priority: n.fsm.priority(),
                };
                io.notifier.notify(subject, scripts, state);
            }
            Action::WakeAt(_) | Action::WantMaster => {}
        }
    }
}

fn send_advert(n: &mut Node, priority: u8, io: &mut Io<'_>) {
    let mut advert = n.template.clone();
    advert.priority = priority;
    let sock = &mut io.slots[n.socket].sock;
    let src = sock.source();
    let targets: Vec<IpAddr> = if n.peers.is_empty() {
        vec![n.group_addr]
    } else {
        n.peers.clone()
    };
    let unicast = !n.peers.is_empty();
    let mut buf = [0u8; 1500];
    for dst in targets {
        let ck = ChecksumContext {
            src,
            dst,
            v3_as_v2: n.v3_as_v2,
        };
        if advert.buffer_len() > buf.len() {
            break;
        }
        let len = advert.emit(&mut buf, &ck);
        let sent = match (&mut n.ah, &mut *sock, src, dst) {
            (Some((key, counter)), Socket::V4(s4), IpAddr::V4(from), IpAddr::V4(to)) => {
                // keepalived stops counting once the counter has cycled.
                if let Some(next) = ah::next_seq(*counter) {
                    *counter = next;
                }
                let datagram = ah::seal(from, to, s4.next_id(), *counter, key, &buf[..len]);
                s4.send_datagram(&datagram, to)
            }
            _ => sock.send(&buf[..len], dst, 255, unicast && !n.v6),
        };
        if let Err(e) = sent {
            (io.log)(&format!("({}) send advert to {dst} failed: {e}", n.name));
        }
    }
    n.counters.sent(priority);
    if priority == 0 {
        (io.log)(&format!("({}) sent 0 priority", n.name));
    }
}

/// The second burst `garp_master_delay` after becoming MASTER, and the
/// periodic `garp_master_refresh`.
pub(super) fn garp_timers(n: &mut Node, now: Instant) {
    if n.fsm.state() != State::Master {
        return;
    }
    if n.garp_again.is_some_and(|g| g <= now) {
        n.garp_again = None;
        announce(n, n.garp_repeat);
    }
    if n.garp_refresh_at.is_some_and(|g| g <= now) {
        n.garp_refresh_at = Some(now + n.garp_refresh);
        announce(n, n.garp_refresh_repeat);
    }
}

/// `repeat` gratuitous ARPs / unsolicited NAs per VIP and eVIP.
fn announce(n: &Node, repeat: u32) {
    let Some(sender) = &n.announcer else { return };
    for _ in 0..repeat {
        for (_, vip) in &n.vips {
            let _ = sender.announce(vip.prefix.addr);
        }
    }
}
