//! Proxy section headers (`defaults`, `frontend`, `backend`, `listen`):
//! names, `from <defaults>`, the defaults a proxy starts from, 2.6's rules
//! on sharing a defaults section that holds TCP/HTTP rules, duplicate
//! names, and the 1.x listening address on the header line.

use super::Level;
use super::section::{Current, DefaultsEntry, Line, Reader};
use crate::model::haproxy::{Proxy, ProxyKind};

impl Reader<'_> {
    pub(super) fn start_proxy(&mut self, line: &Line) {
        let kw = line.arg(0);
        let kind = match kw {
            "frontend" => ProxyKind::Frontend,
            "backend" => ProxyKind::Backend,
            "listen" => ProxyKind::Listen,
            _ => ProxyKind::Defaults,
        };
        self.current = Current::None;
        let name = line.arg(1).to_string();
        if kind != ProxyKind::Defaults && name.is_empty() {
            self.abort(line, format!("'{kw}' expects an <id> argument"));
            return;
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        {
            self.alert(
                &line.loc,
                line.span,
                format!("character '{bad}' is not permitted in '{kw}' name '{name}'."),
            );
        }
        // `from <defaults>` or (legacy) a listening address.
        let mut from: Option<String> = None;
        let mut legacy_addr: Option<String> = None;
        let mut i = 2;
        if line.arg(2) == "from" {
            if line.len() < 4 {
                self.alert(
                    &line.loc,
                    line.span,
                    format!("'{kw}' expects a defaults section name after 'from'."),
                );
            }
            from = Some(line.arg(3).to_string());
            i = 4;
        } else if line.len() > 2 && kind != ProxyKind::Defaults && kind != ProxyKind::Backend {
            legacy_addr = Some(line.arg(2).to_string());
            i = 3;
        }
        if line.len() > i {
            self.alert(
                &line.loc,
                line.span,
                format!(
                    "'{kw}' cannot handle unexpected argument '{}'.",
                    line.arg(i)
                ),
            );
        }
        let base_idx = match &from {
            Some(dname) => self
                .defaults
                .iter()
                .rposition(|d| d.name.as_deref() == Some(dname.as_str())),
            None if kind != ProxyKind::Defaults => self.last_defaults,
            None => None,
        };
        if let Some(idx) = base_idx
            && !self.may_inherit_rules(line, idx, kind)
        {
            return;
        }
        let base = match &from {
            Some(dname) => match base_idx {
                Some(idx) => self.defaults[idx].proxy.clone(),
                None => {
                    let what = if kind == ProxyKind::Defaults {
                        "defaults"
                    } else {
                        kw
                    };
                    self.abort(
                        line,
                        format!("defaults section '{dname}' not found for {what} '{name}'."),
                    );
                    return;
                }
            },
            None => match (kind, self.last_defaults) {
                // A defaults section restarts from built-in values.
                (ProxyKind::Defaults, _) | (_, None) => Proxy::new("", ProxyKind::Defaults),
                (_, Some(idx)) => self.defaults[idx].proxy.clone(),
            },
        };
        let mut proxy = base.clone();
        proxy.name = name.clone();
        proxy.kind = kind;
        proxy.line = line.span.line;
        proxy.file = line.span.file.0;
        if kind == ProxyKind::Defaults {
            self.defaults.push(DefaultsEntry {
                name: (!name.is_empty()).then_some(name),
                proxy,
                session_rules: false,
                rules_used_by: None,
            });
            let idx = self.defaults.len() - 1;
            self.last_defaults = Some(idx);
            self.current = Current::Defaults(idx);
            return;
        }
        proxy.id = None;
        proxy.description = None;
        let same_name = self
            .proxy_names
            .get(name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let clash = same_name
            .iter()
            .filter_map(|&i| self.cfg.proxies.get(i))
            .find(|o| {
                o.name == name
                    && ((kind.has_frontend() && o.kind.has_frontend())
                        || (kind.has_backend() && o.kind.has_backend()))
            });
        if let Some(o) = clash {
            let msg = format!(
                "Parsing [{}]: {} '{}' has the same name as {} '{}' declared at {}:{}.",
                line.loc,
                kw,
                name,
                match o.kind {
                    ProxyKind::Frontend => "frontend",
                    ProxyKind::Backend => "backend",
                    _ => "listen",
                },
                name,
                self.file_name(o.file),
                o.line
            );
            self.push(Level::Alert, Some(line.span), msg);
            self.note_fatal();
        }
        self.proxy_names
            .entry(proxy.name.clone())
            .or_default()
            .push(self.cfg.proxies.len());
        self.cfg.proxies.push(proxy);
        self.bases.push(base);
        let idx = self.cfg.proxies.len() - 1;
        self.current = Current::Proxy(idx);
        if let Some(addr) = legacy_addr {
            self.legacy_header_address(line, &addr);
        }
    }

    /// 2.6's checks on inheriting a defaults section that holds TCP/HTTP
    /// rules (they are shared, not copied); false after an abort.
    pub(super) fn may_inherit_rules(&mut self, line: &Line, idx: usize, kind: ProxyKind) -> bool {
        let Some(d) = self.defaults.get(idx) else {
            return true;
        };
        let p = &d.proxy;
        let raw = |kw: &str, sub: Option<&str>| {
            p.other.iter().any(|r| {
                r.words.first().is_some_and(|w| w == kw)
                    && sub.is_none_or(|s| r.words.get(1).is_some_and(|w| w == s))
            })
        };
        let tcp_response = raw("tcp-response", Some("content"));
        let has_rules = !p.http_request.is_empty()
            || !p.http_response.is_empty()
            || !p.tcp_request_connection.is_empty()
            || !p.tcp_request_content.is_empty()
            || raw("http-after-response", None)
            || tcp_response;
        if !has_rules {
            return true;
        }
        let at = format!("{}:{}", self.file_name(p.file), p.line);
        let l4_l5 = !p.tcp_request_connection.is_empty() || d.session_rules;
        let side = if kind.has_frontend() {
            ProxyKind::Frontend
        } else {
            ProxyKind::Backend
        };
        let msg = if kind == ProxyKind::Defaults {
            format!(
                "a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults section at {at})."
            )
        } else if kind == ProxyKind::Listen {
            "a listen section cannot inherit from a defaults section defining TCP/HTTP rules."
                .to_string()
        } else if d.rules_used_by.is_some_and(|u| u != side) {
            format!(
                "frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at {at})."
            )
        } else if side == ProxyKind::Backend && l4_l5 {
            format!(
                "a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (defaults section at {at})."
            )
        } else if side == ProxyKind::Frontend && tcp_response {
            format!(
                "a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (defaults section at {at})."
            )
        } else {
            if let Some(d) = self.defaults.get_mut(idx) {
                d.rules_used_by = Some(side);
            }
            return true;
        };
        self.abort_tight(line, msg);
        false
    }
}
