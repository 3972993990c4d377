use super::*;

/// Decodes `input` fed in pieces of `step` bytes (keeping what was not consumed).
fn decode_in_steps(
    input: &[u8],
    step: usize,
) -> Result<(Vec<u8>, Option<HeaderList>, usize), BodyError> {
    let mut dec = ChunkedDecoder::default();
    let (mut data, mut trailers, mut pending, mut fed) = (Vec::new(), None, Vec::new(), 0);
    while !dec.is_done() {
        if fed >= input.len() && !pending.is_empty() {
            break;
        }
        let end = (fed + step).min(input.len());
        pending.extend_from_slice(&input[fed..end]);
        fed = end;
        let mut events = Vec::new();
        let n = dec.decode(&pending, &mut events)?;
        for e in events {
            match e {
                BodyEvent::Data(r) => data.extend_from_slice(&pending[r]),
                BodyEvent::Trailers(t) => trailers = Some(t),
                BodyEvent::End => {}
            }
        }
        pending.drain(..n);
        if fed >= input.len() && n == 0 {
            break;
        }
    }
    assert!(
        dec.is_done(),
        "not finished: {:?}",
        String::from_utf8_lossy(input)
    );
    Ok((data, trailers, fed - pending.len()))
}

#[test]
fn chunked_bodies_decode_whatever_the_feed() {
    let body =
        b"5;foo=bar\r\nhello\r\n6 \t\r\n world\r\n00A\nabcdefghij\n0\r\nX-T: a\r\nY: b\n\r\nNEXT";
    for step in [1, 2, 3, 7, body.len()] {
        let (data, trailers, used) = decode_in_steps(body, step).expect("valid body");
        assert_eq!(data, b"hello worldabcdefghij", "step {step}");
        assert_eq!(used, body.len() - 4, "step {step}");
        let t = trailers.expect("trailers");
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [(&b"X-T"[..], &b"a"[..]), (b"Y", b"b")]
        );
    }
}

#[test]
fn chunked_errors_like_haproxy() {
    let cases: &[(&[u8], BodyError)] = &[
        (b"zz\r\nabc\r\n0\r\n\r\n", BodyError::ChunkSize),
        (b"\r\nabc\r\n0\r\n\r\n", BodyError::ChunkSize),
        (b" 3\r\nabc\r\n0\r\n\r\n", BodyError::ChunkSize),
        (b"3\rabc\r\n0\r\n\r\n", BodyError::ChunkSize),
        (b"3x\r\nabc\r\n0\r\n\r\n", BodyError::ChunkSize),
        (b"10000000000000\r\n", BodyError::ChunkOverflow),
        (b"3\r\nabcX0\r\n\r\n", BodyError::ChunkEnd),
        (b"3\r\nabc\r\n0\r\nbad trailer\r\n\r\n", BodyError::Trailers),
    ];
    for (input, want) in cases {
        let got = decode_in_steps(input, input.len()).err();
        assert_eq!(got, Some(*want), "{:?}", String::from_utf8_lossy(input));
        assert_eq!(want.status(Side::Request), 400);
        assert_eq!(want.status(Side::Response), 502);
    }
    // Just under haproxy's guard: accepted (the data has not arrived yet).
    let mut dec = ChunkedDecoder::default();
    assert_eq!(dec.decode(b"fffffffffffff\r\n", &mut Vec::new()), Ok(15));
}

#[test]
fn encoder_writes_upper_hex_and_lowercase_trailers() {
    let mut enc = ChunkedEncoder::new();
    let mut out = Vec::new();
    enc.data(b"hello world", &mut out);
    enc.data(b"", &mut out);
    let mut t = HeaderList::new();
    t.append(b"X-Trailer", b"t");
    enc.finish(Some(&t), &mut out);
    enc.data(b"late", &mut out);
    assert_eq!(out, b"B\r\nhello world\r\n0\r\nx-trailer: t\r\n\r\n");
}

#[test]
fn length_and_close_delimited_bodies() {
    let limits = Limits::default();
    let mut d = BodyDecoder::new(BodyLength::Length(5), &limits);
    let mut ev = Vec::new();
    assert_eq!(d.decode(b"hel", &mut ev), Ok(3));
    assert_eq!(d.decode(b"loGET", &mut ev), Ok(2));
    assert_eq!(
        ev,
        [BodyEvent::Data(0..3), BodyEvent::Data(0..2), BodyEvent::End]
    );
    assert!(d.is_done());

    let mut d = BodyDecoder::new(BodyLength::Length(5), &limits);
    assert_eq!(d.decode(b"he", &mut Vec::new()), Ok(2));
    assert_eq!(d.close(&mut Vec::new()), Err(BodyError::Truncated));

    let mut d = BodyDecoder::new(BodyLength::UntilClose, &limits);
    let mut ev = Vec::new();
    assert_eq!(d.decode(b"abc", &mut ev), Ok(3));
    assert_eq!(d.close(&mut ev), Ok(()));
    assert_eq!(ev, [BodyEvent::Data(0..3), BodyEvent::End]);

    let mut d = BodyDecoder::new(BodyLength::Empty, &limits);
    let mut ev = Vec::new();
    assert_eq!(d.decode(b"GET", &mut ev), Ok(0));
    assert_eq!(ev, [BodyEvent::End]);
}
