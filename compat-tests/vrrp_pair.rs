//! The two-namespace VRRP harness shared by the interop tests: namespaces
//! `<tag>-ka` (198.51.100.1) and `<tag>-ph` (198.51.100.2) on one veth
//! pair (`eth0` on both sides), the real keepalived 2.2.7 in one and Pharos
//! in the other (or both Pharos), removed on drop.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const VIP: &str = "198.51.100.100";

/// The v2 advert of the harness's standard instance (VRID 51, PASS
/// `secret12`, advert_int 1, VIP) with `priority`.
pub fn pass_advert(priority: u8) -> pharos::vrrp::packet::Advert {
    use pharos::vrrp::packet::{Advert, AdvertAuth, Version};
    Advert {
        version: Version::V2,
        vrid: 51,
        priority,
        interval_centis: 100,
        addrs: vec![std::net::IpAddr::V4(VIP.parse().expect("vip"))],
        auth: AdvertAuth::pass("secret12"),
    }
}

/// Starts the real keepalived in namespace `ns` (VRRP only, foreground,
/// console log to `log`, no respawn so a killed VRRP child stays dead) with
/// `conf` written to `dir/keepalived.conf` and its pid files in `dir`.
pub fn spawn_keepalived(ns: &str, dir: &std::path::Path, conf: &str, log: Stdio) -> Child {
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, conf).expect("write config");
    let d = |f: &str| dir.join(f).to_string_lossy().into_owned();
    Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-G",
            "-P",
            "-R",
            "-f",
        ])
        .arg(&path)
        .args([
            "-p",
            &d("k.pid"),
            "-r",
            &d("v.pid"),
            "-c",
            &d("c.pid"),
            "-b",
            &d("b.pid"),
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("keepalived must be installed (compat-tests/run-all.sh installs it)")
}

/// Sets a sysctl inside namespace `ns`.
pub fn sysctl(ns: &str, key: &str, value: &str) {
    let ok = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "sysctl {key}={value} in {ns}");
}

pub fn ip(args: &[&str]) {
    let ok = Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "ip {}", args.join(" "));
}

/// Two namespaces `<tag>-ka` (198.51.100.1, keepalived) and `<tag>-ph`
/// (198.51.100.2, Pharos) on one veth pair; removed on drop.
pub struct Pair {
    pub ka: String,
    pub ph: String,
    pub dir: std::path::PathBuf,
    pub keepalived: Option<Child>,
}

impl Pair {
    pub fn new(tag: &str) -> Pair {
        let ka = format!("{tag}-ka-{}", std::process::id());
        let ph = format!("{tag}-ph-{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("pharos-{tag}-{}", std::process::id()));
        let p = Pair {
            ka,
            ph,
            dir,
            keepalived: None,
        };
        std::fs::create_dir_all(&p.dir).expect("scratch dir");
        for ns in [&p.ka, &p.ph] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            // No DAD: IPv6 link-local addresses (VRRPv3 sources) usable at once.
            sysctl(ns, "net.ipv6.conf.default.accept_dad", "0");
        }
        ip(&[
            "-n", &p.ka, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
            &p.ph,
        ]);
        ip(&["-n", &p.ka, "addr", "add", "198.51.100.1/24", "dev", "eth0"]);
        ip(&["-n", &p.ph, "addr", "add", "198.51.100.2/24", "dev", "eth0"]);
        ip(&["-n", &p.ka, "link", "set", "eth0", "up"]);
        ip(&["-n", &p.ph, "link", "set", "eth0", "up"]);
        // Link-local addresses appear once both ends have carrier.
        for ns in [&p.ka, &p.ph] {
            let t0 = Instant::now();
            while !ns_has_addr(ns, "fe80::") && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        p
    }

    /// Starts keepalived (VRRP only, foreground, its own pid files).
    pub fn start_keepalived(&mut self, conf: &str) {
        let child = spawn_keepalived(&self.ka, &self.dir, conf, Stdio::null());
        self.keepalived = Some(child);
    }

    /// The pid of keepalived's VRRP child process (from its pid file).
    pub fn keepalived_vrrp_pid(&self) -> Option<u32> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Some(pid) = std::fs::read_to_string(self.dir.join("v.pid"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                return Some(pid);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Runs `f` on a thread that has entered namespace `ns`.
    pub fn in_ns<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let ns = File::open(format!("/var/run/netns/{ns}")).expect("netns file");
        std::thread::spawn(move || {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
    }

    /// Runs `f` on a thread that has entered the Pharos namespace.
    pub fn in_pharos_ns<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let ns = File::open(format!("/var/run/netns/{}", self.ph)).expect("netns file");
        std::thread::spawn(move || {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("namespace thread")
    }
}

impl Pair {
    /// Starts `pharos keepalived` in the Pharos namespace.
    pub fn start_pharos(&self, conf: &str) -> Child {
        self.start_pharos_in(&self.ph, "p", conf)
    }

    /// Starts `pharos keepalived` in namespace `ns`; `tag` names its files.
    pub fn start_pharos_in(&self, ns: &str, tag: &str, conf: &str) -> Child {
        self.start_pharos_with(ns, tag, conf, &[])
    }

    /// As `start_pharos_in`, with extra command-line options.
    pub fn start_pharos_with(&self, ns: &str, tag: &str, conf: &str, extra: &[&str]) -> Child {
        let path = self.dir.join(format!("{tag}.conf"));
        std::fs::write(&path, conf).expect("write config");
        let d = |f: &str| self.dir.join(f).to_string_lossy().into_owned();
        Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                env!("CARGO_BIN_EXE_pharos"),
                "keepalived",
                "-n",
                "-l",
            ])
            .args(extra)
            .arg("-f")
            .arg(&path)
            .args([
                "-p",
                &d(&format!("{tag}k.pid")),
                "-r",
                &d(&format!("{tag}v.pid")),
            ])
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.dir.join(format!("{tag}.log")))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .expect("spawn pharos")
    }

    pub fn has_vip(&self, ns: &str) -> bool {
        self.has_addr(ns, VIP)
    }

    pub fn has_addr(&self, ns: &str, addr: &str) -> bool {
        ns_has_addr(ns, addr)
    }

    /// Polls every 5 ms until `cond` holds; the time it took.
    pub fn wait_for(&self, limit: Duration, cond: impl Fn(&Pair) -> bool) -> Option<Duration> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if cond(self) {
                return Some(t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

/// Whether `addr` is on eth0 in namespace `ns`.
pub fn ns_has_addr(ns: &str, addr: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output();
    // "fe80::" matches any link-local address.
    let needle = if addr == "fe80::" {
        " fe80::".to_string()
    } else {
        format!(" {addr}/")
    };
    out.map(|o| String::from_utf8_lossy(&o.stdout).contains(&needle))
        .unwrap_or(false)
}

/// Stops a child we started (by pid) and waits for it.
pub fn stop(child: &mut Child, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal);
    let _ = child.wait();
}

impl Drop for Pair {
    fn drop(&mut self) {
        if let Some(mut c) = self.keepalived.take() {
            // `ip netns exec` execs keepalived: this pid is keepalived's parent process.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.ka, &self.ph] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
