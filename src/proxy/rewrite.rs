//! The regular-expression rewrites of `http-request`/`http-response`:
//! `replace-header`, `replace-value`, `del-header -m beg|end|sub|reg`, and
//! the legacy `reqrep`/`rsprep`/`reqdel`/`rspdel` lines the configuration
//! could not narrow to one header (`ReplaceLine`, `DelHeaderLine`). As in
//! haproxy, a match replaces the whole value (or line) with the
//! replacement, where `\N` is the N-th group and `\xHH` a byte.

use super::http1::{HeaderList, RequestHead};
use crate::model::haproxy::NameMatch;
use regex::bytes::{Captures, Regex, RegexBuilder};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Expressions compiled so far, by pattern: case-sensitive, then
/// case-insensitive. Looked up on every rule that runs, so a hit borrows
/// the pattern and takes the lock for reading only.
type Compiled = [HashMap<String, Option<Arc<Regex>>>; 2];

/// `pattern` compiled once (None: not a valid expression; the
/// configuration check reports those).
pub(super) fn compiled(pattern: &str, icase: bool) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<RwLock<Compiled>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    let side = usize::from(icase);
    if let Some(hit) = cache.read().ok()?[side].get(pattern) {
        return hit.clone();
    }
    let built = RegexBuilder::new(pattern)
        .case_insensitive(icase)
        .build()
        .ok()
        .map(Arc::new);
    cache.write().ok()?[side].insert(pattern.to_string(), built.clone());
    built
}

/// haproxy's `exp_replace`: `replace` with `\0`…`\9` standing for the
/// groups of `caps`, `\xHH` for a byte and `\c` for `c`.
pub(super) fn substitute(replace: &[u8], caps: &Captures<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(replace.len() + 16);
    let mut i = 0;
    while i < replace.len() {
        let c = replace[i];
        if c != b'\\' || i + 1 >= replace.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = replace[i + 1];
        match next {
            b'0'..=b'9' => {
                if let Some(g) = caps.get(usize::from(next - b'0')) {
                    out.extend_from_slice(g.as_bytes());
                }
                i += 2;
            }
            b'x' if i + 3 < replace.len() => {
                let hex = std::str::from_utf8(&replace[i + 2..i + 4]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => out.push(b),
                    None => out.extend_from_slice(&replace[i..i + 4]),
                }
                i += 4;
            }
            _ => {
                out.push(next);
                i += 2;
            }
        }
    }
    out
}

/// `replace-header NAME REGEX REPLACE` (or `replace-value` when
/// `per_value`: each comma-separated value on its own): every field
/// called `name` whose value (or value) matches takes the replacement.
pub fn replace_header(
    fields: &mut HeaderList,
    name: &str,
    pattern: &str,
    replace: &[u8],
    per_value: bool,
) {
    let Some(re) = compiled(pattern, false) else {
        return;
    };
    let rewrite = |v: &[u8]| {
        re.captures(v)
            .map(|caps| substitute(replace, &caps))
            .unwrap_or_else(|| v.to_vec())
    };
    for index in 0..fields.len() {
        let Some((n, value)) = fields.at(index) else {
            break;
        };
        if !n.eq_ignore_ascii_case(name.as_bytes()) {
            continue;
        }
        let new = if per_value {
            // A value that changes takes its whole place between the
            // commas, its blanks too, as in haproxy.
            value
                .split(|&b| b == b',')
                .map(|v| {
                    let t = v.trim_ascii();
                    let out = rewrite(t);
                    if out == t { v.to_vec() } else { out }
                })
                .collect::<Vec<_>>()
                .join(&b","[..])
        } else {
            rewrite(value)
        };
        if new != value {
            fields.set_value_at(index, &new);
        }
    }
}

/// `replace-uri REGEX REPLACE` (or `replace-path` when `path_only`: the
/// query string is kept): a match replaces the whole target (or path).
pub fn replace_target(head: &mut RequestHead, pattern: &str, replace: &[u8], path_only: bool) {
    let Some(re) = compiled(pattern, false) else {
        return;
    };
    let uri = head.uri().to_vec();
    let (subject, rest) = if path_only {
        let at = uri.iter().position(|&b| b == b'?').unwrap_or(uri.len());
        (&uri[..at], &uri[at..])
    } else {
        (&uri[..], &[][..])
    };
    if let Some(caps) = re.captures(subject) {
        let mut target = substitute(replace, &caps);
        target.extend_from_slice(rest);
        head.set_uri(&target);
    }
}

/// Which part of the target a `set-…` action writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `set-uri`: all of it.
    Uri,
    /// `set-path`: the path, the query kept.
    Path,
    /// `set-pathq`: the path and the query.
    PathQuery,
    /// `set-query`: what follows `?` (added when missing).
    Query,
}

/// `set-uri`/`set-path`/`set-pathq`/`set-query`: `value` becomes that
/// part of the target.
pub fn set_target(head: &mut RequestHead, part: Part, value: &[u8]) {
    let uri = head.uri().to_vec();
    let q = uri.iter().position(|&b| b == b'?');
    let path_end = q.unwrap_or(uri.len());
    let target = match part {
        Part::Uri | Part::PathQuery => value.to_vec(),
        Part::Path => [value, &uri[path_end..]].concat(),
        Part::Query => [&uri[..path_end], b"?", value].concat(),
    };
    head.set_uri(&target);
}

/// `del-header NAME -m METHOD`: removes the fields whose name matches.
pub fn del_header(fields: &mut HeaderList, name: &str, matching: NameMatch) {
    fields.remove_where(|n, _| super::acl::name_matches(matching, n, name));
}

/// One field as a legacy rule saw it: `Name: value`.
fn line_of(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut line = name.to_vec();
    line.extend_from_slice(b": ");
    line.extend_from_slice(value);
    line
}

/// Legacy `reqrep` on the request line: a match gives the request the
/// new line's method and target (the version stays).
pub fn replace_start_line(head: &mut RequestHead, pattern: &str, replace: &str, icase: bool) {
    let Some(re) = compiled(pattern, icase) else {
        return;
    };
    let line = [
        head.method(),
        b" ",
        head.uri(),
        b" ",
        &head.version.text()[..],
    ]
    .concat();
    let Some(caps) = re.captures(&line) else {
        return;
    };
    let new = substitute(replace.as_bytes(), &caps);
    let mut words = new.split(|&b| b == b' ');
    if let (Some(method), Some(target)) = (words.next(), words.next())
        && !method.is_empty()
        && !target.is_empty()
    {
        head.set_method(method);
        head.set_uri(target);
    }
}

/// Legacy `reqrep`/`rsprep` on header lines: every `Name: value` line
/// matching `pattern` is replaced (a line left without a `:` is dropped).
pub fn replace_lines(fields: &mut HeaderList, pattern: &str, replace: &str, icase: bool) {
    let Some(re) = compiled(pattern, icase) else {
        return;
    };
    let mut index = 0;
    while let Some((n, v)) = fields.at(index) {
        let line = line_of(n, v);
        let Some(caps) = re.captures(&line) else {
            index += 1;
            continue;
        };
        let new = substitute(replace.as_bytes(), &caps);
        fields.remove_at(index);
        if let Some(colon) = new.iter().position(|&b| b == b':') {
            let value = new[colon + 1..].trim_ascii_start().to_vec();
            fields.insert(index, &new[..colon], &value);
            index += 1;
        }
    }
}

/// Legacy `reqdel`/`rspdel` on whole lines: removes every header line
/// matching `pattern`.
pub fn del_lines(fields: &mut HeaderList, pattern: &str, icase: bool) {
    let Some(re) = compiled(pattern, icase) else {
        return;
    };
    fields.remove_where(|n, v| re.is_match(&line_of(n, v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &HeaderList) -> Vec<(String, String)> {
        f.iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn groups_bytes_and_escapes_in_replacements() {
        let re = compiled("a(b)(c)?", false).expect("regex");
        let caps = re.captures(b"xabz").expect("match");
        assert_eq!(substitute(br"[\1|\2|\x41|\\|\q]", &caps), b"[b||A|\\|q]");
    }

    #[test]
    fn a_match_replaces_the_whole_value() {
        let mut f = HeaderList::of_pairs(&[("X-A", "xxabcyy"), ("x-a", "none"), ("X-B", "abc")]);
        replace_header(&mut f, "x-a", "ab(c)", br"Z\1", false);
        assert_eq!(all(&f)[0].1, "Zc");
        assert_eq!(all(&f)[1].1, "none");
        assert_eq!(all(&f)[2].1, "abc");
        let mut f = HeaderList::of_pairs(&[("X-L", "a1, b2,c3")]);
        replace_header(&mut f, "X-L", "^b(.)$", br"B\1", true);
        assert_eq!(all(&f)[0].1, "a1,B2,c3");
    }

    #[test]
    fn names_are_matched_by_method() {
        let mut f = HeaderList::of_pairs(&[
            ("X-Debug-1", "a"),
            ("X-Trace", "b"),
            ("Host", "h"),
            ("x-debug", "c"),
        ]);
        del_header(&mut f, "x-debug", NameMatch::Beg);
        assert_eq!(all(&f).len(), 2);
        del_header(&mut f, "^x-.*ace$", NameMatch::Reg);
        assert_eq!(all(&f), [("Host".to_string(), "h".to_string())]);
    }

    #[test]
    fn legacy_lines_are_rewritten_or_dropped() {
        let mut head =
            RequestHead::complete("GET /old/x HTTP/1.1\r\nHost: a\r\nX-Debug: yes\r\n\r\n");
        replace_start_line(&mut head, r"^GET\ /old/(.*)", r"GET\ /new/\1", false);
        assert_eq!(head.uri(), b"/new/x");
        replace_lines(head.headers_mut(), r"^Host:\ a$", r"Host:\ b", true);
        assert_eq!(head.headers().get("host"), Some(&b"b"[..]));
        del_lines(head.headers_mut(), "^x-debug: yes", true);
        assert_eq!(head.headers().get("x-debug"), None);
    }
}
