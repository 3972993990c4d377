//! Accepting connections: the threading models (a current-thread runtime
//! per thread on listeners of its own, or one work-stealing runtime), the
//! listeners watched for readiness so that a connection is taken only when
//! the limits leave room, and each connection handed to its service — on
//! the thread serving the fewest connections, as haproxy 2.6's threads
//! pass each new connection to the least loaded one.

use super::drain::{Drain, Gate, Live, Ticket};
use super::http;
use super::listener::Listener;
use super::run::Service;
use super::sample::Addrs;
use super::tcp::relay;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// A bound listener, what it serves and the frontend's connection limit.
pub(super) type Opening = (Listener, Service, Arc<Gate>);

/// How connections are spread over `nbthread` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threading {
    /// One tokio current-thread runtime per thread, each accepting on
    /// sockets of its own (SO_REUSEPORT) and handing what it accepted to
    /// the least loaded thread, as haproxy's threads do: a connection then
    /// stays on its thread.
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

/// Keeps a timer due within a second on this runtime, for ever. Tokio
/// wakes its timer driver through the runtime's eventfd whenever a new
/// timer is due before every other one, even from the driver's own thread:
/// without this, each request's `timeout connect` (shorter than the client
/// and server timeouts already armed) cost a write(2) and an extra
/// epoll_wait(2).
async fn anchor_timers() {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A current-thread runtime (one acceptor thread's, or everything's).
pub(super) fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A connection accepted by one thread for another: the socket is not
/// registered with a runtime yet.
pub(super) struct Handoff {
    conn: Conn,
    service: Service,
    live: Live,
}

/// The serving threads and how many connections each serves.
pub(super) struct Crew {
    members: Vec<(AtomicUsize, UnboundedSender<Handoff>)>,
}

/// One thread's place in the crew.
#[derive(Clone)]
pub(super) struct Seat {
    crew: Arc<Crew>,
    me: usize,
}

/// A connection counted on its thread while it lives.
struct Load<'a>(&'a AtomicUsize);

impl Drop for Load<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Crew {
    /// A crew of `n` threads: their seats and the receivers of their
    /// hand-offs (one each, in order).
    pub(super) fn seats(n: usize) -> (Vec<Seat>, Vec<UnboundedReceiver<Handoff>>) {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n.max(1))
            .map(|_| tokio::sync::mpsc::unbounded_channel())
            .unzip();
        let crew = Arc::new(Crew {
            members: txs
                .into_iter()
                .map(|tx| (AtomicUsize::new(0), tx))
                .collect(),
        });
        let seats = (0..n.max(1))
            .map(|me| Seat {
                crew: Arc::clone(&crew),
                me,
            })
            .collect();
        (seats, rxs)
    }
}

impl Seat {
    /// Serves `conn` on the least loaded thread (this one on a tie).
    fn dispatch(&self, conn: Conn, service: Service, live: Live) {
        let members = &self.crew.members;
        let target = least_loaded(members.len(), self.me, |i| {
            members[i].0.load(Ordering::Relaxed)
        });
        // Counted now, not when the task starts: the next accept of a
        // burst already sees it.
        members[target].0.fetch_add(1, Ordering::Relaxed);
        if target == self.me {
            tokio::spawn(serve_counted(self.clone(), conn, service, live));
        } else {
            let handoff = Handoff {
                conn,
                service,
                live,
            };
            // A thread that is gone cannot serve: the connection is closed.
            if members[target].1.send(handoff).is_err() {
                members[target].0.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Serves the connections other threads hand to this one.
    pub(super) fn receive(self, mut rx: UnboundedReceiver<Handoff>) {
        tokio::spawn(async move {
            while let Some(h) = rx.recv().await {
                tokio::spawn(serve_counted(self.clone(), h.conn, h.service, h.live));
            }
        });
        tokio::spawn(anchor_timers());
    }
}

/// Of `n` threads with `load(i)` connections each, the one with the
/// fewest; `me` unless another has fewer.
fn least_loaded(n: usize, me: usize, load: impl Fn(usize) -> usize) -> usize {
    let mine = load(me);
    (0..n)
        .map(|i| (i, load(i)))
        .filter(|&(_, l)| l < mine)
        .min_by_key(|&(_, l)| l)
        .map_or(me, |(i, _)| i)
}

/// `serve_one` on this thread, whose load counts it (from `dispatch`)
/// until it ends.
async fn serve_counted(seat: Seat, conn: Conn, service: Service, live: Live) {
    let _load = Load(&seat.crew.members[seat.me].0);
    serve_one(conn, service, live).await;
}

/// Starts an accept loop per listener on the current runtime.
pub(super) fn open(
    openings: Vec<Opening>,
    drain: &Arc<Drain>,
    seat: &Seat,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut doors = Vec::with_capacity(openings.len());
    for (l, service, gate) in openings {
        doors.push((Door::new(l)?, service, gate));
    }
    Ok(doors
        .into_iter()
        .map(|(door, service, gate)| {
            tokio::spawn(accept_loop(
                door,
                service,
                gate,
                Arc::clone(drain),
                seat.clone(),
            ))
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
    shards: Vec<(Vec<Opening>, Seat, UnboundedReceiver<Handoff>)>,
    drain: &Arc<Drain>,
    closing: &tokio::sync::watch::Receiver<bool>,
    closed: &tokio::sync::mpsc::UnboundedSender<()>,
) -> std::io::Result<usize> {
    let mut started = 0;
    for (i, (shard, seat, rx)) in shards.into_iter().enumerate() {
        let rt = current_thread()?;
        // The listeners join this thread's reactor: errors surface here.
        let acceptors = {
            let _in = rt.enter();
            let acceptors = open(shard, drain, &seat)?;
            seat.receive(rx);
            acceptors
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

/// An accepted connection, not registered with a runtime yet (the thread
/// that serves it does that).
pub(super) enum Conn {
    Tcp(std::net::TcpStream, std::net::SocketAddr),
    Unix(std::os::unix::net::UnixStream),
}

/// A connection on the runtime that serves it.
enum Accepted {
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
                        Some((Conn::Tcp(c, peer), ticket))
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
                        Some((Conn::Unix(c), ticket))
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
/// own task, holding its `Live` guard, on the least loaded thread.
async fn accept_loop(door: Door, service: Service, gate: Arc<Gate>, drain: Arc<Drain>, seat: Seat) {
    loop {
        match door.accept(&drain, &gate).await {
            Ok(Some((conn, ticket))) => {
                let live = drain.start(&gate, ticket);
                seat.dispatch(conn, service.clone(), live);
            }
            Ok(None) => {}
            Err(_) => {
                // Out of descriptors or an aborted handshake: try again shortly.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// `tcp-request connection`: whether the frontend keeps `conn`. A refused
/// connection is reset, as haproxy does, and counted in `dcon`.
fn admitted(conn: &Conn, service: &Service) -> bool {
    let (rules, counters) = match service {
        Service::Tcp(s) => (&s.tcp_rules, &s.counters),
        Service::Http(s) => (&s.tcp_rules, &s.counters),
    };
    if !rules.on_connections() {
        return true;
    }
    let addrs = match conn {
        Conn::Tcp(c, peer) => Addrs {
            src: Some(*peer),
            dst: c.local_addr().ok(),
            unix: None,
        },
        Conn::Unix(_) => Addrs::default(),
    };
    if rules.admits(&addrs) {
        return true;
    }
    counters.dcon.fetch_add(1, Ordering::Relaxed);
    if let Conn::Tcp(c, _) = conn {
        let _ = socket2::SockRef::from(c).set_linger(Some(Duration::ZERO));
    }
    false
}

/// Serves one connection on the current runtime.
async fn serve_one(conn: Conn, service: Service, _live: Live) {
    if !admitted(&conn, &service) {
        return;
    }
    let conn = match conn {
        Conn::Tcp(c, peer) => TcpStream::from_std(c).map(|c| Accepted::Tcp(c, peer)),
        Conn::Unix(c) => UnixStream::from_std(c).map(Accepted::Unix),
    };
    let Ok(conn) = conn else { return };
    // A task is as large as its largest arm: the HTTP session over TCP,
    // the one that waits idle by the thousand, stays inline; the others
    // are boxed so that they do not make every connection pay their size.
    match (conn, service) {
        (Accepted::Tcp(client, peer), Service::Tcp(svc)) => {
            let _ = client.set_nodelay(true);
            let addrs = Addrs {
                src: Some(peer),
                dst: svc.log.as_ref().and_then(|_| client.local_addr().ok()),
                unix: None,
            };
            Box::pin(relay(client, addrs, svc)).await;
        }
        (Accepted::Tcp(client, peer), Service::Http(svc)) => http::session(client, peer, svc).await,
        (Accepted::Unix(client), Service::Tcp(svc)) => {
            let addrs = Addrs {
                unix: Some(svc.unix.of(&client)),
                ..Addrs::default()
            };
            Box::pin(relay(client, addrs, svc)).await;
        }
        (Accepted::Unix(client), Service::Http(svc)) => {
            Box::pin(http::session_unix(client, svc)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::least_loaded;

    #[test]
    fn a_connection_goes_to_the_least_loaded_thread() {
        let pick = |loads: &[usize], me| least_loaded(loads.len(), me, |i| loads[i]);
        assert_eq!(pick(&[3, 1, 2], 0), 1);
        assert_eq!(pick(&[3, 1, 1], 2), 2, "a tie keeps it here");
        assert_eq!(pick(&[0, 0], 1), 1);
        assert_eq!(pick(&[5], 0), 0);
    }
}
