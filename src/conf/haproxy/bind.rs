//! `bind` lines and the bind options shared with `stats socket`.

use super::section::{Line, Reader};
use super::tokenize::expand_env;
use super::values::{AddrUse, atou, parse_address, parse_time, suggestion};
use crate::model::haproxy::{Bind, BindOptions};

/// Bind options without a value.
const FLAGS: &[&str] = &[
    "ssl",
    "accept-proxy",
    "transparent",
    "v4v6",
    "v6only",
    "defer-accept",
    "tfo",
    "strict-sni",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-tls-tickets",
    "tls-tickets",
    "prefer-client-ciphers",
    "no-ca-names",
    "allow-0rtt",
    "generate-certificates",
    "quic-force-retry",
    "no-alpn",
    "ssl-ignore-err",
];

/// Bind options taking one value.
const VALUED: &[&str] = &[
    "crt",
    "crt-list",
    "ca-file",
    "crl-file",
    "verify",
    "alpn",
    "npn",
    "ciphers",
    "ciphersuites",
    "curves",
    "ecdhe",
    "ssl-min-ver",
    "ssl-max-ver",
    "name",
    "id",
    "maxconn",
    "backlog",
    "interface",
    "namespace",
    "mode",
    "user",
    "group",
    "uid",
    "gid",
    "level",
    "severity-output",
    "thread",
    "process",
    "proto",
    "tcp-ut",
    "mss",
    "nice",
    "ca-ignore-err",
    "crt-ignore-err",
    "ca-sign-file",
    "ca-sign-pass",
    "ca-verify-file",
    "sigalgs",
    "client-sigalgs",
    "expose-fd",
    "accept-netscaler-cip",
    "quic-cc-algo",
    "label",
];

impl Reader<'_> {
    /// `bind <addr>[,<addr>…] [options]` in a proxy.
    pub(super) fn bind_keyword(&mut self, line: &Line) {
        if line.len() < 2 {
            self.alert(
                &line.loc,
                line.span,
                "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments."
                    .into(),
            );
            return;
        }
        let env = |n: &str| self.env_var(n);
        let text = expand_env(line.arg(1), &env);
        let mut addresses = Vec::new();
        for part in text.split(',') {
            match parse_address(part, AddrUse::Bind) {
                Ok(a) => addresses.push(a.endpoint),
                Err(e) => {
                    self.alert(&line.loc, line.span, format!("'bind' : {e}"));
                    return;
                }
            }
        }
        let ctx = format!("'bind {}' in section '{}'", line.arg(1), self.section_kw());
        let Some(options) = self.bind_options(line, 2, &ctx, false) else {
            return;
        };
        if let Some(p) = self.cur_proxy_mut() {
            p.binds.push(Bind {
                line: line.span.line,
                addresses,
                options,
            });
        }
    }

    /// The section keyword of the proxy being parsed.
    pub(super) fn section_kw(&self) -> &'static str {
        match self.current {
            super::section::Current::Proxy(i) => match self.cfg.proxies.get(i).map(|p| p.kind) {
                Some(crate::model::haproxy::ProxyKind::Frontend) => "frontend",
                Some(crate::model::haproxy::ProxyKind::Backend) => "backend",
                Some(crate::model::haproxy::ProxyKind::Listen) => "listen",
                _ => "defaults",
            },
            super::section::Current::Global => "global",
            _ => "defaults",
        }
    }

    /// Bind options from word `start` on; `None` after an alert.
    pub(super) fn bind_options(
        &mut self,
        line: &Line,
        start: usize,
        ctx: &str,
        stats: bool,
    ) -> Option<BindOptions> {
        let mut o = BindOptions::default();
        let mut i = start;
        while i < line.len() {
            let kw = line.arg(i).to_string();
            if FLAGS.contains(&kw.as_str()) {
                match kw.as_str() {
                    "ssl" => o.ssl = true,
                    "accept-proxy" => o.accept_proxy = true,
                    "transparent" => o.transparent = true,
                    "v4v6" => o.v4v6 = true,
                    "v6only" => o.v6only = true,
                    "defer-accept" => o.defer_accept = true,
                    "tfo" => o.tfo = true,
                    k if k.starts_with("no-")
                        || k.starts_with("force-")
                        || k == "strict-sni"
                        || k == "prefer-client-ciphers"
                        || k == "tls-tickets"
                        || k == "allow-0rtt" =>
                    {
                        o.tls_flags.push(kw.clone())
                    }
                    _ => o.other.push(vec![kw.clone()]),
                }
                i += 1;
                continue;
            }
            if !VALUED.contains(&kw.as_str()) {
                let hint = suggestion(&kw, FLAGS.iter().chain(VALUED.iter()).copied());
                self.alert(
                    &line.loc,
                    line.span,
                    format!("{ctx}: unknown keyword '{kw}'{hint}."),
                );
                return None;
            }
            let Some(value) = line.words.get(i + 1).cloned() else {
                let what = if kw == "name" {
                    "missing name"
                } else {
                    "missing value"
                };
                self.alert(&line.loc, line.span, format!("{ctx} : '{kw}' : {what}"));
                return None;
            };
            let bad = |r: &mut Self, m: String| {
                r.alert(&line.loc, line.span, format!("{ctx} : '{kw}' : {m}"));
            };
            match kw.as_str() {
                "crt" => o.crts.push(value),
                "crt-list" => o.crt_list = Some(value),
                "ca-file" => o.ca_file = Some(value),
                "crl-file" => o.crl_file = Some(value),
                "verify" => {
                    if !matches!(value.as_str(), "none" | "optional" | "required") {
                        bad(
                            self,
                            format!(
                                "unknown verify method '{value}', only 'none', 'optional', and 'required' are supported"
                            ),
                        );
                        return None;
                    }
                    o.verify = Some(value)
                }
                "alpn" => o.alpn = value.split(',').map(str::to_string).collect(),
                "npn" => o.npn = value.split(',').map(str::to_string).collect(),
                "ciphers" => o.ciphers = Some(value),
                "ciphersuites" => o.ciphersuites = Some(value),
                "curves" | "ecdhe" => o.curves = Some(value),
                "ssl-min-ver" | "ssl-max-ver" => {
                    if !matches!(
                        value.as_str(),
                        "SSLv3" | "TLSv1.0" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3"
                    ) {
                        bad(self, format!("unknown version '{value}'"));
                        return None;
                    }
                    if kw == "ssl-min-ver" {
                        o.ssl_min_ver = Some(value)
                    } else {
                        o.ssl_max_ver = Some(value)
                    }
                }
                "name" => o.name = Some(value),
                "id" => {
                    let n = super::values::atol(&value);
                    if n <= 0 {
                        bad(self, "custom id has to be > 0".into());
                        return None;
                    }
                    o.id = Some(n as u32)
                }
                "maxconn" => o.maxconn = Some(atou(&value)),
                "backlog" => o.backlog = Some(atou(&value)),
                "interface" => o.interface = Some(value),
                "namespace" => o.namespace = Some(value),
                "mode" => match u32::from_str_radix(&value, 8) {
                    Ok(m) => o.unix_mode = Some(m),
                    Err(_) => {
                        bad(self, format!("'{value}' is not an octal mode"));
                        return None;
                    }
                },
                "user" => o.user = Some(value),
                "group" => o.group = Some(value),
                "uid" => o.uid = Some(atou(&value)),
                "gid" => o.gid = Some(atou(&value)),
                "level" => {
                    if !matches!(value.as_str(), "user" | "operator" | "admin") {
                        bad(
                            self,
                            "'level' only supports 'user', 'operator', and 'admin'".into(),
                        );
                        return None;
                    }
                    o.level = Some(value)
                }
                "expose-fd" => {
                    if value != "listeners" {
                        bad(self, "'expose-fd' only supports 'listeners'".into());
                        return None;
                    }
                    o.expose_fd_listeners = true
                }
                "thread" => o.thread = Some(value),
                "process" => o.process = Some(value),
                "proto" => o.proto = Some(value),
                "mss" => o.mss = Some(value),
                "tcp-ut" => match parse_time(&value, 1) {
                    Ok(d) => o.tcp_user_timeout = Some(d),
                    Err(_) => {
                        bad(self, format!("invalid value '{value}'"));
                        return None;
                    }
                },
                _ => o.other.push(vec![kw.clone(), value]),
            }
            i += 2;
        }
        let _ = stats;
        if !o.other.is_empty() {
            let names: Vec<&str> = o
                .other
                .iter()
                .filter_map(|w| w.first().map(String::as_str))
                .collect();
            let what = format!("bind option(s) '{}'", names.join("', '"));
            self.not_active(line, &what);
        }
        Some(o)
    }
}
