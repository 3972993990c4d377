//! `virtual_routes`, `virtual_rules` and `use_vmac` against keepalived 2.2.7
//! (needs root): the same configuration is run by the real keepalived in one
//! network namespace and applied through `pharos::vrrp::{route, vmac}` in a
//! twin namespace (same interfaces, same ifindexes, same MACs), and the
//! kernel state is compared as `ip` prints it: routes of every table, rules,
//! links with details, addresses, and the interface sysctls keepalived
//! touches. Removal must leave the Pharos namespace as it was. A second test
//! compares the messages of refused and odd lines with `keepalived -t`.
//!
//! Namespaces are named `hrt-*-<pid>` and deleted by guards, also on failure.
//! Only 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 are used, inside them.

#[path = "vrrp_pair.rs"]
mod pair;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pair::{Pair, ip, sysctl};
use pharos::model::keepalived::VrrpInstance;
use pharos::vrrp::route::{self, LineContext, RouteError, RtNames, RulePriorities};
use pharos::vrrp::vmac::{self, Vmacs};
use pharos::vrrp::{addr, route::Outcome};

// ---------------------------------------------------------------- harness

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A namespace of this test; deleted on drop (its veths go with it).
struct Ns(String);

impl Ns {
    /// `hrt-<tag>-<pid>` with eth0/eth0p and eth1/eth1p (fixed MACs),
    /// 198.51.100.1/24 + 2001:db8:1::1/64 on eth0, 203.0.113.1/24 +
    /// 2001:db8:2::1/64 on eth1, no DAD, and `all.rp_filter=1` so the VMAC
    /// rp_filter handling has work to do.
    fn new(tag: &str) -> Ns {
        let name = format!("hrt-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Ns(name);
        let n = ns.0.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"]);
        sysctl(n, "net.ipv6.conf.default.accept_dad", "0");
        sysctl(n, "net.ipv6.conf.all.accept_dad", "0");
        for (i, v4) in [(0, "198.51.100.1/24"), (1, "203.0.113.1/24")] {
            let (dev, peer) = (format!("eth{i}"), format!("eth{i}p"));
            let (mac, pmac) = (
                format!("02:00:00:00:0{i}:01"),
                format!("02:00:00:00:0{i}:02"),
            );
            ip(&[
                "-n", n, "link", "add", &dev, "address", &mac, "type", "veth", "peer", "name",
                &peer, "address", &pmac,
            ]);
            ip(&["-n", n, "addr", "add", v4, "dev", &dev]);
            let v6 = format!("2001:db8:{}::1/64", i + 1);
            ip(&["-n", n, "-6", "addr", "add", &v6, "dev", &dev, "nodad"]);
            ip(&["-n", n, "link", "set", &dev, "up"]);
            ip(&["-n", n, "link", "set", &peer, "up"]);
        }
        sysctl(n, "net.ipv4.conf.all.rp_filter", "1");
        let t0 = Instant::now();
        while run(n, &["ip", "-6", "addr", "show", "dev", "eth1p"])
            .matches("fe80::")
            .count()
            < 1
            && t0.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        ns
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Runs a command inside namespace `ns`; its stdout.
fn run(ns: &str, cmd: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .output()
        .expect("ip netns exec runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The sysctls keepalived's VMAC code reads or writes, for every interface.
fn sysctls(ns: &str) -> String {
    const KEYS: [&str; 8] = [
        "arp_ignore",
        "arp_filter",
        "accept_local",
        "rp_filter",
        "promote_secondaries",
        "disable_ipv6",
        "addr_gen_mode",
        "accept_dad",
    ];
    run(ns, &["sysctl", "-a"])
        .lines()
        .filter(|l| {
            (l.starts_with("net.ipv4.conf.") || l.starts_with("net.ipv6.conf."))
                && KEYS.iter().any(|k| l.contains(&format!(".{k} =")))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What `ip` shows of the namespace, section by section.
fn snapshot(ns: &str) -> BTreeMap<&'static str, String> {
    let mut s = BTreeMap::new();
    s.insert(
        "route4",
        run(ns, &["ip", "-4", "route", "show", "table", "all"]),
    );
    s.insert(
        "route6",
        run(ns, &["ip", "-6", "route", "show", "table", "all"]),
    );
    s.insert("rule4", run(ns, &["ip", "-4", "rule", "show"]));
    s.insert("rule6", run(ns, &["ip", "-6", "rule", "show"]));
    s.insert("link", run(ns, &["ip", "-d", "link", "show"]));
    s.insert("addr", run(ns, &["ip", "addr", "show"]));
    s.insert("sysctl", sysctls(ns));
    s
}

/// The lines of `b` that differ from `a`, per section (empty = equal).
fn diff(a: &BTreeMap<&str, String>, b: &BTreeMap<&str, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, va) in a {
        let vb = &b[k];
        let la: Vec<&str> = va.lines().collect();
        let lb: Vec<&str> = vb.lines().collect();
        for l in &la {
            if !lb.contains(l) {
                out.push(format!("{k} - {l}"));
            }
        }
        for l in &lb {
            if !la.contains(l) {
                out.push(format!("{k} + {l}"));
            }
        }
    }
    out
}

/// keepalived 2.2.7, VRRP only, logging to a file; stopped on drop.
struct Keepalived {
    child: Child,
    dir: std::path::PathBuf,
}

impl Keepalived {
    fn start(ns: &str, conf: &str) -> Keepalived {
        let dir = std::env::temp_dir().join(format!("pharos-{ns}"));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let log = std::fs::File::create(dir.join("log")).expect("log file");
        let child = pair::spawn_keepalived(ns, &dir, conf, Stdio::from(log));
        Keepalived { child, dir }
    }

    /// SIGTERM (keepalived removes what it added), bounded wait.
    fn stop(&mut self) {
        pair::stop(&mut self.child, nix::sys::signal::Signal::SIGTERM);
    }

    /// The configuration messages it logged (`(file: Line N) msg` → `msg`).
    fn config_messages(&self) -> Vec<String> {
        config_messages(&std::fs::read_to_string(self.dir.join("log")).unwrap_or_default())
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `(file: Line N) message` lines → (N, message).
fn numbered_messages(log: &str) -> Vec<(usize, String)> {
    log.lines()
        .filter_map(|l| {
            let at = l.find(": Line ")?;
            let rest = &l[at + 7..];
            let close = rest.find(") ")?;
            Some((rest[..close].parse().ok()?, rest[close + 2..].to_string()))
        })
        .collect()
}

fn config_messages(log: &str) -> Vec<String> {
    numbered_messages(log).into_iter().map(|(_, m)| m).collect()
}

/// Polls `ns` until `done` holds and two snapshots 300 ms apart agree.
fn settled(
    ns: &str,
    done: impl Fn(&BTreeMap<&str, String>) -> bool,
) -> BTreeMap<&'static str, String> {
    let t0 = Instant::now();
    let mut last = snapshot(ns);
    while t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(300));
        let now = snapshot(ns);
        if done(&now) && now == last {
            return now;
        }
        last = now;
    }
    last
}

// ---------------------------------------------------------------- Pharos side

/// One instance's parsed lines.
struct Plan {
    vmac: vmac::VmacSpec,
    base: String,
    vips: Vec<pharos::model::keepalived::VirtualAddress>,
    routes: Vec<route::Route>,
    rules: Vec<route::Rule>,
}

/// Parses what keepalived would; the messages in configuration order.
fn plan(instances: &[VrrpInstance]) -> (Vec<Plan>, Vec<String>) {
    let names = RtNames::default();
    let ctx = LineContext::new(&names);
    let mut auto = RulePriorities::default();
    let mut notes = Vec::new();
    let mut plans = Vec::new();
    for vi in instances {
        let args = vi.use_vmac.clone().unwrap_or_default();
        let spec = vmac::parse_use_vmac(&args, "vrrp", vi.vrid, vi.ipv6);
        notes.extend(spec.notes);
        let mut p = Plan {
            vmac: spec.value.expect("use_vmac always gives a spec"),
            base: vi
                .interface
                .clone()
                .expect("instances name their interface"),
            vips: vi.vips.clone(),
            routes: Vec::new(),
            rules: Vec::new(),
        };
        for line in &vi.virtual_routes {
            let r = route::parse_route(&line.words, &ctx);
            notes.extend(r.notes);
            p.routes.extend(r.value);
        }
        for line in &vi.virtual_rules {
            let r = route::parse_rule(&line.words, &ctx, &mut auto);
            notes.extend(r.notes);
            p.rules.extend(r.value);
        }
        plans.push(p);
    }
    (plans, notes)
}

/// What the Pharos side saw: per route/rule whether the kernel took it.
#[derive(Debug, Default)]
struct Applied {
    refused_routes: Vec<String>,
    notices: Vec<String>,
}

/// In namespace `ns`: creates the VMACs, adds VIPs, routes and rules (as
/// keepalived does on MASTER), reports, waits for `go`, then removes all
/// in keepalived's order (rules, routes, VIPs, VMACs, rp_filter).
fn pharos_side(
    ns: &str,
    plans: Vec<Plan>,
    installed: mpsc::Sender<Applied>,
    go: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<Result<(), String>> {
    Pair::in_ns(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let h = addr::connect().map_err(|e| e.to_string())?;
            let mut vmacs = Vmacs::default();
            let mut applied = Applied::default();
            let mut indexes = Vec::new();
            for p in &plans {
                let c = vmacs
                    .create(&h, &p.vmac, &p.base, None)
                    .await
                    .map_err(|e| e.to_string())?;
                applied.notices.extend(c.notices);
                indexes.push(c.index);
            }
            // A VMAC left by an earlier run is taken over, not recreated.
            let again = vmacs.create(&h, &plans[0].vmac, &plans[0].base, None).await;
            match again {
                Ok(c) if !c.new && c.index == indexes[0] => {}
                other => return Err(format!("second create: {other:?}")),
            }
            for (p, index) in plans.iter().zip(&indexes) {
                for v in &p.vips {
                    addr::add(&h, *index, v).await.map_err(|e| e.to_string())?;
                }
                for r in &p.routes {
                    match route::add_route(&h, r).await {
                        Ok(Outcome::Changed) => {}
                        Ok(Outcome::Unchanged) => {
                            return Err(format!("{} was already there", r.dst));
                        }
                        Err(RouteError::Kernel { source, .. }) => {
                            applied.refused_routes.push(format!("{} {source}", r.dst));
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
                for r in &p.rules {
                    route::add_rule(&h, r).await.map_err(|e| e.to_string())?;
                }
            }
            let _ = installed.send(applied);
            go.recv_timeout(Duration::from_secs(60))
                .map_err(|e| e.to_string())?;
            for (p, index) in plans.iter().zip(&indexes) {
                for r in &p.rules {
                    route::remove_rule(&h, r).await.map_err(|e| e.to_string())?;
                }
                for r in &p.routes {
                    // The refused ones are not there: Unchanged.
                    route::remove_route(&h, r)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                for v in &p.vips {
                    addr::remove(&h, *index, v)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            for p in &plans {
                vmacs
                    .delete(&h, &p.vmac, &p.base)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            vmacs
                .restore_rp_filter(&h)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    })
}

// ---------------------------------------------------------------- tests

/// The configuration both sides run (see the comment at its top).
fn conf() -> String {
    std::fs::read_to_string(fixture("two-vmacs.conf")).expect("fixture")
}

/// `fixtures/keepalived/routes/NAME`.
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keepalived/routes")
        .join(name)
}

/// The non-comment lines of a fixture.
fn fixture_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(name))
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn routes_rules_and_vmacs_equal_keepalived() {
    if !is_root() {
        eprintln!("skipped: needs root and network namespaces");
        return;
    }
    let ka = Ns::new("ka");
    let ph = Ns::new("ph");
    let before_ka = snapshot(&ka.0);
    let before_ph = snapshot(&ph.0);
    assert_eq!(
        diff(&before_ka, &before_ph),
        Vec::<String>::new(),
        "the twins differ"
    );

    let mut k = Keepalived::start(&ka.0, &conf());
    let during_ka = settled(&ka.0, |s| {
        s["rule4"].contains("16384:")
            && s["rule6"].contains("16384:")
            && s["route4"].contains("10.15.0.0/16")
    });
    assert!(
        during_ka["route4"].contains("10.15.0.0/16"),
        "keepalived never became MASTER"
    );

    let outcome = pharos::conf::keepalived::read_str(&conf(), &Default::default());
    let (plans, notes) = plan(&outcome.config.instances);
    assert_eq!(notes, k.config_messages(), "configuration messages");

    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let side = pharos_side(&ph.0, plans, tx, go_rx);
    let applied = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(a) => a,
        Err(_) => panic!("Pharos side failed: {:?}", side.join()),
    };
    let during_ph = snapshot(&ph.0);
    let d = diff(&during_ka, &during_ph);
    assert!(
        d.is_empty(),
        "keepalived (-) vs Pharos (+) while MASTER:\n{}",
        d.join("\n")
    );
    // The kernel refused the same route for both.
    let log = std::fs::read_to_string(k.dir.join("log")).unwrap_or_default();
    assert_eq!(
        applied.refused_routes,
        vec!["10.6.0.0/16 Invalid argument (os error 22)"]
    );
    assert_eq!(
        log.matches("Netlink: error: Invalid argument(22), type=RTM_NEWROUTE")
            .count(),
        1
    );
    // keepalived logged the same rp_filter notices.
    for n in &applied.notices {
        assert!(log.contains(n.as_str()), "keepalived did not log {n:?}");
    }
    assert_eq!(applied.notices.len(), 2, "{:?}", applied.notices);

    k.stop();
    let after_ka = snapshot(&ka.0);
    let _ = go_tx.send(());
    let done = side.join().expect("Pharos thread");
    assert_eq!(done, Ok(()));
    let after_ph = snapshot(&ph.0);
    let d = diff(&before_ph, &after_ph);
    assert!(
        d.is_empty(),
        "Pharos left (+) / took (-):\n{}",
        d.join("\n")
    );
    // keepalived 2.2.7 writes arp_ignore/arp_filter 1 back on the base
    // interface instead of the saved values; nothing else is left behind.
    let dk = diff(&before_ka, &after_ka);
    assert!(
        dk.iter()
            .all(|l| l.contains("eth0.arp_ignore") || l.contains("eth0.arp_filter")),
        "keepalived left:\n{}",
        dk.join("\n")
    );
}

#[test]
fn line_messages_equal_keepalived_t() {
    if !is_root() {
        eprintln!("skipped: needs root and network namespaces");
        return;
    }
    let ns = Ns::new("kt");
    let mut conf = String::from(
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    198.51.100.100/24\n  }\n  virtual_routes {\n",
    );
    // Configuration line number → our messages for it.
    let mut ours: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let names = RtNames::default();
    let exists = |n: &str| ["lo", "eth0", "eth0p", "eth1", "eth1p"].contains(&n);
    let ctx = LineContext {
        names: &names,
        is_static: false,
        interface_exists: &exists,
    };
    let words = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    for l in fixture_lines("route-lines.txt") {
        conf.push_str(&format!("    {l}\n"));
        let n = conf.lines().count();
        ours.insert(n, route::parse_route(&words(&l), &ctx).notes);
    }
    conf.push_str("  }\n  virtual_rules {\n");
    let mut auto = RulePriorities::default();
    for l in fixture_lines("rule-lines.txt") {
        conf.push_str(&format!("    {l}\n"));
        let n = conf.lines().count();
        ours.insert(n, route::parse_rule(&words(&l), &ctx, &mut auto).notes);
    }
    conf.push_str("  }\n}\n");
    let path = std::env::temp_dir().join(format!("pharos-hrt-kt-{}.conf", std::process::id()));
    std::fs::write(&path, &conf).expect("write config");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "keepalived", "-t", "-l", "-D", "-f"])
        .arg(&path)
        .output()
        .expect("keepalived -t runs");
    let _ = std::fs::remove_file(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut theirs: BTreeMap<usize, Vec<String>> = ours.keys().map(|n| (*n, Vec::new())).collect();
    for (n, m) in numbered_messages(&text) {
        theirs.entry(n).or_default().push(m);
    }
    let lines: Vec<&str> = conf.lines().collect();
    let mut bad = Vec::new();
    for (n, want) in &theirs {
        let got = ours.get(n).cloned().unwrap_or_default();
        if &got != want {
            bad.push(format!(
                "line {n} `{}`:\n  keepalived: {want:?}\n  pharos:     {got:?}",
                lines[n - 1].trim()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // Every line was heard (a missing-parameter error would stop keepalived early).
    assert!(theirs.values().filter(|m| !m.is_empty()).count() > 40);
}

/// The daemon itself (`pharos keepalived -n -f CONF`) in the twin
/// namespace: while MASTER its routes, rules, VMACs, addresses and sysctls
/// equal keepalived's; after SIGTERM the namespace is as before.
#[test]
fn daemon_routes_rules_and_vmacs_equal_keepalived_needs_root() {
    let ka = Ns::new("dka");
    let ph = Ns::new("dph");
    let before_ph = snapshot(&ph.0);
    let mut k = Keepalived::start(&ka.0, &conf());
    let dir = std::env::temp_dir().join(format!("pharos-{}", ph.0));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("p.conf");
    std::fs::write(&path, conf()).expect("write config");
    let mut p = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ph.0,
            env!("CARGO_BIN_EXE_pharos"),
            "keepalived",
            "-n",
            "-l",
            "-f",
        ])
        .arg(&path)
        .arg("-p")
        .arg(dir.join("p.pid"))
        .arg("-r")
        .arg(dir.join("pv.pid"))
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(dir.join("log"))
                .map(Stdio::from)
                .unwrap_or(Stdio::null()),
        )
        .spawn()
        .expect("spawn pharos");
    let master = |s: &BTreeMap<&str, String>| {
        s["rule4"].contains("16384:")
            && s["rule6"].contains("16384:")
            && s["route4"].contains("10.15.0.0/16")
    };
    let during_ka = settled(&ka.0, master);
    let during_ph = settled(&ph.0, master);
    k.stop();
    pair::stop(&mut p, nix::sys::signal::Signal::SIGTERM);
    let after_ph = snapshot(&ph.0);
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(master(&during_ka), "keepalived never became MASTER");
    let d = diff(&during_ka, &during_ph);
    assert!(
        d.is_empty(),
        "keepalived (-) vs Pharos daemon (+) while MASTER:\n{}\n{log}",
        d.join("\n")
    );
    let d = diff(&before_ph, &after_ph);
    assert!(
        d.is_empty(),
        "the daemon left (+) / took (-):\n{}",
        d.join("\n")
    );
}
