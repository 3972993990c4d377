//! Health checks: one type for keepalived real_server checkers and haproxy
//! server checks. The `check` runtime interprets it.

use super::common::{Duration, Script};
use serde::Serialize;
use std::net::IpAddr;

/// A health check attached to a real server / server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthCheck {
    pub probe: Probe,
    /// Where to connect; `None` fields mean "the server's own".
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    /// Source address/port/interface to bind before connecting.
    pub bind_ip: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    /// Socket mark for the probe's packets.
    pub fwmark: Option<u32>,
    /// Upper bound for one attempt (keepalived `connect_timeout`,
    /// haproxy `timeout check`/`timeout connect`).
    pub timeout: Duration,
    /// Time between two checks (keepalived `delay_loop`, haproxy `inter`).
    pub interval: Duration,
    /// haproxy `fastinter` (while transitioning) and `downinter` (while down).
    pub fast_interval: Option<Duration>,
    pub down_interval: Option<Duration>,
    /// Consecutive successes to go up / failures to go down (haproxy).
    pub rise: u32,
    pub fall: u32,
    /// keepalived: retries of a failed check before declaring failure, and
    /// the delay between them; `warmup` bounds the random first delay.
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    /// keepalived `alpha`: start as failed until the first success.
    pub start_down: bool,
    /// Log every failure, not only transitions.
    pub log_all_failures: bool,
}

impl HealthCheck {
    /// A probe with neutral timing; readers overwrite what their config says.
    pub fn new(probe: Probe) -> Self {
        HealthCheck {
            probe,
            connect_ip: None,
            connect_port: None,
            bind_ip: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(5),
            interval: Duration::from_secs(2),
            fast_interval: None,
            down_interval: None,
            rise: 1,
            fall: 1,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            start_down: false,
            log_all_failures: false,
        }
    }
}

/// What a check does on the wire.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Probe {
    /// TCP connect (keepalived TCP_CHECK, haproxy plain `check`).
    Tcp,
    /// An HTTP request and its expectations (HTTP_GET / SSL_GET,
    /// haproxy `option httpchk` + `http-check expect`).
    Http(HttpProbe),
    /// keepalived SMTP_CHECK: banner 220, HELO, 250.
    Smtp { helo_name: Option<String> },
    /// keepalived DNS_CHECK.
    Dns { qtype: String, name: String },
    /// keepalived MISC_CHECK: run a program; exit status is the verdict.
    Misc {
        script: Script,
        timeout: Option<Duration>,
        dynamic: bool,
    },
    /// keepalived UDP_CHECK.
    Udp {
        payload: Option<Vec<u8>>,
        require_reply: Option<Vec<u8>>,
        min_reply_length: u32,
        max_reply_length: u32,
    },
    /// keepalived PING_CHECK.
    Ping,
    /// keepalived FILE_CHECK: follows a `track_file`.
    File {
        track_file: String,
        weight: i32,
        reverse: bool,
    },
    /// keepalived BFD_CHECK: follows a `bfd_instance`.
    Bfd { name: String },
    /// haproxy protocol checks recorded by name (ssl-hello-chk, mysql-check…).
    Named { name: String, args: Vec<String> },
}

/// An HTTP probe: what to send and what counts as success.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HttpProbe {
    pub tls: bool,
    pub method: String,
    pub version: String,
    pub host: Option<String>,
    /// Requests to try in turn (keepalived `url` blocks; haproxy has one).
    pub urls: Vec<HttpUrl>,
    /// Extra request headers (haproxy `http-check send hdr`).
    pub headers: Vec<(String, String)>,
    pub sni: Option<String>,
}

/// One URL of an HTTP probe with its expectations.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HttpUrl {
    pub path: String,
    /// Accepted status codes as inclusive ranges; empty = the default set.
    pub status: Vec<(u16, u16)>,
    /// MD5 of the body in hex (keepalived `digest`).
    pub digest: Option<String>,
    /// Body must (or with `negate`, must not) match this regex / string.
    pub body_match: Option<String>,
    pub negate: bool,
    pub virtualhost: Option<String>,
}
