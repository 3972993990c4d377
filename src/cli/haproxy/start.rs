//! haproxy's run mode, in 2.6's order: the FD limit, binding, the pidfile
//! (`-D`), `chroot`, signals to the old pids (`-sf`/`-st`), the user and
//! group, the fork (`-D`), then serving (`proxy::run`) until a stop.

use super::CmdLine;
use crate::conf::haproxy::{Level, Outcome, cond};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Startup messages on stderr as haproxy 2.6 prints them: the two NOTICE
/// lines before the first one, nothing at all with `-q`.
pub(super) struct Console {
    pub(super) pid: u32,
    pub(super) quiet: bool,
    pub(super) noticed: std::cell::Cell<bool>,
}

impl Console {
    fn say(&self, level: Level, text: &str) {
        if self.quiet {
            return;
        }
        if !self.noticed.replace(true) {
            print_notices(self.pid);
        }
        eprintln!("{}({}) : {text}", level.tag(), self.pid);
    }
}

pub(super) fn print_notices(pid: u32) {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    eprintln!(
        "{}({pid}) : haproxy version is {}",
        Level::Notice.tag(),
        cond::VERSION
    );
    eprintln!(
        "{}({pid}) : path to executable is {exe}",
        Level::Notice.tag()
    );
}

/// The signals run mode acts on: SIGUSR1 (soft stop) and SIGTERM/SIGINT
/// (hard stop, as the signal number).
fn install_signals() -> std::io::Result<(Arc<AtomicBool>, Arc<AtomicUsize>)> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let soft = Arc::new(AtomicBool::new(false));
    let hard = Arc::new(AtomicUsize::new(0));
    signal_hook::flag::register(SIGUSR1, Arc::clone(&soft))?;
    for sig in [SIGTERM, SIGINT] {
        let n = usize::try_from(sig).unwrap_or(0);
        signal_hook::flag::register_usize(sig, Arc::clone(&hard), n)?;
    }
    Ok((soft, hard))
}

/// Run mode, in haproxy 2.6's order: the FD limit, binding, the pidfile
/// (`-D`), `chroot`, SIGUSR1/SIGTERM to the old pids (`-sf`/`-st`), the
/// user and group, the fork (`-D`), then serving until a stop. A hard stop
/// ends the process by its signal, as haproxy (no handler) does.
pub(super) fn serve(outcome: &Outcome, cmd: &CmdLine, console: &Console) -> i32 {
    use crate::daemon::{identity, limits};
    let cfg = &outcome.config;
    let g = &cfg.global;
    let argv0 = cmd.argv0.as_str();
    let alert = |text: &str| {
        console.say(Level::Alert, text);
        1
    };
    let (soft, hard) = match install_signals() {
        Ok(s) => s,
        Err(e) => return alert(&format!("cannot install signal handlers: {e}")),
    };
    // `-d`/`-db` keep the foreground whatever the file says; `-D` wins.
    let daemon = !cmd.master_worker && (cmd.daemon || (g.daemon && !cmd.foreground));
    let ident =
        match identity::Identity::resolve(g.user.as_deref(), g.uid, g.group.as_deref(), g.gid) {
            Ok(i) => i,
            Err(e) => {
                console.say(Level::Alert, &format!("config : {e}"));
                return alert("config : Fatal errors found in configuration.");
            }
        };
    let needs = limits::FdNeeds::of(cfg, crate::proxy::run::threads(cfg));
    let (soft_limit, hard_limit) = limits::nofile();
    let maxconn = cmd
        .maxconn
        .filter(|n| *n > 0)
        .or(g.maxconn)
        .unwrap_or_else(|| needs.ideal_maxconn(soft_limit, hard_limit));
    let want = g
        .ulimit_n
        .filter(|n| *n > 0)
        .map_or_else(|| needs.maxsock(maxconn), u64::from);
    if let Err(limit) = limits::set_nofile(want) {
        return alert(&format!(
            "[{argv0}.main()] Cannot raise FD limit to {want}, limit is {limit}."
        ));
    }
    // `-x`: the old process's listening sockets, taken over by address
    // (a master-worker master hands its own to its workers instead).
    if let Some(path) = cmd.socket_transfer.as_deref()
        && path != "/dev/null"
        && !cmd.master_worker
        && !cmd.worker
        && let Err(e) = crate::proxy::listener::transfer::fetch(std::path::Path::new(path))
    {
        console.say(Level::Warning, &e);
        return alert("Failed to get the sockets from the old process!");
    }
    let bound = match crate::proxy::run::bind(
        cfg,
        &outcome.sources,
        cmd.proxy_maxconn.filter(|n| *n > 0),
        maxconn,
    ) {
        Ok(b) => b,
        Err(crate::proxy::run::RunError::Listeners(failures)) => {
            for f in &failures {
                alert(f);
            }
            return alert(&format!(
                "[{argv0}.main()] Some protocols failed to start their listeners! Exiting."
            ));
        }
        Err(e) => return alert(&e.to_string()),
    };
    let pidfile = cmd.pidfile.as_deref().or(g.pidfile.as_deref());
    let mut pid_out = None;
    if daemon && let Some(path) = pidfile {
        let _ = std::fs::remove_file(path);
        match std::fs::File::create(path) {
            Ok(f) => pid_out = Some(f),
            Err(_) => {
                return alert(&format!(
                    "[{argv0}.main()] Cannot create pidfile {}",
                    path.display()
                ));
            }
        }
    }
    if !daemon
        && let Some(dir) = &g.chroot
        && let Err(e) = identity::chroot(dir)
    {
        return alert(&format!("[{argv0}.main()] {e}"));
    }
    let old_signal = if cmd.terminate_old {
        nix::sys::signal::Signal::SIGTERM
    } else {
        nix::sys::signal::Signal::SIGUSR1
    };
    for old in &cmd.old_pids {
        // Old processes that are gone already need nothing.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*old), old_signal);
    }
    let drop_privileges = || -> Result<(), i32> {
        match ident.apply() {
            Ok(Some(w)) => {
                console.say(Level::Warning, &format!("[{argv0}.main()] {w}"));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(alert(&format!("[{argv0}.main()] {e}"))),
        }
    };
    if daemon {
        match crate::daemon::sys::fork() {
            Err(_) => return alert(&format!("[{argv0}.main()] Cannot fork.")),
            Ok(crate::daemon::sys::Forked::Parent(child)) => {
                if let Some(mut f) = pid_out {
                    use std::io::Write;
                    let _ = writeln!(f, "{child}");
                }
                return 0;
            }
            Ok(crate::daemon::sys::Forked::Child) => {
                drop(pid_out);
                if let Some(dir) = &g.chroot
                    && let Err(e) = identity::chroot(dir)
                {
                    return alert(&format!("[{argv0}.main()] {e}"));
                }
                if let Err(code) = drop_privileges() {
                    return code;
                }
                if let Err(e) = crate::daemon::into_background() {
                    return alert(&format!("Cannot open /dev/null: {e}"));
                }
            }
        }
    } else {
        if let Err(code) = drop_privileges() {
            return code;
        }
    }
    let ctl = crate::proxy::run::Control {
        soft,
        hard: Arc::clone(&hard),
        quiet: console.quiet || daemon,
        maxconn: Some(maxconn),
    };
    match bound.serve(ctl) {
        Ok(crate::proxy::run::Ended::Soft) => 0,
        Ok(crate::proxy::run::Ended::Hard) => {
            let sig = i32::try_from(hard.load(Ordering::Relaxed)).unwrap_or(libc::SIGTERM);
            // Ends the process as the signal's default action would.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            128 + sig
        }
        Err(e) => alert(&e.to_string()),
    }
}
