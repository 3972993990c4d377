//! ACLs and conditions over a request, sans-IO, for the fetches operators
//! use most: `path`, `url`, `base`, `query`, `hdr(NAME)`, `req.fhdr`,
//! `req.cook`, `method`, `src`, `dst`, `req.ver` (`sample` fetches them,
//! as it does for `%[…]`) with haproxy's match suffixes (`_beg`, `_end`, `_sub`, `_dir`, `_dom`,
//! `_len`, `_reg` is not evaluated), `-i`, `-m METHOD`, the `lower`/`upper`
//! converters, and the predefined ACLs (`TRUE`, `FALSE`, `HTTP`,
//! `HTTP_1.0`, `HTTP_1.1`, `METH_*`, `LOCALHOST`, `HTTP_URL_ABS`,
//! `HTTP_URL_SLASH`, `HTTP_CONTENT`, `REQ_CONTENT`). An ACL naming anything
//! else never matches (and was reported inactive when the file was read).

use super::http1::RequestHead;
use super::sample::{self, Ctx};
use crate::model::Prefix;
use crate::model::haproxy::{Acl, AclRef, Condition, NameMatch};
use std::net::{IpAddr, SocketAddr};

/// What the fetches read (the stats page's view: a request from an
/// address). The HTTP stream evaluates over a whole [`Ctx`] ([`eval_in`]).
pub struct Request<'a> {
    pub head: &'a RequestHead,
    pub src: IpAddr,
}

/// Evaluates `if|unless` over the proxy's named ACLs.
pub fn eval(cond: &Condition, acls: &[Acl], req: &Request<'_>) -> bool {
    let ctx = Ctx {
        src: Some(SocketAddr::new(req.src, 0)),
        request: Some(req.head),
        ..Ctx::default()
    };
    eval_in(cond, acls, &ctx)
}

/// Evaluates `if|unless` over the proxy's named ACLs, fetching from `ctx`.
pub fn eval_in(cond: &Condition, acls: &[Acl], ctx: &Ctx<'_>) -> bool {
    let any = cond.any_of.iter().any(|group| {
        group.iter().all(|term| {
            let m = match &term.acl {
                AclRef::Named(name) => named(name, acls, ctx),
                AclRef::Anonymous(acl) => matches(acl, ctx),
            };
            m != term.negate
        })
    });
    any != cond.negate
}

/// A named ACL: every `acl` line with the name is ORed; else a predefined one.
fn named(name: &str, acls: &[Acl], ctx: &Ctx<'_>) -> bool {
    let mut found = false;
    for a in acls.iter().filter(|a| a.name == name) {
        found = true;
        if matches(a, ctx) {
            return true;
        }
    }
    if found {
        return false;
    }
    match name {
        "TRUE" => return true,
        "FALSE" => return false,
        // A unix client has no address: not local.
        "LOCALHOST" => {
            return ctx
                .src
                .is_some_and(|a| sample::unmapped(a.ip()).is_loopback());
        }
        _ => {}
    }
    let Some(h) = ctx.request else {
        return false;
    };
    let method = h.method();
    match name {
        "HTTP" => true,
        "HTTP_1.0" => h.version.major == 1 && h.version.minor == 0,
        "HTTP_1.1" => h.version.major == 1 && h.version.minor == 1,
        "HTTP_URL_ABS" => h.uri().windows(3).any(|w| w == b"://"),
        "HTTP_URL_SLASH" => h.uri().starts_with(b"/"),
        "HTTP_CONTENT" | "REQ_CONTENT" => h.framing().body != super::http1::BodyLength::Empty,
        m if m.starts_with("METH_") => {
            let want = &m[5..];
            match want {
                "GET" => method == b"GET" || method == b"HEAD",
                _ => method == want.as_bytes(),
            }
        }
        _ => false,
    }
}

/// How a pattern is compared.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Method {
    Str,
    Beg,
    End,
    Sub,
    Dir,
    Dom,
    Len,
    Ip,
    Found,
    /// A regular expression.
    Reg,
    Unsupported,
}

fn method_named(s: &str) -> Method {
    match s {
        "str" => Method::Str,
        "beg" => Method::Beg,
        "end" => Method::End,
        "sub" => Method::Sub,
        "dir" => Method::Dir,
        "dom" => Method::Dom,
        "len" => Method::Len,
        "ip" => Method::Ip,
        "found" => Method::Found,
        "reg" => Method::Reg,
        _ => Method::Unsupported,
    }
}

/// One ACL line: any pattern matching any fetched value.
pub fn matches(acl: &Acl, ctx: &Ctx<'_>) -> bool {
    let (fetch, converters) = match acl.fetch.split_once(',') {
        Some((f, c)) => (f, c),
        None => (acl.fetch.as_str(), ""),
    };
    let (name, arg) = match fetch.split_once('(') {
        Some((n, rest)) => (n, rest.trim_end_matches(')')),
        None => (fetch, ""),
    };
    // `path_beg` = fetch `path` with match `beg`.
    let (base, mut method) = match name.rsplit_once('_') {
        Some((b, suffix)) if method_named(suffix) != Method::Unsupported => {
            (b, method_named(suffix))
        }
        _ => (name, Method::Str),
    };
    if let Some(m) = &acl.match_method {
        method = method_named(m);
    }
    let args: Vec<&str> = arg.split(',').map(str::trim).collect();
    let Some(mut values) = sample::values(base, &args, ctx) else {
        return false;
    };
    if base == "src" && method == Method::Str {
        method = Method::Ip;
    }
    for conv in converters.split(',').filter(|c| !c.is_empty()) {
        match conv {
            "lower" => values.iter_mut().for_each(|v| v.make_ascii_lowercase()),
            "upper" => values.iter_mut().for_each(|v| v.make_ascii_uppercase()),
            _ => return false,
        }
    }
    if method == Method::Found {
        return !values.is_empty();
    }
    values.iter().any(|v| {
        acl.patterns
            .iter()
            .any(|p| compare(method, v, p.as_bytes(), acl.ignore_case))
    })
}

/// Whether header name `name` matches `pattern` under `del-header -m`:
/// case-insensitive, a regular expression seeing the name in lower case
/// (haproxy keeps names so).
pub(super) fn name_matches(matching: NameMatch, name: &[u8], pattern: &str) -> bool {
    let method = match matching {
        NameMatch::Str => Method::Str,
        NameMatch::Beg => Method::Beg,
        NameMatch::End => Method::End,
        NameMatch::Sub => Method::Sub,
        NameMatch::Reg => {
            return compare(
                Method::Reg,
                &name.to_ascii_lowercase(),
                pattern.as_bytes(),
                false,
            );
        }
    };
    compare(method, name, pattern.as_bytes(), true)
}

fn compare(method: Method, value: &[u8], pattern: &[u8], icase: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if icase {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match method {
        Method::Str => eq(value, pattern),
        Method::Beg => value.len() >= pattern.len() && eq(&value[..pattern.len()], pattern),
        Method::End => {
            value.len() >= pattern.len() && eq(&value[value.len() - pattern.len()..], pattern)
        }
        Method::Sub => pattern.is_empty() || value.windows(pattern.len()).any(|w| eq(w, pattern)),
        // `dir`: a `/`-delimited part; `dom`: a `.`-delimited part.
        Method::Dir => value.split(|&b| b == b'/').any(|part| eq(part, pattern)),
        Method::Dom => value.split(|&b| b == b'.').any(|part| eq(part, pattern)),
        Method::Len => std::str::from_utf8(pattern)
            .ok()
            .and_then(|p| p.parse::<usize>().ok())
            .is_some_and(|n| value.len() == n),
        Method::Ip => {
            let (Ok(v), Ok(p)) = (std::str::from_utf8(value), std::str::from_utf8(pattern)) else {
                return false;
            };
            let Ok(ip) = v.parse::<IpAddr>() else {
                return false;
            };
            match p.split_once('/') {
                Some((a, len)) => match (a.parse::<IpAddr>(), len.parse::<u8>()) {
                    (Ok(addr), Ok(len)) => Prefix { addr, len }.contains(ip),
                    _ => false,
                },
                None => p.parse::<IpAddr>().is_ok_and(|a| a == ip),
            }
        }
        Method::Reg => std::str::from_utf8(pattern)
            .ok()
            .and_then(|p| super::rewrite::compiled(p, icase))
            .is_some_and(|re| re.is_match(value)),
        Method::Found | Method::Unsupported => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::haproxy::CondTerm;

    fn head(raw: &str) -> RequestHead {
        RequestHead::complete(raw)
    }

    fn acl(name: &str, fetch: &str, icase: bool, patterns: &[&str]) -> Acl {
        Acl {
            name: name.into(),
            line: 1,
            fetch: fetch.into(),
            ignore_case: icase,
            match_method: None,
            pattern_files: vec![],
            other_flags: vec![],
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn when(name: &str, negate: bool) -> Condition {
        Condition {
            negate: false,
            any_of: vec![vec![CondTerm {
                negate,
                acl: AclRef::Named(name.into()),
            }]],
        }
    }

    #[test]
    fn common_acls_match_like_haproxy() {
        let h = head("GET /api/v1/users?x=1 HTTP/1.1\r\nHost: Shop.Example.com\r\n\r\n");
        let req = Request {
            head: &h,
            src: "198.51.100.10".parse().expect("ip"),
        };
        let acls = vec![
            acl("api", "path_beg", false, &["/api/"]),
            acl("img", "path_end", false, &[".png", ".jpg"]),
            acl("shop", "hdr(host)", true, &["shop.example.com"]),
            acl("dom", "hdr_dom(host)", true, &["example"]),
            acl("lan", "src", false, &["198.51.100.0/24"]),
            acl("v1", "path_dir", false, &["v1"]),
        ];
        for (name, want) in [
            ("api", true),
            ("img", false),
            ("shop", true),
            ("dom", true),
            ("lan", true),
            ("v1", true),
            ("METH_GET", true),
            ("METH_POST", false),
            ("HTTP_1.1", true),
            ("LOCALHOST", false),
        ] {
            assert_eq!(eval(&when(name, false), &acls, &req), want, "{name}");
            assert_eq!(eval(&when(name, true), &acls, &req), !want, "!{name}");
        }
    }
}
