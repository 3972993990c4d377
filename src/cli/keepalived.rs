//! `keepalived` command line (reference/keepalived.md §5.3), parsed with
//! lexopt the way getopt_long reads it, and `pharos dump keepalived`.

use crate::conf::keepalived::{self, Options};
use lexopt::prelude::*;
use std::ffi::OsString;
use std::io::Write;

/// Default configuration file of distribution builds.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// Everything the keepalived command line can say.
#[derive(Clone, Debug, Default)]
pub struct Args {
    pub config: Option<String>,
    pub vrrp_only: bool,
    pub check_only: bool,
    pub no_bfd: bool,
    pub all: bool,
    pub log_console: bool,
    pub log_detail: bool,
    pub log_facility: Option<String>,
    pub no_syslog: bool,
    pub umask: Option<String>,
    pub release_vips: bool,
    pub dont_release_vrrp: bool,
    pub dont_release_ipvs: bool,
    pub dont_respawn: bool,
    pub dont_fork: bool,
    pub dump_conf: bool,
    pub pid_file: Option<String>,
    pub vrrp_pid_file: Option<String>,
    pub checkers_pid_file: Option<String>,
    pub bfd_pid_file: Option<String>,
    pub address_monitoring: bool,
    pub snmp: bool,
    pub snmp_socket: Option<String>,
    pub namespace: Option<String>,
    pub core_dump: bool,
    pub core_dump_pattern: Option<String>,
    pub all_config: bool,
    pub config_id: Option<String>,
    pub signum: Option<String>,
    /// `-t[FILE]`: `Some(None)` = to stderr.
    pub config_test: Option<Option<String>>,
    pub version: bool,
    pub help: bool,
    pub genhash: bool,
    /// Words that are not options (keepalived warns and goes on).
    pub extra: Vec<String>,
}

/// Parses a keepalived command line (without argv[0]).
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Args, lexopt::Error> {
    let mut a = Args::default();
    let mut p = lexopt::Parser::from_args(args);
    let string = |v: OsString| v.to_string_lossy().into_owned();
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("use-file") => a.config = Some(string(p.value()?)),
            Short('P') | Long("vrrp") => a.vrrp_only = true,
            Short('C') | Long("check") => a.check_only = true,
            Short('B') | Long("no_bfd") => a.no_bfd = true,
            Long("all") => a.all = true,
            Short('l') | Long("log-console") => a.log_console = true,
            Short('D') | Long("log-detail") => a.log_detail = true,
            Short('S') | Long("log-facility") => a.log_facility = Some(string(p.value()?)),
            Short('G') | Long("no-syslog") => a.no_syslog = true,
            Short('g') | Long("log-file") => {
                let _ = p.optional_value();
            }
            Long("flush-log-file") => {}
            Short('u') | Long("umask") => a.umask = Some(string(p.value()?)),
            Short('X') | Long("release-vips") => a.release_vips = true,
            Short('V') | Long("dont-release-vrrp") => a.dont_release_vrrp = true,
            Short('I') | Long("dont-release-ipvs") => a.dont_release_ipvs = true,
            Short('R') | Long("dont-respawn") => a.dont_respawn = true,
            Short('n') | Long("dont-fork") => a.dont_fork = true,
            Short('d') | Long("dump-conf") => a.dump_conf = true,
            Short('p') | Long("pid") => a.pid_file = Some(string(p.value()?)),
            Short('r') | Long("vrrp_pid") => a.vrrp_pid_file = Some(string(p.value()?)),
            Short('c') | Long("checkers_pid") => a.checkers_pid_file = Some(string(p.value()?)),
            Short('b') | Long("bfd_pid") => a.bfd_pid_file = Some(string(p.value()?)),
            Short('a') | Long("address-monitoring") => a.address_monitoring = true,
            Short('x') | Long("snmp") => a.snmp = true,
            Short('A') | Long("snmp-agent-socket") => a.snmp_socket = Some(string(p.value()?)),
            Short('s') | Long("namespace") => a.namespace = Some(string(p.value()?)),
            Short('m') | Long("core-dump") => a.core_dump = true,
            Short('M') | Long("core-dump-pattern") => {
                a.core_dump = true;
                a.core_dump_pattern = Some(
                    p.optional_value()
                        .map(string)
                        .unwrap_or_else(|| "core".into()),
                );
            }
            Short('e') | Long("all-config") => a.all_config = true,
            Short('i') | Long("config-id") => a.config_id = Some(string(p.value()?)),
            Long("signum") => a.signum = Some(string(p.value()?)),
            Short('t') | Long("config-test") => {
                a.config_test = Some(p.optional_value().map(string))
            }
            Long("config-fd") => {
                let _ = p.value()?;
            }
            Long("ignore-sigint") | Long("no-mem-check") | Long("openssl-mem-check") => {}
            Long("perf") | Long("debug") | Short('L') | Long("mem-check-log") => {
                let _ = p.optional_value();
            }
            Short('T') | Long("genhash") => a.genhash = true,
            Short('v') | Long("version") => a.version = true,
            Short('h') | Long("help") => a.help = true,
            Value(v) => a.extra.push(string(v)),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(a)
}

/// The usage text, in keepalived 2.2.7's words.
pub const USAGE: &str = "\
Usage: keepalived [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                default '/etc/keepalived/keepalived.conf'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
      --all                    Force all child processes to run, even if have no configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -T, --genhash                Enter into genhash utility mode (this should be the first option used).
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -a, --address-monitoring     Report all address additions/deletions notified via netlink
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process
  -x, --snmp                   Enable SNMP subsystem
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN Also set /proc/sys/kernel/core_pattern to PATN (default 'core')
  -e, --all-config             Error if any configuration file missing (same as includet)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
  -v, --version                Display the version number
  -h, --help                   Display this help message
";

/// `keepalived -v`: the 2.2.7 shape, telling what this build is.
pub fn version_text() -> String {
    format!(
        "Keepalived v2.2.7 (Pharos {})\n\n\
         Copyright(C) 2001-2022 Alexandre Cassen, <acassen@gmail.com> (original keepalived)\n\
         Pharos is an independent reimplementation in Rust.\n\n\
         Config options:  LVS VRRP VRRP_AUTH VRRP_VMAC JSON\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The number `--signum` prints for a signal function name.
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => libc::SIGRTMAX() - 1,
        "JSON" => libc::SIGRTMIN() + 2,
        _ => return None,
    })
}

/// Runs the keepalived personality; `args[0]` is the program name.
pub fn main(args: Vec<OsString>) -> i32 {
    let a = match parse_args(args.into_iter().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            // getopt's wording: `Unknown option --bogus`.
            let text = e.to_string();
            let opt = text.split('\'').nth(1).unwrap_or(&text).to_string();
            eprintln!("Unknown option {opt}");
            return 1;
        }
    };
    if !a.extra.is_empty() {
        eprintln!("Unexpected argument(s): {} ", a.extra.join(" "));
    }
    if a.help {
        eprint!("{USAGE}");
        return 0;
    }
    if a.version {
        eprint!("{}", version_text());
        return 0;
    }
    if let Some(name) = &a.signum {
        return match signum(name) {
            Some(n) => {
                println!("{n}");
                0
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                1
            }
        };
    }
    if a.config_test.is_none()
        && let Some(ns) = &a.namespace
        && let Err(e) = enter_netns(ns)
    {
        eprintln!("{e}");
        return 1;
    }
    let path = a.config.clone().unwrap_or_else(|| DEFAULT_CONFIG.into());
    let opts = Options {
        config_id: a.config_id.clone(),
        all_config: a.all_config,
        check_interfaces: true,
    };
    let outcome = keepalived::read_file(&path, &opts);
    if let Some(log) = &a.config_test {
        let mut out: Box<dyn Write> = match log {
            Some(file) => match std::fs::File::create(file) {
                Ok(f) => Box::new(f),
                Err(_) => Box::new(std::io::stderr()),
            },
            None => Box::new(std::io::stderr()),
        };
        for d in &outcome.diagnostics {
            let _ = writeln!(out, "{}", outcome.render(d));
        }
        let code = if outcome.aborted {
            2
        } else {
            outcome.status().exit_code()
        };
        // The process ends here: freeing a large model costs time for nothing.
        std::mem::forget(outcome);
        return code;
    }
    for d in &outcome.diagnostics {
        eprintln!("{}", outcome.render(d));
    }
    if outcome.aborted {
        return 2;
    }
    run(&a, &path, outcome, &opts)
}

/// Daemon mode: runs the VRRP instances until SIGTERM or SIGINT, in the
/// foreground with `-n`, else detached (fork, setsid, chdir /). Logs go to
/// syslog (`-S` facility, none with `-G`) and with `-l` to the console.
/// SIGHUP re-reads the file; a configuration that cannot be used keeps the
/// running one.
fn run(a: &Args, path: &str, outcome: keepalived::Outcome, opts: &Options) -> i32 {
    let facility = a
        .log_facility
        .as_deref()
        .and_then(crate::daemon::syslog::facility)
        .unwrap_or(3);
    let parent = crate::daemon::Log::new(a.log_console, a.no_syslog, "Keepalived", facility);
    let vrrp = crate::daemon::Log::new(a.log_console, a.no_syslog, "Keepalived_vrrp", facility);
    let say = |m: &str| parent.say(m);
    if outcome.config.instances.is_empty() {
        say(
            "Keepalived: no vrrp_instance to run; the IPVS runtime is not part of this Pharos build yet.",
        );
        return 1;
    }
    // `net_namespace NAME` in the file: enter it and read the file again
    // there, so that interfaces are those of the namespace.
    let in_file = outcome
        .config
        .root
        .iter()
        .find(|o| o.keyword == "net_namespace")
        .and_then(|o| o.args.first().cloned());
    let outcome = match in_file.filter(|_| a.namespace.is_none()) {
        Some(ns) => {
            if let Err(e) = enter_netns(&ns) {
                say(&e);
                return 1;
            }
            keepalived::read_file(path, opts)
        }
        None => outcome,
    };
    // Paths must survive the chdir of daemon mode.
    let absolute = |p: &str| {
        std::path::absolute(p).map_or_else(|_| p.to_string(), |x| x.display().to_string())
    };
    let path = absolute(path);
    let pid = absolute(a.pid_file.as_deref().unwrap_or("/run/keepalived.pid"));
    let vrrp_pid = absolute(a.vrrp_pid_file.as_deref().unwrap_or("/run/vrrp.pid"));
    if !a.dont_fork
        && let Err(e) = nix::unistd::daemon(false, a.log_console)
    {
        say(&format!("Unable to daemonize: {e}"));
        return 1;
    }
    say(&format!(
        "Starting Keepalived v2.2.7 (Pharos {})",
        env!("CARGO_PKG_VERSION")
    ));
    say(&format!("Configuration file {path}"));
    let _pidfiles = match (
        crate::daemon::PidFile::create(std::path::Path::new(&pid)),
        crate::daemon::PidFile::create(std::path::Path::new(&vrrp_pid)),
    ) {
        (Ok(p), Ok(v)) => (p, v),
        (Err(e), _) | (_, Err(e)) => {
            say(&format!("Unable to write pid file: {e}"));
            return 1;
        }
    };
    let signals = match crate::daemon::Signals::install() {
        Ok(s) => s,
        Err(e) => {
            say(&format!("Unable to install signal handlers: {e}"));
            return 1;
        }
    };
    say("Startup complete");
    crate::daemon::sd_notify("READY=1");
    let mut reload = || {
        let o = keepalived::read_file(&path, opts);
        for d in &o.diagnostics {
            vrrp.say(&o.render(d));
        }
        let unusable = o.aborted || o.status().exit_code() == 4 || o.config.instances.is_empty();
        (!unusable).then_some(o.config)
    };
    let control = crate::vrrp::run::Control {
        signals: &signals,
        reload: &mut reload,
        log: &mut |m| vrrp.say(m),
        keep_vips: a.dont_release_vrrp,
    };
    let result = crate::vrrp::run::run(outcome.config, control);
    match result {
        Ok(()) => {
            say("Stopped");
            0
        }
        Err(e) => {
            say(&format!("VRRP: {e}"));
            1
        }
    }
}

/// Moves this process into network namespace `name` (`-s`, `net_namespace`).
fn enter_netns(name: &str) -> Result<(), String> {
    use std::os::fd::AsFd;
    std::fs::File::open(format!("/var/run/netns/{name}"))
        .and_then(|f| {
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)
        })
        .map_err(|e| format!("Unable to enter network namespace {name}: {e}"))
}

/// `pharos dump keepalived [-i ID] -f FILE`; `args[0]` is "keepalived".
pub fn dump(args: Vec<OsString>) -> i32 {
    let a = match parse_args(args.into_iter().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pharos dump keepalived: {e}");
            return 1;
        }
    };
    let path = a.config.unwrap_or_else(|| DEFAULT_CONFIG.into());
    let opts = Options {
        config_id: a.config_id,
        all_config: a.all_config,
        check_interfaces: false,
    };
    let outcome = keepalived::read_file(&path, &opts);
    for d in &outcome.diagnostics {
        eprintln!("{}", outcome.render(d));
    }
    match serde_json::to_string_pretty(&outcome.config) {
        Ok(json) => {
            println!("{json}");
            0
        }
        Err(e) => {
            eprintln!("pharos dump keepalived: {e}");
            1
        }
    }
}
