//! `http-request` / `http-response` rules, sans-IO, first cut: `allow`,
//! `deny [deny_status N]`, `auth [realm R]`, `redirect location|prefix
//! [code N] [drop-query]`, `return [status N] [content-type T] [string S]
//! [hdr N V]…`, `set-header`, `add-header`, `del-header [-m …]`,
//! `replace-header`, `replace-value`, `replace-uri`, `replace-path`,
//! `set-uri`/`set-path`/`set-pathq`/`set-query`/`set-method` and the
//! legacy line rewrites (`rewrite`). Header values and redirect targets are log-format
//! strings: their `%[…]` sample expressions are evaluated (`sample`). The
//! replies are haproxy 2.6's
//! bytes (observed: custom headers first, then content-length and
//! content-type; the connection stays open).

use super::acl;
use super::errors;
use super::http1::{HeaderList, RequestHead};
use super::rewrite;
use super::sample::{self, Addrs, Ctx};
use crate::model::haproxy::{Acl, HttpAction, HttpRule};
use std::borrow::Cow;

/// What the request rules decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on to the backend (the head may have been changed).
    Forward,
    /// Answer with these bytes instead: `local` for a reply the
    /// configuration asked for (redirect, return, auth: `L` in the log),
    /// else a refusal (deny: `P`).
    Reply { bytes: Vec<u8>, local: bool },
}

/// Whether a rule's condition holds.
fn applies(rule: &HttpRule, acls: &[Acl], ctx: &Ctx<'_>) -> bool {
    rule.cond
        .as_ref()
        .is_none_or(|c| acl::eval_in(c, acls, ctx))
}

/// Runs the `http-request` rules over `head` in order.
pub fn on_request(
    rules: &[HttpRule],
    acls: &[Acl],
    head: &mut RequestHead,
    addrs: &Addrs,
) -> Verdict {
    for rule in rules {
        let ctx = Ctx::of(addrs, head);
        if !applies(rule, acls, &ctx) {
            continue;
        }
        match &rule.action {
            HttpAction::Allow => return Verdict::Forward,
            HttpAction::Deny { status, .. } => {
                return Verdict::Reply {
                    bytes: builtin(status.unwrap_or(403), None),
                    local: false,
                };
            }
            HttpAction::Auth { realm } => {
                let realm = realm.as_deref().unwrap_or("HAProxy Statistics");
                return Verdict::Reply {
                    bytes: builtin(401, Some(realm)),
                    local: true,
                };
            }
            HttpAction::Redirect(r) => {
                let to = sample::expand(&r.to, &ctx);
                // `prefix` and `scheme` keep the request's target (its
                // query unless `drop-query`; a `/` added by `append-slash`).
                let mut path = head.uri().to_vec();
                if r.drop_query {
                    path.truncate(path.iter().position(|&b| b == b'?').unwrap_or(path.len()));
                }
                if r.append_slash && path.last() != Some(&b'/') {
                    path.push(b'/');
                }
                let target = match r.kind.as_str() {
                    "prefix" => {
                        let keep = to.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
                        [&to[..keep], &path[..]].concat()
                    }
                    "scheme" => {
                        let host = head.headers().get("host").unwrap_or_default();
                        [&to[..], b"://", host, &path[..]].concat()
                    }
                    _ => to.into_owned(),
                };
                let mut out = format!(
                    "HTTP/1.1 {} {}\r\ncontent-length: 0\r\nlocation: ",
                    r.code,
                    reason(r.code)
                )
                .into_bytes();
                out.extend_from_slice(&target);
                out.extend_from_slice(b"\r\n");
                // Temporary redirects must not be cached (haproxy adds it).
                if matches!(r.code, 302 | 303 | 307) {
                    out.extend_from_slice(b"cache-control: no-cache\r\n");
                }
                out.extend_from_slice(b"\r\n");
                return Verdict::Reply {
                    bytes: out,
                    local: true,
                };
            }
            HttpAction::Return(r) => {
                let mut out =
                    format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status)).into_bytes();
                // `hdr` values and `lf-string` bodies are log-format strings.
                for (n, v) in &r.headers {
                    out.extend_from_slice(n.to_ascii_lowercase().as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(&sample::expand(v, &ctx));
                    out.extend_from_slice(b"\r\n");
                }
                let body = match &r.body {
                    Some((kind, text)) if kind == "string" => text.as_bytes().to_vec(),
                    Some((kind, text)) if kind == "lf-string" => {
                        sample::expand(text, &ctx).into_owned()
                    }
                    _ => Vec::new(),
                };
                out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
                if let Some(ct) = r.content_type.as_ref().filter(|_| !body.is_empty()) {
                    out.extend_from_slice(format!("content-type: {ct}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&body);
                return Verdict::Reply {
                    bytes: out,
                    local: true,
                };
            }
            HttpAction::ReplaceLine {
                regex,
                replace,
                ignore_case,
            } => {
                rewrite::replace_start_line(head, regex, replace, *ignore_case);
                rewrite::replace_lines(head.headers_mut(), regex, replace, *ignore_case);
            }
            HttpAction::SetUri { format }
            | HttpAction::SetPath { format }
            | HttpAction::SetPathq { format }
            | HttpAction::SetQuery { format } => {
                let part = match rule.action {
                    HttpAction::SetUri { .. } => rewrite::Part::Uri,
                    HttpAction::SetPath { .. } => rewrite::Part::Path,
                    HttpAction::SetPathq { .. } => rewrite::Part::PathQuery,
                    _ => rewrite::Part::Query,
                };
                let value = sample::expand(format, &ctx).into_owned();
                rewrite::set_target(head, part, &value);
            }
            HttpAction::SetMethod { format } => {
                let value = sample::expand(format, &ctx).into_owned();
                head.set_method(&value);
            }
            HttpAction::ReplaceUri { regex, replace }
            | HttpAction::ReplacePath { regex, replace }
            | HttpAction::ReplacePathq { regex, replace } => {
                let path_only = matches!(rule.action, HttpAction::ReplacePath { .. });
                let replace = sample::expand(replace, &ctx).into_owned();
                rewrite::replace_target(head, regex, &replace, path_only);
            }
            other => {
                let value = value_of(other, &ctx);
                edit(head.headers_mut(), other, value);
            }
        }
    }
    Verdict::Forward
}

/// The rules with the files of `return … file|lf-file PATH` read now
/// (before any `chroot`, as haproxy reads them while parsing): their
/// content becomes a `string` or `lf-string` body. A file that cannot be
/// read gives an empty body.
pub fn with_files_read(rules: &[HttpRule]) -> Vec<HttpRule> {
    let mut rules = rules.to_vec();
    for rule in &mut rules {
        if let HttpAction::Return(r) = &mut rule.action
            && let Some((kind, value)) = &mut r.body
        {
            let inline = match kind.as_str() {
                "file" => "string",
                "lf-file" => "lf-string",
                _ => continue,
            };
            *value = std::fs::read_to_string(&*value).unwrap_or_default();
            *kind = inline.to_string();
        }
    }
    rules
}

/// Runs the `http-response` header rules over a response's fields.
pub fn on_response(
    rules: &[HttpRule],
    acls: &[Acl],
    request: &RequestHead,
    addrs: &Addrs,
    status: u16,
    fields: &mut HeaderList,
) {
    for rule in rules {
        let ctx = Ctx {
            response: Some(&*fields),
            status: Some(status),
            ..Ctx::of(addrs, request)
        };
        if !applies(rule, acls, &ctx) {
            continue;
        }
        if matches!(rule.action, HttpAction::Allow) {
            return;
        }
        if let HttpAction::ReplaceLine {
            regex,
            replace,
            ignore_case,
        } = &rule.action
        {
            rewrite::replace_lines(fields, regex, replace, *ignore_case);
            continue;
        }
        let value = value_of(&rule.action, &ctx);
        edit(fields, &rule.action, value);
    }
}

/// The value a set-header/add-header writes, its expressions evaluated
/// before the fields change.
fn value_of<'a>(action: &'a HttpAction, ctx: &Ctx<'_>) -> Cow<'a, [u8]> {
    match action {
        HttpAction::SetHeader { value, .. } | HttpAction::AddHeader { value, .. } => {
            sample::expand(value, ctx)
        }
        // The replacement is a log-format string too.
        HttpAction::ReplaceHeader { replace, .. } | HttpAction::ReplaceValue { replace, .. } => {
            sample::expand(replace, ctx)
        }
        _ => Cow::Borrowed(&[]),
    }
}

/// The header actions (`value`: the one `value_of` gave).
fn edit(fields: &mut HeaderList, action: &HttpAction, value: Cow<'_, [u8]>) {
    match action {
        HttpAction::SetHeader { name, .. } => {
            fields.remove(name);
            fields.append(name.as_bytes(), &value);
        }
        HttpAction::AddHeader { name, .. } => {
            fields.append(name.as_bytes(), &value);
        }
        HttpAction::DelHeader { name, matching } => rewrite::del_header(fields, name, *matching),
        HttpAction::ReplaceHeader { name, regex, .. } => {
            rewrite::replace_header(fields, name, regex, &value, false);
        }
        HttpAction::ReplaceValue { name, regex, .. } => {
            rewrite::replace_header(fields, name, regex, &value, true);
        }
        HttpAction::DelHeaderLine { regex, ignore_case } => {
            rewrite::del_lines(fields, regex, *ignore_case);
        }
        _ => {}
    }
}

/// A built-in page as a stream sends it (lower-case fields), with
/// `www-authenticate` after its fields for 401.
pub(super) fn builtin(status: u16, realm: Option<&str>) -> Vec<u8> {
    let Some(page) = errors::builtin(status) else {
        return format!(
            "HTTP/1.1 {status} {}\r\ncontent-length: 0\r\n\r\n",
            reason(status)
        )
        .into_bytes();
    };
    let mut reply = page.reply();
    if let Some(realm) = realm {
        reply.headers.append(
            b"www-authenticate",
            format!("Basic realm=\"{realm}\"").as_bytes(),
        );
    }
    let mut out = Vec::new();
    reply.encode(&mut out);
    out
}

/// haproxy's reason phrases.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Other",
    }
}
