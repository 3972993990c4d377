//! Finds the start line and the fields of an HTTP/1 head, with haproxy 2.6's lexical rules
//! (its default, strict mode: no `option accept-invalid-http-request/response`).
//!
//! Two scanners give the same answer. `httparse` takes the common case fast; when it refuses
//! a head, or when the head uses something it does not know (obs-fold, tabs between the
//! request-line words, control bytes in values, versions other than 1.0/1.1), the slow
//! scanner follows haproxy's rules byte by byte and decides. Semantics (Content-Length,
//! Host, …) belong to `framing`, not here.

use std::mem::MaybeUninit;

use super::headers::{HeaderList, Span};
use super::{HeadError, Side};

/// Fields the fast path can hold; a head with more goes through the slow scanner.
const FAST_FIELDS: usize = 128;

/// A head whose lines were found.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// The head from the first byte of its start line to its blank line included, with
    /// obs-folds already turned into spaces (haproxy rewrites them in place).
    pub buf: Vec<u8>,
    /// Request: method, URI, version (empty for HTTP/0.9). Response: version, status, reason.
    pub line: [Span; 3],
    /// Name and value of each field line, the value trimmed of spaces and tabs.
    pub fields: Vec<(Span, Span)>,
    /// Bytes the head took in the input, blank lines before the start line included.
    pub consumed: usize,
}

/// What a scan found.
#[derive(Debug)]
pub(crate) enum Scan {
    Complete(Scanned),
    /// The blank line ending the head has not arrived yet.
    Partial,
    Invalid(HeadError),
}

/// Scans a block of fields alone (trailers), up to and including its blank line.
pub(crate) fn scan_fields(input: &[u8]) -> Scan {
    let mut slow = Slow::new(input, Side::Request);
    slow.fields_only = true;
    slow.run()
}

impl Scanned {
    /// The fields as a header list (for a block without start line).
    pub fn into_list(self) -> HeaderList {
        let mut list = HeaderList::from_parts(self.buf, self.fields.len());
        for (name, value) in self.fields {
            list.push_spans(name, value);
        }
        list
    }
}

/// Scans the head at the start of `input`.
pub(crate) fn scan(input: &[u8], side: Side) -> Scan {
    let fast = match side {
        Side::Request => fast_request(input),
        Side::Response => fast_response(input),
    };
    fast.unwrap_or_else(|| Slow::new(input, side).run())
}

/// `tchar` (RFC 9110): the bytes haproxy accepts in methods and field names.
pub(crate) fn is_token(b: u8) -> bool {
    matches!(b,
        b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~')
}

fn is_spht(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_crlf(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Bytes haproxy accepts in a request URI: visible ASCII except `#`.
fn is_uri_byte(b: u8) -> bool {
    (33..=126).contains(&b) && b != b'#'
}

fn offset(base: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(base.as_ptr() as usize)
}

/// Copies `input[start..end]` and rebases the spans found in `input` onto the copy.
fn build(
    input: &[u8],
    start: usize,
    end: usize,
    line: [(usize, usize); 3],
    fields: impl Iterator<Item = ((usize, usize), (usize, usize))>,
) -> Scanned {
    let rel = |(a, b): (usize, usize)| Span::new(a - start, b - start);
    Scanned {
        buf: input[start..end].to_vec(),
        line: line.map(rel),
        fields: fields.map(|(n, v)| (rel(n), rel(v))).collect(),
        consumed: end,
    }
}

fn fast_request(input: &[u8]) -> Option<Scan> {
    // Uninitialized slots: no 4 KB of zeroes written per request.
    let mut headers = [const { MaybeUninit::uninit() }; FAST_FIELDS];
    let mut req = httparse::Request::new(&mut []);
    let mut config = httparse::ParserConfig::default();
    config.allow_multiple_spaces_in_request_line_delimiters(true);
    let end = match config.parse_request_with_uninit_headers(&mut req, input, &mut headers) {
        Ok(httparse::Status::Complete(end)) => end,
        Ok(httparse::Status::Partial) => return Some(Scan::Partial),
        Err(_) => return None,
    };
    let method = req.method?.as_bytes();
    let uri = req.path?.as_bytes();
    // httparse takes `#` and non-ASCII in the URI; haproxy does not: let the slow path say so.
    if !uri.iter().all(|&b| is_uri_byte(b)) {
        return None;
    }
    let start = offset(input, method);
    let uri_at = offset(input, uri);
    let mut ver = uri_at + uri.len();
    while input.get(ver) == Some(&b' ') {
        ver += 1;
    }
    let line = [
        (start, start + method.len()),
        (uri_at, uri_at + uri.len()),
        (ver, ver + 8),
    ];
    let fields = req.headers.iter().map(|h| {
        let n = offset(input, h.name.as_bytes());
        let v = offset(input, h.value);
        ((n, n + h.name.len()), (v, v + h.value.len()))
    });
    Some(Scan::Complete(build(input, start, end, line, fields)))
}

fn fast_response(input: &[u8]) -> Option<Scan> {
    let mut headers = [const { MaybeUninit::uninit() }; FAST_FIELDS];
    let mut resp = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let end = match config.parse_response_with_uninit_headers(&mut resp, input, &mut headers) {
        Ok(httparse::Status::Complete(end)) => end,
        Ok(httparse::Status::Partial) => return Some(Scan::Partial),
        Err(_) => return None,
    };
    // httparse does not say where the status line starts: after any blank lines.
    let start = input.iter().position(|&b| !is_crlf(b))?;
    let code = start + 9;
    let reason = resp.reason?.as_bytes();
    let reason_at = if reason.is_empty() {
        code + 3
    } else {
        offset(input, reason)
    };
    let line = [
        (start, start + 8),
        (code, code + 3),
        (reason_at, reason_at + reason.len()),
    ];
    let fields = resp.headers.iter().map(|h| {
        let n = offset(input, h.name.as_bytes());
        let v = offset(input, h.value);
        ((n, n + h.name.len()), (v, v + h.value.len()))
    });
    Some(Scan::Complete(build(input, start, end, line, fields)))
}

/// The byte-by-byte scanner: haproxy's states, in our words.
struct Slow<'a> {
    input: &'a [u8],
    side: Side,
    pos: usize,
    /// Bytes of obs-folds (CR, LF and the tabs around them) to turn into spaces.
    folds: Vec<usize>,
    /// No start line: a trailer block.
    fields_only: bool,
}

/// Why the slow scanner stopped before the end of the head.
enum Stop {
    Partial,
    Invalid(HeadError),
}

type Step<T> = Result<T, Stop>;

impl<'a> Slow<'a> {
    fn new(input: &'a [u8], side: Side) -> Slow<'a> {
        Slow {
            input,
            side,
            pos: 0,
            folds: Vec::new(),
            fields_only: false,
        }
    }

    fn run(mut self) -> Scan {
        match self.head() {
            Ok(scanned) => Scan::Complete(scanned),
            Err(Stop::Partial) => Scan::Partial,
            Err(Stop::Invalid(e)) => Scan::Invalid(e),
        }
    }

    fn peek(&self) -> Step<u8> {
        self.input.get(self.pos).copied().ok_or(Stop::Partial)
    }

    /// Consumes a line end (CRLF or a bare LF); a CR without its LF is invalid.
    fn eol(&mut self, err: HeadError) -> Step<()> {
        if self.peek()? == b'\r' {
            self.pos += 1;
        }
        if self.peek()? != b'\n' {
            return Err(Stop::Invalid(err));
        }
        self.pos += 1;
        Ok(())
    }

    fn skip_spht(&mut self) -> Step<()> {
        while is_spht(self.peek()?) {
            self.pos += 1;
        }
        Ok(())
    }

    fn head(&mut self) -> Step<Scanned> {
        // Blank lines before the start line are skipped (RFC 9112 §2.2).
        while !self.fields_only && is_crlf(self.peek()?) {
            self.eol(HeadError::StartLine)?;
        }
        let start = self.pos;
        let line = match self.side {
            _ if self.fields_only => [(start, start); 3],
            Side::Request => self.request_line()?,
            Side::Response => self.status_line()?,
        };
        let mut fields = Vec::new();
        loop {
            let b = self.peek()?;
            if is_crlf(b) {
                self.eol(HeadError::Header)?;
                break;
            }
            fields.push(self.field()?);
        }
        let mut scanned = build(self.input, start, self.pos, line, fields.into_iter());
        for &at in &self.folds {
            scanned.buf[at - start] = b' ';
        }
        Ok(scanned)
    }

    fn request_line(&mut self) -> Step<[(usize, usize); 3]> {
        let m0 = self.pos;
        while is_token(self.peek()?) {
            self.pos += 1;
        }
        let method = (m0, self.pos);
        let b = self.peek()?;
        if m0 == self.pos || !(is_spht(b) || is_crlf(b)) {
            return Err(Stop::Invalid(HeadError::StartLine));
        }
        self.skip_spht()?;
        if is_crlf(self.peek()?) {
            return Err(Stop::Invalid(HeadError::Http09));
        }
        let u0 = self.pos;
        while is_uri_byte(self.peek()?) {
            self.pos += 1;
        }
        let uri = (u0, self.pos);
        let b = self.peek()?;
        if is_crlf(b) {
            return Err(Stop::Invalid(HeadError::Http09));
        }
        if !is_spht(b) {
            return Err(Stop::Invalid(HeadError::StartLine));
        }
        self.skip_spht()?;
        if is_crlf(self.peek()?) {
            return Err(Stop::Invalid(HeadError::Http09));
        }
        let v0 = self.pos;
        while is_version_byte(self.peek()?) {
            self.pos += 1;
        }
        let version = (v0, self.pos);
        if !is_crlf(self.peek()?) {
            return Err(Stop::Invalid(HeadError::StartLine));
        }
        self.eol(HeadError::StartLine)?;
        Ok([method, uri, version])
    }

    fn status_line(&mut self) -> Step<[(usize, usize); 3]> {
        let v0 = self.pos;
        while is_version_byte(self.peek()?) {
            self.pos += 1;
        }
        let version = (v0, self.pos);
        if v0 == self.pos || !is_spht(self.peek()?) {
            return Err(Stop::Invalid(HeadError::StartLine));
        }
        self.skip_spht()?;
        let c0 = self.pos;
        while self.peek()?.is_ascii_digit() {
            self.pos += 1;
        }
        let code = (c0, self.pos);
        let b = self.peek()?;
        if c0 == self.pos || !(is_spht(b) || is_crlf(b)) {
            return Err(Stop::Invalid(HeadError::StartLine));
        }
        self.skip_spht()?;
        let r0 = self.pos;
        while !is_crlf(self.peek()?) {
            self.pos += 1;
        }
        let reason = (r0, self.pos);
        self.eol(HeadError::StartLine)?;
        Ok([version, code, reason])
    }

    /// One field line, obs-folds included. Returns the name and the trimmed value.
    fn field(&mut self) -> Step<((usize, usize), (usize, usize))> {
        let n0 = self.pos;
        while is_token(self.peek()?) {
            self.pos += 1;
        }
        if self.pos == n0 || self.peek()? != b':' {
            return Err(Stop::Invalid(HeadError::Header));
        }
        let name = (n0, self.pos);
        self.pos += 1;
        let v0 = self.pos;
        loop {
            while !is_crlf(self.peek()?) {
                self.pos += 1;
            }
            let eol = self.pos;
            self.eol(HeadError::Header)?;
            // A line starting with a space or a tab continues the value (obs-fold).
            if is_spht(self.peek()?) {
                self.folds.extend(eol..self.pos);
                continue;
            }
            let value = trim(self.input, v0, eol);
            return Ok((name, value));
        }
    }
}

/// haproxy's version characters: the letters of `HTTP`, `/`, `.` and digits.
fn is_version_byte(b: u8) -> bool {
    matches!(b, b'H' | b'T' | b'P' | b'/' | b'.' | b'0'..=b'9')
}

/// `from..to` without the spaces and tabs at both ends (folds are spaces by then).
fn trim(input: &[u8], mut from: usize, mut to: usize) -> (usize, usize) {
    let blank = |b: u8| is_spht(b) || is_crlf(b);
    while from < to && blank(input[from]) {
        from += 1;
    }
    while to > from && blank(input[to - 1]) {
        to -= 1;
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(input: &[u8], side: Side) -> Scanned {
        match scan(input, side) {
            Scan::Complete(s) => s,
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    fn fields(s: &Scanned) -> Vec<(String, String)> {
        s.fields
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n.get(&s.buf)).into_owned(),
                    String::from_utf8_lossy(v.get(&s.buf)).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn fast_and_slow_agree_on_a_plain_request() {
        let input = b"\r\nGET /x?y HTTP/1.1\r\nHost: a\r\nX-A:  b c \r\n\r\nBODY";
        let fast = complete(input, Side::Request);
        let slow = match Slow::new(input, Side::Request).run() {
            Scan::Complete(s) => s,
            other => panic!("slow scanner: {other:?}"),
        };
        assert_eq!(fast.buf, slow.buf);
        assert_eq!(fast.line, slow.line);
        assert_eq!(fast.fields, slow.fields);
        assert_eq!(fast.consumed, input.len() - 4);
        assert_eq!(slow.consumed, input.len() - 4);
        assert_eq!(fast.line[2].get(&fast.buf), b"HTTP/1.1");
    }

    #[test]
    fn obs_fold_becomes_spaces_and_ctl_bytes_pass() {
        let s = complete(
            b"GET / HTTP/1.1\r\nX-A: a\r\n  b\r\nX-N: a\x00b\r\n\r\n",
            Side::Request,
        );
        assert_eq!(
            fields(&s),
            [
                ("X-A".into(), "a    b".into()),
                ("X-N".into(), "a\0b".into())
            ]
        );
    }

    #[test]
    fn tabs_between_words_and_other_versions() {
        let s = complete(b"GET\t/\tHTTP/2.0\nHost: a\n\n", Side::Request);
        assert_eq!(s.line[0].get(&s.buf), b"GET");
        assert_eq!(s.line[2].get(&s.buf), b"HTTP/2.0");
    }

    #[test]
    fn rejections() {
        let cases: &[(&[u8], HeadError)] = &[
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeadError::Header),
            (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", HeadError::Header),
            (b"GET / HTTP/1.1\r\n: a\r\n\r\n", HeadError::Header),
            (b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", HeadError::Header),
            (b"GET /a#b HTTP/1.1\r\n\r\n", HeadError::StartLine),
            (b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", HeadError::StartLine),
            (b"GET / HTTP/1.1 \r\n\r\n", HeadError::StartLine),
            (b"G(T / HTTP/1.1\r\n\r\n", HeadError::StartLine),
            (b"GET /\r\n\r\n", HeadError::Http09),
        ];
        for (input, want) in cases {
            match scan(input, Side::Request) {
                Scan::Invalid(e) => assert_eq!(e, *want, "{:?}", String::from_utf8_lossy(input)),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn partial_heads_wait() {
        for input in [
            &b"GET / HT"[..],
            b"GET / HTTP/1.1\r\nX: a\r\n",
            b"\r\n",
            b"",
        ] {
            assert!(matches!(scan(input, Side::Request), Scan::Partial));
        }
    }

    #[test]
    fn responses() {
        let s = complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            Side::Response,
        );
        assert_eq!(
            s.line.map(|sp| sp.get(&s.buf).to_vec()),
            [b"HTTP/1.1".to_vec(), b"200".to_vec(), b"OK".to_vec()]
        );
        let s = complete(b"HTTP/2.0 2000\r\nX: a\r\n b\r\n\r\n", Side::Response);
        assert_eq!(s.line[1].get(&s.buf), b"2000");
        assert_eq!(fields(&s), [("X".into(), "a   b".into())]);
        assert!(matches!(
            scan(b"garbage\r\n\r\n", Side::Response),
            Scan::Invalid(_)
        ));
    }

    use proptest::prelude::*;

    /// Bytes that matter to either scanner, so random heads hit their edges often.
    fn head_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = prop::sample::select(b"GET /HTP1.0:a\r\n\r\n\t #\x01\x00\x80,".to_vec());
        (
            prop::sample::select(vec![
                &b"GET / HTTP/1.1\r\n"[..],
                b"",
                b"\r\nGET /x HTTP/1.0\n",
                b"HTTP/1.1 200 OK\r\n",
            ]),
            prop::collection::vec(alphabet, 0..60),
        )
            .prop_map(|(prefix, tail)| [prefix, &tail, b"\r\n\r\n"].concat())
    }

    proptest! {
        /// The fast path never accepts what haproxy's rules refuse, nor reads it otherwise.
        #[test]
        fn fast_path_agrees_with_haproxy_rules(input in head_bytes()) {
            for side in [Side::Request, Side::Response] {
                let fast = match side {
                    Side::Request => fast_request(&input),
                    Side::Response => fast_response(&input),
                };
                if let Some(Scan::Complete(f)) = fast {
                    match Slow::new(&input, side).run() {
                        Scan::Complete(s) => {
                            prop_assert_eq!(&f.buf, &s.buf);
                            prop_assert_eq!(f.line, s.line);
                            prop_assert_eq!(&f.fields, &s.fields);
                            prop_assert_eq!(f.consumed, s.consumed);
                        }
                        other => prop_assert!(false, "fast accepted, slow said {:?}", other),
                    }
                }
            }
        }
    }
}
