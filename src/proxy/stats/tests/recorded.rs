//! The snapshots behind the recorded captures: fe_main → be_app (s1 UP, s2 DOWN, both
//! checked), and two stats listens (`stats`, `stats_admin`). Numbers copied from the
//! files in fixtures/haproxy/stats/; the captures were taken one after the other, so the
//! stats proxies' own counters differ between them.

use crate::model::haproxy::{Mode, ProxyKind};
use crate::proxy::stats::*;

fn h1(v: [u64; 8]) -> ModuleCounters {
    ModuleCounters {
        ssl: [0; 3],
        h2: Some([0; 13]),
        h1: Some(v),
    }
}

/// A frontend row: sessions, bytes, rates (connections = sessions = requests here).
pub struct Fe {
    pub scur: u64,
    pub smax: u64,
    pub stot: u64,
    pub bin: u64,
    pub bout: u64,
    pub ereq: u64,
    pub rate: u64,
    pub hrsp: [u64; 6],
    pub intercepted: u64,
    pub h1: [u64; 8],
}

pub fn frontend(f: Fe) -> FrontendStats {
    FrontendStats {
        traffic: Traffic {
            scur: f.scur,
            smax: f.smax,
            slim: Some(9985),
            stot: f.stot,
            bin: f.bin,
            bout: f.bout,
            ..Traffic::default()
        },
        ereq: f.ereq,
        status: "OPEN".into(),
        rate: f.rate,
        rate_max: f.rate,
        http: HttpCounters {
            hrsp: f.hrsp,
            req_tot: f.stot,
        },
        req_rate: f.rate,
        req_rate_max: f.rate,
        conn_rate: f.rate,
        conn_rate_max: f.rate,
        conn_tot: f.stot,
        intercepted: f.intercepted,
        modules: h1(f.h1),
        ..FrontendStats::default()
    }
}

/// A stats listen's backend: no servers, only bytes and client aborts move.
pub fn stats_backend(bin: u64, bout: u64, cli_abrt: u64, lastsess: i64) -> BackendStats {
    BackendStats {
        traffic: Traffic {
            slim: Some(999),
            bin,
            bout,
            ..Traffic::default()
        },
        status: "UP".into(),
        lastchg: 3,
        cli_abrt,
        lastsess,
        algo: "roundrobin".into(),
        modules: h1([0; 8]),
        ..BackendStats::default()
    }
}

fn listen(name: &str, iid: u32, fe: FrontendStats, be: BackendStats) -> ProxyStats {
    ProxyStats {
        name: name.into(),
        iid,
        kind: ProxyKind::Listen,
        mode: Mode::Http,
        frontend: Some(fe),
        listeners: Vec::new(),
        servers: Vec::new(),
        backend: Some(be),
    }
}

fn s1() -> ServerStats {
    ServerStats {
        name: "s1".into(),
        sid: 1,
        traffic: Traffic {
            smax: 1,
            stot: 5,
            bin: 277,
            bout: 1276,
            ..Traffic::default()
        },
        status: "UP".into(),
        weight: 1,
        uweight: 1,
        lastchg: 3,
        lbtot: 5,
        rate: 5,
        rate_max: 5,
        check: Some(CheckStats {
            status: "L4OK".into(),
            code: None,
            duration: Some(1),
            desc: "Layer4 check passed".into(),
            info: String::new(),
            rise: 2,
            fall: 3,
            health: 4,
            failed: 0,
            down_trans: 0,
            downtime: 0,
        }),
        http: HttpCounters {
            hrsp: [0, 4, 0, 1, 0, 0],
            req_tot: 5,
        },
        timings: Timings {
            avg: [0, 0, 3, 3],
            max: [0, 0, 9, 9],
        },
        addr: "127.0.0.1:18081".into(),
        connect: 5,
        need_conn_est: 1,
        ..ServerStats::default()
    }
}

fn s2() -> ServerStats {
    ServerStats {
        name: "s2".into(),
        sid: 2,
        status: "DOWN".into(),
        weight: 1,
        uweight: 1,
        lastchg: 3,
        check: Some(CheckStats {
            status: "L4CON".into(),
            code: None,
            duration: Some(0),
            desc: "Layer4 connection problem".into(),
            info: "Connection refused".into(),
            rise: 2,
            fall: 3,
            health: 0,
            failed: 1,
            down_trans: 1,
            downtime: 3,
        }),
        lastsess: -1,
        addr: "127.0.0.1:18082".into(),
        need_conn_est: 1,
        ..ServerStats::default()
    }
}

fn be_app() -> ProxyStats {
    ProxyStats {
        name: "be_app".into(),
        iid: 3,
        kind: ProxyKind::Backend,
        mode: Mode::Http,
        frontend: None,
        listeners: Vec::new(),
        servers: vec![s1(), s2()],
        backend: Some(BackendStats {
            traffic: Traffic {
                smax: 1,
                slim: Some(999),
                stot: 5,
                bin: 277,
                bout: 1276,
                ..Traffic::default()
            },
            status: "UP".into(),
            weight: 1,
            act: 1,
            uweight: 1,
            lastchg: 3,
            downtime: Some(0),
            lbtot: 5,
            rate: 5,
            rate_max: 5,
            http: HttpCounters {
                hrsp: [0, 4, 0, 1, 0, 0],
                req_tot: 5,
            },
            timings: Timings {
                avg: [0, 0, 3, 3],
                max: [0, 0, 9, 9],
            },
            algo: "roundrobin".into(),
            connect: 5,
            modules: h1([0, 0, 5, 5, 1316, 222, 0, 0]),
            ..BackendStats::default()
        }),
    }
}

fn fe_main() -> ProxyStats {
    ProxyStats {
        name: "fe_main".into(),
        iid: 2,
        kind: ProxyKind::Frontend,
        mode: Mode::Http,
        frontend: Some(frontend(Fe {
            scur: 0,
            smax: 1,
            stot: 6,
            bin: 277,
            bout: 1276,
            ereq: 1,
            rate: 5,
            hrsp: [0, 4, 0, 2, 0, 0],
            intercepted: 0,
            h1: [0, 0, 6, 5, 317, 1504, 0, 0],
        })),
        listeners: Vec::new(),
        servers: Vec::new(),
        backend: None,
    }
}

/// Process information from show-info.txt.
pub fn info() -> Info {
    Info {
        version: "2.6.12-1+deb12u4".into(),
        release_date: "2026/10/17".into(),
        nbthread: 1,
        nbproc: 1,
        process_num: 1,
        pid: 27071,
        uptime_sec: 3,
        pool_alloc_bytes: 72728,
        pool_used_bytes: 72728,
        ulimit_n: 19999,
        maxsock: 19999,
        maxconn: 9985,
        hard_maxconn: 9985,
        cum_conns: 27,
        cum_req: 11,
        conn_rate: 9,
        max_conn_rate: 9,
        sess_rate: 9,
        max_sess_rate: 9,
        tasks: 15,
        idle_pct: 99,
        node: "vm".into(),
        jobs: 5,
        listeners: 4,
        total_bytes_out: 67189,
        bytes_out_rate: 66976,
        build_info: "2.6.12-1+deb12u4".into(),
        start_time_sec: 1795554116,
        ..Info::default()
    }
}

/// The state `show stat` / `show info` saw (the last captures).
pub fn cli_capture() -> Snapshot {
    let stats_fe = frontend(Fe {
        scur: 0,
        smax: 1,
        stot: 3,
        bin: 240,
        bout: 32134,
        ereq: 0,
        rate: 3,
        hrsp: [0, 2, 0, 1, 0, 0],
        intercepted: 3,
        h1: [0, 0, 3, 3, 272, 32028, 0, 0],
    });
    let admin_fe = frontend(Fe {
        scur: 0,
        smax: 1,
        stot: 1,
        bin: 89,
        bout: 30068,
        ereq: 0,
        rate: 1,
        hrsp: [0, 1, 0, 0, 0, 0],
        intercepted: 1,
        h1: [0, 0, 1, 1, 101, 30113, 0, 0],
    });
    Snapshot {
        info: info(),
        proxies: vec![
            fe_main(),
            be_app(),
            listen("stats", 4, stats_fe, stats_backend(240, 32134, 2, 0)),
            listen("stats_admin", 5, admin_fe, stats_backend(89, 30068, 0, 0)),
        ],
    }
}

/// The state the `;csv` request saw (its own request in progress, stats_admin unused).
pub fn page_csv_capture() -> Snapshot {
    let mut snap = cli_capture();
    snap.proxies[2] = listen(
        "stats",
        4,
        frontend(Fe {
            scur: 1,
            smax: 1,
            stot: 2,
            bin: 58,
            bout: 469,
            ereq: 0,
            rate: 2,
            hrsp: [0, 0, 0, 1, 0, 0],
            intercepted: 2,
            h1: [1, 1, 2, 2, 171, 283, 0, 0],
        }),
        stats_backend(58, 469, 2, 0),
    );
    snap.proxies[3] = listen(
        "stats_admin",
        5,
        frontend(Fe {
            scur: 0,
            smax: 0,
            stot: 0,
            bin: 0,
            bout: 0,
            ereq: 0,
            rate: 0,
            hrsp: [0; 6],
            intercepted: 0,
            h1: [0; 8],
        }),
        stats_backend(0, 0, 0, -1),
    );
    snap
}

/// The state page.html shows (the stats page's own request in progress).
pub fn page_capture() -> Snapshot {
    let mut snap = page_csv_capture();
    snap.info.curr_conns = 1;
    snap.info.conn_rate = 8;
    snap.info.bit_rate = 44049.0;
    snap.info.tasks = 16;
    snap.proxies[2] = listen(
        "stats",
        4,
        frontend(Fe {
            scur: 1,
            smax: 1,
            stot: 3,
            bin: 151,
            bout: 3816,
            ereq: 0,
            rate: 3,
            hrsp: [0, 1, 0, 1, 0, 0],
            intercepted: 3,
            h1: [1, 1, 3, 3, 0, 0, 0, 0],
        }),
        stats_backend(151, 3816, 2, 0),
    );
    snap
}

/// The state admin.html shows (rendered by stats_admin, after page.html).
pub fn admin_capture() -> Snapshot {
    let mut snap = cli_capture();
    snap.info.curr_conns = 1;
    snap.info.conn_rate = 9;
    snap.info.bit_rate = 284963.0;
    snap.info.tasks = 16;
    snap.proxies[3] = listen(
        "stats_admin",
        5,
        frontend(Fe {
            scur: 1,
            smax: 1,
            stot: 1,
            bin: 0,
            bout: 0,
            ereq: 0,
            rate: 1,
            hrsp: [0; 6],
            intercepted: 1,
            h1: [0; 8],
        }),
        stats_backend(0, 0, 0, 0),
    );
    snap
}
