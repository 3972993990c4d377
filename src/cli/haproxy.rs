//! The `haproxy` command line (2.6 flags and messages): `-c` checks,
//! `-cc` conditions, `-v`/`-vv`, and the run mode (`proxy::run`: `mode
//! tcp` proxies for now; `mode http` is refused plainly).
//! Renders the reader's diagnostics in haproxy's `[LEVEL]    (PID) : config : …`
//! shape; owns no parsing.

mod master;
mod start;

use crate::conf::haproxy::{self, Level, Options, Outcome, cond};
use start::{Console, print_notices, serve};
use std::ffi::OsString;
use std::path::PathBuf;

const USAGE: &str = "\
Usage : haproxy [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]
        [ -p <pidfile> ] [ -m <max megs> ] [ -C <dir> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -dM[<byte>,help,...] debug memory (default: poison with <byte>/0x50)
        -V enters verbose mode (disables quiet mode)
        -D goes daemon ; -C changes to <dir> before loading files.
        -W master-worker mode.
        -Ws master-worker mode with systemd notify support.
        -q quiet mode : don't display messages
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -n sets the maximum total # of connections (uses ulimit -n)
        -m limits the usable amount of memory (in MB)
        -N sets the default, per-proxy maximum # of connections (0)
        -L set local peer name (default to hostname)
        -p writes pids of all children to this file
        -de disables epoll() usage even when available
        -dp disables poll() usage even when available
        -dS disables splice usage (broken on old kernels)
        -dG disables getaddrinfo() usage
        -dR disables SO_REUSEPORT usage
        -dL dumps loaded object files after config checks
        -dK{class[,...]} dump registered keywords (use 'help' for list)
        -dr ignores server address resolution failures
        -dV disables SSL verify on servers side
        -dW fails if any warning is emitted
        -dD diagnostic mode : warn about suspicious configuration statements
        -sf/-st [pid ]* finishes/terminates old pids.
        -x <unix_socket> get listening sockets from a unix socket
        -S <bind>[,<bind options>...] new master CLI

";

/// The release date shown by `-v`.
const RELEASE_DATE: &str = "2026/11/24";

/// Everything the command line says.
#[derive(Debug, Default)]
struct CmdLine {
    /// argv[0] as given: haproxy names itself by it in some alerts.
    argv0: String,
    files: Vec<PathBuf>,
    check: bool,
    condition: Option<String>,
    chdir: Option<PathBuf>,
    version: u8,
    quiet: bool,
    verbose: bool,
    zero_warning: bool,
    diagnostic: bool,
    daemon: bool,
    /// `-d`/`-db`: stay in the foreground even with `daemon` in the file.
    foreground: bool,
    master_worker: bool,
    /// `-Ws`: tell systemd (sd_notify) how the master is doing.
    systemd: bool,
    /// Started by a master (`-W`) as its worker.
    worker: bool,
    /// The arguments after argv[0], as given: a master starts its workers with them.
    args: Vec<OsString>,
    pidfile: Option<PathBuf>,
    old_pids: Vec<i32>,
    terminate_old: bool,
    /// `-x`: the old process's stats socket, to take its listening sockets from.
    socket_transfer: Option<String>,
    master_cli: Vec<String>,
    maxconn: Option<u32>,
    proxy_maxconn: Option<u32>,
    mem_limit_mb: Option<u32>,
    local_peer: Option<String>,
    debug: Vec<String>,
}

enum Parsed {
    Run(Box<CmdLine>),
    Usage,
}

fn parse_args(args: &[OsString]) -> Parsed {
    let mut c = CmdLine {
        argv0: args
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default(),
        args: args.iter().skip(1).cloned().collect(),
        ..CmdLine::default()
    };
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if words.is_empty() {
        return Parsed::Usage;
    }
    let mut i = 0;
    // Each turn consumes at least one word.
    while i < words.len() {
        let w = words[i].as_str();
        let next = |i: &mut usize| -> Option<String> {
            *i += 1;
            words.get(*i).cloned()
        };
        if !w.starts_with('-') || w == "-" {
            // haproxy treats a bare word as a configuration file.
            c.files.push(PathBuf::from(w));
            i += 1;
            continue;
        }
        match w {
            "--" => {
                c.files.extend(words[i + 1..].iter().map(PathBuf::from));
                break;
            }
            "-v" => c.version = c.version.max(1),
            "-vv" => c.version = 2,
            "-c" => c.check = true,
            "-cc" => match next(&mut i) {
                Some(e) => c.condition = Some(e),
                None => return Parsed::Usage,
            },
            "-q" => c.quiet = true,
            "-V" => c.verbose = true,
            "-D" => c.daemon = true,
            "-W" => c.master_worker = true,
            "-Ws" => {
                c.master_worker = true;
                c.systemd = true;
            }
            "-dW" => c.zero_warning = true,
            "-dD" => c.diagnostic = true,
            "-sf" | "-st" => {
                c.terminate_old = w == "-st";
                while let Some(p) = words.get(i + 1).filter(|p| !p.starts_with('-')) {
                    match p.parse() {
                        Ok(pid) => c.old_pids.push(pid),
                        Err(_) => return Parsed::Usage,
                    }
                    i += 1;
                }
            }
            "-f" | "-C" | "-p" | "-x" | "-S" | "-n" | "-N" | "-m" | "-L" => {
                let Some(v) = next(&mut i) else {
                    return Parsed::Usage;
                };
                match w {
                    "-f" => c.files.push(PathBuf::from(v)),
                    "-C" => c.chdir = Some(PathBuf::from(v)),
                    "-p" => c.pidfile = Some(PathBuf::from(v)),
                    "-x" => c.socket_transfer = Some(v),
                    "-S" => c.master_cli.push(v),
                    "-L" => c.local_peer = Some(v),
                    _ => {
                        let n = crate::conf::haproxy::values::atou(&v);
                        match w {
                            "-n" => c.maxconn = Some(n),
                            "-N" => c.proxy_maxconn = Some(n),
                            _ => c.mem_limit_mb = Some(n),
                        }
                    }
                }
            }
            d if d.starts_with("-d") => {
                c.foreground |= d == "-d" || d == "-db";
                c.debug.push(d.to_string());
            }
            f if f.starts_with("-f") && f.len() > 2 => c.files.push(PathBuf::from(&f[2..])),
            _ => return Parsed::Usage,
        }
        i += 1;
    }
    Parsed::Run(Box::new(c))
}

fn running_on() -> String {
    match nix::sys::utsname::uname() {
        Ok(u) => format!(
            "Running on: {} {} {} {}",
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy(),
            u.version().to_string_lossy(),
            u.machine().to_string_lossy()
        ),
        Err(_) => "Running on: unknown".into(),
    }
}

fn version_text() -> String {
    format!(
        "HAProxy version {} {RELEASE_DATE} - https://haproxy.org/\n\
Status: Pharos {} (a Rust replacement reading haproxy 2.6 configurations).\n\
Known bugs: what Pharos does not do yet is listed in its README and haproxy(1) (DIFFERENCES).\n{}\n",
        cond::VERSION,
        env!("CARGO_PKG_VERSION"),
        running_on()
    )
}

fn build_text() -> String {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!(
        "Build options :\n  TARGET  = linux-rust\n  CPU     = {}\n  CC      = rustc\n  OPTIONS = \n\n\
Feature list : {}\n\n\
Default settings :\n  bufsize = 16384, maxrewrite = 1024, maxpollevents = 200\n\n\
Built with multi-threading support (MAX_THREADS=64, default={threads}).\n\
Built without OpenSSL support (TLS, when it comes, is provided by rustls).\n\
Built without Lua support.\n\
Built without PCRE or PCRE2 support (regexes use the Rust regex engine).\n\
Built without compression support.\n\
Built with transparent proxy support using: IP_TRANSPARENT IPV6_TRANSPARENT IP_FREEBIND\n\n\
Available polling systems :\n      epoll : pref=300,  test result OK\n\
Total: 1 (1 usable), will use epoll.\n\n\
Available multiplexer protocols :\n(protocols marked as <default> cannot be specified using 'proto' keyword)\n\
  <default> : mode=HTTP  side=FE|BE  mux=H1    flags=\n\
  <default> : mode=TCP   side=FE|BE  mux=PASS  flags=\n\n\
Available services : none\n\nAvailable filters : none\n",
        std::env::consts::ARCH,
        cond::FEATURES
    )
}

/// Prints diagnostics as haproxy does (`-q` silences, `.diag` only with `-dD`).
fn render(outcome: &Outcome, pid: u32, quiet: bool, diagnostic: bool) {
    if quiet {
        return;
    }
    for d in &outcome.diagnostics {
        if d.kind == Level::Diag && !diagnostic {
            continue;
        }
        eprintln!("{}({pid}) : config : {}", d.kind.tag(), d.message);
    }
}

/// Runs the haproxy personality; `args[0]` is the program name.
pub fn main(args: Vec<OsString>) -> i32 {
    let pid = std::process::id();
    let cmd = match parse_args(&args) {
        Parsed::Usage => {
            eprint!("{}{USAGE}", version_text());
            return 1;
        }
        Parsed::Run(c) => c,
    };
    let mut cmd = cmd;
    match master::is_worker() {
        None => {}
        Some(false) => return 1,
        Some(true) => {
            // The master owns the pidfile, the background and its CLI.
            cmd.worker = true;
            cmd.master_worker = false;
            cmd.daemon = false;
            cmd.foreground = true;
            cmd.pidfile = None;
            cmd.master_cli.clear();
        }
    }
    if cmd.version > 0 {
        print!("{}", version_text());
        if cmd.version > 1 {
            print!("{}", build_text());
        }
        return 0;
    }
    let quiet = cmd.quiet && !cmd.verbose;
    let notices = |quiet: bool| {
        if !quiet {
            print_notices(pid);
        }
    };
    if let Some(expr) = &cmd.condition {
        return match haproxy::eval_condition(expr) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(e) => {
                notices(quiet);
                if !quiet {
                    eprintln!(
                        "{}({pid}) : config : Failed to evaluate condition: {e}",
                        Level::Alert.tag()
                    );
                }
                2
            }
        };
    }
    if let Some(dir) = &cmd.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        if !quiet {
            eprintln!(
                "{}({pid}) : Could not change to directory {} : {e}",
                Level::Alert.tag(),
                dir.display()
            );
        }
        return 1;
    }
    if cmd.files.is_empty() {
        if !quiet {
            eprint!("{}{USAGE}", version_text());
        }
        return 1;
    }
    let opts = Options {
        zero_warning: cmd.zero_warning,
        diagnostic: cmd.diagnostic,
    };
    let outcome = haproxy::read_files(&cmd.files, &opts);
    if cmd.check {
        // haproxy prints its two NOTICE lines before the first message only.
        if outcome
            .diagnostics
            .iter()
            .any(|d| d.kind != Level::Diag || cmd.diagnostic)
        {
            notices(quiet);
        }
        render(&outcome, pid, quiet, cmd.diagnostic);
        if outcome.is_fatal() {
            return 1;
        }
        if !quiet && outcome.has_warnings() {
            println!("Warnings were found.");
        }
        let local_peer = cmd.local_peer.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        // `-W`/`-Ws` start the master CLI, which is a listener of its own.
        if !cmd.master_worker && !outcome.has_listeners(&local_peer) {
            if !quiet {
                println!(
                    "Configuration file has no error but will not start (no listener) => exit(2)."
                );
            }
            return 2;
        }
        if !quiet {
            println!("Configuration file is valid");
        }
        return 0;
    }
    // haproxy prints its two NOTICE lines before the first message only.
    let shown = !quiet
        && outcome
            .diagnostics
            .iter()
            .any(|d| d.kind != Level::Diag || cmd.diagnostic);
    if shown {
        print_notices(pid);
    }
    render(&outcome, pid, quiet, cmd.diagnostic);
    if outcome.is_fatal() {
        return 1;
    }
    let console = Console {
        pid,
        quiet,
        noticed: std::cell::Cell::new(shown),
    };
    let g = &outcome.config.global;
    if !cmd.worker && (cmd.master_worker || g.master_worker) {
        // `-Ws` stays in the foreground whatever the file says.
        let daemon = !cmd.systemd && (cmd.daemon || (g.daemon && !cmd.foreground));
        let pidfile = cmd.pidfile.as_deref().or(g.pidfile.as_deref());
        return master::run(&cmd, &outcome.config, &console, daemon, pidfile);
    }
    serve(&outcome, &cmd, &console)
}

/// `pharos dump haproxy -f FILE…`; `args[0]` is "haproxy". Prints the model
/// as pretty JSON on stdout; on fatal errors prints the alerts and exits 1.
pub fn dump(args: Vec<OsString>) -> i32 {
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut files = Vec::new();
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "-f" => {
                let Some(f) = words.get(i + 1) else {
                    eprintln!("pharos dump haproxy: '-f' expects a file");
                    return 1;
                };
                files.push(PathBuf::from(f));
                i += 2;
            }
            other => {
                eprintln!("pharos dump haproxy: unexpected argument '{other}'");
                return 1;
            }
        }
    }
    if files.is_empty() {
        eprintln!("pharos dump haproxy: no configuration file (-f FILE)");
        return 1;
    }
    let outcome = haproxy::read_files(&files, &Options::default());
    let pid = std::process::id();
    if outcome.is_fatal() {
        for d in outcome
            .diagnostics
            .iter()
            .filter(|d| d.kind == Level::Alert)
        {
            eprintln!("{}({pid}) : config : {}", d.kind.tag(), d.message);
        }
        return 1;
    }
    match serde_json::to_string_pretty(&outcome.config) {
        Ok(s) => {
            println!("{s}");
            0
        }
        Err(e) => {
            eprintln!("pharos dump haproxy: {e}");
            1
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        std::iter::once("haproxy")
            .chain(s.split(' '))
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn odd_flags() {
        let Parsed::Run(c) = parse_args(&args(
            "-f a.cfg -f b.cfg -sf 12 34 -q -c -dW -- c.cfg d.cfg",
        )) else {
            panic!("usage")
        };
        assert_eq!(
            c.files,
            ["a.cfg", "b.cfg", "c.cfg", "d.cfg"].map(PathBuf::from)
        );
        assert_eq!(c.old_pids, [12, 34]);
        assert!(c.quiet && c.check && c.zero_warning);
        let Parsed::Run(c) = parse_args(&args("-cc version_atleast(2.4)")) else {
            panic!("usage")
        };
        assert_eq!(c.condition.as_deref(), Some("version_atleast(2.4)"));
        assert!(matches!(parse_args(&args("-Z")), Parsed::Usage));
        assert!(matches!(
            parse_args(&[OsString::from("haproxy")]),
            Parsed::Usage
        ));
    }

    #[test]
    fn version_keeps_the_2_6_prefix() {
        assert!(version_text().starts_with("HAProxy version 2.6."));
        assert!(build_text().contains("Feature list : "));
    }
}
