//! The rows of a proxy table on 2.6's HTML page: FRONTEND, servers, BACKEND, with their
//! tool-tips. Numbers go through [`num`] (haproxy's thousands marking).

use std::fmt::Write as _;

use super::PageOptions;
use crate::model::haproxy::Mode;
use crate::proxy::stats::snapshot::{
    BackendStats, Compression, FrontendStats, HttpCounters, ProxyStats, ServerStats, Timings,
};

/// A number as the page prints it: the digit before each group of three wrapped in
/// `<span class="rls">` (letter-spacing marks thousands): 9985 → `<span class="rls">9</span>985`.
pub fn num(value: u64) -> String {
    let digits = value.to_string();
    let len = digits.len();
    let mut out = String::with_capacity(len + 32);
    for (i, c) in digits.chars().enumerate() {
        let after = len - 1 - i;
        if after > 0 && after % 3 == 0 {
            let _ = write!(out, "<span class=\"rls\">{c}</span>");
        } else {
            out.push(c);
        }
    }
    out
}

/// haproxy's short duration: at most two non-zero units (`0s`, `3s`, `1m5s`, `2h3m`,
/// `1d5s`); `?` when unknown.
pub fn human_time(secs: Option<u64>) -> String {
    let Some(t) = secs else {
        return "?".into();
    };
    let mut out = String::new();
    let mut units = 0;
    for (value, label) in [
        (t / 86400, 'd'),
        (t % 86400 / 3600, 'h'),
        (t % 3600 / 60, 'm'),
        (t % 60, 's'),
    ] {
        if units < 2 && value > 0 {
            let _ = write!(out, "{value}{label}");
            units += 1;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

fn pct(part: u64, whole: u64) -> u64 {
    (part * 100).checked_div(whole).unwrap_or(0)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line of a tool-tip table.
fn tip(out: &mut String, label: &str, value: &str) {
    let _ = write!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
}

/// A tool-tip line with a percentage cell.
fn tip_pct(out: &mut String, label: &str, value: u64, pct: u64) {
    let _ = write!(
        out,
        "<tr><th>{label}</th><td>{}</td><td>({pct}%)</td></tr>",
        num(value)
    );
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Response classes for frontends and backends (with the compressed 2xx line).
fn responses(out: &mut String, http: &HttpCounters, comp_rsp: u64) {
    for (i, class) in CLASSES.iter().enumerate() {
        tip(
            out,
            &format!("- HTTP {class} responses:"),
            &num(http.hrsp[i]),
        );
        if i == 1 {
            tip_pct(
                out,
                "&nbsp;&nbsp;Compressed 2xx:",
                comp_rsp,
                pct(comp_rsp, http.hrsp[1]),
            );
        }
    }
    tip(out, "- other responses:", &num(http.hrsp[5]));
}

/// The Out cell of frontends and backends, with its compression tool-tip.
fn bytes_out(out: &mut String, bout: u64, c: &Compression) {
    let saved = c.comp_in.saturating_sub(c.comp_out);
    let _ = write!(out, "<td>{}<div class=tips><table class=det>", num(bout));
    tip(out, "Response bytes in:", &num(bout));
    tip(out, "Compression in:", &num(c.comp_in));
    tip_pct(
        out,
        "Compression out:",
        c.comp_out,
        pct(c.comp_out, c.comp_in),
    );
    tip(out, "Compression bypass:", &num(c.comp_byp));
    tip_pct(out, "Total bytes saved:", saved, pct(saved, bout));
    out.push_str("</table></div></td>");
}

/// The Max / Avg block closing server and backend session tool-tips (no response
/// time in TCP mode).
fn timings(out: &mut String, t: &Timings, http: bool) {
    out.push_str("<tr><th colspan=3>Max / Avg over last 1024 success. conn.</th></tr>");
    for (i, label) in ["Queue", "Connect", "Responses", "Total"]
        .iter()
        .enumerate()
    {
        if i == 2 && !http {
            continue;
        }
        let _ = write!(
            out,
            "<tr><th>- {label} time:</th><td>{} / {}</td><td>ms</td></tr>",
            num(t.max[i]),
            num(t.avg[i])
        );
    }
}

fn admin_cell(out: &mut String, opts: &PageOptions) {
    if opts.admin {
        out.push_str("<td></td>");
    }
}

/// Errors Resp with the aborts tool-tip (servers and backends).
fn eresp(out: &mut String, eresp: u64, cli: u64, srv: u64) {
    let _ = write!(
        out,
        "<td><u>{}<div class=tips>Connection resets during transfers: {cli} client, {srv} server</div></u></td>",
        num(eresp)
    );
}

/// The FRONTEND row.
pub fn frontend(out: &mut String, px: &ProxyStats, fe: &FrontendStats, opts: &PageOptions) {
    let http = px.mode == Mode::Http;
    let name = &px.name;
    let t = &fe.traffic;
    out.push_str("<tr class=\"frontend\">");
    admin_cell(out, opts);
    let _ = write!(
        out,
        "<td class=ac><a name=\"{name}/Frontend\"></a><a class=lfsb href=\"#{name}/Frontend\">Frontend</a></td><td colspan=3></td>"
    );
    for (head, now, conn, req) in [
        ("Current", fe.rate, fe.conn_rate, fe.req_rate),
        ("Max", fe.rate_max, fe.conn_rate_max, fe.req_rate_max),
    ] {
        let _ = write!(out, "<td><u>{}<div class=tips><table class=det>", num(now));
        tip(
            out,
            &format!("{head} connection rate:"),
            &format!("{}/s", num(conn)),
        );
        tip(
            out,
            &format!("{head} session rate:"),
            &format!("{}/s", num(now)),
        );
        if http {
            tip(
                out,
                &format!("{head} request rate:"),
                &format!("{}/s", num(req)),
            );
        }
        out.push_str("</table></div></u></td>");
    }
    let limit = if fe.rate_lim == 0 {
        "-".into()
    } else {
        num(fe.rate_lim)
    };
    let _ = write!(
        out,
        "<td>{limit}</td><td>{}</td><td>{}</td><td>{}</td>",
        num(t.scur),
        num(t.smax),
        t.slim.map_or("-".into(), num)
    );
    let _ = write!(
        out,
        "<td><u>{}<div class=tips><table class=det>",
        num(t.stot)
    );
    tip(out, "Cum. connections:", &num(fe.conn_tot));
    tip(out, "Cum. sessions:", &num(t.stot));
    if http {
        tip(out, "Cum. HTTP requests:", &num(fe.http.req_tot));
        responses(out, &fe.http, fe.comp.comp_rsp);
        tip(out, "Intercepted requests:", &num(fe.intercepted));
        tip(out, "Cache lookups:", &num(fe.cache_lookups));
        tip_pct(
            out,
            "Cache hits:",
            fe.cache_hits,
            pct(fe.cache_hits, fe.cache_lookups),
        );
        tip(out, "Failed hdr rewrites:", &num(t.wrew));
        tip(out, "Internal errors:", &num(t.eint));
    }
    let _ = write!(
        out,
        "</table></div></u></td><td></td><td></td><td>{}</td>",
        num(t.bin)
    );
    bytes_out(out, t.bout, &fe.comp);
    let _ = write!(
        out,
        "<td>{}</td><td>{}</td><td>{}</td><td></td><td></td><td></td><td></td><td class=ac>{}</td><td class=ac colspan=8></td></tr>",
        num(fe.dreq),
        num(t.dresp),
        num(fe.ereq),
        escape(&fe.status)
    );
}

/// The CSS class of a server row, from its state word and role.
fn server_class(sv: &ServerStats) -> String {
    let role = if sv.backup { "backup" } else { "active" };
    let status = sv.status.as_str();
    let state = if status.starts_with("MAINT") {
        return "maintain".into();
    } else if status.starts_with("DRAIN") {
        "draining"
    } else if status == "no check" {
        "no_check"
    } else if status.starts_with("NOLB") {
        "nolb"
    } else if status.starts_with("UP ") {
        "going_down"
    } else if status.starts_with("UP") {
        "up"
    } else if status.starts_with("DOWN ") {
        "going_up"
    } else {
        "down"
    };
    format!("{role}_{state}")
}

/// `IPv4: 127.0.0.1:18081, id: 1` (the address family read off the address text).
fn server_tip(sv: &ServerStats) -> String {
    let family = if sv.addr.starts_with('/') || sv.addr.starts_with("unix@") {
        "unix"
    } else if sv.addr.matches(':').count() > 1 {
        "IPv6"
    } else {
        "IPv4"
    };
    let mut tip = format!("{family}: {}, id: {}", sv.addr, sv.sid);
    if let Some(cookie) = &sv.cookie {
        let _ = write!(tip, ", cookie: '{}'", escape(cookie));
    }
    tip
}

/// A server row.
pub fn server(out: &mut String, px: &ProxyStats, sv: &ServerStats, opts: &PageOptions) {
    let (name, sname) = (&px.name, &sv.name);
    let t = &sv.traffic;
    let _ = write!(out, "<tr class=\"{}\">", server_class(sv));
    if opts.admin {
        let _ = write!(
            out,
            "<td><input class='{name}-checkbox' type=\"checkbox\" name=\"s\" value=\"{sname}\"></td>"
        );
    }
    let _ = write!(out, "<td class=ac><a name=\"{name}/{sname}\"></a>");
    if opts.legends {
        let _ = write!(
            out,
            "<u><a class=lfsb href=\"#{name}/{sname}\">{sname}</a><div class=tips>{}</div></u>",
            server_tip(sv)
        );
    } else {
        let _ = write!(out, "<a class=lfsb href=\"#{name}/{sname}\">{sname}</a>");
    }
    let limit = |v: Option<u64>| v.map_or("-".into(), num);
    let _ = write!(
        out,
        "</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td><td><u>{}<div class=tips><table class=det>",
        num(sv.qcur),
        num(sv.qmax),
        limit(sv.qlimit),
        num(sv.rate),
        num(sv.rate_max),
        num(t.scur)
    );
    tip(out, "Current active connections:", &num(t.scur));
    tip(out, "Current used connections:", &num(sv.used_conn_cur));
    tip(out, "Current idle connections:", &num(sv.srv_icur));
    tip(out, "- unsafe:", &num(sv.idle_conn_cur));
    tip(out, "- safe:", &num(sv.safe_conn_cur));
    tip(
        out,
        "Estimated need of connections:",
        &num(sv.need_conn_est),
    );
    tip(out, "Active connections limit:", &limit(t.slim));
    tip(out, "Idle connections limit:", &limit(sv.src_ilim));
    let _ = write!(
        out,
        "</table></div></u></td><td>{}</td><td>{}</td><td><u>{}<div class=tips><table class=det>",
        num(t.smax),
        limit(t.slim),
        num(t.stot)
    );
    tip(out, "Cum. sessions:", &num(t.stot));
    let http = px.mode == Mode::Http;
    // TCP mode goes straight from the session count to the timings.
    if http {
        tip(out, "New connections:", &num(sv.connect));
        tip_pct(
            out,
            "Reused connections:",
            sv.reuse,
            pct(sv.reuse, sv.connect + sv.reuse),
        );
        tip(out, "Cum. HTTP requests:", &num(sv.http.req_tot));
        for (i, class) in CLASSES.iter().enumerate() {
            let n = sv.http.hrsp[i];
            tip_pct(
                out,
                &format!("- HTTP {class} responses:"),
                n,
                pct(n, sv.http.req_tot),
            );
        }
        let other = sv.http.hrsp[5];
        tip_pct(
            out,
            "- other responses:",
            other,
            pct(other, sv.http.req_tot),
        );
        tip(out, "Failed hdr rewrites:", &num(t.wrew));
        tip(out, "Internal error:", &num(t.eint));
    }
    timings(out, &sv.timings, http);
    let last = (sv.lastsess >= 0).then_some(sv.lastsess.unsigned_abs());
    let _ = write!(
        out,
        "</table></div></u></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td></td><td>{}</td><td></td><td>{}</td>",
        num(sv.lbtot),
        human_time(last),
        num(t.bin),
        num(t.bout),
        num(t.dresp),
        num(sv.econ)
    );
    eresp(out, sv.eresp, sv.cli_abrt, sv.srv_abrt);
    let _ = write!(out, "<td>{}</td><td>{}</td>", num(sv.wretr), num(sv.wredis));
    if sv.check.is_none() && sv.status == "no check" {
        // Unchecked servers show the word in italics and no age.
        out.push_str("<td class=ac><i>no check</i></td>");
    } else {
        let _ = write!(
            out,
            "<td class=ac>{} {}</td>",
            human_time(Some(sv.lastchg)),
            escape(&sv.status)
        );
    }
    let (act, bck) = if sv.backup { ("-", "Y") } else { ("Y", "-") };
    match &sv.check {
        Some(c) => {
            let code = c.code.map(|code| format!("/{code}")).unwrap_or_default();
            let took = c.duration.map(|d| format!(" in {d}ms")).unwrap_or_default();
            let mut desc = escape(&c.desc);
            if !c.info.is_empty() {
                let _ = write!(desc, ": {}", escape(&c.info));
            }
            let _ = write!(
                out,
                "<td class=ac><u> {}{code}{took}<div class=tips>{desc}</div></u></td>",
                escape(&c.status)
            );
        }
        None => out.push_str("<td></td>"),
    }
    let _ = write!(
        out,
        "<td class=ac>{}/{}</td><td class=ac>{act}</td><td class=ac>{bck}</td>",
        sv.weight, sv.uweight
    );
    match &sv.check {
        Some(c) => {
            let _ = write!(
                out,
                "<td><u>{}<div class=tips>Failed Health Checks</div></u></td><td>{}</td><td>{}</td>",
                num(c.failed),
                num(c.down_trans),
                human_time(Some(c.downtime))
            );
        }
        None => out.push_str("<td colspan=3></td>"),
    }
    match sv.throttle {
        Some(p) => {
            let _ = writeln!(out, "<td class=ac>{p} %</td></tr>");
        }
        None => out.push_str("<td class=ac>-</td></tr>\n"),
    }
}

/// The BACKEND row.
pub fn backend(out: &mut String, px: &ProxyStats, be: &BackendStats, opts: &PageOptions) {
    let name = &px.name;
    let t = &be.traffic;
    out.push_str("<tr class=\"backend\">");
    admin_cell(out, opts);
    let anchor = format!(
        "<a name=\"{name}/Backend\"></a><a class=lfsb href=\"#{name}/Backend\">Backend</a>"
    );
    if opts.legends {
        let _ = write!(
            out,
            "<td class=ac><u>{anchor}<div class=tips>balancing: {}</div></u></td>",
            escape(&be.algo)
        );
    } else {
        let _ = write!(out, "<td class=ac>{anchor}</td>");
    }
    let _ = write!(
        out,
        "<td>{}</td><td>{}</td><td></td><td>{}</td><td>{}</td><td></td><td>{}</td><td>{}</td><td>{}</td><td><u>{}<div class=tips><table class=det>",
        num(be.qcur),
        num(be.qmax),
        num(be.rate),
        num(be.rate_max),
        num(t.scur),
        num(t.smax),
        t.slim.map_or("-".into(), num),
        num(t.stot)
    );
    tip(out, "Cum. sessions:", &num(t.stot));
    let http = px.mode == Mode::Http;
    if http {
        tip(out, "New connections:", &num(be.connect));
        tip_pct(
            out,
            "Reused connections:",
            be.reuse,
            pct(be.reuse, be.connect + be.reuse),
        );
        tip(out, "Cum. HTTP requests:", &num(be.http.req_tot));
        responses(out, &be.http, be.comp.comp_rsp);
        tip(out, "Cache lookups:", &num(be.cache_lookups));
        tip_pct(
            out,
            "Cache hits:",
            be.cache_hits,
            pct(be.cache_hits, be.cache_lookups),
        );
        tip(out, "Failed hdr rewrites:", &num(t.wrew));
        tip(out, "Internal errors:", &num(t.eint));
    }
    timings(out, &be.timings, http);
    let last = (be.lastsess >= 0).then_some(be.lastsess.unsigned_abs());
    let _ = write!(
        out,
        "</table></div></u></td><td>{}</td><td>{}</td><td>{}</td>",
        num(be.lbtot),
        human_time(last),
        num(t.bin)
    );
    bytes_out(out, t.bout, &be.comp);
    let _ = write!(
        out,
        "<td>{}</td><td>{}</td><td></td><td>{}</td>",
        num(be.dreq),
        num(t.dresp),
        num(be.econ)
    );
    eresp(out, be.eresp, be.cli_abrt, be.srv_abrt);
    let downtime = be.downtime.map_or("&nbsp;".into(), |d| human_time(Some(d)));
    let _ = write!(
        out,
        "<td>{}</td><td>{}</td><td class=ac>{} {}</td><td class=ac>&nbsp;</td><td class=ac>{}/{}</td><td class=ac>{}</td><td class=ac>{}</td><td class=ac>&nbsp;</td><td>{}</td><td>{downtime}</td><td></td></tr>",
        num(be.wretr),
        num(be.wredis),
        human_time(Some(be.lastchg)),
        escape(&be.status),
        be.weight,
        be.uweight,
        be.act,
        be.bck,
        num(be.chkdown)
    );
}
