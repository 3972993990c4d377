//! `-W`/`-Ws` (or `master-worker` in the file): haproxy 2.6's master-worker
//! mode. The master writes the pidfile (its own pid), serves the master CLI
//! (`-S`) and runs the proxy in a worker: this same program started again
//! with the same arguments and [`WORKER_ENV`] in its environment. A worker
//! says it serves with sd_notify's `READY=1`, sent to a socket of the
//! master's (its `NOTIFY_SOCKET`); the master then tells systemd (`-Ws`).
//!
//! SIGUSR2, SIGHUP or `reload` on the master CLI read the configuration
//! again: when it is good a new worker starts with `-sf <old workers>` (it
//! binds beside them with SO_REUSEPORT, then asks them to finish their
//! connections and exit); when it is not, the old workers keep serving
//! ("Loading failure!"). SIGTERM/SIGINT go to the workers and the master
//! exits 0 once they are gone; a worker that dies on its own takes the
//! others down and the master exits with its code (2.6's exit-on-failure).
//! The lines on stderr are 2.6's.
//!
//! The master holds every listening socket of the configuration and the
//! workers inherit them ([`listener::HANDOVER_ENV`]): a new worker accepts
//! on the very sockets the old one leaves, so a reload loses no connection
//! waiting in a queue (haproxy passes them over a socket pair instead).
//! Not as haproxy: the master does not re-execute itself on reload (a new
//! binary is used by the next worker all the same: it is started by path).

use super::{CmdLine, render, start::Console, start::print_notices};
use crate::conf::haproxy::{self, Level, Options};
use crate::model::haproxy::HaproxyConfig;
use crate::proxy::cli::master::{MasterCli, Proc, ProcTable};
use crate::proxy::listener;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set in a worker's environment (to the master's pid).
pub(super) const WORKER_ENV: &str = "PHAROS_MWORKER";

/// Whether this process is a master's worker (`Some`), and whether that
/// master is still there (`Some(false)`: it died before we could look). A
/// worker ends with its master: SIGTERM when the master dies.
pub(super) fn is_worker() -> Option<bool> {
    let master = std::env::var(WORKER_ENV).ok()?.parse::<i32>().ok()?;
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    // A master gone before the line above would never send it.
    Some(nix::unistd::getppid().as_raw() == master)
}

/// The listening sockets the master holds for its workers, by
/// [`listener::handover_key`].
#[derive(Default)]
struct Held(HashMap<String, Vec<OwnedFd>>);

impl Held {
    /// Opens what `cfg` binds and is not held yet, and lets go of what it
    /// binds no more. An address that cannot be bound is left to the
    /// worker, which reports it as haproxy does (and exits).
    fn update(&mut self, cfg: &HaproxyConfig) {
        let mut wanted = HashSet::new();
        for p in cfg.proxies.iter().filter(|p| !p.disabled) {
            for b in &p.binds {
                for a in b.addresses.iter().filter(|a| listener::handed_over(a)) {
                    let key = listener::handover_key(a, &b.options);
                    if !self.0.contains_key(&key)
                        && let Ok(ls) = listener::bind(a, &b.options)
                    {
                        let fds: Vec<OwnedFd> =
                            ls.into_iter().map(listener::Listener::into_fd).collect();
                        // Inherited by the workers this master starts.
                        for fd in &fds {
                            let _ = nix::fcntl::fcntl(
                                fd,
                                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
                            );
                        }
                        self.0.insert(key.clone(), fds);
                    }
                    wanted.insert(key);
                }
            }
        }
        self.0.retain(|k, _| wanted.contains(k));
    }

    /// Lets go of the sockets a ready worker says it did not take (all of
    /// them when it does not say: a program that takes none): a socket
    /// nobody accepts on would keep its share of the port's connections.
    fn forget(&mut self, ready: &str) {
        let unused: Option<Vec<String>> = ready
            .lines()
            .find_map(|l| l.strip_prefix("PHAROS_UNUSED="))
            .and_then(|v| serde_json::from_str(v).ok());
        match unused {
            Some(keys) => {
                for k in keys {
                    self.0.remove(&k);
                }
            }
            None => self.0.clear(),
        }
    }

    /// The value of [`listener::HANDOVER_ENV`] for a worker.
    fn env(&self) -> String {
        let table: HashMap<&String, Vec<i32>> = self
            .0
            .iter()
            .map(|(k, fds)| (k, fds.iter().map(AsRawFd::as_raw_fd).collect()))
            .collect();
        serde_json::to_string(&table).unwrap_or_default()
    }
}

/// How often signals and children are looked at.
const TICK: Duration = Duration::from_millis(50);

/// A worker process.
struct Worker {
    child: Child,
    pid: u32,
}

/// The master's flags, set by signals and the CLI.
struct Flags {
    reload: Arc<AtomicBool>,
    stop: Arc<AtomicUsize>,
    soft: Arc<AtomicBool>,
}

fn install_signals(reload: &Arc<AtomicBool>) -> std::io::Result<Flags> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
    let stop = Arc::new(AtomicUsize::new(0));
    let soft = Arc::new(AtomicBool::new(false));
    for sig in [SIGUSR2, SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(reload))?;
    }
    signal_hook::flag::register(SIGUSR1, Arc::clone(&soft))?;
    for sig in [SIGTERM, SIGINT] {
        let n = usize::try_from(sig).unwrap_or(0);
        signal_hook::flag::register_usize(sig, Arc::clone(&stop), n)?;
    }
    Ok(Flags {
        reload: Arc::clone(reload),
        stop,
        soft,
    })
}

/// How a worker ended, as the master words it: `143 (Terminated)`.
fn ended(status: ExitStatus) -> (i32, String) {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code, "Exit".into()),
        (None, Some(sig)) => {
            let name = match sig {
                libc::SIGTERM => "Terminated",
                libc::SIGKILL => "Killed",
                libc::SIGINT => "Interrupt",
                libc::SIGSEGV => "Segmentation fault",
                libc::SIGABRT => "Aborted",
                libc::SIGHUP => "Hangup",
                libc::SIGUSR1 => "User defined signal 1",
                libc::SIGUSR2 => "User defined signal 2",
                libc::SIGQUIT => "Quit",
                libc::SIGBUS => "Bus error",
                _ => "Signal",
            };
            (128 + sig, name.into())
        }
        _ => (255, "Exit".into()),
    }
}

/// The master's state and the things it acts with.
struct Master<'a> {
    cmd: &'a CmdLine,
    console: &'a Console,
    pid: u32,
    exe: std::path::PathBuf,
    notify: String,
    table: Arc<Mutex<ProcTable>>,
    workers: Vec<Worker>,
    /// The worker that serves (the last one ready).
    current: Option<u32>,
    /// A worker started, not ready yet, and whether it comes from a reload.
    pending: Option<(u32, bool)>,
    /// The version lines were printed since the last (re)start.
    noticed: bool,
    /// The listening sockets the workers inherit.
    held: Held,
}

impl Master<'_> {
    /// A line on stderr. 2.6's master re-executes itself after starting a
    /// worker and on each reload; each image prints the version and path
    /// NOTICE lines before its first warning or alert.
    fn say(&mut self, level: Level, text: &str) {
        if self.console.quiet {
            return;
        }
        if matches!(level, Level::Warning | Level::Alert) {
            self.notices();
        }
        eprintln!("{}({}) : {text}", level.tag(), self.pid);
    }

    fn notices(&mut self) {
        if !self.noticed && !self.console.quiet {
            print_notices(self.pid);
            self.noticed = true;
        }
    }

    fn systemd(&self, state: &str) {
        if self.cmd.systemd {
            crate::daemon::sd_notify(state);
        }
    }

    /// Starts a worker (`reload`: for a reload), with `-sf` naming the
    /// live workers it replaces.
    fn spawn(&mut self, reload: bool) -> std::io::Result<()> {
        let mut c = Command::new(&self.exe);
        c.arg0(&self.cmd.argv0);
        let old: Vec<String> = self.workers.iter().map(|w| w.pid.to_string()).collect();
        if !old.is_empty() {
            c.arg("-sf").args(&old);
        }
        c.args(&self.cmd.args)
            .env(WORKER_ENV, self.pid.to_string())
            .env("NOTIFY_SOCKET", &self.notify)
            .env(listener::HANDOVER_ENV, self.held.env())
            .stdin(Stdio::null());
        let child = c.spawn()?;
        let pid = child.id();
        self.say(Level::Notice, &format!("New worker ({pid}) forked"));
        self.workers.push(Worker { child, pid });
        self.pending = Some((pid, reload));
        self.publish();
        Ok(())
    }

    /// Mirrors the live workers into the CLI's table (newest first).
    fn publish(&self) {
        if let Ok(mut t) = self.table.lock() {
            let known: Vec<Proc> = t.workers.clone();
            t.workers = self
                .workers
                .iter()
                .rev()
                .map(|w| {
                    known
                        .iter()
                        .find(|p| p.pid == w.pid)
                        .cloned()
                        .unwrap_or(Proc {
                            pid: w.pid,
                            reloads: 0,
                            started: Instant::now(),
                        })
                })
                .collect();
        }
    }

    /// The pending worker said READY=1.
    fn ready(&mut self) {
        let Some((pid, _)) = self.pending.take() else {
            return;
        };
        self.current = Some(pid);
        if let Ok(mut t) = self.table.lock() {
            t.failed = 0;
        }
        self.say(Level::Notice, "Loading success.");
        self.noticed = false;
        self.systemd(&format!("READY=1\nMAINPID={}", self.pid));
    }

    fn reload(&mut self) {
        self.say(Level::Notice, "Reloading HAProxy");
        self.noticed = false;
        self.systemd("RELOADING=1");
        if let Ok(mut t) = self.table.lock() {
            t.master.reloads += 1;
            for w in &mut t.workers {
                w.reloads += 1;
            }
        }
        let opts = Options {
            zero_warning: self.cmd.zero_warning,
            diagnostic: self.cmd.diagnostic,
        };
        let outcome = haproxy::read_files(&self.cmd.files, &opts);
        if outcome.is_fatal() {
            self.notices();
            render(&outcome, self.pid, self.console.quiet, self.cmd.diagnostic);
            self.failed();
            return;
        }
        // The serving workers are former ones from now on: the new one
        // asks them to finish (`-sf`) before it says it is ready.
        self.current = None;
        self.held.update(&outcome.config);
        if let Err(e) = self.spawn(true) {
            self.say(Level::Alert, &format!("Cannot fork: {e}"));
            self.current = self.workers.last().map(|w| w.pid);
            self.failed();
        }
    }

    fn failed(&mut self) {
        if let Ok(mut t) = self.table.lock() {
            t.failed += 1;
        }
        self.say(Level::Warning, "Loading failure!");
        // 2.6 says it is ready again, serving with the old workers.
        self.systemd(&format!("READY=1\nMAINPID={}", self.pid));
    }

    fn signal_all(&self, sig: Signal) {
        for w in &self.workers {
            let _ = nix::sys::signal::kill(Pid::from_raw(w.pid as i32), sig);
        }
    }

    /// Collects the workers that ended; `stopping` becomes the master's
    /// exit code when the serving worker died on its own.
    fn reap(&mut self, stopping: &mut Option<i32>) {
        let mut i = 0;
        while i < self.workers.len() {
            let status = match self.workers[i].child.try_wait() {
                Ok(Some(s)) => s,
                Ok(None) => {
                    i += 1;
                    continue;
                }
                Err(_) => ExitStatus::from_raw(255 << 8),
            };
            let w = self.workers.remove(i);
            let (code, how) = ended(status);
            if self.pending.is_some_and(|(p, reload)| p == w.pid && reload) {
                // The new worker of a reload never served: the old keep on.
                self.pending = None;
                self.current = self.workers.last().map(|w| w.pid);
                self.say(
                    Level::Alert,
                    &format!("New worker ({}) exited with code {code} ({how})", w.pid),
                );
                self.failed();
            } else if Some(w.pid) == self.current || self.pending.is_some_and(|(p, _)| p == w.pid) {
                self.pending = None;
                self.current = None;
                self.say(
                    Level::Alert,
                    &format!("Current worker ({}) exited with code {code} ({how})", w.pid),
                );
                if stopping.is_none() {
                    self.say(
                        Level::Alert,
                        "exit-on-failure: killing every processes with SIGTERM",
                    );
                    self.signal_all(Signal::SIGTERM);
                    *stopping = Some(code);
                }
            } else {
                self.say(
                    Level::Warning,
                    &format!("Former worker ({}) exited with code {code} ({how})", w.pid),
                );
            }
        }
        self.publish();
    }
}

/// The master CLI sockets of `-S <path>[,mode,<octal>]…`.
fn master_sockets(cmd: &CmdLine) -> Vec<(std::path::PathBuf, Option<u32>)> {
    cmd.master_cli
        .iter()
        .map(|spec| {
            let mut parts = spec.split(',');
            let path = parts.next().unwrap_or_default();
            let path = path.strip_prefix("unix@").unwrap_or(path);
            let mut mode = None;
            while let Some(opt) = parts.next() {
                if opt == "mode" {
                    mode = parts.next().and_then(|m| u32::from_str_radix(m, 8).ok());
                }
            }
            (std::path::PathBuf::from(path), mode)
        })
        .collect()
}

/// Runs the master until its workers are gone; the process's exit code.
pub(super) fn run(
    cmd: &CmdLine,
    cfg: &HaproxyConfig,
    console: &Console,
    daemon: bool,
    pidfile: Option<&std::path::Path>,
) -> i32 {
    let argv0 = cmd.argv0.as_str();
    let alert = |text: &str| {
        if !console.quiet {
            eprintln!("{}({}) : {text}", Level::Alert.tag(), std::process::id());
        }
        1
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return alert(&format!("[{argv0}.main()] cannot find the executable: {e}")),
    };
    if daemon {
        // `-W` with `daemon`: the master goes to the background (not `-Ws`).
        match crate::daemon::sys::fork() {
            Err(_) => return alert(&format!("[{argv0}.main()] Cannot fork.")),
            Ok(crate::daemon::sys::Forked::Parent(_)) => return 0,
            Ok(crate::daemon::sys::Forked::Child) => {
                if let Err(e) = crate::daemon::into_background() {
                    return alert(&format!("Cannot open /dev/null: {e}"));
                }
            }
        }
    }
    let pid = std::process::id();
    let _pidfile = match pidfile {
        Some(path) => match crate::daemon::PidFile::create(path) {
            Ok(f) => Some(f),
            Err(_) => {
                return alert(&format!(
                    "[{argv0}.main()] Cannot create pidfile {}",
                    path.display()
                ));
            }
        },
        None => None,
    };
    let reload = Arc::new(AtomicBool::new(false));
    let flags = match install_signals(&reload) {
        Ok(f) => f,
        Err(e) => return alert(&format!("cannot install signal handlers: {e}")),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return alert(&format!("cannot start: {e}")),
    };
    let started = Instant::now();
    let table = Arc::new(Mutex::new(ProcTable {
        master: Proc {
            pid,
            reloads: 0,
            started,
        },
        failed: 0,
        workers: Vec::new(),
    }));
    let notify_name = format!("pharos-mworker-{pid}");
    let mut master = Master {
        cmd,
        console,
        pid,
        exe,
        notify: format!("@{notify_name}"),
        table: Arc::clone(&table),
        workers: Vec::new(),
        current: None,
        pending: None,
        noticed: false,
        held: Held::default(),
    };
    master.held.update(cfg);
    rt.block_on(async move {
        let notify = {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(notify_name.as_bytes());
            let sock = addr.and_then(|a| std::os::unix::net::UnixDatagram::bind_addr(&a));
            match sock.and_then(|s| {
                s.set_nonblocking(true)?;
                tokio::net::UnixDatagram::from_std(s)
            }) {
                Ok(s) => s,
                Err(e) => return alert(&format!("cannot open the workers' socket: {e}")),
            }
        };
        let cli = MasterCli {
            table,
            reload: Arc::clone(&flags.reload),
        };
        for (path, mode) in master_sockets(cmd) {
            if let Err(e) = crate::proxy::cli::master::listen(&path, mode, cli.clone()) {
                return alert(&format!(
                    "Cannot create the master CLI socket {}: {e}",
                    path.display()
                ));
            }
        }
        if let Err(e) = master.spawn(false) {
            return alert(&format!("[{argv0}.main()] Cannot fork: {e}"));
        }
        let mut stopping: Option<i32> = None;
        let mut buf = [0u8; 512];
        loop {
            if let Ok(Ok(n)) = tokio::time::timeout(TICK, notify.recv(&mut buf)).await {
                let msg = String::from_utf8_lossy(&buf[..n]);
                if msg.lines().any(|l| l == "READY=1") {
                    master.held.forget(&msg);
                    master.ready();
                }
            }
            if stopping.is_none() {
                let sig = flags.stop.swap(0, Ordering::Relaxed);
                if sig != 0 {
                    master.say(Level::Warning, "Exiting Master process...");
                    master.systemd("STOPPING=1");
                    master.signal_all(Signal::SIGTERM);
                    stopping = Some(0);
                } else if flags.soft.swap(false, Ordering::Relaxed) {
                    // Every worker finishes its connections, then all exit.
                    master.signal_all(Signal::SIGUSR1);
                    stopping = Some(0);
                } else if flags.reload.swap(false, Ordering::Relaxed) {
                    master.reload();
                }
            }
            master.reap(&mut stopping);
            if let Some(code) = stopping
                && master.workers.is_empty()
            {
                master.say(
                    Level::Warning,
                    &format!("All workers exited. Exiting... ({code})"),
                );
                return code;
            }
        }
    })
}
