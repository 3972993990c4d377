//! `stats uri` served by the runtime: HTTP Basic authentication against
//! `stats auth` (401 with `stats realm` otherwise), the HTML page or `;csv`
//! rendered by `stats` from a snapshot of the runtime's counters and
//! server states. First cut: no admin actions, no `stats socket`.

use super::counters::Counters;
use super::http1::RequestHead;
use super::pool::{DRAIN, MAINT, Member, Pool};
use super::stats::{
    self, BackendStats, CheckStats, CsvOptions, FrontendStats, Info, PageOptions, ProxyStats,
    ServerStats, Snapshot, Traffic,
};
use crate::model::haproxy::Acl;
use crate::model::haproxy::{HaproxyConfig, Mode, Proxy, ProxyKind, Stats};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

/// One proxy as the statistics list it.
pub(super) struct Entry {
    pub name: String,
    pub kind: ProxyKind,
    pub mode: Mode,
    pub frontend: Option<Arc<Counters>>,
    pub pool: Option<Arc<Pool>>,
    /// `slim` of the frontend row (its `maxconn`) and of the backend row
    /// (its `fullconn`).
    pub limits: (Option<u64>, Option<u64>),
}

/// The session limits the statistics show, as haproxy 2.6 computes them: a
/// frontend's `maxconn` (else `-N`, else the global `maxconn`); a
/// backend's `fullconn`, else a tenth (rounded up) of the `maxconn` of
/// every frontend that can send it traffic.
pub(super) struct SessionLimits {
    proxy_maxconn: Option<u32>,
    global_maxconn: u32,
    /// Per backend name, the `maxconn` of the frontends that reach it.
    reach: HashMap<String, u64>,
}

impl SessionLimits {
    /// Walks the frontends once.
    pub(super) fn new(
        cfg: &HaproxyConfig,
        proxy_maxconn: Option<u32>,
        global_maxconn: u32,
    ) -> Self {
        let mut limits = SessionLimits {
            proxy_maxconn,
            global_maxconn,
            reach: HashMap::new(),
        };
        for f in cfg
            .proxies
            .iter()
            .filter(|f| !f.disabled && f.kind.has_frontend())
        {
            let max = limits.frontend(f);
            let mut targets: Vec<&str> = std::iter::once(f.name.as_str())
                .chain(f.default_backend.as_deref())
                .chain(
                    f.use_backends
                        .iter()
                        .filter(|u| !u.dynamic)
                        .map(|u| u.target.as_str()),
                )
                .collect();
            // A backend named twice by one frontend counts it once.
            targets.sort_unstable();
            targets.dedup();
            for t in targets {
                *limits.reach.entry(t.to_string()).or_default() += max;
            }
        }
        limits
    }

    fn frontend(&self, f: &Proxy) -> u64 {
        u64::from(
            f.maxconn
                .or(self.proxy_maxconn)
                .unwrap_or(self.global_maxconn),
        )
    }

    /// `slim` of proxy `p`'s frontend row and of its backend row.
    pub(super) fn of(&self, p: &Proxy) -> (Option<u64>, Option<u64>) {
        let front = p.kind.has_frontend().then(|| self.frontend(p));
        let back = p.kind.has_backend().then(|| {
            p.fullconn.map_or_else(
                || {
                    let sum = self.reach.get(&p.name).copied().unwrap_or(0);
                    sum.div_ceil(10).max(1)
                },
                u64::from,
            )
        });
        (front, back)
    }
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

    /// A POST's form (`Content-Length` bytes, at most [`MAX_FORM`]), taken
    /// from what is buffered and then from the client; empty otherwise.
    pub async fn body(
        &self,
        head: &RequestHead,
        buf: &mut Vec<u8>,
        client: &mut (impl AsyncRead + Unpin),
    ) -> Vec<u8> {
        let len = head
            .headers()
            .get("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if head.method() != b"POST" || len > MAX_FORM {
            return Vec::new();
        }
        let mut chunk = [0u8; 4096];
        while buf.len() < len {
            let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut chunk));
            match read.await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        buf.drain(..len.min(buf.len())).collect()
    }

    /// The whole answer to a page request (`form`: a POST's body; `acls`
    /// and `src` decide whether `stats admin if …` applies).
    pub fn answer(&self, head: &RequestHead, form: &[u8], acls: &[Acl], src: IpAddr) -> Vec<u8> {
        if !self.conf.auths.is_empty() && !self.authorized(head) {
            return super::rules::builtin(401, Some(&self.conf.realm));
        }
        let Some(reg) = self.registry.get() else {
            return super::rules::builtin(503, None);
        };
        let request = super::acl::Request { head, src };
        let admin = self
            .conf
            .admin
            .iter()
            .any(|c| super::acl::eval(c, acls, &request));
        if head.method() == b"POST" {
            let code = if admin { post(reg, form) } else { "DENY" };
            return format!(
                "HTTP/1.1 303 See Other\r\ncache-control: no-cache\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nlocation: {};st={code}\r\n\r\n",
                self.conf.uri
            )
            .into_bytes();
        }
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
                admin,
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

/// Largest admin form read (haproxy answers EXCD beyond its buffer).
const MAX_FORM: usize = 16 * 1024;

/// Runs an admin form (`s=<server>…&action=<a>&b=<#iid|name>`) and returns
/// haproxy's status code for the `;st=` redirect.
pub(super) fn post(reg: &Registry, form: &[u8]) -> &'static str {
    let (mut backend, mut action, mut servers) = (None, None, Vec::new());
    for pair in form.split(|&c| c == b'&') {
        let (k, v) = match pair.iter().position(|&c| c == b'=') {
            Some(i) => (&pair[..i], url_decode(&pair[i + 1..])),
            None => continue,
        };
        match k {
            b"b" => backend = Some(v),
            b"action" => action = Some(v),
            b"s" => servers.push(v),
            _ => {}
        }
    }
    let (Some(b), Some(action)) = (backend, action) else {
        return "NONE";
    };
    let Some(pool) = reg
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind != ProxyKind::Frontend)
        .find(|(i, e)| e.name == b || b.strip_prefix('#') == Some(&(i + 2).to_string()))
        .and_then(|(_, e)| e.pool.as_ref())
    else {
        return "ERRP";
    };
    if servers.is_empty() {
        return "NONE";
    }
    let (mut altered, mut unknown) = (0, 0);
    for name in &servers {
        let Some(i) = pool.members.iter().position(|m| m.name == *name) else {
            unknown += 1;
            continue;
        };
        let m = &pool.members[i];
        let applies = match action.as_str() {
            // haproxy counts these as done even when nothing changes.
            "disable" | "maint" => {
                pool.set_admin(i, MAINT);
                true
            }
            "enable" | "ready" => {
                pool.set_admin(i, 0);
                true
            }
            "drain" => {
                pool.set_admin(i, DRAIN);
                true
            }
            // Health actions need a check; agent checks are not run.
            "dhlth" | "ehlth" | "hrunn" | "hnolb" | "hdown" => {
                m.check_view.lock().is_ok_and(|c| c.is_some())
            }
            "dagent" | "eagent" | "arunn" | "adown" => false,
            "shutdown" => true,
            _ => return "ERRP",
        };
        altered += usize::from(applies);
    }
    if altered == servers.len() {
        "DONE"
    } else if altered > 0 {
        "PART"
    } else if unknown > 0 {
        "ERRP"
    } else {
        "NONE"
    }
}

/// `application/x-www-form-urlencoded` value: `+` is a space, `%XX` a byte.
fn url_decode(v: &[u8]) -> String {
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < v.len() => match (hex(v[i + 1]), hex(v[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
            traffic: Traffic {
                slim: e.limits.0,
                ..traffic
            },
            status: "OPEN".into(),
            http: c.http(),
            dreq: c.dreq.load(std::sync::atomic::Ordering::Relaxed),
            dcon: c.dcon.load(std::sync::atomic::Ordering::Relaxed),
            ..FrontendStats::default()
        }
    });
    let mut servers = Vec::new();
    let mut backend = None;
    if let Some(pool) = &e.pool {
        for (i, m) in pool.members.iter().enumerate() {
            let check = m.check_view.lock().ok().and_then(|v| v.clone());
            let (uweight, _) = pool.weights(i).unwrap_or((m.weight, m.weight));
            let (weight, throttle) = pool.shown_weight(i).unwrap_or((uweight, None));
            let (qcur, qmax) = pool.queued(Some(i));
            let [econ, eresp, wretr, wredis] = m.counters.errors();
            servers.push(ServerStats {
                name: m.name.clone(),
                sid: u32::try_from(i).unwrap_or(0) + 1,
                traffic: Traffic {
                    slim: m.maxconn.map(u64::from),
                    ..m.counters.traffic()
                },
                status: server_status(m, check.as_ref()),
                weight,
                uweight,
                throttle,
                qcur,
                qmax,
                qlimit: m.maxqueue.map(u64::from),
                backup: m.backup,
                lastchg: m.since.lock().map_or(0, |t| t.elapsed().as_secs()),
                lbtot: m.counters.lbtot.load(Ordering::Relaxed),
                check,
                http: m.counters.http(),
                lastsess: -1,
                addr: m.addr.map(|a| a.to_string()).unwrap_or_default(),
                econ,
                eresp,
                wretr,
                wredis,
                ..ServerStats::default()
            });
        }
        // haproxy counts the servers the balancer may pick, and the
        // backend's weight is the actives' (else the first backup's).
        let usable = |backup: bool| {
            (0..pool.members.len())
                .filter(|&i| pool.members[i].backup == backup && pool.balanced(i))
                .map(|i| pool.shown_weight(i).map_or(0, |(w, _)| w))
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
        let (qcur, qmax) = pool.queued(None);
        let [econ, eresp, wretr, wredis] = pool.counters.errors();
        backend = Some(BackendStats {
            qcur,
            qmax,
            // haproxy counts a backend's queued requests among its sessions.
            traffic: Traffic {
                slim: e.limits.1,
                scur: pool.beconn(),
                ..pool.counters.traffic()
            },
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
            econ,
            eresp,
            wretr,
            wredis,
            dreq: pool.counters.dreq.load(Ordering::Relaxed),
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
