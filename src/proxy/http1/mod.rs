//! The HTTP/1.1 message layer of the haproxy side, sans-IO: bytes in, heads, body events
//! and bytes out. No sockets, no clock: the proxy runtime drives it.
//!
//! * `headers`: the ordered header list ([`HeaderList`]).
//! * `head`: request and response heads, parsed and validated as haproxy 2.6 does by
//!   default ([`RequestHead::parse`], [`ResponseHead::parse`]), with their [`Framing`].
//! * `body`: chunked decoding/encoding and Content-Length counting ([`BodyDecoder`]).
//! * `encode`: the heads as haproxy writes them to the other side.
//!
//! Every rule here was checked against the real haproxy 2.6.12 (Debian 12):
//! fixtures/haproxy/http1-corpus/ holds the recorded requests and compat-tests/http1_corpus.rs
//! replays them through this module.

mod body;
mod encode;
mod framing;
mod head;
mod headers;
mod scan;
mod uri;

pub use body::{BodyDecoder, BodyError, BodyEvent, ChunkedDecoder, ChunkedEncoder};
pub use encode::ServerConn;
pub use framing::{BodyLength, Framing};
pub use head::{Parse, RequestHead, ResponseHead, Version};
pub use headers::HeaderList;

/// Which message a head or a body belongs to: the verdicts differ (400 against 502).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// From a client.
    Request,
    /// From a server.
    Response,
}

impl Side {
    /// The status haproxy answers with when such a message is malformed.
    pub fn error_status(self) -> u16 {
        match self {
            Side::Request => 400,
            Side::Response => 502,
        }
    }
}

/// Why a head was refused. [`HeadError::status`] gives haproxy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// A byte not allowed in the request or status line.
    #[error("invalid start line")]
    StartLine,
    /// A request line without a version (HTTP/0.9): haproxy 2.6 refuses them.
    #[error("HTTP/0.9 request")]
    Http09,
    /// The version is not `HTTP/<digit>.<digit>`.
    #[error("invalid HTTP version")]
    Version,
    /// A field line without a name, with a non-token name, or with a bare CR.
    #[error("invalid header field")]
    Header,
    /// The head does not fit in the buffer (`tune.bufsize`, `tune.maxrewrite`).
    #[error("head too large")]
    TooLarge,
    /// More fields than `tune.http.maxhdr` allows.
    #[error("too many header fields")]
    TooManyHeaders,
    /// Content-Length not a number, or several different values.
    #[error("invalid Content-Length")]
    ContentLength,
    /// Transfer-Encoding applying chunked twice, or not ending with chunked on a request.
    #[error("invalid Transfer-Encoding")]
    TransferEncoding,
    /// A transfer coding other than chunked (Debian's 2.6.12 answers 422 / 502).
    #[error("unsupported transfer coding")]
    TransferCodingOther,
    /// Two Host fields with different values.
    #[error("conflicting Host fields")]
    Host,
    /// The URI authority does not match Host, or a CONNECT target has no port.
    #[error("authority does not match Host")]
    Authority,
    /// `Connection: upgrade` + `Upgrade: websocket` without `Sec-WebSocket-Key`.
    #[error("websocket upgrade without key")]
    WebSocketKey,
    /// A status code that does not fit in 16 bits.
    #[error("invalid status code")]
    Status,
}

impl HeadError {
    /// haproxy's status for this error on `side`.
    pub fn status(self, side: Side) -> u16 {
        match (self, side) {
            (HeadError::TransferCodingOther, Side::Request) => 422,
            _ => side.error_status(),
        }
    }
}

/// The buffer settings that bound a head (`global` tune.* keywords).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `tune.bufsize` (16384).
    pub bufsize: usize,
    /// `tune.maxrewrite` (1024).
    pub maxrewrite: usize,
    /// `tune.http.maxhdr` (101).
    pub max_hdr: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            bufsize: 16384,
            maxrewrite: 1024,
            max_hdr: 101,
        }
    }
}

impl Limits {
    /// Most bytes a head may take on the wire, blank lines before it included. Measured on
    /// 2.6.12 with the defaults: 16320, i.e. the buffer less 64 bytes.
    pub fn raw_head_max(&self) -> usize {
        self.bufsize.saturating_sub(64)
    }

    /// Budget of the head once converted to haproxy's internal form (HTX): start-line
    /// words plus 8 bytes and name and value per field. Measured on 2.6.12 with the
    /// defaults: 15275, i.e. `bufsize - maxrewrite` less 85 bytes of HTX overhead.
    pub fn htx_head_max(&self) -> usize {
        self.bufsize
            .saturating_sub(self.maxrewrite)
            .saturating_sub(85)
    }
}
