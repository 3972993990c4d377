//! haproxy 1.4/1.5 directives that 2.x refuses, accepted for CentOS-era
//! configs: each one gets a WARNING naming its modern form and is mapped
//! to that form in the model (reference/haproxy.md §1.8).

use super::acl::split_condition;
use super::section::{Line, Reader};
use super::values::{AddrUse, atol, parse_address, parse_time, time_error_message};
use crate::model::haproxy::{
    Acl, AclRef, Bind, BindOptions, CondTerm, Condition, HttpAction, NameMatch,
};

/// The deprecation warning text.
fn accepted_as(old: &str, since: &str, new: &str) -> String {
    format!("'{old}' is deprecated since HAProxy {since} and was accepted as '{new}'.")
}

/// A header name written at the start of a legacy regex (`^X-Foo:`), and
/// the regex text after the colon.
fn header_of_regex(re: &str) -> Option<(String, &str)> {
    let body = re.strip_prefix('^')?;
    let colon = body.find(':')?;
    let name = &body[..colon];
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| (name.to_string(), &body[colon + 1..]))
}

/// Whether the value part of a legacy regex matches any value.
fn matches_any_value(rest: &str) -> bool {
    matches!(
        rest,
        "" | ".*" | ".*$" | " .*" | "\\ .*" | "[ ]*.*" | "\\s*.*" | " *.*"
    )
}

/// Strips the optional blank after the header colon in a value regex.
fn value_regex(rest: &str) -> &str {
    rest.strip_prefix("\\ ")
        .or_else(|| rest.strip_prefix(' '))
        .or_else(|| rest.strip_prefix("\\s*"))
        .or_else(|| rest.strip_prefix(" *"))
        .unwrap_or(rest)
}

/// An anonymous ACL term matching the request/response head with a regex.
fn regex_condition(re: &str, icase: bool, response: bool, line: u32) -> Condition {
    let acl = Acl {
        name: String::new(),
        line,
        fetch: if response {
            "res.hdrs".into()
        } else {
            "req.hdrs".into()
        },
        ignore_case: icase,
        match_method: Some("reg".into()),
        pattern_files: Vec::new(),
        other_flags: Vec::new(),
        patterns: vec![re.to_string()],
    };
    Condition {
        negate: false,
        any_of: vec![vec![CondTerm {
            negate: false,
            acl: AclRef::Anonymous(Box::new(acl)),
        }]],
    }
}

impl Reader<'_> {
    /// `nbproc`: 1 is accepted with a warning, more stays fatal.
    pub(super) fn legacy_nbproc(&mut self, line: &Line) {
        if atol(line.arg(1)) == 1 && line.len() == 2 {
            let m = "'nbproc 1' is deprecated since HAProxy 2.5 and was accepted as the default: one process running 'nbthread' threads (one per CPU unless 'nbthread' is set).".to_string();
            self.warn(&line.loc, line.span, m);
        } else {
            self.alert(&line.loc, line.span, "nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.".into());
        }
    }

    /// `frontend NAME ADDR` / `listen NAME ADDR` → a `bind` line.
    pub(super) fn legacy_header_address(&mut self, line: &Line, addr: &str) {
        let env = |n: &str| self.env_var(n);
        let text = super::tokenize::expand_env(addr, &env);
        let mut addresses = Vec::new();
        for part in text.split(',') {
            match parse_address(part, AddrUse::Bind) {
                Ok(a) => addresses.push(a.endpoint),
                Err(e) => {
                    self.alert(&line.loc, line.span, format!("'{}' : {e}", line.arg(0)));
                    return;
                }
            }
        }
        let m = accepted_as(
            &format!("{} {} {addr}", line.arg(0), line.arg(1)),
            "1.6",
            &format!("bind {addr}"),
        );
        self.warn(&line.loc, line.span, m);
        if let Some(p) = self.cur_proxy_mut() {
            p.binds.push(Bind {
                line: line.span.line,
                addresses,
                options: BindOptions::default(),
            });
        }
    }

    /// Legacy `option forceclose`/`http-tunnel`/`http-use-htx`; true when handled.
    pub(super) fn legacy_option(&mut self, line: &Line, name: &str, clear: bool) -> bool {
        use crate::model::haproxy::HttpConnectionMode;
        let (since, mode, modern) = match name {
            "forceclose" => ("2.0", Some(HttpConnectionMode::Close), "option httpclose"),
            "http-tunnel" => (
                "2.1",
                Some(HttpConnectionMode::KeepAlive),
                "option http-keep-alive",
            ),
            "http-use-htx" => ("2.1", None, "nothing (HTX is always used)"),
            _ => return false,
        };
        let written = format!("{}option {name}", if clear { "no " } else { "" });
        self.warn(&line.loc, line.span, accepted_as(&written, since, modern));
        if let (Some(m), false) = (mode, clear)
            && let Some(p) = self.cur_proxy_mut()
        {
            p.options.http_connection = m;
        }
        true
    }

    /// The 1.x proxy keywords; true when `line` was one of them.
    pub(super) fn legacy_proxy_keyword(&mut self, line: &Line) -> bool {
        let kw = line.arg(0).to_string();
        match kw.as_str() {
            "contimeout" | "clitimeout" | "srvtimeout" => {
                let (name, cap) = match kw.as_str() {
                    "contimeout" => ("connect", 'B'),
                    "clitimeout" => ("client", 'F'),
                    _ => ("server", 'B'),
                };
                match parse_time(line.arg(1), 1) {
                    Ok(d) if line.len() == 2 => {
                        self.warn(
                            &line.loc,
                            line.span,
                            accepted_as(&kw, "2.1", &format!("timeout {name}")),
                        );
                        self.set_timeout(line, name, cap, d);
                    }
                    Ok(_) => self.alert(
                        &line.loc,
                        line.span,
                        format!("'{kw}' expects an integer value (in milliseconds)"),
                    ),
                    Err(e) => {
                        let m = time_error_message(&e, line.arg(1), &format!("'{kw}'"));
                        self.alert(&line.loc, line.span, m);
                    }
                }
                true
            }
            "redispatch" => {
                self.warn(
                    &line.loc,
                    line.span,
                    accepted_as("redispatch", "2.1", "option redispatch"),
                );
                if let Some(p) = self.cur_proxy_mut() {
                    p.options.redispatch = Some(-1);
                }
                true
            }
            "appsession" => {
                self.legacy_appsession(line);
                true
            }
            "block" => {
                let (_, cond) = split_condition(&line.words[1..]);
                if cond.is_none() {
                    self.alert(
                        &line.loc,
                        line.span,
                        "'block' expects 'if' or 'unless' followed by a condition.".into(),
                    );
                    return true;
                }
                self.legacy_rule(
                    line,
                    "http-request deny",
                    false,
                    HttpAction::Deny {
                        status: None,
                        response: Vec::new(),
                    },
                    None,
                );
                true
            }
            _ => self.legacy_regex_keyword(line),
        }
    }

    /// `appsession <cookie> len <n> timeout <t> [request-learn] [prefix]
    /// [mode path-parameters|query-string]` → the stick-table persistence
    /// the 1.6 release notes give as its replacement, recorded as the
    /// `stick-table`/`stick` directives 2.6 would read (the prefix option
    /// has no equivalent and is dropped).
    fn legacy_appsession(&mut self, line: &Line) {
        let usage = "'appsession' expects <cookie_name> 'len' <len> 'timeout' <timeout> [request-learn] [prefix] [mode <path-parameters|query-string>].";
        let cookie = line.arg(1).to_string();
        let (mut len, mut timeout, mut learn, mut query) = (None, None, false, false);
        let mut i = 2;
        while i < line.len() {
            match (line.arg(i), line.words.get(i + 1)) {
                ("len", Some(v)) if atol(v) > 0 => len = Some(atol(v)),
                ("timeout", Some(v)) if parse_time(v, 1).is_ok() => timeout = Some(v.clone()),
                ("mode", Some(v)) if v == "path-parameters" || v == "query-string" => {
                    query = v == "query-string"
                }
                ("request-learn", _) => {
                    learn = true;
                    i += 1;
                    continue;
                }
                ("prefix", _) => {
                    i += 1;
                    continue;
                }
                _ => {
                    self.alert(&line.loc, line.span, usage.into());
                    return;
                }
            }
            i += 2;
        }
        let (Some(len), Some(timeout), false) = (len, timeout, cookie.is_empty()) else {
            self.alert(&line.loc, line.span, usage.into());
            return;
        };
        if !self.has_backend_cap(line, "appsession") {
            return;
        }
        let url = if query {
            format!("url_param({cookie})")
        } else {
            format!("url_param({cookie},;)")
        };
        let directives = [
            format!("stick-table type string len {len} size 100k expire {timeout}"),
            format!("stick store-response res.cook({cookie})"),
            format!(
                "stick {} req.cook({cookie})",
                if learn { "on" } else { "match" }
            ),
            format!("stick match {url}"),
        ];
        let modern = directives.join("', '");
        self.warn(
            &line.loc,
            line.span,
            accepted_as("appsession", "1.6", &modern),
        );
        for d in &directives {
            let words = d.split(' ').map(str::to_string).collect::<Vec<_>>();
            if let Some(p) = self.cur_proxy_mut() {
                p.other.push(crate::model::haproxy::RawDirective {
                    line: line.span.line,
                    words,
                });
            }
        }
        self.not_active(line, "the stick-table persistence of 'appsession'");
    }

    fn legacy_regex_keyword(&mut self, line: &Line) -> bool {
        let kw = line.arg(0).to_string();
        let Some(stem) = kw
            .strip_prefix("req")
            .map(|s| (false, s))
            .or_else(|| kw.strip_prefix("rsp").map(|s| (true, s)))
        else {
            return false;
        };
        let (response, op) = stem;
        let (icase, op) = match op.strip_prefix('i') {
            Some(o) if !o.is_empty() => (true, o),
            _ => (false, op),
        };
        let side = if response {
            "http-response"
        } else {
            "http-request"
        };
        let (words, _) = split_condition(&line.words[1..]);
        let needs = if op == "rep" { 2 } else { 1 };
        if !matches!(
            op,
            "add" | "rep" | "del" | "deny" | "allow" | "pass" | "tarpit"
        ) || (response && matches!(op, "allow" | "pass" | "tarpit"))
        {
            return false;
        }
        if op == "add" && icase {
            return false;
        }
        if words.len() < needs {
            self.alert(
                &line.loc,
                line.span,
                format!(
                    "'{kw}' expects {} as argument{}.",
                    if needs == 2 {
                        "<search> and <replace>"
                    } else {
                        "<regex>"
                    },
                    if needs == 2 { "s" } else { "" }
                ),
            );
            return true;
        }
        let re = words[0].clone();
        let l = line.span.line;
        match op {
            "add" => {
                let (name, value) = match re.split_once(':') {
                    Some((n, v)) => (n.trim().to_string(), v.trim_start().to_string()),
                    None => (re.clone(), String::new()),
                };
                self.legacy_rule(
                    line,
                    &format!("{side} add-header"),
                    response,
                    HttpAction::AddHeader { name, value },
                    None,
                );
            }
            "del" => {
                let action = match header_of_regex(&re) {
                    Some((name, rest)) if matches_any_value(rest) => HttpAction::DelHeader {
                        name,
                        matching: NameMatch::Str,
                    },
                    _ => HttpAction::DelHeaderLine {
                        regex: re.clone(),
                        ignore_case: icase,
                    },
                };
                self.legacy_rule(line, &format!("{side} del-header"), response, action, None);
            }
            "rep" => {
                let replace = words[1].clone();
                let action = match header_of_regex(&re) {
                    Some((name, rest))
                        if replace
                            .to_ascii_lowercase()
                            .starts_with(&format!("{}:", name.to_ascii_lowercase())) =>
                    {
                        let value_replace = value_regex(&replace[name.len() + 1..]).to_string();
                        HttpAction::ReplaceHeader {
                            name,
                            regex: value_regex(rest).to_string(),
                            replace: value_replace,
                        }
                    }
                    _ => HttpAction::ReplaceLine {
                        regex: re.clone(),
                        replace,
                        ignore_case: icase,
                    },
                };
                let modern = if matches!(action, HttpAction::ReplaceHeader { .. }) {
                    "replace-header"
                } else {
                    "replace-uri"
                };
                self.legacy_rule(line, &format!("{side} {modern}"), response, action, None);
            }
            "deny" | "allow" | "tarpit" => {
                let action = match op {
                    "deny" => HttpAction::Deny {
                        status: None,
                        response: Vec::new(),
                    },
                    "allow" => HttpAction::Allow,
                    _ => HttpAction::Tarpit { status: None },
                };
                let extra = regex_condition(&re, icase, response, l);
                self.legacy_rule(line, &format!("{side} {op}"), response, action, Some(extra));
            }
            _ => {
                // reqpass: "stop regex processing" has no modern meaning.
                let m = format!(
                    "'{kw}' is deprecated since HAProxy 2.1 and was ignored (no modern equivalent)."
                );
                self.warn(&line.loc, line.span, m);
            }
        }
        true
    }

    /// Adds the mapped rule, with the line's own condition ANDed to `extra`.
    fn legacy_rule(
        &mut self,
        line: &Line,
        modern: &str,
        response: bool,
        action: HttpAction,
        extra: Option<Condition>,
    ) {
        let kw = line.arg(0);
        let (_, cond_words) = split_condition(&line.words[1..]);
        let cond = match self.condition(cond_words, line.span.line) {
            Ok(c) => c,
            Err(e) => {
                self.alert(
                    &line.loc,
                    line.span,
                    format!("error detected while parsing a '{kw}' condition : {e}."),
                );
                return;
            }
        };
        let cond = match (cond, extra) {
            (None, e) => e,
            (Some(c), None) => Some(c),
            (Some(c), Some(e)) if !c.negate => {
                let term = e.any_of.into_iter().flatten().collect::<Vec<_>>();
                let any_of = c
                    .any_of
                    .into_iter()
                    .map(|mut g| {
                        g.extend(term.iter().cloned());
                        g
                    })
                    .collect();
                Some(Condition {
                    negate: false,
                    any_of,
                })
            }
            // `unless` cannot be ANDed in one condition: keep the line's own.
            (Some(c), Some(_)) => Some(c),
        };
        self.warn(&line.loc, line.span, accepted_as(kw, "2.1", modern));
        self.push_http_rule(line, response, action, cond);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Level, Options, read_str};
    use crate::model::haproxy::{HttpAction, HttpConnectionMode, NameMatch};

    const CENTOS: &str = "defaults\n mode http\n contimeout 5s\n clitimeout 1m\n srvtimeout 1m\n\
frontend main *:5000\n reqadd X-Forwarded-Proto:\\ https\n rspidel ^Server:.*\n \
reqrep ^Host:\\ old.example Host:\\ new.example\n block if { path_beg /admin }\n \
option forceclose\n default_backend app\nbackend app\n redispatch\n server a 127.0.0.1:5001\n";

    #[test]
    fn centos_config_is_mapped_with_warnings() {
        let o = read_str(CENTOS, &Options::default());
        assert!(!o.is_fatal(), "{:?}", o.diagnostics);
        let warns: Vec<&str> = o
            .diagnostics
            .iter()
            .filter(|d| d.kind == Level::Warning)
            .map(|d| d.message.as_str())
            .collect();
        assert!(warns.contains(&"parsing [<string>:3] : 'contimeout' is deprecated since HAProxy 2.1 and was accepted as 'timeout connect'."), "{warns:?}");
        let fe = &o.config.proxies[0];
        assert_eq!(fe.binds.len(), 1);
        assert_eq!(fe.timeouts.client.map(|d| d.as_millis()), Some(60_000));
        assert_eq!(fe.options.http_connection, HttpConnectionMode::Close);
        assert_eq!(
            fe.http_request[0].action,
            HttpAction::AddHeader {
                name: "X-Forwarded-Proto".into(),
                value: "https".into()
            }
        );
        assert_eq!(
            fe.http_response[0].action,
            HttpAction::DelHeader {
                name: "Server".into(),
                matching: NameMatch::Str
            }
        );
        assert_eq!(
            fe.http_request[1].action,
            HttpAction::ReplaceHeader {
                name: "Host".into(),
                regex: "old.example".into(),
                replace: "new.example".into()
            }
        );
        assert!(matches!(fe.http_request[2].action, HttpAction::Deny { .. }));
        assert!(fe.http_request[2].cond.is_some());
        let be = &o.config.proxies[1];
        assert_eq!(be.options.redispatch, Some(-1));
        assert_eq!(be.timeouts.connect.map(|d| d.as_millis()), Some(5000));
    }

    #[test]
    fn nbproc_one_warns_more_is_fatal() {
        let o = read_str("global\n nbproc 1\n", &Options::default());
        assert!(!o.is_fatal());
        assert!(o.has_warnings());
        let o = read_str("global\n nbproc 2\n", &Options::default());
        assert!(o.is_fatal());
    }

    #[test]
    fn appsession_becomes_stick_table_persistence() {
        let o = read_str(
            "backend app\n appsession JSESSIONID len 52 timeout 3h request-learn\n",
            &Options::default(),
        );
        assert!(!o.is_fatal(), "{:?}", o.diagnostics);
        let words: Vec<String> = o.config.proxies[0]
            .other
            .iter()
            .map(|d| d.words.join(" "))
            .collect();
        assert_eq!(
            words,
            [
                "stick-table type string len 52 size 100k expire 3h",
                "stick store-response res.cook(JSESSIONID)",
                "stick on req.cook(JSESSIONID)",
                "stick match url_param(JSESSIONID,;)"
            ]
        );
        let o = read_str(
            "backend app\n appsession JSESSIONID len 52\n",
            &Options::default(),
        );
        assert!(o.is_fatal());
    }

    #[test]
    fn reqidel_with_value_constraint_keeps_the_regex() {
        let o = read_str(
            "frontend f\n bind :80\n reqidel ^X-Debug:\\ yes\n",
            &Options::default(),
        );
        let fe = &o.config.proxies[0];
        assert_eq!(
            fe.http_request[0].action,
            HttpAction::DelHeaderLine {
                regex: "^X-Debug: yes".into(),
                ignore_case: true
            }
        );
    }
}
