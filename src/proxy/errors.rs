//! The responses haproxy 2.6 generates itself, byte for byte, and `errorfile` replies.
//!
//! haproxy has two ways out. Errors found by the HTTP/1 connection layer before a stream
//! exists (a malformed request, a request timeout, a refused transfer coding) are sent as
//! the built-in text, capitalised names and all ([`Builtin::raw`]); `errorfile` does not
//! apply to them. Everything else (`deny`, 502/503/504, errorfiles) goes through haproxy's
//! internal form: names lower-cased, the Connection field dropped and `connection: close`
//! appended last when the reply closes ([`Reply::encode`]). Both were captured from
//! 2.6.12 into fixtures/haproxy/http1-corpus/errors/.

use std::path::Path;

use super::http1::{HeadError, HeaderList, Limits, Parse, ResponseHead, Version};

/// One of haproxy's built-in error pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The status code.
    pub status: u16,
    /// The reason phrase (haproxy's spelling: `Bad request`, 407 `Unauthorized`).
    pub reason: &'static str,
    /// The sentence of the page.
    text: &'static str,
    /// Whether the page carries `Connection: close` (400 and 408).
    close: bool,
}

const fn page(status: u16, reason: &'static str, text: &'static str, close: bool) -> Builtin {
    Builtin {
        status,
        reason,
        text,
        close,
    }
}

/// The pages haproxy 2.6.12 (Debian) has, texts as it sends them (501's leading dot too).
const BUILTINS: &[Builtin] = &[
    page(
        400,
        "Bad request",
        "Your browser sent an invalid request.",
        true,
    ),
    page(
        401,
        "Unauthorized",
        "You need a valid user and password to access this content.",
        false,
    ),
    page(
        403,
        "Forbidden",
        "Request forbidden by administrative rules.",
        false,
    ),
    page(404, "Not Found", "The resource could not be found.", false),
    page(
        405,
        "Method Not Allowed",
        "A request was made of a resource using a request method not supported by that resource",
        false,
    ),
    page(
        407,
        "Unauthorized",
        "You need a valid user and password to access this content.",
        false,
    ),
    page(
        408,
        "Request Time-out",
        "Your browser didn't send a complete request in time.",
        true,
    ),
    page(
        410,
        "Gone",
        "The resource is no longer available and will not be available again.",
        false,
    ),
    page(
        413,
        "Payload Too Large",
        "The request entity exceeds the maximum allowed.",
        false,
    ),
    page(
        422,
        "Unprocessable Content",
        "The server cannot process the contained instructions.",
        false,
    ),
    page(425, "Too Early", "Your browser sent early data.", false),
    page(
        429,
        "Too Many Requests",
        "You have sent too many requests in a given amount of time.",
        false,
    ),
    page(
        500,
        "Internal Server Error",
        "An internal server error occurred.",
        false,
    ),
    page(
        501,
        "Not Implemented",
        ".The server does not support the functionality required to fulfill the request.",
        false,
    ),
    page(
        502,
        "Bad Gateway",
        "The server returned an invalid or incomplete response.",
        false,
    ),
    page(
        503,
        "Service Unavailable",
        "No server is available to handle this request.",
        false,
    ),
    page(
        504,
        "Gateway Time-out",
        "The server didn't respond in time.",
        false,
    ),
];

/// The built-in page for `status`, if haproxy has one.
pub fn builtin(status: u16) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.status == status)
}

/// Every built-in page.
pub fn builtins() -> &'static [Builtin] {
    BUILTINS
}

impl Builtin {
    /// The HTML body.
    pub fn body(&self) -> String {
        format!(
            "<html><body><h1>{} {}</h1>\n{}\n</body></html>\n",
            self.status, self.reason, self.text
        )
    }

    /// The page as the connection layer sends it (malformed request, request timeout).
    pub fn raw(&self) -> Vec<u8> {
        let body = self.body();
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-length: {}\r\nCache-Control: no-cache\r\n",
            self.status,
            self.reason,
            body.len()
        );
        if self.close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("Content-Type: text/html\r\n\r\n");
        out.push_str(&body);
        out.into_bytes()
    }

    /// The page as a reply of a stream (`http-request deny`, no server, server errors).
    pub fn reply(&self) -> Reply {
        let body = self.body().into_bytes();
        let mut headers = HeaderList::new();
        headers.append(b"content-length", body.len().to_string().as_bytes());
        headers.append(b"cache-control", b"no-cache");
        headers.append(b"content-type", b"text/html");
        Reply {
            version: Version::HTTP_11,
            status: self.status,
            reason: self.reason.as_bytes().to_vec(),
            headers,
            body,
            close: self.close,
        }
    }
}

/// A response haproxy generates, in the shape it sends through a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The version of the status line (an errorfile may say HTTP/1.0; it is kept).
    pub version: Version,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: Vec<u8>,
    /// The fields, Connection excluded.
    pub headers: HeaderList,
    /// The body, sent as is.
    pub body: Vec<u8>,
    /// Whether the client connection closes after it (`connection: close` is appended).
    pub close: bool,
}

/// Why an errorfile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ErrorFileError {
    /// The file could not be read.
    #[error("error opening file '{path}': {source}")]
    Io {
        /// The file.
        path: String,
        /// The reason.
        source: std::io::Error,
    },
    /// The file does not start with a complete, valid HTTP response head.
    #[error("'{path}': unable to parse headers")]
    Parse {
        /// The file.
        path: String,
    },
}

impl Reply {
    /// Reads an errorfile: `None` for an empty file (haproxy then closes without a word).
    pub fn load(path: &Path) -> Result<Option<Reply>, ErrorFileError> {
        let bytes = std::fs::read(path).map_err(|source| ErrorFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if bytes.is_empty() {
            return Ok(None);
        }
        Reply::from_errorfile(&bytes)
            .map(Some)
            .map_err(|_| ErrorFileError::Parse {
                path: path.display().to_string(),
            })
    }

    /// Parses errorfile content: a response head, then the body (all the bytes after it).
    pub fn from_errorfile(bytes: &[u8]) -> Result<Reply, HeadError> {
        let limits = Limits::default();
        let Parse::Complete { head, len } = ResponseHead::parse(bytes, &limits, false)? else {
            return Err(HeadError::TooLarge);
        };
        let mut headers = head.headers().clone();
        headers.remove("connection");
        Ok(Reply {
            version: head.version,
            status: head.status,
            reason: head.reason().to_vec(),
            headers,
            body: bytes[len..].to_vec(),
            close: head.framing().conn_close,
        })
    }

    /// The bytes haproxy sends for this reply.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let v = self.version;
        out.extend_from_slice(format!("HTTP/{}.{} {} ", v.major, v.minor, self.status).as_bytes());
        out.extend_from_slice(&self.reason);
        out.extend_from_slice(b"\r\n");
        self.headers.write_lowercase_to(out);
        if self.close {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/haproxy/http1-corpus/errors"
    );

    fn capture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{CAPTURES}/{name}"))
            .expect("capture recorded by compat-tests/record-http1-corpus.py")
    }

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn every_deny_status_matches_haproxy() {
        for code in [
            400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504,
        ] {
            let page = builtin(code).expect("a built-in page");
            let mut out = Vec::new();
            page.reply().encode(&mut out);
            assert_eq!(
                show(&out),
                show(&capture(&format!("deny-{code}.bin"))),
                "deny_status {code}"
            );
        }
    }

    #[test]
    fn connection_layer_pages_match_haproxy() {
        let raw = |c| builtin(c).expect("a built-in page").raw();
        assert_eq!(show(&raw(400)), show(&capture("parser-400.bin")));
        assert_eq!(show(&raw(408)), show(&capture("timeout-408.bin")));
        // errorfile 400 is not used by the connection layer either.
        assert_eq!(show(&raw(400)), show(&capture("file-400.bin")));
        let mut out = Vec::new();
        builtin(503).expect("503").reply().encode(&mut out);
        assert_eq!(show(&out), show(&capture("nosrv-503.bin")));
    }

    #[test]
    fn errorfiles_go_through_the_internal_form() {
        for name in ["file-403", "file-503"] {
            let reply =
                Reply::from_errorfile(&capture(&format!("{name}.http"))).expect("valid errorfile");
            let mut out = Vec::new();
            reply.encode(&mut out);
            assert_eq!(show(&out), show(&capture(&format!("{name}.bin"))), "{name}");
        }
    }

    #[test]
    fn errorfile_loading() {
        let dir = std::env::temp_dir().join(format!("pharos-errorfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let empty = dir.join("empty.http");
        std::fs::write(&empty, b"").expect("write");
        assert_eq!(Reply::load(&empty).expect("empty file is fine"), None);
        let bad = dir.join("bad.http");
        std::fs::write(&bad, b"<html>not a response</html>\n").expect("write");
        assert!(matches!(
            Reply::load(&bad),
            Err(ErrorFileError::Parse { .. })
        ));
        let close = dir.join("close.http");
        std::fs::write(
            &close,
            b"HTTP/1.0 503 Down\r\nConnection: close\r\nX-A: b\r\n\r\nbye",
        )
        .expect("write");
        let reply = Reply::load(&close).expect("readable").expect("not empty");
        let mut out = Vec::new();
        reply.encode(&mut out);
        assert_eq!(
            show(&out),
            "HTTP/1.0 503 Down\r\nx-a: b\r\nconnection: close\r\n\r\nbye"
        );
        assert!(matches!(
            Reply::load(&dir.join("missing.http")),
            Err(ErrorFileError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
