//! The master CLI of master-worker mode (`-S <socket>`), as haproxy 2.6
//! answers it: `show proc` (the process table), `show version`, `reload`
//! (the connection closes without an answer, as the master re-executes),
//! `help`, `prompt`, `quit`, the level commands, and `@master <command>`.
//! Commands addressed to a worker (`@1`, `@!<pid>`) are not forwarded: the
//! answer is 2.6's for an unknown target.

use super::help::MASTER;
use super::listen::Lines;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One process of the table.
#[derive(Clone, Debug)]
pub struct Proc {
    pub pid: u32,
    /// Reloads it lived through.
    pub reloads: u32,
    pub started: Instant,
}

/// What `show proc` shows: the master and its live workers.
#[derive(Clone, Debug)]
pub struct ProcTable {
    pub master: Proc,
    /// Failed reloads since the last successful one.
    pub failed: u32,
    /// Newest first.
    pub workers: Vec<Proc>,
}

/// The master's side of its CLI: the table to show and the reload flag.
#[derive(Clone)]
pub struct MasterCli {
    pub table: Arc<Mutex<ProcTable>>,
    /// Set by `reload`; the master takes it.
    pub reload: Arc<AtomicBool>,
}

/// `0d00h00m01s`.
fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    format!(
        "{}d{:02}h{:02}m{:02}s",
        s / 86400,
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

fn row(pid: &str, kind: &str, reloads: &str, up: &str, version: &str) -> String {
    format!("{pid:<15} {kind:<15} {reloads:<15} {up:<15} {version:<15}\n")
}

impl ProcTable {
    /// `show proc`, at `now`.
    pub fn show(&self, now: Instant) -> String {
        let version = crate::conf::haproxy::cond::VERSION;
        let up = |p: &Proc| uptime(now.saturating_duration_since(p.started));
        let mut out = row("#<PID>", "<type>", "<reloads>", "<uptime>", "<version>");
        out.push_str(&row(
            &self.master.pid.to_string(),
            "master",
            &format!("{} [failed: {}]", self.master.reloads, self.failed),
            &up(&self.master),
            version,
        ));
        out.push_str("# workers\n");
        for w in &self.workers {
            out.push_str(&row(
                &w.pid.to_string(),
                "worker",
                &w.reloads.to_string(),
                &up(w),
                version,
            ));
        }
        out.push_str("# programs\n");
        out
    }
}

/// One master CLI connection.
pub struct MasterSession {
    cli: MasterCli,
    level: &'static str,
    interactive: bool,
    closed: bool,
}

impl MasterSession {
    pub fn new(cli: MasterCli) -> MasterSession {
        MasterSession {
            cli,
            level: "admin",
            interactive: false,
            closed: false,
        }
    }

    /// One command: its answer and whether the blank line follows it;
    /// `None` ends the connection without an answer.
    fn command(&mut self, args: &[&str]) -> Option<(String, bool)> {
        let answer = match args {
            ["@master", rest @ ..] | ["@", rest @ ..] => return self.command(rest),
            [target, ..] if target.starts_with('@') => {
                let text = format!("Can't find the target PID matching the prefix '{target}'\n");
                return Some((text, false));
            }
            [] | [""] => MASTER.message(args, false),
            ["help", rest @ ..] => MASTER.message(rest, true),
            ["prompt", ..] => {
                self.interactive = !self.interactive;
                String::new()
            }
            ["operator", ..] => {
                if self.level == "admin" {
                    self.level = "operator";
                }
                String::new()
            }
            ["user", ..] => {
                self.level = "user";
                String::new()
            }
            ["show", "cli", "level", ..] => format!("{}\n", self.level),
            ["show", "proc", ..] => self
                .cli
                .table
                .lock()
                .map(|t| t.show(Instant::now()))
                .unwrap_or_default(),
            ["show", "version", ..] => format!("{}\n", crate::conf::haproxy::cond::VERSION),
            ["reload", ..] => {
                self.cli.reload.store(true, Ordering::Relaxed);
                return None;
            }
            _ => MASTER.message(args, false),
        };
        Some((answer, true))
    }
}

impl Lines for MasterSession {
    fn line(&mut self, line: &str) -> String {
        let mut out = String::new();
        for cmd in super::split_commands(line) {
            let args = super::words(&cmd);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if args.first() == Some(&"quit") {
                self.closed = true;
                return out;
            }
            match self.command(&args) {
                Some((text, blank)) => {
                    out.push_str(&text);
                    if blank {
                        out.push('\n');
                    }
                }
                None => {
                    self.closed = true;
                    return out;
                }
            }
            if self.interactive {
                out.push_str("master> ");
            }
        }
        out
    }
    fn closed(&self) -> bool {
        self.closed
    }
    fn interactive(&self) -> bool {
        self.interactive
    }
}

/// Serves the master CLI on `path` (`mode` as `-S path,mode,600` says).
pub fn listen(path: &std::path::Path, mode: Option<u32>, cli: MasterCli) -> std::io::Result<()> {
    super::listen::listen_unix(path, mode, move || MasterSession::new(cli.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> MasterCli {
        let t0 = Instant::now();
        MasterCli {
            table: Arc::new(Mutex::new(ProcTable {
                master: Proc {
                    pid: 10460,
                    reloads: 2,
                    started: t0,
                },
                failed: 1,
                workers: vec![Proc {
                    pid: 10462,
                    reloads: 1,
                    started: t0,
                }],
            })),
            reload: Arc::default(),
        }
    }

    #[test]
    fn show_proc_has_haproxys_columns() {
        let c = cli();
        let table = c.table.lock().expect("table").clone();
        let out = table.show(table.master.started + Duration::from_secs(3723));
        let v = crate::conf::haproxy::cond::VERSION;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "#<PID>          <type>          <reloads>       <uptime>        <version>      "
        );
        assert_eq!(
            lines[1].trim_end(),
            format!("10460           master          2 [failed: 1]   0d01h02m03s     {v}")
        );
        assert_eq!(lines[2], "# workers");
        assert!(lines[3].starts_with("10462           worker          1               0d01h"));
        assert_eq!(lines[4], "# programs");
    }

    #[test]
    fn reload_closes_without_an_answer_and_targets_are_refused() {
        let c = cli();
        let mut s = MasterSession::new(c.clone());
        assert_eq!(
            s.line("@9 show info"),
            "Can't find the target PID matching the prefix '@9'\n"
        );
        assert_eq!(
            s.line("show cli level; operator; show cli level"),
            "admin\n\n\noperator\n\n"
        );
        assert!(s.line("@master show version").ends_with("\n\n"));
        assert_eq!(s.line("reload"), "");
        assert!(s.closed());
        assert!(c.reload.load(Ordering::Relaxed));
    }
}
