//! Heads as haproxy 2.6 writes them to the other side: start line rebuilt (`HTTP/1.1`
//! from 1.1 on, single spaces), names lower-cased, and the Connection field its connection
//! modes call for. Bodies are written with `body::ChunkedEncoder` or passed through.

use super::framing::BodyLength;
use super::head::{RequestHead, ResponseHead};
use super::headers::write_field;

/// What haproxy wants from the server connection after this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerConn {
    /// Keep it for reuse (`option http-keep-alive`, the default).
    KeepAlive,
    /// Close it after the response (`option http-server-close`, `option httpclose`).
    Close,
}

impl RequestHead {
    /// The request head as haproxy sends it to a server.
    pub fn encode_for_server(&self, conn: ServerConn, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method());
        out.push(b' ');
        out.extend_from_slice(self.uri());
        out.push(b' ');
        out.extend_from_slice(&self.version.forwarded());
        out.extend_from_slice(b"\r\n");
        self.headers().write_lowercase_to(out);
        let chunked = self.framing().body == BodyLength::Chunked;
        match conn {
            // 1.0 closes by default: ask to keep it, unless haproxy will close anyway.
            ServerConn::KeepAlive if !self.version.is_11() && !chunked => {
                write_field(out, b"connection", b"keep-alive", false);
            }
            ServerConn::Close if self.version.is_11() => {
                write_field(out, b"connection", b"close", false);
            }
            _ => {}
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl ResponseHead {
    /// The response head as haproxy sends it to the client of `request`, the client
    /// connection in keep-alive mode (`close`: it closes after this one, `option
    /// httpclose`): `connection: close` when it will close,
    /// `connection: keep-alive` when either side spoke HTTP/1.0 and it stays open.
    pub fn encode_for_client(&self, request: &RequestHead, close: bool, out: &mut Vec<u8>) {
        self.encode_status_line(out);
        self.headers().write_lowercase_to(out);
        if self.status >= 200 {
            if close || !self.client_keep_alive(request) {
                write_field(out, b"connection", b"close", false);
            } else if !request.version.is_11() || !self.version.is_11() {
                write_field(out, b"connection", b"keep-alive", false);
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Whether the client connection stays open after this response to `request`. A
    /// response's own Transfer-Encoding + Content-Length closes the server side only.
    pub fn client_keep_alive(&self, request: &RequestHead) -> bool {
        request.client_keep_alive() && self.framing().body != BodyLength::UntilClose
    }

    fn encode_status_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.forwarded());
        out.push(b' ');
        out.extend_from_slice(self.code());
        out.push(b' ');
        out.extend_from_slice(self.reason());
        out.extend_from_slice(b"\r\n");
    }
}
