//! The probes on the wire. TCP: a connection that is reset as soon as it
//! is established (haproxy's check never reaches the application's
//! accept() queue as a real session). HTTP (`option httpchk`): the request
//! haproxy sends — `OPTIONS / HTTP/1.0` by default — and the status line
//! read back; 2xx and 3xx pass unless `http-check expect` says otherwise.
//! Results carry haproxy's words for its log lines.

use crate::model::check::HttpProbe;
use crate::model::{HealthCheck, Probe};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    /// haproxy's check status: `L4OK`, `L4CON`, `L4TOUT`, `L7OK`, `L7STS`,
    /// `L7RSP`, `L7TOUT`.
    pub status: &'static str,
    pub code: Option<u16>,
    pub info: Option<String>,
    pub duration: Duration,
}

impl Outcome {
    /// `reason: …[, code: N][, info: "…"], check duration: Nms`, as in
    /// haproxy's "Server x/y is DOWN, …" lines.
    pub fn describe(&self) -> String {
        let mut s = format!("reason: {}", self.reason());
        if let Some(c) = self.code {
            s.push_str(&format!(", code: {c}"));
        }
        if let Some(i) = &self.info {
            s.push_str(&format!(", info: \"{i}\""));
        }
        s.push_str(&format!(
            ", check duration: {}ms",
            self.duration.as_millis()
        ));
        s
    }

    /// haproxy's long status (`check_desc`): `Layer4 check passed`…
    pub fn reason(&self) -> &'static str {
        match self.status {
            "L4OK" => "Layer4 check passed",
            "L4CON" => "Layer4 connection problem",
            "L4TOUT" => "Layer4 timeout",
            "L7OK" => "Layer7 check passed",
            "L7STS" => "Layer7 wrong status",
            "L7TOUT" => "Layer7 timeout",
            _ => "Layer7 invalid response",
        }
    }
}

/// Runs one check of `hc` against `addr` (the check's own address/port
/// already applied by the caller).
pub async fn run(hc: &HealthCheck, addr: SocketAddr) -> Outcome {
    let t0 = Instant::now();
    let limit = hc.timeout.to_std().max(Duration::from_millis(1));
    let done = |ok, status, code, info: Option<String>| Outcome {
        ok,
        status,
        code,
        info,
        duration: t0.elapsed(),
    };
    let stream = match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
        Err(_) => return done(false, "L4TOUT", None, None),
        Ok(Err(e)) => return done(false, "L4CON", None, Some(crate::daemon::strerror(&e))),
        Ok(Ok(s)) => s,
    };
    match &hc.probe {
        Probe::Http(h) => {
            let left = limit.saturating_sub(t0.elapsed());
            match tokio::time::timeout(left, http(stream, h)).await {
                Err(_) => done(false, "L7TOUT", None, None),
                Ok((ok, status, code, info)) => done(ok, status, code, info),
            }
        }
        _ => {
            reset(stream);
            done(true, "L4OK", None, None)
        }
    }
}

/// Closes with a reset, as haproxy ends its checks (SO_LINGER 0 makes
/// close() send RST at once, so dropping never blocks).
fn reset(stream: TcpStream) {
    if let Ok(std) = stream.into_std() {
        let _ = socket2::SockRef::from(&std).set_linger(Some(Duration::ZERO));
    }
}

/// The request haproxy sends for `option httpchk [meth uri ver [host]]`.
pub fn http_request(h: &HttpProbe) -> Vec<u8> {
    let method = if h.method.is_empty() {
        "OPTIONS"
    } else {
        &h.method
    };
    let uri = h.urls.first().map_or("/", |u| u.path.as_str());
    let uri = if uri.is_empty() { "/" } else { uri };
    let version = if h.version.is_empty() {
        "HTTP/1.0"
    } else {
        &h.version
    };
    let mut out = format!("{method} {uri} {version}\r\n");
    if let Some(host) = &h.host {
        out.push_str(&format!("host: {host}\r\n"));
    }
    for (n, v) in &h.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

async fn http(
    mut stream: TcpStream,
    h: &HttpProbe,
) -> (bool, &'static str, Option<u16>, Option<String>) {
    if stream.write_all(&http_request(h)).await.is_err() {
        return (false, "L7RSP", None, None);
    }
    // The whole answer, bounded (haproxy reads what fits its buffer).
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    while buf.len() < 16384 {
        match stream.read(&mut tmp).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        let url = h.urls.first();
        let needs_body = url.is_some_and(|u| u.body_match.is_some());
        if !needs_body && buf.windows(2).any(|w| w == b"\r\n") {
            break;
        }
    }
    reset(stream);
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().next().unwrap_or("");
    let mut words = line.splitn(3, ' ');
    let (Some(version), Some(code)) = (words.next(), words.next()) else {
        return (false, "L7RSP", None, None);
    };
    let Ok(code) = code.parse::<u16>() else {
        return (false, "L7RSP", None, None);
    };
    if !version.starts_with("HTTP/") {
        return (false, "L7RSP", None, None);
    }
    let reason = words.next().unwrap_or("").to_string();
    let url = h.urls.first();
    let mut ok = match url.filter(|u| !u.status.is_empty()) {
        Some(u) => u.status.iter().any(|(a, b)| (*a..=*b).contains(&code)),
        None => (200..400).contains(&code),
    };
    if let Some(pattern) = url.and_then(|u| u.body_match.as_ref()) {
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        ok = body.contains(pattern.as_str());
    }
    if url.is_some_and(|u| u.negate) {
        ok = !ok;
    }
    if ok {
        (true, "L7OK", Some(code), None)
    } else {
        (false, "L7STS", Some(code), Some(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::HttpUrl;

    #[test]
    fn default_httpchk_request_is_haproxy_s() {
        let h = HttpProbe::default();
        assert_eq!(http_request(&h), b"OPTIONS / HTTP/1.0\r\n\r\n");
        let h = HttpProbe {
            method: "GET".into(),
            version: "HTTP/1.1".into(),
            host: Some("www".into()),
            urls: vec![HttpUrl {
                path: "/health".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            http_request(&h),
            b"GET /health HTTP/1.1\r\nhost: www\r\n\r\n"
        );
    }

    #[test]
    fn descriptions_use_haproxy_s_words() {
        let o = Outcome {
            ok: false,
            status: "L4CON",
            code: None,
            info: Some("Connection refused".into()),
            duration: Duration::from_micros(300),
        };
        assert_eq!(
            o.describe(),
            "reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms"
        );
    }
}
