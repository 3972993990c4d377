//! Keywords of `defaults`, `frontend`, `backend` and `listen`: the
//! dispatch of every proxy keyword, capability checks, timeouts, limits,
//! logs, captures and errorfiles. Options live in `options`, `stats` in
//! `stats`, `http-check` in `check`, balance/cookie in `balance`, rules in
//! `rules`, servers in `server`, binds in `bind`, 1.x-era directives in
//! `legacy`.

use super::global::parse_log_target;
use super::options::OptionMode;
use super::section::{Current, Line, Reader};
use super::values::{atol, atou, parse_time, suggestion, time_error_message};
use crate::model::common::Duration;
use crate::model::haproxy::{
    Capture, CaptureKind, ErrorFile, Mode, Proxy, ProxyKind, ProxyLog, RawDirective,
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

    /// Name and kind of the proxy being parsed.
    pub(super) fn proxy_name_kind(&self) -> (String, ProxyKind) {
        self.cur_proxy()
            .map(|p| (p.name.clone(), p.kind))
            .unwrap_or((String::new(), ProxyKind::Defaults))
    }

    /// Capability check; warns (haproxy's text) and returns false when the
    /// keyword does not apply to this proxy.
    pub(super) fn has_cap(&mut self, line: &Line, cap: char, what: &str, hint: &str) -> bool {
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

    /// `has_cap` for keywords that need a backend.
    pub(super) fn has_backend_cap(&mut self, line: &Line, what: &str) -> bool {
        self.has_cap(line, 'B', what, "")
    }

    pub(super) fn record_later(&mut self, line: &Line) {
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
                // 2.6 only warns: the listener is still created (observed
                // listening), so it is kept in the model.
                self.has_cap(line, 'F', "bind", "");
                self.bind_keyword(line);
            }
            "server" | "default-server" => self.server_keyword(line),
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
            "errorfile" => self.errorfile_keyword(line),
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
                // haproxy checks the expressions of the proxies that log
                // with it (2.6 does it after reading the file).
                let (_, kind) = self.proxy_name_kind();
                let stage = super::sample::Stage::Log;
                let checked = super::sample::check_format(line.arg(1), self.lua_loaded(), stage);
                if let (Err(e), false) = (checked, kind == ProxyKind::Defaults) {
                    self.post_alert(format!(
                        "Parsing [{loc}]: failed to parse log-format : {e}."
                    ));
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
                let hint = suggestion(k, ACTIVE.iter().chain(LATER.iter()).copied());
                self.alert(
                    &loc,
                    span,
                    format!("unknown keyword '{k}' in '{sect}' section{hint}"),
                );
            }
        }
    }

    /// `errorfile <code> <file>`: the file is read now, as 2.6 does.
    fn errorfile_keyword(&mut self, line: &Line) {
        const CODES: &[u16] = &[
            200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
        ];
        if line.len() < 3 {
            self.alert(
                &line.loc,
                line.span,
                "errorfile : expects <status_code> and <file> as arguments.".into(),
            );
            return;
        }
        let code = atol(line.arg(1));
        let Some(status) = u16::try_from(code).ok().filter(|c| CODES.contains(c)) else {
            self.alert(
                &line.loc,
                line.span,
                format!("errorfile : status code '{code}' not handled."),
            );
            return;
        };
        let path = line.arg(2).to_string();
        if let Err(m) = check_errorfile(&path) {
            self.alert(&line.loc, line.span, format!("errorfile : {m}"));
            return;
        }
        if let Some(p) = self.cur_proxy_mut() {
            p.errorfiles.retain(|e| e.status != status);
            p.errorfiles.push(ErrorFile { status, path });
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
}

/// Reads an errorfile as 2.6 does at parse time; the error is haproxy's
/// text. An empty file (e.g. `/dev/null`) means "close without response".
fn check_errorfile(path: &str) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|_| format!("error opening file '{path}'."))?;
    let mut head = Vec::new();
    f.by_ref()
        .take(16384)
        .read_to_end(&mut head)
        .map_err(|_| format!("error reading file '{path}'."))?;
    if !head.is_empty() && !head.starts_with(b"HTTP/") {
        return Err(format!(
            "'{path}': unable to parse headers (error offset: 0)"
        ));
    }
    Ok(())
}
