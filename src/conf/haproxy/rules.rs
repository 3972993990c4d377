//! The rule keywords of proxies: `http-request`, `http-response`,
//! `tcp-request`, `use_backend`/`use-server`/`default_backend`, `redirect`,
//! and haproxy's warning about rules written out of evaluation order.
//! Actions are parsed in `actions`, conditions in `acl`.

use super::acl::split_condition;
use super::actions::{action_len, parse_http_action, parse_redirect};
use super::sample::Stage;
use super::section::{Current, Line, Reader};
use crate::model::haproxy::{Condition, HttpAction, HttpRule, TcpAction, TcpRule};

impl Reader<'_> {
    /// `http-request …` / `http-response …`.
    pub(super) fn http_rule_keyword(&mut self, line: &Line, response: bool) {
        let kw = line.arg(0);
        let (action_words, cond_words) = split_condition(&line.words[1..]);
        let act = action_words.first().map(String::as_str).unwrap_or("");
        if !response && act == "set-status" {
            self.abort_tight(
                line,
                format!("'{kw}' expects a known action but got '{act}'."),
            );
            return;
        }
        let used = action_len(action_words);
        if let Some(extra) = action_words.get(used) {
            self.abort_tight(
                line,
                format!("'{kw} {act}' expects either 'if' or 'unless' followed by a condition but found '{extra}'."),
            );
            return;
        }
        let action = match parse_http_action(action_words) {
            Ok(a) => a,
            Err(e) => {
                self.abort(line, format!("'{kw}' {e}."));
                return;
            }
        };
        let format = match &action {
            HttpAction::SetHeader { value, .. } | HttpAction::AddHeader { value, .. } => {
                Some(value.as_str())
            }
            HttpAction::Redirect(r) => Some(r.to.as_str()),
            _ => None,
        };
        let lua = self.lua_loaded();
        let stage = if response {
            Stage::Response
        } else {
            Stage::Request
        };
        // haproxy compiles these while parsing.
        let regex = match &action {
            HttpAction::ReplaceHeader { regex, .. }
            | HttpAction::ReplaceValue { regex, .. }
            | HttpAction::ReplaceUri { regex, .. }
            | HttpAction::ReplacePath { regex, .. }
            | HttpAction::ReplacePathq { regex, .. } => Some(regex.as_str()),
            _ => None,
        };
        let checked = match (format, regex) {
            (Some(f), _) => super::sample::check_format(f, lua, stage),
            (None, Some(re)) => super::actions::check_regex(re).map(|pcre_only| {
                if let Some(why) = pcre_only {
                    self.warn(
                        &line.loc,
                        line.span,
                        format!(
                            "regex '{re}' cannot run in Pharos ({why}): the '{kw} {act}' rule never matches."
                        ),
                    );
                }
            }),
            (None, None) => Ok(()),
        };
        if let Err(e) = checked {
            let (name, kind) = self.proxy_name_kind();
            self.abort(
                line,
                format!(
                    "error detected in {} '{name}' while parsing '{kw} {act}' rule : {e}.",
                    kind.label()
                ),
            );
            return;
        }
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
        self.push_http_rule(line, response, action, cond);
    }

    /// Adds an `http-request`/`http-response` rule to the current proxy
    /// (request rules are checked for their place among the others).
    pub(super) fn push_http_rule(
        &mut self,
        line: &Line,
        response: bool,
        action: HttpAction,
        cond: Option<Condition>,
    ) {
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
                if kind == "session"
                    && let Current::Defaults(i) = self.current
                    && let Some(d) = self.defaults.get_mut(i)
                {
                    d.session_rules = true;
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
