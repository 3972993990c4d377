//! End-of-parse work, as haproxy's `check_config_validity()`: proxy
//! cross-references (backends, modes), the warnings haproxy prints about
//! listeners and timeouts, and the effective health check of each server.

use std::collections::HashMap;

use super::Level;
use super::section::Reader;
use crate::model::check::{HealthCheck, HttpProbe, HttpUrl, Probe};
use crate::model::common::Duration;
use crate::model::haproxy::{Balance, Mode, Proxy, Server};

const MISSING_TIMEOUTS: &str = "   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.";

impl Reader<'_> {
    /// Runs the checks and completes the model.
    pub(super) fn check_and_finalize(&mut self) {
        let proxies = self.cfg.proxies.clone();
        // The first proxy of each name that can serve as a backend.
        let mut backends: HashMap<&str, &Proxy> = HashMap::new();
        for b in proxies.iter().filter(|b| b.kind.has_backend()) {
            backends.entry(b.name.as_str()).or_insert(b);
        }
        for (i, p) in proxies.iter().enumerate() {
            if p.disabled {
                continue;
            }
            let label = p.kind.label();
            let here = format!("{}:{}", self.file_name(p.file), p.line);
            if let Balance::Hash { expr } = &p.balance
                && p.kind.has_backend()
                && let Err(e) = super::sample::check_expr(expr, self.lua_loaded())
            {
                self.post_alert(format!(
                    "{label} '{}' [{here}]: failed to parse 'balance hash' expression '{expr}' in : {e}.",
                    p.name
                ));
            }
            if p.kind.has_frontend() && p.binds.is_empty() {
                self.push(Level::Warning, None, format!(
                    "{label} '{}' has no 'bind' directive. Please declare it as a backend if this was intended.",
                    p.name
                ));
            }
            if p.kind.has_frontend() {
                if let Some(db) = &p.default_backend {
                    self.check_target(
                        &backends,
                        p,
                        &here,
                        db,
                        "as its default backend",
                        "default_backend",
                    );
                }
                for ub in p.use_backends.iter().filter(|u| u.dynamic) {
                    let stage = super::sample::Stage::Request;
                    if let Err(e) =
                        super::sample::check_format(&ub.target, self.lua_loaded(), stage)
                    {
                        self.post_alert(format!(
                            "Parsing [{}:{}]: failed to parse use_backend rule '{}' : {e}.",
                            self.file_name(p.file),
                            ub.line,
                            ub.target
                        ));
                    }
                }
                for ub in p.use_backends.iter().filter(|u| !u.dynamic) {
                    self.check_target(
                        &backends,
                        p,
                        &here,
                        &ub.target,
                        "in a 'use_backend' rule",
                        "use_backend",
                    );
                }
            }
            if p.mode != Mode::Health {
                let t = &p.timeouts;
                let missing = (p.kind.has_frontend() && t.client.is_none())
                    || (p.kind.has_backend() && (t.connect.is_none() || t.server.is_none()));
                if missing {
                    self.push(
                        Level::Warning,
                        None,
                        format!(
                            "missing timeouts for {label} '{}'.\n{MISSING_TIMEOUTS}",
                            p.name
                        ),
                    );
                }
            }
            if p.mode != Mode::Http {
                if p.stats.is_some() {
                    self.push(
                        Level::Warning,
                        None,
                        format!(
                            "'stats' statement ignored for {label} '{}' as it requires HTTP mode.",
                            p.name
                        ),
                    );
                }
                if p.options.forwardfor.is_some() {
                    self.push(Level::Warning, None, format!("'option forwardfor' ignored for {label} '{}' as it requires HTTP mode.", p.name));
                }
                if p.options.originalto.is_some() {
                    self.push(Level::Warning, None, format!("'option originalto' ignored for {label} '{}' as it requires HTTP mode.", p.name));
                }
            }
            let servers: Vec<Server> = p.servers.iter().map(|s| with_health_check(p, s)).collect();
            if let Some(px) = self.cfg.proxies.get_mut(i) {
                px.servers = servers;
            }
        }
    }

    fn check_target(
        &mut self,
        backends: &HashMap<&str, &Proxy>,
        p: &Proxy,
        here: &str,
        target: &str,
        how: &str,
        kw: &str,
    ) {
        let found = backends.get(target).copied();
        match found {
            None => self.post_alert(format!(
                "Proxy '{}': unable to find required {kw}: '{target}'.",
                p.name
            )),
            Some(b) => {
                if p.mode == Mode::Http && b.mode != Mode::Http {
                    let there = format!("{}:{}", self.file_name(b.file), b.line);
                    self.post_alert(format!(
                        "http {} '{}' ({here}) tries to use incompatible tcp {} '{}' ({there}) {how} (see 'mode').",
                        p.kind.label(),
                        p.name,
                        if b.kind.has_frontend() { "proxy" } else { "backend" },
                        b.name
                    ));
                }
            }
        }
    }
}

/// Status ranges from `http-check expect status 200`, `200-399`, `200,301`.
fn status_ranges(pattern: &str) -> Vec<(u16, u16)> {
    pattern
        .split(',')
        .filter_map(|part| match part.split_once('-') {
            Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
            None => part.trim().parse().ok().map(|v| (v, v)),
        })
        .collect()
}

/// The server with its effective `HealthCheck` when `check` is on.
fn with_health_check(p: &Proxy, s: &Server) -> Server {
    let mut s = s.clone();
    if !s.params.check {
        s.health_check = None;
        return s;
    }
    let params = &s.params;
    let probe = if let Some(hc) = &p.http_check {
        let mut url = HttpUrl {
            path: hc.uri.clone(),
            ..Default::default()
        };
        if let Some(e) = &hc.expect {
            url.negate = e.negate;
            match e.matcher.as_str() {
                "status" => url.status = status_ranges(&e.pattern),
                _ => url.body_match = Some(e.pattern.clone()),
            }
        }
        Probe::Http(HttpProbe {
            tls: params.check_ssl,
            method: hc.method.clone(),
            version: hc.version.clone(),
            host: hc.host.clone(),
            urls: vec![url],
            headers: hc.headers.clone(),
            sni: params.check_sni.clone(),
        })
    } else if let Some(nc) = &p.check_protocol {
        Probe::Named {
            name: nc.name.clone(),
            args: nc.args.clone(),
        }
    } else {
        Probe::Tcp
    };
    let mut hc = HealthCheck::new(probe);
    hc.connect_ip = params.check_addr;
    hc.connect_port = params.check_port;
    hc.interval = params.inter;
    hc.fast_interval = params.fastinter;
    hc.down_interval = params.downinter;
    hc.rise = params.rise;
    hc.fall = params.fall;
    hc.timeout = match (p.timeouts.check, p.timeouts.connect) {
        (Some(c), _) => c,
        (None, Some(c)) => Duration::from_micros(c.as_micros().min(params.inter.as_micros())),
        (None, None) => params.inter,
    };
    s.health_check = Some(hc);
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Level, Options, read_str};
    use crate::model::check::Probe;

    fn read(text: &str) -> super::super::Outcome {
        read_str(text, &Options::default())
    }

    #[test]
    fn missing_timeouts_and_bind_warnings() {
        let o = read("frontend f\n mode http\n default_backend b\nbackend b\n mode http\n");
        let w: Vec<&str> = o
            .diagnostics
            .iter()
            .filter(|d| d.kind == Level::Warning)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            w[0],
            "frontend 'f' has no 'bind' directive. Please declare it as a backend if this was intended."
        );
        assert!(
            w[1].starts_with("missing timeouts for frontend 'f'.\n   | While not properly invalid")
        );
        assert!(w[2].starts_with("missing timeouts for backend 'b'."));
        assert!(!o.is_fatal());
    }

    #[test]
    fn unknown_backend_and_mode_mismatch_are_fatal() {
        let o = read(
            "frontend f\n mode http\n bind :80\n use_backend nob if TRUE\n default_backend b\nbackend b\n",
        );
        let a: Vec<&str> = o
            .diagnostics
            .iter()
            .filter(|d| d.kind == Level::Alert)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            a[0],
            "http frontend 'f' (<string>:1) tries to use incompatible tcp backend 'b' (<string>:6) as its default backend (see 'mode')."
        );
        assert_eq!(
            a[1],
            "Proxy 'f': unable to find required use_backend: 'nob'."
        );
        assert_eq!(a[2], "Fatal errors found in configuration.");
    }

    #[test]
    fn defaults_are_inherited_and_health_checks_built() {
        let o = read(
            "defaults\n mode http\n timeout connect 5s\n timeout client 1m\n timeout server 1m\n option httpchk GET /health\n option forwardfor except 127.0.0.0/8\n default-server inter 3s fall 2\n\
backend app\n http-check expect status 200-399\n server a 10.0.0.1:80 check rise 3\n server b 10.0.0.2:80\n\
defaults named\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n\
backend raw from named\n server c 10.0.0.3:22 check\n",
        );
        assert!(!o.is_fatal(), "{:?}", o.diagnostics);
        let app = o.config.backend("app").expect("app");
        assert_eq!(app.mode, crate::model::haproxy::Mode::Http);
        assert!(app.options.forwardfor.is_some());
        let hc = app.servers[0].health_check.as_ref().expect("check");
        assert_eq!((hc.rise, hc.fall, hc.interval.as_millis()), (3, 2, 3000));
        let Probe::Http(http) = &hc.probe else {
            panic!("not http")
        };
        assert_eq!(
            (http.method.as_str(), http.urls[0].path.as_str()),
            ("GET", "/health")
        );
        assert_eq!(http.urls[0].status, vec![(200, 399)]);
        assert!(app.servers[1].health_check.is_none());
        let raw = o.config.backend("raw").expect("raw");
        assert_eq!(raw.mode, crate::model::haproxy::Mode::Tcp);
        assert!(raw.options.forwardfor.is_none());
        assert!(matches!(
            raw.servers[0].health_check.as_ref().map(|h| &h.probe),
            Some(Probe::Tcp)
        ));
    }

    #[test]
    fn no_option_and_default_option() {
        let o = read(
            "defaults\n option dontlognull\n option redispatch\n timeout connect 1s\n timeout client 1s\n timeout server 1s\nfrontend f\n bind :80\n no option dontlognull\nbackend g\n no option redispatch\n default option redispatch\n",
        );
        assert!(!o.is_fatal(), "{:?}", o.diagnostics);
        assert!(!o.config.proxies[0].options.dontlognull);
        assert_eq!(o.config.proxies[1].options.redispatch, Some(-1));
        // 2.6 reads `default option X` as `option X X`.
        let o = read("frontend f\n bind :80\n default option dontlognull\n no option httplog\n");
        let alerts: Vec<&str> = o
            .diagnostics
            .iter()
            .filter(|d| d.kind == Level::Alert)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            alerts[..2],
            [
                "parsing [<string>:3] : 'option dontlognull' cannot handle unexpected argument 'dontlognull'.",
                "parsing [<string>:4]: negation/default is not supported for option 'httplog'."
            ]
        );
    }
}
