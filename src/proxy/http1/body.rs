//! Message bodies, sans-IO: feed bytes, get data ranges and the end out. Chunked decoding
//! follows haproxy 2.6 (sizes below 2^52, blanks before `;` or the line end, extensions
//! dropped, bare LF accepted, a CR must be followed by LF, trailers parsed as fields);
//! errors answer 400 on a request and 502 on a response.

use std::ops::Range;

use super::framing::BodyLength;
use super::headers::HeaderList;
use super::scan::{self, Scan};
use super::{Limits, Side};

/// Something a decoder found in its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes: this range of the input given to `decode`.
    Data(Range<usize>),
    /// The trailer fields after the last chunk (only when there are some).
    Trailers(HeaderList),
    /// The body is complete; bytes after it belong to the next message.
    End,
}

/// Why a body was refused or cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// A chunk-size line that is not hex digits, blanks, an extension and a line end.
    #[error("invalid chunk size")]
    ChunkSize,
    /// A chunk size of 2^52 or more (haproxy's overflow guard).
    #[error("chunk size too large")]
    ChunkOverflow,
    /// The data of a chunk not followed by CRLF or LF.
    #[error("missing CRLF after chunk data")]
    ChunkEnd,
    /// A trailer line that is not a valid field, or trailers larger than the buffer.
    #[error("invalid trailers")]
    Trailers,
    /// The peer closed before the end of a delimited body.
    #[error("body truncated")]
    Truncated,
}

impl BodyError {
    /// haproxy's status for this error on `side` (400 or 502).
    pub fn status(self, side: Side) -> u16 {
        side.error_status()
    }
}

/// Largest chunk size haproxy takes: it fails once a size reaches 2^52.
const CHUNK_MAX: u64 = 1 << 52;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits; `digits` tells whether one was seen.
    Size {
        value: u64,
        digits: bool,
    },
    /// Blanks after the digits.
    SizeBlank {
        value: u64,
    },
    /// A chunk extension, skipped up to the line end.
    Ext {
        value: u64,
    },
    /// A CR ended the size line; LF must follow.
    SizeLf {
        value: u64,
    },
    /// Chunk data left to pass.
    Data {
        left: u64,
    },
    /// After the data: CR or LF.
    DataEnd,
    /// After the data and a CR: LF.
    DataLf,
    /// After the last chunk: the trailer block, taken whole.
    Trailers,
    Done,
}

/// A streaming decoder for `Transfer-Encoding: chunked`.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    max_trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> ChunkedDecoder {
        ChunkedDecoder::new(&Limits::default())
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body; trailers are bounded like a head.
    pub fn new(limits: &Limits) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size {
                value: 0,
                digits: false,
            },
            max_trailers: limits.raw_head_max(),
        }
    }

    /// Whether the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes what it can of `input`, pushing events whose ranges index `input`, and
    /// returns how many bytes it consumed. Bytes not consumed (an incomplete trailer
    /// block) must be given again with more after them.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<BodyEvent>) -> Result<usize, BodyError> {
        let mut at = 0;
        while at < input.len() {
            let b = input[at];
            self.state = match self.state {
                State::Data { left } => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - at);
                    out.push(BodyEvent::Data(at..at + n));
                    at += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data { left }
                    };
                    continue;
                }
                State::Trailers => {
                    let Some(n) = self.trailers(&input[at..], out)? else {
                        return Ok(at);
                    };
                    at += n;
                    self.state = State::Done;
                    continue;
                }
                State::Done => return Ok(at),
                state => step(state, b)?,
            };
            at += 1;
        }
        Ok(at)
    }

    /// The trailer block at the start of `input`: `None` until its blank line arrived.
    fn trailers(&self, input: &[u8], out: &mut Vec<BodyEvent>) -> Result<Option<usize>, BodyError> {
        let done = |n, out: &mut Vec<BodyEvent>| {
            out.push(BodyEvent::End);
            Ok(Some(n))
        };
        match input {
            [b'\n', ..] => return done(1, out),
            [b'\r', b'\n', ..] => return done(2, out),
            [b'\r'] => return Ok(None),
            [b'\r', ..] => return Err(BodyError::Trailers),
            _ => {}
        }
        match scan::scan_fields(input) {
            Scan::Complete(s) => {
                let n = s.consumed;
                let list = s.into_list();
                out.push(BodyEvent::Trailers(list));
                done(n, out)
            }
            Scan::Partial if input.len() >= self.max_trailers => Err(BodyError::Trailers),
            Scan::Partial => Ok(None),
            Scan::Invalid(_) => Err(BodyError::Trailers),
        }
    }
}

/// One byte of a chunk-size line or of the line end after the data.
fn step(state: State, b: u8) -> Result<State, BodyError> {
    let hex = |b: u8| (b as char).to_digit(16).map(u64::from);
    Ok(match state {
        State::Size { value, digits } => match hex(b) {
            Some(d) => {
                let value = value << 4 | d;
                if value >= CHUNK_MAX {
                    return Err(BodyError::ChunkOverflow);
                }
                State::Size {
                    value,
                    digits: true,
                }
            }
            None if !digits => return Err(BodyError::ChunkSize),
            None => after_size(value, b)?,
        },
        State::SizeBlank { value } => after_size(value, b)?,
        State::Ext { value } => match b {
            b'\r' => State::SizeLf { value },
            b'\n' => size_done(value),
            _ => State::Ext { value },
        },
        State::SizeLf { value } if b == b'\n' => size_done(value),
        State::SizeLf { .. } => return Err(BodyError::ChunkSize),
        State::DataEnd => match b {
            b'\r' => State::DataLf,
            b'\n' => State::Size {
                value: 0,
                digits: false,
            },
            _ => return Err(BodyError::ChunkEnd),
        },
        State::DataLf if b == b'\n' => State::Size {
            value: 0,
            digits: false,
        },
        State::DataLf => return Err(BodyError::ChunkEnd),
        State::Data { .. } | State::Trailers | State::Done => state,
    })
}

/// The byte after the hex digits (or after blanks following them).
fn after_size(value: u64, b: u8) -> Result<State, BodyError> {
    Ok(match b {
        b' ' | b'\t' => State::SizeBlank { value },
        b';' => State::Ext { value },
        b'\r' => State::SizeLf { value },
        b'\n' => size_done(value),
        _ => return Err(BodyError::ChunkSize),
    })
}

fn size_done(value: u64) -> State {
    if value == 0 {
        State::Trailers
    } else {
        State::Data { left: value }
    }
}

/// Writes a chunked body: one chunk per call, sizes in upper-case hex like haproxy.
#[derive(Clone, Debug, Default)]
pub struct ChunkedEncoder {
    finished: bool,
}

impl ChunkedEncoder {
    /// A new encoder.
    pub fn new() -> ChunkedEncoder {
        ChunkedEncoder::default()
    }

    /// Writes `data` as one chunk (nothing for empty data: an empty chunk would end the body).
    pub fn data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() || self.finished {
            return;
        }
        out.extend_from_slice(format!("{:X}\r\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// Writes the last chunk and the trailers (names lower-cased, as haproxy emits them).
    pub fn finish(&mut self, trailers: Option<&HeaderList>, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        out.extend_from_slice(b"0\r\n");
        if let Some(t) = trailers {
            t.write_lowercase_to(out);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The body decoder a head's framing calls for.
#[derive(Clone, Debug)]
pub enum BodyDecoder {
    /// No body: ends at once.
    Empty,
    /// Content-Length: this many bytes left.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked(ChunkedDecoder),
    /// Until the peer closes.
    UntilClose,
    /// The end was reported.
    Done,
}

impl BodyDecoder {
    /// The decoder for `body`.
    pub fn new(body: BodyLength, limits: &Limits) -> BodyDecoder {
        match body {
            BodyLength::Empty | BodyLength::Length(0) => BodyDecoder::Empty,
            BodyLength::Length(n) => BodyDecoder::Length(n),
            BodyLength::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new(limits)),
            BodyLength::UntilClose => BodyDecoder::UntilClose,
        }
    }

    /// Decodes what it can of `input` (see [`ChunkedDecoder::decode`]).
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<BodyEvent>) -> Result<usize, BodyError> {
        match self {
            BodyDecoder::Empty => {
                out.push(BodyEvent::End);
                *self = BodyDecoder::Done;
                Ok(0)
            }
            BodyDecoder::Length(left) => {
                let n = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                if n > 0 {
                    out.push(BodyEvent::Data(0..n));
                }
                *left -= n as u64;
                if *left == 0 {
                    out.push(BodyEvent::End);
                    *self = BodyDecoder::Done;
                }
                Ok(n)
            }
            BodyDecoder::Chunked(d) => {
                let n = d.decode(input, out)?;
                if d.is_done() {
                    *self = BodyDecoder::Done;
                }
                Ok(n)
            }
            BodyDecoder::UntilClose => {
                if !input.is_empty() {
                    out.push(BodyEvent::Data(0..input.len()));
                }
                Ok(input.len())
            }
            BodyDecoder::Done => Ok(0),
        }
    }

    /// The peer closed: the end of a close-delimited body, a truncation otherwise.
    pub fn close(&mut self, out: &mut Vec<BodyEvent>) -> Result<(), BodyError> {
        match self {
            BodyDecoder::Done => Ok(()),
            BodyDecoder::UntilClose | BodyDecoder::Empty => {
                out.push(BodyEvent::End);
                *self = BodyDecoder::Done;
                Ok(())
            }
            BodyDecoder::Length(_) | BodyDecoder::Chunked(_) => Err(BodyError::Truncated),
        }
    }

    /// Whether the end was reported.
    pub fn is_done(&self) -> bool {
        matches!(self, BodyDecoder::Done)
    }
}

#[cfg(test)]
mod tests;
