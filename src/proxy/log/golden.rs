//! The datagrams haproxy 2.6.12 sent (fixtures/haproxy/logs/, recorded by
//! compat-tests/record-logs.py): for each, an `Entry` with the values the line shows,
//! and the whole datagram, syslog header included, must come out byte for byte.

use super::*;
use crate::daemon::syslog::Severity;

/// 2026-11-24 00:00:00 UTC, the recording day.
const DAY: u64 = 1_795_478_400;
const PID: u32 = 9769;

fn secs(h: u64, m: u64, s: u64) -> u64 {
    DAY + h * 3600 + m * 60 + s
}

fn at(h: u64, m: u64, s: u64, ms: u64) -> u64 {
    secs(h, m, s) * 1000 + ms
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/fixtures/haproxy/logs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `(header time, line)` pairs as datagrams, against the recorded file.
fn check(name: &str, lines: &[(u64, String)]) {
    let ours: String = lines
        .iter()
        .map(|(t, line)| syslog_datagram(18, Severity::Info, *t, "haproxy", PID, line))
        .collect();
    assert_eq!(ours, fixture(name), "{name}");
}

fn addr(port: u16) -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

fn caps(values: &[Option<&str>]) -> Option<Vec<Option<Vec<u8>>>> {
    Some(
        values
            .iter()
            .map(|v| v.map(|s| s.as_bytes().to_vec()))
            .collect(),
    )
}

/// What every recorded line shares: one connection at a time, nothing queued.
fn base(client_port: u16, accept_ms: u64, frontend: &str) -> Entry {
    Entry {
        client: addr(client_port),
        accept_ms,
        frontend: frontend.into(),
        backend: frontend.into(),
        http: true,
        counters: Counters {
            actconn: 1,
            feconn: 1,
            ..Counters::default()
        },
        pid: PID,
        ..Entry::default()
    }
}

/// An `option httplog` stream of frontend `fh` (two request captures, one response).
#[allow(clippy::too_many_arguments)]
fn fh(
    port: u16,
    accept_ms: u64,
    route: (&str, Option<&str>),
    shown: [i64; 5],
    status: u16,
    bytes: u64,
    term: &str,
    line: Option<&str>,
) -> Entry {
    let [tr_req, tw, tc, tr, ta] = shown;
    Entry {
        backend: route.0.into(),
        server: route.1.map(Into::into),
        timers: Timers::from_shown(0, 0, tr_req, tw, tc, tr, ta),
        status,
        bytes_out: bytes,
        termination: Termination::from_code(term).expect("valid code"),
        request_captures: line.map(|_| vec![Some(b"example.test".to_vec()), None]),
        response_captures: line.map(|_| vec![None]),
        request_line: line.map(|l| l.as_bytes().to_vec()),
        ..base(port, accept_ms, "fh")
    }
}

#[test]
fn httplog_normal_requests() {
    let mut e = fh(
        44932,
        at(21, 7, 17, 872),
        ("ok", Some("s1")),
        [0, 0, 0, 2, 2],
        200,
        141,
        "----",
        Some("GET /index.html?q=1 HTTP/1.1"),
    );
    e.request_captures = caps(&[Some("example.test"), Some("curl/")]);
    e.response_captures = caps(&[Some("text/plain; charset=utf-8")]);
    e.request_cookie = Some("SID=xyz789".into());
    e.response_cookie = Some("SID=abc123".into());
    check("00-httplog-get.txt", &[(secs(21, 7, 17), httplog(&e))]);

    let mut e = fh(
        44938,
        at(21, 7, 18, 276),
        ("ok", Some("s1")),
        [0, 0, 0, 3, 3],
        200,
        141,
        "----",
        Some("POST /form HTTP/1.1"),
    );
    e.request_captures = caps(&[Some("h"), None]);
    e.response_captures = caps(&[Some("text/plain; charset=utf-8")]);
    e.response_cookie = Some("SID=abc123".into());
    check("01-httplog-post.txt", &[(secs(21, 7, 18), httplog(&e))]);

    // HTTP/1.0 without Host: both request slots empty, `{|}`.
    e.client = addr(44952);
    e.accept_ms = at(21, 7, 18, 680);
    e.request_captures = caps(&[None, None]);
    e.request_line = Some(b"GET /old HTTP/1.0".to_vec());
    check("02-httplog-http10.txt", &[(secs(21, 7, 18), httplog(&e))]);
}

#[test]
fn httplog_errors() {
    let cases = [
        (
            "03-httplog-deny.txt",
            44958,
            at(21, 7, 19, 84),
            ("fh", None),
            [0, -1, -1, -1, 0],
            403,
            192,
            "PR--",
            "GET /deny HTTP/1.1",
            secs(21, 7, 19),
        ),
        (
            "04-httplog-nosrv.txt",
            44972,
            at(21, 7, 19, 484),
            ("nosrv", None),
            [0, -1, -1, -1, 0],
            503,
            217,
            "SC--",
            "GET /nosrv HTTP/1.1",
            secs(21, 7, 19),
        ),
        (
            "06-httplog-server-close.txt",
            44980,
            at(21, 7, 23, 287),
            ("closer", Some("c1")),
            [0, 0, 0, -1, 3],
            502,
            209,
            "SH--",
            "GET /close HTTP/1.1",
            secs(21, 7, 23),
        ),
        (
            "07-httplog-server-timeout.txt",
            44986,
            at(21, 7, 23, 692),
            ("slow", Some("w1")),
            [0, 0, 0, -1, 1001],
            504,
            198,
            "sH--",
            "GET /slow HTTP/1.1",
            secs(21, 7, 24),
        ),
        (
            "08-httplog-client-abort.txt",
            53490,
            at(21, 7, 26, 194),
            ("slowac", Some("w2")),
            [0, 0, 0, -1, 1002],
            504,
            198,
            "sH--",
            "GET /abort HTTP/1.1",
            secs(21, 7, 27),
        ),
        (
            "09-httplog-client-reset.txt",
            53494,
            at(21, 7, 27, 995),
            ("slow", Some("w1")),
            [0, 0, 0, -1, 1001],
            504,
            198,
            "sH--",
            "GET /slow HTTP/1.1",
            secs(21, 7, 28),
        ),
        (
            "10-httplog-client-abort-data.txt",
            53510,
            at(21, 7, 29, 796),
            ("trickle", Some("k1")),
            [0, 0, 2, 0, 1004],
            200,
            61,
            "sD--",
            "GET /trickle HTTP/1.1",
            secs(21, 7, 30),
        ),
    ];
    for (file, port, accept, route, shown, status, bytes, term, line, t) in cases {
        let e = fh(port, accept, route, shown, status, bytes, term, Some(line));
        check(file, &[(t, httplog(&e))]);
    }
    // Three refused connection attempts: retries 3, logged 3 s after the accept.
    let mut e = fh(
        44974,
        at(21, 7, 19, 885),
        ("refused", Some("r1")),
        [0, 0, -1, -1, 3003],
        503,
        217,
        "SC--",
        Some("GET /refused HTTP/1.1"),
    );
    e.counters.retries = 3;
    check("05-httplog-refused.txt", &[(secs(21, 7, 22), httplog(&e))]);
}

#[test]
fn httplog_without_a_request() {
    // No request parsed: no capture blocks at all, and no doubled spaces for them.
    let cases = [
        (
            "11-httplog-client-timeout.txt",
            53526,
            at(21, 7, 31, 597),
            1001,
            408,
            "cR--",
            secs(21, 7, 32),
        ),
        (
            "12-httplog-empty-connection.txt",
            53540,
            at(21, 7, 34, 99),
            200,
            400,
            "CR--",
            secs(21, 7, 34),
        ),
        (
            "13-httplog-badreq.txt",
            38542,
            at(21, 7, 34, 700),
            0,
            400,
            "PR--",
            secs(21, 7, 34),
        ),
    ];
    for (file, port, accept, ta, status, term, t) in cases {
        let e = fh(
            port,
            accept,
            ("fh", None),
            [-1, -1, -1, -1, ta],
            status,
            0,
            term,
            None,
        );
        check(file, &[(t, httplog(&e))]);
    }
}

#[test]
fn httplog_escapes_and_keepalive() {
    let e = Entry {
        backend: "ok".into(),
        server: Some("s1".into()),
        timers: Timers::from_shown(0, 0, 0, 0, 0, 0, 0),
        status: 200,
        bytes_out: 141,
        request_captures: caps(&[Some("a|b{c}d\"e#f\u{e9}")]),
        response_captures: None,
        request_line: Some(b"GET /a\"b#c\xc3\xa9{|} HTTP/1.1".to_vec()),
        ..base(37862, at(21, 7, 35, 101), "fesc")
    };
    check("14-httplog-escapes.txt", &[(secs(21, 7, 35), httplog(&e))]);

    let one = Entry {
        backend: "ok".into(),
        server: Some("s1".into()),
        timers: Timers::from_shown(0, 0, 0, 0, 0, 0, 0),
        status: 200,
        bytes_out: 141,
        request_line: Some(b"GET /one HTTP/1.1".to_vec()),
        ..base(54618, at(21, 7, 35, 502), "fh2")
    };
    let two = Entry {
        accept_ms: at(21, 7, 35, 702),
        request_line: Some(b"GET /two?x=1 HTTP/1.1".to_vec()),
        ..one.clone()
    };
    check(
        "15-httplog-nocapture-keepalive.txt",
        &[
            (secs(21, 7, 35), httplog(&one)),
            (secs(21, 7, 35), httplog(&two)),
        ],
    );
    // `option dontlognull`: an empty connection sends nothing.
    assert_eq!(fixture("16-httplog-dontlognull.txt"), "");
}

#[test]
fn tcplog_lines() {
    let tcp = |port, accept, tt, bytes, term: &str| Entry {
        backend: "tcp_ok".into(),
        server: Some("t1".into()),
        http: false,
        // haproxy shows Tw 1 in TCP mode: there is no request time to subtract.
        timers: Timers::from_shown(0, -1, -1, 1, 0, -1, tt),
        bytes_out: bytes,
        termination: Termination::from_code(term).expect("valid code"),
        ..base(port, accept, "ft")
    };
    let e = tcp(35620, at(21, 7, 36, 704), 0, 12, "--");
    check("17-tcplog.txt", &[(secs(21, 7, 36), tcplog(&e))]);
    let e = tcp(35632, at(21, 7, 37, 106), 300, 7, "CD");
    check(
        "18-tcplog-client-close.txt",
        &[(secs(21, 7, 37), tcplog(&e))],
    );
}

#[test]
fn default_format_lines() {
    let e = Entry {
        frontend_addr: addr(18103),
        ..base(44880, 0, "fd")
    };
    check(
        "19-default-http.txt",
        &[(secs(21, 7, 37), default_format(&e))],
    );
    let e = Entry {
        frontend_addr: addr(18105),
        http: false,
        ..base(34628, 0, "ftd")
    };
    check(
        "20-default-tcp.txt",
        &[(secs(21, 7, 38), default_format(&e))],
    );
}

/// The `log-format` of frontend `fc` in fixtures/haproxy/logs/haproxy.cfg.
fn fc_format() -> LogFormat {
    let cfg = fixture("haproxy.cfg");
    let line = cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("log-format "))
        .expect("a log-format line");
    LogFormat::parse(line.trim_matches('"')).expect("haproxy accepted it")
}

fn fc(port: u16, accept_ms: u64, request_id: u64, log_count: u64, line: Option<&str>) -> Entry {
    let served = line.is_some();
    Entry {
        frontend_addr: addr(18104),
        server_addr: served.then(|| addr(19100)).flatten(),
        backend: if served { "ok" } else { "fc" }.into(),
        server: served.then(|| "s1".into()),
        status: if served { 200 } else { 400 },
        bytes_out: if served { 141 } else { 0 },
        request_id,
        log_count,
        request_line: line.map(|l| l.as_bytes().to_vec()),
        ..base(port, accept_ms, "fc")
    }
}

#[test]
fn custom_log_format() {
    let f = fc_format();
    let mut e = fc(
        56314,
        at(21, 7, 38, 609),
        28,
        1,
        Some("GET /lf/p?q=%22x%22 HTTP/1.1"),
    );
    e.timers = Timers::from_shown(0, 0, 0, 0, 0, 0, 0);
    e.bytes_in = 69;
    e.request_captures = caps(&[Some("example.test"), Some("2")]);
    e.response_captures = caps(&[Some("rec/1.0")]);
    check("21-logformat-get.txt", &[(secs(21, 7, 38), f.render(&e))]);

    let mut e = fc(
        56322,
        at(21, 7, 39, 11),
        29,
        2,
        Some("GET /lf/plain HTTP/1.1"),
    );
    e.timers = Timers::from_shown(0, 0, 0, 0, 0, 0, 0);
    e.bytes_in = 57;
    e.request_captures = caps(&[Some("example.test"), None]);
    e.response_captures = caps(&[Some("rec/1.0")]);
    check(
        "22-logformat-noquery.txt",
        &[(secs(21, 7, 39), f.render(&e))],
    );

    let mut e = fc(56326, at(21, 7, 39, 412), 30, 3, None);
    e.timers = Timers::from_shown(0, 0, -1, -1, -1, -1, 0);
    e.termination = Termination::from_code("PR--").expect("valid code");
    check(
        "23-logformat-nosrv-badreq.txt",
        &[(secs(21, 7, 39), f.render(&e))],
    );
}

#[test]
fn httplog_clf_lines() {
    let e = Entry {
        backend: "ok".into(),
        server: Some("s1".into()),
        timers: Timers::from_shown(0, 0, 0, 0, 0, 0, 0),
        status: 200,
        bytes_out: 141,
        request_captures: caps(&[Some("example.test"), Some("2")]),
        response_captures: caps(&[Some("rec/1.0")]),
        request_line: Some(b"GET /clf HTTP/1.1".to_vec()),
        ..base(37996, at(21, 7, 39, 813), "fclf")
    };
    check("24-clf-get.txt", &[(secs(21, 7, 39), httplog_clf(&e))]);
    // Nothing captured: `%hrl %hsl` vanish but the space before them stays.
    let e = Entry {
        timers: Timers::from_shown(0, 0, -1, -1, -1, -1, 0),
        status: 400,
        termination: Termination::from_code("PR--").expect("valid code"),
        ..base(38000, at(21, 7, 40, 214), "fclf")
    };
    check(
        "25-clf-nosrv-badreq.txt",
        &[(secs(21, 7, 40), httplog_clf(&e))],
    );
}
