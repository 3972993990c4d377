//! Shared by the proxy compat tests: a fresh network namespace per run
//! (only its loopback carries traffic), and starting haproxy or Pharos on a
//! configuration without touching its listener.
#![allow(dead_code)]

use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `f` on a thread inside a new namespace `ptest-<tag>-<pid>` (lo up,
/// 198.51.100.10/32 on lo for clients that must not be 127.0.0.1), with a
/// scratch directory; both are removed afterwards, also when `f` panics.
pub fn in_fresh_netns<T: Send + 'static>(
    tag: &str,
    f: impl FnOnce(&std::path::Path) -> T + Send + 'static,
) -> T {
    let ns = format!("ptest-{tag}-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip netns add {ns}");
    let file = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("netns");
    let dir = std::env::temp_dir().join(format!("pharos-{ns}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.clone();
    let out = std::thread::spawn(move || {
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let _ = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        let _ = Command::new("ip")
            .args(["addr", "add", "198.51.100.10/32", "dev", "lo"])
            .status();
        f(&d)
    })
    .join();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// Runs `program args… -f CONF` in the current namespace; waits for its port.
pub fn start(program: &[&str], conf: &std::path::Path, port: u16) -> Child {
    let child = Command::new(program[0])
        .args(&program[1..])
        .arg("-f")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the proxy");
    // Wait for the listening socket without connecting (a probe connection
    // would take a round-robin turn).
    let listening = || {
        Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    };
    let t0 = Instant::now();
    while !listening() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}
