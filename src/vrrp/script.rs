//! Running `vrrp_script`s for tracking: each script is started every
//! `interval` (no shell: argv as parsed), killed after `timeout`, and its
//! exit status (0 = success; anything else or a timeout = failure) goes
//! through `track::ScriptState` (rise/fall). Never blocks: `poll` is called
//! from the driver's loop.

use super::track::{ScriptState, Status};
use crate::model::Script;
use crate::model::keepalived::VrrpScript;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A command for a configured script as keepalived runs one: no shell,
/// as the script's user (or `default_user`), in its own process group,
/// without `IFS`, `LD_PRELOAD` and `LD_LIBRARY_PATH`, stdio to /dev/null.
/// None when the script is empty or its user does not exist.
pub fn command(script: &Script, default_user: &str) -> Option<Command> {
    let (program, args) = script.argv.split_first()?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("IFS")
        .env_remove("LD_PRELOAD")
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let name = script.user.as_deref().unwrap_or(default_user);
    let user = nix::unistd::User::from_name(name).ok().flatten()?;
    let gid = match &script.group {
        Some(g) => nix::unistd::Group::from_name(g).ok().flatten()?.gid,
        None => user.gid,
    };
    // Only switch when it changes something: root stays root.
    if !user.uid.is_root() || gid.as_raw() != 0 {
        cmd.gid(gid.as_raw()).uid(user.uid.as_raw());
    }
    Some(cmd)
}

/// One tracked script and its schedule.
pub struct Runner {
    pub name: String,
    script: Script,
    default_user: String,
    interval: Duration,
    timeout: Duration,
    state: ScriptState,
    next: Instant,
    running: Option<(Child, Instant)>,
}

impl Runner {
    /// A runner for a configured script (first run at once).
    pub fn new(s: &VrrpScript, default_user: &str, now: Instant) -> Option<Runner> {
        let script = s.script.clone()?;
        script.argv.first()?;
        Some(Runner {
            name: s.name.clone(),
            script,
            default_user: default_user.to_string(),
            interval: s.interval.to_std().max(Duration::from_millis(10)),
            timeout: s.timeout.to_std().max(Duration::from_millis(10)),
            state: ScriptState::new(s.rise, s.fall, s.init_fail),
            next: now,
            running: None,
        })
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.state.status()
    }

    /// Starts, reaps or kills as due; returns the new status on a change.
    pub fn poll(&mut self, now: Instant) -> Option<Status> {
        if let Some((child, deadline)) = &mut self.running {
            let outcome = match child.try_wait() {
                Ok(Some(status)) => Some(status.success()),
                Ok(None) if now >= *deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    Some(false)
                }
                Ok(None) => None,
                Err(_) => Some(false),
            };
            let ok = outcome?;
            self.running = None;
            return self.state.result(ok);
        }
        if now < self.next {
            return None;
        }
        self.next = now + self.interval;
        let Some(mut cmd) = command(&self.script, &self.default_user) else {
            return self.state.result(false);
        };
        match cmd.spawn() {
            Ok(child) => {
                self.running = Some((child, now + self.timeout));
                None
            }
            Err(_) => self.state.result(false),
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
