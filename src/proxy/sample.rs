//! Sample fetches and converters, sans-IO: what `%[fetch,conv,…]` gives
//! in a `log-format` line or an `http-request`/`http-response` header
//! value, and the values ACLs compare (`acl`). Fetches: `src`,
//! `src_port`, `dst`, `dst_port`, `req.hdr`/`hdr`, `req.fhdr`, `path`,
//! `url`, `query`, `method`, `base`, `req.ver`, `req.cook`/`cook`,
//! `res.hdr`/`shdr`, `status`, `ssl_fc`, `hostname`, `capture.req.hdr`,
//! `capture.res.hdr`; converters: `lower`, `upper`, `base64`, `hex`,
//! `field(n,sep[,count])`, `ipmask(mask)`. A fetch that has nothing to
//! give (a header that is absent, `src` of a unix client) gives no sample:
//! the caller shows `-` in a log line and nothing in a header value.
//! Unknown names are refused when the configuration is read.

use super::http1::{HeaderList, RequestHead};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

/// Where a client connection comes from and goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Addrs {
    /// The client's address (`None` for a unix-socket client).
    pub src: Option<SocketAddr>,
    /// The address the client connected to.
    pub dst: Option<SocketAddr>,
    /// A unix-socket client: the listener's number.
    pub unix: Option<u32>,
}

impl<'a> Ctx<'a> {
    /// A context knowing only the connection's addresses.
    pub fn addressed(addrs: &Addrs) -> Ctx<'a> {
        Ctx {
            src: addrs.src,
            dst: addrs.dst,
            unix: addrs.unix,
            ..Ctx::default()
        }
    }

    /// A context knowing the connection's addresses and the request.
    pub fn of(addrs: &Addrs, request: &'a RequestHead) -> Ctx<'a> {
        Ctx {
            request: Some(request),
            ..Ctx::addressed(addrs)
        }
    }
}

/// What fetches read. Parts that do not exist where the expression runs
/// (no response yet, no head at log time) are `None`.
#[derive(Clone, Copy, Default)]
pub struct Ctx<'a> {
    /// The client's address (`None` for a unix-socket client).
    pub src: Option<SocketAddr>,
    /// The address the client connected to.
    pub dst: Option<SocketAddr>,
    pub request: Option<&'a RequestHead>,
    /// The request's method when the head is gone (log time).
    pub method: Option<&'a [u8]>,
    pub response: Option<&'a HeaderList>,
    /// The status sent to the client.
    pub status: Option<u16>,
    /// `capture request|response header` slots (log time).
    pub captures: [Option<&'a [Option<Vec<u8>>]>; 2],
    /// A unix-socket client: the listener's number (`%ci:%cp` = `unix:N`).
    pub unix: Option<u32>,
}

/// One sample, typed as haproxy types it (converters see the type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Ip(IpAddr),
    Int(i64),
    Bool(bool),
    Str(Vec<u8>),
}

impl Value {
    /// The text form (what a header value or a log line shows).
    pub fn text(&self) -> Vec<u8> {
        match self {
            Value::Ip(ip) => ip.to_string().into_bytes(),
            Value::Int(n) => n.to_string().into_bytes(),
            Value::Bool(b) => if *b { b"1" } else { b"0" }.to_vec(),
            Value::Str(s) => s.clone(),
        }
    }

    /// The binary form `hex` and `base64` encode (an address's octets).
    fn binary(self) -> Vec<u8> {
        match self {
            Value::Ip(IpAddr::V4(a)) => a.octets().to_vec(),
            Value::Ip(IpAddr::V6(a)) => a.octets().to_vec(),
            other => other.text(),
        }
    }
}

/// The machine's name (`hostname`), read once.
pub fn hostname() -> &'static str {
    static NAME: LazyLock<String> = LazyLock::new(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    });
    &NAME
}

/// `name(a,b)` → (`name`, [`a`, `b`]).
fn call(stage: &str) -> (&str, Vec<&str>) {
    let stage = stage.trim();
    match stage.split_once('(') {
        Some((name, rest)) => {
            let inner = rest.strip_suffix(')').unwrap_or(rest);
            (name, inner.split(',').map(str::trim).collect())
        }
        None => (stage, Vec::new()),
    }
}

/// Evaluates a whole expression; None when it gives no sample.
pub fn eval(expr: &str, ctx: &Ctx<'_>) -> Option<Value> {
    let mut stages = crate::conf::haproxy::sample::stages(expr).into_iter();
    let (name, args) = call(stages.next()?);
    let mut v = fetch(name, &args, ctx)?;
    for stage in stages {
        let (conv, args) = call(stage);
        v = convert(conv, &args, v)?;
    }
    Some(v)
}

/// An expression's text, empty when it gives no sample.
pub fn text(expr: &str, ctx: &Ctx<'_>) -> Option<Vec<u8>> {
    eval(expr, ctx).map(|v| v.text())
}

/// The `occ` argument of header fetches: 1-based from the first, negative
/// from the last; absent: the last.
fn occurrence<T>(mut all: Vec<T>, occ: Option<&&str>) -> Option<T> {
    let n: i64 = occ.and_then(|o| o.parse().ok()).unwrap_or(-1);
    let len = i64::try_from(all.len()).ok()?;
    let i = if n > 0 { n - 1 } else { len + n };
    if n == 0 || i < 0 || i >= len {
        return None;
    }
    Some(all.swap_remove(usize::try_from(i).ok()?))
}

/// One fetch with its arguments, as a sample fetch gives it (one value).
fn fetch(name: &str, args: &[&str], ctx: &Ctx<'_>) -> Option<Value> {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    Some(match name {
        "src" => Value::Ip(unmapped(ctx.src?.ip())),
        "dst" => Value::Ip(unmapped(ctx.dst?.ip())),
        "src_port" => Value::Int(i64::from(ctx.src?.port())),
        "dst_port" => Value::Int(i64::from(ctx.dst?.port())),
        "ssl_fc" => Value::Bool(false),
        "hostname" => Value::Str(hostname().as_bytes().to_vec()),
        "status" => Value::Int(i64::from(ctx.status.filter(|s| *s > 0)?)),
        "method" => Value::Str(
            ctx.request
                .map(RequestHead::method)
                .or(ctx.method)?
                .to_vec(),
        ),
        "req.hdr" | "hdr" | "req.fhdr" => {
            let all = values(name, args, ctx)?;
            Value::Str(occurrence(all, args.get(1))?)
        }
        "res.hdr" | "shdr" | "res.fhdr" => {
            let all = header_values(ctx.response?, arg(0), name != "res.fhdr");
            Value::Str(occurrence(all, args.get(1))?)
        }
        "capture.req.hdr" | "capture.res.hdr" => {
            let slots = ctx.captures[usize::from(name == "capture.res.hdr")]?;
            let i: usize = arg(0).parse().ok()?;
            Value::Str(slots.get(i)?.clone()?)
        }
        // The last cookie of that name, as 2.6 answers outside ACLs.
        "req.cook" | "cook" => Value::Str(values(name, args, ctx)?.pop()?),
        _ => Value::Str(values(name, args, ctx)?.pop()?),
    })
}

/// An IPv4-mapped IPv6 address as the IPv4 one (haproxy's view of a
/// dual-stack socket's client).
pub fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every value of a header: split on commas (`hdr`) or whole lines (`fhdr`).
fn header_values(headers: &HeaderList, name: &str, split: bool) -> Vec<Vec<u8>> {
    let lines = headers.all(name);
    if split {
        lines
            .flat_map(|v| v.split(|&b| b == b','))
            .map(|v| v.trim_ascii().to_vec())
            .collect()
    } else {
        lines.map(|v| v.trim_ascii().to_vec()).collect()
    }
}

/// All the values a request fetch gives, as ACLs match them (None: the
/// fetch is unknown here or has nothing to read).
pub fn values(name: &str, args: &[&str], ctx: &Ctx<'_>) -> Option<Vec<Vec<u8>>> {
    let arg = args.first().copied().unwrap_or("");
    if matches!(name, "src" | "dst" | "src_port" | "dst_port" | "status") {
        return Some(vec![fetch(name, args, ctx)?.text()]);
    }
    let h = ctx.request?;
    let uri = h.uri();
    Some(match name {
        "path" => vec![path(uri).to_vec()],
        "url" => vec![uri.to_vec()],
        "query" => {
            let q = uri.iter().position(|&b| b == b'?')?;
            vec![uri[q + 1..].to_vec()]
        }
        "base" => {
            let mut v = h.headers().get("host").unwrap_or(b"").to_vec();
            v.extend_from_slice(path(uri));
            vec![v]
        }
        "method" => vec![h.method().to_vec()],
        "req.ver" => vec![format!("{}.{}", h.version.major, h.version.minor).into_bytes()],
        "hdr" | "req.hdr" => header_values(h.headers(), arg, true),
        "req.fhdr" => header_values(h.headers(), arg, false),
        "req.cook" | "cook" => h
            .headers()
            .all("cookie")
            .flat_map(crumbs)
            .filter(|(n, _)| *n == arg.as_bytes())
            .map(|(_, v)| v.to_vec())
            .collect(),
        _ => return None,
    })
}

/// A request target's path: an absolute URI's starts after the authority.
fn path(uri: &[u8]) -> &[u8] {
    let rest = match uri.windows(3).position(|w| w == b"://") {
        Some(i) => {
            let after = &uri[i + 3..];
            after
                .iter()
                .position(|&b| b == b'/')
                .map_or(&b"/"[..], |j| &after[j..])
        }
        None => uri,
    };
    let end = rest.iter().position(|&b| b == b'?').unwrap_or(rest.len());
    &rest[..end]
}

/// The `name=value` pairs of a `Cookie` field: split on `;` and `,`
/// outside double quotes, blanks around them dropped; a pair without `=`
/// has no value (None is skipped).
pub fn crumbs(field: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, &c) in field.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b';' | b',' if !quoted => {
                parts.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&field[start..]);
    parts.into_iter().filter_map(|p| {
        let p = p.trim_ascii();
        let eq = p.iter().position(|&b| b == b'=')?;
        Some((p[..eq].trim_ascii(), p[eq + 1..].trim_ascii()))
    })
}

/// One converter over a sample (None: unknown, or no result).
fn convert(name: &str, args: &[&str], v: Value) -> Option<Value> {
    let arg = |i: usize| args.get(i).copied().unwrap_or("");
    Some(match name {
        "lower" => Value::Str(v.text().to_ascii_lowercase()),
        "upper" => Value::Str(v.text().to_ascii_uppercase()),
        "hex" => Value::Str(
            v.binary()
                .iter()
                .flat_map(|b| format!("{b:02X}").into_bytes())
                .collect(),
        ),
        "base64" => Value::Str(base64(&v.binary())),
        "field" => {
            let n: i64 = arg(0).parse().ok()?;
            let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(1);
            Value::Str(field(&v.text(), n, arg(1).as_bytes(), count.max(1))?)
        }
        "ipmask" => {
            let Value::Ip(IpAddr::V4(a)) = v else {
                return None;
            };
            let mask = match arg(0).parse::<u32>() {
                Ok(len) if len <= 32 => u32::MAX.checked_shl(32 - len).unwrap_or(0),
                _ => u32::from(arg(0).parse::<std::net::Ipv4Addr>().ok()?),
            };
            Value::Ip(IpAddr::V4((u32::from(a) & mask).into()))
        }
        // `map*(file[,default])`: no match gives the default, else nothing.
        m if m.starts_with("map") => {
            let found = super::maps::get(arg(0))
                .lookup(m, &v.text())
                .map(std::borrow::Cow::into_owned);
            Value::Str(found.or_else(|| args.get(1).map(|d| d.as_bytes().to_vec()))?)
        }
        _ => return None,
    })
}

/// `field(n,seps[,count])`: fields 1-based from the start, negative from
/// the end, any byte of `seps` separating them.
fn field(text: &[u8], n: i64, seps: &[u8], count: usize) -> Option<Vec<u8>> {
    let parts: Vec<&[u8]> = text.split(|b| seps.contains(b)).collect();
    let len = i64::try_from(parts.len()).ok()?;
    let first = if n > 0 {
        n - 1
    } else {
        len + n + 1 - i64::try_from(count).ok()?
    };
    if n == 0 || first >= len {
        return Some(Vec::new());
    }
    let first = usize::try_from(first.max(0)).ok()?;
    let end = (first + count).min(parts.len());
    let sep = seps.first().map(|s| vec![*s]).unwrap_or_default();
    Some(parts[first..end].join(&sep[..]))
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// Expands a header value or redirect target as haproxy 2.6 does: `%[expr]`
/// gives its sample (nothing when there is none), `%%` a `%`, everything
/// else stays as written (spaces included). Of the other `%x` log
/// variables, the addresses (`%ci %cp %fi %fp`) and `%H` are known here;
/// the rest give nothing.
pub fn expand<'v>(value: &'v str, ctx: &Ctx<'_>) -> Cow<'v, [u8]> {
    if !value.contains('%') {
        return Cow::Borrowed(value.as_bytes());
    }
    let mut out = Vec::with_capacity(value.len() + 16);
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let after = &rest[i + 1..];
        // `%{…}` options mean nothing in a header value.
        let after = match after.strip_prefix('{') {
            Some(a) => a.split_once('}').map_or("", |(_, r)| r),
            None => after,
        };
        if let Some(r) = after.strip_prefix('%') {
            out.push(b'%');
            rest = r;
        } else if let Some(r) = after.strip_prefix('[') {
            let end = closing(r).unwrap_or(r.len());
            if let Some(v) = text(&r[..end], ctx) {
                out.extend_from_slice(&v);
            }
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let len = after
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(after.len());
            if let Some(v) = variable(&after[..len], ctx) {
                out.extend_from_slice(&v);
            }
            rest = &after[len..];
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Cow::Owned(out)
}

/// The log variables a header value may use that a rule knows.
fn variable(name: &str, ctx: &Ctx<'_>) -> Option<Vec<u8>> {
    let (addr, port) = match name {
        "ci" => (ctx.src, false),
        "cp" => (ctx.src, true),
        "fi" => (ctx.dst, false),
        "fp" => (ctx.dst, true),
        "H" => return Some(hostname().as_bytes().to_vec()),
        _ => return None,
    };
    let text = match (addr, ctx.unix) {
        (Some(a), _) if port => a.port().to_string(),
        (Some(a), _) => unmapped(a.ip()).to_string(),
        (None, Some(id)) if port => id.to_string(),
        (None, Some(_)) => "unix".to_string(),
        (None, None) => return None,
    };
    Some(text.into_bytes())
}

/// Where the `]` closing a `%[` is (nested brackets allowed).
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return Some(i),
            ']' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> RequestHead {
        RequestHead::complete(raw)
    }

    fn at(s: &str) -> Option<SocketAddr> {
        Some(s.parse().expect("address"))
    }

    // Expected texts are haproxy 2.6.12's header values for the same
    // request (observed through an echoing server).
    #[test]
    fn header_values_expand_as_haproxy() {
        let h = head(
            "GET /p/a?q=1&r HTTP/1.1\r\nHost: WwW.Ex\r\nCookie: a=1; SESS=0123456789abc; SESS=zz\r\nX-F: a:b:c\r\nX-M: a, b\r\nX-M: c\r\n\r\n",
        );
        let ctx = Ctx {
            src: at("127.0.0.1:58222"),
            dst: at("127.0.0.1:18400"),
            request: Some(&h),
            ..Ctx::default()
        };
        let x = |v: &str| String::from_utf8(expand(v, &ctx).into_owned()).expect("utf-8");
        assert_eq!(
            x(
                "%[src_port] %[dst]:%[dst_port] %[path] %[url] %[query] %[method] %[base] %[req.cook(SESS)] %[ssl_fc]"
            ),
            "58222 127.0.0.1:18400 /p/a /p/a?q=1&r q=1&r GET WwW.Ex/p/a zz 0"
        );
        assert_eq!(
            x(
                "%[req.hdr(host),upper] %[req.hdr(host),base64] %[req.hdr(host),hex] %[req.hdr(x-f),field(2,:)] %[req.hdr(x-none)]"
            ),
            "WWW.EX V3dXLkV4 5777572E4578 b "
        );
        assert_eq!(
            x(
                "%[req.hdr(x-m)] %[req.hdr(x-m,1)] %[req.hdr(x-m,-1)] %[hdr(x-m,2)] %[req.hdr(x-m,9)]"
            ),
            "c a c b "
        );
        assert_eq!(x("  a   b  %[src]  c "), "  a   b  127.0.0.1  c ");
        assert_eq!(
            x("%ci:%cp 100%% %[req.hdr(x-none)]|%[src]"),
            "127.0.0.1:58222 100% |127.0.0.1"
        );
        assert_eq!(
            x("%{+Q}[src] %[src,ipmask(24)] %[src,hex] %[req.hdr(host),lower]"),
            "127.0.0.1 127.0.0.0 7F000001 www.ex"
        );
        let unix = Ctx {
            unix: Some(2),
            request: Some(&h),
            ..Ctx::default()
        };
        assert_eq!(
            &*expand("%ci:%cp [%[src]] %[dst_port]", &unix),
            b"unix:2 [] "
        );
    }

    #[test]
    fn log_time_fetches_and_converters() {
        let caps = vec![Some(b"127.0.0.1:".to_vec()), None];
        let ctx = Ctx {
            src: at("[::ffff:198.51.100.10]:4000"),
            method: Some(b"POST"),
            status: Some(200),
            captures: [Some(&caps), None],
            ..Ctx::default()
        };
        let t = |e: &str| text(e, &ctx).map(|v| String::from_utf8(v).expect("utf-8"));
        assert_eq!(t("src").as_deref(), Some("198.51.100.10"));
        assert_eq!(t("status").as_deref(), Some("200"));
        assert_eq!(t("method,lower").as_deref(), Some("post"));
        assert_eq!(t("capture.req.hdr(0)").as_deref(), Some("127.0.0.1:"));
        assert_eq!(t("capture.req.hdr(1)"), None);
        assert_eq!(t("req.hdr(host)"), None);
        assert_eq!(t("dst"), None);
        assert_eq!(t("src,nosuch"), None);
        assert_eq!(field(b"a:b:c", -1, b":", 1).as_deref(), Some(&b"c"[..]));
        assert_eq!(field(b"a:b:c", 2, b":", 2).as_deref(), Some(&b"b:c"[..]));
        assert_eq!(base64(b"ab"), b"YWI=");
        let pairs: Vec<_> = crumbs(b"a=1, SESS=\"x;y\" ;b ; c= 3").collect();
        assert_eq!(
            pairs,
            [(&b"a"[..], &b"1"[..]), (b"SESS", b"\"x;y\""), (b"c", b"3")]
        );
    }
}
