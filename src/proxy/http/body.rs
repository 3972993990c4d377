//! Request bodies relayed by their framing (chunked ones re-chunked as
//! haproxy does).

use super::*;

/// Relays a request body from `buf` (bytes already read) and the client;
/// the size of its payload.
pub(super) async fn relay_body(
    client: &mut impl Stream,
    server: &mut TcpStream,
    buf: &mut Vec<u8>,
    body: BodyLength,
    svc: &HttpService,
) -> Result<u64, ()> {
    if body == BodyLength::Empty {
        return Ok(0);
    }
    let mut decoder = BodyDecoder::new(body, &svc.limits);
    let mut encoder = (body == BodyLength::Chunked).then(ChunkedEncoder::new);
    let mut events = Vec::new();
    let mut received = 0;
    loop {
        events.clear();
        let used = decoder.decode(buf, &mut events).map_err(|_| ())?;
        let mut out = Vec::new();
        let (done, data) = reencode(buf, &events, &mut encoder, &mut out);
        buf.drain(..used);
        received += data;
        server.write_all(&out).await.map_err(|_| ())?;
        if done {
            return Ok(received);
        }
        match fill(client, buf, svc.client_timeout).await {
            Ok(0) | Err(_) => return Err(()),
            Ok(_) => {}
        }
    }
}

/// Writes what one decoding pass found: the data as is, or — for a chunked
/// body — as one chunk per pass, as haproxy re-chunks what it holds in its
/// buffer; then the last chunk and trailers. Whether the body ended, and
/// the payload's size.
pub(super) fn reencode(
    input: &[u8],
    events: &[BodyEvent],
    encoder: &mut Option<ChunkedEncoder>,
    out: &mut Vec<u8>,
) -> (bool, u64) {
    let mut data = Vec::new();
    let mut trailers = None;
    let mut done = false;
    for ev in events {
        match ev {
            BodyEvent::Data(r) => data.extend_from_slice(&input[r.clone()]),
            BodyEvent::Trailers(t) => trailers = Some(t),
            BodyEvent::End => done = true,
        }
    }
    match encoder {
        Some(enc) => {
            if !data.is_empty() {
                enc.data(&data, out);
            }
            if done {
                enc.finish(trailers, out);
            }
        }
        None => out.extend_from_slice(&data),
    }
    (done, data.len() as u64)
}
