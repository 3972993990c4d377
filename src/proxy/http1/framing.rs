//! What the framing fields of a head mean, decided as haproxy 2.6 does: Content-Length
//! (duplicates merged when equal), Transfer-Encoding, Connection (keep-alive/close tokens
//! taken out, as haproxy does before forwarding), Upgrade and duplicate Host fields.
//! Works on the fields `scan` found and fills the [`HeaderList`] the head keeps.

use super::headers::{HeaderList, Span};
use super::scan::Scanned;
use super::{HeadError, Limits, Side};

/// How the body of a message is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// No body (a request without Content-Length or Transfer-Encoding, HEAD, 1xx, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
    /// Until the server closes (a response with neither field).
    UntilClose,
}

/// The framing facts of one head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// How the body is delimited.
    pub body: BodyLength,
    /// `Connection: keep-alive` was given.
    pub conn_keep_alive: bool,
    /// `Connection: close` was given.
    pub conn_close: bool,
    /// `Connection: upgrade` was given.
    pub conn_upgrade: bool,
    /// The last Upgrade field names `websocket`.
    pub upgrade_websocket: bool,
    /// Transfer-Encoding with Content-Length, or on HTTP/1.0: haproxy drops the
    /// Content-Length and closes this message's connection after the exchange (the
    /// client's for a request, the server's for a response).
    pub force_close: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    pub expect_continue: bool,
}

impl Framing {
    fn new() -> Framing {
        Framing {
            body: BodyLength::Empty,
            conn_keep_alive: false,
            conn_close: false,
            conn_upgrade: false,
            upgrade_websocket: false,
            force_close: false,
            expect_continue: false,
        }
    }
}

/// Transfer-Encoding facts gathered over every TE field of a head.
#[derive(Default)]
struct Te {
    seen: bool,
    chunked: bool,
    /// Chunked is the last coding so far.
    chunked_last: bool,
    other: bool,
}

/// The result of walking the fields.
pub(crate) struct Fields {
    pub list: HeaderList,
    pub framing: Framing,
    /// Index of the first Host field in `list` (requests).
    pub host: Option<usize>,
}

/// Walks the scanned fields in order, keeps the ones haproxy keeps and reads the framing.
pub(crate) fn collect(
    scanned: Scanned,
    side: Side,
    limits: &Limits,
    http11: bool,
) -> Result<Fields, HeadError> {
    let Scanned { buf, fields, .. } = scanned;
    let mut list = HeaderList::from_parts(buf, fields.len());
    let mut framing = Framing::new();
    let mut te = Te::default();
    let mut length: Option<(u64, usize)> = None;
    let mut host: Option<usize> = None;
    let max_fields = limits.max_hdr.saturating_sub(1);
    for (name, value) in fields {
        if list.len() > max_fields {
            return Err(HeadError::TooManyHeaders);
        }
        let (n, v) = (name.get(list.buf()), value.get(list.buf()));
        let mut value = value;
        if n.eq_ignore_ascii_case(b"transfer-encoding") {
            parse_transfer_encoding(v, side, &mut te)?;
        } else if n.eq_ignore_ascii_case(b"content-length") {
            let (len, word) = parse_content_length(v, length.map(|(l, _)| l))?;
            if length.is_some() {
                continue;
            }
            length = Some((len, list.len()));
            value = Span::new(value.start as usize + word.0, value.start as usize + word.1);
        } else if n.eq_ignore_ascii_case(b"connection") {
            match clean_connection(v, &mut framing) {
                Cleaned::Keep(0) => continue,
                Cleaned::Keep(len) => {
                    value = Span::new(value.start as usize, value.start as usize + len)
                }
                Cleaned::Rebuilt(new) => value = list.push_bytes(&new),
            }
        } else if n.eq_ignore_ascii_case(b"upgrade") {
            framing.upgrade_websocket = list_words(v).any(|w| w.eq_ignore_ascii_case(b"websocket"));
        } else if side == Side::Request && n.eq_ignore_ascii_case(b"host") {
            if let Some(first) = host {
                let same = list
                    .at(first)
                    .is_some_and(|(_, f)| f.eq_ignore_ascii_case(v));
                if !same {
                    return Err(HeadError::Host);
                }
                continue;
            }
            host = Some(list.len());
        } else if side == Side::Request && n.eq_ignore_ascii_case(b"expect") {
            framing.expect_continue = http11 && v.eq_ignore_ascii_case(b"100-continue");
        }
        list.push_spans(name, value);
    }
    if list.len() > max_fields {
        return Err(HeadError::TooManyHeaders);
    }
    framing.body = match length {
        Some((len, _)) => BodyLength::Length(len),
        None if side == Side::Response => BodyLength::UntilClose,
        None => BodyLength::Empty,
    };
    if te.seen {
        if let Some((_, at)) = length {
            // Both: the length is not trusted, the field goes and the connection closes.
            framing.force_close = true;
            list.remove_at(at);
            if host.is_some_and(|h| h > at) {
                host = host.map(|h| h - 1);
            }
        } else if !http11 {
            framing.force_close = true;
        }
        if te.chunked_last {
            framing.body = BodyLength::Chunked;
        } else if side == Side::Request {
            return Err(HeadError::TransferEncoding);
        } else {
            framing.body = BodyLength::UntilClose;
        }
        if te.other {
            return Err(HeadError::TransferCodingOther);
        }
    }
    Ok(Fields {
        list,
        framing,
        host,
    })
}

/// One Transfer-Encoding field: chunked must come last on a request and only once.
fn parse_transfer_encoding(value: &[u8], side: Side, te: &mut Te) -> Result<(), HeadError> {
    te.seen = true;
    for word in list_words(value) {
        te.chunked_last = false;
        if word.eq_ignore_ascii_case(b"chunked") {
            if te.chunked {
                return Err(HeadError::TransferEncoding);
            }
            te.chunked = true;
            te.chunked_last = true;
        } else {
            if side == Side::Request && te.chunked {
                return Err(HeadError::TransferEncoding);
            }
            te.other = true;
        }
    }
    Ok(())
}

/// One Content-Length field: a list of equal numbers, equal to `previous` if any. Returns the
/// value and the range in `value` of the word haproxy keeps (the last, as written).
fn parse_content_length(
    value: &[u8],
    previous: Option<u64>,
) -> Result<(u64, (usize, usize)), HeadError> {
    let lws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut known = previous;
    let mut at = 0;
    loop {
        while at < value.len() && lws(value[at]) {
            at += 1;
        }
        let start = at;
        // haproxy sums into a signed 64-bit integer with wrapping arithmetic and two
        // overflow tests; the same sums give the same verdicts on huge values.
        let mut cl: i64 = 0;
        while let Some(&b) = value.get(at).filter(|b| b.is_ascii_digit()) {
            if (cl as u64) > u64::MAX / 10 {
                return Err(HeadError::ContentLength);
            }
            cl = cl.wrapping_mul(10);
            let c = i64::from(b - b'0');
            if cl.wrapping_add(c) < cl {
                return Err(HeadError::ContentLength);
            }
            cl = cl.wrapping_add(c);
            at += 1;
        }
        if at == start {
            return Err(HeadError::ContentLength);
        }
        let word = (start, at);
        while at < value.len() && lws(value[at]) {
            at += 1;
        }
        if at < value.len() && value[at] != b',' {
            return Err(HeadError::ContentLength);
        }
        let cl = cl as u64;
        if known.is_some_and(|k| k != cl) {
            return Err(HeadError::ContentLength);
        }
        known = Some(cl);
        if at == value.len() {
            return Ok((cl, word));
        }
        at += 1;
    }
}

/// A Connection value once haproxy took out `keep-alive` and `close`.
enum Cleaned {
    /// The first `n` bytes of the value, untouched (0: the field goes).
    Keep(usize),
    /// The remaining tokens, joined by commas.
    Rebuilt(Vec<u8>),
}

/// Reads the Connection tokens into `framing` and removes `keep-alive` and `close`: while
/// nothing was removed the value stays as written, after that the kept words are joined
/// with "," (haproxy rewrites it the same way, hence `keep-alive, a , b` → `a,b`).
fn clean_connection(value: &[u8], framing: &mut Framing) -> Cleaned {
    let mut kept = 0;
    let mut rebuilt: Option<Vec<u8>> = None;
    for (word, end) in list_segments(value) {
        if word.eq_ignore_ascii_case(b"keep-alive") {
            framing.conn_keep_alive = true;
        } else if word.eq_ignore_ascii_case(b"close") {
            framing.conn_close = true;
        } else {
            if word.eq_ignore_ascii_case(b"upgrade") {
                framing.conn_upgrade = true;
            }
            match rebuilt.as_mut() {
                None => kept = end,
                Some(out) => {
                    if !out.is_empty() {
                        out.push(b',');
                    }
                    out.extend_from_slice(word);
                }
            }
            continue;
        }
        rebuilt.get_or_insert_with(|| value[..kept].to_vec());
    }
    match rebuilt {
        Some(out) if out.is_empty() => Cleaned::Keep(0),
        Some(out) => Cleaned::Rebuilt(out),
        None => Cleaned::Keep(kept),
    }
}

/// The words of a comma-separated field value, trimmed (empty words between commas count).
pub(crate) fn list_words(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    list_segments(value).map(|(word, _)| word)
}

/// Each word with the offset where its segment ends (its comma or the end). Commas inside
/// double quotes do not split. A last segment of only blanks is no word.
fn list_segments(value: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let lws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < value.len() && lws(value[at]) {
            at += 1;
        }
        if at >= value.len() {
            return None;
        }
        let start = at;
        let mut quoted = false;
        while at < value.len() && (quoted || value[at] != b',') {
            match value[at] {
                b'"' => quoted = !quoted,
                b'\\' if quoted => at += 1,
                _ => {}
            }
            at += 1;
        }
        let end = at.min(value.len());
        let mut word_end = end;
        while word_end > start && lws(value[word_end - 1]) {
            word_end -= 1;
        }
        at = end + 1;
        Some((&value[start..word_end], end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cl(v: &str) -> Result<(u64, String), HeadError> {
        parse_content_length(v.as_bytes(), None).map(|(n, (a, b))| (n, v[a..b].to_string()))
    }

    #[test]
    fn content_length_values() {
        assert_eq!(cl("3"), Ok((3, "3".into())));
        assert_eq!(cl("3, 3"), Ok((3, "3".into())));
        assert_eq!(cl("003"), Ok((3, "003".into())));
        for bad in [
            "",
            "abc",
            "-1",
            "+3",
            "3,",
            "3 3",
            "3, 4",
            "99999999999999999999999",
            "9223372036854775808",
        ] {
            assert_eq!(cl(bad), Err(HeadError::ContentLength), "{bad}");
        }
        // haproxy's wrapping sums: 2^64-1 is "-1", 2^64 wraps to 0; both pass its tests.
        assert_eq!(cl("18446744073709551615").map(|r| r.0), Ok(u64::MAX));
        assert_eq!(cl("18446744073709551616").map(|r| r.0), Ok(0));
        assert_eq!(cl("9223372036854775807").map(|r| r.0), Ok(i64::MAX as u64));
        assert_eq!(
            parse_content_length(b"4", Some(3)),
            Err(HeadError::ContentLength)
        );
    }

    fn conn(v: &str) -> (String, Framing) {
        let mut f = Framing::new();
        let out = match clean_connection(v.as_bytes(), &mut f) {
            Cleaned::Keep(n) => v[..n].to_string(),
            Cleaned::Rebuilt(b) => String::from_utf8(b).expect("ASCII"),
        };
        (out, f)
    }

    #[test]
    fn connection_cleaning() {
        assert_eq!(conn("close").0, "");
        assert_eq!(conn("keep-alive, X-Hop").0, "X-Hop");
        assert_eq!(conn("KEEP-ALIVE , foo ,bar").0, "foo,bar");
        assert_eq!(conn("Upgrade, keep-alive").0, "Upgrade");
        assert_eq!(conn("a ,b").0, "a ,b");
        let (v, f) = conn("close, Upgrade");
        assert_eq!(v, "Upgrade");
        assert!(f.conn_close && f.conn_upgrade && !f.conn_keep_alive);
    }

    #[test]
    fn transfer_encoding_words() {
        let run = |vals: &[&str], side| {
            let mut te = Te::default();
            for v in vals {
                parse_transfer_encoding(v.as_bytes(), side, &mut te)?;
            }
            Ok::<_, HeadError>((te.chunked_last, te.other))
        };
        assert_eq!(run(&["chunked"], Side::Request), Ok((true, false)));
        assert_eq!(run(&["gzip, Chunked"], Side::Request), Ok((true, true)));
        assert_eq!(run(&["gzip", "chunked"], Side::Request), Ok((true, true)));
        assert_eq!(run(&[""], Side::Request), Ok((false, false)));
        assert_eq!(
            run(&["chunked, gzip"], Side::Request),
            Err(HeadError::TransferEncoding)
        );
        assert_eq!(run(&["chunked, gzip"], Side::Response), Ok((false, true)));
        assert_eq!(
            run(&["chunked", "chunked"], Side::Request),
            Err(HeadError::TransferEncoding)
        );
    }

    #[test]
    fn list_words_split_outside_quotes() {
        let words: Vec<&[u8]> = list_words(b" a , \"b,c\" ,, d ").collect();
        assert_eq!(words, [&b"a"[..], b"\"b,c\"", b"", b"d"]);
    }
}
