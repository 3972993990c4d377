//! `server` and `default-server` lines: address, weight, persistence
//! cookie, limits, TLS, and the check settings later folded into a
//! `HealthCheck` by `finish`.

use super::section::{Current, Line, Reader};
use super::tokenize::expand_env;
use super::values::{
    AddrUse, atol, atou, parse_address, parse_time, suggestion, time_error_message,
};
use crate::model::common::{Endpoint, Host};
use crate::model::haproxy::{ProxyKind, Server, ServerParams};

/// Server options without a value.
const FLAGS: &[&str] = &[
    "check",
    "no-check",
    "backup",
    "no-backup",
    "disabled",
    "enabled",
    "ssl",
    "no-ssl",
    "check-ssl",
    "no-check-ssl",
    "send-proxy",
    "no-send-proxy",
    "send-proxy-v2",
    "no-send-proxy-v2",
    "send-proxy-v2-ssl",
    "no-send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "no-send-proxy-v2-ssl-cn",
    "check-send-proxy",
    "no-check-send-proxy",
    "agent-check",
    "no-agent-check",
    "non-stick",
    "stick",
    "tfo",
    "no-tfo",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "no-tls-tickets",
    "tls-tickets",
    "no-ssl-reuse",
    "ssl-reuse",
    "allow-0rtt",
    "check-via-socks4",
    "no-verifyhost",
];

/// Server options taking one value.
const VALUED: &[&str] = &[
    "inter",
    "fastinter",
    "downinter",
    "rise",
    "fall",
    "port",
    "addr",
    "weight",
    "cookie",
    "maxconn",
    "maxqueue",
    "minconn",
    "slowstart",
    "verify",
    "sni",
    "ca-file",
    "crt",
    "alpn",
    "npn",
    "id",
    "init-addr",
    "resolvers",
    "resolve-prefer",
    "resolve-opts",
    "resolve-net",
    "redir",
    "track",
    "observe",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "error-limit",
    "agent-port",
    "agent-inter",
    "agent-addr",
    "agent-send",
    "check-sni",
    "check-alpn",
    "check-proto",
    "proto",
    "source",
    "namespace",
    "pool-max-conn",
    "pool-purge-delay",
    "pool-low-conn",
    "max-reuse",
    "ciphers",
    "ciphersuites",
    "curves",
    "sigalgs",
    "client-sigalgs",
    "crl-file",
    "verifyhost",
    "ssl-min-ver",
    "ssl-max-ver",
    "proxy-v2-options",
    "tcp-ut",
    "log-proto",
    "hash-key",
    "ws",
    "socks4",
    "usesrc",
];

impl Reader<'_> {
    /// `server <name> <addr> [params]` or `default-server [params]`.
    pub(super) fn server_keyword(&mut self, line: &Line) {
        let kw = line.arg(0);
        let is_default = kw == "default-server";
        if let Current::Defaults(_) = self.current
            && !is_default
        {
            self.alert_bare(
                &line.loc,
                line.span,
                format!("'{kw}' not allowed in 'defaults' section."),
            );
            return;
        }
        let (name, kind) = self.proxy_name_kind();
        if kind != ProxyKind::Defaults && !kind.has_backend() {
            self.alert_bare(
                &line.loc,
                line.span,
                format!(
                    "parsing [{}] : '{kw}' not allowed because {} '{}' has no backend capability.",
                    line.loc,
                    kind.label(),
                    name
                ),
            );
            return;
        }
        let mut params = self
            .cur_proxy()
            .map(|p| p.default_server.clone())
            .unwrap_or_default();
        if is_default {
            if self
                .server_params(line, 1, &mut params, &format!("'default-server {name}'"))
                .is_some()
            {
                if let Some(px) = self.cur_proxy_mut() {
                    px.default_server = params;
                }
            }
            return;
        }
        if line.len() < 3 {
            self.alert_bare(
                &line.loc,
                line.span,
                "'server' expects <name> and <addr>[:<port>] as arguments.".into(),
            );
            return;
        }
        let srv_name = line.arg(1).to_string();
        let env = |n: &str| self.env_var(n);
        let text = expand_env(line.arg(2), &env);
        let addr = match parse_address(&text, AddrUse::Server) {
            Ok(a) => a,
            Err(e) => {
                self.alert_bare(
                    &line.loc,
                    line.span,
                    format!("'server {name}/{srv_name}' : {e}"),
                );
                return;
            }
        };
        let ctx = format!("'server {name}/{srv_name}'");
        if self.server_params(line, 3, &mut params, &ctx).is_none() {
            return;
        }
        let port = match &addr.endpoint {
            Endpoint::Inet { ports, .. } => ports.map(|(p, _)| p),
            _ => None,
        };
        if matches!(
            &addr.endpoint,
            Endpoint::Inet {
                host: Host::Any,
                ..
            }
        ) {
            // haproxy accepts 0.0.0.0/`*` servers (transparent); keep them.
        }
        let server = Server {
            name: srv_name,
            line: line.span.line,
            address: addr.endpoint,
            port,
            port_offset: addr.port_offset,
            params,
            health_check: None,
        };
        if let Some(px) = self.cur_proxy_mut() {
            px.servers.push(server);
        }
    }

    /// Server options from word `start` on, applied over `p`.
    fn server_params(
        &mut self,
        line: &Line,
        start: usize,
        p: &mut ServerParams,
        ctx: &str,
    ) -> Option<()> {
        let mut i = start;
        let srv = line.arg(1).to_string();
        let mut later: Vec<String> = Vec::new();
        while i < line.len() {
            let kw = line.arg(i).to_string();
            if FLAGS.contains(&kw.as_str()) {
                match kw.as_str() {
                    "check" => p.check = true,
                    "no-check" => p.check = false,
                    "backup" => p.backup = true,
                    "no-backup" => p.backup = false,
                    "disabled" => p.disabled = true,
                    "enabled" => p.disabled = false,
                    "ssl" => p.ssl = true,
                    "no-ssl" => p.ssl = false,
                    "check-ssl" => p.check_ssl = true,
                    "no-check-ssl" => p.check_ssl = false,
                    "send-proxy" => p.send_proxy = true,
                    "no-send-proxy" => p.send_proxy = false,
                    "send-proxy-v2" => p.send_proxy_v2 = true,
                    "no-send-proxy-v2" => p.send_proxy_v2 = false,
                    "check-send-proxy" => p.check_send_proxy = true,
                    "no-check-send-proxy" => p.check_send_proxy = false,
                    _ => {
                        p.other.push(vec![kw.clone()]);
                        later.push(kw.clone());
                    }
                }
                i += 1;
                continue;
            }
            if !VALUED.contains(&kw.as_str()) {
                let hint = suggestion(&kw, FLAGS.iter().chain(VALUED.iter()).copied());
                self.alert_bare(
                    &line.loc,
                    line.span,
                    format!("{ctx} : unknown keyword '{kw}'{hint}"),
                );
                return None;
            }
            let Some(v) = line.words.get(i + 1).cloned() else {
                let what = match kw.as_str() {
                    "inter" | "fastinter" | "downinter" | "slowstart" => "a delay",
                    "rise" | "fall" | "port" | "weight" | "maxconn" | "maxqueue" | "minconn"
                    | "id" => "an integer",
                    _ => "a value",
                };
                self.alert_bare(
                    &line.loc,
                    line.span,
                    format!("{ctx} : '{kw}' expects {what} as argument.."),
                );
                return None;
            };
            let fail = |r: &mut Self, m: String| {
                r.alert_bare(&line.loc, line.span, format!("{ctx} : {m}."))
            };
            match kw.as_str() {
                "inter" | "fastinter" | "downinter" | "slowstart" => match parse_time(&v, 1) {
                    Ok(d) if d.as_micros() == 0 && kw != "slowstart" => {
                        fail(
                            self,
                            format!("invalid value 0 for '{kw}' argument of server {srv}."),
                        );
                        return None;
                    }
                    Ok(d) => match kw.as_str() {
                        "inter" => p.inter = d,
                        "fastinter" => p.fastinter = Some(d),
                        "downinter" => p.downinter = Some(d),
                        _ => p.slowstart = Some(d),
                    },
                    Err(e) => {
                        let m =
                            time_error_message(&e, &v, &format!("'{kw}' argument of server {srv}"));
                        fail(self, format!("{m}."));
                        return None;
                    }
                },
                "rise" | "fall" => {
                    let n = atol(&v);
                    if n <= 0 {
                        fail(self, format!("'{kw}' has to be > 0."));
                        return None;
                    }
                    let n = u32::try_from(n).unwrap_or(u32::MAX);
                    if kw == "rise" { p.rise = n } else { p.fall = n }
                }
                "port" => {
                    let n = atol(&v);
                    match u16::try_from(n) {
                        Ok(port) if port > 0 => p.check_port = Some(port),
                        _ => {
                            fail(self, format!("invalid range of ports ('{v}')."));
                            return None;
                        }
                    }
                }
                "addr" => match v.parse() {
                    Ok(ip) => p.check_addr = Some(ip),
                    Err(_) => {
                        fail(self, format!("invalid address '{v}'."));
                        return None;
                    }
                },
                "weight" => {
                    let n = atol(&v);
                    if !(0..=256).contains(&n) {
                        fail(
                            self,
                            format!("weight of server {srv} is not within 0 and 256 ({n})."),
                        );
                        return None;
                    }
                    p.weight = n as u32;
                }
                "cookie" => p.cookie = Some(v),
                "maxconn" => p.maxconn = Some(atou(&v)),
                "maxqueue" => p.maxqueue = Some(atou(&v)),
                "minconn" => p.minconn = Some(atou(&v)),
                "verify" => {
                    if !matches!(v.as_str(), "none" | "required") {
                        fail(
                            self,
                            format!(
                                "unknown verify method '{v}', only 'none' and 'required' are supported."
                            ),
                        );
                        return None;
                    }
                    p.verify = Some(v)
                }
                "sni" => p.sni = Some(v),
                "check-sni" => p.check_sni = Some(v),
                "ca-file" => p.ca_file = Some(v),
                "crt" => p.crt = Some(v),
                "alpn" => p.alpn = v.split(',').map(str::to_string).collect(),
                "id" => {
                    let n = atol(&v);
                    if n <= 0 {
                        fail(self, "custom id has to be > 0.".into());
                        return None;
                    }
                    p.id = Some(n as u32)
                }
                "init-addr" => p.init_addr = Some(v),
                "resolvers" => p.resolvers = Some(v),
                "redir" => p.redir = Some(v),
                "track" => p.track = Some(v),
                "observe" => {
                    if !matches!(v.as_str(), "none" | "layer4" | "layer7") {
                        fail(
                            self,
                            format!(
                                "'observe' expects one of 'none', 'layer4', 'layer7' but got '{v}'."
                            ),
                        );
                        return None;
                    }
                    p.observe = Some(v)
                }
                _ => {
                    p.other.push(vec![kw.clone(), v]);
                    later.push(kw.clone());
                }
            }
            i += 2;
        }
        if !later.is_empty() {
            self.not_active(line, &format!("server option(s) '{}'", later.join("', '")));
        }
        Some(())
    }
}
