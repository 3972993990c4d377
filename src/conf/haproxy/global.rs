//! The `global` section: process-wide settings into `model::haproxy::Global`,
//! and the `log` target syntax shared with proxies.

use super::section::{Line, Reader};
use super::tokenize::expand_env;
use super::values::{self, AddrUse, atou, parse_address, suggestion};
use crate::model::haproxy::{EnvChange, LogAddress, LogTarget, RawDirective, StatsSocket};
use std::path::PathBuf;

/// Global keywords parsed into the model.
const ACTIVE: &[&str] = &[
    "log",
    "log-tag",
    "log-send-hostname",
    "chroot",
    "pidfile",
    "maxconn",
    "user",
    "group",
    "uid",
    "gid",
    "daemon",
    "nbthread",
    "nbproc",
    "stats",
    "ulimit-n",
    "maxsslconn",
    "maxconnrate",
    "maxsessrate",
    "spread-checks",
    "hard-stop-after",
    "node",
    "description",
    "quiet",
    "zero-warning",
    "master-worker",
    "ca-base",
    "crt-base",
    "ssl-default-bind-ciphers",
    "ssl-default-bind-ciphersuites",
    "ssl-default-bind-options",
    "ssl-default-server-ciphers",
    "ssl-default-server-ciphersuites",
    "ssl-default-server-options",
    "ssl-server-verify",
    "ssl-dh-param-file",
    "setenv",
    "presetenv",
    "unsetenv",
    "resetenv",
    "tune.bufsize",
    "tune.maxrewrite",
    "tune.http.maxhdr",
    "tune.ssl.default-dh-param",
];

/// Global keywords haproxy 2.6 knows that Pharos records without acting.
const LATER: &[&str] = &[
    "cpu-map",
    "noepoll",
    "nopoll",
    "nosplice",
    "noreuseport",
    "nogetaddrinfo",
    "nokqueue",
    "noevports",
    "h1-case-adjust",
    "h1-case-adjust-file",
    "lua-load",
    "lua-load-per-thread",
    "lua-prepend-path",
    "external-check",
    "insecure-fork-wanted",
    "insecure-setuid-wanted",
    "expose-experimental-directives",
    "default-path",
    "server-state-file",
    "server-state-base",
    "localpeer",
    "mworker-max-reloads",
    "maxcompcpuusage",
    "maxcomprate",
    "maxpipes",
    "maxzlibmem",
    "maxsslrate",
    "pp2-never-send-local",
    "busy-polling",
    "set-dumpable",
    "strict-limits",
    "unix-bind",
    "grace",
    "numa-cpu-mapping",
    "profiling.tasks",
    "profiling.memory",
    "thread-groups",
    "thread-group",
    "ssl-engine",
    "ssl-mode-async",
    "ssl-load-extra-files",
    "ssl-load-extra-del-ext",
    "ssl-skip-self-issued-ca",
    "issuers-chain-path",
    "debug",
    "fd-hard-limit",
    "cluster-secret",
    "close-spread-time",
    "anonkey",
    "set-var",
    "set-var-fmt",
    "prealloc-fd",
    "ssl-propquery",
    "ssl-provider",
    "ssl-provider-path",
    "httpclient.resolvers.id",
    "httpclient.resolvers.prefer",
    "httpclient.ssl.ca-file",
    "httpclient.ssl.verify",
    "httpclient.retries",
    "httpclient.timeout.connect",
    "log-send-hostname",
    "hard-stop-after",
    "node",
    "ssl-security-level",
    "tune.ssl.cachesize",
    "51degrees-data-file",
    "deviceatlas-json-file",
    "wurfl-data-file",
    "no-memory-trimming",
    "limited-quic",
    "cluster-secret",
];

/// Syslog facilities, in haproxy's order.
pub const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// Syslog levels.
pub const LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Log formats haproxy accepts after `format`.
const LOG_FORMATS: &[&str] = &[
    "local", "rfc3164", "rfc5424", "short", "raw", "priority", "timed", "iso",
];

/// Parses `<target> [len n] [format f] [sample r:s] <facility> [max [min]]`
/// (the words after `log`). The error is haproxy's message.
pub fn parse_log_target(
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LogTarget, String> {
    let usage = "'log' expects either <address[:port]> and <facility> or 'global' as arguments.";
    let target = args.first().ok_or_else(|| usage.to_string())?;
    let target = expand_env(target, env);
    let address = match target.as_str() {
        "stdout" => LogAddress::Stdout,
        "stderr" => LogAddress::Stderr,
        t if t.starts_with("ring@") => LogAddress::Ring(t[5..].to_string()),
        t => {
            let (stream, text) = match t.strip_prefix("tcp@") {
                Some(rest) => (true, rest),
                None => (false, t),
            };
            let mut addr = parse_address(text, AddrUse::Log).map_err(|e| format!("'log' : {e}"))?;
            if let crate::model::common::Endpoint::Inet { ports, .. } = &mut addr.endpoint
                && ports.is_none()
            {
                *ports = Some((514, 514));
            }
            if stream {
                LogAddress::Stream(addr.endpoint)
            } else {
                LogAddress::Datagram(addr.endpoint)
            }
        }
    };
    let mut t = LogTarget {
        address,
        max_len: None,
        format: None,
        sample: None,
        facility: String::new(),
        max_level: None,
        min_level: None,
    };
    let mut i = 1;
    for _ in 0..args.len() {
        match args.get(i).map(String::as_str) {
            Some("len") => {
                let v = args.get(i + 1).map(String::as_str).unwrap_or("");
                let n = atou(v);
                if n == 0 {
                    return Err(format!("invalid log length '{v}', must be > 0."));
                }
                t.max_len = Some(n);
                i += 2;
            }
            Some("format") => {
                let v = args.get(i + 1).map(String::as_str).unwrap_or("");
                if !LOG_FORMATS.contains(&v) {
                    return Err(format!("unknown log format '{v}'"));
                }
                t.format = Some(v.to_string());
                i += 2;
            }
            Some("sample") => {
                t.sample = args.get(i + 1).cloned();
                i += 2;
            }
            _ => break,
        }
    }
    let facility = args.get(i).ok_or_else(|| usage.to_string())?;
    if !FACILITIES.contains(&facility.as_str()) {
        return Err(format!("unknown log facility '{facility}'"));
    }
    t.facility = facility.clone();
    if let Some(l) = args.get(i + 1) {
        if !LEVELS.contains(&l.as_str()) {
            return Err(format!("unknown optional log level '{l}'"));
        }
        t.max_level = Some(l.clone());
    }
    if let Some(l) = args.get(i + 2) {
        if !LEVELS.contains(&l.as_str()) {
            return Err(format!("unknown optional minimum log level '{l}'"));
        }
        t.min_level = Some(l.clone());
    }
    if let Some(extra) = args.get(i + 3) {
        return Err(format!("cannot handle unexpected argument '{extra}'."));
    }
    Ok(t)
}

impl Reader<'_> {
    /// One line of the `global` section.
    pub(super) fn global_keyword(&mut self, line: &Line) {
        let kw = line.arg(0).to_string();
        let (loc, span) = (line.loc.clone(), line.span);
        let need_arg = |r: &mut Self, what: &str| -> bool {
            if line.len() < 2 {
                r.alert(&loc, span, format!("'{kw}' expects {what} argument."));
                return false;
            }
            true
        };
        let no_extra = |r: &mut Self, max: usize| -> bool {
            if line.len() > max {
                r.alert(
                    &loc,
                    span,
                    format!(
                        "'{kw}' cannot handle unexpected argument '{}'.",
                        line.arg(max)
                    ),
                );
                return false;
            }
            true
        };
        match kw.as_str() {
            "daemon" | "quiet" | "zero-warning" => {
                if !no_extra(self, 1) {
                    return;
                }
                let g = &mut self.cfg.global;
                match kw.as_str() {
                    "daemon" => g.daemon = true,
                    "quiet" => g.quiet = true,
                    _ => g.zero_warning = true,
                }
            }
            "master-worker" => {
                if line.len() > 1 && line.arg(1) != "no-exit-on-failure" {
                    self.alert(
                        &loc,
                        span,
                        "'master-worker' only supports 'no-exit-on-failure' option.".into(),
                    );
                    return;
                }
                self.cfg.global.master_worker = true;
            }
            "maxconn" | "ulimit-n" | "maxsslconn" | "maxconnrate" | "maxsessrate" | "nbthread"
            | "uid" | "gid" => {
                if !need_arg(self, "an integer") || !no_extra(self, 2) {
                    return;
                }
                let v = atou(line.arg(1));
                if kw == "nbthread" && !(1..=64).contains(&values::atol(line.arg(1))) {
                    self.alert(
                        &loc,
                        span,
                        format!(
                            "'nbthread' must be between 1 and 64 (was {}).",
                            values::atol(line.arg(1))
                        ),
                    );
                    return;
                }
                let g = &mut self.cfg.global;
                match kw.as_str() {
                    "maxconn" => g.maxconn = Some(v),
                    "ulimit-n" => g.ulimit_n = Some(v),
                    "maxsslconn" => g.maxsslconn = Some(v),
                    "maxconnrate" => g.maxconnrate = Some(v),
                    "maxsessrate" => g.maxsessrate = Some(v),
                    "nbthread" => g.nbthread = Some(v),
                    "uid" => g.uid = Some(v),
                    _ => g.gid = Some(v),
                }
            }
            "nbproc" => self.legacy_nbproc(line),
            "user" | "group" => {
                if !need_arg(self, "a string") {
                    return;
                }
                let v = Some(line.arg(1).to_string());
                if kw == "user" {
                    self.cfg.global.user = v
                } else {
                    self.cfg.global.group = v
                }
            }
            "chroot" | "pidfile" | "ca-base" | "crt-base" | "ssl-dh-param-file" => {
                if !need_arg(self, "a directory") || !no_extra(self, 2) {
                    return;
                }
                let v = Some(PathBuf::from(line.arg(1)));
                let g = &mut self.cfg.global;
                match kw.as_str() {
                    "chroot" => g.chroot = v,
                    "pidfile" => g.pidfile = v,
                    "ca-base" => g.ca_base = v,
                    "crt-base" => g.crt_base = v,
                    _ => g.ssl.dh_param_file = v,
                }
            }
            "node" | "description" | "log-tag" => {
                if !need_arg(self, "a string") {
                    return;
                }
                let v = Some(line.words[1..].join(" "));
                let g = &mut self.cfg.global;
                match kw.as_str() {
                    "node" => g.node = v,
                    "description" => g.description = v,
                    _ => g.log_tag = v,
                }
            }
            "log-send-hostname" => {
                self.cfg.global.log_send_hostname = Some(line.words.get(1).cloned());
            }
            "log" => {
                if line.arg(1) == "global" {
                    self.alert(&loc, span, "'log global' only makes sense in 'defaults', 'frontend', 'backend' and 'listen' sections.".into());
                    return;
                }
                let env = |n: &str| self.env_var(n);
                match parse_log_target(&line.words[1..], &env) {
                    Ok(t) => self.cfg.global.logs.push(t),
                    Err(e) => self.alert(&loc, span, e),
                }
            }
            "spread-checks" => {
                if !need_arg(self, "an integer") {
                    return;
                }
                let v = values::atol(line.arg(1));
                if !(0..=50).contains(&v) {
                    self.alert(
                        &loc,
                        span,
                        "'spread-checks' needs a positive value between 0 and 50.".into(),
                    );
                    return;
                }
                self.cfg.global.spread_checks = v as u32;
            }
            "hard-stop-after" => {
                if !need_arg(self, "a time") {
                    return;
                }
                match values::parse_time(line.arg(1), 1) {
                    Ok(d) => self.cfg.global.hard_stop_after = Some(d),
                    Err(e) => {
                        let m = values::time_error_message(&e, line.arg(1), "'hard-stop-after'");
                        self.alert(&loc, span, m);
                    }
                }
            }
            "stats" => self.global_stats(line),
            "ssl-default-bind-ciphers"
            | "ssl-default-bind-ciphersuites"
            | "ssl-default-server-ciphers"
            | "ssl-default-server-ciphersuites"
            | "ssl-server-verify" => {
                if !need_arg(self, "a string") {
                    return;
                }
                if kw == "ssl-server-verify" && !matches!(line.arg(1), "none" | "required") {
                    self.alert(&loc, span, format!(
                        "unknown '{kw}' argument '{}', only 'none' and 'required' are supported.",
                        line.arg(1)
                    ));
                    return;
                }
                let v = Some(line.arg(1).to_string());
                let s = &mut self.cfg.global.ssl;
                match kw.as_str() {
                    "ssl-default-bind-ciphers" => s.bind_ciphers = v,
                    "ssl-default-bind-ciphersuites" => s.bind_ciphersuites = v,
                    "ssl-default-server-ciphers" => s.server_ciphers = v,
                    "ssl-default-server-ciphersuites" => s.server_ciphersuites = v,
                    _ => s.server_verify = v,
                }
            }
            "ssl-default-bind-options" | "ssl-default-server-options" => {
                let opts = line.words[1..].to_vec();
                if kw == "ssl-default-bind-options" {
                    self.cfg.global.ssl.bind_options = opts;
                } else {
                    self.cfg.global.ssl.server_options = opts;
                }
            }
            "setenv" | "presetenv" => {
                if line.len() != 3 {
                    self.alert(&loc, span, format!("'{kw}' expects a name and a value."));
                    return;
                }
                let (name, value) = (line.arg(1).to_string(), line.arg(2).to_string());
                let present = self.env_var(&name).is_some();
                if kw == "setenv" || !present {
                    self.env_overlay.insert(name.clone(), Some(value.clone()));
                }
                let change = if kw == "setenv" {
                    EnvChange::Set { name, value }
                } else {
                    EnvChange::Preset { name, value }
                };
                self.cfg.global.environment.push(change);
            }
            "unsetenv" => {
                if line.len() < 2 {
                    self.alert(
                        &loc,
                        span,
                        "'unsetenv' expects at least one variable name.".into(),
                    );
                    return;
                }
                for n in &line.words[1..] {
                    self.env_overlay.insert(n.clone(), None);
                }
                self.cfg.global.environment.push(EnvChange::Unset {
                    names: line.words[1..].to_vec(),
                });
            }
            "resetenv" => {
                let keep: Vec<String> = line.words[1..].to_vec();
                for (name, _) in std::env::vars_os() {
                    let name = name.to_string_lossy().into_owned();
                    if !keep.contains(&name) {
                        self.env_overlay.insert(name, None);
                    }
                }
                let set: Vec<String> = self.env_overlay.keys().cloned().collect();
                for name in set {
                    if !keep.contains(&name) {
                        self.env_overlay.insert(name, None);
                    }
                }
                self.cfg.global.environment.push(EnvChange::Reset { keep });
            }
            k if k.starts_with("tune.") => self.global_tune(line),
            k if LATER.contains(&k) => {
                self.cfg.global.other.push(RawDirective {
                    line: span.line,
                    words: line.words.clone(),
                });
                self.not_active(line, &format!("'{k}'"));
            }
            k => {
                let all = ACTIVE.iter().chain(LATER.iter()).copied();
                let hint = suggestion(k, all);
                self.alert(
                    &loc,
                    span,
                    format!("unknown keyword '{k}' in 'global' section{hint}"),
                );
            }
        }
    }

    fn global_tune(&mut self, line: &Line) {
        let kw = line.arg(0).to_string();
        if line.len() < 2 {
            self.alert(
                &line.loc,
                line.span,
                format!("'{kw}' expects an integer argument."),
            );
            return;
        }
        let v = line.arg(1);
        let t = &mut self.cfg.global.tune;
        match kw.as_str() {
            "tune.bufsize" => {
                let n = values::atol(v);
                if n <= 0 || n > i64::from(i32::MAX) {
                    self.alert(
                        &line.loc,
                        line.span,
                        format!("{kw} expects a positive integer argument."),
                    );
                    return;
                }
                t.bufsize = n as u32;
            }
            "tune.maxrewrite" => t.maxrewrite = atou(v),
            "tune.http.maxhdr" => {
                let n = values::atol(v);
                if !(1..=32767).contains(&n) {
                    self.alert(
                        &line.loc,
                        line.span,
                        format!("'{kw}' expects a numeric value between 1 and 32767"),
                    );
                    return;
                }
                t.http_maxhdr = n as u32;
            }
            "tune.ssl.default-dh-param" => {
                let n = atou(v);
                if n < 1024 {
                    self.alert(
                        &line.loc,
                        line.span,
                        format!("'{kw}' expects a value >= 1024."),
                    );
                    return;
                }
                t.ssl_default_dh_param = Some(n);
            }
            _ => {
                t.other.push((kw.clone(), line.words[1..].join(" ")));
                self.not_active(line, &format!("'{kw}'"));
            }
        }
    }

    fn global_stats(&mut self, line: &Line) {
        let (loc, span) = (line.loc.clone(), line.span);
        match line.arg(1) {
            "socket" => {
                if line.len() < 3 {
                    self.alert(&loc, span, "'stats socket' requires an address (file, fd@ or address)".into());
                    return;
                }
                let env = |n: &str| self.env_var(n);
                let text = expand_env(line.arg(2), &env);
                let parsed = parse_address(&text, AddrUse::Bind);
                let address = match parsed {
                    Ok(a) => a.endpoint,
                    Err(e) => {
                        self.alert(&loc, span, format!("'stats socket' : {e}"));
                        return;
                    }
                };
                let ctx = format!("'stats socket {}'", line.arg(2));
                let Some(options) = self.bind_options(line, 3, &ctx, true) else { return };
                self.cfg.global.stats_sockets.push(StatsSocket { address, options });
            }
            "timeout" => match values::parse_time(line.arg(2), 1) {
                Ok(d) if d.as_micros() > 0 => self.cfg.global.stats_timeout = d,
                Ok(_) => self.alert(&loc, span, "'stats timeout' expects a positive value".into()),
                Err(e) => {
                    let m = values::time_error_message(&e, line.arg(2), "'stats timeout'");
                    self.alert(&loc, span, m);
                }
            },
            "maxconn" => {
                let n = values::atol(line.arg(2));
                if n <= 0 {
                    self.alert(&loc, span, "'stats maxconn' expects a positive value".into());
                    return;
                }
                self.cfg.global.stats_maxconn = u32::try_from(n).unwrap_or(u32::MAX);
            }
            "bind-process" => {
                self.cfg.global.other.push(RawDirective { line: span.line, words: line.words.clone() });
                self.not_active(line, "'stats bind-process'");
            }
            _ => self.alert(&loc, span, "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' in 'global' section".into()),
        }
    }
}
