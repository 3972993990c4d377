//! Server selection in backends: `balance` (the algorithm), `hash-type`
//! and `cookie` persistence. Servers themselves live in `server`.

use super::section::{Line, Reader};
use super::values::{atou, parse_time, time_error_message};
use crate::model::haproxy::{Balance, CookieMethod, CookiePersistence};

impl Reader<'_> {
    pub(super) fn balance_keyword(&mut self, line: &Line) {
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
            "hash" => {
                if line.len() < 3 {
                    self.alert(
                        &line.loc,
                        line.span,
                        "balance hash requires a sample expression.".into(),
                    );
                    return;
                }
                Balance::Hash {
                    expr: line.words[2..].join(" "),
                }
            }
            _ => {
                self.alert(&line.loc, line.span, "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.".into());
                return;
            }
        };
        if let Some(p) = self.cur_proxy_mut() {
            p.balance = b;
        }
    }

    pub(super) fn hash_type_keyword(&mut self, line: &Line) {
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
                "sdbm" | "djb2" | "wt6" | "crc32" => ht.function = w.clone(),
                // 2.6 does not take `none` (2.8 does).
                "none" => {
                    self.alert(
                        &line.loc,
                        line.span,
                        "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.".into(),
                    );
                    return;
                }
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
        // A bare `hash-type consistent` hashes with avalanche: haproxy places
        // it exactly as `consistent sdbm avalanche` (fixtures/haproxy/balance).
        if consistent && line.words.len() == 2 {
            ht.avalanche = true;
        }
        if let Some(p) = self.cur_proxy_mut() {
            p.hash_type = ht;
        }
    }

    pub(super) fn cookie_keyword(&mut self, line: &Line) {
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
}
