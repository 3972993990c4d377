//! The actions of `http-request`/`http-response` rules (and of `redirect`
//! and `return`): their words, parsed into `HttpAction`, and how many
//! words each takes before `if`/`unless`. The rule keywords live in `rules`.

use crate::model::haproxy::{HttpAction, NameMatch, Redirect, Return};

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

/// How many of `words` (action name included) the action reads; 2.6
/// wants `if`/`unless` right after them. Actions Pharos only records take
/// every word.
pub fn action_len(words: &[String]) -> usize {
    let arg = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let fixed = |n: usize| n.min(words.len());
    match arg(0) {
        "allow" => 1,
        "auth" if arg(1) == "realm" => fixed(3),
        "auth" => 1,
        "set-header" | "add-header" => fixed(3),
        "del-header" if arg(2) == "-m" => fixed(4),
        "del-header" => fixed(2),
        "replace-header" | "replace-value" => fixed(4),
        "set-status" if arg(2) == "reason" => fixed(4),
        "set-status" => fixed(2),
        "deny" | "tarpit" | "return" => {
            let mut i = 1;
            while i < words.len() {
                i += match arg(i) {
                    "status" | "deny_status" | "content-type" | "string" | "lf-string" | "file"
                    | "lf-file" | "errorfile" | "errorfiles" => 2,
                    "default-errorfiles" => 1,
                    "hdr" => 3,
                    _ => break,
                };
            }
            i.min(words.len())
        }
        _ => words.len(),
    }
}

/// A regular expression as haproxy checks it while parsing: Err is its
/// error, worded as 2.6's (Pharos's engine names other faults in its own
/// words); Ok(Some(why)) when PCRE takes it but Pharos's engine cannot run
/// it (back-references, look-around: the rule never matches).
pub fn check_regex(re: &str) -> Result<Option<String>, String> {
    // The engine's message ends with an `error: …` line.
    let words = |e: &regex::Error| {
        let text = e.to_string();
        text.lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .map_or(text.as_str(), |l| l.trim_start_matches("error:").trim())
            .to_string()
    };
    match regex::Regex::new(re) {
        Ok(_) => Ok(None),
        Err(e @ regex::Error::Syntax(_)) if e.to_string().contains("not supported") => {
            Ok(Some(words(&e)))
        }
        // PCRE's words for the most common fault, at the end of the text.
        Err(e) if e.to_string().contains("unclosed group") => Err(format!(
            "regex '{re}' is invalid (error=missing closing parenthesis, erroffset={})",
            re.len()
        )),
        Err(e) => Err(format!("regex '{re}' is invalid (error={})", words(&e))),
    }
}

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
            if words.len() < 2 {
                return Err("expects at least 1 argument".into());
            }
            let matching = if arg(2) == "-m" {
                match arg(3).as_str() {
                    "str" => NameMatch::Str,
                    "beg" => NameMatch::Beg,
                    "end" => NameMatch::End,
                    "sub" => NameMatch::Sub,
                    // haproxy does not check this one while parsing.
                    "reg" => NameMatch::Reg,
                    "" => return Err("-m flag expects exactly 1 argument".into()),
                    m => return Err(format!("-m with unsupported matching method '{m}'")),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
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
        assert_eq!(check_regex(r"^/(a|b)\ x$"), Ok(None));
        assert_eq!(
            check_regex("^/(a|b"),
            Err(
                "regex '^/(a|b' is invalid (error=missing closing parenthesis, erroffset=6)".into()
            )
        );
        // PCRE look-around: accepted (Pharos's engine lacks it), and said.
        assert!(check_regex("(?<=a)b").is_ok_and(|w| w.is_some_and(|w| w.contains("look-around"))));
        assert!(matches!(
            parse_http_action(&w("set-var(txn.x) str(1)")),
            Ok(HttpAction::Other { .. })
        ));
    }
}
