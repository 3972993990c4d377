//! Copying bytes both ways between a client and a server until both sides
//! are done: `mode tcp` connections, and HTTP connections once upgraded
//! (WebSocket after a 101). Each direction has its own idle limit; an end
//! of stream is passed on as a half-close.

use super::log::{Cause, Stage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How one direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopyEnd {
    Eof,
    Idle,
    Error,
}

/// What one direction carried.
#[derive(Debug, Clone, Copy)]
pub(super) struct Copied {
    pub bytes: u64,
    pub end: CopyEnd,
}

/// Relays until both directions end: client → server with `client_idle`,
/// server → client with `server_idle` as the longest silences allowed.
/// Takes each side's read and write halves. Returns (upstream, downstream).
pub(super) async fn relay(
    (cr, cw): (impl AsyncRead + Unpin, impl AsyncWrite + Unpin),
    (sr, sw): (impl AsyncRead + Unpin, impl AsyncWrite + Unpin),
    client_idle: Option<Duration>,
    server_idle: Option<Duration>,
) -> (Copied, Copied) {
    let (up_bytes, down_bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let up = copy_idle(cr, sw, client_idle, &up_bytes);
    let down = copy_idle(sr, cw, server_idle, &down_bytes);
    tokio::pin!(up, down);
    let (mut up_end, mut down_end) = (None, None);
    // An end of stream leaves the other direction running (half-close);
    // a timeout or an error ends both, as haproxy closes the stream.
    while up_end.is_none() || down_end.is_none() {
        tokio::select! {
            e = &mut up, if up_end.is_none() => {
                up_end = Some(e);
                if e != CopyEnd::Eof {
                    down_end.get_or_insert(CopyEnd::Eof);
                }
            }
            e = &mut down, if down_end.is_none() => {
                down_end = Some(e);
                if e != CopyEnd::Eof {
                    up_end.get_or_insert(CopyEnd::Eof);
                }
            }
        }
    }
    let copied = |bytes: &AtomicU64, end: Option<CopyEnd>| Copied {
        bytes: bytes.load(Ordering::Relaxed),
        end: end.unwrap_or(CopyEnd::Eof),
    };
    (copied(&up_bytes, up_end), copied(&down_bytes, down_end))
}

/// The log's termination for a relay: the first side that timed out or
/// failed names it; None for a clean end.
pub(super) fn ending(up: &Copied, down: &Copied) -> Option<(Cause, Stage)> {
    let cause = match (up.end, down.end) {
        (CopyEnd::Idle, _) => Cause::ClientTimeout,
        (_, CopyEnd::Idle) => Cause::ServerTimeout,
        (CopyEnd::Error, _) => Cause::ClientAbort,
        (_, CopyEnd::Error) => Cause::ServerAbort,
        _ => return None,
    };
    Some((cause, Stage::Data))
}

/// Copies until EOF (then half-closes) or until nothing arrives for
/// `idle`, counting in `bytes`.
async fn copy_idle(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    idle: Option<Duration>,
    bytes: &AtomicU64,
) -> CopyEnd {
    let mut buf = vec![0u8; 16384];
    loop {
        let read = from.read(&mut buf);
        let n = match idle {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r,
                Err(_) => return CopyEnd::Idle,
            },
            None => read.await,
        };
        match n {
            Ok(0) => {
                let _ = to.shutdown().await;
                return CopyEnd::Eof;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).await.is_err() {
                    return CopyEnd::Error;
                }
                bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(_) => return CopyEnd::Error,
        }
    }
}

/// Closes a client's connection with a FIN, not a reset: what it already
/// sent is read first (closing a socket with unread bytes resets it).
pub(super) async fn close_quietly(mut client: impl AsyncRead + AsyncWrite + Unpin) {
    let mut sink = [0u8; 4096];
    // What is there already (a few ms for the runtime to see it), not what
    // a client goes on sending.
    for _ in 0..16 {
        let read = tokio::time::timeout(Duration::from_millis(5), client.read(&mut sink));
        match read.await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
    }
    let _ = client.shutdown().await;
}
