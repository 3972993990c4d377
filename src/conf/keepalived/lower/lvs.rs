//! LVS blocks → model: virtual servers, real servers and their checkers,
//! with keepalived's defaults inherited VS → RS → checker.

use super::global::{set_bool, set_secs_int, set_u32};
use super::{Lower, others};
use crate::conf::keepalived::table::{Node, Value};
use crate::conf::keepalived::{ErrClass, values};
use crate::model::check::{HealthCheck, HttpProbe, HttpUrl, Probe};
use crate::model::common::Duration;
use crate::model::keepalived::{
    GroupMember, LvsMethod, Protocol, RealServer, VirtualServer, VirtualServerAddr,
    VirtualServerGroup,
};
use std::net::IpAddr;

/// `virtual_server_group NAME { … }`.
pub(super) fn group(lw: &mut Lower<'_>, node: &Node) -> VirtualServerGroup {
    let mut g = VirtualServerGroup {
        name: node.args.first().cloned().unwrap_or_default(),
        members: Vec::new(),
    };
    for e in &node.entries {
        let Some(first) = e.words.first() else {
            continue;
        };
        if first == "fwmark" {
            match e.words.get(1).and_then(|m| m.parse().ok()) {
                Some(mark) => g.members.push(GroupMember::Fwmark {
                    mark,
                    ipv6: e.words.get(2).is_some_and(|f| f == "inet6"),
                }),
                None => lw.report(
                    ErrClass::GeneralError,
                    Some(e.at),
                    "virtual server group fwmark invalid",
                ),
            }
            continue;
        }
        let port = e.words.get(1).and_then(|p| p.parse().ok());
        match range(first) {
            Some((first, last)) => g.members.push(GroupMember::Range { first, last, port }),
            None => lw.report(
                ErrClass::GeneralError,
                Some(e.at),
                format!("Invalid virtual server group IP address/range {first} - skipping"),
            ),
        }
    }
    g
}

/// `IP`, `IP-LASTOCTET`, `IP-IP`, `IP/PREFIX` → first and last address.
fn range(text: &str) -> Option<(IpAddr, IpAddr)> {
    if let Some(p) = text.contains('/').then(|| values::prefix(text)).flatten() {
        return Some(match p.addr {
            IpAddr::V4(a) => {
                let bits = u32::from(p.len);
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                let base = u32::from(a) & mask;
                (IpAddr::V4(base.into()), IpAddr::V4((base | !mask).into()))
            }
            IpAddr::V6(a) => {
                let bits = u32::from(p.len);
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                let base = u128::from(a) & mask;
                (IpAddr::V6(base.into()), IpAddr::V6((base | !mask).into()))
            }
        });
    }
    let Some((start, end)) = text.split_once('-') else {
        let ip = values::ip(text)?;
        return Some((ip, ip));
    };
    let first = values::ip(start)?;
    if let Some(last) = values::ip(end) {
        return Some((first, last));
    }
    match first {
        IpAddr::V4(a) => {
            let last: u8 = end.parse().ok()?;
            let o = a.octets();
            Some((first, IpAddr::V4([o[0], o[1], o[2], last].into())))
        }
        IpAddr::V6(a) => {
            let last = u16::from_str_radix(end, 16).ok()?;
            let mut s = a.segments();
            s[7] = last;
            Some((first, IpAddr::V6(s.into())))
        }
    }
}

const VS_TYPED: &[&str] = &[
    "delay_loop",
    "lvs_sched",
    "lvs_method",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "quorum",
    "hysteresis",
    "quorum_up",
    "quorum_down",
    "alpha",
    "omega",
    "ha_suspend",
    "inhibit_on_failure",
    "sorry_server",
    "real_server",
];

/// How keepalived names a virtual server in messages: `[IP]:proto:PORT`.
fn vs_label(addr: &VirtualServerAddr, proto: Option<Protocol>) -> String {
    let proto = match proto {
        None => "none",
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
    };
    match addr {
        VirtualServerAddr::Ip { addr, port } => format!("[{addr}]:{proto}:{}", port.unwrap_or(0)),
        VirtualServerAddr::Fwmark { mark } => format!("FWM {mark}"),
        VirtualServerAddr::Group { name } => format!("VSG {name}"),
    }
}

pub(super) fn virtual_server(lw: &mut Lower<'_>, node: &Node) -> Option<VirtualServer> {
    let addr = match node.args.first().map(String::as_str) {
        Some("fwmark") => match node.args.get(1).and_then(|m| m.parse().ok()) {
            Some(mark) => VirtualServerAddr::Fwmark { mark },
            None => {
                lw.report(
                    ErrClass::GeneralError,
                    Some(node.at),
                    "virtual server fwmark invalid - skipping",
                );
                return None;
            }
        },
        Some("group") => VirtualServerAddr::Group {
            name: node.args.get(1).cloned().unwrap_or_default(),
        },
        Some(ip) => match values::ip(ip) {
            Some(a) => VirtualServerAddr::Ip {
                addr: a,
                port: node.args.get(1).and_then(|p| p.parse().ok()),
            },
            None => {
                lw.report(
                    ErrClass::GeneralError,
                    Some(node.at),
                    format!("Invalid virtual server IP address {ip} - skipping"),
                );
                return None;
            }
        },
        None => return None,
    };
    let mut protocol = None;
    let mut scheduler = None;
    let mut method = None;
    let mut vs = VirtualServer {
        addr: addr.clone(),
        protocol: Protocol::Udp,
        scheduler: String::new(),
        method: LvsMethod::Nat,
        method_options: Vec::new(),
        persistence_timeout: None,
        persistence_granularity: None,
        delay_loop: Duration::from_secs(60),
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        alpha: false,
        omega: false,
        ha_suspend: false,
        inhibit_on_failure: false,
        sorry_server: None,
        real_servers: Vec::new(),
        other: others(node, VS_TYPED),
    };
    for c in &node.children {
        let v = &c.value;
        match c.name {
            "delay_loop" => set_secs_int(v, &mut vs.delay_loop),
            "lvs_sched" => scheduler = c.value.word().map(str::to_string),
            "lvs_method" => {
                method = lvs_method(lw, c);
                vs.method_options = c.args.iter().skip(1).cloned().collect();
            }
            "persistence_timeout" => {
                if let Some(n) = v.int() {
                    vs.persistence_timeout = Some(Duration::from_secs(n as u64));
                }
            }
            "persistence_granularity" => vs.persistence_granularity = c.args.first().cloned(),
            "protocol" => match c.args.first().map(|p| p.to_ascii_uppercase()).as_deref() {
                Some("TCP") => protocol = Some(Protocol::Tcp),
                Some("UDP") => protocol = Some(Protocol::Udp),
                Some("SCTP") => protocol = Some(Protocol::Sctp),
                _ => lw.report(
                    ErrClass::GeneralError,
                    Some(c.at),
                    "Unknown protocol - ignoring",
                ),
            },
            "quorum" => set_u32(v, &mut vs.quorum),
            "hysteresis" => set_u32(v, &mut vs.hysteresis),
            "quorum_up" | "quorum_down" => {
                if let Value::Script(s) = v {
                    let slot = if c.name == "quorum_up" {
                        &mut vs.quorum_up
                    } else {
                        &mut vs.quorum_down
                    };
                    *slot = Some(s.clone());
                }
            }
            "alpha" => set_bool(v, &mut vs.alpha),
            "omega" => set_bool(v, &mut vs.omega),
            "ha_suspend" => vs.ha_suspend = true,
            "inhibit_on_failure" => set_bool(v, &mut vs.inhibit_on_failure),
            "sorry_server" => {
                if let Some(ip) = c.args.first().and_then(|a| values::ip(a)) {
                    vs.sorry_server = Some((ip, c.args.get(1).and_then(|p| p.parse().ok())));
                }
            }
            _ => {}
        }
    }
    let is_fwmark = matches!(addr, VirtualServerAddr::Fwmark { .. });
    match (protocol, is_fwmark) {
        (Some(p), false) => vs.protocol = p,
        (Some(_), true) => lw.report(
            ErrClass::Warning,
            None,
            format!(
                "Virtual server {}: protocol specified for fwmark - protocol will be ignored",
                vs_label(&addr, None)
            ),
        ),
        (None, false) => lw.report(
            // keepalived only logs this for a group-based service.
            if matches!(addr, VirtualServerAddr::Group { .. }) {
                ErrClass::Info
            } else {
                ErrClass::GeneralError
            },
            None,
            format!(
                "Virtual server {}: no protocol set - defaulting to UDP",
                vs_label(&addr, None)
            ),
        ),
        (None, true) => {}
    }
    let label = vs_label(&addr, (!is_fwmark).then_some(vs.protocol));
    vs.scheduler = scheduler.unwrap_or_else(|| {
        lw.report(
            ErrClass::GeneralError,
            None,
            format!("Virtual server {label}: no scheduler set, setting default 'wlc'"),
        );
        "wlc".into()
    });
    vs.method = method.unwrap_or_else(|| {
        lw.report(
            ErrClass::GeneralError,
            None,
            format!("Virtual server {label}: no forwarding method set, setting default NAT"),
        );
        LvsMethod::Nat
    });
    for c in node.all("real_server") {
        if let Some(rs) = real_server(lw, c, &vs) {
            vs.real_servers.push(rs);
        }
    }
    Some(vs)
}

fn lvs_method(lw: &mut Lower<'_>, c: &Node) -> Option<LvsMethod> {
    match c.args.first().map(String::as_str) {
        Some("NAT") => Some(LvsMethod::Nat),
        Some("DR") => Some(LvsMethod::Dr),
        Some("TUN") => Some(LvsMethod::Tun),
        other => {
            lw.report(
                ErrClass::GeneralError,
                Some(c.at),
                format!("Invalid lvs_method {} - ignoring", other.unwrap_or("")),
            );
            None
        }
    }
}

const RS_TYPED: &[&str] = &[
    "weight",
    "lvs_method",
    "inhibit_on_failure",
    "uthreshold",
    "lthreshold",
    "notify_up",
    "notify_down",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "DNS_CHECK",
    "MISC_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

fn real_server(lw: &mut Lower<'_>, node: &Node, vs: &VirtualServer) -> Option<RealServer> {
    let first = node.args.first()?;
    let Some(addr) = values::ip(first) else {
        lw.report(
            ErrClass::GeneralError,
            Some(node.at),
            format!("Invalid real server ip address {first} - skipping"),
        );
        return None;
    };
    let mut rs = RealServer {
        addr,
        port: node.args.get(1).and_then(|p| p.parse().ok()),
        weight: 1,
        method: None,
        inhibit_on_failure: vs.inhibit_on_failure,
        uthreshold: None,
        lthreshold: None,
        notify_up: None,
        notify_down: None,
        checks: Vec::new(),
        other: others(node, RS_TYPED),
    };
    for c in &node.children {
        let v = &c.value;
        match c.name {
            "weight" => set_u32(v, &mut rs.weight),
            "lvs_method" => rs.method = lvs_method(lw, c),
            "inhibit_on_failure" => set_bool(v, &mut rs.inhibit_on_failure),
            "uthreshold" => rs.uthreshold = v.int().and_then(|n| u32::try_from(n).ok()),
            "lthreshold" => rs.lthreshold = v.int().and_then(|n| u32::try_from(n).ok()),
            "notify_up" | "notify_down" => {
                if let Value::Script(s) = v {
                    let slot = if c.name == "notify_up" {
                        &mut rs.notify_up
                    } else {
                        &mut rs.notify_down
                    };
                    *slot = Some(s.clone());
                }
            }
            name if RS_TYPED[7..].contains(&name) => rs.checks.push(checker(c, vs)),
            _ => {}
        }
    }
    Some(rs)
}

/// A checker block → the shared `HealthCheck`.
fn checker(node: &Node, vs: &VirtualServer) -> HealthCheck {
    let mut probe = match node.name {
        "HTTP_GET" | "SSL_GET" => Probe::Http(HttpProbe {
            tls: node.name == "SSL_GET",
            method: "GET".into(),
            version: "1.0".into(),
            ..Default::default()
        }),
        "SMTP_CHECK" => Probe::Smtp { helo_name: None },
        "DNS_CHECK" => Probe::Dns {
            qtype: "SOA".into(),
            name: ".".into(),
        },
        "MISC_CHECK" => Probe::Misc {
            script: Default::default(),
            timeout: None,
            dynamic: false,
        },
        "UDP_CHECK" => Probe::Udp {
            payload: None,
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        },
        "PING_CHECK" => Probe::Ping,
        "FILE_CHECK" => Probe::File {
            track_file: String::new(),
            weight: 1,
            reverse: false,
        },
        "BFD_CHECK" => Probe::Bfd {
            name: String::new(),
        },
        _ => Probe::Tcp,
    };
    let mut hc = HealthCheck::new(Probe::Tcp);
    hc.interval = vs.delay_loop;
    hc.warmup = Some(vs.delay_loop);
    hc.retry = Some(match node.name {
        "MISC_CHECK" => 0,
        "DNS_CHECK" => 3,
        _ => 1,
    });
    hc.delay_before_retry = Some(match node.name {
        "HTTP_GET" | "SSL_GET" => Duration::from_secs(3),
        "DNS_CHECK" => vs.delay_loop,
        _ => Duration::from_secs(1),
    });
    hc.start_down = vs.alpha;
    for c in &node.children {
        let v = &c.value;
        match c.name {
            "connect_ip" | "bindto" => {
                let ip = if let Value::Ip(ip) = v {
                    Some(*ip)
                } else {
                    None
                };
                if c.name == "connect_ip" {
                    hc.connect_ip = ip
                } else {
                    hc.bind_ip = ip
                }
            }
            "connect_port" => hc.connect_port = v.int().and_then(|n| u16::try_from(n).ok()),
            "bind_port" => hc.bind_port = v.int().and_then(|n| u16::try_from(n).ok()),
            "bind_if" => hc.bind_if = c.args.first().cloned(),
            "fwmark" => hc.fwmark = v.int().and_then(|n| u32::try_from(n).ok()),
            "connect_timeout" => set_secs_int(v, &mut hc.timeout),
            "delay_loop" => set_secs_int(v, &mut hc.interval),
            "retry" => hc.retry = v.int().and_then(|n| u32::try_from(n).ok()).or(hc.retry),
            "delay_before_retry" => {
                let mut d = Duration::ZERO;
                set_secs_int(v, &mut d);
                hc.delay_before_retry = Some(d);
            }
            "warmup" => {
                let mut d = Duration::ZERO;
                set_secs_int(v, &mut d);
                hc.warmup = Some(d);
            }
            "alpha" => set_bool(v, &mut hc.start_down),
            "log_all_failures" => set_bool(v, &mut hc.log_all_failures),
            _ => probe_option(&mut probe, c),
        }
    }
    hc.probe = probe;
    hc
}

/// Checker-specific keywords.
fn probe_option(probe: &mut Probe, c: &Node) {
    let arg = || c.args.first().cloned().unwrap_or_default();
    match probe {
        Probe::Http(h) => match c.name {
            "virtualhost" => h.host = Some(arg()),
            "http_protocol" => h.version = arg(),
            "sni_name" => h.sni = Some(arg()),
            "url" => {
                let mut url = HttpUrl::default();
                for u in &c.children {
                    let a = u.args.first().cloned().unwrap_or_default();
                    match u.name {
                        "path" => url.path = a,
                        "digest" => url.digest = Some(a),
                        "status_code" => url
                            .status
                            .extend(u.args.iter().filter_map(|s| status_range(s))),
                        "virtualhost" => url.virtualhost = Some(a),
                        "regex" => url.body_match = Some(a),
                        "regex_no_match" => url.negate = true,
                        _ => {}
                    }
                }
                h.urls.push(url);
            }
            _ => {}
        },
        Probe::Smtp { helo_name } if c.name == "helo_name" => *helo_name = Some(arg()),
        Probe::Dns { qtype, name } => match c.name {
            "type" => *qtype = arg(),
            "name" => *name = arg(),
            _ => {}
        },
        Probe::Misc {
            script,
            timeout,
            dynamic,
        } => match c.name {
            "misc_path" => {
                if let Value::Script(s) = &c.value {
                    *script = s.clone();
                }
            }
            "misc_timeout" => {
                *timeout = c
                    .value
                    .secs()
                    .or_else(|| c.value.int().map(|n| Duration::from_secs(n as u64)))
            }
            "misc_dynamic" => *dynamic = true,
            "user" => {
                script.user = c.args.first().cloned();
                script.group = c.args.get(1).cloned();
            }
            _ => {}
        },
        Probe::File {
            track_file,
            weight,
            reverse,
        } => match c.name {
            "track_file" => *track_file = arg(),
            "weight" => {
                *weight = c.args.first().and_then(|w| w.parse().ok()).unwrap_or(1);
                *reverse = c.args.get(1).is_some_and(|r| r == "reverse");
            }
            _ => {}
        },
        Probe::Bfd { name } if c.name == "name" => *name = arg(),
        _ => {}
    }
}

/// `200`, `200-299` → an inclusive range.
fn status_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => {
            let n = s.parse().ok()?;
            Some((n, n))
        }
    }
}
