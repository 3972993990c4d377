//! What happened to one stream — an HTTP request, or a TCP connection — as
//! the traffic log needs it: a [`Trace`] takes the timers, sizes, server and
//! termination state as the runtime goes, and a frontend's [`FrontLog`]
//! renders it in the chosen format (`proxy::log`) and sends it to the
//! frontend's targets (`proxy::logging`).

use super::http1::{HeaderList, RequestHead};
use super::log::{self, Cause, Entry, LogFormat, Stage};
use super::logging::Sink;
use super::pool::{Connect, Lease, Place, Pool, Refused, Taken};
use super::sample::{self, Addrs, Ctx};
use crate::daemon::syslog::Severity;
use crate::model::haproxy::{CaptureKind, HaproxyConfig, LogOption, Proxy};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;

/// Connections open in the process (`%ac`).
static ACTCONN: AtomicU64 = AtomicU64::new(0);

/// Counts a client connection in `%ac` for as long as it lives.
pub(super) struct Active;

impl Active {
    pub fn new() -> Active {
        ACTCONN.fetch_add(1, Ordering::Relaxed);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTCONN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The line format a frontend logs in.
enum LineFormat {
    /// No option: `Connect from …` at accept time.
    Connect,
    Http,
    HttpClf,
    Tcp,
    Custom(LogFormat),
}

/// A frontend's traffic logging: where, in which format, what to capture.
pub(super) struct FrontLog {
    sink: Sink,
    format: LineFormat,
    /// `option dontlognull`: no line for a connection that sent nothing.
    pub dontlognull: bool,
    /// `capture request header NAME len N`, `capture response header …`.
    request_captures: Vec<(String, usize)>,
    response_captures: Vec<(String, usize)>,
    /// `capture cookie NAME len N`.
    cookie: Option<(String, usize)>,
}

impl FrontLog {
    /// The logging of frontend `p`; None when it logs nowhere.
    pub fn for_proxy(cfg: &HaproxyConfig, p: &Proxy) -> Option<FrontLog> {
        let sink = Sink::for_proxy(cfg, p)?;
        let format = match (&p.log_format, p.options.log) {
            (Some(f), _) => LogFormat::parse(f).map_or(LineFormat::Connect, LineFormat::Custom),
            (None, Some(LogOption::HttpLog | LogOption::HttpsLog)) => LineFormat::Http,
            (None, Some(LogOption::HttpLogClf)) => LineFormat::HttpClf,
            (None, Some(LogOption::TcpLog)) => LineFormat::Tcp,
            (None, None) => LineFormat::Connect,
        };
        let captures = |kind: CaptureKind| {
            p.captures
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| (c.name.to_ascii_lowercase(), c.len as usize))
                .collect()
        };
        let cookie = p
            .captures
            .iter()
            .find(|c| c.kind == CaptureKind::Cookie)
            .map(|c| (c.name.clone(), c.len as usize));
        Some(FrontLog {
            sink,
            format,
            dontlognull: p.options.dontlognull,
            request_captures: captures(CaptureKind::RequestHeader),
            response_captures: captures(CaptureKind::ResponseHeader),
            cookie,
        })
    }

    /// Whether lines are written at accept time (`Connect from …`) rather
    /// than at the end of each stream.
    pub fn at_accept(&self) -> bool {
        matches!(self.format, LineFormat::Connect)
    }

    /// The `Connect from` line, at accept time.
    pub fn accepted(&self, trace: &Trace) {
        if self.at_accept() {
            self.sink
                .send(Severity::Info, &log::default_format(&trace.entry));
        }
    }

    /// Keeps the request line and the configured request headers.
    pub fn request(&self, trace: &mut Trace, head: &RequestHead) {
        let mut line = head.method().to_vec();
        line.push(b' ');
        line.extend_from_slice(head.uri());
        line.push(b' ');
        line.extend_from_slice(&head.version.text());
        trace.entry.request_line = Some(line);
        if !self.request_captures.is_empty() {
            trace.entry.request_captures = Some(capture(head.headers(), &self.request_captures));
        }
        if let Some(c) = &self.cookie {
            trace.entry.request_cookie = capture_cookie(head.headers(), "cookie", c, true);
        }
        // Response slots show as `{}` once a request was parsed.
        if !self.response_captures.is_empty() {
            trace.entry.response_captures = Some(vec![None; self.response_captures.len()]);
        }
    }

    /// Keeps the configured response headers.
    pub fn response(&self, trace: &mut Trace, headers: &HeaderList) {
        if !self.response_captures.is_empty() {
            trace.entry.response_captures = Some(capture(headers, &self.response_captures));
        }
        if let Some(c) = &self.cookie {
            trace.entry.response_cookie = capture_cookie(headers, "set-cookie", c, false);
        }
    }

    /// The end of a stream: its line, unless the format logs at accept.
    pub fn done(&self, mut trace: Trace) {
        let line = match &self.format {
            LineFormat::Connect => return,
            LineFormat::Http => log::httplog(&trace.finish()),
            LineFormat::HttpClf => log::httplog_clf(&trace.finish()),
            LineFormat::Tcp => log::tcplog(&trace.finish()),
            LineFormat::Custom(f) => {
                let mut e = trace.finish();
                e.samples = samples(f, &e);
                f.render(&e)
            }
        };
        self.sink.send(Severity::Info, &line);
    }
}

/// The last value of each captured header, cut to its length.
fn capture(headers: &HeaderList, wanted: &[(String, usize)]) -> Vec<Option<Vec<u8>>> {
    wanted
        .iter()
        .map(|(name, len)| {
            headers
                .all(name)
                .last()
                .map(|v| v[..v.len().min(*len)].to_vec())
        })
        .collect()
}

/// The values of a format's `%[…]` expressions at log time: what is left
/// of the stream then (addresses, method, status, captures).
fn samples(f: &LogFormat, e: &Entry) -> std::collections::BTreeMap<String, String> {
    let method = e
        .request_line
        .as_deref()
        .and_then(|l| l.split(|&b| b == b' ').next());
    let ctx = Ctx {
        src: e.client,
        dst: e.frontend_addr,
        unix: e.unix,
        method,
        status: Some(e.status),
        captures: [
            e.request_captures.as_deref(),
            e.response_captures.as_deref(),
        ],
        ..Ctx::default()
    };
    f.expressions()
        .filter_map(|x| {
            let v = sample::text(x, &ctx)?;
            Some((x.to_string(), String::from_utf8_lossy(&v).into_owned()))
        })
        .collect()
}

/// `capture cookie NAME len N`: the first cookie whose name starts with
/// NAME (is NAME, when it ends with `=`), as `name=value` cut to N bytes —
/// any of a `Cookie` field's, the first of a `Set-Cookie` field.
fn capture_cookie(
    headers: &HeaderList,
    field: &str,
    (want, len): &(String, usize),
    every: bool,
) -> Option<String> {
    let hit = |name: &[u8]| match want.strip_suffix('=') {
        Some(exact) => name == exact.as_bytes(),
        None => name.starts_with(want.as_bytes()),
    };
    headers.all(field).find_map(|v| {
        let mut crumbs = sample::crumbs(v).take(if every { usize::MAX } else { 1 });
        let (name, value) = crumbs.find(|(n, _)| hit(n))?;
        let mut text = [name, b"=", value].concat();
        text.truncate(*len);
        Some(String::from_utf8_lossy(&text).into_owned())
    })
}

/// When a stream started (its timers count from there).
#[derive(Clone, Copy)]
pub(super) struct Origin {
    at: Instant,
    wall_ms: u64,
}

impl Origin {
    pub fn now() -> Origin {
        Origin {
            at: Instant::now(),
            wall_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0)),
        }
    }
}

/// One stream's facts, gathered as it goes.
pub(super) struct Trace {
    /// False when nobody logs: the timers are not read.
    on: bool,
    /// When the stream started (None: not logged, no clock read).
    origin: Option<Instant>,
    /// The server assigned, by its index in the backend (for `%sc`).
    server: Option<usize>,
    pub entry: Entry,
}

impl Trace {
    /// A stream that started at `origin` on a connection between `addrs`.
    pub fn begin(origin: Origin, frontend: &str, http: bool, addrs: &Addrs) -> Trace {
        Trace {
            on: true,
            origin: Some(origin.at),
            server: None,
            entry: Entry {
                client: addrs.src,
                frontend_addr: addrs.dst,
                unix: addrs.unix,
                accept_ms: origin.wall_ms,
                frontend: frontend.to_string(),
                http,
                backend: frontend.to_string(),
                pid: std::process::id(),
                ..Entry::default()
            },
        }
    }

    /// A trace for a frontend that does not log.
    pub fn off() -> Trace {
        Trace {
            on: false,
            origin: None,
            server: None,
            entry: Entry::default(),
        }
    }

    fn ms(&self) -> u64 {
        match self.origin {
            Some(origin) if self.on => {
                u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
            }
            _ => 0,
        }
    }

    /// Whether the stream is logged (sizes and times are worth counting).
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The first byte of the request arrived (ends the idle time).
    pub fn first_byte(&mut self) {
        if self.entry.timers.idle.is_none() {
            self.entry.timers.idle = Some(self.ms());
        }
    }

    /// The request's head is complete.
    pub fn request_done(&mut self) {
        self.entry.timers.request = Some(self.ms());
    }

    /// The queue was left.
    pub fn queued(&mut self) {
        self.entry.timers.queue = Some(self.ms());
    }

    /// A server was assigned (the queue was left).
    pub fn assigned(&mut self, backend: &str, lease: &Lease) {
        self.queued();
        self.server = Some(lease.id.0);
        if self.on {
            self.entry.backend = backend.to_string();
            self.entry.server = Some(lease.server_name().to_string());
            self.entry.server_addr = Some(lease.addr);
        }
    }

    /// Chose a backend, whatever comes next.
    pub fn backend(&mut self, backend: &str) {
        if self.on {
            self.entry.backend = backend.to_string();
        }
    }

    /// What the backend's queue gave: the lease, its places in the queues
    /// noted; else how the stream ends (no server, `timeout queue`, or a
    /// full server queue, whose server the line names).
    pub fn took(&mut self, taken: Taken) -> Result<Lease, (Cause, Stage)> {
        match taken {
            Taken::Lease(lease, place) => {
                self.queue_places(place);
                Ok(lease)
            }
            Taken::NoServer => Err((Cause::ServerAbort, Stage::Connect)),
            Taken::QueueTimeout(place, server) => {
                self.queue_places(place);
                self.queued();
                self.refused_by(server);
                Err((Cause::ServerTimeout, Stage::Queue))
            }
            Taken::QueueFull(server) => {
                self.refused_by(Some(server));
                Err((Cause::ServerAbort, Stage::Queue))
            }
        }
    }

    fn queue_places(&mut self, place: Place) {
        self.entry.srv_queue = place.server;
        self.entry.backend_queue = place.backend;
    }

    /// The server whose queue a request could not leave.
    fn refused_by(&mut self, server: Option<Refused>) {
        if let (true, Some(r)) = (self.on, server) {
            self.entry.server = Some(r.server);
            self.entry.server_addr = r.addr;
            self.entry.counters.srv_conn = r.conns;
        }
    }

    /// What connecting did (`%rc`, redispatch): the connection (the
    /// connect time noted), else how the stream ends.
    pub fn tried(&mut self, c: Connect) -> Result<TcpStream, (Cause, Stage)> {
        self.entry.counters.retries = u64::from(c.retries);
        // A redispatch at the queue (`maxqueue`) stays one.
        self.entry.counters.redispatched |= c.redispatched;
        match c.stream {
            Some(s) => {
                self.connected();
                Ok(s)
            }
            None if c.timed_out => Err((Cause::ServerTimeout, Stage::Connect)),
            None => Err((Cause::ServerAbort, Stage::Connect)),
        }
    }

    /// Connected to the server.
    pub fn connected(&mut self) {
        self.entry.timers.connect = Some(self.ms());
    }

    /// The response head arrived.
    pub fn response_head(&mut self) {
        self.entry.timers.data = Some(self.ms());
    }

    /// How the stream ended.
    pub fn end(&mut self, cause: Cause, stage: Stage) {
        self.entry.termination.cause = cause;
        self.entry.termination.stage = stage;
    }

    /// The closing time and the process-wide counters, for the line.
    fn finish(&mut self) -> Entry {
        self.entry.timers.close = self.ms();
        self.entry.counters.actconn = ACTCONN.load(Ordering::Relaxed);
        std::mem::take(&mut self.entry)
    }
}

/// Counters a line shows besides `%ac`.
impl Trace {
    /// `%fc`, read at the end.
    pub fn frontend_conns(&mut self, fe: u64) {
        self.entry.counters.feconn = fe;
    }

    /// `%bc`, and `%sc` of the server assigned, read at the end (the
    /// stream's own slot given back).
    pub fn backend_conns(&mut self, pool: &Pool) {
        self.entry.counters.beconn = pool.beconn();
        if let Some(i) = self.server {
            self.entry.counters.srv_conn = pool.server_conns(i);
        }
    }
}
