//! `option X`, `no option X` and `default option X` in proxies: the
//! boolean options, logging, forwardfor/originalto, redispatch, HTTP
//! connection modes and check protocols, with 2.6's rules on which options
//! may be negated. Must not touch other proxy keywords.

use super::section::{Current, Line, Reader};
use super::values::{atol, parse_network, suggestion};
use crate::model::haproxy::{
    ForwardFor, HttpConnectionMode, LogOption, NamedCheck, OriginalTo, ProxyKind, ProxyOptions,
};

/// Options that need the frontend (F), the backend (B) or either (A).
const BOOL_OPTIONS: &[(&str, char)] = &[
    ("abortonclose", 'B'),
    ("allbackups", 'B'),
    ("checkcache", 'B'),
    ("clitcpka", 'F'),
    ("contstats", 'F'),
    ("dontlognull", 'F'),
    ("dontlog-normal", 'F'),
    ("http-buffer-request", 'A'),
    ("http-ignore-probes", 'F'),
    ("prefer-last-server", 'B'),
    ("logasap", 'F'),
    ("nolinger", 'A'),
    ("persist", 'B'),
    ("srvtcpka", 'B'),
    ("splice-auto", 'A'),
    ("splice-request", 'A'),
    ("splice-response", 'A'),
    ("transparent", 'B'),
    ("independent-streams", 'A'),
    ("http-pretend-keepalive", 'A'),
    ("http-no-delay", 'A'),
    ("log-health-checks", 'B'),
    ("log-separate-errors", 'F'),
    ("socket-stats", 'F'),
    ("tcpka", 'A'),
    ("accept-invalid-http-request", 'F'),
    ("accept-invalid-http-response", 'B'),
    // Recorded, not active yet.
    ("http-use-proxy-header", 'F'),
    ("tcp-smart-accept", 'F'),
    ("tcp-smart-connect", 'B'),
    ("h1-case-adjust-bogus-client", 'F'),
    ("h1-case-adjust-bogus-server", 'B'),
    ("disable-h2-upgrade", 'F'),
    ("idle-close-on-response", 'F'),
];

/// The other options haproxy knows (for suggestions and `no option`).
const ARG_OPTIONS: &[&str] = &[
    "httplog",
    "httpslog",
    "tcplog",
    "forwardfor",
    "originalto",
    "redispatch",
    "httpchk",
    "ssl-hello-chk",
    "smtpchk",
    "pgsql-check",
    "redis-check",
    "mysql-check",
    "ldap-check",
    "tcp-check",
    "external-check",
    "http-keep-alive",
    "http-server-close",
    "httpclose",
    "forceclose",
    "http-tunnel",
    "http-use-htx",
    "spop-check",
    "http-restrict-req-hdr-names",
];

/// Options `no option`/`default option` accept (2.6's `cfg_opts` tables
/// plus the HTTP connection modes and `redispatch`); `tcpka` is not one.
fn negatable(name: &str) -> bool {
    name != "tcpka"
        && (BOOL_OPTIONS.iter().any(|(n, _)| *n == name)
            || matches!(
                name,
                "redispatch" | "http-keep-alive" | "http-server-close" | "httpclose"
            ))
}

/// The typed field for a boolean option, if Pharos acts on it.
fn bool_field<'a>(o: &'a mut ProxyOptions, name: &str) -> Option<&'a mut bool> {
    Some(match name {
        "abortonclose" => &mut o.abortonclose,
        "allbackups" => &mut o.allbackups,
        "checkcache" => &mut o.checkcache,
        "clitcpka" => &mut o.clitcpka,
        "contstats" => &mut o.contstats,
        "dontlognull" => &mut o.dontlognull,
        "dontlog-normal" => &mut o.dontlog_normal,
        "http-buffer-request" => &mut o.http_buffer_request,
        "http-ignore-probes" => &mut o.http_ignore_probes,
        "prefer-last-server" => &mut o.prefer_last_server,
        "logasap" => &mut o.logasap,
        "nolinger" => &mut o.nolinger,
        "persist" => &mut o.persist,
        "srvtcpka" => &mut o.srvtcpka,
        "splice-auto" => &mut o.splice_auto,
        "splice-request" => &mut o.splice_request,
        "splice-response" => &mut o.splice_response,
        "transparent" => &mut o.transparent,
        "independent-streams" => &mut o.independent_streams,
        "http-pretend-keepalive" => &mut o.http_pretend_keepalive,
        "http-no-delay" => &mut o.http_no_delay,
        "log-health-checks" => &mut o.log_health_checks,
        "log-separate-errors" => &mut o.log_separate_errors,
        "socket-stats" => &mut o.socket_stats,
        "tcpka" => &mut o.tcpka,
        "accept-invalid-http-request" => &mut o.accept_invalid_http_request,
        "accept-invalid-http-response" => &mut o.accept_invalid_http_response,
        _ => return None,
    })
}

impl Reader<'_> {
    /// `option X`, `no option X`, `default option X`.
    pub(super) fn option_keyword(&mut self, line: &Line, at: usize, mode: OptionMode) {
        let name = line.arg(at).to_string();
        let args: Vec<String> = line.words.get(at + 1..).unwrap_or(&[]).to_vec();
        if name.is_empty() {
            self.alert(
                &line.loc,
                line.span,
                "'option' expects an option name.".into(),
            );
            return;
        }
        if self.legacy_option(line, &name, mode == OptionMode::Clear) {
            return;
        }
        if mode != OptionMode::Set && !negatable(&name) {
            self.alert_tight(
                &line.loc,
                line.span,
                format!("negation/default is not supported for option '{name}'."),
            );
            return;
        }
        // 2.6 shifts the words after `default` without clearing the last
        // one, so `default option X` reads as `option X X`: only options
        // taking an argument (`redispatch`) survive it.
        let args: Vec<String> = match (mode, line.words.last()) {
            (OptionMode::Reset, Some(last)) => args.iter().cloned().chain([last.clone()]).collect(),
            _ => args,
        };
        let bool_like = BOOL_OPTIONS.iter().any(|(n, _)| *n == name)
            || matches!(
                name.as_str(),
                "http-keep-alive" | "http-server-close" | "httpclose"
            );
        if bool_like && !args.is_empty() {
            self.alert(
                &line.loc,
                line.span,
                format!(
                    "'option {name}' cannot handle unexpected argument '{}'.",
                    args[0]
                ),
            );
            return;
        }
        let base_opts = match self.current {
            Current::Proxy(i) => self.bases.get(i).map(|b| b.options.clone()),
            _ => None,
        }
        .unwrap_or_default();
        if let Some(&(_, cap)) = BOOL_OPTIONS.iter().find(|(n, _)| *n == name) {
            if !self.has_cap(line, cap, &name, "") {
                return;
            }
            let mut base = base_opts.clone();
            let base_val = bool_field(&mut base, &name).map(|b| *b);
            let Some(p) = self.cur_proxy_mut() else {
                return;
            };
            let value = match mode {
                OptionMode::Set => true,
                OptionMode::Clear => false,
                OptionMode::Reset => base_val.unwrap_or(false),
            };
            match bool_field(&mut p.options, &name) {
                Some(f) => {
                    *f = value;
                    if name == "tcpka" {
                        p.options.clitcpka = value;
                        p.options.srvtcpka = value;
                    }
                }
                None => {
                    p.options.other.retain(|(n, _)| *n != name);
                    p.options.other.push((name.clone(), value));
                    self.not_active(line, &format!("'option {name}'"));
                }
            }
            return;
        }
        if !ARG_OPTIONS.contains(&name.as_str()) {
            let all = BOOL_OPTIONS
                .iter()
                .map(|(n, _)| *n)
                .chain(ARG_OPTIONS.iter().copied());
            let hint = suggestion(&name, all);
            self.alert(
                &line.loc,
                line.span,
                format!("unknown option '{name}'{hint}."),
            );
            return;
        }
        let kind = self
            .cur_proxy()
            .map(|p| p.kind)
            .unwrap_or(ProxyKind::Defaults);
        match name.as_str() {
            "httplog" | "httpslog" | "tcplog" => {
                if name != "tcplog" && kind == ProxyKind::Backend {
                    let pname = self.cur_proxy().map(|p| p.name.clone()).unwrap_or_default();
                    self.warn(
                        &line.loc,
                        line.span,
                        format!(
                            "backend '{pname}' : 'option {name}' directive is ignored in backends."
                        ),
                    );
                    return;
                }
                let v = match (mode, name.as_str()) {
                    (OptionMode::Clear, _) => None,
                    (OptionMode::Reset, _) => base_opts.log,
                    (_, "tcplog") => Some(LogOption::TcpLog),
                    (_, "httpslog") => Some(LogOption::HttpsLog),
                    _ if args.first().map(String::as_str) == Some("clf") => {
                        Some(LogOption::HttpLogClf)
                    }
                    _ => Some(LogOption::HttpLog),
                };
                if let Some(p) = self.cur_proxy_mut() {
                    p.options.log = v;
                }
            }
            "forwardfor" | "originalto" => {
                let mut except = None;
                let mut header = if name == "forwardfor" {
                    "X-Forwarded-For"
                } else {
                    "X-Original-To"
                }
                .to_string();
                let mut if_none = false;
                let mut i = 0;
                while i < args.len() {
                    match args[i].as_str() {
                        "except" => {
                            let v = args.get(i + 1).cloned().unwrap_or_default();
                            match parse_network(&v) {
                                Some(n) => except = Some(n),
                                None => {
                                    self.alert(
                                        &line.loc,
                                        line.span,
                                        format!(
                                            "'{}' : '{}' expects <address>[/mask] as argument.",
                                            line.words[..=at].join(" "),
                                            "except"
                                        ),
                                    );
                                    return;
                                }
                            }
                            i += 1;
                        }
                        "header" => {
                            let Some(v) = args.get(i + 1) else {
                                self.alert(
                                    &line.loc,
                                    line.span,
                                    format!(
                                        "'{}' : '{}' expects <header_name> as argument.",
                                        line.words[..=at].join(" "),
                                        "header"
                                    ),
                                );
                                return;
                            };
                            header = v.clone();
                            i += 1;
                        }
                        "if-none" if name == "forwardfor" => if_none = true,
                        other => {
                            let m = if name == "forwardfor" {
                                format!(
                                    "'option forwardfor' only supports optional values 'except', 'header' and 'if-none'. (got '{other}')"
                                )
                            } else {
                                format!(
                                    "'option originalto' only supports optional values 'except' and 'header'. (got '{other}')"
                                )
                            };
                            self.alert(&line.loc, line.span, m);
                            return;
                        }
                    }
                    i += 1;
                }
                let clear = mode == OptionMode::Clear;
                if let Some(p) = self.cur_proxy_mut() {
                    if name == "forwardfor" {
                        p.options.forwardfor = match mode {
                            OptionMode::Reset => base_opts.forwardfor.clone(),
                            _ if clear => None,
                            _ => Some(ForwardFor {
                                except,
                                header,
                                if_none,
                            }),
                        };
                    } else {
                        p.options.originalto = match mode {
                            OptionMode::Reset => base_opts.originalto.clone(),
                            _ if clear => None,
                            _ => Some(OriginalTo { except, header }),
                        };
                    }
                }
            }
            "redispatch" => {
                if !self.has_cap(line, 'B', "redispatch", "") {
                    return;
                }
                let v = match mode {
                    OptionMode::Clear => None,
                    OptionMode::Reset => base_opts.redispatch,
                    OptionMode::Set => Some(args.first().map(|a| atol(a) as i32).unwrap_or(-1)),
                };
                if let Some(p) = self.cur_proxy_mut() {
                    p.options.redispatch = v;
                }
            }
            "http-keep-alive" | "http-server-close" | "httpclose" => {
                let m = match name.as_str() {
                    "http-keep-alive" => HttpConnectionMode::KeepAlive,
                    "http-server-close" => HttpConnectionMode::ServerClose,
                    _ => HttpConnectionMode::Close,
                };
                if let Some(p) = self.cur_proxy_mut() {
                    p.options.http_connection = match mode {
                        OptionMode::Set => m,
                        OptionMode::Reset => base_opts.http_connection,
                        OptionMode::Clear if p.options.http_connection == m => {
                            HttpConnectionMode::KeepAlive
                        }
                        OptionMode::Clear => p.options.http_connection,
                    };
                }
            }
            "httpchk" => {
                if !self.has_cap(line, 'B', "httpchk", "") {
                    return;
                }
                if mode == OptionMode::Clear {
                    if let Some(p) = self.cur_proxy_mut() {
                        p.http_check = None;
                    }
                    return;
                }
                let mut hc = self
                    .cur_proxy()
                    .and_then(|p| p.http_check.clone())
                    .unwrap_or_default();
                match args.len() {
                    0 => {}
                    1 => hc.uri = args[0].clone(),
                    _ => {
                        hc.method = args[0].clone();
                        hc.uri = args[1].clone();
                        if let Some(v) = args.get(2) {
                            // Legacy: headers hidden after "\r\n" in the version.
                            let mut parts = v.split("\r\n");
                            hc.version = parts.next().unwrap_or("HTTP/1.0").to_string();
                            let hidden: Vec<&str> = parts.filter(|s| !s.is_empty()).collect();
                            if !hidden.is_empty() {
                                self.warn(&line.loc, line.span, "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.".into());
                            }
                            for h in hidden {
                                if let Some((n, val)) = h.split_once(':') {
                                    if n.eq_ignore_ascii_case("host") {
                                        hc.host = Some(val.trim().to_string());
                                    } else {
                                        hc.headers.push((n.to_string(), val.trim().to_string()));
                                    }
                                }
                            }
                        }
                        if let Some(h) = args.get(3) {
                            hc.host = Some(h.clone());
                        }
                    }
                }
                if let Some(p) = self.cur_proxy_mut() {
                    p.http_check = Some(hc);
                    p.check_protocol = None;
                }
            }
            "http-restrict-req-hdr-names" => {
                if !matches!(
                    args.first().map(String::as_str),
                    Some("preserve" | "reject" | "delete")
                ) {
                    self.alert(&line.loc, line.span, format!("missing parameter. option '{name}' expects 'preserve', 'reject' or 'delete' option."));
                    return;
                }
                self.record_later(line);
            }
            _ => {
                // Protocol checks: ssl-hello-chk, mysql-check, …
                if !self.has_cap(line, 'B', &name, "") {
                    return;
                }
                let check = (mode == OptionMode::Set).then(|| NamedCheck {
                    name: name.clone(),
                    args: args.clone(),
                });
                let active = name == "ssl-hello-chk" || name == "mysql-check";
                if let Some(p) = self.cur_proxy_mut() {
                    p.check_protocol = check;
                    p.http_check = None;
                }
                if !active {
                    self.not_active(line, &format!("'option {name}'"));
                }
            }
        }
    }
}

/// What an option line does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum OptionMode {
    /// `option X`.
    Set,
    /// `no option X`.
    Clear,
    /// `default option X`.
    Reset,
}
