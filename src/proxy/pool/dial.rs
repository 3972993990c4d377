//! A connection to a server made and first used the way haproxy does it:
//! `TCP_NODELAY` set before the handshake, and a connection that completed
//! inside connect(2) (a server on the same host, the usual place for a
//! vrouter's backends) written to at once. Tokio only learns that a new
//! socket is writable when its reactor next turns, which costs each
//! `http-server-close` request a trip through the event loop.

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::ErrorKind;
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

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
