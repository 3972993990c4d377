//! What the statistics outputs show: a plain copy of every counter and state, taken by
//! the runtime at one instant. The renderers never read a clock or a socket; ages
//! (`lastchg`, `lastsess`, `downtime`) are already in seconds here.

use crate::model::haproxy::{Mode, ProxyKind};

/// Everything `show stat`, `;csv` and the HTML page show.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Process facts (the HTML page's header, `show info`).
    pub info: Info,
    /// Proxies in declaration order (haproxy's internal ones left out).
    pub proxies: Vec<ProxyStats>,
}

/// One frontend, backend or listen.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyStats {
    /// Proxy name (`pxname`).
    pub name: String,
    /// Proxy id (`iid`): `id N` or haproxy's numbering (the first user proxy is 2).
    pub iid: u32,
    /// Frontend, backend or listen: which rows it has.
    pub kind: ProxyKind,
    /// `mode` column and the HTTP-only columns.
    pub mode: Mode,
    /// The `FRONTEND` row, for proxies with a frontend.
    pub frontend: Option<FrontendStats>,
    /// Per-listener rows, present when `option socket-stats` is set.
    pub listeners: Vec<ListenerStats>,
    /// Servers in declaration order.
    pub servers: Vec<ServerStats>,
    /// The `BACKEND` row, for proxies with a backend.
    pub backend: Option<BackendStats>,
}

/// Counters every row type carries (sessions and bytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Traffic {
    /// Current sessions (`scur`).
    pub scur: u64,
    /// Highest `scur` seen (`smax`).
    pub smax: u64,
    /// Session limit (`slim`): frontend maxconn, backend fullconn, server maxconn.
    pub slim: Option<u64>,
    /// Cumulated sessions (`stot`).
    pub stot: u64,
    /// Bytes in from clients (`bin`).
    pub bin: u64,
    /// Bytes out to clients (`bout`).
    pub bout: u64,
    /// Responses denied (`dresp`).
    pub dresp: u64,
    /// Failed header rewrites (`wrew`).
    pub wrew: u64,
    /// Internal errors (`eint`).
    pub eint: u64,
}

/// HTTP response counters by class, and requests (HTTP mode only).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpCounters {
    /// `hrsp_1xx` … `hrsp_5xx`, then `hrsp_other`.
    pub hrsp: [u64; 6],
    /// Cumulated HTTP requests (`req_tot`).
    pub req_tot: u64,
}

/// Compression counters (frontends and backends).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compression {
    /// Bytes fed to the compressor (`comp_in`).
    pub comp_in: u64,
    /// Bytes it emitted (`comp_out`).
    pub comp_out: u64,
    /// Bytes that bypassed it (`comp_byp`).
    pub comp_byp: u64,
    /// Responses compressed (`comp_rsp`).
    pub comp_rsp: u64,
}

/// The columns after `-`: the SSL, H2 and H1 modules' counters in 2.6's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleCounters {
    /// `ssl_sess`, `ssl_reused_sess`, `ssl_failed_handshake`.
    pub ssl: [u64; 3],
    /// The 13 `h2_*` columns (`None` on server rows, which leave them empty).
    pub h2: Option<[u64; 13]>,
    /// The 8 `h1_*` columns (`None` on server rows).
    pub h1: Option<[u64; 8]>,
}

/// Average and maximum times over the last 1024 connections, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    /// `qtime`, `ctime`, `rtime`, `ttime` (averages).
    pub avg: [u64; 4],
    /// `qtime_max`, `ctime_max`, `rtime_max`, `ttime_max`.
    pub max: [u64; 4],
}

/// The `FRONTEND` row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrontendStats {
    /// Sessions and bytes.
    pub traffic: Traffic,
    /// Requests denied (`dreq`).
    pub dreq: u64,
    /// Request errors (`ereq`).
    pub ereq: u64,
    /// `OPEN`, `STOP` or `FULL`.
    pub status: String,
    /// Session rate now, its limit (0 = none) and its maximum.
    pub rate: u64,
    pub rate_lim: u64,
    pub rate_max: u64,
    /// HTTP counters (shown in HTTP mode).
    pub http: HttpCounters,
    /// Request rate now and its maximum (HTTP mode).
    pub req_rate: u64,
    pub req_rate_max: u64,
    /// Compression counters.
    pub comp: Compression,
    /// Connection rate now, its maximum, and connections accepted in total.
    pub conn_rate: u64,
    pub conn_rate_max: u64,
    pub conn_tot: u64,
    /// Requests answered by haproxy itself (stats page, redirects…).
    pub intercepted: u64,
    /// Connections and sessions denied by `tcp-request connection|session` rules.
    pub dcon: u64,
    pub dses: u64,
    /// Cache lookups and hits.
    pub cache_lookups: u64,
    pub cache_hits: u64,
    /// Counters after `-`.
    pub modules: ModuleCounters,
}

/// A listener row (`option socket-stats`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListenerStats {
    /// Listener name (`svname`): its `name` or `sock-N`.
    pub name: String,
    /// Listener id (`sid`).
    pub sid: u32,
    /// Sessions and bytes.
    pub traffic: Traffic,
    /// Requests denied, request errors.
    pub dreq: u64,
    pub ereq: u64,
    /// `OPEN`, `WAITING`, `FULL`, `STOP`…
    pub status: String,
    /// Bound address (`addr`, shown with legends only).
    pub addr: String,
    /// Connections and sessions denied by rules.
    pub dcon: u64,
    pub dses: u64,
    /// Counters after `-`.
    pub modules: ModuleCounters,
}

/// A server's health check as the stats show it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckStats {
    /// Short status (`L4OK`, `L4CON`, `L7OK`, `L7STS`…), `INI`/`UNK` before the first result.
    pub status: String,
    /// HTTP code of layer-7 results (`check_code`).
    pub code: Option<u32>,
    /// Duration of the last check in ms (`None` before any completed check).
    pub duration: Option<u64>,
    /// Long status (`Layer4 check passed`…), `check_desc`.
    pub desc: String,
    /// The check's message (`Connection refused`…), `last_chk`; may be empty.
    pub info: String,
    /// `rise`, `fall` and the current health counter (0 ..= rise+fall-1).
    pub rise: u32,
    pub fall: u32,
    pub health: u32,
    /// Failed checks (`chkfail`).
    pub failed: u64,
    /// UP→DOWN transitions (`chkdown`).
    pub down_trans: u64,
    /// Seconds spent DOWN (`downtime`).
    pub downtime: u64,
}

/// A server row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerStats {
    /// Server name (`svname`).
    pub name: String,
    /// Server id (`sid`).
    pub sid: u32,
    /// Queue now and its maximum; `maxqueue` (`qlimit`).
    pub qcur: u64,
    pub qmax: u64,
    pub qlimit: Option<u64>,
    /// Sessions and bytes (`slim` = `maxconn`).
    pub traffic: Traffic,
    /// Connection and response errors, retries, redispatches.
    pub econ: u64,
    pub eresp: u64,
    pub wretr: u64,
    pub wredis: u64,
    /// `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, `UP 1/3`… (`status`).
    pub status: String,
    /// Effective and configured weights (`weight`, `uweight`).
    pub weight: u32,
    pub uweight: u32,
    /// `backup` server (`bck` = 1, `act` = 0).
    pub backup: bool,
    /// Seconds since the last state change (`lastchg`).
    pub lastchg: u64,
    /// Slow-start throttle in percent, while starting.
    pub throttle: Option<u32>,
    /// Times this server was picked (`lbtot`).
    pub lbtot: u64,
    /// `backend/server` it tracks.
    pub tracked: Option<String>,
    /// Session rate now and its maximum.
    pub rate: u64,
    pub rate_max: u64,
    /// The health check, when `check` is on.
    pub check: Option<CheckStats>,
    /// HTTP counters (shown in HTTP mode).
    pub http: HttpCounters,
    /// Failed health observations (`hanafail`, with `observe` only).
    pub hanafail: Option<u64>,
    /// Aborts by the client and by the server during a transfer.
    pub cli_abrt: u64,
    pub srv_abrt: u64,
    /// Seconds since the last session, -1 when none yet.
    pub lastsess: i64,
    /// Average/maximum times.
    pub timings: Timings,
    /// `address:port` (`addr`, shown with legends only).
    pub addr: String,
    /// Persistence cookie value (shown with legends only).
    pub cookie: Option<String>,
    /// Connections established and reused.
    pub connect: u64,
    pub reuse: u64,
    /// Idle connections now and their limit.
    pub srv_icur: u64,
    pub src_ilim: Option<u64>,
    /// Idle, safe, used connections and the estimated need.
    pub idle_conn_cur: u64,
    pub safe_conn_cur: u64,
    pub used_conn_cur: u64,
    pub need_conn_est: u64,
    /// SSL counters (servers leave the H2/H1 columns empty).
    pub ssl: [u64; 3],
}

/// The `BACKEND` row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackendStats {
    /// Queue now and its maximum.
    pub qcur: u64,
    pub qmax: u64,
    /// Sessions and bytes (`slim` = `fullconn`).
    pub traffic: Traffic,
    /// Requests denied.
    pub dreq: u64,
    /// Connection and response errors, retries, redispatches.
    pub econ: u64,
    pub eresp: u64,
    pub wretr: u64,
    pub wredis: u64,
    /// `UP` or `DOWN`.
    pub status: String,
    /// Total effective weight, active and backup servers usable, configured weight.
    pub weight: u32,
    pub act: u32,
    pub bck: u32,
    pub uweight: u32,
    /// UP→DOWN transitions, seconds since the last change.
    pub chkdown: u64,
    pub lastchg: u64,
    /// Seconds DOWN (`None` for a backend without servers: the column stays empty).
    pub downtime: Option<u64>,
    /// Times a server was picked.
    pub lbtot: u64,
    /// Session rate now and its maximum.
    pub rate: u64,
    pub rate_max: u64,
    /// HTTP counters (shown in HTTP mode).
    pub http: HttpCounters,
    /// Aborts by the client and by the server.
    pub cli_abrt: u64,
    pub srv_abrt: u64,
    /// Compression counters.
    pub comp: Compression,
    /// Seconds since the last session, -1 when none yet.
    pub lastsess: i64,
    /// Average/maximum times.
    pub timings: Timings,
    /// Cookie name (shown with legends only).
    pub cookie: Option<String>,
    /// `balance` algorithm name (shown with legends only).
    pub algo: String,
    /// Connections established and reused.
    pub connect: u64,
    pub reuse: u64,
    /// Cache lookups and hits.
    pub cache_lookups: u64,
    pub cache_hits: u64,
    /// `agg_server_status`, `agg_server_check_status`, `agg_check_status`.
    pub agg: [u32; 3],
    /// Counters after `-`.
    pub modules: ModuleCounters,
}

/// Process facts for `show info` and the HTML page's header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Info {
    /// `2.6.12-1+deb12u4`.
    pub version: String,
    /// `2026/10/17`.
    pub release_date: String,
    pub nbthread: u32,
    pub nbproc: u32,
    /// Relative process number (the `pid` CSV column).
    pub process_num: u32,
    /// The system pid.
    pub pid: u32,
    pub uptime_sec: u64,
    /// `Memmax_MB` (0 = unlimited).
    pub memmax_mb: u64,
    /// Bytes allocated and used by the pools, allocation failures.
    pub pool_alloc_bytes: u64,
    pub pool_used_bytes: u64,
    pub pool_failed: u64,
    pub ulimit_n: u64,
    pub maxsock: u64,
    pub maxconn: u64,
    pub hard_maxconn: u64,
    pub curr_conns: u64,
    pub cum_conns: u64,
    pub cum_req: u64,
    pub max_ssl_conns: u64,
    pub curr_ssl_conns: u64,
    pub cum_ssl_conns: u64,
    pub maxpipes: u64,
    pub pipes_used: u64,
    pub pipes_free: u64,
    pub conn_rate: u64,
    pub conn_rate_limit: u64,
    pub max_conn_rate: u64,
    pub sess_rate: u64,
    pub sess_rate_limit: u64,
    pub max_sess_rate: u64,
    pub ssl_rate: u64,
    pub ssl_rate_limit: u64,
    pub max_ssl_rate: u64,
    pub ssl_frontend_key_rate: u64,
    pub ssl_frontend_max_key_rate: u64,
    pub ssl_frontend_session_reuse_pct: u64,
    pub ssl_backend_key_rate: u64,
    pub ssl_backend_max_key_rate: u64,
    pub ssl_cache_lookups: u64,
    pub ssl_cache_misses: u64,
    pub compress_bps_in: u64,
    pub compress_bps_out: u64,
    pub compress_bps_rate_lim: u64,
    pub tasks: u64,
    pub run_queue: u64,
    pub idle_pct: u64,
    /// `node` (the host name unless `node` is set).
    pub node: String,
    /// `description`, shown in `show info` only when set.
    pub description: Option<String>,
    pub stopping: bool,
    pub jobs: u64,
    pub unstoppable_jobs: u64,
    pub listeners: u64,
    pub active_peers: u64,
    pub connected_peers: u64,
    pub dropped_logs: u64,
    pub busy_polling: u64,
    pub failed_resolutions: u64,
    pub total_bytes_out: u64,
    pub total_spliced_bytes_out: u64,
    pub bytes_out_rate: u64,
    /// Outgoing bits per second as the HTML page shows it (`bit rate = 44.049 kbps`);
    /// haproxy reads it from a finer counter than `BytesOutRate`, hence its own field.
    pub bit_rate: f64,
    pub debug_commands_issued: u64,
    pub cum_recv_logs: u64,
    /// `Build info` (the version again on Debian's build).
    pub build_info: String,
    /// Process start, seconds since the epoch.
    pub start_time_sec: u64,
    /// Taint flags (`Tainted`).
    pub tainted: u64,
}
