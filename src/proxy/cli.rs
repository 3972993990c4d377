//! haproxy 2.6's stats socket (the CLI), sans I/O: a [`Session`] takes one
//! input line at a time, runs its `;`-separated commands against the
//! [`Registry`] at the session's level and returns the bytes haproxy 2.6
//! answers (each command's output, then an empty line, or the `> ` prompt in
//! interactive mode). [`listen`] serves it on the `stats socket` addresses.
//! Server changes go through `Pool` (admin state, weights), so balancing
//! sees them at once.

mod help;
mod listen;
pub mod master;

pub(super) use listen::listen;

use super::pool::{DRAIN, MAINT, Pool};
use super::stats;
use super::statspage::{Registry, snapshot};
use crate::model::haproxy::ProxyKind;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What a socket (`level`) or a session allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
    User,
    Operator,
    Admin,
}

impl Level {
    /// `level user|operator|admin` (operator when not set, as haproxy).
    pub fn parse(word: Option<&str>) -> Level {
        match word {
            Some("user") => Level::User,
            Some("admin") => Level::Admin,
            _ => Level::Operator,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::User => "user",
            Level::Operator => "operator",
            Level::Admin => "admin",
        }
    }
}

/// One CLI connection.
pub(super) struct Session {
    pub level: Level,
    /// `prompt` mode: `> ` after each answer, the connection stays open.
    pub interactive: bool,
    /// `quit` was read.
    pub closed: bool,
}

const DENIED: &str = "Permission denied\n";
const REQUIRE: &str = "Require 'backend/server'.\n";

impl Session {
    /// A session at the socket's level, non-interactive.
    pub fn new(level: Level) -> Session {
        Session {
            level,
            interactive: false,
            closed: false,
        }
    }

    /// Runs one input line (without its newline).
    pub fn line(&mut self, reg: &Registry, line: &str) -> String {
        let mut out = String::new();
        for cmd in split_commands(line) {
            let args = words(&cmd);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if args.first() == Some(&"quit") {
                self.closed = true;
                return out;
            }
            out.push_str(&self.command(reg, &args));
            out.push('\n');
            if self.interactive {
                out.push_str("> ");
            }
        }
        out
    }

    fn command(&mut self, reg: &Registry, args: &[&str]) -> String {
        let admin = self.level == Level::Admin;
        match args {
            [] | [""] => help::STATS.message(args, false),
            ["help", rest @ ..] => help::STATS.message(rest, true),
            ["prompt", ..] => {
                self.interactive = !self.interactive;
                String::new()
            }
            ["user", ..] => self.lower(Level::User),
            ["operator", ..] => self.lower(Level::Operator),
            ["show", "cli", "level", ..] => format!("{}\n", self.level.name()),
            ["show", "version", ..] => format!("{}\n", crate::conf::haproxy::cond::VERSION),
            // The renderers end with the CLI's empty line already.
            ["show", "info", ..] => without_blank(stats::show_info(&snapshot(reg).info)),
            ["show", "stat", ..] => without_blank(stats::show_stat(&snapshot(reg))),
            ["show", "servers", "state", rest @ ..] => servers_state(reg, rest.first().copied()),
            ["show", "backend", ..] => show_backend(reg),
            ["get", "weight", rest @ ..] => match server(reg, rest.first().copied()) {
                Ok((pool, i)) => pool
                    .weights(i)
                    .map(|(w, init)| format!("{w} (initial {init})\n"))
                    .unwrap_or_default(),
                Err(e) => e.into(),
            },
            [verb @ ("disable" | "enable"), "server", rest @ ..] => {
                if !admin {
                    return DENIED.into();
                }
                match server(reg, rest.first().copied()) {
                    Ok((pool, i)) => {
                        let bits = pool.members[i].admin.load(Ordering::Relaxed);
                        let bits = if *verb == "disable" {
                            bits | MAINT
                        } else {
                            bits & !MAINT
                        };
                        pool.set_admin(i, bits);
                        String::new()
                    }
                    Err(e) => e.into(),
                }
            }
            ["set", "weight", rest @ ..] => {
                if !admin {
                    return DENIED.into();
                }
                match server(reg, rest.first().copied()) {
                    Ok((pool, i)) => set_weight(&pool, i, rest.get(1).copied()),
                    Err(e) => e.into(),
                }
            }
            ["set", "server", rest @ ..] => {
                if !admin {
                    return DENIED.into();
                }
                set_server(reg, rest)
            }
            _ if help::STATS.is_listed(args) => {
                // Listed by 2.6 but not served by Pharos: say so plainly.
                format!("'{}' is not supported by this CLI.\n", args.join(" "))
            }
            _ => help::STATS.message(args, false),
        }
    }

    /// `user` / `operator`: a session may only lower its level.
    fn lower(&mut self, to: Level) -> String {
        if to > self.level {
            return DENIED.into();
        }
        self.level = to;
        String::new()
    }
}

/// An answer without its final empty line (added for every command).
fn without_blank(mut text: String) -> String {
    if text.ends_with("\n\n") {
        text.pop();
    }
    text
}

/// The line's commands: `;` separates, `\;` does not.
fn split_commands(line: &str) -> Vec<String> {
    let mut cmds = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                if let Some(s) = cmds.last_mut() {
                    s.push_str("\\;");
                }
                chars.next();
            }
            ';' => cmds.push(String::new()),
            _ => {
                if let Some(s) = cmds.last_mut() {
                    s.push(c);
                }
            }
        }
    }
    cmds
}

/// A command's words: blanks separate, a backslash takes the next
/// character literally.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            ' ' | '\t' | '\r' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The backends (and listens) with their statistics id (`iid`).
fn backends(reg: &Registry) -> impl Iterator<Item = (u32, &str, &Arc<Pool>)> {
    reg.entries.iter().enumerate().filter_map(|(i, e)| {
        let pool = e.pool.as_ref().filter(|_| e.kind != ProxyKind::Frontend)?;
        Some((u32::try_from(i).unwrap_or(0) + 2, e.name.as_str(), pool))
    })
}

/// A backend by name or `#id`.
fn backend<'r>(reg: &'r Registry, name: &str) -> Option<(u32, &'r Arc<Pool>)> {
    backends(reg)
        .find(|(iid, n, _)| *n == name || name.strip_prefix('#') == Some(&iid.to_string()))
        .map(|(iid, _, p)| (iid, p))
}

/// `<backend>/<server>` (names or `#id`s) with haproxy's messages.
pub(super) fn server(
    reg: &Registry,
    arg: Option<&str>,
) -> Result<(Arc<Pool>, usize), &'static str> {
    let (b, s) = arg
        .and_then(|a| a.split_once('/'))
        .filter(|(b, s)| !b.is_empty() && !s.is_empty())
        .ok_or(REQUIRE)?;
    let (_, pool) = backend(reg, b).ok_or("No such backend.\n")?;
    let i = pool
        .members
        .iter()
        .enumerate()
        .position(|(i, m)| m.name == s || s.strip_prefix('#') == Some(&(i + 1).to_string()))
        .ok_or("No such server.\n")?;
    Ok((Arc::clone(pool), i))
}

/// `set weight <b>/<s> <w>[%]` and `set server <b>/<s> weight <w>[%]`.
fn set_weight(pool: &Arc<Pool>, i: usize, arg: Option<&str>) -> String {
    let Some(arg) = arg.filter(|a| !a.is_empty()) else {
        return "Require <weight> or <weight%>.\n".into();
    };
    let (_, initial) = pool.weights(i).unwrap_or((0, 0));
    let digits = arg.trim_start_matches('-');
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return "Empty weight string empty or preceded by garbage".into();
    }
    let rest = &digits[end..];
    let relative = rest == "%";
    if !rest.is_empty() && !relative {
        return "Trailing garbage in weight string".into();
    }
    let negative = arg.starts_with('-');
    let value: u64 = digits[..end].parse().unwrap_or(u64::MAX);
    let weight = if relative {
        if negative {
            return "Relative weight must be positive.\n".into();
        }
        let w = u64::from(initial).saturating_mul(value) / 100;
        if w > 256 {
            return "Relative weight too large.\n".into();
        }
        w
    } else {
        if negative || value > 256 {
            return "Absolute weight can only be between 0 and 256 inclusive.\n".into();
        }
        value
    };
    match pool.set_weight(i, u32::try_from(weight).unwrap_or(u32::MAX)) {
        Ok(()) => String::new(),
        Err(e) => format!("{e}\n"),
    }
}

/// `set server <b>/<s> state|weight …`.
fn set_server(reg: &Registry, args: &[&str]) -> String {
    const USAGE: &str = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n";
    let (pool, i) = match server(reg, args.first().copied()) {
        Ok(found) => found,
        Err(e) => return e.into(),
    };
    match &args[1..] {
        ["state", state, ..] => {
            let bits = match *state {
                "ready" => 0,
                "drain" => DRAIN,
                "maint" => MAINT,
                _ => {
                    return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
                        .into();
                }
            };
            pool.set_admin(i, bits);
            String::new()
        }
        ["state"] => "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n".into(),
        ["weight", rest @ ..] => set_weight(&pool, i, rest.first().copied()),
        _ => USAGE.into(),
    }
}

/// `show backend`: `# name`, then one backend per line.
fn show_backend(reg: &Registry) -> String {
    let mut out = String::from("# name\n");
    for (_, name, _) in backends(reg) {
        out.push_str(name);
        out.push('\n');
    }
    out
}

/// haproxy's check status numbers (`HCHK_STATUS_*`) by short name.
fn check_status_code(status: &str) -> u32 {
    const NAMES: [&str; 21] = [
        "UNK", "INI", "START", "CHECKED", "HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
        "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L57DATA", "L7OK", "L7OKC", "L7STS", "PROCERR",
        "PROCTOUT", "PROCOK",
    ];
    NAMES
        .iter()
        .position(|n| *n == status)
        .map_or(0, |p| u32::try_from(p).unwrap_or(0))
}

/// `show servers state [backend]`: the version-1 format of
/// `server-state-file`, one line per server.
fn servers_state(reg: &Registry, only: Option<&str>) -> String {
    let mut out = String::from(
        "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n",
    );
    let chosen: Vec<(u32, &str, &Arc<Pool>)> = match only {
        Some(name) => match backend(reg, name) {
            Some((iid, pool)) => vec![(iid, pool.name.as_str(), pool)],
            None => return "Can't find backend.\n".into(),
        },
        None => backends(reg).collect(),
    };
    for (iid, name, pool) in chosen {
        for (i, m) in pool.members.iter().enumerate() {
            let admin = m.admin.load(Ordering::Relaxed);
            let up = m.up.load(Ordering::Relaxed) && admin & MAINT == 0;
            let (w, init) = pool.weights(i).unwrap_or((m.weight, m.weight));
            let check = m.check_view.lock().ok().and_then(|c| c.clone());
            // Status, result (0 unknown, 2 failed, 3 passed), health, state
            // (configured|enabled, paused in maintenance).
            let (status, result, health, state) = match &check {
                None if m.stopped_once.load(Ordering::Relaxed) => (1, 0, 0, 0),
                None => (1, 0, 2, 0),
                Some(c) => {
                    let code = check_status_code(&c.status);
                    let result = match code {
                        0..=4 => 0,
                        6 | 9 | 15 | 16 => 3,
                        _ => 2,
                    };
                    let paused = if admin & MAINT != 0 { 0x08 } else { 0 };
                    (code, result, c.health, 0x06 | paused)
                }
            };
            let (ip, port) = m
                .addr
                .map_or(("-".to_string(), 0), |a| (a.ip().to_string(), a.port()));
            let since = m.since.lock().map_or(0, |t| t.elapsed().as_secs());
            out.push_str(&format!(
                "{iid} {name} {} {} {ip} {} {admin} {w} {init} {since} {status} {result} {health} {state} 0 0 0 - {port} - 0 0 - - 0\n",
                i + 1,
                m.name,
                if up { 2 } else { 0 },
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
