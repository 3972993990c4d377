//! Replays the request corpus recorded from the real haproxy 2.6.12
//! (fixtures/haproxy/http1-corpus/, compat-tests/record-http1-corpus.py) through
//! `pharos::proxy::http1` and asserts the same verdict: the same refusal, byte for byte,
//! or the same bytes at the backend and at the client. Needs no root and no haproxy: the
//! oracle's answers are in the fixtures.

use std::path::{Path, PathBuf};

use pharos::proxy::errors;
use pharos::proxy::http1::{
    BodyDecoder, BodyEvent, BodyLength, ChunkedEncoder, HeaderList, Limits, Parse, RequestHead,
    ResponseHead, ServerConn, Side,
};

/// What the recorder behind haproxy answers to every request (its head only to HEAD).
const BACKEND_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
/// What it sends first to a request with `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How our codec ends a connection's worth of requests.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Every request was read and forwarded.
    Accepted,
    /// Refused with this status (head or body).
    Refused(u16),
    /// Still waiting for bytes: haproxy answers 408 when `timeout http-request` fires.
    Incomplete,
}

/// Our side of one case.
struct Run {
    verdict: Verdict,
    /// What we would send to the server.
    backend: Vec<u8>,
    /// What we would send back to the client (the recorder's answers, forwarded).
    client: Vec<u8>,
}

fn corpus() -> PathBuf {
    corpus_dir("requests")
}

fn corpus_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/haproxy/http1-corpus")
        .join(kind)
}

fn case_dirs(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir(kind))
        .unwrap_or_else(|e| panic!("fixtures/haproxy/http1-corpus/{kind}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    dirs
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

/// The body of the request at the start of `input`, re-encoded as haproxy forwards it
/// (chunked data coalesced into one chunk: the corpus sends each request in one write).
fn forward_body(head: &RequestHead, input: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, u16> {
    forward_framed_body(head.framing().body, Side::Request, input, false, out)
}

/// A body framed as `body`, re-encoded as haproxy forwards it; `closed`: the peer closed
/// after `input`. `None` when the body is not complete.
fn forward_framed_body(
    body: BodyLength,
    side: Side,
    input: &[u8],
    closed: bool,
    out: &mut Vec<u8>,
) -> Result<Option<usize>, u16> {
    let limits = Limits::default();
    let mut decoder = BodyDecoder::new(body, &limits);
    let mut events = Vec::new();
    let used = decoder
        .decode(input, &mut events)
        .map_err(|e| e.status(side))?;
    if closed {
        decoder.close(&mut events).map_err(|e| e.status(side))?;
    }
    if !decoder.is_done() {
        return Ok(None);
    }
    let mut data = Vec::new();
    let mut trailers: Option<HeaderList> = None;
    for event in events {
        match event {
            BodyEvent::Data(range) => data.extend_from_slice(&input[range]),
            BodyEvent::Trailers(t) => trailers = Some(t),
            BodyEvent::End => {}
        }
    }
    if body == BodyLength::Chunked {
        let mut enc = ChunkedEncoder::new();
        enc.data(&data, out);
        enc.finish(trailers.as_ref(), out);
    } else {
        out.extend_from_slice(&data);
    }
    Ok(Some(used))
}

/// The recorder's answer to `head`, as we would forward it to the client.
fn forward_response(head: &RequestHead, out: &mut Vec<u8>) {
    if head.framing().expect_continue {
        out.extend_from_slice(CONTINUE);
    }
    let limits = Limits::default();
    let Ok(Parse::Complete { head: resp, len }) =
        ResponseHead::parse(BACKEND_RESPONSE, &limits, head.is_head())
    else {
        panic!("the recorder's response is valid");
    };
    resp.encode_for_client(head, false, out);
    if !head.is_head() {
        out.extend_from_slice(&BACKEND_RESPONSE[len..]);
    }
}

fn run(request: &[u8]) -> Run {
    let limits = Limits::default();
    let mut run = Run {
        verdict: Verdict::Accepted,
        backend: Vec::new(),
        client: Vec::new(),
    };
    let mut at = 0;
    while at < request.len() {
        let (head, len) = match RequestHead::parse(&request[at..], &limits) {
            Ok(Parse::Complete { head, len }) => (head, len),
            Ok(Parse::Partial) => {
                run.verdict = Verdict::Incomplete;
                break;
            }
            Err(e) => {
                run.verdict = Verdict::Refused(e.status(Side::Request));
                break;
            }
        };
        at += len;
        let mut wire = Vec::new();
        head.encode_for_server(ServerConn::KeepAlive, &mut wire);
        match forward_body(&head, &request[at..], &mut wire) {
            Ok(Some(used)) => at += used,
            Ok(None) => {
                run.verdict = Verdict::Incomplete;
                break;
            }
            Err(status) => {
                run.verdict = Verdict::Refused(status);
                break;
            }
        }
        run.backend.extend_from_slice(&wire);
        forward_response(&head, &mut run.client);
        if !head.client_keep_alive() {
            break;
        }
    }
    run
}

/// The status of the first final response in `bytes`.
fn final_status(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\r\n\r\n")
        .filter_map(|block| block.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok())
        .find(|&status: &u16| status >= 200)
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).escape_debug().to_string()
}

/// Compares one case; returns a description of each difference.
fn check(dir: &Path) -> Vec<String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (request, response, backend) = (
        read(dir, "request.bin"),
        read(dir, "response.bin"),
        read(dir, "backend.bin"),
    );
    let ours = run(&request);
    let mut problems = Vec::new();
    let haproxy = match final_status(&response) {
        Some(408) => Verdict::Incomplete,
        Some(s) if s >= 400 => Verdict::Refused(s),
        Some(_) => Verdict::Accepted,
        None => {
            problems.push(format!("{name}: no final response recorded"));
            return problems;
        }
    };
    if ours.verdict != haproxy {
        problems.push(format!(
            "{name}: haproxy {haproxy:?}, ours {:?}",
            ours.verdict
        ));
        return problems;
    }
    match haproxy {
        Verdict::Accepted => {
            if ours.backend != backend {
                problems.push(format!(
                    "{name}: backend bytes differ\n  haproxy: {}\n  ours:    {}",
                    show(&backend),
                    show(&ours.backend)
                ));
            }
            if ours.client != response {
                problems.push(format!(
                    "{name}: client bytes differ\n  haproxy: {}\n  ours:    {}",
                    show(&response),
                    show(&ours.client)
                ));
            }
        }
        Verdict::Refused(status) => check_page(&name, status, &response, &mut problems),
        Verdict::Incomplete => check_page(&name, 408, &response, &mut problems),
    }
    problems
}

/// Refusals and timeouts come from haproxy's connection layer: the raw built-in page.
fn check_page(name: &str, status: u16, response: &[u8], problems: &mut Vec<String>) {
    if errors::builtin(status).is_none_or(|page| page.raw() != response) {
        problems.push(format!(
            "{name}: not our built-in {status} page: {}",
            show(response)
        ));
    }
}

#[test]
fn haproxy_request_corpus() {
    let dirs = case_dirs("requests");
    assert!(dirs.len() >= 40, "corpus too small: {}", dirs.len());
    let problems: Vec<String> = dirs.iter().flat_map(|d| check(d)).collect();
    assert!(
        problems.is_empty(),
        "{} of {} cases differ from haproxy 2.6:\n{}",
        problems.len(),
        dirs.len(),
        problems.join("\n")
    );
}

#[test]
fn the_corpus_covers_both_verdicts() {
    let mut accepted = 0;
    let mut refused = 0;
    for entry in std::fs::read_dir(corpus()).expect("corpus") {
        let dir = entry.expect("entry").path();
        match final_status(&read(&dir, "response.bin")) {
            Some(s) if s < 400 => accepted += 1,
            Some(_) => refused += 1,
            None => {}
        }
    }
    assert!(
        accepted >= 20 && refused >= 20,
        "accepted {accepted}, refused {refused}"
    );
}

/// haproxy's rendering of what the server answered: 502 when it refuses it.
fn forward_server_response(request: &RequestHead, server: &[u8]) -> Vec<u8> {
    let limits = Limits::default();
    let bad_gateway = || {
        let mut out = Vec::new();
        errors::builtin(502)
            .expect("a 502 page")
            .reply()
            .encode(&mut out);
        out
    };
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let head = match ResponseHead::parse(&server[at..], &limits, request.is_head()) {
            Ok(Parse::Complete { head, len }) => {
                at += len;
                head
            }
            Ok(Parse::Partial) | Err(_) => return bad_gateway(),
        };
        head.encode_for_client(request, false, &mut out);
        if head.status < 200 {
            continue;
        }
        // The recorder closes after the close-delimited ones: all its bytes are the body.
        let body = head.framing().body;
        let closed = body == BodyLength::UntilClose;
        return match forward_framed_body(body, Side::Response, &server[at..], closed, &mut out) {
            Ok(Some(_)) => out,
            Ok(None) | Err(_) => bad_gateway(),
        };
    }
}

#[test]
fn haproxy_response_corpus() {
    let dirs = case_dirs("responses");
    assert!(dirs.len() >= 20, "corpus too small: {}", dirs.len());
    let limits = Limits::default();
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(Parse::Complete { head: request, .. }) =
            RequestHead::parse(&read(dir, "request.bin"), &limits)
        else {
            panic!("{name}: the request of a response case is valid");
        };
        let ours = forward_server_response(&request, &read(dir, "server.bin"));
        let haproxy = read(dir, "response.bin");
        if ours != haproxy {
            problems.push(format!(
                "{name}\n  haproxy: {}\n  ours:    {}",
                show(&haproxy),
                show(&ours)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} response cases differ from haproxy 2.6:\n{}",
        problems.len(),
        dirs.len(),
        problems.join("\n")
    );
}
