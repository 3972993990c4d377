//! The VRRP driver: runs the `vrrp_instance`s of a model. It owns the raw
//! sockets (`net`), netlink (`addr`), GARP (`garp`) and the clock, feeds
//! `fsm::Instance`s and carries out their actions. One thread; a blocking
//! poll whose timeout is the next deadline. IPv4 instances for now.

use super::fsm::{self, Action, Input, Instance, State};
use super::net::VrrpSocket;
use super::packet::{self, Advert, AdvertAuth, ChecksumContext, Expect, Version};
use super::script::Runner;
use super::track::{self, Status};
use super::{addr, garp};
use crate::model::Script;
use crate::model::keepalived::{
    Auth, InitialState, KeepalivedConfig, Notify, VirtualAddress, VrrpInstance,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// One running instance and what its actions need.
struct Node {
    name: String,
    fsm: Instance,
    socket: usize,
    vips: Vec<(u32, VirtualAddress)>,
    peers: Vec<Ipv4Addr>,
    group: Ipv4Addr,
    version: Version,
    vrid: u8,
    interval_centis: u16,
    auth: AdvertAuth,
    v3_as_v2: bool,
    expect: Expect,
    notify: Notify,
    garp_repeat: u32,
    garp_delay: Duration,
    /// A second GARP burst due at this time.
    garp_again: Option<StdInstant>,
    announcer: Option<garp::Sender>,
    /// Configured priority before tracking.
    base_priority: u8,
    trackers: Vec<Tracker>,
    /// The last verdict applied, to send only changes.
    verdict: Option<track::Verdict>,
}

/// What an instance tracks: an interface's link state or a vrrp_script.
struct Tracker {
    object: Object,
    weight: i32,
    reverse: bool,
}

enum Object {
    Interface(String),
    Script(usize),
}

/// Runs every IPv4 `vrrp_instance` until `stop` is set, then leaves as
/// keepalived does (priority-0 advert, VIPs removed). `log` receives
/// keepalived's log lines (`(VI_1) Entering MASTER STATE`).
pub fn run(
    cfg: &KeepalivedConfig,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&str),
) -> Result<(), RunError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = rt.block_on(async { addr::connect() })?;
    let links = rt.block_on(addr::links(&handle))?;
    let index_of = |name: &str| {
        links
            .iter()
            .find(|l| l.name == name)
            .map(|l| (l.index, l.mac))
    };
    let mut sockets: Vec<(String, VrrpSocket)> = Vec::new();
    let mut nodes = Vec::new();
    for vi in &cfg.instances {
        let Some(ifname) = vi.interface.clone() else {
            continue;
        };
        if vi.ipv6 {
            log(&format!(
                "({}) IPv6 instances are not run by this build yet - ignoring",
                vi.name
            ));
            continue;
        }
        let Some((ifindex, mac)) = index_of(&ifname) else {
            log(&format!(
                "({}) interface {ifname} not found - ignoring",
                vi.name
            ));
            continue;
        };
        let unicast = !vi.unicast_peers.is_empty();
        let group = match cfg.global.vrrp_mcast_group4 {
            IpAddr::V4(g) => vi.mcast_dst_ip.and_then(v4).unwrap_or(g),
            IpAddr::V6(_) => Ipv4Addr::new(224, 0, 0, 18),
        };
        let socket = match sockets.iter().position(|(n, _)| *n == ifname) {
            Some(i) => i,
            None => {
                let src = vi.unicast_src_ip.and_then(v4);
                sockets.push((
                    ifname.clone(),
                    VrrpSocket::open(&ifname, src, (!unicast).then_some(group))?,
                ));
                sockets.len() - 1
            }
        };
        let source = sockets[socket].1.source();
        nodes.push(node(vi, ifindex, mac, socket, source, group, cfg, &links));
    }
    if nodes.is_empty() {
        return Err(RunError::Nothing);
    }
    let epoch = StdInstant::now();
    let now = |at: StdInstant| {
        fsm::Instant(u64::try_from(at.duration_since(epoch).as_micros()).unwrap_or(u64::MAX))
    };
    // keepalived removes leftover VIPs before it starts.
    for n in &nodes {
        for (ifindex, vip) in &n.vips {
            let _ = rt.block_on(addr::remove(&handle, *ifindex, vip));
        }
    }
    let mut io = Io {
        sockets,
        rt,
        handle,
        log,
    };
    // Only scripts some instance tracks are run (as keepalived does).
    let mut runners: Vec<Option<Runner>> = cfg
        .scripts
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            let used = nodes.iter().any(|n| {
                n.trackers
                    .iter()
                    .any(|t| matches!(t.object, Object::Script(j) if j == i))
            });
            if used {
                Runner::new(sc, StdInstant::now())
            } else {
                None
            }
        })
        .collect();
    let mut links = links;
    let mut links_at = StdInstant::now();
    for n in &mut nodes {
        step(n, &mut io, now(StdInstant::now()), Input::Startup, true);
        evaluate(n, &mut io, now(StdInstant::now()), &links, &runners);
    }
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let t = StdInstant::now();
        // Tracking: script results as they come, link states every second.
        let mut changed = false;
        for r in runners.iter_mut().flatten() {
            changed |= r.poll(t).is_some();
        }
        if t.duration_since(links_at) >= Duration::from_secs(1) {
            links_at = t;
            if let Ok(fresh) = io.rt.block_on(addr::links(&io.handle)) {
                changed |= fresh != links;
                links = fresh;
            }
        }
        if changed {
            for n in &mut nodes {
                evaluate(n, &mut io, now(t), &links, &runners);
            }
        }
        for n in &mut nodes {
            if n.fsm.deadline().is_some_and(|d| d <= now(t)) {
                step(n, &mut io, now(t), Input::Timer, false);
            }
            if n.garp_again.is_some_and(|g| g <= t) {
                n.garp_again = None;
                if n.fsm.state() == State::Master {
                    announce(n);
                }
            }
        }
        // Sleep until the next deadline, but wake at least every 100 ms to
        // notice a stop request.
        let next = nodes
            .iter()
            .filter_map(|n| n.fsm.deadline())
            .min()
            .map(|d| Duration::from_micros(d.0.saturating_sub(now(StdInstant::now()).0)))
            .unwrap_or(Duration::from_millis(100))
            .min(Duration::from_millis(100));
        for s in readable(&io.sockets, next) {
            let Ok(Some(r)) = io.sockets[s]
                .1
                .recv(&mut buf, Some(Duration::from_micros(1)))
            else {
                continue;
            };
            let bytes = &buf[r.payload.0..r.payload.1];
            let Some(&vrid) = bytes.get(1) else { continue };
            let t = now(StdInstant::now());
            for n in nodes.iter_mut().filter(|n| n.socket == s && n.vrid == vrid) {
                let ck = ChecksumContext {
                    src: IpAddr::V4(r.src),
                    dst: IpAddr::V4(r.dst),
                    v3_as_v2: n.v3_as_v2,
                };
                let Ok(advert) = packet::receive(bytes, r.ttl, &ck, &n.expect) else {
                    continue;
                };
                let input = Input::Advert {
                    from: IpAddr::V4(r.src),
                    priority: advert.priority,
                    interval_centis: advert.interval_centis,
                };
                step(n, &mut io, t, input, false);
            }
        }
    }
    for n in &mut nodes {
        step(n, &mut io, now(StdInstant::now()), Input::Stop, false);
    }
    Ok(())
}

/// What carrying out actions needs.
struct Io<'l> {
    sockets: Vec<(String, VrrpSocket)>,
    rt: tokio::runtime::Runtime,
    handle: rtnetlink::Handle,
    log: &'l mut dyn FnMut(&str),
}

/// One event into a node's state machine, and its actions carried out.
fn step(n: &mut Node, io: &mut Io<'_>, at: fsm::Instant, input: Input, init: bool) {
    let mut out = Vec::new();
    n.fsm.handle(at, input, &mut out);
    act(n, out, init, io);
}

/// Indexes of the sockets with a datagram waiting, after at most `wait`.
fn readable(sockets: &[(String, VrrpSocket)], wait: Duration) -> Vec<usize> {
    let mut fds: Vec<PollFd> = sockets
        .iter()
        .map(|(_, s)| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    let ms = u16::try_from(wait.as_millis()).unwrap_or(100);
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) | Err(_) => Vec::new(),
        Ok(_) => (0..fds.len())
            .filter(|&i| {
                fds[i]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLIN))
            })
            .collect(),
    }
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(x) => Some(x),
        IpAddr::V6(_) => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn node(
    vi: &VrrpInstance,
    ifindex: u32,
    mac: Option<[u8; 6]>,
    socket: usize,
    source: Ipv4Addr,
    group: Ipv4Addr,
    cfg: &KeepalivedConfig,
    links: &[addr::Link],
) -> Node {
    let version = if vi.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    let interval_centis = u16::try_from(vi.advert_int.as_micros() / 10_000)
        .unwrap_or(u16::MAX)
        .max(1);
    let auth = match (&vi.auth, version) {
        (Some(Auth::Pass { password }), Version::V2) => AdvertAuth::pass(password),
        (Some(Auth::Ah { .. }), Version::V2) => AdvertAuth::Ah,
        _ => AdvertAuth::None,
    };
    let unicast = !vi.unicast_peers.is_empty();
    let fsm = Instance::new(fsm::Config {
        vrid: vi.vrid,
        priority: vi.priority,
        advert_centis: interval_centis,
        v3: version == Version::V3,
        initial_master: vi.state == InitialState::Master,
        nopreempt: vi.nopreempt,
        preempt_delay: vi.preempt_delay.as_micros(),
        down_timer_adverts: vi.down_timer_adverts,
        address: IpAddr::V4(source),
        lower_prio_no_advert: vi.lower_prio_no_advert || cfg.global.vrrp_lower_prio_no_advert,
        higher_prio_send_advert: vi.higher_prio_send_advert
            || cfg.global.vrrp_higher_prio_send_advert,
    });
    let vips = vi
        .vips
        .iter()
        .chain(vi.excluded_vips.iter())
        .filter_map(|v| {
            let idx = match &v.dev {
                Some(dev) => links.iter().find(|l| l.name == *dev)?.index,
                None => ifindex,
            };
            Some((idx, v.clone()))
        })
        .collect();
    Node {
        name: vi.name.clone(),
        fsm,
        socket,
        vips,
        peers: vi.unicast_peers.iter().filter_map(|p| v4(p.addr)).collect(),
        group,
        version,
        vrid: vi.vrid,
        interval_centis,
        auth,
        v3_as_v2: vi.v3_checksum_as_v2 || cfg.global.v3_checksum_as_v2,
        expect: Expect {
            version,
            vrid: vi.vrid,
            ipv6: false,
            interval_centis,
            auth,
            unicast,
            ttl_window: None,
        },
        notify: vi.notify.clone(),
        garp_repeat: vi.garp.master_repeat,
        garp_delay: vi.garp.master_delay.to_std(),
        garp_again: None,
        announcer: mac.and_then(|m| garp::Sender::open(ifindex, m, false).ok()),
        base_priority: vi.priority,
        trackers: trackers(vi, cfg),
        verdict: None,
    }
}

/// The instance's trackers: its own interface (unless `dont_track_primary`,
/// weight 0), `track_interface` entries and `track_script` entries (a
/// script's own weight applies unless the entry gives one).
fn trackers(vi: &VrrpInstance, cfg: &KeepalivedConfig) -> Vec<Tracker> {
    let mut out = Vec::new();
    if let (Some(ifname), false) = (&vi.interface, vi.dont_track_primary) {
        out.push(Tracker {
            object: Object::Interface(ifname.clone()),
            weight: 0,
            reverse: false,
        });
    }
    for t in &vi.track.interfaces {
        out.push(Tracker {
            object: Object::Interface(t.name.clone()),
            weight: t.weight,
            reverse: t.reverse,
        });
    }
    for t in &vi.track.scripts {
        let Some(i) = cfg.scripts.iter().position(|s| s.name == t.name) else {
            continue;
        };
        let script = &cfg.scripts[i];
        let (weight, reverse) = if t.weight == 0 && !t.reverse {
            (script.weight, script.reverse)
        } else {
            (t.weight, t.reverse)
        };
        out.push(Tracker {
            object: Object::Script(i),
            weight,
            reverse,
        });
    }
    out
}

/// Applies tracking to a node: FAULT, back from FAULT, or a new priority.
fn evaluate(
    n: &mut Node,
    io: &mut Io<'_>,
    at: fsm::Instant,
    links: &[addr::Link],
    runners: &[Option<Runner>],
) {
    let tracked: Vec<track::Tracked> = n
        .trackers
        .iter()
        .map(|t| {
            let status = match &t.object {
                Object::Interface(name) => match links.iter().find(|l| l.name == *name) {
                    Some(l) if l.is_up() => Status::Up,
                    _ => Status::Down,
                },
                Object::Script(i) => runners
                    .get(*i)
                    .and_then(Option::as_ref)
                    .map_or(Status::Unknown, Runner::status),
            };
            track::Tracked {
                weight: t.weight,
                reverse: t.reverse,
                status,
            }
        })
        .collect();
    let verdict = track::verdict(n.base_priority, &tracked);
    if n.verdict == Some(verdict) {
        return;
    }
    let before = n.verdict.replace(verdict);
    match verdict {
        track::Verdict::Fault => step(n, io, at, Input::Fault(true), false),
        track::Verdict::Priority(p) => {
            if before == Some(track::Verdict::Fault) {
                step(n, io, at, Input::Fault(false), false);
            }
            if p != n.fsm.priority() {
                step(n, io, at, Input::Priority(p), false);
            }
        }
    }
}

/// Carries out the state machine's actions for one node.
fn act(n: &mut Node, actions: Vec<Action>, init: bool, io: &mut Io<'_>) {
    let Io {
        sockets,
        rt,
        handle,
        log,
    } = io;
    for a in actions {
        match a {
            Action::SendAdvert { priority } => {
                let advert = Advert {
                    version: n.version,
                    vrid: n.vrid,
                    priority,
                    interval_centis: n.interval_centis,
                    addrs: n
                        .vips
                        .iter()
                        .map(|(_, v)| v.prefix.addr)
                        .filter(IpAddr::is_ipv4)
                        .collect(),
                    auth: n.auth,
                };
                let sock = &mut sockets[n.socket].1;
                let src = IpAddr::V4(sock.source());
                let targets: Vec<Ipv4Addr> = if n.peers.is_empty() {
                    vec![n.group]
                } else {
                    n.peers.clone()
                };
                let mut buf = [0u8; 1024];
                for dst in targets {
                    let ck = ChecksumContext {
                        src,
                        dst: IpAddr::V4(dst),
                        v3_as_v2: n.v3_as_v2,
                    };
                    let len = advert.emit(&mut buf, &ck);
                    if let Err(e) = sock.send(&buf[..len], dst, 255) {
                        log(&format!("({}) send advert to {dst} failed: {e}", n.name));
                    }
                }
                if priority == 0 {
                    log(&format!("({}) sent 0 priority", n.name));
                }
            }
            Action::AddVips => {
                for (ifindex, vip) in &n.vips {
                    if let Err(e) = rt.block_on(addr::add(handle, *ifindex, vip)) {
                        log(&format!("({}) cannot add {}: {e}", n.name, vip.prefix));
                    }
                }
            }
            Action::RemoveVips => {
                for (ifindex, vip) in &n.vips {
                    let _ = rt.block_on(addr::remove(handle, *ifindex, vip));
                }
            }
            Action::Garp => {
                announce(n);
                if !n.garp_delay.is_zero() {
                    n.garp_again = Some(StdInstant::now() + n.garp_delay);
                }
            }
            Action::Notify(state) => {
                let word = state_word(state);
                let suffix = if init && state == State::Backup {
                    " (init)"
                } else {
                    ""
                };
                log(&format!("({}) Entering {word} STATE{suffix}", n.name));
                notify(n, state);
            }
            Action::WakeAt(_) => {}
        }
    }
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop => "STOP",
    }
}

/// `garp_master_repeat` gratuitous ARPs per VIP.
fn announce(n: &Node) {
    let Some(sender) = &n.announcer else { return };
    for _ in 0..n.garp_repeat {
        for (_, vip) in &n.vips {
            let _ = sender.announce(vip.prefix.addr);
        }
    }
}

/// The specific script for the state, then the generic one with
/// `INSTANCE NAME STATE PRIO` appended; neither is waited for.
fn notify(n: &Node, state: State) {
    let specific = match state {
        State::Master => n.notify.master.as_ref(),
        State::Backup => n.notify.backup.as_ref(),
        State::Fault => n.notify.fault.as_ref(),
        State::Stop => n.notify.stop.as_ref(),
        State::Init => None,
    };
    if let Some(s) = specific {
        spawn(s, &[]);
    }
    if let Some(s) = &n.notify.any {
        let prio = n.fsm.priority().to_string();
        spawn(s, &["INSTANCE", &n.name, state_word(state), &prio]);
    }
}

fn spawn(script: &Script, extra: &[&str]) {
    let Some((program, args)) = script.argv.split_first() else {
        return;
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).args(extra);
    // Reap in a thread so the child never lingers as a zombie.
    if let Ok(mut child) = cmd.spawn() {
        std::thread::spawn(move || child.wait());
    }
}
