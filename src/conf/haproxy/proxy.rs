//! Keywords of `defaults`, `frontend`, `backend` and `listen`: capability
//! checks, timeouts, balance, cookie, options (with `no`/`default`), stats,
//! logs, captures. Rules live in `rules`, servers in `server`, binds in
//! `bind`, 1.x-era directives in `legacy`.

use super::global::parse_log_target;
use super::section::{Current, Line, Reader};
use super::values::{atol, atou, did_you_mean, parse_network, parse_time, time_error_message};
use crate::model::common::Duration;
use crate::model::haproxy::{
    Balance, Capture, CaptureKind, CookieMethod, CookiePersistence, ErrorFile, ForwardFor,
    HttpCheckSpec, HttpConnectionMode, HttpExpect, LogOption, Mode, NamedCheck, OriginalTo, Proxy,
    ProxyKind, ProxyLog, ProxyOptions, RawDirective, Stats,
};

/// Proxy keywords parsed into the model.
const ACTIVE: &[&str] = &[
    "mode",
    "bind",
    "maxconn",
    "backlog",
    "fullconn",
    "timeout",
    "balance",
    "hash-type",
    "server",
    "default-server",
    "cookie",
    "option",
    "no",
    "default",
    "retries",
    "acl",
    "use_backend",
    "default_backend",
    "use-server",
    "http-request",
    "http-response",
    "redirect",
    "tcp-request",
    "stats",
    "errorfile",
    "log",
    "log-format",
    "capture",
    "monitor-uri",
    "id",
    "description",
    "disabled",
    "enabled",
    "rate-limit",
    "http-check",
];

/// Proxy keywords haproxy 2.6 knows that are recorded without acting.
const LATER: &[&str] = &[
    "monitor",
    "monitor-net",
    "http-after-response",
    "tcp-response",
    "stick-table",
    "stick",
    "persist",
    "force-persist",
    "ignore-persist",
    "http-reuse",
    "source",
    "compression",
    "unique-id-format",
    "unique-id-header",
    "log-tag",
    "log-format-sd",
    "error-log-format",
    "email-alert",
    "http-error",
    "errorfiles",
    "errorloc",
    "errorloc302",
    "errorloc303",
    "filter",
    "server-template",
    "dynamic-cookie-key",
    "external-check",
    "tcp-check",
    "http-send-name-header",
    "max-keep-alive-queue",
    "retry-on",
    "max-session-srv-conns",
    "declare",
    "load-server-state-from-file",
    "server-state-file-name",
    "bind-process",
    "log-steps",
    "guid",
    "dispatch",
    "transparent",
];

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
    ("http-restrict-req-hdr-names", 'A'),
    ("http-drop-request-trailers", 'B'),
    ("http-drop-response-trailers", 'F'),
    ("spop-check", 'B'),
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
];

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

/// Timeouts: name, needs frontend (F) / backend (B) / any (A).
const TIMEOUTS: &[(&str, char)] = &[
    ("client", 'F'),
    ("server", 'B'),
    ("connect", 'B'),
    ("check", 'B'),
    ("queue", 'B'),
    ("http-keep-alive", 'F'),
    ("http-request", 'F'),
    ("tunnel", 'B'),
    ("tarpit", 'A'),
    ("client-fin", 'F'),
    ("server-fin", 'B'),
];

impl Reader<'_> {
    /// The proxy (or defaults section) being parsed.
    pub(super) fn cur_proxy(&self) -> Option<&Proxy> {
        match self.current {
            Current::Proxy(i) => self.cfg.proxies.get(i),
            Current::Defaults(i) => self.defaults.get(i).map(|d| &d.proxy),
            _ => None,
        }
    }

    /// Mutable access to the proxy being parsed.
    pub(super) fn cur_proxy_mut(&mut self) -> Option<&mut Proxy> {
        match self.current {
            Current::Proxy(i) => self.cfg.proxies.get_mut(i),
            Current::Defaults(i) => self.defaults.get_mut(i).map(|d| &mut d.proxy),
            _ => None,
        }
    }

    pub(super) fn proxy_ref(&self, _idx: usize) -> Option<&Proxy> {
        self.cur_proxy()
    }

    pub(super) fn proxy_mut(&mut self, _idx: usize) -> Option<&mut Proxy> {
        self.cur_proxy_mut()
    }

    pub(super) fn proxy_name_kind(&self, _idx: usize) -> (String, ProxyKind) {
        self.cur_proxy()
            .map(|p| (p.name.clone(), p.kind))
            .unwrap_or_default_kind()
    }

    /// Capability check; warns (haproxy's text) and returns false when the
    /// keyword does not apply to this proxy.
    fn has_cap(&mut self, line: &Line, cap: char, what: &str, hint: &str) -> bool {
        let Some((name, kind)) = self.cur_proxy().map(|p| (p.name.clone(), p.kind)) else {
            return false;
        };
        if kind == ProxyKind::Defaults {
            return true;
        }
        let ok = match cap {
            'F' => kind.has_frontend(),
            'B' => kind.has_backend(),
            _ => true,
        };
        if !ok {
            let missing = if cap == 'F' { "frontend" } else { "backend" };
            self.warn(
                &line.loc,
                line.span,
                format!(
                    "'{what}' ignored because {} '{name}' has no {missing} capability.{hint}",
                    kind.label()
                ),
            );
        }
        ok
    }

    fn record_later(&mut self, line: &Line) {
        let d = RawDirective {
            line: line.span.line,
            words: line.words.clone(),
        };
        if let Some(p) = self.cur_proxy_mut() {
            p.other.push(d);
        }
        self.not_active(line, &format!("'{}'", line.arg(0)));
    }

    /// One line of a proxy or defaults section.
    pub(super) fn proxy_keyword(&mut self, line: &Line) {
        let kw = line.arg(0).to_string();
        let in_defaults = matches!(self.current, Current::Defaults(_));
        let (loc, span) = (line.loc.clone(), line.span);
        if in_defaults && matches!(kw.as_str(), "bind" | "use_backend" | "use-server" | "id") {
            self.alert(
                &loc,
                span,
                format!("'{kw}' not allowed in 'defaults' section."),
            );
            return;
        }
        if in_defaults && kw == "capture" {
            self.alert(
                &loc,
                span,
                format!(
                    "'capture {}' not allowed in 'defaults' section.",
                    line.arg(1)
                ),
            );
            return;
        }
        if self.in_anonymous_defaults()
            && matches!(
                kw.as_str(),
                "acl"
                    | "http-request"
                    | "http-response"
                    | "tcp-request"
                    | "http-after-response"
                    | "tcp-response"
            )
        {
            self.alert(
                &loc,
                span,
                format!("'{kw}' not allowed in anonymous 'defaults' section."),
            );
            return;
        }
        if self.legacy_proxy_keyword(line) {
            return;
        }
        match kw.as_str() {
            "mode" => {
                let m = match line.arg(1) {
                    "http" => Mode::Http,
                    "tcp" => Mode::Tcp,
                    "health" => Mode::Health,
                    _ => {
                        self.alert(
                            &loc,
                            span,
                            "unknown proxy mode 'MODE'.".replace("MODE", line.arg(1)),
                        );
                        return;
                    }
                };
                if let Some(p) = self.cur_proxy_mut() {
                    p.mode = m;
                }
            }
            "bind" => {
                if self.has_cap(line, 'F', "bind", "") {
                    self.bind_keyword(0, line);
                }
            }
            "server" | "default-server" => self.server_keyword(0, line),
            "maxconn" | "backlog" | "fullconn" => {
                let (cap, hint) = match kw.as_str() {
                    "fullconn" => ('B', " Maybe you want 'maxconn' instead ?"),
                    "maxconn" => ('F', " Maybe you want 'fullconn' instead ?"),
                    _ => ('F', ""),
                };
                if !self.has_cap(line, cap, &kw, hint) {
                    return;
                }
                if line.len() < 2 {
                    self.alert(&loc, span, format!("'{kw}' expects an integer argument."));
                    return;
                }
                let v = Some(atou(line.arg(1)));
                if let Some(p) = self.cur_proxy_mut() {
                    match kw.as_str() {
                        "maxconn" => p.maxconn = v,
                        "backlog" => p.backlog = v,
                        _ => p.fullconn = v,
                    }
                }
            }
            "rate-limit" => {
                if line.arg(1) != "sessions" {
                    self.alert(
                        &loc,
                        span,
                        format!(
                            "'rate-limit' only supports 'sessions' (got '{}').",
                            line.arg(1)
                        ),
                    );
                    return;
                }
                if self.has_cap(line, 'F', "rate-limit", "") {
                    let v = Some(atou(line.arg(2)));
                    if let Some(p) = self.cur_proxy_mut() {
                        p.rate_limit_sessions = v;
                    }
                }
            }
            "retries" => {
                if !self.has_cap(line, 'B', "retries", "") {
                    return;
                }
                if line.len() < 2 {
                    self.alert(&loc, span, "'retries' expects an integer value.".into());
                    return;
                }
                let v = atou(line.arg(1));
                if let Some(p) = self.cur_proxy_mut() {
                    p.retries = v;
                }
            }
            "id" => {
                let n = atol(line.arg(1));
                if n <= 0 {
                    self.alert(&loc, span, "custom id has to be > 0.".into());
                    return;
                }
                if let Some(p) = self.cur_proxy_mut() {
                    p.id = Some(n as u32);
                }
            }
            "description" => {
                let d = Some(line.words[1..].join(" "));
                if let Some(p) = self.cur_proxy_mut() {
                    p.description = d;
                }
            }
            "disabled" | "enabled" => {
                let off = kw == "disabled";
                if let Some(p) = self.cur_proxy_mut() {
                    p.disabled = off;
                }
            }
            "timeout" => self.timeout_keyword(line),
            "balance" => self.balance_keyword(line),
            "hash-type" => self.hash_type_keyword(line),
            "cookie" => self.cookie_keyword(line),
            "option" => self.option_keyword(line, 1, OptionMode::Set),
            "no" | "default" => {
                if line.arg(1) != "option" && !(kw == "no" && line.arg(1) == "log") {
                    self.alert(&loc, span, format!("'{kw}' only supports 'option'."));
                    return;
                }
                if line.arg(1) == "log" {
                    if let Some(p) = self.cur_proxy_mut() {
                        p.logs.clear();
                    }
                    return;
                }
                if kw == "default" && in_defaults {
                    self.alert(
                        &loc,
                        span,
                        "'default option' is not supported in 'defaults' section.".into(),
                    );
                    return;
                }
                let mode = if kw == "no" {
                    OptionMode::Clear
                } else {
                    OptionMode::Reset
                };
                self.option_keyword(line, 2, mode);
            }
            "acl" => self.acl_keyword(line),
            "use_backend" | "default_backend" => {
                if self.has_cap(line, 'F', &kw, "") {
                    self.switching_keyword(line);
                }
            }
            "use-server" => {
                if self.has_cap(line, 'B', &kw, "") {
                    self.switching_keyword(line);
                }
            }
            "http-request" => self.http_rule_keyword(line, false),
            "http-response" => self.http_rule_keyword(line, true),
            "redirect" => self.redirect_keyword(line),
            "tcp-request" => self.tcp_request_keyword(line),
            "stats" => self.stats_keyword(line),
            "http-check" => self.http_check_keyword(line),
            "errorfile" => {
                if line.len() != 3 {
                    self.alert(
                        &loc,
                        span,
                        "'errorfile' expects <status_code> and <file> as arguments.".into(),
                    );
                    return;
                }
                const CODES: &[u16] = &[
                    200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503,
                    504,
                ];
                let code = u16::try_from(atol(line.arg(1))).unwrap_or(0);
                if !CODES.contains(&code) {
                    self.warn(&loc, span, format!("status code '{}' not handled by 'errorfile', error customization will be ignored.", line.arg(1)));
                    return;
                }
                let ef = ErrorFile {
                    status: code,
                    path: line.arg(2).to_string(),
                };
                if let Some(p) = self.cur_proxy_mut() {
                    p.errorfiles.retain(|e| e.status != code);
                    p.errorfiles.push(ef);
                }
            }
            "log" => {
                if line.arg(1) == "global" {
                    if let Some(p) = self.cur_proxy_mut() {
                        p.logs.push(ProxyLog::Global);
                    }
                    return;
                }
                let env = |n: &str| self.env_var(n);
                match parse_log_target(&line.words[1..], &env) {
                    Ok(t) => {
                        if let Some(p) = self.cur_proxy_mut() {
                            p.logs.push(ProxyLog::Target(t));
                        }
                    }
                    Err(e) => self.alert(&loc, span, e),
                }
            }
            "log-format" => {
                if line.len() != 2 {
                    self.alert(
                        &loc,
                        span,
                        "log-format expects one argument (use quotes for spaces).".into(),
                    );
                    return;
                }
                let f = Some(line.arg(1).to_string());
                if let Some(p) = self.cur_proxy_mut() {
                    p.log_format = f;
                }
            }
            "capture" => self.capture_keyword(line),
            "monitor-uri" => {
                if !self.has_cap(line, 'F', "monitor-uri", "") {
                    return;
                }
                if !line.arg(1).starts_with('/') {
                    self.alert(&loc, span, "'monitor-uri' expects an URI.".into());
                    return;
                }
                let u = Some(line.arg(1).to_string());
                if let Some(p) = self.cur_proxy_mut() {
                    p.monitor_uri = u;
                }
            }
            k if LATER.contains(&k) => self.record_later(line),
            k => {
                let sect = self.section_kw();
                let hint = did_you_mean(k, ACTIVE.iter().chain(LATER.iter()).copied())
                    .map(|s| format!("; did you mean '{s}' maybe ?"))
                    .unwrap_or_default();
                self.alert(
                    &loc,
                    span,
                    format!("unknown keyword '{k}' in '{sect}' section{hint}"),
                );
            }
        }
    }

    fn timeout_keyword(&mut self, line: &Line) {
        let name = line.arg(1);
        let Some(&(_, cap)) = TIMEOUTS.iter().find(|(n, _)| *n == name) else {
            self.alert(&line.loc, line.span, format!(
                "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '{name}')"
            ));
            return;
        };
        if line.len() < 3 {
            self.alert(
                &line.loc,
                line.span,
                format!("'timeout {name}' expects an integer value (in milliseconds)"),
            );
            return;
        }
        let d = match parse_time(line.arg(2), 1) {
            Ok(d) => d,
            Err(e) => {
                let m = time_error_message(&e, line.arg(2), &format!("'timeout {name}'"));
                self.alert(&line.loc, line.span, m);
                return;
            }
        };
        self.set_timeout(line, name, cap, d);
    }

    /// Stores a timeout after the capability check (shared with legacy names).
    pub(super) fn set_timeout(&mut self, line: &Line, name: &str, cap: char, d: Duration) {
        if let Some((pname, kind)) = self.cur_proxy().map(|p| (p.name.clone(), p.kind))
            && kind != ProxyKind::Defaults
        {
            let ok = match cap {
                'F' => kind.has_frontend(),
                'B' => kind.has_backend(),
                _ => true,
            };
            if !ok {
                let missing = if cap == 'F' { "frontend" } else { "backend" };
                self.warn(&line.loc, line.span, format!(
                    "'timeout {name}' will be ignored because {} '{pname}' has no {missing} capability",
                    kind.label()
                ));
                return;
            }
        }
        let Some(p) = self.cur_proxy_mut() else {
            return;
        };
        let t = &mut p.timeouts;
        let slot = match name {
            "client" => &mut t.client,
            "server" => &mut t.server,
            "connect" => &mut t.connect,
            "check" => &mut t.check,
            "queue" => &mut t.queue,
            "http-keep-alive" => &mut t.http_keep_alive,
            "http-request" => &mut t.http_request,
            "tunnel" => &mut t.tunnel,
            "tarpit" => &mut t.tarpit,
            "client-fin" => &mut t.client_fin,
            _ => &mut t.server_fin,
        };
        *slot = Some(d);
    }

    fn balance_keyword(&mut self, line: &Line) {
        if !self.has_cap(line, 'B', "balance", "") {
            return;
        }
        let algo = line.arg(1);
        let arg = |i: usize| line.arg(i);
        let b = match algo {
            "roundrobin" => Balance::RoundRobin,
            "static-rr" => Balance::StaticRr,
            "leastconn" => Balance::LeastConn,
            "first" => Balance::First,
            "source" => Balance::Source,
            "uri" => {
                let (mut whole, mut len, mut depth, mut path_only) = (false, None, None, false);
                let mut i = 2;
                while i < line.len() {
                    match arg(i) {
                        "whole" => whole = true,
                        "path-only" => path_only = true,
                        "len" => {
                            len = Some(atou(arg(i + 1)));
                            i += 1;
                        }
                        "depth" => {
                            depth = Some(atou(arg(i + 1)));
                            i += 1;
                        }
                        _ => {
                            self.alert(&line.loc, line.span, "'balance uri' only accepts parameters 'len', 'depth', 'path-only', and 'whole'.".into());
                            return;
                        }
                    }
                    i += 1;
                }
                Balance::Uri {
                    whole,
                    len,
                    depth,
                    path_only,
                }
            }
            "url_param" => {
                if line.len() < 3 {
                    self.alert(
                        &line.loc,
                        line.span,
                        "'balance url_param' requires an URL parameter name.".into(),
                    );
                    return;
                }
                let check_post = (arg(3) == "check_post").then(|| atou(arg(4)));
                Balance::UrlParam {
                    param: arg(2).to_string(),
                    check_post,
                }
            }
            a if a.starts_with("hdr(") && a.ends_with(')') && a.len() > 5 => Balance::Hdr {
                name: a[4..a.len() - 1].to_string(),
                use_domain_only: arg(2) == "use_domain_only",
            },
            a if a == "random" || a.starts_with("random(") => {
                let draws = a
                    .strip_prefix("random(")
                    .and_then(|r| r.strip_suffix(')'))
                    .map(atou)
                    .unwrap_or(2);
                Balance::Random {
                    draws: draws.max(1),
                }
            }
            a if a == "rdp-cookie" || a.starts_with("rdp-cookie(") => Balance::RdpCookie {
                name: a
                    .strip_prefix("rdp-cookie(")
                    .and_then(|r| r.strip_suffix(')'))
                    .map(str::to_string),
            },
            "hash" => Balance::Hash {
                expr: line.words[2..].join(" "),
            },
            _ => {
                self.alert(&line.loc, line.span, "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.".into());
                return;
            }
        };
        if let Some(p) = self.cur_proxy_mut() {
            p.balance = b;
        }
    }

    fn hash_type_keyword(&mut self, line: &Line) {
        if !self.has_cap(line, 'B', "hash-type", "") {
            return;
        }
        let consistent = match line.arg(1) {
            "consistent" => true,
            "map-based" => false,
            _ => {
                self.alert(
                    &line.loc,
                    line.span,
                    "'hash-type' requires 'map-based' or 'consistent'.".into(),
                );
                return;
            }
        };
        let mut ht = crate::model::haproxy::HashType {
            consistent,
            ..Default::default()
        };
        for w in &line.words[2..] {
            match w.as_str() {
                "sdbm" | "djb2" | "wt6" | "crc32" | "none" => ht.function = w.clone(),
                "avalanche" => ht.avalanche = true,
                other => {
                    self.alert(
                        &line.loc,
                        line.span,
                        format!("'hash-type' : unknown hash function '{other}'."),
                    );
                    return;
                }
            }
        }
        if let Some(p) = self.cur_proxy_mut() {
            p.hash_type = ht;
        }
    }

    fn cookie_keyword(&mut self, line: &Line) {
        if !self.has_cap(line, 'B', "cookie", "") {
            return;
        }
        if line.len() < 2 {
            self.alert(
                &line.loc,
                line.span,
                "'cookie' expects <cookie_name> as argument.".into(),
            );
            return;
        }
        let mut c = CookiePersistence {
            name: line.arg(1).to_string(),
            method: CookieMethod::Passive,
            indirect: false,
            nocache: false,
            postonly: false,
            preserve: false,
            httponly: false,
            secure: false,
            dynamic: false,
            domains: Vec::new(),
            maxidle: None,
            maxlife: None,
            attrs: Vec::new(),
        };
        let mut i = 2;
        while i < line.len() {
            let w = line.arg(i);
            match w {
                "rewrite" => c.method = CookieMethod::Rewrite,
                "insert" => c.method = CookieMethod::Insert,
                "prefix" => c.method = CookieMethod::Prefix,
                "indirect" => c.indirect = true,
                "nocache" => c.nocache = true,
                "postonly" => c.postonly = true,
                "preserve" => c.preserve = true,
                "httponly" => c.httponly = true,
                "secure" => c.secure = true,
                "dynamic" => c.dynamic = true,
                "domain" | "attr" => {
                    let Some(v) = line.words.get(i + 1) else {
                        self.alert(&line.loc, line.span, format!("'{w}' expects a value."));
                        return;
                    };
                    if w == "domain" {
                        c.domains.push(v.clone())
                    } else {
                        c.attrs.push(v.clone())
                    }
                    i += 1;
                }
                "maxidle" | "maxlife" => {
                    match parse_time(line.arg(i + 1), 1000) {
                        Ok(d) => {
                            if w == "maxidle" {
                                c.maxidle = Some(d)
                            } else {
                                c.maxlife = Some(d)
                            }
                        }
                        Err(e) => {
                            let m = time_error_message(&e, line.arg(i + 1), &format!("'{w}'"));
                            self.alert(&line.loc, line.span, m);
                            return;
                        }
                    }
                    i += 1;
                }
                _ => {
                    self.alert(&line.loc, line.span, "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.".into());
                    return;
                }
            }
            i += 1;
        }
        if c.method == CookieMethod::Insert && c.postonly && c.indirect {
            // Valid combination; nothing to check.
        }
        if let Some(p) = self.cur_proxy_mut() {
            p.cookie = Some(c);
        }
    }

    fn capture_keyword(&mut self, line: &Line) {
        if !self.has_cap(line, 'F', "capture", "") {
            return;
        }
        let (kind, name, len_at) = match (line.arg(1), line.arg(2)) {
            ("cookie", _) => (CaptureKind::Cookie, line.arg(2), 3),
            ("request", "header") => (CaptureKind::RequestHeader, line.arg(3), 4),
            ("response", "header") => (CaptureKind::ResponseHeader, line.arg(3), 4),
            _ => {
                self.alert(
                    &line.loc,
                    line.span,
                    "'capture' expects 'cookie', 'request header' or 'response header'.".into(),
                );
                return;
            }
        };
        if line.arg(len_at) != "len" || line.len() != len_at + 2 {
            self.alert(
                &line.loc,
                line.span,
                format!("'capture {}' expects <name> 'len' <len>.", line.arg(1)),
            );
            return;
        }
        let cap = Capture {
            kind,
            name: name.to_string(),
            len: atou(line.arg(len_at + 1)),
        };
        if let Some(p) = self.cur_proxy_mut() {
            p.captures.push(cap);
        }
    }

    fn stats_keyword(&mut self, line: &Line) {
        let sub = line.arg(1);
        const SUBS: &[&str] = &[
            "admin",
            "uri",
            "realm",
            "auth",
            "scope",
            "enable",
            "hide-version",
            "show-node",
            "show-desc",
            "show-legends",
            "refresh",
            "http-request",
        ];
        if !SUBS.contains(&sub) {
            self.alert_tight(&line.loc, line.span, format!(
                "unknown stats parameter '{sub}', expects 'admin', 'uri', 'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'."
            ));
            return;
        }
        let value = line.words.get(2).cloned();
        let (cond, cond_err) = if sub == "admin" {
            let (_, c) = super::rules::split_condition(&line.words[2..]);
            match c {
                None => (
                    None,
                    Some(
                        "'stats admin' requires either 'if' or 'unless' followed by a condition."
                            .to_string(),
                    ),
                ),
                Some(_) => match self.condition(c, line.span.line) {
                    Ok(c) => (c, None),
                    Err(e) => (
                        None,
                        Some(format!(
                            "error detected while parsing a 'stats admin' rule : {e}."
                        )),
                    ),
                },
            }
        } else {
            (None, None)
        };
        if let Some(e) = cond_err {
            self.alert(&line.loc, line.span, e);
            return;
        }
        let refresh = if sub == "refresh" {
            match parse_time(line.arg(2), 1000) {
                Ok(d) => Some(d),
                Err(e) => {
                    let m = time_error_message(&e, line.arg(2), "'stats refresh'");
                    self.alert(&line.loc, line.span, m);
                    return;
                }
            }
        } else {
            None
        };
        if matches!(sub, "uri" | "realm" | "auth" | "scope") && value.is_none() {
            self.alert(
                &line.loc,
                line.span,
                format!("'stats {sub}' needs an argument."),
            );
            return;
        }
        if sub == "auth" && !value.as_deref().unwrap_or("").contains(':') {
            self.alert(
                &line.loc,
                line.span,
                "'stats auth' needs a user:password account.".into(),
            );
            return;
        }
        let http_rule = if sub == "http-request" {
            let (act, c) = super::rules::split_condition(&line.words[2..]);
            let action = match super::rules::parse_http_action(act) {
                Ok(a) => a,
                Err(e) => {
                    self.alert(&line.loc, line.span, format!("'stats http-request' {e}."));
                    return;
                }
            };
            match self.condition(c, line.span.line) {
                Ok(cond) => Some(crate::model::haproxy::HttpRule {
                    line: line.span.line,
                    action,
                    cond,
                }),
                Err(e) => {
                    self.alert(
                        &line.loc,
                        line.span,
                        format!("error detected while parsing a 'stats http-request' rule : {e}."),
                    );
                    return;
                }
            }
        } else {
            None
        };
        let Some(p) = self.cur_proxy_mut() else {
            return;
        };
        let s = p.stats.get_or_insert_with(Stats::default);
        let v = value.unwrap_or_default();
        match sub {
            "enable" => s.enabled = true,
            "uri" => s.uri = v,
            "realm" => s.realm = v.replace("\\ ", " "),
            "auth" => {
                if let Some((u, pw)) = v.split_once(':') {
                    s.auths.push((u.to_string(), pw.to_string()));
                }
            }
            "scope" => s.scope.push(v),
            "hide-version" => s.hide_version = true,
            "show-legends" => s.show_legends = true,
            "show-node" => s.show_node = Some((!v.is_empty()).then_some(v)),
            "show-desc" => s.show_desc = Some((!v.is_empty()).then(|| line.words[2..].join(" "))),
            "refresh" => s.refresh = refresh,
            "admin" => s.admin.extend(cond),
            _ => s.http_request.extend(http_rule),
        }
    }

    fn http_check_keyword(&mut self, line: &Line) {
        if !self.has_cap(line, 'B', "http-check", "") {
            return;
        }
        let Some(p) = self.cur_proxy_mut() else {
            return;
        };
        let hc = p.http_check.get_or_insert_with(HttpCheckSpec::default);
        match line.arg(1) {
            "expect" => {
                let mut i = 2;
                let negate = line.arg(2) == "!";
                if negate {
                    i += 1;
                }
                let matcher = line.arg(i).to_string();
                let pattern = line
                    .words
                    .get(i + 1..)
                    .map(|w| w.join(" "))
                    .unwrap_or_default();
                hc.expect = Some(HttpExpect {
                    negate,
                    matcher,
                    pattern,
                });
            }
            "disable-on-404" => hc.disable_on_404 = true,
            "send-state" => hc.send_state = true,
            "send" => {
                let mut i = 2;
                while i < line.len() {
                    match line.arg(i) {
                        "meth" => hc.method = line.arg(i + 1).to_string(),
                        "uri" => hc.uri = line.arg(i + 1).to_string(),
                        "ver" => hc.version = line.arg(i + 1).to_string(),
                        "body" => hc.body = Some(line.arg(i + 1).to_string()),
                        "hdr" => {
                            hc.headers
                                .push((line.arg(i + 1).to_string(), line.arg(i + 2).to_string()));
                            i += 1;
                        }
                        _ => {}
                    }
                    i += 2;
                }
            }
            "connect" | "comment" | "set-var" | "unset-var" => {
                hc.other.push(line.words.clone());
                self.not_active(line, &format!("'http-check {}'", line.arg(1)));
            }
            other => {
                let m = format!(
                    "'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', 'send', 'expect', 'set-var' and 'unset-var'. but got '{other}'."
                );
                self.alert(&line.loc, line.span, m);
            }
        }
    }

    /// `option X`, `no option X`, `default option X`.
    fn option_keyword(&mut self, line: &Line, at: usize, mode: OptionMode) {
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
        let base_opts = match self.current {
            Current::Proxy(i) => self.bases.get(i).map(|b| b.options.clone()),
            _ => None,
        }
        .unwrap_or_default();
        if let Some(&(_, cap)) = BOOL_OPTIONS.iter().find(|(n, _)| *n == name) {
            if !self.has_cap(line, cap, &name, "") {
                return;
            }
            if !args.is_empty() {
                self.alert(
                    &line.loc,
                    line.span,
                    format!(
                        "'{} {name}' cannot handle unexpected argument '{}'.",
                        line.words[..at].join(" "),
                        args[0]
                    ),
                );
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
            let hint = did_you_mean(&name, all)
                .map(|s| format!("; did you mean '{s}' maybe ?"))
                .unwrap_or_default();
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

trait OrDefaultKind {
    fn unwrap_or_default_kind(self) -> (String, ProxyKind);
}

impl OrDefaultKind for Option<(String, ProxyKind)> {
    fn unwrap_or_default_kind(self) -> (String, ProxyKind) {
        self.unwrap_or((String::new(), ProxyKind::Defaults))
    }
}
