//! haproxy 2.6's HTML statistics page: the fixed head (style sheet), the process block,
//! the legend and display options, then one table per proxy (rows in [`rows`]).
//! Byte for byte what 2.6.12 sends for the recorded pages (fixtures/haproxy/stats/);
//! variants not recorded (`;up` links, `;norefresh` state, hide-version) follow the same
//! pattern and are marked where they are a reading rather than an observation.

mod rows;

pub use rows::{human_time, num};

use std::fmt::Write as _;

use super::info::uptime;
use super::snapshot::{Info, ProxyStats, Snapshot};
use crate::model::haproxy::{Mode, ProxyKind};

/// Everything before `<body>`: doctype, title and the style sheet, as 2.6 sends it.
const HEAD: &str = include_str!("head.html");

/// How the page was asked for and how the proxy's `stats` settings shape it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageOptions {
    /// The `stats uri` prefix the links are built on (`/hadmin`).
    pub uri: String,
    /// `stats refresh` in seconds (`None` = not set).
    pub refresh: Option<u64>,
    /// `;norefresh` was in the request.
    pub norefresh: bool,
    /// `;up` was in the request (hide DOWN servers).
    pub hide_down: bool,
    /// `stats hide-version`.
    pub hide_version: bool,
    /// `stats show-legends` (tool-tips with ids, addresses and algorithms).
    pub legends: bool,
    /// `stats admin` applies to this request: a checkbox column and action forms.
    pub admin: bool,
}

/// The page body as 2.6 renders it for `snapshot` (response headers are the caller's:
/// `cache-control: no-cache`, `content-type: text/html`, `refresh: N` when set).
pub fn html(snapshot: &Snapshot, opts: &PageOptions) -> String {
    let mut out = String::with_capacity(32 * 1024);
    out.push_str(HEAD);
    body_top(&mut out, &snapshot.info, opts);
    for px in &snapshot.proxies {
        if opts.hide_down {
            let mut shown = px.clone();
            shown.servers.retain(|s| !s.status.starts_with("DOWN"));
            proxy_table(&mut out, &shown, opts);
        } else {
            proxy_table(&mut out, px, opts);
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// `2.6` from `2.6.12-1+deb12u4`: the branch named in the "Updates" link.
fn branch(version: &str) -> &str {
    let mut dots = version.match_indices('.');
    match dots.nth(1) {
        Some((end, _)) => &version[..end],
        None => version.split('-').next().unwrap_or(version),
    }
}

/// haproxy's bit-rate text: three decimals and a unit prefix (`44.049 kbps`).
fn bit_rate(bps: f64) -> String {
    const UNITS: [&str; 5] = ["", "k", "M", "G", "T"];
    let mut value = bps;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} bps", value as u64)
    } else {
        format!("{value:.3} {}bps", UNITS[unit])
    }
}

/// The legend of row colours (fixed text).
const LEGEND: &str = "<table class=\"lgd\"><tr>
<td class=\"active_up\">&nbsp;</td><td class=\"noborder\">active UP </td><td class=\"backup_up\">&nbsp;</td><td class=\"noborder\">backup UP </td></tr><tr>
<td class=\"active_going_down\"></td><td class=\"noborder\">active UP, going down </td><td class=\"backup_going_down\"></td><td class=\"noborder\">backup UP, going down </td></tr><tr>
<td class=\"active_going_up\"></td><td class=\"noborder\">active DOWN, going up </td><td class=\"backup_going_up\"></td><td class=\"noborder\">backup DOWN, going up </td></tr><tr>
<td class=\"active_down\"></td><td class=\"noborder\">active or backup DOWN &nbsp;</td><td class=\"active_no_check\"></td><td class=\"noborder\">not checked </td></tr><tr>
<td class=\"maintain\"></td><td class=\"noborder\" colspan=\"3\">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>
<td class=\"active_draining\"></td><td class=\"noborder\" colspan=\"3\">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>
Note: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td>";

/// Title, process information, legend, display options and external links.
fn body_top(out: &mut String, i: &Info, opts: &PageOptions) {
    out.push_str("<body><h1><a href=\"http://www.haproxy.org/\" style=\"text-decoration: none;\">");
    if opts.hide_version {
        // Reading of 2.6: the link keeps the product name only.
        out.push_str("HAProxy");
    } else {
        let _ = write!(
            out,
            "HAProxy version {}, released {}",
            i.version, i.release_date
        );
    }
    out.push_str("</a></h1>\n");
    let memmax = if i.memmax_mb == 0 {
        "unlimited".to_string()
    } else {
        format!("{} MB", i.memmax_mb)
    };
    let _ = write!(
        out,
        "<h2>Statistics Report for pid {pid}</h2>\n\
<hr width=\"100%\" class=\"hr\">\n\
<h3>&gt; General process information</h3>\n\
<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n\
<p><b>pid = </b> {pid} (process #{num}, nbproc = {nbproc}, nbthread = {nbthread})<br>\n\
<b>uptime = </b> {up}<br>\n\
<b>system limits:</b> memmax = {memmax}; ulimit-n = {ulimit}<br>\n\
<b>maxsock = </b> {maxsock}; <b>maxconn = </b> {maxconn}; <b>maxpipes = </b> {maxpipes}<br>\n\
current conns = {conns}; current pipes = {pused}/{ptotal}; conn rate = {crate}/sec; bit rate = {bits}<br>\n\
Running tasks: {runq}/{tasks}; idle = {idle} %<br>\n\
</td><td align=\"center\" nowrap>\n",
        pid = i.pid,
        num = i.process_num,
        nbproc = i.nbproc,
        nbthread = i.nbthread,
        up = uptime(i.uptime_sec),
        ulimit = i.ulimit_n,
        maxsock = i.maxsock,
        maxconn = i.maxconn,
        maxpipes = i.maxpipes,
        conns = i.curr_conns,
        pused = i.pipes_used,
        ptotal = i.pipes_used + i.pipes_free,
        crate = i.conn_rate,
        bits = bit_rate(i.bit_rate),
        runq = i.run_queue,
        tasks = i.tasks,
        idle = i.idle_pct,
    );
    out.push_str(LEGEND);
    display_options(out, opts);
    let _ = write!(
        out,
        "<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>External resources:</b><ul style=\"margin-top: 0.25em;\">\n\
<li><a href=\"http://www.haproxy.org/\">Primary site</a><br>\n\
<li><a href=\"http://www.haproxy.org/#down\">Updates (v{})</a><br>\n\
<li><a href=\"http://www.haproxy.org/#docs\">Online manual</a><br>\n\
</ul></td></tr></table>\n",
        branch(&i.version)
    );
}

/// The "Display option" column: scope box and the links that keep the current flags.
fn display_options(out: &mut String, opts: &PageOptions) {
    let uri = &opts.uri;
    let refresh = opts.refresh.is_some();
    let up = if opts.hide_down { ";up" } else { "" };
    let norefresh = if opts.norefresh { ";norefresh" } else { "" };
    out.push_str("<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\"><li><form method=\"GET\">Scope : <input value=\"\" name=\"scope\" size=\"8\" maxlength=\"20\" tabindex=\"1\"/></form>\n");
    if opts.hide_down {
        let _ = writeln!(
            out,
            "<li><a href=\"{uri}{norefresh}\">Show all servers</a><br>"
        );
    } else {
        let _ = writeln!(
            out,
            "<li><a href=\"{uri};up{norefresh}\">Hide 'DOWN' servers</a><br>"
        );
    }
    if refresh {
        if opts.norefresh {
            let _ = writeln!(out, "<li><a href=\"{uri}{up}\">Enable refresh</a><br>");
        } else {
            let _ = writeln!(
                out,
                "<li><a href=\"{uri}{up};norefresh\">Disable refresh</a><br>"
            );
        }
    }
    let _ = writeln!(
        out,
        "<li><a href=\"{uri}{up}{norefresh}\">Refresh now</a><br>"
    );
    // With a refresh configured, the exports ask for no refresh header.
    let export = if refresh { ";norefresh" } else { "" };
    let _ = write!(
        out,
        "<li><a href=\"{uri};csv{export}\">CSV export</a><br>\n\
<li><a href=\"{uri};json{export}\">JSON export</a> (<a href=\"{uri};json-schema\">schema</a>)<br>\n\
</ul></td>"
    );
}

fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Http => "http",
        Mode::Tcp => "tcp",
        Mode::Health => "health",
    }
}

/// The two column-title rows every proxy table starts with.
const TITLES: &str = "<th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n<tr class=\"titre\"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>";

/// The admin actions offered on checked servers (value, label).
const ACTIONS: [(&str, &str); 14] = [
    ("", ""),
    ("ready", "Set state to READY"),
    ("drain", "Set state to DRAIN"),
    ("maint", "Set state to MAINT"),
    ("dhlth", "Health: disable checks"),
    ("ehlth", "Health: enable checks"),
    ("hrunn", "Health: force UP"),
    ("hnolb", "Health: force NOLB"),
    ("hdown", "Health: force DOWN"),
    ("dagent", "Agent: disable checks"),
    ("eagent", "Agent: enable checks"),
    ("arunn", "Agent: force UP"),
    ("adown", "Agent: force DOWN"),
    ("shutdown", "Kill Sessions"),
];

/// One proxy: name table, titles, rows, and the admin form when it applies.
fn proxy_table(out: &mut String, px: &ProxyStats, opts: &PageOptions) {
    let name = &px.name;
    // Forms only where there are servers to act on.
    let form = opts.admin && px.backend.is_some() && !px.servers.is_empty();
    if form {
        out.push_str("<form method=\"post\">");
    }
    let _ = write!(
        out,
        "<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%\"><a name=\"{name}\"></a>"
    );
    if opts.legends {
        let cap = match px.kind {
            ProxyKind::Frontend => "frontend",
            ProxyKind::Backend => "backend",
            _ => "proxy",
        };
        let _ = write!(
            out,
            "<u><a class=px href=\"#{name}\">{name}</a><div class=tips>cap: {cap}, mode: {}, id: {}</div></u>",
            mode_word(px.mode),
            px.iid
        );
    } else {
        let _ = write!(out, "<a class=px href=\"#{name}\">{name}</a>");
    }
    out.push_str("</th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>\n<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\">");
    if form {
        let _ = write!(
            out,
            "<th rowspan=2 width=1><input type=\"checkbox\" onclick=\"for(c in document.getElementsByClassName('{name}-checkbox')) document.getElementsByClassName('{name}-checkbox').item(c).checked = this.checked\"></th>"
        );
    } else if opts.admin {
        out.push_str("<th rowspan=2></th>");
    }
    out.push_str("<th rowspan=2></th>");
    out.push_str(TITLES);
    if let Some(fe) = &px.frontend {
        rows::frontend(out, px, fe, opts);
    }
    for sv in &px.servers {
        rows::server(out, px, sv, opts);
    }
    if let Some(be) = &px.backend {
        rows::backend(out, px, be, opts);
    }
    out.push_str("</table>");
    if form {
        out.push_str("Choose the action to perform on the checked servers : <select name=action>");
        for (value, label) in ACTIONS {
            let _ = write!(out, "<option value=\"{value}\">{label}</option>");
        }
        let _ = write!(
            out,
            "</select><input type=\"hidden\" name=\"b\" value=\"#{}\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>",
            px.iid
        );
    }
    out.push_str("<p>\n");
}
