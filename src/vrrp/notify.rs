//! Notifications on state changes (reference/keepalived.md §3.8): the
//! state's own script (`notify_master` …, argv as configured), the generic
//! `notify` with `INSTANCE NAME STATE PRIO` (or `GROUP NAME STATE 0`)
//! appended, and lines on the notify FIFOs (`notify_fifo`,
//! `vrrp_notify_fifo`): `INSTANCE "VI_1" MASTER 150`. Scripts are started
//! and never waited for; a reaper thread collects them.

use super::fsm::State;
use super::script::command;
use crate::model::Script;
use crate::model::keepalived::{GlobalDefs, Notify};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Child;

/// Who a notification is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    Instance { name: &'a str, priority: u8 },
    Group { name: &'a str },
}

impl Subject<'_> {
    /// The words the generic `notify` script gets appended.
    pub fn args(&self, state: State) -> [String; 4] {
        match self {
            Subject::Instance { name, priority } => [
                "INSTANCE".into(),
                (*name).to_string(),
                state.word().into(),
                priority.to_string(),
            ],
            Subject::Group { name } => [
                "GROUP".into(),
                (*name).to_string(),
                state.word().into(),
                "0".into(),
            ],
        }
    }

    /// The FIFO line (the name is quoted there, not in script arguments).
    pub fn fifo_line(&self, state: State) -> String {
        let [kind, name, word, prio] = self.args(state);
        format!("{kind} \"{name}\" {word} {prio}\n")
    }
}

/// One FIFO we write to, and whether we created it (then it goes at exit).
struct Fifo {
    path: PathBuf,
    file: File,
    created: bool,
    script: Option<Child>,
}

/// Runs notify scripts and writes the FIFOs.
pub struct Notifier {
    default_user: String,
    fifos: Vec<Fifo>,
}

impl Notifier {
    /// Opens (creating when missing) the FIFOs of `global_defs` and starts
    /// their `*_fifo_script` readers with the FIFO path as last argument.
    /// Problems are reported through `log` and the FIFO is skipped.
    pub fn new(global: &GlobalDefs, log: &mut dyn FnMut(&str)) -> Notifier {
        let default_user = global.default_script_user();
        let option = |k: &str| global.other.iter().find(|o| o.keyword == k);
        let mut fifos = Vec::new();
        for (fifo_kw, script_kw) in [
            ("notify_fifo", "notify_fifo_script"),
            ("vrrp_notify_fifo", "vrrp_notify_fifo_script"),
        ] {
            let Some(path) = option(fifo_kw).and_then(|o| o.args.first()) else {
                continue;
            };
            let path = PathBuf::from(path);
            let created = !path.exists();
            if created
                && let Err(e) =
                    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            {
                log(&format!(
                    "Unable to create notify FIFO {}: {e}",
                    path.display()
                ));
                continue;
            }
            // Read-write so that opening never blocks and a missing reader
            // never raises SIGPIPE; a full FIFO drops the line.
            let file = match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&path)
            {
                Ok(f) => f,
                Err(e) => {
                    log(&format!(
                        "Unable to open notify FIFO {}: {e}",
                        path.display()
                    ));
                    continue;
                }
            };
            let script = option(script_kw).and_then(|o| {
                let mut argv = o.args.clone();
                argv.push(path.display().to_string());
                let s = Script {
                    argv,
                    user: None,
                    group: None,
                };
                command(&s, &default_user)?.spawn().ok()
            });
            fifos.push(Fifo {
                path,
                file,
                created,
                script,
            });
        }
        Notifier {
            default_user,
            fifos,
        }
    }

    /// A state change of `subject`: its scripts, then the FIFO lines.
    pub fn notify(&mut self, subject: Subject<'_>, scripts: &Notify, state: State) {
        let specific = match state {
            State::Master => scripts.master.as_ref(),
            State::Backup => scripts.backup.as_ref(),
            State::Fault => scripts.fault.as_ref(),
            State::Stop => scripts.stop.as_ref(),
            State::Init => None,
        };
        if let Some(s) = specific {
            self.spawn(s, &[]);
        }
        if let Some(s) = &scripts.any {
            self.spawn(s, &subject.args(state));
        }
        self.fifo(&subject.fifo_line(state));
    }

    /// `notify_master_rx_lower_pri` and the FIFO's `MASTER_RX_LOWER_PRI`.
    pub fn master_rx_lower(&mut self, name: &str, priority: u8, scripts: &Notify) {
        if let Some(s) = &scripts.master_rx_lower_pri {
            self.spawn(s, &[]);
        }
        self.fifo(&format!(
            "INSTANCE \"{name}\" MASTER_RX_LOWER_PRI {priority}\n"
        ));
    }

    fn fifo(&mut self, line: &str) {
        for f in &mut self.fifos {
            let _ = f.file.write_all(line.as_bytes());
        }
    }

    fn spawn(&self, script: &Script, extra: &[String]) {
        let Some(mut cmd) = command(script, &self.default_user) else {
            return;
        };
        cmd.args(extra);
        // Reap in a thread so the child never lingers as a zombie.
        if let Ok(mut child) = cmd.spawn() {
            std::thread::spawn(move || child.wait());
        }
    }
}

impl Notifier {
    /// Stops the FIFO readers and closes the FIFOs (removing those we
    /// created), as keepalived does before its instances stop.
    pub fn close_fifos(&mut self) {
        for mut f in self.fifos.drain(..) {
            if let Some(c) = &mut f.script {
                // keepalived's readers get SIGTERM.
                let pid = nix::unistd::Pid::from_raw(i32::try_from(c.id()).unwrap_or(0));
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                let _ = c.wait();
            }
            if f.created {
                let _ = std::fs::remove_file(&f.path);
            }
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.close_fifos();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_lines_and_script_arguments_are_keepalived_s() {
        let vi = Subject::Instance {
            name: "VI_1",
            priority: 150,
        };
        assert_eq!(
            vi.fifo_line(State::Master),
            "INSTANCE \"VI_1\" MASTER 150\n"
        );
        assert_eq!(
            vi.args(State::Backup),
            ["INSTANCE", "VI_1", "BACKUP", "150"]
        );
        let g = Subject::Group { name: "VG1" };
        assert_eq!(g.fifo_line(State::Fault), "GROUP \"VG1\" FAULT 0\n");
        assert_eq!(g.args(State::Stop), ["GROUP", "VG1", "STOP", "0"]);
    }
}
