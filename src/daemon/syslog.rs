//! Sending log lines to syslog as glibc's `syslog(3)` does for keepalived
//! and as haproxy does for `log /dev/log` or `log 127.0.0.1 local2`:
//! RFC 3164 `<PRI>Mmm dd hh:mm:ss ident[pid]: message` datagrams to a unix
//! socket or a UDP address. Losing a line never blocks or fails the caller.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// Syslog facilities by name (`daemon`, `local0`…`local7`, …) as numbers.
pub fn facility(name: &str) -> Option<u8> {
    const NAMES: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
        "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ];
    if let Ok(n) = name.parse::<u8>() {
        // keepalived's `-S 0..7` means local0..local7.
        return (n <= 7).then_some(16 + n);
    }
    NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// Syslog severities (RFC 5424 numbers).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Severity {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Severity {
    /// `emerg`, `alert`, … `debug` (the names haproxy's `log` lines use).
    pub fn from_name(name: &str) -> Option<Severity> {
        const ALL: [Severity; 8] = [
            Severity::Emerg,
            Severity::Alert,
            Severity::Crit,
            Severity::Err,
            Severity::Warning,
            Severity::Notice,
            Severity::Info,
            Severity::Debug,
        ];
        const NAMES: [&str; 8] = [
            "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
        ];
        NAMES.iter().position(|n| *n == name).map(|i| ALL[i])
    }
}

enum Target {
    Unix(UnixDatagram),
    Udp(UdpSocket, SocketAddr),
}

/// A syslog destination with an ident and a facility.
pub struct Syslog {
    target: Target,
    ident: String,
    facility: u8,
}

impl Syslog {
    /// `/dev/log` (or another unix datagram socket path).
    pub fn unix(path: &Path, ident: &str, facility: u8) -> std::io::Result<Syslog> {
        let sock = UnixDatagram::unbound()?;
        sock.connect(path)?;
        sock.set_nonblocking(true)?;
        Ok(Syslog {
            target: Target::Unix(sock),
            ident: ident.to_string(),
            facility,
        })
    }

    /// A UDP syslog server.
    pub fn udp(addr: SocketAddr, ident: &str, facility: u8) -> std::io::Result<Syslog> {
        let bind: SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0".parse().map_err(std::io::Error::other)?
        } else {
            "[::]:0".parse().map_err(std::io::Error::other)?
        };
        let sock = UdpSocket::bind(bind)?;
        sock.set_nonblocking(true)?;
        Ok(Syslog {
            target: Target::Udp(sock, addr),
            ident: ident.to_string(),
            facility,
        })
    }

    /// Changes the ident (keepalived's parent and VRRP process differ).
    pub fn set_ident(&mut self, ident: &str) {
        self.ident = ident.to_string();
    }

    /// Sends one datagram as it is (the caller formatted it).
    pub fn deliver(&self, datagram: &[u8]) {
        let _ = match &self.target {
            Target::Unix(s) => s.send(datagram),
            Target::Udp(s, to) => s.send_to(datagram, to),
        };
    }

    /// Sends one line.
    pub fn send(&self, severity: Severity, message: &str) {
        let line = format_line(
            self.facility,
            severity,
            &timestamp(),
            &self.ident,
            std::process::id(),
            message,
        );
        self.deliver(line.as_bytes());
    }
}

/// `<PRI>TIMESTAMP IDENT[PID]: MESSAGE`.
pub fn format_line(
    facility: u8,
    severity: Severity,
    stamp: &str,
    ident: &str,
    pid: u32,
    message: &str,
) -> String {
    let pri = u32::from(facility) * 8 + severity as u32;
    format!("<{pri}>{stamp} {ident}[{pid}]: {message}")
}

/// `Nov 24 19:43:21` (local time as the C library would print it; UTC
/// here, the daemons run with TZ unset).
pub fn timestamp() -> String {
    timestamp_at(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// The same stamp for a given time (seconds since the epoch), for lines
/// whose time is injected (haproxy's traffic logs, tests).
pub fn timestamp_at(secs: u64) -> String {
    let c = super::ctime(secs);
    // ctime: "Tue Nov 24 19:43:21 2026" → "Nov 24 19:43:21".
    c.get(4..19).unwrap_or(&c).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_facilities_are_rfc3164() {
        assert_eq!(facility("daemon"), Some(3));
        assert_eq!(facility("local2"), Some(18));
        assert_eq!(facility("3"), Some(19));
        assert_eq!(facility("bogus"), None);
        assert_eq!(
            format_line(
                3,
                Severity::Info,
                "Nov 24 19:43:21",
                "Keepalived_vrrp",
                42,
                "(VI_1) Entering MASTER STATE"
            ),
            "<30>Nov 24 19:43:21 Keepalived_vrrp[42]: (VI_1) Entering MASTER STATE"
        );
        assert_eq!(timestamp().len(), 15);
        // 2026-11-04 09:05:03 UTC: the day is space-padded as in syslog(3).
        assert_eq!(timestamp_at(1_793_783_103), "Nov  4 09:05:03");
    }
}
