//! Connecting to a server: `retries`, `option redispatch`, and each
//! connection made and first used the way haproxy does it:
//! `TCP_NODELAY` set before the handshake, and a connection that completed
//! inside connect(2) (a server on the same host, the usual place for a
//! vrouter's backends) written to at once. Tokio only learns that a new
//! socket is writable when its reactor next turns, which costs each
//! `http-server-close` request a trip through the event loop.

use super::{Lease, Pool};
use crate::proxy::balance::RequestView;
use crate::proxy::counters::Counters;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

impl Pool {
    /// Connects to `addr` as haproxy 2.6 does: `retries` more tries on the
    /// same server a second apart, each within `timeout connect`. With
    /// `option redispatch`, a refused connection goes to another server at
    /// once, and a timed-out one on the last try (asking the balancer
    /// without the request's keys, the failed server excluded).
    pub(in crate::proxy) async fn connect(&self, mut addr: SocketAddr) -> Connect {
        let mut timed_out = false;
        let mut refused = false;
        let mut moved_to = None;
        for attempt in 0..=self.retries {
            if attempt > 0 {
                let elsewhere =
                    self.redispatch && moved_to.is_none() && (refused || attempt == self.retries);
                match elsewhere.then(|| self.pick_other(addr)).flatten() {
                    Some((i, other)) => {
                        moved_to = Some(i);
                        addr = other;
                    }
                    None => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
            let connecting = dial(addr);
            let ok = match self.connect {
                Some(t) => match tokio::time::timeout(t, connecting).await {
                    Ok(r) => r.ok(),
                    Err(_) => {
                        timed_out = true;
                        None
                    }
                },
                None => connecting.await.ok(),
            };
            refused = ok.is_none() && !timed_out;
            if let Some(s) = ok {
                return Connect {
                    stream: Some(s),
                    retries: attempt,
                    redispatched: moved_to.is_some(),
                    moved_to,
                    timed_out: false,
                };
            }
        }
        Connect {
            stream: None,
            retries: self.retries,
            redispatched: moved_to.is_some(),
            moved_to,
            timed_out,
        }
    }

    /// Counts what connecting did (on the server tried first and the
    /// backend) and, after a redispatch, moves `lease` to the server that
    /// took the connection; whether it moved.
    pub(in crate::proxy) fn follow(self: &Arc<Self>, tried: &Connect, lease: &mut Lease) -> bool {
        tried.count([&self.counters, lease.counters()]);
        match tried.moved_to.and_then(|i| self.direct(i)) {
            Some(moved) => {
                *lease = moved;
                true
            }
            None => false,
        }
    }

    /// Another server than the one at `failed` for a redispatch: the
    /// balancer's choice, else the first usable one.
    fn pick_other(&self, failed: SocketAddr) -> Option<(usize, SocketAddr)> {
        let other = |i: usize| {
            self.members
                .get(i)?
                .addr
                .filter(|a| *a != failed)
                .map(|a| (i, a))
        };
        if let Ok(mut b) = self.balancer.lock() {
            for _ in 0..self.members.len() {
                let Some(id) = b.pick(&RequestView::default()) else {
                    break;
                };
                b.release(id);
                if let Some(found) = other(id.0) {
                    return Some(found);
                }
            }
        }
        (0..self.members.len())
            .filter(|&i| self.balanced(i))
            .find_map(other)
    }
}

/// How connecting to a server went.
pub(in crate::proxy) struct Connect {
    /// The connection; None when every try failed.
    pub stream: Option<TcpStream>,
    /// Tries after the first (`%rc`).
    pub retries: u32,
    /// The last try went to another server (`option redispatch`).
    pub redispatched: bool,
    /// That server's index.
    pub moved_to: Option<usize>,
    /// The last failure was `timeout connect` (else a refusal).
    pub timed_out: bool,
}

impl Connect {
    /// Counts the tries in the server's and the backend's `wretr`,
    /// `wredis` and `econ`, as haproxy counts them (`econ` once per request).
    pub(in crate::proxy) fn count(&self, counters: [&Counters; 2]) {
        // A redispatch counts as one instead of as a retry.
        let retries = self.retries - u32::from(self.redispatched).min(self.retries);
        for c in counters {
            c.wretr.fetch_add(u64::from(retries), Ordering::Relaxed);
            c.wredis
                .fetch_add(u64::from(self.redispatched), Ordering::Relaxed);
            c.econ
                .fetch_add(u64::from(self.stream.is_none()), Ordering::Relaxed);
        }
    }
}

/// Connects to `addr`: a stream once the handshake is done, or its error.
pub(super) async fn dial(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let sock = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )?;
    sock.set_tcp_nodelay(true)?;
    let to = addr.into();
    let done = match sock.connect(&to) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            // Asking again tells a finished handshake (EISCONN) from one
            // under way (EALREADY) or refused, without a trip to epoll.
            match sock.connect(&to) {
                Ok(()) => true,
                Err(e) if e.raw_os_error() == Some(libc::EISCONN) => true,
                Err(e) if e.raw_os_error() == Some(libc::EALREADY) => false,
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let stream = TcpStream::from_std(std::net::TcpStream::from(sock))?;
    if !done {
        stream.writable().await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
    }
    Ok(stream)
}

/// Writes `bytes` to a server, trying the socket itself first: on a
/// stream [`dial`] just made, tokio would wait for the reactor to report
/// it writable.
pub(in crate::proxy) async fn send_first(
    server: &mut TcpStream,
    bytes: &[u8],
) -> std::io::Result<()> {
    let sent = match SockRef::from(&*server).send_with_flags(bytes, libc::MSG_NOSIGNAL) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    server.write_all(&bytes[sent..]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dials_a_local_server_and_writes_at_once() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let addr = l.local_addr().expect("addr");
        let mut s = dial(addr).await.expect("connected");
        assert!(
            s.nodelay().expect("nodelay"),
            "TCP_NODELAY before the handshake"
        );
        send_first(&mut s, b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("sent");
        let (mut peer, _) = l.accept().expect("accept");
        let mut got = [0u8; 18];
        std::io::Read::read_exact(&mut peer, &mut got).expect("read");
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
            l.local_addr().expect("addr")
        };
        let e = dial(addr).await.expect_err("nobody listens");
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    }
}
