//! The `tcp` capture (fixtures/haproxy/stats/tcp*): a `mode tcp` listen with an unchecked
//! server and a DOWN checked backup, next to a `stats hide-version` page.

use super::recorded::{Fe, frontend, stats_backend};
use super::{assert_same, fixture};
use crate::model::haproxy::{Mode, ProxyKind};
use crate::proxy::stats::*;

fn modules() -> ModuleCounters {
    ModuleCounters {
        ssl: [0; 3],
        h2: Some([0; 13]),
        h1: Some([0; 8]),
    }
}

fn tcpx() -> ProxyStats {
    let idle = FrontendStats {
        traffic: Traffic {
            slim: Some(9992),
            ..Traffic::default()
        },
        status: "OPEN".into(),
        modules: modules(),
        ..FrontendStats::default()
    };
    let n1 = ServerStats {
        name: "n1".into(),
        sid: 1,
        status: "no check".into(),
        weight: 1,
        uweight: 1,
        lastchg: 2,
        lastsess: -1,
        addr: "127.0.0.1:18081".into(),
        ..ServerStats::default()
    };
    let b1 = ServerStats {
        name: "b1".into(),
        sid: 2,
        status: "DOWN".into(),
        weight: 1,
        uweight: 1,
        backup: true,
        lastchg: 2,
        check: Some(CheckStats {
            status: "L4CON".into(),
            duration: Some(0),
            desc: "Layer4 connection problem".into(),
            info: "Connection refused".into(),
            rise: 2,
            fall: 3,
            failed: 1,
            down_trans: 1,
            downtime: 2,
            ..CheckStats::default()
        }),
        lastsess: -1,
        addr: "127.0.0.1:18082".into(),
        need_conn_est: 1,
        ..ServerStats::default()
    };
    let be = BackendStats {
        traffic: Traffic {
            slim: Some(1000),
            ..Traffic::default()
        },
        status: "UP".into(),
        weight: 1,
        act: 1,
        uweight: 1,
        lastchg: 2,
        downtime: Some(0),
        lastsess: -1,
        algo: "roundrobin".into(),
        modules: modules(),
        ..BackendStats::default()
    };
    ProxyStats {
        name: "tcpx".into(),
        iid: 1,
        kind: ProxyKind::Listen,
        mode: Mode::Tcp,
        frontend: Some(idle),
        listeners: Vec::new(),
        servers: vec![n1, b1],
        backend: Some(be),
    }
}

fn capture() -> Snapshot {
    let mut fe = frontend(Fe {
        scur: 1,
        smax: 1,
        stot: 2,
        bin: 0,
        bout: 0,
        ereq: 1,
        rate: 1,
        hrsp: [0, 0, 0, 1, 0, 0],
        intercepted: 1,
        h1: [1, 1, 2, 1, 65, 207, 0, 0],
    });
    fe.traffic.slim = Some(9992);
    let mut be = stats_backend(0, 0, 0, 0);
    be.traffic.slim = Some(1000);
    be.lastchg = 2;
    let st = ProxyStats {
        name: "st".into(),
        iid: 2,
        kind: ProxyKind::Listen,
        mode: Mode::Http,
        frontend: Some(fe),
        listeners: Vec::new(),
        servers: Vec::new(),
        backend: Some(be),
    };
    Snapshot {
        info: Info {
            process_num: 1,
            ..Info::default()
        },
        proxies: vec![tcpx(), st],
    }
}

/// The part of a page from the `<table>` naming `proxy` to the `<p>` closing it.
fn proxy_table<'a>(page: &'a str, proxy: &str) -> &'a str {
    let anchor = format!("<a name=\"{proxy}\"></a>");
    let at = page.find(&anchor).expect("proxy table present");
    let start = page[..at].rfind("<table").expect("table start");
    let end = at + page[at..].find("<p>\n").expect("table end") + 4;
    &page[start..end]
}

#[test]
fn tcp_csv_equals_haproxy() {
    assert_same(
        &csv(&capture(), CsvOptions { legends: false }),
        &fixture("tcp.csv"),
    );
}

#[test]
fn tcp_html_table_equals_haproxy() {
    let opts = PageOptions {
        uri: "/s".into(),
        hide_version: true,
        ..PageOptions::default()
    };
    let ours = html(&capture(), &opts);
    let theirs = fixture("tcp.html");
    assert_same(proxy_table(&ours, "tcpx"), proxy_table(&theirs, "tcpx"));
    let h1 = |page: &str| {
        page.lines()
            .find(|l| l.starts_with("<body><h1>"))
            .map(str::to_owned)
    };
    assert_eq!(h1(&ours), h1(&theirs), "hide-version title");
}
