//! The request side: finds the persistence cookie in every `Cookie` field, decides which
//! server it names, and edits the fields as haproxy forwards them (blanks around `=`
//! removed, the cookie dropped for `insert indirect`, the `SRV~` prefix stripped).

use super::{Crumb, PersistRules, Persistence, RequestCookie, decode_date, is_sp, unix_secs};
use crate::model::haproxy::CookieMethod;
use crate::proxy::http1::HeaderList;
use crate::proxy::log::CookieSeen;
use std::time::SystemTime;

/// State kept across the cookies of one request.
struct Scan<'a> {
    px: &'a Persistence,
    usable: &'a dyn Fn(usize) -> bool,
    rules: PersistRules,
    now: u32,
    out: RequestCookie,
}

impl Persistence {
    /// Reads (and edits) the request's `Cookie` fields. `usable(i)` tells whether server
    /// `i` is not DOWN/MAINT (DRAIN counts as usable); `now` dates the maxidle/maxlife checks.
    pub fn on_request(
        &self,
        headers: &mut HeaderList,
        method: &[u8],
        usable: &dyn Fn(usize) -> bool,
        rules: PersistRules,
        now: SystemTime,
    ) -> RequestCookie {
        let mut scan = Scan {
            px: self,
            usable,
            rules,
            now: unix_secs(now),
            out: RequestCookie {
                server: None,
                seen: CookieSeen::None,
                direct: false,
                first_date: 0,
                last_date: 0,
                ignore: rules.ignore,
                post: method == b"POST",
                safe_method: matches!(method, b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE"),
            },
        };
        let mut i = 0;
        while let Some((name, value)) = headers.at(i) {
            if !name.eq_ignore_ascii_case(b"cookie") {
                i += 1;
                continue;
            }
            let original = value.to_vec();
            let edited = scan.field(original.clone());
            if edited.is_empty() && !original.is_empty() {
                headers.remove_at(i);
                continue;
            }
            if edited != original {
                headers.set_value_at(i, &edited);
            }
            i += 1;
        }
        scan.out
    }
}

/// Removes the value at `from..next` (`from` is 0 or the delimiter before it), keeping
/// one delimiter and, room permitting, one space; returns the shift of what follows.
fn delete_value(v: &mut Vec<u8>, from: usize, next: usize) -> isize {
    let (mut to, mut next) = (from, next);
    let end = v.len();
    if from == 0 {
        if next < end {
            next += 1;
        }
        while next < end && is_sp(v[next]) {
            next += 1;
        }
    } else {
        while to > 0 && is_sp(v[to - 1]) {
            to -= 1;
        }
        if next < end {
            v[to] = v[next];
            to += 1;
            next += 1;
            if to + 1 < next {
                v[to] = b' ';
                to += 1;
            }
            while next < end && is_sp(v[next]) {
                next += 1;
            }
        }
    }
    v.drain(to..next);
    to as isize - next as isize
}

fn shift(x: usize, by: isize) -> usize {
    x.saturating_add_signed(by)
}

impl Scan<'_> {
    /// One `Cookie` field's new value (empty: the field goes away).
    fn field(&mut self, mut v: Vec<u8>) -> Vec<u8> {
        let mut del_from: Option<usize> = None;
        let mut preserve = false;
        let mut prev = 0;
        let mut first = true;
        while prev < v.len() {
            let start = if first { prev } else { prev + 1 };
            first = false;
            let mut c = Crumb::scan(&v, start, b"=,;");
            if v.get(c.att_beg) == Some(&b'$') {
                // RFC 2109 attributes follow their cookie's fate.
                prev = c.next;
                continue;
            }
            let has_value = c.equal != c.next;
            if has_value {
                c.squeeze(&mut v);
            }
            if has_value && c.name(&v) == self.px.name.as_slice() {
                let keep = self.ours(&mut v, &mut c);
                if keep {
                    del_from = None;
                    preserve = true;
                } else if del_from.is_none() && self.px.inserts() && self.px.indirect {
                    del_from = Some(prev);
                }
            } else {
                // Someone else's cookie: it stays, and a pending removal happens now.
                preserve = true;
                if let Some(from) = del_from.take() {
                    let by = delete_value(&mut v, from, prev);
                    c.next = shift(c.next, by);
                }
            }
            prev = c.next;
        }
        let end = match del_from {
            Some(from) if preserve => from,
            Some(_) => 0,
            None => v.len(),
        };
        v.truncate(end);
        v
    }

    /// Our cookie at `c`: picks the server; true when the cookie must stay in the field
    /// because its `SRV~` prefix was stripped.
    fn ours(&mut self, v: &mut Vec<u8>, c: &mut Crumb) -> bool {
        let px = self.px;
        let value = &v[c.val_beg..c.val_end];
        let mut delim = c.val_end;
        if px.method == CookieMethod::Prefix {
            if let Some(p) = value.iter().position(|&b| b == b'~') {
                delim = c.val_beg + p;
            }
        } else if let Some(p) = value.iter().position(|&b| b == b'|') {
            delim = c.val_beg + p;
            self.read_dates(&v[delim + 1..c.val_end]);
        }
        if self.expired() {
            delim = c.val_beg;
        }
        let mut found = None;
        if delim != c.val_beg && !self.rules.ignore && !self.rules.assigned {
            let wanted = &v[c.val_beg..delim];
            for (i, ck) in px.cookies.iter().enumerate() {
                if ck.as_deref() != Some(wanted) {
                    continue;
                }
                let up = (self.usable)(i);
                if up || px.persist || self.rules.force {
                    self.out.seen = if up {
                        CookieSeen::Valid
                    } else {
                        CookieSeen::Down
                    };
                    found = Some(i);
                    break;
                }
                self.out.seen = CookieSeen::Down;
            }
        }
        if let Some(i) = found {
            self.out.server = Some(i);
            self.out.direct = true;
            self.rules.assigned = true;
        } else if self.out.seen == CookieSeen::None {
            self.out.seen = if self.rules.ignore || self.rules.assigned {
                CookieSeen::Unused
            } else {
                CookieSeen::Invalid
            };
        }
        if px.method == CookieMethod::Prefix && delim != c.val_end {
            let cut = delim + 1 - c.val_beg;
            v.drain(c.val_beg..=delim);
            c.val_end -= cut;
            c.next -= cut;
            return true;
        }
        false
    }

    /// `last[|first]` after the server part: 5 base64 characters each, UNIX time / 4.
    fn read_dates(&mut self, dates: &[u8]) {
        if dates.len() >= 5 {
            if let Some(d) = decode_date(dates).filter(|&d| d > 0) {
                self.out.last_date = d << 2;
            }
        }
        if let Some(p) = dates.iter().position(|&b| b == b'|') {
            let first = &dates[p + 1..];
            if let Some(d) = decode_date(first).filter(|&d| d > 0) {
                self.out.first_date = d << 2;
            }
        }
    }

    /// Applies maxlife then maxidle; dates over a day in the future count as expired too.
    fn expired(&mut self) -> bool {
        let (px, now) = (self.px, self.now);
        let too_far = |date: u32, max: u32| {
            (now.wrapping_sub(date) as i32) > max as i32 || (date.wrapping_sub(now) as i32) > 86400
        };
        let verdict = if self.out.first_date != 0 && px.maxlife != 0 {
            too_far(self.out.first_date, px.maxlife).then_some(CookieSeen::Old)
        } else {
            None
        };
        let verdict = verdict.or_else(|| {
            (self.out.last_date != 0 && px.maxidle != 0 && too_far(self.out.last_date, px.maxidle))
                .then_some(CookieSeen::Expired)
        });
        match verdict {
            Some(seen) => {
                self.out.seen = seen;
                self.out.first_date = 0;
                self.out.last_date = 0;
                true
            }
            None => false,
        }
    }
}
