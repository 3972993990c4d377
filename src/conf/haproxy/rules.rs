//! ACLs, `if`/`unless` conditions, and the rule keywords: `http-request`,
//! `http-response`, `tcp-request`, `use_backend`, `redirect`.
//! Sample expressions are kept as text; only their fetch name is checked.

use super::section::{Current, Line, Reader};
use crate::model::haproxy::{
    Acl, AclRef, CondTerm, Condition, HttpAction, HttpRule, NameMatch, Redirect, Return, TcpAction,
    TcpRule,
};

/// ACL names haproxy predefines.
const PREDEFINED_ACLS: &[&str] = &[
    "FALSE",
    "HTTP",
    "HTTP_1.0",
    "HTTP_1.1",
    "HTTP_2.0",
    "HTTP_3.0",
    "HTTP_CONTENT",
    "HTTP_URL_ABS",
    "HTTP_URL_SLASH",
    "HTTP_URL_STAR",
    "LOCALHOST",
    "METH_CONNECT",
    "METH_DELETE",
    "METH_GET",
    "METH_HEAD",
    "METH_OPTIONS",
    "METH_POST",
    "METH_PUT",
    "METH_TRACE",
    "RDP_COOKIE",
    "REQ_CONTENT",
    "TRUE",
    "WAIT_END",
];

/// Prefixes of sample fetch names haproxy 2.6 knows (a fetch is accepted
/// when its name starts with one of them).
const FETCH_PREFIXES: &[&str] = &[
    "always_",
    "avg_queue",
    "base",
    "be_",
    "bin",
    "bool",
    "capture.",
    "cook",
    "connslots",
    "cpu_",
    "date",
    "distcc_",
    "dst",
    "env",
    "fc_",
    "fe_",
    "hdr",
    "http_",
    "int",
    "ipv4",
    "ipv6",
    "lat_ns_",
    "meth",
    "method",
    "nbproc",
    "nbsrv",
    "path",
    "payload",
    "proc",
    "query",
    "queue",
    "rand",
    "rdp_cookie",
    "req.",
    "req_",
    "res.",
    "res_",
    "sc_",
    "sc0_",
    "sc1_",
    "sc2_",
    "scook",
    "set-cookie",
    "shdr",
    "so_",
    "src",
    "srv_",
    "ssl_",
    "status",
    "stopping",
    "str",
    "table_",
    "thread",
    "txn.",
    "unique-id",
    "uptime",
    "url",
    "uuid",
    "var",
    "wait_end",
    "hostname",
    "pid",
    "bc_",
    "be_",
    "last_rule_",
    "ms_",
    "us_",
    "quic_",
    "51d.",
    "lua.",
    "ot.",
    "sess.",
    "act_",
    "beconn",
    "feconn",
    "concat",
    "cur_",
    "inv_",
    "json",
    "srvconn",
    "ssl_",
    "reqtimeout",
    "res_ssl",
    "ha_",
    "accept_date",
    "request_date",
    "bytes_",
    "acl",
    "path_",
    "url_",
    "http_",
    "req_ssl",
    "rep_ssl",
    "lat_",
    "stat",
    "id",
];

fn fetch_known(expr: &str) -> bool {
    let name_end = expr.find(['(', ',']).unwrap_or(expr.len());
    let name = &expr[..name_end];
    FETCH_PREFIXES.iter().any(|p| name.starts_with(p)) || PREDEFINED_ACLS.contains(&name)
}

/// Flags that take a value in an ACL.
const ACL_VALUED_FLAGS: &[&str] = &["-f", "-m", "-M", "-u"];

/// Parses `fetch [flags] [--] patterns` (words after the ACL name).
pub fn parse_acl_body(name: &str, line: u32, words: &[String]) -> Result<Acl, String> {
    let fetch = words
        .first()
        .ok_or_else(|| "missing fetch method".to_string())?;
    if !fetch_known(fetch) {
        return Err(format!(
            "unknown fetch method '{fetch}' in ACL expression '{fetch}'."
        ));
    }
    let mut acl = Acl {
        name: name.to_string(),
        line,
        fetch: fetch.clone(),
        ignore_case: false,
        match_method: None,
        pattern_files: Vec::new(),
        other_flags: Vec::new(),
        patterns: Vec::new(),
    };
    let mut i = 1;
    while let Some(w) = words.get(i) {
        if !w.starts_with('-') || w == "-" {
            break;
        }
        if w == "--" {
            i += 1;
            break;
        }
        match w.as_str() {
            "-i" => acl.ignore_case = true,
            "-n" => acl.other_flags.push(w.clone()),
            f if ACL_VALUED_FLAGS.contains(&f) => {
                let v = words
                    .get(i + 1)
                    .ok_or_else(|| format!("missing argument after '{f}'."))?;
                match f {
                    "-m" => acl.match_method = Some(v.clone()),
                    "-f" => acl.pattern_files.push(v.clone()),
                    _ => {
                        acl.other_flags.push(f.to_string());
                        acl.other_flags.push(v.clone());
                    }
                }
                i += 1;
            }
            // Not a flag: a pattern starting with '-' (e.g. a negative number).
            _ => break,
        }
        i += 1;
    }
    acl.patterns = words.get(i..).unwrap_or(&[]).to_vec();
    Ok(acl)
}

/// Parses the words after `if`/`unless` into a condition, resolving named
/// ACLs against `known`.
pub fn parse_condition(
    negate: bool,
    words: &[String],
    known: &[Acl],
    line: u32,
) -> Result<Condition, String> {
    let mut cond = Condition {
        negate,
        any_of: vec![Vec::new()],
    };
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "||" || w == "or" {
            cond.any_of.push(Vec::new());
            i += 1;
            continue;
        }
        let mut neg = false;
        let mut word = w;
        if word == "!" {
            neg = true;
            i += 1;
            word = words
                .get(i)
                .map(String::as_str)
                .ok_or("missing ACL after '!'")?;
        } else if let Some(rest) = word.strip_prefix('!') {
            neg = true;
            word = rest;
        }
        let acl = if word == "{" {
            let close = words[i + 1..]
                .iter()
                .position(|x| x == "}")
                .ok_or("missing closing '}' in condition")?;
            let body = &words[i + 1..i + 1 + close];
            i += close + 1;
            AclRef::Anonymous(Box::new(parse_acl_body("", line, body)?))
        } else {
            if !PREDEFINED_ACLS.contains(&word) && !known.iter().any(|a| a.name == word) {
                return Err(format!("no such ACL : '{word}'"));
            }
            AclRef::Named(word.to_string())
        };
        if let Some(group) = cond.any_of.last_mut() {
            group.push(CondTerm { negate: neg, acl });
        }
        i += 1;
    }
    if cond.any_of.iter().any(Vec::is_empty) {
        return Err("missing ACL in condition".into());
    }
    Ok(cond)
}

/// Splits `words` at `if`/`unless`: (action words, condition words, negate).
pub fn split_condition(words: &[String]) -> (&[String], Option<(bool, &[String])>) {
    match words.iter().position(|w| w == "if" || w == "unless") {
        Some(p) => (&words[..p], Some((words[p] == "unless", &words[p + 1..]))),
        None => (words, None),
    }
}

/// `http-request` actions Pharos runs.
const HTTP_ACTIONS: &[&str] = &[
    "allow",
    "deny",
    "tarpit",
    "auth",
    "redirect",
    "return",
    "set-header",
    "add-header",
    "del-header",
    "replace-header",
    "replace-value",
    "set-path",
    "set-pathq",
    "set-uri",
    "set-query",
    "set-method",
    "replace-path",
    "replace-pathq",
    "replace-uri",
    "set-status",
];

/// `http-request`/`http-response` actions haproxy 2.6 knows that are
/// recorded without acting.
const HTTP_LATER: &[&str] = &[
    "reject",
    "set-var",
    "unset-var",
    "set-var-fmt",
    "track-sc0",
    "track-sc1",
    "track-sc2",
    "set-src",
    "set-src-port",
    "set-dst",
    "set-dst-port",
    "set-log-level",
    "set-nice",
    "set-tos",
    "set-mark",
    "set-priority-class",
    "set-priority-offset",
    "capture",
    "use-service",
    "cache-use",
    "cache-store",
    "early-hint",
    "normalize-uri",
    "silent-drop",
    "wait-for-body",
    "wait-for-handshake",
    "disable-l7-retry",
    "send-spoe-group",
    "do-resolve",
    "add-acl",
    "del-acl",
    "set-map",
    "del-map",
    "sc-inc-gpc",
    "sc-inc-gpc0",
    "sc-inc-gpc1",
    "sc-set-gpt",
    "sc-set-gpt0",
    "strict-mode",
    "set-timeout",
    "ot-group",
    "set-bandwidth-limit",
    "set-retries",
    "sc-add-gpc",
    "lua",
];

/// Parses the action part of an `http-request`/`http-response` rule.
pub fn parse_http_action(words: &[String]) -> Result<HttpAction, String> {
    let name = words.first().map(String::as_str).unwrap_or("");
    let arg = |i: usize| words.get(i).cloned().unwrap_or_default();
    let need = |n: usize, usage: &str| -> Result<(), String> {
        if words.len() < n + 1 {
            Err(format!("expects exactly {n} argument(s) {usage}"))
        } else {
            Ok(())
        }
    };
    let act = match name {
        "allow" => HttpAction::Allow,
        "deny" | "tarpit" => {
            let mut status = None;
            let mut rest = Vec::new();
            let mut i = 1;
            while i < words.len() {
                if words[i] == "deny_status" || words[i] == "status" {
                    let v = arg(i + 1);
                    let code: u16 = v
                        .parse()
                        .map_err(|_| format!("invalid status code '{v}'."))?;
                    status = Some(code);
                    i += 2;
                } else {
                    rest.push(words[i].clone());
                    i += 1;
                }
            }
            if name == "deny" {
                HttpAction::Deny {
                    status,
                    response: rest,
                }
            } else {
                HttpAction::Tarpit { status }
            }
        }
        "auth" => {
            let realm = if arg(1) == "realm" {
                Some(arg(2))
            } else {
                None
            };
            HttpAction::Auth { realm }
        }
        "redirect" => HttpAction::Redirect(parse_redirect(&words[1..])?),
        "return" => HttpAction::Return(parse_return(&words[1..])?),
        "set-header" | "add-header" => {
            need(2, "<name> <fmt>")?;
            let (n, v) = (arg(1), words[2..].join(" "));
            if name == "set-header" {
                HttpAction::SetHeader { name: n, value: v }
            } else {
                HttpAction::AddHeader { name: n, value: v }
            }
        }
        "del-header" => {
            need(1, "<name> [-m <meth>]")?;
            let matching = if arg(2) == "-m" {
                match arg(3).as_str() {
                    "str" => NameMatch::Str,
                    "beg" => NameMatch::Beg,
                    "end" => NameMatch::End,
                    "sub" => NameMatch::Sub,
                    "reg" => NameMatch::Reg,
                    m => return Err(format!("unknown matching method '{m}'")),
                }
            } else {
                NameMatch::Str
            };
            HttpAction::DelHeader {
                name: arg(1),
                matching,
            }
        }
        "replace-header" | "replace-value" => {
            need(3, "<name> <match-regex> <replace-fmt>")?;
            let (n, r, p) = (arg(1), arg(2), arg(3));
            if name == "replace-header" {
                HttpAction::ReplaceHeader {
                    name: n,
                    regex: r,
                    replace: p,
                }
            } else {
                HttpAction::ReplaceValue {
                    name: n,
                    regex: r,
                    replace: p,
                }
            }
        }
        "set-path" | "set-pathq" | "set-uri" | "set-query" | "set-method" => {
            need(1, "<fmt>")?;
            let format = arg(1);
            match name {
                "set-path" => HttpAction::SetPath { format },
                "set-pathq" => HttpAction::SetPathq { format },
                "set-uri" => HttpAction::SetUri { format },
                "set-query" => HttpAction::SetQuery { format },
                _ => HttpAction::SetMethod { format },
            }
        }
        "replace-path" | "replace-pathq" | "replace-uri" => {
            need(2, "<match-regex> <replace-fmt>")?;
            let (regex, replace) = (arg(1), arg(2));
            match name {
                "replace-path" => HttpAction::ReplacePath { regex, replace },
                "replace-pathq" => HttpAction::ReplacePathq { regex, replace },
                _ => HttpAction::ReplaceUri { regex, replace },
            }
        }
        "set-status" => {
            let v = arg(1);
            let status: u16 = v
                .parse()
                .ok()
                .filter(|s| (100..=999).contains(s))
                .ok_or_else(|| "expects an HTTP status code between 100 and 999".to_string())?;
            let reason = if arg(2) == "reason" {
                Some(arg(3))
            } else {
                None
            };
            HttpAction::SetStatus { status, reason }
        }
        n if HTTP_LATER.contains(&n)
            || n.starts_with("lua.")
            || n.starts_with("set-var(")
            || n.starts_with("unset-var(")
            || n.starts_with("set-var-fmt(")
            || n.starts_with("sc-")
            || n.starts_with("add-acl(")
            || n.starts_with("del-acl(")
            || n.starts_with("set-map(")
            || n.starts_with("del-map(")
            || n.starts_with("track-sc")
            || n.starts_with("capture") =>
        {
            HttpAction::Other {
                name: n.to_string(),
                args: words[1..].to_vec(),
            }
        }
        _ => {
            let mut all: Vec<&str> = HTTP_ACTIONS
                .iter()
                .chain(HTTP_LATER.iter())
                .copied()
                .collect();
            all.sort_unstable();
            return Err(format!("expects '{}' but got '{name}'", all.join("', '")));
        }
    };
    Ok(act)
}

/// `location|prefix|scheme <to> [code N] [option]…`.
pub fn parse_redirect(words: &[String]) -> Result<Redirect, String> {
    let kind = words.first().cloned().unwrap_or_default();
    if !matches!(kind.as_str(), "location" | "prefix" | "scheme") {
        return Err(format!(
            "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query' or 'append-slash' (was '{kind}')"
        ));
    }
    let to = words
        .get(1)
        .cloned()
        .ok_or_else(|| format!("'{kind}' expects an argument"))?;
    let mut r = Redirect {
        kind,
        to,
        code: 302,
        drop_query: false,
        append_slash: false,
        set_cookie: None,
        clear_cookie: None,
    };
    let mut i = 2;
    while i < words.len() {
        match words[i].as_str() {
            "code" => {
                let v = words.get(i + 1).cloned().unwrap_or_default();
                let code: u16 = v.parse().unwrap_or(0);
                if !matches!(code, 301 | 302 | 303 | 307 | 308) {
                    return Err(format!(
                        "'code' expects a code among 301, 302, 303, 307 or 308 (was '{v}')"
                    ));
                }
                r.code = code;
                i += 1;
            }
            "drop-query" => r.drop_query = true,
            "append-slash" => r.append_slash = true,
            "set-cookie" => {
                r.set_cookie = words.get(i + 1).cloned();
                i += 1;
            }
            "clear-cookie" => {
                r.clear_cookie = words.get(i + 1).cloned();
                i += 1;
            }
            "ignore-empty" => {}
            w => {
                return Err(format!(
                    "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query' or 'append-slash' (was '{w}')"
                ));
            }
        }
        i += 1;
    }
    Ok(r)
}

fn parse_return(words: &[String]) -> Result<Return, String> {
    let mut r = Return {
        status: 200,
        content_type: None,
        body: None,
        headers: Vec::new(),
    };
    let mut i = 0;
    while i < words.len() {
        let v = words.get(i + 1).cloned();
        match words[i].as_str() {
            "status" => {
                let v = v.unwrap_or_default();
                r.status = v
                    .parse()
                    .ok()
                    .filter(|s| (200..=599).contains(s))
                    .ok_or_else(|| format!("status code '{v}' not supported"))?;
            }
            "content-type" => r.content_type = v,
            k @ ("string" | "lf-string" | "file" | "lf-file" | "errorfile" | "errorfiles") => {
                r.body = Some((k.to_string(), v.unwrap_or_default()));
            }
            "default-errorfiles" => {
                i += 1;
                continue;
            }
            "hdr" => {
                let n = v.unwrap_or_default();
                let val = words.get(i + 2).cloned().unwrap_or_default();
                r.headers.push((n, val));
                i += 3;
                continue;
            }
            w => return Err(format!("'return' : unknown keyword '{w}'")),
        }
        i += 2;
    }
    Ok(r)
}

impl Reader<'_> {
    /// `acl <name> <fetch> …`.
    pub(super) fn acl_keyword(&mut self, line: &Line) {
        let name = line.arg(1).to_string();
        if name.is_empty() {
            self.alert(
                &line.loc,
                line.span,
                "'acl' expects a name and a fetch method.".into(),
            );
            return;
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            self.alert(
                &line.loc,
                line.span,
                format!("character '{c}' is not permitted in acl name '{name}'."),
            );
            return;
        }
        match parse_acl_body(&name, line.span.line, &line.words[2..]) {
            Ok(acl) => {
                if acl.patterns.is_empty()
                    && acl.pattern_files.is_empty()
                    && acl.match_method.as_deref() != Some("found")
                    && !line.words.iter().any(|w| w == "--")
                    && !PREDEFINED_ACLS.contains(&acl.fetch.as_str())
                {
                    self.push(super::Level::Warning, Some(line.span), format!(
                        "parsing acl keyword '{}' :\n  no pattern to match against were provided, so this ACL will never match.\n  If this is what you intended, please add '--' to get rid of this warning.\n  If you intended to match only for existence, please use '-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n",
                        acl.fetch
                    ));
                }
                if let Some(p) = self.cur_proxy_mut() {
                    p.acls.push(acl);
                }
            }
            Err(e) => self.alert(
                &line.loc,
                line.span,
                format!("error detected while parsing ACL '{name}' : {e}"),
            ),
        }
    }

    /// A condition over the current proxy's ACLs.
    pub(super) fn condition(
        &self,
        cond: Option<(bool, &[String])>,
        line: u32,
    ) -> Result<Option<Condition>, String> {
        let known = self.cur_proxy().map(|p| p.acls.as_slice()).unwrap_or(&[]);
        match cond {
            None => Ok(None),
            Some((neg, words)) => parse_condition(neg, words, known, line).map(Some),
        }
    }

    /// `http-request …` / `http-response …`.
    pub(super) fn http_rule_keyword(&mut self, line: &Line, response: bool) {
        let kw = line.arg(0);
        let (action_words, cond_words) = split_condition(&line.words[1..]);
        let action = match parse_http_action(action_words) {
            Ok(a) => a,
            Err(e) => {
                self.abort(line, format!("'{kw}' {e}."));
                return;
            }
        };
        let cond = match self.condition(cond_words, line.span.line) {
            Ok(c) => c,
            Err(e) => {
                let act = action_words.first().map(String::as_str).unwrap_or("");
                self.abort(
                    line,
                    format!("error detected while parsing an '{kw} {act}' condition : {e}."),
                );
                return;
            }
        };
        if let HttpAction::Other { name, .. } = &action {
            let what = format!("'{kw} {name}'");
            self.not_active(line, &what);
        }
        if !response {
            self.warn_misplaced(line, RuleFamily::HttpRequest);
        }
        let rule = HttpRule {
            line: line.span.line,
            action,
            cond,
        };
        if let Some(p) = self.cur_proxy_mut() {
            if response {
                p.http_response.push(rule)
            } else {
                p.http_request.push(rule)
            }
        }
    }

    /// `tcp-request inspect-delay|content|connection|session …`.
    pub(super) fn tcp_request_keyword(&mut self, line: &Line) {
        match line.arg(1) {
            "inspect-delay" => match super::values::parse_time(line.arg(2), 1) {
                Ok(d) => {
                    if let Some(p) = self.cur_proxy_mut() {
                        p.tcp_request_inspect_delay = Some(d);
                    }
                }
                Err(e) => {
                    let m = super::values::time_error_message(
                        &e,
                        line.arg(2),
                        "'tcp-request inspect-delay'",
                    );
                    self.alert(&line.loc, line.span, m);
                }
            },
            kind @ ("content" | "connection" | "session") => {
                let (act, cond_words) = split_condition(&line.words[2..]);
                let name = act.first().cloned().unwrap_or_default();
                let action = match name.as_str() {
                    "accept" => TcpAction::Accept,
                    "reject" => TcpAction::Reject,
                    "" => {
                        self.alert(&line.loc, line.span, format!("'tcp-request {kind}' expects 'accept', 'reject', 'track-sc0', 'track-sc1', 'track-sc2', 'capture', 'set-var', … in {} '{}'", self.section_kw(), self.cur_proxy().map(|p| p.name.clone()).unwrap_or_default()));
                        return;
                    }
                    _ => TcpAction::Other {
                        name: name.clone(),
                        args: act[1..].to_vec(),
                    },
                };
                let cond = match self.condition(cond_words, line.span.line) {
                    Ok(c) => c,
                    Err(e) => {
                        self.alert(&line.loc, line.span, format!("error detected in {} '{}' while parsing 'tcp-request {kind}' rule : {e}.", self.section_kw(), self.cur_proxy().map(|p| p.name.clone()).unwrap_or_default()));
                        return;
                    }
                };
                let active =
                    kind != "session" && matches!(action, TcpAction::Accept | TcpAction::Reject);
                if !active {
                    self.not_active(line, &format!("'tcp-request {kind} {name}'"));
                }
                if kind == "content" {
                    self.warn_misplaced(line, RuleFamily::TcpContent);
                }
                let rule = TcpRule {
                    line: line.span.line,
                    action,
                    cond,
                };
                if let Some(p) = self.cur_proxy_mut() {
                    if kind == "connection" {
                        p.tcp_request_connection.push(rule)
                    } else {
                        p.tcp_request_content.push(rule)
                    }
                }
            }
            other => self.alert(
                &line.loc,
                line.span,
                format!("unknown argument '{other}' after 'tcp-request'"),
            ),
        }
    }

    /// `use_backend` / `use-server` / `default_backend`.
    pub(super) fn switching_keyword(&mut self, line: &Line) {
        use crate::model::haproxy::UseBackend;
        let kw = line.arg(0);
        if kw == "default_backend" {
            if line.len() != 2 {
                self.alert(
                    &line.loc,
                    line.span,
                    format!("'{kw}' requires a backend name."),
                );
                return;
            }
            let name = line.arg(1).to_string();
            if let Some(p) = self.cur_proxy_mut() {
                p.default_backend = Some(name);
            }
            return;
        }
        if line.len() < 2 {
            self.alert(
                &line.loc,
                line.span,
                format!("'{kw}' expects a backend name."),
            );
            return;
        }
        let (target, cond_words) = split_condition(&line.words[1..]);
        if target.len() > 1 {
            self.alert(&line.loc, line.span, format!("'{kw}' : unexpected argument '{}'. Expects 'if' or 'unless' followed by a condition.", target[1]));
            return;
        }
        let cond = match self.condition(cond_words, line.span.line) {
            Ok(c) => c,
            Err(e) => {
                self.alert(
                    &line.loc,
                    line.span,
                    format!("error detected while parsing switching rule : {e}."),
                );
                return;
            }
        };
        let target = target.first().cloned().unwrap_or_default();
        let rule = UseBackend {
            line: line.span.line,
            dynamic: target.contains("%["),
            target,
            cond,
        };
        if let Some(p) = self.cur_proxy_mut() {
            if kw == "use-server" {
                p.use_servers.push(rule)
            } else {
                p.use_backends.push(rule)
            }
        }
    }

    /// Legacy `redirect …` rules.
    pub(super) fn redirect_keyword(&mut self, line: &Line) {
        let (words, cond_words) = split_condition(&line.words[1..]);
        let r = match parse_redirect(words) {
            Ok(r) => r,
            Err(e) => {
                self.alert(
                    &line.loc,
                    line.span,
                    format!(
                        "error detected in {} '{}' while parsing redirect rule : {e}.",
                        self.section_kw(),
                        self.cur_proxy().map(|p| p.name.clone()).unwrap_or_default()
                    ),
                );
                return;
            }
        };
        match self.condition(cond_words, line.span.line) {
            Ok(cond) => {
                self.warn_misplaced(line, RuleFamily::Redirect);
                let rule = HttpRule {
                    line: line.span.line,
                    action: HttpAction::Redirect(r),
                    cond,
                };
                if let Some(p) = self.cur_proxy_mut() {
                    p.redirects.push(rule);
                }
            }
            Err(e) => self.alert(
                &line.loc,
                line.span,
                format!("error detected while parsing redirect rule : {e}."),
            ),
        }
    }

    /// Whether the current section is an anonymous `defaults`.
    pub(super) fn in_anonymous_defaults(&self) -> bool {
        match self.current {
            Current::Defaults(i) => self.defaults.get(i).is_some_and(|d| d.name.is_none()),
            _ => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn acl_flags_and_patterns() {
        let acl = parse_acl_body("static", 3, &w("path_beg -i /static /images")).expect("ok");
        assert!(acl.ignore_case);
        assert_eq!(acl.patterns, ["/static", "/images"]);
        let acl = parse_acl_body("a", 1, &w("hdr(host) -m end -- -x")).expect("ok");
        assert_eq!(acl.match_method.as_deref(), Some("end"));
        assert_eq!(acl.patterns, ["-x"]);
        assert!(parse_acl_body("a", 1, &w("nosuch x")).is_err());
    }

    #[test]
    fn conditions_or_and_not_and_anonymous() {
        let known = vec![parse_acl_body("a", 1, &w("path /")).expect("ok")];
        let c =
            parse_condition(false, &w("a !a || { path_beg /x } or TRUE"), &known, 1).expect("ok");
        assert_eq!(c.any_of.len(), 3);
        assert!(c.any_of[0][1].negate);
        assert!(matches!(c.any_of[1][0].acl, AclRef::Anonymous(_)));
        assert_eq!(
            parse_condition(false, &w("nope"), &known, 1).unwrap_err(),
            "no such ACL : 'nope'"
        );
    }

    #[test]
    fn http_actions() {
        assert_eq!(
            parse_http_action(&w("set-header X-Forwarded-Proto https")).expect("ok"),
            HttpAction::SetHeader {
                name: "X-Forwarded-Proto".into(),
                value: "https".into()
            }
        );
        let HttpAction::Redirect(r) =
            parse_http_action(&w("redirect scheme https code 301")).expect("ok")
        else {
            panic!("not a redirect")
        };
        assert_eq!(
            (r.kind.as_str(), r.to.as_str(), r.code),
            ("scheme", "https", 301)
        );
        assert!(matches!(
            parse_http_action(&w("deny deny_status 429")),
            Ok(HttpAction::Deny {
                status: Some(429),
                ..
            })
        ));
        assert!(parse_http_action(&w("nosuch")).is_err());
        assert!(matches!(
            parse_http_action(&w("set-var(txn.x) str(1)")),
            Ok(HttpAction::Other { .. })
        ));
    }
}

/// Rule families in the order haproxy evaluates them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum RuleFamily {
    TcpContent,
    HttpRequest,
    Redirect,
    UseBackend,
}

impl Reader<'_> {
    /// haproxy's warning for a rule written after one evaluated later.
    pub(super) fn warn_misplaced(&mut self, line: &Line, family: RuleFamily) {
        let Some(p) = self.cur_proxy() else { return };
        let later = [
            (
                RuleFamily::HttpRequest,
                !p.http_request.is_empty(),
                "an 'http-request'",
            ),
            (
                RuleFamily::Redirect,
                !p.redirects.is_empty(),
                "a 'redirect'",
            ),
            (
                RuleFamily::UseBackend,
                !p.use_backends.is_empty(),
                "a 'use_backend'",
            ),
        ];
        let Some((_, _, name)) = later.iter().find(|(f, present, _)| *f > family && *present)
        else {
            return;
        };
        let new = match family {
            RuleFamily::TcpContent => "tcp-request",
            RuleFamily::HttpRequest => "http-request",
            RuleFamily::Redirect => "redirect",
            RuleFamily::UseBackend => return,
        };
        let msg =
            format!("a '{new}' rule placed after {name} rule will still be processed before.");
        self.warn(&line.loc, line.span, msg);
    }
}
