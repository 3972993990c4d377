//! haproxy 2.6's CSV statistics (`;csv` on the stats page, `show stat` on the socket).
//!
//! Columns are 2.6's 103 static fields, the `-` marker, then the SSL, H2 and H1 module
//! counters. Which fields a row type leaves empty was read off 2.6.12's own output
//! (fixtures/haproxy/stats/). Every line ends with a comma; no empty line at the end
//! (the CLI adds one, see [`show_stat`]).

use super::snapshot::{
    BackendStats, CheckStats, Compression, FrontendStats, HttpCounters, ListenerStats,
    ModuleCounters, ProxyStats, ServerStats, Snapshot, Timings, Traffic,
};
use crate::model::haproxy::Mode;

/// The header line, as 2.6 prints it (`agg_server_check_status` is 2.6's spelling).
pub const HEADER: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,";

/// How the CSV is asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// Show `addr`, `cookie` and `algo`: always on the CLI; on the HTTP page only with
    /// `stats show-legends` (2.6 leaves them empty otherwise).
    pub legends: bool,
}

/// The CSV export as the stats page sends it (`/uri;csv`).
pub fn csv(snapshot: &Snapshot, opts: CsvOptions) -> String {
    let mut out = String::with_capacity(1024 * (1 + snapshot.proxies.len()));
    out.push_str(HEADER);
    out.push('\n');
    let pid = snapshot.info.process_num;
    for px in &snapshot.proxies {
        for line in proxy_lines(px, pid, opts) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// `show stat` on the stats socket: the CSV with legends, then the CLI's empty line.
pub fn show_stat(snapshot: &Snapshot) -> String {
    let mut out = csv(snapshot, CsvOptions { legends: true });
    out.push('\n');
    out
}

/// The lines of one proxy: FRONTEND, listeners, servers, BACKEND.
fn proxy_lines(px: &ProxyStats, pid: u32, opts: CsvOptions) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(fe) = &px.frontend {
        lines.push(frontend_row(px, fe, pid).finish());
    }
    for li in &px.listeners {
        lines.push(listener_row(px, li, pid, opts).finish());
    }
    for sv in &px.servers {
        lines.push(server_row(px, sv, pid, opts).finish());
    }
    if let Some(be) = &px.backend {
        lines.push(backend_row(px, be, pid, opts).finish());
    }
    lines
}

/// One CSV line under construction; every push appends a field and its comma.
struct Row {
    line: String,
    fields: usize,
}

impl Row {
    fn new(pxname: &str, svname: &str) -> Row {
        let mut row = Row {
            line: String::with_capacity(512),
            fields: 0,
        };
        row.s(pxname).s(svname);
        row
    }

    /// A text field, quoted when it holds a separator, a quote or a line break.
    fn s(&mut self, value: &str) -> &mut Row {
        if value.contains([',', '"', '\n', '\r']) {
            self.line.push('"');
            self.line.push_str(&value.replace('"', "\"\""));
            self.line.push('"');
        } else {
            self.line.push_str(value);
        }
        self.line.push(',');
        self.fields += 1;
        self
    }

    fn n(&mut self, value: impl std::fmt::Display) -> &mut Row {
        self.s(&value.to_string())
    }

    fn o<T: std::fmt::Display>(&mut self, value: Option<T>) -> &mut Row {
        match value {
            Some(v) => self.n(v),
            None => self.e(1),
        }
    }

    /// `count` empty fields.
    fn e(&mut self, count: usize) -> &mut Row {
        for _ in 0..count {
            self.s("");
        }
        self
    }

    fn all(&mut self, values: &[u64]) -> &mut Row {
        for v in values {
            self.n(v);
        }
        self
    }

    fn finish(&self) -> String {
        debug_assert_eq!(self.fields, 128, "2.6 rows have 128 fields");
        self.line.clone()
    }
}

fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Http => "http",
        Mode::Tcp => "tcp",
        Mode::Health => "health",
    }
}

/// Fields 2.6 fills only in HTTP mode (responses by class, cache, intercepted…).
fn http_only(row: &mut Row, mode: Mode, values: &[u64]) {
    if mode == Mode::Http {
        row.all(values);
    } else {
        row.e(values.len());
    }
}

/// `hrsp_1xx` … `hrsp_other` (39–44).
fn hrsp(row: &mut Row, mode: Mode, http: &HttpCounters) {
    http_only(row, mode, &http.hrsp);
}

fn comp(row: &mut Row, comp: &Compression) {
    row.n(comp.comp_in)
        .n(comp.comp_out)
        .n(comp.comp_byp)
        .n(comp.comp_rsp);
}

fn modules(row: &mut Row, m: &ModuleCounters) {
    row.s("-").all(&m.ssl);
    match &m.h2 {
        Some(h2) => row.all(h2),
        None => row.e(13),
    };
    match &m.h1 {
        Some(h1) => row.all(h1),
        None => row.e(8),
    };
}

/// scur, smax, slim, stot, bin, bout (4–9).
fn sessions(row: &mut Row, t: &Traffic) {
    row.n(t.scur)
        .n(t.smax)
        .o(t.slim)
        .n(t.stot)
        .n(t.bin)
        .n(t.bout);
}

fn frontend_row(px: &ProxyStats, fe: &FrontendStats, pid: u32) -> Row {
    let mut r = Row::new(&px.name, "FRONTEND");
    r.e(2);
    sessions(&mut r, &fe.traffic);
    r.n(fe.dreq).n(fe.traffic.dresp).n(fe.ereq).e(4);
    r.s(&fe.status).e(8); // status; weight … qlimit
    r.n(pid).n(px.iid).n(0).e(3).n(0); // pid iid sid throttle lbtot tracked type
    r.n(fe.rate).n(fe.rate_lim).n(fe.rate_max).e(3);
    hrsp(&mut r, px.mode, &fe.http);
    // hanafail empty; the request counters stay (as 0) even in TCP mode.
    r.e(1)
        .n(fe.req_rate)
        .n(fe.req_rate_max)
        .n(fe.http.req_tot)
        .e(2);
    comp(&mut r, &fe.comp);
    r.e(19); // lastsess … addr
    r.e(1).s(mode_word(px.mode)).e(1); // cookie mode algo
    r.n(fe.conn_rate).n(fe.conn_rate_max).n(fe.conn_tot);
    http_only(&mut r, px.mode, &[fe.intercepted]);
    r.n(fe.dcon).n(fe.dses).n(fe.traffic.wrew);
    r.e(2);
    http_only(&mut r, px.mode, &[fe.cache_lookups, fe.cache_hits]);
    r.e(6);
    r.n(fe.traffic.eint).e(8);
    modules(&mut r, &fe.modules);
    r
}

fn listener_row(px: &ProxyStats, li: &ListenerStats, pid: u32, opts: CsvOptions) -> Row {
    let mut r = Row::new(&px.name, &li.name);
    r.e(2);
    sessions(&mut r, &li.traffic);
    r.n(li.dreq).n(li.traffic.dresp).n(li.ereq).e(4);
    r.s(&li.status).e(8);
    r.n(pid).n(px.iid).n(li.sid).e(3).n(3); // type 3 = listener
    r.e(40); // rate … agent_health
    r.s(if opts.legends { &li.addr } else { "" });
    r.e(1).s(mode_word(px.mode)).e(5);
    r.n(li.dcon).n(li.dses).n(li.traffic.wrew).e(10);
    r.n(li.traffic.eint).e(8);
    modules(&mut r, &li.modules);
    r
}

fn timings(r: &mut Row, t: &Timings) {
    r.all(&t.avg);
}

fn check_fields(r: &mut Row, check: Option<&CheckStats>) {
    match check {
        Some(c) => {
            r.s(&c.status).o(c.code).o(c.duration);
        }
        None => {
            r.e(3);
        }
    }
}

fn server_row(px: &ProxyStats, sv: &ServerStats, pid: u32, opts: CsvOptions) -> Row {
    let check = sv.check.as_ref();
    let t = &sv.traffic;
    let mut r = Row::new(&px.name, &sv.name);
    r.n(sv.qcur).n(sv.qmax);
    sessions(&mut r, t);
    r.e(1).n(t.dresp).e(1);
    r.n(sv.econ).n(sv.eresp).n(sv.wretr).n(sv.wredis);
    r.s(&sv.status).n(sv.weight);
    r.n(u8::from(!sv.backup)).n(u8::from(sv.backup));
    r.o(check.map(|c| c.failed)).o(check.map(|c| c.down_trans));
    r.n(sv.lastchg).o(check.map(|c| c.downtime)).o(sv.qlimit);
    r.n(pid).n(px.iid).n(sv.sid).o(sv.throttle).n(sv.lbtot);
    r.s(sv.tracked.as_deref().unwrap_or("")).n(2);
    r.n(sv.rate).e(1).n(sv.rate_max);
    check_fields(&mut r, check);
    hrsp(&mut r, px.mode, &sv.http);
    r.o(sv.hanafail).e(2);
    if px.mode == Mode::Http {
        r.n(sv.http.req_tot);
    } else {
        r.e(1);
    }
    r.n(sv.cli_abrt).n(sv.srv_abrt).e(4);
    r.n(sv.lastsess);
    r.s(check.map_or("", |c| c.info.as_str())).e(1);
    timings(&mut r, &sv.timings);
    r.e(3); // agent_status … agent_duration
    r.s(check.map_or("", |c| c.desc.as_str())).e(1);
    r.o(check.map(|c| c.rise))
        .o(check.map(|c| c.fall))
        .o(check.map(|c| c.health));
    r.e(3);
    legend_fields(&mut r, opts, &sv.addr, sv.cookie.as_deref());
    r.s(mode_word(px.mode)).e(1); // mode algo
    r.e(6).n(t.wrew).n(sv.connect).n(sv.reuse).e(2);
    r.n(sv.srv_icur).o(sv.src_ilim).all(&sv.timings.max);
    r.n(t.eint)
        .n(sv.idle_conn_cur)
        .n(sv.safe_conn_cur)
        .n(sv.used_conn_cur)
        .n(sv.need_conn_est)
        .n(sv.uweight)
        .e(3);
    modules(
        &mut r,
        &ModuleCounters {
            ssl: sv.ssl,
            h2: None,
            h1: None,
        },
    );
    r
}

/// `addr` and `cookie`: only shown with legends.
fn legend_fields(r: &mut Row, opts: CsvOptions, addr: &str, cookie: Option<&str>) {
    if opts.legends {
        r.s(addr).s(cookie.unwrap_or(""));
    } else {
        r.e(2);
    }
}

fn backend_row(px: &ProxyStats, be: &BackendStats, pid: u32, opts: CsvOptions) -> Row {
    let t = &be.traffic;
    let mut r = Row::new(&px.name, "BACKEND");
    r.n(be.qcur).n(be.qmax);
    sessions(&mut r, t);
    r.n(be.dreq).n(t.dresp).e(1);
    r.n(be.econ).n(be.eresp).n(be.wretr).n(be.wredis);
    r.s(&be.status).n(be.weight).n(be.act).n(be.bck).e(1);
    r.n(be.chkdown).n(be.lastchg).o(be.downtime).e(1);
    r.n(pid).n(px.iid).n(0).e(1).n(be.lbtot).e(1).n(1);
    r.n(be.rate).e(1).n(be.rate_max).e(3);
    hrsp(&mut r, px.mode, &be.http);
    r.e(3);
    if px.mode == Mode::Http {
        r.n(be.http.req_tot);
    } else {
        r.e(1);
    }
    r.n(be.cli_abrt).n(be.srv_abrt);
    comp(&mut r, &be.comp);
    r.n(be.lastsess).e(2);
    timings(&mut r, &be.timings);
    r.e(11); // agent_status … agent_health
    legend_fields(&mut r, opts, "", be.cookie.as_deref());
    r.s(mode_word(px.mode));
    r.s(if opts.legends { &be.algo } else { "" });
    r.e(6)
        .n(t.wrew) // conn_rate … dses: empty on 2.6 backends, intercepted too
        .n(be.connect)
        .n(be.reuse);
    http_only(&mut r, px.mode, &[be.cache_lookups, be.cache_hits]);
    r.e(2);
    r.all(&be.timings.max).n(t.eint).e(4).n(be.uweight);
    for a in be.agg {
        r.n(a);
    }
    modules(&mut r, &be.modules);
    r
}
