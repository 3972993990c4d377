//! `stats uri` served by the runtime: HTTP Basic authentication against
//! `stats auth` (401 with `stats realm` otherwise), the HTML page or `;csv`
//! rendered by `stats` from a snapshot of the runtime's counters and
//! server states. First cut: no admin actions, no `stats socket`.

use super::counters::Counters;
use super::http1::RequestHead;
use super::pool::{DRAIN, MAINT, Member, Pool};
use super::stats::{
    self, BackendStats, CheckStats, CsvOptions, FrontendStats, Info, PageOptions, ProxyStats,
    ServerStats, Snapshot,
};
use crate::model::haproxy::{Mode, ProxyKind, Stats};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// One proxy as the statistics list it.
pub(super) struct Entry {
    pub name: String,
    pub kind: ProxyKind,
    pub mode: Mode,
    pub frontend: Option<Arc<Counters>>,
    pub pool: Option<Arc<Pool>>,
}

/// Every proxy of the running configuration, in declaration order.
pub(super) struct Registry {
    pub started: Instant,
    pub entries: Vec<Entry>,
}

/// A frontend's `stats` settings and the registry to report on.
pub(super) struct StatsPage {
    pub conf: Stats,
    pub registry: Arc<OnceLock<Registry>>,
}

impl StatsPage {
    /// Whether the request is for the page.
    pub fn wants(&self, head: &RequestHead) -> bool {
        self.conf.enabled && head.uri().starts_with(self.conf.uri.as_bytes())
    }

    /// The whole answer to a page request.
    pub fn answer(&self, head: &RequestHead) -> Vec<u8> {
        if !self.conf.auths.is_empty() && !self.authorized(head) {
            return super::rules::builtin(401, Some(&self.conf.realm));
        }
        let Some(reg) = self.registry.get() else {
            return super::rules::builtin(503, None);
        };
        let snapshot = snapshot(reg);
        let uri = head.uri();
        let rest = &uri[self.conf.uri.len().min(uri.len())..];
        let has = |word: &[u8]| rest.windows(word.len()).any(|w| w == word);
        let (ctype, body) = if has(b";csv") {
            let opts = CsvOptions {
                legends: self.conf.show_legends,
            };
            ("text/plain", stats::csv(&snapshot, opts))
        } else {
            let opts = PageOptions {
                uri: self.conf.uri.clone(),
                refresh: self.conf.refresh.map(|d| d.as_micros() / 1_000_000),
                norefresh: has(b";norefresh"),
                hide_down: has(b";up"),
                hide_version: self.conf.hide_version,
                legends: self.conf.show_legends,
                admin: false,
            };
            ("text/html", stats::html(&snapshot, &opts))
        };
        let mut out =
            format!("HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: {ctype}\r\n");
        if let Some(r) = self.conf.refresh {
            out.push_str(&format!("refresh: {}\r\n", r.as_micros() / 1_000_000));
        }
        out.push_str("transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        if !body.is_empty() {
            bytes.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            bytes.extend_from_slice(body.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        bytes
    }

    fn authorized(&self, head: &RequestHead) -> bool {
        let Some(value) = head.headers().get("authorization") else {
            return false;
        };
        let Some(b64) = value
            .strip_prefix(b"Basic ")
            .or_else(|| value.strip_prefix(b"basic "))
        else {
            return false;
        };
        let Some(decoded) = base64(b64.trim_ascii()) else {
            return false;
        };
        self.conf
            .auths
            .iter()
            .any(|(u, p)| decoded == format!("{u}:{p}").as_bytes())
    }
}

/// Standard base64 (RFC 4648), padding optional.
fn base64(input: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let data: Vec<u8> = input.iter().copied().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// The statistics of every proxy now.
pub(super) fn snapshot(reg: &Registry) -> Snapshot {
    let info = Info {
        version: crate::conf::haproxy::cond::VERSION.into(),
        release_date: "2023/06/22".into(),
        nbthread: 1,
        nbproc: 1,
        process_num: 1,
        pid: std::process::id(),
        uptime_sec: reg.started.elapsed().as_secs(),
        ..Info::default()
    };
    let proxies = reg
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| proxy(e, u32::try_from(i).unwrap_or(0) + 2))
        .collect();
    Snapshot { info, proxies }
}

/// The `status` column: MAINT and DRAIN (forced from the CLI or the page)
/// over what the check says.
fn server_status(m: &Member, check: Option<&CheckStats>) -> String {
    let admin = m.admin.load(Ordering::Relaxed);
    let words = match check {
        None if m.up.load(Ordering::Relaxed) => "no check".to_string(),
        None => "DOWN".to_string(),
        Some(c) => crate::check::status_words(c.health, c.rise, c.fall),
    };
    if admin & MAINT != 0 {
        "MAINT".into()
    } else if admin & DRAIN != 0 && (words.starts_with("UP") || words == "no check") {
        words
            .replacen("UP", "DRAIN", 1)
            .replace("no check", "DRAIN")
    } else {
        words
    }
}

fn proxy(e: &Entry, iid: u32) -> ProxyStats {
    let frontend = e.frontend.as_ref().map(|c| {
        let traffic = c.traffic();
        FrontendStats {
            conn_tot: traffic.stot,
            traffic,
            status: "OPEN".into(),
            http: c.http(),
            ..FrontendStats::default()
        }
    });
    let mut servers = Vec::new();
    let mut backend = None;
    if let Some(pool) = &e.pool {
        for (i, m) in pool.members.iter().enumerate() {
            let check = m.check_view.lock().ok().and_then(|v| v.clone());
            let (weight, _) = pool.weights(i).unwrap_or((m.weight, m.weight));
            servers.push(ServerStats {
                name: m.name.clone(),
                sid: u32::try_from(i).unwrap_or(0) + 1,
                traffic: m.counters.traffic(),
                status: server_status(m, check.as_ref()),
                weight,
                uweight: weight,
                backup: m.backup,
                lastchg: m.since.lock().map_or(0, |t| t.elapsed().as_secs()),
                lbtot: m.counters.lbtot.load(Ordering::Relaxed),
                check,
                http: m.counters.http(),
                lastsess: -1,
                addr: m.addr.map(|a| a.to_string()).unwrap_or_default(),
                ..ServerStats::default()
            });
        }
        // haproxy counts the servers the balancer may pick, and the
        // backend's weight is the actives' (else the first backup's).
        let usable = |backup: bool| {
            (0..pool.members.len())
                .filter(|&i| pool.members[i].backup == backup && pool.balanced(i))
                .map(|i| pool.weights(i).map_or(0, |(w, _)| w))
                .collect::<Vec<u32>>()
        };
        let (act, bck) = (usable(false), usable(true));
        let weight = if act.is_empty() {
            bck.first().copied().unwrap_or(0)
        } else {
            act.iter().sum()
        };
        let any_up = pool
            .members
            .iter()
            .any(|m| m.up.load(Ordering::Relaxed) && m.admin.load(Ordering::Relaxed) & MAINT == 0);
        backend = Some(BackendStats {
            traffic: pool.counters.traffic(),
            status: if any_up || pool.members.is_empty() {
                "UP".into()
            } else {
                "DOWN".into()
            },
            weight,
            uweight: weight,
            act: u32::try_from(act.len()).unwrap_or(0),
            bck: u32::try_from(bck.len()).unwrap_or(0),
            lbtot: pool
                .members
                .iter()
                .map(|m| m.counters.lbtot.load(Ordering::Relaxed))
                .sum(),
            http: pool.counters.http(),
            lastsess: -1,
            algo: pool.algo.into(),
            ..BackendStats::default()
        });
    }
    ProxyStats {
        name: e.name.clone(),
        iid,
        kind: e.kind,
        mode: e.mode,
        frontend,
        listeners: Vec::new(),
        servers,
        backend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(base64(b"bmllbTpuaWVt").as_deref(), Some(&b"niem:niem"[..]));
        assert_eq!(base64(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64(b"!!"), None);
    }
}
