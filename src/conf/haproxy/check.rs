//! `http-check …` in backends: the request sent and the response
//! expected by HTTP health checks (folded into each server's
//! `HealthCheck` by `finish`). `option httpchk` lives in `options`.

use super::section::{Line, Reader};
use crate::model::haproxy::{HttpCheckSpec, HttpExpect};

impl Reader<'_> {
    pub(super) fn http_check_keyword(&mut self, line: &Line) {
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
}
