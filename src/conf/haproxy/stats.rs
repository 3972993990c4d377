//! `stats …` in proxies: the HTML statistics page settings (uri, realm,
//! auth, scope, refresh, admin and http-request rules). Must not touch
//! the global `stats socket`.

use super::section::{Line, Reader};
use super::values::{parse_time, time_error_message};
use crate::model::haproxy::Stats;

impl Reader<'_> {
    pub(super) fn stats_keyword(&mut self, line: &Line) {
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
            let (_, c) = super::acl::split_condition(&line.words[2..]);
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
        let http_rule = if sub == "http-request" {
            let (act, c) = super::acl::split_condition(&line.words[2..]);
            let action = match super::actions::parse_http_action(act) {
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
                // 2.6 takes a word without ':' as a user with an empty password.
                let (u, pw) = v.split_once(':').unwrap_or((v.as_str(), ""));
                s.auths.push((u.to_string(), pw.to_string()));
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
}
