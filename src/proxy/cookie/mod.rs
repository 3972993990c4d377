//! Cookie persistence (`cookie <name> rewrite|insert|prefix …`) as haproxy 2.6 does it,
//! without I/O: the request side reads (and for `indirect`/`prefix` edits) the `Cookie`
//! fields and says which server the client asked for; the response side rewrites the
//! server's own `Set-Cookie` and adds haproxy's `Set-Cookie` / `Cache-control: private`
//! at the end of the head, byte for byte. It never picks a server by itself (the balancer
//! does) and never reads a clock (`now` comes from the caller).
//!
//! Goldens: `fixtures/haproxy/cookie/*.json`, recorded by `compat-tests/record-cookie.py`.

mod request;
mod response;
#[cfg(test)]
mod tests;

use crate::model::haproxy::{CookieMethod, CookiePersistence, Proxy};
use crate::proxy::log::CookieSeen;
use std::time::{SystemTime, UNIX_EPOCH};

/// A backend's persistence cookie settings and its servers' cookie values.
#[derive(Clone, Debug)]
pub struct Persistence {
    name: Vec<u8>,
    method: CookieMethod,
    indirect: bool,
    nocache: bool,
    postonly: bool,
    preserve: bool,
    /// `option persist`: a DOWN server named by the cookie still gets the request.
    persist: bool,
    /// Seconds; 0 = not set (haproxy's convention).
    maxidle: u32,
    maxlife: u32,
    /// What follows `path=/` in an inserted cookie: domains, flags, `attr` values.
    suffix: String,
    /// Each server's `cookie` value, in declaration order (servers without one: `None`).
    cookies: Vec<Option<Vec<u8>>>,
}

/// What haproxy may be told by rules about this request (`force-persist`,
/// `ignore-persist`, a `use-server` that already decided).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PersistRules {
    /// `ignore-persist` matched: the cookie is neither used nor refreshed.
    pub ignore: bool,
    /// `force-persist` matched: a DOWN server named by the cookie is used anyway.
    pub force: bool,
    /// A server was already assigned (`use-server`): the cookie is only noted (`U`).
    pub assigned: bool,
}

/// What the request side found, carried to the response side and the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestCookie {
    /// The server the cookie sends the request to (index in the backend's servers).
    pub server: Option<usize>,
    /// Third termination-state character.
    pub seen: CookieSeen,
    /// The request goes straight to `server` because of the cookie (haproxy's `SF_DIRECT`).
    pub direct: bool,
    /// Dates carried by the cookie (UNIX seconds, multiples of 4; 0 = none).
    first_date: u32,
    last_date: u32,
    ignore: bool,
    post: bool,
    /// GET, HEAD, OPTIONS or TRACE: a response to it may be cached.
    safe_method: bool,
}

impl RequestCookie {
    /// The connection to the cookie's server failed and haproxy redispatches: the
    /// persistence is broken (`SF_DIRECT` cleared) and a valid cookie is logged `D`.
    pub fn redispatched(&mut self) {
        if self.direct {
            self.direct = false;
            self.server = None;
            if self.seen == CookieSeen::Valid {
                self.seen = CookieSeen::Down;
            }
        }
    }
}

impl Persistence {
    /// Settings from `cfg`, `option persist`, and the servers' `cookie` values in order.
    pub fn new(cfg: &CookiePersistence, persist: bool, cookies: &[Option<&str>]) -> Persistence {
        let mut suffix = String::new();
        for d in &cfg.domains {
            suffix += "; domain=";
            suffix += d;
        }
        if cfg.httponly {
            suffix += "; HttpOnly";
        }
        if cfg.secure {
            suffix += "; Secure";
        }
        for a in &cfg.attrs {
            suffix += "; ";
            suffix += a;
        }
        // haproxy keeps these in seconds.
        let secs = |d: Option<crate::model::common::Duration>| {
            d.map_or(0, |d| {
                u32::try_from(d.as_millis() / 1000).unwrap_or(u32::MAX)
            })
        };
        Persistence {
            name: cfg.name.as_bytes().to_vec(),
            method: cfg.method,
            indirect: cfg.indirect,
            nocache: cfg.nocache,
            postonly: cfg.postonly,
            preserve: cfg.preserve,
            persist,
            maxidle: secs(cfg.maxidle),
            maxlife: secs(cfg.maxlife),
            suffix,
            // haproxy never matches an empty cookie value.
            cookies: cookies
                .iter()
                .map(|c| c.filter(|c| !c.is_empty()).map(|c| c.as_bytes().to_vec()))
                .collect(),
        }
    }

    /// The persistence of a backend, if it has a `cookie` line.
    pub fn for_proxy(px: &Proxy) -> Option<Persistence> {
        let cfg = px.cookie.as_ref()?;
        let cookies: Vec<Option<&str>> = px
            .servers
            .iter()
            .map(|s| s.params.cookie.as_deref())
            .collect();
        Some(Persistence::new(cfg, px.options.persist, &cookies))
    }

    fn inserts(&self) -> bool {
        self.method == CookieMethod::Insert
    }
}

/// Seconds since the epoch, as haproxy's `date.tv_sec` (30-bit dates wrap in 2106).
fn unix_secs(now: SystemTime) -> u32 {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A 30-bit value as the five base64 characters of haproxy's cookie dates.
fn encode_date(v: u32) -> [u8; 5] {
    let mut out = [0; 5];
    for (i, c) in out.iter_mut().enumerate() {
        *c = B64[((v >> (6 * (4 - i))) & 63) as usize];
    }
    out
}

/// The 30-bit value of five base64 characters; `None` when one is not base64.
fn decode_date(s: &[u8]) -> Option<u32> {
    let digits = s.get(..5)?;
    digits.iter().try_fold(0u32, |acc, &c| {
        let d = B64.iter().position(|&b| b == c)?;
        Some((acc << 6) | d as u32)
    })
}

/// HTTP's optional whitespace.
fn is_sp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// End of a cookie value starting at `from`: the first `;` or `,` outside double quotes
/// (a backslash escapes inside quotes), or the end of `v`.
fn value_end(v: &[u8], from: usize) -> usize {
    let (mut quoted, mut escaped) = (false, false);
    for (i, &c) in v.iter().enumerate().skip(from) {
        if escaped {
            escaped = false;
        } else if quoted {
            match c {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == b';' || c == b',' {
            return i;
        }
    }
    v.len()
}

/// One `name=value` of a cookie field, located in a value buffer.
#[derive(Clone, Copy, Debug)]
struct Crumb {
    att_beg: usize,
    att_end: usize,
    /// The `=`, or the delimiter/end when there is none.
    equal: usize,
    val_beg: usize,
    val_end: usize,
    /// The delimiter after the value (or the end).
    next: usize,
}

impl Crumb {
    /// Locates the cookie starting at `att_beg`; `stops` are the bytes ending a name.
    fn scan(v: &[u8], mut att_beg: usize, stops: &[u8]) -> Crumb {
        while att_beg < v.len() && is_sp(v[att_beg]) {
            att_beg += 1;
        }
        let (mut equal, mut att_end) = (att_beg, att_beg);
        while equal < v.len() && !stops.contains(&v[equal]) {
            equal += 1;
            if !is_sp(v[equal - 1]) {
                att_end = equal;
            }
        }
        if v.get(equal) != Some(&b'=') {
            return Crumb {
                att_beg,
                att_end,
                equal,
                val_beg: equal,
                val_end: equal,
                next: equal,
            };
        }
        let mut val_beg = equal + 1;
        while val_beg < v.len() && is_sp(v[val_beg]) {
            val_beg += 1;
        }
        let next = value_end(v, val_beg);
        let mut val_end = next;
        while val_end > val_beg && is_sp(v[val_end - 1]) {
            val_end -= 1;
        }
        Crumb {
            att_beg,
            att_end,
            equal,
            val_beg,
            val_end,
            next,
        }
    }

    /// Removes the blanks around `=` as haproxy does before using a cookie.
    fn squeeze(&mut self, v: &mut Vec<u8>) {
        if self.att_end == self.equal && self.val_beg == self.equal + 1 {
            return;
        }
        let after = self.val_beg - (self.equal + 1);
        v.drain(self.equal + 1..self.val_beg);
        let before = self.equal - self.att_end;
        v.drain(self.att_end..self.equal);
        let cut = before + after;
        self.equal = self.att_end;
        self.val_beg = self.equal + 1;
        self.val_end -= cut;
        self.next -= cut;
    }

    fn name<'a>(&self, v: &'a [u8]) -> &'a [u8] {
        &v[self.att_beg..self.att_end]
    }
}
