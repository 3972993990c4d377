//! Process plumbing shared by both personalities: pid files, stop signals,
//! daemon mode, privileges and limits, and keepalived's console log line
//! format.

pub mod identity;
pub mod limits;
pub mod sys;
pub mod syslog;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{SystemTime, UNIX_EPOCH};

/// A pid file that is removed when dropped.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes our pid (and a newline) to `path`.
    pub fn create(path: &Path) -> std::io::Result<PidFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, format!("{}\n", std::process::id()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The second half of daemon mode, in the forked child: a new session
/// (no controlling terminal) and standard streams on `/dev/null`.
pub fn into_background() -> std::io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    nix::unistd::dup2_stderr(&null)?;
    // Fails only when already a group leader, which a fresh child is not.
    let _ = nix::unistd::setsid();
    Ok(())
}

/// A flag that SIGTERM and SIGINT set (an orderly stop).
pub fn stop_flag() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// The signals a keepalived-style daemon acts on, each as a flag the
/// signal handler sets and the main loop takes (reference/keepalived.md
/// §5.2): stop (SIGTERM/SIGINT), reload (SIGHUP), data dump (SIGUSR1),
/// stats (SIGUSR2), stats-and-clear (SIGRTMAX-1), JSON (SIGRTMIN+2).
pub struct Signals {
    pub stop: Arc<AtomicBool>,
    pub reload: Arc<AtomicBool>,
    pub data: Arc<AtomicBool>,
    pub stats: Arc<AtomicBool>,
    pub stats_clear: Arc<AtomicBool>,
    pub json: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGHUP, SIGUSR1, SIGUSR2};
        let s = Signals {
            stop: stop_flag()?,
            reload: Arc::default(),
            data: Arc::default(),
            stats: Arc::default(),
            stats_clear: Arc::default(),
            json: Arc::default(),
        };
        let flags = [
            (SIGHUP, &s.reload),
            (SIGUSR1, &s.data),
            (SIGUSR2, &s.stats),
            (libc::SIGRTMAX() - 1, &s.stats_clear),
            (libc::SIGRTMIN() + 2, &s.json),
        ];
        for (sig, flag) in flags {
            signal_hook::flag::register(sig, Arc::clone(flag))?;
        }
        Ok(s)
    }

    /// Whether `flag` was raised since the last look (and lowers it).
    pub fn take(flag: &AtomicBool) -> bool {
        flag.swap(false, std::sync::atomic::Ordering::Relaxed)
    }
}

/// An I/O error as C's `strerror` words it (`Connection refused`), without
/// Rust's ` (os error N)` suffix: the text both originals print.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.split_once(" (os error") {
        Some((words, _)) => words.to_string(),
        None => text,
    }
}

/// Tells systemd about the service's state (`READY=1`, `RELOADING=1`,
/// `STOPPING=1`) when it started us with `Type=notify`: a datagram to
/// `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket). Without
/// the variable this does nothing; failures are ignored.
pub fn sd_notify(state: &str) {
    if let Some(target) = std::env::var_os("NOTIFY_SOCKET") {
        let _ = notify_socket(&target.to_string_lossy(), state);
    }
}

fn notify_socket(target: &str, state: &str) -> std::io::Result<()> {
    let sock = std::os::unix::net::UnixDatagram::unbound()?;
    match target.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            sock.send_to(state.as_bytes(), target)?;
        }
    }
    Ok(())
}

/// Where a keepalived-style daemon's lines go: the console (`-l`, with
/// keepalived's time prefix) and/or syslog under an ident.
pub struct Log {
    console: bool,
    syslog: Option<syslog::Syslog>,
}

impl Log {
    /// A log to the console when `console`, and to `/dev/log` under
    /// `ident` with `facility` unless `no_syslog` (or no syslog daemon).
    pub fn new(console: bool, no_syslog: bool, ident: &str, facility: u8) -> Log {
        let syslog = (!no_syslog)
            .then(|| syslog::Syslog::unix(Path::new("/dev/log"), ident, facility).ok())
            .flatten();
        Log { console, syslog }
    }

    /// Logs one line.
    pub fn say(&self, message: &str) {
        if self.console {
            eprintln!("{}", console_line(message));
        }
        if let Some(s) = &self.syslog {
            s.send(syslog::Severity::Info, message);
        }
    }
}

/// keepalived's console prefix: `Tue Nov 24 19:43:21 2026: ` (UTC).
pub fn console_line(message: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{}: {message}", ctime(secs))
}

/// `Www Mmm dd hh:mm:ss yyyy` for seconds since the epoch (UTC).
pub fn ctime(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)],
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        year
    )
}

/// Day names from Thursday: 1970-01-01 was a Thursday.
pub const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
/// Month abbreviations as ctime(3) prints them.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod notify_tests {
    use super::*;

    #[test]
    fn readiness_reaches_the_notify_socket() {
        let path = std::env::temp_dir().join(format!("pharos-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        notify_socket(&path.display().to_string(), "READY=1").expect("send");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1");
        let _ = std::fs::remove_file(&path);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ctime_like_glibc() {
        // date -u -d @1795542201 → Tue Nov 24 17:43:21 2026
        assert_eq!(super::ctime(1_795_542_201), "Tue Nov 24 17:43:21 2026");
        assert_eq!(super::ctime(0), "Thu Jan  1 00:00:00 1970");
    }
}
