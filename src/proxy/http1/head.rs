//! Request and response heads: parsed, validated and normalized as haproxy 2.6 does before
//! it forwards them (its default, strict mode). The start-line words live in the header
//! list's buffer, so a head is two allocations.

use super::framing::{self, BodyLength, Framing};
use super::headers::{HeaderList, Span};
use super::scan::{self, Scan};
use super::{HeadError, Limits, Side, uri};

/// An HTTP version as `HTTP/<major>.<minor>`, one digit each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// The digit before the dot.
    pub major: u8,
    /// The digit after the dot.
    pub minor: u8,
}

impl Version {
    /// HTTP/1.0.
    pub const HTTP_10: Version = Version { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_11: Version = Version { major: 1, minor: 1 };

    /// Reads `HTTP/d.d` exactly, as haproxy requires (`HTTP/1.10`, `http/1.1` are refused).
    fn parse(text: &[u8]) -> Result<Version, HeadError> {
        match text {
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
                if major.is_ascii_digit() && minor.is_ascii_digit() =>
            {
                Ok(Version {
                    major: major - b'0',
                    minor: minor - b'0',
                })
            }
            _ => Err(HeadError::Version),
        }
    }

    /// 1.1 or later: haproxy treats HTTP/1.2 and HTTP/2.0 on an HTTP/1 connection as 1.1.
    pub fn is_11(self) -> bool {
        self >= Version::HTTP_11
    }

    /// The version haproxy writes on the other side: `HTTP/1.1` from 1.1 on, else as received.
    pub fn forwarded(self) -> [u8; 8] {
        if self.is_11() {
            Version::HTTP_11.text()
        } else {
            self.text()
        }
    }

    /// `HTTP/<major>.<minor>` as received.
    pub fn text(self) -> [u8; 8] {
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'0' + self.major,
            b'.',
            b'0' + self.minor,
        ]
    }
}

/// The result of feeding bytes to a head parser.
#[derive(Debug)]
pub enum Parse<H> {
    /// A whole head, which took `len` bytes of the input; the body (if any) follows.
    Complete {
        /// The head.
        head: H,
        /// Bytes consumed, blank lines before the start line included.
        len: usize,
    },
    /// More bytes are needed (and the input is still under the size limit).
    Partial,
}

/// A request head.
#[derive(Clone, Debug)]
pub struct RequestHead {
    method: Span,
    uri: Span,
    /// The version received.
    pub version: Version,
    headers: HeaderList,
    framing: Framing,
}

/// A response head.
#[derive(Clone, Debug)]
pub struct ResponseHead {
    /// The version received.
    pub version: Version,
    /// The status code.
    pub status: u16,
    code: Span,
    reason: Span,
    headers: HeaderList,
    framing: Framing,
}

/// Scans the head and applies the size limits common to both sides.
fn scan_limited(
    input: &[u8],
    side: Side,
    limits: &Limits,
) -> Result<Option<scan::Scanned>, HeadError> {
    match scan::scan(input, side) {
        Scan::Invalid(e) => Err(e),
        Scan::Partial if input.len() >= limits.raw_head_max() => Err(HeadError::TooLarge),
        Scan::Partial => Ok(None),
        Scan::Complete(s) if s.consumed > limits.raw_head_max() => Err(HeadError::TooLarge),
        Scan::Complete(s) => Ok(Some(s)),
    }
}

/// The internal-form size haproxy checks: start-line words, then 8 + name + value per field.
fn check_htx_size(words: usize, headers: &HeaderList, limits: &Limits) -> Result<(), HeadError> {
    let fields: usize = headers.iter().map(|(n, v)| 8 + n.len() + v.len()).sum();
    if words + fields > limits.htx_head_max() {
        return Err(HeadError::TooLarge);
    }
    Ok(())
}

impl RequestHead {
    /// The head of a whole request in `raw` (tests' shorthand).
    #[cfg(test)]
    pub(crate) fn complete(raw: &str) -> RequestHead {
        match RequestHead::parse(raw.as_bytes(), &Limits::default()) {
            Ok(Parse::Complete { head, .. }) => head,
            _ => panic!("a complete head"),
        }
    }

    /// Parses the request head at the start of `input`.
    pub fn parse(input: &[u8], limits: &Limits) -> Result<Parse<RequestHead>, HeadError> {
        let Some(scanned) = scan_limited(input, Side::Request, limits)? else {
            return Ok(Parse::Partial);
        };
        let len = scanned.consumed;
        let [method, uri, version] = scanned.line;
        let version = Version::parse(version.get(&scanned.buf))?;
        let fields = framing::collect(scanned, Side::Request, limits, version.is_11())?;
        let mut head = RequestHead {
            method,
            uri,
            version,
            headers: fields.list,
            framing: fields.framing,
        };
        check_htx_size(method.len() + uri.len() + 8, &head.headers, limits)?;
        head.check_target(fields.host)?;
        if head.framing.conn_upgrade
            && head.framing.upgrade_websocket
            && head.headers.get("sec-websocket-key").is_none()
        {
            return Err(HeadError::WebSocketKey);
        }
        Ok(Parse::Complete { head, len })
    }

    /// Authority against Host, CONNECT targets, and default ports taken out.
    fn check_target(&mut self, host: Option<usize>) -> Result<(), HeadError> {
        let buf = self.headers.buf();
        let target = self.uri.get(buf);
        let host_value = host.and_then(|i| self.headers.at(i)).map(|(_, v)| v);
        if self.is_connect() {
            if let (Some(i), Some(h)) = (host, uri::check_connect(target, host_value)?) {
                let h = h.to_vec();
                self.headers.set_value_at(i, &h);
            }
            return Ok(());
        }
        if let Some(h) = host_value {
            uri::check_authority(target, h)?;
        }
        if let Some((new_uri, host_len)) = uri::normalize_default_port(target, host_value) {
            if let (Some(i), Some(n), Some(h)) = (host, host_len, host_value) {
                let h = h[..n].to_vec();
                self.headers.set_value_at(i, &h);
            }
            self.uri = self.headers.push_bytes(&new_uri);
        }
        Ok(())
    }

    /// The method, as received (methods are case-sensitive: `get` is not `GET`).
    pub fn method(&self) -> &[u8] {
        self.method.get(self.headers.buf())
    }

    /// The request-target, after haproxy's default-port normalization.
    pub fn uri(&self) -> &[u8] {
        self.uri.get(self.headers.buf())
    }

    /// Replaces the request-target.
    pub fn set_uri(&mut self, uri: &[u8]) {
        self.uri = self.headers.push_bytes(uri);
    }

    /// Replaces the method (`http-request set-method`).
    pub fn set_method(&mut self, method: &[u8]) {
        self.method = self.headers.push_bytes(method);
    }

    /// The fields, in order, as haproxy keeps them (merged duplicates and the
    /// Content-Length of a chunked request are gone, Connection is cleaned).
    pub fn headers(&self) -> &HeaderList {
        &self.headers
    }

    /// The fields, for rules to edit.
    pub fn headers_mut(&mut self) -> &mut HeaderList {
        &mut self.headers
    }

    /// How the body is framed and what the connection fields said.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    /// HEAD: the response has no body whatever its fields say.
    pub fn is_head(&self) -> bool {
        self.method() == b"HEAD"
    }

    /// CONNECT: the target is `host:port`.
    pub fn is_connect(&self) -> bool {
        self.method() == b"CONNECT"
    }

    /// Whether the client connection may stay open after the response: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`, and never after a
    /// request haproxy distrusts (Transfer-Encoding with Content-Length or on HTTP/1.0).
    pub fn client_keep_alive(&self) -> bool {
        let f = &self.framing;
        if f.force_close || f.conn_close {
            return false;
        }
        self.version.is_11() || f.conn_keep_alive
    }
}

impl ResponseHead {
    /// Parses the response head at the start of `input`, for a request that was a HEAD
    /// or not (`request_head`): that decides whether a body follows.
    pub fn parse(
        input: &[u8],
        limits: &Limits,
        request_head: bool,
    ) -> Result<Parse<ResponseHead>, HeadError> {
        let Some(scanned) = scan_limited(input, Side::Response, limits)? else {
            return Ok(Parse::Partial);
        };
        let len = scanned.consumed;
        let [version, code, reason] = scanned.line;
        let version = Version::parse(version.get(&scanned.buf))?;
        let status = std::str::from_utf8(code.get(&scanned.buf))
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or(HeadError::Status)?;
        let fields = framing::collect(scanned, Side::Response, limits, version.is_11())?;
        let mut head = ResponseHead {
            version,
            status,
            code,
            reason,
            headers: fields.list,
            framing: fields.framing,
        };
        check_htx_size(8 + code.len() + reason.len(), &head.headers, limits)?;
        if request_head || status < 200 || status == 204 || status == 304 {
            head.framing.body = BodyLength::Empty;
        }
        if status == 204 {
            // haproxy does not forward a Content-Length on a 204.
            head.headers.remove("content-length");
        }
        Ok(Parse::Complete { head, len })
    }

    /// The status code as received (`200`; haproxy forwards odd forms like `2000` as is).
    pub fn code(&self) -> &[u8] {
        self.code.get(self.headers.buf())
    }

    /// The reason phrase, as received (possibly empty).
    pub fn reason(&self) -> &[u8] {
        self.reason.get(self.headers.buf())
    }

    /// The fields, in order, as haproxy keeps them.
    pub fn headers(&self) -> &HeaderList {
        &self.headers
    }

    /// The fields, for rules to edit.
    pub fn headers_mut(&mut self) -> &mut HeaderList {
        &mut self.headers
    }

    /// How the body is framed and what the connection fields said.
    pub fn framing(&self) -> &Framing {
        &self.framing
    }
}

#[cfg(test)]
mod tests;
