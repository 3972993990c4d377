//! Replays the exchanges recorded through haproxy 2.6 (`compat-tests/record-cookie.py`,
//! `fixtures/haproxy/cookie/*.json`): the request as the server got it, and the response
//! as the client got it, through the http1 codec exactly as the runtime uses it.

use super::{PersistRules, Persistence, RequestCookie, decode_date, encode_date};
use crate::conf::haproxy::{Options, read_str};
use crate::model::haproxy::ProxyKind;
use crate::proxy::http1::{Limits, Parse, RequestHead, ResponseHead, ServerConn};
use crate::proxy::log::{CookieSeen, CookieSet};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Backend {
    px: Persistence,
    names: Vec<String>,
    disabled: Vec<bool>,
}

fn backend(name: &str, lines: &[Value]) -> Backend {
    let mut cfg = format!("defaults\n    mode http\nbackend {name}\n");
    for l in lines {
        cfg += &format!("    {}\n", l.as_str().expect("config lines are strings"));
    }
    let out = read_str(&cfg, &Options::default());
    assert!(!out.is_fatal(), "{name}: {:?}", out.diagnostics);
    let px = out
        .config
        .proxy(name, ProxyKind::Backend)
        .expect("the golden's backend");
    Backend {
        px: Persistence::for_proxy(px).expect("the goldens all have a cookie line"),
        names: px.servers.iter().map(|s| s.name.clone()).collect(),
        disabled: px.servers.iter().map(|s| s.params.disabled).collect(),
    }
}

fn text<'a>(e: &'a Value, field: &str) -> &'a str {
    e.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("exchange field {field}"))
}

fn bytes(s: &str) -> Vec<u8> {
    // The recorder stores bytes as latin-1 text.
    s.chars().map(|c| c as u32 as u8).collect()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// What the exchange gives with our module at `now`: the request bytes for the server,
/// the cookie found, and the response bytes for the client.
fn replay(b: &Backend, e: &Value, now: SystemTime) -> (Vec<u8>, RequestCookie, Vec<u8>) {
    let limits = Limits::default();
    let sent = bytes(text(e, "request"));
    let Ok(Parse::Complete { head: mut req, len }) = RequestHead::parse(&sent, &limits) else {
        panic!("recorded request parses")
    };
    let method = req.method().to_vec();
    let usable = |i: usize| !b.disabled.get(i).copied().unwrap_or(true);
    let found = b.px.on_request(
        req.headers_mut(),
        &method,
        &usable,
        PersistRules::default(),
        now,
    );
    let mut to_server = Vec::new();
    req.encode_for_server(ServerConn::KeepAlive, &mut to_server);
    to_server.extend_from_slice(&sent[len..]);

    let got = text(e, "server");
    let chosen = b.names.iter().position(|n| n == got).expect("known server");
    if let Some(s) = found.server {
        assert_eq!(
            b.names[s], got,
            "the cookie's server is the one haproxy used"
        );
    }
    let answer = bytes(text(e, "backend_response"));
    let Ok(Parse::Complete {
        head: mut resp,
        len,
    }) = ResponseHead::parse(&answer, &limits, req.is_head())
    else {
        panic!("recorded response parses")
    };
    let status = resp.status;
    b.px.on_response(resp.headers_mut(), status, chosen, &found, now);
    let mut to_client = Vec::new();
    resp.encode_for_client(&req, false, &mut to_client);
    to_client.extend_from_slice(&answer[len..]);
    (to_server, found, to_client)
}

#[test]
fn goldens_replay_byte_for_byte() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/haproxy/cookie");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/haproxy/cookie exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "all scenarios recorded");
    let (mut checked, mut failures) = (0, Vec::new());
    for path in files {
        let golden: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable golden"))
                .expect("golden is JSON");
        let name = text(&golden, "scenario");
        let lines = golden["backend"].as_array().expect("backend lines");
        let b = backend(name, lines);
        for (n, e) in golden["exchanges"]
            .as_array()
            .expect("exchanges")
            .iter()
            .enumerate()
        {
            let want_server = bytes(text(e, "backend_request"));
            let want_client = bytes(text(e, "response"));
            let (t0, t1) = (e["t0"].as_u64().expect("t0"), e["t1"].as_u64().expect("t1"));
            // The recorder's clock brackets haproxy's: one of these seconds is the one it saw.
            let ok = (t0..=t1).any(|t| {
                let (s, _, c) = replay(&b, e, at(t));
                s == want_server && c == want_client
            });
            checked += 1;
            if !ok {
                let (s, found, c) = replay(&b, e, at(t0));
                failures.push(format!(
                    "{name}#{n} {:?}\n--- request sent\n{}--- server wants\n{}--- server got\n{}--- client wants\n{}--- client got\n{}",
                    found,
                    text(e, "request"),
                    String::from_utf8_lossy(&want_server),
                    String::from_utf8_lossy(&s),
                    String::from_utf8_lossy(&want_client),
                    String::from_utf8_lossy(&c),
                ));
            }
        }
    }
    assert!(checked > 300, "{checked} exchanges");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn dates_round_trip_and_match_haproxy() {
    // Observed on haproxy 2.6: `SRV=st|awWzK|awWzK`.
    assert_eq!(decode_date(b"awWzK"), Some(448_883_914));
    assert_eq!(&encode_date(448_883_914), b"awWzK");
    for v in [0, 1, 63, 64, (1 << 30) - 1] {
        assert_eq!(decode_date(&encode_date(v)), Some(v));
    }
    assert_eq!(decode_date(b"!!!!!"), None);
    assert_eq!(decode_date(b"abc"), None);
}

fn insert_indirect() -> Backend {
    let lines: Vec<Value> = [
        "balance roundrobin",
        "cookie SRV insert indirect nocache",
        "server a 127.0.0.1:1 cookie a",
        "server b 127.0.0.1:2 cookie b",
    ]
    .iter()
    .map(|l| Value::from(*l))
    .collect();
    backend("t", &lines)
}

#[test]
fn redispatch_breaks_persistence_and_logs_down() {
    let b = insert_indirect();
    let mut h = crate::proxy::http1::HeaderList::new();
    h.append(b"Cookie", b"SRV=b");
    let mut found =
        b.px.on_request(&mut h, b"GET", &|_| true, PersistRules::default(), at(0));
    assert_eq!(
        (found.server, found.seen, found.direct),
        (Some(1), CookieSeen::Valid, true)
    );
    found.redispatched();
    assert_eq!(
        (found.server, found.seen, found.direct),
        (None, CookieSeen::Down, false)
    );
    let mut resp = crate::proxy::http1::HeaderList::new();
    let set = b.px.on_response(&mut resp, 200, 0, &found, at(0));
    assert_eq!(set, CookieSet::Inserted);
    assert_eq!(resp.get("set-cookie"), Some(&b"SRV=a; path=/"[..]));
}

#[test]
fn rules_force_ignore_and_assigned() {
    let b = insert_indirect();
    let run = |rules: PersistRules| {
        let mut h = crate::proxy::http1::HeaderList::new();
        h.append(b"Cookie", b"SRV=b");
        let f = b.px.on_request(&mut h, b"GET", &|i| i != 1, rules, at(0));
        (f.server, f.seen)
    };
    assert_eq!(run(PersistRules::default()), (None, CookieSeen::Down));
    let force = PersistRules {
        force: true,
        ..PersistRules::default()
    };
    assert_eq!(run(force), (Some(1), CookieSeen::Down));
    let ignore = PersistRules {
        ignore: true,
        ..PersistRules::default()
    };
    assert_eq!(run(ignore), (None, CookieSeen::Unused));
    let assigned = PersistRules {
        assigned: true,
        ..PersistRules::default()
    };
    assert_eq!(run(assigned), (None, CookieSeen::Unused));
}

#[test]
fn log_characters_follow_haproxy() {
    // Observed: `--NI` first visit, `--VN` returning visitor, `--DI` cookie for a DOWN server.
    let b = insert_indirect();
    let flags = |cookie: Option<&[u8]>, up: &dyn Fn(usize) -> bool, chosen: usize| {
        let mut h = crate::proxy::http1::HeaderList::new();
        if let Some(c) = cookie {
            h.append(b"Cookie", c);
        }
        let f =
            b.px.on_request(&mut h, b"GET", up, PersistRules::default(), at(0));
        let mut resp = crate::proxy::http1::HeaderList::new();
        resp.append(b"Set-Cookie", b"SRV=app");
        (f.seen, b.px.on_response(&mut resp, 200, chosen, &f, at(0)))
    };
    let all = |_: usize| true;
    assert_eq!(
        flags(None, &all, 0),
        (CookieSeen::None, CookieSet::Inserted)
    );
    assert_eq!(
        flags(Some(b"SRV=a"), &all, 0),
        (CookieSeen::Valid, CookieSet::Deleted)
    );
    assert_eq!(
        flags(Some(b"SRV=zz"), &all, 1),
        (CookieSeen::Invalid, CookieSet::Inserted)
    );
    assert_eq!(
        flags(Some(b"SRV=b"), &|i| i != 1, 0),
        (CookieSeen::Down, CookieSet::Inserted)
    );
}
