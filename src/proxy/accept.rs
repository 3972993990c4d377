//! Accepting connections: the threading models (a current-thread runtime
//! per thread on listeners of its own, or one work-stealing runtime), the
//! listeners watched for readiness so that a connection is taken only when
//! the limits leave room, and each connection handed to its service.

use super::drain::{Drain, Gate, Live, Ticket};
use super::http;
use super::listener::Listener;
use super::run::Service;
use super::tcp::relay;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpStream, UnixStream};

/// A bound listener, what it serves and the frontend's connection limit.
pub(super) type Opening = (Listener, Service, Arc<Gate>);

/// How connections are spread over `nbthread` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threading {
    /// One tokio current-thread runtime per thread, each accepting on
    /// sockets of its own (SO_REUSEPORT) and serving what it accepted, as
    /// haproxy's threads do: no task ever moves between threads.
    PerThread,
    /// One tokio multi-thread runtime: every listener on it, tasks stolen
    /// by idle workers.
    Shared,
}

impl Threading {
    /// `PHAROS_THREADING=shared` picks the work-stealing runtime (for
    /// comparison); anything else, or nothing, one runtime per thread.
    pub fn from_env() -> Threading {
        match std::env::var("PHAROS_THREADING").as_deref() {
            Ok("shared") => Threading::Shared,
            _ => Threading::PerThread,
        }
    }
}

/// A current-thread runtime (one acceptor thread's, or everything's).
pub(super) fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Starts an accept loop per listener on the current runtime.
pub(super) fn open(
    openings: Vec<Opening>,
    drain: &Arc<Drain>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut doors = Vec::with_capacity(openings.len());
    for (l, service, gate) in openings {
        doors.push((Door::new(l)?, service, gate));
    }
    Ok(doors
        .into_iter()
        .map(|(door, service, gate)| {
            tokio::spawn(accept_loop(door, service, gate, Arc::clone(drain)))
        })
        .collect())
}

/// Stops accepting: the listeners are closed once this returns.
pub(super) async fn close(acceptors: Vec<tokio::task::JoinHandle<()>>) {
    for a in &acceptors {
        a.abort();
    }
    for a in acceptors {
        let _ = a.await;
    }
}

/// The other acceptor threads of `Threading::PerThread`: each runs its
/// listeners until `closing` turns true, says so on `closed`, then serves
/// its remaining connections until the process ends.
pub(super) fn spawn_acceptor_threads(
    shards: Vec<Vec<Opening>>,
    drain: &Arc<Drain>,
    closing: &tokio::sync::watch::Receiver<bool>,
    closed: &tokio::sync::mpsc::UnboundedSender<()>,
) -> std::io::Result<usize> {
    let mut started = 0;
    for (i, shard) in shards.into_iter().enumerate() {
        let rt = current_thread()?;
        // The listeners join this thread's reactor: errors surface here.
        let acceptors = {
            let _in = rt.enter();
            open(shard, drain)?
        };
        let mut closing = closing.clone();
        let closed = closed.clone();
        std::thread::Builder::new()
            .name(format!("pharos-{}", i + 1))
            .spawn(move || {
                rt.block_on(async move {
                    let _ = closing.wait_for(|c| *c).await;
                    close(acceptors).await;
                    let _ = closed.send(());
                    std::future::pending::<()>().await;
                })
            })?;
        started += 1;
    }
    Ok(started)
}

/// A listening socket in the runtime, watched for readiness so that a
/// connection is accepted only once there is room for it.
pub(super) enum Door {
    Tcp(AsyncFd<std::net::TcpListener>),
    Unix(AsyncFd<std::os::unix::net::UnixListener>),
}

/// An accepted connection.
pub(super) enum Conn {
    Tcp(TcpStream, std::net::SocketAddr),
    Unix(UnixStream),
}

impl Door {
    fn new(l: Listener) -> std::io::Result<Door> {
        Ok(match l {
            Listener::Tcp(l) => Door::Tcp(crate::daemon::sys::watch(l)?),
            Listener::Unix(l) => Door::Unix(crate::daemon::sys::watch(l)?),
        })
    }

    /// Waits for a pending connection, then for room (`Drain::admit`),
    /// then accepts it. `Ok(None)`: another taker was faster, try again.
    async fn accept(&self, drain: &Drain, gate: &Gate) -> std::io::Result<Option<(Conn, Ticket)>> {
        let accepted = match self {
            Door::Tcp(fd) => {
                let mut ready = fd.readable().await?;
                let ticket = drain.admit(gate).await;
                match ready.try_io(|l| l.get_ref().accept()) {
                    Ok(r) => {
                        let (c, peer) = r?;
                        c.set_nonblocking(true)?;
                        Some((Conn::Tcp(TcpStream::from_std(c)?, peer), ticket))
                    }
                    Err(_would_block) => None,
                }
            }
            Door::Unix(fd) => {
                let mut ready = fd.readable().await?;
                let ticket = drain.admit(gate).await;
                match ready.try_io(|l| l.get_ref().accept()) {
                    Ok(r) => {
                        let (c, _) = r?;
                        c.set_nonblocking(true)?;
                        Some((Conn::Unix(UnixStream::from_std(c)?), ticket))
                    }
                    Err(_would_block) => None,
                }
            }
        };
        Ok(accepted)
    }
}

/// Accepts while there is room under the limits: at the limit, pending
/// clients stay in the kernel's backlog. Each connection is served on its
/// own task, holding its `Live` guard.
pub(super) async fn accept_loop(door: Door, service: Service, gate: Arc<Gate>, drain: Arc<Drain>) {
    loop {
        match door.accept(&drain, &gate).await {
            Ok(Some((conn, ticket))) => {
                let live = drain.start(&gate, ticket);
                tokio::spawn(serve_one(conn, service.clone(), live));
            }
            Ok(None) => {}
            Err(_) => {
                // Out of descriptors or an aborted handshake: try again shortly.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

pub(super) async fn serve_one(conn: Conn, service: Service, _live: Live) {
    match (conn, service) {
        (Conn::Tcp(client, peer), Service::Tcp(svc)) => {
            let _ = client.set_nodelay(true);
            let local = svc.log.as_ref().and_then(|_| client.local_addr().ok());
            relay(client, Some(peer), local, svc).await;
        }
        (Conn::Tcp(client, peer), Service::Http(svc)) => http::session(client, peer, svc).await,
        (Conn::Unix(client), Service::Tcp(svc)) => relay(client, None, None, svc).await,
        (Conn::Unix(client), Service::Http(svc)) => http::session_unix(client, svc).await,
    }
}
