//! Where haproxy's log lines go: a proxy's `log` targets (`log global`
//! brings the global ones) as a [`Sink`] — UDP syslog, a unix datagram
//! socket such as `/dev/log`, or stdout/stderr — each with its facility,
//! level filter, `len` and `format` (`local` by default: RFC 3164 without
//! host name). Sending never blocks: a line that cannot go is dropped.
//! What a stream did is collected by `proxy::trace` and rendered by
//! `proxy::log`.

use crate::daemon::syslog::{self, Severity, Syslog};
use crate::model::haproxy::{HaproxyConfig, LogAddress, LogTarget, Proxy, ProxyLog};
use crate::model::{Endpoint, Host};
use std::io::Write;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The header put before the message (`log … format F`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `<PRI>Mmm dd hh:mm:ss tag[pid]: ` (the default).
    Local,
    /// As `local`, with the host name when `log-send-hostname` gives one.
    Rfc3164,
    /// `<PRI>1 ISO-DATE host tag pid - - `.
    Rfc5424,
    /// Nothing.
    Raw,
    /// `<SEVERITY>`.
    Short,
    /// `<PRI>`.
    Priority,
    /// `<SEVERITY>ISO-DATE `.
    Timed,
    /// `ISO-DATE `.
    Iso,
}

impl Format {
    fn parse(name: Option<&str>) -> Format {
        match name {
            Some("rfc3164") => Format::Rfc3164,
            Some("rfc5424") => Format::Rfc5424,
            Some("raw") => Format::Raw,
            Some("short") => Format::Short,
            Some("priority") => Format::Priority,
            Some("timed") => Format::Timed,
            Some("iso") => Format::Iso,
            _ => Format::Local,
        }
    }
}

enum Out {
    Syslog(Syslog),
    Stdout,
    Stderr,
}

/// One `log` line.
struct Target {
    out: Out,
    facility: u8,
    format: Format,
    /// `len`: longer lines are cut (the newline is kept).
    max_len: usize,
    /// Messages less severe than this are not sent.
    max_level: Severity,
    /// Messages less severe than this are raised to it.
    min_level: Option<Severity>,
}

/// A proxy's (or the process's) log targets.
pub(super) struct Sink {
    targets: Vec<Target>,
    tag: String,
    hostname: Option<String>,
}

impl Sink {
    /// The targets proxy `p` logs to (`log global` = the global ones); None
    /// when it logs nowhere.
    pub fn for_proxy(cfg: &HaproxyConfig, p: &Proxy) -> Option<Sink> {
        let mut lines: Vec<&LogTarget> = Vec::new();
        for l in &p.logs {
            match l {
                ProxyLog::Global => lines.extend(&cfg.global.logs),
                ProxyLog::Target(t) => lines.push(t),
            }
        }
        Sink::new(cfg, &lines)
    }

    /// The global `log` targets (what haproxy's internal proxies log to).
    pub fn for_global(cfg: &HaproxyConfig) -> Option<Sink> {
        let lines: Vec<&LogTarget> = cfg.global.logs.iter().collect();
        Sink::new(cfg, &lines)
    }

    fn new(cfg: &HaproxyConfig, lines: &[&LogTarget]) -> Option<Sink> {
        let targets: Vec<Target> = lines.iter().filter_map(|t| target(t)).collect();
        if targets.is_empty() {
            return None;
        }
        let hostname = cfg.global.log_send_hostname.as_ref().map(|h| {
            h.clone().unwrap_or_else(|| {
                nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .unwrap_or_default()
            })
        });
        Some(Sink {
            targets,
            tag: cfg
                .global
                .log_tag
                .clone()
                .unwrap_or_else(|| "haproxy".into()),
            hostname,
        })
    }

    /// Sends `message` at `severity` to every target that takes it.
    pub fn send(&self, severity: Severity, message: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // Read now: a sink made before `-D` forks logs the child's pid.
        let pid = std::process::id();
        for t in &self.targets {
            if severity as u8 > t.max_level as u8 {
                continue;
            }
            let severity = match t.min_level {
                Some(min) if severity as u8 > min as u8 => min,
                _ => severity,
            };
            let level = severity as u8;
            let pri = u32::from(t.facility) * 8 + u32::from(level);
            let mut line = match t.format {
                Format::Local | Format::Rfc3164 => {
                    // rfc3164 names the host when `log-send-hostname` gives one.
                    let ident = match self.hostname.as_deref() {
                        Some(h) if t.format == Format::Rfc3164 => format!("{h} {}", self.tag),
                        _ => self.tag.clone(),
                    };
                    let stamp = syslog::timestamp_at(now.as_secs());
                    syslog::format_line(t.facility, severity, &stamp, &ident, pid, "")
                }
                Format::Rfc5424 => format!(
                    "<{pri}>1 {} {} {} {} - - ",
                    iso_date(now),
                    self.hostname.as_deref().unwrap_or("-"),
                    self.tag,
                    pid
                ),
                Format::Raw => String::new(),
                Format::Short => format!("<{level}>"),
                Format::Priority => format!("<{pri}>"),
                Format::Timed => format!("<{level}>{} ", iso_date(now)),
                Format::Iso => format!("{} ", iso_date(now)),
            };
            line.push_str(message);
            if line.len() > t.max_len.saturating_sub(1) {
                let mut cut = t.max_len.saturating_sub(1);
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.truncate(cut);
            }
            line.push('\n');
            match &t.out {
                Out::Syslog(s) => s.deliver(line.as_bytes()),
                Out::Stdout => drop(std::io::stdout().lock().write_all(line.as_bytes())),
                Out::Stderr => drop(std::io::stderr().lock().write_all(line.as_bytes())),
            }
        }
    }
}

/// Opens one target; None when its address cannot be used.
fn target(t: &LogTarget) -> Option<Target> {
    let facility = syslog::facility(&t.facility)?;
    let out = match &t.address {
        LogAddress::Stdout => Out::Stdout,
        LogAddress::Stderr => Out::Stderr,
        LogAddress::Datagram(Endpoint::Unix { path }) => {
            Out::Syslog(Syslog::unix(path, "haproxy", facility).ok()?)
        }
        LogAddress::Datagram(Endpoint::Inet {
            host: Host::Ip(ip),
            ports,
            ..
        }) => {
            let port = ports.map_or(514, |(p, _)| p);
            Out::Syslog(Syslog::udp(SocketAddr::new(*ip, port), "haproxy", facility).ok()?)
        }
        // `tcp@`, `ring@`, names to resolve: not supported (lines dropped).
        _ => return None,
    };
    let level = |l: &Option<String>| l.as_deref().and_then(Severity::from_name);
    Some(Target {
        out,
        facility,
        format: Format::parse(t.format.as_deref()),
        max_len: t.max_len.map_or(1024, |n| n as usize),
        max_level: level(&t.max_level).unwrap_or(Severity::Debug),
        min_level: level(&t.min_level),
    })
}

/// `2026-11-24T22:20:57.863324+00:00` (UTC, as the daemons run with TZ unset).
fn iso_date(now: std::time::Duration) -> String {
    let secs = now.as_secs();
    let (y, m, d) = crate::daemon::civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        s / 3600,
        s / 60 % 60,
        s % 60,
        now.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_are_utc_with_microseconds() {
        let t = std::time::Duration::new(1_795_558_857, 863_324_000);
        assert_eq!(iso_date(t), "2026-11-24T22:20:57.863324+00:00");
    }

    #[test]
    fn format_names_map_as_haproxy_spells_them() {
        assert_eq!(Format::parse(None), Format::Local);
        assert_eq!(Format::parse(Some("raw")), Format::Raw);
        assert_eq!(Format::parse(Some("rfc5424")), Format::Rfc5424);
    }
}
