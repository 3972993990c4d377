//! haproxy 2.6's traffic log lines, as pure functions of what happened to a stream
//! (an [`Entry`]): `option httplog`, `option httplog clf`, `option tcplog`, the default
//! "Connect from" line, custom `log-format` strings ([`LogFormat`]) and the syslog
//! datagram around them. No I/O and no clock here: the runtime fills an `Entry` and sends
//! the text through `daemon::syslog`.
//!
//! Times print in UTC, as the daemons run with `TZ` unset (local time = UTC).

mod format;
#[cfg(test)]
mod golden;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::LazyLock;

pub use format::{LogFormat, LogFormatError};

use crate::daemon::syslog::{self, Severity};

/// `option httplog` (2.x) as a log-format string.
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc \
                           %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
/// `option httplog clf` as a log-format string.
pub const HTTPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s \
                               %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS \
                               %hrl %hsl";
/// `option tcplog` as a log-format string.
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

// The built-in formats are constants known to parse; compiled once.
static HTTPLOG_FMT: LazyLock<LogFormat> = LazyLock::new(|| builtin(HTTPLOG));
static HTTPLOG_CLF_FMT: LazyLock<LogFormat> = LazyLock::new(|| builtin(HTTPLOG_CLF));
static TCPLOG_FMT: LazyLock<LogFormat> = LazyLock::new(|| builtin(TCPLOG));

fn builtin(text: &str) -> LogFormat {
    LogFormat::parse(text).unwrap_or_else(|e| panic!("built-in log format {text:?}: {e}"))
}

/// The `option httplog` line.
pub fn httplog(entry: &Entry) -> String {
    HTTPLOG_FMT.render(entry)
}

/// The `option httplog clf` line.
pub fn httplog_clf(entry: &Entry) -> String {
    HTTPLOG_CLF_FMT.render(entry)
}

/// The `option tcplog` line.
pub fn tcplog(entry: &Entry) -> String {
    TCPLOG_FMT.render(entry)
}

/// The line of a frontend without a log option, sent at accept time:
/// `Connect from 127.0.0.1:34638 to 127.0.0.1:18103 (fd/HTTP)`.
pub fn default_format(entry: &Entry) -> String {
    let addr = |a: Option<SocketAddr>| a.map_or_else(|| "-".to_string(), |a| a.to_string());
    let mode = if entry.http { "HTTP" } else { "TCP" };
    format!(
        "Connect from {} to {} ({}/{mode})",
        addr(entry.client),
        addr(entry.frontend_addr),
        entry.frontend
    )
}

/// A message head's size as haproxy counts it for `%B` and `%U`: its
/// internal (HTX) form, not the bytes on the wire — 20 bytes of start-line
/// header plus the three parts of the start line, each field's name and
/// value (`connection` fields are consumed by the HTTP/1 layer and not
/// counted), and one for the end of the head. `raw` is the head as
/// received, up to and including the empty line. Bodies count their
/// payload only.
pub fn htx_size(raw: &[u8]) -> u64 {
    let mut lines = raw
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let Some(start) = lines.next() else { return 0 };
    let parts: u64 = start
        .splitn(3, |&b| b == b' ')
        .map(|p| p.len() as u64)
        .sum();
    let mut size = 20 + parts + 1;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = &line[..colon];
        if name.eq_ignore_ascii_case(b"connection") {
            continue;
        }
        size += (name.len() + line[colon + 1..].trim_ascii().len()) as u64;
    }
    size
}

/// The UDP/unix syslog datagram haproxy sends for a message in its default `local`
/// format: RFC 3164 without host name, `<PRI>Mmm dd hh:mm:ss tag[pid]: message\n`
/// (the trailing newline is part of the datagram). `secs` is the sending time.
pub fn syslog_datagram(
    facility: u8,
    severity: Severity,
    secs: u64,
    tag: &str,
    pid: u32,
    message: &str,
) -> String {
    let mut line = syslog::format_line(
        facility,
        severity,
        &syslog::timestamp_at(secs),
        tag,
        pid,
        message,
    );
    line.push('\n');
    line
}

/// Everything a traffic log line can show about one stream (one HTTP request, or one
/// TCP connection). Wire-derived texts are bytes: the formatter escapes them as haproxy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    /// Client address (`%ci:%cp`).
    pub client: Option<SocketAddr>,
    /// The address the client connected to (`%fi:%fp`).
    pub frontend_addr: Option<SocketAddr>,
    /// A unix-socket client: its listener's number (`%ci:%cp` and
    /// `%fi:%fp` show `unix:N`).
    pub unix: Option<u32>,
    /// Our source address towards the server (`%bi:%bp`); `None` before connecting.
    pub backend_src: Option<SocketAddr>,
    /// The server's address (`%si:%sp`); `None` when no server was chosen.
    pub server_addr: Option<SocketAddr>,
    /// Accept date, milliseconds since the epoch (`%t`, `%T`, `%Ts`, `%ms`).
    pub accept_ms: u64,
    /// The stream's timers.
    pub timers: Timers,
    /// Frontend name (`%f`, `%ft`).
    pub frontend: String,
    /// The listener uses SSL: `%ft` appends `~`.
    pub frontend_ssl: bool,
    /// HTTP mode (the default format says `HTTP` or `TCP`).
    pub http: bool,
    /// Backend name (`%b`): the frontend's own name when no backend was chosen.
    pub backend: String,
    /// Server name (`%s`): `None` prints `<NOSRV>`.
    pub server: Option<String>,
    /// HTTP status sent to the client (`%ST`), 0 when none.
    pub status: u16,
    /// Bytes sent to the client (`%B`).
    pub bytes_out: u64,
    /// Bytes received from the client (`%U`).
    pub bytes_in: u64,
    /// `capture cookie`: the request's and the response's cookie (`%CC`, `%CS`).
    pub request_cookie: Option<String>,
    pub response_cookie: Option<String>,
    /// How the stream ended (`%ts`, `%tsc`).
    pub termination: Termination,
    /// `%ac/%fc/%bc/%sc/%rc`.
    pub counters: Counters,
    /// Position in the server's and the backend's queue (`%sq/%bq`).
    pub srv_queue: u64,
    pub backend_queue: u64,
    /// Captured request headers, one slot per `capture request header` (`%hr`, `%hrl`);
    /// `None` when there is none configured or the request was never parsed.
    pub request_captures: Option<Vec<Option<Vec<u8>>>>,
    /// Captured response headers (`%hs`, `%hsl`), as above.
    pub response_captures: Option<Vec<Option<Vec<u8>>>>,
    /// The request line as received (`%r`, `%HM`, `%HU`…); `None` prints `<BADREQ>`.
    pub request_line: Option<Vec<u8>>,
    /// The global request counter (`%rt`) and the frontend's log counter (`%lc`).
    pub request_id: u64,
    pub log_count: u64,
    /// Process id (`%pid`) and host name (`%H`).
    pub pid: u32,
    pub hostname: String,
    /// `unique-id-format` result (`%ID`).
    pub unique_id: Option<String>,
    /// SSL cipher and version of the client connection (`%sslc`, `%sslv`).
    pub ssl_cipher: Option<String>,
    pub ssl_version: Option<String>,
    /// `option logasap`: logged before the end, `%B`/`%Ta`/`%Tt` get a `+`.
    pub logasap: bool,
    /// Values of `%[sample]` expressions, by expression text, computed by the runtime.
    pub samples: BTreeMap<String, String>,
}

/// A stream's timers, in milliseconds since the accept, as haproxy keeps them (`None` =
/// the event did not happen). The log shows differences between them, with haproxy's
/// arithmetic (in TCP mode, where there is no request, `%Tw` comes out one too high).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timers {
    /// Handshake time (`%Th`).
    pub handshake: u64,
    /// Idle time before the request (`%Ti`); `None` outside HTTP.
    pub idle: Option<u64>,
    /// Complete request headers received (`%Tq`).
    pub request: Option<u64>,
    /// Left the queue.
    pub queue: Option<u64>,
    /// Connected to the server.
    pub connect: Option<u64>,
    /// Response headers received.
    pub data: Option<u64>,
    /// End of the stream, or log time (`%Tt`).
    pub close: u64,
}

fn ms(t: Option<u64>) -> i64 {
    t.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

impl Timers {
    /// Builds the timers from the values a line shows (`%Th`, `%Ti`, `%TR`, `%Tw`, `%Tc`,
    /// `%Tr`, `%Ta`, -1 = not reached): the inverse of what the formatter computes.
    pub fn from_shown(th: i64, ti: i64, tr_req: i64, tw: i64, tc: i64, tr: i64, ta: i64) -> Timers {
        let at = |prev: i64, d: i64| (d >= 0).then(|| u64::try_from(prev + d).unwrap_or(0));
        let th_u = u64::try_from(th).unwrap_or(0);
        let idle = u64::try_from(ti).ok();
        let request = at(th + ti, tr_req);
        let queue = at(ms(request), tw);
        let connect = at(ms(queue), tc);
        let data = at(ms(connect), tr);
        let before = if ti >= 0 { th + ti } else { 0 };
        Timers {
            handshake: th_u,
            idle,
            request,
            queue,
            connect,
            data,
            close: u64::try_from(ta + before).unwrap_or(0),
        }
    }

    /// `%Th` + `%Ti` when the idle time is known: where the request started.
    fn before_request(&self) -> i64 {
        match self.idle {
            Some(i) => ms(Some(i)) + ms(Some(self.handshake)),
            None => 0,
        }
    }

    /// `%TR`.
    pub fn tr_request(&self) -> i64 {
        let t = ms(self.request);
        if t >= 0 {
            t - ms(self.idle) - ms(Some(self.handshake))
        } else {
            -1
        }
    }

    /// `%Tw`, `%Tc`, `%Tr`: from the previous event to this one.
    fn step(this: Option<u64>, prev: Option<u64>) -> i64 {
        if this.is_some() {
            ms(this) - ms(prev)
        } else {
            -1
        }
    }

    /// `%Tw`.
    pub fn tw(&self) -> i64 {
        Self::step(self.queue, self.request)
    }

    /// `%Tc`.
    pub fn tc(&self) -> i64 {
        Self::step(self.connect, self.queue)
    }

    /// `%Tr`.
    pub fn tr(&self) -> i64 {
        Self::step(self.data, self.connect)
    }

    /// `%Ta`: active time, without handshake and idle.
    pub fn ta(&self) -> i64 {
        ms(Some(self.close)) - self.before_request()
    }

    /// `%Tt`.
    pub fn tt(&self) -> i64 {
        ms(Some(self.close))
    }
}

/// Connection counters at log time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Process-wide (`%ac`), frontend (`%fc`), backend (`%bc`), server (`%sc`).
    pub actconn: u64,
    pub feconn: u64,
    pub beconn: u64,
    pub srv_conn: u64,
    /// Connection retries (`%rc`), `+`-prefixed when redispatched.
    pub retries: u64,
    pub redispatched: bool,
}

/// The termination state: what ended the stream and when, plus the cookie flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Termination {
    pub cause: Cause,
    pub stage: Stage,
    /// The persistence cookie flags; `None` when the backend uses no cookie (`--`).
    pub cookie: Option<(CookieSeen, CookieSet)>,
}

/// First character: the event that ended the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cause {
    /// `-`: normal end.
    #[default]
    Normal,
    /// `L`: handled locally (redirect, return, stats).
    Local,
    /// `c`: client timeout.
    ClientTimeout,
    /// `C`: client aborted or sent an error.
    ClientAbort,
    /// `s`: server timeout.
    ServerTimeout,
    /// `S`: server aborted, refused, or answered garbage.
    ServerAbort,
    /// `P`: the proxy stopped it (deny, bad request, limits).
    Proxy,
    /// `R`: out of resources.
    Resource,
    /// `I`: internal error.
    Internal,
    /// `D`: the server went down.
    Down,
    /// `K`: killed by an admin.
    Killed,
    /// `U`: killed on a backup server when an active came up.
    Up,
}

/// Second character: the stage the stream was in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// `-`: completed.
    #[default]
    Done,
    /// `R`: waiting for the request.
    Request,
    /// `Q`: in a queue.
    Queue,
    /// `C`: connecting to the server.
    Connect,
    /// `H`: waiting for the response headers.
    Headers,
    /// `D`: data transfer.
    Data,
    /// `L`: last data.
    Last,
    /// `T`: tarpitted.
    Tarpit,
}

/// Third character: the persistence cookie the client sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieSeen {
    None,
    Invalid,
    Down,
    Valid,
    Expired,
    Old,
    Unused,
}

/// Fourth character: what happened to the server's `Set-Cookie`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieSet {
    None,
    Provided,
    Deleted,
    Inserted,
    Rewritten,
    Updated,
}

const CAUSES: [(Cause, char); 12] = [
    (Cause::Normal, '-'),
    (Cause::Local, 'L'),
    (Cause::ClientTimeout, 'c'),
    (Cause::ClientAbort, 'C'),
    (Cause::ServerTimeout, 's'),
    (Cause::ServerAbort, 'S'),
    (Cause::Proxy, 'P'),
    (Cause::Resource, 'R'),
    (Cause::Internal, 'I'),
    (Cause::Down, 'D'),
    (Cause::Killed, 'K'),
    (Cause::Up, 'U'),
];
const STAGES: [(Stage, char); 8] = [
    (Stage::Done, '-'),
    (Stage::Request, 'R'),
    (Stage::Queue, 'Q'),
    (Stage::Connect, 'C'),
    (Stage::Headers, 'H'),
    (Stage::Data, 'D'),
    (Stage::Last, 'L'),
    (Stage::Tarpit, 'T'),
];
const SEEN: [(CookieSeen, char); 7] = [
    (CookieSeen::None, 'N'),
    (CookieSeen::Invalid, 'I'),
    (CookieSeen::Down, 'D'),
    (CookieSeen::Valid, 'V'),
    (CookieSeen::Expired, 'E'),
    (CookieSeen::Old, 'O'),
    (CookieSeen::Unused, 'U'),
];
const SET: [(CookieSet, char); 6] = [
    (CookieSet::None, 'N'),
    (CookieSet::Provided, 'P'),
    (CookieSet::Deleted, 'D'),
    (CookieSet::Inserted, 'I'),
    (CookieSet::Rewritten, 'R'),
    (CookieSet::Updated, 'U'),
];

fn code_of<T: PartialEq + Copy>(table: &[(T, char)], v: T) -> char {
    table.iter().find(|(t, _)| *t == v).map_or('?', |(_, c)| *c)
}

fn value_of<T: Copy>(table: &[(T, char)], c: char) -> Option<T> {
    table.iter().find(|(_, k)| *k == c).map(|(t, _)| *t)
}

impl Termination {
    /// `%ts`: two characters.
    pub fn short(&self) -> String {
        [code_of(&CAUSES, self.cause), code_of(&STAGES, self.stage)]
            .iter()
            .collect()
    }

    /// `%tsc`: four characters.
    pub fn long(&self) -> String {
        let (a, b) = self.cookie.map_or(('-', '-'), |(seen, set)| {
            (code_of(&SEEN, seen), code_of(&SET, set))
        });
        format!("{}{a}{b}", self.short())
    }

    /// Reads a 2- or 4-character code as a log shows it (`sH--`, `--VN`, `CD`).
    pub fn from_code(code: &str) -> Option<Termination> {
        let c: Vec<char> = code.chars().collect();
        if c.len() != 2 && c.len() != 4 {
            return None;
        }
        let cookie = match c.get(2..4) {
            Some(['-', '-']) | None => None,
            Some([a, b]) => Some((value_of(&SEEN, *a)?, value_of(&SET, *b)?)),
            Some(_) => return None,
        };
        Some(Termination {
            cause: value_of(&CAUSES, c[0])?,
            stage: value_of(&STAGES, c[1])?,
            cookie,
        })
    }
}

#[cfg(test)]
mod htx_tests {
    use super::htx_size;

    #[test]
    fn head_sizes_are_counted_as_haproxy_logs_them() {
        // Observed on 2.6: a redirect logged as 86 bytes, a POST head as 59
        // (+3 of body = %U 62).
        let redirect = b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /else\r\ncache-control: no-cache\r\n\r\n";
        assert_eq!(htx_size(redirect), 86);
        let post =
            b"POST /f?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n";
        assert_eq!(htx_size(post), 59);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termination_codes_round_trip() {
        for code in [
            "----", "sH--", "SC--", "PR--", "cR--", "--VN", "SCVN", "--DI", "KQ--",
        ] {
            let t = Termination::from_code(code).expect(code);
            assert_eq!(t.long(), code);
        }
        assert_eq!(Termination::from_code("CD").expect("CD").short(), "CD");
        assert_eq!(Termination::from_code("xx"), None);
        assert_eq!(Termination::from_code("--V"), None);
        let t = Termination {
            cause: Cause::ServerTimeout,
            stage: Stage::Headers,
            cookie: None,
        };
        assert_eq!(t.long(), "sH--");
    }

    #[test]
    fn timers_invert_what_they_show() {
        // httplog 0/0/-1/-1/3004 (connection refused after 3 retries).
        let t = Timers::from_shown(0, 0, 0, 0, -1, -1, 3004);
        assert_eq!(
            (t.tr_request(), t.tw(), t.tc(), t.tr(), t.ta()),
            (0, 0, -1, -1, 3004)
        );
        // tcplog 1/0/300: no request in TCP mode, haproxy's Tw is one too high.
        let t = Timers {
            handshake: 0,
            idle: None,
            request: None,
            queue: Some(0),
            connect: Some(0),
            data: None,
            close: 300,
        };
        assert_eq!((t.tw(), t.tc(), t.tt()), (1, 0, 300));
        let back = Timers::from_shown(0, -1, -1, 1, 0, -1, 300);
        assert_eq!(back, t);
    }

    #[test]
    fn default_line_and_datagram() {
        let e = Entry {
            client: "127.0.0.1:34638".parse().ok(),
            frontend_addr: "127.0.0.1:18103".parse().ok(),
            frontend: "fd".into(),
            http: true,
            ..Entry::default()
        };
        let line = default_format(&e);
        assert_eq!(
            line,
            "Connect from 127.0.0.1:34638 to 127.0.0.1:18103 (fd/HTTP)"
        );
        assert_eq!(
            syslog_datagram(18, Severity::Info, 1_793_783_103, "haproxy", 7, &line),
            "<150>Nov  4 09:05:03 haproxy[7]: Connect from 127.0.0.1:34638 to 127.0.0.1:18103 (fd/HTTP)\n"
        );
    }
}
