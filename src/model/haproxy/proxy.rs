//! Proxies (frontend/backend/listen), their listeners and servers.

use super::rules::{Acl, Condition, HttpRule, TcpRule, UseBackend};
use super::{ProxyLog, RawDirective};
use crate::model::check::HealthCheck;
use crate::model::common::{Duration, Endpoint, Prefix};
use serde::Serialize;

/// Which halves a proxy has.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyKind {
    Frontend,
    Backend,
    Listen,
    /// Only while parsing: a `defaults` section.
    Defaults,
}

impl ProxyKind {
    /// Frontend capability (accepts connections).
    pub fn has_frontend(self) -> bool {
        matches!(self, ProxyKind::Frontend | ProxyKind::Listen)
    }

    /// Backend capability (has servers).
    pub fn has_backend(self) -> bool {
        matches!(self, ProxyKind::Backend | ProxyKind::Listen)
    }

    /// The word haproxy uses in messages ("frontend", "backend", "proxy").
    pub fn label(self) -> &'static str {
        match self {
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            ProxyKind::Listen => "proxy",
            ProxyKind::Defaults => "defaults",
        }
    }
}

/// `mode`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Tcp,
    Http,
    /// Removed in 2.x but recorded (`mode health`).
    Health,
}

/// A frontend, backend or listen, with its defaults applied.
#[derive(Clone, Debug, Serialize)]
pub struct Proxy {
    pub name: String,
    pub kind: ProxyKind,
    /// Line of the section header (1-based) and the file index.
    pub line: u32,
    pub file: u32,
    /// `id N`.
    pub id: Option<u32>,
    /// `disabled`.
    pub disabled: bool,
    pub description: Option<String>,
    pub mode: Mode,
    /// `bind` lines (frontend side).
    pub binds: Vec<Bind>,
    /// `maxconn` (frontend side; `None` = global maxconn).
    pub maxconn: Option<u32>,
    pub backlog: Option<u32>,
    /// `fullconn` (backend side).
    pub fullconn: Option<u32>,
    /// `rate-limit sessions`.
    pub rate_limit_sessions: Option<u32>,
    pub timeouts: Timeouts,
    pub balance: Balance,
    pub hash_type: HashType,
    /// `default-server` settings (already folded into each server).
    pub default_server: ServerParams,
    pub servers: Vec<Server>,
    pub cookie: Option<CookiePersistence>,
    pub options: ProxyOptions,
    /// `retries` (default 3).
    pub retries: u32,
    /// `option httpchk` and `http-check` lines.
    pub http_check: Option<HttpCheckSpec>,
    /// Other protocol checks (`option ssl-hello-chk`, `mysql-check`…).
    pub check_protocol: Option<NamedCheck>,
    pub acls: Vec<Acl>,
    pub default_backend: Option<String>,
    pub use_backends: Vec<UseBackend>,
    /// `use-server <srv> if cond`.
    pub use_servers: Vec<UseBackend>,
    pub http_request: Vec<HttpRule>,
    pub http_response: Vec<HttpRule>,
    /// Legacy `redirect` rules (evaluated after `http-request`).
    pub redirects: Vec<HttpRule>,
    pub tcp_request_inspect_delay: Option<Duration>,
    pub tcp_request_content: Vec<TcpRule>,
    pub tcp_request_connection: Vec<TcpRule>,
    pub stats: Option<Stats>,
    pub errorfiles: Vec<ErrorFile>,
    /// `log` lines; `no log` empties it.
    pub logs: Vec<ProxyLog>,
    pub log_format: Option<String>,
    pub captures: Vec<Capture>,
    pub monitor_uri: Option<String>,
    /// Keywords accepted but not active yet.
    pub other: Vec<RawDirective>,
}

impl Proxy {
    /// A proxy with haproxy's built-in defaults.
    pub fn new(name: &str, kind: ProxyKind) -> Self {
        Proxy {
            name: name.to_string(),
            kind,
            line: 0,
            file: 0,
            id: None,
            disabled: false,
            description: None,
            mode: Mode::Tcp,
            binds: Vec::new(),
            maxconn: None,
            backlog: None,
            fullconn: None,
            rate_limit_sessions: None,
            timeouts: Timeouts::default(),
            balance: Balance::RoundRobin,
            hash_type: HashType::default(),
            default_server: ServerParams::default(),
            servers: Vec::new(),
            cookie: None,
            options: ProxyOptions::default(),
            retries: 3,
            http_check: None,
            check_protocol: None,
            acls: Vec::new(),
            default_backend: None,
            use_backends: Vec::new(),
            use_servers: Vec::new(),
            http_request: Vec::new(),
            http_response: Vec::new(),
            redirects: Vec::new(),
            tcp_request_inspect_delay: None,
            tcp_request_content: Vec::new(),
            tcp_request_connection: Vec::new(),
            stats: None,
            errorfiles: Vec::new(),
            logs: Vec::new(),
            log_format: None,
            captures: Vec::new(),
            monitor_uri: None,
            other: Vec::new(),
        }
    }
}

/// `timeout *` values (`None` = not set, i.e. infinite).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    pub client: Option<Duration>,
    pub server: Option<Duration>,
    pub connect: Option<Duration>,
    pub queue: Option<Duration>,
    pub http_request: Option<Duration>,
    pub http_keep_alive: Option<Duration>,
    pub check: Option<Duration>,
    pub tunnel: Option<Duration>,
    pub client_fin: Option<Duration>,
    pub server_fin: Option<Duration>,
    pub tarpit: Option<Duration>,
}

/// `balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "algo")]
pub enum Balance {
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    Source,
    Uri {
        whole: bool,
        len: Option<u32>,
        depth: Option<u32>,
        path_only: bool,
    },
    UrlParam {
        param: String,
        check_post: Option<u32>,
    },
    Hdr {
        name: String,
        use_domain_only: bool,
    },
    Random {
        draws: u32,
    },
    RdpCookie {
        name: Option<String>,
    },
    /// `balance hash <expr>`.
    Hash {
        expr: String,
    },
}

impl Balance {
    /// The algorithm's keyword, as `balance` takes it and the statistics'
    /// `algo` column shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Balance::RoundRobin => "roundrobin",
            Balance::StaticRr => "static-rr",
            Balance::LeastConn => "leastconn",
            Balance::First => "first",
            Balance::Source => "source",
            Balance::Uri { .. } => "uri",
            Balance::UrlParam { .. } => "url_param",
            Balance::Hdr { .. } => "hdr",
            Balance::Random { .. } => "random",
            Balance::RdpCookie { .. } => "rdp-cookie",
            Balance::Hash { .. } => "hash",
        }
    }
}

/// `hash-type <method> [<function>] [avalanche]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HashType {
    /// `map-based` (default) or `consistent`.
    pub consistent: bool,
    /// `sdbm` (default), `djb2`, `wt6`, `crc32`, `none`.
    pub function: String,
    pub avalanche: bool,
}

impl Default for HashType {
    fn default() -> Self {
        HashType {
            consistent: false,
            function: "sdbm".into(),
            avalanche: false,
        }
    }
}

/// A `bind` line: one or more addresses sharing options.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bind {
    pub line: u32,
    pub addresses: Vec<Endpoint>,
    pub options: BindOptions,
}

/// Options of a `bind` line (also of `stats socket`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BindOptions {
    pub ssl: bool,
    /// `crt` files or directories.
    pub crts: Vec<String>,
    pub crt_list: Option<String>,
    pub ca_file: Option<String>,
    pub crl_file: Option<String>,
    /// `verify none|optional|required`.
    pub verify: Option<String>,
    pub alpn: Vec<String>,
    pub npn: Vec<String>,
    pub ciphers: Option<String>,
    pub ciphersuites: Option<String>,
    pub curves: Option<String>,
    pub ssl_min_ver: Option<String>,
    pub ssl_max_ver: Option<String>,
    /// Flag words: `no-sslv3`, `no-tlsv10`, `force-tlsv12`, `no-tls-tickets`,
    /// `prefer-client-ciphers`, `strict-sni`…
    pub tls_flags: Vec<String>,
    pub accept_proxy: bool,
    pub transparent: bool,
    pub v4v6: bool,
    pub v6only: bool,
    pub defer_accept: bool,
    pub tfo: bool,
    pub name: Option<String>,
    pub id: Option<u32>,
    pub maxconn: Option<u32>,
    pub backlog: Option<u32>,
    pub interface: Option<String>,
    pub namespace: Option<String>,
    /// UNIX socket permissions (`mode 600`), owner and group.
    pub unix_mode: Option<u32>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Stats socket level: `user`, `operator` (default), `admin`.
    pub level: Option<String>,
    pub expose_fd_listeners: bool,
    pub thread: Option<String>,
    pub process: Option<String>,
    pub proto: Option<String>,
    pub tcp_user_timeout: Option<Duration>,
    /// `mss`.
    pub mss: Option<String>,
    /// Options accepted but not active yet, word for word.
    pub other: Vec<Vec<String>>,
}

/// A `server` line with `default-server` folded in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    pub line: u32,
    /// Address without port semantics (the port is in `Endpoint::Inet`).
    pub address: Endpoint,
    /// The destination port, if one was written (`None`: same as client's).
    pub port: Option<u16>,
    /// `+N`/`-N` port written: offset from the client's destination port.
    pub port_offset: Option<i32>,
    pub params: ServerParams,
    /// The effective health check when `check` is on.
    pub health_check: Option<HealthCheck>,
}

/// Everything a `server`/`default-server` line can set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerParams {
    /// `check` / `no-check`.
    pub check: bool,
    pub inter: Duration,
    pub fastinter: Option<Duration>,
    pub downinter: Option<Duration>,
    pub rise: u32,
    pub fall: u32,
    /// `port`: check port.
    pub check_port: Option<u16>,
    /// `addr`: check address.
    pub check_addr: Option<std::net::IpAddr>,
    pub check_ssl: bool,
    pub check_sni: Option<String>,
    pub check_send_proxy: bool,
    /// Weight 0..=256 (default 1).
    pub weight: u32,
    pub backup: bool,
    pub cookie: Option<String>,
    pub maxconn: Option<u32>,
    pub maxqueue: Option<u32>,
    pub minconn: Option<u32>,
    pub disabled: bool,
    pub slowstart: Option<Duration>,
    pub send_proxy: bool,
    pub send_proxy_v2: bool,
    pub ssl: bool,
    pub verify: Option<String>,
    pub sni: Option<String>,
    pub ca_file: Option<String>,
    pub crt: Option<String>,
    pub alpn: Vec<String>,
    pub id: Option<u32>,
    pub init_addr: Option<String>,
    pub resolvers: Option<String>,
    pub redir: Option<String>,
    pub track: Option<String>,
    /// `observe layer4|layer7`, `on-error`, `error-limit`.
    pub observe: Option<String>,
    /// Options accepted but not active yet, word for word.
    pub other: Vec<Vec<String>>,
}

impl Default for ServerParams {
    fn default() -> Self {
        ServerParams {
            check: false,
            inter: Duration::from_millis(2000),
            fastinter: None,
            downinter: None,
            rise: 2,
            fall: 3,
            check_port: None,
            check_addr: None,
            check_ssl: false,
            check_sni: None,
            check_send_proxy: false,
            weight: 1,
            backup: false,
            cookie: None,
            maxconn: None,
            maxqueue: None,
            minconn: None,
            disabled: false,
            slowstart: None,
            send_proxy: false,
            send_proxy_v2: false,
            ssl: false,
            verify: None,
            sni: None,
            ca_file: None,
            crt: None,
            alpn: Vec::new(),
            id: None,
            init_addr: None,
            resolvers: None,
            redir: None,
            track: None,
            observe: None,
            other: Vec::new(),
        }
    }
}

/// `cookie <name> [rewrite|insert|prefix] …`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CookiePersistence {
    pub name: String,
    pub method: CookieMethod,
    pub indirect: bool,
    pub nocache: bool,
    pub postonly: bool,
    pub preserve: bool,
    pub httponly: bool,
    pub secure: bool,
    pub dynamic: bool,
    pub domains: Vec<String>,
    pub maxidle: Option<Duration>,
    pub maxlife: Option<Duration>,
    pub attrs: Vec<String>,
}

/// How the persistence cookie is carried.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieMethod {
    /// No method word: the cookie is only read (passive, like haproxy).
    #[default]
    Passive,
    Rewrite,
    Insert,
    Prefix,
}

/// HTTP connection handling (`option http-keep-alive` and friends).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpConnectionMode {
    #[default]
    KeepAlive,
    ServerClose,
    Close,
}

/// `option forwardfor [except <net>] [header <name>] [if-none]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForwardFor {
    pub except: Option<Prefix>,
    pub header: String,
    pub if_none: bool,
}

/// `option originalto [except <net>] [header <name>]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OriginalTo {
    pub except: Option<Prefix>,
    pub header: String,
}

/// Traffic log format chosen by an option.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogOption {
    HttpLog,
    HttpLogClf,
    HttpsLog,
    TcpLog,
}

/// The `option …` switches of a proxy.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProxyOptions {
    /// `option httplog [clf]` / `httpslog` / `tcplog`.
    pub log: Option<LogOption>,
    pub dontlognull: bool,
    pub dontlog_normal: bool,
    pub log_separate_errors: bool,
    pub logasap: bool,
    pub log_health_checks: bool,
    pub forwardfor: Option<ForwardFor>,
    pub originalto: Option<OriginalTo>,
    pub http_connection: HttpConnectionMode,
    pub http_pretend_keepalive: bool,
    /// `option redispatch [interval]`: `Some(n)`; disabled = `None`.
    pub redispatch: Option<i32>,
    pub allbackups: bool,
    pub abortonclose: bool,
    pub persist: bool,
    pub prefer_last_server: bool,
    pub http_buffer_request: bool,
    pub checkcache: bool,
    pub tcpka: bool,
    pub clitcpka: bool,
    pub srvtcpka: bool,
    pub nolinger: bool,
    pub http_ignore_probes: bool,
    pub accept_invalid_http_request: bool,
    pub accept_invalid_http_response: bool,
    pub independent_streams: bool,
    pub http_no_delay: bool,
    pub splice_auto: bool,
    pub splice_request: bool,
    pub splice_response: bool,
    pub socket_stats: bool,
    pub contstats: bool,
    pub transparent: bool,
    /// Other boolean options accepted but not active yet: name → on/off.
    pub other: Vec<(String, bool)>,
}

/// `option httpchk` + `http-check` lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpCheckSpec {
    pub method: String,
    pub uri: String,
    pub version: String,
    /// Headers given with `http-check send hdr` or after `\r\n` in the
    /// legacy version string.
    pub headers: Vec<(String, String)>,
    pub host: Option<String>,
    pub body: Option<String>,
    pub expect: Option<HttpExpect>,
    pub disable_on_404: bool,
    pub send_state: bool,
    /// `http-check` lines not active yet.
    pub other: Vec<Vec<String>>,
}

impl Default for HttpCheckSpec {
    fn default() -> Self {
        HttpCheckSpec {
            method: "OPTIONS".into(),
            uri: "/".into(),
            version: "HTTP/1.0".into(),
            headers: Vec::new(),
            host: None,
            body: None,
            expect: None,
            disable_on_404: false,
            send_state: false,
            other: Vec::new(),
        }
    }
}

/// `http-check expect [!] <match> <pattern>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpExpect {
    pub negate: bool,
    /// `status`, `rstatus`, `string`, `rstring`, `hdr`, `fhdr`.
    pub matcher: String,
    pub pattern: String,
}

/// A protocol check selected by `option <x>-chk`/`<x>-check`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NamedCheck {
    pub name: String,
    pub args: Vec<String>,
}

/// `stats *` in a proxy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub enabled: bool,
    /// Default `/haproxy?stats`.
    pub uri: String,
    /// `stats auth user:password`.
    pub auths: Vec<(String, String)>,
    /// Default `HAProxy Statistics`.
    pub realm: String,
    pub refresh: Option<Duration>,
    pub admin: Vec<Condition>,
    pub hide_version: bool,
    pub show_legends: bool,
    pub show_desc: Option<Option<String>>,
    pub show_node: Option<Option<String>>,
    pub scope: Vec<String>,
    pub http_request: Vec<HttpRule>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            enabled: true,
            uri: "/haproxy?stats".into(),
            auths: Vec::new(),
            realm: "HAProxy Statistics".into(),
            refresh: None,
            admin: Vec::new(),
            hide_version: false,
            show_legends: false,
            show_desc: None,
            show_node: None,
            scope: Vec::new(),
            http_request: Vec::new(),
        }
    }
}

/// `errorfile <code> <file>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorFile {
    pub status: u16,
    pub path: String,
}

/// `capture request|response header <name> len <n>` and `capture cookie`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capture {
    pub kind: CaptureKind,
    pub name: String,
    pub len: u32,
}

/// What a `capture` line captures.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureKind {
    RequestHeader,
    ResponseHeader,
    Cookie,
}
