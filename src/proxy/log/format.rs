//! `log-format` strings: compiled once into nodes, rendered per [`Entry`] with haproxy
//! 2.6's rules (runs of spaces are one separator, written only after something was
//! written; `-` or `""` for a missing value; `#XX` escapes in request lines and headers).

use super::{Entry, Timers};
use crate::daemon::{MONTHS, civil_from_days};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Why a `log-format` string was rejected (haproxy refuses the config).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogFormatError {
    /// `%name` that haproxy does not know.
    #[error(
        "no such format variable '{0}'. If you wanted to emit the '%' character verbatim, you need to use '%%'"
    )]
    UnknownVariable(String),
    /// `%{` without `}` or `%[` without `]`.
    #[error("missing closing '{0}' in log-format")]
    Unclosed(char),
    /// `%` followed by something that is no variable.
    #[error("unexpected character '{0}' after '%' in log-format")]
    Unexpected(char),
}

/// A compiled `log-format` string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFormat {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Separator,
    Var(Var, Opts),
    /// `%[expr]`: its value comes from `Entry::samples`.
    Sample(String, Opts),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Opts {
    quote: bool,
    hex: bool,
}

macro_rules! vars {
    ($($name:literal => $var:ident),* $(,)?) => {
        /// The `%` variables haproxy 2.6 knows (those we can render).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Var { $($var),* }
        const VARS: &[(&str, Var)] = &[$(($name, Var::$var)),*];
    };
}

vars! {
    "o" => GlobalOpts, "ci" => ClientIp, "cp" => ClientPort, "fi" => FrontIp,
    "fp" => FrontPort, "bi" => BackIp, "bp" => BackPort, "si" => ServerIp,
    "sp" => ServerPort, "t" => Date, "tr" => ReqDate, "T" => DateGmt, "trg" => ReqDateGmt,
    "Tl" => DateLocal, "trl" => ReqDateLocal, "Ts" => Seconds, "ms" => Millis,
    "f" => Frontend, "ft" => FrontendXprt, "b" => Backend, "s" => Server,
    "Th" => Th, "Ti" => Ti, "TR" => TR, "Tq" => Tq, "Tw" => Tw, "Tc" => Tc, "Tr" => Tr,
    "Td" => Td, "Ta" => Ta, "Tt" => Tt, "Tu" => Tu, "ST" => Status, "B" => BytesOut,
    "U" => BytesIn, "CC" => ReqCookie, "CS" => RespCookie, "ts" => TermShort,
    "tsc" => TermLong, "ac" => ActConn, "fc" => FeConn, "bc" => BeConn, "sc" => SrvConn,
    "rc" => Retries, "sq" => SrvQueue, "bq" => BackQueue, "hr" => ReqHdrs,
    "hrl" => ReqHdrList, "hs" => RespHdrs, "hsl" => RespHdrList, "r" => Request,
    "HM" => Method, "HU" => Uri, "HP" => Path, "HQ" => Query, "HV" => Version,
    "rt" => RequestId, "lc" => LogCount, "H" => Hostname, "pid" => Pid, "ID" => UniqueId,
    "sslc" => SslCipher, "sslv" => SslVersion,
}

impl LogFormat {
    /// Compiles a `log-format` string (after the config tokenizer removed quotes and
    /// backslashes).
    pub fn parse(text: &str) -> Result<LogFormat, LogFormatError> {
        let mut nodes = Vec::new();
        let mut global = Opts::default();
        let mut chars = text.char_indices().peekable();
        let mut literal = String::new();
        let flush = |literal: &mut String, nodes: &mut Vec<Node>| {
            if !literal.is_empty() {
                nodes.push(Node::Text(std::mem::take(literal)));
            }
        };
        while let Some((_, c)) = chars.next() {
            match c {
                ' ' => {
                    flush(&mut literal, &mut nodes);
                    if nodes.last() != Some(&Node::Separator) {
                        nodes.push(Node::Separator);
                    }
                }
                '%' => {
                    let mut opts = global;
                    if chars.peek().map(|(_, c)| *c) == Some('%') {
                        chars.next();
                        literal.push('%');
                        continue;
                    }
                    if chars.peek().map(|(_, c)| *c) == Some('{') {
                        chars.next();
                        let mut arg = String::new();
                        loop {
                            match chars.next() {
                                Some((_, '}')) => break,
                                Some((_, c)) => arg.push(c),
                                None => return Err(LogFormatError::Unclosed('}')),
                            }
                        }
                        apply_options(&mut opts, &arg);
                    }
                    flush(&mut literal, &mut nodes);
                    match chars.peek().map(|(_, c)| *c) {
                        Some('[') => {
                            chars.next();
                            nodes.push(Node::Sample(sample_expr(&mut chars)?, opts));
                        }
                        Some(c) if c.is_ascii_alphabetic() => {
                            let mut name = String::new();
                            while let Some((_, c)) = chars.peek().copied() {
                                if !c.is_ascii_alphabetic() {
                                    break;
                                }
                                name.push(c);
                                chars.next();
                            }
                            let var = VARS
                                .iter()
                                .find(|(n, _)| *n == name)
                                .map(|(_, v)| *v)
                                .ok_or(LogFormatError::UnknownVariable(name))?;
                            if var == Var::GlobalOpts {
                                global = opts;
                            } else {
                                nodes.push(Node::Var(var, opts));
                            }
                        }
                        Some(c) => return Err(LogFormatError::Unexpected(c)),
                        None => return Err(LogFormatError::Unexpected('\0')),
                    }
                }
                c => literal.push(c),
            }
        }
        flush(&mut literal, &mut nodes);
        Ok(LogFormat { nodes })
    }

    /// The `%[…]` expressions of the format, for the runtime to evaluate
    /// into `Entry::samples`.
    pub fn expressions(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Sample(x, _) => Some(x.as_str()),
            _ => None,
        })
    }

    /// The line for one stream.
    pub fn render(&self, e: &Entry) -> String {
        let mut out = String::new();
        // A separator is written only after something else: leading and repeated
        // spaces around empty variables (`%hr` without captures) vanish.
        let mut last_space = true;
        for node in &self.nodes {
            let before = out.len();
            match node {
                Node::Separator => {
                    if !last_space {
                        out.push(' ');
                        last_space = true;
                    }
                    continue;
                }
                Node::Text(t) => out.push_str(t),
                Node::Sample(expr, o) => {
                    text(&mut out, e.samples.get(expr).map(String::as_str), *o)
                }
                Node::Var(v, o) => render_var(&mut out, *v, *o, e),
            }
            if out.len() > before || matches!(node, Node::Text(_)) {
                last_space = false;
            }
        }
        out
    }
}

/// `+Q`, `-Q`, `+X`, `-X`, comma-separated; others (`E`) are accepted and ignored.
fn apply_options(opts: &mut Opts, arg: &str) {
    for o in arg.split(',') {
        match o {
            "+Q" => opts.quote = true,
            "-Q" => opts.quote = false,
            "+X" => opts.hex = true,
            "-X" => opts.hex = false,
            _ => {}
        }
    }
}

/// The text of `%[...]` up to its matching `]`.
fn sample_expr(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<String, LogFormatError> {
    let mut depth = 0usize;
    let mut expr = String::new();
    for (_, c) in chars.by_ref() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return Ok(expr),
            ']' => depth -= 1,
            _ => {}
        }
        expr.push(c);
    }
    Err(LogFormatError::Unclosed(']'))
}

/// A text value: quoted with `+Q`, `-` (or `""`) when missing or empty.
fn text(out: &mut String, value: Option<&str>, o: Opts) {
    match (value.filter(|v| !v.is_empty()), o.quote) {
        (Some(v), true) => {
            let _ = write!(out, "\"{v}\"");
        }
        (Some(v), false) => out.push_str(v),
        (None, true) => out.push_str("\"\""),
        (None, false) => out.push('-'),
    }
}

fn number(out: &mut String, n: i64) {
    let _ = write!(out, "{n}");
}

/// `%Ts`, `%rt`… : decimal, or `%04X` with `+X`.
fn counter(out: &mut String, n: u64, o: Opts) {
    let _ = if o.hex {
        write!(out, "{n:04X}")
    } else {
        write!(out, "{n}")
    };
}

/// Which characters haproxy writes as `#XX`: controls, DEL and above, `"` and `#`;
/// in captured headers also `{`, `|` and `}`.
fn escape(out: &mut String, bytes: &[u8], header: bool) {
    for &b in bytes {
        let special = !(32..127).contains(&b) || b == b'"' || b == b'#';
        if special || (header && matches!(b, b'{' | b'|' | b'}')) {
            let _ = write!(out, "#{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
}

/// The request-line pieces `%HM %HU %HP %HQ %HV` look at, split on spaces and tabs.
fn request_part(line: Option<&[u8]>, var: Var) -> Vec<u8> {
    const BAD: &[u8] = b"<BADREQ>";
    let Some(line) = line else {
        return BAD.to_vec();
    };
    let sp = |b: &u8| *b == b' ' || *b == b'\t';
    let method_end = line.iter().position(sp).unwrap_or(line.len());
    let uri_start = line[method_end..]
        .iter()
        .position(|b| !sp(b))
        .map_or(line.len(), |p| method_end + p);
    let has_space = uri_start > method_end;
    let uri_end = line[uri_start..]
        .iter()
        .position(sp)
        .map_or(line.len(), |p| uri_start + p);
    let uri = &line[uri_start..uri_end];
    match var {
        Var::Method if method_end == line.len() => BAD.to_vec(),
        Var::Method => line[..method_end].to_vec(),
        Var::Query => {
            let q = line.iter().position(|b| *b == b'?').unwrap_or(line.len());
            let end = line[q..].iter().position(sp).map_or(line.len(), |p| q + p);
            line[q..end].to_vec()
        }
        _ if !has_space => BAD.to_vec(),
        Var::Path => uri[..uri.iter().position(|b| *b == b'?').unwrap_or(uri.len())].to_vec(),
        Var::Version => {
            let v = line[uri_end..]
                .iter()
                .position(|b| !sp(b))
                .map_or(line.len(), |p| uri_end + p);
            if v == line.len() {
                b"HTTP/0.9".to_vec()
            } else {
                line[v..].to_vec()
            }
        }
        _ => uri.to_vec(),
    }
}

/// `%hr`/`%hs`: `{a|b}`; `%hrl`/`%hsl`: `a b` (`-` for an empty slot). Nothing at all
/// when no capture exists for this stream.
fn captures(out: &mut String, caps: Option<&Vec<Option<Vec<u8>>>>, list: bool, o: Opts) {
    let Some(caps) = caps.filter(|c| !c.is_empty()) else {
        return;
    };
    if list {
        for (i, c) in caps.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if o.quote {
                out.push('"');
            }
            match c {
                Some(v) => escape(out, v, true),
                None if !o.quote => out.push('-'),
                None => {}
            }
            if o.quote {
                out.push('"');
            }
        }
        return;
    }
    if o.quote {
        out.push('"');
    }
    out.push('{');
    for (i, c) in caps.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        if let Some(v) = c {
            escape(out, v, true);
        }
    }
    out.push('}');
    if o.quote {
        out.push('"');
    }
}

/// `dd/Mon/yyyy:HH:MM:SS.mmm` (`with_ms`) or `dd/Mon/yyyy:HH:MM:SS +0000`.
fn date(out: &mut String, epoch_ms: u64, with_ms: bool) {
    let secs = epoch_ms / 1000;
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let mon = MONTHS[usize::try_from(m - 1).unwrap_or(0)];
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{d:02}/{mon}/{y}:{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let _ = if with_ms {
        write!(out, ".{:03}", epoch_ms % 1000)
    } else {
        write!(out, " +0000")
    };
}

/// `%ci`, `%fi`…: the address, or `unix` for a unix-socket stream.
fn ip(out: &mut String, a: Option<SocketAddr>, unix: Option<u32>, o: Opts) {
    let shown = a.map(|a| a.ip().to_string());
    text(out, shown.as_deref().or(unix.map(|_| "unix")), o);
}

/// `%cp`, `%fp`…: the port, or the listener's number for a unix socket.
fn port(out: &mut String, a: Option<SocketAddr>, unix: Option<u32>, o: Opts) {
    match (a, unix) {
        (Some(a), _) => counter(out, u64::from(a.port()), o),
        (None, Some(id)) => counter(out, u64::from(id), o),
        (None, None) => text(out, None, o),
    }
}

/// `%B`, `%Ta`, `%Tt`, `%Tu` get a `+` when logged as soon as possible.
fn asap(out: &mut String, e: &Entry, n: i64) {
    if e.logasap {
        out.push('+');
    }
    number(out, n);
}

fn render_var(out: &mut String, v: Var, o: Opts, e: &Entry) {
    let t: &Timers = &e.timers;
    let req_ms = e.accept_ms + u64::try_from(t.before_request()).unwrap_or(0);
    match v {
        Var::GlobalOpts => {}
        Var::ClientIp => ip(out, e.client, e.unix, o),
        Var::ClientPort => port(out, e.client, e.unix, o),
        Var::FrontIp => ip(out, e.frontend_addr, e.unix, o),
        Var::FrontPort => port(out, e.frontend_addr, e.unix, o),
        Var::BackIp => ip(out, e.backend_src, None, o),
        Var::BackPort => port(out, e.backend_src, None, o),
        Var::ServerIp => ip(out, e.server_addr, None, o),
        Var::ServerPort => port(out, e.server_addr, None, o),
        Var::Date => date(out, e.accept_ms, true),
        Var::ReqDate => date(out, req_ms, true),
        Var::DateGmt | Var::DateLocal => date(out, e.accept_ms, false),
        Var::ReqDateGmt | Var::ReqDateLocal => date(out, req_ms, false),
        Var::Seconds => counter(out, e.accept_ms / 1000, o),
        Var::Millis if o.hex => {
            let _ = write!(out, "{:02X}", e.accept_ms % 1000);
        }
        Var::Millis => {
            let _ = write!(out, "{:03}", e.accept_ms % 1000);
        }
        Var::Frontend => text(out, Some(&e.frontend), o),
        Var::FrontendXprt => {
            let tilde = if e.frontend_ssl { "~" } else { "" };
            let q = if o.quote { "\"" } else { "" };
            let _ = write!(out, "{q}{}{tilde}{q}", e.frontend);
        }
        Var::Backend => text(out, Some(&e.backend), o),
        Var::Server => text(out, Some(e.server.as_deref().unwrap_or("<NOSRV>")), o),
        Var::Th => number(out, super::ms(Some(t.handshake))),
        Var::Ti => number(out, super::ms(t.idle)),
        Var::TR => number(out, t.tr_request()),
        Var::Tq => number(out, super::ms(t.request)),
        Var::Tw => number(out, t.tw()),
        Var::Tc => number(out, t.tc()),
        Var::Tr => number(out, t.tr()),
        Var::Td => {
            let from = if e.http { t.data } else { t.connect };
            number(out, from.map_or(-1, |f| t.tt() - super::ms(Some(f))));
        }
        Var::Ta => asap(out, e, t.ta()),
        Var::Tt => asap(out, e, t.tt()),
        Var::Tu => asap(out, e, t.tt() - super::ms(t.idle).max(0)),
        // No status yet (the stream ended before any answer): -1.
        Var::Status => number(
            out,
            if e.status == 0 {
                -1
            } else {
                i64::from(e.status)
            },
        ),
        Var::BytesOut => asap(out, e, i64::try_from(e.bytes_out).unwrap_or(i64::MAX)),
        Var::BytesIn => counter(out, e.bytes_in, Opts::default()),
        Var::ReqCookie => text(out, e.request_cookie.as_deref(), o),
        Var::RespCookie => text(out, e.response_cookie.as_deref(), o),
        Var::TermShort => out.push_str(&e.termination.short()),
        Var::TermLong => out.push_str(&e.termination.long()),
        Var::ActConn => counter(out, e.counters.actconn, Opts::default()),
        Var::FeConn => counter(out, e.counters.feconn, Opts::default()),
        Var::BeConn => counter(out, e.counters.beconn, Opts::default()),
        Var::SrvConn => counter(out, e.counters.srv_conn, Opts::default()),
        Var::Retries => {
            if e.counters.redispatched {
                out.push('+');
            }
            counter(out, e.counters.retries, Opts::default());
        }
        Var::SrvQueue => counter(out, e.srv_queue, Opts::default()),
        Var::BackQueue => counter(out, e.backend_queue, Opts::default()),
        Var::ReqHdrs => captures(out, e.request_captures.as_ref(), false, o),
        Var::ReqHdrList => captures(out, e.request_captures.as_ref(), true, o),
        Var::RespHdrs => captures(out, e.response_captures.as_ref(), false, o),
        Var::RespHdrList => captures(out, e.response_captures.as_ref(), true, o),
        Var::Request | Var::Method | Var::Uri | Var::Path | Var::Query | Var::Version => {
            let line = e.request_line.as_deref();
            let part = match v {
                Var::Request => line.unwrap_or(b"<BADREQ>").to_vec(),
                _ => request_part(line, v),
            };
            if o.quote {
                out.push('"');
            }
            escape(out, &part, false);
            if o.quote {
                out.push('"');
            }
        }
        Var::RequestId => counter(out, e.request_id, o),
        Var::LogCount => counter(out, e.log_count, o),
        Var::Hostname => text(out, Some(&e.hostname), o),
        Var::Pid => counter(out, u64::from(e.pid), o),
        Var::UniqueId => text(out, e.unique_id.as_deref(), o),
        Var::SslCipher => text(out, e.ssl_cipher.as_deref(), o),
        Var::SslVersion => text(out, e.ssl_version.as_deref(), o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_and_literals() {
        assert_eq!(
            LogFormat::parse("%ci %zz"),
            Err(LogFormatError::UnknownVariable("zz".into()))
        );
        assert_eq!(LogFormat::parse("%{+Q"), Err(LogFormatError::Unclosed('}')));
        assert_eq!(
            LogFormat::parse("%[src"),
            Err(LogFormatError::Unclosed(']'))
        );
        assert_eq!(
            LogFormat::parse("a %"),
            Err(LogFormatError::Unexpected('\0'))
        );
        let f = LogFormat::parse("  100%% %ST  x %[req.hdr(x)] %{+Q}[y]").expect("valid");
        let mut e = Entry {
            status: 200,
            ..Entry::default()
        };
        e.samples.insert("req.hdr(x)".into(), "v".into());
        // Leading spaces vanish, runs of spaces are one, a missing sample is `""` quoted.
        assert_eq!(f.render(&e), "100% 200 x v \"\"");
    }

    #[test]
    fn request_line_pieces() {
        let f = LogFormat::parse("%HM|%HU|%HP|%HQ|%HV").expect("valid");
        let mut e = Entry {
            request_line: Some(b"GET /a?b=1 HTTP/1.1".to_vec()),
            ..Entry::default()
        };
        assert_eq!(f.render(&e), "GET|/a?b=1|/a|?b=1|HTTP/1.1");
        e.request_line = Some(b"GET /a".to_vec());
        assert_eq!(f.render(&e), "GET|/a|/a||HTTP/0.9");
        e.request_line = Some(b"GET".to_vec());
        assert_eq!(f.render(&e), "<BADREQ>|<BADREQ>|<BADREQ>||<BADREQ>");
    }

    #[test]
    fn logasap_and_hex_options() {
        let f = LogFormat::parse("%B %Ta %Tt %{+X}Ts %{+X}ms %{+X}rt %rc").expect("valid");
        let e = Entry {
            logasap: true,
            bytes_out: 5,
            accept_ms: 1_795_554_285_040,
            request_id: 26,
            timers: Timers::from_shown(0, 0, 0, 0, 0, 1, 7),
            counters: super::super::Counters {
                retries: 3,
                redispatched: true,
                ..Default::default()
            },
            ..Entry::default()
        };
        assert_eq!(f.render(&e), "+5 +7 +7 6B05FBED 28 001A +3");
    }
}
