//! The response side: the server's own persistence cookie (kept, removed, rewritten or
//! prefixed), then haproxy's inserted `Set-Cookie` and, for `nocache`, the
//! `Cache-control: private` that keeps shared caches from storing it.

use super::{Crumb, Persistence, RequestCookie, encode_date, unix_secs};
use crate::model::haproxy::CookieMethod;
use crate::proxy::http1::HeaderList;
use crate::proxy::log::CookieSet;
use std::time::SystemTime;

/// Statuses cacheable by default (RFC 7231 §6.1), as haproxy lists them.
const CACHEABLE_STATUS: [u16; 11] = [200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501];

impl Persistence {
    /// Applies persistence to the response head of server `chosen` for the request `req`
    /// found; returns the fourth termination-state character. 1xx heads are untouched.
    pub fn on_response(
        &self,
        headers: &mut HeaderList,
        status: u16,
        chosen: usize,
        req: &RequestCookie,
        now: SystemTime,
    ) -> CookieSet {
        if status < 200 && status != 101 {
            return CookieSet::None;
        }
        let mut set = self.server_cookies(headers, chosen, req);
        let cookie = self.cookies.get(chosen).cloned().flatten();
        if !self.wants_insert(set, req, unix_secs(now)) {
            return set;
        }
        let now = unix_secs(now);
        let mut value = self.name.clone();
        match &cookie {
            None => value.extend_from_slice(b"=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"),
            Some(ck) => {
                value.push(b'=');
                value.extend_from_slice(ck);
                if self.maxidle != 0 || self.maxlife != 0 {
                    // Rounded up so that the date is never in the past.
                    let today = now.saturating_add(3) >> 2;
                    value.push(b'|');
                    value.extend_from_slice(&encode_date(today));
                    if self.maxlife != 0 {
                        let first = match req.first_date {
                            0 => today,
                            d => d >> 2,
                        };
                        value.push(b'|');
                        value.extend_from_slice(&encode_date(first));
                    }
                }
                value.extend_from_slice(b"; path=/");
            }
        }
        value.extend_from_slice(self.suffix.as_bytes());
        headers.append(b"Set-Cookie", &value);
        set = if cookie.is_some() && req.direct {
            CookieSet::Updated
        } else {
            CookieSet::Inserted
        };
        if self.nocache && cacheable(headers, status, req.safe_method) {
            headers.append(b"Cache-control", b"private");
        }
        set
    }

    /// Whether haproxy adds its own `Set-Cookie` (insert mode only).
    fn wants_insert(&self, set: CookieSet, req: &RequestCookie, now: u32) -> bool {
        let stale = (self.maxidle != 0 || req.last_date != 0)
            && (req.last_date == 0 || (req.last_date.wrapping_sub(now) as i32) < 0);
        let dates_change = (self.maxlife != 0) != (req.first_date != 0);
        self.inserts()
            && !(set == CookieSet::Provided && self.preserve)
            && (!req.direct || stale || dates_change)
            && (!self.postonly || req.post)
            && !req.ignore
    }

    /// Handles the server's `Set-Cookie` fields for our cookie name (the first cookie of
    /// each field only: a `Set-Cookie` value may hold commas in dates).
    fn server_cookies(
        &self,
        headers: &mut HeaderList,
        chosen: usize,
        req: &RequestCookie,
    ) -> CookieSet {
        let mut set = CookieSet::None;
        let cookie = self.cookies.get(chosen).cloned().flatten();
        let mut i = 0;
        while let Some((name, value)) = headers.at(i) {
            if !name.eq_ignore_ascii_case(b"set-cookie") {
                i += 1;
                continue;
            }
            let mut v = value.to_vec();
            let mut c = Crumb::scan(&v, 0, b"=;");
            if c.equal == c.val_end {
                i += 1;
                continue;
            }
            let len = v.len();
            c.squeeze(&mut v);
            if v.len() != len {
                headers.set_value_at(i, &v);
            }
            if req.ignore || c.name(&v) != self.name.as_slice() {
                i += 1;
                continue;
            }
            set = CookieSet::Provided;
            if self.preserve {
                // The server's cookie is left alone.
            } else if self.inserts() || (req.direct && self.indirect) {
                headers.remove_at(i);
                set = CookieSet::Deleted;
                continue;
            } else if let Some(ck) = &cookie {
                let mut out = v[..c.val_beg].to_vec();
                out.extend_from_slice(ck);
                match self.method {
                    CookieMethod::Rewrite => out.extend_from_slice(&v[c.val_end..]),
                    CookieMethod::Prefix => {
                        out.push(b'~');
                        out.extend_from_slice(&v[c.val_beg..]);
                    }
                    _ => {
                        i += 1;
                        continue;
                    }
                }
                headers.set_value_at(i, &out);
                set = CookieSet::Rewritten;
            }
            i += 1;
        }
        set
    }
}

/// haproxy's response cacheability (for `nocache`): a safe method and a cacheable status, no
/// `Pragma: no-cache`, no private/no-cache/no-store/zero max-age directive (`public`
/// wins back), and freshness (max-age, s-maxage, Expires) or a validator (ETag,
/// Last-Modified): RFC 7234 leaves anything else uncached anyway.
fn cacheable(headers: &HeaderList, status: u16, safe_method: bool) -> bool {
    let mut ok = safe_method && CACHEABLE_STATUS.contains(&status);
    if headers
        .get("pragma")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"no-cache"))
    {
        return false;
    }
    let mut fresh = false;
    let directives = headers
        .all("cache-control")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|d| d.trim_ascii());
    for d in directives {
        let starts = |p: &[u8]| d.len() >= p.len() && d[..p.len()].eq_ignore_ascii_case(p);
        if d.eq_ignore_ascii_case(b"public") {
            ok = true;
        } else if [
            &b"private"[..],
            b"no-cache",
            b"no-store",
            b"max-age=0",
            b"s-maxage=0",
        ]
        .iter()
        .any(|p| d.eq_ignore_ascii_case(p))
        {
            ok = false;
        } else if starts(b"s-maxage") || starts(b"max-age") {
            fresh = true;
        }
    }
    let fresh = fresh || headers.get("expires").is_some();
    let validator = headers.get("etag").is_some() || headers.get("last-modified").is_some();
    ok && (fresh || validator)
}
