//! The VRRP daemon against the real keepalived 2.2.7 (needs root), on the
//! two-namespace harness of `vrrp_pair.rs`:
//! - VRRPv3 over IPv6 (ff02::12, link-local sources): keepalived's adverts
//!   validate and equal ours byte for byte; a mixed pair elects Pharos,
//!   fails over to keepalived on `kill -9`, and Pharos preempts back;
//! - notify scripts and the notify FIFO: the same lines from Pharos and
//!   keepalived for the same configuration and life (start, MASTER, stop),
//!   with a sync group;
//! - SIGHUP: a MASTER stays MASTER and gets the new VIP without notifying
//!   again, as keepalived does; a broken file keeps the running config;
//! - daemon mode without `-n`: detaches, writes the pid file, stops on
//!   SIGTERM and removes its VIP;
//! - `nopreempt` and a partition (nft drop) healing back to one master.

use pharos::vrrp::net::Ipv6Socket;
use pharos::vrrp::packet::{self, AdvertAuth, ChecksumContext, Expect, Version};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

#[path = "vrrp_pair.rs"]
mod pair;
use pair::*;

const VIP6: &str = "2001:db8::100";

fn v6_conf(priority: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP6}\n  }}\n}}\n"
    )
}

#[test]
fn ipv6_v3_adverts_match_and_mixed_pair_fails_over_needs_root() {
    let mut pair = Pair::new("p6");
    pair.start_keepalived(&v6_conf(100));
    // keepalived alone becomes MASTER; its advert is what we emit too.
    let got = pair.in_pharos_ns(|| {
        let group: Ipv6Addr = "ff02::12".parse().expect("group");
        let sock = Ipv6Socket::open("eth0", None, Some(group)).expect("raw IPv6 socket");
        let mut buf = [0u8; 1500];
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if let Ok(Some(r)) = sock.recv(&mut buf, Some(Duration::from_millis(200))) {
                return Some((r, buf[r.payload.0..r.payload.1].to_vec()));
            }
        }
        None
    });
    let (r, bytes) = got.expect("an IPv6 advert from keepalived within 8 s");
    assert_eq!(r.ttl, 255, "hop limit 255");
    assert_eq!(r.dst, "ff02::12".parse::<IpAddr>().expect("group"));
    assert!(matches!(r.src, IpAddr::V6(a) if a.is_unicast_link_local()));
    let ck = ChecksumContext {
        src: r.src,
        dst: r.dst,
        v3_as_v2: false,
    };
    let want = Expect {
        version: Version::V3,
        vrid: 61,
        ipv6: true,
        interval_centis: 100,
        auth: AdvertAuth::None,
        unicast: false,
        ttl_window: None,
    };
    let advert = packet::receive(&bytes, r.ttl, &ck, &want).expect("keepalived's advert validates");
    assert_eq!(advert.addrs, vec![VIP6.parse::<IpAddr>().expect("vip")]);
    let mut out = [0u8; 64];
    let n = advert.emit(&mut out, &ck);
    assert_eq!(
        &out[..n],
        &bytes[..],
        "same bytes, kernel checksum included"
    );
    assert!(
        pair.wait_for(Duration::from_secs(5), |p| p.has_addr(&p.ka, VIP6))
            .is_some(),
        "keepalived holds the IPv6 VIP"
    );
    // Pharos (150) preempts it.
    let mut ph = pair.start_pharos(&v6_conf(150));
    let took = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ph, VIP6) && !p.has_addr(&p.ka, VIP6)
    });
    assert!(
        took.is_some(),
        "Pharos (150) takes the IPv6 VIP from keepalived (100)"
    );
    // kill -9: keepalived is master again within 3 × 1 + 156/256 s (+ slack).
    std::thread::sleep(Duration::from_millis(1500));
    stop(&mut ph, nix::sys::signal::Signal::SIGKILL);
    let t = pair.wait_for(Duration::from_secs(6), |p| p.has_addr(&p.ka, VIP6));
    let t = t.expect("keepalived takes over the IPv6 VIP after kill -9");
    assert!(
        t >= Duration::from_millis(2400) && t <= Duration::from_millis(3800),
        "failover after {t:?}, expected 3.609 s after the last advert"
    );
}

/// A notify setup in `dir`: generic `notify` scripts append their arguments
/// to notify.log, specific ones a tag to tag.log, the FIFO reader copies
/// the FIFO to fifo.log.
fn notify_conf(dir: &std::path::Path, vrid: u8) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).expect("dir");
    let d = dir.display();
    let scripts = [
        (
            "notify.sh",
            format!("#!/bin/sh\necho \"$@\" >> {d}/notify.log\n"),
        ),
        ("tag.sh", format!("#!/bin/sh\necho \"$1\" >> {d}/tag.log\n")),
        (
            "fifo.sh",
            format!("#!/bin/sh\nexec cat \"$1\" >> {d}/fifo.log\n"),
        ),
    ];
    for (name, body) in scripts {
        let p = dir.join(name);
        std::fs::write(&p, body).expect("script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let b = vrid + 1;
    format!(
        "global_defs {{\n  notify_fifo {d}/fifo\n  notify_fifo_script {d}/fifo.sh\n}}\n\
         vrrp_sync_group VG1 {{\n  group {{\n    VI_A\n    VI_B\n  }}\n  notify {d}/notify.sh\n  notify_master \"{d}/tag.sh group-master\"\n  notify_backup \"{d}/tag.sh group-backup\"\n}}\n\
         vrrp_instance VI_A {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    198.51.100.{vrid}\n  }}\n  notify {d}/notify.sh\n  notify_master \"{d}/tag.sh a-master\"\n  notify_backup \"{d}/tag.sh a-backup\"\n  notify_stop \"{d}/tag.sh a-stop\"\n}}\n\
         vrrp_instance VI_B {{\n  interface eth0\n  virtual_router_id {b}\n  priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    198.51.100.{b}\n  }}\n  notify {d}/notify.sh\n}}\n"
    )
}

/// A log file's lines, sorted (scripts are started asynchronously, so their
/// order is not part of the behaviour).
fn sorted_lines(path: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn notify_scripts_and_fifo_lines_match_keepalived_needs_root() {
    let mut pair = Pair::new("pn");
    let ka_dir = pair.dir.join("ka");
    let ph_dir = pair.dir.join("ph");
    // Different VRIDs: the two never hear each other; both become MASTER.
    pair.start_keepalived(&notify_conf(&ka_dir, 71));
    let mut ph = pair.start_pharos(&notify_conf(&ph_dir, 81));
    let both_master = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ka, "198.51.100.72") && p.has_addr(&p.ph, "198.51.100.82")
    });
    assert!(both_master.is_some(), "both sync groups become MASTER");
    std::thread::sleep(Duration::from_millis(500));
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    if let Some(mut ka) = pair.keepalived.take() {
        stop(&mut ka, nix::sys::signal::Signal::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    for log in ["notify.log", "tag.log", "fifo.log"] {
        let theirs = sorted_lines(&ka_dir.join(log));
        let ours = sorted_lines(&ph_dir.join(log));
        assert!(!theirs.is_empty(), "keepalived wrote {log}");
        assert_eq!(ours, theirs, "{log}: Pharos vs keepalived");
    }
    // The FIFO has one writer: a group's first state comes before its members'.
    let first = |d: &std::path::Path| {
        std::fs::read_to_string(d.join("fifo.log"))
            .unwrap_or_default()
            .lines()
            .next()
            .map(str::to_string)
    };
    assert_eq!(first(&ph_dir), first(&ka_dir));
}

fn simple_conf(vrid: u8, priority: u8, vips: &[&str], extra: &str) -> String {
    let vips: String = vips.iter().map(|v| format!("    {v}\n")).collect();
    format!(
        "vrrp_instance VI_R {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n  advert_int 1\n{extra}  virtual_ipaddress {{\n{vips}  }}\n}}\n"
    )
}

fn signal_pid(pid: u32, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
    nix::sys::signal::kill(pid, sig).expect("signal a process we started");
}

#[test]
fn sighup_keeps_master_adds_vip_and_survives_a_bad_file_needs_root() {
    use nix::sys::signal::Signal;
    let mut pair = Pair::new("pr");
    let notify = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir).expect("dir");
        let s = dir.join("n.sh");
        std::fs::write(
            &s,
            format!("#!/bin/sh\necho \"$@\" >> {}/n.log\n", dir.display()),
        )
        .expect("script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        format!("  notify {}\n", s.display())
    };
    let (ka_dir, ph_dir) = (pair.dir.join("ka"), pair.dir.join("ph"));
    let (ka_n, ph_n) = (notify(&ka_dir), notify(&ph_dir));
    pair.start_keepalived(&simple_conf(91, 100, &["198.51.100.91"], &ka_n));
    let mut ph = pair.start_pharos(&simple_conf(92, 100, &["198.51.100.92"], &ph_n));
    let masters = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ka, "198.51.100.91") && p.has_addr(&p.ph, "198.51.100.92")
    });
    assert!(masters.is_some(), "both MASTER");
    // Same change to both files, then SIGHUP to both.
    let ka_conf = simple_conf(91, 100, &["198.51.100.91", "198.51.100.191"], &ka_n);
    let ph_conf = simple_conf(92, 100, &["198.51.100.92", "198.51.100.192"], &ph_n);
    std::fs::write(pair.dir.join("keepalived.conf"), ka_conf).expect("rewrite");
    std::fs::write(pair.dir.join("p.conf"), ph_conf).expect("rewrite");
    let ka_pid = pair.keepalived.as_ref().expect("keepalived").id();
    signal_pid(ka_pid, Signal::SIGHUP);
    signal_pid(ph.id(), Signal::SIGHUP);
    let added = pair.wait_for(Duration::from_secs(3), |p| {
        p.has_addr(&p.ka, "198.51.100.191") && p.has_addr(&p.ph, "198.51.100.192")
    });
    assert!(added.is_some(), "the new VIP is added on reload by both");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(pair.has_addr(&pair.ph, "198.51.100.92"), "old VIP kept");
    let read = |d: &std::path::Path| std::fs::read_to_string(d.join("n.log")).unwrap_or_default();
    assert_eq!(
        read(&ka_dir),
        "INSTANCE VI_R BACKUP 100\nINSTANCE VI_R MASTER 100\n"
    );
    assert_eq!(read(&ph_dir), read(&ka_dir), "no notification on reload");
    // A file that cannot be read keeps the running configuration.
    std::fs::remove_file(pair.dir.join("p.conf")).expect("remove config");
    signal_pid(ph.id(), Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        pair.has_addr(&pair.ph, "198.51.100.92") && pair.has_addr(&pair.ph, "198.51.100.192"),
        "still MASTER with both VIPs after a failed reload"
    );
    assert!(ph.try_wait().expect("wait").is_none(), "still running");
    let log = std::fs::read_to_string(pair.dir.join("p.log")).unwrap_or_default();
    assert!(log.contains("keeping the running configuration"), "{log}");
    stop(&mut ph, Signal::SIGTERM);
    assert!(
        !pair.has_addr(&pair.ph, "198.51.100.192"),
        "VIPs removed on stop"
    );
}

#[test]
fn daemon_mode_detaches_writes_pid_and_stops_on_sigterm_needs_root() {
    let pair = Pair::new("pd");
    let conf = pair.dir.join("d.conf");
    std::fs::write(&conf, simple_conf(93, 100, &["198.51.100.93"], "")).expect("conf");
    let pid_file = pair.dir.join("d.pid");
    let vrrp_pid = pair.dir.join("dv.pid");
    let t0 = Instant::now();
    let status = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.ph,
            env!("CARGO_BIN_EXE_pharos"),
            "keepalived",
            "-f",
        ])
        .arg(&conf)
        .arg("-p")
        .arg(&pid_file)
        .arg("-r")
        .arg(&vrrp_pid)
        .status()
        .expect("run pharos keepalived");
    assert!(status.success(), "the launcher exits 0");
    assert!(t0.elapsed() < Duration::from_secs(2), "and returns at once");
    let read_pid = || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    let t = Instant::now();
    while read_pid().is_none() && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = read_pid().expect("pid file written by the daemon");
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        cmdline.contains("pharos"),
        "the pid file names our daemon: {cmdline:?}"
    );
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p
            .has_addr(&p.ph, "198.51.100.93"))
            .is_some(),
        "the detached daemon becomes MASTER"
    );
    signal_pid(pid, nix::sys::signal::Signal::SIGTERM);
    let t = Instant::now();
    while alive() && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(), "stopped on SIGTERM");
    assert!(!pair.has_addr(&pair.ph, "198.51.100.93"), "VIP removed");
    assert!(
        !pid_file.exists() && !vrrp_pid.exists(),
        "pid files removed"
    );
}

#[test]
fn nopreempt_stays_backup_until_the_master_leaves_needs_root() {
    let mut pair = Pair::new("pp");
    pair.start_keepalived(&simple_conf(94, 100, &[VIP], ""));
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_addr(&p.ka, VIP))
            .is_some()
    );
    let mut ph = pair.start_pharos(&simple_conf(94, 150, &[VIP], "  nopreempt\n"));
    std::thread::sleep(Duration::from_secs(6));
    assert!(pair.has_addr(&pair.ka, VIP), "keepalived stays MASTER");
    assert!(
        !pair.has_addr(&pair.ph, VIP),
        "Pharos (150, nopreempt) stays BACKUP"
    );
    if let Some(mut ka) = pair.keepalived.take() {
        stop(&mut ka, nix::sys::signal::Signal::SIGTERM);
    }
    let t = pair.wait_for(Duration::from_secs(3), |p| p.has_addr(&p.ph, VIP));
    assert!(t.is_some(), "Pharos takes over when keepalived leaves");
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
}

/// Drops (or stops dropping) VRRP arriving in namespace `ns`.
fn partition(ns: &str, on: bool) {
    let script = if on {
        "add table inet pharos_test\nadd chain inet pharos_test input { type filter hook input priority 0 ; }\nadd rule inet pharos_test input meta l4proto 112 drop\n"
    } else {
        "delete table inet pharos_test\n"
    };
    let path = std::env::temp_dir().join(format!("pharos-nft-{ns}"));
    std::fs::write(&path, script).expect("nft script");
    let ok = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f"])
        .arg(&path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let _ = std::fs::remove_file(&path);
    assert!(ok, "nft in {ns}");
}

#[test]
fn split_brain_heals_after_a_partition_needs_root() {
    let mut pair = Pair::new("ps");
    pair.start_keepalived(&simple_conf(95, 150, &[VIP], ""));
    assert!(
        pair.wait_for(Duration::from_secs(8), |p| p.has_addr(&p.ka, VIP))
            .is_some()
    );
    let mut ph = pair.start_pharos(&simple_conf(95, 100, &[VIP], ""));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!pair.has_addr(&pair.ph, VIP), "Pharos (100) BACKUP");
    // Pharos stops hearing keepalived: both become MASTER.
    partition(&pair.ph, true);
    let split = pair.wait_for(Duration::from_secs(6), |p| p.has_addr(&p.ph, VIP));
    assert!(
        split.is_some(),
        "the cut-off Pharos takes the VIP (split brain)"
    );
    assert!(
        pair.has_addr(&pair.ka, VIP),
        "keepalived still holds it too"
    );
    // Healed: Pharos hears priority 150 and steps back.
    partition(&pair.ph, false);
    let healed = pair.wait_for(Duration::from_secs(3), |p| !p.has_addr(&p.ph, VIP));
    assert!(
        healed.is_some(),
        "Pharos releases the VIP once it hears the master"
    );
    assert!(
        pair.has_addr(&pair.ka, VIP),
        "one master remains: keepalived"
    );
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn dash_s_runs_in_the_named_namespace_needs_root() {
    let pair = Pair::new("pz");
    let conf = pair.dir.join("z.conf");
    std::fs::write(&conf, simple_conf(96, 100, &["198.51.100.96"], "")).expect("conf");
    // Started in the host namespace: `-s` moves it into the Pharos one.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pharos"))
        .args(["keepalived", "-n", "-s", &pair.ph, "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(pair.dir.join("z.pid"))
        .arg("-r")
        .arg(pair.dir.join("zv.pid"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn pharos");
    let took = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ph, "198.51.100.96")
    });
    stop(&mut child, nix::sys::signal::Signal::SIGTERM);
    assert!(took.is_some(), "MASTER inside the namespace given by -s");
}

fn ruleset(ns: &str) -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "nft", "list", "ruleset"])
        .output()
        .expect("nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn vrrp_strict_no_accept_ruleset_matches_keepalived_needs_root() {
    let mut pair = Pair::new("pf");
    let conf = |vrid: u8| {
        format!(
            "global_defs {{\n  vrrp_strict\n}}\n{}",
            simple_conf(vrid, 100, &["198.51.100.100", "198.51.100.101/24"], "")
        )
    };
    // Different VRIDs: both become MASTER of the same addresses, each in
    // its own namespace.
    pair.start_keepalived(&conf(97));
    let mut ph = pair.start_pharos(&conf(98));
    let masters = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ka, "198.51.100.101") && p.has_addr(&p.ph, "198.51.100.101")
    });
    assert!(masters.is_some(), "both MASTER");
    std::thread::sleep(Duration::from_millis(300));
    let theirs = ruleset(&pair.ka);
    assert!(theirs.contains("ip daddr @vips drop"), "{theirs}");
    assert_eq!(ruleset(&pair.ph), theirs, "no_accept ruleset");
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(ruleset(&pair.ph), "", "table removed on stop");
}

/// keepalived 2.2.7 cannot track processes inside a network namespace (its
/// proc connector socket is refused there: "Failed to set/clear process
/// event listen - errno 111"), and running it in the host namespace would
/// put VRRP on the host's links, so this one checks Pharos alone against
/// keepalived's documented behaviour: FAULT from the start (no BACKUP
/// (init)) while the quorum is not met, MASTER once the process runs,
/// FAULT again when it ends.
#[test]
fn track_process_faults_at_start_and_recovers_needs_root() {
    use std::os::unix::fs::PermissionsExt;
    let pair = Pair::new("pq");
    // A uniquely named copy of sleep(1) is the tracked process.
    let name = format!("phtp{}", std::process::id() % 100_000);
    let exe = pair.dir.join(&name);
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let conf = format!(
        "vrrp_track_process TP {{\n  process {name}\n}}\n{}",
        simple_conf(
            102,
            100,
            &["198.51.100.202"],
            "  track_process {\n    TP\n  }\n"
        )
    );
    let mut ph = pair.start_pharos(&conf);
    let held = |p: &Pair| p.has_addr(&p.ph, "198.51.100.202");
    assert!(
        pair.wait_for(Duration::from_secs(5), held).is_none(),
        "no process: FAULT"
    );
    let mut tracked = std::process::Command::new(&exe)
        .arg("30")
        .spawn()
        .expect("start tracked process");
    let up = pair.wait_for(Duration::from_secs(8), held);
    let _ = tracked.kill();
    let _ = tracked.wait();
    assert!(up.is_some(), "the process runs: MASTER");
    let gone = pair.wait_for(Duration::from_secs(4), |p| !held(p));
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    assert!(gone.is_some(), "the process ends: FAULT, VIP released");
    let log = std::fs::read_to_string(pair.dir.join("p.log")).unwrap_or_default();
    let states: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("(VI_R) ").nth(1))
        .collect();
    assert_eq!(
        states,
        [
            "Entering FAULT STATE",
            "Entering BACKUP STATE",
            "Entering MASTER STATE",
            "sent 0 priority",
            "Entering FAULT STATE",
            "Entering STOP STATE"
        ],
        "{log}"
    );
}

/// Sends `sig` to `pid` and returns `$TMPDIR/name` once written.
fn dump_file(pid: u32, sig: i32, name: &str) -> String {
    let path = std::path::Path::new("/tmp").join(name);
    let _ = std::fs::remove_file(&path);
    // kill(1): nix's Signal has no real-time signals.
    let ok = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        if let Ok(text) = std::fs::read_to_string(&path)
            && !text.is_empty()
        {
            std::thread::sleep(Duration::from_millis(100));
            return std::fs::read_to_string(&path).unwrap_or(text);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} not written after signal {sig}");
}

#[test]
fn sigusr1_and_json_dumps_match_keepalived_needs_root() {
    use nix::sys::signal::Signal;
    let mut pair = Pair::new("pj");
    let conf = |vrid: u8| simple_conf(vrid, 100, &["198.51.100.100", "198.51.100.101/24"], "");
    pair.start_keepalived(&conf(103));
    let mut ph = pair.start_pharos(&conf(104));
    let masters = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_addr(&p.ka, "198.51.100.101") && p.has_addr(&p.ph, "198.51.100.101")
    });
    assert!(masters.is_some(), "both MASTER");
    let ka_pid = pair.keepalived.as_ref().expect("keepalived").id();
    let json36 = libc::SIGRTMIN() + 2;
    let usr1 = Signal::SIGUSR1 as i32;
    // One at a time: both write the same /tmp files.
    let theirs_json = dump_file(ka_pid, json36, "keepalived.json");
    let ours_json = dump_file(ph.id(), json36, "keepalived.json");
    let theirs_data = dump_file(ka_pid, usr1, "keepalived.data");
    let ours_data = dump_file(ph.id(), usr1, "keepalived.data");
    stop(&mut ph, Signal::SIGTERM);
    let parse = |t: &str| -> serde_json::Value { serde_json::from_str(t).expect("valid JSON") };
    let (theirs, ours) = (parse(&theirs_json), parse(&ours_json));
    let data = |v: &serde_json::Value| v[0]["data"].clone();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(&data(&ours)), keys(&data(&theirs)), "same data keys");
    for k in [
        "iname",
        "state",
        "wantstate",
        "base_priority",
        "effective_priority",
        "vips",
        "vipset",
        "adver_int",
        "master_adver_int",
        "accept",
        "garp_delay",
        "garp_rep",
        "garp_lower_prio_delay",
        "garp_lower_prio_rep",
        "ifp_ifname",
    ] {
        assert_eq!(data(&ours)[k], data(&theirs)[k], "json data.{k}");
    }
    assert_eq!(
        keys(&ours[0]["stats"]),
        keys(&theirs[0]["stats"]),
        "same stats keys"
    );
    // .data: the instance lines that do not depend on time or VRID.
    let stable = |t: &str| -> Vec<String> {
        t.lines()
            .skip_while(|l| !l.contains("< VRRP Topology >"))
            .enumerate()
            .take_while(|(i, l)| *i == 0 || !l.starts_with("------<"))
            .map(|(_, l)| l)
            .filter(|l| {
                ![
                    "time",
                    "Time",
                    "VRID",
                    "fd",
                    "timer",
                    "Last",
                    "Virtual Router ID",
                    "Master router",
                    "src_ip",
                ]
                .iter()
                .any(|w| l.contains(w))
            })
            .map(str::to_string)
            .collect()
    };
    let (t, o) = (stable(&theirs_data), stable(&ours_data));
    assert!(t.len() > 10, "keepalived's topology section: {theirs_data}");
    assert_eq!(o, t, ".data VRRP topology");
}

#[test]
fn tracked_link_down_hands_over_within_the_skew_needs_root() {
    let mut pair = Pair::new("pl");
    ip(&[
        "-n", &pair.ph, "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p",
    ]);
    ip(&["-n", &pair.ph, "link", "set", "eth9", "up"]);
    ip(&["-n", &pair.ph, "link", "set", "eth9p", "up"]);
    pair.start_keepalived(&simple_conf(51, 100, &[VIP], ""));
    let track = "  track_interface {\n    eth9\n  }\n";
    let mut ph = pair.start_pharos(&simple_conf(51, 150, &[VIP], track));
    let took = pair.wait_for(Duration::from_secs(8), |p| {
        p.has_vip(&p.ph) && !p.has_vip(&p.ka)
    });
    assert!(took.is_some(), "Pharos (150) MASTER");
    // Twice: the tracked link goes down, FAULT at once (netlink
    // notification, not the one-second beat), priority 0, keepalived takes
    // over after its skew (0.609 s); the link comes back and Pharos (150)
    // preempts again.
    let mut handovers = Vec::new();
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(1500));
        let t0 = Instant::now();
        ip(&["-n", &pair.ph, "link", "set", "eth9", "down"]);
        let moved = pair.wait_for(Duration::from_secs(3), |p| p.has_vip(&p.ka));
        handovers.push(moved.map(|_| t0.elapsed()));
        ip(&["-n", &pair.ph, "link", "set", "eth9", "up"]);
        let back = pair.wait_for(Duration::from_secs(8), |p| {
            p.has_vip(&p.ph) && !p.has_vip(&p.ka)
        });
        assert!(back.is_some(), "Pharos preempts again once eth9 is up");
    }
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    for h in handovers {
        let h = h.expect("keepalived takes over");
        assert!(
            h < Duration::from_millis(720),
            "hand-over {h:?}: link down seen at once, then skew 0.609 s"
        );
    }
}

#[test]
fn track_file_weight_and_dash_v_keep_vips_needs_root() {
    let pair = Pair::new("pt");
    let file = pair.dir.join("weight");
    std::fs::write(&file, "0\n").expect("track file");
    // weight 0 (keepalived's default for the entry is the file's, here 0):
    // a non-zero number is a FAULT.
    let conf = format!(
        "track_file TF {{\n  file {}\n  weight 0\n}}\n{}",
        file.display(),
        simple_conf(
            105,
            100,
            &["198.51.100.205"],
            "  track_file {\n    TF\n  }\n"
        )
    );
    let mut ph = pair.start_pharos(&conf);
    let held = |p: &Pair| p.has_addr(&p.ph, "198.51.100.205");
    assert!(
        pair.wait_for(Duration::from_secs(8), held).is_some(),
        "MASTER while the file says 0"
    );
    std::fs::write(&file, "3\n").expect("track file");
    assert!(
        pair.wait_for(Duration::from_secs(3), |p| !held(p))
            .is_some(),
        "a non-zero value with weight 0 is a FAULT"
    );
    std::fs::write(&file, "0\n").expect("track file");
    assert!(
        pair.wait_for(Duration::from_secs(8), held).is_some(),
        "back to MASTER"
    );
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    assert!(!held(&pair), "VIP removed on stop");
    // -V (--dont-release-vrrp): the VIP stays after the stop.
    let conf = simple_conf(106, 100, &["198.51.100.206"], "");
    let mut v = pair.start_pharos_with(&pair.ph, "v", &conf, &["-V"]);
    let kept = |p: &Pair| p.has_addr(&p.ph, "198.51.100.206");
    assert!(
        pair.wait_for(Duration::from_secs(8), kept).is_some(),
        "MASTER"
    );
    stop(&mut v, nix::sys::signal::Signal::SIGTERM);
    assert!(kept(&pair), "-V keeps the VIP after stopping");
}

#[test]
fn gratuitous_arps_on_becoming_master_and_again_after_5s_needs_root() {
    let pair = Pair::new("pg");
    // tcpdump in the other namespace counts the GARPs for the VIP.
    let dump = pair.dir.join("arp.txt");
    let mut tcpdump = std::process::Command::new("ip")
        .args([
            "netns", "exec", &pair.ka, "tcpdump", "-l", "-n", "-i", "eth0", "arp",
        ])
        .stdout(
            std::fs::File::create(&dump)
                .map(std::process::Stdio::from)
                .expect("dump"),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_millis(500));
    let mut ph = pair.start_pharos(&simple_conf(107, 100, &[VIP], ""));
    let t = pair.wait_for(Duration::from_secs(8), |p| p.has_vip(&p.ph));
    assert!(t.is_some(), "MASTER");
    let count = || {
        std::fs::read_to_string(&dump)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.contains(&format!(
                    "Request who-has {VIP} (ff:ff:ff:ff:ff:ff) tell {VIP}"
                ))
            })
            .count()
    };
    std::thread::sleep(Duration::from_millis(1000));
    let first = count();
    std::thread::sleep(Duration::from_millis(5000));
    let both = count();
    stop(&mut ph, nix::sys::signal::Signal::SIGTERM);
    stop(&mut tcpdump, nix::sys::signal::Signal::SIGTERM);
    // garp_master_repeat 5 at once, garp_master_delay 5 s later 5 more.
    assert_eq!((first, both), (5, 10), "GARPs seen: {first} then {both}");
}
