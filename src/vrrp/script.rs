//! Running `vrrp_script`s for tracking: each script is started every
//! `interval` (no shell: argv as parsed), killed after `timeout`, and its
//! exit status (0 = success; anything else or a timeout = failure) goes
//! through `track::ScriptState` (rise/fall). Never blocks: `poll` is called
//! from the driver's loop.

use super::track::{ScriptState, Status};
use crate::model::keepalived::VrrpScript;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One tracked script and its schedule.
pub struct Runner {
    pub name: String,
    argv: Vec<String>,
    interval: Duration,
    timeout: Duration,
    state: ScriptState,
    next: Instant,
    running: Option<(Child, Instant)>,
}

impl Runner {
    /// A runner for a configured script (first run at once).
    pub fn new(s: &VrrpScript, now: Instant) -> Option<Runner> {
        let argv = s.script.as_ref()?.argv.clone();
        argv.first()?;
        Some(Runner {
            name: s.name.clone(),
            argv,
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
        let (program, args) = self.argv.split_first()?;
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
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
